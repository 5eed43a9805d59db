/**
 * The goldfish RTC (src/devices/goldfish-rtc.ts, issue 16): its registers as QEMU 7.2's
 * hw/rtc/goldfish_rtc.c has them, its DT node, `--rtc base=...`, and what a guest reads: the
 * configured date advancing with virtual time, the same on every run and in a replay.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoldfishRtc, GOLDFISH_RTC_IRQ, RTC_NO_DEADLINE } from '../src/devices/goldfish-rtc.js';
import { buildVirtDtb, parseDtb, fdtFindNode, fdtGetProp, fdtU32s, fdtStrings, fdtNumber } from '../src/devices/fdt.js';
import { parseRtcOption, formatRtcBase } from '../src/cli/rtc.js';
import { ImageError } from '../src/image/loader.js';
import { Machine } from '../src/board/machine.js';
import { TraceReader } from '../src/trace/store.js';
import { Asm, emitPoweroff, emitPuthex, emitPuts, A0, A2, S0, S1, T0, T1, T4, RTC, UART } from './rv-asm.js';

const CLI = 'dist/cli/main.js';
const NS = 1_000_000_000n;

function rtcWith(baseS: bigint) {
  const clock = { ticks: 0n, now() { return this.ticks; } };
  const levels: [number, boolean][] = [];
  const rtc = new GoldfishRtc(baseS * NS, clock, { setSourceLevel: (s, l) => { levels.push([s, l]); } });
  const time = (): bigint => {
    const lo = rtc.read(0x00, 4);
    return (rtc.read(0x04, 4) << 32n) | lo;
  };
  return { rtc, clock, levels, time };
}

describe('goldfish RTC registers (hw/rtc/goldfish_rtc.c)', () => {
  it('TIME_LOW reads the time in ns and latches TIME_HIGH; the time is the base plus virtual time (100 ns per mtime tick)', () => {
    const { rtc, clock, time } = rtcWith(1_700_000_000n);
    expect(time()).toBe(1_700_000_000n * NS);
    clock.ticks = 12_345n;
    expect(time()).toBe(1_700_000_000n * NS + 1_234_500n);
    // TIME_HIGH is the half latched by the last TIME_LOW read, not the time now.
    rtc.read(0x00, 4);
    const hi = rtc.read(0x04, 4);
    clock.ticks += 1n << 40n;
    expect(rtc.read(0x04, 4)).toBe(hi);
    // An 8-byte read is TIME_LOW then TIME_HIGH: a consistent 64-bit time.
    expect(rtc.read(0x00, 8)).toBe(time());
  });

  it('writing TIME_LOW / TIME_HIGH sets the time, which goes on advancing from there', () => {
    const { rtc, clock, time } = rtcWith(1_000n);
    clock.ticks = 10n;
    rtc.write(0x04, 4, 0x12n);
    rtc.write(0x00, 4, 0x3456_7890n);
    expect(time()).toBe(0x12_3456_7890n);
    clock.ticks = 20n;
    expect(time()).toBe(0x12_3456_7890n + 1000n);
    // The guest's adjustment is state (checkpoints), the base is configuration.
    const s = rtc.saveState();
    const other = rtcWith(1_000n);
    other.clock.ticks = 20n;
    other.rtc.restoreState(s);
    expect(other.time()).toBe(time());
  });

  it('an alarm in the past fires at once; IRQ_ENABLED gates the line; CLEAR_INTERRUPT lowers it', () => {
    const { rtc, levels } = rtcWith(100n);
    rtc.write(0x0c, 4, 0n);
    rtc.write(0x08, 4, 5n); // long past
    expect(rtc.read(0x18, 4)).toBe(0n); // ALARM_STATUS: not running, it fired
    expect(levels).toEqual([]); // pending but not enabled
    rtc.write(0x10, 4, 1n);
    expect(rtc.read(0x10, 4)).toBe(1n);
    expect(levels).toEqual([[GOLDFISH_RTC_IRQ, true]]);
    rtc.write(0x1c, 4, 1n);
    expect(levels).toEqual([[GOLDFISH_RTC_IRQ, true], [GOLDFISH_RTC_IRQ, false]]);
  });

  it('a future alarm is armed with its deadline in ticks, fires when polled at it, and CLEAR_ALARM disarms it', () => {
    const { rtc, levels } = rtcWith(100n);
    rtc.write(0x10, 4, 1n);
    const at = 100n * NS + 1_000_050n; // 10,000.5 ticks after the start
    rtc.write(0x0c, 4, at >> 32n);
    rtc.write(0x08, 4, at & 0xffff_ffffn);
    expect(rtc.read(0x08, 4) | (rtc.read(0x0c, 4) << 32n)).toBe(at);
    expect(rtc.read(0x18, 4)).toBe(1n);
    expect(rtc.deadlineTicks()).toBe(10_001n);
    rtc.poll(10_000n);
    expect(levels).toEqual([]);
    rtc.poll(10_001n);
    expect(levels).toEqual([[GOLDFISH_RTC_IRQ, true]]);
    expect(rtc.read(0x18, 4)).toBe(0n);
    expect(rtc.deadlineTicks()).toBe(RTC_NO_DEADLINE);
    rtc.write(0x1c, 4, 1n);
    rtc.write(0x08, 4, (at + 1_000_000n) & 0xffff_ffffn);
    expect(rtc.deadlineTicks()).toBeGreaterThan(0n);
    rtc.write(0x14, 4, 1n);
    expect(rtc.read(0x18, 4)).toBe(0n);
    expect(rtc.deadlineTicks()).toBe(RTC_NO_DEADLINE);
  });

  it('unimplemented offsets read 0; narrow reads return the addressed bytes and narrow writes are ignored', () => {
    const { rtc, clock } = rtcWith(0n);
    clock.ticks = 0x0102_0304n;
    expect(rtc.read(0x20, 4)).toBe(0n);
    const lo = rtc.read(0x00, 4);
    expect(rtc.read(0x01, 1)).toBe((lo >> 8n) & 0xffn);
    rtc.write(0x10, 1, 1n);
    expect(rtc.read(0x10, 4)).toBe(0n);
  });
});

describe('the board', () => {
  it('has rtc@101000 (google,goldfish-rtc, PLIC source 11) in its device tree when the configuration has an RTC, as QEMU 7.2 virt', () => {
    const cfg = { numHarts: 1, ramBase: 0x8000_0000n, ramSize: 256n << 20n, isa: 'rv64imafdc', mmuType: 'riscv,sv48' };
    const dt = parseDtb(buildVirtDtb({ ...cfg, rtc: true }));
    const n = fdtFindNode(dt.root, '/soc/rtc@101000')!;
    expect(n).toBeDefined();
    expect(fdtStrings(fdtGetProp(n, 'compatible')!)).toEqual(['google,goldfish-rtc']);
    expect(fdtU32s(fdtGetProp(n, 'reg')!)).toEqual([0, 0x101000, 0, 0x1000]);
    expect(fdtU32s(fdtGetProp(n, 'interrupts')!)).toEqual([11]);
    const plic = fdtFindNode(dt.root, '/soc/plic@c000000')!;
    expect(fdtNumber(fdtGetProp(n, 'interrupt-parent')!)).toBe(fdtNumber(fdtGetProp(plic, 'phandle')!));
    expect(fdtFindNode(parseDtb(buildVirtDtb(cfg)).root, '/soc/rtc@101000')).toBeUndefined();
  });

  it('a machine has the device only with an `rtc` configuration (traces from before it replay without one)', () => {
    const kernel = { name: 'k', bytes: new Uint8Array(16) };
    expect(new Machine({ ramSize: 16 << 20, harts: 1, bios: 'none', kernel }).bus.findDevice(RTC, 4)).toBeUndefined();
    const m = new Machine({ ramSize: 16 << 20, harts: 1, bios: 'none', kernel, rtc: { base: 86_400 } });
    expect(m.bus.findDevice(RTC, 4)?.name).toBe('rtc');
    expect(m.rtc!.nowNs()).toBe(86_400n * NS);
  });
});

describe('--rtc (QEMU -rtc syntax)', () => {
  const now = new Date(Date.UTC(2026, 11, 7, 5, 0, 0, 700));
  it('base=DATETIME / DATE (UTC), base=utc and the default (now, whole seconds), clock=vm', () => {
    expect(parseRtcOption('base=2020-01-01T00:00:00').base).toBe(1_577_836_800);
    expect(parseRtcOption('base=2020-01-02').base).toBe(1_577_836_800 + 86_400);
    expect(parseRtcOption('base=2020-01-01T00:00:01Z,clock=vm').base).toBe(1_577_836_801);
    expect(parseRtcOption('base=utc', now).base).toBe(Math.floor(now.getTime() / 1000));
    expect(parseRtcOption(undefined, now).base).toBe(Math.floor(now.getTime() / 1000));
    expect(formatRtcBase(1_577_836_800)).toBe('2020-01-01T00:00:00');
  });
  it('anything else is a one-line error', () => {
    for (const bad of ['base=2020-02-30', 'base=2020-13-01', 'base=1969-12-31', 'base=yesterday', 'clock=host', 'driftfix=slew', 'base=2020-01-01T25:00:00']) {
      expect(() => parseRtcOption(bad), bad).toThrow(ImageError);
    }
  });
});

/**
 * A bare-metal program (M-mode, --bios none) that reads the RTC, runs a loop of `work`
 * iterations, reads it again and prints both times in hex: "rtc1=...\nrtc2=...\n".
 */
