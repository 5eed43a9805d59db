/**
 * The gdb target over a recording (`hvtrace replay TRACE --gdb`): forwards and backwards, on
 * every hart, by checkpoints and deterministic re-execution (as rr and QEMU do it).
 *
 * Positions. The machine always stops at a stop point of the deterministic run (engine.ts): stop
 * point G is the moment right before global step G + 1, so a position is one number, the global
 * step count. The first instruction is stop point 0 ("begin"); the end of the recording is where
 * the run halts ("end"). Going back to "hart H's previous stop" is exact: it is the stop point
 * right before H's step number `H.steps` (the step that brought it here).
 *
 * Snapshots. In memory: the machine and scheduler state and RAM, taken at round starts (where the
 * scheduler keeps no state of its own, like the trace's checkpoints) every `snapshotEvery`
 * instructions while running, and thinned after every command so that their spacing doubles
 * going away from the current position (rr's scheme: O(log L) kept, going back costs at most
 * about the distance gone back). RAM is kept incrementally: every snapshot holds only the pages
 * written since the snapshot before it (Bus.onStore / onRamWrite, with the store TLBs emptied
 * at each snapshot so that every page's first store reaches them), the first (the machine as
 * built, stop point 0) the pages the images occupy. Restoring one rewrites only the pages
 * written in between. The trace's own checkpoints (every 50M instructions by default) are used
 * as far anchors. The event comparison with the recording goes on after every jump (ReplayRun.
 * rewind), so a divergence is still noticed (`monitor when` reports it).
 *
 * Reverse-continue runs forward from the snapshot before the current position to it, notes
 * every breakpoint and watchpoint hit, and lands on the last one; with none it tries the
 * stretch before that, and so on back to the first instruction ('begin').
 */
import { hex } from '../diff/compare.js';
import { RamWriteTracker, restoreCheckpoint } from '../trace/recorder.js';
import { TraceError, type CheckpointInfo } from '../trace/store.js';
import { TraceCode } from '../trace/code.js';
import type { MachineSnapshot } from '../board/machine.js';
import type { TraceEvent } from '../trace/model.js';
import {
  openForReplay, parsePosition, seekOpened, ReplayRun, type OpenedTrace, type ReplayOpenOptions,
} from '../replay/replayer.js';
import { describeEvent, privName } from '../trace/describe.js';
import { DebugEngine, DEFAULT_CHUNK, before, type Hit, type RunOutcome, type RunSpec } from './engine.js';
import { DebugError, type DebugTarget, type RegRef, type ResumeRequest, type StopEvent } from './target.js';

export interface ReplayTargetOptions extends ReplayOpenOptions {
  /** Where to start: any `replay --to` position; default the first instruction. */
  to?: string;
  /** Instructions between in-memory snapshots while running (default 1M). */
  snapshotEvery?: number;
  /** Instructions per run chunk, between looks at Ctrl-C (default 1M). */
  chunk?: number;
  /**
   * Where a watchpoint stop is: right after the accessing instruction ('after', the default:
   * DebugTarget's definition), right before it ('before'), or 'gdb': right before it going
   * forwards and right after it going backwards. gdb treats RISC-V watchpoints as triggering
   * before the access ("nonsteppable", riscv-tdep.c): on a watchpoint stop it single-steps the
   * thread over the access itself, in the direction it is running, then compares the values; with
   * 'gdb' that step ends exactly right after the access (forwards) or right before it (backwards).
   */
  watchStop?: 'after' | 'before' | 'gdb';
  /** Guest console output, as the replay first produces it (never twice for the same output). */
  onConsole?: (bytes: Uint8Array) => void;
}

interface SchedState { time: number; inputPos: number; inputOff: number; listenFrom: number }

interface Snapshot {
  /** Global step count and scheduler time of the round start. */
  readonly g: number;
  readonly time: number;
  /** Steps of every hart. */
  readonly steps: number[];
  /** seq of the next event. */
  readonly seq: number;
  readonly machine: MachineSnapshot | null;
  readonly sched: SchedState | null;
  /** RAM pages written since the snapshot before it (page index -> bytes); or all non-zero
   * pages when `full`. */
  readonly pages: Map<number, Uint8Array>;
  /** Code pages (pc / 4096) executed since the snapshot before it (a superset), or null:
   * unknown. Reverse-continue skips stretches that never ran a breakpoint's page. */
  cov: Set<number> | null;
  /** A trace checkpoint (restored with restoreCheckpoint; full). */
  readonly traceCk?: CheckpointInfo;
  readonly full: boolean;
}

