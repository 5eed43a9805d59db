#!/usr/bin/env node
// npm run bench:linux: the bundled Linux 6.1 boot (guests/build/linux/Image, to its init's verdict
// and poweroff) on hvtrace and on QEMU 7.2, all measured in the same run:
//
//   bare   1 hart, built-in SBI:             hvtrace run --kernel Image --append console=ttyS0
//   guest  1 vCPU under the built-in hypervisor: hvtrace run --guest Image --vcpus 1 ...
//          (printed as "not available" while `hvtrace run --help` has no --guest)
//
// For each: instructions executed, hvtrace wall time (`run`, whole process), MIPS, QEMU's wall time
// on the same kernel and command line, the ratio, the recording overhead (`record` vs `run`
// of the same boot) and the replay of that recording (`replay`, which must match). QEMU cannot use hvtrace's built-in SBI (it is TypeScript, not a firmware
// image), so QEMU boots with its default firmware (`-bios default`: its bundled OpenSBI
// fw_dynamic); nor can it run hvtrace's built-in hypervisor, so the guest row's QEMU time is the
// same kernel booted bare on QEMU (the work the guest does, without the hypervisor).
// Wall times are the best of BENCH_REPS runs (default 3; run, record and QEMU alternate).
//
//   node scripts/bench-linux.mjs            # table
//   node scripts/bench-linux.mjs --json     # machine-readable
//   node scripts/bench-linux.mjs --profile  # also: node --cpu-prof of the bare run, top self time
//
// Tiers: the bare boot once under each execution tier (HVTRACE_TIER=interp, js, wasm), with its
// wall time, the process's peak RSS (process.resourceUsage().maxRSS at exit, through a --import
// hook) and its ratio to the interpreter-only run (issue 17: <= 2x), and `--profile json`'s
// units compiled and hit rate.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/bundle/hvtrace.mjs'); // the installed command (package.json bin)
const image = process.env.LINUX_IMAGE ?? join(root, 'guests/build/linux/Image');
const append = 'console=ttyS0';
const mem = '256M';
const reps = Math.max(1, Number(process.env.BENCH_REPS ?? 3));
const json = process.argv.includes('--json');
const profile = process.argv.includes('--profile');
const qemu = process.env.QEMU ?? 'qemu-system-riscv64';
const tmp = mkdtempSync(join(tmpdir(), 'hvtrace-bench-linux-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

if (!existsSync(cli)) fail(`${cli} not built: run npm run build`);
if (!existsSync(image)) fail(`${image} not found (scripts/build-linux.sh builds it)`);

function fail(msg) {
  console.error(`bench-linux: ${msg}`);
  process.exit(1);
}

// stdout goes to a file, not a pipe: QEMU's serial port stops transmitting while its chardev
// cannot write (a pipe the reader has not drained yet), and the guest then powers off with
// console output still queued in the kernel's tty buffer: lines get lost. A file is always ready.
function timed(cmd, args, env = process.env) {
  const outPath = join(tmp, 'stdout');
  const fd = openSync(outPath, 'w');
  const t0 = process.hrtime.bigint();
  let r;
  try {
    r = spawnSync(cmd, args, { encoding: 'latin1', maxBuffer: 256 << 20, stdio: ['ignore', fd, 'pipe'], env });
  } finally {
    closeSync(fd);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, signal: r.signal, stdout: readFileSync(outPath, 'latin1'), stderr: r.stderr ?? '', error: r.error };
}

function check(what, r, argv) {
  if (r.error) fail(`${what}: ${r.error.message}`);
  if (r.status !== 0) {
    fail(`${what} failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${argv.join(' ')}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
  }
  if (!r.stdout.includes('hvtrace-init: PASS')) fail(`${what}: the boot did not reach init's PASS verdict:\n${r.stdout.slice(-1500)}`);
}

// hvtrace's exit summary: "hvtrace: <halt>; instructions hart0=N [hart1=M ...]; vtime T s; X MIPS"
function summary(stderr) {
  const m = /instructions ((?:\S+=\d+ ?)+);\s*vtime ([\d.]+) s;\s*([\d.]+) MIPS/.exec(stderr);
  if (!m) return null;
  return {
    instructions: m[1].trim().split(/\s+/).reduce((s, kv) => s + Number(kv.split('=')[1]), 0),
    vtimeS: Number(m[2]),
    coreMips: Number(m[3]),
  };
}

function hvHelp() {
  const r = spawnSync(process.execPath, [cli, 'run', '--help'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

const help = hvHelp();
const haveGuest = /--guest\b/.test(help);
const guestAppendFlag = /--guest-append\b/.test(help);
const guestMemFlag = /--guest-mem\b/.test(help);

const cases = [
  {
    name: 'bare',
    what: '1 hart, built-in SBI',
    hv: ['--kernel', image, '--append', append, '-m', mem, '--smp', '1'],
    available: true,
  },
  {
    name: 'guest',
    what: '1 vCPU under the built-in hypervisor',
    hv: ['--guest', image, '--vcpus', '1', ...(guestMemFlag ? ['--guest-mem', mem] : []), ...(guestAppendFlag ? ['--guest-append', append] : [])],
    available: haveGuest,
    unavailable: 'hvtrace run has no --guest yet',
  },
];

const haveQemu = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
const qemuVersion = haveQemu.status === 0 ? (/version ([\d.]+)/.exec(haveQemu.stdout)?.[1] ?? '?') : null;
// -icount shift=0,sleep=off: QEMU's virtual time then runs like hvtrace's (one instruction per ns,
// idle time skipped), so the boot does the same work whatever the host's load (with the host
// clock, timers fire at other places on a loaded host).
const qemuArgv = ['-M', 'virt', '-m', mem, '-smp', '1', '-nographic', '-icount', 'shift=0,sleep=off', '-bios', 'default', '-kernel', image, '-append', append];

const results = [];
for (const c of cases) {
  if (!c.available) {
    results.push({ name: c.name, what: c.what, available: false, reason: c.unavailable });
    continue;
  }
  const runArgv = [cli, 'run', ...c.hv];
  const trace = join(tmp, `${c.name}.trace`);
  const recArgv = [cli, 'record', '-q', '--overwrite', '-o', trace, ...c.hv];
  let run = null, rec = null, q = null;
  for (let i = 0; i < reps; i++) {
    const r = timed(process.execPath, runArgv);
    check(`hvtrace run (${c.name})`, r, runArgv);
    if (!run || r.ms < run.ms) run = r;
    const rr = timed(process.execPath, recArgv);
    check(`hvtrace record (${c.name})`, rr, recArgv);
    if (!rec || rr.ms < rec.ms) rec = rr;
    if (qemuVersion !== null) {
      const qr = timed(qemu, qemuArgv);
      if (qr.status !== 0 || !qr.stdout.includes('hvtrace-init: PASS')) {
        fail(`qemu failed (status ${qr.status}): ${[qemu, ...qemuArgv].join(' ')}\n${qr.stdout.slice(-1500)}\n${qr.stderr.slice(-1500)}`);
      }
      if (!q || qr.ms < q.ms) q = qr;
    }
  }
  // Replay of the recorded boot (compares every event and digest with the recording).
  const repArgv = [cli, 'replay', trace];
  let rep = null;
  for (let i = 0; i < reps; i++) {
    const r = timed(process.execPath, repArgv);
    if (r.error || r.status !== 0 || !/: match: /.test(r.stdout)) fail(`hvtrace replay (${c.name}) did not match (status ${r.status}): ${r.stdout.slice(-1500)}${r.stderr.slice(-1500)}`);
    if (!rep || r.ms < rep.ms) rep = r;
  }
  const s = summary(run.stderr);
  const insns = s ? s.instructions : null;
  results.push({
    name: c.name,
    what: c.what,
    available: true,
    argv: ['hvtrace', 'run', ...c.hv.map((a) => (a === image ? 'Image' : a))],
    instructions: insns,
    vtimeS: s ? s.vtimeS : null,
    runMs: round(run.ms),
    mips: insns !== null ? round(insns / (run.ms * 1e3), 2) : null,
    coreMips: s ? s.coreMips : null,
    recordMs: round(rec.ms),
    recordOverhead: round(rec.ms / run.ms, 3),
    replayMs: round(rep.ms),
    replayOverhead: round(rep.ms / run.ms, 3),
    qemuMs: q ? round(q.ms) : null,
    ratio: q ? round(run.ms / q.ms, 2) : null,
    recordRatio: q ? round(rec.ms / q.ms, 2) : null,
  });
}

// Peak RSS and translation statistics of the bare boot under each tier.
const rssHook = join(tmp, 'rss-hook.mjs');
writeFileSync(rssHook, "process.on('exit', () => { process.stderr.write(`hvtrace-bench-rss ${process.resourceUsage().maxRSS}\\n`); });\n");
const tiers = [];
for (const tier of ['interp', 'js', 'wasm']) {
  const argv = ['--import', pathToFileURL(rssHook).href, cli, 'run', '-q', '--profile', 'json', ...cases[0].hv];
  const r = timed(process.execPath, argv, { ...process.env, HVTRACE_TIER: tier });
  check(`hvtrace run (HVTRACE_TIER=${tier})`, r, argv);
  const kb = Number(/hvtrace-bench-rss (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const pj = /hvtrace-profile (\{.*\})/.exec(r.stderr);
  const p = pj ? JSON.parse(pj[1]) : null;
  tiers.push({
    tier,
    runMs: round(r.ms),
    peakRssMiB: round(kb / 1024, 1),
    unitsCompiled: p ? p.unitsCompiled : null,
    hitRate: p ? round(p.hitRate, 4) : null,
    compileMs: p ? round(p.compileMs, 1) : null,
  });
}
for (const t of tiers) t.rssVsInterp = round(t.peakRssMiB / tiers[0].peakRssMiB, 2);

let prof = null;
if (profile) prof = cpuProfile(cases[0].hv);

const load = loadavg().map((x) => round(x, 2));
const out = {
  image,
  append,
  memory: mem,
  reps,
  qemu: qemuVersion === null ? null : { version: qemuVersion, argv: [qemu, ...qemuArgv], firmware: 'default (bundled OpenSBI fw_dynamic): QEMU cannot use the built-in SBI' },
  host: { cpus: cpus().length, loadavg: load, node: process.version },
  results,
  tiers,
  ...(prof ? { profile: prof } : {}),
};

if (json) {
  console.log(JSON.stringify(out, null, 2));
} else {
  const fmt = (n, d = 0) => (n === null || n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  console.log(`Linux 6.1 boot to init's verdict and poweroff: ${image}`);
  console.log(`-append "${append}", -m ${mem}; best of ${reps}; host ${cpus().length} CPUs, load average ${load.join(' ')} (timings are noisy on a loaded host)`);
  for (const r of results) {
    if (!r.available) {
      console.log(`\n${r.name} (${r.what}): not available (${r.reason})`);
      continue;
    }
    console.log(`\n${r.name} (${r.what}): ${r.argv.join(' ')}`);
    console.log(`  instructions      ${fmt(r.instructions)} (vtime ${fmt(r.vtimeS, 6)} s)`);
    console.log(`  hvtrace run       ${fmt(r.runMs)} ms wall (process)  ${fmt(r.mips, 1)} MIPS  (core ${fmt(r.coreMips, 1)} MIPS, without process start-up)`);
    console.log(`  hvtrace record    ${fmt(r.recordMs)} ms wall  overhead ${fmt(r.recordOverhead, 2)}x run`);
    console.log(`  hvtrace replay    ${fmt(r.replayMs)} ms wall  ${fmt(r.replayOverhead, 2)}x run (every event and digest compared: match)`);
    if (r.qemuMs !== null) {
      console.log(`  qemu ${qemuVersion}         ${fmt(r.qemuMs)} ms wall (TCG, -icount shift=0,sleep=off, -bios default${r.name === 'guest' ? ', the same kernel bare: QEMU cannot run the built-in hypervisor' : ''})`);
      console.log(`  ratio             run ${fmt(r.ratio, 2)}x qemu, record ${fmt(r.recordRatio, 2)}x qemu`);
    } else {
      console.log(`  qemu              not found (apt-get install qemu-system-misc): no ratio`);
    }
  }
  console.log(`\nbare boot per tier (one run each; peak RSS = the process's maxRSS; target: <= 2x interp):`);
  for (const t of tiers) {
    console.log(`  ${t.tier.padEnd(6)} ${fmt(t.runMs).padStart(6)} ms wall  peak RSS ${fmt(t.peakRssMiB, 1).padStart(6)} MiB (${fmt(t.rssVsInterp, 2)}x interp)` +
      (t.tier === 'interp' ? '' : `  ${fmt(t.unitsCompiled)} units, compile ${fmt(t.compileMs, 1)} ms, hit rate ${fmt(100 * t.hitRate, 1)}%`));
  }
  if (prof) {
    console.log(`\nCPU profile of the bare run (node --cpu-prof, ${fmt(prof.totalMs)} ms sampled), top self time:`);
    for (const f of prof.top) console.log(`  ${fmt(f.selfMs).padStart(7)} ms ${fmt(f.pct, 1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
}

function round(x, d = 0) {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}

/** `node --cpu-prof` of one `hvtrace run`; the functions with the most self time. */
function cpuProfile(hvArgs) {
  const dir = join(tmp, 'prof');
  const argv = ['--cpu-prof', '--cpu-prof-dir', dir, cli, 'run', '-q', ...hvArgs];
  const r = timed(process.execPath, argv);
  check('hvtrace run --cpu-prof', r, argv);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) fail('no .cpuprofile written');
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'}\t${cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(root + '/', '')}:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, ms]) => {
    const [name, where] = k.split('\t');
    return { name, where, selfMs: round(ms), pct: round((100 * ms) / total, 1) };
  });
  return { wallMs: round(r.ms), totalMs: round(total), top };
}
