/**
 * Two-stage address translation (privileged spec 1.12 §8.5): VS-stage (vsatp) under G-stage
 * (hgatp Sv39x4/Sv48x4), superpages at each level of both stages, guest-page faults (20/21/23)
 * with mtval/stval = guest virtual address and mtval2/htval = guest physical address >> 2,
 * implicit accesses for VS-stage walks (htinst pseudoinstructions, §8.6.3), MXR/SUM, A/D,
 * fences and VMIDs (§8.5.3, §8.3.2), MPRV with MPV (§8.4.1).
 * Expected values come from the spec text.
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, GuestPageTable, runGuest, makeGuest, a0, a1, s1, s2, t0, t1, t2, zero, CSR, MS, MSH, HS,
  PRV_S, PRV_U, RAM_BASE, DATA, PT_POOL, PTE_V, PTE_R, PTE_W, PTE_U, PTE_G, PTE_A, PTE_D,
  RWX, RW, RO, XO, RX, G_RWX, G_RW, G_RO, G_XO, type GuestOpts, type GuestTables,
} from './harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const GVA = 0x4000_0000n;
const GPA = 0x1_0000_0000n; // non-identity guest physical address (above 4 GiB)
const MAGIC = 0x1122_3344_5566_7788n;
const FETCH_PF = 12, LOAD_PF = 13, STORE_PF = 15, FETCH_GPF = 20, LOAD_GPF = 21, STORE_GPF = 23;
/** §8.6.3 Table 8.12: pseudoinstructions for implicit VS-stage accesses with VSXLEN = 64. */
const PSEUDO_READ = 0x3000n, PSEUDO_WRITE = 0x3020n;

/** Run `code` in VS (default Sv39 VS-stage under Sv39x4 G-stage) with the test's mappings. */
function xl(code: (a: Asm) => void, map: (t: GuestTables, sim: Sim) => void, o: GuestOpts = {}): { sim: Sim } & GuestTables {
  return runGuest(code, { map, ...o });
}

/** Base of the 4 KiB page holding physical address `x` (a JS number: no 32-bit bitwise ops). */
const pageOf = (x: number): number => x - (x % 4096);

/** Word at `label` in the image (to compute transformed instructions). */
function wordAt(sim: Sim, label: string): number {
  const b = sim.asm.assemble();
  const off = sim.addr(label) - RAM_BASE;
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
/** §8.6.3: transformed load (imm and rs1 zeroed: offset 0) / store / HLV-HSV. */
const xLoad = (w: number): bigint => BigInt(w & 0x7fff);
const xStore = (w: number): bigint => BigInt(w & 0x01f0_707f);
const xHv = (w: number): bigint => BigInt((w & ~(0x1f << 15)) >>> 0);

/**
 * A trap into M from V=1 for a memory fault: cause, mtval = guest virtual address, mtval2 =
 * guest physical address >> 2 (0 for non-guest-page faults), GVA = 1, MPV = 1.
 */
function expectMFault(sim: Sim, cause: number, gva: bigint, gpa: bigint | null, epcLabel?: string): void {
  expect(sim.stop, `stop after traps ${JSON.stringify(sim.traps.map((t) => t.cause))}`).toBe('mtrap');
  expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
  expect(sim.csr(CSR.mtval)).toBe(BigInt.asUintN(64, gva));
  expect(sim.csr(CSR.mtval2)).toBe(gpa === null ? 0n : gpa >> 2n);
  expect(sim.csr(CSR.mstatus) & (MSH.GVA | MSH.MPV)).toBe(MSH.GVA | MSH.MPV);
  if (epcLabel) expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr(epcLabel)));
}

