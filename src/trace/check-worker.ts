/**
 * The thread of TraceReader.startIntegrityCheck (src/trace/store.ts): opens the trace on its own
 * connection and answers once with the result of PRAGMA integrity_check.
 */
import { parentPort } from 'node:worker_threads';
import { TraceReader, type IntegrityCheckRequest } from './store.js';

if (!parentPort) throw new Error('check-worker: not started as a worker thread');

parentPort.once('message', (m: IntegrityCheckRequest) => {
  let problem: string | null;
  try {
    const r = TraceReader.open(m.path);
    try {
      problem = r.integrityProblem();
    } finally {
      r.close();
    }
  } catch (e) {
    problem = (e as Error).message.replace(`${m.path}: `, '');
  }
  m.reply.postMessage({ problem });
  const ctl = new Int32Array(m.ctl);
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
});
