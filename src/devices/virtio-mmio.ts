/**
 * virtio-mmio transport, virtio 1.1 §4.2 ("modern", Version 2), at QEMU 7.2 virt's addresses:
 * 8 transports at 0x1000_1000 + 0x1000 * i, PLIC sources 1 + i (hw/riscv/virt.c VIRT_VIRTIO,
 * VIRTIO_IRQ). A transport without a device behind it answers MagicValue, Version and VendorID
 * and reads DeviceID 0, so a driver skips it (§4.2.3.1.1), as QEMU's empty transports do.
 *
 * Register map (§4.2.2, offsets from the transport's base; 32-bit registers):
 *   0x000 MagicValue "virt"      0x004 Version (2)           0x008 DeviceID     0x00c VendorID
 *   0x010 DeviceFeatures         0x014 DeviceFeaturesSel     0x020 DriverFeatures
 *   0x024 DriverFeaturesSel      0x030 QueueSel              0x034 QueueNumMax  0x038 QueueNum
 *   0x044 QueueReady             0x050 QueueNotify           0x060 InterruptStatus
 *   0x064 InterruptACK           0x070 Status                0x080/0x084 QueueDescLow/High
 *   0x090/0x094 QueueDriverLow/High                          0x0a0/0x0a4 QueueDeviceLow/High
 *   0x0fc ConfigGeneration       0x100.. device configuration space (any width)
 *
 * Determinism: a device does all the work of a notification synchronously, inside the guest's
 * QueueNotify store, and raises its interrupt there; so a request completes at the same
 * instruction on every run, and the only outside input (disk blocks) is recorded by the device.
 */
import type { IrqController, MmioDevice } from '../mem/device.js';
import type { Bus } from '../mem/bus.js';
import { Virtqueue, emptyQueueState, type VirtqChain, type VirtqueueState } from './virtqueue.js';

export const VIRTIO_MMIO_BASE = 0x1000_1000;
export const VIRTIO_MMIO_STRIDE = 0x1000;
export const VIRTIO_MMIO_COUNT = 8;
/** PLIC source of transport 0 (QEMU virt VIRTIO_IRQ). */
export const VIRTIO_MMIO_IRQ = 1;

const MAGIC = 0x7472_6976; // "virt", little-endian
const VERSION = 2;
/** QEMU's VendorID ("QEMU"), so drivers that look at it see what they see on QEMU. */
const VENDOR_QEMU = 0x554d_4551;

/** Device status bits (§2.1). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** VIRTIO_F_VERSION_1 (§6): every device here is a modern one. */
export const VIRTIO_F_VERSION_1 = 1n << 32n;

/** InterruptStatus bits (§4.2.2). */
const INT_USED_BUFFER = 1;
const INT_CONFIG_CHANGE = 2;

/** A device type behind the transport (virtio-blk, virtio-rng, ...). */
export interface VirtioDevice {
  /** Device ID (§5): 2 block, 3 console, 4 entropy. */
  readonly deviceId: number;
  /** Device-specific feature bits offered (the transport adds VIRTIO_F_VERSION_1). */
  readonly features: bigint;
  readonly numQueues: number;
  /** QueueNumMax of every queue. */
  readonly queueNumMax: number;
  /** Device configuration space, little-endian (§2.5). */
  readonly config: Uint8Array;
  /**
   * Serve one available chain of queue `q`; return the bytes written into its writable half
   * (what goes into the used element's len).
   */
  serve(q: number, chain: VirtqChain, vq: Virtqueue): number;
  /** Device reset (status 0). */
  reset(): void;
  /**
   * Queues the device fills when it has data (virtio-console's receiveq): a notify leaves their
   * chains available; the device takes them through the transport's rxFill.
   */
  holdsQueue?(q: number): boolean;
  /** A driver write to the device configuration space (offset from 0x100), with the features the driver accepted. */
  writeConfig?(offset: number, size: number, value: bigint, driverFeatures: bigint): void;
  /** Called once by the transport the device is put behind. */
  attach?(t: VirtioMmio): void;
  saveState(): unknown;
  restoreState(s: unknown): void;
}

interface TransportState {
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeatures: string; // bigint as hex: checkpoint state is plain data
  queueSel: number;
  interruptStatus: number;
  queues: VirtqueueState[];
  device: unknown;
}

/** Low (0) or high (1) 32 bits of a queue address (-1: an address beyond 53 bits). */
function half(a: number, h: 0 | 1): bigint {
  if (a < 0) return 0xffff_ffffn;
  return BigInt(h === 0 ? a % 0x1_0000_0000 : Math.floor(a / 0x1_0000_0000));
}

