/**
 * The streaming event comparer: EventComparer, compareEvents, compareEventsSync and their options
 * and results (src/diff/compare.ts documents them and is the API).
 */
import { EVENT_KINDS, type EventKind, type TraceEvent } from '../trace/model.js';

export const EVENT_FIELDS = ['kind', 'seq', 'vtime', 'hart', 'instret', 'pc', 'priv', 'virt', 'a', 'b', 'c', 'payload'] as const;
export type EventField = (typeof EVENT_FIELDS)[number];

export class CompareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareError';
  }
}

export interface CompareOptions {
  /** Compare only events of these kinds (both sides are filtered). */
  kinds?: readonly EventKind[];
  /** Fields not compared. `kind` cannot be ignored. */
  ignore?: readonly string[];
  /** Fields each side has (reference imports); only fields both have are compared. */
  fields?: { expected?: readonly string[]; actual?: readonly string[] };
  /** Events kept before the divergence on each side (default 5). */
  context?: number;
  /**
   * Keep reading both streams after the divergence to complete the per-kind counts (default
   * true). False stops at the divergence: counts are then of what was read.
   */
  drain?: boolean;
  /**
   * Number of (filtered) positions already known to be equal and skipped by the caller, e.g.
   * through matching state digests: reported indexes start there.
   */
  startIndex?: number;
}

export type DivergenceReason =
  /** Both sides have an event here and some compared field differs. */
  | 'mismatch'
  /** The expected stream goes on, the actual one ended. */
  | 'missing'
  /** The actual stream goes on, the expected one ended. */
  | 'extra';

export interface FieldDifference {
  field: EventField;
  expected: unknown;
  actual: unknown;
}

export interface Divergence {
  reason: DivergenceReason;
  /** Position in the (filtered) streams, from 0. */
  index: number;
  expected: TraceEvent | null;
  actual: TraceEvent | null;
  /** The fields that differ (for 'mismatch'; `kind` first when the kinds differ). */
  differences: FieldDifference[];
  /** The events just before the divergence on each side (oldest first). */
  before: { expected: TraceEvent[]; actual: TraceEvent[] };
}

export type KindCounts = Partial<Record<EventKind, number>>;

export interface CompareSummary {
  /** Positions compared (matched ones plus the divergent one), including skipped ones. */
  compared: number;
  /** Positions that matched (including the skipped `startIndex`). */
  matched: number;
  /** Positions skipped as known-equal (startIndex). */
  skipped: number;
  /** Events read on each side, and per kind (all kinds, before the filter). */
  expected: { events: number; perKind: KindCounts };
  actual: { events: number; perKind: KindCounts };
  /** The fields that were compared, and those that were not (ignored or not on both sides). */
  fieldsCompared: EventField[];
  ignored: EventField[];
  kinds: EventKind[] | null;
  /** The --kinds presets used (exceptions, traps, ...). */
  presets?: string[];
  /** Whether both streams were read to their end (false when drain was off). */
  complete: boolean;
}

export interface CompareResult {
  /** 'same': every position matched and at least one was compared; 'different'; 'empty': nothing to compare (an error, never a pass). */
  status: 'same' | 'different' | 'empty';
  divergence: Divergence | null;
  summary: CompareSummary;
}

/** Resolve the option lists into the set of compared fields (throws CompareError on bad names). */
export function resolveFields(opts: CompareOptions): { compared: EventField[]; ignored: EventField[] } {
  const ignore = new Set<string>();
  for (const f of opts.ignore ?? []) {
    if (!(EVENT_FIELDS as readonly string[]).includes(f)) {
      throw new CompareError(`unknown event field "${f}" (fields: ${EVENT_FIELDS.join(', ')})`);
    }
    if (f === 'kind') throw new CompareError('the field "kind" cannot be ignored (use --kinds to select kinds)');
    ignore.add(f);
  }
  if (opts.kinds && opts.kinds.length > 0) ignore.add('seq');
  const has = (list: readonly string[] | undefined, f: string) => list === undefined || list.includes(f);
  const compared: EventField[] = [];
  const ignored: EventField[] = [];
  for (const f of EVENT_FIELDS) {
    const on = f === 'kind' || (!ignore.has(f) && has(opts.fields?.expected, f) && has(opts.fields?.actual, f));
    (on ? compared : ignored).push(f);
  }
  return { compared, ignored };
}

/** Validate a kinds list (throws CompareError). */
export function parseKinds(list: readonly string[]): EventKind[] {
  const out: EventKind[] = [];
  for (const k of list) {
    if (!(EVENT_KINDS as readonly string[]).includes(k)) {
      throw new CompareError(`unknown event kind "${k}" (kinds: ${EVENT_KINDS.join(', ')})`);
    }
    if (!out.includes(k as EventKind)) out.push(k as EventKind);
  }
  return out;
}

