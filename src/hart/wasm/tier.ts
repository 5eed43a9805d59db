/**
 * The wasm translation tier (issue 17, first milestone). It takes the block translator's place
 * (jit.ts: same lookup, hotness counting, code-page tracking and invalidation, breakpoint
 * filter) and compiles a hot entry point into one WebAssembly function over the shared
 * `WebAssembly.Memory` (src/mem/bus.ts), where the registers, TLBs and RAM already live.
 *
 * Unit: a region of basic blocks in the entry's page. From the entry, the blocks that static
 * control flow (branches both ways, JAL, fall-through) reaches inside the same page are
 * translated together, with a `loop` + `br_table` dispatcher between them (v86 does this per
 * page). Every other transfer leaves the function with the next pc.
 *
 * What is translated: the operations with a WASM_SEM entry in the instruction table
 * (generated into sem.gen.ts), JAL and JALR. A block ends before anything else, so the
 * interpreter runs it (system, CSR, atomics, FP, mulh*, rev8/orc.b, ...). Loads and stores
 * take the interpreter's TLB fast path inline (the same tag test as the generated Op.LD case of
 * Hart.loop); on a miss (a device, a page-crossing access, a watched page, a code page, a TLB
 * flush) the unit calls the hart's own slow path (Hart.loadOffset / storeX, imported as `ld`
 * and `st`) after making pc and the step count exact, exactly as the block translator does:
 * a fault throws the Trap through the wasm frames to Hart.run, which takes it. When that access
 * raised `attention` (an interrupt line, a store into translated code), the unit leaves right
 * after the instruction. Nothing else inside a unit can trap or raise `attention`, so:
 *  - counts are exact at every exit: the function returns the instructions it completed and
 *    leaves the next pc at HS_WASM_PC in the hart's state area;
 *  - it goes from block to block only while the next block fits in the budget (the scheduler's
 *    `end`), as the interpreter would stop there;
 *  - code pages stay out of the store TLBs (jit.ts), so a store to translated code always
 *    takes the slow path, which invalidates the page and raises `attention`.
 *
 * Calls from JavaScript go through one small trampoline module (`run(slot, base, budget)`,
 * call_indirect through a funcref table holding every unit): V8 then specializes one JS-to-wasm
 * wrapper instead of running its generic wrapper for each of hundreds of functions (measured:
 * the generic wrapper was ~6 % of a Linux boot).
 */
import { Jit, type BlockFn, type Translation } from '../jit.js';
import { INSNS, Cls } from '../../isa/insns.js';
import { DecodeCache, D_OP, D_RD, D_RS1, D_RS2, D_IMM, D_LEN, D_INS, Op, OP_CLASS } from '../../isa/decode.js';
import { execAlu } from '../exec-alu.gen.js';
import { execFp } from '../fpu.js';
import { ACC_LOAD, ACC_STORE, HS_TLB, HS_WASM_PC, TLB_MASK, TLB_SIZE } from '../state.js';
import { Code, ModuleBuilder, W, I32, I64, F64 } from './emit.js';
import type { Hart } from '../hart.js';
import { WASM_KIND, WK, emitValue, emitAccess, type SemEmitter } from './sem.gen.js';

/**
 * Executions of an entry point before its region is compiled. Measured on the Linux boot (A/B
 * against the js tier in one process, CPU time): 1000 -> 1.49x (525 modules), 4000 -> 0.99x,
 * 8000 -> 0.92x, 16000 -> 0.85-0.94x (26 modules), 32768 -> 0.88x; compute bench 0.91x at 16000:
 * module compilation and instantiation (~0.25 ms each unloaded, far more on a loaded host)
 * dominate below that.
 */
export const DEFAULT_WASM_HOT = 16000;
/**
 * Live units at most (Jit.maxUnits; HVTRACE_WASM_MAX_UNITS); past it the oldest is evicted
 * (Jit.evict, where the policy's measurements are). v86 keeps about 900 modules. The Linux
 * boot compiles 27 units at the default threshold (563 at 1000), so this cap only bounds the
 * memory of long runs with large code footprints.
 */
