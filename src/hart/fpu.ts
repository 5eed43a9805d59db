/**
 * F and D instruction execution (unprivileged spec chapters 11-12). Each operation's body is
 * its entry in the instruction table (src/isa/insns.ts), generated into a function of its own
 * (FP_FN, below); arithmetic with exact rounding modes and flags lives in isa/softfloat.ts.
 * This file does the checks every F/D instruction makes (mstatus.FS, the rounding mode) and the
 * flag accumulation.
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
  const fn = FP_FN[op];
  if (fn === undefined) return h.illegal(raw);
  fn(h, rm, rd, rs1, rs2, (ins >>> 27) & 31, imm);
  const fx = h.fpx;
  // What softfloat raised (into the hart's accumulator) accrues in fflags (§11.2).
  const fl = fx.flags;
  if (fl !== 0) {
    fx.flags = 0;
    h.fflags |= fl;
    h.markFsDirty();
  }
}

/**
 * One function per F/D operation (its body from the instruction table), called through FP_FN:
 * V8 optimizes each alone once it is hot, and an operation's first run of a new path
 * deoptimizes only its own function. As one switch, execFp was a 300-380 ms TurboFan compile in
 * every Linux boot and compute run (the primer runs every F/D op; --trace-opt-verbose, loaded
 * 2-core host), on the core a recording's writer thread needs.
 */
type FpFn = (h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number) => void;

