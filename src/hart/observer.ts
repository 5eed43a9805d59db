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
  /** A trap was taken (after the CSRs were updated; `h.pc` is the handler address). fromVirt /
   * toVirt: the V bit before and after (priv spec chapter 8). */
  trap(h: Hart, cause: number, interrupt: boolean, epc: bigint, tval: bigint, fromPriv: number, toPriv: number,
    fromVirt: boolean, toVirt: boolean): void;
  /** mret / sret completed (V before and after in fromVirt/toVirt) (`h.pc` is the return address; `xretPc` the pc of the xRET, or of
   * the M-mode handler for native firmware). */
  trapReturn(h: Hart, insn: 'mret' | 'sret', fromPriv: number, toPriv: number, xretPc: number,
    fromVirt: boolean, toVirt: boolean): void;
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
  /** The built-in hypervisor handled a VM exit (a trap from a guest into HS-mode, or a VM stop). */
  vmExit?(h: Hart, exit: VmExitRecord): void;
  /** An MSI reached file `file` (0 M, 1 S, 1 + g guest g) of hart `target`'s IMSIC, sent by `h`. */
  msi?(h: Hart, target: number, file: number, eiid: number): void;
  /** The built-in hypervisor is about to enter vCPU `vcpu` of VM `vm` at `guestPc` (sret). */
  vmEntry?(h: Hart, vm: number, vcpu: number, guestPc: bigint): void;
}

/** One VM exit as the built-in hypervisor reports it (src/hypervisor/exits.ts has the codes). */
export interface VmExitRecord {
  readonly vm: number;
  readonly vcpu: number;
  /** Reason code (VM_EXIT in src/hypervisor/exits.ts) and its name. */
  readonly code: number;
  readonly reason: string;
  /** Guest pc of the exit (sepc). */
  readonly guestPc: bigint;
  /** Reason-specific value: SBI extension id, faulting GPA, instruction bits, irq number. */
  readonly detail: bigint;
  /** scause of the trap (bit 63 = interrupt); 0 for a VM stop without a trap. */
  readonly cause: bigint;
  /** Set when the exit stops the VM: why, in one line. */
  readonly message?: string;
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
