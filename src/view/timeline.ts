/**
 * `hvtrace timeline` (issue 14): one self-contained HTML page of a recording. The data (lanes'
 * change points, marks, VM exits, details, code, console) is built here from an Analysis, as
 * JSON, gzip-compressed and base64-encoded into the page; the page's script (timeline-page.ts)
 * inflates it with the browser's DecompressionStream and draws on a canvas with
 * level-of-detail aggregation (one pixel column at a time, jumping over what it would hide).
 * Nothing is fetched: no network, no CDN, no font files.
 */
import { gzipSync } from 'node:zlib';
import type { TraceCode } from '../trace/code.js';
import { LEVEL, levelName, eventFields, VM_EXIT_REASONS, hex, type Analysis } from './analysis.js';
import { MARK_KIND_LIST, markName, isMark, codeLookup } from './picture.js';
import { TIMELINE_PAGE } from './timeline-page.js';

export interface TimelineData {
  v: 1;
  title: string;
  file: string;
  status: string;
  notes: string[];
  hyp: boolean;
  end: number;
  exit: string | null;
  levelNames: Record<string, string>;
  reasons: Record<string, string>;
  kinds: readonly string[];
  kindCounts: Record<string, number>;
  lanes: { name: string; type: 'hart' | 'vcpu'; t: number[]; lv: number[] }[];
  /** Marks (columns): seq, vtime, lane, kind index, name index, code index (-1). */
  marks: { seq: number[]; t: number[]; lane: number[]; kind: number[]; name: number[]; code: number[] };
  names: string[];
  /** Code table: symbol and disassembly at a pc. */
  codeSym: string[];
  codeInsn: string[];
  /** VM exits (columns): seq, lane (-1: the VM itself), start, end (-1: no entry), reason code, code index. */
  exits: { seq: number[]; lane: number[]; t0: number[]; t1: number[]; reason: number[]; code: number[] };
  console: { t: number; h: number; s: string }[];
}

/**
 * The fields of every mark and VM exit by name, as `name=value` joined by tabs, in a block of
 * its own that the page inflates after its first frame. A mark's seq, hart and vtime and an
 * exit's seq and vtime are left out: the page has them in its columns.
 */
export interface TimelineDetails {
  marks: string[];
  exits: string[];
}

export interface TimelinePage {
  data: TimelineData;
  details: TimelineDetails;
}

