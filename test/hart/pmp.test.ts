/**
 * Physical memory protection (privileged spec 1.12 §3.7).
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, runProgram, a0, a1, t0, t1, zero, CSR, MS, PRV_M, PRV_S, PRV_U, RAM_BASE, DATA, PT_POOL,
  PMP_R, PMP_W, PMP_X, PMP_L, PMP_TOR, PMP_NA4, PMP_NAPOT, napot, RWX, RW,
} from './harness.js';

const LOAD_AF = 5, STORE_AF = 7, FETCH_AF = 1;
const RAM_ALL = napot(RAM_BASE, 16 * 1024 * 1024);
const MAGIC = 0x0123456789abcdefn;

/** cfg bytes -> pmpcfg0 value */
function cfg(...bytes: number[]): bigint {
  return bytes.reduce((v, b, i) => v | (BigInt(b) << BigInt(8 * i)), 0n);
}

/** M-mode code that programs pmpaddr0..n-1 and pmpcfg0. */
function pmpSetup(addrs: bigint[], cfg0: bigint): (a: Asm) => void {
  return (a) => {
    addrs.forEach((v, i) => { a.li(t0, v).csrw(CSR.pmpaddr0 + i, t0); });
    a.li(t0, cfg0).csrw(CSR.pmpcfg0, t0);
  };
}

/** Set up PMP in M, then run `code` at privilege `priv`; PMP allow-all is NOT preset. */
function pmpRun(priv: number, setup: (a: Asm) => void, code: (a: Asm) => void): Sim {
  return runProgram((a) => {
    setup(a);
    if (priv !== PRV_M) a.enter(priv, 'low');
    a.label('low');
    code(a);
  }, { pmpAllowAll: false });
}

function expectAccessFault(sim: Sim, cause: number, tval: bigint, from: number): void {
  expect(sim.stop).toBe('mtrap');
  expect(sim.lastTrap).toMatchObject({ cause, tval, from, to: PRV_M });
}

