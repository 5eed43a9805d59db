#!/bin/sh
# Build the riscv-tests ISA tests hvtrace runs (test/riscv-tests.test.ts) and vendor the ELFs
# into test/fixtures/riscv-tests/ (CI cannot download: the binaries are committed, this script is
# how to rebuild them).
#
# Source: https://github.com/riscv-software-src/riscv-tests
#   commit 34e6b6d1e7936b526075432fb730d89148623484 ("RFC: add testcase for new p extension (#648)")
#   with its env submodule https://github.com/riscv/riscv-test-env
#   commit 6de71edb142be36319e380ce782c3d1830c65d68
# Only the `p` variants (physical addresses, no virtual memory, single hart) are built, with
# the upstream isa/Makefile and its compiler flags. Licence: BSD-3-Clause (LICENSE, copied next
# to the binaries).
#
# Usage: scripts/build-riscv-tests.sh [RISCV_TESTS_GIT_DIR [RISCV_TEST_ENV_GIT_DIR]]
#   The arguments are git directories (bare or not) holding the commits above; the defaults are
#   the mirrors this project was built with.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
TESTS_GIT=${1:-/work/.mirror/riscv-software-src+riscv-tests/repo}
ENV_GIT=${2:-/work/.mirror/riscv+riscv-test-env/repo}
TESTS_COMMIT=34e6b6d1e7936b526075432fb730d89148623484
ENV_COMMIT=6de71edb142be36319e380ce782c3d1830c65d68
CROSS=${CROSS:-riscv64-unknown-elf-}
# The groups built (isa/<group>/Makefrag); every p test of each group is built. Not built:
# hypervisor and hypervisor-svadu (Debian's gcc 12 rejects their -march=rv64gh), and the groups
# for extensions hvtrace does not implement (zfh, zicond, zbkb, zbkx, p, ziccid).
GROUPS="rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64mi rv64si rv64uzba rv64uzbb rv64uzbc rv64uzbs rv64mzicbo rv64ssvnapot"
out="$root/test/fixtures/riscv-tests"

command -v "${CROSS}gcc" >/dev/null 2>&1 || {
    echo "build-riscv-tests: missing ${CROSS}gcc (Debian: apt-get install gcc-riscv64-unknown-elf)" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git --git-dir="$TESTS_GIT" archive "$TESTS_COMMIT" | tar -x -C "$tmp"
git --git-dir="$ENV_GIT" archive "$ENV_COMMIT" | tar -x -C "$tmp/env"

# A make fragment naming the p tests of the chosen groups, on top of upstream's isa/Makefile.
{
    printf 'ptests:'
    for g in $GROUPS; do printf ' $(%s_p_tests)' "$g"; done
    printf '\n\t@echo $^ > p-tests.txt\n'
} > "$tmp/isa/ptests.mk"
make -s -C "$tmp/isa" -f Makefile -f ptests.mk RISCV_PREFIX="$CROSS" -j"${JOBS:-2}" ptests

rm -rf "$out"
mkdir -p "$out"
for t in $(cat "$tmp/isa/p-tests.txt"); do
    cp "$tmp/isa/$t" "$out/$t"
    "${CROSS}strip" --strip-debug "$out/$t" 2>/dev/null || true
done
cp "$tmp/LICENSE" "$out/LICENSE"
cat > "$out/README.md" <<EOT
# riscv-tests ISA tests (vendored binaries)

Built by \`scripts/build-riscv-tests.sh\` from riscv-tests $TESTS_COMMIT
(env $ENV_COMMIT) with $(${CROSS}gcc --version | head -1).
Groups: $GROUPS (the \`p\` variants). Licence: LICENSE (BSD-3-Clause, the Regents of the
University of California). Run by test/riscv-tests.test.ts.
EOT
echo "build-riscv-tests: $(ls "$out" | grep -c -- '-p-') tests in $out"
