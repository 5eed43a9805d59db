#!/usr/bin/env bash
# npm run demo: record the bundled multi-hart kernel on 4 harts, show the trace, replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent
hv() { node dist/cli/main.js "$@"; }
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