describe('address matching (§3.7.1)', () => {
  // Entry 0 protects one 4 KiB page at DATA, entry 1 grants S/U the rest of RAM.
  const napotPage = (perm: number): (a: Asm) => void =>
    pmpSetup([napot(DATA, 4096), RAM_ALL], cfg(PMP_NAPOT | perm, PMP_NAPOT | PMP_R | PMP_W | PMP_X));

  it('NAPOT: S-mode load allowed by R, store denied without W (cause 7, tval = address)', () => {
    const ok = pmpRun(PRV_S, napotPage(PMP_R), (a) => { a.li(t0, DATA).ld(a0, 0, t0); });
    expect(ok.stop).toBe('done');
    const bad = pmpRun(PRV_S, napotPage(PMP_R), (a) => { a.li(t0, DATA + 0x10).sd(a0, 0, t0); });
    expectAccessFault(bad, STORE_AF, BigInt(DATA + 0x10), PRV_S);
  });

  it('NAPOT: load denied without R (cause 5), fetch denied without X (cause 1, mepc = mtval = target)', () => {
    const ld = pmpRun(PRV_U, napotPage(PMP_X), (a) => { a.li(t0, DATA + 8).lw(a0, 0, t0); });
    expectAccessFault(ld, LOAD_AF, BigInt(DATA + 8), PRV_U);
    const fx = pmpRun(PRV_S, napotPage(PMP_R | PMP_W), (a) => { a.li(t0, DATA + 0x40).jalr(zero, t0, 0); });
    expectAccessFault(fx, FETCH_AF, BigInt(DATA + 0x40), PRV_S);
    expect(fx.csr(CSR.mepc)).toBe(BigInt(DATA + 0x40));
  });

  it('NAPOT: the region ends exactly at base + size', () => {
    // 4 KiB region RW at DATA, nothing else for DATA+0x1000 (entry 1 covers only the code)
    const setup = pmpSetup([napot(DATA, 4096), napot(RAM_BASE, 0x10_0000)], cfg(PMP_NAPOT | PMP_R | PMP_W, PMP_NAPOT | PMP_R | PMP_W | PMP_X));
    const last = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 0xff8).ld(a0, 0, t0); });
    expect(last.stop).toBe('done');
    const past = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 0x1000).ld(a0, 0, t0); });
    expectAccessFault(past, LOAD_AF, BigInt(DATA + 0x1000), PRV_S);
  });

  it('TOR: entry i covers [pmpaddr(i-1), pmpaddr(i)); entry 0 starts at address 0', () => {
    // entry 0: TOR [0, DATA) RWX (covers the code); entry 1: TOR [DATA, DATA+0x1000) R
    const setup = pmpSetup([BigInt(DATA) >> 2n, BigInt(DATA + 0x1000) >> 2n], cfg(PMP_TOR | PMP_R | PMP_W | PMP_X, PMP_TOR | PMP_R));
    const inRange = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA).ld(a0, 0, t0).li(t0, DATA + 0xff8).ld(a0, 0, t0); });
    expect(inRange.stop).toBe('done');
    const store = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA).sb(a0, 0, t0); });
    expectAccessFault(store, STORE_AF, BigInt(DATA), PRV_S);
    const above = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 0x1000).lb(a0, 0, t0); });
    expectAccessFault(above, LOAD_AF, BigInt(DATA + 0x1000), PRV_S);
  });

  it('TOR with pmpaddr(i-1) >= pmpaddr(i) matches nothing', () => {
    // entry 0: the code (RWX); entry 2: TOR [DATA+0x1000, DATA) with R -- an empty range, so an
    // S-mode load from DATA matches no entry and fails.
    const setup = pmpSetup([napot(RAM_BASE, 0x10_0000), BigInt(DATA + 0x1000) >> 2n, BigInt(DATA) >> 2n],
      cfg(PMP_NAPOT | PMP_R | PMP_W | PMP_X, 0, PMP_TOR | PMP_R));
    const s = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA).ld(a0, 0, t0); });
    expectAccessFault(s, LOAD_AF, BigInt(DATA), PRV_S);
  });

  it('NA4: exactly four bytes', () => {
    const setup = pmpSetup([napot(RAM_BASE, 0x10_0000), BigInt(DATA + 8) >> 2n], cfg(PMP_NAPOT | PMP_R | PMP_W | PMP_X, PMP_NA4 | PMP_R));
    const w = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 8).lw(a0, 0, t0).lh(a0, 2, t0).lbu(a0, 3, t0); });
    expect(w.stop).toBe('done');
    const next = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 12).lw(a0, 0, t0); });
    expectAccessFault(next, LOAD_AF, BigInt(DATA + 12), PRV_S);
    const before = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 4).lw(a0, 0, t0); });
    expectAccessFault(before, LOAD_AF, BigInt(DATA + 4), PRV_S);
  });

  it('the lowest-numbered matching entry decides, even if a later one would allow', () => {
    const setup = pmpSetup([napot(DATA, 4096), RAM_ALL], cfg(PMP_NAPOT | PMP_R, PMP_NAPOT | PMP_R | PMP_W | PMP_X));
    const sim = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA).sd(a0, 0, t0); });
    expectAccessFault(sim, STORE_AF, BigInt(DATA), PRV_S);
  });

  it('an access that only partly matches the highest-priority entry fails (S-mode)', () => {
    // NA4 at DATA+12 R; an 8-byte load at DATA+8 covers it only partially; entry 1 would allow.
    const setup = pmpSetup([BigInt(DATA + 12) >> 2n, RAM_ALL], cfg(PMP_NA4 | PMP_R, PMP_NAPOT | PMP_R | PMP_W | PMP_X));
    const sim = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA + 8).ld(a0, 0, t0); });
    expectAccessFault(sim, LOAD_AF, BigInt(DATA + 8), PRV_S);
  });

  it('an access that only partly matches an entry fails in M-mode too, irrespective of L/R/W/X', () => {
    // "The matching PMP entry must match all bytes of an access, or the access fails,
    //  irrespective of the L, R, W, and X bits." (§3.7.1) -- entry unlocked, M-mode.
    const setup = pmpSetup([BigInt(DATA + 12) >> 2n], cfg(PMP_NA4 | PMP_R | PMP_W | PMP_X));
    const sim = pmpRun(PRV_M, setup, (a) => { a.li(t0, DATA + 8).ld(a0, 0, t0); });
    expectAccessFault(sim, LOAD_AF, BigInt(DATA + 8), PRV_M);
  });
});

