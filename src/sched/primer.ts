/**
 * Type-feedback primer for the interpreter (performance only; no effect on any guest).
 *
 * V8 optimizes `Hart.loop` and its helpers from the type feedback of their first executions.
 * A code path first reached after that (an instruction form, a slow path, a trap kind the
 * guest had not used yet) deoptimizes the whole function, which then runs unoptimized until
 * it is compiled again (50-180 ms of compile time for the loop). A Linux boot reaches new
 * paths for most of its length: measured, 17 deoptimizations of the loop, and a first boot in
 * a process took twice the CPU time of a second one. Rarely used paths are also kept out of
 * the loop (execAlu, loadOffset/storeX completing slow accesses themselves); this primer covers
 * the rest (none of the loop's deoptimizations remain in a Linux boot) for ~70-90 ms.
 *
 * `primeInterpreter()` runs once per process, called explicitly before the first real machine
 * runs (src/cli/engine.ts for run / record / replay, and the benchmarks); it boots a
 * separate small machine (its own memory, devices and harts; built-in SBI) on a generated
 * S-mode program that executes every instruction form of the decoder's table with varied
 * operands (large, negative, zero divisors, page-crossing and device accesses), traps of
 * several kinds, Sv39 paging with a high-address alias, U-mode, a timer interrupt, WFI, SBI
 * calls and one translated block, then shuts down. Nothing of that machine is shared with
 * other machines (softfloat's flags accumulate per hart, not in the module).
 * HVTRACE_PRIME=0 makes the CLI skip it (the environment is read only in src/cli/).
 *
 * It also gets `Hart.loop` itself marked for TurboFan (V8 does that after ~6,000 interpreted
 * instructions of this program; test/primer.test.ts checks it): the concurrent compile then
 * starts on the primer's next loop call and overlaps the real machine's construction, and the
 * real run's calls enter the optimized code, reused as is (same maps; no deoptimization of the
 * loop in the compute bench or the Linux boot, --trace-deopt). Measured with V8's tracing, when
 * the primer ended before that (at ~4,900 instructions), the real run marked the loop after
 * 20,000 instructions, ran the next 0.8-1.7M in baseline code for 0.25-0.45 s (loaded 2-core
 * host) while it compiled, and compiled it twice: on-stack (OSR: the marked call ran its whole
 * 10,000-instruction quantum on) and for entry, ~130-500 ms of background compile each.
 */
import { OPCODES, type OpcodeDef } from '../isa/opcodes.js';
import { Machine } from '../board/machine.js';
import { DecodeCache } from '../isa/decode.js';
import { Scheduler } from './scheduler.js';
import { WasmTier } from '../hart/wasm/tier.js';

let primed = false;

const BASE = 0x8020_0000; // where the built-in SBI enters the kernel
const DATA = BASE + 0x1_0000; // constants (label consts), then scratch data (2 pages)
const SCRATCH = DATA + 0x1000; // memory operands (page 1 of the data area)
const CROSS = DATA + 0x2000 - 8; // loads/stores at +5..+7 cross into page 2
const PT = DATA + 0x4000; // Sv39 root table (+ L1, L0 tables): after the data pages
const HIGH = -0x4000_0000; // VA 0xffff_ffff_c000_0000 aliases PA 0x8000_0000
const UVA = 0x4000_0000; // VA 0x4000_0000 aliases PA 0x8000_0000 with U = 1
const DATA4K = 0xc000_0000; // VA mapped by a 3-level walk to SCRATCH's page, A/D clear

// Registers.
const ZERO = 0, RA = 1, SP = 2, GP = 3, TP = 4, T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, S2 = 18, S3 = 19, T3 = 28, T4 = 29, T5 = 30, T6 = 31;
/** Registers holding varied values (x10-x17, x20-x27, gp). */
const VALS = [10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27];
const DESTS = [T0, T1, T2, T3, ZERO];
const VALUES: bigint[] = [
  0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn, 0n, 1n, 0x1234_5678_9abc_def0n,
  0xffff_ffff_8000_0000n, 0x8000_0000n, 3n, 0xffff_ffff_ffff_fffdn, 0x1_0000_0000n, 63n, 0x7fff_ffffn, 31n,
  0xffff_ffff_c020_0000n, 0x8021_1000n,
];
const FVALUES: number[] = [1.5, -2.25, 0, -0, Infinity, -Infinity, NaN, 1e308, 5e-324, 3, 0.1, -1e-300, 2 ** 53, -(2 ** 31), 4294967296.5, 123456789.125];
const FSINGLES: number[] = [1.5, -2.25, 0, -0, Infinity, NaN, 3.4e38, 1e-45, 3, 0.1, -7, 2 ** 31, -(2 ** 40), 65535.5, 1e-40, 42];

