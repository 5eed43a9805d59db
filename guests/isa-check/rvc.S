/*
 * Explicit compressed-instruction checks. rvc_test(out) executes c.* forms
 * (all explicitly spelled, so they are 16-bit) and stores results into
 * out[0..RVC_NRESULTS-1]; rvc.c compares them with expected values.
 */
    .text
    .option push
    .option rvc
    .option norelax
    .globl rvc_test
    .type rvc_test, @function
    .align 2
rvc_test:
    c.addi16sp sp, -64
    c.sdsp  s0, 0(sp)
    c.sdsp  s1, 8(sp)
    c.sdsp  ra, 16(sp)

    /* c.li / c.lui / c.addi */
    c.li    a1, -32
    c.sd    a1, 0(a0)               /* 0: -32 */
    c.lui   a2, 0xfffff
    c.sd    a2, 8(a0)               /* 1: 0xfffffffffffff000 */
    c.lui   a3, 31
    c.sd    a3, 16(a0)              /* 2: 0x1f000 */
    c.addi  a1, 31
    c.sd    a1, 24(a0)              /* 3: -1 */

    /* c.slli / c.addiw */
    c.li    a4, 1
    c.slli  a4, 31
    c.sd    a4, 32(a0)              /* 4: 0x80000000 */
    c.addiw a4, 0
    c.sd    a4, 40(a0)              /* 5: 0xffffffff80000000 (sext.w) */
    c.addiw a4, -1
    c.sd    a4, 48(a0)              /* 6: 0x7fffffff */

    /* c.slli 63 / c.srai / c.srli */
    c.li    a5, 3
    c.slli  a5, 63
    c.sd    a5, 56(a0)              /* 7: 0x8000000000000000 */
    c.mv    s0, a5
    c.srai  s0, 63
    c.sd    s0, 64(a0)              /* 8: -1 */
    c.mv    s1, a5
    c.srli  s1, 63
    c.sd    s1, 72(a0)              /* 9: 1 */
    c.srai  a5, 32
    c.sd    a5, 80(a0)              /* 10: 0xffffffff80000000 */
    c.srli  a5, 1
    c.sd    a5, 88(a0)              /* 11: 0x7fffffffc0000000 */

    /* c.andi and the CA-format ALU ops */
    c.li    s0, -1
    c.andi  s0, -32
    c.sd    s0, 96(a0)              /* 12: 0xffffffffffffffe0 */
    li      s1, 0x12345678
    c.mv    a1, s0
    c.and   a1, s1
    c.sd    a1, 104(a0)             /* 13: 0x12345660 */
    c.mv    a1, s0
    c.or    a1, s1
    c.sd    a1, 112(a0)             /* 14: 0xfffffffffffffff8 */
    c.mv    a1, s0
    c.xor   a1, s1
    c.sd    a1, 120(a0)             /* 15: 0xffffffffedcba998 */
    c.mv    a1, s1
    c.sub   a1, s0
    c.sd    a1, 128(a0)             /* 16: 0x12345698 */
    li      a2, 0x7fffffff
    c.li    a3, 1
    c.mv    a4, a2
    c.addw  a4, a3
    c.sd    a4, 136(a0)             /* 17: 0xffffffff80000000 */
    c.mv    a4, a3
    c.subw  a4, a2
    c.sd    a4, 144(a0)             /* 18: 0xffffffff80000002 */
    c.li    t0, 20
    c.li    t1, 22
    c.add   t0, t1
    c.mv    a1, t0
    c.sd    a1, 152(a0)             /* 19: 42 */

    /* loads and stores, sp-relative and register-relative */
    li      a1, 0x80000001
    c.swsp  a1, 24(sp)
    c.lwsp  a2, 24(sp)
    c.sd    a2, 160(a0)             /* 20: 0xffffffff80000001 */
    c.sdsp  a2, 32(sp)
    c.ldsp  a3, 32(sp)
    c.sd    a3, 168(a0)             /* 21: 0xffffffff80000001 */
    c.addi4spn s0, sp, 24
    c.mv    a1, s0
    c.mv    a2, sp
    c.sub   a1, a2
    c.sd    a1, 176(a0)             /* 22: 24 */
    c.li    a1, 5
    c.sw    a1, 4(s0)
    c.ld    s1, 0(s0)
    c.sd    s1, 184(a0)             /* 23: 0x0000000580000001 */
    c.lw    s1, 4(s0)
    c.sd    s1, 192(a0)             /* 24: 5 */

    /* FP loads and stores */
    li      a1, 0x400921fb54442d18
    c.sdsp  a1, 40(sp)
    c.fldsp fa0, 40(sp)
    c.fsdsp fa0, 48(sp)
    c.ldsp  a2, 48(sp)
    c.sd    a2, 200(a0)             /* 25: pi */
    c.addi4spn s1, sp, 48
    c.fld   fa1, 0(s1)
    c.fsd   fa1, 208(a0)            /* 26: pi */

    /* c.beqz / c.bnez */
    c.li    a1, 0
    c.li    a2, 0
    c.beqz  a2, 1f
    c.li    a1, 1                   /* skipped */
1:  c.bnez  a2, 2f                  /* not taken */
    c.addi  a1, 2
2:  c.li    a3, 5
    c.bnez  a3, 3f                  /* taken */
    c.addi  a1, 4                   /* skipped */
3:  c.beqz  a3, 4f                  /* not taken */
    c.addi  a1, 8
4:  c.sd    a1, 216(a0)             /* 27: 10 */

    /* c.j */
    c.li    a1, 0
    c.j     5f
    c.li    a1, 9                   /* skipped */
5:  c.addi  a1, 3
    c.sd    a1, 224(a0)             /* 28: 3 */

    /* c.jalr (link = pc + 2) / c.jr */
    lla     t0, rvc_helper
    c.jalr  t0
6:  lla     a2, 6b
    c.mv    a3, ra
    c.sub   a3, a2
    c.sd    a3, 232(a0)             /* 29: 0 (ra == address after c.jalr) */
    lla     t1, 7f
    c.jr    t1
    c.li    a1, 11                  /* skipped */
7:  c.addi  a1, 1
    c.sd    a1, 240(a0)             /* 30: 8 (7 from rvc_helper, +1) */

    /* c.addi16sp range and c.nop */
    c.mv    a1, sp
    c.addi16sp sp, -496
    c.nop
    c.mv    a2, sp
    c.addi16sp sp, 496
    c.sub   a1, a2
    c.sd    a1, 248(a0)             /* 31: 496 */

    c.ldsp  s0, 0(sp)
    c.ldsp  s1, 8(sp)
    c.ldsp  ra, 16(sp)
    c.addi16sp sp, 64
    c.jr    ra
    .size rvc_test, . - rvc_test

    .type rvc_helper, @function
rvc_helper:
    c.li    a1, 7
    c.jr    ra
    .size rvc_helper, . - rvc_helper
    .option pop
