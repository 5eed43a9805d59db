#!/bin/sh
# Summarises a QEMU `-d int` log (riscv_cpu_do_interrupt lines) of a hyp run:
#   1. counts per cause (all traps, whatever mode took them),
#   2. the first 30 traps,
#   3. every HS/VS-level trap, in order, with runs of identical lines
#      collapsed into one "... xN" line: all traps except those that the
#      M-mode firmware takes (ecalls from HS-mode to OpenSBI, cause 9, and
#      traps at firmware addresses below 0x80200000). These are the
#      hypervisor's VM exits and the guest's own traps, the part to compare
#      with hvtrace (whose built-in SBI takes no M-mode traps).
# Each trap is printed as "async cause epc tval desc" (QEMU's desc names;
# 7.2 has no name for cause 22 and prints "reserved"; a VS-level timer
# interrupt taken by the guest appears as async cause 6 "vs_timer").
#
# Usage: trap-summary.sh LOG
set -eu
log=$1

# "async cause epc tval desc" with cause in decimal; epc and tval keep
# QEMU's 16 hex digits so that plain string comparison orders them (mawk
# has no strtonum).
norm() {
    sed -n 's/^riscv_cpu_do_interrupt: hart:[0-9]*, async:\([01]\), cause:\([0-9a-f]*\), epc:0x\([0-9a-f]*\), tval:0x\([0-9a-f]*\), desc=\(.*\)$/\1 \2 \3 \4 \5/p' "$log" |
    awk 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
         { printf "async=%s cause=%d epc=%s tval=%s %s\n", $1, hex($2), $3, $4, $5 }'
}

# HS/VS-level: not an ecall to the firmware, not at a firmware address
hsvs_filter() {
    awk '{ e = substr($3, 5) } $2 != "cause=9" && (e < "0000000080000000" || e >= "0000000080200000")'
}

total=$(norm | wc -l)
echo "## traps: $total"
echo "## counts per cause (async cause desc: count)"
norm | awk '{ print $1, $2, $5 }' | sort | uniq -c |
    awk '{ printf "%s %s %s: %d\n", $2, $3, $4, $1 }' | sort -t= -k2,2 -k3,3n
echo
echo "## first 30 traps"
norm | head -n 30
echo
hsvs=$(norm | hsvs_filter | wc -l)
echo "## HS/VS-level traps: $hsvs (M-mode firmware traps left out; runs collapsed)"
norm | hsvs_filter | awk '
    $0 == prev { n++; next }
    { if (n) print prev (n > 1 ? " x" n : ""); prev = $0; n = 1 }
    END { if (n) print prev (n > 1 ? " x" n : "") }'
