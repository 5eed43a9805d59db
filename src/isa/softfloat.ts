/**
 * IEEE 754-2008 binary32 / binary64 arithmetic for the RISC-V F and D extensions, with all five
 * rounding modes and exact exception flags, as required by the RISC-V unprivileged ISA
 * specification v20191213, chapters 11 ("F" Standard Extension for Single-Precision
 * Floating-Point) and 12 ("D" Standard Extension for Double-Precision Floating-Point).
 *
 * Size: one module on purpose: the fast paths, the exact bigint fallback and the conversions
 * share the rounding and flag helpers and the scratch cells below, and splitting them would turn
 * those hot module-local calls into cross-module imports V8 cannot fold.
 *
 * The host only offers binary64 round-to-nearest-even without flags. Everything here is built from
 * that, in three layers:
 *
 *  1. Fast paths (the common case, no allocation, no bigint). The host computes the
 *     round-to-nearest-even (RNE) result r of an f64 operation, and an error-free transformation
 *     gives the exact error (x - r) or at least its sign:
 *       - add/sub: TwoSum (Knuth), exact error as a double;
 *       - mul:     TwoProduct (Dekker/Veltkamp splitting), exact error as a double;
 *       - div:     remainder a - r*b (exactly representable, computed with TwoProduct);
 *       - sqrt:    remainder a - r*r (idem);
 *       - fma:     TwoProduct of a*b, then Shewchuk's Grow-Expansion with c, giving a
 *                  non-overlapping 3-term expansion of the exact result, which is then rounded.
 *     From r, the sign of the error and (where ties are possible) whether the exact value is a
 *     midpoint, r is moved by at most one ulp for the directed modes and for RMM ties.
 *     Fast paths are only taken when every operand and the result lie in ranges where the
 *     error-free transformations are provably exact and where neither overflow nor underflow
 *     can happen; everything else takes layer 3.
 *  2. binary32: the exact result of an f32 add/sub/mul/fma is representable as a double or as an
 *     unevaluated sum of two doubles (f32*f32 is exact in binary64), and the quotient/square root
 *     is known as a double plus the sign of the remainder. roundF32(st) rounds "a double plus a
 *     sticky direction" to binary32 in any mode, including subnormals, overflow and the
 *     after-rounding tininess test. So binary32 never needs bigint.
 *  3. Slow paths: exact arithmetic on bigint significands and one generic rounding routine
 *     (roundPack) implementing IEEE 754 rounding, overflow, and tininess-after-rounding for any
 *     precision. Used for subnormal operands/results, overflow, huge or tiny operands, and for
 *     wide integer -> float conversions.
 *
 * NaNs: RISC-V never propagates NaN payloads (spec 11.3 "NaN Generation and Propagation": "Except
 * when otherwise stated, if the result of a floating-point operation is NaN, it is the canonical
 * NaN"). Every function that produces a NaN returns the JS NaN and the caller writes the canonical
 * encoding (0x7ff8000000000000 / 0x7fc00000). Because JS numbers cannot tell signaling from quiet
 * NaNs, the caller inspects the raw operand bits (f64IsSignalingBits / f32IsSignalingBits) and
 * passes `snan` = "at least one operand is a signaling NaN".
 *
 * Subnormals: spec 11.4 "Subnormal Arithmetic": "Operations on subnormal numbers are handled in
 * accordance with the IEEE 754-2008 standard. In the parlance of the IEEE standard, tininess is
 * detected after rounding." UF is raised only when the result is tiny AND inexact (IEEE 754-2008
 * 7.5, default exception handling). OF always comes with NX (IEEE 754-2008 7.4).
 *
 * binary32 operands are JS numbers holding exact binary32 values (Math.fround(x) === x); the
 * caller unboxes NaN-boxed registers first (spec 12.2: an improperly NaN-boxed value reads as the
 * canonical NaN), and the results of the f32 functions are again exact binary32 values.
 *
 * All functions are pure apart from OR-ing flags into the caller's accumulator (`st.flags`, the
 * first argument of every operation that can raise one; they never clear flags), and fully
 * deterministic: no host time, randomness or host rounding-mode state is involved. No result
 * travels through module state: the module's only writable memory is the scratch cells below,
 * written and read within one call.
 */

// ---------------------------------------------------------------------------------------------
// Public constants and types
// ---------------------------------------------------------------------------------------------

/**
 * Rounding modes, encoded as in the frm field / rm instruction field (spec 11.2, rounding mode
 * encoding table). Only 0..4 are valid: the caller resolves DYN (7) through frm and raises an
 * illegal-instruction exception for 5/6 (any other value behaves as RNE here).
 */
export const RM_RNE = 0, RM_RTZ = 1, RM_RDN = 2, RM_RUP = 3, RM_RMM = 4;
/** Accrued exception flags, encoded as in fflags (spec 11.2, accrued exception flag encoding table). */
export const FLAG_NX = 1, FLAG_UF = 2, FLAG_OF = 4, FLAG_DZ = 8, FLAG_NV = 16;

/**
 * Where an operation accumulates its exception flags: each operation that can raise one takes
 * it as its first argument and ORs into `flags` (never clears). The caller owns it (a hart keeps
 * one, Hart.fpx), reads it after the operation and clears it; no flags live in this module.
 */
export interface FpFlags { flags: number }

