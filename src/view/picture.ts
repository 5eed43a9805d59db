/**
 * The picture of a recording as trace viewers draw it (issue 14): for each lane (hart, vCPU), a
 * well-nested sequence of slice begins / ends and instants, in time order, from an Analysis.
 * `hvtrace export` turns it into Perfetto TracePackets or Chrome Trace Event Format.
 *
 * Slices: the lane's levels (M, HS/S, VS, VU, U, WFI; not 'off', not zero-length) and, on vCPU
 * lanes, one slice per VM exit from the exit to its vm_entry (zero-length when the hypervisor
 * handled it without running an instruction, as the built-in one does for SBI calls; then it
 * nests inside the vCPU's VS slice). Instants: the marks (traps, SBI calls, MMIO, interrupt
 * lines, hart state changes, input bytes, halt) and console output, on the lane of their hart.
 *
 * Order is total and comes from the data only (times, lane numbers, seq), so the same trace
 * always gives the same sequence.
 */
import { pcToNumber, type TraceEvent } from '../trace/model.js';
import { TraceCode } from '../trace/code.js';
import {
  LEVEL, levelName, eventFields, trapCauseName, sbiCallName, irqName, hex, type Analysis, type FieldValue, type VmExitRecord,
} from './analysis.js';

/** Event kinds drawn as marks (instants), plus 'console'. */
export const MARK_KIND_LIST = ['trap', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input', 'halt', 'console'] as const;
export type MarkKind = typeof MARK_KIND_LIST[number];

export interface PictureItem {
  readonly ph: 'B' | 'E' | 'I';
  readonly ts: number;
  /** B / I: name and category; E repeats the begin's. */
  readonly name: string;
  readonly cat: string;
  /** B of a level slice: its end (for complete events); B of a VM exit: its end too. */
  readonly end?: number;
  readonly args?: [string, FieldValue][];
  /** Instants of events and VM exits: the event's seq. */
  readonly seq?: number;
}

export interface PictureLane {
  readonly name: string;
  readonly type: 'hart' | 'vcpu';
  readonly hart?: number;
  readonly vm?: number;
  readonly vcpu?: number;
  readonly items: PictureItem[];
}

/** Short name of a mark. */
export function markName(e: TraceEvent): string {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  switch (e.kind) {
    case 'trap': return trapCauseName(e.a ?? 0n).name;
    case 'sbi_call': return sbiCallName(e.a ?? 0n, e.b);
    case 'mmio': return `${String(p.device ?? '?')} ${(e.c ?? 0n) & 0x100n ? 'write' : 'read'}`;
    case 'irq': return `${irqName(Number(e.a ?? 0n))} ${e.b === 1n ? 'raised' : 'lowered'}`;
    case 'hart_state': return `hart ${['start', 'stop', 'suspend', 'resume'][Number(e.a ?? 0n)] ?? 'state'}`;
    case 'input': return `input ${hex(e.a ?? 0n)}`;
    case 'halt': return `halt: ${String(p.kind ?? '?')} exit ${e.a ?? 0n}`;
    default: return e.kind;
  }
}

export function isMark(e: TraceEvent): boolean {
  return e.kind !== 'trap_return' && e.kind !== 'vm_exit' && e.kind !== 'vm_entry' && e.kind !== 'csr_write';
}

interface Interval { start: number; end: number; name: string; cat: string; args?: [string, FieldValue][]; seq?: number; instant: boolean; order: number }

export interface PictureOptions {
  /** Symbols and disassembly for the args of events (default: none). */
  code?: TraceCode | null;
}

/** Symbol and instruction at an event's pc, cached per address space and pc. */
export function codeLookup(code: TraceCode | null | undefined): (e: TraceEvent) => { symbol?: string; insn?: string } {
  if (!code) return () => ({});
  // Per address space, by the pc as a signed number (exact: BigInt.asIntN(64) of a pc is within 2^53).
  const cache = new Map<number, Map<number, { symbol?: string; insn?: string }>>();
  return (e) => {
    const space = code.spaceOf(e) ?? -2;
    let m = cache.get(space);
    if (!m) cache.set(space, (m = new Map()));
    const k = pcToNumber(e.pc);
    let v = m.get(k);
    if (!v) m.set(k, (v = code.forEvent(e)));
    return v;
  };
}

export function exitArgs(x: VmExitRecord): [string, FieldValue][] {
  const a: [string, FieldValue][] = [['seq', x.seq], ['reason', x.reason], ['vm', x.vm]];
  if (x.vcpu !== null) a.push(['vcpu', x.vcpu]);
  a.push(['hart', x.hart], ['detail', x.detail === null ? '-' : hex(x.detail)], ['guest_pc', hex(x.guestPc)]);
  if (x.entrySeq !== null) a.push(['entry_seq', x.entrySeq]);
  if (x.durInsns !== null) a.push(['instructions', x.durInsns]);
  if (x.durVtime !== null) a.push(['virtual_ns', x.durVtime]);
  return a;
}

export function buildPicture(a: Analysis, opts: PictureOptions = {}): PictureLane[] {
  const lookup = codeLookup(opts.code);
  const per: Interval[][] = a.lanes.map(() => []);
  let order = 0;
  a.lanes.forEach((L, li) => {
    for (let i = 0; i < L.t.length; i++) {
      const lv = L.lv[i]!;
      if (lv === LEVEL.OFF || lv >= LEVEL.EXIT) continue;
      const start = L.t[i]!;
      const end = i + 1 < L.t.length ? L.t[i + 1]! : Math.max(a.end, start);
      if (end <= start) continue;
      per[li]!.push({ start, end, name: levelName(lv, a.hyp), cat: 'privilege', instant: false, order: order++ });
    }
  });
  // VM exits on their vCPU lanes (a VM stop on every lane of its VM that ran).
  const vcpuLane = new Map<string, number>();
  a.lanes.forEach((L, li) => { if (L.type === 'vcpu') vcpuLane.set(`${L.vm}:${L.vcpu}`, li); });
  for (const x of a.exits) {
    const li = x.vcpu === null ? undefined : vcpuLane.get(`${x.vm}:${x.vcpu}`);
    const end = x.entryVtime ?? (x.vcpu === null ? x.vtime : Math.max(a.end, x.vtime));
    const args = exitArgs(x);
    if (li !== undefined) per[li]!.push({ start: x.vtime, end, name: `exit: ${x.reason}`, cat: 'vm_exit', args, seq: x.seq, instant: false, order: order++ });
    else if (x.vcpu === null) {
      // The VM stopped: an instant on its first vCPU's lane.
      const l0 = vcpuLane.get(`${x.vm}:0`);
      if (l0 !== undefined) per[l0]!.push({ start: x.vtime, end: x.vtime, name: `exit: ${x.reason}`, cat: 'vm_exit', args, seq: x.seq, instant: true, order: order++ });
    }
  }
  // Marks.
  for (const e of a.events) {
    if (!isMark(e) || e.hart >= a.harts) continue;
    const li = a.hartLane[e.hart]!;
    const args = eventFields(e, a.hyp);
    const c = lookup(e);
    if (c.symbol) args.push(['symbol', c.symbol]);
    if (c.insn) args.push(['insn', c.insn]);
    per[li]!.push({ start: e.vtime, end: e.vtime, name: markName(e), cat: e.kind, args, seq: e.seq, instant: true, order: order++ });
  }
  a.console.forEach((c, i) => {
    const h = c.hart ?? 0;
    if (h >= a.harts) return;
    per[a.hartLane[h]!]!.push({
      start: c.vtime, end: c.vtime, name: 'console', cat: 'console', args: [['chunk', i], ['hart', c.hart ?? '-'], ['text', c.text]], instant: true, order: order++,
    });
  });

  return a.lanes.map((L, li) => {
    const iv = per[li]!;
    // Intervals by start, longer first (parents before children); instants after intervals at the same time.
    iv.sort((x, y) => x.start - y.start || Number(x.instant) - Number(y.instant) || y.end - x.end || x.order - y.order);
    const items: PictureItem[] = [];
    const stack: Interval[] = [];
    const popTo = (t: number): void => {
      while (stack.length && stack[stack.length - 1]!.end <= t) {
        const s = stack.pop()!;
        items.push({ ph: 'E', ts: s.end, name: s.name, cat: s.cat });
      }
    };
    for (const x of iv) {
      popTo(x.start);
      if (x.instant) {
        items.push({ ph: 'I', ts: x.start, name: x.name, cat: x.cat, args: x.args, seq: x.seq });
        continue;
      }
      const top = stack[stack.length - 1];
      // A slice that would outlast its parent is cut at the parent's end (slices must nest).
      const end = top && x.end > top.end ? top.end : x.end;
      const s = { ...x, end };
      items.push({ ph: 'B', ts: s.start, name: s.name, cat: s.cat, end, args: s.args, seq: s.seq });
      stack.push(s);
    }
    popTo(Infinity);
    return { name: L.name, type: L.type, hart: L.hart, vm: L.vm, vcpu: L.vcpu, items };
  });
}