// =============================================================================================
describe('two-stage translation: both stages, each Bare or paged (§8.5)', () => {
  it('Sv39 VS-stage + Sv39x4 G-stage: load and store reach GVA -> GPA -> HPA', () => {
    const { sim } = xl((a) => { a.li(t0, GVA + 8n).ld(a0, 0, t0).sd(a0, 8, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      s.write64(DATA + 8, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
    expect(sim.read64(DATA + 16)).toBe(MAGIC);
  });

  it('Sv39x4 uses GPA bits 40:39 (the two extra bits): GPA 0x180_0000_0000 in root entry 1536', () => {
    const gpa = 0x180_0000_0000n;
    const { sim, g } = xl((a) => { a.li(t0, GVA).ld(a0, 0x10, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa, RO);
      g!.map(gpa, DATA, G_RO);
      s.write64(DATA + 0x10, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
    expect(g!.pteAddr(gpa, 2) > g!.root + 8192).toBe(true); // not in the first 4 KiB of the 16 KiB root
  });

  it('Bare VS-stage + Sv39x4: GVA = GPA, translated by the G-stage only', () => {
    const { sim } = xl((a) => { a.li(t0, GPA).ld(a0, 0, t0); }, ({ g }, s) => {
      g!.map(GPA, DATA, G_RO);
      s.write64(DATA, MAGIC);
    }, { vs: 'bare' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv39 VS-stage + Bare G-stage: GPA = HPA', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs }, s) => {
      vs!.map(GVA, DATA, RO);
      s.write64(DATA, MAGIC);
    }, { g: 'bare' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Bare / Bare: GVA = GPA = HPA', () => {
    const { sim } = xl((a) => { a.li(t0, DATA).ld(a0, 0, t0); }, (_t, s) => { s.write64(DATA, MAGIC); }, { vs: 'bare', g: 'bare' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv48 VS-stage + Sv48x4 G-stage with a 50-bit GPA (bits 49:48 set)', () => {
    const gpa = 0x3_0000_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa, RO);
      g!.map(gpa, DATA, G_RO);
      s.write64(DATA, MAGIC);
    }, { vs: 'sv48', g: 'sv48x4' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('instruction fetch through both stages at a non-identity GVA; mepc of an ecall there is the GVA', () => {
    const far = 0x5000_0000n, farGpa = 0x2_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, farGpa, RWX);
      g!.map(farGpa, s.addr('far'), G_RWX);
    }, { tail: (a) => { a.align(4096).label('far').li(a0, 42).ecall(); } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(42n);
    expect(sim.csr(CSR.mepc)).toBe(far + 4n);
  });
});

// =============================================================================================
describe('superpages in each stage (§8.5.1: non-root tables and PTEs as in Sv39/Sv48)', () => {
  it('VS-stage 2 MiB leaf over G-stage 4 KiB pages: GPA offset bits 20:0 come from the GVA', () => {
    const off = 0x12_3458n;
    const { sim } = xl((a) => { a.li(t0, GVA + off).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RO, 1);
      g!.map(GPA + (off & ~0xfffn), DATA, G_RO);
      s.write64(DATA + Number(off & 0xfffn), MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('VS-stage 1 GiB leaf over G-stage 4 KiB pages', () => {
    const off = 0x2345_6008n, gpa = 0x1_4000_0000n;
    const { sim } = xl((a) => { a.li(t0, GVA + off).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa, RO, 2);
      g!.map(gpa + (off & ~0xfffn), DATA, G_RO);
      s.write64(DATA + 8, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('G-stage 2 MiB leaf under a VS-stage 4 KiB page', () => {
    const gpa = 0x1_0020_0000n, hpa = RAM_BASE + 0x40_0000;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0x38, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa + 0x1_2000n, RO);
      g!.map(gpa, hpa, G_RO, 1);
      s.write64(hpa + 0x1_2038, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('G-stage 1 GiB leaf under a VS-stage 4 KiB page', () => {
    const gpa = 0x1_4000_0000n;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0x40, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa + BigInt(DATA - RAM_BASE), RO);
      g!.map(gpa, RAM_BASE, G_RO, 2);
      s.write64(DATA + 0x40, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv48x4 512 GiB G-stage leaf (level 3) under an Sv48 VS-stage 4 KiB page', () => {
    const base = 1n << 40n; // 512 GiB-aligned GPA -> HPA 0
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, base + BigInt(DATA), RO);
      g!.map(base, 0, G_RO, 3);
      s.write64(DATA, MAGIC);
    }, { vs: 'sv48', g: 'sv48x4' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('2 MiB leaves in both stages', () => {
    const gpa = 0x1_0020_0000n, hpa = RAM_BASE + 0x40_0000;
    const { sim } = xl((a) => { a.li(t0, GVA + 0x1_5000n).ld(a0, 0x18, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, gpa, RO, 1);
      g!.map(gpa, hpa, G_RO, 1);
      s.write64(hpa + 0x1_5018, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('a misaligned VS-stage superpage (PPN[0] != 0) -> load page fault 13, mtval2 = 0', () => {
    const { sim } = xl((a) => { a.label('ld').li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA + 0x1000n, RO, 1);
      g!.map(GPA + 0x1000n, DATA, G_RO);
    });
    expectMFault(sim, LOAD_PF, GVA, null);
  });

  it('a misaligned G-stage superpage -> load guest-page fault 21, mtval2 = GPA >> 2', () => {
    const gpa = 0x1_0020_0000n;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0x20, t0); }, ({ vs, g }) => {
      vs!.map(GVA, gpa, RO);
      g!.map(gpa, RAM_BASE + 0x40_1000, G_RO, 1);
    });
    expectMFault(sim, LOAD_GPF, GVA + 0x20n, gpa + 0x20n);
  });
});

// =============================================================================================
describe('G-stage permission faults: guest-page faults 20/21/23 (§8.5.1-8.5.2)', () => {
  const map = (gflags: number) => ({ vs, g }: GuestTables): void => {
    vs!.map(GVA, GPA, RWX);
    g!.map(GPA, DATA, gflags);
  };

  it.each([
    ['U = 0 (G-stage accesses are U-level)', RW, 'load', LOAD_GPF],
    ['U = 0', RW, 'store', STORE_GPF],
    ['V = 0', G_RW & ~PTE_V, 'load', LOAD_GPF],
    ['R = 0 (execute-only)', G_XO, 'load', LOAD_GPF],
    ['W = 0', G_RO, 'store', STORE_GPF],
    ['W = 1, R = 0 (reserved)', PTE_V | PTE_W | PTE_U | PTE_A | PTE_D, 'load', LOAD_GPF],
  ] as const)('G-stage leaf with %s: %s -> cause %i with mtval = GVA, mtval2 = GPA >> 2', (_n, flags, kind, cause) => {
    const { sim } = xl((a) => {
      a.li(t0, GVA + 0x128n);
      a.label('acc');
      if (kind === 'load') a.ld(a0, 0, t0); else a.sd(a0, 0, t0);
    }, map(flags));
    expectMFault(sim, cause, GVA + 0x128n, GPA + 0x128n, 'acc');
  });

  it('the G bit in G-stage PTEs is ignored by hardware (§8.5.1): a leaf with G = 1 translates normally', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW | PTE_G);
      s.write64(DATA, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('G-stage PTE with reserved bits 63:54 set -> guest-page fault', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.setPte(GPA, (1n << 60n) | ((BigInt(DATA) >> 12n) << 10n) | BigInt(G_RW));
    });
    expectMFault(sim, LOAD_GPF, GVA, GPA);
  });

  it('fetch from a page not executable in the G-stage -> 20, mepc = mtval = target GVA', () => {
    const far = 0x5000_0000n, farGpa = 0x2_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, far + 4n).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, farGpa, RWX);
      g!.map(farGpa, s.addr('far'), G_RW);
    }, { tail: (a) => { a.align(4096).label('far').nop().nop(); } });
    expectMFault(sim, FETCH_GPF, far + 4n, farGpa + 4n);
    expect(sim.csr(CSR.mepc)).toBe(far + 4n);
    expect(sim.csr(CSR.mtinst)).toBe(0n); // fetch faults: only zero (or a pseudoinstruction)
  });

  it('fetch from a G-stage page with U = 0 -> 20', () => {
    const far = 0x5000_0000n, farGpa = 0x2_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, farGpa, RWX);
      g!.map(farGpa, s.addr('far'), RWX);
    }, { tail: (a) => { a.align(4096).label('far').nop(); } });
    expectMFault(sim, FETCH_GPF, far, farGpa);
  });

  it('mtval2 is the exact GPA of the faulting byte >> 2 (lb at offset 0x12b)', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).lb(a0, 0x12b, t0); }, map(G_XO));
    expectMFault(sim, LOAD_GPF, GVA + 0x12bn, GPA + 0x12bn);
  });

  it('explicit load/store guest-page faults: mtinst is 0 or the transformed instruction', () => {
    const ld = xl((a) => { a.li(t0, GVA).label('acc').ld(a0, 0x10, t0); }, map(G_XO)).sim;
    expect([0n, xLoad(wordAt(ld, 'acc'))]).toContain(ld.csr(CSR.mtinst));
    const sd = xl((a) => { a.li(t0, GVA).label('acc').sd(a1, 0x10, t0); }, map(G_RO)).sim;
    expect(sd.csr(CSR.mcause)).toBe(BigInt(STORE_GPF));
    expect([0n, xStore(wordAt(sd, 'acc'))]).toContain(sd.csr(CSR.mtinst));
  });

  it('an AMO on a G-stage read-only page -> store guest-page fault 23', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).amo('add', 'd', a0, a1, t0); }, map(G_RO));
    expectMFault(sim, STORE_GPF, GVA, GPA);
  });

  it('delegated to HS: scause, stval = GVA, htval = GPA >> 2, hstatus.GVA = SPV = SPVP = 1, V = 0', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).label('acc').sd(a0, 0x30, t0); }, map(G_RO), {
      setup: (a) => {
        a.li(t0, bit(LOAD_GPF) | bit(STORE_GPF) | bit(FETCH_GPF)).csrw(CSR.medeleg, t0);
        a.li(t0, HS.GVA | HS.SPVP).csrc(CSR.hstatus, t0);
      },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.h.virt).toBe(false);
    expect(sim.csr(CSR.scause)).toBe(BigInt(STORE_GPF));
    expect(sim.csr(CSR.stval)).toBe(GVA + 0x30n);
    expect(sim.csr(CSR.htval)).toBe((GPA + 0x30n) >> 2n);
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('acc')));
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV | HS.SPVP)).toBe(HS.GVA | HS.SPV | HS.SPVP);
    expect([0n, xStore(wordAt(sim, 'acc'))]).toContain(sim.csr(CSR.htinst));
  });

  it('guest-page faults cannot be delegated to VS: with hedeleg all ones they still go to HS', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, map(G_XO), {
      setup: (a) => { a.li(t0, -1).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0); },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(BigInt(LOAD_GPF));
  });
});

// =============================================================================================
describe('accesses spanning two pages with V = 1 (§8.5.2: tval = the faulting portion)', () => {
  it('a load crossing into a page with no G-stage mapping: mtval = second page GVA, mtval2 = its GPA >> 2', () => {
    const gpa2 = 0x2_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, GVA + 0xffcn).label('acc').ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW).map(GVA + 0x1000n, gpa2, RW);
      g!.map(GPA, DATA, G_RW);
    });
    // (a hart that raises misaligned-load exceptions instead would report cause 4)
    expectMFault(sim, LOAD_GPF, GVA + 0x1000n, gpa2, 'acc');
  });

  it('a 32-bit instruction straddling into a page with no G-stage mapping: mepc = instruction, mtval = second page', () => {
    const far = 0x5000_0000n, farGpa = 0x2_0000_0000n;
    const { sim } = xl((a) => { a.li(t0, far + 0xffen).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, farGpa, RWX).map(far + 0x1000n, farGpa + 0x1000n, RWX);
      g!.map(farGpa, s.addr('far'), G_RWX);
    }, { tail: (a) => { a.align(4096).label('far').org(a.here + 0xffe).word(0x00000013); } });
    expectMFault(sim, FETCH_GPF, far + 0x1000n, farGpa + 0x1000n);
    expect(sim.csr(CSR.mepc)).toBe(far + 0xffen);
  });
});

