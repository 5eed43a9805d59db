/**
 * Bit-identical traces across the execution tiers beyond one hart (issue 17): the bundled Linux
 * boot on 4 harts, and Linux booted as a guest of the built-in hypervisor (1 vCPU), are recorded
 * whole under HVTRACE_TIER=interp, js and wasm, and `hvtrace diff` finds the js and wasm traces
 * the same as the interpreter's: every event (traps, CSR writes, SBI calls, VM exits, MMIO,
 * console) at the same instruction, and every state digest (registers, CSRs, RAM pages) equal.
 * The translators run with a threshold of 1000 executions (hundreds of units, most of the boot
 * in them) rather than their defaults, so that translated code is what is compared.
 * (The 1-hart boot is test/wasm-tier.test.ts's.)
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TierProfile } from '../src/cli/profile.js';
import { ROOT, cliSandbox } from './cli-sandbox.js';

const LINUX = `${ROOT}guests/build/linux/Image`;
const TIERS = ['interp', 'js', 'wasm'] as const;
const sb = cliSandbox('hvtrace-tiers-');
const cli = (args: string[], env: Record<string, string> = {}) => sb.hv(args, 600_000, { HVTRACE_JIT_HOT: '1000', ...env });

const CASES = [
  { name: 'the bundled Linux boot on 4 harts (--smp 4)', id: 'smp4', args: ['--kernel', LINUX, '--append', 'console=ttyS0', '--smp', '4'] },
  { name: 'Linux as a guest of the built-in hypervisor (1 vCPU)', id: 'guest', args: ['--guest', LINUX, '--vcpus', '1', '--guest-append', 'console=ttyS0'] },
];

const itLinux = existsSync(LINUX) ? it : it.skip;

describe('recordings under interp, js and wasm are the same (hvtrace diff)', () => {
  for (const c of CASES) {
    itLinux(`${c.name}: init PASS on every tier, js and wasm traces diff the same as interp's`, () => {
      const traces: string[] = [];
      for (const tier of TIERS) {
        const p = sb.tmp(`${c.id}-${tier}.trace`);
        const r = cli(['record', ...c.args, '-o', p, '-q', '--digest-every', '5000000', '--profile', 'json'], { HVTRACE_TIER: tier });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain('hvtrace-init: PASS');
        const prof = JSON.parse(/hvtrace-profile (\{.*\})/.exec(r.stderr)![1]!) as TierProfile;
        expect(prof.tier).toBe(tier);
        // Translation did happen: a large part of the boot ran in translated units.
        if (tier !== 'interp') expect(prof.hitRate, `${tier}: ${r.stderr}`).toBeGreaterThan(0.3);
        traces.push(p);
      }
      for (const k of [1, 2]) {
        const d = cli(['diff', traces[0]!, traces[k]!, '--format', 'json']);
        expect(d.status, `${TIERS[k]}: ${d.stdout}${d.stderr}`).toBe(0);
        const j = JSON.parse(d.stdout);
        expect(j.status).toBe('same');
        expect(j.summary.compared).toBeGreaterThan(1000);
      }
    }, 900_000);
  }
});
