/**
 * The trace-writer thread (src/trace/writer-thread.ts, writer-worker.ts, wire.ts): what it writes
 * is row for row what the in-thread TraceWriter writes; creation errors are synchronous; a write
 * that fails on the worker stops the recording with the writer's message; many batches queued
 * faster than SQLite takes them all arrive (back-pressure); and the payload dictionary keeps
 * shared and one-off payloads apart.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineConfig } from '../src/board/machine.js';
import { EventBatch, type TraceEvent } from '../src/trace/model.js';
import { TraceReader, TraceError, HVTRACE_VERSION, SCHEMA_VERSION, type TraceConfig } from '../src/trace/store.js';
import { RecordSession } from '../src/trace/recorder.js';
import { ThreadedTraceWriter } from '../src/trace/writer-thread.js';
import { WireEncoder, WireDecoder } from '../src/trace/wire.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-writer-thread-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const CONFIG: TraceConfig = {
  producer: 'test', hvtraceVersion: HVTRACE_VERSION, schemaVersion: SCHEMA_VERSION, machine: null,
  quantum: null, maxInsns: null, digestEvery: null, checkpointEvery: null, input: { source: 'none' },
};

function smpKernel(harts: number): MachineConfig {
  const p = `${ROOT}guests/build/smp-kernel.elf`;
  return { ramSize: 64 * MiB, harts, bios: 'builtin', kernel: { name: p, bytes: new Uint8Array(readFileSync(p)) } };
}

/** Every table of a trace as plain rows, and its index definitions. */
function dump(path: string): Record<string, unknown[]> {
  const r = TraceReader.open(path);
  const out: Record<string, unknown[]> = {};
  for (const t of ['meta', 'images', 'events', 'console', 'inputs', 'input_queue', 'digests', 'checkpoints', 'pages']) {
    out[t] = r.query(`SELECT * FROM ${t} ORDER BY 1`).rows;
  }
  out.indexes = r.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").rows;
  r.close();
  return out;
}

function ev(seq: number, payload: Record<string, unknown> | null): TraceEvent {
  return { seq, vtime: seq, hart: 0, instret: seq, pc: 0x80000000n + BigInt(seq), priv: 3, virt: false, kind: 'csr_write', a: 0x300n, b: BigInt(seq), c: null, payload };
}

describe('the writer thread', () => {
  it('writes the same rows as the in-thread writer (smp-kernel, 4 harts, digests, checkpoints, input)', () => {
    const paths = [true, false].map((threaded) => {
      const path = join(dir, `same-${threaded}.trace`);
      const s = RecordSession.create({
        path, config: smpKernel(4), writerThread: threaded, digestEvery: 20_000, checkpointEvery: 100_000,
        input: { source: 'file', name: 'test' }, batchSize: 512,
      });
      s.queueInput(new TextEncoder().encode('hello\n'), 0);
      s.runToEnd();
      const summary = s.finish();
      expect(summary.status).toBe('complete');
      return path;
    });
    const [a, b] = paths.map(dump);
    expect(a!.events!.length).toBeGreaterThan(1000);
    expect(a!.checkpoints!.length).toBeGreaterThan(0);
    expect(a!.digests!.length).toBeGreaterThan(5);
    expect(a!.inputs!.length).toBeGreaterThan(0);
    for (const t of Object.keys(a!)) expect(a![t], t).toEqual(b![t]);
  });

  it('reports a path it cannot create at once, before any work', () => {
    expect(() => ThreadedTraceWriter.create(join(dir, 'no-such-dir', 'x.trace'), { config: CONFIG })).toThrow(TraceError);
    const p = join(dir, 'exists.trace');
    ThreadedTraceWriter.create(p, { config: CONFIG }).finish('complete');
    expect(() => ThreadedTraceWriter.create(p, { config: CONFIG })).toThrow(/file exists/);
  });

  it('stops the recording with the writer\'s message when a write fails on the thread', () => {
    const p = join(dir, 'fails.trace');
    const w = ThreadedTraceWriter.create(p, { config: CONFIG });
    const b = new EventBatch(4);
    b.push(ev(0, null));
    b.push(ev(0, null)); // the same seq twice: the events table's primary key refuses it
    w.writeEvents(b);
    // The failure surfaces at a later call, as a TraceError naming the file and SQLite's reason.
    expect(() => {
      for (let i = 0; i < 1000; i++) w.addDigest({ vtime: 0, totalInstret: i, seq: 0, hartInstret: [0], stateHash: 'x', ramHash: 'y', final: false });
      w.finish('complete');
    }).toThrow(/fails\.trace: .*UNIQUE constraint failed: events\.seq/);
    expect(w.isOpen).toBe(false);
    expect(() => w.close()).not.toThrow();
  });

  it('takes batches faster than SQLite writes them, and loses none (back-pressure)', () => {
    const p = join(dir, 'many.trace');
    const w = ThreadedTraceWriter.create(p, { config: CONFIG });
    const b = new EventBatch(4096);
    let seq = 0;
    const n = 200; // > MAX_PENDING batches: the recorder has to wait for the writer
    for (let k = 0; k < n; k++) {
      b.clear();
      for (let i = 0; i < 4096; i++, seq++) b.push(ev(seq, seq % 4096 === 7 ? { note: `one-off ${seq}` } : null));
      w.writeEvents(b);
    }
    expect(w.eventsWritten).toBe(n * 4096);
    w.finish('complete');
    const r = TraceReader.open(p);
    expect(r.eventCount()).toBe(n * 4096);
    expect(r.maxSeq()).toBe(n * 4096 - 1);
    expect(r.event(4096 * 150 + 7)!.payload).toEqual({ note: `one-off ${4096 * 150 + 7}` });
    expect(r.event(4096 * 150 + 8)!.payload).toBeNull();
    r.close();
  });

  it('runs at nice 10 while the recorder is not waiting for it: the priority lent for a back-pressure wait is given back', () => {
    if (!existsSync('/proc/thread-self')) return; // setpriority per thread: Linux only
    const p = join(dir, 'nice.trace');
    ThreadedTraceWriter.prestart(); // as `hvtrace record` does: the next create takes this thread
    const w = ThreadedTraceWriter.create(p, { config: CONFIG });
    const b = new EventBatch(4096);
    let seq = 0;
    for (let k = 0; k < 100; k++) { // > MAX_PENDING batches: the recorder waits (and lends its priority)
      b.clear();
      for (let i = 0; i < 4096; i++, seq++) b.push(ev(seq, null));
      w.writeEvents(b);
    }
    // The writer thread is the one thread of this process at nice 10 (field 19 of its stat line).
    const niceThreads = (): number => readdirSync('/proc/self/task').filter((t) => {
      const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      return st.slice(st.lastIndexOf(')') + 2).split(' ')[16] === '10';
    }).length;
    expect(niceThreads()).toBe(1);
    w.finish('complete');
    const r = TraceReader.open(p);
    expect(r.eventCount()).toBe(100 * 4096);
    r.close();
  });

  it('a recording abandoned without finish still exits at once and leaves a readable trace', async () => {
    const { spawnSync } = await import('node:child_process');
    const p = join(dir, 'abandoned.trace');
    const script = `
      const { RecordSession } = await import(${JSON.stringify(`${ROOT}dist/trace/recorder.js`)});
      const { readFileSync } = await import('node:fs');
      const k = ${JSON.stringify(`${ROOT}guests/build/smp-kernel.elf`)};
      const s = RecordSession.create({ path: ${JSON.stringify(p)}, config: { ramSize: 64 << 20, harts: 1, bios: 'builtin', kernel: { name: k, bytes: new Uint8Array(readFileSync(k)) } } });
      s.step(10);
      s.recorder.flush();
      process.exitCode = 7;`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(7);
    // What was handed to the writer is on disk, closed as 'recording' (never finished): with
    // its recorder gone, that reads as 'truncated'.
    const t = TraceReader.open(p);
    expect(t.status).toBe('truncated');
    expect(t.eventCount()).toBeGreaterThan(0);
    t.close();
  });
});

