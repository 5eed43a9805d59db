/* smp-kernel: constants shared by C and assembly. */
#ifndef SMPK_H
#define SMPK_H

#define MAX_HARTS        8
#define STACK_SIZE       16384

#define KERNEL_BASE      0x80200000
#define RAM_BASE         0x80000000

/* Devices (QEMU virt). */
#define TEST_BASE        0x00100000
#define PLIC_BASE        0x0c000000
#define UART_BASE        0x10000000
#define UART_IRQ         10

/* Virtual layout. */
#define USER_TEXT_VA     0x00010000
#define USER_STACK_VA    0x00020000   /* one page, sp starts at +4096 */
#define USER_DEMAND_VA   0x00030000   /* mapped on first store fault */
#define USER_INVALID_VA  0x00040000   /* never mapped */
#define USER_LIMIT_VA    0x00100000
#define SHARED_VA        0x40000000   /* remapped in the remote-fence test */
#define MEGA_TEST_PA     0x80600000   /* inside a 2 MiB identity megapage */

/* Syscalls (a7). */
#define SYS_WRITE        1
#define SYS_GETPID       2
#define SYS_EXIT         3

/* sstatus bits */
#define SSTATUS_SIE      0x2
#define SSTATUS_SPIE     0x20
#define SSTATUS_SPP      0x100
#define SSTATUS_FS_INITIAL 0x2000
#define SSTATUS_SUM      0x40000

/* Trap frame layout: x0..x31, sepc, sstatus, scause, stval. */
#define TF_SEPC          (32*8)
#define TF_SSTATUS       (33*8)
#define TF_SCAUSE        (34*8)
#define TF_STVAL         (35*8)
#define TF_SIZE          (36*8)

/* struct percpu layout (64 bytes, see kernel.c). */
#define PC_KSP           0
#define PC_USP           8
#define PC_HARTID        16
#define PC_JMPSP         24
#define PC_SHIFT         6

#endif
