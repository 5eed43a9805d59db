/**
 * The instruction table (src/isa/insns.ts) and what is generated from it: the generated files
 * are what the table gives (nobody edited them by hand), and dispatch reads per-op data, so the
 * position of an entry in the table decides nothing but its number.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { INSNS, Cls, F_XRD, F_CTRL, F_RM } from '../src/isa/insns.js';
import { Op, OP_BY_NAME, OP_CLASS, OP_FLAGS } from '../src/isa/decode.js';
import { OPCODES } from '../src/isa/opcodes.js';

describe('generated code', () => {
  it('op.gen.ts, exec-alu.gen.ts and the generated region of hart.ts are what the table generates', () => {
    // Exits 1 and names the file when one differs.
    expect(() => execFileSync(process.execPath, ['scripts/gen-insns.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('per-op data', () => {
  it('Op numbers are table positions', () => {
    expect(INSNS.length).toBe(Op.COUNT);
    expect(INSNS[Op.ADD]!.name).toBe('add');
    expect(INSNS[Op.FMV_D_X]!.name).toBe('fmv.d.x');
    expect(INSNS[Op.SH1ADD]!.name).toBe('sh1add');
    expect(INSNS[Op.CZERO_NEZ]!.name).toBe('czero.nez');
    for (const [name, op] of Object.entries(OP_BY_NAME)) expect(INSNS[op]!.name).toBe(name);
  });

  it('every encoding in OPCODES has an op, and every op but ILLEGAL an encoding', () => {
    const encoded = new Set(OPCODES.map((d) => d.name));
    expect(OPCODES.map((d) => d.name).filter((n) => OP_BY_NAME[n] === undefined)).toEqual([]);
    expect(INSNS.slice(1).map((e) => e.name).filter((n) => !encoded.has(n))).toEqual([]);
  });

  it('operations appended at the end keep their own class (they used to fall into execFp)', () => {
    expect(OP_CLASS[Op.SH1ADD]).toBe(Cls.ALU);
    expect(OP_CLASS[Op.CZERO_EQZ]).toBe(Cls.ALU);
    expect(OP_FLAGS[Op.SH1ADD]! & F_XRD).toBe(F_XRD);
    expect(OP_FLAGS[Op.SH1ADD]! & F_RM).toBe(0);
  });

  it('classes and flags agree with what each operation is', () => {
    for (const [op, e] of INSNS.entries()) {
      if (e.sem !== undefined) expect([Cls.HOT, Cls.ALU, Cls.FP], e.name).toContain(OP_CLASS[op]);
      // Every operation the interpreter or a block executes without a hart method has its body here.
      if ([Cls.HOT, Cls.ALU, Cls.FP].includes(OP_CLASS[op]!) && e.name !== 'illegal') expect(e.sem, e.name).toBeDefined();
      if (/^f(?!ence)/.test(e.name)) expect(OP_CLASS[op], e.name).toBe(Cls.FP);
      if (/^amo/.test(e.name)) expect(OP_CLASS[op], e.name).toBe(Cls.AMO);
      const ctrl = /^(jal|jalr|beq|bne|blt|bge|bltu|bgeu)$/.test(e.name);
      expect((OP_FLAGS[op]! & F_CTRL) !== 0, e.name).toBe(ctrl);
      const noRd = /^(beq|bne|blt|bge|bltu|bgeu|sb|sh|sw|sd|fence|fence\.i|ecall|ebreak|mret|sret|wfi|sfence\.vma|hfence\..*|hsv\..*|cbo\..*|illegal)$/.test(e.name);
      if (OP_CLASS[op] !== Cls.FP) expect((OP_FLAGS[op]! & F_XRD) !== 0, e.name).toBe(!noRd);
    }
  });
});
