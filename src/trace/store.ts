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
 *   .abandon(reason: string): void          // after a write error: mark 'aborted' if it fits, close
 *   .discard(): void                        // close and delete (the recording could not start)
 * checkTracePath(path, overwrite): TracePathPlan    // TraceError for a device, directory, FIFO, '', ...
 *
 * // ---- reading ----
 * TraceReader.open(path: string): TraceReader      // read-only; throws TraceError on anything not a trace
 *   .path, .schemaVersion
 *   .status: TraceStatus ; .config: TraceConfig ; .exit: ExitInfo | null ; .counts: TraceCounts | null
 *                                                    // status 'truncated': left 'recording' by a recorder that is gone
 *   .recorderPid: number | null
 *   .damage(): string[]                              // cheap: seq gaps, counts that disagree with meta
 *   .integrityProblem(): string | null               // PRAGMA integrity_check (reads the whole file)
 *   .startIntegrityCheck(): { result(): string | null; cancel(): void }   // the same on a thread
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
 * Files: a trace appears at its path only as a valid trace (built under a temporary name and
 * linked into place; an --overwrite is renamed over the old file when closed: "where a trace is
 * written" below). It is recorded in WAL mode with one transaction per batch, so a recorder that
 * dies (SIGKILL, power cut, full disk) leaves every committed batch readable; `finish` switches
 * it back to a single self-contained file (journal_mode DELETE), so a finished trace - complete
 * or aborted - is one file that readers open without creating anything next to it. The reader
 * checks the SQLite header (magic, size) before SQLite touches the file and opens it read-only
 * (a WAL-mode one too: openSqliteTrace): it never modifies a trace. Meta 'recorder' (pid, host,
 * process start time) lets it tell a recording in progress from one whose recorder is gone
 * ('truncated').
 *
 * Images: the firmware / kernel / initrd / dtb bytes are stored in the trace (raw DEFLATE, table
 * `images`), so a trace is self-contained for replay and `hvtrace events` can disassemble from
 * it. They are small except Linux + initrd (a few MiB compressed), which is acceptable next to the
 * events of a Linux boot.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import {
  closeSync, copyFileSync, existsSync, linkSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync,
  renameSync, rmSync, statSync, unlinkSync, type Stats,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startWorker } from './worker.js';
// msgpackr's plain JS codec: the package's main entry also loads a native string extractor
// (~20 ms of start-up) that only speeds up decoding long strings; payloads are small maps.
import { Packr } from 'msgpackr/pack';
import { EVENT_KINDS, EventBatch, type EventKind, type TraceEvent } from './model.js';
import type { WireBatch } from './wire.js';
import type { Image, MachineConfig, LoadedRole } from '../board/machine.js';
import type { DriveConfig } from '../devices/virtio-blk.js';
import { TraceDiskBackend } from './drive.js';
import { symbolListText, parseSymbolListText, type StoredSymbols } from '../image/symbols.js';
import { SQL_NAME_FUNCTIONS } from './names.js';

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

/**
 * 'recording': its recorder is still running (on this host); 'truncated': left 'recording' by a
 * recorder that is gone (killed, power cut): the trace holds what it had committed, a prefix of
 * the run. 'aborted': closed early on purpose (a signal, a write error), 'complete': finished.
 */
export type TraceStatus = 'recording' | 'truncated' | 'complete' | 'aborted';
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
  /**
   * The goldfish RTC's date at virtual time 0, whole seconds since 1970-01-01 UTC (recorded from
   * the host clock or --rtc base=...); absent in traces from before the RTC: no RTC then.
   */
  readonly rtc?: { readonly base: number };
  /** Guests of the built-in hypervisor (images in roles 'guest<k>' / 'guest<k>-initrd'). */
  readonly guests?: readonly StoredGuestConfig[];
  /** virtio-blk drives: the image by reference (its blocks are in table disk_blocks). */
  readonly drives?: readonly StoredDrive[];
  /** virtio-rng's PRNG seed (no virtio-rng when absent). */
  readonly rngSeed?: number;
  /** The board has the virtio-mmio transports (absent: recorded before them). */
  readonly virtio?: boolean;
}

/** A virtio-blk drive as stored (MachineConfig.drives). */
export interface StoredDrive extends ImageRef {
  readonly readonly: boolean;
}

