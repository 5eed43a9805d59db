/*
 * hvtrace guest entry (S-mode SBI payload).
 *
 * Entered by the SBI firmware (OpenSBI fw_jump / fw_dynamic, or hvtrace's
 * built-in SBI) on exactly one hart with:
 *   a0 = hart id, a1 = DTB physical address, satp = 0, sstatus.SIE = 0.
 *
 * _start            boot hart entry: gp, stvec, FPU on, per-hart stack,
 *                   zero .bss, main(hartid, dtb), then guest_exit(ret).
 * _secondary_start  entry for harts started with SBI HSM hart_start
 *                   (a0 = hart id, a1 = opaque): same setup without .bss
 *                   zeroing, then secondary_main(hartid, opaque).
 * trap_vector       S-mode trap entry: saves all GPRs + sepc/sstatus/
 *                   scause/stval in a struct trap_frame on the current
 *                   stack, calls trap_handler(frame), restores (the handler
 *                   may modify regs/sepc/sstatus), sret.
 */
#include "asm.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    mv      s0, a0
    mv      s1, a1
    call    early_setup

    /* zero .bss (stacks live in .stack, not .bss) */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    mv      a0, s0
    mv      a1, s1
    call    main
    call    guest_exit
3:  wfi
    j       3b

    .globl _secondary_start
_secondary_start:
    mv      s0, a0
    mv      s1, a1
    call    early_setup
    mv      a0, s0
    mv      a1, s1
    call    secondary_main
4:  wfi
    j       4b

/* early_setup: uses s0 = hart id; clobbers t0-t2; sets gp, sp, stvec, FS.
 * Runs without a stack; returns through ra. */
early_setup:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    sie, zero
    csrci   sstatus, SSTATUS_SIE
    la      t0, trap_vector
    csrw    stvec, t0
    csrw    sscratch, zero
    /* sstatus.FS = Initial so F/D instructions are legal */
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    fscsr   zero
    /* per-hart stack: top of slot (hartid mod MAX_HARTS) */
    andi    t0, s0, (MAX_HARTS - 1)
    addi    t0, t0, 1
    li      t1, HART_STACK_SIZE
    mul     t0, t0, t1
    la      sp, __stacks_start
    add     sp, sp, t0
    ret

    .weak secondary_main
secondary_main:
    /* default: stop this hart (SBI HSM hart_stop) */
    li      a7, 0x48534D
    li      a6, 1
    ecall
5:  wfi
    j       5b

/* ---------------------------------------------------------------- traps */
    .align 4
    .globl trap_vector
trap_vector:
    addi    sp, sp, -TRAP_FRAME_SIZE
    sd      x1,   1*8(sp)
    sd      x3,   3*8(sp)
    sd      x4,   4*8(sp)
    sd      x5,   5*8(sp)
    sd      x6,   6*8(sp)
    sd      x7,   7*8(sp)
    sd      x8,   8*8(sp)
    sd      x9,   9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    addi    t0, sp, TRAP_FRAME_SIZE
    sd      t0,   2*8(sp)            /* original sp */
    sd      zero, 0*8(sp)
    csrr    t0, sepc
    sd      t0, 32*8(sp)
    csrr    t0, sstatus
    sd      t0, 33*8(sp)
    csrr    t0, scause
    sd      t0, 34*8(sp)
    csrr    t0, stval
    sd      t0, 35*8(sp)

    mv      a0, sp
    call    trap_handler

    ld      t0, 32*8(sp)
    csrw    sepc, t0
    ld      t0, 33*8(sp)
    csrw    sstatus, t0
    ld      x1,   1*8(sp)
    ld      x3,   3*8(sp)
    ld      x4,   4*8(sp)
    ld      x5,   5*8(sp)
    ld      x6,   6*8(sp)
    ld      x7,   7*8(sp)
    ld      x8,   8*8(sp)
    ld      x9,   9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    ld      x2,   2*8(sp)
    sret
