/**
 * `hvtrace export` (issue 14) on a recording of the smp-kernel as a 4-vCPU guest of the built-in
 * hypervisor on 2 harts:
 * - perfetto: decoded back with protobufjs through a .proto declared here (Perfetto's published
 *   field numbers, independently of src/view/perfetto-proto.ts): the tracks (one per hart and
 *   vCPU, under process tracks), every event on a declared track, slices nested (every begin has
 *   its end on the same track, in time order), instants per kind = the trace's events per kind,
 *   one slice per VM exit; two exports of the same trace are byte-identical.
 * - chrome-json: the Trace Event Format's structure (traceEvents, ph, ts, pid/tid, B/E balanced
 *   per thread) and the same counts.
 * - bad input: no events, aborted, a QEMU import export with a note; `timeline` writes a page for
 *   them; an unwritable -o is one line and exit 2, for both commands.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUESTS, cli, record, sql, emptyTrace, abortedTrace, qemuImport } from './view-helpers.js';

// Perfetto's field numbers (protos/perfetto/trace/trace_packet.proto, track_event/*.proto), copied
// from Perfetto's schema independently of src/view/perfetto-proto.ts on purpose: the test decodes
// with its own copy, so a wrong field number in the exporter fails here instead of agreeing with itself.
const PROTO = `
syntax = "proto2";
message Trace { repeated TracePacket packet = 1; }
message TracePacket {
  optional uint64 timestamp = 8;
  optional uint32 trusted_packet_sequence_id = 10;
  optional TrackEvent track_event = 11;
  optional uint32 sequence_flags = 13;
  optional TrackDescriptor track_descriptor = 60;
}
message TrackDescriptor {
  optional uint64 uuid = 1;
  optional string name = 2;
  optional ProcessDescriptor process = 3;
  optional ThreadDescriptor thread = 4;
  optional uint64 parent_uuid = 5;
}
message ProcessDescriptor { optional int32 pid = 1; optional string process_name = 6; }
message ThreadDescriptor { optional int32 pid = 1; optional int64 tid = 2; optional string thread_name = 5; }
message TrackEvent {
  repeated uint64 category_iids = 3;
  repeated DebugAnnotation debug_annotations = 4;
  optional int32 type = 9;
  optional uint64 name_iid = 10;
  optional uint64 track_uuid = 11;
  repeated string categories = 22;
  optional string name = 23;
}
message DebugAnnotation {
  optional uint64 name_iid = 1;
  optional bool bool_value = 2;
  optional uint64 uint_value = 3;
  optional int64 int_value = 4;
  optional double double_value = 5;
  optional string string_value = 6;
  optional string name = 10;
}`;
const Trace = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('Trace');

interface Packet {
  timestamp?: number;
  trusted_packet_sequence_id?: number;
  track_descriptor?: { uuid: number; name?: string; parent_uuid?: number; process?: { pid: number; process_name: string }; thread?: { pid: number; tid: number; thread_name: string } };
  track_event?: { type: number; track_uuid: number; name?: string; categories?: string[]; debug_annotations?: { name: string; string_value?: string; uint_value?: number; int_value?: number; bool_value?: boolean }[] };
}

function decode(file: string): Packet[] {
  const msg = Trace.decode(readFileSync(file));
  return (Trace.toObject(msg, { longs: Number, defaults: false }) as { packet: Packet[] }).packet;
}

let dir = '';
let guest = '';
const tmp = (n: string): string => join(dir, n);
const MARK_KINDS = ['trap', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input', 'halt'];

function kindCounts(trace: string): Record<string, number> {
  const rows = sql<{ kind: string; n: number }>(trace, 'SELECT kind, count(*) AS n FROM events GROUP BY kind');
  const out: Record<string, number> = {};
  for (const k of [...MARK_KINDS, 'vm_exit']) out[k] = rows.find((r) => r.kind === k)?.n ?? 0;
  out.console = sql<{ n: number }>(trace, 'SELECT count(*) AS n FROM console')[0]!.n;
  return out;
}

function exportTo(trace: string, format: string, out: string): void {
  const r = cli(['export', trace, '--format', format, '-o', out]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
}

/** Perfetto checks shared by the good and the bad traces; returns the instants per category. */
function checkPerfetto(file: string): { tracks: Map<number, NonNullable<Packet['track_descriptor']>>; counts: Record<string, number>; slices: Record<string, number> } {
  const packets = decode(file);
  const tracks = new Map<number, NonNullable<Packet['track_descriptor']>>();
  for (const p of packets) {
    expect(p.trusted_packet_sequence_id).toBe(1);
    if (p.track_descriptor) {
      expect(tracks.has(p.track_descriptor.uuid)).toBe(false);
      tracks.set(p.track_descriptor.uuid, p.track_descriptor);
    }
  }
  for (const t of tracks.values()) if (t.parent_uuid !== undefined) expect(tracks.has(t.parent_uuid)).toBe(true);
  const stacks = new Map<number, string[]>();
  const lastTs = new Map<number, number>();
  const counts: Record<string, number> = {};
  const slices: Record<string, number> = {};
  let prevTs = -1;
  for (const p of packets) {
    const e = p.track_event;
    if (!e) continue;
    expect(tracks.has(e.track_uuid), `event on an undeclared track ${e.track_uuid}`).toBe(true);
    const ts = p.timestamp ?? 0;
    expect(ts).toBeGreaterThanOrEqual(prevTs);
    prevTs = ts;
    expect(ts).toBeGreaterThanOrEqual(lastTs.get(e.track_uuid) ?? 0);
    lastTs.set(e.track_uuid, ts);
    const st = stacks.get(e.track_uuid) ?? [];
    stacks.set(e.track_uuid, st);
    if (e.type === 1) { st.push(e.name!); const c = e.categories![0]!; slices[c] = (slices[c] ?? 0) + 1; }
    else if (e.type === 2) { expect(st.length, `an end without a begin on track ${e.track_uuid}`).toBeGreaterThan(0); st.pop(); }
    else { expect(e.type).toBe(3); const c = e.categories![0]!; counts[c] = (counts[c] ?? 0) + 1; }
  }
  for (const [uuid, st] of stacks) expect(st, `unclosed slices on track ${uuid}`).toEqual([]);
  return { tracks, counts, slices };
}

