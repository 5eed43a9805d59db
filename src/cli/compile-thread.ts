/**
 * The wasm tier's compile thread, interpreter side (WasmCompiler, src/hart/wasm/tier.ts): batches
 * of hot regions go to a worker thread (compile-worker.ts), which generates the code and compiles
 * the module there, off the interpreter's thread; the tier takes finished modules between quanta
 * (Hart.run), synchronously: `receiveMessageOnPort`, only when the worker's counter says one
 * arrived, so an idle poll is one array read.
 *
 * Batches go through shared memory, not postMessage: SLOTS slots of SLOT_SIZE numbers
 * (codegen.ts encodeRegions) and counters. postMessage takes a lock the receiving thread also
 * takes, and on a loaded 2-core host the interpreter's thread waited for it up to 8 ms at a time
 * (40-50 ms per Linux boot). Here it writes a slot and, only when the worker sleeps, wakes it.
 *
 * Nothing a guest sees depends on when a unit arrives: a unit does exactly what the interpreter
 * does for the same instructions (tier.ts), so code runs the same whichever of them runs it
 * (the tier-identity tests). Only speed and --profile's counts change from run to run.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { CompiledBatch, WasmCompiler } from '../hart/wasm/tier.js';
import { encodeRegions, type RegionCode } from '../hart/wasm/codegen.js';
import { startWorker } from '../trace/worker.js';

/** Batch slots, and numbers per slot: a batch that does not fit is compiled in place. The
 * Linux boot's largest batch takes ~20,000. */
export const SLOTS = 8, SLOT_SIZE = 1 << 16;
/** Counters (Int32Array indices): batches written, batches read by the worker, stop, the worker
 * sleeps, replies posted. */
export const C_WSEQ = 0, C_RSEQ = 1, C_STOP = 2, C_SLEEP = 3, C_READY = 4;
export interface CompileThreadData { ctl: SharedArrayBuffer; data: SharedArrayBuffer; port: MessagePort }
export interface CompileReply extends CompiledBatch { ticket: number }

const WORKER_URL = new URL('./compile-worker.js', import.meta.url);

export class ThreadedWasmCompiler implements WasmCompiler {
  private readonly port: MessagePort;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(32));
  private readonly data = new Float64Array(new SharedArrayBuffer(8 * SLOTS * SLOT_SIZE));
  private wseq = 0;
  /** Replies received here (the worker counts those it posted in C_READY). */
  private seen = 0;
  private nextTicket = 1;
  private readonly done = new Map<number, CompiledBatch>();
  /** Why the thread stopped, once it did: batches then compile in place (a batch it had taken
   * and not answered is reported once, as a compile error: a bug). */
  failure: string | null = null;
  private reported = false;

  /** `url`: the worker's module (tests start a broken one). */
  constructor(url: URL = WORKER_URL) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const wd: CompileThreadData = { ctl: this.ctl.buffer as SharedArrayBuffer, data: this.data.buffer as SharedArrayBuffer, port: port2 };
    const w = startWorker(url, { workerData: wd, transferList: [port2] });
    // A thread that cannot start or dies: the tier compiles in place from then on (see take).
    w.on('error', (e: Error) => { this.failure ??= e.message; });
    w.on('exit', () => { this.failure ??= 'it exited'; });
    // The worker sleeps in Atomics.wait, where termination does not reach it.
    process.once('exit', () => {
      Atomics.store(this.ctl, C_STOP, 1);
      Atomics.notify(this.ctl, C_WSEQ);
    });
  }

  submit(regions: readonly RegionCode[]): number {
    return this.post(regions, this.nextTicket++);
  }

  warm(regions: readonly RegionCode[]): void {
    this.post(regions, 0);
  }

  /** Write the batch into the next slot: its ticket, or 0 when there is no room (all slots
   * waiting, or too big for one). */
  private post(regions: readonly RegionCode[], ticket: number): number {
    const c = this.ctl, w = this.wseq;
    if (this.failure !== null) return 0;
    if (w - Atomics.load(c, C_RSEQ) >= SLOTS) return 0;
    const base = (w % SLOTS) * SLOT_SIZE;
    if (encodeRegions(regions, this.data.subarray(base, base + SLOT_SIZE), 1) < 0) return 0;
    this.data[base] = ticket;
    this.wseq = w + 1;
    Atomics.store(c, C_WSEQ, w + 1);
    if (Atomics.load(c, C_SLEEP) !== 0) Atomics.notify(c, C_WSEQ);
    return ticket;
  }

  take(ticket: number): CompiledBatch | undefined {
    if (this.seen !== Atomics.load(this.ctl, C_READY)) {
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        const r = m.message as CompileReply;
        this.done.set(r.ticket, r);
        this.seen++;
      }
    }
    const r = this.done.get(ticket);
    if (r !== undefined) this.done.delete(ticket);
    else if (this.failure !== null) {
      // Never coming: the tier counts the regions again and compiles them in place.
      const errors = this.reported ? [] : [`the wasm compile thread stopped (${this.failure}); compiling in place`];
      this.reported = true;
      return { module: null, names: [], errors, bytes: 0, ms: 0 };
    }
    return r;
  }
}
