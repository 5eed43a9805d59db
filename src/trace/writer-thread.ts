/**
 * `ThreadedTraceWriter`: the TraceSink `hvtrace record` uses. The SQLite work (event inserts,
 * index maintenance, image and page compression, the final WAL checkpoint) runs on a worker
 * thread (src/trace/writer-worker.ts) that owns an ordinary TraceWriter, so it overlaps the
 * emulation on another core instead of stopping it: ~0.5 s of a 2 s Linux boot recording.
 *
 * Determinism: nothing flows back from the writer into the machine. Calls are posted in program
 * order on one port, so the worker applies them in exactly the order a TraceWriter would have
 * seen them and the file's rows are the same. What the recorder asks synchronously is answered
 * here without the worker: events written (= handed over), console position, known pages,
 * checkpoint ids (rowids 1, 2, ... on a fresh file).
 *
 * Synchronisation: an Int32Array on a SharedArrayBuffer.
 * - CTL_PENDING: batches posted and not yet written. The recorder blocks (Atomics.wait) while
 *   MAX_PENDING are queued, so a slow disk bounds memory instead of growing it.
 * - CTL_ERROR: set by the worker when a write failed; the next call here throws a TraceError with
 *   the worker's message (fetched with receiveMessageOnPort), and the recording stops.
 * - CTL_DONE: the id of the last synchronous request (finish / close) the worker completed.
 * - CTL_TID: the writer thread's Linux thread id once it runs at WRITER_NICE (0: it does not).
 *
 * Priority: the writer runs at nice WRITER_NICE (src/trace/writer-worker.ts says why), but while
 * the recorder waits for it (back-pressure, finish) it is all the recording is waiting for: the
 * recorder lends it its own priority for the wait (setpriority; lowering a nice value needs
 * CAP_SYS_NICE or RLIMIT_NICE, and without them the writer stays at WRITER_NICE). On a busy host
 * a nice-10 writer gets a small share of a core: measured on the bundled Linux boot at load 5-8,
 * the 37 ms of CPU that finish needs took 150-420 ms.
 *
 * A path that cannot be used (not a regular file, no directory, no permission) is found before
 * the worker starts: the path is checked here and the temporary file the worker builds the trace
 * in is created here (an empty file is a valid new SQLite database; store.ts "where a trace is
 * written").
 *
 * A write error on the thread (a full disk, a file size limit) abandons the trace there (marked
 * aborted if that still fits, closed, left at its path: TraceWriter.abandon) and is thrown here,
 * as a TraceError naming the file, at the recorder's next call.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from './worker.js';
import { closeSync, openSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { EventBatch } from './model.js';
// The store's parts, not store.ts: the writer thread loads this module too (for CTL_*), and
// store.ts would bring the reader's modules into it.
import { TraceError, type TraceInit, type DigestRow, type PageRef, type CheckpointInfo, type ExitInfo, type TraceCounts, type DiskBlockRow } from './store-schema.js';
import { checkTracePath, tempTracePath } from './store-files.js';
import type { TraceSink, TraceCreateOptions } from './store-writer.js';
import { WireEncoder, type WireBatchMsg } from './wire.js';

export const CTL_PENDING = 0;
export const CTL_ERROR = 1;
export const CTL_DONE = 2;
export const CTL_TID = 3;
/** The writer thread's nice value while the recorder is not waiting for it (writer-worker.ts). */
export const WRITER_NICE = 10;
/**
 * Batches (of up to 4096 events) queued before the recorder waits for the writer, and the
 * encoder's ring of shared buffers (~290 KB each, allocated as first used).
 */
const MAX_PENDING = 32;
const WAIT_LIMIT_MS = 120_000;

