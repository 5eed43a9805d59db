/**
 * RV64 32-bit instruction encoding table, in the style of riscv-opcodes
 * (https://github.com/riscv/riscv-opcodes): every instruction is a
 * (mask, match) pair and an instruction word `i` is that instruction iff
 * `(i & mask) >>> 0 === match`.
 *
 * Covered: RV64 I, M, A, F, D, Zicsr, Zifencei, the privileged instructions
 * (ecall, ebreak, sret, mret, wfi, sfence.vma) and the hypervisor extension
 * (hfence.*, hlv*, hlvx*, hsv*).  Zihintpause's `pause` is a FENCE hint
 * (fm=0, pred=W, succ=0, rs1=rd=0) and therefore matches `fence`; the
 * disassembler prints it as `pause` on its own.
 *
 * Conventions (see the brief for the interpreter):
 *  - AMO/LR/SC: aq (bit 26) and rl (bit 25) are not part of the mask.
 *    LR additionally masks rs2 (must be 0; rs2 != 0 is reserved).
 *  - FP ops with a rounding-mode field: rm (bits 14:12) is not masked; the
 *    interpreter validates rm (101/110 are reserved, 111 = dyn checks frm).
 *    Ops without rm (fsgnj*, fmin/fmax, feq/flt/fle, fclass, fmv.*) mask funct3.
 *  - fence matches on opcode+funct3 only (fm/pred/succ/rs1/rd are free,
 *    unprivileged spec v20191213 §2.7: unused fields are reserved for future
 *    use and implementations must ignore them).
 *  - fence.i likewise matches opcode+funct3 (imm/rs1/rd ignored, §3).
 *  - RV64 slli/srli/srai: 6-bit shamt, mask funct6 (bits 31:26).
 *    slliw/srliw/sraiw: 5-bit shamt, mask funct7 (imm[5]=1 is reserved, §5.2).
 */

import { INSNS } from './insns.js';

export type Format =
  | 'R' // rd, rs1, rs2 (integer)
  | 'I' // rd, rs1, imm (integer ALU)
  | 'LOAD' // rd, imm(rs1)
  | 'JALR' // rd, imm(rs1)
  | 'S' // rs2, imm(rs1)
  | 'B' // rs1, rs2, pc-relative
  | 'U' // rd, imm20
  | 'J' // rd, pc-relative
  | 'SHIFT' // rd, rs1, shamt6
  | 'SHIFTW' // rd, rs1, shamt5
  | 'CSR' // rd, csr, rs1
  | 'CSRI' // rd, csr, uimm5
  | 'AMO' // rd, rs2, (rs1)
  | 'LR' // rd, (rs1)
  | 'FENCE' // pred, succ
  | 'FENCEI' // no operands
  | 'NONE' // no operands
  | 'SFENCE' // rs1, rs2 (trailing zero operands omitted)
  | 'SINVAL' // rs1, rs2 (always both: sinval.vma, hinval.*)
  | 'R4' // fd, fs1, fs2, fs3, rm
  | 'FR' // fd, fs1, fs2, rm
  | 'FRN' // fd, fs1, fs2 (no rm)
  | 'FR1' // fd, fs1, rm
  | 'FCMP' // rd(x), fs1, fs2
  | 'FLOAD' // fd, imm(rs1)
  | 'FSTORE' // fs2, imm(rs1)
  | 'FCVT_XF' // rd(x), fs1, rm
  | 'FCVT_FX' // fd, rs1(x), rm
  | 'FCVT_FF' // fd, fs1, rm
  | 'FMV_XF' // rd(x), fs1 (fmv.x.*, fclass.*)
  | 'FMV_FX' // fd, rs1(x)
  | 'HLV' // rd, (rs1)
  | 'HSV' // rs2, (rs1)
  | string;

export interface OpcodeDef {
  readonly name: string;
  readonly mask: number;
  readonly match: number;
  readonly fmt: Format;
  readonly ext: string;
}

