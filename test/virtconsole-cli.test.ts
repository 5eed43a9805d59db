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
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/store.js';
import { cliSandbox, ROOT, type CliResult } from './cli-sandbox.js';

const HVC_TEST = `${ROOT}guests/build/hvc-test.elf`;
const HVC = ['--bios', 'none', '--kernel', HVC_TEST, '-device', 'virtio-serial-device', '-device', 'virtconsole'];
/** What hvc-test prints for the input "hello\nworld\nquit\n" (the same as on QEMU 7.2). */
const ECHOED = 'hvc-test: virtio-console at 0x10008000, EMERG_WRITE offered\nhvc-test: hello from hvc0\n'
  + 'hvc-test: emergency write\nhvc-test: type lines, "quit" ends\necho: hello\necho: world\nhvc-test: bye after 0x3 lines\n';

const box = cliSandbox('hvtrace-hvc-');
const { tmp, expectUsageError } = box;
const hv = (args: string[], timeoutMs = 120_000): CliResult => box.hv(args, timeoutMs);

beforeAll(() => {
  writeFileSync(tmp('in.txt'), 'hello\nworld\nquit\n');
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
