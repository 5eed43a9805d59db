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
import { Asm, a0, a1, a6, a7, s3, s4, s5, s6, s7, t1, t2 } from './hart/harness.js';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { WasmTier } from '../src/hart/wasm/tier.js';

const BENCH = fileURLToPath(new URL('../guests/build/bench.elf', import.meta.url));

/** `addi t1, t1, imm`. */
const addiT1 = (imm: number): number => ((imm & 0xfff) << 20) | (t1 << 15) | (t1 << 7) | 0x13;

/**
 * A loop that adds the immediate of its first instruction to t1, `s6` passes of 10 iterations,
 * then one of 1000; after each pass the program rewrites that instruction with an immediate
 * one larger (a store into the loop's own page, while its region waits in the queue).
 */
function smc(tier: Tier, batchSize: number, batchWait: number) {
  const a = new Asm(0x8020_0000);
  a.la(s4, 'patch').li(s7, addiT1(1)).li(s6, 4).li(s5, 1 << 20);
  a.label('outer').li(s3, 10);
  a.bne(s6, 0, 'loop');
  a.li(s3, 1000);
  a.label('loop');
  a.label('patch').word(addiT1(1));
  a.addi(s3, s3, -1).bne(s3, 0, 'loop');
  a.beq(s6, 0, 'done');
  a.add(s7, s7, s5).sw(s7, 0, s4); // the next pass adds one more
  a.addi(s6, s6, -1).jal(0, 'outer');
  a.label('done').li(t2, 0);
  a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
  const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(smc batch)', bytes: a.assemble() }, tier, jitHot: 2 });
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
