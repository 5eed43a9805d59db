/**
 * The wasm translation tier (the default; issue 17). It takes the block translator's place
 * (jit.ts: same lookup, hotness counting, code-page tracking and invalidation, breakpoint
 * filter) and compiles a hot entry point into one WebAssembly function over the shared
 * `WebAssembly.Memory` (src/mem/bus.ts), where the registers, TLBs and RAM already live.
 *
 * Unit: a region of basic blocks in the entry's page. From the entry, the blocks that static
 * control flow (branches both ways, JAL, fall-through) reaches inside the same page are
 * translated together, with a `loop` + `br_table` dispatcher between them (v86 does this per
 * page); a branch of a block to itself is a plain `br`. Every block of the region is also an
 * entry (Translation.entries). Every other transfer leaves the function with the next pc.
 *
 * What is translated: the operations with a WASM_SEM entry in the instruction table
 * (generated into sem.gen.ts), JAL and JALR; the other ALU operations (mulh*, rev8, ...) and
 * F/D operations call the interpreter's helpers (execAlu, execFp), the common double-precision
 * ones run inline under the FP guard (fpGuard). A block ends before anything else (system,
 * CSR, atomics), which the interpreter runs. The x (and f) registers a region uses are wasm
 * locals, loaded at entry and stored back (those its own code writes) at the exit, which is
 * also where a unit goes when a helper threw (a Trap): the helper catches it and returns as on
 * `attention`, and the unit's JavaScript entry throws it on (unitOf), so it reaches Hart.run
 * with the registers exactly as the interpreter would have them (one write-back per function
 * instead of a second one in a `try ... catch_all` handler: ~2 bytes of wasm per guest
 * instruction on the Linux boot). Before a call, only what the helper reads from the state
 * area is stored (the store slow path's x[rs2], execAlu's x[rs1] and x[rs2], execFp's x[rs1]
 * and f[rs1], f[rs2], f[rs3]), and what it writes (x[rd]; execFp's x[rd] or f[rd]) is reloaded
 * after; the slow load path reads none. A register reloaded must be current in the state area
 * whether or not the helper wrote it: execFp's rd is stored in both files before the call.
 * Measured on the Linux boot against storing every written register before every call: 92
 * instead of 120 bytes of wasm per guest instruction (85 with the shared attention exit below),
 * translation (emit, compile, instantiate) ~5 % less CPU (~25 of ~470 ms; ~65 ms less with
 * both), run time the same within noise (in-process A/B, both orders). Loads and stores
 * take the interpreter's TLB fast path (the same tag test as the generated Op.LD case of
 * Hart.loop), in a function the module's units share per op (accessFn), inline only in blocks
 * on a cycle of the region's own control flow (onCycle); on a miss (a device, a page-crossing access, a watched page, a
 * code page, a TLB flush) that function calls the hart's own slow path (Hart.loadOffset /
 * storeX, imported as `ld` and `st`) with pc and the step count exact, exactly as the block
 * translator does: a fault is a Trap (see above). When that access
 * raised `attention` (an interrupt line, a store into translated code), the unit leaves right
 * after the instruction: the helper leaves the next pc at HS_WASM_PC and returns the count after
 * it, and every call site branches to one exit sequence per function ($attn, see emitRegion)
 * instead of having its own (~7 bytes of wasm per guest instruction on the Linux boot). Nothing else inside a unit can trap or raise `attention`, so:
 *  - counts are exact at every exit: the function returns the instructions it completed and
 *    leaves the next pc at HS_WASM_PC in the hart's state area;
 *  - it goes from block to block only while the next block fits in the budget (the scheduler's
 *    `end`); a block that does not fit runs in its stepping copy (see `stepping`), which stops
 *    after exactly the instructions the budget has left, as the interpreter would (a block
 *    without one is left to the interpreter);
 *  - code pages stay out of the store TLBs (jit.ts), so a store to translated code always
 *    takes the slow path, which invalidates the page and raises `attention`.
 *
 * Calls from JavaScript go through one small trampoline module (`run`, call_indirect through a
 * funcref table holding every unit): V8 then specializes one JS-to-wasm wrapper instead of
 * running its generic wrapper for each of hundreds of functions (measured: the generic wrapper
 * was ~6 % of a Linux boot). The trampoline also chains: when a unit leaves to a pc the
 * interpreter would look up next, it finds that pc's unit through the fetch TLB and the table
 * and goes on in wasm (see the constructor).
 *
 * The code generator (emitRegion, accessFn, buildModule) is codegen.ts.
 */
