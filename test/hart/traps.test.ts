/**
 * Traps, interrupts, xRET, privileged-instruction and CSR access rules
 * (privileged spec 1.12: §2.1, §3.1.6-3.1.14, §3.3, §4.1; unprivileged 20191213 ch. 9-10).
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/sched/scheduler.js';
import {
  Asm, Sim, runProgram, a0, a1, a2, s1, t0, t1, t2, zero, CSR, MS, IRQ, INT, PRV_M, PRV_S, PRV_U,
  DATA, CLINT, encCsr, MRET, SRET, WFI,
} from './harness.js';

const CAUSE = {
  ILLEGAL: 2, BREAKPOINT: 3, ECALL_U: 8, ECALL_S: 9, ECALL_M: 11,
} as const;

/** Build a program that sets up in M, drops to `priv` at label `low` and runs `low` there. */
function lower(priv: number, setup: (a: Asm) => void, low: (a: Asm) => void): (a: Asm) => void {
  return (a) => {
    setup(a);
    a.enter(priv, 'low');
    a.label('low');
    low(a);
  };
}
const noSetup = (): void => {};
const bit = (n: number): bigint => 1n << BigInt(n);

describe('illegal-instruction exceptions (priv §3.1.16: mtval = faulting instruction bits)', () => {
  it('a 32-bit illegal instruction: mcause 2, mepc = pc, mtval = the instruction word', () => {
    const sim = runProgram((a) => { a.label('bad').word(0xfe000033); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
    expect(sim.csr(CSR.mtval)).toBe(0xfe000033n);
  });

  it('a 16-bit illegal instruction reports only its 16 bits in mtval', () => {
    const sim = runProgram((a) => { a.label('bad').c(0x8000).c_nop(); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
    expect(sim.csr(CSR.mtval)).toBe(0x8000n);
  });

  it('the all-zero instruction is illegal (mtval 0)', () => {
    const sim = runProgram((a) => { a.label('bad').word(0); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
  });

  it('an illegal CSR access reports the CSR instruction bits', () => {
    const sim = runProgram((a) => { a.label('bad').csrrw(a0, 0x7c0, a1); });
    expect(sim.csr(CSR.mcause)).toBe(2n);
    expect(sim.csr(CSR.mtval)).toBe(BigInt(encCsr(1, a0, 0x7c0, a1)));
  });

  it('an illegal instruction in U-mode traps to M with MPP = U', () => {
    const sim = runProgram(lower(PRV_U, noSetup, (a) => { a.label('bad').word(0xfe000033); }));
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: 2, from: PRV_U, to: PRV_M, tval: 0xfe000033n });
    expect((sim.csr(CSR.mstatus) & MS.MPP) >> 11n).toBe(0n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bad')));
  });
});

describe('ecall and ebreak (priv §3.3.1)', () => {
  it.each([
    ['M', PRV_M, CAUSE.ECALL_M],
    ['S', PRV_S, CAUSE.ECALL_S],
    ['U', PRV_U, CAUSE.ECALL_U],
  ])('ecall from %s-mode: cause %i, mepc = ecall, mtval = 0', (_n, priv, cause) => {
    const sim = runProgram(lower(priv, noSetup, (a) => { a.li(a0, 1).label('ec').ecall(); }), { regs: { [a0]: 0 } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('ec')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
    expect(sim.traps).toHaveLength(1);
    expect(sim.traps[0]).toMatchObject({ from: priv, to: PRV_M });
  });

  // The spec lets a breakpoint write 0 or the faulting address to xtval (§3.1.16); QEMU 7.2,
  // the reference for trap-sequence diffs, writes 0 (measured with -d int), so hvtrace does too.
  it('ebreak: cause 3, mepc = its address, mtval = 0 (as QEMU 7.2)', () => {
    const sim = runProgram((a) => { a.nop().label('bp').ebreak(); });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bp')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
  });

  it('c.ebreak: cause 3, mepc = its address, mtval = 0', () => {
    const sim = runProgram((a) => { a.c_nop().label('bp').c_ebreak(); });
    expect(sim.csr(CSR.mcause)).toBe(3n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bp')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
  });

  it('ecall and ebreak do not retire: minstret does not count them', () => {
    const sim = runProgram((a) => {
      a.la(t0, 'h').csrw(CSR.mtvec, t0);
      a.csrr(a0, CSR.minstret);
      a.ecall();
      a.ebreak();
      a.csrr(a1, CSR.minstret);
      a.j('done');
      a.align(4).label('h');
      // handler: 4 retired instructions (csrr, addi, csrw, mret)
      a.csrr(t1, CSR.mepc).addi(t1, t1, 4).csrw(CSR.mepc, t1).mret();
    });
    expect(sim.stop).toBe('done');
    // retired between the two reads: csrr a0 itself + 2 x 4 handler instructions
    expect(sim.x(a1) - sim.x(a0)).toBe(1n + 8n);
  });
});

describe('exception delegation with medeleg (priv §3.1.8)', () => {
  it('a delegated ecall from U traps to S: scause/sepc/stval, SPP = U; M trap CSRs untouched', () => {
    const sim = runProgram(lower(PRV_U, (a) => {
      a.li(t0, bit(CAUSE.ECALL_U)).csrw(CSR.medeleg, t0);
      a.li(t0, 0x5a).csrw(CSR.mcause, t0);
    }, (a) => { a.label('ec').ecall(); }));
    expect(sim.stop).toBe('strap');
    expect(sim.priv).toBe(PRV_S);
    expect(sim.csr(CSR.scause)).toBe(8n);
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('ec')));
    expect(sim.csr(CSR.stval)).toBe(0n);
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(0n);
    expect(sim.csr(CSR.mcause)).toBe(0x5an);
  });

  it('a delegated illegal instruction from S traps to S with SPP = S and stval = bits', () => {
    const sim = runProgram(lower(PRV_S, (a) => {
      a.li(t0, bit(CAUSE.ILLEGAL)).csrw(CSR.medeleg, t0);
    }, (a) => { a.label('bad').word(0xfe000033); }));
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(2n);
    expect(sim.csr(CSR.stval)).toBe(0xfe000033n);
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(MS.SPP);
  });

  it('traps taken in M-mode are never delegated', () => {
    const sim = runProgram((a) => {
      a.li(t0, -1).csrw(CSR.medeleg, t0);
      a.word(0xfe000033);
    });
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: 2, to: PRV_M });
  });

  it('medeleg[11] (ecall from M) is read-only zero', () => {
    const sim = runProgram((a) => { a.li(t0, -1).csrw(CSR.medeleg, t0).csrr(a0, CSR.medeleg); });
    expect(sim.x(a0) & bit(11)).toBe(0n);
    expect(sim.x(a0) & bit(8)).toBe(bit(8));
  });

  it('an undelegated exception from S goes to M even if S could handle it', () => {
    const sim = runProgram(lower(PRV_S, (a) => { a.li(t0, bit(CAUSE.ECALL_U)).csrw(CSR.medeleg, t0); }, (a) => a.ecall()));
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(9n);
  });
});

describe('trap entry and xRET stacking (priv §3.1.6.1, §3.3.2)', () => {
  it('trap from S into M: MPIE <- MIE, MIE <- 0, MPP <- S', () => {
    const sim = runProgram(lower(PRV_S, (a) => { a.li(t0, MS.MPIE).csrs(CSR.mstatus, t0); }, (a) => a.ecall()));
    // enter() used mret with MPIE = 1, so MIE = 1 in S; the trap stacks it.
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MS.MIE).toBe(0n);
    expect(ms & MS.MPIE).toBe(MS.MPIE);
    expect((ms & MS.MPP) >> 11n).toBe(1n);
  });

  it('trap from U into S: SPIE <- SIE, SIE <- 0, SPP <- U', () => {
    const sim = runProgram(lower(PRV_U, (a) => {
      a.li(t0, bit(8)).csrw(CSR.medeleg, t0);
      a.li(t0, MS.SIE | MS.SPP).csrs(CSR.mstatus, t0);
    }, (a) => a.ecall()));
    expect(sim.stop).toBe('strap');
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MS.SIE).toBe(0n);
    expect(ms & MS.SPIE).toBe(MS.SPIE);
    expect(ms & MS.SPP).toBe(0n);
  });

  it('mret to S: MIE <- MPIE, MPIE <- 1, MPP <- U, MPRV <- 0, priv <- S, pc <- mepc', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.MIE | MS.MPP | MS.MPRV).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPP_S | MS.MPIE | MS.MPRV).csrs(CSR.mstatus, t0);
      a.la(t0, 'target').csrw(CSR.mepc, t0);
      a.mret();
      a.label('target').csrr(a0, CSR.sstatus);
    });
    expect(sim.rets[0]).toMatchObject({ insn: 'mret', from: PRV_M, to: PRV_S, pc: BigInt(sim.addr('target')) });
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MS.MIE).toBe(MS.MIE);
    expect(ms & MS.MPIE).toBe(MS.MPIE);
    expect(ms & MS.MPP).toBe(0n);
    expect(ms & MS.MPRV).toBe(0n);
    expect(sim.priv).toBe(PRV_S);
  });

  it('mret to M keeps MPRV; MIE <- MPIE = 0', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.MPP | MS.MPRV).csrs(CSR.mstatus, t0);
      a.li(t0, MS.MPIE).csrc(CSR.mstatus, t0);
      a.la(t0, 'target').csrw(CSR.mepc, t0);
      a.mret();
      a.label('target').nop();
    });
    const ms = sim.csr(CSR.mstatus);
    expect(sim.priv).toBe(PRV_M);
    expect(ms & MS.MPRV).toBe(MS.MPRV);
    expect(ms & MS.MIE).toBe(0n);
    expect(ms & MS.MPIE).toBe(MS.MPIE);
    // MPP <- least-privileged supported mode (U)
    expect(ms & MS.MPP).toBe(0n);
  });

  it('mret to U clears MPRV', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.MPP).csrc(CSR.mstatus, t0);
      a.li(t0, MS.MPRV).csrs(CSR.mstatus, t0);
      a.la(t0, 'target').csrw(CSR.mepc, t0);
      a.mret();
      a.label('target').ecall();
    });
    expect(sim.lastTrap).toMatchObject({ cause: 8, from: PRV_U });
    expect(sim.csr(CSR.mstatus) & MS.MPRV).toBe(0n);
  });

  it('sret to U: SIE <- SPIE, SPIE <- 1, SPP <- U, priv <- U, pc <- sepc', () => {
    const sim = runProgram(lower(PRV_S, noSetup, (a) => {
      a.li(t0, MS.SPP | MS.SIE).csrc(CSR.sstatus, t0);
      a.li(t0, MS.SPIE).csrs(CSR.sstatus, t0);
      a.la(t0, 'u').csrw(CSR.sepc, t0);
      a.sret();
      a.label('u').ecall();
    }));
    expect(sim.rets[1]).toMatchObject({ insn: 'sret', from: PRV_S, to: PRV_U, pc: BigInt(sim.addr('u')) });
    expect(sim.lastTrap).toMatchObject({ cause: 8, from: PRV_U });
    const ms = sim.csr(CSR.mstatus);
    expect(ms & MS.SIE).toBe(MS.SIE);
    expect(ms & MS.SPIE).toBe(MS.SPIE);
    expect(ms & MS.SPP).toBe(0n);
  });

  it('sret executed in M-mode returns to SPP and clears MPRV', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.SPP | MS.MPRV).csrs(CSR.mstatus, t0);
      a.la(t0, 's').csrw(CSR.sepc, t0);
      a.sret();
      a.label('s').ecall();
    });
    expect(sim.lastTrap).toMatchObject({ cause: 9, from: PRV_S });
    expect(sim.csr(CSR.mstatus) & MS.MPRV).toBe(0n);
  });

  it('mret in S-mode and U-mode, sret in U-mode are illegal', () => {
    for (const [priv, insn] of [[PRV_S, MRET], [PRV_U, MRET], [PRV_U, SRET]] as const) {
      const sim = runProgram(lower(priv, noSetup, (a) => { a.word(insn); }));
      expect(sim.lastTrap, `priv ${priv} insn ${insn.toString(16)}`).toMatchObject({ cause: 2, tval: BigInt(insn), from: priv });
    }
  });
});

