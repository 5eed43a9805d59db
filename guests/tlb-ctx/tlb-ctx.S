/*
 * tlb-ctx: an M-mode program (--bios none) that checks translations across translation-context
 * switches (hvtrace keeps the first-level TLBs per context: src/hart/tlb-stash.ts). Sv39, one
 * hart; M-mode runs short snippets in S- and U-mode (mret there, ecall back) and checks what
 * they read:
 *  1. U <-> S round trips: each mode keeps seeing its own permissions (U page, S-only page);
 *  2. a PTE changed by S-mode, then SFENCE.VMA: both S and U see the new page;
 *  3. SUM toggled inside S-mode (no trap in between) and by M before entering S; MXR for U;
 *  4. MPRV from M-mode with MPP = S and MPP = U, MPP changed with MPRV set and clear.
 * A fault turns the loaded value into -1 (the trap handler skips the load). Prints a FAIL line
 * per failed check, then "tlb-ctx: <checks> checks, <failed> failed" and PASS or FAIL, and
 * powers off through the SiFive test device (exit code 1 on FAIL). QEMU 7.2 (-bios none) prints the same.
 */
    .option norvc
    .equ UART, 0x10000000
    .equ TESTDEV, 0x100000
    .equ SUM, 1 << 18
    .equ MXR, 1 << 19
    .equ MPRV, 1 << 17
    .equ MPP_MASK, 3 << 11
    .equ MPP_S, 1 << 11
    .equ LOOPS, 20
    .equ VA_U, 0x1000               /* user data: pageA (or pageB) */
    .equ VA_UCODE, 0x2000           /* the snippets, user-executable */
    .equ VA_K, 0x3000               /* supervisor-only data: kdata */
    .equ VA_XO, 0x4000              /* pageA, user execute-only (readable with MXR) */
    .equ PTE_PTR, 0x01              /* V */
    .equ PTE_KRWX, 0xcf             /* V R W X A D */
    .equ PTE_URW, 0xd7              /* V R W U A D */
    .equ PTE_URX, 0x5b              /* V R X U A */
    .equ PTE_KRW, 0xc7              /* V R W A D */
    .equ PTE_UXO, 0x59              /* V X U A */

/* Run snippet \snip in S-mode (at its physical address: the gigapage maps it). */
.macro RUN_S snip
    la      t0, \snip
    li      t1, MPP_S
    call    run_in
.endm
/* Run snippet \snip in U-mode (at its address in the user code page). */
.macro RUN_U snip
    la      t0, \snip
    la      t1, snippets
    sub     t0, t0, t1
    li      t1, VA_UCODE
    add     t0, t0, t1
    li      t1, 0
    call    run_in
.endm
/* Count a check: \reg must equal \expect. */
.macro CHECK reg, expect, name
    mv      t3, \reg
    li      t4, \expect
    la      t5, 9f
    call    check
    .pushsection .rodata
9:  .asciz  "\name"
    .popsection
.endm
/* M-mode load of \va with MPRV = 1 and MPP = \mpp into \dst (MPRV cleared after). */
.macro MPRV_LOAD mpp, va, dst
    li      t0, MPP_MASK
    csrc    mstatus, t0
    li      t0, \mpp
    csrs    mstatus, t0
    li      a1, \va
    li      t0, MPRV
    csrs    mstatus, t0
    li      a0, 0
    ld      a0, 0(a1)
    li      t0, MPRV
    csrc    mstatus, t0
    mv      \dst, a0
.endm

    .section .text.entry, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    la      t0, mtrap
    csrw    mtvec, t0
    li      t0, -1                  /* PMP: all of memory RWX for S and U (NAPOT) */
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    li      s8, 0                   /* checks */
    li      s10, 0                  /* failures */
    /* Sv39: root[2] = the gigapage at 0x8000_0000 (S: RWX), root[0] -> l1[0] -> l0. */
    la      t2, root
    la      a0, l1
    li      a1, PTE_PTR
    call    mkpte
    sd      a0, 0(t2)
    li      t0, (0x80000000 >> 12) << 10 | PTE_KRWX
    sd      t0, 16(t2)
    la      t2, l1
    la      a0, l0
    li      a1, PTE_PTR
    call    mkpte
    sd      a0, 0(t2)
    la      t2, l0
    la      a0, pageA
    li      a1, PTE_URW
    call    mkpte
    sd      a0, 8(t2)               /* VA_U */
    la      a0, snippets
    li      a1, PTE_URX
    call    mkpte
    sd      a0, 16(t2)              /* VA_UCODE */
    la      a0, kdata
    li      a1, PTE_KRW
    call    mkpte
    sd      a0, 24(t2)              /* VA_K */
    la      a0, pageA
    li      a1, PTE_UXO
    call    mkpte
    sd      a0, 32(t2)              /* VA_XO */
    la      t0, root
    srli    t0, t0, 12
    li      t1, 8
    slli    t1, t1, 60
    or      t0, t0, t1
    csrw    satp, t0
    sfence.vma

    /* 1. U <-> S round trips. */
    li      s9, LOOPS
