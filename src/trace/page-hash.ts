/**
 * The fast 64-bit hash of a 4 KiB RAM page that digests and checkpoints use (ramPageHashes in
 * recorder.ts): four multiply-xor lanes over the page's 1024 little-endian words, (0, 0) iff the
 * page is all zeros.
 *
 * Two implementations of the one function: `hashPageJs` over an Int32Array, and a small
 * WebAssembly function over the board's WebAssembly.Memory (`pageHasher`). The wasm one runs at
 * full speed from its first call; the JavaScript one is interpreted until V8 optimises it, and
 * the first digest of a recording (instruction 0: the loaded images, ~750 pages for Linux) then
 * cost ~60 ms and the second ~30 ms on the recording thread, against ~1-3 ms in wasm. The wasm
 * one is used on little-endian hosts (where Int32Array words are little-endian too, so both give
 * the same values: test/page-hash.test.ts) when RAM is a WebAssembly.Memory.
 *
 * ```ts
 * hashPageJs(w: Int32Array, base: number, o: Int32Array, p: number): void   // o[2p], o[2p+1]
 * pageHasher(memory: WebAssembly.Memory | null): PageHasher | null
 *   .hash(byteOffset: number, o: Int32Array, p: number): void   // the page at byteOffset of memory
 * ```
 */

import { Code, ModuleBuilder, I32, I64, W } from '../hart/wasm/emit.js';

/** 64-bit multiply-xor hash of one 4 KiB page (1024 words at w[base..]); (0,0) iff all zero. */
export function hashPageJs(w: Int32Array, base: number, o: Int32Array, p: number): void {
  let h1 = 0x811c9dc5 | 0, h2 = 0x01000193, h3 = 0x27d4eb2f, h4 = 0x165667b1, or = 0;
  for (let i = base, e = base + 1024; i < e; i += 4) {
    const a0 = w[i]!, a1 = w[i + 1]!, a2 = w[i + 2]!, a3 = w[i + 3]!;
    or |= a0 | a1 | a2 | a3;
    h1 = Math.imul(h1 ^ a0, 0x01000193);
    h2 = Math.imul(h2 ^ a1, 0x85ebca6b | 0);
    h3 = Math.imul(h3 ^ a2, 0xc2b2ae35 | 0);
    h4 = Math.imul(h4 ^ a3, 0x27d4eb2f);
  }
  if (or === 0) {
    o[2 * p] = 0;
    o[2 * p + 1] = 0;
    return;
  }
  let x = Math.imul(h1 ^ (h3 >>> 15), 0x85ebca6b | 0) ^ h2;
  const y = Math.imul(h2 ^ (h4 >>> 13), 0xc2b2ae35 | 0) ^ h3 ^ (h1 >>> 7) ^ Math.imul(h4, 0x9e3779b1 | 0);
  if ((x | y) === 0) x = 1;
  o[2 * p] = x;
  o[2 * p + 1] = y;
}

export interface PageHasher {
  hash(byteOffset: number, o: Int32Array, p: number): void;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The wasm twin of hashPageJs, built with the wasm tier's emitter (src/hart/wasm/emit.ts):
 * `h(address)` over the imported memory returns the page's hash as one i64, y << 32 | x.
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const c = new Code([I32], [I64]);
  const A = 0; // the page's byte address, advanced by 16 per step
  const [N, H1, H2, H3, H4, OR, A0, A1, A2, A3, X, Y] = Array.from({ length: 12 }, () => c.local(I32)) as [number, number, number, number, number, number, number, number, number, number, number, number];
  const mul = (k: number): void => { c.i32c(k | 0).op(W.I32_MUL); };
  c.i32c(256).set(N);
  c.i32c(0x811c9dc5 | 0).set(H1).i32c(0x01000193).set(H2).i32c(0x27d4eb2f).set(H3).i32c(0x165667b1).set(H4);
  c.begin(W.LOOP);
  [A0, A1, A2, A3].forEach((a, k) => c.get(A).mem(W.I32_LOAD, 2, 4 * k).set(a));
  c.get(OR).get(A0).op(W.I32_OR).get(A1).op(W.I32_OR).get(A2).op(W.I32_OR).get(A3).op(W.I32_OR).set(OR);
  for (const [h, a, k] of [[H1, A0, 0x01000193], [H2, A1, 0x85ebca6b], [H3, A2, 0xc2b2ae35], [H4, A3, 0x27d4eb2f]] as const) {
    c.get(h).get(a).op(W.I32_XOR);
    mul(k);
    c.set(h);
  }
  c.get(A).i32c(16).op(W.I32_ADD).set(A);
  c.get(N).i32c(1).op(W.I32_SUB).tee(N).brIf(0);
  c.end();
  // An all-zero page: (0, 0).
  c.get(OR).op(W.I32_EQZ).begin(W.IF).i64c(0n).op(W.RETURN).end();
  // x = imul(h1 ^ (h3 >>> 15), 0x85ebca6b) ^ h2
  c.get(H1).get(H3).i32c(15).op(W.I32_SHR_U).op(W.I32_XOR);
  mul(0x85ebca6b);
  c.get(H2).op(W.I32_XOR).set(X);
  // y = imul(h2 ^ (h4 >>> 13), 0xc2b2ae35) ^ h3 ^ (h1 >>> 7) ^ imul(h4, 0x9e3779b1)
  c.get(H2).get(H4).i32c(13).op(W.I32_SHR_U).op(W.I32_XOR);
  mul(0xc2b2ae35);
  c.get(H3).op(W.I32_XOR).get(H1).i32c(7).op(W.I32_SHR_U).op(W.I32_XOR).get(H4);
  mul(0x9e3779b1);
  c.op(W.I32_XOR).set(Y);
  // (0, 0) only for a zero page: x = 1 if both came out 0.
  c.get(X).get(Y).op(W.I32_OR).op(W.I32_EQZ).begin(W.IF).i32c(1).set(X).end();
  c.get(Y).op(W.I64_EXTEND_I32_U).i64c(32n).op(W.I64_SHL).get(X).op(W.I64_EXTEND_I32_U).op(W.I64_OR);
  const mb = new ModuleBuilder(0);
  mb.func('h', c);
  return mb.toBytes();
}

let compiled: WebAssembly.Module | null | undefined;
const hashers = new WeakMap<WebAssembly.Memory, PageHasher>();

/** The wasm page hash over `memory` (byte offsets into it), or null where it does not apply. */
export function pageHasher(memory: WebAssembly.Memory | null): PageHasher | null {
  if (memory === null || !LITTLE_ENDIAN) return null;
  let h = hashers.get(memory);
  if (h) return h;
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  const fn = new WebAssembly.Instance(compiled, { m: { mem: memory } }).exports['h'] as (p: number) => bigint;
  // The i64 result split into its int32 halves (x low, y high) through one little-endian word.
  const w64 = new BigInt64Array(1), w32 = new Int32Array(w64.buffer);
  h = {
    hash(byteOffset: number, o: Int32Array, p: number): void {
      w64[0] = fn(byteOffset);
      o[2 * p] = w32[0]!;
      o[2 * p + 1] = w32[1]!;
    },
  };
  hashers.set(memory, h);
  return h;
}
