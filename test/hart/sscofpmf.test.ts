/**
 * Sscofpmf (priv spec chapter "Sscofpmf"): counter overflow (mhpmeventN.OF, LCOFI = interrupt 13,
 * scountovf) and mode filtering (MINH/SINH/UINH/VSINH/VUINH), src/hart/hpm.ts. A board option
 * (MachineConfig.sscofpmf, QEMU 7.2's `-cpu rv64,sscofpmf=true`); off, as on QEMU 7.2's default CPU.
 *
 * Overflow is exact: the counter wraps when the instruction that counts it to 2^64 completes,
 * and LCOFI is taken at that boundary, whether the hart runs one step at a time or in one long
 * slice (the slice is cut there, as at a timer deadline).
 */
import { describe, expect, it } from 'vitest';
import { Sim, runProgram, a0, a1, s1, s2, s3, t0, zero, CSR, MSKIP, MTRAP, PRV_S, PRV_U, type Asm } from './harness.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hpmSaveState, hpmRestoreState } from '../../src/hart/csr.js';
import { Machine } from '../../src/board/machine.js';
import { Scheduler } from '../../src/sched/scheduler.js';

const HELLO = fileURLToPath(new URL('../../guests/build/hello.elf', import.meta.url));

const mhpmcounter = (n: number): number => 0xb00 + n;
const mhpmevent = (n: number): number => 0x320 + n;
const SCOUNTOVF = 0xda0;
const LCOFI = 13;
const OF = 1n << 63n, MINH = 1n << 62n, UINH = 1n << 60n;
const IRQ = (c: number): bigint => (1n << 63n) | BigInt(c);
const ILLEGAL = 2n;
const EV_CYCLES = 1, EV_INSTRUCTIONS = 2;

/** Enable LCOFI in M-mode (mie.LCOFIE, mstatus.MIE). */
const enableLcofi = (a: Asm): void => {
  a.li(t0, 1 << LCOFI).csrs(CSR.mie, t0).csrsi(CSR.mstatus, 8);
};

/** Run `sim` in one slice of `budget` steps (the cut at the overflow is then what stops it). */
function runLong(body: (a: Asm) => void, budget = 5_000, opts: { jit?: boolean; jitHot?: number } = {}): Sim {
  const sim = new Sim(body, { sscofpmf: true, ...opts });
  sim.h.run(budget);
  return sim;
}

describe('without Sscofpmf (QEMU 7.2\'s default CPU)', () => {
  it('scountovf is illegal; the LCOFI bits of mie, mideleg and mip are read-only zero; a wrap is silent', () => {
    const sim = runProgram((a) => {
      a.li(t0, MSKIP).csrw(CSR.mtvec, t0);
      a.li(t0, 1 << LCOFI).csrw(CSR.mie, t0).csrw(CSR.mideleg, t0).csrw(CSR.mip, t0);
      a.csrr(a0, SCOUNTOVF);
      a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(3), t0).li(t0, -2).csrw(mhpmcounter(3), t0);
      a.nop().nop().nop();
    });
    expect(sim.traps.map((t) => t.cause)).toEqual([Number(ILLEGAL)]);
    expect(sim.csr(CSR.mie) & (1n << 13n)).toBe(0n);
    expect(sim.csr(CSR.mideleg) & (1n << 13n)).toBe(0n);
    expect(sim.csr(CSR.mip) & (1n << 13n)).toBe(0n);
    expect(sim.csr(mhpmcounter(3))).toBe(1n); // -2 and the three nops: wrapped without a trace
    expect(sim.csr(mhpmevent(3)) & OF).toBe(0n);
    expect(sim.h.hpmCut).toBe(Infinity);
  });
});