// ---------------------------------------------------------------------------
// Major opcodes (bits 6:0), unprivileged spec v20191213 Table 24.1.
export const OP_LOAD = 0x03;
export const OP_LOAD_FP = 0x07;
export const OP_MISC_MEM = 0x0f;
export const OP_OP_IMM = 0x13;
export const OP_AUIPC = 0x17;
export const OP_OP_IMM_32 = 0x1b;
export const OP_STORE = 0x23;
export const OP_STORE_FP = 0x27;
export const OP_AMO = 0x2f;
export const OP_OP = 0x33;
export const OP_LUI = 0x37;
export const OP_OP_32 = 0x3b;
export const OP_MADD = 0x43;
export const OP_MSUB = 0x47;
export const OP_NMSUB = 0x4b;
export const OP_NMADD = 0x4f;
export const OP_OP_FP = 0x53;
export const OP_BRANCH = 0x63;
export const OP_JALR = 0x67;
export const OP_JAL = 0x6f;
export const OP_SYSTEM = 0x73;

// Common masks.
const M_OPC = 0x7f; // opcode only (U, J)
const M_F3 = 0x707f; // opcode + funct3 (I, S, B)
const M_F7F3 = 0xfe00707f; // opcode + funct3 + funct7 (R)
const M_F6F3 = 0xfc00707f; // RV64 shifts (6-bit shamt)
const M_AMO = 0xf800707f; // funct5 + funct3 + opcode (aq/rl free)
const M_LR = 0xf9f0707f; // as AMO plus rs2 == 0
const M_F7 = 0xfe00007f; // funct7 + opcode (FP with rm)
const M_F7RS2 = 0xfff0007f; // funct7 + rs2 + opcode (FP unary with rm)
const M_F7RS2F3 = 0xfff0707f; // funct7 + rs2 + funct3 + opcode (fmv/fclass, hlv)
const M_R4 = 0x0600007f; // fmt (bits 26:25) + opcode
const M_SFENCE = 0xfe007fff; // funct7 + funct3 + rd==0 + opcode
const M_ALL = 0xffffffff;

const u = (x: number): number => x >>> 0;
const defs: OpcodeDef[] = [];
function add(name: string, mask: number, match: number, fmt: Format, ext: string): void {
  defs.push(Object.freeze({ name, mask: u(mask), match: u(match), fmt, ext }));
}

const f3 = (x: number): number => x << 12;
const f7 = (x: number): number => x << 25;
const rs2f = (x: number): number => x << 20;

// ---------------------------------------------------------------- RV64I ----
add('lui', M_OPC, OP_LUI, 'U', 'i');
add('auipc', M_OPC, OP_AUIPC, 'U', 'i');
add('jal', M_OPC, OP_JAL, 'J', 'i');
add('jalr', M_F3, OP_JALR | f3(0), 'JALR', 'i');
for (const [n, fn] of [['beq', 0], ['bne', 1], ['blt', 4], ['bge', 5], ['bltu', 6], ['bgeu', 7]] as const)
  add(n, M_F3, OP_BRANCH | f3(fn), 'B', 'i');
for (const [n, fn] of [['lb', 0], ['lh', 1], ['lw', 2], ['ld', 3], ['lbu', 4], ['lhu', 5], ['lwu', 6]] as const)
  add(n, M_F3, OP_LOAD | f3(fn), 'LOAD', 'i');
for (const [n, fn] of [['sb', 0], ['sh', 1], ['sw', 2], ['sd', 3]] as const)
  add(n, M_F3, OP_STORE | f3(fn), 'S', 'i');
for (const [n, fn] of [['addi', 0], ['slti', 2], ['sltiu', 3], ['xori', 4], ['ori', 6], ['andi', 7]] as const)
  add(n, M_F3, OP_OP_IMM | f3(fn), 'I', 'i');
add('slli', M_F6F3, OP_OP_IMM | f3(1), 'SHIFT', 'i');
add('srli', M_F6F3, OP_OP_IMM | f3(5), 'SHIFT', 'i');
add('srai', M_F6F3, OP_OP_IMM | f3(5) | (0x10 << 26), 'SHIFT', 'i');
for (const [n, fn, f] of [
  ['add', 0, 0], ['sub', 0, 0x20], ['sll', 1, 0], ['slt', 2, 0], ['sltu', 3, 0],
  ['xor', 4, 0], ['srl', 5, 0], ['sra', 5, 0x20], ['or', 6, 0], ['and', 7, 0],
] as const)
  add(n, M_F7F3, OP_OP | f3(fn) | f7(f), 'R', 'i');
