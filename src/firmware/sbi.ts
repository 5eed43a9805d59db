/**
 * The built-in SBI firmware: native M-mode in TypeScript (no M-mode code runs).
 *
 * A trap into M-mode reaches `handleTrap` after the hart has architecturally entered it
 * (mepc/mcause/mstatus updated), and the firmware leaves with a real `mret`, so traces show
 * the same trap / SBI call / trap return sequence as with OpenSBI. Implements SBI v2.0:
 * BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy extensions 0x00-0x08.
 * Machine setup (delegation, counters, PMP, menvcfg) follows what OpenSBI 1.2 does.
 */
import { Hart, HartState, ACC_LOAD } from '../hart/hart.js';
import * as C from '../hart/constants.js';

export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_DENIED = -4n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;
export const SBI_ERR_ALREADY_STARTED = -7n;
export const SBI_ERR_ALREADY_STOPPED = -8n;

export const EXT_BASE = 0x10;
export const EXT_TIME = 0x54494d45;
export const EXT_IPI = 0x735049;
export const EXT_RFENCE = 0x52464e43;
export const EXT_HSM = 0x48534d;
export const EXT_SRST = 0x53525354;
export const EXT_DBCN = 0x4442434e;

/** Our SBI implementation id (not in the SBI registry; chosen to be recognisable: "hv"). */
export const SBI_IMPL_ID = 0x6876n;
export const SBI_IMPL_VERSION = 0x00010000n;
/** SBI spec version 2.0: major in bits 30:24. */
export const SBI_SPEC_VERSION = 2n << 24n;

/** HSM states (SBI spec §9). */
export const HSM_STARTED = 0, HSM_STOPPED = 1, HSM_START_PENDING = 2, HSM_STOP_PENDING = 3,
  HSM_SUSPENDED = 4, HSM_SUSPEND_PENDING = 5, HSM_RESUME_PENDING = 6;

/** What the firmware needs from the board. */
export interface FirmwarePlatform {
  readonly harts: readonly Hart[];
  /** Guest console output (DBCN, legacy putchar). */
  consoleWrite(bytes: Uint8Array): void;
  /** One byte of console input, or -1. */
  consoleRead(): number;
  /** SRST / legacy shutdown. */
  systemReset(kind: 'poweroff' | 'reset', reason: number): void;
  /** Stop the run with an error (double fault etc.). */
  fatal(message: string): void;
}

/**
 * OpenSBI's delegations (sbi_hart.c delegate_traps): misaligned fetch, breakpoint, U-ecall,
 * page faults, and with the H extension VS-ecall, guest-page faults and virtual instruction.
 */
export const SBI_MEDELEG = (1 << C.CAUSE_MISALIGNED_FETCH) | (1 << C.CAUSE_BREAKPOINT) | (1 << C.CAUSE_USER_ECALL) |
  (1 << C.CAUSE_FETCH_PAGE_FAULT) | (1 << C.CAUSE_LOAD_PAGE_FAULT) | (1 << C.CAUSE_STORE_PAGE_FAULT) |
  (1 << C.CAUSE_VIRTUAL_SUPERVISOR_ECALL) | (1 << C.CAUSE_FETCH_GUEST_PAGE_FAULT) |
  (1 << C.CAUSE_LOAD_GUEST_PAGE_FAULT) | (1 << C.CAUSE_VIRTUAL_INSTRUCTION) | (1 << C.CAUSE_STORE_GUEST_PAGE_FAULT);