describe('trapping instructions: WFI / TW, SRET / TSR, SFENCE.VMA and satp / TVM (priv §3.1.6.5)', () => {
  it('wfi in U-mode is illegal', () => {
    const sim = runProgram(lower(PRV_U, noSetup, (a) => { a.wfi(); }));
    expect(sim.lastTrap).toMatchObject({ cause: 2, tval: BigInt(WFI), from: PRV_U });
  });

  it('wfi in S-mode with TW=1 is illegal', () => {
    const sim = runProgram(lower(PRV_S, (a) => { a.li(t0, MS.TW).csrs(CSR.mstatus, t0); }, (a) => { a.wfi(); }));
    expect(sim.lastTrap).toMatchObject({ cause: 2, tval: BigInt(WFI), from: PRV_S });
  });

  it('wfi in S-mode with TW=0 and in M-mode with TW=1 is legal', () => {
    const s = runProgram(lower(PRV_S, noSetup, (a) => { a.wfi(); }));
    expect(s.traps).toEqual([]);
    expect(s.stop).toBe('wfi');
    const m = runProgram((a) => { a.li(t0, MS.TW).csrs(CSR.mstatus, t0).wfi(); });
    expect(m.traps).toEqual([]);
    expect(m.stop).toBe('wfi');
  });

  it('wfi completes when an interrupt is pending in mie, even if globally disabled', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0);
      a.wfi();
      a.li(a0, 1);
    });
    sim.h.setIrqLine(IRQ.MTI, true);
    expect(sim.run()).toBe('done');
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(1n);
  });

  it('sret in S-mode with TSR=1 is illegal; with TSR=0 it is legal', () => {
    const bad = runProgram(lower(PRV_S, (a) => { a.li(t0, MS.TSR).csrs(CSR.mstatus, t0); }, (a) => { a.sret(); }));
    expect(bad.lastTrap).toMatchObject({ cause: 2, tval: BigInt(SRET), from: PRV_S });
    const ok = runProgram(lower(PRV_S, noSetup, (a) => { a.la(t0, 'u').csrw(CSR.sepc, t0).sret().label('u').ecall(); }));
    expect(ok.lastTrap).toMatchObject({ cause: 8, from: PRV_U });
  });

  it('sret in M-mode ignores TSR', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.TSR | MS.SPP).csrs(CSR.mstatus, t0);
      a.la(t0, 's').csrw(CSR.sepc, t0).sret().label('s').ecall();
    });
    expect(sim.lastTrap).toMatchObject({ cause: 9, from: PRV_S });
  });

  it('sfence.vma and satp accesses are illegal in S-mode with TVM=1', () => {
    const setTvm = (a: Asm): void => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0); };
    const sf = runProgram(lower(PRV_S, setTvm, (a) => { a.sfence_vma(); }));
    expect(sf.lastTrap).toMatchObject({ cause: 2, tval: 0x12000073n, from: PRV_S });
    const rd = runProgram(lower(PRV_S, setTvm, (a) => { a.csrr(a0, CSR.satp); }));
    expect(rd.lastTrap).toMatchObject({ cause: 2, tval: BigInt(encCsr(2, a0, CSR.satp, 0)), from: PRV_S });
    const wr = runProgram(lower(PRV_S, setTvm, (a) => { a.csrw(CSR.satp, zero); }));
    expect(wr.lastTrap).toMatchObject({ cause: 2, from: PRV_S });
  });

  it('sfence.vma and satp are legal in S-mode with TVM=0 and in M-mode with TVM=1', () => {
    const s = runProgram(lower(PRV_S, noSetup, (a) => { a.sfence_vma().csrr(a0, CSR.satp).csrw(CSR.satp, zero); }));
    expect(s.traps).toEqual([]);
    expect(s.stop).toBe('done');
    const m = runProgram((a) => { a.li(t0, MS.TVM).csrs(CSR.mstatus, t0).sfence_vma().csrr(a0, CSR.satp).csrw(CSR.satp, zero); });
    expect(m.traps).toEqual([]);
  });

  it('sfence.vma in U-mode is illegal', () => {
    const sim = runProgram(lower(PRV_U, noSetup, (a) => { a.sfence_vma(); }));
    expect(sim.lastTrap).toMatchObject({ cause: 2, from: PRV_U });
  });
});

