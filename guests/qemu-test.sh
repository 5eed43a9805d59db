#!/bin/sh
# Run the hvtrace guests on QEMU 7.2 (virt) and check their verdicts.
#
# Matrix: guests hello, isa-check, bench x -smp 1/4 x -bios default/fw_jump.
# Each run must exit 0 and print its final line; a fail() variant of hello
# must make QEMU exit with status 42.
#
# Usage: guests/qemu-test.sh [guest...]      (builds first with make)
# Env:   QEMU (qemu-system-riscv64), FW_JUMP (OpenSBI fw_jump.bin path)
set -u
here=$(cd "$(dirname "$0")" && pwd)
QEMU=${QEMU:-qemu-system-riscv64}
FW_JUMP=${FW_JUMP:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin}
guests=${*:-hello isa-check bench}

make -s -C "$here" guests fail-test >/dev/null || { echo "qemu-test: build failed"; exit 1; }
command -v "$QEMU" >/dev/null 2>&1 || { echo "qemu-test: $QEMU not found"; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0

run() { # elf smp bios
    timeout 60 "$QEMU" -M virt -m 256M -smp "$2" -nographic -bios "$3" \
        -kernel "$1" >"$out" 2>&1 </dev/null
}

last_line() {
    case $1 in
        hello) echo "SBI console:" ;;
        isa-check|bench) echo "PASS" ;;
    esac
}

for g in $guests; do
    for bios in default "$FW_JUMP"; do
        for smp in 1 4; do
            label="$g smp=$smp bios=$(basename "$bios")"
            run "$here/build/$g.elf" "$smp" "$bios"
            rc=$?
            want=$(last_line "$g")
            got=$(tr -d '\r' <"$out" | grep -v '^$' | tail -n 1)
            if [ "$rc" -eq 0 ] && [ "${got#"$want"}" != "$got" ]; then
                echo "ok   $label"
                pass=$((pass + 1))
            else
                echo "FAIL $label: exit $rc, last line: $got"
                fail=$((fail + 1))
            fi
        done
    done
done

run "$here/build/obj/hello-fail.elf" 1 default
rc=$?
if [ "$rc" -eq 42 ] && grep -q '^FAIL 42' "$out"; then
    echo "ok   fail() -> exit status 42"
    pass=$((pass + 1))
else
    echo "FAIL fail() -> exit status $rc (expected 42)"
    fail=$((fail + 1))
fi

echo "qemu-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
