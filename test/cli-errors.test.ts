/**
 * `hvtrace run` error paths: every one must end with a non-zero exit status and exactly one
 * line on stderr ("hvtrace: ..."), with no stack trace, and must not hang.
 *
 * Needs the build (dist/cli/main.js): `npm test` builds first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const FIXTURES = `${ROOT}test/fixtures`;
const HELLO = `${ROOT}guests/build/hello.elf`;
const MiB = 1024 * 1024;

let dir = '';
const tmp = (name: string): string => join(dir, name);

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

function run(args: string[], timeoutMs = 30_000): CliResult {
  // stdin is an empty, closed pipe: nothing may wait for input.
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], {
    input: '', encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', cwd: ROOT,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

/**
 * The common contract: ended by itself (no timeout), non-zero exit, one "hvtrace: " line on
 * stderr matching `want`, no stack trace. Returns the line.
 */
function expectOneLineError(r: CliResult, want: RegExp, prefix = /^hvtrace: \S/): string {
  const ctx = `exit ${r.status}, signal ${r.signal}, stderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
  expect(r.error?.message, `did not finish: ${ctx}`).toBeUndefined();
  expect(r.signal, ctx).toBeNull();
  expect(r.status, ctx).not.toBe(0);
  expect(r.status, ctx).not.toBeNull();
  expect(r.stderr, ctx).toMatch(/\n$/);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, ctx).toHaveLength(1);
  const line = lines[0]!;
  expect(line, ctx).toMatch(prefix);
  expect(line, ctx).not.toMatch(/^\s+at |\bat .*:\d+:\d+\)?$|node:internal|Error:|TypeError|RangeError|Uncaught/);
  expect(line, ctx).toMatch(want);
  return line;
}

/** A minimal ELF64 little-endian RISC-V executable with one PT_LOAD of `data` at `paddr`. */
function riscvElf(paddr: bigint, data: Uint8Array, entry = paddr): Uint8Array {
  const phoff = 64;
  const dataOff = phoff + 56;
  const buf = new Uint8Array(dataOff + data.length);
  const dv = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* LSB */, 1 /* EV_CURRENT */]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 243, true); // EM_RISCV
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, entry, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setBigUint64(40, 0n, true); // no section headers
  dv.setUint32(48, 0x5, true); // EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 1, true);
  dv.setUint16(58, 64, true);
  // PT_LOAD, RWX
  dv.setUint32(phoff, 1, true);
  dv.setUint32(phoff + 4, 7, true);
  dv.setBigUint64(phoff + 8, BigInt(dataOff), true);
  dv.setBigUint64(phoff + 16, paddr, true);
  dv.setBigUint64(phoff + 24, paddr, true);
  dv.setBigUint64(phoff + 32, BigInt(data.length), true);
  dv.setBigUint64(phoff + 40, BigInt(data.length), true);
  dv.setBigUint64(phoff + 48, 0x1000n, true);
  buf.set(data, dataOff);
  return buf;
}

const NOP4 = Uint8Array.of(0x13, 0x00, 0x00, 0x00); // addi x0, x0, 0
/** jalr x0, 0(x0): jump to address 0, where nothing is mapped; mtvec is 0 after reset. */
const JUMP_TO_0 = Uint8Array.of(0x67, 0x00, 0x00, 0x00);
/** 1: j 1b */
const SPIN = Uint8Array.of(0x6f, 0x00, 0x00, 0x00);

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npx tsc -p .)`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-cli-errors-'));
  writeFileSync(tmp('uart.elf'), riscvElf(0x1000_0000n, NOP4));
  writeFileSync(tmp('clint.elf'), riscvElf(0x200_0000n, NOP4));
  // Sanity: the same ELF shape at the payload address is accepted (so the failures above are
  // about the address, not the ELF).
  writeFileSync(tmp('ok.elf'), riscvElf(0x8020_0000n, JUMP_TO_0));
  writeFileSync(tmp('big.bin'), new Uint8Array(20 * MiB));
  writeFileSync(tmp('jump0.bin'), JUMP_TO_0);
  writeFileSync(tmp('spin.bin'), SPIN);
  writeFileSync(tmp('empty.bin'), new Uint8Array(0));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hvtrace run: image errors', () => {
  it('missing kernel file', () => {
    const path = tmp('does-not-exist.elf');
    const line = expectOneLineError(run(['--kernel', path]), /no such file/i);
    expect(line).toContain(path);
  });

  it('missing firmware file', () => {
    const path = tmp('no-such-fw.bin');
    const line = expectOneLineError(run(['--bios', path, '--kernel', HELLO]), /no such file/i);
    expect(line).toContain(path);
  });

  it('a directory as the kernel', () => {
    expectOneLineError(run(['--kernel', dir]), /not a regular file|director/i);
  });

  it('an empty raw kernel', () => {
    expectOneLineError(run(['--kernel', tmp('empty.bin')]), /empty/i);
  });

  it('no kernel at all', () => {
    expectOneLineError(run([]), /kernel/i);
  });

  it.each([
    ['test/fixtures/loader-x86_64.elf (host x86-64 ELF)', `${FIXTURES}/loader-x86_64.elf`],
    ['the node binary itself (host-compiled)', process.execPath],
    ...(existsSync('/bin/true') ? [['/bin/true', '/bin/true']] : []),
  ])('a non-RISC-V ELF: %s', (_label, path) => {
    const line = expectOneLineError(run(['--kernel', path]), /not a RISC-V ELF/);
    expect(line).toContain(path);
  });

  it('a 32-bit RISC-V ELF (test/fixtures/loader-rv32.elf)', () => {
    expectOneLineError(run(['--kernel', `${FIXTURES}/loader-rv32.elf`]), /32-bit/);
  });

  it('a 32-bit RISC-V ELF as firmware', () => {
    expectOneLineError(run(['--bios', `${FIXTURES}/loader-rv32.elf`, '--kernel', HELLO]), /32-bit/);
  });

  it('control: a well-formed ELF at 0x80200000 built the same way loads and runs', () => {
    // Jumps to 0 and double-faults: proves the ELF is accepted by the loader.
    const r = run(['--kernel', tmp('ok.elf')]);
    expect(r.stderr).not.toMatch(/ELF|overlap|does not fit/);
  });

  it('an ELF with a PT_LOAD segment on the UART (0x10000000)', () => {
    const line = expectOneLineError(run(['--kernel', tmp('uart.elf')]), /overlaps device/);
    expect(line).toMatch(/0x10000000/);
    expect(line).toMatch(/uart/i);
  });

  it('an ELF with a PT_LOAD segment on the CLINT (0x2000000), as firmware', () => {
    const line = expectOneLineError(run(['--bios', tmp('clint.elf'), '--kernel', HELLO]), /overlaps device/);
    expect(line).toMatch(/0x2000000/);
  });

  it('a 20 MiB raw kernel with -m 16M (does not fit in RAM)', () => {
    const line = expectOneLineError(run(['-m', '16M', '--kernel', tmp('big.bin')]), /does not fit in RAM/);
    expect(line).toContain('-m');
  });

  it('a 20 MiB raw image with --bios none -m 16M', () => {
    expectOneLineError(run(['-m', '16M', '--bios', 'none', '--kernel', tmp('big.bin')]), /does not fit in RAM/);
  });
});

