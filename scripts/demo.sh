#!/usr/bin/env bash
# npm run demo: record the bundled multi-hart kernel on 4 harts, show the trace, replay it; then
# the same kernel as a guest of the built-in hypervisor.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent
hv() { node dist/bundle/hvtrace.mjs "$@"; }
echo "== hvtrace record (bundled smp-kernel, 4 harts, UART input 'hello')"
hv record --kernel guests/build/smp-kernel.elf --smp 4 --input traces/golden/smp-kernel.input -o traces/demo.trace --overwrite < /dev/null
echo
echo "== hvtrace info traces/demo.trace"
hv info traces/demo.trace | sed -n '1,30p'
echo
echo "== hvtrace events traces/demo.trace --kind sbi_call --limit 5"
hv events traces/demo.trace --kind sbi_call --limit 5
echo
echo "== hvtrace replay traces/demo.trace"
hv replay traces/demo.trace
echo
echo "== hvtrace record --guest (the same kernel as a guest of the built-in hypervisor: 4 vCPUs on 2 harts)"
hv record --guest guests/build/smp-kernel.elf --vcpus 4 --smp 2 -o traces/demo-guest.trace --overwrite -q < /dev/null | tail -n 2
echo
echo "== hvtrace events traces/demo-guest.trace --kind vm_exit --limit 5"
hv events traces/demo-guest.trace --kind vm_exit --limit 5
echo
echo "== hvtrace replay traces/demo-guest.trace"
hv replay traces/demo-guest.trace
