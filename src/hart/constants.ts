/**
 * Architectural constants: trap causes, mstatus fields, CSR numbers.
 * Names follow the RISC-V privileged spec (v1.12, "20211203").
 */

// --- Exception causes (priv spec Table 3.6) --------------------------------
export const CAUSE_MISALIGNED_FETCH = 0;
export const CAUSE_FETCH_ACCESS = 1;
export const CAUSE_ILLEGAL_INSTRUCTION = 2;
export const CAUSE_BREAKPOINT = 3;
export const CAUSE_MISALIGNED_LOAD = 4;
export const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_MISALIGNED_STORE = 6;
export const CAUSE_STORE_ACCESS = 7;
export const CAUSE_USER_ECALL = 8;
export const CAUSE_SUPERVISOR_ECALL = 9;
export const CAUSE_VIRTUAL_SUPERVISOR_ECALL = 10;
export const CAUSE_MACHINE_ECALL = 11;
export const CAUSE_FETCH_PAGE_FAULT = 12;
export const CAUSE_LOAD_PAGE_FAULT = 13;
export const CAUSE_STORE_PAGE_FAULT = 15;
export const CAUSE_FETCH_GUEST_PAGE_FAULT = 20;
export const CAUSE_LOAD_GUEST_PAGE_FAULT = 21;
export const CAUSE_VIRTUAL_INSTRUCTION = 22;
export const CAUSE_STORE_GUEST_PAGE_FAULT = 23;

export const EXCEPTION_NAMES: Record<number, string> = {
  0: 'misaligned fetch', 1: 'fetch access fault', 2: 'illegal instruction', 3: 'breakpoint',
  4: 'misaligned load', 5: 'load access fault', 6: 'misaligned store/AMO', 7: 'store/AMO access fault',
  8: 'ecall from U', 9: 'ecall from S', 10: 'ecall from VS', 11: 'ecall from M',
  12: 'fetch page fault', 13: 'load page fault', 15: 'store/AMO page fault',
  20: 'fetch guest-page fault', 21: 'load guest-page fault', 22: 'virtual instruction',
  23: 'store/AMO guest-page fault',
};
export const INTERRUPT_NAMES: Record<number, string> = {
  1: 'S software', 2: 'VS software', 3: 'M software', 5: 'S timer', 6: 'VS timer', 7: 'M timer',
  9: 'S external', 10: 'VS external', 11: 'M external', 12: 'S guest external', 13: 'counter overflow',
};

// --- Privilege levels ------------------------------------------------------
export const PRV_U = 0;
export const PRV_S = 1;
export const PRV_M = 3;

// --- mstatus / sstatus fields (priv spec §3.1.6) — low 32 bits -------------
export const MSTATUS_SIE = 1 << 1;
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_SPIE = 1 << 5;
export const MSTATUS_UBE = 1 << 6;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_SPP = 1 << 8;
export const MSTATUS_VS = 3 << 9;
export const MSTATUS_MPP_SHIFT = 11;
export const MSTATUS_MPP = 3 << 11;
export const MSTATUS_FS_SHIFT = 13;
export const MSTATUS_FS = 3 << 13;
export const MSTATUS_XS = 3 << 15;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_SUM = 1 << 18;
export const MSTATUS_MXR = 1 << 19;
export const MSTATUS_TVM = 1 << 20;
/** xenvcfg cache-block operation enables (priv spec v1.12 §3.1.18, CMO spec v1.0.1 §2.5). */
export const ENVCFG_CBIE = 0x30n;
export const ENVCFG_CBCFE = 0x40n;
export const ENVCFG_CBZE = 0x80n;
/** The writable cache-block bits of menvcfg/senvcfg/henvcfg, with CBIE = 10 (reserved) legalized to 00. */
export function envcfgCbo(v: bigint): bigint {
  const cbie = (v & ENVCFG_CBIE) === 0x20n ? 0n : v & ENVCFG_CBIE;
  return cbie | (v & (ENVCFG_CBCFE | ENVCFG_CBZE));
}
export const MSTATUS_TW = 1 << 21;
export const MSTATUS_TSR = 1 << 22;
/** Writable low-word bits of mstatus (MBE/SBE/UBE fixed little-endian, XS/VS zero). */
export const MSTATUS_WMASK =
  MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS |
  MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
/** sstatus is a restricted view of mstatus (priv spec §4.1.1). */
export const SSTATUS_MASK =
  MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | MSTATUS_FS | MSTATUS_XS |
  MSTATUS_SUM | MSTATUS_MXR;
/**
 * mstatus bits that belong to the supervisor and are banked between HS and VS (vsstatus):
 * SIE, SPIE, UBE, SPP, VS, FS, SUM, MXR (priv spec §8.2.11).
 */
