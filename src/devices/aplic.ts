/**
 * RISC-V APLIC (Advanced Platform-Level Interrupt Controller, AIA 1.0 chapter 4) as QEMU 7.2
 * models it (hw/intc/riscv_aplic.c) on the `virt` board with `aia=aplic` or `aia=aplic-imsic`:
 *
 *   M-level domain (root)  0x0c00_0000, aperture 0x8000: the wired sources go here
 *   S-level domain (child) 0x0d00_0000, aperture 0x8000: sources the M domain delegates
 *   96 source numbers (1..95 usable), 3 priority bits (iprio-mask 7)
 *
 * Delivery: direct (`aplic`, an IDC per hart driving MEIP for the M domain and SEIP for the S
 * domain) or by MSI (`aplic-imsic`: a pending and enabled source becomes a 32-bit write of its
 * EIID to the target IMSIC file computed from the M domain's mmsicfgaddr[h] / smsicfgaddr[h]).
 *
 * Register semantics follow QEMU 7.2, including where it simplifies the spec, with one
 * exception where QEMU 7.2 contradicts it and Linux depends on the spec:
 *  - setip / setipnum on a level-sensitive source is ignored in direct mode; in MSI mode it
 *    sets it pending only while its rectified input is high, and clrip clears it (AIA 1.0
 *    §4.7; the exception, see setPending); claimi of a level-sensitive source leaves it pending while
 *    its input is still asserted;
 *  - a source line change sets pending only on the active edge / active level; lowering a
 *    level source does not clear pending;
 *  - in_clrip reads return the raw input levels;
 *  - domaincfg has only IE writable (DM is fixed by the board, BE is 0);
 *  - target writes in direct mode force a zero priority to 1;
 *  - a claimi that finds nothing (iforce) clears iforce but leaves the line up until the next
 *    register write or source change.
 * Accesses other than aligned 32-bit ones are ignored (QEMU faults them; MmioDevice never does).
 */
import type { IrqController, MmioDevice } from '../mem/device.js';

export const APLIC_M_BASE = 0x0c00_0000;
export const APLIC_S_BASE = 0x0d00_0000;
/** QEMU APLIC_SIZE(VIRT_CPUS_MAX = 512) = 0x4000 + 512 * 32. */
export const APLIC_SIZE = 0x8000;
/** QEMU VIRT_IRQCHIP_NUM_SOURCES (riscv,num-sources = 0x60). */
export const APLIC_NUM_SOURCES = 96;
/** QEMU VIRT_IRQCHIP_NUM_PRIO_BITS = 3. */
export const APLIC_IPRIO_MASK = 7;

const DOMAINCFG = 0x0000;
const DOMAINCFG_RDONLY = 0x8000_0000;
const DOMAINCFG_IE = 1 << 8;
const DOMAINCFG_DM = 1 << 2;
export const SOURCECFG_BASE = 0x0004;
export const SOURCECFG_D = 1 << 10;
const SOURCECFG_CHILDIDX_MASK = 0x3ff;
const SOURCECFG_SM_MASK = 7;
const SM_INACTIVE = 0;
const SM_EDGE_RISE = 4;
const SM_EDGE_FALL = 5;
const SM_LEVEL_HIGH = 6;
const SM_LEVEL_LOW = 7;
export const MMSICFGADDR = 0x1bc0;
export const MMSICFGADDRH = 0x1bc4;
export const SMSICFGADDR = 0x1bc8;
export const SMSICFGADDRH = 0x1bcc;
/** xmsicfgaddrH fields (AIA 1.0 §4.5.4): LHXW (bits 15:12), LHXS (bits 22:20). */
export const MSICFGADDRH_LHXW_SHIFT = 12;
export const MSICFGADDRH_LHXS_SHIFT = 20;
const MSICFGADDRH_L = 0x8000_0000;
const MSICFGADDRH_VALID = (MSICFGADDRH_L | (0x1f << 24) | (0x7 << 20) | (0x7 << 16) | (0xf << 12) | 0xfff) >>> 0;
const SETIP_BASE = 0x1c00;
const SETIPNUM = 0x1cdc;
const CLRIP_BASE = 0x1d00;
const CLRIPNUM = 0x1ddc;
const SETIE_BASE = 0x1e00;
const SETIENUM = 0x1edc;
const CLRIE_BASE = 0x1f00;
const CLRIENUM = 0x1fdc;
const SETIPNUM_LE = 0x2000;
const SETIPNUM_BE = 0x2004;
export const GENMSI = 0x3000;
export const TARGET_BASE = 0x3004;
export const TARGET_HART_SHIFT = 18;
export const TARGET_HART_MASK = 0x3fff;
export const TARGET_GUEST_SHIFT = 12;
export const TARGET_GUEST_MASK = 0x3f;
export const TARGET_EIID_MASK = 0x7ff;
export const IDC_BASE = 0x4000;
export const IDC_SIZE = 32;
const IDC_IDELIVERY = 0x00;
const IDC_IFORCE = 0x04;
const IDC_ITHRESHOLD = 0x08;
const IDC_TOPI = 0x18;
export const IDC_CLAIMI = 0x1c;

