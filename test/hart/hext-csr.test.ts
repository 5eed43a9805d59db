/**
 * Hypervisor extension CSRs (privileged spec 1.12 chapter 8, "H" extension 1.0):
 * misa.H, hstatus, hedeleg/hideleg, mideleg, hvip/hip/hie and their mip/mie aliases, vsip/vsie
 * views, VS CSRs, aliasing of S CSRs while V=1, hgatp WARL rules, henvcfg/hcounteren/htimedelta,
 * mtval2/mtinst. Expected values come from the spec text, not from the implementation.
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, Sim, PageTable, runProgram, runGuest, a0, a1, a2, a3, a4, t0, t1, zero, CSR, MS, MSH, HS, VIRQ, IRQ,
  PRV_M, PRV_S, PRV_U, RAM_BASE, PT_POOL, G_POOL, HGATP_SV39X4, HGATP_SV48X4, vsatpFor, encCsr, SATP_SV39,
  RWX, RO, G_RW,
} from './harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const ALL = -1n;
const VS_BITS = bit(VIRQ.VSSI) | bit(VIRQ.VSTI) | bit(VIRQ.VSEI); // 0x444
const S_BITS = bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI); // 0x222

/** Run `body` in M-mode. */
const m = (body: (a: Asm) => void): Sim => runProgram(body);

/** Enter HS-mode (S with V=0) and run `low` there. */
function hs(setup: (a: Asm) => void, low: (a: Asm) => void): Sim {
  return runProgram((a) => { setup(a); a.enter(PRV_S, 'low'); a.label('low'); low(a); });
}

describe('H instruction encodings (priv §8.3, checked against GNU as -march=rv64gch)', () => {
  it('HLV/HLVX/HSV/HFENCE encoders match the assembler', () => {
    // a0, (a1) / a2, (a1) / hfence a1, a2, then hfence x0, x0
    const a = new Asm(0);
    a.hlv_b(a0, a1).hlv_bu(a0, a1).hlv_h(a0, a1).hlv_hu(a0, a1).hlvx_hu(a0, a1).hlv_w(a0, a1).hlv_wu(a0, a1)
      .hlvx_wu(a0, a1).hlv_d(a0, a1).hsv_b(a2, a1).hsv_h(a2, a1).hsv_w(a2, a1).hsv_d(a2, a1)
      .hfence_vvma(a1, a2).hfence_gvma(a1, a2).hfence_vvma().hfence_gvma();
    const img = a.assemble();
    const words = Array.from({ length: img.length / 4 }, (_, i) =>
      (img[4 * i]! | (img[4 * i + 1]! << 8) | (img[4 * i + 2]! << 16) | (img[4 * i + 3]! << 24)) >>> 0);
    expect(words.map((w) => w.toString(16).padStart(8, '0'))).toEqual([
      '6005c573', '6015c573', '6405c573', '6415c573', '6435c573', '6805c573', '6815c573', '6835c573',
      '6c05c573', '62c5c073', '66c5c073', '6ac5c073', '6ec5c073', '22c58073', '62c58073', '22000073', '62000073',
    ]);
  });
});

describe('misa and reset state (§8, §8.2.1)', () => {
  it('misa.H (bit 7) is set, alongside S and U', () => {
    const sim = m((a) => { a.csrr(a0, CSR.misa); });
    expect(sim.x(a0) & bit(7)).toBe(bit(7));
    expect(sim.x(a0) & (bit(18) | bit(20))).toBe(bit(18) | bit(20));
  });

  it('the hart resets with V=0 in M-mode; hstatus.VSXL = 2 (VSXLEN = 64)', () => {
    const sim = new Sim((a) => { a.nop(); });
    expect(sim.h.virt).toBe(false);
    expect(sim.priv).toBe(PRV_M);
    expect(sim.csr(CSR.hstatus) & HS.VSXL).toBe(HS.VSXL_64);
    expect(sim.csr(CSR.mstatus) & (MSH.MPV | MSH.GVA)).toBe(0n);
  });
});

