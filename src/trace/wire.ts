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
import { sliceColumns, words, type EventBatch, type EventColumns } from './model.js';
import { payloadBytes } from './store.js';

export interface WireBatchMsg extends EventColumns {
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
  /** EventBatch.widePc: rows and their exact pcs. */
  widePcRows: Int32Array;
  widePcVals: BigInt64Array;
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
      ...sliceColumns(b, n),
      ref,
      firstNewId,
      newPay,
      inline: this.scratch.slice(0, used),
      inlineOff: Int32Array.from(inlineOff),
      widePcRows: Int32Array.from(b.widePc.keys()),
      widePcVals: BigInt64Array.from(b.widePc.values()),
    };
  }
}

/** The receiving side of a WireEncoder: keeps the payload dictionary. */
export class WireDecoder {
  private readonly dict: Buffer[] = [];

  decode(m: WireBatchMsg): WireBatch {
    if (m.firstNewId !== this.dict.length) throw new Error(`internal: payload dictionary out of step (${m.firstNewId} != ${this.dict.length})`);
    for (const p of m.newPay) this.dict.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    const dict = this.dict, ref = m.ref, off = m.inlineOff;
    const inline = Buffer.from(m.inline.buffer, m.inline.byteOffset, m.inline.byteLength);
    const wide = new Map<number, bigint>();
    m.widePcRows.forEach((r, k) => wide.set(r, m.widePcVals[k]!));
    return {
      ...m,
      a32: words(m.a), b32: words(m.b), c32: words(m.c),
      widePcAt: (i: number): bigint | undefined => (wide.size === 0 ? undefined : wide.get(i)),
      payloadBytesAt(i: number): Buffer | null {
        const r = ref[i]!;
        if (r === -1) return null;
        if (r >= 0) return dict[r]!;
        const j = -2 - r;
        return inline.subarray(off[j]!, off[j + 1]!);
      },
    };
  }
}

/** A received batch: the columns TraceWriter reads, their int32 words, and the payloads as bytes. */
export interface WireBatch extends EventColumns {
  readonly a32: Int32Array;
  readonly b32: Int32Array;
  readonly c32: Int32Array;
  /** The exact pc of row i when it is beyond ±2^53 (EventBatch.widePcAt). */
  widePcAt(i: number): bigint | undefined;
  payloadBytesAt(i: number): Buffer | null;
}
