/**
 * Text and JSON of events and divergences, shared by the differ and the replayer
 * (src/diff/compare.ts is the API).
 */
import { EVENT_KINDS, type TraceEvent } from '../trace/model.js';
import { fieldName } from '../trace/event-kinds.js';
import type { Divergence, EventField, KindCounts } from './comparer.js';

// ---------------------------------------------------------------------------
// Formatting helpers shared by the differ and the replayer
// ---------------------------------------------------------------------------

const PRIV_NAMES = ['U', 'S', 'H', 'M'];

export function hex(v: bigint | number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return '0x' + BigInt.asUintN(64, b).toString(16);
}

/** JSON-safe copy of a value: bigints become "0x..." strings, typed arrays arrays. */
export function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (v === null || v === undefined) return v ?? null;
  if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x)]));
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as object)) if (x !== undefined) o[k] = toJsonValue(x);
    return o;
  }
  return v;
}

export function eventToJson(ev: TraceEvent | null, symbolize?: (a: bigint) => string | undefined): unknown {
  if (!ev) return null;
  const o = toJsonValue(ev) as Record<string, unknown>;
  const sym = symbolize?.(ev.pc);
  if (sym) o['symbol'] = sym;
  return o;
}

function payloadText(p: Record<string, unknown> | null): string {
  if (!p) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(toJsonValue(v))}`);
  }
  return parts.length ? ' {' + parts.join(' ') + '}' : '';
}

/**
 * One line for an event: `#seq hart H instret N pc 0x... <sym> [S] kind cause=.. tval=.. {payload}`:
 * the a/b/c columns under the kind's field names (src/trace/event-kinds.ts).
 */
export function formatEvent(ev: TraceEvent, symbolize?: (a: bigint) => string | undefined): string {
  const sym = symbolize?.(ev.pc);
  const priv = (ev.virt ? 'V' : '') + (PRIV_NAMES[ev.priv] ?? String(ev.priv));
  const abc = (['a', 'b', 'c'] as const).filter((k) => ev[k] !== null).map((k) => `${fieldName(ev.kind, k) ?? k}=${hex(ev[k])}`).join(' ');
  return `#${ev.seq} hart ${ev.hart} instret ${ev.instret} vtime ${ev.vtime} pc ${hex(ev.pc)}${sym ? ` <${sym}>` : ''} [${priv}] ${ev.kind}${abc ? ' ' + abc : ''}${payloadText(ev.payload)}`;
}

/**
 * A compared field as people read it: a/b/c under the kind's field names when both sides are of
 * one kind (`cause`, `csr`, `old`...); the storage name when the kinds differ.
 */
export function fieldLabel(d: Pick<Divergence, 'expected' | 'actual'>, f: EventField): string {
  if (f !== 'a' && f !== 'b' && f !== 'c') return f;
  const e = d.expected, a = d.actual;
  if (e && a && e.kind !== a.kind) return f;
  const k = (e ?? a)?.kind;
  return (k && fieldName(k, f)) ?? f;
}

export function formatValue(f: EventField, v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return hex(v);
  if (f === 'priv' && typeof v === 'number') return `${v} (${PRIV_NAMES[v] ?? '?'})`;
  if (typeof v === 'object') return JSON.stringify(toJsonValue(v));
  return String(v);
}

/** Multi-line text report of a divergence (no trailing newline). */
export function formatDivergence(d: Divergence, symbolize?: (a: bigint) => string | undefined, labels = ['expected', 'actual']): string {
  const [le, la] = labels as [string, string];
  const out: string[] = [];
  const at = d.expected ?? d.actual!;
  const sym = symbolize?.(at.pc);
  if (d.reason === 'mismatch') {
    out.push(`first divergence at event index ${d.index}: ${le} #${d.expected!.seq} vs ${la} #${d.actual!.seq}, hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''}`);
    for (const x of d.differences) {
      out.push(`  ${fieldLabel(d, x.field)}: ${le} ${formatValue(x.field, x.expected)}, ${la} ${formatValue(x.field, x.actual)}`);
    }
  } else if (d.reason === 'missing') {
    out.push(`first divergence at event index ${d.index}: ${la} ended, ${le} goes on with #${at.seq} (hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''})`);
  } else {
    out.push(`first divergence at event index ${d.index}: ${le} ended, ${la} goes on with #${at.seq} (hart ${at.hart}, instret ${at.instret}, pc ${hex(at.pc)}${sym ? ` <${sym}>` : ''})`);
  }
  out.push(`  ${le}: ${d.expected ? formatEvent(d.expected, symbolize) : '(end of trace)'}`);
  out.push(`  ${la}: ${d.actual ? formatEvent(d.actual, symbolize) : '(end of trace)'}`);
  const n = Math.max(d.before.expected.length, d.before.actual.length);
  if (n > 0) {
    out.push(`  events before (${le} | ${la} when different):`);
    for (let i = 0; i < n; i++) {
      const e = d.before.expected[d.before.expected.length - n + i];
      const a = d.before.actual[d.before.actual.length - n + i];
      const te = e ? formatEvent(e, symbolize) : '';
      const ta = a ? formatEvent(a, symbolize) : '';
      out.push(`    ${te}`);
      if (ta !== te) out.push(`  | ${ta}`);
    }
  }
  return out.join('\n');
}

/** Per-kind counts as "trap 12, csr_write 40". */
export function formatKindCounts(c: KindCounts): string {
  const parts = EVENT_KINDS.filter((k) => c[k]).map((k) => `${k} ${c[k]}`);
  return parts.length ? parts.join(', ') : 'none';
}