describe('privilege rules (§3.7.1)', () => {
  it('S/U accesses that match no entry fail when some entry is active', () => {
    const setup = pmpSetup([napot(RAM_BASE, 0x10_0000)], cfg(PMP_NAPOT | PMP_R | PMP_W | PMP_X));
    const s = pmpRun(PRV_S, setup, (a) => { a.li(t0, DATA).ld(a0, 0, t0); });
    expectAccessFault(s, LOAD_AF, BigInt(DATA), PRV_S);
    const u = pmpRun(PRV_U, setup, (a) => { a.li(t0, DATA).sd(a0, 0, t0); });
    expectAccessFault(u, STORE_AF, BigInt(DATA), PRV_U);
  });

  it('S/U accesses fail when PMP entries are implemented but none is active (all OFF)', () => {
    // "If no PMP entry matches an S-mode or U-mode access, but at least one PMP entry is
    //  implemented, the access fails." The instruction fetch of the first S instruction fails.
    const sim = pmpRun(PRV_S, () => {}, (a) => { a.li(a0, 1); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: FETCH_AF, from: PRV_S, tval: BigInt(sim.addr('low')) });
  });

  it('M-mode accesses that match no entry succeed', () => {
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA + 0x1000, 4096)], cfg(PMP_NAPOT)), (a) => {
      a.li(t0, DATA).sd(t0, 0, t0).ld(a0, 0, t0);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(BigInt(DATA));
  });

  it('M-mode ignores the permissions of an unlocked matching entry', () => {
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT)), (a) => {
      a.li(t0, DATA).sd(t0, 0, t0).ld(a0, 0, t0);
    });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('a locked entry applies to M-mode: load 5, store 7, fetch 1', () => {
    const ro = pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_L | PMP_R));
    const ld = pmpRun(PRV_M, ro, (a) => { a.li(t0, DATA).ld(a0, 0, t0); });
    expect(ld.stop).toBe('done');
    const st = pmpRun(PRV_M, ro, (a) => { a.li(t0, DATA + 0x20).sw(a0, 0, t0); });
    expectAccessFault(st, STORE_AF, BigInt(DATA + 0x20), PRV_M);
    const wo = pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_L));
    const ld2 = pmpRun(PRV_M, wo, (a) => { a.li(t0, DATA).ld(a0, 0, t0); });
    expectAccessFault(ld2, LOAD_AF, BigInt(DATA), PRV_M);
    const fx = pmpRun(PRV_M, ro, (a) => { a.li(t0, DATA).jalr(zero, t0, 0); });
    expectAccessFault(fx, FETCH_AF, BigInt(DATA), PRV_M);
  });

  it('MPRV = 1 with MPP = S makes M-mode loads subject to S-mode PMP checks', () => {
    // entry 0: DATA page execute-only (no R), unlocked: M may read it, S may not.
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_X)), (a) => {
      a.li(t0, DATA).ld(a0, 0, t0); // M-mode: allowed
      a.li(t1, MS.MPP).csrc(CSR.mstatus, t1);
      a.li(t1, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t1);
      a.label('i').ld(a0, 8, t0); // effective privilege S: denied
    });
    expectAccessFault(sim, LOAD_AF, BigInt(DATA + 8), PRV_M);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('i')));
  });

  it('changing PMP takes effect for the next access (no stale cached permission)', () => {
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_R)), (a) => {
      a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
      a.li(t0, DATA).ld(a0, 0, t0).ld(a0, 8, t0); // allowed, may be cached
      a.li(t1, PMP_NAPOT).csrw(CSR.pmpcfg0, t1); // remove R
      a.label('i').ld(a1, 16, t0);
    });
    expectAccessFault(sim, LOAD_AF, BigInt(DATA + 16), PRV_M);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('i')));
  });
});

describe('locking (§3.7.1)', () => {
  it('writes to a locked entry\'s pmpcfg and pmpaddr are ignored', () => {
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_L | PMP_R)), (a) => {
      a.li(t0, 0x1234).csrw(CSR.pmpaddr0, t0);
      a.csrw(CSR.pmpcfg0, zero);
      a.csrr(a0, CSR.pmpaddr0);
      a.csrr(a1, CSR.pmpcfg0);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(napot(DATA, 4096));
    expect(sim.x(a1) & 0xffn).toBe(BigInt(PMP_NAPOT | PMP_L | PMP_R));
  });

  it('a locked TOR entry also locks pmpaddr of the entry below it', () => {
    const sim = pmpRun(PRV_M, pmpSetup([BigInt(DATA) >> 2n, BigInt(DATA + 0x1000) >> 2n], cfg(0, PMP_TOR | PMP_L | PMP_R)), (a) => {
      a.li(t0, 0x1234).csrw(CSR.pmpaddr0, t0);
      a.csrr(a0, CSR.pmpaddr0);
    });
    expect(sim.x(a0)).toBe(BigInt(DATA) >> 2n);
  });

  it('other entries stay writable', () => {
    const sim = pmpRun(PRV_M, pmpSetup([napot(DATA, 4096)], cfg(PMP_NAPOT | PMP_L | PMP_R)), (a) => {
      a.li(t0, 0x1234).csrw(CSR.pmpaddr0 + 1, t0);
      a.li(t0, cfg(0, PMP_NA4 | PMP_R)).csrs(CSR.pmpcfg0, t0);
      a.csrr(a0, CSR.pmpaddr0 + 1);
      a.csrr(a1, CSR.pmpcfg0);
    });
    expect(sim.x(a0)).toBe(0x1234n);
    expect((sim.x(a1) >> 8n) & 0xffn).toBe(BigInt(PMP_NA4 | PMP_R));
  });
});

