/**
 * Decoding for the interpreter: the encoding table (opcodes.ts) mapped to dense operation ids,
 * plus a decode cache keyed by the raw instruction bits.
 *
 * Decoding is a pure function of the instruction bits, so the cache needs no invalidation:
 * self-modifying code, fence.i and remapped pages all stay correct. The cache is shared by
 * every hart.
 */
import { matchOpcode, immI, immS, immB, immJ, immU, type OpcodeDef } from './opcodes.js';
import { expandCompressed } from './rvc.js';

export enum Op {
  ILLEGAL = 0,
  LUI, AUIPC, JAL, JALR,
  BEQ, BNE, BLT, BGE, BLTU, BGEU,
  LB, LH, LW, LD, LBU, LHU, LWU,
  SB, SH, SW, SD,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  ADDIW, SLLIW, SRLIW, SRAIW, ADDW, SUBW, SLLW, SRLW, SRAW,
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU, MULW, DIVW, DIVUW, REMW, REMUW,
  FENCE, FENCE_I, ECALL, EBREAK, MRET, SRET, WFI, SFENCE_VMA,
  CSRRW, CSRRS, CSRRC, CSRRWI, CSRRSI, CSRRCI,
  LR_W, SC_W, AMOSWAP_W, AMOADD_W, AMOXOR_W, AMOAND_W, AMOOR_W, AMOMIN_W, AMOMAX_W, AMOMINU_W, AMOMAXU_W,
  LR_D, SC_D, AMOSWAP_D, AMOADD_D, AMOXOR_D, AMOAND_D, AMOOR_D, AMOMIN_D, AMOMAX_D, AMOMINU_D, AMOMAXU_D,
  HFENCE_VVMA, HFENCE_GVMA, HLV_B, HLV_BU, HLV_H, HLV_HU, HLVX_HU, HLV_W, HLV_WU, HLVX_WU, HLV_D,
  HSV_B, HSV_H, HSV_W, HSV_D,
  // Everything from FLW on is floating point (handled by fpu.ts).
  FLW, FSW, FLD, FSD,
  FMADD_S, FMSUB_S, FNMSUB_S, FNMADD_S, FADD_S, FSUB_S, FMUL_S, FDIV_S, FSQRT_S,
  FSGNJ_S, FSGNJN_S, FSGNJX_S, FMIN_S, FMAX_S, FCVT_W_S, FCVT_WU_S, FMV_X_W, FEQ_S, FLT_S, FLE_S,
  FCLASS_S, FCVT_S_W, FCVT_S_WU, FMV_W_X, FCVT_L_S, FCVT_LU_S, FCVT_S_L, FCVT_S_LU,
  FMADD_D, FMSUB_D, FNMSUB_D, FNMADD_D, FADD_D, FSUB_D, FMUL_D, FDIV_D, FSQRT_D,
  FSGNJ_D, FSGNJN_D, FSGNJX_D, FMIN_D, FMAX_D, FCVT_S_D, FCVT_D_S, FEQ_D, FLT_D, FLE_D, FCLASS_D,
  FCVT_W_D, FCVT_WU_D, FCVT_D_W, FCVT_D_WU, FCVT_L_D, FCVT_LU_D, FMV_X_D, FCVT_D_L, FCVT_D_LU, FMV_D_X,
  COUNT,
}

/** Name in the encoding table ('fadd.d') -> Op, for the ops this interpreter implements. */
function opFor(def: OpcodeDef): Op {
  const key = def.name.toUpperCase().replace(/\./g, '_') as keyof typeof Op;
  const v = Op[key];
  return typeof v === 'number' ? v : Op.ILLEGAL;
}

