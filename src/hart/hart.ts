/**
 * One RV64GC hart: register file, privilege, traps and interrupts, memory access through the
 * MMU/TLB, and the interpreter loop.
 *
 * Representation (see DESIGN.md §5):
 *  - x registers live in a BigInt64Array (64-bit arithmetic) with an Int32Array view of the same
 *    bytes for loads, stores, addresses and W-ops (no bigint <-> number conversion on those).
 *    Index 32 is a sink for writes to x0, so no instruction has to test rd != 0.
 *  - pc is a JS number holding the signed 64-bit value: exact for every address that can be
 *    fetched (|pc| < 2^53); a jump further away faults before it becomes the pc.
 *  - All guest state sits in the board's WebAssembly.Memory (Bus), registers and TLBs included.
 *
 * Faults inside an instruction are raised by throwing the TRAP sentinel after recording the
 * cause/tval; the run loop catches it and enters the trap. Nothing a guest does throws
 * anything else.
 */
import { ROM_BASE, type Bus } from '../mem/bus.js';
import type { MmioDevice } from '../mem/device.js';
import { DecodeCache, DC_MASK, Op, X_SINK, OP_CLASS, OP_FLAGS } from '../isa/decode.js';
import { Cls, F_CTRL } from '../isa/insns.js';
import { execAlu } from './exec-alu.gen.js';
import * as C from './constants.js';
import { Pmp, PMP_R, PMP_W, PMP_X } from './pmp.js';
import type { HartObserver, CsrWriter } from './observer.js';
import { CSR_TABLE, csrAccess, CSR_OK, CSR_VIRTUAL } from './csr.js';
import { execFp } from './fpu.js';
import type { Jit } from './jit.js';

/** A hart's state as plain data (checkpoints). */
export interface HartSnapshot {
  x: bigint[]; f: bigint[]; pc: bigint; priv: number; state: number;
  steps: number; notRetired: number; vtimeOffset: number; instretAdj: bigint; cycleAdj: bigint;
  mstatus: number; medeleg: number; mideleg: number; mie: number; mipSw: number; mipHw: number;
  mtvec: bigint; stvec: bigint; mepc: bigint; sepc: bigint; mcause: bigint; scause: bigint;
  mtval: bigint; stval: bigint; mscratch: bigint; sscratch: bigint;
  mcounteren: number; scounteren: number; mcountinhibit: number;
  menvcfg: bigint; senvcfg: bigint; satp: bigint; stimecmp: bigint;
  fflags: number; frm: number; pmp: { cfg: number[]; addr: bigint[] }; resvAddr: number;
  /** Hypervisor-extension state (absent in checkpoints of harts that never used it). */
  hyp?: HypSnapshot;
}
export interface HypSnapshot {
  virt: boolean; mstatusH: number; hstatus: number; hedeleg: number; hideleg: number; hvip: number;
  hcounteren: number; htimedelta: bigint; htval: bigint; htinst: bigint; hgatp: bigint; henvcfg: bigint;
  mtval2: bigint; mtinst: bigint; vstimecmp: bigint;
  other: { status: number; stvec: bigint; sscratch: bigint; sepc: bigint; scause: bigint; stval: bigint; satp: bigint };
}

/** Sentinel thrown to abandon the current instruction; the cause is in hart.excCause. */
export const TRAP: { readonly trap: true } = Object.freeze({ trap: true });

export const enum HartState {
  Running = 0,
  /** Parked in WFI until an interrupt is pending (mip & mie != 0). */
  Wfi = 1,
  /** HSM STOPPED (never started, or hart_stop). */
  Stopped = 2,
}

/** Memory access kinds (also the TLB index). */
export const ACC_FETCH = 0;
export const ACC_LOAD = 1;
export const ACC_STORE = 2;

const TLB_BITS = 8;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;
/**
 * PTEs a translation may read: the VS stage of Sv48 under Sv48x4 reads 4 VS PTEs, each after a
 * 4-level G-stage walk of its address, then walks the final GPA: 4 * (4 + 1) + 4.
 */
const WL_MAX = 24;
/** Shadow TLB entry: page VA lo/hi, buffer offset, context key, root page, PMP version, G-stage
 * root page, walk log (1 + 3 * WL_MAX). */
const SH_W = 7 + 1 + 3 * WL_MAX;
const SH_LOG = 7;
const TWO32 = 4294967296;
/** pc sentinel for jump targets beyond ±2^53 (see setPc). */
const WILD = 2 ** 53;
/** TLB "hi word" of an empty entry: no reachable address has bits 63:32 equal to this. */
const TLB_EMPTY = 0x7fffffff;
/**
 * Interrupts taken at one instruction boundary before an instruction must run regardless (see
 * serviceAttention). Architected nesting needs at most 3 (VS -> HS -> M), plus native handlers.
 */
const MAX_IRQS_PER_BOUNDARY = 8;
/** xcause values by code (exceptions; interrupts with bit 63): no BigInt built per trap. */
const EXC_CAUSE_BIG = Array.from({ length: 64 }, (_, c) => BigInt(c));
const IRQ_CAUSE_BIG = Array.from({ length: 64 }, (_, c) => (1n << 63n) | BigInt(c));
/** Entries of the G-stage translation cache (a power of two). */
const GTLB_SIZE = 1024;

/** Entries of Hart.breakFilter (a power of two): pc bits 14:1 select the entry. */
export const BREAK_FILTER_SIZE = 16384;
/** The entry of Hart.breakFilter for pc. */
export function breakSlot(pc: number): number {
  return (pc >>> 1) & (BREAK_FILTER_SIZE - 1);
}
let breakStamps = 0;

/** Watchpoint hooks (see Hart.watch). `va` is the access's virtual address as a number. */
export interface WatchHook {
  /** Whether accesses of kind `acc` (ACC_LOAD / ACC_STORE) to the page of `va` must miss the TLB. */
  page(h: Hart, va: number, acc: number): boolean;
  /** An access of `size` bytes at `va` of kind `acc` passed translation and PMP; it completes
   * unless a later part of the same instruction faults. Must not change machine state. */
  access(h: Hart, va: number, size: number, acc: number): void;
}

/** Native M-mode firmware hook: called after a trap into M-mode was entered. */
export type MTrapHandler = (h: Hart, cause: number, interrupt: boolean) => void;

/**
 * Native HS-mode software (the built-in hypervisor): takes the place of code at `stvec` while
 * the hart is in HS-mode (S with V = 0).
 */
export interface HsHandler {
  /**
   * A trap into HS-mode was entered architecturally (sepc/scause/stval/htval/htinst,
   * hstatus.SPV/SPVP/GVA, sstatus.SPP/SPIE set; V = 0). The handler must leave HS-mode
   * before returning, normally with `h.doSret()` (hstatus.SPV = 1 re-enters the guest), or
   * park the hart (WFI) at an idle address in HS-mode.
   */
  onTrap(h: Hart, cause: number, interrupt: boolean): void;
  /** The hart entered HS-mode from M-mode (firmware boot or HSM start) at `h.pc`. */
  onEnter(h: Hart): void;
}

/** What a hart needs from its board. */
export interface HartEnv {
  /** Current virtual mtime as seen by this hart. */
  mtime(h: Hart): bigint;
  /** A machine-level stop was requested (test device, SRST): harts leave their run loops. */
  readonly halted: boolean;
  /** Virtual time (instructions) of this hart's next timer deadline, or Infinity. */
  nextDeadline?(h: Hart): number;
}

export class Hart {
  readonly id: number;
  readonly bus: Bus;
  readonly dc: DecodeCache;
  env: HartEnv;

  // --- register file (views into the shared memory) ---
  readonly x: BigInt64Array;
  readonly xi: Int32Array;
  readonly f: Float64Array;
  readonly fi: Int32Array;
  readonly fb: BigInt64Array;
  pc = 0;

  // --- execution state ---
  state: HartState = HartState.Stopped;
  /** Checked before every instruction: set when interrupts must be re-evaluated or the loop must stop. */
  attention = true;
  /** Instructions attempted (retired + faulted). Drives virtual time. */
  steps = 0;
  /** steps - instret: instructions that trapped instead of retiring. */
  private notRetired = 0;
  /** Offset such that this hart's virtual time (in instructions) = steps + vtimeOffset. */
  vtimeOffset = 0;
  /** Offsets applied by writes to minstret/mcycle. */
  private instretAdj = 0n;
  private cycleAdj = 0n;

  // --- privilege and CSR state ---
  priv = C.PRV_M;
  /** The virtualization mode V (priv spec §8.1): true in VS- and VU-mode. */
  virt = false;
  /** mstatus bits 39:32 as a number: MPV (bit 39) and GVA (bit 38); UXL/SXL are composed on read. */
  mstatusH = 0;
  mstatus = 0; // low 32 bits; UXL/SXL and SD are composed on read
  misa: bigint;
  medeleg = 0;
  /** mideleg; the VS-level interrupts and SGEI are always delegated (read-only one). */
  mideleg = C.MIP_HS_MASK;
  mie = 0;
  /** mip bits written by software (SSIP, STIP, SEIP). */
  mipSw = 0;
  /** mip bits driven by hardware lines (MSIP, MTIP, MEIP, SEIP, and STIP from Sstc). */
  mipHw = 0;
  /** Effective mip = mipSw | mipHw | hvip. */
  mip = 0;
  mtvec = 0n;
  stvec = 0n;
  mepc = 0n;
  sepc = 0n;
  mcause = 0n;
  scause = 0n;
  mtval = 0n;
  stval = 0n;
  mscratch = 0n;
  sscratch = 0n;
  mcounteren = 0;
  scounteren = 0;
  mcountinhibit = 0;
  menvcfg = 0n;
  senvcfg = 0n;
  satp = 0n;
  stimecmp = 0xffffffffffffffffn;
  /** fcsr: frm (bits 7:5) and fflags (bits 4:0). */
  fflags = 0;
  frm = 0;
  readonly pmp = new Pmp();

  // --- hypervisor extension (priv spec chapter 8) ---
  /** hstatus low word (VSXL is composed on read). */
  hstatus = 0;
  hedeleg = 0;
  hideleg = 0;
  /** hvip: the VSSIP/VSTIP/VSEIP bits injected by the hypervisor. */
  hvip = 0;
  hcounteren = 0;
  htimedelta = 0n;
  htval = 0n;
  htinst = 0n;
  hgatp = 0n;
  henvcfg = 0n;
  mtval2 = 0n;
  mtinst = 0n;
  vstimecmp = 0xffffffffffffffffn;
  /**
   * The supervisor CSRs of the world not currently running. Like QEMU, the hart keeps the
   * live supervisor state in the ordinary fields (mstatus's S bits, stvec, sepc, …, satp):
   * HS's while V = 0 and the VS CSRs while V = 1 (§8.2: "when V=1 the VS CSRs substitute for
   * the supervisor CSRs"). Changing V swaps these with the live ones (swapSupervisor).
   */
  readonly other = { status: 0, stvec: 0n, sscratch: 0n, sepc: 0n, scause: 0n, stval: 0n, satp: 0n };
  /** G-stage (hgatp) mode 0 / 8 (Sv39x4) / 9 (Sv48x4), root address, VMID. */
  private hgatpMode = 0;
  private hgatpRoot = 0;

  // --- derived translation state (recomputed by updateTranslation) ---
  /** satp.MODE (0 bare, 8 Sv39, 9 Sv48). */
  private satpMode = 0;
  private satpRoot = 0;

  // --- TLBs, one per access kind, direct-mapped by VA bits 19:12. Entry k at 4k:
  //     [VA bits 31:12 (low word, page-aligned), VA bits 63:32, buffer offset of the page, 0].
  //     Lookups are pure int32 work (no doubles, no bigint). An empty entry has hi = EMPTY.
  private readonly tlb: Int32Array[];
  /** Shadow TLBs (see reinstate): SH_W int32 per slot, one array per access kind. */
  private readonly shadow: Int32Array[] = [new Int32Array(TLB_SIZE * SH_W).fill(-1), new Int32Array(TLB_SIZE * SH_W).fill(-1), new Int32Array(TLB_SIZE * SH_W).fill(-1)];
  /** PTEs read by the last translation, both stages: [count, (buffer offset, low word, high
   * word) x WL_MAX]; walkLogFull: it did not fit (the translation is then not kept). */
  private readonly walkLog = new Int32Array(1 + 3 * WL_MAX);
  private walkLogFull = false;
  /** Page-aligned VA of the current fetch page (NaN = none) and its buffer offset. */
  private fetchVa = NaN;
  private fetchOff = 0;
  /** Set by execSystem when it changed pc (mret/sret). */
  private jumped = false;
  /** Value produced by a load that went to a device or crossed a page. */
  slowVal = 0n;

