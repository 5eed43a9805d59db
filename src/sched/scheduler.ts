/**
 * The deterministic scheduler (DESIGN.md §3).
 *
 * Harts run round-robin in quanta of Q instructions. Virtual time is counted in instructions:
 * a round starting at time T gives every runnable hart the interval [T, T+Q); a hart's own
 * time is T plus what it executed in this round, and mtime = time / 100 (10 MHz at one
 * instruction per ns, as QEMU -icount shift=0). A slice is cut at the hart's next timer
 * deadline so timer interrupts are taken at exact instruction boundaries. WFI parks a hart;
 * a parked hart whose deadline falls inside the round resumes exactly there; when every hart
 * is parked, time jumps to the earliest deadline. Input bytes are delivered at recorded times.
 * Nothing here reads the host clock.
 */
import type { ConsoleInput, Machine, HaltInfo } from '../board/machine.js';
import { HartState, type Hart } from '../hart/hart.js';

export interface InputEvent {
  /** Virtual time (instructions) at which the bytes become available to the guest. */
  readonly vtime: number;
  readonly bytes: Uint8Array;
}

export interface SchedulerOptions {
  /** Instructions per hart per round. */
  quantum?: number;
  /** Stop after this many instructions in total (all harts). */
  maxInsns?: number;
}

export type StepResult =
  | { readonly kind: 'halted'; readonly halt: HaltInfo }
  /** Every hart waits for an interrupt that only input can bring: the caller may add input. */
  | { readonly kind: 'idle' }
  | { readonly kind: 'running' };

export const DEFAULT_QUANTUM = 10_000;

/**
 * The vtimeOffset that places hart h at the start of the round beginning at `time`: every hart
 * starts a round at the round's time, except one started (HSM hart_start) by a hart that ran
 * earlier in this round: it already carries the time it was started at, later than the round
 * start, and runs from there, so its virtual time never goes backwards in event order.
 */
export function roundStartOffset(h: Hart, time: number): number {
  return Math.max(time, h.vtime()) - h.attempted;
}

export class Scheduler {
  readonly machine: Machine;
  readonly quantum: number;
  readonly maxInsns: number;
  /** Start of the current round, in instructions. */
  time = 0;
  protected readonly inputs: InputEvent[] = [];
  protected inputPos = 0;
  protected inputOff = 0;
  /** Round time from which input may be delivered (-1: the guest is not listening yet). */
  protected listenFrom = -1;
  /**
   * Called before every round, at a round boundary (every hart is at `time`, nothing of the
   * round has run): the place to take checkpoints and state digests, since a run restored
   * from here continues exactly as the original did. Must not change machine state.
   */
  onRoundStart: ((s: Scheduler) => void) | null = null;
  /**
   * While set, idle time skipping (every hart waiting for a timer) does not jump beyond this
   * virtual time: step() returns 'idle' with the time unchanged, and jumps once the cap has
   * grown past the deadline. The CLI (src/cli/pacing.ts) sets it while live input (a terminal,
   * a pipe) is open, so a guest waiting for a keypress does not race through its timeouts before
   * the bytes can arrive. Recorded runs store when input arrived, and the rounds are the same
   * with or without a cap, so replays do not need it.
   */
  idleCap: (() => number) | null = null;
  /**
   * idleCap stopped a jump: every hart sleeps at `time`, the jump to their deadline is still to
   * come. The next step() decides it again before running a round, so a capped run goes through
   * exactly the rounds an uncapped one (a replay) goes through: pacing delays jumps in wall-clock
   * time and never moves a round boundary (issue 16: a live `record` stays replayable).
   */
  private idlePaused = false;
  /** Inputs delivered so far, with the time they were delivered (for the trace). */
  onInputDelivered: ((vtime: number, byte: number) => void) | null = null;

  constructor(machine: Machine, opts: SchedulerOptions = {}) {
    this.machine = machine;
    this.quantum = opts.quantum ?? DEFAULT_QUANTUM;
    this.maxInsns = opts.maxInsns ?? Infinity;
    if (!(this.quantum >= 1)) throw new Error('quantum must be >= 1');
  }

