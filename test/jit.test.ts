import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

/**
 * The block translator must be invisible: for every bundled guest, a run with translation and
 * a run with the interpreter only give the same console bytes, the same per-hart instruction
 * counts and the same virtual time, and the translator compiled blocks without errors.
 */
function runGuest(name: string, harts: number, jit: boolean, input?: string) {
  const m = new Machine({
    ramSize: 256 * 1024 * 1024,
    harts,
    bios: 'builtin',
    kernel: { name, bytes: new Uint8Array(readFileSync(`guests/build/${name}.elf`)) },
    jit,
    jitHot: 2, // translate nearly everything, so every translated instruction form is exercised
  });
  const out: number[] = [];
  m.onConsole = (b) => out.push(...b);
  const s = new Scheduler(m);
  if (input) s.addInput(new TextEncoder().encode(input), 0);
  const halt = s.runToEnd();
  return {
    halt,
    console: Buffer.from(out).toString('latin1'),
    instret: m.harts.map((h) => h.instret),
    steps: m.harts.map((h) => h.attempted),
    time: s.time,
    pcs: m.harts.map((h) => h.getPc()),
    blocks: m.jit.blocksCompiled,
    errors: m.jit.compileErrors,
  };
}

describe('block translation is invisible to the guest', () => {
  for (const [guest, harts, input] of [
    ['hello', 1, undefined], ['isa-check', 1, undefined], ['smp-kernel', 4, 'hello\n'], ['smp-kernel', 1, undefined],
  ] as const) {
    it(`${guest} on ${harts} hart(s): same console, instruction counts and time with and without translation`, () => {
      const a = runGuest(guest, harts, false, input);
      const b = runGuest(guest, harts, true, input);
      expect(a.halt.exitCode).toBe(0);
      expect(b.errors).toEqual([]);
      expect(b.blocks).toBeGreaterThan(0);
      expect(b.console).toBe(a.console);
      expect(b.instret).toEqual(a.instret);
      expect(b.steps).toEqual(a.steps);
      expect(b.time).toBe(a.time);
      expect(b.pcs).toEqual(a.pcs);
      expect(b.halt).toEqual(a.halt);
    });
  }
});