/** A disk block of a recording (table disk_blocks): layer 0 = read from the image, 1 = overlay. */
export interface DiskBlockRow {
  readonly drive: number;
  readonly layer: 0 | 1;
  readonly block: number;
  readonly data: Uint8Array;
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
  readonly input: { readonly source: 'none' | 'file' | 'stdin' | 'script'; readonly name?: string };
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
  /** Symbol tables to store (schemas/trace.sql `symbols`). */
  readonly symbols?: readonly StoredSymbols[];
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
  /** pc in one of these unsigned half-open ranges [lo, hi). */
  readonly pcRanges?: readonly (readonly [bigint, bigint])[];
  /** (priv, virt) in this list. */
  readonly privs?: readonly { readonly priv: number; readonly virt: boolean }[];
  /** Column a equals this (unsigned 64-bit) value. */
  readonly a?: bigint;
  /** The hart's retired instructions / virtual time at the event, in [min, max] (inclusive). */
  readonly instret?: { readonly min?: number; readonly max?: number };
  readonly vtime?: { readonly min?: number; readonly max?: number };
  /** Only guest pcs: V = 1, or a VM exit / entry (whose pc is the guest's). */
  readonly guestPcs?: boolean;
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
    ...(cfg.rtc ? { rtc: { base: cfg.rtc.base } } : {}),
    ...(cfg.drives && cfg.drives.length > 0 ? {
      drives: cfg.drives.map((d): StoredDrive => ({ name: d.backend.name, sha256: d.backend.sha256, size: d.backend.size, readonly: d.readonly })),
    } : {}),
    ...(cfg.rngSeed !== undefined ? { rngSeed: cfg.rngSeed } : {}),
    ...(cfg.virtio ? { virtio: true } : {}),
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
  const r = text.indexOf(`\n${READER_MARKER}`);
  if (r >= 0) text = text.slice(0, r + 1); // the reader's TEMP views (readerViewsSql) are not stored
  const k = text.indexOf(`\n${DEFERRED_MARKER}`);
  return k < 0 ? [text, ''] : [text.slice(0, k + 1), text.slice(k + 1)];
}

const READER_MARKER = '-- @reader';
let readerViews: string | null = null;
/** The `@reader` section of schemas/trace.sql: TEMP views a reader creates on its connection. */
function readerViewsSql(): string {
  if (readerViews === null) {
    const text = readFileSync(`${PACKAGE_ROOT}schemas/trace.sql`, 'utf8');
    const r = text.indexOf(`\n${READER_MARKER}`);
    readerViews = r < 0 ? '' : text.slice(r + 1);
  }
  return readerViews;
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

// ---- where a trace is written ----
//
// A trace appears at its path only as a valid trace: the writer builds its start (schema, meta,
// images) under a temporary name in the same directory, in rollback-journal mode, and then
// publishes it, so that no reader, no later `record` and no killed recorder ever sees a 0-byte
// or half-made file there:
// - a new path: hard-linked into place (fails if the name was taken meanwhile: never
//   clobbers), then reopened there in WAL mode for the recording. A recorder killed from then
//   on leaves a trace in WAL mode at the path, its committed batches intact (readers accept it:
//   TraceReader.open; it reads as 'truncated').
// - an existing file (--overwrite): it is never deleted or truncated. The new trace is recorded
//   under the temporary name and renamed over it when it is closed (finished, aborted or after a
//   write error), so a process reading the old trace keeps reading the old file, and nobody else
//   ever opens the new one while it is written (its final switch out of WAL mode cannot find it
//   locked). A recorder killed during an overwrite leaves the old trace in place.
// Anything but a regular file or a new path (a directory, a device such as /dev/null, a FIFO)
// is refused, with or without --overwrite.

const SIDE_FILES = ['-wal', '-shm', '-journal'];

function describeFileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* not there */
  }
}

/** Where a new trace goes (checkTracePath). */
export interface TracePathPlan {
  /** The file to create or replace (a symbolic link resolved to the file it names). */
  readonly target: string;
  /** A regular file is there and is replaced when the new trace is closed (--overwrite). */
  readonly replaces: boolean;
}

/**
 * Check a path for a new trace: a new name in an existing directory, or (with `overwrite`) an
 * existing regular file. Throws TraceError (one line, exit 2) for anything else.
 */
export function checkTracePath(path: string, overwrite: boolean): TracePathPlan {
  if (path === '') throw new TraceError('-o: the trace file name is empty');
  let st: Stats | undefined;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TraceError(`${path}: cannot use as a trace file: ${(e as Error).message}`);
  }
  let target = path;
  if (st?.isSymbolicLink()) {
    try {
      target = realpathSync(path);
      st = statSync(target);
    } catch {
      throw new TraceError(`${path}: a symbolic link to nothing; give the trace file's own path`);
    }
  }
  if (st) {
    if (!st.isFile()) throw new TraceError(`${path}: ${describeFileType(st)}, not a trace file: a trace is written to a regular file or a new path only`);
    if (!overwrite) throw new TraceError(`${path}: file exists (choose another name, or --overwrite to replace it)`);
  }
  const dir = dirname(target);
  let ds: Stats;
  try {
    ds = statSync(dir);
  } catch {
    throw new TraceError(`${path}: directory ${dir} does not exist`);
  }
  if (!ds.isDirectory()) throw new TraceError(`${path}: ${dir} is not a directory`);
  return { target, replaces: st !== undefined };
}

