/**
 * `hvtrace stat TRACE [--vm N] [--vcpu N] [--hart N] [--until SEQ] [--per-vcpu] [--json]` (issue
 * 14): VM exits, traps, SBI calls, MMIO, interrupts, interrupts by source (issue 16), CSR writes
 * and per-hart totals of a recording, in aligned tables for a 100-column terminal or as one JSON
 * object. src/view/stat.ts computes them.
 */
import { TraceReader, TraceError, toJson } from '../trace/store.js';
import { analyze } from '../view/analysis.js';
import { computeStat, statText, type StatFilter } from '../view/stat.js';
import { out } from './output.js';

export interface StatCliOptions {
  vm?: string;
  vcpu?: string;
  hart?: string;
  perVcpu?: boolean;
  until?: string;
  json?: boolean;
}

export function intOption(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new TraceError(`${flag} ${v}: expected a non-negative integer`);
  return n;
}

/** One-line error and its exit code for a TraceError; anything else is rethrown. */
export function failLine(e: unknown): number {
  if (e instanceof TraceError) {
    process.stderr.write(`hvtrace: ${e.message}\n`);
    return e.exitCode;
  }
  throw e;
}

export function statCommand(file: string, o: StatCliOptions): number {
  try {
    const filter: StatFilter = {
      hart: intOption('--hart', o.hart), vm: intOption('--vm', o.vm), vcpu: intOption('--vcpu', o.vcpu),
      until: intOption('--until', o.until?.replace(/^seq:/, '')),
    };
    const r = TraceReader.open(file);
    try {
      const a = analyze(r, { console: false });
      const s = computeStat(r, a, filter);
      out(o.json ? `${toJson(s)}\n` : statText(s, { perVcpu: o.perVcpu, file }));
      return 0;
    } finally {
      r.close();
    }
  } catch (e) {
    return failLine(e);
  }
}
