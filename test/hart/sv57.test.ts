/**
 * Sv57 and Sv57x4 (privileged spec §4.6, §8.5): five-level walks, 57-bit canonical virtual
 * addresses and 59-bit guest-physical addresses, with every 64-bit virtual address exact --
 * beyond 2^53 too, where a JS number would round (Linux's Sv57 linear map starts at
 * 0xff60_0000_0000_0000, its Sv57 user stack and vDSO sit just below 2^56).
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, runPaged, runGuest, a0, a1, a2, a3, a4, s1, t0, zero, CSR, PRV_S, RAM_BASE, DATA,
  PTE_U, RWX, RW, RO, encI, encJ, encU, ECALL,
} from './harness.js';

const LOAD_PF = 13, STORE_PF = 15, FETCH_PF = 12, LOAD_GPF = 21;
const MAGIC = 0x1122334455667788n;
/** Linux 6.1's Sv57 PAGE_OFFSET (the linear map): beyond 2^53 as a signed value. */
const LINEAR = 0xff60_0000_0000_0000n;
/** A user page just below 2^56 (Linux's Sv57 TASK_SIZE), where its stack and vDSO go. */
const HIGH_USER = 0x00ff_ffff_ffff_f000n;

/** Run `code` in S-mode with Sv57 on: code and page-table pool identity-mapped, plus `map`. */
function sv57(code: (a: Asm) => void, map: (pt: PageTable, sim: Sim) => void): Sim {
  return runPaged('sv57', code, map);
}
function expectFault(sim: Sim, cause: number, tval: bigint): void {
  expect(sim.stop).toBe('mtrap');
  expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
  expect(sim.csr(CSR.mtval)).toBe(BigInt.asUintN(64, tval));
}

