#!/bin/sh
# Build the hvtrace test root filesystem: a small ext2 image holding linux/rootfs/ and, as
# /sbin/init, linux/rootfs-init.c (static, libc-free). The bundled kernel boots it from a
# virtio-blk disk:
#   hvtrace run --kernel guests/build/linux/Image --drive file=guests/build/linux/rootfs.img \
#       --append "console=ttyS0 root=/dev/vda rw"
#
# Usage: scripts/build-rootfs.sh [-o OUT]     (default OUT: guests/build/linux/rootfs.img)
# Environment: CROSS (default riscv64-linux-gnu-), TMPDIR.
# Needs (Debian bookworm): apt-get install gcc-riscv64-linux-gnu genext2fs
#
# Reproducible: fixed owners (-U), timestamps 0 (genext2fs -f), fixed permissions, 1 MiB of
# 1 KiB blocks, 64 inodes: the same sources give a byte-identical image.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd -P)
CROSS=${CROSS:-riscv64-linux-gnu-}
out=$root/guests/build/linux/rootfs.img
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "build-rootfs: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
for tool in "${CROSS}gcc" genext2fs; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-rootfs: missing $tool (apt-get install gcc-riscv64-linux-gnu genext2fs)" >&2; exit 1; }
done

export LC_ALL=C TZ=UTC
umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/hvtrace-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
mkdir -p "$stage"
cp -R "$root/linux/rootfs/." "$stage/"
mkdir -p "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys"
"${CROSS}gcc" -Os -march=rv64gc -mabi=lp64d \
    -static -nostdlib -nostartfiles -ffreestanding -fno-tree-loop-distribute-patterns \
    -fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
    -ffile-prefix-map="$root/"= -Wall -Wextra -Werror \
    -Wl,--build-id=none -Wl,-z,separate-code -s \
    -o "$stage/sbin/init" "$root/linux/rootfs-init.c"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/sbin/init"
# genext2fs -f zeroes the filesystem's times but copies the files' own (SOURCE_DATE_EPOCH too)
find "$stage" -exec touch -h -d @0 {} +
export SOURCE_DATE_EPOCH=0
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
genext2fs -f -U -B 1024 -b 1024 -N 64 -m 0 -L rootfs -d "$stage" "$out.tmp"
mv "$out.tmp" "$out"
echo "build-rootfs: $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16))" >&2
