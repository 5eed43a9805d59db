/**
 * One RV64GC+H hart: the class other layers use. It adds the interpreter to the chain
 * HartCore (state.ts: state and accessors) <- HartTraps (trap.ts) <- HartMmu (mmu.ts) <- Hart:
 * run(), the hot loop (its common cases generated from src/isa/insns.ts by
 * scripts/gen-insns.mjs), the rarer system, CSR, atomic, cache-block and hypervisor
 * load/store instructions.
 *
 * Faults inside an instruction are raised by throwing the hart's Trap record (trap.ts); the run
 * loop catches it and enters the trap. Nothing a guest does throws anything else.
 *
 * The interpreter loop and its generated cases stay one function (V8 must see them together,
 * see the comment at the generated region); the rest of the hart lives in state.ts, trap.ts
 * and mmu.ts.
 */
import { DecodeCache, DC_MASK, Op, X_SINK, OP_CLASS, OP_FLAGS, OP_SIZE, OP_ARG, P_CTRL } from '../isa/decode.js';
import { Cls, F_UIMM, F_STORE, F_SIGNED, F_HLVX, CsrOp, Amo } from '../isa/insns.js';
import { execAlu } from './exec-alu.gen.js';
import { TABLE_MASK } from './jit.js';
import * as C from './constants.js';
import type { CsrWriter } from './observer.js';
import { CSR_TABLE, csrAccess, CSR_OK, CSR_VIRTUAL, type CsrDef } from './csr.js';
import { hpmPoll } from './hpm.js';
import { execFp } from './fpu.js';
import { HartMmu } from './mmu.js';
import * as S from './state.js';
import { HartState } from './state.js';
import { modeBit, TRIG_LOAD, TRIG_STORE } from './trigger.js';

export {
  ACC_FETCH, ACC_LOAD, ACC_STORE, BREAK_FILTER_SIZE, breakSlot, HartState,
  type HartEnv, type HartSnapshot, type HsHandler, type HypSnapshot, type MTrapHandler, type WatchHook,
} from './state.js';
export { Trap } from './trap.js';

/**
 * Interrupts taken at one instruction boundary before an instruction must run regardless (see
 * serviceAttention). Architected nesting needs at most 3 (VS -> HS -> M), plus native handlers.
 */
const MAX_IRQS_PER_BOUNDARY = 8;
// Module-local copies of state.ts's constants: V8 folds a module's own consts into optimized
// code, while an imported binding is loaded from its module cell at every use (measured: the
// generated loads and stores use TLB_MASK, about 4 % of the compute benchmark).
const ACC_LOAD = S.ACC_LOAD, ACC_STORE = S.ACC_STORE, BREAK_FILTER_SIZE = S.BREAK_FILTER_SIZE;
const TLB_MASK = S.TLB_MASK, TWO32 = S.TWO32, JIT_MASK = TABLE_MASK;

/** The ops whose taken target is pc + imm (Hart.loop carries po across them). */
const PC_RELATIVE = new Uint8Array(256);
for (const op of [Op.JAL, Op.BEQ, Op.BNE, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU]) PC_RELATIVE[op] = 1;

