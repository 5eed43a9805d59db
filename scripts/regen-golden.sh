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
# Linux boots: their traces (~17 MB) are too large for git; keep their golden summaries (state
# digests every 1M instructions, event counts and hashes: src/trace/golden.ts) instead.
node scripts/golden-summary.mjs traces/golden/linux-smp1.summary.json -- \
  --kernel guests/build/linux/Image --append console=ttyS0 --digest-every 1M --checkpoint-every 0
node scripts/golden-summary.mjs traces/golden/linux-smp4.summary.json -- \
  --kernel guests/build/linux/Image --append console=ttyS0 --smp 4 --digest-every 1M --checkpoint-every 0
ls -l traces/golden/*.summary.json