function rtcReader(work: number): Uint8Array {
  const a = new Asm();
  a.lui(S0, UART >>> 12).lui(S1, RTC >>> 12)
    .lwu(T0, S1, 0).lwu(T1, S1, 4).slli(T1, T1, 32).or(T4, T0, T1)
    .li(T0, work).label('work').addi(T0, T0, -1).bnez(T0, 'work')
    .lwu(T0, S1, 0).lwu(T1, S1, 4).slli(T1, T1, 32).or(A2, T0, T1)
    .la(A0, 's1').call('puts').addi(A0, T4, 0).call('puthex')
    .la(A0, 's2').call('puts').addi(A0, A2, 0).call('puthex')
    .la(A0, 'nl').call('puts');
  emitPoweroff(a);
  emitPuts(a);
  emitPuthex(a);
  a.string('s1', 'rtc1=').string('s2', '\nrtc2=').string('nl', '\n');
  return a.assemble();
}

function hvtrace(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input: '' });
}

function times(stdout: string): [bigint, bigint] {
  const m = /rtc1=([0-9a-f]{16})\nrtc2=([0-9a-f]{16})/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return [BigInt(`0x${m![1]}`), BigInt(`0x${m![2]}`)];
}

describe('a guest reading the RTC', () => {
  it('reads the --rtc base plus its virtual time, twice, advancing with the work between; the same on every run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-rtc-'));
    try {
      const prog = join(dir, 'rtc.bin');
      writeFileSync(prog, rtcReader(200_000));
      const args = ['run', '--bios', 'none', '--kernel', prog, '-q', '--rtc', 'base=2020-01-01T00:00:00'];
      const r1 = hvtrace(args);
      expect(r1.status, r1.stderr).toBe(0);
      const [t1, t2] = times(r1.stdout);
      const base = 1_577_836_800n * NS;
      // 1 instruction = 1 ns of virtual time: the first read comes after a few instructions of
      // the reset ROM, the second after the loop's 400,000.
      expect(t1 - base).toBeGreaterThanOrEqual(0n);
      expect(t1 - base).toBeLessThan(1_000n);
      expect(t2 - t1).toBeGreaterThanOrEqual(399_000n);
      expect(t2 - t1).toBeLessThan(402_000n);
      expect(hvtrace(args).stdout).toBe(r1.stdout);
      // Another base, the same virtual times.
      const r3 = hvtrace(['run', '--bios', 'none', '--kernel', prog, '-q', '--rtc', 'base=2030-06-15T12:00:00']);
      const [u1, u2] = times(r3.stdout);
      expect(u1 - BigInt(Date.UTC(2030, 5, 15, 12)) * 1_000_000n).toBe(t1 - base);
      expect(u2 - u1).toBe(t2 - t1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('record takes the base from the host clock and stores it; replay reads the same dates without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-rtc-'));
    try {
      const prog = join(dir, 'rtc.bin');
      writeFileSync(prog, rtcReader(50_000));
      const out = join(dir, 'rtc.trace');
      const before = Math.floor(Date.now() / 1000);
      const rec = hvtrace(['record', '--bios', 'none', '--kernel', prog, '-o', out, '-q']);
      const after = Math.floor(Date.now() / 1000);
      expect(rec.status, rec.stderr).toBe(0);
      const [t1, t2] = times(rec.stdout);
      const r = TraceReader.open(out);
      let base: number;
      try {
        base = r.config.machine!.rtc!.base;
        expect(Buffer.from(r.consoleBytes()).toString('latin1')).toBe(rec.stdout);
      } finally {
        r.close();
      }
      expect(base).toBeGreaterThanOrEqual(before);
      expect(base).toBeLessThanOrEqual(after);
      expect(t1 / NS).toBe(BigInt(base));
      expect(t2).toBeGreaterThan(t1);
      const info = hvtrace(['info', out]);
      expect(info.stdout).toContain(`rtc:          goldfish RTC from ${formatRtcBase(base)} UTC at virtual time 0`);
      // The replay compares every event, the RTC's MMIO reads with their values included.
      const rep = hvtrace(['replay', out, '--console']);
      expect(rep.status, rep.stdout + rep.stderr).toBe(0);
      expect(rep.stdout).toContain(rec.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--rtc with a bad value is one line and exit 2, and record writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-rtc-'));
    try {
      const prog = join(dir, 'rtc.bin');
      writeFileSync(prog, rtcReader(10));
      const out = join(dir, 'bad.trace');
      const r = hvtrace(['record', '--bios', 'none', '--kernel', prog, '-o', out, '--rtc', 'base=2020-02-30']);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^hvtrace: --rtc base=2020-02-30: not a valid date/);
      expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.trim()).toBe('rtc.bin');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