describe('hstatus (§8.2.1)', () => {
  // All ones except VGEIN (WLRL: with GEILEN = 0 only 0 is a legal value, so it is never written
  // with anything else). VSBE may be read-only 0 when VS-mode is little-endian only (as every mode
  // is here), VSXL is WARL and may be read-only 2 (VSXLEN = HSXLEN), WPRI fields read 0.
  const ONES_BUT_VGEIN = ~HS.VGEIN;
  const WRITABLE = HS.GVA | HS.SPV | HS.SPVP | HS.HU | HS.VTVM | HS.VTW | HS.VTSR;

  it('writable fields: VTSR, VTW, VTVM, HU, SPVP, SPV, GVA; VSXL stays 2; reserved bits read 0', () => {
    const sim = m((a) => {
      a.li(t0, ONES_BUT_VGEIN).csrw(CSR.hstatus, t0).csrr(a0, CSR.hstatus);
      a.csrw(CSR.hstatus, zero).csrr(a1, CSR.hstatus);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(WRITABLE | HS.VSXL_64);
    expect(sim.x(a1)).toBe(HS.VSXL_64);
  });

  it('hstatus is accessible from HS-mode, illegal from U-mode (V=0)', () => {
    const ok = hs(() => {}, (a) => { a.li(t0, HS.VTW).csrs(CSR.hstatus, t0).csrr(a0, CSR.hstatus); });
    expect(ok.traps).toEqual([]);
    expect(ok.x(a0) & HS.VTW).toBe(HS.VTW);
    const u = runProgram((a) => { a.enter(PRV_U, 'low'); a.label('low').csrr(a0, CSR.hstatus); });
    expect(u.lastTrap).toMatchObject({ cause: 2, from: PRV_U, tval: BigInt(encCsr(2, a0, CSR.hstatus, 0)) });
  });
});

describe('mstatus MPV and GVA (§8.4.1)', () => {
  it('MPV (bit 39) and GVA (bit 38) are read/write in mstatus and invisible in sstatus', () => {
    const sim = m((a) => {
      a.li(t0, MSH.MPV | MSH.GVA).csrs(CSR.mstatus, t0);
      a.csrr(a0, CSR.mstatus).csrr(a1, CSR.sstatus);
      a.li(t0, MSH.MPV | MSH.GVA).csrc(CSR.mstatus, t0).csrr(a2, CSR.mstatus);
    });
    expect(sim.x(a0) & (MSH.MPV | MSH.GVA)).toBe(MSH.MPV | MSH.GVA);
    expect(sim.x(a1) & (MSH.MPV | MSH.GVA)).toBe(0n);
    expect(sim.x(a2) & (MSH.MPV | MSH.GVA)).toBe(0n);
  });
});

describe('delegation registers (§8.2.2, §8.4.2)', () => {
  it('hedeleg: bits 1-8, 12, 13, 15 writable; 9, 10, 11, 20, 21, 22, 23 read-only 0 (Table 8.2)', () => {
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.hedeleg, t0).csrr(a0, CSR.hedeleg); });
    const v = sim.x(a0);
    for (const b of [1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 15]) expect(v & bit(b), `bit ${b}`).toBe(bit(b));
    for (const b of [9, 10, 11, 20, 21, 22, 23]) expect(v & bit(b), `bit ${b}`).toBe(0n);
  });

  it('hedeleg writable bits can be cleared again', () => {
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.hedeleg, t0).csrw(CSR.hedeleg, zero).csrr(a0, CSR.hedeleg); });
    expect(sim.x(a0)).toBe(0n);
  });

  it('hideleg: only the VS-level bits 10, 6, 2 are writable (0x444); S-level bits 12, 9, 5, 1 read 0', () => {
    const sim = m((a) => {
      a.li(t0, ALL).csrw(CSR.hideleg, t0).csrr(a0, CSR.hideleg);
      a.csrw(CSR.hideleg, zero).csrr(a1, CSR.hideleg);
    });
    expect(sim.x(a0)).toBe(VS_BITS);
    expect(sim.x(a1)).toBe(0n);
  });

  it('mideleg: bits 10, 6, 2 are read-only one; the S bits stay writable', () => {
    const sim = m((a) => {
      a.csrw(CSR.mideleg, zero).csrr(a0, CSR.mideleg);
      a.li(t0, S_BITS).csrw(CSR.mideleg, t0).csrr(a1, CSR.mideleg);
    });
    expect(sim.x(a0) & VS_BITS).toBe(VS_BITS);
    expect(sim.x(a0) & S_BITS).toBe(0n);
    expect(sim.x(a1) & (VS_BITS | S_BITS)).toBe(VS_BITS | S_BITS);
  });

  it('medeleg can delegate guest-page faults, virtual instruction and ecall from VS to HS', () => {
    // §8.5.2 ("Guest-page-fault traps may be delegated from M-mode to HS-mode under the control of
    // CSR medeleg"); the virtual-instruction NOTE in §8.6.1 expects M to delegate cause 22 to HS.
    const want = bit(10) | bit(20) | bit(21) | bit(22) | bit(23);
    const sim = m((a) => { a.li(t0, want).csrw(CSR.medeleg, t0).csrr(a0, CSR.medeleg); });
    expect(sim.x(a0) & want).toBe(want);
  });
});