// ---------------------------------------------------------------------------------------------
// Bit-level helpers (one shared buffer, no per-operation allocation)
// ---------------------------------------------------------------------------------------------

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
F64[0] = 1; // 0x3ff0000000000000: find which 32-bit word holds the sign/exponent
const HI = U32[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;
/** Scratch binary32 cell and its encoding, for stepping a float by one ulp. */
const F32A = new Float32Array(1);
const I32A = new Int32Array(F32A.buffer);

/** POW2[k + 1074] = 2^k exactly, for k in [-1074, 1023]; built from bit patterns (no Math.pow). */
const POW2 = new Float64Array(1074 + 1024);
for (let k = -1074; k <= 1023; k++) {
  if (k >= -1022) {
    U32[HI] = (k + 1023) << 20;
    U32[LO] = 0;
  } else {
    const j = k + 1074; // position of the single mantissa bit of the subnormal 2^k
    U32[HI] = j >= 32 ? 1 << (j - 32) : 0;
    U32[LO] = j < 32 ? (1 << j) >>> 0 : 0;
  }
  POW2[k + 1074] = F64[0];
}
function pow2(k: number): number {
  return POW2[k + 1074];
}

const TWO_M1000 = pow2(-1000);
const TWO_M960 = pow2(-960);
const TWO_M900 = pow2(-900);
const TWO_M480 = pow2(-480);
const TWO_M126 = pow2(-126);
const TWO_M125 = pow2(-125);
const TWO_127 = pow2(127);
const TWO_M1022 = pow2(-1022);
const TWO_31 = pow2(31);
const TWO_32 = pow2(32);
const TWO_52 = pow2(52);
const TWO_53 = pow2(53);
const TWO_63 = pow2(63);
const TWO_64 = pow2(64);
const TWO_128 = pow2(128);
const TWO_480 = pow2(480);
const TWO_500 = pow2(500);
const TWO_M500 = pow2(-500);
const TWO_900 = pow2(900);
const TWO_995 = pow2(995);
const TWO_1000 = pow2(1000);
const TWO_1020 = pow2(1020);
const TWO_1021 = pow2(1021);

/** Largest finite binary64 / binary32 values. */
const F64_MAX = 1.7976931348623157e308;
const F32_MAX = 3.4028234663852886e38;
/** Veltkamp splitting constant 2^27 + 1 for binary64. */
const SPLIT = 134217729;

const I64_MAX = 0x7fffffffffffffffn;
const I64_MIN = -0x8000000000000000n;
const U64_MAX = 0xffffffffffffffffn;

/** |x| + 1 ulp, by incrementing the encoding (x finite; +-MAX becomes +-inf; +-0 -> +-min subnormal). */
function bitsUp(x: number): number {
  F64[0] = x;
  const lo = U32[LO];
  if (lo === 0xffffffff) {
    U32[LO] = 0;
    U32[HI] = U32[HI] + 1;
  } else {
    U32[LO] = lo + 1;
  }
  return F64[0];
}

/** |x| - 1 ulp, by decrementing the encoding (x finite and nonzero). */
function bitsDown(x: number): number {
  F64[0] = x;
  const lo = U32[LO];
  if (lo === 0) {
    U32[LO] = 0xffffffff;
    U32[HI] = U32[HI] - 1;
  } else {
    U32[LO] = lo - 1;
  }
  return F64[0];
}

/** Next double towards +inf (x finite). */
function nextUp(x: number): number {
  return x > 0 ? bitsUp(x) : x < 0 ? bitsDown(x) : POW2[0];
}

/** Next double towards -inf (x finite). */
function nextDown(x: number): number {
  return x < 0 ? bitsUp(x) : x > 0 ? bitsDown(x) : -POW2[0];
}

// ---------------------------------------------------------------------------------------------
// Signaling-NaN predicates (raw encodings)
// ---------------------------------------------------------------------------------------------

/**
 * True when the binary64 encoding hi:lo is a signaling NaN: exponent all ones, significand nonzero,
 * and the most significant significand bit (the quiet bit, bit 51) clear (IEEE 754-2008 6.2.1).
 */
export function f64IsSignalingBits(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && (hi & 0x00080000) === 0 && ((hi & 0x0007ffff) | lo) !== 0;
}

/** True when the binary32 encoding is a signaling NaN (quiet bit is bit 22). */
export function f32IsSignalingBits(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x00400000) === 0 && (bits & 0x003fffff) !== 0;
}

// ---------------------------------------------------------------------------------------------
// Layer 3: exact bigint arithmetic and the generic rounding routine
// ---------------------------------------------------------------------------------------------

/** The significand of finite nonzero binary64 x: |x| = mantOf(x) * 2^expOf(x) exactly. */
function mantOf(x: number): bigint {
  F64[0] = x;
  const hi = U32[HI];
  const mh = (hi & 0xfffff) | (((hi >>> 20) & 0x7ff) === 0 ? 0 : 0x100000);
  return (BigInt(mh) << 32n) | BigInt(U32[LO]);
}
/** The exponent of mantOf(x)'s unit bit. */
function expOf(x: number): number {
  F64[0] = x;
  const be = (U32[HI] >>> 20) & 0x7ff;
  return be === 0 ? -1074 : be - 1075;
}

/** Number of significant bits of m >= 0 (0 for 0). */
function bitLen(m: bigint): number {
  const s = m.toString(16);
  return (s.length - 1) * 4 + 32 - Math.clz32(parseInt(s[0], 16));
}

/**
 * q = floor(m / 2^sh) rounded in mode rm, given the bits it discarded, rem = m mod 2^sh != 0
 * (s = BigInt(sh), sh > 0); neg is the sign of the value (needed by the directed modes).
 */
function roundQuotient(q: bigint, rem: bigint, s: bigint, rm: number, neg: boolean): bigint {
  const half = 1n << (s - 1n);
  let inc: boolean;
  switch (rm) {
    case RM_RTZ: inc = false; break;
    case RM_RDN: inc = neg; break;
    case RM_RUP: inc = !neg; break;
    case RM_RMM: inc = rem >= half; break;
    default: inc = rem > half || (rem === half && (q & 1n) === 1n); break;
  }
  return inc ? q + 1n : q;
}

/** Round the magnitude m * 2^-sh (sh > 0) to an integer in mode rm (see roundQuotient). */
function shiftRound(m: bigint, sh: number, rm: number, neg: boolean): bigint {
  const s = BigInt(sh);
  const q = m >> s;
  const rem = m - (q << s);
  return rem === 0n ? q : roundQuotient(q, rem, s, rm, neg);
}

/**
 * The result of an overflowing operation (IEEE 754-2008 7.4): RNE and RMM carry all overflows to
 * infinity, RTZ to the largest finite number, RDN/RUP depending on the sign. Raises OF and NX.
 */
function overflowResult(st: FpFlags, neg: boolean, rm: number, maxFinite: number): number {
  st.flags |= FLAG_OF | FLAG_NX;
  switch (rm) {
    case RM_RTZ: return neg ? -maxFinite : maxFinite;
    case RM_RDN: return neg ? -Infinity : maxFinite;
    case RM_RUP: return neg ? -maxFinite : Infinity;
    default: return neg ? -Infinity : Infinity;
  }
}

