/**
 * `run --profile` and `record --profile` (src/cli/profile.ts): the execution tier's statistics on
 * stderr at the end. The counts come from counters in the core, not from host clocks: the same
 * run gives the same counts; translated + interpreted = all instructions; a hot guest compiles
 * units and runs most of its instructions in them.
 */
import { describe, expect, it } from 'vitest';
import type { TierProfile } from '../src/cli/profile.js';
import { ROOT, cliSandbox } from './cli-sandbox.js';

const BENCH = `${ROOT}guests/build/bench.elf`;
const MAX = 20_000_000;
const sb = cliSandbox('hvtrace-profile-');
const cli = (args: string[], env: Record<string, string> = {}) => sb.hv(args, 300_000, env);

function profileOf(stderr: string): TierProfile {
  const lines = stderr.split('\n').filter((l) => l.startsWith('hvtrace-profile '));
  expect(lines.length, stderr).toBe(1);
  return JSON.parse(lines[0]!.slice('hvtrace-profile '.length)) as TierProfile;
}

/** The fields that must not depend on the host (everything but the compile times). */
function counts(p: TierProfile): Partial<TierProfile> {
  const { compileMs: _a, compileMeanMs: _b, compileMaxMs: _c, wasm, ...rest } = p;
  return { ...rest, ...(wasm ? { wasm: { ...wasm, instantiateMs: 0 } } : {}) };
}

