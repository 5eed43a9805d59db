/**
 * The SQLite trace store (DESIGN.md §4): `TraceWriter` creates and fills a trace file,
 * `TraceReader` opens one read-only. `schemas/trace.sql` is the source of truth for the tables;
 * this module only executes it and reads/writes rows.
 *
 * ## API (stable; replay / diff / import build on it)
 *
 * ```ts
 * SCHEMA_VERSION: 2                       // PRAGMA user_version written; 1 and 2 are read
 * HVTRACE_VERSION: string                 // package.json version
 * PACKAGE_ROOT: string                    // absolute path of the package (ends with '/')
 * class TraceError extends Error { readonly exitCode: 2 }
 *
 * // ---- writing ----
 * // TraceSink: what the recorder writes through; TraceWriter here, or ThreadedTraceWriter
 * // (src/trace/writer-thread.ts: the same calls applied by a TraceWriter on a worker thread).
 * TraceWriter.create(path: string, init: TraceInit, opts?: TraceCreateOptions): TraceWriter
 *                                         // { overwrite?, indexesFirst? }
 *   .path: string
 *   .eventsWritten: number                  // rows in `events` so far
 *   .writeEvents(events: EventBatch | readonly TraceEvent[]): void   // one transaction (with pending console/input rows)
 *   .addConsole(vtime: number, hart: number | null, eventSeq: number, data: Uint8Array): void   // buffered
 *   .addInput(vtime: number, byte: number, seq: number | null): void                            // buffered
 *   .addQueuedInput(vtime: number, data: Uint8Array): void                                      // buffered
 *   .addDigest(d: DigestRow): void                                                               // buffered
 *   .hasPage(hash: Uint8Array): boolean
 *   .addCheckpoint(info: Omit<CheckpointInfo, 'id'>, state: Uint8Array, pages: readonly PageRef[],
 *                  pageBytes: (index: number) => Uint8Array): number   // returns the id; own transaction
 *   .setMeta(key: string, value: string): void
 *   .flush(): void                          // commit buffered console / input / digest rows
 *   .finish(status: 'complete' | 'aborted', result?: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> }): void
 *                                           // final meta, WAL checkpoint, journal_mode=DELETE, close
 *   .close(): void                          // close without finishing (status stays 'recording')
 *
 * // ---- reading ----
 * TraceReader.open(path: string): TraceReader      // read-only; throws TraceError on anything not a trace
 *   .path, .schemaVersion
 *   .status: TraceStatus ; .config: TraceConfig ; .exit: ExitInfo | null ; .counts: TraceCounts | null
 *   .meta(key: string): string | null ; .metaAll(): Record<string, string>
 *   .consoleSha256: string | null
 *   .loadedImages(): LoadedImageInfo[]               // where the machine put each image
 *   .images(): StoredImage[]                         // role, name, sha256, size (no bytes)
 *   .imageBytes(role: ImageRole): Uint8Array | null  // decompressed and sha256-checked
 *   .machineConfig(): MachineConfig                  // ready for `new Machine(...)` (images with bytes)
 *   .eventCount(filter?: EventFilter): number ; .countsByKind(): Record<string, number>
 *   .maxSeq(): number                                // -1 when there are no events
 *   .event(seq: number): TraceEvent | null
 *   .readEvents(filter?: EventFilter): TraceEvent[]  // one query; use limit
 *   .eventBatches(filter?: EventFilter, batchSize?: number): Generator<TraceEvent[]>
 *   .events(filter?: EventFilter): Generator<TraceEvent>
 *   .feedEventRows(from: number, limit: number): unknown[][]   // raw rows for the replayer's feed thread
 *   .console(): ConsoleChunk[] ; .consoleBytes(): Uint8Array
 *   .inputs(): InputRow[] ; .inputQueue(): QueuedInput[]
 *   .digests(): DigestRow[]
 *   .hashedEventRows(from: number, to: number): unknown[][]   // HASHED_EVENT_COLUMNS rows, to check digests' events_hash
 *   .checkpoints(): CheckpointInfo[]
 *   .checkpointAtOrBefore(pos: { seq?: number; vtime?: number; totalInstret?: number }): CheckpointInfo | null
 *   .checkpoint(id: number): CheckpointData          // state decoded, page list
 *   .page(hash: Uint8Array): Uint8Array              // 4096 bytes
 *   .query(sql: string, params?: unknown[]): QueryResult   // read-only statements only (TraceError otherwise)
 *   .close(): void
 *
 * encodePayload(p) / decodePayload(buf)             // the msgpack codec of events.payload
 * storedMachineConfig(cfg: MachineConfig): { machine: StoredMachineConfig; images: TraceImage[] }
 * ```
 *
 * Event ranges are half-open: `from` (inclusive) .. `to` (exclusive) seq numbers.
 *
 * Integers: 64-bit values are written as `BigInt.asIntN(64, v)` and read back with safe integers and
 * `BigInt.asUintN(64, v)`: exact for every value. Other integer columns (seq, vtime, instret) are JS
 * numbers (< 2^53).
 *
 * Files: the writer creates the file directly (no temporary name), in WAL mode with one
 * transaction per batch; `finish` switches it back to a single self-contained file (journal_mode
 * DELETE), so a finished trace - complete or aborted - is one file that readers open without
 * creating anything next to it. The reader opens with `readonly: true, fileMustExist: true` and
 * checks the SQLite header (magic, size) before SQLite touches the file: it never modifies a trace.
 *
 * Images: the firmware / kernel / initrd / dtb bytes are stored in the trace (raw DEFLATE, table
 * `images`), so a trace is self-contained for replay and `hvtrace events` can disassemble from
 * it. They are small except Linux + initrd (a few MiB compressed), which is acceptable next to the
 * events of a Linux boot.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, unlinkSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
// msgpackr's plain JS codec: the package's main entry also loads a native string extractor
// (~20 ms of start-up) that only speeds up decoding long strings; payloads are small maps.
import { Packr } from 'msgpackr/pack';
import { EVENT_KINDS, EventBatch, type EventKind, type TraceEvent } from './model.js';
import type { WireBatch } from './wire.js';
import type { Image, MachineConfig, LoadedRole } from '../machine/machine.js';

/**
 * better-sqlite3, loaded on first use: `hvtrace record` writes its trace on a worker thread
 * (src/trace/writer-thread.ts), and its emulating thread then never loads the native module
 * (~15 ms of start-up).
 */
