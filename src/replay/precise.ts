/**
 * Run a machine to an exact instruction: a Scheduler whose `runUntil(target)` replicates
 * `Scheduler.step`'s round logic exactly (same rounds, same quanta, same timer cuts, same WFI
 * sleeping and idle jumps) and additionally caps every hart slice so that the run stops at the
 * requested instruction boundary, in the middle of a round if need be.
 *
 * Why this is exact: `Hart.run(n)` executes exactly n steps unless the hart parks, stops or
 * the machine halts, and `run(a)` followed by `run(b)` (with nothing in between) is the same
 * as `run(a + b)`: the loop keeps all its state in the hart and re-checks `attention` before
 * every instruction either way. So cutting a slice where the original run did not cut it does
 * not change what executes; the scheduler's own work between slices (`updateTimers`) runs only
 * where the original ran it. The target is checked after every cut.
 *
 * Stop targets:
 *  - `globalRetired(N)`: the first point where all harts together have retired N instructions
 *    (`Scheduler.totalRetired()`, the count `info`, `record` and `--to N` use);
 *  - `globalCount(N)`: the first point where all harts together have attempted N steps
 *    (`Scheduler.totalInstructions()`: retired instructions plus attempts that trapped; the
 *    deterministic position the replayer notes events at, and what `--max-insns N` stops at);
 *  - `beforeStep(N)`: the last point before step N + 1 (after the scheduler work between);
 *  - `hartInstret(H, T)`: the first point where hart H's instret is T;
 *  - `hartSteps(H, S)`: the first point where hart H's step count is S;
 *  - `pcHit(addr, k, hart?)`: the k-th time a hart is about to execute the instruction at addr
 *    (pending interrupts already taken, nothing of the instruction done), found with the
 *    hart's breakpoint hook (Hart.breakFilter / onBreakPc) at full speed.
 *
 * The Scheduler's input queue, deliverInput and deadlock are `protected` for this subclass.
 */
import { Scheduler, roundStartOffset } from '../sched/scheduler.js';
import { HartState, Hart, BREAK_FILTER_SIZE, breakSlot } from '../hart/hart.js';
import type { HaltInfo } from '../board/machine.js';

export interface StopTarget {
  /** Human description, e.g. "instruction 1000000" or "hart 0 instret 52". */
  readonly label: string;
  /** Most steps hart h may run from here without passing the target (>= 1), or Infinity. */
  cap(h: Hart, s: Scheduler): number;
  /** Whether the machine is at the target now (checked at start and after every slice). */
  reached(s: Scheduler): boolean;
  /**
   * Optional: checked right before every `h.run` (after the scheduler's own work for that slice:
   * round start, input delivery, timer updates); true stops there, before hart h's next step.
   */
  beforeRun?(h: Hart, s: Scheduler): boolean;
  /** Optional per-run setup/teardown (e.g. fetch hooks). */
  attach?(s: PreciseScheduler): void;
  detach?(s: PreciseScheduler): void;
}

export type RunUntilResult =
  | { readonly kind: 'reached'; readonly hart: number }
  | { readonly kind: 'halted'; readonly halt: HaltInfo };

/** Thrown by the breakpoint hook to leave Hart.run at an instruction boundary. */
const STOP = Object.freeze({ stop: true });

/**
 * For a StopTarget's breakpoint hook (Hart.onBreakPc) only: stop the run right here, before the
 * hart's next instruction (runUntil returns 'reached' with this hart).
 */
export function stopRun(): never {
  throw STOP;
}

/**
 * Point hart h's breakpoint filter (Hart.breakFilter) at exactly the pcs in `pcs` (null or
 * empty: no filter), or at every pc (`'all'`). `filter` is reused when given.
 */
export function setBreakFilter(h: Hart, pcs: Iterable<number> | 'all' | null, filter?: Uint8Array): void {
  if (pcs === null) {
    h.breakFilter = null;
    return;
  }
  const f = filter ?? h.breakFilter ?? new Uint8Array(BREAK_FILTER_SIZE);
  if (pcs === 'all') {
    f.fill(1);
  } else {
    f.fill(0);
    let any = false;
    for (const pc of pcs) {
      f[breakSlot(pc)] = 1;
      any = true;
    }
    if (!any) {
      h.breakFilter = null;
      return;
    }
  }
  h.breakFilter = f;
  h.breakStamp = Hart.nextBreakStamp();
}

