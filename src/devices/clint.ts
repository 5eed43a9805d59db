/**
 * SiFive CLINT (Core-Local Interruptor) as found on QEMU 7.2's `virt` board
 * (QEMU models it as an ACLINT MSWI + MTIMER pair laid out like the SiFive CLINT,
 * hw/intc/riscv_aclint.c).
 *
 * Register map (offsets from 0x0200_0000, size 0x10000):
 *   0x0000 + 4*hart   msip[hart]      bit 0 drives the hart's MSIP line (mip bit 3)
 *   0x4000 + 8*hart   mtimecmp[hart]  64-bit; also accessible as two 32-bit halves
 *   0xBFF8            mtime           64-bit; also accessible as two 32-bit halves
 *
 * Time: the board injects a `Clock` (src/mem/device.ts): `clock.now()` is the current virtual
 * mtime *before* the offset created by guest writes to mtime. `mtime() = (clock.now() + offset)
 * mod 2^64`, exactly like
 * QEMU's `cpu_riscv_read_rtc() = rtc_raw + time_delta`.
 *
 * MTIP is level-triggered: MTIP(hart) = mtime >= mtimecmp[hart] (unsigned compare, as in
 * QEMU's riscv_aclint_mtimer_write_timecmp: "if (timecmp <= rtc) raise"). The device has
 * no timers of its own (determinism): the scheduler calls `updateTimers()` whenever
 * virtual time advances past `nextDeadline()`; register writes update the lines at once.
 *
 * Access widths: QEMU accepts 4- and 8-byte accesses to the timer registers and 4-byte
 * accesses to msip (other widths raise an access fault there). MmioDevice never faults,
 * so here: 8-byte accesses to msip are split into two 32-bit accesses, and 1/2-byte
 * accesses read the addressed bytes of the register and ignore writes.
 */
import { IRQ_MSIP, IRQ_MTIP, type Clock, type HartIrqLines, type MmioDevice } from '../mem/device.js';

const MASK64 = (1n << 64n) - 1n;
const MASK32 = 0xffff_ffffn;

/** Returned by `nextDeadline` when no future rise of MTIP is scheduled. Larger than any mtime. */
export const CLINT_NO_DEADLINE = 1n << 64n;

export const CLINT_BASE = 0x0200_0000;
export const CLINT_SIZE = 0x10000;
const MSIP_BASE = 0x0000;
const MTIMECMP_BASE = 0x4000;
const MTIME_OFFSET = 0xbff8;

export interface ClintOptions {
  /**
   * Value every mtimecmp takes at reset. Defaults to all-ones (UINT64_MAX) so that no
   * timer interrupt is pending before software programs the timer.
   *
   * NOTE: QEMU 7.2 itself resets mtimecmp to 0 (riscv_aclint_mtimer_create sets
   * `s->timecmp[i] = 0`), so on real QEMU mip.MTIP reads as 1 from the first instruction
   * (verified: `csrr mip` at reset = 0x80, `ld mtimecmp[0]` = 0). Pass `0n` here for
   * bit-exact differential runs against QEMU.
   */
  resetMtimecmp?: bigint;
}

interface ClintState {
  msip: number[];
  mtimecmp: bigint[];
  offset: bigint;
  mtip: boolean[];
}

export class Clint implements MmioDevice {
  readonly name = 'clint';
  readonly base = CLINT_BASE;
  readonly size = CLINT_SIZE;

  private readonly msip: number[];
  private readonly mtimecmp: bigint[];
  /** Last MTIP level driven on each hart's line (so setIrqLine is only called on change). */
  private readonly mtip: boolean[];
  /** mtime = clock.now() + offset (mod 2^64). */
  private offset = 0n;
  private readonly resetMtimecmp: bigint;

  constructor(
    readonly numHarts: number,
    private readonly lines: HartIrqLines,
    private readonly clock: Clock,
    opts: ClintOptions = {},
  ) {
    if (!Number.isInteger(numHarts) || numHarts < 1 || numHarts > 4095) {
      throw new RangeError(`Clint: bad hart count ${numHarts}`);
    }
    this.resetMtimecmp = (opts.resetMtimecmp ?? MASK64) & MASK64;
    this.msip = new Array<number>(numHarts).fill(0);
    this.mtimecmp = new Array<bigint>(numHarts).fill(this.resetMtimecmp);
    this.mtip = new Array<boolean>(numHarts).fill(false);
    // With the default (all-ones) reset value nothing is driven here; with 0 (QEMU's
    // value) MTIP rises on every hart right away, as on QEMU.
    this.updateTimers();
  }

