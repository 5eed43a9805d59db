/**
 * First-level TLBs kept per translation context (src/hart/tlb-stash.ts): a privilege change, a
 * trap, an xRET or an mstatus write is a context switch that stashes the live entries under a
 * context key and brings back the new context's; only real invalidations (SFENCE.VMA, satp, PMP,
 * ...) drop them all. A wrongly keyed stash hands a context another context's permissions.
 *
 * guests/build/tlb-ctx.elf (guests/tlb-ctx/tlb-ctx.S, --bios none) checks from inside the guest:
 * U <-> S round trips, a PTE changed and fenced seen by both S and U, SUM toggled in S-mode and
 * by M-mode, MXR for U, MPRV with MPP = S / U from M-mode. Each of these breakages makes checks
 * fail (tried): the key without the privilege (40 of 540), without SUM/MXR (100), without MPP
 * (59), a real flush that keeps the stashes (117). QEMU 7.2 prints the same
 * (test/reference/tlb-ctx-vs-qemu.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { HOT_VISITS, TLB_EMPTY, TlbStash, tlbKey } from '../src/hart/tlb-stash.js';
import * as C from '../src/hart/constants.js';

const GUEST = 'guests/build/tlb-ctx.elf';
const TLB_CTX_OUTPUT = 'tlb-ctx: 540 checks, 0 failed\nPASS\n';

function runGuest(): { console: string; kind: string } {
  const m = new Machine({ ramSize: 64 * 1024 * 1024, harts: 1, bios: 'none', kernel: { name: 'tlb-ctx.elf', bytes: new Uint8Array(readFileSync(GUEST)) } });
  const chunks: Buffer[] = [];
  m.onConsole = (b) => void chunks.push(Buffer.from(b));
  const kind = new Scheduler(m, { maxInsns: 10_000_000 }).runToEnd().kind;
  return { console: Buffer.concat(chunks).toString('latin1'), kind };
}

describe('TLB contexts: the tlb-ctx guest', () => {
  it('sees the right translation and permissions after every privilege, SUM, MXR, MPRV/MPP change and fence', () => {
    const r = runGuest();
    expect(r.console).toBe(TLB_CTX_OUTPUT);
    expect(r.kind).toBe('poweroff');
  });
});

describe('TlbStash', () => {
  /** Three live TLBs of 256 entries, as HartCore has them (4 int32 per entry). */
  function live(): Int32Array[] {
    return [0, 1, 2].map(() => {
      const t = new Int32Array(256 * 4);
      for (let i = 1; i < t.length; i += 4) t[i] = TLB_EMPTY;
      return t;
    });
  }
  function fill(t: Int32Array[], st: TlbStash, acc: number, slot: number, off: number): void {
    t[acc]![slot * 4] = slot << 12; t[acc]![slot * 4 + 1] = 0; t[acc]![slot * 4 + 2] = off;
    st.note(acc, slot);
  }
  const filled = (t: Int32Array[]): number => t.reduce((n, a) => { for (let i = 1; i < a.length; i += 4) if (a[i] !== TLB_EMPTY) n++; return n; }, 0);

  /** The offset refill gives for page `slot` (filled at VA slot << 12) of TLB `acc`, or -1. */
  const refill = (st: TlbStash, acc: number, slot: number): number => st.refill(acc, slot, slot << 12, 0);

  it('a switch empties the live TLBs; back in a context, the entries it filled last time are live again', () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(1);
    fill(t, st, 0, 3, 0x1000); fill(t, st, 1, 3, 0x2000); fill(t, st, 2, 200, 0x3000);
    st.switchTo(2);
    expect(filled(t)).toBe(0);
    expect(refill(st, 1, 3)).toBe(-1); // context 2 never had it
    fill(t, st, 1, 3, 0x9000);
    st.switchTo(1);
    expect(filled(t)).toBe(3);
    expect([t[0]![14], t[1]![14], t[2]![802]]).toEqual([0x1000, 0x2000, 0x3000]);
    st.switchTo(2);
    expect(filled(t)).toBe(1);
    expect(t[1]![14]).toBe(0x9000);
  });

  it(`an entry that came back at HOT_VISITS (${HOT_VISITS}) switches without missing waits for a miss (refill), then comes back again`, () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(1);
    fill(t, st, 1, 9, 0x4000);
    const liveAfterSwitch: boolean[] = [];
    for (let v = 1; v <= HOT_VISITS + 2; v++) {
      st.switchTo(2);
      st.switchTo(1);
      liveAfterSwitch.push(t[1]![9 * 4 + 1] !== TLB_EMPTY);
      if (!liveAfterSwitch[v - 1]) expect(refill(st, 1, 9)).toBe(0x4000);
    }
    expect(liveAfterSwitch).toEqual([...Array(HOT_VISITS).fill(true), false, true]);
  });

  it('a refill needs the same page: another page in that slot misses', () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(1);
    fill(t, st, 1, 4, 0x1000);
    st.switchTo(2);
    st.switchTo(1);
    expect(st.refill(1, 4, (4 + 256) << 12, 0)).toBe(-1);
    expect(st.refill(1, 4, 4 << 12, 1)).toBe(-1);
    expect(st.refill(1, 4, 4 << 12, 0)).toBe(0x1000);
  });

  it('dropAll forgets every stash (a real invalidation)', () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(1);
    fill(t, st, 1, 5, 0x1000);
    st.switchTo(2);
    st.dropAll(2);
    st.switchTo(1);
    expect(refill(st, 1, 5)).toBe(-1);
  });

  it('forgetStorePage removes a buffer page from the stashed store TLBs only', () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(1);
    fill(t, st, 2, 7, 0x5000); fill(t, st, 2, 8, 0x6000); fill(t, st, 1, 7, 0x5000);
    st.switchTo(2);
    st.forgetStorePage(5);
    st.switchTo(1);
    expect([refill(st, 2, 7), refill(st, 2, 8), refill(st, 1, 7)]).toEqual([-1, 0x6000, 0x5000]);
  });

  it('keeps the most recently used contexts when there are more than it holds', () => {
    const t = live(), st = new TlbStash(t);
    st.dropAll(100);
    for (let k = 100; k < 110; k++) {
      st.switchTo(k);
      fill(t, st, 1, 1, k * 4096);
    }
    st.switchTo(1); // stashes 109; 100 and 101 were the oldest of ten
    const back = (k: number): number => { st.switchTo(k); return st.refill(1, 1, 1 << 12, 0) / 4096; };
    expect(back(100)).toBe(-1 / 4096);
    expect(back(101)).toBe(-1 / 4096);
    expect(back(102)).toBe(102);
    expect(back(109)).toBe(109);
  });

  it('keys MPRV/MPP/MPV only in M-mode with MPRV set, and SUM/MXR of both status copies', () => {
    const sum = C.MSTATUS_SUM, mprv = C.MSTATUS_MPRV, mppS = C.PRV_S << C.MSTATUS_MPP_SHIFT;
    expect(tlbKey(C.PRV_S, false, mppS, 0, 0)).toBe(tlbKey(C.PRV_S, false, 0, 0, 0));
    expect(tlbKey(C.PRV_M, false, mppS, 0, 0)).toBe(tlbKey(C.PRV_M, false, 0, 0, 0));
    expect(tlbKey(C.PRV_M, false, mprv | mppS, 0, 0)).not.toBe(tlbKey(C.PRV_M, false, mprv, 0, 0));
    expect(tlbKey(C.PRV_M, false, mprv, 0, C.MSTATUSH_MPV)).not.toBe(tlbKey(C.PRV_M, false, mprv, 0, 0));
    expect(tlbKey(C.PRV_S, false, sum, 0, 0)).not.toBe(tlbKey(C.PRV_S, false, 0, 0, 0));
    expect(tlbKey(C.PRV_S, true, 0, C.MSTATUS_MXR, 0)).not.toBe(tlbKey(C.PRV_S, true, 0, 0, 0));
    expect(tlbKey(C.PRV_S, true, 0, 0, 0)).not.toBe(tlbKey(C.PRV_S, false, 0, 0, 0));
    expect(tlbKey(C.PRV_U, false, 0, 0, 0)).not.toBe(tlbKey(C.PRV_S, false, 0, 0, 0));
  });
});
