/**
 * Zba, Zbb, Zbc, Zbs and Zicond (Bitmanip spec v1.0.0 §2; Zicond v1.0): every instruction on
 * edge values (0, 1, -1, INT64_MIN/MAX, words with bit 31 set and garbage above, shifts by
 * 0/31/32/63), against bit-by-bit reference models written here from the spec text, both as
 * the interpreter runs it (a program on a hart) and as a translated block runs it (the table
 * body expanded for jit.ts). Plus encodings/disassembly the fixture's objdump cannot check.
 */
import { describe, expect, it } from 'vitest';
import { Asm, a0, a1, a2, a6, a7, s1, s2, s3, t0, t1, t2, runProgram, DATA } from './hart/harness.js';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { INSNS, expandSem, type Insn } from '../src/isa/insns.js';
import { matchOpcode } from '../src/isa/opcodes.js';
import { disassemble } from '../src/isa/disasm.js';
import * as B from '../src/isa/bits.js';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint): bigint => BigInt.asUintN(64, v);
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const sx32 = (v: bigint): bigint => u(BigInt.asIntN(32, v));
const zx32 = (v: bigint): bigint => v & 0xffffffffn;
const bit = (v: bigint, k: number): bigint => (u(v) >> BigInt(k)) & 1n;

/** Reference models (operands and results as unsigned 64-bit patterns; b = rs2 or the immediate). */
const clz = (v: bigint, w: number): bigint => { let n = 0; for (let k = w - 1; k >= 0 && bit(v, k) === 0n; k--) n++; return BigInt(n); };
const ctz = (v: bigint, w: number): bigint => { let n = 0; for (let k = 0; k < w && bit(v, k) === 0n; k++) n++; return BigInt(n); };
const cpop = (v: bigint, w: number): bigint => { let n = 0n; for (let k = 0; k < w; k++) n += bit(v, k); return n; };
const rotl = (v: bigint, s: number, w: number): bigint => {
  const m = (1n << BigInt(w)) - 1n, x = v & m, k = BigInt(s % w);
  return ((x << k) | (x >> (BigInt(w) - k))) & m;
};
const clmulFull = (a: bigint, b: bigint): bigint => { let r = 0n; for (let k = 0; k < 64; k++) if (bit(b, k)) r ^= u(a) << BigInt(k); return r; };
const bytes = (v: bigint): bigint[] => Array.from({ length: 8 }, (_, k) => (u(v) >> BigInt(8 * k)) & 0xffn);

type Model = (a: bigint, b: bigint) => bigint;
const MODELS: Record<string, Model> = {
  'add.uw': (a, b) => u(zx32(a) + b),
  'sh1add': (a, b) => u((a << 1n) + b),
  'sh2add': (a, b) => u((a << 2n) + b),
  'sh3add': (a, b) => u((a << 3n) + b),
  'sh1add.uw': (a, b) => u((zx32(a) << 1n) + b),
  'sh2add.uw': (a, b) => u((zx32(a) << 2n) + b),
  'sh3add.uw': (a, b) => u((zx32(a) << 3n) + b),
  'slli.uw': (a, b) => u(zx32(a) << b),
  'andn': (a, b) => a & (~b & M64),
  'orn': (a, b) => a | (~b & M64),
  'xnor': (a, b) => ~(a ^ b) & M64,
  'clz': (a) => clz(a, 64),
  'clzw': (a) => clz(a, 32),
  'ctz': (a) => ctz(a, 64),
  'ctzw': (a) => ctz(a, 32),
  'cpop': (a) => cpop(a, 64),
  'cpopw': (a) => cpop(a, 32),
  'max': (a, b) => (s64(a) < s64(b) ? b : a),
  'maxu': (a, b) => (a < b ? b : a),
  'min': (a, b) => (s64(a) < s64(b) ? a : b),
  'minu': (a, b) => (a < b ? a : b),
  'sext.b': (a) => u(BigInt.asIntN(8, a)),
  'sext.h': (a) => u(BigInt.asIntN(16, a)),
  'zext.h': (a) => a & 0xffffn,
  'rol': (a, b) => rotl(a, Number(b & 63n), 64),
  'ror': (a, b) => rotl(a, 64 - Number(b & 63n), 64),
  'rori': (a, b) => rotl(a, 64 - Number(b), 64),
  'rolw': (a, b) => sx32(rotl(a, Number(b & 31n), 32)),
  'rorw': (a, b) => sx32(rotl(a, 32 - Number(b & 31n), 32)),
  'roriw': (a, b) => sx32(rotl(a, 32 - Number(b), 32)),
  'orc.b': (a) => bytes(a).reduce((r, x, k) => r | ((x !== 0n ? 0xffn : 0n) << BigInt(8 * k)), 0n),
  'rev8': (a) => bytes(a).reduce((r, x, k) => r | (x << BigInt(8 * (7 - k))), 0n),
  'clmul': (a, b) => clmulFull(a, b) & M64,
  'clmulh': (a, b) => (clmulFull(a, b) >> 64n) & M64,
  'clmulr': (a, b) => (clmulFull(a, b) >> 63n) & M64,
  'bclr': (a, b) => a & ~(1n << (b & 63n)) & M64,
  'bclri': (a, b) => a & ~(1n << b) & M64,
  'bext': (a, b) => bit(a, Number(b & 63n)),
  'bexti': (a, b) => bit(a, Number(b)),
  'binv': (a, b) => a ^ (1n << (b & 63n)),
  'binvi': (a, b) => a ^ (1n << b),
  'bset': (a, b) => a | (1n << (b & 63n)),
  'bseti': (a, b) => a | (1n << b),
  'czero.eqz': (a, b) => (b === 0n ? 0n : a),
  'czero.nez': (a, b) => (b !== 0n ? 0n : a),
};

