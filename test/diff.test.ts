/**
 * The differ (src/diff/compare.ts) and `hvtrace diff` / `hvtrace import qemu`; the one-line,
 * exit-2, never-modify contract of `diff` and `replay` on unusable files; diff never says "same"
 * when the traces differ (events changed behind equal state digests; images, configuration,
 * input, console and end of run compared first: issue 12).
 *
 * The CLI tests need the build (dist/cli/main.js; `npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventComparer, compareEvents, compareEventsSync, deepEqual, CompareError, formatDivergence,
} from '../src/diff/compare.js';
import type { TraceEvent } from '../src/trace/model.js';
import { parseElf, findSymbol, symbolizer } from '../src/image/loader.js';
import { EventHasher } from '../src/trace/event-hash.js';
import { TraceReader } from '../src/trace/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const HELLO = `${ROOT}guests/build/hello.elf`;
const SMPK = `${ROOT}guests/build/smp-kernel.elf`;

// ---------------------------------------------------------------------------------------------
// the comparer
// ---------------------------------------------------------------------------------------------

function ev(seq: number, kind: TraceEvent['kind'] = 'csr_write', over: Partial<TraceEvent> = {}): TraceEvent {
  return {
    seq, vtime: seq * 10, hart: 0, instret: seq * 10, pc: 0x80200000n + BigInt(seq) * 4n, priv: 1, virt: false, kind,
    a: 0x100n, b: BigInt(seq), c: BigInt(seq + 1), payload: { who: 'insn', args: [1n, 2n], raw: Uint8Array.of(seq & 0xff) }, ...over,
  };
}
const stream = (n: number, f: (i: number) => TraceEvent = (i) => ev(i)): TraceEvent[] => Array.from({ length: n }, (_, i) => f(i));
async function* asyncOf(list: TraceEvent[]): AsyncGenerator<TraceEvent> {
  for (const e of list) {
    await Promise.resolve();
    yield e;
  }
}

describe('EventComparer', () => {
  it('equal streams (sync and async, deep payloads): same, every position compared', async () => {
    const a = stream(50);
    const b = stream(50).map((e) => ({ ...e, payload: { ...e.payload!, args: [1n, 2n], raw: Uint8Array.of(e.seq & 0xff) } }));
    const r = compareEventsSync(a, b);
    expect(r.status).toBe('same');
    expect(r.summary.compared).toBe(50);
    expect(r.summary.matched).toBe(50);
    expect(r.summary.expected.perKind).toEqual({ csr_write: 50 });
    const r2 = await compareEvents(asyncOf(a), asyncOf(b));
    expect(r2.status).toBe('same');
    const r3 = await compareEvents(a, asyncOf(b));
    expect(r3.summary.compared).toBe(50);
  });

  it('the first differing field: index, both events, the N events before on each side', () => {
    const a = stream(40);
    const b = stream(40, (i) => (i === 23 ? ev(i, 'csr_write', { c: 999n }) : i === 30 ? ev(i, 'mmio') : ev(i)));
    const r = compareEventsSync(a, b, { context: 4 });
    expect(r.status).toBe('different');
    const d = r.divergence!;
    expect(d.reason).toBe('mismatch');
    expect(d.index).toBe(23);
    expect(d.differences).toEqual([{ field: 'c', expected: 24n, actual: 999n }]);
    expect(d.expected!.seq).toBe(23);
    expect(d.before.expected.map((e) => e.seq)).toEqual([19, 20, 21, 22]);
    expect(d.before.actual.map((e) => e.seq)).toEqual([19, 20, 21, 22]);
    expect(r.summary.compared).toBe(24);
    expect(r.summary.matched).toBe(23);
    // Drained: per-kind counts of everything on each side.
    expect(r.summary.actual.perKind).toEqual({ csr_write: 39, mmio: 1 });
    const text = formatDivergence(d, (x) => (x === d.expected!.pc ? 'main+0x5c' : undefined));
    expect(text).toContain('first divergence at event index 23');
    expect(text).toContain('<main+0x5c>');
    // a/b/c under the kind's field names (src/trace/event-kinds.ts): csr_write's c is `new`.
    expect(text).toMatch(/\n  new: expected 0x18, actual 0x3e7\n/);
    expect(text).toContain('csr_write csr=0x100 old=0x17 new=0x18');
  });

  it('payload differences are deep (bigint arrays, bytes, nested keys)', () => {
    expect(deepEqual({ a: [1n, { b: Uint8Array.of(1, 2) }] }, { a: [1n, { b: Uint8Array.of(1, 2) }] })).toBe(true);
    expect(deepEqual({ a: [1n, { b: Uint8Array.of(1, 2) }] }, { a: [1n, { b: Uint8Array.of(1, 3) }] })).toBe(false);
    expect(deepEqual({ a: 1n }, { a: 1 })).toBe(false);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    const a = stream(5);
    const b = stream(5, (i) => (i === 2 ? ev(i, 'csr_write', { payload: { who: 'insn', args: [1n, 3n], raw: Uint8Array.of(2) } }) : ev(i)));
    const r = compareEventsSync(a, b);
    expect(r.divergence!.differences.map((x) => x.field)).toEqual(['payload']);
  });

  it('one stream ends first: missing / extra', () => {
    const r = compareEventsSync(stream(10), stream(7));
    expect(r.divergence).toMatchObject({ reason: 'missing', index: 7, actual: null });
    expect(r.divergence!.expected!.seq).toBe(7);
    const r2 = compareEventsSync(stream(7), stream(10));
    expect(r2.divergence).toMatchObject({ reason: 'extra', index: 7, expected: null });
  });

  it('kinds filter (seq then not compared), ignored fields, fields only one side has', () => {
    // B has an extra irq event: every later seq shifts, but the csr_writes are the same.
    const a = stream(20);
    const b: TraceEvent[] = [...stream(5), ev(99, 'irq'), ...stream(15, (i) => ({ ...ev(i + 5), seq: i + 6 }))];
    expect(compareEventsSync(a, b).status).toBe('different');
    const r = compareEventsSync(a, b, { kinds: ['csr_write'] });
    expect(r.status).toBe('same');
    expect(r.summary.compared).toBe(20);
    expect(r.summary.ignored).toContain('seq');
    const c = stream(20, (i) => ({ ...ev(i), vtime: 7 }));
    expect(compareEventsSync(a, c).status).toBe('different');
    expect(compareEventsSync(a, c, { ignore: ['vtime'] }).status).toBe('same');
    // A reference without vtime / instret / payload: those are not compared.
    const ref = stream(20, (i) => ({ ...ev(i), vtime: 0, instret: 0, payload: { desc: 'x' } }));
    const r2 = compareEventsSync(ref, a, { fields: { expected: ['kind', 'hart', 'pc', 'a', 'b'] } });
    expect(r2.status).toBe('same');
    expect(r2.summary.fieldsCompared).toEqual(['kind', 'hart', 'pc', 'a', 'b']);
  });

  it('zero events compared is an error ("empty"), never a pass; bad option names are errors', () => {
    expect(compareEventsSync([], []).status).toBe('empty');
    expect(compareEventsSync(stream(5), stream(5), { kinds: ['vm_exit'] }).status).toBe('empty');
    expect(() => new EventComparer({ ignore: ['pcx'] })).toThrow(CompareError);
    expect(() => new EventComparer({ ignore: ['kind'] })).toThrow(/cannot be ignored/);
    expect(() => new EventComparer({ kinds: ['traps' as never] })).toThrow(/unknown event kind "traps"/);
  });

  it('push mode (a recorder feeding one side): the divergence is known as soon as it happens', () => {
    const c = new EventComparer({ drain: false });
    let seen = -1;
    c.onDivergence = (d) => { seen = d.index; };
    const a = stream(10);
    for (let i = 0; i < 10; i++) {
      c.expected(a[i]!);
      c.actual(i === 6 ? ev(i, 'trap') : a[i]!);
      if (c.done) break;
    }
    expect(seen).toBe(6);
    expect(c.done).toBe(true);
    expect(c.result().divergence!.differences[0]!.field).toBe('kind');
  });
});

// ---------------------------------------------------------------------------------------------
// through the CLI
// ---------------------------------------------------------------------------------------------

let dir = '';
const tmp = (name: string): string => join(dir, name);

interface CliResult { status: number | null; stdout: string; stderr: string }
function cli(args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: '', encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function record(name: string, kernel: string, harts = 1, extra: string[] = []): string {
  const p = tmp(name);
  const r = cli(['record', '--kernel', kernel, '--smp', String(harts), '-o', p, '-q', '--digest-every', '20000', '--checkpoint-every', '100000', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return p;
}
function fileState(p: string): string {
  return `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs} ${statSync(p).size}`;
}
/** Exit 2, exactly one "hvtrace: " line on stderr matching `want`, the file untouched. */
function expectUnusable(args: string[], file: string, want: RegExp): void {
  const before = fileState(file);
  const r = cli(args);
  const ctx = `${args.join(' ')}: exit ${r.status}\n${r.stderr}\n${r.stdout}`;
  expect(r.status, ctx).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, ctx).toHaveLength(1);
  expect(lines[0], ctx).toMatch(/^hvtrace: \S/);
  expect(lines[0], ctx).not.toMatch(/\bat .*:\d+:\d+|Error:|TypeError/);
  expect(lines[0], ctx).toMatch(want);
  expect(fileState(file), `${args.join(' ')} modified ${file}`).toBe(before);
  for (const sfx of ['-wal', '-shm', '-journal']) expect(existsSync(file + sfx), `${file}${sfx} created`).toBe(false);
}

