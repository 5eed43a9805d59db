/**
 * Streaming event comparison (DESIGN.md §4: "Replay compares events one by one (kind and every
 * field); the first mismatch is the divergence ... A comparison that matched zero events is a
 * failure, not a pass").
 *
 * Two streams of TraceEvent, "expected" (the recorded / reference trace) and "actual" (the
 * replay / the other trace), are compared position by position after an optional kind filter:
 * kind, then every field (seq, vtime, hart, instret, pc, priv, virt, a, b, c, payload
 * deep-equal) unless ignored. The first position where they differ, or where one stream ends
 * before the other, is the divergence; the comparer keeps the N events before it on each side
 * (context) and per-kind counts of everything it saw on each side.
 *
 * Three ways to drive it:
 *  - `compareEvents(expected, actual, opts)`: two sync or async iterables (a TraceReader's
 *    event iterator, arrays, generators); resolves to the result;
 *  - `compareEventsSync(...)`: the same for sync iterables, no promise;
 *  - `EventComparer`: push events one at a time from either side (`expected(ev)`,
 *    `actual(ev)`, `endExpected()`, `endActual()`), e.g. from a recorder's sink during replay,
 *    then `result()`.
 *
 * Reference imports (traces converted from another emulator's log, e.g. QEMU `-d int`) do not
 * know every field: the caller passes which fields each side has (`fields.expected` /
 * `fields.actual`), and only fields both sides have are compared.
 *
 * Sequence numbers count events of every kind, so when a kind filter is given `seq` is not
 * compared (an extra event of an unselected kind would shift every later seq); the summary
 * lists it under `ignored`.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { EVENT_KINDS, type EventKind, type TraceEvent } from '../trace/model.js';
import { TraceReader, TraceError, type DigestRow, type StoredMachineConfig, type ImageRef } from '../trace/store.js';
import { TraceCode, type TraceCodeOptions } from '../trace/code.js';
import { EventHasher } from '../trace/event-hash.js';
import { fieldName } from '../trace/event-kinds.js';
import { buildReport, type DivergenceReport } from './report.js';

export { TraceCode };

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

function count(c: { events: number; perKind: KindCounts }, ev: TraceEvent): void {
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

// ---------------------------------------------------------------------------
// Formatting helpers shared by the differ and the replayer
// ---------------------------------------------------------------------------

const PRIV_NAMES = ['U', 'S', 'H', 'M'];

export function hex(v: bigint | number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return '0x' + BigInt.asUintN(64, b).toString(16);
}

/** JSON-safe copy of a value: bigints become "0x..." strings, typed arrays arrays. */
export function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (v === null || v === undefined) return v ?? null;
  if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x)]));
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as object)) if (x !== undefined) o[k] = toJsonValue(x);
    return o;
  }
  return v;
}

export function eventToJson(ev: TraceEvent | null, symbolize?: (a: bigint) => string | undefined): unknown {
  if (!ev) return null;
  const o = toJsonValue(ev) as Record<string, unknown>;
  const sym = symbolize?.(ev.pc);
  if (sym) o['symbol'] = sym;
  return o;
}

function payloadText(p: Record<string, unknown> | null): string {
  if (!p) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(toJsonValue(v))}`);
  }
  return parts.length ? ' {' + parts.join(' ') + '}' : '';
}

/**
 * One line for an event: `#seq hart H instret N pc 0x... <sym> [S] kind cause=.. tval=.. {payload}`:
 * the a/b/c columns under the kind's field names (src/trace/event-kinds.ts).
 */
export function formatEvent(ev: TraceEvent, symbolize?: (a: bigint) => string | undefined): string {
  const sym = symbolize?.(ev.pc);
  const priv = (ev.virt ? 'V' : '') + (PRIV_NAMES[ev.priv] ?? String(ev.priv));
  const abc = (['a', 'b', 'c'] as const).filter((k) => ev[k] !== null).map((k) => `${fieldName(ev.kind, k) ?? k}=${hex(ev[k])}`).join(' ');
  return `#${ev.seq} hart ${ev.hart} instret ${ev.instret} vtime ${ev.vtime} pc ${hex(ev.pc)}${sym ? ` <${sym}>` : ''} [${priv}] ${ev.kind}${abc ? ' ' + abc : ''}${payloadText(ev.payload)}`;
}

