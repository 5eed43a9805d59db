/**
 * `hvtrace record`: run a machine like `hvtrace run` and write a trace (src/trace/store.ts).
 *
 * With no --kernel (and the built-in firmware) it records the bundled multi-hart kernel
 * (guests/build/smp-kernel.elf, found from the package root) on 4 harts unless --smp is given.
 * Without -o the trace goes to traces/<kernel name>-<n>.trace under the current directory, n
 * being the first free number. The guest console still goes to stdout.
 *
 * Ends that are not the guest's (the trace is always left readable at its path):
 * - SIGINT / SIGTERM (and SIGHUP: the terminal went away), at any time (the handlers are installed
 *   before the trace file exists): the current batch is finished and the trace closed as
 *   'aborted'; exit 130 / 143 (129).
 * - the trace cannot be written (a full disk; a file size limit, `ulimit -f`, whose SIGXFSZ is
 *   ignored here so that the write fails with EFBIG instead of killing the recorder): the trace
 *   is closed as 'aborted' if that still fits (else it reads as 'truncated'), one line
 *   `hvtrace: FILE: cannot write the trace: ...`, exit 2.
 * - stdout fails (a full device, a closed pipe): the guest console has nowhere to go; the trace
 *   is closed as 'aborted', one line, exit 2.
 * - SIGKILL, power loss: the trace keeps every batch committed (WAL); readers see 'truncated'.
 * -o must be a new path or (with --overwrite) a regular file; see src/trace/store.ts "where a
 * trace is written" for how an existing file is replaced without being deleted under a reader.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ImageError } from '../image/loader.js';
import type { HaltInfo } from '../board/machine.js';
import { RecordSession, DEFAULT_CHECKPOINT_EVERY, DEFAULT_DIGEST_EVERY } from '../trace/recorder.js';
import { TraceError, PACKAGE_ROOT, checkTracePath } from '../trace/store.js';
import { ThreadedTraceWriter } from '../trace/writer-thread.js';
import { machineConfigFromCli, parseMaxInsns, type MachineCliOptions } from './run.js';
import { readImage } from './images.js';
import { Progress } from './progress.js';
import { ConsoleBuffer } from './output.js';
import { readSymbolFile, symbolsToStore } from '../image/symbols.js';
import { configureEngine, warmUpEngine } from './engine.js';
import { formatProfile, parseProfileOption, tierProfile, useCompileClock, type ProfileFormat } from './profile.js';
import { InputScriptDriver, readInputScript, roundsUntil, scriptEndNote, scriptTimeoutMessage } from './input-script.js';
import { IdlePacer } from './pacing.js';
import { holdLateSignals } from './late-signals.js';

export interface RecordCliOptions extends MachineCliOptions {
  output?: string;
  checkpointEvery?: string;
  digestEvery?: string;
  overwrite?: boolean;
  /** Set by main.ts: whether --smp was given explicitly. */
  smpGiven?: boolean;
  /** --symbols files (ELF or System.map) to store in the trace besides the images' own. */
  symbols?: string[];
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
  // Nothing is recorded: the device tree is written and the command ends.
  if (o.dumpDtb !== undefined) return (await import('./dump-dtb.js')).dumpDtbCommand(o);
  const signals: RecordSignals = { stop: null, stdoutError: null };
  const onSignal = (sig: NodeJS.Signals): void => {
    signals.stop ??= sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const ignore = (): void => {};
  process.on('SIGXFSZ', ignore);
  // stdout is the guest console's while recording: its failure stops the recording (main.ts's
  // handler would end the process with the trace unfinished). Restored afterwards.
  const stdoutHandlers = process.stdout.listeners('error') as ((e: Error) => void)[];
  process.stdout.removeAllListeners('error');
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    signals.stdoutError ??= e;
    signals.stop ??= 'stdout';
  };
  process.stdout.on('error', onStdoutError);
  try {
    return await record(o, signals);
  } finally {
    holdLateSignals();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('SIGXFSZ', ignore);
    process.stdout.off('error', onStdoutError);
    for (const h of stdoutHandlers) process.stdout.on('error', h);
  }
}