describe('hvip, hip, hie and their mip/mie aliases (§8.2.3, §8.4.3)', () => {
  it('hvip: only VSEIP, VSTIP, VSSIP are writable', () => {
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.hvip, t0).csrr(a0, CSR.hvip).csrw(CSR.hvip, zero).csrr(a1, CSR.hvip); });
    expect(sim.x(a0)).toBe(VS_BITS);
    expect(sim.x(a1)).toBe(0n);
  });

  it('hie: VSEIE, VSTIE, VSSIE writable; the S bits (writable in sie) read-only 0', () => {
    // "For each writable bit in sie, the corresponding bit shall be read-only zero in both hip and
    // hie." SGEIE (bit 12) may be writable or not with GEILEN = 0 (QEMU keeps it writable).
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.hie, t0).csrr(a0, CSR.hie); });
    expect(sim.x(a0) & VS_BITS).toBe(VS_BITS);
    expect(sim.x(a0) & ~(VS_BITS | bit(VIRQ.SGEI))).toBe(0n);
  });

  it('hip: VSSIP is a writable alias of hvip.VSSIP; VSTIP and VSEIP are read-only copies of hvip', () => {
    const sim = m((a) => {
      a.csrw(CSR.hvip, zero);
      a.li(t0, ALL).csrw(CSR.hip, t0).csrr(a0, CSR.hip).csrr(a1, CSR.hvip);
      a.li(t0, VS_BITS).csrw(CSR.hvip, t0).csrr(a2, CSR.hip);
      a.csrw(CSR.hip, zero).csrr(a3, CSR.hip).csrr(a4, CSR.hvip);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(bit(VIRQ.VSSI));
    expect(sim.x(a1)).toBe(bit(VIRQ.VSSI));
    expect(sim.x(a2)).toBe(VS_BITS);
    expect(sim.x(a3)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI)); // only VSSIP could be cleared
    expect(sim.x(a4)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI));
  });

  it('mip.VS* alias hip; mip.VSSIP is writable (clears hvip.VSSIP); mie.VS* alias hie', () => {
    const sim = m((a) => {
      a.li(t0, VS_BITS).csrw(CSR.hvip, t0).csrr(a0, CSR.mip);
      a.li(t0, bit(VIRQ.VSSI)).csrc(CSR.mip, t0).csrr(a1, CSR.hvip);
      a.li(t0, VS_BITS).csrs(CSR.mie, t0).csrr(a2, CSR.hie);
      a.csrw(CSR.hie, zero).csrr(a3, CSR.mie);
    });
    expect(sim.x(a0) & VS_BITS).toBe(VS_BITS);
    expect(sim.x(a1)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI));
    expect(sim.x(a2)).toBe(VS_BITS);
    expect(sim.x(a3) & VS_BITS).toBe(0n);
  });

  it('sip/sie never show the hip/hie bits ("nonzero bits in sip and hip are mutually exclusive")', () => {
    const sim = hs((a) => {
      a.li(t0, VS_BITS).csrw(CSR.hvip, t0).csrs(CSR.mie, t0);
    }, (a) => { a.csrr(a0, CSR.sip).csrr(a1, CSR.sie).csrr(a2, CSR.hip).csrr(a3, CSR.hie); });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0) & VS_BITS).toBe(0n);
    expect(sim.x(a1) & VS_BITS).toBe(0n);
    expect(sim.x(a2)).toBe(VS_BITS);
    expect(sim.x(a3)).toBe(VS_BITS);
  });

  it('hgeie and hgeip read 0 (GEILEN = 0); hgeip is a read-only CSR number (0xE12)', () => {
    const sim = m((a) => {
      a.li(t0, ALL).csrw(CSR.hgeie, t0).csrr(a0, CSR.hgeie).csrr(a1, CSR.hgeip);
      a.label('bad').csrw(CSR.hgeip, t0);
    });
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a1)).toBe(0n);
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
  });
});

