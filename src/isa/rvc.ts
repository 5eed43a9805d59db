/**
 * RV64C expansion: maps a 16-bit compressed instruction to the equivalent
 * 32-bit encoding (unprivileged spec v20191213, chapter 16 "C" Standard
 * Extension, Tables 16.4-16.7 / §16.8 RVC instruction set listings).
 *
 * Returns 0 for encodings that are reserved or illegal in RV64 (0 is itself
 * never a legal 32-bit instruction, so it is a safe sentinel).  HINT code
 * points (§16.7, Table 16.3) are legal and are expanded to their 32-bit
 * forms, which are themselves HINTs (e.g. c.nop imm!=0 -> addi x0,x0,imm,
 * c.li x0 -> addi x0,x0,imm, c.slli shamt=0 -> slli rd,rd,0).
 */

// 32-bit encoders.
const encI = (op: number, rd: number, f3: number, rs1: number, imm: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const encS = (op: number, f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op) >>> 0;
const encR = (op: number, rd: number, f3: number, rs1: number, rs2: number, f7: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const encU = (op: number, rd: number, imm: number): number => ((imm & 0xfffff000) | (rd << 7) | op) >>> 0;
const encB = (f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 12) & 1) << 31) |
    (((imm >> 5) & 0x3f) << 25) |
    (rs2 << 20) |
    (rs1 << 15) |
    (f3 << 12) |
    (((imm >> 1) & 0xf) << 8) |
    (((imm >> 11) & 1) << 7) |
    0x63) >>>
  0;
const encJ = (rd: number, imm: number): number =>
  ((((imm >> 20) & 1) << 31) |
    (((imm >> 1) & 0x3ff) << 21) |
    (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) |
    (rd << 7) |
    0x6f) >>>
  0;

const bit = (h: number, n: number): number => (h >>> n) & 1;
const bits = (h: number, hi: number, lo: number): number => (h >>> lo) & ((1 << (hi - lo + 1)) - 1);
/** Sign-extend the low `n` bits of x. */
const sext = (x: number, n: number): number => (x << (32 - n)) >> (32 - n);

// Compressed-register fields (rd'/rs1'/rs2' map to x8..x15).
const rdP = (h: number): number => 8 + bits(h, 4, 2); // also rs2'
const rs1P = (h: number): number => 8 + bits(h, 9, 7); // also rd' in CB/CA
// Full register fields.
const rdF = (h: number): number => bits(h, 11, 7);
const rs2F = (h: number): number => bits(h, 6, 2);

/** CI 6-bit signed immediate: imm[5] = inst[12], imm[4:0] = inst[6:2]. */
const ciImm = (h: number): number => sext((bit(h, 12) << 5) | bits(h, 6, 2), 6);
/** 6-bit shift amount: shamt[5] = inst[12], shamt[4:0] = inst[6:2]. */
const ciShamt = (h: number): number => (bit(h, 12) << 5) | bits(h, 6, 2);
/** CL/CS offset for word access: uimm[5:3] = inst[12:10], uimm[2] = inst[6], uimm[6] = inst[5]. */
const clwOff = (h: number): number => (bits(h, 12, 10) << 3) | (bit(h, 6) << 2) | (bit(h, 5) << 6);
/** CL/CS offset for double access: uimm[5:3] = inst[12:10], uimm[7:6] = inst[6:5]. */
const cldOff = (h: number): number => (bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6);
/** c.j / c.jal offset[11|4|9:8|10|6|7|3:1|5] = inst[12:2]. */
const cjOff = (h: number): number =>
  sext(
    (bit(h, 12) << 11) |
      (bit(h, 11) << 4) |
      (bits(h, 10, 9) << 8) |
      (bit(h, 8) << 10) |
      (bit(h, 7) << 6) |
      (bit(h, 6) << 7) |
      (bits(h, 5, 3) << 1) |
      (bit(h, 2) << 5),
    12,
  );
/** c.beqz/c.bnez offset[8|4:3] = inst[12:10], offset[7:6|2:1|5] = inst[6:2]. */
const cbOff = (h: number): number =>
  sext(
    (bit(h, 12) << 8) | (bits(h, 11, 10) << 3) | (bits(h, 6, 5) << 6) | (bits(h, 4, 3) << 1) | (bit(h, 2) << 5),
    9,
  );

