/**
 * The CSR table, in the style of QEMU's csr_ops[]: one row per CSR with who may access it
 * (`pred`), how it reads and how it writes. Privilege and read-only checks that follow from
 * the CSR number itself (priv spec §2.1: bits 11:10 read-only, bits 9:8 lowest privilege) are
 * done once in `csrAccessFault`.
 */
import type { Hart } from './hart.js';
import * as C from './constants.js';
import { PMP_COUNT } from './pmp.js';
import { TINFO } from './trigger.js';
import { AIA_CSR_ROWS, aiaUpdateLines, hgeieWrite } from './aia.js';
import {
  hpmRead, hpmEventRead, hpmCounterWrite, hpmEventWrite, mcycleRead, minstretRead, mcycleWrite, minstretWrite,
  mcountinhibitWrite, scountovfRead,
} from './hpm.js';
export { hpmSaveState, hpmRestoreState, type HpmSnapshot } from './hpm.js';

export interface CsrDef {
  readonly name: string;
  /** Extra access condition (counter enables, FS, TVM, Sstc): CSR_OK, CSR_ILLEGAL or CSR_VIRTUAL. */
  readonly pred?: (h: Hart) => number;
  readonly read: (h: Hart) => bigint;
  /** Absent for read-only CSRs. Receives an unsigned 64-bit value. */
  readonly write?: (h: Hart, v: bigint) => void;
  /**
   * Optional number forms of read and write, for the CSR instructions' path that allocates no
   * BigInt (Hart.execSystem, taken when no observer watches): the value's low and high words
   * (int32), and a write of the value with those words (exactly when `write` exists: a
   * read-only row has readWords only). They must do exactly what `read` and `write` do
   * (test/csr-words.test.ts compares them).
   */
  readonly readWords?: (h: Hart, out: Int32Array) => void;
  readonly writeWords?: (h: Hart, lo: number, hi: number) => void;
}

export const CSR_TABLE: (CsrDef | undefined)[] = new Array<CsrDef | undefined>(4096).fill(undefined);

/** Outcomes of an access check. */
export const CSR_OK = 0;
export const CSR_ILLEGAL = 1;
/** Virtual-instruction exception (priv spec §8.6.1). */
export const CSR_VIRTUAL = 2;
const ok = (b: boolean): number => (b ? CSR_OK : CSR_ILLEGAL);

/**
 * Whether an instruction may access `csr` now (priv spec §2.1, §8.6.1): bits 11:10 = 3 are
 * read-only; bits 9:8 give the lowest privilege (0 U, 1 S, 2 hypervisor = HS, 3 M). With V = 1,
 * an access to a supervisor or hypervisor CSR above the current level that HS-mode could make
 * is a virtual-instruction exception; M-level CSRs stay illegal.
 */
export function csrAccess(h: Hart, csr: number, d: CsrDef, write: boolean): number {
  if (write && (csr >>> 10) === 3) return CSR_ILLEGAL;
  const level = (csr >>> 8) & 3;
  if (h.priv !== C.PRV_M) {
    if (!h.virt) {
      // HS-mode has the hypervisor level (2); U-mode only level 0.
      if (level > (h.priv === C.PRV_S ? 2 : 0)) return CSR_ILLEGAL;
    } else if (level > h.priv) {
      return level === 3 ? CSR_ILLEGAL : CSR_VIRTUAL;
    }
  }
  return d.pred === undefined ? CSR_OK : d.pred(h);
}

function def(num: number, d: CsrDef): void {
  CSR_TABLE[num] = d;
}
const u = (n: number): bigint => BigInt(n >>> 0);
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;

// ---------------------------------------------------------------- FP (§11.2)
const fsOn = (h: Hart): number => ok(h.fpOn());
def(C.CSR.fflags, {
  name: 'fflags', pred: fsOn, read: (h) => u(h.fflags),
  write: (h, v) => { h.fflags = Number(v & 0x1fn); h.markFsDirty(); },
});
def(C.CSR.frm, {
  name: 'frm', pred: fsOn, read: (h) => u(h.frm),
  write: (h, v) => { h.frm = Number(v & 7n); h.markFsDirty(); },
});
def(C.CSR.fcsr, {
  name: 'fcsr', pred: fsOn, read: (h) => u((h.frm << 5) | h.fflags),
  write: (h, v) => { h.fflags = Number(v & 0x1fn); h.frm = Number((v >> 5n) & 7n); h.markFsDirty(); },
});

