/*
 * smp-kernel: entry points, trap vector, U-mode entry/exit, fault probes,
 * and the user program blob (copied into the user region at run time).
 */
#include "smpk.h"

#define REG_S sd
#define REG_L ld

/* ------------------------------------------------------------------ */
/* Boot hart entry: a0 = hart id, a1 = DTB, S-mode, satp = 0.           */
/* ------------------------------------------------------------------ */
    .section .text.entry, "ax"
    .globl _start
_start:
    csrw    sie, zero
    csrw    sscratch, zero
    la      t0, trap_entry
    csrw    stvec, t0
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    mv      tp, a0
    /* Stack: hart ids >= MAX_HARTS get the last slot; kmain fails them. */
    li      t0, MAX_HARTS
    mv      t1, a0
    bltu    t1, t0, 1f
    addi    t1, t0, -1
1:  addi    t1, t1, 1
    li      t2, STACK_SIZE
    mul     t1, t1, t2
    la      sp, hart_stacks
    add     sp, sp, t1
    /* Clear .bss (includes the stacks; nothing has used them yet). */
    la      t0, _bss_start
    la      t1, _bss_end
2:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       2b
3:  call    kmain
4:  wfi
    j       4b

/* ------------------------------------------------------------------ */
/* Secondary entry (sbi_hart_start): a0 = hart id, a1 = opaque =        */
/* stack top for this hart.                                             */
/* ------------------------------------------------------------------ */
    .text
    .balign 4
    .globl secondary_entry
secondary_entry:
    csrw    sie, zero
    csrw    sscratch, zero
    la      t0, trap_entry
    csrw    stvec, t0
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    mv      tp, a0
    mv      sp, a1
    call    secondary_main
1:  wfi
    j       1b

/* ------------------------------------------------------------------ */
/* Trap vector (direct mode).  sscratch == 0 while in S-mode; while in  */
/* U-mode it holds the address of this hart's struct percpu.            */
/* ------------------------------------------------------------------ */
    .balign 4
    .globl trap_entry
trap_entry:
    csrrw   tp, sscratch, tp
    bnez    tp, .Lfrom_user
    /* From S-mode: restore tp, sscratch is 0 again. */
    csrrw   tp, sscratch, tp
    addi    sp, sp, -TF_SIZE
    REG_S   t0, 5*8(sp)
    addi    t0, sp, TF_SIZE
    REG_S   t0, 2*8(sp)
    REG_S   tp, 4*8(sp)
    j       .Lsave_rest
.Lfrom_user:
    /* tp = percpu, sscratch = user tp */
    REG_S   sp, PC_USP(tp)
    REG_L   sp, PC_KSP(tp)
    addi    sp, sp, -TF_SIZE
    REG_S   t0, 5*8(sp)
    REG_L   t0, PC_USP(tp)
    REG_S   t0, 2*8(sp)
    csrrw   t0, sscratch, zero
    REG_S   t0, 4*8(sp)
    REG_L   tp, PC_HARTID(tp)
.Lsave_rest:
    REG_S   x1, 1*8(sp)
    REG_S   x3, 3*8(sp)
    REG_S   x6, 6*8(sp)
    REG_S   x7, 7*8(sp)
    REG_S   x8, 8*8(sp)
    REG_S   x9, 9*8(sp)
    REG_S   x10, 10*8(sp)
    REG_S   x11, 11*8(sp)
    REG_S   x12, 12*8(sp)
    REG_S   x13, 13*8(sp)
    REG_S   x14, 14*8(sp)
    REG_S   x15, 15*8(sp)
    REG_S   x16, 16*8(sp)
    REG_S   x17, 17*8(sp)
    REG_S   x18, 18*8(sp)
    REG_S   x19, 19*8(sp)
    REG_S   x20, 20*8(sp)
    REG_S   x21, 21*8(sp)
    REG_S   x22, 22*8(sp)
    REG_S   x23, 23*8(sp)
    REG_S   x24, 24*8(sp)
    REG_S   x25, 25*8(sp)
    REG_S   x26, 26*8(sp)
    REG_S   x27, 27*8(sp)
    REG_S   x28, 28*8(sp)
    REG_S   x29, 29*8(sp)
    REG_S   x30, 30*8(sp)
    REG_S   x31, 31*8(sp)
    csrr    t0, sepc
    REG_S   t0, TF_SEPC(sp)
    csrr    t0, sstatus
    REG_S   t0, TF_SSTATUS(sp)
    csrr    t0, scause
    REG_S   t0, TF_SCAUSE(sp)
    csrr    t0, stval
    REG_S   t0, TF_STVAL(sp)
    mv      a0, sp
    call    trap_handler

    REG_L   t0, TF_SSTATUS(sp)
    csrw    sstatus, t0
    REG_L   t1, TF_SEPC(sp)
    csrw    sepc, t1
    andi    t0, t0, SSTATUS_SPP
    bnez    t0, 1f
    /* Returning to U-mode: sscratch = &percpu[hartid]. */
    la      t0, percpu
    slli    t1, tp, PC_SHIFT
    add     t0, t0, t1
    csrw    sscratch, t0
