/**
 * Virtual memory: Sv39 / Sv48 (privileged spec 1.12 §4.3-4.5, §3.1.6.3, §3.1.16).
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, a0, a1, a2, s1, t0, t1, ra, zero, CSR, MS, PRV_M, PRV_S, PRV_U, RAM_BASE, DATA, PT_POOL,
  PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D, RWX, RW, RO, XO, RX,
} from './harness.js';

const VA = 0x4000_0000n;
const LOAD_PF = 13, STORE_PF = 15, FETCH_PF = 12;
const MAGIC = 0x1122334455667788n;

interface MmuOpts {
  mode?: 'sv39' | 'sv48';
  priv?: number;
  /** M-mode code before entering `priv`. */
  setup?: (a: Asm) => void;
  regs?: Record<number, bigint | number>;
  maxSteps?: number;
}

/**
 * Build a program that enters `priv` (default S) with translation on and runs `code` there.
 * The harness's code pages are identity-mapped (pages 0-1 S-only, the rest U when priv = U),
 * the page-table pool is identity-mapped RW for S so tests can edit PTEs, and `map` adds the
 * test's mappings. Traps go to M (mtrap) unless the test delegates them.
 */
function mmu(code: (a: Asm) => void, map: (pt: PageTable, sim: Sim) => void, o: MmuOpts = {}): { sim: Sim; pt: PageTable } {
  const priv = o.priv ?? PRV_S;
  const sim = new Sim((a) => {
    o.setup?.(a);
    a.enter(priv, 'low');
    a.label('low');
    code(a);
  }, { regs: o.regs });
  const pt = new PageTable(sim, o.mode ?? 'sv39');
  for (let k = 0; k < 16; k++) {
    const pa = RAM_BASE + k * 4096;
    pt.map(pa, pa, priv === PRV_U && k >= 2 ? RWX | PTE_U : RWX);
  }
  for (let k = 0; k < 8; k++) pt.map(PT_POOL + k * 4096, PT_POOL + k * 4096, RW);
  map(pt, sim);
  pt.install();
  sim.run({ maxSteps: o.maxSteps });
  return { sim, pt };
}

function expectFault(sim: Sim, cause: number, tval: bigint, epcLabel?: string): void {
  expect(sim.stop).toBe('mtrap');
  expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
  expect(sim.csr(CSR.mtval)).toBe(BigInt.asUintN(64, tval));
  if (epcLabel) expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr(epcLabel)));
}

