/**
 * Timer interrupts land on the deadline's instruction even when the deadline is set in the
 * middle of a scheduler slice (DESIGN.md §3: "a quantum is cut at the next timer deadline").
 * The scheduler plans each slice to end at the hart's next deadline; a compare register written
 * during the slice (CLINT mtimecmp, Sstc stimecmp) must cut the slice it is in, or the interrupt
 * would arrive up to a quantum late. Checked with a quantum far longer than the delay.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/sched/scheduler.js';
import { Sim, a1, s1, t0, t1, t2, CSR, MS, CLINT, TEST_DEV } from './hart/harness.js';

const DELAY = 20n; // ticks (100 instructions each)

function run(setTimer: 'mtimecmp' | 'stimecmp', quantum: number, harts = 1): { deadline: bigint; seen: bigint; kind: string } {
  const sim = new Sim((a) => {
    a.la(t0, 'handler').csrw(CSR.mtvec, t0);
    if (setTimer === 'stimecmp') {
      a.li(t0, 1n << 63n).csrw(CSR.menvcfg, t0); // STCE
      a.csrr(t2, CSR.time).addi(t2, t2, Number(DELAY)).csrw(CSR.stimecmp, t2);
      a.li(t0, 1n << 5n).csrw(CSR.mie, t0); // STIE, not delegated: taken in M
    } else {
      a.li(t1, CLINT + 0xbff8).ld(t2, 0, t1).addi(t2, t2, Number(DELAY));
      a.li(t1, CLINT + 0x4000).sd(t2, 0, t1);
      a.li(t0, 1n << 7n).csrw(CSR.mie, t0); // MTIE
    }
    a.mv(s1, t2);
    a.li(t0, MS.MIE).csrs(CSR.mstatus, t0);
    a.label('spin').j('spin');
    a.align(4).label('handler');
    a.csrr(a1, CSR.time);
    a.li(t1, TEST_DEV).li(t0, 0x5555).sw(t0, 0, t1);
    a.label('hang').j('hang');
  }, { harts });
  const halt = new Scheduler(sim.m, { quantum, maxInsns: 10_000_000 }).runToEnd();
  return { deadline: sim.x(s1), seen: sim.x(a1), kind: halt.kind };
}

describe('a timer deadline written mid-slice cuts the slice', () => {
  it.each([
    ['CLINT mtimecmp', 'mtimecmp'], ['Sstc stimecmp', 'stimecmp'],
  ] as const)('%s 20 ticks ahead, quantum 100000: the handler reads time = the deadline', (_n, kind) => {
    for (const harts of [1, 2]) {
      const r = run(kind, 100_000, harts);
      expect(r.kind).toBe('poweroff');
      // The interrupt is taken before the instruction at vtime = deadline * 100; the handler's
      // first instruction still reads time = deadline (one tick = 100 instructions).
      expect(r.seen, `${harts} hart(s)`).toBe(r.deadline);
    }
  });
});
