/**
 * `hvtrace record`, `info`, `events`, `query` through the CLI: outputs, file naming, exit codes,
 * read-only guarantees, SIGINT -> an aborted but readable trace.
 *
 * Needs the build (dist/cli/main.js): `npm test` builds first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const HELLO = `${ROOT}guests/build/hello.elf`;
const BENCH = `${ROOT}guests/build/bench.elf`;

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-cli-trace-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const digest = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('hvtrace record', () => {
  it('records a kernel to -o FILE; the console still goes to stdout', () => {
    const out = join(dir, 'hello.trace');
    const r = cli(['record', '--kernel', HELLO, '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Hello');
    expect(r.stderr).toMatch(/trace written to .*hello\.trace: \d+ events/);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${out}-wal`)).toBe(false);
    // an existing file is not overwritten without --overwrite
    const again = cli(['record', '--kernel', HELLO, '-o', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^hvtrace: .*file exists/);
    expect(cli(['record', '-q', '--overwrite', '--kernel', HELLO, '-o', out]).status).toBe(0);
  });

  it('without a kernel records the bundled smp-kernel on 4 harts to traces/smp-kernel-<n>.trace', () => {
    const cwd = join(dir, 'work');
    mkdirSync(cwd);
    const a = cli(['record', '-q'], cwd);
    expect(a.status).toBe(0);
    expect(a.stdout).toContain('PASS');
    expect(a.stderr).toBe(''); // -q: nothing but errors (issue 13)
    expect(existsSync(join(cwd, 'traces', 'smp-kernel-1.trace'))).toBe(true);
    const b = cli(['record'], cwd);
    expect(b.status).toBe(0);
    expect(b.stderr).toContain(join(cwd, 'traces', 'smp-kernel-2.trace'));
    const info = cli(['info', join(cwd, 'traces', 'smp-kernel-1.trace'), '--json']);
    expect(info.status).toBe(0);
    const j = JSON.parse(info.stdout);
    expect(j.config.machine.harts).toBe(4);
    expect(j.counts.instret.length).toBe(4);
  });

  it('bad flags and images exit 2 and leave no trace file', () => {
    const out = join(dir, 'bad.trace');
    const r = cli(['record', '--kernel', join(dir, 'missing.elf'), '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hvtrace: kernel .*missing\.elf: no such file\n$/);
    expect(existsSync(out)).toBe(false);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(0));
    const r2 = cli(['record', '--kernel', junk, '-o', out]);
    expect(r2.status).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(cli(['record', '--kernel', HELLO, '--digest-every', 'lots', '-o', out]).status).toBe(2);
  });

  it('SIGINT finishes the current batch and leaves an aborted, readable trace', async () => {
    const out = join(dir, 'sigint.trace');
    const child = spawn(process.execPath, [CLI, 'record', '-q', '--kernel', BENCH, '-o', out, '--digest-every', '1M'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    // wait until the guest is running (its first console line), then interrupt
    for (let i = 0; i < 600 && !stdout.includes('bench:'); i++) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/trace \(aborted\) written to .*sigint\.trace/);
    const info = cli(['info', out, '--json']);
    expect(info.status).toBe(0);
    const j = JSON.parse(info.stdout);
    expect(j.status).toBe('aborted');
    expect(j.exit.message).toBe('recording interrupted by SIGINT');
    expect(j.counts.totalInstret).toBeGreaterThan(0);
    expect(j.counts.totalInstret).toBeLessThan(290_000_000);
  });
});

describe('hvtrace info / events / query', () => {
  let trace = '';
  beforeAll(() => {
    trace = join(dir, 'smp.trace');
    const r = cli(['record', '-q', '--kernel', `${ROOT}guests/build/smp-kernel.elf`, '--smp', '2', '-o', trace]);
    expect(r.status).toBe(0);
  });

  it('info describes the trace', () => {
    const before = digest(trace);
    const r = cli(['info', trace]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^status: +complete \(poweroff, exit 0: SBI shutdown\)$/m);
    expect(r.stdout).toMatch(/^machine: +2 harts, 256 MiB RAM, bios builtin, kernel .*smp-kernel\.elf$/m);
    expect(r.stdout).toMatch(/^ {2}kernel +.*smp-kernel\.elf +\d+ bytes +sha256 [0-9a-f]{64} +at 0x80200000-/m);
    expect(r.stdout).toMatch(/^instructions: hart0=\d+ hart1=\d+ +total \d+$/m);
    expect(r.stdout).toMatch(/^ {2}sbi_call +\d+$/m);
    expect(r.stdout).toContain('PASS'); // the end of the console (its last 20 lines)
    expect(cli(['info', trace, '--console']).stdout).toContain('smp-kernel: boot');
    const j = JSON.parse(cli(['info', trace, '--json']).stdout);
    expect(j.status).toBe('complete');
    expect(j.images[0].sha256).toBe(createHash('sha256').update(readFileSync(`${ROOT}guests/build/smp-kernel.elf`)).digest('hex'));
    expect(j.counts.byKind.trap).toBeGreaterThan(0);
    expect(j.console).toContain('PASS');
    expect(digest(trace)).toBe(before);
  });

  it('events lists events with the instruction at pc', () => {
    const r = cli(['events', trace, '--kind', 'sbi_call', '--limit', '3']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(3);
    for (const l of lines) expect(l).toMatch(/^ *\d+ +h\d S +vt=\d+ i=\d+ +0x8020[0-9a-f]+ <\w+\+0x[0-9a-f]+> +sbi_call +\w+ fid=\d+ .* \| ecall$/);
    const h1 = cli(['events', trace, '--hart', '1', '--kind', 'trap,trap_return', '--limit', '4']);
    expect(h1.stdout.trim().split('\n').every((l) => / h1 /.test(l) && /trap/.test(l))).toBe(true);
    const range = cli(['events', trace, '--from', '5', '--to', '9', '--json']);
    const evs = range.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(evs.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(evs[0].kind).toBe('csr_write');
    expect(evs[0].pc).toMatch(/^0x[0-9a-f]+$/);
    const trap = JSON.parse(cli(['events', trace, '--kind', 'trap', '--limit', '1', '--json']).stdout);
    expect(trap.insn).toBe('ecall');
    expect(trap.symbol).toMatch(/^\w+\+0x/);
    const bad = cli(['events', trace, '--kind', 'bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^hvtrace: --kind bogus: unknown event kind/);
  });

  it('query runs read-only SQL and refuses writes', () => {
    const before = { d: digest(trace), m: statSync(trace).mtimeMs };
    const q = cli(['query', trace, 'SELECT hart, count(*) AS n FROM traps GROUP BY hart ORDER BY hart']);
    expect(q.status).toBe(0);
    expect(q.stdout).toMatch(/^hart +n\n-+ +-+\n0 +\d+\n1 +\d+\n\(2 rows\)\n$/);
    const j = JSON.parse(cli(['query', trace, "SELECT csr, new_hex FROM csr_writes WHERE csr = 0x105 LIMIT 1", '--json']).stdout);
    expect(j).toEqual([{ csr: 0x105, new_hex: expect.stringMatching(/^0x/) }]);
    for (const sql of ['DELETE FROM events', 'DROP VIEW traps', "UPDATE meta SET value = 'x' WHERE key = 'status'", 'PRAGMA user_version = 9']) {
      const w = cli(['query', trace, sql]);
      expect(w.status, sql).toBe(2);
      expect(w.stderr).toMatch(/^hvtrace: query: only read-only statements/);
    }
    expect(cli(['query', trace, 'SELECT * FROM nosuchtable']).status).toBe(2);
    expect(digest(trace)).toBe(before.d);
    expect(statSync(trace).mtimeMs).toBe(before.m);
    expect(existsSync(`${trace}-wal`) || existsSync(`${trace}-shm`)).toBe(false);
  });

  it('commands on a file that is not a trace exit 2 with one line', () => {
    const p = join(dir, 'notatrace.trace');
    writeFileSync(p, 'hello');
    for (const args of [['info', p], ['events', p], ['query', p, 'SELECT 1'], ['info', join(dir, 'nope.trace')]]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^hvtrace: .*(not an hvtrace trace|no such file).*\n$/);
    }
    expect(readFileSync(p, 'utf8')).toBe('hello');
  });
});
