/**
 * Symbols travel with the trace (issue 13): `record` stores the System.map found next to a raw
 * kernel Image (and `record --symbols` files) in the trace's `symbols` table, and every reader
 * uses it wherever it runs. A trace recorded in one directory and read from another, where the
 * System.map is not reachable, shows the same symbols; `--symbols` still overrides; a trace
 * recorded before (no `symbols` table) still opens, and says why it has no kernel symbols.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const require = createRequire(import.meta.url);

let dir: string;
let trace: string;
let elsewhere: string;

function hv(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '', maxBuffer: 64 << 20 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-symtravel-'));
  trace = join(dir, 'linux.trace');
  elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  // Recorded from the repository: the kernel is the relative path guests/build/linux/Image, its
  // System.map next to it. ~3M instructions: past relocate_enable_mmu into the virtual kernel.
  const rec = hv(ROOT, 'record', '--kernel', 'guests/build/linux/Image', '--append', 'console=ttyS0', '--max-insns', '3000000', '-o', trace, '-q');
  expect(rec.stderr).not.toMatch(/warning/);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('symbols travel with the trace', () => {
  it('record stores the System.map next to the raw kernel Image, compressed', () => {
    const q = hv(ROOT, 'query', trace, 'SELECT role, name, format, count, size > length(data) AS compressed FROM symbols', '--json');
    expect(q.status, q.stderr).toBe(0);
    const rows = JSON.parse(q.stdout) as { role: string; name: string; format: string; count: number; compressed: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ role: 'kernel', name: 'guests/build/linux/System.map', format: 'system.map', compressed: 1 });
    expect(rows[0]!.count).toBeGreaterThan(1000);
  });

  it('events shows the same symbols read from another directory (the System.map not reachable)', () => {
    const here = hv(ROOT, 'events', trace, '--limit', '400');
    const there = hv(elsewhere, 'events', trace, '--limit', '400');
    expect(here.status, here.stderr).toBe(0);
    expect(there.status, there.stderr).toBe(0);
    expect(there.stderr).toBe('');
    expect(there.stdout).toBe(here.stdout);
    // Physical pcs before the MMU (the alias) and virtual ones after it are named.
    expect(there.stdout).toMatch(/0x80200088 <relocate_enable_mmu\+0x48>/);
    expect(there.stdout).toMatch(/0xffffffff8[0-9a-f]{7} <[a-z_]/);
    // JSON output too, and a copy of the trace moved away keeps them.
    const copy = join(elsewhere, 'copy.trace');
    copyFileSync(trace, copy);
    const j1 = hv(ROOT, 'events', trace, '--limit', '100', '--json');
    const j2 = hv(elsewhere, 'events', 'copy.trace', '--limit', '100', '--json');
    expect(j2.stdout).toBe(j1.stdout);
    expect(j2.stdout).toMatch(/"symbol":"relocate_enable_mmu\+0x48"/);
  });

  it('replay --to a kernel symbol resolves it from the stored table, from another directory', () => {
    const r = hv(elsewhere, 'replay', trace, '--to', 'pc:start_kernel');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/start_kernel/);
  });

  it('--symbols still overrides the stored table', () => {
    const map = readFileSync(join(ROOT, 'guests/build/linux/System.map'), 'latin1').replace(/ relocate_enable_mmu$/m, ' my_relocate');
    const mine = join(dir, 'mine.map');
    writeFileSync(mine, map);
    const r = hv(elsewhere, 'events', trace, '--limit', '400', '--symbols', mine);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0x80200088 <my_relocate\+0x48>/);
    expect(r.stdout).not.toMatch(/relocate_enable_mmu/);
  });

  it('a trace recorded before symbols were stored still opens; elsewhere it warns that it has none', () => {
    const old = join(dir, 'old.trace');
    copyFileSync(trace, old);
    const Database = require('better-sqlite3') as new (p: string) => { exec(s: string): void; close(): void };
    const db = new Database(old);
    db.exec('DROP TABLE symbols');
    db.close();
    const here = hv(ROOT, 'events', old, '--limit', '400');
    expect(here.status, here.stderr).toBe(0);
    expect(here.stdout).toBe(hv(ROOT, 'events', trace, '--limit', '400').stdout); // the System.map next to the Image, as before
    const there = hv(elsewhere, 'events', old, '--limit', '400');
    expect(there.status, there.stderr).toBe(0);
    expect(there.stdout).not.toMatch(/relocate_enable_mmu/);
    expect(there.stderr).toMatch(/warning: no symbols for the kernel image guests\/build\/linux\/Image: .*--symbols/);
    expect(hv(elsewhere, 'info', old).status).toBe(0);
  });

  it('record --symbols stores another symbol file (any image)', () => {
    const t = join(dir, 'hello.trace');
    const rec = hv(ROOT, 'record', '--kernel', 'guests/build/hello.elf', '--symbols', 'guests/build/smp-kernel.elf', '-o', t, '-q');
    expect(rec.status, rec.stderr).toBe(0);
    const q = hv(ROOT, 'query', t, 'SELECT role, name, format FROM symbols', '--json');
    expect(JSON.parse(q.stdout)).toEqual([{ role: null, name: 'guests/build/smp-kernel.elf', format: 'elf' }]);
  });
});