const requireCjs = createRequire(import.meta.url);
let sqlite: typeof Database | undefined;
function openDatabase(path: string, opts?: Database.Options): Database.Database {
  sqlite ??= requireCjs('better-sqlite3') as typeof Database;
  return new sqlite(path, opts);
}

/** 2: digests carry the events' running hash and counts per kind (1 is still read). */
export const SCHEMA_VERSION = 2;
/**
 * The events columns a digest's events_hash is computed over, as TraceReader.hashedEventRows
 * returns them (64-bit values as two 32-bit halves: exact as doubles).
 */
export const HASHED_EVENT_COLUMNS =
  'seq, vtime, hart, instret, pc & 4294967295, pc >> 32, priv, virt, kind, ' +
  'a & 4294967295, a >> 32, b & 4294967295, b >> 32, c & 4294967295, c >> 32, payload';
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HVTRACE_VERSION: string = (() => {
  try {
    return String((JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version?: string }).version ?? '0.0.0');
  } catch {
    return '0.0.0';
  }
})();

/** Anything wrong with a trace file or a query on it. The CLI exits with `exitCode` (2). */
export class TraceError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export type TraceStatus = 'recording' | 'complete' | 'aborted';
/** Roles in the `images` table; guest k of the built-in hypervisor stores 'guest<k>' and 'guest<k>-initrd'. */
export type ImageRole = 'firmware' | 'kernel' | 'initrd' | 'dtb' | `guest${number}` | `guest${number}-initrd`;

export interface ImageRef {
  readonly name: string;
  /** sha256 (hex) of the file bytes. */
  readonly sha256: string;
  readonly size: number;
}
export interface StoredImage extends ImageRef {
  readonly role: ImageRole;
}
export interface TraceImage extends StoredImage {
  readonly bytes: Uint8Array;
}