/**
 * Round (-1)^neg * m * 2^e (m > 0, exact) to a binary format with precision p and normal exponent
 * range [emin, emax] (53/-1022/1023 or 24/-126/127), in mode rm, raising NX/UF/OF as IEEE 754
 * requires with tininess detected after rounding (spec 11.4). The result is returned as a JS
 * number (exactly representable in the target format).
 */
function roundPack(st: FpFlags, neg: boolean, m: bigint, e: number, rm: number, p: number, emin: number, emax: number): number {
  const msb = e + bitLen(m) - 1; // exponent of the leading bit of the exact value
  const ue = msb - (p - 1); // ulp exponent with an unbounded exponent range
  const subUlp = emin - (p - 1); // ulp exponent of the subnormals
  const ua = ue < subUlp ? subUlp : ue; // actual ulp exponent
  let q: bigint;
  let inexact: boolean;
  if (ua <= e) {
    q = m << BigInt(e - ua);
    inexact = false;
  } else {
    const s = BigInt(ua - e);
    const t = m >> s;
    const rem = m - (t << s);
    inexact = rem !== 0n;
    q = inexact ? roundQuotient(t, rem, s, rm, neg) : t;
  }
  // A carry out of the rounding may have added one bit (q = 2^p); ua + bitLen(q) - 1 is then the
  // exponent of the rounded result. Overflow is decided on the rounded value (IEEE 7.4).
  if (q !== 0n && ua + bitLen(q) - 1 > emax) return overflowResult(st, neg, rm, emax === 1023 ? F64_MAX : F32_MAX);
  if (inexact) {
    let flags = FLAG_NX;
    if (msb < emin) {
      // Tiny before rounding; tiny after rounding unless rounding to precision p with an unbounded
      // exponent range carries the value up to 2^emin.
      let tiny = true;
      if (msb === emin - 1) {
        const qu = ue <= e ? m : shiftRound(m, ue - e, rm, neg);
        tiny = ue + bitLen(qu) - 1 < emin;
      }
      if (tiny) flags |= FLAG_UF;
    }
    st.flags |= flags;
  }
  const mag = Number(q) * pow2(ua); // exact: q has at most p+1 bits, the product is representable
  return neg ? -mag : mag;
}

/** Exact (bigint) f64 addition of finite operands whose sum is nonzero or which overflowed. */
function addSlow(st: FpFlags, a: number, b: number, rm: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  let ma = mantOf(a);
  const ea = expOf(a);
  let mb = mantOf(b);
  const eb = expOf(b);
  const e = ea < eb ? ea : eb;
  if (ea > e) ma <<= BigInt(ea - e);
  if (eb > e) mb <<= BigInt(eb - e);
  let s = (a < 0 ? -ma : ma) + (b < 0 ? -mb : mb);
  if (s === 0n) return rm === RM_RDN ? -0 : 0;
  const neg = s < 0n;
  if (neg) s = -s;
  return roundPack(st, neg, s, e, rm, 53, -1022, 1023);
}

/** Exact (bigint) f64 multiplication of finite nonzero operands. */
function mulSlow(st: FpFlags, a: number, b: number, rm: number): number {
  const ma = mantOf(a);
  const ea = expOf(a);
  const mb = mantOf(b);
  const eb = expOf(b);
  return roundPack(st, (a < 0) !== (b < 0), ma * mb, ea + eb, rm, 53, -1022, 1023);
}

/**
 * Exact (bigint) f64 division of finite nonzero operands: a quotient with at least 66 significant
 * bits plus a sticky bit is enough for correct rounding in every mode.
 */
function divSlow(st: FpFlags, a: number, b: number, rm: number): number {
  const ma = mantOf(a);
  const ea = expOf(a);
  const mb = mantOf(b);
  const eb = expOf(b);
  const k = 66 + bitLen(mb) - bitLen(ma);
  const n = ma << BigInt(k);
  const q = n / mb;
  let m = q << 1n;
  if (n !== q * mb) m |= 1n;
  return roundPack(st, (a < 0) !== (b < 0), m, ea - eb - k - 1, rm, 53, -1022, 1023);
}

/** Exact (bigint) f64 fused multiply-add; a, b finite nonzero, c finite. */
function fmaSlow(st: FpFlags, a: number, b: number, c: number, rm: number): number {
  let mp = mantOf(a);
  const ea = expOf(a);
  mp *= mantOf(b);
  const ep = ea + expOf(b);
  const negP = (a < 0) !== (b < 0);
  if (c === 0) return roundPack(st, negP, mp, ep, rm, 53, -1022, 1023);
  let mc = mantOf(c);
  const ec = expOf(c);
  const e = ep < ec ? ep : ec;
  if (ep > e) mp <<= BigInt(ep - e);
  if (ec > e) mc <<= BigInt(ec - e);
  let s = (negP ? -mp : mp) + (c < 0 ? -mc : mc);
  // Exact cancellation of nonzero terms gives +0, or -0 when rounding down (IEEE 754-2008 6.3).
  if (s === 0n) return rm === RM_RDN ? -0 : 0;
  const neg = s < 0n;
  if (neg) s = -s;
  return roundPack(st, neg, s, e, rm, 53, -1022, 1023);
}

// ---------------------------------------------------------------------------------------------
// Layer 1: f64 fast-path corrections
// ---------------------------------------------------------------------------------------------
//
// In all of these, r = RNE(x) for the exact result x, r is a normal number far from the overflow
// threshold, so its neighbours are finite and the result cannot be tiny.

/**
 * Round x = r + t in mode rm, given r = RNE(x) and the exact nonzero error t (|t| <= half the gap
 * between r and its neighbour on t's side). Ties are possible (add, mul), so RMM checks for one.
 */
function fixExact64(st: FpFlags, r: number, t: number, rm: number): number {
  st.flags |= FLAG_NX;
  switch (rm) {
    case RM_RTZ:
      // If x is farther from zero than r, truncation gives r; otherwise the neighbour towards 0.
      return (t < 0) === (r < 0) ? r : bitsDown(r);
    case RM_RDN:
      return t < 0 ? nextDown(r) : r;
    case RM_RUP:
      return t > 0 ? nextUp(r) : r;
    case RM_RMM:
      // Only a tie whose RNE result went towards zero differs from RNE.
      if ((t < 0) === (r < 0)) {
        const n = bitsUp(r);
        if (n - r === 2 * t) return n; // n - r is exact (adjacent doubles)
      }
      return r;
    default:
      return r;
  }
}

