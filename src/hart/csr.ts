/**
 * The CSR table, in the style of QEMU's csr_ops[]: one row per CSR with who may access it
 * (`pred`), how it reads and how it writes. Privilege and read-only checks that follow from
 * the CSR number itself (priv spec §2.1: bits 11:10 read-only, bits 9:8 lowest privilege) are
 * done once in `csrAccessFault`.
 */
import type { Hart } from './hart.js';
import * as C from './constants.js';
import { PMP_COUNT } from './pmp.js';

export interface CsrDef {
  readonly name: string;
  /** Extra access condition (counter enables, FS, TVM, Sstc); false = illegal instruction. */
  readonly pred?: (h: Hart) => boolean;
  readonly read: (h: Hart) => bigint;
  /** Absent for read-only CSRs. Receives an unsigned 64-bit value. */
  readonly write?: (h: Hart, v: bigint) => void;
}

export const CSR_TABLE: (CsrDef | undefined)[] = new Array<CsrDef | undefined>(4096).fill(undefined);

/** True when the CSR number itself forbids this access at the current privilege. */
export function csrAccessFault(h: Hart, csr: number, write: boolean): boolean {
  if (write && (csr >>> 10) === 3) return true;
  return h.priv < ((csr >>> 8) & 3);
}

function def(num: number, d: CsrDef): void {
  CSR_TABLE[num] = d;
}
const u = (n: number): bigint => BigInt(n >>> 0);
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;

// ---------------------------------------------------------------- FP (§11.2)
const fsOn = (h: Hart): boolean => (h.mstatus & C.MSTATUS_FS) !== 0;
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
/** cycle/time/instret/hpmcounterN are readable below M only if enabled by mcounteren/scounteren. */
function counterEnabled(bit: number): (h: Hart) => boolean {
  return (h) => {
    if (h.priv === C.PRV_M) return true;
    if (((h.mcounteren >>> bit) & 1) === 0) return false;
    if (h.priv === C.PRV_U && ((h.scounteren >>> bit) & 1) === 0) return false;
    return true;
  };
}
def(C.CSR.cycle, { name: 'cycle', pred: counterEnabled(0), read: (h) => h.mcycleValue() });
def(C.CSR.time, { name: 'time', pred: counterEnabled(1), read: (h) => h.env.mtime(h) });
def(C.CSR.instret, { name: 'instret', pred: counterEnabled(2), read: (h) => h.minstretValue() });
for (let n = 3; n < 32; n++) {
  def(0xc00 + n, { name: `hpmcounter${n}`, pred: counterEnabled(n), read: () => 0n });
  // mhpmcounterN / mhpmeventN: implemented as read-only zero (WARL, §3.1.10).
  def(0xb00 + n, { name: `mhpmcounter${n}`, read: () => 0n, write: () => {} });
  def(0x320 + n, { name: `mhpmevent${n}`, read: () => 0n, write: () => {} });
}
def(C.CSR.mcycle, { name: 'mcycle', read: (h) => h.mcycleValue(), write: (h, v) => h.setMcycle(v) });
def(C.CSR.minstret, { name: 'minstret', read: (h) => h.minstretValue(), write: (h, v) => h.setMinstret(v) });
def(C.CSR.mcountinhibit, {
  name: 'mcountinhibit', read: (h) => u(h.mcountinhibit),
  // CY, TM and IR are read-only zero (a WARL choice): virtual time needs the counters running.
  write: (h, v) => { h.mcountinhibit = Number(v & 0xfffffff8n); },
});
def(C.CSR.mcounteren, { name: 'mcounteren', read: (h) => u(h.mcounteren), write: (h, v) => { h.mcounteren = lo32(v); } });
def(C.CSR.scounteren, { name: 'scounteren', read: (h) => u(h.scounteren), write: (h, v) => { h.scounteren = lo32(v); } });

// ------------------------------------------------------ machine information
def(C.CSR.mvendorid, { name: 'mvendorid', read: () => 0n });
def(C.CSR.marchid, { name: 'marchid', read: () => 0n });
def(C.CSR.mimpid, { name: 'mimpid', read: () => 0n });
def(C.CSR.mhartid, { name: 'mhartid', read: (h) => BigInt(h.id) });
def(C.CSR.mconfigptr, { name: 'mconfigptr', read: () => 0n });