describe('CSR access rules (priv §2.1, unpriv §9.1)', () => {
  it('M-level CSRs are illegal from S-mode, S-level CSRs from U-mode', () => {
    const s = runProgram(lower(PRV_S, noSetup, (a) => { a.csrr(a0, CSR.mstatus); }));
    expect(s.lastTrap).toMatchObject({ cause: 2, from: PRV_S });
    const u = runProgram(lower(PRV_U, noSetup, (a) => { a.csrr(a0, CSR.sstatus); }));
    expect(u.lastTrap).toMatchObject({ cause: 2, from: PRV_U });
    const ok = runProgram(lower(PRV_S, noSetup, (a) => { a.csrr(a0, CSR.sstatus).csrr(a1, CSR.sscratch); }));
    expect(ok.traps).toEqual([]);
  });

  it('csrrw to a read-only CSR is illegal even with rs1 = x0 and rd = x0', () => {
    const sim = runProgram((a) => { a.csrrw(zero, CSR.mhartid, zero); });
    expect(sim.lastTrap).toMatchObject({ cause: 2, tval: BigInt(encCsr(1, 0, CSR.mhartid, 0)) });
  });

  it('csrrwi to a read-only CSR is illegal even with uimm = 0', () => {
    const sim = runProgram((a) => { a.csrrwi(a0, CSR.mvendorid, 0); });
    expect(sim.lastTrap).toMatchObject({ cause: 2 });
  });

  it('csrrs/csrrc with rs1 = x0 and csrrsi/csrrci with uimm = 0 read a read-only CSR without trapping', () => {
    const sim = runProgram((a) => {
      a.csrrs(a0, CSR.mhartid, zero);
      a.csrrc(a1, CSR.mhartid, zero);
      a.csrrsi(a2, CSR.mvendorid, 0);
      a.csrrci(t0, CSR.marchid, 0);
    }, { regs: { [a0]: 99, [a1]: 99 } });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(0n);
    expect(sim.x(a1)).toBe(0n);
  });

  it('csrrs with a nonzero rs1 register holding 0 is a write: illegal on a read-only CSR', () => {
    const sim = runProgram((a) => { a.li(t0, 0).csrrs(a0, CSR.mhartid, t0); });
    expect(sim.lastTrap).toMatchObject({ cause: 2 });
  });

  it('writes to the read-only user counters are illegal', () => {
    for (const c of [CSR.cycle, CSR.time, CSR.instret]) {
      const sim = runProgram((a) => { a.csrw(c, zero); });
      expect(sim.lastTrap, `csr 0x${c.toString(16)}`).toMatchObject({ cause: 2 });
    }
  });

  it('an unimplemented CSR number is illegal', () => {
    const sim = runProgram((a) => { a.csrr(a0, 0x7c0); });
    expect(sim.lastTrap).toMatchObject({ cause: 2 });
  });

  it('csrrs with rs1 = x0 does not write (no side effect: FS stays Clean after reading fflags)', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.FS).csrc(CSR.mstatus, t0);
      a.li(t0, MS.FS_CLEAN).csrs(CSR.mstatus, t0);
      a.csrrs(a0, CSR.fflags, zero);
      a.csrrci(a1, CSR.fflags, 0);
      a.csrr(a2, CSR.mstatus);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a2) & MS.FS).toBe(MS.FS_CLEAN);
  });

  it('csrrw rd = rs1 returns the old value and writes the new one', () => {
    const sim = runProgram((a) => {
      a.li(t0, 111).csrw(CSR.mscratch, t0);
      a.li(a0, 222).csrrw(a0, CSR.mscratch, a0);
      a.csrr(a1, CSR.mscratch);
    });
    expect(sim.x(a0)).toBe(111n);
    expect(sim.x(a1)).toBe(222n);
  });

  it('mstatus UXL/SXL read as 2 (XLEN 64) and cannot be changed; SD is read-only', () => {
    const sim = runProgram((a) => {
      a.li(t0, 0xf00000000n).csrc(CSR.mstatus, t0);
      a.li(t0, MS.SD).csrs(CSR.mstatus, t0);
      a.csrr(a0, CSR.mstatus);
      a.csrr(a1, CSR.sstatus);
    });
    expect((sim.x(a0) >> 32n) & 0xfn).toBe(0xan);
    expect((sim.x(a1) >> 32n) & 0x3n).toBe(0x2n); // sstatus shows UXL
    expect(sim.x(a0) & MS.SD).toBe(0n); // FS = Off, so SD = 0
  });

  it('mip.SEIP: csrrs/csrrc read-modify-write uses only the software-writable SEIP bit (§3.1.9)', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.SSI)).csrs(CSR.mip, t0); // read-modify-write of mip while the external SEIP line is high
      a.csrr(a0, CSR.mip);
    });
    sim.h.setIrqLine(IRQ.SEI, true);
    sim.run();
    expect(sim.x(a0) & bit(IRQ.SEI)).toBe(bit(IRQ.SEI)); // reads as the OR
    sim.h.setIrqLine(IRQ.SEI, false);
    // the software SEIP bit must still be 0: the csrs must not have latched the external level
    expect(sim.csr(CSR.mip) & bit(IRQ.SEI)).toBe(0n);
    expect(sim.csr(CSR.mip) & bit(IRQ.SSI)).toBe(bit(IRQ.SSI));
  });
});

