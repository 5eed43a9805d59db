/**
 * Trace inspection commands: `hvtrace info`, `hvtrace events`, `hvtrace query`. All open the
 * trace read-only (TraceReader) and never modify it. Errors are one line on stderr, exit 2.
 */
import { TraceReader, TraceError, toJson, type TraceCounts } from '../trace/store.js';
import { EVENT_KINDS, type EventKind } from '../trace/model.js';
import { csrName } from '../isa/disasm.js';
import { out } from './output.js';
import { TraceCode } from '../trace/code.js';
import { readSymbolFile, type SymbolFile } from '../image/symbols.js';
import { SBI_EXT } from '../trace/names.js';
import { describeEvent, privName } from '../trace/describe.js';
import { EVENT_KIND_TABLE, namedFields, viewColumns } from '../trace/event-kinds.js';
import { formatRtcBase } from './rtc.js';

export { describeEvent, privName };

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

/** Console lines `info` shows without --console. */
const CONSOLE_TAIL = 20;

/** The meta 'reference' of a trace imported from another emulator's log (`import qemu`), or null. */
function importedReference(r: TraceReader): { source?: string; log?: string; sha256?: string; fields?: string[]; kinds?: string[]; dropped?: number; addressMap?: string } | null {
  const v = r.meta('reference');
  if (v === null) return null;
  try {
    const x = JSON.parse(v) as unknown;
    return x && typeof x === 'object' ? x as ReturnType<typeof importedReference> : null;
  } catch {
    return null;
  }
}

/** `info` of a trace imported from QEMU's log: only the fields such a trace has. */
function importedInfo(r: TraceReader, file: string, ref: NonNullable<ReturnType<typeof importedReference>>, counts: TraceCounts, problems: string[]): string {
  const lines: string[] = [];
  const harts = r.query('SELECT DISTINCT hart FROM events ORDER BY hart').rows.map((x) => Number(x[0]));
  lines.push(`trace:        ${file}`);
  lines.push(`status:       ${r.status}, imported from QEMU (${r.config.producer}, hvtrace ${r.config.hvtraceVersion}, schema ${r.schemaVersion})`);
  lines.push(`reference:    ${ref.source ?? 'QEMU log'}${ref.log ? ` ${ref.log}` : ''}${ref.sha256 ? `  sha256 ${ref.sha256}` : ''}`);
  if (ref.kinds) lines.push(`kinds:        ${ref.kinds.join(', ')} (only these can be compared: diff --kinds exceptions, or --kinds ${ref.kinds.join(',')})`);
  if (ref.fields) lines.push(`fields:       ${ref.fields.join(', ')} (the others are not in QEMU's log: diff ignores them)`);
  if (ref.dropped) lines.push(`dropped:      ${ref.dropped} traps where QEMU 7.2 deviates from the spec (--drop-known-deviations)`);
  if (ref.addressMap) lines.push(`addresses:    mapped ${ref.addressMap}`);
  lines.push(`harts:        ${harts.length ? harts.join(', ') : 'none'} (as seen in the log)`);
  lines.push(`events:       ${counts.events}${problems.length ? `  (DAMAGED: ${problems.join('; ')})` : ''}`);
  for (const [k, n] of Object.entries(counts.byKind)) if (n) lines.push(`  ${k.padEnd(12)} ${n}`);
  return `${lines.join('\n')}\n`;
}

