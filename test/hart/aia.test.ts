/**
 * Smaia/Ssaia (AIA 1.0 chapters 2, 3, 5, 6) on a hart with IMSICs (--aia aplic-imsic), as QEMU
 * 7.2 models them (src/hart/aia.ts): the indirect register windows, *topei claims, *topi,
 * hgeie/hgeip with guest interrupt files, VSEIP from hgeip[hstatus.VGEIN], the faults of
 * invalid accesses, and the CSRs' absence without IMSICs.
 */
import { describe, expect, it } from 'vitest';
import { runProgram, runGuest, Sim, a0, a1, a2, a3, a4, t0, t1, CSR, MS, HS, IRQ, VIRQ } from './harness.js';

const MISELECT = 0x350, MIREG = 0x351, MTOPEI = 0x35c, MTOPI = 0xfb0;
const SISELECT = 0x150, SIREG = 0x151, STOPEI = 0x15c, STOPI = 0xdb0;
const VSISELECT = 0x250, VSIREG = 0x251, VSTOPEI = 0x25c, VSTOPI = 0xeb0;
const HVICTL = 0x609, HGEIE = 0x607, HGEIP = 0xe12;
const EIDELIVERY = 0x70, EIE0 = 0xc0;
const IMSIC_M = 0x2400_0000, IMSIC_S = 0x2800_0000;
const AIA = { mode: 'aplic-imsic', guests: 0 } as const;
const bit = (n: number): bigint => 1n << BigInt(n);
const ILLEGAL = 2, VIRTUAL = 22;