/** Messages to the worker (in order). */
export type WriterRequest =
  | { op: 'create'; path: string; init: TraceInit; opts: TraceCreateOptions; ctl: SharedArrayBuffer; reply: MessagePort }
  | { op: 'events'; batch: WireBatchMsg }
  | { op: 'console'; vtime: number; hart: number | null; eventSeq: number; data: Uint8Array }
  | { op: 'input'; vtime: number; byte: number; seq: number | null }
  | { op: 'queued'; vtime: number; data: Uint8Array }
  | { op: 'digest'; d: DigestRow }
  | { op: 'checkpoint'; info: Omit<CheckpointInfo, 'id'>; state: Uint8Array; pages: PageRef[]; bytes: Uint8Array[] }
  | { op: 'meta'; key: string; value: string }
  | { op: 'disk'; rows: DiskBlockRow[] }
  | { op: 'flush' }
  | { op: 'finish'; id: number; status: 'complete' | 'aborted'; result: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> } }
  | { op: 'close'; id: number }
  | { op: 'abandon'; id: number; reason: string }
  | { op: 'discard'; id: number };

/** Replies on the reply port: a failure (CTL_ERROR set) or a completed synchronous request. */
export type WriterReply = { error: string } | { done: number };

export class ThreadedTraceWriter implements TraceSink {
  readonly path: string;
  private readonly worker: Worker;
  private readonly ctl: Int32Array;
  private readonly reply: MessagePort;
  private events = 0;
  private consoleSeq = 0;
  private consoleBytesN = 0;
  private checkpointsN = 0;
  private readonly knownPages = new Set<string>();
  private requestId = 0;
  private closed = false;
  private failure: string | null = null;
  private readonly encoder = new WireEncoder(MAX_PENDING);
  private canLend = true;

  private constructor(path: string, init: TraceInit, opts: TraceCreateOptions) {
    this.path = path;
    this.ctl = new Int32Array(new SharedArrayBuffer(16));
    const { port1, port2 } = new MessageChannel();
    this.reply = port1;
    const early = spare;
    spare = null;
    this.worker = early?.worker ?? startWorker(WORKER_URL);
    if (early?.error) this.failure = `${path}: trace writer thread failed: ${early.error.message}`;
    else if (early?.exited) this.failure = `${path}: trace writer thread exited`;
    // A dead worker is reported like a failed write at the next call.
    this.worker.on('error', (e) => { this.failure ??= `${path}: trace writer thread failed: ${e.message}`; });
    this.worker.on('exit', () => { if (!this.closed) this.failure ??= `${path}: trace writer thread exited`; });
    // A System.map's symbols travel as its text (turned into the stored list there: storedSymbolListText).
    const symbols = init.symbols?.map((s) => (s.mapText !== undefined ? { ...s, symbols: [] } : s));
    this.post({ op: 'create', path, init: symbols ? { ...init, symbols } : init, opts, ctl: this.ctl.buffer as SharedArrayBuffer, reply: port2 }, [port2]);
    // A recorder that dies in JavaScript (an exception, process.exit) still gets what it handed
    // over onto disk, as the in-thread writer would have: close (status stays 'recording').
    process.on('exit', this.onExit);
  }

  private readonly onExit = (): void => this.close();

  /**
   * Start the writer thread ahead of its trace (`hvtrace record` does first thing): its modules
   * and SQLite load while the recorder reads the images and builds the machine, and the next
   * create takes it. Measured on the bundled Linux boot (load 6-12): its modules were loaded
   * at about the time the emulation started instead of 0.2-1 s after it.
   */
  static prestart(): void {
    if (spare !== null) return;
    const s: Spare = { worker: startWorker(WORKER_URL), error: null, exited: false };
    s.worker.on('error', (e) => { s.error ??= e; });
    s.worker.on('exit', () => { s.exited = true; });
    spare = s;
  }

  /** Check the path like TraceWriter.create does (synchronously), then start the writer thread. */
  static create(path: string, init: TraceInit, opts: TraceCreateOptions = {}): ThreadedTraceWriter {
    const plan = checkTracePath(path, opts.overwrite === true);
    const tempPath = tempTracePath(plan.target);
    try {
      closeSync(openSync(tempPath, 'wx'));
    } catch (e) {
      throw new TraceError(`${path}: cannot create the trace: ${(e as Error).message}`);
    }
    return new ThreadedTraceWriter(path, init, { ...opts, tempPath });
  }

