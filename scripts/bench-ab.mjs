// A/B of two builds of hvtrace in one process: the same guest on two dist trees, stepped
// alternately in small slices, CPU time (process.cpuUsage) charged to each. The slices
// interleave at ~0.1 s, so load from other processes falls on both alike: this is how "no
// slower" is measured on a loaded 2-core host, where wall-clock benches only show the load.
//
//   cp -r dist /tmp/dist-before   # build A (e.g. main before a change)
//   npm run build                 # build B
//   node scripts/bench-ab.mjs /tmp/dist-before dist compute|linux
//
// compute: guests/build/bench.elf; linux: the bundled Linux (1 hart, 256 MiB, built-in SBI);
// loop: guests/build/intloop.elf (M-mode integer loop, no firmware).
// A build may name its tier: DIST@interp|js|wasm (default: the build's default tier), e.g.
//   node scripts/bench-ab.mjs dist@js dist@wasm compute
// and then its translation threshold and the wasm tier's batch (size[:wait]: Jit.batchWait), e.g.
//   node scripts/bench-ab.mjs dist@wasm@16000@1:0 dist@wasm@2000@64:500 linux
// (an empty field keeps the build's default: dist@wasm@@16:2000).
// Prints each build's CPU seconds, instructions and MIPS, and B/A CPU (< 1: B is faster).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [distA, distB, what = 'compute'] = process.argv.slice(2);
if (!distA || !distB || !['compute', 'linux', 'loop'].includes(what)) {
  console.error('usage: node scripts/bench-ab.mjs DIST_A[@TIER] DIST_B[@TIER] [compute|linux|loop]');
  process.exit(2);
}
const img = what === 'linux'
  ? { kernel: { name: 'Image', bytes: new Uint8Array(readFileSync(`${root}guests/build/linux/Image`)) }, append: 'console=ttyS0' }
  : what === 'loop'
    ? { kernel: { name: 'intloop.elf', bytes: new Uint8Array(readFileSync(`${root}guests/build/intloop.elf`)) }, bios: 'none' }
    : { kernel: { name: 'bench.elf', bytes: new Uint8Array(readFileSync(`${root}guests/build/bench.elf`)) } };

async function load(spec) {
  const [dist, tier, hot, batch] = spec.split('@');
  const d = resolve(dist);
  const { Machine } = await import(`${d}/board/machine.js`);
  const { Scheduler } = await import(`${d}/sched/scheduler.js`);
  const primer = await import(`${d}/sched/primer.js`);
  primer.primeInterpreter?.();
  const m = new Machine({ ramSize: 256 * 1024 * 1024, harts: 1, bios: 'builtin', ...img, ...(tier ? { tier } : {}), ...(hot ? { jitHot: Number(hot) } : {}) });
  if (batch) {
    if (!('batchSize' in m.jit)) throw new Error(`${dist}: this build has no batch compilation`);
    const [k, w] = batch.split(':').map(Number);
    m.jit.batchSize = k;
    if (w !== undefined) m.jit.batchWait = w;
  }
  return { m, s: new Scheduler(m, {}), cpu: 0, done: false, insns: 0 };
}

const A = await load(distA), B = await load(distB);
const slice = (x) => {
  if (x.done) return;
  const c0 = process.cpuUsage();
  const r = x.s.step(10);
  const c = process.cpuUsage(c0);
  x.cpu += (c.user + c.system) / 1e6;
  if (r.kind !== 'running') { x.done = true; x.insns = x.s.totalInstructions(); }
};
let k = 0;
while (!A.done || !B.done) { if (k++ % 2 === 0) { slice(A); slice(B); } else { slice(B); slice(A); } }
const f = (x) => `${x.cpu.toFixed(2)} s CPU, ${x.insns} insns, ${(x.insns / x.cpu / 1e6).toFixed(1)} MIPS, hit rate ${(100 * x.m.jit.translatedInsns / x.insns).toFixed(1)}%, ${x.m.jit.blocksCompiled} units`;
console.log(`${what}: A ${distA}: ${f(A)}\n${what}: B ${distB}: ${f(B)}\nB/A CPU = ${(B.cpu / A.cpu).toFixed(3)}`);
