/**
 * `hvtrace stat`: the numbers of a recording (issue 14), computed from an Analysis
 * (src/view/analysis.ts): VM exits by reason with durations (as `perf kvm stat` prints them),
 * traps by cause and privilege transition, SBI calls by name, MMIO by device and direction,
 * interrupts, interrupts by source (claims and MSIs: src/view/irq-sources.ts, issue 16), the CSRs
 * written most often, and per-hart totals (instructions, share of virtual time per privilege
 * level, WFI).
 *
 * Filters: --hart H keeps the events of hart H; --vm / --vcpu keep the events attributed to
 * that vCPU: those on its hart from a vm_entry of it up to the next vm_entry on that hart (the
 * guest's own events and the hypervisor's handling of its exits); --until SEQ keeps the events
 * up to that one (the per-hart totals stay the whole recording's).
 */
import type { TraceReader } from '../trace/store.js';
import type { TraceEvent } from '../trace/model.js';
import { csrName } from '../isa/disasm.js';
import { irqSources, TOPEI_CSRS, HSTATUS, type IrqSources, type TopeiWrite } from './irq-sources.js';
import {
  LEVEL, levelName, privText, sbiCallName, sbiExtName, trapCauseName, irqName, VM_EXIT_REASONS, type Analysis,
} from './analysis.js';

export interface StatFilter {
  hart?: number;
  vm?: number;
  vcpu?: number;
  /** Only events up to this seq (inclusive): the counts at a point of the run. */
  until?: number;
}

export interface Range { min: number; avg: number; max: number }

export interface ExitRow {
  reason: string;
  code: number;
  count: number;
  percent: number;
  /** Exits without a matching entry (the VM stopped, or the recording ended first). */
  unmatched: number;
  /** Duration in instructions the exit's hart retired until the entry (exits re-entered on the same hart). */
  insns: Range | null;
  /** Duration in virtual µs (1 instruction = 1 ns). */
  us: Range | null;
}

export interface Stat {
  file: string;
  status: string;
  notes: string[];
  filter: StatFilter;
  /** Virtual time of the whole trace, µs. */
  virtualUs: number;
  events: number;
  vmExits: { total: number; byReason: ExitRow[]; byVcpu: { vm: number; vcpu: number | null; total: number; byReason: ExitRow[] }[] };
  traps: {
    total: number;
    byCause: { cause: number; interrupt: boolean; name: string; count: number; percent: number }[];
    byTransition: { transition: string; count: number; percent: number }[];
  };
  sbi: { total: number; byCall: { call: string; extension: string; count: number; percent: number; errors: number; firmware: number; hypervisor: number }[] };
  mmio: { total: number; byDevice: { device: string; reads: number; writes: number; total: number }[] };
  interrupts: { lines: { line: string; bit: number; raised: number; lowered: number }[]; taken: { cause: number; name: string; count: number }[] };
  /** Interrupts by source: PLIC / APLIC claims, MSIs per APLIC source and per IMSIC file and EIID (src/view/irq-sources.ts). */
  interruptSources: IrqSources;
  csrWrites: { total: number; top: { csr: number; name: string; count: number; insn: number; firmware: number; hypervisor: number }[] };
  /** share: percent of the hart's virtual time per level (unrounded), levels with time only. */
  harts: { hart: number; instructions: number; virtualUs: number; share: Record<string, number>; wfiUs: number; offUs: number }[];
}

const pct = (n: number, total: number): number => (total ? Math.round((n / total) * 10000) / 100 : 0);

function range(xs: number[]): Range | null {
  if (!xs.length) return null;
  let min = Infinity, max = -Infinity, sum = 0;
  for (const x of xs) { if (x < min) min = x; if (x > max) max = x; sum += x; }
  return { min, avg: sum / xs.length, max };
}

