/**
 * The hardware performance monitor: Zihpm's 16 programmable counters (mhpmcounter3..18, QEMU
 * 7.2's pmu-num) with their event selectors, mcountinhibit, and Sscofpmf (counter overflow:
 * mhpmeventN.OF, scountovf, the local counter-overflow interrupt LCOFI; mode filtering: the
 * MINH/SINH/UINH/VSINH/VUINH bits). Priv spec §3.1.10-3.1.13 and chapter "Sscofpmf".
 *
 * Nothing counts in the interpreter loop: a counter's value is computed when it is read, from
 * the hart's step and instret counts (the sources mcycle and minstret already use), so it is a
 * pure function of the architectural counts and the writes made to these CSRs. Mode filtering
 * makes a counter's counting depend on the privilege mode: while any event selector has an
 * xINH bit set, the hart calls `hpmModeHook` at every mode change (trap entry, xRET), which
 * re-bases the counters; with no xINH bit set the hook is null (no cost).
 *
 * Overflow must happen at an exact instruction: a counter that counts is "armed" with the source
 * count at which it wraps, and `Hart.hpmCut` (the step count at which the earliest armed counter
 * can wrap) cuts the hart's run there, as a timer deadline does; `hpmPoll` then sets OF and
 * LCOFIP. With no counter armed (no Sscofpmf, nothing counting, or a wrap beyond 2^53 steps
 * away) hpmCut is Infinity and costs nothing.
 *
 * Every write here takes effect after the writing instruction completes (§3.1.10, as for
 * mcycle/minstret): that instruction is counted under the configuration before the write; a
 * counter written with V reads V at the next instruction.
 */
import type { Hart } from './hart.js';
import * as C from './constants.js';

export interface HpmSnapshot {
  /** mhpmevent3..18 as written (all 64 bits, as QEMU 7.2 keeps them; OF set by overflows too). */
  event: bigint[];
  /** mhpmcounter3..18: value = base + (counting ? source : 0), modulo 2^64. */
  base: bigint[];
  /** mcycle while mcountinhibit.CY = 1, minstret while mcountinhibit.IR = 1. */
  cycleFrozen: bigint;
  instretFrozen: bigint;
  /**
   * The privilege mode the bases were computed in (priv | 4 when V = 1); stored only while an
   * xINH bit is set (it matters only then). Absent: the hart's mode.
   */
  mode?: number;
}

interface HpmState extends HpmSnapshot {
  mode: number;
  /** Per counter: the source count at which it wraps next (Infinity: not armed). */
  ovfAt: number[];
}

const HPM_STATE = new WeakMap<Hart, HpmState>();
const HPM_LAST = C.HPM_FIRST + C.HPM_COUNT - 1;
const TWO64 = 1n << 64n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const modeOf = (h: Hart): number => h.priv | (h.virt ? 4 : 0);
function fresh(h: Hart): HpmState {
  return {
    event: new Array<bigint>(C.HPM_COUNT).fill(0n), base: new Array<bigint>(C.HPM_COUNT).fill(0n),
    cycleFrozen: 0n, instretFrozen: 0n, mode: modeOf(h), ovfAt: new Array<number>(C.HPM_COUNT).fill(Infinity),
  };
}
function hpm(h: Hart): HpmState {
  let s = HPM_STATE.get(h);
  if (s === undefined) { s = fresh(h); HPM_STATE.set(h, s); }
  return s;
}

/**
 * The HPM state as plain data, for machine snapshots (`MachineSnapshot.hpm`). Undefined while
 * never written.
 */
export function hpmSaveState(h: Hart): HpmSnapshot | undefined {
  const s = HPM_STATE.get(h);
  if (s === undefined) return undefined;
  const snap: HpmSnapshot = { event: [...s.event], base: [...s.base], cycleFrozen: s.cycleFrozen, instretFrozen: s.instretFrozen };
  // The mode matters only while mode filtering is on; without it the snapshot (and the state
  // digests that hash it) stays as before Sscofpmf.
  if (h.hpmModeHook !== null) snap.mode = s.mode;
  return snap;
}
/**
 * Restore what hpmSaveState returned, after the hart's own state; undefined (a checkpoint from
 * before Zihpm) is the reset state.
 */
