/**
 * The divergence report of `hvtrace diff` (issue 13): what a kernel developer reads to act on a
 * divergence. Built from the two open traces once the comparer found the first divergence:
 *
 *  1. the first divergent event on both sides, named as `hvtrace events` names it (describeEvent:
 *     CSR names, SBI extension and function names, cause names, privilege names), with the
 *     decoded fields of status / interrupt / translation CSRs (`sstatus.SIE 1 -> 0`), symbol and
 *     disassembly at its pc, and the guest (VM and its image) for guest events;
 *  2. the N events before it on both sides, aligned position by position;
 *  3. the console output of both sides up to that event, and the first line where the two
 *     consoles differ;
 *  4. the next commands to run (`hvtrace replay B --to seq:N`, and with `--gdb`).
 *
 * The configuration differences (images, command line, harts, ...) come first in the report;
 * they are computed by compareRuns (compare.ts), and `explain` says how they relate to the
 * event divergence.
 */
import type { TraceEvent } from '../trace/model.js';
import type { TraceReader } from '../trace/store.js';
import type { TraceCode } from '../trace/code.js';
import { csrName } from '../isa/disasm.js';
import { parseElf } from '../image/loader.js';
// The describers of `hvtrace events` (one wording for both commands).
import { describeEvent, privName } from '../trace/describe.js';

const hex = (v: bigint | number | null | undefined): string =>
  v === null || v === undefined ? '-' : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

// ---------------------------------------------------------------------------------------------
// CSR fields
// ---------------------------------------------------------------------------------------------

type Field = readonly [name: string, lo: number, hi?: number];
const SSTATUS: readonly Field[] = [['SIE', 1], ['SPIE', 5], ['UBE', 6], ['SPP', 8], ['VS', 9, 10], ['FS', 13, 14], ['XS', 15, 16], ['SUM', 18], ['MXR', 19], ['UXL', 32, 33], ['SD', 63]];
const MSTATUS: readonly Field[] = [['SIE', 1], ['MIE', 3], ['SPIE', 5], ['UBE', 6], ['MPIE', 7], ['SPP', 8], ['VS', 9, 10], ['MPP', 11, 12], ['FS', 13, 14], ['XS', 15, 16],
  ['MPRV', 17], ['SUM', 18], ['MXR', 19], ['TVM', 20], ['TW', 21], ['TSR', 22], ['UXL', 32, 33], ['SXL', 34, 35], ['SBE', 36], ['MBE', 37], ['GVA', 38], ['MPV', 39], ['SD', 63]];
const HSTATUS: readonly Field[] = [['VSBE', 5], ['GVA', 6], ['SPV', 7], ['SPVP', 8], ['HU', 9], ['VGEIN', 12, 17], ['VTVM', 20], ['VTW', 21], ['VTSR', 22], ['VSXL', 32, 33]];
const IE: readonly Field[] = [['SSIE', 1], ['VSSIE', 2], ['MSIE', 3], ['STIE', 5], ['VSTIE', 6], ['MTIE', 7], ['SEIE', 9], ['VSEIE', 10], ['MEIE', 11], ['SGEIE', 12], ['LCOFIE', 13]];
const IP: readonly Field[] = IE.map(([n, lo]) => [n.replace(/IE$/, 'IP'), lo] as const);
const ATP: readonly Field[] = [['PPN', 0, 43], ['ASID', 44, 59], ['MODE', 60, 63]];
const HGATP: readonly Field[] = [['PPN', 0, 43], ['VMID', 44, 57], ['MODE', 60, 63]];
const TVEC: readonly Field[] = [['MODE', 0, 1], ['BASE', 2, 63]];
/**
 * tdata1 as hvtrace keeps it (src/hart/trigger.ts, QEMU 7.2's fields) for both mcontrol (type 2)
 * and mcontrol6 (type 6): SIZE is bits 19:16 (type 6's size; type 2's sizelo, its bits 19:18
 * being always 0), SIZEHI type 2's bits 22:21 (always 0 in type 6), VU/VS type 6's.
 */
const TDATA1: readonly Field[] = [['LOAD', 0], ['STORE', 1], ['EXECUTE', 2], ['U', 3], ['S', 4], ['M', 6],
  ['SIZE', 16, 19], ['SIZEHI', 21, 22], ['VU', 23], ['VS', 24], ['TYPE', 60, 63]];

/** mhpmeventN: the event selector and Sscofpmf's mode-inhibit and overflow bits (src/hart/hpm.ts). */
const MHPMEVENT: readonly Field[] = [['EVENT', 0, 19], ['VUINH', 58], ['VSINH', 59], ['UINH', 60], ['SINH', 61], ['MINH', 62], ['OF', 63]];