  /** Current mtime as the guest sees it. */
  mtime(): bigint {
    return (this.clock.now() + this.offset) & MASK64;
  }

  /** The offset guest mtime writes have added to the board clock (mtime = clock + offset mod 2^64). */
  mtimeOffset(): bigint {
    return this.offset;
  }

  /** mtimecmp of one hart (for debuggers / the scheduler). */
  mtimecmpOf(hart: number): bigint {
    this.checkHart(hart);
    return this.mtimecmp[hart]!;
  }

  /** Recompute every hart's MTIP = (mtime >= mtimecmp[hart]); drive lines that changed. */
  updateTimers(): void {
    const now = this.mtime();
    for (let h = 0; h < this.numHarts; h++) this.setMtip(h, now >= this.mtimecmp[h]!);
  }

  /**
   * Recompute one hart's MTIP at `mtime` (that hart's own virtual time, which the board knows
   * between slices). The CLINT is the only driver of MTIP: the level it caches must be the
   * line's level, or a later mtimecmp write that should lower MTIP is taken for a no-change (the
   * timer-interrupt storm of issue 12, where the board raised MTIP behind the CLINT's back).
   */
  updateTimer(hart: number, mtime: bigint): void {
    this.setMtip(hart, (mtime & MASK64) >= this.mtimecmp[hart]!);
  }

  /**
   * The mtime value at which `hart`'s MTIP will rise: mtimecmp[hart] while it is still in
   * the future. Returns CLINT_NO_DEADLINE (2^64, larger than any mtime) when MTIP is
   * *already* pending (mtime >= mtimecmp): nothing more will happen until software writes
   * mtimecmp or mtime. An all-ones mtimecmp yields 2^64-1, which mtime never reaches in
   * practice (and which stays ordered below CLINT_NO_DEADLINE).
   *
   * To convert to a board-clock value: `deadline - mtimeOffset()` (mod 2^64).
   */
  nextDeadline(hart: number): bigint {
    this.checkHart(hart);
    const cmp = this.mtimecmp[hart]!;
    return this.mtime() >= cmp ? CLINT_NO_DEADLINE : cmp;
  }

  /** The earliest `nextDeadline` over all harts. */
  earliestDeadline(): bigint {
    let best = CLINT_NO_DEADLINE;
    for (let h = 0; h < this.numHarts; h++) {
      const d = this.nextDeadline(h);
      if (d < best) best = d;
    }
    return best;
  }

  /** Device reset: msip cleared, mtimecmp to the reset value, mtime back to 0 (ACLINT spec). */
  reset(): void {
    for (let h = 0; h < this.numHarts; h++) {
      this.msip[h] = 0;
      this.setLine(h, IRQ_MSIP, false);
      this.mtimecmp[h] = this.resetMtimecmp;
    }
    this.offset = (-this.clock.now()) & MASK64;
    this.updateTimers();
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, size: number): bigint {
    if (size === 8 && (offset & 7) === 0) {
      if (this.isMsip(offset)) {
        // Two 32-bit msip registers.
        return this.read32(offset) | (this.read32(offset + 4) << 32n);
      }
      const r = this.reg64(offset);
      if (r !== undefined) return r;
      return 0n;
    }
    if (size === 4 && (offset & 3) === 0) return this.read32(offset);
    if ((size === 1 || size === 2) && (offset & (size - 1)) === 0) {
      // Sub-word read: the addressed bytes of the containing 32-bit word.
      const word = this.read32(offset & ~3);
      const shift = BigInt((offset & 3) * 8);
      return (word >> shift) & ((1n << BigInt(size * 8)) - 1n);
    }
    return 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    if (size === 8 && (offset & 7) === 0) {
      if (this.isMsip(offset)) {
        this.write32(offset, value & MASK32);
        this.write32(offset + 4, (value >> 32n) & MASK32);
        return;
      }
      const h = this.timecmpHart(offset);
      if (h !== undefined) {
        this.writeTimecmp(h, value & MASK64);
      } else if (offset === MTIME_OFFSET) {
        this.writeMtime(value & MASK64);
      }
      return;
    }
    if (size === 4 && (offset & 3) === 0) this.write32(offset, value & MASK32);
    // 1/2-byte writes are ignored (an access fault on QEMU).
  }