interface RecordSignals {
  /** Why the recording stops early: 'SIGINT', 'SIGTERM' or 'stdout'. */
  stop: string | null;
  stdoutError: NodeJS.ErrnoException | null;
}

async function record(o: RecordCliOptions, signals: RecordSignals): Promise<number> {
  let session: RecordSession;
  const console_ = new ConsoleBuffer();
  let path: string;
  let halt: HaltInfo | undefined;
  let script: InputScriptDriver | null = null;
  const stdin = process.stdin;
  let profile: ProfileFormat | null;
  ThreadedTraceWriter.prestart(); // its start-up overlaps ours (nothing is written before create)
  configureEngine();
  try {
    profile = parseProfileOption(o.profile);
    if (o.output !== undefined) checkTracePath(o.output, o.overwrite === true); // before anything is loaded
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
    if (o.output !== undefined) {
      path = o.output;
    } else {
      const dir = join(process.cwd(), 'traces');
      mkdirSync(dir, { recursive: true });
      path = nextTracePath(dir, name);
    }
    const inputBytes = o.input ? readImage(o.input, 'input').bytes : undefined;
    const steps = o.inputScript ? readInputScript(o.inputScript, o.input) : null;
    // Symbol tables travel with the trace: the System.map next to a raw kernel / guest Image
    // (when it describes it) and --symbols files are stored, so that readers elsewhere name the code.
    const sym = symbolsToStore(cfg, (o.symbols ?? []).map((p) => readSymbolFile(p)));
    for (const n of sym.notes) process.stderr.write(`hvtrace: warning: ${n}\n`);
    session = RecordSession.create({
      path,
      overwrite: o.overwrite,
      config: cfg,
      quantum: o.quantum,
      maxInsns,
      digestEvery,
      checkpointEvery,
      input: o.inputScript ? { source: 'script', name: o.inputScript } : o.input ? { source: 'file', name: o.input } : { source: 'stdin' },
      // --input-script: each send is queued (and stored in the input queue) for the next round
      // once its expects have matched, so a replay needs no script.
      onConsole: steps ? (b) => { console_.write(b); script!.onConsole(b, session.scheduler.time + session.scheduler.quantum); } : console_.write,
      symbols: sym.stored,
    });
    if (inputBytes) session.queueInput(inputBytes, 0);
    if (steps) {
      script = new InputScriptDriver(steps, (bytes, vtime) => session.queueInput(bytes, vtime));
      script.start();
    }
    if (profile !== null) useCompileClock(session.machine);
    warmUpEngine();
  } catch (e) {
    if (e instanceof ImageError || e instanceof TraceError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  const progress = new Progress(!o.quiet && process.stderr.isTTY === true, () => `  ${session.eventsRecorded.toLocaleString('en-US')} events`);
  console_.statusLine = progress;
  let stdinEnded = false;
  const onData = (d: Buffer): void => {
    try {
      session.queueInput(new Uint8Array(d));
    } catch {
      /* the trace failed: the loop stops at its next write */
    }
  };
  // Without --input / --input-script, stdin is live input; while it is open, idle virtual time
  // is paced by the wall clock as `run` paces it (src/cli/pacing.ts), and the rounds stay those
  // of a replay, so what the guest waited for is what the trace holds.
  const live = !o.input && !script;
  if (live) {
    stdin.on('data', onData);
    stdin.on('end', () => { stdinEnded = true; });
    stdin.on('error', () => { stdinEnded = true; });
  }
  const pacer = live ? new IdlePacer(session.scheduler, () => !stdinEnded) : null;
  /** --input-script: the expect that timed out (the recording ends there, aborted). */
  let scriptTimeout: string | null = null;
  const wall0 = process.hrtime.bigint();
  /** A write of the trace failed (TraceError: the writer abandoned the trace, marked aborted). */
  let writeError: TraceError | null = null;
  try {
    for (;;) {
      if (signals.stop !== null) break;
      const sched = session.scheduler;
      const r = session.step(script ? roundsUntil(sched.time, script.deadline, sched.quantum, 64) : 64);
      // Hand the events so far to the writer (64 rounds: at least 640,000 instructions): a
      // recorder that is killed keeps all but the last moments, not just whole 4096-event
      // batches. Deterministic (instruction counts, not wall time): only the console chunks'
      // boundaries follow the flushes, never an event.
      session.recorder.flush();
      console_.flush();
      progress.update(session.scheduler);
      if (r.kind === 'halted') { halt = r.halt; break; }
      if (script && script.waiting && sched.time >= script.deadline) {
        scriptTimeout = scriptTimeoutMessage(o.inputScript!, script);
        break;
      }
      if (r.kind === 'idle') {
        if (!live || stdinEnded || stdin.destroyed) {
          pacer?.stop();
          halt = session.runToEnd();
          break;
        }
        await pacer!.wait(10);
        continue;
      }
      await new Promise((res) => setImmediate(res));
    }
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    writeError = e;
  } finally {
    console_.flush();
    stdin.off('data', onData);
    stdin.pause();
    stdin.unref?.();
    progress.done();
  }
  const wallNs = Number(process.hrtime.bigint() - wall0);
  const stop = signals.stop;
  const reason = stop === 'stdout'
    ? `recording stopped: stdout: ${signals.stdoutError?.code ?? signals.stdoutError?.message ?? 'write error'}`
    : stop === null && scriptTimeout !== null ? scriptTimeout : `recording interrupted by ${stop}`;
  let summary: ReturnType<RecordSession['finish']> | null = null;
  if (writeError === null) {
    try {
      summary = stop !== null || scriptTimeout !== null ? session.finish('aborted', reason) : session.finish('complete');
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      writeError = e;
    }
  }
  if (writeError !== null) {
    session.writer.abandon(writeError.message);
    process.stderr.write(`hvtrace: ${writeError.message}\n`);
    return 2;
  }
  if (stop === 'stdout') {
    const e = signals.stdoutError;
    process.stderr.write(`hvtrace: stdout: ${e?.code === 'EPIPE' ? 'the reader closed the pipe' : e?.message ?? 'write error'}; recording stopped, trace (aborted) written to ${path}: ${summary!.events.toLocaleString('en-US')} events\n`);
    return 2;
  }
  const m = session.machine;
  const total = session.scheduler.totalInstructions();
  if (!o.quiet) {
    const per = m.harts.map((h) => `hart${h.id}=${h.instret}`).join(' ');
    const mips = total / (wallNs / 1e3);
    const what = halt ? halt.message : stop === null && scriptTimeout !== null ? scriptTimeout : `aborted (${stop})`;
    process.stderr.write(`hvtrace: ${what}; instructions ${per}; vtime ${(session.scheduler.time / 1e9).toFixed(6)} s; ${mips.toFixed(1)} MIPS\n`);
  }
  // --quiet: nothing but errors (an aborted recording is reported: the trace is not complete).
  if (!o.quiet || summary!.status === 'aborted') {
    process.stderr.write(`hvtrace: trace ${summary!.status === 'aborted' ? '(aborted) ' : ''}written to ${path}: ${summary!.events.toLocaleString('en-US')} events\n`);
  }
  const note = script && halt ? scriptEndNote(o.inputScript!, script, halt) : null;
  if (note) process.stderr.write(`hvtrace: ${note}\n`);
  if (profile !== null) process.stderr.write(formatProfile(tierProfile(m), profile));
  if (summary!.status === 'aborted' && stop === null && scriptTimeout !== null) {
    // An expect timed out: exit 4, as for the instruction limit.
    if (o.quiet) process.stderr.write(`hvtrace: ${scriptTimeout}\n`);
    return 4;
  }
  if (summary!.status === 'aborted') return stop === 'SIGTERM' ? 143 : stop === 'SIGHUP' ? 129 : 130;
  if (o.quiet && halt && halt.exitCode !== 0 && !['poweroff', 'fail', 'htif'].includes(halt.kind)) {
    process.stderr.write(`hvtrace: ${halt.message}\n`);
  }
  return halt ? halt.exitCode : 0;
}
