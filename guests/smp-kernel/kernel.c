/*
 * smp-kernel: a small multi-hart S-mode kernel (SBI payload at 0x80200000).
 *
 * Exercises SBI BASE/TIME/IPI/RFENCE/HSM/SRST (+DBCN when present), Sv39
 * paging, timer and software interrupts on every hart, remote fences,
 * U-mode syscalls and page faults, and PLIC-routed UART input.  See README.md.
 *
 * Determinism: only the boot hart prints, except "hart N up", which each
 * hart prints under the console spinlock when the boot hart gives it the
 * turn (in hart-id order).  Interrupts are only taken in a fixed window
 * right after a wfi (sstatus.SIE is otherwise 0 in S-mode).  No time values
 * are printed, and nothing printed depends on which hart OpenSBI picked as
 * the boot hart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "smpk.h"

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t i64;

#define TIMEBASE_HZ 10000000ULL /* QEMU virt timebase-frequency */
#define TICK (TIMEBASE_HZ / 100) /* 10 ms */

#define PAGE 4096ULL
#define MEGA (2ULL << 20)

/* ------------------------------------------------------------------ */
/* Low-level helpers                                                   */
/* ------------------------------------------------------------------ */

#define csr_read(csr) ({ u64 __v; __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_set(csr, val) __asm__ volatile("csrs " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_clear(csr, val) __asm__ volatile("csrc " #csr ", %0" :: "rK"((u64)(val)) : "memory")

#define SIE_SSIE (1UL << 1)
#define SIE_STIE (1UL << 5)
#define SIE_SEIE (1UL << 9)
#define SIP_SSIP (1UL << 1)
#define SIP_STIP (1UL << 5)

#define load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static inline u64 rdtime(void) { u64 t; __asm__ volatile("rdtime %0" : "=r"(t)); return t; }
static inline u32 this_hart(void) { u64 tp; __asm__ volatile("mv %0, tp" : "=r"(tp)); return (u32)tp; }
static inline void sfence_all(void) { __asm__ volatile("sfence.vma" ::: "memory"); }
static inline void sfence_va(u64 va) { __asm__ volatile("sfence.vma %0, zero" :: "r"(va) : "memory"); }

/* Interrupts are taken only here: sleep, then open a one-instruction window. */
static inline void wait_irq(void)
{
    __asm__ volatile("wfi\n\tcsrsi sstatus, 2\n\tcsrci sstatus, 2" ::: "memory");
}

static inline void mmio_w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u8 mmio_r8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u32 mmio_r32(u64 a) { return *(volatile u32 *)a; }

void *memset(void *d, int c, size_t n)
{
    volatile u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

/* ------------------------------------------------------------------ */
/* Symbols from start.S / linker.ld                                    */
/* ------------------------------------------------------------------ */

extern char _kernel_start[], _etext[], _erodata[], _kernel_end[];
extern char user_blob_start[], user_blob_end[];
extern void secondary_entry(void);
extern long run_user(u64 entry, u64 usp, u64 arg, void *pc);
extern void user_return(void *pc, long v) __attribute__((noreturn));
extern u64 probe_load(u64 addr);
extern void probe_store(u64 addr, u64 val);
extern void spin_lock(volatile u32 *l);
extern void spin_unlock(volatile u32 *l);
extern u32 lrsc_inc(volatile u32 *p);

u8 hart_stacks[MAX_HARTS][STACK_SIZE] __attribute__((aligned(16)));

struct percpu {
    u64 ksp;        /* PC_KSP: kernel sp for traps from U-mode */
    u64 usp;        /* PC_USP: scratch for the user sp */
    u64 hartid;     /* PC_HARTID: kernel tp */
    u64 jmpsp;      /* PC_JMPSP: run_user's saved sp */
    volatile u64 probe_active, probe_faulted, probe_cause, probe_stval;
};
_Static_assert(sizeof(struct percpu) == (1 << PC_SHIFT), "percpu size");
struct percpu percpu[MAX_HARTS] __attribute__((aligned(64)));

/* ------------------------------------------------------------------ */
/* SBI                                                                 */
/* ------------------------------------------------------------------ */

#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E
#define SBI_LEGACY_PUTCHAR 0x01
#define SBI_LEGACY_SHUTDOWN 0x08

#define SBI_ERR_INVALID_PARAM (-3)

#define HSM_STARTED 0
#define HSM_STOPPED 1

struct sbiret { long error; long value; };

static struct sbiret sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3)
{
    register u64 r0 __asm__("a0") = a0;
    register u64 r1 __asm__("a1") = a1;
    register u64 r2 __asm__("a2") = a2;
    register u64 r3 __asm__("a3") = a3;
    register u64 r6 __asm__("a6") = fid;
    register u64 r7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r6), "r"(r7) : "memory");
    struct sbiret r = { (long)r0, (long)r1 };
    return r;
}

static long sbi_legacy(u64 eid, u64 a0)
{
    register u64 r0 __asm__("a0") = a0;
    register u64 r7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r7) : "memory", "a1");
    return (long)r0;
}

