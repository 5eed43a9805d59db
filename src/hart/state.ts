/**
 * A hart's state and its accessors: the register file, privilege and V, the CSR fields, the
 * counters, the TLB storage and its flushes, checkpoints. What acts on that state is split by
 * concern into a chain of classes, each in its own file, so that every `this.` call stays a
 * plain monomorphic method call (no indirection on the hot paths):
 *
 *   HartCore (state.ts) <- HartTraps (trap.ts) <- HartMmu (mmu.ts) <- Hart (hart.ts)
 *
 *  - trap.ts: raising exceptions (one preallocated Trap record per hart, thrown), enterTrap,
 *    the xRETs and interrupt selection;
 *  - mmu.ts: translation (satp, the VS and G stages), the TLBs and the shadow TLB, PMP checks,
 *    loads, stores and fetch;
 *  - hart.ts: the interpreter (run, the generated hot loop, system instructions) and CSR access.
 *
 * Representation:
 *  - x registers live in a BigInt64Array (64-bit arithmetic) with an Int32Array view of the same
 *    bytes for loads, stores, addresses and W-ops (no bigint <-> number conversion on those).
 *    Index 32 is a sink for writes to x0, so no instruction has to test rd != 0.
 *  - pc is a JS number holding the signed 64-bit value: exact for every address that can be
 *    fetched (|pc| < 2^53); a jump further away faults before it becomes the pc.
 *  - All guest state sits in the board's WebAssembly.Memory (Bus), registers and TLBs included.
 */
import type { Bus } from '../mem/bus.js';
import { X_SINK, type DecodeCache } from '../isa/decode.js';
import * as C from './constants.js';
import { Pmp } from './pmp.js';
import { Triggers, type TriggerSnapshot } from './trigger.js';
import type { HartObserver } from './observer.js';
import type { Jit } from './jit.js';
import type { Hart } from './hart.js';
import type { FpFlags } from '../isa/softfloat.js';
import type { AiaHart, AiaSnapshot } from './aia.js';

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
  /** Sdtrig triggers (trigger.ts; absent while in their reset state, so older checkpoints read as before). */
  trig?: TriggerSnapshot;
  /** Smaia/Ssaia state (src/hart/aia.ts); only on a board with IMSICs. */
  aia?: AiaSnapshot;
}
export interface HypSnapshot {
  virt: boolean; mstatusH: number; hstatus: number; hedeleg: number; hideleg: number; hvip: number;
  hcounteren: number; htimedelta: bigint; htval: bigint; htinst: bigint; hgatp: bigint; henvcfg: bigint;
  mtval2: bigint; mtinst: bigint; vstimecmp: bigint;
  other: { status: number; stvec: bigint; sscratch: bigint; sepc: bigint; scause: bigint; stval: bigint; satp: bigint };
}

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

/** A table holding buffer offsets (Bus.offsetArray): int32 unless the buffer exceeds 2 GiB. */
export type OffsetArray = Int32Array | Float64Array;

export const TLB_BITS = 8;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;
/**
 * PTEs a translation may read: the VS stage of Sv48 under Sv48x4 reads 4 VS PTEs, each after a
 * 4-level G-stage walk of its address, then walks the final GPA: 4 * (4 + 1) + 4.
 */
export const WL_MAX = 24;
/** Most PTEs a G-stage walk reads (Sv57x4), and int32 per G-stage walk-cache entry (3 per PTE). */
export const GW_MAX = 5, GW_W = 3 * GW_MAX;
/** Shadow TLB entry: page VA lo/hi, buffer offset, context key, root page, PMP version, G-stage
 * root page, walk log (1 + 3 * WL_MAX). */
export const SH_W = 7 + 1 + 3 * WL_MAX;
export const SH_LOG = 7;
export const TWO32 = 4294967296;
/** TLB "hi word" of an empty entry: no reachable address has bits 63:32 equal to this. */
export const TLB_EMPTY = 0x7fffffff;
/**
 * Layout of a hart's state area in the shared memory (Bus.hartStateOffset), in bytes from its
 * start: x registers (33 x i64, x[32] the x0 sink), f registers, the slow-load scratch, the
 * three TLBs (ACC_FETCH, ACC_LOAD, ACC_STORE; TLB_SIZE entries of 4 x int32 each), then 8 bytes
 * where a wasm unit leaves the pc it exits at and 4 for its FP guard (src/hart/wasm/tier.ts).
 */