function sortedEntries<T>(m: Map<string, T>): [string, T][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** vCPU attribution of events: for each hart, the vm_entry events in seq order. */
function attribution(a: Analysis): (hart: number, seq: number) => { vm: number; vcpu: number } | null {
  const per: { seq: number[]; vm: number[]; vcpu: number[] }[] = [];
  for (const e of a.events) {
    if (e.kind !== 'vm_entry') continue;
    const p = (per[e.hart] ??= { seq: [], vm: [], vcpu: [] });
    p.seq.push(e.seq); p.vm.push(Number(e.b ?? 0n)); p.vcpu.push(Number(e.a ?? 0n));
  }
  return (hart, seq) => {
    const p = per[hart];
    if (!p) return null;
    let lo = 0, hi = p.seq.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (p.seq[m]! <= seq) lo = m + 1; else hi = m; }
    return lo === 0 ? null : { vm: p.vm[lo - 1]!, vcpu: p.vcpu[lo - 1]! };
  };
}

function exitRows(exits: Analysis['exits']): ExitRow[] {
  const by = new Map<string, { code: number; xs: typeof exits }>();
  for (const x of exits) {
    let g = by.get(x.reason);
    if (!g) by.set(x.reason, (g = { code: x.reasonCode, xs: [] }));
    g.xs.push(x);
  }
  const total = exits.length;
  return [...by.entries()].map(([reason, g]) => {
    const matched = g.xs.filter((x) => x.durVtime !== null);
    return {
      reason, code: g.code, count: g.xs.length, percent: pct(g.xs.length, total), unmatched: g.xs.length - matched.length,
      insns: range(matched.filter((x) => x.durInsns !== null).map((x) => x.durInsns!)),
      us: range(matched.map((x) => x.durVtime! / 1000)),
    };
  }).sort((x, y) => y.count - x.count || x.code - y.code || (x.reason < y.reason ? -1 : 1));
}

/** The csr_write events of the *topei CSRs (IMSIC claims) and hstatus (VGEIN), in seq order. */
function topeiWrites(r: TraceReader): TopeiWrite[] {
  const csrs = [...Object.values(TOPEI_CSRS), HSTATUS];
  const u = (v: unknown): bigint => BigInt.asUintN(64, BigInt(v as bigint | number));
  return r.query(`SELECT CAST(seq AS REAL), CAST(hart AS REAL), CAST(a AS REAL), CAST(virt AS REAL), b, c FROM events WHERE kind = 'csr_write' AND a IN (${csrs.join(', ')}) ORDER BY seq`).rows
    .map((x) => ({ seq: x[0] as number, hart: x[1] as number, csr: x[2] as number, virt: x[3] === 1, old: u(x[4]), value: u(x[5]) }));
}