interface ChromeEvent { ph: string; name: string; cat?: string; ts: number; dur?: number; pid: number; tid?: number; s?: string; args?: Record<string, unknown> }

function checkChrome(file: string): { doc: { traceEvents: ChromeEvent[]; otherData: { notes: string[]; status: string } }; counts: Record<string, number>; threads: string[] } {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: ChromeEvent[]; displayTimeUnit: string; otherData: { notes: string[]; status: string } };
  expect(Array.isArray(doc.traceEvents)).toBe(true);
  expect(doc.displayTimeUnit).toBe('ns');
  const open = new Map<string, string[]>();
  const counts: Record<string, number> = {};
  const threads: string[] = [];
  for (const e of doc.traceEvents) {
    expect(['M', 'X', 'B', 'E', 'i', 'C']).toContain(e.ph);
    expect(typeof e.name).toBe('string');
    expect(typeof e.pid).toBe('number');
    if (e.ph === 'M') { if (e.name === 'thread_name') threads.push(String(e.args!.name)); continue; }
    expect(Number.isFinite(e.ts)).toBe(true);
    const key = `${e.pid}:${e.tid}`;
    const st = open.get(key) ?? [];
    open.set(key, st);
    if (e.ph === 'X') expect(e.dur).toBeGreaterThan(0);
    if (e.ph === 'B') { st.push(e.name); counts[`B:${e.cat}`] = (counts[`B:${e.cat}`] ?? 0) + 1; }
    if (e.ph === 'E') { expect(st.pop()).toBe(e.name); }
    if (e.ph === 'i') { expect(['t', 'g']).toContain(e.s); counts[e.cat!] = (counts[e.cat!] ?? 0) + 1; }
    if (e.ph === 'C') { counts.C = (counts.C ?? 0) + 1; expect(typeof e.args!.exits).toBe('number'); }
  }
  for (const [k, st] of open) expect(st, `unclosed B on ${k}`).toEqual([]);
  return { doc, counts, threads };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-export-'));
  guest = record(tmp('guest.trace'), ['--guest', `${GUESTS}/smp-kernel.elf`, '--vcpus', '4', '--smp', '2']);
}, 300_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('hvtrace export --format perfetto', () => {
  it('tracks per hart and vCPU, nested slices, instants per kind equal to the trace, byte-identical twice', () => {
    exportTo(guest, 'perfetto', tmp('a.pftrace'));
    exportTo(guest, 'perfetto', tmp('b.pftrace'));
    expect(readFileSync(tmp('a.pftrace')).equals(readFileSync(tmp('b.pftrace')))).toBe(true);
    const { tracks, counts, slices } = checkPerfetto(tmp('a.pftrace'));
    const names = [...tracks.values()].filter((t) => t.thread).map((t) => t.name);
    expect(names).toEqual(['hart 0', 'hart 1', 'vm0 vcpu 0', 'vm0 vcpu 1', 'vm0 vcpu 2', 'vm0 vcpu 3']);
    const procs = [...tracks.values()].filter((t) => t.process).map((t) => t.process!.process_name);
    expect(procs.length).toBe(2);
    expect(procs[0]).toBe('harts (guest.trace)');
    expect(procs[1]).toMatch(/^vm0 \(.*smp-kernel\.elf\)$/);
    const want = kindCounts(guest);
    for (const k of MARK_KINDS) expect(counts[k] ?? 0, k).toBe(want[k]);
    expect(counts.console).toBe(want.console);
    // Every VM exit is a slice on its vCPU's track, but the VM's stop (no vCPU): an instant.
    const stops = sql<{ n: number }>(guest, 'SELECT count(*) AS n FROM vm_exits WHERE vcpu IS NULL')[0]!.n;
    expect(slices.vm_exit).toBe(want.vm_exit - stops);
    expect(counts.vm_exit ?? 0).toBe(stops);
    expect(slices.privilege).toBeGreaterThan(100);
    // Fields as debug annotations: a trap's cause and symbol.
    const trap = decode(tmp('a.pftrace')).find((p) => p.track_event?.categories?.[0] === 'trap')!.track_event!;
    const ann = Object.fromEntries(trap.debug_annotations!.map((d) => [d.name, d.string_value ?? d.uint_value ?? d.int_value ?? d.bool_value]));
    expect(ann).toMatchObject({ cause: 10, cause_name: 'ecall from VS', from: 'VS', to: 'HS', symbol: 'kmain+0x38', insn: 'ecall' });
    // Timestamps: virtual time, 1 instruction = 1 ns.
    const first = sql<{ vtime: number }>(guest, "SELECT vtime FROM events WHERE kind = 'trap' ORDER BY seq LIMIT 1")[0]!.vtime;
    expect(decode(tmp('a.pftrace')).find((p) => p.track_event?.categories?.[0] === 'trap')!.timestamp).toBe(first);
  });
});