interface Bookmark { readonly n: number; readonly g: number; readonly hart: number }

const PAGE = 4096;
/** Snapshots kept while a long run goes on (thinned when there are more). */
const MAX_SNAPSHOTS = 48;

export class ReplayTarget extends DebugEngine implements DebugTarget {
  readonly kind = 'replay' as const;
  readonly opened: OpenedTrace;
  readonly run: ReplayRun;
  private readonly every: number;
  private readonly watchStop: 'after' | 'before' | 'gdb';
  private readonly snaps: Snapshot[] = [];
  /** The newest snapshot at or before the machine's position (its RAM is the base of `dirty`). */
  private base: Snapshot;
  /** RAM pages written since `base`. */
  private readonly dirty: Uint8Array;
  private dirtyList: number[] = [];
  /** Code pages executed since `base` was restored or taken (see Snapshot.cov). */
  private covNow = new Set<number>();
  private readonly covLast: number[];
  /**
   * The furthest round start the event comparison has reached; stretches before it are re-run
   * without comparing (they were compared once), and comparing resumes there.
   */
  private verified = { g: 0, time: 0, seq: 0 };
  private comparing = true;
  /** Snapshots are taken only while this is set (not during the thinning-free parts). */
  private snapshotting = true;
  /** At the end of the recording (the run halted there, or the recording stops there). */
  private atEnd = false;
  private readonly bookmarks: Bookmark[] = [];
  /** The first divergence from the recording seen, as a one-line message. */
  private divergence: string | null = null;
  /** Console output is passed on only beyond the furthest point replayed so far. */
  private furthest = 0;
  private readonly onConsole?: (bytes: Uint8Array) => void;
  private traceCode: TraceCode | null = null;
  /** Steps the recording has in total (its end), if known. */
  readonly recordedSteps: number | null;

  constructor(opened: OpenedTrace, opts: ReplayTargetOptions = {}) {
    const run = new ReplayRun(opened, { digests: false, context: 8 });
    super(run.machine, run.sched, run.code, opts.chunk ?? DEFAULT_CHUNK);
    this.opened = opened;
    this.run = run;
    this.watchStop = opts.watchStop ?? 'after';
    this.onConsole = opts.onConsole;
    const counts = opened.reader.counts;
    this.recordedSteps = counts?.steps ? counts.steps.reduce((a, b) => a + b, 0) : null;
    // Short recordings get proportionally closer snapshots.
    this.every = Math.max(10_000, opts.snapshotEvery ?? Math.min(1_000_000, Math.max(20_000, Math.round((this.recordedSteps ?? 64e6) / 64))));
    // An unfinished (aborted) recording ends at its last recorded instruction.
    if (opened.reader.status !== 'complete' && this.recordedSteps !== null) this.endG = this.recordedSteps;
    const m = this.machine;
    const bus = m.bus;
    this.dirty = new Uint8Array(bus.ramSize / PAGE);
    // Track RAM writes (after the RamWriteTracker ReplayRun installed).
    const ramOffset = bus.ramOffset;
    const prevStore = bus.onStore;
    bus.onStore = (o, size) => {
      this.markDirty((o - ramOffset) / PAGE, (o + size - 1 - ramOffset) / PAGE);
      if (prevStore) prevStore(o, size);
    };
    const prevRam = bus.onRamWrite;
    bus.onRamWrite = (pa, len) => {
      this.markDirty(Math.max(0, (pa - bus.ramBase) / PAGE), Math.min(this.dirty.length - 1, (pa - bus.ramBase + Math.max(len, 1) - 1) / PAGE));
      if (prevRam) prevRam(pa, len);
    };
    this.covLast = m.harts.map(() => NaN);
    for (const h of m.harts) {
      h.onFetchPage = (x, page) => {
        if (this.covLast[x.id] !== page) {
          this.covLast[x.id] = page;
          this.covNow.add(page);
        }
      };
    }
    m.onConsole = (b) => {
      if (this.total() >= this.furthest) this.onConsole?.(b);
    };
    this.sched.onRoundStart = (s) => this.roundStart(s.time);
    // Stop point 0's snapshot: the machine as built (its non-zero pages are the images').
    const tr = RamWriteTracker.of(m);
    const pages = new Map<number, Uint8Array>();
    for (let p = 0; p < tr.touched.length; p++) if (tr.touched[p]) pages.set(p, bus.ramPage(p).slice());
    this.base = this.capture(pages, true);
    (this.base as { cov: Set<number> | null }).cov = null;
    this.snaps.push(this.base);
  }

