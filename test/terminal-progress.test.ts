/**
 * On a terminal, the progress line and the guest console never mix (issue 13: seen were
 * `[hvtrace] 21.6M insns  27 MIPS  vtime 0.021 sLinux version 6.1.192 ...`). `hvtrace run` of the
 * bundled Linux boot runs under a pseudo-terminal (util-linux `script`), so stdout and stderr are
 * the same terminal; the captured bytes are replayed through a minimal terminal model (CR, LF,
 * ESC[K). Every console line must come out intact, and every progress line must be drawn on a line
 * of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const ARGS = ['run', '--kernel', 'guests/build/linux/Image', '--append', 'console=ttyS0'];
const HAVE_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const IN_CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

interface Screen {
  lines: string[];
  /** For every progress line drawn: what was already on that terminal line when it was drawn. */
  drawnOver: string[];
}

/** Play terminal output: CR returns to column 0, LF starts a new line, ESC[K erases to the end. */
function play(raw: string): Screen {
  const lines: string[] = [];
  const drawnOver: string[] = [];
  let cur: string[] = [];
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\n') { lines.push(cur.join('')); cur = []; col = 0; continue; }
    if (c === '\r') { col = 0; continue; }
    if (c === '\x1b' && raw.startsWith('[K', i + 1)) { cur.length = col; i += 2; continue; }
    if (raw.startsWith('[hvtrace] ', i)) drawnOver.push(cur.slice(0, col).join('') + cur.slice(col).join(''));
    cur[col++] = c;
  }
  if (cur.length > 0) lines.push(cur.join(''));
  return { lines, drawnOver };
}

describe.skipIf(!HAVE_SCRIPT && !IN_CI)('progress line on a terminal', () => {
  it('console lines stay intact and each progress line is drawn on a line of its own (Linux boot under a pty)', () => {
    expect(existsSync(CLI), 'build first').toBe(true);
    // Reference: the console alone (stdout a pipe: no progress at all).
    const ref = spawnSync(process.execPath, [CLI, ...ARGS, '-q'], { cwd: ROOT, encoding: 'latin1', input: '' });
    expect(ref.status, ref.stderr).toBe(0);
    const consoleLines = ref.stdout.replace(/\r/g, '').split('\n').filter((l) => l !== '');
    expect(consoleLines.length).toBeGreaterThan(20);

    const cmd = [process.execPath, CLI, ...ARGS].map((a) => `'${a}'`).join(' ');
    const tty = spawnSync('script', ['-q', '-e', '-c', `${cmd} < /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'latin1', timeout: 120_000 });
    expect(tty.status, tty.stderr).toBe(0);
    const raw = tty.stdout;
    expect(raw).toContain('[hvtrace] '); // progress was drawn (stderr is a terminal)

    const screen = play(raw);
    // Every progress line was drawn at the start of an empty line.
    expect(screen.drawnOver.length).toBeGreaterThan(0);
    expect(screen.drawnOver.filter((s) => s !== '')).toEqual([]);
    // No line on the screen holds progress text together with anything else.
    const mixed = screen.lines.filter((l) => l.includes('[hvtrace]') && !/^\[hvtrace\] [\d.]+M insns +\d+ MIPS +vtime [\d.]+ s$/.test(l));
    expect(mixed).toEqual([]);
    // The console lines come out intact and in order (the summary line follows them).
    const shown = screen.lines.filter((l) => l !== '' && !l.startsWith('[hvtrace]') && !l.startsWith('hvtrace: '));
    expect(shown).toEqual(consoleLines);
  }, 180_000);
});
