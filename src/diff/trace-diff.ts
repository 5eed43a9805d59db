/**
 * diffTraces: two trace files compared (runs, then events), the equal start skipped by matching
 * state digests, kind presets (src/diff/compare.ts is the API).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { EVENT_KINDS, type EventKind, type TraceEvent } from '../trace/model.js';
import { TraceReader, TraceError, type DigestRow } from '../trace/store.js';
import { TraceCode, type TraceCodeOptions } from '../trace/code.js';
import { EventHasher } from '../trace/event-hash.js';
import { buildReport, type DivergenceReport } from './report.js';
import { CompareError, EVENT_FIELDS, compareEventsSync, count, parseKinds, type CompareOptions, type CompareResult, type KindCounts } from './comparer.js';
import { RUN_AREAS, compareRuns, referenceInfo, type ReferenceInfo, type RunArea, type RunDifference } from './runs.js';

export interface TraceDiffOptions extends CompareOptions, TraceCodeOptions {
  /** Use matching state digests to skip the equal start of both traces (default true). */
  digests?: boolean;
}

export interface TraceDiffReport extends CompareResult {
  a: string;
  b: string;
  /**
   * Differences in images, configuration, input, console output and end of run (compared first;
   * any of them makes the traces different, whatever their events).
   */
  differences: RunDifference[];
  /** Where the comparison started thanks to equal digests (null: from the start). */
  skippedTo: { seq: number; totalInstret: number; digests: number } | null;
  /** Things the user should know that are not differences (e.g. a trace changed after recording). */
  notes: string[];
  reference: { a: ReferenceInfo | null; b: ReferenceInfo | null };
  /** Symbol / instruction at the divergence (from the expected side's images, else the actual's). */
  where: { pc: bigint; symbol?: string; insn?: string } | null;
  codeA: TraceCode;
  codeB: TraceCode;
  /** The divergence report (report.ts): the first divergent event named, the events before, console, next commands. */
  report: DivergenceReport | null;
}

// ---------------------------------------------------------------------------------------------
// state digests
// ---------------------------------------------------------------------------------------------

function sameCounts(x: Readonly<Record<string, number>> | null | undefined, y: Readonly<Record<string, number>> | null | undefined): boolean {
  if (!x || !y) return false;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if ((x[k] ?? 0) !== (y[k] ?? 0)) return false;
  return true;
}

function countsText(x: Readonly<Record<string, number>> | null | undefined, y: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  for (const k of new Set([...Object.keys(x ?? {}), ...Object.keys(y)])) {
    const a = x?.[k] ?? 0, b = y[k] ?? 0;
    if (a !== b) parts.push(`${k} ${a} recorded, ${b} stored`);
  }
  return parts.join(', ');
}

/** Rows read per query when checking digests. */
const VERIFY_CHUNK = 16384;

/**
 * How many of the leading digests `ds[0..k)` the events stored in `r` still agree with: the events
 * before each digest must hash to its events_hash and count per kind to its kind_counts (what the
 * recorder computed as it emitted them). A disagreement means the file was changed after it was
 * recorded (or is corrupt): a note says so, and the events from there on are compared one by one.
 */
function verifiedDigests(r: TraceReader, ds: readonly DigestRow[], k: number, notes: string[]): number {
  const h = new EventHasher();
  let from = 0;
  for (let i = 0; i < k; i++) {
    const d = ds[i]!;
    for (let lo = from; lo < d.seq; lo += VERIFY_CHUNK) h.addStoredRows(r.hashedEventRows(lo, Math.min(d.seq, lo + VERIFY_CHUNK)));
    const prev = from;
    from = Math.max(from, d.seq);
    const counts = h.kindCounts();
    const what: string[] = [];
    if (h.count !== d.seq) what.push(`${h.count} events stored where ${d.seq} were recorded`);
    if (h.unknownKinds) what.push(`${h.unknownKinds} of unknown kind`);
    if (!sameCounts(counts, d.kindCounts)) what.push(`per kind: ${countsText(d.kindCounts, counts)}`);
    if (h.hex() !== d.eventsHash) what.push(`their hash is ${h.hex()}, recorded ${d.eventsHash}`);
    if (what.length) {
      notes.push(`${r.path}: the stored events #${prev}..#${d.seq - 1} are not the ones recorded before its state digest ${i + 1} (${what.join('; ')}): the file was changed after recording, or is corrupt; they are compared event by event`);
      return i;
    }
  }
  return k;
}