  get eventsWritten(): number {
    return this.events;
  }
  get consolePosition(): { seq: number; bytes: number } {
    return { seq: this.consoleSeq, bytes: this.consoleBytesN };
  }
  get isOpen(): boolean {
    return !this.closed;
  }

  writeEvents(b: EventBatch): void {
    this.checkOpen();
    if (b.length === 0) return;
    // Back-pressure: wait while MAX_PENDING batches are queued. Waiting before encoding also
    // keeps the encoder's ring of MAX_PENDING buffers safe: the slot this batch takes belonged
    // to a batch the writer has finished.
    let lent = false;
    for (;;) {
      const n = Atomics.load(this.ctl, CTL_PENDING);
      if (n < MAX_PENDING) break;
      lent ||= this.lendPriority(true);
      Atomics.wait(this.ctl, CTL_PENDING, n, 1000);
      this.check();
    }
    if (lent) this.lendPriority(false);
    // Shared, not transferred: detaching an ArrayBuffer (a transfer) invalidates V8's
    // "array buffer detaching" protector for the whole isolate, and from then on every typed
    // array access in optimised code checks for detachment. Measured: the emulator loop ran
    // 20% slower for the rest of the recording after the first transferred batch.
    const msg = this.encoder.encode(b);
    Atomics.add(this.ctl, CTL_PENDING, 1);
    this.post({ op: 'events', batch: msg });
    this.events += b.length;
  }

  addConsole(vtime: number, hart: number | null, eventSeq: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.checkOpen();
    this.post({ op: 'console', vtime, hart, eventSeq, data });
    this.consoleSeq++;
    this.consoleBytesN += data.length;
  }
  addInput(vtime: number, byte: number, seq: number | null): void {
    this.checkOpen();
    this.post({ op: 'input', vtime, byte, seq });
  }
  addQueuedInput(vtime: number, data: Uint8Array): void {
    this.checkOpen();
    this.post({ op: 'queued', vtime, data: Uint8Array.from(data) });
  }
  addDigest(d: DigestRow): void {
    this.checkOpen();
    this.post({ op: 'digest', d });
  }
  setMeta(key: string, value: string): void {
    this.checkOpen();
    this.post({ op: 'meta', key, value });
  }
  flush(): void {
    this.checkOpen();
    this.post({ op: 'flush' });
  }

  addDiskBlocks(rows: readonly DiskBlockRow[]): void {
    this.checkOpen();
    if (rows.length > 0) this.post({ op: 'disk', rows: rows.map((r) => ({ ...r, data: Uint8Array.from(r.data) })) });
  }

  hasPage(hash: Uint8Array): boolean {
    return this.knownPages.has(Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex'));
  }

  /** As TraceWriter.addCheckpoint; only pages not sent before are copied to the writer. */
  addCheckpoint(info: Omit<CheckpointInfo, 'id'>, state: Uint8Array, pages: readonly PageRef[], pageBytes: (index: number) => Uint8Array): number {
    this.checkOpen();
    const bytes: Uint8Array[] = [];
    const list: PageRef[] = [];
    for (const p of pages) {
      const hex = Buffer.from(p.hash.buffer, p.hash.byteOffset, p.hash.byteLength).toString('hex');
      list.push({ index: p.index, hash: Uint8Array.from(p.hash) });
      if (!this.knownPages.has(hex)) {
        this.knownPages.add(hex);
        bytes.push(Uint8Array.from(pageBytes(p.index)));
      } else {
        bytes.push(EMPTY);
      }
    }
    this.post({ op: 'checkpoint', info, state: Uint8Array.from(state), pages: list, bytes });
    return ++this.checkpointsN;
  }

  finish(status: 'complete' | 'aborted', result: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> } = {}): void {
    this.checkOpen();
    const id = ++this.requestId;
    this.post({ op: 'finish', id, status, result });
    try {
      this.await(id);
    } finally {
      this.closed = true;
      process.off('exit', this.onExit);
    }
  }