  /** Queue input to be delivered at virtual time `vtime` (clamped to now). */
  addInput(bytes: Uint8Array, vtime = this.time): void {
    if (bytes.length === 0) return;
    this.inputs.push({ vtime: Math.max(vtime, this.time), bytes });
  }
  hasPendingInput(): boolean {
    return this.inputPos < this.inputs.length;
  }

  /** Scheduler state for checkpoints: time and input position. */
  saveState(): { time: number; inputPos: number; inputOff: number; listenFrom: number } {
    return { time: this.time, inputPos: this.inputPos, inputOff: this.inputOff, listenFrom: this.listenFrom };
  }
  restoreState(s: { time: number; inputPos: number; inputOff: number; listenFrom?: number }): void {
    this.time = s.time;
    this.inputPos = s.inputPos;
    this.inputOff = s.inputOff;
    this.listenFrom = s.listenFrom ?? -1;
  }

  /**
   * Attempted instructions of all harts (steps: retired ones plus attempts that trapped). The
   * deterministic position in a run; `totalRetired()` is the count users see.
   */
  totalInstructions(): number {
    let n = 0;
    for (const h of this.machine.harts) n += h.attempted;
    return n;
  }

  /** Retired instructions of all harts (the sum of instret): what `info`, `record` and `--to N` count. */
  totalRetired(): number {
    let n = 0;
    for (const h of this.machine.harts) n += h.instret;
    return n;
  }

  /**
   * Deliver queued input whose time has come, as far as the console input device (the UART's
   * FIFO, or the virtconsole's receive buffers) has room.
   */
  protected deliverInput(): void {
    const uart = this.machine.consoleIn;
    if (!uart.rxListening()) return;
    // Deliver from the round after the one in which the guest started listening: a driver
    // that enables receive interrupts usually finishes setting up (Linux's 8250 startup reads
    // RBR once "for luck") before it really consumes input.
    if (this.listenFrom < 0) this.listenFrom = this.time + this.quantum;
    if (this.time < this.listenFrom) return;
    this.pushInput(uart);
    uart.endRx?.();
  }

  private pushInput(uart: ConsoleInput): void {
    while (this.inputPos < this.inputs.length) {
      const ev = this.inputs[this.inputPos]!;
      if (ev.vtime > this.time) return;
      while (this.inputOff < ev.bytes.length) {
        if (uart.rxSpace() <= 0) return;
        const b = ev.bytes[this.inputOff++]!;
        uart.pushRx(b);
        if (this.onInputDelivered) this.onInputDelivered(this.time, b);
      }
      this.inputPos++;
      this.inputOff = 0;
    }
  }

  /** Run one hart for the round [T, T+Q). */
  private runHart(h: Hart, end: number): void {
    const m = this.machine;
    m.current = h;
    if (h.runState === HartState.Stopped) return;
    h.vtimeOffset = roundStartOffset(h, this.time);
    m.updateTimers(h);
    while (!m.halted) {
      const budget = this.nextSlice(h, end);
      if (budget <= 0) return;
      h.run(budget);
      if (h.fatal !== null) {
        m.stop({ kind: 'fatal', exitCode: 3, message: h.fatal });
        return;
      }
      m.updateTimers(h);
    }
  }

  /**
   * The next slice for hart h in the round ending at `end`: wakes a parked hart whose timer
   * deadline falls inside the round (at exactly that time), and cuts the slice at the hart's
   * next deadline and at the instruction limit. 0 = nothing more to run this round.
   */
  protected nextSlice(h: Hart, end: number): number {
    const m = this.machine;
    // The slice planned here ends at the hart's deadline, whatever changed it before.
    h.timerCut = Infinity;
    while (!m.halted) {
      if (h.runState === HartState.Wfi) {
        if (!h.wakeable()) {
          // Sleep until the next deadline if it falls inside this round.
          const d = m.nextDeadline(h);
          if (d >= end) return 0;
          h.vtimeOffset += Math.max(0, d - h.vtime());
          m.updateTimers(h);
          if (!h.wakeable()) continue;
        }
        h.runState = HartState.Running;
        h.attention = true;
      }
      if (h.runState !== HartState.Running) return 0;
      const now = h.vtime();
      if (now >= end) return 0;
      const d = m.nextDeadline(h);
      let budget = Math.min(end, d) - now;
      if (budget <= 0) {
        m.updateTimers(h);
        budget = end - now;
        const d2 = m.nextDeadline(h);
        if (d2 > now) budget = Math.min(budget, d2 - now);
        if (budget <= 0) budget = 1;
      }
      const left = this.maxInsns - this.totalInstructions();
      if (left <= 0) {
        m.stop({ kind: 'limit', exitCode: 4, message: `instruction limit reached (${this.maxInsns})` });
        return 0;
      }
      return Math.min(budget, left);
    }
    return 0;
  }

