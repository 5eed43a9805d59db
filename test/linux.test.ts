import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { Machine, type MachineConfig } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

/**
 * The real workload: the bundled Linux 6.1 Image (scripts/build-linux.sh) boots to its init's
 * verdict and powers off, on the built-in SBI and on Debian's OpenSBI, with 1 and 4 harts.
 */
const IMAGE = 'guests/build/linux/Image';
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

function boot(harts: number, bios: MachineConfig['bios'], append = 'console=ttyS0', input?: string) {
  const m = new Machine({
    ramSize: 256 * 1024 * 1024,
    harts,
    bios,
    kernel: { name: IMAGE, bytes: new Uint8Array(readFileSync(IMAGE)) },
    append,
  });
  const out: number[] = [];
  m.onConsole = (b) => { for (const x of b) out.push(x); };
  const sched = new Scheduler(m, { maxInsns: 3_000_000_000 });
  if (input !== undefined) sched.addInput(new TextEncoder().encode(input), 0);
  const halt = sched.runToEnd();
  return { halt, console: Buffer.from(out).toString('latin1'), harts: m.harts.map((h) => h.instret) };
}

describe('Linux boots to its init verdict', () => {
  for (const harts of [1, 4]) {
    it(`built-in SBI, ${harts} hart(s): init PASS and a clean poweroff`, () => {
      const r = boot(harts, 'builtin');
      expect(r.console).toContain('hvtrace-init: PASS');
      expect(r.console).not.toContain('hvtrace-init: FAIL');
      expect(r.console).toContain(`smp: Brought up 1 node, ${harts} CPU`);
      expect(r.halt.kind, r.console.slice(-2000)).toBe('poweroff');
      expect(r.halt.exitCode).toBe(0);
      // Every hart did work.
      for (const n of r.harts) expect(n).toBeGreaterThan(0);
    });
  }

  it('console input queued at time 0 reaches init intact (nothing lost to the 8250 start-up)', () => {
    const r = boot(1, 'builtin', 'console=ttyS0 hvtrace.ask', 'hello hvtrace\n');
    expect(r.console).toContain("hvtrace-init: got 'hello hvtrace'");
    expect(r.console).toContain('hvtrace-init: PASS');
  });

  const haveFw = existsSync(FW_JUMP);
  const itFw = haveFw || process.env.CI ? it : it.skip;
  itFw('Debian OpenSBI fw_jump.bin, 4 harts: init PASS and a clean poweroff', () => {
    const r = boot(4, { name: FW_JUMP, bytes: new Uint8Array(readFileSync(FW_JUMP)) });
    expect(r.console).toContain('OpenSBI v');
    expect(r.console).toContain('hvtrace-init: PASS');
    expect(r.halt.exitCode, r.console.slice(-2000)).toBe(0);
  });
});
