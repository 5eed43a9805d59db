/**
 * `replay --to` in an unfinished recording (truncated or aborted without final counts): it ends
 * where its events do. A position after the last recorded event is one line, exit 2, naming that
 * event -- whether the replay would run into an event the recording lacks, run on for millions
 * of instructions without one, or reach the guest's own end first.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const dir = mkdtempSync(join(tmpdir(), 'hvtrace-unfinished-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hv = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '' });

/** A copy of the golden hello trace cut after event `keep`, as an interrupted recording leaves it. */
function truncatedCopy(keep: number): { path: string; last: { seq: number; instret: number } } {
  const path = join(dir, `hello-cut-${keep}.trace`);
  copyFileSync(join(ROOT, 'traces/golden/hello-smp1.trace'), path);
  const db = new Database(path);
  db.prepare('DELETE FROM events WHERE seq > ?').run(keep);
  // What an interrupted recording leaves when it could not write its final counts.
  db.prepare("DELETE FROM meta WHERE key = 'counts'").run();
  db.prepare("UPDATE meta SET value = 'aborted' WHERE key = 'status'").run();
  db.prepare(`UPDATE meta SET value = '{"kind":"aborted","exitCode":130,"message":"recording interrupted"}' WHERE key = 'exit'`).run();
  const last = db.prepare('SELECT seq, instret FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; instret: number };
  db.close();
  return { path, last };
}

describe('replay --to in an unfinished recording', () => {
  const msg = (pos: number, seq: number) => new RegExp(`^hvtrace: .*: position ${pos} is beyond the end of the trace \\(the recording is aborted: it ends after event #${seq}\\)\\n$`);

  it('lands before its last event; one instruction after it is beyond, as is a position past the guest\'s own end', () => {
    const { path, last } = truncatedCopy(40);
    expect(hv(['replay', path, '--to', `seq:${last.seq}`]).status).toBe(0);
    expect(hv(['replay', path, '--to', String(last.instret)]).status).toBe(0);
    for (const pos of [last.instret + 1, 1_000_000_000]) {
      const r = hv(['replay', path, '--to', String(pos)]);
      expect(r.status, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg(pos, last.seq));
    }
  });
});