export function hpmRestoreState(h: Hart, snap: HpmSnapshot | undefined): void {
  h.hpmCut = Infinity;
  h.hpmModeHook = null;
  if (snap === undefined) { HPM_STATE.delete(h); return; }
  const s: HpmState = {
    event: [...snap.event], base: [...snap.base], cycleFrozen: snap.cycleFrozen, instretFrozen: snap.instretFrozen,
    mode: snap.mode ?? modeOf(h), ovfAt: new Array<number>(C.HPM_COUNT).fill(Infinity),
  };
  HPM_STATE.set(h, s);
  rearm(h, s, 0);
}

const inhibited = (h: Hart, bit: number): boolean => ((h.mcountinhibit >>> bit) & 1) !== 0;
export function mcycleRead(h: Hart): bigint {
  return inhibited(h, 0) ? hpm(h).cycleFrozen : h.mcycleValue();
}
export function minstretRead(h: Hart): bigint {
  return inhibited(h, 2) ? hpm(h).instretFrozen : h.minstretValue();
}

/** The xINH bit that stops counting in mode `mode` (priv | 4 when V = 1). */
const MODE_INH: readonly bigint[] = [
  C.HPM_EVENT_UINH, C.HPM_EVENT_SINH, 0n, C.HPM_EVENT_MINH, C.HPM_EVENT_VUINH, C.HPM_EVENT_VSINH, 0n, C.HPM_EVENT_MINH,
];
/**
 * 1 if counter k follows the step count (HW_CPU_CYCLES, as mcycle), 2 if the instret count
 * (HW_INSTRUCTIONS, as minstret), 0 if it does not count now: another event, its mcountinhibit
 * bit set, or its event's xINH bit for the mode the bases are in (Sscofpmf). QEMU 7.2 stores the
 * xINH bits but does not filter; the spec's filtering is implemented here.
 */
function sourceKind(h: Hart, s: HpmState, k: number): number {
  if (inhibited(h, k)) return 0;
  const e = s.event[k - C.HPM_FIRST]!;
  if ((e & MODE_INH[s.mode]!) !== 0n) return 0;
  const ev = e & C.HPM_EVENT_IDX_MASK;
  return ev === C.HPM_EVENT_CYCLES ? 1 : ev === C.HPM_EVENT_INSTRUCTIONS ? 2 : 0;
}
/** The count counter k follows now, or -1 if it does not count. */
function source(h: Hart, s: HpmState, k: number): number {
  const kind = sourceKind(h, s, k);
  return kind === 1 ? h.attempted : kind === 2 ? h.instret : -1;
}
/** Counter k's value, plus `extra` counted instructions still to come (the current one). */
function valueAt(h: Hart, s: HpmState, k: number, extra: number): bigint {
  const src = source(h, s, k);
  return BigInt.asUintN(64, s.base[k - C.HPM_FIRST]! + (src < 0 ? 0n : BigInt(src + extra)));
}
/** Make counter k read `v` once `extra` more counted instructions completed, as now configured. */
function rebaseAt(h: Hart, s: HpmState, k: number, v: bigint, extra: number): void {
  const src = source(h, s, k);
  s.base[k - C.HPM_FIRST] = BigInt.asUintN(64, v - (src < 0 ? 0n : BigInt(src + extra)));
}
export function hpmRead(h: Hart, k: number): bigint {
  const s = HPM_STATE.get(h);
  return s === undefined ? 0n : valueAt(h, s, k, 0);
}
export function hpmEventRead(h: Hart, k: number): bigint {
  return HPM_STATE.get(h)?.event[k - C.HPM_FIRST] ?? 0n;
}

