/**
 * Test harness for architectural hart tests: a small in-TS RISC-V assembler (RV64GC subset,
 * enough for the tests), a fixed memory layout with trap stubs, a step-wise runner that stops
 * at well-defined addresses, and helpers for page tables, PMP and register/CSR inspection.
 *
 * Layout of every test image (loaded raw at 0x8000_0000, the hart starts there in M-mode):
 *
 *   0x8000_0000  j start
 *   0x8000_0100  mtrap:  j mtrap          (default mtvec: "stop on a trap into M")
 *   0x8000_0200  mskip:  mepc += insn length; mret   (uses t5/t6)
 *   0x8000_1000  strap:  j strap          (default stvec: "stop on a trap into S")
 *   0x8000_1100  sskip:  sepc += insn length; sret   (uses t5/t6)
 *   0x8000_1800  vstrap: j vstrap         (H: default vstvec of guest(): "stop on a trap into VS")
 *   0x8000_1900  vsskip: sepc (= vsepc when V=1) += insn length; sret
 *   0x8000_2000  start:  <test body> ; done: j done
 *
 *   0x8010_0000  DATA    scratch data area (zeroed)
 *   0x8020_0000  PT_POOL page-table pool used by PageTable
 *
 * The runner executes one instruction at a time and stops when the pc reaches `done`,
 * `mtrap` or `strap`, when the hart parks in WFI, or after a step limit. Every trap and
 * xRET is recorded through the hart observer (src/hart/observer.ts).
 *
 * Registers t5 (x30) and t6 (x31) are reserved for the harness's handlers and macros.
 */
import { Machine, type MachineConfig } from '../../src/board/machine.js';
import { HartState, type Hart } from '../../src/hart/hart.js';
import type { HartObserver } from '../../src/hart/observer.js';
import { CSR } from '../../src/hart/constants.js';

export { CSR };

// ---------------------------------------------------------------------------------------------
// Registers
// ---------------------------------------------------------------------------------------------
export const zero = 0, ra = 1, sp = 2, gp = 3, tp = 4, t0 = 5, t1 = 6, t2 = 7, s0 = 8, s1 = 9;
export const a0 = 10, a1 = 11, a2 = 12, a3 = 13, a4 = 14, a5 = 15, a6 = 16, a7 = 17;
export const s2 = 18, s3 = 19, s4 = 20, s5 = 21, s6 = 22, s7 = 23, s8 = 24, s9 = 25, s10 = 26, s11 = 27;
export const t3 = 28, t4 = 29, t5 = 30, t6 = 31;

// Privilege levels.
export const PRV_U = 0, PRV_S = 1, PRV_M = 3;

// Rounding modes.
export const RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7;

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------
export const RAM_BASE = 0x8000_0000;
export const MTRAP = RAM_BASE + 0x100;
export const MSKIP = RAM_BASE + 0x200;
export const STRAP = RAM_BASE + 0x1000;
export const SSKIP = RAM_BASE + 0x1100;
export const START = RAM_BASE + 0x2000;
export const DATA = RAM_BASE + 0x10_0000;
export const PT_POOL = RAM_BASE + 0x20_0000;
export const TEST_DEV = 0x10_0000;
/** H extension: VS-mode trap stub ("stop on a trap into VS") and VS skip handler (vsepc via sepc, sret). */
export const VSTRAP = RAM_BASE + 0x1800;
export const VSSKIP = RAM_BASE + 0x1900;
/** Pool for G-stage (Sv39x4/Sv48x4) tables: 16 KiB-aligned root (priv §8.5.1). */
export const G_POOL = RAM_BASE + 0x30_0000;
export const CLINT = 0x200_0000;

// ---------------------------------------------------------------------------------------------
// Instruction encoders (unprivileged spec 20191213, §2.2-2.3, Figure 2.3/2.4)
// ---------------------------------------------------------------------------------------------
function checkReg(r: number): void {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new Error(`bad register ${r}`);
}
function checkSigned(v: number, bits: number, what: string): void {
  const lim = 2 ** (bits - 1);
  if (!Number.isInteger(v) || v < -lim || v >= lim) throw new Error(`${what} ${v} does not fit ${bits} signed bits`);
}

