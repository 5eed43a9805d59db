/**
 * virtio-console (virtio 1.1 §5.3, device ID 3), QEMU 7.2's `-device virtio-serial-device
 * -device virtconsole` reduced to what a console needs: port 0 only, no
 * VIRTIO_CONSOLE_F_MULTIPORT (so no control queues), no VIRTIO_CONSOLE_F_SIZE (QEMU's virtconsole
 * reports no size either). VIRTIO_CONSOLE_F_EMERG_WRITE is offered, as QEMU does: once the
 * driver accepted it, a byte written to the configuration's emerg_wr field is output at once
 * (§5.3.4, §5.3.6.1).
 *
 *   queue 0  receiveq(port0)   host -> guest: device-writable buffers, held until input comes
 *   queue 1  transmitq(port0)  guest -> host: device-readable buffers, output in the notify store
 *
 * Configuration space (§5.3.4), little-endian:
 *   0x0 le16 cols | 0x2 le16 rows | 0x4 le32 max_nr_ports (1) | 0x8 le32 emerg_wr (write-only)
 *
 * Determinism: transmitted bytes reach the console inside the guest's QueueNotify store (as the
 * UART's THR store does). Input is delivered by the scheduler at round boundaries, like UART
 * input (it is the console input sink when `--console-input virtio` is given): `rxSpace` is what
 * the receive buffers the driver has made available can take, `pushRx` collects the round's
 * bytes and `endRx` writes them into those buffers and raises the interrupt, all at the same
 * virtual time on every run, and the delivered bytes are recorded as ordinary input events.
 */
import type { VirtioDevice } from './virtio-mmio.js';
import type { Virtqueue, VirtqChain } from './virtqueue.js';

export const VIRTIO_ID_CONSOLE = 3;
/** Feature bits (§5.3.3). */
export const VIRTIO_CONSOLE_F_SIZE = 1n << 0n;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1n << 1n;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 1n << 2n;
/** Queue indices of port 0 (§5.3.2). */
export const VIRTCONSOLE_RXQ = 0;
export const VIRTCONSOLE_TXQ = 1;
/** Configuration offset of emerg_wr (§5.3.4). */
const CFG_EMERG_WR = 8;

/** What the console device needs from its transport to fill held receive buffers. */
export interface RxQueueAccess {
  /** Queue `q` is live (DRIVER_OK, the queue ready). */
  rxReady(q: number): boolean;
  /** Bytes the available chains of queue `q` can take now (nothing is consumed). */
  rxCapacity(q: number): number;
  /** Write `data` into the available chains of queue `q`, in order; returns the bytes taken. */
  rxFill(q: number, data: Uint8Array): number;
}

export class VirtioConsole implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly features = VIRTIO_CONSOLE_F_EMERG_WRITE;
  readonly numQueues = 2;
  /** QEMU's virtio-serial queues have 128 entries. */
  readonly queueNumMax = 128;
  readonly config = new Uint8Array(12);
  /** The transport, once it is attached (VirtioMmio calls `attach`). */
  private transport: (RxQueueAccess) | null = null;
  /** Input collected in this round by `pushRx`, written into the guest's buffers by `endRx`. */
  private pending: number[] = [];

  constructor(private readonly output: (bytes: Uint8Array) => void) {
    new DataView(this.config.buffer).setUint32(4, 1, true); // max_nr_ports: port 0 only
  }

  attach(t: RxQueueAccess): void {
    this.transport = t;
  }

  /** The receive queue is filled by input, not by the driver's notify. */
  holdsQueue(q: number): boolean {
    return q === VIRTCONSOLE_RXQ;
  }

  serve(q: number, c: VirtqChain, vq: Virtqueue): number {
    if (q === VIRTCONSOLE_TXQ) {
      const bytes = vq.gather(c.readable);
      if (bytes.length > 0) this.output(bytes);
    }
    return 0;
  }

  writeConfig(offset: number, size: number, value: bigint, driverFeatures: bigint): void {
    // emerg_wr: the low byte is the character (§5.3.6.1), any access that covers offset 8; only
    // once the driver accepted VIRTIO_CONSOLE_F_EMERG_WRITE (QEMU's virtio-serial set_config).
    if ((driverFeatures & VIRTIO_CONSOLE_F_EMERG_WRITE) === 0n) return;
    if (offset <= CFG_EMERG_WR && offset + size > CFG_EMERG_WR) {
      this.output(Uint8Array.of(Number((value >> BigInt(8 * (CFG_EMERG_WR - offset))) & 0xffn)));
    }
  }

  // Console input sink (the scheduler's, see the header).

  /** The driver is ready for input: DRIVER_OK and the receive queue enabled. */
  rxListening(): boolean {
    return this.transport !== null && this.transport.rxReady(VIRTCONSOLE_RXQ);
  }
  rxSpace(): number {
    if (!this.rxListening()) return 0;
    return Math.max(0, this.transport!.rxCapacity(VIRTCONSOLE_RXQ) - this.pending.length);
  }
  pushRx(byte: number): void {
    this.pending.push(byte & 0xff);
  }
  endRx(): void {
    if (this.pending.length === 0 || !this.transport) return;
    const n = this.transport.rxFill(VIRTCONSOLE_RXQ, Uint8Array.from(this.pending));
    this.pending = this.pending.slice(n);
  }

  /** A reset drops nothing: input not yet delivered stays for the next driver. */
  reset(): void {}

  saveState(): { pending: number[] } {
    return { pending: [...this.pending] };
  }
  restoreState(s: unknown): void {
    this.pending = [...((s as { pending?: number[] } | null)?.pending ?? [])];
  }
}
