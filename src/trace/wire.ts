/**
 * An EventBatch as a message to the trace-writer thread (src/trace/writer-thread.ts).
 *
 * The recorder reuses one EventBatch, so a batch is copied out: its columns, cut to the batch's
 * length, into one SharedArrayBuffer of a reused ring (posted, it is shared, not cloned), and its
 * payloads msgpack-encoded. Most events share a handful of
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
import { words, type EventBatch, type EventColumns } from './model.js';
import { payloadBytes } from './store-codec.js';

export interface WireBatchMsg {
  /**
   * The batch's columns and payload bytes, laid out by `wireViews` in one SharedArrayBuffer:
   * posting it shares the memory instead of cloning a dozen typed arrays (measured: ~2 ms per
   * 4096-event batch cloned on a loaded host, ~0.03 ms shared).
   */
  sab: SharedArrayBuffer;
  length: number;
  /** Inline payloads in the batch, exact pcs (EventBatch.widePc), inline payload bytes. */
  inlineCount: number;
  wideCount: number;
  inlineBytes: number;
  /** Dictionary ids firstNewId, firstNewId + 1, ... are defined by this batch: newPay. */
  firstNewId: number;
  newPay: Uint8Array[];
}

/** The views of a WireBatchMsg's buffer. */
interface WireViews extends EventColumns {
  /**
   * Payload of event i: ref[i] = -1 none; >= 0 dictionary id (WireDecoder); <= -2 inline
   * payload j = -2 - ref[i], the bytes inline[inlineOff[j] .. inlineOff[j + 1]).
   */
  ref: Int32Array;
  inlineOff: Int32Array;
  inline: Uint8Array;
  widePcRows: Int32Array;
  widePcVals: BigInt64Array;
}

/**
 * The one layout both sides use: 8-byte columns first, then 4-byte, then bytes, so every view is
 * aligned. With `sab` null it only measures (the returned number is the bytes needed).
 */
function wireViews(sab: SharedArrayBuffer, m: Omit<WireBatchMsg, 'sab' | 'firstNewId' | 'newPay'>): WireViews;
function wireViews(sab: null, m: Omit<WireBatchMsg, 'sab' | 'firstNewId' | 'newPay'>): number;
function wireViews(sab: SharedArrayBuffer | null, m: Omit<WireBatchMsg, 'sab' | 'firstNewId' | 'newPay'>): WireViews | number {
  const n = m.length, w = m.wideCount;
  let off = 0;
  const take = <T>(make: (buf: SharedArrayBuffer, o: number, len: number) => T, len: number, size: number): T => {
    const v = sab === null ? (null as T) : make(sab, off, len);
    off += len * size;
    return v;
  };
  const f64 = (b: SharedArrayBuffer, o: number, l: number) => new Float64Array(b, o, l);
  const i64 = (b: SharedArrayBuffer, o: number, l: number) => new BigInt64Array(b, o, l);
  const i32 = (b: SharedArrayBuffer, o: number, l: number) => new Int32Array(b, o, l);
  const u8 = (b: SharedArrayBuffer, o: number, l: number) => new Uint8Array(b, o, l);
  const v: WireViews = {
    length: n,
    seq: take(f64, n, 8), vtime: take(f64, n, 8), instret: take(f64, n, 8), pc: take(f64, n, 8),
    a: take(i64, n, 8), b: take(i64, n, 8), c: take(i64, n, 8), widePcVals: take(i64, w, 8),
    ref: take(i32, n, 4), inlineOff: take(i32, m.inlineCount + 1, 4), widePcRows: take(i32, w, 4),
    hart: take(u8, n, 1), priv: take(u8, n, 1), virt: take(u8, n, 1), kind: take(u8, n, 1), present: take(u8, n, 1),
    inline: take(u8, m.inlineBytes, 1),
  };
  return sab === null ? off : v;
}