export const SBI_MIDELEG = C.MIP_SSIP | C.MIP_STIP | C.MIP_SEIP;

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export class BuiltinSbi {
  /** Per-hart HSM state. */
  readonly hsm: number[];
  /** Non-retentive suspend / start targets. */
  constructor(private readonly plat: FirmwarePlatform) {
    this.hsm = plat.harts.map(() => HSM_STOPPED);
    for (const h of plat.harts) h.mTrapHandler = (hart, cause, intr) => this.handleTrap(hart, cause, intr);
  }

  /**
   * M-mode setup of one hart, as OpenSBI does before entering the next stage (sbi_hart_init):
   * FS on, counters enabled, delegations, a PMP entry granting S/U everything, Sstc enabled.
   */
  private initHart(h: Hart): void {
    h.csrSet(C.CSR.mstatus, h.mstatusValue() | BigInt(3 << C.MSTATUS_FS_SHIFT), 'firmware');
    h.csrSet(C.CSR.fcsr, 0n, 'firmware');
    h.csrSet(C.CSR.mcounteren, 0xffffffffn, 'firmware');
    h.csrSet(C.CSR.scounteren, 7n, 'firmware');
    h.csrSet(C.CSR.medeleg, BigInt(SBI_MEDELEG), 'firmware');
    // LCOFI (Sscofpmf) too, as OpenSBI does when it finds scountovf (MIDELEG 0x3666 in its banner).
    h.csrSet(C.CSR.mideleg, BigInt(SBI_MIDELEG | (h.sscofpmf ? C.MIP_LCOFIP : 0)), 'firmware');
    h.csrSet(C.CSR.menvcfg, 1n << 63n, 'firmware'); // STCE: S-mode timer via stimecmp (Sstc)
    h.csrSet(C.CSR.pmpaddr0, (1n << 54n) - 1n, 'firmware'); // NAPOT: whole address space
    h.csrSet(C.CSR.pmpcfg0, 0x1fn, 'firmware'); // A=NAPOT, R|W|X
    h.csrSet(C.CSR.mie, 0n, 'firmware');
    h.csrSet(C.CSR.mtvec, 0n, 'firmware');
    h.csrSet(C.CSR.satp, 0n, 'firmware');
  }

  /** Enter S-mode at `entry` with a0/a1 set, through a real mret. */
  private enterSupervisor(h: Hart, entry: bigint, a0: bigint, a1: bigint): void {
    let ms = h.mstatusValue();
    ms &= ~BigInt(C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_SIE | C.MSTATUS_MIE);
    ms |= BigInt(C.PRV_S << C.MSTATUS_MPP_SHIFT);
    h.csrSet(C.CSR.mstatus, ms, 'firmware');
    h.csrSet(C.CSR.mepc, entry, 'firmware');
    h.setX(10, a0);
    h.setX(11, a1);
    h.doMret();
    // Native HS-mode software (the built-in hypervisor) takes over where its code would start.
    if (h.hsHandler) h.hsHandler.onEnter(h);
  }

  /** Cold boot of the boot hart: the next stage runs in S-mode with a0 = hartid, a1 = DTB. */
  boot(h: Hart, entry: bigint, dtb: bigint): void {
    h.runState = HartState.Running;
    this.hsm[h.id] = HSM_STARTED;
    this.initHart(h);
    this.enterSupervisor(h, entry, BigInt(h.id), dtb);
  }

  /**
   * HSM hart_start for native S-mode software (the built-in hypervisor starting its pCPUs):
   * the same checks and effects as the SBI call. Returns the SBI error code.
   */
  hartStart(id: number, addr: bigint, opaque: bigint, caller: Hart): bigint {
    const r = this.hsmCall(caller, 0, [BigInt(id), addr, opaque]);
    return r === null ? SBI_SUCCESS : r[0];
  }

  // --------------------------------------------------------------------------
  // Trap entry from the hart
  // --------------------------------------------------------------------------
  private handleTrap(h: Hart, cause: number, interrupt: boolean): void {
    if (interrupt) {
      // Only reachable if a guest enables M-level interrupts it cannot see: mask them again.
      if (cause === 7) h.csrSet(C.CSR.mie, BigInt(h.mie & ~C.MIP_MTIP), 'firmware');
      else if (cause === 3) h.csrSet(C.CSR.mie, BigInt(h.mie & ~C.MIP_MSIP), 'firmware');
      else if (cause === 11) h.csrSet(C.CSR.mie, BigInt(h.mie & ~C.MIP_MEIP), 'firmware');
      h.doMret();
      return;
    }
    const fromPriv = (h.mstatus & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
    if (cause === C.CAUSE_SUPERVISOR_ECALL) {
      this.ecall(h);
      return;
    }
    if (fromPriv === C.PRV_M) {
      this.plat.fatal(`hart ${h.id}: exception ${cause} (${C.EXCEPTION_NAMES[cause] ?? '?'}) in M-mode at 0x${h.mepc.toString(16)}`);
      return;
    }
    this.redirectToS(h, cause);
  }

  /**
   * Forward an exception the firmware does not handle to S-mode, as OpenSBI's
   * sbi_trap_redirect: S-mode sees exactly the trap it would have seen had it been delegated.
   * With the H extension a trap from VS/VU goes to VS-mode when hedeleg delegates it, else to
   * HS-mode with hstatus.SPV/SPVP/GVA, htval and htinst set from mtval2/mtinst.
   */
  private redirectToS(h: Hart, cause: number): void {
    const epc = h.mepc, tval = h.mtval;
    const fromPriv = (h.mstatus & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
    const prevVirt = (h.mstatusH & C.MSTATUSH_MPV) !== 0;
    const gva = (h.mstatusH & C.MSTATUSH_GVA) !== 0;
    const nextVirt = prevVirt && ((h.hedeleg >>> cause) & 1) !== 0;
    const vec = (nextVirt ? h.csrGet(C.CSR.vstvec) : h.stvec) & ~3n;
    if ((cause === C.CAUSE_FETCH_ACCESS || cause === C.CAUSE_FETCH_PAGE_FAULT) && epc === vec) {
      this.plat.fatal(`double fault: hart ${h.id} cannot fetch its ${nextVirt ? 'VS' : 'S'}-mode trap handler at 0x${vec.toString(16)} (${C.EXCEPTION_NAMES[cause]})`);
      return;
    }
    const spp = fromPriv === C.PRV_S ? C.MSTATUS_SPP : 0;
    const stackSie = (st: number): number => {
      st = (st & ~C.MSTATUS_SPIE) | ((st & C.MSTATUS_SIE) ? C.MSTATUS_SPIE : 0);
      return (st & ~C.MSTATUS_SIE & ~C.MSTATUS_SPP) | spp;
    };
    let msH = h.mstatusH & ~C.MSTATUSH_MPV;
    if (nextVirt) {
      h.csrSet(C.CSR.vstval, tval, 'firmware');
      h.csrSet(C.CSR.vsepc, epc, 'firmware');
      h.csrSet(C.CSR.vscause, BigInt(cause), 'firmware');
      h.csrSet(C.CSR.vsstatus, BigInt(stackSie(Number(h.csrGet(C.CSR.vsstatus) & 0xffffffffn)) >>> 0), 'firmware');
      msH |= C.MSTATUSH_MPV;
    } else {
      let hs = Number(h.csrGet(C.CSR.hstatus) & 0xffffffffn);
      if (prevVirt) hs = (hs & ~C.HSTATUS_SPVP) | (fromPriv === C.PRV_S ? C.HSTATUS_SPVP : 0);
      hs = (hs & ~(C.HSTATUS_SPV | C.HSTATUS_GVA)) | (prevVirt ? C.HSTATUS_SPV : 0) | (gva ? C.HSTATUS_GVA : 0);
      h.csrSet(C.CSR.hstatus, BigInt(hs >>> 0), 'firmware');
      h.csrSet(C.CSR.htval, h.mtval2, 'firmware');
      h.csrSet(C.CSR.htinst, h.mtinst, 'firmware');
      h.csrSet(C.CSR.stval, tval, 'firmware');
      h.csrSet(C.CSR.sepc, epc, 'firmware');
      h.csrSet(C.CSR.scause, BigInt(cause), 'firmware');
    }
    let ms = nextVirt ? h.mstatus : stackSie(h.mstatus);
    ms = (ms & ~C.MSTATUS_MPP) | (C.PRV_S << C.MSTATUS_MPP_SHIFT);
    const hi = BigInt(msH) << 32n;
    h.csrSet(C.CSR.mstatus, (h.mstatusValue() & ~0xffffffffn & ~(0xc0n << 32n)) | hi | BigInt(ms >>> 0), 'firmware');
    h.csrSet(C.CSR.mepc, vec, 'firmware');
    h.doMret();
    // Native HS-mode software sees the redirected trap as if it had been delegated.
    if (!nextVirt && h.hsHandler) h.hsHandler.onTrap(h, cause, false);
  }

  // --------------------------------------------------------------------------
  // SBI calls
  // --------------------------------------------------------------------------
  private ecall(h: Hart): void {
    const eid = Number(h.getX(17) & 0xffffffffn);
    const fid = Number(h.getX(16) & 0xffffffffn);
    const args = [h.getX(10), h.getX(11), h.getX(12), h.getX(13), h.getX(14), h.getX(15)];
    let error = SBI_SUCCESS;
    let value = 0n;
    let setA1 = true;
    const r = this.dispatch(h, eid, fid, args);
    if (r === null) {
      // The call does not return (hart_stop, system reset) or already left M-mode.
      return;
    }
    error = r[0];
    value = r[1];
    if (eid <= 0x08) setA1 = false; // legacy calls return one value in a0
    h.setX(10, U64(error));
    if (setA1) h.setX(11, U64(value));
    if (h.obs) {
      h.obs.sbiCall(h, { callerPriv: C.PRV_S, eid, fid, args, error: U64(error), value: U64(value), handler: 'firmware' });
    }
    h.csrSet(C.CSR.mepc, h.mepc + 4n, 'firmware');
    h.doMret();
  }

  private harts(): readonly Hart[] {
    return this.plat.harts;
  }

  /** Harts selected by (hart_mask, hart_mask_base) (SBI spec §3.2), or null if invalid. */
  private selectHarts(mask: bigint, base: bigint): number[] | null {
    const n = this.harts().length;
    if (base === U64(-1n)) return this.harts().map((_, i) => i);
    const out: number[] = [];
    for (let i = 0; i < 64; i++) {
      if ((mask >> BigInt(i)) & 1n) {
        const id = base + BigInt(i);
        if (id >= BigInt(n)) return null;
        out.push(Number(id));
      }
    }
    return out;
  }

  /** Returns [error, value], or null when the hart does not return to the caller here. */
  private dispatch(h: Hart, eid: number, fid: number, a: bigint[]): [bigint, bigint] | null {
    switch (eid) {
      case EXT_BASE: return this.base(fid, a);
      case EXT_TIME:
        if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
        this.setTimer(h, a[0]!);
        return [SBI_SUCCESS, 0n];
      case EXT_IPI: {
        if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
        const sel = this.selectHarts(a[0]!, a[1]!);
        if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
        for (const i of sel) this.sendIpi(i);
        return [SBI_SUCCESS, 0n];
      }
      case EXT_RFENCE: {
        // 0 fence.i, 1-2 sfence.vma(_asid), 3-6 hfence.gvma(_vmid) / hfence.vvma(_asid).
        if (fid > 6) return [SBI_ERR_NOT_SUPPORTED, 0n];
        const sel = this.selectHarts(a[0]!, a[1]!);
        if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
        // fence.i needs nothing (decode is keyed by instruction bits); the others flush TLBs
        // (one TLB holds the combined translation, whatever the stage).
        for (const i of sel) this.harts()[i]!.flushAllTlb();
        return [SBI_SUCCESS, 0n];
      }
      case EXT_HSM: return this.hsmCall(h, fid, a);
      case EXT_SRST: {
        const r = srstRequest(fid, a);
        if (Array.isArray(r)) return r;
        this.recordNoReturn(h, eid, fid, a);
        this.plat.systemReset(r.kind, r.reason);
        return null;
      }
      case EXT_DBCN: return this.dbcn(h, fid, a);
      // ---- legacy extensions (SBI spec §5), one return value in a0 ----
      case 0x00: this.setTimer(h, a[0]!); return [SBI_SUCCESS, 0n];
      case 0x01: this.plat.consoleWrite(Uint8Array.of(Number(a[0]! & 0xffn))); return [SBI_SUCCESS, 0n];
      case 0x02: return [BigInt(this.plat.consoleRead()), 0n];
      case 0x03: h.csrSet(C.CSR.sip, BigInt(h.mip & h.mideleg) & ~BigInt(C.MIP_SSIP), 'firmware'); return [SBI_SUCCESS, 0n];
      case 0x04: case 0x05: case 0x06: case 0x07: {
        const mask = a[0] === 0n ? null : this.readLegacyMask(h, a[0]!);
        const sel = mask === null ? this.harts().map((_, i) => i) : this.selectHarts(mask, 0n);
        if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
        for (const i of sel) {
          if (eid === 0x04) this.sendIpi(i);
          else this.harts()[i]!.flushAllTlb();
        }
        return [SBI_SUCCESS, 0n];
      }
      case 0x08:
        this.recordNoReturn(h, eid, fid, a);
        this.plat.systemReset('poweroff', 0);
        return null;
      default:
        return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  private recordNoReturn(h: Hart, eid: number, fid: number, args: bigint[]): void {
    if (h.obs) h.obs.sbiCall(h, { callerPriv: C.PRV_S, eid, fid, args, error: 0n, value: 0n, handler: 'firmware' });
  }

  private base(fid: number, a: bigint[]): [bigint, bigint] {
    switch (fid) {
      case 0: return [SBI_SUCCESS, SBI_SPEC_VERSION];
      case 1: return [SBI_SUCCESS, SBI_IMPL_ID];
      case 2: return [SBI_SUCCESS, SBI_IMPL_VERSION];
      case 3: {
        const e = Number(a[0]! & 0xffffffffn);
        const known = [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        return [SBI_SUCCESS, known.includes(e) && a[0]! < 0x100000000n ? 1n : 0n];
      }
      case 4: case 5: case 6: return [SBI_SUCCESS, 0n]; // mvendorid, marchid, mimpid
      default: return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  /** TIME.set_timer: program stimecmp (Sstc), which also clears a pending STIP. */
  private setTimer(h: Hart, t: bigint): void {
    h.csrSet(C.CSR.stimecmp, t, 'firmware');
  }

  /** Raise supervisor software interrupt on hart i (what OpenSBI does via MSIP). */
  private sendIpi(i: number): void {
    const t = this.harts()[i]!;
    t.setMipSw(t.mipSw | C.MIP_SSIP);
  }

  /** Legacy calls pass a pointer (S-mode virtual address) to an unsigned long hart mask. */
  private readLegacyMask(h: Hart, va: bigint): bigint | null {
    try {
      const savedPriv = h.priv;
      h.setPriv(C.PRV_S);
      try {
        const pa = h.translate(Number(BigInt.asIntN(32, va)), Number(BigInt.asIntN(32, va >> 32n)), ACC_LOAD);
        const b = h.readPhys(pa, 8);
        return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
      } finally {
        h.setPriv(savedPriv);
      }
    } catch {
      return null;
    }
  }

  private hsmCall(h: Hart, fid: number, a: bigint[]): [bigint, bigint] | null {
    const n = BigInt(this.harts().length);
    switch (fid) {
      case 0: { // hart_start(hartid, start_addr, opaque)
        if (a[0]! >= n) return [SBI_ERR_INVALID_PARAM, 0n];
        const id = Number(a[0]!);
        if (this.hsm[id] !== HSM_STOPPED) return [SBI_ERR_ALREADY_AVAILABLE, 0n];
        const t = this.harts()[id]!;
        if (!t.bus.isRam(Number(a[1]! & 0xffffffffffffn), 2)) return [SBI_ERR_INVALID_ADDRESS, 0n];
        this.hsm[id] = HSM_STARTED;
        this.startHart(t, a[1]!, a[2]!, h);
        return [SBI_SUCCESS, 0n];
      }
      case 1: { // hart_stop(): does not return on success
        this.hsm[h.id] = HSM_STOPPED;
        this.recordNoReturn(h, EXT_HSM, fid, a);
        h.runState = HartState.Stopped;
        h.attention = true;
        if (h.obs) h.obs.hartState(h, 'stop');
        return null;
      }
      case 2: { // hart_get_status(hartid)
        if (a[0]! >= n) return [SBI_ERR_INVALID_PARAM, 0n];
        return [SBI_SUCCESS, BigInt(this.hsm[Number(a[0]!)]!)];
      }
      case 3: { // hart_suspend(type, resume_addr, opaque)
        const type = a[0]!;
        if (type === 0n) {
          // Retentive suspend behaves like WFI: return to the caller when an interrupt is pending.
          this.hsm[h.id] = HSM_STARTED;
          if (!h.wakeable()) h.runState = HartState.Wfi;
          if (h.obs) h.obs.hartState(h, 'suspend');
          return [SBI_SUCCESS, 0n];
        }
        if (type === 0x80000000n) {
          // Non-retentive: resumes at resume_addr in S-mode with a0 = hartid, a1 = opaque.
          if (h.obs) h.obs.hartState(h, 'suspend');
          this.recordNoReturn(h, EXT_HSM, fid, a);
          if (!h.wakeable()) h.runState = HartState.Wfi;
          this.enterSupervisor(h, a[1]!, BigInt(h.id), a[2]!);
          return null;
        }
        return [SBI_ERR_INVALID_PARAM, 0n];
      }
      default: return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  /**
   * HSM start: the target enters S-mode at start_addr with a0 = hartid, a1 = opaque, satp = 0.
   * It starts at the caller's virtual time: a stopped hart's clock stood still where it stopped
   * (or at 0), and its first events must not carry a time before the start.
   */
  private startHart(t: Hart, addr: bigint, opaque: bigint, caller: Hart): void {
    t.vtimeOffset = Math.max(t.vtime(), caller.vtime()) - t.attempted;
    t.runState = HartState.Running;
    t.attention = true;
    if (t.obs) t.obs.hartState(t, 'start');
    this.initHart(t);
    this.enterSupervisor(t, addr, BigInt(t.id), opaque);
  }

  private dbcn(h: Hart, fid: number, a: bigint[]): [bigint, bigint] {
    // The buffer is physical memory: RAM, below 2^53.
    return dbcnCall(fid, a, this.plat, h.bus, (pa, len) =>
      (pa + BigInt(len) <= BigInt(Number.MAX_SAFE_INTEGER) && h.bus.isRam(Number(pa), Math.max(len, 1)) ? Number(pa) : null));
  }

}

/** Memory the DBCN buffer lives in (the board's bus). */
interface DbcnMemory {
  readRam(pa: number, len: number): Uint8Array;
  writeRam(pa: number, data: Uint8Array): void;
}

/**
 * SRST system_reset (SBI spec §10.1): the reset to perform, or the error for unsupported / invalid
 * arguments. Shared by the built-in SBI and the built-in hypervisor.
 */
export function srstRequest(fid: number, a: readonly bigint[]): [bigint, bigint] | { kind: 'poweroff' | 'reset'; reason: number } {
  if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
  const type = a[0]!, reason = a[1]!;
  if (type > 2n && type < 0xf0000000n) return [SBI_ERR_INVALID_PARAM, 0n];
  if (type >= 0xf0000000n) return [SBI_ERR_NOT_SUPPORTED, 0n];
  if (reason > 1n && reason < 0xe0000000n) return [SBI_ERR_INVALID_PARAM, 0n];
  return { kind: type === 0n ? 'poweroff' : 'reset', reason: Number(reason & 0xffffffffn) };
}

/**
 * The DBCN extension (SBI spec §12): console_write / console_read of `num_bytes` at the 128-bit
 * address (base_lo, base_hi), console_write_byte. `resolve` maps the buffer address to a RAM
 * address (the firmware: physical; the hypervisor: the guest's, through its memory map), or null
 * for an invalid buffer. Shared by the built-in SBI and the built-in hypervisor.
 */
export function dbcnCall(
  fid: number, a: readonly bigint[], con: Pick<FirmwarePlatform, 'consoleWrite' | 'consoleRead'>, mem: DbcnMemory,
  resolve: (addr: bigint, len: number) => number | null,
): [bigint, bigint] {
  switch (fid) {
    case 0: case 1: {
      const len = Number(a[0]! & 0xffffffffn);
      const pa = resolve(a[1]! | (a[2]! << 64n), len);
      if (pa === null) return [SBI_ERR_INVALID_PARAM, 0n];
      if (fid === 0) {
        con.consoleWrite(mem.readRam(pa, len));
        return [SBI_SUCCESS, BigInt(len)];
      }
      let k = 0;
      for (; k < len; k++) {
        const c = con.consoleRead();
        if (c < 0) break;
        mem.writeRam(pa + k, Uint8Array.of(c));
      }
      return [SBI_SUCCESS, BigInt(k)];
    }
    case 2:
      con.consoleWrite(Uint8Array.of(Number(a[0]! & 0xffn)));
      return [SBI_SUCCESS, 0n];
    default:
      return [SBI_ERR_NOT_SUPPORTED, 0n];
  }
}
