/**
 * First-level TLBs kept per translation context (state.ts HartCore.tlbSwitch).
 *
 * The three live TLBs (fetch, load, store; TLB_SIZE entries of 4 words at HS_TLB, read inline by
 * the interpreter and the translation tiers) hold translations made in one context: effective
 * privilege, V, SUM, MXR, MPRV/MPP/MPV (HartCore.tlbKey). A context switch (trap entry, xRET, a
 * write of those mstatus bits) used to empty them; now their filled entries move into a stash
 * under the old context's key, and the new context's stash, if there is one, gives its entries
 * back: at the switch those that missed in one of its last HOT_VISITS visits (what a system
 * call or an SBI call uses again next time), the others one by one when an access misses in
 * the live TLBs (refill, from HartMmu.reinstate). The live arrays stay where they are (only
 * their contents change), so no tier needs to know.
 *
 * This is what the ISA allows: translations may be cached until an SFENCE.VMA (priv spec §4.2.1,
 * "Supervisor Memory-Management Fence Instruction"), independently of privilege changes, as QEMU
 * keeps one TLB per mmu_idx across mode switches. A real invalidation (HartCore.flushTlb: fences,
 * satp/vsatp/hgatp, PMP, triggers, watchpoints, checkpoint restore) empties the live TLBs and
 * drops every stash. Deterministic: what is stashed depends only on the hart's own actions.
 *
 * Costs are O(filled entries), not O(TLB_SIZE): the slots filled since the last switch are
 * listed (note), once each (mark).
 */
import * as C from './constants.js';
import type { OffsetArray } from './state.js';

/** TLB "hi word" of an empty entry: no reachable address has bits 63:32 equal to this. */
export const TLB_EMPTY = 0x7fffffff;
/** Contexts kept (the least recently used is dropped first). Linux uses
 * about four (U, S, S with SUM, M); a hypervisor and its guest about eight. */
export const N_STASH = 8;
/** Visits after which an entry that did not miss no longer comes back at the switch. */
export const HOT_VISITS = 4;
/** Access kinds (ACC_FETCH, ACC_LOAD, ACC_STORE). */
const N_ACC = 3;

/**
 * The context key of a hart (HartCore.tlbKey): everything a first-level TLB entry depends on
 * besides what changes only with a real invalidation (satp, vsatp, hgatp, the PTEs, PMP, PBMTE,
 * triggers, watchpoints). Privilege in bits 1:0, V in bit 2; MPRV with MPP (bits 17, 12:11) and
 * MPV (bit 3) only in M-mode with MPRV set (§3.1.6.3: they change loads and stores, not fetch,
 * but one key covers the three TLBs); SUM/MXR (bits 19:18) of the live mstatus (vsstatus's
 * while V = 1) and, in bits 21:20, of the banked copy `other` (HS's while V = 1, whose MXR
 * applies to the G stage, §8.5.? ; vsstatus's while V = 0, which MPRV with MPV uses).
 */
export function tlbKey(priv: number, virt: boolean, mstatus: number, other: number, mstatusH: number): number {
  const sm = C.MSTATUS_SUM | C.MSTATUS_MXR;
  let k = priv | (virt ? 4 : 0) | (mstatus & sm) | ((other & sm) << 2);
  if (priv === C.PRV_M && (mstatus & C.MSTATUS_MPRV) !== 0) {
    k |= (mstatus & (C.MSTATUS_MPRV | C.MSTATUS_MPP)) | ((mstatusH & C.MSTATUSH_MPV) !== 0 ? 8 : 0);
  }
  return k;
}

