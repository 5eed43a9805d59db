/**
 * ReplayRun: a machine, scheduler and recorder whose events are compared with the trace's as
 * they are emitted (fast path: columns read ahead on a thread), plus the digests at round
 * starts; it notes where a watched event is emitted (src/replay/replayer.ts is the API).
 */
import { createHash } from 'node:crypto';
import { TraceReader, TraceError, payloadBytes, type CheckpointInfo, type DigestRow } from '../trace/store.js';
import { Recorder, RamWriteTracker, stateDigest, restoreCheckpoint, checkpointFlush } from '../trace/recorder.js';
import { EVENT_KINDS, words, type EventBatch, type TraceEvent } from '../trace/model.js';
import { StoredEventFeed, type StoredColumns } from '../trace/event-feed.js';
import { Machine } from '../board/machine.js';
import { DEFAULT_QUANTUM, type Scheduler } from '../sched/scheduler.js';
import { type Hart } from '../hart/hart.js';
import { PreciseScheduler } from './precise.js';
import type { HartObserver } from '../hart/observer.js';
import { EventComparer } from '../diff/compare.js';
import { CodeView } from './code-view.js';
import type { OpenedTrace } from './open.js';

// ---------------------------------------------------------------------------------------------
// a replay run: machine + scheduler + recorder comparing with the trace
// ---------------------------------------------------------------------------------------------

export interface RunOptions {
  context?: number;
  digests?: boolean;
  onConsole?: (bytes: Uint8Array) => void;
  /** Note where event `watchSeq` is emitted (`ReplayRun.noted`). */
  watchSeq?: number;
  /** Compare events as columns read ahead on a thread (default true; false: as objects only,
   * the reference the fast path is tested against). */
  fastCompare?: boolean;
}

/**
 * Where an event was emitted: the global instruction count then, the hart that was executing,
 * and the context: inside an instruction ('insn'), inside trap entry after a faulting
 * instruction was counted ('exc'), inside interrupt entry before the next instruction ('irq'),
 * or in the scheduler between instructions ('sched': input delivery, timer lines).
 */
export interface EmissionPoint {
  readonly total: number;
  readonly hart: number;
  readonly context: 'insn' | 'exc' | 'irq' | 'sched';
}

/**
 * Forwards to the recorder; notes where the event with seq `watch` is emitted. It implements
 * every observer method, the optional ones too (`Required`), so a method added to HartObserver
 * cannot be silently left unforwarded: this class stops compiling until it forwards it.
 */
class WatchingObserver implements Required<HartObserver> {
  ctx: 'insn' | 'exc' | 'irq' = 'insn';
  noted: EmissionPoint | null = null;
  constructor(private readonly rec: Recorder, private readonly watch: number, private readonly run: () => { sched: PreciseScheduler | undefined; machine: Machine | undefined }) {}
  note(): void {
    if (this.noted || this.rec.seq !== this.watch) return;
    const { sched, machine } = this.run();
    // Events of the machine's construction (firmware boot) come before instruction 0.
    if (!sched || !machine) this.noted = { total: 0, hart: 0, context: 'sched' };
    else this.noted = { total: sched.totalInstructions(), hart: machine.current.id, context: sched.inHartRun ? this.ctx : 'sched' };
  }
  // Every HartObserver method: note, then forward all arguments unchanged.
  trap(...a: Parameters<HartObserver['trap']>): void {
    this.note();
    this.rec.trap(...a);
  }
  trapReturn(...a: Parameters<HartObserver['trapReturn']>): void {
    this.note();
    this.rec.trapReturn(...a);
  }
  csrWrite(...a: Parameters<HartObserver['csrWrite']>): void {
    this.note();
    this.rec.csrWrite(...a);
  }
  mmio(...a: Parameters<HartObserver['mmio']>): void {
    this.note();
    this.rec.mmio(...a);
  }
  irqLine(...a: Parameters<HartObserver['irqLine']>): void {
    this.note();
    this.rec.irqLine(...a);
  }
  sbiCall(...a: Parameters<HartObserver['sbiCall']>): void {
    this.note();
    this.rec.sbiCall(...a);
  }
  hartState(...a: Parameters<HartObserver['hartState']>): void {
    this.note();
    this.rec.hartState(...a);
  }
  vmExit(...a: Parameters<NonNullable<HartObserver['vmExit']>>): void {
    this.note();
    this.rec.vmExit(...a);
  }
  msi(...a: Parameters<NonNullable<HartObserver['msi']>>): void {
    this.note();
    this.rec.msi(...a);
  }
  vmEntry(...a: Parameters<NonNullable<HartObserver['vmEntry']>>): void {
    this.note();
    this.rec.vmEntry(...a);
  }
}