describe('node flags a worker thread refuses', () => {
  it('record and replay still work under node --max-semi-space-size (a per-process V8 flag)', async () => {
    const { spawnSync } = await import('node:child_process');
    const p = join(dir, 'flags.trace');
    const cli = `${ROOT}dist/cli/main.js`;
    const rec = spawnSync(process.execPath, ['--max-semi-space-size=32', cli, 'record', '-q', '-o', p, '--kernel', `${ROOT}guests/build/hello.elf`], { encoding: 'utf8', timeout: 60_000 });
    expect(rec.status, rec.stderr).toBe(0);
    const rep = spawnSync(process.execPath, ['--max-semi-space-size=32', cli, 'replay', p], { encoding: 'utf8', timeout: 60_000 });
    expect(rep.status, rep.stderr).toBe(0);
    expect(rep.stdout).toMatch(/: match: \d+ events/);
  });
});

describe('the batch wire format', () => {
  it('sends a frozen payload once, then by id; other payloads inline; absent ones as none', () => {
    const shared = Object.freeze({ who: 'insn' });
    const enc = new WireEncoder();
    const dec = new WireDecoder();
    const b = new EventBatch(8);
    b.push(ev(0, shared));
    b.push(ev(1, { args: [1n, 2n] }));
    b.push(ev(2, null));
    b.push(ev(3, shared));
    const m1 = enc.encode(b);
    expect(m1.newPay.length).toBe(1);
    const w1 = dec.decode(m1);
    b.clear();
    b.push(ev(4, shared));
    b.push(ev(5, { x: 'y' }));
    const m2 = enc.encode(b);
    expect(m2.newPay.length).toBe(0); // known already
    const w2 = dec.decode(m2);
    const bytes = (w: { payloadBytesAt(i: number): Buffer | null }, i: number): string | null => w.payloadBytesAt(i)?.toString('hex') ?? null;
    expect(bytes(w1, 0)).toBe(bytes(w1, 3));
    expect(bytes(w2, 0)).toBe(bytes(w1, 0));
    expect(bytes(w1, 1)).not.toBe(bytes(w1, 0));
    expect(bytes(w1, 2)).toBeNull();
    expect(bytes(w2, 1)).not.toBeNull();
    expect(w2.seq[1]).toBe(5);
    // A pc beyond 2^53 travels exactly (EventBatch.widePc), the others as numbers.
    b.clear();
    b.push({ ...ev(6, null), pc: 0x00ff_ffff_f7ff_f804n });
    const w3 = dec.decode(enc.encode(b));
    expect(w3.widePcAt(0)).toBe(0x00ff_ffff_f7ff_f804n);
    expect(w1.widePcAt(0)).toBeUndefined();
    // A decoder that missed a batch refuses the next one instead of binding wrong payloads.
    expect(() => new WireDecoder().decode(m2)).toThrow(/out of step/);
  });
});