  // =============================================================================================
  // snapshots
  // =============================================================================================

  private markDirty(first: number, last: number): void {
    for (let p = Math.floor(first); p <= last; p++) {
      if (this.dirty[p] === 0) {
        this.dirty[p] = 1;
        this.dirtyList.push(p);
      }
    }
  }
  private clearDirty(): void {
    for (const p of this.dirtyList) this.dirty[p] = 0;
    this.dirtyList = [];
  }

  /** A snapshot of the machine now (a round start) with these pages. */
  private capture(pages: Map<number, Uint8Array>, full: boolean): Snapshot {
    const m = this.machine;
    const snap: Snapshot = {
      g: this.total(), time: this.sched.time, steps: m.harts.map((h) => h.attempted), seq: this.run.recorder.seq,
      machine: structuredClone(m.saveState()), sched: structuredClone(this.sched.saveState()) as SchedState, pages, full,
      cov: this.covNow,
    };
    this.clearDirty();
    this.resetCov();
    // From here on, every page's first store must reach Bus.onStore again.
    for (const h of m.harts) h.flushTlb();
    return snap;
  }

  private resetCov(): void {
    this.covNow = new Set();
    this.covLast.fill(NaN);
  }

  private insert(s: Snapshot): void {
    let i = this.snaps.length;
    while (i > 0 && (this.snaps[i - 1]!.g > s.g || (this.snaps[i - 1]!.g === s.g && this.snaps[i - 1]!.time > s.time))) i--;
    this.snaps.splice(i, 0, s);
  }

  /** Scheduler.onRoundStart: pass over a snapshot we have, or take one. */
  private roundStart(time: number): void {
    const g = this.total();
    if (g > this.furthest) this.furthest = g;
    const v = this.verified;
    if (this.comparing) {
      if (g > v.g || (g === v.g && time > v.time)) this.verified = { g, time, seq: this.run.recorder.seq };
    } else if (g === v.g && time === v.time) {
      this.run.rewind(v.seq);
      this.comparing = true;
    }
    for (let i = this.snaps.length - 1; i >= 0; i--) {
      const s = this.snaps[i]!;
      if (s.g < g) break;
      if (s.g === g && s.time === time) {
        // The machine is in exactly this snapshot's state: nothing written since.
        this.base = s;
        this.clearDirty();
        return;
      }
    }
    if (!this.snapshotting || g - this.base.g < this.every) return;
    const pages = new Map<number, Uint8Array>();
    const bus = this.machine.bus;
    for (const p of this.dirtyList) pages.set(p, bus.ramPage(p).slice());
    const s = this.capture(pages, false);
    this.insert(s);
    this.base = s;
    // A long run: keep the count down as it goes (doubling spacing back from here).
    if (this.snaps.length > MAX_SNAPSHOTS) this.thin();
  }

  /** Page p's bytes at snapshot index j (null = zero). */
  private pageAt(j: number, p: number): Uint8Array | null {
    for (let i = j; i >= 0; i--) {
      const s = this.snaps[i]!;
      const b = s.pages.get(p);
      if (b !== undefined) return b;
      if (s.traceCk) {
        const h = this.traceHashes(s).get(p);
        return h === undefined ? null : this.opened.reader.page(h);
      }
      if (s.full) return null;
    }
    return null;
  }
  private readonly ckHashes = new Map<number, Map<number, Uint8Array>>();
  private traceHashes(s: Snapshot): Map<number, Uint8Array> {
    let m = this.ckHashes.get(s.traceCk!.id);
    if (!m) {
      m = new Map(this.opened.reader.checkpoint(s.traceCk!.id).pages.map((p) => [p.index, p.hash]));
      this.ckHashes.set(s.traceCk!.id, m);
    }
    return m;
  }

  /** Put the machine in snapshot s's state. */
  /** Land on the first instruction of the recording: reverse execution ran out of history. */
  private stopAtBegin(): StopEvent {
    const o = this.land(0);
    this.stopHart = o.kind === 'landed' ? o.hart : 0;
    return { hart: this.stopHart, reason: 'begin' };
  }