// ------------------------------------------------- counters (Zicntr, §3.1.11)
/**
 * cycle/time/instret/hpmcounterN are readable below M only if enabled by mcounteren (else
 * illegal), with V = 1 by hcounteren, and in (V)U-mode by scounteren; a bit clear in
 * hcounteren or (for VU) scounteren while set in mcounteren is a virtual instruction (§8.6.1).
 */
function counterEnabled(bit: number): (h: Hart) => number {
  return (h) => {
    if (h.priv === C.PRV_M) return CSR_OK;
    if (((h.mcounteren >>> bit) & 1) === 0) return CSR_ILLEGAL;
    if (h.virt) {
      if (((h.hcounteren >>> bit) & 1) === 0) return CSR_VIRTUAL;
      if (h.priv === C.PRV_U && ((h.scounteren >>> bit) & 1) === 0) return CSR_VIRTUAL;
      return CSR_OK;
    }
    if (h.priv === C.PRV_U && ((h.scounteren >>> bit) & 1) === 0) return CSR_ILLEGAL;
    return CSR_OK;
  };
}
// mcycle/minstret and the HPM counters honour mcountinhibit (see the HPM section below).
def(C.CSR.cycle, { name: 'cycle', pred: counterEnabled(0), read: (h) => mcycleRead(h) });
// With V = 1 the time CSR reads time + htimedelta (§8.2.?).
def(C.CSR.time, {
  name: 'time', pred: counterEnabled(1),
  read: (h) => (h.virt ? BigInt.asUintN(64, h.env.mtime(h) + h.htimedelta) : h.env.mtime(h)),
});
def(C.CSR.instret, { name: 'instret', pred: counterEnabled(2), read: (h) => minstretRead(h) });

// ------------------- hardware performance monitor (Zihpm §3.1.10-13, Sscofpmf): src/hart/hpm.ts
const HPM_LAST = C.HPM_FIRST + C.HPM_COUNT - 1;
for (let n = 3; n < 32; n++) {
  const k = n;
  if (n > HPM_LAST) {
    // Beyond QEMU 7.2's pmu-num: read-only zero (WARL, §3.1.10).
    def(0xc00 + n, { name: `hpmcounter${n}`, pred: counterEnabled(n), read: () => 0n });
    def(0xb00 + n, { name: `mhpmcounter${n}`, read: () => 0n, write: () => {} });
    def(0x320 + n, { name: `mhpmevent${n}`, read: () => 0n, write: () => {} });
    continue;
  }
  // hpmcounterN is the unprivileged read-only view of mhpmcounterN, gated like cycle (§3.1.11,
  // §8.6.1 for the virtual-instruction cases); the H extension has no separate VS counters.
  def(0xc00 + n, { name: `hpmcounter${n}`, pred: counterEnabled(n), read: (h) => hpmRead(h, k) });
  def(0xb00 + n, { name: `mhpmcounter${n}`, read: (h) => hpmRead(h, k), write: (h, v) => hpmCounterWrite(h, k, v) });
  def(0x320 + n, { name: `mhpmevent${n}`, read: (h) => hpmEventRead(h, k), write: (h, v) => hpmEventWrite(h, k, v) });
}
def(C.CSR.mcycle, { name: 'mcycle', read: mcycleRead, write: mcycleWrite });
def(C.CSR.minstret, { name: 'minstret', read: minstretRead, write: minstretWrite });
def(C.CSR.mcountinhibit, { name: 'mcountinhibit', read: (h) => u(h.mcountinhibit), write: mcountinhibitWrite });
// scountovf (Sscofpmf): read-only OF bits; illegal without Sscofpmf (as QEMU 7.2).
def(C.CSR.scountovf, { name: 'scountovf', pred: (h) => ok(h.sscofpmf), read: scountovfRead });
def(C.CSR.mcounteren, { name: 'mcounteren', read: (h) => u(h.mcounteren), write: (h, v) => { h.mcounteren = lo32(v); } });
def(C.CSR.scounteren, { name: 'scounteren', read: (h) => u(h.scounteren), write: (h, v) => { h.scounteren = lo32(v); } });

