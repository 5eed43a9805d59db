/**
 * TraceReader: opens a trace read-only (src/trace/store.ts documents the API): the header check,
 * read-only opening of WAL-mode and damaged files, and the queries every viewer builds on.
 */
import type Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import { startWorker } from './worker.js';
import { EVENT_KINDS, type TraceEvent } from './model.js';
import type { Image, MachineConfig } from '../board/machine.js';
import type { DriveConfig } from '../devices/virtio-blk.js';
import { TraceDiskBackend } from './drive.js';
import { parseSymbolListText, type StoredSymbols } from '../image/symbols.js';
import { SQL_NAME_FUNCTIONS } from './names.js';
import { decodePayload, decodeState, num, rowToEvent, toJson, type Row } from './store-codec.js';
import { recorderRunning } from './store-files.js';
import { HASHED_EVENT_COLUMNS, REQUIRED_TABLES, SCHEMA_VERSION, TraceError, openDatabase, readerViewsSql, sha256hex, type CheckpointData, type CheckpointInfo, type ConsoleChunk, type DigestRow, type EventFilter, type ExitInfo, type ImageRef, type ImageRole, type InputRow, type LoadedImageInfo, type PageRef, type QueryResult, type QueuedInput, type StoredDrive, type StoredImage, type TraceConfig, type TraceCounts, type TraceStatus } from './store-schema.js';

// ---------------------------------------------------------------------------------------------
// reader
// ---------------------------------------------------------------------------------------------

const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * Check the SQLite header without SQLite: magic and that the file holds all its pages. Returns
 * whether the file is in WAL mode (being recorded, or left by a recorder that was killed).
 */
