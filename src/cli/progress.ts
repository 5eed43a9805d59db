import type { Scheduler } from '../sched/scheduler.js';

/**
 * Progress line on a terminal (instructions, MIPS, virtual time, `extra`); silent when stderr is
 * not a terminal or with --quiet.
 *
 * The guest console owns stdout. When stdout is the same terminal, the status line must never
 * mix with it (issue 13: `...vtime 0.021 sLinux version 6.1...`): it is cleared before console
 * output is written (`beforeConsole`) and redrawn under it afterwards (`afterConsole`), the way
 * cargo or apt keep a status line under streaming output. While the console has left a line
 * unfinished (a prompt), the status line stays hidden rather than glue itself to that line.
 */
export class Progress {
  private last = 0;
  private lastInsns = 0;
  private readonly t0 = Date.now();
  private shown = false;
  private line = '';
  /** The console's last byte was not a newline: the cursor is inside a console line. */
  private midLine = false;
  private readonly sharesTerminal = process.stdout.isTTY === true;
  constructor(private readonly enabled: boolean, private readonly extra: () => string = () => '') {}

  update(s: Scheduler): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 250) return;
    const insns = s.totalInstructions();
    const dt = this.last === 0 ? now - this.t0 : now - this.last;
    const mips = dt > 0 ? (insns - this.lastInsns) / (dt * 1000) : 0;
    this.last = now;
    this.lastInsns = insns;
    this.line = `[hvtrace] ${(insns / 1e6).toFixed(1)}M insns  ${mips.toFixed(0)} MIPS  vtime ${(s.time / 1e9).toFixed(3)} s${this.extra()}`;
    this.draw();
  }

  /** Console output is about to be written to stdout: take the status line off the terminal. */
  beforeConsole(): void {
    if (!this.enabled || !this.sharesTerminal || !this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }

  /** Console output (ending with byte `last`) was written: redraw the status line under it. */
  afterConsole(last: number): void {
    if (!this.enabled || !this.sharesTerminal) return;
    this.midLine = last !== 0x0a;
    if (this.line !== '') this.draw();
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }

  private draw(): void {
    if (this.midLine && this.sharesTerminal) return;
    process.stderr.write(`\r\x1b[K${this.line}`);
    this.shown = true;
  }
}