// ------------------------------------------------------ machine information
def(C.CSR.mvendorid, { name: 'mvendorid', read: () => 0n });
def(C.CSR.marchid, { name: 'marchid', read: () => 0n });
def(C.CSR.mimpid, { name: 'mimpid', read: () => 0n });
def(C.CSR.mhartid, { name: 'mhartid', read: (h) => BigInt(h.id) });
def(C.CSR.mconfigptr, { name: 'mconfigptr', read: () => 0n });

// ------------------------------------------------------------ trap setup
def(C.CSR.mstatus, {
  name: 'mstatus', read: (h) => h.mstatusArch(),
  write: (h, v) => {
    if (h.virt) {
      // Only native code can write mstatus while V = 1: the S bits go to HS's banked copy.
      const m = C.MSTATUS_BANKED;
      h.other.status = (h.other.status & ~m) | (lo32(v) & m & C.MSTATUS_WMASK);
      h.setMstatus((h.mstatus & m) | (lo32(v) & ~m));
    } else {
      h.setMstatus(lo32(v));
    }
    h.setMstatusH(Number((v >> 32n) & 0xffn));
  },
});
def(C.CSR.misa, { name: 'misa', read: (h) => h.misa, write: () => { /* WARL: fixed */ } });
def(C.CSR.medeleg, { name: 'medeleg', read: (h) => u(h.medeleg), write: (h, v) => { h.medeleg = lo32(v) & C.MEDELEG_MASK; } });
// The VS-level interrupts and SGEI are always delegated (read-only one, §8.4.?; QEMU 7.2 too).
// LCOFI (interrupt 13) exists only with Sscofpmf: its mideleg, mie and mip bits are read-only
// zero otherwise. It is delegable to S and set/cleared by software in mip/sip (Sscofpmf).
const lcofi = (h: Hart): number => (h.sscofpmf ? C.MIP_LCOFIP : 0);
def(C.CSR.mideleg, {
  name: 'mideleg', read: (h) => u(h.mideleg),
  write: (h, v) => { h.mideleg = (lo32(v) & (C.MIDELEG_MASK | lcofi(h))) | C.MIP_HS_MASK; h.attention = true; },
});
def(C.CSR.mie, { name: 'mie', read: (h) => u(h.mie), write: (h, v) => h.setMie(lo32(v) & ~(C.MIP_LCOFIP & ~lcofi(h))) });
def(C.CSR.mip, {
  name: 'mip', read: (h) => u(h.mip),
  write: (h, v) => {
    // STIP is read-only while Sstc drives it (menvcfg.STCE = 1).
    let mask = C.MIP_SW_WMASK & ~(C.MIP_LCOFIP & ~lcofi(h));
    if (h.sstcEnabled()) mask &= ~C.MIP_STIP;
    h.setMipSw((h.mipSw & ~mask) | (lo32(v) & mask));
    // mip.VSSIP is an alias of hvip.VSSIP (§8.2.?).
    h.setHvip((h.hvip & ~C.MIP_VSSIP) | (lo32(v) & C.MIP_VSSIP));
  },
});
/** xtvec: MODE 0 (direct) or 1 (vectored); other modes leave the register unchanged (as QEMU). */
function tvecWrite(set: (h: Hart, v: bigint) => void): (h: Hart, v: bigint) => void {
  return (h, v) => { if ((v & 3n) < 2n) set(h, v); };
}
def(C.CSR.mtvec, { name: 'mtvec', read: (h) => h.mtvec, write: tvecWrite((h, v) => { h.mtvec = v; }) });
def(C.CSR.menvcfg, {
  name: 'menvcfg', read: (h) => h.menvcfg,
  // FIOM (bit 0), the cache-block enables (Zicbom/Zicboz), PBMTE (bit 62, Svpbmt) and STCE (bit
  // 63, Sstc) are implemented.
  write: (h, v) => {
    h.menvcfg = (v & ((3n << 62n) | 1n)) | C.envcfgCbo(v);
    h.envcfgChanged(); h.updateSstc(h.env.mtime(h)); h.timerChanged();
  },
});
def(C.CSR.mscratch, { name: 'mscratch', read: (h) => h.mscratch, write: (h, v) => { h.mscratch = v; } });
// xepc: bit 0 is always zero with IALIGN = 16 (§3.1.14).
def(C.CSR.mepc, { name: 'mepc', read: (h) => h.mepc, write: (h, v) => { h.mepc = v & ~1n; } });
def(C.CSR.mcause, { name: 'mcause', read: (h) => h.mcause, write: (h, v) => { h.mcause = v; } });
def(C.CSR.mtval, { name: 'mtval', read: (h) => h.mtval, write: (h, v) => { h.mtval = v; } });

