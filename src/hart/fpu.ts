/**
 * F and D instruction execution (unprivileged spec chapters 11-12). Each operation's body is
 * its entry in the instruction table (src/isa/insns.ts), generated into execFp's switch;
 * arithmetic with exact rounding modes and flags lives in isa/softfloat.ts. This file does the
 * checks every F/D instruction makes (mstatus.FS, the rounding mode) and the flag accumulation.
 */
import { eaHi, type Hart } from './hart.js';
import { Op, OP_FLAGS } from '../isa/decode.js';
import { F_RM } from '../isa/insns.js';
import * as SF from '../isa/softfloat.js';

const scratch = new ArrayBuffer(8);
const s32f = new Float32Array(scratch, 0, 1);
const s32i = new Int32Array(scratch, 0, 1);

const CANON_NAN_F32 = 0x7fc00000;

/** float32 bits -> JS number. */
function f32FromBits(b: number): number {
  s32i[0] = b;
  return s32f[0]!;
}
/** JS number (a float32 value) -> float32 bits; NaN becomes the canonical NaN. */
function f32ToBits(v: number): number {
  if (v !== v) return CANON_NAN_F32;
  s32f[0] = v;
  return s32i[0]!;
}
function isSNaN64(hi: number, lo: number): boolean {
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x7ffff) | lo) !== 0;
}
function isSNaN32(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 && (b & 0x400000) === 0;
}
/**
 * The helpers F/D bodies call as `FP.name` (src/isa/insns.ts): execFp calls them directly, a
 * translated block gets this object (a plain object with constant properties: cheaper to load
 * from than a module namespace).
 */
export const FP_HELPERS = Object.freeze({ f32FromBits, f32ToBits, isSNaN32, isSNaN64 });

/** Ops that carry a rounding-mode field (reserved values are illegal, §11.2): F_RM in the table. */
export function hasRm(op: number): boolean {
  return (OP_FLAGS[op]! & F_RM) !== 0;
}

