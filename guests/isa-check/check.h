#ifndef ISA_CHECK_H
#define ISA_CHECK_H

#include "lib.h"

/* One line per check: "ok <name>" or "FAIL <name>: got X expected Y". */
extern int n_checks, n_passed;

/* Plain 64-bit value check; returns 1 if equal. */
int check(const char *name, uint64_t got, uint64_t expected);
/* Like check() with a printf-formatted name. */
int checkf(uint64_t got, uint64_t expected, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record an externally decided check; detail is printed after "FAIL <name>: ". */
void check_result(const char *name, int ok, const char *detail);

void check_rv64i(void);
void check_rv64m(void);
void check_rv64a(void);
void check_fp(void);
void check_fp_misc(void);
void check_rvc(void);
void check_zicsr(void);
void check_zifencei(void);
void check_traps(void);

/* Keep the compiler from constant-folding an operand. */
#define OPQ(x) ({ __typeof__(x) __v = (x); asm volatile("" : "+r"(__v)); __v; })

/* Register-register / register-immediate instruction wrappers */
#define RR(insn, a, b) ({ uint64_t __r; \
    asm volatile(insn " %0, %1, %2" : "=r"(__r) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); __r; })
#define RI(insn, a, imm) ({ uint64_t __r; \
    asm volatile(insn " %0, %1, %2" : "=r"(__r) : "r"((uint64_t)(a)), "i"(imm)); __r; })

#endif
