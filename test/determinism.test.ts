/**
 * Determinism: the same machine, image and input give the same run, bit for bit.
 *
 * smp-kernel on 4 harts exercises everything that could leak host nondeterminism into a run:
 * HSM start/stop, cross-hart IPIs, remote fences, spinlocks (amoswap, lr/sc), per-hart timers,
 * WFI parking and time skips, PLIC-routed UART input. Two runs must agree on the console bytes,
 * each hart's instruction count, the final virtual time and the final architectural state and
 * RAM. A different scheduler quantum changes the interleaving (so counts may change) but the
 * guest must still pass with exactly the expected output.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import type { HaltInfo, Image } from '../src/board/machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const KERNEL = `${ROOT}guests/build/smp-kernel.elf`;
const FW_JUMP = process.env.HVTRACE_FW_JUMP ?? '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const HAVE_FW = existsSync(FW_JUMP);
const IN_CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());
const MiB = 1024 * 1024;
const RAM = 64 * MiB;
const RAM_BASE = 0x8000_0000;

function image(path: string): Image {
  return { name: path, bytes: new Uint8Array(readFileSync(path)) };
}

interface InputSpec {
  text: string;
  /** Virtual time (instructions) of delivery; or 'after-boot' = once "smp-kernel: boot" is printed. */
  at: number | 'after-boot';
}

interface Run {
  halt: HaltInfo;
  console: Buffer;
  instret: number[];
  steps: number[];
  time: number;
  /** pc and x1..x31 of every hart at the end. */
  regs: string[];
  ramSha256: string;
}

function runSmpKernel(o: { harts: number; bios: 'builtin' | 'opensbi'; inputs: InputSpec[]; quantum?: number }): Run {
  const m = new Machine({
    ramSize: RAM,
    harts: o.harts,
    bios: o.bios === 'builtin' ? 'builtin' : image(FW_JUMP),
    kernel: image(KERNEL),
  });
  const chunks: Buffer[] = [];
  let text = '';
  m.onConsole = (b) => {
    chunks.push(Buffer.from(b));
    text += Buffer.from(b).toString('latin1');
  };
  const sched = new Scheduler(m, { quantum: o.quantum, maxInsns: 400_000_000 });
  const enc = new TextEncoder();
  let halt: HaltInfo | undefined;
  for (const i of o.inputs) {
    if (i.at !== 'after-boot') sched.addInput(enc.encode(i.text), i.at);
  }
  const late = o.inputs.filter((i) => i.at === 'after-boot');
  if (late.length > 0) {
    while (!text.includes('smp-kernel: boot')) {
      const r = sched.step(1);
      if (r.kind === 'halted') { halt = r.halt; break; }
      if (r.kind === 'idle') break;
    }
    for (const i of late) sched.addInput(enc.encode(i.text));
  }
  halt ??= sched.runToEnd();
  const hash = createHash('sha256');
  for (let off = 0; off < RAM; off += 16 * MiB) hash.update(m.bus.readRam(RAM_BASE + off, 16 * MiB));
  return {
    halt,
    console: Buffer.concat(chunks),
    instret: m.harts.map((h) => h.instret),
    steps: m.harts.map((h) => h.attempted),
    time: sched.time,
    regs: m.harts.map((h) => [String(h.pc), ...Array.from({ length: 31 }, (_, k) => String(h.getX(k + 1)))].join(',')),
    ramSha256: hash.digest('hex'),
  };
}

function summary(r: Run): string {
  const lines = r.console.toString('latin1').replace(/\r/g, '').split('\n');
  return `halt ${r.halt.kind} (exit ${r.halt.exitCode}): ${r.halt.message}; instret ${r.instret.join(',')}; ` +
    `time ${r.time}\nlast console lines:\n${lines.slice(-12).join('\n')}`;
}

/** The smp-kernel output from "smp-kernel: boot" on, per guests/smp-kernel/expected/. */
function expected(harts: number, input: boolean, bios: 'builtin' | 'opensbi'): string {
  const t = readFileSync(`${ROOT}guests/smp-kernel/expected/smp${harts}-${input ? 'input' : 'noinput'}.txt`, 'latin1');
  return bios === 'opensbi' ? t : t
    .replace('sbi: spec 1.0, implementation OpenSBI', 'sbi: spec 2.0, implementation id 26742')
    .replace('sbi: probe DBCN: no (console via legacy putchar)', 'sbi: probe DBCN: yes (console via DBCN)');
}
function fromBoot(b: Buffer): string {
  const t = b.toString('latin1').replace(/\r/g, '');
  const i = t.indexOf('smp-kernel: boot');
  return i < 0 ? '' : t.slice(i);
}