/**
 * Round x in mode rm given r = RNE(x), x != r, and only the direction of the error (up: x > r).
 * Used for division and square root, whose exact results are never midpoints when the result is
 * a normal number (a midpoint has p+1 significant bits; a/b or sqrt(a) of p-bit operands cannot
 * be one), so RNE and RMM both return r.
 */
function fixDir64(st: FpFlags, r: number, up: boolean, rm: number): number {
  st.flags |= FLAG_NX;
  switch (rm) {
    case RM_RTZ: return up === (r > 0) ? r : bitsDown(r);
    case RM_RDN: return up ? r : nextDown(r);
    case RM_RUP: return up ? nextUp(r) : r;
    default: return r;
  }
}

/**
 * Final rounding of an fma fast path. The exact result is x = s + t + rest where s = RNE(s + t),
 * t != 0, and |rest| is smaller than the lowest nonzero bit of t (non-overlapping expansion), so
 * sign(x - s) = sign(t) and x lies strictly between s and its neighbour n on t's side. Whether x
 * is below, at, or beyond the midpoint of [s, n] is decided by t and, when t is exactly half the
 * gap, by the sign of rest.
 */
function fixFma64(st: FpFlags, s: number, t: number, rest: number, rm: number): number {
  st.flags |= FLAG_NX;
  const away = (t < 0) === (s < 0); // x is farther from zero than s
  const n = away ? bitsUp(s) : bitsDown(s);
  let half = -1; // < 0: below the midpoint, 0: at it, > 0: beyond it
  if (2 * t === n - s) half = rest === 0 ? 0 : (rest < 0) === (t < 0) ? 1 : -1;
  switch (rm) {
    case RM_RTZ: return away ? s : n;
    case RM_RDN: return t < 0 ? n : s;
    case RM_RUP: return t > 0 ? n : s;
    case RM_RMM: return half > 0 || (half === 0 && away) ? n : s;
    default: return half > 0 ? n : s; // at a tie s is already the even candidate (host RNE)
  }
}

// ---------------------------------------------------------------------------------------------
// binary64 arithmetic
// ---------------------------------------------------------------------------------------------

/** NaN result of a two-operand op: NV for sNaN operands or an invalid operation on non-NaNs. */
function nanResult(st: FpFlags, a: number, b: number, snan: boolean): number {
  if (snan || (a === a && b === b)) st.flags |= FLAG_NV;
  return NaN;
}

/**
 * fadd.d. Exact zero sums are +0 except in RDN, where they are -0 (IEEE 754-2008 6.3); a sum of
 * two zeros of the same sign keeps that sign. inf + -inf is invalid.
 */
export function f64Add(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const r = a + b;
  if (r - r === 0) {
    // r finite
    if (r === 0) return rm === RM_RDN ? -(-a + -b) : r; // exact (a nonzero exact sum is >= 2^-1074)
    if (a < TWO_1021 && a > -TWO_1021 && b < TWO_1021 && b > -TWO_1021) {
      // TwoSum (Knuth): r + t === a + b exactly; no intermediate can overflow in this range.
      // A sum is never inexact in the subnormal range (both operands are multiples of 2^-1074),
      // so addition never raises UF.
      const bv = r - a;
      const t = (a - (r - bv)) + (b - bv);
      return t === 0 ? r : fixExact64(st, r, t, rm);
    }
    return addSlow(st, a, b, rm);
  }
  if (r !== r) return nanResult(st, a, b, snan); // NaN operand, or inf - inf
  if (a - a !== 0 || b - b !== 0) return r; // an infinite operand: exact
  return addSlow(st, a, b, rm); // finite operands, host overflowed
}

/** fsub.d: a - b = a + (-b) (sign negation is exact and does not change NaN-ness). */
export function f64Sub(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  return f64Add(st, a, -b, rm, snan);
}

/** fmul.d. 0 * inf is invalid. */
export function f64Mul(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const r = a * b;
  const ar = r < 0 ? -r : r;
  if (ar >= TWO_M960 && ar <= TWO_1020) {
    const aa = a < 0 ? -a : a;
    const ab = b < 0 ? -b : b;
    if (aa >= TWO_M1000 && aa <= TWO_995 && ab >= TWO_M1000 && ab <= TWO_995) {
      // TwoProduct (Dekker, Veltkamp split): r + t === a * b exactly. The split cannot overflow
      // (|a|,|b| <= 2^995) and the partial products cannot underflow (|a*b| >= 2^-960, so the
      // lowest product bit is >= 2^-1065).
      let c = SPLIT * a;
      const ah = c - (c - a);
      const al = a - ah;
      c = SPLIT * b;
      const bh = c - (c - b);
      const bl = b - bh;
      const t = ((ah * bh - r) + ah * bl + al * bh) + al * bl;
      return t === 0 ? r : fixExact64(st, r, t, rm);
    }
    return mulSlow(st, a, b, rm);
  }
  if (r !== r) return nanResult(st, a, b, snan); // NaN operand, or 0 * inf
  if (a - a !== 0 || b - b !== 0 || a === 0 || b === 0) return r; // exact inf or signed zero
  return mulSlow(st, a, b, rm); // finite nonzero operands: underflow, overflow or extreme ranges
}

/** fdiv.d. 0/0 and inf/inf are invalid; finite nonzero / 0 raises DZ and returns signed inf. */
export function f64Div(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const r = a / b;
  const ar = r < 0 ? -r : r;
  const aa = a < 0 ? -a : a;
  const ab = b < 0 ? -b : b;
  if (ar >= TWO_M1000 && ar <= TWO_995 && aa >= TWO_M960 && aa <= TWO_1000 && ab >= TWO_M1000 && ab <= TWO_995) {
    // rem = a - r*b exactly: r*b = p + pl by TwoProduct; a - p is exact (Sterbenz), and the
    // final subtraction, even if it rounded, keeps the sign. sign(a/b - r) = sign(rem) * sign(b).
    let c = SPLIT * r;
    const rh = c - (c - r);
    const rl = r - rh;
    c = SPLIT * b;
    const bh = c - (c - b);
    const bl = b - bh;
    const p = r * b;
    const pl = ((rh * bh - p) + rh * bl + rl * bh) + rl * bl;
    const rem = (a - p) - pl;
    return rem === 0 ? r : fixDir64(st, r, (rem > 0) === (b > 0), rm);
  }
  if (r !== r) return nanResult(st, a, b, snan); // NaN operand, 0/0, inf/inf
  if (b === 0) {
    // Division by zero is signaled only for a finite nonzero dividend (inf/0 is an exact inf).
    if (a - a === 0) st.flags |= FLAG_DZ;
    return r;
  }
  if (a - a !== 0 || b - b !== 0 || a === 0) return r; // inf/x, x/inf, 0/x: exact
  return divSlow(st, a, b, rm);
}

