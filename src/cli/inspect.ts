/**
 * Trace inspection commands: `hvtrace info`, `hvtrace events`, `hvtrace query`. All open the
 * trace read-only (TraceReader) and never modify it. Errors are one line on stderr, exit 2.
 */
import { TraceReader, TraceError, toJson, type TraceCounts } from '../trace/store.js';
import { EVENT_KINDS, PRIV_NAMES, type EventKind, type TraceEvent } from '../trace/model.js';
import { csrName } from '../isa/disasm.js';
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../hart/constants.js';
import { out } from './output.js';
import { TraceCode } from '../trace/code.js';
import { readSymbolFile, type SymbolFile } from '../machine/symbols.js';

const hex = (v: bigint | number): string => `0x${(typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16)}`;
const MiB = 1024 * 1024;

function withReader<T>(file: string, f: (r: TraceReader) => T): T {
  const r = TraceReader.open(file);
  try {
    return f(r);
  } finally {
    r.close();
  }
}

/**
 * The `--symbols FILE` options (repeatable; ELF or System.map, told apart by content). A file that
 * cannot be used is a TraceError (one line, exit 2).
 */
export function loadSymbolFiles(paths: readonly string[] | undefined): SymbolFile[] {
  const files: SymbolFile[] = [];
  for (const p of paths ?? []) {
    try {
      files.push(readSymbolFile(p));
    } catch (e) {
      throw new TraceError((e as Error).message);
    }
  }
  return files;
}

/** Notes about symbol sources, as warnings on stderr. */
export function warnSymbolNotes(notes: readonly string[]): void {
  for (const n of notes) process.stderr.write(`hvtrace: warning: ${n}\n`);
}

function fail(e: unknown): number {
  if (e instanceof TraceError) {
    process.stderr.write(`hvtrace: ${e.message}\n`);
    return e.exitCode;
  }
  throw e;
}


// ---------------------------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------------------------

/**
 * The counts of what the trace holds. Events per kind always come from the events table (a row
 * deleted or lost since the recording is not counted); the rest from meta 'counts' when the
 * recording was finished, else from the tables (instructions and virtual time then as of the last
 * event). `problems`: where the table and the counts the recorder wrote disagree, or seqs are
 * missing (TraceReader.damage).
 */
function effectiveCounts(r: TraceReader): { counts: TraceCounts; exact: boolean; problems: string[] } {
  const byKind = r.countsByKind();
  const events = Object.values(byKind).reduce((s, x) => s + x, 0);
  const problems = r.damage();
  const c = r.counts;
  if (c) return { counts: { ...c, events, byKind }, exact: problems.length === 0, problems };
  const harts = r.config.machine?.harts ?? 0;
  const instret: number[] = [];
  for (let h = 0; h < harts; h++) {
    const q = r.query('SELECT max(instret) FROM events WHERE hart = ?', [h]).rows[0]![0];
    instret.push(q === null ? 0 : Number(q));
  }
  const n = (sql: string): number => Number(r.query(sql).rows[0]![0] ?? 0);
  return {
    counts: {
      events,
      byKind,
      instret,
      steps: [],
      totalInstret: instret.reduce((s, x) => s + x, 0),
      vtime: n('SELECT max(vtime) FROM events'),
      consoleBytes: n('SELECT coalesce(sum(length(data)), 0) FROM console'),
      inputs: n('SELECT count(*) FROM inputs'),
      checkpoints: n('SELECT count(*) FROM checkpoints'),
      digests: n('SELECT count(*) FROM digests'),
      pages: n('SELECT count(*) FROM pages'),
    },
    exact: false,
    problems,
  };
}