const VALUES: bigint[] = [
  0n, 1n, M64, 0x8000000000000000n, 0x7fffffffffffffffn, 0x80000000n, 0xffffffffn,
  0xdeadbeef_80000001n, 0x0123456789abcdefn, 0x00ff00000000ff00n, 63n, 32n, 31n,
];
const added = INSNS.filter((e) => e.enc !== undefined && e.sem !== undefined);
const fmtOf = (e: Insn): string => e.enc!.fmt;
const isImm = (e: Insn): boolean => fmtOf(e).startsWith('SHIFT');
const immMax = (e: Insn): number => (fmtOf(e) === 'SHIFTBW' ? 31 : 63);
const SHAMTS = [0, 1, 31, 32, 63];

/** The 32-bit word for `e` with rd = a0, rs1 = a1, and rs2 = a2 or the shift amount. */
function encode(e: Insn, sh = 0): number {
  let w = e.enc!.match | (a0 << 7) | (a1 << 15);
  if (isImm(e)) w |= sh << 20;
  else if (fmtOf(e) === 'R') w |= a2 << 20;
  return w >>> 0;
}

/** Operand pairs for `e`: (rs1, rs2) value pairs, or (rs1, shamt). */
function cases(e: Insn): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const a of VALUES) {
    if (isImm(e)) for (const s of SHAMTS) { if (s <= immMax(e)) out.push([a, BigInt(s)]); }
    else if (fmtOf(e) === 'R1') out.push([a, 0n]);
    else for (const b of VALUES) out.push([a, b]);
  }
  return out;
}

/** Run every case of `e` in one program on a hart (the interpreter); results as u64. */
function runOnHart(e: Insn, cs: [bigint, bigint][]): bigint[] {
  const sim = runProgram((a: Asm) => {
    a.li(s1, DATA);
    cs.forEach(([x, y], k) => {
      a.li(a1, x).li(a2, y).li(a0, 0x5a5a5a5a5a5a5a5an);
      a.word(encode(e, isImm(e) ? Number(y) : 0));
      a.sd(a0, 8 * k, s1);
    });
  }, { maxSteps: 100_000 });
  expect(sim.stop).toBe('done');
  expect(sim.traps).toEqual([]);
  return cs.map((_c, k) => sim.read64(DATA + 8 * k));
}

/** Run one case through the body as a translated block expands it. */
function runAsBlock(e: Insn, x: bigint, y: bigint, rd = a0, rs1 = a1, rs2 = a2): bigint {
  const regs = new BigInt64Array(33);
  const xi = new Int32Array(regs.buffer);
  regs[rs1] = x;
  if (!isImm(e)) regs[rs2] = y;
  const imm = isImm(e) ? Number(y) : 0;
  const code = expandSem(e.sem!, { kind: 'jit', rd, rs1, rs2, rs3: 0, imm, imm64: BigInt(imm), pc: 0x80000000, npc: 0x80000004, rm: '0' });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('x', 'xi', 'B', `{ ${code} }`)(regs, xi, B);
  return u(regs[rd]!);
}

describe('every Zba/Zbb/Zbc/Zbs/Zicond instruction has a model here', () => {
  it('the table and this test name the same instructions', () => {
    expect(added.map((e) => e.name).sort()).toEqual(Object.keys(MODELS).sort());
  });
});

