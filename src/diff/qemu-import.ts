/**
 * `hvtrace import qemu LOG -o FILE`: a QEMU 7.2 `-d int` log as a reference trace.
 *
 * Each `riscv_cpu_do_interrupt: hart:H, async:A, cause:C, epc:E, tval:T, desc=D` line (parsed by
 * src/diff/qemu-log.ts) becomes one `trap` event, as the trap entry's `qemu` mapping in
 * src/trace/event-kinds.ts says (the one place it is declared):
 *   hart = H, pc = epc, a (cause) = C with bit 63 set for interrupts (async:1), b (tval) = T,
 *   payload = { desc: D }, seq = the line's order among trap lines.
 * QEMU does not log the rest, so vtime / instret / priv are 0, virt false, c (handler) NULL,
 * and meta 'reference' says so:
 *   { source: 'qemu 7.2 -d int', log, sha256, fields: ['kind', 'hart', 'pc', 'a', 'b'], kinds: ['trap'] }
 * The differ reads it and compares only the fields and kinds both sides have (src/diff/compare.ts).
 * The trace has no machine configuration, so it cannot be replayed, only diffed.
 * `dropKnownDeviations` leaves out the traps listed in QEMU_KNOWN_MMODE_DEVIATIONS (where QEMU
 * 7.2 deviates from the spec); meta 'reference'.dropped counts them.
 *
 * `sv57ToSv48` maps user addresses (epc, tval) from Linux's Sv57 layout to its Sv48 one, for
 * traces recorded by hvtrace before it implemented Sv57 (issue 16; QEMU 7.2 always implements it
 * and Linux 6.1 picks the largest satp mode that sticks). Linux places the user stack and the mmap area
 * (vDSO, shared libraries) just below TASK_SIZE, 2^56 with Sv57 and 2^47 with Sv48: the same user
 * addresses then differ by exactly 2^56 - 2^47. An address in [2^47, 2^56) (only reachable
 * with Sv57) is moved down by that much; kernel (sign-extended, >= 2^63) and low user addresses
 * are unchanged. Without it, a whole-boot exceptions diff of such an old trace against QEMU
 * diverges at the first page fault on the user stack. meta 'reference'.addressMap says it was
 * applied.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { parseQemuIntLogFile, isKnownQemuDeviation } from './qemu-log.js';
import { TraceWriter, TraceError, HVTRACE_VERSION, SCHEMA_VERSION, type TraceConfig } from '../trace/store.js';
import type { TraceEvent } from '../trace/model.js';
import { KIND_SPEC } from '../trace/event-kinds.js';

/** The trap entry's QEMU mapping (src/trace/event-kinds.ts). */
const TRAP_FROM_QEMU = KIND_SPEC.trap.qemu!;

/** The event fields a QEMU log gives: the only ones the differ compares with it. */
export const QEMU_REFERENCE_FIELDS: readonly string[] = TRAP_FROM_QEMU.fields;

export interface ImportResult {
  readonly path: string;
  readonly events: number;
  readonly harts: number[];
  /** Traps left out by `dropKnownDeviations`. */
  readonly dropped: number;
}

export interface ImportOptions {
  overwrite?: boolean;
  /**
   * Leave out the traps QEMU 7.2 takes where it deviates from the privileged spec
   * (QEMU_KNOWN_MMODE_DEVIATIONS in src/diff/qemu-log.ts: CSRs it lacks that must read as 0).
   */
  dropKnownDeviations?: boolean;
  /** Map user addresses from Linux's Sv57 layout to its Sv48 one (see the top). */
  sv57ToSv48?: boolean;
}

const SV57_TO_SV48 = (1n << 56n) - (1n << 47n);
/** A user address in Linux's Sv57 layout (just below 2^56) as in its Sv48 layout (just below 2^47). */
export function sv57ToSv48(a: bigint): bigint {
  const u = BigInt.asUintN(64, a);
  return u >= 1n << 47n && u < 1n << 56n ? u - SV57_TO_SV48 : u;
}

/** Read a QEMU `-d int` log and write it as a reference trace. Throws TraceError (one line). */
export function importQemuLog(logPath: string, outPath: string, opts: ImportOptions = {}): ImportResult {
  const hash = createHash('sha256');
  let traps;
  try {
    if (!statSync(logPath).isFile()) throw new Error('not a regular file');
  } catch (e) {
    throw new TraceError(`${logPath}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    // Streamed: a Linux boot's log has one line per trap and can be large.
    traps = parseQemuIntLogFile(logPath, true, (bytes) => hash.update(bytes));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceError(code ? `${logPath}: cannot read: ${(e as Error).message}` : `${logPath}: ${(e as Error).message}`);
  }
  if (traps.length === 0) {
    throw new TraceError(`${logPath}: no trap lines (riscv_cpu_do_interrupt: ...): not a QEMU -d int log, or QEMU took no trap`);
  }
  const all = traps.length;
  if (opts.dropKnownDeviations) traps = traps.filter((t) => isKnownQemuDeviation(t) === null);
  const map = opts.sv57ToSv48 ? sv57ToSv48 : (a: bigint) => BigInt.asUintN(64, a);
  const events: TraceEvent[] = traps.map((t, i) => TRAP_FROM_QEMU.toEvent(t, i, map));
  const config: TraceConfig = {
    producer: 'hvtrace import qemu',
    hvtraceVersion: HVTRACE_VERSION,
    schemaVersion: SCHEMA_VERSION,
    machine: null,
    quantum: null,
    maxInsns: null,
    digestEvery: null,
    checkpointEvery: null,
    input: { source: 'none' },
  };
  const reference = {
    source: 'qemu 7.2 -d int',
    log: logPath,
    sha256: hash.digest('hex'),
    fields: [...QEMU_REFERENCE_FIELDS],
    kinds: ['trap'],
    dropped: all - traps.length,
    ...(opts.sv57ToSv48 ? { addressMap: 'sv57-to-sv48' } : {}),
  };
  const w = TraceWriter.create(outPath, { config, meta: { reference: JSON.stringify(reference) } }, { overwrite: opts.overwrite });
  try {
    w.writeEvents(events);
    w.finish('complete', { exit: null });
  } catch (e) {
    w.close();
    throw e;
  }
  const harts = [...new Set(traps.map((t) => t.hart))].sort((a, b) => a - b);
  return { path: outPath, events: events.length, harts, dropped: all - traps.length };
}
