import type { MmioDevice } from './device.js';
import { Reservations } from './reservations.js';

/** Bytes of per-hart state kept at the start of the shared memory (registers, TLBs). */
export const HART_STATE_BYTES = 64 * 1024;
export const MAX_HARTS = 8;
/** QEMU virt's mask ROM (MROM): reset vector and fw_dynamic_info (src/devices/mrom.ts). */
export const ROM_BASE = 0x1000;
export const ROM_SIZE = 0xf000;
/** Bytes the ROM takes in the shared memory (between the hart states and RAM). */
const ROM_AREA = 0x10000;
const WASM_PAGE = 65536;

/**
 * The physical address space: one `WebAssembly.Memory` holds every hart's register file and
 * TLBs followed by guest RAM, so a later translation tier (wasm) can share it without copies.
 * It is allocated once at its final size (growing would detach the typed-array views).
 */
export class Bus {
  readonly memory: WebAssembly.Memory;
  readonly buffer: ArrayBuffer;
  readonly dv: DataView;
  readonly u8: Uint8Array;
  /** Offset of guest RAM inside `buffer`. */
  readonly ramOffset: number;
  /** Offset of the ROM (ROM_BASE) inside `buffer`: harts fetch and load from it like RAM. */
  readonly romOffset: number;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly ramEnd: number;
  private devices: MmioDevice[] = [];
  /** LR/SC reservations of the harts sharing this memory. */
  readonly resv: Reservations;
  /**
   * Called when a hart is about to store to RAM at buffer offset `off` through the slow path,
   * which includes the first store to every page (later ones may hit the store TLB, which
   * only ever holds pages that went through here). Used to track which pages may be non-zero.
   */
  onStore: ((off: number, size: number) => void) | null = null;
  /** Called after RAM was written other than by a hart (loader, firmware): drop translated code. */
  onRamWrite: ((pa: number, len: number) => void) | null = null;

  constructor(ramBase: number, ramSize: number) {
    if (ramSize % 4096 !== 0) throw new Error('RAM size must be a multiple of 4 KiB');
    this.ramBase = ramBase;
    this.ramSize = ramSize;
    this.ramEnd = ramBase + ramSize;
    this.romOffset = HART_STATE_BYTES * MAX_HARTS;
    this.ramOffset = this.romOffset + ROM_AREA;
    const pages = Math.ceil((this.ramOffset + ramSize) / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.buffer = this.memory.buffer;
    this.dv = new DataView(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
    this.resv = new Reservations((pa) => (this.ramOffset + pa - this.ramBase) >>> 12);
  }

  /** Where hart `i`'s state (registers, TLBs) starts in the shared buffer. */
  hartStateOffset(i: number): number {
    return i * HART_STATE_BYTES;
  }

  addDevice(d: MmioDevice): void {
    for (const o of this.devices) {
      if (d.base < o.base + o.size && o.base < d.base + d.size) {
        throw new Error(`device ${d.name} overlaps ${o.name}`);
      }
    }
    this.devices.push(d);
    this.devices.sort((a, b) => a.base - b.base);
  }

  get deviceList(): readonly MmioDevice[] {
    return this.devices;
  }

  /** The device whose window contains [pa, pa+size), or undefined. */
  findDevice(pa: number, size: number): MmioDevice | undefined {
    const ds = this.devices;
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!;
      if (pa >= d.base && pa + size <= d.base + d.size) return d;
    }
    return undefined;
  }

  isRam(pa: number, size: number): boolean {
    return pa >= this.ramBase && pa + size <= this.ramEnd;
  }

  isRom(pa: number, size: number): boolean {
    return pa >= ROM_BASE && pa + size <= ROM_BASE + ROM_SIZE;
  }

  /** Set the ROM's contents (board reset; the rest of the ROM reads as zeros). */
  writeRom(data: Uint8Array): void {
    if (data.length > ROM_SIZE) throw new Error(`ROM image of ${data.length} bytes does not fit (${ROM_SIZE})`);
    this.u8.fill(0, this.romOffset, this.romOffset + ROM_SIZE);
    this.u8.set(data, this.romOffset);
  }

  /** Copy bytes into RAM at physical address `pa` (loader use). */
  writeRam(pa: number, data: Uint8Array): void {
    if (!this.isRam(pa, data.length)) throw new Error(`range 0x${pa.toString(16)}+0x${data.length.toString(16)} is outside RAM`);
    this.u8.set(data, this.ramOffset + pa - this.ramBase);
    this.wroteRam(pa, data.length);
  }

  /**
   * RAM [pa, pa+len) was written other than by a hart's store (a device's DMA, the loader, the
   * firmware): LR/SC reservations on it are lost, as for a store by another hart (unprivileged
   * spec §8.2 counts stores by any agent), and translated code on it is dropped (onRamWrite).
   */
  wroteRam(pa: number, len: number): void {
    if (this.resv.any) this.resv.storeTo(null, pa, len);
    if (this.onRamWrite) this.onRamWrite(pa, len);
  }

  readRam(pa: number, len: number): Uint8Array {
    if (!this.isRam(pa, len)) throw new Error(`range 0x${pa.toString(16)}+0x${len.toString(16)} is outside RAM`);
    const o = this.ramOffset + pa - this.ramBase;
    return this.u8.slice(o, o + len);
  }

  /** View of all of guest RAM (no copy). */
  ramView(): Uint8Array {
    return new Uint8Array(this.buffer, this.ramOffset, this.ramSize);
  }
}
