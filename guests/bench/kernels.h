/* Portable compute kernels of the bench guest (also build on a host with
 * -DBENCH_HOST, see host_check.sh, to confirm the expected checksums). */
#ifndef BENCH_KERNELS_H
#define BENCH_KERNELS_H

#ifdef BENCH_HOST
#include <stdint.h>
#include <stddef.h>
#else
#include "types.h"
#endif

/* Work sizes (chosen for roughly 300 million guest instructions). */
#define SORT_N        32768
#define SORT_ROUNDS   6
#define HASH_LEN      (256 * 1024)
#define HASH_ROUNDS   14
#define MATI_N        112
#define MATI_REPS     6
#define MATD_N        112
#define MATD_REPS     6

/* Each kernel returns a checksum; *err is set non-zero on a self-check
 * failure (e.g. the two sorts disagree). */
uint64_t bench_sort(int *err);
uint64_t bench_hash(int *err);
uint64_t bench_matmul_int(int *err);
uint64_t bench_matmul_double(int *err);
uint64_t bench_combine(const uint64_t *sums, int n);

#endif