/**
 * Re-arm every counter after a change (CSR write, mode change, restore): the source count at
 * which each counting counter wraps, the hart's cut at the earliest, and the mode hook. `extra`
 * counted instructions are still to come (1 while the writing instruction completes). Only with
 * Sscofpmf: without it a wrap is silent and nothing needs to stop at it.
 */
function rearm(h: Hart, s: HpmState, extra: number): void {
  let anyInh = false;
  let cut = Infinity;
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) {
    const i = k - C.HPM_FIRST;
    if ((s.event[i]! & C.HPM_EVENT_XINH) !== 0n) anyInh = true;
    s.ovfAt[i] = Infinity;
    if (!h.sscofpmf) continue;
    const src = source(h, s, k);
    if (src < 0) continue;
    // Counts to go until the value wraps to 0 (from 0 that is 2^64 counts: never, here).
    const after = BigInt.asUintN(64, s.base[i]! + BigInt(src + extra));
    if (after === 0n) continue;
    const left = TWO64 - after;
    if (left > MAX_SAFE) continue;
    const at = src + extra + Number(left);
    s.ovfAt[i] = at;
    // instret grows by at most one per step, so the step count reaches `at - src` steps from now
    // no later than the instret count does; hpmPoll re-cuts if instret is not there yet.
    const c = h.attempted + (at - src);
    if (c < cut) cut = c;
  }
  h.hpmModeHook = anyInh ? modeHook : null;
  setCut(h, cut);
}
/** Counter i (index from 0) overflowed: OF is set, and LCOFIP raised if OF was clear. */
function fire(h: Hart, s: HpmState, i: number): void {
  const e = s.event[i]!;
  if ((e & C.HPM_EVENT_OF) === 0n) {
    s.event[i] = e | C.HPM_EVENT_OF;
    h.setMipSw(h.mipSw | C.MIP_LCOFIP);
  }
  s.ovfAt[i] = Infinity; // the next wrap is 2^64 counts away
}
/**
 * Before a change: a counter that wraps with the `extra` instructions still to come (the one
 * being completed) overflows under the configuration it counted in.
 */
function settle(h: Hart, s: HpmState, extra: number, except = -1): void {
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) {
    const i = k - C.HPM_FIRST;
    if (k === except) continue;
    const at = s.ovfAt[i]!;
    if (at === Infinity) continue;
    const src = source(h, s, k);
    if (src >= 0 && src + extra >= at) fire(h, s, i);
  }
}
function setCut(h: Hart, cut: number): void {
  const earlier = cut < h.hpmCut;
  h.hpmCut = cut;
  // A cut before the planned end of the running slice: the loop must leave so that run()
  // recomputes its end (as Hart.timerChanged does for a timer compare).
  if (earlier) { h.replan = true; h.attention = true; }
}

/**
 * At h.hpmCut (Hart.run): every armed counter whose source reached its wrap point overflowed.
 * OF is set; LCOFIP is raised if OF was clear (Sscofpmf). The counter keeps counting from 0.
 */
export function hpmPoll(h: Hart): void {
  const s = HPM_STATE.get(h);
  if (s === undefined) { h.hpmCut = Infinity; return; }
  let cut = Infinity;
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) {
    const i = k - C.HPM_FIRST;
    const at = s.ovfAt[i]!;
    if (at === Infinity) continue;
    const src = source(h, s, k);
    if (src >= at) { fire(h, s, i); continue; }
    const c = h.attempted + (at - src);
    if (c < cut) cut = c;
  }
  h.hpmCut = cut;
}

/** Hart.hpmModeHook while an xINH bit is set: re-base the counters in the new mode. */
function modeHook(h: Hart, pending: boolean): void {
  const s = HPM_STATE.get(h);
  if (s === undefined) return;
  const mode = modeOf(h);
  if (mode === s.mode) return;
  const extra = pending ? 1 : 0;
  settle(h, s, extra);
  const cur: bigint[] = [];
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) cur.push(valueAt(h, s, k, extra));
  s.mode = mode;
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) rebaseAt(h, s, k, cur[k - C.HPM_FIRST]!, extra);
  rearm(h, s, extra);
}