describe('vsip / vsie: VS-level bits shifted down to the S positions (§8.2.12)', () => {
  it('with hideleg = 0, vsip and vsie read 0 even when hip/hie bits are set', () => {
    const sim = m((a) => {
      a.csrw(CSR.hideleg, zero);
      a.li(t0, VS_BITS).csrw(CSR.hvip, t0).csrw(CSR.hie, t0);
      a.csrr(a0, CSR.vsip).csrr(a1, CSR.vsie);
    });
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a1)).toBe(0n);
  });

  it('with hideleg = 0x444: vsip.SEIP/STIP/SSIP = hip.VSEIP/VSTIP/VSSIP, vsie likewise', () => {
    const sim = m((a) => {
      a.li(t0, VS_BITS).csrw(CSR.hideleg, t0).csrw(CSR.hvip, t0);
      a.li(t0, bit(VIRQ.VSTI)).csrw(CSR.hie, t0);
      a.csrr(a0, CSR.vsip).csrr(a1, CSR.vsie);
      a.li(t0, S_BITS).csrw(CSR.vsie, t0).csrr(a2, CSR.hie); // vsie writes land in hie
      a.csrw(CSR.vsip, zero).csrr(a3, CSR.hvip); // only SSIP is writable through vsip
      a.li(t0, bit(IRQ.SSI)).csrs(CSR.vsip, t0).csrr(a4, CSR.hvip);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(S_BITS);
    expect(sim.x(a1)).toBe(bit(IRQ.STI));
    expect(sim.x(a2)).toBe(VS_BITS);
    expect(sim.x(a3)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI));
    expect(sim.x(a4)).toBe(VS_BITS);
  });

  it('only the delegated bits appear: hideleg = VSSIP alone shows vsip.SSIP only', () => {
    const sim = m((a) => {
      a.li(t0, bit(VIRQ.VSSI)).csrw(CSR.hideleg, t0);
      a.li(t0, VS_BITS).csrw(CSR.hvip, t0).csrw(CSR.hie, t0);
      a.csrr(a0, CSR.vsip).csrr(a1, CSR.vsie);
      a.li(t0, S_BITS).csrc(CSR.vsie, t0).csrr(a2, CSR.hie); // clearing STIE/SEIE through vsie does nothing
    });
    expect(sim.x(a0)).toBe(bit(IRQ.SSI));
    expect(sim.x(a1)).toBe(bit(IRQ.SSI));
    expect(sim.x(a2)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI));
  });
});