describe('counter overflow (Sscofpmf)', () => {
  /** mtvec -> `handler`, whose first instruction reads counter n into a0 (0 if taken at the wrap). */
  const handler = (a: Asm, n: number): void => {
    a.j('done').label('handler').csrr(a0, mhpmcounter(n)).csrr(a1, CSR.mcause).j('done');
  };
  const instructionsWrap = (a: Asm): void => {
    a.la(t0, 'handler').csrw(CSR.mtvec, t0);
    enableLcofi(a);
    a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(3), t0);
    a.li(t0, -4).csrw(mhpmcounter(3), t0); // reads -4 after the csrw
    a.nop().nop().nop(); // -3, -2, -1
    a.label('wrap').nop(); // 0: the wrap
    a.label('after').nop().nop();
    handler(a, 3);
  };

  it.each([['one step at a time', false], ['in one long slice', true]] as const)(
    'an instructions counter that wraps sets OF and LCOFI is taken before the next instruction (%s)', (_, long) => {
      const sim = long ? runLong(instructionsWrap) : runProgram(instructionsWrap, { sscofpmf: true });
      expect(sim.traps.length).toBe(1);
      expect(sim.x(a1)).toBe(IRQ(LCOFI));
      expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('after')));
      // the handler's first instruction: nothing counted since the wrap
      expect(sim.x(a0)).toBe(0n);
      expect(sim.csr(mhpmevent(3))).toBe(OF | BigInt(EV_INSTRUCTIONS));
      expect(sim.csr(SCOUNTOVF)).toBe(1n << 3n);
      expect(sim.csr(CSR.mip) & (1n << 13n)).toBe(1n << 13n);
    });

  it('a cycles counter counts trapped attempts; delegated LCOFI reaches S-mode exactly 300 steps after the write', () => {
    const body = (a: Asm): void => {
      a.li(t0, MSKIP).csrw(CSR.mtvec, t0);
      a.la(t0, 'shandler').csrw(CSR.stvec, t0);
      a.li(t0, 1 << LCOFI).csrs(CSR.mideleg, t0).csrs(CSR.mie, t0);
      a.li(t0, EV_CYCLES).csrw(mhpmevent(3), t0);
      a.li(t0, (1 << 3) | 1).csrw(CSR.mcounteren, t0);
      a.li(t0, -300);
      a.csrr(s1, CSR.mcycle).csrw(mhpmcounter(3), t0);
      a.enter(PRV_S, 'low');
      a.label('low').csrsi(CSR.sstatus, 2);
      for (let i = 0; i < 10; i++) a.ecall(); // each traps to mskip and back: all cycles
      for (let i = 0; i < 400; i++) a.nop(); // the wrap lands here, in S-mode
      a.j('done').label('shandler').csrr(a0, 0xc03).csrr(s3, CSR.cycle).csrr(a1, CSR.scause).csrr(s2, CSR.sip).j('done');
    };
    for (const sim of [runProgram(body, { sscofpmf: true, maxSteps: 1000 }), runLong(body, 1000)]) {
      expect(sim.x(a1)).toBe(IRQ(LCOFI));
      expect(sim.x(a0)).toBe(0n);
      // sip shows the delegated LCOFIP
      expect(sim.x(s2) & (1n << 13n)).toBe(1n << 13n);
      // csrr s1 read mcycle = C; the csrw is step C+1; 300 steps after it the counter wraps; the
      // handler's csrr of cycle is one step later
      expect(sim.x(s3) - sim.x(s1)).toBe(303n);
    }
  });

  it('instret counts only retired instructions: with traps in between the long slice still stops at the wrap', () => {
    const body = (a: Asm): void => {
      a.li(t0, MSKIP).csrw(CSR.mtvec, t0);
      a.li(t0, 1 << LCOFI).csrs(CSR.mideleg, t0).csrs(CSR.mie, t0);
      a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(4), t0);
      a.li(t0, -200).csrw(mhpmcounter(4), t0);
      a.enter(PRV_S, 'low');
      a.label('low').csrsi(CSR.sstatus, 2);
      for (let i = 0; i < 8; i++) a.ecall().nop(); // ecall does not retire; mskip's instructions do
      a.label('nops');
      for (let i = 0; i < 300; i++) a.nop();
    };
    const step = runProgram(body, { sscofpmf: true });
    const long = runLong(body);
    const irq = (s: Sim): [number, bigint][] => s.traps.filter((t) => t.interrupt).map((t) => [t.cause, t.epc]);
    expect(step.stop).toBe('strap');
    expect(irq(step).length).toBe(1);
    expect(irq(long)).toEqual(irq(step));
    expect(step.traps.filter((t) => !t.interrupt).length).toBe(8);
    // taken in the nops after the ecalls: sepc is one of them
    const sepc = Number(irq(step)[0]![1]);
    expect(sepc).toBeGreaterThan(step.addr('nops'));
  });

  it('translated blocks stop at the wrap too: the interrupt lands on the same instruction with and without the block translator', () => {
    const body = (a: Asm): void => {
      a.la(t0, 'handler').csrw(CSR.mtvec, t0);
      enableLcofi(a);
      a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(3), t0);
      a.li(t0, -1237).csrw(mhpmcounter(3), t0);
      a.li(s1, 0).li(s2, 1000);
      a.label('loop').addi(s1, s1, 1).nop().nop().nop().bne(s1, s2, 'loop');
      a.j('done').label('handler').csrr(a0, mhpmcounter(3)).csrr(a1, CSR.mepc).j('done');
    };
    const interp = runLong(body, 20_000, { jit: false });
    const jit = runLong(body, 20_000, { jit: true, jitHot: 2 });
    expect(interp.x(a0)).toBe(0n);
    expect(jit.x(a0)).toBe(0n);
    expect(jit.x(a1)).toBe(interp.x(a1));
    expect(jit.x(s1)).toBe(interp.x(s1));
    expect(interp.x(s1)).toBeGreaterThan(100n);
    expect(jit.m.jit.blocksCompiled).toBeGreaterThan(0);
  });

  it('a wrap with OF already set raises no LCOFI; software clears LCOFIP through mip', () => {
    const sim = runProgram((a) => {
      a.li(t0, MTRAP).csrw(CSR.mtvec, t0);
      a.li(t0, OF | BigInt(EV_INSTRUCTIONS)).csrw(mhpmevent(5), t0);
      a.li(t0, -2).csrw(mhpmcounter(5), t0);
      a.nop().nop().nop();
      a.csrr(a0, CSR.mip);
      a.li(t0, 1 << LCOFI).csrs(CSR.mip, t0).csrr(a1, CSR.mip).csrc(CSR.mip, t0);
    }, { sscofpmf: true });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0) & (1n << 13n)).toBe(0n);
    expect(sim.x(a1) & (1n << 13n)).toBe(1n << 13n);
    expect(sim.csr(CSR.mip) & (1n << 13n)).toBe(0n);
    expect(sim.csr(mhpmcounter(5))).toBeLessThan(100n);
  });

  it('writing a counter with 0 is not an overflow; an inhibited counter does not wrap', () => {
    const sim = runProgram((a) => {
      a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(6), t0).csrw(mhpmevent(7), t0);
      a.li(t0, -1).csrw(mhpmcounter(6), t0).csrw(mhpmcounter(6), zero);
      a.li(t0, 1 << 7).csrw(CSR.mcountinhibit, t0).li(t0, -1).csrw(mhpmcounter(7), t0);
      a.nop().nop();
    }, { sscofpmf: true });
    expect(sim.csr(SCOUNTOVF)).toBe(0n);
    expect(sim.csr(mhpmcounter(7))).toBe((1n << 64n) - 1n);
  });
});