export const HS_X = 0, HS_F = 512, HS_SCRATCH = 1016, HS_TLB = 1024;
export const HS_WASM_PC = HS_TLB + 3 * TLB_SIZE * 16, HS_WASM_FP = HS_WASM_PC + 8;
/** Where the TLBs are instead when they hold float64 words (Bus.bigOffsets): 3 x 8 KiB. */
export const HS_TLB_F64 = 16384;
/** Entries of the G-stage translation cache (a power of two). */
export const GTLB_SIZE = 1024;

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

export class HartCore {
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
  /**
   * The pc is pc + pcHi * 2^32 (mod 2^64). pcHi is 0 within ±2^53, where the number alone is
   * exact; a jump beyond (Sv57's upper user range, a wild jump) sets pcHi to the target's high
   * word and pc to its low word. Only pcFromBig (jumps, traps, xRETs, setPc) changes pcHi; no
   * translated block runs while it is non-zero (blocks bake pc numbers in).
   */
  pc = 0;
  pcHi = 0;

  // --- execution state ---
  runState: HartState = HartState.Stopped;
  /** Checked before every instruction: set when interrupts must be re-evaluated or the loop must stop. */
  attention = true;
  /** Instructions attempted (retired + faulted). Drives virtual time. */
  attempted = 0;
  /** steps - instret: instructions that trapped instead of retiring. */
  protected notRetired = 0;
  /** Offset such that this hart's virtual time (in instructions) = steps + vtimeOffset. */
  vtimeOffset = 0;
  /** Offsets applied by writes to minstret/mcycle. */
  protected instretAdj = 0n;
  protected cycleAdj = 0n;

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
  /**
   * Where softfloat accumulates the flags of the F/D operation being executed; execFp (or the
   * translated block) moves them into fflags right after it, so it is 0 between instructions
   * and not part of the snapshot.
   */
  readonly fpx: FpFlags = { flags: 0 };
  readonly pmp = new Pmp();
  /** The Sdtrig trigger module (trigger.ts): tselect, tdata1-3, tinfo. */
  readonly trig = new Triggers();
  /**
   * The access kinds armed triggers watch (trigger.ts TRIG_EXEC | TRIG_LOAD | TRIG_STORE), a
   * copy of trig.armed: 0 (the usual case) keeps every trigger check off the paths it guards.
   */
  trigArmed = 0;

  // --- hypervisor extension (priv spec chapter 8) ---
  /** hstatus low word (VSXL is composed on read). */
  hstatus = 0;
  hedeleg = 0;
  hideleg = 0;
  /** hvip: the VSSIP/VSTIP/VSEIP bits injected by the hypervisor. */
  hvip = 0;
  /** Smaia/Ssaia state and the IMSIC ports (src/hart/aia.ts); null without IMSICs (--aia aplic-imsic). */
  aia: AiaHart | null = null;
  hcounteren = 0;
  htimedelta = 0n;
  htval = 0n;
  htinst = 0n;
  hgatp = 0n;
  henvcfg = 0n;
  /** Svpbmt enables as small ints: bit 0 menvcfg.PBMTE, bit 1 henvcfg.PBMTE (envcfgChanged). */
  protected pbmteBits = 0;
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
  protected hgatpMode = 0;
  protected hgatpRoot = 0;

  // --- derived translation state (recomputed by updateTranslation) ---
  /** satp.MODE (0 bare, 8 Sv39, 9 Sv48). */
  protected satpMode = 0;
  protected satpRoot = 0;

  // --- TLBs, one per access kind, direct-mapped by VA bits 19:12. Entry k at 4k:
  //     [VA bits 31:12 (low word, page-aligned), VA bits 63:32, buffer offset of the page, 0].
  //     Lookups are pure int32 work (no doubles, no bigint). An empty entry has hi = EMPTY.
  //     The tables that hold buffer offsets are Int32Array while every offset fits in int32 and
  //     Float64Array for larger memories (Bus.offsetArray, Bus.bigOffsets): one array kind per
  //     machine, so the hot path of the default sizes is unchanged.
  protected readonly tlb: OffsetArray[];
  /** Shadow TLBs (see reinstate): SH_W numbers per slot, one array per access kind. */
  protected readonly shadow: OffsetArray[];
  /** PTEs read by the last translation, both stages: [count, (buffer offset, low word, high
   * word) x WL_MAX]; walkLogFull: it did not fit (the translation is then not kept). */
  protected readonly walkLog: OffsetArray;
  protected walkLogFull = false;
  /** Page-aligned VA of the current fetch page (NaN = none) and its buffer offset. */
  protected fetchVa = NaN;
  protected fetchOff = 0;
  /** Value produced by a load that went to a device or crossed a page. */
  slowVal = 0n;