/**
 * fsqrt.d. sqrt(-0) = -0; the square root of a negative nonzero number (including -inf) is
 * invalid. Operands far from 1 are scaled by an even power of two first, which is exact and
 * commutes with rounding because sqrt of any positive double is a normal double.
 */
export function f64Sqrt(st: FpFlags, a: number, rm: number, snan: boolean): number {
  if (a > 0 && a < Infinity) {
    let x = a;
    let scale = 1;
    if (a < TWO_M900) {
      x = a * TWO_1000;
      scale = TWO_M500;
    } else if (a > TWO_900) {
      x = a * pow2(-1000);
      scale = TWO_500;
    }
    const r = Math.sqrt(x); // correctly rounded (RNE) by the host, as IEEE requires
    let c = SPLIT * r;
    const rh = c - (c - r);
    const rl = r - rh;
    const p = r * r;
    const pl = ((rh * rh - p) + 2 * (rh * rl)) + rl * rl;
    const rem = (x - p) - pl; // sign(sqrt(x) - r) = sign(x - r*r)
    const res = rem === 0 ? r : fixDir64(st, r, rem > 0, rm);
    return res * scale;
  }
  if (a !== a) {
    if (snan) st.flags |= FLAG_NV;
    return NaN;
  }
  if (a === 0 || a === Infinity) return a;
  st.flags |= FLAG_NV;
  return NaN;
}

/**
 * fmadd.d: a*b + c with a single rounding. fmsub/fnmsub/fnmadd are obtained by the caller negating
 * operands (negation is exact). Per spec 11.6: "The fused multiply-add instructions must set the
 * invalid operation exception flag when the multiplicands are inf and zero, even when the addend
 * is a quiet NaN."
 */
export function f64Fma(st: FpFlags, a: number, b: number, c: number, rm: number, snan: boolean): number {
  const aa = a < 0 ? -a : a;
  const ab = b < 0 ? -b : b;
  const ac = c < 0 ? -c : c;
  if (aa >= TWO_M480 && aa <= TWO_480 && ab >= TWO_M480 && ab <= TWO_480 && ac <= TWO_1000) {
    // Exact product p + pl (TwoProduct; |a*b| in [2^-960, 2^960], so no overflow or underflow).
    const p = a * b;
    let k = SPLIT * a;
    const ah = k - (k - a);
    const al = a - ah;
    k = SPLIT * b;
    const bh = k - (k - b);
    const bl = b - bh;
    const pl = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    // Shewchuk's Grow-Expansion of the non-overlapping expansion (pl, p) with c: gives
    // h0 + h1 + s1 === a*b + c exactly, non-overlapping, in increasing magnitude (zeros aside).
    const q = c + pl;
    let bv = q - c;
    const h0 = (c - (q - bv)) + (pl - bv);
    const s1 = q + p;
    bv = s1 - q;
    const h1 = (q - (s1 - bv)) + (p - bv);
    if (h1 !== 0) return fixFma64(st, s1, h1, h0, rm); // s1 = RNE(s1 + h1), h0 below h1's last bit
    // s1 and h0 remain: combine them.
    const s = s1 + h0;
    bv = s - s1;
    const t = (s1 - (s - bv)) + (h0 - bv);
    if (t !== 0) return fixFma64(st, s, t, 0, rm);
    // Exact. In this range inexact results are never tiny (x is a multiple of 2^-1074), and an
    // exact zero comes from cancellation of nonzero terms: +0, or -0 in RDN (IEEE 754-2008 6.3).
    return s === 0 ? (rm === RM_RDN ? -0 : 0) : s;
  }
  return fmaSpecial(st, a, b, c, rm, snan);
}

function fmaSpecial(st: FpFlags, a: number, b: number, c: number, rm: number, snan: boolean): number {
  const p = a * b;
  if (p !== p && a === a && b === b) {
    st.flags |= FLAG_NV; // 0 * inf, even when c is a quiet NaN
    return NaN;
  }
  if (a !== a || b !== b || c !== c) {
    if (snan) st.flags |= FLAG_NV;
    return NaN;
  }
  if (a - a !== 0 || b - b !== 0) {
    // The product is an exact infinity (0 * inf excluded above).
    if (c - c !== 0 && (c > 0) !== (p > 0)) {
      st.flags |= FLAG_NV; // inf - inf
      return NaN;
    }
    return p;
  }
  if (c - c !== 0) return c; // finite product + inf
  if (a === 0 || b === 0) {
    // Exact signed-zero product: the result is c exactly, or a signed zero sum (IEEE 6.3).
    if (c !== 0) return c;
    return rm === RM_RDN ? -(-p + -c) : p + c;
  }
  return fmaSlow(st, a, b, c, rm);
}

// ---------------------------------------------------------------------------------------------
// Layer 2: rounding to binary32
// ---------------------------------------------------------------------------------------------

/** Round increment for a truncated magnitude T with remainder class cls (see roundF32). */
function roundInc(cls: number, T: number, neg: boolean, rm: number): number {
  if (cls === 0) return 0;
  switch (rm) {
    case RM_RTZ: return 0;
    case RM_RDN: return neg ? 1 : 0;
    case RM_RUP: return neg ? 0 : 1;
    case RM_RMM: return cls >= 2 ? 1 : 0;
    default: return cls === 3 || (cls === 2 && (T & 1) === 1) ? 1 : 0;
  }
}

/**
 * Round y + eps to an integer in mode rm, where y >= 0 is a double (y < 2^26), eps has the sign
 * dm and is so small that y + eps lies strictly between y and its neighbouring doubles; neg is
 * the sign of the value being rounded. Whether it is inexact is the caller's to see: y + eps is
 * an integer iff dm = 0 and y is one.
 */
