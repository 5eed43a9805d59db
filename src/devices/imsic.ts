/**
 * RISC-V IMSIC (Incoming MSI Controller, AIA 1.0 chapter 3) as QEMU 7.2 models it
 * (hw/intc/riscv_imsic.c) on the `virt` board with `aia=aplic-imsic`:
 *
 *   M-level file of hart h   0x2400_0000 + h * 0x1000          1 page, drives MEIP
 *   S-level files of hart h  0x2800_0000 + h * (0x1000 << gbits) 1 + aia-guests pages:
 *                            page 0 drives SEIP, page k (guest file k) drives hgeip bit k
 *   (gbits = ceil(log2(aia-guests + 1)); QEMU VIRT_IRQCHIP_NUM_MSIS = 255 identities per file)
 *
 * Each page is one interrupt file: writing an identity 1..255 to its seteipnum_le register
 * (offset 0, 32-bit) makes it pending; reads return 0; seteipnum_be and other registers are
 * ignored, as in QEMU. The file's registers (eidelivery, eithreshold, eip0-7, eie0-7) and its
 * topei are reached through the hart's *ireg / *topei CSRs (src/hart/aia.ts `AiaIregFile`).
 *
 * topei (QEMU riscv_imsic_topei): the lowest identity pending and enabled below eithreshold
 * (when eithreshold is non-zero), reported as (id << 16) | id. The file's line is raised when
 * eidelivery = 1 and topei != 0.
 */
import type { MmioDevice } from '../mem/device.js';
import {
  ISELECT_IMSIC_EIDELIVERY, ISELECT_IMSIC_EITHRESHOLD, ISELECT_IMSIC_EIP0, ISELECT_IMSIC_EIE0,
  ISELECT_IMSIC_TOPEI, type AiaIregFile,
} from '../hart/aia.js';

export const IMSIC_M_BASE = 0x2400_0000;
export const IMSIC_S_BASE = 0x2800_0000;
export const IMSIC_PAGE = 0x1000;
/** QEMU VIRT_IRQCHIP_NUM_MSIS: identities 1..255 (num-irqs 256). */
export const IMSIC_NUM_IDS = 255;
/** QEMU virt aia-guests maximum (VIRT_IRQCHIP_MAX_GUESTS). */
export const IMSIC_MAX_GUESTS = 7;
const NUM_IRQS = IMSIC_NUM_IDS + 1;
const PENDING = 1;
const ENABLED = 2;

/** log2 of the S-file stride in pages: enough bits for aia-guests + 1 files (QEMU imsic_num_bits). */
export function guestIndexBits(guests: number): number {
  let b = 0;
  while ((1 << b) < guests + 1) b++;
  return b;
}

/**
 * What the IMSIC reports for the trace (the board turns it into msi events). Claims need no
 * report of their own: they are writes of the *topei CSRs, traced as CSR writes.
 */
export interface ImsicEvents {
  /** An MSI arrived in file `page` of this IMSIC (an identity, valid or not). */
  msi(imsic: Imsic, page: number, eiid: number): void;
}

interface ImsicState {
  eidelivery: number[];
  eithreshold: number[];
  eistate: number[];
  line: boolean[];
}

export class Imsic implements MmioDevice, AiaIregFile {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  private readonly eidelivery: Uint32Array;
  private readonly eithreshold: Uint32Array;
  /** Per page, per identity: PENDING | ENABLED. */
  private readonly eistate: Uint8Array;
  private readonly line: boolean[];
  events: ImsicEvents | null = null;

  /**
   * @param setLine drives the file's output: page 0 = MEIP / SEIP of `hart`, page k = hgeip bit k.
   */
  constructor(
    readonly hart: number,
    readonly mmode: boolean,
    readonly numPages: number,
    base: number,
    private readonly setLine: (page: number, level: boolean) => void,
  ) {
    if (!Number.isInteger(numPages) || numPages < 1 || (mmode && numPages !== 1) || numPages > IMSIC_MAX_GUESTS + 1) {
      throw new RangeError(`Imsic: bad page count ${numPages}`);
    }
    this.name = `imsic-${mmode ? 'm' : 's'}${hart}`;
    this.base = base;
    this.size = numPages * IMSIC_PAGE;
    this.eidelivery = new Uint32Array(numPages);
    this.eithreshold = new Uint32Array(numPages);
    this.eistate = new Uint8Array(numPages * NUM_IRQS);
    this.line = new Array<boolean>(numPages).fill(false);
  }

  // ---------------------------------------------------------------- MMIO (MSIs)

  read(): bigint {
    return 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    if (size !== 4 || (offset & 3) !== 0) return; // QEMU: 4-byte accesses only
    const page = Math.floor(offset / IMSIC_PAGE);
    if ((offset & (IMSIC_PAGE - 1)) !== 0) return; // only seteipnum_le
    this.msi(page, Number(value & 0xffff_ffffn));
  }

  /** An MSI with identity `eiid` to file `page` (a bus write to seteipnum_le). */
  msi(page: number, eiid: number): void {
    if (page < 0 || page >= this.numPages) return;
    this.events?.msi(this, page, eiid);
    if (eiid === 0 || eiid >= NUM_IRQS) return;
    this.eistate[page * NUM_IRQS + eiid]! |= PENDING;
    this.update(page);
  }

