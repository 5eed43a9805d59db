/**
 * Timer lines follow their compare registers at once (issue 12, "timer-interrupt storm"): a
 * handler that moves its compare value into the future must see its pending bit clear on the
 * very next instruction, however the line was raised (by the scheduler when virtual time passed
 * the deadline, or by a register write). Before the fix the CLINT cached the MTIP level it had
 * last driven itself; the scheduler raised MTIP behind its back at the deadline, so the handler's
 * mtimecmp write "lowered" a line the CLINT thought was already low, and the hart took the
 * interrupt again and again until the next scheduler slice (250,000 spurious interrupts in the
 * issue's program, where QEMU 7.2 takes none).
 *
 * Each program runs under the deterministic scheduler, takes its timer interrupt periodically;
 * the handler re-arms the compare 50 ticks (5000 instructions) ahead, then records `mip`/`sip`.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/sched/scheduler.js';
import { Sim, makeGuest, CSR, IRQ, DATA, CLINT, PRV_S, t0, t2, t3, s1, s2, s3, s4, type Asm } from './hart/harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const MTIME = CLINT + 0xbff8;
const MTIMECMP0 = CLINT + 0x4000;
const PERIOD_TICKS = 50; // 5000 instructions at 100 instructions per tick
const RUN_INSNS = 1_000_000;

/** The pending-bit values the handler recorded (one per interrupt taken), after a scheduled run. */
function runAndCollect(sim: Sim): bigint[] {
  const sched = new Scheduler(sim.m, { maxInsns: RUN_INSNS });
  const halt = sched.runToEnd();
  expect(halt.kind, halt.message).toBe('limit');
  const n = Number((sim.x(s1) - BigInt(DATA)) / 8n);
  return Array.from({ length: n }, (_, i) => sim.read64(DATA + 8 * i));
}

/** Spin until the scheduler stops the run. */
const spin = (a: Asm): void => { a.label('spin').addi(s2, s2, 1).j('spin'); };

/** The number of periods in the run, give or take the first one's set-up and the last one. */
function expectPeriodic(count: number): void {
  const periods = RUN_INSNS / (PERIOD_TICKS * 100);
  expect(count).toBeGreaterThanOrEqual(periods - 2);
  expect(count).toBeLessThanOrEqual(periods + 1);
}

describe('a timer handler that moves its compare value into the future sees its interrupt clear at once', () => {
  it('CLINT mtimecmp (M-mode handler): MTIP is clear on the instruction after the store; no spurious interrupts', () => {
    const sim = new Sim((a) => {
      a.la(t0, 'h').csrw(CSR.mtvec, t0);
      a.li(s1, DATA).li(s3, MTIMECMP0).li(s4, MTIME);
      a.ld(t2, 0, s4).addi(t2, t2, PERIOD_TICKS).sd(t2, 0, s3);
      a.li(t0, bit(IRQ.MTI)).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8);
      spin(a);
      a.align(4).label('h');
      a.ld(t2, 0, s4).addi(t2, t2, PERIOD_TICKS).sd(t2, 0, s3); // mtimecmp = mtime + period
      a.csrr(t3, CSR.mip).sd(t3, 0, s1).addi(s1, s1, 8);
      a.mret();
    });
    const mips = runAndCollect(sim);
    expectPeriodic(mips.length);
    expect(mips.filter((v) => (v & bit(IRQ.MTI)) !== 0n)).toEqual([]);
  });

  it('Sstc stimecmp (S-mode handler): STIP is clear on the instruction after the write', () => {
    const sim = new Sim((a) => {
      a.li(t0, 1n << 63n).csrw(CSR.menvcfg, t0); // menvcfg.STCE
      a.li(t0, 2).csrw(CSR.mcounteren, t0); // TM: S-mode may read time / use stimecmp
      a.li(t0, bit(IRQ.STI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0);
      a.li(s1, DATA);
      a.enter(PRV_S, 's');
      a.label('s').la(t0, 'h').csrw(CSR.stvec, t0);
      a.csrr(t2, CSR.time).addi(t2, t2, PERIOD_TICKS).csrw(CSR.stimecmp, t2);
      a.csrsi(CSR.sstatus, 2);
      spin(a);
      a.align(4).label('h');
      a.csrr(t2, CSR.time).addi(t2, t2, PERIOD_TICKS).csrw(CSR.stimecmp, t2);
      a.csrr(t3, CSR.sip).sd(t3, 0, s1).addi(s1, s1, 8);
      a.sret();
    });
    const sips = runAndCollect(sim);
    expectPeriodic(sips.length);
    expect(sips.filter((v) => (v & bit(IRQ.STI)) !== 0n)).toEqual([]);
  });

  it('vstimecmp (VS-mode handler, V = 1): VSTIP is clear on the instruction after the write', () => {
    const { sim } = makeGuest((a) => {
      a.la(t0, 'h').csrw(CSR.stvec, t0); // vstvec
      a.csrr(t2, CSR.time).addi(t2, t2, PERIOD_TICKS).csrw(CSR.stimecmp, t2); // vstimecmp
      a.li(t0, bit(IRQ.STI)).csrs(CSR.sie, t0); // vsie.STIE
      a.csrsi(CSR.sstatus, 2); // vsstatus.SIE
      spin(a);
    }, {
      vs: 'bare', g: 'bare', regs: { [s1]: DATA },
      setup: (a) => {
        a.li(t0, 1n << 63n).csrw(CSR.menvcfg, t0).csrw(CSR.henvcfg, t0); // STCE at both levels
        a.li(t0, 2).csrw(CSR.mcounteren, t0).csrw(CSR.hcounteren, t0);
        a.li(t0, bit(6)).csrw(CSR.mideleg, t0).csrw(CSR.hideleg, t0).csrw(CSR.mie, t0); // VSTI to VS
      },
      tail: (a) => {
        a.align(4).label('h');
        a.csrr(t2, CSR.time).addi(t2, t2, PERIOD_TICKS).csrw(CSR.stimecmp, t2);
        a.csrr(t3, CSR.sip).sd(t3, 0, s1).addi(s1, s1, 8); // vsip: VSTIP shows as STIP
        a.sret();
      },
    });
    const sips = runAndCollect(sim);
    expectPeriodic(sips.length);
    expect(sips.filter((v) => (v & bit(IRQ.STI)) !== 0n)).toEqual([]);
    expect(sim.h.virt).toBe(true);
  });
});