function roundScaled(y: number, dm: number, neg: boolean, rm: number): number {
  let T = Math.floor(y);
  const f = y - T; // exact
  let cls: number;
  if (f === 0) {
    if (dm === 0) cls = 0;
    else if (dm > 0) cls = 1;
    else {
      T -= 1; // just below an integer: truncation is one less, remainder just below 1
      cls = 3;
    }
  } else if (f === 0.5) {
    cls = dm === 0 ? 2 : dm > 0 ? 3 : 1;
  } else {
    cls = f < 0.5 ? 1 : 3;
  }
  return T + roundInc(cls, T, neg, rm);
}

/**
 * Round the value x + eps to binary32 in mode rm, where x is a finite nonzero double and eps is
 * an infinitesimal with the sign of dir (0: x is exact). Precisely: when dir != 0 the exact value
 * lies strictly between x and the neighbouring double on dir's side, so it is never an f32
 * rounding boundary itself. Handles binary32 subnormals, overflow and UF with tininess detected
 * after rounding (spec 11.4).
 */
function roundF32(st: FpFlags, x: number, dir: number, rm: number): number {
  const r = Math.fround(x); // RNE of x itself (not of the exact value, when dir != 0)
  if (r === x && dir === 0) return x; // exactly representable
  const ax = x < 0 ? -x : x;
  if (ax >= TWO_M125 && ax <= TWO_127) {
    // Fast path: r and both its neighbours are normal finite binary32 numbers, so neither
    // overflow nor tininess is possible; only the choice between r and one neighbour remains.
    let up: boolean; // exact value > r
    if (r !== x) {
      if (rm === RM_RNE || rm >= RM_RMM) {
        // r is the nearest float unless x is exactly a midpoint between two floats (then the
        // sticky direction or the tie rule decides): the 29 bits of x below the binary32 lsb
        // are then 1000...0.
        F64[0] = x;
        if ((U32[LO] & 0x1fffffff) === 0x10000000) return roundF32Slow(st, x, dir, rm);
        st.flags |= FLAG_NX;
        return r;
      }
      up = x > r; // the infinitesimal dir cannot change the side of r
    } else {
      st.flags |= FLAG_NX;
      if (rm === RM_RNE || rm >= RM_RMM) return r; // within an infinitesimal of r
      up = dir > 0;
    }
    st.flags |= FLAG_NX;
    // Stepping the binary32 encoding by one moves the magnitude by one ulp (also across binades).
    F32A[0] = r;
    switch (rm) {
      case RM_RTZ:
        if (up === (r > 0)) return r;
        I32A[0] -= 1;
        break;
      case RM_RDN:
        if (up) return r;
        I32A[0] += r > 0 ? -1 : 1;
        break;
      default: // RM_RUP
        if (!up) return r;
        I32A[0] += r > 0 ? 1 : -1;
        break;
    }
    return F32A[0];
  }
  return roundF32Slow(st, x, dir, rm);
}

/** The general case of roundF32: binary32 subnormal range, overflow, midpoints. */
function roundF32Slow(st: FpFlags, x: number, dir: number, rm: number): number {
  if (dir === 0 && Math.fround(x) === x) return x; // exactly representable
  const neg = x < 0;
  let ax = neg ? -x : x;
  let dm = neg ? -dir : dir; // direction of the exact magnitude relative to ax
  // Anything below 2^-1000 rounds like any other value in (0, 2^-150): replace it by 2^-1000 so
  // that ax is a normal double below.
  if (ax < TWO_M1000) {
    ax = TWO_M1000;
    dm = 0;
  }
  F64[0] = ax;
  const hi = U32[HI];
  // Binade of the exact value: when ax is a power of two and the exact value is just below it,
  // the exact value belongs to the binade below (whose ulp is half as large).
  let e = (hi >>> 20) - 1023;
  if (dm < 0 && (hi & 0xfffff) === 0 && U32[LO] === 0) e--;
  let ue = e - 23; // ulp exponent of binary32 in that binade
  if (ue < -149) ue = -149; // subnormal binary32 spacing
  const y = ax * pow2(-ue); // the scaling is exact
  const R = roundScaled(y, dm, neg, rm);
  const res = R * pow2(ue);
  if (res >= TWO_128) return overflowResult(st, neg, rm, F32_MAX);
  if (dm !== 0 || y !== Math.floor(y)) { // inexact
    let flags = FLAG_NX;
    if (res < TWO_M126) {
      flags |= FLAG_UF; // tiny even with unbounded exponent (rounding is monotone)
    } else if (res === TWO_M126 && e < -126) {
      // Rounded up to 2^-126 from below: tiny iff rounding to 24 bits with an unbounded exponent
      // (ulp 2^(e-23)) stays below 2^-126.
      if (roundScaled(ax * pow2(23 - e), dm, neg, rm) < 0x1000000 || e < -127) flags |= FLAG_UF;
    }
    st.flags |= flags;
  }
  return neg ? -res : res;
}

// ---------------------------------------------------------------------------------------------
// binary32 arithmetic (operands are numbers holding exact float32 values)
// ---------------------------------------------------------------------------------------------

/** fadd.s. See f64Add for the zero-sign rules. */
export function f32Add(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const s = a + b;
  if (s - s === 0) {
    if (s === 0) return rm === RM_RDN ? -(-a + -b) : s;
    // TwoSum: s + t === a + b exactly (float32 operands never overflow binary64).
    const bv = s - a;
    const t = (a - (s - bv)) + (b - bv);
    return roundF32(st, s, t, rm);
  }
  if (s !== s) return nanResult(st, a, b, snan);
  return s; // infinite operand
}

/** fsub.s. */
export function f32Sub(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  return f32Add(st, a, -b, rm, snan);
}

/** fmul.s. The binary64 product of two binary32 values is exact (48 significant bits). */
export function f32Mul(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const p = a * b;
  if (p - p === 0) return p === 0 ? p : roundF32(st, p, 0, rm);
  if (p !== p) return nanResult(st, a, b, snan);
  return p;
}

