/**
 * The virtio console (issue 16 "hvc") against QEMU 7.2: guests/build/hvc-test.elf, a bare-metal
 * M-mode program (--bios none) that finds the virtio-console among virt's virtio-mmio
 * transports, negotiates VERSION_1 and EMERG_WRITE, writes through the transmitq and emerg_wr and
 * echoes the lines it receives through the receiveq until "quit". It prints only to the virtio
 * console, so QEMU's output is the chardev behind `-device virtconsole,chardev=c0` (stdio, input
 * from a file) and hvtrace's is its console stream with `--console-input virtio --input FILE`.
 * QEMU's transports in modern mode (force-legacy=false: Version 2, as hvtrace's).
 *
 * Needs qemu-system-riscv64 7.2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const QEMU = process.env['QEMU'] ?? 'qemu-system-riscv64';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const HVC_TEST = join(ROOT, 'guests/build/hvc-test.elf');
const INPUT = 'hello\nworld\n\nline with spaces and a long tail 0123456789abcdefghijklmnop\nquit\n';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-hvc-ref-'));
  writeFileSync(join(dir, 'in.txt'), INPUT);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('hvc-test: virtio-console output and echoed input identical to QEMU 7.2', () => {
  it('-device virtio-serial-device -device virtconsole', () => {
    const input = join(dir, 'in.txt');
    const q = spawnSync(QEMU, ['-M', 'virt', '-m', '256M', '-bios', 'none', '-kernel', HVC_TEST,
      '-display', 'none', '-monitor', 'none', '-serial', 'none', '-global', 'virtio-mmio.force-legacy=false',
      '-device', 'virtio-serial-device', '-device', 'virtconsole,chardev=c0', '-chardev', 'stdio,id=c0'],
    { input: INPUT, encoding: 'latin1', timeout: 60_000, killSignal: 'SIGKILL' });
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toContain('hvc-test: bye after 0x5 lines\n');
    const h = spawnSync(process.execPath, [CLI, 'run', '--bios', 'none', '--kernel', HVC_TEST,
      '-device', 'virtio-serial-device', '-device', 'virtconsole', '--console-input', 'virtio', '--input', input, '-q'],
    { input: '', encoding: 'latin1', timeout: 60_000, killSignal: 'SIGKILL' });
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toBe(q.stdout);
    expect(h.stdout).toContain('echo: world\necho: \necho: line with spaces and a long tail 0123456789abcdefghijklmnop\n');
  });
});