describe('Smaia/Ssaia CSRs', () => {
  it('do not exist without IMSICs (PLIC or --aia aplic): illegal instruction, hgeie/hgeip read 0', () => {
    for (const aia of [undefined, { mode: 'aplic', guests: 0 } as const]) {
      for (const csr of [MISELECT, MTOPI, STOPI, VSTOPI, HVICTL]) {
        const sim = runProgram((a) => { a.csrr(a0, csr); }, { ...(aia ? { aia } : {}) });
        expect(sim.stop).toBe('mtrap');
        expect(sim.lastTrap?.cause).toBe(ILLEGAL);
      }
      const sim = runProgram((a) => { a.li(t0, -1).csrw(HGEIE, t0).csrr(a0, HGEIE).csrr(a1, HGEIP); }, { ...(aia ? { aia } : {}) });
      expect([sim.stop, sim.x(a0), sim.x(a1)]).toEqual(['done', 0n, 0n]);
    }
  });

  it('an MSI to the M file: mip.MEIP, mtopei, mtopi, and a write to mtopei claims it', () => {
    const sim = runProgram((a) => {
      a.li(t0, EIDELIVERY).csrw(MISELECT, t0).li(t0, 1).csrw(MIREG, t0);
      a.li(t0, EIE0).csrw(MISELECT, t0).li(t0, 1 << 12).csrw(MIREG, t0);
      a.li(t1, IMSIC_M).li(t0, 12).sw(t0, 0, t1);
      a.li(t0, bit(IRQ.MEI)).csrw(CSR.mie, t0); // mtopi shows pending and enabled interrupts
      a.csrr(a0, CSR.mip).csrr(a1, MTOPEI).csrr(a2, MTOPI);
      a.csrrw(a3, MTOPEI, 0);
      a.csrr(a4, MTOPEI);
    }, { aia: AIA });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0) & bit(IRQ.MEI)).toBe(bit(IRQ.MEI));
    expect(sim.x(a1)).toBe(BigInt((12 << 16) | 12));
    expect(sim.x(a2)).toBe(BigInt(11 << 16)); // MEI, iprio 0 (the default order)
    expect(sim.x(a3)).toBe(BigInt((12 << 16) | 12));
    expect(sim.x(a4)).toBe(0n);
    expect(sim.csr(CSR.mip) & bit(IRQ.MEI)).toBe(0n);
  });

  it('the M file\'s line is taken as a machine external interrupt', () => {
    const sim = runProgram((a) => {
      a.li(t0, EIDELIVERY).csrw(MISELECT, t0).li(t0, 1).csrw(MIREG, t0);
      a.li(t0, EIE0).csrw(MISELECT, t0).li(t0, 1 << 3).csrw(MIREG, t0);
      a.li(t0, bit(IRQ.MEI)).csrw(CSR.mie, t0).li(t0, MS.MIE).csrs(CSR.mstatus, t0);
      a.li(t1, IMSIC_M).li(t0, 3).sw(t0, 0, t1);
      a.nop();
    }, { aia: AIA });
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: IRQ.MEI, interrupt: true });
  });

  it('xiselect keeps 9 bits; iprio registers are even-numbered, the level\'s external irq byte is read-only 0', () => {
    const sim = runProgram((a) => {
      a.li(t0, 0xfff).csrw(MISELECT, t0).csrr(a0, MISELECT);
      a.li(t0, 0x32).csrw(MISELECT, t0).li(t0, -1).csrw(MIREG, t0).csrr(a1, MIREG);
      a.li(t0, 0x32).csrw(SISELECT, t0).li(t0, -1).csrw(SIREG, t0).csrr(a2, SIREG);
      a.li(t0, 0x33).csrw(MISELECT, t0).csrr(a3, MIREG);
    }, { aia: AIA });
    expect(sim.x(a0)).toBe(0x1ffn);
    expect(sim.x(a1)).toBe(0xffff_ffff_00ff_ffffn); // irqs 8..15: MEI (11) is read-only zero
    expect(sim.x(a2)).toBe(0xffff_ffff_ffff_00ffn); // SEI (9) likewise for siprio
    expect(sim.stop).toBe('mtrap'); // mireg at the odd 0x33
    expect(sim.lastTrap?.cause).toBe(ILLEGAL);
  });

  it('guest interrupt files: hgeip follows the file\'s line, SGEIP = hgeie & hgeip, VSEIP = hgeip[VGEIN]', () => {
    const sim = runProgram((a) => {
      // hgeie: GEILEN = 2 -> bits 2:1
      a.li(t0, -1).csrw(HGEIE, t0).csrr(a0, HGEIE).li(t0, 0).csrw(HGEIE, t0);
      // guest file 2 through vsiselect/vsireg with hstatus.VGEIN = 2
      a.li(t0, 2n << 12n).csrs(CSR.hstatus, t0);
      a.li(t0, EIDELIVERY).csrw(VSISELECT, t0).li(t0, 1).csrw(VSIREG, t0);
      a.li(t0, EIE0).csrw(VSISELECT, t0).li(t0, 1 << 7).csrw(VSIREG, t0);
      a.li(t1, IMSIC_S + 2 * 0x1000).li(t0, 7).sw(t0, 0, t1);
      a.csrr(a1, HGEIP).csrr(a2, CSR.mip).csrr(a3, VSTOPEI);
      a.li(t0, 4).csrw(HGEIE, t0).csrr(a4, CSR.mip);
    }, { aia: { mode: 'aplic-imsic', guests: 2 } });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(6n);
    expect(sim.x(a1)).toBe(4n);
    expect(sim.x(a2) & (bit(VIRQ.VSEI) | bit(VIRQ.SGEI))).toBe(bit(VIRQ.VSEI));
    expect(sim.x(a3)).toBe(BigInt((7 << 16) | 7));
    expect(sim.x(a4) & bit(VIRQ.SGEI)).toBe(bit(VIRQ.SGEI));
    // VGEIN = 1 selects file 1, which has nothing: no VSEIP.
    expect(sim.h.aia!.hgeip).toBe(4);
    sim.h.csrSet(CSR.hstatus, (sim.csr(CSR.hstatus) & ~HS.VGEIN) | (1n << 12n), 'firmware');
    expect(sim.csr(CSR.mip) & bit(VIRQ.VSEI)).toBe(0n);
  });

  it('in VS-mode sireg/stopei reach the guest file of VGEIN; with VGEIN = 0 they are virtual-instruction faults', () => {
    const setup = (vgein: number) => (a: import('./harness.js').Asm) => {
      a.li(t0, BigInt(vgein) << 12n).csrs(CSR.hstatus, t0);
      if (vgein) {
        a.li(t0, EIE0).csrw(VSISELECT, t0).li(t0, 1 << 5).csrw(VSIREG, t0);
        a.li(t1, IMSIC_S + vgein * 0x1000).li(t0, 5).sw(t0, 0, t1);
      }
    };
    const body = (a: import('./harness.js').Asm) => {
      a.li(t0, EIE0).csrw(SISELECT, t0).csrr(a0, SIREG);
      a.csrrw(a1, STOPEI, 0).csrr(a2, STOPEI);
    };
    const ok = runGuest(body, { vs: 'bare', g: 'bare', setup: setup(1), aia: { mode: 'aplic-imsic', guests: 1 } }).sim;
    expect(ok.stop).toBe('done');
    expect(ok.x(a0)).toBe(bit(5));
    expect(ok.x(a1)).toBe(BigInt((5 << 16) | 5));
    expect(ok.x(a2)).toBe(0n);
    const bad = runGuest(body, { vs: 'bare', g: 'bare', setup: setup(0), aia: { mode: 'aplic-imsic', guests: 1 } }).sim;
    expect(bad.stop).toBe('mtrap');
    expect(bad.lastTrap?.cause).toBe(VIRTUAL);
    // siselect in VS-mode is vsiselect
    expect(bad.csr(VSISELECT)).toBe(BigInt(EIE0));
    expect(bad.csr(SISELECT)).toBe(0n);
  });

  it('interrupt selection follows QEMU 7.2 with zero iprios: MEI first, then ties go to the higher number (MTI before MSI)', () => {
    const sim = new Sim((a) => { a.nop(); }, { aia: AIA });
    const h = sim.h;
    h.csrSet(CSR.mie, bit(IRQ.MSI) | bit(IRQ.MTI) | bit(IRQ.MEI), 'firmware');
    h.setIrqLine(IRQ.MSI, true);
    h.setIrqLine(IRQ.MTI, true);
    h.csrSet(CSR.mstatus, MS.MIE, 'firmware');
    expect(h.pendingInterrupt()).toBe(IRQ.MTI);
    expect(sim.csr(MTOPI)).toBe(BigInt((IRQ.MTI << 16) | 255));
    h.setIrqLine(IRQ.MEI, true);
    expect(h.pendingInterrupt()).toBe(IRQ.MEI);
    // miprio: MSI given priority 1 wins over MTI (255 by default order)
    h.csrSet(MISELECT, 0x30n, 'firmware');
    h.csrSet(MIREG, 1n << 24n, 'firmware');
    h.setIrqLine(IRQ.MEI, false);
    expect(h.pendingInterrupt()).toBe(IRQ.MSI);
    expect(sim.csr(MTOPI)).toBe(BigInt((IRQ.MSI << 16) | 1));
    expect(sim.csr(STOPI)).toBe(0n);
  });

  it('the AIA state is in the hart snapshot', () => {
    const a = new Sim((x) => { x.nop(); }, { aia: { mode: 'aplic-imsic', guests: 1 } });
    a.h.csrSet(MISELECT, 0x72n, 'firmware');
    a.h.csrSet(HVICTL, 0x4000_0105n, 'firmware');
    a.h.csrSet(HGEIE, 2n, 'firmware');
    const snap = structuredClone(a.h.saveState());
    const b = new Sim((x) => { x.nop(); }, { aia: { mode: 'aplic-imsic', guests: 1 } });
    b.h.restoreState(snap);
    expect([b.csr(MISELECT), b.csr(HVICTL), b.csr(HGEIE)]).toEqual([0x72n, 0x4000_0105n, 2n]);
    // A hart without AIA state saves none (snapshots of PLIC boards are unchanged).
    expect('aia' in new Sim((x) => { x.nop(); }).h.saveState()).toBe(false);
  });
});
