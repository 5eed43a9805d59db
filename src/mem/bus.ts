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
/** Pages of the largest 32-bit WebAssembly.Memory (4 GiB). */
const WASM_MAX_PAGES = 65536;
/** The largest RAM (-m 16G): the physical address space ends at 0x4_8000_0000. */
export const MAX_RAM_BYTES = 16 * 1024 ** 3;
/** A typed array holds at most 2^32 elements (V8): views of RAM are made per chunk of this many bytes. */
const VIEW_CHUNK = 2 ** 30;

/**
 * The physical address space: one buffer holds every hart's register file and TLBs, the ROM and
 * guest RAM, so a later translation tier (wasm) can share it without copies. It is allocated once
 * at its final size (growing would detach the typed-array views); untouched pages cost no host
 * memory (the kernel maps them on first write).
 *
 * Up to 4 GiB in all it is a `WebAssembly.Memory` (wasm32 addresses it with unsigned 32-bit
 * offsets); beyond that (RAM up to 16 GiB) a plain ArrayBuffer, which DataView indexes with any
 * safe integer. Buffer offsets are JS numbers everywhere; where the harts keep them in typed
 * arrays (TLBs, walk logs) they use Int32Array while every offset fits in int32 (`bigOffsets`
 * false: the buffer is at most 2 GiB, the default case, whose hot paths stay pure int32) and
 * Float64Array otherwise. See ARCHITECTURE.md §4.
 */
export class Bus {
  /** The wasm memory holding `buffer`, or null when the buffer is larger than 4 GiB. */
  readonly memory: WebAssembly.Memory | null;
  readonly buffer: ArrayBuffer;
  readonly dv: DataView;
  /** Some buffer offsets exceed 2^31 - 1: offset arrays must be Float64Array (see offsetArray). */
  readonly bigOffsets: boolean;
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
    if (ramSize > MAX_RAM_BYTES) throw new Error(`RAM size ${ramSize} is above the maximum of 16 GiB`);
    const pages = Math.ceil((this.ramOffset + ramSize) / WASM_PAGE);
    this.memory = pages <= WASM_MAX_PAGES ? new WebAssembly.Memory({ initial: pages, maximum: pages }) : null;
    this.buffer = this.memory !== null ? this.memory.buffer : new ArrayBuffer(pages * WASM_PAGE);
    this.bigOffsets = this.buffer.byteLength > 2 ** 31;
    this.dv = new DataView(this.buffer);
    this.resv = new Reservations((pa) => Math.floor((this.ramOffset + pa - this.ramBase) / 4096));
  }

  /**
   * A typed array of `n` buffer offsets (TLB-like tables): Int32Array while every offset fits in
   * int32, else Float64Array (exact to 2^53). `at`: a view in `buffer` at that offset instead of
   * a separate array (8-byte aligned; n * 8 bytes must be reserved there).
   */
  offsetArray(n: number, at?: number): Int32Array | Float64Array {
    if (this.bigOffsets) return at === undefined ? new Float64Array(n) : new Float64Array(this.buffer, at, n);
    return at === undefined ? new Int32Array(n) : new Int32Array(this.buffer, at, n);
  }

  /** Bytes [off, off+len) of the buffer, as a view (no copy); len must be at most 2^32. */
  bytes(off: number, len: number): Uint8Array {
    return new Uint8Array(this.buffer, off, len);
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
    const rom = this.bytes(this.romOffset, ROM_SIZE);
    rom.fill(0);
    rom.set(data);
  }

  /** Copy bytes into RAM at physical address `pa` (loader use). */
  writeRam(pa: number, data: Uint8Array): void {
    if (!this.isRam(pa, data.length)) throw new Error(`range 0x${pa.toString(16)}+0x${data.length.toString(16)} is outside RAM`);
    this.bytes(this.ramOffset + pa - this.ramBase, data.length).set(data);
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
    return this.bytes(o, len).slice();
  }

  /** View of RAM page `p` (4 KiB at ramBase + p * 4096; no copy). */
  ramPage(p: number): Uint8Array {
    return new Uint8Array(this.buffer, this.ramOffset + p * 4096, 4096);
  }

  /**
   * Views covering all of RAM in order, each at most 1 GiB (one typed array cannot span more
   * than 2^32 elements, and 16 GiB of RAM would need more), as Int32Array words.
   */
  ramWordChunks(): Int32Array[] {
    const out: Int32Array[] = [];
    for (let o = 0; o < this.ramSize; o += VIEW_CHUNK) {
      out.push(new Int32Array(this.buffer, this.ramOffset + o, Math.min(VIEW_CHUNK, this.ramSize - o) / 4));
    }
    return out;
  }

  /**
   * Zero every RAM page that is not all zeros (checkpoint restore without a record of written
   * pages). Pages are read first and written only when non-zero: reading a page the guest never
   * wrote commits no host memory, writing it would (16 GiB of RAM is mostly such pages).
   */
  zeroRam(): void {
    for (const w of this.ramWordChunks()) {
      for (let b = 0; b < w.length; b += 1024) {
        let or = 0;
        for (let i = b; i < b + 1024; i++) or |= w[i]!;
        if (or !== 0) w.fill(0, b, b + 1024);
      }
    }
  }
}