export class VirtioMmio implements MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size = VIRTIO_MMIO_STRIDE;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private queues: VirtqueueState[];

  constructor(
    readonly slot: number,
    private readonly bus: Bus,
    private readonly irq: IrqController,
    readonly device: VirtioDevice | null,
  ) {
    this.base = VIRTIO_MMIO_BASE + VIRTIO_MMIO_STRIDE * slot;
    this.name = `virtio-mmio@${this.base.toString(16)}`;
    this.queues = Array.from({ length: device?.numQueues ?? 0 }, emptyQueueState);
    device?.attach?.(this);
  }

  get irqNumber(): number {
    return VIRTIO_MMIO_IRQ + this.slot;
  }

  private get offered(): bigint {
    return this.device ? this.device.features | VIRTIO_F_VERSION_1 : 0n;
  }

  read(offset: number, size: number): bigint {
    const dev = this.device;
    if (offset >= 0x100) {
      if (!dev) return 0n;
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dev.config[offset - 0x100 + i] ?? 0);
      return v;
    }
    if (size !== 4 || (offset & 3) !== 0) return 0n; // §4.2.2: registers are 32-bit only
    switch (offset) {
      case 0x000: return BigInt(MAGIC);
      case 0x004: return BigInt(VERSION);
      case 0x00c: return BigInt(VENDOR_QEMU);
    }
    if (!dev) return 0n;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case 0x008: return BigInt(dev.deviceId);
      case 0x010: return this.deviceFeaturesSel > 1 ? 0n : (this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn;
      case 0x034: return q ? BigInt(dev.queueNumMax) : 0n;
      case 0x038: return q ? BigInt(q.num) : 0n;
      case 0x044: return q?.ready ? 1n : 0n;
      case 0x060: return BigInt(this.interruptStatus);
      case 0x070: return BigInt(this.status);
      case 0x080: return q ? half(q.desc, 0) : 0n;
      case 0x084: return q ? half(q.desc, 1) : 0n;
      case 0x090: return q ? half(q.driver, 0) : 0n;
      case 0x094: return q ? half(q.driver, 1) : 0n;
      case 0x0a0: return q ? half(q.device, 0) : 0n;
      case 0x0a4: return q ? half(q.device, 1) : 0n;
      case 0x0fc: return 0n; // ConfigGeneration: the configuration never changes under the driver
      default: return 0n;
    }
  }

  write(offset: number, size: number, value: bigint): void {
    const dev = this.device;
    if (!dev) return;
    if (offset >= 0x100) {
      dev.writeConfig?.(offset - 0x100, size, value, this.driverFeatures);
      return;
    }
    if (size !== 4 || (offset & 3) !== 0) return;
    const v = Number(value & 0xffff_ffffn);
    const q = this.queues[this.queueSel];
    // Queue registers may only change while the queue is not ready (§4.2.2.2); writes to them
    // otherwise are ignored, as QEMU ignores them.
    const setQ = (f: (q: VirtqueueState) => void): void => { if (q && !q.ready) f(q); };
    // Addresses are JS numbers: a high half beyond 53 bits makes the address -1, which is not
    // RAM, so the queue fails its ring check at the next notify instead of aliasing low memory.
    const lo = (x: number): number => (x < 0 ? -1 : Math.floor(x / 0x1_0000_0000) * 0x1_0000_0000 + v);
    const hi = (x: number): number => (v > 0x1f_ffff ? -1 : v * 0x1_0000_0000 + (x < 0 ? 0 : x % 0x1_0000_0000));
    switch (offset) {
      case 0x014: this.deviceFeaturesSel = v; return;
      case 0x020:
        if (this.driverFeaturesSel <= 1) {
          const sh = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << sh)) | (BigInt(v) << sh);
        }
        return;
      case 0x024: this.driverFeaturesSel = v; return;
      case 0x030: this.queueSel = v; return;
      case 0x038: setQ((s) => { s.num = v <= dev.queueNumMax && (v & (v - 1)) === 0 ? v : 0; }); return;
      case 0x044:
        if (!q) return;
        if (v === 1 && !q.ready) { q.ready = true; q.lastAvail = 0; q.usedIdx = 0; }
        else if (v === 0) q.ready = false;
        return;
      case 0x050: this.notify(v); return;
      case 0x064: this.setInterrupt(this.interruptStatus & ~v); return;
      case 0x070: this.writeStatus(v); return;
      case 0x080: setQ((s) => { s.desc = lo(s.desc); }); return;
      case 0x084: setQ((s) => { s.desc = hi(s.desc); }); return;
      case 0x090: setQ((s) => { s.driver = lo(s.driver); }); return;
      case 0x094: setQ((s) => { s.driver = hi(s.driver); }); return;
      case 0x0a0: setQ((s) => { s.device = lo(s.device); }); return;
      case 0x0a4: setQ((s) => { s.device = hi(s.device); }); return;
      default: return;
    }
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    let s = v & 0xff;
    // FEATURES_OK sticks only when the driver accepted a subset of what is offered, VERSION_1
    // included (§2.2.2, §3.1.1 step 6: the driver re-reads the bit).
    if ((s & STATUS_FEATURES_OK) !== 0 && (this.status & STATUS_FEATURES_OK) === 0) {
      const ok = (this.driverFeatures & ~this.offered) === 0n && (this.driverFeatures & VIRTIO_F_VERSION_1) !== 0n;
      if (!ok) s &= ~STATUS_FEATURES_OK;
    }
    this.status = s | (this.status & STATUS_DEVICE_NEEDS_RESET);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.queueSel = 0;
    this.queues = this.queues.map(emptyQueueState);
    this.setInterrupt(0);
    this.device?.reset();
  }

  private setInterrupt(bits: number): void {
    this.interruptStatus = bits & (INT_USED_BUFFER | INT_CONFIG_CHANGE);
    this.irq.setSourceLevel(this.irqNumber, this.interruptStatus !== 0);
  }

  /** QueueNotify: serve every available chain of queue `qi` now (see the header). */
  private notify(qi: number): void {
    const dev = this.device!;
    const s = this.queues[qi];
    if (!s || !s.ready || (this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    if (dev.holdsQueue?.(qi)) return;
    const vq = new Virtqueue(this.bus, s);
    if (!vq.ringsValid()) {
      this.needsReset();
      return;
    }
    let used = 0;
    for (;;) {
      const c = vq.pop();
      if (c === null) break;
      if (c === 'error') {
        this.needsReset();
        return;
      }
      vq.push(c.head, dev.serve(qi, c, vq));
      used++;
    }
    if (used > 0 && !vq.interruptSuppressed()) this.setInterrupt(this.interruptStatus | INT_USED_BUFFER);
  }

  /** Queue `qi` is live: DRIVER_OK, no DEVICE_NEEDS_RESET, the queue ready. */
  rxReady(qi: number): boolean {
    return this.live(qi) !== null;
  }

  private live(qi: number): VirtqueueState | null {
    const s = this.queues[qi];
    if (!s || !s.ready || (this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return null;
    return s;
  }

  /**
   * Bytes the available chains of a held queue can take now, without consuming them: the
   * chains are read and the driver-ring position put back. A bad chain ends the count (the
   * fill that reaches it reports the error).
   */
  rxCapacity(qi: number): number {
    const s = this.live(qi);
    if (!s) return 0;
    const vq = new Virtqueue(this.bus, s);
    if (!vq.ringsValid()) return 0;
    const at = s.lastAvail;
    let n = 0;
    for (let k = 0; k < s.num; k++) {
      const c = vq.pop();
      if (c === null || c === 'error') break;
      for (const b of c.writable) n += b.len;
    }
    s.lastAvail = at;
    return n;
  }

  /**
   * Input for a held queue: fill its available chains in order with `data` (one chain after
   * another, each as far as it goes), put them on the used ring and raise the interrupt.
   * Returns the bytes taken.
   */
  rxFill(qi: number, data: Uint8Array): number {
    const s = this.live(qi);
    if (!s) return 0;
    const vq = new Virtqueue(this.bus, s);
    if (!vq.ringsValid()) {
      this.needsReset();
      return 0;
    }
    let k = 0;
    let used = 0;
    while (k < data.length) {
      const c = vq.pop();
      if (c === null) break;
      if (c === 'error') {
        this.needsReset();
        break;
      }
      const n = vq.scatter(c.writable, data.subarray(k));
      vq.push(c.head, n);
      k += n;
      used++;
    }
    if (used > 0 && !vq.interruptSuppressed()) this.setInterrupt(this.interruptStatus | INT_USED_BUFFER);
    return k;
  }

  /** §2.1.2: the device met an error it cannot recover from; tell the driver (config change). */
  private needsReset(): void {
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.setInterrupt(this.interruptStatus | INT_CONFIG_CHANGE);
  }

  saveState(): TransportState {
    return {
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.toString(16),
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      queues: this.queues.map((q) => ({ ...q })),
      device: this.device ? this.device.saveState() : null,
    };
  }

  /** Restores the registers; the PLIC restores its own view of the line. */
  restoreState(state: unknown): void {
    const s = state as TransportState;
    this.status = s.status;
    this.deviceFeaturesSel = s.deviceFeaturesSel;
    this.driverFeaturesSel = s.driverFeaturesSel;
    this.driverFeatures = BigInt(`0x${s.driverFeatures}`);
    this.queueSel = s.queueSel;
    this.interruptStatus = s.interruptStatus;
    this.queues = s.queues.map((q) => ({ ...q }));
    if (this.device) this.device.restoreState(s.device);
  }
}
