/*
 * bench: compute benchmark under Sv39 paging.
 *
 * Maps 0x0000_0000-0xBFFF_FFFF with three identity 1 GiB gigapages (so the
 * devices keep working), enables Sv39, runs sorting, hashing and integer /
 * double matrix multiply kernels, prints each checksum and a combined one,
 * and passes if all match the constants below (confirmed on the host with
 * host_check.sh and on QEMU 7.2).
 *
 * The last line before the verdict, "bench: instret <N>", is the number of
 * instructions retired by the kernels (rdinstret). On hvtrace and on QEMU
 * with -icount it is an instruction count; on plain QEMU instret follows the
 * host clock, so that line is the only output that may vary between runs.
 */
#include "lib.h"
#include "verdict.h"
#include "kernels.h"

#define EXPECTED_SORT     0x1df8834f58723049UL
#define EXPECTED_HASH     0x4ec9f854409b5a2cUL
#define EXPECTED_MATMUL_I 0xffa4a4ae22d35297UL
#define EXPECTED_MATMUL_D 0x9e779986efc51e68UL
#define EXPECTED_COMBINED 0xb110d1ed68d79a90UL

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define SATP_SV39 (8UL << 60)

static uint64_t root_pt[512] __attribute__((aligned(4096)));

static void enable_sv39(void)
{
    for (uint64_t i = 0; i < 3; i++)   /* 0-1, 1-2, 2-3 GiB */
        root_pt[i] = ((i << 30) >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    /* plus a read-only alias of the RAM gigapage at VA 4 GiB, to check that
     * translation really happens */
    root_pt[4] = ((2UL << 30) >> 12 << 10) | PTE_V | PTE_R | PTE_A;
    asm volatile("sfence.vma" ::: "memory");
    csr_write(satp, SATP_SV39 | ((uint64_t)(uintptr_t)root_pt >> 12));
    asm volatile("sfence.vma" ::: "memory");
}

struct kernel {
    const char *name;
    uint64_t (*fn)(int *err);
    uint64_t expected;
};

static const struct kernel kernels[] = {
    { "sort (quicksort + merge sort)", bench_sort, EXPECTED_SORT },
    { "hash (FNV-1a + CRC32)", bench_hash, EXPECTED_HASH },
    { "matmul int", bench_matmul_int, EXPECTED_MATMUL_I },
    { "matmul double", bench_matmul_double, EXPECTED_MATMUL_D },
};
#define NKERNELS ((int)ARRAY_SIZE(kernels))

int main(unsigned long hartid, unsigned long dtb)
{
    (void)dtb;
    printf("bench: hart %lu\n", hartid);
    enable_sv39();
    uint64_t satp = csr_read(satp);
    if ((satp >> 60) != 8) {
        printf("bench: Sv39 not accepted (satp=0x%lx)\n", satp);
        return 1;
    }
    volatile uint64_t *alias =
        (volatile uint64_t *)((uintptr_t)root_pt - 0x80000000UL + 0x100000000UL);
    if (alias[4] != root_pt[4]) {
        printf("bench: Sv39 alias read 0x%lx, expected 0x%lx\n", alias[4], root_pt[4]);
        return 2;
    }
    printf("bench: Sv39 identity map (3 x 1 GiB) enabled\n");

    uint64_t sums[NKERNELS];
    int errs[NKERNELS];
    uint64_t start = rdinstret();
    for (int i = 0; i < NKERNELS; i++) {
        errs[i] = 0;
        sums[i] = kernels[i].fn(&errs[i]);
    }
    uint64_t end = rdinstret();

    int bad = 0;
    for (int i = 0; i < NKERNELS; i++) {
        int ok = !errs[i] && sums[i] == kernels[i].expected;
        printf("bench: %-30s checksum 0x%016lx %s\n", kernels[i].name, sums[i],
               ok ? "ok" : (errs[i] ? "SELF-CHECK FAILED" : "MISMATCH"));
        if (!ok && !bad)
            bad = 10 + i;
    }
    uint64_t combined = bench_combine(sums, NKERNELS);
    int cok = combined == EXPECTED_COMBINED;
    printf("bench: combined checksum 0x%016lx %s\n", combined, cok ? "ok" : "MISMATCH");
    if (!cok && !bad)
        bad = 20;
    printf("bench: instret %lu\n", end - start);
    return bad;
}