export const MSTATUS_BANKED = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_FS |
  MSTATUS_VS | MSTATUS_SUM | MSTATUS_MXR;
/** mstatus.UXL = mstatus.SXL = 2 (XLEN 64), bits 35:32 — read-only. */
export const MSTATUS_XL_HI = 0xa; // value of bits 35:32 as a high-word constant
export const FS_OFF = 0;
export const FS_DIRTY = 3;

// --- Interrupt bits (mip/mie) ---------------------------------------------
export const MIP_SSIP = 1 << 1;
export const MIP_VSSIP = 1 << 2;
export const MIP_MSIP = 1 << 3;
export const MIP_STIP = 1 << 5;
export const MIP_VSTIP = 1 << 6;
export const MIP_MTIP = 1 << 7;
export const MIP_SEIP = 1 << 9;
export const MIP_VSEIP = 1 << 10;
export const MIP_MEIP = 1 << 11;
export const MIP_SGEIP = 1 << 12;
export const MIP_LCOFIP = 1 << 13;
/**
 * Bits of mie that can hold a one (with the H extension's VSSIE/VSTIE/VSEIE/SGEIE, and LCOFIE,
 * which the mie/sie writes leave read-only zero unless the hart has Sscofpmf).
 */
export const MIE_MASK = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP |
  MIP_VSSIP | MIP_VSTIP | MIP_VSEIP | MIP_SGEIP | MIP_LCOFIP;
/** Bits of mideleg that are writable: the supervisor interrupts (and LCOFI with Sscofpmf). */
export const MIDELEG_MASK = MIP_SSIP | MIP_STIP | MIP_SEIP;
/**
 * Bits of mip that software (csrrw in M-mode) may write (priv spec §3.1.9); LCOFIP only with
 * Sscofpmf (the mip/sip writes mask it otherwise). LCOFIP is set by a counter overflow and
 * cleared by software (Sscofpmf §"Local counter overflow interrupt").
 */
export const MIP_SW_WMASK = MIP_SSIP | MIP_STIP | MIP_SEIP | MIP_LCOFIP;
/** Exceptions that can be delegated to S (everything except ecall from M). */
export const MEDELEG_MASK = 0xf0b7ff; // causes 0-10, 12, 13, 15, 20-23 (not 11: ecall from M)
/** Exceptions HS-mode can delegate to VS (§8.2.2): not 9-11 (ecalls from HS/VS/M) nor 20-23. */
export const HEDELEG_MASK = 0xb1ff;

/**
 * Interrupt priority for taking (priv spec §3.1.9, §8.4.?): MEI, MSI, MTI, SEI, SSI, STI, SGEI,
 * VSEI, VSSI, VSTI, then LCOFI (Sscofpmf: below all the standard ones, the AIA's default order).
 */
export const IRQ_PRIORITY: readonly number[] = [11, 3, 7, 9, 1, 5, 12, 10, 2, 6, 13];

// --- satp ------------------------------------------------------------------
export const SATP_MODE_BARE = 0;
export const SATP_MODE_SV39 = 8;
export const SATP_MODE_SV48 = 9;
export const SATP_MODE_SV57 = 10;
/** The satp/vsatp/hgatp MODEs implemented: Bare, Sv39, Sv48, Sv57 (x4 for hgatp). */
export function satpModeOk(mode: number): boolean {
  return mode === SATP_MODE_BARE || (mode >= SATP_MODE_SV39 && mode <= SATP_MODE_SV57);
}

// --- CSR numbers -----------------------------------------------------------
export const CSR = {
  fflags: 0x001, frm: 0x002, fcsr: 0x003,
  cycle: 0xc00, time: 0xc01, instret: 0xc02,
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, senvcfg: 0x10a,
  sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144,
  stimecmp: 0x14d, satp: 0x180,
  mvendorid: 0xf11, marchid: 0xf12, mimpid: 0xf13, mhartid: 0xf14, mconfigptr: 0xf15,
  mstatus: 0x300, misa: 0x301, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305,
  mcounteren: 0x306, menvcfg: 0x30a, mcountinhibit: 0x320, scountovf: 0xda0,
  mscratch: 0x340, mepc: 0x341, mcause: 0x342, mtval: 0x343, mip: 0x344,
  pmpcfg0: 0x3a0, pmpaddr0: 0x3b0,
  mcycle: 0xb00, minstret: 0xb02,
  tselect: 0x7a0, tdata1: 0x7a1, tdata2: 0x7a2, tdata3: 0x7a3, tinfo: 0x7a4,
  // Hypervisor extension (priv spec chapter 8)
  hstatus: 0x600, hedeleg: 0x602, hideleg: 0x603, hie: 0x604, htimedelta: 0x605,
  hcounteren: 0x606, hgeie: 0x607, henvcfg: 0x60a, htval: 0x643, hip: 0x644, hvip: 0x645,
  htinst: 0x64a, hgatp: 0x680, hgeip: 0xe12,
  vsstatus: 0x200, vsie: 0x204, vstvec: 0x205, vsscratch: 0x240, vsepc: 0x241, vscause: 0x242,
  vstval: 0x243, vsip: 0x244, vstimecmp: 0x24d, vsatp: 0x280,
  mtinst: 0x34a, mtval2: 0x34b,
} as const;

