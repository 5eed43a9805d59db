#!/usr/bin/env bash
# Runs smp-kernel under QEMU 7.2 virt: {1,4} harts x {-bios default, fw_jump}
# x {no input, "hello\n"}.  Each run must exit 0, print PASS, and (from the
# "smp-kernel: boot" line on) match expected/smp<N>-<input|noinput>.txt.
#
# Input is written only after the kernel prints its banner: OpenSBI
# (re)initialises the UART and its FCR write resets the RX FIFO, so a byte
# QEMU hands to the UART before that is lost (a plain `printf 'hello\n' |`
# typically yields 'ello').  Written after the banner, the bytes wait in the
# 16550 FIFO until the kernel enables the RX interrupt in step 8.
set -u
trap '' PIPE
cd "$(dirname "$0")"
ELF=${1:-../build/smp-kernel.elf}
QEMU=${QEMU:-qemu-system-riscv64}
FW_JUMP=${FW_JUMP:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin}
UPDATE=${UPDATE:-0}   # UPDATE=1 rewrites expected/*.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

run_one() {
    local smp=$1 fw=$2 input=$3 name="smp$1-$3" fwname
    fwname=$([ "$fw" = default ] && echo default || echo fw_jump)
    local out="$tmp/$name-$fwname.out" fifo="$tmp/$name-$fwname.fifo"
    mkfifo "$fifo"
    timeout 60 "$QEMU" -M virt -m 256M -smp "$smp" -nographic -bios "$fw" \
        -kernel "$ELF" <"$fifo" >"$out" 2>&1 &
    local qpid=$!
    exec 3>"$fifo"
    if [ "$input" = input ]; then
        for _ in $(seq 1 3000); do
            grep -q '^smp-kernel: boot' "$out" && break
            kill -0 "$qpid" 2>/dev/null || break
            sleep 0.01
        done
        printf 'hello\n' >&3 2>/dev/null
    fi
    wait "$qpid"
    local rc=$?
    exec 3>&-
    sed -n '/^smp-kernel: boot/,$p' "$out" | tr -d '\r' >"$out.kernel"
    local exp="expected/$name.txt" status=ok
    if [ "$UPDATE" = 1 ] && [ "$rc" = 0 ]; then cp "$out.kernel" "$exp"; fi
    if [ "$rc" != 0 ]; then status="exit $rc"
    elif ! grep -qx PASS "$out.kernel"; then status="no PASS"
    elif ! diff -u "$exp" "$out.kernel" >"$out.diff"; then status="output differs"
    fi
    printf '%-16s %-8s %s\n' "$name" "$fwname" "$status"
    if [ "$status" != ok ]; then
        fails=$((fails + 1))
        sed 's/^/    | /' "$out" | tail -40
        [ -s "$out.diff" ] && sed 's/^/    diff| /' "$out.diff"
    fi
}

for smp in 1 4; do
    for fw in default "$FW_JUMP"; do
        for input in noinput input; do
            run_one "$smp" "$fw" "$input"
        done
    done
done
[ "$fails" = 0 ] && echo "all runs passed" || echo "$fails run(s) failed"
[ "$fails" = 0 ]