// ---------------------------------------------------------------- PMP (§3.7)
for (let k = 0; k < PMP_COUNT / 8; k++) {
  // RV64: only even pmpcfg registers exist, each holding 8 entries.
  const num = C.CSR.pmpcfg0 + 2 * k;
  def(num, {
    name: `pmpcfg${2 * k}`,
    read: (h) => {
      let v = 0n;
      for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(h.pmp.cfg[k * 8 + i]!);
      return v;
    },
    write: (h, v) => {
      for (let i = 0; i < 8; i++) h.pmp.writeCfg(k * 8 + i, Number((v >> BigInt(8 * i)) & 0xffn));
      h.flushAllTlb();
    },
  });
}
for (let k = 2 * (PMP_COUNT / 8); k < 16; k += 2) {
  def(C.CSR.pmpcfg0 + k, { name: `pmpcfg${k}`, read: () => 0n, write: () => {} });
}
for (let i = 0; i < 64; i++) {
  if (i < PMP_COUNT) {
    def(C.CSR.pmpaddr0 + i, {
      name: `pmpaddr${i}`, read: (h) => h.pmp.readAddr(i),
      write: (h, v) => { h.pmp.writeAddr(i, v); h.flushAllTlb(); },
    });
  } else {
    def(C.CSR.pmpaddr0 + i, { name: `pmpaddr${i}`, read: () => 0n, write: () => {} });
  }
}

// ------------------------------------------------------- supervisor (§4.1)
/** The supervisor interrupts sip/sie show in HS-mode (VS bits are in hip/hie instead; LCOFI only if delegated). */
const S_IRQS = C.MIP_SSIP | C.MIP_STIP | C.MIP_SEIP | C.MIP_LCOFIP;
/** vsip / vsie: the VS bits of hip/hie delegated by hideleg, shifted down one (VSSIP -> SSIP). */
const vsipRead = (h: Hart): bigint => u((h.mip & h.hideleg & C.MIP_VS_MASK) >>> 1);
const vsieRead = (h: Hart): bigint => u((h.mie & h.hideleg & C.MIP_VS_MASK) >>> 1);
function vsipWrite(h: Hart, v: bigint): void {
  // Only SSIP (-> hvip.VSSIP) is writable through vsip.
  const mask = C.MIP_VSSIP & h.hideleg;
  h.setHvip((h.hvip & ~mask) | ((lo32(v) << 1) & mask));
}
function vsieWrite(h: Hart, v: bigint): void {
  const mask = C.MIP_VS_MASK & h.hideleg;
  h.setMie((h.mie & ~mask) | ((lo32(v) << 1) & mask));
}
/** What sstatus shows of mstatus: the S bits, UXL and SD (§4.1.1). A constant: Linux reads and
 * writes sstatus thousands of times per boot (SUM around user accesses, SIE), and building the
 * mask on each read was ~1 % of a boot, ~3 % of a recording (which reads it twice per write). */