add('addiw', M_F3, OP_OP_IMM_32 | f3(0), 'I', 'i');
add('slliw', M_F7F3, OP_OP_IMM_32 | f3(1), 'SHIFTW', 'i');
add('srliw', M_F7F3, OP_OP_IMM_32 | f3(5), 'SHIFTW', 'i');
add('sraiw', M_F7F3, OP_OP_IMM_32 | f3(5) | f7(0x20), 'SHIFTW', 'i');
for (const [n, fn, f] of [
  ['addw', 0, 0], ['subw', 0, 0x20], ['sllw', 1, 0], ['srlw', 5, 0], ['sraw', 5, 0x20],
] as const)
  add(n, M_F7F3, OP_OP_32 | f3(fn) | f7(f), 'R', 'i');
add('fence', M_F3, OP_MISC_MEM | f3(0), 'FENCE', 'i');
add('ecall', M_ALL, 0x00000073, 'NONE', 'i');
add('ebreak', M_ALL, 0x00100073, 'NONE', 'i');

// ------------------------------------------------------------- Zifencei ----
add('fence.i', M_F3, OP_MISC_MEM | f3(1), 'FENCEI', 'zifencei');

// --------------------------------------------------------------- Zicsr -----
for (const [n, fn] of [['csrrw', 1], ['csrrs', 2], ['csrrc', 3]] as const)
  add(n, M_F3, OP_SYSTEM | f3(fn), 'CSR', 'zicsr');
for (const [n, fn] of [['csrrwi', 5], ['csrrsi', 6], ['csrrci', 7]] as const)
  add(n, M_F3, OP_SYSTEM | f3(fn), 'CSRI', 'zicsr');

// ---------------------------------------------------------------- RV64M ----
for (const [n, fn] of [
  ['mul', 0], ['mulh', 1], ['mulhsu', 2], ['mulhu', 3], ['div', 4], ['divu', 5], ['rem', 6], ['remu', 7],
] as const)
  add(n, M_F7F3, OP_OP | f3(fn) | f7(1), 'R', 'm');
for (const [n, fn] of [['mulw', 0], ['divw', 4], ['divuw', 5], ['remw', 6], ['remuw', 7]] as const)
  add(n, M_F7F3, OP_OP_32 | f3(fn) | f7(1), 'R', 'm');

// ---------------------------------------------------------------- RV64A ----
for (const [sfx, fn] of [['w', 2], ['d', 3]] as const) {
  add(`lr.${sfx}`, M_LR, OP_AMO | f3(fn) | (0x02 << 27), 'LR', 'a');
  add(`sc.${sfx}`, M_AMO, OP_AMO | f3(fn) | (0x03 << 27), 'AMO', 'a');
  for (const [n, f5] of [
    ['amoswap', 0x01], ['amoadd', 0x00], ['amoxor', 0x04], ['amoand', 0x0c], ['amoor', 0x08],
    ['amomin', 0x10], ['amomax', 0x14], ['amominu', 0x18], ['amomaxu', 0x1c],
  ] as const)
    add(`${n}.${sfx}`, M_AMO, OP_AMO | f3(fn) | (f5 << 27), 'AMO', 'a');
}

