/**
 * Tests for src/isa/softfloat.ts (RISC-V F/D arithmetic).
 *
 * Expected values come from three independent sources:
 *  - test/fixtures/softfloat-vectors.json: random differential vectors produced by x86-64 hardware
 *    (SSE/AVX/FMA3 honour all four IEEE directed/nearest modes and detect tininess after rounding,
 *    like RISC-V) and, for RMM (which x86 lacks), by an exact rational reference;
 *  - hand-written cases below, each derived by hand (and cross-checked against x86 where it has
 *    the operation);
 *  - a seeded random comparison against a small exact rational reference implemented here.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { readFileSync } from 'node:fs';
import * as sf from '../src/isa/softfloat.js';
import {
  RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM,
  FLAG_NX, FLAG_UF, FLAG_OF, FLAG_DZ, FLAG_NV,
} from '../src/isa/softfloat.js';

/** The flag accumulator every operation here reports into (a hart keeps one, Hart.fpx). */
const st: sf.FpFlags = { flags: 0 };

// ------------------------------------------------------------------------------------------------
// Encoding helpers
// ------------------------------------------------------------------------------------------------

const dv = new DataView(new ArrayBuffer(8));
/** binary64 from its encoding (hex string or bigint). */
function D(bits: string | bigint): number {
  dv.setBigUint64(0, typeof bits === 'bigint' ? bits : BigInt(bits.startsWith('0x') ? bits : '0x' + bits));
  return dv.getFloat64(0);
}
/** binary32 from its encoding. */
function S(bits: string | number): number {
  dv.setUint32(0, typeof bits === 'number' ? bits >>> 0 : parseInt(bits, 16));
  return dv.getFloat32(0);
}
/** Encoding of a binary64 value as 16 hex digits. */
function hd(x: number): string {
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}
/** Encoding of a binary32 value as 8 hex digits ('not-f32' if x is not a binary32 value). */
function hs(x: number): string {
  if (x === x && Math.fround(x) !== x) return 'not-f32:' + x;
  dv.setFloat32(0, x);
  return dv.getUint32(0).toString(16).padStart(8, '0');
}
/** NaN results are only required to be NaN (the caller canonicalizes). */
const NAN = 'nan';
const hdN = (x: number): string => (x !== x ? NAN : hd(x));
const hsN = (x: number): string => (x !== x ? NAN : hs(x));

function snD(h: string): boolean {
  const v = BigInt('0x' + h);
  return sf.f64IsSignalingBits(Number(v >> 32n) | 0, Number(v & 0xffffffffn));
}
function snS(h: string): boolean {
  return sf.f32IsSignalingBits(parseInt(h, 16) | 0);
}

/** Run fn with cleared flags; returns [result, flags]. */
function run<T>(fn: () => T): [T, number] {
  st.flags = 0;
  const r = fn();
  return [r, st.flags];
}

const MODES = [RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM] as const;
const MODE_NAMES = ['RNE', 'RTZ', 'RDN', 'RUP', 'RMM'];

/**
 * Check a binary64-producing operation in all five modes. expected lists encodings for
 * RNE, RTZ, RDN, RUP, RMM; flags is one value for all modes or one per mode.
 */
function allModes64(fn: (rm: number) => number, expected: string[], flags: number | number[]): void {
  for (const rm of MODES) {
    const [r, fl] = run(() => fn(rm));
    const ef = typeof flags === 'number' ? flags : flags[rm];
    const e = expected[rm] === NAN ? NAN : expected[rm].padStart(16, '0');
    expect([MODE_NAMES[rm], hdN(r), fl]).toEqual([MODE_NAMES[rm], e, ef]);
  }
}
function allModes32(fn: (rm: number) => number, expected: string[], flags: number | number[]): void {
  for (const rm of MODES) {
    const [r, fl] = run(() => fn(rm));
    const ef = typeof flags === 'number' ? flags : flags[rm];
    const e = expected[rm] === NAN ? NAN : expected[rm].padStart(8, '0');
    expect([MODE_NAMES[rm], hsN(r), fl]).toEqual([MODE_NAMES[rm], e, ef]);
  }
}

const MAX64 = D('7fefffffffffffff');
const MAX32 = S('7f7fffff');
const QNAN = NaN;
/** Exact 2^k for k in [-1074, 1023] (0 below, inf above), built from the encoding. */
const p2 = (k: number): number => {
  if (k < -1074) return 0;
  if (k > 1023) return Infinity;
  dv.setBigUint64(0, k >= -1022 ? BigInt(k + 1023) << 52n : 1n << BigInt(k + 1074));
  return dv.getFloat64(0);
};
const NX = FLAG_NX, UF = FLAG_UF, OF = FLAG_OF, DZ = FLAG_DZ, NV = FLAG_NV;

beforeEach(() => {
  st.flags = 0;
});

// ------------------------------------------------------------------------------------------------
// API constants and NaN predicates
// ------------------------------------------------------------------------------------------------