const ISTATE_PENDING = 1;
const ISTATE_ENABLED = 2;
const ISTATE_ENPEND = 3;
const ISTATE_INPUT = 1 << 8;

const WORDS = (APLIC_NUM_SOURCES + 31) >>> 5;

interface AplicState {
  domaincfg: number;
  mmsicfgaddr: number; mmsicfgaddrH: number; smsicfgaddr: number; smsicfgaddrH: number;
  genmsi: number;
  sourcecfg: number[]; state: number[]; target: number[];
  idelivery: number[]; iforce: number[]; ithreshold: number[];
  line: boolean[];
}

export class Aplic implements MmioDevice, IrqController {
  readonly name: string;
  readonly size = APLIC_SIZE;
  private domaincfg = 0;
  private mmsicfgaddr = 0;
  private mmsicfgaddrH = 0;
  private smsicfgaddr = 0;
  private smsicfgaddrH = 0;
  private genmsi = 0;
  private readonly sourcecfg = new Uint32Array(APLIC_NUM_SOURCES);
  private readonly state = new Uint32Array(APLIC_NUM_SOURCES);
  private readonly target = new Uint32Array(APLIC_NUM_SOURCES);
  private readonly idelivery: Uint32Array;
  private readonly iforce: Uint32Array;
  private readonly ithreshold: Uint32Array;
  private readonly line: boolean[];
  /** The S-level child domain (M domain only). */
  child: Aplic | null = null;

  /**
   * @param parent the M domain of an S domain (its msicfgaddr registers address the MSIs)
   * @param setLine direct mode: drive the IDC's output (MEIP of hart `idc` for M, SEIP for S)
   * @param msiWrite MSI mode: a 32-bit store of `eiid` at physical address `addr`
   */
  constructor(
    readonly base: number,
    readonly mmode: boolean,
    readonly msimode: boolean,
    readonly numHarts: number,
    readonly parent: Aplic | null,
    private readonly setLine: (idc: number, level: boolean) => void,
    private readonly msiWrite: (addr: number, eiid: number) => void,
  ) {
    this.name = mmode ? 'aplic-m' : 'aplic-s';
    this.idelivery = new Uint32Array(numHarts);
    this.iforce = new Uint32Array(numHarts);
    this.ithreshold = new Uint32Array(numHarts);
    this.line = new Array<boolean>(numHarts).fill(false);
    // QEMU riscv_aplic_realize: in direct mode every target starts with priority 1.
    if (!msimode) this.target.fill(1);
  }

  // ---------------------------------------------------------------- wired sources

  /** QEMU riscv_aplic_request: a source's input changed (only the root domain has wires). */
  setSourceLevel(irq: number, level: boolean): void {
    if (!Number.isInteger(irq) || irq <= 0 || irq >= APLIC_NUM_SOURCES) return;
    const cfg = this.sourcecfg[irq]!;
    if (cfg & SOURCECFG_D) {
      if ((cfg & SOURCECFG_CHILDIDX_MASK) === 0 && this.child !== null) this.child.setSourceLevel(irq, level);
      return;
    }
    const st = this.state[irq]!;
    let update = false;
    switch (cfg & SOURCECFG_SM_MASK) {
      case SM_EDGE_RISE: update = level && !(st & ISTATE_INPUT) && !(st & ISTATE_PENDING); break;
      case SM_EDGE_FALL: update = !level && !!(st & ISTATE_INPUT) && !(st & ISTATE_PENDING); break;
      case SM_LEVEL_HIGH: update = level && !(st & ISTATE_PENDING); break;
      case SM_LEVEL_LOW: update = !level && !(st & ISTATE_PENDING); break;
      default: break;
    }
    if (update) this.state[irq] = st | ISTATE_PENDING;
    this.state[irq] = level ? this.state[irq]! | ISTATE_INPUT : this.state[irq]! & ~ISTATE_INPUT;
    if (update) {
      if (this.msimode) this.msiUpdate(irq);
      else this.idcUpdate((this.target[irq]! >>> TARGET_HART_SHIFT) & TARGET_HART_MASK);
    }
  }

