/**
 * Starting the trace store's worker threads (writer-thread.ts, event-feed.ts).
 *
 * A worker inherits the process's node flags (useful: --cpu-prof profiles it too), except those
 * Node refuses in a worker: --input-type (a recorder started with `node --input-type=module -e`)
 * and per-process V8 flags such as --max-semi-space-size make `new Worker` throw. Then the worker
 * starts with no flags rather than the command failing.
 */
import { Worker, threadId, type WorkerOptions } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  let w: Worker;
  try {
    w = new Worker(url, { ...options, execArgv });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    w = new Worker(url, { ...options, execArgv: [] });
  }
  // Never keeps the process alive: the owner waits for what it needs synchronously.
  w.unref();
  return w;
}

/**
 * In a worker thread: give this thread nice value `nice` (Linux: setpriority on its own id,
 * from /proc/thread-self), so it yields to the emulating thread when both cores are busy.
 * Returns the thread's id, or 0 where that is not possible (then nothing changes).
 */
export function niceThisThread(nice: number): number {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0 && tid !== process.pid && threadId !== 0) {
      setPriority(tid, nice);
      return tid;
    }
  } catch {
    /* no /proc, or not allowed: the default priority */
  }
  return 0;
}