// =============================================================================================
describe('VS-stage permission faults: page faults 12/13/15 with GVA = 1, mtval2/htval = 0', () => {
  it.each([
    ['load from a non-readable page', XO, 'load', LOAD_PF],
    ['store to a read-only page', RO, 'store', STORE_PF],
    ['load from an invalid PTE', RW & ~PTE_V, 'load', LOAD_PF],
  ] as const)('%s -> %i', (_n, flags, kind, cause) => {
    const { sim } = xl((a) => {
      a.li(t0, GVA + 0x40n).label('acc');
      if (kind === 'load') a.ld(a0, 0, t0); else a.sd(a0, 0, t0);
    }, ({ vs, g }) => { vs!.map(GVA, GPA, flags); g!.map(GPA, DATA, G_RWX); }, {
      setup: (a) => { a.li(t0, 0x99).csrw(CSR.mtval2, t0); },
    });
    expectMFault(sim, cause, GVA + 0x40n, null, 'acc');
  });

  it('fetch from a VS-stage non-executable page -> 12', () => {
    const far = 0x5000_0000n;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, GPA, RW);
      g!.map(GPA, s.addr('far'), G_RWX);
    }, { tail: (a) => { a.align(4096).label('far').nop(); } });
    expectMFault(sim, FETCH_PF, far, null);
  });

  it('delegated to HS: stval = GVA, hstatus.GVA = 1, htval = 0', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => { vs!.map(GVA, GPA, XO); g!.map(GPA, DATA, G_RWX); }, {
      setup: (a) => { a.li(t0, bit(LOAD_PF)).csrw(CSR.medeleg, t0).li(t0, 0x99).csrw(CSR.htval, t0); },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(BigInt(LOAD_PF));
    expect(sim.csr(CSR.stval)).toBe(GVA);
    expect(sim.csr(CSR.htval)).toBe(0n);
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV)).toBe(HS.GVA | HS.SPV);
  });

  it('delegated further to VS by hedeleg: vscause 13, vstval = GVA; htval untouched', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).label('acc').ld(a0, 0, t0); }, ({ vs, g }) => { vs!.map(GVA, GPA, XO); g!.map(GPA, DATA, G_RWX); }, {
      setup: (a) => {
        a.li(t0, bit(LOAD_PF)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
        a.li(t0, 0x99).csrw(CSR.htval, t0);
      },
    });
    expect(sim.stop).toBe('vstrap');
    expect(sim.csr(CSR.vscause)).toBe(BigInt(LOAD_PF));
    expect(sim.csr(CSR.vstval)).toBe(GVA);
    expect(sim.csr(CSR.vsepc)).toBe(BigInt(sim.addr('acc')));
    expect(sim.csr(CSR.htval)).toBe(0x99n);
  });

  it('the VS-stage fault wins over the G-stage: VS invalid PTE and no G-stage mapping -> 13', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs }) => { vs!.map(GVA, GPA, 0); });
    expectMFault(sim, LOAD_PF, GVA, null);
  });
});

// =============================================================================================
describe('implicit accesses for VS-stage walks (§8.5.1, §8.6.3)', () => {
  /** Unmap (or change) the G-stage page that holds the VS-stage PTE for GVA at `level`. */
  const ptPage = (vs: PageTable, level: number): number => pageOf(vs.pteAddr(GVA, level));

  it.each([
    ['load', LOAD_GPF], ['store', STORE_GPF],
  ] as const)('%s: the leaf table page is not mapped in the G-stage -> %i, mtval2 = PTE GPA >> 2, mtinst = 0x3000', (kind, cause) => {
    let pte = 0;
    const { sim } = xl((a) => {
      a.li(t0, GVA + 0x10n).label('acc');
      if (kind === 'load') a.ld(a0, 0, t0); else a.sd(a0, 0, t0);
    }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
      g!.setPte(ptPage(vs!, 0), 0n);
    });
    expectMFault(sim, cause, GVA + 0x10n, BigInt(pte), 'acc');
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_READ);
  });

  it('fetch: the walk for the target GVA faults in the G-stage -> 20 with the PTE GPA, mtinst = 0x3000', () => {
    const far = 0x5000_0000n;
    let pte = 0;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, GPA, RWX);
      g!.map(GPA, s.addr('far'), G_RWX);
      pte = vs!.pteAddr(far, 0);
      g!.setPte(pageOf(pte), 0n);
    }, { tail: (a) => { a.align(4096).label('far').nop(); } });
    expectMFault(sim, FETCH_GPF, far, BigInt(pte));
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_READ);
  });

  it('the root table itself is not mapped in the G-stage: mtval2 = (root + 8 * VPN[2]) >> 2', () => {
    // Bare VS would not walk; use a VS-stage root outside the default G-mapped pool.
    const root = RAM_BASE + 0x60_0000;
    const { sim } = makeGuest((a) => {
      a.li(t0, (8n << 60n) | BigInt(root >>> 12)).csrw(CSR.satp, t0); // = vsatp
      a.sfence_vma(); // the fetch after this walks from root
      a.nop();
    }, { vs: 'bare' });
    sim.run();
    // the fetch after the csrw needs root[VPN2(pc)], whose GPA has no G-stage mapping
    const pc = sim.csr(CSR.mtval);
    expect(sim.csr(CSR.mcause)).toBe(BigInt(FETCH_GPF));
    expect(sim.csr(CSR.mepc)).toBe(pc);
    expect(pc > BigInt(sim.addr('guest'))).toBe(true);
    expect(sim.csr(CSR.mtval2)).toBe(BigInt(root + Number((pc >> 30n) & 511n) * 8) >> 2n);
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_READ);
    expect(sim.csr(CSR.mstatus) & MSH.GVA).toBe(MSH.GVA);
  });

  it('delegated to HS: htval = PTE GPA >> 2, htinst = 0x3000, stval = GVA', () => {
    let pte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
      g!.setPte(pageOf(pte), 0n);
    }, { setup: (a) => { a.li(t0, bit(LOAD_GPF)).csrw(CSR.medeleg, t0); } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(BigInt(LOAD_GPF));
    expect(sim.csr(CSR.stval)).toBe(GVA);
    expect(sim.csr(CSR.htval)).toBe(BigInt(pte) >> 2n);
    expect(sim.csr(CSR.htinst)).toBe(PSEUDO_READ);
    expect(sim.csr(CSR.hstatus) & HS.GVA).toBe(HS.GVA);
  });

  it('the G-stage permission for a walk is "read", not the original access: an execute-only G page holding a VS PTE faults a fetch (20)', () => {
    const far = 0x5000_0000n;
    let pte = 0;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, GPA, RWX);
      g!.map(GPA, s.addr('far'), G_RWX);
      pte = vs!.pteAddr(far, 0);
      g!.map(pageOf(pte), pageOf(pte), G_XO);
    }, { maxSteps: 2000, tail: (a) => { a.align(4096).label('far').nop(); } });
    expectMFault(sim, FETCH_GPF, far, BigInt(pte));
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_READ);
  });

  it('...and a store through a VS PTE on a G-stage read-only page succeeds when no A/D update is needed (the walk only reads)', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).li(a1, 77).sd(a1, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW); // A and D already set
      g!.map(GPA, DATA, G_RW);
      for (const l of [0, 1, 2]) { const p = pageOf(vs!.pteAddr(GVA, l)); g!.map(p, p, G_RO); }
    });
    expect(sim.stop).toBe('done');
    expect(sim.read64(DATA)).toBe(77n);
  });

  it('a G-stage page with U = 0 holding a VS PTE -> guest-page fault for the original access type', () => {
    let pte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
      g!.map(pageOf(pte), pageOf(pte), RW); // no U
    });
    expectMFault(sim, STORE_GPF, GVA, BigInt(pte));
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_READ);
  });

  it('an A-bit update of a VS PTE on a G-stage read-only page is an implicit store: fault for the load (21), mtinst = 0x3020', () => {
    // §8.5.1: permissions "and the need to set A and/or D bits at the G-stage level are checked as
    // though for an implicit load or store"; §8.6.3: the write pseudoinstruction is for A/D updates.
    let pte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, PTE_V | PTE_R); // A = 0: the walk must set it
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
      g!.map(pageOf(pte), pageOf(pte), G_RO);
    });
    expectMFault(sim, LOAD_GPF, GVA, BigInt(pte));
    expect(sim.csr(CSR.mtinst)).toBe(PSEUDO_WRITE);
    expect(sim.read64(pte) & BigInt(PTE_A)).toBe(0n);
  });
});