export class Hart extends HartMmu {
  constructor(...args: ConstructorParameters<typeof HartMmu>) {
    super(...args);
    // The step counters get V8's double field representation from the first hart of the process
    // on: they take doubles (wasm exits, Float64Array sums) and pass 2^30, and a field's first
    // double after Smis deprecates the Hart map, which aborted the loop's first optimizing
    // compiles (~0.4 s of background compilation each on a loaded host; measured, the loop then
    // ran unoptimized for the first ~70 rounds of the compute bench).
    this.attempted = 0.5; this.notRetired = 0.5; this.vtimeOffset = 0.5;
    this.attempted = 0; this.notRetired = 0; this.vtimeOffset = 0;
    // The same for the fields that take addresses of 2^30 and up (RAM at 0x8000_0000, the high
    // half, a reserved address, a page-table root): the first such value of each deprecated the
    // map again in the primer (each a wrong-map deoptimization of flushTlb; seen with
    // --trace-generalization --trace-deopt). HartCore's constructor empties the TLBs without
    // flushTlb(): this class's fields do not exist yet there, so `this` has a map of its own,
    // and each hart built deoptimized flushTlb (wrong map).
    this.pc = 0.5; this.pcHi = 0.5; this.mmioPa = 0.5; this.resvAddr = 0.5; this.satpRoot = 0.5; this.hgatpRoot = 0.5;
    this.pc = 0; this.pcHi = 0; this.mmioPa = 0; this.resvAddr = -1; this.satpRoot = 0; this.hgatpRoot = 0;
  }
  // ======================================================================
  // CSR access
  // ======================================================================
  /** Read a CSR with the privilege checks of an instruction; throws the Trap on a violation. */
  csrRead(csr: number, insn: number): bigint {
    const d = CSR_TABLE[csr];
    if (d === undefined) this.illegal(insn);
    const a = csrAccess(this, csr, d, false);
    if (a !== CSR_OK) this.csrFault(a, insn);
    return d.read(this);
  }
  private csrFault(a: number, insn: number): never {
    return a === CSR_VIRTUAL ? this.virtualInsn(insn) : this.illegal(insn);
  }
  csrWrite(csr: number, v: bigint, insn: number, who: CsrWriter = 'insn'): void {
    const d = CSR_TABLE[csr];
    if (d === undefined) this.illegal(insn);
    const a = csrAccess(this, csr, d, true);
    if (a !== CSR_OK) this.csrFault(a, insn);
    if (d.write === undefined) this.illegal(insn);
    // A write to minstret/mcycle takes effect after the writing instruction completes
    // (§3.1.10): that instruction's own retirement must not count.
    if (csr === C.CSR.minstret || csr === C.CSR.mcycle) v -= 1n;
    const obs = this.obs;
    if (obs) {
      const old = d.read(this);
      d.write(this, BigInt.asUintN(64, v));
      obs.csrWrite(this, csr, old, d.read(this), who);
    } else {
      d.write(this, BigInt.asUintN(64, v));
    }
  }
  /** CSR write by native firmware or the hypervisor: no privilege check, still observed. */
  csrSet(csr: number, v: bigint, who: CsrWriter): void {
    const d = CSR_TABLE[csr];
    if (d === undefined || d.write === undefined) throw new Error(`internal: no writable CSR 0x${csr.toString(16)}`);
    const old = this.obs ? d.read(this) : 0n;
    d.write(this, BigInt.asUintN(64, v));
    if (this.obs) this.obs.csrWrite(this, csr, old, d.read(this), who);
  }
  csrGet(csr: number): bigint {
    const d = CSR_TABLE[csr];
    if (d === undefined) throw new Error(`internal: no CSR 0x${csr.toString(16)}`);
    return d.read(this);
  }
  // ======================================================================
  // The interpreter
  // ======================================================================
  /**
   * Run at most `budget` instructions (steps). Returns the number of steps taken. Stops early
   * when the hart parks (WFI), stops (HSM), or the machine halts.
   */
  run(budget: number): number {
    const start = this.attempted;
    const end = start + budget;
    this.sliceCut = false;
    // Translations compiled on another thread that have arrived (see Jit.waiting).
    if (this.jit !== null && this.jit.waiting !== 0) this.jit.poll();
    for (;;) {
      // An HPM counter wraps here (Sscofpmf): OF and LCOFIP before the next instruction.
      if (this.attempted >= this.hpmCut) hpmPoll(this);
      // A timer compare written during the slice may bring the deadline forward (timerChanged).
      let e = end < this.timerCut ? end : this.timerCut;
      if (this.hpmCut < e) e = this.hpmCut;
      if (!(this.attempted < e && this.runState === HartState.Running && !this.env.halted && this.fatal === null)) break;
      try {
        this.loop(e);
      } catch (e) {
        if (e !== this.exc) throw e;
        this.attempted++;
        this.notRetired++;
        this.takeException();
      }
    }
    if (this.attempted >= this.hpmCut) hpmPoll(this);
    if (this.attempted >= this.timerCut) {
      this.timerCut = Infinity;
      this.sliceCut = true;
    }
    return this.attempted - start;
  }

  /** A timer compare of this hart changed: end the slice at the new deadline if it is earlier. */
  timerChanged(): void {
    const nd = this.env.nextDeadline;
    if (nd === undefined) return;
    const d = nd.call(this.env, this) - this.vtimeOffset; // as a step count
    if (d > this.attempted && d < this.timerCut) {
      this.timerCut = d;
      this.replan = true;
      this.attention = true;
    }
  }

  /**
   * Handle `attention`: returns true when the loop must exit.
   *
   * Interrupts are taken at instruction boundaries (priv spec §3.1.9): every interrupt that is
   * pending and enabled *now* is taken before the next instruction executes. Taking one can make
   * another takeable at the same boundary: a higher-level interrupt stays enabled in the new mode,
   * and a native handler (built-in SBI, built-in hypervisor) may already have returned with xRET
   * after setting mip/hvip and re-enabling interrupts. So everything is looked at again after each
   * interrupt taken, as QEMU re-checks before it executes the next translation block.
   */
  private serviceAttention(): boolean {
    for (let taken = 0; ; taken++) {
      this.attention = false;
      if (this.runState !== HartState.Running || this.env.halted || this.fatal !== null) return true;
      if (this.replan) {
        // Leave the loop so run() re-computes its end with timerCut; look again on re-entry.
        this.replan = false;
        this.attention = true;
        return true;
      }
      const irq = this.pendingInterrupt();
      if (irq < 0) return false;
      if (taken === MAX_IRQS_PER_BOUNDARY) {
        // Only a native handler that returns with its own interrupt still pending and enabled
        // gets here; let one instruction run (and look again before the next) so the hart
        // makes progress instead of spinning in the host.
        this.attention = true;
        return false;
      }
      this.enterTrap(irq, true, 0n);
    }
  }

