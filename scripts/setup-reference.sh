#!/bin/sh
# Install what the reference tests (npm run test:reference) need: QEMU 7.2's
# qemu-system-riscv64 (Debian package qemu-system-misc, which also brings QEMU's
# bundled OpenSBI used by -bios default) and Debian's OpenSBI (package opensbi:
# /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin).
#
# Does nothing when both are already present. Needs root (or sudo) otherwise.
# The reference is QEMU 7.2 (Debian 12 "bookworm"); another version is reported
# but not replaced.
set -eu

QEMU=${QEMU:-qemu-system-riscv64}
FW_JUMP=${FW_JUMP:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin}

have_qemu() { command -v "$QEMU" >/dev/null 2>&1; }
have_fw() { [ -f "$FW_JUMP" ]; }

pkgs=
have_qemu || pkgs="$pkgs qemu-system-misc"
have_fw || pkgs="$pkgs opensbi"

if [ -n "$pkgs" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup-reference: missing$pkgs and no apt-get; install QEMU 7.2 (qemu-system-riscv64) and OpenSBI by hand" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        sudo=
    elif command -v sudo >/dev/null 2>&1; then
        sudo=sudo
    else
        echo "setup-reference: need root to install$pkgs" >&2
        exit 1
    fi
    echo "setup-reference: installing$pkgs"
    $sudo apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $pkgs
else
    echo "setup-reference: qemu-system-riscv64 and OpenSBI already installed"
fi

have_qemu || { echo "setup-reference: $QEMU still not found" >&2; exit 1; }
have_fw || { echo "setup-reference: $FW_JUMP still not found" >&2; exit 1; }

version=$("$QEMU" --version | sed -n 's/.*version \([0-9]*\.[0-9]*\).*/\1/p' | head -n 1)
echo "setup-reference: $QEMU $version, $FW_JUMP"
if [ "$version" != "7.2" ]; then
    echo "setup-reference: warning: the reference is QEMU 7.2 (found $version); the tests will refuse to run" >&2
fi