  private restore(s: Snapshot): void {
    const m = this.machine;
    const j = this.snaps.indexOf(s);
    const b = this.snaps.indexOf(this.base);
    if (j < 0 || b < 0) throw new Error('internal: snapshot not in the list');
    const lo = Math.min(j, b), hi = Math.max(j, b);
    let crossesFull = false;
    for (let i = lo + 1; i <= hi; i++) if (this.snaps[i]!.full && i !== j) crossesFull = true;
    if (s.traceCk) {
      restoreCheckpoint(this.opened.reader, s.traceCk.id, m, this.sched);
    } else if (crossesFull && s.full) {
      // The first snapshot, across a trace checkpoint: all of RAM.
      const bus = m.bus;
      const tr = RamWriteTracker.existing(m)!;
      for (let p = 0; p < tr.touched.length; p++) if (tr.touched[p]) bus.ramPage(p).fill(0);
      for (const [p, bytes] of s.pages) bus.ramPage(p).set(bytes);
      m.restoreState(structuredClone(s.machine!));
      this.sched.restoreState(structuredClone(s.sched!));
    } else if (crossesFull) {
      // Through the last full snapshot before s (a trace checkpoint's RAM is not in memory).
      let f = j;
      while (!this.snaps[f]!.full) f--;
      this.restore(this.snaps[f]!);
      this.restore(s);
      return;
    } else {
      if (s !== this.base || this.dirtyList.length > 0) {
        const pset = new Set<number>(this.dirtyList);
        for (let i = lo + 1; i <= hi; i++) for (const p of this.snaps[i]!.pages.keys()) pset.add(p);
        const bus = m.bus;
        const tr = RamWriteTracker.existing(m);
        for (const p of pset) {
          const bytes = this.pageAt(j, p);
          if (bytes === null) bus.ramPage(p).fill(0);
          else bus.ramPage(p).set(bytes);
          tr?.markRange(p * PAGE, PAGE);
          m.jit.invalidatePage(bus.ramOffset / PAGE + p, false);
        }
      }
      m.restoreState(structuredClone(s.machine!), { keepCode: true });
      this.sched.restoreState(structuredClone(s.sched!));
    }
    this.sched.clearResume();
    this.noteDivergence();
    const v = this.verified;
    this.comparing = s.g > v.g || (s.g === v.g && s.time >= v.time);
    this.run.rewind(s.seq, { compare: this.comparing });
    this.base = s;
    this.clearDirty();
    for (const h of m.harts) h.flushTlb();
    this.resetCov();
    this.ignoreG = -1;
    this.atEnd = false;
  }

  /** The best snapshot to reach stop point g from (in memory, or a trace checkpoint). */
  private snapshotFor(g: number, hart?: { id: number; steps: number }): Snapshot {
    let best = this.snaps[0]!;
    for (const s of this.snaps) {
      if (s.g > g) break;
      if (hart && s.steps[hart.id]! > hart.steps) break;
      best = s;
    }
    // A trace checkpoint further on (far seeks).
    if (!hart) {
      const ck = this.opened.reader.checkpointAtOrBefore({ totalInstret: g });
      if (ck && ck.totalInstret > best.g + this.every && !this.snaps.some((s) => s.traceCk?.id === ck.id)) {
        const st = this.opened.reader.checkpoint(ck.id).state.machine as MachineSnapshot;
        const anchor: Snapshot = {
          g: ck.totalInstret, time: ck.vtime, steps: st.harts.map((h) => h.steps), seq: ck.seq,
          machine: null, sched: null, pages: new Map(), cov: null, traceCk: ck, full: true,
        };
        this.insert(anchor);
        return anchor;
      }
    }
    return best;
  }

  /** Keep snapshots at doubling distances from the current position (and the anchors). */
  private thin(): void {
    const f = this.total();
    const keep = new Set<Snapshot>();
    keep.add(this.base);
    for (const s of this.snaps) if (s.full) keep.add(s);
    for (const bm of this.bookmarks) {
      let best: Snapshot | null = null;
      for (const s of this.snaps) if (s.g <= bm.g) best = s;
      if (best) keep.add(best);
    }
    // Going back from f.
    let last = f;
    for (let i = this.snaps.length - 1; i >= 0; i--) {
      const s = this.snaps[i]!;
      if (s.g > f) continue;
      if (last === f || last - s.g >= Math.max(this.every, f - last)) {
        keep.add(s);
        last = s.g;
      }
    }
    // Going forward from f.
    last = f;
    for (const s of this.snaps) {
      if (s.g <= f) continue;
      if (last === f || s.g - last >= Math.max(this.every, last - f)) {
        keep.add(s);
        last = s.g;
      }
    }
    // Merge the dropped ones into their successor (whose pages must cover the stretch since the
    // snapshot before it).
    const out: Snapshot[] = [];
    for (let i = 0; i < this.snaps.length; i++) {
      const s = this.snaps[i]!;
      if (keep.has(s)) {
        out.push(s);
        continue;
      }
      const next = this.snaps[i + 1];
      if (next && !next.full) {
        for (const [p, b] of s.pages) if (!next.pages.has(p)) next.pages.set(p, b);
        if (next.cov !== null) {
          if (s.cov === null) (next as { cov: Set<number> | null }).cov = null;
          else for (const p of s.cov) next.cov.add(p);
        }
      }
    }
    this.snaps.length = 0;
    this.snaps.push(...out);
  }

