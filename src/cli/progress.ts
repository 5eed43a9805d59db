import type { Scheduler } from '../sched/scheduler.js';

/** Progress line on a terminal (instructions, MIPS, virtual time); silent otherwise. */
export class Progress {
  private last = 0;
  private lastInsns = 0;
  private readonly t0 = Date.now();
  private shown = false;
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
    const line = `[hvtrace] ${(insns / 1e6).toFixed(1)}M insns  ${mips.toFixed(0)} MIPS  vtime ${(s.time / 1e9).toFixed(3)} s${this.extra()}`;
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }
  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}
