#!/bin/sh
# Runs the hvtrace hypervisor test (build/hyp.elf) on QEMU 7.2 virt.
#
#   ./run-qemu.sh            build, then the matrix below; exit 0 if all pass
#   ./run-qemu.sh --update   rewrite expected-output.txt and expected-traps.txt
#
# Matrix:
#   -bios default (OpenSBI fw_dynamic) and -bios fw_jump.bin, -smp 1 and 4:
#     QEMU must exit with status 0, and the console output from the
#     hypervisor's first line on must equal expected-output.txt (the boot
#     hart id, which OpenSBI picks by lottery with -smp 4, is masked);
#   -cpu rv64,h=false: must print "hyp: no H extension" and exit with 2;
#   -icount shift=0 -d int: the trap summary (trap-summary.sh) must equal
#     expected-traps.txt.
#
# Env: QEMU (qemu-system-riscv64), FW_JUMP (OpenSBI fw_jump.bin path)
set -u
here=$(cd "$(dirname "$0")" && pwd)
QEMU=${QEMU:-qemu-system-riscv64}
FW_JUMP=${FW_JUMP:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin}
ELF=$here/../build/hyp.elf
update=0
[ "${1:-}" = "--update" ] && update=1

make -s -C "$here" >/dev/null || { echo "run-qemu: build failed"; exit 1; }
command -v "$QEMU" >/dev/null 2>&1 || { echo "run-qemu: $QEMU not found"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

qemu() { # cpu smp bios extra-args...
    cpu=$1 smp=$2 bios=$3
    shift 3
    timeout 120 "$QEMU" -M virt -cpu "$cpu" -m 256M -smp "$smp" -nographic \
        -bios "$bios" -kernel "$ELF" "$@" </dev/null >"$tmp/out" 2>&1
}

# console output from the hypervisor's first line on, CR removed, hart id masked
payload_output() {
    tr -d '\r' <"$tmp/out" | sed -n '/^hyp: hvtrace hypervisor on hart/,$p' |
        sed 's/^hyp: hvtrace hypervisor on hart [0-9]*$/hyp: hvtrace hypervisor on hart <id>/'
}

ok()  { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

for bios in default "$FW_JUMP"; do
    for smp in 1 4; do
        label="smp=$smp bios=$(basename "$bios")"
        qemu rv64,h=true "$smp" "$bios"
        rc=$?
        payload_output >"$tmp/got"
        if [ $update = 1 ] && [ "$smp" = 1 ] && [ "$bios" = default ]; then
            cp "$tmp/got" "$here/expected-output.txt"
        fi
        if [ "$rc" -ne 0 ]; then
            bad "$label: exit status $rc, last line: $(tail -n 1 "$tmp/got")"
        elif ! diff -u "$here/expected-output.txt" "$tmp/got" >"$tmp/diff"; then
            bad "$label: output differs from expected-output.txt:"
            head -n 40 "$tmp/diff"
        else
            ok "$label"
        fi
    done
done

qemu rv64,h=false 1 default
rc=$?
if [ "$rc" -eq 2 ] && grep -q '^hyp: no H extension' "$tmp/out"; then
    ok "h=false: 'no H extension', exit status 2"
else
    bad "h=false: exit status $rc (expected 2)"
fi

qemu rv64,h=true 1 default -icount shift=0 -d int -D "$tmp/int.log"
rc=$?
"$here/trap-summary.sh" "$tmp/int.log" >"$tmp/traps"
if [ $update = 1 ]; then
    {
        echo "# Trap summary of guests/hyp on QEMU $("$QEMU" --version | sed -n 's/^QEMU emulator version \([^ ]*\).*/\1/p'), OpenSBI fw_dynamic (-bios default), written by"
        echo "# run-qemu.sh --update with trap-summary.sh from the log of:"
        echo "#   qemu-system-riscv64 -M virt -cpu rv64,h=true -m 256M -smp 1 -nographic -bios default \\"
        echo "#     -kernel build/hyp.elf -icount shift=0 -d int -D x.log"
        cat "$tmp/traps"
    } >"$here/expected-traps.txt"
fi
if [ "$rc" -ne 0 ]; then
    bad "icount trap log: exit status $rc"
elif ! grep -v '^# ' "$here/expected-traps.txt" | diff -u - "$tmp/traps" >"$tmp/diff"; then
    bad "icount trap summary differs from expected-traps.txt:"
    head -n 40 "$tmp/diff"
else
    ok "icount trap summary matches expected-traps.txt"
fi

echo "run-qemu: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
