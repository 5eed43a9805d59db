/**
 * The replayer's fast comparison (recorded events read ahead as columns on a thread,
 * src/trace/event-feed.ts, compared without building events) must report exactly what the
 * object comparison reports: the same verdict, the same first divergence with the same fields and
 * the same context events on both sides, the same counts. Pinned on isa-check (22k events, so
 * divergences fall before, on and after the feed's 4096-row batch boundaries) with tampered,
 * truncated and re-encoded traces.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Packr, Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordSession } from '../src/trace/recorder.js';
import { replay, type ReplayReport } from '../src/replay/replayer.js';
import { FEED_BATCH } from '../src/trace/event-feed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir = '';
let base = '';
let events = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-replay-fast-'));
  base = join(dir, 'isa-check.trace');
  const k = `${ROOT}guests/build/isa-check.elf`;
  const s = RecordSession.create({ path: base, config: { ramSize: 64 << 20, harts: 1, bios: 'builtin', kernel: { name: k, bytes: new Uint8Array(readFileSync(k)) } } });
  s.runToEnd();
  events = s.finish().events;
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

let n = 0;
/** A copy of the recording changed by `sql` (run with the given parameters). */
function variant(edit: (db: Database.Database) => void): string {
  const p = join(dir, `v${n++}.trace`);
  copyFileSync(base, p);
  const db = new Database(p);
  edit(db);
  db.close();
  return p;
}

/** The parts of a report the two comparisons must agree on. */
function essence(r: ReplayReport): unknown {
  return {
    status: r.status,
    events: r.events,
    digests: r.digests,
    instructions: r.instructions,
    end: r.end,
    issues: r.issues.map((i) => ({ kind: i.kind, message: i.message, event: i.event })),
  };
}

function bothWays(path: string): [ReplayReport, ReplayReport] {
  const fast = replay(path, { fastCompare: true });
  const slow = replay(path, { fastCompare: false });
  expect(essence(fast)).toEqual(essence(slow));
  return [fast, slow];
}

describe('fast event comparison during replay', () => {
  it('the untouched recording matches both ways, every event compared', () => {
    expect(events).toBeGreaterThan(4 * FEED_BATCH);
    const [fast] = bothWays(base);
    expect(fast.status).toBe('match');
    expect(fast.events.compared).toBe(events);
  });

  it('a changed field at batch edges and beyond: the same first divergence, fields and context', () => {
    for (const seq of [0, 5, FEED_BATCH - 1, FEED_BATCH, FEED_BATCH + 1, 3 * FEED_BATCH + 17, events - 2, events - 1]) {
      const p = variant((db) => db.prepare('UPDATE events SET vtime = vtime + 1 WHERE seq = ?').run(seq));
      const [fast] = bothWays(p);
      expect(fast.status, `seq ${seq}`).toBe('divergence');
      const d = fast.issues[0]!.event!.divergence;
      expect(fast.issues[0]!.event!.seq).toBe(seq);
      expect(d.differences.map((x) => x.field)).toEqual(['vtime']);
      expect(d.before.expected.length).toBe(Math.min(seq, 8));
      expect(d.before.actual.map((e) => e.seq)).toEqual(d.before.expected.map((e) => e.seq));
    }
  });

  it('a recording missing its last events: the replay produces extra events, reported the same', () => {
    const p = variant((db) => db.prepare('DELETE FROM events WHERE seq >= ?').run(events - 3));
    const [fast] = bothWays(p);
    expect(fast.status).toBe('divergence');
    expect(fast.issues[0]!.event!.divergence.reason).toBe('extra');
    expect(fast.issues[0]!.event!.seq).toBe(events - 3);
  });

  it('a recording with an event the replay does not produce: missing, reported the same', () => {
    const p = variant((db) => db.prepare(
      "INSERT INTO events (seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload) SELECT seq + 1, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload FROM events WHERE seq = ?",
    ).run(events - 1));
    const [fast] = bothWays(p);
    expect(fast.status).toBe('divergence');
    expect(fast.issues[0]!.event!.divergence.reason).toBe('missing');
    expect(fast.issues[0]!.event!.seq).toBe(events);
  });

  it('a payload stored with other bytes but the same value still matches (the object comparison decides)', () => {
    const p = variant((db) => {
      const row = db.prepare('SELECT seq, payload FROM events WHERE payload IS NOT NULL AND seq > ? ORDER BY seq LIMIT 1').get(FEED_BATCH + 100) as { seq: number; payload: Buffer };
      const value = new Unpackr({ useRecords: false, int64AsType: 'bigint' }).unpack(row.payload) as Record<string, unknown>;
      // The same map with its keys in reverse order: other bytes, equal value.
      const reordered = Object.fromEntries(Object.entries(value).reverse());
      const bytes = new Packr({ useRecords: false, variableMapSize: true }).pack(reordered);
      if (Object.keys(value).length > 1) expect(Buffer.compare(bytes, row.payload)).not.toBe(0);
      db.prepare('UPDATE events SET payload = ? WHERE seq = ?').run(bytes, row.seq);
    });
    const [fast] = bothWays(p);
    expect(fast.status).toBe('match');
    expect(fast.events.compared).toBe(events);
  });
});