describe('VS CSRs accessed directly from M and HS (§8.2.10-8.2.18)', () => {
  it('vsscratch, vsepc, vscause, vstval, vstvec hold values; vsepc bit 0 reads 0 (IALIGN=16)', () => {
    const sim = hs(() => {}, (a) => {
      a.li(t0, 0x1234_5678_9abc_def0n).csrw(CSR.vsscratch, t0).csrr(a0, CSR.vsscratch);
      a.li(t0, 0x8000_4001n).csrw(CSR.vsepc, t0).csrr(a1, CSR.vsepc);
      a.li(t0, (1n << 63n) | 9n).csrw(CSR.vscause, t0).csrr(a2, CSR.vscause);
      a.li(t0, 0xdead_beefn).csrw(CSR.vstval, t0).csrr(a3, CSR.vstval);
      a.li(t0, 0x8000_3001n).csrw(CSR.vstvec, t0).csrr(a4, CSR.vstvec);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(0x1234_5678_9abc_def0n);
    expect(sim.x(a1)).toBe(0x8000_4000n);
    expect(sim.x(a2)).toBe((1n << 63n) | 9n);
    expect(sim.x(a3)).toBe(0xdead_beefn);
    expect(sim.x(a4)).toBe(0x8000_3001n);
  });

  it('writing VS CSRs from HS leaves the HS CSRs alone (and vice versa)', () => {
    const sim = hs(() => {}, (a) => {
      a.li(t0, 111).csrw(CSR.sscratch, t0).li(t0, 222).csrw(CSR.vsscratch, t0);
      a.csrr(a0, CSR.sscratch).csrr(a1, CSR.vsscratch);
    });
    expect(sim.x(a0)).toBe(111n);
    expect(sim.x(a1)).toBe(222n);
  });

  it('vsstatus has the sstatus layout: SIE, SPIE, SPP, FS, SUM, MXR writable, UXL = 2, no M-only fields', () => {
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.vsstatus, t0).csrr(a0, CSR.vsstatus).csrw(CSR.vsstatus, zero).csrr(a1, CSR.vsstatus); });
    const v = sim.x(a0);
    const want = MS.SIE | MS.SPIE | MS.SPP | MS.FS | MS.SUM | MS.MXR;
    expect(v & want).toBe(want);
    expect(v & (MS.MIE | MS.MPIE | MS.MPP | MS.MPRV | MS.TVM | MS.TW | MS.TSR)).toBe(0n);
    expect((v >> 32n) & 3n).toBe(2n); // UXL
    expect(v & MS.SD).toBe(MS.SD); // SD summarises vsstatus.FS = Dirty
    expect(sim.x(a1) & want).toBe(0n);
    expect(sim.x(a1) & MS.SD).toBe(0n);
  });

  it('vsstatus is independent of the HS sstatus', () => {
    const sim = m((a) => {
      a.li(t0, MS.SUM | MS.SIE).csrw(CSR.vsstatus, t0);
      a.li(t0, MS.SUM | MS.SIE).csrc(CSR.mstatus, t0);
      a.csrr(a0, CSR.sstatus).csrr(a1, CSR.vsstatus);
    });
    expect(sim.x(a0) & (MS.SUM | MS.SIE)).toBe(0n);
    expect(sim.x(a1) & (MS.SUM | MS.SIE)).toBe(MS.SUM | MS.SIE);
  });

  it('vsatp holds an Sv39 value written from HS, even with mstatus.TVM = 1 (§8.4.1)', () => {
    const val = vsatpFor('sv39', 5, PT_POOL);
    const sim = hs((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); }, (a) => { a.li(t0, val).csrw(CSR.vsatp, t0).csrr(a0, CSR.vsatp); });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0) >> 60n).toBe(SATP_SV39);
    expect(sim.x(a0) & ((1n << 44n) - 1n)).toBe(BigInt(PT_POOL >>> 12));
  });

  it('mtval2 and mtinst exist and are read/write from M; htval and htinst from HS', () => {
    const sim = m((a) => {
      a.csrw(CSR.mtval2, zero).csrr(a0, CSR.mtval2);
      a.csrw(CSR.mtinst, zero).csrr(a1, CSR.mtinst);
      a.enter(PRV_S, 'low');
      a.label('low').csrw(CSR.htval, zero).csrr(a2, CSR.htval).csrw(CSR.htinst, zero).csrr(a3, CSR.htinst);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a1)).toBe(0n);
    expect(sim.x(a2)).toBe(0n);
    expect(sim.x(a3)).toBe(0n);
  });
});

