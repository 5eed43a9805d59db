/**
 * Hypervisor extension: privilege transitions (mret/sret with MPV/SPV), trap entry into M, HS
 * and VS (§8.6.4), virtual-instruction exceptions (§8.6.1), FS with V=1 (§8.2.11), VS-level
 * interrupts and their delegation/priority (§8.2.2-8.2.3), htimedelta and vstimecmp (Sstc).
 * Expected values come from the privileged spec 1.12 chapter 8.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/sched/scheduler.js';
import {
  Asm, Sim, PageTable, runProgram, runGuest, makeGuest, RWX, PTE_U, a0, a1, a2, a3, s1, t0, t1, t2, zero, CSR, MS, MSH, HS, IRQ, VIRQ, INT,
  PRV_M, PRV_S, PRV_U, RAM_BASE, DATA, TEST_DEV, VSTRAP, VSSKIP, encCsr, MRET, type GuestOpts,
} from './harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const VIRTUAL = 22, ILLEGAL = 2;
const VS_BITS = bit(VIRQ.VSSI) | bit(VIRQ.VSTI) | bit(VIRQ.VSEI);
const STCE = 1n << 63n;

/** Guest with both translation stages Bare (GVA = GPA = HPA): for tests not about translation. */
function bare(code: (a: Asm) => void, o: GuestOpts = {}): Sim {
  return runGuest(code, { vs: 'bare', g: 'bare', ...o }).sim;
}
/** Run `code` in U-mode with V=0. */
function inU(setup: (a: Asm) => void, code: (a: Asm) => void): Sim {
  return runProgram((a) => { setup(a); a.enter(PRV_U, 'low'); a.label('low'); code(a); });
}
/** Run `code` in HS-mode. */
function inHS(setup: (a: Asm) => void, code: (a: Asm) => void): Sim {
  return runProgram((a) => { setup(a); a.enter(PRV_S, 'low'); a.label('low'); code(a); });
}
const mpp = (sim: Sim): bigint => (sim.csr(CSR.mstatus) & MS.MPP) >> 11n;