/** MachineConfig with images by reference (schemas/machine-config.schema.json, `machine`). */
export interface StoredMachineConfig {
  readonly ramSize: number;
  readonly harts: number;
  readonly bios: 'builtin' | 'none' | ImageRef;
  readonly kernel?: ImageRef;
  readonly initrd?: ImageRef;
  readonly append?: string;
  readonly dtb?: ImageRef;
  /** Guests of the built-in hypervisor (images in roles 'guest<k>' / 'guest<k>-initrd'). */
  readonly guests?: readonly StoredGuestConfig[];
}

/** One guest of the built-in hypervisor, as stored (MachineConfig.guests). */
export interface StoredGuestConfig {
  readonly image: ImageRef;
  readonly vcpus: number;
  readonly memSize: number;
  readonly append?: string;
  readonly initrd?: ImageRef;
}

/** Everything that determines a run, as stored in meta 'config'. */
export interface TraceConfig {
  /** What wrote the trace: 'hvtrace record', or an importer's name. */
  readonly producer: string;
  readonly hvtraceVersion: string;
  readonly schemaVersion: number;
  /** null for traces imported from another emulator. */
  readonly machine: StoredMachineConfig | null;
  readonly quantum: number | null;
  readonly maxInsns: number | null;
  /** Digest / checkpoint interval in instructions (null = none). */
  readonly digestEvery: number | null;
  readonly checkpointEvery: number | null;
  /** Where UART input came from (the bytes themselves are in input_queue / inputs). */
  readonly input: { readonly source: 'none' | 'file' | 'stdin'; readonly name?: string };
}

export interface LoadedImageInfo {
  readonly name: string;
  readonly role: LoadedRole;
  readonly base: number;
  readonly size: number;
  readonly entry: number;
}

export interface ExitInfo {
  readonly kind: string;
  readonly exitCode: number;
  readonly message: string;
}

export interface TraceCounts {
  events: number;
  byKind: Record<string, number>;
  /** Retired instructions per hart at the end. */
  instret: number[];
  /** Instructions attempted per hart (retired + trapped): drives virtual time. */
  steps: number[];
  totalInstret: number;
  /** Scheduler time at the end. */
  vtime: number;
  consoleBytes: number;
  inputs: number;
  checkpoints: number;
  digests: number;
  pages: number;
}

export interface TraceInit {
  readonly config: TraceConfig;
  /** Images to store (bytes compressed into the trace). */
  readonly images?: readonly TraceImage[];
  readonly loadedImages?: readonly LoadedImageInfo[];
  /** Extra meta keys (TEXT). */
  readonly meta?: Readonly<Record<string, string>>;
}

export interface ConsoleChunk {
  readonly seq: number;
  readonly vtime: number;
  readonly hart: number | null;
  readonly eventSeq: number;
  readonly data: Uint8Array;
}
export interface InputRow {
  readonly vtime: number;
  readonly byte: number;
  readonly seq: number | null;
}
export interface QueuedInput {
  readonly vtime: number;
  readonly data: Uint8Array;
}
export interface DigestRow {
  readonly vtime: number;
  readonly totalInstret: number;
  /** seq of the next event when the digest was taken. */
  readonly seq: number;
  readonly hartInstret: readonly number[];
  readonly stateHash: string;
  readonly ramHash: string;
  /** The digest taken when the run ended (not at a round boundary). */
  readonly final: boolean;
  /**
   * The running hash of the events before the digest (seq 0 .. seq - 1; src/trace/event-hash.ts),
   * 16 hex digits; null or absent when not known (schema 1, a replayer that started mid-trace).
   */
  readonly eventsHash?: string | null;
  /** The events before the digest per kind (null or absent with eventsHash). */
  readonly kindCounts?: Readonly<Record<string, number>> | null;
}
export interface CheckpointInfo {
  readonly id: number;
  readonly vtime: number;
  readonly totalInstret: number;
  /** seq of the next event after the checkpoint. */
  readonly seq: number;
  /** Console chunks / bytes written before the checkpoint. */
  readonly consoleSeq: number;
  readonly consoleBytes: number;
}
/** One non-zero RAM page of a checkpoint: page index from the start of RAM, sha256 of its bytes. */
export interface PageRef {
  readonly index: number;
  readonly hash: Uint8Array;
}
export interface CheckpointData extends CheckpointInfo {
  /** Decoded msgpack: { machine: MachineSnapshot, scheduler: { time, inputPos, inputOff } }. */
  readonly state: { machine: unknown; scheduler: unknown };
  /** Non-zero pages (all others are zero). */
  readonly pages: PageRef[];
}