export function computeStat(r: TraceReader, a: Analysis, filter: StatFilter = {}): Stat {
  const attr = filter.vm !== undefined || filter.vcpu !== undefined ? attribution(a) : null;
  const keep = (e: Pick<TraceEvent, 'hart' | 'seq'>): boolean => {
    if (filter.until !== undefined && e.seq > filter.until) return false;
    if (filter.hart !== undefined && e.hart !== filter.hart) return false;
    if (attr) {
      const at = attr(e.hart, e.seq);
      if (!at) return false;
      if (filter.vm !== undefined && at.vm !== filter.vm) return false;
      if (filter.vcpu !== undefined && at.vcpu !== filter.vcpu) return false;
    }
    return true;
  };

  // VM exits.
  const exits = a.exits.filter((x) => (filter.until === undefined || x.seq <= filter.until)
    && (filter.hart === undefined || x.hart === filter.hart)
    && (filter.vm === undefined || x.vm === filter.vm)
    && (filter.vcpu === undefined || x.vcpu === filter.vcpu));
  const byVcpuMap = new Map<string, typeof exits>();
  for (const x of exits) {
    const k = `${String(x.vm).padStart(3, '0')}:${x.vcpu === null ? 'zzz' : String(x.vcpu).padStart(3, '0')}`;
    let l = byVcpuMap.get(k);
    if (!l) byVcpuMap.set(k, (l = []));
    l.push(x);
  }
  const byVcpu = sortedEntries(byVcpuMap).map(([, xs]) => ({ vm: xs[0]!.vm, vcpu: xs[0]!.vcpu, total: xs.length, byReason: exitRows(xs) }));

  // Traps, SBI, MMIO, interrupts.
  const causes = new Map<string, { cause: number; interrupt: boolean; name: string; count: number }>();
  const transitions = new Map<string, number>();
  const calls = new Map<string, { call: string; extension: string; count: number; errors: number; firmware: number; hypervisor: number }>();
  const devices = new Map<string, { device: string; reads: number; writes: number; total: number }>();
  const lines = new Map<string, { line: string; bit: number; raised: number; lowered: number }>();
  const taken = new Map<string, { cause: number; name: string; count: number }>();
  let nTraps = 0, nSbi = 0, nMmio = 0, nEvents = 0;
  for (const e of a.events) {
    if (!keep(e)) continue;
    nEvents++;
    const p = (e.payload ?? {}) as Record<string, unknown>;
    switch (e.kind) {
      case 'trap': {
        nTraps++;
        const c = trapCauseName(e.a ?? 0n);
        const k = `${c.interrupt ? 1 : 0}:${String(c.cause).padStart(4, '0')}`;
        const x = causes.get(k) ?? { cause: c.cause, interrupt: c.interrupt, name: c.name, count: 0 };
        x.count++;
        causes.set(k, x);
        const from = typeof p.from === 'number' ? privText(p.from, p.fromVirt === true || (p.fromVirt === undefined && e.virt), a.hyp) : privText(e.priv, e.virt, a.hyp);
        const to = typeof p.to === 'number' ? privText(p.to, p.toVirt === true, a.hyp) : '?';
        const t = `${from}->${to}`;
        transitions.set(t, (transitions.get(t) ?? 0) + 1);
        if (c.interrupt) {
          const tk = String(c.cause).padStart(4, '0');
          const y = taken.get(tk) ?? { cause: c.cause, name: c.name, count: 0 };
          y.count++;
          taken.set(tk, y);
        }
        break;
      }
      case 'sbi_call': {
        nSbi++;
        const call = sbiCallName(e.a ?? 0n, e.b);
        const x = calls.get(call) ?? { call, extension: sbiExtName(e.a ?? 0n), count: 0, errors: 0, firmware: 0, hypervisor: 0 };
        x.count++;
        if ((e.c ?? 0n) !== 0n) x.errors++;
        if (p.handler === 'hypervisor') x.hypervisor++; else x.firmware++;
        calls.set(call, x);
        break;
      }
      case 'mmio': {
        nMmio++;
        const d = String(p.device ?? '?');
        const x = devices.get(d) ?? { device: d, reads: 0, writes: 0, total: 0 };
        if ((e.c ?? 0n) & 0x100n) x.writes++; else x.reads++;
        x.total++;
        devices.set(d, x);
        break;
      }
      case 'irq': {
        const bit = Number(e.a ?? 0n);
        const k = String(bit).padStart(3, '0');
        const x = lines.get(k) ?? { line: irqName(bit), bit, raised: 0, lowered: 0 };
        if (e.b === 1n) x.raised++; else x.lowered++;
        lines.set(k, x);
        break;
      }
      default:
        break;
    }
  }

  // CSR writes: the trace-wide counts, or per hart / vCPU from the rows.
  let csrList = a.csrWrites;
  if (filter.hart !== undefined || attr || filter.until !== undefined) {
    const m = new Map<number, { csr: number; name: string; count: number; byWho: Record<string, number> }>();
    const where = (filter.hart !== undefined ? ' AND hart = ?' : '') + (filter.until !== undefined ? ' AND seq <= ?' : '');
    const params = [...(filter.hart !== undefined ? [filter.hart] : []), ...(filter.until !== undefined ? [filter.until] : [])];
    const rows = r.query("SELECT CAST(seq AS REAL), CAST(hart AS REAL), CAST(a AS REAL), coalesce(json_extract(payload_json(payload), '$.who'), 'insn') FROM events WHERE kind = 'csr_write'" +
      where, params).rows;
    for (const row of rows) {
      if (!keep({ seq: row[0] as number, hart: row[1] as number })) continue;
      const csr = row[2] as number;
      const who = String(row[3]);
      let c = m.get(csr);
      if (!c) m.set(csr, (c = { csr, name: csrName(csr), count: 0, byWho: {} }));
      c.count++;
      c.byWho[who] = (c.byWho[who] ?? 0) + 1;
    }
    csrList = [...m.values()].sort((x, y) => y.count - x.count || x.csr - y.csr);
  }
  const csrTotal = csrList.reduce((s, c) => s + c.count, 0);

  const harts = a.totals.filter((t) => filter.hart === undefined || t.hart === filter.hart).map((t) => {
    const share: Record<string, number> = {};
    const levels = Object.keys(t.time).map(Number).sort((x, y) => x - y);
    for (const lv of levels) {
      if (lv === LEVEL.OFF) continue;
      if (t.time[lv]! > 0) share[levelName(lv, a.hyp)] = t.span ? (t.time[lv]! / t.span) * 100 : 0;
    }
    if (t.time[LEVEL.OFF]) share.off = t.span ? (t.time[LEVEL.OFF] / t.span) * 100 : 0;
    return { hart: t.hart, instructions: t.instret, virtualUs: t.span / 1000, share, wfiUs: (t.time[LEVEL.WFI] ?? 0) / 1000, offUs: (t.time[LEVEL.OFF] ?? 0) / 1000 };
  });

  const total = Object.values(a.kindCounts).reduce((s, x) => s + x, 0);
  return {
    file: a.file, status: a.status, notes: a.notes, filter, virtualUs: a.end / 1000, events: filter.hart === undefined && !attr && filter.until === undefined ? total : nEvents + csrTotal,
    vmExits: { total: exits.length, byReason: exitRows(exits), byVcpu },
    traps: {
      total: nTraps,
      byCause: sortedEntries(causes).map(([, x]) => ({ ...x, percent: pct(x.count, nTraps) })).sort((x, y) => y.count - x.count || Number(x.interrupt) - Number(y.interrupt) || x.cause - y.cause),
      byTransition: sortedEntries(transitions).map(([t, n]) => ({ transition: t, count: n, percent: pct(n, nTraps) })).sort((x, y) => y.count - x.count || (x.transition < y.transition ? -1 : 1)),
    },
    sbi: { total: nSbi, byCall: sortedEntries(calls).map(([, x]) => ({ ...x, percent: pct(x.count, nSbi) })).sort((x, y) => y.count - x.count || (x.call < y.call ? -1 : 1)) },
    mmio: { total: nMmio, byDevice: sortedEntries(devices).map(([, x]) => x).sort((x, y) => y.total - x.total || (x.device < y.device ? -1 : 1)) },
    interrupts: { lines: sortedEntries(lines).map(([, x]) => x), taken: sortedEntries(taken).map(([, x]) => x) },
    interruptSources: irqSources(a.events, topeiWrites(r), keep),
    csrWrites: {
      total: csrTotal,
      top: csrList.slice(0, 15).map((c) => ({ csr: c.csr, name: c.name, count: c.count, insn: c.byWho.insn ?? 0, firmware: c.byWho.firmware ?? 0, hypervisor: c.byWho.hypervisor ?? 0 })),
    },
    harts,
  };
}