describe('Sv39 and Sv48 page walks (§4.3.2, §4.4, §4.5)', () => {
  it('Sv39 4 KiB page: load and store go to the mapped frame', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA + 8n).ld(a0, 0, t0).sd(a0, 8, t0);
    }, (pt, s) => { pt.map(VA, DATA, RW); s.write64(DATA + 8, MAGIC); });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
    expect(sim.read64(DATA + 16)).toBe(MAGIC);
  });

  it('Sv39 2 MiB megapage: offset bits 20:0 come from the VA', () => {
    const pa = RAM_BASE + 0x40_0000;
    const { sim } = mmu((a) => { a.li(t0, VA + 0x12348n).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(VA, pa, RO, 1);
      s.write64(pa + 0x12348, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv39 1 GiB gigapage: offset bits 29:0 come from the VA', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + BigInt(DATA - RAM_BASE)).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(VA, RAM_BASE, RO, 2);
      s.write64(DATA, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv39 negative (upper-half) canonical address 0xffffffc000000000', () => {
    const hi = 0xffffffc000000000n;
    const { sim } = mmu((a) => { a.li(t0, hi + 0x10n).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(hi, DATA, RO);
      s.write64(DATA + 0x10, MAGIC);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it.each([
    ['4 KiB', 0, VA, DATA, 0x18],
    ['2 MiB', 1, VA, RAM_BASE + 0x40_0000, 0x1_2340],
    ['1 GiB', 2, VA, RAM_BASE, DATA - RAM_BASE + 0x20],
    ['512 GiB terapage', 3, 1n << 39n, 0, DATA + 0x28],
  ])('Sv48 %s page', (_n, level, va, pa, off) => {
    const { sim } = mmu((a) => { a.li(t0, va + BigInt(off)).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(va, pa, RO, level);
      s.write64(pa + off, MAGIC);
    }, { mode: 'sv48' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('Sv48 negative canonical address 0xffff800000000000', () => {
    const hi = 0xffff800000000000n;
    const { sim } = mmu((a) => { a.li(t0, hi).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(hi, DATA, RO);
      s.write64(DATA, MAGIC);
    }, { mode: 'sv48' });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('instruction fetch through a non-identity mapping', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).jalr(ra, t0, 0);
    }, (pt, s) => {
      // code at DATA: li a0, 42 ; ebreak
      const code = new Asm(DATA).li(a0, 42).ebreak().assemble();
      s.m.bus.writeRam(DATA, code);
      pt.map(VA, DATA, RX);
    });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(sim.csr(CSR.mepc)).toBe(VA + 4n);
    expect(sim.x(a0)).toBe(42n);
  });

  it('writing satp with an unsupported MODE (Sv64) has no effect (§4.1.11)', () => {
    const { sim } = mmu((a) => {
      a.csrr(a1, CSR.satp);
      a.li(t0, (11n << 60n) | 0x12345n).csrw(CSR.satp, t0);
      a.csrr(a0, CSR.satp);
    }, () => {});
    expect(sim.x(a0)).toBe(sim.x(a1));
  });
});

describe('executing at an upper-half (negative) virtual address', () => {
  it('auipc, jal and jalr produce sign-extended 64-bit addresses', () => {
    const hi = 0xffffffc000000000n;
    const { sim } = mmu((a) => { a.li(t0, hi).jalr(zero, t0, 0); }, (pt, s) => {
      // at hi: auipc a0, 0 ; jal ra, +8 ; (skipped) ; jalr a2, 0(a0) -> hi again? no: ebreak
      const code = new Asm(Number(BigInt.asIntN(64, hi)));
      code.auipc(a0, 0).jal(ra, code.here + 8).nop().auipc(a1, 0x1).addi(a2, zero, 0).bne(a0, zero, code.here + 8).nop().ebreak();
      s.m.bus.writeRam(DATA, code.assemble());
      pt.map(hi, DATA, RX);
    });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(sim.x(a0)).toBe(hi);
    expect(sim.x(ra)).toBe(hi + 8n);
    expect(sim.x(a1)).toBe(hi + 0xcn + 0x1000n);
    expect(sim.csr(CSR.mepc)).toBe(hi + 0x1cn);
    expect(sim.csr(CSR.mtval)).toBe(0n); // ebreak writes 0 to mtval (as QEMU 7.2)
  });
});

describe('invalid PTEs and misaligned superpages raise page faults (§4.3.2 steps 3, 6)', () => {
  it.each([
    ['2 MiB leaf with PPN[0] != 0', 1, RAM_BASE + 0x40_1000],
    ['1 GiB leaf with PPN[1:0] != 0', 2, RAM_BASE + 0x20_0000],
  ])('misaligned superpage: %s', (_n, level, pa) => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0x10n).label('ld').ld(a0, 0, t0); }, (pt) => { pt.map(VA, pa, RO, level); });
    expectFault(sim, LOAD_PF, VA + 0x10n, 'ld');
  });

  it('V = 0', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW & ~PTE_V); });
    expectFault(sim, LOAD_PF, VA);
  });

  it('W = 1 with R = 0 is reserved', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, PTE_V | PTE_W | PTE_A | PTE_D); });
    expectFault(sim, STORE_PF, VA);
  });

  it('a non-leaf PTE at level 0', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, PTE_V); });
    expectFault(sim, LOAD_PF, VA);
  });

  it('reserved PTE bits 63:54 set', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => {
      pt.setPte(VA, (1n << 60n) | (BigInt(DATA >>> 12) << 10n) | BigInt(RO));
    });
    expectFault(sim, LOAD_PF, VA);
  });

  it('fault causes by access type: fetch 12, load 13, store 15, with mtval = va and mepc = pc', () => {
    const f = mmu((a) => { a.li(t0, VA + 0x20n).jalr(zero, t0, 0); }, () => {});
    expectFault(f.sim, FETCH_PF, VA + 0x20n);
    expect(f.sim.csr(CSR.mepc)).toBe(VA + 0x20n);
    const l = mmu((a) => { a.li(t0, VA).label('i').lw(a0, 0x44, t0); }, () => {});
    expectFault(l.sim, LOAD_PF, VA + 0x44n, 'i');
    const s = mmu((a) => { a.li(t0, VA).label('i').sw(a0, -4, t0); }, () => {});
    expectFault(s.sim, STORE_PF, VA - 4n, 'i');
    const amo = mmu((a) => { a.li(t0, VA).label('i').amo('add', 'w', a0, a0, t0); }, (pt) => { pt.map(VA, DATA, RO); });
    expectFault(amo.sim, STORE_PF, VA, 'i');
  });

  it('page faults delegated with medeleg go to S with stval = va', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0x123n).label('i').lbu(a0, 0, t0); }, () => {}, {
      setup: (a) => { a.li(t0, (1 << 12) | (1 << 13) | (1 << 15)).csrw(CSR.medeleg, t0); },
    });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(13n);
    expect(sim.csr(CSR.stval)).toBe(VA + 0x123n);
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('i')));
  });
});

