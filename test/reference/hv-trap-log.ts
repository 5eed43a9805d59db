/**
 * Run hvtrace on a configuration and record every trap through the hart observer, in the
 * record shape of src/diff/qemu-log.ts, for the trap-by-trap comparisons with QEMU.
 */
import { Machine, type HaltInfo, type MachineConfig } from '../../src/board/machine.js';
import { Scheduler } from '../../src/sched/scheduler.js';
import type { HartObserver } from '../../src/hart/observer.js';
import { trapName, type TrapRecord } from '../../src/diff/qemu-log.js';

export interface HvRun {
  readonly log: TrapRecord[];
  readonly console: string;
  readonly halt: HaltInfo;
  readonly instructions: number;
}

export function runWithTrapLog(config: MachineConfig, maxInsns: number): HvRun {
  const machine = new Machine(config);
  const chunks: Buffer[] = [];
  machine.onConsole = (b) => void chunks.push(Buffer.from(b));
  const log: TrapRecord[] = [];
  const noop = (): void => {};
  const obs: HartObserver = {
    trap(h, cause, interrupt, epc, tval, fromPriv, toPriv) {
      log.push({ hart: h.id, interrupt, cause, epc, tval, desc: trapName(cause, interrupt), fromPriv, toPriv });
    },
    trapReturn: noop, csrWrite: noop, mmio: noop, irqLine: noop, sbiCall: noop, hartState: noop,
  };
  for (const h of machine.harts) h.obs = obs;
  const sched = new Scheduler(machine, { maxInsns });
  const halt = sched.runToEnd();
  return { log, console: Buffer.concat(chunks).toString('latin1'), halt, instructions: sched.totalInstructions() };
}