export class TlbStash {
  /** Key of the context the live entries were made in (-1: unknown, they are not kept). */
  cur = -1;
  /** The stash of `cur` (-1: none yet; save assigns one). */
  private curStash = -1;
  /** Entries per live TLB (a power of two) and its log2: an entry's code is acc << bits | slot. */
  private readonly size: number;
  private readonly bits: number;
  /** Codes of the live entries filled since the last switch, each listed once (mark). */
  private readonly filled: Int32Array;
  private nFilled = 0;
  private readonly mark: Uint8Array;
  /** Per stash: its key (-1 = free) and when it was last used. */
  private readonly keys = new Int32Array(N_STASH).fill(-1);
  private readonly stamp = new Float64Array(N_STASH);
  private clock = 0;
  /**
   * Per stash, a copy of the three TLBs as its context left them (4 words per entry as in the
   * live TLBs, hi = TLB_EMPTY where none), in the live TLBs' element type.
   */
  private readonly copy: OffsetArray;
  /** Per stash, the store-TLB slots its copy may hold (forgetStorePage looks only there). */
  private readonly storeSlots: Int32Array;
  private readonly nStore = new Int32Array(N_STASH);
  private readonly storeMark: Uint8Array;
  /**
   * Per stash, the entries that come back at the switch (the rest on a miss): those that
   * missed in one of the context's last HOT_VISITS visits. Hits are not seen, so an entry put
   * back this way ages by one per visit, and one that missed is young again.
   */
  private readonly hot: Int32Array;
  private readonly nHot = new Int32Array(N_STASH);
  private readonly age: Uint8Array;
  /** Codes of the live entries put back at the last switch (emptied at the next). */
  private readonly back: Int32Array;
  private nBack = 0;

  constructor(private readonly live: readonly OffsetArray[]) {
    this.size = live[0]!.length >> 2;
    this.bits = Math.log2(this.size);
    this.filled = new Int32Array(N_ACC * this.size);
    this.mark = new Uint8Array(N_ACC * this.size);
    const n = N_STASH * N_ACC * this.size * 4;
    this.copy = live[0] instanceof Int32Array ? new Int32Array(n) : new Float64Array(n);
    this.storeSlots = new Int32Array(N_STASH * this.size);
    this.storeMark = new Uint8Array(N_STASH * this.size);
    this.hot = new Int32Array(N_STASH * N_ACC * this.size);
    this.age = new Uint8Array(N_STASH * N_ACC * this.size);
    this.back = new Int32Array(N_ACC * this.size);
  }

  /** Slot `slot` of live TLB `acc` was just filled. */
  note(acc: number, slot: number): void {
    const code = (acc << this.bits) | slot;
    if (this.mark[code] === 0) {
      this.mark[code] = 1;
      this.filled[this.nFilled++] = code;
    }
  }

  /** The live TLBs become context `key`'s: the old context's entries are stashed, `key`'s hot
   * entries come back, and its stash (if any) serves the misses from now on (refill). */
  switchTo(key: number): void {
    if (key === this.cur) return;
    this.save();
    let s = -1;
    for (let i = 0; i < N_STASH; i++) if (this.keys[i] === key) { s = i; break; }
    this.curStash = s;
    this.cur = key;
    if (s < 0) return;
    this.stamp[s] = ++this.clock;
    // The entries that missed recently come back now.
    const live = this.live, c = this.copy, hot = this.hot, back = this.back;
    const bits = this.bits, mask = this.size - 1, base = s * N_ACC * this.size;
    let nb = 0;
    for (let j = base, end = base + this.nHot[s]!; j < end; j++) {
      const code = hot[j]!, m = (base + code) << 2, hi = c[m + 1]!;
      if (hi === TLB_EMPTY) continue;
      const t = live[code >> bits]!, e = (code & mask) << 2;
      t[e] = c[m]!; t[e + 1] = hi; t[e + 2] = c[m + 2]!;
      back[nb++] = code;
    }
    this.nBack = nb;
  }

  /**
   * A miss in live TLB `acc` at `slot` for the page (pageLo, hi): if the current context's
   * stash has that page there, it goes back into the live TLB; returns its buffer offset, or -1.
   */
  refill(acc: number, slot: number, pageLo: number, hi: number): number {
    const s = this.curStash;
    if (s < 0) return -1;
    const code = (acc << this.bits) | slot, c = this.copy, m = ((s << this.bits) * N_ACC + code) << 2;
    if (c[m + 1] !== hi || c[m] !== pageLo) return -1;
    const t = this.live[acc]!, e = slot << 2, off = c[m + 2]!;
    t[e] = pageLo; t[e + 1] = hi; t[e + 2] = off;
    if (this.mark[code] === 0) { this.mark[code] = 1; this.filled[this.nFilled++] = code; }
    return off;
  }