  /** Bytes held by the in-memory snapshots (RAM pages), and their number. */
  memoryUse(): { snapshots: number; bytes: number; perSnapshot: number[] } {
    const per = this.snaps.map((s) => s.pages.size * PAGE);
    return { snapshots: this.snaps.length, bytes: per.reduce((a, b) => a + b, 0), perSnapshot: per };
  }

  // =============================================================================================
  // positions
  // =============================================================================================

  protected override afterChunk(): void {
    this.run.recorder.flush();
    this.noteDivergence();
  }

  private noteDivergence(): void {
    const d = this.run.comparer.divergence;
    if (d && this.divergence === null) {
      const at = d.expected ?? d.actual!;
      this.divergence = `the replay differs from the recording at event #${at.seq} (${d.reason}, hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)})`;
    }
  }

  // ---- what breakpoint runs have seen: reverse-continue needs no re-run where it knows ----
  /** Per breakpoint pc: the stop points checked for it (sorted disjoint [lo, hi)), and its hits. */
  private readonly bpSeen = new Map<number, [number, number][]>();
  private readonly bpHits = new Map<number, Map<number, number>>();

  /** execute, noting which stop points were checked for which breakpoints and the hits. */
  private async runNoting(spec: RunSpec, interrupted: () => boolean): Promise<{ outcome: RunOutcome; hits: Hit[] }> {
    const g0 = this.total();
    const lo = this.ignoreG === g0 && !this.atEnd ? g0 + 1 : g0;
    const pcs = spec.hits === 'off' ? [] : [...this.bps.keys()];
    const r = await this.execute(spec, interrupted);
    if (pcs.length > 0) {
      const o = r.outcome;
      const stopHit = o.kind === 'hit' ? o.hit : null;
      const hi = stopHit?.reason === 'breakpoint' ? stopHit.g + 1 : this.total();
      for (const pc of pcs) if (hi > lo) addInterval(this.bpSeen, pc, lo, hi);
      for (const hit of stopHit ? [...r.hits, stopHit] : r.hits) {
        if (hit.reason !== 'breakpoint' || hit.pc === undefined) continue;
        let m = this.bpHits.get(hit.pc);
        if (!m) this.bpHits.set(hit.pc, (m = new Map()));
        m.set(hit.g, hit.hart);
      }
    }
    return r;
  }

  /**
   * From what earlier runs saw: the earliest stop point s such that every stop point in [s, P)
   * was checked for all the breakpoints, and the last hit there (or null).
   */
  private knownBefore(P: number): { s: number; hit: { g: number; hart: number } | null } {
    let s = 0;
    for (const pc of this.bps.keys()) {
      const iv = this.bpSeen.get(pc)?.find(([a, b]) => a <= P - 1 && P - 1 < b);
      s = Math.max(s, iv ? iv[0] : P);
    }
    let hit: { g: number; hart: number } | null = null;
    for (const pc of this.bps.keys()) {
      for (const [g, hart] of this.bpHits.get(pc) ?? []) if (g >= s && g < P && (hit === null || g > hit.g)) hit = { g, hart };
    }
    return { s, hit };
  }

  /** The stop point a reverse-continue lands on for a hit. */
  private landing(h: Hit): number {
    return h.reason === 'watchpoint' && this.watchStop === 'before' ? h.watch!.before : h.g;
  }

  /** Where the machine is. */
  position(): { g: number; hart: number; end: boolean } {
    return { g: this.total(), hart: this.stopHart, end: this.atEnd };
  }

  /** Land exactly on stop point g (from the best snapshot, unless already there or just before). */
  private land(g: number): RunOutcome {
    if (!this.atEnd && this.total() === g && this.ignoreG === g) return { kind: 'landed', hart: this.stopHart };
    if (this.atEnd || this.total() > g || g - this.total() > this.every) {
      const s = this.snapshotFor(g);
      if (this.atEnd || this.total() > g || s.g > this.total()) this.restore(s);
    }
    const { outcome } = this.executeSync({ landG: g, hits: 'off' });
    this.atEnd = outcome.kind === 'end';
    return outcome;
  }