  // --- LR/SC reservation (physical address, or -1) ---
  resvAddr = -1;

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

  protected readonly dv: DataView;
  protected readonly ramOffset: number;
  /** Buffer offset of 8 bytes in this hart's state area where slow loads leave their value (see loadOffset). */
  protected readonly scratchOff: number;

  /**
   * Step count (this.steps) at which the current slice must end because a timer compare
   * (stimecmp, vstimecmp, htimedelta, mtimecmp, ...) written during the slice moved this hart's
   * deadline before the slice's planned end; Infinity = none. The scheduler plans slices to
   * end at deadlines (DESIGN.md §3); this keeps that exact when the deadline changes mid-slice.
   */
  timerCut = Infinity;
  /** Set when the last run() ended at timerCut: the scheduler must re-plan (precise replay). */
  sliceCut = false;
  /** timerCut or hpmCut moved: the loop must return so that run() recomputes its end. */
  replan = false;
  /** The hart has Sscofpmf (counter overflow, LCOFI, scountovf; src/hart/hpm.ts). A board setting. */
  sscofpmf = false;
  /**
   * Step count at which an HPM counter can wrap next (Sscofpmf overflow, src/hart/hpm.ts):
   * run() stops there and polls, as at a timer deadline; Infinity = none armed.
   */
  hpmCut = Infinity;
  /**
   * Set while an mhpmevent has a mode-inhibit bit (Sscofpmf xINH): called after every privilege
   * mode change (trap entry, xRET; `pending`: the changing instruction still counts, in the old mode).
   */
  hpmModeHook: ((h: Hart, pending: boolean) => void) | null = null;

  constructor(id: number, bus: Bus, dc: DecodeCache, env: HartEnv) {
    this.id = id;
    this.bus = bus;
    this.dc = dc;
    this.env = env;
    this.dv = bus.dv;
    this.ramOffset = bus.ramOffset;
    const base = bus.hartStateOffset(id);
    const buf = bus.buffer;
    this.x = new BigInt64Array(buf, base + HS_X, 33);
    this.xi = new Int32Array(buf, base + HS_X, 66);
    this.f = new Float64Array(buf, base + HS_F, 32);
    this.fi = new Int32Array(buf, base + HS_F, 64);
    this.fb = new BigInt64Array(buf, base + HS_F, 32);
    this.scratchOff = base + HS_SCRATCH;
    this.tlb = [];
    // Three TLBs of TLB_SIZE * 4 entries: int32 ones at HS_TLB (where the wasm tier reads them),
    // float64 ones (Bus.bigOffsets, no wasm tier) at HS_TLB_F64.
    let o = base + (bus.bigOffsets ? HS_TLB_F64 : HS_TLB);
    for (let k = 0; k < 3; k++) {
      this.tlb.push(bus.offsetArray(TLB_SIZE * 4, o));
      o += TLB_SIZE * 4 * (bus.bigOffsets ? 8 : 4);
    }
    this.shadow = [0, 1, 2].map(() => bus.offsetArray(TLB_SIZE * SH_W).fill(-1));
    this.walkLog = bus.offsetArray(1 + 3 * WL_MAX);
    this.gtlbPte = bus.offsetArray(GTLB_SIZE * GW_W);
    this.gwOff = bus.offsetArray(GW_MAX);
    // misa: MXL=2 (RV64), extensions A C D F H I M S U (priv spec §3.1.1).
    const ext = 'ACDFHIMSU';
    let m = 2n << 62n;
    for (const c of ext) m |= 1n << BigInt(c.charCodeAt(0) - 65);
    this.misa = m;
    for (const t of this.tlb) for (let i = 1; i < t.length; i += 4) t[i] = TLB_EMPTY; // empty; not flushTlb(): see Hart's constructor
    bus.resv.register(this);
  }