  /** Real invalidation: every stash goes, and the live entries (which the caller empties)
   * now belong to context `key`. */
  dropAll(key: number): void {
    this.keys.fill(-1);
    this.curStash = -1;
    this.nFilled = 0;
    this.nBack = 0;
    this.mark.fill(0);
    this.cur = key;
  }

  /** Buffer page `page` must leave every stashed store TLB (code page, another hart's reservation). */
  forgetStorePage(page: number): void {
    const c = this.copy, size = this.size;
    for (let s = 0; s < N_STASH; s++) {
      if (this.keys[s] === -1) continue;
      const base = (s * N_ACC + 2) * size;
      for (let j = s * size, end = j + this.nStore[s]!; j < end; j++) {
        const m = (base + this.storeSlots[j]!) << 2;
        if (c[m + 1] !== TLB_EMPTY && Math.floor(c[m + 2]! / 4096) === page) c[m + 1] = TLB_EMPTY;
      }
    }
  }

  /** Empty the live entries of this visit, writing those filled into cur's stash. */
  private save(): void {
    const n = this.nFilled, nb = this.nBack;
    if (n === 0 && nb === 0) return;
    this.nFilled = 0;
    this.nBack = 0;
    let s = this.curStash;
    if (s < 0 && this.cur !== -1 && n > 0) s = this.curStash = this.assign(this.cur);
    const live = this.live, filled = this.filled, mark = this.mark, c = this.copy, back = this.back;
    const bits = this.bits, mask = this.size - 1, size = this.size, first = 2 << bits;
    const base = s * N_ACC * size, age = this.age, hot = this.hot;
    // Entries put back at the switch age (a miss below makes them young again).
    if (s >= 0) for (let j = 0; j < nb; j++) { const a = base + back[j]!; if (age[a]! < 255) age[a]!++; }
    let nh = base;
    for (let j = 0; j < n; j++) {
      const code = filled[j]!;
      mark[code] = 0;
      const t = live[code >> bits]!, e = (code & mask) << 2, hi = t[e + 1]!;
      if (hi === TLB_EMPTY) continue;
      if (s >= 0) {
        const m = (base + code) << 2;
        c[m] = t[e]!; c[m + 1] = hi; c[m + 2] = t[e + 2]!;
        if (code >= first && this.storeMark[s * size + (code & mask)] === 0) {
          this.storeMark[s * size + (code & mask)] = 1;
          this.storeSlots[s * size + this.nStore[s]!++] = code & mask;
        }
        age[base + code] = 0;
        hot[nh++] = code;
      }
      t[e + 1] = TLB_EMPTY;
    }
    for (let j = 0; j < nb; j++) {
      const code = back[j]!;
      live[code >> bits]![((code & mask) << 2) + 1] = TLB_EMPTY;
      if (s >= 0) { const a = age[base + code]!; if (a > 0 && a < HOT_VISITS) hot[nh++] = code; }
    }
    if (s < 0) return;
    this.nHot[s] = nh - base;
    this.stamp[s] = ++this.clock;
  }

  /** A stash for `key`: a free one or the least recently used, emptied. */
  private assign(key: number): number {
    let s = 0, oldest = Infinity;
    for (let i = 0; i < N_STASH; i++) {
      if (this.keys[i] === -1) { s = i; break; }
      if (this.stamp[i]! < oldest) { oldest = this.stamp[i]!; s = i; }
    }
    this.keys[s] = key;
    const c = this.copy, size = this.size;
    for (let m = s * N_ACC * size * 4 + 1, end = m + N_ACC * size * 4; m < end; m += 4) c[m] = TLB_EMPTY;
    this.storeMark.fill(0, s * size, (s + 1) * size);
    this.nStore[s] = 0;
    this.nHot[s] = 0;
    return s;
  }
}