const CSR_FIELDS: ReadonlyMap<number, readonly Field[]> = new Map<number, readonly Field[]>([
  [0x100, SSTATUS], [0x200, SSTATUS], [0x300, MSTATUS], [0x600, HSTATUS],
  [0x104, IE], [0x204, IE], [0x304, IE], [0x604, IE], [0x144, IP], [0x244, IP], [0x344, IP], [0x644, IP], [0x645, IP],
  [0x180, ATP], [0x280, ATP], [0x680, HGATP], [0x105, TVEC], [0x205, TVEC], [0x305, TVEC], [0x7a1, TDATA1],
  ...Array.from({ length: 29 }, (_, i): [number, readonly Field[]] => [0x323 + i, MHPMEVENT]),
]);

function field(v: bigint, [, lo, hi]: Field): bigint {
  const w = BigInt((hi ?? lo) - lo + 1);
  return (BigInt.asUintN(64, v) >> BigInt(lo)) & ((1n << w) - 1n);
}
const fv = (x: bigint, f: Field): string => ((f[2] ?? f[1]) - f[1] >= 8 ? hex(x) : x.toString());

/** The fields of a CSR that differ between two values: `sstatus.SIE 1 -> 0` (empty for CSRs without a field table). */
export function csrFieldChanges(csr: number, from: bigint, to: bigint): string[] {
  const fs = CSR_FIELDS.get(csr & 0xfff);
  if (!fs) return [];
  const out: string[] = [];
  for (const f of fs) {
    const x = field(from, f), y = field(to, f);
    if (x !== y) out.push(`${csrName(csr)}.${f[0]} ${fv(x, f)} -> ${fv(y, f)}`);
  }
  return out;
}

/** The fields of a CSR value that differ between the two sides: `sstatus.SPP: 1 | 0`. */
function csrFieldDifferences(csr: number, a: bigint, b: bigint): string[] {
  const fs = CSR_FIELDS.get(csr & 0xfff);
  if (!fs) return [];
  return fs.filter((f) => field(a, f) !== field(b, f)).map((f) => `${csrName(csr)}.${f[0]} ${fv(field(a, f), f)} | ${fv(field(b, f), f)}`);
}

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** One event as the report shows it (JSON-safe). */
export interface EventView {
  seq: number;
  hart: number;
  priv: string;
  vtime: number;
  instret: number;
  pc: string;
  symbol?: string;
  insn?: string;
  kind: string;
  /** As `hvtrace events` says it. */
  text: string;
  /** Decoded CSR field changes of a csr_write (`sstatus.SIE 1 -> 0`). */
  fields?: string[];
  /** The guest a guest-mode event belongs to: `vm 0`, and its image. */
  guest?: string;
  guestImage?: string;
}

export interface SideContext {
  code: TraceCode;
  /** Guest image names by VM index. */
  guests: readonly string[];
  /** A reference import (QEMU): only some fields are known. */
  reference: boolean;
}

export function eventView(e: TraceEvent, s: SideContext): EventView {
  const { symbol, insn } = s.code.forEvent(e);
  const v: EventView = {
    seq: e.seq, hart: e.hart, priv: s.reference ? '?' : privName(e.priv, e.virt, s.guests.length > 0), vtime: e.vtime, instret: e.instret,
    pc: hex(e.pc), ...(symbol ? { symbol } : {}), ...(insn ? { insn } : {}), kind: e.kind, text: describeEvent(e, s.guests.length > 0),
  };
  if (s.reference && e.kind === 'trap') v.text = v.text.replace(/ -> 0x0 \[.*\]$/, '');
  if (e.kind === 'csr_write' && e.a !== null && e.b !== null && e.c !== null) {
    const f = csrFieldChanges(Number(e.a), e.b, e.c);
    if (f.length) v.fields = f;
  }
  if (s.guests.length > 0 && (e.virt || e.kind === 'vm_exit' || e.kind === 'vm_entry')) {
    const vm = s.code.spaceOf(e);
    if (typeof vm === 'number' && vm >= 0 && vm < s.guests.length) {
      v.guest = `vm ${vm}`;
      v.guestImage = s.guests[vm]!;
    }
  }
  return v;
}