  // ======================================================================
  // Counters
  // ======================================================================
  get instret(): number {
    return this.attempted - this.notRetired;
  }
  minstretValue(): bigint {
    return BigInt.asUintN(64, BigInt(this.instret) + this.instretAdj);
  }
  mcycleValue(): bigint {
    return BigInt.asUintN(64, BigInt(this.attempted) + this.cycleAdj);
  }
  setMinstret(v: bigint): void {
    this.instretAdj = v - BigInt(this.instret);
  }
  setMcycle(v: bigint): void {
    this.cycleAdj = v - BigInt(this.attempted);
  }
  /** Virtual time of this hart in instructions. */
  vtime(): number {
    return this.attempted + this.vtimeOffset;
  }

  // ======================================================================
  // Helpers for translated blocks (jit.ts)
  // ======================================================================
  /** The pc number for the 64-bit value v, setting pcHi (see pc). */
  pcFromBig(v: bigint): number {
    const s = BigInt.asIntN(64, v);
    if (s <= MAX_SAFE_BIG && s >= MIN_SAFE_BIG) {
      if (this.pcHi !== 0) this.setPcHi(0);
      return Number(s);
    }
    this.setPcHi(Number(BigInt.asIntN(32, s >> 32n)));
    return Number(s & 0xffffffffn);
  }
  private setPcHi(h: number): void {
    this.pcHi = h;
    // fetchVa is a page of pc numbers: with another pcHi the same numbers are other addresses.
    this.fetchVa = NaN;
  }
  /** The pc as a number for event rows and displays: exact within ±2^53, rounded beyond. */
  pcNum(): number {
    return this.pcHi === 0 ? this.pc : Number(BigInt.asIntN(64, this.getPc()));
  }
  /** Drop store-TLB entries that map buffer page `page` (it now holds translated code). */
  forgetStorePage(page: number): void {
    const t = this.tlb[ACC_STORE]!;
    for (let k = 0; k < t.length; k += 4) if (Math.floor(t[k + 2]! / 4096) === page) t[k + 1] = TLB_EMPTY;
  }

