import { describe, expect, it } from 'vitest';
import { IRQ_MEIP, IRQ_SEIP, type HartIrqLines } from '../src/mem/device.js';
import { Plic } from '../src/devices/plic.js';

const PRIO = (src: number) => 4 * src;
const ENABLE = (ctx: number) => 0x2000 + 0x80 * ctx;
const THRESHOLD = (ctx: number) => 0x20_0000 + 0x1000 * ctx;
const CLAIM = (ctx: number) => 0x20_0004 + 0x1000 * ctx;

function setup(numHarts = 2) {
  const calls: [number, number, boolean][] = [];
  const lines: HartIrqLines = { setIrqLine: (h, b, l) => void calls.push([h, b, l]) };
  const plic = new Plic(numHarts, lines);
  const w = (off: number, v: number) => plic.write(off, 4, BigInt(v));
  const r = (off: number) => Number(plic.read(off, 4));
  return { plic, calls, w, r };
}

/** Enable `src` on context ctx. */
function enable(w: (o: number, v: number) => void, r: (o: number) => number, ctx: number, src: number) {
  const off = ENABLE(ctx) + 4 * (src >> 5);
  w(off, r(off) | (1 << (src & 31)));
}

describe('Plic', () => {
  it('has the virt address and size', () => {
    const { plic } = setup();
    expect(plic.base).toBe(0x0c00_0000);
    expect(plic.size).toBe(0x60_0000);
    expect(plic.numContexts).toBe(4);
  });

  it('priorities are 3-bit WARL (value % 8, as QEMU 7.2)', () => {
    const { w, r } = setup();
    w(PRIO(10), 0xff);
    expect(r(PRIO(10))).toBe(7);
    w(PRIO(10), 9);
    expect(r(PRIO(10))).toBe(1);
    w(PRIO(95), 5);
    expect(r(PRIO(95))).toBe(5);
    // Source 96 does not exist (96 sources including 0).
    w(PRIO(96), 5);
    expect(r(PRIO(96))).toBe(0);
    w(THRESHOLD(1), 9);
    expect(r(THRESHOLD(1))).toBe(1);
  });

  it('pending is read-only and follows the level', () => {
    const { plic, w, r } = setup();
    plic.setSourceLevel(10, true);
    plic.setSourceLevel(33, true);
    expect(r(0x1000)).toBe(1 << 10);
    expect(r(0x1004)).toBe(1 << 1);
    w(0x1000, 0);
    expect(r(0x1000)).toBe(1 << 10);
    plic.setSourceLevel(10, false);
    expect(r(0x1000)).toBe(0);
    expect(r(0x100c)).toBe(0); // beyond the 3 words
    // Invalid sources are ignored.
    plic.setSourceLevel(0, true);
    plic.setSourceLevel(96, true);
    expect(r(0x1000)).toBe(0);
  });

  it('drives MEIP for even contexts and SEIP for odd ones', () => {
    const { plic, calls, w, r } = setup(2);
    w(PRIO(10), 1);
    enable(w, r, 3, 10); // hart 1 S-mode
    expect(calls).toEqual([]);
    plic.setSourceLevel(10, true);
    expect(calls).toEqual([[1, IRQ_SEIP, true]]);
    enable(w, r, 0, 10); // hart 0 M-mode: enabling re-evaluates at once
    expect(calls).toEqual([
      [1, IRQ_SEIP, true],
      [0, IRQ_MEIP, true],
    ]);
    plic.setSourceLevel(10, false);
    expect(calls.slice(2)).toEqual([
      [0, IRQ_MEIP, false],
      [1, IRQ_SEIP, false],
    ]);
  });

  it('priority 0 never interrupts; threshold masks priority <= threshold', () => {
    const { plic, calls, w, r } = setup(1);
    enable(w, r, 1, 5);
    plic.setSourceLevel(5, true);
    expect(calls).toEqual([]);
    expect(r(CLAIM(1))).toBe(0);
    w(PRIO(5), 3);
    expect(calls).toEqual([[0, IRQ_SEIP, true]]);
    w(THRESHOLD(1), 3);
    expect(calls).toEqual([
      [0, IRQ_SEIP, true],
      [0, IRQ_SEIP, false],
    ]);
    expect(r(CLAIM(1))).toBe(0);
    w(THRESHOLD(1), 2);
    expect(plic.contextLevel(1)).toBe(true);
    expect(r(CLAIM(1))).toBe(5);
  });

  it('claim picks highest priority, ties go to the lowest id', () => {
    const { plic, w, r } = setup(1);
    for (const s of [3, 7, 40, 41]) {
      enable(w, r, 0, s);
      plic.setSourceLevel(s, true);
    }
    w(PRIO(3), 2);
    w(PRIO(7), 5);
    w(PRIO(40), 5);
    w(PRIO(41), 6);
    expect(r(CLAIM(0))).toBe(41);
    expect(r(CLAIM(0))).toBe(7);
    expect(r(CLAIM(0))).toBe(40);
    expect(r(CLAIM(0))).toBe(3);
    expect(r(CLAIM(0))).toBe(0);
  });

  it('claim clears pending and marks claimed; complete unmarks', () => {
    const { plic, calls, w, r } = setup(1);
    w(PRIO(10), 1);
    enable(w, r, 1, 10);
    plic.setSourceLevel(10, true);
    expect(r(CLAIM(1))).toBe(10);
    expect(plic.isPending(10)).toBe(false);
    expect(plic.isClaimed(10)).toBe(true);
    expect(calls).toEqual([
      [0, IRQ_SEIP, true],
      [0, IRQ_SEIP, false],
    ]);
    // Device drops its line before the handler completes: nothing more to do.
    plic.setSourceLevel(10, false);
    w(CLAIM(1), 10);
    expect(plic.isClaimed(10)).toBe(false);
    expect(plic.isPending(10)).toBe(false);
    expect(calls.length).toBe(2);
  });

  it('gateway: a still-asserted source is not re-signalled until completed', () => {
    const { plic, calls, w, r } = setup(1);
    w(PRIO(10), 1);
    enable(w, r, 1, 10);
    plic.setSourceLevel(10, true);
    expect(r(CLAIM(1))).toBe(10);
    // The device re-announces its (still high) level while the claim is outstanding.
    plic.setSourceLevel(10, true);
    expect(plic.isPending(10)).toBe(false);
    expect(r(CLAIM(1))).toBe(0);
    expect(calls).toEqual([
      [0, IRQ_SEIP, true],
      [0, IRQ_SEIP, false],
    ]);
    // Completion with the level still high: pending again, line rises.
    w(CLAIM(1), 10);
    expect(plic.isPending(10)).toBe(true);
    expect(calls[2]).toEqual([0, IRQ_SEIP, true]);
    expect(r(CLAIM(1))).toBe(10);
  });

  it('a claimed source does not block other sources', () => {
    const { plic, w, r } = setup(1);
    w(PRIO(1), 7);
    w(PRIO(2), 1);
    enable(w, r, 0, 1);
    enable(w, r, 0, 2);
    plic.setSourceLevel(1, true);
    plic.setSourceLevel(2, true);
    expect(r(CLAIM(0))).toBe(1);
    expect(r(CLAIM(0))).toBe(2);
  });

  it('complete ignores ids >= 96 and tolerates 0', () => {
    const { plic, w, r } = setup(1);
    w(PRIO(10), 1);
    enable(w, r, 0, 10);
    plic.setSourceLevel(10, true);
    expect(r(CLAIM(0))).toBe(10);
    w(CLAIM(0), 96 + 10);
    w(CLAIM(0), 0);
    expect(plic.isClaimed(10)).toBe(true);
  });

  it('enables are per context; words beyond 3 and absent contexts are inert', () => {
    const { plic, w, r } = setup(1);
    w(ENABLE(0), 0xffff_ffff);
    w(ENABLE(0) + 12, 0xffff_ffff);
    w(ENABLE(2), 0xffff_ffff); // context 2 does not exist with one hart
    expect(r(ENABLE(0)) >>> 0).toBe(0xffff_ffff);
    expect(r(ENABLE(1))).toBe(0);
    expect(r(ENABLE(0) + 12)).toBe(0);
    expect(r(ENABLE(2))).toBe(0);
    expect(r(THRESHOLD(2))).toBe(0);
    expect(r(CLAIM(2))).toBe(0);
    expect(plic.read(0x3f_fffc, 4)).toBe(0n);
  });

  it('sub-word accesses are inert, 64-bit accesses split', () => {
    const { plic, w, r } = setup(1);
    plic.write(PRIO(1), 1, 5n);
    expect(r(PRIO(1))).toBe(0);
    plic.write(PRIO(2), 8, (6n << 32n) | 3n); // priorities of sources 2 and 3
    expect(r(PRIO(2))).toBe(3);
    expect(r(PRIO(3))).toBe(6);
    expect(plic.read(PRIO(2), 8)).toBe((6n << 32n) | 3n);
    w(PRIO(4), 1);
    enable(w, r, 0, 4);
    plic.setSourceLevel(4, true);
    expect(plic.read(CLAIM(0), 2)).toBe(0n); // no claim side effect
    expect(plic.isPending(4)).toBe(true);
  });

  it('reset clears everything and lowers every line', () => {
    const { plic, calls, w, r } = setup(1);
    w(PRIO(10), 1);
    enable(w, r, 0, 10);
    plic.setSourceLevel(10, true);
    plic.reset();
    expect(r(PRIO(10))).toBe(0);
    expect(r(ENABLE(0))).toBe(0);
    expect(plic.isPending(10)).toBe(false);
    expect(calls.slice(1)).toEqual([
      [0, IRQ_MEIP, false],
      [0, IRQ_SEIP, false],
    ]);
  });

  it('checkpoints round-trip', () => {
    const a = setup(2);
    a.w(PRIO(10), 3);
    enable(a.w, a.r, 1, 10);
    enable(a.w, a.r, 3, 11);
    a.w(PRIO(11), 2);
    a.plic.setSourceLevel(10, true);
    a.plic.setSourceLevel(11, true);
    expect(a.r(CLAIM(1))).toBe(10);
    const saved = structuredClone(a.plic.saveState());
    const b = setup(2);
    b.plic.restoreState(saved);
    expect(b.calls).toEqual([]);
    expect(b.plic.isClaimed(10)).toBe(true);
    expect(b.r(CLAIM(3))).toBe(11);
    // Line for hart 1 S-mode was cached high; the claim lowered it.
    expect(b.calls).toEqual([[1, IRQ_SEIP, false]]);
    b.w(CLAIM(1), 10);
    expect(b.plic.isPending(10)).toBe(true);
    expect(() => b.plic.restoreState({ priority: [] })).toThrow();
  });
});
