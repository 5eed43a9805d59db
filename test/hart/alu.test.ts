/**
 * RV64I / RV64M edge cases (unprivileged spec 20191213, chapters 2, 5 and 7).
 */
import { describe, expect, it } from 'vitest';
import { Asm, a0, a1, a2, a3, ra, s1, t0, zero, runProgram, DATA, CSR } from './harness.js';

const M64 = (1n << 64n) - 1n;
const MIN64 = 0x8000000000000000n;
const MAX64 = 0x7fffffffffffffffn;
const u = (v: bigint): bigint => BigInt.asUintN(64, v);
/** sign-extend a 32-bit value to 64 bits, as an unsigned 64-bit pattern */
const sx32 = (v: bigint): bigint => u(BigInt.asIntN(32, v));

type Emit = (a: Asm) => unknown;

/** Run `emit` with a1 = x, a2 = y; return a0 (unsigned 64-bit). */
function op2(emit: Emit, x: bigint, y: bigint = 0n): bigint {
  const sim = runProgram((a) => { emit(a); }, { regs: { [a1]: x, [a2]: y, [a0]: 0xdead } });
  expect(sim.stop).toBe('done');
  expect(sim.traps).toEqual([]);
  return sim.x(a0);
}

describe('RV64I W-ops sign-extend their 32-bit result (§5.2)', () => {
  it.each([
    ['addw 0x7fffffff + 1 overflows to a negative word', (a: Asm) => a.addw(a0, a1, a2), 0x7fffffffn, 1n, 0xffffffff80000000n],
    ['addw ignores the upper halves of both operands', (a: Asm) => a.addw(a0, a1, a2), 0x12345678_00000001n, 0xabcdef01_00000002n, 3n],
    ['subw 0x80000000 - 1 is positive', (a: Asm) => a.subw(a0, a1, a2), 0x80000000n, 1n, 0x7fffffffn],
    ['subw 0 - 1 is -1', (a: Asm) => a.subw(a0, a1, a2), 0n, 1n, M64],
    ['addiw rd, rs, 0 is sext.w', (a: Asm) => a.addiw(a0, a1, 0), 0xdeadbeef_80000001n, 0n, 0xffffffff80000001n],
    ['addiw with -2048', (a: Asm) => a.addiw(a0, a1, -2048), 0x100000000n, 0n, u(-2048n)],
    ['mulw sign-extends the low 32 bits of the product', (a: Asm) => a.mulw(a0, a1, a2), 0x7fffffffn, 2n, u(-2n)],
    ['mulw ignores upper operand bits', (a: Asm) => a.mulw(a0, a1, a2), 0xffff_0000_0001_0000n, 0x1_0001_0000n, 0n],
  ])('%s', (_n, emit, x, y, exp) => {
    expect(op2(emit, x, y)).toBe(exp);
  });
});