export class PreciseScheduler extends Scheduler {
  /** The hart that was running when the target was last reached. */
  stoppedHart = -1;
  /** True while a hart executes inside runUntil (observers can tell hart work from scheduler work). */
  inHartRun = false;
  /**
   * Where a reached target left the round: the round's end, the hart being run and what was left
   * of its current slice (-1 = the slice had ended). The next runUntil continues from there.
   */
  private resume: { end: number; hi: number; rem: number } | null = null;

  /** Forget where a round was left (the machine state was restored to a round start). */
  clearResume(): void {
    this.resume = null;
  }

  /** True when the last runUntil stopped inside a round (Scheduler.step must not be used then). */
  get midRound(): boolean {
    return this.resume !== null;
  }

  /**
   * Run until `target` is reached (returns 'reached': the machine stopped between two
   * instructions, possibly mid-round) or the run ends (halt; 'idle' with no input left becomes a
   * deadlock, as in runToEnd). Can be called again with a later target: it continues exactly
   * where the previous call stopped.
   */
  runUntil(target: StopTarget): RunUntilResult {
    target.attach?.(this);
    try {
      return this.runUntilInner(target);
    } finally {
      target.detach?.(this);
    }
  }

  /** Run to the end (halt), continuing a stopped round first. */
  runToHalt(): HaltInfo {
    const r = this.runUntil({ label: 'end', cap: () => Infinity, reached: () => false });
    return (r as { halt: HaltInfo }).halt;
  }

  private runUntilInner(target: StopTarget): RunUntilResult {
    const m = this.machine;
    const Q = this.quantum;
    const p = this;
    if (m.halt) return { kind: 'halted', halt: m.halt };
    if (target.reached(this)) {
      this.stoppedHart = m.current.id;
      return { kind: 'reached', hart: m.current.id };
    }
    for (;;) {
      let end: number;
      let startHi = 0;
      let startRem: number | null = null;
      if (this.resume) {
        ({ end, hi: startHi, rem: startRem } = this.resume);
        this.resume = null;
      } else {
        if (m.halt) return { kind: 'halted', halt: m.halt };
        if (this.onRoundStart) this.onRoundStart(this);
        p.deliverInput();
        end = this.time + Q;
      }
      const harts = m.harts;
      for (let hi = startHi; hi < harts.length; hi++) {
        const h = harts[hi]!;
        const rem = this.runHartUntil(h, end, target, hi === startHi ? startRem : null);
        if (rem !== NOT_REACHED) {
          this.resume = { end, hi, rem };
          this.stoppedHart = h.id;
          return { kind: 'reached', hart: h.id };
        }
        if (m.halted) break;
      }
      const res = this.finishRound(end);
      if (res === null) continue;
      if (res.kind === 'halted') return res;
      // 'idle': every hart waits for input that will never come (replay queued it all).
      const r = p.deadlock(true);
      return { kind: 'halted', halt: (r as { halt: HaltInfo }).halt };
    }
  }

