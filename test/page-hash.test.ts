/**
 * The RAM page hash of digests and checkpoints (src/trace/page-hash.ts): the wasm implementation
 * gives the JavaScript one's values, page for page (all-zero pages (0, 0), a single non-zero
 * word, random pages, pages at the top of memory).
 */
import { describe, expect, it } from 'vitest';
import { hashPageJs, pageHasher } from '../src/trace/page-hash.js';

describe('RAM page hash: wasm = JavaScript', () => {
  it('gives the same (x, y) for every page of a memory', () => {
    const pages = 64;
    const memory = new WebAssembly.Memory({ initial: pages / 16, maximum: pages / 16 });
    const bytes = new Uint8Array(memory.buffer);
    let seed = 0x12345678;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 24;
    for (let p = 0; p < pages; p++) {
      const kind = p % 4; // 0: zero page, 1: one word, 2: random, 3: sparse
      for (let i = 0; i < 4096; i++) {
        bytes[p * 4096 + i] = kind === 2 ? rnd() : kind === 3 && i % 97 === 0 ? rnd() : 0;
      }
      if (kind === 1) bytes[p * 4096 + ((p * 131) % 4096)] = 1 + (p & 0x7f);
    }
    const h = pageHasher(memory);
    expect(h).not.toBeNull();
    const words = new Int32Array(memory.buffer);
    const js = new Int32Array(pages * 2), wasm = new Int32Array(pages * 2);
    for (let p = 0; p < pages; p++) {
      hashPageJs(words, p * 1024, js, p);
      h!.hash(p * 4096, wasm, p);
    }
    expect(Array.from(wasm)).toEqual(Array.from(js));
    for (let p = 0; p < pages; p += 4) expect([js[2 * p], js[2 * p + 1]]).toEqual([0, 0]);
    for (let p = 1; p < pages; p += 4) expect(js[2 * p]! | js[2 * p + 1]!).not.toBe(0);
  });
});
