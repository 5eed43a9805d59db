/**
 * The built CLI (dist/cli/main.js) run as a user runs it, in a scratch directory of its own:
 * `cliSandbox('hvtrace-x-')` registers the directory's creation and removal with the calling test
 * file's beforeAll/afterAll and gives `hv(args)` (stdin empty and closed, killed after
 * `timeoutMs`; `env`: variables added to the environment, e.g. HVTRACE_TIER) and `tmp(name)`, a
 * path in that directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = `${ROOT}dist/cli/main.js`;

export interface CliResult { status: number | null; stdout: string; stderr: string }

export interface CliSandbox {
  /** Run `hvtrace args...` with the sandbox as its working directory. */
  hv(args: string[], timeoutMs?: number, env?: Record<string, string>): CliResult;
  /** A path in the sandbox. */
  tmp(name: string): string;
  /** The sandbox directory (set once the file's beforeAll ran). */
  readonly dir: string;
  /** One `hvtrace: ...` line on stderr matching `want`, exit 2, and no file in the sandbox but `keep`. */
  expectUsageError(r: CliResult, want: RegExp, keep: string[]): void;
}

export function cliSandbox(prefix: string): CliSandbox {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), prefix)); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });
  return {
    hv(args, timeoutMs = 120_000, env) {
      const r = spawnSync(process.execPath, [CLI, ...args], {
        input: '', encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', cwd: dir || ROOT,
        ...(env ? { env: { ...process.env, ...env } } : {}),
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    tmp: (name) => join(dir, name),
    get dir() { return dir; },
    expectUsageError(r, want, keep) {
      const ctx = `exit ${r.status}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
      expect(r.status, ctx).toBe(2);
      const lines = r.stderr.replace(/\n$/, '').split('\n');
      expect(lines, ctx).toHaveLength(1);
      expect(lines[0], ctx).toMatch(/^hvtrace: /);
      expect(lines[0], ctx).toMatch(want);
      expect(readdirSync(dir).sort()).toEqual([...keep].sort());
    },
  };
}
