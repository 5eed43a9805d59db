/**
 * `hvtrace timeline TRACE -o FILE.html [--symbols FILE]` (issue 14): one self-contained HTML page
 * (src/view/timeline.ts). Errors are one line and exit 2: an unreadable trace, an unwritable -o.
 */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { TraceReader, TraceError } from '../trace/store.js';
import { TraceCode } from '../trace/code.js';
import { analyze } from '../view/analysis.js';
import { timelineData, timelineHtml } from '../view/timeline.js';
import { failLine } from './stat.js';
import { loadSymbolFiles, warnSymbolNotes } from './inspect.js';

export interface TimelineCliOptions {
  output: string;
  symbols?: string[];
}

function errText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOENT': return 'no such directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EISDIR': return 'is a directory';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'read-only file system';
    default: return e.message;
  }
}

/**
 * Check, before the work, that `path` can be written (the same checks and a probe file where it
 * will be built): a TraceError (one line, exit 2) when not.
 */
export function checkOutputPath(path: string): void {
  if (path === '') throw new TraceError("-o '': expected a file name");
  let st;
  try { st = statSync(path); } catch { st = null; }
  if (st?.isDirectory()) throw new TraceError(`cannot write ${path}: is a directory`);
  if (st && !st.isFile()) throw new TraceError(`cannot write ${path}: not a regular file`);
  const probe = join(dirname(path), `.${basename(path)}.probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx', 0o644));
    unlinkSync(probe);
  } catch (e) {
    throw new TraceError(`cannot write ${path}: ${errText(e as NodeJS.ErrnoException)}`);
  }
}

/**
 * Write an output file: built under a temporary name in the same directory and renamed into
 * place, so a failed write leaves no half file. A TraceError (one line, exit 2) when it cannot.
 */
export function writeOutput(path: string, data: Uint8Array | string): void {
  if (path === '') throw new TraceError("-o '': expected a file name");
  let st;
  try { st = statSync(path); } catch { st = null; }
  if (st?.isDirectory()) throw new TraceError(`cannot write ${path}: is a directory`);
  if (st && !st.isFile()) throw new TraceError(`cannot write ${path}: not a regular file`);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw new TraceError(`cannot write ${path}: ${errText(e as NodeJS.ErrnoException)}`);
  }
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* gone */ }
    throw new TraceError(`cannot write ${path}: ${errText(e as NodeJS.ErrnoException)}`);
  }
}

export function timelineCommand(file: string, o: TimelineCliOptions): number {
  try {
    const symbols = loadSymbolFiles(o.symbols);
    checkOutputPath(o.output);
    const r = TraceReader.open(file);
    let html: string;
    try {
      const a = analyze(r, { csrWrites: false });
      const code = new TraceCode(r, { symbols });
      warnSymbolNotes(code.notes);
      html = timelineHtml(timelineData(a, code, file));
    } finally {
      r.close();
    }
    writeOutput(o.output, html);
    return 0;
  } catch (e) {
    return failLine(e);
  }
}
