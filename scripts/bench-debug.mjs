#!/usr/bin/env node
// npm run bench:debug: the gdb replay target's reverse execution on the bundled Linux boot
// (guests/build/linux/Image, `record --kernel Image --append console=ttyS0`, 1 hart, ~40M
// instructions), measured on the engine behind `hvtrace replay TRACE --gdb` (src/gdb/
// replay-target.ts), without the remote protocol:
//
//   reverse-stepi   at 5 points spread through the boot (10%, 30%, 50%, 70%, 90%), each reached
//                   with `monitor seek N`: the first reverse-stepi there and the next four
//                   targets: median <= 0.3 s, worst <= 1 s
//   reverse-continue across ~10M instructions (back to run_init_process from 10M after it) and
//                   across ~40M (back to start_kernel from the end of the boot); each with its
//                   breakpoint inserted just before (fresh: every instruction back to the hit is
//                   run again) and with it inserted while running forward over the stretch
//                   (kept, as gdb keeps its breakpoints inserted: the target knows the hits)
//                   target: <= 3 s each
//   memory          RAM held by the in-memory snapshots, per snapshot and in total, and the
//                   process's RSS; target: <= 1 GiB
// For scale, the same run also times a plain forward continue over the whole boot (the replay's
// own speed) and prints the reverse-continue times as a ratio to the forward time over the same
// stretch. Timings depend on the host's load, which is printed with them.
//
//   node scripts/bench-debug.mjs          # table
//   node scripts/bench-debug.mjs --json   # machine-readable
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/bundle/hvtrace.mjs'); // the installed command (package.json bin)
const image = process.env.LINUX_IMAGE ?? join(root, 'guests/build/linux/Image');
const map = join(dirname(image), 'System.map');
const json = process.argv.includes('--json');

function fail(msg) {
  console.error(`bench-debug: ${msg}`);
  process.exit(1);
}
if (!existsSync(cli)) fail(`${cli} not built: run npm run build`);
if (!existsSync(image)) fail(`${image} not found (scripts/build-linux.sh builds it)`);
if (!existsSync(map)) fail(`${map} not found`);

const symbols = new Map();
for (const line of readFileSync(map, 'latin1').split('\n')) {
  const m = /^([0-9a-f]+) \S (\S+)$/.exec(line);
  if (m) symbols.set(m[2], BigInt(`0x${m[1]}`));
}
const sym = (n) => {
  const v = symbols.get(n);
  if (v === undefined) fail(`no ${n} in ${map}`);
  return v;
};

