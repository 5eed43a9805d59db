/**
 * First-level TLBs kept per translation context (state.ts HartCore.tlbSwitch).
 *
 * The three live TLBs (fetch, load, store; TLB_SIZE entries of 4 words at HS_TLB, read inline by
 * the interpreter and the translation tiers) hold translations made in one context: effective
 * privilege, V, SUM, MXR, MPRV/MPP/MPV (HartCore.tlbKey). A context switch (trap entry, xRET, a
 * write of those mstatus bits) used to empty them; now their filled entries move into a stash
 * under the old context's key, and the new context's stash, if there is one, moves back in. The
 * live arrays stay where they are (only their contents change), so no tier needs to know.
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
/** Contexts kept besides the live one (least recently stashed is dropped first). Linux uses
 * about four (U, S, S with SUM, M); a hypervisor and its guest about eight. */
export const N_STASH = 8;
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
  private readonly size: number;
  /** Per access kind: slots filled since the last switch, their number, and a marker per slot. */
  private readonly filled: Int32Array;
  private readonly nFilled = new Int32Array(N_ACC);
  private readonly mark: Uint8Array;
  /** Per stash: its key (-1 = free), when it was stored, and per access kind the number of
   * entries, their slots and their (page VA lo, hi, buffer offset). */
  private readonly keys = new Int32Array(N_STASH).fill(-1);
  private readonly stamp = new Float64Array(N_STASH);
  private clock = 0;
  private readonly count = new Int32Array(N_STASH * N_ACC);
  private readonly slots: Int32Array;
  private readonly vals: Float64Array;

  constructor(private readonly live: readonly OffsetArray[]) {
    this.size = live[0]!.length >> 2;
    this.filled = new Int32Array(N_ACC * this.size);
    this.mark = new Uint8Array(N_ACC * this.size);
    this.slots = new Int32Array(N_STASH * N_ACC * this.size);
    this.vals = new Float64Array(N_STASH * N_ACC * this.size * 3);
  }

  /** Slot `slot` of live TLB `acc` was just filled. */
  note(acc: number, slot: number): void {
    const m = acc * this.size + slot;
    if (this.mark[m] === 0) {
      this.mark[m] = 1;
      this.filled[acc * this.size + this.nFilled[acc]!] = slot;
      this.nFilled[acc]!++;
    }
  }

  /** The live TLBs become context `key`'s: the old context's entries are stashed, `key`'s come back. */
  switchTo(key: number): void {
    if (key === this.cur) return;
    this.save();
    this.restore(key);
    this.cur = key;
  }

  /** Real invalidation: every stash goes, and the live entries (which the caller empties)
   * now belong to context `key`. */
  dropAll(key: number): void {
    this.keys.fill(-1);
    this.nFilled.fill(0);
    this.mark.fill(0);
    this.cur = key;
  }

  /** Buffer page `page` must leave every stashed store TLB (code page, another hart's reservation). */
  forgetStorePage(page: number): void {
    const size = this.size, vals = this.vals;
    for (let s = 0; s < N_STASH; s++) {
      if (this.keys[s] === -1) continue;
      const base = (s * N_ACC + 2) * size;
      for (let j = 0, n = this.count[s * N_ACC + 2]!; j < n; j++) {
        const v = (base + j) * 3;
        if (Math.floor(vals[v + 2]! / 4096) === page) vals[v + 1] = TLB_EMPTY;
      }
    }
  }

  /** Empty the live entries filled since the last switch, keeping them under `cur`. */
  private save(): void {
    let s = -1;
    // Nothing filled (a context only passed through): keep no stash, evict none.
    if (this.cur !== -1 && this.nFilled[0]! + this.nFilled[1]! + this.nFilled[2]! > 0) {
      let oldest = Infinity;
      for (let i = 0; i < N_STASH; i++) {
        if (this.keys[i] === -1) { s = i; break; }
        if (this.stamp[i]! < oldest) { oldest = this.stamp[i]!; s = i; }
      }
    }
    const size = this.size, vals = this.vals, slots = this.slots, mark = this.mark, filled = this.filled;
    let kept = 0;
    for (let acc = 0; acc < N_ACC; acc++) {
      const t = this.live[acc]!;
      const base = (s * N_ACC + acc) * size;
      let c = 0;
      for (let j = 0, n = this.nFilled[acc]!; j < n; j++) {
        const slot = filled[acc * size + j]!;
        mark[acc * size + slot] = 0;
        const e = slot << 2, hi = t[e + 1]!;
        if (hi === TLB_EMPTY) continue;
        if (s >= 0) {
          slots[base + c] = slot;
          const v = (base + c) * 3;
          vals[v] = t[e]!; vals[v + 1] = hi; vals[v + 2] = t[e + 2]!;
          c++;
        }
        t[e + 1] = TLB_EMPTY;
      }
      this.nFilled[acc] = 0;
      if (s >= 0) this.count[s * N_ACC + acc] = c;
      kept += c;
    }
    if (s < 0) return;
    // An evicted stash is simply overwritten; an empty context needs none.
    this.keys[s] = kept > 0 ? this.cur : -1;
    this.stamp[s] = ++this.clock;
  }

  /** Put context `key`'s stash, if any, into the (empty) live TLBs. */
  private restore(key: number): void {
    let s = -1;
    for (let i = 0; i < N_STASH; i++) if (this.keys[i] === key) { s = i; break; }
    if (s < 0) return;
    this.keys[s] = -1;
    const size = this.size, vals = this.vals, slots = this.slots;
    for (let acc = 0; acc < N_ACC; acc++) {
      const t = this.live[acc]!;
      const base = (s * N_ACC + acc) * size;
      for (let j = 0, n = this.count[s * N_ACC + acc]!; j < n; j++) {
        const v = (base + j) * 3, hi = vals[v + 1]!;
        if (hi === TLB_EMPTY) continue;
        const slot = slots[base + j]!, e = slot << 2;
        t[e] = vals[v]!; t[e + 1] = hi; t[e + 2] = vals[v + 2]!;
        this.note(acc, slot);
      }
    }
  }
}
