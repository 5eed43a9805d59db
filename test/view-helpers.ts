/**
 * Shared by the issue 14 suites (stat, export, timeline page): recording through the built CLI,
 * and the unusual traces every view must show with a note rather than fail on: one without
 * events, an aborted one, and a QEMU import (traps only, no machine configuration).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = `${ROOT}dist/cli/main.js`;
export const GUESTS = `${ROOT}guests/build`;

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function cli(args: string[], opts: { timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 300_000, killSignal: 'SIGKILL', cwd: ROOT, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the event loop (for recordings that run alongside other work). */
export function cliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Record with `record -q -o out ...args`; throws with the output when it fails. */
export function record(out: string, args: string[]): string {
  const r = cli(['record', '-q', '-o', out, ...args]);
  if (r.status !== 0) throw new Error(`record ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return out;
}

export async function recordAsync(out: string, args: string[]): Promise<string> {
  const r = await cliAsync(['record', '-q', '-o', out, ...args]);
  if (r.status !== 0) throw new Error(`record ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return out;
}

/** Rows of a read-only SQL query on a trace (an independent reader: better-sqlite3 directly). */
export function sql<T = Record<string, unknown>>(trace: string, q: string, ...params: unknown[]): T[] {
  const db = new Database(trace, { readonly: true });
  try {
    return db.prepare(q).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** A copy of `src` changed by SQL statements. */
export function tampered(src: string, out: string, ...statements: string[]): string {
  copyFileSync(src, out);
  const db = new Database(out);
  for (const s of statements) db.exec(s);
  db.close();
  return out;
}

/** A trace with no events (the configuration and images kept). */
export function emptyTrace(src: string, out: string): string {
  return tampered(src, out, 'DELETE FROM events', 'DELETE FROM console', 'DELETE FROM inputs', 'DELETE FROM digests',
    "DELETE FROM meta WHERE key IN ('counts', 'exit')");
}

/** An aborted recording: the events up to `keep`, status aborted, as a recording stopped by SIGINT. */
export function abortedTrace(src: string, out: string, keep: number): string {
  return tampered(src, out, `DELETE FROM events WHERE seq >= ${keep}`, `DELETE FROM console WHERE event_seq >= ${keep}`,
    "UPDATE meta SET value = 'aborted' WHERE key = 'status'",
    `UPDATE meta SET value = '{"kind":"aborted","exitCode":130,"message":"recording interrupted by SIGINT"}' WHERE key = 'exit'`,
    "DELETE FROM meta WHERE key = 'counts'");
}

/** `hvtrace import qemu` of a QEMU 7.2 `-d int` log made of the trap events of `src`. */
export function qemuImport(src: string, dir: string, name: string): string {
  const rows = sql<{ hart: bigint; a: bigint; b: bigint; pc: bigint }>(src, "SELECT hart, a, b, pc FROM events WHERE kind = 'trap' ORDER BY seq");
  const h16 = (v: bigint | number): string => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
  const lines = rows.map((r) => {
    const a = BigInt.asUintN(64, BigInt(r.a));
    const async = a >> 63n;
    return `riscv_cpu_do_interrupt: hart:${r.hart}, async:${async}, cause:${h16(a & ((1n << 63n) - 1n))}, epc:0x${h16(r.pc)}, tval:0x${h16(r.b)}, desc=${async ? 'interrupt' : 'exception'}`;
  });
  const log = join(dir, `${name}.log`);
  writeFileSync(log, `QEMU 7.2 log\n${lines.join('\n')}\n`);
  const out = join(dir, `${name}.trace`);
  const r = cli(['import', 'qemu', log, '-o', out, '-q']);
  if (r.status !== 0) throw new Error(`import qemu: ${r.stderr}`);
  return out;
}

/** Rows of `hvtrace query TRACE SQL --json` (payload_json available). */
export function query<T = Record<string, unknown>>(trace: string, q: string): T[] {
  const r = cli(['query', trace, q, '--json']);
  if (r.status !== 0) throw new Error(`query ${q}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T[];
}