/** fdiv.s. */
export function f32Div(st: FpFlags, a: number, b: number, rm: number, snan: boolean): number {
  const q = a / b;
  if (q - q === 0 && q !== 0) {
    // a, b finite nonzero. sign(a/b - q) = sign(a - q*b) * sign(b), with q*b by TwoProduct.
    let c = SPLIT * q;
    const qh = c - (c - q);
    const ql = q - qh;
    c = SPLIT * b;
    const bh = c - (c - b);
    const bl = b - bh;
    const p = q * b;
    const pl = ((qh * bh - p) + qh * bl + ql * bh) + ql * bl;
    const rem = (a - p) - pl;
    return roundF32(st, q, rem === 0 ? 0 : (rem > 0) === (b > 0) ? 1 : -1, rm);
  }
  if (q !== q) return nanResult(st, a, b, snan);
  if (b === 0 && a - a === 0) st.flags |= FLAG_DZ;
  return q; // x/0, inf/x, x/inf, 0/x: exact
}

/** fsqrt.s. */
export function f32Sqrt(st: FpFlags, a: number, rm: number, snan: boolean): number {
  if (a > 0 && a < Infinity) {
    const r = Math.sqrt(a);
    const c = SPLIT * r;
    const rh = c - (c - r);
    const rl = r - rh;
    const p = r * r;
    const pl = ((rh * rh - p) + 2 * (rh * rl)) + rl * rl;
    return roundF32(st, r, (a - p) - pl, rm);
  }
  return f64Sqrt(st, a, rm, snan); // NaN, zeros, +inf, negative: same rules, exact results
}

