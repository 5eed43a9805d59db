/**
 * The wasm tier's code generator (see tier.ts for the tier: units, regions, calling convention).
 * Pure: regions of decoded blocks in, module bytes out. It reads no hart, memory or clock, so it
 * runs wherever the tier wants it (its own thread: see compiler.ts).
 */
import { Cls } from '../../isa/insns.js';
import { X_SINK, Op, OP_CLASS } from '../../isa/decode.js';
import { hasRm } from '../fpu.js';
import { ACC_LOAD, ACC_STORE, HS_F, HS_X, HS_TLB, HS_WASM_FP, HS_WASM_PC, TLB_MASK, TLB_SIZE } from '../state.js';
import { Code, ModuleBuilder, W, I32, I64, F64, VOID, type FuncImport } from './emit.js';
import { WASM_KIND, WK, emitValue, emitAccess, type SemEmitter } from './sem.gen.js';
import { FK, FP_FAST, FP_BIN_OP, FPG_DIRTY, FPG_NX, FPG_RNE } from './fp.js';

/** A region to compile: its blocks (the first is the entry), the entry's buffer offset and pc. */
export interface RegionCode { blocks: Block[]; off: number; pc: number }

/** A batch's module: its bytes (null when no region compiled), and per region the name of its
 * exported function, or null with the translator's error (a bug: the interpreter runs that code). */
export interface BuiltModule { bytes: Uint8Array<ArrayBuffer> | null; names: (string | null)[]; errors: (string | null)[] }

/** Numbers per instruction in encodeRegions: op, rd, rs1, rs2, imm, pc, len, ins, raw. */
const INSN_W = 9;

/**
 * The regions as numbers (pcs are doubles), for another thread: written into `out` from `at`
 * (a structured clone of the Block objects cost ~2 ms per batch on the Linux boot). Returns how
 * many numbers they take, or -1 (nothing written) when that is more than `out` has from `at`.
 * Layout: count, then per region off, pc, block count, then per block pc, end, next, target,
 * instruction count, then INSN_W numbers per instruction.
 */
export function encodeRegions(regions: readonly RegionCode[], out: Float64Array, at: number): number {
  let n = 1;
  for (const r of regions) {
    n += 3;
    for (const b of r.blocks) n += 5 + INSN_W * b.insns.length;
  }
  if (at + n > out.length) return -1;
  const a = out;
  let k = at;
  a[k++] = regions.length;
  for (const r of regions) {
    a[k++] = r.off; a[k++] = r.pc; a[k++] = r.blocks.length;
    for (const b of r.blocks) {
      a[k++] = b.pc; a[k++] = b.end; a[k++] = b.next; a[k++] = b.target; a[k++] = b.insns.length;
      for (const i of b.insns) {
        a[k++] = i.op; a[k++] = i.rd; a[k++] = i.rs1; a[k++] = i.rs2; a[k++] = i.imm;
        a[k++] = i.pc; a[k++] = i.len; a[k++] = i.ins; a[k++] = i.raw;
      }
    }
  }
  return n;
}

/** The regions encodeRegions encoded. */
export function decodeRegions(a: Float64Array, at: number): RegionCode[] {
  const out: RegionCode[] = [];
  let k = at + 1;
  for (let r = a[at]!; r > 0; r--) {
    const off = a[k++]!, pc = a[k++]!, blocks: Block[] = [];
    for (let nb = a[k++]!; nb > 0; nb--) {
      const bpc = a[k++]!, end = a[k++]! as End, next = a[k++]!, target = a[k++]!, insns: Insn[] = [];
      for (let ni = a[k++]!; ni > 0; ni--, k += INSN_W) {
        insns.push({ op: a[k]!, rd: a[k + 1]!, rs1: a[k + 2]!, rs2: a[k + 3]!, imm: a[k + 4]!, pc: a[k + 5]!, len: a[k + 6]!, ins: a[k + 7]!, raw: a[k + 8]! });
      }
      blocks.push({ pc: bpc, insns, end, next, target });
    }
    out.push({ off, pc, blocks });
  }
  return out;
}

/**
 * The regions' functions, one per region, in ONE module (`new WebAssembly.Module` costs ~350 us
 * per module however small, a function a few us): units import the helpers (HELPERS) and share
 * the module's access functions (accessFn) and its `att` global.
 */
export function buildModule(regions: readonly RegionCode[]): BuiltModule {
  // The helpers are called through the imported table (HELPERS order), not imported as
  // functions: V8 (11.3, Node 20) compiles wasm-to-JS wrappers for a module's imported
  // functions when it compiles the module, whatever is imported at instantiation, ~400 us per
  // module for these four (measured: 580-640 us per module with them, 120-200 us without).
  const mb = new ModuleBuilder(0, HELPERS.length);
  const call = HELPERS.map((imp, k) => helperCall(k, mb.typeOf(imp.params, imp.results)));
  const [ld, st, fp, alu] = call as [HelperCall, HelperCall, HelperCall, HelperCall];
  const att = mb.global(I32);
  const accFns = new Map<number, number>();
  const acc = (op: number, opc: number, size: number, store: boolean): number => {
    let f = accFns.get(op);
    if (f === undefined) {
      f = mb.func(null, accessFn(op, opc, size, store, store ? st : ld, att));
      accFns.set(op, f);
    }
    return f;
  };
  const fns: Imports = { ld, st, fp, alu, acc, att };
  const names: (string | null)[] = [], errors: (string | null)[] = [];
  let k = 0;
  for (const r of regions) {
    try {
      const name = `f${k}`;
      mb.func(name, emitRegion(r.blocks, fns, r.off, r.pc));
      k++;
      names.push(name);
      errors.push(null);
    } catch (e) {
      names.push(null);
      errors.push(`${(e as Error).message} in wasm region at pc 0x${r.pc.toString(16)}`);
    }
  }
  return { bytes: k === 0 ? null : mb.toBytes(), names, errors };
}

