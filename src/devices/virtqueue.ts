/**
 * Split virtqueues (virtio 1.1 §2.6) as a device sees them: the descriptor table, the driver
 * ("available") ring and the device ("used") ring in guest RAM, at the addresses the driver
 * wrote to the transport (QueueDesc / QueueDriver / QueueDevice).
 *
 *   descriptor (16 bytes, §2.6.5):  le64 addr | le32 len | le16 flags | le16 next
 *   driver ring (§2.6.6):           le16 flags | le16 idx | le16 ring[size] (| le16 used_event)
 *   device ring (§2.6.8):           le16 flags | le16 idx | { le32 id, le32 len }[size]
 *
 * The transport offers neither VIRTIO_F_INDIRECT_DESC nor VIRTIO_F_EVENT_IDX, so chains are
 * direct and the only interrupt suppression is the driver ring's VIRTQ_AVAIL_F_NO_INTERRUPT.
 *
 * A guest mistake never throws: a descriptor outside RAM, a chain longer than the queue (a loop),
 * a readable descriptor after a writable one (§2.6.4.2) or an index beyond the queue make `pop`
 * return `'error'`; the transport then sets DEVICE_NEEDS_RESET (§2.1.2) and stops the queue.
 */
import type { Bus } from '../mem/bus.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

/** One guest buffer of a chain: `len` bytes at guest-physical `addr`. */
export interface VirtqBuffer {
  readonly addr: number;
  readonly len: number;
}

/** A descriptor chain taken from the driver ring: its head and its two halves (§2.6.4.2). */
export interface VirtqChain {
  readonly head: number;
  /** Device-readable buffers, in chain order. */
  readonly readable: readonly VirtqBuffer[];
  /** Device-writable buffers, in chain order (they follow every readable one). */
  readonly writable: readonly VirtqBuffer[];
}

/** What the transport registers hold for one queue (plain data: checkpoints save it). */
export interface VirtqueueState {
  num: number;
  ready: boolean;
  desc: number;
  driver: number;
  device: number;
  /** Next driver-ring index the device will read (its shadow of avail->idx). */
  lastAvail: number;
  /** Next device-ring index the device will write (used->idx). */
  usedIdx: number;
}

export function emptyQueueState(): VirtqueueState {
  return { num: 0, ready: false, desc: 0, driver: 0, device: 0, lastAvail: 0, usedIdx: 0 };
}

/** Access to one queue's rings in guest RAM; holds no state of its own besides `s`. */
export class Virtqueue {
  constructor(private readonly bus: Bus, readonly s: VirtqueueState) {}

  private ramOk(pa: number, len: number): boolean {
    return Number.isSafeInteger(pa) && this.bus.isRam(pa, Math.max(len, 1));
  }
  private u16(pa: number): number {
    return this.bus.dv.getUint16(this.bus.ramOffset + pa - this.bus.ramBase, true);
  }
  private u32(pa: number): number {
    return this.bus.dv.getUint32(this.bus.ramOffset + pa - this.bus.ramBase, true);
  }

  /** The rings fit in RAM (checked once per notify, before anything is read). */
  ringsValid(): boolean {
    const n = this.s.num;
    return n > 0 && this.ramOk(this.s.desc, 16 * n) && this.ramOk(this.s.driver, 6 + 2 * n) && this.ramOk(this.s.device, 6 + 8 * n);
  }

  /** The driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.6.7). */
  interruptSuppressed(): boolean {
    return (this.u16(this.s.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /** The next available chain, null when the driver ring is empty, 'error' for a bad chain. */
  pop(): VirtqChain | null | 'error' {
    const s = this.s;
    const availIdx = this.u16(s.driver + 2);
    if (availIdx === s.lastAvail) return null;
    // More entries than the queue holds: the driver's idx is garbage (§2.6.6).
    if (((availIdx - s.lastAvail) & 0xffff) > s.num) return 'error';
    const head = this.u16(s.driver + 4 + 2 * (s.lastAvail % s.num));
    s.lastAvail = (s.lastAvail + 1) & 0xffff;
    if (head >= s.num) return 'error';
    const readable: VirtqBuffer[] = [];
    const writable: VirtqBuffer[] = [];
    let i = head;
    for (let steps = 0; ; steps++) {
      if (steps >= s.num) return 'error'; // a loop
      const d = s.desc + 16 * i;
      const lo = this.u32(d);
      const hi = this.u32(d + 4);
      const len = this.u32(d + 8);
      const flags = this.u16(d + 12);
      const next = this.u16(d + 14);
      const addr = hi * 0x1_0000_0000 + lo;
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) return 'error'; // not negotiated
      if (len > 0 && !this.ramOk(addr, len)) return 'error';
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) writable.push({ addr, len });
      else if (writable.length > 0) return 'error';
      else readable.push({ addr, len });
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (next >= s.num) return 'error';
      i = next;
    }
    return { head, readable, writable };
  }

  /** Put a finished chain on the device ring with the number of bytes written into it (§2.6.8). */
  push(head: number, written: number): void {
    const s = this.s;
    const e = s.device + 4 + 8 * (s.usedIdx % s.num);
    const dv = this.bus.dv;
    const o = this.bus.ramOffset - this.bus.ramBase;
    dv.setUint32(o + e, head, true);
    dv.setUint32(o + e + 4, written >>> 0, true);
    s.usedIdx = (s.usedIdx + 1) & 0xffff;
    // idx is written after the element (§2.6.8.2: the driver reads idx, then the ring).
    dv.setUint16(o + s.device + 2, s.usedIdx, true);
    this.touched(e, 8);
    this.touched(s.device + 2, 2);
  }

  /** Bytes of a chain's readable half, concatenated. */
  gather(bufs: readonly VirtqBuffer[]): Uint8Array {
    let n = 0;
    for (const b of bufs) n += b.len;
    const out = new Uint8Array(n);
    let k = 0;
    for (const b of bufs) {
      if (b.len === 0) continue;
      out.set(this.bus.readRam(b.addr, b.len), k);
      k += b.len;
    }
    return out;
  }

  /** Write `data` across a chain's writable half from its start; returns the bytes written. */
  scatter(bufs: readonly VirtqBuffer[], data: Uint8Array, at = 0): number {
    let skip = at;
    let k = 0;
    for (const b of bufs) {
      if (k >= data.length) break;
      if (skip >= b.len) { skip -= b.len; continue; }
      const n = Math.min(b.len - skip, data.length - k);
      this.bus.writeRam(b.addr + skip, data.subarray(k, k + n));
      k += n;
      skip = 0;
    }
    return k;
  }

  /** DMA into the rings goes around the harts: tell the bus (reservations, code caches,
   * dirty-page tracking). */
  private touched(pa: number, len: number): void {
    this.bus.wroteRam(pa, len);
  }
}