// ------------------------------------------------------------- RV64F/D -----
// fmt field (bits 26:25): S=00, D=01 (spec §11.2 / §12.2).
for (const [s, fmt, ext, ldf3] of [['s', 0, 'f', 2], ['d', 1, 'd', 3]] as const) {
  add(s === 's' ? 'flw' : 'fld', M_F3, OP_LOAD_FP | f3(ldf3), 'FLOAD', ext);
  add(s === 's' ? 'fsw' : 'fsd', M_F3, OP_STORE_FP | f3(ldf3), 'FSTORE', ext);
  add(`fmadd.${s}`, M_R4, OP_MADD | (fmt << 25), 'R4', ext);
  add(`fmsub.${s}`, M_R4, OP_MSUB | (fmt << 25), 'R4', ext);
  add(`fnmsub.${s}`, M_R4, OP_NMSUB | (fmt << 25), 'R4', ext);
  add(`fnmadd.${s}`, M_R4, OP_NMADD | (fmt << 25), 'R4', ext);
  const F = (funct5: number): number => f7((funct5 << 2) | fmt);
  add(`fadd.${s}`, M_F7, OP_OP_FP | F(0x00), 'FR', ext);
  add(`fsub.${s}`, M_F7, OP_OP_FP | F(0x01), 'FR', ext);
  add(`fmul.${s}`, M_F7, OP_OP_FP | F(0x02), 'FR', ext);
  add(`fdiv.${s}`, M_F7, OP_OP_FP | F(0x03), 'FR', ext);
  add(`fsqrt.${s}`, M_F7RS2, OP_OP_FP | F(0x0b), 'FR1', ext);
  add(`fsgnj.${s}`, M_F7F3, OP_OP_FP | F(0x04) | f3(0), 'FRN', ext);
  add(`fsgnjn.${s}`, M_F7F3, OP_OP_FP | F(0x04) | f3(1), 'FRN', ext);
  add(`fsgnjx.${s}`, M_F7F3, OP_OP_FP | F(0x04) | f3(2), 'FRN', ext);
  add(`fmin.${s}`, M_F7F3, OP_OP_FP | F(0x05) | f3(0), 'FRN', ext);
  add(`fmax.${s}`, M_F7F3, OP_OP_FP | F(0x05) | f3(1), 'FRN', ext);
  if (s === 's') {
    add('fcvt.s.d', M_F7RS2, OP_OP_FP | F(0x08) | rs2f(1), 'FCVT_FF', 'd');
  } else {
    add('fcvt.d.s', M_F7RS2, OP_OP_FP | F(0x08) | rs2f(0), 'FCVT_FF', 'd');
  }
  add(`feq.${s}`, M_F7F3, OP_OP_FP | F(0x14) | f3(2), 'FCMP', ext);
  add(`flt.${s}`, M_F7F3, OP_OP_FP | F(0x14) | f3(1), 'FCMP', ext);
  add(`fle.${s}`, M_F7F3, OP_OP_FP | F(0x14) | f3(0), 'FCMP', ext);
  add(`fclass.${s}`, M_F7RS2F3, OP_OP_FP | F(0x1c) | f3(1), 'FMV_XF', ext);
  for (const [t, r] of [['w', 0], ['wu', 1], ['l', 2], ['lu', 3]] as const) {
    add(`fcvt.${t}.${s}`, M_F7RS2, OP_OP_FP | F(0x18) | rs2f(r), 'FCVT_XF', ext);
    add(`fcvt.${s}.${t}`, M_F7RS2, OP_OP_FP | F(0x1a) | rs2f(r), 'FCVT_FX', ext);
  }
  add(s === 's' ? 'fmv.x.w' : 'fmv.x.d', M_F7RS2F3, OP_OP_FP | F(0x1c) | f3(0), 'FMV_XF', ext);
  add(s === 's' ? 'fmv.w.x' : 'fmv.d.x', M_F7RS2F3, OP_OP_FP | F(0x1e) | f3(0), 'FMV_FX', ext);
}

// --------------------------------------------------------- Privileged ------
// Privileged spec v20211203 §9 (instruction listing): full 32-bit encodings.
add('sret', M_ALL, 0x10200073, 'NONE', 's');
add('mret', M_ALL, 0x30200073, 'NONE', 'priv');
add('wfi', M_ALL, 0x10500073, 'NONE', 'priv');
add('sfence.vma', M_SFENCE, OP_SYSTEM | f7(0x09), 'SFENCE', 's');

// ---------------------------------------------------------- Hypervisor -----
// Privileged spec v20211203 §8.2.  HFENCE.* look like SFENCE.VMA with funct7
// 0x11 / 0x31; the loads/stores are SYSTEM with funct3=100 (PRIV-M-4).
add('hfence.vvma', M_SFENCE, OP_SYSTEM | f7(0x11), 'SFENCE', 'h');
add('hfence.gvma', M_SFENCE, OP_SYSTEM | f7(0x31), 'SFENCE', 'h');
for (const [n, f, r] of [
  ['hlv.b', 0x30, 0], ['hlv.bu', 0x30, 1],
  ['hlv.h', 0x32, 0], ['hlv.hu', 0x32, 1], ['hlvx.hu', 0x32, 3],
  ['hlv.w', 0x34, 0], ['hlv.wu', 0x34, 1], ['hlvx.wu', 0x34, 3],
  ['hlv.d', 0x36, 0],
] as const)
  add(n, M_F7RS2F3, OP_SYSTEM | f3(4) | f7(f) | rs2f(r), 'HLV', 'h');