describe('hvtrace export --format chrome-json', () => {
  it('Trace Event Format: structure, threads, B/E balanced, counts equal to the trace', () => {
    exportTo(guest, 'chrome-json', tmp('a.json'));
    exportTo(guest, 'chrome-json', tmp('b.json'));
    expect(readFileSync(tmp('a.json'), 'utf8')).toBe(readFileSync(tmp('b.json'), 'utf8'));
    const { counts, threads, doc } = checkChrome(tmp('a.json'));
    expect(threads).toEqual(['hart 0', 'hart 1', 'vm0 vcpu 0', 'vm0 vcpu 1', 'vm0 vcpu 2', 'vm0 vcpu 3']);
    const want = kindCounts(guest);
    for (const k of MARK_KINDS) expect(counts[k] ?? 0, k).toBe(want[k]);
    expect(counts.console).toBe(want.console);
    const stops = sql<{ n: number }>(guest, 'SELECT count(*) AS n FROM vm_exits WHERE vcpu IS NULL')[0]!.n;
    expect(counts['B:vm_exit']).toBe(want.vm_exit - stops);
    expect(counts.C).toBe(counts['B:vm_exit']);
    expect(doc.traceEvents.some((e) => e.ph === 'X' && e.name === 'VS')).toBe(true);
    expect(doc.otherData.status).toBe('complete');
    const exit = doc.traceEvents.find((e) => e.ph === 'B' && e.cat === 'vm_exit')!;
    expect(exit.args).toMatchObject({ reason: expect.any(String), vm: 0, vcpu: expect.any(Number) });
  });
});