/**
 * A compared field as people read it: a/b/c under the kind's field names when both sides are of
 * one kind (`cause`, `csr`, `old`...); the storage name when the kinds differ.
 */
export function fieldLabel(d: Pick<Divergence, 'expected' | 'actual'>, f: EventField): string {
  if (f !== 'a' && f !== 'b' && f !== 'c') return f;
  const e = d.expected, a = d.actual;
  if (e && a && e.kind !== a.kind) return f;
  const k = (e ?? a)?.kind;
  return (k && fieldName(k, f)) ?? f;
}

export function formatValue(f: EventField, v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return hex(v);
  if (f === 'priv' && typeof v === 'number') return `${v} (${PRIV_NAMES[v] ?? '?'})`;
  if (typeof v === 'object') return JSON.stringify(toJsonValue(v));
  return String(v);
}

/** Multi-line text report of a divergence (no trailing newline). */
export function formatDivergence(d: Divergence, symbolize?: (a: bigint) => string | undefined, labels = ['expected', 'actual']): string {
  const [le, la] = labels as [string, string];
  const out: string[] = [];
  const at = d.expected ?? d.actual!;
  const sym = symbolize?.(at.pc);
  if (d.reason === 'mismatch') {
    out.push(`first divergence at event index ${d.index}: ${le} #${d.expected!.seq} vs ${la} #${d.actual!.seq}, hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''}`);
    for (const x of d.differences) {
      out.push(`  ${fieldLabel(d, x.field)}: ${le} ${formatValue(x.field, x.expected)}, ${la} ${formatValue(x.field, x.actual)}`);
    }
  } else if (d.reason === 'missing') {
    out.push(`first divergence at event index ${d.index}: ${la} ended, ${le} goes on with #${at.seq} (hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''})`);
  } else {
    out.push(`first divergence at event index ${d.index}: ${le} ended, ${la} goes on with #${at.seq} (hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''})`);
  }
  out.push(`  ${le}: ${d.expected ? formatEvent(d.expected, symbolize) : '(end of trace)'}`);
  out.push(`  ${la}: ${d.actual ? formatEvent(d.actual, symbolize) : '(end of trace)'}`);
  const n = Math.max(d.before.expected.length, d.before.actual.length);
  if (n > 0) {
    out.push(`  events before (${le} | ${la} when different):`);
    for (let i = 0; i < n; i++) {
      const e = d.before.expected[d.before.expected.length - n + i];
      const a = d.before.actual[d.before.actual.length - n + i];
      const te = e ? formatEvent(e, symbolize) : '';
      const ta = a ? formatEvent(a, symbolize) : '';
      out.push(`    ${te}`);
      if (ta !== te) out.push(`  | ${ta}`);
    }
  }
  return out.join('\n');
}

/** Per-kind counts as "trap 12, csr_write 40". */
export function formatKindCounts(c: KindCounts): string {
  const parts = EVENT_KINDS.filter((k) => c[k]).map((k) => `${k} ${c[k]}`);
  return parts.length ? parts.join(', ') : 'none';
}

// ---------------------------------------------------------------------------
// Trace files
// ---------------------------------------------------------------------------

/** What a reference import (meta 'reference') declares about itself. */
export interface ReferenceInfo {
  /** e.g. "qemu 7.2 -d int". */
  source: string;
  /** Fields its events carry; the others are placeholders and are not compared. */
  fields: string[];
  /** Kinds it can express; a diff against it compares only those (unless --kinds says otherwise). */
  kinds: EventKind[];
  [k: string]: unknown;
}

export function referenceInfo(r: TraceReader): ReferenceInfo | null {
  const m = r.meta('reference');
  if (!m) return null;
  try {
    const v = JSON.parse(m) as ReferenceInfo;
    if (!Array.isArray(v.fields) || !Array.isArray(v.kinds)) throw new Error('fields/kinds missing');
    return v;
  } catch (e) {
    throw new TraceError(`${r.path}: corrupt meta 'reference' (${(e as Error).message})`);
  }
}

/**
 * What `diff` compares before the events: the images (sha256 per role), the configuration
 * (memory, harts, firmware, command line, guests, quantum, instruction limit), the input, the
 * console output and how the run ended. `--ignore AREA` leaves one out.
 */
export const RUN_AREAS = ['images', 'config', 'input', 'console', 'status'] as const;
export type RunArea = (typeof RUN_AREAS)[number];