const tmp = mkdtempSync(join(tmpdir(), 'hvtrace-bench-debug-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const trace = join(tmp, 'linux.trace');
const rec = spawnSync(process.execPath, [cli, 'record', '--kernel', image, '--append', 'console=ttyS0', '-o', trace, '-q'],
  { encoding: 'latin1', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
if (rec.status !== 0) fail(`record failed (exit ${rec.status}): ${rec.stderr}`);

const { openReplayTarget } = await import(pathToFileURL(join(root, 'dist/gdb/replay-target.js')).href);
const never = () => false;
const now = () => process.hrtime.bigint();
const sec = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const resume = (t, direction, mode) => t.resume({ direction, mode, hart: 0 }, never);

let t0 = now();
const t = openReplayTarget(trace);
const openS = sec(t0);
const total = t.recordedSteps;

// The replay's own speed, for scale: a forward continue over the whole boot.
t0 = now();
let e = await resume(t, 'forward', 'continue');
const forwardS = sec(t0);
if (e.reason !== 'end') fail(`forward continue stopped: ${e.reason}`);
const mips = total / forwardS / 1e6;

// reverse-stepi at 5 points.
const points = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.round(total * f));
const rstep = [];
for (const p of points) {
  await t.monitor(`seek ${p}`, never);
  const times = [];
  for (let i = 0; i < 5; i++) {
    t0 = now();
    e = await resume(t, 'reverse', 'step');
    times.push(sec(t0));
    if (e.reason !== 'step') fail(`reverse-stepi at ${p}: ${e.reason}`);
  }
  rstep.push({ at: p, first: times[0], next: times.slice(1) });
}
const firsts = rstep.map((r) => r.first);
const all = rstep.flatMap((r) => [r.first, ...r.next]);

// reverse-continue across ~10M and ~40M, two ways:
//  fresh  the breakpoint is inserted just before the reverse-continue: nothing is known about
//         it, every instruction back to the hit is run again;
//  kept   the breakpoint was inserted while running forward over the stretch (gdb keeps its
//         breakpoints inserted), so the target knows where it was hit and only lands there.
async function hitOf(bp) {
  await t.monitor('seek 0', never);
  t.insertBreak('sw', bp, 2);
  e = await resume(t, 'forward', 'continue');
  t.removeBreak('sw', bp, 2);
  if (e.reason !== 'breakpoint') fail(`the breakpoint at ${bp.toString(16)} is never hit`);
  return t.position().g;
}
async function timedReverse(label, way, bp, hit) {
  const at = t.position().g;
  t0 = now();
  e = await resume(t, 'reverse', 'continue');
  const s = sec(t0);
  t.removeBreak('sw', bp, 2);
  if (e.reason !== 'breakpoint' || t.position().g !== hit) fail(`${label} (${way}): reverse-continue stopped at ${t.position().g} (${e.reason}), the hit is at ${hit}`);
  return { label, way, from: at, to: hit, distance: at - hit, seconds: s, forwardRatio: s / ((at - hit) / (mips * 1e6)) };
}
const rip = sym('run_init_process');
const sk = sym('start_kernel');
const ripHit = await hitOf(rip);
const skHit = await hitOf(sk);
const rcs = [];
// fresh, ~10M: from 10M after run_init_process's hit.
await t.monitor(`seek ${ripHit + 10_000_000}`, never);
t.insertBreak('sw', rip, 2);
rcs.push(await timedReverse('run_init_process', 'fresh', rip, ripHit));
// fresh, ~40M: from the end of the boot back to start_kernel.
await resume(t, 'forward', 'continue');
t.insertBreak('sw', sk, 2);
rcs.push(await timedReverse('start_kernel', 'fresh', sk, skHit));
// kept, ~10M: run over run_init_process's hit with the breakpoint in, on to 10M after it.
await t.monitor(`seek ${ripHit - 10_000_000}`, never);
t.insertBreak('sw', rip, 2);
await resume(t, 'forward', 'continue');
await resume(t, 'forward', 'continue');
await t.monitor(`seek ${ripHit + 10_000_000}`, never);
rcs.push(await timedReverse('run_init_process', 'kept', rip, ripHit));
// kept, ~40M: from the start with start_kernel's breakpoint in, to the end of the boot.
await t.monitor('seek 0', never);
t.insertBreak('sw', sk, 2);
await resume(t, 'forward', 'continue');
await resume(t, 'forward', 'continue');
rcs.push(await timedReverse('start_kernel', 'kept', sk, skHit));

const mem = t.memoryUse();
const rss = process.memoryUsage().rss;
t.close();

const result = {
  host: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadavg: loadavg().map((x) => +x.toFixed(2)) },
  boot: { instructions: total, openSeconds: openS, forwardSeconds: forwardS, mips },
  reverseStepi: { points: rstep, medianFirst: median(firsts), worstFirst: Math.max(...firsts), median: median(all), worst: Math.max(...all) },
  reverseContinue: rcs,
  memory: { snapshots: mem.snapshots, snapshotBytes: mem.bytes, perSnapshotBytes: mem.perSnapshot, rssBytes: rss },
  targets: {
    reverseStepiMedian: median(all) <= 0.3, reverseStepiWorst: Math.max(...all) <= 1,
    reverseContinue: rcs.every((r) => r.seconds <= 3), memory: rss <= 2 ** 30,
  },
};
if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (x) => x.toFixed(3);
  const ok = (b) => (b ? 'ok' : 'MISSED');
  const MB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`hvtrace gdb replay target on the bundled Linux boot (${total.toLocaleString('en')} instructions)`);
  console.log(`host: ${result.host.cpus} x ${result.host.model}, load ${result.host.loadavg.join(' ')}`);
  console.log(`open + first instruction ${f(openS)} s; forward continue over the boot ${f(forwardS)} s (${mips.toFixed(1)} MIPS)`);
  console.log('reverse-stepi (s): first at each point, then four more');
  for (const r of rstep) console.log(`  at ${String(r.at).padStart(9)}: ${f(r.first)}   ${r.next.map(f).join(' ')}`);
  console.log(`  median ${f(result.reverseStepi.median)} s (target <= 0.3: ${ok(result.targets.reverseStepiMedian)}), worst ${f(result.reverseStepi.worst)} s (target <= 1: ${ok(result.targets.reverseStepiWorst)})`);
  console.log('reverse-continue (fresh: breakpoint inserted just before, all of it re-run; kept: inserted while running forward over it)');
  for (const r of result.reverseContinue) {
    console.log(`  ${r.way.padEnd(5)} to ${r.label}: ${r.from} -> ${r.to} (${(r.distance / 1e6).toFixed(1)}M instructions back) ${f(r.seconds)} s, ${r.forwardRatio.toFixed(2)}x the forward time over it (target <= 3 s: ${ok(r.seconds <= 3)})`);
  }
  console.log(`memory: ${mem.snapshots} snapshots holding ${MB(mem.bytes)} of RAM pages (${mem.perSnapshot.map(MB).join(', ')}); process RSS ${MB(rss)} (target <= 1 GiB: ${ok(result.targets.memory)})`);
}