import { Jit, HOT_NEVER, type BlockFn, type Pending, type Translation } from '../jit.js';
import { INSNS, Cls } from '../../isa/insns.js';
import { DecodeCache, Op, OP_CLASS } from '../../isa/decode.js';
import { execAlu } from '../exec-alu.gen.js';
import { execFp } from '../fpu.js';
import { HS_TLB, HS_WASM_FP, HS_WASM_PC, TLB_MASK } from '../state.js';
import { Code, ModuleBuilder, W, I32, I64, F64 } from './emit.js';
import { buildModule, stepping, HELPERS, BUDGET_LIMIT, End, type Block, type Insn, type RegionCode } from './codegen.js';
import type { Hart } from '../hart.js';
import { WASM_KIND, WK } from './sem.gen.js';
import { fpGuard } from './fp.js';
import { DEFAULT_WASM_HOT, DEFAULT_WASM_LOOP_WEIGHT, DEFAULT_WASM_MAX_UNITS, DEFAULT_WASM_BATCH, DEFAULT_WASM_BATCH_WAIT, MAX_BLOCKS, MAX_BLOCK_INSNS, REGION_HOT } from './params.js';

export { DEFAULT_WASM_HOT, DEFAULT_WASM_MAX_UNITS, DEFAULT_WASM_BATCH, DEFAULT_WASM_BATCH_WAIT } from './params.js';

/** Slots of the translation table (jit.ts TABLE_SIZE): the funcref table has one per slot. */
const SLOTS = 1 << 16;
/** Bytes of each hart's state area (Bus.hartStateOffset = index * this). */
const HART_AREA_SHIFT = 16;

/** Access size of each load op (the table's `load`), for the slow path. */
const LOAD_SIZE = new Uint8Array(INSNS.length);
for (let k = 0; k < INSNS.length; k++) {
  const sem = INSNS[k]!.sem;
  if (sem !== undefined && 'load' in sem) LOAD_SIZE[k] = sem.load;
}


/** A unit: its entries (every block of the region) and its wasm function, put in their slots. */
interface WasmTranslation extends Translation { unit: () => number }

/**
 * Compiles batches of regions elsewhere (the CLI's compile thread, src/cli/compile-thread.ts):
 * code generation and `new WebAssembly.Module` leave the interpreter's thread. Null: the tier
 * compiles in place.
 */
export interface WasmCompiler {
  /** Start compiling `regions` (codegen.ts buildModule, then the module); returns its ticket. */
  submit(regions: readonly RegionCode[]): number;
  /** The ticket's result once done, else undefined (never waits). */
  take(ticket: number): CompiledBatch | undefined;
  /** Compile `regions` and drop the result: gets the compiler's own code warm (the primer). */
  warm(regions: readonly RegionCode[]): void;
}
/** A batch compiled by a WasmCompiler: buildModule's names and errors, and the compiled module. */
export interface CompiledBatch {
  module: WebAssembly.Module | null;
  names: (string | null)[];
  errors: (string | null)[];
  /** Size of the module's bytes, and the compiler's milliseconds for the batch. */
  bytes: number;
  ms: number;
}
/** A batch on its way: its regions and the invalidation counts they were decoded under. */
interface InFlight { ticket: number; regions: RegionCode[]; gens: number[]; epoch: number }