  private loop(end: number): void {
    const x = this.x, xi = this.xi, dv = this.dv, dc = this.dc;
    const dd = dc.data, dImm64 = dc.imm64, dIns = dc.ins;
    const opClass = OP_CLASS;
    const tl = this.tlb[ACC_LOAD]!, ts = this.tlb[ACC_STORE]!;
    const jit = this.jit !== null && this.jit.enabled ? this.jit : null;
    // Translated blocks are looked up only where one can start: at loop entry (after a trap,
    // an interrupt check or a block exit) and after a control-transfer instruction.
    let entry = true;
    // The breakpoint filter only changes between runs: read it once.
    const bf = this.breakFilter;
    // The fetch page as last read (fv = this.fetchVa, fo = this.fetchOff) and po = pc - fv,
    // carried as an integer along straight-line code (po + the instruction's length) and
    // recomputed from this.pc (which helpers, traps and units read and write) after a jump, a
    // unit, an interrupt or a trap (po = -1), or when the fetch page changed. The pc itself is
    // then fv + po: computing each pc from the last one in floating point (pc - fetchVa,
    // to int32, fetch, decode, pc + length) put two conversions and two additions of doubles on
    // the loop-carried chain of every instruction.
    let fv = NaN, fo = 0, po = -1;
    // What the next lookup adds to its entry's count (see Jit.loopWeight).
    const loopW = jit !== null ? jit.loopWeight : 1;
    let inc = 1;
    while (this.attempted < end) {
      if (this.attention) {
        if (this.serviceAttention()) return;
        po = -1;
        inc = 1;
      }
      const fresh = po >= 0 && po < 4096 && this.fetchVa === fv;
      const pc = fresh ? fv + po : this.pc;
      if (bf !== null && bf[(pc >>> 1) & (BREAK_FILTER_SIZE - 1)] !== 0 && this.onBreakPc !== null) this.onBreakPc(this);
      // ---- fetch ----
      let raw: number;
      // Decode-cache slot: by physical address where the fetch page is known (sequential code
      // stays in neighbouring cache lines), else by the instruction bits.
      let s: number;
      if (!fresh) {
        po = pc - this.fetchVa;
        if (!(po >= 0 && po < 4096)) {
          this.fetchFill(pc);
          po = pc - this.fetchVa;
        }
        fv = this.fetchVa;
        fo = this.fetchOff;
      }
      if (po >= 0 && po < 4096) {
        // po is an integer in [0, 4096): with an int32 fetchOff (buffers up to 2 GiB) the sum is an
        // int32 index, which keeps DataView on its fast path; larger buffers give a double.
        const o = fo + (po | 0);
        // No blocks while pcHi != 0 (see HartCore.pc): they bake pc numbers in.
        if (jit !== null && entry && this.pcHi === 0) {
          // The block starting here, or -1 (counted; compiled once hot): see Jit.hotEntry.
          const sj = (o >>> 1) & JIT_MASK;
          const js = jit.tag[sj] === o && jit.startPc[sj] === pc ? sj
            : (jit.hot[sj] += inc) < jit.hotThreshold ? -1 : jit.hotEntry(sj, o, pc, dv);
          if (js >= 0 && this.attempted + jit.len[js]! <= end && (bf === null || jit.breakFree(js, bf, this.breakStamp))) {
            const a0 = this.attempted;
            jit.fn[js]!(this, x, xi, dv, end);
            // (--profile's hit rate: the instructions the unit completed.)
            const done = this.attempted - a0;
            jit.translatedInsns += done;
            // A wasm unit leaves an instruction it cannot complete inline (a TLB miss) to the
            // interpreter: when it stopped at its first, run that one here.
            if (done !== 0) {
              po = -1;
              inc = 1;
              continue;
            }
          }
        }
        s = (o >>> 1) & DC_MASK;
        if (po <= 4092) {
          raw = dv.getInt32(o, true);
          if ((raw & 3) !== 3) raw &= 0xffff;
        } else {
          raw = dv.getUint16(o, true);
          if ((raw & 3) === 3) raw = this.fetchSlow(pc);
        }
      } else {
        raw = this.fetchSlow(pc);
        s = DecodeCache.slot(raw);
      }
      // ---- decode (cached; an entry is valid for the instruction bits in its tag) ----
      // (The entry's layout: decode.ts, DC_W and D_*; imm64 is dImm64[de >> 1]. Not named
      // like a semantics body's locals, SEM_LOCALS: the generated cases read it.)
      const de = s << 2;
      if (dd[de + 2]! !== raw) dc.fill(s, raw);
      const pk = dd[de + 3]!, imm = dd[de]!;
      const op = pk & 255, rd = (pk >>> 8) & 63, rs1 = (pk >>> 14) & 31, rs2 = (pk >>> 19) & 31;
      const len = 2 + ((pk >>> 23) & 2);
      let npc = pc + len;
      const seq = npc;
      entry = (pk & P_CTRL) !== 0;
      // ---- execute ----
      switch (op) {
        // The helpers (lt/ltu, eaHi + loadOffset/storeX TLB hits, setI32, shifts) are written out in the
        // generated cases: V8's inlining budget for this function runs out after a few of them
        // (measured), and a call per load, store or W-op costs more than the operation.
        // ---- BEGIN GENERATED: hot operations of src/isa/insns.ts (scripts/gen-insns.mjs; do not edit) ----
        case Op.LUI: { const v = imm; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.AUIPC: { const v = pc + imm; xi[rd * 2] = v | 0; xi[rd * 2 + 1] = (Math.floor(v / 4294967296) + this.pcHi) | 0; break; }
        case Op.JAL: { xi[rd * 2] = npc | 0; xi[rd * 2 + 1] = (Math.floor(npc / 4294967296) + this.pcHi) | 0; npc = pc + imm; break; }
        case Op.JALR: { const c = xi[rs1 * 2 + 1]!; let t = c * 4294967296 + (xi[rs1 * 2]! >>> 0) + imm; t -= t - Math.floor(t / 2) * 2; const l = c > 0x1fffff || c < -0x200000 || this.pcHi !== 0; const v = l ? (x[rs1]! + dImm64[de >> 1]!) & -2n : 0n; xi[rd * 2] = npc | 0; xi[rd * 2 + 1] = (Math.floor(npc / 4294967296) + this.pcHi) | 0; npc = l ? this.pcFromBig(v) + 0 : t; break; }
        case Op.BEQ: if (xi[rs1 * 2]! === xi[rs2 * 2]! && xi[rs1 * 2 + 1]! === xi[rs2 * 2 + 1]!) npc = pc + imm; break;
        case Op.BNE: if (xi[rs1 * 2]! !== xi[rs2 * 2]! || xi[rs1 * 2 + 1]! !== xi[rs2 * 2 + 1]!) npc = pc + imm; break;
        case Op.BLT: { const a = xi[rs1 * 2 + 1]!, c = xi[rs2 * 2 + 1]!; if (a < c || (a === c && (xi[rs1 * 2]! >>> 0) < (xi[rs2 * 2]! >>> 0))) npc = pc + imm; break; }
        case Op.BGE: { const a = xi[rs1 * 2 + 1]!, c = xi[rs2 * 2 + 1]!; if (!(a < c || (a === c && (xi[rs1 * 2]! >>> 0) < (xi[rs2 * 2]! >>> 0)))) npc = pc + imm; break; }
        case Op.BLTU: { const a = xi[rs1 * 2 + 1]! >>> 0, c = xi[rs2 * 2 + 1]! >>> 0; if (a < c || (a === c && (xi[rs1 * 2]! >>> 0) < (xi[rs2 * 2]! >>> 0))) npc = pc + imm; break; }
        case Op.BGEU: { const a = xi[rs1 * 2 + 1]! >>> 0, c = xi[rs2 * 2 + 1]! >>> 0; if (!(a < c || (a === c && (xi[rs1 * 2]! >>> 0) < (xi[rs2 * 2]! >>> 0)))) npc = pc + imm; break; }
        case Op.LB: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4095 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 1); const v = dv.getInt8(o); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.LH: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4094 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 2); const v = dv.getInt16(o, true); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.LW: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4092 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 4); const v = dv.getInt32(o, true); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.LD: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4088 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 8); xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = dv.getInt32(o + 4, true); break; }
        case Op.LBU: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4095 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 1); xi[rd * 2] = dv.getUint8(o); xi[rd * 2 + 1] = 0; break; }
        case Op.LHU: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4094 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 2); xi[rd * 2] = dv.getUint16(o, true); xi[rd * 2 + 1] = 0; break; }
        case Op.LWU: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = tl[i] === (lo & -4096) && tl[i + 1] === hi && (lo & 4095) <= 4092 ? tl[i + 2]! + (lo & 4095) : this.loadSlow(lo, hi, 4); xi[rd * 2] = dv.getInt32(o, true); xi[rd * 2 + 1] = 0; break; }
        case Op.SB: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4095 ? ts[i + 2]! + (lo & 4095) : this.storeXMiss(lo, hi, 1, rs2); if (o >= 0) { dv.setInt8(o, xi[rs2 * 2]!); } break; }
        case Op.SH: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4094 ? ts[i + 2]! + (lo & 4095) : this.storeXMiss(lo, hi, 2, rs2); if (o >= 0) { dv.setInt16(o, xi[rs2 * 2]!, true); } break; }
        case Op.SW: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4092 ? ts[i + 2]! + (lo & 4095) : this.storeXMiss(lo, hi, 4, rs2); if (o >= 0) { dv.setInt32(o, xi[rs2 * 2]!, true); } break; }
        case Op.SD: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4088 ? ts[i + 2]! + (lo & 4095) : this.storeXMiss(lo, hi, 8, rs2); if (o >= 0) { dv.setInt32(o, xi[rs2 * 2]!, true); dv.setInt32(o + 4, xi[rs2 * 2 + 1]!, true); } break; }
        case Op.ADDI: x[rd] = x[rs1]! + dImm64[de >> 1]!; break;
        case Op.XORI: x[rd] = x[rs1]! ^ dImm64[de >> 1]!; break;
        case Op.ORI: x[rd] = x[rs1]! | dImm64[de >> 1]!; break;
        case Op.ANDI: x[rd] = x[rs1]! & dImm64[de >> 1]!; break;
        case Op.SLLI: { const l = xi[rs1 * 2]!, h = xi[rs1 * 2 + 1]!; if (imm < 32) { xi[rd * 2 + 1] = imm === 0 ? h : (h << imm) | (l >>> (32 - imm)); xi[rd * 2] = l << imm; } else { xi[rd * 2 + 1] = l << (imm - 32); xi[rd * 2] = 0; } break; }
        case Op.SRLI: { const l = xi[rs1 * 2]!, h = xi[rs1 * 2 + 1]!; if (imm < 32) { xi[rd * 2] = imm === 0 ? l : (l >>> imm) | (h << (32 - imm)); xi[rd * 2 + 1] = h >>> imm; } else { xi[rd * 2] = h >>> (imm - 32); xi[rd * 2 + 1] = 0; } break; }
        case Op.SRAI: { const l = xi[rs1 * 2]!, h = xi[rs1 * 2 + 1]!; if (imm < 32) { xi[rd * 2] = imm === 0 ? l : (l >>> imm) | (h << (32 - imm)); xi[rd * 2 + 1] = h >> imm; } else { xi[rd * 2] = h >> (imm - 32); xi[rd * 2 + 1] = h >> 31; } break; }
        case Op.ADD: x[rd] = x[rs1]! + x[rs2]!; break;
        case Op.SUB: x[rd] = x[rs1]! - x[rs2]!; break;
        case Op.SLTU: { const a = xi[rs1 * 2 + 1]! >>> 0, c = xi[rs2 * 2 + 1]! >>> 0; xi[rd * 2] = a < c || (a === c && (xi[rs1 * 2]! >>> 0) < (xi[rs2 * 2]! >>> 0)) ? 1 : 0; xi[rd * 2 + 1] = 0; break; }
        case Op.XOR: x[rd] = x[rs1]! ^ x[rs2]!; break;
        case Op.OR: x[rd] = x[rs1]! | x[rs2]!; break;
        case Op.AND: x[rd] = x[rs1]! & x[rs2]!; break;
        case Op.ADDIW: { const v = (xi[rs1 * 2]! + imm) | 0; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.SLLIW: { const v = xi[rs1 * 2]! << imm; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.SRLIW: { const v = xi[rs1 * 2]! >>> imm | 0; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.ADDW: { const v = (xi[rs1 * 2]! + xi[rs2 * 2]!) | 0; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.SUBW: { const v = (xi[rs1 * 2]! - xi[rs2 * 2]!) | 0; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.FENCE: break;
        // ---- END GENERATED ----
        default:
          // Rare integer ops live in execAlu (generated from the instruction table), so that
          // their first execution (type feedback V8 has not seen yet) deoptimizes that small
          // function, not this loop.
          if (opClass[op] === Cls.ALU) {
            execAlu(x, xi, op, rd, rs1, rs2, imm);
            break;
          }
          // No doubles cross this call (they would be boxed): a jump sets this.jumped + this.pc.
          this.execSystem(op, dIns[s]!, raw, rd, rs1, rs2, imm);
          if (this.jumped) {
            this.jumped = false;
            entry = true;
            if (this.excNow) {
              // As run() does for a thrown Trap: the step counts, the instruction does not retire.
              this.excNow = false;
              this.attempted++;
              this.notRetired++;
              this.takeException();
              po = -1;
              inc = 1;
              continue;
            }
            npc = this.pc;
          }
      }
      this.pc = npc;
      // (Predicted branches: only po's integer addition stays on the chain. A taken branch or
      // jal went to pc + imm: po + imm, recomputed at the top when that leaves the page.)
      po = npc === seq ? po + len : PC_RELATIVE[op] === 1 ? po + imm : -1;
      // A backward branch or jump taken: its target (a loop's head, most likely) counts
      // Jit.loopWeight entries towards the threshold (nothing to weigh without a weight: the
      // interpreter-only and block tiers skip it).
      if (entry && loopW !== 1) inc = npc !== seq && imm < 0 && PC_RELATIVE[op] === 1 ? loopW : 1;
      this.attempted++;
    }
  }

  /** Less-common instructions: system, CSR, atomics, FP. Returns the next pc. */
  /**
   * raise() without the throw, for an exception execSystem detects itself: the loop takes it
   * right after execSystem returns (`excNow`), exactly as run() takes a thrown Trap.
   */
  private exceptionNow(cause: number, tval: bigint): void {
    this.exc.set(cause, tval, 0n, 0n, false);
    this.excNow = true;
    this.jumped = true;
  }
  /** Set by exceptionNow: the instruction raised `exc`; the loop enters the trap. */
  private excNow = false;
  /** Set by execSystem when it changed pc (mret/sret, or an exception taken by exceptionNow). */
  private jumped = false;

  /** The old value's words (csrWords). */
  private readonly csrOld = new Int32Array(2);
  /**
   * A CSR instruction on a CSR with number forms (CsrDef.readWords / writeWords), without an
   * observer: what the BigInt path below does (the same access checks in the same order, the
   * same reads and writes), with int32 words.
   */
  private csrWords(d: CsrDef, csr: number, op: number, raw: number, rd: number, rs1: number): void {
    const kind = OP_ARG[op]!;
    const xi = this.xi;
    const uimm = (OP_FLAGS[op]! & F_UIMM) !== 0;
    const srcLo = uimm ? rs1 : xi[rs1 * 2]!, srcHi = uimm ? 0 : xi[rs1 * 2 + 1]!;
    // csrrw with rd = x0 does not read; csrrs/c with rs1 / uimm = 0 do not write (§9.1).
    const reads = kind !== CsrOp.RW || rd !== X_SINK;
    const writes = kind === CsrOp.RW || rs1 !== 0;
    if (reads) {
      const a = csrAccess(this, csr, d, false);
      if (a !== CSR_OK) this.csrFault(a, raw);
    }
    const old = this.csrOld;
    if (reads) d.readWords!(this, old);
    if (writes) {
      const a = csrAccess(this, csr, d, true);
      if (a !== CSR_OK) this.csrFault(a, raw);
      if (d.writeWords === undefined) this.illegal(raw);
      if (kind === CsrOp.RW) d.writeWords(this, srcLo, srcHi);
      else if (kind === CsrOp.RS) d.writeWords(this, old[0]! | srcLo, old[1]! | srcHi);
      else d.writeWords(this, old[0]! & ~srcLo, old[1]! & ~srcHi);
    }
    if (reads) {
      xi[rd * 2] = old[0]!;
      xi[rd * 2 + 1] = old[1]!;
    }
  }

  private execSystem(op: number, ins: number, raw: number, rd: number, rs1: number, rs2: number, imm: number): void {
    const x = this.x, xi = this.xi;
    switch (op) {
      // The exceptions an instruction raises by itself are taken without a host throw
      // (exceptionNow): a throw costs ~10 µs here, so a handler whose first instruction traps
      // ran at ~90k traps/s (issue 12).
      case Op.ILLEGAL: return this.exceptionNow(C.CAUSE_ILLEGAL_INSTRUCTION, BigInt(raw >>> 0));
      case Op.ECALL:
        // From VS-mode the cause is 10; from VU-mode it is 8 like U (§8.6.?).
        return this.exceptionNow(this.priv === C.PRV_U ? C.CAUSE_USER_ECALL : this.priv === C.PRV_S
          ? (this.virt ? C.CAUSE_VIRTUAL_SUPERVISOR_ECALL : C.CAUSE_SUPERVISOR_ECALL) : C.CAUSE_MACHINE_ECALL, 0n);
      // xtval for a breakpoint may be 0 or the pc (§3.1.16): 0, as QEMU 7.2.
      case Op.EBREAK: return this.exceptionNow(C.CAUSE_BREAKPOINT, 0n);
      case Op.MRET:
        if (this.priv !== C.PRV_M) this.illegal(raw);
        this.doMret();
        this.jumped = true;
        return;
      case Op.SRET:
        // TSR=1 makes sret illegal in HS-mode (§3.1.6.5); in VS-mode hstatus.VTSR makes it a
        // virtual-instruction exception, and in VU-mode it always is one (§8.6.1).
        if (this.virt) {
          if (this.priv === C.PRV_U || (this.hstatus & C.HSTATUS_VTSR) !== 0) this.virtualInsn(raw);
        } else if (this.priv === C.PRV_U || (this.priv === C.PRV_S && (this.mstatus & C.MSTATUS_TSR) !== 0)) {
          this.illegal(raw);
        }
        this.doSret();
        this.jumped = true;
        return;
      case Op.WFI:
        // U-mode WFI is illegal; S-mode WFI with TW=1 is illegal (§3.1.6.5). mstatus.TW applies
        // to VS/VU too; otherwise VU-mode WFI, or VS-mode WFI with hstatus.VTW, is a virtual
        // instruction (§8.6.1).
        if (this.priv !== C.PRV_M && (this.mstatus & C.MSTATUS_TW) !== 0) this.illegal(raw);
        if (this.virt) {
          if (this.priv === C.PRV_U || (this.hstatus & C.HSTATUS_VTW) !== 0) this.virtualInsn(raw);
        } else if (this.priv === C.PRV_U) {
          this.illegal(raw);
        }
        if (!this.wakeable()) {
          this.runState = HartState.Wfi;
          this.attention = true;
        }
        return;
      case Op.SFENCE_W_INVAL: case Op.SFENCE_INVAL_IR:
        // Svinval: they only order the invalidations between them (nothing to order with one
        // TLB). Not trapped by TVM/VTVM; illegal in U-mode, virtual instruction in VU-mode.
        if (this.priv === C.PRV_U) {
          if (this.virt) this.virtualInsn(raw);
          this.illegal(raw);
        }
        return;
      case Op.SFENCE_VMA: case Op.SINVAL_VMA:
        // mstatus.TVM governs HS-mode; hstatus.VTVM VS-mode; VU-mode: virtual instruction.
        // SINVAL.VMA has SFENCE.VMA's permissions (Svinval).
        if (this.virt) {
          if (this.priv === C.PRV_U || (this.hstatus & C.HSTATUS_VTVM) !== 0) this.virtualInsn(raw);
        } else if (this.priv === C.PRV_U || (this.priv === C.PRV_S && (this.mstatus & C.MSTATUS_TVM) !== 0)) {
          this.illegal(raw);
        }
        this.flushTlb();
        return;
      case Op.HFENCE_VVMA: case Op.HFENCE_GVMA: case Op.HINVAL_VVMA: case Op.HINVAL_GVMA: {
        // Hypervisor fences: virtual instruction in VS/VU, illegal in U; HFENCE.GVMA is illegal
        // in HS-mode with mstatus.TVM = 1 (§8.3.2). HINVAL.* have the HFENCE.* permissions (Svinval).
        const gvma = op === Op.HFENCE_GVMA || op === Op.HINVAL_GVMA;
        if (this.virt) this.virtualInsn(raw);
        if (this.priv === C.PRV_U) this.illegal(raw);
        if (gvma && this.priv === C.PRV_S && (this.mstatus & C.MSTATUS_TVM) !== 0) this.illegal(raw);
        this.flushTlb();
        if (gvma) this.flushGTlb();
        return;
      }
      case Op.HLV_B: case Op.HLV_BU: case Op.HLV_H: case Op.HLV_HU: case Op.HLVX_HU: case Op.HLV_W:
      case Op.HLV_WU: case Op.HLVX_WU: case Op.HLV_D: case Op.HSV_B: case Op.HSV_H: case Op.HSV_W: case Op.HSV_D:
        this.execHlv(op, raw, rd, rs1, rs2);
        return;
      case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI: {
        const csr = imm;
        const dw = CSR_TABLE[csr];
        if (dw !== undefined && dw.readWords !== undefined && this.obs === null) {
          this.csrWords(dw, csr, op, raw, rd, rs1);
        } else {
          const src = (OP_FLAGS[op]! & F_UIMM) !== 0 ? BigInt(rs1) : BigInt.asUintN(64, x[rs1]!);
          const kind = OP_ARG[op]!;
          // csrrw with rd=x0 does not read; csrrs/c with rs1/uimm = 0 do not write (§9.1).
          if (kind === CsrOp.RW) {
            if (rd !== X_SINK) {
              const old = this.csrRead(csr, raw);
              this.csrWrite(csr, src, raw);
              x[rd] = BigInt.asIntN(64, old);
            } else {
              this.csrWrite(csr, src, raw);
            }
          } else {
            const old = this.csrRead(csr, raw);
            if (rs1 !== 0) {
              // mip.SEIP: the read-modify-write sees only the software-writable bit (§3.1.9).
              const base = csr === C.CSR.mip ? (old & ~BigInt(C.MIP_SEIP)) | BigInt(this.mipSw & C.MIP_SEIP) : old;
              this.csrWrite(csr, kind === CsrOp.RS ? base | src : base & ~src, raw);
            }
            x[rd] = BigInt.asIntN(64, old);
          }
        }
        // CSR writes can change interrupts, translation, counters: re-check before the next insn.
        this.attention = true;
        this.fetchVa = NaN;
        return;
      }
      case Op.LR_W: case Op.LR_D: {
        const size = OP_SIZE[op]!;
        const o = this.atomicOff(xi[rs1 * 2]!, xi[rs1 * 2 + 1]!, size, ACC_LOAD);
        if (size === 4) setI32(xi, rd, this.bus.dv.getInt32(o, true));
        else { xi[rd * 2] = this.bus.dv.getInt32(o, true); xi[rd * 2 + 1] = this.bus.dv.getInt32(o + 4, true); }
        this.bus.resv.reserve(this, this.offToPa(o));
        return;
      }
      case Op.SC_W: case Op.SC_D: {
        const size = OP_SIZE[op]!;
        const o = this.atomicOff(xi[rs1 * 2]!, xi[rs1 * 2 + 1]!, size, ACC_STORE);
        if (this.resvAddr === this.offToPa(o)) {
          if (size === 4) this.bus.dv.setInt32(o, xi[rs2 * 2]!, true);
          else { this.bus.dv.setInt32(o, xi[rs2 * 2]!, true); this.bus.dv.setInt32(o + 4, xi[rs2 * 2 + 1]!, true); }
          x[rd] = 0n;
        } else {
          x[rd] = 1n;
        }
        this.bus.resv.release(this);
        return;
      }
      case Op.FENCE_I: this.fetchVa = NaN; return;
      case Op.CBO_CLEAN: case Op.CBO_FLUSH: case Op.CBO_INVAL: case Op.CBO_ZERO:
        this.execCbo(op, raw, rs1);
        return;
      default:
        if (OP_CLASS[op] === Cls.AMO) {
          this.execAmo(op, rd, rs1, rs2);
          return;
        }
        if (OP_CLASS[op] === Cls.FP) {
          execFp(this, op, ins, raw, rd, rs1, rs2, imm);
          return;
        }
        this.illegal(raw);
    }
  }

  /**
   * Zicbom/Zicboz cache-block operations (CMO spec v1.0.1, §2.5.2-2.5.3 and the instruction
   * pages). Enabled per mode by xenvcfg: CBCFE for clean/flush, CBIE for inval (01: it
   * executes as a flush, 11: as an invalidate), CBZE for zero. Below M with menvcfg's field off:
   * illegal instruction; in U with senvcfg's off: illegal; with V = 1 and henvcfg's off, or in
   * VU with senvcfg's off: virtual instruction. There are no caches, so clean/flush/inval only
   * check that a load or store may reach the block (else a store fault, as the spec says);
   * cbo.zero stores 64 zero bytes to the aligned block. Faults report the block's address.
   */
  private execCbo(op: number, raw: number, rs1: number): void {
    const field = op === Op.CBO_ZERO ? C.ENVCFG_CBZE : op === Op.CBO_INVAL ? C.ENVCFG_CBIE : C.ENVCFG_CBCFE;
    // CBIE 10 is reserved (its CSR writes are legalized to 00): any non-zero value enables.
    const on = (envcfg: bigint): boolean => (envcfg & field) !== 0n;
    if (this.priv !== C.PRV_M && !on(this.menvcfg)) this.illegal(raw);
    if (!this.virt && this.priv === C.PRV_U && !on(this.senvcfg)) this.illegal(raw);
    if (this.virt && (!on(this.henvcfg) || (this.priv === C.PRV_U && !on(this.senvcfg)))) this.virtualInsn(raw);
    // The block containing x[rs1] (CBO_BLOCK is a power of two, so only the low word changes).
    const lo = this.xi[rs1 * 2]! & -CBO_BLOCK, hi = this.xi[rs1 * 2 + 1]!;
    // Sdtrig "Cache Operations": they match as stores the size-"any" triggers whose address
    // lies in the block (trigger.ts; trigger addresses are numbers, exact within ±2^53).
    if ((this.trigArmed & TRIG_STORE) !== 0 && this.trig.matchBlock(hi * TWO32 + (lo >>> 0), CBO_BLOCK, modeBit(this.priv, this.virt))) {
      this.raiseAddr(C.CAUSE_BREAKPOINT, ACC_STORE, BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0)));
    }
    if (op === Op.CBO_ZERO) {
      const o = this.resolve(lo, hi, CBO_BLOCK, ACC_STORE);
      if (o >= 0) {
        for (let k = 0; k < CBO_BLOCK; k += 4) this.dv.setInt32(o + k, 0, true);
      } else {
        for (let k = 0; k < CBO_BLOCK; k += 8) this.mmioWrite(this.mmioPa + k, 8, 0n, lo + k, hi);
      }
      return;
    }
    try {
      this.resolve(lo, hi, CBO_BLOCK, ACC_LOAD);
    } catch (e) {
      if (e !== this.exc) throw e;
      // Not even readable: the fault is reported as the store form of the same fault.
      const c = this.exc.cause;
      this.exc.cause = c === C.CAUSE_LOAD_PAGE_FAULT ? C.CAUSE_STORE_PAGE_FAULT
        : c === C.CAUSE_LOAD_GUEST_PAGE_FAULT ? C.CAUSE_STORE_GUEST_PAGE_FAULT
          : c === C.CAUSE_LOAD_ACCESS ? C.CAUSE_STORE_ACCESS : c;
      throw e;
    }
  }


  /**
   * HLV/HLVX/HSV (§8.3.1): loads and stores as VS/VU (hstatus.SPVP) with two-stage translation,
   * from M, HS, or U with hstatus.HU; virtual instruction in VS/VU.
   */
  private execHlv(op: number, raw: number, rd: number, rs1: number, rs2: number): void {
    if (this.virt) this.virtualInsn(raw);
    if (this.priv === C.PRV_U && (this.hstatus & C.HSTATUS_HU) === 0) this.illegal(raw);
    const flags = OP_FLAGS[op]!, size = OP_SIZE[op]!;
    const store = (flags & F_STORE) !== 0;
    const lo = this.xi[rs1 * 2]!, hi = this.xi[rs1 * 2 + 1]!;
    this.hlv = (flags & F_HLVX) !== 0 ? 2 : 1;
    try {
      const kind = store ? TRIG_STORE : TRIG_LOAD;
      if ((this.trigArmed & kind) !== 0) this.trigAccess(lo, hi, size, kind, store ? ACC_STORE : ACC_LOAD);
      if (store) {
        this.storeSlow(lo, hi, size, this.getX(rs2));
        return;
      }
      const v = this.hypLoad(lo, hi, size);
      this.x[rd] = (flags & F_SIGNED) !== 0 ? BigInt.asIntN(size * 8, v) : BigInt.asIntN(64, v);
    } finally {
      this.hlv = 0;
    }
  }
  /** A load at (lo, hi) in the current (HLV) context, bypassing the TLB. Faults throw the Trap. */
  private hypLoad(lo: number, hi: number, size: number): bigint {
    if ((lo & 4095) + size > 4096) return this.loadCrossing(lo, hi, size);
    const o = this.resolve(lo, hi, size, ACC_LOAD);
    if (o < 0) return this.mmioRead(this.mmioPa, size, lo, hi);
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.dv.getUint8(o + k));
    return v;
  }

  /**
   * Guest-virtual memory as HLV/HLVX/HSV see it (two-stage, hstatus.SPVP privilege), for native
   * hypervisor code: the value, or null on a fault (cause and tval in `exc`; no trap
   * is taken).
   */
  guestLoad(va: bigint, size: 1 | 2 | 4 | 8, exec: boolean): bigint | null {
    this.hlv = exec ? 2 : 1;
    try {
      return this.hypLoad(Number(BigInt.asIntN(32, va)), Number(BigInt.asIntN(32, va >> 32n)), size);
    } catch (e) {
      if (e !== this.exc) throw e;
      return null;
    } finally {
      this.hlv = 0;
    }
  }
  /** HSV for native hypervisor code: false on a fault (see guestLoad). */
  guestStore(va: bigint, size: 1 | 2 | 4 | 8, value: bigint): boolean {
    this.hlv = 1;
    try {
      this.storeSlow(Number(BigInt.asIntN(32, va)), Number(BigInt.asIntN(32, va >> 32n)), size, BigInt.asUintN(size * 8, value));
      return true;
    } catch (e) {
      if (e !== this.exc) throw e;
      return false;
    } finally {
      this.hlv = 0;
    }
  }

  private execAmo(op: number, rd: number, rs1: number, rs2: number): void {
    const xi = this.xi, x = this.x, dv = this.bus.dv;
    const isW = OP_SIZE[op] === 4;
    this.amoAccess = true;
    let o: number;
    try {
      o = this.atomicOff(xi[rs1 * 2]!, xi[rs1 * 2 + 1]!, isW ? 4 : 8, ACC_STORE);
    } finally {
      this.amoAccess = false;
    }
    const k = OP_ARG[op]!;
    if (isW) {
      const old = dv.getInt32(o, true);
      const b = xi[rs2 * 2]!;
      let n: number;
      switch (k) {
        case Amo.SWAP: n = b; break;
        case Amo.ADD: n = (old + b) | 0; break;
        case Amo.XOR: n = old ^ b; break;
        case Amo.AND: n = old & b; break;
        case Amo.OR: n = old | b; break;
        case Amo.MIN: n = old < b ? old : b; break;
        case Amo.MAX: n = old > b ? old : b; break;
        case Amo.MINU: n = (old >>> 0) < (b >>> 0) ? old : b; break;
        default: n = (old >>> 0) > (b >>> 0) ? old : b; break; // Amo.MAXU
      }
      dv.setInt32(o, n, true);
      setI32(xi, rd, old);
    } else {
      const old = dv.getBigInt64(o, true);
      const b = x[rs2]!;
      let n: bigint;
      switch (k) {
        case Amo.SWAP: n = b; break;
        case Amo.ADD: n = old + b; break;
        case Amo.XOR: n = old ^ b; break;
        case Amo.AND: n = old & b; break;
        case Amo.OR: n = old | b; break;
        case Amo.MIN: n = old < b ? old : b; break;
        case Amo.MAX: n = old > b ? old : b; break;
        case Amo.MINU: n = BigInt.asUintN(64, old) < BigInt.asUintN(64, b) ? old : b; break;
        default: n = BigInt.asUintN(64, old) > BigInt.asUintN(64, b) ? old : b; break; // Amo.MAXU
      }
      dv.setBigInt64(o, BigInt.asIntN(64, n), true);
      x[rd] = old;
    }
  }
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------


/** Write a sign-extended 32-bit result. */
function setI32(xi: Int32Array, rd: number, v: number): void {
  xi[rd * 2] = v;
  xi[rd * 2 + 1] = v >> 31;
}

/** Cache-block size of Zicbom/Zicboz (riscv,cbom-block-size / riscv,cboz-block-size in the DTB). */
export const CBO_BLOCK = 64;

/** Bits 63:32 of x[rs1] + imm, given the low word `lo` of the sum (carry from the low words). */
export function eaHi(xi: Int32Array, rs1: number, imm: number, lo: number): number {
  return (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (xi[rs1 * 2]! >>> 0) ? 1 : 0)) | 0;
}
