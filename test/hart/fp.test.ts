/**
 * F / D extensions and their privileged interface (unprivileged spec 20191213 chapters 11-12;
 * privileged spec 1.12 §3.1.6.6 for mstatus.FS / SD).
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, runProgram, a0, a1, a2, t0, s1, zero, CSR, MS, PRV_S, DATA,
  RNE, RTZ, RDN, RUP, RMM, DYN, encFp,
} from './harness.js';

const NV = 16n, DZ = 8n, OF = 4n, UF = 2n, NX = 1n;
const M64 = (1n << 64n) - 1n;
const BOX = 0xffffffff00000000n;
const CANON_S = BOX | 0x7fc00000n;
const CANON_D = 0x7ff8000000000000n;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
/** binary32 bits of x */
const sb = (x: number): bigint => { f32[0] = x; return BigInt(u32[0]!); };
/** binary64 bits of x */
const db = (x: number): bigint => { f64[0] = x; return u64[0]!; };

// f registers
const f0 = 0, f1 = 1, f2 = 2, f3 = 3;

/** M-mode code that sets mstatus.FS to `fs` (0..3). */
const setFs = (fs: bigint) => (a: Asm): void => {
  a.li(t0, MS.FS).csrc(CSR.mstatus, t0);
  if (fs !== 0n) a.li(t0, fs << 13n).csrs(CSR.mstatus, t0);
};
const fsOn = setFs(1n);

/** Run with FS = Initial; `fregs` preloaded as raw 64-bit patterns (NaN-boxing is explicit). */
function fp(body: (a: Asm) => void, fregs: Record<number, bigint> = {}, regs: Record<number, bigint | number> = {}): Sim {
  const sim = new Sim((a) => { fsOn(a); body(a); }, { regs });
  for (const [k, v] of Object.entries(fregs)) sim.setF(Number(k), v);
  sim.run();
  return sim;
}

describe('mstatus.FS = Off makes FP instructions and FP CSRs illegal (§3.1.6.6, §11.1)', () => {
  const insns: [string, (a: Asm) => unknown][] = [
    ['fadd.s', (a) => a.fadd_s(f0, f1, f2)],
    ['fmul.d', (a) => a.fmul_d(f0, f1, f2)],
    ['flw', (a) => a.flw(f0, 0, s1)],
    ['fsd', (a) => a.fsd(f0, 0, s1)],
    ['fmv.x.w', (a) => a.fmv_x_w(a0, f1)],
    ['fmv.w.x', (a) => a.fmv_w_x(f0, a1)],
    ['fcvt.w.s', (a) => a.fcvt_w_s(a0, f1)],
    ['feq.s', (a) => a.feq_s(a0, f1, f2)],
    ['fsgnj.s', (a) => a.fsgnj_s(f0, f1, f1)],
    ['csrr fcsr', (a) => a.csrr(a0, CSR.fcsr)],
    ['csrr frm', (a) => a.csrr(a0, CSR.frm)],
    ['csrw fflags', (a) => a.csrw(CSR.fflags, zero)],
    ['csrrsi fflags, 0 (read only)', (a) => a.csrrsi(a0, CSR.fflags, 0)],
  ];
  it.each(insns)('%s traps with cause 2 and mtval = instruction', (_n, emit) => {
    const sim = runProgram((a) => { setFs(0n)(a); a.label('i'); emit(a); }, { regs: { [s1]: DATA } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('i')));
    const bits = new Asm(0);
    emit(bits);
    expect(sim.csr(CSR.mtval)).toBe(BigInt(new DataView(bits.assemble().buffer).getUint32(0, true)));
  });

  it('FS = Off in S-mode too (fadd.s from S traps to M)', () => {
    const sim = runProgram((a) => { setFs(0n)(a); a.enter(PRV_S, 'low').label('low').fadd_s(f0, f1, f2); });
    expect(sim.lastTrap).toMatchObject({ cause: 2, from: PRV_S });
  });

  it('FS = Initial or Clean allows FP instructions', () => {
    for (const fs of [1n, 2n]) {
      const sim = runProgram((a) => { setFs(fs)(a); a.fadd_s(f0, f1, f2).csrr(a0, CSR.fcsr); });
      expect(sim.traps, `FS=${fs}`).toEqual([]);
    }
  });
});

