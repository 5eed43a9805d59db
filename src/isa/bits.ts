/**
 * Bit-manipulation helpers named by instruction bodies in insns.ts (as `B.name`): the
 * interpreter imports this module, translated blocks receive it as a parameter. Registers are
 * int32 word pairs (xi[r*2] low, xi[r*2+1] high) or bigints; bigint shifts allocate, so the
 * frequent shifts work on words.
 */

/** 64-bit shifts on int32 register pairs. sh is 0..63. */
export function sll(xi: Int32Array, rd: number, rs: number, sh: number): void {
  const lo = xi[rs * 2]!, hi = xi[rs * 2 + 1]!;
  if (sh === 0) { xi[rd * 2] = lo; xi[rd * 2 + 1] = hi; }
  else if (sh < 32) { xi[rd * 2 + 1] = (hi << sh) | (lo >>> (32 - sh)); xi[rd * 2] = lo << sh; }
  else { xi[rd * 2 + 1] = lo << (sh - 32); xi[rd * 2] = 0; }
}
export function srl(xi: Int32Array, rd: number, rs: number, sh: number): void {
  const lo = xi[rs * 2]!, hi = xi[rs * 2 + 1]!;
  if (sh === 0) { xi[rd * 2] = lo; xi[rd * 2 + 1] = hi; }
  else if (sh < 32) { xi[rd * 2] = (lo >>> sh) | (hi << (32 - sh)); xi[rd * 2 + 1] = hi >>> sh; }
  else { xi[rd * 2] = hi >>> (sh - 32); xi[rd * 2 + 1] = 0; }
}
export function sra(xi: Int32Array, rd: number, rs: number, sh: number): void {
  const lo = xi[rs * 2]!, hi = xi[rs * 2 + 1]!;
  if (sh === 0) { xi[rd * 2] = lo; xi[rd * 2 + 1] = hi; }
  else if (sh < 32) { xi[rd * 2] = (lo >>> sh) | (hi << (32 - sh)); xi[rd * 2 + 1] = hi >> sh; }
  else { xi[rd * 2] = hi >> (sh - 32); xi[rd * 2 + 1] = hi >> 31; }
}

/** Trailing zeros of a 32-bit word (32 for 0). */
export function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}

/** Set bits of a 32-bit word. */
export function cpop32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Rotate a 64-bit value left by s (0..63); the caller's store wraps it to 64 bits. */
export function rol64(v: bigint, s: number): bigint {
  if (s === 0) return v;
  const u = BigInt.asUintN(64, v), k = BigInt(s);
  return (u << k) | (u >> (64n - k));
}

/** Rotate a 32-bit word left by s (0..31), as an int32. */
export function rol32(v: number, s: number): number {
  return s === 0 ? v | 0 : (v << s) | (v >>> (32 - s));
}

/** orc.b on one word: each byte becomes 0xff if it is non-zero, else 0x00. */
export function orcb32(v: number): number {
  let r = 0;
  for (let k = 0; k < 32; k += 8) if (((v >>> k) & 0xff) !== 0) r |= 0xff << k;
  return r | 0;
}

/** Byte-reverse a 32-bit word. */
export function bswap32(v: number): number {
  return ((v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) | 0;
}

/**
 * The 128-bit carry-less product of two 64-bit registers (unsigned bigint): clmul takes bits
 * 63:0, clmulh bits 127:64, clmulr bits 126:63 (Bitmanip v1.0.0 §2.3).
 */
export function clmul(a: bigint, b: bigint): bigint {
  const ua = BigInt.asUintN(64, a);
  let ub = BigInt.asUintN(64, b), r = 0n, sh = 0n;
  while (ub !== 0n) {
    if ((ub & 1n) !== 0n) r ^= ua << sh;
    ub >>= 1n;
    sh++;
  }
  return r;
}