export function infoCommand(file: string, o: { json?: boolean; console?: boolean }): number {
  try {
    return withReader(file, (r) => {
      const cfg = r.config;
      const { counts, exact, problems } = effectiveCounts(r);
      for (const p of problems) process.stderr.write(`hvtrace: warning: ${file}: ${p}\n`);
      const ref = importedReference(r);
      if (ref && !o.json) {
        out(importedInfo(r, file, ref, counts, problems));
        return 0;
      }
      const images = r.images();
      const loaded = r.loadedImages();
      const consoleBytes = r.consoleBytes();
      if (o.json) {
        out(`${toJson({
          file, status: r.status, schemaVersion: r.schemaVersion, hvtraceVersion: r.meta('hvtrace_version'),
          ...(ref ? { importedFrom: 'qemu', reference: ref } : {}),
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
        if (m.rtc) lines.push(`rtc:          goldfish RTC from ${formatRtcBase(m.rtc.base)} UTC at virtual time 0 (replays read the same dates)`);
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
      // virtio-blk drives: the image recorded, the blocks of it the guest read (what a replay
      // reads), the blocks it wrote (the overlay; the image file itself was not written)
      for (const [k, d] of (m?.drives ?? []).entries()) {
        const n = (layer: number): number => Number(r.query('SELECT count(*) FROM disk_blocks WHERE drive = ? AND layer = ?', [k, layer]).rows[0]![0]);
        lines.push(`  ${`vd${String.fromCharCode(97 + k)}`.padEnd(9)} ${d.name}  ${d.size} bytes  sha256 ${d.sha256}${d.readonly ? '  read-only' : ''}  (${n(0)} blocks of 4 KiB read, ${n(1)} written: overlay in the trace)`);
      }
      if (m?.rngSeed !== undefined) lines.push(`  rng       virtio-rng, PRNG seed ${m.rngSeed}`);
      if (m?.virtconsole) lines.push(`  console   virtconsole (hvc0)${m.virtconsole.input ? ', console input to it' : ''}`);
      lines.push(`instructions: ${counts.instret.map((n, i) => `hart${i}=${n}`).join(' ')}  total ${counts.totalInstret}${r.counts ? '' : ' (as of the last event: the recording was not finished)'}`);
      lines.push(`virtual time: ${(counts.vtime / 1e9).toFixed(6)} s (${counts.vtime} instructions)`);
      lines.push(`events:       ${counts.events}${problems.length ? `  (DAMAGED: ${problems.join('; ')})` : ''}`);
      for (const k of [...EVENT_KINDS, ...Object.keys(counts.byKind).filter((k) => !EVENT_KINDS.includes(k as EventKind))]) {
        const n = counts.byKind[k];
        if (n) lines.push(`  ${k.padEnd(12)} ${n}`);
      }
      let text = Buffer.from(consoleBytes).toString('utf8');
      let shown = '';
      if (!o.console) {
        const all = text.split('\n');
        if (all[all.length - 1] === '') all.pop();
        if (all.length > CONSOLE_TAIL) {
          shown = `; its last ${CONSOLE_TAIL} of ${all.length} lines (--console for all of it)`;
          text = `${all.slice(-CONSOLE_TAIL).join('\n')}\n`;
        }
      }
      lines.push(`console:      ${consoleBytes.length} bytes${r.consoleSha256 ? `, sha256 ${r.consoleSha256}` : ''}${shown}${consoleBytes.length ? ':' : ''}`);
      out(`${lines.join('\n')}\n`);
      if (consoleBytes.length) out(`${text}${text.endsWith('\n') ? '' : '\n'}`);
      return 0;
    });
  } catch (e) {
    return fail(e);
  }
}

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

export interface EventsCliOptions {
  kind?: string[];
  hart?: string;
  from?: string;
  /** Alias of --until. */
  to?: string;
  until?: string;
  limit?: string;
  json?: boolean;
  /** --symbols files (ELF or System.map). */
  symbols?: string[];
  /** ADDR, SYMBOL (its extent), SYMBOL+OFF or LO-HI (repeatable). */
  pc?: string[];
  /** M, HS, S, VS, VU, U (repeatable or comma-separated). */
  priv?: string[];
  csr?: string;
  sbi?: string;
  vm?: string;
}

function intOpt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new TraceError(`${flag} ${v}: expected a non-negative integer`);
  return n;
}

/** An event position of --from / --until: a seq (N or seq:N), i:INSTRET or t:VTIME. */
type EventPos = { seq: number } | { instret: number } | { vtime: number };
function posOpt(flag: string, v: string | undefined): EventPos | undefined {
  if (v === undefined) return undefined;
  const m = /^(?:(seq|i|t):)?\s*([\d_]+)$/.exec(v.trim());
  const n = m ? Number(m[2]!.replace(/_/g, '')) : NaN;
  if (!m || !Number.isSafeInteger(n)) throw new TraceError(`${flag} ${v}: expected an event seq (N or seq:N), i:INSTRET (the hart's retired instructions) or t:VTIME (its virtual time)`);
  return m[1] === 'i' ? { instret: n } : m[1] === 't' ? { vtime: n } : { seq: n };
}

/** Privilege filter names: S and HS are the same (S with V = 0). */
const PRIV_FILTERS: Record<string, { priv: number; virt: boolean }> = {
  M: { priv: 3, virt: false }, HS: { priv: 1, virt: false }, S: { priv: 1, virt: false }, U: { priv: 0, virt: false },
  VS: { priv: 1, virt: true }, VU: { priv: 0, virt: true },
};

let csrNumbers: Map<string, number> | null = null;
/** A CSR by name (sstatus, satp, pmpaddr3...) or number (0x180, 384). */
function csrOpt(v: string): number {
  const t = v.trim().toLowerCase();
  if (/^(0x[0-9a-f]+|\d+)$/.test(t)) {
    const n = Number(t);
    if (n <= 0xfff) return n;
  }
  if (!csrNumbers) {
    csrNumbers = new Map();
    for (let i = 0; i <= 0xfff; i++) {
      const n = csrName(i);
      if (!n.startsWith('0x')) csrNumbers.set(n, i);
    }
  }
  const n = csrNumbers.get(t);
  if (n === undefined) throw new TraceError(`--csr ${v}: unknown CSR (a name such as sstatus, satp, hgatp, or a number such as 0x180)`);
  return n;
}

/** An SBI extension by name (TIME, HSM, BASE, legacy_putchar...) or number (0x54494d45). */
function sbiOpt(v: string): bigint {
  const t = v.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return BigInt(t);
  const norm = (x: string): string => x.toUpperCase().replace(/[\s_]+/g, ' ');
  for (const [k, name] of Object.entries(SBI_EXT)) if (norm(name) === norm(t)) return BigInt(k);
  const names = [...new Set(Object.values(SBI_EXT).filter((n) => !n.startsWith('legacy')))];
  throw new TraceError(`--sbi ${v}: unknown SBI extension (one of ${names.join(', ')}, legacy_putchar..., or a number such as 0x54494d45)`);
}

/**
 * The pc ranges of a --pc value: ADDR (hex 0x..., or decimal), SYMBOL (its extent), SYMBOL+OFF
 * (that address), LO-HI (half-open; each end an address or a symbol's start). A kernel symbol's
 * physical alias (before the MMU is on) is included.
 */
function pcRanges(v: string, code: TraceCode): [bigint, bigint][] {
  const syms = code.symbols;
  const term = (t: string, whole: boolean): [bigint, bigint] | null => {
    t = t.trim();
    if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
      const a = BigInt.asUintN(64, BigInt(t));
      return [a, a + 1n];
    }
    const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(t);
    if (!m) return null;
    if (m[2] === undefined && whole) {
      const e = syms.extent(m[1]!);
      return e ? [e.lo, e.hi] : null;
    }
    const f = syms.find(m[1]!);
    if (!f) return null;
    const a = BigInt.asUintN(64, f.value + (m[2] ? BigInt(m[2]) : 0n));
    return [a, a + 1n];
  };
  const bad = (what: string): never => {
    const names = syms.sources.filter((s) => s.symbols.length > 0).map((s) => s.name);
    throw new TraceError(`--pc ${v}: ${what}${names.length ? '' : ' (the trace has no symbols: give --symbols FILE, or an address)'}`);
  };
  let range: [bigint, bigint] | null = term(v, true);
  if (!range) {
    const k = v.indexOf('-', 1);
    if (k > 0) {
      const lo = term(v.slice(0, k), false);
      const hi = term(v.slice(k + 1), false);
      if (lo && hi) {
        if (hi[0] <= lo[0]) bad('the end of the range is not above its start');
        range = [lo[0], hi[0]];
      }
    }
  }
  if (!range) return bad('expected ADDR (0x...), SYMBOL, SYMBOL+OFFSET or LO-HI, with symbols the trace knows');
  const out: [bigint, bigint][] = [range];
  const phys = syms.physicalOf(range[0]);
  if (phys !== null && syms.physicalOf(range[1] - 1n) === phys + (range[1] - 1n - range[0])) out.push([phys, phys + (range[1] - range[0])]);
  return out;
}

/** Whether stdout failed (the reader closed the pipe: `events X | head`): stop at once. */
function stdoutGone(): boolean {
  return process.stdout.destroyed || Boolean((process.stdout as { errored?: unknown }).errored);
}

/**
 * Wait while stdout's buffer is full (a pipe is written asynchronously: without waiting, the
 * whole output would be queued in memory before a closed pipe is noticed). Resolves on 'drain'
 * or on an error (EPIPE: main.ts's handler then ends the process).
 */
function stdoutDrained(): Promise<void> {
  if (!process.stdout.writableNeedDrain || stdoutGone()) return Promise.resolve();
  return new Promise((res) => {
    const done = (): void => {
      process.stdout.off('drain', done);
      process.stdout.off('error', done);
      process.stdout.off('close', done);
      res();
    };
    process.stdout.on('drain', done);
    process.stdout.on('error', done);
    process.stdout.on('close', done);
  });
}

export async function eventsCommand(file: string, o: EventsCliOptions): Promise<number> {
  try {
    const kinds = (o.kind ?? []).flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
    for (const k of kinds) {
      if (!EVENT_KINDS.includes(k as EventKind)) throw new TraceError(`--kind ${k}: unknown event kind (one of ${EVENT_KINDS.join(', ')})`);
    }
    const hart = intOpt('--hart', o.hart);
    if (o.to !== undefined && o.until !== undefined) throw new TraceError('--to is an alias of --until: give one of them');
    const from = posOpt('--from', o.from);
    const until = posOpt(o.to !== undefined ? '--to' : '--until', o.until ?? o.to);
    const limit = intOpt('--limit', o.limit);
    const privs = (o.priv ?? []).flatMap((k) => k.split(',')).map((k) => k.trim().toUpperCase()).filter(Boolean).map((k) => {
      const p = PRIV_FILTERS[k];
      if (!p) throw new TraceError(`--priv ${k}: unknown privilege (one of M, HS, S, VS, VU, U)`);
      return p;
    });
    // --csr and --sbi name an event kind and its `a` column.
    let a: bigint | undefined;
    const only = (kind: EventKind, flag: string): void => {
      if (kinds.length && !kinds.includes(kind)) throw new TraceError(`${flag} selects ${kind} events: it cannot be combined with --kind ${kinds.join(',')}`);
      if (a !== undefined) throw new TraceError('--csr and --sbi select different event kinds: give one of them');
      kinds.splice(0, kinds.length, kind);
    };
    if (o.csr !== undefined) { const n = csrOpt(o.csr); only('csr_write', '--csr'); a = BigInt(n); }
    if (o.sbi !== undefined) { const n = sbiOpt(o.sbi); only('sbi_call', '--sbi'); a = n; }
    const vm = intOpt('--vm', o.vm);
    const symbols = loadSymbolFiles(o.symbols);
    const r = TraceReader.open(file);
    try {
      const harts = r.config.machine?.harts;
      if (hart !== undefined && harts !== undefined && hart >= harts) {
        throw new TraceError(`--hart ${hart}: the trace has ${harts} hart${harts === 1 ? '' : 's'} (${harts === 1 ? '0' : `0..${harts - 1}`})`);
      }
      const code = new TraceCode(r, { symbols });
      warnSymbolNotes(code.notes);
      if (vm !== undefined && vm >= code.guests) {
        throw new TraceError(`--vm ${vm}: the trace has ${code.guests === 0 ? 'no guests of the built-in hypervisor' : `${code.guests} guest VM${code.guests === 1 ? '' : 's'} (0${code.guests > 1 ? `..${code.guests - 1}` : ''})`}`);
      }
      const ranges = (o.pc ?? []).flatMap((v) => pcRanges(v, code));
      const seqFrom = from && 'seq' in from ? from.seq : undefined;
      const seqUntil = until && 'seq' in until ? until.seq : undefined;
      const filter = {
        kinds: kinds as EventKind[],
        hart,
        from: seqFrom,
        to: seqUntil === undefined ? undefined : seqUntil + 1, // --until is inclusive
        ...(ranges.length ? { pcRanges: ranges } : {}),
        ...(privs.length ? { privs } : {}),
        ...(a !== undefined ? { a } : {}),
        instret: { min: from && 'instret' in from ? from.instret : undefined, max: until && 'instret' in until ? until.instret : undefined },
        vtime: { min: from && 'vtime' in from ? from.vtime : undefined, max: until && 'vtime' in until ? until.vtime : undefined },
        ...(vm !== undefined ? { guestPcs: true } : {}),
      };
      // --vm is checked per event (the VM a V = 1 event is in follows the vm_entry events): the
      // limit then counts here.
      let left = limit ?? Infinity;
      for (const batch of r.eventBatches(vm === undefined ? { ...filter, limit } : filter, 2048)) {
        const lines: string[] = [];
        for (const e of batch) {
          if (left <= 0) break;
          if (vm !== undefined && code.spaceOf(e) !== vm) continue;
          left--;
          const { symbol: sym, insn: dis } = code.forEvent(e);
          if (o.json) {
            lines.push(toJson({
              seq: e.seq, vtime: e.vtime, hart: e.hart, instret: e.instret, pc: hex(e.pc), priv: e.priv, virt: e.virt,
              kind: e.kind, a: e.a === null ? null : hex(e.a), b: e.b === null ? null : hex(e.b), c: e.c === null ? null : hex(e.c),
              fields: Object.fromEntries(Object.entries(namedFields(e)).map(([k, v]) => [k, v === null ? null : hex(v)])),
              payload: e.payload, text: describeEvent(e, code.guests > 0), ...(sym ? { symbol: sym } : {}), ...(dis ? { insn: dis } : {}),
            }));
          } else {
            const where = `${hex(e.pc)}${sym ? ` <${sym}>` : ''}`;
            lines.push(`${String(e.seq).padStart(7)}  h${e.hart} ${privName(e.priv, e.virt, code.guests > 0).padEnd(2)} vt=${e.vtime} i=${e.instret}  ${where}  ${e.kind.padEnd(11)} ${describeEvent(e, code.guests > 0)}${dis ? `  | ${dis}` : ''}`);
          }
        }
        if (lines.length) out(`${lines.join('\n')}\n`);
        if (stdoutGone() || left <= 0) break;
        await stdoutDrained();
        if (stdoutGone()) break;
      }
      return 0;
    } finally {
      r.close();
    }
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

/** RFC 4180 field. */
function csvField(v: unknown): string {
  const t = v === null || v === undefined ? '' : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * Numeric columns of the tables and views, with the named column to compare instead: the
 * per-kind views' int columns and their *_name / *_hex / text twins (src/trace/event-kinds.ts),
 * and the raw columns of `events` / `event_list`.
 */
const NUMERIC_COLUMNS: Readonly<Record<string, string | null>> = (() => {
  const m: Record<string, string | null> = { priv: 'priv_name', a: null, b: null, c: null };
  for (const s of EVENT_KIND_TABLE) {
    const cols = viewColumns(s, 'reader');
    for (const c of cols) {
      if (c.type !== 'int' || c.name in m) continue;
      const twins = cols.filter((t) => t.of === c.name);
      m[c.name] = (twins.find((t) => !t.name.endsWith('_hex')) ?? twins[0])?.name ?? null;
    }
  }
  return m;
})();

/**
 * A hint for a query that returned nothing because it compared a numeric column with text
 * (`WHERE csr = 'satp'`): the named column to use instead, or the number.
 */
function queryHint(sql: string): string | null {
  const m = /(?:^|[^\w.])(?:\w+\.)?(\w+)\s*(?:=|==|!=|<>|\bLIKE\b|\bIN\s*\()\s*'([^']*)'/i.exec(sql);
  if (!m) return null;
  const col = m[1]!.toLowerCase();
  if (!(col in NUMERIC_COLUMNS)) return null;
  const text = m[2]!;
  const named = NUMERIC_COLUMNS[col];
  let number = '';
  if (col === 'csr') {
    try { number = ` or ${col} = 0x${csrOpt(text).toString(16)}`; } catch { /* not a CSR name */ }
  } else if (col === 'eid') {
    try { number = ` or ${col} = 0x${sbiOpt(text).toString(16)}`; } catch { /* not an extension name */ }
  } else if (/^(0x[0-9a-f]+|-?\d+)$/i.test(text)) {
    number = ` or ${col} = ${text}`;
  }
  return `0 rows: ${col} is a number, and '${text}' is text${named ? `: compare ${named} = '${text}'${named.endsWith('_hex') ? ' (lower-case hex)' : ''}` : ''}${number}${named ? '' : ' without the quotes'}`;
}

export function queryCommand(file: string, sql: string, o: { json?: boolean; format?: string }): number {
  try {
    if (o.json && o.format !== undefined && o.format !== 'json') throw new TraceError(`--json is --format json: it cannot be combined with --format ${o.format}`);
    const format = o.json ? 'json' : o.format ?? 'table';
    if (!['table', 'csv', 'json'].includes(format)) throw new TraceError(`--format ${format}: expected table, csv or json`);
    return withReader(file, (r) => {
      const res = r.query(sql);
      if (res.rows.length === 0) {
        const hint = queryHint(sql);
        if (hint) process.stderr.write(`hvtrace: hint: ${hint}\n`);
      }
      if (format === 'json') {
        const objs = res.rows.map((row) => Object.fromEntries(res.columns.map((c, i) => [c, cellJson(row[i])])));
        out(`${JSON.stringify(objs, null, 0)}\n`);
        return 0;
      }
      if (format === 'csv') {
        out(`${[res.columns, ...res.rows].map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`);
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
