#!/usr/bin/env node
// Record overhead: `hvtrace run` vs `hvtrace record` of the same guest, measured in the same
// run, as CLI processes (what a user sees) and in process (engine only, no Node/SQLite start-up).
// Prints the ratios, bytes/event and events/s; plus the writer's raw throughput on a synthetic
// event stream. Target (issue "Record, replay and diff"): record <= 1.3x run.
//
//   node scripts/bench-record.mjs            # bench.elf (1 hart), smp-kernel.elf (4 harts), isa-check.elf
//   BENCH_REPS=5 node scripts/bench-record.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/bundle/hvtrace.mjs'); // the installed command (package.json bin)
const reps = Number(process.env.BENCH_REPS ?? 3);
const tmp = mkdtempSync(join(tmpdir(), 'hvtrace-bench-'));

const { Machine } = await import(join(root, 'dist/board/machine.js'));
const { Scheduler } = await import(join(root, 'dist/sched/scheduler.js'));
// The interpreter warm-up the CLI runs before its first machine (src/cli/engine.ts): called
// explicitly, as new Scheduler() does not (HVTRACE_PRIME=0 skips it, as in the CLI).
if (process.env.HVTRACE_PRIME !== '0') (await import(join(root, 'dist/sched/primer.js'))).primeInterpreter();
const { RecordSession, Recorder } = await import(join(root, 'dist/trace/recorder.js'));
const { TraceReader, TraceWriter, HVTRACE_VERSION, SCHEMA_VERSION } = await import(join(root, 'dist/trace/store.js'));

// Guests: compute-bound (few events), multi-hart, and event-dense (one event per ~60 instructions).
// Or name them: node scripts/bench-record.mjs guests/build/bench.elf:1 other.elf:4
const guests = process.argv.length > 2
  ? process.argv.slice(2).map((a) => { const [k, n] = a.split(':'); return { name: k.split('/').pop(), kernel: k, smp: Number(n ?? 1) }; })
  : [
    { name: 'bench.elf', kernel: join(root, 'guests/build/bench.elf'), smp: 1 },
    { name: 'smp-kernel.elf', kernel: join(root, 'guests/build/smp-kernel.elf'), smp: 4 },
    { name: 'isa-check.elf', kernel: join(root, 'guests/build/isa-check.elf'), smp: 1 },
  ];

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
function proc(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const t = ms(t0);
  if (r.status !== 0) throw new Error(`hvtrace ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return t;
}
const image = (p) => ({ name: p, bytes: new Uint8Array(readFileSync(p)) });

function fmt(n, d = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
}

console.log(`hvtrace ${HVTRACE_VERSION}, trace schema ${SCHEMA_VERSION}; best of ${reps} (run and record alternate)`);
for (const g of guests) {
  const trace = join(tmp, `${g.name}.trace`);
  // ---- CLI processes ----
  let bestRun = Infinity, bestRec = Infinity;
  for (let i = 0; i < reps; i++) {
    bestRun = Math.min(bestRun, proc(['run', '-q', '--kernel', g.kernel, '--smp', String(g.smp)]));
    bestRec = Math.min(bestRec, proc(['record', '-q', '--overwrite', '-o', trace, '--kernel', g.kernel, '--smp', String(g.smp)]));
  }
  const r = TraceReader.open(trace);
  const c = r.counts;
  r.close();
  const size = statSync(trace).size;
  // ---- in process ----
  let coreRun = Infinity, coreRec = Infinity, snap = 0;
  for (let i = 0; i < reps; i++) {
    const cfg = { ramSize: 256 << 20, harts: g.smp, bios: 'builtin', kernel: image(g.kernel) };
    let t0 = process.hrtime.bigint();
    const m = new Machine(cfg);
    m.onConsole = () => {};
    new Scheduler(m).runToEnd();
    coreRun = Math.min(coreRun, ms(t0));
    const p = join(tmp, `core-${g.name}.trace`);
    rmSync(p, { force: true });
    t0 = process.hrtime.bigint();
    const s = RecordSession.create({ path: p, config: cfg, onConsole: () => {} });
    s.runToEnd();
    s.finish();
    const t = ms(t0);
    if (t < coreRec) { coreRec = t; snap = s.snapshotNs / 1e6; }
  }
  console.log(`\n${g.name} (${g.smp} hart${g.smp > 1 ? 's' : ''}): ${fmt(c.totalInstret)} instructions, ${fmt(c.events)} events, ${c.digests} digests, ${c.checkpoints} checkpoints`);
  console.log(`  CLI process:  run ${fmt(bestRun)} ms, record ${fmt(bestRec)} ms, ratio ${(bestRec / bestRun).toFixed(2)}x`);
  console.log(`  in process:   run ${fmt(coreRun)} ms, record ${fmt(coreRec)} ms (digests+checkpoints ${fmt(snap, 1)} ms), ratio ${(coreRec / coreRun).toFixed(2)}x`);
  console.log(`  trace:        ${fmt(size)} bytes, ${fmt(size / Math.max(1, c.events), 1)} bytes/event (file incl. images, checkpoints), ${fmt(c.events / (coreRec / 1e3))} events/s`);
}

// ---- writer throughput: a synthetic stream through the real Recorder + TraceWriter ----
{
  const N = Number(process.env.BENCH_EVENTS ?? 500_000);
  const p = join(tmp, 'synthetic.trace');
  const w = TraceWriter.create(p, { config: { producer: 'bench', hvtraceVersion: HVTRACE_VERSION, schemaVersion: SCHEMA_VERSION, machine: null, quantum: null, maxInsns: null, digestEvery: null, checkpointEvery: null, input: { source: 'none' } } });
  const rec = new Recorder((b) => w.writeEvents(b));
  // The Hart members the Recorder reads (src/trace/recorder.ts row(), trap()).
  const hart = {
    id: 0, pc: 0x80200000, pcHi: 0, priv: 1, virt: false, instret: 0, mepc: 0x80200000n,
    vtime() { return this.instret; }, pcNum() { return this.pc; }, getPc() { return BigInt(this.pc); },
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    hart.instret = i * 7;
    hart.pc = 0x80200000 + (i & 0xfff) * 4;
    switch (i & 3) {
      case 0: rec.csrWrite(hart, 0x141, BigInt(i), BigInt(i + 4), 'insn'); break;
      case 1: rec.trap(hart, 9, false, BigInt(hart.pc), 0n, 1, 3); break;
      case 2: rec.trapReturn(hart, 'sret', 1, 0, hart.pc); break;
      default: rec.mmio(hart, 'uart', 0x10000005, 1, 0x60n, false); break;
    }
  }
  rec.flush();
  w.finish('complete'); // includes building the indexes
  const t = ms(t0);
  const size = statSync(p).size;
  console.log(`\nwriter: ${fmt(N)} synthetic events (csr_write / trap / trap_return / mmio) in ${fmt(t)} ms: ${fmt(N / (t / 1e3))} events/s, ${fmt(size / N, 1)} bytes/event, ${fmt((t * 1e6) / N)} ns/event`);
}
rmSync(tmp, { recursive: true, force: true });