/** Compile statistics (performance only). */
export interface WasmStats {
  modules: number;
  blocks: number;
  insns: number;
  bytes: number;
  /** Milliseconds spent in `new WebAssembly.Module` + instantiation, when `clock` is set. */
  compileMs: number;
  /** Milliseconds of the compile thread (code generation + module), when there is one. */
  threadMs: number;
  /** Regions compiled elsewhere and dropped on arrival: their page was invalidated meanwhile. */
  stale: number;
}

export class WasmTier extends Jit {
  private readonly i32: Int32Array;
  readonly stats: WasmStats = { modules: 0, blocks: 0, insns: 0, bytes: 0, compileMs: 0, threadMs: 0, stale: 0 };
  /** Where batches are compiled (null: here, synchronously); set before the first one. */
  compiler: WasmCompiler | null = null;
  /** A compiler that also gets the batches compiled in place, to warm it up (see WasmCompiler.warm). */
  warmer: WasmCompiler | null = null;
  private readonly inFlight: InFlight[] = [];
  /** The funcref table (one slot per translation-table slot; empty slots are null), the helper
   * module and the trampoline: made by `setUp` when the first unit is compiled, so a run that
   * never gets hot (or the js/interp fallback) does not pay for them. */
  private table: WebAssembly.Table | null = null;
  private run!: (slot: number, base: number, budget: number, chain: number, off: number, pc: number) => number;
  /** Harts by state-area index, and each one's step count when its current unit was entered. */
  private readonly byArea: Hart[] = [];
  private readonly entrySteps = new Float64Array(64);
  private imports!: WebAssembly.Imports;
  private readonly memory: WebAssembly.Memory;
  /** What a slow path threw inside the running unit, for its JavaScript entry to throw on. */
  private thrown: { e: unknown } | null = null;
  /** The JavaScript slow paths the helper module wraps (see setUp). */
  private readonly slowPaths: WebAssembly.ModuleImports;

