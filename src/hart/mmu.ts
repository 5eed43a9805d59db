/**
 * Address translation and memory access (priv spec §4.3-4.6, §8.5; PMP §3.7): the access
 * context (MPRV, HLV), the single-stage walk (Sv39/Sv48/Sv57), the G stage (Sv39x4/Sv48x4/
 * Sv57x4) and its walk cache, the TLBs and the shadow TLB, loads, stores, atomics' addresses
 * and instruction fetch, and the address faults. See state.ts for how the hart's classes are
 * chained.
 *
 * Virtual addresses are exact 64-bit values everywhere here: they travel as (lo, hi), the low
 * and high 32-bit words (int32), as the interpreter's TLB fast path has them; a BigInt is made
 * only for a fault's tval. (A JS number is exact only to 2^53, and Sv57 addresses such as
 * Linux's 0xff60_0000_0000_0000 are beyond that.) Physical and guest-physical addresses are
 * numbers: RAM and every device lie far below 2^53.
 */
import { ROM_BASE } from '../mem/bus.js';
import type { MmioDevice } from '../mem/device.js';
import * as C from './constants.js';
import { PMP_R, PMP_W, PMP_X } from './pmp.js';
import * as S from './state.js';
import { HartTraps } from './trap.js';
import { modeBit, TRIG_EXEC, TRIG_LOAD, TRIG_STORE } from './trigger.js';
import type { Hart } from './hart.js';

// Module-local copies of state.ts's constants (V8 folds a module's own consts into optimized
// code; an imported binding is loaded from its module cell at every use).
const ACC_FETCH = S.ACC_FETCH, ACC_LOAD = S.ACC_LOAD, ACC_STORE = S.ACC_STORE;
/** Access context (accessCtx): effective privilege in bits 1:0, CTX_VIRT when V = 1. */
const CTX_PRIV = 3, CTX_VIRT = 4;
const GTLB_SIZE = S.GTLB_SIZE, GW_W = S.GW_W, SH_LOG = S.SH_LOG, SH_W = S.SH_W, TLB_MASK = S.TLB_MASK, TWO32 = S.TWO32, WL_MAX = S.WL_MAX;

