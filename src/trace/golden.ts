/**
 * Golden summaries: what a trace too large to keep in git (a Linux boot: ~17 MB) is checked
 * against. A summary holds the `hvtrace record` arguments, the images' sha256, the end of the run,
 * the event counts per kind, the console's sha256, and every state digest the recorder wrote
 * (instruction count, virtual time, event count, per-hart instret, state and RAM hashes) with the
 * sha256 of the events between it and the previous digest. A few KB of JSON for a 40M-instruction
 * boot recorded with `--digest-every 1M`.
 *
 * `compareSummaries(golden, now)` lists the differences, the first divergent digest first: the
 * instruction count it was taken at and what differs there (the events before it, hart state,
 * RAM), so a regression is located to within one digest interval without the golden trace.
 * test/golden.test.ts re-records the run and compares; scripts/golden-summary.mjs writes one.
 */
import { createHash } from 'node:crypto';
import { TraceReader, type ExitInfo, type StoredImage } from './store.js';

export const GOLDEN_FORMAT = 'hvtrace-golden-summary/1';

export interface GoldenDigest {
  readonly totalInstret: number;
  readonly vtime: number;
  /** Events before the digest. */
  readonly seq: number;
  readonly hartInstret: readonly number[];
  readonly stateHash: string;
  readonly ramHash: string;
  readonly final: boolean;
  /** sha256 of the events from the previous digest's seq (0 for the first) to this one's. */
  readonly eventsSha256: string;
}

export interface GoldenSummary {
  readonly format: typeof GOLDEN_FORMAT;
  /** `hvtrace record` arguments that reproduce the trace (without -o). */
  readonly record: readonly string[];
  readonly hvtraceVersion: string;
  readonly schemaVersion: number;
  readonly status: string;
  readonly images: readonly Pick<StoredImage, 'role' | 'name' | 'sha256' | 'size'>[];
  readonly exit: ExitInfo | null;
  readonly counts: {
    readonly events: number;
    readonly byKind: Readonly<Record<string, number>>;
    readonly instret: readonly number[];
    readonly totalInstret: number;
    readonly vtime: number;
    readonly consoleBytes: number;
    readonly inputs: number;
  };
  readonly consoleSha256: string | null;
  readonly digests: readonly GoldenDigest[];
  /** sha256 of the events after the last digest (the halt, usually). */
  readonly tailEventsSha256: string;
}