// =============================================================================================
describe('mret and MPV (§8.4.1, §8.6.4 Table 8.8)', () => {
  it.each([
    ['VS', PRV_S, 1n], ['VU', PRV_U, 1n], ['HS', PRV_S, 0n], ['U', PRV_U, 0n],
  ])('mret with MPP/MPV for %s: V and priv follow, then MPV = 0 and MPP = U', (_n, priv, mpv) => {
    const sim = new Sim((a) => {
      if (mpv) a.li(t0, MSH.MPV).csrs(CSR.mstatus, t0);
      a.enter(priv, 'tgt');
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.stop).toBe('stop');
    expect(sim.h.virt).toBe(mpv === 1n);
    expect(sim.priv).toBe(priv);
    expect(sim.csr(CSR.mstatus) & MSH.MPV).toBe(0n);
    expect(mpp(sim)).toBe(0n);
  });

  it('mret with MPP = M ignores MPV: V stays 0, and MPV is cleared', () => {
    const sim = new Sim((a) => {
      a.li(t0, MSH.MPV | MS.MPP).csrs(CSR.mstatus, t0);
      a.la(t0, 'tgt').csrw(CSR.mepc, t0).mret();
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.h.virt).toBe(false);
    expect(sim.priv).toBe(PRV_M);
    expect(sim.csr(CSR.mstatus) & MSH.MPV).toBe(0n);
  });

  it('mret into VS: MIE <- MPIE and MPIE <- 1 as usual', () => {
    const sim = new Sim((a) => {
      a.li(t0, MS.MPIE).csrs(CSR.mstatus, t0);
      a.enterV(PRV_S, 'tgt');
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.csr(CSR.mstatus) & (MS.MIE | MS.MPIE)).toBe(MS.MIE | MS.MPIE);
  });
});

// =============================================================================================
describe('traps into M from V=1 (§8.6.4 Table 8.7)', () => {
  it('ecall from VS: cause 10, MPV = 1, MPP = S, GVA = 0, V = 0, mtval = 0, mtval2 = mtinst = 0', () => {
    const sim = bare((a) => { a.label('ec').ecall(); }, { setup: (a) => { a.li(t0, 0x55).csrw(CSR.mtval2, t0); } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('ec')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
    expect(sim.csr(CSR.mtval2)).toBe(0n);
    expect(sim.csr(CSR.mtinst)).toBe(0n);
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MSH.MPV).toBe(MSH.MPV);
    expect(ms & MSH.GVA).toBe(0n);
    expect(mpp(sim)).toBe(1n);
    expect(sim.h.virt).toBe(false);
    expect(sim.priv).toBe(PRV_M);
  });

  it('ecall from VU: cause 8, MPV = 1, MPP = U', () => {
    const sim = bare((a) => { a.ecall(); }, { priv: PRV_U });
    expect(sim.csr(CSR.mcause)).toBe(8n);
    expect(sim.csr(CSR.mstatus) & MSH.MPV).toBe(MSH.MPV);
    expect(mpp(sim)).toBe(0n);
  });

  it('ecall from HS: cause 9, MPV = 0; from U: cause 8, MPV = 0', () => {
    const s = inHS((a) => { a.li(t0, MSH.MPV).csrs(CSR.mstatus, t0).li(t0, MSH.MPV).csrc(CSR.mstatus, t0); }, (a) => { a.ecall(); });
    expect(s.csr(CSR.mcause)).toBe(9n);
    expect(s.csr(CSR.mstatus) & MSH.MPV).toBe(0n);
    const u = inU(() => {}, (a) => { a.ecall(); });
    expect(u.csr(CSR.mcause)).toBe(8n);
    expect(u.csr(CSR.mstatus) & MSH.MPV).toBe(0n);
  });

  it('an illegal instruction in VS: cause 2, mtval = instruction bits, GVA = 0', () => {
    const sim = bare((a) => { a.label('bad').word(0xfe000033); });
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mtval)).toBe(0xfe000033n);
    expect(sim.csr(CSR.mstatus) & (MSH.GVA | MSH.MPV)).toBe(MSH.MPV);
  });

  it('mret after a trap from VS returns to VS at mepc (round trip through M)', () => {
    const sim = bare((a) => {
      a.li(a0, 1).ecall();
      a.addi(a0, a0, 1).ecall();
    }, { setup: (a) => { a.la(t0, 'mh').csrw(CSR.mtvec, t0); }, tail: (a) => {
      a.align(4).label('mh');
      a.csrr(t1, CSR.mstatus).srli(t1, t1, 39).andi(t1, t1, 1).add(s1, s1, t1); // count MPV = 1
      a.csrr(t1, CSR.mepc).addi(t1, t1, 4).csrw(CSR.mepc, t1);
      a.li(t1, 2).beq(a0, t1, 'out').mret();
      a.label('out').j('done');
    } });
    expect(sim.stop).toBe('done');
    expect(sim.x(s1)).toBe(2n);
    expect(sim.x(a0)).toBe(2n);
  });
});

// =============================================================================================
describe('traps into HS from V=1 (§8.6.4 Table 8.9, §8.2.1 SPV/SPVP/GVA)', () => {
  const delegEcallVS = (a: Asm): void => { a.li(t0, bit(10) | bit(8) | bit(2)).csrw(CSR.medeleg, t0); };

  it('ecall from VS delegated by medeleg: scause 10, SPV = 1, SPVP = 1, SPP = S, GVA = 0, V = 0', () => {
    const sim = bare((a) => { a.label('ec').ecall(); }, { setup: (a) => {
      delegEcallVS(a);
      a.li(t0, HS.SPVP | HS.GVA).csrc(CSR.hstatus, t0);
      a.li(t0, 0x99).csrw(CSR.htval, t0).csrw(CSR.htinst, t0);
    } });
    expect(sim.stop).toBe('strap');
    expect(sim.h.virt).toBe(false);
    expect(sim.priv).toBe(PRV_S);
    expect(sim.csr(CSR.scause)).toBe(10n);
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('ec')));
    expect(sim.csr(CSR.stval)).toBe(0n);
    expect(sim.csr(CSR.htval)).toBe(0n);
    expect(sim.csr(CSR.htinst)).toBe(0n);
    const hs = sim.csr(CSR.hstatus);
    expect(hs & (HS.SPV | HS.SPVP | HS.GVA)).toBe(HS.SPV | HS.SPVP);
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(MS.SPP);
    expect(sim.lastTrap).toMatchObject({ cause: 10, to: PRV_S });
  });

  it('ecall from VU: scause 8, SPV = 1, SPVP = 0, SPP = U', () => {
    const sim = bare((a) => { a.ecall(); }, { priv: PRV_U, setup: (a) => {
      delegEcallVS(a);
      a.li(t0, HS.SPVP).csrs(CSR.hstatus, t0);
      a.li(t0, MS.SPP).csrs(CSR.mstatus, t0);
    } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(8n);
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP)).toBe(HS.SPV);
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(0n);
  });

  it('a trap from U (V=0) into HS: SPV = 0 and SPVP left unchanged', () => {
    for (const spvp of [0n, HS.SPVP]) {
      const sim = inU((a) => {
        a.li(t0, bit(8)).csrw(CSR.medeleg, t0);
        a.li(t0, HS.SPVP | HS.SPV).csrc(CSR.hstatus, t0);
        a.li(t0, spvp | HS.SPV).csrs(CSR.hstatus, t0);
      }, (a) => { a.ecall(); });
      expect(sim.stop).toBe('strap');
      expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP)).toBe(spvp);
    }
  });

  it('a trap from HS into HS: SPV = 0, SPP = S, SPVP unchanged', () => {
    const sim = inHS((a) => {
      a.li(t0, bit(2)).csrw(CSR.medeleg, t0);
      a.li(t0, HS.SPV | HS.SPVP).csrs(CSR.hstatus, t0);
    }, (a) => { a.word(0xfe000033); });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP)).toBe(HS.SPVP);
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(MS.SPP);
  });

  it('trap into HS from VS: SPIE <- HS SIE, SIE <- 0 in the HS sstatus; vsstatus untouched', () => {
    const sim = bare((a) => { a.ecall(); }, { setup: (a) => {
      delegEcallVS(a);
      a.li(t0, MS.SIE).csrs(CSR.mstatus, t0);
      a.li(t0, MS.SPIE).csrc(CSR.mstatus, t0);
      a.li(t0, MS.SIE | MS.SPP).csrw(CSR.vsstatus, t0);
    } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.mstatus) & (MS.SIE | MS.SPIE)).toBe(MS.SPIE);
    expect(sim.csr(CSR.vsstatus) & (MS.SIE | MS.SPIE | MS.SPP)).toBe(MS.SIE | MS.SPP);
  });

  const sretToVS = (a: Asm): void => {
    a.enter(PRV_S, 'hs');
    a.label('hs');
    a.li(t0, HS.SPV | HS.SPVP).csrs(CSR.hstatus, t0);
    a.li(t0, MS.SPP | MS.SPIE).csrs(CSR.sstatus, t0);
    a.li(t0, MS.SIE).csrc(CSR.sstatus, t0);
    a.la(t0, 'tgt').csrw(CSR.sepc, t0).sret();
    a.label('tgt').ecall();
  };

  it('sret in HS with SPV = 1, SPP = S enters VS at sepc; SPV, SPP cleared; SIE <- SPIE; SPVP unchanged', () => {
    const sim = new Sim(sretToVS);
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.stop).toBe('stop');
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_S);
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP)).toBe(HS.SPVP);
    // the ecall at tgt is from VS (cause 10); M then sees the HS sstatus fields sret left
    sim.run();
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.csr(CSR.mstatus) & (MS.SPP | MS.SIE | MS.SPIE)).toBe(MS.SIE | MS.SPIE);
  });

  it('debug view: h.csrGet(mstatus) while V = 1 shows the HS-level SIE/SPIE/SPP, not vsstatus', () => {
    // mstatus is a superset of the HS-level sstatus, not of vsstatus (§8.4.1): its architectural
    // value does not change when V changes. (csrGet is how tests, traces and debuggers inspect it.)
    const sim = new Sim((a) => { a.li(t0, MS.SPIE | MS.SIE).csrw(CSR.vsstatus, t0); sretToVS(a); });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.h.virt).toBe(true);
    expect(sim.csr(CSR.mstatus) & (MS.SPP | MS.SIE | MS.SPIE)).toBe(MS.SIE | MS.SPIE);
    expect(sim.csr(CSR.vsstatus) & (MS.SPP | MS.SIE | MS.SPIE)).toBe(MS.SIE | MS.SPIE);
    sim.h.csrSet(CSR.vsstatus, 0n, 'hypervisor');
    expect(sim.csr(CSR.vsstatus) & (MS.SIE | MS.SPIE)).toBe(0n);
    expect(sim.csr(CSR.mstatus) & (MS.SIE | MS.SPIE)).toBe(MS.SIE | MS.SPIE);
  });

  it('GVA = 0, SPV = 0 and htval = 0 for a page fault from U (V = 0) delegated to HS', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(13)).csrw(CSR.medeleg, t0);
      a.li(t0, HS.GVA | HS.SPV).csrs(CSR.hstatus, t0);
      a.li(t0, 0x99).csrw(CSR.htval, t0);
      a.enter(PRV_U, 'low');
      a.label('low').li(t0, 0x4000_0000).ld(a0, 0, t0);
    });
    const pt = new PageTable(sim, 'sv39', RAM_BASE + 0x28_0000);
    for (let k = 0; k < 16; k++) pt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, k >= 2 ? RWX | PTE_U : RWX);
    pt.install();
    sim.run();
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(13n);
    expect(sim.csr(CSR.stval)).toBe(0x4000_0000n);
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV)).toBe(0n);
    expect(sim.csr(CSR.htval)).toBe(0n);
  });

  it('interrupt from VS into HS: SPV = 1, SPVP = 1, GVA = 0, htval = htinst = 0', () => {
    const sim = bare((a) => { a.nop().nop(); }, { setup: (a) => {
      a.li(t0, 0x99).csrw(CSR.htval, t0).csrw(CSR.htinst, t0);
      a.li(t0, HS.GVA).csrs(CSR.hstatus, t0);
      a.li(t0, bit(VIRQ.VSSI)).csrw(CSR.hie, t0).csrw(CSR.hvip, t0); // not delegated by hideleg: HS
    } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(INT | 2n);
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP | HS.GVA)).toBe(HS.SPV | HS.SPVP);
    expect(sim.csr(CSR.htval)).toBe(0n);
    expect(sim.csr(CSR.htinst)).toBe(0n);
  });

  it('interrupt from VU into M: MPV = 1, MPP = U, GVA = 0, mtval2 = mtinst = 0', () => {
    const { sim } = makeGuest((a) => { a.nop().nop(); }, { vs: 'bare', g: 'bare', priv: PRV_U, setup: (a) => {
      a.li(t0, 0x99).csrw(CSR.mtval2, t0).csrw(CSR.mtinst, t0);
      a.li(t0, MSH.GVA).csrs(CSR.mstatus, t0);
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
    } });
    sim.h.setIrqLine(IRQ.MSI, true);
    sim.run();
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(INT | 3n);
    expect(sim.csr(CSR.mstatus) & (MSH.MPV | MSH.GVA | MS.MPP)).toBe(MSH.MPV);
    expect(sim.csr(CSR.mtval2)).toBe(0n);
    expect(sim.csr(CSR.mtinst)).toBe(0n);
  });

  it('sret executed in M-mode (V = 0) also uses hstatus.SPV: SPV = 1, SPP = S enters VS', () => {
    const sim = new Sim((a) => {
      a.li(t0, HS.SPV).csrs(CSR.hstatus, t0);
      a.li(t0, MS.SPP).csrs(CSR.mstatus, t0);
      a.la(t0, 'tgt').csrw(CSR.sepc, t0).sret();
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_S);
    expect(sim.csr(CSR.hstatus) & HS.SPV).toBe(0n);
  });

  it('sret in HS with SPV = 1, SPP = U enters VU', () => {
    const sim = new Sim((a) => {
      a.enter(PRV_S, 'hs');
      a.label('hs');
      a.li(t0, HS.SPV).csrs(CSR.hstatus, t0);
      a.li(t0, MS.SPP).csrc(CSR.sstatus, t0);
      a.la(t0, 'tgt').csrw(CSR.sepc, t0).sret();
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_U);
  });

  it('sret in HS with SPV = 0 stays at V = 0 (returns to U)', () => {
    const sim = new Sim((a) => {
      a.enter(PRV_S, 'hs');
      a.label('hs');
      a.li(t0, HS.SPV).csrc(CSR.hstatus, t0);
      a.li(t0, MS.SPP).csrc(CSR.sstatus, t0);
      a.la(t0, 'tgt').csrw(CSR.sepc, t0).sret();
      a.label('tgt').nop();
    });
    sim.run({ extraStops: [sim.addr('tgt')] });
    expect(sim.h.virt).toBe(false);
    expect(sim.priv).toBe(PRV_U);
  });

  it('HS handler round trip: trap from VS to HS, sskip + sret returns to VS (SPV = 1)', () => {
    const sim = bare((a) => { a.li(a0, 0).ecall().addi(a0, a0, 1).ecall(); }, { setup: (a) => {
      a.li(t0, bit(10)).csrw(CSR.medeleg, t0);
      a.li(t0, RAM_BASE + 0x1100).csrw(CSR.stvec, t0); // sskip: sepc += 4; sret
    } });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(1n);
    expect(sim.h.virt).toBe(true);
    expect(sim.traps.map((t) => t.cause)).toEqual([10, 10]);
  });
});

