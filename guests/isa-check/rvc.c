/* Checks for explicitly encoded compressed instructions (rvc.S). */
#include "check.h"

#define RVC_NRESULTS 32
void rvc_test(uint64_t *out);

static const struct { const char *name; uint64_t expected; } rvc_expected[RVC_NRESULTS] = {
    { "c.li -32", 0xffffffffffffffe0UL },
    { "c.lui negative", 0xfffffffffffff000UL },
    { "c.lui 31", 0x1f000 },
    { "c.addi", 0xffffffffffffffffUL },
    { "c.slli 31", 0x80000000UL },
    { "c.addiw 0 (sext.w)", 0xffffffff80000000UL },
    { "c.addiw -1", 0x7fffffff },
    { "c.slli 63", 0x8000000000000000UL },
    { "c.srai 63", 0xffffffffffffffffUL },
    { "c.srli 63", 1 },
    { "c.srai 32", 0xffffffff80000000UL },
    { "c.srli 1", 0x7fffffffc0000000UL },
    { "c.andi -32", 0xffffffffffffffe0UL },
    { "c.and", 0x12345660 },
    { "c.or", 0xfffffffffffffff8UL },
    { "c.xor", 0xffffffffedcba998UL },
    { "c.sub", 0x12345698 },
    { "c.addw", 0xffffffff80000000UL },
    { "c.subw", 0xffffffff80000002UL },
    { "c.add/c.mv", 42 },
    { "c.swsp/c.lwsp sign-ext", 0xffffffff80000001UL },
    { "c.sdsp/c.ldsp", 0xffffffff80000001UL },
    { "c.addi4spn", 24 },
    { "c.sw/c.ld", 0x0000000580000001UL },
    { "c.lw", 5 },
    { "c.fldsp/c.fsdsp", 0x400921fb54442d18UL },
    { "c.fld/c.fsd", 0x400921fb54442d18UL },
    { "c.beqz/c.bnez", 10 },
    { "c.j", 3 },
    { "c.jalr link", 0 },
    { "c.jr", 8 },
    { "c.addi16sp", 496 },
};

void check_rvc(void)
{
    uint64_t out[RVC_NRESULTS];
    memset(out, 0xa5, sizeof(out));
    rvc_test(out);
    for (int i = 0; i < RVC_NRESULTS; i++)
        check(rvc_expected[i].name, out[i], rvc_expected[i].expected);
}
