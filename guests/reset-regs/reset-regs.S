/*
 * reset-regs: an M-mode program (--bios none) that prints, as its very first act, every integer
 * register and the machine-mode CSRs as the reset ROM left them, then powers off. Run on QEMU 7.2
 * (-bios none) and on hvtrace, the two dumps must be identical (issue 12: the reset state of
 * QEMU's MROM: a0 = hart id, a1 = DTB, a2 = fw_dynamic_info at 0x1028, t0 = the entry).
 * Only hart 0 prints; the others park.
 */
    .equ UART, 0x10000000
    .equ TESTDEV, 0x100000

    .section .text.entry, "ax"
    .globl _start
_start:
    csrw    mscratch, t6            /* the only register needed as a base: x31 via mscratch */
    lla     t6, regs
    sd      x1, 8(t6)
    sd      x2, 16(t6)
    sd      x3, 24(t6)
    sd      x4, 32(t6)
    sd      x5, 40(t6)
    sd      x6, 48(t6)
    sd      x7, 56(t6)
    sd      x8, 64(t6)
    sd      x9, 72(t6)
    sd      x10, 80(t6)
    sd      x11, 88(t6)
    sd      x12, 96(t6)
    sd      x13, 104(t6)
    sd      x14, 112(t6)
    sd      x15, 120(t6)
    sd      x16, 128(t6)
    sd      x17, 136(t6)
    sd      x18, 144(t6)
    sd      x19, 152(t6)
    sd      x20, 160(t6)
    sd      x21, 168(t6)
    sd      x22, 176(t6)
    sd      x23, 184(t6)
    sd      x24, 192(t6)
    sd      x25, 200(t6)
    sd      x26, 208(t6)
    sd      x27, 216(t6)
    sd      x28, 224(t6)
    sd      x29, 232(t6)
    sd      x30, 240(t6)
    csrr    t5, mscratch
    sd      t5, 248(t6)
    csrr    t5, minstret            /* the instructions run so far: the ROM's and these */
    sd      t5, 256(t6)
    csrr    t5, mstatus
    sd      t5, 264(t6)
    csrr    t5, misa
    sd      t5, 272(t6)
    csrr    t5, medeleg
    sd      t5, 280(t6)
    csrr    t5, mideleg
    sd      t5, 288(t6)
    csrr    t5, mie
    sd      t5, 296(t6)
    csrr    t5, mip
    sd      t5, 304(t6)
    csrr    t5, mtvec
    sd      t5, 312(t6)
    csrr    t5, mepc
    sd      t5, 320(t6)
    csrr    t5, mcause
    sd      t5, 328(t6)
    csrr    t5, satp
    sd      t5, 336(t6)
    csrr    t5, mhartid
    sd      t5, 344(t6)
    bnez    t5, park

    /* print "x<n>=<hex>\n" for n = 1..31, then the CSRs by name */
    li      s0, 1
1:  li      a0, 'x'
    call    putc
    mv      a0, s0
    call    putdec2
    li      a0, '='
    call    putc
    slli    t0, s0, 3
    add     t0, t0, t6
    ld      a0, 0(t0)
    call    puthex
    li      s1, 31
    addi    s0, s0, 1
    bleu    s0, s1, 1b
    lla     s2, csr_names
    li      s0, 32
2:  mv      a0, s2
    call    puts
    li      a0, '='
    call    putc
    slli    t0, s0, 3
    add     t0, t0, t6
    ld      a0, 0(t0)
    call    puthex
3:  lbu     t0, 0(s2)               /* next name */
    addi    s2, s2, 1
    bnez    t0, 3b
    addi    s0, s0, 1
    li      t0, 44
    bleu    s0, t0, 2b
    li      t0, TESTDEV
    li      t1, 0x5555
    sw      t1, 0(t0)
park:
    wfi
    j       park

/* putc(a0) to the UART; clobbers t0, t1 */
putc:
    li      t0, UART
1:  lbu     t1, 5(t0)
    andi    t1, t1, 0x20
    beqz    t1, 1b
    sb      a0, 0(t0)
    ret

/* puts(a0): NUL-terminated; clobbers t0-t3 */
puts:
    mv      t3, ra
    mv      t2, a0
1:  lbu     a0, 0(t2)
    beqz    a0, 2f
    call    putc
    addi    t2, t2, 1
    j       1b
2:  mv      ra, t3
    ret

/* putdec2(a0): 1-2 decimal digits */
putdec2:
    mv      t3, ra
    li      t2, 10
    bltu    a0, t2, 1f
    divu    t4, a0, t2
    remu    a0, a0, t2
    mv      t5, a0
    addi    a0, t4, '0'
    call    putc
    mv      a0, t5
1:  addi    a0, a0, '0'
    call    putc
    mv      ra, t3
    ret

/* puthex(a0): 16 hex digits and a newline */
puthex:
    mv      t3, ra
    mv      t2, a0
    li      t4, 60
1:  srl     a0, t2, t4
    andi    a0, a0, 15
    li      t5, 10
    bltu    a0, t5, 2f
    addi    a0, a0, 'a' - 10 - '0'
2:  addi    a0, a0, '0'
    call    putc
    addi    t4, t4, -4
    bgez    t4, 1b
    li      a0, '\n'
    call    putc
    mv      ra, t3
    ret

    .section .rodata
csr_names:
    .asciz "minstret"
    .asciz "mstatus"
    .asciz "misa"
    .asciz "medeleg"
    .asciz "mideleg"
    .asciz "mie"
    .asciz "mip"
    .asciz "mtvec"
    .asciz "mepc"
    .asciz "mcause"
    .asciz "satp"
    .asciz "mhartid"

    .section .data
    .balign 8
regs:
    .space 8 * 44
