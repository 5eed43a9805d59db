import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { primerProgram } from '../src/sched/primer.js';
import type { HartObserver } from '../src/hart/observer.js';

/**
 * The interpreter's type-feedback primer (src/sched/primer.ts) is a performance measure only, and
 * fails silently by design. This checks that its program still does what it is meant to: run
 * to an SBI shutdown through every kind of path it is there to exercise.
 */
describe('interpreter primer program', () => {
  it('runs to poweroff through traps of each kind, a timer interrupt, U-mode and translated blocks', () => {
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(primer)', bytes: primerProgram() }, jit: true, jitHot: 16,
    });
    const seen = new Set<string>();
    const obs: HartObserver = {
      trap: (_h, cause, interrupt) => { seen.add(`${interrupt ? 'i' : 'e'}${cause}`); },
      trapReturn: () => {}, csrWrite: () => {}, mmio: () => {}, irqLine: () => {}, sbiCall: () => {}, hartState: () => {},
    };
    m.harts[0]!.obs = obs;
    const halt = new Scheduler(m, { maxInsns: 500_000 }).runToEnd();
    expect(halt.kind).toBe('poweroff');
    expect(m.harts[0]!.instret).toBeGreaterThan(3000);
    // illegal, breakpoint, misaligned load/store, access faults, U and S ecalls, page faults,
    // the supervisor timer interrupt
    for (const k of ['e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e13', 'e15', 'i5']) expect(seen, k).toContain(k);
    expect(m.jit.blocksCompiled).toBeGreaterThan(0);
    expect(m.jit.compileErrors).toEqual([]);
  });
});

/**
 * What the primer is for, seen through V8 (a fresh node process with V8's tracing): after it,
 * Hart.loop is marked for, being given, or has TurboFan code, so that the first real machine's
 * loop calls enter optimized code soon (before, the primer ended with the loop in baseline code,
 * and the real run interpreted ~1M instructions and compiled the loop twice, on-stack and for
 * entry). A second machine built and run after it (as the CLI's real machine) deoptimizes
 * neither the loop nor flushTlb (the HartCore constructor called flushTlb before the subclass
 * fields existed, and address-valued fields deprecated the Hart map on their first double).
 * V8's optimization status bits (runtime-intrinsics): 0x10 optimized, 0x200 marked for
 * concurrent optimization, 0x400 optimizing concurrently.
 */
describe('interpreter primer, in V8', () => {
  it('leaves Hart.loop marked, compiling or optimized, and a later machine deoptimizes neither the loop nor flushTlb', () => {
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    const script = `
      const { primeInterpreter, primerProgram } = await import(${JSON.stringify(`${dist}sched/primer.js`)});
      const { Hart } = await import(${JSON.stringify(`${dist}hart/hart.js`)});
      const { Machine } = await import(${JSON.stringify(`${dist}board/machine.js`)});
      const { Scheduler } = await import(${JSON.stringify(`${dist}sched/scheduler.js`)});
      primeInterpreter();
      const st = %GetOptimizationStatus(Hart.prototype.loop);
      const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'again', bytes: primerProgram() } });
      const halt = new Scheduler(m, { maxInsns: 500000 }).runToEnd();
      console.log('STATUS ' + st + ' ' + halt.kind);
    `;
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--trace-deopt', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const m = /STATUS (\d+) (\w+)/.exec(r.stdout);
    expect(m, r.stdout.slice(-2000)).not.toBeNull();
    expect(m![2]).toBe('poweroff');
    expect(Number(m![1]) & (0x10 | 0x200 | 0x400), `status 0x${Number(m![1]).toString(16)}`).not.toBe(0);
    const bad = r.stdout.split('\n').filter((l) => /deoptimizing .*<JSFunction (loop|flushTlb) /.test(l));
    expect(bad).toEqual([]);
  });
});
