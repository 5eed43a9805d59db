#!/usr/bin/env python3
"""
Generate the F/D test vectors and assembly stubs for guests/isa-check.

Expected results are computed here from the IEEE 754-2008 rules as RISC-V
specialises them (canonical NaN results, tininess detected after rounding,
invalid for inf*0+qNaN, saturating float->int conversions), using exact
rational arithmetic, independently of any FPU. They were cross-checked by
running the guest on QEMU 7.2 (softfloat).

Outputs (committed, so building the guests does not need Python):
  fp_gen.h   op enum, names, stub table, test cases
  fp_stubs.S one tiny function per (op, rounding mode)

Usage: python3 gen_fp.py   (from any directory; writes next to this file)
"""
import os
import struct
from fractions import Fraction

NV, DZ, OF, UF, NX = 16, 8, 4, 2, 1
RNE, RTZ, RDN, RUP, RMM = 0, 1, 2, 3, 4
RM_NAMES = ["rne", "rtz", "rdn", "rup", "rmm"]


class Fmt:
    def __init__(self, name, p, ebits):
        self.name = name
        self.p = p                      # precision incl. hidden bit
        self.ebits = ebits
        self.bias = (1 << (ebits - 1)) - 1
        self.emax = self.bias
        self.emin = 1 - self.bias
        self.width = p + ebits
        self.emask = (1 << ebits) - 1
        self.fmask = (1 << (p - 1)) - 1


S = Fmt("s", 24, 8)
D = Fmt("d", 53, 11)
FMTS = {"s": S, "d": D}


def pow2(e):
    return Fraction(2) ** e


def box(fmt, bits):
    return (0xFFFFFFFF00000000 | bits) if fmt is S else bits


def canon_nan(fmt):
    return box(fmt, 0x7FC00000) if fmt is S else 0x7FF8000000000000


class Val:
    """Decoded floating-point value."""

    def __init__(self, kind, sign=0, mag=Fraction(0), snan=False):
        self.kind = kind                # 'nan' 'inf' 'zero' 'fin'
        self.sign = sign
        self.mag = mag
        self.snan = snan

    @property
    def isnan(self):
        return self.kind == "nan"

    def value(self):
        assert self.kind in ("zero", "fin")
        return -self.mag if self.sign else self.mag


def decode(fmt, bits64):
    if fmt is S:
        if (bits64 >> 32) != 0xFFFFFFFF:     # not NaN-boxed: canonical qNaN
            return Val("nan", 0, snan=False)
        bits = bits64 & 0xFFFFFFFF
    else:
        bits = bits64
    sign = bits >> (fmt.width - 1)
    exp = (bits >> (fmt.p - 1)) & fmt.emask
    frac = bits & fmt.fmask
    if exp == fmt.emask:
        if frac == 0:
            return Val("inf", sign)
        return Val("nan", sign, snan=not (frac >> (fmt.p - 2)) & 1)
    if exp == 0:
        if frac == 0:
            return Val("zero", sign)
        return Val("fin", sign, frac * pow2(fmt.emin - (fmt.p - 1)))
    return Val("fin", sign, (frac | (1 << (fmt.p - 1))) * pow2(exp - fmt.bias - (fmt.p - 1)))


def enc_zero(fmt, sign):
    return box(fmt, sign << (fmt.width - 1))


def enc_inf(fmt, sign):
    return box(fmt, (sign << (fmt.width - 1)) | (fmt.emask << (fmt.p - 1)))


def enc_max(fmt, sign):
    return box(fmt, (sign << (fmt.width - 1)) | ((fmt.emask - 1) << (fmt.p - 1)) | fmt.fmask)


def floor_log2(mag):
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    while pow2(e) > mag:
        e -= 1
    while pow2(e + 1) <= mag:
        e += 1
    return e


def round_int(sign, mag, rm):
    """Round a non-negative rational magnitude to an integer. Returns (n, inexact)."""
    n = mag.numerator // mag.denominator
    r = mag - n
    if r == 0:
        return n, False
    half = Fraction(1, 2)
    if rm == RNE:
        inc = r > half or (r == half and (n & 1))
    elif rm == RTZ:
        inc = False
    elif rm == RDN:
        inc = bool(sign)
    elif rm == RUP:
        inc = not sign
    elif rm == RMM:
        inc = r >= half
    else:
        raise ValueError(rm)
    return n + (1 if inc else 0), True


def round_pack(fmt, sign, mag, rm):
    """Round sign*mag (mag > 0, exact) to fmt. Returns (bits64, flags)."""
    assert mag > 0
    e = floor_log2(mag)
    # tininess after rounding: round with unbounded exponent range
    q = e - (fmt.p - 1)
    n_u, _ = round_int(sign, mag / pow2(q), rm)
    tiny = n_u * pow2(q) < pow2(fmt.emin)
    # real rounding, exponent bounded below by emin
    q = max(e, fmt.emin) - (fmt.p - 1)
    n, inexact = round_int(sign, mag / pow2(q), rm)
    flags = 0
    if n * pow2(q) >= pow2(fmt.emax + 1):
        flags = OF | NX
        if rm in (RNE, RMM):
            return enc_inf(fmt, sign), flags
        if rm == RTZ:
            return enc_max(fmt, sign), flags
        if rm == RDN:
            return (enc_inf(fmt, 1) if sign else enc_max(fmt, 0)), flags
        return (enc_max(fmt, 1) if sign else enc_inf(fmt, 0)), flags
    if inexact:
        flags |= NX
        if tiny:
            flags |= UF
    if n == 0:
        return enc_zero(fmt, sign), flags
    if n >= (1 << fmt.p):               # carry out of the significand
        assert n == (1 << fmt.p)
        n >>= 1
        q += 1
    if n < (1 << (fmt.p - 1)):          # subnormal
        assert q == fmt.emin - (fmt.p - 1)
        bits = n
    else:
        bexp = q + (fmt.p - 1) + fmt.bias
        assert 1 <= bexp < fmt.emask
        bits = (bexp << (fmt.p - 1)) | (n - (1 << (fmt.p - 1)))
    return box(fmt, (sign << (fmt.width - 1)) | bits), flags


