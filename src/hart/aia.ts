/**
 * Smaia/Ssaia (RISC-V Advanced Interrupt Architecture 1.0, chapters 2-6) as QEMU 7.2 models it
 * (target/riscv/csr.c: rmw_xiselect, rmw_xireg, rmw_xtopei, read_[m|s|vs]topi, hvictl, hviprio1/2,
 * hgeie; cpu_helper.c: riscv_cpu_pending_to_irq, riscv_cpu_local_irq_pending).
 *
 * The hart has AIA state (`HartCore.aia`) only on a board with IMSICs (`--aia aplic-imsic`, as
 * QEMU sets ext_smaia/ext_ssaia when it realizes the IMSICs); without it every CSR below is an
 * illegal instruction and interrupt selection is the unchanged fixed order of trap.ts.
 *
 * The IMSIC interrupt files are devices (src/devices/imsic.ts); the hart reaches them only
 * through the `AiaIregFile` port the board hands it (QEMU's aia_ireg_rmw_fn[priv]).
 */
import type { Hart } from './hart.js';
import * as C from './constants.js';

/** CSR numbers (AIA §2-§6; priv spec table 2.2-2.4). */
export const AIA_CSR = {
  miselect: 0x350, mireg: 0x351, mtopei: 0x35c, mtopi: 0xfb0, mvien: 0x308, mvip: 0x309,
  siselect: 0x150, sireg: 0x151, stopei: 0x15c, stopi: 0xdb0,
  hvien: 0x608, hvictl: 0x609, hviprio1: 0x646, hviprio2: 0x647,
  vsiselect: 0x250, vsireg: 0x251, vstopei: 0x25c, vstopi: 0xeb0,
} as const;

/** xiselect ranges (AIA §2.5, §3.8). */
export const ISELECT_IPRIO0 = 0x30;
export const ISELECT_IPRIO15 = 0x3f;
export const ISELECT_IMSIC_FIRST = 0x70;
export const ISELECT_IMSIC_LAST = 0xff;
export const ISELECT_IMSIC_EIDELIVERY = 0x70;
export const ISELECT_IMSIC_EITHRESHOLD = 0x72;
export const ISELECT_IMSIC_EIP0 = 0x80;
export const ISELECT_IMSIC_EIE0 = 0xc0;
/** QEMU's pseudo iselect for the *topei CSRs (ISELECT_IMSIC_TOPEI = ISELECT_MASK + 1). */
export const ISELECT_IMSIC_TOPEI = 0x200;
const ISELECT_MASK = 0x1ff;

/** Default interrupt priorities (QEMU cpu_bits.h IPRIO_DEFAULT_*). */
const IPRIO_MMAXIPRIO = 255;
const IPRIO_DEFAULT_UPPER = 4;
const IPRIO_DEFAULT_M = IPRIO_DEFAULT_UPPER + 12;
const IPRIO_DEFAULT_S = IPRIO_DEFAULT_M + 3;
const IPRIO_DEFAULT_SGEXT = IPRIO_DEFAULT_S + 3;
const IPRIO_DEFAULT_VS = IPRIO_DEFAULT_SGEXT + 1;
const IPRIO_DEFAULT_LOWER = IPRIO_DEFAULT_VS + 3;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

/** QEMU cpu_helper.c default_iprio[]: the AIA default priority order (AIA §6.1, table 6.1). */
const DEFAULT_IPRIO: Uint8Array = (() => {
  const t = new Uint8Array(64);
  for (const n of [63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 31, 30, 29, 28, 27, 26, 25, 24]) t[n] = IPRIO_MMAXIPRIO;
  [47, 23, 46, 45, 22, 44, 43, 21, 42, 41, 20, 40].forEach((n, i) => { t[n] = IPRIO_DEFAULT_UPPER + i; });
  [11, 3, 7].forEach((n, i) => { t[n] = IPRIO_DEFAULT_M + i; });
  [9, 1, 5].forEach((n, i) => { t[n] = IPRIO_DEFAULT_S + i; });
  t[12] = IPRIO_DEFAULT_SGEXT;
  [10, 2, 6].forEach((n, i) => { t[n] = IPRIO_DEFAULT_VS + i; });
  [39, 19, 38, 37, 18, 36, 35, 17, 34, 33, 16, 32].forEach((n, i) => { t[n] = IPRIO_DEFAULT_LOWER + i; });
  return t;
})();
const defaultPriority = (irq: number): number => (irq < 0 || irq > 63 ? IPRIO_MMAXIPRIO : DEFAULT_IPRIO[irq] || IPRIO_MMAXIPRIO);

