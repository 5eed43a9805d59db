/* Constants shared by assembly and C. */
#ifndef HVTRACE_ASM_H
#define HVTRACE_ASM_H

#define MAX_HARTS           8        /* must match linker.ld */
#define HART_STACK_SIZE     0x8000   /* must match linker.ld */

#define SSTATUS_SIE         (1 << 1)
#define SSTATUS_SPIE        (1 << 5)
#define SSTATUS_SPP         (1 << 8)
#define SSTATUS_FS_INITIAL  (1 << 13)
#define SSTATUS_FS_MASK     (3 << 13)
#define SIE_SSIE            (1 << 1)
#define SIE_STIE            (1 << 5)
#define SIE_SEIE            (1 << 9)

/* struct trap_frame: x0..x31, sepc, sstatus, scause, stval (8 bytes each) */
#define TRAP_FRAME_SIZE     (36 * 8)

#define TEST_DEVICE_BASE    0x100000
#define TEST_PASS           0x5555
#define TEST_FAIL           0x3333

#endif
