/**
 * `seek` (`replay --to POS`): position parsing and symbol resolution, checkpoint choice, and the
 * precise run to the position (src/replay/replayer.ts is the API).
 */
import { TraceReader, TraceError, type CheckpointInfo } from '../trace/store.js';
import { type TraceEvent } from '../trace/model.js';
import { type HaltInfo, type MachineSnapshot } from '../board/machine.js';
import { SymbolTable } from '../image/symbols.js';
import { globalCount, globalRetired, beforeStep, hartInstret, pcHit, type StopTarget, type RunUntilResult } from './precise.js';
import { hex } from '../diff/compare.js';
import { hartView, type HartView } from './hart-view.js';
import { openForReplay, type OpenedTrace, type ReplayOpenOptions } from './open.js';
import { ReplayRun } from './run.js';
import { eventIssue, type ReplayIssue } from './verify.js';

// ---------------------------------------------------------------------------------------------
// seek
// ---------------------------------------------------------------------------------------------

export type SeekPosition =
  | { readonly kind: 'count'; readonly n: number }
  | { readonly kind: 'hart'; readonly hart: number; readonly instret: number }
  | { readonly kind: 'seq'; readonly seq: number }
  | { readonly kind: 'pc'; readonly addr: string; readonly hit: number; readonly hart?: number };