/** `#52 h0 S vt=5057 i=5057 0x80200a4c <start_kernel+0x1c> csr_write sstatus 0x0 -> 0x2 | csrw sstatus,a0` */
export function eventLine(v: EventView | null, withImage = false): string {
  if (!v) return '(no event: the trace ends here)';
  const where = `${v.pc}${v.symbol ? ` <${v.symbol}>` : ''}`;
  const guest = v.guest ? ` ${v.guest}${withImage && v.guestImage ? ` (${v.guestImage})` : ''}` : '';
  return `#${v.seq} h${v.hart} ${v.priv.padEnd(2)} vt=${v.vtime} i=${v.instret}${guest}  ${where}  ${v.kind} ${v.text}${v.insn ? `  | ${v.insn}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// console
// ---------------------------------------------------------------------------------------------

export interface ConsoleView {
  /** The last lines printed before the divergent event (at most `lines`), and the line being printed. */
  a: string[];
  b: string[];
  /** The first line (from 1) where the two consoles differ, with both texts (null: end of output). */
  firstDifference: { line: number; a: string | null; b: string | null } | null;
}

const CONSOLE_LINES = 5;

function consoleUpTo(r: TraceReader, seq: number | null): string {
  const chunks = r.console().filter((c) => seq === null || c.eventSeq <= seq);
  return Buffer.concat(chunks.map((c) => c.data)).toString('latin1');
}

function lastLines(s: string, n: number): string[] {
  const ls = s.replace(/\r\n/g, '\n').split('\n');
  if (ls.length && ls[ls.length - 1] === '') ls.pop();
  return ls.slice(-n);
}

export function consoleView(ra: TraceReader, rb: TraceReader, seqA: number | null, seqB: number | null): ConsoleView {
  const la = consoleUpTo(ra, null).replace(/\r\n/g, '\n').split('\n');
  const lb = consoleUpTo(rb, null).replace(/\r\n/g, '\n').split('\n');
  let firstDifference: ConsoleView['firstDifference'] = null;
  const n = Math.max(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    if (la[i] !== lb[i]) {
      firstDifference = { line: i + 1, a: la[i] ?? null, b: lb[i] ?? null };
      break;
    }
  }
  return { a: lastLines(consoleUpTo(ra, seqA), CONSOLE_LINES), b: lastLines(consoleUpTo(rb, seqB), CONSOLE_LINES), firstDifference };
}

// ---------------------------------------------------------------------------------------------
// the whole report
// ---------------------------------------------------------------------------------------------

/** Where two versions of an image differ (same role, same size). */
export interface ImageChange {
  role: string;
  /** File offset and length of the changed bytes. */
  offset: number;
  length: number;
  /** Where those bytes are loaded (ELF: from the segment; raw: the load address + offset). */
  address?: string;
  symbol?: string;
  /** The instruction there on each side. */
  a?: string;
  b?: string;
}

const MAX_CHANGES = 3;

function imageChanges(x: ReportInput): ImageChange[] {
  const out: ImageChange[] = [];
  for (const d of x.runDifferences) {
    if (d.area !== 'images' || d.a === null || d.b === null || d.item.endsWith('initrd')) continue;
    // A guest's image is read in its own address space (guest physical addresses).
    const space = /^guest(\d+)$/.exec(d.item) ? Number(d.item.slice(5)) : undefined;
    let ba: Uint8Array | null, bb: Uint8Array | null;
    try {
      ba = x.ra.imageBytes(d.item as never);
      bb = x.rb.imageBytes(d.item as never);
    } catch {
      continue;
    }
    if (!ba || !bb || ba.length !== bb.length) continue;
    const runs: [number, number][] = [];
    for (let i = 0; i < ba.length && runs.length <= MAX_CHANGES; i++) {
      if (ba[i] === bb[i]) continue;
      const last = runs[runs.length - 1];
      if (last && i - last[1] <= 4) last[1] = i + 1;
      else runs.push([i, i + 1]);
    }
    let elf: ReturnType<typeof parseElf> | null = null;
    if (ba[0] === 0x7f && ba[1] === 0x45 && ba[2] === 0x4c && ba[3] === 0x46) {
      try { elf = parseElf(ba); } catch { elf = null; }
    }
    const base = x.ra.loadedImages().find((l) => l.role === d.item)?.base;
    for (const [lo, hi] of runs.slice(0, MAX_CHANGES)) {
      const c: ImageChange = { role: d.item, offset: lo, length: hi - lo };
      let addr: bigint | undefined;
      if (elf) {
        const seg = elf.segments.find((sg) => lo >= sg.data.byteOffset - ba.byteOffset && lo < sg.data.byteOffset - ba.byteOffset + sg.data.length);
        if (seg) addr = BigInt(seg.vaddr) + BigInt(lo - (seg.data.byteOffset - ba.byteOffset));
      } else if (typeof base === 'number') addr = BigInt(base + lo);
      if (addr !== undefined) {
        // The instruction holding the first changed byte: decoded forward from the start of
        // its function (with compressed instructions, an address alone does not say where an
        // instruction starts).
        let pc = addr & ~1n;
        const sym0 = x.a.code.symbolize(pc, space) ?? x.b.code.symbolize(pc, space);
        const m = sym0 ? /\+0x([0-9a-f]+)$/.exec(sym0) : null;
        if (m) {
          let q = pc - BigInt(`0x${m[1]}`);
          while (q <= addr) {
            const bits = x.a.code.insn(q, space);
            if (bits === null) break;
            const len = (bits & 3) === 3 ? 4n : 2n;
            if (q + len > addr) { pc = q; break; }
            q += len;
          }
        }
        const symbol = x.a.code.symbolize(pc, space) ?? x.b.code.symbolize(pc, space);
        const ia = x.a.code.disasm(pc, space), ib = x.b.code.disasm(pc, space);
        c.address = hex(pc);
        if (symbol) c.symbol = symbol;
        if (ia) c.a = ia;
        if (ib) c.b = ib;
      }
      out.push(c);
    }
  }
  return out;
}

export interface DivergenceReport {
  /** Why the events differ, when the configuration says so. */
  explanation: string[];
  /** Where changed images differ (up to 3 places per image). */
  imageChanges: ImageChange[];
  first: { a: EventView | null; b: EventView | null; fields: string[] };
  /** The events before, aligned (oldest first); `same` when both sides are equal there. */
  before: { a: EventView | null; b: EventView | null; same: boolean }[];
  console: ConsoleView | null;
  /** Commands to run next. */
  next: string[];
}

/** Quote a path for a shell command line when needed. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ReportInput {
  pathA: string;
  pathB: string;
  ra: TraceReader;
  rb: TraceReader;
  a: SideContext;
  b: SideContext;
  expected: TraceEvent | null;
  actual: TraceEvent | null;
  before: { expected: TraceEvent[]; actual: TraceEvent[] };
  /** compareRuns' differences: [area, item]. */
  runDifferences: readonly { area: string; item: string; a: string | null; b: string | null }[];
  /** Field names that differ at the divergence. */
  differingFields: readonly string[];
}

