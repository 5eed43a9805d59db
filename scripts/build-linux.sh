#!/bin/sh
# Build the hvtrace Linux guest: a small riscv64 Linux 6.1 kernel with an embedded initramfs
# whose /init is linux/init/init.c.  Outputs (nothing else in the repo is touched):
#   guests/build/linux/Image         the kernel image (boot with -kernel / --kernel)
#   guests/build/linux/Image.sha256  its sha256 ("<hash>  Image")
#   guests/build/linux/System.map    its symbols
#
# Usage: scripts/build-linux.sh [--clean] [--jobs N] [--variant 6.12]
#   --clean   start from a fresh source tree and build directory
#   --variant 6.12   the same guest on Linux 6.12 (linux-source-6.12), which has the AIA irqchip
#             drivers (APLIC, IMSIC; arch/riscv selects them) that 6.1 lacks: for the AIA
#             reference test. Output in guests/build/linux-6.12/ instead, scratch in
#             ${TMPDIR:-/tmp}/hvtrace-linux-6.12
# Environment:
#   HVTRACE_LINUX_WORK  scratch directory (default ${TMPDIR:-/tmp}/hvtrace-linux), outside the repo
#   LINUX_TARBALL       kernel source (default /usr/src/linux-source-6.1.tar.xz)
#   CROSS               cross prefix (default riscv64-linux-gnu-)
#
# Needs (Debian bookworm): apt-get install linux-source-6.1 gcc-riscv64-linux-gnu make bc flex
#   bison libssl-dev libelf-dev cpio xz-utils
#
# The build is reproducible: fixed KBUILD_BUILD_{TIMESTAMP,USER,HOST,VERSION}, empty LOCALVERSION,
# scratch paths mapped away with -ffile-prefix-map, initramfs entries with fixed owner and mtime.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd -P)
work=${HVTRACE_LINUX_WORK:-${TMPDIR:-/tmp}/hvtrace-linux}
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CROSS=${CROSS:-riscv64-linux-gnu-}
jobs=$(nproc 2>/dev/null || echo 2)
clean=
variant=
while [ $# -gt 0 ]; do
    case "$1" in
        --clean) clean=1 ;;
        --jobs) jobs=$2; shift ;;
        --jobs=*) jobs=${1#--jobs=} ;;
        --variant) variant=$2; shift ;;
        --variant=*) variant=${1#--variant=} ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "build-linux: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "build-linux: $*" >&2; }
die() { say "$*"; exit 1; }

outname=linux
case "$variant" in
    '') ;;
    6.12)
        outname=linux-6.12
        work=${HVTRACE_LINUX_WORK:-${TMPDIR:-/tmp}/hvtrace-linux-6.12}
        tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz} ;;
    *) die "unknown variant '$variant' (known: 6.12)" ;;
esac

# ---- prerequisites ----
missing=
for tool in make bc flex bison cpio xz "${CROSS}gcc" "${CROSS}ld" "${CROSS}objcopy"; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -f /usr/include/openssl/ssl.h ] || missing="$missing libssl-dev"
[ -f /usr/include/gelf.h ] || missing="$missing libelf-dev"
[ -f "$tarball" ] || missing="$missing $tarball"
if [ -n "$missing" ]; then
    say "missing:$missing"
    say "install: apt-get install linux-source-6.1 gcc-riscv64-linux-gnu make bc flex bison libssl-dev libelf-dev cpio xz-utils"
    exit 1
fi

export LC_ALL=C TZ=UTC
umask 022
# Fixed build identity: uname -v reads "#1 SMP Mon Jan 1 00:00:00 UTC 2024" whoever builds it.
export KBUILD_BUILD_TIMESTAMP="Mon Jan  1 00:00:00 UTC 2024"
export KBUILD_BUILD_USER=hvtrace KBUILD_BUILD_HOST=hvtrace KBUILD_BUILD_VERSION=1
export LOCALVERSION=