  // --- LR/SC reservation (physical address, or -1) ---
  resvAddr = -1;

  // --- pending exception ---
  excCause = 0;
  excTval = 0n;

  obs: HartObserver | null = null;
  /**
   * Breakpoints (replay --to pc:ADDR, the gdb stub): null = none, the interpreter's only cost.
   * Otherwise, before executing an instruction whose pc is flagged (`breakFilter[breakSlot(pc)]`
   * non-zero; pending interrupts already taken), `onBreakPc` is called: it decides whether that
   * pc really is a breakpoint (the filter is a hash of the pc) and may throw to stop the run
   * there. Translated blocks that contain a flagged pc are not used. Filled with ones, it stops
   * before any instruction. Set between runs (the loop reads it once); after changing the
   * contents, bump `breakStamp` (Hart.nextBreakStamp()): translated blocks checked against the
   * old contents are looked at again.
   */
  breakFilter: Uint8Array | null = null;
  breakStamp = 0;
  onBreakPc: ((h: Hart) => void) | null = null;
  /** A new value for breakStamp (unique across harts). */
  static nextBreakStamp(): number {
    return ++breakStamps;
  }
  /**
   * Watchpoints (the gdb stub): null = none. Otherwise every load, store, AMO and HLV/HSV that
   * reaches `resolve` (after translation and PMP) is reported to `watch.access`, and pages for
   * which `watch.page` is true are kept out of the load and store TLBs so that every access to
   * them gets there. Set it, then flush the TLBs (flushTlb) so that no entry for a watched page
   * survives.
   */
  watch: WatchHook | null = null;
  /** Set while an AMO accesses memory (it reads as well as writes; for watchpoints). */
  amoAccess = false;
  /**
   * Code coverage by page (the gdb replay target skips stretches that never ran a breakpoint's
   * page): null = off. Called with pc / 4096 (rounded down) whenever execution enters a code
   * page other than the one it was on (and on every fetch from a page the fetch cache cannot
   * hold), which every instruction's page does at least once after a TLB flush.
   */
  onFetchPage: ((h: Hart, page: number) => void) | null = null;
  /** Block translation tier shared by the machine's harts (null = interpreter only). */
  jit: Jit | null = null;
  /** Native firmware for traps into M-mode (built-in SBI); null = jump to mtvec. */
  mTrapHandler: MTrapHandler | null = null;
  /** Native HS-mode software (built-in hypervisor); null = HS-mode runs code at stvec. */
  hsHandler: HsHandler | null = null;
  /** Set when the hart hit an unrecoverable condition (double fault); the machine stops. */
  fatal: string | null = null;

  private readonly dv: DataView;
  private readonly ramOffset: number;
  /** Buffer offset of 8 bytes in this hart's state area where slow loads leave their value (see ldo). */
  private readonly scratchOff: number;

  constructor(id: number, bus: Bus, dc: DecodeCache, env: HartEnv) {
    this.id = id;
    this.bus = bus;
    this.dc = dc;
    this.env = env;
    this.dv = bus.dv;
    this.ramOffset = bus.ramOffset;
    const base = bus.hartStateOffset(id);
    const buf = bus.buffer;
    this.x = new BigInt64Array(buf, base, 33);
    this.xi = new Int32Array(buf, base, 66);
    this.f = new Float64Array(buf, base + 512, 32);
    this.fi = new Int32Array(buf, base + 512, 64);
    this.fb = new BigInt64Array(buf, base + 512, 32);
    this.scratchOff = base + 1016;
    this.tlb = [];
    let o = base + 1024;
    for (let k = 0; k < 3; k++) {
      this.tlb.push(new Int32Array(buf, o, TLB_SIZE * 4));
      o += TLB_SIZE * 16;
    }
    // misa: MXL=2 (RV64), extensions A C D F H I M S U (priv spec §3.1.1).
    const ext = 'ACDFHIMSU';
    let m = 2n << 62n;
    for (const c of ext) m |= 1n << BigInt(c.charCodeAt(0) - 65);
    this.misa = m;
    this.flushTlb();
    bus.resv.register(this);
  }

  // ======================================================================
  // Counters
  // ======================================================================
  get instret(): number {
    return this.steps - this.notRetired;
  }
  minstretValue(): bigint {
    return BigInt.asUintN(64, BigInt(this.instret) + this.instretAdj);
  }
  mcycleValue(): bigint {
    return BigInt.asUintN(64, BigInt(this.steps) + this.cycleAdj);
  }
  setMinstret(v: bigint): void {
    this.instretAdj = v - BigInt(this.instret);
  }
  setMcycle(v: bigint): void {
    this.cycleAdj = v - BigInt(this.steps);
  }
  /** Virtual time of this hart in instructions. */
  vtime(): number {
    return this.steps + this.vtimeOffset;
  }

  // ======================================================================
  // Helpers for translated blocks (jit.ts)
  // ======================================================================
  pcFromBig(v: bigint): number {
    const n = pcNumber(BigInt.asIntN(64, v));
    if (n === WILD || n === -WILD) this.wildPc = BigInt.asUintN(64, v);
    return n;
  }
  /** Drop store-TLB entries that map buffer page `page` (it now holds translated code). */
  forgetStorePage(page: number): void {
    const t = this.tlb[ACC_STORE]!;
    for (let k = 0; k < t.length; k += 4) if ((t[k + 2]! >>> 12) === page) t[k + 1] = TLB_EMPTY;
  }

  // ======================================================================
  // Checkpoints
  // ======================================================================
  /** Everything architectural and scheduling-related about this hart, as plain data. */
  saveState(): HartSnapshot {
    return {
      x: Array.from(this.x.subarray(0, 32), (v) => BigInt.asUintN(64, v)),
      f: Array.from(this.fb, (v) => BigInt.asUintN(64, v)),
      pc: this.getPc(), priv: this.priv, state: this.state,
      steps: this.steps, notRetired: this.notRetired, vtimeOffset: this.vtimeOffset,
      instretAdj: this.instretAdj, cycleAdj: this.cycleAdj,
      mstatus: this.mstatus, medeleg: this.medeleg, mideleg: this.mideleg, mie: this.mie,
      mipSw: this.mipSw, mipHw: this.mipHw,
      mtvec: this.mtvec, stvec: this.stvec, mepc: this.mepc, sepc: this.sepc, mcause: this.mcause,
      scause: this.scause, mtval: this.mtval, stval: this.stval, mscratch: this.mscratch, sscratch: this.sscratch,
      mcounteren: this.mcounteren, scounteren: this.scounteren, mcountinhibit: this.mcountinhibit,
      menvcfg: this.menvcfg, senvcfg: this.senvcfg, satp: this.satp, stimecmp: this.stimecmp,
      fflags: this.fflags, frm: this.frm, pmp: this.pmp.saveState(), resvAddr: this.resvAddr,
      hyp: {
        virt: this.virt, mstatusH: this.mstatusH, hstatus: this.hstatus, hedeleg: this.hedeleg,
        hideleg: this.hideleg, hvip: this.hvip, hcounteren: this.hcounteren, htimedelta: this.htimedelta,
        htval: this.htval, htinst: this.htinst, hgatp: this.hgatp, henvcfg: this.henvcfg,
        mtval2: this.mtval2, mtinst: this.mtinst, vstimecmp: this.vstimecmp, other: { ...this.other },
      },
    };
  }
  restoreState(s: HartSnapshot): void {
    for (let i = 0; i < 32; i++) this.x[i] = BigInt.asIntN(64, s.x[i]!);
    this.x[X_SINK] = 0n;
    for (let i = 0; i < 32; i++) this.fb[i] = BigInt.asIntN(64, s.f[i]!);
    this.setPc(s.pc);
    this.priv = s.priv; this.state = s.state as HartState;
    this.steps = s.steps; this.notRetired = s.notRetired; this.vtimeOffset = s.vtimeOffset;
    this.instretAdj = s.instretAdj; this.cycleAdj = s.cycleAdj;
    this.mstatus = s.mstatus; this.medeleg = s.medeleg; this.mideleg = s.mideleg | C.MIP_HS_MASK; this.mie = s.mie;
    this.mipSw = s.mipSw; this.mipHw = s.mipHw; this.mip = s.mipSw | s.mipHw;
    this.mtvec = s.mtvec; this.stvec = s.stvec; this.mepc = s.mepc; this.sepc = s.sepc; this.mcause = s.mcause;
    this.scause = s.scause; this.mtval = s.mtval; this.stval = s.stval; this.mscratch = s.mscratch; this.sscratch = s.sscratch;
    this.mcounteren = s.mcounteren; this.scounteren = s.scounteren; this.mcountinhibit = s.mcountinhibit;
    this.menvcfg = s.menvcfg; this.senvcfg = s.senvcfg; this.stimecmp = s.stimecmp;
    this.fflags = s.fflags; this.frm = s.frm; this.pmp.restoreState(s.pmp);
    this.bus.resv.release(this);
    if (s.resvAddr >= 0) this.bus.resv.reserve(this, s.resvAddr);
    const y = s.hyp;
    this.virt = y?.virt ?? false;
    this.mstatusH = y?.mstatusH ?? 0;
    this.hstatus = y?.hstatus ?? 0;
    this.hedeleg = y?.hedeleg ?? 0;
    this.hideleg = y?.hideleg ?? 0;
    this.hvip = y?.hvip ?? 0;
    this.hcounteren = y?.hcounteren ?? 0;
    this.htimedelta = y?.htimedelta ?? 0n;
    this.htval = y?.htval ?? 0n;
    this.htinst = y?.htinst ?? 0n;
    this.henvcfg = y?.henvcfg ?? 0n;
    this.mtval2 = y?.mtval2 ?? 0n;
    this.mtinst = y?.mtinst ?? 0n;
    this.vstimecmp = y?.vstimecmp ?? 0xffffffffffffffffn;
    Object.assign(this.other, y?.other ?? { status: 0, stvec: 0n, sscratch: 0n, sepc: 0n, scause: 0n, stval: 0n, satp: 0n });
    this.hgatp = 0n;
    this.setHgatp(y?.hgatp ?? 0n);
    this.mip = this.mipSw | this.mipHw | this.hvip;
    this.satp = 0n;
    this.setSatp(s.satp);
    this.flushTlb();
    this.fatal = null;
    this.timerCut = Infinity;
    this.sliceCut = false;
    this.replan = false;
    this.flushGTlb();
    this.attention = true;
  }

  // ======================================================================
  // Registers (for firmware, loaders, debuggers)
  // ======================================================================
  getX(i: number): bigint {
    return BigInt.asUintN(64, this.x[i]!);
  }
  setX(i: number, v: bigint): void {
    if (i !== 0) this.x[i] = BigInt.asIntN(64, v);
  }
  getPc(): bigint {
    return this.vaBig(this.pc);
  }
  /**
   * Set pc from a 64-bit value. A value beyond ±2^53 can never be fetched: pc becomes a
   * sentinel (±2^53, which faults in every translation mode) and the exact value is kept in
   * wildPc, so epc and tval of the resulting fetch fault are exact.
   */
  setPc(v: bigint): void {
    this.pc = this.pcFromBig(v);
  }
  /** The exact jump target behind a ±2^53 pc sentinel. */
  private wildPc = 0n;
  /** A VA number as the unsigned 64-bit value it stands for (the pc sentinel maps to wildPc). */
  vaBig(va: number): bigint {
    if (va === WILD || va === -WILD) return this.wildPc;
    return BigInt.asUintN(64, BigInt(va));
  }