// =============================================================================================
describe('S CSRs without a VS copy keep their accessibility with V = 1 (§8.2)', () => {
  it('senvcfg is read/write from VS (no virtual-instruction exception)', () => {
    const sim = bare((a) => { a.csrr(a0, CSR.senvcfg).csrwi(CSR.senvcfg, 1).ecall(); }, { setup: (a) => { a.csrw(CSR.senvcfg, zero); } });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(0n);
    expect(sim.csr(CSR.senvcfg) & 1n).toBe(1n);
  });
});

describe('traps into VS (§8.6.4: hedeleg; Table 8.10)', () => {
  it('a delegated ecall from VU goes to VS: vscause 8, vsepc, vstval 0, vsstatus SPP=U, SPIE<-SIE, SIE<-0', () => {
    const { sim } = runGuest((a) => { a.label('ec').ecall(); }, {
      vs: 'bare', g: 'bare', priv: PRV_U,
      tail: (a) => { a.align(4).label('vh').ecall(); }, // VS handler: ecall to M (cause 10)
      setup: (a) => {
        a.la(t0, 'vh').csrw(CSR.vstvec, t0);
        a.li(t0, bit(8)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
        a.li(t0, MS.SIE | MS.SPP).csrw(CSR.vsstatus, t0);
        a.li(t0, HS.SPV | HS.SPVP | HS.GVA).csrc(CSR.hstatus, t0);
        a.li(t0, 0x77).csrw(CSR.scause, t0).csrw(CSR.sepc, t0);
        a.li(t0, MS.SIE | MS.SPP).csrs(CSR.mstatus, t0); // HS sstatus bits that must stay put
        a.li(t0, MS.SPIE).csrc(CSR.mstatus, t0);
      },
    });
    expect(sim.traps.map((t) => t.cause)).toEqual([8, 10]); // VU -> VS, then the VS handler's ecall -> M
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('vh')));
    expect(sim.csr(CSR.mstatus) & MSH.MPV).toBe(MSH.MPV);
    expect(mpp(sim)).toBe(1n); // the handler ran in VS
    expect(sim.csr(CSR.vscause)).toBe(8n);
    expect(sim.csr(CSR.vsepc)).toBe(BigInt(sim.addr('ec')));
    expect(sim.csr(CSR.vstval)).toBe(0n);
    expect(sim.csr(CSR.vsstatus) & (MS.SPP | MS.SPIE | MS.SIE)).toBe(MS.SPIE);
    // hstatus and the HS-level sstatus are not modified
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP | HS.GVA)).toBe(0n);
    expect(sim.csr(CSR.mstatus) & (MS.SIE | MS.SPP | MS.SPIE)).toBe(MS.SIE | MS.SPP);
    expect(sim.csr(CSR.scause)).toBe(0x77n);
    expect(sim.csr(CSR.sepc)).toBe(0x76n);
    expect(sim.traps[0]).toMatchObject({ cause: 8, epc: BigInt(sim.addr('ec')), pc: BigInt(sim.addr('vh')) });
  });

  it('a delegated illegal instruction in VS goes to VS: vscause 2, vstval = bits, SPP = S', () => {
    const { sim } = runGuest((a) => { a.label('bad').word(0xfe000033); }, {
      vs: 'bare', g: 'bare',
      setup: (a) => { a.li(t0, bit(2)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0); },
    });
    expect(sim.stop).toBe('vstrap');
    expect(sim.csr(CSR.vscause)).toBe(2n);
    expect(sim.csr(CSR.vstval)).toBe(0xfe000033n);
    expect(sim.csr(CSR.vsstatus) & MS.SPP).toBe(MS.SPP);
  });

  it('hedeleg alone is not enough: without the medeleg bit the trap goes to M', () => {
    const sim = bare((a) => { a.word(0xfe000033); }, { setup: (a) => { a.li(t0, bit(2)).csrw(CSR.hedeleg, t0); } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
  });

  it('hedeleg does not apply to traps from V=0: an illegal instruction in HS stays in HS', () => {
    const sim = inHS((a) => {
      a.li(t0, bit(2)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
      a.li(t0, VSTRAP).csrw(CSR.vstvec, t0);
    }, (a) => { a.word(0xfe000033); });
    expect(sim.stop).toBe('strap');
    expect(sim.h.virt).toBe(false);
  });

  it('vstvec vectored mode: exceptions go to BASE', () => {
    const { sim } = runGuest((a) => { a.ecall(); }, {
      vs: 'bare', g: 'bare', priv: PRV_U,
      setup: (a) => {
        a.li(t0, bit(8)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
        a.li(t0, BigInt(VSTRAP) | 1n).csrw(CSR.vstvec, t0);
      },
    });
    expect(sim.stop).toBe('vstrap');
  });

  it('sret in VS returns to VU through vsstatus/vsepc; V stays 1; hstatus and HS sstatus untouched', () => {
    const { sim } = makeGuest((a) => {
      a.li(t0, MS.SPP | MS.SIE).csrc(CSR.sstatus, t0); // = vsstatus
      a.li(t0, MS.SPIE).csrs(CSR.sstatus, t0);
      a.la(t0, 'u').csrw(CSR.sepc, t0).sret();
      a.label('u').ecall();
    }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        a.li(t0, MS.SPP).csrs(CSR.mstatus, t0);
        a.li(t0, HS.SPV | HS.SPVP).csrs(CSR.hstatus, t0);
      },
    });
    sim.run({ extraStops: [sim.addr('u')] });
    expect(sim.stop).toBe('stop');
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_U);
    expect(sim.csr(CSR.vsstatus) & (MS.SPP | MS.SIE | MS.SPIE)).toBe(MS.SIE | MS.SPIE);
    expect(sim.csr(CSR.hstatus) & (HS.SPV | HS.SPVP)).toBe(HS.SPV | HS.SPVP);
    sim.run(); // ecall from VU -> M: check the HS-level sstatus with V = 0
    expect(sim.csr(CSR.mcause)).toBe(8n);
    expect(sim.csr(CSR.mstatus) & (MS.SPP | MSH.MPV)).toBe(MS.SPP | MSH.MPV);
  });

  it('a VS handler round trip: VU ecall -> VS (vsskip) -> sret back to VU', () => {
    const sim = bare((a) => { a.li(a0, 0).ecall().addi(a0, a0, 5).ecall(); }, {
      priv: PRV_U,
      setup: (a) => {
        a.li(t0, bit(8)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
        a.li(t0, VSSKIP).csrw(CSR.vstvec, t0);
      },
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(5n);
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_U);
  });
});

// =============================================================================================
describe('virtual-instruction exceptions (§8.6.1)', () => {
  /** Run `code` in VS (or VU) and expect a trap to M with `cause` and mtval = the instruction word. */
  function expectTrap(code: (a: Asm) => void, cause: number, o: GuestOpts = {}): Sim {
    const sim = bare((a) => { a.label('bad'); code(a); }, o);
    expect(sim.stop, `stop (traps ${JSON.stringify(sim.traps.map((t) => t.cause))})`).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
    expect(sim.csr(CSR.mstatus) & MSH.MPV).toBe(MSH.MPV);
    const b = sim.asm.assemble();
    const off = sim.addr('bad') - RAM_BASE;
    const word = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
    expect(sim.csr(CSR.mtval), 'mtval = instruction bits').toBe(BigInt(word));
    return sim;
  }
  const vu: GuestOpts = { priv: PRV_U };

  it.each([
    ['hfence.vvma', (a: Asm) => { a.hfence_vvma(); }],
    ['hfence.gvma', (a: Asm) => { a.hfence_gvma(t1, zero); }],
    ['hlv.d', (a: Asm) => { a.hlv_d(a0, t1); }],
    ['hlvx.wu', (a: Asm) => { a.hlvx_wu(a0, t1); }],
    ['hsv.w', (a: Asm) => { a.hsv_w(a0, t1); }],
  ])('%s in VS and VU -> virtual instruction (mtval = instruction bits)', (_n, insn) => {
    for (const o of [{ setup: (a: Asm) => { a.li(t1, DATA); } }, { ...vu, setup: (a: Asm) => { a.li(t1, DATA); } }]) {
      expectTrap(insn, VIRTUAL, o);
    }
  });

  it.each([
    ['hfence.vvma', (a: Asm) => { a.hfence_vvma(); }],
    ['hfence.gvma', (a: Asm) => { a.hfence_gvma(); }],
    ['hlv.d', (a: Asm) => { a.hlv_d(a0, t1); }],
    ['hsv.d', (a: Asm) => { a.hsv_d(a0, t1); }],
  ])('%s in U-mode (V=0) with hstatus.HU = 0 -> illegal instruction', (_n, insn) => {
    const sim = inU((a) => { a.li(t1, DATA); }, (a) => { insn(a); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
  });

  it('hfence.vvma / hfence.gvma in U-mode are illegal even with hstatus.HU = 1', () => {
    for (const insn of [(a: Asm) => a.hfence_vvma(), (a: Asm) => a.hfence_gvma()]) {
      const sim = inU((a) => { a.li(t0, HS.HU).csrs(CSR.hstatus, t0); }, (a) => { insn(a); });
      expect(sim.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
    }
  });

  it.each([
    ['hstatus', CSR.hstatus], ['hedeleg', CSR.hedeleg], ['hgatp', CSR.hgatp], ['htimedelta', CSR.htimedelta],
    ['hgeip (read)', CSR.hgeip], ['vsstatus', CSR.vsstatus], ['vsatp', CSR.vsatp], ['vsscratch', CSR.vsscratch],
  ])('reading %s from VS -> virtual instruction (the access is allowed in HS)', (_n, csr) => {
    expectTrap((a) => { a.csrr(a0, csr); }, VIRTUAL);
  });

  it('writing hstatus or vsstatus from VS and VU -> virtual instruction', () => {
    expectTrap((a) => { a.csrw(CSR.hstatus, zero); }, VIRTUAL);
    expectTrap((a) => { a.csrw(CSR.vsstatus, zero); }, VIRTUAL, vu);
  });

  it('writing hgeip (read-only CSR) from VS -> illegal instruction (not allowed in HS either)', () => {
    expectTrap((a) => { a.csrw(CSR.hgeip, zero); }, ILLEGAL);
  });

  it('M-level CSRs from VS or VU -> illegal instruction', () => {
    expectTrap((a) => { a.csrr(a0, CSR.mstatus); }, ILLEGAL);
    expectTrap((a) => { a.csrw(CSR.mscratch, zero); }, ILLEGAL);
    expectTrap((a) => { a.csrr(a0, CSR.mtinst); }, ILLEGAL, vu);
  });

  it('an unimplemented CSR number from VS -> illegal instruction', () => {
    expectTrap((a) => { a.csrr(a0, 0x5c0); }, ILLEGAL);
  });

  it('S-level CSRs from VU -> virtual instruction (HS-qualified), from U (V=0) -> illegal', () => {
    expectTrap((a) => { a.csrr(a0, CSR.sstatus); }, VIRTUAL, vu);
    expectTrap((a) => { a.csrw(CSR.sscratch, zero); }, VIRTUAL, vu);
    expectTrap((a) => { a.csrr(a0, CSR.satp); }, VIRTUAL, vu);
    const u = inU(() => {}, (a) => { a.csrr(a0, CSR.sstatus); });
    expect(u.csr(CSR.mcause)).toBe(2n);
  });

  it('H and VS CSRs from VU -> virtual instruction', () => {
    expectTrap((a) => { a.csrr(a0, CSR.hstatus); }, VIRTUAL, vu);
    expectTrap((a) => { a.csrr(a0, CSR.vsepc); }, VIRTUAL, vu);
  });

  it('sret in VS with hstatus.VTSR = 1 -> virtual instruction; mstatus.TSR = 1 alone does not trap in VS', () => {
    expectTrap((a) => { a.sret(); }, VIRTUAL, { setup: (a) => { a.li(t0, HS.VTSR).csrs(CSR.hstatus, t0); } });
    const ok = bare((a) => { a.la(t0, 'x').csrw(CSR.sepc, t0).sret().label('x').ecall(); }, {
      setup: (a) => {
        a.li(t0, MS.TSR).csrs(CSR.mstatus, t0);
        a.li(t0, MS.SPP).csrw(CSR.vsstatus, t0);
      },
    });
    expect(ok.csr(CSR.mcause)).toBe(10n); // sret returned to VS (vsstatus.SPP = S), ecall from VS
  });

  it('sret in VU -> virtual instruction', () => {
    expectTrap((a) => { a.sret(); }, VIRTUAL, vu);
  });

  it('mret in VS -> illegal instruction (not HS-qualified)', () => {
    const sim = expectTrap((a) => { a.mret(); }, ILLEGAL);
    expect(sim.csr(CSR.mtval)).toBe(BigInt(MRET));
  });

  it('wfi in VS: VTW = 1, TW = 0 -> virtual instruction; TW = 1 -> illegal; VTW = TW = 0 -> executes', () => {
    expectTrap((a) => { a.wfi(); }, VIRTUAL, { setup: (a) => { a.li(t0, HS.VTW).csrs(CSR.hstatus, t0); } });
    expectTrap((a) => { a.wfi(); }, ILLEGAL, { setup: (a) => { a.li(t0, HS.VTW).csrs(CSR.hstatus, t0).li(t0, MS.TW).csrs(CSR.mstatus, t0); } });
    expectTrap((a) => { a.wfi(); }, ILLEGAL, { setup: (a) => { a.li(t0, MS.TW).csrs(CSR.mstatus, t0); } });
    const ok = bare((a) => { a.wfi(); });
    expect(ok.traps).toEqual([]);
    expect(ok.stop).toBe('wfi');
  });

  it('wfi in VU: TW = 0 -> virtual instruction; TW = 1 -> illegal', () => {
    expectTrap((a) => { a.wfi(); }, VIRTUAL, vu);
    expectTrap((a) => { a.wfi(); }, ILLEGAL, { ...vu, setup: (a) => { a.li(t0, MS.TW).csrs(CSR.mstatus, t0); } });
  });

  it('sfence.vma and satp in VS with VTVM = 1 -> virtual instruction; mstatus.TVM alone does not trap in VS', () => {
    const vtvm: GuestOpts = { setup: (a) => { a.li(t0, HS.VTVM).csrs(CSR.hstatus, t0); } };
    expectTrap((a) => { a.sfence_vma(); }, VIRTUAL, vtvm);
    expectTrap((a) => { a.csrr(a0, CSR.satp); }, VIRTUAL, vtvm);
    expectTrap((a) => { a.csrw(CSR.satp, zero); }, VIRTUAL, vtvm);
    const ok = bare((a) => { a.sfence_vma().csrr(a0, CSR.satp).csrw(CSR.satp, zero).ecall(); }, {
      setup: (a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); },
    });
    expect(ok.csr(CSR.mcause)).toBe(10n);
  });

  it('sfence.vma in VU -> virtual instruction', () => {
    expectTrap((a) => { a.sfence_vma(); }, VIRTUAL, vu);
  });

  it('hfence.vvma in HS ignores TVM; hfence.gvma in HS with TVM = 1 -> illegal, in M with TVM = 1 legal', () => {
    const v = inHS((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); }, (a) => { a.hfence_vvma().ecall(); });
    expect(v.csr(CSR.mcause)).toBe(9n);
    const gBad = inHS((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); }, (a) => { a.hfence_gvma(); });
    expect(gBad.csr(CSR.mcause)).toBe(2n);
    const gOk = inHS(() => {}, (a) => { a.hfence_gvma().ecall(); });
    expect(gOk.csr(CSR.mcause)).toBe(9n);
    const mOk = runProgram((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0).hfence_gvma().hfence_vvma(); });
    expect(mOk.traps).toEqual([]);
  });

  describe('counters (§8.2.6: hcounteren)', () => {
    const cnt = (m: number, h: number, s: number): GuestOpts['setup'] => (a) => {
      a.li(t0, m).csrw(CSR.mcounteren, t0).li(t0, h).csrw(CSR.hcounteren, t0).li(t0, s).csrw(CSR.scounteren, t0);
    };
    it.each([['cycle', CSR.cycle, 0], ['time', CSR.time, 1], ['instret', CSR.instret, 2]])('%s in VS', (_n, csr, b) => {
      const m1 = 1 << b;
      expectTrap((a) => { a.csrr(a0, csr); }, VIRTUAL, { setup: cnt(m1, 0, m1) });
      expectTrap((a) => { a.csrr(a0, csr); }, ILLEGAL, { setup: cnt(0, m1, m1) });
      const ok = bare((a) => { a.csrr(a0, csr).ecall(); }, { setup: cnt(m1, m1, 0) }); // scounteren irrelevant in VS
      expect(ok.csr(CSR.mcause)).toBe(10n);
    });

    it('time in VU needs mcounteren, hcounteren and scounteren', () => {
      expectTrap((a) => { a.csrr(a0, CSR.time); }, VIRTUAL, { ...vu, setup: cnt(2, 0, 2) });
      expectTrap((a) => { a.csrr(a0, CSR.time); }, VIRTUAL, { ...vu, setup: cnt(2, 2, 0) });
      expectTrap((a) => { a.csrr(a0, CSR.time); }, ILLEGAL, { ...vu, setup: cnt(0, 2, 2) });
      const ok = bare((a) => { a.csrr(a0, CSR.time).ecall(); }, { ...vu, setup: cnt(2, 2, 2) });
      expect(ok.csr(CSR.mcause)).toBe(8n);
    });
  });

  it('FS: vsstatus.FS = Off or sstatus.FS = Off -> illegal instruction (never virtual) in VS', () => {
    const fsOnlyHs: GuestOpts = { setup: (a) => { a.li(t0, MS.FS_INITIAL).csrs(CSR.mstatus, t0).csrw(CSR.vsstatus, zero); } };
    expectTrap((a) => { a.fmv_d_x(1, zero); }, ILLEGAL, fsOnlyHs);
    const fsOnlyVs: GuestOpts = { setup: (a) => { a.li(t0, MS.FS).csrc(CSR.mstatus, t0).li(t0, MS.FS_INITIAL).csrw(CSR.vsstatus, t0); } };
    expectTrap((a) => { a.fmv_d_x(1, zero); }, ILLEGAL, fsOnlyVs);
    expectTrap((a) => { a.csrr(a0, CSR.fcsr); }, ILLEGAL, fsOnlyVs);
  });

  it('FS: modifying FP state with V = 1 sets both vsstatus.FS and sstatus.FS to Dirty', () => {
    const sim = bare((a) => { a.fmv_d_x(1, zero).ecall(); }, {
      setup: (a) => {
        a.li(t0, MS.FS).csrc(CSR.mstatus, t0).li(t0, MS.FS_INITIAL).csrs(CSR.mstatus, t0);
        a.li(t0, MS.FS_INITIAL).csrw(CSR.vsstatus, t0);
      },
    });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.csr(CSR.vsstatus) & MS.FS).toBe(MS.FS_DIRTY);
    expect(sim.csr(CSR.mstatus) & MS.FS).toBe(MS.FS_DIRTY);
  });

  it('a virtual-instruction trap delegated to HS: scause 22, stval = instruction bits, GVA = 0, SPV = 1', () => {
    const sim = bare((a) => { a.label('bad').csrr(a0, CSR.hstatus); }, { setup: (a) => { a.li(t0, bit(22)).csrw(CSR.medeleg, t0); } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(22n);
    expect(sim.csr(CSR.stval)).toBe(BigInt(encCsr(2, a0, CSR.hstatus, 0)));
    expect(sim.csr(CSR.hstatus) & (HS.GVA | HS.SPV)).toBe(HS.SPV);
    expect(sim.csr(CSR.htval)).toBe(0n);
  });

  it('cause 22 cannot be delegated to VS (hedeleg bit 22 is read-only 0)', () => {
    const sim = bare((a) => { a.csrr(a0, CSR.hstatus); }, { setup: (a) => {
      a.li(t0, bit(22)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
    } });
    expect(sim.stop).toBe('strap');
  });
});

// =============================================================================================
describe('VS-level interrupts (§8.2.2-8.2.3, §8.6.4)', () => {
  /** Guest with interrupt setup in M; the guest spins in `spin` until something happens. */
  function irq(o: GuestOpts & { before?: (sim: Sim) => void } = {}, body?: (a: Asm) => void): Sim {
    const { sim } = makeGuest(body ?? ((a) => { a.label('spin').nop().nop().nop(); }), { vs: 'bare', g: 'bare', maxSteps: 2000, ...o });
    o.before?.(sim);
    sim.run({ maxSteps: o.maxSteps ?? 2000 });
    return sim;
  }
  const deleg = (hideleg: bigint, hvip: bigint, hie: bigint, vsstatus: bigint): GuestOpts['setup'] => (a) => {
    a.li(t0, hideleg).csrw(CSR.hideleg, t0);
    a.li(t0, hie).csrw(CSR.hie, t0);
    a.li(t0, vsstatus).csrw(CSR.vsstatus, t0);
    a.li(t0, hvip).csrw(CSR.hvip, t0);
  };

  it.each([
    ['VSSIP', VIRQ.VSSI, 1], ['VSTIP', VIRQ.VSTI, 5], ['VSEIP', VIRQ.VSEI, 9],
  ])('hvip.%s delegated by hideleg is taken in VS (SIE = 1) with vscause = interrupt | %i', (_n, b, code) => {
    const sim = irq({ setup: deleg(bit(b), bit(b), bit(b), MS.SIE) });
    expect(sim.stop).toBe('vstrap');
    expect(sim.h.virt).toBe(true);
    expect(sim.priv).toBe(PRV_S);
    expect(sim.csr(CSR.vscause)).toBe(INT | BigInt(code));
    expect(sim.csr(CSR.vstval)).toBe(0n);
    expect(sim.csr(CSR.vsstatus) & (MS.SIE | MS.SPIE | MS.SPP)).toBe(MS.SPIE | MS.SPP);
    expect(sim.lastTrap).toMatchObject({ interrupt: true });
  });

  it('a delegated VS interrupt is not taken in VS with vsstatus.SIE = 0', () => {
    const sim = irq({ setup: deleg(VS_BITS, VS_BITS, VS_BITS, 0n) }, (a) => { a.nop().nop().nop().nop(); });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('a delegated VS interrupt is taken in VU regardless of vsstatus.SIE', () => {
    const sim = irq({ priv: PRV_U, setup: deleg(bit(VIRQ.VSTI), bit(VIRQ.VSTI), bit(VIRQ.VSTI), 0n) });
    expect(sim.stop).toBe('vstrap');
    expect(sim.csr(CSR.vscause)).toBe(INT | 5n);
    expect(sim.csr(CSR.vsstatus) & MS.SPP).toBe(0n);
  });

  it('enabling vsstatus.SIE takes the pending interrupt before the next instruction; vectored vstvec: BASE + 4 * 9', () => {
    const base = VSTRAP - 4 * 9; // the interrupt lands on the vstrap stub
    const { sim } = makeGuest((a) => {
      a.li(t0, MS.SIE).csrs(CSR.sstatus, t0).label('next').nop().nop();
    }, { vs: 'bare', g: 'bare', setup: (a) => {
      deleg(bit(VIRQ.VSEI), bit(VIRQ.VSEI), bit(VIRQ.VSEI), 0n)!(a);
      a.li(t0, BigInt(base) | 1n).csrw(CSR.vstvec, t0);
    } });
    sim.run({ maxSteps: 1000 });
    expect(sim.stop).toBe('vstrap');
    expect(sim.lastTrap).toMatchObject({ interrupt: true, epc: BigInt(sim.addr('next')), pc: BigInt(base + 36) });
    expect(sim.csr(CSR.vsepc)).toBe(BigInt(sim.addr('next')));
    expect(sim.csr(CSR.vscause)).toBe(INT | 9n);
  });

  it('a VS interrupt not delegated by hideleg goes to HS with cause 2/6/10 while V = 1, whatever the HS SIE', () => {
    for (const b of [VIRQ.VSSI, VIRQ.VSTI, VIRQ.VSEI]) {
      const sim = irq({ setup: (a) => {
        deleg(0n, bit(b), bit(b), MS.SIE)!(a);
        a.li(t0, MS.SIE).csrc(CSR.mstatus, t0);
      } });
      expect(sim.stop, `bit ${b}`).toBe('strap');
      expect(sim.csr(CSR.scause)).toBe(INT | BigInt(b));
      expect(sim.csr(CSR.hstatus) & HS.SPV).toBe(HS.SPV);
      expect(sim.h.virt).toBe(false);
    }
  });

  it('in HS, a pending VS-level interrupt not delegated by hideleg is taken only with sstatus.SIE = 1', () => {
    const off = inHS((a) => { a.li(t0, bit(VIRQ.VSSI)).csrw(CSR.hie, t0).csrw(CSR.hvip, t0); }, (a) => { a.nop().nop(); });
    expect(off.stop).toBe('done');
    const on = inHS((a) => { a.li(t0, bit(VIRQ.VSSI)).csrw(CSR.hie, t0).csrw(CSR.hvip, t0); }, (a) => { a.csrsi(CSR.sstatus, 2).nop().nop(); });
    expect(on.stop).toBe('strap');
    expect(on.csr(CSR.scause)).toBe(INT | 2n);
  });

  it('an interrupt delegated to VS is never taken while V = 0 (HS with SIE = 1, or M)', () => {
    const sim = inHS((a) => {
      a.li(t0, VS_BITS).csrw(CSR.hideleg, t0).csrw(CSR.hie, t0).csrw(CSR.hvip, t0);
      a.li(t0, MS.SIE).csrw(CSR.vsstatus, t0);
    }, (a) => { a.csrsi(CSR.sstatus, 2).nop().nop().nop(); });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('...and is taken as soon as the hart enters VS', () => {
    const sim = runProgram((a) => {
      a.li(t0, bit(VIRQ.VSSI)).csrw(CSR.hideleg, t0).csrw(CSR.hie, t0).csrw(CSR.hvip, t0);
      a.li(t0, MS.SIE).csrw(CSR.vsstatus, t0);
      a.li(t0, VSTRAP).csrw(CSR.vstvec, t0);
      a.csrw(CSR.hgatp, zero).csrw(CSR.vsatp, zero);
      a.enterV(PRV_S, 'g');
      a.label('g').nop();
    });
    expect(sim.stop).toBe('vstrap');
    expect(sim.csr(CSR.vscause)).toBe(INT | 1n);
    expect(sim.csr(CSR.vsepc)).toBe(BigInt(sim.addr('g')));
  });

  it('in VS, a pending HS interrupt (S-level, delegated by mideleg) is taken before a VS interrupt', () => {
    const sim = irq({ setup: (a) => {
      deleg(VS_BITS, VS_BITS, VS_BITS, MS.SIE)!(a);
      a.li(t0, bit(IRQ.SSI)).csrs(CSR.mideleg, t0).csrs(CSR.mie, t0).csrs(CSR.mip, t0);
    } });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(INT | 1n);
  });

  it('in VS, a pending M interrupt is taken first (V = 1 is below M: MIE irrelevant)', () => {
    const sim = irq({ setup: (a) => {
      deleg(VS_BITS, VS_BITS, VS_BITS, MS.SIE)!(a);
      a.li(t0, bit(IRQ.SSI)).csrs(CSR.mideleg, t0).csrs(CSR.mie, t0).csrs(CSR.mip, t0);
      a.li(t0, bit(IRQ.MSI)).csrs(CSR.mie, t0);
    }, before: (s) => { s.h.setIrqLine(IRQ.MSI, true); } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(INT | 3n);
  });

  it('VS-destined priority: SEI > SSI > STI (as translated 9, 1, 5)', () => {
    const order: bigint[] = [];
    const { sim } = makeGuest((a) => { a.label('spin').nop().j('spin'); }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        deleg(VS_BITS, VS_BITS, VS_BITS, MS.SIE)!(a);
        a.la(t0, 'vh').csrw(CSR.vstvec, t0);
      },
      tail: (a) => {
        // VS handler: record vscause in memory, clear the bit via hvip's alias (vsip.SSIP only) or vsie
        a.align(4).label('vh');
        a.csrr(t1, CSR.scause); // vscause
        a.li(t2, DATA).add(t2, t2, s1).sd(t1, 0, t2).addi(s1, s1, 8);
        a.andi(t1, t1, 0xff).li(t2, 1).sll(t1, t2, t1).csrc(CSR.sie, t1); // disable that one in vsie
        a.li(t2, 24).beq(s1, t2, 'done').sret();
      },
    });
    sim.run({ maxSteps: 5000 });
    for (let i = 0; i < 3; i++) order.push(sim.read64(DATA + 8 * i));
    expect(order).toEqual([INT | 9n, INT | 1n, INT | 5n]);
  });

  it('HS-destined priority among VS-level interrupts: VSEI > VSSI > VSTI (10, 2, 6)', () => {
    const { sim } = makeGuest((a) => { a.label('spin').nop().j('spin'); }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        deleg(0n, VS_BITS, VS_BITS, 0n)!(a);
        a.la(t0, 'hh').csrw(CSR.stvec, t0);
      },
      tail: (a) => {
        a.align(4).label('hh');
        a.csrr(t1, CSR.scause);
        a.li(t2, DATA).add(t2, t2, s1).sd(t1, 0, t2).addi(s1, s1, 8);
        a.andi(t1, t1, 0xff).li(t2, 1).sll(t1, t2, t1).csrc(CSR.hie, t1);
        a.li(t2, 24).beq(s1, t2, 'done').sret();
      },
    });
    sim.run({ maxSteps: 5000 });
    expect([0, 1, 2].map((i) => sim.read64(DATA + 8 * i))).toEqual([INT | 10n, INT | 2n, INT | 6n]);
  });

  it('in VS, sip/sie read vsip/vsie; clearing SSIP through sip clears hvip.VSSIP', () => {
    const sim = bare((a) => {
      a.csrr(a0, CSR.sip).csrr(a1, CSR.sie);
      a.li(t0, bit(IRQ.SSI)).csrc(CSR.sip, t0);
      a.csrr(a2, CSR.sip);
      a.ecall();
    }, { setup: deleg(VS_BITS, bit(VIRQ.VSSI) | bit(VIRQ.VSEI), VS_BITS, 0n) });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(bit(IRQ.SSI) | bit(IRQ.SEI));
    expect(sim.x(a1)).toBe(bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI));
    expect(sim.x(a2)).toBe(bit(IRQ.SEI));
    expect(sim.csr(CSR.hvip)).toBe(bit(VIRQ.VSEI));
  });

  it('WFI in VS (VTW = 0) completes when a delegated VS interrupt is pending and enabled, even with SIE = 0', () => {
    const sim = bare((a) => { a.wfi().nop(); }, { setup: deleg(bit(VIRQ.VSTI), bit(VIRQ.VSTI), bit(VIRQ.VSTI), 0n) });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
  });
});

// =============================================================================================
describe('time in V = 1: htimedelta (§8.2.7) and vstimecmp (Sstc)', () => {
  const enableTime = (a: Asm): void => {
    a.li(t0, 2).csrw(CSR.mcounteren, t0).csrw(CSR.hcounteren, t0).csrw(CSR.scounteren, t0);
  };

  it.each([
    ['a large positive delta', 1_000_000_000_000n],
    ['a negative delta (wraps mod 2^64)', (1n << 64n) - 1000n],
  ])('time read in VS = time + htimedelta: %s', (_n, delta) => {
    const sim = bare((a) => { a.csrr(a1, CSR.time).ecall(); }, { setup: (a) => {
      enableTime(a);
      a.li(t0, delta).csrw(CSR.htimedelta, t0);
      a.csrr(a0, CSR.time);
    } });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    const diff = BigInt.asUintN(64, sim.x(a1) - sim.x(a0) - delta);
    expect(diff).toBeLessThan(10n); // a handful of instructions at 100 instructions per tick
  });

  it('time read in VU also includes htimedelta; time in HS and M does not', () => {
    const delta = 1n << 40n;
    const sim = bare((a) => { a.csrr(a1, CSR.time).ecall(); }, { priv: PRV_U, setup: (a) => {
      enableTime(a);
      a.li(t0, delta).csrw(CSR.htimedelta, t0);
      a.csrr(a0, CSR.time);
    } });
    expect(BigInt.asUintN(64, sim.x(a1) - sim.x(a0) - delta)).toBeLessThan(10n);
    const hs = inHS((a) => { enableTime(a); a.li(t0, delta).csrw(CSR.htimedelta, t0).csrr(a0, CSR.time); }, (a) => { a.csrr(a1, CSR.time); });
    expect(hs.x(a1) - hs.x(a0)).toBeLessThan(10n);
  });

  const sstc = (a: Asm, henvcfgStce = true): void => {
    a.li(t0, STCE).csrs(CSR.menvcfg, t0);
    if (henvcfgStce) a.li(t0, STCE).csrs(CSR.henvcfg, t0);
    enableTime(a);
  };

  it('hip.VSTIP = hvip.VSTIP | (time + htimedelta >= vstimecmp) with menvcfg.STCE = henvcfg.STCE = 1', () => {
    const sim = runProgram((a) => {
      sstc(a);
      a.csrw(CSR.hvip, zero);
      a.li(t0, -1).csrw(CSR.vstimecmp, t0).csrr(a0, CSR.hip);
      a.csrw(CSR.vstimecmp, zero).csrr(a1, CSR.hip);
      // vstimecmp in the future of time but not of time + htimedelta
      a.csrr(t1, CSR.time).li(t0, 1_000_000).add(t1, t1, t0).csrw(CSR.vstimecmp, t1).csrr(a2, CSR.hip);
      a.li(t0, 2_000_000).csrw(CSR.htimedelta, t0).csrr(a3, CSR.hip);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0) & bit(VIRQ.VSTI)).toBe(0n);
    expect(sim.x(a1) & bit(VIRQ.VSTI)).toBe(bit(VIRQ.VSTI));
    expect(sim.x(a2) & bit(VIRQ.VSTI)).toBe(0n);
    expect(sim.x(a3) & bit(VIRQ.VSTI)).toBe(bit(VIRQ.VSTI));
  });

  it('with henvcfg.STCE = 0, vstimecmp does not drive VSTIP', () => {
    const sim = runProgram((a) => {
      sstc(a, false);
      a.csrw(CSR.hvip, zero).csrw(CSR.vstimecmp, zero).csrr(a0, CSR.hip);
    });
    expect(sim.x(a0) & bit(VIRQ.VSTI)).toBe(0n);
  });

  it('stimecmp in VS is vstimecmp; the HS stimecmp is untouched', () => {
    const sim = bare((a) => { a.csrr(a0, CSR.stimecmp).li(t0, 0x1234_5678).csrw(CSR.stimecmp, t0).ecall(); }, { setup: (a) => {
      sstc(a);
      a.li(t0, -1).csrw(CSR.stimecmp, t0);
      a.li(t0, 0x7777_0000).csrw(CSR.vstimecmp, t0);
    } });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(0x7777_0000n);
    expect(sim.csr(CSR.vstimecmp)).toBe(0x1234_5678n);
    expect(sim.csr(CSR.stimecmp)).toBe((1n << 64n) - 1n);
  });

  it('stimecmp access from VS: virtual instruction when henvcfg.STCE = 0 or hcounteren.TM = 0; illegal when menvcfg.STCE = 0', () => {
    const run = (setup: (a: Asm) => void): Sim => bare((a) => { a.label('bad').csrr(a0, CSR.stimecmp); }, { setup });
    expect(run((a) => { sstc(a, false); }).csr(CSR.mcause)).toBe(22n);
    expect(run((a) => { sstc(a); a.csrw(CSR.hcounteren, zero); }).csr(CSR.mcause)).toBe(22n);
    expect(run((a) => { sstc(a); a.li(t0, STCE).csrc(CSR.menvcfg, t0); }).csr(CSR.mcause)).toBe(2n);
    expect(run((a) => { sstc(a); a.csrw(CSR.mcounteren, zero); }).csr(CSR.mcause)).toBe(2n);
  });

  const vsTimerSetup = (a: Asm): void => {
    sstc(a);
    a.li(t0, -1).csrw(CSR.vstimecmp, t0);
    a.li(t0, bit(VIRQ.VSTI)).csrw(CSR.hideleg, t0).csrw(CSR.hie, t0);
    a.csrw(CSR.hvip, zero);
  };

  it('a passed vstimecmp written from VS raises VSTIP, delivered to VS as interrupt | 5', () => {
    const sim = bare((a) => {
      a.csrw(CSR.stimecmp, zero); // = vstimecmp: time + htimedelta >= 0
      a.li(t0, MS.SIE).csrs(CSR.sstatus, t0);
      a.label('spin').j('spin');
    }, { maxSteps: 1000, setup: vsTimerSetup });
    expect(sim.stop).toBe('vstrap');
    expect(sim.csr(CSR.vscause)).toBe(INT | 5n);
    expect(sim.csr(CSR.vsepc)).toBe(BigInt(sim.addr('spin')));
  });

  it('a future vstimecmp fires when time + htimedelta reaches it (under the scheduler)', () => {
    const { sim } = makeGuest((a) => {
      a.csrr(t1, CSR.time).addi(t1, t1, 20).csrw(CSR.stimecmp, t1); // 20 ticks ahead
      a.mv(s1, t1);
      a.li(t0, MS.SIE).csrs(CSR.sstatus, t0);
      a.label('w').wfi();
      a.label('spin').j('spin');
    }, { vs: 'bare', g: 'bare', setup: (a) => {
      vsTimerSetup(a);
      a.li(t0, 1_000_000).csrw(CSR.htimedelta, t0);
      a.la(t0, 'vh').csrw(CSR.vstvec, t0);
    }, tail: (a) => {
      a.align(4).label('vh');
      a.csrr(a0, CSR.scause).csrr(a1, CSR.time);
      a.li(t1, TEST_DEV).li(t0, 0x5555).sw(t0, 0, t1); // power off
      a.j('vh');
    } });
    const halt = new Scheduler(sim.m).runToEnd();
    expect(halt.kind).toBe('poweroff');
    expect(sim.x(a0)).toBe(INT | 5n);
    expect(sim.x(a1)).toBeGreaterThanOrEqual(sim.x(s1));
    expect(sim.x(s1)).toBeGreaterThanOrEqual(1_000_000n); // VS time includes htimedelta
  });
});