function checkHeader(path: string): boolean {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new TraceError(`${path}: no such file`);
  }
  if (!st.isFile()) throw new TraceError(`${path}: not a regular file`);
  const hdr = Buffer.alloc(100);
  let n = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    n = readSync(fd, hdr, 0, 100, 0);
  } catch (e) {
    throw new TraceError(`${path}: cannot read: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (n < 100 || hdr.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new TraceError(`${path}: not an hvtrace trace (not an SQLite database${n < 100 ? `: only ${n} bytes` : ''})`);
  }
  let pageSize = hdr.readUInt16BE(16);
  if (pageSize === 1) pageSize = 65536;
  const pages = hdr.readUInt32BE(28);
  const valid = hdr.readUInt32BE(92) === hdr.readUInt32BE(24);
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new TraceError(`${path}: not an hvtrace trace (corrupt SQLite header)`);
  }
  const wal = hdr[18] === 2 || hdr[19] === 2;
  // In WAL mode the file alone need not hold every page: a checkpoint stopped by a full disk (or
  // a file size limit) leaves the header's page count ahead of the file, the pages in FILE-wal.
  if (wal && existsSync(`${path}-wal`)) return true;
  if (st.size % pageSize !== 0 || (valid && pages > 0 && st.size < pages * pageSize)) {
    throw new TraceError(`${path}: not an hvtrace trace (truncated: ${st.size} bytes, expected ${valid && pages > 0 ? pages * pageSize : `a multiple of ${pageSize}`})`);
  }
  return wal;
}

/**
 * Open a trace read-only with SQLite.
 *
 * A trace in WAL mode (its recorder is running, or was killed: SIGKILL, power cut, a full disk)
 * is opened read-only in place, like any other: SQLite reads the committed transactions from
 * FILE-wal, and when the writer is gone it rebuilds FILE-shm (the WAL's index; created next to
 * the trace if missing) from it. Nothing of the trace or its WAL is changed, so a running
 * recorder is not disturbed. Not chosen: opening read-write once to checkpoint the WAL and leave
 * WAL mode would modify the user's file, race a recorder that is still running, and fails in a
 * read-only directory anyway; `immutable=1` / `readonly_shm=1` are URI parameters, which
 * better-sqlite3 12 does not take (it opens the name literally).
 *
 * Where that fails because SQLite would have to write (FILE-shm cannot be created in a read-only
 * directory; a hot rollback journal FILE-journal left by a writer killed mid-transaction, which
 * only a writer can roll back), the trace and its side files are copied to a private temporary
 * directory and the copy is opened (SQLite recovers it there; removed on close and at exit).
 */
function openSqliteTrace(path: string, wal: boolean): { db: Database.Database; copy: string | null } {
  let db: Database.Database | undefined;
  try {
    db = openDatabase(path, { readonly: true, fileMustExist: true });
    // The file is only really opened (WAL, journal) by the first statement.
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    return { db, copy: null };
  } catch (e) {
    db?.close();
    const code = String((e as { code?: unknown }).code ?? '');
    const recoverable = wal || /^SQLITE_(READONLY|CANTOPEN|BUSY)/.test(code) || existsSync(`${path}-journal`);
    if (!recoverable) throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-'));
  TEMP_COPIES.add(dir);
  try {
    const copy = join(dir, 'trace');
    copyFileSync(path, copy);
    for (const x of ['-wal', '-journal']) if (existsSync(path + x)) copyFileSync(path + x, copy + x);
    db = openDatabase(copy, { fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    return { db, copy: dir };
  } catch (e) {
    db?.close();
    removeTempCopy(dir);
    throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
  }
}

const TEMP_COPIES = new Set<string>();
function removeTempCopy(dir: string): void {
  TEMP_COPIES.delete(dir);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* gone */
  }
}
process.on('exit', () => {
  for (const d of [...TEMP_COPIES]) removeTempCopy(d);
});

/** An SQLite error that says the file is damaged. */
function isDamage(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || (e instanceof Error && /malformed/.test(e.message));
}

/** One line for an SQLite error while reading a trace. */
function readErrorText(e: Error): string {
  if (isDamage(e)) {
    return `the trace is damaged (${e.message})`;
  }
  return `cannot read the trace (${e.message})`;
}

export class TraceReader {
  readonly path: string;
  readonly schemaVersion: number;
  private readonly db: Database.Database;
  private readonly metaCache: Record<string, string>;
  private configCache: TraceConfig | null = null;

  /** The private copy this reader opened instead of the file (openSqliteTrace), or null. */
  private readonly copyDir: string | null;
  private statusCache: TraceStatus | null = null;

  private constructor(path: string, db: Database.Database, version: number, meta: Record<string, string>, copyDir: string | null) {
    this.path = path;
    this.db = db;
    this.schemaVersion = version;
    this.metaCache = meta;
    this.copyDir = copyDir;
  }

  /** Open a trace read-only, checking that it is one this hvtrace understands. */
  static open(path: string): TraceReader {
    const wal = checkHeader(path);
    const { db, copy } = openSqliteTrace(path, wal);
    try {
      let version: number;
      try {
        version = Number(db.pragma('user_version', { simple: true }));
      } catch (e) {
        throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
      }
      if (version > SCHEMA_VERSION) {
        throw new TraceError(`${path}: trace schema version ${version} is newer than this hvtrace supports (${SCHEMA_VERSION})`);
      }
      let tables: Set<string>;
      try {
        tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
      } catch (e) {
        throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
      }
      if (version === 0 && !tables.has('events')) throw new TraceError(`${path}: not an hvtrace trace (an SQLite database without the hvtrace schema)`);
      if (version < 1) throw new TraceError(`${path}: not an hvtrace trace (schema version ${version})`);
      const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
      if (missing.length) throw new TraceError(`${path}: not an hvtrace trace (missing table${missing.length > 1 ? 's' : ''} ${missing.join(', ')})`);
      let meta: Record<string, string>;
      try {
        meta = Object.fromEntries((db.prepare('SELECT key, value FROM meta').raw(true).all() as [string, unknown][]).map(([k, v]) => [k, String(v)]));
      } catch (e) {
        throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
      }
      if (meta.format !== 'hvtrace') throw new TraceError(`${path}: not an hvtrace trace (meta 'format' is ${meta.format === undefined ? 'missing' : `'${meta.format}'`})`);
      if (meta.status !== undefined && !['recording', 'complete', 'aborted'].includes(meta.status)) {
        throw new TraceError(`${path}: corrupt meta 'status' (${JSON.stringify(meta.status.slice(0, 40))})`);
      }
      const r = new TraceReader(path, db, version, meta, copy);
      r.registerFunctions();
      return r;
    } catch (e) {
      db.close();
      if (copy) removeTempCopy(copy);
      if (e instanceof TraceError) throw e;
      throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
    }
  }

  private registerFunctions(): void {
    for (const [name, f] of Object.entries(SQL_NAME_FUNCTIONS)) {
      this.db.function(name, { deterministic: true, safeIntegers: true }, f as (...a: unknown[]) => unknown);
    }
    // payload_json(payload): the msgpack payload as JSON text (bigints as numbers), for queries
    // such as json_extract(payload_json(payload), '$.who').
    this.db.function('payload_json', { deterministic: true }, (b: unknown) => {
      if (!(b instanceof Uint8Array)) return null;
      try {
        return toJson(decodePayload(b));
      } catch {
        return null;
      }
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.copyDir) removeTempCopy(this.copyDir);
  }

  meta(key: string): string | null {
    return this.metaCache[key] ?? null;
  }
  metaAll(): Record<string, string> {
    return { ...this.metaCache };
  }
  /** The status, truthfully: 'recording' only while its recorder runs, else 'truncated'. */
  get status(): TraceStatus {
    if (this.statusCache === null) {
      const s = (this.metaCache.status ?? 'recording') as TraceStatus;
      this.statusCache = s === 'recording' && !recorderRunning(this.metaCache.recorder) ? 'truncated' : s;
    }
    return this.statusCache;
  }
  /** The recorder's process id (meta 'recorder'), if recorded. */
  get recorderPid(): number | null {
    try {
      const r = JSON.parse(this.metaCache.recorder ?? 'null') as { pid?: unknown } | null;
      return typeof r?.pid === 'number' ? r.pid : null;
    } catch {
      return null;
    }
  }
  /** A JSON meta value, or a TraceError naming the key. */
  private metaJson<T>(key: string): T | null {
    const v = this.metaCache[key];
    if (v === undefined) return null;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw new TraceError(`${this.path}: corrupt meta '${key}'`);
    }
  }
  get config(): TraceConfig {
    if (!this.configCache) {
      try {
        this.configCache = JSON.parse(this.metaCache.config ?? 'null') as TraceConfig;
      } catch {
        throw new TraceError(`${this.path}: corrupt meta 'config'`);
      }
      if (!this.configCache) throw new TraceError(`${this.path}: no meta 'config'`);
    }
    return this.configCache;
  }
  get exit(): ExitInfo | null {
    const e = this.metaJson<ExitInfo>('exit');
    if (e !== null && (typeof e !== 'object' || typeof e.kind !== 'string' || typeof e.exitCode !== 'number')) throw new TraceError(`${this.path}: corrupt meta 'exit'`);
    return e;
  }
  get counts(): TraceCounts | null {
    const c = this.metaJson<TraceCounts>('counts');
    if (c !== null && (typeof c !== 'object' || typeof c.events !== 'number' || typeof c.byKind !== 'object' || !Array.isArray(c.instret))) {
      throw new TraceError(`${this.path}: corrupt meta 'counts'`);
    }
    return c;
  }
  get consoleSha256(): string | null {
    return this.metaCache.console_sha256 ?? null;
  }

  loadedImages(): LoadedImageInfo[] {
    const l = this.metaJson<LoadedImageInfo[]>('loaded_images') ?? [];
    if (!Array.isArray(l)) throw new TraceError(`${this.path}: corrupt meta 'loaded_images'`);
    return l;
  }
  images(): StoredImage[] {
    return (this.db.prepare('SELECT role, name, sha256, size FROM images ORDER BY role').safeIntegers(true).all() as { role: ImageRole; name: string; sha256: string; size: bigint }[])
      .map((r) => ({ role: r.role, name: r.name, sha256: r.sha256, size: Number(r.size) }));
  }
  imageBytes(role: ImageRole): Uint8Array | null {
    const r = this.db.prepare('SELECT sha256, data FROM images WHERE role = ?').get(role) as { sha256: string; data: Buffer } | undefined;
    if (!r) return null;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(inflateRawSync(r.data));
    } catch (e) {
      throw new TraceError(`${this.path}: image '${role}' is corrupt (${(e as Error).message})`);
    }
    if (sha256hex(bytes) !== r.sha256) throw new TraceError(`${this.path}: image '${role}' does not match its sha256`);
    return bytes;
  }

  /**
   * The symbol tables stored in the trace (schemas/trace.sql `symbols`); none for a trace
   * recorded before they were stored. A corrupt one is a TraceError.
   */
  storedSymbols(): StoredSymbols[] {
    if (this.storedSymbolsCache) return this.storedSymbolsCache;
    const has = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'symbols'").pluck().get();
    if (!has) return (this.storedSymbolsCache = []);
    const rows = this.db.prepare('SELECT role, name, format, sha256, size, data FROM symbols ORDER BY id').raw(true).all() as [string | null, string, string, string, number, Buffer][];
    this.storedSymbolsCache = rows.map(([role, name, format, sha256, size, data]) => {
      let symbols;
      try {
        symbols = parseSymbolListText(inflateRawSync(data).toString('utf8'), `${this.path}: stored symbols ${name}`);
      } catch (e) {
        throw new TraceError(`${this.path}: the stored symbols of ${name} are corrupt (${(e as Error).message})`);
      }
      return { role, name, format: format === 'elf' ? 'elf' as const : 'system.map' as const, sha256, size: Number(size), symbols };
    });
    return this.storedSymbolsCache;
  }
  private storedSymbolsCache: StoredSymbols[] | null = null;

  /** The machine configuration of the run, with image bytes from the trace. */
  machineConfig(): MachineConfig {
    const m = this.config.machine;
    if (!m) throw new TraceError(`${this.path}: this trace has no machine configuration (produced by ${this.config.producer})`);
    const img = (ref: ImageRef | undefined, role: ImageRole): Image | undefined => {
      if (!ref) return undefined;
      const bytes = this.imageBytes(role);
      if (!bytes) throw new TraceError(`${this.path}: image '${role}' (${ref.name}) is not stored in the trace`);
      return { name: ref.name, bytes };
    };
    return {
      ramSize: m.ramSize,
      harts: m.harts,
      bios: typeof m.bios === 'object' ? img(m.bios, 'firmware')! : m.bios,
      kernel: img(m.kernel, 'kernel'),
      initrd: img(m.initrd, 'initrd'),
      append: m.append,
      dtb: img(m.dtb, 'dtb'),
      ...(m.drives ? { drives: m.drives.map((d, k) => traceDrive(this, d, k)) } : {}),
      ...(m.rngSeed !== undefined ? { rngSeed: m.rngSeed } : {}),
      ...(m.virtconsole ? { virtconsole: { input: m.virtconsole.input } } : {}),
      ...(m.virtio ? { virtio: true } : {}),
      ...(m.aia ? { aia: { mode: m.aia.mode, guests: m.aia.guests } } : {}),
      ...(m.sscofpmf ? { sscofpmf: true } : {}),
      ...(m.qemuBoard ? { qemuBoard: true } : {}),
      ...(m.pflash ? { pflash: img(m.pflash, 'pflash') } : {}),
      ...(m.rtc ? { rtc: { base: m.rtc.base } } : {}),
      ...(m.guests ? {
        guests: m.guests.map((g, k) => ({
          image: img(g.image, `guest${k}`)!,
          vcpus: g.vcpus,
          memSize: g.memSize,
          append: g.append,
          initrd: img(g.initrd, `guest${k}-initrd`),
        })),
      } : {}),
    };
  }

  // ---- events ----

  private whereOf(f: EventFilter): { sql: string; params: unknown[] } {
    const c: string[] = [];
    const p: unknown[] = [];
    if (f.from !== undefined) { c.push('seq >= ?'); p.push(f.from); }
    if (f.to !== undefined) { c.push('seq < ?'); p.push(f.to); }
    if (f.kinds && f.kinds.length) { c.push(`kind IN (${f.kinds.map(() => '?').join(', ')})`); p.push(...f.kinds); }
    if (f.hart !== undefined) { c.push('hart = ?'); p.push(f.hart); }
    const S = (v: bigint): bigint => BigInt.asIntN(64, v);
    if (f.pcRanges) {
      // Stored signed: a range that crosses 2^63 is two ranges.
      const parts: string[] = [];
      for (const [lo, hi] of f.pcRanges) {
        if (hi <= lo) continue;
        const last = hi - 1n;
        const split = lo < 1n << 63n && last >= 1n << 63n;
        for (const [a, b] of split ? [[lo, (1n << 63n) - 1n], [1n << 63n, last]] : [[lo, last]]) {
          parts.push('(pc BETWEEN ? AND ?)');
          p.push(S(a!), S(b!));
        }
      }
      c.push(parts.length ? `(${parts.join(' OR ')})` : '0');
    }
    if (f.privs) {
      c.push(f.privs.length ? `(${f.privs.map(() => '(priv = ? AND virt = ?)').join(' OR ')})` : '0');
      for (const x of f.privs) p.push(x.priv, x.virt ? 1 : 0);
    }
    if (f.a !== undefined) { c.push('a = ?'); p.push(S(f.a)); }
    if (f.instret?.min !== undefined) { c.push('instret >= ?'); p.push(f.instret.min); }
    if (f.instret?.max !== undefined) { c.push('instret <= ?'); p.push(f.instret.max); }
    if (f.vtime?.min !== undefined) { c.push('vtime >= ?'); p.push(f.vtime.min); }
    if (f.vtime?.max !== undefined) { c.push('vtime <= ?'); p.push(f.vtime.max); }
    if (f.guestPcs) c.push("(virt = 1 OR kind IN ('vm_exit', 'vm_entry'))");
    return { sql: c.length ? ` WHERE ${c.join(' AND ')}` : '', params: p };
  }

  eventCount(filter: EventFilter = {}): number {
    const w = this.whereOf(filter);
    return Number(this.db.prepare(`SELECT count(*) FROM events${w.sql}`).pluck().get(...w.params));
  }
  countsByKind(): Record<string, number> {
    const rows = this.db.prepare('SELECT kind, count(*) FROM events GROUP BY kind').raw(true).all() as [string, number][];
    const out: Record<string, number> = {};
    for (const k of EVENT_KINDS) for (const [kk, n] of rows) if (kk === k) out[k] = Number(n);
    for (const [kk, n] of rows) if (!(kk in out)) out[kk] = Number(n);
    return out;
  }
  maxSeq(): number {
    const v = this.db.prepare('SELECT max(seq) FROM events').pluck().get();
    return v === null || v === undefined ? -1 : Number(v);
  }
  event(seq: number): TraceEvent | null {
    return this.readEvents({ from: seq, to: seq + 1 })[0] ?? null;
  }

  readEvents(filter: EventFilter = {}): TraceEvent[] {
    const w = this.whereOf(filter);
    const lim = filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const st = this.db.prepare(`SELECT seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload FROM events${w.sql} ORDER BY seq${lim}`);
    return (st.safeIntegers(true).raw(true).all(...w.params) as Row[]).map((r) => rowToEvent(r, this.path));
  }

  /**
   * Rows of `events` with seq in [from, from + limit) for the replayer's event feed
   * (src/trace/event-feed.ts): [seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c,
   * payload], a/b/c as BigInt, the payload as msgpack bytes, and the other integers as doubles
   * (SQL CAST, no BigInt per value: exact below 2^53, which the feed checks).
   */
  feedEventRows(from: number, limit: number): unknown[][] {
    const st = this.feedStmt ??= this.db.prepare(
      'SELECT CAST(seq AS REAL), CAST(vtime AS REAL), CAST(hart AS REAL), CAST(instret AS REAL), CAST(pc AS REAL), ' +
      'CAST(priv AS REAL), CAST(virt AS REAL), kind, a, b, c, payload FROM events WHERE seq >= ? ORDER BY seq LIMIT ?',
    ).safeIntegers(true).raw(true);
    return st.all(from, limit) as unknown[][];
  }
  private feedStmt: Database.Statement | undefined;

  /** Events in seq order, `batchSize` at a time (keyset pagination: other queries may run in between). */
  *eventBatches(filter: EventFilter = {}, batchSize = 4096): Generator<TraceEvent[]> {
    let from = filter.from ?? 0;
    let left = filter.limit ?? Infinity;
    while (left > 0) {
      const batch = this.readEvents({ ...filter, from, limit: Math.min(batchSize, left) });
      if (batch.length === 0) return;
      yield batch;
      left -= batch.length;
      from = batch[batch.length - 1]!.seq + 1;
      if (batch.length < Math.min(batchSize, left + batch.length)) return;
    }
  }
  *events(filter: EventFilter = {}): Generator<TraceEvent> {
    for (const b of this.eventBatches(filter)) yield* b;
  }

  // ---- console, inputs, digests ----

  console(): ConsoleChunk[] {
    return (this.db.prepare('SELECT seq, vtime, hart, event_seq, data FROM console ORDER BY seq').safeIntegers(true).raw(true).all() as Row[])
      .map((r) => ({ seq: num(r[0]), vtime: num(r[1]), hart: r[2] === null ? null : num(r[2]), eventSeq: num(r[3]), data: new Uint8Array(r[4] as Buffer) }));
  }
  consoleBytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.console().map((c) => c.data)));
  }
  inputs(): InputRow[] {
    return (this.db.prepare('SELECT vtime, byte, seq FROM inputs ORDER BY id').safeIntegers(true).raw(true).all() as Row[])
      .map((r) => ({ vtime: num(r[0]), byte: num(r[1]), seq: r[2] === null ? null : num(r[2]) }));
  }
  inputQueue(): QueuedInput[] {
    return (this.db.prepare('SELECT vtime, data FROM input_queue ORDER BY id').safeIntegers(true).raw(true).all() as Row[])
      .map((r) => ({ vtime: num(r[0]), data: new Uint8Array(r[1] as Buffer) }));
  }
  /**
   * Events [from, to) as rows of HASHED_EVENT_COLUMNS with plain (double) integers, for checking
   * a digest's events_hash (src/trace/event-hash.ts EventHasher.addStoredRows).
   */
  hashedEventRows(from: number, to: number): unknown[][] {
    const st = this.hashStmt ??= this.db.prepare(`SELECT ${HASHED_EVENT_COLUMNS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq`).raw(true);
    try {
      return st.all(from, to) as unknown[][];
    } catch (e) {
      throw new TraceError(`${this.path}: cannot read events #${from}..#${to - 1} (${(e as Error).message})`);
    }
  }
  private hashStmt: Database.Statement | undefined;

  /** The state digests in order; eventsHash / kindCounts are absent where not stored (schema 1). */
  digests(): DigestRow[] {
    const v2 = this.schemaVersion >= 2;
    let rows: Row[];
    try {
      rows = this.db.prepare(`SELECT vtime, total_instret, seq, hart_instret, state_hash, ram_hash, final${v2 ? ', events_hash, kind_counts' : ''} FROM digests ORDER BY id`)
        .safeIntegers(true).raw(true).all() as Row[];
    } catch (e) {
      throw new TraceError(`${this.path}: cannot read the state digests (${(e as Error).message})`);
    }
    return rows.map((r, i) => {
      try {
        return {
          vtime: num(r[0]), totalInstret: num(r[1]), seq: num(r[2]), hartInstret: JSON.parse(r[3] as string) as number[],
          stateHash: r[4] as string, ramHash: r[5] as string, final: num(r[6]) !== 0,
          // Absent (not null) when not stored.
          ...(v2 && typeof r[7] === 'string' ? { eventsHash: r[7] } : {}),
          ...(v2 && typeof r[8] === 'string' ? { kindCounts: JSON.parse(r[8]) as Record<string, number> } : {}),
        };
      } catch (e) {
        throw new TraceError(`${this.path}: state digest ${i + 1} is corrupt (${(e as Error).message})`);
      }
    });
  }

  // ---- checkpoints and pages ----

  private static ckInfo(r: Row): CheckpointInfo {
    return { id: num(r[0]), vtime: num(r[1]), totalInstret: num(r[2]), seq: num(r[3]), consoleSeq: num(r[4]), consoleBytes: num(r[5]) };
  }
  checkpoints(): CheckpointInfo[] {
    return (this.db.prepare('SELECT id, vtime, total_instret, seq, console_seq, console_bytes FROM checkpoints ORDER BY id').safeIntegers(true).raw(true).all() as Row[])
      .map(TraceReader.ckInfo);
  }
  /** The latest checkpoint at or before a position (every given bound must hold), or null. */
  checkpointAtOrBefore(pos: { seq?: number; vtime?: number; totalInstret?: number }): CheckpointInfo | null {
    const c: string[] = [];
    const p: number[] = [];
    if (pos.seq !== undefined) { c.push('seq <= ?'); p.push(pos.seq); }
    if (pos.vtime !== undefined) { c.push('vtime <= ?'); p.push(pos.vtime); }
    if (pos.totalInstret !== undefined) { c.push('total_instret <= ?'); p.push(pos.totalInstret); }
    const r = this.db.prepare(`SELECT id, vtime, total_instret, seq, console_seq, console_bytes FROM checkpoints${c.length ? ` WHERE ${c.join(' AND ')}` : ''} ORDER BY id DESC LIMIT 1`)
      .safeIntegers(true).raw(true).get(...p) as Row | undefined;
    return r ? TraceReader.ckInfo(r) : null;
  }
  checkpoint(id: number): CheckpointData {
    const r = this.db.prepare('SELECT id, vtime, total_instret, seq, console_seq, console_bytes, state, pages FROM checkpoints WHERE id = ?')
      .safeIntegers(true).raw(true).get(id) as Row | undefined;
    if (!r) throw new TraceError(`${this.path}: no checkpoint ${id}`);
    const list = r[7] as Buffer;
    if (list.length % 36 !== 0) throw new TraceError(`${this.path}: checkpoint ${id}: corrupt page list`);
    const pages: PageRef[] = [];
    for (let o = 0; o < list.length; o += 36) pages.push({ index: list.readUInt32LE(o), hash: new Uint8Array(list.subarray(o + 4, o + 36)) });
    let state: CheckpointData['state'];
    try {
      state = decodeState(r[6] as Buffer) as CheckpointData['state'];
    } catch {
      throw new TraceError(`${this.path}: checkpoint ${id} is corrupt (its state does not decode)`);
    }
    return { ...TraceReader.ckInfo(r), state, pages };
  }
  /**
   * The disk blocks of one drive and layer (disk_blocks), by block index; empty for a trace
   * recorded before drives were stored.
   */
  diskBlocks(drive: number, layer: 0 | 1): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    const has = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'disk_blocks'").get();
    if (!has) return out;
    const rows = this.db.prepare('SELECT block, hash FROM disk_blocks WHERE drive = ? AND layer = ? ORDER BY block').raw().all(drive, layer) as [number | bigint, Buffer][];
    for (const [b, h] of rows) out.set(Number(b), this.page(h));
    return out;
  }

  page(hash: Uint8Array): Uint8Array {
    const r = this.db.prepare('SELECT data FROM pages WHERE hash = ?').pluck().get(Buffer.from(hash)) as Buffer | undefined;
    if (!r) throw new TraceError(`${this.path}: page ${Buffer.from(hash).toString('hex')} is missing`);
    let b: Uint8Array;
    try {
      b = new Uint8Array(inflateRawSync(r));
    } catch {
      throw new TraceError(`${this.path}: page ${Buffer.from(hash).toString('hex')} is corrupt`);
    }
    if (b.length !== 4096) throw new TraceError(`${this.path}: page ${Buffer.from(hash).toString('hex')} is corrupt`);
    return b;
  }

  // ---- consistency ----

  /**
   * Cheap checks (a few ms: two index scans) that the events are all there: no gap in the seq
   * numbers, and the counts the recorder wrote at the end (meta 'counts') match the rows. Returns
   * the problems, one line each (empty: none found). A damaged page is found by
   * `integrityProblem`, which reads the whole file.
   */
  damage(): string[] {
    const out: string[] = [];
    const [n, max] = this.db.prepare('SELECT count(*), max(seq) FROM events').raw(true).get() as [number, number | null];
    const rows = Number(n);
    if (max !== null && rows !== Number(max) + 1) out.push(`events are missing: ${rows} events for seq 0..${max}`);
    const c = this.counts;
    if (c) {
      if (c.events !== rows) out.push(`the trace holds ${rows} events where its recording wrote ${c.events}`);
      const now = this.countsByKind();
      for (const k of new Set([...Object.keys(c.byKind ?? {}), ...Object.keys(now)])) {
        const a = now[k] ?? 0, w = c.byKind[k] ?? 0;
        if (a !== w) out.push(`it holds ${a} ${k} events where its recording wrote ${w}`);
      }
    }
    return out;
  }

  /** PRAGMA integrity_check over the whole file: null when it is sound, else one line. */
  integrityProblem(): string | null {
    const rows = this.db.prepare('PRAGMA integrity_check(3)').pluck().all() as string[];
    if (rows.length === 1 && rows[0] === 'ok') return null;
    const text = rows.join('\n').split('\n').filter((l) => l && !l.startsWith('***')).join('; ');
    return `the trace is damaged (integrity check: ${text.slice(0, 300)})`;
  }

  /**
   * integrityProblem() on a worker thread (its own connection), so that it overlaps a replay:
   * ~0.3 s for a Linux boot's 17 MB, which a replay on another core does not wait for.
   */
  startIntegrityCheck(): IntegrityCheck {
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const w = startWorker(new URL('./check-worker.js', import.meta.url));
    w.postMessage({ path: this.path, ctl: ctl.buffer as SharedArrayBuffer, reply: port2 } satisfies IntegrityCheckRequest, [port2]);
    let done = false;
    const cancel = (): void => {
      if (done) return;
      done = true;
      port1.close();
      void w.terminate();
    };
    return {
      result: (): string | null => {
        const t0 = performance.now();
        for (;;) {
          const m = receiveMessageOnPort(port1);
          if (m) {
            cancel();
            return (m.message as { problem: string | null }).problem;
          }
          // A check that cannot finish (a thread that did not start) is not a finding.
          if (done || performance.now() - t0 > 120_000) {
            cancel();
            return null;
          }
          Atomics.wait(ctl, 0, 0, 200);
        }
      },
      cancel,
    };
  }

  // ---- ad-hoc SQL ----

  private viewsCreated = false;

  /**
   * Run one read-only statement (SELECT / WITH / EXPLAIN / read-only PRAGMA); anything else is
   * refused. The first call creates the reader's TEMP views (schemas/trace.sql "@reader").
   */
  query(sql: string, params: unknown[] = []): QueryResult {
    if (/^\s*(attach|detach|vacuum)\b/i.test(sql)) throw new TraceError('query: only read-only statements are allowed (ATTACH/DETACH/VACUUM refused)');
    if (/^\s*pragma\b[^;]*=/i.test(sql) || /^\s*pragma\s+[\w.]*\s*\(/i.test(sql) && !/^\s*pragma\s+(table_info|table_xinfo|index_list|index_info|foreign_key_list)\s*\(/i.test(sql)) {
      throw new TraceError('query: only read-only statements are allowed (PRAGMA assignments refused)');
    }
    if (!this.viewsCreated) {
      this.viewsCreated = true;
      try {
        this.db.exec(readerViewsSql());
      } catch {
        /* a trace whose tables lack something the views need: the stored views stay */
      }
    }
    let st: Database.Statement;
    try {
      st = this.db.prepare(sql);
    } catch (e) {
      if (isDamage(e)) throw new TraceError(`${this.path}: ${readErrorText(e as Error)}`);
      throw new TraceError(`query: ${(e as Error).message}`);
    }
    if (!st.readonly || !st.reader) {
      throw new TraceError('query: only read-only statements that return rows (SELECT ...) are allowed; the trace is never modified');
    }
    try {
      const columns = st.columns().map((c) => c.name);
      const rows = st.safeIntegers(true).raw(true).all(...params) as unknown[][];
      return { columns, rows };
    } catch (e) {
      if (isDamage(e)) throw new TraceError(`${this.path}: ${readErrorText(e as Error)}`);
      throw new TraceError(`query: ${(e as Error).message}`);
    }
  }
}

// Every SQLite error while reading (a damaged page: "database disk image is malformed", an I/O
// error) becomes a one-line TraceError naming the file. The generators read through readEvents.
for (const name of Object.getOwnPropertyNames(TraceReader.prototype)) {
  const d = Object.getOwnPropertyDescriptor(TraceReader.prototype, name)!;
  if (name === 'constructor' || name === 'close') continue;
  const wrap = <F extends (...a: never[]) => unknown>(f: F): F => function (this: TraceReader, ...a: never[]) {
    try {
      return f.apply(this, a);
    } catch (e) {
      if (e instanceof TraceError || !(e instanceof Error) || e.name !== 'SqliteError') throw e;
      throw new TraceError(`${this.path}: ${readErrorText(e)}`);
    }
  } as F;
  if (typeof d.value === 'function' && d.value.constructor.name !== 'GeneratorFunction') {
    Object.defineProperty(TraceReader.prototype, name, { ...d, value: wrap(d.value as (...a: never[]) => unknown) });
  } else if (d.get) {
    Object.defineProperty(TraceReader.prototype, name, { ...d, get: wrap(d.get) });
  }
}

/** A running PRAGMA integrity_check (TraceReader.startIntegrityCheck). */
export interface IntegrityCheck {
  /** Wait for it: null when the file is sound, else one line. */
  result(): string | null;
  /** Stop it (its result is not needed). */
  cancel(): void;
}

export type IntegrityCheckRequest = { path: string; ctl: SharedArrayBuffer; reply: MessagePort };

/** A drive of a stored configuration, its image served from the trace's disk blocks. */
function traceDrive(reader: TraceReader, d: StoredDrive, k: number): DriveConfig {
  return { backend: new TraceDiskBackend(d.name, d.sha256, d.size, reader.diskBlocks(k, 0)), readonly: d.readonly };
}
