/**
 * `hvtrace diff A B`: compare two traces (src/diff/compare.ts): first their images,
 * configuration, input, console output and end of run, then event by event; and
 * `hvtrace import qemu LOG -o FILE` (src/diff/qemu-import.ts).
 *
 * Exit status: 0 the same (and at least one event compared), 1 different, 2 unusable input
 * (not a trace, bad option, nothing to compare). Formats: text (default), json, junit; each
 * carries the differences outside the events (`differences`) before the first event difference.
 */
import {
  diffTraces, formatKindCounts, formatValue, fieldLabel, eventToJson, toJsonValue, hex, CompareError,
  type TraceDiffReport,
} from '../diff/compare.js';
import { reportText } from '../diff/report.js';
import { importQemuLog } from '../diff/qemu-import.js';
import { TraceError } from '../trace/store.js';
import { out } from './output.js';
import { loadSymbolFiles } from './inspect.js';

export interface DiffCliOptions {
  kinds?: string;
  /** --kind: an alias of --kinds (as `events --kind`). */
  kind?: string;
  ignore?: string;
  format?: string;
  context?: string;
  digests?: boolean;
  /** --symbols files (ELF or System.map). */
  symbols?: string[];
}

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);


function xmlEscape(s: string): string {
  // Also drop characters XML 1.0 cannot carry.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function junit(name: string, r: { status: 'same' | 'different' | 'error'; message: string; details: string; tests: number }): string {
  const failures = r.status === 'different' ? 1 : 0;
  const errors = r.status === 'error' ? 1 : 0;
  let body = '';
  if (r.status === 'different') body = `\n      <failure message="${xmlEscape(r.message)}" type="divergence">${xmlEscape(r.details)}</failure>\n    `;
  if (r.status === 'error') body = `\n      <error message="${xmlEscape(r.message)}" type="unusable">${xmlEscape(r.details)}</error>\n    `;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="hvtrace diff" tests="1" failures="${failures}" errors="${errors}">
  <testsuite name="hvtrace diff" tests="1" failures="${failures}" errors="${errors}">
    <testcase classname="hvtrace.diff" name="${xmlEscape(name)}">${body}</testcase>
    <system-out>${xmlEscape(`${r.message}\n${r.tests} event positions compared`)}</system-out>
  </testsuite>
</testsuites>
`;
}

/** The first thing that differs: an image / configuration / input / console / end difference, else the event. */
function headline(r: TraceDiffReport): string {
  return r.differences.length > 0 ? r.differences[0]!.message : firstLine(r);
}

/** Everything that differs, in text: the run differences, then the first event difference. */
function detailsText(r: TraceDiffReport): string {
  const lines: string[] = [];
  if (r.differences.length > 0) {
    lines.push(`${r.differences.length} difference${r.differences.length === 1 ? '' : 's'} in the configuration and run (images, command line, harts, memory, firmware, guests, input, console, end):`);
    for (const d of r.differences) lines.push(`  ${d.area}: ${d.message}`);
  } else if (r.reference.a === null && r.reference.b === null) {
    lines.push('the configurations are the same (images, command line, harts, memory, firmware, guests, input)');
  }
  const d = r.divergence;
  if (d) {
    lines.push(`first event difference: ${firstLine(r)}`);
    lines.push(`first divergence at event index ${d.index}${r.summary.kinds ? ' (among the compared kinds)' : ''}; A = ${r.a}, B = ${r.b}`);
    for (const x of d.differences) lines.push(`  ${fieldLabel(d, x.field)}: A ${formatValue(x.field, x.expected)}, B ${formatValue(x.field, x.actual)}`);
    if (r.report) lines.push(...reportText(r.report, r.a, r.b));
  } else if (r.status === 'different') {
    lines.push(`the events are the same (${r.summary.compared} compared)`);
  }
  return lines.join('\n');
}

function summaryText(r: TraceDiffReport): string {
  const s = r.summary;
  const lines = [
    `compared ${s.compared} event${s.compared === 1 ? '' : 's'}${s.presets ? `, --kinds ${s.presets.join(',')}` : ''} (${s.matched} matched${s.skipped ? `, ${s.skipped} skipped through ${r.skippedTo?.digests} equal state digest${r.skippedTo?.digests === 1 ? '' : 's'} up to instruction ${r.skippedTo?.totalInstret}` : ''})` +
      `${s.kinds ? `; kinds: ${s.kinds.join(', ')}` : ''}; fields: ${s.fieldsCompared.join(', ')}${s.ignored.length ? ` (not compared: ${s.ignored.join(', ')})` : ''}`,
    `  ${r.a}: ${s.expected.events} events (${formatKindCounts(s.expected.perKind)})${r.reference.a ? ` [reference: ${r.reference.a.source}]` : ''}`,
    `  ${r.b}: ${s.actual.events} events (${formatKindCounts(s.actual.perKind)})${r.reference.b ? ` [reference: ${r.reference.b.source}]` : ''}`,
  ];
  return lines.join('\n');
}

function firstLine(r: TraceDiffReport): string {
  const d = r.divergence!;
  const at = d.expected ?? d.actual!;
  const w = r.where;
  const loc = `hart ${at.hart}, pc ${hex(at.pc)}${w?.symbol ? ` <${w.symbol}>` : ''}${w?.insn ? ` (${w.insn})` : ''}`;
  if (d.reason === 'mismatch') return `event #${at.seq} (${at.kind}) differs in ${d.differences.map((x) => fieldLabel(d, x.field)).join(', ')} at ${loc}`;
  if (d.reason === 'missing') return `${r.b} ends before event #${at.seq} (${at.kind}) at ${loc}`;
  return `${r.b} has an extra event #${at.seq} (${at.kind}) at ${loc}`;
}