  // ---------------------------------------------------------------- inspection

  isPending(irq: number): boolean {
    return (this.state[irq]! & ISTATE_PENDING) !== 0;
  }
  idcLevel(idc: number): boolean {
    return this.line[idc] ?? false;
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, size: number): bigint {
    if (size !== 4 || (offset & 3) !== 0) return 0n;
    return BigInt(this.read32(offset) >>> 0);
  }

  write(offset: number, size: number, value: bigint): void {
    if (size !== 4 || (offset & 3) !== 0) return;
    this.write32(offset, Number(value & 0xffff_ffffn) >>> 0);
  }

  private inRange(offset: number, base: number, n: number): boolean {
    return offset >= base && offset < base + 4 * n;
  }

  private read32(a: number): number {
    const msiRegs = this.mmode && this.msimode;
    if (a === DOMAINCFG) return (DOMAINCFG_RDONLY | this.domaincfg | (this.msimode ? DOMAINCFG_DM : 0)) >>> 0;
    if (this.inRange(a, SOURCECFG_BASE, APLIC_NUM_SOURCES - 1)) return this.sourcecfg[((a - SOURCECFG_BASE) >> 2) + 1]!;
    if (msiRegs && a === MMSICFGADDR) return this.mmsicfgaddr;
    if (msiRegs && a === MMSICFGADDRH) return this.mmsicfgaddrH;
    if (msiRegs && a === SMSICFGADDR) return this.child ? this.smsicfgaddr : 0;
    if (msiRegs && a === SMSICFGADDRH) return this.child ? this.smsicfgaddrH : 0;
    if (this.inRange(a, SETIP_BASE, WORDS)) return this.bitsWord((a - SETIP_BASE) >> 2, ISTATE_PENDING);
    if (this.inRange(a, CLRIP_BASE, WORDS)) return this.bitsWord((a - CLRIP_BASE) >> 2, ISTATE_INPUT);
    if (this.inRange(a, SETIE_BASE, WORDS)) return this.bitsWord((a - SETIE_BASE) >> 2, ISTATE_ENABLED);
    if (a === GENMSI) return this.msimode ? this.genmsi : 0;
    if (this.inRange(a, TARGET_BASE, APLIC_NUM_SOURCES - 1)) return this.target[((a - TARGET_BASE) >> 2) + 1]!;
    if (!this.msimode && a >= IDC_BASE && a < IDC_BASE + this.numHarts * IDC_SIZE) {
      const idc = (a - IDC_BASE) >> 5;
      switch (a & (IDC_SIZE - 1)) {
        case IDC_IDELIVERY: return this.idelivery[idc]!;
        case IDC_IFORCE: return this.iforce[idc]!;
        case IDC_ITHRESHOLD: return this.ithreshold[idc]!;
        case IDC_TOPI: return this.topi(idc);
        case IDC_CLAIMI: return this.claimi(idc);
        default: return 0;
      }
    }
    return 0; // setipnum, clripnum, setienum, clrie*, setipnum_le/be read 0
  }

