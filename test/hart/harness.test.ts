/**
 * Self-test of the harness assembler: every encoder is checked against GNU as
 * (riscv64-unknown-elf-as -march=rv64gc, `.option norvc`, objdump'ed) so that the
 * architectural tests do not rest on a wrong encoding.
 */
import { describe, expect, it } from 'vitest';
import {
  Asm, a0, a1, a2, a3, a4, a5, a6, ra, sp, t0, t1, t2, t3, t4, s0, s1, s2, s3, zero, CSR,
  RNE, RTZ, RDN, RUP, RMM, DYN, runProgram, DATA,
} from './harness.js';

// f registers by ABI name
const ft0 = 0, ft1 = 1, ft2 = 2, ft3 = 3, fs0 = 8, fa0 = 10, fa1 = 11, fa2 = 12;

const GAS = (
  '12345537 fffff317 154000ef ff5ff06f ff8605e7 feb506e3 14029263 ff24e2e3 12b55e63 fff10503 ' +
  '7f87b403 010e6383 80b50023 00113423 fff50513 fff5b513 03f59513 02035293 4016d613 01f5951b ' +
  '0005d51b 41f5d51b 8005851b 40c58533 413954b3 40c5853b 40c5d53b 02c5a533 027372bb 0307c73b ' +
  '0ff0000f 0000100f 12000073 12b50073 30059573 f1402073 144332f3 305fd573 0030e073 7c007573 ' +
  '1005a52f 160332af 18c5a52f 19ceb3af 08b6252f 00b6352f 20b6252f 60b6352f 40b6252f 80b6252f ' +
  'a0b6352f c0b6252f e0b6352f 00452007 ff813507 0015a627 7e863c27 0020f053 00c59553 08208053 ' +
  '1020b053 1820a053 5800c053 02c5f553 12c58553 1ac58553 20208053 20209053 2020a053 28208053 ' +
  '28209053 a020a553 a0209553 a0208553 e0009553 e0008553 f0058053 e2008553 f2058053 c000f553 ' +
  'c0109553 c0208553 d005f053 c2009553 42008053 4010f053 1820f043 0001 9002 157d 47fd 852e 9432'
).split(' ');

