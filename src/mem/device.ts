/**
 * The one small interface every memory-mapped device implements.
 *
 * Offsets are relative to `base`. `size` is the access width in bytes (1, 2, 4 or 8).
 * Values are zero-extended bigints: MMIO is not the hot path, and bigint keeps 64-bit
 * registers (mtime, mtimecmp) exact. A device never throws for a guest access: an
 * unimplemented register reads as 0 and ignores writes (as QEMU's virt devices do).
 */
export interface MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  read(offset: number, size: number): bigint;
  write(offset: number, size: number, value: bigint): void;
  /** Device state for checkpoints; must be plain data (numbers, bigints, arrays, objects). */
  saveState(): unknown;
  restoreState(state: unknown): void;
}

/**
 * Virtual time as a device sees it, injected by the board at construction: mtime ticks (10 MHz,
 * one tick per 100 instructions: DESIGN.md §3) of the hart running now, before any offset a guest
 * wrote to mtime. Devices read no ambient state and never the host clock; the board implements
 * it over the hart the scheduler runs (src/board/clock.ts), a unit test over a plain counter.
 */
export interface Clock {
  now(): bigint;
}

/** mip bit numbers driven by devices (privileged spec §3.1.9). */
export const IRQ_SSIP = 1;
export const IRQ_MSIP = 3;
export const IRQ_STIP = 5;
export const IRQ_MTIP = 7;
export const IRQ_SEIP = 9;
export const IRQ_MEIP = 11;

/** Where an interrupt controller drives a hart's interrupt-pending input lines. */
export interface HartIrqLines {
  /** Set or clear one hardware interrupt-pending line (bit number from the IRQ_* constants). */
  setIrqLine(hart: number, bit: number, level: boolean): void;
  /** A timer compare of `hart` was written: its next deadline may have moved (Hart.timerChanged). */
  timerChanged?(hart: number): void;
}

/** A source of level-triggered interrupts wired to the PLIC. */
export interface IrqController {
  setSourceLevel(source: number, level: boolean): void;
}
