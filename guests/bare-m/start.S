/* Entry of the bare M-mode C guests (aia-test, hvc-test: --bios none / QEMU -bios none: M-mode at 0x80000000, a0 = hart id). */
    .section .text.entry, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, 2f
    la      sp, __stacks_end
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
3:  call    main
2:  wfi
    j       2b