describe('Sv57 walks (§4.6)', () => {
  it('satp.MODE = 10 (Sv57) is accepted', () => {
    const sim = sv57((a) => { a.csrr(a0, CSR.satp); }, () => {});
    expect(sim.x(a0) >> 60n).toBe(10n);
  });

  it('a load and a store at 0xff60_0000_0000_1238 (Linux\'s linear map) go to the mapped frame', () => {
    const sim = sv57((a) => {
      a.li(t0, LINEAR + 0x1238n).ld(a0, 0, t0).sd(a0, 8, t0);
    }, (pt, s) => { pt.map(LINEAR + 0x1000n, DATA, RW); s.write64(DATA + 0x238, MAGIC); });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
    expect(sim.read64(DATA + 0x240)).toBe(MAGIC);
  });

  it('neighbouring pages beyond 2^53 stay distinct (no rounding of the address)', () => {
    // 0xff60000000001000 and ...2000 differ only below bit 53 of a number's mantissa.
    const sim = sv57((a) => {
      a.li(t0, LINEAR + 0x1000n).ld(a0, 0, t0);
      a.li(t0, LINEAR + 0x2004n).lw(a1, 0, t0);
    }, (pt, s) => {
      pt.map(LINEAR + 0x1000n, DATA, RO).map(LINEAR + 0x2000n, DATA + 0x1000, RO);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 0x2_0000_0000n);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });

  it('a misaligned load crossing two pages at 0xff60_0000_0000_1ffc reads both halves', () => {
    const sim = sv57((a) => { a.li(t0, LINEAR + 0x1ffcn).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(LINEAR + 0x1000n, DATA, RO).map(LINEAR + 0x2000n, DATA + 0x1000, RO);
      s.write64(DATA + 0xff8, 0x4433221100000000n);
      s.write64(DATA + 0x1000, 0x0000000088776655n);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(0x8877665544332211n);
  });

  it('a 2 MiB megapage at the top-level index 511 (bits 56:48)', () => {
    const va = 0xfff0_0000_0020_0000n;
    const sim = sv57((a) => { a.li(t0, va + 0x12348n).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(va, RAM_BASE + 0x40_0000, RO, 1);
      s.write64(RAM_BASE + 0x41_2348, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('code runs at 0x00ff_ffff_ffff_f000: jal/auipc/jalr results and the trap epc are exact', () => {
    // At W: jal a2, 12 / (skipped) / auipc a4, 0 at W + 12 / jalr a3, 0(s1) -> back. a2 = W + 4,
    // a4 = W + 12 and a3 = W + 20 are not representable as doubles (bits 55 and 2 set).
    const W = HIGH_USER;
    const sim = sv57((a) => {
      a.la(s1, 'back').li(t0, W).jalr(zero, t0, 0).label('back');
      a.li(t0, W + 0x100n).jalr(a0, t0, 0); // to the ecall at W + 0x100
    }, (pt, s) => {
      pt.map(W, DATA, RWX);
      s.write32(DATA, encJ(a2, 12));
      s.write32(DATA + 12, encU(0x17, a4, 0));
      s.write32(DATA + 16, encI(0x67, a3, 0, s1, 0));
      s.write32(DATA + 0x100, ECALL);
    });
    expect(sim.x(a2)).toBe(W + 4n);
    expect(sim.x(a4)).toBe(W + 12n);
    expect(sim.x(a3)).toBe(W + 20n);
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(9n); // ecall from S
    expect(sim.csr(CSR.mepc)).toBe(W + 0x100n);
    expect(sim.h.getPc()).toBe(BigInt(0x8000_0100)); // the M handler, back below 2^53
  });

  it('a jump to an unmapped 0x00ff_ffff_ffff_e002 -> fetch page fault, mepc = mtval = the exact target', () => {
    const bad = 0x00ff_ffff_ffff_e002n;
    const sim = sv57((a) => { a.li(t0, bad).jalr(zero, t0, 0); }, () => {});
    expectFault(sim, FETCH_PF, bad);
    expect(sim.csr(CSR.mepc)).toBe(bad);
  });
});

describe('Sv57 non-canonical addresses (§4.6.1): page faults with the exact address', () => {
  it.each([
    ['bit 56 set, bits 63:57 clear', 0x0100_0000_0000_0008n],
    ['bits 63:57 set, bit 56 clear', 0xfe80_0000_0000_1234n],
    ['0x8000000000000000', 0x8000_0000_0000_0000n],
  ])('load: %s', (_n, bad) => {
    const sim = sv57((a) => { a.li(t0, bad).ld(a0, 0, t0); }, () => {});
    expectFault(sim, LOAD_PF, bad);
  });

  it('store at 0x0123_4567_89ab_cdef (not exact as a double)', () => {
    const bad = 0x0123_4567_89ab_cdefn;
    const sim = sv57((a) => { a.li(t0, bad).sb(a0, 0, t0); }, () => {});
    expectFault(sim, STORE_PF, bad);
  });

  it('a jump to non-canonical 0x0123_4567_89ab_cdee -> fetch page fault, mepc = mtval = target', () => {
    const bad = 0x0123_4567_89ab_cdeen;
    const sim = sv57((a) => { a.li(t0, bad).jalr(zero, t0, 0); }, () => {});
    expectFault(sim, FETCH_PF, bad);
    expect(sim.csr(CSR.mepc)).toBe(bad);
  });

  it('Sv48 still faults on 0x00ff_ffff_ffff_f000, canonical only under Sv57', () => {
    const sim = new Sim((a) => { a.enter(PRV_S, 'low'); a.label('low'); a.li(t0, HIGH_USER).ld(a0, 0, t0); });
    const pt = new PageTable(sim, 'sv48');
    for (let k = 0; k < 16; k++) pt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
    pt.install();
    sim.run();
    expectFault(sim, LOAD_PF, HIGH_USER);
  });
});

describe('Sv57x4 G stage (§8.5.1): 59-bit guest-physical addresses', () => {
  it('hgatp.MODE = 10 is accepted; a GPA above Sv48x4\'s 50 bits (2^52) translates', () => {
    const gpa = 0x0010_0000_0000_0000n + 0x10n;
    const r = runGuest((a) => { a.li(t0, gpa).ld(a0, 0, t0); }, {
      vs: 'bare', g: 'sv57x4',
      map: (t, s) => { t.g!.map(gpa - 0x10n, DATA, RWX | PTE_U); s.write64(DATA + 0x10, MAGIC); },
    });
    expect(r.sim.stop).toBe('done');
    expect(r.sim.x(a0)).toBe(MAGIC);
    expect(r.sim.csr(CSR.hgatp) >> 60n).toBe(10n);
  });

  it('a GPA at 2^59 is outside Sv57x4: guest-page fault with htval = GPA >> 2 exact', () => {
    const gpa = 0x0800_0000_0000_0004n;
    const r = runGuest((a) => { a.li(t0, gpa).ld(a0, 0, t0); }, { vs: 'bare', g: 'sv57x4' });
    expectFault(r.sim, LOAD_GPF, gpa);
    expect(r.sim.csr(CSR.mtval2)).toBe(gpa >> 2n);
  });

  it('VS-stage Sv57 over G-stage Sv57x4: a guest load at 0xff60_0000_0000_1238', () => {
    const r = runGuest((a) => { a.li(t0, LINEAR + 0x1238n).ld(a0, 0, t0).sd(a0, 8, t0); }, {
      vs: 'sv57', g: 'sv57x4',
      map: (t, s) => {
        t.vs!.map(LINEAR + 0x1000n, DATA, RW);
        t.g!.map(DATA, DATA, RWX | PTE_U);
        s.write64(DATA + 0x238, MAGIC);
      },
    });
    expect(r.sim.stop).toBe('done');
    expect(r.sim.x(a0)).toBe(MAGIC);
    expect(r.sim.read64(DATA + 0x240)).toBe(MAGIC);
  });

  it('VS-stage Sv57: a guest fetch fault beyond 2^53 reports the exact guest-virtual address', () => {
    const bad = 0x00ff_ffff_ffff_e00an;
    const r = runGuest((a) => { a.li(t0, bad).jalr(zero, t0, 0); }, { vs: 'sv57', g: 'sv57x4' });
    expectFault(r.sim, FETCH_PF, bad);
    expect(r.sim.csr(CSR.mepc)).toBe(bad);
  });
});