// ---- BEGIN GENERATED: F/D operations of src/isa/insns.ts (scripts/gen-insns.mjs; do not edit) ----
function fpFLW(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.loadOffset(lo, hi, 4), dv = h.bus.dv; fi[rd * 2] = dv.getInt32(o, true); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSW(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.storeOffset(lo, hi, 4), dv = h.bus.dv; if (o >= 0) { dv.setInt32(o, fi[rs2 * 2]!, true); } else h.storeSlow(lo, hi, 4, BigInt(fi[rs2 * 2]! >>> 0)); }
function fpFLD(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.loadOffset(lo, hi, 8), dv = h.bus.dv; fi[rd * 2] = dv.getInt32(o, true); fi[rd * 2 + 1] = dv.getInt32(o + 4, true); h.markFsDirty(); }
function fpFSD(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; const lo = (xi[rs1 * 2]! + imm) | 0, hi = eaHi(xi, rs1, imm, lo), o = h.storeOffset(lo, hi, 8), dv = h.bus.dv; if (o >= 0) { dv.setInt32(o, fi[rs2 * 2]!, true); dv.setInt32(o + 4, fi[rs2 * 2 + 1]!, true); } else h.storeSlow(lo, hi, 8, BigInt.asUintN(64, h.fb[rs2]!)); }
function fpFMADD_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, f32FromBits(a), f32FromBits(b), f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMSUB_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, f32FromBits(a), f32FromBits(b), -f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFNMSUB_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, -f32FromBits(a), f32FromBits(b), f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFNMADD_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000), c = (fi[rs3 * 2 + 1]! === -1 ? fi[rs3 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Fma(fx, -f32FromBits(a), f32FromBits(b), -f32FromBits(c), rm, isSNaN32(a) || isSNaN32(b) || isSNaN32(c))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFADD_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Add(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSUB_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Sub(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMUL_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Mul(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFDIV_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Div(fx, f32FromBits(a), f32FromBits(b), rm, isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSQRT_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.f32Sqrt(fx, f32FromBits(a), rm, isSNaN32(a))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSGNJ_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSGNJN_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((~b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFSGNJX_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = (a & 0x7fffffff) | ((a ^ b) & 0x80000000); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMIN_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.fMin(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMAX_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); fi[rd * 2] = f32ToBits(SF.fMax(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFCVT_W_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi, fx = h.fpx; const v = SF.fToI32(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; }
function fpFCVT_WU_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi, fx = h.fpx; const v = SF.fToU32(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; }
function fpFMV_X_W(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; const v = fi[rs1 * 2]!; xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; }
function fpFEQ_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fEq(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; }
function fpFLT_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fLt(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; }
function fpFLE_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000), b = (fi[rs2 * 2 + 1]! === -1 ? fi[rs2 * 2]! : 0x7fc00000); x[rd] = SF.fLe(fx, f32FromBits(a), f32FromBits(b), isSNaN32(a) || isSNaN32(b)) ? 1n : 0n; }
function fpFCLASS_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); x[rd] = BigInt(SF.fClass32(f32FromBits(a), isSNaN32(a))); }
function fpFCVT_S_W(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi, fx = h.fpx; fi[rd * 2] = f32ToBits(SF.i32ToF32(fx, xi[rs1 * 2]!, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFCVT_S_WU(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi, fx = h.fpx; fi[rd * 2] = f32ToBits(SF.u32ToF32(fx, xi[rs1 * 2]! >>> 0, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMV_W_X(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; fi[rd * 2] = xi[rs1 * 2]!; fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFCVT_L_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; x[rd] = SF.fToI64(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm); }
function fpFCVT_LU_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; x[rd] = BigInt.asIntN(64, SF.fToU64(fx, f32FromBits((fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000)), rm)); }
function fpFCVT_S_L(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; fi[rd * 2] = f32ToBits(SF.i64ToF32(fx, x[rs1]!, rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFCVT_S_LU(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, x = h.x, fx = h.fpx; fi[rd * 2] = f32ToBits(SF.u64ToF32(fx, BigInt.asUintN(64, x[rs1]!), rm)); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFMADD_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Fma(fx, f[rs1]!, f[rs2]!, f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFMSUB_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Fma(fx, f[rs1]!, f[rs2]!, -f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFNMSUB_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Fma(fx, -f[rs1]!, f[rs2]!, f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFNMADD_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Fma(fx, -f[rs1]!, f[rs2]!, -f[rs3]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0) || ((fi[rs3 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs3 * 2 + 1]! & 0x7ffff) | fi[rs3 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFADD_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Add(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFSUB_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Sub(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFMUL_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Mul(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFDIV_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Div(fx, f[rs1]!, f[rs2]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFSQRT_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.f64Sqrt(fx, f[rs1]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFSGNJ_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((b) & 0x80000000); h.markFsDirty(); }
function fpFSGNJN_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((~b) & 0x80000000); h.markFsDirty(); }
function fpFSGNJX_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi; const a = fi[rs1 * 2 + 1]!, b = fi[rs2 * 2 + 1]!; fi[rd * 2] = fi[rs1 * 2]!; fi[rd * 2 + 1] = (a & 0x7fffffff) | ((a ^ b) & 0x80000000); h.markFsDirty(); }
function fpFMIN_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.fMin(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFMAX_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const r_ = SF.fMax(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFCVT_S_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; fi[rd * 2] = f32ToBits(SF.f64ToF32(fx, f[rs1]!, rm, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0))); fi[rd * 2 + 1] = -1; h.markFsDirty(); }
function fpFCVT_D_S(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, fx = h.fpx; const a = (fi[rs1 * 2 + 1]! === -1 ? fi[rs1 * 2]! : 0x7fc00000); const r_ = SF.f32ToF64(fx, f32FromBits(a), isSNaN32(a)); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFEQ_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x, fx = h.fpx; x[rd] = SF.fEq(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; }
function fpFLT_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x, fx = h.fpx; x[rd] = SF.fLt(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; }
function fpFLE_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x, fx = h.fpx; x[rd] = SF.fLe(fx, f[rs1]!, f[rs2]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0) || ((fi[rs2 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs2 * 2 + 1]! & 0x7ffff) | fi[rs2 * 2]!) !== 0)) ? 1n : 0n; }
function fpFCLASS_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x; x[rd] = BigInt(SF.fClass64(f[rs1]!, ((fi[rs1 * 2 + 1]! & 0x7ff80000) === 0x7ff00000 && ((fi[rs1 * 2 + 1]! & 0x7ffff) | fi[rs1 * 2]!) !== 0))); }
function fpFCVT_W_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, xi = h.xi, fx = h.fpx; const v = SF.fToI32(fx, f[rs1]!, rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; }
function fpFCVT_WU_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, xi = h.xi, fx = h.fpx; const v = SF.fToU32(fx, f[rs1]!, rm); xi[rd * 2] = v; xi[rd * 2 + 1] = v >> 31; }
function fpFCVT_D_W(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, xi = h.xi; const r_ = xi[rs1 * 2]!; if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFCVT_D_WU(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, xi = h.xi; const r_ = xi[rs1 * 2]! >>> 0; if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFCVT_L_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, x = h.x, fx = h.fpx; x[rd] = SF.fToI64(fx, f[rs1]!, rm); }
function fpFCVT_LU_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, x = h.x, fx = h.fpx; x[rd] = BigInt.asIntN(64, SF.fToU64(fx, f[rs1]!, rm)); }
function fpFMV_X_D(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; xi[rd * 2] = fi[rs1 * 2]!; xi[rd * 2 + 1] = fi[rs1 * 2 + 1]!; }
function fpFCVT_D_L(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x, fx = h.fpx; const r_ = SF.i64ToF64(fx, x[rs1]!, rm); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFCVT_D_LU(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const f = h.f, fi = h.fi, x = h.x, fx = h.fpx; const r_ = SF.u64ToF64(fx, BigInt.asUintN(64, x[rs1]!), rm); if (r_ !== r_) { fi[rd * 2] = 0; fi[rd * 2 + 1] = 0x7ff80000; } else f[rd] = r_; h.markFsDirty(); }
function fpFMV_D_X(h: Hart, rm: number, rd: number, rs1: number, rs2: number, rs3: number, imm: number): void { const fi = h.fi, xi = h.xi; fi[rd * 2] = xi[rs1 * 2]!; fi[rd * 2 + 1] = xi[rs1 * 2 + 1]!; h.markFsDirty(); }

/** The function of each F/D op, by op (undefined: not an F/D op). */
const FP_FN: (FpFn | undefined)[] = new Array<FpFn | undefined>(230).fill(undefined);
FP_FN[Op.FLW] = fpFLW;
FP_FN[Op.FSW] = fpFSW;
FP_FN[Op.FLD] = fpFLD;
FP_FN[Op.FSD] = fpFSD;
FP_FN[Op.FMADD_S] = fpFMADD_S;
FP_FN[Op.FMSUB_S] = fpFMSUB_S;
FP_FN[Op.FNMSUB_S] = fpFNMSUB_S;
FP_FN[Op.FNMADD_S] = fpFNMADD_S;
FP_FN[Op.FADD_S] = fpFADD_S;
FP_FN[Op.FSUB_S] = fpFSUB_S;
FP_FN[Op.FMUL_S] = fpFMUL_S;
FP_FN[Op.FDIV_S] = fpFDIV_S;
FP_FN[Op.FSQRT_S] = fpFSQRT_S;
FP_FN[Op.FSGNJ_S] = fpFSGNJ_S;
FP_FN[Op.FSGNJN_S] = fpFSGNJN_S;
FP_FN[Op.FSGNJX_S] = fpFSGNJX_S;
FP_FN[Op.FMIN_S] = fpFMIN_S;
FP_FN[Op.FMAX_S] = fpFMAX_S;
FP_FN[Op.FCVT_W_S] = fpFCVT_W_S;
FP_FN[Op.FCVT_WU_S] = fpFCVT_WU_S;
FP_FN[Op.FMV_X_W] = fpFMV_X_W;
FP_FN[Op.FEQ_S] = fpFEQ_S;
FP_FN[Op.FLT_S] = fpFLT_S;
FP_FN[Op.FLE_S] = fpFLE_S;
FP_FN[Op.FCLASS_S] = fpFCLASS_S;
FP_FN[Op.FCVT_S_W] = fpFCVT_S_W;
FP_FN[Op.FCVT_S_WU] = fpFCVT_S_WU;
FP_FN[Op.FMV_W_X] = fpFMV_W_X;
FP_FN[Op.FCVT_L_S] = fpFCVT_L_S;
FP_FN[Op.FCVT_LU_S] = fpFCVT_LU_S;
FP_FN[Op.FCVT_S_L] = fpFCVT_S_L;
FP_FN[Op.FCVT_S_LU] = fpFCVT_S_LU;
FP_FN[Op.FMADD_D] = fpFMADD_D;
FP_FN[Op.FMSUB_D] = fpFMSUB_D;
FP_FN[Op.FNMSUB_D] = fpFNMSUB_D;
FP_FN[Op.FNMADD_D] = fpFNMADD_D;
FP_FN[Op.FADD_D] = fpFADD_D;
FP_FN[Op.FSUB_D] = fpFSUB_D;
FP_FN[Op.FMUL_D] = fpFMUL_D;
FP_FN[Op.FDIV_D] = fpFDIV_D;
FP_FN[Op.FSQRT_D] = fpFSQRT_D;
FP_FN[Op.FSGNJ_D] = fpFSGNJ_D;
FP_FN[Op.FSGNJN_D] = fpFSGNJN_D;
FP_FN[Op.FSGNJX_D] = fpFSGNJX_D;
FP_FN[Op.FMIN_D] = fpFMIN_D;
FP_FN[Op.FMAX_D] = fpFMAX_D;
FP_FN[Op.FCVT_S_D] = fpFCVT_S_D;
FP_FN[Op.FCVT_D_S] = fpFCVT_D_S;
FP_FN[Op.FEQ_D] = fpFEQ_D;
FP_FN[Op.FLT_D] = fpFLT_D;
FP_FN[Op.FLE_D] = fpFLE_D;
FP_FN[Op.FCLASS_D] = fpFCLASS_D;
FP_FN[Op.FCVT_W_D] = fpFCVT_W_D;
FP_FN[Op.FCVT_WU_D] = fpFCVT_WU_D;
FP_FN[Op.FCVT_D_W] = fpFCVT_D_W;
FP_FN[Op.FCVT_D_WU] = fpFCVT_D_WU;
FP_FN[Op.FCVT_L_D] = fpFCVT_L_D;
FP_FN[Op.FCVT_LU_D] = fpFCVT_LU_D;
FP_FN[Op.FMV_X_D] = fpFMV_X_D;
FP_FN[Op.FCVT_D_L] = fpFCVT_D_L;
FP_FN[Op.FCVT_D_LU] = fpFCVT_D_LU;
FP_FN[Op.FMV_D_X] = fpFMV_D_X;
// ---- END GENERATED ----