const SSTATUS_READ_MASK = BigInt(C.SSTATUS_MASK) | (3n << 32n) | (1n << 63n);
const HSTATUS_VSXL = BigInt(C.HSTATUS_VSXL_HI) << 32n;
def(C.CSR.sstatus, {
  name: 'sstatus',
  read: (h) => h.mstatusValue() & SSTATUS_READ_MASK,
  write: (h, v) => h.setMstatus((h.mstatus & ~C.SSTATUS_MASK) | (lo32(v) & C.SSTATUS_MASK)),
  // The same as words: Linux's csrr/csrs/csrc of sstatus (SUM, SIE) allocated ~11 MB of
  // BigInts per boot through mstatusValue.
  readWords: (h, out) => {
    out[0] = h.mstatus & C.SSTATUS_MASK;
    // UXL (bits 33:32) from MSTATUS_XL_HI; SD (bit 63) while FS is Dirty, as mstatusValue.
    out[1] = (C.MSTATUS_XL_HI & 3) | ((((h.mstatus & C.MSTATUS_FS) >>> C.MSTATUS_FS_SHIFT) === C.FS_DIRTY) ? 1 << 31 : 0);
  },
  writeWords: (h, lo) => h.setMstatus((h.mstatus & ~C.SSTATUS_MASK) | (lo & C.SSTATUS_MASK)),
});
// With V = 1, sie/sip are vsie/vsip (§8.2.?).
def(C.CSR.sie, {
  name: 'sie', read: (h) => (h.virt ? vsieRead(h) : u(h.mie & h.mideleg & S_IRQS)),
  write: (h, v) => {
    if (h.virt) return vsieWrite(h, v);
    const mask = h.mideleg & S_IRQS;
    h.setMie((h.mie & ~mask) | (lo32(v) & mask));
  },
});
def(C.CSR.sip, {
  name: 'sip', read: (h) => (h.virt ? vsipRead(h) : u(h.mip & h.mideleg & S_IRQS)),
  // Only SSIP (and LCOFIP, Sscofpmf) is writable through sip (§4.1.3).
  write: (h, v) => {
    if (h.virt) return vsipWrite(h, v);
    const mask = (C.MIP_SSIP | C.MIP_LCOFIP) & h.mideleg;
    h.setMipSw((h.mipSw & ~mask) | (lo32(v) & mask));
  },
});
def(C.CSR.stvec, { name: 'stvec', read: (h) => h.stvec, write: tvecWrite((h, v) => { h.stvec = v; }) });
def(C.CSR.senvcfg, { name: 'senvcfg', read: (h) => h.senvcfg, write: (h, v) => { h.senvcfg = (v & 1n) | C.envcfgCbo(v); } });
def(C.CSR.sscratch, { name: 'sscratch', read: (h) => h.sscratch, write: (h, v) => { h.sscratch = v; } });
def(C.CSR.sepc, { name: 'sepc', read: (h) => h.sepc, write: (h, v) => { h.sepc = v & ~1n; } });
def(C.CSR.scause, { name: 'scause', read: (h) => h.scause, write: (h, v) => { h.scause = v; } });
def(C.CSR.stval, { name: 'stval', read: (h) => h.stval, write: (h, v) => { h.stval = v; } });
/** satp is illegal in HS-mode while mstatus.TVM = 1 (§3.1.6.5); in VS-mode hstatus.VTVM makes it virtual. */
const satpOk = (h: Hart): number => {
  if (h.priv !== C.PRV_S) return CSR_OK;
  if (h.virt) return (h.hstatus & C.HSTATUS_VTVM) !== 0 ? CSR_VIRTUAL : CSR_OK;
  return ok((h.mstatus & C.MSTATUS_TVM) === 0);
};
def(C.CSR.satp, { name: 'satp', pred: satpOk, read: (h) => h.satp, write: (h, v) => h.setSatp(v) });
/**
 * Sstc stimecmp: below M it needs menvcfg.STCE and mcounteren.TM (Sstc spec §1.1, §2.1).
 */
const stimecmpOk = (h: Hart): number => {
  if (h.priv === C.PRV_M) return CSR_OK;
  if (!(h.sstcEnabled() && (h.mcounteren & 2) !== 0)) return CSR_ILLEGAL;
  // With V = 1 stimecmp is vstimecmp, which needs henvcfg.STCE and hcounteren.TM.
  if (h.virt && !((h.henvcfg >> 63n) !== 0n && (h.hcounteren & 2) !== 0)) return CSR_VIRTUAL;
  return CSR_OK;
};
def(C.CSR.stimecmp, {
  name: 'stimecmp', pred: stimecmpOk, read: (h) => (h.virt ? h.vstimecmp : h.stimecmp),
  write: (h, v) => {
    if (h.virt) h.vstimecmp = v;
    else h.stimecmp = v;
    h.updateSstc(h.env.mtime(h)); h.timerChanged();
  },
});

