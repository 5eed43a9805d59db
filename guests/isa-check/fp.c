/*
 * F and D checks driven by the generated table in fp_gen.h (see gen_fp.py).
 *
 * One check per (operation, operands) case. Rounding operations are run in
 * all five static rounding modes (with frm deliberately set to a different
 * mode) and again in the dynamic mode with frm set to each mode; each run
 * must match the expected result bits and fflags exactly.
 */
#include "check.h"
#include "fp_gen.h"

static const char *const rm_names[5] = { "rne", "rtz", "rdn", "rup", "rmm" };

static void set_frm(unsigned rm)
{
    asm volatile("fsrm %0" :: "r"((uint64_t)rm));
}

void check_fp(void)
{
    int index[FP_NOPS];
    memset(index, 0, sizeof(index));

    for (unsigned i = 0; i < ARRAY_SIZE(fp_cases); i++) {
        const struct fp_case *c = &fp_cases[i];
        const struct fp_opinfo *oi = &fp_ops[c->op];
        int idx = index[c->op]++;
        int nrm = oi->rounding ? 5 : 1;
        int ok = 1;
        for (int rm = 0; rm < nrm; rm++) {
            for (int dyn = 0; dyn < (oi->rounding ? 2 : 1); dyn++) {
                fpstub_t stub;
                if (dyn) {
                    set_frm(rm);
                    stub = oi->stub[5];
                } else {
                    set_frm((rm + 2) % 5);   /* must not matter */
                    stub = oi->stub[rm];
                }
                struct fpret res = stub(c->a, c->b, c->c);
                if (res.value != c->r[rm] || res.flags != c->flags[rm]) {
                    ok = 0;
                    printf("FAIL %s #%d %s%s: got 0x%016lx fflags 0x%02lx expected 0x%016lx "
                           "fflags 0x%02x (a=0x%lx b=0x%lx c=0x%lx)\n",
                           oi->name, idx, oi->rounding ? rm_names[rm] : "",
                           dyn ? "/dyn" : "", res.value, res.flags, c->r[rm],
                           c->flags[rm], c->a, c->b, c->c);
                }
            }
        }
        n_checks++;
        if (ok) {
            n_passed++;
            printf("ok %s #%d\n", oi->name, idx);
        }
    }
    set_frm(0);
}