  private async landAsync(g: number, interrupted: () => boolean): Promise<RunOutcome> {
    if (!this.atEnd && this.total() === g && this.ignoreG === g) return { kind: 'landed', hart: this.stopHart };
    if (this.atEnd || this.total() > g || g - this.total() > this.every) {
      const s = this.snapshotFor(g);
      if (this.atEnd || this.total() > g || s.g > this.total()) this.restore(s);
    }
    const { outcome } = await this.execute({ landG: g, hits: 'off' }, interrupted);
    return this.afterRun(outcome);
  }

  /** Book-keeping after a run's outcome; interrupted runs are brought to a stop point. */
  private afterRun(o: RunOutcome): RunOutcome {
    if (o.kind === 'interrupted' && !this.closed) {
      const hart = this.machine.current.id;
      const s = this.settle();
      this.atEnd = s.kind === 'end';
      this.stopHart = s.kind === 'landed' ? s.hart : hart;
      return o;
    }
    this.atEnd = o.kind === 'end';
    return o;
  }

  /** Go to a `--to` position (replay --to's parser and, for all but N, its search). */
  private seekTo(text: string): void {
    const target = parsePosition(text);
    // Every position (N counts retired instructions) resolves to the exact attempted-step count
    // the debugger's timeline is measured in.
    const r = seekOpened(this.opened, text, target, { events: 0, disasmBefore: 0, disasmAfter: 0 });
    const g = r.totalAttempted;
    const o = this.land(g);
    if (o.kind === 'landed') this.stopHart = o.hart;
    this.thin();
  }

  // =============================================================================================
  // DebugTarget
  // =============================================================================================

  writeReg(_hart: number, _reg: RegRef, _value: bigint): void {
    throw new DebugError('writing a register would make the replay differ from the recording; use `hvtrace run --gdb` to change state');
  }
  writeMemory(_hart: number, _addr: bigint, _data: Uint8Array, _physical: boolean): boolean {
    throw new DebugError('writing memory would make the replay differ from the recording; use `hvtrace run --gdb` to change state');
  }

  async resume(req: ResumeRequest, interrupted: () => boolean): Promise<StopEvent> {
    const hart = this.hart(req.hart).id;
    if (this.closed) throw new DebugError('the replay is closed');
    this.busy = true;
    try {
      if (req.direction === 'forward') return await this.forward(req, hart, interrupted);
      return await this.backward(req, hart, interrupted);
    } finally {
      this.busy = false;
      if (this.closed) this.release();
      else this.thin();
    }
  }
  /** A resume is in progress (close() then waits for it to end at its next chunk). */
  private busy = false;

  private async forward(req: ResumeRequest, hart: number, interrupted: () => boolean): Promise<StopEvent> {
    if (this.atEnd) return { hart, reason: 'end' };
    const spec = req.mode === 'step'
      ? { step: { hart, steps: this.machine.harts[hart]!.attempted + 1 }, hits: 'stop' as const }
      : { hits: 'stop' as const };
    const start = this.atEnd ? -1 : this.total();
    let o: RunOutcome;
    for (;;) {
      const { outcome } = await this.runNoting(spec, interrupted);
      o = this.afterRun(outcome);
      // Stopped right before an access last time: that access is not a new hit.
      if (this.watchStop !== 'after' && o.kind === 'hit' && o.hit.watch?.before === start && req.mode === 'continue') continue;
      break;
    }
    if (o.kind === 'hit' && o.hit.reason === 'watchpoint' && this.watchStop !== 'after') {
      // Back to right before the accessing instruction.
      this.land(o.hit.watch!.before);
      this.stopHart = o.hit.hart;
    }
    return this.stopEvent(o, o.kind === 'interrupted' ? this.stopHart : hart);
  }

