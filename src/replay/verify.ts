/**
 * `replay`: a whole replay of a trace and its report (the first divergence with context, the
 * digests, the end of the run); src/replay/replayer.ts is the API.
 */
import { TraceError, type ExitInfo } from '../trace/store.js';
import { type TraceEvent } from '../trace/model.js';
import { type HaltInfo } from '../board/machine.js';
import { fieldLabel, hex, type Divergence } from '../diff/compare.js';
import { openForReplay, short, type OpenedTrace, type ReplayOpenOptions } from './open.js';
import { ReplayRun, type RunOptions } from './run.js';

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

export interface ReplayOptions extends ReplayOpenOptions, RunOptions {}

export interface EventDivergenceInfo {
  readonly divergence: Divergence;
  readonly seq: number;
  readonly hart: number;
  readonly instret: number;
  readonly pc: bigint;
  readonly symbol?: string;
  readonly insn?: string;
}

export interface ReplayIssue {
  readonly kind: 'event' | 'digest' | 'end' | 'instructions' | 'console';
  /** One line. */
  readonly message: string;
  readonly event?: EventDivergenceInfo;
}

export interface ReplayReport {
  readonly trace: string;
  readonly status: 'match' | 'divergence';
  readonly warnings: string[];
  readonly events: { readonly expected: number; readonly compared: number; readonly matched: number };
  readonly digests: { readonly stored: number; readonly compared: number };
  readonly instructions: { readonly expected: number | null; readonly actual: number; readonly perHart: number[] };
  readonly end: { readonly expected: ExitInfo | null; readonly actual: ExitInfo | null };
  /** Everything that differs; the first is the primary divergence. */
  readonly issues: ReplayIssue[];
  /**
   * A recording that was not finished (truncated: its recorder died; or aborted without final
   * counts; or still running) is replayed as a prefix: every recorded event is compared, and the
   * replay stops where the recording ends. Then why it ended; else null.
   */
  readonly prefix: string | null;
  readonly wallMs: number;
  /** Symbols of the trace's images (for formatting). */
  readonly symbolize: (addr: bigint) => string | undefined;
  /** The symbol of an event's pc, in its address space (a guest's pcs with the guest's symbols). */
  readonly symbolizeEvent: (e: TraceEvent) => string | undefined;
}

function describeEventDivergence(run: ReplayRun, d: Divergence): EventDivergenceInfo {
  const at = d.expected ?? d.actual!;
  const h = run.machine.harts[at.hart] ?? null;
  const symbol = run.code.symbolizeEvent(at);
  const insn = run.code.disasm(h, at.pc);
  return { divergence: d, seq: at.seq, hart: at.hart, instret: at.instret, pc: at.pc, ...(symbol ? { symbol } : {}), ...(insn ? { insn } : {}) };
}

export function eventIssue(run: ReplayRun, d: Divergence): ReplayIssue {
  const info = describeEventDivergence(run, d);
  const where = `hart ${info.hart}, instret ${info.instret}, pc ${hex(info.pc)}${info.symbol ? ` <${info.symbol}>` : ''}${info.insn ? ` (${info.insn})` : ''}`;
  let message: string;
  if (d.reason === 'mismatch') {
    message = `event #${info.seq} differs (${d.differences.map((x) => fieldLabel(d, x.field)).join(', ')}) at ${where}`;
  } else if (d.reason === 'missing') {
    message = `the replay ended before event #${info.seq} (${d.expected!.kind}) at ${where}`;
  } else {
    message = `the replay produced an event the recording does not have: #${info.seq} (${d.actual!.kind}) at ${where}`;
  }
  return { kind: 'event', message, event: info };
}

/** Replay a trace and compare it with the recording. Throws TraceError when it cannot be replayed. */
export function replay(path: string, opts: ReplayOptions = {}): ReplayReport {
  const opened = openForReplay(path, opts);
  try {
    return replayOpened(opened, opts);
  } finally {
    opened.reader.close();
  }
}

