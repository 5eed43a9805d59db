/**
 * The trace store's shared ground (src/trace/store.ts is the API): the schema version and
 * hvtrace version, TraceError, the stored row and configuration types, the DDL of
 * schemas/trace.sql as the writer and reader run it, and a MachineConfig's stored form.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type EventKind } from './model.js';
import type { Image, MachineConfig, LoadedRole } from '../board/machine.js';
import { type StoredSymbols } from '../image/symbols.js';

/**
 * better-sqlite3, loaded on first use: `hvtrace record` writes its trace on a worker thread
 * (src/trace/writer-thread.ts), and its emulating thread then never loads the native module
 * (~15 ms of start-up).
 */
const requireCjs = createRequire(import.meta.url);
let sqlite: typeof Database | undefined;
export function openDatabase(path: string, opts?: Database.Options): Database.Database {
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
export type ImageRole = 'firmware' | 'kernel' | 'initrd' | 'dtb' | 'pflash' | `guest${number}` | `guest${number}-initrd`;

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
  /** virtio-console port 0; `input`: console input went to it (absent: no virtconsole). */
  readonly virtconsole?: { readonly input: boolean };
  /** The board has the virtio-mmio transports (absent: recorded before them). */
  readonly virtio?: boolean;
  /** AIA in place of the PLIC (--aia); absent: the PLIC. */
  readonly aia?: { readonly mode: 'aplic' | 'aplic-imsic'; readonly guests: number };
  /** The harts have Sscofpmf (--cpu rv64,sscofpmf=on); absent: not. */
  readonly sscofpmf?: boolean;
  /** The board has fw-cfg, the flash banks and the pmu/platform-bus DT nodes (absent: recorded before them). */
  readonly qemuBoard?: boolean;
  /** Flash bank 0's image (--pflash), stored in role 'pflash'. */
  readonly pflash?: ImageRef;
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

/** Marks the part of trace.sql that runs when a recording finishes (indexes: cheaper built once). */
const DEFERRED_MARKER = '-- @deferred';
/** Marks the deferred indexes that are built at finish even by a writer that creates the others first. */
const FINISH_MARKER = '-- @finish';

export const REQUIRED_TABLES = ['meta', 'images', 'events', 'inputs', 'input_queue', 'console', 'checkpoints', 'pages', 'digests'];

export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

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
    ...(cfg.virtconsole ? { virtconsole: { input: cfg.virtconsole.input } } : {}),
    ...(cfg.virtio ? { virtio: true } : {}),
    ...(cfg.aia ? { aia: { mode: cfg.aia.mode, guests: cfg.aia.guests } } : {}),
    ...(cfg.sscofpmf ? { sscofpmf: true } : {}),
    ...(cfg.qemuBoard ? { qemuBoard: true } : {}),
    ...(cfg.pflash ? { pflash: ref(cfg.pflash, 'pflash') } : {}),
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
/**
 * trace.sql split at the `-- @deferred` and `-- @finish` lines: [tables and views, run at create;
 * indexes a writer may create first (TraceCreateOptions.indexesFirst) or at finish; indexes
 * always built at finish].
 */
export function schemaSql(): [string, string, string] {
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
  if (k < 0) return [text, '', ''];
  const f = text.indexOf(`\n${FINISH_MARKER}`, k);
  return f < 0 ? [text.slice(0, k + 1), text.slice(k + 1), ''] : [text.slice(0, k + 1), text.slice(k + 1, f + 1), text.slice(f + 1)];
}

const READER_MARKER = '-- @reader';
let readerViews: string | null = null;
/** The `@reader` section of schemas/trace.sql: TEMP views a reader creates on its connection. */
export function readerViewsSql(): string {
  if (readerViews === null) {
    const text = readFileSync(`${PACKAGE_ROOT}schemas/trace.sql`, 'utf8');
    const r = text.indexOf(`\n${READER_MARKER}`);
    readerViews = r < 0 ? '' : text.slice(r + 1);
  }
  return readerViews;
}
