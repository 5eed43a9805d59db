/* FP state (NaN-boxing through memory, fcsr aliasing, FS), Zicsr,
 * Zifencei, and trap checks. */
#include "check.h"
#include "asm.h"
#include "sbi.h"
#include "verdict.h"

#define C(name, got, exp) check(name, (uint64_t)(got), (uint64_t)(exp))

void check_fp_misc(void)
{
    static volatile uint64_t mem[4];
    uint64_t r, fl;

    /* fld of a value that is not NaN-boxed: single ops see canonical NaN */
    mem[0] = 0x000000003f800000UL;      /* 1.0f without the boxing ones */
    asm volatile("fld ft0, 0(%2)\n\t"
                 "fsflags zero\n\t"
                 "fadd.s ft1, ft0, ft0\n\t"
                 "frflags %1\n\t"
                 "fmv.x.d %0, ft1"
                 : "=r"(r), "=r"(fl) : "r"(mem) : "ft0", "ft1", "memory");
    C("nan-box: fld unboxed -> fadd.s", r, 0xffffffff7fc00000UL);
    C("nan-box: fadd.s on unboxed flags", fl, 0);
    mem[0] = 0xffffffff3f800000UL;      /* properly boxed 1.0f */
    asm volatile("fld ft0, 0(%1)\n\t"
                 "fadd.s ft1, ft0, ft0\n\t"
                 "fmv.x.d %0, ft1"
                 : "=r"(r) : "r"(mem) : "ft0", "ft1", "memory");
    C("nan-box: fld boxed -> fadd.s", r, 0xffffffff40000000UL);
    mem[0] = 0x123456789abcdef0UL;
    asm volatile("fld ft0, 0(%1)\n\t"
                 "fmv.x.w %0, ft0"
                 : "=r"(r) : "r"(mem) : "ft0", "memory");
    C("nan-box: fmv.x.w reads low bits", r, 0xffffffff9abcdef0UL);
    mem[1] = 0;
    asm volatile("fld ft0, 0(%0)\n\t"
                 "fsw ft0, 8(%0)"
                 :: "r"(mem) : "ft0", "memory");
    C("nan-box: fsw stores low bits", mem[1], 0x9abcdef0UL);
    mem[2] = 0x00000000bf800000UL;      /* flw loads -1.0f and boxes it */
    asm volatile("flw ft0, 16(%0)\n\t"
                 "fsd ft0, 24(%0)"
                 :: "r"(mem) : "ft0", "memory");
    C("nan-box: flw boxes", mem[3], 0xffffffffbf800000UL);
    asm volatile("fmv.w.x ft0, %1\n\t"
                 "fmv.x.d %0, ft0"
                 : "=r"(r) : "r"(0x55555555c0000000UL) : "ft0");
    C("nan-box: fmv.w.x boxes", r, 0xffffffffc0000000UL);
    mem[0] = 0x7ff0000000000001UL;      /* sNaN double read as single: unboxed */
    asm volatile("fld ft0, 0(%2)\n\t"
                 "fsflags zero\n\t"
                 "fcvt.d.s ft1, ft0\n\t"
                 "frflags %1\n\t"
                 "fmv.x.d %0, ft1"
                 : "=r"(r), "=r"(fl) : "r"(mem) : "ft0", "ft1", "memory");
    C("nan-box: fcvt.d.s of unboxed", r, 0x7ff8000000000000UL);
    C("nan-box: fcvt.d.s of unboxed flags", fl, 0);

    /* fcsr / frm / fflags aliasing */
    asm volatile("csrw fcsr, %0" :: "r"(0xffUL));
    C("fcsr write 0xff: frm", csr_read(frm), 7);
    C("fcsr write 0xff: fflags", csr_read(fflags), 0x1f);
    C("fcsr write 0xff: fcsr", csr_read(fcsr), 0xff);
    csr_write(frm, 3);
    C("frm write -> fcsr", csr_read(fcsr), 0x7f);
    csr_write(fflags, 0);
    C("fflags write -> fcsr", csr_read(fcsr), 0x60);
    asm volatile("csrw fcsr, %0" :: "r"(0xffffff01UL));
    C("fcsr upper bits ignored", csr_read(fcsr), 0x01);
    asm volatile("fsrm %0, %1" : "=r"(r) : "r"(2UL));
    C("fsrm returns old frm", r, 0);
    asm volatile("fsflags %0, %1" : "=r"(r) : "r"(0x10UL));
    C("fsflags returns old fflags", r, 0x01);
    C("fsflags/fsrm -> fcsr", csr_read(fcsr), 0x50);
    asm volatile("csrrsi %0, fflags, 0x4" : "=r"(r));
    C("csrrsi fflags", csr_read(fcsr), 0x54);
    asm volatile("csrrci %0, frm, 0x2" : "=r"(r));
    C("csrrci frm old", r, 2);
    C("csrrci frm -> fcsr", csr_read(fcsr), 0x14);
    csr_write(fcsr, 0);
    /* fflags accumulate */
    {
        double one = OPQ(1.0), three = OPQ(3.0), zero = OPQ(0.0);
        volatile double q = one / three;   /* NX */
        volatile double z = one / zero;    /* DZ */
        (void)q;
        (void)z;
        C("fflags accumulate", csr_read(fflags), 0x09);
        csr_write(fflags, 0);
    }
    /* sstatus.FS is Dirty after FP state changed; SD reflects it */
    {
        uint64_t s = csr_read(sstatus);
        C("sstatus.FS dirty", (s & SSTATUS_FS_MASK) >> 13, 3);
        C("sstatus.SD", s >> 63, 1);
    }
}

