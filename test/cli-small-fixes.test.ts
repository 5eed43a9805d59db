/**
 * The small inconsistencies of issue 13: `record -q` prints nothing but errors; `record` onto an
 * existing file names --overwrite; `replay --events N` without --to is an error, not ignored;
 * `replay --no-digests` compares and reports no digests; `info` shows the console's last 20
 * lines (--console: all of it) and describes a trace imported from QEMU as such.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;

let dir: string;
let linux: string;

function hv(args: string[], cwd = ROOT) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '', maxBuffer: 64 << 20 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-small-'));
  linux = join(dir, 'linux.trace');
  expect(hv(['record', '--kernel', 'guests/build/linux/Image', '--append', 'console=ttyS0', '-o', linux, '-q']).status).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('record', () => {
  it('-q prints nothing on stderr, with or without -o', () => {
    const a = hv(['record', '--kernel', 'guests/build/hello.elf', '-o', join(dir, 'q.trace'), '-q']);
    expect(a.status).toBe(0);
    expect(a.stderr).toBe('');
    const cwd = join(dir, 'cwd');
    rmSync(cwd, { recursive: true, force: true });
    spawnSync('mkdir', [cwd]);
    const b = hv(['record', '--kernel', join(ROOT, 'guests/build/hello.elf'), '-q'], cwd);
    expect(b.status).toBe(0);
    expect(b.stderr).toBe('');
    expect(readdirSync(join(cwd, 'traces'))).toEqual(['hello-1.trace']);
    // Without -q the path is reported.
    const c = hv(['record', '--kernel', join(ROOT, 'guests/build/hello.elf')], cwd);
    expect(c.stderr).toMatch(/trace written to .*hello-2\.trace/);
  });

  it('onto an existing file: one line naming --overwrite, exit 2', () => {
    const t = join(dir, 'exists.trace');
    writeFileSync(t, 'x');
    const r = hv(['record', '--kernel', 'guests/build/hello.elf', '-o', t]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`hvtrace: ${t}: file exists (choose another name, or --overwrite to replace it)\n`);
    expect(hv(['record', '--kernel', 'guests/build/hello.elf', '-o', t, '--overwrite', '-q']).status).toBe(0);
  });
});

describe('replay', () => {
  it('--events without --to is an error (it only applies to --to)', () => {
    const r = hv(['replay', 'traces/golden/hello-smp1.trace', '--events', '5']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('hvtrace: --events 5: it sets how many events are shown before --to POS; give --to, or leave --events out\n');
    const ok = hv(['replay', 'traces/golden/hello-smp1.trace', '--events', '2', '--to', 'seq:10']);
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('--no-digests compares none and says so', () => {
    const with_ = hv(['replay', 'traces/golden/smp-kernel-smp1.trace']);
    expect(with_.stdout).toMatch(/match: .* 2\/2 state digests;/);
    const r = hv(['replay', 'traces/golden/smp-kernel-smp1.trace', '--no-digests']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/match: \d+ events, \d+ instructions, state digests not compared \(--no-digests\);/);
    const j = JSON.parse(hv(['replay', 'traces/golden/smp-kernel-smp1.trace', '--no-digests', '--json']).stdout) as { digests: { compared: number } };
    expect(j.digests.compared).toBe(0);
  });
});

describe('info', () => {
  it('shows the last 20 console lines; --console all of them', () => {
    const r = hv(['info', linux]);
    expect(r.status, r.stderr).toBe(0);
    const m = /console: +\d+ bytes, sha256 [0-9a-f]{64}; its last 20 of (\d+) lines \(--console for all of it\):\n([\s\S]*)$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const total = Number(m![1]);
    expect(total).toBeGreaterThan(20);
    const tail = m![2]!.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    expect(tail).toHaveLength(20);
    expect(tail[19]).toMatch(/Power down/);
    const all = hv(['info', linux, '--console']);
    const m2 = /console: +\d+ bytes, sha256 [0-9a-f]{64}:\n([\s\S]*)$/.exec(all.stdout);
    expect(m2, all.stdout).not.toBeNull();
    expect(m2![1]!.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '')).toHaveLength(total);
    expect(m2![1]!.endsWith(m![2]!)).toBe(true);
    // JSON keeps the whole console.
    expect((JSON.parse(hv(['info', linux, '--json']).stdout) as { console: string }).console.split('\n').length).toBeGreaterThanOrEqual(total);
  });

  it('a trace imported from QEMU: "imported from QEMU" and only the fields it has', () => {
    const log = join(dir, 'q.log');
    writeFileSync(log, 'QEMU 7.2 log\n'
      + 'riscv_cpu_do_interrupt: hart:0, async:0, cause:0000000000000009, epc:0x00000000802009e8, tval:0x0000000000000000, desc=supervisor_ecall\n'
      + 'riscv_cpu_do_interrupt: hart:0, async:1, cause:0000000000000005, epc:0x0000000080200a24, tval:0x0000000000000000, desc=s_timer\n');
    const t = join(dir, 'qemu.trace');
    const imp = hv(['import', 'qemu', log, '-o', t, '-q']);
    expect(imp.status, imp.stderr).toBe(0);
    expect(existsSync(t)).toBe(true);
    const r = hv(['info', t]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^status: +complete, imported from QEMU \(hvtrace import qemu, /m);
    expect(r.stdout).toMatch(/^reference: +qemu 7\.2 -d int .*q\.log {2}sha256 [0-9a-f]{64}$/m);
    expect(r.stdout).toMatch(/^harts: +0 \(as seen in the log\)$/m);
    expect(r.stdout).toMatch(/^events: +2$/m);
    for (const meaningless of ['scheduler:', 'digests:', 'checkpoints:', 'input:', 'virtual time:', 'instructions:', 'console:']) {
      expect(r.stdout).not.toContain(meaningless);
    }
    const j = JSON.parse(hv(['info', t, '--json']).stdout) as { importedFrom?: string };
    expect(j.importedFrom).toBe('qemu');
  });
});
