#!/usr/bin/env node
// npm run bench:timeline: how fast `hvtrace timeline` and its page are (issue 14), on the
// recording of the bundled Linux as a 4-vCPU guest of the built-in hypervisor (recorded here,
// or --trace FILE). Prints, best / median of BENCH_REPS (default 3):
//   - generation: `hvtrace timeline` wall time (the whole process) and, in-process, the CPU time
//     of reading + building + writing the page (target <= 3 s)
//   - page size
//   - first draw in headless Chromium (Debian's chromium, playwright-core): from navigation
//     start to the end of the first canvas frame (target <= 2 s)
//   - frame time while zooming: the page's draw time per frame over 60 wheel steps in and out
//     at the pointer, median and p95 (target <= 16 ms median)
// Timings depend on the host's load, printed with them. Options: --trace FILE, --json,
// --screenshot PNG (a zoomed-in view of the boot, as in the README).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/bundle/hvtrace.mjs'); // the installed command (package.json bin)
const reps = Number(process.env.BENCH_REPS ?? 3);
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const json = argv.includes('--json');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const log = (s) => { if (!json) process.stderr.write(`${s}\n`); };

const dir = mkdtempSync(join(tmpdir(), 'hvtrace-bench-timeline-'));
let trace = opt('--trace');
if (!trace) {
  trace = join(dir, 'linux-guest4.trace');
  log('recording the Linux guest (4 vCPUs on 2 harts)...');
  const r = spawnSync(process.execPath, [cli, 'record', '-q', '--guest', join(root, 'guests/build/linux/Image'), '--guest-append', 'console=ttyS0',
    '--vcpus', '4', '--smp', '2', '-o', trace], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(2); }
}
const page = join(dir, 'timeline.html');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

// ---- generation ----
const cliWall = [];
const cliCpu = [];
// GNU time gives the process's CPU time (user + sys), which the host's load does not inflate.
const gnuTime = existsSync('/usr/bin/time');
for (let i = 0; i < reps; i++) {
  const t0 = process.hrtime.bigint();
  const args = [cli, 'timeline', trace, '-o', page];
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...args], { cwd: root, encoding: 'utf8' })
    : spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(2); }
  cliWall.push(ms);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (m) cliCpu.push((Number(m[1]) + Number(m[2])) * 1000);
}
const { TraceReader } = await import(join(root, 'dist/trace/store.js'));
const { TraceCode } = await import(join(root, 'dist/trace/code.js'));
const { analyze } = await import(join(root, 'dist/view/analysis.js'));
const { timelineData, timelineHtml } = await import(join(root, 'dist/view/timeline.js'));
const inProc = [];
let events = 0;
for (let i = 0; i < reps; i++) {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const r = TraceReader.open(trace);
  const a = analyze(r, { csrWrites: false });
  events = Object.values(a.kindCounts).reduce((s, x) => s + x, 0);
  const html = timelineHtml(timelineData(a, new TraceCode(r), trace));
  r.close();
  const c = process.cpuUsage(c0);
  inProc.push({ cpu: (c.user + c.system) / 1000, wall: performance.now() - w0, bytes: Buffer.byteLength(html) });
}
const size = statSync(page).size;