/** hello.elf with the immediate of `addi a0,a0,-1388` in main (the first printf's format string) changed to -1380. */
function patchedHello(): string {
  const bytes = new Uint8Array(readFileSync(HELLO));
  const elf = parseElf(bytes);
  const main = findSymbol(elf.symbols, 'main')!;
  const seg = elf.segments.find((s) => main.value >= s.vaddr && main.value < s.vaddr + s.memsz)!;
  const off = seg.data.byteOffset + Number(main.value - seg.vaddr) + 8; // main+0x8
  const dv = new DataView(bytes.buffer);
  const insn = dv.getUint32(off, true);
  expect(insn, 'main+0x8 is addi a0,a0,-1388').toBe(0xa9450513);
  dv.setUint32(off, ((insn & 0xfffff) | ((-1380 & 0xfff) << 20)) >>> 0, true);
  const p = tmp('hello-patched.elf');
  writeFileSync(p, bytes);
  return p;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npx tsc -p .)`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-diff-'));
  writeFileSync(tmp('input.txt'), 'hello\n');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hvtrace diff', () => {
  it('two recordings of the same run are the same (exit 0) in every format', () => {
    const a = record('h1.trace', HELLO);
    const b = record('h2.trace', HELLO);
    const r = cli(['diff', a, b]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hvtrace diff: .*h1\.trace and .*h2\.trace are the same\ncompared (\d+) events \(\1 matched/);
    const j = JSON.parse(cli(['diff', a, b, '--format', 'json']).stdout);
    expect(j.status).toBe('same');
    expect(j.summary.compared).toBeGreaterThan(20);
    expect(j.summary.expected.perKind).toEqual(j.summary.actual.perKind);
    const x = cli(['diff', a, b, '--format', 'junit']);
    expect(x.status).toBe(0);
    expect(x.stdout).toMatch(/^<\?xml version="1.0"/);
    expect(x.stdout).toContain('failures="0" errors="0"');
    // multi-hart with input, digests along the way (the common start is skipped through them)
    const s1 = record('s1.trace', SMPK, 2, ['--input', tmp('input.txt')]);
    const s2 = record('s2.trace', SMPK, 2, ['--input', tmp('input.txt')]);
    const js = JSON.parse(cli(['diff', s1, s2, '--format', 'json']).stdout);
    expect(js.status).toBe('same');
    expect(js.skippedTo).not.toBeNull();
    expect(js.summary.skipped).toBeGreaterThan(0);
    const full = JSON.parse(cli(['diff', s1, s2, '--format', 'json', '--no-digests']).stdout);
    expect(full.status).toBe('same');
    expect(full.summary.skipped).toBe(0);
    expect(full.summary.compared).toBe(js.summary.compared);
  });

  it('a kernel changed by one instruction: the image difference first, then the first changed event, with its pc and symbol (exit 1)', () => {
    const a = tmp('h1.trace');
    const b = record('hp.trace', patchedHello());
    // The first difference, found independently.
    const rows = (p: string) => {
      const db = new Database(p, { readonly: true });
      const r = db.prepare('SELECT seq, vtime, hart, instret, pc, priv, kind, a, b, c, hex(payload) AS p FROM events ORDER BY seq').safeIntegers(true).all() as Record<string, unknown>[];
      db.close();
      return r;
    };
    const ra = rows(a), rb = rows(b);
    let k = 0;
    while (k < ra.length && JSON.stringify(ra[k], (_, v) => (typeof v === 'bigint' ? v.toString() : v)) === JSON.stringify(rb[k], (_, v) => (typeof v === 'bigint' ? v.toString() : v))) k++;
    expect(k).toBeLessThan(ra.length);
    const first = ra[k]!;
    const pc = BigInt.asUintN(64, first.pc as bigint);
    const sym = symbolizer(parseElf(new Uint8Array(readFileSync(HELLO))).symbols)(pc)!;
    expect(sym).toBeTruthy();
    const r = cli(['diff', a, b]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const lines = r.stdout.split('\n');
    // The images differ: said first, before the first event difference.
    expect(lines[0]).toMatch(/^hvtrace diff: .*h1\.trace and .*hp\.trace differ: the kernel image differs: .*h1\.trace has .*hello\.elf \(sha256 [0-9a-f]{12}, \d+ bytes\), .*hp\.trace has .*hello-patched\.elf \(sha256 [0-9a-f]{12}/);
    const head = lines.find((l) => l.startsWith('first event difference: '))!;
    expect(head).toContain(`event #${first.seq} (${first.kind as string}) differs in`);
    expect(head).toContain(`pc 0x${pc.toString(16)} <${sym}>`);
    expect(r.stdout.indexOf('images: the kernel image differs')).toBeLessThan(r.stdout.indexOf('first event difference: '));
    expect(r.stdout).toContain(`first divergence at event index ${k}`);
    const j = JSON.parse(cli(['diff', a, b, '--format', 'json']).stdout);
    expect(j.status).toBe('different');
    // The image, and what it printed (its first printf's format string moved).
    expect(j.differences.map((d: { area: string }) => d.area)).toEqual(['images', 'console']);
    expect(j.differences[0]).toMatchObject({ area: 'images', item: 'kernel' });
    expect(j.message).toBe(j.differences[0].message);
    expect(j.divergence.message).toBe(head.slice('first event difference: '.length));
    expect(j.divergence.expected.seq).toBe(Number(first.seq));
    expect(j.divergence.where).toMatchObject({ pc: `0x${pc.toString(16)}`, symbol: sym });
    expect(j.divergence.before.expected.length).toBe(5);
    const x = cli(['diff', a, b, '--format', 'junit']);
    expect(x.status).toBe(1);
    expect(x.stdout).toContain('failures="1"');
    expect(x.stdout).toMatch(/<failure message="the kernel image differs: /);
    expect(x.stdout).toContain(`first event difference: event #${first.seq} `);
  });

  it('zero events compared is an error (exit 2), also in JUnit', () => {
    const a = tmp('h1.trace'), b = tmp('h2.trace');
    expectUnusable(['diff', a, b, '--kinds', 'vm_exit'], a, /nothing to compare: 0 events of kind vm_exit/);
    const x = cli(['diff', a, b, '--kinds', 'vm_exit', '--format', 'junit']);
    expect(x.status).toBe(2);
    expect(x.stdout).toContain('errors="1"');
    expectUnusable(['diff', a, b, '--kinds', 'trapz'], a, /unknown event kind "trapz" \(kinds: .*; presets: exceptions, /);
    expectUnusable(['diff', a, b, '--ignore', 'pcc'], a, /unknown event field "pcc"/);
    expectUnusable(['diff', a, b, '--format', 'xml'], a, /--format xml/);
  });
});