def exact(fmt, x):
    """Bits of an exactly representable rational (or 0 / -0 given as str)."""
    if x == "-0":
        return enc_zero(fmt, 1)
    x = Fraction(x)
    if x == 0:
        return enc_zero(fmt, 0)
    bits, flags = round_pack(fmt, 1 if x < 0 else 0, abs(x), RNE)
    assert flags == 0, (fmt.name, x)
    return bits


def rounded(fmt, x):
    x = Fraction(x)
    return round_pack(fmt, 1 if x < 0 else 0, abs(x), RNE)[0]


def pack_result(fmt, value, rm, zero_sign_hint=None):
    if value == 0:
        return enc_zero(fmt, zero_sign_hint if zero_sign_hint is not None else 0), 0
    return round_pack(fmt, 1 if value < 0 else 0, abs(value), rm)


# ------------------------------------------------------------------ operations

def op_add(fmt, a, b, c, rm, negb=False):
    A, B = decode(fmt, a), decode(fmt, b)
    fl = NV if (A.snan or B.snan) else 0
    if A.isnan or B.isnan:
        return canon_nan(fmt), fl
    bsign = B.sign ^ (1 if negb else 0)
    if A.kind == "inf" and B.kind == "inf":
        if A.sign != bsign:
            return canon_nan(fmt), NV
        return enc_inf(fmt, A.sign), 0
    if A.kind == "inf":
        return enc_inf(fmt, A.sign), 0
    if B.kind == "inf":
        return enc_inf(fmt, bsign), 0
    vb = -B.value() if negb else B.value()
    s = A.value() + vb
    if s == 0:
        if A.kind == "zero" and B.kind == "zero" and A.sign == bsign:
            zs = A.sign
        else:
            zs = 1 if rm == RDN else 0
        return enc_zero(fmt, zs), 0
    return pack_result(fmt, s, rm)


def op_sub(fmt, a, b, c, rm):
    return op_add(fmt, a, b, c, rm, negb=True)


def op_mul(fmt, a, b, c, rm):
    A, B = decode(fmt, a), decode(fmt, b)
    fl = NV if (A.snan or B.snan) else 0
    if A.isnan or B.isnan:
        return canon_nan(fmt), fl
    sign = A.sign ^ B.sign
    if (A.kind == "inf" and B.kind == "zero") or (A.kind == "zero" and B.kind == "inf"):
        return canon_nan(fmt), NV
    if A.kind == "inf" or B.kind == "inf":
        return enc_inf(fmt, sign), 0
    if A.kind == "zero" or B.kind == "zero":
        return enc_zero(fmt, sign), 0
    return round_pack(fmt, sign, A.mag * B.mag, rm)


def op_div(fmt, a, b, c, rm):
    A, B = decode(fmt, a), decode(fmt, b)
    fl = NV if (A.snan or B.snan) else 0
    if A.isnan or B.isnan:
        return canon_nan(fmt), fl
    sign = A.sign ^ B.sign
    if A.kind == "inf" and B.kind == "inf":
        return canon_nan(fmt), NV
    if A.kind == "zero" and B.kind == "zero":
        return canon_nan(fmt), NV
    if A.kind == "inf":
        return enc_inf(fmt, sign), 0
    if B.kind == "inf":
        return enc_zero(fmt, sign), 0
    if B.kind == "zero":
        return enc_inf(fmt, sign), DZ
    if A.kind == "zero":
        return enc_zero(fmt, sign), 0
    return round_pack(fmt, sign, A.mag / B.mag, rm)


def op_sqrt(fmt, a, b, c, rm):
    A = decode(fmt, a)
    if A.isnan:
        return canon_nan(fmt), NV if A.snan else 0
    if A.kind == "zero":
        return enc_zero(fmt, A.sign), 0
    if A.sign:
        return canon_nan(fmt), NV
    if A.kind == "inf":
        return enc_inf(fmt, 0), 0
    K = 1200
    N = A.mag * pow2(2 * K)
    assert N.denominator == 1
    N = N.numerator
    s = _isqrt(N)
    mag = Fraction(s, 1 << K)
    if s * s != N:      # sticky: true root lies strictly inside (s, s+1)/2^K
        mag += Fraction(1, 1 << (K + 1))
    return round_pack(fmt, 0, mag, rm)


