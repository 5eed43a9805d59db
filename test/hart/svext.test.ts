/**
 * Svnapot (64 KiB NAPOT pages), Svpbmt (page-based memory types, gated by menvcfg/henvcfg.PBMTE)
 * and Svinval (sinval.vma, sfence.w.inval, sfence.inval.ir, hinval.vvma/gvma): privileged spec
 * chapters "Svnapot", "Svpbmt", "Svinval"; reserved-bit behaviour as QEMU 7.2 where the spec
 * leaves it open.
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, runPaged, runProgram, runGuest, a0, s1, t0, t1, zero, CSR, MS, HS, PRV_S, PRV_U, DATA,
  PTE_A, PTE_D, PTE_U, RWX, RW, RO, encR,
} from './harness.js';

const VA = 0x4000_0000n;
const LOAD_PF = 13, STORE_PF = 15, LOAD_GPF = 21, ILLEGAL = 2, VIRTUAL = 22;
const MAGIC = 0x1122334455667788n;
const PTE_N = 1n << 63n;
const PBMT = (v: bigint): bigint => v << 61n;
const PBMTE = 1n << 62n;

/** Run `code` in S-mode with Sv39 on (code and page-table pool identity-mapped) and `map`'s mappings. */
function inS(code: (a: Asm) => void, map: (pt: PageTable, sim: Sim) => void, setup?: (a: Asm) => void, priv = PRV_S): Sim {
  return runPaged('sv39', code, map, setup, priv);
}
/** A leaf PTE for physical page `pa` with flags and the extra high bits `hi`. */
const pte = (pa: number, flags: number, hi = 0n): bigint => hi | (BigInt(pa >>> 12) << 10n) | BigInt(flags);
const setPbmte = (a: Asm): void => { a.li(t0, PBMTE).csrs(CSR.menvcfg, t0); };

function expectFault(sim: Sim, cause: number, tval: bigint): void {
  expect(sim.stop).toBe('mtrap');
  expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
  expect(sim.csr(CSR.mtval)).toBe(tval);
}

describe('Svnapot: 64 KiB NAPOT pages', () => {
  /** DATA is 1 MiB aligned: a 64 KiB frame at DATA, mapped at VA..VA+64K by 16 N PTEs. */
  const napot = (pt: PageTable, va: bigint, lowPpn = 8n): void => {
    for (let k = 0n; k < 16n; k++) pt.setPte(va + k * 4096n, PTE_N | ((BigInt(DATA >>> 12) | lowPpn) << 10n) | BigInt(RW));
  };

  it('a NAPOT PTE (N = 1, ppn[3:0] = 1000) maps each 4 KiB page of the 64 KiB range to the same offset of the frame', () => {
    const sim = inS((a) => {
      a.li(t0, VA + 0x5008n).ld(a0, 0, t0);
      a.li(t1, VA + 0xf010n).sd(a0, 0, t1);
    }, (pt, s) => { napot(pt, VA); s.write64(DATA + 0x5008, MAGIC); });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
    expect(sim.read64(DATA + 0xf010)).toBe(MAGIC);
    // Not where the PTE's PPN would point if N were ignored (ppn | 8 -> DATA + 0x8000 + offset).
    expect(sim.read64(DATA + 0x8010)).toBe(0n);
  });

  it.each([
    ['ppn[3:0] = 0100 (only 64 KiB NAPOT is defined)', 4n],
    ['ppn[3:0] = 0000', 0n],
    ['ppn[3:0] = 1001', 9n],
  ])('misconfigured NAPOT PTE: %s -> page fault', (_n, low) => {
    const sim = inS((a) => { a.li(t0, VA + 0x10n).ld(a0, 0, t0); }, (pt) => { napot(pt, VA, low); });
    expectFault(sim, LOAD_PF, VA + 0x10n);
  });

  it('N = 1 on a 2 MiB superpage leaf -> page fault', () => {
    const sim = inS((a) => { a.li(t0, VA + 0x10n).ld(a0, 0, t0); }, (pt) => {
      pt.setPte(VA, PTE_N | (BigInt((DATA + 0x8000) >>> 12) << 10n) | BigInt(RO), 1);
    });
    expectFault(sim, LOAD_PF, VA + 0x10n);
  });

  it('N = 1 in a non-leaf PTE -> page fault', () => {
    const sim = inS((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(VA, DATA, RO);
      const at = pt.pteAddr(VA, 1);
      s.write64(at, s.read64(at) | PTE_N);
    });
    expectFault(sim, LOAD_PF, VA);
  });
});

