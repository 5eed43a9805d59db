/**
 * The trace-writer thread (see src/trace/writer-thread.ts): applies the recorder's calls, in the
 * order they were posted, to an ordinary TraceWriter. A failure is reported once (CTL_ERROR and
 * a message on the reply port); later requests are ignored except that synchronous ones are
 * still answered, so the recorder never waits forever.
 */
import { parentPort } from 'node:worker_threads';
import { niceThisThread } from './worker.js';
import { TraceWriter } from './store-writer.js';
import { TraceError } from './store-schema.js';
import { keptText, writeErrorText } from './store-files.js';
import { WireDecoder } from './wire.js';
import { CTL_DONE, CTL_ERROR, CTL_PENDING, CTL_TID, WRITER_NICE, type WriterReply, type WriterRequest } from './writer-thread.js';
import type { MessagePort } from 'node:worker_threads';

if (!parentPort) throw new Error('writer-worker: not started as a worker thread');

/**
 * The writer thread's nice value: it yields to the emulating thread. At the same priority, the
 * writer, woken by every batch the recorder posts, preempts the recorder when both cores of a
 * 2-core host are busy (the wakeup preemption of Linux's fair scheduler favours a thread that
 * slept), and the recording thread waits. Measured on the bundled Linux boot (in process, 4 runs
 * each): the recording thread's run-queue wait 300-580 ms at nice 0, 190-270 ms at 10; wall
 * 1,911 ms mean at 0, 1,857 at 5, 1,842 at 10, 1,941 at 19 (there the writer falls behind and
 * the end of the recording waits for it). Nothing it writes depends on it. While the recorder
 * waits for this thread, it lends it its own priority (writer-thread.ts, CTL_TID).
 * (WRITER_NICE is in writer-thread.ts.)
 */
const niceTid = niceThisThread(WRITER_NICE);

let writer: TraceWriter | null = null;
let ctl: Int32Array | null = null;
let reply: MessagePort | null = null;
let failed = false;
let tracePath = '';
const decoder = new WireDecoder();

let bulk = false;
function endBulk(): void {
  if (!bulk) return;
  bulk = false;
  try {
    writer!.endBulk();
  } catch (e) {
    fail(e);
  }
}

function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  // TraceWriter's errors name the file already (and it abandoned the trace: marked aborted,
  // closed, at its path); anything else is said here.
  let msg = e instanceof TraceError ? e.message : `${tracePath}: ${writeErrorText(e)}`;
  if (!(e instanceof TraceError) && writer?.isOpen) msg += `; ${keptText(writer.abandon(writeErrorText(e)))}`;
  reply?.postMessage({ error: msg } satisfies WriterReply);
  if (ctl) {
    Atomics.store(ctl, CTL_ERROR, 1);
    Atomics.notify(ctl, CTL_DONE);
    Atomics.notify(ctl, CTL_PENDING);
  }
}

process.on('uncaughtException', fail);

function apply(m: WriterRequest): void {
  const w = writer!;
  switch (m.op) {
    case 'create': break; // handled below
    case 'events': w.writeEvents(decoder.decode(m.batch)); break;
    case 'console': w.addConsole(m.vtime, m.hart, m.eventSeq, m.data); break;
    case 'input': w.addInput(m.vtime, m.byte, m.seq); break;
    case 'queued': w.addQueuedInput(m.vtime, m.data); break;
    case 'digest': w.addDigest(m.d); break;
    case 'meta': w.setMeta(m.key, m.value); break;
    case 'disk': w.addDiskBlocks(m.rows); break;
    case 'flush': w.flush(); break;
    case 'checkpoint': {
      const at = new Map(m.pages.map((p, k) => [p.index, k]));
      w.addCheckpoint(m.info, m.state, m.pages, (index) => m.bytes[at.get(index)!]!);
      break;
    }
    case 'finish': w.finish(m.status, m.result); break;
    case 'close': w.close(); break;
    case 'abandon': w.abandon(m.reason); break;
    case 'discard': w.discard(); break;
  }
}

parentPort.on('message', (m: WriterRequest) => {
  if (m.op === 'create') {
    ctl = new Int32Array(m.ctl);
    Atomics.store(ctl, CTL_TID, niceTid);
    reply = m.reply;
    tracePath = m.path;
    try {
      writer = TraceWriter.create(m.path, m.init, m.opts);
    } catch (e) {
      fail(e);
    }
    return;
  }
  if (!failed) {
    try {
      if (m.op === 'events') {
        // Batches delivered together (the recorder got ahead) commit together, after the last.
        if (!bulk) {
          writer!.beginBulk();
          bulk = true;
          setImmediate(endBulk);
        }
      } else {
        endBulk();
      }
      apply(m);
    } catch (e) {
      fail(e);
    }
  }
  if (m.op === 'events') {
    Atomics.sub(ctl!, CTL_PENDING, 1);
    Atomics.notify(ctl!, CTL_PENDING);
  } else if (m.op === 'finish' || m.op === 'close' || m.op === 'abandon' || m.op === 'discard') {
    Atomics.store(ctl!, CTL_DONE, m.id);
    Atomics.notify(ctl!, CTL_DONE);
    parentPort!.close();
  }
});