export function execFp(h: Hart, op: number, ins: number, raw: number, rd: number, rs1: number, rs2: number, imm: number): void {
  if (!h.fpOn()) h.illegal(raw);
  let rm = 0;
  if (hasRm(op)) {
    rm = (ins >>> 12) & 7;
    if (rm === 7) rm = h.frm;
    if (rm > 4) h.illegal(raw);
  }
  const f = h.f, fi = h.fi, xi = h.xi, x = h.x, fx = h.fpx;
  const rs3 = (ins >>> 27) & 31;

  switch (op) {
    // The operations' bodies are the instruction table's (src/isa/insns.ts); a translated block
    // expands the same bodies (hart/jit.ts).
    // ---- BEGIN GENERATED: F/D operations of src/isa/insns.ts (scripts/gen-insns.mjs; do not edit) ----
    case Op.FLW: { const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.loadOffset(lo, hi, 4), dv = h.bus.dv; fi[rd * 2] = dv.getInt32(o, true); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSW: { const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.storeOffset(lo, hi, 4), dv = h.bus.dv; if (o >= 0) { dv.setInt32(o, fi[rs2 * 2]!, true); } else h.storeSlow(lo, hi, 4, BigInt(fi[rs2 * 2]! >>> 0)); break; }
    case Op.FLD: { const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.loadOffset(lo, hi, 8), dv = h.bus.dv; fi[rd * 2] = dv.getInt32(o, true); fi[rd * 2 + 1] = dv.getInt32(o + 4, true); h.markFsDirty(); break; }
    case Op.FSD: { const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.storeOffset(lo, hi, 8), dv = h.bus.dv; if (o >= 0) { dv.setInt32(o, fi[rs2 * 2]!, true); dv.setInt32(o + 4, fi[rs2 * 2 + 1]!, true); } else h.storeSlow(lo, hi, 8, BigInt.asUintN(64, h.fb[rs2]!)); break; }
    case Op.FMADD_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, f32FromBits(a), f32FromBits(b), f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMSUB_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, f32FromBits(a), f32FromBits(b), -f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FNMSUB_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, -f32FromBits(a), f32FromBits(b), f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FNMADD_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, -f32FromBits(a), f32FromBits(b), -f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FADD_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Add(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSUB_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Sub(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMUL_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Mul(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FDIV_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Div(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSQRT_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Sqrt(fx, f32FromBits(a), rm, isSNaN32(a))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSGNJ_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSGNJN_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((~b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FSGNJX_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((a ^ b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMIN_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.fMin(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMAX_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.fMax(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FCVT_W_S: { const v = SF.fToI32(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
    case Op.FCVT_WU_S: { const v = SF.fToU32(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
    case Op.FMV_X_W: { const v = fi[rs1 * 2]!; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
    case Op.FEQ_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fEq(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; break; }
    case Op.FLT_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fLt(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; break; }
    case Op.FLE_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fLe(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; break; }
    case Op.FCLASS_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); x[rd] = BigInt(SF.fClass32(f32FromBits(a), isSNaN32(a))); break; }
    case Op.FCVT_S_W: { fi[rd * 2] = f32ToBits(SF.i32ToF32(fx, xi[rs1 * 2]!, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FCVT_S_WU: { fi[rd * 2] = f32ToBits(SF.u32ToF32(fx, xi[rs1 * 2]! >>> 0, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMV_W_X: { fi[rd * 2] = xi[rs1 * 2]!; fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FCVT_L_S: { x[rd] = SF.fToI64(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); break; }
    case Op.FCVT_LU_S: { x[rd] = BigInt.asIntN(64, SF.fToU64(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm)); break; }
    case Op.FCVT_S_L: { fi[rd * 2] = f32ToBits(SF.i64ToF32(fx, x[rs1]!, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FCVT_S_LU: { fi[rd * 2] = f32ToBits(SF.u64ToF32(fx, BigInt.asUintN(64, x[rs1]!), rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FMADD_D: { const r_ = SF.f64Fma(fx, f[rs1]!, f[rs2]!, f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FMSUB_D: { const r_ = SF.f64Fma(fx, f[rs1]!, f[rs2]!, -f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FNMSUB_D: { const r_ = SF.f64Fma(fx, -f[rs1]!, f[rs2]!, f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FNMADD_D: { const r_ = SF.f64Fma(fx, -f[rs1]!, f[rs2]!, -f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FADD_D: { const r_ = SF.f64Add(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FSUB_D: { const r_ = SF.f64Sub(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FMUL_D: { const r_ = SF.f64Mul(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FDIV_D: { const r_ = SF.f64Div(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FSQRT_D: { const r_ = SF.f64Sqrt(fx, f[rs1]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FSGNJ_D: { const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((b) & 0x80000000); h.markFsDirty(); break; }
    case Op.FSGNJN_D: { const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((~b) & 0x80000000); h.markFsDirty(); break; }
    case Op.FSGNJX_D: { const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((a ^ b) & 0x80000000); h.markFsDirty(); break; }
    case Op.FMIN_D: { const r_ = SF.fMin(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FMAX_D: { const r_ = SF.fMax(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FCVT_S_D: { fi[rd * 2] = f32ToBits(SF.f64ToF32(fx, f[rs1]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0))); fi[rd * 2 + 1] = -1; h.markFsDirty(); break; }
    case Op.FCVT_D_S: { const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); const r_ = SF.f32ToF64(fx, f32FromBits(a), isSNaN32(a)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FEQ_D: { x[rd] = SF.fEq(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; break; }
    case Op.FLT_D: { x[rd] = SF.fLt(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; break; }
    case Op.FLE_D: { x[rd] = SF.fLe(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; break; }
    case Op.FCLASS_D: { x[rd] = BigInt(SF.fClass64(f[rs1]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0))); break; }
    case Op.FCVT_W_D: { const v = SF.fToI32(fx, f[rs1]!, rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
    case Op.FCVT_WU_D: { const v = SF.fToU32(fx, f[rs1]!, rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; break; }
    case Op.FCVT_D_W: { const r_ = xi[rs1 * 2]!; if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FCVT_D_WU: { const r_ = xi[rs1 * 2]! >>> 0; if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FCVT_L_D: { x[rd] = SF.fToI64(fx, f[rs1]!, rm); break; }
    case Op.FCVT_LU_D: { x[rd] = BigInt.asIntN(64, SF.fToU64(fx, f[rs1]!, rm)); break; }
    case Op.FMV_X_D: { xi[rd * 2] = fi[rs1 * 2]!; xi[rd * 2 + 1] = fi[rs1 * 2 + 1]!; break; }
    case Op.FCVT_D_L: { const r_ = SF.i64ToF64(fx, x[rs1]!, rm); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FCVT_D_LU: { const r_ = SF.u64ToF64(fx, BigInt.asUintN(64, x[rs1]!), rm); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); break; }
    case Op.FMV_D_X: { fi[rd * 2] = xi[rs1 * 2]!; fi[rd * 2 + 1] = xi[rs1 * 2 + 1]!; h.markFsDirty(); break; }
    // ---- END GENERATED ----
    default:
      h.illegal(raw);
  }
  // What softfloat raised (into the hart's accumulator) accrues in fflags (§11.2).
  const fl = fx.flags;
  if (fl !== 0) {
    fx.flags = 0;
    h.fflags |= fl;
    h.markFsDirty();
  }
}