describe('shifts by 0/31/32/63 (§2.4, §5.2)', () => {
  it.each([
    ['slli by 0 is a move', (a: Asm) => a.slli(a0, a1, 0), 0x8000000000000001n, 0x8000000000000001n],
    ['slli by 63', (a: Asm) => a.slli(a0, a1, 63), 3n, MIN64],
    ['slli by 32', (a: Asm) => a.slli(a0, a1, 32), 0x1_ffff_ffffn, 0xffffffff_00000000n],
    ['srli by 63 of -1', (a: Asm) => a.srli(a0, a1, 63), M64, 1n],
    ['srli by 32 is logical', (a: Asm) => a.srli(a0, a1, 32), 0x80000000_00000000n, 0x80000000n],
    ['srai by 63 of MIN is -1', (a: Asm) => a.srai(a0, a1, 63), MIN64, M64],
    ['srai by 31', (a: Asm) => a.srai(a0, a1, 31), 0xffffffff_00000000n, M64 << 1n & M64 | 0n],
    ['slliw by 31 sign-extends bit 31', (a: Asm) => a.slliw(a0, a1, 31), 1n, 0xffffffff80000000n],
    ['slliw by 0 is sext.w', (a: Asm) => a.slliw(a0, a1, 0), 0x1_8000_0000n, 0xffffffff80000000n],
    ['srliw by 0 of a negative word sign-extends', (a: Asm) => a.srliw(a0, a1, 0), 0x80000000n, 0xffffffff80000000n],
    ['srliw by 31 of a negative word gives 1', (a: Asm) => a.srliw(a0, a1, 31), 0xffffffff80000000n, 1n],
    ['srliw by 1 of a negative word is positive', (a: Asm) => a.srliw(a0, a1, 1), 0xfffffffffffffffen, 0x7fffffffn],
    ['srliw ignores the upper half', (a: Asm) => a.srliw(a0, a1, 4), 0xffffffff_000000f0n, 0xfn],
    ['sraiw by 31 of 0x80000000 (bit 31 is the sign) gives -1', (a: Asm) => a.sraiw(a0, a1, 31), 0x80000000n, M64],
    ['sraiw by 0 of 0x80000000 sign-extends', (a: Asm) => a.sraiw(a0, a1, 0), 0x80000000n, 0xffffffff80000000n],
    ['sraiw of a positive word with garbage above', (a: Asm) => a.sraiw(a0, a1, 4), 0x80000000_7ffffff0n, 0x07ffffffn],
  ])('%s', (_n, emit, x, exp) => {
    expect(op2(emit, x)).toBe(exp);
  });

  it.each([
    ['sll uses only rs2[5:0] (64 -> 0)', (a: Asm) => a.sll(a0, a1, a2), 5n, 64n, 5n],
    ['sll by 63', (a: Asm) => a.sll(a0, a1, a2), 1n, 63n, MIN64],
    ['srl by 0x3f | garbage', (a: Asm) => a.srl(a0, a1, a2), M64, 0xffffffc0n | 63n, 1n],
    ['sra by 32 of a negative value', (a: Asm) => a.sra(a0, a1, a2), 0x80000000_00000000n, 32n, 0xffffffff80000000n],
    ['sllw uses only rs2[4:0] (32 -> 0) and sign-extends', (a: Asm) => a.sllw(a0, a1, a2), 0x80000000n, 32n, 0xffffffff80000000n],
    ['sllw by 31', (a: Asm) => a.sllw(a0, a1, a2), 3n, 31n, 0xffffffff80000000n],
    ['srlw by 31 of a negative word', (a: Asm) => a.srlw(a0, a1, a2), 0xffffffff80000000n, 31n, 1n],
    ['srlw by 32 (-> 0) of a negative word sign-extends', (a: Asm) => a.srlw(a0, a1, a2), 0x80000000n, 32n, 0xffffffff80000000n],
    ['srlw by 63 (-> 31)', (a: Asm) => a.srlw(a0, a1, a2), 0x80000000n, 63n, 1n],
    ['sraw of a negative word by 4', (a: Asm) => a.sraw(a0, a1, a2), sx32(-256n), 4n, u(-16n)],
    ['sraw by 63 uses 31', (a: Asm) => a.sraw(a0, a1, a2), 0x80000000n, 63n, M64],
    ['sraw by 32 uses 0', (a: Asm) => a.sraw(a0, a1, a2), 0x1_80000000n, 32n, 0xffffffff80000000n],
    ['sraw of positive word ignores bit 63', (a: Asm) => a.sraw(a0, a1, a2), 0x80000000_40000000n, 30n, 1n],
  ])('%s', (_n, emit, x, y, exp) => {
    expect(op2(emit, x, y)).toBe(exp);
  });
});