work=$(realpath -m "$work")
case "$work" in
    "$root"|"$root"/*) die "the scratch directory ($work) must be outside the repo" ;;
esac
mkdir -p "$work"
src=$work/src
build=$work/build

# ---- kernel source: extracted once per tarball ----
stamp="$(basename "$tarball") $(stat -c '%s %Y' "$tarball")"
if [ -n "$clean" ] || [ ! -f "$src/.hvtrace-source" ] || [ "$(cat "$src/.hvtrace-source")" != "$stamp" ]; then
    say "extracting $tarball into $src"
    rm -rf "$src" "$src.tmp" "$build"
    mkdir -p "$src.tmp"
    tar -xf "$tarball" -C "$src.tmp" --strip-components=1
    echo "$stamp" >"$src.tmp/.hvtrace-source"
    mv "$src.tmp" "$src"
fi
[ -z "$clean" ] || rm -rf "$build"
mkdir -p "$build" "$work/initramfs"

# ---- /init: static, libc-free ----
say "building linux/init/init.c"
"${CROSS}gcc" -Os -march=rv64gc -mabi=lp64d -fno-math-errno \
    -static -nostdlib -nostartfiles -ffreestanding -fno-tree-loop-distribute-patterns \
    -fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
    -ffile-prefix-map="$root/"= -Wall -Wextra -Werror \
    -Wl,--build-id=none -Wl,-z,separate-code -s \
    -o "$work/initramfs/init" "$root/linux/init/init.c"
# gen_init_cpio stamps regular files with their own mtime (KBUILD_BUILD_TIMESTAMP only covers
# directories and nodes): pin it too
touch -d "@$(date -d "$KBUILD_BUILD_TIMESTAMP" +%s)" "$work/initramfs/init"
sed "s|@INIT@|$work/initramfs/init|" "$root/linux/initramfs.list" >"$work/initramfs/initramfs.list"

# ---- configuration: allnoconfig + linux/config-fragment ----
kmake() {
    make -C "$src" O="$build" ARCH=riscv CROSS_COMPILE="$CROSS" \
        KCFLAGS="-ffile-prefix-map=$src/= -ffile-prefix-map=$build/= -ffile-prefix-map=$work/=" \
        "$@"
}
{
    cat "$root/linux/config-fragment"
    [ -z "$variant" ] || cat "$root/linux/config-fragment-$variant"
    echo "CONFIG_INITRAMFS_SOURCE=\"$work/initramfs/initramfs.list\""
} >"$work/allconfig"
say "configuring (allnoconfig + linux/config-fragment)"
kmake -s KCONFIG_ALLCONFIG="$work/allconfig" allnoconfig
# every line of the fragment must have stuck (a missing dependency silently drops a symbol)
bad=0
while IFS= read -r l; do
    case "$l" in
        CONFIG_*=*)
            grep -qxF "$l" "$build/.config" || { say "config: wanted '$l', got '$(grep "^${l%%=*}=" "$build/.config" || echo "${l%%=*} unset")'"; bad=1; } ;;
        "# CONFIG_"*" is not set")
            sym=${l#\# }; sym=${sym%% *}
            if grep -q "^$sym=" "$build/.config"; then say "config: wanted '$l', got '$(grep "^$sym=" "$build/.config")'"; bad=1; fi ;;
    esac
done <"$work/allconfig"
[ "$bad" = 0 ] || die "the configuration does not match linux/config-fragment"

# ---- kernel ----
say "building the kernel with $jobs job(s) in $build"
kmake -j"$jobs" Image

# ---- results ----
out=$root/guests/build/$outname
mkdir -p "$out"
cp "$build/arch/riscv/boot/Image" "$out/Image"
cp "$build/System.map" "$out/System.map"
(cd "$out" && sha256sum Image >Image.sha256)
size=$(stat -c %s "$out/Image")
say "$(grep -m1 '^# Linux/riscv' "$build/.config" | sed 's/^# //') -> guests/build/$outname/Image ($size bytes)"
say "sha256 $(cut -d' ' -f1 "$out/Image.sha256")"
[ "$size" -lt $((8 * 1024 * 1024)) ] || say "warning: Image is larger than 8 MiB"