function expectPass(r: Run, harts: number, bios: 'builtin' | 'opensbi', input: boolean): void {
  expect(fromBoot(r.console), summary(r)).toBe(expected(harts, input, bios));
  expect(r.halt.kind, summary(r)).toBe('poweroff');
  expect(r.halt.exitCode, summary(r)).toBe(0);
}

function expectIdentical(a: Run, b: Run): void {
  expect(b.console.equals(a.console), 'console bytes differ').toBe(true);
  expect(b.instret).toEqual(a.instret);
  expect(b.steps).toEqual(a.steps);
  expect(b.time).toBe(a.time);
  expect(b.halt).toEqual(a.halt);
  expect(b.regs).toEqual(a.regs);
  expect(b.ramSha256).toBe(a.ramSha256);
}

const HELLO: InputSpec[] = [{ text: 'hello\n', at: 0 }];
/** The same line in two bursts at fixed virtual times (held by the scheduler until the guest listens). */
const HELLO_SPLIT: InputSpec[] = [{ text: 'hel', at: 1_000_000 }, { text: 'lo\n', at: 12_000_000 }];

describe('smp-kernel on 4 harts, built-in SBI', () => {
  it('two runs with input "hello\\n" at vtime 0 are identical', () => {
    const a = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO });
    expectPass(a, 4, 'builtin', true);
    // Every hart did something.
    expect(a.instret.every((n) => n > 0), summary(a)).toBe(true);
    const b = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO });
    expectIdentical(a, b);
  });

  it('two runs with the input split over two virtual times are identical', () => {
    const a = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO_SPLIT });
    expectPass(a, 4, 'builtin', true);
    const b = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO_SPLIT });
    expectIdentical(a, b);
  });

  it('two runs without input are identical (and differ from the runs with input)', () => {
    const a = runSmpKernel({ harts: 4, bios: 'builtin', inputs: [] });
    expectPass(a, 4, 'builtin', false);
    const b = runSmpKernel({ harts: 4, bios: 'builtin', inputs: [] });
    expectIdentical(a, b);
    const withInput = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO });
    expect(withInput.console.equals(a.console)).toBe(false);
  });

  it.each([7, 1_000, 250_000])('quantum %i: still passes with the exact expected output', (quantum) => {
    const r = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO, quantum });
    expectPass(r, 4, 'builtin', true);
  });

  it('quantum 33_333: passes, and two runs are identical', () => {
    const a = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO, quantum: 33_333 });
    expectPass(a, 4, 'builtin', true);
    const b = runSmpKernel({ harts: 4, bios: 'builtin', inputs: HELLO, quantum: 33_333 });
    expectIdentical(a, b);
  });
});

/**
 * Four harts (--bios none, M-mode) each add 1 to a shared doubleword 20000 times with an
 * lr.d / addi / sc.d / bnez loop, then amoadd a done counter; hart 0 waits for all four and
 * writes the SiFive test device: 0x5555 (pass) if the counter is 80000, else 0x13333 (fail 1).
 * An LR/SC pair split by a scheduling boundary must fail the SC if another hart wrote the
 * reserved address meanwhile (unprivileged spec, "Load-Reserved/Store-Conditional"),
 * otherwise increments are lost. Assembled with riscv64-unknown-elf-gcc -march=rv64ima
 * -Wl,-Ttext=0x80000000 (no RVC) from:
 *
 *   _start: auipc t0, 1              # t0 = &counter = 0x80001000, done count at +8
 *           li    t1, 20000
 *   1:      lr.d  t2, (t0)
 *           addi  t2, t2, 1
 *           sc.d  t3, t2, (t0)
 *           bnez  t3, 1b
 *           addi  t1, t1, -1
 *           bnez  t1, 1b
 *           addi  t4, t0, 8
 *           li    t5, 1
 *           amoadd.d zero, t5, (t4)
 *           bnez  a0, 3f               # secondaries park
 *           li    t6, 4
 *   2:      ld    t5, 0(t4)
 *           bne   t5, t6, 2b           # hart 0 waits for all four
 *           ld    t2, 0(t0)
 *           li    t6, 80000
 *           lui   a1, 0x100            # test device
 *           li    t5, 0x5555
 *           beq   t2, t6, 4f
 *           li    t5, 0x13333
 *   4:      sw    t5, 0(a1)
 *   3:      wfi
 *           j     3b
 */
