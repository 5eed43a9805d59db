/**
 * The fast 64-bit hash of a 4 KiB RAM page that digests and checkpoints use (ramPageHashes in
 * recorder.ts): four multiply-xor lanes over the page's 1024 little-endian words, (0, 0) iff the
 * page is all zeros.
 *
 * Two implementations of the one function: `hashPageJs` over an Int32Array, and a 60-instruction
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

// ---- the wasm module: (import "m" "m" memory), (func (export "h") (param i32) (result i32)), (global (export "y") mut i32) ----
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    const b = v & 0x7f;
    v >>>= 7;
    out.push(v !== 0 ? b | 0x80 : b);
  } while (v !== 0);
  return out;
}
function sleb(v: number): number[] {
  v |= 0;
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  // locals: 0 = the page's byte address (advanced by 16 per step), then:
  const N = 1, H1 = 2, H2 = 3, H3 = 4, H4 = 5, OR = 6, A0 = 7, A1 = 8, A2 = 9, A3 = 10, X = 11;
  const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i], tee = (i: number) => [0x22, i];
  const c = (v: number) => [0x41, ...sleb(v)];
  const load = (off: number) => [0x20, 0, 0x28, 0x02, off]; // i32.load align=4 offset=off
  const OR_ = 0x72, XOR = 0x73, MUL = 0x6c, ADD = 0x6a, SUB = 0x6b, SHRU = 0x76, EQZ = 0x45;
  const gset = [0x24, 0], gget = [0x23, 0];
  const lane = (h: number, a: number, k: number) => [...get(h), ...get(a), XOR, ...c(k), MUL, ...set(h)];
  const code = [
    ...c(256), ...set(N),
    ...c(0x811c9dc5), ...set(H1), ...c(0x01000193), ...set(H2), ...c(0x27d4eb2f), ...set(H3), ...c(0x165667b1), ...set(H4),
    0x03, 0x40, // loop
    ...load(0), ...set(A0), ...load(4), ...set(A1), ...load(8), ...set(A2), ...load(12), ...set(A3),
    ...get(OR), ...get(A0), OR_, ...get(A1), OR_, ...get(A2), OR_, ...get(A3), OR_, ...set(OR),
    ...lane(H1, A0, 0x01000193), ...lane(H2, A1, 0x85ebca6b), ...lane(H3, A2, 0xc2b2ae35), ...lane(H4, A3, 0x27d4eb2f),
    ...get(0), ...c(16), ADD, ...set(0),
    ...get(N), ...c(1), SUB, ...tee(N), 0x0d, 0, // br_if 0
    0x0b, // end loop
    ...get(OR), EQZ, 0x04, 0x40, ...c(0), ...gset, ...c(0), 0x0f, 0x0b, // all zero: (0, 0)
    ...get(H1), ...get(H3), ...c(15), SHRU, XOR, ...c(0x85ebca6b), MUL, ...get(H2), XOR, ...set(X),
    ...get(H2), ...get(H4), ...c(13), SHRU, XOR, ...c(0xc2b2ae35), MUL, ...get(H3), XOR, ...get(H1), ...c(7), SHRU, XOR,
    ...get(H4), ...c(0x9e3779b1), MUL, XOR, ...gset,
    ...get(X), ...gget, OR_, EQZ, 0x04, 0x40, ...c(1), ...set(X), 0x0b,
    ...get(X),
    0x0b,
  ];
  const body = [1, 11, 0x7f, ...code]; // 11 i32 locals
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...name('m'), ...name('m'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(6, [1, 0x7f, 0x01, 0x41, 0x00, 0x0b]),
    ...section(7, [2, ...name('h'), 0x00, 0, ...name('y'), 0x03, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
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
  const inst = new WebAssembly.Instance(compiled, { m: { m: memory } });
  const fn = inst.exports['h'] as (p: number) => number;
  const y = inst.exports['y'] as WebAssembly.Global;
  h = {
    hash(byteOffset: number, o: Int32Array, p: number): void {
      o[2 * p] = fn(byteOffset);
      o[2 * p + 1] = y.value as number;
    },
  };
  hashers.set(memory, h);
  return h;
}
