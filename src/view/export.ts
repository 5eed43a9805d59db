/**
 * `hvtrace export` (issue 14): the picture of a recording (src/view/picture.ts) in the formats
 * trace viewers read.
 *
 * - perfetto: Perfetto's protobuf trace (a `Trace` of `TracePacket`s): one TrackDescriptor per
 *   lane (harts under a "harts" process track, each VM's vCPUs under a "vmN" process track, and a
 *   "notes" track when the picture lacks something), then TrackEvents: SLICE_BEGIN / SLICE_END
 *   for privilege levels and VM exits, INSTANT for marks with their fields as debug annotations.
 *   Encoded with protobufjs from our own .proto (src/view/perfetto-proto.ts) that declares only
 *   the fields used, with the field numbers of Perfetto's published schema.
 * - chrome-json: the Trace Event Format (`traceEvents`; ph X for levels, B/E for VM exits, i for
 *   marks, C for the running count of VM exits per VM, M for names), for chrome://tracing and
 *   Perfetto's legacy JSON importer.
 *
 * Timestamps are virtual time: 1 instruction = 1 ns (Perfetto's ns timestamps; µs in JSON). The
 * output depends on the trace only: the same trace gives the same bytes.
 */
import protobuf from 'protobufjs';
import type { Analysis, FieldValue } from './analysis.js';
import { buildPicture, type PictureLane } from './picture.js';
import { PERFETTO_PROTO } from './perfetto-proto.js';
import type { TraceCode } from '../trace/code.js';

let root: protobuf.Root | null = null;
/** The Trace message type of our Perfetto .proto. */
export function perfettoTraceType(): protobuf.Type {
  root ??= protobuf.parse(PERFETTO_PROTO, { keepCase: true }).root;
  return root.lookupType('hvtrace.perfetto.Trace');
}

const SEQ_ID = 1;
const PROCESS_UUID = { harts: 1, notes: 3 } as const;
const vmProcessUuid = (vm: number): number => 100 + vm;
const laneUuid = (li: number): number => 1000 + li;

interface Ordered<T> { ts: number; lane: number; idx: number; v: T }

/** Items of all lanes in one total order: time, then lane, then their order in the lane. */
function merged<T>(lanes: PictureLane[], f: (lane: PictureLane, li: number, item: PictureLane['items'][number]) => T | null): T[] {
  const all: Ordered<T>[] = [];
  lanes.forEach((L, li) => L.items.forEach((it, idx) => {
    const v = f(L, li, it);
    if (v !== null) all.push({ ts: it.ts, lane: li, idx, v });
  }));
  all.sort((x, y) => x.ts - y.ts || x.lane - y.lane || x.idx - y.idx);
  return all.map((o) => o.v);
}

function annotation(name: string, v: FieldValue): Record<string, unknown> {
  if (typeof v === 'boolean') return { name, bool_value: v };
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? { name, uint_value: v } : Number.isInteger(v) ? { name, int_value: v } : { name, string_value: String(v) };
  return { name, string_value: v };
}

function title(a: Analysis): string {
  return a.file.split('/').pop() ?? a.file;
}

export function exportPerfetto(a: Analysis, code?: TraceCode | null): Uint8Array {
  const lanes = buildPicture(a, { code });
  const packets: Record<string, unknown>[] = [];
  const desc = (d: Record<string, unknown>): void => {
    packets.push({ trusted_packet_sequence_id: SEQ_ID, ...(packets.length === 0 ? { sequence_flags: 1 } : {}), track_descriptor: d });
  };
  desc({ uuid: PROCESS_UUID.harts, name: `harts (${title(a)})`, process: { pid: 1, process_name: `harts (${title(a)})` } });
  for (const g of a.guests) desc({ uuid: vmProcessUuid(g.vm), name: `vm${g.vm} (${g.name})`, process: { pid: 100 + g.vm, process_name: `vm${g.vm} (${g.name})` } });
  const extraVms = new Set<number>();
  lanes.forEach((L) => { if (L.type === 'vcpu' && !a.guests.some((g) => g.vm === L.vm)) extraVms.add(L.vm!); });
  for (const vm of [...extraVms].sort((x, y) => x - y)) desc({ uuid: vmProcessUuid(vm), name: `vm${vm}`, process: { pid: 100 + vm, process_name: `vm${vm}` } });
  lanes.forEach((L, li) => {
    const parent = L.type === 'hart' ? PROCESS_UUID.harts : vmProcessUuid(L.vm!);
    const pid = L.type === 'hart' ? 1 : 100 + L.vm!;
    const tid = L.type === 'hart' ? 1 + L.hart! : 1000 * (L.vm! + 1) + L.vcpu!;
    desc({ uuid: laneUuid(li), parent_uuid: parent, name: L.name, thread: { pid, tid, thread_name: L.name } });
  });
  if (a.notes.length) {
    desc({ uuid: PROCESS_UUID.notes, name: 'notes' });
    a.notes.forEach((n) => packets.push({
      timestamp: 0, trusted_packet_sequence_id: SEQ_ID,
      track_event: { type: 3, track_uuid: PROCESS_UUID.notes, name: n, categories: ['note'] },
    }));
  }
  for (const ev of merged(lanes, (_L, li, it) => {
    const te: Record<string, unknown> = { type: it.ph === 'B' ? 1 : it.ph === 'E' ? 2 : 3, track_uuid: laneUuid(li) };
    if (it.ph !== 'E') {
      te.name = it.name;
      te.categories = [it.cat];
      if (it.args?.length) te.debug_annotations = it.args.map(([k, v]) => annotation(k, v));
    }
    return { timestamp: it.ts, trusted_packet_sequence_id: SEQ_ID, track_event: te };
  })) packets.push(ev);
  const T = perfettoTraceType();
  return T.encode(T.fromObject({ packet: packets })).finish();
}

