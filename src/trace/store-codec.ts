/**
 * The trace store's codecs (src/trace/store.ts is the API): msgpack for events.payload and
 * checkpoint state, a stored events row as a TraceEvent, and the JSON text of decoded values.
 */
// msgpackr's plain JS codec: the package's main entry also loads a native string extractor
// (~20 ms of start-up) that only speeds up decoding long strings; payloads are small maps.
import { Packr } from 'msgpackr/pack';
import { type EventKind, type TraceEvent } from './model.js';
import { TraceError } from './store-schema.js';

// ---------------------------------------------------------------------------------------------
// payload codec
// ---------------------------------------------------------------------------------------------

/** msgpack without records: plain maps. BigInts are written as 64-bit ints and read back as bigint. */
const packr = new Packr({ useRecords: false, variableMapSize: true });

export function encodePayload(p: Readonly<Record<string, unknown>>): Buffer {
  return packr.pack(p);
}
export function decodePayload(buf: Uint8Array): Record<string, unknown> {
  return packr.unpack(buf) as Record<string, unknown>;
}
export function encodeState(v: unknown): Buffer {
  return packr.pack(v);
}
export function decodeState(buf: Uint8Array): unknown {
  return packr.unpack(buf);
}

/** Cache of encoded frozen payloads (the recorder's shared constants). */
const frozenPayloads = new WeakMap<object, Buffer>();
export function payloadBytes(p: Readonly<Record<string, unknown>> | null): Buffer | null {
  if (p === null) return null;
  let b = frozenPayloads.get(p);
  if (b !== undefined) return b;
  b = packr.pack(p) as Buffer;
  if (Object.isFrozen(p)) {
    b = Buffer.from(b);
    frozenPayloads.set(p, b);
  }
  return b;
}

export type Row = unknown[];
const U64 = (v: unknown): bigint => BigInt.asUintN(64, v as bigint);
export const num = (v: unknown): number => Number(v as bigint);

/** A stored payload, decoded; a TraceError naming the event when it is not a msgpack map. */
function eventPayload(buf: Buffer, seq: number, path: string): Record<string, unknown> {
  let p: unknown;
  try {
    p = decodePayload(buf);
  } catch {
    throw new TraceError(`${path}: event #${seq} has a corrupt payload`);
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p) || p instanceof Uint8Array) throw new TraceError(`${path}: event #${seq} has a corrupt payload`);
  return p as Record<string, unknown>;
}

export function rowToEvent(r: Row, path: string): TraceEvent {
  return {
    seq: num(r[0]),
    vtime: num(r[1]),
    hart: num(r[2]),
    instret: num(r[3]),
    pc: U64(r[4]),
    priv: num(r[5]),
    virt: num(r[6]) !== 0,
    kind: r[7] as EventKind,
    a: r[8] === null ? null : U64(r[8]),
    b: r[9] === null ? null : U64(r[9]),
    c: r[10] === null ? null : U64(r[10]),
    payload: r[11] === null ? null : eventPayload(r[11] as Buffer, num(r[0]), path),
  };
}

/** JSON text of a decoded payload; bigints as (unsigned decimal) numbers, bytes as hex strings. */
export function toJson(v: unknown): string {
  const BIG = '\u0000big:';
  const s = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${BIG}${x.toString()}`;
    if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
    return x;
  });
  return s.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}