describe('Svpbmt: PBMT needs menvcfg.PBMTE (and henvcfg.PBMTE in the VS stage)', () => {
  it.each([['NC', 1n], ['IO', 2n]])('PBMT = %s with menvcfg.PBMTE = 1 translates (RAM stays RAM)', (_n, v) => {
    const sim = inS((a) => { a.li(t0, VA + 8n).ld(a0, 0, t0); }, (pt, s) => {
      pt.setPte(VA, pte(DATA, RO, PBMT(v)));
      s.write64(DATA + 8, MAGIC);
    }, setPbmte);
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('PBMT = NC with menvcfg.PBMTE = 0 -> page fault (the bits are reserved)', () => {
    const sim = inS((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.setPte(VA, pte(DATA, RO, PBMT(1n))); });
    expectFault(sim, LOAD_PF, VA);
  });

  it('PBMT = 3 (reserved encoding) -> page fault even with menvcfg.PBMTE = 1', () => {
    const sim = inS((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.setPte(VA, pte(DATA, RW, PBMT(3n))); }, setPbmte);
    expectFault(sim, STORE_PF, VA);
  });

  it('PBMT in a non-leaf PTE -> page fault', () => {
    const sim = inS((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(VA, DATA, RO);
      const at = pt.pteAddr(VA, 1);
      s.write64(at, s.read64(at) | PBMT(1n));
    }, setPbmte);
    expectFault(sim, LOAD_PF, VA);
  });

  it('D, A or U set in a non-leaf PTE -> page fault (reserved there; QEMU 7.2 faults)', () => {
    for (const bit of [PTE_A, PTE_D, PTE_U]) {
      const sim = inS((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => {
        pt.map(VA, DATA, RO);
        const at = pt.pteAddr(VA, 1);
        s.write64(at, s.read64(at) | BigInt(bit));
      });
      expectFault(sim, LOAD_PF, VA);
    }
  });

  it('bits 60:54 stay reserved with PBMTE = 1', () => {
    const sim = inS((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.setPte(VA, pte(DATA, RO, 1n << 54n)); }, setPbmte);
    expectFault(sim, LOAD_PF, VA);
  });

  it('menvcfg.PBMTE and henvcfg.PBMTE are writable (bit 62)', () => {
    const sim = runProgram((a) => {
      a.li(t0, PBMTE).csrs(CSR.menvcfg, t0).csrr(a0, CSR.menvcfg);
      a.csrs(CSR.henvcfg, t0).csrr(t1, CSR.henvcfg);
    });
    expect(sim.x(a0) & PBMTE).toBe(PBMTE);
    expect(sim.x(t1) & PBMTE).toBe(PBMTE);
  });

  /** A guest load through a VS-stage PTE with PBMT = NC, with the given envcfg bits. */
  const vsPbmt = (menv: boolean, henv: boolean): Sim => runGuest((a) => { a.li(t0, VA + 8n).ld(a0, 0, t0); }, {
    setup: (a) => {
      if (menv) a.li(t0, PBMTE).csrs(CSR.menvcfg, t0);
      if (henv) a.li(t0, PBMTE).csrs(CSR.henvcfg, t0);
    },
    map: (t, s) => {
      t.vs!.setPte(VA, pte(DATA, RO, PBMT(1n)));
      t.g!.map(DATA, DATA, RWX | PTE_U);
      s.write64(DATA + 8, MAGIC);
    },
  }).sim;

  it('VS stage: PBMT needs both menvcfg.PBMTE and henvcfg.PBMTE', () => {
    const ok = vsPbmt(true, true);
    expect(ok.stop).toBe('done');
    expect(ok.x(a0)).toBe(MAGIC);
    for (const [m, h] of [[true, false], [false, true], [false, false]] as const) {
      expectFault(vsPbmt(m, h), LOAD_PF, VA + 8n);
    }
  });

  it('G stage: PBMT needs menvcfg.PBMTE only; without it a guest-page fault', () => {
    const run = (menv: boolean): Sim => runGuest((a) => { a.li(t0, DATA + 8).ld(a0, 0, t0); }, {
      vs: 'bare',
      setup: (a) => { if (menv) a.li(t0, PBMTE).csrs(CSR.menvcfg, t0); },
      map: (t, s) => {
        t.g!.map(DATA, DATA, RWX | PTE_U);
        s.write64(t.g!.pteAddr(DATA), s.read64(t.g!.pteAddr(DATA)) | PBMT(2n));
        s.write64(DATA + 8, MAGIC);
      },
    }).sim;
    const ok = run(true);
    expect(ok.stop).toBe('done');
    expect(ok.x(a0)).toBe(MAGIC);
    const bad = run(false);
    expectFault(bad, LOAD_GPF, BigInt(DATA + 8));
    expect(bad.csr(CSR.mtval2)).toBe(BigInt(DATA + 8) >> 2n);
  });

  it('G stage: a NAPOT leaf maps 64 KiB', () => {
    const sim = runGuest((a) => { a.li(t0, VA + 0x3008n).ld(a0, 0, t0); }, {
      vs: 'bare',
      map: (t, s) => {
        for (let k = 0; k < 16; k++) {
          s.write64(t.g!.pteAddr(VA + BigInt(k * 4096)), PTE_N | (BigInt((DATA >>> 12) | 8) << 10n) | BigInt(RWX | PTE_U));
        }
        s.write64(DATA + 0x3008, MAGIC);
      },
    }).sim;
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });
});

describe('Svinval: sinval.vma, sfence.w.inval, sfence.inval.ir, hinval.vvma, hinval.gvma', () => {
  const SINVAL = (rs1 = 0, rs2 = 0): number => encR(0x73, 0, 0, rs1, rs2, 0x0b);
  const SFENCE_W_INVAL = 0x18000073, SFENCE_INVAL_IR = 0x18100073;
  const HINVAL_VVMA = encR(0x73, 0, 0, 0, 0, 0x13), HINVAL_GVMA = encR(0x73, 0, 0, 0, 0, 0x33);
  const ALL = [SINVAL(), SFENCE_W_INVAL, SFENCE_INVAL_IR, HINVAL_VVMA, HINVAL_GVMA];

  /** The trap cause of `word` in U-mode (V = 0), or -1 when it executes. */
  const inU = (word: number, priv = PRV_U, setup?: (a: Asm) => void): number => {
    const sim = runProgram((a) => { setup?.(a); a.enter(priv, 'low'); a.label('low').word(word).ecall(); });
    return Number(sim.csr(CSR.mcause)) === (priv === PRV_U ? 8 : 9) ? -1 : Number(sim.csr(CSR.mcause));
  };

  it('all five execute in M and in HS-mode', () => {
    const m = runProgram((a) => { for (const w of ALL) a.word(w); });
    expect(m.stop).toBe('done');
    expect(m.traps).toEqual([]);
    for (const w of ALL) expect(inU(w, PRV_S)).toBe(-1);
  });

  it('all five are illegal in U-mode', () => {
    for (const w of ALL) expect(inU(w), `0x${w.toString(16)}`).toBe(ILLEGAL);
  });

  it('sinval.vma in HS with mstatus.TVM = 1 -> illegal (as sfence.vma); sfence.w.inval / sfence.inval.ir are not trapped by TVM', () => {
    const tvm = (a: Asm): void => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); };
    expect(inU(SINVAL(), PRV_S, tvm)).toBe(ILLEGAL);
    expect(inU(SFENCE_W_INVAL, PRV_S, tvm)).toBe(-1);
    expect(inU(SFENCE_INVAL_IR, PRV_S, tvm)).toBe(-1);
    expect(inU(HINVAL_VVMA, PRV_S, tvm)).toBe(-1);
    expect(inU(HINVAL_GVMA, PRV_S, tvm)).toBe(ILLEGAL);
  });

  /** The cause of `word` run in VS (or VU) with both stages Bare, or -1 when it executes. */
  const inV = (word: number, priv: number, setup?: (a: Asm) => void): number => {
    const sim = runGuest((a) => { a.word(word).ecall(); }, { vs: 'bare', g: 'bare', priv, setup }).sim;
    return Number(sim.csr(CSR.mcause)) === (priv === PRV_U ? 8 : 10) ? -1 : Number(sim.csr(CSR.mcause));
  };

  it('in VS: sinval.vma and the two sfence.*.inval execute, hinval.* -> virtual instruction; VTVM traps sinval.vma only', () => {
    expect(inV(SINVAL(), PRV_S)).toBe(-1);
    expect(inV(SFENCE_W_INVAL, PRV_S)).toBe(-1);
    expect(inV(SFENCE_INVAL_IR, PRV_S)).toBe(-1);
    expect(inV(HINVAL_VVMA, PRV_S)).toBe(VIRTUAL);
    expect(inV(HINVAL_GVMA, PRV_S)).toBe(VIRTUAL);
    const vtvm = (a: Asm): void => { a.li(t0, HS.VTVM).csrs(CSR.hstatus, t0); };
    expect(inV(SINVAL(), PRV_S, vtvm)).toBe(VIRTUAL);
    expect(inV(SFENCE_W_INVAL, PRV_S, vtvm)).toBe(-1);
  });

  it('in VU: all five -> virtual instruction', () => {
    for (const w of ALL) expect(inV(w, PRV_U), `0x${w.toString(16)}`).toBe(VIRTUAL);
  });

  it('sinval.vma invalidates: after a PTE change, sfence.w.inval; sinval.vma; sfence.inval.ir sees the new mapping', () => {
    const sim = inS((a) => {
      a.li(t0, VA).ld(a0, 0, t0); // caches VA -> DATA
      // Remap VA to DATA + 0x1000 by editing the leaf at s1 (the pool is mapped RW).
      a.ld(t1, 0, s1).addi(t1, t1, 1 << 10).sd(t1, 0, s1);
      a.word(SFENCE_W_INVAL).word(SINVAL(t0, zero)).word(SFENCE_INVAL_IR);
      a.ld(a0, 0, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RO);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
      s.h.setX(s1, BigInt(pt.pteAddr(VA)));
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(2n);
  });
});