describe('PMP and address translation (§3.7.2)', () => {
  /** S-mode program with paging; PMP entries are set by `pmp` (pmpAllowAll off). */
  function paged(code: (a: Asm) => void): { sim: Sim; pt: PageTable } {
    const sim = new Sim((a) => { a.enter(PRV_S, 'low').label('low'); code(a); }, { pmpAllowAll: false });
    const pt = new PageTable(sim, 'sv39');
    pt.mapCode(RWX);
    pt.map(0x4000_0000, DATA, RW);
    pt.install();
    return { sim, pt };
  }
  function setPmp(sim: Sim, addrs: bigint[], cfg0: bigint): void {
    addrs.forEach((v, i) => sim.h.csrSet(CSR.pmpaddr0 + i, v, 'firmware'));
    sim.h.csrSet(CSR.pmpcfg0, cfg0, 'firmware');
  }

  it('page-table walk accesses are checked with S-mode PMP rules: load -> access fault 5 with tval = va', () => {
    const { sim, pt } = paged((a) => { a.li(t0, 0x4000_0000).ld(a0, 0, t0); });
    // entry 0: the leaf table of the data mapping, no permissions; then DATA, code, the pool.
    const leafPte = pt.pteAddr(0x4000_0000);
    const leafTable = leafPte - (leafPte % 4096);
    setPmp(sim, [napot(leafTable, 4096), napot(DATA, 4096), napot(RAM_BASE, 0x10_0000), napot(PT_POOL, 0x10_0000)],
      cfg(PMP_NAPOT, PMP_NAPOT | PMP_R | PMP_W, PMP_NAPOT | PMP_R | PMP_W | PMP_X, PMP_NAPOT | PMP_R | PMP_W));
    sim.run();
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: LOAD_AF, tval: 0x4000_0000n, from: PRV_S });
  });

  it('a page-table walk for a store denied by PMP -> store access fault 7', () => {
    const { sim, pt } = paged((a) => { a.li(t0, 0x4000_0010).sd(a0, 0, t0); });
    const leafPte = pt.pteAddr(0x4000_0000);
    const leafTable = leafPte - (leafPte % 4096);
    setPmp(sim, [napot(leafTable, 4096), napot(DATA, 4096), napot(RAM_BASE, 0x10_0000), napot(PT_POOL, 0x10_0000)],
      cfg(PMP_NAPOT, PMP_NAPOT | PMP_R | PMP_W, PMP_NAPOT | PMP_R | PMP_W | PMP_X, PMP_NAPOT | PMP_R | PMP_W));
    sim.run();
    expect(sim.lastTrap).toMatchObject({ cause: STORE_AF, tval: 0x4000_0010n, from: PRV_S });
  });

  it('PMP checks the physical address of a translated access: store -> 7 with tval = va', () => {
    const { sim } = paged((a) => { a.li(t0, 0x4000_0008).sd(a0, 0, t0); });
    setPmp(sim, [napot(PT_POOL, 0x10_0000), napot(DATA, 4096), napot(RAM_BASE, 0x10_0000)],
      cfg(PMP_NAPOT | PMP_R | PMP_W, PMP_NAPOT | PMP_R, PMP_NAPOT | PMP_R | PMP_W | PMP_X));
    sim.run();
    expect(sim.lastTrap).toMatchObject({ cause: STORE_AF, tval: 0x4000_0008n, from: PRV_S });
  });

  it('with PMP allowing it, the same translated access succeeds', () => {
    const sim = new Sim((a) => { a.enter(PRV_S, 'low').label('low'); a.li(t0, 0x4000_0008).sd(t1, 0, t0); }, { regs: { [t1]: MAGIC } });
    const pt = new PageTable(sim, 'sv39');
    pt.mapCode(RWX);
    pt.map(0x4000_0000, DATA, RW);
    pt.install();
    expect(sim.run()).toBe('done');
    expect(sim.read64(DATA + 8)).toBe(MAGIC);
  });
});

