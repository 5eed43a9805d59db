/**
 * The SQLite trace store (DESIGN.md §4): `TraceWriter` creates and fills a trace file,
 * `TraceReader` opens one read-only. This module is the store's API and re-exports it from its
 * parts: store-schema.ts (versions, TraceError, stored types and config, the DDL), store-codec.ts
 * (payload/state codecs, rows as events, JSON), store-files.ts (where a trace is written),
 * store-writer.ts (TraceWriter) and store-reader.ts (TraceReader). `schemas/trace.sql` is the
 * source of truth for the tables; the store only executes it and reads/writes rows.
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
export {
  SCHEMA_VERSION, HASHED_EVENT_COLUMNS, PACKAGE_ROOT, HVTRACE_VERSION, TraceError, type TraceStatus, type ImageRole, type ImageRef, type StoredImage, type TraceImage, type StoredMachineConfig, type StoredDrive, type DiskBlockRow, type StoredGuestConfig, type TraceConfig, type LoadedImageInfo, type ExitInfo, type TraceCounts, type TraceInit, type ConsoleChunk, type InputRow, type QueuedInput, type DigestRow, type CheckpointInfo, type PageRef, type CheckpointData, type EventFilter, type QueryResult, storedMachineConfig,
} from './store-schema.js';
export {
  encodePayload, decodePayload, encodeState, decodeState, payloadBytes, toJson,
} from './store-codec.js';
export {
  type TracePathPlan, checkTracePath, tempTracePath, writeErrorText, keptText,
} from './store-files.js';
export {
  type TraceCreateOptions, type TraceSink, TraceWriter,
} from './store-writer.js';
export {
  TraceReader, type IntegrityCheck, type IntegrityCheckRequest,
} from './store-reader.js';