/** A copy of `src` named `name`, changed by `sql` statements. */
function tampered(src: string, name: string, ...sql: string[]): string {
  const p = tmp(name);
  copyFileSync(src, p);
  const db = new Database(p);
  for (const q of sql) db.exec(q);
  db.close();
  return p;
}
interface DiffJson {
  status: string; message?: string;
  differences: { area: string; item: string; a: string | null; b: string | null; message: string }[];
  divergence: null | { index: number; message: string; expected: { seq: number; kind: string } | null; actual: { seq: number; kind: string } | null; differences: { field: string }[] };
  skippedTo: null | { seq: number; digests: number };
  notes: string[];
  summary: { compared: number; skipped: number; expected: { perKind: Record<string, number> }; actual: { perKind: Record<string, number> } };
}
const diffJson = (...args: string[]): { status: number | null; j: DiffJson; stderr: string } => {
  const r = cli(['diff', ...args, '--format', 'json']);
  return { status: r.status, j: JSON.parse(r.stdout) as DiffJson, stderr: r.stderr };
};

describe('diff never says "same" when the traces differ', () => {
  /** Exit 1 naming event #10 in every format; kinds of event #10 on each side. */
  function expectEvent10(a: string, b: string, extra: string[] = []): DiffJson {
    const t = cli(['diff', a, b, ...extra]);
    expect(t.status, t.stdout + t.stderr).toBe(1);
    expect(t.stdout.split('\n')[0]).toMatch(/ differ: event #10 \(\w+\) differs in /);
    const { status, j } = diffJson(a, b, ...extra);
    expect(status).toBe(1);
    expect(j.status).toBe('different');
    expect(j.divergence!.expected!.seq).toBe(10);
    expect(j.divergence!.actual!.seq).toBe(10);
    const x = cli(['diff', a, b, ...extra, '--format', 'junit']);
    expect(x.status).toBe(1);
    expect(x.stdout).toContain('failures="1"');
    expect(x.stdout).toMatch(/<failure message="event #10 /);
    return j;
  }

  it('event #10\'s kind changed in a copy, digests on both sides (the case that said "same"): exit 1, event #10, in every format', () => {
    const a = tmp('h1.trace');
    // Both sides have digests past event #10: an untouched copy skips through them.
    const same = diffJson(a, tampered(a, 'h1-copy.trace'));
    expect(same.status).toBe(0);
    expect(same.j.skippedTo!.seq).toBeGreaterThan(10 + 5);
    const b = tampered(a, 'h1-kind10.trace', "UPDATE events SET kind = CASE kind WHEN 'csr_write' THEN 'trap' ELSE 'csr_write' END WHERE seq = 10");
    const j = expectEvent10(a, b);
    expect(j.divergence!.differences.map((d) => d.field)).toEqual(['kind']);
    expect(j.summary.expected.perKind).not.toEqual(j.summary.actual.perKind);
    expect(j.skippedTo).toBeNull();
    // The file no longer holds the events its recorder hashed: said, as a warning.
    expect(j.notes.join('\n')).toMatch(/h1-kind10\.trace: the stored events #0\.\.#\d+ are not the ones recorded before its state digest 1 \(per kind: .*\): the file was changed after recording/);
    const t = cli(['diff', a, b]);
    expect(t.stderr).toMatch(/^hvtrace: warning: .*h1-kind10\.trace: the stored events/m);
    // Either way round, and without digests.
    expectEvent10(b, a);
    expectEvent10(a, b, ['--no-digests']);
  });

  it('a field changed with the counts per kind unchanged: the events hash catches it', () => {
    const a = tmp('h1.trace');
    const b = tampered(a, 'h1-a10.trace', 'UPDATE events SET a = a + 1 WHERE seq = 10');
    const j = expectEvent10(a, b);
    expect(j.divergence!.differences.map((d) => d.field)).toEqual(['a']);
    expect(j.summary.expected.perKind).toEqual(j.summary.actual.perKind);
    expect(j.notes.join('\n')).toMatch(/h1-a10\.trace: .*their hash is [0-9a-f]{16}, recorded [0-9a-f]{16}/);
  });

  it('a row deleted from either copy: exit 1 at event #10', () => {
    const a = tmp('h1.trace');
    const b = tampered(a, 'h1-del10.trace', 'DELETE FROM events WHERE seq = 10');
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const { status, j } = diffJson(x, y);
      expect(status).toBe(1);
      expect(j.divergence!.index).toBe(10);
      expect(j.notes.join('\n')).toMatch(/h1-del10\.trace: the stored events #0\.\.#\d+ are not the ones recorded before its state digest 1 \(\d+ events stored where \d+ were recorded/);
    }
  });

  it('recorded events that differ before equal state digests (consistent files): no skip past them', () => {
    const a = tmp('h1.trace');
    // B as if its recorder had emitted a different event #10, with digests to match.
    const b = tampered(a, 'h1-consistent.trace', 'UPDATE events SET b = b + 1 WHERE seq = 10');
    const db = new Database(b);
    const digests = db.prepare('SELECT id, seq FROM digests ORDER BY id').all() as { id: number; seq: number }[];
    db.close();
    const fixes: string[] = [];
    const r = TraceReader.open(b);
    for (const d of digests) {
      const h = new EventHasher();
      h.addStoredRows(r.hashedEventRows(0, d.seq));
      fixes.push(`UPDATE digests SET events_hash = '${h.hex()}', kind_counts = '${JSON.stringify(h.kindCounts())}' WHERE id = ${d.id}`);
    }
    r.close();
    const b2 = tampered(b, 'h1-consistent2.trace', ...fixes);
    const j = expectEvent10(a, b2);
    expect(j.notes).toEqual([]);
    expect(j.divergence!.differences.map((d) => d.field)).toEqual(['b']);
  });

  it('a golden trace and a copy with event #10\'s kind changed: exit 1', () => {
    const golden = `${ROOT}traces/golden/smp-kernel-smp4.trace`;
    // Its digests (schema 2) skip past event #10 when nothing was changed.
    const same = diffJson(golden, tampered(golden, 'golden-copy.trace'));
    expect(same.status).toBe(0);
    expect(same.j.skippedTo!.seq).toBeGreaterThan(10 + 5);
    const b = tampered(golden, 'golden-kind10.trace', "UPDATE events SET kind = CASE kind WHEN 'csr_write' THEN 'trap' ELSE 'csr_write' END WHERE seq = 10");
    expectEvent10(golden, b);
  });

  it('a schema 1 trace (digests without the events hash): no skip, every event compared; replay says the schema differs', () => {
    const v1 = tampered(tmp('s1.trace'), 'v1.trace', 'ALTER TABLE digests DROP COLUMN events_hash', 'ALTER TABLE digests DROP COLUMN kind_counts',
      "UPDATE meta SET value = '1' WHERE key = 'schema_version'", "UPDATE meta SET value = json_set(value, '$.schemaVersion', 1) WHERE key = 'config'", 'PRAGMA user_version = 1');
    const v1b = tampered(v1, 'v1-copy.trace');
    const same = diffJson(v1, v1b);
    expect(same.status).toBe(0);
    expect(same.j.skippedTo).toBeNull();
    expect(same.j.summary.skipped).toBe(0);
    expectEvent10(v1, tampered(v1, 'v1-kind10.trace', "UPDATE events SET kind = CASE kind WHEN 'csr_write' THEN 'trap' ELSE 'csr_write' END WHERE seq = 10"));
    expectUnusable(['replay', v1], v1, /v1\.trace: cannot replay: trace schema version 1 differs from this hvtrace's \(\d+\)/);
  });
});

describe('diff compares images, configuration, input, console output and the end of the run', () => {
  it('another number of harts: a configuration difference', () => {
    const a = tmp('h1.trace');
    const b = record('h-smp2.trace', HELLO, 2);
    const { status, j } = diffJson(a, b);
    expect(status).toBe(1);
    expect(j.differences[0]).toEqual({ area: 'config', item: 'harts', a: '1', b: '2', message: expect.stringMatching(/^the number of harts \(--smp\) differs: .*h1\.trace 1, .*h-smp2\.trace 2$/) });
    expect(j.message).toBe(j.differences[0]!.message);
  });

  it('other input: an input difference', () => {
    writeFileSync(tmp('input2.txt'), 'bye\n');
    const a = tmp('s1.trace');
    const b = record('s-bye.trace', SMPK, 2, ['--input', tmp('input2.txt')]);
    const { status, j } = diffJson(a, b);
    expect(status).toBe(1);
    expect(j.differences.map((d) => d.area)).toContain('input');
    expect(j.differences.find((d) => d.area === 'input')!.message).toMatch(/^the input differs: .*s1\.trace 6 bytes \(file .*input\.txt\), .*s-bye\.trace 4 bytes/);
  });

  it('the console output changed (events equal): exit 1 with where it differs; --ignore console: exit 0', () => {
    const a = tmp('h1.trace');
    const b = tampered(a, 'h1-console.trace', "UPDATE console SET data = CAST(replace(CAST(data AS TEXT), 'e', 'E') AS BLOB) WHERE seq = (SELECT min(seq) FROM console)");
    const t = cli(['diff', a, b]);
    expect(t.status, t.stdout + t.stderr).toBe(1);
    expect(t.stdout.split('\n')[0]).toMatch(/ differ: the console output differs \(.*h1\.trace \d+ bytes, .*h1-console\.trace \d+ bytes\): first difference at byte \d+ \(line 1\): /);
    expect(t.stdout).toContain('the events are the same (');
    const x = cli(['diff', a, b, '--format', 'junit']);
    expect(x.status).toBe(1);
    expect(x.stdout).toMatch(/<failure message="the console output differs/);
    const ig = cli(['diff', a, b, '--ignore', 'console']);
    expect(ig.status, ig.stdout + ig.stderr).toBe(0);
    expect(ig.stdout).toMatch(/are the same/);
  });

  it('one run complete, the other aborted: the end of run differs', () => {
    const a = tmp('h1.trace');
    const b = tampered(a, 'h1-aborted.trace', "UPDATE meta SET value = 'aborted' WHERE key = 'status'",
      `UPDATE meta SET value = '{"kind":"aborted","exitCode":130,"message":"recording interrupted"}' WHERE key = 'exit'`);
    const { status, j } = diffJson(a, b);
    expect(status).toBe(1);
    expect(j.differences).toEqual([{
      area: 'status', item: 'status', a: expect.stringMatching(/^complete \(\w+, exit 0/), b: 'aborted (aborted, exit 130: recording interrupted)',
      message: expect.stringMatching(/^the run ended differently: .*h1\.trace complete \(.*\), .*h1-aborted\.trace aborted \(aborted, exit 130: recording interrupted\)$/),
    }]);
    expect(j.divergence).toBeNull();
    expect(cli(['diff', a, b, '--ignore', 'status']).status).toBe(0);
    expectUnusable(['diff', a, b, '--ignore', 'consoles'], a, /unknown event field "consoles" \(fields: .*; or one of images, config, input, console, status\)/);
  });
});

describe('unusable trace files: one line, exit 2, the file is never modified', () => {
  it('truncated, not SQLite, newer schema, missing: diff and replay', () => {
    const good = tmp('h1.trace');
    const bytes = readFileSync(good);
    const trunc = tmp('truncated.trace');
    writeFileSync(trunc, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const text = tmp('notsqlite.trace');
    writeFileSync(text, 'this is not a trace\n'.repeat(20));
    const newer = tmp('newer.trace');
    copyFileSync(good, newer);
    const db = new Database(newer);
    db.pragma('user_version = 99');
    db.close();
    for (const [f, want] of [
      [trunc, /truncated\.trace: .*(not an hvtrace trace|corrupt|malformed|truncated)/i],
      [text, /notsqlite\.trace: not an hvtrace trace \(not an SQLite database/],
      [newer, /newer\.trace: trace schema version 99 is newer than this hvtrace supports/],
    ] as const) {
      expectUnusable(['replay', f], f, want);
      expectUnusable(['replay', f, '--to', '100'], f, want);
      expectUnusable(['diff', good, f], f, want);
      expectUnusable(['diff', f, good], f, want);
    }
    const r = cli(['replay', tmp('nope.trace')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hvtrace: .*nope\.trace: no such file\n$/);
  });

  it('a replaced kernel image: replay refuses (exit 2, file untouched); --force replays and diverges', () => {
    const patched = new Uint8Array(readFileSync(tmp('hello-patched.elf')));
    const sha = createHash('sha256').update(patched).digest('hex');
    // 1. image bytes and the images table's sha256 replaced consistently: only the recorded
    //    configuration still names the original.
    const t1 = tmp('replaced1.trace');
    copyFileSync(tmp('h1.trace'), t1);
    let db = new Database(t1);
    db.prepare("UPDATE images SET data = ?, sha256 = ?, size = ? WHERE role = 'kernel'").run(deflateRawSync(patched), sha, patched.length);
    db.close();
    expectUnusable(['replay', t1], t1, /cannot replay: the kernel image stored in the trace \(sha256 [0-9a-f]{12}, \d+ bytes\) is not the one recorded \(.*hello\.elf: sha256 [0-9a-f]{12}.*use --force/);
    expectUnusable(['replay', t1, '--to', 'pc:main'], t1, /the kernel image stored in the trace/);
    // 2. only the bytes replaced.
    const t2 = tmp('replaced2.trace');
    copyFileSync(tmp('h1.trace'), t2);
    db = new Database(t2);
    db.prepare("UPDATE images SET data = ? WHERE role = 'kernel'").run(deflateRawSync(patched));
    db.close();
    expectUnusable(['replay', t2], t2, /the kernel image stored in the trace/);
    // --force: replays the other kernel and reports where it departs from the recording.
    const before = fileState(t1);
    const f = cli(['replay', t1, '--force']);
    expect(f.status, f.stdout + f.stderr).toBe(1);
    expect(f.stdout).toMatch(/^warning: the kernel image stored in the trace/m);
    expect(f.stdout).toMatch(/^replay .*: DIVERGENCE: event #\d+ differs/m);
    expect(fileState(t1)).toBe(before);
  });
});

describe('hvtrace import qemu', () => {
  /** QEMU 7.2 `-d int` lines for the trap events of an hvtrace trace. */
  function qemuLog(trace: string, edit?: (i: number, line: string) => string): string {
    const db = new Database(trace, { readonly: true });
    const rows = db.prepare("SELECT hart, a, b, pc FROM events WHERE kind = 'trap' ORDER BY seq").safeIntegers(true).all() as { hart: bigint; a: bigint; b: bigint; pc: bigint }[];
    db.close();
    const h16 = (v: bigint) => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
    const lines = rows.map((r, i) => {
      const a = BigInt.asUintN(64, r.a);
      const async = a >> 63n;
      const line = `riscv_cpu_do_interrupt: hart:${r.hart}, async:${async}, cause:${h16(a & ((1n << 63n) - 1n))}, epc:0x${h16(r.pc)}, tval:0x${h16(r.b)}, desc=${async ? 'interrupt' : 'exception'}`;
      return edit ? edit(i, line) : line;
    });
    return `QEMU 7.2 log\n${lines.join('\n')}\n`;
  }

  it('imports trap lines as a reference trace; diff compares the fields both sides have', () => {
    const rec = tmp('h1.trace');
    writeFileSync(tmp('q.log'), qemuLog(rec));
    const imp = cli(['import', 'qemu', tmp('q.log'), '-o', tmp('q.trace')]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/^hvtrace: imported \d+ traps \(harts 0\)/);
    const r = cli(['diff', tmp('q.trace'), rec]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('kinds: trap; fields: kind, hart, pc, a, b (not compared: seq, vtime, instret, priv, virt, c, payload)');
    expect(r.stdout).toContain('[reference: qemu 7.2 -d int]');
    // One epc changed: caught, at that pc.
    writeFileSync(tmp('q2.log'), qemuLog(rec, (i, l) => (i === 3 ? l.replace(/epc:0x([0-9a-f]+)/, (_m, h: string) => `epc:0x${(BigInt(`0x${h}`) + 2n).toString(16).padStart(16, '0')}`) : l)));
    const imp2 = cli(['import', 'qemu', tmp('q2.log'), '-o', tmp('q2.trace'), '-q']);
    expect(imp2.status, imp2.stderr).toBe(0);
    const d = cli(['diff', tmp('q2.trace'), rec, '--format', 'json']);
    expect(d.status, d.stderr).toBe(1);
    const j = JSON.parse(d.stdout);
    expect(j.divergence.index).toBe(3);
    expect(j.divergence.differences.map((x: { field: string }) => x.field)).toEqual(['pc']);
    // A reference cannot be replayed; a file without trap lines is not a log; -o is required.
    expectUnusable(['replay', tmp('q.trace')], tmp('q.trace'), /cannot replay: the trace has no machine configuration \(produced by hvtrace import qemu/);
    writeFileSync(tmp('empty.log'), 'nothing here\n');
    const e = cli(['import', 'qemu', tmp('empty.log'), '-o', tmp('e.trace')]);
    expect(e.status, e.stderr).toBe(2);
    expect(e.stderr).toMatch(/^hvtrace: .*empty\.log: no trap lines/);
    expect(existsSync(tmp('e.trace'))).toBe(false);
    const noOut = cli(['import', 'qemu', tmp('q.log')]);
    expect(noOut.status, noOut.stderr).toBe(2);
    // An existing output is not overwritten without --overwrite.
    expectUnusable(['import', 'qemu', tmp('q.log'), '-o', tmp('q.trace')], tmp('q.trace'), /file exists/);
  });
});