describe('hvtrace run: option errors', () => {
  it('-m 1M (too small)', () => {
    expectOneLineError(run(['-m', '1M', '--kernel', HELLO]), /-m .*at least|-m.*too small/);
  });

  it('-m banana (not a size)', () => {
    expectOneLineError(run(['-m', 'banana', '--kernel', HELLO]), /-m/);
  });

  it.each(['0', '9', '-1', 'two'])('--smp %s', (n) => {
    expectOneLineError(run(['--smp', n, '--kernel', HELLO]), /--smp/);
  });

  it.each(['0', '-5', 'lots'])('--max-insns %s', (n) => {
    expectOneLineError(run(['--max-insns', n, '--kernel', HELLO]), /--max-insns/);
  });

  it('an unknown option', () => {
    // commander's own message ("error: unknown option ...") is accepted too.
    expectOneLineError(run(['--frobnicate', '--kernel', HELLO]), /frobnicate/, /^(hvtrace: |error: )\S/);
  });
});

describe('hvtrace run: runtime errors', () => {
  it.each([[[] as string[]], [['-q']]])('a --bios none image that jumps to 0x0 with mtvec = 0: double fault, no hang (%j)', (extra) => {
    const r = run(['--bios', 'none', '--kernel', tmp('jump0.bin'), ...extra], 20_000);
    const line = expectOneLineError(r, /double fault/);
    expect(line).toMatch(/fetch/i);
    expect(line).toMatch(/0x0\b/);
    expect(r.stdout).toBe('');
  });

  it('a --bios none image that jumps to 0x0 on 4 harts: double fault, no hang', () => {
    const r = run(['--bios', 'none', '--smp', '4', '--kernel', tmp('jump0.bin')], 20_000);
    expectOneLineError(r, /double fault/);
  });

  it.each([[[] as string[]], [['-q']]])('--max-insns on a guest that spins forever: stops at the limit (%j)', (extra) => {
    const r = run(['--bios', 'none', '--kernel', tmp('spin.bin'), '--max-insns', '100000', ...extra], 20_000);
    const line = expectOneLineError(r, /limit/i);
    expect(line).toContain('100000');
  });

  it('--max-insns below what a guest needs: hello is cut short, non-zero exit', () => {
    const r = run(['--kernel', HELLO, '--max-insns', '1000']);
    const line = expectOneLineError(r, /instruction limit reached \(1000\)/);
    expect(line).toMatch(/hart0=1000\b/);
  });

  it('--max-insns with room to spare does not change a passing run', () => {
    const r = run(['--kernel', HELLO, '--max-insns', '100_000_000', '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Hello from hvtrace guest on hart 0');
  });
});