describe('hgatp (§8.2.18)', () => {
  const PPN_MASK = (1n << 44n) - 1n;
  const VMID_MASK = ((1n << 14n) - 1n) << 44n;

  it('Sv39x4 and Sv48x4 are accepted; the two low PPN bits read 0 (16 KiB root)', () => {
    const ppn = BigInt(G_POOL >>> 12) | 3n;
    const sim = m((a) => {
      a.li(t0, (HGATP_SV39X4 << 60n) | ppn).csrw(CSR.hgatp, t0).csrr(a0, CSR.hgatp);
      a.li(t0, (HGATP_SV48X4 << 60n) | ppn).csrw(CSR.hgatp, t0).csrr(a1, CSR.hgatp);
      a.csrw(CSR.hgatp, zero).csrr(a2, CSR.hgatp);
    });
    expect(sim.x(a0) >> 60n).toBe(HGATP_SV39X4);
    expect(sim.x(a0) & PPN_MASK).toBe(BigInt(G_POOL >>> 12));
    expect(sim.x(a1) >> 60n).toBe(HGATP_SV48X4);
    expect(sim.x(a1) & PPN_MASK).toBe(BigInt(G_POOL >>> 12));
    expect(sim.x(a2)).toBe(0n);
  });

  it.each([1n, 11n])('a write with reserved MODE %i is not ignored: MODE reads back a legal value (WARL)', (mode) => {
    // "A write to hgatp with an unsupported MODE value is not ignored as it is for satp. Instead,
    // the fields of hgatp are WARL in the normal way": the result must be one of the defined modes.
    // The previous value (Sv39x4, VMID 0, PPN A) differs from the written one (PPN B, VMID 1):
    // a write that was ignored, as for satp, would read back unchanged.
    const before = (HGATP_SV39X4 << 60n) | BigInt(G_POOL >>> 12);
    const sim = m((a) => {
      a.li(t0, before).csrw(CSR.hgatp, t0);
      a.li(t0, (mode << 60n) | (1n << 44n) | BigInt((G_POOL >>> 12) + 8)).csrw(CSR.hgatp, t0).csrr(a0, CSR.hgatp);
    });
    expect(sim.traps).toEqual([]);
    expect([0n, 8n, 9n, 10n]).toContain(sim.x(a0) >> 60n);
    expect(sim.x(a0)).not.toBe(before);
  });

  it('VMID: writing all ones reads back VMID[VMIDLEN-1:0] set (least-significant bits first), VMIDLEN >= 1', () => {
    const sim = m((a) => {
      a.li(t0, (HGATP_SV39X4 << 60n) | VMID_MASK | BigInt(G_POOL >>> 12)).csrw(CSR.hgatp, t0).csrr(a0, CSR.hgatp);
      a.li(t0, (HGATP_SV39X4 << 60n) | (1n << 44n) | BigInt(G_POOL >>> 12)).csrw(CSR.hgatp, t0).csrr(a1, CSR.hgatp);
    });
    const vmid = (sim.x(a0) & VMID_MASK) >> 44n;
    const len = vmid.toString(2).replace(/^0+/, '').length;
    expect(vmid).toBe((1n << BigInt(len)) - 1n);
    expect(len).toBeGreaterThanOrEqual(1);
    expect((sim.x(a1) & VMID_MASK) >> 44n).toBe(1n);
  });

  it('hgatp is illegal in HS-mode with mstatus.TVM = 1, legal with TVM = 0 and in M with TVM = 1', () => {
    const bad = hs((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); }, (a) => { a.label('bad').csrr(a0, CSR.hgatp); });
    expect(bad.lastTrap).toMatchObject({ cause: 2, from: PRV_S, tval: BigInt(encCsr(2, a0, CSR.hgatp, 0)) });
    const badw = hs((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); }, (a) => { a.csrw(CSR.hgatp, zero); });
    expect(badw.lastTrap).toMatchObject({ cause: 2, from: PRV_S });
    const ok = hs(() => {}, (a) => { a.csrr(a0, CSR.hgatp).csrw(CSR.hgatp, zero); });
    expect(ok.traps).toEqual([]);
    const mm = m((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0).csrr(a0, CSR.hgatp).csrw(CSR.hgatp, zero); });
    expect(mm.traps).toEqual([]);
  });
});