describe('non-canonical virtual addresses (§4.4.1, §4.5.1)', () => {
  it('Sv39: bit 38 set with bits 63:39 clear -> load page fault with the exact address', () => {
    const bad = 0x0000_0040_0000_0000n;
    const { sim } = mmu((a) => { a.li(t0, bad).label('i').ld(a0, 0, t0); }, () => {});
    expectFault(sim, LOAD_PF, bad, 'i');
  });

  it('Sv39: 0x8000000000000000 (beyond 2^53) -> store page fault with the exact address', () => {
    const bad = 0x8000_0000_0000_0000n;
    const { sim } = mmu((a) => { a.li(t0, bad).sd(a0, 8, t0); }, () => {});
    expectFault(sim, STORE_PF, bad + 8n);
  });

  it('Sv39: 0xffffff8000000000 has bits 63:39 set but bit 38 clear', () => {
    const bad = 0xffffff8000000000n;
    const { sim } = mmu((a) => { a.li(t0, bad).ld(a0, 0, t0); }, () => {});
    expectFault(sim, LOAD_PF, bad);
  });

  it('Sv48: 0x0000800000000000 is not canonical', () => {
    const bad = 0x0000_8000_0000_0000n;
    const { sim } = mmu((a) => { a.li(t0, bad).ld(a0, 0, t0); }, () => {}, { mode: 'sv48' });
    expectFault(sim, LOAD_PF, bad);
  });

  it('Sv39: a jump to a non-canonical address -> fetch page fault, mepc = mtval = target', () => {
    const bad = 0x0000_0040_0000_1000n;
    const { sim } = mmu((a) => { a.li(t0, bad).jalr(zero, t0, 0); }, () => {});
    expectFault(sim, FETCH_PF, bad);
    expect(sim.csr(CSR.mepc)).toBe(bad);
  });

  it('Sv39: a jump to 0x8000000000000000 -> fetch page fault reporting the exact target', () => {
    const bad = 0x8000_0000_0000_0000n;
    const { sim } = mmu((a) => { a.li(t0, bad).jalr(zero, t0, 0); }, () => {});
    expectFault(sim, FETCH_PF, bad);
    expect(sim.csr(CSR.mepc)).toBe(bad);
  });
});

describe('accessed and dirty bits (§4.3.2 step 7, hardware update)', () => {
  it('a load sets A but not D', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, PTE_V | PTE_R | PTE_W); });
    expect(sim.stop).toBe('done');
    expect(pt.pte(VA) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A));
  });

  it('a store sets A and D', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, PTE_V | PTE_R | PTE_W); });
    expect(sim.stop).toBe('done');
    expect(pt.pte(VA) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A | PTE_D));
  });

  it('a store after a load to the same page (translation cached without D) still sets D', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0).ld(a0, 8, t0).sd(a0, 16, t0); }, (pt) => {
      pt.map(VA, DATA, PTE_V | PTE_R | PTE_W);
    });
    expect(sim.stop).toBe('done');
    expect(pt.pte(VA) & BigInt(PTE_D)).toBe(BigInt(PTE_D));
  });

  it('an instruction fetch sets A', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA).jalr(zero, t0, 0); }, (pt, s) => {
      s.m.bus.writeRam(DATA, new Asm(DATA).ebreak().assemble());
      pt.map(VA, DATA, PTE_V | PTE_X);
    });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(pt.pte(VA) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A));
  });

  it('a faulting store does not set A or D', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, PTE_V | PTE_R); });
    expectFault(sim, STORE_PF, VA);
    expect(pt.pte(VA) & BigInt(PTE_A | PTE_D)).toBe(0n);
  });

  it('the A/D update goes to the leaf of a superpage', () => {
    const { sim, pt } = mmu((a) => { a.li(t0, VA + 0x1000n).sd(a0, 0, t0); }, (pt) => {
      pt.map(VA, RAM_BASE + 0x40_0000, PTE_V | PTE_R | PTE_W, 1);
    });
    expect(sim.stop).toBe('done');
    expect(pt.pte(VA, 1) & BigInt(PTE_A | PTE_D)).toBe(BigInt(PTE_A | PTE_D));
  });
});