function parseCount(s: string): number | null {
  const m = /^(\d[\d_]*)([kKmMgG]?)$/.exec(s);
  if (!m) return null;
  const n = Number(m[1]!.replace(/_/g, '')) * ({ '': 1, k: 1e3, m: 1e6, g: 1e9 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : null;
}

/** Parse a --to position (throws TraceError). */
export function parsePosition(text: string): SeekPosition {
  const s = text.trim();
  const bad = (why = 'expected N, HART:COUNT, seq:N, pc:ADDR or pc:ADDR#K (ADDR hex, SYMBOL or SYMBOL+OFFSET)') =>
    new TraceError(`--to ${text}: ${why}`);
  let m: RegExpExecArray | null;
  if ((m = /^seq:(.+)$/.exec(s))) {
    const n = parseCount(m[1]!);
    if (n === null) throw bad('seq:N needs an event number');
    return { kind: 'seq', seq: n };
  }
  if ((m = /^(?:(\d+):)?pc:([^#]+)(?:#(\d+))?$/.exec(s))) {
    const hit = m[3] === undefined ? 1 : Number(m[3]);
    if (!(hit >= 1)) throw bad('pc:ADDR#K needs K >= 1');
    return { kind: 'pc', addr: m[2]!, hit, ...(m[1] !== undefined ? { hart: Number(m[1]) } : {}) };
  }
  if ((m = /^(\d+):(.+)$/.exec(s))) {
    const n = parseCount(m[2]!);
    if (n === null) throw bad('HART:COUNT needs an instruction count');
    return { kind: 'hart', hart: Number(m[1]), instret: n };
  }
  const n = parseCount(s);
  if (n !== null) return { kind: 'count', n };
  throw bad();
}

/**
 * Resolve a pc position's address: 0x-hex, a symbol optionally with an offset (`name+0x10`,
 * `name+16`), or bare hex digits (a symbol of that name wins). The result is a 64-bit address.
 */
export function resolveAddress(symbols: SymbolTable, text: string): bigint {
  return resolvePc(symbols, text).addr;
}

/**
 * resolveAddress, plus the guest VM when the address is a guest's symbol (a System.map or ELF
 * of a guest of the built-in hypervisor): the pc is then that guest's, reached with V = 1.
 */
export function resolvePc(symbols: SymbolTable, text: string): { addr: bigint; vm?: number } {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return { addr: BigInt.asUintN(64, BigInt(t)) };
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(t);
  if (m) {
    const f = symbols.find(m[1]!);
    if (f !== undefined) return { addr: BigInt.asUintN(64, f.value + (m[2] ? BigInt(m[2]) : 0n)), ...(f.vm !== undefined ? { vm: f.vm } : {}) };
  }
  if (/^[0-9a-f]+$/i.test(t)) return { addr: BigInt('0x' + t) };
  const names = symbols.sources.filter((s) => s.symbols.length > 0).map((s) => s.name);
  const what = m ? `no symbol "${m[1]}" in ${names.length ? names.join(', ') : 'the trace (its images have no symbols; a raw kernel needs --symbols System.map)'}` : 'expected a hex address, SYMBOL or SYMBOL+OFFSET';
  throw new TraceError(`--to pc:${text}: ${what}; give a hex address like 0x80200000`);
}

export interface SeekReport {
  readonly trace: string;
  readonly position: string;
  readonly target: SeekPosition;
  /** The checkpoint the run started from (null: the start of the run). */
  readonly checkpoint: CheckpointInfo | null;
  /** The hart whose instruction is next (the one the position is about). */
  readonly hart: number;
  /** Instructions retired by all harts so far (what `--to N` counts, as `info` does). */
  readonly totalInstructions: number;
  /** Instructions attempted by all harts (retired + trapped attempts): the run's exact position. */
  readonly totalAttempted: number;
  /** Scheduler time of the current round. */
  readonly roundTime: number;
  /** seq of the next event (events before it have happened). */
  readonly nextSeq: number;
  readonly harts: HartView[];
  /** The events just before the position, from the trace. */
  readonly lastEvents: TraceEvent[];
  /** For seq:N, event N (the next event); else the trace's next event. */
  readonly nextEvent: TraceEvent | null;
  /** When the run to the position did not produce the recorded events. */
  readonly divergence: ReplayIssue | null;
  readonly warnings: string[];
  /** Symbols of the trace's images (for formatting). */
  readonly symbolize: (addr: bigint) => string | undefined;
  /** The symbol of an event's pc, in its address space (a guest's pcs with the guest's symbols). */
  readonly symbolizeEvent: (e: TraceEvent) => string | undefined;
  readonly timing: { readonly restoreMs: number; readonly runMs: number; readonly totalMs: number; readonly passes: number; readonly instructionsRun: number };
}

export interface SeekOptions extends ReplayOpenOptions {
  /** Events to show before the position (default 8). */
  events?: number;
  /** Instructions of disassembly before / after pc (default 6 / 8). */
  disasmBefore?: number;
  disasmAfter?: number;
}

/** Hart instret at a checkpoint, from its decoded state. */
function checkpointInstret(reader: TraceReader, ck: CheckpointInfo, hart: number): number {
  const st = reader.checkpoint(ck.id).state.machine as MachineSnapshot;
  const h = st.harts[hart];
  return h ? h.steps - h.notRetired : 0;
}

/** Seek to a position in a trace and describe the machine there. */
export function seek(path: string, position: string, opts: SeekOptions = {}): SeekReport {
  const target = parsePosition(position);
  const opened = openForReplay(path, opts);
  try {
    return seekOpened(opened, position, target, opts);
  } finally {
    opened.reader.close();
  }
}

export function seekOpened(opened: OpenedTrace, position: string, target: SeekPosition, opts: SeekOptions = {}): SeekReport {
  const t0 = process.hrtime.bigint();
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const reader = opened.reader;
  const counts = reader.counts;
  const nHarts = opened.machineConfig.harts;
  // N counts retired instructions, as `info` and `record` do (not attempted steps).
  const total = counts ? (counts.instret ?? []).reduce((a, b) => a + b, 0) : null;
  let restoreMs = 0;
  let runMs = 0;
  let passes = 0;
  let instructionsRun = 0;

  // An unfinished recording ends where its events do, whatever a replay runs on to.
  const unfinished = (): TraceError =>
    new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (the recording is ${reader.status}: it ends after event #${reader.maxSeq()})`);
  const beyond = (label: string, r: RunUntilResult, run: ReplayRun): TraceError =>
    reader.counts === null && reader.status !== 'complete'
      ? unfinished()
      : new TraceError(`${reader.path}: position ${position} (${label}) is beyond the end of the trace: the run ended (${(r as { halt: HaltInfo }).halt.message}) after ${run.sched.totalRetired()} instructions`);

  /** A fresh run from checkpoint `ck` (or the start). */
  const start = (ck: CheckpointInfo | null, watchSeq?: number): ReplayRun => {
    const a = process.hrtime.bigint();
    const run = new ReplayRun(opened, { digests: false, context: 8, watchSeq });
    if (ck) run.restore(ck);
    restoreMs += ms(a, process.hrtime.bigint());
    passes++;
    return run;
  };
  const go = (run: ReplayRun, t: StopTarget): RunUntilResult => {
    const a = process.hrtime.bigint();
    const before = run.sched.totalInstructions();
    const r = run.sched.runUntil(t);
    run.recorder.flush();
    instructionsRun += run.sched.totalInstructions() - before;
    runMs += ms(a, process.hrtime.bigint());
    return r;
  };

  let run: ReplayRun;
  let ck: CheckpointInfo | null = null;
  let focus = -1;
  let nextEvent: TraceEvent | null = null;
  switch (target.kind) {
    case 'count': {
      if (total !== null && target.n > total) {
        throw new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (${total} instructions retired)`);
      }
      // Checkpoints are placed by attempted steps; retired <= attempted, so one at or before
      // step N is at or before the N-th retired instruction.
      ck = reader.checkpointAtOrBefore({ totalInstret: target.n });
      run = start(ck);
      const t = globalRetired(target.n);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = r.hart;
      break;
    }
    case 'hart': {
      if (target.hart >= nHarts) throw new TraceError(`--to ${position}: the trace has ${nHarts} hart${nHarts > 1 ? 's' : ''} (0..${nHarts - 1})`);
      const end = counts?.instret?.[target.hart];
      if (end !== undefined && target.instret > end) {
        throw new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (hart ${target.hart} retired ${end} instructions)`);
      }
      const cks = reader.checkpoints();
      for (let i = cks.length - 1; i >= 0; i--) {
        if (checkpointInstret(reader, cks[i]!, target.hart) <= target.instret) { ck = cks[i]!; break; }
      }
      run = start(ck);
      const t = hartInstret(target.hart, target.instret);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = target.hart;
      break;
    }
    case 'pc': {
      run = start(null);
      const { addr, vm } = resolvePc(run.code.symbols, target.addr);
      if (target.hart !== undefined && target.hart >= nHarts) throw new TraceError(`--to ${position}: the trace has ${nHarts} hart${nHarts > 1 ? 's' : ''}`);
      // A guest's symbol: only arrivals in that guest (V = 1, its vCPU loaded) count; the host
      // may run the same address (an ELF guest at 0x80200000 and the hypervisor's idle loop).
      const code = run.code;
      const t = vm === undefined
        ? pcHit(addr, target.hit, target.hart)
        : pcHit(addr, target.hit, target.hart, (h) => code.spaceOf(h) === vm, `in guest ${vm}`);
      const r = go(run, t);
      if (r.kind !== 'reached') {
        throw new TraceError(`${reader.path}: position ${position}: pc ${hex(addr)}${vm === undefined ? '' : ` in guest ${vm}`} was reached ${t.hits} time${t.hits === 1 ? '' : 's'} before the run ended (${(r as { halt: HaltInfo }).halt.message})`);
      }
      focus = r.hart;
      break;
    }
    case 'seq': {
      const ev = reader.event(target.seq);
      if (!ev) throw new TraceError(`${reader.path}: position ${position}: no event ${target.seq} (the trace has events 0..${reader.maxSeq()})`);
      nextEvent = ev;
      ck = reader.checkpointAtOrBefore({ seq: target.seq });
      focus = ev.hart;
      if (ev.kind === 'halt') {
        // The halt is recorded when the run has ended: land at the end.
        run = start(ck);
        go(run, { label: 'end', cap: () => Infinity, reached: () => false });
        break;
      }
      // Pass 1: run until event N is emitted, noting where (instruction count and context).
      const p1 = start(ck, target.seq);
      go(p1, { label: `event ${target.seq}`, cap: () => Infinity, reached: () => p1.noted !== null });
      const at = p1.noted;
      p1.close();
      if (!at) throw new TraceError(`${reader.path}: position ${position}: the replay did not produce event ${target.seq}`);
      // Pass 2: land right before the step that emits it (or, for an event the scheduler emits
      // between instructions, at the first point after the instruction before it).
      run = start(ck);
      const t = at.context === 'sched' ? globalCount(at.total) : beforeStep(at.context === 'exc' ? at.total - 1 : at.total);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = at.context === 'sched' ? ev.hart : at.hart;
      break;
    }
  }
  run = run!;
  try {
    const seqNow = run.recorder.seq;
    const n = opts.events ?? 8;
    const lastEvents = n > 0 ? reader.readEvents({ from: Math.max(0, seqNow - n), to: seqNow }) : [];
    if (!nextEvent) nextEvent = reader.event(seqNow);
    const d = run.comparer.divergence;
    // An unfinished recording (truncated, or aborted without final counts) ends where its events
    // do: a position past its last event is beyond the trace, not a divergence -- whether the
    // replay already produced an event the recording lacks, or has produced every recorded one
    // and is past them (a guest can run millions of instructions between two events).
    const pastLast = seqNow > reader.maxSeq() && target.kind !== 'seq';
    if ((d?.reason === 'extra' || pastLast) && reader.counts === null && reader.status !== 'complete') throw unfinished();
    const harts = run.machine.harts.map((h) => hartView(run.code, h, opts));
    return {
      trace: reader.path,
      position,
      target,
      checkpoint: ck,
      hart: focus,
      totalInstructions: run.sched.totalRetired(),
      totalAttempted: run.sched.totalInstructions(),
      roundTime: run.sched.time,
      nextSeq: seqNow,
      harts,
      lastEvents,
      nextEvent,
      divergence: d ? eventIssue(run, d) : null,
      warnings: [...opened.warnings, ...run.code.notes],
      symbolize: run.code.symbolize,
      symbolizeEvent: run.code.symbolizeEvent,
      timing: { restoreMs, runMs, totalMs: ms(t0, process.hrtime.bigint()), passes, instructionsRun },
    };
  } finally {
    run.close();
  }
}
