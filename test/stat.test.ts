/**
 * `hvtrace stat` (issue 14): on recordings of bundled guests (the smp-kernel as a 4-vCPU guest of
 * the built-in hypervisor on 2 harts, the smp-kernel on 4 bare harts) and of the bundled Linux as
 * a 4-vCPU guest, the counts equal what SQL on the trace says (VM exits by reason, traps by cause,
 * SBI calls, MMIO by device, interrupt lines, CSR writes); VM exit durations are checked by hand
 * on the small recording (exit / entry pairs read from the events listing) and against an
 * independent SQL pairing; the text fits 100 columns; filters; bad input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUESTS, cli, recordAsync, sql, query, emptyTrace, abortedTrace, qemuImport } from './view-helpers.js';

let dir = '';
let guest = '';   // smp-kernel as a guest: 4 vCPUs on 2 harts
let bare = '';    // smp-kernel on 4 harts
let linux = '';   // Linux as a guest: 4 vCPUs on 2 harts
const tmp = (n: string): string => join(dir, n);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-stat-'));
  [guest, bare, linux] = await Promise.all([
    recordAsync(tmp('guest.trace'), ['--guest', `${GUESTS}/smp-kernel.elf`, '--vcpus', '4', '--smp', '2']),
    recordAsync(tmp('bare.trace'), ['--kernel', `${GUESTS}/smp-kernel.elf`, '--smp', '4']),
    recordAsync(tmp('linux.trace'), ['--guest', `${GUESTS}/linux/Image`, '--guest-append', 'console=ttyS0', '--vcpus', '4', '--smp', '2']),
  ]);
}, 600_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface StatJson {
  status: string;
  notes: string[];
  events: number;
  vmExits: { total: number; byReason: { reason: string; code: number; count: number; unmatched: number; insns: { min: number; avg: number; max: number } | null; us: { min: number; avg: number; max: number } | null }[];
    byVcpu: { vm: number; vcpu: number | null; total: number }[] };
  traps: { total: number; byCause: { cause: number; interrupt: boolean; count: number }[]; byTransition: { transition: string; count: number }[] };
  sbi: { total: number; byCall: { call: string; count: number }[] };
  mmio: { total: number; byDevice: { device: string; reads: number; writes: number }[] };
  interrupts: { lines: { bit: number; raised: number; lowered: number }[] };
  csrWrites: { total: number; top: { csr: number; count: number }[] };
  harts: { hart: number; instructions: number; share: Record<string, number>; wfiUs: number }[];
}

function stat(trace: string, ...args: string[]): StatJson {
  const r = cli(['stat', trace, '--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatJson;
}

/** The counts `stat` must equal, from SQL. */
function checkCounts(trace: string): StatJson {
  const s = stat(trace);
  // The issue's own query, through `hvtrace query`.
  const exits = query<{ reason: number; 'count(*)': number }>(trace, 'SELECT reason, count(*) FROM vm_exits GROUP BY reason')
    .map((x) => ({ reason: x.reason, n: x['count(*)'] }));
  expect(Object.fromEntries(s.vmExits.byReason.map((x) => [x.code, x.count]))).toEqual(Object.fromEntries(exits.map((x) => [x.reason, x.n])));
  expect(s.vmExits.total).toBe(exits.reduce((n, x) => n + x.n, 0));
  const traps = sql<{ cause: number; interrupt: number; n: number }>(trace, 'SELECT cause, interrupt, count(*) AS n FROM traps GROUP BY cause, interrupt');
  expect(Object.fromEntries(s.traps.byCause.map((c) => [`${c.interrupt ? 1 : 0}:${c.cause}`, c.count]))).toEqual(Object.fromEntries(traps.map((t) => [`${t.interrupt}:${t.cause}`, t.n])));
  expect(s.traps.byTransition.reduce((n, t) => n + t.count, 0)).toBe(s.traps.total);
  const sbi = sql<{ n: number }>(trace, 'SELECT count(*) AS n FROM sbi_calls')[0]!.n;
  expect(s.sbi.total).toBe(sbi);
  expect(s.sbi.byCall.reduce((n, c) => n + c.count, 0)).toBe(sbi);
  const mmio = query<{ device: string; w: number; n: number }>(trace, "SELECT json_extract(payload_json(payload), '$.device') AS device, write AS w, count(*) AS n FROM mmio GROUP BY 1, 2");
  for (const d of s.mmio.byDevice) {
    expect(d.reads).toBe(mmio.find((m) => m.device === d.device && m.w === 0)?.n ?? 0);
    expect(d.writes).toBe(mmio.find((m) => m.device === d.device && m.w === 1)?.n ?? 0);
  }
  expect(s.mmio.total).toBe(mmio.reduce((n, m) => n + m.n, 0));
  const irq = sql<{ bit: number; level: number; n: number }>(trace, 'SELECT bit, level, count(*) AS n FROM interrupts GROUP BY bit, level');
  for (const l of s.interrupts.lines) {
    expect(l.raised).toBe(irq.find((x) => x.bit === l.bit && x.level === 1)?.n ?? 0);
    expect(l.lowered).toBe(irq.find((x) => x.bit === l.bit && x.level === 0)?.n ?? 0);
  }
  const csr = sql<{ csr: number; n: number }>(trace, 'SELECT csr, count(*) AS n FROM csr_writes GROUP BY csr ORDER BY n DESC, csr LIMIT 15');
  expect(s.csrWrites.top.map((c) => [c.csr, c.count])).toEqual(csr.map((c) => [c.csr, c.n]));
  expect(s.csrWrites.total).toBe(sql<{ n: number }>(trace, 'SELECT count(*) AS n FROM csr_writes')[0]!.n);
  // Per-hart: instructions as recorded; the shares of time add up to 100 %.
  const counts = JSON.parse(sql<{ value: string }>(trace, "SELECT value FROM meta WHERE key = 'counts'")[0]!.value) as { instret: number[] };
  expect(s.harts.map((h) => h.instructions)).toEqual(counts.instret);
  for (const h of s.harts) expect(Object.values(h.share).reduce((x, y) => x + y, 0)).toBeCloseTo(100, 6);
  return s;
}