export function replayOpened(opened: OpenedTrace, opts: RunOptions = {}): ReplayReport {
  const wall0 = process.hrtime.bigint();
  const reader = opened.reader;
  const expectedEvents = reader.eventCount();
  const counts = reader.counts;
  const run = new ReplayRun(opened, opts);
  const { sched, machine, comparer, recorder } = run;
  let halt: HaltInfo | null = null;
  const status = reader.status;
  // Prefix replay: the recording has no end to compare with; the first event beyond its last one
  // ends the replay (comparer: 'extra'), not as a divergence.
  const prefix = status === 'truncated' || status === 'recording' || (status === 'aborted' && counts === null);
  const aborted = status === 'aborted' && !prefix;
  // The whole file's integrity (a damaged index page is never read by a replay), on a thread.
  const check = reader.startIntegrityCheck();
  try {
    return replayChecked();
  } finally {
    check.cancel();
  }
  function replayChecked(): ReplayReport {
  const stopAt = aborted && counts ? (counts.steps ?? []).reduce((a, b) => a + b, 0) : Infinity;
  const stopTime = aborted && counts ? counts.vtime : Infinity;
  try {
    for (;;) {
      if (aborted && sched.totalInstructions() >= stopAt && sched.time >= stopTime) break;
      const r = sched.step(aborted ? 1 : 64);
      recorder.flush();
      if (r.kind === 'halted') { halt = r.halt; break; }
      if (r.kind === 'idle') {
        if (aborted && sched.totalInstructions() >= stopAt) break;
        halt = sched.runToEnd();
        break;
      }
      if (comparer.divergence) break;
    }
    if (halt && !comparer.divergence) recorder.halt(machine.current, halt);
    run.endActual();
    if (halt && !comparer.divergence && opts.digests !== false) run.finalDigest(); // --no-digests: none compared
  } finally {
    run.close();
  }
  const res = comparer.result();
  const endOfRecording = prefix && res.divergence?.reason === 'extra';
  const issues: ReplayIssue[] = [];
  if (res.divergence && !endOfRecording) issues.push(eventIssue(run, res.divergence));
  if (run.digestMismatch) {
    const d = run.digestMismatch;
    issues.push({ kind: 'digest', message: `state digest at step ${d.stored.totalInstret}${d.stored.final ? ' (end of run)' : ''} differs: ${d.what}` });
  }
  const exp = reader.exit;
  const actual: ExitInfo | null = halt && !endOfRecording ? { kind: halt.kind, exitCode: halt.exitCode, message: halt.message } : null;
  if (!res.divergence || endOfRecording) {
    if (!aborted && !prefix && exp && (!actual || actual.kind !== exp.kind || actual.exitCode !== exp.exitCode)) {
      issues.push({ kind: 'end', message: `the run ended differently: recorded ${exp.kind} (exit ${exp.exitCode}), replay ${actual ? `${actual.kind} (exit ${actual.exitCode})` : 'did not halt'}` });
    }
    if (aborted && actual) issues.push({ kind: 'end', message: `the recording was aborted, but the replay halted: ${actual.kind} (exit ${actual.exitCode})` });
    const perHart = machine.harts.map((h) => h.instret);
    if (counts?.instret && counts.instret.join(',') !== perHart.join(',')) {
      issues.push({ kind: 'instructions', message: `instructions per hart differ: recorded ${counts.instret.join('/')}, replay ${perHart.join('/')}` });
    }
    const cs = reader.consoleSha256;
    if (cs && !aborted && cs !== run.consoleSha256()) {
      issues.push({ kind: 'console', message: `console output differs (sha256 ${short(cs)} recorded, ${short(run.consoleSha256())} replayed, ${run.consoleBytes} bytes)` });
    }
  }
  if (res.summary.compared === 0) {
    throw new TraceError(`${reader.path}: nothing to compare: the trace has no events and the replay produced none`);
  }
  const damaged = check.result();
  if (damaged) throw new TraceError(`${reader.path}: ${damaged}`);
  const why = status === 'truncated' ? 'truncated: its recorder died before it finished'
    : status === 'recording' ? 'still being recorded' : 'aborted before it could be finished';
  return {
    trace: reader.path,
    status: issues.length ? 'divergence' : 'match',
    warnings: [...opened.warnings, ...run.code.notes],
    prefix: prefix ? `the recording is ${why}; its ${res.summary.matched} events were verified and the replay stopped at the end of what was recorded` : null,
    events: { expected: expectedEvents, compared: endOfRecording ? res.summary.matched : res.summary.compared, matched: res.summary.matched },
    digests: { stored: reader.digests().length, compared: run.digestsCompared },
    instructions: {
      expected: counts ? (counts.steps ?? []).reduce((a, b) => a + b, 0) : null,
      actual: sched.totalInstructions(),
      perHart: machine.harts.map((h) => h.instret),
    },
    end: { expected: exp, actual },
    issues,
    wallMs: Number(process.hrtime.bigint() - wall0) / 1e6,
    symbolize: run.code.symbolize,
    symbolizeEvent: run.code.symbolizeEvent,
  };
  }
}