describe('scountovf (Sscofpmf)', () => {
  it('M-mode reads every OF bit; S-mode only those mcounteren enables', () => {
    const sim = runProgram((a) => {
      a.li(t0, OF).csrw(mhpmevent(3), t0).csrw(mhpmevent(9), t0).csrw(mhpmevent(18), t0);
      a.csrr(a0, SCOUNTOVF);
      a.li(t0, 1 << 9).csrw(CSR.mcounteren, t0);
      a.enter(PRV_S, 'low');
      a.label('low').csrr(a1, SCOUNTOVF);
    }, { sscofpmf: true });
    expect(sim.x(a0)).toBe((1n << 3n) | (1n << 9n) | (1n << 18n));
    expect(sim.x(a1)).toBe(1n << 9n);
  });
});

describe('mode filtering (Sscofpmf xINH bits)', () => {
  it('UINH stops counting in U-mode, MINH in M-mode; the mret counts in M, a trapped ecall as a U cycle', () => {
    const sim = runProgram((a) => {
      a.li(t0, UINH | BigInt(EV_INSTRUCTIONS)).csrw(mhpmevent(3), t0);
      a.li(t0, EV_INSTRUCTIONS).csrw(mhpmevent(4), t0);
      a.li(t0, MINH | BigInt(EV_INSTRUCTIONS)).csrw(mhpmevent(5), t0);
      a.li(t0, MINH | BigInt(EV_CYCLES)).csrw(mhpmevent(6), t0);
      for (const n of [3, 4, 5, 6]) a.csrw(mhpmcounter(n), zero);
      a.enter(PRV_U, 'user');
      a.label('user').nop().nop().nop().nop().nop().ecall();
    }, { sscofpmf: true });
    expect(sim.stop).toBe('mtrap');
    const c = (n: number): bigint => sim.csr(mhpmcounter(n));
    // the five U-mode nops, less the csrw of counter 4 (an M instruction only counter 3 counted)
    expect(c(4) - c(3)).toBe(4n);
    expect(c(5)).toBe(5n);
    expect(c(6)).toBe(6n); // and the ecall's attempt
    expect(sim.h.hpmModeHook).not.toBeNull();
  });

  it('an overflow in a filtered counter lands where only the counted mode\'s instructions reach it', () => {
    const sim = runProgram((a) => {
      a.li(t0, MSKIP).csrw(CSR.mtvec, t0);
      a.li(t0, 1 << LCOFI).csrs(CSR.mideleg, t0).csrs(CSR.mie, t0);
      a.li(t0, MINH | BigInt(EV_INSTRUCTIONS)).csrw(mhpmevent(8), t0);
      a.li(t0, -6).csrw(mhpmcounter(8), t0);
      a.enter(PRV_S, 'low');
      a.label('low').csrsi(CSR.sstatus, 2); // 1 (S): -5
      a.ecall(); // traps to M (mskip): not retired; mskip's M instructions are not counted
      a.nop().nop().nop().nop(); // -4 .. -1
      a.label('wrap').nop().label('after').nop();
    }, { sscofpmf: true });
    expect(sim.stop).toBe('strap');
    expect(sim.csr(CSR.scause)).toBe(IRQ(LCOFI));
    expect(sim.csr(CSR.sepc)).toBe(BigInt(sim.addr('after')));
  });
});

