/**
 * The board's clock (src/mem/device.ts `Clock`), injected into every device that needs the time
 * (CLINT, goldfish RTC) at construction.
 *
 * Virtual time belongs to harts (DESIGN.md §3): each has its own, its retired-plus-trapped
 * instruction count placed on the round by the scheduler. A device access happens on the hart
 * running now, so the time a device sees is that hart's. The scheduler says which hart runs
 * (`Machine.current`, which reads and writes `hart` here); devices see only `now()`.
 */
import type { Clock } from '../mem/device.js';
import type { Hart } from '../hart/hart.js';

/** mtime ticks once per this many instructions (10 MHz at 1 GIPS, as QEMU -icount shift=0). */
export const INSNS_PER_TICK = 100;

/** mtime ticks (before the CLINT's guest offset) at a virtual time in instructions. */
export function ticksAt(vtime: number): bigint {
  return BigInt(Math.floor(vtime / INSNS_PER_TICK));
}

export class RunningHartClock implements Clock {
  constructor(public hart: Hart) {}
  now(): bigint {
    return ticksAt(this.hart.vtime());
  }
}