// =============================================================================================
describe('guest physical addresses beyond the G-stage range (§8.5.1)', () => {
  it('Sv39x4: a VS-stage leaf pointing at GPA 2^41 -> 21, mtval2 = 2^41 >> 2', () => {
    const gpa = 1n << 41n;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 8, t0); }, ({ vs }) => { vs!.map(GVA, gpa, RW); });
    expectMFault(sim, LOAD_GPF, GVA + 8n, gpa + 8n);
  });

  it('Sv39x4 with Bare VS-stage: a load from GVA = GPA = 2^45 -> 21 with mtval = 2^45', () => {
    const gpa = 1n << 45n;
    const { sim } = xl((a) => { a.li(t0, gpa).ld(a0, 0, t0); }, () => {}, { vs: 'bare' });
    expectMFault(sim, LOAD_GPF, gpa, gpa);
  });

  it('Sv48x4: GPA 2^50 -> 21; GPA 2^49 is in range', () => {
    const bad = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs }) => { vs!.map(GVA, 1n << 50n, RW); }, { vs: 'sv48', g: 'sv48x4' }).sim;
    expectMFault(bad, LOAD_GPF, GVA, 1n << 50n);
    const ok = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }, s) => {
      vs!.map(GVA, 1n << 49n, RW);
      g!.map(1n << 49n, DATA, G_RW);
      s.write64(DATA, MAGIC);
    }, { vs: 'sv48', g: 'sv48x4' }).sim;
    expect(ok.x(a0)).toBe(MAGIC);
  });

  it('Sv39x4: a store to GPA 2^41 + 0x100 (Bare VS) -> 23', () => {
    const gpa = (1n << 41n) + 0x100n;
    const { sim } = xl((a) => { a.li(t0, gpa).sd(a0, 0, t0); }, () => {}, { vs: 'bare' });
    expectMFault(sim, STORE_GPF, gpa, gpa);
  });
});

// =============================================================================================
describe('MXR and SUM with two stages (§8.2.10, §8.5)', () => {
  const load = (a: Asm): void => { a.li(t0, GVA).ld(a0, 0, t0); };
  const setStatus = (ms: bigint, vss: bigint) => (a: Asm): void => {
    a.li(t0, MS.MXR | MS.SUM).csrc(CSR.mstatus, t0);
    if (ms) a.li(t0, ms).csrs(CSR.mstatus, t0);
    a.li(t0, vss).csrw(CSR.vsstatus, t0);
  };
  const pages = (vsFlags: number, gFlags: number) => ({ vs, g }: GuestTables, s: Sim): void => {
    vs!.map(GVA, GPA, vsFlags);
    g!.map(GPA, DATA, gFlags);
    s.write64(DATA, MAGIC);
  };

  it('vsstatus.MXR = 1 makes a VS-stage execute-only page readable (G-stage readable)', () => {
    const { sim } = xl(load, pages(XO, G_RW), { setup: setStatus(0n, MS.MXR) });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('vsstatus.MXR = 0: the same load -> 13', () => {
    const { sim } = xl(load, pages(XO, G_RW), { setup: setStatus(0n, 0n) });
    expectMFault(sim, LOAD_PF, GVA, null);
  });

  it('vsstatus.MXR does not override the G-stage: G-stage execute-only -> 21', () => {
    const { sim } = xl(load, pages(XO, G_XO), { setup: setStatus(0n, MS.MXR) });
    expectMFault(sim, LOAD_GPF, GVA, GPA);
  });

  it('HS-level mstatus.MXR = 1 overrides both stages (vsstatus.MXR = 0)', () => {
    const { sim } = xl(load, pages(XO, G_XO), { setup: setStatus(MS.MXR, 0n) });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('HS-level MXR never makes a page writable: store to G-stage execute-only -> 23', () => {
    const { sim } = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, pages(RWX, G_XO), { setup: setStatus(MS.MXR, MS.MXR) });
    expectMFault(sim, STORE_GPF, GVA, GPA);
  });

  it('VS-mode access to a VS-stage U page: faults with vsstatus.SUM = 0 (even with mstatus.SUM = 1), allowed with vsstatus.SUM = 1', () => {
    const bad = xl(load, pages(RW | PTE_U, G_RW), { setup: setStatus(MS.SUM, 0n) }).sim;
    expectMFault(bad, LOAD_PF, GVA, null);
    const ok = xl(load, pages(RW | PTE_U, G_RW), { setup: setStatus(0n, MS.SUM) }).sim;
    expect(ok.x(a0)).toBe(MAGIC);
  });

  it('VS-mode fetch from a VS-stage U page -> 12 even with vsstatus.SUM = 1', () => {
    const far = 0x5000_0000n;
    const { sim } = xl((a) => { a.li(t0, far).jalr(zero, t0); }, ({ vs, g }, s) => {
      vs!.map(far, GPA, RWX | PTE_U);
      g!.map(GPA, s.addr('far'), G_RWX);
    }, { setup: setStatus(0n, MS.SUM), tail: (a) => { a.align(4096).label('far').nop(); } });
    expectMFault(sim, FETCH_PF, far, null);
  });

  it('VU-mode: a U page is accessible, a non-U page -> 13', () => {
    const ok = xl(load, pages(RW | PTE_U, G_RW), { priv: PRV_U }).sim;
    expect(ok.x(a0)).toBe(MAGIC);
    const bad = xl(load, pages(RW, G_RW), { priv: PRV_U, setup: setStatus(MS.SUM, MS.SUM) }).sim;
    expectMFault(bad, LOAD_PF, GVA, null);
  });
});

// =============================================================================================
describe('accessed and dirty bits in both stages (§8.5.1; hardware A/D update as for Sv39)', () => {
  it('VS-stage leaf: a load sets A only, a store sets A and D', () => {
    let pte = 0;
    const ld = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, PTE_V | PTE_R | PTE_W);
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
    }).sim;
    expect(ld.stop).toBe('done');
    expect(ld.read64(pte) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A));
    const st = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, PTE_V | PTE_R | PTE_W);
      g!.map(GPA, DATA, G_RW);
      pte = vs!.pteAddr(GVA, 0);
    }).sim;
    expect(st.stop).toBe('done');
    expect(st.read64(pte) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A | PTE_D));
  });

  it('G-stage leaf of the data page: a load sets A only, a store sets A and D', () => {
    let gpte = 0;
    const G_NOAD = PTE_V | PTE_R | PTE_W | PTE_U;
    const ld = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_NOAD);
      gpte = g!.pteAddr(GPA, 0);
    }).sim;
    expect(ld.stop).toBe('done');
    expect(ld.read64(gpte) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A));
    const st = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_NOAD);
      gpte = g!.pteAddr(GPA, 0);
    }).sim;
    expect(st.stop).toBe('done');
    expect(st.read64(gpte) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A | PTE_D));
  });

  it('G-stage leaf of a VS page-table page: the walk (implicit read) sets its A bit', () => {
    let gpte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).ld(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      const page = pageOf(vs!.pteAddr(GVA, 0));
      g!.map(page, page, PTE_V | PTE_R | PTE_W | PTE_U);
      gpte = g!.pteAddr(page, 0);
    });
    expect(sim.stop).toBe('done');
    expect(sim.read64(gpte) & BigInt(PTE_A)).toBe(BigInt(PTE_A));
  });

  it('G-stage leaf of a VS page-table page: a VS A/D update (implicit store) sets its D bit', () => {
    let gpte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, PTE_V | PTE_R | PTE_W); // VS A and D clear: the store updates the VS PTE
      g!.map(GPA, DATA, G_RW);
      const page = pageOf(vs!.pteAddr(GVA, 0));
      g!.map(page, page, PTE_V | PTE_R | PTE_W | PTE_U);
      gpte = g!.pteAddr(page, 0);
    });
    expect(sim.stop).toBe('done');
    expect(sim.read64(gpte) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A | PTE_D));
  });

  it('a faulting G-stage access sets no A/D bit in the faulting G-stage leaf', () => {
    let gpte = 0;
    const { sim } = xl((a) => { a.li(t0, GVA).sd(a0, 0, t0); }, ({ vs, g }) => {
      vs!.map(GVA, GPA, PTE_V | PTE_R | PTE_W | PTE_A);
      g!.map(GPA, DATA, PTE_V | PTE_R | PTE_U); // read-only: the store faults
      gpte = g!.pteAddr(GPA, 0);
    });
    expect(sim.csr(CSR.mcause)).toBe(BigInt(STORE_GPF));
    expect(sim.read64(gpte) & BigInt(PTE_A | PTE_D)).toBe(0n);
  });
});

