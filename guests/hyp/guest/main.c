/*
 * Guest of the hvtrace hypervisor. Runs in VS-mode at GPA 0x9020_0000,
 * first with vsatp = Bare, then with its own Sv39 table. Every check
 * prints "guest: ok   <name>" or "guest: FAIL <name>: ...". At the end it
 * calls SBI SRST shutdown with reason 0 (all passed) or 1 (failure); the
 * hypervisor turns that into one of its own checks.
 */
#include "lib.h"
#include "sbi.h"
#include "asm.h"
#include "hyp_abi.h"

void guest_irq_window(void);
void guest_vinst_wfi(void);
long guest_vinst_csr(void);
long guest_remap_fn(void);
extern char guest_irq_pc[];

static int n_checks, n_failed;

static void check(const char *name, uint64_t got, uint64_t want)
{
    n_checks++;
    if (got == want) {
        printf("guest: ok   %s\n", name);
    } else {
        n_failed++;
        printf("guest: FAIL %s: got 0x%lx expected 0x%lx\n", name, got, want);
    }
}

/* ------------------------------------------------------------ traps */
static volatile uint64_t timer_irqs, timer_sepc, timer_scause;

void guest_trap(struct trap_frame *tf)
{
    if (tf->scause == ((1UL << 63) | 5)) {
        timer_irqs++;
        timer_sepc = tf->sepc;
        timer_scause = tf->scause;
        sbi_set_timer(~0UL);      /* clears the pending (virtual) STIP */
        return;
    }
    printf("guest: unexpected trap scause 0x%lx sepc 0x%lx stval 0x%lx\n",
           tf->scause, tf->sepc, tf->stval);
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_FAILURE);
    for (;;)
        ;
}

void guest_shutdown(long failed)
{
    printf("guest: %d/%d checks passed, shutting down\n", n_checks - n_failed, n_checks);
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN,
                     failed ? SBI_SRST_REASON_FAILURE : SBI_SRST_REASON_NONE);
    for (;;)
        ;
}

/* ------------------------------------------------------------ MMIO */
static uint64_t n_reads, n_writes;   /* accesses to the vdev */

#define LOAD(name, insn) \
static uint64_t name(uint64_t a) { uint64_t v; n_reads++; \
    asm volatile(".option push\n.option norvc\n" insn " %0, 0(%1)\n.option pop" \
                 : "=r"(v) : "r"(a) : "memory"); return v; }
#define STORE(name, insn) \
static void name(uint64_t a, uint64_t v) { n_writes++; \
    asm volatile(".option push\n.option norvc\n" insn " %0, 0(%1)\n.option pop" \
                 :: "r"(v), "r"(a) : "memory"); }
LOAD(mmio_lb, "lb")
LOAD(mmio_lbu, "lbu")
LOAD(mmio_lh, "lh")
LOAD(mmio_lhu, "lhu")
LOAD(mmio_lw, "lw")
LOAD(mmio_lwu, "lwu")
LOAD(mmio_ld, "ld")
STORE(mmio_sb, "sb")
STORE(mmio_sh, "sh")
STORE(mmio_sw, "sw")
STORE(mmio_sd, "sd")

/* Compressed forms need registers x8-x15: pin them. The offsets are
 * relative to the device base so the immediate field is not zero. */
