#!/usr/bin/env bash
# Re-record the golden traces in traces/ after a deliberate behaviour change (commit them with
# the change). test/golden.test.ts records the same runs again and diffs them against these.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
hv() { node dist/cli/main.js "$@" < /dev/null > /dev/null; }
hv record --kernel guests/build/hello.elf -o traces/golden/hello-smp1.trace --overwrite -q
hv record --kernel guests/build/smp-kernel.elf --smp 1 -o traces/golden/smp-kernel-smp1.trace --overwrite -q
hv record --kernel guests/build/smp-kernel.elf --smp 4 --input traces/golden/smp-kernel.input -o traces/golden/smp-kernel-smp4.trace --overwrite -q
ls -l traces/golden/*.trace