// --- hstatus fields (priv spec §8.2.1) ---------------------------------------
export const HSTATUS_VSBE = 1 << 5;
export const HSTATUS_GVA = 1 << 6;
export const HSTATUS_SPV = 1 << 7;
export const HSTATUS_SPVP = 1 << 8;
export const HSTATUS_HU = 1 << 9;
export const HSTATUS_VGEIN_SHIFT = 12;
export const HSTATUS_VTVM = 1 << 20;
export const HSTATUS_VTW = 1 << 21;
export const HSTATUS_VTSR = 1 << 22;
/** hstatus.VSXL = 2 (bits 33:32): VS-mode XLEN is 64 (read-only). */
export const HSTATUS_VSXL_HI = 0x2;
/** Writable low-word hstatus bits (VSBE fixed little-endian; GEILEN = 0 so VGEIN is 0). */
export const HSTATUS_WMASK = HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM |
  HSTATUS_VTW | HSTATUS_VTSR;

// --- mstatus high word (RV64): MPV (bit 39) and GVA (bit 38), priv spec §8.2.? -------
export const MSTATUSH_GVA = 1 << 6; // bit 38 as a bit of the high word
export const MSTATUSH_MPV = 1 << 7; // bit 39

/** VS-level interrupt bits (hip/hie/hvip/hideleg): VSSIP, VSTIP, VSEIP, SGEIP. */
export const MIP_VS_MASK = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
export const MIP_HS_MASK = MIP_VS_MASK | MIP_SGEIP;

// --- hardware performance monitor (Zihpm, priv spec §3.1.10-3.1.11) ----------
/**
 * Programmable counters implemented: mhpmcounter3..(3 + HPM_COUNT - 1), QEMU 7.2's default
 * `pmu-num` = 16 (mhpmcounter3..18). The others (19..31) and their mhpmevent/hpmcounter views
 * are read-only zero (a legal choice, §3.1.10; QEMU 7.2 raises illegal-instruction instead).
 */
export const HPM_COUNT = 16;
export const HPM_FIRST = 3;
/** Counters present: bit i for counter i (CY, IR and HPM3..18; TM has no mcountinhibit bit). */
export const HPM_MASK = (((1 << HPM_COUNT) - 1) << HPM_FIRST) >>> 0;
export const MCOUNTINHIBIT_CY = 1 << 0;
export const MCOUNTINHIBIT_IR = 1 << 2;
/** Writable mcountinhibit bits: CY, IR and the implemented HPM counters (TM is read-only zero). */
export const MCOUNTINHIBIT_WMASK = (MCOUNTINHIBIT_CY | MCOUNTINHIBIT_IR | HPM_MASK) >>> 0;
/**
 * Event selector values (mhpmevent bits 19:0, QEMU's MHPMEVENT_IDX_MASK), numbered as QEMU 7.2's
 * `enum riscv_pmu_event_idx`: HW_CPU_CYCLES counts as mcycle does (steps, the instructions
 * attempted: virtual time), HW_INSTRUCTIONS as minstret does (retired instructions). Every other
 * value (0 = no event, QEMU's TLB-miss events 0x10019/0x1001b/0x10021, anything else) counts
 * nothing: the counter holds what was written.
 */
export const HPM_EVENT_IDX_MASK = 0xfffffn;
export const HPM_EVENT_CYCLES = 1n;
export const HPM_EVENT_INSTRUCTIONS = 2n;
/**
 * Sscofpmf (priv spec ch. "Sscofpmf"): the high bits of mhpmeventN (RV64). OF is set when the
 * counter overflows (wraps from all ones to zero); an overflow raises LCOFI only if OF was clear.
 * The xINH bits stop counting of events in that mode (M, S/HS, U, VS, VU).
 */
export const HPM_EVENT_OF = 1n << 63n;
export const HPM_EVENT_MINH = 1n << 62n;
export const HPM_EVENT_SINH = 1n << 61n;
export const HPM_EVENT_UINH = 1n << 60n;
export const HPM_EVENT_VSINH = 1n << 59n;
export const HPM_EVENT_VUINH = 1n << 58n;
/** All five mode-inhibit bits. */
export const HPM_EVENT_XINH = HPM_EVENT_MINH | HPM_EVENT_SINH | HPM_EVENT_UINH | HPM_EVENT_VSINH | HPM_EVENT_VUINH;