/**
 * The state for a CSR write. While no xINH bit is set counting does not depend on the mode, so
 * the bases may be taken to be in the current mode (outside that, modeHook kept them there).
 * A counter the writing instruction wraps overflows first, except counter `written`: the value
 * written replaces that instruction's increment.
 */
function forWrite(h: Hart, written = -1): HpmState {
  const s = hpm(h);
  if (h.hpmModeHook === null) s.mode = modeOf(h);
  settle(h, s, 1, written);
  return s;
}

export function hpmCounterWrite(h: Hart, k: number, v: bigint): void {
  const s = forWrite(h, k);
  rebaseAt(h, s, k, v, 1);
  rearm(h, s, 1);
}
export function hpmEventWrite(h: Hart, k: number, v: bigint): void {
  const s = forWrite(h);
  const cur = valueAt(h, s, k, 1);
  s.event[k - C.HPM_FIRST] = v;
  rebaseAt(h, s, k, cur, 1);
  rearm(h, s, 1);
}
// A write to mcycle/minstret arrives decremented by one (Hart.csrWrite: the writing instruction's
// own count is still to come); while the counter is inhibited nothing is to come, so add it back.
export function mcycleWrite(h: Hart, v: bigint): void {
  if (inhibited(h, 0)) hpm(h).cycleFrozen = BigInt.asUintN(64, v + 1n); else h.setMcycle(v);
}
export function minstretWrite(h: Hart, v: bigint): void {
  if (inhibited(h, 2)) hpm(h).instretFrozen = BigInt.asUintN(64, v + 1n); else h.setMinstret(v);
}
/**
 * mcountinhibit: CY, IR and HPM3..18 are writable; TM and the absent counters' bits are
 * read-only zero. The writing instruction is still counted by a counter it stops and not by one
 * it starts.
 */
export function mcountinhibitWrite(h: Hart, v: bigint): void {
  const next = Number(v & BigInt(C.MCOUNTINHIBIT_WMASK));
  const prev = h.mcountinhibit;
  if (next === prev) return;
  const s = forWrite(h);
  const cur: bigint[] = [];
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) cur.push(valueAt(h, s, k, 1));
  if ((prev ^ next) & C.MCOUNTINHIBIT_CY) {
    if (next & C.MCOUNTINHIBIT_CY) s.cycleFrozen = BigInt.asUintN(64, h.mcycleValue() + 1n);
    else h.setMcycle(BigInt.asUintN(64, s.cycleFrozen - 1n));
  }
  if ((prev ^ next) & C.MCOUNTINHIBIT_IR) {
    if (next & C.MCOUNTINHIBIT_IR) s.instretFrozen = BigInt.asUintN(64, h.minstretValue() + 1n);
    else h.setMinstret(BigInt.asUintN(64, s.instretFrozen - 1n));
  }
  h.mcountinhibit = next;
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) rebaseAt(h, s, k, cur[k - C.HPM_FIRST]!, 1);
  rearm(h, s, 1);
}

/**
 * scountovf (Sscofpmf): bit N is mhpmeventN.OF. In M-mode every bit is readable; in HS-mode a
 * bit reads zero unless mcounteren's bit N is set, in VS-mode unless mcounteren's and
 * hcounteren's are. (QEMU 7.2 masks with mcounteren in every mode.)
 */
export function scountovfRead(h: Hart): bigint {
  const s = HPM_STATE.get(h);
  if (s === undefined) return 0n;
  let v = 0;
  for (let k = C.HPM_FIRST; k <= HPM_LAST; k++) if ((s.event[k - C.HPM_FIRST]! & C.HPM_EVENT_OF) !== 0n) v |= 1 << k;
  if (h.priv !== C.PRV_M) v &= h.mcounteren;
  if (h.virt) v &= h.hcounteren;
  return BigInt(v >>> 0);
}