// =============================================================================================
/** Guest: load GVA, ecall to M (which runs `m` and returns past the ecall), load GVA again. */
function twoLoads(m: (a: Asm) => void, map: (t: GuestTables, s: Sim) => void, setup?: (a: Asm) => void): ReturnType<typeof makeGuest> {
  return makeGuest((a) => {
    a.li(t0, GVA).ld(a0, 0, t0);
    a.ecall();
    a.ld(a1, 0, t0);
  }, {
    setup: (a) => { setup?.(a); a.la(t0, 'mh').csrw(CSR.mtvec, t0); },
    tail: (a) => {
      a.align(4).label('mh');
      m(a);
      a.csrr(t1, CSR.mepc).addi(t1, t1, 4).csrw(CSR.mepc, t1).mret();
    },
    map,
  });
}
/** M's edit: the PTE at s2 gets s1 added (a PPN change). */
const bumpPte = (a: Asm): void => { a.ld(t1, 0, s2).add(t1, t1, s1).sd(t1, 0, s2); };

describe('fences and VMIDs (§8.3.2, §8.5.3)', () => {
  it('sfence.vma in VS: the guest edits its own VS PTE, fences, and sees the new mapping', () => {
    const { sim, vs } = makeGuest((a) => {
      a.li(t0, GVA).ld(a0, 0, t0); // old mapping (DATA)
      a.ld(t1, 0, s2).addi(t1, t1, 1 << 10).sd(t1, 0, s2); // PPN + 1: next page
      a.sfence_vma(t0, zero);
      a.ld(a1, 0, t0);
      a.ecall();
    }, { map: ({ vs, g }, s) => {
      for (let k = 0; k < 8; k++) vs!.map(PT_POOL + k * 4096, PT_POOL + k * 4096, RW);
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW).map(GPA + 0x1000n, DATA + 0x1000, G_RW);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    } });
    sim.setX(s2, vs!.pteAddr(GVA, 0));
    sim.run();
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });

  it('hfence.vvma from HS after changing a VS PTE: the guest sees the new mapping', () => {
    const { sim, vs } = makeGuest((a) => {
      a.li(t0, GVA).ld(a0, 0, t0);
      a.ecall(); // to HS: change the PTE, hfence.vvma, return
      a.ld(a1, 0, t0);
    }, {
      setup: (a) => {
        a.li(t0, bit(10)).csrw(CSR.medeleg, t0);
        a.la(t0, 'hs').csrw(CSR.stvec, t0);
      },
      tail: (a) => {
        a.align(4).label('hs');
        a.ld(t1, 0, s2).addi(t1, t1, 1 << 10).sd(t1, 0, s2);
        a.hfence_vvma();
        a.csrr(t1, CSR.sepc).addi(t1, t1, 4).csrw(CSR.sepc, t1).sret();
      },
      map: ({ vs, g }, s) => {
        vs!.map(GVA, GPA, RW);
        g!.map(GPA, DATA, G_RW).map(GPA + 0x1000n, DATA + 0x1000, G_RW);
        s.write64(DATA, 1n);
        s.write64(DATA + 0x1000, 2n);
      },
    });
    sim.setX(s2, vs!.pteAddr(GVA, 0));
    sim.run();
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('hfence.gvma from M after changing a G-stage PTE: the guest sees the new mapping', () => {
    const { sim, g } = twoLoads((a) => { bumpPte(a); a.hfence_gvma(); }, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    });
    sim.setX(s2, g!.pteAddr(GPA, 0));
    sim.setX(s1, 1n << 10n); // PPN + 1
    sim.run();
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('two VMIDs with different G-stage tables: switching hgatp switches the translation', () => {
    const pool2 = RAM_BASE + 0x38_0000;
    let g2: GuestPageTable | null = null;
    const { sim } = makeGuest((a) => {
      a.li(t0, GVA).ld(a0, 0, t0);
      a.ecall(); // M switches hgatp to VMID 2
      a.ld(a1, 0, t0);
    }, {
      vmid: 1,
      setup: (a) => { a.la(t0, 'mh').csrw(CSR.mtvec, t0); },
      tail: (a) => {
        a.align(4).label('mh');
        a.csrw(CSR.hgatp, s2);
        a.csrr(t1, CSR.mepc).addi(t1, t1, 4).csrw(CSR.mepc, t1).mret();
      },
      map: ({ vs, g }, s) => {
        vs!.map(GVA, GPA, RW);
        g!.map(GPA, DATA, G_RW);
        g2 = new GuestPageTable(s, 'sv39x4', pool2);
        g2.identity(RAM_BASE, 16, G_RWX).identity(PT_POOL, 32, G_RWX);
        g2.map(GPA, DATA + 0x1000, G_RW);
        s.write64(DATA, 1n);
        s.write64(DATA + 0x1000, 2n);
      },
    });
    sim.setX(s2, g2!.hgatp(2));
    sim.run();
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('switching vsatp in VS to another table with a new ASID takes effect without a fence', () => {
    const pool2 = PT_POOL + 0x1_0000; // page 16 of the G-mapped VS pool (32 pages from PT_POOL)
    let vs2: PageTable | null = null;
    const { sim } = makeGuest((a) => {
      a.li(t0, GVA).ld(a0, 0, t0);
      a.csrw(CSR.satp, s2); // = vsatp, ASID 2
      a.ld(a1, 0, t0);
      a.ecall();
    }, { map: ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW).map(GPA + 0x1000n, DATA + 0x1000, G_RW);
      vs2 = new PageTable(s, 'sv39', pool2);
      for (let k = 0; k < 16; k++) vs2.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
      vs2.map(GVA, GPA + 0x1000n, RW);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    } });
    sim.setX(s2, vs2!.satp(2));
    sim.run();
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('HLV translations and HS translations of the same VA do not mix (either order)', () => {
    const hsPool = RAM_BASE + 0x28_0000;
    for (const hlvFirst of [true, false]) {
      const sim = new Sim((a) => {
        a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
        a.li(t0, HS.SPVP).csrw(CSR.hstatus, t0);
        a.li(t0, (8n << 60n) | BigInt(hsPool >>> 12)).csrw(CSR.satp, t0);
        a.enter(PRV_S, 'hs');
        a.label('hs').li(t1, GVA);
        if (hlvFirst) a.hlv_d(a0, t1).ld(a1, 0, t1); else a.ld(a1, 0, t1).hlv_d(a0, t1);
      });
      const g = new GuestPageTable(sim, 'sv39x4');
      const vs = new PageTable(sim, 'sv39');
      g.identity(PT_POOL, 32, G_RWX);
      vs.map(GVA, GPA, RW);
      g.map(GPA, DATA, G_RW);
      const hsPt = new PageTable(sim, 'sv39', hsPool);
      for (let k = 0; k < 16; k++) hsPt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
      hsPt.map(GVA, DATA + 0x1000, RW);
      sim.write64(DATA, 1n);
      sim.write64(DATA + 0x1000, 2n);
      sim.setX(s2, vs.satp());
      sim.setX(t2, g.hgatp());
      sim.run();
      expect(sim.traps, `hlv first: ${hlvFirst}`).toEqual([]);
      expect([sim.x(a0), sim.x(a1)], `hlv first: ${hlvFirst}`).toEqual([1n, 2n]);
    }
  });

  it('translations made with V = 1 are not used with V = 0: HS sees its own satp mapping of the same VA', () => {
    const hsPool = RAM_BASE + 0x28_0000;
    const { sim } = runGuest((a) => {
      a.li(t0, GVA).ld(a0, 0, t0);
      a.ecall(); // to HS (delegated): HS loads the same VA through satp
    }, {
      setup: (a) => {
        a.li(t0, bit(10)).csrw(CSR.medeleg, t0);
        a.la(t0, 'hs').csrw(CSR.stvec, t0);
        a.li(t0, (8n << 60n) | BigInt(hsPool >>> 12)).csrw(CSR.satp, t0);
      },
      tail: (a) => { a.align(4).label('hs').li(t0, GVA).ld(a1, 0, t0).j('done'); },
      map: ({ vs, g }, s) => {
        vs!.map(GVA, GPA, RW);
        g!.map(GPA, DATA, G_RW);
        const hsPt = new PageTable(s, 'sv39', hsPool);
        for (let k = 0; k < 16; k++) hsPt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
        hsPt.map(GVA, DATA + 0x1000, RW);
        s.write64(DATA, 1n);
        s.write64(DATA + 0x1000, 2n);
      },
    });
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('...and an HS translation is not used by the guest for the same VA', () => {
    const hsPool = RAM_BASE + 0x28_0000;
    const { sim } = makeGuest((a) => { a.li(t0, GVA).ld(a1, 0, t0).ecall(); }, {
      setup: (a) => {
        a.li(t0, (8n << 60n) | BigInt(hsPool >>> 12)).csrw(CSR.satp, t0);
        // M uses MPRV with MPP = S, MPV = 0 to load through the HS satp first
        a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
        a.li(t0, GVA).ld(a0, 0, t0);
        a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
      },
      map: ({ vs, g }, s) => {
        vs!.map(GVA, GPA, RW);
        g!.map(GPA, DATA, G_RW);
        const hsPt = new PageTable(s, 'sv39', hsPool);
        hsPt.map(GVA, DATA + 0x1000, RW);
        s.write64(DATA, 1n);
        s.write64(DATA + 0x1000, 2n);
      },
    });
    sim.run();
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect([sim.x(a0), sim.x(a1)]).toEqual([2n, 1n]);
  });
});

// =============================================================================================
describe('hvtrace refills its TLBs exactly with V = 1 (no stale translation across a flush)', () => {
  // hvtrace empties its TLBs on every trap and xRET and refills them from a shadow copy only
  // while every PTE the translation read (both stages) and its context are unchanged. Without a
  // fence the spec allows the old or the new translation; hvtrace must give what a fresh walk
  // gives, so that a recording does not depend on what its TLBs happened to hold.
  it('a G-stage leaf PTE changed without HFENCE.GVMA: the next load uses the new host page', () => {
    const { sim, g } = twoLoads(bumpPte, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    });
    sim.setX(s2, g!.pteAddr(GPA, 0));
    sim.setX(s1, 1n << 10n); // PPN + 1
    sim.run();
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('the G-stage mapping of a VS page-table page changed: the VS PTE is read from the new page', () => {
    const { sim, vs, g } = twoLoads(bumpPte, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_RW).map(GPA + 0x1000n, DATA + 0x1000, G_RW);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    });
    // The VS leaf table (GPA = HPA in the pool) gets a copy in the last pool page whose PTE
    // for GVA points at GPA + 0x1000; M moves the table's G-stage mapping to the copy.
    const leafPte = vs!.pteAddr(GVA, 0);
    const leafTable = pageOf(leafPte);
    const copy = PT_POOL + 31 * 4096;
    expect(copy).toBeGreaterThan(leafTable);
    for (let o = 0; o < 4096; o += 8) sim.write64(copy + o, sim.read64(leafTable + o));
    sim.write64(copy + (leafPte - leafTable), sim.read64(leafPte) + (1n << 10n));
    sim.setX(s2, g!.pteAddr(BigInt(leafTable), 0));
    sim.setX(s1, BigInt((copy - leafTable) / 4096) << 10n);
    sim.run();
    expect(sim.stop).toBe('done');
    expect([sim.x(a0), sim.x(a1)]).toEqual([1n, 2n]);
  });

  it('HS-level MXR cleared between two loads from an execute-only G-stage page: the second faults', () => {
    const { sim } = twoLoads((a) => { a.li(t1, MS.MXR).csrc(CSR.mstatus, t1); }, ({ vs, g }, s) => {
      vs!.map(GVA, GPA, RW);
      g!.map(GPA, DATA, G_XO);
      s.write64(DATA, 1n);
    }, (a) => { a.li(t1, MS.MXR).csrs(CSR.mstatus, t1); });
    sim.run();
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(1n); // readable through MXR
    // The second load took a load guest-page fault at GVA (M's handler then skipped it).
    expect(sim.csr(CSR.mcause)).toBe(BigInt(LOAD_GPF));
    expect(sim.csr(CSR.mtval)).toBe(GVA);
    expect(sim.csr(CSR.mtval2)).toBe(GPA >> 2n);
  });
});

describe('MPRV with MPV = 1 (§8.4.1 Table 8.6)', () => {
  const mprv = (mppS: boolean) => (a: Asm): void => {
    a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
    a.li(t0, MS.MPRV | MSH.MPV | (mppS ? MS.MPP_S : 0n)).csrs(CSR.mstatus, t0);
  };

  it('M-mode loads with MPRV = 1, MPV = 1, MPP = S use two-stage translation (vsatp + hgatp)', () => {
    const sim = new Sim((a) => {
      a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
      a.li(s1, GVA);
      mprv(true)(a);
      a.ld(a0, 0, s1);
      a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
    });
    const g = new GuestPageTable(sim, 'sv39x4');
    const vs = new PageTable(sim, 'sv39');
    g.identity(PT_POOL, 32, G_RWX);
    vs.map(GVA, GPA, RW);
    g.map(GPA, DATA, G_RW);
    sim.write64(DATA, MAGIC);
    sim.setX(s2, vs.satp());
    sim.setX(t2, g.hgatp());
    sim.run();
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('a G-stage fault under MPRV/MPV is a guest-page fault taken in M with GVA = 1, MPV = 0 (trap from M)', () => {
    const sim = new Sim((a) => {
      a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
      mprv(true)(a);
      a.li(t0, GVA).label('acc').ld(a0, 0, t0);
    });
    const g = new GuestPageTable(sim, 'sv39x4');
    const vs = new PageTable(sim, 'sv39');
    g.identity(PT_POOL, 32, G_RWX);
    vs.map(GVA, GPA, RW);
    sim.setX(s2, vs.satp());
    sim.setX(t2, g.hgatp());
    sim.run();
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(LOAD_GPF));
    expect(sim.csr(CSR.mtval)).toBe(GVA);
    expect(sim.csr(CSR.mtval2)).toBe(GPA >> 2n);
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MSH.GVA).toBe(MSH.GVA);
    expect(ms & MSH.MPV).toBe(0n);
    expect((ms & MS.MPP) >> 11n).toBe(3n);
  });

  it('MPRV with MPV = 1, MPP = S: vsstatus.SUM applies instead of the HS-level SUM', () => {
    for (const [msSum, vsSum, ok] of [[0n, MS.SUM, true], [MS.SUM, 0n, false]] as const) {
      const sim = new Sim((a) => {
        a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
        a.li(t0, MS.SUM).csrc(CSR.mstatus, t0);
        if (msSum) a.li(t0, msSum).csrs(CSR.mstatus, t0);
        a.li(t0, vsSum).csrw(CSR.vsstatus, t0);
        mprv(true)(a);
        a.li(t0, GVA).ld(a0, 0, t0);
        a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
      });
      const g = new GuestPageTable(sim, 'sv39x4');
      const vs = new PageTable(sim, 'sv39');
      g.identity(PT_POOL, 32, G_RWX);
      vs.map(GVA, GPA, RW | PTE_U);
      g.map(GPA, DATA, G_RW);
      sim.write64(DATA, MAGIC);
      sim.setX(s2, vs.satp());
      sim.setX(t2, g.hgatp());
      sim.run();
      if (ok) expect(sim.x(a0)).toBe(MAGIC);
      else expect(sim.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
    }
  });

  it('MPRV with MPV = 1, MPP = U applies VU-level checks: a non-U VS page faults (13)', () => {
    const sim = new Sim((a) => {
      a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
      mprv(false)(a);
      a.li(t0, GVA).ld(a0, 0, t0);
    });
    const g = new GuestPageTable(sim, 'sv39x4');
    const vs = new PageTable(sim, 'sv39');
    g.identity(PT_POOL, 32, G_RWX);
    vs.map(GVA, GPA, RW);
    g.map(GPA, DATA, G_RW);
    sim.setX(s2, vs.satp());
    sim.setX(t2, g.hgatp());
    sim.run();
    expect(sim.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
    expect(sim.csr(CSR.mstatus) & MSH.GVA).toBe(MSH.GVA);
  });
});

// =============================================================================================
describe('HLV / HLVX / HSV (§8.3.1)', () => {
  const PAT = 0xf0e0_d0c0_b0a0_9080n;
  /**
   * Program: `pre` runs in M (hgatp/vsatp set, HS-level state), then `code` runs in M, or in HS
   * (priv S, V=0) or U (V=0) after `enter`. GVA maps (VS-stage `vsFlags`) to GPA, GPA (G-stage
   * `gFlags`) to DATA, which holds PAT.
   */
  function hv(where: 'M' | 'HS' | 'U', code: (a: Asm) => void, o: {
    vsFlags?: number; gFlags?: number; pre?: (a: Asm) => void; vsMode?: 'sv39' | 'bare'; gMode?: 'sv39x4' | 'bare';
  } = {}): Sim {
    const vsMode = o.vsMode ?? 'sv39', gMode = o.gMode ?? 'sv39x4';
    const sim = new Sim((a) => {
      a.csrw(CSR.vsatp, s2).csrw(CSR.hgatp, t2);
      o.pre?.(a);
      if (where !== 'M') { a.enter(where === 'HS' ? PRV_S : PRV_U, 'low'); a.label('low'); }
      a.li(t1, GVA);
      code(a);
    });
    const g = gMode === 'bare' ? null : new GuestPageTable(sim, 'sv39x4');
    const vs = vsMode === 'bare' ? null : new PageTable(sim, 'sv39');
    g?.identity(PT_POOL, 32, G_RWX);
    vs?.map(GVA, GPA, o.vsFlags ?? RW);
    g?.map(GPA, DATA, o.gFlags ?? G_RW);
    sim.write64(DATA, PAT);
    sim.setX(s2, vs?.satp() ?? 0n);
    sim.setX(t2, g?.hgatp() ?? 0n);
    sim.run();
    return sim;
  }
  const spvp = (on: boolean) => (a: Asm): void => {
    if (on) a.li(t0, HS.SPVP).csrw(CSR.hstatus, t0); else a.csrw(CSR.hstatus, zero);
  };

  it('loads of every width from M (SPVP = 1): sign and zero extension as for LB..LD', () => {
    const sim = hv('M', (a) => {
      a.hlv_b(a0, t1).mv(s1, a0);
      a.hlv_bu(a0, t1).mv(s2, a0);
      a.hlv_d(a1, t1);
    }, { pre: spvp(true) });
    expect(sim.traps).toEqual([]);
    expect(sim.x(s1)).toBe(BigInt.asUintN(64, -128n));
    expect(sim.x(s2)).toBe(0x80n);
    expect(sim.x(a1)).toBe(PAT);
  });

  it.each([
    ['hlv.h', (a: Asm) => a.hlv_h(a0, t1), BigInt.asUintN(64, BigInt.asIntN(16, 0x9080n))],
    ['hlv.hu', (a: Asm) => a.hlv_hu(a0, t1), 0x9080n],
    ['hlv.w', (a: Asm) => a.hlv_w(a0, t1), BigInt.asUintN(64, BigInt.asIntN(32, 0xb0a0_9080n))],
    ['hlv.wu', (a: Asm) => a.hlv_wu(a0, t1), 0xb0a0_9080n],
    ['hlvx.hu (page also executable)', (a: Asm) => a.hlvx_hu(a0, t1), 0x9080n],
    ['hlvx.wu (page also executable)', (a: Asm) => a.hlvx_wu(a0, t1), 0xb0a0_9080n],
  ])('%s from HS', (_n, insn, want) => {
    const sim = hv('HS', (a) => { insn(a); }, { pre: spvp(true), vsFlags: RWX, gFlags: G_RWX });
    expect(sim.traps).toEqual([]);
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(want);
  });

  it.each([
    ['hsv.b', (a: Asm) => a.hsv_b(a0, t1), 1],
    ['hsv.h', (a: Asm) => a.hsv_h(a0, t1), 2],
    ['hsv.w', (a: Asm) => a.hsv_w(a0, t1), 4],
    ['hsv.d', (a: Asm) => a.hsv_d(a0, t1), 8],
  ])('%s from HS writes exactly its width through both stages', (_n, insn, width) => {
    const sim = hv('HS', (a) => { a.li(a0, 0x0102_0304_0506_0708n); insn(a); }, { pre: spvp(true) });
    expect(sim.traps).toEqual([]);
    const mask = width === 8 ? (1n << 64n) - 1n : (1n << BigInt(8 * width)) - 1n;
    expect(sim.read64(DATA)).toBe((PAT & ~mask) | (0x0102_0304_0506_0708n & mask));
  });

  it('from U-mode with hstatus.HU = 1: allowed; with HU = 0: illegal instruction', () => {
    const ok = hv('U', (a) => { a.hlv_d(a0, t1).hsv_w(zero, t1); }, { pre: (a) => { a.li(t0, HS.HU | HS.SPVP).csrw(CSR.hstatus, t0); } });
    expect(ok.traps).toEqual([]);
    expect(ok.x(a0)).toBe(PAT);
    expect(ok.read64(DATA) & 0xffff_ffffn).toBe(0n);
    const bad = hv('U', (a) => { a.label('bad').hlv_d(a0, t1); }, { pre: (a) => { a.li(t0, HS.SPVP).csrw(CSR.hstatus, t0); } });
    expect(bad.csr(CSR.mcause)).toBe(2n);
    expect(bad.csr(CSR.mepc)).toBe(BigInt(bad.addr('bad')));
  });

  it('SPVP = 0 accesses as VU: a U page is accessible, a non-U page -> 13', () => {
    const ok = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: spvp(false), vsFlags: RW | PTE_U });
    expect(ok.traps).toEqual([]);
    expect(ok.x(a0)).toBe(PAT);
    const bad = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: spvp(false), vsFlags: RW });
    expect(bad.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
  });

  it('SPVP = 1 on a U page: vsstatus.SUM applies, the HS sstatus.SUM is ignored', () => {
    const noSum = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: (a) => { spvp(true)(a); a.li(t0, MS.SUM).csrs(CSR.mstatus, t0).csrw(CSR.vsstatus, zero); }, vsFlags: RW | PTE_U });
    expect(noSum.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
    const sum = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: (a) => { spvp(true)(a); a.li(t0, MS.SUM).csrw(CSR.vsstatus, t0); }, vsFlags: RW | PTE_U });
    expect(sum.traps).toEqual([]);
    expect(sum.x(a0)).toBe(PAT);
  });

  it('HLVX needs execute, not read: execute-only pages in both stages are readable by hlvx, not by hlv (13)', () => {
    const x = hv('HS', (a) => { a.hlvx_wu(a0, t1); }, { pre: spvp(true), vsFlags: XO, gFlags: G_XO });
    expect(x.traps).toEqual([]);
    expect(x.x(a0)).toBe(0xb0a0_9080n);
    const l = hv('HS', (a) => { a.hlv_wu(a0, t1); }, { pre: spvp(true), vsFlags: XO, gFlags: G_RW });
    expect(l.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
  });

  it('HLVX on a readable but non-executable page raises load faults (13 / 21), never fetch faults', () => {
    const vsNx = hv('HS', (a) => { a.hlvx_hu(a0, t1); }, { pre: spvp(true), vsFlags: RO, gFlags: G_RWX });
    expect(vsNx.csr(CSR.mcause)).toBe(BigInt(LOAD_PF));
    const gNx = hv('HS', (a) => { a.hlvx_hu(a0, t1); }, { pre: spvp(true), vsFlags: RX, gFlags: G_RO });
    expect(gNx.csr(CSR.mcause)).toBe(BigInt(LOAD_GPF));
    expect(gNx.csr(CSR.mtval2)).toBe(GPA >> 2n);
  });

  it('HLV with HS-level mstatus.MXR = 1 reads execute-only pages of both stages; vsstatus.MXR only the VS stage', () => {
    const hsMxr = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: (a) => { spvp(true)(a); a.li(t0, MS.MXR).csrs(CSR.mstatus, t0).csrw(CSR.vsstatus, zero); }, vsFlags: XO, gFlags: G_XO });
    expect(hsMxr.traps).toEqual([]);
    expect(hsMxr.x(a0)).toBe(PAT);
    const vsMxr = hv('HS', (a) => { a.hlv_d(a0, t1); }, { pre: (a) => { spvp(true)(a); a.li(t0, MS.MXR).csrw(CSR.vsstatus, t0); }, vsFlags: XO, gFlags: G_XO });
    expect(vsMxr.csr(CSR.mcause)).toBe(BigInt(LOAD_GPF));
  });

  it('HSV to a VS-stage read-only page -> 15; to a G-stage read-only page -> 23', () => {
    const vsRo = hv('HS', (a) => { a.hsv_d(a0, t1); }, { pre: spvp(true), vsFlags: RO });
    expect(vsRo.csr(CSR.mcause)).toBe(BigInt(STORE_PF));
    const gRo = hv('HS', (a) => { a.hsv_d(a0, t1); }, { pre: spvp(true), gFlags: G_RO });
    expect(gRo.csr(CSR.mcause)).toBe(BigInt(STORE_GPF));
    expect(gRo.csr(CSR.mtval2)).toBe(GPA >> 2n);
  });

  it('a guest-page fault of HLV in HS, delegated to HS: stval = GVA, htval = GPA >> 2, GVA = 1, SPV = 0, SPVP kept', () => {
    const sim = hv('HS', (a) => { a.label('acc').hlv_w(a0, t1); }, {
      gFlags: G_XO,
      pre: (a) => { spvp(true)(a); a.li(t0, bit(LOAD_GPF)).csrw(CSR.medeleg, t0); },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(BigInt(LOAD_GPF));
    expect(sim.csr(CSR.stval)).toBe(GVA);
    expect(sim.csr(CSR.htval)).toBe(GPA >> 2n);
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV | HS.SPVP)).toBe(HS.GVA | HS.SPVP);
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('acc')));
    expect([0n, xHv(wordAt(sim, 'acc'))]).toContain(sim.csr(CSR.htinst));
  });

  it('a VS-stage page fault of HSV in HS: scause 15, GVA = 1, htval = 0', () => {
    const sim = hv('HS', (a) => { a.hsv_b(a0, t1); }, {
      vsFlags: RO,
      pre: (a) => { spvp(true)(a); a.li(t0, bit(STORE_PF)).csrw(CSR.medeleg, t0).li(t0, 0x99).csrw(CSR.htval, t0); },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(BigInt(STORE_PF));
    expect(sim.csr(CSR.stval)).toBe(GVA);
    expect(sim.csr(CSR.htval)).toBe(0n);
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV)).toBe(HS.GVA);
  });

  it('a guest-page fault of HLV in M: mtval = GVA, mtval2 = GPA >> 2, mstatus.GVA = 1, MPV = 0', () => {
    const sim = hv('M', (a) => { a.hlv_d(a0, t1); }, { gFlags: G_XO, pre: spvp(true) });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(LOAD_GPF));
    expect(sim.csr(CSR.mtval)).toBe(GVA);
    expect(sim.csr(CSR.mtval2)).toBe(GPA >> 2n);
    expect(sim.csr(CSR.mstatus) & (MSH.GVA | MSH.MPV)).toBe(MSH.GVA);
  });

  it('MPRV does not affect HLV: in M with MPRV = 1, MPP = U, SPVP = 1 still reads a non-U VS page', () => {
    const sim = hv('M', (a) => { a.hlv_d(a0, t1); a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0); }, {
      pre: (a) => { spvp(true)(a); a.li(t0, MS.MPP).csrc(CSR.mstatus, t0).li(t0, MS.MPRV).csrs(CSR.mstatus, t0); },
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(PAT);
  });

  it('HLV with Bare vsatp and Bare hgatp reads GVA = GPA = HPA', () => {
    const sim = hv('HS', (a) => { a.li(t1, DATA).hlv_d(a0, t1); }, { pre: spvp(true), vsMode: 'bare', gMode: 'bare' });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(PAT);
  });
});