  /**
   * Scheduler.runHart with capped slices. Returns NOT_REACHED, or (target reached) what is left
   * of the current slice (0 = the slice had ended), for resuming. `resumeRem` non-null continues
   * a hart stopped mid-round: > 0 = inside a slice, 0 = right after one (no round-start
   * placement either way).
   */
  private runHartUntil(h: Hart, end: number, t: StopTarget, resumeRem: number | null): number {
    const m = this.machine;
    m.current = h;
    let rem = -1;
    if (resumeRem === null) {
      if (h.runState === HartState.Stopped) return NOT_REACHED;
      h.vtimeOffset = roundStartOffset(h, this.time);
      m.updateTimers(h);
    } else if (resumeRem > 0) {
      rem = resumeRem;
    } else {
      m.updateTimers(h);
    }
    while (!m.halted) {
      if (rem < 0) {
        // Scheduler.nextSlice: the same slice the plain scheduler would run next.
        const budget = this.nextSlice(h, end);
        if (budget <= 0) return NOT_REACHED;
        rem = budget;
      }
      // ---- the slice `h.run(budget)` of Scheduler.runHart, cut at the target ----
      while (rem > 0) {
        if (t.beforeRun && t.beforeRun(h, this)) return rem;
        const k = Math.min(rem, Math.max(1, t.cap(h, this)));
        const s0 = h.attempted;
        let hit = false;
        this.inHartRun = true;
        try {
          h.run(k);
        } catch (e) {
          if (e !== STOP) throw e;
          hit = true;
        } finally {
          this.inHartRun = false;
        }
        const ran = h.attempted - s0;
        rem -= ran;
        if (hit) return rem;
        if (h.fatal !== null) {
          m.stop({ kind: 'fatal', exitCode: 3, message: h.fatal });
          return NOT_REACHED;
        }
        if (t.reached(this)) return ran < k || rem <= 0 || h.sliceCut ? 0 : rem;
        // A slice the plain scheduler ended early (parked, or cut at a deadline moved
        // mid-slice, Hart.timerCut) ends here too.
        if (ran < k || h.sliceCut) break;
      }
      rem = -1;
      m.updateTimers(h);
    }
    return NOT_REACHED;
  }
}

const NOT_REACHED = -2;

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

export function globalRetired(n: number): StopTarget {
  return {
    label: `instruction ${n}`,
    // A step retires at most one instruction, so n - retired steps cannot pass the target.
    cap: (_h, s) => n - s.totalRetired(),
    reached: (s) => s.totalRetired() >= n,
  };
}

export function globalCount(n: number): StopTarget {
  return {
    label: `step ${n}`,
    cap: (_h, s) => n - s.totalInstructions(),
    reached: (s) => s.totalInstructions() >= n,
  };
}

/**
 * Right before the step that takes the global count from n to n + 1 (after any scheduler work
 * between the steps: where the first point with count n (globalCount) is before that work).
 */
export function beforeStep(n: number): StopTarget {
  return {
    label: `before instruction ${n + 1}`,
    cap: (_h, s) => n - s.totalInstructions(),
    reached: () => false,
    beforeRun: (_h, s) => s.totalInstructions() >= n,
  };
}

export function hartInstret(hart: number, n: number): StopTarget {
  return {
    label: `hart ${hart} instret ${n}`,
    cap: (h) => (h.id === hart ? n - h.instret : Infinity),
    reached: (s) => s.machine.harts[hart]!.instret >= n,
  };
}

export function hartSteps(hart: number, n: number): StopTarget {
  return {
    label: `hart ${hart} step ${n}`,
    cap: (h) => (h.id === hart ? n - h.attempted : Infinity),
    reached: (s) => s.machine.harts[hart]!.attempted >= n,
  };
}

/**
 * `when`: arrivals that count (e.g. only with V = 1 in a given VM, for a guest's symbol whose
 * address the host may also run); `whenLabel` says so in the label.
 */
export function pcHit(addr: bigint, k = 1, hart?: number, when?: (h: Hart) => boolean, whenLabel?: string): StopTarget & { hits: number } {
  const target = Number(BigInt.asIntN(64, addr));
  let stopNow = false;
  const installed: Hart[] = [];
  const t = {
    label: `pc 0x${BigInt.asUintN(64, addr).toString(16)}${whenLabel ? ` ${whenLabel}` : ''}${k > 1 ? ` (hit ${k})` : ''}${hart !== undefined ? ` on hart ${hart}` : ''}`,
    hits: 0,
    cap: () => Infinity,
    reached: () => stopNow,
    attach(s: PreciseScheduler) {
      // The hart's breakpoint hook: called before an instruction whose pc the filter flags;
      // translated blocks containing it are bypassed, so every arrival is seen.
      for (const h of s.machine.harts) {
        if (hart !== undefined && h.id !== hart) continue;
        setBreakFilter(h, [target]);
        h.onBreakPc = () => {
          if (h.pcNum() !== target || stopNow || (when !== undefined && !when(h))) return;
          t.hits++;
          if (t.hits >= k) {
            stopNow = true;
            throw STOP;
          }
        };
        installed.push(h);
      }
    },
    detach() {
      for (const h of installed) {
        h.breakFilter = null;
        h.onBreakPc = null;
      }
      installed.length = 0;
    },
  };
  return t;
}
