/**
 * virtio-mmio transport, split virtqueues, virtio-blk and virtio-rng (issue 16), driven the way a
 * driver drives them (virtio 1.1 §3.1.1 initialisation, §2.6 split queues, §4.2.2 registers),
 * on a bare Bus with guest RAM; no guest code.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../src/mem/bus.js';
import { VirtioMmio, VIRTIO_F_VERSION_1, STATUS_DEVICE_NEEDS_RESET, STATUS_FEATURES_OK } from '../src/devices/virtio-mmio.js';
import { VirtioBlk, DISK_BLOCK, type DiskBackend } from '../src/devices/virtio-blk.js';
import { VirtioRng, Xoshiro128 } from '../src/devices/virtio-rng.js';

const RAM = 0x8000_0000;
const DESC = RAM + 0x1000;
const AVAIL = RAM + 0x2000;
const USED = RAM + 0x3000;
const BUF = RAM + 0x10000;

class Lines {
  level = new Map<number, boolean>();
  setSourceLevel(s: number, l: boolean): void { this.level.set(s, l); }
}

class MemDisk implements DiskBackend {
  readonly sha256 = 'x'.repeat(64);
  reads: number[] = [];
  constructor(readonly name: string, readonly bytes: Uint8Array) {}
  get size(): number { return this.bytes.length; }
  readBase(i: number): Uint8Array {
    this.reads.push(i);
    const b = new Uint8Array(DISK_BLOCK);
    b.set(this.bytes.subarray(i * DISK_BLOCK, (i + 1) * DISK_BLOCK));
    return b;
  }
}

/** A minimal driver: one queue of 8 at DESC/AVAIL/USED. */
class Driver {
  readonly bus = new Bus(RAM, 1 << 20);
  readonly lines = new Lines();
  readonly t: VirtioMmio;
  private avail = 0;
  constructor(dev: ConstructorParameters<typeof VirtioMmio>[3], slot = 7) {
    this.t = new VirtioMmio(slot, this.bus, this.lines, dev);
  }
  r(off: number): number { return Number(this.t.read(off, 4)); }
  w(off: number, v: number): void { this.t.write(off, 4, BigInt(v)); }
  init(features = Number(VIRTIO_F_VERSION_1 >> 32n)): number {
    this.w(0x70, 0);
    this.w(0x70, 1);
    this.w(0x70, 3);
    this.w(0x24, 1);
    this.w(0x20, features);
    this.w(0x70, 3 | STATUS_FEATURES_OK);
    const st = this.r(0x70);
    this.w(0x30, 0);
    this.w(0x38, 8);
    this.w(0x80, DESC); this.w(0x84, 0);
    this.w(0x90, AVAIL); this.w(0x94, 0);
    this.w(0xa0, USED); this.w(0xa4, 0);
    this.w(0x44, 1);
    this.w(0x70, st | 4);
    return st;
  }
  desc(i: number, addr: number, len: number, flags: number, next = 0): void {
    const o = this.bus.ramOffset + DESC - RAM + 16 * i;
    this.bus.dv.setBigUint64(o, BigInt(addr), true);
    this.bus.dv.setUint32(o + 8, len, true);
    this.bus.dv.setUint16(o + 12, flags, true);
    this.bus.dv.setUint16(o + 14, next, true);
  }
  submit(head: number): void {
    const o = this.bus.ramOffset + AVAIL - RAM;
    this.bus.dv.setUint16(o + 4 + 2 * (this.avail % 8), head, true);
    this.avail++;
    this.bus.dv.setUint16(o + 2, this.avail, true);
    this.w(0x50, 0);
  }
  usedIdx(): number { return this.bus.dv.getUint16(this.bus.ramOffset + USED - RAM + 2, true); }
  usedElem(k: number): [number, number] {
    const o = this.bus.ramOffset + USED - RAM + 4 + 8 * k;
    return [this.bus.dv.getUint32(o, true), this.bus.dv.getUint32(o + 4, true)];
  }
  put(pa: number, b: Uint8Array): void { this.bus.writeRam(pa, b); }
  get(pa: number, n: number): Uint8Array { return this.bus.readRam(pa, n); }
}