describe('interrupts (priv §3.1.9, §4.1.3)', () => {
  /**
   * M-mode program: mtvec = a handler that records mcause at s1++ and masks that interrupt
   * in mie, then mret. The body enables `mieBits`, then sets MIE.
   */
  function recordOrder(mieBits: bigint, pend: (sim: Sim) => void): bigint[] {
    const sim = new Sim((a) => {
      a.la(t0, 'h').csrw(CSR.mtvec, t0);
      a.li(t0, mieBits).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8);
      a.nop().nop();
      a.j('done');
      a.align(4).label('h');
      a.csrr(t0, CSR.mcause).sd(t0, 0, s1).addi(s1, s1, 8);
      a.li(t1, 1).sll(t1, t1, t0).csrc(CSR.mie, t1).mret();
    }, { regs: { [s1]: DATA } });
    pend(sim);
    expect(sim.run()).toBe('done');
    const n = Number((sim.x(s1) - BigInt(DATA)) / 8n);
    return Array.from({ length: n }, (_, i) => sim.read64(DATA + 8 * i));
  }

  it('simultaneous interrupts are taken in the order MEI > MSI > MTI > SEI > SSI > STI', () => {
    const all = [IRQ.MEI, IRQ.MSI, IRQ.MTI, IRQ.SEI, IRQ.SSI, IRQ.STI];
    const order = recordOrder(all.reduce((m, b) => m | bit(b), 0n), (sim) => {
      sim.h.setIrqLine(IRQ.MSI, true);
      sim.h.setIrqLine(IRQ.MTI, true);
      sim.h.setIrqLine(IRQ.MEI, true);
      sim.h.csrSet(CSR.mip, bit(IRQ.SEI) | bit(IRQ.SSI) | bit(IRQ.STI), 'firmware');
    });
    expect(order).toEqual(all.map((c) => INT | BigInt(c)));
  });

  it.each([
    ['MEI over MSI', IRQ.MEI, IRQ.MSI],
    ['MSI over MTI', IRQ.MSI, IRQ.MTI],
    ['MTI over SEI', IRQ.MTI, IRQ.SEI],
    ['SEI over SSI', IRQ.SEI, IRQ.SSI],
    ['SSI over STI', IRQ.SSI, IRQ.STI],
  ])('%s', (_n, hi, lo) => {
    const order = recordOrder(bit(hi) | bit(lo), (sim) => {
      for (const b of [hi, lo]) {
        if (b === IRQ.MSI || b === IRQ.MTI || b === IRQ.MEI) sim.h.setIrqLine(b, true);
        else sim.h.csrSet(CSR.mip, sim.csr(CSR.mip) | bit(b), 'firmware');
      }
    });
    expect(order).toEqual([INT | BigInt(hi), INT | BigInt(lo)]);
  });

  it('an interrupt enabled by csrs mstatus is taken before the next instruction: mepc = next, mtval = 0', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8);
      a.label('next').li(a0, 1);
    });
    sim.h.setIrqLine(IRQ.MTI, true);
    sim.h.csrSet(CSR.mtval, 0x1234n, 'firmware');
    expect(sim.run()).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(INT | 7n);
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('next')));
    expect(sim.csr(CSR.mtval)).toBe(0n);
    expect(sim.x(a0)).not.toBe(1n);
  });

  it('M-mode interrupts are not taken in M with MIE = 0', () => {
    const sim = new Sim((a) => { a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0).nop().nop(); });
    sim.h.setIrqLine(IRQ.MTI, true);
    expect(sim.run()).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('M-mode interrupts are always enabled below M, regardless of MIE (U and S)', () => {
    for (const priv of [PRV_U, PRV_S]) {
      const sim = new Sim(lower(priv, (a) => {
        a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0);
        a.li(t0, MS.MIE | MS.MPIE).csrc(CSR.mstatus, t0);
      }, (a) => { a.label('l1').nop().nop(); }));
      sim.h.setIrqLine(IRQ.MTI, true);
      expect(sim.run()).toBe('mtrap');
      expect(sim.lastTrap).toMatchObject({ cause: 7, interrupt: true, from: priv, to: PRV_M, epc: BigInt(sim.addr('l1')) });
    }
  });

  it('an undelegated S-level interrupt is an M interrupt: taken from S with MIE = SIE = 0', () => {
    const sim = new Sim(lower(PRV_S, (a) => {
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mie, t0).csrs(CSR.mip, t0);
      a.li(t0, MS.MIE | MS.MPIE | MS.SIE).csrc(CSR.mstatus, t0);
    }, (a) => { a.nop().nop(); }));
    expect(sim.run()).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: 1, interrupt: true, from: PRV_S, to: PRV_M });
  });

  it('a delegated interrupt is never taken in M-mode, even with MIE = SIE = 1', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.STI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0).csrs(CSR.mip, t0);
      a.li(t0, MS.MIE | MS.SIE).csrs(CSR.mstatus, t0);
      a.nop().nop();
    });
    expect(sim.run()).toBe('done');
    expect(sim.traps).toEqual([]);
  });

  it('a delegated interrupt in S-mode is taken to S only when SIE = 1', () => {
    const setup = (sie: boolean) => (a: Asm): void => {
      a.li(t0, bit(IRQ.STI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0).csrs(CSR.mip, t0);
      a.li(t0, MS.SIE).csrc(CSR.mstatus, t0);
      if (sie) a.csrs(CSR.mstatus, t0);
    };
    const off = runProgram(lower(PRV_S, setup(false), (a) => { a.nop(); }));
    expect(off.stop).toBe('done');
    expect(off.traps).toEqual([]);
    const on = runProgram(lower(PRV_S, setup(true), (a) => { a.label('l1').nop(); }));
    expect(on.stop).toBe('strap');
    expect(on.lastTrap).toMatchObject({ cause: 5, interrupt: true, from: PRV_S, to: PRV_S, epc: BigInt(on.addr('l1')) });
    expect(on.csr(CSR.scause)).toBe(INT | 5n);
    expect(on.csr(CSR.stval)).toBe(0n);
    expect(on.csr(CSR.mstatus) & MS.SPP).toBe(MS.SPP);
    expect(on.csr(CSR.mstatus) & MS.SPIE).toBe(MS.SPIE);
  });

  it('a delegated interrupt in U-mode is taken to S regardless of SIE', () => {
    const sim = runProgram(lower(PRV_U, (a) => {
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0).csrs(CSR.mip, t0);
      a.li(t0, MS.SIE).csrc(CSR.mstatus, t0);
    }, (a) => { a.nop(); }));
    expect(sim.stop).toBe('strap');
    expect(sim.lastTrap).toMatchObject({ cause: 1, interrupt: true, from: PRV_U, to: PRV_S });
    expect(sim.csr(CSR.mstatus) & MS.SPP).toBe(0n);
  });

  it('in S-mode, a pending M interrupt is taken before a pending delegated S interrupt', () => {
    const sim = new Sim(lower(PRV_S, (a) => {
      a.li(t0, bit(IRQ.SEI)).csrw(CSR.mideleg, t0);
      a.li(t0, bit(IRQ.SEI) | bit(IRQ.MTI)).csrw(CSR.mie, t0);
      a.li(t0, MS.SIE).csrs(CSR.mstatus, t0);
      a.li(t0, bit(IRQ.SEI)).csrs(CSR.mip, t0);
    }, (a) => { a.nop(); }));
    sim.h.setIrqLine(IRQ.MTI, true);
    expect(sim.run()).toBe('mtrap');
    expect(sim.traps[0]).toMatchObject({ cause: 7, interrupt: true, to: PRV_M });
  });

  it('mideleg only delegates supervisor interrupts; sie/sip show only delegated bits', () => {
    const sim = runProgram((a) => {
      a.li(t0, -1).csrw(CSR.mideleg, t0).csrr(a0, CSR.mideleg);
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mideleg, t0);
      a.li(t0, bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.MTI)).csrw(CSR.mie, t0);
      a.csrr(a1, CSR.sie);
    });
    expect(sim.x(a0) & (bit(IRQ.MSI) | bit(IRQ.MTI) | bit(IRQ.MEI))).toBe(0n);
    expect(sim.x(a0) & (bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI))).toBe(bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI));
    expect(sim.x(a1)).toBe(bit(IRQ.SSI));
  });

  it('vectored mtvec: interrupts go to BASE + 4*cause, exceptions to BASE', () => {
    const build = (trigger: (a: Asm) => void) => (a: Asm): void => {
      a.la(t0, 'vt').ori(t0, t0, 1).csrw(CSR.mtvec, t0);
      trigger(a);
      a.j('done');
      a.align(256).label('vt');
      for (let i = 0; i < 16; i++) a.label(`v${i}`).j(`v${i}`);
    };
    const irq = new Sim(build((a) => { a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0).csrsi(CSR.mstatus, 8).nop(); }));
    irq.h.setIrqLine(IRQ.MTI, true);
    irq.run({ maxSteps: 200 });
    expect(irq.traps[0]).toMatchObject({ cause: 7, interrupt: true, pc: BigInt(irq.addr('vt') + 4 * 7) });
    expect(irq.csr(CSR.mtvec) & 3n).toBe(1n);
    const exc = runProgram(build((a) => { a.ecall(); }), { maxSteps: 200 });
    expect(exc.traps[0]).toMatchObject({ cause: 11, interrupt: false, pc: BigInt(exc.addr('vt')) });
  });

  it('vectored stvec: a delegated interrupt goes to BASE + 4*cause', () => {
    const sim = new Sim(lower(PRV_U, (a) => {
      a.la(t0, 'vt').ori(t0, t0, 1).csrw(CSR.stvec, t0);
      a.li(t0, bit(IRQ.SEI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0);
    }, (a) => {
      a.nop().j('done');
      a.align(256).label('vt');
      for (let i = 0; i < 16; i++) a.label(`v${i}`).j(`v${i}`);
    }));
    sim.h.setIrqLine(IRQ.SEI, true);
    sim.run({ maxSteps: 200 });
    expect(sim.traps[0]).toMatchObject({ cause: 9, interrupt: true, to: PRV_S, pc: BigInt(sim.addr('vt') + 4 * 9) });
  });

  it('a CLINT timer interrupt wakes WFI under the scheduler (mtimecmp <= mtime raises MTIP)', () => {
    const sim = new Sim((a) => {
      a.la(t0, 'h').csrw(CSR.mtvec, t0);
      a.li(t1, CLINT + 0x4000).li(t0, 50).sd(t0, 0, t1); // mtimecmp[0] = 50 ticks
      a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0).csrsi(CSR.mstatus, 8);
      a.label('w').wfi();
      a.label('spin').j('spin');
      a.align(4).label('h');
      a.csrr(s1, CSR.mcause).csrr(a1, CSR.mepc).csrr(a2, CSR.time);
      a.li(t1, 0x10_0000).li(t0, 0x5555).sw(t0, 0, t1);
      a.j('h');
    });
    const halt = new Scheduler(sim.m).runToEnd();
    expect(halt.kind).toBe('poweroff');
    expect(sim.x(s1)).toBe(INT | 7n);
    expect(sim.x(a1)).toBe(BigInt(sim.addr('spin'))); // wfi completed; mepc = next instruction
    expect(sim.x(a2)).toBeGreaterThanOrEqual(50n);
  });

  it('a CLINT msip write raises MSIP and is taken as cause 3', () => {
    const sim = runProgram((a) => {
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0).csrsi(CSR.mstatus, 8);
      a.li(t1, CLINT).li(t2, 1).sw(t2, 0, t1);
      a.label('after').nop();
    });
    expect(sim.stop).toBe('mtrap');
    expect(sim.lastTrap).toMatchObject({ cause: 3, interrupt: true, epc: BigInt(sim.addr('after')) });
  });
});