/** The status line's detail: why a recording ended where it did. */
function statusDetail(r: TraceReader, counts: TraceCounts): string {
  const exit = r.exit;
  const pid = r.recorderPid;
  const upTo = `${counts.events.toLocaleString('en-US')} events, up to instruction ${counts.totalInstret.toLocaleString('en-US')}`;
  switch (r.status) {
    case 'truncated':
      return ` (its recorder${pid !== null ? ` (pid ${pid})` : ''} is gone: killed or crashed before it finished; the trace holds what it had written: ${upTo})`;
    case 'recording':
      return ` (in progress: recorder pid ${pid}; so far ${upTo})`;
    default:
      return exit ? ` (${exit.kind}, exit ${exit.exitCode}: ${exit.message})` : '';
  }
}

export function infoCommand(file: string, o: { json?: boolean }): number {
  try {
    return withReader(file, (r) => {
      const cfg = r.config;
      const { counts, exact, problems } = effectiveCounts(r);
      for (const p of problems) process.stderr.write(`hvtrace: warning: ${file}: ${p}\n`);
      const images = r.images();
      const loaded = r.loadedImages();
      const consoleBytes = r.consoleBytes();
      if (o.json) {
        out(`${toJson({
          file, status: r.status, schemaVersion: r.schemaVersion, hvtraceVersion: r.meta('hvtrace_version'),
          config: cfg, images, loadedImages: loaded, exit: r.exit, counts,
          exact, problems, recorderPid: r.recorderPid,
          consoleSha256: r.consoleSha256, console: Buffer.from(consoleBytes).toString('utf8'),
        })}\n`);
        return 0;
      }
      const lines: string[] = [];
      lines.push(`trace:        ${file}`);
      lines.push(`status:       ${r.status}${statusDetail(r, counts)}`);
      lines.push(`written by:   ${cfg.producer}, hvtrace ${cfg.hvtraceVersion}, schema ${r.schemaVersion}`);
      const m = cfg.machine;
      if (m) {
        const bios = typeof m.bios === 'object' ? m.bios.name : m.bios;
        const vms = m.guests?.length ?? 0;
        const hv = vms > 0 ? `, built-in hypervisor with ${vms} guest${vms > 1 ? 's' : ''}` : '';
        lines.push(`machine:      ${m.harts} hart${m.harts > 1 ? 's' : ''}, ${m.ramSize / MiB} MiB RAM, bios ${bios}${m.kernel ? `, kernel ${m.kernel.name}` : ''}${m.initrd ? `, initrd ${m.initrd.name}` : ''}${m.dtb ? `, dtb ${m.dtb.name}` : ''}${hv}`);
        if (m.append !== undefined) lines.push(`append:       ${m.append}`);
        for (const [k, g] of (m.guests ?? []).entries()) {
          const mem = g.memSize % MiB === 0 ? `${g.memSize / MiB} MiB` : `${g.memSize} bytes`;
          lines.push(`${`guest${k}:`.padEnd(14)}${g.image.name}, ${g.vcpus} vCPU${g.vcpus > 1 ? 's' : ''}, ${mem} RAM${g.initrd ? `, initrd ${g.initrd.name}` : ''}${g.append !== undefined ? `, append ${JSON.stringify(g.append)}` : ''}`);
        }
      }
      const every = (n: number | null): string => (n === null ? 'off' : `every ${n.toLocaleString('en-US')} instructions`);
      lines.push(`scheduler:    quantum ${cfg.quantum ?? '-'}, max-insns ${cfg.maxInsns ?? 'none'}`);
      lines.push(`digests:      ${every(cfg.digestEvery)} (${counts.digests} stored)`);
      lines.push(`checkpoints:  ${every(cfg.checkpointEvery)} (${counts.checkpoints} stored, ${counts.pages} distinct pages)`);
      lines.push(`input:        ${cfg.input.source}${cfg.input.name ? ` ${cfg.input.name}` : ''} (${counts.inputs} bytes delivered)`);
      lines.push('images:');
      for (const i of images) {
        const li = loaded.find((l) => l.role === i.role);
        lines.push(`  ${i.role.padEnd(9)} ${i.name}  ${i.size} bytes  sha256 ${i.sha256}${li ? `  at ${hex(li.base)}-${hex(li.base + li.size)}` : ''}`);
      }
      const dtb = loaded.find((l) => l.role === 'dtb' && !images.some((i) => i.role === 'dtb'));
      if (dtb) lines.push(`  dtb       ${dtb.name}  ${dtb.size} bytes  at ${hex(dtb.base)}`);
      lines.push(`instructions: ${counts.instret.map((n, i) => `hart${i}=${n}`).join(' ')}  total ${counts.totalInstret}${r.counts ? '' : ' (as of the last event: the recording was not finished)'}`);
      lines.push(`virtual time: ${(counts.vtime / 1e9).toFixed(6)} s (${counts.vtime} instructions)`);
      lines.push(`events:       ${counts.events}${problems.length ? `  (DAMAGED: ${problems.join('; ')})` : ''}`);
      for (const k of [...EVENT_KINDS, ...Object.keys(counts.byKind).filter((k) => !EVENT_KINDS.includes(k as EventKind))]) {
        const n = counts.byKind[k];
        if (n) lines.push(`  ${k.padEnd(12)} ${n}`);
      }
      lines.push(`console:      ${consoleBytes.length} bytes${r.consoleSha256 ? `, sha256 ${r.consoleSha256}` : ''}`);
      out(`${lines.join('\n')}\n`);
      if (consoleBytes.length) {
        const text = Buffer.from(consoleBytes).toString('utf8');
        out(`${text}${text.endsWith('\n') ? '' : '\n'}`);
      }
      return 0;
    });
  } catch (e) {
    return fail(e);
  }
}

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

