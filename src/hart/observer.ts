import type { Hart } from './hart.js';

/** Who caused a CSR write. */
export type CsrWriter = 'insn' | 'firmware' | 'hypervisor';

/**
 * The one narrow interface through which everything architecturally interesting that a hart
 * does can be seen. A hart holds `obs: HartObserver | null`; every call site is guarded by a
 * null check, so an unobserved run pays one compare per event, not per instruction.
 * All values are unsigned 64-bit bigints unless noted.
 */
export interface HartObserver {
  /** A trap was taken (after the CSRs were updated; `h.pc` is the handler address). */
  trap(h: Hart, cause: number, interrupt: boolean, epc: bigint, tval: bigint, fromPriv: number, toPriv: number): void;
  /** mret / sret completed (`h.pc` is the return address; `xretPc` the pc of the xRET, or of
   * the M-mode handler for native firmware). */
  trapReturn(h: Hart, insn: 'mret' | 'sret', fromPriv: number, toPriv: number, xretPc: number): void;
  /** A CSR was written: value before and after (WARL-legalised). */
  csrWrite(h: Hart, csr: number, oldValue: bigint, newValue: bigint, who: CsrWriter): void;
  /** A load or store reached a device. `value` is what was read or written. */
  mmio(h: Hart, device: string, pa: number, size: number, value: bigint, write: boolean): void;
  /** A hardware interrupt-pending line of this hart changed level (mip bit number). */
  irqLine(h: Hart, bit: number, level: boolean): void;
  /** An SBI call was handled by native firmware or the hypervisor. */
  sbiCall(h: Hart, call: SbiCallRecord): void;
  /** The hart changed HSM state (started, stopped, suspended, resumed). */
  hartState(h: Hart, state: 'start' | 'stop' | 'suspend' | 'resume'): void;
}

export interface SbiCallRecord {
  /** Privilege level of the caller (1 = S). */
  readonly callerPriv: number;
  readonly eid: number;
  readonly fid: number;
  readonly args: readonly bigint[];
  /** a0 on return (SBI error code, as unsigned 64-bit). */
  readonly error: bigint;
  /** a1 on return. */
  readonly value: bigint;
  /** Who handled it: 'firmware' (built-in SBI) or 'hypervisor'. */
  readonly handler: string;
}