export interface EventFilter {
  /** First seq (inclusive). */
  readonly from?: number;
  /** End seq (exclusive). */
  readonly to?: number;
  readonly kinds?: readonly EventKind[];
  readonly hart?: number;
  /** At most this many events. */
  readonly limit?: number;
}

export interface QueryResult {
  readonly columns: string[];
  /** Values as SQLite returns them; integers as bigint (safe integers), blobs as Buffer. */
  readonly rows: unknown[][];
}

const ROWS_PER_INSERT = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Marks the part of trace.sql that runs when a recording finishes (indexes: cheaper built once). */
const DEFERRED_MARKER = '-- @deferred';

const REQUIRED_TABLES = ['meta', 'images', 'events', 'inputs', 'input_queue', 'console', 'checkpoints', 'pages', 'digests'];

// ---------------------------------------------------------------------------------------------
// payload codec
// ---------------------------------------------------------------------------------------------

/** msgpack without records: plain maps. BigInts are written as 64-bit ints and read back as bigint. */
const packr = new Packr({ useRecords: false, variableMapSize: true });

export function encodePayload(p: Readonly<Record<string, unknown>>): Buffer {
  return packr.pack(p);
}
export function decodePayload(buf: Uint8Array): Record<string, unknown> {
  return packr.unpack(buf) as Record<string, unknown>;
}
export function encodeState(v: unknown): Buffer {
  return packr.pack(v);
}
export function decodeState(buf: Uint8Array): unknown {
  return packr.unpack(buf);
}

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// config helpers
// ---------------------------------------------------------------------------------------------

function imageRefOf(img: Image): ImageRef {
  return { name: img.name, sha256: sha256hex(img.bytes), size: img.bytes.length };
}

/** Split a MachineConfig into its stored form (images by reference) and the image bytes. */
export function storedMachineConfig(cfg: MachineConfig): { machine: StoredMachineConfig; images: TraceImage[] } {
  const images: TraceImage[] = [];
  const ref = (img: Image | undefined, role: ImageRole): ImageRef | undefined => {
    if (!img) return undefined;
    const r = imageRefOf(img);
    images.push({ ...r, role, bytes: img.bytes });
    return r;
  };
  const bios = typeof cfg.bios === 'object' ? ref(cfg.bios, 'firmware')! : cfg.bios;
  const machine: StoredMachineConfig = {
    ramSize: cfg.ramSize,
    harts: cfg.harts,
    bios,
    ...(cfg.kernel ? { kernel: ref(cfg.kernel, 'kernel') } : {}),
    ...(cfg.initrd ? { initrd: ref(cfg.initrd, 'initrd') } : {}),
    ...(cfg.append !== undefined ? { append: cfg.append } : {}),
    ...(cfg.dtb ? { dtb: ref(cfg.dtb, 'dtb') } : {}),
    ...(cfg.guests && cfg.guests.length > 0 ? {
      guests: cfg.guests.map((g, k): StoredGuestConfig => ({
        image: ref(g.image, `guest${k}`)!,
        vcpus: g.vcpus,
        memSize: g.memSize,
        ...(g.append !== undefined ? { append: g.append } : {}),
        ...(g.initrd ? { initrd: ref(g.initrd, `guest${k}-initrd`) } : {}),
      })),
    } : {}),
  };
  return { machine, images };
}

