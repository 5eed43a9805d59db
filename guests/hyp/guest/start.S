/*
 * hvtrace hypervisor guest entry (VS-mode).
 * Entered by the hypervisor's sret with a0 = virtual hart id, a1 = DTB (0),
 * vsatp = 0. Sets up gp/sp/stvec (vstvec), FP, zeroes .bss, runs
 * guest_main() and shuts down through SBI SRST with its result.
 * guest_trap_vector: VS-mode trap entry; saves a struct trap_frame (as in
 * common/start.S) and calls guest_trap(frame).
 */
#include "asm.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    csrw    sie, zero
    csrci   sstatus, SSTATUS_SIE
    la      t0, guest_trap_vector
    csrw    stvec, t0
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    fscsr   zero
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    guest_main
    call    guest_shutdown
3:  j       3b

    .text
    .align 4
    .globl guest_trap_vector
guest_trap_vector:
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
    sd      t0,   2*8(sp)
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
    call    guest_trap
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

/* void guest_irq_window(void): opens sstatus.SIE for exactly one
 * instruction boundary (as isa-check does), so a pending VS interrupt is
 * always taken with sepc = guest_irq_pc. The guest never polls sip for
 * the pending bit: QEMU 7.2 reads vsip as VSSIP only (see README). */
    .globl guest_irq_window, guest_irq_pc
guest_irq_window:
    csrsi   sstatus, SSTATUS_SIE
guest_irq_pc:
    csrci   sstatus, SSTATUS_SIE
    ret

/* Virtual-instruction tests. wfi with hstatus.VTW = 1 and a read of
 * hstatus from VS-mode: the hypervisor reports and skips them (for wfi,
 * after waiting for the guest's timer if one is armed).
 * long guest_vinst_csr(void): returns the sentinel if a0 was left alone. */
    .globl guest_vinst_wfi, guest_vinst_csr
guest_vinst_wfi:
    wfi
    ret
guest_vinst_csr:
    li      a0, 0x5e5e
    csrr    a0, 0x600           /* hstatus */
    ret

/* Code on a page of its own (see linker.ld). */
    .section .remaptext, "ax"
    .globl guest_remap_fn
guest_remap_fn:
    li      a0, 42
    ret