  constructor(dc: DecodeCache, memory: WebAssembly.Memory, hot = DEFAULT_WASM_HOT, maxUnits = DEFAULT_WASM_MAX_UNITS) {
    super(dc, true, hot, false, maxUnits);
    this.loopWeight = DEFAULT_WASM_LOOP_WEIGHT;
    this.memory = memory;
    this.batchSize = DEFAULT_WASM_BATCH;
    this.batchWait = Math.ceil(hot * DEFAULT_WASM_BATCH_WAIT);
    this.i32 = new Int32Array(memory.buffer);
    const dv = new DataView(memory.buffer);
    const i32 = this.i32;
    const sync = (base: number, pc: number, count: number): Hart => {
      const h = this.byArea[base >>> HART_AREA_SHIFT]!;
      h.pc = pc;
      h.attempted = this.entrySteps[base >>> HART_AREA_SHIFT]! + count;
      return h;
    };
    /** A slow path's result: 0, or when the access raised `attention`, the count after the
     * instruction (count + 1 > 0) with the next pc (pc + len) left at HS_WASM_PC: the unit leaves. */
    const leave = (h: Hart, base: number, pc: number, len: number, count: number): number => {
      if (!h.attention) return 0;
      const npc = pc + len, w = (base + HS_WASM_PC) >> 2;
      i32[w] = npc >>> 0;
      i32[w + 1] = Math.floor(npc / 4294967296);
      return count + 1;
    };
    /** A slow path threw (a Trap: pc and count are exact): the unit leaves (as on attention,
     * with the registers stored back) and its JavaScript entry throws it on (see unitOf). */
    const thrown = (e: unknown): number => {
      this.thrown = { e };
      return 1;
    };
    // The slow paths: the interpreter's, with pc and count exact first (a fault throws). `opl`,
    // `sizel`: the op or access size | the instruction's length << 16.
    const ld = (base: number, lo: number, hi: number, opl: number, rd: number, pc: number, count: number): number => {
      try {
        const h = sync(base, pc, count);
        const op = opl & 0xffff;
        const o = h.loadOffset(lo, hi, LOAD_SIZE[op]!);
        const xi = h.xi;
        switch (op) {
          case Op.LB: { const v = dv.getInt8(o); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
          case Op.LBU: xi[rd * 2] = dv.getUint8(o); xi[rd * 2 + 1] = 0; break;
          case Op.LH: { const v = dv.getInt16(o, true); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
          case Op.LHU: xi[rd * 2] = dv.getUint16(o, true); xi[rd * 2 + 1] = 0; break;
          case Op.LW: { const v = dv.getInt32(o, true); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
          case Op.LWU: xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = 0; break;
          default: xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = dv.getInt32(o + 4, true); break;
        }
        return leave(h, base, pc, opl >>> 16, count);
      } catch (e) {
        return thrown(e);
      }
    };
    const st = (base: number, lo: number, hi: number, sizel: number, rs2: number, pc: number, count: number): number => {
      try {
        const h = sync(base, pc, count);
        const size = sizel & 0xffff;
        const o = h.storeX(lo, hi, size, rs2);
        if (o >= 0) {
          const xi = h.xi;
          if (size === 1) dv.setInt8(o, xi[rs2 * 2]!);
          else if (size === 2) dv.setInt16(o, xi[rs2 * 2]!, true);
          else {
            dv.setInt32(o, xi[rs2 * 2]!, true);
            if (size === 8) dv.setInt32(o + 4, xi[rs2 * 2 + 1]!, true);
          }
        }
        return leave(h, base, pc, sizel >>> 16, count);
      } catch (e) {
        return thrown(e);
      }
    };
    // Operations without wasm code: the interpreter's own helpers (execFp may trap: pc and
    // count exact first; FP state changes may raise attention).
    const fp = (base: number, op: number, ins: number, raw: number, rd: number, rs1: number, rs2: number, imm: number, pc: number, count: number): number => {
      try {
        const h = sync(base, pc, count);
        execFp(h, op, ins, raw, rd, rs1, rs2, imm);
        i32[(base + HS_WASM_FP) >> 2] = fpGuard(h);
        return leave(h, base, pc, (raw & 3) === 3 ? 4 : 2, count);
      } catch (e) {
        return thrown(e);
      }
    };
    const alu = (base: number, op: number, rd: number, rs1: number, rs2: number, imm: number): void => {
      const h = this.byArea[base >>> HART_AREA_SHIFT]!;
      execAlu(h.x, h.xi, op, rd, rs1, rs2, imm);
    };
    this.slowPaths = { ld, st, fp, alu };
  }

  /** The modules every unit needs (run once, before the first unit is compiled). */
  private setUp(): void {
    const memory = this.memory;
    // The units call the helpers through a table of wasm functions of one small module that
    // calls the JavaScript ones: an imported JavaScript function costs every instance its own
    // wasm-to-JS wrappers (measured: ~250 us of a unit's ~300 us instantiation), and any
    // imported function costs every module's compilation wrappers too (codegen.ts,
    // buildModule); a table entry that is a wasm function costs neither.
    const hb = new ModuleBuilder(0);
    HELPERS.forEach((imp) => hb.importFunc(imp));
    HELPERS.forEach((imp, k) => {
      const hc = new Code(imp.params, imp.results);
      imp.params.forEach((_t, i) => hc.get(i));
      hb.func(imp.name, hc.call(k));
    });
    const hi = new WebAssembly.Instance(new WebAssembly.Module(hb.toBytes()), { m: { mem: memory, ...this.slowPaths } }).exports;
    const helpers = new WebAssembly.Table({ element: 'anyfunc', initial: HELPERS.length });
    HELPERS.forEach((imp, k) => helpers.set(k, hi[imp.name] as WebAssembly.ExportValue & (() => void)));
    this.imports = { m: { mem: memory, tab: helpers } };
    const UNIT = [I32, I32, I32, I32, I64];
    // Empty slots are null. Filling all 65,536 with a "not me" stub unit cost more than the
    // rest of the set-up together (the table's fill, then the trampoline's instantiation
    // copying every non-null entry into its dispatch table): measured in one process on a
    // loaded host, setUp 58-89 ms with the stub vs 10-16 ms with nulls.
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: SLOTS });
    // The trampoline: run(slot, base, budget, chain, off, pc) calls table[slot] for the entry
    // (off, pc) and, while the unit returned without stop, `chain` is set and the budget is not
    // used up, chains: the next pc's page through the fetch TLB (the interpreter's fetchFill
    // test), its buffer offset, the unit in that offset's slot, unless that slot is empty
    // (null: table.get, ref.is_null). The unit itself checks that it is the one for (off, pc)
    // and that its first block fits (else it returns stop), so a run goes on in wasm exactly
    // where the interpreter would have entered the same unit. A call from JavaScript is always
    // for an installed unit (Hart.loop found it), so only chaining tests for an empty slot.
    const mb = new ModuleBuilder(0, SLOTS);
    const unit = mb.typeOf(UNIT, [I32]);
    const c = new Code([I32, I32, I32, I32, I32, F64], [I32]);
    const SLOT = 0, BASE = 1, BUDGET = 2, CHAIN = 3, OFF = 4, PCF = 5;
    const R = c.local(I32), N = c.local(I32), LO = c.local(I32), E = c.local(I32), PC = c.local(I64);
    c.get(PCF).op(W.I64_TRUNC_F64_S).set(PC);
    c.begin(W.LOOP);
    c.get(BASE).get(BUDGET).get(N).get(OFF).get(PC).get(SLOT).callIndirect(unit).tee(R)
      .i32c(1).op(W.I32_SHR_U).set(N);
    c.get(R).i32c(1).op(W.I32_AND).get(CHAIN).op(W.I32_EQZ).op(W.I32_OR).get(N).get(BUDGET).op(W.I32_GE_S).op(W.I32_OR);
    c.begin(W.IF).get(N).op(W.RETURN).end();
    const TF = HS_TLB; // the fetch TLB (ACC_FETCH = 0)
    c.get(BASE).mem(W.I64_LOAD, 3, HS_WASM_PC).tee(PC).op(W.I32_WRAP_I64).tee(LO)
      .i32c(12).op(W.I32_SHR_U).i32c(TLB_MASK).op(W.I32_AND).i32c(4).op(W.I32_SHL).get(BASE).op(W.I32_ADD).tee(E)
      .mem(W.I32_LOAD, 2, TF).get(LO).i32c(-4096).op(W.I32_AND).op(W.I32_NE)
      .get(E).mem(W.I32_LOAD, 2, TF + 4).get(PC).i64c(32n).op(W.I64_SHR_U).op(W.I32_WRAP_I64).op(W.I32_NE).op(W.I32_OR);
    c.begin(W.IF).get(N).op(W.RETURN).end();
    c.get(E).mem(W.I32_LOAD, 2, TF + 8).get(LO).i32c(4095).op(W.I32_AND).op(W.I32_ADD).tee(OFF)
      .i32c(1).op(W.I32_SHR_U).i32c(SLOTS - 1).op(W.I32_AND).tee(SLOT);
    c.byte(0x25).u32(0).byte(0xd1); // table.get 0 (binary format §5.4.5), ref.is_null (§5.4.2)
    c.begin(W.IF).get(N).op(W.RETURN).end();
    c.br(0);
    c.end();
    c.op(W.UNREACHABLE);
    mb.func('run', c);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()), { m: { mem: memory, tab: table } });
    this.run = inst.exports['run'] as (slot: number, base: number, budget: number, chain: number, off: number, pc: number) => number;
    this.table = table;
  }

  /** An evicted or invalidated unit (or entry): its slot is emptied (the trampoline does not
   * chain into a null slot), and the table lets go of its module. */
  protected override unitDropped(s: number): void {
    this.table?.set(s, null);
  }

  override addHart(h: Hart): void {
    super.addHart(h);
    this.byArea[h.xi.byteOffset >>> HART_AREA_SHIFT] = h;
  }

  /**
   * The queued entries' regions, one wasm function each, in ONE module: `new WebAssembly.Module`
   * costs ~200 us per module however small, ~8 us per function. An entry that is a block of an
   * earlier region of the batch (same mapping) is one of that unit's entries: undefined.
   */
  protected override translateBatch(reqs: readonly Pending[], dv: DataView): (Translation | null | undefined)[] {
    const out: (Translation | null | undefined)[] = reqs.map(() => null);
    const regions: RegionCode[] = [], ks: number[] = [];
    /** Buffer offset -> pc of every block of the batch's regions so far. */
    const covered = new Map<number, number>();
    reqs.forEach((r, k) => {
      if (covered.get(r.off) === r.pc) { out[k] = undefined; return; }
      const rg = this.region(r.off, r.pc, dv);
      if (rg === null) return;
      for (const b of rg.blocks) covered.set(r.off + (b.pc - r.pc), b.pc);
      regions.push({ blocks: rg.blocks, off: r.off, pc: r.pc });
      ks.push(k);
    });
    if (regions.length === 0) return out;
    if (this.compiler !== null) {
      // Compiled elsewhere: installed by `poll` when it arrives. Meanwhile the interpreter runs
      // this code, and the regions' blocks do not turn hot again (they would queue again).
      const ticket = this.compiler.submit(regions);
      if (ticket === 0) return this.compileHere(out, regions, ks);
      this.inFlight.push({ ticket, regions, gens: regions.map((g) => this.pageGen.get(Math.floor(g.off / 4096)) ?? 0), epoch: this.epoch });
      this.waiting++;
      for (const g of regions) for (const b of g.blocks) this.hot[Jit.slot(g.off + (b.pc - g.pc))] = HOT_NEVER; // not again while it is away
      for (const k of ks) out[k] = undefined;
      return out;
    }
    return this.compileHere(out, regions, ks);
  }

  /** Compile the batch's regions (of requests `ks`) here and now: translateBatch's result `out`. */
  private compileHere(out: (Translation | null | undefined)[], regions: RegionCode[], ks: number[]): (Translation | null | undefined)[] {
    if (this.warmer !== null) this.warmer.warm(regions);
    const built = buildModule(regions);
    for (const e of built.errors) if (e !== null) this.compileErrors.push(e);
    const bytes = built.bytes;
    if (bytes === null) return out;
    if (this.table === null) this.setUp();
    let exports: WebAssembly.Exports;
    // In place, on the hot path (no compiler, or its slots are full). An earlier asynchronous
    // design (WebAssembly.compile on V8's threads, installed between scheduler steps through the
    // event loop) lost: units arrived ~640k instructions later and blocks of their regions turned
    // hot meanwhile and queued units of their own (Linux boot at 2000: hit rate 50.6 -> 29.7 %,
    // main-thread CPU 2.27 -> 2.48 s). The compile thread (WasmCompiler) avoids both: Hart.run
    // takes its modules at every quantum, and a region's blocks do not turn hot while it is away.
    try {
      const t0 = this.clock !== null ? this.clock() : 0;
      exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports).exports;
      if (this.clock !== null) this.stats.compileMs += this.clock() - t0;
    } catch (e) {
      this.compileErrors.push(`${(e as Error).message} in wasm module of the regions at ${regions.map((g) => `0x${g.pc.toString(16)}`).join(', ')}`);
      return out.map(() => null);
    }
    this.stats.modules++;
    this.stats.bytes += bytes.length;
    regions.forEach((g, i) => {
      const name = built.names[i];
      if (name !== null) out[ks[i]!] = this.unitOf(g.blocks, exports[name!] as () => number, g.off, g.pc);
    });
    return out;
  }

  /**
   * Install the batches the compiler has finished, in the order they were submitted. A region
   * whose page was invalidated since it was decoded (a store into it, a loader, a debugger
   * write) is dropped: its blocks count again from 0.
   */
  override poll(): void {
    const q = this.inFlight;
    while (q.length !== 0) {
      const f = q[0]!;
      const r = this.compiler!.take(f.ticket);
      if (r === undefined) return;
      q.shift();
      this.waiting--;
      this.stats.threadMs += r.ms;
      for (const e of r.errors) if (e !== null) this.compileErrors.push(e);
      let exports: WebAssembly.Exports | null = null;
      if (r.module !== null) {
        if (this.table === null) this.setUp();
        try {
          const t0 = this.clock !== null ? this.clock() : 0;
          exports = new WebAssembly.Instance(r.module, this.imports).exports;
          if (this.clock !== null) this.stats.compileMs += this.clock() - t0;
          this.stats.modules++;
          this.stats.bytes += r.bytes;
        } catch (e) {
          this.compileErrors.push(`${(e as Error).message} in wasm module of the regions at ${f.regions.map((g) => `0x${g.pc.toString(16)}`).join(', ')}`);
        }
      }
      f.regions.forEach((g, i) => {
        const page = Math.floor(g.off / 4096);
        const name = r.names[i] ?? null;
        const fresh = f.epoch === this.epoch && f.gens[i] === (this.pageGen.get(page) ?? 0) && this.isCodePage(page);
        if (!fresh) this.stats.stale++;
        if (exports !== null && name !== null && fresh) {
          this.installUnit(Jit.slot(g.off), g.off, g.pc, this.unitOf(g.blocks, exports[name] as () => number, g.off, g.pc));
        }
        // Blocks that did not get an entry (stale, failed, or their slot taken) count again
        // (the interpreter went on counting from HOT_NEVER: any negative count); untranslatable
        // code (a translator error) is not tried again.
        const again = exports !== null && name === null ? HOT_NEVER : 0;
        for (const b of g.blocks) {
          const o = g.off + (b.pc - g.pc), s = Jit.slot(o);
          if (this.hot[s]! < 0 && !(this.tag[s] === o && this.startPc[s] === b.pc)) this.hot[s] = again;
        }
      });
    }
  }

  /** The blocks of the region from entry (off, pc) (see the header), or null if its first is not translatable. */
  private region(off: number, pc: number, dv: DataView): { blocks: Block[]; index: Map<number, number> } | null {
    const pagePc = pc - (off & 4095);
    const pageOff = off - (off & 4095);
    const blocks: Block[] = [];
    const index = new Map<number, number>(); // pc -> block index; -1: not translatable
    const hot = this.hot;
    /** Add the block at `p` if it is in the page and was entered REGION_HOT times the threshold
     * at the loops' rate (the interpreter counts entries per start, Jit.hotEntry; a loop's head
     * counts loopWeight per entry, the blocks of its body one): code run less is not worth it yet. */
    const minHot = Math.max(1, Math.ceil(this.hotThreshold / this.loopWeight * REGION_HOT));
    const want = (p: number): void => {
      if (index.has(p) || blocks.length >= MAX_BLOCKS || p < pagePc || p >= pagePc + 4096) return;
      if (blocks.length > 0 && hot[Jit.slot(pageOff + (p - pagePc))]! < minHot) return;
      const b = this.scan(pageOff + (p - pagePc), p, pagePc, dv);
      if (b === null) {
        index.set(p, -1);
        return;
      }
      index.set(p, blocks.length);
      blocks.push(b);
    };
    want(pc);
    if (blocks.length === 0) return null;
    for (let k = 0; k < blocks.length; k++) {
      const b = blocks[k]!;
      if (b.end === End.BR) { want(b.target); want(b.next); }
      else if (b.end === End.JAL) want(b.target);
      else if (b.end === End.STOP) want(b.next);
    }
    return { blocks, index };
  }

  /** The translation of a compiled region: its function `unit` and a JavaScript entry per block. */
  private unitOf(blocks: Block[], unit: () => number, off: number, pc: number): WasmTranslation {
    const st = this.stats;
    st.blocks += blocks.length;
    let lo = pc, hi = pc;
    for (const b of blocks) {
      st.insns += b.insns.length;
      const last = b.insns[b.insns.length - 1]!;
      if (b.pc < lo) lo = b.pc;
      if (last.pc + last.len > hi) hi = last.pc + last.len;
    }
    const i32 = this.i32, run = this.run, entrySteps = this.entrySteps;
    const step = stepping(blocks);
    /** The JavaScript entry at instruction i of block b; `n`: the budget Hart.loop must have left
     * to enter it (1 where a stepping copy stops at the exact budget, else the rest of the block). */
    const entry = (b: Block, i = 0): { off: number; pc: number; fn: BlockFn; n: number } => {
      const ep = b.insns[i]!.pc, eo = off + (ep - pc), slot = Jit.slot(eo), len0 = b.insns.length - i;
      const fn: BlockFn = (h, _x, xi, _dv, end) => {
        const base = xi.byteOffset;
        const a0 = h.attempted;
        // Entered with `attention` still set (Hart.serviceAttention lets an instruction run after
        // MAX_IRQS_PER_BOUNDARY interrupts): the first block only, as the block translator does.
        const att = h.attention;
        const budget = att ? len0 : end - a0;
        entrySteps[base >>> HART_AREA_SHIFT] = a0;
        i32[(base + HS_WASM_FP) >> 2] = fpGuard(h);
        // Chaining skips Hart.loop's per-entry checks: only while none of them can apply
        // (breakpoints, execute triggers, the fetch-page hook all see every page change there).
        const chain = att || h.breakFilter !== null || h.trigArmed !== 0 || h.onFetchPage !== null ? 0 : 1;
        const r = run(slot, base, budget < BUDGET_LIMIT ? budget : BUDGET_LIMIT, chain, eo, ep);
        if (this.thrown !== null) {
          const { e } = this.thrown;
          this.thrown = null;
          throw e;
        }
        h.attempted = a0 + r;
        const w = (base + HS_WASM_PC) >> 2;
        h.pc = i32[w + 1]! * 4294967296 + (i32[w]! >>> 0);
      };
      return { off: eo, pc: ep, fn, n: step.has(b.pc) ? 1 : len0 };
    };
    const first = entry(blocks[0]!);
    // Block starts first: where a block starts inside another one, its own entry wins the slot.
    const entries = blocks.slice(1).map((b) => entry(b));
    for (const b of blocks) if (step.has(b.pc)) for (let i = 1; i < b.insns.length; i++) entries.push(entry(b, i));
    const t: WasmTranslation = { fn: first.fn, n: first.n, lo, hi, entries, unit };
    return t;
  }

  protected override installed(s: number, t: Translation): void {
    this.table!.set(s, (t as WasmTranslation).unit);
  }

  /** Decode a block at buffer offset `o`, pc `p`; null if its first instruction is not translated. */
  private scan(o: number, p: number, pagePc: number, dv: DataView): Block | null {
    const dc = this.dc;
    const insns: Insn[] = [];
    for (;;) {
      const po = p - pagePc;
      if (po > 4094 || insns.length >= MAX_BLOCK_INSNS) break;
      let raw = dv.getUint16(o, true);
      if ((raw & 3) === 3) {
        if (po > 4092) break; // crosses the page: the interpreter fetches it
        raw = dv.getInt32(o, true);
      }
      const d = dc.get(DecodeCache.slotAt(o), raw);
      const op = d.op, len = d.len;
      const k = WASM_KIND[op]!;
      if (k === WK.NONE && op !== Op.JAL && op !== Op.JALR && OP_CLASS[op] !== Cls.FP && OP_CLASS[op] !== Cls.ALU) break;
      const ins: Insn = { op, rd: d.rd, rs1: d.rs1, rs2: d.rs2, imm: d.imm, pc: p, len, ins: d.ins, raw };
      insns.push(ins);
      o += len;
      p += len;
      if (k === WK.BR) return { pc: insns[0]!.pc, insns, end: End.BR, next: p, target: ins.pc + ins.imm };
      if (op === Op.JAL) return { pc: insns[0]!.pc, insns, end: End.JAL, next: p, target: ins.pc + ins.imm };
      if (op === Op.JALR) return { pc: insns[0]!.pc, insns, end: End.JALR, next: p, target: 0 };
    }
    if (insns.length === 0) return null;
    return { pc: insns[0]!.pc, insns, end: End.STOP, next: p, target: 0 };
  }
}
