/**
 * "A" extension (unprivileged spec 20191213 chapter 8; privileged spec 1.12 §3.6.3 for the
 * exception types of misaligned atomics).
 */
import { describe, expect, it } from 'vitest';
import {
  Sim, runProgram, a0, a1, a2, a3, s1, t0, t1, t2, zero, CSR, PRV_S, DATA, RAM_BASE,
  PMP_R, PMP_X, PMP_W, PMP_NAPOT, napot, type AmoName,
} from './harness.js';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint): bigint => BigInt.asUintN(64, v);
const sx32 = (v: bigint): bigint => u(BigInt.asIntN(32, v));

describe('LR/SC (§8.2)', () => {
  it('lr.w / sc.w succeed: sc writes 0 to rd and stores the word', () => {
    const sim = runProgram((a) => {
      a.lr_w(a0, s1);
      a.sc_w(a1, a2, s1);
    }, { regs: { [s1]: DATA, [a2]: 0x1_2345_6789n } });
    expect(sim.x(a1)).toBe(0n);
    expect(sim.read32(DATA)).toBe(0x23456789);
    expect(sim.read32(DATA + 4)).toBe(0); // only 32 bits stored
  });

  it('lr.w sign-extends the loaded word', () => {
    const sim = new Sim((a) => { a.lr_w(a0, s1); }, { regs: { [s1]: DATA } });
    sim.write32(DATA, 0x80000001);
    sim.run();
    expect(sim.x(a0)).toBe(0xffffffff80000001n);
  });

  it('lr.d / sc.d succeed on a doubleword', () => {
    const sim = new Sim((a) => { a.lr_d(a0, s1).sc_d(a1, a2, s1); }, { regs: { [s1]: DATA, [a2]: 0xfedcba9876543210n } });
    sim.write64(DATA, 0x1111n);
    sim.run();
    expect(sim.x(a0)).toBe(0x1111n);
    expect(sim.x(a1)).toBe(0n);
    expect(sim.read64(DATA)).toBe(0xfedcba9876543210n);
  });

  it('sc without a reservation fails: rd != 0 and memory is unchanged', () => {
    const sim = new Sim((a) => { a.sc_w(a1, a2, s1); }, { regs: { [s1]: DATA, [a2]: 7n } });
    sim.write32(DATA, 0x55);
    sim.run();
    expect(sim.traps).toEqual([]);
    expect(sim.x(a1)).not.toBe(0n);
    expect(sim.read32(DATA)).toBe(0x55);
  });

  it('a successful sc invalidates the reservation: a second sc fails', () => {
    const sim = runProgram((a) => {
      a.lr_d(a0, s1);
      a.sc_d(a1, a2, s1);
      a.sc_d(a3, zero, s1);
    }, { regs: { [s1]: DATA, [a2]: 9n } });
    expect(sim.x(a1)).toBe(0n);
    expect(sim.x(a3)).not.toBe(0n);
    expect(sim.read64(DATA)).toBe(9n);
  });

  it('a failed sc also invalidates the reservation', () => {
    const sim = runProgram((a) => {
      a.lr_w(a0, s1);
      a.addi(t0, s1, 0x100).sc_w(a1, a2, t0); // different address: fails, or succeeds if in the set
      a.sc_w(a3, a2, s1); // must fail either way: any sc invalidates the reservation
    }, { regs: { [s1]: DATA + 0x1000, [a2]: 3n } });
    expect(sim.x(a3)).not.toBe(0n);
    expect(sim.read32(DATA + 0x1000)).toBe(0);
  });

  it('a store by another hart to the reserved address makes the sc fail (§8.2)', () => {
    // hart 0: lr.w ; (hart 1 stores) ; sc.w        hart 1: sw
    const sim = new Sim((a) => {
      a.bne(a0, zero, 'other');
      a.lr_w(a1, s1);
      a.sc_w(a2, a3, s1);
      a.j('done');
      a.label('other').sw(t0, 0, s1);
      a.label('spin').j('spin');
    }, { harts: 2, regs: { [s1]: DATA, [a3]: 111n, [t0]: 222n } });
    sim.step(0, 3); // j start, bne, lr.w
    sim.step(1, 3); // j start, bne (taken), sw
    expect(sim.read32(DATA)).toBe(222);
    sim.step(0, 1); // sc.w
    expect(sim.x(a2)).not.toBe(0n);
    expect(sim.read32(DATA)).toBe(222); // the other hart's store is not overwritten
  });

  it('a store by another hart whose store TLB held the page (its own reservation there) still makes the sc fail', () => {
    // hart 1: lr.w on a word of the page, then a store to the page (its own stores keep their
    // fast path: the page is in its store TLB); hart 0: lr.w; hart 1: sw to hart 0's word;
    // hart 0: sc.w must fail.
    const sim = new Sim((a) => {
      a.bne(a0, zero, 'other');
      a.lr_w(a1, s1);
      a.sc_w(a2, a3, s1);
      a.j('done');
      a.label('other').addi(t2, s1, 8).lr_w(a1, t2).sw(t1, 12, s1).sw(t0, 0, s1);
      a.label('spin').j('spin');
    }, { harts: 2, regs: { [s1]: DATA, [a3]: 111n, [t0]: 222n, [t1]: 333n } });
    sim.step(1, 5); // j start, bne (taken), addi, lr.w, sw 12(s1)
    sim.step(0, 3); // j start, bne, lr.w
    sim.step(1, 1); // sw 0(s1)
    expect(sim.read32(DATA)).toBe(222);
    sim.step(0, 1); // sc.w
    expect(sim.x(a2)).not.toBe(0n);
    expect(sim.read32(DATA)).toBe(222);
    expect(sim.read32(DATA + 12)).toBe(333);
  });

  it('an AMO by another hart to the reserved address makes the sc fail (§8.2)', () => {
    const sim = new Sim((a) => {
      a.bne(a0, zero, 'other');
      a.lr_d(a1, s1);
      a.sc_d(a2, a3, s1);
      a.j('done');
      a.label('other').amo('add', 'd', zero, t0, s1);
      a.label('spin').j('spin');
    }, { harts: 2, regs: { [s1]: DATA, [a3]: 111n, [t0]: 5n } });
    sim.step(0, 3);
    sim.step(1, 3);
    sim.step(0, 1);
    expect(sim.x(a2)).not.toBe(0n);
    expect(sim.read64(DATA)).toBe(5n);
  });

  it('a device writing the reserved word (DMA through the bus, as virtio does) makes the sc fail (§8.2: stores by any agent)', () => {
    const sim = new Sim((a) => {
      a.lr_w(a1, s1);
      a.sc_w(a2, a3, s1);
    }, { regs: { [s1]: DATA, [a3]: 111n } });
    sim.step(0, 2); // j start, lr.w
    sim.write32(DATA, 222); // Bus.writeRam: what virtio-blk's reads into guest buffers use
    sim.step(0, 1); // sc.w
    expect(sim.x(a2)).not.toBe(0n);
    expect(sim.read32(DATA)).toBe(222);
  });

  it('a device write elsewhere leaves the reservation: the sc succeeds', () => {
    const sim = new Sim((a) => {
      a.lr_w(a1, s1);
      a.sc_w(a2, a3, s1);
    }, { regs: { [s1]: DATA, [a3]: 111n } });
    sim.step(0, 2);
    sim.write32(DATA + 0x100, 222);
    sim.step(0, 1);
    expect(sim.x(a2)).toBe(0n);
    expect(sim.read32(DATA)).toBe(111);
  });

  it('sc.w to an address outside the reserved word: if it fails, nothing is written', () => {
    const sim = runProgram((a) => {
      a.lr_w(a0, s1);
      a.sc_w(a1, a2, t0);
    }, { regs: { [s1]: DATA, [t0]: DATA + 0x2000, [a2]: 3n } });
    if (sim.x(a1) !== 0n) expect(sim.read32(DATA + 0x2000)).toBe(0);
    else expect(sim.read32(DATA + 0x2000)).toBe(3);
  });
});