for (const [n, f] of [['hsv.b', 0x31], ['hsv.h', 0x33], ['hsv.w', 0x35], ['hsv.d', 0x37]] as const)
  add(n, M_SFENCE, OP_SYSTEM | f3(4) | f7(f), 'HSV', 'h');

// ------------------------------------------------ from the instruction table ----
// Extensions added through insns.ts carry their encoding there.
for (const e of INSNS) if (e.enc !== undefined) add(e.name, e.enc.mask, e.enc.match, e.enc.fmt, e.ext);

export const OPCODES: readonly OpcodeDef[] = Object.freeze(defs);

// Bucket the table by the 7-bit major opcode (every mask includes bits 6:0)
// so that matchOpcode is a short linear scan.  Order within a bucket is the
// table order, so "first matching def" semantics are preserved.
const buckets: OpcodeDef[][] = Array.from({ length: 128 }, () => []);
for (const d of defs) {
  if ((d.mask & 0x7f) !== 0x7f) throw new Error(`opcode table: ${d.name} mask lacks major opcode`);
  buckets[d.match & 0x7f]!.push(d);
}

/** First def with `(insn & mask) === match`, or undefined (illegal/unknown). */
export function matchOpcode(insn: number): OpcodeDef | undefined {
  const b = buckets[insn & 0x7f]!;
  for (let k = 0; k < b.length; k++) {
    const d = b[k]!;
    if (((insn & d.mask) >>> 0) === d.match) return d;
  }
  return undefined;
}

// ------------------------------------------------------- Field extractors --
// Unprivileged spec v20191213 §2.3, Figure 2.4 (immediate encodings).
export const rd = (i: number): number => (i >>> 7) & 0x1f;
export const rs1 = (i: number): number => (i >>> 15) & 0x1f;
export const rs2 = (i: number): number => (i >>> 20) & 0x1f;
export const rs3 = (i: number): number => (i >>> 27) & 0x1f;
export const funct3 = (i: number): number => (i >>> 12) & 7;
export const funct7 = (i: number): number => (i >>> 25) & 0x7f;
/** FP rounding mode field (bits 14:12). */
export const rmOf = (i: number): number => (i >>> 12) & 7;
/** RV64 6-bit shift amount (bits 25:20). */
export const shamt6 = (i: number): number => (i >>> 20) & 0x3f;
/** RV32/W 5-bit shift amount (bits 24:20). */
export const shamt5 = (i: number): number => (i >>> 20) & 0x1f;
/** CSR address (bits 31:20, unsigned). */
export const csrOf = (i: number): number => (i >>> 20) & 0xfff;
/** I-type immediate: inst[31:20], sign-extended. */
export const immI = (i: number): number => i >> 20;
/** S-type immediate: inst[31:25] | inst[11:7], sign-extended. */
export const immS = (i: number): number => ((i >> 25) << 5) | ((i >>> 7) & 0x1f);
/** B-type immediate: imm[12|10:5] = inst[31|30:25], imm[4:1|11] = inst[11:8|7]. */
export const immB = (i: number): number =>
  ((i >> 31) << 12) | (((i >>> 7) & 1) << 11) | (((i >>> 25) & 0x3f) << 5) | (((i >>> 8) & 0xf) << 1);
/** U-type immediate: inst[31:12] << 12 as a sign-extended int32. */
export const immU = (i: number): number => i & 0xfffff000 | 0;
/** J-type immediate: imm[20|10:1|11|19:12] = inst[31|30:21|20|19:12]. */
export const immJ = (i: number): number =>
  ((i >> 31) << 20) | (((i >>> 12) & 0xff) << 12) | (((i >>> 20) & 1) << 11) | (((i >>> 21) & 0x3ff) << 1);
/** AMO ordering bits. */
export const aqOf = (i: number): number => (i >>> 26) & 1;
export const rlOf = (i: number): number => (i >>> 25) & 1;