/**
 * A replay in progress: the machine rebuilt from the trace, a PreciseScheduler, and a Recorder
 * whose events are compared with the recorded ones. Used by replay, seek and the gdb target
 * (src/gdb/replay-target.ts), which moves it backwards with `rewind`.
 */
export class ReplayRun {
  readonly opened: OpenedTrace;
  readonly reader: TraceReader;
  readonly machine: Machine;
  readonly sched: PreciseScheduler;
  readonly recorder: Recorder;
  comparer: EventComparer;
  readonly code: CodeView;
  private expectedIt: Iterator<TraceEvent>;
  private expectedLeft = true;
  // ---- fast comparison (see onBatch) ----
  /** The recorded events as columns, read ahead on a thread; null: compare events as objects. */
  private feed: StoredEventFeed | null = null;
  private fb: StoredColumns | null = null;
  /** Int32 words of fb's a/b/c. */
  private fw: [Int32Array, Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0), new Int32Array(0)];
  private fi = 0;
  /** seq of the next recorded event in fast mode; where the current stretch started. */
  private expSeq = 0;
  private segStart = 0;
  private fastMatched = 0;
  private readonly fastKinds = new Float64Array(EVENT_KINDS.length);
  /** The last replayed events compared in fast mode (context for a divergence report). */
  private fastCtxA: TraceEvent[] = [];
  private readonly contextSize: number;
  private readonly fastAllowed: boolean;
  private readonly console = createHash('sha256');
  consoleBytes = 0;
  /** Set when RunOptions.watchSeq was emitted. */
  private readonly watcher: WatchingObserver | null = null;
  /** Digest comparison state. */
  private readonly digests: DigestRow[];
  private di = 0;
  digestsCompared = 0;
  digestMismatch: { stored: DigestRow; actual: DigestRow | null; what: string } | null = null;

  constructor(opened: OpenedTrace, opts: RunOptions = {}) {
    this.opened = opened;
    this.reader = opened.reader;
    const trace = opened.trace;
    this.contextSize = opts.context ?? 8;
    this.fastAllowed = opts.fastCompare !== false;
    this.comparer = new EventComparer({ context: this.contextSize, drain: false });
    this.expectedIt = this.reader.events();
    this.recorder = new Recorder((b) => this.onBatch(b));
    let observer: HartObserver = this.recorder;
    if (opts.watchSeq !== undefined) {
      this.watcher = new WatchingObserver(this.recorder, opts.watchSeq, () => this);
      observer = this.watcher;
    }
    try {
      this.machine = new Machine({ ...opened.machineConfig, observer });
    } catch (e) {
      throw new TraceError(`${this.reader.path}: cannot rebuild the machine: ${(e as Error).message}`);
    }
    // Track written pages: digests and checkpoint restores then touch only those (reading all
    // of a fresh 256 MiB RAM costs seconds of page faults).
    RamWriteTracker.of(this.machine);
    this.sched = new PreciseScheduler(this.machine, {
      quantum: trace.quantum ?? DEFAULT_QUANTUM,
      maxInsns: trace.maxInsns ?? undefined,
    });
    for (const q of this.reader.inputQueue()) this.sched.addInput(q.data, q.vtime);
    this.sched.onInputDelivered = (vtime, byte) => {
      this.watcher?.note();
      this.recorder.input(this.machine.harts[0]!, vtime, byte);
    };
    if (this.watcher) {
      // Trap entry: events inside it belong to the faulting instruction (already counted) or to
      // an interrupt taken before the next one.
      const w = this.watcher;
      for (const h of this.machine.harts) {
        const orig = h.enterTrap;
        h.enterTrap = function (this: Hart, ...args: Parameters<Hart['enterTrap']>): void {
          const prev = w.ctx;
          w.ctx = args[1] ? 'irq' : 'exc';
          try {
            orig.apply(this, args);
          } finally {
            w.ctx = prev;
          }
        };
      }
    }
    this.machine.onConsole = (b) => {
      this.console.update(b);
      this.consoleBytes += b.length;
      opts.onConsole?.(b);
    };
    this.code = new CodeView(this.machine, opened.symbolOptions, this.reader);
    this.digests = opts.digests === false ? [] : this.reader.digests().filter((d) => !d.final);
    this.flushAt = this.reader.checkpoints().map((c) => c.totalInstret).sort((a, b) => a - b);
    if (this.digests.length > 0 || this.flushAt.length > 0) this.sched.onRoundStart = (s) => this.roundStart(s);
    this.startFast(0);
  }

  /**
   * The replay's events against the recording's. Fast mode (while `feed` is set): the recorded
   * events arrive as columns from the feed's thread and each replayed event is compared column
   * by column (payloads as their msgpack bytes), building no objects. The first row that differs
   * or cannot be compared exactly hands everything from there to the EventComparer, which has
   * the last word (an equal-valued payload with other bytes simply stays in the slow mode); the
   * rows matched so far are handed over as counts and context.
   */
  private onBatch(b: EventBatch): void {
    if (this.compareOff) return;
    let i = 0;
    if (this.feed !== null) {
      i = this.fastCompare(b);
      if (this.feed !== null) return;
    }
    const c = this.comparer;
    for (; i < b.length; i++) {
      if (c.divergence) return;
      c.actual(b.get(i));
      this.pullExpected();
    }
  }

  /** Compare b from its start in fast mode; returns where it left fast mode (b.length: did not). */
  private fastCompare(b: EventBatch): number {
    const n = b.length;
    for (let i = 0; i < n; i++) {
      let f = this.fb;
      if (f === null || this.fi >= f.length) {
        f = this.fb = this.feed!.next();
        this.fi = 0;
        if (f === null) { this.toSlow(b, i); return i; } // the recording ends here
        this.fw = [words(f.a), words(f.b), words(f.c)];
      }
      if (!rowEqual(b, i, f, this.fw, this.fi)) { this.toSlow(b, i); return i; }
      this.fastKinds[b.kind[i]!]!++;
      this.fastMatched++;
      this.fi++;
      this.expSeq++;
    }
    // Keep the last events as context (b is reused after this call).
    const k = this.contextSize;
    for (let j = Math.max(0, n - k); j < n; j++) this.fastCtxA.push(b.get(j));
    if (this.fastCtxA.length > k) this.fastCtxA.splice(0, this.fastCtxA.length - k);
    return n;
  }

  /** Hand the fast mode's matched rows to the comparer and continue with events as objects
   * from the next recorded seq (`b`, `i`: the replayed events before i are the context). */
  private toSlow(b: EventBatch | null, i: number): void {
    const k = this.contextSize;
    const ctxA = this.fastCtxA.slice();
    if (b !== null) for (let j = Math.max(0, i - k); j < i; j++) ctxA.push(b.get(j));
    const from = Math.max(this.segStart, this.expSeq - k);
    const ctxE = this.fastMatched > 0 && k > 0 && this.expSeq > from ? this.reader.readEvents({ from, to: this.expSeq }) : [];
    const perKind: Partial<Record<(typeof EVENT_KINDS)[number], number>> = {};
    this.fastKinds.forEach((v, code) => { if (v > 0) perKind[EVENT_KINDS[code]!] = v; });
    this.comparer.preload(this.fastMatched, perKind, ctxE, ctxA.slice(-k));
    this.expectedIt = this.reader.events({ from: this.expSeq });
    this.expectedLeft = true;
    this.feed!.close();
    this.feed = null;
    this.fb = null;
  }

  /** Start the fast mode at recorded seq `seq` (a fresh run, or after a checkpoint restore). */
  private startFast(seq: number): void {
    if (!this.fastAllowed || !this.comparer.comparesEverything || this.comparer.divergence) return;
    this.fastMatched = 0;
    this.fastKinds.fill(0);
    this.fastCtxA = [];
    this.expSeq = this.segStart = seq;
    this.fb = null;
    this.fi = 0;
    if (this.feed === null) this.feed = StoredEventFeed.open(this.reader.path, seq);
    else this.feed.start(seq);
  }

  private pullExpected(): void {
    if (!this.expectedLeft) return;
    const r = this.expectedIt.next();
    if (r.done) {
      this.expectedLeft = false;
      this.comparer.endExpected();
    } else {
      this.comparer.expected(r.value);
    }
  }

  /** After the run: no more actual events; read what is left of the expected ones (one is enough to diverge). */
  endActual(): void {
    this.recorder.flush();
    if (this.feed !== null) this.toSlow(null, 0);
    this.comparer.endActual();
    while (this.expectedLeft && !this.comparer.divergence) this.pullExpected();
  }

  /** Restore checkpoint `ck` and position the event comparison at its seq. */
  restore(ck: CheckpointInfo): void {
    restoreCheckpoint(this.reader, ck.id, this.machine, this.sched);
    this.recorder.batch.clear();
    this.recorder.seq = ck.seq;
    if (this.feed !== null) {
      this.toSlow(null, 0); // what was matched before counts as before
      this.startFast(ck.seq);
    }
    this.expectedIt = this.reader.events({ from: ck.seq });
    this.expectedLeft = true;
    while (this.digests[this.di] && this.digests[this.di]!.totalInstret <= ck.totalInstret) this.di++;
    this.skipFlushes(ck.totalInstret);
  }

  /**
   * The machine state was set back (or forward) to a round start where recorded event `seq` is
   * the next one (the gdb target's in-memory snapshots): number events from there and compare
   * them with the recording from there, with a fresh comparer (an earlier divergence is the
   * caller's to keep). Digests are not compared after a rewind.
   */
  rewind(seq: number, opts: { compare?: boolean } = {}): void {
    this.recorder.reset(seq);
    this.skipFlushes(this.sched.totalInstructions());
    this.comparer = new EventComparer({ context: this.contextSize, drain: false });
    this.di = this.digests.length;
    this.fb = null;
    this.compareOff = opts.compare === false;
    if (this.compareOff) return;
    this.expectedIt = this.reader.events({ from: seq });
    this.expectedLeft = true;
    this.startFast(seq);
  }
  /**
   * Events are numbered but not compared (rewind with compare: false: the gdb target re-running
   * a stretch it has compared before).
   */
  private compareOff = false;

  /** Where the recording took its checkpoints (total instructions), and the next one here. */
  private flushAt: number[] = [];
  private nextFlush = 0;
  /** Past every flush point up to total `t` (a restore or rewind to there). */
  private skipFlushes(t: number): void {
    this.nextFlush = 0;
    while (this.nextFlush < this.flushAt.length && this.flushAt[this.nextFlush]! <= t) this.nextFlush++;
  }

  private roundStart(s: Scheduler): void {
    // The recording flushed the TLBs where it took a checkpoint (checkpointFlush): so does this run.
    if (this.nextFlush < this.flushAt.length && s.totalInstructions() >= this.flushAt[this.nextFlush]!) {
      checkpointFlush(this.machine);
      this.skipFlushes(s.totalInstructions());
    }
    if (this.digestMismatch || this.di >= this.digests.length) return;
    const d = this.digests[this.di]!;
    const total = s.totalInstructions();
    if (total < d.totalInstret) return;
    this.di++;
    this.digestsCompared++;
    const mine = stateDigest(this.machine, s, this.recorder.seq);
    const what = digestDifference(d, mine);
    if (what) this.digestMismatch = { stored: d, actual: mine, what };
  }

  finalDigest(): void {
    if (this.digestMismatch) return;
    const fin = this.reader.digests().find((d) => d.final);
    if (!fin) return;
    this.digestsCompared++;
    const mine = stateDigest(this.machine, this.sched, this.recorder.seq, { final: true });
    const what = digestDifference(fin, mine);
    if (what) this.digestMismatch = { stored: fin, actual: mine, what };
  }

  /** Where the watched event was emitted (RunOptions.watchSeq), once it was. */
  get noted(): EmissionPoint | null {
    return this.watcher?.noted ?? null;
  }

  consoleSha256(): string {
    return this.console.copy().digest('hex');
  }

  close(): void {
    this.recorder.detach(this.machine.harts);
    this.feed?.close();
    this.feed = null;
  }
}