export function exportChromeJson(a: Analysis, code?: TraceCode | null): string {
  const lanes = buildPicture(a, { code });
  const us = (t: number): number => t / 1000;
  const meta: Record<string, unknown>[] = [];
  meta.push({ ph: 'M', name: 'process_name', pid: 1, tid: 0, args: { name: `harts (${title(a)})` } });
  const vms = new Set<number>();
  lanes.forEach((L) => { if (L.type === 'vcpu') vms.add(L.vm!); });
  for (const vm of [...vms].sort((x, y) => x - y)) {
    const g = a.guests.find((x) => x.vm === vm);
    meta.push({ ph: 'M', name: 'process_name', pid: 100 + vm, tid: 0, args: { name: `vm${vm}${g ? ` (${g.name})` : ''}` } });
  }
  const pidTid = (L: PictureLane): { pid: number; tid: number } => (L.type === 'hart' ? { pid: 1, tid: 1 + L.hart! } : { pid: 100 + L.vm!, tid: 1000 * (L.vm! + 1) + L.vcpu! });
  lanes.forEach((L, li) => {
    const { pid, tid } = pidTid(L);
    meta.push({ ph: 'M', name: 'thread_name', pid, tid, args: { name: L.name } });
    meta.push({ ph: 'M', name: 'thread_sort_index', pid, tid, args: { sort_index: li } });
  });
  const argsOf = (args: [string, FieldValue][] | undefined): Record<string, FieldValue> | undefined => (args?.length ? Object.fromEntries(args) : undefined);
  const exitsPerVm = new Map<number, number>();
  const events: Record<string, unknown>[] = [];
  for (const { L, it } of merged(lanes, (L, _li, it) => ({ L, it }))) {
    const { pid, tid } = pidTid(L);
    if (it.cat === 'privilege') {
      if (it.ph === 'B') events.push({ ph: 'X', name: it.name, cat: it.cat, ts: us(it.ts), dur: us(it.end! - it.ts), pid, tid });
      continue;
    }
    if (it.ph === 'B') {
      events.push({ ph: 'B', name: it.name, cat: it.cat, ts: us(it.ts), pid, tid, args: argsOf(it.args) });
      if (it.cat === 'vm_exit') {
        const n = (exitsPerVm.get(L.vm!) ?? 0) + 1;
        exitsPerVm.set(L.vm!, n);
        events.push({ ph: 'C', name: 'vm exits', cat: 'vm_exit', ts: us(it.ts), pid, args: { exits: n } });
      }
    } else if (it.ph === 'E') {
      events.push({ ph: 'E', name: it.name, cat: it.cat, ts: us(it.ts), pid, tid });
    } else {
      events.push({ ph: 'i', s: 't', name: it.name, cat: it.cat, ts: us(it.ts), pid, tid, args: argsOf(it.args) });
    }
  }
  const notes = a.notes.map((n) => ({ ph: 'i', s: 'g', name: n, cat: 'note', ts: 0, pid: 1, tid: 0 }));
  const doc = {
    traceEvents: [...meta, ...notes, ...events],
    displayTimeUnit: 'ns',
    otherData: { source: 'hvtrace', trace: title(a), status: a.status, timeUnit: '1 instruction = 1 ns of virtual time', notes: a.notes },
  };
  // One event per line: readable, and diffable.
  const lines = doc.traceEvents.map((e) => JSON.stringify(e));
  return `{"traceEvents":[\n${lines.join(',\n')}\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(doc.otherData)}}\n`;
}