describe('counters and counter-enable gating (priv §3.1.10-3.1.12, §4.1.5; unpriv ch. 10)', () => {
  const counters: [string, number, number][] = [['cycle', CSR.cycle, 0], ['time', CSR.time, 1], ['instret', CSR.instret, 2], ['hpmcounter3', 0xc03, 3]];

  it.each(counters)('%s is readable in M-mode regardless of mcounteren', (_n, csr) => {
    const sim = runProgram((a) => { a.csrw(CSR.mcounteren, zero).csrr(a0, csr); });
    expect(sim.traps).toEqual([]);
  });

  it.each(counters)('%s in S-mode needs mcounteren bit', (_n, csr, b) => {
    const denied = runProgram(lower(PRV_S, (a) => {
      a.li(t0, ~(1 << b)).csrw(CSR.mcounteren, t0).li(t0, -1).csrw(CSR.scounteren, t0);
    }, (a) => { a.csrr(a0, csr); }));
    expect(denied.lastTrap).toMatchObject({ cause: 2, from: PRV_S });
    const ok = runProgram(lower(PRV_S, (a) => {
      a.li(t0, 1 << b).csrw(CSR.mcounteren, t0).csrw(CSR.scounteren, zero);
    }, (a) => { a.csrr(a0, csr); }));
    expect(ok.traps).toEqual([]);
  });

  it.each(counters)('%s in U-mode needs both mcounteren and scounteren bits', (_n, csr, b) => {
    const cases: [number, number, boolean][] = [[0, 0, false], [1 << b, 0, false], [0, 1 << b, false], [1 << b, 1 << b, true]];
    for (const [mc, sc, allowed] of cases) {
      const sim = runProgram(lower(PRV_U, (a) => {
        a.li(t0, mc).csrw(CSR.mcounteren, t0).li(t0, sc).csrw(CSR.scounteren, t0);
      }, (a) => { a.csrr(a0, csr); }));
      if (allowed) expect(sim.traps, `mcounteren=${mc} scounteren=${sc}`).toEqual([]);
      else expect(sim.lastTrap, `mcounteren=${mc} scounteren=${sc}`).toMatchObject({ cause: 2, from: PRV_U });
    }
  });

  it('instret counts retired instructions; cycle and minstret advance', () => {
    const sim = runProgram((a) => {
      a.csrr(a0, CSR.instret);
      a.nop().nop().nop();
      a.csrr(a1, CSR.instret);
      a.csrr(a2, CSR.minstret);
    });
    expect(sim.x(a1) - sim.x(a0)).toBe(4n);
    expect(sim.x(a2) - sim.x(a1)).toBe(1n);
  });

  it('the time CSR shadows the CLINT mtime register', () => {
    const sim = runProgram((a) => {
      a.li(t1, CLINT + 0xbff8).li(t0, 1_000_000).sd(t0, 0, t1);
      a.csrr(a0, CSR.time);
      a.ld(a1, 0, t1);
      a.csrr(a2, CSR.time);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBeGreaterThanOrEqual(1_000_000n);
    expect(sim.x(a0)).toBeLessThan(1_000_010n);
    expect(sim.x(a1)).toBeGreaterThanOrEqual(sim.x(a0));
    expect(sim.x(a2)).toBeGreaterThanOrEqual(sim.x(a1));
  });

  it('a write to minstret sets the counter seen by the next read', () => {
    const sim = runProgram((a) => {
      a.li(t0, 1000).csrw(CSR.minstret, t0);
      a.csrr(a0, CSR.minstret);
    });
    // the csrw itself does not increment the written value (priv §3.1.10)
    expect(sim.x(a0)).toBe(1000n);
  });

  it('if mcountinhibit.IR reads 1, minstret does not advance (WARL: it may also read 0)', () => {
    const sim = runProgram((a) => {
      a.csrwi(CSR.mcountinhibit, 5);
      a.csrr(a2, CSR.mcountinhibit);
      a.csrr(a0, CSR.minstret);
      a.nop().nop();
      a.csrr(a1, CSR.minstret);
    });
    if ((sim.x(a2) & 4n) !== 0n) expect(sim.x(a1)).toBe(sim.x(a0));
    else expect(sim.x(a1) - sim.x(a0)).toBe(3n);
  });
});

describe('CSR fields and WARL behaviour (priv §3.1, §4.1)', () => {
  it('misa reports RV64 (MXL = 2) with A, C, D, F, H, I, M, S, U', () => {
    const sim = runProgram((a) => { a.csrr(a0, CSR.misa); });
    const ext = 'ACDFHIMSU'.split('').reduce((m, c) => m | bit(c.charCodeAt(0) - 65), 0n);
    expect(sim.x(a0) >> 62n).toBe(2n);
    expect(sim.x(a0) & 0x3ffffffn).toBe(ext);
  });

  it('mepc/sepc bit 0 always reads 0 (IALIGN = 16)', () => {
    const sim = runProgram((a) => {
      a.li(t0, 0x80001235).csrw(CSR.mepc, t0).csrw(CSR.sepc, t0);
      a.csrr(a0, CSR.mepc).csrr(a1, CSR.sepc);
    });
    expect(sim.x(a0)).toBe(0x80001234n);
    expect(sim.x(a1)).toBe(0x80001234n);
  });

  // mtimecmp resets to 0 (as QEMU 7.2), so MTIP is pending until the timer is programmed:
  // these tests first park mtimecmp[0] at the far future (CLINT 0x2004000).
  it('mip: only SSIP, STIP, SEIP and VSSIP (alias of hvip.VSSIP, §8.2.?) are writable from M; MSIP/MTIP/MEIP are read-only', () => {
    const sim = runProgram((a) => {
      a.li(t1, 0x2004000).li(t0, -1).sd(t0, 0, t1);
      a.li(t0, -1).csrw(CSR.mip, t0).csrr(a0, CSR.mip);
    });
    expect(sim.x(a0)).toBe(bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI) | bit(2));
  });

  it('sip: S-mode can write only SSIP (when delegated); sie: only delegated bits', () => {
    const sim = runProgram(lower(PRV_S, (a) => {
      a.li(t0, bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI)).csrw(CSR.mideleg, t0);
      a.csrw(CSR.mie, zero);
    }, (a) => {
      a.li(t0, -1).csrw(CSR.sip, t0).csrr(a0, CSR.sip);
      a.li(t0, -1).csrw(CSR.sie, t0).csrr(a1, CSR.sie);
    }));
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(bit(IRQ.SSI));
    expect(sim.x(a1)).toBe(bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI));
    expect(sim.csr(CSR.mie)).toBe(bit(IRQ.SSI) | bit(IRQ.STI) | bit(IRQ.SEI));
  });

  it('sie writes do not touch non-delegated (M-level) enables', () => {
    const sim = runProgram(lower(PRV_S, (a) => {
      a.li(t1, 0x2004000).li(t0, -1).sd(t0, 0, t1);
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mideleg, t0);
      a.li(t0, bit(IRQ.MTI) | bit(IRQ.STI)).csrw(CSR.mie, t0);
    }, (a) => { a.li(t0, -1).csrw(CSR.sie, t0); }));
    expect(sim.csr(CSR.mie)).toBe(bit(IRQ.MTI) | bit(IRQ.STI) | bit(IRQ.SSI));
  });

  it('sstatus is a view of mstatus without the M-only fields', () => {
    const sim = runProgram((a) => {
      a.li(t0, MS.MIE | MS.MPIE | MS.MPP | MS.MPRV | MS.TVM | MS.TW | MS.TSR | MS.SIE | MS.SUM | MS.MXR).csrs(CSR.mstatus, t0);
      a.csrr(a0, CSR.sstatus);
      a.li(t0, -1).csrw(CSR.sstatus, t0);
      a.csrr(a1, CSR.mstatus);
    });
    const m = sim.x(a0);
    expect(m & (MS.MIE | MS.MPIE | MS.MPP | MS.MPRV | MS.TVM | MS.TW | MS.TSR)).toBe(0n);
    expect(m & (MS.SIE | MS.SUM | MS.MXR)).toBe(MS.SIE | MS.SUM | MS.MXR);
    // writing all ones through sstatus leaves the M-only fields as they were
    expect(sim.x(a1) & (MS.MPRV | MS.TVM | MS.TW | MS.TSR | MS.MPP)).toBe(MS.MPRV | MS.TVM | MS.TW | MS.TSR | MS.MPP);
    expect(sim.x(a1) & (MS.SPIE | MS.SPP)).toBe(MS.SPIE | MS.SPP);
  });

  it('mhartid reads the hart id', () => {
    const sim = runProgram((a) => { a.csrr(a1, CSR.mhartid); });
    expect(sim.x(a1)).toBe(0n);
  });
});