describe('permission rules: R/W/X, U, SUM, MXR (§4.3.1, §3.1.6.3)', () => {
  const sum = (a: Asm): void => { a.li(t0, MS.SUM).csrs(CSR.mstatus, t0); };
  const mxr = (a: Asm): void => { a.li(t0, MS.MXR).csrs(CSR.mstatus, t0); };

  it('store to a read-only page -> 15; fetch from a non-executable page -> 12', () => {
    const st = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RO); });
    expectFault(st.sim, STORE_PF, VA);
    const fx = mmu((a) => { a.li(t0, VA).jalr(zero, t0, 0); }, (pt) => { pt.map(VA, DATA, RW); });
    expectFault(fx.sim, FETCH_PF, VA);
  });

  it('S-mode load from a U page: faults with SUM = 0, allowed with SUM = 1', () => {
    const off = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW | PTE_U); });
    expectFault(off.sim, LOAD_PF, VA);
    const on = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => { pt.map(VA, DATA, RW | PTE_U); s.write64(DATA, MAGIC); }, { setup: sum });
    expect(on.sim.stop).toBe('done');
    expect(on.sim.x(a0)).toBe(MAGIC);
  });

  it('S-mode store to a U page: faults with SUM = 0, allowed with SUM = 1', () => {
    const off = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW | PTE_U); });
    expectFault(off.sim, STORE_PF, VA);
    const on = mmu((a) => { a.li(t0, VA).sd(t0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW | PTE_U); }, { setup: sum });
    expect(on.sim.stop).toBe('done');
    expect(on.sim.read64(DATA)).toBe(VA);
  });

  it('S-mode can never execute from a U page, even with SUM = 1', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).jalr(zero, t0, 0); }, (pt) => { pt.map(VA, DATA, RWX | PTE_U); }, { setup: sum });
    expectFault(sim, FETCH_PF, VA);
  });

  it('SUM toggled while running takes effect for the next access (no stale translation)', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).ld(a0, 0, t0); // allowed (SUM = 1)
      a.li(t1, MS.SUM).csrc(CSR.sstatus, t1);
      a.label('i').ld(a1, 0, t0); // must fault
    }, (pt) => { pt.map(VA, DATA, RW | PTE_U); }, { setup: sum });
    expectFault(sim, LOAD_PF, VA, 'i');
  });

  it('U-mode load/store/fetch on a supervisor page fault', () => {
    const ld = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RWX); }, { priv: PRV_U });
    expectFault(ld.sim, LOAD_PF, VA);
    const st = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RWX); }, { priv: PRV_U });
    expectFault(st.sim, STORE_PF, VA);
    const fx = mmu((a) => { a.li(t0, VA).jalr(zero, t0, 0); }, (pt) => { pt.map(VA, DATA, RWX); }, { priv: PRV_U });
    expectFault(fx.sim, FETCH_PF, VA);
    expect(fx.sim.lastTrap).toMatchObject({ from: PRV_U });
  });

  it('U-mode access to a U page is allowed (SUM irrelevant)', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => { pt.map(VA, DATA, RO | PTE_U); s.write64(DATA, MAGIC); }, { priv: PRV_U });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('load from an execute-only page: faults with MXR = 0, allowed with MXR = 1', () => {
    const off = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, XO); });
    expectFault(off.sim, LOAD_PF, VA);
    const on = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => { pt.map(VA, DATA, XO); s.write64(DATA, MAGIC); }, { setup: mxr });
    expect(on.sim.stop).toBe('done');
    expect(on.sim.x(a0)).toBe(MAGIC);
  });

  it('MXR does not make an execute-only page writable', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, XO | PTE_D); }, { setup: mxr });
    expectFault(sim, STORE_PF, VA);
  });

  it('U-mode load from an execute-only U page with MXR = 1', () => {
    const { sim } = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt, s) => { pt.map(VA, DATA, XO | PTE_U); s.write64(DATA, MAGIC); }, { priv: PRV_U, setup: mxr });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('S-mode load from an execute-only U page needs both SUM and MXR', () => {
    const only = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, XO | PTE_U); }, { setup: sum });
    expectFault(only.sim, LOAD_PF, VA);
    const both = mmu((a) => { a.li(t0, VA).ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, XO | PTE_U); }, { setup: (a) => { sum(a); mxr(a); } });
    expect(both.sim.stop).toBe('done');
  });
});