  // ======================================================================
  // mstatus / interrupt plumbing
  // ======================================================================
  /**
   * mstatus as M-mode sees it, whatever V is: while V = 1 the live supervisor bits are
   * vsstatus's, so HS's banked copy is shown instead (for firmware, debuggers, checkpoints).
   */
  mstatusArch(): bigint {
    if (!this.virt) return this.mstatusValue();
    const m = Hart.BANKED_STATUS;
    const lo = (this.mstatus & ~m) | (this.other.status & m);
    let v = BigInt(lo >>> 0) | (BigInt(C.MSTATUS_XL_HI | this.mstatusH) << 32n);
    if (((lo & C.MSTATUS_FS) >>> C.MSTATUS_FS_SHIFT) === C.FS_DIRTY) v |= 1n << 63n;
    return v;
  }
  mstatusValue(): bigint {
    let v = BigInt(this.mstatus >>> 0) | (BigInt(C.MSTATUS_XL_HI | this.mstatusH) << 32n);
    if (((this.mstatus & C.MSTATUS_FS) >>> C.MSTATUS_FS_SHIFT) === C.FS_DIRTY) v |= 1n << 63n;
    return v;
  }
  setMstatus(v: number): void {
    const old = this.mstatus;
    let n = (v & C.MSTATUS_WMASK) | (old & ~C.MSTATUS_WMASK);
    // MPP is WARL: the reserved encoding 2 keeps the old value.
    if (((n & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT) === 2) n = (n & ~C.MSTATUS_MPP) | (old & C.MSTATUS_MPP);
    this.mstatus = n;
    const xlate = C.MSTATUS_MPRV | C.MSTATUS_SUM | C.MSTATUS_MXR | C.MSTATUS_MPP;
    if ((old ^ n) & xlate) this.flushTlb();
    this.attention = true;
  }
  /** mstatus.MPV / mstatus.GVA (bits 39:38, as MSTATUSH_* bits of the high word). */
  setMstatusH(v: number): void {
    const n = v & (C.MSTATUSH_MPV | C.MSTATUSH_GVA);
    // MPV selects the translation of MPRV accesses (§8.2.? mstatus.MPV): cached translations go.
    if ((n ^ this.mstatusH) & C.MSTATUSH_MPV) this.flushTlb();
    this.mstatusH = n;
  }
  /**
   * FP instructions are legal when mstatus.FS is not Off and, with V = 1, vsstatus.FS is not
   * Off either (§8.2.? "When V=1, both vsstatus.FS and the HS-level sstatus.FS are in effect").
   * While V = 1 the live mstatus.FS holds vsstatus.FS and `other.status` HS's.
   */
  fpOn(): boolean {
    return (this.mstatus & C.MSTATUS_FS) !== 0 && (!this.virt || (this.other.status & C.MSTATUS_FS) !== 0);
  }
  /** Mark the FP state dirty (mstatus.FS = Dirty, and vsstatus.FS too while V = 1). */
  markFsDirty(): void {
    this.mstatus |= C.MSTATUS_FS;
    if (this.virt) this.other.status |= C.MSTATUS_FS;
  }

  /** mstatus bits that belong to the supervisor and are banked between HS and VS. */
  static readonly BANKED_STATUS = C.MSTATUS_BANKED;
  /** The HS-level sstatus bits, whatever V is. */
  hsStatus(): number {
    return this.virt ? this.other.status : this.mstatus;
  }
  /** vsstatus's bits (in mstatus positions), whatever V is. */
  vsStatus(): number {
    return this.virt ? this.mstatus & Hart.BANKED_STATUS : this.other.status;
  }
  /** vsatp, whatever V is. */
  vsatpValue(): bigint {
    return this.virt ? this.satp : this.other.satp;
  }

  /**
   * Change V, swapping the live supervisor CSRs with the banked ones (QEMU's
   * riscv_cpu_swap_hypervisor_regs). Translation changes: the TLBs are flushed.
   */
  setVirt(v: boolean): void {
    if (v === this.virt) return;
    const o = this.other;
    const m = Hart.BANKED_STATUS;
    const live = this.mstatus & m;
    this.mstatus = (this.mstatus & ~m) | (o.status & m);
    o.status = live;
    let t = this.stvec; this.stvec = o.stvec; o.stvec = t;
    t = this.sscratch; this.sscratch = o.sscratch; o.sscratch = t;
    t = this.sepc; this.sepc = o.sepc; o.sepc = t;
    t = this.scause; this.scause = o.scause; o.scause = t;
    t = this.stval; this.stval = o.stval; o.stval = t;
    t = this.satp; this.satp = 0n; this.setSatp(o.satp); o.satp = t;
    this.virt = v;
    this.flushTlb();
    this.attention = true;
  }

  private recomputeMip(): void {
    this.mip = this.mipSw | this.mipHw | this.hvip;
    this.attention = true;
  }
  /** hvip (§8.2.?): VSSIP/VSTIP/VSEIP injected by the hypervisor. */
  setHvip(v: number): void {
    this.hvip = v & C.MIP_VS_MASK;
    this.recomputeMip();
    if (this.state === HartState.Wfi && (this.mip & this.mie) !== 0) this.state = HartState.Running;
  }
  /** A hardware interrupt line (mip bit number) changed level. */
  setIrqLine(bit: number, level: boolean): void {
    const m = 1 << bit;
    const old = this.mipHw;
    this.mipHw = level ? old | m : old & ~m;
    if (this.mipHw !== old) {
      this.recomputeMip();
      if (this.obs) this.obs.irqLine(this, bit, level);
      if (this.state === HartState.Wfi && (this.mip & this.mie) !== 0) this.state = HartState.Running;
    }
  }
  setMipSw(v: number): void {
    this.mipSw = v & C.MIP_SW_WMASK;
    this.recomputeMip();
    if (this.state === HartState.Wfi && (this.mip & this.mie) !== 0) this.state = HartState.Running;
  }
  setMie(v: number): void {
    this.mie = v & C.MIE_MASK;
    this.attention = true;
    if (this.state === HartState.Wfi && (this.mip & this.mie) !== 0) this.state = HartState.Running;
  }
  /** True when some interrupt is pending and enabled in mie (the WFI wake-up condition, §3.3.3). */
  wakeable(): boolean {
    return (this.mip & this.mie) !== 0;
  }

  /** Sstc: whether stimecmp drives STIP (menvcfg.STCE). */
  sstcEnabled(): boolean {
    return (this.menvcfg >> 63n) !== 0n;
  }
  /** Sstc for guests: vstimecmp drives VSTIP when henvcfg.STCE (and menvcfg.STCE) are set. */
  vsstcEnabled(): boolean {
    return (this.menvcfg >> 63n) !== 0n && (this.henvcfg >> 63n) !== 0n;
  }
  /**
   * Recompute the Sstc lines from time: STIP = time >= stimecmp, VSTIP (the hardware part) =
   * time + htimedelta >= vstimecmp (Sstc spec §2; priv spec §8.2.? htimedelta).
   */
  updateSstc(now: bigint): void {
    if (!this.sstcEnabled()) {
      if (this.mipHw & C.MIP_STIP) this.setIrqLine(5, false);
    } else {
      this.setIrqLine(5, now >= this.stimecmp);
    }
    if (!this.vsstcEnabled()) {
      if (this.mipHw & C.MIP_VSTIP) this.setIrqLine(6, false);
    } else {
      this.setIrqLine(6, BigInt.asUintN(64, now + this.htimedelta) >= this.vstimecmp);
    }
  }
  /** The next mtime at which an Sstc line rises (stimecmp or vstimecmp - htimedelta), or null. */
  sstcDeadline(now: bigint): bigint | null {
    let best: bigint | null = null;
    if (this.sstcEnabled() && this.stimecmp > now) best = this.stimecmp;
    if (this.vsstcEnabled()) {
      const t = BigInt.asUintN(64, this.vstimecmp - this.htimedelta);
      if (t > now && (best === null || t < best)) best = t;
    }
    return best;
  }

  // ======================================================================
  // Translation context
  // ======================================================================
  setSatp(v: bigint): void {
    const mode = Number(v >> 60n);
    // WARL: writes of an unsupported mode have no effect (priv spec §4.1.11).
    if (mode !== C.SATP_MODE_BARE && mode !== C.SATP_MODE_SV39 && mode !== C.SATP_MODE_SV48) return;
    // MODE 63:60, ASID 59:44 (ASIDLEN = 16, as QEMU; the spec leaves it open, §4.1.11), PPN 43:0.
    this.satp = BigInt.asUintN(64, v);
    this.satpMode = mode;
    this.satpRoot = Number(this.satp & 0xfffffffffffn) * 4096;
    this.flushTlb();
  }
  /**
   * hgatp (§8.2.18): MODE Bare/Sv39x4/Sv48x4, 14-bit VMID, root PPN with bits 1:0 zero. Unlike
   * satp, a write with an unsupported MODE is not ignored: the fields are WARL, and MODE keeps
   * its previous (legal) value.
   */
  setHgatp(v: bigint): void {
    let mode = Number(v >> 60n);
    if (mode !== C.SATP_MODE_BARE && mode !== C.SATP_MODE_SV39 && mode !== C.SATP_MODE_SV48) mode = this.hgatpMode;
    this.hgatp = (BigInt(mode) << 60n) | (v & 0x03fffffffffffffcn); // VMID 57:44, PPN 43:2
    this.hgatpMode = mode;
    this.hgatpRoot = Number(this.hgatp & 0xfffffffffffn) * 4096;
    this.flushTlb();
    this.flushGTlb();
  }

  // G-stage walk cache: GPA page -> HPA page and the leaf's R/W/X (W only once D = 1), with the
  // root and every PTE the walk read (buffer offset and both words). A hit re-reads those PTEs
  // and is used only if all are unchanged, so it returns exactly what a walk would, with no side
  // effect left to do (A, and D for W, are already set): invisible to software, so it needs no
  // fence and a checkpoint restore cannot change behaviour. It survives the V and privilege
  // changes that empty the main TLBs on every VM exit and guest system call. PMP changes (which
  // the walk's PTE reads depend on) flush it.
  private readonly gtlbTag = new Float64Array(GTLB_SIZE).fill(-1);
  private readonly gtlbHpa = new Float64Array(GTLB_SIZE);
  private readonly gtlbRoot = new Float64Array(GTLB_SIZE);
  private readonly gtlbPerm = new Uint8Array(GTLB_SIZE);
  /** Number of PTEs read by the cached walk, and per entry 4 x [offset, lo, hi]. */
  private readonly gtlbN = new Uint8Array(GTLB_SIZE);
  private readonly gtlbPte = new Int32Array(GTLB_SIZE * 12);
  /** Buffer offsets of the PTEs read by the walk in progress. */
  private readonly gwOff = new Int32Array(4);
  flushGTlb(): void {
    this.gtlbTag.fill(-1);
  }
  /** Every cached translation, both stages (remote fences from firmware). */
  flushAllTlb(): void {
    this.flushTlb();
    this.flushGTlb();
  }
  setPriv(p: number): void {
    if (p !== this.priv) {
      this.priv = p;
      this.flushTlb();
    }
    this.attention = true;
  }
  flushTlb(): void {
    for (let k = 0; k < 3; k++) {
      const t = this.tlb[k]!;
      for (let i = 1; i < t.length; i += 4) t[i] = TLB_EMPTY;
    }
    this.fetchVa = NaN;
  }

  // ======================================================================
  // Traps
  // ======================================================================
  /** Record an exception and abandon the current instruction. */
  raise(cause: number, tval: bigint): never {
    this.excCause = cause;
    this.excTval = BigInt.asUintN(64, tval);
    this.excGpa = 0n;
    this.excTinst = 0n;
    this.excGva = false;
    throw TRAP;
  }
  /**
   * raise() without the throw, for an exception execSystem detects itself: the loop takes it
   * right after execSystem returns (`excNow`), exactly as run() takes a thrown TRAP.
   */
  private exceptionNow(cause: number, tval: bigint): void {
    this.excCause = cause;
    this.excTval = tval;
    this.excGpa = 0n;
    this.excTinst = 0n;
    this.excGva = false;
    this.excNow = true;
    this.jumped = true;
  }
  /** Set by exceptionNow: the instruction raised `excCause`; the loop enters the trap. */
  private excNow = false;
  /** raise() for a fault whose tval is the address of an access of kind `acc` (sets GVA). */
  raiseAddr(cause: number, acc: number, va: bigint): never {
    this.setCtx(acc);
    const gva = this.eVirt;
    this.excCause = cause;
    this.excTval = BigInt.asUintN(64, va);
    this.excGpa = 0n;
    this.excTinst = 0n;
    this.excGva = gva;
    throw TRAP;
  }
  /** A guest-page fault (§8.5.1): cause 20/21/23 for the access kind, htval/mtval2 = GPA >> 2. */
  private guestPageFault(acc: number, va: bigint, gpa: bigint, implicit: boolean): never {
    this.excCause = acc === ACC_FETCH ? C.CAUSE_FETCH_GUEST_PAGE_FAULT : acc === ACC_LOAD ? C.CAUSE_LOAD_GUEST_PAGE_FAULT : C.CAUSE_STORE_GUEST_PAGE_FAULT;
    this.excTval = BigInt.asUintN(64, va);
    this.excGpa = BigInt.asUintN(64, gpa);
    // htinst: like QEMU 7.2, 0 for explicit accesses; for the implicit read of a VS-stage
    // page-table entry the pseudoinstruction 0x3000 ("ld", §8.6.3 Table 8.12), 0x3020 for its
    // A/D write.
    this.excTinst = implicit ? (this.adUpdate ? 0x3020n : 0x3000n) : 0n;
    this.excGva = true;
    throw TRAP;
  }
  illegal(insnBits: number): never {
    return this.raise(C.CAUSE_ILLEGAL_INSTRUCTION, BigInt(insnBits >>> 0));
  }

  /**
   * Exception details beyond cause and tval, recorded by raise() for the trap about to be taken:
   * the faulting guest-physical address (guest-page faults, for htval/mtval2 = GPA >> 2), the
   * value for htinst/mtinst, and whether tval holds a guest virtual address (hstatus.GVA /
   * mstatus.GVA).
   */
  excGpa = 0n;
  excTinst = 0n;
  excGva = false;

  /**
   * Enter a trap (priv spec §3.1.6.1, §3.1.7-8, §4.1.1, §8.6.4): choose M, HS or VS by
   * medeleg/mideleg and hedeleg/hideleg, save epc/cause/tval (and htval/htinst/mtval2/mtinst),
   * stack the interrupt-enable and previous-privilege bits (with MPV/SPV/SPVP for the H
   * extension), jump to the vector.
   */
  enterTrap(cause: number, interrupt: boolean, tval: bigint): void {
    const from = this.priv;
    const fromVirt = this.virt;
    const epc = this.getPc();
    // Guest-address details apply to exceptions only; consume them so nothing leaks.
    const gpa = interrupt ? 0n : this.excGpa;
    const tinst = interrupt ? 0n : this.excTinst;
    const gva = !interrupt && this.excGva;
    this.excGpa = 0n; this.excTinst = 0n; this.excGva = false;
    let target: number; // 0 = M, 1 = HS, 2 = VS
    if (interrupt) {
      target = ((this.mideleg >>> cause) & 1) === 0 ? 0 : ((this.hideleg >>> cause) & 1) !== 0 && fromVirt ? 2 : 1;
    } else if (from <= C.PRV_S && ((this.medeleg >>> cause) & 1) !== 0) {
      target = fromVirt && ((this.hedeleg >>> cause) & 1) !== 0 ? 2 : 1;
    } else {
      target = 0;
    }
    // VS-level interrupts reach a VS handler with the supervisor codes (§8.6.4: VSSI 2 -> 1, ...).
    const reported = target === 2 && interrupt && (cause === 2 || cause === 6 || cause === 10) ? cause - 1 : cause;
    const causeV = (interrupt ? IRQ_CAUSE_BIG : EXC_CAUSE_BIG)[reported]!;
    let vec: bigint;
    if (target === 0) {
      this.setVirt(false);
      this.mepc = epc;
      this.mcause = causeV;
      this.mtval = tval;
      this.mtval2 = gpa === 0n ? 0n : gpa >> 2n;
      this.mtinst = tinst;
      let ms = this.mstatus;
      ms = (ms & ~C.MSTATUS_MPIE) | ((ms & C.MSTATUS_MIE) ? C.MSTATUS_MPIE : 0);
      ms &= ~C.MSTATUS_MIE;
      ms = (ms & ~C.MSTATUS_MPP) | (from << C.MSTATUS_MPP_SHIFT);
      if ((ms ^ this.mstatus) & C.MSTATUS_MPP) this.flushTlb();
      this.mstatus = ms;
      this.setMstatusH((fromVirt ? C.MSTATUSH_MPV : 0) | (gva ? C.MSTATUSH_GVA : 0));
      vec = this.mtvec;
    } else {
      if (target === 1) {
        this.setVirt(false);
        this.htval = gpa === 0n ? 0n : gpa >> 2n;
        this.htinst = tinst;
        let hs = this.hstatus & ~(C.HSTATUS_SPV | C.HSTATUS_GVA);
        if (fromVirt) hs = (hs & ~C.HSTATUS_SPVP) | C.HSTATUS_SPV | (from === C.PRV_S ? C.HSTATUS_SPVP : 0);
        if (gva) hs |= C.HSTATUS_GVA;
        this.hstatus = hs;
      }
      // The live supervisor CSRs are HS's (target 1) or the VS CSRs (target 2, V stays 1).
      this.sepc = epc;
      this.scause = causeV;
      this.stval = tval;
      let ms = this.mstatus;
      ms = (ms & ~C.MSTATUS_SPIE) | ((ms & C.MSTATUS_SIE) ? C.MSTATUS_SPIE : 0);
      ms &= ~C.MSTATUS_SIE;
      ms = (ms & ~C.MSTATUS_SPP) | (from === C.PRV_S ? C.MSTATUS_SPP : 0);
      this.mstatus = ms;
      vec = this.stvec;
    }
    this.setPriv(target === 0 ? C.PRV_M : C.PRV_S);
    // Vectored mode: interrupts go to BASE + 4*cause (§3.1.7). Computed on the pc's number
    // form where it is exact (BigInt masking cost a third of a trap).
    const vpc = pcNumber(vec);
    let handler: number;
    if (vpc < 2 ** 52 && vpc > -(2 ** 52)) {
      const mode = vpc & 3; // the low bits survive ToInt32
      handler = vpc - mode + (interrupt && mode === 1 ? 4 * reported : 0);
    } else {
      let t = vec & ~3n;
      if (interrupt && (vec & 3n) === 1n) t += 4n * BigInt(reported);
      handler = this.pcFromBig(t);
    }
    const native = (target === 0 && this.mTrapHandler !== null) || (target === 1 && this.hsHandler !== null);
    // A fetch fault at the handler address itself would loop forever: report a double fault.
    if (!interrupt && isFetchFault(cause) && !native && this.vaBig(handler) === epc) {
      const lvl = target === 0 ? 'M' : target === 1 ? 'S' : 'VS';
      this.fatal = `double fault: hart ${this.id} cannot fetch its ${lvl}-mode trap handler at 0x${this.vaBig(handler).toString(16)} (${C.EXCEPTION_NAMES[cause]})`;
      this.attention = true;
    }
    this.pc = handler;
    if (this.obs) this.obs.trap(this, cause, interrupt, epc, tval, from, this.priv, fromVirt, this.virt);
    if (target === 0 && this.mTrapHandler) this.mTrapHandler(this, cause, interrupt);
    else if (target === 1 && this.hsHandler) this.hsHandler.onTrap(this, cause, interrupt);
  }

  /** mret (priv spec §3.3.2, §8.6.4): to MPP, and to V = MPV when MPP is not M. */
  doMret(): void {
    const from = this.priv;
    const xretPc = this.pc;
    let ms = this.mstatus;
    const mpp = (ms & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
    const mpv = mpp !== C.PRV_M && (this.mstatusH & C.MSTATUSH_MPV) !== 0;
    ms = (ms & ~C.MSTATUS_MIE) | ((ms & C.MSTATUS_MPIE) ? C.MSTATUS_MIE : 0);
    ms |= C.MSTATUS_MPIE;
    ms &= ~C.MSTATUS_MPP; // MPP = U (least-privileged supported mode)
    if (mpp !== C.PRV_M) ms &= ~C.MSTATUS_MPRV;
    this.mstatus = ms;
    this.setMstatusH(this.mstatusH & ~C.MSTATUSH_MPV);
    this.flushTlb();
    this.setVirt(mpv);
    this.setPriv(mpp);
    this.bus.resv.release(this);
    this.setPc(this.mepc);
    if (this.obs) this.obs.trapReturn(this, 'mret', from, mpp, xretPc, false, mpv);
  }

  /**
   * sret (priv spec §3.3.2, §4.1.1, §8.6.4): in HS-mode it returns to V = hstatus.SPV and
   * clears SPV; in VS-mode it works on vsstatus and stays in V = 1.
   */
  doSret(): void {
    const from = this.priv;
    const fromVirt = this.virt;
    const xretPc = this.pc;
    let ms = this.mstatus;
    const spp = (ms & C.MSTATUS_SPP) ? C.PRV_S : C.PRV_U;
    ms = (ms & ~C.MSTATUS_SIE) | ((ms & C.MSTATUS_SPIE) ? C.MSTATUS_SIE : 0);
    ms |= C.MSTATUS_SPIE;
    ms &= ~C.MSTATUS_SPP;
    // The new privilege is below M (MPRV = 0, §3.1.6.3); in VS-mode mstatus.MPRV is not touched.
    if (!fromVirt) ms &= ~C.MSTATUS_MPRV;
    this.mstatus = ms;
    let toVirt = fromVirt;
    if (!fromVirt) { // in M- or HS-mode (§8.6.4)
      toVirt = (this.hstatus & C.HSTATUS_SPV) !== 0;
      this.hstatus &= ~C.HSTATUS_SPV;
    }
    const ret = this.sepc; // HS's sepc: read before V changes banks
    this.flushTlb();
    this.setVirt(toVirt);
    this.setPriv(spp);
    this.bus.resv.release(this);
    this.setPc(ret);
    if (this.obs) this.obs.trapReturn(this, 'sret', from, spp, xretPc, fromVirt, toVirt);
  }

  /**
   * Highest-priority pending and enabled interrupt, or -1 (priv spec §3.1.9, §8.4.?). An
   * interrupt goes to M unless delegated by mideleg, then to HS unless delegated by hideleg,
   * then to VS. M-level ones are enabled when priv < M or MIE; HS-level ones whenever V = 1, or
   * in U, or in HS with SIE; VS-level ones only with V = 1, in VU, or in VS with vsstatus.SIE.
   * A higher target level wins over a lower one.
   */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return -1;
    const ms = this.mstatus;
    const m = pending & ~this.mideleg;
    if (m !== 0 && (this.priv < C.PRV_M || (ms & C.MSTATUS_MIE) !== 0)) return highestIrq(m);
    if (this.priv === C.PRV_M) return -1;
    const hs = pending & this.mideleg & ~this.hideleg;
    const sie = (ms & C.MSTATUS_SIE) !== 0; // HS's SIE when V = 0, vsstatus.SIE when V = 1
    if (hs !== 0 && (this.virt || this.priv === C.PRV_U || sie)) return highestIrq(hs);
    if (!this.virt) return -1;
    const vs = pending & this.mideleg & this.hideleg;
    if (vs !== 0 && (this.priv === C.PRV_U || sie)) return highestIrq(vs);
    return -1;
  }

  // ======================================================================
  // CSR access
  // ======================================================================
  /** Read a CSR with the privilege checks of an instruction; throws TRAP on a violation. */
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
  // Address translation (priv spec §4.3-4.4) and PMP (§3.7)
  // ======================================================================
  /**
   * Access context for translation, set by setCtx: the effective privilege and V of an access
   * (MPRV/MPP/MPV for M-mode loads and stores, §3.1.6.3 and §8.2.?; hstatus.SPVP with V = 1
   * for HLV/HLVX/HSV, §8.3).
   */
  private ePriv = C.PRV_M;
  private eVirt = false;
  /** Set while an HLV/HSV (1) or HLVX (2) instruction accesses memory. */
  hlv = 0;
  /** Set while the A/D bits of a VS-stage PTE are being written (for htinst). */
  private adUpdate = false;

  private setCtx(acc: number): void {
    if (this.hlv !== 0) {
      this.ePriv = (this.hstatus & C.HSTATUS_SPVP) !== 0 ? C.PRV_S : C.PRV_U;
      this.eVirt = true;
    } else if (acc !== ACC_FETCH && this.priv === C.PRV_M && (this.mstatus & C.MSTATUS_MPRV) !== 0) {
      const mpp = (this.mstatus & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
      this.ePriv = mpp;
      this.eVirt = mpp !== C.PRV_M && (this.mstatusH & C.MSTATUSH_MPV) !== 0;
    } else {
      this.ePriv = this.priv;
      this.eVirt = this.virt;
    }
  }

  private pageFault(acc: number, va: bigint): never {
    return this.raiseAddr(acc === ACC_FETCH ? C.CAUSE_FETCH_PAGE_FAULT : acc === ACC_LOAD ? C.CAUSE_LOAD_PAGE_FAULT : C.CAUSE_STORE_PAGE_FAULT, acc, va);
  }
  private accessFault(acc: number, va: bigint): never {
    return this.raiseAddr(acc === ACC_FETCH ? C.CAUSE_FETCH_ACCESS : acc === ACC_LOAD ? C.CAUSE_LOAD_ACCESS : C.CAUSE_STORE_ACCESS, acc, va);
  }

  /** A virtual address outside ±2^53: it can never translate. Raise the right fault with its exact value. */
  badAddress(acc: number, vaExact: bigint): never {
    this.setCtx(acc);
    const priv = this.ePriv;
    if (priv !== C.PRV_M) {
      if (!this.eVirt) {
        if (this.satpMode !== C.SATP_MODE_BARE) this.pageFault(acc, vaExact);
      } else {
        if ((this.vsatpValue() >> 60n) !== 0n) this.pageFault(acc, vaExact);
        if (this.hgatpMode !== C.SATP_MODE_BARE) this.guestPageFault(acc, vaExact, vaExact, false);
      }
    }
    return this.accessFault(acc, vaExact);
  }

  /** Physical-address permission bits from the page walk (returned alongside the address). */
  private walkPerms = 0;
  /** Permission bits of the last G-stage translation. */
  private gPerms = 0;

  /**
   * Translate `va` for an access of kind `acc`; returns the physical address. Sets walkPerms to
   * the R/W/X the whole 4 KiB page allows for this access context (for TLB filling).
   */
  translate(va: number, acc: number): number {
    this.setCtx(acc);
    const priv = this.ePriv;
    if (priv === C.PRV_M || (!this.eVirt && this.satpMode === C.SATP_MODE_BARE)) {
      if (va < 0) this.accessFault(acc, this.vaBig(va));
      this.walkPerms = PMP_R | PMP_W | PMP_X;
      return va;
    }
    if (!this.eVirt) return this.walk(va, acc, this.satpMode, this.satpRoot, priv, this.mstatus, this.mstatus, false);
    // Two-stage translation (§8.5): VS-stage with vsatp, then G-stage with hgatp.
    let mode: number, root: number;
    if (this.virt) {
      mode = this.satpMode; root = this.satpRoot;
    } else {
      const v = this.other.satp;
      mode = Number(v >> 60n); root = Number(v & 0xfffffffffffn) * 4096;
    }
    const vs = this.vsStatus();
    const hs = this.hsStatus();
    let gpa: number, perms: number;
    if (mode === C.SATP_MODE_BARE) {
      gpa = va;
      perms = PMP_R | PMP_W | PMP_X;
    } else {
      // vsstatus.MXR affects the VS stage only; the HS-level MXR both (§8.2.?).
      gpa = this.walk(va, acc, mode, root, priv, vs, vs | (hs & C.MSTATUS_MXR), true);
      perms = this.walkPerms;
    }
    const pa = this.gTranslate(gpa, acc, va, false, hs);
    this.walkPerms = perms & this.gPerms;
    return pa;
  }

  /**
   * Single-stage walk (§4.3.2) for S-mode (satp) or the VS stage (vsatp, `twoStage`: every PTE
   * address is a guest-physical address that goes through the G stage first). `status` gives
   * SUM, `mxrStatus` MXR.
   */
  private walk(va: number, acc: number, mode: number, root: number, priv: number, status: number, mxrStatus: number, twoStage: boolean): number {
    const levels = mode === C.SATP_MODE_SV39 ? 3 : 4;
    const vaBits = 12 + 9 * levels;
    // The address must be sign-extended from bit vaBits-1 (§4.4.1).
    const lim = 2 ** (vaBits - 1);
    if (va >= lim || va < -lim) this.pageFault(acc, this.vaBig(va));
    const vpnAll = Math.floor((va < 0 ? va + 2 * lim : va) / 4096);
    let a = root;
    const dv = this.dv;
    const hlvx = this.hlv === 2;
    for (let i = levels - 1; i >= 0; i--) {
      const vpn = Math.floor(vpnAll / 2 ** (9 * i)) % 512;
      let pteAddr = a + vpn * 8;
      // The walk reads the PTE: the G stage checks read permission, a fault reports the original
      // access type (§8.5.1).
      if (twoStage) pteAddr = this.gTranslate(pteAddr, ACC_LOAD, va, true, this.hsStatus(), acc);
      // PTE accesses are checked by PMP as S-mode accesses (§3.7.1) and must be in RAM.
      if (!this.bus.isRam(pteAddr, 8) || (this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_R) === 0) {
        this.accessFault(acc, this.vaBig(va));
      }
      const off = this.ramOffset + pteAddr - this.bus.ramBase;
      const lo = dv.getUint32(off, true);
      const hi = dv.getUint32(off + 4, true);
      // Log the PTE (see reinstate).
      const wn = this.logPte(off, lo, hi);
      const v = lo & 1, r = (lo >>> 1) & 1, w = (lo >>> 2) & 1, xb = (lo >>> 3) & 1;
      // Reserved bits 63:54 (N, PBMT without Svnapot/Svpbmt) must be zero (§4.4.1).
      if (v === 0 || (r === 0 && w === 1) || (hi >>> 22) !== 0) this.pageFault(acc, this.vaBig(va));
      const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
      if (r === 0 && xb === 0) {
        a = ppn * 4096;
        continue;
      }
      // Leaf PTE: permission checks (§4.3.2 step 5).
      const u = (lo >>> 4) & 1;
      if (priv === C.PRV_U) {
        if (u === 0) this.pageFault(acc, this.vaBig(va));
      } else if (u === 1) {
        if (acc === ACC_FETCH || (status & C.MSTATUS_SUM) === 0) this.pageFault(acc, this.vaBig(va));
      }
      const mxr = (mxrStatus & C.MSTATUS_MXR) !== 0;
      // HLVX reads need execute permission instead of read permission (§8.3).
      const canR = hlvx ? xb === 1 : r === 1 || (mxr && xb === 1);
      if ((acc === ACC_FETCH && xb === 0) || (acc === ACC_LOAD && !canR) || (acc === ACC_STORE && w === 0)) {
        this.pageFault(acc, this.vaBig(va));
      }
      // Misaligned superpage (§4.3.2 step 6).
      const span = 2 ** (9 * i);
      if (i > 0 && ppn % span !== 0) this.pageFault(acc, this.vaBig(va));
      // Hardware A/D update (§4.3.2 step 7, Svadu behaviour as QEMU).
      const aBit = (lo >>> 6) & 1, dBit = (lo >>> 7) & 1;
      if (aBit === 0 || (acc === ACC_STORE && dBit === 0)) {
        if (twoStage) {
          // The update is an implicit store to guest memory: the G stage must allow it.
          this.adUpdate = true;
          try {
            this.gTranslate(a + vpn * 8, ACC_STORE, va, true, this.hsStatus(), acc);
          } finally {
            this.adUpdate = false;
          }
        }
        if ((this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_W) === 0) {
          this.accessFault(acc, this.vaBig(va));
        }
        dv.setUint32(off, lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0), true);
        if (this.bus.onStore !== null) this.bus.onStore(off, 4);
        if (wn >= 0) this.walkLog[wn + 1] = lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0);
      }
      // Permissions for the cached page: stores only once D is set.
      const dirty = dBit === 1 || acc === ACC_STORE;
      this.walkPerms = (canR ? PMP_R : 0) | (w === 1 && dirty ? PMP_W : 0) | (xb === 1 ? PMP_X : 0);
      const pageOff = (vpnAll % span) * 4096 + (va - Math.floor(va / 4096) * 4096);
      return ppn * 4096 + pageOff;
    }
    return this.pageFault(acc, this.vaBig(va));
  }