/**
 * One privilege level's IMSIC (QEMU riscv_imsic_rmw): `page` 0 is the M- or S-level file, 1..GEILEN
 * the guest files. Returns the old value, or null for an access the file does not implement
 * (the CSR access is then an illegal / virtual instruction).
 */
export interface AiaIregFile {
  readonly numPages: number;
  /** Whether `isel` names a register of file `page` (QEMU riscv_imsic_rmw would not return -EINVAL). */
  valid(page: number, isel: number): boolean;
  rmw(page: number, isel: number, newVal: bigint, wrMask: bigint): bigint | null;
}

/** hvictl fields (AIA §6.3.3). */
const HVICTL_VTI = 1 << 30;
const HVICTL_IID_SHIFT = 16;
const HVICTL_IID_MASK = 0xfff;
const HVICTL_IPRIOM = 1 << 8;
const HVICTL_IPRIO_MASK = 0xff;
/** QEMU 7.2 HVICTL_VALID_MASK: VTI, IID, IPRIOM, IPRIO (DPR is read-only zero there). */
const HVICTL_VALID_MASK = (HVICTL_VTI | (HVICTL_IID_MASK << HVICTL_IID_SHIFT) | HVICTL_IPRIOM | HVICTL_IPRIO_MASK) >>> 0;

/** The AIA state of one hart, saved in checkpoints (`HartSnapshot.aia`). */
export interface AiaSnapshot {
  miselect: number; siselect: number; vsiselect: number;
  miprio: number[]; siprio: number[]; hviprio: number[];
  hvictl: number; hgeie: number; hgeip: number;
}

export class AiaHart {
  miselect = 0;
  siselect = 0;
  vsiselect = 0;
  readonly miprio = new Uint8Array(64);
  readonly siprio = new Uint8Array(64);
  readonly hviprio = new Uint8Array(64);
  hvictl = 0;
  /** hgeie / hgeip: bits 1..GEILEN (bit 0 is never implemented). */
  hgeie = 0;
  hgeip = 0;
  /** GEILEN: the number of guest interrupt files (QEMU: IMSIC S-file pages - 1). */
  readonly geilen: number;

  constructor(readonly m: AiaIregFile, readonly s: AiaIregFile) {
    this.geilen = s.numPages - 1;
  }

  save(): AiaSnapshot {
    return {
      miselect: this.miselect, siselect: this.siselect, vsiselect: this.vsiselect,
      miprio: Array.from(this.miprio), siprio: Array.from(this.siprio), hviprio: Array.from(this.hviprio),
      hvictl: this.hvictl, hgeie: this.hgeie, hgeip: this.hgeip,
    };
  }
  restore(s: AiaSnapshot): void {
    this.miselect = s.miselect; this.siselect = s.siselect; this.vsiselect = s.vsiselect;
    this.miprio.set(s.miprio); this.siprio.set(s.siprio); this.hviprio.set(s.hviprio);
    this.hvictl = s.hvictl; this.hgeie = s.hgeie; this.hgeip = s.hgeip;
  }
}

/** hstatus.VGEIN (§8.2.1). */
export const vgein = (h: Hart): number => (h.hstatus >>> C.HSTATUS_VGEIN_SHIFT) & 0x3f;

/**
 * Recompute the two lines that follow from hgeip (QEMU riscv_cpu_all_pending / riscv_cpu_set_irq):
 * SGEIP = hgeie & hgeip != 0, and VSEIP = hgeip[hstatus.VGEIN] (ORed into mip like a device line;
 * hvip.VSEIP stays separate). Called when hgeip, hgeie or hstatus changes.
 */
export function aiaUpdateLines(h: Hart): void {
  const a = h.aia;
  if (a === null) return;
  h.setIrqLine(12, (a.hgeie & a.hgeip) !== 0);
  const g = vgein(h);
  h.setIrqLine(10, g !== 0 && g < 32 && ((a.hgeip >>> g) & 1) !== 0);
}

/** A guest interrupt file's line (IMSIC S-file page `k`, 1..GEILEN) changed: hgeip bit k. */
export function aiaSetGuestLine(h: Hart, k: number, level: boolean): void {
  const a = h.aia;
  if (a === null || k < 1 || k > a.geilen) return;
  a.hgeip = level ? (a.hgeip | (1 << k)) >>> 0 : (a.hgeip & ~(1 << k)) >>> 0;
  aiaUpdateLines(h);
}

