import { Machine, type MachineConfig } from '../machine/machine.js';
import { Scheduler } from '../sched/scheduler.js';
import { ImageError } from '../machine/loader.js';
import { readImage, parseMemSize } from './images.js';
import { Progress } from './progress.js';

export interface MachineCliOptions {
  bios: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  memory: string;
  smp: string;
  maxInsns?: string;
  quantum: number;
  quiet?: boolean;
  input?: string;
}

/** Build the machine configuration from CLI flags (throws ImageError with a one-line message). */
export function machineConfigFromCli(o: MachineCliOptions): MachineConfig {
  const harts = Number(o.smp);
  if (!Number.isInteger(harts) || harts < 1 || harts > 8) throw new ImageError(`--smp must be between 1 and 8 (got ${o.smp})`);
  const bios = o.bios === 'builtin' || o.bios === 'none' ? o.bios : readImage(o.bios, 'firmware');
  return {
    ramSize: parseMemSize(o.memory),
    harts,
    bios,
    kernel: o.kernel ? readImage(o.kernel, 'kernel') : undefined,
    initrd: o.initrd ? readImage(o.initrd, 'initrd') : undefined,
    append: o.append,
    dtb: o.dtb ? readImage(o.dtb, 'dtb') : undefined,
  };
}

export function parseMaxInsns(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new ImageError(`--max-insns ${s}: expected a positive integer`);
  return n;
}

/** `hvtrace run`: returns the process exit status. */
export async function runCommand(o: MachineCliOptions): Promise<number> {
  let machine: Machine;
  let sched: Scheduler;
  try {
    const cfg = machineConfigFromCli(o);
    machine = new Machine(cfg);
    sched = new Scheduler(machine, { quantum: o.quantum, maxInsns: parseMaxInsns(o.maxInsns) });
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (o.input) {
    try {
      sched.addInput(readImage(o.input, 'input').bytes, 0);
    } catch (e) {
      process.stderr.write(`hvtrace: ${(e as Error).message}\n`);
      return 2;
    }
  }
  machine.onConsole = (b) => process.stdout.write(b);
  const progress = new Progress(!o.quiet && process.stderr.isTTY === true);
  const stdin = process.stdin;
  let stdinEnded = false;
  const onData = (d: Buffer): void => sched.addInput(new Uint8Array(d));
  if (!o.input) {
    stdin.on('data', onData);
    stdin.on('end', () => { stdinEnded = true; });
    stdin.on('error', () => { stdinEnded = true; });
  }
  const wall0 = process.hrtime.bigint();
  if (!o.input) {
    // Pace idle time to the wall clock (1 instruction = 1 ns) while stdin is open.
    sched.idleCap = () => (stdinEnded ? Infinity : Number(process.hrtime.bigint() - wall0));
  }
  let halt;
  for (;;) {
    const r = sched.step(64);
    progress.update(sched);
    if (r.kind === 'halted') { halt = r.halt; break; }
    if (r.kind === 'idle') {
      if (stdinEnded || stdin.destroyed) {
        sched.idleCap = null;
        halt = sched.runToEnd();
        break;
      }
      await new Promise((res) => setTimeout(res, 5));
      continue;
    }
    await new Promise((res) => setImmediate(res));
  }
  stdin.off('data', onData);
  stdin.pause();
  stdin.unref?.();
  progress.done();
  const wallNs = Number(process.hrtime.bigint() - wall0);
  if (!o.quiet) {
    const per = machine.harts.map((h) => `hart${h.id}=${h.instret}`).join(' ');
    const total = sched.totalInstructions();
    const mips = total / (wallNs / 1e3);
    process.stderr.write(`hvtrace: ${halt.message}; instructions ${per}; vtime ${(sched.time / 1e9).toFixed(6)} s; ${mips.toFixed(1)} MIPS\n`);
  } else if (halt.exitCode !== 0 && !['poweroff', 'fail', 'htif'].includes(halt.kind)) {
    process.stderr.write(`hvtrace: ${halt.message}\n`);
  }
  return halt.exitCode;
}