/** Ops whose rd names an integer register (a write to x0 goes to the sink register 32). */
function writesIntRd(op: Op): boolean {
  if (op >= Op.FLW) {
    return op === Op.FCVT_W_S || op === Op.FCVT_WU_S || op === Op.FMV_X_W || op === Op.FEQ_S ||
      op === Op.FLT_S || op === Op.FLE_S || op === Op.FCLASS_S || op === Op.FCVT_L_S || op === Op.FCVT_LU_S ||
      op === Op.FEQ_D || op === Op.FLT_D || op === Op.FLE_D || op === Op.FCLASS_D || op === Op.FCVT_W_D ||
      op === Op.FCVT_WU_D || op === Op.FCVT_L_D || op === Op.FCVT_LU_D || op === Op.FMV_X_D;
  }
  return !(op >= Op.BEQ && op <= Op.BGEU) && !(op >= Op.SB && op <= Op.SD) &&
    op !== Op.FENCE && op !== Op.FENCE_I && op !== Op.ECALL && op !== Op.EBREAK && op !== Op.MRET &&
    op !== Op.SRET && op !== Op.WFI && op !== Op.SFENCE_VMA && op !== Op.HFENCE_VVMA && op !== Op.HFENCE_GVMA &&
    !(op >= Op.HSV_B && op <= Op.HSV_D);
}

/** Register index used for "rd = x0": writes land there and are never read. */
export const X_SINK = 32;

const CACHE_BITS = 16;
const CACHE_SIZE = 1 << CACHE_BITS;
const CACHE_MASK = CACHE_SIZE - 1;

/**
 * Decode cache, structure-of-arrays. Slot = hash(raw). Fields:
 *  tag  raw bits as fetched (16-bit value for RVC, 32-bit otherwise)
 *  op   Op id
 *  rd   destination (X_SINK for integer x0 writes)
 *  rs1, rs2
 *  imm  the format's immediate (I/S/B/U/J; shift amount; CSR number for CSR ops)
 *  len  2 or 4
 *  ins  the 32-bit instruction (the expansion, for RVC): fields like rm, rs3, aq/rl come from it
 */
export class DecodeCache {
  readonly tag = new Int32Array(CACHE_SIZE);
  readonly op = new Int32Array(CACHE_SIZE);
  readonly rd = new Int32Array(CACHE_SIZE);
  readonly rs1 = new Int32Array(CACHE_SIZE);
  readonly rs2 = new Int32Array(CACHE_SIZE);
  readonly imm = new Int32Array(CACHE_SIZE);
  readonly len = new Int32Array(CACHE_SIZE);
  readonly ins = new Int32Array(CACHE_SIZE);
  /** imm as a 64-bit value (sign-extended), so ALU-immediate ops need no number->bigint conversion. */
  readonly imm64 = new BigInt64Array(CACHE_SIZE);

  constructor() {
    // Slot contents must always be the decode of their tag: tag 0 (all-zero bits) is illegal.
    for (let i = 0; i < CACHE_SIZE; i++) this.fill(i, 0);
  }

  /** Slot index for raw bits. */
  static slot(raw: number): number {
    return (raw ^ (raw >>> 16) ^ (raw >>> 9)) & CACHE_MASK;
  }

  /** Decode `raw` into slot `s`. */
  fill(s: number, raw: number): void {
    const isC = (raw & 3) !== 3;
    const ins = isC ? expandCompressed(raw & 0xffff) : raw;
    this.tag[s] = raw;
    this.len[s] = isC ? 2 : 4;
    this.ins[s] = ins;
    const def = ins === 0 ? undefined : matchOpcode(ins);
    const op = def ? opFor(def) : Op.ILLEGAL;
    this.op[s] = op;
    const rd = (ins >>> 7) & 31;
    this.rd[s] = rd === 0 && writesIntRd(op) ? X_SINK : rd;
    this.rs1[s] = (ins >>> 15) & 31;
    this.rs2[s] = (ins >>> 20) & 31;
    let imm = 0;
    switch (def?.fmt) {
      case 'I': case 'LOAD': case 'JALR': case 'FLOAD': imm = immI(ins); break;
      case 'S': case 'FSTORE': imm = immS(ins); break;
      case 'B': imm = immB(ins); break;
      case 'U': imm = immU(ins); break;
      case 'J': imm = immJ(ins); break;
      case 'SHIFT': imm = (ins >>> 20) & 63; break;
      case 'SHIFTW': imm = (ins >>> 20) & 31; break;
      case 'CSR': case 'CSRI': imm = (ins >>> 20) & 0xfff; break;
      default: imm = 0;
    }
    this.imm[s] = imm;
    this.imm64[s] = BigInt(imm);
  }
}
