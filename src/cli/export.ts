/**
 * `hvtrace export TRACE --format perfetto|chrome-json -o FILE` (issue 14): src/view/export.ts.
 * Errors (bad format, unreadable trace, unwritable -o) are one line and exit 2.
 */
import { TraceReader, TraceError } from '../trace/store.js';
import { TraceCode } from '../trace/code.js';
import { analyze } from '../view/analysis.js';
import { exportChromeJson, exportPerfetto } from '../view/export.js';
import { failLine } from './stat.js';
import { checkOutputPath, writeOutput } from './timeline.js';

export interface ExportCliOptions {
  format: string;
  output: string;
}

export function exportCommand(file: string, o: ExportCliOptions): number {
  try {
    if (o.format !== 'perfetto' && o.format !== 'chrome-json') throw new TraceError(`--format ${o.format}: expected perfetto or chrome-json`);
    checkOutputPath(o.output);
    const r = TraceReader.open(file);
    let data: Uint8Array | string;
    try {
      const a = analyze(r, { csrWrites: false });
      const code = new TraceCode(r);
      data = o.format === 'perfetto' ? exportPerfetto(a, code) : exportChromeJson(a, code);
    } finally {
      r.close();
    }
    writeOutput(o.output, data);
    return 0;
  } catch (e) {
    return failLine(e);
  }
}