/**
 * The blocks (by pc) that get a stepping copy: a second translation entered at any of its
 * instructions that stops at the exact budget, after any instruction. A unit then runs to the
 * scheduler's budget instead of leaving the tail of a block that does not fit to the
 * interpreter (which also had to start the next quantum in the middle of that block): measured
 * on the integer loop, ~13 interpreted instructions per 10,000-instruction quantum, 20-25 % of
 * its time while Hart.loop is still unoptimized and ~10 % after. Only blocks that branch to
 * themselves (tight loops, where a quantum ends most often) get one: a copy of every block
 * doubles the code V8 compiles, and the compute bench's tails were only 174k of its 297M
 * instructions.
 */
export function stepping(blocks: readonly Block[]): Set<number> {
  const set = new Set<number>();
  for (const b of blocks) if ((b.end === End.BR || b.end === End.JAL) && b.target === b.pc) set.add(b.pc);
  return set;
}

/** The blocks (by pc) on a cycle of the region's own control flow (see emitRegion's accesses). */
function onCycle(blocks: readonly Block[]): Set<number> {
  const succ = (b: Block): number[] => (b.end === End.BR ? [b.target, b.next] : b.end === End.JAL ? [b.target] : b.end === End.STOP ? [b.next] : []);
  const byPc = new Map(blocks.map((b) => [b.pc, b]));
  const set = new Set<number>();
  for (const b of blocks) {
    const seen = new Set<number>();
    const todo = succ(b);
    while (todo.length !== 0) {
      const p = todo.pop()!;
      if (p === b.pc) { set.add(b.pc); break; }
      const n = byPc.get(p);
      if (n === undefined || seen.has(p)) continue;
      seen.add(p);
      todo.push(...succ(n));
    }
  }
  return set;
}

const TL = HS_TLB + ACC_LOAD * TLB_SIZE * 16;
const TS = HS_TLB + ACC_STORE * TLB_SIZE * 16;

/** Whether a translated instruction's own wasm code writes x[rd] (not a JavaScript helper). */
function writesXInline(ins: Insn): boolean {
  const k = WASM_KIND[ins.op]!;
  if (k === WK.X || k === WK.W || k === WK.LOAD) return true;
  if (ins.op === Op.JAL || ins.op === Op.JALR) return true;
  const f = FP_FAST[ins.op]!;
  return OP_CLASS[ins.op] === Cls.FP && (f === FK.MV_X_D || f === FK.CMP);
}

/**
 * One local of value type `t` per register in `regs` (allocated in register order), and the
 * accessor emitRegion uses: a register without one is a translator bug.
 */
function regLocals(c: Code, regs: ReadonlySet<number>, t: number, file: 'x' | 'f'): (r: number) => number {
  const local: number[] = [];
  for (const r of [...regs].sort((a, b) => a - b)) local[r] = c.local(t);
  return (r) => {
    const l = local[r];
    if (l === undefined) throw new Error(`internal: ${file}${r} has no local`);
    return l;
  };
}

/** Whether a 32-bit instruction is an R4-type F/D one (fmadd, fmsub, fnmsub, fnmadd: a third source, rs3). */
function isR4(ins: number): boolean {
  const major = ins & 0x7f;
  return major === 0x43 || major === 0x47 || major === 0x4b || major === 0x4f;
}

/** Whether a translated F/D instruction's own wasm code writes f[rd] (not execFp). */
function writesFInline(ins: Insn): boolean {
  const f = FP_FAST[ins.op]!;
  return f === FK.BIN || f === FK.SQRT || f === FK.LD || f === FK.MV_D_X || f === FK.SGNJ || f === FK.SGNJN || f === FK.SGNJX
    || f === FK.CVT_W || f === FK.CVT_L;
}

/** Emits a call of one of the helpers: its index in the imported table, then call_indirect. */
type HelperCall = (c: Code) => void;
const helperCall = (k: number, type: number): HelperCall => (c) => { c.i32c(k).callIndirect(type); };

/** The interpreter's helpers a unit calls, in the order of the table it imports ("m"."tab"; see the tier's setUp). */
export const HELPERS: readonly FuncImport[] = [
  { module: 'm', name: 'ld', params: [I32, I32, I32, I32, I32, F64, I32], results: [I32] },
  { module: 'm', name: 'st', params: [I32, I32, I32, I32, I32, F64, I32], results: [I32] },
  { module: 'm', name: 'fp', params: [I32, I32, I32, I32, I32, I32, I32, I32, F64, I32], results: [I32] },
  { module: 'm', name: 'alu', params: [I32, I32, I32, I32, I32, I32], results: [] },
];

/** The helper calls a unit emits (HelperCall), and the module's shared access functions (see accessFn). */
interface Imports {
  ld: HelperCall; st: HelperCall; fp: HelperCall; alu: HelperCall;
  /** The module's access function for load / store op `op` (wasm access `opc` of `size` bytes), added on first use. */
  acc: (op: number, opc: number, size: number, store: boolean) => number;
  /** The module's global that a slow path's result goes to (0, or the count after the instruction on attention). */
  att: number;
}