// ------------------------------------------------------------ trap setup
def(C.CSR.mstatus, { name: 'mstatus', read: (h) => h.mstatusValue(), write: (h, v) => h.setMstatus(lo32(v)) });
def(C.CSR.misa, { name: 'misa', read: (h) => h.misa, write: () => { /* WARL: fixed */ } });
def(C.CSR.medeleg, { name: 'medeleg', read: (h) => u(h.medeleg), write: (h, v) => { h.medeleg = lo32(v) & C.MEDELEG_MASK; } });
def(C.CSR.mideleg, {
  name: 'mideleg', read: (h) => u(h.mideleg),
  write: (h, v) => { h.mideleg = lo32(v) & C.MIDELEG_MASK; h.attention = true; },
});
def(C.CSR.mie, { name: 'mie', read: (h) => u(h.mie), write: (h, v) => h.setMie(lo32(v)) });
def(C.CSR.mip, {
  name: 'mip', read: (h) => u(h.mip),
  write: (h, v) => {
    // STIP is read-only while Sstc drives it (menvcfg.STCE = 1).
    let mask = C.MIP_SW_WMASK;
    if (h.sstcEnabled()) mask &= ~C.MIP_STIP;
    h.setMipSw((h.mipSw & ~mask) | (lo32(v) & mask));
  },
});
/** xtvec: MODE 0 (direct) or 1 (vectored); other modes leave the register unchanged (as QEMU). */
function tvecWrite(set: (h: Hart, v: bigint) => void): (h: Hart, v: bigint) => void {
  return (h, v) => { if ((v & 3n) < 2n) set(h, v); };
}
def(C.CSR.mtvec, { name: 'mtvec', read: (h) => h.mtvec, write: tvecWrite((h, v) => { h.mtvec = v; }) });
def(C.CSR.menvcfg, {
  name: 'menvcfg', read: (h) => h.menvcfg,
  // FIOM (bit 0) and STCE (bit 63, Sstc) are implemented.
  write: (h, v) => { h.menvcfg = v & ((1n << 63n) | 1n); h.updateSstc(h.env.mtime(h)); },
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
      h.flushTlb();
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
      write: (h, v) => { h.pmp.writeAddr(i, v); h.flushTlb(); },
    });
  } else {
    def(C.CSR.pmpaddr0 + i, { name: `pmpaddr${i}`, read: () => 0n, write: () => {} });
  }
}

// ------------------------------------------------------- supervisor (§4.1)
def(C.CSR.sstatus, {
  name: 'sstatus',
  read: (h) => h.mstatusValue() & (BigInt(C.SSTATUS_MASK) | (3n << 32n) | (1n << 63n)),
  write: (h, v) => h.setMstatus((h.mstatus & ~C.SSTATUS_MASK) | (lo32(v) & C.SSTATUS_MASK)),
});
def(C.CSR.sie, {
  name: 'sie', read: (h) => u(h.mie & h.mideleg),
  write: (h, v) => h.setMie((h.mie & ~h.mideleg) | (lo32(v) & h.mideleg)),
});
def(C.CSR.sip, {
  name: 'sip', read: (h) => u(h.mip & h.mideleg),
  // Only SSIP is writable through sip (§4.1.3).
  write: (h, v) => {
    const mask = C.MIP_SSIP & h.mideleg;
    h.setMipSw((h.mipSw & ~mask) | (lo32(v) & mask));
  },
});
def(C.CSR.stvec, { name: 'stvec', read: (h) => h.stvec, write: tvecWrite((h, v) => { h.stvec = v; }) });
def(C.CSR.senvcfg, { name: 'senvcfg', read: (h) => h.senvcfg, write: (h, v) => { h.senvcfg = v & 1n; } });
def(C.CSR.sscratch, { name: 'sscratch', read: (h) => h.sscratch, write: (h, v) => { h.sscratch = v; } });
def(C.CSR.sepc, { name: 'sepc', read: (h) => h.sepc, write: (h, v) => { h.sepc = v & ~1n; } });
def(C.CSR.scause, { name: 'scause', read: (h) => h.scause, write: (h, v) => { h.scause = v; } });
def(C.CSR.stval, { name: 'stval', read: (h) => h.stval, write: (h, v) => { h.stval = v; } });
/** satp is illegal in S-mode while mstatus.TVM = 1 (§3.1.6.5). */
const satpOk = (h: Hart): boolean => !(h.priv === C.PRV_S && (h.mstatus & C.MSTATUS_TVM) !== 0);
def(C.CSR.satp, { name: 'satp', pred: satpOk, read: (h) => h.satp, write: (h, v) => h.setSatp(v) });
/**
 * Sstc stimecmp: below M it needs menvcfg.STCE and mcounteren.TM (Sstc spec §1.1, §2.1).
 */
const stimecmpOk = (h: Hart): boolean =>
  h.priv === C.PRV_M || (h.sstcEnabled() && (h.mcounteren & 2) !== 0);
def(C.CSR.stimecmp, {
  name: 'stimecmp', pred: stimecmpOk, read: (h) => h.stimecmp,
  write: (h, v) => { h.stimecmp = v; h.updateSstc(h.env.mtime(h)); },
});

/** Name of a CSR number ("0x7c0" when unknown). */
export function csrTableName(csr: number): string {
  return CSR_TABLE[csr]?.name ?? `0x${csr.toString(16)}`;
}