describe('bad input', () => {
  it('no events, an aborted recording and a QEMU import export (both formats) and draw a page, with a note', () => {
    const cases: [string, RegExp][] = [
      [emptyTrace(guest, tmp('empty.trace')), /no events/],
      [abortedTrace(guest, tmp('aborted.trace'), 1500), /aborted/],
      [qemuImport(guest, dir, 'qemu'), /no trap returns/],
    ];
    for (const [trace, note] of cases) {
      exportTo(trace, 'perfetto', `${trace}.pftrace`);
      const { tracks, counts } = checkPerfetto(`${trace}.pftrace`);
      expect([...tracks.values()].some((t) => t.name === 'notes')).toBe(true);
      expect(counts.note).toBeGreaterThan(0);
      const notes = decode(`${trace}.pftrace`).filter((p) => p.track_event?.categories?.[0] === 'note').map((p) => p.track_event!.name);
      expect(notes.join(' ')).toMatch(note);
      exportTo(trace, 'chrome-json', `${trace}.json`);
      const { doc, counts: cc } = checkChrome(`${trace}.json`);
      expect(doc.otherData.notes.join(' ')).toMatch(note);
      const want = kindCounts(trace);
      for (const k of MARK_KINDS) expect(cc[k] ?? 0, `${trace} ${k}`).toBe(want[k]);
      const t = cli(['timeline', trace, '-o', `${trace}.html`]);
      expect(t.status, t.stderr).toBe(0);
      expect(readFileSync(`${trace}.html`, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    }
  });

  it('an unwritable -o is one line and exit 2 (timeline and export), and leaves no file behind', () => {
    writeFileSync(tmp('plain'), 'x');
    mkdirSync(tmp('adir'), { recursive: true });
    const outs = [tmp('missing/out.x'), tmp('plain/out.x'), tmp('adir'), '/dev/full', ''];
    for (const o of outs) {
      for (const args of [['timeline', guest, '-o', o], ['export', guest, '--format', 'perfetto', '-o', o], ['export', guest, '--format', 'chrome-json', '-o', o]]) {
        const r = cli(args);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/^hvtrace: [^\n]+\n$/);
        expect(r.stdout).toBe('');
      }
    }
    expect(readdirSync(tmp('adir'))).toEqual([]);
    expect(existsSync(tmp('missing'))).toBe(false);
    const bad = cli(['export', guest, '--format', 'svg', '-o', tmp('x.svg')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^hvtrace: --format svg: expected perfetto or chrome-json\n$/);
    const noTrace = cli(['timeline', tmp('nope.trace'), '-o', tmp('nope.html')]);
    expect(noTrace.status).toBe(2);
    expect(noTrace.stderr).toMatch(/^hvtrace: [^\n]*nope\.trace[^\n]*\n$/);
    expect(existsSync(tmp('nope.html'))).toBe(false);
  });
});