// ---- text ------------------------------------------------------------------------------------

type Cell = string | number;
interface Col { title: string; right?: boolean }

/** An aligned table: numbers right-aligned, two spaces between columns, indented by 2. */
export function table(cols: Col[], rows: Cell[][]): string[] {
  const text = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmtNum(c) : c)));
  const w = cols.map((c, i) => Math.max(c.title.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((s, i) => (cols[i]!.right ? s.padStart(w[i]!) : s.padEnd(w[i]!))).join('  ')}`.trimEnd();
  return [line(cols.map((c) => c.title)), line(w.map((n) => '-'.repeat(n))), ...text.map(line)];
}

function fmtNum(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}
const f1 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const f2 = (n: number): string => n.toFixed(2);
const pctText = (n: number): string => `${n.toFixed(1)}%`;
const us = (n: number): string => (n >= 1000 ? n.toLocaleString('en-US', { maximumFractionDigits: 0 }) : n < 10 ? f2(n) : f1(n));

function exitTable(rows: ExitRow[]): string[] {
  return table(
    [{ title: 'reason' }, { title: 'count', right: true }, { title: '%', right: true },
      { title: 'insns min', right: true }, { title: 'avg', right: true }, { title: 'max', right: true },
      { title: 'µs min', right: true }, { title: 'avg', right: true }, { title: 'max', right: true }],
    rows.map((x) => [
      x.unmatched ? `${x.reason}${x.unmatched === x.count ? ' *' : ' +'}` : x.reason, x.count, pctText(x.percent),
      x.insns ? Math.round(x.insns.min) : '-', x.insns ? f1(x.insns.avg) : '-', x.insns ? Math.round(x.insns.max) : '-',
      x.us ? us(x.us.min) : '-', x.us ? us(x.us.avg) : '-', x.us ? us(x.us.max) : '-',
    ]),
  );
}

export function statText(s: Stat, o: { perVcpu?: boolean; file: string }): string {
  const L: string[] = [];
  const filt = [s.filter.until !== undefined ? `up to seq ${s.filter.until}` : '', s.filter.hart !== undefined ? `hart ${s.filter.hart}` : '', s.filter.vm !== undefined ? `vm ${s.filter.vm}` : '', s.filter.vcpu !== undefined ? `vcpu ${s.filter.vcpu}` : ''].filter(Boolean).join(', ');
  L.push(`${o.file}: ${s.status}, ${s.events.toLocaleString('en-US')} events${filt ? ` (${filt})` : ''}, ${us(s.virtualUs)} µs of virtual time`);
  for (const n of s.notes) L.push(`note: ${n}`);

  L.push('', `VM exits: ${s.vmExits.total.toLocaleString('en-US')}`);
  if (s.vmExits.total) {
    L.push(...exitTable(s.vmExits.byReason));
    if (s.vmExits.byReason.some((x) => x.unmatched)) {
      L.push('  * no vm_entry follows (the VM stopped, or the recording ended); + some have none.');
      L.push('  Durations: from the exit to the vCPU\'s next vm_entry; insns: retired by the hart meanwhile.');
    }
    if (o.perVcpu) {
      for (const v of s.vmExits.byVcpu) {
        L.push('', `VM exits of vm ${v.vm} ${v.vcpu === null ? '(the VM itself)' : `vcpu ${v.vcpu}`}: ${v.total.toLocaleString('en-US')}`);
        L.push(...exitTable(v.byReason));
      }
    }
  } else {
    L.push('  (none: the trace has no guests of the built-in hypervisor, or the filter leaves none)');
  }

  L.push('', `Traps: ${s.traps.total.toLocaleString('en-US')}`);
  if (s.traps.total) {
    const causes = table([{ title: 'cause' }, { title: 'count', right: true }, { title: '%', right: true }],
      s.traps.byCause.map((c) => [`${c.interrupt ? 'interrupt' : 'exception'} ${c.cause} ${c.name}`, c.count, pctText(c.percent)]));
    const trans = table([{ title: 'transition' }, { title: 'count', right: true }, { title: '%', right: true }],
      s.traps.byTransition.map((t) => [t.transition, t.count, pctText(t.percent)]));
    L.push(...sideBySide(causes, trans));
  }

  L.push('', `SBI calls: ${s.sbi.total.toLocaleString('en-US')}`);
  if (s.sbi.total) {
    L.push(...table([{ title: 'call' }, { title: 'count', right: true }, { title: '%', right: true }, { title: 'errors', right: true },
      { title: 'firmware', right: true }, { title: 'hypervisor', right: true }],
    s.sbi.byCall.map((c) => [c.call, c.count, pctText(c.percent), c.errors, c.firmware, c.hypervisor])));
  }

  L.push('', `MMIO accesses: ${s.mmio.total.toLocaleString('en-US')}`);
  if (s.mmio.total) {
    L.push(...table([{ title: 'device' }, { title: 'reads', right: true }, { title: 'writes', right: true }, { title: 'total', right: true }],
      s.mmio.byDevice.map((d) => [d.device, d.reads, d.writes, d.total])));
  }

  const irqTotal = s.interrupts.lines.reduce((n, l) => n + l.raised + l.lowered, 0);
  const takenTotal = s.interrupts.taken.reduce((n, t) => n + t.count, 0);
  L.push('', `Interrupts: ${irqTotal.toLocaleString('en-US')} line changes, ${takenTotal.toLocaleString('en-US')} taken`);
  if (irqTotal || takenTotal) {
    const a = table([{ title: 'line' }, { title: 'raised', right: true }, { title: 'lowered', right: true }], s.interrupts.lines.map((l) => [l.line, l.raised, l.lowered]));
    const b = table([{ title: 'taken' }, { title: 'count', right: true }], s.interrupts.taken.map((t) => [`${t.cause} ${t.name}`, t.count]));
    L.push(...sideBySide(a, b));
  }

  const src = s.interruptSources;
  const claims = src.sources.reduce((n, x) => n + x.claims, 0);
  L.push('', `Interrupts by source: ${claims.toLocaleString('en-US')} claims (PLIC, APLIC claimi, IMSIC *topei)`);
  if (src.sources.length) {
    L.push(...table([{ title: 'controller' }, { title: 'source', right: true }, { title: 'to' }, { title: 'eiid', right: true }, { title: 'claims', right: true }, { title: 'MSIs', right: true }],
      src.sources.map((x) => [x.controller, x.source, `${x.controller === 'vplic' ? 'vcpu' : 'hart'} ${x.hart} ${x.to}`, x.eiid ?? '-', x.claims, x.msis ?? '-'])));
  }
  if (src.msis.length) {
    const msiTotal = src.msis.reduce((n, x) => n + x.count, 0);
    L.push('', `IMSIC identities: ${msiTotal.toLocaleString('en-US')} MSIs, ${src.msis.reduce((n, x) => n + x.claims, 0).toLocaleString('en-US')} claims (an MSI to a pending identity is absorbed)`);
    L.push(...table([{ title: 'hart' }, { title: 'file' }, { title: 'eiid', right: true }, { title: 'MSIs', right: true }, { title: 'claims', right: true }, { title: 'MSIs from' }],
      src.msis.map((x) => [String(x.hart), x.fileName, x.eiid, x.count, x.claims, [
        ...x.sources.map((k) => `${k.replace(':', ' source ')}`),
        ...(x.unattributed ? [`APLIC, source not known: ${x.unattributed.toLocaleString('en-US')}`] : []),
        ...(x.cpu ? [`CPU store: ${x.cpu.toLocaleString('en-US')}`] : []),
        ...(x.genmsi ? [`genmsi: ${x.genmsi.toLocaleString('en-US')}`] : []),
      ].join(', ') || '-'])));
  }

  L.push('', `CSR writes: ${s.csrWrites.total.toLocaleString('en-US')}${s.csrWrites.top.length ? ` (the ${s.csrWrites.top.length} most written)` : ''}`);
  if (s.csrWrites.total) {
    L.push(...table([{ title: 'csr' }, { title: 'count', right: true }, { title: 'insn', right: true }, { title: 'firmware', right: true }, { title: 'hypervisor', right: true }],
      s.csrWrites.top.map((c) => [c.name, c.count, c.insn, c.firmware, c.hypervisor])));
  }

  L.push('', `Harts: instructions and share of virtual time per privilege level${s.filter.until !== undefined ? ' (the whole recording)' : ''}`);
  const levels = ['M', 'HS', 'S', 'VS', 'VU', 'U', 'WFI', 'off', 'unknown'].filter((k) => s.harts.some((h) => h.share[k] !== undefined));
  L.push(...table([{ title: 'hart' }, { title: 'instructions', right: true }, ...levels.map((l) => ({ title: l, right: true })), { title: 'WFI µs', right: true }],
    s.harts.map((h) => [String(h.hart), h.instructions, ...levels.map((l) => (h.share[l] === undefined ? '-' : h.share[l]! < 0.05 ? '<0.1%' : pctText(h.share[l]!))), us(h.wfiUs)])));
  return `${L.join('\n')}\n`;
}

/** Two tables next to each other when they fit in 100 columns, else one after the other. */
function sideBySide(a: string[], b: string[]): string[] {
  const wa = Math.max(...a.map((l) => l.length));
  const wb = Math.max(...b.map((l) => l.length));
  if (wa + 2 + wb > 100) return [...a, '', ...b];
  const n = Math.max(a.length, b.length);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${(a[i] ?? '').padEnd(wa)}  ${b[i] ?? ''}`.trimEnd());
  return out;
}

export { VM_EXIT_REASONS };