describe('FS becomes Dirty when FP state changes; SD summarizes it (§3.1.6.6)', () => {
  it.each([
    ['fmv.w.x writes an f register', (a: Asm) => a.fmv_w_x(f0, a1)],
    ['flw writes an f register', (a: Asm) => a.flw(f0, 0, s1)],
    ['fadd.d writes an f register', (a: Asm) => a.fadd_d(f0, f1, f2)],
    ['csrw fcsr', (a: Asm) => a.csrw(CSR.fcsr, zero)],
    ['csrw frm', (a: Asm) => a.csrwi(CSR.frm, 1)],
    ['fcvt.w.s raising NV (fflags change only)', (a: Asm) => a.li(t0, sb(NaN)).fmv_w_x(f1, t0).li(t0, MS.FS).csrc(CSR.mstatus, t0).li(t0, MS.FS_CLEAN).csrs(CSR.mstatus, t0).fcvt_w_s(a0, f1)],
  ])('%s: FS Clean -> Dirty, SD = 1 in mstatus and sstatus', (_n, emit) => {
    const sim = runProgram((a) => {
      setFs(2n)(a);
      a.csrr(a2, CSR.mstatus);
      emit(a);
      a.csrr(a0, CSR.mstatus).csrr(a1, CSR.sstatus);
    }, { regs: { [s1]: DATA } });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a2) & MS.SD).toBe(0n); // Clean: SD = 0
    expect(sim.x(a0) & MS.FS).toBe(MS.FS_DIRTY);
    expect(sim.x(a0) & MS.SD).toBe(MS.SD);
    expect(sim.x(a1) & MS.SD).toBe(MS.SD);
    expect(sim.x(a1) & MS.FS).toBe(MS.FS_DIRTY);
  });

  it('writing FS = Dirty sets SD; writing FS = Clean clears it', () => {
    const sim = runProgram((a) => {
      setFs(3n)(a);
      a.csrr(a0, CSR.mstatus);
      setFs(2n)(a);
      a.csrr(a1, CSR.mstatus);
    });
    expect(sim.x(a0) & MS.SD).toBe(MS.SD);
    expect(sim.x(a1) & MS.SD).toBe(0n);
  });
});

describe('NaN-boxing of single-precision values (§12.2)', () => {
  it('fadd.s of a register that is not NaN-boxed sees the canonical NaN', () => {
    const sim = fp((a) => { a.fadd_s(f2, f1, f1, RNE).csrr(a0, CSR.fflags); }, { [f1]: sb(1) });
    expect(sim.f(f2)).toBe(CANON_S);
    expect(sim.x(a0)).toBe(0n); // a quiet NaN input raises nothing
  });

  it('fadd.s of properly boxed values computes and NaN-boxes the result', () => {
    const sim = fp((a) => { a.fadd_s(f2, f1, f1, RNE); }, { [f1]: BOX | sb(1) });
    expect(sim.f(f2)).toBe(BOX | sb(2));
  });

  it('a partly boxed value (upper bits not all ones) is also the canonical NaN', () => {
    const sim = fp((a) => { a.fmul_s(f2, f1, f1, RNE); }, { [f1]: 0xfffffffe00000000n | sb(3) });
    expect(sim.f(f2)).toBe(CANON_S);
  });

  it('fsgnj.s and fcvt.d.s check boxing too', () => {
    const sim = fp((a) => { a.fsgnjn_s(f2, f1, f1).fcvt_d_s(f3, f1); }, { [f1]: sb(-1) });
    expect(sim.f(f2) & 0xffffffff_7fffffffn).toBe(CANON_S); // canonical NaN (sign from the NaN rs2, negated)
    expect(sim.f(f3)).toBe(CANON_D);
  });

  it('fmv.x.w, fsw and fmv.w.x/flw are transfers: no boxing check, and writes box', () => {
    const sim = fp((a) => {
      a.fmv_x_w(a0, f1); // low 32 bits, sign-extended, regardless of boxing
      a.fsw(f1, 0, s1);
      a.li(t0, 0x12345678).fmv_w_x(f2, t0);
      a.flw(f3, 0, s1);
    }, { [f1]: 0x00000000_80000001n }, { [s1]: DATA });
    expect(sim.x(a0)).toBe(0xffffffff80000001n);
    expect(sim.read32(DATA)).toBe(0x80000001);
    expect(sim.f(f2)).toBe(BOX | 0x12345678n);
    expect(sim.f(f3)).toBe(BOX | 0x80000001n);
  });

  it('fmv.x.w sign-extends bit 31; positive values are zero-extended', () => {
    const sim = fp((a) => { a.fmv_x_w(a0, f1).fmv_x_w(a1, f2); }, { [f1]: BOX | 0x80000000n, [f2]: BOX | 0x7fffffffn });
    expect(sim.x(a0)).toBe(0xffffffff80000000n);
    expect(sim.x(a1)).toBe(0x7fffffffn);
  });
});