1:  li      s7, SUM
    csrs    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, 0xa, "1 S with SUM reads the U page"
    li      a1, VA_K
    RUN_S   sn_load
    CHECK   a0, 0xc, "1 S reads the S page"
    li      a1, VA_U
    RUN_U   sn_load
    CHECK   a0, 0xa, "1 U reads the U page"
    li      a1, VA_K
    RUN_U   sn_load
    CHECK   a0, -1, "1 U faults on the S page"
    li      a1, VA_K
    RUN_S   sn_store
    CHECK   a0, 0, "1 S writes the S page"
    li      a1, VA_K
    RUN_U   sn_store
    CHECK   a0, -1, "1 U faults writing the S page"
    csrc    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, -1, "1 S without SUM faults on the U page"
    addi    s9, s9, -1
    bnez    s9, 1b

    /* 2. A PTE changed, then SFENCE.VMA (in S-mode): S and U see the new page. */
    li      s9, LOOPS
2:  li      s7, SUM
    csrs    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, 0xa, "2 S reads page A"
    li      a1, VA_U
    RUN_U   sn_load
    CHECK   a0, 0xa, "2 U reads page A"
    la      a0, pageB
    li      a1, PTE_URW
    call    mkpte
    mv      a2, a0
    la      a1, l0
    addi    a1, a1, 8
    RUN_S   sn_store_sfence
    li      a1, VA_U
    RUN_U   sn_load
    CHECK   a0, 0xb, "2 U reads page B after the fence"
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, 0xb, "2 S reads page B after the fence"
    la      a0, pageA
    li      a1, PTE_URW
    call    mkpte
    mv      a2, a0
    la      a1, l0
    addi    a1, a1, 8
    RUN_S   sn_store_sfence
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, 0xa, "2 S reads page A again after the fence"
    li      a1, VA_U
    RUN_U   sn_load
    CHECK   a0, 0xa, "2 U reads page A again after the fence"
    addi    s9, s9, -1
    bnez    s9, 2b

    /* 3. SUM toggled in S-mode and by M-mode; MXR for U. */
    li      s9, LOOPS
3:  li      s7, SUM
    csrc    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_sum_toggle
    CHECK   s2, 0xa, "3 S sets SUM: reads the U page"
    CHECK   s3, -1, "3 S clears SUM: faults on the U page"
    CHECK   s4, 0xa, "3 S sets SUM again: reads the U page"
    CHECK   s5, -1, "3 S clears SUM again: faults on the U page"
    csrs    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, 0xa, "3 S entered with SUM reads the U page"
    csrc    mstatus, s7
    li      a1, VA_U
    RUN_S   sn_load
    CHECK   a0, -1, "3 S entered without SUM faults on the U page"
    li      s7, MXR
    csrs    mstatus, s7
    li      a1, VA_XO
    RUN_U   sn_load
    CHECK   a0, 0xa, "3 U with MXR reads the execute-only page"
    csrc    mstatus, s7
    li      a1, VA_XO
    RUN_U   sn_load
    CHECK   a0, -1, "3 U without MXR faults on the execute-only page"
    addi    s9, s9, -1
    bnez    s9, 3b

    /* 4. MPRV from M-mode (SUM = 0). */
    li      s9, LOOPS
4:  MPRV_LOAD MPP_S, VA_K, s2
    MPRV_LOAD MPP_S, VA_U, s3
    MPRV_LOAD 0, VA_K, s4
    MPRV_LOAD 0, VA_U, s5
    CHECK   s2, 0xc, "4 MPRV with MPP=S reads the S page"
    CHECK   s3, -1, "4 MPRV with MPP=S faults on the U page"
    CHECK   s4, -1, "4 MPRV with MPP=U faults on the S page"
    CHECK   s5, 0xa, "4 MPRV with MPP=U reads the U page"
    /* MPP changed while MPRV stays set. */
    li      t0, MPP_MASK
    csrc    mstatus, t0
    li      t0, MPP_S
    csrs    mstatus, t0
    li      a1, VA_K
    li      t0, MPRV
    csrs    mstatus, t0
    li      a0, 0
    ld      a0, 0(a1)
    mv      s2, a0
    li      t0, MPP_MASK
    csrc    mstatus, t0             /* MPP = U */
    li      a0, 0
    ld      a0, 0(a1)
    mv      s3, a0
    li      t0, MPRV
    csrc    mstatus, t0
    CHECK   s2, 0xc, "4 MPRV set, MPP=S: reads the S page"
    CHECK   s3, -1, "4 MPRV set, MPP changed to U: faults on the S page"
    addi    s9, s9, -1
    bnez    s9, 4b

    /* "tlb-ctx: <checks> checks, <failed> failed" */
    la      a0, msg_head
    call    puts
    mv      a0, s8
    call    putdec
    la      a0, msg_mid
    call    puts
    mv      a0, s10
    call    putdec
    la      a0, msg_pass
    beqz    s10, 5f
    la      a0, msg_fail
5:  call    puts
    li      t0, TESTDEV
    li      t1, 0x5555              /* poweroff (pass) */
    beqz    s10, 6f
    li      t1, 0x13333             /* fail, code 1 */