/** Replayed event i of `b` equals recorded row j of `f`, every field (see Replayer.onBatch). */
function rowEqual(b: EventBatch, i: number, f: StoredColumns, fw: readonly Int32Array[], j: number): boolean {
  if (f.exact[j] === 0) return false;
  if (b.seq[i] !== f.seq[j] || b.kind[i] !== f.kind[j] || b.instret[i] !== f.instret[j] || b.pc[i] !== f.pc[j] ||
    b.vtime[i] !== f.vtime[j] || b.hart[i] !== f.hart[j] || b.priv[i] !== f.priv[j] || b.virt[i] !== f.virt[j]) return false;
  const p = b.present[i]!;
  if (p !== f.present[j]) return false;
  // 64-bit values compared as two int32 words (no BigInt).
  if ((p & 1) !== 0 && !sameWords(b.a32, i, fw[0]!, j)) return false;
  if ((p & 2) !== 0 && !sameWords(b.b32, i, fw[1]!, j)) return false;
  if ((p & 4) !== 0 && !sameWords(b.c32, i, fw[2]!, j)) return false;
  const pb = payloadBytes(b.payload[i] ?? null);
  const len = f.payOff[2 * j + 1]!;
  if (pb === null) return len < 0;
  if (pb.length !== len) return false;
  const o = f.payOff[2 * j]!, pay = f.pay;
  for (let k = 0; k < len; k++) if (pb[k] !== pay[o + k]) return false;
  return true;
}
function sameWords(w: Int32Array, i: number, v: Int32Array, j: number): boolean {
  return w[2 * i] === v[2 * j] && w[2 * i + 1] === v[2 * j + 1];
}

function digestDifference(stored: DigestRow, mine: DigestRow): string | null {
  if (stored.totalInstret !== mine.totalInstret) return `no round started at step ${stored.totalInstret} (the replay's round started at step ${mine.totalInstret})`;
  const w: string[] = [];
  if (stored.vtime !== mine.vtime) w.push(`virtual time ${stored.vtime} vs ${mine.vtime}`);
  if (stored.seq !== mine.seq) w.push(`event count ${stored.seq} vs ${mine.seq}`);
  if (stored.hartInstret.join(',') !== mine.hartInstret.join(',')) w.push(`per-hart instret ${stored.hartInstret.join('/')} vs ${mine.hartInstret.join('/')}`);
  if (stored.stateHash !== mine.stateHash) w.push('hart/device state differs');
  if (stored.ramHash !== mine.ramHash) w.push('RAM differs');
  return w.length ? w.join('; ') : null;
}
