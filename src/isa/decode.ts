/**
 * Decoding for the interpreter: the encoding table (opcodes.ts) mapped to dense operation ids,
 * plus a decode cache whose entries are tagged with the raw instruction bits.
 *
 * Decoding is a pure function of the instruction bits, so the cache needs no invalidation:
 * self-modifying code, fence.i and remapped pages all stay correct. The cache is shared by
 * every hart.
 */
import { matchOpcode, immI, immS, immB, immJ, immU, type OpcodeDef } from './opcodes.js';
import { expandCompressed } from './rvc.js';

/**
 * Operation ids. A `const enum`, so the interpreter's switch gets numeric literal cases and V8
 * compiles it to a jump table (with a regular enum every case is a property load and the
 * switch a chain of compares: measured 35 MIPS vs. the jump table).
 */
export const enum Op {
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

/** Encoding-table name -> Op, for the instructions this interpreter implements. */
export const OP_BY_NAME: Readonly<Record<string, Op>> = {
  'lui': Op.LUI,
  'auipc': Op.AUIPC,
  'jal': Op.JAL,
  'jalr': Op.JALR,
  'beq': Op.BEQ,
  'bne': Op.BNE,
  'blt': Op.BLT,
  'bge': Op.BGE,
  'bltu': Op.BLTU,
  'bgeu': Op.BGEU,
  'lb': Op.LB,
  'lh': Op.LH,
  'lw': Op.LW,
  'ld': Op.LD,
  'lbu': Op.LBU,
  'lhu': Op.LHU,
  'lwu': Op.LWU,
  'sb': Op.SB,
  'sh': Op.SH,
  'sw': Op.SW,
  'sd': Op.SD,
  'addi': Op.ADDI,
  'slti': Op.SLTI,
  'sltiu': Op.SLTIU,
  'xori': Op.XORI,
  'ori': Op.ORI,
  'andi': Op.ANDI,
  'slli': Op.SLLI,
  'srli': Op.SRLI,
  'srai': Op.SRAI,
  'add': Op.ADD,
  'sub': Op.SUB,
  'sll': Op.SLL,
  'slt': Op.SLT,
  'sltu': Op.SLTU,
  'xor': Op.XOR,
  'srl': Op.SRL,
  'sra': Op.SRA,
  'or': Op.OR,
  'and': Op.AND,
  'addiw': Op.ADDIW,
  'slliw': Op.SLLIW,
  'srliw': Op.SRLIW,
  'sraiw': Op.SRAIW,
  'addw': Op.ADDW,
  'subw': Op.SUBW,
  'sllw': Op.SLLW,
  'srlw': Op.SRLW,
  'sraw': Op.SRAW,
  'mul': Op.MUL,
  'mulh': Op.MULH,
  'mulhsu': Op.MULHSU,
  'mulhu': Op.MULHU,
  'div': Op.DIV,
  'divu': Op.DIVU,
  'rem': Op.REM,
  'remu': Op.REMU,
  'mulw': Op.MULW,
  'divw': Op.DIVW,
  'divuw': Op.DIVUW,
  'remw': Op.REMW,
  'remuw': Op.REMUW,
  'fence': Op.FENCE,
  'fence.i': Op.FENCE_I,
  'ecall': Op.ECALL,
  'ebreak': Op.EBREAK,
  'mret': Op.MRET,
  'sret': Op.SRET,
  'wfi': Op.WFI,
  'sfence.vma': Op.SFENCE_VMA,
  'csrrw': Op.CSRRW,
  'csrrs': Op.CSRRS,
  'csrrc': Op.CSRRC,
  'csrrwi': Op.CSRRWI,
  'csrrsi': Op.CSRRSI,
  'csrrci': Op.CSRRCI,
  'lr.w': Op.LR_W,
  'sc.w': Op.SC_W,
  'amoswap.w': Op.AMOSWAP_W,
  'amoadd.w': Op.AMOADD_W,
  'amoxor.w': Op.AMOXOR_W,
  'amoand.w': Op.AMOAND_W,
  'amoor.w': Op.AMOOR_W,
  'amomin.w': Op.AMOMIN_W,
  'amomax.w': Op.AMOMAX_W,
  'amominu.w': Op.AMOMINU_W,
  'amomaxu.w': Op.AMOMAXU_W,
  'lr.d': Op.LR_D,
  'sc.d': Op.SC_D,
  'amoswap.d': Op.AMOSWAP_D,
  'amoadd.d': Op.AMOADD_D,
  'amoxor.d': Op.AMOXOR_D,
  'amoand.d': Op.AMOAND_D,
  'amoor.d': Op.AMOOR_D,
  'amomin.d': Op.AMOMIN_D,
  'amomax.d': Op.AMOMAX_D,
  'amominu.d': Op.AMOMINU_D,
  'amomaxu.d': Op.AMOMAXU_D,
  'hfence.vvma': Op.HFENCE_VVMA,
  'hfence.gvma': Op.HFENCE_GVMA,
  'hlv.b': Op.HLV_B,
  'hlv.bu': Op.HLV_BU,
  'hlv.h': Op.HLV_H,
  'hlv.hu': Op.HLV_HU,
  'hlvx.hu': Op.HLVX_HU,
  'hlv.w': Op.HLV_W,
  'hlv.wu': Op.HLV_WU,
  'hlvx.wu': Op.HLVX_WU,
  'hlv.d': Op.HLV_D,
  'hsv.b': Op.HSV_B,
  'hsv.h': Op.HSV_H,
  'hsv.w': Op.HSV_W,
  'hsv.d': Op.HSV_D,
  'flw': Op.FLW,
  'fsw': Op.FSW,
  'fld': Op.FLD,
  'fsd': Op.FSD,
  'fmadd.s': Op.FMADD_S,
  'fmsub.s': Op.FMSUB_S,
  'fnmsub.s': Op.FNMSUB_S,
  'fnmadd.s': Op.FNMADD_S,
  'fadd.s': Op.FADD_S,
  'fsub.s': Op.FSUB_S,
  'fmul.s': Op.FMUL_S,
  'fdiv.s': Op.FDIV_S,
  'fsqrt.s': Op.FSQRT_S,
  'fsgnj.s': Op.FSGNJ_S,
  'fsgnjn.s': Op.FSGNJN_S,
  'fsgnjx.s': Op.FSGNJX_S,
  'fmin.s': Op.FMIN_S,
  'fmax.s': Op.FMAX_S,
  'fcvt.w.s': Op.FCVT_W_S,
  'fcvt.wu.s': Op.FCVT_WU_S,
  'fmv.x.w': Op.FMV_X_W,
  'feq.s': Op.FEQ_S,
  'flt.s': Op.FLT_S,
  'fle.s': Op.FLE_S,
  'fclass.s': Op.FCLASS_S,
  'fcvt.s.w': Op.FCVT_S_W,
  'fcvt.s.wu': Op.FCVT_S_WU,
  'fmv.w.x': Op.FMV_W_X,
  'fcvt.l.s': Op.FCVT_L_S,
  'fcvt.lu.s': Op.FCVT_LU_S,
  'fcvt.s.l': Op.FCVT_S_L,
  'fcvt.s.lu': Op.FCVT_S_LU,
  'fmadd.d': Op.FMADD_D,
  'fmsub.d': Op.FMSUB_D,
  'fnmsub.d': Op.FNMSUB_D,
  'fnmadd.d': Op.FNMADD_D,
  'fadd.d': Op.FADD_D,
  'fsub.d': Op.FSUB_D,
  'fmul.d': Op.FMUL_D,
  'fdiv.d': Op.FDIV_D,
  'fsqrt.d': Op.FSQRT_D,
  'fsgnj.d': Op.FSGNJ_D,
  'fsgnjn.d': Op.FSGNJN_D,
  'fsgnjx.d': Op.FSGNJX_D,
  'fmin.d': Op.FMIN_D,
  'fmax.d': Op.FMAX_D,
  'fcvt.s.d': Op.FCVT_S_D,
  'fcvt.d.s': Op.FCVT_D_S,
  'feq.d': Op.FEQ_D,
  'flt.d': Op.FLT_D,
  'fle.d': Op.FLE_D,
  'fclass.d': Op.FCLASS_D,
  'fcvt.w.d': Op.FCVT_W_D,
  'fcvt.wu.d': Op.FCVT_WU_D,
  'fcvt.d.w': Op.FCVT_D_W,
  'fcvt.d.wu': Op.FCVT_D_WU,
  'fcvt.l.d': Op.FCVT_L_D,
  'fcvt.lu.d': Op.FCVT_LU_D,
  'fmv.x.d': Op.FMV_X_D,
  'fcvt.d.l': Op.FCVT_D_L,
  'fcvt.d.lu': Op.FCVT_D_LU,
  'fmv.d.x': Op.FMV_D_X
};

const opByDef = new Map<OpcodeDef, Op>();
function opFor(def: OpcodeDef): Op {
  let op = opByDef.get(def);
  if (op === undefined) {
    op = OP_BY_NAME[def.name] ?? Op.ILLEGAL;
    opByDef.set(def, op);
  }
  return op;
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

const CACHE_BITS = 18;
const CACHE_SIZE = 1 << CACHE_BITS;
const CACHE_MASK = CACHE_SIZE - 1;
const L2_SIZE = 1 << 16;
const L2_MASK = L2_SIZE - 1;
/** Mask of decode-cache slot indices (see DecodeCache.slotAt). */
export const DC_MASK = CACHE_MASK;

/** Fields of one decode-cache entry (entry k occupies data[k*8 .. k*8+7]: one cache line). */
export const D_TAG = 0, D_OP = 1, D_RD = 2, D_RS1 = 3, D_RS2 = 4, D_IMM = 5, D_LEN = 6, D_INS = 7;

/**
 * Decode cache. Slot = slotAt(buffer offset) or slot(raw bits); entry fields (D_*):
 *  TAG  raw bits as fetched (16-bit value for RVC, 32-bit otherwise)
 *  OP   Op id
 *  RD   destination (X_SINK for integer x0 writes)
 *  RS1, RS2
 *  IMM  the format's immediate (I/S/B/U/J; shift amount; CSR number for CSR ops)
 *  LEN  2 or 4
 *  INS  the 32-bit instruction (the expansion, for RVC): fields like rm, rs3, aq/rl come from it
 * imm64 holds IMM as a 64-bit value so ALU-immediate ops need no number -> bigint conversion.
 */
export class DecodeCache {
  readonly data = new Int32Array(CACHE_SIZE * 8);
  readonly imm64 = new BigInt64Array(CACHE_SIZE);
  /** Second level, keyed by the instruction bits (same entry layout). */
  private readonly l2 = new Int32Array(L2_SIZE * 8);
  private readonly l2imm = new BigInt64Array(L2_SIZE);

  constructor() {
    // Slot contents must always be the decode of their tag. An all-zero entry is: tag 0 (the
    // all-zero bits) decodes as ILLEGAL, and its other fields (fill would give rd = X_SINK,
    // LEN = 2) are not read for an illegal instruction. So the zeroed arrays are left
    // untouched: writing 10 MB here cost ~40 ms (first-touch page faults) per machine.
    if (this.data[D_OP] !== Op.ILLEGAL) throw new Error('internal: Op.ILLEGAL must be 0');
  }

  /** Slot index for raw bits (when the instruction's address is not known). */
  static slot(raw: number): number {
    return (raw ^ (raw >>> 16) ^ (raw >>> 9)) & CACHE_MASK;
  }
  /**
   * Slot index for the instruction at buffer offset `off`: neighbouring instructions use
   * neighbouring entries (the interpreter's fetch path; measured: the hashed slot made the
   * tag check the interpreter's most expensive line, a cache miss per instruction). Any
   * slot is correct, since an entry is checked against the instruction bits in its tag.
   */
  static slotAt(off: number): number {
    return (off >>> 1) & CACHE_MASK;
  }

  /** Decode `raw` into slot `s`. */
  fill(s: number, raw: number): void {
    // Most misses are for bits decoded before (at another address, or evicted): copy those
    // from a second cache keyed by the bits, which is much cheaper than decoding.
    const h = ((raw ^ (raw >>> 16) ^ (raw >>> 9)) & L2_MASK) * 8;
    const l2 = this.l2, d = this.data, b = s * 8;
    if (l2[h + D_TAG] !== raw || raw === 0) {
      this.decode(l2, h, raw);
      this.l2imm[h >>> 3] = BigInt(l2[h + D_IMM]!);
    }
    for (let k = 0; k < 8; k++) d[b + k] = l2[h + k]!;
    this.imm64[s] = this.l2imm[h >>> 3]!;
  }

  /** Decode `raw` into the 8 fields at d[b..b+7]. */
  private decode(d: Int32Array, b: number, raw: number): void {
    const isC = (raw & 3) !== 3;
    const ins = isC ? expandCompressed(raw & 0xffff) : raw;
    d[b + D_TAG] = raw;
    d[b + D_LEN] = isC ? 2 : 4;
    d[b + D_INS] = ins;
    const def = ins === 0 ? undefined : matchOpcode(ins);
    const op = def ? opFor(def) : Op.ILLEGAL;
    d[b + D_OP] = op;
    const rd = (ins >>> 7) & 31;
    d[b + D_RD] = rd === 0 && writesIntRd(op) ? X_SINK : rd;
    d[b + D_RS1] = (ins >>> 15) & 31;
    d[b + D_RS2] = (ins >>> 20) & 31;
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
    d[b + D_IMM] = imm;
  }
}