export const DEFAULT_WASM_MAX_UNITS = 1024;
/** Blocks per region and instructions per block. */
const MAX_BLOCKS = 48;
const MAX_BLOCK_INSNS = 128;

/** Slots of the translation table (jit.ts TABLE_SIZE): the funcref table has one per slot. */
const SLOTS = 1 << 16;
/** Bytes of each hart's state area (Bus.hartStateOffset = index * this). */
const HART_AREA_SHIFT = 16;
const TL = HS_TLB + ACC_LOAD * TLB_SIZE * 16;
const TS = HS_TLB + ACC_STORE * TLB_SIZE * 16;

/** Access size of each load op (the table's `load`), for the slow path. */
const LOAD_SIZE = new Uint8Array(INSNS.length);
for (let k = 0; k < INSNS.length; k++) {
  const sem = INSNS[k]!.sem;
  if (sem !== undefined && 'load' in sem) LOAD_SIZE[k] = sem.load;
}

interface Insn { op: number; rd: number; rs1: number; rs2: number; imm: number; pc: number; len: number; ins: number; raw: number }
/** How a translated operation is done: WASM_KIND's, or by a call to the interpreter's helper. */
const K_CALL_ALU = 100, K_CALL_FP = 101;
const enum End { STOP, BR, JAL, JALR }
interface Block {
  pc: number;
  insns: Insn[];
  /** How the block ends: STOP falls through to `next`; BR, JAL and JALR are its last insn. */
  end: End;
  next: number;
  target: number;
}

/** Compile statistics (performance only). */
export interface WasmStats {
  modules: number;
  blocks: number;
  insns: number;
  bytes: number;
  /** Milliseconds spent in `new WebAssembly.Module` + instantiation, when `clock` is set. */
  compileMs: number;
}

export class WasmTier extends Jit {
  private readonly f64: Float64Array;
  readonly stats: WasmStats = { modules: 0, blocks: 0, insns: 0, bytes: 0, compileMs: 0 };
  private readonly table = new WebAssembly.Table({ element: 'anyfunc', initial: SLOTS });
  private readonly run: (slot: number, base: number, budget: number) => number;
  /** Harts by state-area index, and each one's step count when its current unit was entered. */
  private readonly byArea: Hart[] = [];
  private readonly entrySteps = new Float64Array(64);
  private readonly imports: WebAssembly.Imports;

