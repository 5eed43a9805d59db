/**
 * Batch compilation in the wasm tier (src/hart/jit.ts: compile, flush; src/hart/wasm/tier.ts:
 * translateBatch): hot entries are queued and compiled several to one WebAssembly module, when
 * `batchSize` are queued or one was entered `batchWait` more times. A queued entry's page is a
 * code page at once: a store into it drops the queued entry (no unit from old bytes), and the
 * code is compiled again from the new bytes once it is hot again. Results never change.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { t1 } from './hart/harness.js';
import { smcProgram } from './hart/smc-guest.js';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { WasmTier } from '../src/hart/wasm/tier.js';

const BENCH = fileURLToPath(new URL('../guests/build/bench.elf', import.meta.url));

/** The self-modifying guest (test/hart/smc-guest.ts) on `tier`. */
function smc(tier: Tier, batchSize: number, batchWait: number) {
  const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(smc batch)', bytes: smcProgram() }, tier, jitHot: 2 });
  if (m.jit instanceof WasmTier) {
    m.jit.batchSize = batchSize;
    m.jit.batchWait = batchWait;
  }
  const halt = new Scheduler(m, { maxInsns: 5_000_000 }).runToEnd();
  expect(halt.kind).toBe('poweroff');
  const j = m.jit;
  return {
    steps: m.harts[0]!.attempted, t1: m.harts[0]!.x[t1],
    translated: j.translatedInsns, compiled: j.blocksCompiled, pagesInvalidated: j.pagesInvalidated,
    modules: j instanceof WasmTier ? j.stats.modules : 0, errors: j.compileErrors,
  };
}

describe('wasm tier: batch compilation', () => {
  const interp = smc('interp', 1, 0);
  it('the interpreter\'s sum: 10 * (1 + 2 + 3 + 4) + 1000 * 5', () => {
    expect(interp.t1).toBe(BigInt(10 * (1 + 2 + 3 + 4) + 1000 * 5));
  });

  it('a queued region whose page is written is dropped, then compiled from the new bytes: the interpreter\'s result', () => {
    // Wait for 40 more entries: each 10-iteration pass queues the loop, and the store comes first.
    const r = smc('wasm', 64, 40);
    expect(r.errors).toEqual([]);
    expect([r.steps, r.t1]).toEqual([interp.steps, interp.t1]);
    // Each of the 4 stores found the loop's page a code page (its entries queued), and dropped them.
    expect(r.pagesInvalidated).toBe(4);
    // The last pass (1000 iterations, the 5th code) ran in a unit compiled after the last store.
    expect(r.compiled).toBeGreaterThanOrEqual(1);
    expect(r.translated).toBeGreaterThan(3 * 950);
    expect(smc('wasm', 64, 40)).toEqual(r);
  });

  it('bench.elf, first 4M steps: batches of 1 (a module per unit) and of 64 end in the interpreter\'s state; 64 builds fewer modules than units', () => {
    const bench = (tier: Tier, batch: [number, number]) => {
      const m = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'bench.elf', bytes: new Uint8Array(readFileSync(BENCH)) }, tier, jitHot: 16 });
      if (m.jit instanceof WasmTier) [m.jit.batchSize, m.jit.batchWait] = batch;
      new Scheduler(m, { maxInsns: 4_000_000 }).runToEnd();
      const h = m.harts[0]!;
      const j = m.jit;
      return { state: [h.attempted, h.instret, h.getPc(), ...h.x.subarray(0, 32)], compiled: j.blocksCompiled, modules: j instanceof WasmTier ? j.stats.modules : 0, errors: j.compileErrors };
    };
    const a = bench('interp', [1, 0]);
    const one = bench('wasm', [1, 0]);
    const many = bench('wasm', [64, 300]);
    for (const r of [one, many]) {
      expect(r.errors).toEqual([]);
      expect(r.state).toEqual(a.state);
    }
    expect(one.compiled).toBeGreaterThan(4);
    expect(one.modules).toBe(one.compiled);
    expect(many.compiled).toBeGreaterThan(4);
    expect(many.modules).toBeLessThan(many.compiled);
  });
});
