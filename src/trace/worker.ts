/**
 * Starting the trace store's worker threads (writer-thread.ts, event-feed.ts).
 *
 * A worker inherits the process's node flags (useful: --cpu-prof profiles it too), except those
 * Node refuses in a worker: --input-type (a recorder started with `node --input-type=module -e`)
 * and per-process V8 flags such as --max-semi-space-size make `new Worker` throw. Then the worker
 * starts with no flags rather than the command failing.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

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