const SBI_EXT: Record<number, string> = {
  0x10: 'BASE', 0x54494d45: 'TIME', 0x735049: 'IPI', 0x52464e43: 'RFENCE', 0x48534d: 'HSM', 0x53525354: 'SRST',
  0x4442434e: 'DBCN', 0: 'legacy set_timer', 1: 'legacy putchar', 2: 'legacy getchar', 3: 'legacy clear_ipi',
  4: 'legacy send_ipi', 5: 'legacy fence_i', 6: 'legacy sfence_vma', 7: 'legacy sfence_vma_asid', 8: 'legacy shutdown',
};
const IRQ_BITS: Record<number, string> = { 1: 'SSIP', 3: 'MSIP', 5: 'STIP', 7: 'MTIP', 9: 'SEIP', 11: 'MEIP' };
const STATES = ['start', 'stop', 'suspend', 'resume'];
const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/** `M`, `S`, `U`; with V = 1 `VS`, `VU` (H extension). */
export function privName(priv: number, virt: boolean): string {
  return `${virt ? 'V' : ''}${PRIV_NAMES[priv] ?? priv}`;
}

/**
 * The privileges of a trap / trap return. When V is involved (payload fromVirt / toVirt), S with
 * V = 0 is the hypervisor's: `HS`, and V = 1 gives `VS` / `VU`.
 */
function transition(p: Record<string, unknown>, to: number): string {
  const v = 'fromVirt' in p || 'toVirt' in p;
  const n = (x: unknown, virt: unknown): string => {
    if (typeof x !== 'number') return '?';
    if (virt === true) return privName(x, true);
    return v && x === 1 ? 'HS' : PRIV_NAMES[x] ?? String(x);
  };
  return `[${n(p.from, p.fromVirt)}->${n(to, p.toVirt)}]`;
}

/** VM exit reasons (src/hypervisor/exits.ts VM_EXIT), by code. */
const VM_EXIT_REASONS: Record<number, string> = {
  1: 'sbi_call', 2: 'timer_irq', 3: 'software_irq', 4: 'external_irq', 5: 'mmio_load', 6: 'mmio_store', 7: 'wfi',
  8: 'guest_page_fault', 9: 'virtual_instruction', 10: 'exception', 11: 'vm_stopped',
};

