/**
 * Decoding for the interpreter: the encoding table (opcodes.ts) mapped to dense operation ids,
 * plus a decode cache whose entries are tagged with the raw instruction bits.
 *
 * Decoding is a pure function of the instruction bits, so the cache needs no invalidation:
 * self-modifying code, fence.i and remapped pages all stay correct. The cache is shared by
 * every hart.
 */
import { matchOpcode, immI, immS, immB, immJ, immU, type OpcodeDef } from './opcodes.js';
import { expandCompressed } from './rvc.js';
import { INSNS, F_CTRL, F_XRD } from './insns.js';

export { Op } from './op.gen.js';
import { Op } from './op.gen.js';

/**
 * Per-op data from the instruction table (insns.ts), indexed by Op (= the entry's index):
 * the dispatch class (Cls), flags (F_XRD, F_CTRL, F_RM, F_STORE, F_SIGNED, F_UIMM, F_HLVX),
 * the access size of LR/SC/AMO/HLV/HSV and the CSR or AMO operation (CsrOp, Amo). Dispatch
 * reads these, never the numeric order of Op (test/isa-table.test.ts).
 */
export const OP_CLASS = new Uint8Array(INSNS.length);
export const OP_FLAGS = new Uint8Array(INSNS.length);
export const OP_SIZE = new Uint8Array(INSNS.length);
export const OP_ARG = new Uint8Array(INSNS.length);
/** Encoding-table name -> Op, for the instructions this interpreter implements. */
export const OP_BY_NAME: Readonly<Record<string, Op>> = {};
INSNS.forEach((e, op) => {
  OP_CLASS[op] = e.cls;
  OP_FLAGS[op] = e.flags;
  OP_SIZE[op] = e.size ?? 0;
  OP_ARG[op] = e.arg ?? 0;
  if (op !== Op.ILLEGAL) (OP_BY_NAME as Record<string, Op>)[e.name] = op;
});
if (INSNS.length !== Op.COUNT) throw new Error('internal: op.gen.ts is stale (npm run build regenerates it)');
// The decode cache packs an Op into 8 bits (D_PACK).
if (INSNS.length > 256) throw new Error('internal: more than 256 ops do not fit the decode cache entry');

const opByDef = new Map<OpcodeDef, Op>();
function opFor(def: OpcodeDef): Op {
  let op = opByDef.get(def);
  if (op === undefined) {
    op = OP_BY_NAME[def.name] ?? Op.ILLEGAL;
    opByDef.set(def, op);
  }
  return op;
}

/** Ops whose rd names an integer register (a write to x0 goes to the sink register 32). */
function writesIntRd(op: Op): boolean {
  return (OP_FLAGS[op]! & F_XRD) !== 0;
}

/** Register index used for "rd = x0": writes land there and are never read. */
export const X_SINK = 32;

const CACHE_BITS = 18;
const CACHE_SIZE = 1 << CACHE_BITS;
const CACHE_MASK = CACHE_SIZE - 1;
const L2_SIZE = 1 << 16;
const L2_MASK = L2_SIZE - 1;
/** Mask of decode-cache slot indices (see DecodeCache.slotAt). */
export const DC_MASK = CACHE_MASK;

/**
 * Int32 words of one decode-cache entry, and their fields (entry k occupies data[k*4 .. k*4+3]:
 * 16 bytes, four entries per 64-byte cache line). The interpreter reads one entry per
 * instruction from a table as large as the kernel's code footprint: at 32 bytes plus a separate
 * 8-byte imm64 per entry, that read was a cache miss per instruction in the Linux boot (the tag
 * check and field loads were ~20 % of the interpreter loop's self time).
 *  IMM    the format's immediate (I/S/B/U/J; shift amount; CSR number for CSR ops), and with
 *  IMM_HI its sign: the two words are the immediate as a 64-bit value (imm64's element k * 2),
 *         so ALU-immediate ops need no number -> bigint conversion
 *  TAG    raw bits as fetched (16-bit value for RVC, 32-bit otherwise)
 *  PACK   Op id (bits 7:0), rd (13:8; X_SINK for integer x0 writes), rs1 (18:14), rs2 (23:19),
 *         P_LEN4 (a 4-byte instruction), P_CTRL (the op's F_CTRL flag)
 * The 32-bit instruction (the expansion, for RVC: fields like rm, rs3, aq/rl come from it) is
 * in the separate `ins` array, read only by the rarer instructions.
 */
export const DC_W = 4;
export const D_IMM = 0, D_IMM_HI = 1, D_TAG = 2, D_PACK = 3;
export const P_RD = 8, P_RS1 = 14, P_RS2 = 19, P_LEN4 = 1 << 24, P_CTRL = 1 << 25;

/** The fields of one decoded instruction (for the translation tiers; the interpreter reads the packed entry). */
export interface Decoded {
  readonly op: Op;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly imm: number;
  readonly imm64: bigint;
  readonly len: number;
  readonly ins: number;
}

