/**
 * Where a trace file is written (src/trace/store.ts is the API): the path checks, the temporary
 * name a trace is built under, write-error texts, and the recorder identity a reader uses to
 * tell a recording in progress from a truncated one.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TraceError } from './store-schema.js';

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

export const SIDE_FILES = ['-wal', '-shm', '-journal'];

function describeFileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function unlinkQuiet(p: string): void {
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
export function recorderIdentity(): string {
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
export function recorderRunning(recorder: string | undefined): boolean {
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
