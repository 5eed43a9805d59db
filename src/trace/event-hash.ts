/**
 * The running hash of a trace's events that the recorder stores with every state digest (schema
 * 2: digests.events_hash, digests.kind_counts), so that a differ that skips the events between
 * two equal digests knows the skipped events were equal too, and can check that the events stored
 * in a file are still the ones its recorder emitted.
 *
 * The hash is computed over the values as they are stored, so the two sides give the same value:
 *  - `EventHasher.addColumns(batch, from, to)`: the recorder, from its EventBatch columns as the
 *    events are emitted (a few multiply-xor steps per event; payloads are hashed from their
 *    msgpack bytes, cached per shared payload object);
 *  - `EventHasher.addStoredRows(rows)`: a reader, from rows of `STORED_EVENT_COLUMNS`
 *    (TraceReader.hashedEventRows).
 *
 * Per event, in order, 32-bit words: kind code | present << 8 | virt << 12 | hart << 16; priv;
 * seq, vtime, instret, pc (low word, high word each; pc as the signed 64-bit value); a, b, c
 * (low, high) for those present; the payload's byte length (-1 when NULL) and a 64-bit hash of
 * its bytes. Each word goes through two 32-bit lanes (multiply, rotate, and the second lane adds
 * the first): every step is a bijection of the state for a given word, so an event that differs
 * in one word always changes the final hash; other differences collide with probability ~2^-64.
 * Not cryptographic: it detects differences and corruption, not an adversary who also rewrites
 * the digests.
 *
 * kind counts: the number of events of each kind hashed so far (cumulative, like the hash).
 */
import { EVENT_KINDS, KIND_CODE, type EventBatch, type EventKind } from './model.js';
import { payloadBytes, HASHED_EVENT_COLUMNS } from './store.js';

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;
const TWO32 = 4294967296;
/** Kind code hashed for a stored kind name that is not a known kind. */
const UNKNOWN_KIND = 0xff;

/** The columns `addStoredRows` expects, in order (a SELECT list over `events`). */
export const STORED_EVENT_COLUMNS = HASHED_EVENT_COLUMNS;

/** What addColumns reads: the columns of an EventBatch (model.ts). */
export type HashableColumns = Pick<EventBatch, 'seq' | 'vtime' | 'instret' | 'pc' | 'hart' | 'priv' | 'virt' | 'kind' |
  'present' | 'a32' | 'b32' | 'c32' | 'payload'>;

/** The hash of a payload's bytes: [length, lane 1, lane 2]. */
type PayloadHash = readonly [number, number, number];
const payloadHashes = new WeakMap<object, PayloadHash>();
const NO_PAYLOAD: PayloadHash = [-1, 0, 0];

function bytesHash(b: Uint8Array): PayloadHash {
  let x = 0x9e3779b9 | 0, y = 0x7f4a7c15 | 0;
  const n = b.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    x = Math.imul(x ^ w, 0x01000193);
    x = (x << 13) | (x >>> 19);
    y = Math.imul(y ^ w, 0x5bd1e995);
    y = ((y << 17) | (y >>> 15)) + x | 0;
  }
  let w = 0;
  for (let s = 0; i < n; i++, s += 8) w |= b[i]! << s;
  x = Math.imul(x ^ w, 0x01000193);
  y = (Math.imul(y ^ w, 0x5bd1e995) + x) | 0;
  return [n, x, y];
}

/** Rows per mixing pass (the words of CHUNK events are laid out, then mixed in one loop). */
const CHUNK = 256;
/** At most 21 words per event. */
const MAX_WORDS = 24;
const KIND_BY_NAME = new Map<string, number>(EVENT_KINDS.map((k) => [k, KIND_CODE[k as EventKind]]));

export class EventHasher {
  private h1 = 0x243f6a88 | 0;
  private h2 = 0x85a308d3 | 0;
  /** Events hashed. */
  count = 0;
  /** Events hashed per kind code (index in EVENT_KINDS; unknown kinds are not counted). */
  readonly byKind = new Float64Array(EVENT_KINDS.length);
  /** Rows whose kind name is not a known kind. */
  unknownKinds = 0;
  private lastPayload: object | null = null;
  private lastPayloadHash: PayloadHash = NO_PAYLOAD;
  private readonly w = new Int32Array(CHUNK * MAX_WORDS);

  /** Mix words w[0..n) into the state. */
  private mix(n: number): void {
    const w = this.w;
    let x = this.h1, y = this.h2;
    for (let j = 0; j < n; j++) {
      const v = w[j]!;
      x = Math.imul(x ^ v, 0x01000193);
      x = (x << 13) | (x >>> 19);
      y = Math.imul(y ^ v, 0x5bd1e995);
      y = ((y << 17) | (y >>> 15)) + x | 0;
    }
    this.h1 = x;
    this.h2 = y;
  }