const EVENT_COLUMNS = 'seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/** sha256 of the stored events with from <= seq < to (every column, payload bytes as stored). */
export function eventsSha256(r: TraceReader, from: number, to: number): string {
  const h = createHash('sha256');
  const STEP = 20000;
  for (let lo = from; lo < to; lo += STEP) {
    const hi = Math.min(to, lo + STEP);
    const q = r.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq`, [lo, hi]);
    for (const row of q.rows) h.update(`${row.map(cell).join('|')}\n`);
  }
  return h.digest('hex');
}

/** The golden summary of a finished trace. */
export function summarizeTrace(path: string, recordArgs: readonly string[]): GoldenSummary {
  const r = TraceReader.open(path);
  try {
    const c = r.counts;
    if (!c) throw new Error(`${path}: the trace was not finished (no counts)`);
    const end = r.maxSeq() + 1;
    let prev = 0;
    const digests: GoldenDigest[] = r.digests().map((d) => {
      const g: GoldenDigest = {
        totalInstret: d.totalInstret, vtime: d.vtime, seq: d.seq, hartInstret: [...d.hartInstret],
        stateHash: d.stateHash, ramHash: d.ramHash, final: d.final, eventsSha256: eventsSha256(r, prev, Math.min(d.seq, end)),
      };
      prev = Math.max(prev, Math.min(d.seq, end));
      return g;
    });
    const byKind: Record<string, number> = {};
    for (const k of Object.keys(c.byKind).sort()) byKind[k] = c.byKind[k]!;
    return {
      format: GOLDEN_FORMAT,
      record: [...recordArgs],
      hvtraceVersion: r.config.hvtraceVersion,
      schemaVersion: r.schemaVersion,
      status: r.status,
      images: r.images().map((i) => ({ role: i.role, name: i.name, sha256: i.sha256, size: i.size })),
      exit: r.exit,
      counts: {
        events: c.events, byKind, instret: c.instret, totalInstret: c.totalInstret, vtime: c.vtime,
        consoleBytes: c.consoleBytes, inputs: c.inputs,
      },
      consoleSha256: r.consoleSha256,
      digests,
      tailEventsSha256: eventsSha256(r, prev, end),
    };
  } finally {
    r.close();
  }
}

const short = (h: string): string => h.slice(0, 12);

/**
 * The differences between a golden summary and a new one (empty: the same run). The first entry
 * names the first divergent digest: its instruction count and what differs there.
 */
export function compareSummaries(golden: GoldenSummary, now: GoldenSummary): string[] {
  const out: string[] = [];
  if (golden.format !== GOLDEN_FORMAT) return [`golden summary format ${String(golden.format)} is not ${GOLDEN_FORMAT}`];
  for (const gi of golden.images) {
    const ni = now.images.find((i) => i.role === gi.role);
    if (!ni) out.push(`the ${gi.role} image ${gi.name} is missing from the new trace`);
    else if (ni.sha256 !== gi.sha256) out.push(`the ${gi.role} image differs (golden sha256 ${short(gi.sha256)}, now ${short(ni.sha256)}): regenerate the golden summary (scripts/regen-golden.sh) if the image changed on purpose`);
  }
  // The first digest that differs.
  const n = Math.min(golden.digests.length, now.digests.length);
  let prevInstret = 0;
  for (let i = 0; i < n; i++) {
    const g = golden.digests[i]!;
    const a = now.digests[i]!;
    const what: string[] = [];
    if (g.totalInstret !== a.totalInstret) what.push(`taken at instruction ${a.totalInstret} instead of ${g.totalInstret}`);
    if (g.final !== a.final) what.push(`final ${a.final} instead of ${g.final}`);
    if (g.eventsSha256 !== a.eventsSha256) what.push(`the events since the previous digest differ (golden events #${i ? golden.digests[i - 1]!.seq : 0}..#${g.seq - 1}, sha256 ${short(g.eventsSha256)}; now ..#${a.seq - 1}, ${short(a.eventsSha256)})`);
    if (g.seq !== a.seq) what.push(`event count ${a.seq} instead of ${g.seq}`);
    if (g.vtime !== a.vtime) what.push(`virtual time ${a.vtime} instead of ${g.vtime}`);
    if (g.hartInstret.join(',') !== a.hartInstret.join(',')) what.push(`per-hart instret ${a.hartInstret.join('/')} instead of ${g.hartInstret.join('/')}`);
    if (g.stateHash !== a.stateHash) what.push(`hart/device state hash ${short(a.stateHash)} instead of ${short(g.stateHash)}`);
    if (g.ramHash !== a.ramHash) what.push(`RAM hash ${short(a.ramHash)} instead of ${short(g.ramHash)}`);
    if (what.length) {
      out.push(`first divergent state digest: #${i}${g.final ? ' (end of run)' : ''} at instruction ${g.totalInstret} (the run differs somewhere in instructions ${prevInstret}..${g.totalInstret}): ${what.join('; ')}`);
      break;
    }
    prevInstret = g.totalInstret;
  }
  if (golden.digests.length !== now.digests.length) {
    out.push(`${now.digests.length} state digests instead of ${golden.digests.length}`);
  } else if (golden.tailEventsSha256 !== now.tailEventsSha256 && out.length === 0) {
    out.push(`the events after the last digest (instruction ${golden.digests.at(-1)?.totalInstret ?? 0}) differ`);
  }
  const gk = golden.counts.byKind;
  const nk = now.counts.byKind;
  for (const k of new Set([...Object.keys(gk), ...Object.keys(nk)])) {
    if ((gk[k] ?? 0) !== (nk[k] ?? 0)) out.push(`${k} events: ${nk[k] ?? 0} instead of ${gk[k] ?? 0}`);
  }
  if (golden.counts.events !== now.counts.events) out.push(`${now.counts.events} events instead of ${golden.counts.events}`);
  if (golden.counts.instret.join(',') !== now.counts.instret.join(',')) out.push(`instructions per hart ${now.counts.instret.join('/')} instead of ${golden.counts.instret.join('/')}`);
  if (golden.counts.vtime !== now.counts.vtime) out.push(`virtual time at the end ${now.counts.vtime} instead of ${golden.counts.vtime}`);
  const ge = golden.exit, ne = now.exit;
  if ((ge?.kind ?? null) !== (ne?.kind ?? null) || (ge?.exitCode ?? null) !== (ne?.exitCode ?? null)) {
    out.push(`the run ended ${ne ? `${ne.kind} (exit ${ne.exitCode})` : 'without a halt'} instead of ${ge ? `${ge.kind} (exit ${ge.exitCode})` : 'without a halt'}`);
  }
  if (golden.consoleSha256 !== now.consoleSha256) out.push(`console output differs (${now.counts.consoleBytes} bytes, sha256 ${short(now.consoleSha256 ?? '')}; golden ${golden.counts.consoleBytes} bytes, ${short(golden.consoleSha256 ?? '')})`);
  return out;
}