  /**
   * G-stage translation (§8.5.1) of guest-physical `gpa` for an access of kind `acc` made on
   * behalf of guest-virtual `va`. Every access counts as a U-mode access (leaves need U = 1);
   * only the HS-level MXR applies. Faults are guest-page faults (cause by `faultAcc`, the
   * original access type, §8.5.1), with the GPA for htval. `implicit`: the access is a VS-stage
   * page-table access. Sets gPerms.
   */
  private gTranslate(gpa: number, acc: number, va: number, implicit: boolean, hs: number, faultAcc = acc): number {
    const mode = this.hgatpMode;
    if (mode === C.SATP_MODE_BARE) {
      this.gPerms = PMP_R | PMP_W | PMP_X;
      if (gpa < 0) this.accessFault(faultAcc, this.vaBig(va));
      return gpa;
    }
    const levels = mode === C.SATP_MODE_SV39 ? 3 : 4;
    // Sv39x4 / Sv48x4: 41- / 50-bit guest physical addresses (two extra bits at the root).
    const gpaBits = 12 + 9 * levels + 2;
    if (gpa < 0 || gpa >= 2 ** gpaBits) this.guestPageFault(faultAcc, this.vaBig(va), gpa < 0 ? BigInt.asUintN(64, BigInt(gpa)) : BigInt(gpa), implicit);
    const vpnAll = Math.floor(gpa / 4096);
    const hlvx = this.hlv === 2 && !implicit;
    const gk = vpnAll % GTLB_SIZE;
    if (this.gtlbTag[gk] === vpnAll && this.gtlbRoot[gk] === this.hgatpRoot && this.gtlbValid(gk)) {
      const p = this.gtlbPerm[gk]!;
      const cr = (p & 1) !== 0, cw = (p & 2) !== 0, cx = (p & 4) !== 0;
      const canR = hlvx ? cx : cr || ((hs & C.MSTATUS_MXR) !== 0 && cx);
      if (acc === ACC_FETCH ? cx : acc === ACC_LOAD ? canR : cw) {
        this.gPerms = (canR ? PMP_R : 0) | (cw ? PMP_W : 0) | (cx ? PMP_X : 0);
        this.logGWalk(gk);
        return this.gtlbHpa[gk]! + (gpa % 4096);
      }
      // Not enough permission in the cached entry (or D still clear): walk, which faults or sets D.
    }
    let a = this.hgatpRoot;
    const dv = this.dv;
    const fault = (): never => this.guestPageFault(faultAcc, this.vaBig(va), BigInt(gpa), implicit);
    for (let i = levels - 1; i >= 0; i--) {
      // The root index has 11 bits (the x4 root table is 16 KiB).
      const vpn = i === levels - 1 ? Math.floor(vpnAll / 2 ** (9 * i)) : Math.floor(vpnAll / 2 ** (9 * i)) % 512;
      const pteAddr = a + vpn * 8;
      if (!this.bus.isRam(pteAddr, 8) || (this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_R) === 0) {
        this.accessFault(faultAcc, this.vaBig(va));
      }
      const off = this.ramOffset + pteAddr - this.bus.ramBase;
      this.gwOff[levels - 1 - i] = off;
      const lo = dv.getUint32(off, true);
      const hi = dv.getUint32(off + 4, true);
      const v = lo & 1, r = (lo >>> 1) & 1, w = (lo >>> 2) & 1, xb = (lo >>> 3) & 1;
      if (v === 0 || (r === 0 && w === 1) || (hi >>> 22) !== 0) fault();
      const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
      if (r === 0 && xb === 0) {
        a = ppn * 4096;
        continue;
      }
      if (((lo >>> 4) & 1) === 0) fault();
      const mxr = (hs & C.MSTATUS_MXR) !== 0;
      const canR = hlvx ? xb === 1 : r === 1 || (mxr && xb === 1);
      if ((acc === ACC_FETCH && xb === 0) || (acc === ACC_LOAD && !canR) || (acc === ACC_STORE && w === 0)) fault();
      const span = 2 ** (9 * i);
      if (i > 0 && ppn % span !== 0) fault();
      const aBit = (lo >>> 6) & 1, dBit = (lo >>> 7) & 1;
      if (aBit === 0 || (acc === ACC_STORE && dBit === 0)) {
        if ((this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_W) === 0) this.accessFault(faultAcc, this.vaBig(va));
        dv.setUint32(off, lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0), true);
        if (this.bus.onStore !== null) this.bus.onStore(off, 4);
      }
      const dirty = dBit === 1 || acc === ACC_STORE;
      this.gPerms = (canR ? PMP_R : 0) | (w === 1 && dirty ? PMP_W : 0) | (xb === 1 ? PMP_X : 0);
      const hpaPage = ppn * 4096 + (vpnAll % span) * 4096;
      this.gtlbTag[gk] = vpnAll;
      this.gtlbHpa[gk] = hpaPage;
      this.gtlbRoot[gk] = this.hgatpRoot;
      this.gtlbPerm[gk] = r | (w === 1 && dirty ? 2 : 0) | (xb << 2);
      const n = levels - i;
      this.gtlbN[gk] = n;
      for (let j = 0; j < n; j++) {
        const o = this.gwOff[j]!, e = gk * 12 + j * 3;
        this.gtlbPte[e] = o;
        this.gtlbPte[e + 1] = dv.getInt32(o, true); // as now in memory (after the A/D update)
        this.gtlbPte[e + 2] = dv.getInt32(o + 4, true);
      }
      this.logGWalk(gk);
      return hpaPage + (gpa % 4096);
    }
    return fault();
  }
  /** Append the PTEs of G-stage walk `gk` (as they are in memory now) to the walk log. */
  private logGWalk(gk: number): void {
    const t = this.gtlbPte;
    for (let j = 0, n = this.gtlbN[gk]!; j < n; j++) {
      const e = gk * 12 + j * 3;
      this.logPte(t[e]!, t[e + 1]!, t[e + 2]!);
    }
  }
  /** Append a PTE read to the walk log; returns its index there, or -1 when the log is full. */
  private logPte(off: number, lo: number, hi: number): number {
    const wl = this.walkLog, n = wl[0]!;
    if (n >= WL_MAX) {
      this.walkLogFull = true;
      return -1;
    }
    const k = n * 3 + 1;
    wl[k] = off; wl[k + 1] = lo; wl[k + 2] = hi;
    wl[0] = n + 1;
    return k;
  }
  /** Whether every PTE the cached walk `gk` read still holds the value it read. */
  private gtlbValid(gk: number): boolean {
    const dv = this.dv, t = this.gtlbPte;
    for (let j = 0, n = this.gtlbN[gk]!; j < n; j++) {
      const e = gk * 12 + j * 3, o = t[e]!;
      if (dv.getInt32(o, true) !== t[e + 1] || dv.getInt32(o + 4, true) !== t[e + 2]) return false;
    }
    return true;
  }

  /**
   * Translate + PMP-check an access of `size` bytes that does not cross a page. Returns the
   * buffer offset for RAM (and fills the TLB when the whole page may be cached) or -1 for a
   * device access (physical address in mmioPa).
   */
  private mmioPa = 0;
  private resolve(va: number, size: number, acc: number): number {
    const ro = this.reinstate(va, size, acc);
    if (ro >= 0) return ro;
    this.walkLog[0] = 0;
    this.walkLogFull = false;
    const pa = this.translate(va, acc);
    // HLVX: execute permission stands in for read permission (§8.3).
    const perm = acc === ACC_FETCH || this.hlv === 2 ? PMP_X : acc === ACC_LOAD ? PMP_R : PMP_W;
    const priv = this.ePriv; // set by translate
    const pmp = this.pmp;
    // S/U accesses are always checked (with no active entry they fail, §3.7.1); M-mode ones
    // whenever an entry is active (a partial match fails even for M).
    const checkPmp = priv !== C.PRV_M || pmp.anyActive;
    if (checkPmp) {
      const p = pmp.perms(pa, size, priv);
      if (p < 0 || (p & perm) === 0) this.accessFault(acc, this.vaBig(va));
    }
    if (this.watch !== null && acc !== ACC_FETCH) this.watch.access(this, va, size, acc);
    const bus = this.bus;
    if (bus.isRam(pa, size)) {
      const pageVa = va - (va - Math.floor(va / 4096) * 4096);
      const pagePa = pa - (pa % 4096);
      // HLV/HSV accesses use another translation context: never cached in the TLB.
      let cache = (this.walkPerms & perm) !== 0 && this.hlv === 0;
      const jit = this.jit;
      if (acc === ACC_STORE && jit !== null) {
        const page = (this.ramOffset + pagePa - bus.ramBase) >>> 12;
        if (jit.isCodePage(page)) {
          // A store into translated code: drop its blocks; a running block must stop here.
          jit.invalidatePage(page);
          this.attention = true;
          cache = false;
        }
      }
      if (acc === ACC_STORE && bus.resv.any) {
        const page = (this.ramOffset + pagePa - bus.ramBase) >>> 12;
        if (bus.resv.reservedByOthers(this, page)) {
          bus.resv.storeTo(this, pa, size);
          cache = false;
        }
      }
      if (cache && this.watch !== null && acc !== ACC_FETCH && this.watch.page(this, va, acc)) cache = false;
      if (cache && checkPmp) {
        const pp = pmp.perms(pagePa, 4096, priv);
        cache = pp >= 0 && (pp & perm) !== 0;
      }
      if (cache) {
        const k = ((pageVa / 4096) & TLB_MASK) << 2;
        const t = this.tlb[acc]!;
        t[k] = pageVa | 0;
        t[k + 1] = Math.floor(pageVa / TWO32) | 0;
        t[k + 2] = this.ramOffset + pagePa - bus.ramBase;
        // Keep what this translation depended on, for reinstate after a flush.
        const sh = this.shadow[acc]!, b = (k >> 2) * SH_W;
        const gRoot = this.eVirt ? this.hgatpRoot / 4096 : 0;
        // Kept: single-stage translations, and two-stage ones of a hart running with V = 1
        // (not M-mode accesses with MPRV + MPV, which read vsatp from the bank), whose root
        // page numbers fit the int32 slots exactly.
        if ((this.eVirt && !this.virt) || this.walkLogFull || this.satpRoot / 4096 >= 2 ** 31 || gRoot >= 2 ** 31) {
          sh[b + 3] = -1;
        } else {
          sh[b] = t[k]!; sh[b + 1] = t[k + 1]!; sh[b + 2] = t[k + 2]!;
          sh[b + 3] = this.shadowKey();
          sh[b + 4] = this.satpRoot / 4096;
          sh[b + 5] = pmp.version;
          sh[b + 6] = gRoot;
          const wl = this.walkLog;
          for (let j = 0, n = 1 + 3 * wl[0]!; j < n; j++) sh[b + SH_LOG + j] = wl[j]!;
        }
      }
      const off = this.ramOffset + pa - bus.ramBase;
      if (acc === ACC_STORE && bus.onStore !== null) bus.onStore(off, size);
      return off;
    }
    // The reset ROM (src/devices/mrom.ts) is fetched and read like RAM, uncached (a few
    // instructions per boot); stores go to its device, which ignores them.
    if (acc !== ACC_STORE && bus.isRom(pa, size)) return bus.romOffset + pa - ROM_BASE;
    if (acc === ACC_FETCH) this.accessFault(acc, this.vaBig(va));
    this.mmioPa = pa;
    return -1;
  }

  /**
   * Shadow TLB (performance only, exact). A flush (privilege change, trap, xRET, satp or
   * mstatus write, fence) empties the TLBs, and the next access to each page walks the page
   * table again. A walk is a function of the translation context (effective privilege, SUM,
   * MXR, satp, PMP) and of the PTEs it reads; its only side effect is setting A/D, which it
   * does not do when they are set already. So each filled entry also keeps, here, the context
   * and the PTEs (buffer offset and value after the A/D update) of its walk; on a miss whose
   * shadow entry has the same page, the same context and PTEs that still hold those values,
   * the walk would give the same result without side effects, and the entry is put back
   * without walking. Two-stage translations (V = 1) keep every PTE of both stages they read
   * (the G-stage walks of each VS PTE address and of the final GPA) and the hgatp root; HLV/HSV
   * translations, and M-mode ones with MPRV + MPV, are not kept.
   */
  private reinstate(va: number, size: number, acc: number): number {
    if (this.hlv !== 0) return -1;
    if (this.watch !== null && acc !== ACC_FETCH && this.watch.page(this, va, acc)) return -1;
    this.setCtx(acc);
    if (this.eVirt && !this.virt) return -1;
    const pageVa = va - (va - Math.floor(va / 4096) * 4096);
    const k = (pageVa / 4096) & TLB_MASK;
    const sh = this.shadow[acc]!, b = k * SH_W;
    if (sh[b + 3] !== this.shadowKey() || sh[b] !== (pageVa | 0) || sh[b + 1] !== (Math.floor(pageVa / TWO32) | 0) ||
      sh[b + 4] !== this.satpRoot / 4096 || sh[b + 5] !== this.pmp.version ||
      sh[b + 6] !== (this.eVirt ? this.hgatpRoot / 4096 : 0)) return -1;
    const dv = this.dv;
    for (let j = 0, n = sh[b + SH_LOG]!; j < n; j++) {
      const o = sh[b + SH_LOG + 1 + 3 * j]!;
      if (dv.getInt32(o, true) !== sh[b + SH_LOG + 2 + 3 * j] || dv.getInt32(o + 4, true) !== sh[b + SH_LOG + 3 + 3 * j]) return -1;
    }
    const off = sh[b + 2]!;
    const bus = this.bus;
    if (acc === ACC_STORE) {
      // Code pages and pages other harts hold reservations in take the full path
      // (invalidation, reservation breaking).
      const page = off >>> 12;
      if (this.jit !== null && this.jit.isCodePage(page)) return -1;
      if (bus.resv.any && bus.resv.reservedByOthers(this, page)) return -1;
    }
    const t = this.tlb[acc]!;
    t[k << 2] = sh[b]!; t[(k << 2) + 1] = sh[b + 1]!; t[(k << 2) + 2] = off;
    const o = off + (va - pageVa);
    if (acc === ACC_STORE && bus.onStore !== null) bus.onStore(o, size);
    return o;
  }
  /**
   * The translation context of the access set up by setCtx: effective privilege, SUM and MXR
   * (while V = 1 the live mstatus holds vsstatus's), satp.MODE (vsatp's while V = 1); for a
   * two-stage translation also the HS-level MXR and hgatp.MODE. The roots are compared apart.
   */
  private shadowKey(): number {
    const k = this.ePriv | (this.mstatus & (C.MSTATUS_SUM | C.MSTATUS_MXR)) | (this.satpMode << 24);
    return this.eVirt ? k | 4 | ((this.other.status & C.MSTATUS_MXR) !== 0 ? 8 : 0) | (this.hgatpMode << 4) : k;
  }

  private mmioDevice(pa: number, size: number, acc: number, va: number): MmioDevice {
    const d = this.bus.findDevice(pa, size);
    if (d === undefined) this.accessFault(acc, this.vaBig(va));
    return d;
  }

  // ----------------------------------------------------------------------
  // Loads and stores. Addresses arrive as (lo, hi): the low and high 32-bit words of the
  // 64-bit effective address, so the TLB hit path is pure int32 arithmetic.
  // ----------------------------------------------------------------------
  /** The exact VA as a number; addresses beyond ±2^53 can never translate: fault on them. */
  private vaOf(lo: number, hi: number, acc: number): number {
    if (hi > 0x1fffff || hi < -0x200000) {
      this.badAddress(acc, BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0)));
    }
    return hi * TWO32 + (lo >>> 0);
  }

  /**
   * Buffer offset of the `size` bytes loaded from (lo, hi): in RAM, or, when the access went to
   * a device or crossed a page, in this hart's load scratch (the value little-endian, also in
   * `slowVal` zero-extended), so callers read the value the same way in every case.
   */
  ldo(lo: number, hi: number, size: number): number {
    const t = this.tlb[ACC_LOAD]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    return this.loadSlow(lo, hi, size);
  }
  private loadSlow(lo: number, hi: number, size: number): number {
    const va = this.vaOf(lo, hi, ACC_LOAD);
    if ((lo & 4095) + size > 4096) {
      this.slowVal = this.loadCrossing(va, size);
      this.dv.setBigUint64(this.scratchOff, this.slowVal, true);
      return this.scratchOff;
    }
    const o = this.resolve(va, size, ACC_LOAD);
    if (o >= 0) return o;
    this.slowVal = this.mmioRead(this.mmioPa, size, va);
    this.dv.setBigUint64(this.scratchOff, this.slowVal, true);
    return this.scratchOff;
  }
  private mmioRead(pa: number, size: number, va: number): bigint {
    const d = this.mmioDevice(pa, size, ACC_LOAD, va);
    const v = d.read(pa - d.base, size) & ((1n << BigInt(size * 8)) - 1n);
    if (this.obs) this.obs.mmio(this, d.name, pa, size, v, false);
    return v;
  }
  /** A misaligned access spanning two pages: translate both (faults first), then byte-wise. */
  private loadCrossing(va: number, size: number): bigint {
    const first = 4096 - (va - Math.floor(va / 4096) * 4096);
    this.resolve(va, first, ACC_LOAD);
    this.resolve(va + first, size - first, ACC_LOAD);
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) {
      const o = this.resolve(va + k, 1, ACC_LOAD);
      const b = o >= 0 ? BigInt(this.dv.getUint8(o)) : this.mmioRead(this.mmioPa, 1, va + k);
      v = (v << 8n) | b;
    }
    return v;
  }

  /** Buffer offset for a RAM store, or -1: then the caller completes it with `storeSlow`. */
  sto(lo: number, hi: number, size: number): number {
    const t = this.tlb[ACC_STORE]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    const va = this.vaOf(lo, hi, ACC_STORE);
    if ((lo & 4095) + size > 4096) return -1;
    return this.resolve(va, size, ACC_STORE);
  }
  /**
   * Store of the low `size` bytes of x[rs] at (lo, hi): the buffer offset for the caller to
   * write to (RAM), or -1 when the store was done here (device, page crossing).
   */
  stx(lo: number, hi: number, size: number, rs: number): number {
    const t = this.tlb[ACC_STORE]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    return this.stxMiss(lo, hi, size, rs);
  }
  /** stx after a store-TLB miss. */
  private stxMiss(lo: number, hi: number, size: number, rs: number): number {
    const o = this.sto(lo, hi, size);
    if (o >= 0) return o;
    this.storeSlow(lo, hi, size, BigInt.asUintN(64, this.x[rs]!));
    return -1;
  }
  /** Device store or page-crossing store of the low `size` bytes of v. */
  storeSlow(lo: number, hi: number, size: number, v: bigint): void {
    const va = this.vaOf(lo, hi, ACC_STORE);
    if ((lo & 4095) + size > 4096) {
      const first = 4096 - (va - Math.floor(va / 4096) * 4096);
      this.resolve(va, first, ACC_STORE);
      this.resolve(va + first, size - first, ACC_STORE);
      for (let k = 0; k < size; k++) {
        const b = BigInt.asUintN(8, v >> BigInt(8 * k));
        const o = this.resolve(va + k, 1, ACC_STORE);
        if (o >= 0) this.dv.setUint8(o, Number(b));
        else this.mmioWrite(this.mmioPa, 1, b, va + k);
      }
      return;
    }
    const o = this.resolve(va, size, ACC_STORE);
    if (o >= 0) {
      for (let k = 0; k < size; k++) this.dv.setUint8(o + k, Number(BigInt.asUintN(8, v >> BigInt(8 * k))));
      return;
    }
    this.mmioWrite(this.mmioPa, size, BigInt.asUintN(size * 8, v), va);
  }
  private mmioWrite(pa: number, size: number, v: bigint, va: number): void {
    const d = this.mmioDevice(pa, size, ACC_STORE, va);
    if (this.obs) this.obs.mmio(this, d.name, pa, size, v, true);
    d.write(pa - d.base, size, v);
  }

  /**
   * Physical address of an aligned atomic access (LR/SC/AMO), after the alignment check:
   * misaligned AMOs raise store/AMO address-misaligned, LR raises load address-misaligned
   * (priv spec §3.6.3.2; as QEMU). AMOs need read and write permission; their faults are
   * store/AMO faults.
   */
  atomicOff(va: number, size: number, acc: number): number {
    if (va % size !== 0) {
      this.raise(acc === ACC_LOAD ? C.CAUSE_MISALIGNED_LOAD : C.CAUSE_MISALIGNED_STORE, this.vaBig(va));
    }
    const o = this.resolve(va, size, acc);
    if (o < 0) this.accessFault(acc, this.vaBig(va)); // no atomics on devices
    return o;
  }

  /** Physical address for LR/SC reservation from a buffer offset. */
  offToPa(o: number): number {
    return o - this.ramOffset + this.bus.ramBase;
  }

  /** Read guest physical memory (firmware use). Throws ImageError-like Error outside RAM. */
  readPhys(pa: number, len: number): Uint8Array {
    return this.bus.readRam(pa, len);
  }

  // ======================================================================
  // Fetch
  // ======================================================================
  /** Make pc's page the current fetch page if it can be cached (else fetchVa stays NaN). */
  private fetchFill(pc: number): void {
    if (this.onFetchPage !== null) this.onFetchPage(this, Math.floor(pc / 4096));
    const plo = pc | 0; // ToInt32: exact low word of the (safe-integer) pc
    const pageVa = pc - (plo & 4095);
    const k = ((plo >>> 12) & TLB_MASK) << 2;
    const t = this.tlb[ACC_FETCH]!;
    const tlo = plo & -4096, thi = Math.floor(pc / TWO32) | 0;
    this.fetchVa = NaN;
    if (t[k] !== tlo || t[k + 1] !== thi) {
      this.resolve(pc, 2, ACC_FETCH);
      // Not cacheable (PMP granularity finer than a page): per-fetch checks.
      if (t[k] !== tlo || t[k + 1] !== thi) return;
    }
    this.fetchVa = pageVa;
    this.fetchOff = t[k + 2]!;
  }
  /** Fetch the raw instruction at pc (16 bits for RVC, else 32); faults throw. */
  private fetchSlow(pc: number): number {
    const o = this.resolve(pc, 2, ACC_FETCH);
    const lo16 = this.dv.getUint16(o, true);
    if ((lo16 & 3) !== 3) return lo16;
    // The upper half may sit on the next page: its fault reports that address (§3.1.16).
    const o2 = this.resolve(pc + 2, 2, ACC_FETCH);
    return lo16 | (this.dv.getUint16(o2, true) << 16);
  }

  // ======================================================================
  // The interpreter
  // ======================================================================
  /**
   * Run at most `budget` instructions (steps). Returns the number of steps taken. Stops early
   * when the hart parks (WFI), stops (HSM), or the machine halts.
   */
  run(budget: number): number {
    const start = this.steps;
    const end = start + budget;
    this.sliceCut = false;
    for (;;) {
      // A timer compare written during the slice may bring the deadline forward (timerChanged).
      const e = end < this.timerCut ? end : this.timerCut;
      if (!(this.steps < e && this.state === HartState.Running && !this.env.halted && this.fatal === null)) break;
      try {
        this.loop(e);
      } catch (e) {
        if (e !== TRAP) throw e;
        this.steps++;
        this.notRetired++;
        this.enterTrap(this.excCause, false, this.excTval);
      }
    }
    if (this.steps >= this.timerCut) {
      this.timerCut = Infinity;
      this.sliceCut = true;
    }
    return this.steps - start;
  }

  /**
   * Step count (this.steps) at which the current slice must end because a timer compare
   * (stimecmp, vstimecmp, htimedelta, mtimecmp, ...) written during the slice moved this hart's
   * deadline before the slice's planned end; Infinity = none. The scheduler plans slices to
   * end at deadlines (DESIGN.md §3); this keeps that exact when the deadline changes mid-slice.
   */
  timerCut = Infinity;
  /** Set when the last run() ended at timerCut: the scheduler must re-plan (precise replay). */
  sliceCut = false;
  private replan = false;
  /** A timer compare of this hart changed: end the slice at the new deadline if it is earlier. */
  timerChanged(): void {
    const nd = this.env.nextDeadline;
    if (nd === undefined) return;
    const d = nd.call(this.env, this) - this.vtimeOffset; // as a step count
    if (d > this.steps && d < this.timerCut) {
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
      if (this.state !== HartState.Running || this.env.halted || this.fatal !== null) return true;
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
    const dd = dc.data, dImm64 = dc.imm64;
    const opClass = OP_CLASS, opFlags = OP_FLAGS;
    const tl = this.tlb[ACC_LOAD]!, ts = this.tlb[ACC_STORE]!;
    const jit = this.jit !== null && this.jit.enabled ? this.jit : null;
    // Translated blocks are looked up only where one can start: at loop entry (after a trap,
    // an interrupt check or a block exit) and after a control-transfer instruction.
    let entry = true;
    // The breakpoint filter only changes between runs: read it once.
    const bf = this.breakFilter;
    while (this.steps < end) {
      if (this.attention && this.serviceAttention()) return;
      const pc = this.pc;
      if (bf !== null && bf[(pc >>> 1) & (BREAK_FILTER_SIZE - 1)] !== 0 && this.onBreakPc !== null) this.onBreakPc(this);
      // ---- fetch ----
      let raw: number;
      // Decode-cache slot: by physical address where the fetch page is known (sequential code
      // stays in neighbouring cache lines), else by the instruction bits.
      let s: number;
      let po = pc - this.fetchVa;
      if (!(po >= 0 && po < 4096)) {
        this.fetchFill(pc);
        po = pc - this.fetchVa;
      }
      if (po >= 0 && po < 4096) {
        const o = (this.fetchOff + po) | 0; // an int32 index keeps DataView on its fast path
        if (jit !== null && entry) {
          const js = jit.lookup(o, pc, dv);
          if (js >= 0 && this.steps + jit.len[js]! <= end && (bf === null || jit.breakFree(js, bf, this.breakStamp))) {
            jit.fn[js]!(this, x, xi, dv, end);
            continue;
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
      const b = s * 8;
      if (dd[b]! !== raw) dc.fill(s, raw);
      const rd = dd[b + 2]!, rs1 = dd[b + 3]!, rs2 = dd[b + 4]!, imm = dd[b + 5]!;
      let npc = pc + dd[b + 6]!;
      const op = dd[b + 1]!;
      entry = (opFlags[op]! & F_CTRL) !== 0;
      // ---- execute ----
      switch (op) {
        case Op.JAL: { xi[rd * 2] = npc | 0; xi[rd * 2 + 1] = Math.floor(npc / TWO32); npc = pc + imm; break; }
        case Op.JALR: {
          const hi = xi[rs1 * 2 + 1]!, lo = xi[rs1 * 2]!;
          let tgt = hi * TWO32 + (lo >>> 0) + imm;
          if (hi > 0x1fffff || hi < -0x200000) tgt = this.pcFromBig(x[rs1]! + BigInt(imm));
          tgt -= tgt - Math.floor(tgt / 2) * 2; // clear bit 0
          xi[rd * 2] = npc | 0; xi[rd * 2 + 1] = Math.floor(npc / TWO32);
          npc = tgt;
          break;
        }
        // The helpers (lt/ltu, eaHi + ldo/stx TLB hits, setI32, shifts) are written out in the
        // generated cases: V8's inlining budget for this function runs out after a few of them
        // (measured), and a call per load, store or W-op costs more than the operation.
        // ---- BEGIN GENERATED: hot operations of src/isa/insns.ts (scripts/gen-insns.mjs; do not edit) ----
        case Op.LUI: { const v = imm; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
        case Op.AUIPC: { const v = pc + imm; xi[rd * 2] = v | 0; xi[rd * 2 + 1] = Math.floor(v / 4294967296); break; }
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
        case Op.SB: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4095 ? ts[i + 2]! + (lo & 4095) : this.stxMiss(lo, hi, 1, rs2); if (o >= 0) { dv.setInt8(o, xi[rs2 * 2]!); } break; }
        case Op.SH: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4094 ? ts[i + 2]! + (lo & 4095) : this.stxMiss(lo, hi, 2, rs2); if (o >= 0) { dv.setInt16(o, xi[rs2 * 2]!, true); } break; }
        case Op.SW: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4092 ? ts[i + 2]! + (lo & 4095) : this.stxMiss(lo, hi, 4, rs2); if (o >= 0) { dv.setInt32(o, xi[rs2 * 2]!, true); } break; }
        case Op.SD: { const a = xi[rs1 * 2]!, lo = (a + imm) | 0, hi = (xi[rs1 * 2 + 1]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0, i = ((lo >>> 12) & TLB_MASK) << 2; const o = ts[i] === (lo & -4096) && ts[i + 1] === hi && (lo & 4095) <= 4088 ? ts[i + 2]! + (lo & 4095) : this.stxMiss(lo, hi, 8, rs2); if (o >= 0) { dv.setInt32(o, xi[rs2 * 2]!, true); dv.setInt32(o + 4, xi[rs2 * 2 + 1]!, true); } break; }
        case Op.ADDI: x[rd] = x[rs1]! + dImm64[s]!; break;
        case Op.XORI: x[rd] = x[rs1]! ^ dImm64[s]!; break;
        case Op.ORI: x[rd] = x[rs1]! | dImm64[s]!; break;
        case Op.ANDI: x[rd] = x[rs1]! & dImm64[s]!; break;
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
          this.execSystem(op, dd[b + 7]!, raw, rd, rs1, rs2, imm);
          if (this.jumped) {
            this.jumped = false;
            entry = true;
            if (this.excNow) {
              // As run() does for a thrown TRAP: the step counts, the instruction does not retire.
              this.excNow = false;
              this.steps++;
              this.notRetired++;
              this.enterTrap(this.excCause, false, this.excTval);
              continue;
            }
            npc = this.pc;
          }
      }
      this.pc = npc;
      this.steps++;
    }
  }

  /** Less-common instructions: system, CSR, atomics, FP. Returns the next pc. */
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
          this.state = HartState.Wfi;
          this.attention = true;
        }
        return;
      case Op.SFENCE_VMA:
        // mstatus.TVM governs HS-mode; hstatus.VTVM VS-mode; VU-mode: virtual instruction.
        if (this.virt) {
          if (this.priv === C.PRV_U || (this.hstatus & C.HSTATUS_VTVM) !== 0) this.virtualInsn(raw);
        } else if (this.priv === C.PRV_U || (this.priv === C.PRV_S && (this.mstatus & C.MSTATUS_TVM) !== 0)) {
          this.illegal(raw);
        }
        this.flushTlb();
        return;
      case Op.HFENCE_VVMA: case Op.HFENCE_GVMA:
        // Hypervisor fences: virtual instruction in VS/VU, illegal in U; HFENCE.GVMA is illegal
        // in HS-mode with mstatus.TVM = 1 (§8.3.2).
        if (this.virt) this.virtualInsn(raw);
        if (this.priv === C.PRV_U) this.illegal(raw);
        if (op === Op.HFENCE_GVMA && this.priv === C.PRV_S && (this.mstatus & C.MSTATUS_TVM) !== 0) this.illegal(raw);
        this.flushTlb();
        if (op === Op.HFENCE_GVMA) this.flushGTlb();
        return;
      case Op.HLV_B: case Op.HLV_BU: case Op.HLV_H: case Op.HLV_HU: case Op.HLVX_HU: case Op.HLV_W:
      case Op.HLV_WU: case Op.HLVX_WU: case Op.HLV_D: case Op.HSV_B: case Op.HSV_H: case Op.HSV_W: case Op.HSV_D:
        this.execHlv(op, raw, rd, rs1, rs2);
        return;
      case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI: {
        const csr = imm;
        const isImm = op >= Op.CSRRWI;
        const src = isImm ? BigInt(rs1) : BigInt.asUintN(64, x[rs1]!);
        const kind = isImm ? op - Op.CSRRWI : op - Op.CSRRW; // 0 rw, 1 rs, 2 rc
        // csrrw with rd=x0 does not read; csrrs/c with rs1/uimm = 0 do not write (§9.1).
        if (kind === 0) {
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
            this.csrWrite(csr, kind === 1 ? base | src : base & ~src, raw);
          }
          x[rd] = BigInt.asIntN(64, old);
        }
        // CSR writes can change interrupts, translation, counters: re-check before the next insn.
        this.attention = true;
        this.fetchVa = NaN;
        return;
      }
      case Op.LR_W: case Op.LR_D: {
        const size = op === Op.LR_W ? 4 : 8;
        const va = ea(this, xi, rs1, 0, ACC_LOAD);
        const o = this.atomicOff(va, size, ACC_LOAD);
        if (size === 4) setI32(xi, rd, this.bus.dv.getInt32(o, true));
        else { xi[rd * 2] = this.bus.dv.getInt32(o, true); xi[rd * 2 + 1] = this.bus.dv.getInt32(o + 4, true); }
        this.bus.resv.reserve(this, this.offToPa(o));
        return;
      }
      case Op.SC_W: case Op.SC_D: {
        const size = op === Op.SC_W ? 4 : 8;
        const va = ea(this, xi, rs1, 0, ACC_STORE);
        const o = this.atomicOff(va, size, ACC_STORE);
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
    const va = ea(this, this.xi, rs1, 0, ACC_STORE);
    const base = va - (va - Math.floor(va / CBO_BLOCK) * CBO_BLOCK);
    if (op === Op.CBO_ZERO) {
      const o = this.resolve(base, CBO_BLOCK, ACC_STORE);
      if (o >= 0) {
        for (let k = 0; k < CBO_BLOCK; k += 4) this.dv.setInt32(o + k, 0, true);
      } else {
        for (let k = 0; k < CBO_BLOCK; k += 8) this.mmioWrite(this.mmioPa + k, 8, 0n, base + k);
      }
      return;
    }
    try {
      this.resolve(base, CBO_BLOCK, ACC_LOAD);
    } catch (e) {
      if (e !== TRAP) throw e;
      // Not even readable: the fault is reported as the store form of the same fault.
      const c = this.excCause;
      this.excCause = c === C.CAUSE_LOAD_PAGE_FAULT ? C.CAUSE_STORE_PAGE_FAULT
        : c === C.CAUSE_LOAD_GUEST_PAGE_FAULT ? C.CAUSE_STORE_GUEST_PAGE_FAULT
          : c === C.CAUSE_LOAD_ACCESS ? C.CAUSE_STORE_ACCESS : c;
      throw e;
    }
  }

  /** Virtual-instruction exception (cause 22, §8.6.1); tval holds the instruction like illegal. */
  virtualInsn(insnBits: number): never {
    return this.raise(C.CAUSE_VIRTUAL_INSTRUCTION, BigInt(insnBits >>> 0));
  }

  /**
   * HLV/HLVX/HSV (§8.3.1): loads and stores as VS/VU (hstatus.SPVP) with two-stage translation,
   * from M, HS, or U with hstatus.HU; virtual instruction in VS/VU.
   */
  private execHlv(op: number, raw: number, rd: number, rs1: number, rs2: number): void {
    if (this.virt) this.virtualInsn(raw);
    if (this.priv === C.PRV_U && (this.hstatus & C.HSTATUS_HU) === 0) this.illegal(raw);
    const va = ea(this, this.xi, rs1, 0, op >= Op.HSV_B ? ACC_STORE : ACC_LOAD);
    this.hlv = op === Op.HLVX_HU || op === Op.HLVX_WU ? 2 : 1;
    try {
      switch (op) {
        case Op.HSV_B: this.hypStore(va, 1, this.getX(rs2)); return;
        case Op.HSV_H: this.hypStore(va, 2, this.getX(rs2)); return;
        case Op.HSV_W: this.hypStore(va, 4, this.getX(rs2)); return;
        case Op.HSV_D: this.hypStore(va, 8, this.getX(rs2)); return;
      }
      const size = op === Op.HLV_B || op === Op.HLV_BU ? 1 : op === Op.HLV_H || op === Op.HLV_HU || op === Op.HLVX_HU ? 2 : op === Op.HLV_D ? 8 : 4;
      const v = this.hypLoad(va, size);
      const signed = op === Op.HLV_B || op === Op.HLV_H || op === Op.HLV_W;
      this.x[rd] = signed ? BigInt.asIntN(size * 8, v) : BigInt.asIntN(64, v);
    } finally {
      this.hlv = 0;
    }
  }
  /** A load at `va` in the current (HLV) context, bypassing the TLB. Faults throw TRAP. */
  private hypLoad(va: number, size: number): bigint {
    const off = va - Math.floor(va / 4096) * 4096;
    if (off + size > 4096) return this.loadCrossing(va, size);
    const o = this.resolve(va, size, ACC_LOAD);
    if (o < 0) return this.mmioRead(this.mmioPa, size, va);
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.dv.getUint8(o + k));
    return v;
  }
  private hypStore(va: number, size: number, v: bigint): void {
    const lo = va | 0, hi = Math.floor(va / TWO32) | 0;
    this.storeSlow(lo, hi, size, v);
  }

  /**
   * Guest-virtual memory as HLV/HLVX/HSV see it (two-stage, hstatus.SPVP privilege), for native
   * hypervisor code: the value, or null on a fault (cause and tval in excCause/excTval; no trap
   * is taken).
   */
  guestLoad(va: bigint, size: 1 | 2 | 4 | 8, exec: boolean): bigint | null {
    const n = pcNumber(va);
    this.hlv = exec ? 2 : 1;
    try {
      if (n === WILD || n === -WILD) this.badAddress(ACC_LOAD, va);
      return this.hypLoad(n, size);
    } catch (e) {
      if (e !== TRAP) throw e;
      return null;
    } finally {
      this.hlv = 0;
    }
  }
  /** HSV for native hypervisor code: false on a fault (see guestLoad). */
  guestStore(va: bigint, size: 1 | 2 | 4 | 8, value: bigint): boolean {
    const n = pcNumber(va);
    this.hlv = 1;
    try {
      if (n === WILD || n === -WILD) this.badAddress(ACC_STORE, va);
      this.hypStore(n, size, BigInt.asUintN(size * 8, value));
      return true;
    } catch (e) {
      if (e !== TRAP) throw e;
      return false;
    } finally {
      this.hlv = 0;
    }
  }

  private execAmo(op: number, rd: number, rs1: number, rs2: number): void {
    const xi = this.xi, x = this.x, dv = this.bus.dv;
    const isW = op <= Op.AMOMAXU_W;
    const va = ea(this, xi, rs1, 0, ACC_STORE);
    this.amoAccess = true;
    let o: number;
    try {
      o = this.atomicOff(va, isW ? 4 : 8, ACC_STORE);
    } finally {
      this.amoAccess = false;
    }
    const k = isW ? op - Op.AMOSWAP_W : op - Op.AMOSWAP_D;
    if (isW) {
      const old = dv.getInt32(o, true);
      const b = xi[rs2 * 2]!;
      let n: number;
      switch (k) {
        case 0: n = b; break;
        case 1: n = (old + b) | 0; break;
        case 2: n = old ^ b; break;
        case 3: n = old & b; break;
        case 4: n = old | b; break;
        case 5: n = old < b ? old : b; break;
        case 6: n = old > b ? old : b; break;
        case 7: n = (old >>> 0) < (b >>> 0) ? old : b; break;
        default: n = (old >>> 0) > (b >>> 0) ? old : b; break;
      }
      dv.setInt32(o, n, true);
      setI32(xi, rd, old);
    } else {
      const old = dv.getBigInt64(o, true);
      const b = x[rs2]!;
      let n: bigint;
      switch (k) {
        case 0: n = b; break;
        case 1: n = old + b; break;
        case 2: n = old ^ b; break;
        case 3: n = old & b; break;
        case 4: n = old | b; break;
        case 5: n = old < b ? old : b; break;
        case 6: n = old > b ? old : b; break;
        case 7: n = BigInt.asUintN(64, old) < BigInt.asUintN(64, b) ? old : b; break;
        default: n = BigInt.asUintN(64, old) > BigInt.asUintN(64, b) ? old : b; break;
      }
      dv.setBigInt64(o, BigInt.asIntN(64, n), true);
      x[rd] = old;
    }
  }
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------
function isFetchFault(cause: number): boolean {
  return cause === C.CAUSE_FETCH_ACCESS || cause === C.CAUSE_FETCH_PAGE_FAULT || cause === C.CAUSE_FETCH_GUEST_PAGE_FAULT;
}

