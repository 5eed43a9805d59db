/**
 * TraceWriter: creates and fills a trace file (src/trace/store.ts documents the API; the file
 * lifecycle is in store-files.ts).
 */
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, renameSync, unlinkSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { EVENT_KINDS, EventBatch, type TraceEvent } from './model.js';
import type { WireBatch } from './wire.js';
import { storedSymbolListText } from '../image/symbols.js';
import { payloadBytes } from './store-codec.js';
import { SIDE_FILES, checkTracePath, keptText, recorderIdentity, tempTracePath, unlinkQuiet, writeErrorText } from './store-files.js';
import { SCHEMA_VERSION, TraceError, openDatabase, schemaSql, type CheckpointInfo, type DigestRow, type DiskBlockRow, type ExitInfo, type PageRef, type TraceCounts, type TraceInit } from './store-schema.js';

const ROWS_PER_INSERT = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isEventList(e: EventBatch | WireBatch | readonly TraceEvent[]): e is readonly TraceEvent[] {
  return Array.isArray(e);
}

export interface TraceCreateOptions {
  /** Replace an existing file (otherwise it is an error). */
  overwrite?: boolean;
  /**
   * Create the indexes before the first event instead of at finish, except those below
   * `-- @finish` in schemas/trace.sql. Inserts cost more, but on the writer thread that work
   * overlaps the emulation, while an index built at finish is a wait.
   */
  indexesFirst?: boolean;
  /**
   * The temporary name to build the trace under (tempTracePath; an empty file there is fine):
   * ThreadedTraceWriter creates it in the recording thread, so that a directory it cannot write
   * to is an error at once.
   */
  tempPath?: string;
}

/** The writing side of a trace as the recorder uses it: a TraceWriter or a ThreadedTraceWriter. */
export interface TraceSink {
  readonly path: string;
  readonly eventsWritten: number;
  readonly consolePosition: { seq: number; bytes: number };
  readonly isOpen: boolean;
  writeEvents(events: EventBatch): void;
  addConsole(vtime: number, hart: number | null, eventSeq: number, data: Uint8Array): void;
  addInput(vtime: number, byte: number, seq: number | null): void;
  addQueuedInput(vtime: number, data: Uint8Array): void;
  addDigest(d: DigestRow): void;
  addCheckpoint(info: Omit<CheckpointInfo, 'id'>, state: Uint8Array, pages: readonly PageRef[], pageBytes: (index: number) => Uint8Array): number;
  hasPage(hash: Uint8Array): boolean;
  /** Store disk blocks (table disk_blocks; contents content-addressed in `pages`). */
  addDiskBlocks(rows: readonly DiskBlockRow[]): void;
  setMeta(key: string, value: string): void;
  flush(): void;
  finish(status: 'complete' | 'aborted', result?: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> }): void;
  close(): void;
  /**
   * After a failure (a write error, the recording could not go on): mark the trace 'aborted' if
   * that can still be written, close it and leave it at its path. Never throws.
   */
  abandon(reason: string): void;
  /** Close and delete the new trace (the recording could not start); a file it was to replace stays. */
  discard(): void;
}

