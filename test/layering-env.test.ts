/**
 * Environment variables are read only in src/cli/ (issue 15): the core gets settings as explicit
 * values (src/cli/engine.ts: HVTRACE_JIT, HVTRACE_PRIME), so nothing a run does depends on an
 * environment variable that the trace does not record.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineSettingsFromEnv } from '../src/cli/engine.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? modules(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The text without comments. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** `process.env` (or `process['env']`) outside comments. */
function readsEnv(text: string): boolean {
  return /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])/.test(code(text));
}

/** Host sources of nondeterminism: wall clocks, timers, randomness. */
const HOST_NONDETERMINISM = /\b(Date\s*[.(]|new\s+Date\b|performance\s*\.\s*now|Math\s*\.\s*random|process\s*\.\s*hrtime|hrtime\s*\(|randomBytes|randomUUID|getRandomValues|setTimeout|setInterval|setImmediate)/;

/**
 * The deterministic core (ARCHITECTURE.md §1-2): every layer up to and including sched/ runs the
 * machine and must not see the host's clock, timers or randomness; only the layers above (trace
 * timing statistics, cli) may, and never to decide what the machine does.
 */
const CORE_LAYERS = ['isa/', 'image/', 'mem/', 'hart/', 'devices/', 'firmware/', 'hypervisor/', 'board/', 'sched/'];

describe('environment variables', () => {
  it('are read only in src/cli/', () => {
    const all = modules(SRC);
    expect(all.length).toBeGreaterThan(50);
    const offenders = all.filter((p) => !relative(SRC, p).startsWith('cli/') && readsEnv(readFileSync(p, 'utf8')))
      .map((p) => relative(SRC, p));
    expect(offenders).toEqual([]);
  });
  it('the core (sched/ and below) uses no host clock, timer or randomness', () => {
    const core = modules(SRC).filter((p) => CORE_LAYERS.some((l) => relative(SRC, p).startsWith(l)));
    expect(core.length).toBeGreaterThan(40);
    const offenders = core.filter((p) => HOST_NONDETERMINISM.test(code(readFileSync(p, 'utf8')))).map((p) => relative(SRC, p));
    expect(offenders).toEqual([]);
  });
  it('the host-nondeterminism check sees clocks, timers and randomness, and ignores comments', () => {
    for (const bad of ['const t = Date.now();', 'const d = new Date(0);', 'performance.now()', 'Math.random() * 4',
      'process.hrtime.bigint()', "crypto.randomBytes(8)", 'setTimeout(f, 1)', 'setImmediate(f)']) {
      expect(HOST_NONDETERMINISM.test(code(bad)), bad).toBe(true);
    }
    expect(HOST_NONDETERMINISM.test(code('// Date.now() would break replay\nconst updated = 1;'))).toBe(false);
    expect(HOST_NONDETERMINISM.test(code('const mathRandomSeed = 1; const dateString = "x";'))).toBe(false);
  });
  it('the check sees both spellings and ignores comments', () => {
    expect(readsEnv("const j = process.env.HVTRACE_JIT !== '0';")).toBe(true);
    expect(readsEnv("const q = process['env']['QEMU'];")).toBe(true);
    expect(readsEnv('// HVTRACE_JIT: process.env is read in cli/\nconst x = 1;')).toBe(false);
    expect(readsEnv('/* process.env */ const x = 1;')).toBe(false);
  });
  it('HVTRACE_JIT=0 and HVTRACE_PRIME=0 turn the JIT default (wasm) and the warm-up off (src/cli/engine.ts)', () => {
    expect(engineSettingsFromEnv({})).toEqual({ tier: 'wasm', prime: true });
    expect(engineSettingsFromEnv({ HVTRACE_JIT: '0', HVTRACE_PRIME: '0' })).toEqual({ tier: 'interp', prime: false });
    expect(engineSettingsFromEnv({ HVTRACE_JIT: '1' })).toEqual({ tier: 'wasm', prime: true });
    // HVTRACE_WASM_THREAD=0|1 overrides the command's choice of the compile thread.
    expect(engineSettingsFromEnv({ HVTRACE_WASM_THREAD: '0' })).toEqual({ tier: 'wasm', prime: true, wasmThread: false });
    expect(engineSettingsFromEnv({ HVTRACE_WASM_THREAD: '1' })).toEqual({ tier: 'wasm', prime: true, wasmThread: true });
  });
  it('HVTRACE_TIER selects interp, js or wasm, wins over HVTRACE_JIT, and rejects anything else', () => {
    expect(engineSettingsFromEnv({ HVTRACE_TIER: 'wasm' })).toEqual({ tier: 'wasm', prime: true });
    expect(engineSettingsFromEnv({ HVTRACE_TIER: 'interp' })).toEqual({ tier: 'interp', prime: true });
    expect(engineSettingsFromEnv({ HVTRACE_TIER: 'js', HVTRACE_JIT: '0' })).toEqual({ tier: 'js', prime: true });
    expect(engineSettingsFromEnv({ HVTRACE_TIER: '', HVTRACE_JIT: '0' })).toEqual({ tier: 'interp', prime: true });
    expect(() => engineSettingsFromEnv({ HVTRACE_TIER: 'jit' })).toThrow(/HVTRACE_TIER must be one of interp, js, wasm/);
    expect(engineSettingsFromEnv({ HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '2' })).toEqual({ tier: 'wasm', prime: true, jitHot: 2 });
    expect(() => engineSettingsFromEnv({ HVTRACE_JIT_HOT: '0' })).toThrow(/HVTRACE_JIT_HOT must be a positive integer/);
    expect(engineSettingsFromEnv({ HVTRACE_TIER: 'wasm', HVTRACE_WASM_MAX_UNITS: '4' })).toEqual({ tier: 'wasm', prime: true, maxUnits: 4 });
    for (const bad of ['0', '-1', '1.5', 'many', '65537']) {
      expect(() => engineSettingsFromEnv({ HVTRACE_WASM_MAX_UNITS: bad })).toThrow(/HVTRACE_WASM_MAX_UNITS must be an integer in 1..65536/);
    }
    expect(engineSettingsFromEnv({ HVTRACE_WASM_BATCH: '64:500' })).toEqual({ tier: 'wasm', prime: true, wasmBatch: [64, 500] });
    expect(engineSettingsFromEnv({ HVTRACE_WASM_BATCH: '1' })).toEqual({ tier: 'wasm', prime: true, wasmBatch: [1, undefined] });
    for (const bad of ['0', '4097', '16:', ':5', '16:-1', 'x']) {
      expect(() => engineSettingsFromEnv({ HVTRACE_WASM_BATCH: bad })).toThrow(/HVTRACE_WASM_BATCH must be K or K:W/);
    }
  });
});