// ---------------------------------------------------------------------------------------------
// writer
// ---------------------------------------------------------------------------------------------

/** trace.sql split at the `-- @deferred` line: [run at create, run at finish]. */
function schemaSql(): [string, string] {
  const p = `${PACKAGE_ROOT}schemas/trace.sql`;
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    throw new Error(`internal: cannot read the trace schema ${p}: ${(e as Error).message}`);
  }
  const k = text.indexOf(`\n${DEFERRED_MARKER}`);
  return k < 0 ? [text, ''] : [text.slice(0, k + 1), text.slice(k + 1)];
}

function isEventList(e: EventBatch | WireBatch | readonly TraceEvent[]): e is readonly TraceEvent[] {
  return Array.isArray(e);
}

/** Cache of encoded frozen payloads (the recorder's shared constants). */
const frozenPayloads = new WeakMap<object, Buffer>();
export function payloadBytes(p: Readonly<Record<string, unknown>> | null): Buffer | null {
  if (p === null) return null;
  let b = frozenPayloads.get(p);
  if (b !== undefined) return b;
  b = packr.pack(p) as Buffer;
  if (Object.isFrozen(p)) {
    b = Buffer.from(b);
    frozenPayloads.set(p, b);
  }
  return b;
}

export interface TraceCreateOptions {
  /** Replace an existing file (otherwise it is an error). */
  overwrite?: boolean;
  /**
   * Create the indexes before the first event instead of at finish. Inserts cost more, but on the
   * writer thread that work overlaps the emulation, while an index built at finish is a wait.
   */
  indexesFirst?: boolean;
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
  setMeta(key: string, value: string): void;
  flush(): void;
  finish(status: 'complete' | 'aborted', result?: { exit?: ExitInfo | null; counts?: Partial<TraceCounts> }): void;
  close(): void;
}

/** Make room for a new trace at `path`: an existing one is an error unless `overwrite`, which
 * removes it with its SQLite side files. */
