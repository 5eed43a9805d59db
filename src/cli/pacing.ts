/**
 * Pacing of idle virtual time while live input may come (run and record reading a terminal or
 * a pipe): when every hart sleeps, the scheduler's jump to their next deadline waits until this
 * loop has spent as much wall-clock time waiting as the jump covers (1 instruction = 1 ns), so
 * a guest waiting for a keypress does not race through its timeouts before the bytes can arrive
 * (issue 16: a live `record` showed 10,243 s of virtual time where `run` showed 11.9 s).
 *
 * Only waiting counts, not start-up or a busy host, so a slow start cannot skip a wait. The
 * scheduler keeps its rounds exactly as without a cap (Scheduler.idleCap), so a recording made
 * this way replays without it. Wall-clock time is read here, in src/cli/, never in the core.
 */
import type { Scheduler } from '../sched/scheduler.js';

export class IdlePacer {
  private grantNs = 0;
  /** The virtual time at which the current wait began (the grant is for that wait). */
  private waitingAt = -1;

  /** `live()`: input may still come (stdin open); when it may not, idle time is not capped. */
  constructor(private readonly sched: Scheduler, private readonly live: () => boolean) {
    sched.idleCap = () => this.cap();
  }

  private cap(): number {
    if (!this.live()) return Infinity;
    if (this.sched.time !== this.waitingAt) {
      this.waitingAt = this.sched.time;
      this.grantNs = 0;
    }
    return this.sched.time + this.grantNs;
  }

  /** Wait `ms` of wall-clock time for input; the time waited is granted to the idle harts. */
  async wait(ms: number): Promise<void> {
    const t0 = process.hrtime.bigint();
    await new Promise((res) => setTimeout(res, ms));
    this.grantNs += Number(process.hrtime.bigint() - t0);
  }

  /** Input is over: idle time jumps at once again. */
  stop(): void {
    this.sched.idleCap = null;
  }
}
