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
import { INSNS, F_XRD } from './insns.js';

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

/** Fields of one decode-cache entry (entry k occupies data[k*8 .. k*8+7]: one cache line). */
export const D_TAG = 0, D_OP = 1, D_RD = 2, D_RS1 = 3, D_RS2 = 4, D_IMM = 5, D_LEN = 6, D_INS = 7;

/**
 * Decode cache. Slot = slotAt(buffer offset) or slot(raw bits); entry fields (D_*):
 *  TAG  raw bits as fetched (16-bit value for RVC, 32-bit otherwise)
 *  OP   Op id
 *  RD   destination (X_SINK for integer x0 writes)
 *  RS1, RS2
 *  IMM  the format's immediate (I/S/B/U/J; shift amount; CSR number for CSR ops)
 *  LEN  2 or 4
 *  INS  the 32-bit instruction (the expansion, for RVC): fields like rm, rs3, aq/rl come from it
 * imm64 holds IMM as a 64-bit value so ALU-immediate ops need no number -> bigint conversion.
 */
export class DecodeCache {
  readonly data = new Int32Array(CACHE_SIZE * 8);
  readonly imm64 = new BigInt64Array(CACHE_SIZE);
  /** Second level, keyed by the instruction bits (same entry layout). */
  private readonly l2 = new Int32Array(L2_SIZE * 8);
  private readonly l2imm = new BigInt64Array(L2_SIZE);

  constructor() {
    // Slot contents must always be the decode of their tag. An all-zero entry is: tag 0 (the
    // all-zero bits) decodes as ILLEGAL, and its other fields (fill would give rd = X_SINK,
    // LEN = 2) are not read for an illegal instruction. So the zeroed arrays are left
    // untouched: writing 10 MB here cost ~40 ms (first-touch page faults) per machine.
    if (this.data[D_OP] !== Op.ILLEGAL) throw new Error('internal: Op.ILLEGAL must be 0');
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
    const h = ((raw ^ (raw >>> 16) ^ (raw >>> 9)) & L2_MASK) * 8;
    const l2 = this.l2, d = this.data, b = s * 8;
    if (l2[h + D_TAG] !== raw || raw === 0) {
      this.decode(l2, h, raw);
      this.l2imm[h >>> 3] = BigInt(l2[h + D_IMM]!);
    }
    for (let k = 0; k < 8; k++) d[b + k] = l2[h + k]!;
    this.imm64[s] = this.l2imm[h >>> 3]!;
  }

  /** Decode `raw` into the 8 fields at d[b..b+7]. */
  private decode(d: Int32Array, b: number, raw: number): void {
    const isC = (raw & 3) !== 3;
    const ins = isC ? expandCompressed(raw & 0xffff) : raw;
    d[b + D_TAG] = raw;
    d[b + D_LEN] = isC ? 2 : 4;
    d[b + D_INS] = ins;
    const def = ins === 0 ? undefined : matchOpcode(ins);
    const op = def ? opFor(def) : Op.ILLEGAL;
    d[b + D_OP] = op;
    const rd = (ins >>> 7) & 31;
    d[b + D_RD] = rd === 0 && writesIntRd(op) ? X_SINK : rd;
    d[b + D_RS1] = (ins >>> 15) & 31;
    d[b + D_RS2] = (ins >>> 20) & 31;
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
  }
}
