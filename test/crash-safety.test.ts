/**
 * Issue 12: nothing lost, nothing misread.
 *
 * - A recording of the bundled Linux boot killed with SIGKILL at 10 points and with SIGINT /
 *   SIGTERM at 5 points each (0 to 2 s after its trace file appears, the first ~0.7 s included):
 *   every time `info` reads the file and says how it ended (truncated / aborted), `events` and
 *   `query` work, and `replay` verifies the prefix and exits 0 - no manual step.
 * - The same for a full disk: a file size limit (`ulimit -f`) hit while recording, and a stdout
 *   on a full device (/dev/full).
 * - -o safety: device nodes, directories, FIFOs and '' are refused (exit 2, one line, nothing
 *   deleted, /dev/null with --overwrite included); --overwrite onto a trace another process has
 *   open leaves that reader its file, and a reader holding a recording open when it finishes
 *   does not make it fail.
 * - Corruption: a corrupt payload, corrupt meta, a deleted events row and a damaged index page
 *   are each reported in one line naming the file, and never replay as a match.
 *
 * Needs the build (dist/cli/main.js) and guests/build/linux/Image.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const LINUX = `${ROOT}guests/build/linux/Image`;
const HELLO = `${ROOT}guests/build/hello.elf`;
const SMP = `${ROOT}guests/build/smp-kernel.elf`;
const LINUX_ARGS = ['record', '--kernel', LINUX, '--append', 'console=ttyS0'];

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-crash-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the CLI (asynchronously: cases run two at a time). */
function cli(args: string[], opts: { stdout?: 'pipe' | 'ignore' } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('error', reject);
    c.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
const cliSync = (args: string[]): Run => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForFile(p: string, child: ChildProcess, limitMs = 60_000): Promise<boolean> {
  const t0 = Date.now();
  while (!existsSync(p)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() - t0 > limitMs) return false;
    await sleep(2);
  }
  return true;
}

interface KillResult { killedAt: number | null; status: number | null; signal: NodeJS.Signals | null; stderr: string }

