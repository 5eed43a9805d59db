/**
 * virtio-blk (virtio 1.1 §5.2, device ID 2) over a disk image with a copy-on-write overlay.
 *
 * The image is read through a `DiskBackend` in 4 KiB blocks: on `run` / `record` the backend is
 * the file (src/cli), on `replay` the blocks stored in the trace (the recorder stores every base
 * block the guest reads: src/trace/recorder.ts), so a replay needs no image. Guest writes never
 * reach the backend: they go to the overlay (`Disk`), which is part of the device state
 * (checkpoints) and which `record` stores in the trace and `run --drive ...,writeback=on` writes
 * back to the file at the end.
 *
 * Requests (§5.2.6): a device-readable header { le32 type, le32 reserved, le64 sector }, data,
 * and a device-writable status byte last. Supported: IN (0), OUT (1), FLUSH (4, a no-op: the
 * overlay is the disk), GET_ID (8, the drive's serial "hvtrace-vdN"). Anything else is
 * VIRTIO_BLK_S_UNSUPP; a request beyond the capacity, a write to a read-only drive or a chain
 * of the wrong shape is VIRTIO_BLK_S_IOERR (the guest's mistake is a device status, never an
 * exception).
 *
 * Features: VIRTIO_BLK_F_SEG_MAX (seg_max = queue size - 2, as QEMU's seg-max-adjust),
 * VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO for `readonly=on`. One request queue of 256 entries.
 */
import type { VirtioDevice } from './virtio-mmio.js';
import type { Virtqueue, VirtqChain } from './virtqueue.js';

export const VIRTIO_ID_BLOCK = 2;
export const SECTOR = 512;
export const DISK_BLOCK = 4096;

const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
const VIRTIO_BLK_F_RO = 1n << 5n;
const VIRTIO_BLK_F_FLUSH = 1n << 9n;

const VIRTIO_BLK_T_IN = 0;
const VIRTIO_BLK_T_OUT = 1;
const VIRTIO_BLK_T_FLUSH = 4;
const VIRTIO_BLK_T_GET_ID = 8;
const VIRTIO_BLK_S_OK = 0;
const VIRTIO_BLK_S_IOERR = 1;
const VIRTIO_BLK_S_UNSUPP = 2;
const VIRTIO_BLK_ID_BYTES = 20;
const QUEUE_SIZE = 256;

/** Where a drive's original contents come from. */
export interface DiskBackend {
  /** The image's path as given (messages, the trace). */
  readonly name: string;
  /** Image size in bytes. */
  readonly size: number;
  /** sha256 of the whole image (hex), recorded in the trace. */
  readonly sha256: string;
  /** Block `index` (DISK_BLOCK bytes, zero beyond the end of the image). */
  readBase(index: number): Uint8Array;
}

/** A drive as the machine configuration gives it. */
export interface DriveConfig {
  readonly backend: DiskBackend;
  readonly readonly: boolean;
}

/**
 * The disk the guest sees: the backend's blocks under an overlay of the blocks the guest wrote.
 * `onBaseRead` hears each base block the first time it is read (the recorder stores them).
 */
export class Disk {
  readonly overlay = new Map<number, Uint8Array>();
  private readonly seen = new Set<number>();
  onBaseRead: ((index: number, bytes: Uint8Array) => void) | null = null;

  constructor(readonly backend: DiskBackend) {}

  private block(index: number): Uint8Array {
    const o = this.overlay.get(index);
    if (o) return o;
    const b = this.backend.readBase(index);
    if (!this.seen.has(index)) {
      this.seen.add(index);
      this.onBaseRead?.(index, b);
    }
    return b;
  }