/**
 * Encodes the recorder's batches for one writer thread. Frozen payloads (the recorder's shared
 * constants: nearly every event's) get a dictionary id the first time they are seen, and their
 * bytes travel once; other payloads travel inline, msgpack-encoded.
 *
 * The buffers are a ring of `ring` SharedArrayBuffers reused in turn: a message's memory stays
 * valid until `ring` more batches were encoded, so the sender must not be more than `ring - 1`
 * batches ahead of the receiver when it encodes (ThreadedTraceWriter's back-pressure).
 */
export class WireEncoder {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private scratch = new Uint8Array(1 << 16);
  private refs = new Int32Array(0);
  private readonly slots: (SharedArrayBuffer | null)[];
  private slot = 0;

  constructor(ring = 32) {
    this.slots = new Array<SharedArrayBuffer | null>(ring).fill(null);
  }

  encode(b: EventBatch): WireBatchMsg {
    const n = b.length;
    if (this.refs.length < n) this.refs = new Int32Array(b.capacity);
    const ref = this.refs;
    const inlineOff: number[] = [0];
    const newPay: Uint8Array[] = [];
    const firstNewId = this.nextId;
    let used = 0;
    // Runs of events share one payload object (csr_write's { who: 'insn' }): one lookup per run.
    let lastP: object | null = null, lastId = -1;
    for (let i = 0; i < n; i++) {
      const p = b.payload[i];
      if (p === null || p === undefined) {
        ref[i] = -1;
        continue;
      }
      if (p === lastP) {
        ref[i] = lastId;
        continue;
      }
      const id = this.ids.get(p);
      if (id !== undefined) {
        ref[i] = id;
        lastP = p;
        lastId = id;
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
    const shape = { length: n, inlineCount: inlineOff.length - 1, wideCount: b.widePc.size, inlineBytes: used };
    const need = wireViews(null, shape);
    const k = this.slot;
    this.slot = (k + 1) % this.slots.length;
    let sab = this.slots[k];
    if (sab === null || sab.byteLength < need) {
      // A full batch of events with room for inline payloads: most batches fit the first one.
      sab = new SharedArrayBuffer(Math.max(need, wireViews(null, { length: b.capacity, inlineCount: 0, wideCount: 0, inlineBytes: 1 << 16 })));
      this.slots[k] = sab;
    }
    const v = wireViews(sab, shape);
    v.seq.set(b.seq.subarray(0, n)); v.vtime.set(b.vtime.subarray(0, n));
    v.instret.set(b.instret.subarray(0, n)); v.pc.set(b.pc.subarray(0, n));
    v.a.set(b.a.subarray(0, n)); v.b.set(b.b.subarray(0, n)); v.c.set(b.c.subarray(0, n));
    v.hart.set(b.hart.subarray(0, n)); v.priv.set(b.priv.subarray(0, n)); v.virt.set(b.virt.subarray(0, n));
    v.kind.set(b.kind.subarray(0, n)); v.present.set(b.present.subarray(0, n));
    v.ref.set(ref.subarray(0, n));
    v.inlineOff.set(inlineOff);
    v.inline.set(this.scratch.subarray(0, used));
    let j = 0;
    for (const [row, pc] of b.widePc) {
      v.widePcRows[j] = row;
      v.widePcVals[j++] = pc;
    }
    return { sab, ...shape, firstNewId, newPay };
  }
}

/** The receiving side of a WireEncoder: keeps the payload dictionary. */
export class WireDecoder {
  private readonly dict: Buffer[] = [];

  decode(m: WireBatchMsg): WireBatch {
    if (m.firstNewId !== this.dict.length) throw new Error(`internal: payload dictionary out of step (${m.firstNewId} != ${this.dict.length})`);
    for (const p of m.newPay) this.dict.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    const v = wireViews(m.sab, m);
    const dict = this.dict, ref = v.ref, off = v.inlineOff;
    const inline = Buffer.from(v.inline.buffer, v.inline.byteOffset, v.inline.byteLength);
    const wide = new Map<number, bigint>();
    v.widePcRows.forEach((r, k) => wide.set(r, v.widePcVals[k]!));
    return {
      ...v,
      a32: words(v.a), b32: words(v.b), c32: words(v.c),
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
