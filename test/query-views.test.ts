/**
 * `query` for humans (issue 13): views with names beside the numbers (csr_name, cause_name,
 * sbi_ext_name, reason_name, irq_name, priv_name), hex text columns for addresses and
 * payload_json columns, on traces recorded before them too (TEMP views on the reader's
 * connection: the file is not modified); --format table|csv|json (--json an alias); a hint when a
 * numeric column is compared with text and nothing matches.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const require = createRequire(import.meta.url);

let dir: string;
let linux: string;
let guests: string;
/** A copy of a golden trace: recorded before the views had names. */
let old: string;

function hv(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '', maxBuffer: 64 << 20 });
}
function json<T = Record<string, unknown>>(trace: string, sql: string): T[] {
  const r = hv('query', trace, sql, '--format', 'json');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T[];
}
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-qviews-'));
  linux = join(dir, 'linux.trace');
  guests = join(dir, 'guests.trace');
  old = join(dir, 'old.trace');
  copyFileSync(join(ROOT, 'traces/golden/smp-kernel-smp1.trace'), old);
  expect(hv('record', '--kernel', 'guests/build/linux/Image', '--append', 'console=ttyS0', '--max-insns', '6000000', '-o', linux, '-q').stderr).not.toMatch(/warning|error/);
  hv('record', '--guest', 'guests/build/hyp-guest.elf', '-o', guests, '-q');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('query views with names', () => {
  it('csr_writes: csr_name beside csr, *_hex, payload_json', () => {
    const rows = json(linux, "SELECT csr, csr_name, new, new_hex, pc_hex, payload_json FROM csr_writes WHERE csr_name = 'satp' ORDER BY seq");
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) {
      expect(r.csr).toBe(0x180);
      expect(r.csr_name).toBe('satp');
      expect(BigInt(r.new_hex as string)).toBe(BigInt.asUintN(64, BigInt(r.new as number | string)));
      expect(r.pc_hex).toMatch(/^0x[0-9a-f]+$/);
      expect(JSON.parse(r.payload_json as string)).toHaveProperty('who');
    }
  });

  it('traps: cause_name; kernel addresses as unsigned hex', () => {
    const rows = json(linux, 'SELECT cause, cause_name, interrupt, epc_hex, handler_hex FROM traps ORDER BY seq');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.cause_name === 'fetch page fault' && r.cause === 12)).toBe(true);
    expect(rows.some((r) => /^0xffffffff8[0-9a-f]{7}$/.test(r.handler_hex as string))).toBe(true);
  });

  it('sbi_calls: sbi_ext_name; vm_exits: reason_name; interrupts: irq_name; event_list: priv_name, a_hex', () => {
    const sbi = json(linux, 'SELECT eid, sbi_ext_name FROM sbi_calls');
    expect(sbi.length).toBeGreaterThan(0);
    expect(sbi.find((r) => r.eid === 16)?.sbi_ext_name).toBe('BASE');
    const exits = json(guests, 'SELECT reason, reason_name, guest_pc_hex, payload_json FROM vm_exits');
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.find((r) => r.reason === 1)?.reason_name).toBe('sbi_call');
    expect(json(linux, 'SELECT bit, irq_name FROM interrupts LIMIT 1')[0]).toEqual({ bit: 7, irq_name: 'MTIP' });
    const ev = json(guests, "SELECT priv_name, a_hex, kind FROM event_list WHERE virt = 1 AND kind = 'sbi_call' LIMIT 1");
    expect(ev[0]).toMatchObject({ priv_name: 'VS', kind: 'sbi_call' });
    expect(ev[0]!.a_hex).toMatch(/^0x[0-9a-f]+$/);
  });

  it('a trace recorded before has them too, and is not modified', () => {
    const before = sha(old);
    const rows = json(old, 'SELECT csr_name, payload_json FROM csr_writes LIMIT 3');
    expect(rows.length).toBe(3);
    for (const r of rows) expect(typeof r.csr_name).toBe('string');
    expect(json(old, 'SELECT cause_name FROM traps LIMIT 1')[0]!.cause_name).toMatch(/\w/);
    expect(sha(old)).toBe(before);
  });

  it('the views stored in a new trace need no hvtrace functions (plain SQLite reads them)', () => {
    const Database = require('better-sqlite3') as new (p: string, o: object) => { prepare(s: string): { all(): unknown[] }; close(): void };
    const db = new Database(linux, { readonly: true });
    for (const v of ['traps', 'trap_returns', 'csr_writes', 'sbi_calls', 'mmio', 'interrupts', 'vm_exits', 'halts']) {
      expect(() => db.prepare(`SELECT * FROM ${v} LIMIT 1`).all(), v).not.toThrow();
    }
    db.close();
  });
});

describe('query --format', () => {
  it('table (default), csv, json; --json is --format json', () => {
    const sql = "SELECT seq, csr_name, payload_json FROM csr_writes WHERE csr_name = 'satp' ORDER BY seq LIMIT 2";
    const table = hv('query', linux, sql);
    expect(table.stdout.split('\n')[0]).toMatch(/^seq +csr_name +payload_json$/);
    expect(table.stdout).toMatch(/\(2 rows\)\n$/);
    expect(hv('query', linux, sql, '--format', 'table').stdout).toBe(table.stdout);
    const csv = hv('query', linux, sql, '--format', 'csv');
    expect(csv.status).toBe(0);
    const lines = csv.stdout.split('\r\n');
    expect(lines[0]).toBe('seq,csr_name,payload_json');
    expect(lines[1]).toMatch(/^\d+,satp,"\{""who"":""\w+""\}"$/);
    expect(lines).toHaveLength(4); // header, 2 rows, '' after the last CRLF
    expect(hv('query', linux, sql, '--json').stdout).toBe(hv('query', linux, sql, '--format', 'json').stdout);
    const bad = hv('query', linux, sql, '--format', 'xml');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('hvtrace: --format xml: expected table, csv or json\n');
  });
});

describe('query hint', () => {
  it("WHERE csr = 'satp' returns 0 rows with a hint naming csr_name and the number", () => {
    const r = hv('query', linux, "SELECT * FROM csr_writes WHERE csr = 'satp'");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\(0 rows\)/);
    expect(r.stderr).toBe("hvtrace: hint: 0 rows: csr is a number, and 'satp' is text: compare csr_name = 'satp' or csr = 0x180\n");
    const e = hv('query', linux, "SELECT * FROM sbi_calls WHERE eid = 'TIME'");
    expect(e.stderr).toMatch(/compare sbi_ext_name = 'TIME' or eid = 0x54494d45/);
    // No hint when rows are found, or for a text column.
    expect(hv('query', linux, "SELECT * FROM csr_writes WHERE csr = 0x180 LIMIT 1").stderr).toBe('');
    expect(hv('query', linux, "SELECT * FROM events WHERE kind = 'nothing'").stderr).toBe('');
  });
});