export function clearTracePath(path: string, overwrite: boolean): void {
  if (!existsSync(path)) return;
  if (!overwrite) throw new TraceError(`${path}: file exists (choose another name)`);
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) if (existsSync(p)) unlinkSync(p);
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
  /** The indexes exist already (TraceCreateOptions.indexesFirst): finish does not build them. */
  private readonly indexed: boolean;
  private readonly writeBatchTx: (b: EventBatch | WireBatch) => void;
  private readonly writeListTx: (l: readonly TraceEvent[]) => void;
  private readonly flushTx: () => void;

  private constructor(path: string, db: Database.Database, indexed: boolean) {
    this.path = path;
    this.db = db;
    this.indexed = indexed;
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

  /** Create a new trace file (an existing one is an error unless `overwrite`). */
  static create(path: string, init: TraceInit, opts: TraceCreateOptions = {}): TraceWriter {
    clearTracePath(path, opts.overwrite === true);
    let db: Database.Database;
    try {
      db = openDatabase(path);
    } catch (e) {
      throw new TraceError(`${path}: cannot create the trace: ${(e as Error).message}`);
    }
    db.pragma('journal_mode = WAL');
    // No fsync: a recorder that dies loses nothing the OS has (WAL); only an OS crash or power
    // loss could damage a trace, and a trace is re-recordable. fsyncs cost ~10 ms each here.
    db.pragma('synchronous = OFF');
    const [tables, indexes] = schemaSql();
    db.exec(`BEGIN;\n${tables}\n${opts.indexesFirst ? indexes : ''}\nCOMMIT;`);
    const w = new TraceWriter(path, db, opts.indexesFirst === true);
    const cfg = init.config;
    const loaded = init.loadedImages ?? [];
    db.transaction(() => {
      w.setMeta('format', 'hvtrace');
      w.setMeta('schema_version', String(SCHEMA_VERSION));
      w.setMeta('hvtrace_version', cfg.hvtraceVersion);
      w.setMeta('status', 'recording');
      w.setMeta('config', JSON.stringify(cfg));
      w.setMeta('loaded_images', JSON.stringify(loaded));
      for (const [k, v] of Object.entries(init.meta ?? {})) w.setMeta(k, v);
      const ins = db.prepare('INSERT OR REPLACE INTO images (role, name, sha256, size, data) VALUES (?, ?, ?, ?, ?)');
      for (const img of init.images ?? []) {
        ins.run(img.role, img.name, img.sha256, img.size, deflateRawSync(img.bytes, { level: 1 })); // fast: the Linux Image is on the critical path of a recording
      }
    })();
    return w;
  }

  get eventsWritten(): number {
    return this.events;
  }

  setMeta(key: string, value: string): void {
    this.setMetaStmt.run(key, value);
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
    a[o + 4] = b.pc[i];
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
    this.checkOpen();
    if (isEventList(events)) this.writeListTx(events);
    else this.writeBatchTx(events);
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
    this.checkOpen();
    if (!this.db.inTransaction) this.db.exec('BEGIN');
  }
  endBulk(): void {
    if (!this.closed && this.db.inTransaction) this.db.exec('COMMIT');
  }

  /** Commit buffered console / input / digest rows. */
  flush(): void {
    this.checkOpen();
    this.flushTx();
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
    this.db.transaction(() => {
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
    })();
    this.checkpointsN++;
    return id;
  }

  /** Console chunks and bytes added so far (for checkpoints). */
  get consolePosition(): { seq: number; bytes: number } {
    return { seq: this.consoleSeq + this.pendingConsole.length, bytes: this.consoleBytesN };
  }

  /**
   * Finish the trace: status, exit, counts, console digest; then checkpoint the WAL, switch to
   * journal_mode DELETE (one self-contained file) and close.
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
    this.db.transaction(() => {
      this.flushPending();
      this.setMeta('status', status);
      if (result.exit) this.setMeta('exit', JSON.stringify(result.exit));
      this.setMeta('counts', JSON.stringify(counts));
      this.setMeta('console_sha256', this.consoleHash.copy().digest('hex'));
      if (!this.indexed) this.db.exec(schemaSql()[1]);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.pragma('journal_mode = DELETE');
    this.db.close();
    this.closed = true;
  }

  /** Close without finishing: the status stays 'recording'. */
  close(): void {
    if (this.closed) return;
    try {
      this.flushTx();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma('journal_mode = DELETE');
    } finally {
      this.db.close();
      this.closed = true;
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('internal: trace writer is closed');
  }
}

// ---------------------------------------------------------------------------------------------
// reader
// ---------------------------------------------------------------------------------------------

const SQLITE_MAGIC = 'SQLite format 3\0';

/** Check the SQLite header without SQLite: magic and that the file holds all its pages. */
function checkHeader(path: string): void {
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
  if (hdr[18] === 2 || hdr[19] === 2) {
    // WAL mode: only while a writer has it open, or after a writer died. A read-only
    // connection would have to create FILE-shm / FILE-wal next to it: refuse instead.
    throw new TraceError(`${path}: the trace was not closed (its recording is still running, or the recorder was killed${existsSync(`${path}-wal`) ? `; ${path}-wal holds its last batches` : ''}); to recover a dead one: sqlite3 ${path} 'PRAGMA journal_mode=DELETE'`);
  }
  if (st.size % pageSize !== 0 || (valid && pages > 0 && st.size < pages * pageSize)) {
    throw new TraceError(`${path}: not an hvtrace trace (truncated: ${st.size} bytes, expected ${valid && pages > 0 ? pages * pageSize : `a multiple of ${pageSize}`})`);
  }
}

type Row = unknown[];
const U64 = (v: unknown): bigint => BigInt.asUintN(64, v as bigint);
const num = (v: unknown): number => Number(v as bigint);

export class TraceReader {
  readonly path: string;
  readonly schemaVersion: number;
  private readonly db: Database.Database;
  private readonly metaCache: Record<string, string>;
  private configCache: TraceConfig | null = null;

  private constructor(path: string, db: Database.Database, version: number, meta: Record<string, string>) {
    this.path = path;
    this.db = db;
    this.schemaVersion = version;
    this.metaCache = meta;
  }

  /** Open a trace read-only, checking that it is one this hvtrace understands. */
  static open(path: string): TraceReader {
    checkHeader(path);
    let db: Database.Database;
    try {
      db = openDatabase(path, { readonly: true, fileMustExist: true });
    } catch (e) {
      throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
    }
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
      const r = new TraceReader(path, db, version, meta);
      r.registerFunctions();
      return r;
    } catch (e) {
      db.close();
      if (e instanceof TraceError) throw e;
      throw new TraceError(`${path}: not an hvtrace trace (${(e as Error).message})`);
    }
  }

  private registerFunctions(): void {
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
  }

  meta(key: string): string | null {
    return this.metaCache[key] ?? null;
  }
  metaAll(): Record<string, string> {
    return { ...this.metaCache };
  }
  get status(): TraceStatus {
    return (this.metaCache.status ?? 'recording') as TraceStatus;
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
    return this.metaCache.exit ? (JSON.parse(this.metaCache.exit) as ExitInfo) : null;
  }
  get counts(): TraceCounts | null {
    return this.metaCache.counts ? (JSON.parse(this.metaCache.counts) as TraceCounts) : null;
  }
  get consoleSha256(): string | null {
    return this.metaCache.console_sha256 ?? null;
  }

  loadedImages(): LoadedImageInfo[] {
    return JSON.parse(this.metaCache.loaded_images ?? '[]') as LoadedImageInfo[];
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
    return (st.safeIntegers(true).raw(true).all(...w.params) as Row[]).map(rowToEvent);
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
    return { ...TraceReader.ckInfo(r), state: decodeState(r[6] as Buffer) as CheckpointData['state'], pages };
  }
  page(hash: Uint8Array): Uint8Array {
    const r = this.db.prepare('SELECT data FROM pages WHERE hash = ?').pluck().get(Buffer.from(hash)) as Buffer | undefined;
    if (!r) throw new TraceError(`${this.path}: page ${Buffer.from(hash).toString('hex')} is missing`);
    const b = new Uint8Array(inflateRawSync(r));
    if (b.length !== 4096) throw new TraceError(`${this.path}: page ${Buffer.from(hash).toString('hex')} is corrupt`);
    return b;
  }

  // ---- ad-hoc SQL ----

  /** Run one read-only statement (SELECT / WITH / EXPLAIN / read-only PRAGMA); anything else is refused. */
  query(sql: string, params: unknown[] = []): QueryResult {
    if (/^\s*(attach|detach|vacuum)\b/i.test(sql)) throw new TraceError('query: only read-only statements are allowed (ATTACH/DETACH/VACUUM refused)');
    if (/^\s*pragma\b[^;]*=/i.test(sql) || /^\s*pragma\s+[\w.]*\s*\(/i.test(sql) && !/^\s*pragma\s+(table_info|table_xinfo|index_list|index_info|foreign_key_list)\s*\(/i.test(sql)) {
      throw new TraceError('query: only read-only statements are allowed (PRAGMA assignments refused)');
    }
    let st: Database.Statement;
    try {
      st = this.db.prepare(sql);
    } catch (e) {
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
      throw new TraceError(`query: ${(e as Error).message}`);
    }
  }
}

function rowToEvent(r: Row): TraceEvent {
  return {
    seq: num(r[0]),
    vtime: num(r[1]),
    hart: num(r[2]),
    instret: num(r[3]),
    pc: U64(r[4]),
    priv: num(r[5]),
    virt: num(r[6]) !== 0,
    kind: r[7] as EventKind,
    a: r[8] === null ? null : U64(r[8]),
    b: r[9] === null ? null : U64(r[9]),
    c: r[10] === null ? null : U64(r[10]),
    payload: r[11] === null ? null : decodePayload(r[11] as Buffer),
  };
}

/** JSON text of a decoded payload; bigints as (unsigned decimal) numbers, bytes as hex strings. */
export function toJson(v: unknown): string {
  const BIG = '\u0000big:';
  const s = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${BIG}${x.toString()}`;
    if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
    return x;
  });
  return s.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}