/** fmadd.s: a*b is exact in binary64, and TwoSum makes p + c exact as s + t. */
export function f32Fma(st: FpFlags, a: number, b: number, c: number, rm: number, snan: boolean): number {
  const p = a * b;
  const s = p + c;
  if (s - s === 0) {
    // p and c finite.
    if (s === 0) return rm === RM_RDN ? -(-p + -c) : s;
    const bv = s - p;
    const t = (p - (s - bv)) + (c - bv);
    return roundF32(st, s, t, rm);
  }
  if (p !== p && a === a && b === b) {
    st.flags |= FLAG_NV; // 0 * inf, even when c is a quiet NaN (spec 11.6)
    return NaN;
  }
  if (a !== a || b !== b || c !== c) {
    if (snan) st.flags |= FLAG_NV;
    return NaN;
  }
  if (s !== s) {
    st.flags |= FLAG_NV; // inf - inf
    return NaN;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Comparisons, min/max, classification (spec 11.6, 11.8, 11.9)
// ---------------------------------------------------------------------------------------------

/** feq: a quiet comparison, NV only for signaling NaN inputs (spec 11.8). */
export function fEq(st: FpFlags, a: number, b: number, snan: boolean): boolean {
  if (a !== a || b !== b) {
    if (snan) st.flags |= FLAG_NV;
    return false;
  }
  return a === b;
}

/** flt: a signaling comparison, NV for any NaN input (spec 11.8). */
export function fLt(st: FpFlags, a: number, b: number, snan: boolean): boolean {
  if (a !== a || b !== b) {
    st.flags |= FLAG_NV;
    return false;
  }
  return a < b;
}

/** fle: a signaling comparison, NV for any NaN input (spec 11.8). */
export function fLe(st: FpFlags, a: number, b: number, snan: boolean): boolean {
  if (a !== a || b !== b) {
    st.flags |= FLAG_NV;
    return false;
  }
  return a <= b;
}

/**
 * fmin (spec 11.6, IEEE 754-201x minimumNumber): -0 < +0; one NaN operand -> the other operand;
 * both NaN -> canonical NaN; "Signaling NaN inputs set the invalid operation exception flag, even
 * when the result is not NaN."
 */
export function fMin(st: FpFlags, a: number, b: number, snan: boolean): number {
  if (snan) st.flags |= FLAG_NV;
  if (a !== a) return b;
  if (b !== b) return a;
  return Math.min(a, b); // ECMAScript orders -0 below +0
}

/** fmax (spec 11.6, maximumNumber); see fMin. */
export function fMax(st: FpFlags, a: number, b: number, snan: boolean): number {
  if (snan) st.flags |= FLAG_NV;
  if (a !== a) return b;
  if (b !== b) return a;
  return Math.max(a, b);
}

/**
 * fclass mask (spec 11.9: bit 0 -inf, 1 negative normal, 2 negative subnormal, 3 -0, 4 +0,
 * 5 positive subnormal, 6 positive normal, 7 +inf, 8 sNaN, 9 qNaN) for a value whose smallest
 * normal magnitude is minNormal.
 */
function fclass(a: number, isSNaN: boolean, minNormal: number): number {
  if (a !== a) return isSNaN ? 1 << 8 : 1 << 9;
  if (a === Infinity) return 1 << 7;
  if (a === -Infinity) return 1 << 0;
  if (a === 0) return 1 / a > 0 ? 1 << 4 : 1 << 3;
  if (a > 0) return a < minNormal ? 1 << 5 : 1 << 6;
  return a > -minNormal ? 1 << 2 : 1 << 1;
}

/** fclass.d: the 10-bit class mask of a binary64 value. */
export function fClass64(a: number, isSNaN: boolean): number {
  return fclass(a, isSNaN, TWO_M1022);
}

/** fclass.s: the 10-bit class mask of a binary32 value. */
export function fClass32(a: number, isSNaN: boolean): number {
  return fclass(a, isSNaN, TWO_M126);
}

// ---------------------------------------------------------------------------------------------
// Conversions (spec 11.7, 12.5)
// ---------------------------------------------------------------------------------------------

/**
 * Round a finite (or infinite) double to an integral value in mode rm. The rounding was inexact
 * iff the result differs from a.
 */
function roundToIntegral(a: number, rm: number): number {
  if (!(a < TWO_52 && a > -TWO_52)) return a; // already integral (or infinite)
  const t = Math.trunc(a);
  const f = a - t; // exact, same sign as a
  if (f === 0) return t;
  switch (rm) {
    case RM_RTZ: return t;
    case RM_RDN: return f < 0 ? t - 1 : t;
    case RM_RUP: return f > 0 ? t + 1 : t;
    case RM_RMM: return f >= 0.5 ? t + 1 : f <= -0.5 ? t - 1 : t;
    default: {
      const af = f < 0 ? -f : f;
      if (af > 0.5 || (af === 0.5 && t % 2 !== 0)) return f < 0 ? t - 1 : t + 1;
      return t;
    }
  }
}

// Float -> integer (spec 11.7 and its table of float-to-integer conversion domains): "If the
// rounded result is not representable in the destination format, it is clipped to the nearest
// value and the invalid flag is set." The value is rounded in mode rm first, so e.g.
// 2147483647.5 overflows fcvt.w in RNE but not in RDN. NaN converts like +inf. Out-of-range
// conversions raise only NV (as in IEEE 754 and Berkeley SoftFloat, which Spike uses); in-range
// inexact conversions raise NX. These accept binary32 or binary64 values alike (a binary32 value
// is exact in a double).

/** fcvt.w.s / fcvt.w.d: signed 32-bit result. */
export function fToI32(st: FpFlags, a: number, rm: number): number {
  if (a !== a) {
    st.flags |= FLAG_NV;
    return 0x7fffffff;
  }
  const r = roundToIntegral(a, rm);
  if (r >= TWO_31) {
    st.flags |= FLAG_NV;
    return 0x7fffffff;
  }
  if (r < -TWO_31) {
    st.flags |= FLAG_NV;
    return -0x80000000;
  }
  if (r !== a) st.flags |= FLAG_NX; // inexact
  return r | 0;
}

/**
 * fcvt.wu.s / fcvt.wu.d: unsigned 32-bit result, returned sign-extended from bit 31 as an int32
 * (RV64 writes the 32-bit result sign-extended into rd). NaN and too-large -> 0xffffffff (-1),
 * negative -> 0 (but a value rounding to -0, e.g. -0.5 RTZ, is in range: 0 with NX only).
 */
export function fToU32(st: FpFlags, a: number, rm: number): number {
  if (a !== a) {
    st.flags |= FLAG_NV;
    return -1;
  }
  const r = roundToIntegral(a, rm);
  if (r >= TWO_32) {
    st.flags |= FLAG_NV;
    return -1;
  }
  if (r < 0) {
    st.flags |= FLAG_NV;
    return 0;
  }
  if (r !== a) st.flags |= FLAG_NX; // inexact
  return r | 0;
}

/** fcvt.l.s / fcvt.l.d: signed 64-bit result. */
export function fToI64(st: FpFlags, a: number, rm: number): bigint {
  if (a !== a) {
    st.flags |= FLAG_NV;
    return I64_MAX;
  }
  const r = roundToIntegral(a, rm);
  if (r >= TWO_63) {
    st.flags |= FLAG_NV;
    return I64_MAX;
  }
  if (r < -TWO_63) {
    st.flags |= FLAG_NV;
    return I64_MIN;
  }
  if (r !== a) st.flags |= FLAG_NX; // inexact
  return BigInt(r); // r is integral; BigInt(-0) === 0n
}

/** fcvt.lu.s / fcvt.lu.d: unsigned 64-bit result in [0, 2^64). */
export function fToU64(st: FpFlags, a: number, rm: number): bigint {
  if (a !== a) {
    st.flags |= FLAG_NV;
    return U64_MAX;
  }
  const r = roundToIntegral(a, rm);
  if (r >= TWO_64) {
    st.flags |= FLAG_NV;
    return U64_MAX;
  }
  if (r < 0) {
    st.flags |= FLAG_NV;
    return 0n;
  }
  if (r !== a) st.flags |= FLAG_NX; // inexact
  return BigInt(r);
}

/** fcvt.d.l: signed 64-bit integer -> binary64 (inexact above 2^53). */
export function i64ToF64(st: FpFlags, v: bigint, rm: number): number {
  const x = Number(v);
  if (x < TWO_53 && x > -TWO_53) return x; // |v| < 2^53: exact (Number(0n) is +0)
  return v < 0n ? roundPack(st, true, -v, 0, rm, 53, -1022, 1023) : roundPack(st, false, v, 0, rm, 53, -1022, 1023);
}

/** fcvt.d.lu: unsigned 64-bit integer (bigint in [0, 2^64)) -> binary64. */
export function u64ToF64(st: FpFlags, v: bigint, rm: number): number {
  const x = Number(v);
  if (x < TWO_53) return x;
  return roundPack(st, false, v, 0, rm, 53, -1022, 1023);
}

/** fcvt.s.l: signed 64-bit integer -> binary32. */
export function i64ToF32(st: FpFlags, v: bigint, rm: number): number {
  const x = Number(v);
  if (x < TWO_53 && x > -TWO_53) return x === 0 ? 0 : roundF32(st, x, 0, rm);
  return v < 0n ? roundPack(st, true, -v, 0, rm, 24, -126, 127) : roundPack(st, false, v, 0, rm, 24, -126, 127);
}

/** fcvt.s.lu: unsigned 64-bit integer -> binary32. */
export function u64ToF32(st: FpFlags, v: bigint, rm: number): number {
  const x = Number(v);
  if (x < TWO_53) return x === 0 ? 0 : roundF32(st, x, 0, rm);
  return roundPack(st, false, v, 0, rm, 24, -126, 127);
}

/** fcvt.s.w: signed 32-bit integer (a JS int32 number) -> binary32. */
export function i32ToF32(st: FpFlags, v: number, rm: number): number {
  return v === 0 ? 0 : roundF32(st, v, 0, rm);
}

/** fcvt.s.wu: unsigned 32-bit integer (0 .. 2^32-1) -> binary32. */
export function u32ToF32(st: FpFlags, v: number, rm: number): number {
  return v === 0 ? 0 : roundF32(st, v, 0, rm);
}

/** fcvt.s.d: binary64 -> binary32, rounding per rm (may overflow or underflow); NV on sNaN. */
export function f64ToF32(st: FpFlags, a: number, rm: number, snan: boolean): number {
  if (a - a === 0) return a === 0 ? a : roundF32(st, a, 0, rm);
  if (a !== a) {
    if (snan) st.flags |= FLAG_NV;
    return NaN;
  }
  return a; // infinities convert exactly
}

/** fcvt.d.s: binary32 -> binary64, always exact; NV on sNaN. */
export function f32ToF64(st: FpFlags, a: number, snan: boolean): number {
  if (a !== a) {
    if (snan) st.flags |= FLAG_NV;
    return NaN;
  }
  return a;
}