describe('physical access faults (priv §3.1.15, §3.6)', () => {
  it('a load from an address with no RAM or device -> load access fault 5, mtval = address', () => {
    const sim = runProgram((a) => { a.li(t0, 0x40).label('i').ld(a0, 0, t0); });
    expect(sim.lastTrap).toMatchObject({ cause: 5, tval: 0x40n, epc: BigInt(sim.addr('i')) });
  });

  it('a store to an address with no RAM or device -> store access fault 7', () => {
    const sim = runProgram((a) => { a.li(t0, 0x7000_0000).sw(a0, 4, t0); });
    expect(sim.lastTrap).toMatchObject({ cause: 7, tval: 0x7000_0004n });
  });

  it('a load beyond the end of RAM -> load access fault 5', () => {
    const sim = runProgram((a) => { a.li(t0, 0x8000_0000 + 16 * 1024 * 1024).lw(a0, 0, t0); });
    expect(sim.lastTrap).toMatchObject({ cause: 5, tval: BigInt(0x8000_0000 + 16 * 1024 * 1024) });
  });

  it('an instruction fetch from a device (CLINT) -> fetch access fault 1, mepc = mtval = target', () => {
    const sim = runProgram((a) => { a.li(t0, CLINT).jalr(zero, t0, 0); });
    expect(sim.lastTrap).toMatchObject({ cause: 1, tval: BigInt(CLINT), epc: BigInt(CLINT) });
  });

  it('M-mode (bare) loads from addresses with high bits set -> access fault with the exact address', () => {
    for (const va of [0xffffffff80000000n, 0x8000000000000000n, 0x0100000000000000n]) {
      const sim = runProgram((a) => { a.li(t0, va).ld(a0, 0, t0); });
      expect(sim.lastTrap, `0x${va.toString(16)}`).toMatchObject({ cause: 5, tval: va });
    }
  });

  it('an instruction fetch from unmapped physical memory -> fetch access fault 1', () => {
    // 0x10000: right after the reset ROM (0x1000-0xffff, which is fetchable as on QEMU virt).
    const sim = runProgram((a) => { a.li(t0, 0x10000).jalr(zero, t0, 0); });
    expect(sim.lastTrap).toMatchObject({ cause: 1, tval: 0x10000n, epc: 0x10000n });
  });
});