class Asm {
  /** The image as 16-bit units (little-endian hosts: x86-64, arm64), `n` of them written. A
   * typed array, not number[] pushes, and `padTo` skips zeros: assembling at process start runs
   * unoptimized, and the old pushes of 47K padding units took ~20-80 ms on a loaded host. */
  private readonly img = new Uint8Array(PT + 0x3000 - BASE);
  private readonly code = new Uint16Array(this.img.buffer);
  private n = 0;
  private readonly fix: { at: number; target: string; kind: 'B' | 'J' | 'LA' }[] = [];
  private readonly labels = new Map<string, number>();
  get pc(): number { return BASE + this.n * 2; }
  label(n: string): this { this.labels.set(n, this.pc); return this; }
  w(x: number): this { this.code[this.n++] = x & 0xffff; this.code[this.n++] = (x >>> 16) & 0xffff; return this; }
  h(x: number): this { this.code[this.n++] = x & 0xffff; return this; }
  /** Zeros up to `pc` (the image starts zeroed). */
  padTo(pc: number): this { if (pc > this.pc) this.n = (pc - BASE) >>> 1; return this; }
  r(op: number, rd: number, f3: number, rs1: number, rs2: number, f7: number): this {
    return this.w((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
  }
  i(op: number, rd: number, f3: number, rs1: number, imm: number): this {
    return this.w(((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
  }
  s(op: number, f3: number, rs1: number, rs2: number, imm: number): this {
    return this.w((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op);
  }
  addi(rd: number, rs1: number, imm: number): this { return this.i(0x13, rd, 0, rs1, imm); }
  add(rd: number, rs1: number, rs2: number): this { return this.r(0x33, rd, 0, rs1, rs2, 0); }
  sub(rd: number, rs1: number, rs2: number): this { return this.r(0x33, rd, 0, rs1, rs2, 0x20); }
  ld(rd: number, imm: number, rs1: number): this { return this.i(0x03, rd, 3, rs1, imm); }
  sd(rs2: number, imm: number, rs1: number): this { return this.s(0x23, 3, rs1, rs2, imm); }
  fld(rd: number, imm: number, rs1: number): this { return this.i(0x07, rd, 3, rs1, imm); }
  lui(rd: number, imm20: number): this { return this.w((imm20 << 12) | (rd << 7) | 0x37); }
  jalr(rd: number, rs1: number, imm: number): this { return this.i(0x67, rd, 0, rs1, imm); }
  csrrw(rd: number, csr: number, rs1: number): this { return this.i(0x73, rd, 1, rs1, csr); }
  csrrs(rd: number, csr: number, rs1: number): this { return this.i(0x73, rd, 2, rs1, csr); }
  csrrc(rd: number, csr: number, rs1: number): this { return this.i(0x73, rd, 3, rs1, csr); }
  csrr(rd: number, csr: number): this { return this.csrrs(rd, csr, ZERO); }
  csrw(csr: number, rs1: number): this { return this.csrrw(ZERO, csr, rs1); }
  nop(): this { return this.addi(ZERO, ZERO, 0); }
  /** Branch (funct3) to a label. */
  b(f3: number, rs1: number, rs2: number, target: string): this {
    this.fix.push({ at: this.n, target, kind: 'B' });
    return this.w((rs2 << 20) | (rs1 << 15) | (f3 << 12) | 0x63);
  }
  j(rd: number, target: string): this {
    this.fix.push({ at: this.n, target, kind: 'J' });
    return this.w((rd << 7) | 0x6f);
  }
  /** rd = address of a label, pc-relative (so it is right in every alias of the code). */
  la(rd: number, target: string): this {
    this.fix.push({ at: this.n, target, kind: 'LA' });
    this.w((rd << 7) | 0x17); // auipc rd, 0
    return this.addi(rd, rd, 0);
  }
  /** rd = 64-bit constant k of the constant table. */
  konst(rd: number, k: number): this {
    this.la(rd, 'consts');
    return this.ld(rd, k * 8, rd);
  }
  private put32(at: number, v: number): void { this.code[at] = v & 0xffff; this.code[at + 1] = (v >>> 16) & 0xffff; }
  private get32(at: number): number { return (this.code[at]! | (this.code[at + 1]! << 16)) >>> 0; }
  assemble(): Uint8Array {
    for (const f of this.fix) {
      const pc = BASE + f.at * 2;
      const t = this.labels.get(f.target);
      if (t === undefined) throw new Error(`primer: no label ${f.target}`);
      const d = t - pc;
      const ins = this.get32(f.at);
      if (f.kind === 'B') {
        this.put32(f.at, ins | (((d >> 12) & 1) << 31) | (((d >> 5) & 0x3f) << 25) | (((d >> 1) & 0xf) << 8) | (((d >> 11) & 1) << 7));
      } else if (f.kind === 'J') {
        this.put32(f.at, ins | (((d >> 20) & 1) << 31) | (((d >> 1) & 0x3ff) << 21) | (((d >> 11) & 1) << 20) | (((d >> 12) & 0xff) << 12));
      } else {
        const lo = (d << 20) >> 20, hi = (d - lo) >>> 12;
        this.put32(f.at, ins | (hi << 12));
        this.put32(f.at + 2, this.get32(f.at + 2) | ((lo & 0xfff) << 20));
      }
    }
    return this.img;
  }
}

/** Every instruction form of the decoder's table, with operands that reach its slow paths. */
function sweep(a: Asm): void {
  let n = 0;
  const next = <T>(xs: readonly T[]): T => xs[n++ % xs.length]!;
  for (const d of OPCODES) {
    const m = d.match;
    const name = d.name;
    if (name === 'sret' || name === 'mret' || name === 'wfi' || name === 'ecall') continue; // done by hand
    for (let v = 0; v < variants(d); v++) {
      const rd = next(DESTS), rs1 = VALS[(v * 5 + n) % VALS.length]!;
      const rs2 = v === 0 ? rs1 : VALS[(v * 3 + 1 + n) % VALS.length]!; // equal operands once (taken BEQ)
      const imm = [0, 1, -1, 2047, -2048, 0x555][v % 6]!;
      switch (d.fmt) {
        case 'R': a.w(m | (rd << 7) | (rs1 << 15) | (rs2 << 20)); break;
        case 'I': a.w(m | (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20)); break;
        case 'SHIFT': a.w(m | (rd << 7) | (rs1 << 15) | ([0, 1, 31, 32, 63, 12][v % 6]! << 20)); break;
        case 'SHIFTW': a.w(m | (rd << 7) | (rs1 << 15) | ([0, 1, 31, 16, 5, 12][v % 6]! << 20)); break;
        // Bitmanip (insns.ts): unary forms keep their rs2 field, immediate forms take a shamt.
        case 'R1': a.w(m | (rd << 7) | (rs1 << 15)); break;
        case 'SHIFTB': case 'SHIFTUW': a.w(m | (rd << 7) | (rs1 << 15) | ([0, 1, 31, 32, 63, 12][v % 6]! << 20)); break;
        case 'SHIFTBW': a.w(m | (rd << 7) | (rs1 << 15) | ([0, 1, 31, 16, 5, 12][v % 6]! << 20)); break;
        case 'U': a.w(m | (rd << 7) | ([0x80000, 0x7ffff, 0x12345, 0, 0xfffff, 1][v % 6]! << 12)); break;
        case 'LOAD': case 'FLOAD': case 'S': case 'FSTORE': {
          // RAM (aligned, misaligned), page-crossing, UART, PLIC, unmapped / outside RAM.
          const [base, off] = ([[S0, 0], [S0, 3], [S0, 6], [S2, 5], [S2, 7], [S1, 5], [S1, 7], [S3, 4], [GP, 0], [S0, 16]] as const)[v]!;
          const reg = d.fmt === 'LOAD' ? rd : d.fmt === 'FLOAD' ? v : d.fmt === 'S' ? rs2 : v;
          if (d.fmt === 'LOAD' || d.fmt === 'FLOAD') a.w(m | (reg << 7) | (base << 15) | ((off & 0xfff) << 20));
          else a.w(m | ((off & 0x1f) << 7) | (base << 15) | (reg << 20) | (((off >> 5) & 0x7f) << 25));
          break;
        }
        case 'B': a.w(m | (rs1 << 15) | (rs2 << 20) | (8 << 7)).nop(); break; // +8: skip the nop
        case 'J': a.w(m | (((v & 1) ? RA : ZERO) << 7) | (4 << 21)).nop(); break; // jal +8
        case 'JALR': a.w(0x17 | (T4 << 7)).w(m | (((v & 1) ? RA : T0) << 7) | (T4 << 15) | (12 << 20)).nop(); break;
        case 'CSR': case 'CSRI': {
          // Reads of many CSRs (some illegal: M-level, or a write to a read-only one), writes to
          // harmless ones.
          const reads = [0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180, 0x14d, 0x001, 0x002, 0x003, 0xc00, 0xc01, 0xc02, 0x600, 0x602, 0x603, 0x645, 0x680, 0x300, 0xc03];
          const writes = [0x140, 0x001, 0x002, 0x003, 0x140, 0x003];
          // csrrs/csrrc with rs1/uimm = 0 only read; csrrw(i) always writes: harmless CSRs only.
          const rw = ((m >>> 12) & 3) === 1;
          if (!rw) a.w(m | (rd << 7) | (reads[(v * 7 + n) % reads.length]! << 20));
          const src = d.fmt === 'CSR' ? rs1 : (v * 7 + 1) & 31;
          a.w(m | (rd << 7) | (src << 15) | (writes[v % writes.length]! << 20));
          break;
        }
        case 'AMO': case 'LR': {
          // Aligned in RAM, misaligned (fault), on a device (fault).
          const base = [S0, S0, S0, S1][v]!;
          const off = v === 1 ? 1 : 0;
          if (off) a.addi(T5, S0, 1);
          a.w(m | (rd << 7) | ((off ? T5 : base) << 15) | (d.fmt === 'LR' ? 0 : rs2 << 20));
          break;
        }
        case 'FENCE': case 'FENCEI': case 'NONE': case 'SFENCE': case 'SINVAL': a.w(m); break;
        case 'HLV': a.w(m | (rd << 7) | (S0 << 15)); break;
        case 'HSV': a.w(m | (S0 << 15) | (rs2 << 20)); break;
        default: {
          // Floating point: f0-15 hold doubles, f16-31 NaN-boxed singles; rm RNE, RTZ, dynamic.
          const single = name.endsWith('.s') || name.endsWith('.w') && name.startsWith('fmv');
          const fr = (k: number): number => (single ? 16 : 0) + ((k + v) & 15);
          const rm = [0, 1, 7, 3, 2, 4][v % 6]!;
          const hasRm = (d.mask & 0x7000) === 0;
          let ins = m | (fr(n) << 7) | (fr(n + 3) << 15) | (fr(n + 5) << 20) | (hasRm ? rm << 12 : 0);
          if (d.fmt === 'R4') ins |= fr(n + 7) << 27;
          // Fresh sources (register k holds constant k, see program()): after a few ops most
          // registers hold NaN, and paths taken only for numbers (FDIV_D's result store,
          // f64Mul's inexact path) had no feedback; the compute bench deoptimized execFp and
          // f64Mul on them, and waited at exit for execFp's re-compile (~100-300 ms).
          a.la(T5, 'fvals');
          for (const k of d.fmt === 'R4' ? [n + 3, n + 5, n + 7] : [n + 3, n + 5]) a.fld(fr(k), fr(k) * 8, T5);
          if (d.fmt === 'FCVT_XF' || d.fmt === 'FCMP' || d.fmt === 'FMV_XF') ins = (ins & ~(31 << 7)) | (rd << 7);
          if (d.fmt === 'FCVT_FX' || d.fmt === 'FMV_FX') ins = (ins & ~(31 << 15)) | (rs1 << 15);
          if (d.fmt === 'FR1' || d.fmt === 'FCVT_XF' || d.fmt === 'FCVT_FX' || d.fmt === 'FCVT_FF' || d.fmt === 'FMV_XF' || d.fmt === 'FMV_FX') {
            ins = (ins & ~(31 << 20)) | (m & (31 << 20)); // rs2 is part of the encoding
          }
          a.w(ins);
        }
      }
    }
  }
  {
    // Second pass only (tp = 1, Sv39 on): a 3-level walk to a page whose A/D bits are clear, a store to a read-only page, load and
    // store page faults on an unmapped address.
    a.b(0, TP, ZERO, 'bare');
    a.lui(T5, DATA4K >>> 12).ld(T0, 8, T5).sd(T0, 16, T5).ld(T0, 0x7f8, T5);
    a.lui(T5, (DATA4K + 0x1000) >>> 12).ld(T0, 8, T5).sd(T0, 16, T5);
    a.ld(T0, 0, GP).sd(T0, 0, GP);
    // A U page from S-mode: faults with SUM = 0, allowed with SUM = 1.
    a.lui(T5, (SCRATCH - 0x8000_0000 + UVA) >>> 12).ld(T0, 0, T5);
    a.lui(T0, 0x40).csrrs(ZERO, 0x100, T0).ld(T1, 0, T5).sd(T1, 8, T5).csrrc(ZERO, 0x100, T0);
    a.label('bare');
  }
  // A 32-bit instruction straddling two pages (fetched in two halves).
  a.j(RA, 'crossfn');
}

function variants(d: OpcodeDef): number {
  switch (d.fmt) {
    case 'LOAD': case 'S': return 10;
    case 'FLOAD': case 'FSTORE': return 5;
    case 'R': return 6;
    case 'AMO': case 'LR': return 4;
    case 'FENCE': case 'FENCEI': case 'NONE': case 'SFENCE': case 'SINVAL': case 'HLV': case 'HSV': return 1;
    case 'I': case 'SHIFT': case 'SHIFTW': case 'U': case 'B': case 'CSR': case 'CSRI': return 6;
    case 'J': case 'JALR': return 2;
    default: return 3;
  }
}

/** A few compressed instructions of each common kind (C extension), executed in sequence. */
function compressed(a: Asm): void {
  // None of these may fault (the trap handler skips 4 bytes). They write t0/t1, or a4/a5
  // (x14/x15, the CA/CB/CL registers), which are saved and restored around them.
  const ci = (f3: number, rd: number, imm: number, op = 1): number => (f3 << 13) | (((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 31) << 2) | op;
  a.h(ci(0, T0, 1)) // c.addi t0, 1
    .h(ci(2, T1, -3)) // c.li t1, -3
    .h(ci(1, T0, 5)) // c.addiw t0, 5
    .h(ci(0, T0, 3, 2)) // c.slli t0, 3
    .h(0x8000 | (T0 << 7) | (12 << 2) | 2) // c.mv t0, a2
    .h(0x9000 | (T0 << 7) | (13 << 2) | 2) // c.add t0, a3
    .h((3 << 13) | (T1 << 7) | (1 << 2) | 1) // c.lui t1, 1
    .h(0x0001); // c.nop
  // CA / CB forms on x14/x15 (a4/a5): save them first.
  a.addi(T2, 14, 0).addi(T3, 15, 0);
  for (const f of [0, 1, 2, 3]) a.h(0x8c01 | (6 << 7) | (7 << 2) | (f << 5)); // c.sub/xor/or/and a4, a5
  for (const f of [0, 1]) a.h(0x9c01 | (6 << 7) | (7 << 2) | (f << 5)); // c.subw/addw a4, a5
  a.h(0x8001 | (6 << 7) | (3 << 2)).h(0x8401 | (6 << 7) | (3 << 2)).h(0x8801 | (6 << 7) | (7 << 2)); // c.srli, c.srai, c.andi a4
  a.addi(14, T2, 0).addi(15, T3, 0);
  // Loads/stores off s0 (x8, a CL/CS register).
  a.addi(T2, 14, 0).addi(T3, 15, 0);
  a.h(0x4000 | (1 << 5) | (6 << 2)) // c.lw a4, 64(s0)
    .h(0x6000 | (0 << 7) | (6 << 2)) // c.ld a4, 0(s0)
    .h(0xc000 | (0 << 7) | (7 << 2)) // c.sw a5, 0(s0)
    .h(0xe000 | (1 << 10) | (0 << 7) | (7 << 2)) // c.sd a5, 8(s0)
    .h(0x2000 | (1 << 10) | (0 << 7) | (6 << 2)) // c.fld f14, 8(s0)
    .h(0xa000 | (2 << 10) | (0 << 7) | (6 << 2)); // c.fsd f14, 16(s0)
  a.addi(14, T2, 0).addi(15, T3, 0);
  // Stack forms (sp = scratch page) and control flow.
  a.h(0x6002 | (T0 << 7) | (1 << 5)) // c.ldsp t0, 8(sp)
    .h(0xe002 | (T0 << 2) | (2 << 10)) // c.sdsp t0, 16(sp)
    .h(0x4002 | (T1 << 7) | (1 << 4)) // c.lwsp t1, 4(sp)
    .h(0xc002 | (T1 << 2) | (1 << 9)); // c.swsp t1, 4(sp)
  a.h(0xa001 | (2 << 2)); // c.j +2 (next instruction)
  a.addi(T2, 14, 0);
  a.h(0xc001 | (6 << 7) | (1 << 3)).h(0xe001 | (6 << 7) | (1 << 3)); // c.beqz/c.bnez a4, +2 (the next either way)
  a.addi(14, T2, 0);
  a.la(T0, 'cret').h(0x9002 | (T0 << 7)).label('cret'); // c.jalr t0 (ra <- pc + 2; lands on the next)
  a.la(T0, 'cret2').h(0x8002 | (T0 << 7)).label('cret2'); // c.jr t0
}

function program(): Uint8Array {
  const a = new Asm();
  const K = { satp: 0, highDelta: 1, uDelta: 2, stimeFar: 3, farPc: 4 };
  // --- entry (S-mode, a0 = hartid, a1 = DTB) ---
  a.la(T0, 'strap').csrw(0x105, T0); // stvec
  a.la(SP, 'scratch').addi(SP, SP, 1024);
  a.label('pass');
  a.la(S0, 'scratch').la(S2, 'cross').lui(S1, 0x10000).lui(S3, 0x0c000);
  a.la(T0, 'vals');
  VALS.forEach((r, k) => a.ld(r, k * 8, T0));
  a.ld(GP, 8 * 10, T0); // gp = 0x1_0000_0000: outside RAM / unmapped
  a.la(T0, 'fvals');
  for (let k = 0; k < 32; k++) a.fld(k, k * 8, T0);
  // SBI: base extension probe, legacy console putchar.
  a.addi(17, ZERO, 0x10).addi(16, ZERO, 0).w(0x73);
  a.addi(17, ZERO, 1).addi(10, ZERO, 0x2e).w(0x73);
  a.la(T0, 'vals');
  VALS.forEach((r, k) => a.ld(r, k * 8, T0));
  sweep(a);
  // fadd/fsub/fmul/fdiv.d of a huge and a tiny operand (f7 = 1e308, f11 = -1e-300) and of two
  // with an inexact result (f10 = 0.1, f9 = 3): softfloat's slow and rounding paths (the
  // compute bench's matmul reached f64Mul's rounding and deoptimized it).
  a.la(T5, 'fvals').fld(7, 7 * 8, T5).fld(11, 11 * 8, T5).fld(9, 9 * 8, T5).fld(10, 10 * 8, T5);
  for (const f7 of [0x01, 0x05, 0x09, 0x0d]) a.r(0x53, 0, 7, 7, 11, f7).r(0x53, 0, 7, 11, 7, f7).r(0x53, 0, 7, 10, 9, f7);
  compressed(a);
  // A jump to an address beyond 2^53 (JALR's BigInt path, pcHi): the fetch faults, and the
  // handler returns to ra.
  a.konst(T0, K.farPc).la(RA, 'farret').jalr(ZERO, T0, 0).label('farret');
  // A hot loop, translated by the process's default tier (jitHot below).
  a.addi(T5, ZERO, 40).label('hot')
    .ld(T0, 0, S0).add(T1, T0, 10).sd(T1, 8, S0).i(0x03, T2, 2, S0, 4).s(0x23, 2, S0, T2, 12)
    .addi(T5, T5, -1).b(1, T5, ZERO, 'hot');
  // A store (of the same bytes) into the translated loop: its units are dropped (the Jit's
  // invalidation counters change as in a real run, which a boot reaches after the loop compiled).
  a.la(T0, 'hot').ld(T1, 0, T0).sd(T1, 0, T0);
  // sip.SSIP set and cleared (interrupts off): the first write of Hart.mipSw in a real run made
  // V8 drop its "constant field" assumption, which aborted a compile of the loop in flight
  // ("dependency change", --trace-opt, Linux boot).
  a.i(0x73, ZERO, 6, 2, 0x144).i(0x73, ZERO, 7, 2, 0x144); // csrsi sip, SSIP; csrci sip, SSIP
  // Timer interrupt (Sstc) taken out of WFI: stimecmp = now + 3 ticks, STIE, SIE, wfi (the
  // handler clears STIE), then SIE off and the timer far away.
  a.csrr(T0, 0xc01).addi(T0, T0, 3).csrw(0x14d, T0).addi(T0, ZERO, 0x20).csrrs(ZERO, 0x104, T0);
  a.w(0x10016073).w(0x10500073).w(0x10017073); // csrsi sstatus, SIE; wfi; csrci sstatus, SIE
  a.konst(T0, K.stimeFar).csrw(0x14d, T0);
  // U-mode round trip: sret to the U alias, ecall back (handled in strap).
  a.b(1, TP, ZERO, 'skipU'); // only on the first (bare) pass: tp = 0 there
  a.la(T0, 'ucode').konst(T1, K.uDelta).add(T0, T0, T1).csrw(0x141, T0);
  a.addi(T0, ZERO, 0x100).csrrc(ZERO, 0x100, T0); // sstatus.SPP = U
  a.konst(T0, K.satp).csrw(0x180, T0).w(0x12000073); // paging on for U (sfence.vma)
  a.w(0x10200073); // sret
  a.label('ucode').add(T0, 10, 11).ld(T1, 0, S0).w(0x73); // user ecall -> strap -> afterU (S-mode)
  a.label('afterU');
  a.csrw(0x180, ZERO).w(0x12000073); // paging off again
  a.label('skipU');
  // Second pass: Sv39 on, running from the high alias (negative pcs), stvec there too.
  a.b(1, TP, ZERO, 'done');
  a.konst(T0, K.satp).csrw(0x180, T0).w(0x12000073);
  a.la(T0, 'high').konst(T1, K.highDelta).add(T0, T0, T1).jalr(ZERO, T0, 0);
  a.label('high');
  a.la(T0, 'strap').csrw(0x105, T0);
  a.addi(TP, ZERO, 1);
  a.j(ZERO, 'pass');
  a.label('done');
  // SBI system reset: shutdown.
  a.lui(17, 0x53525).addi(17, 17, 0x354).addi(16, ZERO, 0).addi(10, ZERO, 0).addi(11, ZERO, 0).w(0x73);
  a.label('hang').j(ZERO, 'hang');
  // --- trap handler: interrupts quiet the timer, U ecalls return to afterU, the rest skip ---
  while ((a.pc & 3) !== 0) a.h(0x0001);
  a.label('strap');
  a.csrr(T6, 0x142).b(4, T6, ZERO, 'intr'); // blt t6, x0: interrupt
  a.addi(T6, T6, -8).b(0, T6, ZERO, 'uecall');
  // Instruction access fault (1) or instruction page fault (12): back to ra.
  a.addi(T6, T6, 7).b(0, T6, ZERO, 'fetchf').addi(T6, T6, -11).b(0, T6, ZERO, 'fetchf');
  a.csrr(T6, 0x141).addi(T6, T6, 4).csrw(0x141, T6).w(0x10200073);
  a.label('fetchf').csrw(0x141, RA).w(0x10200073);
  a.label('uecall').addi(T6, ZERO, 0x100).csrrs(ZERO, 0x100, T6).la(T6, 'afterU').csrw(0x141, T6).w(0x10200073);
  a.label('intr').addi(T6, ZERO, 0x20).csrrc(ZERO, 0x104, T6).w(0x10200073);
  // --- data ---
  a.padTo(DATA);
  a.label('consts');
  const dw = (v: bigint): void => { for (let k = 0; k < 4; k++) a.h(Number((v >> BigInt(16 * k)) & 0xffffn)); };
  const consts = [
    (8n << 60n) | BigInt(PT >>> 12), // satp: Sv39
    BigInt.asUintN(64, BigInt(HIGH - 0x8000_0000)), // low -> high alias
    BigInt.asUintN(64, BigInt(UVA - 0x8000_0000)), // low -> U alias
    0xffff_ffff_ffff_ffffn,
    0x7fff_ffff_ffff_f000n, // a pc beyond 2^53
  ];
  for (const v of consts) dw(v);
  a.label('vals');
  for (const v of VALUES) dw(v);
  a.label('fvals');
  const f64 = new DataView(new ArrayBuffer(8));
  for (const f of FVALUES) { f64.setFloat64(0, f, true); dw(f64.getBigUint64(0, true)); }
  for (const f of FSINGLES) { f64.setFloat32(0, f, true); dw(0xffff_ffff_0000_0000n | BigInt(f64.getUint32(0, true))); }
  a.padTo(SCRATCH);
  a.label('scratch');
  a.padTo(CROSS);
  a.label('cross');
  a.padTo(DATA + 0x3000 - 2);
  a.label('crossfn').nop().jalr(ZERO, RA, 0);
  const img = a.assemble();
  // Page tables: root gigapages (identity for MMIO and RAM, U alias, high alias), one 3-level
  // path to a 4 KiB page with A/D clear.
  const dv = new DataView(img.buffer);
  const pte = (pa: number, flags: number): bigint => (BigInt(Math.floor(pa / 4096)) << 10n) | BigInt(flags);
  const put = (addr: number, v: bigint): void => dv.setBigUint64(addr - BASE, v, true);
  put(PT + 0 * 8, pte(0, 0xcf));
  put(PT + 1 * 8, pte(0x8000_0000, 0xdf));
  put(PT + 2 * 8, pte(0x8000_0000, 0xcf));
  put(PT + 511 * 8, pte(0x8000_0000, 0xcf));
  put(PT + 3 * 8, pte(PT + 0x1000, 0x01));
  put(PT + 0x1000, pte(PT + 0x2000, 0x01));
  put(PT + 0x2000, pte(SCRATCH, 0x07));
  put(PT + 0x2008, pte(SCRATCH, 0x43)); // read-only, A set
  return img;
}


/**
 * Run the primer once per process (see the file comment). Failures are ignored: priming is an
 * optimization only.
 */
export function primeInterpreter(): void {
  if (primed) return;
  primed = true;
  try {
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      // The default tier (no `tier`/`jit`): Hart.loop's unit entry sees the tier object the
      // real machines use (another class there is a wrong-map deoptimization of the loop).
      kernel: { name: '(primer)', bytes: program() }, jitHot: 16,
    });
    // Compiled in place, so that this thread's side of the tier (instantiation, units) is primed;
    // a compile thread gets the same batches to warm up.
    if (m.jit instanceof WasmTier) {
      m.jit.warmer = m.jit.compiler;
      m.jit.compiler = null;
    }
    new Scheduler(m, { maxInsns: 500_000 }).runToEnd();
    // The decoder: compressed encodings of every quadrant and funct3 (decoded, not executed).
    for (let k = 0; k < 24 * 16; k++) {
      const raw = ((k >>> 4) >>> 3) | (((k >>> 4) & 7) << 13) | (((k & 15) * 0x1a5) & 0x1ffc);
      if ((raw & 3) !== 3) m.dc.fill(DecodeCache.slot(raw), raw);
    }
  } catch {
    // ignore
  }
}

/** The primer program image (for tests and inspection). */
export { program as primerProgram };