  // ======================================================================
  // Checkpoints
  // ======================================================================
  /** Everything architectural and scheduling-related about this hart, as plain data. */
  saveState(): HartSnapshot {
    return {
      x: Array.from(this.x.subarray(0, 32), (v) => BigInt.asUintN(64, v)),
      f: Array.from(this.fb, (v) => BigInt.asUintN(64, v)),
      pc: this.getPc(), priv: this.priv, state: this.runState,
      steps: this.attempted, notRetired: this.notRetired, vtimeOffset: this.vtimeOffset,
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
      ...this.trigState(),
      ...(this.aia !== null ? { aia: this.aia.save() } : {}),
    };
  }
  private trigState(): { trig?: TriggerSnapshot } {
    const t = this.trig.saveState();
    return t === undefined ? {} : { trig: t };
  }
  restoreState(s: HartSnapshot): void {
    this.trig.restoreState(s.trig);
    this.trigArmed = this.trig.armed;
    for (let i = 0; i < 32; i++) this.x[i] = BigInt.asIntN(64, s.x[i]!);
    this.x[X_SINK] = 0n;
    for (let i = 0; i < 32; i++) this.fb[i] = BigInt.asIntN(64, s.f[i]!);
    this.setPc(s.pc);
    this.priv = s.priv; this.runState = s.state as HartState;
    this.attempted = s.steps; this.notRetired = s.notRetired; this.vtimeOffset = s.vtimeOffset;
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
    this.envcfgChanged();
    this.mtval2 = y?.mtval2 ?? 0n;
    this.mtinst = y?.mtinst ?? 0n;
    this.vstimecmp = y?.vstimecmp ?? 0xffffffffffffffffn;
    Object.assign(this.other, y?.other ?? { status: 0, stvec: 0n, sscratch: 0n, sepc: 0n, scause: 0n, stval: 0n, satp: 0n });
    this.hgatp = 0n;
    this.setHgatp(y?.hgatp ?? 0n);
    if (this.aia !== null && s.aia) this.aia.restore(s.aia);
    this.mip = this.mipSw | this.mipHw | this.hvip;
    this.satp = 0n;
    this.setSatp(s.satp);
    this.flushTlb();
    this.fatal = null;
    this.timerCut = Infinity;
    this.hpmCut = Infinity; // re-armed by hpmRestoreState
    this.hpmModeHook = null;
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
  /** The exact 64-bit pc (see pc). */
  getPc(): bigint {
    const p = BigInt(this.pc);
    return BigInt.asUintN(64, this.pcHi === 0 ? p : p + (BigInt(this.pcHi) << 32n));
  }
  /** Set pc from a 64-bit value (any: fetch faults report it exactly). */
  setPc(v: bigint): void {
    this.pc = this.pcFromBig(v);
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
    const m = HartCore.BANKED_STATUS;
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
    return this.virt ? this.mstatus & HartCore.BANKED_STATUS : this.other.status;
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
    const m = HartCore.BANKED_STATUS;
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

  protected recomputeMip(): void {
    this.mip = this.mipSw | this.mipHw | this.hvip;
    this.attention = true;
  }
  /** hvip (§8.2.?): VSSIP/VSTIP/VSEIP injected by the hypervisor. */
  setHvip(v: number): void {
    this.hvip = v & C.MIP_VS_MASK;
    this.recomputeMip();
    if (this.runState === HartState.Wfi && (this.mip & this.mie) !== 0) this.runState = HartState.Running;
  }
  /** A hardware interrupt line (mip bit number) changed level. */
  setIrqLine(bit: number, level: boolean): void {
    const m = 1 << bit;
    const old = this.mipHw;
    this.mipHw = level ? old | m : old & ~m;
    if (this.mipHw !== old) {
      this.recomputeMip();
      if (this.obs) this.obs.irqLine(this as unknown as Hart, bit, level);
      if (this.runState === HartState.Wfi && (this.mip & this.mie) !== 0) this.runState = HartState.Running;
    }
  }
  setMipSw(v: number): void {
    this.mipSw = v & C.MIP_SW_WMASK;
    this.recomputeMip();
    if (this.runState === HartState.Wfi && (this.mip & this.mie) !== 0) this.runState = HartState.Running;
  }
  setMie(v: number): void {
    this.mie = v & C.MIE_MASK;
    this.attention = true;
    if (this.runState === HartState.Wfi && (this.mip & this.mie) !== 0) this.runState = HartState.Running;
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
    if (!C.satpModeOk(mode)) return;
    // MODE 63:60, ASID 59:44 (ASIDLEN = 16, as QEMU; the spec leaves it open, §4.1.11), PPN 43:0.
    this.satp = BigInt.asUintN(64, v);
    this.satpMode = mode;
    this.satpRoot = Number(this.satp & 0xfffffffffffn) * 4096;
    this.flushTlb();
  }
  /**
   * hgatp (§8.2.18): MODE Bare/Sv39x4/Sv48x4/Sv57x4, 14-bit VMID, root PPN with bits 1:0 zero. Unlike
   * satp, a write with an unsupported MODE is not ignored: the fields are WARL, and MODE keeps
   * its previous (legal) value.
   */
  setHgatp(v: bigint): void {
    let mode = Number(v >> 60n);
    if (!C.satpModeOk(mode)) mode = this.hgatpMode;
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
  protected readonly gtlbTag = new Float64Array(GTLB_SIZE).fill(-1);
  protected readonly gtlbHpa = new Float64Array(GTLB_SIZE);
  protected readonly gtlbRoot = new Float64Array(GTLB_SIZE);
  protected readonly gtlbPerm = new Uint8Array(GTLB_SIZE);
  /** Number of PTEs read by the cached walk, and per entry GW_MAX x [offset, lo, hi]. */
  protected readonly gtlbN = new Uint8Array(GTLB_SIZE);
  protected readonly gtlbPte: OffsetArray;
  /** Buffer offsets of the PTEs read by the walk in progress. */
  protected readonly gwOff: OffsetArray;
  /**
   * After a write or restore of menvcfg/henvcfg: recompute pbmteBits. PBMTE decides whether a
   * PTE's PBMT field faults, so cached translations of both stages are dropped.
   */
  envcfgChanged(): void {
    const bits = Number((this.menvcfg >> 62n) & 1n) | (Number((this.henvcfg >> 62n) & 1n) << 1);
    if (bits !== this.pbmteBits) {
      this.pbmteBits = bits;
      this.flushTlb();
      this.flushGTlb();
    }
  }
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
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;
