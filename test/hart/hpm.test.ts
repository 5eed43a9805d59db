/**
 * Zicntr/Zihpm: the 16 programmable counters (mhpmcounter3..18, QEMU 7.2's pmu-num), their
 * event selectors, mcountinhibit (CY, IR, HPM bits) and the counter-enable gating of the
 * hpmcounterN views in S/U/VS/VU (priv spec §3.1.10-3.1.12, §4.1.5, §8.2.6, §8.6.1).
 *
 * Events (src/hart/constants.ts): 1 (QEMU's HW_CPU_CYCLES) counts as mcycle does (instructions
 * attempted: virtual time), 2 (HW_INSTRUCTIONS) as minstret does; every other value counts nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  Sim, runProgram, runGuest, a0, a1, a2, a3, a4, a5, s1, s2, s3, t0, zero, CSR, MSKIP, PRV_S, PRV_U, type Asm,
} from './harness.js';
import { hpmSaveState, hpmRestoreState } from '../../src/hart/csr.js';

const mhpmcounter = (n: number): number => 0xb00 + n;
const mhpmevent = (n: number): number => 0x320 + n;
const hpmcounter = (n: number): number => 0xc00 + n;
const ILLEGAL = 2, VIRTUAL = 22;
const M64 = (1n << 64n) - 1n;

describe('mhpmcounter3..31 and mhpmevent3..31 (§3.1.10)', () => {
  it('mhpmcounter3..18 hold what is written (event 0 counts nothing); 19..31 are read-only zero', () => {
    const sim = runProgram((a) => {
      a.li(t0, -1);
      for (let n = 3; n < 32; n++) a.csrw(mhpmcounter(n), t0).csrw(mhpmevent(n), t0);
    });
    expect(sim.traps).toEqual([]);
    for (let n = 3; n < 32; n++) {
      expect(sim.csr(mhpmcounter(n)), `mhpmcounter${n}`).toBe(n <= 18 ? M64 : 0n);
      expect(sim.csr(mhpmevent(n)), `mhpmevent${n}`).toBe(n <= 18 ? M64 : 0n);
      expect(sim.csr(hpmcounter(n)), `hpmcounter${n}`).toBe(n <= 18 ? M64 : 0n);
    }
  });

  it('OpenSBI\'s probe: write 1 and swap back finds 16 counters; ~0 reads back 64 bits', () => {
    const sim = runProgram((a) => {
      for (let n = 3; n < 32; n++) a.li(t0, 1).csrrw(a0, mhpmcounter(n), t0).csrrw(t0, mhpmcounter(n), a0).add(s1, s1, t0);
    });
    expect(sim.x(s1)).toBe(16n);
  });

  it('event 2 counts retired instructions as minstret does, event 1 steps as mcycle does (a trapped ecall counts as a cycle only)', () => {
    const sim = runProgram((a) => {
      a.li(t0, MSKIP).csrw(CSR.mtvec, t0);
      a.li(t0, 2).csrw(mhpmevent(3), t0).li(t0, 1).csrw(mhpmevent(18), t0);
      a.csrw(mhpmcounter(3), zero).csrw(mhpmcounter(18), zero);
      a.csrr(a0, mhpmcounter(3)).csrr(a1, mhpmcounter(18)).csrr(s2, CSR.minstret).csrr(s3, CSR.mcycle);
      a.nop().nop().ecall().nop();
      a.csrr(a2, mhpmcounter(3)).csrr(a3, mhpmcounter(18)).csrr(a4, CSR.minstret).csrr(a5, CSR.mcycle);
    });
    // a counter written with V reads V at the next instruction (the csrw itself is not counted):
    // counter 3 counted the csrw of counter 18, counter 18 the csrr a0
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(1n);
    expect(sim.x(a2) - sim.x(a0)).toBe(sim.x(a4) - sim.x(s2));
    expect(sim.x(a3) - sim.x(a1)).toBe(sim.x(a5) - sim.x(s3));
    // the ecall trapped (not retired) and the mskip handler ran: cycles - instructions = 1
    const insns = sim.x(a2) - sim.x(a0), cycles = sim.x(a3) - sim.x(a1);
    expect(cycles - insns).toBe(1n);
  });

  it('an event change takes effect after the writing instruction; other events count nothing', () => {
    const sim = runProgram((a) => {
      a.li(t0, 2).csrw(mhpmevent(5), t0).csrw(mhpmcounter(5), zero);
      a.nop().nop(); // counter 5 = 2
      a.li(t0, 0x10019).csrw(mhpmevent(5), t0); // QEMU's DTLB_READ_MISS: counts nothing here
      a.csrr(a0, mhpmcounter(5)).nop().nop().csrr(a1, mhpmcounter(5));
    });
    // the 2 nops, the li (lui + addiw) and the csrw that switched the event
    expect(sim.x(a0)).toBe(5n);
    expect(sim.x(a1)).toBe(5n);
  });
});

describe('mcountinhibit (§3.1.13)', () => {
  it('CY, IR and HPM3..18 are writable; TM and HPM19..31 read zero', () => {
    const sim = runProgram((a) => { a.li(t0, -1).csrw(CSR.mcountinhibit, t0).csrr(a0, CSR.mcountinhibit); });
    expect(sim.x(a0)).toBe(0x7fffdn);
  });

  it('inhibited mcycle/minstret/mhpmcounter stop; they resume from where they stopped', () => {
    const sim = runProgram((a) => {
      a.li(t0, 2).csrw(mhpmevent(4), t0);
      a.li(t0, 0x15).csrw(CSR.mcountinhibit, t0); // CY, IR, HPM4
      a.csrr(a0, CSR.minstret).csrr(a1, CSR.mcycle).csrr(a2, mhpmcounter(4));
      a.nop().nop();
      a.csrr(a3, CSR.minstret).csrr(a4, CSR.mcycle).csrr(a5, mhpmcounter(4));
      a.csrw(CSR.mcountinhibit, zero);
      a.csrr(s1, CSR.minstret).nop().csrr(s2, CSR.minstret).csrr(s3, mhpmcounter(4));
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a3)).toBe(sim.x(a0));
    expect(sim.x(a4)).toBe(sim.x(a1));
    expect(sim.x(a5)).toBe(sim.x(a2));
    // the uninhibiting csrw is not counted; the csrr s1 and the nop are
    expect(sim.x(s1)).toBe(sim.x(a0));
    expect(sim.x(s2) - sim.x(s1)).toBe(2n);
    expect(sim.x(s3) - sim.x(a2)).toBe(3n);
  });

  it('a counter written while inhibited holds the written value', () => {
    const sim = runProgram((a) => {
      a.li(t0, 0x1d).csrw(CSR.mcountinhibit, t0); // CY, IR, HPM3, HPM4
      a.li(t0, 2).csrw(mhpmevent(3), t0);
      a.li(t0, 1000).csrw(CSR.minstret, t0).csrw(CSR.mcycle, t0).csrw(mhpmcounter(3), t0);
      a.nop().nop();
      a.csrr(a0, CSR.minstret).csrr(a1, CSR.mcycle).csrr(a2, mhpmcounter(3)).csrr(a3, CSR.instret).csrr(a4, CSR.cycle);
    });
    for (const r of [a0, a1, a2, a3, a4]) expect(sim.x(r)).toBe(1000n);
  });
});

describe('hpmcounterN gating: mcounteren, scounteren, hcounteren (§3.1.11, §4.1.5, §8.2.6, §8.6.1)', () => {
  const setup = (m: number, h: number, s: number, evt: boolean) => (a: Asm): void => {
    a.li(t0, m).csrw(CSR.mcounteren, t0).li(t0, h).csrw(CSR.hcounteren, t0).li(t0, s).csrw(CSR.scounteren, t0);
    if (evt) a.li(t0, 1234).csrw(mhpmcounter(17), t0);
  };
  const run = (priv: number, virt: boolean, m: number, h: number, s: number): Sim => {
    const code = (a: Asm): void => { a.label('bad').csrr(a0, hpmcounter(17)).ecall(); };
    if (virt) return runGuest(code, { vs: 'bare', g: 'bare', priv, setup: setup(m, h, s, true) }).sim;
    return runProgram((a) => { setup(m, h, s, true)(a); a.enter(priv, 'low'); a.label('low'); code(a); });
  };
  const b = 1 << 17;
  it.each([
    // mode, V, mcounteren, hcounteren, scounteren, expected mcause (8/9/10 = the ecall after a successful read)
    ['S', false, 0, b, b, ILLEGAL], ['S', false, b, 0, 0, 9],
    ['U', false, b, b, 0, ILLEGAL], ['U', false, 0, b, b, ILLEGAL], ['U', false, b, 0, b, 8],
    ['VS', true, 0, b, b, ILLEGAL], ['VS', true, b, 0, b, VIRTUAL], ['VS', true, b, b, 0, 10],
    ['VU', true, 0, b, b, ILLEGAL], ['VU', true, b, 0, b, VIRTUAL], ['VU', true, b, b, 0, VIRTUAL], ['VU', true, b, b, b, 8],
  ] as [string, boolean, number, number, number, number][])('hpmcounter17 in %s (V=%s) mcounteren=%i hcounteren=%i scounteren=%i -> mcause %i', (mode, virt, m, h, s, cause) => {
    const sim = run(mode.endsWith('S') ? PRV_S : PRV_U, virt, m, h, s);
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
    if (cause >= 8 && cause <= 10) expect(sim.x(a0)).toBe(1234n);
    else expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
  });

  it('mhpmcounterN and mhpmeventN are M-level CSRs: illegal from HS and from VS (never virtual)', () => {
    const hs = runProgram((a) => { a.enter(PRV_S, 'low'); a.label('low').csrr(a0, mhpmcounter(3)); });
    expect(hs.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
    const vs = runGuest((a) => { a.csrr(a0, mhpmevent(3)); }, { vs: 'bare', g: 'bare' }).sim;
    expect(vs.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
  });
});

describe('HPM state in snapshots', () => {
  it('hpmSaveState/hpmRestoreState carry events, counters and frozen mcycle/minstret', () => {
    const body = (a: Asm): void => {
      a.li(t0, 2).csrw(mhpmevent(3), t0).li(t0, 77).csrw(mhpmcounter(3), t0);
      a.li(t0, 5).csrw(CSR.mcountinhibit, t0).li(t0, 500).csrw(CSR.minstret, t0);
    };
    const src = runProgram(body);
    const hs = src.h.saveState();
    const hpm = hpmSaveState(src.h);
    expect(hpm).toBeDefined();
    const dst = new Sim(() => {});
    dst.h.restoreState(hs);
    hpmRestoreState(dst.h, hpm);
    for (const c of [mhpmevent(3), mhpmcounter(3), CSR.minstret, CSR.mcycle, CSR.mcountinhibit]) {
      expect(dst.csr(c), `csr 0x${c.toString(16)}`).toBe(src.csr(c));
    }
    hpmRestoreState(dst.h, undefined);
    expect(dst.csr(mhpmevent(3))).toBe(0n);
  });

  it('machine snapshots (checkpoints, digests) carry it, and only once a hart has HPM state', () => {
    const untouched = runProgram((a) => { a.nop(); });
    expect(untouched.m.saveState().hpm).toBeUndefined();
    const src = runProgram((a) => {
      a.li(t0, 1).csrw(mhpmevent(7), t0).li(t0, 4).csrw(CSR.mcountinhibit, t0).li(t0, 9).csrw(mhpmcounter(7), t0);
    });
    const snap = src.m.saveState();
    expect(snap.hpm?.length).toBe(1);
    const dst = new Sim(() => {});
    dst.m.restoreState(snap);
    for (const c of [mhpmevent(7), mhpmcounter(7), CSR.minstret, CSR.mcycle, CSR.mcountinhibit]) {
      expect(dst.csr(c), `csr 0x${c.toString(16)}`).toBe(src.csr(c));
    }
    // restoring a snapshot without HPM state resets it
    dst.m.restoreState(untouched.m.saveState());
    expect(dst.csr(mhpmevent(7))).toBe(0n);
  });
});
