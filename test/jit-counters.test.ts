/**
 * The translator's counters behind `--profile` (src/hart/jit.ts): translated instructions
 * (added by Hart.loop at each unit exit), units compiled / live / invalidated, code pages
 * invalidated. A loop of 4 instructions runs 1000 times, then a store into its own page drops
 * its units; twice. The counts are the same on every run and say what happened.
 */
import { describe, expect, it } from 'vitest';
import { Asm, a0, a1, a6, a7, s3, s4, s6, t0, t1 } from './hart/harness.js';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

function run(tier: Tier) {
  const a = new Asm(0x8020_0000);
  a.la(s4, 'data').li(s6, 2);
  a.label('outer').li(s3, 1000);
  a.label('loop').addi(t0, t0, 1).xor(t1, t1, t0).addi(s3, s3, -1).bne(s3, 0, 'loop');
  a.sw(t0, 0, s4); // into the loop's page: its units are dropped
  a.addi(s6, s6, -1).bne(s6, 0, 'outer');
  a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
  a.label('data').word(0);
  const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(smc loop)', bytes: a.assemble() }, tier, jitHot: 2 });
  const halt = new Scheduler(m, { maxInsns: 5_000_000 }).runToEnd();
  expect(halt.kind).toBe('poweroff');
  const j = m.jit;
  return {
    steps: m.harts[0]!.attempted, x: m.harts[0]!.x[t1],
    translated: j.translatedInsns, compiled: j.blocksCompiled, live: j.liveUnits,
    unitsInvalidated: j.unitsInvalidated, pagesInvalidated: j.pagesInvalidated, evicted: j.unitsEvicted, errors: j.compileErrors,
  };
}

describe('translator counters', () => {
  const interp = run('interp');
  it('interp: nothing translated, nothing counted', () => {
    expect(interp).toMatchObject({ translated: 0, compiled: 0, live: 0, unitsInvalidated: 0, pagesInvalidated: 0, evicted: 0 });
  });
  for (const tier of ['js', 'wasm'] as const) {
    it(`${tier}: the loops run in units, each store into the code page drops them, the same counts on a second run`, () => {
      const r = run(tier);
      expect(r.errors).toEqual([]);
      expect([r.steps, r.x]).toEqual([interp.steps, interp.x]);
      // 2 x 1000 iterations of 4 instructions: all but the first few in units.
      expect(r.translated).toBeGreaterThan(2 * 4 * 990);
      expect(r.translated).toBeLessThan(r.steps);
      // The loop's page was a code page at each of the two stores, and was compiled again after the first.
      expect(r.pagesInvalidated).toBe(2);
      expect(r.unitsInvalidated).toBeGreaterThanOrEqual(2);
      expect(r.compiled).toBeGreaterThanOrEqual(2);
      expect(r.live).toBe(r.compiled - r.unitsInvalidated);
      expect(r.evicted).toBe(0);
      expect(run(tier)).toEqual(r);
    });
  }
});