// ------------------------------------------------ hypervisor (§8.2) ------
def(C.CSR.hstatus, {
  name: 'hstatus', read: (h) => u(h.hstatus) | HSTATUS_VSXL,
  write: (h, v) => {
    // With IMSICs VGEIN is writable, as QEMU 7.2 keeps it; it selects the guest file for VSEIP.
    h.hstatus = lo32(v) & (h.aia ? C.HSTATUS_WMASK | (0x3f << C.HSTATUS_VGEIN_SHIFT) : C.HSTATUS_WMASK);
    h.attention = true;
    aiaUpdateLines(h);
  },
});
// hedeleg: ecalls from HS/VS/M and the guest-page and virtual-instruction faults stay in HS (§8.2.2).
def(C.CSR.hedeleg, { name: 'hedeleg', read: (h) => u(h.hedeleg), write: (h, v) => { h.hedeleg = lo32(v) & C.HEDELEG_MASK; } });
def(C.CSR.hideleg, {
  name: 'hideleg', read: (h) => u(h.hideleg),
  write: (h, v) => { h.hideleg = lo32(v) & C.MIP_VS_MASK; h.attention = true; },
});
def(C.CSR.hie, {
  name: 'hie', read: (h) => u(h.mie & C.MIP_HS_MASK),
  write: (h, v) => h.setMie((h.mie & ~C.MIP_HS_MASK) | (lo32(v) & C.MIP_HS_MASK)),
});
def(C.CSR.hip, {
  name: 'hip', read: (h) => u(h.mip & C.MIP_HS_MASK),
  // Only VSSIP (an alias of hvip.VSSIP) is writable in hip.
  write: (h, v) => h.setHvip((h.hvip & ~C.MIP_VSSIP) | (lo32(v) & C.MIP_VSSIP)),
});
def(C.CSR.hvip, { name: 'hvip', read: (h) => u(h.hvip), write: (h, v) => h.setHvip(lo32(v)) });
def(C.CSR.hcounteren, { name: 'hcounteren', read: (h) => u(h.hcounteren), write: (h, v) => { h.hcounteren = lo32(v); } });
def(C.CSR.htimedelta, {
  name: 'htimedelta', read: (h) => h.htimedelta,
  write: (h, v) => { h.htimedelta = v; h.updateSstc(h.env.mtime(h)); h.timerChanged(); },
});
// hgeie/hgeip: GEILEN is the IMSIC's guest file count (src/hart/aia.ts); without IMSICs 0, both zero.
def(C.CSR.hgeie, { name: 'hgeie', read: (h) => u(h.aia?.hgeie ?? 0), write: (h, v) => { if (h.aia) hgeieWrite(h, h.aia, v); } });
def(C.CSR.hgeip, { name: 'hgeip', read: (h) => u(h.aia?.hgeip ?? 0) });
// Smaia/Ssaia (only with IMSICs, --aia aplic-imsic): src/hart/aia.ts.
for (const r of AIA_CSR_ROWS) def(r.num, r);
def(C.CSR.htval, { name: 'htval', read: (h) => h.htval, write: (h, v) => { h.htval = v; } });
def(C.CSR.htinst, { name: 'htinst', read: (h) => h.htinst, write: (h, v) => { h.htinst = v; } });
/** hgatp is illegal in HS-mode while mstatus.TVM = 1 (§8.2.18). */
def(C.CSR.hgatp, {
  name: 'hgatp', pred: (h) => ok(!(h.priv === C.PRV_S && (h.mstatus & C.MSTATUS_TVM) !== 0)),
  read: (h) => h.hgatp, write: (h, v) => h.setHgatp(v),
});
// henvcfg: FIOM, the cache-block enables, PBMTE and STCE; STCE is read-only zero while
// menvcfg.STCE = 0 (Sstc §2.2). PBMTE is writable whatever menvcfg.PBMTE is (as QEMU 7.2); the VS
// stage uses PBMT only when both are set.
def(C.CSR.henvcfg, {
  name: 'henvcfg', read: (h) => h.henvcfg,
  write: (h, v) => {
    h.henvcfg = (v & ((h.sstcEnabled() ? 1n << 63n : 0n) | (1n << 62n) | 1n)) | C.envcfgCbo(v);
    h.envcfgChanged(); h.updateSstc(h.env.mtime(h)); h.timerChanged();
  },
});

