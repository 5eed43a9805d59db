/**
 * Goldfish RTC, as on QEMU 7.2's `virt` board (hw/rtc/goldfish_rtc.c; at 0x101000, PLIC source
 * 11: hw/riscv/virt.c VIRT_RTC / RTC_IRQ). Linux drives it with drivers/rtc/rtc-goldfish.c.
 *
 * Register map (32-bit registers, offsets from 0x101000; QEMU's region is 0x24 bytes, the DT
 * node's reg 0x1000):
 *   0x00 TIME_LOW         R: the time (ns since 1970) now; returns bits 31:0, latches 63:32
 *                         W: replaces bits 31:0 of the time
 *   0x04 TIME_HIGH        R: bits 63:32 latched by the last TIME_LOW read
 *                         W: replaces bits 63:32 of the time
 *   0x08 ALARM_LOW        R/W: bits 31:0 of the alarm time; a write arms the alarm
 *   0x0c ALARM_HIGH       R/W: bits 63:32 of the alarm time (write it first)
 *   0x10 IRQ_ENABLED      R/W: bit 0
 *   0x14 CLEAR_ALARM      W: disarm
 *   0x18 ALARM_STATUS     R: 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT  W: lower the pending interrupt
 * The interrupt line is irq_pending & irq_enabled (goldfish_rtc_update). An alarm whose time
 * has passed when it is armed fires at once.
 *
 * Time (determinism, DESIGN.md §3): QEMU counts `tick_offset + qemu_clock_get_ns(rtc_clock)`,
 * its tick_offset set from the host's date at start. Here the date is `baseNs`, a number from
 * the machine configuration (the CLI takes it from the host clock or --rtc base=..., and the
 * trace stores it), and the clock is virtual time: the injected `Clock` gives mtime ticks of the
 * hart running now, 100 ns each. So time = baseNs + adjustNs + 100 * ticks, where adjustNs is
 * what guest writes to TIME_LOW / TIME_HIGH added (as QEMU's tick_offset changes). The base is
 * configuration, not state: checkpoints and state digests hold only adjustNs, so two recordings
 * of a guest that never reads the clock hash the same whatever day they were made.
 *
 * The alarm has no host timer: `deadlineTicks()` tells the board when it fires, so the
 * scheduler cuts the running hart's slice there (as for a timer compare) and calls `poll()`.
 *
 * Access widths: QEMU accepts 4-byte accesses only (others fault there). MmioDevice never
 * faults, so here an 8-byte access is the two 32-bit ones in address order (low, then high: a
 * 64-bit read of TIME_LOW is a consistent time) and 1/2-byte accesses read the addressed bytes
 * of the register and ignore writes.
 */
import type { Clock, IrqController, MmioDevice } from '../mem/device.js';

export const GOLDFISH_RTC_BASE = 0x10_1000;
export const GOLDFISH_RTC_SIZE = 0x1000;
/** PLIC source of the RTC on QEMU's virt (RTC_IRQ). */
export const GOLDFISH_RTC_IRQ = 11;
/** Nanoseconds per mtime tick (10 MHz). */
export const NS_PER_TICK = 100n;

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;

const MASK64 = (1n << 64n) - 1n;
const MASK32 = 0xffff_ffffn;

/** Returned by deadlineTicks when no alarm is armed. */
export const RTC_NO_DEADLINE = -1n;

interface RtcState {
  adjustNs: bigint;
  alarmNext: bigint;
  alarmRunning: boolean;
  irqPending: boolean;
  irqEnabled: boolean;
  timeHigh: number;
}

export class GoldfishRtc implements MmioDevice {
  readonly name = 'rtc';
  readonly base = GOLDFISH_RTC_BASE;
  readonly size = GOLDFISH_RTC_SIZE;

  private adjustNs = 0n;
  private alarmNext = 0n;
  private alarmRunning = false;
  private irqPending = false;
  private irqEnabled = false;
  private timeHigh = 0;
  /** Last level driven on the PLIC source (setSourceLevel only on change). */
  private line = false;

  /**
   * @param baseNs the date at virtual time 0, in ns since 1970-01-01 UTC (configuration)
   * @param clock  virtual time of the hart running now, in mtime ticks
   */
  constructor(
    readonly baseNs: bigint,
    private readonly clock: Clock,
    private readonly irq: IrqController,
    private readonly source = GOLDFISH_RTC_IRQ,
  ) {
    if (baseNs < 0n || baseNs > MASK64) throw new RangeError(`GoldfishRtc: base out of range: ${baseNs}`);
  }

