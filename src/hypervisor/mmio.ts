/**
 * Decoding of the instruction behind a load/store guest-page fault, for MMIO emulation.
 *
 * The hypervisor learns what the guest tried to do either from htinst (when the hart writes a
 * transformed instruction there, priv spec §8.6.3) or by fetching the instruction at sepc with
 * HLVX (hvtrace, like QEMU 7.2, writes htinst = 0 for explicit accesses). Every load and store
 * width is handled, integer and floating point, 32-bit and compressed (RVC: c.lw, c.ld, c.sw,
 * c.sd, c.lwsp, c.ldsp, c.swsp, c.sdsp, c.flw/c.fsw do not exist on RV64, c.fld, c.fsd,
 * c.fldsp, c.fsdsp). Atomics (AMO, LR/SC) are not emulated: they return null.
 */

export interface MmioInsn {
  readonly store: boolean;
  /** Access width in bytes. */
  readonly size: 1 | 2 | 4 | 8;
  /** Loads: sign-extend the value (lb, lh, lw), else zero-extend. */
  readonly signed: boolean;
  /** The register is an f register (flw/fld/fsw/fsd and their RVC forms). */
  readonly fp: boolean;
  /** rd for loads, rs2 for stores. */
  readonly reg: number;
  /** Length of the trapping instruction in bytes (sepc advances by this much). */
  readonly length: 2 | 4;
}

const SIZES = [1, 2, 4, 8] as const;

/** A 32-bit load/store (OP 0x03 LOAD, 0x07 LOAD-FP, 0x23 STORE, 0x27 STORE-FP), or null. */
function decode32(insn: number, length: 2 | 4): MmioInsn | null {
  const opcode = insn & 0x7f;
  const f3 = (insn >>> 12) & 7;
  const rd = (insn >>> 7) & 31;
  const rs2 = (insn >>> 20) & 31;
  switch (opcode) {
    case 0x03: // LB LH LW LD LBU LHU LWU
      if (f3 === 7) return null;
      return { store: false, size: SIZES[f3 & 3]!, signed: f3 < 4 && f3 !== 3, fp: false, reg: rd, length };
    case 0x23: // SB SH SW SD
      if (f3 > 3) return null;
      return { store: true, size: SIZES[f3]!, signed: false, fp: false, reg: rs2, length };
    case 0x07: // FLW FLD
      if (f3 !== 2 && f3 !== 3) return null;
      return { store: false, size: f3 === 2 ? 4 : 8, signed: false, fp: true, reg: rd, length };
    case 0x27: // FSW FSD
      if (f3 !== 2 && f3 !== 3) return null;
      return { store: true, size: f3 === 2 ? 4 : 8, signed: false, fp: true, reg: rs2, length };
    default:
      return null;
  }
}

/** A compressed load/store (unprivileged spec §16.3-16.4, RV64C), or null. */
function decode16(c: number): MmioInsn | null {
  const op = c & 3;
  const f3 = (c >>> 13) & 7;
  const rdp = 8 + ((c >>> 2) & 7); // rd' / rs2' (bits 4:2)
  const rd = (c >>> 7) & 31; // rd of the SP-relative loads (bits 11:7)
  const rs2 = (c >>> 2) & 31; // rs2 of the SP-relative stores (bits 6:2)
  if (op === 0) {
    switch (f3) {
      case 1: return { store: false, size: 8, signed: false, fp: true, reg: rdp, length: 2 }; // c.fld
      case 2: return { store: false, size: 4, signed: true, fp: false, reg: rdp, length: 2 }; // c.lw
      case 3: return { store: false, size: 8, signed: false, fp: false, reg: rdp, length: 2 }; // c.ld
      case 5: return { store: true, size: 8, signed: false, fp: true, reg: rdp, length: 2 }; // c.fsd
      case 6: return { store: true, size: 4, signed: false, fp: false, reg: rdp, length: 2 }; // c.sw
      case 7: return { store: true, size: 8, signed: false, fp: false, reg: rdp, length: 2 }; // c.sd
      default: return null;
    }
  }
  if (op === 2) {
    switch (f3) {
      case 1: return { store: false, size: 8, signed: false, fp: true, reg: rd, length: 2 }; // c.fldsp
      case 2: return rd === 0 ? null : { store: false, size: 4, signed: true, fp: false, reg: rd, length: 2 }; // c.lwsp
      case 3: return rd === 0 ? null : { store: false, size: 8, signed: false, fp: false, reg: rd, length: 2 }; // c.ldsp
      case 5: return { store: true, size: 8, signed: false, fp: true, reg: rs2, length: 2 }; // c.fsdsp
      case 6: return { store: true, size: 4, signed: false, fp: false, reg: rs2, length: 2 }; // c.swsp
      case 7: return { store: true, size: 8, signed: false, fp: false, reg: rs2, length: 2 }; // c.sdsp
      default: return null;
    }
  }
  return null;
}

/**
 * Decode the raw trapping instruction (16 bits for RVC, else 32 bits, as fetched from sepc).
 * Returns null for anything that is not a plain load or store.
 */
export function decodeMmioInsn(insn: number): MmioInsn | null {
  insn >>>= 0;
  if ((insn & 3) !== 3) return decode16(insn & 0xffff);
  return decode32(insn, 4);
}

/**
 * Decode a transformed instruction from htinst (priv spec §8.6.3): a load/store with its address
 * offset fields zeroed; bit 1 is 0 when the trapping instruction was compressed (it was
 * expanded to its 32-bit form first). Returns null for 0 (no information), for the
 * pseudoinstructions of implicit VS-stage page-table accesses (bit 0 = 0) and for anything
 * that is not a load or store.
 */
export function decodeHtinst(htinst: bigint): MmioInsn | null {
  const v = Number(BigInt.asUintN(32, htinst));
  if (v === 0 || (v & 1) === 0) return null;
  return decode32((v | 2) >>> 0, (v & 2) !== 0 ? 4 : 2);
}

/** Whether htinst holds a pseudoinstruction: the fault came from the implicit VS-stage walk. */
export function isImplicitAccessPseudo(htinst: bigint): boolean {
  const v = Number(BigInt.asUintN(32, htinst));
  return v !== 0 && (v & 1) === 0;
}

/** A loaded value as written to the destination register (sign or zero extension). */
export function extendLoad(value: bigint, d: MmioInsn): bigint {
  const bits = BigInt(d.size * 8);
  const v = BigInt.asUintN(Number(bits), value);
  if (d.fp) {
    // flw NaN-boxes the single-precision value (unprivileged spec §12.2).
    return d.size === 4 ? v | 0xffffffff00000000n : v;
  }
  return d.signed ? BigInt.asUintN(64, BigInt.asIntN(Number(bits), v)) : v;
}