static long sbi_set_timer(u64 t) { return sbi_call(SBI_EXT_TIME, 0, t, 0, 0, 0).error; }
static long sbi_send_ipi(u64 mask, u64 base) { fence(); return sbi_call(SBI_EXT_IPI, 0, mask, base, 0, 0).error; }
static struct sbiret sbi_hart_start(u64 h, u64 addr, u64 opaque) { return sbi_call(SBI_EXT_HSM, 0, h, addr, opaque, 0); }
static struct sbiret sbi_hart_get_status(u64 h) { return sbi_call(SBI_EXT_HSM, 2, h, 0, 0, 0); }

/* ------------------------------------------------------------------ */
/* Console (SBI DBCN if present, else legacy putchar) and kprintf       */
/* ------------------------------------------------------------------ */

static int have_dbcn;
static volatile u32 con_lock;

static void con_write(const char *s, size_t n)
{
    while (n && have_dbcn) {
        /* Buffers are in identity-mapped kernel memory: VA == PA. */
        struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, n, (u64)s, 0, 0);
        if (r.error || r.value <= 0 || (size_t)r.value > n) break;
        s += r.value;
        n -= (size_t)r.value;
    }
    while (n--) sbi_legacy(SBI_LEGACY_PUTCHAR, (u8)*s++);
}

struct obuf { char *p; size_t n, cap; };

static void ob_putc(struct obuf *o, char c)
{
    if (o->n < o->cap) o->p[o->n++] = c;
}

static void ob_num(struct obuf *o, u64 v, unsigned base, int width, char pad, int neg)
{
    char tmp[24];
    int i = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg) tmp[i++] = '-';
    while (i < width) tmp[i++] = pad;
    while (i) ob_putc(o, tmp[--i]);
}

static size_t vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct obuf o = { buf, 0, cap };
    for (; *fmt; fmt++) {
        if (*fmt != '%') { ob_putc(&o, *fmt); continue; }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') { lng = 1; fmt++; }
        switch (*fmt) {
        case 'd': {
            i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);
            ob_num(&o, v < 0 ? (u64)-v : (u64)v, 10, width, pad, v < 0);
            break;
        }
        case 'u': ob_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, 0); break;
        case 'x': ob_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, 0); break;
        case 'c': ob_putc(&o, (char)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s) ob_putc(&o, *s++);
            break;
        }
        case '%': ob_putc(&o, '%'); break;
        default: ob_putc(&o, '?'); break;
        }
        if (!*fmt) break;
    }
    return o.n;
}

static void kprintf(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    spin_lock(&con_lock);
    con_write(buf, n);
    spin_unlock(&con_lock);
}

/* ------------------------------------------------------------------ */
/* Checks and verdict                                                  */
/* ------------------------------------------------------------------ */

static u32 n_pass, n_fail, first_fail;

static void check(int ok, const char *what)
{
    u32 idx = n_pass + n_fail + 1;
#ifdef SMPK_FORCE_FAIL /* test hook for the failure exit path */
    if (idx == SMPK_FORCE_FAIL) ok = 0;
#endif
    if (ok) {
        n_pass++;
        return;
    }
    n_fail++;
    if (!first_fail) first_fail = idx > 255 ? 255 : idx;
    kprintf("check %u FAILED: %s\n", idx, what);
}

static void __attribute__((noreturn)) fail_exit(u32 code)
{
    code &= 0xff;
    if (!code) code = 255;
    kprintf("FAIL %u\n", code);
    /* SiFive test device: FINISHER_FAIL with the exit code in bits 31:16. */
    mmio_w32(TEST_BASE, 0x3333 | (code << 16));
    sbi_call(SBI_EXT_SRST, 0, 0, 1, 0, 0); /* shutdown, reason: system failure */
    for (;;) __asm__ volatile("wfi");
}

static void __attribute__((noreturn)) finish(void)
{
    kprintf("smp-kernel: %u checks passed, %u failed\n", n_pass, n_fail);
    if (n_fail) fail_exit(first_fail);
    kprintf("PASS\n");
    sbi_call(SBI_EXT_SRST, 0, 0, 0, 0, 0); /* shutdown, no reason */
    sbi_legacy(SBI_LEGACY_SHUTDOWN, 0);
    mmio_w32(TEST_BASE, 0x5555);
    for (;;) __asm__ volatile("wfi");
}

static void __attribute__((noreturn)) fatal(u32 code, const char *what, u64 a, u64 b, u64 c)
{
    kprintf("fatal: %s (0x%lx 0x%lx 0x%lx) on hart %u\n", what, a, b, c, this_hart());
    fail_exit(code);
}

/* ------------------------------------------------------------------ */
/* Page tables (Sv39)                                                  */
/* ------------------------------------------------------------------ */

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)

#define PT __attribute__((aligned(4096)))
static u64 pt_root[512] PT;
static u64 pt_low_l1[512] PT;   /* VA 0 .. 1 GiB: user pages, devices */
static u64 pt_low_l0[512] PT;   /* VA 0 .. 2 MiB: user pages, test device */
static u64 pt_uart_l0[512] PT;  /* VA 0x10000000 .. +2 MiB */
static u64 pt_sh_l1[512] PT;    /* VA 0x40000000 .. */
static u64 pt_sh_l0[512] PT;
static u64 pt_ram_l1[512] PT;   /* VA 0x80000000 .. 0xbfffffff */
static u64 pt_kern_l0[512] PT;  /* VA 0x80200000 .. +2 MiB (4 KiB pages) */