/** A difference between the two recordings other than in their events. */
export interface RunDifference {
  area: RunArea;
  /** What differs: an image role, a configuration item (memory, harts, bios, append, ...), 'input', 'console', 'status'. */
  item: string;
  /** The value on each side, as text (null: absent). */
  a: string | null;
  b: string | null;
  /** One line saying what differs, naming both values. */
  message: string;
}

export interface TraceDiffOptions extends CompareOptions, TraceCodeOptions {
  /** Use matching state digests to skip the equal start of both traces (default true). */
  digests?: boolean;
}

export interface TraceDiffReport extends CompareResult {
  a: string;
  b: string;
  /**
   * Differences in images, configuration, input, console output and end of run (compared first;
   * any of them makes the traces different, whatever their events).
   */
  differences: RunDifference[];
  /** Where the comparison started thanks to equal digests (null: from the start). */
  skippedTo: { seq: number; totalInstret: number; digests: number } | null;
  /** Things the user should know that are not differences (e.g. a trace changed after recording). */
  notes: string[];
  reference: { a: ReferenceInfo | null; b: ReferenceInfo | null };
  /** Symbol / instruction at the divergence (from the expected side's images, else the actual's). */
  where: { pc: bigint; symbol?: string; insn?: string } | null;
  codeA: TraceCode;
  codeB: TraceCode;
  /** The divergence report (report.ts): the first divergent event named, the events before, console, next commands. */
  report: DivergenceReport | null;
}

// ---------------------------------------------------------------------------------------------
// images, configuration, input, console, end of run
// ---------------------------------------------------------------------------------------------

