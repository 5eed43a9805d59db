/**
 * SiFive PLIC as configured on QEMU 7.2's `virt` board (hw/intc/sifive_plic.c with the
 * parameters of include/hw/riscv/virt.h):
 *
 *   num-sources     96  (ids 0..95; id 0 means "no interrupt")
 *   num-priorities  7   (3 priority bits, WARL: value % 8)
 *   hart-config     "MS" per hart: context 2h = hart h M-mode (drives MEIP),
 *                                  context 2h+1 = hart h S-mode (drives SEIP)
 *
 * Register map (offsets from 0x0c00_0000, aperture 0x60_0000):
 *   0x000000 + 4*src            priority[src]           (src 0 is writable but inert, as QEMU)
 *   0x001000 + 4*word           pending bits            read-only, words 0..2
 *   0x002000 + 0x80*ctx + 4*w   enable bits of ctx      words 0..2 (bit 0 = source 0)
 *   0x200000 + 0x1000*ctx       threshold (WARL % 8)
 *   0x200004 + 0x1000*ctx       claim (read) / complete (write)
 *
 * Semantics (QEMU 7.2 sifive_plic):
 *  - A context's line is raised when some source is pending, not claimed, enabled for the
 *    context and has priority > the context's threshold.
 *  - Claim returns the highest-priority such source (ties: lowest id, since the scan is
 *    ascending and uses a strict '>'), clears its pending bit and marks it claimed.
 *    Returns 0 if none.
 *  - Complete (write of an id < num-sources) clears the claimed mark. Like QEMU 7.2 there
 *    is no check that the id is enabled for the completing context.
 *  - Source level changes: level 1 sets pending, level 0 clears it (QEMU
 *    sifive_plic_irq_request: `set_pending(irq, level > 0)`).
 *
 * Gateway: sources are level-triggered. While a source is claimed its gateway does not
 * forward a new request; when the claim is completed and the device is still asserting
 * its line, the source becomes pending again. (QEMU gets the same effect because its
 * devices call qemu_set_irq() on every register access; modelling the gateway makes it
 * independent of how often a device re-announces its level.) Consequently, while a source
 * is claimed its pending bit reads 0 here even if the device holds the line high.
 *
 * Access widths: QEMU only accepts 32-bit accesses (others fault). MmioDevice never
 * faults, so 8-byte accesses are split into two 32-bit accesses (low word first) and
 * 1/2-byte accesses read 0 and ignore writes (no claim side effect).
 */
import { IRQ_MEIP, IRQ_SEIP, type HartIrqLines, type IrqController, type MmioDevice } from '../mem/device.js';

export const PLIC_BASE = 0x0c00_0000;
export const PLIC_SIZE = 0x60_0000;
/** Number of source ids including the reserved id 0 (QEMU VIRT_IRQCHIP_NUM_SOURCES). */
export const PLIC_NUM_SOURCES = 96;
/** Largest priority value (VIRT_IRQCHIP_NUM_PRIO_BITS = 3). */
export const PLIC_MAX_PRIORITY = 7;

const WORDS = (PLIC_NUM_SOURCES + 31) >>> 5; // 3 bitfield words
const PRIORITY_BASE = 0x0;
const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
export const CONTEXT_BASE = 0x20_0000;
export const CONTEXT_STRIDE = 0x1000;

interface PlicState {
  priority: number[];
  pending: number[];
  claimed: number[];
  level: number[];
  enable: number[];
  threshold: number[];
  lineLevel: boolean[];
}

export class Plic implements MmioDevice, IrqController {
  readonly name = 'plic';
  readonly base = PLIC_BASE;
  readonly size = PLIC_SIZE;
  readonly numContexts: number;

  private readonly priority = new Uint32Array(PLIC_NUM_SOURCES);
  private readonly pending = new Uint32Array(WORDS);
  private readonly claimed = new Uint32Array(WORDS);
  /** Input level of each source as last reported by its device (gateway input). */
  private readonly level = new Uint32Array(WORDS);
  private readonly enable: Uint32Array; // numContexts * WORDS
  private readonly threshold: Uint32Array; // numContexts
  /** Last level driven on each context's output (setIrqLine only on change). */
  private readonly lineLevel: boolean[];

  constructor(
    readonly numHarts: number,
    private readonly lines: HartIrqLines,
  ) {
    if (!Number.isInteger(numHarts) || numHarts < 1 || numHarts > 512) {
      throw new RangeError(`Plic: bad hart count ${numHarts}`);
    }
    this.numContexts = 2 * numHarts;
    this.enable = new Uint32Array(this.numContexts * WORDS);
    this.threshold = new Uint32Array(this.numContexts);
    this.lineLevel = new Array<boolean>(this.numContexts).fill(false);
  }

