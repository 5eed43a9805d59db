/**
 * `hvtrace record`: run a machine like `hvtrace run` and write a trace (src/trace/store.ts).
 *
 * With no --kernel (and the built-in firmware) it records the bundled multi-hart kernel
 * (guests/build/smp-kernel.elf, found from the package root) on 4 harts unless --smp is given.
 * Without -o the trace goes to traces/<kernel name>-<n>.trace under the current directory, n
 * being the first free number. The guest console still goes to stdout. SIGINT / SIGTERM finish
 * the current batch and close the trace as 'aborted' (readable; exit status 130 / 143).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ImageError } from '../machine/loader.js';
import type { HaltInfo } from '../machine/machine.js';
import { RecordSession, DEFAULT_CHECKPOINT_EVERY, DEFAULT_DIGEST_EVERY } from '../trace/recorder.js';
import { TraceError, PACKAGE_ROOT } from '../trace/store.js';
import { machineConfigFromCli, parseMaxInsns, type MachineCliOptions } from './run.js';
import { readImage } from './images.js';
import { Progress } from './progress.js';
import { ConsoleBuffer } from './output.js';

export interface RecordCliOptions extends MachineCliOptions {
  output?: string;
  checkpointEvery?: string;
  digestEvery?: string;
  overwrite?: boolean;
  /** Set by main.ts: whether --smp was given explicitly. */
  smpGiven?: boolean;
}

export const DEFAULT_GUEST = 'guests/build/smp-kernel.elf';

/** Parse an instruction count: 50000000, 50_000_000, 50M, 10k, 1G; 0 = off. */
export function parseCount(flag: string, s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const m = /^(\d[\d_]*)([kKmMgG]?)$/.exec(s.trim());
  if (!m) throw new ImageError(`${flag} ${s}: expected an instruction count like 50000000 or 50M (0 = off)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase()]!;
  const n = Number(m[1]!.replace(/_/g, '')) * mult;
  if (!Number.isSafeInteger(n)) throw new ImageError(`${flag} ${s}: too large`);
  return n;
}

/** traces/<name>-<n>.trace with the first free n >= 1. */
export function nextTracePath(dir: string, name: string): string {
  for (let n = 1; ; n++) {
    const p = join(dir, `${name}-${n}.trace`);
    if (!existsSync(p) && !existsSync(`${p}-wal`)) return p;
  }
}

export async function recordCommand(o: RecordCliOptions): Promise<number> {
  let session: RecordSession;
  const console_ = new ConsoleBuffer();
  let path: string;
  let halt: HaltInfo | undefined;
  const stdin = process.stdin;
  try {
    const opts = { ...o };
    if (!opts.kernel && opts.bios === 'builtin' && !(opts.guest && opts.guest.length > 0)) {
      opts.kernel = join(PACKAGE_ROOT, DEFAULT_GUEST);
      if (!o.smpGiven) opts.smp = '4';
    }
    const cfg = machineConfigFromCli(opts);
    const digestEvery = parseCount('--digest-every', o.digestEvery, DEFAULT_DIGEST_EVERY);
    const checkpointEvery = parseCount('--checkpoint-every', o.checkpointEvery, DEFAULT_CHECKPOINT_EVERY);
    const maxInsns = parseMaxInsns(o.maxInsns);
    const source = cfg.kernel ?? cfg.guests?.[0]?.image ?? (typeof cfg.bios === 'object' ? cfg.bios : undefined);
    const name = source ? basename(source.name).replace(/\.[^.]*$/, '') || 'trace' : 'trace';
    if (o.output) {
      path = o.output;
    } else {
      const dir = join(process.cwd(), 'traces');
      mkdirSync(dir, { recursive: true });
      path = nextTracePath(dir, name);
    }
    if (o.output && !existsSync(dirname(path))) throw new TraceError(`-o ${path}: directory ${dirname(path)} does not exist`);
    const inputBytes = o.input ? readImage(o.input, 'input').bytes : undefined;
    session = RecordSession.create({
      path,
      overwrite: o.overwrite,
      config: cfg,
      quantum: o.quantum,
      maxInsns,
      digestEvery,
      checkpointEvery,
      input: o.input ? { source: 'file', name: o.input } : { source: 'stdin' },
      onConsole: console_.write,
    });
    if (inputBytes) session.queueInput(inputBytes, 0);
  } catch (e) {
    if (e instanceof ImageError || e instanceof TraceError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  let stop: string | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop === null) stop = sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = new Progress(!o.quiet && process.stderr.isTTY === true, () => `  ${session.eventsRecorded.toLocaleString('en-US')} events`);
  let stdinEnded = false;
  const onData = (d: Buffer): void => session.queueInput(new Uint8Array(d));
  if (!o.input) {
    stdin.on('data', onData);
    stdin.on('end', () => { stdinEnded = true; });
    stdin.on('error', () => { stdinEnded = true; });
  }
  const wall0 = process.hrtime.bigint();
  try {
    for (;;) {
      if (stop !== null) break;
      const r = session.step(64);
      console_.flush();
      progress.update(session.scheduler);
      if (r.kind === 'halted') { halt = r.halt; break; }
      if (r.kind === 'idle') {
        if (o.input || stdinEnded || stdin.destroyed) { halt = session.runToEnd(); break; }
        await new Promise((res) => setTimeout(res, 10));
        continue;
      }
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    console_.flush();
    stdin.off('data', onData);
    stdin.pause();
    stdin.unref?.();
    progress.done();
  }
  const wallNs = Number(process.hrtime.bigint() - wall0);
  const summary = stop !== null
    ? session.finish('aborted', `recording interrupted by ${stop}`)
    : session.finish('complete');
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const m = session.machine;
  const total = session.scheduler.totalInstructions();
  if (!o.quiet) {
    const per = m.harts.map((h) => `hart${h.id}=${h.instret}`).join(' ');
    const mips = total / (wallNs / 1e3);
    const what = halt ? halt.message : `aborted (${stop})`;
    process.stderr.write(`hvtrace: ${what}; instructions ${per}; vtime ${(session.scheduler.time / 1e9).toFixed(6)} s; ${mips.toFixed(1)} MIPS\n`);
  }
  if (!o.quiet || !o.output || summary.status === 'aborted') {
    process.stderr.write(`hvtrace: trace ${summary.status === 'aborted' ? '(aborted) ' : ''}written to ${path}: ${summary.events.toLocaleString('en-US')} events\n`);
  }
  if (summary.status === 'aborted') return stop === 'SIGTERM' ? 143 : 130;
  if (o.quiet && halt && halt.exitCode !== 0 && !['poweroff', 'fail', 'htif'].includes(halt.kind)) {
    process.stderr.write(`hvtrace: ${halt.message}\n`);
  }
  return halt ? halt.exitCode : 0;
}