1:
    REG_L   x1, 1*8(sp)
    REG_L   x3, 3*8(sp)
    REG_L   x4, 4*8(sp)
    REG_L   x5, 5*8(sp)
    REG_L   x6, 6*8(sp)
    REG_L   x7, 7*8(sp)
    REG_L   x8, 8*8(sp)
    REG_L   x9, 9*8(sp)
    REG_L   x10, 10*8(sp)
    REG_L   x11, 11*8(sp)
    REG_L   x12, 12*8(sp)
    REG_L   x13, 13*8(sp)
    REG_L   x14, 14*8(sp)
    REG_L   x15, 15*8(sp)
    REG_L   x16, 16*8(sp)
    REG_L   x17, 17*8(sp)
    REG_L   x18, 18*8(sp)
    REG_L   x19, 19*8(sp)
    REG_L   x20, 20*8(sp)
    REG_L   x21, 21*8(sp)
    REG_L   x22, 22*8(sp)
    REG_L   x23, 23*8(sp)
    REG_L   x24, 24*8(sp)
    REG_L   x25, 25*8(sp)
    REG_L   x26, 26*8(sp)
    REG_L   x27, 27*8(sp)
    REG_L   x28, 28*8(sp)
    REG_L   x29, 29*8(sp)
    REG_L   x30, 30*8(sp)
    REG_L   x31, 31*8(sp)
    REG_L   x2, 2*8(sp)
    sret

/* ------------------------------------------------------------------ */
/* long run_user(u64 entry, u64 user_sp, u64 arg, struct percpu *pc)    */
/* Enters U-mode; returns when the kernel calls user_return(pc, v).     */
/* ------------------------------------------------------------------ */
    .balign 4
    .globl run_user
run_user:
    addi    sp, sp, -112
    REG_S   ra, 0*8(sp)
    REG_S   s0, 1*8(sp)
    REG_S   s1, 2*8(sp)
    REG_S   s2, 3*8(sp)
    REG_S   s3, 4*8(sp)
    REG_S   s4, 5*8(sp)
    REG_S   s5, 6*8(sp)
    REG_S   s6, 7*8(sp)
    REG_S   s7, 8*8(sp)
    REG_S   s8, 9*8(sp)
    REG_S   s9, 10*8(sp)
    REG_S   s10, 11*8(sp)
    REG_S   s11, 12*8(sp)
    REG_S   gp, 13*8(sp)
    REG_S   sp, PC_JMPSP(a3)
    REG_S   sp, PC_KSP(a3)
    csrw    sepc, a0
    li      t0, SSTATUS_SPP | SSTATUS_SIE
    csrc    sstatus, t0
    li      t0, SSTATUS_SPIE
    csrs    sstatus, t0
    csrw    sscratch, a3
    mv      sp, a1
    mv      a0, a2
    li      ra, 0
    li      gp, 0
    li      tp, 0
    li      t0, 0
    li      t1, 0
    li      t2, 0
    li      s0, 0
    li      s1, 0
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a5, 0
    li      a6, 0
    li      a7, 0
    li      s2, 0
    li      s3, 0
    li      s4, 0
    li      s5, 0
    li      s6, 0
    li      s7, 0
    li      s8, 0
    li      s9, 0
    li      s10, 0
    li      s11, 0
    li      t3, 0
    li      t4, 0
    li      t5, 0
    li      t6, 0
    sret

/* void user_return(struct percpu *pc, long value): called in S-mode from
 * the trap handler; abandons the trap frame and returns from run_user. */
    .balign 4
    .globl user_return