export function encR(opcode: number, rd: number, f3: number, rs1: number, rs2: number, f7: number): number {
  [rd, rs1, rs2].forEach(checkReg);
  return ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
}
export function encI(opcode: number, rd: number, f3: number, rs1: number, imm: number): number {
  [rd, rs1].forEach(checkReg);
  checkSigned(imm, 12, 'I-immediate');
  return (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
}
export function encS(opcode: number, f3: number, rs1: number, rs2: number, imm: number): number {
  [rs1, rs2].forEach(checkReg);
  checkSigned(imm, 12, 'S-immediate');
  return ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | opcode) >>> 0;
}
export function encB(f3: number, rs1: number, rs2: number, imm: number): number {
  [rs1, rs2].forEach(checkReg);
  checkSigned(imm, 13, 'branch offset');
  if (imm & 1) throw new Error('branch offset must be even');
  return ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;
}
/** U-type: `imm20` is the value placed in bits 31:12 (0..0xfffff, or a negative 20-bit value). */
export function encU(opcode: number, rd: number, imm20: number): number {
  checkReg(rd);
  if (!Number.isInteger(imm20) || imm20 < -0x80000 || imm20 > 0xfffff) throw new Error(`bad U immediate ${imm20}`);
  return (((imm20 & 0xfffff) << 12) | (rd << 7) | opcode) >>> 0;
}
export function encJ(rd: number, imm: number): number {
  checkReg(rd);
  checkSigned(imm, 21, 'jump offset');
  if (imm & 1) throw new Error('jump offset must be even');
  return ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;
}
export function encCsr(f3: number, rd: number, csr: number, rs1OrUimm: number): number {
  checkReg(rd);
  checkReg(rs1OrUimm);
  if (!Number.isInteger(csr) || csr < 0 || csr > 0xfff) throw new Error(`bad CSR number ${csr}`);
  return ((csr << 20) | (rs1OrUimm << 15) | (f3 << 12) | (rd << 7) | 0x73) >>> 0;
}
export function encAmo(funct5: number, f3: number, rd: number, rs1: number, rs2: number, aq = 0, rl = 0): number {
  [rd, rs1, rs2].forEach(checkReg);
  return ((funct5 << 27) | (aq << 26) | (rl << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x2f) >>> 0;
}
/** OP-FP: funct5, fmt (0 = S, 1 = D), funct3/rm. */
export function encFp(funct5: number, fmt: number, rd: number, rs1: number, rs2: number, rm: number): number {
  return encR(0x53, rd, rm, rs1, rs2, (funct5 << 2) | fmt);
}
export function encR4(opcode: number, fmt: number, rd: number, rs1: number, rs2: number, rs3: number, rm: number): number {
  [rd, rs1, rs2, rs3].forEach(checkReg);
  return ((rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opcode) >>> 0;
}

// Fixed encodings.
export const ECALL = 0x00000073;
export const EBREAK = 0x00100073;
export const SRET = 0x10200073;
export const MRET = 0x30200073;
export const WFI = 0x10500073;
export const NOP = 0x00000013;

// ---------------------------------------------------------------------------------------------
// Assembler
// ---------------------------------------------------------------------------------------------
type Target = string | number;

/** sign-extend the low 12 bits */
const sext12 = (v: number): number => ((v & 0xfff) << 20) >> 20;

export class Asm {
  readonly base: number;
  private bytes: number[] = [];
  private labels = new Map<string, number>();
  private fixups: { off: number; len: 2 | 4; fn: () => number }[] = [];

  constructor(base = RAM_BASE) {
    this.base = base;
  }

  /** Address of the next instruction. */
  get here(): number {
    return this.base + this.bytes.length;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`duplicate label ${name}`);
    this.labels.set(name, this.here);
    return this;
  }
  /** Address of a label (only after it is defined; use in fixups or after assembly). */
  addr(t: Target): number {
    if (typeof t === 'number') return t;
    const a = this.labels.get(t);
    if (a === undefined) throw new Error(`undefined label ${t}`);
    return a;
  }
  hasLabel(name: string): boolean {
    return this.labels.has(name);
  }

  // ---- raw emission ----
  word(w: number): this {
    w >>>= 0;
    this.bytes.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff);
    return this;
  }
  half(h: number): this {
    this.bytes.push(h & 0xff, (h >>> 8) & 0xff);
    return this;
  }
  dword(v: bigint): this {
    const u = BigInt.asUintN(64, v);
    this.word(Number(u & 0xffffffffn));
    return this.word(Number(u >> 32n));
  }
  /** Pad with zero bytes up to absolute address `addr`. */
  org(addr: number): this {
    if (addr < this.here) throw new Error(`org 0x${addr.toString(16)} is behind 0x${this.here.toString(16)}`);
    while (this.here < addr) this.bytes.push(0);
    return this;
  }
  align(n: number): this {
    while (this.here % n !== 0) this.bytes.push(0);
    return this;
  }
  private fix(len: 2 | 4, fn: () => number): this {
    this.fixups.push({ off: this.bytes.length, len, fn });
    return len === 4 ? this.word(0) : this.half(0);
  }
  /** Emit a word computed at assembly time from the instruction's own address (labels may be forward). */
  private rel(fn: (pc: number) => number): this {
    const pc = this.here;
    return this.fix(4, () => fn(pc));
  }

  /** Finish: resolve fixups, return the image. */
  assemble(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    for (const f of this.fixups) {
      const v = f.fn() >>> 0;
      out[f.off] = v & 0xff;
      out[f.off + 1] = (v >>> 8) & 0xff;
      if (f.len === 4) {
        out[f.off + 2] = (v >>> 16) & 0xff;
        out[f.off + 3] = (v >>> 24) & 0xff;
      }
    }
    return out;
  }

  // ---- RV64I ----
  lui(rd: number, imm20: number): this { return this.word(encU(0x37, rd, imm20)); }
  auipc(rd: number, imm20: number): this { return this.word(encU(0x17, rd, imm20)); }
  jal(rd: number, t: Target): this { return this.rel((pc) => encJ(rd, this.addr(t) - pc)); }
  jalr(rd: number, rs1: number, imm = 0): this { return this.word(encI(0x67, rd, 0, rs1, imm)); }
  private br(f3: number, rs1: number, rs2: number, t: Target): this {
    return this.rel((pc) => encB(f3, rs1, rs2, this.addr(t) - pc));
  }
  beq(rs1: number, rs2: number, t: Target): this { return this.br(0, rs1, rs2, t); }
  bne(rs1: number, rs2: number, t: Target): this { return this.br(1, rs1, rs2, t); }
  blt(rs1: number, rs2: number, t: Target): this { return this.br(4, rs1, rs2, t); }
  bge(rs1: number, rs2: number, t: Target): this { return this.br(5, rs1, rs2, t); }
  bltu(rs1: number, rs2: number, t: Target): this { return this.br(6, rs1, rs2, t); }
  bgeu(rs1: number, rs2: number, t: Target): this { return this.br(7, rs1, rs2, t); }
  private ld_(f3: number, rd: number, rs1: number, imm: number): this { return this.word(encI(0x03, rd, f3, rs1, imm)); }
  lb(rd: number, imm: number, rs1: number): this { return this.ld_(0, rd, rs1, imm); }
  lh(rd: number, imm: number, rs1: number): this { return this.ld_(1, rd, rs1, imm); }
  lw(rd: number, imm: number, rs1: number): this { return this.ld_(2, rd, rs1, imm); }
  ld(rd: number, imm: number, rs1: number): this { return this.ld_(3, rd, rs1, imm); }
  lbu(rd: number, imm: number, rs1: number): this { return this.ld_(4, rd, rs1, imm); }
  lhu(rd: number, imm: number, rs1: number): this { return this.ld_(5, rd, rs1, imm); }
  lwu(rd: number, imm: number, rs1: number): this { return this.ld_(6, rd, rs1, imm); }
  sb(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x23, 0, rs1, rs2, imm)); }
  sh(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x23, 1, rs1, rs2, imm)); }
  sw(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x23, 2, rs1, rs2, imm)); }
  sd(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x23, 3, rs1, rs2, imm)); }
  addi(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 0, rs1, imm)); }
  slti(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 2, rs1, imm)); }
  sltiu(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 3, rs1, imm)); }
  xori(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 4, rs1, imm)); }
  ori(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 6, rs1, imm)); }
  andi(rd: number, rs1: number, imm: number): this { return this.word(encI(0x13, rd, 7, rs1, imm)); }
  private shi(f3: number, hi6: number, rd: number, rs1: number, sh: number, w: boolean): this {
    const max = w ? 31 : 63;
    if (!Number.isInteger(sh) || sh < 0 || sh > max) throw new Error(`bad shift amount ${sh}`);
    checkReg(rd); checkReg(rs1);
    return this.word(((hi6 << 26) | (sh << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | (w ? 0x1b : 0x13)) >>> 0);
  }
  slli(rd: number, rs1: number, sh: number): this { return this.shi(1, 0, rd, rs1, sh, false); }
  srli(rd: number, rs1: number, sh: number): this { return this.shi(5, 0, rd, rs1, sh, false); }
  srai(rd: number, rs1: number, sh: number): this { return this.shi(5, 0x10, rd, rs1, sh, false); }
  slliw(rd: number, rs1: number, sh: number): this { return this.shi(1, 0, rd, rs1, sh, true); }
  srliw(rd: number, rs1: number, sh: number): this { return this.shi(5, 0, rd, rs1, sh, true); }
  sraiw(rd: number, rs1: number, sh: number): this { return this.shi(5, 0x10, rd, rs1, sh, true); }
  addiw(rd: number, rs1: number, imm: number): this { return this.word(encI(0x1b, rd, 0, rs1, imm)); }
  private op(f3: number, f7: number, rd: number, rs1: number, rs2: number): this { return this.word(encR(0x33, rd, f3, rs1, rs2, f7)); }
  private op32(f3: number, f7: number, rd: number, rs1: number, rs2: number): this { return this.word(encR(0x3b, rd, f3, rs1, rs2, f7)); }
  add(rd: number, rs1: number, rs2: number): this { return this.op(0, 0, rd, rs1, rs2); }
  sub(rd: number, rs1: number, rs2: number): this { return this.op(0, 0x20, rd, rs1, rs2); }
  sll(rd: number, rs1: number, rs2: number): this { return this.op(1, 0, rd, rs1, rs2); }
  slt(rd: number, rs1: number, rs2: number): this { return this.op(2, 0, rd, rs1, rs2); }
  sltu(rd: number, rs1: number, rs2: number): this { return this.op(3, 0, rd, rs1, rs2); }
  xor(rd: number, rs1: number, rs2: number): this { return this.op(4, 0, rd, rs1, rs2); }
  srl(rd: number, rs1: number, rs2: number): this { return this.op(5, 0, rd, rs1, rs2); }
  sra(rd: number, rs1: number, rs2: number): this { return this.op(5, 0x20, rd, rs1, rs2); }
  or(rd: number, rs1: number, rs2: number): this { return this.op(6, 0, rd, rs1, rs2); }
  and(rd: number, rs1: number, rs2: number): this { return this.op(7, 0, rd, rs1, rs2); }
  addw(rd: number, rs1: number, rs2: number): this { return this.op32(0, 0, rd, rs1, rs2); }
  subw(rd: number, rs1: number, rs2: number): this { return this.op32(0, 0x20, rd, rs1, rs2); }
  sllw(rd: number, rs1: number, rs2: number): this { return this.op32(1, 0, rd, rs1, rs2); }
  srlw(rd: number, rs1: number, rs2: number): this { return this.op32(5, 0, rd, rs1, rs2); }
  sraw(rd: number, rs1: number, rs2: number): this { return this.op32(5, 0x20, rd, rs1, rs2); }
  // ---- M ----
  mul(rd: number, rs1: number, rs2: number): this { return this.op(0, 1, rd, rs1, rs2); }
  mulh(rd: number, rs1: number, rs2: number): this { return this.op(1, 1, rd, rs1, rs2); }
  mulhsu(rd: number, rs1: number, rs2: number): this { return this.op(2, 1, rd, rs1, rs2); }
  mulhu(rd: number, rs1: number, rs2: number): this { return this.op(3, 1, rd, rs1, rs2); }
  div(rd: number, rs1: number, rs2: number): this { return this.op(4, 1, rd, rs1, rs2); }
  divu(rd: number, rs1: number, rs2: number): this { return this.op(5, 1, rd, rs1, rs2); }
  rem(rd: number, rs1: number, rs2: number): this { return this.op(6, 1, rd, rs1, rs2); }
  remu(rd: number, rs1: number, rs2: number): this { return this.op(7, 1, rd, rs1, rs2); }
  mulw(rd: number, rs1: number, rs2: number): this { return this.op32(0, 1, rd, rs1, rs2); }
  divw(rd: number, rs1: number, rs2: number): this { return this.op32(4, 1, rd, rs1, rs2); }
  divuw(rd: number, rs1: number, rs2: number): this { return this.op32(5, 1, rd, rs1, rs2); }
  remw(rd: number, rs1: number, rs2: number): this { return this.op32(6, 1, rd, rs1, rs2); }
  remuw(rd: number, rs1: number, rs2: number): this { return this.op32(7, 1, rd, rs1, rs2); }
  // ---- misc / system ----
  fence(): this { return this.word(0x0ff0000f); }
  fence_i(): this { return this.word(0x0000100f); }
  ecall(): this { return this.word(ECALL); }
  ebreak(): this { return this.word(EBREAK); }
  mret(): this { return this.word(MRET); }
  sret(): this { return this.word(SRET); }
  wfi(): this { return this.word(WFI); }
  sfence_vma(rs1 = 0, rs2 = 0): this { return this.word(encR(0x73, 0, 0, rs1, rs2, 0x09)); }
  // ---- H extension (priv spec §8.3): SYSTEM opcode; HLV/HLVX/HSV use funct3 = 100, HFENCE funct3 = 000 ----
  hfence_vvma(rs1 = 0, rs2 = 0): this { return this.word(encR(0x73, 0, 0, rs1, rs2, 0x11)); }
  hfence_gvma(rs1 = 0, rs2 = 0): this { return this.word(encR(0x73, 0, 0, rs1, rs2, 0x31)); }
  private hlv(f7: number, sel: number, rd: number, rs1: number): this { return this.word(encR(0x73, rd, 4, rs1, sel, f7)); }
  hlv_b(rd: number, rs1: number): this { return this.hlv(0x30, 0, rd, rs1); }
  hlv_bu(rd: number, rs1: number): this { return this.hlv(0x30, 1, rd, rs1); }
  hlv_h(rd: number, rs1: number): this { return this.hlv(0x32, 0, rd, rs1); }
  hlv_hu(rd: number, rs1: number): this { return this.hlv(0x32, 1, rd, rs1); }
  hlvx_hu(rd: number, rs1: number): this { return this.hlv(0x32, 3, rd, rs1); }
  hlv_w(rd: number, rs1: number): this { return this.hlv(0x34, 0, rd, rs1); }
  hlv_wu(rd: number, rs1: number): this { return this.hlv(0x34, 1, rd, rs1); }
  hlvx_wu(rd: number, rs1: number): this { return this.hlv(0x34, 3, rd, rs1); }
  hlv_d(rd: number, rs1: number): this { return this.hlv(0x36, 0, rd, rs1); }
  /** hsv.x rs2, (rs1) */
  hsv_b(rs2: number, rs1: number): this { return this.word(encR(0x73, 0, 4, rs1, rs2, 0x31)); }
  hsv_h(rs2: number, rs1: number): this { return this.word(encR(0x73, 0, 4, rs1, rs2, 0x33)); }
  hsv_w(rs2: number, rs1: number): this { return this.word(encR(0x73, 0, 4, rs1, rs2, 0x35)); }
  hsv_d(rs2: number, rs1: number): this { return this.word(encR(0x73, 0, 4, rs1, rs2, 0x37)); }
  csrrw(rd: number, csr: number, rs1: number): this { return this.word(encCsr(1, rd, csr, rs1)); }
  csrrs(rd: number, csr: number, rs1: number): this { return this.word(encCsr(2, rd, csr, rs1)); }
  csrrc(rd: number, csr: number, rs1: number): this { return this.word(encCsr(3, rd, csr, rs1)); }
  csrrwi(rd: number, csr: number, uimm: number): this { return this.word(encCsr(5, rd, csr, uimm)); }
  csrrsi(rd: number, csr: number, uimm: number): this { return this.word(encCsr(6, rd, csr, uimm)); }
  csrrci(rd: number, csr: number, uimm: number): this { return this.word(encCsr(7, rd, csr, uimm)); }
  csrr(rd: number, csr: number): this { return this.csrrs(rd, csr, zero); }
  csrw(csr: number, rs1: number): this { return this.csrrw(zero, csr, rs1); }
  csrs(csr: number, rs1: number): this { return this.csrrs(zero, csr, rs1); }
  csrc(csr: number, rs1: number): this { return this.csrrc(zero, csr, rs1); }
  csrwi(csr: number, uimm: number): this { return this.csrrwi(zero, csr, uimm); }
  csrsi(csr: number, uimm: number): this { return this.csrrsi(zero, csr, uimm); }
  csrci(csr: number, uimm: number): this { return this.csrrci(zero, csr, uimm); }
  // ---- A ----
  lr_w(rd: number, rs1: number, aq = 0, rl = 0): this { return this.word(encAmo(0x02, 2, rd, rs1, 0, aq, rl)); }
  lr_d(rd: number, rs1: number, aq = 0, rl = 0): this { return this.word(encAmo(0x02, 3, rd, rs1, 0, aq, rl)); }
  sc_w(rd: number, rs2: number, rs1: number): this { return this.word(encAmo(0x03, 2, rd, rs1, rs2)); }
  sc_d(rd: number, rs2: number, rs1: number): this { return this.word(encAmo(0x03, 3, rd, rs1, rs2)); }
  /** amo<op>.<w|d> rd, rs2, (rs1) */
  amo(name: AmoName, width: 'w' | 'd', rd: number, rs2: number, rs1: number): this {
    return this.word(encAmo(AMO_FUNCT5[name], width === 'w' ? 2 : 3, rd, rs1, rs2));
  }
  // ---- F / D ----
  flw(rd: number, imm: number, rs1: number): this { return this.word(encI(0x07, rd, 2, rs1, imm)); }
  fld(rd: number, imm: number, rs1: number): this { return this.word(encI(0x07, rd, 3, rs1, imm)); }
  fsw(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x27, 2, rs1, rs2, imm)); }
  fsd(rs2: number, imm: number, rs1: number): this { return this.word(encS(0x27, 3, rs1, rs2, imm)); }
  fadd_s(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x00, 0, rd, rs1, rs2, rm)); }
  fsub_s(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x01, 0, rd, rs1, rs2, rm)); }
  fmul_s(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x02, 0, rd, rs1, rs2, rm)); }
  fdiv_s(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x03, 0, rd, rs1, rs2, rm)); }
  fsqrt_s(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x0b, 0, rd, rs1, 0, rm)); }
  fadd_d(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x00, 1, rd, rs1, rs2, rm)); }
  fmul_d(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x02, 1, rd, rs1, rs2, rm)); }
  fdiv_d(rd: number, rs1: number, rs2: number, rm = DYN): this { return this.word(encFp(0x03, 1, rd, rs1, rs2, rm)); }
  fsgnj_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x04, 0, rd, rs1, rs2, 0)); }
  fsgnjn_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x04, 0, rd, rs1, rs2, 1)); }
  fsgnjx_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x04, 0, rd, rs1, rs2, 2)); }
  fmin_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x05, 0, rd, rs1, rs2, 0)); }
  fmax_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x05, 0, rd, rs1, rs2, 1)); }
  feq_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x14, 0, rd, rs1, rs2, 2)); }
  flt_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x14, 0, rd, rs1, rs2, 1)); }
  fle_s(rd: number, rs1: number, rs2: number): this { return this.word(encFp(0x14, 0, rd, rs1, rs2, 0)); }
  fclass_s(rd: number, rs1: number): this { return this.word(encFp(0x1c, 0, rd, rs1, 0, 1)); }
  fmv_x_w(rd: number, rs1: number): this { return this.word(encFp(0x1c, 0, rd, rs1, 0, 0)); }
  fmv_w_x(rd: number, rs1: number): this { return this.word(encFp(0x1e, 0, rd, rs1, 0, 0)); }
  fmv_x_d(rd: number, rs1: number): this { return this.word(encFp(0x1c, 1, rd, rs1, 0, 0)); }
  fmv_d_x(rd: number, rs1: number): this { return this.word(encFp(0x1e, 1, rd, rs1, 0, 0)); }
  fcvt_w_s(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x18, 0, rd, rs1, 0, rm)); }
  fcvt_wu_s(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x18, 0, rd, rs1, 1, rm)); }
  fcvt_l_s(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x18, 0, rd, rs1, 2, rm)); }
  fcvt_s_w(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x1a, 0, rd, rs1, 0, rm)); }
  fcvt_w_d(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x18, 1, rd, rs1, 0, rm)); }
  fcvt_d_s(rd: number, rs1: number, rm = RNE): this { return this.word(encFp(0x08, 1, rd, rs1, 0, rm)); }
  fcvt_s_d(rd: number, rs1: number, rm = DYN): this { return this.word(encFp(0x08, 0, rd, rs1, 1, rm)); }
  fmadd_s(rd: number, rs1: number, rs2: number, rs3: number, rm = DYN): this { return this.word(encR4(0x43, 0, rd, rs1, rs2, rs3, rm)); }
  // ---- C (raw 16-bit words plus a few encoders, unprivileged spec §16) ----
  c(h: number): this { return this.half(h); }
  c_nop(): this { return this.half(0x0001); }
  c_ebreak(): this { return this.half(0x9002); }
  c_addi(rd: number, imm: number): this {
    checkSigned(imm, 6, 'c.addi immediate');
    return this.half((((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 0x1f) << 2) | 0x1);
  }
  c_li(rd: number, imm: number): this {
    checkSigned(imm, 6, 'c.li immediate');
    return this.half((2 << 13) | (((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 0x1f) << 2) | 0x1);
  }
  c_mv(rd: number, rs2: number): this { return this.half(0x8002 | (rd << 7) | (rs2 << 2)); }
  c_add(rd: number, rs2: number): this { return this.half(0x9002 | (rd << 7) | (rs2 << 2)); }

  // ---- pseudo-instructions ----
  nop(): this { return this.word(NOP); }
  mv(rd: number, rs: number): this { return this.addi(rd, rs, 0); }
  j(t: Target): this { return this.jal(zero, t); }
  ret(): this { return this.jalr(zero, ra, 0); }
  /** Load any 64-bit constant (lui/addiw, then shifts and addis). */
  li(rd: number, value: bigint | number): this {
    const v = BigInt.asIntN(64, BigInt(value));
    if (v >= -2048n && v < 2048n) return this.addi(rd, zero, Number(v));
    if (v >= -(1n << 31n) && v < (1n << 31n)) {
      const n = Number(v);
      const lo = sext12(n);
      const hi = ((n - lo) >>> 12) & 0xfffff;
      this.lui(rd, hi);
      if (lo !== 0) this.addiw(rd, rd, lo);
      return this;
    }
    const lo = sext12(Number(v & 0xfffn));
    let rest = (v - BigInt(lo)) >> 12n;
    let shift = 12;
    while ((rest & 1n) === 0n) { rest >>= 1n; shift++; }
    this.li(rd, rest);
    this.slli(rd, rd, shift);
    if (lo !== 0) this.addi(rd, rd, lo);
    return this;
  }
  /** rd = address of a label (auipc + addi, pc-relative). */
  la(rd: number, t: Target): this {
    const pc = this.here;
    const parts = (): { hi: number; lo: number } => {
      const off = this.addr(t) - pc;
      const lo = sext12(off);
      return { hi: ((off - lo) >> 12) & 0xfffff, lo };
    };
    this.fix(4, () => encU(0x17, rd, parts().hi));
    return this.fix(4, () => encI(0x13, rd, 0, rd, parts().lo));
  }
  /**
   * Leave M-mode for privilege `priv` at `t` via mret (sets MPP and mepc; uses t6).
   * MPIE is left as it is.
   */
  enter(priv: number, t: Target): this {
    this.li(t6, 3 << 11).csrc(CSR.mstatus, t6);
    if (priv !== 0) this.li(t6, priv << 11).csrs(CSR.mstatus, t6);
    return this.la(t6, t).csrw(CSR.mepc, t6).mret();
  }
  /**
   * Leave M-mode for VS-mode (priv = S) or VU-mode (priv = U) at `t` via mret with MPV = 1
   * (priv spec §8.6.4, Table 8.8; uses t6). MPIE is left as it is.
   */
  enterV(priv: number, t: Target): this {
    this.li(t6, 1n << 39n).csrs(CSR.mstatus, t6);
    return this.enter(priv, t);
  }
}

export type AmoName = 'swap' | 'add' | 'xor' | 'and' | 'or' | 'min' | 'max' | 'minu' | 'maxu';
const AMO_FUNCT5: Record<AmoName, number> = {
  swap: 0x01, add: 0x00, xor: 0x04, and: 0x0c, or: 0x08, min: 0x10, max: 0x14, minu: 0x18, maxu: 0x1c,
};

// ---------------------------------------------------------------------------------------------
// The standard image
// ---------------------------------------------------------------------------------------------
/** Emit a "skip the trapping instruction and return" handler for M (mepc) or S (sepc). */
function emitSkip(a: Asm, epc: number, ret: 'mret' | 'sret'): void {
  a.csrr(t6, epc);
  a.lhu(t5, 0, t6);
  a.andi(t5, t5, 3);
  a.addi(t6, t6, 2);
  a.addi(t5, t5, -3);
  a.bne(t5, zero, a.here + 8);
  a.addi(t6, t6, 2);
  a.csrw(epc, t6);
  if (ret === 'mret') a.mret(); else a.sret();
}

/**
 * Build the standard image. `body` assembles the test starting at START; `done` is appended
 * after it. Labels `mtrap`, `mskip`, `strap`, `sskip`, `vstrap`, `vsskip`, `start`, `done` are defined.
 */
export function buildImage(body: (a: Asm) => void): { image: Uint8Array; asm: Asm } {
  const a = new Asm(RAM_BASE);
  a.j('start');
  a.org(MTRAP).label('mtrap').j('mtrap');
  a.org(MSKIP).label('mskip');
  emitSkip(a, CSR.mepc, 'mret');
  a.org(STRAP).label('strap').j('strap');
  a.org(SSKIP).label('sskip');
  emitSkip(a, CSR.sepc, 'sret');
  // H extension: VS-level stubs (sepc/sret executed with V = 1 access vsepc / return within V = 1).
  a.org(VSTRAP).label('vstrap').j('vstrap');
  a.org(VSSKIP).label('vsskip');
  emitSkip(a, CSR.sepc, 'sret');
  a.org(START).label('start');
  body(a);
  a.label('done').j('done');
  return { image: a.assemble(), asm: a };
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------
export interface TrapRecord {
  cause: number;
  interrupt: boolean;
  epc: bigint;
  tval: bigint;
  from: number;
  to: number;
  /** Handler address the pc was set to. */
  pc: bigint;
}
export interface RetRecord {
  insn: 'mret' | 'sret';
  from: number;
  to: number;
  pc: bigint;
}
export type StopReason = 'done' | 'mtrap' | 'strap' | 'vstrap' | 'stop' | 'wfi' | 'limit' | 'halt' | 'fatal';

export interface SimOptions {
  /**
   * Program PMP entry 0 as NAPOT over the whole address space with RWX (what OpenSBI does), so
   * S/U accesses are not denied by PMP. Default true; PMP tests turn it off.
   */
  pmpAllowAll?: boolean;
  /** mtvec value (default: the `mtrap` stub). */
  mtvec?: number | bigint;
  /** stvec value (default: the `strap` stub). */
  stvec?: number | bigint;
  /** Initial x registers. */
  regs?: Record<number, bigint | number>;
  /** RAM size in MiB (default 16). */
  ramMiB?: number;
  /** Number of harts (default 1). All start at RAM_BASE with a0 = hartid; only hart 0 is run by `run()`. */
  harts?: number;
  /** AIA in place of the PLIC (MachineConfig.aia). */
  aia?: MachineConfig['aia'];
  /** The harts have Sscofpmf (MachineConfig.sscofpmf; default off, as QEMU 7.2's default CPU). */
  sscofpmf?: boolean;
  /** Block translator on/off and its hotness threshold (MachineConfig.jit / jitHot). */
  jit?: boolean;
  jitHot?: number;
}

export class Sim {
  readonly m: Machine;
  readonly h: Hart;
  readonly asm: Asm;
  readonly traps: TrapRecord[] = [];
  readonly rets: RetRecord[] = [];
  stop: StopReason | null = null;

  constructor(body: (a: Asm) => void, opts: SimOptions = {}) {
    const { image, asm } = buildImage(body);
    this.asm = asm;
    this.m = new Machine({
      ramSize: (opts.ramMiB ?? 16) * 1024 * 1024,
      harts: opts.harts ?? 1,
      bios: 'none',
      kernel: { name: 'hart-test', bytes: image },
      ...(opts.aia ? { aia: opts.aia } : {}),
      ...(opts.sscofpmf ? { sscofpmf: true } : {}),
      ...(opts.jit !== undefined ? { jit: opts.jit } : {}),
      ...(opts.jitHot !== undefined ? { jitHot: opts.jitHot } : {}),
    });
    const h = this.m.harts[0]!;
    this.h = h;
    for (const hh of this.m.harts) {
      // Start at the image (RAM_BASE) with a0 = hart id, a1 = DTB, as the reset ROM would leave
      // them, without running it: the tests count instructions from their own first one.
      hh.pc = RAM_BASE;
      hh.setX(10, BigInt(hh.id));
      hh.setX(11, BigInt(this.m.dtbAddr));
      hh.csrSet(CSR.mtvec, BigInt(opts.mtvec ?? MTRAP), 'firmware');
      hh.csrSet(CSR.stvec, BigInt(opts.stvec ?? STRAP), 'firmware');
      if (opts.pmpAllowAll ?? true) {
        hh.csrSet(CSR.pmpaddr0, (1n << 54n) - 1n, 'firmware');
        hh.csrSet(CSR.pmpcfg0, 0x1fn, 'firmware'); // A = NAPOT, RWX
      }
      for (const [k, v] of Object.entries(opts.regs ?? {})) hh.setX(Number(k), BigInt(v));
    }
    const self = this;
    const obs: HartObserver = {
      trap(hh, cause, interrupt, epc, tval, from, to) {
        self.traps.push({ cause, interrupt, epc, tval, from, to, pc: hh.getPc() });
      },
      trapReturn(hh, insn, from, to) {
        self.rets.push({ insn, from, to, pc: hh.getPc() });
      },
      csrWrite() {},
      mmio() {},
      irqLine() {},
      sbiCall() {},
      hartState() {},
    };
    h.obs = obs;
  }

  /** Address of a label of the image. */
  addr(label: string): number {
    return this.asm.addr(label);
  }

  /**
   * Run one instruction at a time until the pc reaches `done`, `mtrap` or `strap` (or one of
   * `extraStops`), the hart parks in WFI, the machine halts, or `maxSteps` steps were taken.
   */
  run(opts: { maxSteps?: number; extraStops?: number[] } = {}): StopReason {
    const h = this.h;
    const stops = new Map<number, StopReason>([
      [this.addr('done'), 'done'],
      [MTRAP, 'mtrap'],
      [STRAP, 'strap'],
      [VSTRAP, 'vstrap'],
    ]);
    const extra = new Set(opts.extraStops ?? []);
    const max = opts.maxSteps ?? 100_000;
    this.stop = 'limit';
    for (let i = 0; i < max; i++) {
      if (this.m.halted) { this.stop = 'halt'; break; }
      if (h.fatal !== null) { this.stop = 'fatal'; break; }
      if (h.runState === HartState.Wfi) { this.stop = 'wfi'; break; }
      const s = stops.get(h.pcNum());
      if (s !== undefined) { this.stop = s; break; }
      if (i > 0 && extra.has(h.pcNum())) { this.stop = 'stop'; break; }
      h.run(1);
    }
    if (this.stop === 'limit') {
      const s = stops.get(h.pcNum());
      if (h.runState === HartState.Wfi) this.stop = 'wfi';
      else if (s !== undefined) this.stop = s;
    }
    return this.stop;
  }

  /** Run hart `i` for exactly `n` steps (for multi-hart interleavings). */
  step(i: number, n = 1): void {
    const hh = this.m.harts[i]!;
    this.m.current = hh;
    for (let k = 0; k < n; k++) hh.run(1);
    this.m.current = this.h;
  }

  // ---- inspection ----
  /** x register as unsigned 64-bit. */
  x(i: number): bigint { return this.h.getX(i); }
  /** x register as signed 64-bit. */
  xs(i: number): bigint { return BigInt.asIntN(64, this.h.getX(i)); }
  setX(i: number, v: bigint | number): void { this.h.setX(i, BigInt(v)); }
  /** Raw 64-bit pattern of f register i. */
  f(i: number): bigint { return BigInt.asUintN(64, this.h.fb[i]!); }
  setF(i: number, bits: bigint): void { this.h.fb[i] = BigInt.asIntN(64, bits); }
  csr(num: number): bigint { return this.h.csrGet(num); }
  get pc(): bigint { return this.h.getPc(); }
  get priv(): number { return this.h.priv; }
  get lastTrap(): TrapRecord | undefined { return this.traps[this.traps.length - 1]; }

  // ---- physical memory ----
  read8(pa: number): number { return this.m.bus.readRam(pa, 1)[0]!; }
  read32(pa: number): number {
    const b = this.m.bus.readRam(pa, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }
  read64(pa: number): bigint {
    const b = this.m.bus.readRam(pa, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }
  write32(pa: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.m.bus.writeRam(pa, b);
  }
  write64(pa: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.m.bus.writeRam(pa, b);
  }
}

/** Build and run a program; returns the Sim after it stopped. */
export function runProgram(body: (a: Asm) => void, opts: SimOptions & { maxSteps?: number } = {}): Sim {
  const sim = new Sim(body, opts);
  sim.run({ maxSteps: opts.maxSteps });
  return sim;
}

// ---------------------------------------------------------------------------------------------
// Page tables (priv spec §4.3-4.5)
// ---------------------------------------------------------------------------------------------
export const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_G = 32, PTE_A = 64, PTE_D = 128;
/** Convenient leaf flags with A and D preset (so tests not about A/D never depend on them). */
export const RWX = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
export const RW = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
export const RO = PTE_V | PTE_R | PTE_A;
export const XO = PTE_V | PTE_X | PTE_A;
export const RX = PTE_V | PTE_R | PTE_X | PTE_A;

export const SATP_SV39 = 8n, SATP_SV48 = 9n, SATP_SV57 = 10n;
/** satp/hgatp MODE and table levels of each scheme. */
const SCHEME: Record<string, readonly [bigint, number]> = {
  sv39: [8n, 3], sv48: [9n, 4], sv57: [10n, 5], sv39x4: [8n, 3], sv48x4: [9n, 4], sv57x4: [10n, 5],
};

/**
 * Run `code` in `priv` (default S) with paging `mode` on: the first 16 pages of RAM (code) and
 * the page-table pool identity-mapped, plus `map`'s mappings. `setup` runs in M-mode first.
 */
export function runPaged(
  mode: 'sv39' | 'sv48' | 'sv57', code: (a: Asm) => void, map: (pt: PageTable, sim: Sim) => void,
  setup?: (a: Asm) => void, priv = PRV_S,
): Sim {
  const sim = new Sim((a) => {
    setup?.(a);
    a.enter(priv, 'low');
    a.label('low');
    code(a);
  });
  const pt = new PageTable(sim, mode);
  for (let k = 0; k < 16; k++) pt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
  for (let k = 0; k < 8; k++) pt.map(PT_POOL + k * 4096, PT_POOL + k * 4096, RW);
  map(pt, sim);
  pt.install();
  sim.run();
  return sim;
}

export class PageTable {
  readonly levels: number;
  readonly root: number;
  private next: number;

  constructor(private readonly sim: Sim, readonly mode: 'sv39' | 'sv48' | 'sv57', pool = PT_POOL) {
    this.levels = SCHEME[mode]![1];
    this.root = pool;
    this.next = pool + 4096;
  }

  private vpn(va: bigint, level: number): number {
    return Number((BigInt.asUintN(64, va) >> BigInt(12 + 9 * level)) & 511n);
  }

  /** Address of the PTE for `va` at `level` (0 = 4 KiB leaf), allocating tables on the way. */
  pteAddr(va: bigint | number, level = 0): number {
    const v = BigInt(va);
    let table = this.root;
    for (let l = this.levels - 1; l > level; l--) {
      const pa = table + this.vpn(v, l) * 8;
      let pte = this.sim.read64(pa);
      if ((pte & 1n) === 0n) {
        const t = this.next;
        this.next += 4096;
        pte = (BigInt(t >>> 12) << 10n) | 1n; // non-leaf: V only
        this.sim.write64(pa, pte);
      } else if ((pte & 0xen) !== 0n) {
        throw new Error(`PageTable: va 0x${v.toString(16)} already mapped by a leaf at level ${l}`);
      }
      table = Number(pte >> 10n) * 4096;
    }
    return table + this.vpn(v, level) * 8;
  }

  /** Map `va` -> `pa` with a leaf at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB). */
  map(va: bigint | number, pa: number | bigint, flags: number, level = 0): this {
    const at = this.pteAddr(va, level);
    this.sim.write64(at, (BigInt(pa) >> 12n) << 10n | BigInt(flags));
    return this;
  }
  /** Write a raw PTE value at the leaf slot for `va`. */
  setPte(va: bigint | number, pte: bigint, level = 0): this {
    this.sim.write64(this.pteAddr(va, level), pte);
    return this;
  }
  pte(va: bigint | number, level = 0): bigint {
    return this.sim.read64(this.pteAddr(va, level));
  }
  satp(asid = 0): bigint {
    return (SCHEME[this.mode]![0] << 60n) | (BigInt(asid) << 44n) | BigInt(this.root >>> 12);
  }
  /** Identity-map the harness's code pages (stubs + body) with 4 KiB pages. */
  mapCode(flags: number, pages = 16): this {
    for (let k = 0; k < pages; k++) this.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, flags);
    return this;
  }
  /** Install into satp (as firmware, before running). */
  install(asid = 0): this {
    this.sim.h.csrSet(CSR.satp, this.satp(asid), 'firmware');
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// PMP helpers (priv spec §3.7)
// ---------------------------------------------------------------------------------------------
export const PMP_R = 1, PMP_W = 2, PMP_X = 4, PMP_L = 0x80;
export const PMP_OFF = 0, PMP_TOR = 1 << 3, PMP_NA4 = 2 << 3, PMP_NAPOT = 3 << 3;

/** pmpaddr value for a NAPOT region [base, base+size), size a power of two >= 8. */
export function napot(base: number | bigint, size: number | bigint): bigint {
  const b = BigInt(base), s = BigInt(size);
  return (b >> 2n) | ((s >> 3n) - 1n);
}

// ---------------------------------------------------------------------------------------------
// mstatus fields
// ---------------------------------------------------------------------------------------------
export const MS = {
  SIE: 1n << 1n, MIE: 1n << 3n, SPIE: 1n << 5n, MPIE: 1n << 7n, SPP: 1n << 8n,
  MPP: 3n << 11n, MPP_S: 1n << 11n, MPP_M: 3n << 11n,
  FS: 3n << 13n, FS_INITIAL: 1n << 13n, FS_CLEAN: 2n << 13n, FS_DIRTY: 3n << 13n,
  MPRV: 1n << 17n, SUM: 1n << 18n, MXR: 1n << 19n, TVM: 1n << 20n, TW: 1n << 21n, TSR: 1n << 22n,
  SD: 1n << 63n,
} as const;

/** Interrupt bits (mip/mie). */
export const IRQ = { SSI: 1, MSI: 3, STI: 5, MTI: 7, SEI: 9, MEI: 11 } as const;

export const INT = 1n << 63n;

// ---------------------------------------------------------------------------------------------
// Hypervisor extension (priv spec 1.12 chapter 8)
// ---------------------------------------------------------------------------------------------
/** mstatus bits added by the H extension (RV64, §8.4.1). */
export const MSH = { GVA: 1n << 38n, MPV: 1n << 39n } as const;
/** hstatus fields (§8.2.1). */
export const HS = {
  VSBE: 1n << 5n, GVA: 1n << 6n, SPV: 1n << 7n, SPVP: 1n << 8n, HU: 1n << 9n, VGEIN: 0x3fn << 12n,
  VTVM: 1n << 20n, VTW: 1n << 21n, VTSR: 1n << 22n, VSXL: 3n << 32n, VSXL_64: 2n << 32n,
} as const;
/** VS-level and guest-external interrupt numbers (mip/hip bits, §8.2.3). */
export const VIRQ = { VSSI: 2, VSTI: 6, VSEI: 10, SGEI: 12 } as const;
export const HGATP_BARE = 0n, HGATP_SV39X4 = 8n, HGATP_SV48X4 = 9n, HGATP_SV57X4 = 10n;
/** G-stage leaves must have U = 1 (all G-stage accesses are U-level, §8.5.1). */
export const G_RWX = RWX | PTE_U, G_RW = RW | PTE_U, G_RO = RO | PTE_U, G_XO = XO | PTE_U, G_RX = RX | PTE_U;

/**
 * A G-stage table (Sv39x4 / Sv48x4, §8.5.1): like Sv39/Sv48 but the root is 16 KiB (2048
 * entries, 16 KiB-aligned) and its VPN has 2 more bits (GPA bits 40:30 for Sv39x4). Tables are
 * written at host physical addresses from `pool` (G-stage tables live in host memory).
 */
export class GuestPageTable {
  readonly levels: number;
  readonly root: number;
  private next: number;

  constructor(private readonly sim: Sim, readonly mode: 'sv39x4' | 'sv48x4' | 'sv57x4', pool = G_POOL) {
    if (pool % 16384 !== 0) throw new Error('G-stage root must be 16 KiB aligned');
    this.levels = SCHEME[mode]![1];
    this.root = pool;
    this.next = pool + 16384;
  }

  private vpn(gpa: bigint, level: number): number {
    const mask = level === this.levels - 1 ? 2047n : 511n;
    return Number((BigInt.asUintN(64, gpa) >> BigInt(12 + 9 * level)) & mask);
  }

  /** Address of the PTE for `gpa` at `level` (0 = 4 KiB leaf), allocating tables on the way. */
  pteAddr(gpa: bigint | number, level = 0): number {
    const v = BigInt(gpa);
    let table = this.root;
    for (let l = this.levels - 1; l > level; l--) {
      const pa = table + this.vpn(v, l) * 8;
      let pte = this.sim.read64(pa);
      if ((pte & 1n) === 0n) {
        const t = this.next;
        this.next += 4096;
        pte = (BigInt(t >>> 12) << 10n) | 1n;
        this.sim.write64(pa, pte);
      } else if ((pte & 0xen) !== 0n) {
        throw new Error(`GuestPageTable: gpa 0x${v.toString(16)} already mapped by a leaf at level ${l}`);
      }
      table = Number(pte >> 10n) * 4096;
    }
    return table + this.vpn(v, level) * 8;
  }
  /** Map `gpa` -> host `pa` with a leaf at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB). */
  map(gpa: bigint | number, pa: number | bigint, flags: number, level = 0): this {
    this.sim.write64(this.pteAddr(gpa, level), (BigInt(pa) >> 12n) << 10n | BigInt(flags));
    return this;
  }
  /** Identity-map [pa, pa + pages*4K) with 4 KiB leaves. */
  identity(pa: number, pages: number, flags: number): this {
    for (let k = 0; k < pages; k++) this.map(pa + k * 4096, pa + k * 4096, flags);
    return this;
  }
  setPte(gpa: bigint | number, pte: bigint, level = 0): this {
    this.sim.write64(this.pteAddr(gpa, level), pte);
    return this;
  }
  pte(gpa: bigint | number, level = 0): bigint {
    return this.sim.read64(this.pteAddr(gpa, level));
  }
  hgatp(vmid = 0): bigint {
    return (SCHEME[this.mode]![0] << 60n) | (BigInt(vmid) << 44n) | BigInt(this.root >>> 12);
  }
}

/** hgatp / vsatp values for a given mode with the standard pool roots (known before assembly). */
export function hgatpFor(mode: 'bare' | 'sv39x4' | 'sv48x4' | 'sv57x4', vmid = 0, pool = G_POOL): bigint {
  if (mode === 'bare') return 0n;
  return (SCHEME[mode]![0] << 60n) | (BigInt(vmid) << 44n) | BigInt(pool >>> 12);
}
export function vsatpFor(mode: 'bare' | 'sv39' | 'sv48' | 'sv57', asid = 0, pool = PT_POOL): bigint {
  if (mode === 'bare') return 0n;
  return (SCHEME[mode]![0] << 60n) | (BigInt(asid) << 44n) | BigInt(pool >>> 12);
}

export interface GuestOpts {
  /** VS-stage scheme (vsatp). Default 'sv39'. */
  vs?: 'bare' | 'sv39' | 'sv48' | 'sv57';
  /** G-stage scheme (hgatp). Default 'sv39x4'. */
  g?: 'bare' | 'sv39x4' | 'sv48x4' | 'sv57x4';
  /** PRV_S: run `code` in VS-mode (default); PRV_U: in VU-mode. */
  priv?: number;
  vmid?: number;
  /** M-mode code run after hgatp/vsatp/vstvec are set, before entering the guest. */
  setup?: (a: Asm) => void;
  /** Code placed after the guest code and its `done` (labels for handlers, data). */
  tail?: (a: Asm) => void;
  /** The test's own mappings, after the defaults. */
  map?: (t: GuestTables, sim: Sim) => void;
  regs?: Record<number, bigint | number>;
  maxSteps?: number;
  aia?: MachineConfig['aia'];
}
export interface GuestTables {
  /** VS-stage table (null when vs = 'bare'); its tables live at GPA = HPA in PT_POOL. */
  vs: PageTable | null;
  /** G-stage table (null when g = 'bare'). */
  g: GuestPageTable | null;
}

/**
 * Build (not run) a program that sets hgatp, vsatp (identity roots PT_POOL / G_POOL) and
 * vstvec = VSTRAP in M-mode, runs `setup`, then enters VS (or VU) at label `guest` with mret
 * (MPV = 1) and runs `code` there. Default mappings, so that only the test's own mappings matter:
 *  - G-stage: identity 4 KiB pages, U+RWX, A/D set, for the 16 code pages and 32 pages of the
 *    VS-stage table pool;
 *  - VS-stage: identity 4 KiB pages for the code: RWX (VS) or, when priv = U, U+RWX for pages
 *    >= 2 (pages 0-1 hold the trap stubs, run in VS).
 * Nothing is delegated: traps go to M (`mtrap`) unless `setup` writes medeleg/hedeleg.
 */
export function makeGuest(code: (a: Asm) => void, o: GuestOpts = {}): { sim: Sim } & GuestTables {
  const vsMode = o.vs ?? 'sv39', gMode = o.g ?? 'sv39x4', priv = o.priv ?? PRV_S;
  const sim = new Sim((a) => {
    a.li(t0, hgatpFor(gMode, o.vmid ?? 0)).csrw(CSR.hgatp, t0);
    a.li(t0, vsatpFor(vsMode)).csrw(CSR.vsatp, t0);
    a.li(t0, VSTRAP).csrw(CSR.vstvec, t0);
    o.setup?.(a);
    a.enterV(priv, 'guest');
    a.label('guest');
    code(a);
    if (o.tail) {
      a.j('done');
      o.tail(a);
    }
  }, { regs: o.regs, ...(o.aia ? { aia: o.aia } : {}) });
  const g = gMode === 'bare' ? null : new GuestPageTable(sim, gMode);
  const vs = vsMode === 'bare' ? null : new PageTable(sim, vsMode);
  if (g) {
    g.identity(RAM_BASE, 16, G_RWX);
    g.identity(PT_POOL, 32, G_RWX);
  }
  if (vs) {
    for (let k = 0; k < 16; k++) {
      const pa = RAM_BASE + k * 4096;
      vs.map(pa, pa, priv === PRV_U && k >= 2 ? RWX | PTE_U : RWX);
    }
  }
  o.map?.({ vs, g }, sim);
  return { sim, vs, g };
}

/** makeGuest, then run. */
export function runGuest(code: (a: Asm) => void, o: GuestOpts = {}): { sim: Sim } & GuestTables {
  const r = makeGuest(code, o);
  r.sim.run({ maxSteps: o.maxSteps });
  return r;
}