  /** Close without finishing (status stays 'recording'); never throws for an earlier failure. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    if (this.failure !== null || Atomics.load(this.ctl, CTL_ERROR) !== 0) return;
    const id = ++this.requestId;
    this.post({ op: 'close', id });
    try {
      this.await(id);
    } catch {
      /* closing after a failure: nothing more to save */
    }
  }

  /** See TraceSink.abandon: after a failure here (the worker abandons the trace itself after its own). */
  abandon(reason: string): void {
    if (this.closed && this.failure === null) return;
    this.closed = true;
    process.off('exit', this.onExit);
    if (this.failure !== null || Atomics.load(this.ctl, CTL_ERROR) !== 0) return;
    const id = ++this.requestId;
    this.post({ op: 'abandon', id, reason });
    try {
      this.await(id);
    } catch {
      /* nothing more to save */
    }
  }

  /** See TraceSink.discard. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    const id = ++this.requestId;
    this.post({ op: 'discard', id });
    try {
      this.await(id);
    } catch {
      /* the worker failed: TraceWriter.create removed its temporary file */
    }
  }

  private post(m: WriterRequest, transfer: MessagePort[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /**
   * While the recorder waits (`on`), the writer thread runs at the recorder's priority, then at
   * WRITER_NICE again. Returns whether it was changed. Never throws: without the privilege to
   * lower a nice value it is not tried again.
   */
  private lendPriority(on: boolean): boolean {
    const tid = Atomics.load(this.ctl, CTL_TID);
    if (tid <= 0 || !this.canLend) return false;
    try {
      setPriority(tid, on ? getPriority() : WRITER_NICE);
      return true;
    } catch {
      if (on) this.canLend = false; // EACCES (no CAP_SYS_NICE), or the thread is gone
      return false;
    }
  }

  /** Wait until the worker completed request `id` (or failed). */
  private await(id: number): void {
    this.lendPriority(true); // the thread ends with the request
    // A monotonic clock: the wall clock can jump (a 120 s wait was once seen to expire at once).
    const t0 = performance.now();
    for (;;) {
      const done = Atomics.load(this.ctl, CTL_DONE);
      if (done === id) break;
      this.check();
      // The worker's 'exit' event cannot reach a thread blocked here: bound the wait instead.
      // (At most MAX_PENDING batches are queued: seconds of work, not minutes.)
      if (performance.now() - t0 > WAIT_LIMIT_MS) this.failure ??= `${this.path}: trace writer thread did not answer within ${WAIT_LIMIT_MS / 1000} s`;
      Atomics.wait(this.ctl, CTL_DONE, done, 1000);
    }
    this.check();
  }

  private checkOpen(): void {
    if (this.closed && this.failure === null) throw new Error('internal: trace writer is closed');
    this.check();
  }

  /** Throw the worker's failure, if there was one. */
  private check(): void {
    if (this.failure === null && Atomics.load(this.ctl, CTL_ERROR) !== 0) {
      const m = receiveMessageOnPort(this.reply)?.message as WriterReply | undefined;
      this.failure = m && 'error' in m ? m.error : `${this.path}: trace writer thread failed`;
    }
    if (this.failure !== null) {
      this.closed = true;
      throw new TraceError(this.failure);
    }
  }
}

const EMPTY = new Uint8Array(0);
const WORKER_URL = new URL('./writer-worker.js', import.meta.url);
/** A writer thread started by prestart, not taken by a trace yet; what happened to it meanwhile. */
interface Spare {
  readonly worker: Worker;
  error: Error | null;
  exited: boolean;
}
let spare: Spare | null = null;