/**
 * QEMU 7.2 riscv_cpu_pending_to_irq with AIA: the pending interrupt of least priority number;
 * a zero iprio means the default order relative to the level's external interrupt (`extirq`,
 * whose own iprio is read-only zero); ties go to the higher interrupt number (`<=`).
 */
export function pendingToIrq(extirq: number, extDefPrio: number, pending: number, iprio: Uint8Array): number {
  let best = -1;
  let bestPrio = Infinity;
  for (let irq = 0; irq < 32; irq++) {
    if (((pending >>> irq) & 1) === 0) continue;
    let prio = iprio[irq]!;
    if (prio === 0) prio = irq === extirq ? extDefPrio : defaultPriority(irq) < extDefPrio ? 1 : IPRIO_MMAXIPRIO;
    if (prio <= bestPrio) { best = irq; bestPrio = prio; }
  }
  return best;
}

/** mip & mie as QEMU's riscv_cpu_all_pending sees them (the hgeip VSEIP is already in mip). */
const allPending = (h: Hart): number => h.mip & h.mie;

/** QEMU riscv_cpu_local_irq_pending with AIA (called by HartTraps.pendingInterrupt). */
export function aiaPendingInterrupt(h: Hart, a: AiaHart): number {
  const pending = allPending(h);
  if (pending === 0) return -1;
  let mie: boolean, hsie: boolean, vsie: boolean;
  const sie = (h.mstatus & C.MSTATUS_SIE) !== 0;
  if (h.virt) {
    mie = true; hsie = true;
    vsie = h.priv < C.PRV_S || (h.priv === C.PRV_S && sie);
  } else {
    mie = h.priv < C.PRV_M || (h.mstatus & C.MSTATUS_MIE) !== 0;
    hsie = h.priv < C.PRV_S || (h.priv === C.PRV_S && sie);
    vsie = false;
  }
  let irqs = mie ? pending & ~h.mideleg : 0;
  if (irqs !== 0) return pendingToIrq(IRQ_M_EXT, IPRIO_DEFAULT_M, irqs, a.miprio);
  irqs = hsie ? pending & h.mideleg & ~h.hideleg : 0;
  if (irqs !== 0) return pendingToIrq(IRQ_S_EXT, IPRIO_DEFAULT_S, irqs, a.siprio);
  irqs = vsie ? pending & h.mideleg & h.hideleg : 0;
  if (irqs !== 0) {
    const v = pendingToIrq(IRQ_S_EXT, IPRIO_DEFAULT_S, irqs >>> 1, a.hviprio);
    return v <= 0 ? v : v + 1;
  }
  return -1;
}

// ---------------------------------------------------------------- the *topi CSRs

export function mtopi(h: Hart, a: AiaHart): bigint {
  const irqs = allPending(h) & ~h.mideleg & ~(C.MIP_SGEIP | C.MIP_VS_MASK);
  const irq = pendingToIrq(IRQ_M_EXT, IPRIO_DEFAULT_M, irqs, a.miprio);
  if (irq <= 0) return 0n;
  let iprio = a.miprio[irq]!;
  if (iprio === 0 && defaultPriority(irq) > IPRIO_DEFAULT_M) iprio = IPRIO_MMAXIPRIO;
  return BigInt((irq << 16) | iprio);
}

export function stopi(h: Hart, a: AiaHart): bigint {
  if (h.virt) return vstopi(h, a);
  const irqs = allPending(h) & h.mideleg & ~C.MIP_VS_MASK;
  const irq = pendingToIrq(IRQ_S_EXT, IPRIO_DEFAULT_S, irqs, a.siprio);
  if (irq <= 0) return 0n;
  let iprio = a.siprio[irq]!;
  if (iprio === 0 && defaultPriority(irq) > IPRIO_DEFAULT_S) iprio = IPRIO_MMAXIPRIO;
  return BigInt((irq << 16) | iprio);
}

