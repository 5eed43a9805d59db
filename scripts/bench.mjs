#!/usr/bin/env node
// npm run bench: the compute benchmark guest (Sv39 paging on) on hvtrace and on QEMU 7.2,
// measured in the same run. Prints hvtrace's MIPS and the wall-time ratio to QEMU. Then the
// tight integer loop (guests/build/intloop.elf: 550 M instructions, M-mode, no paging, --bios
// none) on each tier (BENCH_LOOP_TIERS, default "interp js wasm"; empty: skip) and on QEMU.
// Every time is the best of BENCH_REPS runs (default 3): a single run of the loop on a 2-core VM
// ranged 1.35-2.04 GIPS, warm-up (V8 compiling the interpreter loop and the units) being most of
// the spread.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guest = process.argv[2] ?? join(root, 'guests/build/bench.elf');
const cli = join(root, 'dist/bundle/hvtrace.mjs'); // the installed command (package.json bin)
const reps = Math.max(1, Number(process.env.BENCH_REPS ?? 3));

function time(cmd, args, env = process.env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

let best;
for (let i = 0; i < reps; i++) {
  const r = time(process.execPath, [cli, 'run', '--kernel', guest]);
  if (r.status !== 0) {
    console.error(`hvtrace run failed (status ${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr}`);
    process.exit(1);
  }
  if (!best || r.ms < best.ms) best = r;
}
// hvtrace's summary line: "...; instructions hart0=N; ...; X MIPS"
const m = /instructions ((?:hart\d+=\d+ ?)+);.*?([\d.]+) MIPS/.exec(best.stderr);
const insns = m ? m[1].split(' ').reduce((s, kv) => s + Number(kv.split('=')[1]), 0) : NaN;
const coreMips = m ? Number(m[2]) : NaN;
console.log(`guest: ${guest} (best of ${reps} runs; BENCH_REPS)`);
console.log(`hvtrace: ${insns.toLocaleString('en-US')} instructions, wall ${best.ms.toFixed(0)} ms (process), core ${coreMips.toFixed(1)} MIPS (machine run, excluding process start), ${(insns / (best.ms * 1e3)).toFixed(1)} MIPS (process wall)`);

const qemu = 'qemu-system-riscv64';
const haveQemu = spawnSync(qemu, ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveQemu) {
  console.log('qemu: qemu-system-riscv64 not found (apt-get install qemu-system-misc): no ratio');
  intLoop(null);
  process.exit(0);
}
const fw = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const qargs = ['-M', 'virt', '-m', '256M', '-smp', '1', '-nographic', '-bios', existsSync(fw) ? fw : 'default', '-kernel', guest];
let qbest;
for (let i = 0; i < reps; i++) {
  const q = time(qemu, qargs);
  if (q.status !== 0) {
    console.error(`qemu failed (status ${q.status}): ${q.stderr.slice(-2000)}`);
    process.exit(1);
  }
  if (!qbest || q.ms < qbest.ms) qbest = q;
}
console.log(`qemu 7.2 (TCG, same guest, OpenSBI fw_jump): wall ${qbest.ms.toFixed(0)} ms`);
console.log(`ratio hvtrace/qemu wall time: ${(best.ms / qbest.ms).toFixed(2)}x`);

intLoop(qemu);

/** The integer loop on each tier, and on QEMU (-bios none) when `q` is set. */
function intLoop(q) {
  const loop = join(root, 'guests/build/intloop.elf');
  const tiers = (process.env.BENCH_LOOP_TIERS ?? 'interp js wasm').split(/\s+/).filter((t) => t !== '');
  if (tiers.length === 0 || !existsSync(loop)) return;
  console.log(`guest: ${loop} (M-mode integer loop, no paging)`);
  for (const tier of tiers) {
    let r, lm, mips = 0;
    // The interpreter's ~10 s run once: its spread is small beside its time.
    for (let i = 0; i < (tier === 'interp' ? 1 : reps); i++) {
      const ri = time(process.execPath, [cli, 'run', '--bios', 'none', '--kernel', loop], { ...process.env, HVTRACE_TIER: tier });
      const li = /instructions hart0=(\d+);.*?([\d.]+) MIPS/.exec(ri.stderr);
      if (ri.status !== 0 || !li) {
        console.error(`hvtrace run (tier ${tier}) failed (status ${ri.status}):\n${ri.stderr.slice(-2000)}`);
        process.exit(1);
      }
      if (r === undefined || ri.ms < r.ms) { r = ri; lm = li; mips = Number(li[2]); }
    }
    console.log(`hvtrace ${tier}: ${Number(lm[1]).toLocaleString('en-US')} instructions, wall ${r.ms.toFixed(0)} ms (process), core ${mips.toFixed(1)} MIPS = ${(mips / 1000).toFixed(2)} GIPS`);
  }
  if (q === null) return;
  let qr;
  for (let i = 0; i < reps; i++) {
    const qi = time(q, ['-M', 'virt', '-m', '256M', '-smp', '1', '-nographic', '-bios', 'none', '-kernel', loop]);
    if (qi.status !== 0) {
      console.error(`qemu failed (status ${qi.status}): ${qi.stderr.slice(-2000)}`);
      process.exit(1);
    }
    if (qr === undefined || qi.ms < qr.ms) qr = qi;
  }
  console.log(`qemu 7.2 (TCG, same guest, -bios none): wall ${qr.ms.toFixed(0)} ms`);
}