describe('run --profile json: tier statistics from the core\'s counters', () => {
  for (const tier of ['js', 'wasm'] as const) {
    it(`${tier}: the bench's first 20M instructions: units compiled, hit rate in [0, 1], counts consistent and the same on a second run`, () => {
      const args = ['run', '--kernel', BENCH, '--max-insns', String(MAX), '-q', '--profile', 'json'];
      // Compiled in place: with the compile thread, when a unit arrives depends on the host,
      // and so do these counts (not the guest: see the threaded case below).
      const env = { HVTRACE_TIER: tier, HVTRACE_JIT_HOT: '256', HVTRACE_WASM_THREAD: '0' };
      const r1 = cli(args, env);
      expect(r1.status, r1.stderr).toBe(4); // --max-insns reached
      const p = profileOf(r1.stderr);
      expect(p.tier).toBe(tier);
      expect(p.instructions).toBe(MAX);
      expect(p.translatedInstructions + p.interpretedInstructions).toBe(p.instructions);
      expect(p.unitsCompiled).toBeGreaterThan(0);
      expect(p.liveUnits).toBeGreaterThan(0);
      expect(p.liveUnits).toBeLessThanOrEqual(p.unitsCompiled);
      expect(p.occupancy).toBeCloseTo(p.liveUnits / p.tableSlots, 12);
      expect(p.hitRate).toBeGreaterThanOrEqual(0);
      expect(p.hitRate).toBeLessThanOrEqual(1);
      expect(p.hitRate).toBeCloseTo(p.translatedInstructions / p.instructions, 12);
      // The bench's inner loops run millions of times: nearly all of it in translated units.
      expect(p.hitRate).toBeGreaterThan(0.5);
      expect(p.compileMs).toBeGreaterThan(0);
      expect(p.compileMaxMs).toBeGreaterThanOrEqual(p.compileMeanMs);
      expect(p.compileMeanMs * p.unitsCompiled).toBeCloseTo(p.compileMs, 6);
      expect(p.maxUnits).toBe(tier === 'wasm' ? 1024 : null);
      if (tier === 'wasm') {
        expect(p.wasm!.insns).toBeGreaterThan(0);
        // Units are compiled in batches, several to a module.
        expect(p.wasm!.modules).toBeGreaterThan(0);
        expect(p.wasm!.modules).toBeLessThanOrEqual(p.unitsCompiled);
      }
      else expect(p.wasm).toBeUndefined();
      const r2 = cli(args, env);
      expect(counts(profileOf(r2.stderr))).toEqual(counts(p));
    });
  }

  it('wasm with HVTRACE_WASM_MAX_UNITS=2: evictions are counted and at most 2 units stay live', () => {
    const r = cli(['run', '--kernel', BENCH, '--max-insns', '3000000', '-q', '--profile', 'json'], { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '64', HVTRACE_WASM_MAX_UNITS: '2' });
    expect(r.status, r.stderr).toBe(4);
    const p = profileOf(r.stderr);
    expect(p.maxUnits).toBe(2);
    expect(p.liveUnits).toBeLessThanOrEqual(2);
    expect(p.evictions).toBeGreaterThan(0);
    expect(p.unitsEvicted).toBe(p.evictions);
    expect(p.unitsCompiled).toBeGreaterThanOrEqual(p.liveUnits + p.unitsEvicted);
  });

  it('interp: says so, every instruction interpreted', () => {
    const r = cli(['run', '--kernel', BENCH, '--max-insns', '2000000', '-q', '--profile'], { HVTRACE_TIER: 'interp' });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toContain('hvtrace: profile: tier interp: the interpreter only (no translation); 2,000,000 instructions interpreted');
  });

  it('wasm on the compile thread (HVTRACE_WASM_THREAD=1): counts consistent, the units compiled there, the output the same as in place', () => {
    const args = ['run', '--kernel', BENCH, '--max-insns', String(MAX), '--profile', 'json'];
    const threaded = cli(args, { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256', HVTRACE_WASM_THREAD: '1' });
    const here = cli(args, { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256' });
    expect(threaded.status, threaded.stderr).toBe(4);
    expect(threaded.stdout).toBe(here.stdout);
    const p = profileOf(threaded.stderr);
    expect(p.translatedInstructions + p.interpretedInstructions).toBe(MAX);
    expect(p.unitsCompiled).toBeGreaterThan(0);
    expect(p.hitRate).toBeGreaterThan(0.5);
    expect(p.wasm!.threadMs).toBeGreaterThan(0);
    expect(profileOf(here.stderr).wasm!.threadMs).toBe(0);
  });

  it('text form (the default) on the wasm tier names units, compile times, hit rate, invalidations and evictions', () => {
    const r = cli(['run', '--kernel', BENCH, '--max-insns', '5000000', '-q', '--profile'], { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256', HVTRACE_WASM_THREAD: '1' });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/hvtrace: profile: tier wasm: \d+ units compiled, \d+ live \(cap 1,024; table occupancy [\d.]+% of 65,536 slots\)/);
    expect(r.stderr).toMatch(/hvtrace: profile: compile [\d.]+ ms total, \d+ us mean per unit, \d+ us max per batch \([\d,]+ modules; compile thread [\d.]+ ms \(code generation \+ WebAssembly.Module\), this thread instantiate [\d.]+ ms; /);
    const here = cli(['run', '--kernel', BENCH, '--max-insns', '5000000', '-q', '--profile'], { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256' });
    expect(here.stderr).toMatch(/hvtrace: profile: compile [\d.]+ ms total, \d+ us mean per unit, \d+ us max per batch \([\d,]+ modules; WebAssembly.Module \+ instantiate [\d.]+ ms; /);
    expect(r.stderr).toMatch(/hvtrace: profile: instructions 5,000,000: translated [\d,]+, interpreted [\d,]+; hit rate [\d.]+%/);
    expect(r.stderr).toMatch(/hvtrace: profile: invalidated \d+ units \(\d+ code pages\); evicted 0 units in 0 evictions/);
  });

  it('a bad value: one-line error, exit 2', () => {
    const r = cli(['run', '--kernel', BENCH, '--profile', 'xml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('hvtrace: --profile xml: expected text or json\n');
  });
});

describe('record --profile json', () => {
  it('record compiles in place by default; HVTRACE_WASM_THREAD=1 moves it to the compile thread', () => {
    const args = ['record', '--kernel', BENCH, '--max-insns', '3000000', '-q', '--profile', 'json', '-o', sb.tmp('t.trace'), '--overwrite'];
    const here = cli(args, { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256' });
    expect(here.status, here.stderr).toBe(4);
    expect(profileOf(here.stderr).wasm!.threadMs).toBe(0);
    const threaded = cli(args, { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256', HVTRACE_WASM_THREAD: '1' });
    expect(threaded.status, threaded.stderr).toBe(4);
    expect(profileOf(threaded.stderr).wasm!.threadMs).toBeGreaterThan(0);
  });

  it('the same counts as run for the same guest and tier (recording changes nothing the tier sees)', () => {
    const env = { HVTRACE_TIER: 'wasm', HVTRACE_JIT_HOT: '256', HVTRACE_WASM_THREAD: '0' };
    const run = cli(['run', '--kernel', BENCH, '--max-insns', '5000000', '-q', '--profile', 'json'], env);
    const rec = cli(['record', '--kernel', BENCH, '--max-insns', '5000000', '-q', '--profile', 'json', '-o', sb.tmp('b.trace')], env);
    expect(rec.status, rec.stderr).toBe(4);
    expect(counts(profileOf(rec.stderr))).toEqual(counts(profileOf(run.stderr)));
  });
});