describe('henvcfg, hcounteren, htimedelta (§8.2.5-8.2.7, Sstc)', () => {
  const STCE = 1n << 63n;

  it('henvcfg.STCE is read-only zero while menvcfg.STCE = 0, writable when it is 1', () => {
    const sim = m((a) => {
      a.li(t0, STCE).csrc(CSR.menvcfg, t0);
      a.li(t0, STCE | 1n).csrw(CSR.henvcfg, t0).csrr(a0, CSR.henvcfg);
      a.li(t0, STCE).csrs(CSR.menvcfg, t0);
      a.li(t0, STCE | 1n).csrw(CSR.henvcfg, t0).csrr(a1, CSR.henvcfg);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0) & STCE).toBe(0n);
    expect(sim.x(a0) & 1n).toBe(1n); // FIOM
    expect(sim.x(a1) & STCE).toBe(STCE);
  });

  it('hcounteren is a 32-bit register; TM (bit 1) is writable', () => {
    const sim = m((a) => { a.li(t0, ALL).csrw(CSR.hcounteren, t0).csrr(a0, CSR.hcounteren).csrw(CSR.hcounteren, zero).csrr(a1, CSR.hcounteren); });
    expect(sim.x(a0) >> 32n).toBe(0n);
    expect(sim.x(a0) & 2n).toBe(2n);
    expect(sim.x(a1)).toBe(0n);
  });

  it('htimedelta is a full 64-bit read/write register', () => {
    const sim = m((a) => { a.li(t0, 0xfedc_ba98_7654_3210n).csrw(CSR.htimedelta, t0).csrr(a0, CSR.htimedelta); });
    expect(sim.x(a0)).toBe(0xfedc_ba98_7654_3210n);
  });
});

