/*
 * intloop: the tight integer loop of issue 17's benchmark (`npm run bench`): 50,000,000 turns of
 * an 11-instruction loop (ld, add, mul, xor, shift, xor, sd, address step and wrap, count,
 * branch) over eight doublewords, 550 M instructions in M-mode with no paging (run with
 * `--bios none`, as QEMU `-bios none`). It prints the final hash on the UART and powers off
 * through the SiFive test device; QEMU 7.2 prints the same line.
 */
    .equ UART, 0x10000000
    .equ TESTDEV, 0x100000
    .equ TURNS, 50000000

    .section .text.entry, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    lla     s0, buf                 /* page aligned: bit 6 of the address is 0 */
    mv      s3, s0
    li      s1, TURNS
    li      a0, 0x243f6a8885a308d3  /* running hash */
    li      a1, 0x100000001b3       /* multiplier (FNV-1a 64 prime) */
1:  ld      t0, 0(s3)
    add     t0, t0, a0
    mul     t1, t0, a1
    xor     a0, a0, t1
    srli    t2, a0, 29
    xor     a0, a0, t2
    sd      a0, 0(s3)
    addi    s3, s3, 8
    andi    s3, s3, -65             /* buf + 64 -> buf */
    addi    s1, s1, -1
    bnez    s1, 1b
    /* "intloop: <16 hex digits>\n" */
    lla     t3, msg
2:  lbu     t0, 0(t3)
    beqz    t0, 3f
    call    putc
    addi    t3, t3, 1
    j       2b
3:  li      t4, 60
4:  srl     t0, a0, t4
    andi    t0, t0, 15
    addi    t0, t0, '0'
    li      t1, '9'
    ble     t0, t1, 5f
    addi    t0, t0, 'a' - '0' - 10
5:  call    putc
    addi    t4, t4, -4
    bgez    t4, 4b
    li      t0, '\n'
    call    putc
    li      t0, TESTDEV
    li      t1, 0x5555              /* poweroff */
    sw      t1, 0(t0)
park:
    wfi
    j       park

/* Write the byte in t0 to the UART (ns16550a: wait for THRE). Clobbers t1, t2. */
putc:
    li      t1, UART
6:  lbu     t2, 5(t1)
    andi    t2, t2, 0x20
    beqz    t2, 6b
    sb      t0, 0(t1)
    ret

    .section .rodata
msg:
    .asciz  "intloop: "

    .data
    .balign 4096                    /* not on the code's page (a store there would invalidate it) */
buf:
    .dword  1, 2, 3, 4, 5, 6, 7, 8