static u8 user_text_page[PAGE] PT;
static u8 user_stack_page[PAGE] PT;
static u8 demand_pool[2][PAGE] PT;
static u8 shared_old_page[PAGE] PT;
static u8 shared_new_page[PAGE] PT;
static u32 demand_used;

#define SHARED_OLD 0x0ddba11ULL
#define SHARED_NEW 0xc0ffeeULL
#define MEGA_MAGIC 0x6d656761706167ULL

static u64 satp_value;

static inline u64 pte_table(const void *t) { return (((u64)t >> 12) << 10) | PTE_V; }
static inline u64 pte_leaf(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags | PTE_V | PTE_A | PTE_D; }
static inline u64 *pte_next(u64 pte) { return (u64 *)((pte >> 10) << 12); }

/* Returns the leaf PTE for va (any level), or 0. */
static u64 *walk(u64 va)
{
    u64 *t = pt_root;
    for (int level = 2; level >= 0; level--) {
        u64 *e = &t[(va >> (12 + 9 * level)) & 511];
        if (!(*e & PTE_V)) return 0;
        if (*e & (PTE_R | PTE_W | PTE_X)) return e;
        if (level == 0) return 0;
        t = pte_next(*e);
    }
    return 0;
}

static void build_page_tables(void)
{
    /* Kernel image: 4 KiB pages, text RX, rodata R, data/bss RW. */
    for (u64 pa = (u64)_kernel_start; pa < (u64)_kernel_end; pa += PAGE) {
        u64 fl = pa < (u64)_etext ? (PTE_R | PTE_X) : pa < (u64)_erodata ? PTE_R : (PTE_R | PTE_W);
        pt_kern_l0[(pa >> 12) & 511] = pte_leaf(pa, fl | PTE_G);
    }
    pt_ram_l1[(KERNEL_BASE >> 21) & 511] = pte_table(pt_kern_l0);
    /* Rest of the first 32 MiB of RAM above the kernel's 2 MiB: megapages. */
    for (u64 pa = KERNEL_BASE + MEGA; pa < RAM_BASE + 32 * MEGA; pa += MEGA)
        pt_ram_l1[(pa >> 21) & 511] = pte_leaf(pa, PTE_R | PTE_W | PTE_G);
    pt_root[(RAM_BASE >> 30) & 511] = pte_table(pt_ram_l1);

    /* Low gigabyte: devices (kernel only) and the user region. */
    pt_root[0] = pte_table(pt_low_l1);
    pt_low_l1[0] = pte_table(pt_low_l0);
    pt_low_l0[TEST_BASE >> 12] = pte_leaf(TEST_BASE, PTE_R | PTE_W | PTE_G);
    pt_low_l0[USER_TEXT_VA >> 12] = pte_leaf((u64)user_text_page, PTE_U | PTE_R | PTE_X);
    pt_low_l0[USER_STACK_VA >> 12] = pte_leaf((u64)user_stack_page, PTE_U | PTE_R | PTE_W);
    pt_low_l1[(PLIC_BASE >> 21) & 511] = pte_leaf(PLIC_BASE, PTE_R | PTE_W | PTE_G);
    pt_low_l1[((PLIC_BASE + MEGA) >> 21) & 511] = pte_leaf(PLIC_BASE + MEGA, PTE_R | PTE_W | PTE_G);
    pt_low_l1[(UART_BASE >> 21) & 511] = pte_table(pt_uart_l0);
    pt_uart_l0[(UART_BASE >> 12) & 511] = pte_leaf(UART_BASE, PTE_R | PTE_W | PTE_G);

    /* Shared page for the remote-fence test (4 KiB leaf, not global). */
    *(volatile u64 *)shared_old_page = SHARED_OLD;
    *(volatile u64 *)shared_new_page = SHARED_NEW;
    pt_root[(SHARED_VA >> 30) & 511] = pte_table(pt_sh_l1);
    pt_sh_l1[(SHARED_VA >> 21) & 511] = pte_table(pt_sh_l0);
    pt_sh_l0[(SHARED_VA >> 12) & 511] = pte_leaf((u64)shared_old_page, PTE_R | PTE_W);

    satp_value = (8ULL << 60) | ((u64)pt_root >> 12);
}

static void paging_on(void)
{
    fence();
    sfence_all();
    csr_write(satp, satp_value);
    sfence_all();
}

/* ------------------------------------------------------------------ */
/* Per-hart state, mailboxes                                           */
/* ------------------------------------------------------------------ */

enum { TM_NONE, TM_TICK, TM_WATCHDOG };

struct hartstate {
    volatile u32 ipi_count;
    volatile u32 ticks, tick_limit, timer_mode, wd_expired, early, spurious_timer;
    volatile u32 stip_after;
    volatile u64 deadline;
    volatile u32 online, printed, stop_error;
};
static struct hartstate hs[MAX_HARTS];

enum { CMD_TIMER = 1, CMD_PING, CMD_READ, CMD_STOP };

struct mbox {
    volatile u32 seq, cmd, ack;
    volatile u64 result;
};
static struct mbox mbox[MAX_HARTS];

