/**
 * The virtio console on the command line (issue 16 "hvc"): `-device virtio-serial-device
 * -device virtconsole` (QEMU's spelling) with guests/build/hvc-test.elf, a bare-metal guest that
 * writes through the transmitq and echoes the lines it receives through the receiveq. Its output
 * joins the console stream; `--console-input virtio` sends --input / --input-script to it
 * (recorded as ordinary input, so a replay needs neither); without it input goes to the UART.
 * Bad input: one line, exit 2, nothing written.
 *
 * Needs the build (dist/cli/main.js).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const HVC_TEST = `${ROOT}guests/build/hvc-test.elf`;
const HVC = ['--bios', 'none', '--kernel', HVC_TEST, '-device', 'virtio-serial-device', '-device', 'virtconsole'];
/** What hvc-test prints for the input "hello\nworld\nquit\n" (the same as on QEMU 7.2). */
const ECHOED = 'hvc-test: virtio-console at 0x10008000, EMERG_WRITE offered\nhvc-test: hello from hvc0\n'
  + 'hvc-test: emergency write\nhvc-test: type lines, "quit" ends\necho: hello\necho: world\nhvc-test: bye after 0x3 lines\n';

let dir = '';
const tmp = (name: string): string => join(dir, name);

function hv(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: '', encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectUsageError(r: ReturnType<typeof hv>, want: RegExp, keep: string[]): void {
  const ctx = `exit ${r.status}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
  expect(r.status, ctx).toBe(2);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, ctx).toHaveLength(1);
  expect(lines[0], ctx).toMatch(/^hvtrace: /);
  expect(lines[0], ctx).toMatch(want);
  expect(readdirSync(dir).sort()).toEqual([...keep].sort());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-hvc-'));
  writeFileSync(tmp('in.txt'), 'hello\nworld\nquit\n');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('virtconsole: bad input is one line, exit 2, nothing written', () => {
  it('virtconsole without its bus, the bus without a port, options, --console-input', () => {
    const keep = ['in.txt'];
    expectUsageError(hv(['run', '--bios', 'none', '--kernel', HVC_TEST, '-device', 'virtconsole']), /virtconsole needs --device virtio-serial-device/, keep);
    expectUsageError(hv(['run', '--bios', 'none', '--kernel', HVC_TEST, '-device', 'virtio-serial-device']), /add --device virtconsole/, keep);
    expectUsageError(hv(['run', ...HVC, '-device', 'virtconsole']), /given twice/, keep);
    expectUsageError(hv(['run', '--bios', 'none', '--kernel', HVC_TEST, '-device', 'virtio-serial-device', '-device', 'virtconsole,chardev=c0']), /takes no options/, keep);
    expectUsageError(hv(['run', '--bios', 'none', '--kernel', HVC_TEST, '--console-input', 'virtio']), /needs --device virtio-serial-device --device virtconsole/, keep);
    expectUsageError(hv(['record', ...HVC, '--console-input', 'hvc', '-o', tmp('t.trace')]), /--console-input hvc: expected uart or virtio/, keep);
  });
});

describe('virtconsole: output on the console, input with --console-input virtio', () => {
  it('run: the guest\'s transmitq output and the echo of --input', () => {
    const r = hv(['run', ...HVC, '--console-input', 'virtio', '--input', tmp('in.txt'), '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(ECHOED);
  });

  it('without --console-input virtio the input goes to the UART: the guest never sees it', () => {
    const r = hv(['run', ...HVC, '--input', tmp('in.txt'), '--max-insns', '3000000', '-q']);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stdout).toBe('hvc-test: virtio-console at 0x10008000, EMERG_WRITE offered\nhvc-test: hello from hvc0\n'
      + 'hvc-test: emergency write\nhvc-test: type lines, "quit" ends\n');
  });

  it('record with --input-script, replay without it: same console, input events recorded', () => {
    writeFileSync(tmp('s.txt'), 'expect "\\"quit\\" ends\\n"\nsend "hello\\n"\nexpect "echo: hello\\n"\nsend "world\\nquit\\n"\n');
    const rec = hv(['record', ...HVC, '--console-input', 'virtio', '--input-script', tmp('s.txt'), '-o', tmp('h.trace'), '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stdout).toBe(ECHOED);
    const r = TraceReader.open(tmp('h.trace'));
    try {
      expect(r.config.machine!.virtconsole).toEqual({ input: true });
      expect(Buffer.from(r.consoleBytes()).toString('latin1')).toBe(ECHOED);
      const inputs = r.inputs();
      expect(String.fromCharCode(...inputs.map((i) => i.byte))).toBe('hello\nworld\nquit\n');
      // "hello" was sent only after the prompt, "world" only after the echo of hello.
      expect(inputs[6]!.vtime).toBeGreaterThan(inputs[0]!.vtime);
    } finally {
      r.close();
    }
    const rep = hv(['replay', tmp('h.trace'), '--console']);
    expect(rep.status, rep.stderr + rep.stdout).toBe(0);
    expect(rep.stdout).toContain(ECHOED);
    const info = hv(['info', tmp('h.trace')]);
    expect(info.stdout).toMatch(/console\s+virtconsole \(hvc0\), console input to it/);
  });
});