describe('Bitmanip and Zicond results on edge values', () => {
  it.each(added.map((e) => [e.name, e] as const))('%s (interpreter and translated block)', (_n, e) => {
    const cs = cases(e);
    const model = MODELS[e.name]!;
    const want = cs.map(([x, y]) => model(x, y));
    const got = runOnHart(e, cs);
    const bad: string[] = [];
    cs.forEach(([x, y], k) => {
      if (got[k] !== want[k]) bad.push(`interp ${e.name}(0x${x.toString(16)}, 0x${y.toString(16)}) = 0x${got[k]!.toString(16)}, want 0x${want[k]!.toString(16)}`);
      const blk = runAsBlock(e, x, y);
      if (blk !== want[k]) bad.push(`block ${e.name}(0x${x.toString(16)}, 0x${y.toString(16)}) = 0x${blk.toString(16)}, want 0x${want[k]!.toString(16)}`);
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it.each(added.map((e) => [e.name, e] as const))('%s with rd = rs1 = rs2 reads its sources before writing', (_n, e) => {
    const x = 0xdeadbeef_80000001n, y = isImm(e) ? 33n : x;
    const y2 = isImm(e) && Number(y) > immMax(e) ? 31n : y;
    expect(runAsBlock(e, x, y2, a1, a1, a1)).toBe(MODELS[e.name]!(x, y2));
  });
});

describe('encodings and disassembly', () => {
  it('decodes each new instruction word to its own table entry', () => {
    for (const e of added) {
      const w = encode(e, isImm(e) ? 5 : 0);
      expect(matchOpcode(w)?.name, e.name).toBe(e.name);
    }
  });

  it('prints Zicond as binutils 2.41 does (2.40, the fixture toolchain, predates it)', () => {
    expect(disassemble(0x0ec5d533, 0x80000000n).text).toBe('czero.eqz\ta0,a1,a2');
    expect(disassemble(0x0ec5f533, 0x80000000n).text).toBe('czero.nez\ta0,a1,a2');
  });

  it('rs2 != 0 in a unary Zbb encoding is not an instruction', () => {
    // clz with rs2 = 6 (funct12 0x606): reserved.
    expect(matchOpcode(0x6065951b)).toBeUndefined();
  });
});

describe('translated blocks run the table bodies exactly as the interpreter does', () => {
  /**
   * A loop over every new instruction, each result folded into a checksum and fed back into
   * the operands, run 200 times by the interpreter only and with blocks translated after 2
   * executions: the register files at the SBI shutdown must be identical.
   */
  function run(jit: boolean): { regs: bigint[]; blocks: number; errors: string[] } {
    const a = new Asm(0x8020_0000);
    a.li(t0, 0x0123456789abcdefn).li(t1, -2n).li(t2, 0x8000000000000000n).li(s2, 0).li(s3, 200);
    a.label('loop');
    added.forEach((e, k) => {
      const srcA = [t0, t1, t2][k % 3]!, srcB = [t1, t2, t0][k % 3]!;
      let w = e.enc!.match | (a0 << 7) | (srcA << 15);
      if (isImm(e)) w |= ((k * 7) % (immMax(e) + 1)) << 20;
      else if (fmtOf(e) === 'R') w |= srcB << 20;
      a.word(w >>> 0).xor(s2, s2, a0);
      // rd = rs1 aliasing once per instruction, on a copy.
      a.addi(a1, srcA, 0).word(((w & ~(0x1f << 7) & ~(0x1f << 15)) | (a1 << 7) | (a1 << 15)) >>> 0).add(s2, s2, a1);
      a.xor(t0, t0, s2).addi(t1, t1, 3).slli(a2, s2, 7).xor(t2, t2, a2);
    });
    a.addi(s3, s3, -1).bne(s3, 0, 'loop');
    a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(bitmanip loop)', bytes: a.assemble() }, jit, jitHot: 2,
    });
    const halt = new Scheduler(m, { maxInsns: 5_000_000 }).runToEnd();
    expect(halt.kind).toBe('poweroff');
    return { regs: Array.from(m.harts[0]!.x.slice(0, 32)), blocks: m.jit.blocksCompiled, errors: m.jit.compileErrors };
  }

  it('same registers with and without translation', () => {
    const interp = run(false);
    const blocks = run(true);
    expect(blocks.errors).toEqual([]);
    expect(blocks.blocks).toBeGreaterThan(0);
    expect(blocks.regs).toEqual(interp.regs);
    expect(interp.regs[s2]).not.toBe(0n);
  });
});
