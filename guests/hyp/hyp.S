/*
 * hvtrace hypervisor: world switch and trap-probing helpers (HS-mode).
 *
 * _run_guest(regs)  Like Hypercraft's _run_guest: saves the hypervisor's
 *                   callee-saved registers, stvec and sscratch in
 *                   struct VmCpuRegisters, points stvec at _guest_exit and
 *                   sscratch at regs, loads sstatus/hstatus/sepc and the
 *                   guest GPRs, and enters the guest with sret
 *                   (hstatus.SPV = 1: V becomes 1, privilege = sstatus.SPP).
 * _guest_exit       Trap entry while the guest runs (every VM exit): saves
 *                   the guest GPRs and sepc/sstatus/hstatus/scause/stval/
 *                   htval/htinst, restores the hypervisor and returns from
 *                   _run_guest.
 *
 * While the hypervisor itself runs, stvec is common/start.S's trap_vector.
 * trap_handler() (main.c) looks up the faulting pc in hyp_extable and, if
 * found, resumes at the fixup with hyp_fault_cause = scause: used to probe
 * for the H extension and to survive a fault in HLVX.
 */
#include "asm.h"

    .option arch, +h

#define R_SEPC      256
#define R_SSTATUS   264
#define R_HSTATUS   272
#define R_SCAUSE    280
#define R_STVAL     288
#define R_HTVAL     296
#define R_HTINST    304
#define R_HYP       312
#define R_HSTVEC    440
#define R_HSSCRATCH 448

    .text
    .globl _run_guest
_run_guest:
    sd      ra,  R_HYP+0*8(a0)
    sd      sp,  R_HYP+1*8(a0)
    sd      gp,  R_HYP+2*8(a0)
    sd      tp,  R_HYP+3*8(a0)
    sd      s0,  R_HYP+4*8(a0)
    sd      s1,  R_HYP+5*8(a0)
    sd      s2,  R_HYP+6*8(a0)
    sd      s3,  R_HYP+7*8(a0)
    sd      s4,  R_HYP+8*8(a0)
    sd      s5,  R_HYP+9*8(a0)
    sd      s6,  R_HYP+10*8(a0)
    sd      s7,  R_HYP+11*8(a0)
    sd      s8,  R_HYP+12*8(a0)
    sd      s9,  R_HYP+13*8(a0)
    sd      s10, R_HYP+14*8(a0)
    sd      s11, R_HYP+15*8(a0)
    csrr    t0, stvec
    sd      t0, R_HSTVEC(a0)
    csrr    t0, sscratch
    sd      t0, R_HSSCRATCH(a0)
    la      t0, _guest_exit
    csrw    stvec, t0
    csrw    sscratch, a0
    ld      t0, R_SSTATUS(a0)
    csrw    sstatus, t0
    ld      t0, R_HSTATUS(a0)
    csrw    hstatus, t0
    ld      t0, R_SEPC(a0)
    csrw    sepc, t0

    ld      x1,   1*8(a0)
    ld      x2,   2*8(a0)
    ld      x3,   3*8(a0)
    ld      x4,   4*8(a0)
    ld      x5,   5*8(a0)
    ld      x6,   6*8(a0)
    ld      x7,   7*8(a0)
    ld      x8,   8*8(a0)
    ld      x9,   9*8(a0)
    ld      x11, 11*8(a0)
    ld      x12, 12*8(a0)
    ld      x13, 13*8(a0)
    ld      x14, 14*8(a0)
    ld      x15, 15*8(a0)
    ld      x16, 16*8(a0)
    ld      x17, 17*8(a0)
    ld      x18, 18*8(a0)
    ld      x19, 19*8(a0)
    ld      x20, 20*8(a0)
    ld      x21, 21*8(a0)
    ld      x22, 22*8(a0)
    ld      x23, 23*8(a0)
    ld      x24, 24*8(a0)
    ld      x25, 25*8(a0)
    ld      x26, 26*8(a0)
    ld      x27, 27*8(a0)
    ld      x28, 28*8(a0)
    ld      x29, 29*8(a0)
    ld      x30, 30*8(a0)
    ld      x31, 31*8(a0)
    ld      x10, 10*8(a0)
    sret

    .align 4
    .globl _guest_exit
