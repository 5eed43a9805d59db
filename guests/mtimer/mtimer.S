/*
 * mtimer: an M-mode program (run with `--bios none`, as QEMU `-bios none`) whose timer handler
 * moves mtimecmp into the future, the usual pattern (issue 12). Every interrupt it takes must be
 * a real one: the handler counts those where mtime < mtimecmp at entry (spurious). After
 * ITERATIONS turns of its main loop it prints the two counts on the UART and powers off through
 * the SiFive test device. QEMU 7.2 with -icount shift=0 takes the same number of interrupts.
 */
    .equ CLINT_MTIMECMP0, 0x2004000
    .equ CLINT_MTIME, 0x200bff8
    .equ UART, 0x10000000
    .equ TESTDEV, 0x100000
    .equ PERIOD, 100                /* ticks: 10000 instructions */
    .equ ITERATIONS, 1000000        /* 2 instructions each */

    .section .text.entry, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    lla     t0, handler
    csrw    mtvec, t0
    li      s1, 0                   /* interrupts */
    li      s2, 0                   /* spurious ones */
    li      s3, CLINT_MTIMECMP0
    li      s4, CLINT_MTIME
    ld      t0, 0(s4)
    addi    t0, t0, PERIOD
    sd      t0, 0(s3)
    li      t0, 0x80                /* mie.MTIE */
    csrw    mie, t0
    csrsi   mstatus, 8              /* mstatus.MIE */
    li      s5, ITERATIONS
1:  addi    s5, s5, -1
    bnez    s5, 1b
    csrci   mstatus, 8
    /* "mtimer: <interrupts> interrupts, <spurious> spurious\n" */
    lla     a0, msg_head
    call    puts
    mv      a0, s1
    call    putdec
    lla     a0, msg_mid
    call    puts
    mv      a0, s2
    call    putdec
    lla     a0, msg_tail
    call    puts
    li      t0, TESTDEV
    li      t1, 0x5555              /* poweroff */
    sw      t1, 0(t0)
park:
    wfi
    j       park

    .balign 4
handler:
    addi    s1, s1, 1
    ld      t0, 0(s4)               /* mtime */
    ld      t1, 0(s3)               /* mtimecmp */
    bgeu    t0, t1, 1f
    addi    s2, s2, 1               /* mtime < mtimecmp: the interrupt was not pending */
1:  addi    t0, t0, PERIOD
    sd      t0, 0(s3)               /* mtimecmp = mtime + PERIOD: MTIP drops now */
    mret

/* puts(a0): NUL-terminated string to the UART (THR, polling LSR.THRE). */
puts:
    li      t0, UART
1:  lbu     t1, 0(a0)
    beqz    t1, 3f
2:  lbu     t2, 5(t0)
    andi    t2, t2, 0x20
    beqz    t2, 2b
    sb      t1, 0(t0)
    addi    a0, a0, 1
    j       1b
3:  ret

/* putdec(a0): unsigned decimal (uses the buffer below). */
putdec:
    mv      t3, ra
    lla     t4, decbuf_end
    sb      zero, 0(t4)
    li      t5, 10
1:  addi    t4, t4, -1
    remu    t6, a0, t5
    addi    t6, t6, '0'
    sb      t6, 0(t4)
    divu    a0, a0, t5
    bnez    a0, 1b
    mv      a0, t4
    call    puts
    mv      ra, t3
    ret

    .section .rodata
msg_head: .asciz "mtimer: "
msg_mid:  .asciz " interrupts, "
msg_tail: .asciz " spurious\n"

    .section .data
decbuf:   .space 24
decbuf_end: .byte 0