static u32 boot_hart;
static u64 present_mask;      /* boot hart + started secondaries */
static u64 secondary_mask;
static u32 nharts;
static volatile u32 print_turn = ~0u;
static volatile u32 ping_counter;

/* PLIC / UART input */
static volatile u32 rx_len, rx_done, sei_count, sei_bad;
static char rx_buf[64];

/* U-mode */
enum { UR_EXIT = 1, UR_KILLED = 2 };
static struct { u64 code, cause, stval, sepc; u32 writes, demand_faults; } ures;

/* ------------------------------------------------------------------ */
/* Interrupt handlers                                                  */
/* ------------------------------------------------------------------ */

static void timer_irq(u32 h)
{
    struct hartstate *s = &hs[h];
    u64 now = rdtime();
    if (s->timer_mode == TM_TICK) {
        if (now < s->deadline) s->early++;
        s->ticks++;
        if (s->ticks < s->tick_limit) {
            s->deadline = now + TICK;
            sbi_set_timer(s->deadline);
        } else {
            sbi_set_timer(~0ULL);
        }
    } else if (s->timer_mode == TM_WATCHDOG) {
        s->wd_expired = 1;
        sbi_set_timer(~0ULL);
    } else {
        s->spurious_timer++;
        sbi_set_timer(~0ULL);
    }
}

#define PLIC_PRIO(src) (PLIC_BASE + 4 * (src))
#define PLIC_ENABLE(ctx) (PLIC_BASE + 0x2000 + 0x80 * (ctx))
#define PLIC_THRESH(ctx) (PLIC_BASE + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) (PLIC_THRESH(ctx) + 4)
#define S_CONTEXT(h) (2 * (h) + 1) /* QEMU virt: 2h = M-mode, 2h+1 = S-mode */

#define UART_RBR 0
#define UART_IER 1
#define UART_MCR 4
#define UART_LSR 5

