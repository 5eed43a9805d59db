#!/bin/sh
# Build the bench kernels for the host and print their checksums, to confirm
# the EXPECTED_* constants in main.c independently of any RISC-V emulator.
# (-ffp-contract=off matches the guest build, so doubles round identically.)
set -e
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/host_main.c" <<'C'
#include <stdio.h>
#include "kernels.h"
int main(void)
{
    int err = 0;
    uint64_t s[4];
    s[0] = bench_sort(&err);
    s[1] = bench_hash(&err);
    s[2] = bench_matmul_int(&err);
    s[3] = bench_matmul_double(&err);
    printf("sort     0x%016llx\n", (unsigned long long)s[0]);
    printf("hash     0x%016llx\n", (unsigned long long)s[1]);
    printf("matmul-i 0x%016llx\n", (unsigned long long)s[2]);
    printf("matmul-d 0x%016llx\n", (unsigned long long)s[3]);
    printf("combined 0x%016llx\n", (unsigned long long)bench_combine(s, 4));
    return err;
}
C
${HOSTCC:-cc} -O2 -ffp-contract=off -DBENCH_HOST -I"$here" -o "$tmp/bench-host" \
    "$tmp/host_main.c" "$here/kernels.c"
"$tmp/bench-host"