/** Deep equality for payload values: plain objects, arrays, typed arrays, bigint, number (NaN-aware), strings, null. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  // Plain objects: keys whose value is undefined count as absent.
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function fieldEqual(f: EventField, x: TraceEvent, y: TraceEvent): boolean {
  if (f === 'payload') return deepEqual(x.payload, y.payload);
  return x[f] === y[f];
}

/** Push-driven comparer: feed both sides in any interleaving, then read `result()`. */
export class EventComparer {
  readonly compared: readonly EventField[];
  readonly ignored: readonly EventField[];
  private readonly kinds: Set<EventKind> | null;
  private readonly kindList: EventKind[] | null;
  private readonly context: number;
  private readonly drain: boolean;
  private readonly start: number;
  private readonly qe: TraceEvent[] = [];
  private readonly qa: TraceEvent[] = [];
  private qeHead = 0;
  private qaHead = 0;
  private readonly ctxE: TraceEvent[] = [];
  private readonly ctxA: TraceEvent[] = [];
  private endedE = false;
  private endedA = false;
  private matchedN = 0;
  private readonly countE = { events: 0, perKind: {} as KindCounts };
  private readonly countA = { events: 0, perKind: {} as KindCounts };
  /** The first divergence, once found. */
  divergence: Divergence | null = null;
  /** Called once, when the divergence is found. */
  onDivergence: ((d: Divergence) => void) | null = null;

  constructor(opts: CompareOptions = {}) {
    const { compared, ignored } = resolveFields(opts);
    this.compared = compared;
    this.ignored = ignored;
    this.kindList = opts.kinds && opts.kinds.length > 0 ? parseKinds(opts.kinds) : null;
    this.kinds = this.kindList ? new Set(this.kindList) : null;
    this.context = Math.max(0, opts.context ?? 5);
    this.drain = opts.drain ?? true;
    this.start = Math.max(0, opts.startIndex ?? 0);
  }

  /** True when the comparer does not need more events (diverged and not draining). */
  get done(): boolean {
    return this.divergence !== null && !this.drain;
  }

  /** Positions matched so far (not counting skipped ones). */
  get matched(): number {
    return this.matchedN;
  }

  /** One event of the expected stream. */
  expected(ev: TraceEvent): void {
    count(this.countE, ev);
    if (this.divergence || (this.kinds && !this.kinds.has(ev.kind))) return;
    this.qe.push(ev);
    this.pump();
  }

  /** One event of the actual stream. */
  actual(ev: TraceEvent): void {
    count(this.countA, ev);
    if (this.divergence || (this.kinds && !this.kinds.has(ev.kind))) return;
    this.qa.push(ev);
    this.pump();
  }

  endExpected(): void {
    this.endedE = true;
    this.pump();
  }
  endActual(): void {
    this.endedA = true;
    this.pump();
  }

  /** Whether this comparer compares every field of every kind (what a fast path must match). */
  get comparesEverything(): boolean {
    return this.kinds === null && this.ignored.length === 0;
  }

  /**
   * Account `n` positions the caller found equal itself (the replayer compares columns before
   * it builds events): they count as matched and as read on both sides, per kind; `ctxE` /
   * `ctxA` are the events just before the next position. Only before a divergence, without a
   * kind filter and with nothing queued.
   */
  preload(n: number, perKind: KindCounts, ctxE: readonly TraceEvent[], ctxA: readonly TraceEvent[]): void {
    if (this.divergence || this.kinds || this.qeHead < this.qe.length || this.qaHead < this.qa.length) {
      throw new Error('internal: EventComparer.preload with a divergence, a kind filter or queued events');
    }
    this.matchedN += n;
    this.countE.events += n;
    this.countA.events += n;
    for (const [k, v] of Object.entries(perKind) as [EventKind, number][]) {
      this.countE.perKind[k] = (this.countE.perKind[k] ?? 0) + v;
      this.countA.perKind[k] = (this.countA.perKind[k] ?? 0) + v;
    }
    if (this.context > 0) {
      for (const e of ctxE) pushCtx(this.ctxE, e, this.context);
      for (const a of ctxA) pushCtx(this.ctxA, a, this.context);
    }
  }

  /** Compare one pair directly (the fields that differ; empty = equal). */
  differences(e: TraceEvent, a: TraceEvent): FieldDifference[] {
    const out: FieldDifference[] = [];
    for (const f of this.compared) {
      if (!fieldEqual(f, e, a)) out.push({ field: f, expected: e[f], actual: a[f] });
    }
    return out;
  }