  // ---------------------------------------------------------------- inspection

  isPending(page: number, id: number): boolean {
    return (this.eistate[page * NUM_IRQS + id]! & PENDING) !== 0;
  }
  lineLevel(page: number): boolean {
    return this.line[page]!;
  }

  // ---------------------------------------------------------------- CSR port (QEMU riscv_imsic_rmw)

  valid(page: number, isel: number): boolean {
    if (page < 0 || page >= this.numPages) return false;
    if (isel === ISELECT_IMSIC_EIDELIVERY || isel === ISELECT_IMSIC_EITHRESHOLD || isel === ISELECT_IMSIC_TOPEI) return true;
    if (isel >= ISELECT_IMSIC_EIP0 && isel < ISELECT_IMSIC_EIP0 + 64) return this.eixValid(isel - ISELECT_IMSIC_EIP0);
    if (isel >= ISELECT_IMSIC_EIE0 && isel < ISELECT_IMSIC_EIE0 + 64) return this.eixValid(isel - ISELECT_IMSIC_EIE0);
    return false;
  }
  /** RV64: only even eipN/eieN exist, each 64 identities; beyond num-irqs they do not. */
  private eixValid(num: number): boolean {
    return (num & 1) === 0 && (num >> 1) < NUM_IRQS / 64;
  }

  rmw(page: number, isel: number, newVal: bigint, wrMask: bigint): bigint | null {
    if (!this.valid(page, isel)) return null;
    if (isel === ISELECT_IMSIC_EIDELIVERY) {
      const old = this.eidelivery[page]!;
      const m = Number(wrMask & 1n);
      this.eidelivery[page] = (old & ~m) | (Number(newVal & 1n) & m);
      this.update(page);
      return BigInt(old);
    }
    if (isel === ISELECT_IMSIC_EITHRESHOLD) {
      const old = this.eithreshold[page]!;
      const m = Number(wrMask & 0x7ffn); // IMSIC_MAX_ID
      this.eithreshold[page] = ((old & ~m) | (Number(newVal & 0x7ffn) & m)) >>> 0;
      this.update(page);
      return BigInt(old);
    }
    if (isel === ISELECT_IMSIC_TOPEI) {
      const topei = this.topei(page);
      // A write (any value) clears the top pending identity (AIA §3.9).
      if (topei !== 0 && wrMask !== 0n) {
        const id = topei >>> 16;
        this.eistate[page * NUM_IRQS + id]! &= ~PENDING;
      }
      this.update(page);
      return BigInt(topei);
    }
    const pend = isel < ISELECT_IMSIC_EIE0;
    const num = (isel - (pend ? ISELECT_IMSIC_EIP0 : ISELECT_IMSIC_EIE0)) >> 1;
    const bit = pend ? PENDING : ENABLED;
    const base = page * NUM_IRQS + num * 64;
    let old = 0n;
    for (let i = 0; i < 64; i++) {
      if (num === 0 && i === 0) continue; // eip0/eie0 bit 0 is read-only zero
      const k = base + i;
      const prev = this.eistate[k]!;
      if (prev & bit) old |= 1n << BigInt(i);
      if ((wrMask >> BigInt(i)) & 1n) {
        this.eistate[k] = (newVal >> BigInt(i)) & 1n ? prev | bit : prev & ~bit;
      }
    }
    this.update(page);
    return old;
  }

  /** QEMU riscv_imsic_topei: lowest pending+enabled identity below a non-zero eithreshold. */
  topei(page: number): number {
    const th = this.eithreshold[page]!;
    const max = th !== 0 && th <= NUM_IRQS ? th : NUM_IRQS;
    const base = page * NUM_IRQS;
    for (let i = 1; i < max; i++) {
      if ((this.eistate[base + i]! & (PENDING | ENABLED)) === (PENDING | ENABLED)) return (i << 16) | i;
    }
    return 0;
  }

  private update(page: number): void {
    const level = this.eidelivery[page] !== 0 && this.topei(page) !== 0;
    if (level === this.line[page]) return;
    this.line[page] = level;
    this.setLine(page, level);
  }

  // ---------------------------------------------------------------- checkpoints

  saveState(): ImsicState {
    return {
      eidelivery: Array.from(this.eidelivery),
      eithreshold: Array.from(this.eithreshold),
      eistate: Array.from(this.eistate),
      line: this.line.slice(),
    };
  }

  /** Registers and the cached output levels (the harts' mip/hgeip come from their own checkpoint). */
  restoreState(state: unknown): void {
    const s = state as ImsicState;
    const ok = !!s && Array.isArray(s.eidelivery) && s.eidelivery.length === this.numPages &&
      Array.isArray(s.eithreshold) && s.eithreshold.length === this.numPages &&
      Array.isArray(s.eistate) && s.eistate.length === this.eistate.length &&
      Array.isArray(s.line) && s.line.length === this.numPages;
    if (!ok) throw new Error(`${this.name}: checkpoint state does not match this machine`);
    this.eidelivery.set(s.eidelivery);
    this.eithreshold.set(s.eithreshold);
    this.eistate.set(s.eistate);
    for (let p = 0; p < this.numPages; p++) this.line[p] = !!s.line[p];
  }
}