function highestIrq(bits: number): number {
  for (let k = 0; k < C.IRQ_PRIORITY.length; k++) {
    const c = C.IRQ_PRIORITY[k]!;
    if (bits & (1 << c)) return c;
  }
  return -1;
}

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

/**
 * Effective address x[rs1] + imm as an exact number. Registers beyond ±2^53 cannot hold a
 * reachable address: raise the access's fault with the exact 64-bit value.
 */
function ea(h: Hart, xi: Int32Array, rs1: number, imm: number, acc: number): number {
  const hi = xi[rs1 * 2 + 1]!;
  if (hi > 0x1fffff || hi < -0x200000) {
    const v = BigInt.asIntN(64, h.x[rs1]! + BigInt(imm));
    if (v < BigInt(Number.MAX_SAFE_INTEGER) && v > -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    return h.badAddress(acc, BigInt.asUintN(64, v));
  }
  return hi * TWO32 + (xi[rs1 * 2]! >>> 0) + imm;
}

/**
 * A 64-bit pc value as the interpreter's number. Values beyond ±2^53 can never be fetched; they
 * are mapped to a non-canonical number that faults in every translation mode. (The exact
 * value is lost only for such wild jumps.)
 */
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;
export function pcNumber(v: bigint): number {
  const s = BigInt.asIntN(64, v);
  if (s <= MAX_SAFE_BIG && s >= MIN_SAFE_BIG) return Number(s);
  return s > 0n ? 2 ** 53 : -(2 ** 53);
}