function blkHeader(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setBigUint64(8, BigInt(sector), true);
  return h;
}

function diskOf(n: number): MemDisk {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 9)) & 0xff;
  return new MemDisk('disk.img', b);
}

/** One blk request: header at BUF, data at BUF+0x100 (len), status at BUF+0x80. */
function request(d: Driver, type: number, sector: number, len: number, dataWritable: boolean): number {
  d.put(BUF, blkHeader(type, sector));
  d.desc(0, BUF, 16, 1, 1);
  if (len > 0) {
    d.desc(1, BUF + 0x100, len, 1 | (dataWritable ? 2 : 0), 2);
    d.desc(2, BUF + 0x80, 1, 2);
  } else {
    d.desc(1, BUF + 0x80, 1, 2);
  }
  d.submit(0);
  return d.get(BUF + 0x80, 1)[0]!;
}

describe('virtio-mmio transport', () => {
  it('identifies itself as a modern (Version 2) transport with QEMU\'s vendor id; an empty slot has DeviceID 0', () => {
    const d = new Driver(null, 0);
    expect(d.r(0x000)).toBe(0x74726976);
    expect(d.r(0x004)).toBe(2);
    expect(d.r(0x008)).toBe(0);
    expect(d.r(0x00c)).toBe(0x554d4551);
    expect(d.t.base).toBe(0x1000_1000);
    expect(d.t.irqNumber).toBe(1);
    const b = new Driver(new VirtioBlk({ backend: diskOf(8192), readonly: false }, 0));
    expect(b.r(0x008)).toBe(2);
    expect(b.t.base).toBe(0x1000_8000);
    expect(b.t.irqNumber).toBe(8);
  });

  it('offers VIRTIO_F_VERSION_1 and refuses FEATURES_OK without it or with bits not offered', () => {
    const d = new Driver(new VirtioRng(1));
    d.w(0x14, 1);
    expect(d.r(0x10)).toBe(1); // bit 32
    expect(d.init(0) & STATUS_FEATURES_OK).toBe(0);
    expect(d.init(1 | 2) & STATUS_FEATURES_OK).toBe(0);
    expect(d.init(1) & STATUS_FEATURES_OK).toBe(STATUS_FEATURES_OK);
  });

  it('a loop in a descriptor chain sets DEVICE_NEEDS_RESET instead of throwing; a reset clears it', () => {
    const d = new Driver(new VirtioRng(1));
    d.init();
    d.desc(0, BUF, 16, 1 | 2, 1);
    d.desc(1, BUF, 16, 1 | 2, 0);
    expect(() => d.submit(0)).not.toThrow();
    expect(d.r(0x70) & STATUS_DEVICE_NEEDS_RESET).toBe(STATUS_DEVICE_NEEDS_RESET);
    expect(d.usedIdx()).toBe(0);
    d.w(0x70, 0);
    expect(d.r(0x70)).toBe(0);
  });

  it('a buffer outside RAM is a device error, not an exception', () => {
    const d = new Driver(new VirtioRng(1));
    d.init();
    d.desc(0, 0x1000, 64, 2);
    expect(() => d.submit(0)).not.toThrow();
    expect(d.r(0x70) & STATUS_DEVICE_NEEDS_RESET).toBe(STATUS_DEVICE_NEEDS_RESET);
  });

  it('raises its PLIC source when it uses a buffer and drops it on InterruptACK', () => {
    const d = new Driver(new VirtioRng(1));
    d.init();
    d.desc(0, BUF, 32, 2);
    d.submit(0);
    expect(d.lines.level.get(8)).toBe(true);
    expect(d.r(0x60)).toBe(1);
    d.w(0x64, 1);
    expect(d.lines.level.get(8)).toBe(false);
  });
});