  /**
   * Device reset (sifive_plic_reset): priorities, thresholds, pending, claimed, enables and
   * the remembered input levels go to 0 and every output is lowered (devices re-announce
   * their levels when they reset).
   */
  reset(): void {
    this.priority.fill(0);
    this.pending.fill(0);
    this.claimed.fill(0);
    this.level.fill(0);
    this.enable.fill(0);
    this.threshold.fill(0);
    for (let ctx = 0; ctx < this.numContexts; ctx++) {
      this.lineLevel[ctx] = false;
      this.lines.setIrqLine(ctx >>> 1, (ctx & 1) === 0 ? IRQ_MEIP : IRQ_SEIP, false);
    }
  }

  // ---------------------------------------------------------------- IrqController

  /** A device's interrupt output changed (or was re-announced). Out-of-range ids are ignored. */
  setSourceLevel(source: number, level: boolean): void {
    if (!Number.isInteger(source) || source <= 0 || source >= PLIC_NUM_SOURCES) return;
    const w = source >>> 5;
    const bit = (1 << (source & 31)) >>> 0;
    if (level) {
      this.level[w] = (this.level[w]! | bit) >>> 0;
      // Gateway: a claimed source is not forwarded again until completion.
      if (!(this.claimed[w]! & bit)) this.pending[w] = (this.pending[w]! | bit) >>> 0;
    } else {
      this.level[w] = (this.level[w]! & ~bit) >>> 0;
      this.pending[w] = (this.pending[w]! & ~bit) >>> 0;
    }
    this.update();
  }

  // ---------------------------------------------------------------- inspection helpers

  /** Is `source` pending (as the pending register reports it)? */
  isPending(source: number): boolean {
    return source > 0 && source < PLIC_NUM_SOURCES && !!(this.pending[source >>> 5]! & (1 << (source & 31)));
  }

  /** Is `source` currently claimed (claimed and not yet completed)? */
  isClaimed(source: number): boolean {
    return source > 0 && source < PLIC_NUM_SOURCES && !!(this.claimed[source >>> 5]! & (1 << (source & 31)));
  }

  /** Would a claim by `ctx` return a source right now (= the context's output level)? */
  contextLevel(ctx: number): boolean {
    return this.best(ctx) !== 0;
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, size: number): bigint {
    if (size === 8 && (offset & 7) === 0) {
      const lo = this.read32(offset);
      const hi = this.read32(offset + 4);
      return BigInt(lo) | (BigInt(hi) << 32n);
    }
    if (size === 4 && (offset & 3) === 0) return BigInt(this.read32(offset));
    return 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    if (size === 8 && (offset & 7) === 0) {
      this.write32(offset, Number(value & 0xffff_ffffn));
      this.write32(offset + 4, Number((value >> 32n) & 0xffff_ffffn));
      return;
    }
    if (size === 4 && (offset & 3) === 0) this.write32(offset, Number(value & 0xffff_ffffn));
  }