describe('division (§7.2, Table 7.1)', () => {
  it.each([
    ['div by zero is -1', (a: Asm) => a.div(a0, a1, a2), 42n, 0n, M64],
    ['divu by zero is 2^64-1', (a: Asm) => a.divu(a0, a1, a2), 42n, 0n, M64],
    ['rem by zero is the dividend', (a: Asm) => a.rem(a0, a1, a2), u(-42n), 0n, u(-42n)],
    ['remu by zero is the dividend', (a: Asm) => a.remu(a0, a1, a2), M64 - 1n, 0n, M64 - 1n],
    ['div MIN / -1 overflows to MIN', (a: Asm) => a.div(a0, a1, a2), MIN64, M64, MIN64],
    ['rem MIN % -1 is 0', (a: Asm) => a.rem(a0, a1, a2), MIN64, M64, 0n],
    ['div rounds toward zero (-7 / 2 = -3)', (a: Asm) => a.div(a0, a1, a2), u(-7n), 2n, u(-3n)],
    ['rem takes the sign of the dividend (-7 % 2 = -1)', (a: Asm) => a.rem(a0, a1, a2), u(-7n), 2n, M64],
    ['rem 7 % -2 = 1', (a: Asm) => a.rem(a0, a1, a2), 7n, u(-2n), 1n],
    ['divu treats operands as unsigned', (a: Asm) => a.divu(a0, a1, a2), M64, 2n, MAX64],
    ['remu treats operands as unsigned', (a: Asm) => a.remu(a0, a1, a2), M64, 10n, 5n],
    ['divw by zero is -1', (a: Asm) => a.divw(a0, a1, a2), 5n, 0x1_0000_0000n, M64],
    ['divuw by zero is -1 (0xffffffff sign-extended)', (a: Asm) => a.divuw(a0, a1, a2), 5n, 0n, M64],
    ['remw by zero is sext(dividend[31:0])', (a: Asm) => a.remw(a0, a1, a2), 0x1_8000_0000n, 0n, 0xffffffff80000000n],
    ['remuw by zero is sext(dividend[31:0])', (a: Asm) => a.remuw(a0, a1, a2), 0x80000000n, 0n, 0xffffffff80000000n],
    ['divw 0x80000000 / -1 overflows to sext(0x80000000)', (a: Asm) => a.divw(a0, a1, a2), 0x80000000n, M64, 0xffffffff80000000n],
    ['remw 0x80000000 % -1 is 0', (a: Asm) => a.remw(a0, a1, a2), 0x80000000n, M64, 0n],
    ['divw uses only the low words', (a: Asm) => a.divw(a0, a1, a2), 0x7_ffff_fff9n, 0x5_0000_0002n, u(-3n)],
    ['divuw 0xffffffff / 1 sign-extends the result', (a: Asm) => a.divuw(a0, a1, a2), 0xffffffffn, 1n, M64],
    ['divuw 0xfffffffe / 2', (a: Asm) => a.divuw(a0, a1, a2), 0xfffffffen, 2n, 0x7fffffffn],
    ['remuw 0xffffffff % 0x10', (a: Asm) => a.remuw(a0, a1, a2), 0xffffffffn, 0x10n, 0xfn],
    ['remw -7 % 2 = -1', (a: Asm) => a.remw(a0, a1, a2), sx32(-7n), 2n, M64],
  ])('%s', (_n, emit, x, y, exp) => {
    expect(op2(emit, x, y)).toBe(exp);
  });
});

describe('multiplication high halves (§7.1)', () => {
  it.each([
    ['mulh (-1)*(-1) high is 0', (a: Asm) => a.mulh(a0, a1, a2), M64, M64, 0n],
    ['mulh MIN*MIN high is 2^62', (a: Asm) => a.mulh(a0, a1, a2), MIN64, MIN64, 1n << 62n],
    ['mulh (-2)*3 high is -1', (a: Asm) => a.mulh(a0, a1, a2), u(-2n), 3n, M64],
    ['mulh MAX*MIN', (a: Asm) => a.mulh(a0, a1, a2), MAX64, MIN64, u(-(1n << 62n))],
    ['mulhu (2^64-1)^2 high is 2^64-2', (a: Asm) => a.mulhu(a0, a1, a2), M64, M64, M64 - 1n],
    ['mulhu MIN*2 high is 1', (a: Asm) => a.mulhu(a0, a1, a2), MIN64, 2n, 1n],
    ['mulhsu (-1)*(2^64-1) high is -1', (a: Asm) => a.mulhsu(a0, a1, a2), M64, M64, M64],
    ['mulhsu 2*(2^64-1) high is 1 (rs2 unsigned)', (a: Asm) => a.mulhsu(a0, a1, a2), 2n, M64, 1n],
    ['mulhsu (-2)*3 high is -1 (rs1 signed)', (a: Asm) => a.mulhsu(a0, a1, a2), u(-2n), 3n, M64],
    ['mulhsu MIN*MIN(unsigned 2^63) high is -2^62', (a: Asm) => a.mulhsu(a0, a1, a2), MIN64, MIN64, u(-(1n << 62n))],
    ['mul low half of (-1)*(-1) is 1', (a: Asm) => a.mul(a0, a1, a2), M64, M64, 1n],
    ['mul wraps modulo 2^64', (a: Asm) => a.mul(a0, a1, a2), 0x1_0000_0001n, 0xffff_ffffn << 32n, 0xffffffff00000000n],
  ])('%s', (_n, emit, x, y, exp) => {
    expect(op2(emit, x, y)).toBe(exp);
  });
});