describe('virtio-blk', () => {
  it('reads sectors, reports the capacity and completes in the QueueNotify store', () => {
    const disk = diskOf(64 * 1024 + 100);
    const d = new Driver(new VirtioBlk({ backend: disk, readonly: false }, 0));
    expect(Number(d.t.read(0x100, 8))).toBe(128); // partial last sector not visible
    d.init();
    expect(request(d, 0, 9, 1024, true)).toBe(0);
    expect(d.get(BUF + 0x100, 1024)).toEqual(disk.bytes.subarray(9 * 512, 9 * 512 + 1024));
    expect(d.usedIdx()).toBe(1);
    expect(d.usedElem(0)).toEqual([0, 1025]);
  });

  it('writes go to the overlay, never to the backend, and are read back', () => {
    const disk = diskOf(64 * 1024);
    const orig = Uint8Array.from(disk.bytes);
    const blk = new VirtioBlk({ backend: disk, readonly: false }, 0);
    const d = new Driver(blk);
    d.init();
    d.put(BUF + 0x100, new Uint8Array(512).fill(0xab));
    expect(request(d, 1, 3, 512, false)).toBe(0);
    expect(disk.bytes).toEqual(orig);
    expect(blk.disk.overlayBlocks().map(([i]) => i)).toEqual([0]);
    expect(request(d, 0, 2, 1536, true)).toBe(0);
    const got = d.get(BUF + 0x100, 1536);
    expect(got.subarray(0, 512)).toEqual(orig.subarray(1024, 1536));
    expect(got.subarray(512, 1024)).toEqual(new Uint8Array(512).fill(0xab));
    expect(got.subarray(1024)).toEqual(orig.subarray(2048, 2560));
  });

  it('a read-only drive offers VIRTIO_BLK_F_RO and fails writes with IOERR', () => {
    const blk = new VirtioBlk({ backend: diskOf(8192), readonly: true }, 0);
    const d = new Driver(blk);
    expect(d.r(0x10) & (1 << 5)).toBe(1 << 5);
    d.init();
    expect(request(d, 1, 0, 512, false)).toBe(1);
    expect(blk.disk.overlay.size).toBe(0);
  });

  it('beyond the capacity is IOERR, an unknown type UNSUPP, FLUSH and GET_ID OK', () => {
    const d = new Driver(new VirtioBlk({ backend: diskOf(8192), readonly: false }, 0));
    d.init();
    expect(request(d, 0, 15, 1024, true)).toBe(1);
    expect(request(d, 99, 0, 0, true)).toBe(2);
    expect(request(d, 4, 0, 0, true)).toBe(0);
    expect(request(d, 8, 0, 20, true)).toBe(0);
    expect(new TextDecoder().decode(d.get(BUF + 0x100, 10))).toBe('hvtrace-vd');
  });

  it('reads each base block from the backend once (what the recorder stores), and its state restores', () => {
    const disk = diskOf(64 * 1024);
    const blk = new VirtioBlk({ backend: disk, readonly: false }, 0);
    const heard: number[] = [];
    blk.disk.onBaseRead = (i) => heard.push(i);
    const d = new Driver(blk);
    d.init();
    request(d, 0, 0, 4096, true);
    request(d, 0, 1, 512, true);
    request(d, 0, 8, 4096, true);
    expect(heard).toEqual([0, 1]);
    d.put(BUF + 0x100, new Uint8Array(512).fill(1));
    request(d, 1, 0, 512, false);
    const saved = d.t.saveState();
    const blk2 = new VirtioBlk({ backend: disk, readonly: false }, 0);
    const d2 = new Driver(blk2);
    d2.t.restoreState(saved);
    expect(blk2.disk.overlayBlocks()).toEqual(blk.disk.overlayBlocks());
  });
});

describe('virtio-rng', () => {
  it('fills buffers from the seeded PRNG: the same seed gives the same bytes, another seed others', () => {
    const bytes = (seed: number): Uint8Array => {
      const d = new Driver(new VirtioRng(seed));
      d.init();
      d.desc(0, BUF, 64, 2);
      d.submit(0);
      expect(d.usedElem(0)).toEqual([0, 64]);
      return d.get(BUF, 64);
    };
    expect(bytes(7)).toEqual(bytes(7));
    expect(bytes(7)).not.toEqual(bytes(8));
    expect(bytes(7).some((b) => b !== 0)).toBe(true);
  });

  it('xoshiro128** continues from a saved state', () => {
    const a = new Xoshiro128(42);
    a.next();
    const b = new Xoshiro128(0);
    b.state = a.state;
    expect([b.next(), b.next()]).toEqual([a.next(), a.next()]);
  });
});