describe('rounding modes (§11.2)', () => {
  const word = (w: number) => (a: Asm): void => { a.word(w); };

  it.each([5, 6])('static rm = %i (reserved) is illegal', (rm) => {
    const w = encFp(0x00, 0, f0, f1, f2, rm);
    const sim = fp((a) => { a.label('i'); word(w)(a); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mtval)).toBe(BigInt(w));
  });

  it.each([5, 6, 7])('dynamic rm with frm = %i is illegal', (frm) => {
    const sim = fp((a) => { a.csrwi(CSR.frm, frm).fadd_s(f0, f1, f2, DYN); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
  });

  it('frm holds reserved values; they only matter when an instruction uses dyn', () => {
    const sim = fp((a) => {
      a.csrwi(CSR.frm, 7).csrr(a0, CSR.frm);
      a.fadd_s(f0, f1, f2, RNE); // static rm: legal
      a.fsgnj_s(f0, f1, f2).fmin_s(f0, f1, f2); // no rm field: legal
      a.fcvt_w_s(a1, f1, RTZ);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(7n);
  });

  it.each([
    ['RNE', RNE, 2n, -2n],
    ['RTZ', RTZ, 1n, -1n],
    ['RDN', RDN, 1n, -2n],
    ['RUP', RUP, 2n, -1n],
    ['RMM', RMM, 2n, -2n],
  ])('fcvt.w.s of +/-1.5 with %s', (_n, rm, pos, neg) => {
    const sim = fp((a) => { a.fcvt_w_s(a0, f1, rm).fcvt_w_s(a1, f2, rm).csrr(a2, CSR.fflags); }, { [f1]: BOX | sb(1.5), [f2]: BOX | sb(-1.5) });
    expect(sim.xs(a0)).toBe(pos);
    expect(sim.xs(a1)).toBe(neg);
    expect(sim.x(a2)).toBe(NX);
  });

  it('dynamic rm uses frm', () => {
    const sim = fp((a) => { a.csrwi(CSR.frm, RUP).fcvt_w_s(a0, f1, DYN); }, { [f1]: BOX | sb(1.25) });
    expect(sim.x(a0)).toBe(2n);
  });

  it('fcsr = frm << 5 | fflags; bits above 7 read as zero', () => {
    const sim = fp((a) => {
      a.li(t0, 0xfff).csrw(CSR.fcsr, t0);
      a.csrr(a0, CSR.fcsr).csrr(a1, CSR.frm).csrr(a2, CSR.fflags);
    });
    expect(sim.x(a0)).toBe(0xffn);
    expect(sim.x(a1)).toBe(7n);
    expect(sim.x(a2)).toBe(0x1fn);
  });
});

describe('accrued exception flags (§11.2)', () => {
  it('flags accumulate across instructions and are never cleared by arithmetic', () => {
    const sim = fp((a) => {
      a.csrw(CSR.fflags, zero);
      a.fdiv_s(f3, f1, f0, RNE); // 1/0: DZ
      a.csrr(a0, CSR.fflags);
      a.fdiv_s(f3, f0, f0, RNE); // 0/0: NV
      a.csrr(a1, CSR.fflags);
      a.fdiv_s(f3, f1, f2, RNE); // 1/3: NX
      a.fadd_s(f3, f1, f1, RNE); // exact: no new flag
      a.csrr(a2, CSR.fflags);
    }, { [f0]: BOX | sb(0), [f1]: BOX | sb(1), [f2]: BOX | sb(3) });
    expect(sim.x(a0)).toBe(DZ);
    expect(sim.x(a1)).toBe(DZ | NV);
    expect(sim.x(a2)).toBe(DZ | NV | NX);
  });

  it('overflow raises OF and NX; csrrw fflags returns and clears them', () => {
    const sim = fp((a) => {
      a.fmul_s(f3, f1, f1, RNE);
      a.csrrw(a0, CSR.fflags, zero);
      a.csrr(a1, CSR.fflags);
    }, { [f1]: BOX | sb(3e38) });
    expect(sim.f(f3)).toBe(BOX | sb(Infinity));
    expect(sim.x(a0)).toBe(OF | NX);
    expect(sim.x(a1)).toBe(0n);
  });

  it('underflow: a tiny inexact result raises UF and NX', () => {
    const sim = fp((a) => { a.fmul_s(f3, f1, f1, RNE).csrr(a0, CSR.fflags); }, { [f1]: BOX | sb(1e-30) });
    expect(sim.x(a0)).toBe(UF | NX);
  });

  it('a signaling NaN input raises NV; the result is the canonical NaN', () => {
    const sim = fp((a) => { a.fadd_s(f3, f1, f2, RNE).csrr(a0, CSR.fflags); }, { [f1]: BOX | 0x7f800001n, [f2]: BOX | sb(1) });
    expect(sim.f(f3)).toBe(CANON_S);
    expect(sim.x(a0)).toBe(NV);
  });

  it('feq.s of a quiet NaN raises nothing; flt.s of a quiet NaN raises NV', () => {
    const sim = fp((a) => {
      a.feq_s(a0, f1, f2).csrr(a1, CSR.fflags);
      a.flt_s(a2, f1, f2).csrr(t0, CSR.fflags);
    }, { [f1]: CANON_S, [f2]: BOX | sb(1) });
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a1)).toBe(0n);
    expect(sim.x(a2)).toBe(0n);
    expect(sim.x(t0)).toBe(NV);
  });
});

describe('fcvt saturation (§11.7, Table 11.4)', () => {
  it.each([
    ['fcvt.w.s 3e9', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(3e9), 0x7fffffffn, NV],
    ['fcvt.w.s -3e9', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(-3e9), 0xffffffff80000000n, NV],
    ['fcvt.w.s +inf', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(Infinity), 0x7fffffffn, NV],
    ['fcvt.w.s -inf', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(-Infinity), 0xffffffff80000000n, NV],
    ['fcvt.w.s NaN', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), 0x7fc00000n, 0x7fffffffn, NV],
    ['fcvt.w.s -NaN (sign ignored)', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), 0xffc00000n, 0x7fffffffn, NV],
    ['fcvt.w.s -2^31 is exact', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(-2147483648), 0xffffffff80000000n, 0n],
    ['fcvt.w.s -1.0 sign-extends', (a: Asm) => a.fcvt_w_s(a0, f1, RTZ), sb(-1), M64, 0n],
    ['fcvt.wu.s -1.0', (a: Asm) => a.fcvt_wu_s(a0, f1, RTZ), sb(-1), 0n, NV],
    ['fcvt.wu.s -0.5 RTZ (rounds to 0: valid)', (a: Asm) => a.fcvt_wu_s(a0, f1, RTZ), sb(-0.5), 0n, NX],
    ['fcvt.wu.s NaN', (a: Asm) => a.fcvt_wu_s(a0, f1, RTZ), 0x7fc00000n, M64, NV],
    ['fcvt.wu.s 3e9 (fits, result sign-extended from bit 31)', (a: Asm) => a.fcvt_wu_s(a0, f1, RTZ), sb(3e9), 0xffffffffb2d05e00n, 0n],
    ['fcvt.l.s 2^63', (a: Asm) => a.fcvt_l_s(a0, f1, RTZ), sb(2 ** 63), 0x7fffffffffffffffn, NV],
    ['fcvt.l.s -inf', (a: Asm) => a.fcvt_l_s(a0, f1, RTZ), sb(-Infinity), 0x8000000000000000n, NV],
  ])('%s', (_n, emit, bits, exp, flags) => {
    const sim = fp((a) => { emit(a); a.csrr(a1, CSR.fflags); }, { [f1]: BOX | bits });
    expect(sim.x(a0)).toBe(exp);
    expect(sim.x(a1)).toBe(flags);
  });

  it('fcvt.w.d: rounding happens before the range check', () => {
    const sim = fp((a) => {
      a.fcvt_w_d(a0, f1, RTZ).csrrw(a1, CSR.fflags, zero);
      a.fcvt_w_d(a2, f1, RNE).csrr(t0, CSR.fflags);
    }, { [f1]: db(2147483647.5) });
    expect(sim.x(a0)).toBe(0x7fffffffn);
    expect(sim.x(a1)).toBe(NX);
    expect(sim.x(a2)).toBe(0x7fffffffn);
    expect(sim.x(t0)).toBe(NV); // 2^31 after rounding: out of range -> NV only
  });
});

