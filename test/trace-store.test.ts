/**
 * The trace store (src/trace/store.ts): round trips of events (64-bit extremes, NULLs,
 * payloads), console / inputs / digests / checkpoints / pages, filters and pagination; and the
 * reader's refusals (not SQLite, truncated, newer schema, missing tables,
 * write statements in query), each without modifying the file it was given.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBatch, eventDiff, type TraceEvent, type EventKind } from '../src/trace/model.js';
import {
  TraceWriter, TraceReader, TraceError, SCHEMA_VERSION, HVTRACE_VERSION, type TraceConfig, type TraceImage,
} from '../src/trace/store.js';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-store-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const CONFIG: TraceConfig = {
  producer: 'test', hvtraceVersion: HVTRACE_VERSION, schemaVersion: SCHEMA_VERSION,
  machine: { ramSize: 16 << 20, harts: 2, bios: 'builtin', kernel: { name: 'k.bin', sha256: '', size: 4 } },
  quantum: 100, maxInsns: null, digestEvery: null, checkpointEvery: null, input: { source: 'none' },
};
const U64_MAX = (1n << 64n) - 1n;
const EXTREMES = [0n, 1n, (1n << 63n) - 1n, 1n << 63n, U64_MAX, 0xffffffff80000000n, 0x8000_0000n];

function ev(seq: number, kind: EventKind, a: bigint | null, b: bigint | null, c: bigint | null, payload: Record<string, unknown> | null = null, over: Partial<TraceEvent> = {}): TraceEvent {
  return { seq, vtime: seq * 10, hart: seq % 2, instret: seq * 9, pc: 0x8020_0000n + BigInt(seq) * 4n, priv: seq % 2 ? 1 : 3, virt: false, kind, a, b, c, payload, ...over };
}

function sampleEvents(): TraceEvent[] {
  const out: TraceEvent[] = [];
  let s = 0;
  for (const x of EXTREMES) {
    for (const y of EXTREMES) out.push(ev(s++, 'csr_write', 0x300n, x, y, { who: 'insn' }));
  }
  out.push(ev(s++, 'trap', (1n << 63n) | 7n, U64_MAX, 0xffffffffc0000000n, { from: 1, to: 3 }, { pc: U64_MAX - 1n }));
  out.push(ev(s++, 'sbi_call', 0x4442434en, 0n, U64_MAX - 1n, { args: [U64_MAX, 0n, 1n << 63n, 5n, 6n, 7n], value: 3n, handler: 'firmware', caller: 1 }));
  out.push(ev(s++, 'irq', 7n, 1n, null));
  out.push(ev(s++, 'hart_state', 0n, null, null, null, { hart: 1 }));
  out.push(ev(s++, 'mmio', 0x1000_0005n, 0x60n, 0x101n, { device: 'uart' }, { pc: 0xffffffff80001234n }));
  out.push(ev(s++, 'input', 0x41n, null, null));
  // A pc beyond 2^53 (Linux's Sv57 vDSO, just below 2^56): not exact as a double, stored exactly.
  out.push(ev(s++, 'mmio', 0x1000_0000n, 0x41n, 0x101n, { device: 'uart' }, { pc: 0x00ff_ffff_f7ff_f804n }));
  out.push(ev(s++, 'halt', 0n, null, null, { kind: 'poweroff', message: 'SBI shutdown' }));
  return out;
}

function writeTrace(path: string, events: TraceEvent[], finish: 'complete' | 'aborted' | null = 'complete', images: TraceImage[] = []): void {
  const w = TraceWriter.create(path, { config: CONFIG, images, loadedImages: [{ name: 'k.bin', role: 'kernel', base: 0x80200000, size: 4, entry: 0x80200000 }] });
  w.addConsole(5, 0, 1, new TextEncoder().encode('hello '));
  w.addConsole(7, 1, 3, new TextEncoder().encode('world\n'));
  w.addQueuedInput(0, new TextEncoder().encode('AB'));
  w.addInput(40, 0x41, events.length - 2);
  w.addDigest({ vtime: 100, totalInstret: 200, seq: 10, hartInstret: [150, 50], stateHash: 'aa', ramHash: 'bb', final: false });
  // split writes: an array, then an EventBatch
  const half = Math.floor(events.length / 2);
  w.writeEvents(events.slice(0, half));
  const b = new EventBatch(8);
  for (const e of events.slice(half)) {
    if (!b.push(e)) { w.writeEvents(b); b.clear(); b.push(e); }
  }
  w.writeEvents(b);
  const page = new Uint8Array(4096).fill(7);
  const hash = createHash('sha256').update(page).digest();
  w.addCheckpoint({ vtime: 1000, totalInstret: 2000, seq: 5, consoleSeq: 1, consoleBytes: 6 }, new Uint8Array([0x80]), [{ index: 3, hash }, { index: 9, hash }], () => page);
  w.addCheckpoint({ vtime: 3000, totalInstret: 6000, seq: 20, consoleSeq: 2, consoleBytes: 12 }, new Uint8Array([0x80]), [{ index: 3, hash }], () => page);
  if (finish) w.finish(finish, { exit: { kind: 'poweroff', exitCode: 0, message: 'ok' }, counts: { instret: [1, 2], totalInstret: 3, vtime: 99 } });
  else w.close();
}

function fingerprint(path: string): { bytes: string; mtime: number; siblings: boolean[] } {
  return {
    bytes: createHash('sha256').update(readFileSync(path)).digest('hex'),
    mtime: statSync(path).mtimeMs,
    siblings: ['-wal', '-shm', '-journal'].map((s) => existsSync(path + s)),
  };
}

/** Expect TraceReader.open(path) to throw a TraceError matching `re`, leaving the file as it was. */
function expectRefused(path: string, re: RegExp): void {
  const before = fingerprint(path);
  let err: unknown;
  try {
    TraceReader.open(path).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TraceError);
  expect((err as TraceError).message).toMatch(re);
  expect((err as TraceError).exitCode).toBe(2);
  expect(fingerprint(path)).toEqual(before);
}

