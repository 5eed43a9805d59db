/**
 * The instruction table (src/isa/insns.ts) and what is generated from it: the generated files
 * are what the table gives (nobody edited them by hand), and dispatch reads per-op data, so the
 * position of an entry in the table decides nothing but its number.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSNS, Cls, F_XRD, F_CTRL, F_RM, F_STORE, F_SIGNED, F_UIMM, F_HLVX, CsrOp, Amo } from '../src/isa/insns.js';
import { Op, OP_BY_NAME, OP_CLASS, OP_FLAGS, OP_SIZE, OP_ARG } from '../src/isa/decode.js';
import { OPCODES } from '../src/isa/opcodes.js';

describe('generated code', () => {
  it('op.gen.ts, exec-alu.gen.ts and the generated regions of hart.ts and fpu.ts are what the table generates', () => {
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
      const noRd = /^(beq|bne|blt|bge|bltu|bgeu|sb|sh|sw|sd|fence|fence\.i|ecall|ebreak|mret|sret|wfi|sfence\.vma|hfence\..*|sinval\.vma|sfence\.w\.inval|sfence\.inval\.ir|hinval\..*|hsv\..*|cbo\..*|illegal)$/.test(e.name);
      if (OP_CLASS[op] !== Cls.FP) expect((OP_FLAGS[op]! & F_XRD) !== 0, e.name).toBe(!noRd);
    }
  });
});

describe('dispatch does not depend on the order of the table', () => {
  it('no module compares or subtracts Op members (ranges and offsets break when an entry is inserted)', () => {
    // `op >= Op.X`, `op - Op.X`, `Op.X + k`, `op <= Op.Y`: dispatch by position. Equality tests
    // and switch cases name one operation and are fine.
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []);
    const bad: string[] = [];
    for (const f of [...files('src'), 'scripts/gen-insns.mjs']) {
      readFileSync(f, 'utf8').split('\n').forEach((line, k) => {
        if (/\bOp\.[A-Z][A-Z0-9_]*\s*(?:[-+*/%]|<=?|>=?)(?!=)/.test(line) || /(?:[-+*/%]|<=?|(?<!=)>=?)\s*Op\.[A-Z]/.test(line)) {
          bad.push(`${f}:${k + 1}: ${line.trim()}`);
        }
      });
    }
    expect(bad).toEqual([]);
  });

  it('the per-op data of hand-written operations is what their names say (so a new entry must declare it)', () => {
    const amo: Record<string, Amo> = { swap: Amo.SWAP, add: Amo.ADD, xor: Amo.XOR, and: Amo.AND, or: Amo.OR,
      min: Amo.MIN, max: Amo.MAX, minu: Amo.MINU, maxu: Amo.MAXU };
    const width: Record<string, number> = { b: 1, bu: 1, h: 2, hu: 2, w: 4, wu: 4, d: 8 };
    let checked = 0;
    for (const [op, e] of INSNS.entries()) {
      const f = OP_FLAGS[op]!;
      let m: RegExpExecArray | null;
      if ((m = /^amo([a-z]+)\.([wd])$/.exec(e.name)) !== null) {
        expect([OP_ARG[op], OP_SIZE[op], f & F_STORE], e.name).toEqual([amo[m[1]!], width[m[2]!], F_STORE]);
      } else if ((m = /^(lr|sc)\.([wd])$/.exec(e.name)) !== null) {
        expect([OP_SIZE[op], f & F_STORE], e.name).toEqual([width[m[2]!], m[1] === 'sc' ? F_STORE : 0]);
      } else if ((m = /^csrr([wsc])(i?)$/.exec(e.name)) !== null) {
        const kind = { w: CsrOp.RW, s: CsrOp.RS, c: CsrOp.RC }[m[1] as 'w' | 's' | 'c'];
        expect([OP_ARG[op], f & F_UIMM], e.name).toEqual([kind, m[2] === 'i' ? F_UIMM : 0]);
      } else if ((m = /^h(lv|lvx|sv)\.([a-z]+)$/.exec(e.name)) !== null) {
        const signed = m[1] === 'lv' && /^[bhw]$/.test(m[2]!);
        expect([OP_SIZE[op], f & F_STORE, f & F_SIGNED, f & F_HLVX], e.name)
          .toEqual([width[m[2]!], m[1] === 'sv' ? F_STORE : 0, signed ? F_SIGNED : 0, m[1] === 'lvx' ? F_HLVX : 0]);
      } else {
        continue;
      }
      checked++;
    }
    expect(checked).toBe(18 + 4 + 6 + 13);
  });
});
