import { describe, it, expect } from 'vitest';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { primerProgram } from '../src/sched/primer.js';
import type { HartObserver } from '../src/hart/observer.js';

/**
 * The interpreter's type-feedback primer (src/sched/primer.ts) is a performance measure only, and
 * fails silently by design. This checks that its program still does what it is meant to: run
 * to an SBI shutdown through every kind of path it is there to exercise.
 */
describe('interpreter primer program', () => {
  it('runs to poweroff through traps of each kind, a timer interrupt, U-mode and translated blocks', () => {
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(primer)', bytes: primerProgram() }, jit: true, jitHot: 16,
    });
    const seen = new Set<string>();
    const obs: HartObserver = {
      trap: (_h, cause, interrupt) => { seen.add(`${interrupt ? 'i' : 'e'}${cause}`); },
      trapReturn: () => {}, csrWrite: () => {}, mmio: () => {}, irqLine: () => {}, sbiCall: () => {}, hartState: () => {},
    };
    m.harts[0]!.obs = obs;
    const halt = new Scheduler(m, { maxInsns: 500_000 }).runToEnd();
    expect(halt.kind).toBe('poweroff');
    expect(m.harts[0]!.instret).toBeGreaterThan(3000);
    // illegal, breakpoint, misaligned load/store, access faults, U and S ecalls, page faults,
    // the supervisor timer interrupt
    for (const k of ['e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e13', 'e15', 'i5']) expect(seen, k).toContain(k);
    expect(m.jit.blocksCompiled).toBeGreaterThan(0);
    expect(m.jit.compileErrors).toEqual([]);
  });
});