describe('constants and sNaN predicates', () => {
  it('uses the RISC-V frm and fflags encodings', () => {
    expect([RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM]).toEqual([0, 1, 2, 3, 4]);
    expect([FLAG_NX, FLAG_UF, FLAG_OF, FLAG_DZ, FLAG_NV]).toEqual([1, 2, 4, 8, 16]);
  });

  it('recognizes binary64 signaling NaNs from raw words', () => {
    expect(sf.f64IsSignalingBits(0x7ff00000, 1)).toBe(true);
    expect(sf.f64IsSignalingBits(0x7ff40000 | 0, 0)).toBe(true);
    expect(sf.f64IsSignalingBits(0xfff7ffff | 0, 0xffffffff)).toBe(true);
    expect(sf.f64IsSignalingBits(0x7ff80000, 0)).toBe(false); // canonical quiet NaN
    expect(sf.f64IsSignalingBits(0xfff80000 | 0, 1)).toBe(false);
    expect(sf.f64IsSignalingBits(0x7ff00000, 0)).toBe(false); // +inf
    expect(sf.f64IsSignalingBits(0xfff00000 | 0, 0)).toBe(false); // -inf
    expect(sf.f64IsSignalingBits(0x3ff00000, 0)).toBe(false);
  });

  it('recognizes binary32 signaling NaNs', () => {
    expect(sf.f32IsSignalingBits(0x7f800001)).toBe(true);
    expect(sf.f32IsSignalingBits(0x7fbfffff)).toBe(true);
    expect(sf.f32IsSignalingBits(0xffa00000 | 0)).toBe(true);
    expect(sf.f32IsSignalingBits(0x7fc00000)).toBe(false);
    expect(sf.f32IsSignalingBits(0x7f800000)).toBe(false);
    expect(sf.f32IsSignalingBits(0x3f800000)).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------
// binary64 arithmetic
// ------------------------------------------------------------------------------------------------

describe('f64 add/sub', () => {
  const add = (a: number, b: number) => (rm: number) => sf.f64Add(st, a, b, rm, false);

  it('rounds a tie (1 + 2^-53) per mode', () => {
    allModes64(add(1, p2(-53)), ['3ff0000000000000', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000001'], NX);
    allModes64(add(-1, -p2(-53)), ['bff0000000000000', 'bff0000000000000', 'bff0000000000001', 'bff0000000000000', 'bff0000000000001'], NX);
    // odd significand: the tie goes up in RNE too
    allModes64(add(D('3ff0000000000001'), p2(-53)), ['3ff0000000000002', '3ff0000000000001', '3ff0000000000001', '3ff0000000000002', '3ff0000000000002'], NX);
  });

  it('rounds non-ties per mode', () => {
    allModes64(add(1, 3 * p2(-54)), ['3ff0000000000001', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000001'], NX);
    allModes64(add(1, p2(-80)), ['3ff0000000000000', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000000'], NX);
  });

  it('rounds just below a power of two (finer spacing below the binade boundary)', () => {
    // 1 - 2^-54 is the midpoint of 1 - 2^-53 and 1
    allModes64(add(1, -p2(-54)), ['3ff0000000000000', '3fefffffffffffff', '3fefffffffffffff', '3ff0000000000000', '3ff0000000000000'], NX);
    allModes64((rm) => sf.f64Sub(st, 1, p2(-80), rm, false), ['3ff0000000000000', '3fefffffffffffff', '3fefffffffffffff', '3ff0000000000000', '3ff0000000000000'], NX);
  });

  it('is exact without flags when representable', () => {
    allModes64(add(1.5, 2.25), Array(5).fill(hd(3.75)), 0);
    allModes64(add(p2(-1074), p2(-1074)), Array(5).fill('0000000000000002'), 0);
    // additions never underflow: subnormal sums are exact
    allModes64(add(p2(-1022), -p2(-1074)), Array(5).fill('000fffffffffffff'), 0);
  });

  it('gives +0 for exact cancellation except -0 in RDN', () => {
    allModes64(add(5, -5), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64((rm) => sf.f64Sub(st, 3, 3, rm, false), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(add(0, -0), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(add(-0, -0), Array(5).fill('8000000000000000'), 0);
    allModes64(add(0, 0), Array(5).fill('0'), 0);
    allModes64((rm) => sf.f64Sub(st, 0, 0, rm, false), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64((rm) => sf.f64Sub(st, -0, 0, rm, false), Array(5).fill('8000000000000000'), 0);
  });

  it('overflows per mode', () => {
    allModes64(add(MAX64, MAX64), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], OF | NX);
    allModes64(add(-MAX64, -MAX64), ['fff0000000000000', 'ffefffffffffffff', 'fff0000000000000', 'ffefffffffffffff', 'fff0000000000000'], OF | NX);
    // MAX + half an ulp: RNE/RMM/RUP overflow; RTZ/RDN round to MAX, which is not an overflow
    allModes64(add(MAX64, p2(970)), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], [OF | NX, NX, NX, OF | NX, OF | NX]);
    allModes64(add(MAX64, p2(969)), ['7fefffffffffffff', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7fefffffffffffff'], [NX, NX, NX, OF | NX, NX]);
  });

  it('handles infinities and NaNs', () => {
    allModes64(add(Infinity, -Infinity), Array(5).fill(NAN), NV);
    allModes64((rm) => sf.f64Sub(st, -Infinity, -Infinity, rm, false), Array(5).fill(NAN), NV);
    allModes64(add(Infinity, 1), Array(5).fill('7ff0000000000000'), 0);
    allModes64(add(-Infinity, MAX64), Array(5).fill('fff0000000000000'), 0);
    allModes64(add(QNAN, 1), Array(5).fill(NAN), 0);
    allModes64((rm) => sf.f64Add(st, QNAN, 1, rm, true), Array(5).fill(NAN), NV);
    allModes64((rm) => sf.f64Add(st, QNAN, Infinity, rm, true), Array(5).fill(NAN), NV);
  });
});

describe('f64 mul', () => {
  const mul = (a: number, b: number) => (rm: number) => sf.f64Mul(st, a, b, rm, false);

  it('rounds per mode', () => {
    const a = D('3ff0000000000001'); // (1 + 2^-52)^2 = 1 + 2^-51 + 2^-104
    allModes64(mul(a, a), ['3ff0000000000002', '3ff0000000000002', '3ff0000000000002', '3ff0000000000003', '3ff0000000000002'], NX);
    allModes64(mul(-a, a), ['bff0000000000002', 'bff0000000000002', 'bff0000000000003', 'bff0000000000002', 'bff0000000000002'], NX);
  });

  it('rounds ties (RNE to even, RMM away)', () => {
    // (1 + 3*2^-52) * 1.5 = 1.5 + 4.5*2^-52
    allModes64(mul(D('3ff0000000000003'), 1.5), ['3ff8000000000004', '3ff8000000000004', '3ff8000000000004', '3ff8000000000005', '3ff8000000000005'], NX);
    allModes64(mul(D('bff0000000000003'), 1.5), ['bff8000000000004', 'bff8000000000004', 'bff8000000000005', 'bff8000000000004', 'bff8000000000005'], NX);
  });

  it('underflows to subnormals and zero', () => {
    allModes64(mul(p2(-1000), p2(-74)), Array(5).fill('0000000000000001'), 0); // tiny but exact
    // 2^-1075: tie between 0 and the smallest subnormal
    allModes64(mul(p2(-1000), p2(-75)), ['0', '0', '0', '0000000000000001', '0000000000000001'], UF | NX);
    allModes64(mul(-p2(-1000), p2(-75)), ['8000000000000000', '8000000000000000', '8000000000000001', '8000000000000000', '8000000000000001'], UF | NX);
    allModes64(mul(1.5, p2(-1074)), ['0000000000000002', '0000000000000001', '0000000000000001', '0000000000000002', '0000000000000002'], UF | NX);
    allModes64(mul(p2(-600), p2(-600)), ['0', '0', '0', '0000000000000001', '0'], UF | NX);
  });

  it('detects tininess after rounding at the normal boundary', () => {
    // (1 - 2^-53) * 2^-1022 = 2^-1022 - 2^-1075: exact with 53 bits but below 2^-1022, so it
    // is tiny even where it rounds to 2^-1022.
    allModes64(mul(D('3fefffffffffffff'), p2(-1022)), ['0010000000000000', '000fffffffffffff', '000fffffffffffff', '0010000000000000', '0010000000000000'], UF | NX);
    // (1 - 2^-27) * (1 + 2^-27) * 2^-1022 = 2^-1022 - 2^-1076: rounding to 53 bits with an
    // unbounded exponent gives 2^-1022 in RNE/RUP/RMM (not tiny: NX only).
    allModes64(mul(1 - p2(-27), (1 + p2(-27)) * p2(-1022)), ['0010000000000000', '000fffffffffffff', '000fffffffffffff', '0010000000000000', '0010000000000000'], [NX, UF | NX, UF | NX, NX, NX]);
  });

  it('overflows per mode', () => {
    allModes64(mul(p2(600), p2(600)), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], OF | NX);
    allModes64(mul(-p2(600), p2(600)), ['fff0000000000000', 'ffefffffffffffff', 'fff0000000000000', 'ffefffffffffffff', 'fff0000000000000'], OF | NX);
  });

  it('handles zeros, infinities and NaNs', () => {
    allModes64(mul(0, Infinity), Array(5).fill(NAN), NV);
    allModes64(mul(-Infinity, -0), Array(5).fill(NAN), NV);
    allModes64(mul(-0, 5), Array(5).fill('8000000000000000'), 0);
    allModes64(mul(Infinity, -2), Array(5).fill('fff0000000000000'), 0);
    allModes64(mul(QNAN, 0), Array(5).fill(NAN), 0);
    allModes64((rm) => sf.f64Mul(st, QNAN, 1, rm, true), Array(5).fill(NAN), NV);
  });
});

describe('f64 div', () => {
  const div = (a: number, b: number) => (rm: number) => sf.f64Div(st, a, b, rm, false);

  it('rounds per mode', () => {
    allModes64(div(1, 3), ['3fd5555555555555', '3fd5555555555555', '3fd5555555555555', '3fd5555555555556', '3fd5555555555555'], NX);
    allModes64(div(-1, 3), ['bfd5555555555555', 'bfd5555555555555', 'bfd5555555555556', 'bfd5555555555555', 'bfd5555555555555'], NX);
    allModes64(div(2, 3), ['3fe5555555555555', '3fe5555555555555', '3fe5555555555555', '3fe5555555555556', '3fe5555555555555'], NX);
    allModes64(div(10, 4), Array(5).fill(hd(2.5)), 0);
  });

  it('raises DZ only for finite nonzero / 0', () => {
    allModes64(div(1, 0), Array(5).fill('7ff0000000000000'), DZ);
    allModes64(div(-1, 0), Array(5).fill('fff0000000000000'), DZ);
    allModes64(div(1, -0), Array(5).fill('fff0000000000000'), DZ);
    allModes64(div(Infinity, 0), Array(5).fill('7ff0000000000000'), 0);
    allModes64(div(0, 0), Array(5).fill(NAN), NV);
    allModes64(div(Infinity, -Infinity), Array(5).fill(NAN), NV);
    allModes64(div(0, 5), Array(5).fill('0'), 0);
    allModes64(div(-5, Infinity), Array(5).fill('8000000000000000'), 0);
    allModes64(div(QNAN, 0), Array(5).fill(NAN), 0);
  });

  it('underflows and overflows', () => {
    allModes64(div(p2(-1074), 2), ['0', '0', '0', '0000000000000001', '0000000000000001'], UF | NX);
    allModes64(div(p2(-1074), 4), ['0', '0', '0', '0000000000000001', '0'], UF | NX);
    allModes64(div(MAX64, 0.5), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], OF | NX);
    allModes64(div(1, p2(-1074)), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], OF | NX);
  });
});

describe('f64 sqrt', () => {
  const sq = (a: number) => (rm: number) => sf.f64Sqrt(st, a, rm, false);

  it('rounds per mode', () => {
    allModes64(sq(2), ['3ff6a09e667f3bcd', '3ff6a09e667f3bcc', '3ff6a09e667f3bcc', '3ff6a09e667f3bcd', '3ff6a09e667f3bcd'], NX);
    allModes64(sq(p2(-1073)), ['1e66a09e667f3bcd', '1e66a09e667f3bcc', '1e66a09e667f3bcc', '1e66a09e667f3bcd', '1e66a09e667f3bcd'], NX);
    allModes64(sq(MAX64), ['5fefffffffffffff', '5fefffffffffffff', '5fefffffffffffff', '5ff0000000000000', '5fefffffffffffff'], NX);
    allModes64(sq(4), Array(5).fill(hd(2)), 0);
    allModes64(sq(p2(-1074)), Array(5).fill(hd(p2(-537))), 0);
  });

  it('handles special operands', () => {
    allModes64(sq(-0), Array(5).fill('8000000000000000'), 0);
    allModes64(sq(0), Array(5).fill('0'), 0);
    allModes64(sq(Infinity), Array(5).fill('7ff0000000000000'), 0);
    allModes64(sq(-1), Array(5).fill(NAN), NV);
    allModes64(sq(-p2(-1074)), Array(5).fill(NAN), NV);
    allModes64(sq(-Infinity), Array(5).fill(NAN), NV);
    allModes64(sq(QNAN), Array(5).fill(NAN), 0);
    allModes64((rm) => sf.f64Sqrt(st, QNAN, rm, true), Array(5).fill(NAN), NV);
  });
});

describe('f64 fma', () => {
  const fma = (a: number, b: number, c: number) => (rm: number) => sf.f64Fma(st, a, b, c, rm, false);

  it('rounds once', () => {
    // (1 + 2^-52)(1 - 2^-52) - 1 = -2^-104 exactly (separate mul + add would give 0)
    allModes64(fma(1 + p2(-52), 1 - p2(-52), -1), Array(5).fill('b970000000000000'), 0);
    allModes64(fma(1, 1, p2(-53)), ['3ff0000000000000', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000001'], NX);
    // a tiny third term decides a near-tie: 1 + 2^-53 +- 2^-105
    allModes64(fma(1 + p2(-52), p2(-53), 1), ['3ff0000000000001', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000001'], NX);
    allModes64(fma(1 - p2(-52), p2(-53), 1), ['3ff0000000000000', '3ff0000000000000', '3ff0000000000000', '3ff0000000000001', '3ff0000000000000'], NX);
    allModes64(fma(-(1 - p2(-52)), p2(-53), -1), ['bff0000000000000', 'bff0000000000000', 'bff0000000000001', 'bff0000000000000', 'bff0000000000000'], NX);
  });

  it('applies the zero sign rules', () => {
    allModes64(fma(2, 3, -6), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(fma(p2(500), p2(500), -p2(1000)), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(fma(0, 5, -0), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(fma(-0, 5, -0), Array(5).fill('8000000000000000'), 0);
    allModes64(fma(-0, 5, 0), ['0', '0', '8000000000000000', '0', '0'], 0);
    allModes64(fma(0, 5, 3), Array(5).fill(hd(3)), 0);
    allModes64(fma(p2(-600), -p2(-600), 0), ['8000000000000000', '8000000000000000', '8000000000000001', '8000000000000000', '8000000000000000'], UF | NX);
  });

  it('underflows and overflows', () => {
    allModes64(fma(p2(-600), p2(-600), -p2(-1074)), ['8000000000000001', '8000000000000000', '8000000000000001', '8000000000000000', '8000000000000001'], UF | NX);
    // 2^-1022 - 3*2^-1077: rounds to 2^-1022 but is tiny unless rounded up (RUP)
    allModes64(fma(-3 * p2(-600), p2(-477), p2(-1022)), ['0010000000000000', '000fffffffffffff', '000fffffffffffff', '0010000000000000', '0010000000000000'], [UF | NX, UF | NX, UF | NX, NX, UF | NX]);
    allModes64(fma(MAX64, 1, MAX64), ['7ff0000000000000', '7fefffffffffffff', '7fefffffffffffff', '7ff0000000000000', '7ff0000000000000'], OF | NX);
    allModes64(fma(MAX64, 2, -MAX64), Array(5).fill('7fefffffffffffff'), 0); // no intermediate overflow
  });

  it('handles invalid operations and NaNs', () => {
    // spec 11.6: 0 * inf raises NV even when the addend is a quiet NaN
    allModes64(fma(0, Infinity, QNAN), Array(5).fill(NAN), NV);
    allModes64(fma(Infinity, -0, 1), Array(5).fill(NAN), NV);
    allModes64(fma(Infinity, 1, -Infinity), Array(5).fill(NAN), NV);
    allModes64(fma(-Infinity, -1, Infinity), Array(5).fill('7ff0000000000000'), 0);
    allModes64(fma(1, 1, -Infinity), Array(5).fill('fff0000000000000'), 0);
    allModes64(fma(MAX64, MAX64, -Infinity), Array(5).fill('fff0000000000000'), 0);
    allModes64(fma(QNAN, 1, 1), Array(5).fill(NAN), 0);
    allModes64(fma(1, 1, QNAN), Array(5).fill(NAN), 0);
    allModes64((rm) => sf.f64Fma(st, 1, 1, QNAN, rm, true), Array(5).fill(NAN), NV);
  });
});

// ------------------------------------------------------------------------------------------------
// binary32 arithmetic
// ------------------------------------------------------------------------------------------------

describe('f32 arithmetic', () => {
  it('add/sub round per mode', () => {
    allModes32((rm) => sf.f32Add(st, 1, p2(-24), rm, false), ['3f800000', '3f800000', '3f800000', '3f800001', '3f800001'], NX);
    allModes32((rm) => sf.f32Add(st, 1, p2(-60), rm, false), ['3f800000', '3f800000', '3f800000', '3f800001', '3f800000'], NX);
    allModes32((rm) => sf.f32Sub(st, 1, p2(-60), rm, false), ['3f800000', '3f7fffff', '3f7fffff', '3f800000', '3f800000'], NX);
    allModes32((rm) => sf.f32Sub(st, -1, p2(-60), rm, false), ['bf800000', 'bf800000', 'bf800001', 'bf800000', 'bf800000'], NX);
    allModes32((rm) => sf.f32Sub(st, 0.5, 0.5, rm, false), ['0', '0', '80000000', '0', '0'], 0);
    allModes32((rm) => sf.f32Add(st, S(1), S(1), rm, false), Array(5).fill('00000002'), 0);
    allModes32((rm) => sf.f32Add(st, Infinity, -Infinity, rm, false), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f32Add(st, QNAN, 1, rm, true), Array(5).fill(NAN), NV);
  });

  it('mul rounds, overflows and underflows', () => {
    allModes32((rm) => sf.f32Mul(st, S('3f800001'), S('3f800001'), rm, false), ['3f800002', '3f800002', '3f800002', '3f800003', '3f800002'], NX);
    allModes32((rm) => sf.f32Mul(st, p2(100), p2(100), rm, false), ['7f800000', '7f7fffff', '7f7fffff', '7f800000', '7f800000'], OF | NX);
    allModes32((rm) => sf.f32Mul(st, -p2(100), p2(100), rm, false), ['ff800000', 'ff7fffff', 'ff800000', 'ff7fffff', 'ff800000'], OF | NX);
    allModes32((rm) => sf.f32Mul(st, p2(-100), p2(-50), rm, false), ['0', '0', '0', '00000001', '00000001'], UF | NX);
    allModes32((rm) => sf.f32Mul(st, p2(-100), p2(-49), rm, false), Array(5).fill('00000001'), 0);
    // (1 - 2^-24) * 2^-126: exact with 24 bits but below 2^-126: tiny in every mode
    allModes32((rm) => sf.f32Mul(st, S('3f7fffff'), S('00800000'), rm, false), ['00800000', '007fffff', '007fffff', '00800000', '00800000'], UF | NX);
    allModes32((rm) => sf.f32Mul(st, 0, Infinity, rm, false), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f32Mul(st, -0, 3, rm, false), Array(5).fill('80000000'), 0);
  });

  it('add overflows per mode at MAX + half an ulp', () => {
    allModes32((rm) => sf.f32Add(st, MAX32, p2(103), rm, false), ['7f800000', '7f7fffff', '7f7fffff', '7f800000', '7f800000'], [OF | NX, NX, NX, OF | NX, OF | NX]);
    allModes32((rm) => sf.f32Add(st, MAX32, p2(102), rm, false), ['7f7fffff', '7f7fffff', '7f7fffff', '7f800000', '7f7fffff'], [NX, NX, NX, OF | NX, NX]);
  });

  it('div and sqrt', () => {
    allModes32((rm) => sf.f32Div(st, 1, 3, rm, false), ['3eaaaaab', '3eaaaaaa', '3eaaaaaa', '3eaaaaab', '3eaaaaab'], NX);
    allModes32((rm) => sf.f32Div(st, -1, 3, rm, false), ['beaaaaab', 'beaaaaaa', 'beaaaaab', 'beaaaaaa', 'beaaaaab'], NX);
    allModes32((rm) => sf.f32Div(st, 1, 0, rm, false), Array(5).fill('7f800000'), DZ);
    allModes32((rm) => sf.f32Div(st, 0, 0, rm, false), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f32Div(st, S(1), 2, rm, false), ['0', '0', '0', '00000001', '00000001'], UF | NX);
    allModes32((rm) => sf.f32Sqrt(st, 2, rm, false), ['3fb504f3', '3fb504f3', '3fb504f3', '3fb504f4', '3fb504f3'], NX);
    allModes32((rm) => sf.f32Sqrt(st, S(2), rm, false), Array(5).fill(hs(p2(-74))), 0); // sqrt(2^-148)
    allModes32((rm) => sf.f32Sqrt(st, S(1), rm, false), ['1a3504f3', '1a3504f3', '1a3504f3', '1a3504f4', '1a3504f3'], NX); // sqrt(2^-149) = sqrt(2) * 2^-75
    allModes32((rm) => sf.f32Sqrt(st, -0, rm, false), Array(5).fill('80000000'), 0);
    allModes32((rm) => sf.f32Sqrt(st, -2, rm, false), Array(5).fill(NAN), NV);
  });

  it('fma rounds once (no double rounding through binary64)', () => {
    // (1 - 2^-18)(2^-24 (1 + 2^-18)) + (1 + 2^-23) = 1 + 3*2^-24 - 2^-60: just below a binary32
    // midpoint whose binary64 rounding is the midpoint itself.
    allModes32((rm) => sf.f32Fma(st, S('3f7fffc0'), S('33800020'), S('3f800001'), rm, false), ['3f800001', '3f800001', '3f800001', '3f800002', '3f800001'], NX);
    allModes32((rm) => sf.f32Fma(st, 2, 3, -6, rm, false), ['0', '0', '80000000', '0', '0'], 0);
    allModes32((rm) => sf.f32Fma(st, -0, 1, -0, rm, false), Array(5).fill('80000000'), 0);
    allModes32((rm) => sf.f32Fma(st, 0, Infinity, QNAN, rm, false), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f32Fma(st, Infinity, 1, -Infinity, rm, false), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f32Fma(st, QNAN, 1, 1, rm, false), Array(5).fill(NAN), 0);
    allModes32((rm) => sf.f32Fma(st, MAX32, 2, -MAX32, rm, false), Array(5).fill('7f7fffff'), 0);
    allModes32((rm) => sf.f32Fma(st, MAX32, 2, 0, rm, false), ['7f800000', '7f7fffff', '7f7fffff', '7f800000', '7f800000'], OF | NX);
  });

  it('results are exact binary32 values', () => {
    for (const rm of MODES) {
      const r = sf.f32Div(st, 7, 9, rm, false);
      expect(Math.fround(r)).toBe(r);
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Comparisons, min/max, classify
// ------------------------------------------------------------------------------------------------

describe('comparisons', () => {
  it('feq is quiet', () => {
    expect(run(() => sf.fEq(st, QNAN, 1, false))).toEqual([false, 0]);
    expect(run(() => sf.fEq(st, QNAN, 1, true))).toEqual([false, NV]);
    expect(run(() => sf.fEq(st, 0, -0, false))).toEqual([true, 0]);
    expect(run(() => sf.fEq(st, 1, 1, false))).toEqual([true, 0]);
    expect(run(() => sf.fEq(st, 1, 2, false))).toEqual([false, 0]);
  });

  it('flt and fle signal on any NaN', () => {
    expect(run(() => sf.fLt(st, QNAN, 1, false))).toEqual([false, NV]);
    expect(run(() => sf.fLe(st, 1, QNAN, false))).toEqual([false, NV]);
    expect(run(() => sf.fLt(st, -0, 0, false))).toEqual([false, 0]);
    expect(run(() => sf.fLe(st, -0, 0, false))).toEqual([true, 0]);
    expect(run(() => sf.fLt(st, -Infinity, MAX64, false))).toEqual([true, 0]);
    expect(run(() => sf.fLe(st, 2, 1, false))).toEqual([false, 0]);
  });

  it('fmin/fmax order -0 below +0 and ignore a single NaN', () => {
    expect(Object.is(sf.fMin(st, -0, 0, false), -0)).toBe(true);
    expect(Object.is(sf.fMin(st, 0, -0, false), -0)).toBe(true);
    expect(Object.is(sf.fMax(st, -0, 0, false), 0)).toBe(true);
    expect(Object.is(sf.fMax(st, 0, -0, false), 0)).toBe(true);
    expect(run(() => sf.fMin(st, QNAN, 1, false))).toEqual([1, 0]);
    expect(run(() => sf.fMax(st, 1, QNAN, false))).toEqual([1, 0]);
    expect(run(() => sf.fMin(st, QNAN, 1, true))).toEqual([1, NV]); // sNaN: NV even with a number result
    const [r, fl] = run(() => sf.fMax(st, QNAN, QNAN, false));
    expect([r !== r, fl]).toEqual([true, 0]);
    expect(run(() => sf.fMin(st, -Infinity, 3, false))).toEqual([-Infinity, 0]);
    expect(run(() => sf.fMax(st, -Infinity, 3, false))).toEqual([3, 0]);
  });

  it('fclass', () => {
    const c64 = [-Infinity, -1, -p2(-1074), -0, 0, p2(-1074), 1, Infinity].map((x) => sf.fClass64(x, false));
    expect(c64).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(sf.fClass64(QNAN, true)).toBe(256);
    expect(sf.fClass64(QNAN, false)).toBe(512);
    expect(sf.fClass64(p2(-1022), false)).toBe(64);
    expect(sf.fClass64(D('000fffffffffffff'), false)).toBe(32);
    expect(sf.fClass64(-D('000fffffffffffff'), false)).toBe(4);
    const c32 = [-Infinity, -1, -S(1), -0, 0, S(1), 1, Infinity].map((x) => sf.fClass32(x, false));
    expect(c32).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(sf.fClass32(p2(-127), false)).toBe(32); // binary32 subnormal
    expect(sf.fClass64(p2(-127), false)).toBe(64);
    expect(sf.fClass32(p2(-126), false)).toBe(64);
    expect(sf.fClass32(-S('007fffff'), false)).toBe(4);
    expect(sf.fClass32(QNAN, true)).toBe(256);
    expect(sf.fClass32(QNAN, false)).toBe(512);
  });
});

// ------------------------------------------------------------------------------------------------
// Conversions
// ------------------------------------------------------------------------------------------------

describe('float -> integer', () => {
  const cvt = <T>(fn: (st: sf.FpFlags, a: number, rm: number) => T, a: number): [T, number][] => MODES.map((rm) => run(() => fn(st, a, rm)));
  const I32MAX = 0x7fffffff, I32MIN = -0x80000000;

  it('fcvt.w rounds and saturates after rounding', () => {
    expect(cvt(sf.fToI32, 2147483647.5)).toEqual([[I32MAX, NV], [I32MAX, NX], [I32MAX, NX], [I32MAX, NV], [I32MAX, NV]]);
    expect(cvt(sf.fToI32, 2147483646.5)).toEqual([[2147483646, NX], [2147483646, NX], [2147483646, NX], [I32MAX, NX], [I32MAX, NX]]);
    expect(cvt(sf.fToI32, -2147483648.5)).toEqual([[I32MIN, NX], [I32MIN, NX], [I32MIN, NV], [I32MIN, NX], [I32MIN, NV]]);
    expect(cvt(sf.fToI32, -2147483649)).toEqual(Array(5).fill([I32MIN, NV]));
    expect(cvt(sf.fToI32, 2147483648)).toEqual(Array(5).fill([I32MAX, NV]));
    expect(cvt(sf.fToI32, NaN)).toEqual(Array(5).fill([I32MAX, NV]));
    expect(cvt(sf.fToI32, Infinity)).toEqual(Array(5).fill([I32MAX, NV]));
    expect(cvt(sf.fToI32, -Infinity)).toEqual(Array(5).fill([I32MIN, NV]));
    expect(cvt(sf.fToI32, -2147483648)).toEqual(Array(5).fill([I32MIN, 0]));
  });

  it('fcvt.w rounding modes on small values', () => {
    expect(cvt(sf.fToI32, 2.5)).toEqual([[2, NX], [2, NX], [2, NX], [3, NX], [3, NX]]);
    expect(cvt(sf.fToI32, -2.5)).toEqual([[-2, NX], [-2, NX], [-3, NX], [-2, NX], [-3, NX]]);
    expect(cvt(sf.fToI32, 3.5)).toEqual([[4, NX], [3, NX], [3, NX], [4, NX], [4, NX]]);
    expect(cvt(sf.fToI32, -1.5)).toEqual([[-2, NX], [-1, NX], [-2, NX], [-1, NX], [-2, NX]]);
    expect(cvt(sf.fToI32, 1e-300)).toEqual([[0, NX], [0, NX], [0, NX], [1, NX], [0, NX]]);
    expect(cvt(sf.fToI32, -1e-300)).toEqual([[0, NX], [0, NX], [-1, NX], [0, NX], [0, NX]]);
    expect(cvt(sf.fToI32, -0)).toEqual(Array(5).fill([0, 0]));
    expect(cvt(sf.fToI32, 7)).toEqual(Array(5).fill([7, 0]));
    // results are +0, never -0
    expect(Object.is(sf.fToI32(st, -0.5, RM_RNE), 0)).toBe(true);
  });

  it('fcvt.wu saturates and sign-extends', () => {
    expect(cvt(sf.fToU32, -1.5)).toEqual(Array(5).fill([0, NV])); // rounds to -2 or -1
    expect(cvt(sf.fToU32, -0.5)).toEqual([[0, NX], [0, NX], [0, NV], [0, NX], [0, NV]]);
    expect(cvt(sf.fToU32, 4294967295.5)).toEqual([[-1, NV], [-1, NX], [-1, NX], [-1, NV], [-1, NV]]);
    expect(cvt(sf.fToU32, 4294967294.5)).toEqual([[-2, NX], [-2, NX], [-2, NX], [-1, NX], [-1, NX]]);
    expect(cvt(sf.fToU32, 3e9)).toEqual(Array(5).fill([3000000000 - 4294967296, 0]));
    expect(cvt(sf.fToU32, 2147483648)).toEqual(Array(5).fill([-2147483648, 0]));
    expect(cvt(sf.fToU32, 2147483647)).toEqual(Array(5).fill([2147483647, 0]));
    expect(cvt(sf.fToU32, NaN)).toEqual(Array(5).fill([-1, NV]));
    expect(cvt(sf.fToU32, Infinity)).toEqual(Array(5).fill([-1, NV]));
    expect(cvt(sf.fToU32, -Infinity)).toEqual(Array(5).fill([0, NV]));
    expect(cvt(sf.fToU32, -0)).toEqual(Array(5).fill([0, 0]));
  });

  it('fcvt.l saturates at +-2^63', () => {
    const MAX = 0x7fffffffffffffffn, MIN = -0x8000000000000000n;
    expect(cvt(sf.fToI64, NaN)).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToI64, p2(63))).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToI64, Math.fround(p2(63)))).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToI64, -p2(63))).toEqual(Array(5).fill([MIN, 0]));
    expect(cvt(sf.fToI64, D('43dfffffffffffff'))).toEqual(Array(5).fill([0x7ffffffffffffc00n, 0]));
    expect(cvt(sf.fToI64, D('c3e0000000000001'))).toEqual(Array(5).fill([MIN, NV]));
    expect(cvt(sf.fToI64, 1e19)).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToI64, -Infinity)).toEqual(Array(5).fill([MIN, NV]));
    expect(cvt(sf.fToI64, 0.5)).toEqual([[0n, NX], [0n, NX], [0n, NX], [1n, NX], [1n, NX]]);
    expect(cvt(sf.fToI64, -4503599627370495.5)).toEqual([[-4503599627370496n, NX], [-4503599627370495n, NX], [-4503599627370496n, NX], [-4503599627370495n, NX], [-4503599627370496n, NX]]);
    expect(cvt(sf.fToI64, 4503599627370497)).toEqual(Array(5).fill([4503599627370497n, 0]));
  });

  it('fcvt.lu saturates at 0 and 2^64-1', () => {
    const MAX = 0xffffffffffffffffn;
    expect(cvt(sf.fToU64, NaN)).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToU64, p2(64))).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToU64, Infinity)).toEqual(Array(5).fill([MAX, NV]));
    expect(cvt(sf.fToU64, D('43efffffffffffff'))).toEqual(Array(5).fill([0xfffffffffffff800n, 0]));
    expect(cvt(sf.fToU64, -1)).toEqual(Array(5).fill([0n, NV]));
    expect(cvt(sf.fToU64, -Infinity)).toEqual(Array(5).fill([0n, NV]));
    expect(cvt(sf.fToU64, -0.5)).toEqual([[0n, NX], [0n, NX], [0n, NV], [0n, NX], [0n, NV]]);
    expect(cvt(sf.fToU64, 1.5)).toEqual([[2n, NX], [1n, NX], [1n, NX], [2n, NX], [2n, NX]]);
    expect(cvt(sf.fToU64, -0)).toEqual(Array(5).fill([0n, 0]));
  });
});

describe('integer -> float', () => {
  it('int64 -> f64', () => {
    allModes64((rm) => sf.i64ToF64(st, 2n ** 53n + 1n, rm), ['4340000000000000', '4340000000000000', '4340000000000000', '4340000000000001', '4340000000000001'], NX);
    allModes64((rm) => sf.i64ToF64(st, -(2n ** 53n + 1n), rm), ['c340000000000000', 'c340000000000000', 'c340000000000001', 'c340000000000000', 'c340000000000001'], NX);
    allModes64((rm) => sf.i64ToF64(st, 2n ** 53n + 3n, rm), ['4340000000000002', '4340000000000001', '4340000000000001', '4340000000000002', '4340000000000002'], NX);
    allModes64((rm) => sf.i64ToF64(st, 0x7fffffffffffffffn, rm), ['43e0000000000000', '43dfffffffffffff', '43dfffffffffffff', '43e0000000000000', '43e0000000000000'], NX);
    allModes64((rm) => sf.i64ToF64(st, -0x8000000000000000n, rm), Array(5).fill('c3e0000000000000'), 0);
    allModes64((rm) => sf.i64ToF64(st, 0n, rm), Array(5).fill('0'), 0);
    allModes64((rm) => sf.i64ToF64(st, -(2n ** 53n) + 1n, rm), Array(5).fill(hd(-p2(53) + 1)), 0);
  });

  it('uint64 -> f64', () => {
    allModes64((rm) => sf.u64ToF64(st, 0xffffffffffffffffn, rm), ['43f0000000000000', '43efffffffffffff', '43efffffffffffff', '43f0000000000000', '43f0000000000000'], NX);
    allModes64((rm) => sf.u64ToF64(st, 2n ** 63n, rm), Array(5).fill('43e0000000000000'), 0);
  });

  it('int64/uint64 -> f32', () => {
    allModes32((rm) => sf.u64ToF32(st, 0xffffffffffffffffn, rm), ['5f800000', '5f7fffff', '5f7fffff', '5f800000', '5f800000'], NX);
    allModes32((rm) => sf.i64ToF32(st, 2n ** 24n + 1n, rm), ['4b800000', '4b800000', '4b800000', '4b800001', '4b800001'], NX);
    allModes32((rm) => sf.i64ToF32(st, -(2n ** 24n + 1n), rm), ['cb800000', 'cb800000', 'cb800001', 'cb800000', 'cb800001'], NX);
    // 2^60 + 2^36 is a tie (binary32 spacing 2^37 there); the +1 decides it
    allModes32((rm) => sf.i64ToF32(st, 2n ** 60n + 2n ** 36n + 1n, rm), ['5d800001', '5d800000', '5d800000', '5d800001', '5d800001'], NX);
    allModes32((rm) => sf.i64ToF32(st, 2n ** 60n + 2n ** 36n, rm), ['5d800000', '5d800000', '5d800000', '5d800001', '5d800001'], NX);
    allModes32((rm) => sf.i64ToF32(st, -0x8000000000000000n, rm), Array(5).fill('df000000'), 0);
    allModes32((rm) => sf.u64ToF32(st, 0n, rm), Array(5).fill('0'), 0);
  });

  it('int32/uint32 -> f32', () => {
    allModes32((rm) => sf.i32ToF32(st, 16777217, rm), ['4b800000', '4b800000', '4b800000', '4b800001', '4b800001'], NX);
    allModes32((rm) => sf.i32ToF32(st, 2147483647, rm), ['4f000000', '4effffff', '4effffff', '4f000000', '4f000000'], NX);
    allModes32((rm) => sf.i32ToF32(st, -2147483648, rm), Array(5).fill('cf000000'), 0);
    allModes32((rm) => sf.i32ToF32(st, -7, rm), Array(5).fill('c0e00000'), 0);
    allModes32((rm) => sf.u32ToF32(st, 4294967295, rm), ['4f800000', '4f7fffff', '4f7fffff', '4f800000', '4f800000'], NX);
    allModes32((rm) => sf.u32ToF32(st, 0, rm), Array(5).fill('0'), 0);
  });
});

describe('f64 <-> f32', () => {
  const d2s = (a: number) => (rm: number) => sf.f64ToF32(st, a, rm, false);

  it('rounds, overflows and underflows', () => {
    allModes32(d2s(1 / 3), ['3eaaaaab', '3eaaaaaa', '3eaaaaaa', '3eaaaaab', '3eaaaaab'], NX);
    allModes32(d2s(1 + p2(-24)), ['3f800000', '3f800000', '3f800000', '3f800001', '3f800001'], NX);
    allModes32(d2s(1e300), ['7f800000', '7f7fffff', '7f7fffff', '7f800000', '7f800000'], OF | NX);
    allModes32(d2s(-1e300), ['ff800000', 'ff7fffff', 'ff800000', 'ff7fffff', 'ff800000'], OF | NX);
    allModes32(d2s(p2(-1074)), ['0', '0', '0', '00000001', '0'], UF | NX);
    allModes32(d2s(-p2(-1074)), ['80000000', '80000000', '80000001', '80000000', '80000000'], UF | NX);
    allModes32(d2s(p2(-150)), ['0', '0', '0', '00000001', '00000001'], UF | NX);
    allModes32(d2s(p2(-149)), Array(5).fill('00000001'), 0);
    allModes32(d2s(p2(-127)), Array(5).fill('00400000'), 0);
  });

  it('detects tininess after rounding near 2^-126', () => {
    // 2^-126 - 2^-151: rounds (24 bits, unbounded exponent) to 2^-126 in RNE/RUP/RMM: not tiny
    allModes32(d2s(p2(-126) - p2(-151)), ['00800000', '007fffff', '007fffff', '00800000', '00800000'], [NX, UF | NX, UF | NX, NX, NX]);
    // 2^-126 - 2^-150: exact with 24 bits, below 2^-126: tiny in every mode
    allModes32(d2s(p2(-126) - p2(-150)), ['00800000', '007fffff', '007fffff', '00800000', '00800000'], UF | NX);
    // 2^-126 - 3*2^-152: rounds to 2^-126 - 2^-150 with an unbounded exponent unless rounding up
    allModes32(d2s(p2(-126) - 3 * p2(-152)), ['00800000', '007fffff', '007fffff', '00800000', '00800000'], [UF | NX, UF | NX, UF | NX, NX, UF | NX]);
  });

  it('handles NaNs and infinities', () => {
    allModes32((rm) => sf.f64ToF32(st, QNAN, rm, true), Array(5).fill(NAN), NV);
    allModes32((rm) => sf.f64ToF32(st, QNAN, rm, false), Array(5).fill(NAN), 0);
    allModes32(d2s(-Infinity), Array(5).fill('ff800000'), 0);
    allModes32(d2s(-0), Array(5).fill('80000000'), 0);
    expect(run(() => sf.f32ToF64(st, S('3eaaaaab'), false))).toEqual([S('3eaaaaab'), 0]);
    const [r, fl] = run(() => sf.f32ToF64(st, QNAN, true));
    expect([r !== r, fl]).toEqual([true, NV]);
    expect(run(() => sf.f32ToF64(st, QNAN, false))[1]).toBe(0);
    expect(Object.is(sf.f32ToF64(st, -0, false), -0)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------
// Fixture: x86 hardware vectors (RNE/RTZ/RDN/RUP) and reference vectors (RMM)
// ------------------------------------------------------------------------------------------------

interface Fixture {
  vectors: string[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/softfloat-vectors.json', import.meta.url), 'utf8')) as Fixture;

/** Evaluate one fixture vector; returns the result encoding (or 'nan') and the flags. */
function evalVector(op: string, rm: number, a: string, b: string, c: string): [string, number] {
  const i64 = (h: string) => BigInt.asIntN(64, BigInt('0x' + h));
  const u64 = (h: string) => BigInt('0x' + h);
  const r64 = (x: bigint) => BigInt.asUintN(64, x).toString(16).padStart(16, '0');
  st.flags = 0;
  let r: string;
  switch (op) {
    case 'd_add': r = hdN(sf.f64Add(st, D(a), D(b), rm, snD(a) || snD(b))); break;
    case 'd_sub': r = hdN(sf.f64Sub(st, D(a), D(b), rm, snD(a) || snD(b))); break;
    case 'd_mul': r = hdN(sf.f64Mul(st, D(a), D(b), rm, snD(a) || snD(b))); break;
    case 'd_div': r = hdN(sf.f64Div(st, D(a), D(b), rm, snD(a) || snD(b))); break;
    case 'd_sqrt': r = hdN(sf.f64Sqrt(st, D(a), rm, snD(a))); break;
    case 'd_fma': r = hdN(sf.f64Fma(st, D(a), D(b), D(c), rm, snD(a) || snD(b) || snD(c))); break;
    case 's_add': r = hsN(sf.f32Add(st, S(a), S(b), rm, snS(a) || snS(b))); break;
    case 's_sub': r = hsN(sf.f32Sub(st, S(a), S(b), rm, snS(a) || snS(b))); break;
    case 's_mul': r = hsN(sf.f32Mul(st, S(a), S(b), rm, snS(a) || snS(b))); break;
    case 's_div': r = hsN(sf.f32Div(st, S(a), S(b), rm, snS(a) || snS(b))); break;
    case 's_sqrt': r = hsN(sf.f32Sqrt(st, S(a), rm, snS(a))); break;
    case 's_fma': r = hsN(sf.f32Fma(st, S(a), S(b), S(c), rm, snS(a) || snS(b) || snS(c))); break;
    case 'd2s': r = hsN(sf.f64ToF32(st, D(a), rm, snD(a))); break;
    case 's2d': r = hdN(sf.f32ToF64(st, S(a), snS(a))); break;
    case 'l2d': r = hdN(sf.i64ToF64(st, i64(a), rm)); break;
    case 'lu2d': r = hdN(sf.u64ToF64(st, u64(a), rm)); break;
    case 'l2s': r = hsN(sf.i64ToF32(st, i64(a), rm)); break;
    case 'lu2s': r = hsN(sf.u64ToF32(st, u64(a), rm)); break;
    case 'w2s': r = hsN(sf.i32ToF32(st, parseInt(a, 16) | 0, rm)); break;
    case 'wu2s': r = hsN(sf.u32ToF32(st, parseInt(a, 16), rm)); break;
    case 'd2l': r = r64(sf.fToI64(st, D(a), rm)); break;
    case 'd2lu': r = r64(sf.fToU64(st, D(a), rm)); break;
    case 'd2w': r = r64(BigInt(sf.fToI32(st, D(a), rm))); break;
    case 'd2wu': r = r64(BigInt(sf.fToU32(st, D(a), rm))); break;
    default: throw new Error('unknown op ' + op);
  }
  return [r, st.flags];
}

function expectedEncoding(op: string, res: string): string {
  const isF32 = /^(s_|d2s|l2s|lu2s|w2s|wu2s)/.test(op) && op !== 's2d';
  const isFloat = !/^d2[wl]/.test(op);
  if (!isFloat) return res;
  const x = isF32 ? S(res) : D(res);
  return x !== x ? NAN : res;
}

describe('fixture vectors', () => {
  it('has a reasonable number of vectors', () => {
    expect(fixture.vectors.length).toBeGreaterThan(1000);
  });

  const ops = [...new Set(fixture.vectors.map((v) => v.split(' ')[0]))];
  for (const op of ops) {
    it(`matches ${op}`, () => {
      const failures: string[] = [];
      let n = 0;
      for (const v of fixture.vectors) {
        const [vop, rm, a, b, c, res, fl] = v.split(' ');
        if (vop !== op) continue;
        n++;
        const [r, flags] = evalVector(op, Number(rm), a, b, c);
        const exp = expectedEncoding(op, res);
        if (r !== exp || flags !== Number(fl)) failures.push(`${v} -> got ${r} ${flags}`);
      }
      expect(n).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------------------------------------
// Seeded random comparison with an exact rational reference (all five modes)
// ------------------------------------------------------------------------------------------------

interface Fmt { p: number; emin: number; emax: number }
const F64: Fmt = { p: 53, emin: -1022, emax: 1023 };
const F32: Fmt = { p: 24, emin: -126, emax: 127 };

const bitLength = (m: bigint): number => (m === 0n ? 0 : m.toString(2).length);

/** Exact value of a finite double as [sign, m, e] with |x| = m * 2^e. */
function exactOf(x: number): [boolean, bigint, number] {
  dv.setFloat64(0, x);
  const v = dv.getBigUint64(0);
  const be = Number((v >> 52n) & 0x7ffn);
  const mant = v & 0xfffffffffffffn;
  return be === 0 ? [x < 0 || Object.is(x, -0), mant, -1074] : [x < 0, mant | (1n << 52n), be - 1075];
}

/**
 * Reference rounding of the positive rational num/den (with sign neg) to format f in mode rm,
 * by direct comparison with grid points: returns the rounded value and the flags.
 */
function refRound(neg: boolean, num: bigint, den: bigint, f: Fmt, rm: number): [number, number] {
  const ge = (E: number) => (E >= 0 ? num >= den << BigInt(E) : num << BigInt(-E) >= den);
  let E = bitLength(num) - bitLength(den);
  if (!ge(E)) E--;
  const roundAt = (u: number): [bigint, boolean] => {
    let N = num, Dn = den;
    if (u >= 0) Dn = den << BigInt(u);
    else N = num << BigInt(-u);
    const q = N / Dn, r = N - q * Dn;
    if (r === 0n) return [q, false];
    const twice = 2n * r;
    let up: boolean;
    switch (rm) {
      case RM_RTZ: up = false; break;
      case RM_RDN: up = neg; break;
      case RM_RUP: up = !neg; break;
      case RM_RMM: up = twice >= Dn; break;
      default: up = twice > Dn || (twice === Dn && (q & 1n) === 1n);
    }
    return [up ? q + 1n : q, true];
  };
  const u = Math.max(E - (f.p - 1), f.emin - (f.p - 1));
  const [Q, inexact] = roundAt(u);
  const mag = Number(Q) * p2(u); // Q < 2^(p+1), exact
  const maxF = f === F64 ? MAX64 : MAX32;
  if (mag > maxF) {
    const toInf = rm === RM_RNE || rm === RM_RMM || (rm === RM_RDN && neg) || (rm === RM_RUP && !neg);
    return [(neg ? -1 : 1) * (toInf ? Infinity : maxF), OF | NX];
  }
  let flags = inexact ? NX : 0;
  if (inexact && E < f.emin) {
    const u2 = E - (f.p - 1);
    const [Q2] = roundAt(u2);
    if (u2 + bitLength(Q2) - 1 < f.emin) flags |= UF;
  }
  return [neg ? -mag : mag, flags];
}

/** Reference for add/mul/div/fma/sqrt on finite operands whose exact result is nonzero. */
function reference(op: string, f: Fmt, rm: number, a: number, b: number, c: number): [number, number] | null {
  const [sa, ma, ea] = exactOf(a), [sb, mb, eb] = exactOf(b), [sc, mc, ec] = exactOf(c);
  const sgn = (s: boolean, m: bigint) => (s ? -m : m);
  let s: bigint, e: number;
  if (op === 'div') {
    if (ma === 0n || mb === 0n) return null;
    const k = ea - eb;
    return refRound(sa !== sb, k >= 0 ? ma << BigInt(k) : ma, k >= 0 ? mb : mb << BigInt(-k), f, rm);
  }
  if (op === 'sqrt') {
    if (ma === 0n || sa) return null;
    let m = ma, ee = ea;
    if (ee & 1) { m <<= 1n; ee--; }
    const N = m << 400n; // sqrt(N) * 2^(ee/2 - 200)
    let x = 1n << BigInt((bitLength(N) >> 1) + 1);
    for (;;) { const y = (x + N / x) >> 1n; if (y >= x) break; x = y; }
    while (x * x > N) x--;
    // value in [x, x+1): represent as x (exact) or x + 1/2 (sticky, strictly inside)
    const exactRoot = x * x === N;
    const num = exactRoot ? x : 2n * x + 1n;
    const sh = ee / 2 - 200 - (exactRoot ? 0 : 1);
    return refRound(false, sh >= 0 ? num << BigInt(sh) : num, sh >= 0 ? 1n : 1n << BigInt(-sh), f, rm);
  }
  if (op === 'add') {
    e = Math.min(ea, eb);
    s = sgn(sa, ma << BigInt(ea - e)) + sgn(sb, mb << BigInt(eb - e));
  } else if (op === 'mul') {
    s = sgn(sa !== sb, ma * mb);
    e = ea + eb;
  } else {
    const ep = ea + eb;
    e = Math.min(ep, ec);
    s = sgn(sa !== sb, (ma * mb) << BigInt(ep - e)) + sgn(sc, mc << BigInt(ec - e));
  }
  if (s === 0n) return null;
  const neg = s < 0n;
  if (neg) s = -s;
  return refRound(neg, e >= 0 ? s << BigInt(e) : s, e >= 0 ? 1n : 1n << BigInt(-e), f, rm);
}

describe('seeded random comparison with an exact reference', () => {
  // xorshift32, fixed seed: deterministic
  let seed = 0x12345678;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const ri = (n: number) => Math.floor(rnd() * n);
  /** A value with a k-bit significand and leading-bit exponent e (ties and exact cases are common). */
  const shortVal = (k: number, e: number): number => {
    let m = 1;
    for (let i = 1; i < k; i++) m = m * 2 + (rnd() < 0.5 ? 1 : 0);
    return (rnd() < 0.5 ? -1 : 1) * m * p2(e - k + 1);
  };

  for (const dbl of [true, false]) {
    it(`${dbl ? 'f64' : 'f32'} add/mul/div/sqrt/fma in all modes`, () => {
      const f = dbl ? F64 : F32;
      const P = f.p;
      const failures: string[] = [];
      let checked = 0;
      for (let i = 0; i < 6000; i++) {
        const rm = MODES[ri(5)];
        const op = ['add', 'mul', 'div', 'sqrt', 'fma'][ri(5)];
        const range = dbl ? 1000 : 120;
        const ea = ri(2 * range) - range + (dbl ? 20 : 4);
        let a = shortVal(1 + ri(P), Math.max(ea, f.emin - P + 1));
        let b = 0, c = 0;
        if (op === 'add') b = shortVal(1 + ri(P), ea - ri(P + 4));
        else if (op === 'mul') b = shortVal(1 + ri(P), ri(2 * range) - range);
        else if (op === 'div') b = shortVal(1 + ri(P), ri(2 * range) - range);
        else if (op === 'sqrt') a = Math.abs(a);
        else {
          b = shortVal(1 + ri(P), ri(60) - 30);
          const p = dbl ? a * b : Math.fround(a * b);
          const lp = p === 0 || p - p !== 0 ? 0 : Math.floor(Math.log2(Math.abs(p)));
          c = rnd() < 0.5 ? -p : shortVal(1 + ri(P), lp - ri(P + 4));
          if (rnd() < 0.5) c += shortVal(1 + ri(4), lp - P - ri(3));
        }
        if (!dbl) { a = Math.fround(a); b = Math.fround(b); c = Math.fround(c); }
        if ([a, b, c].some((x) => x - x !== 0)) continue;
        const ref = reference(op, f, rm, a, b, c);
        if (!ref) continue;
        st.flags = 0;
        let r: number;
        if (dbl) {
          r = op === 'add' ? sf.f64Add(st, a, b, rm, false) : op === 'mul' ? sf.f64Mul(st, a, b, rm, false) : op === 'div' ? sf.f64Div(st, a, b, rm, false)
            : op === 'sqrt' ? sf.f64Sqrt(st, a, rm, false) : sf.f64Fma(st, a, b, c, rm, false);
        } else {
          r = op === 'add' ? sf.f32Add(st, a, b, rm, false) : op === 'mul' ? sf.f32Mul(st, a, b, rm, false) : op === 'div' ? sf.f32Div(st, a, b, rm, false)
            : op === 'sqrt' ? sf.f32Sqrt(st, a, rm, false) : sf.f32Fma(st, a, b, c, rm, false);
        }
        checked++;
        if (!Object.is(r, ref[0]) || st.flags !== ref[1]) {
          failures.push(`${op} ${MODE_NAMES[rm]} a=${hd(a)} b=${hd(b)} c=${hd(c)}: expected ${hd(ref[0])}/${ref[1]} got ${hd(r)}/${st.flags}`);
        }
      }
      expect(checked).toBeGreaterThan(4000);
      expect(failures.slice(0, 10)).toEqual([]);
    });
  }
});

describe('no state between calls', () => {
  it('flags go only to the accumulator passed in', () => {
    const a: sf.FpFlags = { flags: 0 }, b: sf.FpFlags = { flags: 0 };
    expect(sf.f64Div(a, 1, 3, RM_RNE, false)).toBe(1 / 3);
    expect(sf.f64Div(b, 1, 0, RM_RNE, false)).toBe(Infinity);
    expect([a.flags, b.flags]).toEqual([FLAG_NX, FLAG_DZ]);
    // An exact operation after an inexact one reports nothing (no inexactness left over).
    const c: sf.FpFlags = { flags: 0 };
    sf.fToI32(c, 2.5, RM_RTZ);
    const d: sf.FpFlags = { flags: 0 };
    expect(sf.fToI32(d, 2, RM_RTZ)).toBe(2);
    expect([c.flags, d.flags]).toEqual([FLAG_NX, 0]);
  });

  it('the module declares no mutable module-level variables and exports no objects', () => {
    const src = readFileSync(new URL('../src/isa/softfloat.ts', import.meta.url), 'utf8');
    expect(src.match(/^(export )?(let|var) .*/gm) ?? []).toEqual([]);
    expect(Object.entries(sf).filter(([, v]) => typeof v === 'object').map(([k]) => k)).toEqual([]);
  });
});