describe('S CSRs alias the VS CSRs while V=1 (§8.2)', () => {
  /**
   * M initialises HS and VS copies with distinct values, enters VS with Bare/Bare translation,
   * and the guest reads then writes the S CSR numbers; ecall (cause 10) returns to M.
   */
  const HSV = (c: number): bigint => BigInt(0x10000 + 2 * c);
  const VSV = (c: number): bigint => BigInt(0x20000 + 2 * c);
  function aliasRun(guest: (a: Asm) => void, setup: (a: Asm) => void = () => {}): Sim {
    const { sim } = runGuest((a) => { guest(a); a.label('ec').ecall(); }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        for (const [hsCsr, vsCsr] of [[CSR.sscratch, CSR.vsscratch], [CSR.sepc, CSR.vsepc], [CSR.scause, CSR.vscause], [CSR.stval, CSR.vstval]] as const) {
          a.li(t0, HSV(hsCsr)).csrw(hsCsr, t0);
          a.li(t0, VSV(hsCsr)).csrw(vsCsr, t0);
        }
        setup(a);
      },
    });
    return sim;
  }

  it('sscratch/sepc/scause/stval reads in VS return the VS CSRs', () => {
    const sim = aliasRun((a) => { a.csrr(a0, CSR.sscratch).csrr(a1, CSR.sepc).csrr(a2, CSR.scause).csrr(a3, CSR.stval); });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(VSV(CSR.sscratch));
    expect(sim.x(a1)).toBe(VSV(CSR.sepc));
    expect(sim.x(a2)).toBe(VSV(CSR.scause));
    expect(sim.x(a3)).toBe(VSV(CSR.stval));
  });

  it('writes in VS land in the VS CSRs; the HS CSRs keep their values', () => {
    const sim = aliasRun((a) => {
      a.li(t0, 0x77).csrw(CSR.sscratch, t0).csrw(CSR.sepc, t0).csrw(CSR.scause, t0).csrw(CSR.stval, t0);
      a.li(t0, 0x8000_5000n).csrw(CSR.stvec, t0);
    });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    for (const c of [CSR.vsscratch, CSR.vscause, CSR.vstval]) expect(sim.csr(c)).toBe(0x77n);
    expect(sim.csr(CSR.vsepc)).toBe(0x76n);
    expect(sim.csr(CSR.vstvec)).toBe(0x8000_5000n);
    for (const c of [CSR.sscratch, CSR.sepc, CSR.scause, CSR.stval]) expect(sim.csr(c)).toBe(HSV(c));
    expect(sim.csr(CSR.stvec)).toBe(BigInt(RAM_BASE + 0x1000)); // the harness's HS stvec
  });

  it('sstatus in VS is vsstatus: SUM written in VS sets vsstatus.SUM, not mstatus.SUM', () => {
    const sim = aliasRun((a) => {
      a.csrr(a0, CSR.sstatus);
      a.li(t0, MS.SUM).csrs(CSR.sstatus, t0);
    }, (a) => {
      a.li(t0, MS.MXR).csrw(CSR.vsstatus, t0);
      a.li(t0, MS.SUM | MS.MXR).csrc(CSR.mstatus, t0);
    });
    expect(sim.x(a0) & (MS.MXR | MS.SUM)).toBe(MS.MXR);
    expect(sim.csr(CSR.vsstatus) & MS.SUM).toBe(MS.SUM);
    expect(sim.csr(CSR.mstatus) & (MS.SUM | MS.MXR)).toBe(0n);
  });

  it('sie/sip in VS are vsie/vsip (VS bits shifted to S positions)', () => {
    const sim = aliasRun((a) => {
      a.csrr(a0, CSR.sip).csrr(a1, CSR.sie);
      a.li(t0, bit(IRQ.SEI)).csrs(CSR.sie, t0);
    }, (a) => {
      a.li(t0, VS_BITS).csrw(CSR.hideleg, t0);
      a.li(t0, bit(VIRQ.VSTI)).csrw(CSR.hvip, t0).csrw(CSR.hie, t0);
      // a pending HS-level S interrupt (delegated, not enabled: it would be taken at once) must not show through
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mideleg, t0).csrs(CSR.mip, t0);
    });
    expect(sim.x(a0)).toBe(bit(IRQ.STI));
    expect(sim.x(a1)).toBe(bit(IRQ.STI));
    expect(sim.csr(CSR.hie)).toBe(bit(VIRQ.VSTI) | bit(VIRQ.VSEI));
    expect(sim.csr(CSR.mie) & bit(IRQ.SEI)).toBe(0n);
  });

  it('satp in VS is vsatp: reads see vsatp, not the HS satp', () => {
    const hsSatp = (SATP_SV39 << 60n) | (7n << 44n) | BigInt(PT_POOL >>> 12);
    const sim = aliasRun((a) => { a.csrr(a0, CSR.satp); }, (a) => {
      a.li(t0, hsSatp).csrw(CSR.satp, t0);
      a.csrw(CSR.vsatp, zero);
    });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(0n);
    expect(sim.csr(CSR.satp)).toBe(hsSatp);
  });

  it('a VS write of satp with an unsupported MODE is ignored: vsatp unchanged', () => {
    const sim = aliasRun((a) => { a.li(t0, (1n << 60n) | 0x1234n).csrw(CSR.satp, t0).csrr(a0, CSR.satp); }, (a) => { a.csrw(CSR.vsatp, zero); });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(0n);
    expect(sim.csr(CSR.vsatp)).toBe(0n);
  });

  it('a VS write of satp = Sv39 goes to vsatp and turns VS-stage translation on', () => {
    const val = vsatpFor('sv39', 3);
    const { sim } = runGuest((a) => {
      a.li(t0, val).csrw(CSR.satp, t0).sfence_vma();
      a.li(t1, 0x4000_0000n).ld(a1, 0, t1); // only mapped in the VS-stage table
      a.ecall();
    }, {
      vs: 'bare', g: 'sv39x4',
      setup: (a) => { a.csrw(CSR.satp, zero); },
      map: ({ g }, s) => {
        // Build a VS-stage Sv39 table in guest memory (GPA = HPA in the pool) although vsatp starts Bare.
        const pt = new PageTable(s, 'sv39');
        for (let k = 0; k < 16; k++) pt.map(RAM_BASE + k * 4096, RAM_BASE + k * 4096, RWX);
        pt.map(0x4000_0000, RAM_BASE + 0x10_0000, RO);
        g!.identity(RAM_BASE + 0x10_0000, 1, G_RW);
        s.write64(RAM_BASE + 0x10_0000, 0x5a5an);
      },
    });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.csr(CSR.vsatp)).toBe(val);
    expect(sim.csr(CSR.satp)).toBe(0n);
    expect(sim.x(a1)).toBe(0x5a5an);
  });

  it('scounteren has no VS copy: VS reads and writes the one scounteren', () => {
    const sim = aliasRun((a) => { a.csrr(a0, CSR.scounteren).li(t0, 5).csrw(CSR.scounteren, t0); }, (a) => { a.li(t0, 2).csrw(CSR.scounteren, t0); });
    expect(sim.csr(CSR.mcause)).toBe(10n);
    expect(sim.x(a0)).toBe(2n);
    expect(sim.csr(CSR.scounteren)).toBe(5n);
  });
});