const LRSC_COUNTER = Uint32Array.of(
  0x00001297, 0x00005337, 0xe203031b, 0x1002b3af, 0x00138393, 0x1872be2f, 0xfe0e1ae3, 0xfff30313,
  0xfe0316e3, 0x00828e93, 0x00100f13, 0x01eeb02f, 0x02051c63, 0x00400f93, 0x000ebf03, 0xffff1ee3,
  0x0002b383, 0x00014fb7, 0x880f8f9b, 0x001005b7, 0x00005f37, 0x555f0f1b, 0x01f38663, 0x00013f37,
  0x333f0f1b, 0x01e5a023, 0x10500073, 0xffdff06f,
);

describe('LR/SC across harts under any interleaving', () => {
  it.each([1, 2, 3, 10, 1_000, 10_000])('quantum %i: a shared lr/sc counter loses no increment', (quantum) => {
    const bytes = new Uint8Array(LRSC_COUNTER.buffer.slice(0));
    const m = new Machine({ ramSize: 16 * MiB, harts: 4, bios: 'none', kernel: { name: 'lrsc-counter.bin', bytes } });
    const sched = new Scheduler(m, { quantum, maxInsns: 5_000_000 });
    const halt = sched.runToEnd();
    const counter = new DataView(m.bus.readRam(RAM_BASE + 0x1000, 16).buffer);
    const got = counter.getBigUint64(0, true);
    const done = counter.getBigUint64(8, true);
    const ctx = `halt ${halt.kind}: ${halt.message}; counter ${got} (want 80000), done ${done}; ` +
      `instret ${m.harts.map((h) => h.instret).join(',')} (secondaries: 120008 = no SC ever failed)`;
    expect(done, ctx).toBe(4n);
    expect(got, ctx).toBe(80_000n);
    expect(halt.kind, ctx).toBe('poweroff');
  });
});

const fwName = HAVE_FW
  ? `smp-kernel on 4 harts, OpenSBI fw_jump.bin`
  : IN_CI
    ? `smp-kernel on 4 harts, OpenSBI (${FW_JUMP} MISSING; CI is set, so this fails)`
    : `smp-kernel on 4 harts, OpenSBI (SKIPPED: ${FW_JUMP} not found; install package "opensbi"; fails instead when CI is set)`;

describe.skipIf(!HAVE_FW && !IN_CI)(fwName, () => {
  it('fw_jump.bin is installed', () => {
    expect(existsSync(FW_JUMP), `${FW_JUMP} not found: install the Debian package "opensbi"`).toBe(true);
  });

  it('two runs with input "hello\\n" (typed after boot) are identical', () => {
    const inputs: InputSpec[] = [{ text: 'hello\n', at: 'after-boot' }];
    const a = runSmpKernel({ harts: 4, bios: 'opensbi', inputs });
    expectPass(a, 4, 'opensbi', true);
    expect(a.console.toString('latin1')).toContain('OpenSBI v');
    const b = runSmpKernel({ harts: 4, bios: 'opensbi', inputs });
    expectIdentical(a, b);
  });

  it('quantum 3_000: still passes with the exact expected output', () => {
    const r = runSmpKernel({ harts: 4, bios: 'opensbi', inputs: [{ text: 'hello\n', at: 'after-boot' }], quantum: 3_000 });
    expectPass(r, 4, 'opensbi', true);
  });
});

describe('through the CLI', () => {
  let dir = '';
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npx tsc -p .)`);
    dir = mkdtempSync(join(tmpdir(), 'hvtrace-determinism-'));
    writeFileSync(join(dir, 'input.txt'), 'hello\n');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--kernel', KERNEL, '--smp', '4', ...args], {
      input: '', encoding: 'latin1', timeout: 120_000, cwd: ROOT,
    });
    // The summary line, without the host-speed field.
    const stderr = r.stderr.replace(/; [\d.]+ MIPS\n$/, '\n');
    return { status: r.status, stdout: r.stdout, stderr };
  };

  it.each([
    ['no input', [] as string[]],
    ['--input FILE', ['--input', 'INPUT']],
  ])('two CLI runs (%s) print the same bytes and the same instruction counts and virtual time', (_label, extra) => {
    const args = extra.map((a) => (a === 'INPUT' ? join(dir, 'input.txt') : a));
    const a = cli(args);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/^hvtrace: SBI shutdown; instructions hart0=\d+ hart1=\d+ hart2=\d+ hart3=\d+; vtime [\d.]+ s\n$/);
    expect(fromBoot(Buffer.from(a.stdout, 'latin1'))).toBe(expected(4, extra.length > 0, 'builtin'));
    const b = cli(args);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).toBe(a.stderr);
  });

  it('--quantum 1000 still passes', () => {
    const r = cli(['--quantum', '1000']);
    expect(r.stdout.replace(/\r/g, '')).toContain('smp-kernel: 52 checks passed, 0 failed\nPASS\n');
    expect(r.status, r.stderr).toBe(0);
  });
});