describe('MPRV (§3.1.6.3)', () => {
  it('M-mode loads and stores translate with MPRV = 1 and MPP = S; fetches do not', () => {
    const sim = new Sim((a) => {
      a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
      a.li(t0, VA).ld(a0, 0, t0).sd(a0, 8, t0);
      a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
    });
    const pt = new PageTable(sim, 'sv39');
    pt.map(VA, DATA, RW);
    pt.install();
    sim.write64(DATA, MAGIC);
    expect(sim.run()).toBe('done');
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(MAGIC);
    expect(sim.read64(DATA + 8)).toBe(MAGIC);
  });

  it('a page fault under MPRV is taken in M with mtval = va', () => {
    const sim = new Sim((a) => {
      a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
      a.li(t0, VA).label('i').ld(a0, 0, t0);
    });
    new PageTable(sim, 'sv39').install();
    sim.run();
    expect(sim.lastTrap).toMatchObject({ cause: LOAD_PF, from: PRV_M, to: PRV_M, tval: VA });
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('i')));
  });

  it('MPRV with MPP = U applies U-mode permission checks', () => {
    const sim = new Sim((a) => {
      a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPRV).csrs(CSR.mstatus, t0);
      a.li(t0, VA).ld(a0, 0, t0);
    });
    const pt = new PageTable(sim, 'sv39');
    pt.map(VA, DATA, RW); // supervisor page
    pt.install();
    sim.run();
    expect(sim.lastTrap).toMatchObject({ cause: LOAD_PF, tval: VA });
  });

  it('MPRV with MPP = M does not translate', () => {
    const sim = new Sim((a) => {
      a.li(t0, MS.MPRV | MS.MPP).csrs(CSR.mstatus, t0);
      a.li(t0, DATA).ld(a0, 0, t0);
    });
    new PageTable(sim, 'sv39').install();
    sim.write64(DATA, MAGIC);
    expect(sim.run()).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });
});

describe('accesses spanning two pages (§3.1.16: tval = address of the faulting portion)', () => {
  // Spec (priv 1.12 §3.1.16): for a misaligned load/store that faults, mtval holds "the virtual
  // address of the portion of the access that caused the fault"; for an instruction that spans
  // pages, mtval is the address of the faulting portion and mepc the start of the instruction.
  // QEMU reports the original (unaligned) address for data accesses in some versions.
  it('an 8-byte load at page end whose second page is unmapped reports the second page address', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffcn).label('i').ld(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW); });
    expectFault(sim, LOAD_PF, VA + 0x1000n, 'i');
  });

  it('an 8-byte load at page end whose first page is unmapped reports the original address', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffcn).ld(a0, 0, t0); }, (pt) => { pt.map(VA + 0x1000n, DATA, RW); });
    expectFault(sim, LOAD_PF, VA + 0xffcn);
  });

  it('a page-crossing load that succeeds assembles bytes from both frames', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffcn).ld(a0, 0, t0); }, (pt, s) => {
      pt.map(VA, DATA + 0x3000, RO);
      pt.map(VA + 0x1000n, DATA, RO);
      s.write32(DATA + 0x3ffc, 0x55667788);
      s.write32(DATA, 0x11223344);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(MAGIC);
  });

  it('a page-crossing store to a read-only second page -> 15 with the second page address', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffen).sw(t0, 0, t0); }, (pt) => {
      pt.map(VA, DATA, RW);
      pt.map(VA + 0x1000n, DATA + 0x1000, RO);
    });
    expectFault(sim, STORE_PF, VA + 0x1000n);
  });

  it('a 16-bit instruction in the last halfword of a page does not touch the next (unmapped) page', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffen).jalr(zero, t0, 0); }, (pt, s) => {
      s.write32(DATA + 0xffc, (0x9002 << 16) | 0x0001); // c.nop, c.ebreak at 0xffe
      pt.map(VA, DATA, RX);
    });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(sim.csr(CSR.mepc)).toBe(VA + 0xffen);
  });

  it('an access ending exactly at the page end does not touch the next (unmapped) page', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xff8n).ld(a0, 0, t0).lw(a1, 4, t0).sd(a0, 0, t0); }, (pt) => { pt.map(VA, DATA, RW); });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('a 32-bit instruction straddling two mapped pages with non-contiguous frames executes', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffen).jalr(zero, t0, 0); }, (pt, s) => {
      // addi a0, zero, 0x123 = 0x12300513: low half at DATA+0x3ffe, high half at DATA+0x0000
      s.write32(DATA + 0x3ffc, 0x05130001);
      s.write32(DATA, (0x9002 << 16) | 0x1230); // high half of the addi, then c.ebreak
      pt.map(VA, DATA + 0x3000, RX);
      pt.map(VA + 0x1000n, DATA, RX);
    });
    expect(sim.csr(CSR.mcause)).toBe(3n); // c.ebreak after the straddling addi
    expect(sim.csr(CSR.mepc)).toBe(VA + 0x1002n);
    expect(sim.x(a0)).toBe(0x123n);
  });

  it('a 32-bit instruction straddling into an unmapped page: mepc = instruction, mtval = second page', () => {
    const { sim } = mmu((a) => { a.li(t0, VA + 0xffen).jalr(zero, t0, 0); }, (pt, s) => {
      s.write32(DATA + 0xffc, 0x05130001); // c.nop at ffc, then the low half of "addi a0, ..." at ffe
      pt.map(VA, DATA, RX);
    });
    expectFault(sim, FETCH_PF, VA + 0x1000n);
    expect(sim.csr(CSR.mepc)).toBe(VA + 0xffen);
  });
});