// ---- the page in headless Chromium ----
let firstDraw = null, frames = null, loadMs = null;
if (existsSync(chromiumPath)) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, offline: true });
  const draws = [];
  const loads = [];
  let p = null;
  for (let i = 0; i < reps; i++) {
    p = await context.newPage();
    await p.goto(`file://${page}`);
    await p.waitForFunction(() => window.hvtrace && (window.hvtrace.ready || window.hvtrace.error), null, { timeout: 120_000 });
    const s = await p.evaluate(() => ({ first: window.hvtrace.firstDrawMs, loaded: window.hvtrace.loadedMs, error: window.hvtrace.error }));
    if (s.error) throw new Error(s.error);
    draws.push(s.first);
    loads.push(s.loaded);
    if (i < reps - 1) await p.close();
  }
  firstDraw = { best: Math.min(...draws), median: median(draws), all: draws };
  loadMs = median(loads);
  // Zoom in 30 wheel steps at points across the lanes, then out again; each step is one frame.
  const box = await (await p.$('#cv')).boundingBox();
  await p.evaluate(() => { window.hvtrace.frameTimes.length = 0; });
  for (let i = 0; i < 60; i++) {
    const x = box.x + box.width * (0.2 + 0.6 * ((i * 7) % 10) / 10);
    await p.mouse.move(x, box.y + 80);
    await p.mouse.wheel(0, i < 30 ? -240 : 240);
    await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  const ft = await p.evaluate(() => window.hvtrace.frameTimes.slice());
  frames = { n: ft.length, median: median(ft), p95: pct(ft, 0.95), max: Math.max(...ft) };
  const shot = opt('--screenshot');
  if (shot) {
    // The boot around the secondary vCPUs' start: zoom to a stretch with exits on every vCPU.
    await p.evaluate(() => {
      const X = window.hvtrace.data.exits;
      const lanes = new Set(); let t = 0;
      for (let i = 0; i < X.seq.length; i++) { lanes.add(X.lane[i]); if (lanes.size === 4) { t = X.t0[i]; break; } }
      window.hvtrace.setView(Math.max(0, t - 1_500_000), t + 3_500_000);
    });
    const hit = await p.evaluate(() => {
      const X = window.hvtrace.data.exits, v = window.hvtrace.view;
      for (let i = 0; i < X.seq.length; i++) if (X.t0[i] > v.t0 + (v.t1 - v.t0) * 0.45 && X.reason[i] === 1) return window.hvtrace.locate(X.seq[i]);
      return null;
    });
    if (hit) { await p.mouse.move(hit.x, hit.y); await p.mouse.click(hit.x, hit.y); await p.mouse.move(hit.x + 1, hit.y); }
    await p.screenshot({ path: shot });
    log(`screenshot: ${shot}`);
  }
  await browser.close();
} else {
  log(`${chromiumPath} not found: no browser numbers (apt-get install chromium)`);
}

const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
const result = {
  trace, events, load: loadavg().map((x) => Math.round(x * 100) / 100),
  generation: { cliWallMs: { best: Math.min(...cliWall), median: median(cliWall) }, cliCpuMs: cliCpu.length ? { best: Math.min(...cliCpu), median: median(cliCpu) } : null, inProcessCpuMs: best(inProc, 'cpu'), inProcessWallMs: best(inProc, 'wall'), targetMs: 3000 },
  pageBytes: size,
  firstDrawMs: firstDraw && { ...firstDraw, targetMs: 2000 }, dataLoadedMs: loadMs,
  zoomFrameMs: frames && { ...frames, targetMs: 16 },
};
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const f = (n) => n.toFixed(0);
  const ok = (v, t) => (v <= t ? 'ok' : 'OVER');
  const lines = [
    `trace: ${trace} (${events.toLocaleString('en-US')} events); host load ${result.load.join(' ')}`,
    `generation (hvtrace timeline, whole process): best ${f(result.generation.cliWallMs.best)} ms, median ${f(result.generation.cliWallMs.median)} ms  [target <= 3000 ms: ${ok(result.generation.cliWallMs.best, 3000)}]`,
    ...(cliCpu.length ? [`  its CPU time (user + sys): best ${f(Math.min(...cliCpu))} ms, median ${f(median(cliCpu))} ms`] : []),
    `  in-process read + build + write: ${f(result.generation.inProcessCpuMs)} ms CPU, ${f(result.generation.inProcessWallMs)} ms wall (best)`,
    `page size: ${size.toLocaleString('en-US')} bytes (${(size / 1048576).toFixed(2)} MiB)`,
  ];
  if (firstDraw) lines.push(`first draw in headless Chromium: best ${f(firstDraw.best)} ms, median ${f(firstDraw.median)} ms  [target <= 2000 ms: ${ok(firstDraw.best, 2000)}]`);
  if (frames) lines.push(`zoom frame time: median ${frames.median.toFixed(2)} ms, p95 ${frames.p95.toFixed(2)} ms, max ${frames.max.toFixed(2)} ms over ${frames.n} frames  [target <= 16 ms median: ${ok(frames.median, 16)}]`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
rmSync(dir, { recursive: true, force: true });