describe('unimplemented and reserved encodings are illegal', () => {
  // The H extension is implemented: its instructions and CSRs are covered by test/hart/hext*.
  it.each([
    ['csrr of an unimplemented CSR (mhpmcounter3h does not exist in RV64)', encCsr(2, a0, 0xb83, 0)],
    ['slliw with shamt[5] = 1 (reserved, unpriv §5.2)', 0x0205951b],
  ])('%s', (_n, w) => {
    const sim = runProgram((a) => { a.word(w); });
    expect(sim.lastTrap).toMatchObject({ cause: 2, tval: BigInt(w) });
  });
});

describe('Sstc (stimecmp)', () => {
  const STCE = 1n << 63n;
  it('with menvcfg.STCE = 1, STIP follows stimecmp <= time and is read-only in mip', () => {
    const sim = runProgram((a) => {
      a.li(t0, STCE).csrs(CSR.menvcfg, t0);
      a.csrw(CSR.stimecmp, zero);
      a.csrr(a0, CSR.mip);
      a.li(t0, bit(IRQ.STI)).csrc(CSR.mip, t0);
      a.csrr(a1, CSR.mip);
      a.li(t0, -1).csrw(CSR.stimecmp, t0);
      a.csrr(a2, CSR.mip);
    });
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0) & bit(IRQ.STI)).toBe(bit(IRQ.STI));
    expect(sim.x(a1) & bit(IRQ.STI)).toBe(bit(IRQ.STI));
    expect(sim.x(a2) & bit(IRQ.STI)).toBe(0n);
  });

  it('stimecmp from S-mode needs menvcfg.STCE and mcounteren.TM', () => {
    const cases: [bigint, number, boolean][] = [[0n, 2, false], [STCE, 0, false], [STCE, 2, true]];
    for (const [envcfg, tm, ok] of cases) {
      const sim = runProgram(lower(PRV_S, (a) => {
        a.li(t0, envcfg).csrw(CSR.menvcfg, t0).li(t0, tm).csrw(CSR.mcounteren, t0);
      }, (a) => { a.csrr(a0, CSR.stimecmp); }));
      if (ok) expect(sim.traps).toEqual([]);
      else expect(sim.lastTrap, `menvcfg=${envcfg} TM=${tm}`).toMatchObject({ cause: 2, from: PRV_S });
    }
  });
});
