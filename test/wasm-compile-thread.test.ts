/**
 * The wasm tier with a compiler elsewhere (WasmCompiler, src/hart/wasm/tier.ts; the CLI's
 * compile thread, src/cli/compile-thread.ts): a batch is compiled away from the interpreter and
 * installed when Hart.run finds it done. Units arrive late, so the interpreter runs more, but
 * nothing a guest sees changes: the final state is the interpreter's. A region whose page is
 * written while it is away is dropped on arrival (it was decoded from the old bytes).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { t1 } from './hart/harness.js';
import { smcProgram } from './hart/smc-guest.js';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { WasmTier, type CompiledBatch, type WasmCompiler } from '../src/hart/wasm/tier.js';
import { buildModule, type RegionCode } from '../src/hart/wasm/codegen.js';
import { ThreadedWasmCompiler } from '../src/cli/compile-thread.js';

const BENCH = fileURLToPath(new URL('../guests/build/bench.elf', import.meta.url));

/** Compiles at once but hands each batch out only at the `delay`-th time it is asked for. */
class DelayedCompiler implements WasmCompiler {
  private readonly held = new Map<number, { r: CompiledBatch; asked: number }>();
  private next = 1;
  submitted = 0;
  constructor(private readonly delay: number) {}
  submit(regions: readonly RegionCode[]): number {
    const built = buildModule(regions);
    const module = built.bytes === null ? null : new WebAssembly.Module(built.bytes);
    const ticket = this.next++;
    this.held.set(ticket, { r: { module, names: built.names, errors: built.errors, bytes: built.bytes?.length ?? 0, ms: 1 }, asked: 0 });
    this.submitted++;
    return ticket;
  }
  take(ticket: number): CompiledBatch | undefined {
    const h = this.held.get(ticket)!;
    if (++h.asked < this.delay) return undefined;
    this.held.delete(ticket);
    return h.r;
  }
  warm(): void {}
}

/** The self-modifying guest (test/hart/smc-guest.ts) on `tier`. */
function smc(tier: Tier, compiler: WasmCompiler | null) {
  const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(smc thread)', bytes: smcProgram() }, tier, jitHot: 2 });
  if (m.jit instanceof WasmTier) {
    m.jit.setBatch(1, 0);
    m.jit.compiler = compiler;
  }
  // Short quanta: Hart.run asks for finished batches once per quantum.
  const halt = new Scheduler(m, { maxInsns: 5_000_000, quantum: 16 }).runToEnd();
  expect(halt.kind).toBe('poweroff');
  const j = m.jit;
  return {
    steps: m.harts[0]!.attempted, t1: m.harts[0]!.x[t1], translated: j.translatedInsns, compiled: j.blocksCompiled,
    stale: j instanceof WasmTier ? j.stats.stale : 0, errors: j.compileErrors,
  };
}

describe('wasm tier: compiling elsewhere', () => {
  const interp = smc('interp', null);

  it('a region whose page is written while it is away is dropped on arrival; the code compiled from the new bytes runs: the interpreter\'s result', () => {
    const c = new DelayedCompiler(4);
    const r = smc('wasm', c);
    expect(r.errors).toEqual([]);
    expect(r.t1).toBe(BigInt(10 * (1 + 2 + 3 + 4) + 1000 * 5));
    expect([r.steps, r.t1]).toEqual([interp.steps, interp.t1]);
    expect(r.stale).toBeGreaterThanOrEqual(1);
    // The 1000-iteration pass ran in a unit compiled after the last store.
    expect(r.compiled).toBeGreaterThanOrEqual(1);
    expect(r.translated, JSON.stringify({ ...r, t1: String(r.t1) })).toBeGreaterThan(900);
    // The same inputs and the same arrivals: the same run.
    expect(smc('wasm', new DelayedCompiler(4))).toEqual(r);
  });

  it('every arrival delay gives the interpreter\'s result', () => {
    for (const delay of [1, 2, 3, 7, 50]) {
      const r = smc('wasm', new DelayedCompiler(delay));
      expect(r.errors).toEqual([]);
      expect([r.steps, r.t1], `delay ${delay}`).toEqual([interp.steps, interp.t1]);
    }
  });

  it('the compile thread: bench.elf ends in the interpreter\'s state, with units compiled on the thread', () => {
    // The real thread, but each batch waited for at its first poll (the test, not the tier,
    // waits), so the run does not depend on the host's speed.
    const thread = new ThreadedWasmCompiler();
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const waiting: WasmCompiler = {
      submit: (regions) => thread.submit(regions),
      warm: (regions) => thread.warm(regions),
      take: (ticket) => {
        for (let k = 0; k < 6000; k++) {
          const r = thread.take(ticket);
          if (r !== undefined) return r;
          Atomics.wait(pause, 0, 0, 5);
        }
        throw new Error('the compile thread did not answer in 30 s');
      },
    };
    const bench = (tier: Tier, compiler: WasmCompiler | null) => {
      const m = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'bench.elf', bytes: new Uint8Array(readFileSync(BENCH)) }, tier, jitHot: 16 });
      if (m.jit instanceof WasmTier) m.jit.compiler = compiler;
      new Scheduler(m, { maxInsns: 4_000_000 }).runToEnd();
      const h = m.harts[0]!;
      return { state: [h.attempted, h.instret, h.getPc(), ...h.x.subarray(0, 32)], jit: m.jit };
    };
    const ref = bench('interp', null);
    const r = bench('wasm', waiting);
    const tier = r.jit as WasmTier;
    expect(tier.compileErrors).toEqual([]);
    expect(r.state).toEqual(ref.state);
    expect(tier.blocksCompiled).toBeGreaterThan(4);
    expect(tier.stats.threadMs).toBeGreaterThan(0);
    expect(tier.translatedInsns).toBeGreaterThan(1_000_000);
  });

  it('a compile thread that cannot start: the tier compiles in place, with the interpreter\'s result', async () => {
    const broken = new ThreadedWasmCompiler(new URL('file:///nonexistent/compile-worker.js'));
    // Its failure arrives as an event: let the event loop deliver it.
    await new Promise((r) => setTimeout(r, 200));
    const m = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'bench.elf', bytes: new Uint8Array(readFileSync(BENCH)) }, tier: 'wasm', jitHot: 16 });
    (m.jit as WasmTier).compiler = broken;
    new Scheduler(m, { maxInsns: 2_000_000 }).runToEnd();
    const ref = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'bench.elf', bytes: new Uint8Array(readFileSync(BENCH)) }, tier: 'interp' });
    new Scheduler(ref, { maxInsns: 2_000_000 }).runToEnd();
    const h = m.harts[0]!, r = ref.harts[0]!;
    expect([h.attempted, h.getPc(), ...h.x.subarray(0, 32)]).toEqual([r.attempted, r.getPc(), ...r.x.subarray(0, 32)]);
    expect(broken.failure).toMatch(/nonexistent|Cannot find/);
    // It failed before the first batch: every batch was compiled in place, nothing was lost.
    expect(m.jit.compileErrors).toEqual([]);
    expect(m.jit.blocksCompiled).toBeGreaterThan(4);
    expect(m.jit.translatedInsns).toBeGreaterThan(500_000);
  });
});
