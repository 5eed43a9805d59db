/**
 * An EventBatch as a message to the trace-writer thread (src/trace/writer-thread.ts).
 *
 * The recorder reuses one EventBatch, so a batch is copied out: each column is sliced to the
 * batch's length, and the payloads are msgpack-encoded here. Most events share a handful of
 * frozen constant payloads: those get dictionary ids and travel once, so the writer binds the
 * same Buffer for them every time; the rest travel inline. Bytes, not objects: structured clone
 * would walk every payload object.
 *
 * ```ts
 * new WireEncoder().encode(b: EventBatch): WireBatchMsg      // recorder side, one per writer
 * new WireDecoder().decode(msg): WireBatch                   // writer side: the same columns as
 *                                                            // EventBatch, payloadBytesAt(i)
 * ```
 */
import type { EventBatch } from './model.js';
import { payloadBytes } from './store.js';

export interface WireBatchMsg {
  length: number;
  seq: Float64Array;
  vtime: Float64Array;
  instret: Float64Array;
  pc: Float64Array;
  hart: Uint8Array;
  priv: Uint8Array;
  virt: Uint8Array;
  kind: Uint8Array;
  present: Uint8Array;
  a: BigInt64Array;
  b: BigInt64Array;
  c: BigInt64Array;
  /**
   * Payload of event i: ref[i] = -1 none; >= 0 dictionary id (WireDecoder); <= -2 inline
   * payload j = -2 - ref[i], the bytes inline[inlineOff[j] .. inlineOff[j + 1]).
   */
  ref: Int32Array;
  /** Dictionary ids firstNewId, firstNewId + 1, ... are defined by this batch: newPay. */
  firstNewId: number;
  newPay: Uint8Array[];
  inline: Uint8Array;
  inlineOff: Int32Array;
}

/**
 * Encodes the recorder's batches for one writer thread. Frozen payloads (the recorder's shared
 * constants: nearly every event's) get a dictionary id the first time they are seen, and their
 * bytes travel once; other payloads travel inline, msgpack-encoded.
 */
export class WireEncoder {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private scratch = new Uint8Array(1 << 16);

  encode(b: EventBatch): WireBatchMsg {
    const n = b.length;
    const ref = new Int32Array(n);
    const inlineOff: number[] = [0];
    const newPay: Uint8Array[] = [];
    const firstNewId = this.nextId;
    let used = 0;
    for (let i = 0; i < n; i++) {
      const p = b.payload[i];
      if (p === null || p === undefined) {
        ref[i] = -1;
        continue;
      }
      const id = this.ids.get(p);
      if (id !== undefined) {
        ref[i] = id;
        continue;
      }
      const bytes = payloadBytes(p)!;
      if (Object.isFrozen(p)) {
        ref[i] = this.nextId++;
        this.ids.set(p, ref[i]!);
        newPay.push(Uint8Array.from(bytes));
        continue;
      }
      if (used + bytes.length > this.scratch.length) {
        const bigger = new Uint8Array(Math.max(this.scratch.length * 2, used + bytes.length));
        bigger.set(this.scratch.subarray(0, used));
        this.scratch = bigger;
      }
      ref[i] = -2 - (inlineOff.length - 1);
      this.scratch.set(bytes, used);
      used += bytes.length;
      inlineOff.push(used);
    }
    return {
      length: n,
      seq: b.seq.slice(0, n),
      vtime: b.vtime.slice(0, n),
      instret: b.instret.slice(0, n),
      pc: b.pc.slice(0, n),
      hart: b.hart.slice(0, n),
      priv: b.priv.slice(0, n),
      virt: b.virt.slice(0, n),
      kind: b.kind.slice(0, n),
      present: b.present.slice(0, n),
      a: b.a.slice(0, n),
      b: b.b.slice(0, n),
      c: b.c.slice(0, n),
      ref,
      firstNewId,
      newPay,
      inline: this.scratch.slice(0, used),
      inlineOff: Int32Array.from(inlineOff),
    };
  }
}

/** The receiving side of a WireEncoder: keeps the payload dictionary. */
export class WireDecoder {
  private readonly dict: Buffer[] = [];

  decode(m: WireBatchMsg): WireBatch {
    if (m.firstNewId !== this.dict.length) throw new Error(`internal: payload dictionary out of step (${m.firstNewId} != ${this.dict.length})`);
    for (const p of m.newPay) this.dict.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    return new WireBatch(m, this.dict);
  }
}

/** A received batch: the columns TraceWriter reads, with payloads already encoded. */
export class WireBatch {
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
  readonly a32: Int32Array;
  readonly b32: Int32Array;
  readonly c32: Int32Array;
  private readonly ref: Int32Array;
  private readonly inline: Buffer;
  private readonly inlineOff: Int32Array;
  private readonly dict: readonly Buffer[];

  constructor(m: WireBatchMsg, dict: readonly Buffer[]) {
    this.length = m.length;
    this.seq = m.seq;
    this.vtime = m.vtime;
    this.instret = m.instret;
    this.pc = m.pc;
    this.hart = m.hart;
    this.priv = m.priv;
    this.virt = m.virt;
    this.kind = m.kind;
    this.present = m.present;
    this.a = m.a;
    this.b = m.b;
    this.c = m.c;
    this.a32 = new Int32Array(m.a.buffer, m.a.byteOffset, m.a.length * 2);
    this.b32 = new Int32Array(m.b.buffer, m.b.byteOffset, m.b.length * 2);
    this.c32 = new Int32Array(m.c.buffer, m.c.byteOffset, m.c.length * 2);
    this.ref = m.ref;
    this.inline = Buffer.from(m.inline.buffer, m.inline.byteOffset, m.inline.byteLength);
    this.inlineOff = m.inlineOff;
    this.dict = dict;
  }

  payloadBytesAt(i: number): Buffer | null {
    const r = this.ref[i]!;
    if (r === -1) return null;
    if (r >= 0) return this.dict[r]!;
    const j = -2 - r;
    return this.inline.subarray(this.inlineOff[j]!, this.inlineOff[j + 1]!);
  }
}
