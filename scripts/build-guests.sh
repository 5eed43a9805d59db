#!/bin/sh
# Build the hvtrace guest images (guests/build/<name>.elf and .bin).
# Usage: scripts/build-guests.sh [make arguments, e.g. clean, dis, -j2]
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
CROSS=${CROSS:-riscv64-unknown-elf-}
missing=
for tool in gcc objcopy objdump; do
    command -v "${CROSS}${tool}" >/dev/null 2>&1 || missing="$missing ${CROSS}${tool}"
done
if [ -n "$missing" ]; then
    echo "build-guests: missing RISC-V toolchain:$missing" >&2
    echo "build-guests: install gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf" >&2
    echo "build-guests:   (Debian/Ubuntu: apt-get install gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf)" >&2
    exit 1
fi
command -v make >/dev/null 2>&1 || { echo "build-guests: 'make' is required" >&2; exit 1; }
exec make -C "$root/guests" CROSS="$CROSS" "$@"