/** The unsigned 64-bit value of the address (lo, hi). */
function big(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
/** The page number of a page-table address made from a 44-bit PPN (exact: a multiple of 4096). */
function ppnOf(a: number): number {
  return Math.round(a / 4096);
}
/**
 * A buffer offset as an int32 (a Smi) when it is one. Unoptimized code computes offsets from a
 * double physical address as heap numbers; one reaching a load/store site of Hart.loop that
 * had only seen Smis deoptimized the loop once per Linux boot (two recompiles of 150-400 ms).
 */
function intOff(o: number): number {
  return o <= 0x7fffffff ? o | 0 : o;
}
/** The high word of (lo, hi) + k for a small k >= 0 (the carry out of the low word). */
function hiPlus(lo: number, hi: number, k: number): number {
  return (hi + ((((lo + k) | 0) >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
}
/** Levels of a satp/hgatp MODE's page table: Sv39 3, Sv48 4, Sv57 5. */
function levelsOf(mode: number): number {
  return mode - C.SATP_MODE_SV39 + 3;
}
/** 2^(9i), the pages a level-i leaf spans, for i = 0..5: a table, as V8 compiles `2 ** (9 * i)`
 * with a variable i to a call of its pow (~10 ms of a Linux boot's walks). */
const SPAN = [1, 2 ** 9, 2 ** 18, 2 ** 27, 2 ** 36, 2 ** 45];
/** 2^(12 + 9 levels + 2), by levels (3..5): the G stage's guest-physical address limit (Sv39x4 ... Sv57x4). */
const GPA_LIMIT = [0, 0, 0, 2 ** 41, 2 ** 50, 2 ** 59];
/** VPN[i] (9 bits from bit 12 + 9i) of the address (lo, hi). */
function vpnAt(lo: number, hi: number, i: number): number {
  const s = 12 + 9 * i;
  if (s >= 32) return (hi >>> (s - 32)) & 511;
  return (s > 23 ? (lo >>> s) | (hi << (32 - s)) : lo >>> s) & 511;
}
/** The low `bits` bits of the address (lo, hi) as a number (bits < 53): a superpage offset. */
function lowBits(lo: number, hi: number, bits: number): number {
  if (bits < 32) return (lo & ((1 << bits) - 1)) >>> 0;
  return (hi & ((1 << (bits - 32)) - 1)) * TWO32 + (lo >>> 0);
}

/**
 * Whether a valid PTE sets reserved bits or encodings (priv spec §4.4.1, "Svnapot", "Svpbmt"):
 * bits 60:54; PBMT unless the stage's xenvcfg.PBMTE is set, and PBMT's reserved value 3; in a
 * non-leaf PTE also D, A, U (reserved there), N and PBMT, which QEMU 7.2 faults on. `leaf`: R | X.
 */
function pteReserved(lo: number, hi: number, leaf: number, pbmte: boolean): boolean {
  if ((hi & 0x1fc00000) !== 0) return true;
  if (leaf === 0) return (lo & 0xd0) !== 0 || (hi >>> 29) !== 0;
  const pbmt = (hi >>> 29) & 3;
  return pbmt !== 0 && (!pbmte || pbmt === 3);
}

export class HartMmu extends HartTraps {
  // ======================================================================
  // Address translation (priv spec §4.3-4.4) and PMP (§3.7)
  // ======================================================================
  /** Set while an HLV/HSV (1) or HLVX (2) instruction accesses memory. */
  hlv = 0;
  /** Set while the A/D bits of a VS-stage PTE are being written (for htinst). */
  protected adUpdate = false;

  /**
   * The access context of an access of kind `acc`: its effective privilege (bits 1:0) and, with
   * CTX_VIRT, V = 1 (MPRV/MPP/MPV for M-mode loads and stores, §3.1.6.3 and §8.2.?;
   * hstatus.SPVP with V = 1 for HLV/HLVX/HSV, §8.3). Returned as one small int, not kept.
   */
  protected accessCtx(acc: number): number {
    if (this.hlv !== 0) return ((this.hstatus & C.HSTATUS_SPVP) !== 0 ? C.PRV_S : C.PRV_U) | CTX_VIRT;
    if (acc !== ACC_FETCH && this.priv === C.PRV_M && (this.mstatus & C.MSTATUS_MPRV) !== 0) {
      const mpp = (this.mstatus & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
      return mpp !== C.PRV_M && (this.mstatusH & C.MSTATUSH_MPV) !== 0 ? mpp | CTX_VIRT : mpp;
    }
    return this.virt ? this.priv | CTX_VIRT : this.priv;
  }

  /** raise() for a fault whose tval is the address of an access of kind `acc` (sets GVA). */
  raiseAddr(cause: number, acc: number, va: bigint): never {
    const gva = (this.accessCtx(acc) & CTX_VIRT) !== 0;
    throw this.exc.set(cause, BigInt.asUintN(64, va), 0n, 0n, gva);
  }
  /** A guest-page fault (§8.5.1): cause 20/21/23 for the access kind, htval/mtval2 = GPA >> 2. */
  protected guestPageFault(acc: number, va: bigint, gpa: bigint, implicit: boolean): never {
    const cause = acc === ACC_FETCH ? C.CAUSE_FETCH_GUEST_PAGE_FAULT : acc === ACC_LOAD ? C.CAUSE_LOAD_GUEST_PAGE_FAULT : C.CAUSE_STORE_GUEST_PAGE_FAULT;
    // htinst: like QEMU 7.2, 0 for explicit accesses; for the implicit read of a VS-stage
    // page-table entry the pseudoinstruction 0x3000 ("ld", §8.6.3 Table 8.12), 0x3020 for its
    // A/D write.
    const tinst = implicit ? (this.adUpdate ? 0x3020n : 0x3000n) : 0n;
    throw this.exc.set(cause, BigInt.asUintN(64, va), BigInt.asUintN(64, gpa) >> 2n, tinst, true);
  }
  /** Page fault of an access of kind `acc` at the virtual address (lo, hi). */
  protected pageFault(acc: number, lo: number, hi: number): never {
    return this.raiseAddr(acc === ACC_FETCH ? C.CAUSE_FETCH_PAGE_FAULT : acc === ACC_LOAD ? C.CAUSE_LOAD_PAGE_FAULT : C.CAUSE_STORE_PAGE_FAULT, acc, big(lo, hi));
  }
  /**
   * A guest-physical address at 2^53 or beyond (a Bare VS stage with such a guest-virtual
   * address, or a VS-stage leaf with PPN bits 43:41 set): with hgatp Bare an access fault (no
   * memory there); under Sv39x4/Sv48x4 outside the GPA range, a guest-page fault. Sv57x4's
   * 59-bit range reaches beyond 2^53, but hvtrace's G stage maps GPAs only below 2^53 (RAM and
   * devices are far below): such a GPA guest-page-faults as if unmapped.
   */
  protected gpaTooLarge(acc: number, lo: number, hi: number, gpa: bigint, implicit: boolean): never {
    if (this.hgatpMode === C.SATP_MODE_BARE) this.accessFault(acc, lo, hi);
    return this.guestPageFault(acc, big(lo, hi), gpa, implicit);
  }
  /** Access fault of an access of kind `acc` at the virtual address (lo, hi). */
  protected accessFault(acc: number, lo: number, hi: number): never {
    return this.raiseAddr(acc === ACC_FETCH ? C.CAUSE_FETCH_ACCESS : acc === ACC_LOAD ? C.CAUSE_LOAD_ACCESS : C.CAUSE_STORE_ACCESS, acc, big(lo, hi));
  }

  /**
   * Second results of translate/walk (walkPerms) and gTranslate (gPerms): the R/W/X the whole
   * page allows. Kept as fields for speed, not returned in a record: the address they come with
   * needs all 53 bits of a number (no room to pack them), and a record object per walk would be
   * the same store plus an allocation or a shared mutable object, on the path every TLB miss
   * takes.
   */
  protected walkPerms = 0;
  protected gPerms = 0;

  /**
   * Translate the virtual address (lo, hi) for an access of kind `acc`; returns the physical
   * address. Sets walkPerms to the R/W/X the whole 4 KiB page allows for this access context
   * (for TLB filling).
   */
  translate(lo: number, hi: number, acc: number): number {
    return this.translateIn(lo, hi, acc, this.accessCtx(acc));
  }
  /** translate() in access context `ctx` (accessCtx). */
  protected translateIn(lo: number, hi: number, acc: number, ctx: number): number {
    const priv = ctx & CTX_PRIV, eVirt = (ctx & CTX_VIRT) !== 0;
    if (priv === C.PRV_M || (!eVirt && this.satpMode === C.SATP_MODE_BARE)) {
      // Bare: the address is physical. At 2^53 and beyond there is nothing (RAM and devices
      // are far below), negative ones are 2^63 and beyond.
      if (hi < 0 || hi > 0x1fffff) this.accessFault(acc, lo, hi);
      this.walkPerms = PMP_R | PMP_W | PMP_X;
      return hi * TWO32 + (lo >>> 0);
    }
    if (!eVirt) return this.walk(lo, hi, acc, this.satpMode, this.satpRoot, priv, this.mstatus, this.mstatus, false);
    // Two-stage translation (§8.5): VS-stage with vsatp, then G-stage with hgatp.
    let mode: number, root: number;
    if (this.virt) {
      mode = this.satpMode; root = this.satpRoot;
    } else {
      const v = this.other.satp;
      mode = Number(v >> 60n); root = Number(v & 0xfffffffffffn) * 4096;
    }
    const vs = this.vsStatus();
    const hs = this.hsStatus();
    let gpa: number, perms: number;
    if (mode === C.SATP_MODE_BARE) {
      // The GPA is the 64-bit address itself; at 2^53 and beyond it is outside every G-stage
      // range hvtrace maps (see gTranslate).
      if (hi < 0 || hi > 0x1fffff) this.gpaTooLarge(acc, lo, hi, big(lo, hi), false);
      gpa = hi * TWO32 + (lo >>> 0);
      perms = PMP_R | PMP_W | PMP_X;
    } else {
      // vsstatus.MXR affects the VS stage only; the HS-level MXR both (§8.2.?).
      gpa = this.walk(lo, hi, acc, mode, root, priv, vs, vs | (hs & C.MSTATUS_MXR), true);
      perms = this.walkPerms;
    }
    const pa = this.gTranslate(gpa, acc, lo, hi, false, hs);
    this.walkPerms = perms & this.gPerms;
    return pa;
  }

  /**
   * Single-stage walk (§4.3.2) for S-mode (satp) or the VS stage (vsatp, `twoStage`: every PTE
   * address is a guest-physical address that goes through the G stage first). `status` gives
   * SUM, `mxrStatus` MXR.
   */
  protected walk(vaLo: number, vaHi: number, acc: number, mode: number, root: number, priv: number, status: number, mxrStatus: number, twoStage: boolean): number {
    const levels = levelsOf(mode);
    // Bits 63:vaBits-1 must all equal bit vaBits-1 (§4.4.1, §4.5.1, §4.6.1): with vaBits =
    // 39/48/57, bits 63:38/47/56 of the high word shifted down are 0 or -1.
    const top = vaHi >> (12 + 9 * levels - 33);
    if (top !== 0 && top !== -1) this.pageFault(acc, vaLo, vaHi);
    let a = root;
    const dv = this.dv;
    const hlvx = this.hlv === 2;
    // PBMT is usable with menvcfg.PBMTE, in the VS stage also with henvcfg.PBMTE (Svpbmt).
    const pbmte = twoStage ? this.pbmteBits === 3 : (this.pbmteBits & 1) !== 0;
    for (let i = levels - 1; i >= 0; i--) {
      const vpn = vpnAt(vaLo, vaHi, i);
      let pteAddr = a + vpn * 8;
      // The walk reads the PTE: the G stage checks read permission, a fault reports the original
      // access type (§8.5.1).
      if (twoStage) {
        if (pteAddr >= 2 ** 53) this.gpaTooLarge(acc, vaLo, vaHi, BigInt(ppnOf(a)) * 4096n + BigInt(vpn * 8), true);
        pteAddr = this.gTranslate(pteAddr, ACC_LOAD, vaLo, vaHi, true, this.hsStatus(), acc);
      }
      // PTE accesses are checked by PMP as S-mode accesses (§3.7.1) and must be in RAM.
      if (!this.bus.isRam(pteAddr, 8) || (this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_R) === 0) {
        this.accessFault(acc, vaLo, vaHi);
      }
      const off = this.ramOffset + pteAddr - this.bus.ramBase;
      const lo = dv.getUint32(off, true);
      const hi = dv.getUint32(off + 4, true);
      // Log the PTE (see reinstate).
      const wn = this.logPte(off, lo, hi);
      const v = lo & 1, r = (lo >>> 1) & 1, w = (lo >>> 2) & 1, xb = (lo >>> 3) & 1;
      if (v === 0 || (r === 0 && w === 1) || pteReserved(lo, hi, r | xb, pbmte)) this.pageFault(acc, vaLo, vaHi);
      let ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
      if (r === 0 && xb === 0) {
        a = ppn * 4096;
        continue;
      }
      // Leaf PTE: permission checks (§4.3.2 step 5).
      const u = (lo >>> 4) & 1;
      if (priv === C.PRV_U) {
        if (u === 0) this.pageFault(acc, vaLo, vaHi);
      } else if (u === 1) {
        if (acc === ACC_FETCH || (status & C.MSTATUS_SUM) === 0) this.pageFault(acc, vaLo, vaHi);
      }
      const mxr = (mxrStatus & C.MSTATUS_MXR) !== 0;
      // HLVX reads need execute permission instead of read permission (§8.3).
      const canR = hlvx ? xb === 1 : r === 1 || (mxr && xb === 1);
      if ((acc === ACC_FETCH && xb === 0) || (acc === ACC_LOAD && !canR) || (acc === ACC_STORE && w === 0)) {
        this.pageFault(acc, vaLo, vaHi);
      }
      // Misaligned superpage (§4.3.2 step 6).
      const span = SPAN[i]!;
      if (i > 0 && ppn % span !== 0) this.pageFault(acc, vaLo, vaHi);
      // Svnapot: a 64 KiB page is a level-0 leaf with N = 1 and ppn[3:0] = 1000; its low four
      // PPN bits come from the VPN. N on a superpage or another ppn[3:0] faults (as QEMU 7.2).
      if ((hi >>> 31) !== 0) {
        if (i !== 0 || (lo & 0x3c00) !== 0x2000) this.pageFault(acc, vaLo, vaHi);
        ppn = ppn - 8 + ((vaLo >>> 12) & 15);
      }
      // Hardware A/D update (§4.3.2 step 7, Svadu behaviour as QEMU).
      const aBit = (lo >>> 6) & 1, dBit = (lo >>> 7) & 1;
      if (aBit === 0 || (acc === ACC_STORE && dBit === 0)) {
        if (twoStage) {
          // The update is an implicit store to guest memory: the G stage must allow it.
          this.adUpdate = true;
          try {
            this.gTranslate(a + vpn * 8, ACC_STORE, vaLo, vaHi, true, this.hsStatus(), acc);
          } finally {
            this.adUpdate = false;
          }
        }
        if ((this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_W) === 0) {
          this.accessFault(acc, vaLo, vaHi);
        }
        dv.setUint32(off, lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0), true);
        if (this.bus.onStore !== null) this.bus.onStore(off, 4);
        if (wn >= 0) this.walkLog[wn + 1] = lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0);
      }
      // Permissions for the cached page: stores only once D is set.
      const dirty = dBit === 1 || acc === ACC_STORE;
      this.walkPerms = (canR ? PMP_R : 0) | (w === 1 && dirty ? PMP_W : 0) | (xb === 1 ? PMP_X : 0);
      const pa = ppn * 4096 + lowBits(vaLo, vaHi, 12 + 9 * i);
      // A VS-stage leaf can name a GPA at 2^53 or beyond (PPN bits 43:41): see gTranslate.
      if (twoStage && pa >= 2 ** 53) this.gpaTooLarge(acc, vaLo, vaHi, BigInt(ppn) * 4096n + BigInt(lowBits(vaLo, vaHi, 12 + 9 * i)), false);
      return pa;
    }
    return this.pageFault(acc, vaLo, vaHi);
  }

  /**
   * G-stage translation (§8.5.1) of guest-physical `gpa` (non-negative, below 2^53) for an
   * access of kind `acc` made on behalf of guest-virtual (vaLo, vaHi). Every access counts as
   * a U-mode access (leaves need U = 1); only the HS-level MXR applies. Faults are guest-page
   * faults (cause by `faultAcc`, the original access type, §8.5.1), with the GPA for htval.
   * `implicit`: the access is a VS-stage page-table access. Sets gPerms.
   */
  protected gTranslate(gpa: number, acc: number, vaLo: number, vaHi: number, implicit: boolean, hs: number, faultAcc = acc): number {
    const mode = this.hgatpMode;
    if (mode === C.SATP_MODE_BARE) {
      this.gPerms = PMP_R | PMP_W | PMP_X;
      return gpa;
    }
    const levels = levelsOf(mode);
    // Sv39x4 / Sv48x4 / Sv57x4: 41- / 50- / 59-bit guest physical addresses (two extra bits
    // at the root).
    if (gpa >= GPA_LIMIT[levels]!) this.guestPageFault(faultAcc, big(vaLo, vaHi), BigInt(gpa), implicit);
    const vpnAll = Math.floor(gpa / 4096);
    const hlvx = this.hlv === 2 && !implicit;
    const gk = vpnAll % GTLB_SIZE;
    if (this.gtlbTag[gk] === vpnAll && this.gtlbRoot[gk] === this.hgatpRoot && this.gtlbValid(gk)) {
      const p = this.gtlbPerm[gk]!;
      const cr = (p & 1) !== 0, cw = (p & 2) !== 0, cx = (p & 4) !== 0;
      const canR = hlvx ? cx : cr || ((hs & C.MSTATUS_MXR) !== 0 && cx);
      if (acc === ACC_FETCH ? cx : acc === ACC_LOAD ? canR : cw) {
        this.gPerms = (canR ? PMP_R : 0) | (cw ? PMP_W : 0) | (cx ? PMP_X : 0);
        this.logGWalk(gk);
        return this.gtlbHpa[gk]! + (gpa % 4096);
      }
      // Not enough permission in the cached entry (or D still clear): walk, which faults or sets D.
    }
    let a = this.hgatpRoot;
    const pbmte = (this.pbmteBits & 1) !== 0;
    const dv = this.dv;
    const fault = (): never => this.guestPageFault(faultAcc, big(vaLo, vaHi), BigInt(gpa), implicit);
    for (let i = levels - 1; i >= 0; i--) {
      // The root index has 11 bits (the x4 root table is 16 KiB).
      const vpn = i === levels - 1 ? Math.floor(vpnAll / SPAN[i]!) : Math.floor(vpnAll / SPAN[i]!) % 512;
      const pteAddr = a + vpn * 8;
      if (!this.bus.isRam(pteAddr, 8) || (this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_R) === 0) {
        this.accessFault(faultAcc, vaLo, vaHi);
      }
      const off = this.ramOffset + pteAddr - this.bus.ramBase;
      this.gwOff[levels - 1 - i] = off;
      const lo = dv.getUint32(off, true);
      const hi = dv.getUint32(off + 4, true);
      const v = lo & 1, r = (lo >>> 1) & 1, w = (lo >>> 2) & 1, xb = (lo >>> 3) & 1;
      if (v === 0 || (r === 0 && w === 1) || pteReserved(lo, hi, r | xb, pbmte)) fault();
      let ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
      if (r === 0 && xb === 0) {
        a = ppn * 4096;
        continue;
      }
      if (((lo >>> 4) & 1) === 0) fault();
      const mxr = (hs & C.MSTATUS_MXR) !== 0;
      const canR = hlvx ? xb === 1 : r === 1 || (mxr && xb === 1);
      if ((acc === ACC_FETCH && xb === 0) || (acc === ACC_LOAD && !canR) || (acc === ACC_STORE && w === 0)) fault();
      const span = SPAN[i]!;
      if (i > 0 && ppn % span !== 0) fault();
      if ((hi >>> 31) !== 0) {
        if (i !== 0 || (lo & 0x3c00) !== 0x2000) fault();
        ppn = ppn - 8 + (vpnAll % 16);
      }
      const aBit = (lo >>> 6) & 1, dBit = (lo >>> 7) & 1;
      if (aBit === 0 || (acc === ACC_STORE && dBit === 0)) {
        if ((this.pmp.perms(pteAddr, 8, C.PRV_S) & PMP_W) === 0) this.accessFault(faultAcc, vaLo, vaHi);
        dv.setUint32(off, lo | 0x40 | (acc === ACC_STORE ? 0x80 : 0), true);
        if (this.bus.onStore !== null) this.bus.onStore(off, 4);
      }
      const dirty = dBit === 1 || acc === ACC_STORE;
      this.gPerms = (canR ? PMP_R : 0) | (w === 1 && dirty ? PMP_W : 0) | (xb === 1 ? PMP_X : 0);
      const hpaPage = ppn * 4096 + (vpnAll % span) * 4096;
      this.gtlbTag[gk] = vpnAll;
      this.gtlbHpa[gk] = hpaPage;
      this.gtlbRoot[gk] = this.hgatpRoot;
      this.gtlbPerm[gk] = r | (w === 1 && dirty ? 2 : 0) | (xb << 2);
      const n = levels - i;
      this.gtlbN[gk] = n;
      for (let j = 0; j < n; j++) {
        const o = this.gwOff[j]!, e = gk * GW_W + j * 3;
        this.gtlbPte[e] = o;
        this.gtlbPte[e + 1] = dv.getInt32(o, true); // as now in memory (after the A/D update)
        this.gtlbPte[e + 2] = dv.getInt32(o + 4, true);
      }
      this.logGWalk(gk);
      return hpaPage + (gpa % 4096);
    }
    return fault();
  }
  /** Append the PTEs of G-stage walk `gk` (as they are in memory now) to the walk log. */
  protected logGWalk(gk: number): void {
    const t = this.gtlbPte;
    for (let j = 0, n = this.gtlbN[gk]!; j < n; j++) {
      const e = gk * GW_W + j * 3;
      this.logPte(t[e]!, t[e + 1]!, t[e + 2]!);
    }
  }
  /** Append a PTE read to the walk log; returns its index there, or -1 when the log is full. */
  protected logPte(off: number, lo: number, hi: number): number {
    const wl = this.walkLog, n = wl[0]!;
    if (n >= WL_MAX) {
      this.walkLogFull = true;
      return -1;
    }
    const k = n * 3 + 1;
    wl[k] = off; wl[k + 1] = lo; wl[k + 2] = hi;
    wl[0] = n + 1;
    return k;
  }
  /** Whether every PTE the cached walk `gk` read still holds the value it read. */
  protected gtlbValid(gk: number): boolean {
    const dv = this.dv, t = this.gtlbPte;
    for (let j = 0, n = this.gtlbN[gk]!; j < n; j++) {
      const e = gk * GW_W + j * 3, o = t[e]!;
      if (dv.getInt32(o, true) !== t[e + 1] || dv.getInt32(o + 4, true) !== t[e + 2]) return false;
    }
    return true;
  }

  /**
   * Translate + PMP-check an access of `size` bytes that does not cross a page. Returns the
   * buffer offset for RAM (and fills the TLB when the whole page may be cached) or -1 for a
   * device access (physical address in mmioPa).
   */
  /**
   * The device's physical address when resolve() returned -1. A field for speed: resolve's
   * result is the buffer offset every load and store miss uses directly, and the device
   * address would not fit beside it in one number.
   */
  protected mmioPa = 0;
  protected resolve(lo: number, hi: number, size: number, acc: number): number {
    const ro = this.reinstate(lo, hi, size, acc);
    if (ro >= 0) return ro;
    this.walkLog[0] = 0;
    this.walkLogFull = false;
    const ctx = this.accessCtx(acc);
    const pa = this.translateIn(lo, hi, acc, ctx);
    // HLVX: execute permission stands in for read permission (§8.3).
    const perm = acc === ACC_FETCH || this.hlv === 2 ? PMP_X : acc === ACC_LOAD ? PMP_R : PMP_W;
    const priv = ctx & CTX_PRIV, eVirt = (ctx & CTX_VIRT) !== 0;
    const pmp = this.pmp;
    // S/U accesses are always checked (with no active entry they fail, §3.7.1); M-mode ones
    // whenever an entry is active (a partial match fails even for M).
    const checkPmp = priv !== C.PRV_M || pmp.anyActive;
    if (checkPmp) {
      const p = pmp.perms(pa, size, priv);
      if (p < 0 || (p & perm) === 0) this.accessFault(acc, lo, hi);
    }
    // Watchpoints see the address as a number (exact below 2^53).
    if (this.watch !== null && acc !== ACC_FETCH) this.watch.access(this as unknown as Hart, hi * TWO32 + (lo >>> 0), size, acc);
    const bus = this.bus;
    if (bus.isRam(pa, size)) {
      const pagePa = pa - (pa % 4096);
      // HLV/HSV accesses use another translation context: never cached in the TLB.
      let cache = (this.walkPerms & perm) !== 0 && this.hlv === 0;
      const jit = this.jit;
      if (acc === ACC_STORE && jit !== null) {
        const page = (this.ramOffset + pagePa - bus.ramBase) / 4096;
        if (jit.isCodePage(page)) {
          // A store into translated code: drop its blocks; a running block must stop here.
          jit.invalidatePage(page);
          this.attention = true;
          cache = false;
        }
      }
      if (acc === ACC_STORE && bus.resv.any) {
        const page = (this.ramOffset + pagePa - bus.ramBase) / 4096;
        if (bus.resv.reservedByOthers(this, page)) {
          bus.resv.storeTo(this, pa, size);
          cache = false;
        }
      }
      if (cache && this.watch !== null && acc !== ACC_FETCH && this.watch.page(this as unknown as Hart, hi * TWO32 + (lo >>> 0), acc)) cache = false;
      // Pages an armed trigger may match in stay out of the TLB of its kind (trigger.ts).
      if (cache && this.trigArmed !== 0 && this.trig.onPage(hi * TWO32 + ((lo & -4096) >>> 0), 1 << acc)) cache = false;
      if (cache && checkPmp) {
        const pp = pmp.perms(pagePa, 4096, priv);
        cache = pp >= 0 && (pp & perm) !== 0;
      }
      if (cache) {
        const k = ((lo >>> 12) & TLB_MASK) << 2;
        const t = this.tlb[acc]!;
        t[k] = lo & -4096;
        t[k + 1] = hi;
        t[k + 2] = this.ramOffset + pagePa - bus.ramBase;
        // Keep what this translation depended on, for reinstate after a flush.
        const sh = this.shadow[acc]!, b = (k >> 2) * SH_W;
        const gRoot = eVirt ? this.hgatpRoot / 4096 : 0;
        // Kept: single-stage translations, and two-stage ones of a hart running with V = 1
        // (not M-mode accesses with MPRV + MPV, which read vsatp from the bank), whose root
        // page numbers fit the int32 slots exactly.
        if ((eVirt && !this.virt) || this.walkLogFull || this.satpRoot / 4096 >= 2 ** 31 || gRoot >= 2 ** 31) {
          sh[b + 3] = -1;
        } else {
          sh[b] = t[k]!; sh[b + 1] = t[k + 1]!; sh[b + 2] = t[k + 2]!;
          sh[b + 3] = this.shadowKey(ctx);
          sh[b + 4] = this.satpRoot / 4096;
          sh[b + 5] = pmp.version;
          sh[b + 6] = gRoot;
          const wl = this.walkLog;
          for (let j = 0, n = 1 + 3 * wl[0]!; j < n; j++) sh[b + SH_LOG + j] = wl[j]!;
        }
      }
      const off = intOff(this.ramOffset + pa - bus.ramBase);
      if (acc === ACC_STORE && bus.onStore !== null) bus.onStore(off, size);
      return off;
    }
    // The reset ROM (src/devices/mrom.ts) is fetched and read like RAM, uncached (a few
    // instructions per boot); stores go to its device, which ignores them.
    if (acc !== ACC_STORE && bus.isRom(pa, size)) return intOff(bus.romOffset + pa - ROM_BASE);
    if (acc === ACC_FETCH) this.accessFault(acc, lo, hi);
    this.mmioPa = pa;
    return -1;
  }

  /**
   * Shadow TLB (performance only, exact). A flush (privilege change, trap, xRET, satp or
   * mstatus write, fence) empties the TLBs, and the next access to each page walks the page
   * table again. A walk is a function of the translation context (effective privilege, SUM,
   * MXR, satp, PMP) and of the PTEs it reads; its only side effect is setting A/D, which it
   * does not do when they are set already. So each filled entry also keeps, here, the context
   * and the PTEs (buffer offset and value after the A/D update) of its walk; on a miss whose
   * shadow entry has the same page, the same context and PTEs that still hold those values,
   * the walk would give the same result without side effects, and the entry is put back
   * without walking. Two-stage translations (V = 1) keep every PTE of both stages they read
   * (the G-stage walks of each VS PTE address and of the final GPA) and the hgatp root; HLV/HSV
   * translations, and M-mode ones with MPRV + MPV, are not kept.
   */
  protected reinstate(lo: number, hi: number, size: number, acc: number): number {
    if (this.hlv !== 0) return -1;
    if (this.watch !== null && acc !== ACC_FETCH && this.watch.page(this as unknown as Hart, hi * TWO32 + (lo >>> 0), acc)) return -1;
    const ctx = this.accessCtx(acc), eVirt = (ctx & CTX_VIRT) !== 0;
    if (eVirt && !this.virt) return -1;
    if (this.trigArmed !== 0 && this.trig.onPage(hi * TWO32 + ((lo & -4096) >>> 0), 1 << acc)) return -1;
    const k = (lo >>> 12) & TLB_MASK;
    const sh = this.shadow[acc]!, b = k * SH_W;
    if (sh[b + 3] !== this.shadowKey(ctx) || sh[b] !== (lo & -4096) || sh[b + 1] !== hi ||
      sh[b + 4] !== this.satpRoot / 4096 || sh[b + 5] !== this.pmp.version ||
      sh[b + 6] !== (eVirt ? this.hgatpRoot / 4096 : 0)) return -1;
    const dv = this.dv;
    for (let j = 0, n = sh[b + SH_LOG]!; j < n; j++) {
      const o = sh[b + SH_LOG + 1 + 3 * j]!;
      if (dv.getInt32(o, true) !== sh[b + SH_LOG + 2 + 3 * j] || dv.getInt32(o + 4, true) !== sh[b + SH_LOG + 3 + 3 * j]) return -1;
    }
    const off = sh[b + 2]!;
    const bus = this.bus;
    if (acc === ACC_STORE) {
      // Code pages and pages other harts hold reservations in take the full path
      // (invalidation, reservation breaking).
      const page = Math.floor(off / 4096);
      if (this.jit !== null && this.jit.isCodePage(page)) return -1;
      if (bus.resv.any && bus.resv.reservedByOthers(this, page)) return -1;
    }
    const t = this.tlb[acc]!;
    t[k << 2] = sh[b]!; t[(k << 2) + 1] = sh[b + 1]!; t[(k << 2) + 2] = off;
    const o = off + (lo & 4095);
    if (acc === ACC_STORE && bus.onStore !== null) bus.onStore(o, size);
    return o;
  }
  /**
   * The translation context of an access in context `ctx`: effective privilege, SUM and MXR
   * (while V = 1 the live mstatus holds vsstatus's), satp.MODE (vsatp's while V = 1), the PBMTE bits; for a
   * two-stage translation also the HS-level MXR and hgatp.MODE. The roots are compared apart.
   */
  protected shadowKey(ctx: number): number {
    const k = (ctx & CTX_PRIV) | (this.mstatus & (C.MSTATUS_SUM | C.MSTATUS_MXR)) | (this.satpMode << 24) | (this.pbmteBits << 28);
    return (ctx & CTX_VIRT) !== 0 ? k | 4 | ((this.other.status & C.MSTATUS_MXR) !== 0 ? 8 : 0) | (this.hgatpMode << 4) : k;
  }

  protected mmioDevice(pa: number, size: number, acc: number, lo: number, hi: number): MmioDevice {
    const d = this.bus.findDevice(pa, size);
    if (d === undefined) this.accessFault(acc, lo, hi);
    return d;
  }

  // ----------------------------------------------------------------------
  // Loads and stores. Addresses arrive as (lo, hi): the low and high 32-bit words of the
  // 64-bit effective address, so the TLB hit path is pure int32 arithmetic, and the slow path
  // keeps them so (every 64-bit address is exact).
  // ----------------------------------------------------------------------
  /**
   * Buffer offset of the `size` bytes loaded from (lo, hi): in RAM, or, when the access went to
   * a device or crossed a page, in this hart's load scratch (the value little-endian, also in
   * `slowVal` zero-extended), so callers read the value the same way in every case.
   */
  loadOffset(lo: number, hi: number, size: number): number {
    const t = this.tlb[ACC_LOAD]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    return this.loadSlow(lo, hi, size);
  }
  protected loadSlow(lo: number, hi: number, size: number): number {
    if ((this.trigArmed & TRIG_LOAD) !== 0) this.trigAccess(lo, hi, size, TRIG_LOAD, ACC_LOAD);
    if ((lo & 4095) + size > 4096) {
      this.slowVal = this.loadCrossing(lo, hi, size);
      this.dv.setBigUint64(this.scratchOff, this.slowVal, true);
      return this.scratchOff;
    }
    const o = this.resolve(lo, hi, size, ACC_LOAD);
    if (o >= 0) return o;
    this.slowVal = this.mmioRead(this.mmioPa, size, lo, hi);
    this.dv.setBigUint64(this.scratchOff, this.slowVal, true);
    return this.scratchOff;
  }
  protected mmioRead(pa: number, size: number, lo: number, hi: number): bigint {
    const d = this.mmioDevice(pa, size, ACC_LOAD, lo, hi);
    const v = d.read(pa - d.base, size) & ((1n << BigInt(size * 8)) - 1n);
    if (this.obs) this.obs.mmio(this as unknown as Hart, d.name, pa, size, v, false);
    return v;
  }
  /** A misaligned access spanning two pages: translate both (faults first), then byte-wise. */
  protected loadCrossing(lo: number, hi: number, size: number): bigint {
    const first = 4096 - (lo & 4095);
    this.resolve(lo, hi, first, ACC_LOAD);
    this.resolve((lo + first) | 0, hiPlus(lo, hi, first), size - first, ACC_LOAD);
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) {
      const l = (lo + k) | 0, h = hiPlus(lo, hi, k);
      const o = this.resolve(l, h, 1, ACC_LOAD);
      const b = o >= 0 ? BigInt(this.dv.getUint8(o)) : this.mmioRead(this.mmioPa, 1, l, h);
      v = (v << 8n) | b;
    }
    return v;
  }

  /** Buffer offset for a RAM store, or -1: then the caller completes it with `storeSlow`. */
  storeOffset(lo: number, hi: number, size: number): number {
    const t = this.tlb[ACC_STORE]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    if ((this.trigArmed & TRIG_STORE) !== 0) this.trigAccess(lo, hi, size, TRIG_STORE, ACC_STORE);
    if ((lo & 4095) + size > 4096) return -1;
    return this.resolve(lo, hi, size, ACC_STORE);
  }
  /**
   * Store of the low `size` bytes of x[rs] at (lo, hi): the buffer offset for the caller to
   * write to (RAM), or -1 when the store was done here (device, page crossing).
   */
  storeX(lo: number, hi: number, size: number, rs: number): number {
    const t = this.tlb[ACC_STORE]!;
    const i = ((lo >>> 12) & TLB_MASK) << 2;
    if (t[i] === (lo & -4096) && t[i + 1] === hi && (lo & 4095) <= 4096 - size) return t[i + 2]! + (lo & 4095);
    return this.storeXMiss(lo, hi, size, rs);
  }
  /** storeX after a store-TLB miss. */
  protected storeXMiss(lo: number, hi: number, size: number, rs: number): number {
    const o = this.storeOffset(lo, hi, size);
    if (o >= 0) return o;
    this.storeSlow(lo, hi, size, BigInt.asUintN(64, this.x[rs]!));
    return -1;
  }
  /** Device store or page-crossing store of the low `size` bytes of v. */
  storeSlow(lo: number, hi: number, size: number, v: bigint): void {
    if ((lo & 4095) + size > 4096) {
      const first = 4096 - (lo & 4095);
      this.resolve(lo, hi, first, ACC_STORE);
      this.resolve((lo + first) | 0, hiPlus(lo, hi, first), size - first, ACC_STORE);
      for (let k = 0; k < size; k++) {
        const b = BigInt.asUintN(8, v >> BigInt(8 * k));
        const l = (lo + k) | 0, h = hiPlus(lo, hi, k);
        const o = this.resolve(l, h, 1, ACC_STORE);
        if (o >= 0) this.dv.setUint8(o, Number(b));
        else this.mmioWrite(this.mmioPa, 1, b, l, h);
      }
      return;
    }
    const o = this.resolve(lo, hi, size, ACC_STORE);
    if (o >= 0) {
      for (let k = 0; k < size; k++) this.dv.setUint8(o + k, Number(BigInt.asUintN(8, v >> BigInt(8 * k))));
      return;
    }
    this.mmioWrite(this.mmioPa, size, BigInt.asUintN(size * 8, v), lo, hi);
  }
  protected mmioWrite(pa: number, size: number, v: bigint, lo: number, hi: number): void {
    const d = this.mmioDevice(pa, size, ACC_STORE, lo, hi);
    if (this.obs) this.obs.mmio(this as unknown as Hart, d.name, pa, size, v, true);
    d.write(pa - d.base, size, v);
  }

  /**
   * Physical address of an aligned atomic access (LR/SC/AMO), after the alignment check:
   * misaligned AMOs raise store/AMO address-misaligned, LR raises load address-misaligned
   * (priv spec §3.6.3.2; as QEMU). AMOs need read and write permission; their faults are
   * store/AMO faults.
   */
  atomicOff(lo: number, hi: number, size: number, acc: number): number {
    // LR is a load, SC a store, an AMO both (Sdtrig "A Extension"); before the alignment check.
    if (this.trigArmed !== 0) this.trigAccess(lo, hi, size, acc === ACC_LOAD ? TRIG_LOAD : this.amoAccess ? TRIG_LOAD | TRIG_STORE : TRIG_STORE, acc);
    if ((lo & (size - 1)) !== 0) {
      this.raise(acc === ACC_LOAD ? C.CAUSE_MISALIGNED_LOAD : C.CAUSE_MISALIGNED_STORE, big(lo, hi));
    }
    const o = this.resolve(lo, hi, size, acc);
    if (o < 0) this.accessFault(acc, lo, hi); // no atomics on devices
    return o;
  }

  // ----------------------------------------------------------------------
  // Sdtrig triggers (trigger.ts). Checked on the slow paths only, before translation (address
  // breakpoints take priority over the access's page, access and misaligned faults); the TLBs
  // keep the pages where they could match out of the fast paths.
  // ----------------------------------------------------------------------
  /**
   * Breakpoint exception if an armed trigger of `kinds` matches `size` bytes at (lo, hi) (tval =
   * the exact address). Triggers compare numbers: exact within ±2^53.
   */
  protected trigAccess(lo: number, hi: number, size: number, kinds: number, acc: number): void {
    if (this.trig.matchAccess(hi * TWO32 + (lo >>> 0), size, kinds, modeBit(this.priv, this.virt))) this.raiseAddr(C.CAUSE_BREAKPOINT, acc, big(lo, hi));
  }
  /** Breakpoint exception if an armed execute trigger matches the instruction at (lo, hi) (tval = pc). */
  protected trigExec(lo: number, hi: number): void {
    if (this.trig.matchExec(hi * TWO32 + (lo >>> 0), modeBit(this.priv, this.virt))) this.raiseAddr(C.CAUSE_BREAKPOINT, ACC_FETCH, big(lo, hi));
  }

  /** Physical address for LR/SC reservation from a buffer offset. */
  offToPa(o: number): number {
    return o - this.ramOffset + this.bus.ramBase;
  }

  /** Read guest physical memory (firmware use). Throws ImageError-like Error outside RAM. */
  readPhys(pa: number, len: number): Uint8Array {
    return this.bus.readRam(pa, len);
  }

  // ======================================================================
  // Fetch
  // ======================================================================
  /**
   * Make pc's page the current fetch page if it can be cached (else fetchVa stays NaN). The
   * 64-bit pc is pc + pcHi * 2^32 (state.ts): its low word is ToInt32(pc), exact because |pc|
   * stays below 2^53.
   */
  protected fetchFill(pc: number): void {
    const plo = pc | 0, phi = (Math.floor(pc / TWO32) + this.pcHi) | 0;
    if ((this.trigArmed & TRIG_EXEC) !== 0) this.trigExec(plo, phi);
    if (this.onFetchPage !== null) this.onFetchPage(this as unknown as Hart, Math.floor(pc / 4096));
    const pageVa = pc - (plo & 4095);
    const k = ((plo >>> 12) & TLB_MASK) << 2;
    const t = this.tlb[ACC_FETCH]!;
    const tlo = plo & -4096;
    this.fetchVa = NaN;
    if (t[k] !== tlo || t[k + 1] !== phi) {
      this.resolve(plo, phi, 2, ACC_FETCH);
      // Not cacheable (PMP granularity finer than a page): per-fetch checks.
      if (t[k] !== tlo || t[k + 1] !== phi) return;
    }
    this.fetchVa = pageVa;
    this.fetchOff = t[k + 2]!;
  }
  /** Fetch the raw instruction at pc (16 bits for RVC, else 32); faults throw. */
  protected fetchSlow(pc: number): number {
    const plo = pc | 0, phi = (Math.floor(pc / TWO32) + this.pcHi) | 0;
    if ((this.trigArmed & TRIG_EXEC) !== 0) this.trigExec(plo, phi);
    const o = this.resolve(plo, phi, 2, ACC_FETCH);
    const lo16 = this.dv.getUint16(o, true);
    if ((lo16 & 3) !== 3) return lo16;
    // The upper half may sit on the next page: its fault reports that address (§3.1.16).
    const o2 = this.resolve((plo + 2) | 0, hiPlus(plo, phi, 2), 2, ACC_FETCH);
    return lo16 | (this.dv.getUint16(o2, true) << 16);
  }
}