function vmExitText(a: bigint, b: bigint | null, c: bigint | null, p: Record<string, unknown>): string {
  const reason = typeof p.reason === 'string' ? p.reason : VM_EXIT_REASONS[Number(a)] ?? `reason ${a}`;
  const who = `vm ${typeof p.vm === 'number' ? p.vm : '?'}${b === null ? '' : ` vcpu ${b}`}`;
  const d = c ?? 0n;
  let detail = '';
  switch (reason) {
    case 'sbi_call': detail = ` ${SBI_EXT[Number(d)] ?? hex(d)}`; break;
    case 'mmio_load': case 'mmio_store': case 'guest_page_fault': detail = ` gpa=${hex(d)}`; break;
    case 'wfi': case 'virtual_instruction': detail = ` insn=${hex(d)}`; break;
    case 'exception': detail = ` cause ${d} (${EXCEPTION_NAMES[Number(d)] ?? 'unknown'})`; break;
    default: break;
  }
  return `${who}: ${reason}${detail}${typeof p.message === 'string' ? `: ${p.message}` : ''}`;
}

/** One-line description of what an event says (without the common columns). */
export function describeEvent(e: TraceEvent): string {
  const a = e.a ?? 0n, b = e.b ?? 0n, c = e.c ?? 0n;
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const pn = (v: unknown): string => (typeof v === 'number' ? PRIV_NAMES[v] ?? String(v) : '?');
  switch (e.kind) {
    case 'trap': {
      const intr = (a >> 63n) === 1n;
      const cause = Number(a & 0x7fffffffffffffffn);
      const name = (intr ? INTERRUPT_NAMES : EXCEPTION_NAMES)[cause] ?? 'unknown';
      return `${intr ? 'interrupt' : 'exception'} ${cause} (${name}) tval=${hex(b)} -> ${hex(c)} ${'fromVirt' in p ? transition(p, Number(p.to)) : `[${pn(p.from)}->${pn(p.to)}]`}`;
    }
    case 'trap_return':
      return `${a === 0n ? 'mret' : 'sret'} -> ${hex(b)} ${'fromVirt' in p ? transition(p, Number(c)) : `[${pn(p.from)}->${PRIV_NAMES[Number(c)] ?? c}]`}`;
    case 'csr_write':
      return `${csrName(Number(a))} ${hex(b)} -> ${hex(c)}${p.who && p.who !== 'insn' ? ` (${String(p.who)})` : ''}`;
    case 'sbi_call': {
      const args = Array.isArray(p.args) ? (p.args as bigint[]).map((x) => hex(x)).join(', ') : '';
      const ext = SBI_EXT[Number(a)] ?? hex(a);
      return `${ext} fid=${b} (${args}) -> error=${signed(c)} value=${typeof p.value === 'bigint' ? hex(p.value) : '-'}`;
    }
    case 'mmio':
      return `${(c & 0x100n) ? 'write' : 'read '} ${String(p.device ?? '?')} ${hex(a)} size ${c & 0xffn} value=${hex(b)}`;
    case 'irq':
      return `${IRQ_BITS[Number(a)] ?? `bit ${a}`} ${b === 1n ? 'raised' : 'lowered'}`;
    case 'hart_state':
      return STATES[Number(a)] ?? `state ${a}`;
    case 'input': {
      const ch = Number(a);
      return `byte ${hex(a)}${ch >= 0x20 && ch < 0x7f ? ` '${String.fromCharCode(ch)}'` : ''}`;
    }
    case 'halt':
      return `${String(p.kind ?? '?')} exit ${a}: ${String(p.message ?? '')}`;
    case 'vm_exit':
      return vmExitText(a, e.b, e.c, p);
    case 'vm_entry':
      return `vm ${b} vcpu ${a}`;
    default:
      return `a=${e.a === null ? '-' : hex(e.a)} b=${e.b === null ? '-' : hex(e.b)} c=${e.c === null ? '-' : hex(e.c)}${e.payload ? ` ${toJson(e.payload)}` : ''}`;
  }
}