6:  sw      t1, 0(t0)
park:
    wfi
    j       park

/* run_in: enter pc t0 with mstatus.MPP = t1; its ecall comes back to our caller (mtrap). */
run_in:
    csrw    mepc, t0
    li      t2, MPP_MASK
    csrc    mstatus, t2
    csrs    mstatus, t1
    mv      s11, ra
    mret

/* mtrap: an ecall returns to run_in's caller; a page fault sets a0 = -1 and skips the access. */
    .balign 4
mtrap:
    csrr    t0, mcause
    li      t1, 8
    beq     t0, t1, 1f
    li      t1, 9
    beq     t0, t1, 1f
    li      t1, 13
    beq     t0, t1, 2f
    li      t1, 15
    beq     t0, t1, 2f
    la      a0, msg_trap
    call    puts
    csrr    a0, mcause
    call    puthex
    li      t0, TESTDEV
    li      t1, 0x3333              /* fail */
    sw      t1, 0(t0)
    j       park
1:  jr      s11
2:  li      a0, -1
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    mret

/* mkpte: a0 = the leaf/pointer PTE for physical address a0 with flags a1. */
mkpte:
    srli    a0, a0, 12
    slli    a0, a0, 10
    or      a0, a0, a1
    ret

/* check: t3 = got, t4 = expected, t5 = name; prints "FAIL <name>: <got>" on a mismatch. */
check:
    addi    s8, s8, 1
    bne     t3, t4, 1f
    ret
1:  addi    s10, s10, 1
    mv      s6, ra
    la      a0, msg_failed
    call    puts
    mv      a0, t5
    call    puts
    la      a0, msg_got
    call    puts
    mv      a0, t3
    call    puthex
    la      a0, msg_nl
    call    puts
    mv      ra, s6
    ret

/* puts(a0): the NUL-terminated string to the UART. Clobbers t0, t1. */
puts:
    li      t1, UART
1:  lbu     t0, 0(a0)
    beqz    t0, 2f
    sb      t0, 0(t1)
    addi    a0, a0, 1
    j       1b
2:  ret

/* putdec(a0): unsigned decimal. Clobbers t0-t2, a0. */
putdec:
    la      t1, decbuf + 23
    sb      zero, 0(t1)
    li      t2, 10
1:  remu    t0, a0, t2
    divu    a0, a0, t2
    addi    t0, t0, '0'
    addi    t1, t1, -1
    sb      t0, 0(t1)
    bnez    a0, 1b
    mv      a0, t1
    j       puts

/* puthex(a0): 16 hex digits. Clobbers t0-t2, a1. */
puthex:
    li      a1, 60
    li      t2, UART
1:  srl     t0, a0, a1
    andi    t0, t0, 15
    li      t1, 10
    blt     t0, t1, 2f
    addi    t0, t0, 'a' - 10 - '0'
2:  addi    t0, t0, '0'
    sb      t0, 0(t2)
    addi    a1, a1, -4
    bgez    a1, 1b
    ret

/* The snippets run in S-mode (physical address) and U-mode (VA_UCODE + offset); they keep t0-t2
 * free (mtrap clobbers them) and end with ecall. */
    .balign 4096
snippets:
sn_load:                            /* a0 = *(a1), or -1 */
    li      a0, 0
    ld      a0, 0(a1)
    ecall
sn_store:                           /* *(a1) = 0xc (a0 = 0), or a0 = -1 */
    li      a2, 0xc
    li      a0, 0
    sd      a2, 0(a1)
    ecall
sn_store_sfence:                    /* *(a1) = a2; sfence.vma (S-mode) */
    sd      a2, 0(a1)
    sfence.vma
    ecall
sn_sum_toggle:                      /* S-mode: s2..s5 = *(a1) with SUM = 1, 0, 1, 0 */
    li      s7, SUM
    csrs    sstatus, s7
    li      a0, 0
    ld      a0, 0(a1)
    mv      s2, a0
    csrc    sstatus, s7
    li      a0, 0
    ld      a0, 0(a1)
    mv      s3, a0
    csrs    sstatus, s7
    li      a0, 0
    ld      a0, 0(a1)
    mv      s4, a0
    csrc    sstatus, s7
    li      a0, 0
    ld      a0, 0(a1)
    mv      s5, a0
    ecall
    .balign 4096

    .section .rodata
msg_head:   .asciz "tlb-ctx: "
msg_mid:    .asciz " checks, "
msg_pass:   .asciz " failed\nPASS\n"
msg_fail:   .asciz " failed\nFAIL\n"
msg_failed: .asciz "FAIL "
msg_got:    .asciz ": got "
msg_nl:     .asciz "\n"
msg_trap:   .asciz "tlb-ctx: unexpected trap, mcause "

    .data
    .balign 4096
root:   .zero 4096
l1:     .zero 4096
l0:     .zero 4096
pageA:  .dword 0xa
        .balign 4096
pageB:  .dword 0xb
        .balign 4096
kdata:  .dword 0xc
        .balign 4096
decbuf: .zero 24
