/**
 * What a hart calls out to (state.ts HartCore's hook fields and its board): watchpoints, native
 * M-mode firmware, the native HS-mode hypervisor, the board environment. Types only.
 */
import type { Hart } from './hart.js';

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