const ROLE_ORDER = ['firmware', 'kernel', 'initrd', 'dtb'];
const roleRank = (r: string): number => (ROLE_ORDER.includes(r) ? ROLE_ORDER.indexOf(r) : ROLE_ORDER.length);
const short = (h: string): string => h.slice(0, 12);
const sizeText = (n: number): string => (n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`);
const quote = (s: string | undefined | null): string => (s === undefined || s === null ? '(none)' : JSON.stringify(s));

/** The differences between two hvtrace recordings outside their events (RUN_AREAS order). */
export function compareRuns(ra: TraceReader, rb: TraceReader, ignore: readonly RunArea[] = []): RunDifference[] {
  const out: RunDifference[] = [];
  const A = ra.path, B = rb.path;
  const on = (a: RunArea) => !ignore.includes(a);
  const add = (area: RunArea, item: string, a: string | null, b: string | null, message: string) => out.push({ area, item, a, b, message });
  // images: sha256 per role
  if (on('images')) {
    const ia = new Map(ra.images().map((i) => [i.role as string, i]));
    const ib = new Map(rb.images().map((i) => [i.role as string, i]));
    const roles = [...new Set([...ia.keys(), ...ib.keys()])].sort((x, y) => roleRank(x) - roleRank(y) || x.localeCompare(y));
    const desc = (i: ImageRef | undefined) => (i ? `${i.name} (sha256 ${short(i.sha256)}, ${i.size} bytes)` : null);
    for (const role of roles) {
      const x = ia.get(role), y = ib.get(role);
      if (x && y && x.sha256 === y.sha256) continue;
      const msg = x && y
        ? `the ${role} image differs: ${A} has ${desc(x)}, ${B} has ${desc(y)}`
        : `only ${x ? A : B} has a ${role} image: ${desc(x ?? y)}`;
      add('images', role, x ? x.sha256 : null, y ? y.sha256 : null, msg);
    }
  }
  // configuration
  const ca = ra.config, cb = rb.config;
  if (on('config')) {
    const item = (name: string, what: string, x: string | null, y: string | null) => {
      if (x !== y) add('config', name, x, y, `the ${what} differs: ${A} ${x ?? '(none)'}, ${B} ${y ?? '(none)'}`);
    };
    const ma = ca.machine!, mb = cb.machine!;
    item('memory', 'RAM size (-m)', sizeText(ma.ramSize), sizeText(mb.ramSize));
    item('harts', 'number of harts (--smp)', String(ma.harts), String(mb.harts));
    const bios = (m: StoredMachineConfig) => (typeof m.bios === 'object' ? 'an image (firmware)' : m.bios);
    item('bios', 'firmware (--bios)', bios(ma), bios(mb));
    item('append', 'kernel command line (--append)', quote(ma.append), quote(mb.append));
    const ga = ma.guests ?? [], gb = mb.guests ?? [];
    item('guests', 'number of guests (--guest)', String(ga.length), String(gb.length));
    for (let k = 0; k < Math.min(ga.length, gb.length); k++) {
      const x = ga[k]!, y = gb[k]!;
      item(`guest${k}.vcpus`, `vCPUs of guest ${k} (--vcpus)`, String(x.vcpus), String(y.vcpus));
      item(`guest${k}.memory`, `RAM of guest ${k} (--guest-mem)`, sizeText(x.memSize), sizeText(y.memSize));
      item(`guest${k}.append`, `command line of guest ${k} (--guest-append)`, quote(x.append), quote(y.append));
    }
    item('quantum', 'scheduler quantum (--quantum)', String(ca.quantum), String(cb.quantum));
    item('max-insns', 'instruction limit (--max-insns)', ca.maxInsns === null ? 'none' : String(ca.maxInsns), cb.maxInsns === null ? 'none' : String(cb.maxInsns));
  }
  // input (the bytes and when they were queued; not where they came from)
  if (on('input')) {
    const inp = (r: TraceReader) => {
      const q = r.inputQueue();
      const h = createHash('sha256');
      let n = 0;
      for (const x of q) {
        h.update(`${x.vtime}:${x.data.length}:`).update(x.data);
        n += x.data.length;
      }
      return { n, hash: h.digest('hex'), bytes: Buffer.concat(q.map((x) => x.data)).toString('hex') };
    };
    const x = inp(ra), y = inp(rb);
    if (x.hash !== y.hash) {
      add('input', 'input', `${x.n} bytes`, `${y.n} bytes`, x.bytes === y.bytes
        ? `the input was queued at other times: the same ${x.n} bytes`
        : `the input differs: ${A} ${x.n} bytes (${ca.input.source}${ca.input.name ? ` ${ca.input.name}` : ''}), ${B} ${y.n} bytes (${cb.input.source}${cb.input.name ? ` ${cb.input.name}` : ''})`);
    }
  }
  // console output
  if (on('console')) {
    const x = ra.consoleBytes(), y = rb.consoleBytes();
    if (Buffer.compare(x, y) !== 0) {
      let i = 0;
      while (i < x.length && i < y.length && x[i] === y[i]) i++;
      let line = 1;
      for (let j = 0; j < i; j++) if (x[j] === 10) line++;
      const from = i > 0 ? x.lastIndexOf(10, i - 1) + 1 : 0;
      const excerpt = (b: Uint8Array) => {
        if (i >= b.length) return '(end of output)';
        let end = b.indexOf(10, i);
        if (end < 0) end = b.length;
        const start = Math.max(from, i - 40);
        return JSON.stringify(Buffer.from(b.subarray(start, Math.min(end, i + 40))).toString('latin1'));
      };
      const where = i === x.length || i === y.length
        ? `${i === x.length ? A : B}'s output ends at byte ${i}, where the other's goes on (line ${line})`
        : `first difference at byte ${i} (line ${line})`;
      add('console', 'console', `${x.length} bytes`, `${y.length} bytes`,
        `the console output differs (${A} ${x.length} bytes, ${B} ${y.length} bytes): ${where}: ${A} ${excerpt(x)}, ${B} ${excerpt(y)}`);
    }
  }
  // end of run
  if (on('status')) {
    const end = (r: TraceReader) => {
      const e = r.exit;
      return `${r.status}${e ? ` (${e.kind}, exit ${e.exitCode}${e.message ? `: ${e.message}` : ''})` : ''}`;
    };
    const x = end(ra), y = end(rb);
    if (x !== y) add('status', 'status', x, y, `the run ended differently: ${A} ${x}, ${B} ${y}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// state digests
// ---------------------------------------------------------------------------------------------

function sameCounts(x: Readonly<Record<string, number>> | null | undefined, y: Readonly<Record<string, number>> | null | undefined): boolean {
  if (!x || !y) return false;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if ((x[k] ?? 0) !== (y[k] ?? 0)) return false;
  return true;
}

function countsText(x: Readonly<Record<string, number>> | null | undefined, y: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  for (const k of new Set([...Object.keys(x ?? {}), ...Object.keys(y)])) {
    const a = x?.[k] ?? 0, b = y[k] ?? 0;
    if (a !== b) parts.push(`${k} ${a} recorded, ${b} stored`);
  }
  return parts.join(', ');
}

/** Rows read per query when checking digests. */
const VERIFY_CHUNK = 16384;

/**
 * How many of the leading digests `ds[0..k)` the events stored in `r` still agree with: the events
 * before each digest must hash to its events_hash and count per kind to its kind_counts (what the
 * recorder computed as it emitted them). A disagreement means the file was changed after it was
 * recorded (or is corrupt): a note says so, and the events from there on are compared one by one.
 */
function verifiedDigests(r: TraceReader, ds: readonly DigestRow[], k: number, notes: string[]): number {
  const h = new EventHasher();
  let from = 0;
  for (let i = 0; i < k; i++) {
    const d = ds[i]!;
    for (let lo = from; lo < d.seq; lo += VERIFY_CHUNK) h.addStoredRows(r.hashedEventRows(lo, Math.min(d.seq, lo + VERIFY_CHUNK)));
    const prev = from;
    from = Math.max(from, d.seq);
    const counts = h.kindCounts();
    const what: string[] = [];
    if (h.count !== d.seq) what.push(`${h.count} events stored where ${d.seq} were recorded`);
    if (h.unknownKinds) what.push(`${h.unknownKinds} of unknown kind`);
    if (!sameCounts(counts, d.kindCounts)) what.push(`per kind: ${countsText(d.kindCounts, counts)}`);
    if (h.hex() !== d.eventsHash) what.push(`their hash is ${h.hex()}, recorded ${d.eventsHash}`);
    if (what.length) {
      notes.push(`${r.path}: the stored events #${prev}..#${d.seq - 1} are not the ones recorded before its state digest ${i + 1} (${what.join('; ')}): the file was changed after recording, or is corrupt; they are compared event by event`);
      return i;
    }
  }
  return k;
}

/** Whether an SQLite file is in rollback-journal mode (not WAL), from its header. */
function rollbackMode(path: string): boolean {
  const hdr = Buffer.alloc(20);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, hdr, 0, 20, 0) === 20 && hdr[18] === 1 && hdr[19] === 1;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const requireCjs = createRequire(import.meta.url);

/**
 * The first seq below `to` where the events stored in the two files differ, column for column and
 * byte for byte (0 when either lacks a row): null when rows 0 .. to - 1 are the same in both;
 * undefined when this cannot be asked of SQLite (a file in WAL mode, an error), and the caller
 * must read the events itself. Both files were opened by TraceReader before (they are traces); one
 * read-only connection to A with B attached (read-only too) joins them in SQLite, without
 * building an event per row in JavaScript.
 */
function firstStoredDifference(pathA: string, pathB: string, to: number): number | null | undefined {
  if (!rollbackMode(pathA) || !rollbackMode(pathB)) return undefined;
  let db: Database.Database | undefined;
  try {
    const Sqlite = requireCjs('better-sqlite3') as typeof Database;
    db = new Sqlite(pathA, { readonly: true, fileMustExist: true });
    db.prepare('ATTACH DATABASE ? AS other').run(pathB);
    const [na, nb] = db.prepare('SELECT (SELECT count(*) FROM main.events WHERE seq >= 0 AND seq < ?), (SELECT count(*) FROM other.events WHERE seq >= 0 AND seq < ?)')
      .raw(true).get(to, to) as [number, number];
    const cols = ['vtime', 'hart', 'instret', 'pc', 'priv', 'virt', 'kind', 'a', 'b', 'c', 'payload'];
    const differs = db.prepare(
      `SELECT x.seq FROM main.events x LEFT JOIN other.events y ON y.seq = x.seq WHERE x.seq >= 0 AND x.seq < ? AND ` +
      `(y.seq IS NULL OR NOT (${cols.map((c) => `x.${c} IS y.${c}`).join(' AND ')})) ORDER BY x.seq LIMIT 1`,
    ).pluck().get(to) as number | undefined;
    if (differs !== undefined) return Number(differs);
    // A row missing on one side (or both): say so from the start (the caller reads the events).
    return na === to && nb === to ? null : 0;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * The last seq both traces agree on through their state digests: the longest common prefix of
 * digests with the same instruction count, virtual time, event count, per-hart instret, state and
 * RAM hashes, and the same events before them (events_hash and kind_counts, schema 2). Equal state
 * after equal recorded events is then trusted only as far as the events stored in the two files
 * are still the same: SQLite compares their rows (firstStoredDifference); where it cannot, or
 * where the rows differ, each file's events are read and hashed against what its recorder stored
 * (verifiedDigests), which also names a file changed after recording. The comparison still
 * re-reads `context` events before the skip point.
 */
function digestSkip(a: TraceReader, b: TraceReader, notes: string[]): { seq: number; totalInstret: number; digests: number } | null {
  const da = a.digests().filter((d) => !d.final);
  const db = b.digests().filter((d) => !d.final);
  let k = 0;
  while (k < da.length && k < db.length) {
    const x = da[k]!, y = db[k]!;
    if (x.totalInstret !== y.totalInstret || x.vtime !== y.vtime || x.seq !== y.seq || x.stateHash !== y.stateHash ||
      x.ramHash !== y.ramHash || x.hartInstret.join(',') !== y.hartInstret.join(',')) break;
    if (!x.eventsHash || !y.eventsHash || x.eventsHash !== y.eventsHash || !sameCounts(x.kindCounts, y.kindCounts)) break;
    if (k > 0 && x.seq < da[k - 1]!.seq) break;
    k++;
  }
  if (k === 0 || da[k - 1]!.seq === 0) return null;
  const q = firstStoredDifference(a.path, b.path, da[k - 1]!.seq);
  if (q !== null) {
    // The stored events differ (or SQLite could not tell): trust each file only as far as its
    // events are still what its recorder hashed.
    k = verifiedDigests(a, da, k, notes);
    if (k > 0) k = verifiedDigests(b, db, k, notes);
    if (q !== undefined) {
      while (k > 0 && da[k - 1]!.seq > q) k--;
    }
  }
  if (k === 0) return null;
  const last = da[k - 1]!;
  return last.seq > 0 ? { seq: last.seq, totalInstret: last.totalInstret, digests: k } : null;
}

/** Split `--ignore` names into event fields and run areas (throws CompareError on others). */
function splitIgnore(list: readonly string[] | undefined): { fields: string[]; areas: RunArea[] } {
  const fields: string[] = [];
  const areas: RunArea[] = [];
  for (const x of list ?? []) {
    if ((RUN_AREAS as readonly string[]).includes(x)) areas.push(x as RunArea);
    else if ((EVENT_FIELDS as readonly string[]).includes(x)) fields.push(x);
    else throw new CompareError(`unknown event field "${x}" (fields: ${EVENT_FIELDS.join(', ')}; or one of ${RUN_AREAS.join(', ')})`);
  }
  return { fields, areas };
}

const isInterrupt = (e: TraceEvent): boolean => e.kind === 'trap' && BigInt.asUintN(64, e.a ?? 0n) >> 63n === 1n;

/**
 * `--kinds` presets: names for a set of kinds, some with a finer filter. `exceptions` (synchronous
 * traps only) is what compares a whole Linux boot with QEMU: interrupts land at other
 * instructions on the two emulators (see README "Comparing with QEMU").
 */
export const KIND_PRESETS: Readonly<Record<string, { kinds: EventKind[]; filter?: (e: TraceEvent) => boolean; help: string }>> = {
  exceptions: { kinds: ['trap'], filter: (e) => !isInterrupt(e), help: 'synchronous traps only (no interrupts)' },
  interrupts: { kinds: ['trap'], filter: isInterrupt, help: 'interrupt traps only' },
  traps: { kinds: ['trap', 'trap_return'], help: 'traps and trap returns' },
  sbi: { kinds: ['sbi_call'], help: 'SBI calls' },
  csr: { kinds: ['csr_write'], help: 'CSR writes' },
  vm: { kinds: ['vm_exit', 'vm_entry'], help: 'VM exits and entries' },
  io: { kinds: ['mmio', 'input', 'irq'], help: 'MMIO, UART input, interrupt lines' },
};

/** Expand presets in a --kinds list: the kinds, and the event filter (when a preset has one). */
export function expandKinds(list: readonly string[]): { kinds: EventKind[]; filter: ((e: TraceEvent) => boolean) | null; presets: string[] } {
  const kinds: string[] = [];
  const filters: ((e: TraceEvent) => boolean)[] = [];
  const presets: string[] = [];
  const plain = new Set<string>();
  for (const k of list) {
    const p = KIND_PRESETS[k];
    if (p) {
      presets.push(k);
      kinds.push(...p.kinds);
      // An event passes when a preset with a filter accepts it, or when its kind was given some other way.
      if (p.filter) filters.push(p.filter);
      else for (const x of p.kinds) plain.add(x);
    } else if ((EVENT_KINDS as readonly string[]).includes(k)) {
      kinds.push(k);
      plain.add(k);
    } else {
      throw new CompareError(`unknown event kind "${k}" (kinds: ${EVENT_KINDS.join(', ')}; presets: ${Object.keys(KIND_PRESETS).join(', ')})`);
    }
  }
  const filter = filters.length ? (e: TraceEvent) => plain.has(e.kind) || filters.some((f) => f(e)) : null;
  return { kinds: [...new Set(kinds)] as EventKind[], filter, presets };
}

function* filtered(it: Iterable<TraceEvent>, f: (e: TraceEvent) => boolean, c: { events: number; perKind: KindCounts }): Generator<TraceEvent> {
  for (const e of it) {
    if (!f(e)) continue;
    count(c, e);
    yield e;
  }
}

/** Compare two trace files. Throws TraceError (unusable input) or CompareError (bad options). */
export function diffTraces(pathA: string, pathB: string, opts: TraceDiffOptions = {}): TraceDiffReport {
  const ra = TraceReader.open(pathA);
  let rb: TraceReader;
  try {
    rb = TraceReader.open(pathB);
  } catch (e) {
    ra.close();
    throw e;
  }
  // The whole files' integrity, on threads while the comparison runs: a damaged page (an index
  // page, say) that the comparison never reads must not let "the same" through (issue 12).
  const checks = [ra, rb].map((r) => ({ path: r.path, check: r.startIntegrityCheck() }));
  try {
    const refA = referenceInfo(ra);
    const refB = referenceInfo(rb);
    const ignore = splitIgnore(opts.ignore);
    const expanded = opts.kinds && opts.kinds.length ? expandKinds(opts.kinds) : null;
    const evFilter = expanded?.filter ?? null;
    let kinds = expanded ? parseKinds(expanded.kinds) : null;
    if (!kinds && (refA || refB)) {
      // A reference expresses only some kinds: compare those (both references: the common ones).
      const ks = EVENT_KINDS.filter((k) => (!refA || refA.kinds.includes(k)) && (!refB || refB.kinds.includes(k)));
      kinds = ks;
      if (ks.length === 0) throw new CompareError('the two reference traces have no event kind in common');
    }
    const cmpOpts: CompareOptions = {
      ...opts,
      ignore: ignore.fields,
      kinds: kinds ?? undefined,
      fields: { expected: refA?.fields ?? opts.fields?.expected, actual: refB?.fields ?? opts.fields?.actual },
      drain: false,
    };
    // Images, configuration, input, console, end: between two recordings (a reference import
    // has none of them).
    const recordings = !refA && !refB && ra.config.machine !== null && rb.config.machine !== null;
    const differences = recordings ? compareRuns(ra, rb, ignore.areas) : [];
    const notes: string[] = [];
    if (recordings && ra.config.hvtraceVersion !== rb.config.hvtraceVersion) {
      notes.push(`recorded by different hvtrace versions: ${pathA} by ${ra.config.hvtraceVersion}, ${pathB} by ${rb.config.hvtraceVersion}`);
    }
    // Skip the common start through digests (both traces must be hvtrace recordings).
    let skippedTo: TraceDiffReport['skippedTo'] = null;
    let from = 0;
    let startIndex = 0;
    const context = Math.max(0, opts.context ?? 5);
    const kf = kinds ?? undefined;
    if (opts.digests !== false && !refA && !refB && !evFilter) {
      const s = digestSkip(ra, rb, notes);
      if (s) {
        // Start `context` (filtered) events before the skip point so the report has them.
        const seqBefore = (r: TraceReader): number => {
          if (context === 0) return s.seq;
          const q = r.query(
            `SELECT seq FROM events WHERE seq < ?${kf ? ` AND kind IN (${kf.map(() => '?').join(',')})` : ''} ORDER BY seq DESC LIMIT 1 OFFSET ?`,
            [s.seq, ...(kf ?? []), context - 1],
          );
          return q.rows.length ? Number(q.rows[0]![0] as bigint) : 0;
        };
        const fa = seqBefore(ra);
        const fb = seqBefore(rb);
        if (fa === fb && fa > 0) {
          from = fa;
          startIndex = ra.eventCount({ to: from, kinds: kf });
          skippedTo = s;
        }
      }
    }
    // Per-kind counts of the whole traces (the comparison stops at the divergence).
    const sideCounts = (r: TraceReader) => {
      const all = r.countsByKind() as KindCounts;
      const perKind: KindCounts = {};
      for (const k of EVENT_KINDS) if (all[k] && (!kinds || kinds.includes(k))) perKind[k] = all[k];
      return { events: r.eventCount({ kinds: kf }), perKind };
    };
    let countsA = sideCounts(ra);
    let countsB = sideCounts(rb);
    let res: CompareResult;
    if (evFilter) {
      // A preset with a finer filter (exceptions): count what passes it while comparing.
      const ca = { events: 0, perKind: {} as KindCounts }, cb = { events: 0, perKind: {} as KindCounts };
      const ia = filtered(ra.events({ kinds: kf }), evFilter, ca), ib = filtered(rb.events({ kinds: kf }), evFilter, cb);
      const pa = { [Symbol.iterator]: () => ia }, pb = { [Symbol.iterator]: () => ib };
      // Keep the generators open past the divergence to finish the counts.
      res = compareEventsSync({ [Symbol.iterator]: () => ({ next: () => ia.next() }) }, { [Symbol.iterator]: () => ({ next: () => ib.next() }) }, cmpOpts);
      for (const _ of pa) { /* count the rest */ }
      for (const _ of pb) { /* count the rest */ }
      countsA = ca;
      countsB = cb;
    } else {
      res = compareEventsSync(ra.events({ from }), rb.events({ from }), { ...cmpOpts, startIndex });
    }
    const countsDiffer = countsA.events !== countsB.events || !sameCounts(countsA.perKind, countsB.perKind);
    if (res.status === 'same' && countsDiffer && from > 0) {
      // Never "same" with different counts: the skipped part was not what its digests said.
      notes.push(`the events skipped through state digests (up to #${skippedTo!.seq}) were not equal after all: compared from the start`);
      skippedTo = null;
      res = compareEventsSync(ra.events(), rb.events(), cmpOpts);
    }
    res.summary.expected = countsA;
    res.summary.actual = countsB;
    res.summary.complete = true;
    if (res.summary.compared === 0) res.status = 'empty';
    if (res.status === 'same' && countsDiffer) {
      throw new Error(`internal: ${pathA} and ${pathB} compared equal event by event with different counts per kind`);
    }
    if (differences.length > 0 && res.status !== 'different') res.status = 'different';
    const codeA = new TraceCode(ra, { symbols: opts.symbols, autoSymbols: opts.autoSymbols });
    const codeB = new TraceCode(rb, { symbols: opts.symbols, autoSymbols: opts.autoSymbols });
    let where: TraceDiffReport['where'] = null;
    const d = res.divergence;
    let report: DivergenceReport | null = null;
    if (d) {
      const guests = (r: TraceReader) => (r.config.machine?.guests ?? []).map((g) => g.image.name);
      report = buildReport({
        pathA, pathB, ra, rb,
        a: { code: codeA, guests: guests(ra), reference: !!refA },
        b: { code: codeB, guests: guests(rb), reference: !!refB },
        expected: d.expected, actual: d.actual, before: d.before,
        runDifferences: differences, differingFields: d.differences.map((x) => x.field),
      });
    }
    if (d) {
      const at = d.expected ?? d.actual!;
      const code = d.expected ? codeA : codeB;
      // In the event's own address space: a guest pc (V = 1, vm_exit) is read from the guest.
      const own = code.forEvent(at);
      const symbol = own.symbol ?? (d.expected ? codeB : codeA).forEvent(at).symbol;
      where = { pc: at.pc, ...(symbol ? { symbol } : {}), ...(own.insn ? { insn: own.insn } : {}) };
    }
    if (expanded?.presets.length) res.summary.presets = expanded.presets;
    for (const { path, check } of checks) {
      const damaged = check.result();
      if (damaged) throw new TraceError(`${path}: ${damaged}`);
    }
    return { ...res, a: pathA, b: pathB, differences, skippedTo, notes, reference: { a: refA, b: refB }, where, codeA, codeB, report };
  } finally {
    for (const { check } of checks) check.cancel();
    ra.close();
    rb.close();
  }
}