  /** Rows [from, to) of an event batch (the recorder's columns). */
  addColumns(b: HashableColumns, from: number, to: number): void {
    const byKind = this.byKind;
    const w = this.w;
    for (let c = from; c < to; c += CHUNK) {
      const end = Math.min(to, c + CHUNK);
      let n = 0;
      for (let i = c; i < end; i++) {
        const p = b.present[i]!;
        const k = b.kind[i]!;
        w[n++] = (k & 0xff) | ((p & 0xf) << 8) | ((b.virt[i]! & 0xf) << 12) | (b.hart[i]! << 16);
        w[n++] = b.priv[i]!;
        let v = b.seq[i]!;
        w[n++] = v >>> 0; w[n++] = Math.floor(v / TWO32);
        v = b.vtime[i]!;
        w[n++] = v >>> 0; w[n++] = Math.floor(v / TWO32);
        v = b.instret[i]!;
        w[n++] = v >>> 0; w[n++] = Math.floor(v / TWO32);
        v = b.pc[i]!;
        w[n++] = v >>> 0; w[n++] = Math.floor(v / TWO32);
        const j = 2 * i;
        if (p & 1) { w[n++] = b.a32[j + LO]!; w[n++] = b.a32[j + HI]!; }
        if (p & 2) { w[n++] = b.b32[j + LO]!; w[n++] = b.b32[j + HI]!; }
        if (p & 4) { w[n++] = b.c32[j + LO]!; w[n++] = b.c32[j + HI]!; }
        const ph = this.payloadOf(b.payload[i] ?? null);
        w[n++] = ph[0];
        if (ph[0] >= 0) { w[n++] = ph[1]; w[n++] = ph[2]; }
        if (k < byKind.length) byKind[k]!++;
      }
      this.mix(n);
    }
    this.count += to - from;
  }

  private payloadOf(p: Readonly<Record<string, unknown>> | null): PayloadHash {
    if (p === null) return NO_PAYLOAD;
    if (p === this.lastPayload) return this.lastPayloadHash;
    let h = payloadHashes.get(p);
    if (h === undefined) {
      h = bytesHash(payloadBytes(p)!);
      // Shared (frozen) payload objects are met again and again; the others once.
      if (Object.isFrozen(p)) payloadHashes.set(p, h);
    }
    this.lastPayload = p;
    this.lastPayloadHash = h;
    return h;
  }

  /** Stored rows of STORED_EVENT_COLUMNS, read with plain (not safe) integers. */
  addStoredRows(rows: readonly unknown[][]): void {
    const byKind = this.byKind;
    const w = this.w;
    for (let c = 0; c < rows.length; c += CHUNK) {
      const end = Math.min(rows.length, c + CHUNK);
      let n = 0;
      for (let i = c; i < end; i++) {
        const r = rows[i]!;
        const code = KIND_BY_NAME.get(r[8] as string);
        const present = (r[9] !== null ? 1 : 0) | (r[11] !== null ? 2 : 0) | (r[13] !== null ? 4 : 0);
        w[n++] = ((code ?? UNKNOWN_KIND) & 0xff) | (present << 8) | ((Number(r[7]) & 0xf) << 12) | (Number(r[2]) << 16);
        w[n++] = Number(r[6]);
        for (const col of [0, 1, 3]) {
          const v = Number(r[col]);
          w[n++] = v >>> 0; w[n++] = Math.floor(v / TWO32);
        }
        w[n++] = Number(r[4]); w[n++] = Number(r[5]);
        if (present & 1) { w[n++] = Number(r[9]); w[n++] = Number(r[10]); }
        if (present & 2) { w[n++] = Number(r[11]); w[n++] = Number(r[12]); }
        if (present & 4) { w[n++] = Number(r[13]); w[n++] = Number(r[14]); }
        const pay = r[15];
        const ph = pay instanceof Uint8Array ? bytesHash(pay) : NO_PAYLOAD;
        w[n++] = ph[0];
        if (ph[0] >= 0) { w[n++] = ph[1]; w[n++] = ph[2]; }
        if (code === undefined) this.unknownKinds++;
        else byKind[code]!++;
      }
      this.mix(n);
    }
    this.count += rows.length;
  }

  /** The hash so far, 16 hex digits. */
  hex(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** Events per kind so far, by name (kinds with none left out), in EVENT_KINDS order. */
  kindCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    EVENT_KINDS.forEach((k, i) => { if (this.byKind[i]) out[k] = this.byKind[i]!; });
    return out;
  }
}

