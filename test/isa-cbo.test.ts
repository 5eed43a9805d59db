/**
 * Zicbom / Zicboz cache-block operations (CMO spec v1.0.1): which xenvcfg bits enable them in
 * which mode, the illegal / virtual-instruction exceptions when not, and cbo.zero's 64-byte
 * aligned block.
 */
import { describe, expect, it } from 'vitest';
import { Asm, a1, a2, t0, runProgram, DATA } from './hart/harness.js';
import { INSNS } from '../src/isa/insns.js';
import { disassemble } from '../src/isa/disasm.js';

const M = 3, S = 1, U = 0;
const MENVCFG = 0x30a, SENVCFG = 0x10a, HENVCFG = 0x60a;
const CBIE_FLUSH = 0x10n, CBIE_INV = 0x30n, CBCFE = 0x40n, CBZE = 0x80n;
const enc = (name: string, rs1: number): number => {
  const e = INSNS.find((x) => x.name === name)!;
  return (e.enc!.match | (rs1 << 15)) >>> 0;
};

interface Row {
  what: string; op: 'cbo.clean' | 'cbo.flush' | 'cbo.inval' | 'cbo.zero';
  priv: number; virt: boolean; menv: bigint; senv: bigint; henv: bigint;
  /** Expected exception cause, or null when the instruction completes. */
  cause: number | null;
}
const ILL = 2, VIRT = 22;
const ROWS: Row[] = [
  { what: 'M-mode needs no enable', op: 'cbo.clean', priv: M, virt: false, menv: 0n, senv: 0n, henv: 0n, cause: null },
  { what: 'S with menvcfg.CBCFE = 0 is illegal', op: 'cbo.flush', priv: S, virt: false, menv: 0n, senv: CBCFE, henv: 0n, cause: ILL },
  { what: 'S with menvcfg.CBCFE = 1 runs (senvcfg does not matter for S)', op: 'cbo.clean', priv: S, virt: false, menv: CBCFE, senv: 0n, henv: 0n, cause: null },
  { what: 'U needs senvcfg.CBCFE too', op: 'cbo.clean', priv: U, virt: false, menv: CBCFE, senv: 0n, henv: 0n, cause: ILL },
  { what: 'U with both set runs', op: 'cbo.flush', priv: U, virt: false, menv: CBCFE, senv: CBCFE, henv: 0n, cause: null },
  { what: 'VS with henvcfg.CBCFE = 0 is a virtual instruction', op: 'cbo.clean', priv: S, virt: true, menv: CBCFE, senv: CBCFE, henv: 0n, cause: VIRT },
  { what: 'VS with menvcfg.CBCFE = 0 is illegal (M first)', op: 'cbo.clean', priv: S, virt: true, menv: 0n, senv: CBCFE, henv: CBCFE, cause: ILL },
  { what: 'VU with senvcfg.CBCFE = 0 is a virtual instruction', op: 'cbo.flush', priv: U, virt: true, menv: CBCFE, senv: 0n, henv: CBCFE, cause: VIRT },
  { what: 'VU with all three set runs', op: 'cbo.flush', priv: U, virt: true, menv: CBCFE, senv: CBCFE, henv: CBCFE, cause: null },
  { what: 'inval with CBIE = 00 is illegal', op: 'cbo.inval', priv: S, virt: false, menv: CBCFE | CBZE, senv: 0n, henv: 0n, cause: ILL },
  { what: 'inval with CBIE = 01 runs (as a flush)', op: 'cbo.inval', priv: S, virt: false, menv: CBIE_FLUSH, senv: 0n, henv: 0n, cause: null },
  { what: 'inval in VS with henvcfg.CBIE = 00', op: 'cbo.inval', priv: S, virt: true, menv: CBIE_INV, senv: 0n, henv: CBCFE, cause: VIRT },
  { what: 'zero uses CBZE, not CBCFE', op: 'cbo.zero', priv: S, virt: false, menv: CBCFE | CBIE_INV, senv: 0n, henv: 0n, cause: ILL },
  { what: 'zero in U with both CBZE', op: 'cbo.zero', priv: U, virt: false, menv: CBZE, senv: CBZE, henv: 0n, cause: null },
  { what: 'zero in VU needs henvcfg.CBZE', op: 'cbo.zero', priv: U, virt: true, menv: CBZE, senv: CBZE, henv: 0n, cause: VIRT },
];

describe('cache-block operations: xenvcfg enables per mode', () => {
  it.each(ROWS.map((r) => [r.what, r] as const))('%s', (_w, r) => {
    const insn = enc(r.op, a1);
    const sim = runProgram((a: Asm) => {
      a.li(t0, r.menv).csrw(MENVCFG, t0).li(t0, r.senv).csrw(SENVCFG, t0).li(t0, r.henv).csrw(HENVCFG, t0);
      a.li(a1, DATA + 0x45);
      if (r.priv === M) a.j('low');
      else if (r.virt) a.enterV(r.priv, 'low');
      else a.enter(r.priv, 'low');
      a.label('low').word(insn).j('done');
    });
    if (r.cause === null) {
      expect(sim.traps).toEqual([]);
      expect(sim.stop).toBe('done');
    } else {
      expect(sim.traps.map((t) => [t.cause, t.tval])).toEqual([[r.cause, BigInt(insn)]]);
    }
  });
});

describe('cbo.zero', () => {
  it('zeroes exactly the 64-byte block that holds the address', () => {
    const sim = runProgram((a: Asm) => {
      a.li(a1, DATA).li(t0, -1);
      for (let k = 0; k < 24; k++) a.sd(t0, 8 * k, a1);
      a.li(a2, DATA + 64 + 13).word(enc('cbo.zero', a2));
    });
    expect(sim.traps).toEqual([]);
    for (let k = 0; k < 24; k++) expect(sim.read64(DATA + 8 * k), `dword ${k}`).toBe(k >= 8 && k < 16 ? 0n : (1n << 64n) - 1n);
  });

  it('csr writes keep the enables and legalize the reserved CBIE = 10 to 00', () => {
    const sim = runProgram((a: Asm) => {
      a.li(t0, 0xf0n).csrw(MENVCFG, t0).csrr(a1, MENVCFG);
      a.li(t0, 0xe0n).csrw(SENVCFG, t0).csrr(a2, SENVCFG);
    });
    expect(sim.x(a1)).toBe(0xf0n);
    expect(sim.x(a2)).toBe(0xc0n);
  });
});

describe('disassembly', () => {
  it('prints the operand as objdump 2.40 does (-march=..._zicbom_zicboz)', () => {
    expect(disassemble(0x0015200f, 0x80000000n).text).toBe('cbo.clean\t(a0)');
    expect(disassemble(0x0045a00f, 0x80000000n).text).toBe('cbo.zero\t(a1)');
    expect(disassemble(0x0005a00f, 0x80000000n).text).toBe('cbo.inval\t(a1)');
    expect(disassemble(0x0025200f, 0x80000000n).text).toBe('cbo.flush\t(a0)');
  });
});
