/**
 * `StoredEventFeed`: a trace's recorded events, read ahead on a worker thread
 * (src/trace/event-feed-worker.ts) and delivered as columns, for the replayer's fast comparison.
 *
 * Reading 145k events through SQLite and turning every integer into a BigInt costs the replay of
 * a Linux boot ~0.7 s of its main thread plus the garbage; on the worker it overlaps the
 * emulation, and the columns compare against the recorder's EventBatch without building a
 * TraceEvent per event. The replayer stays exact: any row the columns cannot represent exactly
 * (`exact[i] = 0`) or that differs goes to the ordinary comparer, which has the last word.
 *
 * Protocol: the feed asks for batches of FEED_BATCH rows by seq (`from`), a few ahead; replies
 * carry the generation of the request, so a `start` at another seq (a checkpoint restore) drops
 * replies still in flight. `next()` blocks (Atomics.wait on a counter the worker bumps after each
 * reply; the replay runs synchronously, so no event loop delivers messages).
 *
 * ```ts
 * const f = StoredEventFeed.open(path, from)   // starts reading at seq `from`
 * f.next(): StoredColumns | null               // the next batch; null at the end of the events
 * f.start(from)                                // restart at another seq
 * f.close()
 * ```
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from './worker.js';
import { TraceError } from './store.js';
import type { EventColumns } from './model.js';

/** Rows per batch. */
export const FEED_BATCH = 4096;
/** Requests kept in flight. */
const AHEAD = 3;
const WAIT_LIMIT_MS = 120_000;

/** A batch of stored events as columns (the EventBatch layout; kind 255: a kind this version
 * does not know), payloads as bytes. */
export interface StoredColumns extends EventColumns {
  /** 0: a value of this row does not fit the columns exactly; compare the row as objects. */
  exact: Uint8Array;
  /** Payload of row i: pay[payOff[2i] .. + payOff[2i+1]); length -1: NULL. */
  pay: Uint8Array;
  payOff: Int32Array;
}

export type FeedRequest =
  | { op: 'open'; path: string; ctl: SharedArrayBuffer; reply: MessagePort }
  | { op: 'read'; gen: number; from: number; limit: number };
export type FeedReply = { gen: number; batch: StoredColumns } | { error: string };

export class StoredEventFeed {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4));
  private gen = 0;
  /** seq of the next batch to request. */
  private nextFrom = 0;
  private inFlight = 0;
  private readonly path: string;

  private constructor(path: string, from: number) {
    this.path = path;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker(new URL('./event-feed-worker.js', import.meta.url));
    this.worker.postMessage({ op: 'open', path, ctl: this.ctl.buffer as SharedArrayBuffer, reply: port2 } satisfies FeedRequest, [port2]);
    this.start(from);
  }

  static open(path: string, from = 0): StoredEventFeed {
    return new StoredEventFeed(path, from);
  }

  /** (Re)start at seq `from`: replies to earlier requests are dropped. */
  start(from: number): void {
    this.gen++;
    this.nextFrom = from;
    this.inFlight = 0;
    while (this.inFlight < AHEAD) this.request();
  }

  private request(): void {
    this.worker.postMessage({ op: 'read', gen: this.gen, from: this.nextFrom, limit: FEED_BATCH } satisfies FeedRequest);
    this.nextFrom += FEED_BATCH;
    this.inFlight++;
  }

  /** The next batch in seq order, or null when the stored events end. */
  next(): StoredColumns | null {
    for (;;) {
      if (this.inFlight === 0) return null;
      const m = this.receive();
      if ('error' in m) throw new TraceError(m.error.startsWith(`${this.path}: `) ? m.error : `${this.path}: reading events: ${m.error}`);
      if (m.gen !== this.gen) continue; // asked for before the last start(), or after the end
      this.inFlight--;
      if (m.batch.length < FEED_BATCH) {
        // The last batch: the requests after it come back empty; drop them.
        this.gen++;
        this.inFlight = 0;
        return m.batch.length > 0 ? m.batch : null;
      }
      this.request();
      return m.batch;
    }
  }

  private receive(): FeedReply {
    const t0 = performance.now();
    for (;;) {
      const seen = Atomics.load(this.ctl, 0);
      const m = receiveMessageOnPort(this.port);
      if (m) return m.message as FeedReply;
      if (performance.now() - t0 > WAIT_LIMIT_MS) throw new TraceError(`${this.path}: the event reader thread did not answer within ${WAIT_LIMIT_MS / 1000} s`);
      Atomics.wait(this.ctl, 0, seen, 1000);
    }
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}