/** VM exit durations by an independent pairing in SQL: the next vm_entry of the same VM and vCPU. */
function sqlDurations(trace: string): Map<number, { us: number[]; insns: number[]; unmatched: number }> {
  const rows = query<{ reason: number; hart: number; vtime: number; instret: number; ehart: number | null; evtime: number | null; einstret: number | null }>(trace, `
    SELECT x.reason, x.hart, x.vtime, x.instret, e.hart AS ehart, e.vtime AS evtime, e.instret AS einstret
    FROM vm_exits x LEFT JOIN vm_entries e ON e.seq = (
      SELECT min(seq) FROM events WHERE kind = 'vm_entry' AND seq > x.seq AND a = x.vcpu
        AND b = json_extract(payload_json(x.payload), '$.vm'))`);
  const m = new Map<number, { us: number[]; insns: number[]; unmatched: number }>();
  for (const r of rows) {
    let g = m.get(r.reason);
    if (!g) m.set(r.reason, (g = { us: [], insns: [], unmatched: 0 }));
    if (r.evtime === null) { g.unmatched++; continue; }
    g.us.push((r.evtime - r.vtime) / 1000);
    if (r.ehart === r.hart) g.insns.push(r.einstret! - r.instret);
  }
  return m;
}

describe('hvtrace stat', () => {
  it('VM exits, traps, SBI calls, MMIO, interrupts and CSR writes of the smp-kernel guest equal the trace (SQL)', () => {
    const s = checkCounts(guest);
    expect(s.vmExits.total).toBeGreaterThan(200);
    expect(s.status).toBe('complete');
    expect(s.notes).toEqual([]);
    // Names: SBI calls by extension and function, transitions with H.
    expect(s.sbi.byCall.map((c) => c.call)).toEqual(expect.arrayContaining(['TIME.set_timer', 'HSM.hart_start', 'DBCN.console_write', 'IPI.send_ipi']));
    expect(s.traps.byTransition.map((t) => t.transition)).toEqual(expect.arrayContaining(['VS->HS', 'VU->VS']));
    // Per vCPU: every exit of a vCPU, and the VM's stop.
    expect(s.vmExits.byVcpu.map((v) => [v.vm, v.vcpu])).toEqual([[0, 0], [0, 1], [0, 2], [0, 3], [0, null]]);
    const perVcpu = sql<{ vcpu: number | null; n: number }>(guest, 'SELECT vcpu, count(*) AS n FROM vm_exits GROUP BY vcpu ORDER BY vcpu IS NULL, vcpu');
    expect(s.vmExits.byVcpu.map((v) => v.total)).toEqual(perVcpu.map((v) => v.n));
  });

  it('the smp-kernel on 4 bare harts: no VM exits, traps S->M / U->S, every hart accounted', () => {
    const s = checkCounts(bare);
    expect(s.vmExits.total).toBe(0);
    expect(s.harts.length).toBe(4);
    expect(s.traps.byTransition.map((t) => t.transition)).toEqual(expect.arrayContaining(['U->S']));
    // Harts 1-3 are off until hart 0 starts them (HSM).
    for (const h of s.harts.slice(1)) expect(h.share.off).toBeGreaterThan(0);
  });

  it('the Linux guest (4 vCPUs on 2 harts): the counts equal the trace', () => {
    const s = checkCounts(linux);
    expect(s.vmExits.total).toBeGreaterThan(1000);
    const reasons = s.vmExits.byReason.map((x) => x.reason);
    expect(reasons).toEqual(expect.arrayContaining(['sbi_call', 'wfi', 'external_irq', 'mmio_load', 'mmio_store']));
    expect(s.sbi.byCall.find((c) => c.call === 'IPI.send_ipi')!.count).toBeGreaterThan(100);
    expect(s.vmExits.byVcpu.filter((v) => v.vcpu !== null).map((v) => v.vcpu)).toEqual([0, 1, 2, 3]);
  }, 120_000);

  it('VM exit durations, by hand on the small recording and against an independent pairing', async () => {
    // From `hvtrace events guest.trace --kind vm_exit,vm_entry`: exit #280 (wfi, vCPU 0, hart 0,
    // vtime 106542, instret 106506) is followed by vCPU 0's entry #347 (hart 0, vtime 1106500,
    // instret 1106462): 999958 ns of virtual time, 999956 instructions of the hart (vCPU 2 ran
    // meanwhile). Exit #337 (timer_irq, vCPU 2: vtime 1106500, instret 1106462) -> entry #380
    // (vtime 1106744, instret 1106703): 244 ns, 241 instructions. SBI calls take no time: the
    // built-in hypervisor is native (exit #35 and entry #38 are both at vtime 96349).
    const { TraceReader } = await import('../dist/trace/store.js');
    const { analyze } = await import('../dist/view/analysis.js');
    const r = TraceReader.open(guest);
    try {
      const a = analyze(r);
      const at = (seq: number) => a.exits.find((x: { seq: number }) => x.seq === seq)!;
      expect(at(280)).toMatchObject({ reason: 'wfi', vcpu: 0, hart: 0, entrySeq: 347, durVtime: 999958, durInsns: 999956 });
      expect(at(337)).toMatchObject({ reason: 'timer_irq', vcpu: 2, entrySeq: 380, durVtime: 244, durInsns: 241 });
      expect(at(35)).toMatchObject({ reason: 'sbi_call', entrySeq: 38, durVtime: 0, durInsns: 0 });
      const stopped = a.exits.find((x: { reason: string }) => x.reason === 'vm_stopped')!;
      expect(stopped.entrySeq).toBeNull();
    } finally {
      r.close();
    }
    for (const trace of [guest, linux]) {
      const s = stat(trace);
      const want = sqlDurations(trace);
      for (const row of s.vmExits.byReason) {
        const w = want.get(row.code)!;
        expect(row.unmatched, row.reason).toBe(w.unmatched);
        if (!w.us.length) { expect(row.us).toBeNull(); continue; }
        expect(row.us!.min).toBeCloseTo(Math.min(...w.us), 9);
        expect(row.us!.max).toBeCloseTo(Math.max(...w.us), 9);
        expect(row.us!.avg).toBeCloseTo(w.us.reduce((x, y) => x + y, 0) / w.us.length, 6);
        expect(row.insns!.min).toBe(Math.min(...w.insns));
        expect(row.insns!.max).toBe(Math.max(...w.insns));
      }
    }
    const s = stat(guest);
    const timer = s.vmExits.byReason.find((x) => x.reason === 'timer_irq')!;
    expect(timer.us!.max).toBeGreaterThanOrEqual(0.244);
  }, 60_000);

  it('text: aligned tables in 100 columns; --per-vcpu; filters by vCPU and hart', () => {
    const r = cli(['stat', guest, '--per-vcpu']);
    expect(r.status, r.stderr).toBe(0);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(r.stdout).toMatch(/^VM exits: \d+$/m);
    expect(r.stdout).toMatch(/^ {2}reason +count +% +insns min +avg +max +µs min +avg +max$/m);
    expect(r.stdout).toMatch(/^VM exits of vm 0 vcpu 3: \d+$/m);
    for (const h of ['Traps:', 'SBI calls:', 'MMIO accesses:', 'Interrupts:', 'CSR writes:', 'Harts:']) expect(r.stdout).toContain(h);
    expect(r.stdout).toMatch(/^ {2}TIME\.set_timer +\d+/m);
    const lx = cli(['stat', linux]);
    for (const line of lx.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);

    const v1 = stat(guest, '--vcpu', '1');
    expect(v1.vmExits.total).toBe(sql<{ n: number }>(guest, 'SELECT count(*) AS n FROM vm_exits WHERE vcpu = 1')[0]!.n);
    expect(v1.traps.total).toBeLessThan(stat(guest).traps.total);
    const h1 = stat(bare, '--hart', '1');
    expect(h1.traps.total).toBe(sql<{ n: number }>(bare, 'SELECT count(*) AS n FROM traps WHERE hart = 1')[0]!.n);
    expect(h1.csrWrites.total).toBe(sql<{ n: number }>(bare, 'SELECT count(*) AS n FROM csr_writes WHERE hart = 1')[0]!.n);
    expect(h1.harts.map((h) => h.hart)).toEqual([1]);
  });

  it('bad input: no events, aborted, a QEMU import give numbers and a note; bad files and values are one line, exit 2', () => {
    const e = stat(emptyTrace(guest, tmp('empty.trace')));
    expect(e.events).toBe(0);
    expect(e.notes.join(' ')).toMatch(/no events/);
    const ab = stat(abortedTrace(guest, tmp('aborted.trace'), 1500));
    expect(ab.status).toBe('aborted');
    expect(ab.notes.join(' ')).toMatch(/aborted/);
    expect(ab.vmExits.total).toBe(sql<{ n: number }>(tmp('aborted.trace'), 'SELECT count(*) AS n FROM vm_exits')[0]!.n);
    const q = stat(qemuImport(bare, dir, 'qemu'));
    expect(q.traps.total).toBe(sql<{ n: number }>(bare, 'SELECT count(*) AS n FROM traps')[0]!.n);
    expect(q.notes.join(' ')).toMatch(/no trap returns/);
    for (const args of [['stat', tmp('missing.trace')], ['stat', guest, '--hart', 'x'], ['stat', `${GUESTS}/hello.elf`]]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^hvtrace: [^\n]+\n$/);
      expect(r.stdout).toBe('');
    }
  });
});