void check_zicsr(void)
{
    uint64_t r;
    csr_write(sscratch, 0x1234);
    asm volatile("csrrw %0, sscratch, %1" : "=r"(r) : "r"(0xff00UL));
    C("csrrw old", r, 0x1234);
    C("csrrw new", csr_read(sscratch), 0xff00);
    asm volatile("csrrs %0, sscratch, %1" : "=r"(r) : "r"(0x00ffUL));
    C("csrrs old", r, 0xff00);
    C("csrrs new", csr_read(sscratch), 0xffff);
    asm volatile("csrrc %0, sscratch, %1" : "=r"(r) : "r"(0x0f0fUL));
    C("csrrc old", r, 0xffff);
    C("csrrc new", csr_read(sscratch), 0xf0f0);
    asm volatile("csrrs %0, sscratch, x0" : "=r"(r));
    C("csrrs x0 reads", r, 0xf0f0);
    asm volatile("csrrwi %0, sscratch, 0x1f" : "=r"(r));
    C("csrrwi old", r, 0xf0f0);
    C("csrrwi new", csr_read(sscratch), 0x1f);
    asm volatile("csrrci %0, sscratch, 0x15" : "=r"(r));
    C("csrrci old", r, 0x1f);
    C("csrrci new", csr_read(sscratch), 0x0a);
    asm volatile("csrrsi %0, sscratch, 0x11" : "=r"(r));
    C("csrrsi old", r, 0x0a);
    C("csrrsi new", csr_read(sscratch), 0x1b);
    asm volatile("csrrwi %0, sscratch, 0" : "=r"(r));
    C("csrrwi 0", csr_read(sscratch), 0);
    csr_write(sscratch, -1);
    C("sscratch 64-bit", csr_read(sscratch), -1);
    asm volatile("csrrw x0, sscratch, %0" :: "r"(7UL));
    C("csrrw rd=x0", csr_read(sscratch), 7);
    csr_write(sscratch, 0);

    /* counters: cycle and instret strictly increase, time never decreases
     * and eventually advances. Values are not printed (not deterministic). */
    uint64_t c1 = rdcycle(), i1 = rdinstret(), t1 = rdtime();
    for (volatile int i = 0; i < 1000; i++)
        ;
    uint64_t c2 = rdcycle(), i2 = rdinstret(), t2 = rdtime();
    C("cycle increases", c2 > c1, 1);
    C("instret increases", i2 > i1, 1);
    C("time monotonic", t2 >= t1, 1);
    uint64_t t3 = t2;
    for (long n = 0; n < 100000000L && t3 == t2; n++)
        t3 = rdtime();
    C("time advances", t3 > t2, 1);
}

/* Code written at run time: addi a0, a0, IMM ; ret */
static uint32_t jit_buf[4] __attribute__((aligned(16)));

static uint64_t run_jit(uint64_t arg)
{
    uint64_t (*fn)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)jit_buf;
    return fn(arg);
}

void check_zifencei(void)
{
    volatile uint32_t *b = jit_buf;
    b[0] = 0x02a50513;     /* addi a0, a0, 42 */
    b[1] = 0x00008067;     /* ret (jalr x0, 0(ra)) */
    asm volatile("fence.i" ::: "memory");
    C("fence.i: run written code", run_jit(100), 142);
    b[0] = 0x00750513;     /* addi a0, a0, 7 */
    asm volatile("fence.i" ::: "memory");
    C("fence.i: run rewritten code", run_jit(100), 107);
    b[0] = 0x8082c111;     /* c.beqz a0, +4 ; c.jr ra   (RVC) */
    b[1] = 0x8082157d;     /* c.addi a0, -1 ; c.jr ra */
    asm volatile("fence.i" ::: "memory");
    C("fence.i: compressed code", run_jit(5), 5);
    C("fence.i: compressed code branch", run_jit(0), 0xffffffffffffffffUL);
}