  private async backward(req: ResumeRequest, hart: number, interrupted: () => boolean): Promise<StopEvent> {
    const P = this.total();
    if (req.mode === 'step') {
      const k = this.machine.harts[hart]!.attempted - 1;
      if (k < 0) return { hart, reason: 'begin' };
      // Hart `hart`'s previous stop point: right before its step k + 1.
      const s = this.snapshotFor(P, { id: hart, steps: k });
      this.restore(s);
      const { outcome } = await this.execute({ step: { hart, steps: k }, hits: 'off' }, interrupted);
      const o = this.afterRun(outcome);
      if (o.kind === 'interrupted') return { hart: this.stopHart, reason: 'interrupted' };
      if (o.kind !== 'step') throw new Error(`internal: reverse step of hart ${hart} did not land (${o.kind})`);
      return { hart, reason: 'step' };
    }
    // reverse-continue: the last hit before P, one stretch between snapshots at a time, after
    // what earlier runs with these breakpoints saw (no re-run for that part).
    let end = P;
    if (this.bps.size > 0 && this.watches.length === 0) {
      const k = this.knownBefore(P);
      if (k.hit !== null) {
        const o = await this.landAsync(k.hit.g, interrupted);
        if (o.kind === 'interrupted') return { hart: this.stopHart, reason: 'interrupted' };
        this.stopHart = k.hit.hart;
        return { hart: k.hit.hart, reason: 'breakpoint' };
      }
      end = k.s;
      if (end === 0) {
        return this.stopAtBegin();
      }
    }
    let endSnap: Snapshot | null = null;
    const bpPages = new Set<number>();
    for (const pc of this.bps.keys()) bpPages.add(Math.floor(pc / 4096));
    for (;;) {
      let s: Snapshot | null = null;
      for (const x of this.snaps) if (x.g < end) s = x;
      if (s === null) {
        return this.stopAtBegin();
      }
      // A stretch that never ran a breakpoint's page has no hit (watchpoints: always scanned).
      const cov = endSnap?.cov ?? null;
      if (cov !== null && this.watches.length === 0 && ![...bpPages].some((p) => cov.has(p))) {
        end = s.g;
        endSnap = s;
        if (end === 0) {
          return this.stopAtBegin();
        }
        continue;
      }
      this.restore(s);
      const { outcome, hits } = await this.runNoting({ hits: 'record', recordBefore: P, scanEndG: end }, interrupted);
      if (outcome.kind === 'interrupted') {
        this.afterRun(outcome);
        return { hart: this.stopHart, reason: 'interrupted' };
      }
      if (this.closed) return { hart: this.stopHart, reason: 'interrupted' };
      // Where each hit would land must be before P; with 'gdb', a watchpoint stop right after
      // an access may be P itself (the access just before it): gdb then steps back over it.
      const inStretch = hits.filter((h) => (this.watchStop === 'gdb' ? before(h, P) : this.landing(h) < P));
      if (inStretch.length > 0) {
        let last: Hit = inStretch[0]!;
        for (const h of inStretch) if (h.g >= last.g) last = h;
        const at = this.landing(last);
        const o = await this.landAsync(at, interrupted);
        if (o.kind === 'interrupted') return { hart: this.stopHart, reason: 'interrupted' };
        this.stopHart = last.hart;
        return this.stopEvent({ kind: 'hit', hit: last }, last.hart);
      }
      end = s.g;
      endSnap = s;
      if (end === 0) {
        return this.stopAtBegin();
      }
    }
  }

  // =============================================================================================
  // monitor
  // =============================================================================================

  /**
   * The position in words: retired instructions of all harts (the count `info` and `--to N`
   * use), and the attempted-step count (retired + trapped attempts) the timeline is measured in.
   */
  private where(): string {
    return `instruction ${this.run.sched.totalRetired()} (step ${this.total()})`;
  }