  constructor(dc: DecodeCache, memory: WebAssembly.Memory, hot = DEFAULT_WASM_HOT, maxUnits = DEFAULT_WASM_MAX_UNITS) {
    super(dc, true, hot, false, maxUnits);
    this.f64 = new Float64Array(memory.buffer);
    const dv = new DataView(memory.buffer);
    const sync = (base: number, pc: number, count: number): Hart => {
      const h = this.byArea[base >>> HART_AREA_SHIFT]!;
      h.pc = pc;
      h.attempted = this.entrySteps[base >>> HART_AREA_SHIFT]! + count;
      return h;
    };
    // The slow paths: the interpreter's, with pc and count exact first (a fault throws).
    const ld = (base: number, lo: number, hi: number, op: number, rd: number, pc: number, count: number): number => {
      const h = sync(base, pc, count);
      const o = h.loadOffset(lo, hi, LOAD_SIZE[op]!);
      const xi = h.xi;
      let v: number;
      switch (op) {
        case Op.LB: v = dv.getInt8(o); break;
        case Op.LBU: v = dv.getUint8(o); xi[rd * 2] = v; xi[rd * 2 + 1] = 0; return h.attention ? 1 : 0;
        case Op.LH: v = dv.getInt16(o, true); break;
        case Op.LHU: v = dv.getUint16(o, true); xi[rd * 2] = v; xi[rd * 2 + 1] = 0; return h.attention ? 1 : 0;
        case Op.LW: v = dv.getInt32(o, true); break;
        case Op.LWU: xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = 0; return h.attention ? 1 : 0;
        default: xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = dv.getInt32(o + 4, true); return h.attention ? 1 : 0;
      }
      xi[rd * 2] = v;
      xi[rd * 2 + 1] = v >> 31;
      return h.attention ? 1 : 0;
    };
    const st = (base: number, lo: number, hi: number, size: number, rs2: number, pc: number, count: number): number => {
      const h = sync(base, pc, count);
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
      return h.attention ? 1 : 0;
    };
    // Operations without wasm code: the interpreter's own helpers (execFp may trap: pc and
    // count exact first; FP state changes may raise attention).
    const fp = (base: number, op: number, ins: number, raw: number, rd: number, rs1: number, rs2: number, imm: number, pc: number, count: number): number => {
      const h = sync(base, pc, count);
      execFp(h, op, ins, raw, rd, rs1, rs2, imm);
      return h.attention ? 1 : 0;
    };
    const alu = (base: number, op: number, rd: number, rs1: number, rs2: number, imm: number): void => {
      const h = this.byArea[base >>> HART_AREA_SHIFT]!;
      execAlu(h.x, h.xi, op, rd, rs1, rs2, imm);
    };
    this.imports = { m: { mem: memory, ld, st, fp, alu } };
    // The trampoline: run(slot, base, budget) = table[slot](base, budget).
    const mb = new ModuleBuilder(0, SLOTS);
    const unit = mb.typeOf([I32, I32], [I32]);
    const c = new Code([I32, I32, I32], [I32]);
    c.get(1).get(2).get(0).callIndirect(unit);
    mb.func('run', c);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()), { m: { mem: memory, tab: this.table } });
    this.run = inst.exports['run'] as (slot: number, base: number, budget: number) => number;
  }

  /** An evicted or invalidated unit: the funcref table lets go of its module. */
  protected override unitDropped(s: number): void {
    this.table.set(s, null);
  }

  override addHart(h: Hart): void {
    super.addHart(h);
    this.byArea[h.xi.byteOffset >>> HART_AREA_SHIFT] = h;
  }

  protected override translate(off: number, pc: number, dv: DataView): Translation | null {
    const pagePc = pc - (off & 4095);
    const pageOff = off - (off & 4095);
    const blocks: Block[] = [];
    const index = new Map<number, number>(); // pc -> block index; -1: not translatable
    const hot = this.hot;
    /** Add the block at `p` if it is in the page and was entered before (the interpreter counts
     * entries per start, Jit.lookup): code never run is not worth compiling yet. */
    const want = (p: number): void => {
      if (index.has(p) || blocks.length >= MAX_BLOCKS || p < pagePc || p >= pagePc + 4096) return;
      if (blocks.length > 0 && hot[Jit.slot(pageOff + (p - pagePc))]! <= 0) return;
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
    const mb = new ModuleBuilder(0);
    const ldFn = mb.importFunc({ module: 'm', name: 'ld', params: [I32, I32, I32, I32, I32, F64, I32], results: [I32] });
    const stFn = mb.importFunc({ module: 'm', name: 'st', params: [I32, I32, I32, I32, I32, F64, I32], results: [I32] });
    const fpFn = mb.importFunc({ module: 'm', name: 'fp', params: [I32, I32, I32, I32, I32, I32, I32, I32, F64, I32], results: [I32] });
    const aluFn = mb.importFunc({ module: 'm', name: 'alu', params: [I32, I32, I32, I32, I32, I32], results: [] });
    mb.func('f', this.emitRegion(blocks, index, ldFn, stFn, fpFn, aluFn));
    const bytes = mb.toBytes();
    const slot = Jit.slot(off);
    try {
      const t0 = this.clock !== null ? this.clock() : 0;
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports);
      if (this.clock !== null) this.stats.compileMs += this.clock() - t0;
      this.table.set(slot, inst.exports['f'] as () => number);
    } catch (e) {
      this.compileErrors.push(`${(e as Error).message} in wasm region at pc 0x${pc.toString(16)}`);
      return null;
    }
    const st = this.stats;
    st.modules++;
    st.blocks += blocks.length;
    st.bytes += bytes.length;
    let lo = pc, hi = pc;
    for (const b of blocks) {
      st.insns += b.insns.length;
      const last = b.insns[b.insns.length - 1]!;
      if (b.pc < lo) lo = b.pc;
      if (last.pc + last.len > hi) hi = last.pc + last.len;
    }
    const f64 = this.f64, run = this.run, entrySteps = this.entrySteps;
    const len0 = blocks[0]!.insns.length;
    const fn: BlockFn = (h, _x, xi, _dv, end) => {
      const base = xi.byteOffset;
      const a0 = h.attempted;
      // Entered with `attention` still set (Hart.serviceAttention lets an instruction run after
      // MAX_IRQS_PER_BOUNDARY interrupts): the first block only, as the block translator does.
      const budget = h.attention ? len0 : end - a0;
      entrySteps[base >>> HART_AREA_SHIFT] = a0;
      h.attempted = a0 + run(slot, base, budget < 0x7fffffff ? budget : 0x7fffffff);
      h.pc = f64[(base + HS_WASM_PC) >>> 3]!;
    };
    return { fn, n: len0, lo, hi };
  }

  /** Decode a block at buffer offset `o`, pc `p`; null if its first instruction is not translated. */
  private scan(o: number, p: number, pagePc: number, dv: DataView): Block | null {
    const dc = this.dc, dd = dc.data;
    const insns: Insn[] = [];
    for (;;) {
      const po = p - pagePc;
      if (po > 4094 || insns.length >= MAX_BLOCK_INSNS) break;
      let raw = dv.getUint16(o, true);
      if ((raw & 3) === 3) {
        if (po > 4092) break; // crosses the page: the interpreter fetches it
        raw = dv.getInt32(o, true);
      }
      const ds = DecodeCache.slotAt(o);
      if (dd[ds * 8] !== raw) dc.fill(ds, raw);
      const b = ds * 8;
      const op = dd[b + D_OP]!, len = dd[b + D_LEN]!;
      const k = WASM_KIND[op]!;
      if (k === WK.NONE && op !== Op.JAL && op !== Op.JALR && OP_CLASS[op] !== Cls.FP && OP_CLASS[op] !== Cls.ALU) break;
      const ins: Insn = { op, rd: dd[b + D_RD]!, rs1: dd[b + D_RS1]!, rs2: dd[b + D_RS2]!, imm: dd[b + D_IMM]!, pc: p, len, ins: dd[b + D_INS]!, raw };
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

  /**
   * The region's function (base: hart state offset, budget: instructions it may complete) ->
   * instructions completed; the next pc is left at base + HS_WASM_PC.
   *
   *   loop $d
   *     block $b[K-1] ... block $b0  (br_table over `blk`)  end  <block 0> end <block 1> ... end
   *   end
   * Block j's code sits after the `end` of $b_j, inside K-1-j blocks and the loop: a branch to
   * the loop from there has depth K-1-j.
   */
  private emitRegion(blocks: Block[], index: Map<number, number>, ldFn: number, stFn: number, fpFn: number, aluFn: number): Code {
    const c = new Code([I32, I32], [I32]);
    const BASE = 0, BUDGET = 1;
    const N = c.local(I32), BLK = c.local(I32), LO = c.local(I32), E = c.local(I32);
    const EA = c.local(I64), T = c.local(I64);
    const K = blocks.length;
    let cur: Insn = blocks[0]!.insns[0]!;
    let curIdx = 0;
    /** Leave with pc `pc`, `i` instructions of the current block done. */
    const exit = (pc: number, i: number): void => {
      c.get(BASE).f64c(pc).mem(W.F64_STORE, 3, HS_WASM_PC);
      c.get(N);
      if (i !== 0) c.i32c(i).op(W.I32_ADD);
      c.op(W.RETURN);
    };
    /**
     * The access of `size` bytes at x[rs1] + imm: the TLB test (as Hart.loop's generated cases)
     * leaves 1 (miss) or 0 on the stack, with EA, LO and E (the entry's address) set.
     */
    const miss = (tlb: number, size: number): void => {
      c.get(BASE).mem(W.I64_LOAD, 3, cur.rs1 * 8).i64c(BigInt(cur.imm)).op(W.I64_ADD).tee(EA)
        .op(W.I32_WRAP_I64).tee(LO)
        .i32c(12).op(W.I32_SHR_U).i32c(TLB_MASK).op(W.I32_AND).i32c(4).op(W.I32_SHL).get(BASE).op(W.I32_ADD).tee(E)
        .mem(W.I32_LOAD, 2, tlb).get(LO).i32c(-4096).op(W.I32_AND).op(W.I32_NE)
        .get(E).mem(W.I32_LOAD, 2, tlb + 4).get(EA).i64c(32n).op(W.I64_SHR_U).op(W.I32_WRAP_I64).op(W.I32_NE)
        .op(W.I32_OR);
      if (size > 1) c.get(LO).i32c(4095).op(W.I32_AND).i32c(4096 - size).op(W.I32_GT_U).op(W.I32_OR);
    };
    /** The hit's buffer offset. */
    const hitOffset = (tlb: number): void => {
      c.get(E).mem(W.I32_LOAD, 2, tlb + 8).get(LO).i32c(4095).op(W.I32_AND).op(W.I32_ADD);
    };
    /** Call the slow path `f` (pc and count exact); leave after this instruction on attention. */
    const slow = (f: number, a: number, b: number): void => {
      c.get(BASE).get(LO).get(EA).i64c(32n).op(W.I64_SHR_U).op(W.I32_WRAP_I64).i32c(a).i32c(b)
        .f64c(cur.pc).get(N).i32c(curIdx).op(W.I32_ADD).call(f);
      c.begin(W.IF);
      exit(cur.pc + cur.len, curIdx + 1);
      c.end();
    };
    const em: SemEmitter = {
      c,
      x: (r) => { c.get(BASE).mem(W.I64_LOAD, 3, r * 8); },
      w: (r) => { c.get(BASE).mem(W.I32_LOAD, 2, r * 8); },
      load: (opc, size) => {
        miss(TL, size);
        c.begin(W.IF);
        slow(ldFn, cur.op, cur.rd);
        c.op(W.ELSE);
        c.get(BASE);
        hitOffset(TL);
        c.mem(opc, 0, 0).mem(W.I64_STORE, 3, cur.rd * 8);
        c.end();
      },
      store: (opc, size) => {
        miss(TS, size);
        c.begin(W.IF);
        slow(stFn, size, cur.rs2);
        c.op(W.ELSE);
        hitOffset(TS);
        c.get(BASE).mem(W.I64_LOAD, 3, cur.rs2 * 8).mem(opc, 0, 0);
        c.end();
      },
    };
    /** Continue at pc `to` after `done` instructions of block j, from `extra` levels inside it. */
    const goto = (j: number, done: number, to: number, extra: number): void => {
      const k = index.get(to);
      if (k === undefined || k < 0) {
        exit(to, done);
        return;
      }
      c.get(N).i32c(done).op(W.I32_ADD).tee(N)
        .i32c(blocks[k]!.insns.length).op(W.I32_ADD).get(BUDGET).op(W.I32_GT_S);
      c.begin(W.IF);
      exit(to, 0);
      c.end();
      c.i32c(k).set(BLK).br(K - 1 - j + extra);
    };

    c.begin(W.LOOP);
    for (let j = 0; j < K; j++) c.begin(W.BLOCK);
    c.get(BLK).brTable(blocks.map((_b, j) => j), K - 1);
    for (let j = 0; j < K; j++) {
      c.end(); // $b_j: block j's code follows
      const b = blocks[j]!;
      const n = b.insns.length;
      for (let i = 0; i < n; i++) {
        const ins = b.insns[i]!;
        cur = ins;
        curIdx = i;
        const kind = WASM_KIND[ins.op]! !== WK.NONE ? WASM_KIND[ins.op]! : OP_CLASS[ins.op] === Cls.FP ? K_CALL_FP : K_CALL_ALU;
        if (i === n - 1 && b.end !== End.STOP) break; // the terminator, below
        switch (kind) {
          case K_CALL_ALU:
            c.get(BASE).i32c(ins.op).i32c(ins.rd).i32c(ins.rs1).i32c(ins.rs2).i32c(ins.imm).call(aluFn);
            break;
          case K_CALL_FP:
            c.get(BASE).i32c(ins.op).i32c(ins.ins).i32c(ins.raw).i32c(ins.rd).i32c(ins.rs1).i32c(ins.rs2).i32c(ins.imm)
              .f64c(ins.pc).get(N).i32c(i).op(W.I32_ADD).call(fpFn);
            c.begin(W.IF);
            exit(ins.pc + ins.len, i + 1);
            c.end();
            break;
          case WK.X:
            c.get(BASE);
            emitValue(em, ins.op, ins.rs1, ins.rs2, ins.imm, ins.pc);
            c.mem(W.I64_STORE, 3, ins.rd * 8);
            break;
          case WK.W:
            c.get(BASE);
            emitValue(em, ins.op, ins.rs1, ins.rs2, ins.imm, ins.pc);
            c.op(W.I64_EXTEND_I32_S).mem(W.I64_STORE, 3, ins.rd * 8);
            break;
          case WK.LOAD: case WK.STORE:
            emitAccess(em, ins.op);
            break;
          case WK.NOP:
            break;
          default:
            throw new Error(`internal: op ${ins.op} in a wasm block body`);
        }
      }
      const last = b.insns[n - 1]!;
      const npc = last.pc + last.len;
      switch (b.end) {
        case End.STOP:
          goto(j, n, b.next, 0);
          break;
        case End.BR:
          emitValue(em, last.op, last.rs1, last.rs2, last.imm, last.pc);
          c.begin(W.IF);
          goto(j, n, b.target, 1);
          c.end();
          goto(j, n, npc, 0);
          break;
        case End.JAL:
          c.get(BASE).i64c(BigInt(npc)).mem(W.I64_STORE, 3, last.rd * 8);
          goto(j, n, b.target, 0);
          break;
        case End.JALR:
          // Targets the interpreter computes exactly as a number (|x[rs1]| < 2^52) are done
          // here; the rest (Hart.pcFromBig) by the interpreter.
          c.get(BASE).mem(W.I64_LOAD, 3, last.rs1 * 8).tee(T).i64c(2n ** 52n).op(W.I64_ADD).i64c(2n ** 53n).op(W.I64_GE_U);
          c.begin(W.IF);
          exit(last.pc, n - 1);
          c.end();
          c.get(T).i64c(BigInt(last.imm)).op(W.I64_ADD).i64c(-2n).op(W.I64_AND).set(T);
          c.get(BASE).i64c(BigInt(npc)).mem(W.I64_STORE, 3, last.rd * 8);
          c.get(BASE).get(T).op(W.F64_CONVERT_I64_S).mem(W.F64_STORE, 3, HS_WASM_PC);
          c.get(N).i32c(n).op(W.I32_ADD).op(W.RETURN);
          break;
      }
    }
    c.end(); // loop
    c.op(W.UNREACHABLE);
    return c;
  }
}