/**
 * A temporary name next to `target` (same directory, so that a rename is atomic). Temporary
 * files of `target` left by recorders that were killed during an --overwrite (the old trace
 * stayed in place) are removed first.
 */
export function tempTracePath(target: string): string {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.hvtrace-`;
  try {
    for (const f of readdirSync(dir)) {
      const m = f.startsWith(prefix) ? /^(\d+)-[0-9a-f]+\.tmp(?:-wal|-shm|-journal)?$/.exec(f.slice(prefix.length)) : null;
      if (m && !processRunning(Number(m[1]))) unlinkQuiet(join(dir, f));
    }
  } catch {
    /* an unreadable directory: nothing to clean */
  }
  return join(dir, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return processStartTime(pid) !== 'zombie';
}

/** One line for an error that stopped a trace from being written. */
export function writeErrorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return `cannot write the trace: the disk is full (${msg})`;
  if (code === 'EFBIG') return `cannot write the trace: the file size limit was reached (${msg})`;
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) return `cannot write the trace: ${msg} (${code}: a full disk, a file size limit or an I/O error)`;
  return `cannot write the trace: ${msg}`;
}

/** What a trace abandoned after a write error still is (TraceWriter.abandon's result). */
export function keptText(marked: boolean): string {
  return `the trace keeps what was written before (${marked ? 'status aborted' : 'no room to mark it aborted: it reads as truncated'})`;
}

/** This process as meta 'recorder' records it: a reader tells a running recorder from a dead one. */
function recorderIdentity(): string {
  return JSON.stringify({ pid: process.pid, host: hostname(), started: processStartTime(process.pid) });
}

/** Start time of a process (clock ticks since boot, /proc/PID/stat field 22), or null; 'zombie' for a dead unreaped one. */
function processStartTime(pid: number): number | 'zombie' | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (f[0] === 'Z' || f[0] === 'X') return 'zombie';
  const v = Number(f[19]);
  return Number.isFinite(v) ? v : null;
}

/** Whether the recorder described by meta 'recorder' is still running (on this host). */
function recorderRunning(recorder: string | undefined): boolean {
  let r: { pid?: unknown; host?: unknown; started?: unknown };
  try {
    r = JSON.parse(recorder ?? 'null') as typeof r;
  } catch {
    return false;
  }
  if (!r || typeof r.pid !== 'number' || r.host !== hostname()) return false;
  try {
    process.kill(r.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartTime(r.pid);
  if (started === 'zombie') return false;
  // Another process with the same pid (the recorder's pid was reused).
  if (typeof r.started === 'number' && started !== null && started !== r.started) return false;
  return true;
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
      const [tables, indexes] = schemaSql();
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
            insSym.run(s.role, s.name, s.format, s.sha256, s.size, s.symbols.length, deflateRawSync(Buffer.from(symbolListText(s.symbols), 'utf8'), { level: 6 }));
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
      if (!this.indexed) this.db.exec(schemaSql()[1]);
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

type Row = unknown[];
const U64 = (v: unknown): bigint => BigInt.asUintN(64, v as bigint);
const num = (v: unknown): number => Number(v as bigint);

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
      ...(m.virtio ? { virtio: true } : {}),
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

/** A stored payload, decoded; a TraceError naming the event when it is not a msgpack map. */
function eventPayload(buf: Buffer, seq: number, path: string): Record<string, unknown> {
  let p: unknown;
  try {
    p = decodePayload(buf);
  } catch {
    throw new TraceError(`${path}: event #${seq} has a corrupt payload`);
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p) || p instanceof Uint8Array) throw new TraceError(`${path}: event #${seq} has a corrupt payload`);
  return p as Record<string, unknown>;
}

function rowToEvent(r: Row, path: string): TraceEvent {
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
    payload: r[11] === null ? null : eventPayload(r[11] as Buffer, num(r[0]), path),
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

/** A drive of a stored configuration, its image served from the trace's disk blocks. */
function traceDrive(reader: TraceReader, d: StoredDrive, k: number): DriveConfig {
  return { backend: new TraceDiskBackend(d.name, d.sha256, d.size, reader.diskBlocks(k, 0)), readonly: d.readonly };
}