export class TraceWriter implements TraceSink {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insEvent: Database.Statement;
  private readonly insEvents: Database.Statement;
  private readonly rowArgs: unknown[] = new Array<unknown>(ROWS_PER_INSERT * 12).fill(null);
  private readonly oneArgs: unknown[] = new Array<unknown>(12).fill(null);
  private readonly insConsole: Database.Statement;
  private readonly insInput: Database.Statement;
  private readonly insQueued: Database.Statement;
  private readonly insDigest: Database.Statement;
  private readonly insPage: Database.Statement;
  private readonly insCheckpoint: Database.Statement;
  private readonly setMetaStmt: Database.Statement;
  private pendingConsole: [number, number | null, number, Uint8Array][] = [];
  private pendingInputs: [number, number, number | null][] = [];
  private pendingQueued: [number, Uint8Array][] = [];
  private pendingDigests: DigestRow[] = [];
  private readonly knownPages = new Set<string>();
  private readonly consoleHash = createHash('sha256');
  private consoleSeq = 0;
  private consoleBytesN = 0;
  private inputsN = 0;
  private digestsN = 0;
  private checkpointsN = 0;
  private events = 0;
  private readonly byKind = new Float64Array(EVENT_KINDS.length);
  private closed = false;
  /** The indexes exist already (TraceCreateOptions.indexesFirst): finish builds only the @finish ones. */
  private readonly indexed: boolean;
  private readonly writeBatchTx: (b: EventBatch | WireBatch) => void;
  private readonly writeListTx: (l: readonly TraceEvent[]) => void;
  private readonly flushTx: () => void;
  /** The file SQLite writes: the trace's path, or (replacing a file) the temporary name. */
  private readonly dbPath: string;
  /** The existing file this trace replaces when it is closed (--overwrite), or null. */
  private readonly replaces: string | null;