export function diffCommand(a: string, b: string, o: DiffCliOptions): number {
  const format = o.format ?? 'text';
  const name = `${a} vs ${b}`;
  const fail = (msg: string): number => {
    if (format === 'junit') out(junit(name, { status: 'error', message: msg, details: msg, tests: 0 }));
    else if (format === 'json') out(`${JSON.stringify({ status: 'error', a, b, error: msg })}\n`);
    process.stderr.write(`hvtrace: ${msg}\n`);
    return 2;
  };
  if (!['text', 'json', 'junit'].includes(format)) return fail(`--format ${format}: expected text, json or junit`);
  let context = 5;
  if (o.context !== undefined) {
    context = Number(o.context);
    if (!Number.isInteger(context) || context < 0) return fail(`--context ${o.context}: expected a non-negative integer`);
  }
  let r: TraceDiffReport;
  try {
    const symbols = loadSymbolFiles(o.symbols);
    if (o.kinds !== undefined && o.kind !== undefined) return fail('--kind is an alias of --kinds: give one of them');
    r = diffTraces(a, b, { kinds: list(o.kinds ?? o.kind) as never, ignore: list(o.ignore), context, digests: o.digests !== false, symbols });
    for (const n of new Set([...r.codeA.notes, ...r.codeB.notes, ...r.notes])) process.stderr.write(`hvtrace: warning: ${n}\n`);
  } catch (e) {
    if (e instanceof TraceError || e instanceof CompareError) return fail(e.message);
    throw e;
  }
  if (r.status === 'empty') {
    return fail(`nothing to compare: 0 events${r.summary.kinds ? ` of kind ${r.summary.kinds.join(', ')}` : ''} in ${a} and ${b} (a comparison of zero events is not a pass)`);
  }
  const sym = (ev: 'a' | 'b') => (r[ev === 'a' ? 'codeA' : 'codeB']).symbolize;
  if (format === 'json') {
    const d = r.divergence;
    out(`${JSON.stringify({
      status: r.status,
      a,
      b,
      ...(r.status === 'different' ? { message: headline(r) } : {}),
      // Images, configuration, input, console, end of run (compared first).
      differences: r.differences,
      divergence: d ? {
        reason: d.reason,
        index: d.index,
        message: firstLine(r),
        where: toJsonValue(r.where),
        expected: eventToJson(d.expected, sym('a')),
        actual: eventToJson(d.actual, sym('b')),
        differences: d.differences.map((x) => ({ field: x.field, name: fieldLabel(d, x.field), expected: toJsonValue(x.expected), actual: toJsonValue(x.actual) })),
        before: { expected: d.before.expected.map((e) => eventToJson(e, sym('a'))), actual: d.before.actual.map((e) => eventToJson(e, sym('b'))) },
      } : null,
      // The divergence report: why, the first event named as `events` names it on both sides,
      // the events before aligned, the consoles, the next commands.
      report: r.report,
      skippedTo: r.skippedTo,
      notes: r.notes,
      reference: r.reference,
      summary: r.summary,
    })}\n`);
  } else if (format === 'junit') {
    if (r.status === 'different') {
      const details = `${detailsText(r)}\n${summaryText(r)}${r.notes.map((n) => `\nnote: ${n}`).join('')}`;
      // The failure message: what differs first (the configuration), and the first divergent event.
      const message = r.divergence && r.differences.length > 0 ? `${headline(r)}; first event difference: ${firstLine(r)}` : headline(r);
      out(junit(name, { status: 'different', message, details, tests: r.summary.compared }));
    } else {
      out(junit(name, { status: 'same', message: `same: ${r.summary.compared} events compared`, details: '', tests: r.summary.compared }));
    }
  } else if (r.status === 'different') {
    out(`hvtrace diff: ${a} and ${b} differ: ${headline(r)}\n${detailsText(r)}\n${summaryText(r)}\n`);
  } else {
    out(`hvtrace diff: ${a} and ${b} are the same\n${summaryText(r)}\n`);
  }
  return r.status === 'same' ? 0 : 1;
}

export function importQemuCommand(log: string, o: { output?: string; overwrite?: boolean; quiet?: boolean; dropKnownDeviations?: boolean; sv57ToSv48?: boolean }): number {
  if (!o.output) {
    process.stderr.write('hvtrace: import qemu: -o FILE is required\n');
    return 2;
  }
  try {
    const r = importQemuLog(log, o.output, { overwrite: o.overwrite, dropKnownDeviations: o.dropKnownDeviations, sv57ToSv48: o.sv57ToSv48 });
    if (!o.quiet) process.stderr.write(`hvtrace: imported ${r.events} trap${r.events === 1 ? '' : 's'} (harts ${r.harts.join(', ')}${r.dropped ? `; ${r.dropped} known QEMU deviation${r.dropped === 1 ? '' : 's'} left out` : ''}) from ${log} into ${o.output}\n`);
    return 0;
  } catch (e) {
    if (e instanceof TraceError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