describe('the built-in SBI', () => {
  it('delegates LCOFI to S-mode with Sscofpmf, as OpenSBI does (MIDELEG 0x3666), and not without', () => {
    for (const sscofpmf of [true, false]) {
      const m = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: 'hello', bytes: new Uint8Array(readFileSync(HELLO)) }, sscofpmf });
      new Scheduler(m, {}).step(1);
      expect(m.harts[0]!.csrGet(CSR.mideleg) & (1n << 13n)).toBe(sscofpmf ? 1n << 13n : 0n);
    }
  });
});

describe('Sscofpmf state in snapshots', () => {
  it('a restored hart overflows at the same instruction, with the filter mode and the armed cut', () => {
    const body = (a: Asm): void => {
      a.li(t0, MTRAP).csrw(CSR.mtvec, t0);
      enableLcofi(a);
      a.li(t0, UINH | BigInt(EV_INSTRUCTIONS)).csrw(mhpmevent(3), t0);
      a.li(t0, -30).csrw(mhpmcounter(3), t0);
      a.label('mark');
      for (let i = 0; i < 100; i++) a.nop();
    };
    const ref = runProgram(body, { sscofpmf: true });
    const src = new Sim(body, { sscofpmf: true });
    src.run({ extraStops: [src.addr('mark')] });
    const snap = src.m.saveState();
    expect(snap.hpm?.[0]?.mode).toBe(3);
    const dst = new Sim(body, { sscofpmf: true });
    dst.m.restoreState(snap);
    expect(dst.h.hpmCut).toBe(src.h.hpmCut);
    expect(dst.h.hpmModeHook).not.toBeNull();
    dst.h.run(1000);
    expect(dst.traps.map((t) => [t.cause, t.epc])).toEqual(ref.traps.map((t) => [t.cause, t.epc]));
    // hpmSaveState/hpmRestoreState round-trip
    const again = new Sim(body, { sscofpmf: true });
    again.h.restoreState(src.h.saveState());
    hpmRestoreState(again.h, hpmSaveState(src.h));
    expect(again.h.hpmCut).toBe(src.h.hpmCut);
  });
});
