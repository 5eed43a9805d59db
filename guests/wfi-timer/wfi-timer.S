/*
 * wfi-timer: waits for its S-mode timer interrupt with the `wfi; beqz flag` idiom and masks
 * the interrupt in its handler (issue 10). On every hart the SBI reports:
 *
 *     sbi_set_timer(rdtime() + 1000); set sie.STIE, sstatus.SIE
 *  3: wfi
 *     beqz s2, 3b           <- the handler sets s2 = 1, clears sie.STIE and returns with sret
 *
 * Correct only if the interrupt is taken at the first instruction boundary where it is pending
 * and enabled: taken one instruction late (at the wfi instead of the beqz), the handler returns
 * to a wfi that nothing can wake (STIE masked, no timer armed) and the machine deadlocks.
 *
 * The boot hart prints through legacy putchar and through DBCN (legacy when the SBI has no
 * DBCN), starts every other hart that is stopped (SBI HSM), waits three times for its timer,
 * waits until the other harts have done the same, prints the verdict and shuts down (SRST).
 * Position independent and stackless: runs at 0x80200000 bare and as a raw guest image.
 */
    .equ SBI_LEGACY_PUTCHAR, 0x01
    .equ SBI_LEGACY_SHUTDOWN, 0x08
    .equ SBI_BASE, 0x10
    .equ SBI_TIME, 0x54494D45
    .equ SBI_HSM, 0x48534D
    .equ SBI_SRST, 0x53525354
    .equ SBI_DBCN, 0x4442434E
    .equ SIE_STIE, 0x20
    .equ SSTATUS_SIE, 0x2
    .equ ROUNDS, 3
    .equ MAX_HARTS, 8

    .section .text.entry, "ax"
    .globl _start
_start:
    mv      s0, a0                  /* s0 = hart id */
    lla     a0, msg_legacy
    call    puts_legacy
    lla     a0, msg_dbcn
    call    puts_dbcn

    /* Start every other hart that exists and is stopped. */
    li      s1, 0
1:  li      t0, MAX_HARTS
    bgeu    s1, t0, 4f
    beq     s1, s0, 3f
    li      a7, SBI_HSM
    li      a6, 2                   /* hart_get_status */
    mv      a0, s1
    ecall
    bnez    a0, 3f                  /* no such hart */
    li      t0, 1                   /* STOPPED */
    bne     a1, t0, 3f
    li      a7, SBI_HSM
    li      a6, 0                   /* hart_start(hartid, start_addr, opaque) */
    mv      a0, s1
    lla     a1, secondary
    li      a2, 0
    ecall
    bnez    a0, fail
    lla     t0, started
    li      t1, 1
    amoadd.w zero, t1, (t0)
3:  addi    s1, s1, 1
    j       1b

4:  call    wait_timers
    /* Wait for the harts started above to finish their rounds. */
    lla     t0, started
    lla     t1, finished
5:  lw      t2, 0(t0)
    lw      t3, 0(t1)
    .insn i 0x0f, 0, x0, x0, 0x010   /* pause (Zihintpause): fence w,0 */
    bne     t2, t3, 5b
    lla     a0, msg_ok
    call    puts_dbcn
    li      a7, SBI_SRST
    li      a6, 0
    li      a0, 0                   /* shutdown */
    li      a1, 0                   /* no reason */
    ecall
    li      a7, SBI_LEGACY_SHUTDOWN
    ecall
6:  j       6b

secondary:
    mv      s0, a0
    call    wait_timers
    lla     t0, finished
    li      t1, 1
    amoadd.w zero, t1, (t0)
    li      a7, SBI_HSM
    li      a6, 1                   /* hart_stop */
    ecall
7:  wfi
    j       7b

/* ROUNDS times: arm the timer 1000 ticks ahead, wait for the handler to set s2. */
wait_timers:
    lla     t0, trap_vector
    csrw    stvec, t0
    li      s3, ROUNDS
    /* Arming the timer clears the previous round's pending STIP: enable STIE only after it. */
1:  rdtime  a0
    addi    a0, a0, 1000
    li      a7, SBI_TIME
    li      a6, 0                   /* set_timer */
    ecall
    li      s2, 0
    li      t0, SIE_STIE
    csrs    sie, t0
    csrsi   sstatus, SSTATUS_SIE
3:  wfi
    beqz    s2, 3b
    addi    s3, s3, -1
    bnez    s3, 1b
    csrci   sstatus, SSTATUS_SIE
    ret

/* S-mode trap handler: only the S timer interrupt is expected. */
    .balign 4
trap_vector:
    csrr    t0, scause
    bgez    t0, fail                /* an exception */
    slli    t0, t0, 1
    srli    t0, t0, 1
    li      t1, 5                   /* supervisor timer interrupt */
    bne     t0, t1, fail
    li      s2, 1
    li      t0, SIE_STIE
    csrc    sie, t0
    sret

fail:
    lla     a0, msg_fail
    call    puts_legacy
    li      a7, SBI_SRST
    li      a6, 0
    li      a0, 0
    li      a1, 1                   /* system failure */
    ecall
    li      a7, SBI_LEGACY_SHUTDOWN
    ecall
8:  j       8b

/* puts_legacy(a0 = NUL-terminated string): one legacy putchar call per byte. */
puts_legacy:
    mv      t2, a0
1:  lbu     a0, 0(t2)
    beqz    a0, 2f
    li      a7, SBI_LEGACY_PUTCHAR
    ecall
    addi    t2, t2, 1
    j       1b
2:  ret

/* puts_dbcn(a0 = string): DBCN console_write when the SBI has DBCN, else legacy putchar. */
puts_dbcn:
    mv      t2, a0
    li      a7, SBI_BASE
    li      a6, 3                   /* probe_extension */
    li      a0, SBI_DBCN
    ecall
    mv      a0, t2
    beqz    a1, puts_legacy
    li      a0, 0                   /* length */
1:  add     t3, t2, a0
    lbu     t3, 0(t3)
    beqz    t3, 2f
    addi    a0, a0, 1
    j       1b
2:  mv      a1, t2                  /* base (physical: satp = 0) */
    li      a2, 0
    li      a7, SBI_DBCN
    li      a6, 0                   /* console_write(num_bytes, base_lo, base_hi) */
    ecall
    ret

    .section .rodata
msg_legacy: .asciz "wfi-timer: console through legacy putchar\n"
msg_dbcn:   .asciz "wfi-timer: console through DBCN (or legacy without it)\n"
msg_ok:     .asciz "wfi-timer: every hart took its 3 timer interrupts: ok\n"
msg_fail:   .asciz "wfi-timer: unexpected trap\n"

    .section .data
    .balign 4
started:    .word 0
finished:   .word 0