  /**
   * Run up to `rounds` rounds. Returns 'halted' with the reason, 'idle' when all harts wait
   * for input that has not arrived, or 'running' when the round budget is used up.
   */
  step(rounds: number): StepResult {
    const m = this.machine;
    const Q = this.quantum;
    if (this.idlePaused && !m.halt) {
      this.idlePaused = false;
      const res = this.allAsleep();
      if (res !== null) return res;
    }
    for (let r = 0; r < rounds; r++) {
      if (m.halt) return { kind: 'halted', halt: m.halt };
      if (this.onRoundStart) this.onRoundStart(this);
      this.deliverInput();
      const end = this.time + Q;
      for (const h of m.harts) {
        this.runHart(h, end);
        if (m.halted) break;
      }
      const res = this.finishRound(end);
      if (res !== null) return res;
    }
    return m.halt ? { kind: 'halted', halt: m.halt } : { kind: 'running' };
  }

  /**
   * End of a round at `end`: advance time; when every hart sleeps, jump to the earliest timer
   * deadline or input time. Returns null to go on with the next round, or the result to report
   * ('idle': all harts wait and only input could wake them, or idleCap stopped the jump).
   */
  protected finishRound(end: number): StepResult | null {
    const m = this.machine;
    m.pollTohost();
    if (m.halt) return { kind: 'halted', halt: m.halt };
    this.time = end;
    return this.allAsleep();
  }

  /**
   * At a round boundary: when every hart sleeps, jump to the earliest timer deadline or input
   * time (or report idle / deadlock); null to go on with the next round.
   */
  private allAsleep(): StepResult | null {
    const m = this.machine;
    let anyRunning = false;
    let earliest = Infinity;
    let anyAlive = false;
    for (const h of m.harts) {
      if (h.runState === HartState.Running) anyRunning = true;
      if (h.runState === HartState.Wfi) {
        anyAlive = true;
        m.current = h;
        h.vtimeOffset = this.time - h.attempted;
        m.updateTimers(h);
        if (h.wakeable()) anyRunning = true;
        else earliest = Math.min(earliest, m.nextDeadline(h));
      }
    }
    if (!anyRunning) {
      if (this.hasPendingInput()) {
        const next = this.inputs[this.inputPos]!.vtime;
        if (next > this.time) this.time = Math.min(next, earliest === Infinity ? next : Math.max(this.time, earliest));
        if (m.consoleIn.rxSpace() <= 0) {
          // Input can't be delivered and nobody runs: only a timer can help.
          if (earliest === Infinity) return this.deadlock(anyAlive);
        }
        return null;
      }
      if (earliest === Infinity) return anyAlive ? { kind: 'idle' } : this.deadlock(false);
      const cap = this.idleCap ? this.idleCap() : Infinity;
      if (earliest > cap) {
        // Live input may still come: the jump waits until the caller allows that much idle
        // time (run / record from a terminal: the wall-clock time spent waiting). Input that
        // arrives meanwhile is queued at `time`, where an uncapped replay finds it too.
        this.idlePaused = true;
        return { kind: 'idle' };
      }
      if (earliest > this.time) this.time = earliest;
    }
    return null;
  }

  protected deadlock(anyWaiting: boolean): StepResult {
    const msg = anyWaiting
      ? 'all harts wait for an interrupt (WFI) and none can arrive'
      : 'no hart is running (all stopped)';
    this.machine.stop({ kind: 'deadlock', exitCode: 5, message: msg });
    return { kind: 'halted', halt: this.machine.halt! };
  }

  /** Run to completion with no further input: idle becomes a deadlock. */
  runToEnd(): HaltInfo {
    for (;;) {
      const r = this.step(1000);
      if (r.kind === 'halted') return r.halt;
      if (r.kind === 'idle') {
        const res = this.deadlock(true);
        if (res.kind === 'halted') return res.halt;
      }
    }
  }
}
