/**
 * The wasm tier's double-precision fast path (tier.ts, emitRegion's fpOp): the FP guard word a
 * unit tests before running an F/D operation inline, and which operations it runs inline.
 */
import { INSNS } from '../../isa/insns.js';
import { Op } from '../../isa/decode.js';
import { MSTATUS_FS } from '../constants.js';
import { W } from './emit.js';
import type { Hart } from '../hart.js';

/**
 * The FP guard word at HS_WASM_FP, written by JavaScript before a run and after every execFp
 * (nothing else inside a run changes FP state): FPG_DIRTY when mstatus.FS (and vsstatus.FS
 * with V = 1) is Dirty, so FP instructions are legal and marking FS dirty changes nothing;
 * with it, FPG_NX when fflags.NX is set and FPG_RNE when frm is RNE.
 */
export const FPG_DIRTY = 1, FPG_NX = 2, FPG_RNE = 4;
export function fpGuard(h: Hart): number {
  if ((h.mstatus & MSTATUS_FS) !== MSTATUS_FS || (h.virt && (h.other.status & MSTATUS_FS) !== MSTATUS_FS)) return 0;
  return FPG_DIRTY | ((h.fflags & 1) !== 0 ? FPG_NX : 0) | (h.frm === 0 ? FPG_RNE : 0);
}
/** F/D operations done inline under the guard (else by execFp), and their wasm operation. */
export const enum FK { NONE, BIN, SQRT, LD, SD, MV_X_D, MV_D_X, SGNJ, SGNJN, SGNJX, CMP, CVT_W, CVT_L }
export const FP_FAST = new Uint8Array(INSNS.length);
export const FP_BIN_OP = new Uint8Array(INSNS.length);
for (const [op, k, w] of [
  [Op.FADD_D, FK.BIN, W.F64_ADD], [Op.FSUB_D, FK.BIN, W.F64_SUB], [Op.FMUL_D, FK.BIN, W.F64_MUL], [Op.FDIV_D, FK.BIN, W.F64_DIV],
  [Op.FSQRT_D, FK.SQRT, 0], [Op.FLD, FK.LD, 0], [Op.FSD, FK.SD, 0], [Op.FMV_X_D, FK.MV_X_D, 0], [Op.FMV_D_X, FK.MV_D_X, 0],
  [Op.FSGNJ_D, FK.SGNJ, 0], [Op.FSGNJN_D, FK.SGNJN, 0], [Op.FSGNJX_D, FK.SGNJX, 0],
  [Op.FEQ_D, FK.CMP, W.F64_EQ], [Op.FLT_D, FK.CMP, W.F64_LT], [Op.FLE_D, FK.CMP, W.F64_LE],
  [Op.FCVT_D_W, FK.CVT_W, W.F64_CONVERT_I32_S], [Op.FCVT_D_WU, FK.CVT_W, W.F64_CONVERT_I32_U],
  [Op.FCVT_D_L, FK.CVT_L, W.F64_CONVERT_I64_S], [Op.FCVT_D_LU, FK.CVT_L, W.F64_CONVERT_I64_U],
] as const) {
  FP_FAST[op] = k;
  FP_BIN_OP[op] = w;
}
