/**
 * The trace event model (DESIGN.md §4). One event per architecturally interesting thing a hart
 * or the board does. Typed columns a/b/c hold what people query; the msgpack payload holds the
 * rest. 64-bit values are bigints (unsigned), stored as SQLite INTEGER (signed 64-bit
 * two's complement, read back with safe integers).
 *
 * The kinds, and per kind what pc / priv / virt and a / b / c mean (under the kind's field
 * names: a trap's a is its `cause`), its payload, view, rendering and QEMU mapping, are declared
 * once in src/trace/event-kinds.ts; this module takes the kind list from there.
 *
 * Common columns: `vtime` = the hart's own virtual time (instructions) at the event; `instret` =
 * the hart's retired-instruction count (`Hart.instret`: a trapping instruction does not retire);
 * `priv` = the privilege the hart was in when the event happened (for a trap: the privilege it
 * was taken FROM; for trap_return: the privilege executing the xRET); `virt` = the V bit (H
 * extension) at the event: for a trap the V it was taken from, for an xRET the V it ran in, 1
 * for an SBI call the hypervisor handled for a guest. Empty (absent) a/b/c are NULL; kinds
 * without a payload store NULL.
 */
import { EVENT_KIND_TABLE, HART_STATES, type EventKind } from './event-kinds.js';
import { PRIV_NAMES } from './names.js';

export type { EventKind };
export { PRIV_NAMES };

/** The kinds, in kind-code order (src/trace/event-kinds.ts). */
export const EVENT_KINDS: readonly EventKind[] = Object.freeze(EVENT_KIND_TABLE.map((s) => s.kind));

export interface TraceEvent {
  /** Global order of events in the run, from 0. */
  seq: number;
  /** Virtual time in instructions (the hart's own time for hart events). */
  vtime: number;
  hart: number;
  /** The hart's retired-instruction count at the event. */
  instret: number;
  pc: bigint;
  priv: number;
  virt: boolean;
  kind: EventKind;
  a: bigint | null;
  b: bigint | null;
  c: bigint | null;
  payload: Record<string, unknown> | null;
}

/** Numeric code of each kind (index in EVENT_KINDS): used by EventBatch. */
export const KIND_CODE: Readonly<Record<EventKind, number>> = Object.freeze(
  Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i])) as Record<EventKind, number>,
);

/** hart_state codes (column a, `state`: src/trace/event-kinds.ts HART_STATES). */
export const HART_STATE_CODE: { readonly [S in (typeof HART_STATES)[number]]: number } = Object.freeze(
  Object.fromEntries(HART_STATES.map((s, i) => [s, i])) as { [S in (typeof HART_STATES)[number]]: number },
);

/**
 * The columns of a batch of events: an EventBatch, and the copies of one that travel between
 * threads (the writer thread's batches, src/trace/wire.ts; the replay feed's, event-feed.ts).
 * Layout as described for EventBatch below.
 */
export interface EventColumns {
  readonly length: number;
  readonly seq: Float64Array;
  readonly vtime: Float64Array;
  readonly instret: Float64Array;
  readonly pc: Float64Array;
  readonly hart: Uint8Array;
  readonly priv: Uint8Array;
  readonly virt: Uint8Array;
  readonly kind: Uint8Array;
  readonly present: Uint8Array;
  readonly a: BigInt64Array;
  readonly b: BigInt64Array;
  readonly c: BigInt64Array;
}

/** Empty columns for n events. */
export function newColumns(n: number): EventColumns {
  return {
    length: n,
    seq: new Float64Array(n), vtime: new Float64Array(n), instret: new Float64Array(n), pc: new Float64Array(n),
    hart: new Uint8Array(n), priv: new Uint8Array(n), virt: new Uint8Array(n), kind: new Uint8Array(n),
    present: new Uint8Array(n), a: new BigInt64Array(n), b: new BigInt64Array(n), c: new BigInt64Array(n),
  };
}

/** Int32 view of a 64-bit column: the low word of row i at 2i, the high word at 2i + 1. */
export function words(col: BigInt64Array): Int32Array {
  return new Int32Array(col.buffer, col.byteOffset, col.length * 2);
}

/**
 * A batch of events in columns (struct of arrays), reused by the recorder so that recording
 * allocates almost nothing per event. Row i is event `seq[i]`. Consumers must use a batch
 * synchronously (the recorder clears and refills it after the sink returns); `get(i)` makes a
 * TraceEvent object when one is wanted.
 *
 * Representation: `pc` holds the signed 64-bit pc as a JS number, exact below 2^53 in
 * magnitude; the rare rows whose pc is beyond (Sv57's upper user range) also have the exact
 * value in `widePc`, which is what the trace stores (digests and comparisons use the number,
 * rounded alike on every side); a/b/c hold the 64-bit values as signed BigInt64 (the SQLite
 * representation) with bit k of `present[i]` telling whether column k (a=1, b=2, c=4) is
 * non-NULL; `kind` is KIND_CODE; `payload` holds plain objects (often shared, frozen constants:
 * never mutate them).
 */