const fieldsText = (f: [string, string | number | boolean][], skip: ReadonlySet<string>): string =>
  f.filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${String(v)}`).join('\t');
const MARK_SKIP: ReadonlySet<string> = new Set(['seq', 'hart', 'vtime']);
const EXIT_SKIP: ReadonlySet<string> = new Set(['seq', 'vtime']);

export function timelineData(a: Analysis, code: TraceCode | null, traceArg: string): TimelinePage {
  const lookup = codeLookup(code);
  const names: string[] = [];
  const nameIdx = new Map<string, number>();
  const intern = (s: string): number => {
    let i = nameIdx.get(s);
    if (i === undefined) { i = names.length; names.push(s); nameIdx.set(s, i); }
    return i;
  };
  const codeSym: string[] = [];
  const codeInsn: string[] = [];
  const codeIdx = new Map<string, number>();
  const codeOf = (e: Parameters<typeof lookup>[0]): number => {
    const c = lookup(e);
    if (c.symbol === undefined && c.insn === undefined) return -1;
    const k = `${c.symbol ?? ''}\u0000${c.insn ?? ''}`;
    let i = codeIdx.get(k);
    if (i === undefined) { i = codeSym.length; codeSym.push(c.symbol ?? ''); codeInsn.push(c.insn ?? ''); codeIdx.set(k, i); }
    return i;
  };
  const kinds = MARK_KIND_LIST;
  const kindIndex = new Map<string, number>(kinds.map((k, i) => [k, i]));
  const marks: TimelineData['marks'] = { seq: [], t: [], lane: [], kind: [], name: [], code: [] };
  const details: TimelineDetails = { marks: [], exits: [] };
  for (const e of a.events) {
    if (!isMark(e) || e.hart >= a.harts) continue;
    marks.seq.push(e.seq);
    marks.t.push(e.vtime);
    marks.lane.push(a.hartLane[e.hart]!);
    marks.kind.push(kindIndex.get(e.kind)!);
    marks.name.push(intern(markName(e)));
    marks.code.push(codeOf(e));
    details.marks.push(fieldsText(eventFields(e, a.hyp), MARK_SKIP));
  }
  const vcpuLane = new Map<string, number>();
  a.lanes.forEach((L, li) => { if (L.type === 'vcpu') vcpuLane.set(`${L.vm}:${L.vcpu}`, li); });
  const exitEvents = new Map<number, (typeof a.events)[number]>();
  for (const e of a.events) if (e.kind === 'vm_exit') exitEvents.set(e.seq, e);
  const exits: TimelineData['exits'] = { seq: [], lane: [], t0: [], t1: [], reason: [], code: [] };
  for (const x of a.exits) {
    const e = exitEvents.get(x.seq)!;
    const f = eventFields(e, a.hyp);
    if (x.entrySeq !== null) f.push(['entry_seq', x.entrySeq], ['entry_vtime', x.entryVtime!]);
    f.push(['instructions', x.durInsns === null ? '-' : x.durInsns], ['virtual_us', x.durVtime === null ? '-' : x.durVtime / 1000]);
    exits.seq.push(x.seq);
    exits.lane.push(x.vcpu === null ? vcpuLane.get(`${x.vm}:0`) ?? -1 : vcpuLane.get(`${x.vm}:${x.vcpu}`) ?? -1);
    exits.t0.push(x.vtime);
    exits.t1.push(x.entryVtime ?? (x.vcpu === null ? x.vtime : -1));
    exits.reason.push(x.reasonCode);
    details.exits.push(fieldsText(f, EXIT_SKIP));
    exits.code.push(codeOf(e));
  }
  const levelNames: Record<string, string> = {};
  for (const lv of [LEVEL.U, LEVEL.S, LEVEL.M, LEVEL.VU, LEVEL.VS, LEVEL.WFI, LEVEL.OFF, LEVEL.UNKNOWN]) levelNames[lv] = levelName(lv, a.hyp);
  const kindCounts: Record<string, number> = {};
  for (const k of kinds) kindCounts[k] = 0;
  for (const k of marks.kind) kindCounts[kinds[k]!]!++;
  kindCounts.console = a.console.length;
  kindCounts.vm_exit = a.exits.length;
  const exitInfo = a.exitInfo ? `${a.exitInfo.kind}, exit ${a.exitInfo.exitCode}: ${a.exitInfo.message}` : null;
  const data: TimelineData = {
    v: 1,
    title: traceArg.split('/').pop() ?? traceArg,
    file: traceArg,
    status: a.status,
    notes: a.notes,
    hyp: a.hyp,
    end: a.end,
    exit: exitInfo,
    levelNames,
    reasons: Object.fromEntries(Object.entries(VM_EXIT_REASONS).map(([k, v]) => [k, v])),
    kinds,
    kindCounts,
    lanes: a.lanes.map((L) => ({ name: L.name, type: L.type, t: L.t, lv: L.lv })),
    marks,
    names,
    codeSym,
    codeInsn,
    exits,
    console: a.console.map((c) => ({ t: c.vtime, h: c.hart ?? -1, s: c.text })),
  };
  return { data, details };
}

/** Text safe inside an HTML element's content / a <script> of non-JS type. */
function htmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const packed = (v: unknown): string => gzipSync(Buffer.from(JSON.stringify(v), 'utf8'), { level: 6 }).toString('base64');

/** The page: the template with the title and the two compressed blocks filled in. */
export function timelineHtml(p: TimelinePage): string {
  return TIMELINE_PAGE
    .replace('@@TITLE@@', () => htmlText(`hvtrace timeline: ${p.data.title}`))
    .replace('@@TITLE@@', () => htmlText(`hvtrace timeline: ${p.data.title}`))
    .replace('@@DATA@@', () => packed(p.data))
    .replace('@@DETAILS@@', () => packed(p.details));
}

export { hex };