export function expandCompressed(h: number): number {
  h &= 0xffff;
  const op = h & 3;
  const f3 = h >>> 13;
  switch (op) {
    case 0: {
      switch (f3) {
        case 0: {
          // c.addi4spn: addi rd', x2, nzuimm; nzuimm[5:4|9:6|2|3] = inst[12:5].
          // nzuimm == 0 is reserved (this includes the all-zero illegal instruction).
          const imm = (bits(h, 12, 11) << 4) | (bits(h, 10, 7) << 6) | (bit(h, 6) << 2) | (bit(h, 5) << 3);
          if (imm === 0) return 0;
          return encI(0x13, rdP(h), 0, 2, imm);
        }
        case 1: // c.fld
          return encI(0x07, rdP(h), 3, rs1P(h), cldOff(h));
        case 2: // c.lw
          return encI(0x03, rdP(h), 2, rs1P(h), clwOff(h));
        case 3: // c.ld (RV64)
          return encI(0x03, rdP(h), 3, rs1P(h), cldOff(h));
        case 4: // reserved
          return 0;
        case 5: // c.fsd
          return encS(0x27, 3, rs1P(h), rdP(h), cldOff(h));
        case 6: // c.sw
          return encS(0x23, 2, rs1P(h), rdP(h), clwOff(h));
        default: // 7: c.sd (RV64)
          return encS(0x23, 3, rs1P(h), rdP(h), cldOff(h));
      }
    }
    case 1: {
      const rd = rdF(h);
      switch (f3) {
        case 0: // c.addi / c.nop (imm==0 or rd==0 are HINTs, still legal)
          return encI(0x13, rd, 0, rd, ciImm(h));
        case 1: // c.addiw (RV64); rd == 0 is reserved
          if (rd === 0) return 0;
          return encI(0x1b, rd, 0, rd, ciImm(h));
        case 2: // c.li: addi rd, x0, imm (rd == 0 is a HINT)
          return encI(0x13, rd, 0, 0, ciImm(h));
        case 3: {
          if (rd === 2) {
            // c.addi16sp: nzimm[9] = inst[12], nzimm[4|6|8:7|5] = inst[6:2]; nzimm == 0 reserved.
            const imm = sext(
              (bit(h, 12) << 9) | (bit(h, 6) << 4) | (bit(h, 5) << 6) | (bits(h, 4, 3) << 7) | (bit(h, 2) << 5),
              10,
            );
            if (imm === 0) return 0;
            return encI(0x13, 2, 0, 2, imm);
          }
          // c.lui: nzimm[17] = inst[12], nzimm[16:12] = inst[6:2]; nzimm == 0 reserved,
          // rd == 0 (with nzimm != 0) is a HINT.
          const imm = ciImm(h);
          if (imm === 0) return 0;
          return encU(0x37, rd, imm << 12);
        }
        case 4: {
          const r = rs1P(h);
          switch (bits(h, 11, 10)) {
            case 0: // c.srli (shamt == 0 is a HINT in RV64C)
              return encI(0x13, r, 5, r, ciShamt(h));
            case 1: // c.srai
              return encI(0x13, r, 5, r, ciShamt(h) | 0x400);
            case 2: // c.andi
              return encI(0x13, r, 7, r, ciImm(h));
            default: {
              const r2 = rdP(h);
              const f2 = bits(h, 6, 5);
              if (bit(h, 12) === 0) {
                switch (f2) {
                  case 0: return encR(0x33, r, 0, r, r2, 0x20); // c.sub
                  case 1: return encR(0x33, r, 4, r, r2, 0); // c.xor
                  case 2: return encR(0x33, r, 6, r, r2, 0); // c.or
                  default: return encR(0x33, r, 7, r, r2, 0); // c.and
                }
              }
              switch (f2) {
                case 0: return encR(0x3b, r, 0, r, r2, 0x20); // c.subw
                case 1: return encR(0x3b, r, 0, r, r2, 0); // c.addw
                default: return 0; // reserved
              }
            }
          }
        }
        case 5: // c.j: jal x0, offset
          return encJ(0, cjOff(h));
        case 6: // c.beqz
          return encB(0, rs1P(h), 0, cbOff(h));
        default: // 7: c.bnez
          return encB(1, rs1P(h), 0, cbOff(h));
      }
    }
    case 2: {
      const rd = rdF(h);
      const r2 = rs2F(h);
      switch (f3) {
        case 0: // c.slli (rd == 0 or shamt == 0 are HINTs)
          return encI(0x13, rd, 1, rd, ciShamt(h));
        case 1: {
          // c.fldsp: uimm[5] = inst[12], uimm[4:3] = inst[6:5], uimm[8:6] = inst[4:2]
          const off = (bit(h, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6);
          return encI(0x07, rd, 3, 2, off);
        }
        case 2: {
          // c.lwsp: uimm[5] = inst[12], uimm[4:2] = inst[6:4], uimm[7:6] = inst[3:2]; rd == 0 reserved
          if (rd === 0) return 0;
          const off = (bit(h, 12) << 5) | (bits(h, 6, 4) << 2) | (bits(h, 3, 2) << 6);
          return encI(0x03, rd, 2, 2, off);
        }
        case 3: {
          // c.ldsp (RV64): offsets as c.fldsp; rd == 0 reserved
          if (rd === 0) return 0;
          const off = (bit(h, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6);
          return encI(0x03, rd, 3, 2, off);
        }
        case 4: {
          if (bit(h, 12) === 0) {
            if (r2 === 0) {
              // c.jr: jalr x0, 0(rs1); rs1 == 0 reserved
              if (rd === 0) return 0;
              return encI(0x67, 0, 0, rd, 0);
            }
            // c.mv: add rd, x0, rs2 (rd == 0 is a HINT)
            return encR(0x33, rd, 0, 0, r2, 0);
          }
          if (r2 === 0) {
            if (rd === 0) return 0x00100073; // c.ebreak
            return encI(0x67, 1, 0, rd, 0); // c.jalr: jalr x1, 0(rs1)
          }
          // c.add: add rd, rd, rs2 (rd == 0 is a HINT)
          return encR(0x33, rd, 0, rd, r2, 0);
        }
        case 5: {
          // c.fsdsp: uimm[5:3] = inst[12:10], uimm[8:6] = inst[9:7]
          const off = (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6);
          return encS(0x27, 3, 2, r2, off);
        }
        case 6: {
          // c.swsp: uimm[5:2] = inst[12:9], uimm[7:6] = inst[8:7]
          const off = (bits(h, 12, 9) << 2) | (bits(h, 8, 7) << 6);
          return encS(0x23, 2, 2, r2, off);
        }
        default: {
          // c.sdsp (RV64)
          const off = (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6);
          return encS(0x23, 3, 2, r2, off);
        }
      }
    }
    default:
      // op == 3: not a compressed instruction.
      return 0;
  }
}

/**
 * Spec mnemonic ("c.addi", "c.ldsp", ...) of a 16-bit instruction, or
 * undefined when reserved/illegal in RV64.  HINT forms get their base
 * mnemonic (e.g. c.nop with imm != 0 -> "c.nop", c.li x0 -> "c.li").
 */
export function compressedName(h: number): string | undefined {
  h &= 0xffff;
  if (expandCompressed(h) === 0) return undefined;
  const op = h & 3;
  const f3 = h >>> 13;
  if (op === 0) return ['c.addi4spn', 'c.fld', 'c.lw', 'c.ld', undefined, 'c.fsd', 'c.sw', 'c.sd'][f3];
  if (op === 1) {
    switch (f3) {
      case 0: return rdF(h) === 0 ? 'c.nop' : 'c.addi';
      case 1: return 'c.addiw';
      case 2: return 'c.li';
      case 3: return rdF(h) === 2 ? 'c.addi16sp' : 'c.lui';
      case 4: {
        const k = bits(h, 11, 10);
        if (k < 3) return ['c.srli', 'c.srai', 'c.andi'][k];
        const f2 = bits(h, 6, 5);
        return bit(h, 12) === 0 ? ['c.sub', 'c.xor', 'c.or', 'c.and'][f2] : ['c.subw', 'c.addw'][f2];
      }
      case 5: return 'c.j';
      case 6: return 'c.beqz';
      default: return 'c.bnez';
    }
  }
  if (op === 2) {
    switch (f3) {
      case 0: return 'c.slli';
      case 1: return 'c.fldsp';
      case 2: return 'c.lwsp';
      case 3: return 'c.ldsp';
      case 4: {
        const rd = rdF(h);
        const r2 = rs2F(h);
        if (bit(h, 12) === 0) return r2 === 0 ? 'c.jr' : 'c.mv';
        if (r2 === 0) return rd === 0 ? 'c.ebreak' : 'c.jalr';
        return 'c.add';
      }
      case 5: return 'c.fsdsp';
      case 6: return 'c.swsp';
      default: return 'c.sdsp';
    }
  }
  return undefined;
}
