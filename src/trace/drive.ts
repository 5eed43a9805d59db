/**
 * The disk image of a replay, from the trace alone: a virtio-blk backend (src/devices/
 * virtio-blk.ts DiskBackend) that serves the base blocks the recording stored (table
 * disk_blocks, layer 0). The guest's writes need nothing stored: a replay makes them again into
 * its own overlay. A block the trace lacks (a trace cut short by a crash before the block was
 * committed) is read from `fallback` (`replay --drive file=PATH`, checked against the recorded
 * sha256 by the caller) or reads as zeros and is listed in `missing` (the replay then diverges
 * where the guest uses it and says so).
 */
import { DISK_BLOCK, type DiskBackend } from '../devices/virtio-blk.js';

export class TraceDiskBackend implements DiskBackend {
  readonly missing: number[] = [];

  constructor(
    readonly name: string,
    readonly sha256: string,
    readonly size: number,
    private readonly blocks: ReadonlyMap<number, Uint8Array>,
    private readonly fallback: DiskBackend | null = null,
  ) {}

  readBase(index: number): Uint8Array {
    const b = this.blocks.get(index);
    if (b) return b;
    if (this.fallback) return this.fallback.readBase(index);
    this.missing.push(index);
    return new Uint8Array(DISK_BLOCK);
  }
}
