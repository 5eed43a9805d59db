/**
 * The events' running hash stored with each state digest (schema 2: digests.events_hash and
 * kind_counts; src/trace/event-hash.ts): the recorder's hash of its columns equals the hash of
 * the rows as stored (64-bit extremes, NULLs, shared and one-off payloads), any one changed field
 * changes it, and every digest of a recording agrees with the events stored before it, with the
 * writer thread and without.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBatch, type TraceEvent, type EventKind } from '../src/trace/model.js';
import { TraceWriter, TraceReader, SCHEMA_VERSION, HVTRACE_VERSION, type TraceConfig } from '../src/trace/store.js';
import { EventHasher } from '../src/trace/event-hash.js';
import { Recorder, RecordSession } from '../src/trace/recorder.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-evhash-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const CONFIG: TraceConfig = {
  producer: 'test', hvtraceVersion: HVTRACE_VERSION, schemaVersion: SCHEMA_VERSION, machine: null,
  quantum: null, maxInsns: null, digestEvery: null, checkpointEvery: null, input: { source: 'none' },
};
const U64_MAX = (1n << 64n) - 1n;
const EXTREMES = [0n, 1n, 0x7fffffffn, 0x80000000n, (1n << 63n) - 1n, 1n << 63n, U64_MAX, 0xffffffff80000000n];
const WHO = Object.freeze({ who: 'insn' });

function ev(seq: number, kind: EventKind, a: bigint | null, b: bigint | null, c: bigint | null, payload: Record<string, unknown> | null = null, over: Partial<TraceEvent> = {}): TraceEvent {
  return { seq, vtime: seq * 10, hart: seq % 3, instret: seq * 9, pc: 0x8020_0000n + BigInt(seq) * 4n, priv: seq % 2 ? 1 : 3, virt: seq % 5 === 0, kind, a, b, c, payload, ...over };
}

function sample(): TraceEvent[] {
  const out: TraceEvent[] = [];
  let s = 0;
  for (const x of EXTREMES) for (const y of EXTREMES) out.push(ev(s++, 'csr_write', 0x300n, x, y, WHO as Record<string, unknown>));
  out.push(ev(s++, 'trap', (1n << 63n) | 7n, U64_MAX, 0xffffffffc0000000n, { from: 1, to: 3 }, { pc: U64_MAX - 1n }));
  out.push(ev(s++, 'sbi_call', 0x4442434en, 0n, U64_MAX - 1n, { args: [U64_MAX, 0n, 1n << 63n, 5n, 6n, 7n], value: 3n, handler: 'firmware', caller: 1 }));
  out.push(ev(s++, 'irq', 7n, 1n, null));
  out.push(ev(s++, 'hart_state', 0n, null, null, null, { hart: 7 }));
  out.push(ev(s++, 'mmio', 0x1000_0005n, 0x60n, 0x101n, { device: 'uart' }, { pc: 0xffffffff80001234n }));
  out.push(ev(s++, 'input', 0x41n, null, null, null, { vtime: 2 ** 52 + 3, instret: 2 ** 40 }));
  out.push(ev(s++, 'halt', 0n, null, null, { kind: 'poweroff', message: 'SBI shutdown' }));
  return out;
}

function batchOf(events: readonly TraceEvent[]): EventBatch {
  const b = new EventBatch(events.length);
  for (const e of events) b.push(e);
  return b;
}

function hashOfColumns(events: readonly TraceEvent[]): EventHasher {
  const h = new EventHasher();
  h.addColumns(batchOf(events), 0, events.length);
  return h;
}

function write(path: string, events: readonly TraceEvent[]): void {
  const w = TraceWriter.create(path, { config: CONFIG });
  w.writeEvents(batchOf(events));
  w.finish('complete');
}

function hashOfStored(path: string, from = 0, to = Infinity): EventHasher {
  const r = TraceReader.open(path);
  try {
    const h = new EventHasher();
    h.addStoredRows(r.hashedEventRows(from, Math.min(to, r.maxSeq() + 1)));
    return h;
  } finally {
    r.close();
  }
}

describe('EventHasher', () => {
  it('the hash of the recorder\'s columns is the hash of the rows as stored, counts per kind too', () => {
    const events = sample();
    const p = join(dir, 'sample.trace');
    write(p, events);
    const cols = hashOfColumns(events);
    const rows = hashOfStored(p);
    expect(cols.count).toBe(events.length);
    expect(rows.hex()).toMatch(/^[0-9a-f]{16}$/);
    expect(rows.hex()).toBe(cols.hex());
    expect(rows.kindCounts()).toEqual(cols.kindCounts());
    expect(cols.kindCounts()).toEqual({ trap: 1, csr_write: EXTREMES.length ** 2, sbi_call: 1, mmio: 1, irq: 1, hart_state: 1, input: 1, halt: 1 });
    // in pieces: the same running value
    const h = new EventHasher();
    const b = batchOf(events);
    h.addColumns(b, 0, 5);
    h.addColumns(b, 5, events.length);
    expect(h.hex()).toBe(cols.hex());
  });

  it('any one changed field, a NULL, a payload byte or the order changes it', () => {
    const events = sample();
    const base = hashOfColumns(events).hex();
    const k = EXTREMES.length ** 2; // the trap
    const variants: Partial<TraceEvent>[] = [
      { seq: events[k]!.seq + 1 }, { vtime: events[k]!.vtime + 1 }, { hart: 2 }, { instret: events[k]!.instret + 2 ** 33 },
      { pc: events[k]!.pc ^ (1n << 40n) }, { priv: 0 }, { virt: !events[k]!.virt }, { kind: 'trap_return' },
      { a: null }, { b: events[k]!.b! ^ (1n << 63n) }, { c: 0n }, { payload: { from: 1, to: 1 } }, { payload: null },
    ];
    const seen = new Set([base]);
    for (const v of variants) {
      const changed = events.map((e, i) => (i === k ? { ...e, ...v } : e));
      const h = hashOfColumns(changed).hex();
      expect(seen.has(h), JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))).toBe(false);
      seen.add(h);
    }
    const swapped = events.slice();
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(hashOfColumns(swapped).hex()).not.toBe(base);
    expect(hashOfColumns(events.slice(0, -1)).hex()).not.toBe(base);
  });
});

describe('digests of a recording', () => {
  for (const writerThread of [true, false]) {
    it(`every digest's events_hash and kind_counts are those of the events stored before it (${writerThread ? 'writer thread' : 'in-thread writer'})`, () => {
      const path = join(dir, `smp-${writerThread}.trace`);
      const kernel = `${ROOT}guests/build/smp-kernel.elf`;
      const s = RecordSession.create({
        path, writerThread, digestEvery: 20_000, checkpointEvery: 100_000, maxInsns: 50_000_000,
        config: { ramSize: 64 << 20, harts: 4, bios: 'builtin', kernel: { name: kernel, bytes: new Uint8Array(readFileSync(kernel)) } },
        input: { source: 'file', name: 'test' },
      });
      s.queueInput(new TextEncoder().encode('hello\n'), 0);
      s.runToEnd();
      s.finish();
      const r = TraceReader.open(path);
      try {
        const ds = r.digests();
        expect(ds.length).toBeGreaterThan(4);
        expect(ds.at(-1)!.final).toBe(true);
        for (const d of ds) {
          const h = new EventHasher();
          h.addStoredRows(r.hashedEventRows(0, d.seq));
          expect(h.count).toBe(d.seq);
          expect(d.eventsHash, `digest at instruction ${d.totalInstret}`).toBe(h.hex());
          expect(d.kindCounts).toEqual(h.kindCounts());
        }
      } finally {
        r.close();
      }
    });
  }

  it('a recorder that starts (or is reset) past seq 0 does not claim a hash', () => {
    const rec = new Recorder(() => {}, { startSeq: 10 });
    expect(rec.eventsDigest()).toBeNull();
    const r0 = new Recorder(() => {});
    expect(r0.eventsDigest()).toEqual({ eventsHash: new EventHasher().hex(), kindCounts: {} });
    r0.reset(5);
    expect(r0.eventsDigest()).toBeNull();
    r0.reset(0);
    expect(r0.eventsDigest()).not.toBeNull();
  });
});