  private read32(offset: number): bigint {
    if (this.isMsip(offset)) {
      return BigInt(this.msip[(offset - MSIP_BASE) >> 2]!);
    }
    const full = this.reg64(offset & ~7);
    if (full === undefined) return 0n;
    return (offset & 4) === 0 ? full & MASK32 : full >> 32n;
  }

  private write32(offset: number, value: bigint): void {
    if (this.isMsip(offset)) {
      const h = (offset - MSIP_BASE) >> 2;
      // Only bit 0 is implemented (QEMU: "if (value & 0x1) raise else lower").
      this.msip[h] = Number(value & 1n);
      this.setLine(h, IRQ_MSIP, this.msip[h] === 1);
      return;
    }
    const h = this.timecmpHart(offset & ~7);
    if (h !== undefined) {
      // Half-register writes as QEMU: the other half keeps its current value.
      const cur = this.mtimecmp[h]!;
      const next = (offset & 4) === 0 ? (cur & ~MASK32 & MASK64) | value : (value << 32n) | (cur & MASK32);
      this.writeTimecmp(h, next);
      return;
    }
    if ((offset & ~7) === MTIME_OFFSET) {
      const cur = this.mtime();
      const next = (offset & 4) === 0 ? (cur & ~MASK32 & MASK64) | value : (value << 32n) | (cur & MASK32);
      this.writeMtime(next);
    }
  }

  /** Value of the 64-bit register at an 8-aligned offset, or undefined if none. */
  private reg64(offset: number): bigint | undefined {
    const h = this.timecmpHart(offset);
    if (h !== undefined) return this.mtimecmp[h]!;
    if (offset === MTIME_OFFSET) return this.mtime();
    return undefined;
  }

  private isMsip(offset: number): boolean {
    return offset >= MSIP_BASE && offset < MSIP_BASE + 4 * this.numHarts;
  }

  private timecmpHart(offset8: number): number | undefined {
    if (offset8 < MTIMECMP_BASE || offset8 >= MTIMECMP_BASE + 8 * this.numHarts) return undefined;
    return (offset8 - MTIMECMP_BASE) >> 3;
  }

  private writeTimecmp(hart: number, value: bigint): void {
    this.mtimecmp[hart] = value;
    // QEMU: a compare value in the past raises MTIP immediately, otherwise lowers it.
    this.setMtip(hart, this.mtime() >= value);
    this.lines.timerChanged?.(hart);
  }

  private writeMtime(value: bigint): void {
    // QEMU: time_delta = value - rtc_raw; then every hart's timer is re-evaluated.
    this.offset = (value - this.clock.now()) & MASK64;
    this.updateTimers();
    for (let h = 0; h < this.numHarts; h++) this.lines.timerChanged?.(h);
  }

  private setMtip(hart: number, level: boolean): void {
    if (this.mtip[hart] === level) return;
    this.mtip[hart] = level;
    this.lines.setIrqLine(hart, IRQ_MTIP, level);
  }

  private setLine(hart: number, bit: number, level: boolean): void {
    this.lines.setIrqLine(hart, bit, level);
  }

  private checkHart(hart: number): void {
    if (!Number.isInteger(hart) || hart < 0 || hart >= this.numHarts) {
      throw new RangeError(`Clint: no hart ${hart}`);
    }
  }

  // ---------------------------------------------------------------- checkpoints

  saveState(): ClintState {
    return {
      msip: this.msip.slice(),
      mtimecmp: this.mtimecmp.slice(),
      offset: this.offset,
      mtip: this.mtip.slice(),
    };
  }

  /**
   * Restores registers and the cached line levels. Lines are not re-driven: the harts'
   * mip bits are part of the hart checkpoint and already agree with the saved levels.
   */
  restoreState(state: unknown): void {
    const s = state as ClintState;
    if (
      !s ||
      !Array.isArray(s.msip) ||
      !Array.isArray(s.mtimecmp) ||
      !Array.isArray(s.mtip) ||
      s.msip.length !== this.numHarts ||
      s.mtimecmp.length !== this.numHarts ||
      s.mtip.length !== this.numHarts ||
      typeof s.offset !== 'bigint'
    ) {
      throw new Error('Clint: checkpoint state does not match this machine');
    }
    for (let h = 0; h < this.numHarts; h++) {
      this.msip[h] = s.msip[h]! & 1;
      this.mtimecmp[h] = BigInt(s.mtimecmp[h]!) & MASK64;
      this.mtip[h] = !!s.mtip[h];
    }
    this.offset = s.offset & MASK64;
  }
}