  private pump(): void {
    while (this.divergence === null) {
      const he = this.qeHead < this.qe.length;
      const ha = this.qaHead < this.qa.length;
      if (he && ha) {
        const e = this.qe[this.qeHead++]!;
        const a = this.qa[this.qaHead++]!;
        const d = this.differences(e, a);
        if (d.length > 0) {
          this.diverge('mismatch', e, a, d);
          return;
        }
        this.matchedN++;
        if (this.context > 0) {
          pushCtx(this.ctxE, e, this.context);
          pushCtx(this.ctxA, a, this.context);
        }
        continue;
      }
      if (he && this.endedA) {
        this.diverge('missing', this.qe[this.qeHead++]!, null, []);
        return;
      }
      if (ha && this.endedE) {
        this.diverge('extra', null, this.qa[this.qaHead++]!, []);
        return;
      }
      break;
    }
    // Keep the queues small.
    if (this.qeHead > 1024 && this.qeHead * 2 > this.qe.length) {
      this.qe.splice(0, this.qeHead);
      this.qeHead = 0;
    }
    if (this.qaHead > 1024 && this.qaHead * 2 > this.qa.length) {
      this.qa.splice(0, this.qaHead);
      this.qaHead = 0;
    }
  }

  private diverge(reason: DivergenceReason, e: TraceEvent | null, a: TraceEvent | null, d: FieldDifference[]): void {
    this.divergence = {
      reason,
      index: this.start + this.matchedN,
      expected: e,
      actual: a,
      differences: d,
      before: { expected: this.ctxE.slice(), actual: this.ctxA.slice() },
    };
    this.qe.length = 0;
    this.qa.length = 0;
    this.qeHead = this.qaHead = 0;
    if (this.onDivergence) this.onDivergence(this.divergence);
  }

  /** The result so far (call after both ends for a final answer). */
  result(): CompareResult {
    const matched = this.start + this.matchedN;
    const compared = matched + (this.divergence ? 1 : 0);
    const summary: CompareSummary = {
      compared,
      matched,
      skipped: this.start,
      expected: { events: this.countE.events, perKind: { ...this.countE.perKind } },
      actual: { events: this.countA.events, perKind: { ...this.countA.perKind } },
      fieldsCompared: [...this.compared],
      ignored: [...this.ignored],
      kinds: this.kindList ? [...this.kindList] : null,
      complete: this.endedE && this.endedA,
    };
    const status = this.divergence ? 'different' : compared === 0 ? 'empty' : 'same';
    return { status, divergence: this.divergence, summary };
  }
}

export function count(c: { events: number; perKind: KindCounts }, ev: TraceEvent): void {
  c.events++;
  c.perKind[ev.kind] = (c.perKind[ev.kind] ?? 0) + 1;
}

function pushCtx(buf: TraceEvent[], ev: TraceEvent, n: number): void {
  buf.push(ev);
  if (buf.length > n) buf.shift();
}

type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

function iter<T>(s: AnyIterable<T>): Iterator<T> | AsyncIterator<T> {
  const a = (s as AsyncIterable<T>)[Symbol.asyncIterator];
  if (typeof a === 'function') return a.call(s);
  return (s as Iterable<T>)[Symbol.iterator]();
}

/**
 * Compare two event streams (sync or async iterables). Reads them in lock step (so memory
 * stays bounded by the context), stops at the first divergence unless `drain`.
 */
export async function compareEvents(
  expected: AnyIterable<TraceEvent>,
  actual: AnyIterable<TraceEvent>,
  opts: CompareOptions = {},
): Promise<CompareResult> {
  const c = new EventComparer(opts);
  const ie = iter(expected);
  const ia = iter(actual);
  let doneE = false;
  let doneA = false;
  try {
    while (!(doneE && doneA) && !c.done) {
      if (!doneE) {
        const r = await ie.next();
        if (r.done) { doneE = true; c.endExpected(); } else c.expected(r.value);
      }
      if (!doneA && !c.done) {
        const r = await ia.next();
        if (r.done) { doneA = true; c.endActual(); } else c.actual(r.value);
      }
    }
  } finally {
    if (!doneE) await ie.return?.();
    if (!doneA) await ia.return?.();
  }
  return c.result();
}

/** `compareEvents` for sync iterables. */
export function compareEventsSync(expected: Iterable<TraceEvent>, actual: Iterable<TraceEvent>, opts: CompareOptions = {}): CompareResult {
  const c = new EventComparer(opts);
  const ie = expected[Symbol.iterator]();
  const ia = actual[Symbol.iterator]();
  let doneE = false;
  let doneA = false;
  try {
    while (!(doneE && doneA) && !c.done) {
      if (!doneE) {
        const r = ie.next();
        if (r.done) { doneE = true; c.endExpected(); } else c.expected(r.value);
      }
      if (!doneA && !c.done) {
        const r = ia.next();
        if (r.done) { doneA = true; c.endActual(); } else c.actual(r.value);
      }
    }
  } finally {
    if (!doneE) ie.return?.();
    if (!doneA) ia.return?.();
  }
  return c.result();
}
