/**
 * virtio-rng (virtio 1.1 §5.4, device ID 4): one request queue whose device-writable buffers
 * are filled with random bytes. Here the bytes come from a seeded PRNG (DESIGN §3: no host
 * randomness in the core): the seed is part of the machine configuration, so it is recorded
 * and a replay gets the same bytes. No features, no configuration space.
 *
 * PRNG: xoshiro128** (Blackman & Vigna), state seeded from the 32-bit seed with splitmix32 so
 * that nearby seeds give unrelated streams. Not for cryptography: for reproducible runs.
 */
import type { VirtioDevice } from './virtio-mmio.js';
import type { Virtqueue, VirtqChain } from './virtqueue.js';

export const VIRTIO_ID_ENTROPY = 4;

export class Xoshiro128 {
  private s: Uint32Array;

  constructor(seed: number) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  next(): number {
    const s = this.s;
    let s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const r = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3 >>> 0, 11);
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    return r;
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.next();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }

  get state(): number[] {
    return Array.from(this.s);
  }
  set state(v: number[]) {
    this.s = Uint32Array.from(v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Largest buffer served per chain (QEMU's virtio-rng also hands out what it has, not more). */
const MAX_CHAIN_BYTES = 64 * 1024;

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_ENTROPY;
  readonly features = 0n;
  readonly numQueues = 1;
  readonly queueNumMax = 64;
  readonly config = new Uint8Array(0);
  private readonly prng: Xoshiro128;

  constructor(readonly seed: number) {
    this.prng = new Xoshiro128(seed);
  }

  serve(_q: number, c: VirtqChain, vq: Virtqueue): number {
    const n = Math.min(MAX_CHAIN_BYTES, c.writable.reduce((a, b) => a + b.len, 0));
    const bytes = new Uint8Array(n);
    this.prng.fill(bytes);
    return vq.scatter(c.writable, bytes);
  }

  /** The stream continues across a reset: a reset is not a new seed. */
  reset(): void {}

  saveState(): { prng: number[] } {
    return { prng: this.prng.state };
  }
  restoreState(s: unknown): void {
    this.prng.state = (s as { prng: number[] }).prng;
  }
}