/** QEMU 7.2 read_vstopi (AIA §6.3.3): the guest file's topei, hvictl's injected interrupt, VS irqs. */
export function vstopi(h: Hart, a: AiaHart): bigint {
  const gein = vgein(h);
  const hviid = (a.hvictl >>> HVICTL_IID_SHIFT) & HVICTL_IID_MASK;
  const hviprio = a.hvictl & HVICTL_IPRIO_MASK;
  const siid: number[] = [];
  const siprio: number[] = [];
  if (gein !== 0) {
    const vseip = h.mie & h.mip & C.MIP_VSEIP;
    if (gein <= a.geilen && vseip !== 0) {
      let p = IPRIO_MMAXIPRIO + 1;
      const topei = a.s.rmw(gein, ISELECT_IMSIC_TOPEI, 0n, 0n);
      if (topei !== null && topei !== 0n) p = Number(topei & 0x7ffn);
      siid.push(IRQ_S_EXT); siprio.push(p);
    }
  } else if (hviid === IRQ_S_EXT && hviprio !== 0) {
    siid.push(IRQ_S_EXT); siprio.push(hviprio);
  }
  if (a.hvictl & HVICTL_VTI) {
    if (hviid !== IRQ_S_EXT) { siid.push(hviid); siprio.push(hviprio); }
  } else {
    const irqs = allPending(h) & h.mideleg & C.MIP_VS_MASK;
    const irq = pendingToIrq(IRQ_S_EXT, IPRIO_DEFAULT_S, irqs >>> 1, a.hviprio);
    if (irq !== IRQ_S_EXT && irq > 0) { siid.push(irq); siprio.push(a.hviprio[irq]!); }
  }
  let iid = 0;
  let iprio = Infinity;
  for (let s = 0; s < siid.length; s++) if (siprio[s]! < iprio) { iid = siid[s]!; iprio = siprio[s]!; }
  if (iid === 0) return 0n;
  if (a.hvictl & HVICTL_IPRIOM) {
    if (iprio > IPRIO_MMAXIPRIO) iprio = IPRIO_MMAXIPRIO;
    if (iprio === 0 && defaultPriority(iid) > IPRIO_DEFAULT_S) iprio = IPRIO_MMAXIPRIO;
  } else {
    iprio = 1;
  }
  return BigInt(((iid & 0xfff) << 16) | iprio);
}

// ---------------------------------------------------------------- xiselect / xireg / xtopei