describe('misaligned atomics (priv §3.6.3: LR -> load misaligned 4, SC/AMO -> store/AMO misaligned 6)', () => {
  it.each([
    ['lr.w at +2', 4, 2, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.lr_w(a0, t0)],
    ['lr.d at +4', 4, 4, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.lr_d(a0, t0)],
    ['sc.w at +1', 6, 1, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.sc_w(a0, a1, t0)],
    ['sc.d at +4', 6, 4, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.sc_d(a0, a1, t0)],
    ['amoadd.w at +2', 6, 2, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.amo('add', 'w', a0, a1, t0)],
    ['amoswap.d at +4', 6, 4, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.amo('swap', 'd', a0, a1, t0)],
    ['amomaxu.d at +6', 6, 6, (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => a.amo('maxu', 'd', a0, a1, t0)],
  ])('%s -> cause %i, mtval = address', (_n, cause, off, emit) => {
    const sim = runProgram((a) => { a.label('i'); emit(a); }, { regs: { [t0]: DATA + off, [a0]: 0x77 } });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(cause));
    expect(sim.csr(CSR.mtval)).toBe(BigInt(DATA + off));
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('i')));
    expect(sim.x(a0)).toBe(0x77n); // rd not written
    expect(sim.read64(DATA)).toBe(0n);
    expect(sim.read64(DATA + 8)).toBe(0n);
  });
});