describe('comparisons at the boundaries (§2.4)', () => {
  it.each([
    ['slt -1 < 0', (a: Asm) => a.slt(a0, a1, a2), M64, 0n, 1n],
    ['sltu 2^64-1 < 0 is false', (a: Asm) => a.sltu(a0, a1, a2), M64, 0n, 0n],
    ['slt MIN < MAX', (a: Asm) => a.slt(a0, a1, a2), MIN64, MAX64, 1n],
    ['sltu 2^63 < 2^63-1 is false', (a: Asm) => a.sltu(a0, a1, a2), MIN64, MAX64, 0n],
    ['sltu 0x7fffffff < 0x80000000 (upper halves equal)', (a: Asm) => a.sltu(a0, a1, a2), 0x7fffffffn, 0x80000000n, 1n],
    ['sltu x0, rs (snez) of nonzero', (a: Asm) => a.sltu(a0, zero, a1), MIN64, 0n, 1n],
    ['slt equal values is 0', (a: Asm) => a.slt(a0, a1, a2), MIN64, MIN64, 0n],
    ['slti -1 < -1 is false', (a: Asm) => a.slti(a0, a1, -1), M64, 0n, 0n],
    ['slti MIN < -2048', (a: Asm) => a.slti(a0, a1, -2048), MIN64, 0n, 1n],
    ['sltiu with -1 compares against 2^64-1', (a: Asm) => a.sltiu(a0, a1, -1), M64 - 1n, 0n, 1n],
    ['sltiu 2^64-1 < (2^64-1) is false', (a: Asm) => a.sltiu(a0, a1, -1), M64, 0n, 0n],
    ['sltiu rd, rs, 1 is seqz', (a: Asm) => a.sltiu(a0, a1, 1), 0n, 0n, 1n],
    ['sltiu immediate is sign-extended then unsigned (-2048 = 2^64-2048)', (a: Asm) => a.sltiu(a0, a1, -2048), 0x8000000000000000n, 0n, 1n],
  ])('%s', (_n, emit, x, y, exp) => {
    expect(op2(emit, x, y)).toBe(exp);
  });

  it('blt/bltu take the signed/unsigned view of the same bits', () => {
    const sim = runProgram((a) => {
      a.li(a0, 0);
      a.blt(a1, a2, 'l1').ori(a0, a0, 1).label('l1'); // -1 < 1 signed: taken
      a.bltu(a1, a2, 'l2').ori(a0, a0, 2).label('l2'); // 2^64-1 < 1 unsigned: not taken
      a.bge(a2, a1, 'l3').ori(a0, a0, 4).label('l3'); // 1 >= -1: taken
      a.bgeu(a2, a1, 'l4').ori(a0, a0, 8).label('l4'); // 1 >= 2^64-1: not taken
    }, { regs: { [a1]: M64, [a2]: 1n } });
    expect(sim.x(a0)).toBe(2n | 8n);
  });
});

