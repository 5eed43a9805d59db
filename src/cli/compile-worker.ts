/**
 * The wasm tier's compile thread (see compile-thread.ts): takes each batch of regions the
 * interpreter's thread wrote into the shared slots, generates the module (codegen.ts), compiles
 * it (`new WebAssembly.Module`) and posts it back with the batch's ticket. A WebAssembly.Module
 * crosses threads of one process without a copy of its code. Batches are done in order.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { niceThisThread } from '../trace/worker.js';
import { buildModule, decodeRegions } from '../hart/wasm/codegen.js';
import { C_RSEQ, C_READY, C_SLEEP, C_STOP, C_WSEQ, SLOTS, SLOT_SIZE, type CompileReply, type CompileThreadData } from './compile-thread.js';

/**
 * Nice 10, as the trace writer: at the same priority this thread, woken for each batch, took the
 * core the interpreter's thread was on whenever V8's own threads had the other one. Quiet host,
 * Linux `run`, 6 alternating fresh processes, median wall 1,438 -> 1,382 ms (interpreter-thread
 * CPU the same: 1.225 / 1.210 s). Units then arrive a little later, which changes only speed.
 */
niceThisThread(10);
const { ctl, data, port } = workerData as CompileThreadData;
const c = new Int32Array(ctl), d = new Float64Array(data), reply: MessagePort = port;

for (let r = 0; ;) {
  // Sleep until a batch is written (the writer wakes this thread only when it said it sleeps).
  while (Atomics.load(c, C_WSEQ) === r) {
    if (Atomics.load(c, C_STOP) !== 0) process.exit(0);
    Atomics.store(c, C_SLEEP, 1);
    if (Atomics.load(c, C_WSEQ) === r) Atomics.wait(c, C_WSEQ, r, 1000);
    Atomics.store(c, C_SLEEP, 0);
  }
  const base = (r % SLOTS) * SLOT_SIZE, ticket = d[base]!;
  const t0 = performance.now();
  let res: CompileReply;
  try {
    const regions = decodeRegions(d, base + 1);
    const built = buildModule(regions);
    const module = built.bytes === null ? null : new WebAssembly.Module(built.bytes);
    res = { ticket, module, names: built.names, errors: built.errors, bytes: built.bytes?.length ?? 0, ms: performance.now() - t0 };
  } catch (e) {
    res = { ticket, module: null, names: [], errors: [`${(e as Error).message} in wasm module (compile thread)`], bytes: 0, ms: performance.now() - t0 };
  }
  // The slot is free again (decodeRegions copied it out).
  Atomics.store(c, C_RSEQ, ++r);
  if (ticket === 0) continue; // a warm-up batch (WasmCompiler.warm)
  reply.postMessage(res);
  // Tell the interpreter's thread without a message it would have to poll for.
  Atomics.add(c, C_READY, 1);
}