export function buildReport(x: ReportInput): DivergenceReport {
  const first = {
    a: x.expected ? eventView(x.expected, x.a) : null,
    b: x.actual ? eventView(x.actual, x.b) : null,
    fields: [] as string[],
  };
  const e = x.expected, t = x.actual;
  if (e && t && e.kind === 'csr_write' && t.kind === 'csr_write' && e.a === t.a && e.c !== null && t.c !== null) {
    first.fields = csrFieldDifferences(Number(e.a), e.c, t.c);
  }
  const n = Math.max(x.before.expected.length, x.before.actual.length);
  const before: DivergenceReport['before'] = [];
  for (let i = 0; i < n; i++) {
    const be = x.before.expected[x.before.expected.length - n + i];
    const ba = x.before.actual[x.before.actual.length - n + i];
    const va = be ? eventView(be, x.a) : null;
    const vb = ba ? eventView(ba, x.b) : null;
    before.push({ a: va, b: vb, same: !!va && !!vb && eventLine(va) === eventLine(vb) });
  }
  const recordings = !x.a.reference && !x.b.reference;
  const cons = recordings ? consoleView(x.ra, x.rb, e ? e.seq : null, t ? t.seq : null) : null;
  // Replay the side that has the event (B when both do): the actual trace, unless it is an import.
  const next: string[] = [];
  const target = t && !x.b.reference ? { path: x.pathB, seq: t.seq } : e && !x.a.reference ? { path: x.pathA, seq: e.seq } : null;
  if (target) {
    next.push(`hvtrace replay ${shellQuote(target.path)} --to seq:${target.seq}`);
    next.push(`hvtrace replay ${shellQuote(target.path)} --to seq:${target.seq} --gdb 127.0.0.1:1234`);
    const from = Math.max(0, target.seq - 20);
    next.push(`hvtrace events ${shellQuote(target.path)} --from ${from} --to ${target.seq}`);
  }
  return { explanation: explain(x), imageChanges: recordings ? imageChanges(x) : [], first, before, console: cons, next };
}

