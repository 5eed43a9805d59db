#include "verdict.h"
#include "lib.h"
#include "sbi.h"
#include "asm.h"

void pass(void)
{
    puts("PASS");
    sbi_shutdown();
}

void fail(int code)
{
    printf("FAIL %d\n", code);
    uint32_t c = (uint32_t)code & 0xffff;
    if ((c & 0xff) == 0)
        c = 0xff;
    *(volatile uint32_t *)TEST_DEVICE_BASE = TEST_FAIL | (c << 16);
    /* test device absent: SRST with a failure reason */
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_FAILURE);
    sbi_shutdown();
}

void guest_exit(int ret)
{
    if (ret == 0)
        pass();
    fail(ret);
}

__attribute__((weak)) void trap_handler(struct trap_frame *tf)
{
    printf("unexpected trap: scause=0x%lx sepc=0x%lx stval=0x%lx\n",
           tf->scause, tf->sepc, tf->stval);
    fail(TRAP_FAIL_CODE);
}