  private constructor(path: string, db: Database.Database, indexed: boolean, dbPath: string, replaces: string | null) {
    this.path = path;
    this.db = db;
    this.indexed = indexed;
    this.dbPath = dbPath;
    this.replaces = replaces;
    const cols = 'INSERT INTO events (seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload) VALUES ';
    this.insEvent = db.prepare(`${cols}(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insEvents = db.prepare(cols + new Array(ROWS_PER_INSERT).fill('(?,?,?,?,?,?,?,?,?,?,?,?)').join(','));
    this.insConsole = db.prepare('INSERT INTO console (seq, vtime, hart, event_seq, data) VALUES (?, ?, ?, ?, ?)');
    this.insInput = db.prepare('INSERT INTO inputs (vtime, byte, seq) VALUES (?, ?, ?)');
    this.insQueued = db.prepare('INSERT INTO input_queue (vtime, data) VALUES (?, ?)');
    this.insDigest = db.prepare('INSERT INTO digests (vtime, total_instret, seq, hart_instret, state_hash, ram_hash, final, events_hash, kind_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.insPage = db.prepare('INSERT OR IGNORE INTO pages (hash, data) VALUES (?, ?)');
    this.insCheckpoint = db.prepare('INSERT INTO checkpoints (vtime, total_instret, seq, console_seq, console_bytes, state, pages) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.setMetaStmt = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.writeBatchTx = db.transaction((b: EventBatch | WireBatch) => {
      this.insertBatch(b);
      this.flushPending();
    });
    this.writeListTx = db.transaction((l: readonly TraceEvent[]) => {
      const b = new EventBatch(Math.max(1, Math.min(l.length, 4096)));
      for (const e of l) {
        if (!b.push(e)) {
          this.insertBatch(b);
          b.clear();
          b.push(e);
        }
      }
      this.insertBatch(b);
      this.flushPending();
    });
    this.flushTx = db.transaction(() => this.flushPending());
  }

  /**
   * Create a new trace file (an existing one is an error unless `overwrite`; anything but a
   * regular file always is). See "where a trace is written" above.
   */
  static create(path: string, init: TraceInit, opts: TraceCreateOptions = {}): TraceWriter {
    const plan = checkTracePath(path, opts.overwrite === true);
    const tmp = opts.tempPath ?? tempTracePath(plan.target);
    const fail = (e: unknown): never => {
      for (const p of [tmp, ...SIDE_FILES.map((x) => tmp + x)]) unlinkQuiet(p);
      if (e instanceof TraceError) throw e;
      throw new TraceError(`${path}: cannot create the trace: ${(e as Error).message}`);
    };
    // 1. The start of the trace, under the temporary name, in rollback-journal mode.
    let db: Database.Database | undefined;
    try {
      db = openDatabase(tmp);
      db.pragma('synchronous = OFF');
      const [tables, indexes] = schemaSql(); // (the @finish indexes: at finish)
      db.exec(`BEGIN;\n${tables}\n${opts.indexesFirst ? indexes : ''}\nCOMMIT;`);
      const cfg = init.config;
      const meta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      const ins = db.prepare('INSERT OR REPLACE INTO images (role, name, sha256, size, data) VALUES (?, ?, ?, ?, ?)');
      db.transaction(() => {
        meta.run('format', 'hvtrace');
        meta.run('schema_version', String(SCHEMA_VERSION));
        meta.run('hvtrace_version', cfg.hvtraceVersion);
        meta.run('status', 'recording');
        meta.run('recorder', recorderIdentity());
        meta.run('config', JSON.stringify(cfg));
        meta.run('loaded_images', JSON.stringify(init.loadedImages ?? []));
        for (const [k, v] of Object.entries(init.meta ?? {})) meta.run(k, v);
        for (const img of init.images ?? []) {
          ins.run(img.role, img.name, img.sha256, img.size, deflateRawSync(img.bytes, { level: 1 })); // fast: the Linux Image is on the critical path of a recording
        }
        if (init.symbols?.length) {
          const insSym = db!.prepare('INSERT INTO symbols (role, name, format, sha256, size, count, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
          for (const s of init.symbols) {
            const { count, text } = storedSymbolListText(s);
            insSym.run(s.role, s.name, s.format, s.sha256, s.size, count, deflateRawSync(Buffer.from(text, 'utf8'), { level: 6 }));
          }
        }
      })();
      // Switch to WAL mode here: the switch rewrites the header through a rollback journal, and
      // a recorder killed in it must not leave a hot journal at the trace's path (a read-only
      // reader cannot roll it back). Closed cleanly, the file keeps WAL mode and no -wal.
      db.pragma('journal_mode = WAL');
      db.close();
      db = undefined;
    } catch (e) {
      db?.close();
      fail(e);
    }
    // 2. Publish it (a new path), or keep it under the temporary name until it is closed.
    let dbPath = tmp;
    if (!plan.replaces) {
      // Side files of an earlier trace of this name that is gone: SQLite would apply them to this one.
      for (const x of SIDE_FILES) unlinkQuiet(plan.target + x);
      try {
        linkSync(tmp, plan.target);
        unlinkSync(tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') fail(new TraceError(`${path}: file exists (created while the trace was being set up)`));
        // A file system without hard links: a rename (not atomic against another writer of the name).
        if (existsSync(plan.target)) fail(new TraceError(`${path}: file exists (choose another name, or --overwrite to replace it)`));
        try {
          renameSync(tmp, plan.target);
        } catch (e2) {
          fail(e2);
        }
      }
      dbPath = plan.target;
    }
    // 3. Record in WAL mode: a transaction per batch, durable as soon as it commits.
    let wdb: Database.Database;
    try {
      wdb = openDatabase(dbPath, { fileMustExist: true });
      wdb.pragma('journal_mode = WAL');
      // No fsync: a recorder that dies loses nothing the OS has (WAL); only an OS crash or power
      // loss could lose the last batches, and a trace is re-recordable. fsyncs cost ~10 ms each here.
      wdb.pragma('synchronous = OFF');
    } catch (e) {
      throw new TraceError(`${path}: cannot open the trace for writing: ${(e as Error).message}`);
    }
    return new TraceWriter(path, wdb, opts.indexesFirst === true, dbPath, plan.replaces ? plan.target : null);
  }

  get eventsWritten(): number {
    return this.events;
  }

  setMeta(key: string, value: string): void {
    if (this.db.inTransaction) this.setMetaStmt.run(key, value);
    else this.guarded(() => this.setMetaStmt.run(key, value));
  }

  private insertBatch(b: EventBatch | WireBatch): void {
    const n = b.length;
    const byKind = this.byKind;
    const args = this.rowArgs;
    let i = 0;
    // 64 rows per statement: the per-call cost of better-sqlite3 dominates single-row inserts.
    for (; i + ROWS_PER_INSERT <= n; i += ROWS_PER_INSERT) {
      for (let k = 0; k < ROWS_PER_INSERT; k++) this.fillRow(b, i + k, args, k * 12);
      this.insEvents.run(args);
    }
    const one = this.oneArgs;
    for (; i < n; i++) {
      this.fillRow(b, i, one, 0);
      this.insEvent.run(one);
    }
    for (let j = 0; j < n; j++) byKind[b.kind[j]!]!++;
    this.events += n;
  }

  private fillRow(b: EventBatch | WireBatch, i: number, a: unknown[], o: number): void {
    const p = b.present[i]!;
    a[o] = b.seq[i];
    a[o + 1] = b.vtime[i];
    a[o + 2] = b.hart[i];
    a[o + 3] = b.instret[i];
    a[o + 4] = b.widePcAt(i) ?? b.pc[i]; // beyond ±2^53 the exact value (a BigInt binds exactly)
    a[o + 5] = b.priv[i];
    a[o + 6] = b.virt[i];
    a[o + 7] = EVENT_KINDS[b.kind[i]!];
    // Values that fit in an int32 are bound as numbers (no BigInt allocation; INTEGER affinity
    // stores them as integers), the others as signed 64-bit BigInts.
    const j = LITTLE_ENDIAN ? i << 1 : -2; // (-2: no int32 shortcut on a big-endian host)
    if (p & 1) { const lo = b.a32[j]!; a[o + 8] = b.a32[j + 1] === lo >> 31 ? lo : b.a[i]; } else a[o + 8] = null;
    if (p & 2) { const lo = b.b32[j]!; a[o + 9] = b.b32[j + 1] === lo >> 31 ? lo : b.b[i]; } else a[o + 9] = null;
    if (p & 4) { const lo = b.c32[j]!; a[o + 10] = b.c32[j + 1] === lo >> 31 ? lo : b.c[i]; } else a[o + 10] = null;
    a[o + 11] = b instanceof EventBatch ? payloadBytes(b.payload[i] ?? null) : b.payloadBytesAt(i);
  }

  private flushPending(): void {
    if (this.pendingConsole.length) {
      for (const [vtime, hart, eseq, data] of this.pendingConsole) this.insConsole.run(this.consoleSeq++, vtime, hart, eseq, data);
      this.pendingConsole = [];
    }
    if (this.pendingInputs.length) {
      for (const [vtime, byte, seq] of this.pendingInputs) this.insInput.run(vtime, byte, seq);
      this.pendingInputs = [];
    }
    if (this.pendingQueued.length) {
      for (const [vtime, data] of this.pendingQueued) this.insQueued.run(vtime, data);
      this.pendingQueued = [];
    }
    if (this.pendingDigests.length) {
      for (const d of this.pendingDigests) {
        this.insDigest.run(d.vtime, d.totalInstret, d.seq, JSON.stringify(d.hartInstret), d.stateHash, d.ramHash, d.final ? 1 : 0,
          d.eventsHash ?? null, d.kindCounts ? JSON.stringify(d.kindCounts) : null);
      }
      this.pendingDigests = [];
    }
  }

  /** Write events (one transaction, together with the buffered console / input / digest rows). */
  writeEvents(events: EventBatch | WireBatch | readonly TraceEvent[]): void {
    this.guarded(() => {
      if (isEventList(events)) this.writeListTx(events);
      else this.writeBatchTx(events);
    });
  }

  addConsole(vtime: number, hart: number | null, eventSeq: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.pendingConsole.push([vtime, hart, eventSeq, data]);
    this.consoleHash.update(data);
    this.consoleBytesN += data.length;
  }
  addInput(vtime: number, byte: number, seq: number | null): void {
    this.pendingInputs.push([vtime, byte, seq]);
    this.inputsN++;
  }
  addQueuedInput(vtime: number, data: Uint8Array): void {
    this.pendingQueued.push([vtime, Uint8Array.from(data)]);
  }
  addDigest(d: DigestRow): void {
    this.pendingDigests.push(d);
    this.digestsN++;
  }

  /**
   * Hold the following writes in one transaction until endBulk (each write then runs in a
   * savepoint). The writer thread uses it for batches that queued up while it was busy: one
   * commit instead of one per batch.
   */
  beginBulk(): void {
    this.guarded(() => {
      if (!this.db.inTransaction) this.db.exec('BEGIN');
    });
  }
  endBulk(): void {
    if (!this.closed && this.db.inTransaction) this.guarded(() => this.db.exec('COMMIT'));
  }

  /** Commit buffered console / input / digest rows. */
  flush(): void {
    this.guarded(() => this.flushTx());
  }

  hasPage(hash: Uint8Array): boolean {
    return this.knownPages.has(Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex'));
  }

  /**
   * Store a checkpoint: `state` is the encoded snapshot (encodeState), `pages` the non-zero RAM
   * pages; page contents are fetched with `pageBytes(index)` only for hashes not stored yet.
   * Returns the checkpoint id.
   */
  addCheckpoint(info: Omit<CheckpointInfo, 'id'>, state: Uint8Array, pages: readonly PageRef[], pageBytes: (index: number) => Uint8Array): number {
    this.checkOpen();
    const list = Buffer.alloc(pages.length * 36);
    let id = 0;
    this.guarded(() => this.db.transaction(() => {
      pages.forEach((p, k) => {
        list.writeUInt32LE(p.index, k * 36);
        list.set(p.hash, k * 36 + 4);
        const hex = Buffer.from(p.hash.buffer, p.hash.byteOffset, 32).toString('hex');
        if (!this.knownPages.has(hex)) {
          this.insPage.run(Buffer.from(p.hash), deflateRawSync(pageBytes(p.index), { level: 1 }));
          this.knownPages.add(hex);
        }
      });
      const r = this.insCheckpoint.run(info.vtime, info.totalInstret, info.seq, info.consoleSeq, info.consoleBytes, state, list);
      id = Number(r.lastInsertRowid);
      this.flushPending();
    })());
    this.checkpointsN++;
    return id;
  }

  addDiskBlocks(rows: readonly DiskBlockRow[]): void {
    this.checkOpen();
    if (rows.length === 0) return;
    const ins = this.db.prepare('INSERT OR REPLACE INTO disk_blocks (drive, layer, block, hash) VALUES (?, ?, ?, ?)');
    this.guarded(() => this.db.transaction(() => {
      for (const r of rows) {
        const hash = createHash('sha256').update(r.data).digest();
        const hex = hash.toString('hex');
        if (!this.knownPages.has(hex)) {
          this.insPage.run(hash, deflateRawSync(r.data, { level: 1 }));
          this.knownPages.add(hex);
        }
        ins.run(r.drive, r.layer, r.block, hash);
      }
    })());
  }

  /** Console chunks and bytes added so far (for checkpoints). */
  get consolePosition(): { seq: number; bytes: number } {
    return { seq: this.consoleSeq + this.pendingConsole.length, bytes: this.consoleBytesN };
  }

  /**
   * Finish the trace: status, exit, counts, console digest; then checkpoint the WAL, switch to
   * journal_mode DELETE (one self-contained file), close, and (replacing a file) rename it into
   * place.
   */
  finish(status: 'complete' | 'aborted', result: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> } = {}): void {
    this.checkOpen();
    const byKind: Record<string, number> = {};
    EVENT_KINDS.forEach((k, i) => { if (this.byKind[i]) byKind[k] = this.byKind[i]!; });
    const counts: TraceCounts = {
      instret: [], steps: [], totalInstret: 0, vtime: 0,
      ...result.counts,
      events: this.events,
      byKind,
      consoleBytes: this.consoleBytesN,
      inputs: this.inputsN,
      checkpoints: this.checkpointsN,
      digests: this.digestsN,
      pages: this.knownPages.size,
    };
    this.guarded(() => this.db.transaction(() => {
      this.flushPending();
      this.setMeta('status', status);
      if (result.exit) this.setMeta('exit', JSON.stringify(result.exit));
      this.setMeta('counts', JSON.stringify(counts));
      this.setMeta('console_sha256', this.consoleHash.copy().digest('hex'));
      const [, indexes, last] = schemaSql();
      this.db.exec(this.indexed ? last : indexes + last);
    })());
    this.closeFile();
  }

  /** Close without finishing: the status stays 'recording' (a reader sees 'truncated' once this process is gone). */
  close(): void {
    if (this.closed) return;
    try {
      this.flushTx();
    } catch {
      /* what could not be written is lost; the rest stays readable */
    }
    this.closeFile();
  }

  /** See TraceSink.abandon. Returns whether it could be marked 'aborted' (else it reads as 'truncated'). */
  abandon(reason: string): boolean {
    if (this.closed) return false;
    let marked = false;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      /* rolled back already */
    }
    try {
      // Small: fits where a batch did not (and if not, the trace reads as 'truncated').
      this.db.transaction(() => {
        this.setMeta('status', 'aborted');
        this.setMeta('exit', JSON.stringify({ kind: 'aborted', exitCode: 2, message: reason } satisfies ExitInfo));
      })();
      marked = true;
    } catch {
      /* status stays 'recording' */
    }
    this.closeFile();
    return marked;
  }

  /** See TraceSink.discard. */
  discard(): void {
    if (!this.closed) {
      this.closed = true;
      try {
        this.db.close();
      } catch {
        /* closed */
      }
    }
    for (const p of [this.dbPath, ...SIDE_FILES.map((x) => this.dbPath + x)]) unlinkQuiet(p);
  }

  /** Run a write; a failure abandons the trace (marked aborted, closed, at its path) and throws a TraceError. */
  private guarded<T>(f: () => T): T {
    this.checkOpen();
    try {
      return f();
    } catch (e) {
      const msg = e instanceof TraceError ? e.message : `${this.path}: ${writeErrorText(e)}`;
      const marked = this.abandon(msg.startsWith(`${this.path}: `) ? msg.slice(this.path.length + 2) : msg);
      throw new TraceError(`${msg}; ${keptText(marked)}`);
    }
  }

  /**
   * Checkpoint, leave WAL mode, close, publish. Never throws: a reader that has the file open
   * (a new path can be read while it is recorded) keeps it in WAL mode, which readers accept; a
   * full disk leaves the WAL next to it.
   */
  private closeFile(): void {
    this.closed = true;
    try {
      // Readers hold the file open in WAL mode: do not wait for them (better-sqlite3 waits 5 s).
      this.db.pragma('busy_timeout = 50');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma('journal_mode = DELETE');
    } catch {
      /* stays in WAL mode */
    }
    try {
      this.db.close();
    } catch {
      /* closed */
    }
    if (this.replaces === null) return;
    // Replacing a file: the old one's side files go first (SQLite would apply a stale WAL or
    // journal to the new file); a process reading the old trace keeps its open files.
    const t = this.replaces;
    try {
      for (const x of SIDE_FILES) unlinkQuiet(t + x);
      renameSync(this.dbPath, t);
      if (existsSync(`${this.dbPath}-wal`)) renameSync(`${this.dbPath}-wal`, `${t}-wal`);
      unlinkQuiet(`${this.dbPath}-shm`);
    } catch (e) {
      process.stderr.write(`hvtrace: ${this.path}: the new trace could not replace the old file (${(e as Error).message}); it is ${this.dbPath}\n`);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('internal: trace writer is closed');
  }
}