/**
 * Decode cache. Slot = slotAt(buffer offset) or slot(raw bits); entry layout: DC_W, D_*.
 * `imm64` views the same words as `data` (the immediate at element slot * 2).
 */
export class DecodeCache {
  readonly data = new Int32Array(CACHE_SIZE * DC_W);
  readonly imm64 = new BigInt64Array(this.data.buffer);
  readonly ins = new Int32Array(CACHE_SIZE);
  /** Second level, keyed by the instruction bits (same entry layout). */
  private readonly l2 = new Int32Array(L2_SIZE * DC_W);
  private readonly l2ins = new Int32Array(L2_SIZE);

  constructor() {
    // Slot contents must always be the decode of their tag. An all-zero entry is: tag 0 (the
    // all-zero bits) decodes as ILLEGAL, and its other fields (fill would give rd = X_SINK,
    // LEN = 2) are not read for an illegal instruction. So the zeroed arrays are left
    // untouched: writing them here cost ~40 ms (first-touch page faults) per machine.
    if ((this.data[D_PACK]! & 255) !== Op.ILLEGAL) throw new Error('internal: Op.ILLEGAL must be 0');
  }

  /** Slot index for raw bits (when the instruction's address is not known). */
  static slot(raw: number): number {
    return (raw ^ (raw >>> 16) ^ (raw >>> 9)) & CACHE_MASK;
  }
  /**
   * Slot index for the instruction at buffer offset `off`: neighbouring instructions use
   * neighbouring entries (the interpreter's fetch path; measured: the hashed slot made the
   * tag check the interpreter's most expensive line, a cache miss per instruction). Any
   * slot is correct, since an entry is checked against the instruction bits in its tag.
   */
  static slotAt(off: number): number {
    return (off >>> 1) & CACHE_MASK;
  }

  /** Decode `raw` into slot `s`. */
  fill(s: number, raw: number): void {
    // Most misses are for bits decoded before (at another address, or evicted): copy those
    // from a second cache keyed by the bits, which is much cheaper than decoding.
    const hs = (raw ^ (raw >>> 16) ^ (raw >>> 9)) & L2_MASK, h = hs * DC_W;
    const l2 = this.l2, d = this.data, b = s * DC_W;
    if (l2[h + D_TAG] !== raw || raw === 0) this.l2ins[hs] = this.decode(l2, h, raw);
    d[b] = l2[h]!; d[b + 1] = l2[h + 1]!; d[b + 2] = l2[h + 2]!; d[b + 3] = l2[h + 3]!;
    this.ins[s] = this.l2ins[hs]!;
  }

  /** The decode of `raw`, cached in slot `s` (the translation tiers' view of an entry). */
  get(s: number, raw: number): Decoded {
    const d = this.data, b = s * DC_W;
    if (d[b + D_TAG] !== raw) this.fill(s, raw);
    const p = d[b + D_PACK]!;
    return {
      op: p & 255, rd: (p >>> P_RD) & 63, rs1: (p >>> P_RS1) & 31, rs2: (p >>> P_RS2) & 31,
      imm: d[b + D_IMM]!, imm64: this.imm64[s * 2]!, len: (p & P_LEN4) !== 0 ? 4 : 2, ins: this.ins[s]!,
    };
  }

  /** Decode `raw` into the entry at d[b..b+3]; returns the 32-bit instruction. */
  private decode(d: Int32Array, b: number, raw: number): number {
    const isC = (raw & 3) !== 3;
    const ins = isC ? expandCompressed(raw & 0xffff) : raw;
    const def = ins === 0 ? undefined : matchOpcode(ins);
    const op = def ? opFor(def) : Op.ILLEGAL;
    let rd = (ins >>> 7) & 31;
    if (rd === 0 && writesIntRd(op)) rd = X_SINK;
    let imm = 0;
    switch (def?.fmt) {
      case 'I': case 'LOAD': case 'JALR': case 'FLOAD': imm = immI(ins); break;
      case 'S': case 'FSTORE': imm = immS(ins); break;
      case 'B': imm = immB(ins); break;
      case 'U': imm = immU(ins); break;
      case 'J': imm = immJ(ins); break;
      case 'SHIFT': case 'SHIFTB': case 'SHIFTUW': imm = (ins >>> 20) & 63; break;
      case 'SHIFTW': case 'SHIFTBW': imm = (ins >>> 20) & 31; break;
      case 'CSR': case 'CSRI': imm = (ins >>> 20) & 0xfff; break;
      default: imm = 0;
    }
    d[b + D_IMM] = imm;
    d[b + D_IMM_HI] = imm >> 31;
    d[b + D_TAG] = raw;
    d[b + D_PACK] = op | (rd << P_RD) | (((ins >>> 15) & 31) << P_RS1) | (((ins >>> 20) & 31) << P_RS2) |
      (isC ? 0 : P_LEN4) | ((OP_FLAGS[op]! & F_CTRL) !== 0 ? P_CTRL : 0);
    return ins;
  }
}