describe('lui / auipc / jal / jalr (§2.4-2.5)', () => {
  it('lui sign-extends bit 31 on RV64', () => {
    expect(op2((a) => a.lui(a0, 0x80000), 0n)).toBe(0xffffffff80000000n);
    expect(op2((a) => a.lui(a0, 0x7ffff), 0n)).toBe(0x7ffff000n);
  });

  it('auipc adds a sign-extended negative offset to the pc', () => {
    const sim = runProgram((a) => {
      a.label('p1').auipc(a0, 0xfffff); // pc - 4096
      a.label('p2').auipc(a1, 0x80000); // pc - 2^31 (sign-extended), not pc + 2^31
    });
    expect(sim.x(a0)).toBe(BigInt(sim.addr('p1') - 4096));
    expect(sim.x(a1)).toBe(BigInt(sim.addr('p2')) - 0x80000000n);
  });

  it('jalr with a negative offset jumps to rs1+imm and links pc+4', () => {
    const sim = runProgram((a) => {
      a.la(a1, 'target');
      a.addi(a1, a1, 16);
      a.label('call').jalr(ra, a1, -16);
      a.li(a0, 1).j('done');
      a.label('target').li(a0, 2);
    });
    expect(sim.x(a0)).toBe(2n);
    expect(sim.x(ra)).toBe(BigInt(sim.addr('call') + 4));
  });

  it('jalr clears bit 0 of the target', () => {
    const sim = runProgram((a) => {
      a.la(a1, 'target');
      a.jalr(zero, a1, 1);
      a.li(a0, 1).j('done');
      a.label('target').li(a0, 2);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(2n);
  });

  it('jalr with rd == rs1 uses the old rs1 value', () => {
    const sim = runProgram((a) => {
      a.la(a1, 'target');
      a.label('call').jalr(a1, a1, 0);
      a.li(a0, 1).j('done');
      a.label('target').li(a0, 2);
    });
    expect(sim.x(a0)).toBe(2n);
    expect(sim.x(a1)).toBe(BigInt(sim.addr('call') + 4));
  });

  it('jal backwards with a negative offset', () => {
    const sim = runProgram((a) => {
      a.li(a0, 0).j('fwd');
      a.label('back').addi(a0, a0, 10).j('done');
      a.label('fwd').addi(a0, a0, 1).label('j').jal(ra, 'back');
    });
    expect(sim.x(a0)).toBe(11n);
    expect(sim.x(ra)).toBe(BigInt(sim.addr('j') + 4));
  });
});

describe('loads sign- or zero-extend (§2.6, §5.3)', () => {
  it.each([
    ['lb', (a: Asm) => a.lb(a0, 0, s1), 0xffffffffffffff80n],
    ['lbu', (a: Asm) => a.lbu(a0, 0, s1), 0x80n],
    ['lh', (a: Asm) => a.lh(a0, 0, s1), 0xffffffffffff8080n],
    ['lhu', (a: Asm) => a.lhu(a0, 0, s1), 0x8080n],
    ['lw', (a: Asm) => a.lw(a0, 0, s1), 0xffffffff80808080n],
    ['lwu', (a: Asm) => a.lwu(a0, 0, s1), 0x80808080n],
    ['ld', (a: Asm) => a.ld(a0, 0, s1), 0x8080808080808080n],
  ])('%s', (_n, emit, exp) => {
    const sim = runProgram((a) => {
      a.li(t0, 0x8080808080808080n).sd(t0, 0, s1);
      emit(a);
    }, { regs: { [s1]: DATA } });
    expect(sim.x(a0)).toBe(exp);
  });
});

describe('x0 is hardwired to zero (§2.1)', () => {
  it('no instruction class can change x0', () => {
    const sim = runProgram((a) => {
      a.addi(zero, zero, 5);
      a.lui(zero, 0x12345);
      a.auipc(zero, 1);
      a.add(zero, a1, a1);
      a.ld(zero, 0, s1); // the load happens but the result is discarded
      a.jal(zero, 'n1').label('n1');
      a.csrrs(zero, CSR.mscratch, zero);
      a.csrrw(zero, CSR.mscratch, a1);
      a.amo('swap', 'd', zero, a1, s1);
      a.lr_d(zero, s1);
      a.c_li(zero, 7); // HINT
      a.mul(zero, a1, a1);
      a.add(a0, zero, zero);
      a.addi(a2, zero, 0);
      a.sd(zero, 8, s1);
    }, { regs: { [a1]: 0x1234n, [s1]: DATA } });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
    expect(sim.x(0)).toBe(0n);
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a2)).toBe(0n);
    expect(sim.read64(DATA + 8)).toBe(0n);
    expect(sim.read64(DATA)).toBe(0x1234n); // amoswap still stored
    expect(sim.csr(CSR.mscratch)).toBe(0x1234n);
  });
});

describe('compressed instructions (§16)', () => {
  it('c.addi/c.li/c.mv/c.add behave as their expansions, and pcs advance by 2', () => {
    const sim = runProgram((a) => {
      a.c_li(a0, -32); // a0 = -32
      a.c_addi(a0, 31); // a0 = -1
      a.c_mv(a3, a0);
      a.c_add(a3, a0); // -2
      a.label('x').c_nop();
      a.c_nop();
      a.auipc(a2, 0);
    });
    expect(sim.x(a0)).toBe(M64);
    expect(sim.x(a3)).toBe(u(-2n));
    expect(sim.x(a2)).toBe(BigInt(sim.addr('x') + 4));
  });
});

describe('fence.i (unpriv ch. 3)', () => {
  it('an instruction stored by the hart is executed after fence.i', () => {
    const sim = runProgram((a) => {
      a.la(t0, 'patch');
      a.li(a1, 0x02a00513); // addi a0, zero, 42
      a.label('loop');
      a.label('patch').addi(a0, zero, 1); // executed once as-is, then patched
      a.bne(a3, zero, 'done');
      a.sw(a1, 0, t0);
      a.fence_i();
      a.addi(a3, zero, 1);
      a.j('loop');
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(42n);
  });
});