/** Fields of an access function's `packed` argument: the register (rd or rs2), the instruction's
 * index in its block, its length. */
const P_REG = 63, P_IDX_SHIFT = 8, P_LEN = 0x70000;

/**
 * A module's access function for one load or store op: the interpreter's TLB fast path (the same
 * tag test as the generated Op.LD case of Hart.loop), else the slow path `ld` / `st` with pc and
 * count exact. One per op and module instead of inline at every access: ~70 fewer bytes of wasm
 * per load or store.
 *   load (base, ea, x[rd], pc, n, packed) -> x[rd]: on the slow path, x[rd] as the helper left it in
 *     the state area (the value passed in if it threw: a load that traps does not write rd);
 *   store (base, ea, x[rs2], pc, n, packed): on the slow path, x[rs2] in the state area first (the helper reads it there).
 * `n`: N of the calling unit, packed: reg | index << P_IDX_SHIFT | len << 16 (count = n + index).
 * The slow path's result goes to global `att`; the caller leaves through $attn when it is not 0.
 */
function accessFn(op: number, opc: number, size: number, store: boolean, helper: HelperCall, att: number): Code {
  const c = new Code([I32, I64, I64, I64, I32, I32], store ? [] : [I64]);
  const BASE = 0, EA = 1, VAL = 2, PCA = 3, NA = 4, PK = 5;
  const LO = c.local(I32), E = c.local(I32);
  const tlb = store ? TS : TL;
  c.get(EA).op(W.I32_WRAP_I64).tee(LO)
    .i32c(12).op(W.I32_SHR_U).i32c(TLB_MASK).op(W.I32_AND).i32c(4).op(W.I32_SHL).get(BASE).op(W.I32_ADD).tee(E)
    .mem(W.I64_LOAD, 2, tlb).get(EA).i64c(-4096 | (size - 1)).op(W.I64_AND).op(W.I64_NE);
  c.begin(W.IF, store ? VOID : I64);
  /** Push the state-area address of x[reg]. */
  const regAddr = (): void => { c.get(PK).i32c(P_REG).op(W.I32_AND).i32c(3).op(W.I32_SHL).get(BASE).op(W.I32_ADD); };
  // x[rs2] / x[rd] current in the state area (unless x0): the store's slow path reads it there,
  // the load's leaves it there (written or, when it throws, not).
  c.get(PK).i32c(P_REG).op(W.I32_AND).begin(W.IF);
  regAddr(); c.get(VAL).mem(W.I64_STORE, 3, HS_X);
  c.end();
  c.get(BASE).get(LO).get(EA).i64c(32n).op(W.I64_SHR_U).op(W.I32_WRAP_I64)
    .get(PK).i32c(P_LEN).op(W.I32_AND).i32c(store ? size : op).op(W.I32_OR)
    .get(PK).i32c(P_REG).op(W.I32_AND)
    .get(PCA).op(W.F64_CONVERT_I64_S)
    .get(NA).get(PK).i32c(P_IDX_SHIFT).op(W.I32_SHR_U).i32c(255).op(W.I32_AND).op(W.I32_ADD);
  helper(c);
  c.globalSet(att);
  if (!store) { regAddr(); c.mem(W.I64_LOAD, 3, HS_X); }
  c.op(W.ELSE);
  c.get(E).mem(W.I32_LOAD, 2, tlb + 8).get(LO).i32c(4095).op(W.I32_AND).op(W.I32_ADD);
  if (store) c.get(VAL);
  c.mem(opc, 0, 0);
  c.end();
  return c;
}

/** Counts passed to a unit stay below this, so (n << 1) | stop is a positive int32. */
export const BUDGET_LIMIT = 1 << 29;

export interface Insn { op: number; rd: number; rs1: number; rs2: number; imm: number; pc: number; len: number; ins: number; raw: number }
/** How a translated operation is done: WASM_KIND's, or by a call to the interpreter's helper. */
export const enum End { STOP, BR, JAL, JALR }
export interface Block {
  pc: number;
  insns: Insn[];
  /** How the block ends: STOP falls through to `next`; BR, JAL and JALR are its last insn. */
  end: End;
  next: number;
  target: number;
}

/**
 * The region's function: (base: hart state offset, budget: instructions the whole run may
 * complete, n0: instructions the run completed before this unit, off, pc: the entry the caller
 * wants) -> (n << 1) | stop, where n counts the run's instructions completed so far and the
 * next pc is left (i64) at base + HS_WASM_PC. A unit asked for another entry (a stale chaining
 * guess) returns at once with stop set, one whose first block does not fit in the budget
 * after no instruction with stop set. stop:
 * the trampoline must return to JavaScript (attention, a budget cut, or the interpreter must
 * run the instruction at pc); otherwise it may chain to the unit at pc (see the constructor).
 *
 *   block $ok (result i32)  <the entry: its block | instruction << 8, else return stop>  end
 *   block $done
 *     block $attn
 *       block $stop
 *         block $x
 *           loop $d
 *             block $b[K-1] ... block $b0  (br_table over `blk`)  end  <block 0> end <block 1> ... end
 *           end
 *         end
 *         br $done
 *       end
 *       <stop>  br $done
 *     end
 *     <after a slow path raised attention or threw: N from global `att`, pc from the helper, stop>
 *   end
 *   <store the written registers, pc, result>
 * Block j's code sits after the `end` of $b_j, inside K-1-j blocks and the loop: a branch to
 * the loop from there has depth K-1-j (plus the blocks and ifs open there), to $x one more,
 * to $stop two more, to $attn three more. Each block first tests whether it fits in the budget.
 */