/** Whether an SQLite file is in rollback-journal mode (not WAL), from its header. */
function rollbackMode(path: string): boolean {
  const hdr = Buffer.alloc(20);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, hdr, 0, 20, 0) === 20 && hdr[18] === 1 && hdr[19] === 1;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const requireCjs = createRequire(import.meta.url);

/**
 * The first seq below `to` where the events stored in the two files differ, column for column and
 * byte for byte (0 when either lacks a row): null when rows 0 .. to - 1 are the same in both;
 * undefined when this cannot be asked of SQLite (a file in WAL mode, an error), and the caller
 * must read the events itself. Both files were opened by TraceReader before (they are traces); one
 * read-only connection to A with B attached (read-only too) joins them in SQLite, without
 * building an event per row in JavaScript.
 */
function firstStoredDifference(pathA: string, pathB: string, to: number): number | null | undefined {
  if (!rollbackMode(pathA) || !rollbackMode(pathB)) return undefined;
  let db: Database.Database | undefined;
  try {
    const Sqlite = requireCjs('better-sqlite3') as typeof Database;
    db = new Sqlite(pathA, { readonly: true, fileMustExist: true });
    db.prepare('ATTACH DATABASE ? AS other').run(pathB);
    const [na, nb] = db.prepare('SELECT (SELECT count(*) FROM main.events WHERE seq >= 0 AND seq < ?), (SELECT count(*) FROM other.events WHERE seq >= 0 AND seq < ?)')
      .raw(true).get(to, to) as [number, number];
    const cols = ['vtime', 'hart', 'instret', 'pc', 'priv', 'virt', 'kind', 'a', 'b', 'c', 'payload'];
    const differs = db.prepare(
      `SELECT x.seq FROM main.events x LEFT JOIN other.events y ON y.seq = x.seq WHERE x.seq >= 0 AND x.seq < ? AND ` +
      `(y.seq IS NULL OR NOT (${cols.map((c) => `x.${c} IS y.${c}`).join(' AND ')})) ORDER BY x.seq LIMIT 1`,
    ).pluck().get(to) as number | undefined;
    if (differs !== undefined) return Number(differs);
    // A row missing on one side (or both): say so from the start (the caller reads the events).
    return na === to && nb === to ? null : 0;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * The last seq both traces agree on through their state digests: the longest common prefix of
 * digests with the same instruction count, virtual time, event count, per-hart instret, state and
 * RAM hashes, and the same events before them (events_hash and kind_counts, schema 2). Equal state
 * after equal recorded events is then trusted only as far as the events stored in the two files
 * are still the same: SQLite compares their rows (firstStoredDifference); where it cannot, or
 * where the rows differ, each file's events are read and hashed against what its recorder stored
 * (verifiedDigests), which also names a file changed after recording. The comparison still
 * re-reads `context` events before the skip point.
 */
function digestSkip(a: TraceReader, b: TraceReader, notes: string[]): { seq: number; totalInstret: number; digests: number } | null {
  const da = a.digests().filter((d) => !d.final);
  const db = b.digests().filter((d) => !d.final);
  let k = 0;
  while (k < da.length && k < db.length) {
    const x = da[k]!, y = db[k]!;
    if (x.totalInstret !== y.totalInstret || x.vtime !== y.vtime || x.seq !== y.seq || x.stateHash !== y.stateHash ||
      x.ramHash !== y.ramHash || x.hartInstret.join(',') !== y.hartInstret.join(',')) break;
    if (!x.eventsHash || !y.eventsHash || x.eventsHash !== y.eventsHash || !sameCounts(x.kindCounts, y.kindCounts)) break;
    if (k > 0 && x.seq < da[k - 1]!.seq) break;
    k++;
  }
  if (k === 0 || da[k - 1]!.seq === 0) return null;
  const q = firstStoredDifference(a.path, b.path, da[k - 1]!.seq);
  if (q !== null) {
    // The stored events differ (or SQLite could not tell): trust each file only as far as its
    // events are still what its recorder hashed.
    k = verifiedDigests(a, da, k, notes);
    if (k > 0) k = verifiedDigests(b, db, k, notes);
    if (q !== undefined) {
      while (k > 0 && da[k - 1]!.seq > q) k--;
    }
  }
  if (k === 0) return null;
  const last = da[k - 1]!;
  return last.seq > 0 ? { seq: last.seq, totalInstret: last.totalInstret, digests: k } : null;
}

/** Split `--ignore` names into event fields and run areas (throws CompareError on others). */
function splitIgnore(list: readonly string[] | undefined): { fields: string[]; areas: RunArea[] } {
  const fields: string[] = [];
  const areas: RunArea[] = [];
  for (const x of list ?? []) {
    if ((RUN_AREAS as readonly string[]).includes(x)) areas.push(x as RunArea);
    else if ((EVENT_FIELDS as readonly string[]).includes(x)) fields.push(x);
    else throw new CompareError(`unknown event field "${x}" (fields: ${EVENT_FIELDS.join(', ')}; or one of ${RUN_AREAS.join(', ')})`);
  }
  return { fields, areas };
}

const isInterrupt = (e: TraceEvent): boolean => e.kind === 'trap' && BigInt.asUintN(64, e.a ?? 0n) >> 63n === 1n;

/**
 * `--kinds` presets: names for a set of kinds, some with a finer filter. `exceptions` (synchronous
 * traps only) is what compares a whole Linux boot with QEMU: interrupts land at other
 * instructions on the two emulators (see README "Comparing with QEMU").
 */
export const KIND_PRESETS: Readonly<Record<string, { kinds: EventKind[]; filter?: (e: TraceEvent) => boolean; help: string }>> = {
  exceptions: { kinds: ['trap'], filter: (e) => !isInterrupt(e), help: 'synchronous traps only (no interrupts)' },
  interrupts: { kinds: ['trap'], filter: isInterrupt, help: 'interrupt traps only' },
  traps: { kinds: ['trap', 'trap_return'], help: 'traps and trap returns' },
  sbi: { kinds: ['sbi_call'], help: 'SBI calls' },
  csr: { kinds: ['csr_write'], help: 'CSR writes' },
  vm: { kinds: ['vm_exit', 'vm_entry'], help: 'VM exits and entries' },
  io: { kinds: ['mmio', 'input', 'irq', 'msi'], help: 'MMIO, UART input, interrupt lines, MSIs' },
};

/** Expand presets in a --kinds list: the kinds, and the event filter (when a preset has one). */
export function expandKinds(list: readonly string[]): { kinds: EventKind[]; filter: ((e: TraceEvent) => boolean) | null; presets: string[] } {
  const kinds: string[] = [];
  const filters: ((e: TraceEvent) => boolean)[] = [];
  const presets: string[] = [];
  const plain = new Set<string>();
  for (const k of list) {
    const p = KIND_PRESETS[k];
    if (p) {
      presets.push(k);
      kinds.push(...p.kinds);
      // An event passes when a preset with a filter accepts it, or when its kind was given some other way.
      if (p.filter) filters.push(p.filter);
      else for (const x of p.kinds) plain.add(x);
    } else if ((EVENT_KINDS as readonly string[]).includes(k)) {
      kinds.push(k);
      plain.add(k);
    } else {
      throw new CompareError(`unknown event kind "${k}" (kinds: ${EVENT_KINDS.join(', ')}; presets: ${Object.keys(KIND_PRESETS).join(', ')})`);
    }
  }
  const filter = filters.length ? (e: TraceEvent) => plain.has(e.kind) || filters.some((f) => f(e)) : null;
  return { kinds: [...new Set(kinds)] as EventKind[], filter, presets };
}

function* filtered(it: Iterable<TraceEvent>, f: (e: TraceEvent) => boolean, c: { events: number; perKind: KindCounts }): Generator<TraceEvent> {
  for (const e of it) {
    if (!f(e)) continue;
    count(c, e);
    yield e;
  }
}

/** Compare two trace files. Throws TraceError (unusable input) or CompareError (bad options). */
export function diffTraces(pathA: string, pathB: string, opts: TraceDiffOptions = {}): TraceDiffReport {
  const ra = TraceReader.open(pathA);
  let rb: TraceReader;
  try {
    rb = TraceReader.open(pathB);
  } catch (e) {
    ra.close();
    throw e;
  }
  // The whole files' integrity, on threads while the comparison runs: a damaged page (an index
  // page, say) that the comparison never reads must not let "the same" through (issue 12).
  const checks = [ra, rb].map((r) => ({ path: r.path, check: r.startIntegrityCheck() }));
  try {
    const refA = referenceInfo(ra);
    const refB = referenceInfo(rb);
    const ignore = splitIgnore(opts.ignore);
    const expanded = opts.kinds && opts.kinds.length ? expandKinds(opts.kinds) : null;
    const evFilter = expanded?.filter ?? null;
    let kinds = expanded ? parseKinds(expanded.kinds) : null;
    if (!kinds && (refA || refB)) {
      // A reference expresses only some kinds: compare those (both references: the common ones).
      const ks = EVENT_KINDS.filter((k) => (!refA || refA.kinds.includes(k)) && (!refB || refB.kinds.includes(k)));
      kinds = ks;
      if (ks.length === 0) throw new CompareError('the two reference traces have no event kind in common');
    }
    const cmpOpts: CompareOptions = {
      ...opts,
      ignore: ignore.fields,
      kinds: kinds ?? undefined,
      fields: { expected: refA?.fields ?? opts.fields?.expected, actual: refB?.fields ?? opts.fields?.actual },
      drain: false,
    };
    // Images, configuration, input, console, end: between two recordings (a reference import
    // has none of them).
    const recordings = !refA && !refB && ra.config.machine !== null && rb.config.machine !== null;
    const differences = recordings ? compareRuns(ra, rb, ignore.areas) : [];
    const notes: string[] = [];
    if (recordings && ra.config.hvtraceVersion !== rb.config.hvtraceVersion) {
      notes.push(`recorded by different hvtrace versions: ${pathA} by ${ra.config.hvtraceVersion}, ${pathB} by ${rb.config.hvtraceVersion}`);
    }
    // Skip the common start through digests (both traces must be hvtrace recordings).
    let skippedTo: TraceDiffReport['skippedTo'] = null;
    let from = 0;
    let startIndex = 0;
    const context = Math.max(0, opts.context ?? 5);
    const kf = kinds ?? undefined;
    if (opts.digests !== false && !refA && !refB && !evFilter) {
      const s = digestSkip(ra, rb, notes);
      if (s) {
        // Start `context` (filtered) events before the skip point so the report has them.
        const seqBefore = (r: TraceReader): number => {
          if (context === 0) return s.seq;
          const q = r.query(
            `SELECT seq FROM events WHERE seq < ?${kf ? ` AND kind IN (${kf.map(() => '?').join(',')})` : ''} ORDER BY seq DESC LIMIT 1 OFFSET ?`,
            [s.seq, ...(kf ?? []), context - 1],
          );
          return q.rows.length ? Number(q.rows[0]![0] as bigint) : 0;
        };
        const fa = seqBefore(ra);
        const fb = seqBefore(rb);
        if (fa === fb && fa > 0) {
          from = fa;
          startIndex = ra.eventCount({ to: from, kinds: kf });
          skippedTo = s;
        }
      }
    }
    // Per-kind counts of the whole traces (the comparison stops at the divergence).
    const sideCounts = (r: TraceReader) => {
      const all = r.countsByKind() as KindCounts;
      const perKind: KindCounts = {};
      for (const k of EVENT_KINDS) if (all[k] && (!kinds || kinds.includes(k))) perKind[k] = all[k];
      return { events: r.eventCount({ kinds: kf }), perKind };
    };
    let countsA = sideCounts(ra);
    let countsB = sideCounts(rb);
    let res: CompareResult;
    if (evFilter) {
      // A preset with a finer filter (exceptions): count what passes it while comparing.
      const ca = { events: 0, perKind: {} as KindCounts }, cb = { events: 0, perKind: {} as KindCounts };
      const ia = filtered(ra.events({ kinds: kf }), evFilter, ca), ib = filtered(rb.events({ kinds: kf }), evFilter, cb);
      const pa = { [Symbol.iterator]: () => ia }, pb = { [Symbol.iterator]: () => ib };
      // Keep the generators open past the divergence to finish the counts.
      res = compareEventsSync({ [Symbol.iterator]: () => ({ next: () => ia.next() }) }, { [Symbol.iterator]: () => ({ next: () => ib.next() }) }, cmpOpts);
      for (const _ of pa) { /* count the rest */ }
      for (const _ of pb) { /* count the rest */ }
      countsA = ca;
      countsB = cb;
    } else {
      res = compareEventsSync(ra.events({ from }), rb.events({ from }), { ...cmpOpts, startIndex });
    }
    const countsDiffer = countsA.events !== countsB.events || !sameCounts(countsA.perKind, countsB.perKind);
    if (res.status === 'same' && countsDiffer && from > 0) {
      // Never "same" with different counts: the skipped part was not what its digests said.
      notes.push(`the events skipped through state digests (up to #${skippedTo!.seq}) were not equal after all: compared from the start`);
      skippedTo = null;
      res = compareEventsSync(ra.events(), rb.events(), cmpOpts);
    }
    res.summary.expected = countsA;
    res.summary.actual = countsB;
    res.summary.complete = true;
    if (res.summary.compared === 0) res.status = 'empty';
    if (res.status === 'same' && countsDiffer) {
      throw new Error(`internal: ${pathA} and ${pathB} compared equal event by event with different counts per kind`);
    }
    if (differences.length > 0 && res.status !== 'different') res.status = 'different';
    const codeA = new TraceCode(ra, { symbols: opts.symbols, autoSymbols: opts.autoSymbols });
    const codeB = new TraceCode(rb, { symbols: opts.symbols, autoSymbols: opts.autoSymbols });
    let where: TraceDiffReport['where'] = null;
    const d = res.divergence;
    let report: DivergenceReport | null = null;
    if (d) {
      const guests = (r: TraceReader) => (r.config.machine?.guests ?? []).map((g) => g.image.name);
      report = buildReport({
        pathA, pathB, ra, rb,
        a: { code: codeA, guests: guests(ra), reference: !!refA },
        b: { code: codeB, guests: guests(rb), reference: !!refB },
        expected: d.expected, actual: d.actual, before: d.before,
        runDifferences: differences, differingFields: d.differences.map((x) => x.field),
      });
    }
    if (d) {
      const at = d.expected ?? d.actual!;
      const code = d.expected ? codeA : codeB;
      // In the event's own address space: a guest pc (V = 1, vm_exit) is read from the guest.
      const own = code.forEvent(at);
      const symbol = own.symbol ?? (d.expected ? codeB : codeA).forEvent(at).symbol;
      where = { pc: at.pc, ...(symbol ? { symbol } : {}), ...(own.insn ? { insn: own.insn } : {}) };
    }
    if (expanded?.presets.length) res.summary.presets = expanded.presets;
    for (const { path, check } of checks) {
      const damaged = check.result();
      if (damaged) throw new TraceError(`${path}: ${damaged}`);
    }
    return { ...res, a: pathA, b: pathB, differences, skippedTo, notes, reference: { a: refA, b: refB }, where, codeA, codeB, report };
  } finally {
    for (const { check } of checks) check.cancel();
    ra.close();
    rb.close();
  }
}
