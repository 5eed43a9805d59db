import { describe, expect, it } from 'vitest';
import { Clint, CLINT_NO_DEADLINE } from '../src/devices/clint.js';
import { IRQ_MSIP, IRQ_MTIP, type HartIrqLines } from '../src/mem/device.js';

const ALL_ONES = (1n << 64n) - 1n;

function setup(numHarts = 2, opts?: { resetMtimecmp?: bigint }) {
  const calls: [number, number, boolean][] = [];
  const lines: HartIrqLines = { setIrqLine: (h, b, l) => void calls.push([h, b, l]) };
  const clock = { now: 0n };
  const clint = new Clint(numHarts, lines, { now: () => clock.now }, opts);
  return { clint, calls, clock };
}

describe('Clint', () => {
  it('has the virt address and size', () => {
    const { clint } = setup();
    expect(clint.base).toBe(0x0200_0000);
    expect(clint.size).toBe(0x10000);
  });

  it('resets mtimecmp to all-ones and drives nothing', () => {
    const { clint, calls } = setup(4);
    expect(calls).toEqual([]);
    for (let h = 0; h < 4; h++) {
      expect(clint.read(0x4000 + 8 * h, 8)).toBe(ALL_ONES);
      expect(clint.read(0x4000 + 8 * h, 4)).toBe(0xffff_ffffn);
      expect(clint.read(0x4000 + 8 * h + 4, 4)).toBe(0xffff_ffffn);
      expect(clint.nextDeadline(h)).toBe(ALL_ONES);
    }
  });

  it('can reset mtimecmp to 0 like QEMU 7.2 (MTIP pending at once)', () => {
    const { clint, calls } = setup(2, { resetMtimecmp: 0n });
    expect(calls).toEqual([
      [0, IRQ_MTIP, true],
      [1, IRQ_MTIP, true],
    ]);
    expect(clint.nextDeadline(0)).toBe(CLINT_NO_DEADLINE);
  });

  it('msip bit 0 drives MSIP; other bits ignored', () => {
    const { clint, calls } = setup(2);
    clint.write(4, 4, 0xffff_fffen); // bit 0 clear
    expect(clint.read(4, 4)).toBe(0n);
    clint.write(4, 4, 1n);
    expect(clint.read(4, 4)).toBe(1n);
    expect(clint.read(0, 4)).toBe(0n);
    clint.write(4, 4, 0n);
    expect(calls).toEqual([
      [1, IRQ_MSIP, false],
      [1, IRQ_MSIP, true],
      [1, IRQ_MSIP, false],
    ]);
  });

  it('64-bit access to msip covers two harts', () => {
    const { clint } = setup(2);
    clint.write(0, 8, (1n << 32n) | 1n);
    expect(clint.read(0, 8)).toBe((1n << 32n) | 1n);
    expect(clint.read(0, 4)).toBe(1n);
    expect(clint.read(4, 4)).toBe(1n);
  });

  it('mtime follows the clock plus the written offset', () => {
    const { clint, clock } = setup();
    clock.now = 1000n;
    expect(clint.read(0xbff8, 8)).toBe(1000n);
    expect(clint.mtime()).toBe(1000n);
    clint.write(0xbff8, 8, 50n);
    expect(clint.mtime()).toBe(50n);
    clock.now = 1010n;
    expect(clint.read(0xbff8, 8)).toBe(60n);
    expect(clint.mtimeOffset()).toBe((50n - 1000n) & ALL_ONES);
  });

  it('mtime halves read and write like QEMU', () => {
    const { clint, clock } = setup();
    clock.now = 0x1_2345_6789n;
    expect(clint.read(0xbff8, 4)).toBe(0x2345_6789n);
    expect(clint.read(0xbffc, 4)).toBe(1n);
    clint.write(0xbffc, 4, 0xabn); // high half, low half kept
    expect(clint.mtime()).toBe(0xab_2345_6789n);
    clint.write(0xbff8, 4, 5n); // low half, high half kept
    expect(clint.mtime()).toBe(0xab_0000_0005n);
    clock.now += 3n;
    expect(clint.mtime()).toBe(0xab_0000_0008n);
  });

  it('mtimecmp write raises/lowers MTIP immediately', () => {
    const { clint, calls, clock } = setup(2);
    clock.now = 100n;
    clint.write(0x4008, 8, 100n); // hart 1, in the "past" (<=)
    expect(calls).toEqual([[1, IRQ_MTIP, true]]);
    clint.write(0x4008, 8, 101n);
    expect(calls).toEqual([
      [1, IRQ_MTIP, true],
      [1, IRQ_MTIP, false],
    ]);
    expect(clint.nextDeadline(1)).toBe(101n);
    expect(clint.nextDeadline(0)).toBe(ALL_ONES);
    // Rewriting the same future value does not re-drive the line.
    clint.write(0x4008, 8, 200n);
    expect(calls.length).toBe(2);
  });

  it('mtimecmp 32-bit halves keep the other half', () => {
    const { clint } = setup(1);
    clint.write(0x4000, 4, 0x1234n);
    expect(clint.read(0x4000, 8)).toBe(0xffff_ffff_0000_1234n);
    clint.write(0x4004, 4, 0n);
    expect(clint.read(0x4000, 8)).toBe(0x1234n);
    expect(clint.mtimecmpOf(0)).toBe(0x1234n);
  });

  it('updateTimer (the board, at a hart\'s own time) raises MTIP, and an mtimecmp write into the future lowers it at once', () => {
    // The timer-interrupt storm of issue 12: the board raised MTIP without the CLINT knowing,
    // so the handler's mtimecmp write was taken for a no-change and MTIP stayed high.
    const { clint, calls } = setup(2);
    clint.write(0x4008, 8, 500n);
    clint.updateTimer(1, 499n);
    expect(calls).toEqual([]);
    clint.updateTimer(1, 500n);
    expect(calls).toEqual([[1, IRQ_MTIP, true]]);
    clint.write(0x4008, 8, 1_000n); // clock() is 0 here: the compare is in the future
    expect(calls).toEqual([[1, IRQ_MTIP, true], [1, IRQ_MTIP, false]]);
  });

  it('updateTimers raises MTIP when time reaches mtimecmp, only on change', () => {
    const { clint, calls, clock } = setup(2);
    clint.write(0x4000, 8, 500n);
    clint.write(0x4008, 8, 700n);
    expect(calls).toEqual([]);
    expect(clint.earliestDeadline()).toBe(500n);
    clock.now = 499n;
    clint.updateTimers();
    expect(calls).toEqual([]);
    clock.now = 500n;
    clint.updateTimers();
    clint.updateTimers();
    expect(calls).toEqual([[0, IRQ_MTIP, true]]);
    expect(clint.nextDeadline(0)).toBe(CLINT_NO_DEADLINE);
    expect(clint.earliestDeadline()).toBe(700n);
    clock.now = 10_000n;
    clint.updateTimers();
    expect(calls).toEqual([
      [0, IRQ_MTIP, true],
      [1, IRQ_MTIP, true],
    ]);
    // Pushing mtimecmp forward clears it.
    clint.write(0x4000, 8, 20_000n);
    expect(calls[2]).toEqual([0, IRQ_MTIP, false]);
  });

  it('writing mtime re-evaluates every hart', () => {
    const { clint, calls, clock } = setup(2);
    clock.now = 10n;
    clint.write(0x4000, 8, 1000n);
    clint.write(0xbff8, 8, 1000n);
    expect(calls).toEqual([[0, IRQ_MTIP, true]]);
    clint.write(0xbff8, 8, 0n);
    expect(calls).toEqual([
      [0, IRQ_MTIP, true],
      [0, IRQ_MTIP, false],
    ]);
    expect(clint.nextDeadline(0)).toBe(1000n);
  });

  it('unimplemented offsets read 0 and ignore writes; never throws', () => {
    const { clint, calls } = setup(2);
    expect(clint.read(0x8, 4)).toBe(0n); // msip of hart 2 (absent)
    expect(clint.read(0x4010, 8)).toBe(0n); // mtimecmp of hart 2
    expect(clint.read(0x8000, 4)).toBe(0n);
    clint.write(0x8, 4, 1n);
    clint.write(0x4010, 8, 0n);
    clint.write(0x4000, 1, 0n); // sub-word write ignored
    clint.write(0x3, 4, 1n); // misaligned ignored
    expect(calls).toEqual([]);
    expect(clint.read(0x4000, 1)).toBe(0xffn);
    expect(clint.read(0x4002, 2)).toBe(0xffffn);
  });

  it('checkpoints round-trip', () => {
    const a = setup(2);
    a.clock.now = 77n;
    a.clint.write(0xbff8, 8, 1000n);
    a.clint.write(0x4000, 8, 900n);
    a.clint.write(0x4008, 8, 5000n);
    a.clint.write(4, 4, 1n);
    const saved = structuredClone(a.clint.saveState());
    const b = setup(2);
    b.clock.now = 77n;
    b.clint.restoreState(saved);
    expect(b.calls).toEqual([]);
    expect(b.clint.mtime()).toBe(1000n);
    expect(b.clint.read(4, 4)).toBe(1n);
    expect(b.clint.nextDeadline(1)).toBe(5000n);
    // Cached level restored: MTIP of hart 0 already high, so no duplicate raise.
    b.clint.updateTimers();
    expect(b.calls).toEqual([]);
    expect(() => b.clint.restoreState({})).toThrow();
  });

  it('reset clears msip, mtimecmp and mtime', () => {
    const { clint, clock } = setup(1);
    clock.now = 50n;
    clint.write(0, 4, 1n);
    clint.write(0x4000, 8, 10n);
    clint.reset();
    expect(clint.read(0, 4)).toBe(0n);
    expect(clint.mtime()).toBe(0n);
    expect(clint.read(0x4000, 8)).toBe(ALL_ONES);
  });

  it('rejects bad hart indices on the host API', () => {
    const { clint } = setup(2);
    expect(() => clint.nextDeadline(2)).toThrow(RangeError);
    expect(() => new Clint(0, { setIrqLine() {} }, { now: () => 0n })).toThrow(RangeError);
  });
});
