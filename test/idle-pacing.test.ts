/**
 * Idle pacing (Scheduler.idleCap, src/cli/pacing.ts; issue 16): while live input may come, the
 * jump over idle time (every hart asleep) waits until the caller allows it, and then lands
 * exactly where an uncapped run jumps. So a `record` from a terminal, which paces its idle time
 * by the wall clock like `run`, goes through the very rounds its replay (uncapped) goes through.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

const GUEST = 'guests/build/wfi-timer.elf';

function run(paced: boolean) {
  const m = new Machine({ ramSize: 64 << 20, harts: 2, bios: 'builtin', kernel: { name: GUEST, bytes: new Uint8Array(readFileSync(GUEST)) } });
  const s = new Scheduler(m, { quantum: 5_000 });
  const starts: number[] = [];
  s.onRoundStart = (x) => { starts.push(x.time); };
  let console = '';
  m.onConsole = (b) => { console += Buffer.from(b).toString('latin1'); };
  // As IdlePacer: each wait grants some idle time; the grant starts again at every new time.
  let grant = 0;
  let at = -1;
  if (paced) {
    s.idleCap = () => {
      if (s.time !== at) { at = s.time; grant = 0; }
      return s.time + grant;
    };
  }
  let idles = 0;
  for (;;) {
    const r = s.step(16);
    if (r.kind === 'halted') break;
    if (r.kind === 'idle') {
      idles++;
      if (idles > 100_000) throw new Error('no progress');
      grant += 20_000;
    }
  }
  return { starts, idles, console, time: s.time, instret: m.harts.map((h) => h.instret), halt: m.halt };
}

describe('idle pacing', () => {
  it('a paced run stops at idle time many times, then goes through exactly the rounds of an unpaced one', () => {
    const free = run(false);
    const paced = run(true);
    expect(free.halt?.kind).toBe('poweroff');
    expect(free.idles).toBe(0);
    expect(paced.idles).toBeGreaterThan(10);
    expect(paced.starts).toEqual(free.starts);
    expect(paced.instret).toEqual(free.instret);
    expect(paced.time).toBe(free.time);
    expect(paced.console).toBe(free.console);
    expect(paced.console).toContain('every hart took its 3 timer interrupts: ok');
  });
});