export interface EventsCliOptions {
  kind?: string[];
  hart?: string;
  from?: string;
  to?: string;
  limit?: string;
  json?: boolean;
  /** --symbols files (ELF or System.map). */
  symbols?: string[];
}

function intOpt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new TraceError(`${flag} ${v}: expected a non-negative integer`);
  return n;
}

export function eventsCommand(file: string, o: EventsCliOptions): number {
  try {
    const kinds = (o.kind ?? []).flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
    for (const k of kinds) {
      if (!EVENT_KINDS.includes(k as EventKind)) throw new TraceError(`--kind ${k}: unknown event kind (one of ${EVENT_KINDS.join(', ')})`);
    }
    const hart = intOpt('--hart', o.hart);
    const from = intOpt('--from', o.from);
    const to = intOpt('--to', o.to);
    const limit = intOpt('--limit', o.limit);
    const symbols = loadSymbolFiles(o.symbols);
    return withReader(file, (r) => {
      const code = new TraceCode(r, { symbols });
      warnSymbolNotes(code.notes);
      const filter = {
        kinds: kinds as EventKind[],
        hart,
        from,
        to: to === undefined ? undefined : to + 1, // --to is inclusive
        limit,
      };
      for (const batch of r.eventBatches(filter, 2048)) {
        const lines: string[] = [];
        for (const e of batch) {
          const { symbol: sym, insn: dis } = code.forEvent(e);
          if (o.json) {
            lines.push(toJson({
              seq: e.seq, vtime: e.vtime, hart: e.hart, instret: e.instret, pc: hex(e.pc), priv: e.priv, virt: e.virt,
              kind: e.kind, a: e.a === null ? null : hex(e.a), b: e.b === null ? null : hex(e.b), c: e.c === null ? null : hex(e.c),
              payload: e.payload, text: describeEvent(e), ...(sym ? { symbol: sym } : {}), ...(dis ? { insn: dis } : {}),
            }));
          } else {
            const where = `${hex(e.pc)}${sym ? ` <${sym}>` : ''}`;
            lines.push(`${String(e.seq).padStart(7)}  h${e.hart} ${privName(e.priv, e.virt).padEnd(2)} vt=${e.vtime} i=${e.instret}  ${where}  ${e.kind.padEnd(11)} ${describeEvent(e)}${dis ? `  | ${dis}` : ''}`);
          }
        }
        out(`${lines.join('\n')}\n`);
      }
      return 0;
    });
  } catch (e) {
    return fail(e);
  }
}

// ---------------------------------------------------------------------------------------------
// query
// ---------------------------------------------------------------------------------------------

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) {
    const h = Buffer.from(v).toString('hex');
    return `x'${h.length > 64 ? `${h.slice(0, 64)}…` : h}'`;
  }
  return String(v);
}
function cellJson(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

export function queryCommand(file: string, sql: string, o: { json?: boolean }): number {
  try {
    return withReader(file, (r) => {
      const res = r.query(sql);
      if (o.json) {
        const objs = res.rows.map((row) => Object.fromEntries(res.columns.map((c, i) => [c, cellJson(row[i])])));
        out(`${JSON.stringify(objs, null, 0)}\n`);
        return 0;
      }
      const cells = res.rows.map((row) => row.map(cellText));
      const w = res.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i]!.length))));
      const fmt = (row: string[]): string => row.map((s, i) => (i === row.length - 1 ? s : s.padEnd(w[i]!))).join('  ').trimEnd();
      const lines = [fmt(res.columns), fmt(w.map((n) => '-'.repeat(n))), ...cells.map(fmt)];
      lines.push(`(${res.rows.length} row${res.rows.length === 1 ? '' : 's'})`);
      out(`${lines.join('\n')}\n`);
      return 0;
    });
  } catch (e) {
    return fail(e);
  }
}