  private write32(a: number, v: number): void {
    const msiRegs = this.mmode && this.msimode;
    let idc = -1;
    if (a === DOMAINCFG) {
      this.domaincfg = v & DOMAINCFG_IE; // only IE is writable
    } else if (this.inRange(a, SOURCECFG_BASE, APLIC_NUM_SOURCES - 1)) {
      const irq = ((a - SOURCECFG_BASE) >> 2) + 1;
      if (this.child === null && v & SOURCECFG_D) v = 0;
      v = v & SOURCECFG_D ? v & (SOURCECFG_D | SOURCECFG_CHILDIDX_MASK) : v & (SOURCECFG_D | SOURCECFG_SM_MASK);
      this.sourcecfg[irq] = v;
      if (v & SOURCECFG_D || v === 0) this.state[irq] = this.state[irq]! & ~ISTATE_ENPEND;
    } else if (msiRegs && a === MMSICFGADDR) {
      if (!(this.mmsicfgaddrH & MSICFGADDRH_L)) this.mmsicfgaddr = v;
    } else if (msiRegs && a === MMSICFGADDRH) {
      if (!(this.mmsicfgaddrH & MSICFGADDRH_L)) this.mmsicfgaddrH = (v & MSICFGADDRH_VALID) >>> 0;
    } else if (msiRegs && a === SMSICFGADDR) {
      if (this.child && !(this.mmsicfgaddrH & MSICFGADDRH_L)) this.smsicfgaddr = v;
    } else if (msiRegs && a === SMSICFGADDRH) {
      if (this.child && !(this.mmsicfgaddrH & MSICFGADDRH_L)) this.smsicfgaddrH = (v & MSICFGADDRH_VALID) >>> 0;
    } else if (this.inRange(a, SETIP_BASE, WORDS)) {
      this.forBits((a - SETIP_BASE) >> 2, v, (irq) => this.setPending(irq, true));
    } else if (a === SETIPNUM || a === SETIPNUM_LE) {
      this.setPending(v, true);
    } else if (a === SETIPNUM_BE) {
      this.setPending(bswap32(v), true);
    } else if (this.inRange(a, CLRIP_BASE, WORDS)) {
      this.forBits((a - CLRIP_BASE) >> 2, v, (irq) => this.setPending(irq, false));
    } else if (a === CLRIPNUM) {
      this.setPending(v, false);
    } else if (this.inRange(a, SETIE_BASE, WORDS)) {
      this.forBits((a - SETIE_BASE) >> 2, v, (irq) => this.setEnabled(irq, true));
    } else if (a === SETIENUM) {
      this.setEnabled(v, true);
    } else if (this.inRange(a, CLRIE_BASE, WORDS)) {
      this.forBits((a - CLRIE_BASE) >> 2, v, (irq) => this.setEnabled(irq, false));
    } else if (a === CLRIENUM) {
      this.setEnabled(v, false);
    } else if (a === GENMSI) {
      if (this.msimode) {
        this.genmsi = (v & ~(TARGET_GUEST_MASK << TARGET_GUEST_SHIFT)) >>> 0;
        this.msiSend(v >>> TARGET_HART_SHIFT, 0, v & TARGET_EIID_MASK);
      }
    } else if (this.inRange(a, TARGET_BASE, APLIC_NUM_SOURCES - 1)) {
      const irq = ((a - TARGET_BASE) >> 2) + 1;
      this.target[irq] = this.msimode ? v : ((v & ~APLIC_IPRIO_MASK) | ((v & APLIC_IPRIO_MASK) || 1)) >>> 0;
    } else if (!this.msimode && a >= IDC_BASE && a < IDC_BASE + this.numHarts * IDC_SIZE) {
      idc = (a - IDC_BASE) >> 5;
      switch (a & (IDC_SIZE - 1)) {
        case IDC_IDELIVERY: this.idelivery[idc] = v & 1; break;
        case IDC_IFORCE: this.iforce[idc] = v & 1; break;
        case IDC_ITHRESHOLD: this.ithreshold[idc] = v & APLIC_IPRIO_MASK; break;
        default: return;
      }
    } else {
      return;
    }
    if (this.msimode) {
      for (let irq = 1; irq < APLIC_NUM_SOURCES; irq++) this.msiUpdate(irq);
    } else if (idc >= 0) {
      this.idcUpdate(idc);
    } else {
      for (let i = 0; i < this.numHarts; i++) this.idcUpdate(i);
    }
  }

  private bitsWord(word: number, bit: number): number {
    let r = 0;
    for (let i = 0; i < 32; i++) {
      const irq = word * 32 + i;
      if (irq === 0 || irq >= APLIC_NUM_SOURCES) continue;
      if (this.state[irq]! & bit) r |= 1 << i;
    }
    return r >>> 0;
  }

  private forBits(word: number, v: number, f: (irq: number) => void): void {
    for (let i = 0; i < 32; i++) {
      const irq = word * 32 + i;
      if (irq !== 0 && irq < APLIC_NUM_SOURCES && (v >>> i) & 1) f(irq);
    }
  }

