/**
 * `--dump-dtb FILE` on run and record (QEMU's -machine dumpdtb=FILE): the device tree the
 * machine would boot with is written and nothing runs or is recorded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const dir = mkdtempSync(join(tmpdir(), 'hvtrace-dumpdtb-'));
const hv = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '' });
const dts = (file: string): string => {
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--dump-dtb', () => {
  it('run: writes the generated tree (harts, memory, command line) and runs nothing', () => {
    const f = join(dir, 'virt.dtb');
    const r = hv(['run', '--kernel', 'guests/build/hello.elf', '--smp', '2', '-m', '512M', '--append', 'console=ttyS0 quiet', '--dump-dtb', f]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(''); // hello never ran: its console is empty
    expect(r.stderr).toMatch(/device tree \(\d+ bytes\) written to/);
    expect(readFileSync(f).readUInt32BE(0)).toBe(0xd00dfeed);
    const s = dts(f);
    expect(s).toContain('bootargs = "console=ttyS0 quiet"');
    expect(s).toMatch(/cpu@1 \{/);
    expect(s).not.toMatch(/cpu@2 \{/);
    expect(s).toContain('reg = <0x00 0x80000000 0x00 0x20000000>'); // 512 MiB at 0x8000_0000
  });

  it('record: no trace is written; -q is silent', () => {
    const f = join(dir, 'rec.dtb');
    const out = join(dir, 'never.trace');
    const r = hv(['record', '--kernel', 'guests/build/hello.elf', '--dump-dtb', f, '-o', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(f).readUInt32BE(0)).toBe(0xd00dfeed);
  });

  it('--dtb given: dumps that blob unchanged', () => {
    const a = join(dir, 'a.dtb');
    const b = join(dir, 'b.dtb');
    expect(hv(['run', '--kernel', 'guests/build/hello.elf', '--dump-dtb', a, '-q']).status).toBe(0);
    expect(hv(['run', '--kernel', 'guests/build/hello.elf', '--dtb', a, '--dump-dtb', b, '-q']).status).toBe(0);
    expect(readFileSync(b)).toEqual(readFileSync(a));
  });

  it('an unwritable path is one line, exit 2', () => {
    const r = hv(['run', '--kernel', 'guests/build/hello.elf', '--dump-dtb', join(dir, 'no/such/dir/x.dtb')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hvtrace: --dump-dtb .*no\/such\/dir/);
  });
});