describe('fmin/fmax, fclass, fsqrt (§11.6, §11.9)', () => {
  it.each([
    ['fmin.s(+0, -0) = -0', 'min', sb(0), sb(-0), sb(-0), 0n],
    ['fmax.s(-0, +0) = +0', 'max', sb(-0), sb(0), sb(0), 0n],
    ['fmin.s(qNaN, 1) = 1, no flags', 'min', 0x7fc00000n, sb(1), sb(1), 0n],
    ['fmax.s(1, sNaN) = 1 with NV', 'max', sb(1), 0x7f800001n, sb(1), NV],
    ['fmin.s(qNaN, qNaN) = canonical NaN', 'min', 0x7fc00001n, 0xffc00000n, 0x7fc00000n, 0n],
  ])('%s', (_n, op, x, y, exp, flags) => {
    const sim = fp((a) => {
      if (op === 'min') a.fmin_s(f3, f1, f2); else a.fmax_s(f3, f1, f2);
      a.csrr(a0, CSR.fflags);
    }, { [f1]: BOX | x, [f2]: BOX | y });
    expect(sim.f(f3)).toBe(BOX | exp);
    expect(sim.x(a0)).toBe(flags);
  });

  it.each([
    ['-inf', sb(-Infinity), 0], ['-normal', sb(-1), 1], ['-subnormal', 0x80000001n, 2], ['-0', sb(-0), 3],
    ['+0', sb(0), 4], ['+subnormal', 0x00000001n, 5], ['+normal', sb(1), 6], ['+inf', sb(Infinity), 7],
    ['sNaN', 0x7f800001n, 8], ['qNaN', 0x7fc00000n, 9],
  ])('fclass.s %s sets bit %i', (_n, bits, b) => {
    const sim = fp((a) => { a.fclass_s(a0, f1); }, { [f1]: BOX | bits });
    expect(sim.x(a0)).toBe(1n << BigInt(b));
  });

  it('fclass.s of a non-boxed value is a quiet NaN', () => {
    const sim = fp((a) => { a.fclass_s(a0, f1); }, { [f1]: sb(-1) });
    expect(sim.x(a0)).toBe(1n << 9n);
  });

  it('fsqrt.s of a negative number: canonical NaN and NV; of -0: -0', () => {
    const sim = fp((a) => { a.fsqrt_s(f3, f1, RNE).csrrw(a0, CSR.fflags, zero).fsqrt_s(f0, f2, RNE).csrr(a1, CSR.fflags); },
      { [f1]: BOX | sb(-4), [f2]: BOX | sb(-0) });
    expect(sim.f(f3)).toBe(CANON_S);
    expect(sim.x(a0)).toBe(NV);
    expect(sim.f(f0)).toBe(BOX | sb(-0));
    expect(sim.x(a1)).toBe(0n);
  });

  it('fdiv.d 1/3 rounds per rm (RDN vs RUP differ by one ulp)', () => {
    const sim = fp((a) => { a.fdiv_d(f3, f1, f2, RDN).fdiv_d(f0, f1, f2, RUP); }, { [f1]: db(1), [f2]: db(3) });
    expect(sim.f(f0) - sim.f(f3)).toBe(1n);
  });
});

