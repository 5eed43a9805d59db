/*
 * isa-check: RV64GC self-check in S-mode.
 *
 * Prints "ok <name>" or "FAIL <name>: got X expected Y" for every check,
 * then "isa-check: N/M passed" and the verdict (PASS / FAIL <failures>).
 */
#include "check.h"
#include "verdict.h"

int n_checks, n_passed;

void check_result(const char *name, int ok, const char *detail)
{
    n_checks++;
    if (ok) {
        n_passed++;
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
    }
}

int check(const char *name, uint64_t got, uint64_t expected)
{
    char detail[80];
    int ok = got == expected;
    if (!ok)
        snprintf(detail, sizeof(detail), "got 0x%lx expected 0x%lx", got, expected);
    check_result(name, ok, ok ? "" : detail);
    return ok;
}

int checkf(uint64_t got, uint64_t expected, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    return check(name, got, expected);
}

int main(unsigned long hartid, unsigned long dtb)
{
    (void)dtb;
    printf("isa-check: RV64GC self-check on hart %lu\n", hartid);
    check_rv64i();
    check_rv64m();
    check_rv64a();
    check_fp();
    check_fp_misc();
    check_rvc();
    check_zicsr();
    check_zifencei();
    check_traps();
    printf("isa-check: %d/%d passed\n", n_passed, n_checks);
    if (n_passed == n_checks)
        return 0;
    int failed = n_checks - n_passed;
    return failed > 250 ? 250 : failed;
}