user_return:
    REG_L   sp, PC_JMPSP(a0)
    mv      a0, a1
    csrw    sscratch, zero
    REG_L   ra, 0*8(sp)
    REG_L   s0, 1*8(sp)
    REG_L   s1, 2*8(sp)
    REG_L   s2, 3*8(sp)
    REG_L   s3, 4*8(sp)
    REG_L   s4, 5*8(sp)
    REG_L   s5, 6*8(sp)
    REG_L   s6, 7*8(sp)
    REG_L   s7, 8*8(sp)
    REG_L   s8, 9*8(sp)
    REG_L   s9, 10*8(sp)
    REG_L   s10, 11*8(sp)
    REG_L   s11, 12*8(sp)
    REG_L   gp, 13*8(sp)
    addi    sp, sp, 112
    ret

/* ------------------------------------------------------------------ */
/* Fault probes: a single 4-byte access; if it faults, the trap handler */
/* (with percpu.probe_active set) records scause/stval and skips it.    */
/* ------------------------------------------------------------------ */
    .option push
    .option norvc
    .balign 4
    .globl probe_load
probe_load:             /* u64 probe_load(u64 addr) */
    mv      t0, a0
    li      a0, 0
    ld      a0, 0(t0)
    ret
    .globl probe_store
probe_store:            /* void probe_store(u64 addr, u64 val) */
    sd      a1, 0(a0)
    ret
    .option pop

/* ------------------------------------------------------------------ */
/* Spinlock (amoswap) and a counter increment built on lr/sc.           */
/* ------------------------------------------------------------------ */
    .balign 4
    .globl spin_lock
spin_lock:              /* void spin_lock(u32 *lock) */
    li      t0, 1
1:  lw      t1, 0(a0)
    bnez    t1, 1b
    amoswap.w.aq t1, t0, (a0)
    bnez    t1, 1b
    ret
    .globl spin_unlock
spin_unlock:            /* void spin_unlock(u32 *lock) */
    amoswap.w.rl zero, zero, (a0)
    ret
    .globl lrsc_inc
lrsc_inc:               /* u32 lrsc_inc(u32 *p): returns the new value */
1:  lr.w.aq t0, (a0)
    addiw   t0, t0, 1
    sc.w.rl t1, t0, (a0)
    bnez    t1, 1b
    mv      a0, t0
    ret

/* ------------------------------------------------------------------ */
/* User program, copied to USER_TEXT_VA.  Position independent.         */
/* a0 = mode: 0 = write/getpid/demand-paging/exit, 1 = read an invalid  */
/* address, 2 = read a supervisor-only page.                            */
/* ------------------------------------------------------------------ */
    .section .rodata.user, "a"
    .option push
    .option norelax
    .balign 16
    .globl user_blob_start, user_blob_end
user_blob_start:
    j       u_main
u_msg_hello:
    .ascii  "[u] hello from U-mode\n"
u_msg_hello_end:
u_msg_demand:
    .ascii  "[u] demand-paged page ok\n"
u_msg_demand_end:
    .balign 4
u_len_hello:
    .word   u_msg_hello_end - u_msg_hello
u_len_demand:
    .word   u_msg_demand_end - u_msg_demand
u_main:
    mv      s1, a0
    li      a7, SYS_WRITE
    lla     a0, u_msg_hello
    lla     t0, u_len_hello
    lw      a1, 0(t0)
    ecall
    lla     t0, u_len_hello
    lw      t0, 0(t0)
    bne     a0, t0, u_fail
    bnez    s1, u_bad
    li      a7, SYS_GETPID
    ecall
    mv      s0, a0
    /* demand paging: first touch is a store */
    li      t0, USER_DEMAND_VA
    li      t1, 0x5eed1234
    sd      t1, 8(t0)
    ld      t2, 8(t0)
    bne     t1, t2, u_fail
    ld      t3, 0(t0)
    bnez    t3, u_fail
    li      t4, 4088
    add     t4, t0, t4
    ld      t3, 0(t4)
    bnez    t3, u_fail
    li      a7, SYS_WRITE
    lla     a0, u_msg_demand
    lla     t0, u_len_demand
    lw      a1, 0(t0)
    ecall
    li      a7, SYS_EXIT
    addi    a0, s0, 41
    ecall
    j       u_fail
u_bad:
    li      t0, 1
    bne     s1, t0, 1f
    li      t0, USER_INVALID_VA
    j       2f
1:  li      t0, KERNEL_BASE
2:  ld      t1, 0(t0)
    /* must not get here */
u_fail:
    li      a7, SYS_EXIT
    li      a0, 99
    ecall
3:  j       3b
    .balign 4
user_blob_end:
    .option pop