describe('AMO results (§8.4)', () => {
  const MEM_W = 0x80000001n; // negative as a word
  const cases: [AmoName, bigint, bigint][] = [
    // op, rs2, expected new memory word
    ['swap', 0x12345678n, 0x12345678n],
    ['add', 0xffffffffn, 0x80000000n],
    ['xor', 0xffff0000n, 0x7fff0001n],
    ['and', 0x0000ffffn, 0x00000001n],
    ['or', 0x00f00000n, 0x80f00001n],
    ['min', 5n, 0x80000001n], // signed: -2147483647 < 5
    ['max', 5n, 5n],
    ['minu', 5n, 5n], // unsigned: 5 < 0x80000001
    ['maxu', 5n, 0x80000001n],
  ];

  it.each(cases)('amo%s.w: rd = sign-extended old word, memory = op(old, rs2[31:0])', (op, rs2, expMem) => {
    const sim = new Sim((a) => { a.amo(op, 'w', a0, a1, s1); }, { regs: { [s1]: DATA, [a1]: 0xabcdef00_00000000n | rs2 } });
    sim.write32(DATA, Number(MEM_W));
    sim.write32(DATA + 4, 0x5a5a5a5a);
    sim.run();
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(sx32(MEM_W));
    expect(BigInt(sim.read32(DATA))).toBe(expMem);
    expect(sim.read32(DATA + 4)).toBe(0x5a5a5a5a); // the neighbouring word is untouched
  });

  const MEM_D = 0x8000000000000001n;
  const casesD: [AmoName, bigint, bigint][] = [
    ['swap', 42n, 42n],
    ['add', M64, 0x8000000000000000n],
    ['xor', M64, 0x7ffffffffffffffen],
    ['and', 0xffn, 1n],
    ['or', 0x10n, 0x8000000000000011n],
    ['min', 5n, MEM_D],
    ['max', 5n, 5n],
    ['minu', 5n, 5n],
    ['maxu', 5n, MEM_D],
  ];

  it.each(casesD)('amo%s.d: rd = old doubleword, memory = op(old, rs2)', (op, rs2, expMem) => {
    const sim = new Sim((a) => { a.amo(op, 'd', a0, a1, s1); }, { regs: { [s1]: DATA, [a1]: rs2 } });
    sim.write64(DATA, MEM_D);
    sim.run();
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(MEM_D);
    expect(sim.read64(DATA)).toBe(expMem);
  });

  it('amoswap with rd = rs2 swaps register and memory', () => {
    const sim = new Sim((a) => { a.amo('swap', 'd', a0, a0, s1); }, { regs: { [s1]: DATA, [a0]: 1n } });
    sim.write64(DATA, 2n);
    sim.run();
    expect(sim.x(a0)).toBe(2n);
    expect(sim.read64(DATA)).toBe(1n);
  });

  it('amoadd.w wraps at 32 bits and sign-extends the old value', () => {
    const sim = new Sim((a) => { a.amo('add', 'w', a0, a1, s1).lw(a2, 0, s1); }, { regs: { [s1]: DATA, [a1]: 1n } });
    sim.write32(DATA, 0xffffffff);
    sim.run();
    expect(sim.x(a0)).toBe(M64);
    expect(sim.x(a2)).toBe(0n);
  });
});

describe('atomics and memory protection', () => {
  /** S-mode program with one PMP entry for DATA (perm) and RWX elsewhere. */
  function sWithPmp(perm: number, emit: (a: Parameters<Parameters<typeof runProgram>[0]>[0]) => void): Sim {
    return runProgram((a) => {
      a.li(t0, napot(DATA, 4096)).csrw(CSR.pmpaddr0, t0);
      a.li(t0, napot(RAM_BASE, 16 << 20)).csrw(CSR.pmpaddr0 + 1, t0);
      a.li(t0, BigInt(PMP_NAPOT | perm) | (BigInt(PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 8n)).csrw(CSR.pmpcfg0, t0);
      a.enter(PRV_S, 'low').label('low');
      a.li(t0, DATA);
      emit(a);
    }, { pmpAllowAll: false });
  }

  it('an AMO needs write permission: read-only memory -> store/AMO access fault 7', () => {
    const sim = sWithPmp(PMP_R, (a) => a.amo('or', 'w', a0, zero, t0));
    expect(sim.lastTrap).toMatchObject({ cause: 7, tval: BigInt(DATA) });
  });

  it('lr on non-readable memory -> load access fault 5', () => {
    const sim = sWithPmp(PMP_X, (a) => a.lr_w(a0, t0));
    expect(sim.lastTrap).toMatchObject({ cause: 5, tval: BigInt(DATA) });
  });

  it('an AMO on execute-only memory -> store/AMO access fault 7 (not a load fault)', () => {
    const sim = sWithPmp(PMP_X, (a) => a.amo('add', 'd', a0, zero, t0));
    expect(sim.lastTrap).toMatchObject({ cause: 7, tval: BigInt(DATA) });
  });
});