  /** The time the guest reads now: ns since 1970 (mod 2^64). */
  nowNs(ticks = this.clock.now()): bigint {
    return (this.baseNs + this.adjustNs + ticks * NS_PER_TICK) & MASK64;
  }

  read(offset: number, size: number): bigint {
    if (size === 8 && (offset & 7) === 0) return this.read32(offset) | (this.read32(offset + 4) << 32n);
    const reg = offset & ~3;
    const v = this.read32(reg);
    if (size >= 4) return v;
    const shift = BigInt((offset & 3) * 8);
    return (v >> shift) & ((1n << BigInt(size * 8)) - 1n);
  }

  write(offset: number, size: number, value: bigint): void {
    if (size === 8 && (offset & 7) === 0) {
      this.write32(offset, value & MASK32);
      this.write32(offset + 4, (value >> 32n) & MASK32);
      return;
    }
    if (size !== 4 || (offset & 3) !== 0) return;
    this.write32(offset, value & MASK32);
  }

  private read32(reg: number): bigint {
    switch (reg) {
      case TIME_LOW: {
        const t = this.nowNs();
        this.timeHigh = Number(t >> 32n);
        return t & MASK32;
      }
      case TIME_HIGH: return BigInt(this.timeHigh);
      case ALARM_LOW: return this.alarmNext & MASK32;
      case ALARM_HIGH: return this.alarmNext >> 32n;
      case IRQ_ENABLED: return this.irqEnabled ? 1n : 0n;
      case ALARM_STATUS: return this.alarmRunning ? 1n : 0n;
      default: return 0n;
    }
  }

  private write32(reg: number, v: bigint): void {
    switch (reg) {
      case TIME_LOW:
      case TIME_HIGH: {
        // deposit64 of the written half into the current time; the difference moves the offset.
        const cur = this.nowNs();
        const next = reg === TIME_LOW ? (cur & ~MASK32 & MASK64) | v : (cur & MASK32) | (v << 32n);
        this.adjustNs = (this.adjustNs + next - cur) & MASK64;
        break;
      }
      case ALARM_LOW:
        this.alarmNext = (this.alarmNext & ~MASK32 & MASK64) | v;
        this.setAlarm();
        break;
      case ALARM_HIGH:
        this.alarmNext = (this.alarmNext & MASK32) | (v << 32n);
        break;
      case IRQ_ENABLED:
        this.irqEnabled = (v & 1n) !== 0n;
        this.updateLine();
        break;
      case CLEAR_ALARM:
        this.alarmRunning = false;
        break;
      case CLEAR_INTERRUPT:
        this.irqPending = false;
        this.updateLine();
        break;
      default:
        break;
    }
  }

  /** goldfish_rtc_set_alarm: fire now if the time has come, else arm. */
  private setAlarm(): void {
    if (this.alarmNext <= this.nowNs()) {
      this.alarmRunning = false;
      this.fire();
    } else {
      this.alarmRunning = true;
    }
  }

  private fire(): void {
    this.alarmRunning = false;
    this.irqPending = true;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.irqPending && this.irqEnabled;
    if (level === this.line) return;
    this.line = level;
    this.irq.setSourceLevel(this.source, level);
  }

  /** The board calls this when virtual time advances (at `ticks`): an armed alarm that is due fires. */
  poll(ticks: bigint): void {
    if (this.alarmRunning && this.alarmNext <= this.nowNs(ticks)) this.fire();
  }

  /**
   * The tick count at which the armed alarm fires (the first with nowNs >= alarmNext), or
   * RTC_NO_DEADLINE. The time wraps at 2^64 ns (in the year 2554); an alarm beyond that is not due.
   */
  deadlineTicks(): bigint {
    if (!this.alarmRunning) return RTC_NO_DEADLINE;
    const off = this.baseNs + this.adjustNs;
    const ns = this.alarmNext - (off & MASK64);
    if (ns <= 0n) return 0n;
    return (ns + NS_PER_TICK - 1n) / NS_PER_TICK;
  }

  saveState(): RtcState {
    return {
      adjustNs: this.adjustNs, alarmNext: this.alarmNext, alarmRunning: this.alarmRunning,
      irqPending: this.irqPending, irqEnabled: this.irqEnabled, timeHigh: this.timeHigh,
    };
  }

  restoreState(state: unknown): void {
    const s = state as RtcState;
    this.adjustNs = s.adjustNs;
    this.alarmNext = s.alarmNext;
    this.alarmRunning = s.alarmRunning;
    this.irqPending = s.irqPending;
    this.irqEnabled = s.irqEnabled;
    this.timeHigh = s.timeHigh;
    // The PLIC restores its own view of the source; keep ours consistent with it.
    this.line = this.irqPending && this.irqEnabled;
  }
}