describe('round trip', () => {
  it('events with 64-bit extremes, NULLs and payloads come back field by field', () => {
    const path = join(dir, 'rt.trace');
    const events = sampleEvents();
    writeTrace(path, events);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const r = TraceReader.open(path);
    try {
      const back = r.readEvents();
      expect(back.length).toBe(events.length);
      for (let i = 0; i < events.length; i++) {
        expect(eventDiff(back[i]!, events[i]!), `event ${i}`).toEqual([]);
        expect(back[i]).toEqual(events[i]);
      }
      // raw storage: signed two's complement INTEGERs
      const raw = r.query('SELECT a, b, c, typeof(b) FROM events WHERE seq = 21').rows[0]!; // b = 2^63, c = 0
      expect(raw[1]).toBe(-(1n << 63n));
      expect(raw[3]).toBe('integer');
      expect(r.query("SELECT epc_hex, cause, interrupt, tval_hex FROM traps").rows[0]).toEqual(['0xfffffffffffffffe', 7n, 1n, '0xffffffffffffffff']);
      expect(r.query("SELECT json_extract(payload_json(payload), '$.who') FROM csr_writes LIMIT 1").rows[0]).toEqual(['insn']);
      expect(r.query('SELECT address_hex, size, write FROM mmio').rows[0]).toEqual(['0x10000005', 1n, 1n]);
    } finally {
      r.close();
    }
  });

  it('meta, console, inputs, digests, checkpoints and pages', () => {
    const path = join(dir, 'rt.trace');
    const r = TraceReader.open(path);
    try {
      expect(r.status).toBe('complete');
      expect(r.schemaVersion).toBe(SCHEMA_VERSION);
      expect(r.config).toEqual(CONFIG);
      expect(r.exit).toEqual({ kind: 'poweroff', exitCode: 0, message: 'ok' });
      expect(r.counts!.events).toBe(sampleEvents().length);
      expect(r.counts!.byKind.csr_write).toBe(EXTREMES.length ** 2);
      expect(r.counts!.instret).toEqual([1, 2]);
      expect(Buffer.from(r.consoleBytes()).toString()).toBe('hello world\n');
      expect(r.consoleSha256).toBe(createHash('sha256').update('hello world\n').digest('hex'));
      expect(r.console().map((c) => [c.seq, c.vtime, c.hart, c.eventSeq])).toEqual([[0, 5, 0, 1], [1, 7, 1, 3]]);
      expect(r.inputQueue()).toEqual([{ vtime: 0, data: new TextEncoder().encode('AB') }]);
      expect(r.inputs()).toEqual([{ vtime: 40, byte: 0x41, seq: sampleEvents().length - 2 }]);
      expect(r.digests()).toEqual([{ vtime: 100, totalInstret: 200, seq: 10, hartInstret: [150, 50], stateHash: 'aa', ramHash: 'bb', final: false }]);
      expect(r.checkpoints().map((c) => c.id)).toEqual([1, 2]);
      expect(r.checkpointAtOrBefore({ totalInstret: 5999 })!.id).toBe(1);
      expect(r.checkpointAtOrBefore({ seq: 20 })!.id).toBe(2);
      expect(r.checkpointAtOrBefore({ vtime: 999 })).toBeNull();
      const ck = r.checkpoint(1);
      expect(ck.pages.map((p) => p.index)).toEqual([3, 9]);
      expect(ck.consoleBytes).toBe(6);
      expect(r.page(ck.pages[0]!.hash)).toEqual(new Uint8Array(4096).fill(7));
      expect(r.counts!.pages).toBe(1);
      expect(r.query('SELECT count(*) FROM pages').rows[0]![0]).toBe(1n);
      expect(r.loadedImages()[0]!.base).toBe(0x80200000);
      expect(() => r.checkpoint(99)).toThrow(TraceError);
    } finally {
      r.close();
    }
  });

  it('filters and batches', () => {
    const r = TraceReader.open(join(dir, 'rt.trace'));
    try {
      const all = r.readEvents();
      expect(r.readEvents({ kinds: ['trap', 'irq'] }).map((e) => e.kind)).toEqual(['trap', 'irq']);
      expect(r.readEvents({ hart: 1 }).every((e) => e.hart === 1)).toBe(true);
      expect(r.readEvents({ from: 3, to: 6 }).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(r.eventCount({ kinds: ['csr_write'], hart: 0 })).toBe(all.filter((e) => e.kind === 'csr_write' && e.hart === 0).length);
      const batches = [...r.eventBatches({}, 7)];
      expect(batches.every((b) => b.length <= 7)).toBe(true);
      expect(batches.flat()).toEqual(all);
      expect([...r.events({ from: 10, limit: 5 })].map((e) => e.seq)).toEqual([10, 11, 12, 13, 14]);
      expect([...r.eventBatches({ hart: 1, limit: 9 }, 4)].flat().map((e) => e.seq)).toEqual(all.filter((e) => e.hart === 1).slice(0, 9).map((e) => e.seq));
      expect(r.event(2)).toEqual(all[2]);
      expect(r.event(100000)).toBeNull();
      expect(r.maxSeq()).toBe(all.length - 1);
    } finally {
      r.close();
    }
  });

  it('images are stored compressed and come back verified', () => {
    const path = join(dir, 'img.trace');
    const bytes = new Uint8Array(10000).map((_, i) => (i * 7) & 0xff);
    const sha = createHash('sha256').update(bytes).digest('hex');
    writeTrace(path, sampleEvents().slice(0, 3), 'complete', [{ role: 'kernel', name: 'k.bin', sha256: sha, size: bytes.length, bytes }]);
    const r = TraceReader.open(path);
    try {
      expect(r.images()).toEqual([{ role: 'kernel', name: 'k.bin', sha256: sha, size: 10000 }]);
      expect(r.imageBytes('kernel')).toEqual(bytes);
      expect(r.imageBytes('initrd')).toBeNull();
      const mc = r.machineConfig();
      expect(mc.harts).toBe(2);
      expect(mc.kernel!.bytes).toEqual(bytes);
    } finally {
      r.close();
    }
  });

  it('an aborted trace and a trace closed without finishing are readable', () => {
    const a = join(dir, 'aborted.trace');
    writeTrace(a, sampleEvents(), 'aborted');
    const c = join(dir, 'closed.trace');
    writeTrace(c, sampleEvents(), null);
    for (const [p, st] of [[a, 'aborted'], [c, 'recording']] as const) {
      expect(existsSync(`${p}-wal`)).toBe(false);
      const r = TraceReader.open(p);
      try {
        expect(r.status).toBe(st);
        expect(r.readEvents().length).toBe(sampleEvents().length);
      } finally {
        r.close();
      }
    }
  });

  it('refuses to overwrite an existing file unless asked', () => {
    const p = join(dir, 'exists.trace');
    writeFileSync(p, 'x');
    expect(() => TraceWriter.create(p, { config: CONFIG })).toThrow(/file exists/);
    expect(readFileSync(p, 'utf8')).toBe('x');
    const w = TraceWriter.create(p, { config: CONFIG }, { overwrite: true });
    w.finish('complete');
    expect(TraceReader.open(p).status).toBe('complete');
  });
});

describe('the reader refuses what is not a trace, and leaves it untouched', () => {
  it('not SQLite', () => {
    const p = join(dir, 'text.trace');
    writeFileSync(p, 'this is not a database\n'.repeat(100));
    expectRefused(p, /not an hvtrace trace \(not an SQLite database\)/);
    const e = join(dir, 'empty.trace');
    writeFileSync(e, '');
    expectRefused(e, /not an hvtrace trace \(not an SQLite database: only 0 bytes\)/);
  });

  it('truncated', () => {
    const p = join(dir, 'trunc.trace');
    copyFileSync(join(dir, 'rt.trace'), p);
    truncateSync(p, Math.floor(statSync(p).size / 2 / 4096) * 4096);
    expectRefused(p, /not an hvtrace trace \(truncated: \d+ bytes, expected \d+\)/);
    const q = join(dir, 'trunc2.trace');
    copyFileSync(join(dir, 'rt.trace'), q);
    truncateSync(q, 5000);
    expectRefused(q, /not an hvtrace trace \(truncated/);
  });

  it('newer schema version', () => {
    const p = join(dir, 'newer.trace');
    copyFileSync(join(dir, 'rt.trace'), p);
    const db = new Database(p);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expectRefused(p, new RegExp(`trace schema version ${SCHEMA_VERSION + 1} is newer than this hvtrace supports \\(${SCHEMA_VERSION}\\)`));
  });

  it('an SQLite database without the schema, or with tables missing', () => {
    const p = join(dir, 'other.db');
    const db = new Database(p);
    db.exec('CREATE TABLE t(x)');
    db.close();
    expectRefused(p, /not an hvtrace trace \(an SQLite database without the hvtrace schema\)/);
    const q = join(dir, 'missing.trace');
    copyFileSync(join(dir, 'rt.trace'), q);
    const d2 = new Database(q);
    d2.exec('DROP TABLE digests');
    d2.close();
    expectRefused(q, /not an hvtrace trace \(missing table digests\)/);
  });

  it('a trace still in WAL mode (its recorder running) is read as it is so far', () => {
    const p = join(dir, 'wal.trace');
    const w = TraceWriter.create(p, { config: CONFIG });
    w.writeEvents(sampleEvents());
    const before = createHash('sha256').update(readFileSync(p)).digest('hex');
    try {
      const r = TraceReader.open(p);
      expect(r.status).toBe('recording'); // this process is its recorder
      expect(r.readEvents().length).toBe(sampleEvents().length);
      r.close();
      // the reader changed nothing of the trace
      expect(createHash('sha256').update(readFileSync(p)).digest('hex')).toBe(before);
    } finally {
      w.finish('complete');
    }
    expect(TraceReader.open(p).status).toBe('complete');
  });

  it('query refuses anything that writes', () => {
    const p = join(dir, 'rt.trace');
    const before = fingerprint(p);
    const r = TraceReader.open(p);
    try {
      for (const sql of [
        'DELETE FROM events', "UPDATE meta SET value = 'x'", 'INSERT INTO inputs (vtime, byte) VALUES (1, 2)', 'DROP TABLE events',
        'CREATE TABLE x(y)', 'PRAGMA user_version = 7', "ATTACH DATABASE '/tmp/x.db' AS x", 'VACUUM', 'BEGIN',
        'SELECT 1; DELETE FROM events',
      ]) {
        expect(() => r.query(sql), sql).toThrow(TraceError);
      }
      expect(() => r.query('SELEC nonsense')).toThrow(/query: /);
      expect(r.query('SELECT count(*) AS n FROM events')).toEqual({ columns: ['n'], rows: [[BigInt(sampleEvents().length)]] });
      expect(r.query('PRAGMA table_info(events)').rows.length).toBe(12);
    } finally {
      r.close();
    }
    expect(fingerprint(p)).toEqual(before);
  });
});