describe('FP loads/stores and D moves', () => {
  it('fld/fsd move raw bits (signaling NaNs are not quieted)', () => {
    const sim = new Sim((a) => { fsOn(a); a.fld(f1, 0, s1).fsd(f1, 8, s1).fmv_x_d(a0, f1); }, { regs: { [s1]: DATA } });
    sim.write64(DATA, 0x7ff0000000000001n);
    sim.run();
    expect(sim.read64(DATA + 8)).toBe(0x7ff0000000000001n);
    expect(sim.x(a0)).toBe(0x7ff0000000000001n);
  });

  it('fmv.d.x / fmv.x.d round-trip all 64 bits', () => {
    const sim = fp((a) => { a.li(t0, 0xfff0000000000123n).fmv_d_x(f1, t0).fmv_x_d(a0, f1); });
    expect(sim.x(a0)).toBe(0xfff0000000000123n);
  });

  it('fcvt.s.w / fmadd.s produce boxed results', () => {
    const sim = fp((a) => {
      a.li(t0, -3).fcvt_s_w(f1, t0, RNE);
      a.fmadd_s(f2, f1, f1, f1, RNE); // -3*-3 + -3 = 6
    });
    expect(sim.f(f1)).toBe(BOX | sb(-3));
    expect(sim.f(f2)).toBe(BOX | sb(6));
  });
});