function assembleReference(): Uint8Array {
  const a = new Asm(0);
  a.label('L0');
  a.lui(a0, 0x12345).auipc(t1, 0xfffff).jal(ra, 'L1').jal(zero, 'L0').jalr(a1, a2, -8);
  a.beq(a0, a1, 'L0').bne(t0, zero, 'L1').bltu(s1, s2, 'L0').bge(a0, a1, 'L1');
  a.lb(a0, -1, sp).ld(s0, 2040, a5).lwu(t2, 16, t3).sb(a1, -2048, a0).sd(ra, 8, sp);
  a.addi(a0, a0, -1).sltiu(a0, a1, -1).slli(a0, a1, 63).srli(t0, t1, 32).srai(a2, a3, 1);
  a.slliw(a0, a1, 31).srliw(a0, a1, 0).sraiw(a0, a1, 31).addiw(a0, a1, -2048);
  a.sub(a0, a1, a2).sra(s1, s2, s3).subw(a0, a1, a2).sraw(a0, a1, a2).mulhsu(a0, a1, a2).remuw(t0, t1, t2).divw(a4, a5, a6);
  a.fence().fence_i().sfence_vma().sfence_vma(a0, a1);
  a.csrrw(a0, CSR.mstatus, a1).csrrs(zero, CSR.mhartid, zero).csrrc(t0, CSR.sip, t1);
  a.csrrwi(a0, CSR.mtvec, 31).csrrsi(zero, CSR.fcsr, 1).csrrci(a0, 0x7c0, 0);
  a.lr_w(a0, a1).lr_d(t0, t1, 1, 1).sc_w(a0, a2, a1).sc_d(t2, t3, t4);
  a.amo('swap', 'w', a0, a1, a2).amo('add', 'd', a0, a1, a2).amo('xor', 'w', a0, a1, a2).amo('and', 'd', a0, a1, a2);
  a.amo('or', 'w', a0, a1, a2).amo('min', 'w', a0, a1, a2).amo('max', 'd', a0, a1, a2).amo('minu', 'w', a0, a1, a2);
  a.amo('maxu', 'd', a0, a1, a2);
  a.flw(ft0, 4, a0).fld(fa0, -8, sp).fsw(ft1, 12, a1).fsd(fs0, 2040, a2);
  a.fadd_s(ft0, ft1, ft2, DYN).fadd_s(fa0, fa1, fa2, RTZ).fsub_s(ft0, ft1, ft2, RNE).fmul_s(ft0, ft1, ft2, RUP);
  a.fdiv_s(ft0, ft1, ft2, RDN).fsqrt_s(ft0, ft1, RMM).fadd_d(fa0, fa1, fa2, DYN).fmul_d(fa0, fa1, fa2, RNE).fdiv_d(fa0, fa1, fa2, RNE);
  a.fsgnj_s(ft0, ft1, ft2).fsgnjn_s(ft0, ft1, ft2).fsgnjx_s(ft0, ft1, ft2).fmin_s(ft0, ft1, ft2).fmax_s(ft0, ft1, ft2);
  a.feq_s(a0, ft1, ft2).flt_s(a0, ft1, ft2).fle_s(a0, ft1, ft2).fclass_s(a0, ft1);
  a.fmv_x_w(a0, ft1).fmv_w_x(ft0, a1).fmv_x_d(a0, ft1).fmv_d_x(ft0, a1);
  a.fcvt_w_s(a0, ft1, DYN).fcvt_wu_s(a0, ft1, RTZ).fcvt_l_s(a0, ft1, RNE).fcvt_s_w(ft0, a1, DYN).fcvt_w_d(a0, ft1, RTZ);
  a.fcvt_d_s(ft0, ft1).fcvt_s_d(ft0, ft1, DYN).fmadd_s(ft0, ft1, ft2, ft3, DYN);
  a.label('L1');
  a.c_nop().c_ebreak().c_addi(a0, -1).c_li(a5, 31).c_mv(a0, a1).c_add(s0, a2);
  return a.assemble();
}

describe('harness assembler', () => {
  it('encodes like GNU as', () => {
    const bytes = assembleReference();
    const dv = new DataView(bytes.buffer);
    const got: string[] = [];
    let o = 0;
    for (const exp of GAS) {
      if (exp.length === 4) {
        got.push(dv.getUint16(o, true).toString(16).padStart(4, '0'));
        o += 2;
      } else {
        got.push(dv.getUint32(o, true).toString(16).padStart(8, '0'));
        o += 4;
      }
    }
    expect(o).toBe(bytes.length);
    expect(got).toEqual(GAS);
  });

  it('li loads arbitrary 64-bit constants and la loads label addresses', () => {
    const values = [0n, 1n, -1n, 2047n, -2048n, 2048n, 0x7ffff800n, 0x7fffffffn, -0x80000000n, 0x80000000n,
      0xffffffffn, 0x123456789abcdef0n, -0x123456789abcdef0n, 0x8000000000000000n, 0x7fffffffffffffffn,
      0x0000004000000000n, 0xffffffc000000000n, 0x100000001n, 0x800n << 40n];
    const sim = runProgram((a) => {
      values.forEach((v, i) => a.li(a0, v).sd(a0, i * 8, s1));
      a.la(a1, 'start');
    }, { regs: { [s1]: DATA } });
    expect(sim.stop).toBe('done');
    values.forEach((v, i) => expect(sim.read64(DATA + i * 8), `li 0x${v.toString(16)}`).toBe(BigInt.asUintN(64, v)));
    expect(sim.x(a1)).toBe(BigInt(sim.addr('start')));
  });
});