// ---------------------------------------------- VS CSRs (§8.2.10-) -------
/** vsstatus in sstatus layout: UXL = 2 (bits 33:32), SD from FS. */
function vsstatusRead(h: Hart): bigint {
  const st = h.vsStatus() & C.SSTATUS_MASK;
  let v = u(st) | (2n << 32n);
  if (((st & C.MSTATUS_FS) >>> C.MSTATUS_FS_SHIFT) === C.FS_DIRTY) v |= 1n << 63n;
  return v;
}
const VS_WMASK = C.SSTATUS_MASK & ~(C.MSTATUS_UBE | C.MSTATUS_VS | C.MSTATUS_XS);
def(C.CSR.vsstatus, {
  name: 'vsstatus', read: vsstatusRead,
  write: (h, v) => {
    const n = lo32(v) & VS_WMASK;
    if (h.virt) h.setMstatus((h.mstatus & ~VS_WMASK) | n);
    else { h.other.status = (h.other.status & ~VS_WMASK) | n; h.flushTlb(); }
  },
});
def(C.CSR.vsie, { name: 'vsie', read: vsieRead, write: vsieWrite });
def(C.CSR.vsip, { name: 'vsip', read: vsipRead, write: vsipWrite });
/** A VS CSR that substitutes for supervisor CSR `key` while V = 1. */
function vsReg(num: number, name: string, key: 'stvec' | 'sscratch' | 'sepc' | 'scause' | 'stval', legal: (v: bigint) => bigint | null): void {
  def(num, {
    name,
    read: (h) => (h.virt ? h[key] : h.other[key]),
    write: (h, v) => {
      const n = legal(v);
      if (n === null) return;
      if (h.virt) h[key] = n;
      else h.other[key] = n;
    },
  });
}
vsReg(C.CSR.vstvec, 'vstvec', 'stvec', (v) => ((v & 3n) < 2n ? v : null));
vsReg(C.CSR.vsscratch, 'vsscratch', 'sscratch', (v) => v);
vsReg(C.CSR.vsepc, 'vsepc', 'sepc', (v) => v & ~1n);
vsReg(C.CSR.vscause, 'vscause', 'scause', (v) => v);
vsReg(C.CSR.vstval, 'vstval', 'stval', (v) => v);
def(C.CSR.vsatp, {
  name: 'vsatp', read: (h) => h.vsatpValue(),
  write: (h, v) => {
    if (h.virt) { h.setSatp(v); return; }
    const mode = Number(v >> 60n);
    if (!C.satpModeOk(mode)) return;
    h.other.satp = BigInt.asUintN(64, v);
    h.flushTlb();
  },
});
def(C.CSR.vstimecmp, {
  name: 'vstimecmp', pred: (h) => ok(h.priv === C.PRV_M || h.sstcEnabled()),
  read: (h) => h.vstimecmp,
  write: (h, v) => { h.vstimecmp = v; h.updateSstc(h.env.mtime(h)); h.timerChanged(); },
});
def(C.CSR.mtval2, { name: 'mtval2', read: (h) => h.mtval2, write: (h, v) => { h.mtval2 = v; } });
def(C.CSR.mtinst, { name: 'mtinst', read: (h) => h.mtinst, write: (h, v) => { h.mtinst = v; } });

// ------------------------------------------- Sdtrig triggers (trigger.ts) -------
// M-mode only (their numbers, 0x7a0-0x7a4, are M-level: illegal below M, also with V = 1).
// A write that may arm or disarm a trigger flushes the TLBs: pages where an armed trigger can
// match must leave the fast paths (and may come back once it is disarmed).
function trigChanged(h: Hart): void {
  h.trigArmed = h.trig.armed;
  h.flushTlb();
}
def(C.CSR.tselect, { name: 'tselect', read: (h) => BigInt(h.trig.select), write: (h, v) => h.trig.writeSelect(v) });
def(C.CSR.tdata1, {
  name: 'tdata1', read: (h) => h.trig.tdata1[h.trig.select]!,
  write: (h, v) => { h.trig.writeTdata1(v); trigChanged(h); },
});
def(C.CSR.tdata2, {
  name: 'tdata2', read: (h) => h.trig.tdata2[h.trig.select]!,
  write: (h, v) => { h.trig.writeTdata2(v); trigChanged(h); },
});
// tdata3 (textra): none of its match conditions are implemented; it reads zero (QEMU 7.2).
def(C.CSR.tdata3, { name: 'tdata3', read: () => 0n, write: () => {} });
def(C.CSR.tinfo, { name: 'tinfo', read: () => TINFO, write: () => {} });

/** Name of a CSR number ("0x7c0" when unknown). */
export function csrTableName(csr: number): string {
  return CSR_TABLE[csr]?.name ?? `0x${csr.toString(16)}`;
}