  /** An active, non-delegated source's config (0 when inactive or delegated). */
  private activeMode(irq: number): number {
    if (irq <= 0 || irq >= APLIC_NUM_SOURCES) return SM_INACTIVE;
    const cfg = this.sourcecfg[irq]!;
    return cfg & SOURCECFG_D ? SM_INACTIVE : cfg & SOURCECFG_SM_MASK;
  }

  /**
   * setip/setipnum and in_clrip/clripnum on a source (AIA 1.0 §4.7). A level-sensitive source:
   * in direct mode software can neither set nor clear its pending bit; in MSI mode it can set
   * it only while the rectified input is high, and can clear it. Linux's APLIC-MSI driver writes
   * setipnum_le at every level EOI and relies on this (§4.9.2: "set to one again if the source
   * is still asserting an interrupt, but not if the source is not asserting an interrupt").
   *
   * Deliberately unlike QEMU 7.2 (riscv_aplic_set_pending), which in MSI mode sets a level
   * source pending whatever its input and ignores clears: on QEMU 7.2 Linux's UART interrupt
   * fires after every EOI with nothing to do until Linux disables it ("irq 11: nobody cared").
   */
  private setPending(irq: number, pending: boolean): void {
    const sm = this.activeMode(irq);
    if (sm === SM_INACTIVE) return;
    if (sm === SM_LEVEL_HIGH || sm === SM_LEVEL_LOW) {
      if (!this.msimode) return;
      const input = (this.state[irq]! & ISTATE_INPUT) !== 0;
      if (pending && input !== (sm === SM_LEVEL_HIGH)) return;
    }
    this.state[irq] = pending ? this.state[irq]! | ISTATE_PENDING : this.state[irq]! & ~ISTATE_PENDING;
  }

  private setEnabled(irq: number, enabled: boolean): void {
    if (this.activeMode(irq) === SM_INACTIVE) return;
    this.state[irq] = enabled ? this.state[irq]! | ISTATE_ENABLED : this.state[irq]! & ~ISTATE_ENABLED;
  }

  // ---------------------------------------------------------------- MSI delivery

  /** QEMU riscv_aplic_msi_send: the address from the M domain's [ms]msicfgaddr(H) (AIA §4.9.1). */
  private msiSend(hartIdx: number, guestIdx: number, eiid: number): void {
    let m: Aplic | null = this;
    while (m !== null && !m.mmode) m = m.parent;
    if (m === null) return;
    const lo = this.mmode ? m.mmsicfgaddr : m.smsicfgaddr;
    const hi = this.mmode ? m.mmsicfgaddrH : m.smsicfgaddrH;
    const lhxs = (hi >>> MSICFGADDRH_LHXS_SHIFT) & 0x7;
    const lhxw = (hi >>> MSICFGADDRH_LHXW_SHIFT) & 0xf;
    const hhxs = (hi >>> 24) & 0x1f;
    const hhxw = (hi >>> 16) & 0x7;
    const group = Math.floor(hartIdx / 2 ** lhxw);
    const hart = hartIdx % 2 ** lhxw;
    let ppn = BigInt(lo >>> 0) | (BigInt(hi & 0xfff) << 32n);
    ppn |= BigInt(group & (2 ** hhxw - 1)) << BigInt(hhxs + 12);
    ppn |= BigInt(hart) << BigInt(lhxs);
    ppn |= BigInt(guestIdx & (2 ** lhxs - 1));
    const addr = Number(ppn << 12n);
    this.msiWrite(addr, eiid);
  }