  read(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let k = 0; k < len;) {
      const i = Math.floor((offset + k) / DISK_BLOCK);
      const at = (offset + k) % DISK_BLOCK;
      const n = Math.min(DISK_BLOCK - at, len - k);
      out.set(this.block(i).subarray(at, at + n), k);
      k += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    for (let k = 0; k < data.length;) {
      const i = Math.floor((offset + k) / DISK_BLOCK);
      const at = (offset + k) % DISK_BLOCK;
      const n = Math.min(DISK_BLOCK - at, data.length - k);
      let b = this.overlay.get(i);
      if (!b) {
        // A whole-block write needs nothing from the image; a partial one copies the block.
        b = n === DISK_BLOCK ? new Uint8Array(DISK_BLOCK) : Uint8Array.from(this.block(i));
        this.overlay.set(i, b);
      }
      b.set(data.subarray(k, k + n), at);
      k += n;
    }
  }

  /** Overlay blocks in ascending order (checkpoints, the trace, write-back). */
  overlayBlocks(): [number, Uint8Array][] {
    return [...this.overlay.entries()].sort((a, b) => a[0] - b[0]);
  }
}

interface BlkState {
  overlay: [number, Uint8Array][];
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly numQueues = 1;
  readonly queueNumMax = QUEUE_SIZE;
  readonly config: Uint8Array;
  readonly disk: Disk;
  /** Capacity in 512-byte sectors (a partial last sector is not visible, as on QEMU). */
  readonly sectors: number;

  constructor(readonly drive: DriveConfig, readonly index: number) {
    this.disk = new Disk(drive.backend);
    this.sectors = Math.floor(drive.backend.size / SECTOR);
    this.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH | (drive.readonly ? VIRTIO_BLK_F_RO : 0n);
    // struct virtio_blk_config (§5.2.4): le64 capacity, le32 size_max, le32 seg_max, ...
    this.config = new Uint8Array(60);
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(this.sectors), true);
    dv.setUint32(12, QUEUE_SIZE - 2, true);
  }

  serve(_q: number, c: VirtqChain, vq: Virtqueue): number {
    const wlen = c.writable.reduce((n, b) => n + b.len, 0);
    if (wlen < 1) return 0; // no room for a status byte: nothing can be reported
    const hdr = vq.gather(c.readable);
    const status = (s: number, at: number): number => {
      vq.scatter(c.writable, Uint8Array.of(s), at);
      return at + 1;
    };
    if (hdr.length < 16) return status(VIRTIO_BLK_S_IOERR, wlen - 1);
    const dv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
    const type = dv.getUint32(0, true);
    const sector = dv.getBigUint64(8, true);
    const inRange = (bytes: number): boolean => bytes % SECTOR === 0 && sector + BigInt(bytes / SECTOR) <= BigInt(this.sectors);
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const n = wlen - 1;
        if (!inRange(n)) return status(VIRTIO_BLK_S_IOERR, n);
        vq.scatter(c.writable, this.disk.read(Number(sector) * SECTOR, n));
        return status(VIRTIO_BLK_S_OK, n);
      }
      case VIRTIO_BLK_T_OUT: {
        const data = hdr.subarray(16);
        if (this.drive.readonly || !inRange(data.length)) return status(VIRTIO_BLK_S_IOERR, wlen - 1);
        this.disk.write(Number(sector) * SECTOR, data);
        return status(VIRTIO_BLK_S_OK, wlen - 1);
      }
      case VIRTIO_BLK_T_FLUSH:
        return status(VIRTIO_BLK_S_OK, wlen - 1);
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
        id.set(new TextEncoder().encode(`hvtrace-vd${String.fromCharCode(97 + this.index)}`));
        const n = Math.min(wlen - 1, VIRTIO_BLK_ID_BYTES);
        vq.scatter(c.writable, id.subarray(0, n));
        return status(VIRTIO_BLK_S_OK, wlen - 1);
      }
      default:
        return status(VIRTIO_BLK_S_UNSUPP, wlen - 1);
    }
  }

  /** The disk's contents survive a device reset (the overlay is the disk, not device state). */
  reset(): void {}

  saveState(): BlkState {
    return { overlay: this.disk.overlayBlocks().map(([i, b]) => [i, Uint8Array.from(b)]) };
  }

  restoreState(s: unknown): void {
    const st = s as BlkState;
    this.disk.overlay.clear();
    for (const [i, b] of st.overlay) this.disk.overlay.set(i, Uint8Array.from(b));
  }
}
