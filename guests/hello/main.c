/*
 * hello: smallest hvtrace guest. Prints a greeting with the boot hart id,
 * the SBI spec version and implementation from the BASE extension, then
 * shuts down through SBI SRST (exit status 0).
 */
#include "lib.h"
#include "sbi.h"
#include "verdict.h"

static const char *impl_name(long id)
{
    switch (id) {
    case 0: return "Berkeley Boot Loader (BBL)";
    case 1: return "OpenSBI";
    case 2: return "Xvisor";
    case 3: return "KVM";
    case 4: return "RustSBI";
    case 5: return "Diosix";
    case 6: return "Coffer";
    case 7: return "Xen Project";
    case 8: return "PolarFire Hart Software Services";
    default: return "unknown";
    }
}

int main(unsigned long hartid, unsigned long dtb)
{
    (void)dtb;
    printf("Hello from hvtrace guest on hart %lu\n", hartid);
    long spec = sbi_get_spec_version();
    long impl = sbi_get_impl_id();
    long implv = sbi_get_impl_version();
    printf("SBI spec version %ld.%ld\n", (spec >> 24) & 0x7f, spec & 0xffffff);
    printf("SBI impl id %ld (%s), impl version 0x%lx\n", impl, impl_name(impl), implv);
    printf("SBI console: %s\n", sbi_console_has_dbcn() ? "DBCN" : "legacy putchar");
#ifdef HELLO_FAIL_CODE
    fail(HELLO_FAIL_CODE);   /* only in the test variant built by `make fail-test` */
#endif
    sbi_shutdown();
}