  /** QEMU riscv_aplic_msi_irq_update: a pending and enabled source is forwarded and unpended. */
  private msiUpdate(irq: number): void {
    if (!this.msimode || !(this.domaincfg & DOMAINCFG_IE)) return;
    if ((this.state[irq]! & ISTATE_ENPEND) !== ISTATE_ENPEND) return;
    this.state[irq] = this.state[irq]! & ~ISTATE_PENDING;
    const t = this.target[irq]!;
    const hartIdx = (t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK;
    const guestIdx = this.mmode ? 0 : (t >>> TARGET_GUEST_SHIFT) & TARGET_GUEST_MASK; // M ignores guest index
    this.msiSend(hartIdx, guestIdx, t & TARGET_EIID_MASK);
  }

  // ---------------------------------------------------------------- direct delivery (IDCs)

  /** QEMU riscv_aplic_idc_topi: the pending, enabled source of this IDC with the least priority number. */
  topi(idc: number): number {
    if (idc >= this.numHarts) return 0;
    const thr = this.ithreshold[idc]!;
    let bestIrq = 0;
    let bestPrio = Infinity;
    for (let irq = 1; irq < APLIC_NUM_SOURCES; irq++) {
      if ((this.state[irq]! & ISTATE_ENPEND) !== ISTATE_ENPEND) continue;
      const t = this.target[irq]!;
      if (((t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK) !== idc) continue;
      const prio = t & APLIC_IPRIO_MASK;
      if (thr !== 0 && prio >= thr) continue;
      if (prio < bestPrio) { bestIrq = irq; bestPrio = prio; }
    }
    return bestIrq !== 0 ? ((bestIrq << 16) | bestPrio) >>> 0 : 0;
  }

  private idcUpdate(idc: number): void {
    if (this.msimode || idc >= this.numHarts) return;
    const level = (this.domaincfg & DOMAINCFG_IE) !== 0 && this.idelivery[idc] !== 0 &&
      (this.iforce[idc] !== 0 || this.topi(idc) !== 0);
    if (level === this.line[idc]) return;
    this.line[idc] = level;
    this.setLine(idc, level);
  }

  /** QEMU riscv_aplic_idc_claimi: topi, and the source stops pending (unless its level still asserts). */
  private claimi(idc: number): number {
    const topi = this.topi(idc);
    if (topi === 0) {
      // QEMU 7.2 clears iforce without re-evaluating the line: it stays raised until the next
      // register write or source change updates the IDC (later QEMU versions lower it here).
      this.iforce[idc] = 0;
      return 0;
    }
    const irq = topi >>> 16;
    const sm = this.sourcecfg[irq]! & SOURCECFG_SM_MASK;
    const st = this.state[irq]!;
    let next = st & ~ISTATE_PENDING;
    if ((sm === SM_LEVEL_HIGH && st & ISTATE_INPUT) || (sm === SM_LEVEL_LOW && !(st & ISTATE_INPUT))) next |= ISTATE_PENDING;
    this.state[irq] = next;
    this.idcUpdate(idc);
    return topi;
  }

  // ---------------------------------------------------------------- checkpoints

  saveState(): AplicState {
    return {
      domaincfg: this.domaincfg,
      mmsicfgaddr: this.mmsicfgaddr, mmsicfgaddrH: this.mmsicfgaddrH,
      smsicfgaddr: this.smsicfgaddr, smsicfgaddrH: this.smsicfgaddrH, genmsi: this.genmsi,
      sourcecfg: Array.from(this.sourcecfg), state: Array.from(this.state), target: Array.from(this.target),
      idelivery: Array.from(this.idelivery), iforce: Array.from(this.iforce), ithreshold: Array.from(this.ithreshold),
      line: this.line.slice(),
    };
  }

  restoreState(state: unknown): void {
    const s = state as AplicState;
    const ok = !!s && Array.isArray(s.sourcecfg) && s.sourcecfg.length === APLIC_NUM_SOURCES &&
      Array.isArray(s.state) && s.state.length === APLIC_NUM_SOURCES &&
      Array.isArray(s.target) && s.target.length === APLIC_NUM_SOURCES &&
      Array.isArray(s.idelivery) && s.idelivery.length === this.numHarts &&
      Array.isArray(s.line) && s.line.length === this.numHarts;
    if (!ok) throw new Error(`${this.name}: checkpoint state does not match this machine`);
    this.domaincfg = s.domaincfg;
    this.mmsicfgaddr = s.mmsicfgaddr; this.mmsicfgaddrH = s.mmsicfgaddrH;
    this.smsicfgaddr = s.smsicfgaddr; this.smsicfgaddrH = s.smsicfgaddrH; this.genmsi = s.genmsi;
    this.sourcecfg.set(s.sourcecfg); this.state.set(s.state); this.target.set(s.target);
    this.idelivery.set(s.idelivery); this.iforce.set(s.iforce); this.ithreshold.set(s.ithreshold);
    for (let i = 0; i < this.numHarts; i++) this.line[i] = !!s.line[i];
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