static uint64_t mmio_c_lw_scratch(uint64_t base)
{
    register uint64_t a asm("a1") = base;
    register uint64_t v asm("a0");
    n_reads++;
    asm volatile("c.lw a0, 4(a1)" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static uint64_t mmio_c_ld_counters(uint64_t base)
{
    register uint64_t a asm("a2") = base;
    register uint64_t v asm("a3");
    n_reads++;
    asm volatile("c.ld a3, 8(a2)" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static void mmio_c_sw_scratch(uint64_t base, uint64_t val)
{
    register uint64_t a asm("s1") = base;
    register uint64_t v asm("a5") = val;
    n_writes++;
    asm volatile("c.sw a5, 4(s1)" :: "r"(v), "r"(a) : "memory");
}

/* ------------------------------------------------------------ console */
static void legacy_puts(const char *s)
{
    for (; *s; s++) {
        register unsigned long a0 asm("a0") = (unsigned char)*s;
        register unsigned long a7 asm("a7") = SBI_EXT_LEGACY_CONSOLE_PUTCHAR;
        asm volatile("ecall" : "+r"(a0) : "r"(a7) : "a1", "memory");
    }
}

static void uart_puts(const char *s)
{
    volatile uint8_t *uart = (volatile uint8_t *)GUEST_UART_GPA;
    for (; *s; s++) {
        while (!(uart[5] & 0x20))      /* LSR.THRE */
            ;
        uart[0] = (uint8_t)*s;
    }
}

/* ------------------------------------------------------------ phases */
static void check_mmio(const char *tag, uint64_t base)
{
    char name[96];
#define C(what, got, want) do { snprintf(name, sizeof(name), "%s " what, tag); \
                                check(name, got, want); } while (0)
    C("lw MAGIC (sign-extended)", mmio_lw(base + VDEV_MAGIC_OFF), 0xffffffffc0de5eedUL);
    C("lwu MAGIC", mmio_lwu(base + VDEV_MAGIC_OFF), 0xc0de5eedUL);
    C("lb MAGIC+0", mmio_lb(base + VDEV_MAGIC_OFF), 0xffffffffffffffedUL);
    C("lbu MAGIC+0", mmio_lbu(base + VDEV_MAGIC_OFF), 0xedUL);
    C("lh MAGIC+2", mmio_lh(base + VDEV_MAGIC_OFF + 2), 0xffffffffffffc0deUL);
    C("lhu MAGIC+2", mmio_lhu(base + VDEV_MAGIC_OFF + 2), 0xc0deUL);
    mmio_sw(base + VDEV_SCRATCH_OFF, 0x12345678);
    C("sw/lw SCRATCH", mmio_lw(base + VDEV_SCRATCH_OFF), 0x12345678);
    mmio_sb(base + VDEV_SCRATCH_OFF + 1, 0xab);
    C("sb SCRATCH+1", mmio_lw(base + VDEV_SCRATCH_OFF), 0x1234ab78);
    mmio_sh(base + VDEV_SCRATCH_OFF + 2, 0x9876);
    C("sh SCRATCH+2", mmio_lwu(base + VDEV_SCRATCH_OFF), 0x9876ab78);
    mmio_c_sw_scratch(base, 0x0badcafe);
    C("c.sw/c.lw SCRATCH", mmio_c_lw_scratch(base), 0x0badcafe);
    C("ld MAGIC+SCRATCH", mmio_ld(base + VDEV_MAGIC_OFF), 0x0badcafec0de5eedUL);
    uint64_t want = n_writes | (n_reads << 32);
    C("c.ld WRITES+READS", mmio_c_ld_counters(base), want);
    mmio_sd(base + VDEV_MAGIC_OFF, 0x5a6b7c8d00000000UL);
    C("sd MAGIC+SCRATCH (MAGIC read-only)", mmio_ld(base + VDEV_MAGIC_OFF),
      0x5a6b7c8dc0de5eedUL);
#undef C
}

/*
 * Two VS timer interrupts, both taken at guest_irq_pc:
 *  A: set_timer with a deadline in the past. The host timer interrupt is
 *     pending as the hypervisor returns from the ecall, so it is taken
 *     (as a VM exit) before the next guest instruction; the hypervisor
 *     injects it with hvip.VSTIP.
 *  B: set_timer 1000000 ticks (100 ms) ahead, then wfi. With hstatus.VTW=1
 *     the wfi traps; the hypervisor waits for the host timer itself,
 *     injects VSTIP and skips the wfi.
 * The handler acknowledges with set_timer(-1), which clears VSTIP.
 */
static void check_timer(void)
{
    csr_set(sie, SIE_STIE);
    sbi_set_timer(0);
    guest_irq_window();
    check("timer A (deadline passed): one interrupt", timer_irqs, 1);
    check("timer A: scause = interrupt 5 (supervisor timer)", timer_scause, (1UL << 63) | 5);
    check("timer A: sepc = guest_irq_pc", timer_sepc, (uint64_t)guest_irq_pc);

    timer_sepc = timer_scause = 0;
    sbi_set_timer(rdtime() + 1000000);
    for (int i = 0; i < 100 && timer_irqs < 2; i++) {
        guest_vinst_wfi();
        guest_irq_window();
    }
    csr_clear(sie, SIE_STIE);
    check("timer B (wfi until the deadline): second interrupt", timer_irqs, 2);
    check("timer B: scause = interrupt 5 (supervisor timer)", timer_scause, (1UL << 63) | 5);
    check("timer B: sepc = guest_irq_pc", timer_sepc, (uint64_t)guest_irq_pc);
}

static uint64_t vs_root[512] __attribute__((aligned(4096), section(".bss.pagetables")));
static uint64_t vs_l1[512] __attribute__((aligned(4096), section(".bss.pagetables")));
static uint64_t vs_l0[512] __attribute__((aligned(4096), section(".bss.pagetables")));

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PPN(pa) (((uint64_t)(pa) >> 12) << 10)

static void enable_sv39(void)
{
    /* 0-1 GiB: devices, identity (UART, and the vdev at its GPA) */
    vs_root[0] = PPN(0) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    /* 2-3 GiB: RAM, identity (guest RAM is GPA 0x9000_0000-0x90ff_ffff) */
    vs_root[2] = PPN(0x80000000UL) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    /* 4 GiB: a second mapping of the vdev page through 4 KiB tables */
    vs_root[GUEST_VDEV_ALIAS_VA >> 30] = PPN(vs_l1) | PTE_V;
    vs_l1[(GUEST_VDEV_ALIAS_VA >> 21) & 0x1ff] = PPN(vs_l0) | PTE_V;
    vs_l0[(GUEST_VDEV_ALIAS_VA >> 12) & 0x1ff] = PPN(VDEV_GPA) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    asm volatile("sfence.vma" ::: "memory");
    csr_write(satp, (8UL << 60) | ((uint64_t)vs_root >> 12));
    asm volatile("sfence.vma" ::: "memory");
}

static long hyp_unmap(uint64_t gpa)
{
    long e = sbi_ecall(SBI_EXT_HYP, SBI_HYP_UNMAP_PAGE, gpa, 0, 0, 0, 0, 0).error;
    asm volatile("sfence.vma" ::: "memory");
    return e;
}

long guest_main(unsigned long hartid, unsigned long dtb)
{
    printf("guest: hello from VS-mode, hart %lu, dtb 0x%lx\n", hartid, dtb);
    check("vsatp is Bare at entry", csr_read(satp), 0);

    /* SBI BASE, as implemented by the hypervisor */
    long spec = sbi_get_spec_version();
    printf("guest: SBI spec %ld.%ld, impl id 0x%lx version %ld\n",
           (spec >> 24) & 0x7f, spec & 0xffffff, sbi_get_impl_id(), sbi_get_impl_version());
    check("SBI spec version 2.0", (uint64_t)spec, 2UL << 24);
    check("SBI impl id", (uint64_t)sbi_get_impl_id(), HYP_SBI_IMPL_ID);
    check("SBI probe DBCN", (uint64_t)sbi_probe_extension(SBI_EXT_DBCN), 1);
    check("SBI probe TIME", (uint64_t)sbi_probe_extension(SBI_EXT_TIME), 1);
    check("SBI probe SRST", (uint64_t)sbi_probe_extension(SBI_EXT_SRST), 1);
    check("SBI probe HYP", (uint64_t)sbi_probe_extension(SBI_EXT_HYP), 1);
    check("SBI probe HSM is absent", (uint64_t)sbi_probe_extension(SBI_EXT_HSM), 0);
    check("SBI unknown extension -> NOT_SUPPORTED",
          (uint64_t)sbi_ecall(0x0a000000, 0, 0, 0, 0, 0, 0, 0).error,
          (uint64_t)SBI_ERR_NOT_SUPPORTED);
    check("SBI console is DBCN", (uint64_t)sbi_console_has_dbcn(), 1);
    legacy_puts("guest: this line came through legacy putchar\n");
    uart_puts("guest: this line went straight to the passed-through UART\n");

    /* emulated device, vsatp Bare: GVA == GPA */
    check_mmio("vdev", VDEV_GPA);

    /* virtual-instruction exceptions */
    guest_vinst_wfi();
    check("wfi (VTW=1) skipped by the hypervisor", 1, 1);
    check("csrr hstatus from VS skipped, rd unchanged", (uint64_t)guest_vinst_csr(), 0x5e5e);

    /* VS timer interrupt */
    check_timer();

    /* Sv39 */
    enable_sv39();
    check("vsatp = Sv39", csr_read(satp) >> 60, 8);
    printf("guest: running with Sv39 (root 0x%lx)\n", (uint64_t)vs_root);
    check("Sv39 identity: lw vdev MAGIC", mmio_lw(VDEV_GPA + VDEV_MAGIC_OFF),
          0xffffffffc0de5eedUL);
    check("Sv39 alias 0x1_0000_1000: lwu vdev MAGIC",
          mmio_lwu(GUEST_VDEV_ALIAS_VA + VDEV_MAGIC_OFF), 0xc0de5eedUL);
    mmio_sw(GUEST_VDEV_ALIAS_VA + VDEV_SCRATCH_OFF, 0x11223344);
    check("Sv39 alias: sw SCRATCH, identity lw", mmio_lw(VDEV_GPA + VDEV_SCRATCH_OFF),
          0x11223344);

    /* G-stage unmap + remap, implicit (VS-stage walk) faults */
    check("HYP unmap of the VS L0 table page", (uint64_t)hyp_unmap((uint64_t)vs_l0), 0);
    check("alias lwu through an unmapped VS table page",
          mmio_lwu(GUEST_VDEV_ALIAS_VA + VDEV_MAGIC_OFF), 0xc0de5eedUL);
    check("HYP unmap of the VS L0 table page again", (uint64_t)hyp_unmap((uint64_t)vs_l0), 0);
    mmio_sw(GUEST_VDEV_ALIAS_VA + VDEV_SCRATCH_OFF, 0x5a6b7c8d);
    check("alias sw through an unmapped VS table page, identity lwu",
          mmio_lwu(VDEV_GPA + VDEV_SCRATCH_OFF), 0x5a6b7c8d);
    check("HYP unmap of a code page", (uint64_t)hyp_unmap((uint64_t)guest_remap_fn), 0);
    check("call into the unmapped code page", (uint64_t)guest_remap_fn(), 42);
    check("HYP unmap outside guest RAM fails", (uint64_t)hyp_unmap(VDEV_GPA),
          (uint64_t)SBI_ERR_INVALID_PARAM);
    return n_failed;
}
