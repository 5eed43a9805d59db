/**
 * The exit-code contract (README "Exit codes", issue 12): for every command, a typo'd option, a
 * missing argument, a bad value, an unreadable file and stdout on a full device (/dev/full) each
 * end with exit 2 and exactly one line on stderr, prefixed `hvtrace:`, with no stack trace.
 * (Exit 1 is reserved for a divergence or difference found by `replay` and `diff`, so that a
 * mistyped option in a CI job is never read as a regression.)
 *
 * Needs the build (dist/cli/main.js): `npm test` builds first.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const HELLO = `${ROOT}guests/build/hello.elf`;

let dir = '';
let trace = '';
let qlog = '';
let foreign = '';

interface Result { status: number | null; signal: string | null; stderr: string; stdout: string }

function hv(args: string[], stdoutToFull = false): Result {
  // stdout: a pipe, or /dev/full (every write fails with ENOSPC); stdin: empty and closed.
  const full = stdoutToFull ? openSync('/dev/full', 'w') : null;
  try {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      input: '', encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', cwd: ROOT,
      stdio: ['pipe', full ?? 'pipe', 'pipe'],
    });
    return { status: r.status, signal: r.signal, stderr: r.stderr ?? '', stdout: r.stdout ?? '' };
  } finally {
    if (full !== null) closeSync(full);
  }
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-exit-'));
  trace = join(dir, 'hello.trace');
  const r = hv(['record', '--kernel', HELLO, '-o', trace, '-q']);
  expect(r.status, r.stderr).toBe(0);
  qlog = join(dir, 'qemu.log');
  writeFileSync(qlog, 'riscv_cpu_do_interrupt: hart:0, async:0, cause:0000000000000009, epc:0x0000000080200000, tval:0x0000000000000000, desc=supervisor_ecall\n');
  foreign = join(dir, 'notes.txt');
  writeFileSync(foreign, 'not a trace\n');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const NO = '/nonexistent/file.trace';
type Case = [what: string, args: () => string[], stdoutToFull?: boolean];

/** Per command: the five kinds of bad input (a kind that does not apply is left out, with why). */
const table: Record<string, Case[]> = {
  run: [
    ["typo'd option", () => ['run', '--kernal', HELLO]],
    ['missing argument', () => ['run', '--kernel']],
    ['bad value', () => ['run', '--kernel', HELLO, '--quantum', '0']],
    ['unreadable file', () => ['run', '--kernel', NO]],
    ['stdout on /dev/full', () => ['run', '--kernel', HELLO, '-q'], true],
  ],
  record: [
    ["typo'd option", () => ['record', '--kernel', HELLO, '--outptu', join(dir, 'r1.trace')]],
    ['missing argument', () => ['record', '--kernel', HELLO, '-o']],
    ['bad value', () => ['record', '--kernel', HELLO, '--checkpoint-every', 'lots', '-o', join(dir, 'r2.trace')]],
    ['unreadable file', () => ['record', '--kernel', NO, '-o', join(dir, 'r3.trace')]],
    ['stdout on /dev/full', () => ['record', '--kernel', HELLO, '-o', join(dir, 'r4.trace'), '-q'], true],
  ],
  info: [
    ["typo'd option", () => ['info', trace, '--jsn']],
    ['missing argument', () => ['info']],
    ['bad value (a file that is not a trace)', () => ['info', foreign]],
    ['unreadable file', () => ['info', NO]],
    ['stdout on /dev/full', () => ['info', trace], true],
  ],
  events: [
    ["typo'd option", () => ['events', trace, '--kin', 'trap']],
    ['missing argument', () => ['events']],
    ['bad value', () => ['events', trace, '--limit', 'abc']],
    ['unreadable file', () => ['events', NO]],
    ['stdout on /dev/full', () => ['events', trace], true],
  ],
  query: [
    ["typo'd option", () => ['query', trace, 'SELECT 1', '--jsn']],
    ['missing argument', () => ['query', trace]],
    ['bad value (a statement that writes)', () => ['query', trace, 'DELETE FROM events']],
    ['unreadable file', () => ['query', NO, 'SELECT 1']],
    ['stdout on /dev/full', () => ['query', trace, 'SELECT seq FROM events'], true],
  ],
  replay: [
    ["typo'd option", () => ['replay', trace, '--too', '5']],
    ['missing argument', () => ['replay']],
    ['bad value', () => ['replay', trace, '--to', 'bogus']],
    ['unreadable file', () => ['replay', NO]],
    ['stdout on /dev/full', () => ['replay', trace], true],
  ],
  diff: [
    ["typo'd option", () => ['diff', trace, trace, '--formt', 'junit']],
    ['missing argument', () => ['diff', trace]],
    ['bad value', () => ['diff', trace, trace, '--format', 'xml']],
    ['unreadable file', () => ['diff', NO, trace]],
    ['stdout on /dev/full', () => ['diff', trace, trace], true],
  ],
  'import qemu': [
    ["typo'd option", () => ['import', 'qemu', qlog, '--outptu', join(dir, 'q1.trace')]],
    ['missing argument', () => ['import', 'qemu']],
    ['bad value (no -o)', () => ['import', 'qemu', qlog]],
    ['unreadable file', () => ['import', 'qemu', NO, '-o', join(dir, 'q2.trace')]],
    // import writes its summary to stderr and nothing to stdout: /dev/full does not apply.
  ],
};

describe('exit-code contract: bad input or usage is exit 2 with one line, for every command', () => {
  for (const [cmd, cases] of Object.entries(table)) {
    describe(cmd, () => {
      it.each(cases)('%s', (_what, args, full) => {
        const r = hv(args(), full === true);
        const ctx = `hvtrace ${args().join(' ')}${full ? ' > /dev/full' : ''}: exit ${r.status}, signal ${r.signal}\nstderr:\n${r.stderr}`;
        expect(r.signal, ctx).toBeNull();
        expect(r.status, ctx).toBe(2);
        const lines = r.stderr.replace(/\n$/, '').split('\n');
        expect(lines, ctx).toHaveLength(1);
        expect(lines[0], ctx).toMatch(/^hvtrace: \S/);
        expect(lines[0], ctx).not.toMatch(/\bat .*:\d+:\d+|node:internal|Error:/);
      });
    });
  }
});

describe('exit-code contract: the successful paths', () => {
  it('--help and --version exit 0; no command at all is a usage error (2)', () => {
    expect(hv(['--help']).status).toBe(0);
    expect(hv(['--version']).status).toBe(0);
    expect(hv(['run', '--help']).status).toBe(0);
    expect(hv([]).status).toBe(2);
  });

  it('query accepts SQL that begins with a comment', () => {
    const r = hv(['query', trace, '-- the number of events\nSELECT count(*) AS n FROM events', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].n).toBeGreaterThan(0);
  });

  it('replay of an unchanged trace and diff of a trace with itself exit 0', () => {
    expect(hv(['replay', trace]).status).toBe(0);
    expect(hv(['diff', trace, trace]).status).toBe(0);
  });
});