/** How the configuration differences relate to the event divergence. */
function explain(x: ReportInput): string[] {
  const out: string[] = [];
  const items = new Set(x.runDifferences.map((d) => d.item));
  const areas = new Set(x.runDifferences.map((d) => d.area));
  const at = x.expected ?? x.actual;
  const where = at ? `event #${at.seq}` : 'the events';
  if (items.has('harts')) {
    out.push(`the two machines have different numbers of harts: events interleave differently from the start, so ${where} differing is expected; compare runs with the same --smp`);
  }
  if (areas.has('images')) {
    const roles = x.runDifferences.filter((d) => d.area === 'images').map((d) => d.item);
    out.push(`the ${roles.join(' and ')} image${roles.length > 1 ? 's differ' : ' differs'}: ${where} is where the changed code first behaves differently (or where it is first reached)`);
  }
  if (items.has('append')) {
    out.push(`the kernel command line differs: the kernel reads it during boot (the device tree's /chosen/bootargs), so the runs part where its parsing or its effect first shows: ${where}`);
  }
  const config = new Set(x.runDifferences.filter((d) => d.area === 'config').map((d) => d.item));
  if (config.has('memory') || config.has('bios') || config.has('guests') || [...config].some((i) => i.startsWith('guest'))) {
    out.push(`the machine configuration differs (memory, firmware or guests): ${where} follows from it`);
  }
  const e = x.expected, t = x.actual;
  const timing = ['vtime', 'instret'];
  if (e && t && x.differingFields.length > 0 && x.differingFields.every((f) => timing.includes(f))) {
    const d = t.instret - e.instret;
    out.push(`event #${e.seq} is the same event at the same pc on both sides, reached after ${Math.abs(d)} ${d > 0 ? 'more' : 'fewer'} instructions on B (${e.instret} -> ${t.instret}): the code run since the event before (#${x.before.expected.at(-1)?.seq ?? '-'}) took another path`);
  }
  if (areas.has('input')) out.push(`the UART input differs: the guest reads other bytes (or at other times) from ${where} on`);
  const st = x.runDifferences.find((d) => d.area === 'status');
  if (st && (!x.expected || !x.actual)) {
    const [short, long] = x.expected ? ['B', 'A'] : ['A', 'B'];
    const how = x.expected ? st.b : st.a;
    out.push(`${short} ended early (status: ${how ?? 'unknown'}): its events stop before ${where}, where ${long}'s go on; everything before matched`);
  }
  return out;
}

/** The report as text lines (sections 2-5; the caller prints section 1, the configuration). */
export function reportText(r: DivergenceReport, la: string, lb: string): string[] {
  const out: string[] = [];
  if (r.explanation.length) {
    out.push('why:');
    for (const l of r.explanation) out.push(`  ${l}`);
  }
  for (const c of r.imageChanges) {
    out.push(`  the ${c.role} images differ at offset ${hex(c.offset)} (${c.length} byte${c.length === 1 ? '' : 's'})${c.address ? `, ${c.address}${c.symbol ? ` <${c.symbol}>` : ''}` : ''}${c.a || c.b ? `: A ${c.a ?? '?'} | B ${c.b ?? '?'}` : ''}`);
  }
  out.push('first divergent event:');
  out.push(`  A ${eventLine(r.first.a, true)}`);
  for (const f of r.first.a?.fields ?? []) out.push(`      ${f}`);
  out.push(`  B ${eventLine(r.first.b, true)}`);
  for (const f of r.first.b?.fields ?? []) out.push(`      ${f}`);
  if (r.first.fields.length) out.push(`  written values differ in (A | B): ${r.first.fields.join(', ')}`);
  if (r.before.length) {
    out.push(`the ${r.before.length} event${r.before.length === 1 ? '' : 's'} before (= identical on both sides, else A above B):`);
    for (const p of r.before) {
      if (p.same) out.push(`  = ${eventLine(p.a)}`);
      else {
        out.push(`  A ${eventLine(p.a)}`);
        out.push(`  B ${eventLine(p.b)}`);
      }
    }
  }
  if (r.console) {
    const c = r.console;
    out.push('console up to the divergent event:');
    out.push(`  A ${la}:`);
    for (const l of c.a.length ? c.a : ['(no output yet)']) out.push(`    | ${l}`);
    out.push(`  B ${lb}:`);
    for (const l of c.b.length ? c.b : ['(no output yet)']) out.push(`    | ${l}`);
    if (c.firstDifference) {
      const d = c.firstDifference;
      out.push(`  the consoles first differ at line ${d.line}:`);
      out.push(`    A ${d.a === null ? '(end of output)' : JSON.stringify(d.a)}`);
      out.push(`    B ${d.b === null ? '(end of output)' : JSON.stringify(d.b)}`);
    } else out.push('  the two consoles are the same');
  }
  if (r.next.length) {
    out.push('next:');
    for (const l of r.next) out.push(`  ${l}`);
  }
  return out;
}
