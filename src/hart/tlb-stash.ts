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
 * listed (note), once each (mark). About 5 ns per entry moved (Linux boot: ~73 per switch).
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
  /** Entries per live TLB (a power of two) and its log2: an entry's code is acc << bits | slot. */
  private readonly size: number;
  private readonly bits: number;
  /** Codes of the live entries filled since the last switch, each listed once (mark). */
  private readonly filled: Int32Array;
  private nFilled = 0;
  private readonly mark: Uint8Array;
  /** Per stash: its key (-1 = free), when it was stored, its number of entries, and the entries
   * as 4 words each (code, page VA lo, hi, buffer offset), in the live TLBs' element type. */
  private readonly keys = new Int32Array(N_STASH).fill(-1);
  private readonly stamp = new Float64Array(N_STASH);
  private clock = 0;
  private readonly count = new Int32Array(N_STASH);
  private readonly ent: OffsetArray;

  constructor(private readonly live: readonly OffsetArray[]) {
    this.size = live[0]!.length >> 2;
    this.bits = Math.log2(this.size);
    this.filled = new Int32Array(N_ACC * this.size);
    this.mark = new Uint8Array(N_ACC * this.size);
    const n = N_STASH * N_ACC * this.size * 4;
    this.ent = live[0] instanceof Int32Array ? new Int32Array(n) : new Float64Array(n);
  }

  /** Slot `slot` of live TLB `acc` was just filled. */
  note(acc: number, slot: number): void {
    const code = (acc << this.bits) | slot;
    if (this.mark[code] === 0) {
      this.mark[code] = 1;
      this.filled[this.nFilled++] = code;
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
    this.nFilled = 0;
    this.mark.fill(0);
    this.cur = key;
  }

  /** Buffer page `page` must leave every stashed store TLB (code page, another hart's reservation). */
  forgetStorePage(page: number): void {
    const ent = this.ent, first = 2 << this.bits, w = N_ACC * this.size * 4;
    for (let s = 0; s < N_STASH; s++) {
      if (this.keys[s] === -1) continue;
      for (let b = s * w, end = b + 4 * this.count[s]!; b < end; b += 4) {
        if (ent[b]! >= first && Math.floor(ent[b + 3]! / 4096) === page) ent[b + 2] = TLB_EMPTY;
      }
    }
  }

  /** Empty the live entries filled since the last switch, keeping them under `cur`. */
  private save(): void {
    const n = this.nFilled;
    if (n === 0) return; // a context that filled nothing: no stash kept, none evicted
    this.nFilled = 0;
    let s = -1;
    if (this.cur !== -1) {
      let oldest = Infinity;
      for (let i = 0; i < N_STASH; i++) {
        if (this.keys[i] === -1) { s = i; break; }
        if (this.stamp[i]! < oldest) { oldest = this.stamp[i]!; s = i; }
      }
    }
    const live = this.live, filled = this.filled, mark = this.mark, ent = this.ent;
    const bits = this.bits, mask = this.size - 1;
    const b0 = s * N_ACC * this.size * 4;
    let b = b0;
    for (let j = 0; j < n; j++) {
      const code = filled[j]!;
      mark[code] = 0;
      const t = live[code >> bits]!, e = (code & mask) << 2, hi = t[e + 1]!;
      if (hi === TLB_EMPTY) continue;
      if (s >= 0) {
        ent[b] = code; ent[b + 1] = t[e]!; ent[b + 2] = hi; ent[b + 3] = t[e + 2]!;
        b += 4;
      }
      t[e + 1] = TLB_EMPTY;
    }
    if (s < 0) return;
    // An evicted stash is simply overwritten.
    this.count[s] = (b - b0) >> 2;
    this.keys[s] = b > b0 ? this.cur : -1;
    this.stamp[s] = ++this.clock;
  }

  /** Put context `key`'s stash, if any, into the (empty) live TLBs. */
  private restore(key: number): void {
    let s = -1;
    for (let i = 0; i < N_STASH; i++) if (this.keys[i] === key) { s = i; break; }
    if (s < 0) return;
    this.keys[s] = -1;
    const live = this.live, filled = this.filled, mark = this.mark, ent = this.ent;
    const bits = this.bits, mask = this.size - 1;
    let n = this.nFilled;
    for (let b = s * N_ACC * this.size * 4, end = b + 4 * this.count[s]!; b < end; b += 4) {
      const hi = ent[b + 2]!;
      if (hi === TLB_EMPTY) continue;
      const code = ent[b]!, t = live[code >> bits]!, e = (code & mask) << 2;
      t[e] = ent[b + 1]!; t[e + 1] = hi; t[e + 2] = ent[b + 3]!;
      if (mark[code] === 0) { mark[code] = 1; filled[n++] = code; }
    }
    this.nFilled = n;
  }
}