describe('TLB maintenance (§4.2.1)', () => {
  const pteFor = (pa: number, flags: number): bigint => (BigInt(pa >>> 12) << 10n) | BigInt(flags);

  it('after sfence.vma, a modified PTE is used (cached translation replaced)', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).ld(a0, 0, t0); // caches VA -> DATA
      a.sd(a2, 0, s1); // rewrite the leaf PTE: VA -> DATA + 0x1000
      a.sfence_vma();
      a.ld(a1, 0, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RO);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
      s.setX(s1, pt.pteAddr(VA));
      s.setX(a2, pteFor(DATA + 0x1000, RO));
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });

  it('sfence.vma rs1 = va flushes that page', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).ld(a0, 0, t0);
      a.sd(a2, 0, s1);
      a.sfence_vma(t0, zero);
      a.ld(a1, 0, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RO);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
      s.setX(s1, pt.pteAddr(VA));
      s.setX(a2, pteFor(DATA + 0x1000, RO));
    });
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });

  it('after sfence.vma, an invalidated PTE faults', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).ld(a0, 0, t0);
      a.sd(zero, 0, s1);
      a.sfence_vma();
      a.label('i').ld(a1, 0, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RO);
      s.setX(s1, pt.pteAddr(VA));
    });
    expectFault(sim, LOAD_PF, VA, 'i');
  });

  it('after sfence.vma, a permission downgrade (store to now read-only page) faults', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).sd(t0, 0, t0); // caches a writable translation
      a.sd(a2, 0, s1);
      a.sfence_vma();
      a.label('i').sd(t0, 8, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RW);
      s.setX(s1, pt.pteAddr(VA));
      s.setX(a2, pteFor(DATA, RO));
    });
    expectFault(sim, STORE_PF, VA + 8n, 'i');
  });

  it('writing satp with a new root and a new ASID switches address spaces', () => {
    const sim = new Sim((a) => {
      a.enter(PRV_S, 'low').label('low');
      a.li(t0, VA).ld(a0, 0, t0);
      a.csrw(CSR.satp, a2);
      a.ld(a1, 0, t0);
    });
    const pt1 = new PageTable(sim, 'sv39', PT_POOL);
    const pt2 = new PageTable(sim, 'sv39', PT_POOL + 0x10_0000);
    for (const pt of [pt1, pt2]) pt.mapCode(RWX);
    pt1.map(VA, DATA, RO);
    pt2.map(VA, DATA + 0x1000, RO);
    sim.write64(DATA, 1n);
    sim.write64(DATA + 0x1000, 2n);
    pt1.install(0);
    sim.setX(a2, pt2.satp(1));
    expect(sim.run()).toBe('done');
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });

  it('writing satp = Bare turns translation off for S-mode', () => {
    const { sim } = mmu((a) => {
      a.li(t0, VA).ld(a0, 0, t0);
      a.csrw(CSR.satp, zero);
      a.li(t0, DATA + 0x1000).ld(a1, 0, t0);
    }, (pt, s) => {
      pt.map(VA, DATA, RO);
      s.write64(DATA, 1n);
      s.write64(DATA + 0x1000, 2n);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(2n);
  });
});