static void uart_rx(void)
{
    while (mmio_r8(UART_BASE + UART_LSR) & 1) {
        char c = (char)mmio_r8(UART_BASE + UART_RBR);
        if (rx_done) continue;
        if (c == '\n') { rx_done = 1; continue; }
        if (c == '\r') continue;
        if (rx_len < sizeof rx_buf - 1) rx_buf[rx_len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
}

static void external_irq(u32 h)
{
    u32 ctx = S_CONTEXT(h);
    u32 id;
    sei_count++;
    while ((id = mmio_r32(PLIC_CLAIM(ctx))) != 0) {
        if (id == UART_IRQ) uart_rx();
        else sei_bad++;
        mmio_w32(PLIC_CLAIM(ctx), id);
    }
}

/* ------------------------------------------------------------------ */
/* U-mode support                                                      */
/* ------------------------------------------------------------------ */

static int user_range_ok(u64 va, u64 len)
{
    if (len > 256 || va >= USER_LIMIT_VA || va + len > USER_LIMIT_VA) return 0;
    for (u64 p = va & ~(PAGE - 1); p < va + len; p += PAGE) {
        u64 *e = walk(p);
        if (!e || (*e & (PTE_U | PTE_R)) != (PTE_U | PTE_R)) return 0;
    }
    return 1;
}

static void user_trap(u64 *tf, u32 h, u64 cause, u64 stval)
{
    u64 sepc = tf[TF_SEPC / 8];
    if (cause == 8) { /* ecall from U */
        u64 a0 = tf[10], a1 = tf[11], nr = tf[17];
        long ret;
        switch (nr) {
        case SYS_WRITE: {
            char buf[257];
            if (!user_range_ok(a0, a1)) { ret = -14; break; }
            csr_set(sstatus, SSTATUS_SUM);
            for (u64 i = 0; i < a1; i++) buf[i] = ((volatile char *)a0)[i];
            csr_clear(sstatus, SSTATUS_SUM);
            spin_lock(&con_lock);
            con_write(buf, a1);
            spin_unlock(&con_lock);
            ures.writes++;
            ret = (long)a1;
            break;
        }
        case SYS_GETPID:
            kprintf("user: getpid() = 1\n");
            ret = 1;
            break;
        case SYS_EXIT:
            ures.code = a0;
            user_return(&percpu[h], UR_EXIT);
        default:
            ret = -38;
            break;
        }
        tf[10] = (u64)ret;
        tf[TF_SEPC / 8] = sepc + 4;
        return;
    }
    if (cause == 15 && stval >= USER_DEMAND_VA && stval < USER_DEMAND_VA + PAGE && demand_used < 2) {
        u64 *e = &pt_low_l0[(stval >> 12) & 511];
        if (!(*e & PTE_V)) {
            u8 *pg = demand_pool[demand_used++];
            memset(pg, 0, PAGE);
            fence();
            *e = pte_leaf((u64)pg, PTE_U | PTE_R | PTE_W);
            sfence_va(stval);
            ures.demand_faults++;
            kprintf("user: store page fault at 0x%lx, mapped a fresh page\n", stval);
            return; /* retry the store */
        }
    }
    ures.cause = cause;
    ures.stval = stval;
    ures.sepc = sepc;
    user_return(&percpu[h], UR_KILLED);
}

/* ------------------------------------------------------------------ */
/* Trap handler                                                        */
/* ------------------------------------------------------------------ */

void trap_handler(u64 *tf)
{
    u32 h = this_hart();
    u64 cause = tf[TF_SCAUSE / 8], stval = tf[TF_STVAL / 8];
    if (cause >> 63) {
        switch (cause & 0xff) {
        case 1:
            csr_clear(sip, SIP_SSIP);
            hs[h].ipi_count++;
            return;
        case 5:
            timer_irq(h);
            return;
        case 9:
            external_irq(h);
            return;
        default:
            fatal(251, "unexpected interrupt", cause, tf[TF_SEPC / 8], 0);
        }
    }
    struct percpu *pc = &percpu[h];
    if (pc->probe_active && (cause == 5 || cause == 7 || cause == 13 || cause == 15)) {
        pc->probe_faulted = 1;
        pc->probe_cause = cause;
        pc->probe_stval = stval;
        pc->probe_active = 0;
        tf[TF_SEPC / 8] += 4; /* probes use a 4-byte (norvc) access */
        return;
    }
    if (!(tf[TF_SSTATUS / 8] & SSTATUS_SPP)) {
        user_trap(tf, h, cause, stval);
        return;
    }
    fatal(252, "unexpected exception in S-mode", cause, tf[TF_SEPC / 8], stval);
}

/* Access addr once; returns 1 if it faulted (cause/stval recorded). */
static int probe(int store, u64 addr, u64 *cause, u64 *stval)
{
    struct percpu *pc = &percpu[this_hart()];
    pc->probe_faulted = 0;
    pc->probe_cause = 0;
    pc->probe_stval = 0;
    pc->probe_active = 1;
    __asm__ volatile("" ::: "memory");
    if (store) probe_store(addr, probe_load(addr)); /* stores back the same value */
    else (void)probe_load(addr);
    __asm__ volatile("" ::: "memory");
    pc->probe_active = 0;
    *cause = pc->probe_cause;
    *stval = pc->probe_stval;
    return (int)pc->probe_faulted;
}

/* ------------------------------------------------------------------ */
/* Per-hart tests shared by boot and secondaries                       */
/* ------------------------------------------------------------------ */

static void timer_test(u32 h)
{
    struct hartstate *s = &hs[h];
    s->ticks = 0;
    s->early = 0;
    s->tick_limit = 3;
    s->timer_mode = TM_TICK;
    s->deadline = rdtime() + TICK;
    sbi_set_timer(s->deadline);
    csr_set(sie, SIE_STIE);
    while (s->ticks < 3) wait_irq();
    csr_clear(sie, SIE_STIE);
    s->timer_mode = TM_NONE;
    s->stip_after = (csr_read(sip) & SIP_STIP) != 0;
}

static void hart_common_init(u32 h)
{
    percpu[h].hartid = h;
    paging_on();
    sbi_set_timer(~0ULL);
    csr_write(sie, SIE_SSIE);
}

void __attribute__((noreturn)) secondary_main(u64 hartid)
{
    u32 h = (u32)hartid;
    hart_common_init(h);
    store_release(&hs[h].online, 1);
    sbi_send_ipi(1ULL << boot_hart, 0);

    /* Report in hart order: wait for our turn, print under the lock. */
    while (load_acquire(&print_turn) != h) __asm__ volatile("nop");
    kprintf("hart %u up\n", h);
    store_release(&hs[h].printed, 1);
    sbi_send_ipi(1ULL << boot_hart, 0);

    u32 last = 0;
    for (;;) {
        u32 seq;
        /* Each command comes with exactly one IPI: wait for both. */
        for (;;) {
            seq = load_acquire(&mbox[h].seq);
            if (seq != last && hs[h].ipi_count >= seq) break;
            wait_irq();
        }
        last = seq;
        switch (mbox[h].cmd) {
        case CMD_TIMER:
            timer_test(h);
            break;
        case CMD_PING:
            lrsc_inc(&ping_counter);
            mbox[h].result = hs[h].ipi_count;
            break;
        case CMD_READ:
            mbox[h].result = *(volatile u64 *)SHARED_VA;
            break;
        case CMD_STOP:
            store_release(&mbox[h].ack, seq);
            sbi_send_ipi(1ULL << boot_hart, 0);
            csr_write(sie, 0);
            hs[h].stop_error = (u32)sbi_call(SBI_EXT_HSM, 1, 0, 0, 0, 0).error;
            for (;;) __asm__ volatile("wfi");
        }
        store_release(&mbox[h].ack, seq);
        sbi_send_ipi(1ULL << boot_hart, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Boot-hart helpers                                                   */
/* ------------------------------------------------------------------ */

/* wfi-wait until pred() holds, with a timer watchdog; 1 on success. */
static int wait_for(int (*pred)(void), u32 ms)
{
    struct hartstate *s = &hs[boot_hart];
    if (pred()) return 1;
    s->wd_expired = 0;
    s->timer_mode = TM_WATCHDOG;
    sbi_set_timer(rdtime() + (u64)ms * (TIMEBASE_HZ / 1000));
    csr_set(sie, SIE_STIE);
    while (!pred() && !s->wd_expired) wait_irq();
    sbi_set_timer(~0ULL);
    csr_clear(sie, SIE_STIE);
    s->timer_mode = TM_NONE;
    return pred();
}

static u32 wait_hart;
static int pred_online(void) { return load_acquire(&hs[wait_hart].online) != 0; }
static int pred_printed(void) { return load_acquire(&hs[wait_hart].printed) != 0; }
static int pred_acks(void)
{
    for (u32 h = 0; h < MAX_HARTS; h++)
        if ((secondary_mask >> h & 1) && load_acquire(&mbox[h].ack) != mbox[h].seq) return 0;
    return 1;
}
static u32 self_ipi_target;
static int pred_self_ipi(void) { return hs[boot_hart].ipi_count >= self_ipi_target; }

static void post(u32 h, u32 cmd)
{
    mbox[h].cmd = cmd;
    store_release(&mbox[h].seq, mbox[h].seq + 1);
}

/* Give every secondary a command with one multi-hart IPI, wait for acks. */
static int broadcast(u32 cmd, const char *what)
{
    if (!secondary_mask) return 1;
    for (u32 h = 0; h < MAX_HARTS; h++)
        if (secondary_mask >> h & 1) post(h, cmd);
    long e = sbi_send_ipi(secondary_mask, 0);
    if (e) kprintf("sbi_send_ipi error %d (%s)\n", (int)e, what);
    int ok = wait_for(pred_acks, 2000);
    if (!ok) kprintf("timeout waiting for secondaries (%s)\n", what);
    return ok && !e;
}

static const char *impl_name(long id)
{
    static const char *const names[] = { "BBL", "OpenSBI", "Xvisor", "KVM", "RustSBI", "Diosix", "Coffer", "Xen",
                                         "PolarFire HSS", "coreboot", "oreboot", "bhyve" };
    if (id >= 0 && id < (long)(sizeof names / sizeof names[0])) return names[id];
    return 0;
}

static long probe_ext(u64 eid) { struct sbiret r = sbi_call(SBI_EXT_BASE, 3, eid, 0, 0, 0); return r.error ? 0 : r.value; }

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

/* ------------------------------------------------------------------ */
/* Boot hart                                                           */
/* ------------------------------------------------------------------ */

void __attribute__((noreturn)) kmain(u64 hartid, u64 dtb)
{
    boot_hart = (u32)hartid;

    /* ---- 1. banner, SBI version, extension probe ---- */
    struct sbiret ver = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0);
    have_dbcn = ver.error == 0 && probe_ext(SBI_EXT_DBCN) != 0;
    kprintf("smp-kernel: boot\n");
    if (hartid >= MAX_HARTS) fatal(253, "boot hart id too large", hartid, 0, 0);
    check(ver.error == 0 && ver.value >= 2, "SBI spec version >= 0.2");
    long impl = sbi_call(SBI_EXT_BASE, 1, 0, 0, 0, 0).value;
    const char *iname = impl_name(impl);
    if (iname)
        kprintf("sbi: spec %u.%u, implementation %s\n", (unsigned)((ver.value >> 24) & 0x7f),
                (unsigned)(ver.value & 0xffffff), iname);
    else
        kprintf("sbi: spec %u.%u, implementation id %d\n", (unsigned)((ver.value >> 24) & 0x7f),
                (unsigned)(ver.value & 0xffffff), (int)impl);
    static const struct { u64 eid; const char *name; } exts[] = {
        { SBI_EXT_TIME, "TIME" }, { SBI_EXT_IPI, "IPI" }, { SBI_EXT_RFENCE, "RFENCE" },
        { SBI_EXT_HSM, "HSM" },   { SBI_EXT_SRST, "SRST" },
    };
    for (u32 i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        long p = probe_ext(exts[i].eid);
        kprintf("sbi: probe %s: %s\n", exts[i].name, p ? "yes" : "NO");
        check(p != 0, exts[i].name);
    }
    kprintf("sbi: probe DBCN: %s\n", have_dbcn ? "yes (console via DBCN)" : "no (console via legacy putchar)");
    check(dtb != 0 && (dtb & 3) == 0 && be32((const u8 *)dtb) == 0xd00dfeed, "DTB magic");
    kprintf("dtb: magic ok\n");

    /* ---- 2. Sv39 paging ---- */
    if ((u64)_kernel_end > KERNEL_BASE + MEGA) fatal(254, "kernel image too large", (u64)_kernel_end, 0, 0);
    build_page_tables();
    *(volatile u64 *)MEGA_TEST_PA = MEGA_MAGIC;
    for (u32 i = 0; i < (u32)(user_blob_end - user_blob_start); i++) user_text_page[i] = (u8)user_blob_start[i];
    hart_common_init(boot_hart);
    check(csr_read(satp) == satp_value, "satp reads back mode 8 + root");
    kprintf("paging: Sv39 on (satp mode %u)\n", (unsigned)(csr_read(satp) >> 60));
    check(*(volatile u64 *)MEGA_TEST_PA == MEGA_MAGIC, "read through 2 MiB page");
    check(*(volatile u64 *)SHARED_VA == SHARED_OLD, "read through 4 KiB page at SHARED_VA");
    u64 cause, tval;
    int f = probe(1, (u64)_kernel_start, &cause, &tval);
    check(f && cause == 15 && tval == (u64)_kernel_start, "store to kernel text faults (15)");
    f = probe(0, USER_TEXT_VA, &cause, &tval);
    check(f && cause == 13 && tval == USER_TEXT_VA, "S-mode load of U page without SUM faults (13)");
    csr_set(sstatus, SSTATUS_SUM);
    f = probe(0, USER_TEXT_VA, &cause, &tval);
    csr_clear(sstatus, SSTATUS_SUM);
    check(!f, "S-mode load of U page with SUM succeeds");
    f = probe(0, USER_INVALID_VA, &cause, &tval);
    check(f && cause == 13 && tval == USER_INVALID_VA, "load of unmapped page faults (13)");
    kprintf("paging: 4 KiB + 2 MiB mappings ok, W^X and SUM enforced\n");

    /* ---- 3. HSM: start secondaries ---- */
    int first_absent = -1;
    u32 start_errors = 0;
    present_mask = 1ULL << boot_hart;
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (h == boot_hart) continue;
        percpu[h].hartid = h;
        u64 top = (u64)hart_stacks[h] + STACK_SIZE;
        struct sbiret r = sbi_hart_start(h, (u64)secondary_entry, top);
        if (r.error == 0) {
            secondary_mask |= 1ULL << h;
        } else if (r.error == SBI_ERR_INVALID_PARAM) {
            if (first_absent < 0) first_absent = (int)h;
        } else {
            start_errors++;
            kprintf("hsm: hart_start(%u) error %d\n", h, (int)r.error);
        }
    }
    check(start_errors == 0, "hart_start returns 0 or INVALID_PARAM");
    present_mask |= secondary_mask;
    nharts = (u32)__builtin_popcountll(present_mask);
    kprintf("hsm: started %u secondary hart(s), %u hart(s) online\n", nharts - 1, nharts);
    if (first_absent >= 0)
        check(sbi_hart_get_status((u64)first_absent).error == SBI_ERR_INVALID_PARAM,
              "get_status(absent hart) == INVALID_PARAM");
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(present_mask >> h & 1)) continue;
        int ok = 1;
        if (h != boot_hart) {
            wait_hart = h;
            ok = wait_for(pred_online, 2000);
            store_release(&print_turn, h);
            ok = ok && wait_for(pred_printed, 2000);
        } else {
            store_release(&print_turn, h);
            kprintf("hart %u up\n", h);
        }
        struct sbiret st = sbi_hart_get_status(h);
        check(ok && st.error == 0 && st.value == HSM_STARTED, "hart up and get_status == STARTED");
    }

    /* ---- 4. timer interrupts on every hart ---- */
    for (u32 h = 0; h < MAX_HARTS; h++)
        if (secondary_mask >> h & 1) post(h, CMD_TIMER);
    if (secondary_mask) sbi_send_ipi(secondary_mask, 0);
    timer_test(boot_hart);
    check(wait_for(pred_acks, 2000), "secondaries finished timer test");
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(present_mask >> h & 1)) continue;
        struct hartstate *s = &hs[h];
        kprintf("timer: hart %u ticks=%u\n", h, s->ticks);
        check(s->ticks == 3 && s->early == 0 && !s->stip_after && s->spurious_timer == 0,
              "3 timer ticks, none early, STIP clear after sbi_set_timer(-1)");
    }

    /* ---- 5. IPIs ---- */
    self_ipi_target = hs[boot_hart].ipi_count + 1;
    check(sbi_send_ipi(1ULL << boot_hart, 0) == 0, "self IPI sent");
    check(wait_for(pred_self_ipi, 1000), "self IPI received");
    ping_counter = 0;
    check(broadcast(CMD_PING, "ping"), "all secondaries answered the IPI");
    check(ping_counter == nharts - 1, "shared counter == number of secondaries");
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(present_mask >> h & 1)) continue;
        if (h != boot_hart) check(mbox[h].result == 2, "secondary took exactly one SSI per command");
        kprintf("ipi: hart %u ok\n", h);
    }
    kprintf("ipi: %u secondary hart(s) answered, counter=%u\n", nharts - 1, ping_counter);

    /* ---- 6. remote fences ---- */
    u64 old_seen[MAX_HARTS], new_seen[MAX_HARTS];
    check(broadcast(CMD_READ, "read old"), "secondaries read shared page (before)");
    for (u32 h = 0; h < MAX_HARTS; h++) old_seen[h] = mbox[h].result;
    old_seen[boot_hart] = *(volatile u64 *)SHARED_VA;
    pt_sh_l0[(SHARED_VA >> 12) & 511] = pte_leaf((u64)shared_new_page, PTE_R | PTE_W);
    fence();
    sfence_va(SHARED_VA);
    struct sbiret rf = sbi_call(SBI_EXT_RFENCE, 1, present_mask, 0, SHARED_VA, PAGE);
    check(rf.error == 0, "sbi_remote_sfence_vma");
    check(broadcast(CMD_READ, "read new"), "secondaries read shared page (after)");
    for (u32 h = 0; h < MAX_HARTS; h++) new_seen[h] = mbox[h].result;
    new_seen[boot_hart] = *(volatile u64 *)SHARED_VA;
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(present_mask >> h & 1)) continue;
        kprintf("rfence: hart %u: before 0x%lx, after 0x%lx\n", h, old_seen[h], new_seen[h]);
        check(old_seen[h] == SHARED_OLD && new_seen[h] == SHARED_NEW, "hart sees remapped page");
    }

    /* ---- 7. U-mode ---- */
    __asm__ volatile("fence.i" ::: "memory");
    static const char *const run_desc[] = { "syscalls + demand paging", "read of an invalid address",
                                            "read of a supervisor page" };
    static const u64 bad_addr[] = { 0, USER_INVALID_VA, KERNEL_BASE };
    for (u32 run = 0; run < 3; run++) {
        ures.code = ures.cause = ures.stval = ures.sepc = 0;
        ures.writes = ures.demand_faults = 0;
        kprintf("user: run %u: %s\n", run + 1, run_desc[run]);
        long kind = run_user(USER_TEXT_VA, USER_STACK_VA + PAGE, run, &percpu[boot_hart]);
        if (kind == UR_EXIT) kprintf("user: exit(%lu)\n", ures.code);
        else
            kprintf("user: killed: %s page fault (cause %lu), stval=0x%lx\n",
                    ures.cause == 13 ? "load" : ures.cause == 15 ? "store" : "other", ures.cause, ures.stval);
        if (run == 0) {
            check(kind == UR_EXIT && ures.code == 42, "user exit(42) (getpid()+41)");
            check(ures.writes == 2 && ures.demand_faults == 1, "two writes, one demand fault");
        } else {
            check(kind == UR_KILLED && ures.cause == 13 && ures.stval == bad_addr[run] &&
                      ures.sepc >= USER_TEXT_VA && ures.sepc < USER_TEXT_VA + PAGE && ures.writes == 1,
                  "user killed by load page fault with stval == address");
        }
    }

    /* ---- 8. UART input via PLIC ---- */
    {
        u32 h = boot_hart, ctx = S_CONTEXT(h);
        struct hartstate *s = &hs[h];
        rx_len = rx_done = sei_count = sei_bad = 0;
        mmio_w32(PLIC_PRIO(UART_IRQ), 1);
        mmio_w32(PLIC_THRESH(ctx), 0);
        mmio_w32(PLIC_ENABLE(ctx) + 4 * (UART_IRQ / 32),
                 mmio_r32(PLIC_ENABLE(ctx) + 4 * (UART_IRQ / 32)) | (1u << (UART_IRQ % 32)));
        u8 mcr = mmio_r8(UART_BASE + UART_MCR);
        mmio_w8(UART_BASE + UART_MCR, mcr | 0x08); /* OUT2: IRQ enable on PC-style 16550s */
        kprintf("input: waiting\n");
        mmio_w8(UART_BASE + UART_IER, 0x01); /* received-data-available interrupt */
        csr_set(sie, SIE_SEIE);
        s->ticks = 0;
        s->early = 0;
        s->tick_limit = 50;
        s->timer_mode = TM_TICK;
        s->deadline = rdtime() + TICK;
        sbi_set_timer(s->deadline);
        csr_set(sie, SIE_STIE);
        while (!rx_done && s->ticks < 50) wait_irq();
        sbi_set_timer(~0ULL);
        csr_clear(sie, SIE_STIE | SIE_SEIE);
        s->timer_mode = TM_NONE;
        mmio_w8(UART_BASE + UART_IER, 0);
        mmio_w8(UART_BASE + UART_MCR, mcr);
        mmio_w32(PLIC_ENABLE(ctx) + 4 * (UART_IRQ / 32),
                 mmio_r32(PLIC_ENABLE(ctx) + 4 * (UART_IRQ / 32)) & ~(1u << (UART_IRQ % 32)));
        rx_buf[rx_len] = 0;
        if (rx_done) kprintf("input: got '%s'\n", rx_buf);
        else if (rx_len) kprintf("input: got '%s' (no newline)\n", rx_buf);
        else kprintf("input: none\n");
        check(sei_bad == 0 && (rx_len == 0 || sei_count > 0), "PLIC delivered only the UART source");
    }

    /* ---- 9. stop the secondaries ---- */
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(secondary_mask >> h & 1)) continue;
        post(h, CMD_STOP);
        check(sbi_send_ipi(1, h) == 0, "send_ipi with hart_mask_base");
    }
    check(wait_for(pred_acks, 2000), "secondaries acknowledged stop");
    u32 stopped = 0;
    for (u32 h = 0; h < MAX_HARTS; h++) {
        if (!(secondary_mask >> h & 1)) continue;
        u64 t0 = rdtime();
        struct sbiret st;
        do st = sbi_hart_get_status(h);
        while (st.error == 0 && st.value != HSM_STOPPED && rdtime() - t0 < TIMEBASE_HZ);
        check(st.error == 0 && st.value == HSM_STOPPED, "secondary get_status == STOPPED");
        stopped += st.error == 0 && st.value == HSM_STOPPED;
    }
    struct sbiret st = sbi_hart_get_status(boot_hart);
    check(st.error == 0 && st.value == HSM_STARTED, "boot hart still STARTED");
    kprintf("stop: %u secondary hart(s) STOPPED\n", stopped);

    /* ---- 10. verdict ---- */
    finish();
}