def _isqrt(n):
    x = 1 << ((n.bit_length() + 1) // 2)
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


def op_fma(fmt, a, b, c, rm, negprod=False, negc=False):
    A, B, C = decode(fmt, a), decode(fmt, b), decode(fmt, c)
    fl = NV if (A.snan or B.snan or C.snan) else 0
    if (A.kind == "inf" and B.kind == "zero") or (A.kind == "zero" and B.kind == "inf"):
        return canon_nan(fmt), NV           # even if C is a quiet NaN
    if A.isnan or B.isnan or C.isnan:
        return canon_nan(fmt), fl
    psign = A.sign ^ B.sign ^ (1 if negprod else 0)
    csign = C.sign ^ (1 if negc else 0)
    if A.kind == "inf" or B.kind == "inf":
        if C.kind == "inf" and csign != psign:
            return canon_nan(fmt), NV
        return enc_inf(fmt, psign), 0
    if C.kind == "inf":
        return enc_inf(fmt, csign), 0
    p = A.mag * B.mag * (-1 if psign else 1)
    cv = C.mag * (-1 if csign else 1)
    s = p + cv
    if s == 0:
        if p == 0 and C.kind == "zero" and psign == csign:
            zs = psign
        else:
            zs = 1 if rm == RDN else 0
        return enc_zero(fmt, zs), 0
    return pack_result(fmt, s, rm)


def op_fmadd(fmt, a, b, c, rm):
    return op_fma(fmt, a, b, c, rm)


def op_fmsub(fmt, a, b, c, rm):
    return op_fma(fmt, a, b, c, rm, negc=True)


def op_fnmsub(fmt, a, b, c, rm):
    return op_fma(fmt, a, b, c, rm, negprod=True)


def op_fnmadd(fmt, a, b, c, rm):
    return op_fma(fmt, a, b, c, rm, negprod=True, negc=True)


INT_RANGES = {
    "w": (-(1 << 31), (1 << 31) - 1, 32),
    "wu": (0, (1 << 32) - 1, 32),
    "l": (-(1 << 63), (1 << 63) - 1, 64),
    "lu": (0, (1 << 64) - 1, 64),
}


def int_result(kind, v):
    lo, hi, width = INT_RANGES[kind]
    v &= (1 << width) - 1
    if width == 32 and v >> 31:         # 32-bit results are sign-extended
        v |= 0xFFFFFFFF00000000
    return v


def op_f2i(fmt, kind, a, rm):
    lo, hi, _ = INT_RANGES[kind]
    A = decode(fmt, a)
    if A.isnan:
        return int_result(kind, hi), NV
    if A.kind == "inf":
        return int_result(kind, lo if A.sign else hi), NV
    if A.kind == "zero":
        return 0, 0
    n, inexact = round_int(A.sign, A.mag, rm)
    v = -n if A.sign else n
    if v < lo or v > hi:
        return int_result(kind, lo if A.sign else hi), NV
    return int_result(kind, v), NX if inexact else 0


def int_operand(kind, x):
    if kind == "w":
        v = x & 0xFFFFFFFF
        return v - (1 << 32) if v >> 31 else v
    if kind == "wu":
        return x & 0xFFFFFFFF
    if kind == "l":
        return x - (1 << 64) if x >> 63 else x
    return x


def op_i2f(fmt, kind, a, rm):
    v = int_operand(kind, a)
    if v == 0:
        return enc_zero(fmt, 0), 0
    return round_pack(fmt, 1 if v < 0 else 0, Fraction(abs(v)), rm)


def op_f2f(dst, src, a, rm):
    A = decode(src, a)
    if A.isnan:
        return canon_nan(dst), NV if A.snan else 0
    if A.kind == "inf":
        return enc_inf(dst, A.sign), 0
    if A.kind == "zero":
        return enc_zero(dst, A.sign), 0
    return round_pack(dst, A.sign, A.mag, rm)


def op_minmax(fmt, a, b, is_max):
    A, B = decode(fmt, a), decode(fmt, b)
    fl = NV if (A.snan or B.snan) else 0
    if A.isnan and B.isnan:
        return canon_nan(fmt), fl
    if A.isnan:
        return _canon_input(fmt, b), fl
    if B.isnan:
        return _canon_input(fmt, a), fl
    ka = _order_key(A)
    kb = _order_key(B)
    if is_max:
        return _canon_input(fmt, a if ka >= kb else b), fl
    return _canon_input(fmt, a if ka <= kb else b), fl


def _canon_input(fmt, x):
    return x    # non-NaN inputs are returned unchanged (boxed already)


def _order_key(V):
    if V.kind == "inf":
        return (-1 if V.sign else 1) * Fraction(10) ** 400, 0
    if V.kind == "zero":
        return Fraction(0), -1 if V.sign else 0     # -0 < +0 for fmin/fmax
    return V.value(), 0


def op_cmp(fmt, a, b, which):
    A, B = decode(fmt, a), decode(fmt, b)
    if A.isnan or B.isnan:
        if which == "eq":
            return 0, NV if (A.snan or B.snan) else 0
        return 0, NV
    va = A.value() if A.kind != "inf" else (-1 if A.sign else 1) * Fraction(10) ** 400
    vb = B.value() if B.kind != "inf" else (-1 if B.sign else 1) * Fraction(10) ** 400
    r = {"eq": va == vb, "lt": va < vb, "le": va <= vb}[which]
    return (1 if r else 0), 0


def op_class(fmt, a, b, c, rm):
    A = decode(fmt, a)
    if A.isnan:
        return (1 << 8) if A.snan else (1 << 9), 0
    if A.kind == "inf":
        return (1 << 0) if A.sign else (1 << 7), 0
    if A.kind == "zero":
        return (1 << 3) if A.sign else (1 << 4), 0
    sub = A.mag < pow2(fmt.emin)
    if A.sign:
        return (1 << 2) if sub else (1 << 1), 0
    return (1 << 5) if sub else (1 << 6), 0


def _raw(fmt, x):
    """Register value as seen by a sign-injection op (unboxed -> canonical NaN)."""
    if fmt is S:
        if (x >> 32) != 0xFFFFFFFF:
            return 0x7FC00000
        return x & 0xFFFFFFFF
    return x


def op_sgnj(fmt, a, b, mode):
    ra, rb = _raw(fmt, a), _raw(fmt, b)
    sbit = 1 << (fmt.width - 1)
    sa, sb = ra & sbit, rb & sbit
    if mode == "j":
        s = sb
    elif mode == "n":
        s = sb ^ sbit
    else:
        s = sa ^ sb
    return box(fmt, (ra & ~sbit) | s), 0


# ------------------------------------------------------------------ op table

class Op:
    def __init__(self, name, asm, kind, fn, rounding, fmt):
        self.name = name      # printable name
        self.asm = asm        # mnemonic
        self.kind = kind      # operand shape, see STUB_BODIES
        self.fn = fn          # fn(a, b, c, rm) -> (bits, flags)
        self.rounding = rounding
        self.fmt = fmt
        self.cases = []       # list of (a, b, c)

    @property
    def ident(self):
        return "OP_" + self.name.upper().replace(".", "_")


OPS = []


def add_op(*args):
    op = Op(*args)
    OPS.append(op)
    return op


def bind(f, fmt):
    return lambda a, b, c, rm: f(fmt, a, b, c, rm)


ARITH = {}
for fname in ("s", "d"):
    fmt = FMTS[fname]
    ARITH[fname] = {
        "fadd": add_op("fadd." + fname, "fadd." + fname, "ff_f", bind(op_add, fmt), True, fmt),
        "fsub": add_op("fsub." + fname, "fsub." + fname, "ff_f", bind(op_sub, fmt), True, fmt),
        "fmul": add_op("fmul." + fname, "fmul." + fname, "ff_f", bind(op_mul, fmt), True, fmt),
        "fdiv": add_op("fdiv." + fname, "fdiv." + fname, "ff_f", bind(op_div, fmt), True, fmt),
        "fsqrt": add_op("fsqrt." + fname, "fsqrt." + fname, "f_f", bind(op_sqrt, fmt), True, fmt),
        "fmadd": add_op("fmadd." + fname, "fmadd." + fname, "fff_f", bind(op_fmadd, fmt), True, fmt),
        "fmsub": add_op("fmsub." + fname, "fmsub." + fname, "fff_f", bind(op_fmsub, fmt), True, fmt),
        "fnmadd": add_op("fnmadd." + fname, "fnmadd." + fname, "fff_f", bind(op_fnmadd, fmt), True, fmt),
        "fnmsub": add_op("fnmsub." + fname, "fnmsub." + fname, "fff_f", bind(op_fnmsub, fmt), True, fmt),
    }

CVT_F2I = {}
CVT_I2F = {}
for fname in ("s", "d"):
    fmt = FMTS[fname]
    for k in ("w", "wu", "l", "lu"):
        CVT_F2I[(fname, k)] = add_op(
            "fcvt.%s.%s" % (k, fname), "fcvt.%s.%s" % (k, fname), "f_x",
            (lambda fmt, k: lambda a, b, c, rm: op_f2i(fmt, k, a, rm))(fmt, k), True, fmt)
    for k in ("w", "wu", "l", "lu"):
        CVT_I2F[(fname, k)] = add_op(
            "fcvt.%s.%s" % (fname, k), "fcvt.%s.%s" % (fname, k), "x_f",
            (lambda fmt, k: lambda a, b, c, rm: op_i2f(fmt, k, a, rm))(fmt, k), True, fmt)
CVT_SD = add_op("fcvt.s.d", "fcvt.s.d", "f_f", lambda a, b, c, rm: op_f2f(S, D, a, rm), True, D)
CVT_DS = add_op("fcvt.d.s", "fcvt.d.s", "f_f", lambda a, b, c, rm: op_f2f(D, S, a, rm), True, S)

MISC = {}
for fname in ("s", "d"):
    fmt = FMTS[fname]
    m = MISC.setdefault(fname, {})
    m["fmin"] = add_op("fmin." + fname, "fmin." + fname, "ff_f",
                       (lambda fmt: lambda a, b, c, rm: op_minmax(fmt, a, b, False))(fmt), False, fmt)
    m["fmax"] = add_op("fmax." + fname, "fmax." + fname, "ff_f",
                       (lambda fmt: lambda a, b, c, rm: op_minmax(fmt, a, b, True))(fmt), False, fmt)
    for w in ("eq", "lt", "le"):
        m["f" + w] = add_op("f%s.%s" % (w, fname), "f%s.%s" % (w, fname), "ff_x",
                            (lambda fmt, w: lambda a, b, c, rm: op_cmp(fmt, a, b, w))(fmt, w), False, fmt)
    m["fclass"] = add_op("fclass." + fname, "fclass." + fname, "f_x", bind(op_class, fmt), False, fmt)
    for mode, nm in (("j", "fsgnj"), ("n", "fsgnjn"), ("x", "fsgnjx")):
        m[nm] = add_op("%s.%s" % (nm, fname), "%s.%s" % (nm, fname), "ff_f",
                       (lambda fmt, mode: lambda a, b, c, rm: op_sgnj(fmt, a, b, mode))(fmt, mode), False, fmt)

FMV_XW = add_op("fmv.x.w", "fmv.x.w", "f_x",
                lambda a, b, c, rm: (int_result("w", a & 0xFFFFFFFF), 0), False, S)
FMV_WX = add_op("fmv.w.x", "fmv.w.x", "x_f",
                lambda a, b, c, rm: (box(S, a & 0xFFFFFFFF), 0), False, S)
FMV_XD = add_op("fmv.x.d", "fmv.x.d", "f_x", lambda a, b, c, rm: (a, 0), False, D)
FMV_DX = add_op("fmv.d.x", "fmv.d.x", "x_f", lambda a, b, c, rm: (a, 0), False, D)


# ------------------------------------------------------------------ operands

class K:
    """Interesting constants of one format (all as 64-bit register values)."""

    def __init__(self, fmt):
        f = fmt
        self.f = f
        p = f.p
        self.one = exact(f, 1)
        self.m_one = exact(f, -1)
        self.two = exact(f, 2)
        self.three = exact(f, 3)
        self.four = exact(f, 4)
        self.five = exact(f, 5)
        self.six = exact(f, 6)
        self.seven = exact(f, 7)
        self.half = exact(f, Fraction(1, 2))
        self.m_half = exact(f, Fraction(-1, 2))
        self.onep5 = exact(f, Fraction(3, 2))
        self.m_onep5 = exact(f, Fraction(-3, 2))
        self.twop5 = exact(f, Fraction(5, 2))
        self.m_twop5 = exact(f, Fraction(-5, 2))
        self.zero = enc_zero(f, 0)
        self.m_zero = enc_zero(f, 1)
        self.inf = enc_inf(f, 0)
        self.m_inf = enc_inf(f, 1)
        self.max = enc_max(f, 0)
        self.m_max = enc_max(f, 1)
        self.min_norm = exact(f, pow2(f.emin))
        self.m_min_norm = exact(f, -pow2(f.emin))
        self.min_sub = exact(f, pow2(f.emin - (p - 1)))
        self.m_min_sub = exact(f, -pow2(f.emin - (p - 1)))
        self.max_sub = exact(f, pow2(f.emin) - pow2(f.emin - (p - 1)))
        self.half_ulp1 = exact(f, pow2(-p))              # half ulp of 1.0
        self.m_half_ulp1 = exact(f, -pow2(-p))
        self.ulp1 = exact(f, pow2(1 - p))
        self.three_half_ulp1 = exact(f, 3 * pow2(-p))
        self.one_p_ulp = exact(f, 1 + pow2(1 - p))         # 1 + ulp
        self.one_m_ulp = exact(f, 1 - pow2(-p))            # largest below 1
        self.third = rounded(f, Fraction(1, 3))
        self.m_third = rounded(f, Fraction(-1, 3))
        self.tenth = rounded(f, Fraction(1, 10))
        self.m_tenth = rounded(f, Fraction(-1, 10))
        self.fifth = rounded(f, Fraction(1, 5))
        self.pi = rounded(f, Fraction(314159265358979323846, 10 ** 20))
        self.half_ulp_max = exact(f, pow2(f.emax - p))     # half ulp of MAX
        if f is S:
            self.qnan = box(S, 0x7FC00000)
            self.m_qnan = box(S, 0xFFC00000)
            self.snan = box(S, 0x7F800001)
            self.qnan_payload = box(S, 0x7FC12345)
            self.unboxed_one = 0x000000003F800000          # 1.0f, not NaN-boxed
            self.unboxed_snan = 0x000000007F800001
        else:
            self.qnan = 0x7FF8000000000000
            self.m_qnan = 0xFFF8000000000000
            self.snan = 0x7FF0000000000001
            self.qnan_payload = 0x7FF8000000012345
            self.unboxed_one = None
            self.unboxed_snan = None


KS = {"s": K(S), "d": K(D)}


def fill_cases():
    for fname in ("s", "d"):
        k = KS[fname]
        A = ARITH[fname]
        ub = [] if k.unboxed_one is None else [(k.unboxed_one, k.one, 0), (k.one, k.unboxed_snan, 0)]

        addsub = [
            (k.one, k.two, 0),
            (k.one, k.half_ulp1, 0),            # tie: RNE/RMM differ
            (k.m_one, k.m_half_ulp1, 0),        # negative tie
            (k.one, k.three_half_ulp1, 0),      # tie rounding up to even
            (k.tenth, k.fifth, 0),              # inexact
            (k.m_tenth, k.fifth, 0),
            (k.third, k.m_one, 0),
            (k.max, k.max, 0),                  # overflow
            (k.m_max, k.m_max, 0),
            (k.max, k.half_ulp_max, 0),         # tie at the overflow threshold
            (k.one, k.m_one, 0),                # exact zero: +0 (-0 in RDN)
            (k.m_zero, k.m_zero, 0),
            (k.zero, k.m_zero, 0),
            (k.min_norm, k.m_min_sub, 0),       # exact subnormal: no UF
            (k.min_sub, k.min_sub, 0),
            (k.inf, k.m_inf, 0),
            (k.inf, k.inf, 0),
            (k.m_inf, k.one, 0),
            (k.qnan_payload, k.one, 0),
            (k.one, k.snan, 0),
        ] + ub
        A["fadd"].cases += addsub
        A["fsub"].cases += addsub

        A["fmul"].cases += [
            (k.three, k.five, 0),
            (k.third, k.three, 0),              # 1 - 2^-p-1 tie
            (k.one_p_ulp, k.one_p_ulp, 0),
            (k.m_tenth, k.three, 0),
            (k.max, k.two, 0),                  # overflow
            (k.m_max, k.two, 0),
            (k.max, k.m_one, 0),
            (k.min_norm, k.half, 0),            # exact subnormal
            (k.min_sub, k.half, 0),             # tie between 0 and min_sub
            (k.m_min_sub, k.half, 0),
            (k.one_p_ulp, k.max_sub, 0),        # tiny only before rounding
            (k.m_min_norm, k.one_m_ulp, 0),     # tiny after rounding too
            (k.zero, k.inf, 0),                 # NV
            (k.m_zero, k.five, 0),
            (k.inf, k.m_two if hasattr(k, "m_two") else exact(k.f, -2), 0),
            (k.snan, k.zero, 0),
            (k.qnan, k.inf, 0),
        ] + ub

        A["fdiv"].cases += [
            (k.six, k.three, 0),
            (k.one, k.three, 0),
            (k.m_one, k.three, 0),
            (k.two, k.three, 0),
            (k.pi, k.seven, 0),
            (k.one, k.zero, 0),                 # DZ
            (k.m_one, k.zero, 0),
            (k.one, k.m_zero, 0),
            (k.zero, k.zero, 0),                # NV
            (k.inf, k.inf, 0),
            (k.inf, k.zero, 0),                 # inf, no DZ
            (k.zero, k.inf, 0),
            (k.m_zero, k.three, 0),
            (k.max, k.half, 0),                 # overflow
            (k.min_sub, k.two, 0),              # underflow to 0
            (k.one, k.max, 0),                  # subnormal inexact
            (k.qnan, k.zero, 0),
            (k.one, k.snan, 0),
        ] + ub

        A["fsqrt"].cases += [
            (k.four, 0, 0),
            (k.two, 0, 0),
            (k.three, 0, 0),
            (k.one_p_ulp, 0, 0),
            (k.one_m_ulp, 0, 0),
            (k.max, 0, 0),
            (k.min_sub, 0, 0),
            (k.max_sub, 0, 0),
            (k.m_one, 0, 0),                    # NV
            (k.m_zero, 0, 0),                   # -0
            (k.inf, 0, 0),
            (k.m_inf, 0, 0),
            (k.m_min_sub, 0, 0),
            (k.qnan, 0, 0),
            (k.snan, 0, 0),
        ] + ([(k.unboxed_one, 0, 0)] if k.unboxed_one else [])

        fma = [
            (k.two, k.three, k.one),
            (k.one_p_ulp, k.one_m_ulp, k.m_one),   # fused: tiny exact result
            (k.third, k.three, k.m_one),           # fused: -2^-p-1 exact
            (k.one_p_ulp, k.one_p_ulp, k.zero),
            (k.one, k.one, k.half_ulp1),           # tie
            (k.tenth, k.three, k.m_tenth),
            (k.max, k.two, k.m_max),               # no intermediate overflow
            (k.max, k.max, k.m_inf),
            (k.max, k.max, k.max),                 # overflow
            (k.zero, k.five, k.m_zero),            # signed-zero rules
            (k.m_zero, k.five, k.m_zero),
            (k.one, k.m_one, k.one),               # exact cancellation
            (k.min_sub, k.half, k.m_zero),         # tiny
            (k.min_norm, k.m_half, k.min_sub),     # exact subnormal
            (k.zero, k.inf, k.qnan),               # NV even with qNaN addend
            (k.inf, k.one, k.m_inf),               # inf - inf (fmadd)
            (k.inf, k.one, k.inf),
            (k.one, k.two, k.qnan),
            (k.snan, k.one, k.one),
            (k.one, k.one, k.snan),
        ] + ([(k.one, k.one, k.unboxed_one)] if k.unboxed_one else [])
        for n in ("fmadd", "fmsub", "fnmadd", "fnmsub"):
            A[n].cases += fma

        # float -> int
        f = k.f
        big = [
            exact(f, 2 ** 31 - 128) if f is S else exact(f, 2 ** 31 - 1),
            exact(f, 2 ** 31),
            exact(f, -(2 ** 31)),
            exact(f, -(2 ** 31) - 256) if f is S else exact(f, Fraction(-(2 ** 31)) - Fraction(1, 2)),
            exact(f, -(2 ** 31) - 256) if f is S else exact(f, -(2 ** 31) - 1),
            exact(f, 2 ** 32 - 256) if f is S else exact(f, Fraction(2 ** 32) - Fraction(1, 2)),
            exact(f, 2 ** 32),
            exact(f, 2 ** 63),
            exact(f, -(2 ** 63)),
            exact(f, 2 ** 64),
            exact(f, 2 ** 64 - 2 ** 40),
            exact(f, Fraction(2 ** 31 - 1) + Fraction(1, 2)) if f is D else exact(f, 2 ** 24 + 2),
        ]
        f2i = [k.zero, k.m_zero, k.one, k.m_one, k.half, k.m_half, k.onep5, k.m_onep5,
               k.twop5, k.m_twop5, k.tenth, k.m_tenth, k.pi, k.min_sub, k.m_min_sub] + big + [
               k.max, k.m_max, k.inf, k.m_inf, k.qnan, k.m_qnan, k.snan]
        if k.unboxed_one:
            f2i.append(k.unboxed_one)
        seen = set()
        f2i_u = []
        for x in f2i:
            if x not in seen:
                seen.add(x)
                f2i_u.append(x)
        for kind in ("w", "wu", "l", "lu"):
            CVT_F2I[(fname, kind)].cases += [(x, 0, 0) for x in f2i_u]

        # int -> float (64-bit register values; upper bits ignored for w/wu)
        i2f = [0, 1, 0xFFFFFFFFFFFFFFFF, 7, (1 << 24) + 1, (1 << 24) + 3,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF80000000, 0xFFFFFFFF,
               0x123456789ABCDEF0, 0x00000001FFFFFFFF, (1 << 53) + 1, (1 << 53) + 3,
               0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFE,
               0xFFFFFFFF00000000, 0xFFFFFFFFFEFFFFFF]
        for kind in ("w", "wu", "l", "lu"):
            CVT_I2F[(fname, kind)].cases += [(x, 0, 0) for x in i2f]

        m = MISC[fname]
        mm = [
            (k.one, k.two, 0), (k.two, k.one, 0), (k.m_one, k.one, 0),
            (k.m_zero, k.zero, 0), (k.zero, k.m_zero, 0),
            (k.qnan, k.one, 0), (k.one, k.qnan, 0), (k.snan, k.one, 0), (k.one, k.snan, 0),
            (k.qnan, k.qnan_payload, 0), (k.snan, k.qnan, 0), (k.m_inf, k.max, 0),
            (k.inf, k.max, 0), (k.min_sub, k.m_min_sub, 0),
        ] + ([(k.unboxed_one, k.two, 0), (k.unboxed_one, k.unboxed_snan, 0)] if k.unboxed_one else [])
        m["fmin"].cases += mm
        m["fmax"].cases += mm
        cmp = [
            (k.one, k.one, 0), (k.one, k.two, 0), (k.two, k.one, 0), (k.m_zero, k.zero, 0),
            (k.zero, k.m_zero, 0), (k.m_inf, k.inf, 0), (k.inf, k.inf, 0), (k.min_sub, k.zero, 0),
            (k.qnan, k.one, 0), (k.one, k.qnan, 0), (k.qnan, k.qnan, 0),
            (k.snan, k.one, 0), (k.one, k.snan, 0),
        ] + ([(k.unboxed_one, k.unboxed_one, 0)] if k.unboxed_one else [])
        for w in ("feq", "flt", "fle"):
            m[w].cases += cmp
        m["fclass"].cases += [(x, 0, 0) for x in (
            k.m_inf, k.m_one, k.m_min_sub, k.m_zero, k.zero, k.min_sub, k.max_sub, k.min_norm,
            k.one, k.inf, k.snan, k.qnan, k.m_qnan, k.m_max)] + (
            [(k.unboxed_one, 0, 0)] if k.unboxed_one else [])
        sg = [
            (k.one, k.two, 0), (k.one, k.m_two if hasattr(k, "m_two") else exact(f, -2), 0),
            (k.m_one, k.two, 0), (k.m_one, k.m_one, 0),
            (k.snan, k.m_one, 0), (k.m_qnan, k.one, 0), (k.inf, k.m_zero, 0),
        ] + ([(k.unboxed_one, k.one, 0), (k.one, k.unboxed_one, 0)] if k.unboxed_one else [])
        for nm in ("fsgnj", "fsgnjn", "fsgnjx"):
            m[nm].cases += sg

    CVT_SD.cases += [(x, 0, 0) for x in (
        KS["d"].third, KS["d"].m_third, KS["d"].one, KS["d"].pi,
        exact(D, 1 + pow2(-24)),                  # tie in single
        exact(D, -(1 + pow2(-24))),
        exact(D, 1 + 3 * pow2(-24)),              # tie, rounds up to even
        exact(D, pow2(-149)),                     # single min subnormal, exact
        exact(D, pow2(-150)),                     # tie between 0 and min subnormal
        exact(D, 3 * pow2(-151)),
        exact(D, pow2(-126) - pow2(-150)),        # tiny only before rounding
        exact(D, (2 - pow2(-23)) * pow2(127)),    # single MAX, exact
        exact(D, (2 - pow2(-24)) * pow2(127)),    # MAX + half ulp: tie -> overflow
        exact(D, (2 - pow2(-23) + pow2(-30)) * pow2(127)),
        KS["d"].max, KS["d"].m_max, KS["d"].min_sub,
        KS["d"].zero, KS["d"].m_zero, KS["d"].inf, KS["d"].m_inf,
        KS["d"].qnan, KS["d"].qnan_payload, KS["d"].snan)]
    CVT_DS.cases += [(x, 0, 0) for x in (
        KS["s"].third, KS["s"].m_one, KS["s"].min_sub, KS["s"].max_sub, KS["s"].max,
        KS["s"].zero, KS["s"].m_zero, KS["s"].m_inf, KS["s"].qnan, KS["s"].qnan_payload,
        KS["s"].snan, KS["s"].unboxed_one, KS["s"].unboxed_snan)]

    FMV_XW.cases += [(x, 0, 0) for x in (
        KS["s"].one, KS["s"].m_one, box(S, 0x80000000), 0x123456789ABCDEF0,
        0x0000000080000001, KS["s"].snan)]
    FMV_WX.cases += [(x, 0, 0) for x in (
        0x3F800000, 0x123456789ABCDEF0, 0xFFFFFFFF7F800001, 0x0000000080000000)]
    FMV_XD.cases += [(x, 0, 0) for x in (KS["d"].m_one, KS["d"].snan, 0x0123456789ABCDEF)]
    FMV_DX.cases += [(x, 0, 0) for x in (KS["d"].m_zero, KS["d"].snan, 0xFEDCBA9876543210)]


# ------------------------------------------------------------------ output

STUB_BODIES = {
    # kind: (input moves, instruction operand template, output move)
    "fff_f": ("fmv.d.x fa0, a0\n\tfmv.d.x fa1, a1\n\tfmv.d.x fa2, a2", "fa3, fa0, fa1, fa2", "fmv.x.d a0, fa3"),
    "ff_f": ("fmv.d.x fa0, a0\n\tfmv.d.x fa1, a1", "fa3, fa0, fa1", "fmv.x.d a0, fa3"),
    "f_f": ("fmv.d.x fa0, a0", "fa3, fa0", "fmv.x.d a0, fa3"),
    "f_x": ("fmv.d.x fa0, a0", "a0, fa0", None),
    "ff_x": ("fmv.d.x fa0, a0\n\tfmv.d.x fa1, a1", "a0, fa0, fa1", None),
    "x_f": ("", "fa3, a0", "fmv.x.d a0, fa3"),
}


RM_NUM = {"rne": 0, "rtz": 1, "rdn": 2, "rup": 3, "rmm": 4, "dyn": 7}
INSN_ENCODINGS = {
    # mnemonic: (funct7, rs2 selector, rd, rs1)
    "fcvt.d.w": (0x69, "x0", "fa3", "a0"),
    "fcvt.d.wu": (0x69, "x1", "fa3", "a0"),
    "fcvt.d.s": (0x21, "x0", "fa3", "fa0"),
}


def stub_name(op, rm):
    return "fpstub_%s_%s" % (op.name.replace(".", "_"), rm)


def has_rm_operand(op):
    # fcvt.d.s / fcvt.d.w / fcvt.d.wu are exact; gas still accepts an rm.
    return op.rounding


def gen_stubs():
    out = ["/* Generated by gen_fp.py -- do not edit. */",
           "/* Each stub: a0,a1,a2 = operand bit patterns (64-bit register values);",
           " * returns a0 = result (64-bit register value), a1 = fflags. */",
           "\t.text", "\t.option norvc", ""]
    for op in OPS:
        rms = RM_NAMES + ["dyn"] if op.rounding else ["none"]
        for rm in rms:
            name = stub_name(op, rm)
            pre, operands, post = STUB_BODIES[op.kind]
            insn = "%s %s" % (op.asm, operands)
            if op.asm in INSN_ENCODINGS and rm != "none":
                # gas does not take an rm operand for these exact conversions,
                # but the encoding has an rm field: emit it with .insn.
                funct7, rs2, rd, rs1 = INSN_ENCODINGS[op.asm]
                insn = ".insn r 0x53, %d, 0x%x, %s, %s, %s    /* %s ..., %s */" % (
                    RM_NUM[rm], funct7, rd, rs1, rs2, op.asm, rm)
            elif rm != "none":
                insn += ", " + rm
            out.append("\t.globl %s\n\t.type %s, @function\n\t.align 2\n%s:" % (name, name, name))
            if pre:
                out.append("\t" + pre)
            out.append("\tfsflags zero")
            out.append("\t" + insn)
            out.append("\tfrflags a1")
            if post:
                out.append("\t" + post)
            out.append("\tret")
            out.append("\t.size %s, . - %s\n" % (name, name))
    return "\n".join(out) + "\n"


def gen_header():
    out = ["/* Generated by gen_fp.py -- do not edit. */",
           "#ifndef FP_GEN_H", "#define FP_GEN_H", "",
           "struct fpret { uint64_t value; uint64_t flags; };",
           "typedef struct fpret (*fpstub_t)(uint64_t a, uint64_t b, uint64_t c);", ""]
    for op in OPS:
        rms = RM_NAMES + ["dyn"] if op.rounding else ["none"]
        for rm in rms:
            out.append("struct fpret %s(uint64_t, uint64_t, uint64_t);" % stub_name(op, rm))
    out.append("")
    out.append("enum fp_op {")
    for op in OPS:
        out.append("    %s," % op.ident)
    out.append("    FP_NOPS")
    out.append("};")
    out.append("")
    out.append("struct fp_opinfo { const char *name; int rounding; fpstub_t stub[6]; };")
    out.append("static const struct fp_opinfo fp_ops[FP_NOPS] = {")
    for op in OPS:
        if op.rounding:
            stubs = ", ".join(stub_name(op, r) for r in RM_NAMES + ["dyn"])
        else:
            stubs = stub_name(op, "none")
        out.append('    [%s] = { "%s", %d, { %s } },' % (op.ident, op.name, 1 if op.rounding else 0, stubs))
    out.append("};")
    out.append("")
    out.append("/* r[rm] / flags[rm] for rm = RNE..RMM; non-rounding ops use index 0. */")
    out.append("struct fp_case { uint16_t op; uint8_t flags[5]; uint8_t pad;")
    out.append("                 uint64_t a, b, c; uint64_t r[5]; };")
    out.append("static const struct fp_case fp_cases[] = {")
    ncases = 0
    for op in OPS:
        for (a, b, c) in op.cases:
            rs, fls = [], []
            for rm in range(5) if op.rounding else [0]:
                r, fl = op.fn(a, b, c, rm)
                rs.append(r)
                fls.append(fl)
            while len(rs) < 5:
                rs.append(0)
                fls.append(0)
            out.append("    { %s, { %s }, 0, 0x%016xUL, 0x%016xUL, 0x%016xUL,\n      { %s } }," % (
                op.ident, ", ".join("0x%02x" % x for x in fls), a, b, c,
                ", ".join("0x%016xUL" % x for x in rs)))
            ncases += 1
    out.append("};")
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n", ncases


def main():
    fill_cases()
    here = os.path.dirname(os.path.abspath(__file__))
    hdr, n = gen_header()
    with open(os.path.join(here, "fp_gen.h"), "w") as fh:
        fh.write(hdr)
    with open(os.path.join(here, "fp_stubs.S"), "w") as fh:
        fh.write(gen_stubs())
    print("gen_fp.py: %d ops, %d cases" % (len(OPS), n))


if __name__ == "__main__":
    main()