/* ------------------------------------------------------------------ traps */

static volatile uint64_t trap_count, trap_cause, trap_epc, trap_tval;
static volatile int trap_expected;

void trap_handler(struct trap_frame *tf)
{
    if (!trap_expected) {
        printf("unexpected trap: scause=0x%lx sepc=0x%lx stval=0x%lx\n",
               tf->scause, tf->sepc, tf->stval);
        fail(TRAP_FAIL_CODE);
    }
    trap_count++;
    trap_cause = tf->scause;
    trap_epc = tf->sepc;
    trap_tval = tf->stval;
    if ((int64_t)tf->scause < 0) {
        /* interrupt: only the supervisor timer is expected */
        if ((tf->scause & 0xff) == 5)
            sbi_set_timer(UINT64_MAX);
        return;
    }
    /* exception: skip the faulting instruction */
    uint16_t lo = *(volatile uint16_t *)tf->sepc;
    tf->sepc += (lo & 3) == 3 ? 4 : 2;
}

static void expect_trap(void)
{
    trap_count = 0;
    trap_cause = trap_epc = trap_tval = 0;
    trap_expected = 1;
}

void check_traps(void)
{
    uint64_t at;

    expect_trap();
    asm volatile(".option push\n\t.option norvc\n"
                 "lla %0, 1f\n"
                 "1: ebreak\n"
                 ".option pop" : "=&r"(at) :: "memory");
    C("ebreak: scause", trap_cause, 3);
    C("ebreak: sepc", trap_epc, at);
    C("ebreak: one trap", trap_count, 1);

    expect_trap();
    asm volatile(".option push\n\t.option rvc\n"
                 "lla %0, 1f\n"
                 "1: c.ebreak\n"
                 ".option pop" : "=&r"(at) :: "memory");
    C("c.ebreak: scause", trap_cause, 3);
    C("c.ebreak: sepc", trap_epc, at);

    expect_trap();
    asm volatile("lla %0, 1f\n"
                 "1: .4byte 0x0000000b\n"       /* custom-0: not implemented */
                 : "=&r"(at) :: "memory");
    C("illegal insn: scause", trap_cause, 2);
    C("illegal insn: sepc", trap_epc, at);

    /* FP instructions trap while sstatus.FS = Off */
    expect_trap();
    csr_clear(sstatus, SSTATUS_FS_MASK);
    asm volatile("lla %0, 1f\n"
                 "1: fadd.d ft0, ft0, ft0\n"
                 : "=&r"(at) :: "ft0", "memory");
    csr_set(sstatus, SSTATUS_FS_INITIAL);
    C("FS=Off: fadd.d traps", trap_cause, 2);
    C("FS=Off: sepc", trap_epc, at);

    /* invalid frm with a dynamic-rounding instruction */
    expect_trap();
    csr_write(frm, 5);
    asm volatile("lla %0, 1f\n"
                 "1: fadd.d ft0, ft0, ft0, dyn\n"
                 : "=&r"(at) :: "ft0", "memory");
    csr_write(frm, 0);
    C("frm=5: dyn op traps", trap_cause, 2);
    C("frm=5: sepc", trap_epc, at);

    /* Supervisor timer interrupt. Interrupts stay globally disabled while
     * waiting in wfi (wfi still wakes up on a pending enabled interrupt),
     * and are opened for exactly one instruction boundary, so the trap is
     * always taken at label 2 whatever the timing. */
    expect_trap();
    uint64_t where = 0;
    csr_set(sie, SIE_STIE);
    sbi_set_timer(rdtime() + 10000);     /* 1 ms at 10 MHz */
    while (!trap_count) {
        asm volatile("lla %0, 2f\n\t"
                     "wfi\n\t"
                     "csrsi sstatus, 2\n"
                     "2: csrci sstatus, 2\n"
                     : "=&r"(where) :: "memory");
    }
    csr_clear(sie, SIE_STIE);
    C("timer irq: scause", trap_cause, 0x8000000000000005UL);
    C("timer irq: sepc", trap_epc, where);
    C("timer irq: once", trap_count, 1);
    C("timer irq: STIP cleared", (csr_read(sip) >> 5) & 1, 0);
    trap_expected = 0;
}