/** QEMU rmw_iprio (RV64: even iselects 0x30..0x3e, 8 priorities each; the level's extirq is read-only 0). */
function rmwIprio(isel: number, iprio: Uint8Array, newVal: bigint, wrMask: bigint, extIrq: number): bigint | null {
  if (isel < ISELECT_IPRIO0 || isel > ISELECT_IPRIO15 || (isel & 1) !== 0) return null;
  const firq = ((isel - ISELECT_IPRIO0) >> 1) * 8;
  let old = 0n;
  for (let i = 0; i < 8; i++) old |= BigInt(iprio[firq + i]!) << BigInt(8 * i);
  if (wrMask !== 0n) {
    const v = (old & ~wrMask) | (newVal & wrMask);
    for (let i = 0; i < 8; i++) if (firq + i !== extIrq) iprio[firq + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  }
  return old;
}

/** Which register file a siselect/sireg/stopei access reaches: with V = 1 the VS ones (aia_xlate_vs_csrno). */
type Level = 'm' | 's' | 'vs';
const levelOf = (h: Hart, l: Level): Level => (l === 's' && h.virt ? 'vs' : l);

function iselectRef(a: AiaHart, l: Level): number {
  return l === 'm' ? a.miselect : l === 's' ? a.siselect : a.vsiselect;
}

/** Result of an xireg / xtopei access that the hart must turn into a trap. */
export const AIA_FAULT = -1n;

/**
 * rmw_xireg: read-modify-write of the register xiselect selects. Returns the old value or
 * AIA_FAULT (illegal instruction; virtual instruction for a vsireg access made with V = 1).
 */
export function xiregRmw(h: Hart, a: AiaHart, lvl: Level, newVal: bigint, wrMask: bigint): bigint {
  const l = levelOf(h, lvl);
  const isel = iselectRef(a, l);
  const virt = l === 'vs';
  let r: bigint | null = null;
  if (isel >= ISELECT_IPRIO0 && isel <= ISELECT_IPRIO15) {
    if (!virt) r = rmwIprio(isel, l === 'm' ? a.miprio : a.siprio, newVal, wrMask, l === 'm' ? IRQ_M_EXT : IRQ_S_EXT);
  } else if (isel >= ISELECT_IMSIC_FIRST && isel <= ISELECT_IMSIC_LAST) {
    const g = virt ? vgein(h) : 0;
    if (!virt || (g !== 0 && g <= a.geilen)) r = (l === 'm' ? a.m : a.s).rmw(g, isel, newVal, wrMask);
  }
  return r === null ? AIA_FAULT : r;
}

/** rmw_xtopei: read the top external interrupt; a write (any value) claims it. */
export function xtopeiRmw(h: Hart, a: AiaHart, lvl: Level, newVal: bigint, wrMask: bigint): bigint {
  const l = levelOf(h, lvl);
  const virt = l === 'vs';
  const g = virt ? vgein(h) : 0;
  if (virt && (g === 0 || g > a.geilen)) return AIA_FAULT;
  const r = (l === 'm' ? a.m : a.s).rmw(g, ISELECT_IMSIC_TOPEI, newVal, wrMask);
  return r === null ? AIA_FAULT : r;
}

export function xiselectWrite(h: Hart, a: AiaHart, lvl: Level, v: bigint): void {
  const n = Number(v & BigInt(ISELECT_MASK));
  const l = levelOf(h, lvl);
  if (l === 'm') a.miselect = n; else if (l === 's') a.siselect = n; else a.vsiselect = n;
}
export function xiselectRead(h: Hart, a: AiaHart, lvl: Level): bigint {
  return BigInt(iselectRef(a, levelOf(h, lvl)));
}

// ---------------------------------------------------------------- hvictl / hviprio1-2 / hgeie

export function hvictlWrite(a: AiaHart, v: bigint): void {
  a.hvictl = Number(v & BigInt(HVICTL_VALID_MASK)) >>> 0;
}

/** QEMU hviprio_index2irq / index2rdzero: which interrupt each byte of hviprio1/hviprio2 holds. */
const HVIPRIO_IRQ = [0, 1, 4, 5, 8, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
const HVIPRIO_RDZERO = [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** rmw_hvipriox: hviprio1 holds indices 0..7, hviprio2 8..15 (RV64). */
export function hviprioRmw(a: AiaHart, first: number, newVal: bigint, wrMask: bigint): bigint {
  let ret = 0n;
  for (let i = 0; i < 8; i++) {
    if (HVIPRIO_RDZERO[first + i]) continue;
    const irq = HVIPRIO_IRQ[first + i]!;
    const sh = BigInt(8 * i);
    ret |= BigInt(a.hviprio[irq]!) << sh;
    if ((wrMask >> sh) & 0xffn) a.hviprio[irq] = Number((newVal >> sh) & 0xffn);
  }
  return ret;
}

/** hgeie (§8.2.4): bits GEILEN:1 writable (QEMU write_hgeie), SGEIP follows. */
export function hgeieWrite(h: Hart, a: AiaHart, v: bigint): void {
  const mask = a.geilen === 0 ? 0 : ((2 ** (a.geilen + 1) - 2) >>> 0);
  a.hgeie = Number(v & BigInt(mask)) >>> 0;
  aiaUpdateLines(h);
}

// ---------------------------------------------------------------- the CSR table rows

/** csr.ts access outcomes (CSR_OK / CSR_ILLEGAL / CSR_VIRTUAL), repeated to avoid an import cycle. */
const OK = 0, ILLEGAL = 1, VIRTUAL = 2;
const ALL = 0xffff_ffff_ffff_ffffn;

/** aia_any / aia_smode / aia_hmode: the CSR exists only with IMSICs (QEMU ext_smaia/ext_ssaia). */
const aiaAny = (h: Hart): number => (h.aia === null ? ILLEGAL : OK);

/** Is the register xiselect selects implemented (so xireg does not fault)? QEMU rmw_xireg's -EINVAL cases. */
function xiregValid(h: Hart, a: AiaHart, lvl: Level): boolean {
  const l = levelOf(h, lvl);
  const isel = iselectRef(a, l);
  if (isel >= ISELECT_IPRIO0 && isel <= ISELECT_IPRIO15) return l !== 'vs' && (isel & 1) === 0;
  if (isel < ISELECT_IMSIC_FIRST || isel > ISELECT_IMSIC_LAST) return false;
  if (l !== 'vs') return (l === 'm' ? a.m : a.s).valid(0, isel);
  const g = vgein(h);
  return g !== 0 && g <= a.geilen && a.s.valid(g, isel);
}
/** The fault of an invalid xireg / vstopei access: virtual instruction when V = 1 and the access is VS-level. */
const aiaFault = (h: Hart, lvl: Level): number => (h.virt && levelOf(h, lvl) === 'vs' ? VIRTUAL : ILLEGAL);

function xiregPred(lvl: Level): (h: Hart) => number {
  return (h) => (h.aia === null ? ILLEGAL : xiregValid(h, h.aia, lvl) ? OK : aiaFault(h, lvl));
}
function xtopeiPred(lvl: Level): (h: Hart) => number {
  return (h) => {
    const a = h.aia;
    if (a === null) return ILLEGAL;
    if (levelOf(h, lvl) !== 'vs') return OK;
    const g = vgein(h);
    return g !== 0 && g <= a.geilen ? OK : aiaFault(h, lvl);
  };
}

export interface AiaCsrRow {
  readonly num: number;
  readonly name: string;
  readonly pred: (h: Hart) => number;
  readonly read: (h: Hart) => bigint;
  readonly write?: (h: Hart, v: bigint) => void;
}
const A = (h: Hart): AiaHart => h.aia!;

function levelRows(lvl: Level, sel: number, reg: number, topei: number, names: [string, string, string]): AiaCsrRow[] {
  return [
    { num: sel, name: names[0], pred: aiaAny, read: (h) => xiselectRead(h, A(h), lvl), write: (h, v) => xiselectWrite(h, A(h), lvl, v) },
    {
      num: reg, name: names[1], pred: xiregPred(lvl),
      read: (h) => xiregRmw(h, A(h), lvl, 0n, 0n),
      write: (h, v) => { xiregRmw(h, A(h), lvl, v, ALL); },
    },
    {
      num: topei, name: names[2], pred: xtopeiPred(lvl),
      read: (h) => xtopeiRmw(h, A(h), lvl, 0n, 0n),
      // Any write claims the top interrupt (AIA §3.9: the value written is ignored).
      write: (h, v) => { xtopeiRmw(h, A(h), lvl, v, ALL); },
    },
  ];
}

/** Rows csr.ts adds to CSR_TABLE (QEMU 7.2 csr_ops: AIA entries). */
export const AIA_CSR_ROWS: readonly AiaCsrRow[] = [
  ...levelRows('m', AIA_CSR.miselect, AIA_CSR.mireg, AIA_CSR.mtopei, ['miselect', 'mireg', 'mtopei']),
  { num: AIA_CSR.mtopi, name: 'mtopi', pred: aiaAny, read: (h) => mtopi(h, A(h)) },
  // QEMU 7.2 has no interrupt filtering: mvien/mvip (and hvien) read zero and ignore writes.
  { num: AIA_CSR.mvien, name: 'mvien', pred: aiaAny, read: () => 0n, write: () => {} },
  { num: AIA_CSR.mvip, name: 'mvip', pred: aiaAny, read: () => 0n, write: () => {} },
  ...levelRows('s', AIA_CSR.siselect, AIA_CSR.sireg, AIA_CSR.stopei, ['siselect', 'sireg', 'stopei']),
  { num: AIA_CSR.stopi, name: 'stopi', pred: aiaAny, read: (h) => stopi(h, A(h)) },
  ...levelRows('vs', AIA_CSR.vsiselect, AIA_CSR.vsireg, AIA_CSR.vstopei, ['vsiselect', 'vsireg', 'vstopei']),
  { num: AIA_CSR.vstopi, name: 'vstopi', pred: aiaAny, read: (h) => vstopi(h, A(h)) },
  { num: AIA_CSR.hvien, name: 'hvien', pred: aiaAny, read: () => 0n, write: () => {} },
  { num: AIA_CSR.hvictl, name: 'hvictl', pred: aiaAny, read: (h) => BigInt(A(h).hvictl), write: (h, v) => hvictlWrite(A(h), v) },
  {
    num: AIA_CSR.hviprio1, name: 'hviprio1', pred: aiaAny,
    read: (h) => hviprioRmw(A(h), 0, 0n, 0n), write: (h, v) => { hviprioRmw(A(h), 0, v, ALL); },
  },
  {
    num: AIA_CSR.hviprio2, name: 'hviprio2', pred: aiaAny,
    read: (h) => hviprioRmw(A(h), 8, 0n, 0n), write: (h, v) => { hviprioRmw(A(h), 8, v, ALL); },
  },
];