/** Record the Linux boot to `out` and send `sig` `afterMs` after the trace file appeared. */
async function recordAndKill(out: string, sig: NodeJS.Signals, afterMs: number): Promise<KillResult> {
  const c = spawn(process.execPath, [CLI, ...LINUX_ARGS, '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((res) => c.on('close', (status, signal) => res({ status, signal })));
  let killedAt: number | null = null;
  if (await waitForFile(out, c)) {
    const t0 = Date.now();
    if (afterMs > 0) await sleep(afterMs);
    if (c.exitCode === null && c.signalCode === null) {
      c.kill(sig);
      killedAt = Date.now() - t0;
    }
  }
  const r = await done; // reaped: its pid is gone, as after a crash
  return { killedAt, ...r, stderr };
}

/** What must hold for any trace a recording left behind, however it ended. */
async function expectUsable(out: string, what: string): Promise<{ status: string; events: number; replay: string }> {
  const [info, json, events, query] = await Promise.all([
    cli(['info', out]), cli(['info', out, '--json']), cli(['events', out, '--limit', '3']),
    cli(['query', out, 'SELECT kind, count(*) FROM events GROUP BY kind']),
  ]);
  for (const [name, r] of [['info', info], ['info --json', json], ['events', events], ['query', query]] as const) {
    expect(r.status, `${what}: ${name}: ${r.stderr}`).toBe(0);
    expect(r.stderr, `${what}: ${name}`).toBe('');
  }
  const j = JSON.parse(json.stdout) as { status: string; counts: { events: number } };
  expect(info.stdout, what).toMatch(new RegExp(`^status: +${j.status}`, 'm'));
  const replay = await cli(['replay', out]);
  expect(replay.status, `${what}: replay: ${replay.stdout}${replay.stderr}`).toBe(0);
  expect(replay.stdout, what).toMatch(/: match: /);
  return { status: j.status, events: j.counts.events, replay: replay.stdout };
}

/** Run `cases` two at a time. */
async function inPairs<T>(cases: T[], f: (c: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < cases.length; i += 2) await Promise.all(cases.slice(i, i + 2).map(f));
}

describe('a killed recording keeps its prefix', () => {
  it('SIGKILL at 10 points of a Linux recording: every command reads the trace, replay verifies the prefix', async () => {
    const points = [0, 60, 150, 300, 450, 700, 1000, 1400, 1900, 2500];
    const seen: string[] = [];
    let truncated = 0;
    await inPairs(points, async (ms) => {
      const out = join(dir, `kill-${ms}.trace`);
      const k = await recordAndKill(out, 'SIGKILL', ms);
      expect(existsSync(out), `kill at ${ms} ms: ${k.stderr}`).toBe(true);
      const u = await expectUsable(out, `SIGKILL ${ms} ms after the file appeared`);
      if (k.signal === 'SIGKILL') {
        // Killed while recording: a truncated prefix. On a fast host the last points can land
        // after the trace was finished (the process was tearing down): then it is complete and
        // replays whole. Nothing else is acceptable.
        expect(['truncated', 'complete'], `kill at ${ms} ms`).toContain(u.status);
        if (u.status === 'truncated') {
          truncated++;
          expect(u.replay).toMatch(/stopped at the end of what was recorded/);
        } else {
          expect(u.replay).not.toMatch(/stopped at the end of what was recorded/);
        }
      }
      seen.push(`${ms} ms: ${k.signal ?? `exit ${k.status}`}, ${u.status}, ${u.events} events`);
    });
    console.log(`SIGKILL points:\n  ${seen.sort((a, b) => parseInt(a) - parseInt(b)).join('\n  ')}`);
    // Most points land inside the recording (a fast machine may finish before the last ones).
    expect(truncated).toBeGreaterThanOrEqual(6);
  }, 600_000);

  for (const [sig, code, points] of [['SIGINT', 130, [0, 100, 300, 700, 1500]], ['SIGTERM', 143, [0, 50, 200, 500, 1200]]] as const) {
    it(`${sig} at 5 points (from the moment the file appears): exit ${code}, the trace closed as aborted`, async () => {
      const seen: string[] = [];
      await inPairs([...points], async (ms) => {
        const out = join(dir, `${sig}-${ms}.trace`);
        const k = await recordAndKill(out, sig, ms);
        expect(existsSync(out), `${sig} at ${ms} ms: exit ${k.status}: ${k.stderr}`).toBe(true);
        expect(k.signal, `${sig} at ${ms} ms killed the recorder: ${k.stderr}`).toBeNull();
        if (k.killedAt !== null && k.status !== 0) {
          expect(k.status, k.stderr).toBe(code);
          expect(k.stderr).toMatch(new RegExp(`trace \\(aborted\\) written to .*${sig}-${ms}\\.trace`));
        }
        const u = await expectUsable(out, `${sig} ${ms} ms after the file appeared`);
        if (k.status === code) expect(u.status).toBe('aborted');
        // nothing left next to it
        expect(readdirSync(dir).filter((f) => f.startsWith(`.${sig}-${ms}.trace`))).toEqual([]);
        seen.push(`${ms} ms: exit ${k.status}, ${u.status}, ${u.events} events`);
      });
      console.log(`${sig} points:\n  ${seen.sort((a, b) => parseInt(a) - parseInt(b)).join('\n  ')}`);
    }, 600_000);
  }

  it('a signal after the trace is written (the process is exiting) leaves exit 0 and a complete trace', async () => {
    // The exit waits for V8's compile threads (tens of ms); Node kills a process by the signal
    // there unless a listener is still installed (src/util/late-signals.ts). Sent the moment
    // the "trace written" line is read; before the fix most of these runs died by the signal.
    const seen: string[] = [];
    await inPairs(['SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM'] as const, async (sig) => {
      const out = join(dir, `late-${seen.length}-${sig}-${Math.random().toString(36).slice(2)}.trace`);
      const c = spawn(process.execPath, [CLI, 'record', '--kernel', HELLO, '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let sent = false;
      c.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sent && /trace written to/.test(stderr)) sent = c.kill(sig);
      });
      const r = await new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((res) => c.on('close', (status, signal) => res({ status, signal })));
      expect(sent, stderr).toBe(true);
      expect(r.signal, `${sig} after "trace written": ${stderr}`).toBeNull();
      expect(r.status, stderr).toBe(0);
      const t = TraceReader.open(out);
      try { expect(t.status).toBe('complete'); } finally { t.close(); }
      seen.push(`${sig}: exit ${r.status}`);
    });
    expect(seen).toHaveLength(6);
  }, 300_000);

  it('a killed trace is read without its -shm, and from a directory the reader cannot write to', async () => {
    // The latest kill that left events.
    const src = [2500, 1900, 1400, 1000, 700].map((ms) => join(dir, `kill-${ms}.trace`)).find((p) => {
      if (!existsSync(`${p}-wal`)) return false;
      const r = TraceReader.open(p);
      try { return r.status === 'truncated'; } finally { r.close(); }
    });
    if (!src) return;
    const events = TraceReader.open(src).eventCount();
    const noShm = join(dir, 'noshm');
    mkdirSync(noShm);
    copyFileSync(src, join(noShm, 'k.trace'));
    copyFileSync(`${src}-wal`, join(noShm, 'k.trace-wal'));
    const r = TraceReader.open(join(noShm, 'k.trace'));
    expect(r.status).toBe('truncated');
    expect(r.eventCount()).toBe(events);
    r.close();
    // Read-only directory (as an unprivileged user: root writes anywhere): a private copy is read.
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    copyFileSync(src, join(ro, 'k.trace'));
    copyFileSync(`${src}-wal`, join(ro, 'k.trace-wal'));
    if (process.getuid?.() !== 0 || spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', 'true']).status !== 0) return;
    spawnSync('chmod', ['-R', 'a+rX', dir]);
    spawnSync('chmod', ['555', ro]);
    const q = spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', `"${process.execPath}" "${CLI}" query "${join(ro, 'k.trace')}" "SELECT count(*) FROM events"`], { encoding: 'utf8' });
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toContain(String(events));
    expect(readdirSync(ro).sort()).toEqual(['k.trace', 'k.trace-wal']);
  });

  it('replay --to within a killed trace lands; beyond its last event is one line, exit 2', async () => {
    // The latest kill that left a truncated trace with events (later ones may have completed).
    const src = [2500, 1900, 1400, 1000, 700, 450].map((ms) => join(dir, `kill-${ms}.trace`)).find((p) => {
      if (!existsSync(p)) return false;
      const r = TraceReader.open(p);
      try { return r.status === 'truncated' && r.eventCount() > 100; } finally { r.close(); }
    });
    if (!src) return;
    const r = TraceReader.open(src);
    const last = r.event(r.maxSeq())!;
    r.close();
    const inside = await cli(['replay', src, '--to', `seq:${last.seq}`]);
    expect(inside.status, inside.stderr).toBe(0);
    const to = last.instret + 3_000_000;
    const beyond = await cli(['replay', src, '--to', String(to)]);
    expect(beyond.status, beyond.stdout + beyond.stderr).toBe(2);
    expect(beyond.stderr).toMatch(new RegExp(`^hvtrace: .*: position ${to} is beyond the end of the trace \\(the recording is truncated: it ends after event #${last.seq}\\)\n$`));
  });

  it('a second recording to the same -o after a kill says "file exists" (the killed trace is kept)', async () => {
    const out = join(dir, 'kill-0.trace');
    const r = await cli([...LINUX_ARGS, '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hvtrace: .*kill-0\.trace: file exists.*\n$/);
    expect(TraceReader.open(out).status).toBe('truncated');
  });
});

describe('a full disk', () => {
  it('a file size limit (ulimit -f) hit while recording: one line, exit 2, the trace aborted and readable', async () => {
    const seen: string[] = [];
    await inPairs([3000, 8000], async (kb) => {
      const out = join(dir, `fsize-${kb}.trace`);
      const r = spawnSync('bash', ['-c', `ulimit -f ${kb}; exec "$0" "$@"`, process.execPath, CLI, ...LINUX_ARGS, '-o', out],
        { cwd: dir, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'ignore', 'pipe'] });
      expect(r.signal, r.stderr).toBeNull();
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^hvtrace: .*fsize-${kb}\\.trace: cannot write the trace: [^\\n]*\\n$`));
      const u = await expectUsable(out, `ulimit -f ${kb}`);
      expect(['aborted', 'truncated']).toContain(u.status);
      expect(u.replay).toMatch(/stopped at the end of what was recorded/);
      seen.push(`ulimit -f ${kb}: ${u.status}, ${u.events} events; ${r.stderr.trim()}`);
    });
    console.log(seen.join('\n'));
  }, 600_000);

  it('a small tmpfs that fills (where it can be mounted): one line, exit 2, the trace readable', async () => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).status !== 0) return; // not allowed here
    try {
      const out = join(mnt, 'full.trace');
      const r = await cli([...LINUX_ARGS, '-o', out], { stdout: 'ignore' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^hvtrace: .*full\.trace: cannot write the trace: the disk is full \([^\n]*; the trace keeps what was written before \([^\n]*\)\n$/);
      const u = await expectUsable(out, 'tmpfs full');
      // With no room at all even the status cannot be written: it reads as truncated.
      expect(['aborted', 'truncated']).toContain(u.status);
      expect(r.stderr).toContain(u.status === 'aborted' ? 'status aborted' : 'reads as truncated');
      expect(u.events).toBeGreaterThan(0);
      console.log(`tmpfs 4 MiB: ${u.status}, ${u.events} events; ${r.stderr.trim()}`);
    } finally {
      spawnSync('umount', [mnt]);
    }
  }, 300_000);

  it('stdout on a full device (/dev/full): one line, exit 2, the trace aborted and readable', async () => {
    if (!existsSync('/dev/full')) return;
    const out = join(dir, 'devfull.trace');
    const fd = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [CLI, 'record', '--kernel', SMP, '--smp', '2', '-o', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', fd, 'pipe'], timeout: 120_000 });
    closeSync(fd);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^hvtrace: stdout: [^\n]*trace \(aborted\) written to [^\n]*devfull\.trace[^\n]*\n$/);
    const u = await expectUsable(out, 'stdout on /dev/full');
    expect(u.status).toBe('aborted');
  });
});

describe('-o safety', () => {
  it('refuses anything but a regular file or a new path, with one line and exit 2, and deletes nothing', async () => {
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const sub = join(dir, 'subdir');
    mkdirSync(sub, { recursive: true });
    for (const [target, re] of [
      ['/dev/null', /\/dev\/null: a character device, not a trace file/],
      [sub, /subdir: a directory, not a trace file/],
      ...(existsSync(fifo) ? [[fifo, /fifo: a FIFO, not a trace file/] as const] : []),
      ['', /^hvtrace: -o: the trace file name is empty/],
      [join(dir, 'nodir', 'x.trace'), /directory .*nodir does not exist/],
    ] as const) {
      for (const extra of [[], ['--overwrite']]) {
        const r = cliSync(['record', '-q', '--kernel', HELLO, ...extra, '-o', target]);
        expect(r.status, `${target} ${extra.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(re);
        expect(r.stderr.split('\n').length, r.stderr).toBe(2); // one line
      }
    }
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(statSync(sub).isDirectory()).toBe(true);
    if (existsSync(fifo)) expect(statSync(fifo).isFIFO()).toBe(true);
    // No temporary file was even started for them.
    expect(readdirSync(dir).filter((f) => /^\.(fifo|subdir)\./.test(f))).toEqual([]);
    expect(readdirSync('/dev').filter((f) => f.startsWith('.null.'))).toEqual([]);
  });

  it('--overwrite of a trace another process is reading: the reader keeps its file, the recording succeeds', async () => {
    const out = join(dir, 'shared.trace');
    expect(cliSync(['record', '-q', '--kernel', HELLO, '-o', out]).status).toBe(0);
    const old = TraceReader.open(out);
    const oldEvents = old.readEvents();
    try {
      // A replay in another process holds it open too.
      const replaying = cli(['replay', out]);
      const r = await cli(['record', '-q', '--overwrite', '--kernel', SMP, '--smp', '2', '-o', out], { stdout: 'ignore' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect((await replaying).status).toBe(0);
      // the old reader still reads the old trace
      expect(old.readEvents()).toEqual(oldEvents);
      expect(old.config.machine!.kernel!.name).toBe(HELLO);
    } finally {
      old.close();
    }
    const now = TraceReader.open(out);
    try {
      expect(now.status).toBe('complete');
      expect(now.config.machine!.kernel!.name).toBe(SMP);
    } finally {
      now.close();
    }
    expect(existsSync(`${out}-wal`)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.shared.trace'))).toEqual([]);
    expect((await cli(['replay', out])).status).toBe(0);
  });

  it('SIGKILL during --overwrite: the old trace stays in place; the next --overwrite clears the leftover', async () => {
    const out = join(dir, 'over.trace');
    expect(cliSync(['record', '-q', '--kernel', HELLO, '-o', out]).status).toBe(0);
    const c = spawn(process.execPath, [CLI, ...LINUX_ARGS, '--overwrite', '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
    const done = new Promise<void>((res) => c.on('close', () => res()));
    const temps = (): string[] => readdirSync(dir).filter((f) => f.startsWith('.over.trace.hvtrace-') && f.endsWith('.tmp'));
    const t0 = Date.now();
    // Until the new trace is being recorded (in WAL mode) under its temporary name.
    while (!readdirSync(dir).some((f) => f.startsWith('.over.trace.hvtrace-') && f.endsWith('.tmp-wal')) && Date.now() - t0 < 60_000) await sleep(2);
    await sleep(500);
    c.kill('SIGKILL');
    await done;
    const old = TraceReader.open(out);
    expect(old.status).toBe('complete');
    expect(old.config.machine!.kernel!.name).toBe(HELLO);
    old.close();
    // The killed recording is itself a readable (truncated) trace under the temporary name.
    expect(temps().length).toBe(1);
    const left = join(dir, temps()[0]!);
    const info = await cli(['info', left]);
    expect(info.stdout, info.stderr).toMatch(/^status: +truncated/m);
    expect(cliSync(['record', '-q', '--overwrite', '--kernel', SMP, '-o', out]).status).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('.over.trace.'))).toEqual([]);
    expect(TraceReader.open(out).config.machine!.kernel!.name).toBe(SMP);
  });

  it('a reader holding a new recording open while it finishes does not make it fail', async () => {
    const out = join(dir, 'watched.trace');
    const c = spawn(process.execPath, [CLI, 'record', '-q', '--kernel', SMP, '--smp', '4', '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const done = new Promise<number | null>((res) => c.on('close', (s) => res(s)));
    expect(await waitForFile(out, c)).toBe(true);
    const r = TraceReader.open(out);
    expect(['recording', 'complete']).toContain(r.status);
    const status = await done;
    expect(status, stderr).toBe(0);
    expect(stderr).toBe('');
    r.close();
    const u = await expectUsable(out, 'read while recorded');
    expect(u.status).toBe('complete');
  });
});

describe('corruption is reported in one line naming the file', () => {
  let base = '';
  beforeAll(() => {
    base = join(dir, 'base.trace');
    const r = cliSync(['record', '-q', '--kernel', SMP, '--smp', '2', '-o', base]);
    expect(r.status, r.stderr).toBe(0);
  });
  const copy = (name: string, f: (db: Database.Database) => void): string => {
    const p = join(dir, name);
    copyFileSync(base, p);
    const db = new Database(p);
    f(db);
    db.close();
    return p;
  };
  const oneLine = (r: Run, re: RegExp, what: string): void => {
    expect(r.status, `${what}: ${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stderr, what).toMatch(re);
    expect(r.stderr.split('\n').length, `${what}: ${r.stderr}`).toBe(2);
  };

  it('a corrupt payload: "FILE: event #N has a corrupt payload" from events and replay', () => {
    const p = copy('payload.trace', (db) => {
      const seq = db.prepare('SELECT seq FROM events WHERE payload IS NOT NULL ORDER BY seq LIMIT 1 OFFSET 20').pluck().get() as number;
      db.prepare("UPDATE events SET payload = x'c1c1c1' WHERE seq = ?").run(seq);
    });
    const seq = Number(new Database(p, { readonly: true }).prepare("SELECT seq FROM events WHERE payload = x'c1c1c1'").pluck().get());
    const re = new RegExp(`^hvtrace: .*payload\\.trace: event #${seq} has a corrupt payload\\n$`);
    oneLine(cliSync(['events', p]), re, 'events');
    oneLine(cliSync(['replay', p]), re, 'replay');
    expect(cliSync(['info', p]).status).toBe(0); // info reads no payload
  });

  it('corrupt meta: "FILE: corrupt meta \'KEY\'"', () => {
    for (const key of ['counts', 'exit', 'config', 'loaded_images']) {
      const p = copy(`meta-${key}.trace`, (db) => db.prepare("UPDATE meta SET value = '{not json' WHERE key = ?").run(key));
      oneLine(cliSync(['info', p]), new RegExp(`^hvtrace: .*meta-${key}\\.trace: corrupt meta '${key}'\\n$`), `meta ${key}`);
    }
    const s = copy('meta-status.trace', (db) => db.prepare("UPDATE meta SET value = 'bogus' WHERE key = 'status'").run());
    oneLine(cliSync(['info', s]), /^hvtrace: .*meta-status\.trace: corrupt meta 'status'/, 'meta status');
  });

  it('a deleted events row: info counts what is there and says so; replay warns and diverges', () => {
    let n = 0;
    const p = copy('deleted.trace', (db) => {
      n = Number(db.prepare('SELECT count(*) FROM events').pluck().get());
      db.prepare("DELETE FROM events WHERE seq = (SELECT seq FROM events WHERE kind = 'trap' LIMIT 1 OFFSET 3)").run();
    });
    const info = cliSync(['info', p, '--json']);
    expect(info.status).toBe(0);
    const j = JSON.parse(info.stdout) as { counts: { events: number }; exact: boolean; problems: string[] };
    expect(j.counts.events).toBe(n - 1);
    expect(j.exact).toBe(false);
    expect(j.problems.join(';')).toMatch(/events are missing/);
    expect(info.stderr).toMatch(/warning: .*deleted\.trace: .*events are missing/);
    const text = cliSync(['info', p]);
    expect(text.stdout).toMatch(new RegExp(`^events: +${n - 1} +\\(DAMAGED: .*its recording wrote ${n}`, 'm'));
    const r = cliSync(['replay', p]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^warning: the trace is damaged: events are missing/m);
    expect(r.stdout).toMatch(/DIVERGENCE/);
  });

  it('a damaged index page does not replay as a match', () => {
    const p = join(dir, 'index.trace');
    copyFileSync(base, p);
    const db = new Database(p, { readonly: true });
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const root = Number(db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'events_hart'").pluck().get());
    db.close();
    // Scribble over the cells at the end of the index's root page (its header stays plausible).
    const fd = openSync(p, 'r+');
    writeSync(fd, Buffer.alloc(600, 0x5a), 0, 600, root * pageSize - 600);
    closeSync(fd);
    const r = cliSync(['replay', p]);
    expect(r.stdout).not.toMatch(/: match: /);
    oneLine(r, /^hvtrace: .*index\.trace: .*damaged/, 'replay');
    // diff never reads that page either: it must not call the two traces the same.
    const d = cliSync(['diff', base, p]);
    expect(d.stdout).not.toMatch(/same/);
    oneLine(d, /^hvtrace: .*index\.trace: .*damaged/, 'diff');
  });

  it('a hot rollback journal (a writer killed mid-transaction): every command reads the last committed state', async () => {
    const p = join(dir, 'hot.trace');
    copyFileSync(base, p);
    const n = Number(new Database(p, { readonly: true }).prepare('SELECT count(*) FROM events').pluck().get());
    const script = `const D = require(${JSON.stringify(`${ROOT}node_modules/better-sqlite3`)}); const db = new D(${JSON.stringify(p)});
      db.pragma('cache_size = 2'); db.exec('BEGIN'); db.exec('DELETE FROM events'); process.kill(process.pid, 'SIGKILL');`;
    spawnSync(process.execPath, ['-e', script]);
    expect(existsSync(`${p}-journal`)).toBe(true);
    const u = await expectUsable(p, 'hot journal');
    expect(u.events).toBe(n);
    expect(existsSync(`${p}-journal`)).toBe(true); // the readers changed nothing
  });

  it('a truncated or foreign file: a clear error, the file untouched', () => {
    const t = join(dir, 'cut.trace');
    copyFileSync(base, t);
    const size = statSync(base).size;
    spawnSync('truncate', ['-s', String(Math.floor(size / 2 / 4096) * 4096), t]);
    const before = readFileSync(t);
    for (const cmd of [['info', t], ['events', t], ['query', t, 'SELECT 1'], ['replay', t]]) {
      oneLine(cliSync(cmd), /^hvtrace: .*cut\.trace: not an hvtrace trace \(truncated/, cmd[0]!);
    }
    expect(readFileSync(t).equals(before)).toBe(true);
    const f = join(dir, 'foreign.trace');
    copyFileSync(HELLO, f);
    oneLine(cliSync(['info', f]), /^hvtrace: .*foreign\.trace: not an hvtrace trace/, 'foreign');
  });
});