  async monitor(command: string, _interrupted: () => boolean): Promise<string> {
    const words = command.trim().split(/\s+/).filter(Boolean);
    const cmd = words[0] ?? 'help';
    switch (cmd) {
      case 'when': {
        const h = this.machine.harts[this.stopHart]!;
        const lines = [
          `${this.where()}${this.recordedSteps !== null ? ` of ${this.recordedSteps} steps` : ''}${this.atEnd ? ' (end of the recording)' : ''}`,
          `hart ${h.id}: instret ${h.instret}, attempted ${h.attempted}, priv ${privName(h.priv, h.virt, (this.opened.machineConfig.guests?.length ?? 0) > 0)}, pc ${hex(h.getPc())}`,
          `next event: seq ${this.run.recorder.seq}`,
        ];
        if (this.divergence) lines.push(`warning: ${this.divergence}`);
        return `${lines.join('\n')}\n`;
      }
      case 'seek': {
        if (words.length < 2) throw new DebugError('usage: monitor seek POS (N, HART:COUNT, seq:N, pc:ADDR[#K], H:pc:ADDR)');
        try {
          this.seekTo(words.slice(1).join(' '));
        } catch (e) {
          if (e instanceof TraceError) throw new DebugError(e.message);
          throw e;
        }
        return `at ${this.where()}, hart ${this.stopHart}${this.atEnd ? ' (end of the recording)' : ''}\n`;
      }
      case 'events': {
        const n = words[1] === undefined ? 10 : Number(words[1]);
        if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new DebugError('usage: monitor events [N] (1-10000)');
        return this.eventsAround(n);
      }
      case 'checkpoint': {
        const n = this.bookmarks.length + 1;
        this.bookmarks.push({ n, g: this.total(), hart: this.stopHart });
        return `checkpoint ${n} at ${this.where()}\n`;
      }
      case 'restart': {
        const n = Number(words[1]);
        const bm = this.bookmarks.find((b) => b.n === n);
        if (!bm) throw new DebugError(`usage: monitor restart N (checkpoints: ${this.bookmarks.map((b) => b.n).join(', ') || 'none; take one with monitor checkpoint'})`);
        const o = this.land(bm.g);
        this.stopHart = o.kind === 'landed' ? bm.hart : this.stopHart;
        this.thin();
        return `at checkpoint ${n}, ${this.where()}\n`;
      }
      case 'help':
        return [
          'monitor when            global instruction count, the hart\'s instret, the next event\'s seq',
          'monitor seek POS        go to POS: N, HART:COUNT, seq:N, pc:ADDR[#K], H:pc:ADDR (as replay --to)',
          'monitor events [N]      the recorded events around here (N before, default 10)',
          'monitor checkpoint      remember this position; prints its number',
          'monitor restart N       go back (or forward) to checkpoint N',
          'monitor phys on|off     read memory by physical address',
          '',
        ].join('\n');
      default:
        throw new DebugError(`unknown monitor command "${cmd}" (monitor help lists them)`);
    }
  }

  private eventsAround(n: number): string {
    const r = this.opened.reader;
    if (!this.traceCode) this.traceCode = new TraceCode(r, { symbols: this.opened.symbolOptions.symbols ? [...this.opened.symbolOptions.symbols] : undefined });
    const seq = this.run.recorder.seq;
    const evs = r.readEvents({ from: Math.max(0, seq - n), to: seq + Math.min(3, n) });
    const lines = evs.map((e: TraceEvent) => {
      const { symbol: sym, insn: dis } = this.traceCode!.forEvent(e);
      const where = `${hex(e.pc)}${sym ? ` <${sym}>` : ''}`;
      const mark = e.seq === seq ? '=> ' : '   ';
      return `${mark}${String(e.seq).padStart(7)}  h${e.hart} ${privName(e.priv, e.virt, this.traceCode!.guests > 0).padEnd(2)} vt=${e.vtime} i=${e.instret}  ${where}  ${e.kind.padEnd(11)} ${describeEvent(e, this.traceCode!.guests > 0)}${dis ? `  | ${dis}` : ''}`;
    });
    if (!evs.some((e) => e.seq === seq)) lines.push(`=> (next event: seq ${seq}${seq > r.maxSeq() ? ', none: the recording has no more' : ''})`);
    return `${lines.join('\n')}\n`;
  }

  /** Close the trace; a resume in progress stops at its next chunk and closes it then. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.busy) this.release();
  }
  private release(): void {
    this.run.close();
    this.opened.reader.close();
  }
}

/**
 * Open a trace for debugging and go to the starting position (`opts.to`, any `replay --to`
 * syntax, or the first instruction). Throws TraceError (one line) when the trace cannot be
 * replayed or the position is not in it.
 */
export function openReplayTarget(path: string, opts: ReplayTargetOptions = {}): ReplayTarget {
  const opened = openForReplay(path, opts);
  let t: ReplayTarget | null = null;
  try {
    t = new ReplayTarget(opened, opts);
    if (opts.to !== undefined) t['seekTo'](opts.to);
    else {
      const o = t['land'](0);
      if (o.kind === 'landed') t['stopHart'] = o.hart;
    }
    return t;
  } catch (e) {
    if (t) t.close();
    else opened.reader.close();
    throw e;
  }
}

/** Add [lo, hi) to pc's sorted list of disjoint intervals, merging what touches. */
function addInterval(m: Map<number, [number, number][]>, pc: number, lo: number, hi: number): void {
  const list = m.get(pc) ?? [];
  const out: [number, number][] = [];
  for (const [a, b] of list) {
    if (b < lo || a > hi) out.push([a, b]);
    else {
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  out.push([lo, hi]);
  out.sort((x, y) => x[0] - y[0]);
  m.set(pc, out);
}