export class EventBatch implements EventColumns {
  readonly capacity: number;
  length = 0;
  readonly seq: Float64Array;
  readonly vtime: Float64Array;
  readonly instret: Float64Array;
  readonly pc: Float64Array;
  readonly hart: Uint8Array;
  readonly priv: Uint8Array;
  readonly virt: Uint8Array;
  readonly kind: Uint8Array;
  readonly present: Uint8Array;
  readonly a: BigInt64Array;
  readonly b: BigInt64Array;
  readonly c: BigInt64Array;
  /** Int32 views of a/b/c (low word at 2i, high word at 2i+1): small values without a BigInt. */
  readonly a32: Int32Array;
  readonly b32: Int32Array;
  readonly c32: Int32Array;
  readonly payload: (Readonly<Record<string, unknown>> | null)[];
  /** Row -> the exact signed pc, for rows whose pc is beyond ±2^53 (see above). */
  readonly widePc = new Map<number, bigint>();

  constructor(capacity = 4096) {
    this.capacity = capacity;
    this.seq = new Float64Array(capacity);
    this.vtime = new Float64Array(capacity);
    this.instret = new Float64Array(capacity);
    this.pc = new Float64Array(capacity);
    this.hart = new Uint8Array(capacity);
    this.priv = new Uint8Array(capacity);
    this.virt = new Uint8Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.present = new Uint8Array(capacity);
    this.a = new BigInt64Array(capacity);
    this.b = new BigInt64Array(capacity);
    this.c = new BigInt64Array(capacity);
    this.a32 = words(this.a);
    this.b32 = words(this.b);
    this.c32 = words(this.c);
    this.payload = new Array<Readonly<Record<string, unknown>> | null>(capacity).fill(null);
  }

  clear(): void {
    this.payload.fill(null, 0, this.length);
    this.length = 0;
    this.widePc.clear();
  }
  /** The exact pc of row i when it is beyond ±2^53, else undefined (the pc column is exact). */
  widePcAt(i: number): bigint | undefined {
    return this.widePc.size === 0 ? undefined : this.widePc.get(i);
  }

  /** Append one event given as an object (importers, tests). Returns false when full. */
  push(e: TraceEvent): boolean {
    const i = this.length;
    if (i >= this.capacity) return false;
    this.seq[i] = e.seq;
    this.vtime[i] = e.vtime;
    this.instret[i] = e.instret;
    this.pc[i] = pcToNumber(e.pc);
    if (!Number.isSafeInteger(this.pc[i])) this.widePc.set(i, BigInt.asIntN(64, e.pc));
    this.hart[i] = e.hart;
    this.priv[i] = e.priv;
    this.virt[i] = e.virt ? 1 : 0;
    this.kind[i] = KIND_CODE[e.kind];
    let p = 0;
    if (e.a !== null) { this.a[i] = e.a; p |= 1; }
    if (e.b !== null) { this.b[i] = e.b; p |= 2; }
    if (e.c !== null) { this.c[i] = e.c; p |= 4; }
    this.present[i] = p;
    this.payload[i] = e.payload;
    this.length = i + 1;
    return true;
  }

  /** Row i as a TraceEvent (64-bit values unsigned). */
  get(i: number): TraceEvent {
    const p = this.present[i]!;
    return {
      seq: this.seq[i]!,
      vtime: this.vtime[i]!,
      hart: this.hart[i]!,
      instret: this.instret[i]!,
      pc: BigInt.asUintN(64, this.widePcAt(i) ?? BigInt(this.pc[i]!)),
      priv: this.priv[i]!,
      virt: this.virt[i] !== 0,
      kind: EVENT_KINDS[this.kind[i]!]!,
      a: p & 1 ? BigInt.asUintN(64, this.a[i]!) : null,
      b: p & 2 ? BigInt.asUintN(64, this.b[i]!) : null,
      c: p & 4 ? BigInt.asUintN(64, this.c[i]!) : null,
      payload: (this.payload[i] ?? null) as Record<string, unknown> | null,
    };
  }

  toArray(): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.get(i));
    return out;
  }
}

/** A 64-bit pc (unsigned bigint) as the signed JS number used in EventBatch. */
export function pcToNumber(pc: bigint): number {
  return Number(BigInt.asIntN(64, pc));
}

/**
 * Field-by-field comparison of two events. Returns the names of the fields that differ (empty
 * when equal). Payloads are compared structurally (bigints by value, arrays and objects
 * recursively), so an event made by the recorder and one read back from a trace compare equal.
 */
export function eventDiff(x: TraceEvent, y: TraceEvent): string[] {
  const d: string[] = [];
  if (x.seq !== y.seq) d.push('seq');
  if (x.vtime !== y.vtime) d.push('vtime');
  if (x.hart !== y.hart) d.push('hart');
  if (x.instret !== y.instret) d.push('instret');
  if (x.pc !== y.pc) d.push('pc');
  if (x.priv !== y.priv) d.push('priv');
  if (x.virt !== y.virt) d.push('virt');
  if (x.kind !== y.kind) d.push('kind');
  if (x.a !== y.a) d.push('a');
  if (x.b !== y.b) d.push('b');
  if (x.c !== y.c) d.push('c');
  if (!valueEqual(x.payload, y.payload)) d.push('payload');
  return d;
}

export function valueEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (x instanceof Uint8Array || y instanceof Uint8Array) {
    if (!(x instanceof Uint8Array && y instanceof Uint8Array) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  const kx = Object.keys(x as object), ky = Object.keys(y as object);
  if (kx.length !== ky.length) return false;
  for (const k of kx) {
    if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
    if (!valueEqual((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k])) return false;
  }
  return true;
}