_guest_exit:
    csrrw   a0, sscratch, a0        /* a0 = regs, sscratch = guest a0 */
    sd      x1,   1*8(a0)
    sd      x2,   2*8(a0)
    sd      x3,   3*8(a0)
    sd      x4,   4*8(a0)
    sd      x5,   5*8(a0)
    sd      x6,   6*8(a0)
    sd      x7,   7*8(a0)
    sd      x8,   8*8(a0)
    sd      x9,   9*8(a0)
    sd      x11, 11*8(a0)
    sd      x12, 12*8(a0)
    sd      x13, 13*8(a0)
    sd      x14, 14*8(a0)
    sd      x15, 15*8(a0)
    sd      x16, 16*8(a0)
    sd      x17, 17*8(a0)
    sd      x18, 18*8(a0)
    sd      x19, 19*8(a0)
    sd      x20, 20*8(a0)
    sd      x21, 21*8(a0)
    sd      x22, 22*8(a0)
    sd      x23, 23*8(a0)
    sd      x24, 24*8(a0)
    sd      x25, 25*8(a0)
    sd      x26, 26*8(a0)
    sd      x27, 27*8(a0)
    sd      x28, 28*8(a0)
    sd      x29, 29*8(a0)
    sd      x30, 30*8(a0)
    sd      x31, 31*8(a0)
    csrr    t0, sscratch
    sd      t0, 10*8(a0)
    sd      zero, 0*8(a0)
    csrr    t0, sepc
    sd      t0, R_SEPC(a0)
    csrr    t0, sstatus
    sd      t0, R_SSTATUS(a0)
    csrr    t0, hstatus
    sd      t0, R_HSTATUS(a0)
    csrr    t0, scause
    sd      t0, R_SCAUSE(a0)
    csrr    t0, stval
    sd      t0, R_STVAL(a0)
    csrr    t0, htval
    sd      t0, R_HTVAL(a0)
    csrr    t0, htinst
    sd      t0, R_HTINST(a0)

    ld      t0, R_HSTVEC(a0)
    csrw    stvec, t0
    ld      t0, R_HSSCRATCH(a0)
    csrw    sscratch, t0
    ld      ra,  R_HYP+0*8(a0)
    ld      sp,  R_HYP+1*8(a0)
    ld      gp,  R_HYP+2*8(a0)
    ld      tp,  R_HYP+3*8(a0)
    ld      s0,  R_HYP+4*8(a0)
    ld      s1,  R_HYP+5*8(a0)
    ld      s2,  R_HYP+6*8(a0)
    ld      s3,  R_HYP+7*8(a0)
    ld      s4,  R_HYP+8*8(a0)
    ld      s5,  R_HYP+9*8(a0)
    ld      s6,  R_HYP+10*8(a0)
    ld      s7,  R_HYP+11*8(a0)
    ld      s8,  R_HYP+12*8(a0)
    ld      s9,  R_HYP+13*8(a0)
    ld      s10, R_HYP+14*8(a0)
    ld      s11, R_HYP+15*8(a0)
    ret

/* long hyp_probe_hstatus(void): hstatus, or -1 if reading it traps (no H:
 * illegal instruction, which OpenSBI redirects to S-mode). */
    .globl hyp_probe_hstatus
hyp_probe_hstatus:
.Lprobe_insn:
    csrr    a0, hstatus
    ret
.Lprobe_fixup:
    li      a0, -1
    ret

/* long hyp_hlvx_hu(unsigned long gva): reads a halfword of guest memory
 * with execute permission, translated by vsatp and hgatp as a VS-mode
 * access (hstatus.SPVP = 1). Returns it zero-extended, or -1 on a fault. */
    .globl hyp_hlvx_hu
hyp_hlvx_hu:
.Lhlvx_insn:
    hlvx.hu a0, (a0)
    ret
.Lhlvx_fixup:
    li      a0, -1
    ret

    .section .rodata
    .balign 8
    .globl hyp_extable, hyp_extable_end
hyp_extable:
    .dword  .Lprobe_insn, .Lprobe_fixup
    .dword  .Lhlvx_insn, .Lhlvx_fixup
hyp_extable_end:

    .section .sbss, "aw", @nobits
    .balign 8
    .globl hyp_fault_cause
hyp_fault_cause:
    .dword 0