  private read32(offset: number): number {
    if (offset >= PRIORITY_BASE && offset < PRIORITY_BASE + 4 * PLIC_NUM_SOURCES) {
      return this.priority[(offset - PRIORITY_BASE) >>> 2]!;
    }
    if (offset >= PENDING_BASE && offset < PENDING_BASE + 4 * WORDS) {
      return this.pending[(offset - PENDING_BASE) >>> 2]!;
    }
    if (offset >= ENABLE_BASE && offset < ENABLE_BASE + ENABLE_STRIDE * this.numContexts) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset & (ENABLE_STRIDE - 1)) >>> 2;
      return word < WORDS ? this.enable[ctx * WORDS + word]! : 0;
    }
    if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + CONTEXT_STRIDE * this.numContexts) {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      const reg = offset & (CONTEXT_STRIDE - 1);
      if (reg === 0) return this.threshold[ctx]!;
      if (reg === 4) return this.claim(ctx);
    }
    return 0;
  }

  private write32(offset: number, value: number): void {
    value >>>= 0;
    if (offset >= PRIORITY_BASE && offset < PRIORITY_BASE + 4 * PLIC_NUM_SOURCES) {
      // WARL: num_priorities + 1 = 8 is a power of two, so QEMU keeps `value % 8`.
      this.priority[(offset - PRIORITY_BASE) >>> 2] = value % (PLIC_MAX_PRIORITY + 1);
      this.update();
      return;
    }
    if (offset >= PENDING_BASE && offset < PENDING_BASE + 4 * WORDS) return; // read-only
    if (offset >= ENABLE_BASE && offset < ENABLE_BASE + ENABLE_STRIDE * this.numContexts) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset & (ENABLE_STRIDE - 1)) >>> 2;
      if (word < WORDS) {
        this.enable[ctx * WORDS + word] = value;
        // QEMU 7.2 does not re-evaluate the outputs on an enable write (the next update
        // does). We re-evaluate at once: a line that depends on enables must follow them,
        // and the difference is only observable as an earlier interrupt.
        this.update();
      }
      return;
    }
    if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + CONTEXT_STRIDE * this.numContexts) {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      const reg = offset & (CONTEXT_STRIDE - 1);
      if (reg === 0) {
        this.threshold[ctx] = value % (PLIC_MAX_PRIORITY + 1); // WARL, as priorities
        this.update();
      } else if (reg === 4) {
        this.complete(value);
      }
    }
  }

  /** Highest-priority pending, enabled, unclaimed source above ctx's threshold; 0 if none. */
  private best(ctx: number): number {
    let maxIrq = 0;
    let maxPrio = this.threshold[ctx]!;
    for (let w = 0; w < WORDS; w++) {
      const cand = (this.pending[w]! & ~this.claimed[w]! & this.enable[ctx * WORDS + w]!) >>> 0;
      if (cand === 0) continue;
      for (let b = 0; b < 32; b++) {
        if (!(cand & (1 << b))) continue;
        const irq = (w << 5) + b;
        const prio = this.priority[irq]!;
        if (prio > maxPrio) {
          maxIrq = irq;
          maxPrio = prio;
        }
      }
    }
    return maxIrq;
  }

  private claim(ctx: number): number {
    const irq = this.best(ctx);
    if (irq !== 0) {
      const w = irq >>> 5;
      const bit = (1 << (irq & 31)) >>> 0;
      this.pending[w] = (this.pending[w]! & ~bit) >>> 0;
      this.claimed[w] = (this.claimed[w]! | bit) >>> 0;
    }
    this.update();
    return irq;
  }

  private complete(id: number): void {
    if (id >= PLIC_NUM_SOURCES) return; // QEMU: `if (value < num_sources)`
    const w = id >>> 5;
    const bit = (1 << (id & 31)) >>> 0;
    this.claimed[w] = (this.claimed[w]! & ~bit) >>> 0;
    // Gateway: a source whose device still asserts its line requests again.
    if (id !== 0 && this.level[w]! & bit) this.pending[w] = (this.pending[w]! | bit) >>> 0;
    this.update();
  }

  /** Recompute every context's output line; drive those that changed. */
  private update(): void {
    for (let ctx = 0; ctx < this.numContexts; ctx++) {
      const level = this.best(ctx) !== 0;
      if (level === this.lineLevel[ctx]) continue;
      this.lineLevel[ctx] = level;
      this.lines.setIrqLine(ctx >>> 1, (ctx & 1) === 0 ? IRQ_MEIP : IRQ_SEIP, level);
    }
  }

  // ---------------------------------------------------------------- checkpoints

  saveState(): PlicState {
    return {
      priority: Array.from(this.priority),
      pending: Array.from(this.pending),
      claimed: Array.from(this.claimed),
      level: Array.from(this.level),
      enable: Array.from(this.enable),
      threshold: Array.from(this.threshold),
      lineLevel: this.lineLevel.slice(),
    };
  }

  /** Restores registers and cached output levels (harts' mip bits come from their own checkpoint). */
  restoreState(state: unknown): void {
    const s = state as PlicState;
    const ok =
      !!s &&
      Array.isArray(s.priority) && s.priority.length === PLIC_NUM_SOURCES &&
      Array.isArray(s.pending) && s.pending.length === WORDS &&
      Array.isArray(s.claimed) && s.claimed.length === WORDS &&
      Array.isArray(s.level) && s.level.length === WORDS &&
      Array.isArray(s.enable) && s.enable.length === this.numContexts * WORDS &&
      Array.isArray(s.threshold) && s.threshold.length === this.numContexts &&
      Array.isArray(s.lineLevel) && s.lineLevel.length === this.numContexts;
    if (!ok) throw new Error('Plic: checkpoint state does not match this machine');
    this.priority.set(s.priority);
    this.pending.set(s.pending);
    this.claimed.set(s.claimed);
    this.level.set(s.level);
    this.enable.set(s.enable);
    this.threshold.set(s.threshold);
    for (let c = 0; c < this.numContexts; c++) this.lineLevel[c] = !!s.lineLevel[c];
  }
}