function emitRegion(region: Block[], fns: Imports, off: number, pc: number): Code {
  // Blocks in pc order: a transfer to a later block is then a plain forward `br` (see goto),
  // and only backward ones (loops) go through the dispatcher's br_table.
  const blocks = [...region].sort((a, b) => a.pc - b.pc);
  const index = new Map<number, number>(blocks.map((b, k) => [b.pc, k]));
  const c = new Code([I32, I32, I32, I32, I64], [I32]);
  const BASE = 0, BUDGET = 1, N0 = 2, OFF = 3, PC = 4;
  const N = c.local(I32), BLK = c.local(I32), LO = c.local(I32), E = c.local(I32), STOP = c.local(I32);
  const SUB = c.local(I32);
  const EA = c.local(I64), T = c.local(I64), NPC = c.local(I64);
  const FT = c.local(F64), FA = c.local(F64), FB = c.local(F64), T1 = c.local(F64);
  const AH = c.local(F64), AL = c.local(F64), BH = c.local(F64), BL = c.local(F64);
  const K = blocks.length;
  // Stepping copies (see stepping) follow the blocks in the dispatcher: copy s of block
  // steps[s] has index K + s; stepOf: block index -> its copy's index.
  const stepSet = stepping(blocks);
  const looped = onCycle(blocks);
  const steps = blocks.map((_b, k) => k).filter((k) => stepSet.has(blocks[k]!.pc));
  const stepOf = new Map<number, number>(steps.map((k, s) => [k, K + s]));
  const KT = K + steps.length;
  let cur: Insn = blocks[0]!.insns[0]!;
  let curIdx = 0, curBlk = 0, nest = 0;
  /** Whether the current block's loads and stores test the TLB inline (see em). */
  let inlineAcc = false;
  const open = (o: number, bt?: number): void => { c.begin(o, bt); nest++; };
  const close = (): void => { c.end(); nest--; };
  /** Branch depth of the dispatch loop from the current position. */
  const toLoop = (): number => nest + KT - 1 - curBlk;

  // ---- guest registers: the x registers the region uses live in locals (xl), loaded at entry;
  // those its own code writes (written) go back to the state area at the exit, which is also
  // where the unit goes when a helper threw (see `thrown`); before a call, only the ones the
  // helper reads (keep).
  const used = new Set<number>(), written = new Set<number>();
  for (const b of blocks) {
    for (const ins of b.insns) {
      for (const r of [ins.rs1, ins.rs2]) if (r > 0 && r < 32) used.add(r);
      if (ins.rd > 0 && ins.rd < 32 && writesXInline(ins)) written.add(ins.rd);
    }
  }
  for (const r of written) used.add(r);
  const xl = regLocals(c, used, I64, 'x');
  // The f registers of the region's F/D instructions (operand numbers, whichever file they name:
  // a superset) live in f64 locals (fl) the same way; fWritten: those inline code writes.
  // GUARD: the FP guard word (fpGuard), which only execFp changes inside a run.
  const fUsed = new Set<number>(), fWritten = new Set<number>();
  for (const b of blocks) {
    for (const ins of b.insns) {
      if (OP_CLASS[ins.op] !== Cls.FP) continue;
      for (const r of [ins.rd, ins.rs1, ins.rs2]) if (r >= 0 && r < 32) fUsed.add(r);
      if (writesFInline(ins)) fWritten.add(ins.rd);
    }
  }
  const fl = regLocals(c, fUsed, F64, 'f');
  const GUARD = c.local(I32);
  /** Push x[r] (i64) / its low word (i32). */
  const rx = (r: number): void => { if (r === 0) c.i64c(0n); else c.get(xl(r)); };
  const rw = (r: number): void => { if (r === 0) c.i32c(0); else c.get(xl(r)).op(W.I32_WRAP_I64); };
  /** x[rd] = the i64 `value` pushes (rd may be x0 or its sink: the value is dropped). */
  const setX = (rd: number, value: () => void): void => {
    value();
    if (rd === 0 || rd === X_SINK) c.op(W.DROP);
    else if (!written.has(rd)) throw new Error(`internal: x${rd} written but not in the write-back set`);
    else c.set(xl(rd));
  };
  /** f[r] as f64, as i64; f[rd] = the f64 / i64 `value` pushes. */
  const rf = (r: number): void => { c.get(fl(r)); };
  const rfi = (r: number): void => { c.get(fl(r)).op(W.I64_REINTERPRET_F64); };
  const setF = (rd: number, value: () => void): void => {
    if (!fWritten.has(rd)) throw new Error(`internal: f${rd} written but not in the write-back set`);
    value();
    c.set(fl(rd));
  };
  const setFi = (rd: number, value: () => void): void => { setF(rd, () => { value(); c.op(W.F64_REINTERPRET_I64); }); };
  /** Every register the region's own code writes back to the state area: at the exit (also
   * taken when a helper threw a Trap). */
  const flush = (): void => {
    for (const r of written) c.get(BASE).get(xl(r)).mem(W.I64_STORE, 3, r * 8);
    for (const r of fWritten) c.get(BASE).get(fl(r)).mem(W.F64_STORE, 3, HS_F + r * 8);
  };
  /** Before a helper that reads registers from the state area: the x registers `xs` and f
   * registers `fs` it reads, where the region's own code may have changed them. */
  const keep = (xs: readonly number[], fs: readonly number[] = []): void => {
    for (const r of new Set(xs)) if (written.has(r)) c.get(BASE).get(xl(r)).mem(W.I64_STORE, 3, r * 8);
    for (const r of new Set(fs)) if (fWritten.has(r)) c.get(BASE).get(fl(r)).mem(W.F64_STORE, 3, HS_F + r * 8);
  };
  /** After it: x[r] may have changed. */
  const reload = (r: number): void => { if (used.has(r)) c.get(BASE).mem(W.I64_LOAD, 3, r * 8).set(xl(r)); };

  /** Leave with pc `to`, `i` instructions of the current block done past N. */
  const exit = (to: number, i: number, stop: boolean): void => {
    c.i64c(to).set(NPC);
    if (i !== 0) c.get(N).i32c(i).op(W.I32_ADD).set(N);
    c.br(toLoop() + (stop ? 2 : 1)); // $stop or $x
  };
  /**
   * The access of `size` bytes at x[rs1] + imm: the TLB test leaves 1 (miss) or 0 on the
   * stack, with EA, LO and E (the entry's address) set. The entry's first two words (the page's
   * low word, the high word) are read as one i64 and compared with the address's page bits
   * plus its low bits below `size`: a hit is the page Hart.loop's generated cases would hit
   * with an aligned access (which cannot cross the page); a misaligned one takes the slow path.
   */
  const miss = (tlb: number, size: number): void => {
    rx(cur.rs1);
    c.i64c(cur.imm).op(W.I64_ADD).tee(EA)
      .op(W.I32_WRAP_I64).tee(LO)
      .i32c(12).op(W.I32_SHR_U).i32c(TLB_MASK).op(W.I32_AND).i32c(4).op(W.I32_SHL).get(BASE).op(W.I32_ADD).tee(E)
      .mem(W.I64_LOAD, 2, tlb).get(EA).i64c(-4096 | (size - 1)).op(W.I64_AND).op(W.I64_NE);
  };
  /** The hit's buffer offset. */
  const hitOffset = (tlb: number): void => {
    c.get(E).mem(W.I32_LOAD, 2, tlb + 8).get(LO).i32c(4095).op(W.I32_AND).op(W.I32_ADD);
  };
  /** Leave through $attn when the last slow path raised attention or threw (global `att` is
   * not 0; $attn takes N from it and the next pc from the helper). */
  const attnExit = (): void => { c.globalGet(fns.att).brIf(toLoop() + 3); };
  /** After a helper call left its result on the stack (see `leave` in the constructor): reload
   * x[rd], then attnExit. */
  const afterCall = (rd: number): void => {
    c.globalSet(fns.att);
    reload(rd);
    attnExit();
  };
  /** The current load or store by the module's access function (accessFn): base, ea, [value], pc, N, packed. */
  const access = (opc: number, size: number, store: boolean): void => {
    c.get(BASE);
    rx(cur.rs1);
    if (cur.imm !== 0) c.i64c(cur.imm).op(W.I64_ADD);
    rx(store ? cur.rs2 : cur.rd === X_SINK ? 0 : cur.rd);
    c.i64c(cur.pc).get(N).i32c((store ? cur.rs2 : cur.rd) | (curIdx << P_IDX_SHIFT) | (cur.len << 16))
      .call(fns.acc(cur.op, opc, size, store));
  };
  const em: SemEmitter = {
    c,
    x: rx,
    w: rw,
    // In a block on a cycle of the region (a loop, run many times per entry), the TLB hit is
    // inline and only a miss calls the access function: a call per access was 1.58x the
    // integer loop's CPU (scripts/bench-ab.mjs loop), and the compute bench's loops of several
    // blocks 1.1-1.2x with only self-loops inline.
    load: (opc, size) => {
      if (inlineAcc) {
        miss(TL, size);
        open(W.IF);
        setX(cur.rd, () => access(opc, size, false));
        attnExit();
        c.op(W.ELSE);
        setX(cur.rd, () => { hitOffset(TL); c.mem(opc, 0, 0); });
        close();
        return;
      }
      setX(cur.rd, () => access(opc, size, false));
      attnExit();
    },
    store: (opc, size) => {
      if (inlineAcc) {
        miss(TS, size);
        open(W.IF);
        access(opc, size, true);
        attnExit();
        c.op(W.ELSE);
        hitOffset(TS);
        rx(cur.rs2);
        c.mem(opc, 0, 0);
        close();
        return;
      }
      access(opc, size, true);
      attnExit();
    },
  };
  /** An F/D operation by the interpreter's execFp. */
  const fpSlow = (ins: Insn): void => {
    // Its operands: x[rs1] (an address, an integer source) or f[rs1], f[rs2], f[rs3] (R4 forms);
    // and rd in both files: execFp writes one of x[rd], f[rd] and both are reloaded after it,
    // so the other's copy in the state area must be current too.
    const fs = isR4(ins.ins) ? [ins.rs1, ins.rs2, (ins.ins >>> 27) & 31, ins.rd] : [ins.rs1, ins.rs2, ins.rd];
    keep([ins.rs1, ins.rd], fs);
    c.get(BASE).i32c(ins.op).i32c(ins.ins).i32c(ins.raw).i32c(ins.rd).i32c(ins.rs1).i32c(ins.rs2).i32c(ins.imm)
      .f64c(ins.pc).get(N).i32c(curIdx).op(W.I32_ADD);
    fns.fp(c);
    // execFp wrote f[rd] (or x[rd]) and maybe the FP state: reload them (the call's result stays below).
    if (fUsed.has(ins.rd)) c.get(BASE).mem(W.F64_LOAD, 3, HS_F + ins.rd * 8).set(fl(ins.rd));
    c.get(BASE).mem(W.I32_LOAD, 2, HS_WASM_FP).set(GUARD);
    afterCall(ins.rd);
  };
  /**
   * An F/D operation inline where the FP guard word (see fpGuard) says it changes nothing but
   * its destination, else by execFp. With a rounding mode: only RNE (static, or dynamic with
   * frm = RNE) and a result that is finite and above the smallest normal (no overflow,
   * underflow or invalid: the only flag it can raise is NX, §11.2); NX must be set already,
   * or the result exact (add/sub: the TwoSum error, mul: Dekker's product error, both exact
   * with operands in [2^-400, 2^400]; fcvt.d.l: |x| <= 2^53).
   */
  const fpOp = (ins: Insn): void => {
    const kind = FP_FAST[ins.op]!;
    const rm = (ins.ins >>> 12) & 7;
    const withRm = hasRm(ins.op);
    if (kind === FK.NONE || (withRm && rm !== 0 && rm !== 7)) { fpSlow(ins); return; }
    const op = FP_BIN_OP[ins.op]!;
    /** Whether an inexact result can be told from an exact one here (else NX must be set). */
    const exactTest = op === W.F64_ADD || op === W.F64_SUB || op === W.F64_MUL || kind === FK.CVT_L;
    const need = FPG_DIRTY | (withRm && rm === 7 ? FPG_RNE : 0) | (withRm && !exactTest && kind !== FK.CVT_W ? FPG_NX : 0);
    open(W.BLOCK); // $done
    open(W.BLOCK); // $slow
    c.get(GUARD).i32c(need).op(W.I32_AND).i32c(need).op(W.I32_NE).brIf(0);
    /** With NX clear: leave for $slow when the i32 `inexact` pushes is not 0. */
    const unlessNx = (inexact: () => void): void => {
      c.get(GUARD).i32c(FPG_NX).op(W.I32_AND).op(W.I32_EQZ);
      open(W.IF);
      inexact();
      c.brIf(1);
      close();
    };
    /** Leave for $slow unless the f64 on the stack is finite and above the smallest normal; keep it in FT. */
    const normal = (): void => {
      c.tee(FT).op(W.F64_ABS).tee(T1).f64c(2 ** -1022).op(W.F64_GT).get(T1).f64c(Infinity).op(W.F64_LT).op(W.I32_AND)
        .op(W.I32_EQZ).brIf(0);
    };
    /** |x| outside [2^-400, 2^400] (x in local l). */
    const outside = (l: number): void => {
      c.get(l).op(W.F64_ABS).tee(T1).f64c(2 ** -400).op(W.F64_LT).get(T1).f64c(2 ** 400).op(W.F64_GT).op(W.I32_OR);
    };
    /** Veltkamp's split of local x into hi and lo (26 + 27 bits). */
    const split = (x: number, hi: number, lo: number): void => {
      c.f64c(134217729).get(x).op(W.F64_MUL).tee(T1).get(T1).get(x).op(W.F64_SUB).op(W.F64_SUB).set(hi)
        .get(x).get(hi).op(W.F64_SUB).set(lo);
    };
    const sign = -(2n ** 63n);
    switch (kind) {
      case FK.BIN:
        rf(ins.rs1); c.set(FA); rf(ins.rs2); c.set(FB);
        c.get(FA).get(FB).op(op);
        normal();
        if (op === W.F64_ADD || op === W.F64_SUB) {
          unlessNx(() => {
            // TwoSum (Knuth) of FA + (±FB): s = FT, a' = s - b, err = (a - a') + (b - (s - a')).
            if (op === W.F64_SUB) c.get(FB).op(W.F64_NEG).set(FB);
            c.get(FT).get(FB).op(W.F64_SUB).set(T1);
            c.get(FA).get(T1).op(W.F64_SUB).get(FB).get(FT).get(T1).op(W.F64_SUB).op(W.F64_SUB).op(W.F64_ADD)
              .f64c(0).op(W.F64_NE);
          });
        } else if (op === W.F64_MUL) {
          unlessNx(() => {
            // Dekker's product error: ((ah*bh - p) + ah*bl + al*bh) + al*bl.
            outside(FA); outside(FB); c.op(W.I32_OR);
            open(W.IF, I32);
            c.i32c(1);
            c.op(W.ELSE);
            split(FA, AH, AL); split(FB, BH, BL);
            c.get(AH).get(BH).op(W.F64_MUL).get(FT).op(W.F64_SUB).get(AH).get(BL).op(W.F64_MUL).op(W.F64_ADD)
              .get(AL).get(BH).op(W.F64_MUL).op(W.F64_ADD).get(AL).get(BL).op(W.F64_MUL).op(W.F64_ADD).f64c(0).op(W.F64_NE);
            close();
          });
        }
        setF(ins.rd, () => c.get(FT));
        break;
      case FK.SQRT: rf(ins.rs1); c.op(W.F64_SQRT); normal(); setF(ins.rd, () => c.get(FT)); break;
      case FK.LD:
        miss(TL, 8); c.brIf(0);
        setFi(ins.rd, () => { hitOffset(TL); c.mem(W.I64_LOAD, 0, 0); });
        break;
      case FK.SD:
        miss(TS, 8); c.brIf(0);
        hitOffset(TS); rfi(ins.rs2); c.mem(W.I64_STORE, 0, 0);
        break;
      case FK.MV_X_D: setX(ins.rd, () => rfi(ins.rs1)); break;
      case FK.MV_D_X: setFi(ins.rd, () => rx(ins.rs1)); break;
      case FK.SGNJ: case FK.SGNJN: case FK.SGNJX:
        setFi(ins.rd, () => {
          rfi(ins.rs1); c.i64c(~sign).op(W.I64_AND);
          if (kind === FK.SGNJX) { rfi(ins.rs1); rfi(ins.rs2); c.op(W.I64_XOR); } else rfi(ins.rs2);
          if (kind === FK.SGNJN) c.i64c(-1n).op(W.I64_XOR);
          c.i64c(sign).op(W.I64_AND).op(W.I64_OR);
        });
        break;
      case FK.CMP:
        rf(ins.rs1); rf(ins.rs1); c.op(W.F64_NE); rf(ins.rs2); rf(ins.rs2); c.op(W.F64_NE); c.op(W.I32_OR).brIf(0);
        setX(ins.rd, () => { rf(ins.rs1); rf(ins.rs2); c.op(FP_BIN_OP[ins.op]!).op(W.I64_EXTEND_I32_U); });
        break;
      case FK.CVT_W: setF(ins.rd, () => { rw(ins.rs1); c.op(FP_BIN_OP[ins.op]!); }); break;
      case FK.CVT_L:
        // |x| <= 2^53 (2^64 - 1 unsigned for fcvt.d.lu: x < 2^53) converts exactly.
        unlessNx(() => {
          rx(ins.rs1);
          if (op === W.F64_CONVERT_I64_S) c.i64c(2n ** 53n).op(W.I64_ADD).i64c(2n ** 54n).op(W.I64_GT_U);
          else c.i64c(2n ** 53n).op(W.I64_GT_U);
        });
        setF(ins.rd, () => { rx(ins.rs1); c.op(op); });
        break;
    }
    c.br(1);
    close(); // $slow
    fpSlow(ins);
    close(); // $done
  };
  /** Continue at pc `to` after `done` instructions of the current block (block k's own code
   * tests whether it fits in the budget: see the block head below). */
  const goto = (done: number, to: number): void => {
    const k = index.get(to);
    if (k === undefined) {
      exit(to, done, false);
      return;
    }
    if (done !== 0) c.get(N).i32c(done).op(W.I32_ADD).set(N);
    // Block k's code follows the end of $b_k: from block j < k (inside $b_{j+1} .. $b_{K-1})
    // that is a forward branch of depth k - j - 1; a block's own loop is at nest - 1.
    if (k === curBlk) c.br(nest - 1);
    else if (k > curBlk) c.br(nest + k - curBlk - 1);
    else c.i32c(k).set(BLK).br(toLoop());
  };

  // The entry: any block of the region, or any instruction of a block with a stepping copy.
  // (off, pc) must be in this unit's mapping (pc - off the same as at the region's first block)
  // and off an entry (a br_table over the half-words of the region's span, or a test per entry,
  // whichever is fewer bytes); else return stop. (Whether the block fits in the budget is its
  // own code's first test.)
  /** Entries: [buffer offset, block index, instruction index]; block starts first. */
  const ents: [number, number, number][] = blocks.map((b, k) => [off + (b.pc - pc), k, 0]);
  for (const k of steps) {
    const b = blocks[k]!;
    for (let i = 1; i < b.insns.length; i++) ents.push([off + (b.insns[i]!.pc - pc), k, i]);
  }
  const lo = Math.min(...ents.map((e) => e[0]));
  const E_N = ents.length;
  /** Entry e's code: BLK | SUB << 8 (its block, or its stepping copy and instruction), for $ok. */
  const code = (e: number): number => {
    const [, k, i] = ents[e]!;
    return i !== 0 ? stepOf.get(k)! | (i << 8) : k;
  };
  const span = ((Math.max(...ents.map((e) => e[0])) - lo) >> 1) + 1;
  c.begin(W.BLOCK, I32); // $ok: the entry's code
  c.begin(W.BLOCK); // $miss
  c.get(PC).get(OFF).op(W.I64_EXTEND_I32_U).op(W.I64_SUB).i64c(pc - off).op(W.I64_NE).brIf(0);
  c.get(OFF).i32c(lo).op(W.I32_SUB).set(LO);
  if (span >= 3 * E_N) {
    // A test per entry (the first of equal offsets wins: block starts before stepping entries).
    const seen = new Set<number>();
    ents.forEach(([o], e) => {
      if (seen.has(o)) return;
      seen.add(o);
      c.i32c(code(e)).get(LO).i32c(o - lo).op(W.I32_EQ).brIf(1).op(W.DROP);
    });
  } else {
    const targets = new Array<number>(span).fill(E_N);
    for (let e = E_N - 1; e >= 0; e--) targets[(ents[e]![0] - lo) >> 1] = e;
    for (let e = 0; e < E_N; e++) c.begin(W.BLOCK); // $e_{E_N-1} (outermost) ... $e_0
    c.get(LO).i32c(1).op(W.I32_ROTR).brTable(targets, E_N);
    for (let e = 0; e < E_N; e++) {
      c.end(); // $e_e: inside E_N-1-e blocks, $miss, $ok
      c.i32c(code(e)).br(E_N - e);
    }
  }
  c.end(); // $miss
  c.get(N0).i32c(1).op(W.I32_SHL).i32c(1).op(W.I32_OR).op(W.RETURN);
  c.end(); // $ok
  if (steps.length !== 0) c.tee(LO).i32c(8).op(W.I32_SHR_U).set(SUB).get(LO).i32c(255).op(W.I32_AND);
  c.set(BLK);
  c.get(N0).set(N);
  for (const r of used) c.get(BASE).mem(W.I64_LOAD, 3, r * 8).set(xl(r));
  for (const r of fUsed) c.get(BASE).mem(W.F64_LOAD, 3, HS_F + r * 8).set(fl(r));
  if (fUsed.size !== 0) c.get(BASE).mem(W.I32_LOAD, 2, HS_WASM_FP).set(GUARD);
  c.begin(W.BLOCK); // $done
  c.begin(W.BLOCK); // $attn
  c.begin(W.BLOCK); // $stop
  c.begin(W.BLOCK); // $x
  c.begin(W.LOOP);
  for (let j = 0; j < KT; j++) c.begin(W.BLOCK);
  c.get(BLK).brTable(Array.from({ length: KT }, (_v, j) => j), KT - 1);
  for (let j = 0; j < KT; j++) {
    c.end(); // $b_j: block j's code follows, in a loop of its own (a branch to itself)
    curBlk = j;
    /** A stepping copy: entered at instruction SUB, it leaves before any instruction the budget has no room for. */
    const stepCopy = j >= K;
    const b = blocks[stepCopy ? steps[j - K]! : j]!;
    inlineAcc = looped.has(b.pc);
    const n = b.insns.length;
    open(W.LOOP);
    if (!stepCopy) {
      // Block j does not fit: its stepping copy runs what does, else the interpreter goes on.
      c.get(N).i32c(n).op(W.I32_ADD).get(BUDGET).op(W.I32_GT_S);
      open(W.IF);
      const sk = stepOf.get(j);
      if (sk === undefined) exit(b.pc, 0, true);
      else c.i32c(0).set(SUB).i32c(sk).set(BLK).br(toLoop());
      close();
    } else {
      // N counts from the block's first instruction (as in the block's own code: N + i before
      // instruction i); Duff's device: $s_{n-1} (outermost) ... $s_0, then instruction i after $s_i.
      c.get(N).get(SUB).op(W.I32_SUB).set(N);
      for (let i = 0; i < n; i++) open(W.BLOCK);
      c.get(SUB).brTable(Array.from({ length: n }, (_v, i) => i), n - 1);
    }
    for (let i = 0; i < n; i++) {
      const ins = b.insns[i]!;
      cur = ins;
      curIdx = i;
      if (stepCopy) {
        close(); // $s_i
        c.get(N).i32c(i).op(W.I32_ADD).get(BUDGET).op(W.I32_GE_S);
        open(W.IF);
        exit(ins.pc, i, true);
        close();
      }
      if (i === n - 1 && b.end !== End.STOP) break; // the terminator, below
      const kind = WASM_KIND[ins.op]!;
      if (kind === WK.NONE) {
        if (OP_CLASS[ins.op] === Cls.FP) fpOp(ins);
        else {
          keep([ins.rs1, ins.rs2]);
          c.get(BASE).i32c(ins.op).i32c(ins.rd).i32c(ins.rs1).i32c(ins.rs2).i32c(ins.imm);
          fns.alu(c);
          reload(ins.rd);
        }
        continue;
      }
      switch (kind) {
        case WK.X:
          setX(ins.rd, () => emitValue(em, ins.op, ins.rs1, ins.rs2, ins.imm, ins.pc));
          break;
        case WK.W:
          setX(ins.rd, () => { emitValue(em, ins.op, ins.rs1, ins.rs2, ins.imm, ins.pc); c.op(W.I64_EXTEND_I32_S); });
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
        goto(n, b.next);
        break;
      case End.BR:
        c.get(N).i32c(n).op(W.I32_ADD).set(N);
        emitValue(em, last.op, last.rs1, last.rs2, last.imm, last.pc);
        open(W.IF);
        goto(0, b.target);
        close();
        goto(0, npc);
        break;
      case End.JAL:
        setX(last.rd, () => c.i64c(npc));
        goto(n, b.target);
        break;
      case End.JALR:
        // Targets the interpreter computes exactly as a number (|x[rs1]| < 2^52) are done
        // here; the rest (Hart.pcFromBig) by the interpreter.
        rx(last.rs1);
        // x[rs1] in [-2^52, 2^52): x >> 52 (arithmetic) is -1 or 0.
        c.tee(T).i64c(52n).op(W.I64_SHR_S).i64c(1n).op(W.I64_ADD).i64c(2n).op(W.I64_GE_U);
        open(W.IF);
        exit(last.pc, n - 1, true);
        close();
        c.get(T).i64c(last.imm).op(W.I64_ADD).i64c(-2n).op(W.I64_AND).set(NPC);
        setX(last.rd, () => c.i64c(npc));
        c.get(N).i32c(n).op(W.I32_ADD).set(N);
        c.br(toLoop() + 1);
        break;
    }
    close(); // block j's own loop
  }
  c.end(); // $d
  c.end(); // $x
  c.br(2); // $done
  c.end(); // $stop
  c.i32c(1).set(STOP).br(1); // $done
  c.end(); // $attn: a slow path raised attention or threw (afterCall); it returned N and left the next pc
  c.globalGet(fns.att).set(N).i32c(0).globalSet(fns.att).i32c(1).set(STOP).get(BASE).mem(W.I64_LOAD, 3, HS_WASM_PC).set(NPC);
  c.end(); // $done
  flush();
  c.get(BASE).get(NPC).mem(W.I64_STORE, 3, HS_WASM_PC);
  c.get(N).i32c(1).op(W.I32_SHL).get(STOP).op(W.I32_OR);
  return c;
}
