#include "sbi.h"
#include "asm.h"

struct sbiret sbi_ecall(unsigned long eid, unsigned long fid,
                        unsigned long arg0, unsigned long arg1,
                        unsigned long arg2, unsigned long arg3,
                        unsigned long arg4, unsigned long arg5)
{
    register unsigned long a0 asm("a0") = arg0;
    register unsigned long a1 asm("a1") = arg1;
    register unsigned long a2 asm("a2") = arg2;
    register unsigned long a3 asm("a3") = arg3;
    register unsigned long a4 asm("a4") = arg4;
    register unsigned long a5 asm("a5") = arg5;
    register unsigned long a6 asm("a6") = fid;
    register unsigned long a7 asm("a7") = eid;
    asm volatile("ecall"
                 : "+r"(a0), "+r"(a1)
                 : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
                 : "memory");
    struct sbiret ret = { (long)a0, (long)a1 };
    return ret;
}

/* Legacy extensions (v0.1): return value only in a0. */
static long sbi_legacy(unsigned long eid, unsigned long arg0)
{
    register unsigned long a0 asm("a0") = arg0;
    register unsigned long a7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "a1", "memory");
    return (long)a0;
}

long sbi_get_spec_version(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0, 0, 0, 0).value;
}

long sbi_get_impl_id(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0, 0, 0, 0).value;
}

long sbi_get_impl_version(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0, 0, 0, 0).value;
}

long sbi_probe_extension(unsigned long eid)
{
    struct sbiret r = sbi_ecall(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, eid, 0, 0, 0, 0, 0);
    return r.error ? 0 : r.value;
}

/* ---------------------------------------------------------------- console */
/* 0 = not probed yet, 1 = legacy putchar, 2 = DBCN */
static int console_mode;

void sbi_console_init(void)
{
    if (console_mode)
        return;
    console_mode = sbi_probe_extension(SBI_EXT_DBCN) ? 2 : 1;
}

int sbi_console_has_dbcn(void)
{
    sbi_console_init();
    return console_mode == 2;
}

void sbi_console_putchar(int ch)
{
    char c = (char)ch;
    sbi_console_write(&c, 1);
}

void sbi_console_write(const char *buf, unsigned long len)
{
    sbi_console_init();
    if (console_mode == 2) {
        /* satp is 0 or an identity map in every guest: VA == PA */
        while (len) {
            struct sbiret r = sbi_ecall(SBI_EXT_DBCN, 0, len,
                                        (unsigned long)buf, 0, 0, 0, 0);
            if (r.error || r.value <= 0 || (unsigned long)r.value > len)
                break;  /* give up rather than spin forever */
            buf += r.value;
            len -= r.value;
        }
        if (!len)
            return;
        /* fall through to the legacy path for whatever is left */
    }
    for (unsigned long i = 0; i < len; i++)
        sbi_legacy(SBI_EXT_LEGACY_CONSOLE_PUTCHAR, (unsigned char)buf[i]);
}

/* ---------------------------------------------------------------- timer */
static int time_mode;   /* 0 = not probed, 1 = legacy, 2 = TIME */

void sbi_set_timer(uint64_t stime_value)
{
    if (!time_mode)
        time_mode = sbi_probe_extension(SBI_EXT_TIME) ? 2 : 1;
    if (time_mode == 2)
        sbi_ecall(SBI_EXT_TIME, 0, stime_value, 0, 0, 0, 0, 0);
    else
        sbi_legacy(SBI_EXT_LEGACY_SET_TIMER, stime_value);
}

/* ---------------------------------------------------------------- reset */
void sbi_system_reset(uint32_t type, uint32_t reason)
{
    sbi_ecall(SBI_EXT_SRST, 0, type, reason, 0, 0, 0, 0);
}

void sbi_shutdown(void)
{
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_NONE);
    /* SRST missing or failed: legacy shutdown, then the test device */
    sbi_legacy(SBI_EXT_LEGACY_SHUTDOWN, 0);
    *(volatile uint32_t *)TEST_DEVICE_BASE = TEST_PASS;
    for (;;)
        asm volatile("wfi");
}

/* ---------------------------------------------------------------- HSM */
struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr,
                             unsigned long opaque)
{
    return sbi_ecall(SBI_EXT_HSM, 0, hartid, start_addr, opaque, 0, 0, 0);
}

struct sbiret sbi_hart_get_status(unsigned long hartid)
{
    return sbi_ecall(SBI_EXT_HSM, 2, hartid, 0, 0, 0, 0, 0);
}
