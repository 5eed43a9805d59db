/**
 * F and D instruction execution (unprivileged spec chapters 11-12). Arithmetic with exact
 * rounding modes and flags lives in isa/softfloat.ts; this file does register access,
 * NaN-boxing (§12.2), rounding-mode selection and mstatus.FS handling.
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
function isSNaN32(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 && (b & 0x400000) === 0;
}
function isSNaN64(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0 && (hi & 0x80000) === 0;
}

// Register helpers (module-level: closures per instruction would be garbage for the GC).
/** Single-precision operand: a value not NaN-boxed reads as the canonical NaN (§12.2). */
function b32(fi: Int32Array, r: number): number {
  return fi[r * 2 + 1] === -1 ? fi[r * 2]! : CANON_NAN_F32;
}
function set32(h: Hart, r: number, v: number): void {
  h.fi[r * 2] = f32ToBits(v);
  h.fi[r * 2 + 1] = -1;
  h.markFsDirty();
}
function set32bits(h: Hart, r: number, b: number): void {
  h.fi[r * 2] = b;
  h.fi[r * 2 + 1] = -1;
  h.markFsDirty();
}
function set64(h: Hart, r: number, v: number): void {
  if (v !== v) {
    h.fi[r * 2] = 0;
    h.fi[r * 2 + 1] = 0x7ff80000;
  } else {
    h.f[r] = v;
  }
  h.markFsDirty();
}
function sn64(fi: Int32Array, r: number): boolean {
  return isSNaN64(fi[r * 2 + 1]!, fi[r * 2]!);
}
function setX32(xi: Int32Array, rd: number, v: number): void {
  xi[rd * 2] = v;
  xi[rd * 2 + 1] = v >> 31;
}

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
  const f = h.f, fi = h.fi, xi = h.xi, x = h.x;
  const rs3 = (ins >>> 27) & 31;

  switch (op) {
    // ---- loads / stores (no NaN-box check on store: raw bits move, §11.5) ----
    case Op.FLW: {
      const lo = (xi[rs1 * 2]! + imm) | 0;
      const o = h.loadOffset(lo, eaHi(xi, rs1, imm, lo), 4);
      set32bits(h, rd, o >= 0 ? h.bus.dv.getInt32(o, true) : Number(BigInt.asIntN(32, h.slowVal)));
      break;
    }
    case Op.FLD: {
      const lo = (xi[rs1 * 2]! + imm) | 0;
      const o = h.loadOffset(lo, eaHi(xi, rs1, imm, lo), 8);
      if (o >= 0) { fi[rd * 2] = h.bus.dv.getInt32(o, true); fi[rd * 2 + 1] = h.bus.dv.getInt32(o + 4, true); }
      else h.fb[rd] = BigInt.asIntN(64, h.slowVal);
      h.markFsDirty();
      break;
    }
    case Op.FSW: {
      const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo);
      const o = h.storeOffset(lo, hi, 4);
      if (o >= 0) h.bus.dv.setInt32(o, fi[rs2 * 2]!, true);
      else h.storeSlow(lo, hi, 4, BigInt(fi[rs2 * 2]! >>> 0));
      break;
    }
    case Op.FSD: {
      const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo);
      const o = h.storeOffset(lo, hi, 8);
      if (o >= 0) { h.bus.dv.setInt32(o, fi[rs2 * 2]!, true); h.bus.dv.setInt32(o + 4, fi[rs2 * 2 + 1]!, true); }
      else h.storeSlow(lo, hi, 8, BigInt.asUintN(64, h.fb[rs2]!));
      break;
    }

    // ---- single precision arithmetic ----
    case Op.FADD_S: case Op.FSUB_S: case Op.FMUL_S: case Op.FDIV_S: {
      const ab = b32(fi, rs1), bb = b32(fi, rs2);
      const a = f32FromBits(ab), b = f32FromBits(bb), sn = isSNaN32(ab) || isSNaN32(bb);
      const r = op === Op.FADD_S ? SF.f32Add(a, b, rm, sn) : op === Op.FSUB_S ? SF.f32Sub(a, b, rm, sn)
        : op === Op.FMUL_S ? SF.f32Mul(a, b, rm, sn) : SF.f32Div(a, b, rm, sn);
      set32(h, rd, r);
      break;
    }
    case Op.FSQRT_S: { const ab = b32(fi, rs1); set32(h, rd, SF.f32Sqrt(f32FromBits(ab), rm, isSNaN32(ab))); break; }
    case Op.FMADD_S: case Op.FMSUB_S: case Op.FNMSUB_S: case Op.FNMADD_S: {
      const ab = b32(fi, rs1), bb = b32(fi, rs2), cb = b32(fi, rs3);
      let a = f32FromBits(ab), c = f32FromBits(cb);
      const b = f32FromBits(bb);
      const sn = isSNaN32(ab) || isSNaN32(bb) || isSNaN32(cb);
      if (op === Op.FNMSUB_S || op === Op.FNMADD_S) a = -a;
      if (op === Op.FMSUB_S || op === Op.FNMADD_S) c = -c;
      set32(h, rd, SF.f32Fma(a, b, c, rm, sn));
      break;
    }
    case Op.FSGNJ_S: case Op.FSGNJN_S: case Op.FSGNJX_S: {
      const ab = b32(fi, rs1), bb = b32(fi, rs2);
      const sb = op === Op.FSGNJ_S ? bb : op === Op.FSGNJN_S ? ~bb : ab ^ bb;
      set32bits(h, rd, (ab & 0x7fffffff) | (sb & 0x80000000));
      break;
    }
    case Op.FMIN_S: case Op.FMAX_S: {
      const ab = b32(fi, rs1), bb = b32(fi, rs2);
      const a = f32FromBits(ab), b = f32FromBits(bb), sn = isSNaN32(ab) || isSNaN32(bb);
      set32(h, rd, op === Op.FMIN_S ? SF.fMin(a, b, sn) : SF.fMax(a, b, sn));
      break;
    }
    case Op.FEQ_S: case Op.FLT_S: case Op.FLE_S: {
      const ab = b32(fi, rs1), bb = b32(fi, rs2);
      const a = f32FromBits(ab), b = f32FromBits(bb), sn = isSNaN32(ab) || isSNaN32(bb);
      const r = op === Op.FEQ_S ? SF.fEq(a, b, sn) : op === Op.FLT_S ? SF.fLt(a, b, sn) : SF.fLe(a, b, sn);
      x[rd] = r ? 1n : 0n;
      break;
    }
    case Op.FCLASS_S: { const ab = b32(fi, rs1); x[rd] = BigInt(SF.fClass32(f32FromBits(ab), isSNaN32(ab))); break; }
    case Op.FMV_X_W: setX32(xi, rd, fi[rs1 * 2]!); break;
    case Op.FMV_W_X: set32bits(h, rd, xi[rs1 * 2]!); break;
    case Op.FCVT_W_S: setX32(xi, rd, SF.fToI32(f32FromBits(b32(fi, rs1)), rm)); break;
    case Op.FCVT_WU_S: setX32(xi, rd, SF.fToU32(f32FromBits(b32(fi, rs1)), rm)); break;
    case Op.FCVT_L_S: x[rd] = SF.fToI64(f32FromBits(b32(fi, rs1)), rm); break;
    case Op.FCVT_LU_S: x[rd] = BigInt.asIntN(64, SF.fToU64(f32FromBits(b32(fi, rs1)), rm)); break;
    case Op.FCVT_S_W: set32(h, rd, SF.i32ToF32(xi[rs1 * 2]!, rm)); break;
    case Op.FCVT_S_WU: set32(h, rd, SF.u32ToF32(xi[rs1 * 2]! >>> 0, rm)); break;
    case Op.FCVT_S_L: set32(h, rd, SF.i64ToF32(x[rs1]!, rm)); break;
    case Op.FCVT_S_LU: set32(h, rd, SF.u64ToF32(BigInt.asUintN(64, x[rs1]!), rm)); break;

    // ---- double precision ----
    case Op.FADD_D: case Op.FSUB_D: case Op.FMUL_D: case Op.FDIV_D: {
      const a = f[rs1]!, b = f[rs2]!, sn = sn64(fi, rs1) || sn64(fi, rs2);
      const r = op === Op.FADD_D ? SF.f64Add(a, b, rm, sn) : op === Op.FSUB_D ? SF.f64Sub(a, b, rm, sn)
        : op === Op.FMUL_D ? SF.f64Mul(a, b, rm, sn) : SF.f64Div(a, b, rm, sn);
      set64(h, rd, r);
      break;
    }
    case Op.FSQRT_D: set64(h, rd, SF.f64Sqrt(f[rs1]!, rm, sn64(fi, rs1))); break;
    case Op.FMADD_D: case Op.FMSUB_D: case Op.FNMSUB_D: case Op.FNMADD_D: {
      let a = f[rs1]!, c = f[rs3]!;
      const b = f[rs2]!;
      const sn = sn64(fi, rs1) || sn64(fi, rs2) || sn64(fi, rs3);
      if (op === Op.FNMSUB_D || op === Op.FNMADD_D) a = -a;
      if (op === Op.FMSUB_D || op === Op.FNMADD_D) c = -c;
      set64(h, rd, SF.f64Fma(a, b, c, rm, sn));
      break;
    }
    case Op.FSGNJ_D: case Op.FSGNJN_D: case Op.FSGNJX_D: {
      const ah = fi[rs1 * 2 + 1]!, bh = fi[rs2 * 2 + 1]!;
      const sb = op === Op.FSGNJ_D ? bh : op === Op.FSGNJN_D ? ~bh : ah ^ bh;
      const lo = fi[rs1 * 2]!;
      fi[rd * 2] = lo;
      fi[rd * 2 + 1] = (ah & 0x7fffffff) | (sb & 0x80000000);
      h.markFsDirty();
      break;
    }
    case Op.FMIN_D: case Op.FMAX_D: {
      const a = f[rs1]!, b = f[rs2]!, sn = sn64(fi, rs1) || sn64(fi, rs2);
      set64(h, rd, op === Op.FMIN_D ? SF.fMin(a, b, sn) : SF.fMax(a, b, sn));
      break;
    }
    case Op.FEQ_D: case Op.FLT_D: case Op.FLE_D: {
      const a = f[rs1]!, b = f[rs2]!, sn = sn64(fi, rs1) || sn64(fi, rs2);
      const r = op === Op.FEQ_D ? SF.fEq(a, b, sn) : op === Op.FLT_D ? SF.fLt(a, b, sn) : SF.fLe(a, b, sn);
      x[rd] = r ? 1n : 0n;
      break;
    }
    case Op.FCLASS_D: x[rd] = BigInt(SF.fClass64(f[rs1]!, sn64(fi, rs1))); break;
    case Op.FCVT_S_D: set32(h, rd, SF.f64ToF32(f[rs1]!, rm, sn64(fi, rs1))); break;
    case Op.FCVT_D_S: { const ab = b32(fi, rs1); set64(h, rd, SF.f32ToF64(f32FromBits(ab), isSNaN32(ab))); break; }
    case Op.FCVT_W_D: setX32(xi, rd, SF.fToI32(f[rs1]!, rm)); break;
    case Op.FCVT_WU_D: setX32(xi, rd, SF.fToU32(f[rs1]!, rm)); break;
    case Op.FCVT_L_D: x[rd] = SF.fToI64(f[rs1]!, rm); break;
    case Op.FCVT_LU_D: x[rd] = BigInt.asIntN(64, SF.fToU64(f[rs1]!, rm)); break;
    case Op.FCVT_D_W: set64(h, rd, xi[rs1 * 2]!); break;
    case Op.FCVT_D_WU: set64(h, rd, xi[rs1 * 2]! >>> 0); break;
    case Op.FCVT_D_L: set64(h, rd, SF.i64ToF64(x[rs1]!, rm)); break;
    case Op.FCVT_D_LU: set64(h, rd, SF.u64ToF64(BigInt.asUintN(64, x[rs1]!), rm)); break;
    case Op.FMV_X_D: xi[rd * 2] = fi[rs1 * 2]!; xi[rd * 2 + 1] = fi[rs1 * 2 + 1]!; break;
    case Op.FMV_D_X: fi[rd * 2] = xi[rs1 * 2]!; fi[rd * 2 + 1] = xi[rs1 * 2 + 1]!; h.markFsDirty(); break;
    default:
      h.illegal(raw);
  }
  const fl = SF.fpState.flags;
  if (fl !== 0) {
    SF.fpState.flags = 0;
    h.fflags |= fl;
    h.markFsDirty();
  }
}

