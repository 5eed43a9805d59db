/**
 * hvtrace installs as a command (issue 13): `npm pack` ships dist/, schemas/ and the small bundled
 * guests (not the tests, golden traces or the 3 MB Linux image), and `npm install -g` of that
 * tarball into a fresh prefix gives a working `hvtrace` (package.json's bin: the bundled CLI,
 * dist/bundle/hvtrace.mjs, scripts/bundle.mjs): `--version`, `run` of the bundled hello guest,
 * `record` (its writer thread) and `info` (the trace store) from another directory.
 *
 * The install builds better-sqlite3's native module as a user's install would (no prebuilt
 * binaries can be fetched here), so this takes a minute or more.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hvtrace-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, timeout = 600_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

describe('an installable command', () => {
  it('npm pack ships what a user needs and nothing else; npm install -g of it gives a working hvtrace', () => {
    expect(existsSync(join(ROOT, 'dist/cli/main.js')), 'build first (npm test does)').toBe(true);
    // --ignore-scripts: dist/ is already built; rebuilding it here would rewrite it under the
    // other test files running in parallel.
    const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tgz).toBeDefined();
    const list = sh('tar', ['tzf', join(dir, tgz!)], dir);
    const files = list.stdout.split('\n').filter(Boolean);
    for (const f of ['package/dist/cli/main.js', 'package/dist/bundle/hvtrace.mjs', 'package/dist/trace/writer-worker.js', 'package/schemas/trace.sql',
      'package/guests/build/hello.elf', 'package/guests/build/smp-kernel.elf', 'package/package.json', 'package/README.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^package\/(test|traces|scripts|src|linux)\/|^package\/guests\/build\/linux\//.test(f))).toEqual([]);

    const prefix = join(dir, 'prefix');
    const inst = sh('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', join(dir, tgz!)], dir, 900_000);
    expect(inst.status, `${inst.stdout}\n${inst.stderr}`).toBe(0);
    const bin = join(prefix, 'bin', 'hvtrace');
    const v = sh(bin, ['--version'], dir);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(sh('node', ['-p', 'JSON.stringify(require("./package.json").version)'], ROOT).stdout));
    const hello = join(prefix, 'lib', 'node_modules', 'hvtrace', 'guests', 'build', 'hello.elf');
    const run = sh(bin, ['run', '--kernel', hello, '-q'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Hello from hvtrace guest on hart 0');
    // The default recording (bundled smp-kernel, found from the package root) works from elsewhere too.
    const rec = sh(bin, ['record', '-o', join(dir, 'default.trace'), '-q'], dir);
    expect(rec.status, rec.stderr).toBe(0);
    const info = sh(bin, ['info', join(dir, 'default.trace')], dir);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/status:\s+complete/);
  }, 1_200_000);
});
