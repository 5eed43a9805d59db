/**
 * `hvtrace replay`: record a run, replay it with zero divergences; `--to POS` lands on the exact
 * instruction (checked against runs stopped by an instruction limit, and against ELF symbols);
 * a tampered trace is reported as a divergence.
 *
 * Everything goes through the built CLI (dist/cli/main.js; `npm test` builds first). The
 * reference runs use the compiled engine in process (loaded with Node's own loader, as in
 * guests.test.ts: code loaded through vitest's module runner is several times slower).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as MachineModule from '../src/board/machine.js';
import type * as SchedulerModule from '../src/sched/scheduler.js';
import type * as ReplayerModule from '../src/replay/replayer.js';
import { parseElf, findSymbol } from '../src/image/loader.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const GUESTS = `${ROOT}guests/build`;
const HELLO = `${GUESTS}/hello.elf`;
const SMPK = `${GUESTS}/smp-kernel.elf`;
const INPUT = 'hello\n';

const req = createRequire(import.meta.url);
const { Machine } = req(`${ROOT}dist/board/machine.js`) as typeof MachineModule;
const { Scheduler } = req(`${ROOT}dist/sched/scheduler.js`) as typeof SchedulerModule;
const { seek } = req(`${ROOT}dist/replay/replayer.js`) as typeof ReplayerModule;
const seekApi = (trace: string, pos: string) => seek(trace, pos, { events: 0 });

let dir = '';
const tmp = (name: string): string => join(dir, name);

interface CliResult { status: number | null; stdout: string; stderr: string }
function cli(args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: '', encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function json(r: CliResult): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Record a trace; small checkpoint / digest intervals so that short runs have several. */
function record(name: string, kernel: string, harts: number, opts: { input?: boolean; ck?: string; dg?: string } = {}): string {
  const path = tmp(name);
  const args = ['record', '--kernel', kernel, '--smp', String(harts), '-o', path, '-q',
    '--checkpoint-every', opts.ck ?? '40000', '--digest-every', opts.dg ?? '10000'];
  if (opts.input) args.push('--input', tmp('input.txt'));
  const r = cli(args);
  expect(r.status, r.stderr).toBe(0);
  return path;
}

interface HartState { pc: bigint; x: bigint[]; instret: number; steps: number }
/** A run of `kernel` stopped by an instruction limit (as `hvtrace run --max-insns N`). */
function limitedRun(kernel: string, harts: number, maxInsns: number, input: boolean): HartState[] {
  const m = new Machine({ ramSize: 256 << 20, harts, bios: 'builtin', kernel: { name: kernel, bytes: new Uint8Array(readFileSync(kernel)) } });
  const s = new Scheduler(m, { maxInsns });
  if (input) s.addInput(new TextEncoder().encode(INPUT), 0);
  const h = s.runToEnd();
  expect(h.kind).toBe('limit');
  expect(s.totalInstructions()).toBe(maxInsns);
  return m.harts.map((x) => ({ pc: x.getPc(), x: Array.from({ length: 32 }, (_, i) => x.getX(i)), instret: x.instret, steps: x.attempted }));
}

const X_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];

/** `hvtrace replay FILE --to POS --json` (exit 0). */
function seekJson(trace: string, pos: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = cli(['replay', trace, '--to', pos, '--json']);
  expect(r.status, `${r.stderr}\n${r.stdout.slice(0, 2000)}`).toBe(0);
  return json(r);
}

function expectSameHart(view: any, ref: HartState, what: string): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(BigInt(view.pc), `${what}: pc`).toBe(ref.pc);
  expect(view.instret, `${what}: instret`).toBe(ref.instret);
  expect(view.attempted, `${what}: steps`).toBe(ref.steps);
  for (let i = 0; i < 32; i++) expect(BigInt(view.x[X_NAMES[i]!]), `${what}: ${X_NAMES[i]}`).toBe(ref.x[i]);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npx tsc -p .)`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-replay-'));
  writeFileSync(tmp('input.txt'), INPUT);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('replay: record, then replay with zero divergences', () => {
  it('hello (1 hart)', () => {
    const t = record('hello.trace', HELLO, 1);
    const r = cli(['replay', t]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^replay .*hello\.trace: match: \d+ events, \d+ instructions/);
    const j = json(cli(['replay', t, '--json']));
    expect(j.status).toBe('match');
    expect(j.issues).toEqual([]);
    expect(j.events.compared).toBe(j.events.expected);
    expect(j.events.compared).toBeGreaterThan(20);
    expect(j.end.actual).toMatchObject({ kind: 'poweroff', exitCode: 0 });
  });

  it.each([1, 4])('smp-kernel, %i hart(s), with UART input', (harts) => {
    const t = record(`smp${harts}.trace`, SMPK, harts, { input: true });
    const j = json(cli(['replay', t, '--json']));
    expect(j.status, JSON.stringify(j.issues)).toBe('match');
    expect(j.events.compared).toBe(j.events.expected);
    expect(j.events.matched).toBe(j.events.expected);
    // Digests every 10k instructions: all of them were recomputed and matched.
    expect(j.digests.compared).toBe(j.digests.stored);
    expect(j.digests.compared).toBeGreaterThan(5);
    expect(j.instructions.actual).toBe(j.instructions.expected);
    expect(j.end.actual).toMatchObject({ kind: 'poweroff', exitCode: 0 });
    // The input was delivered and echoed in the replay too.
    const withConsole = cli(['replay', t, '--console']);
    expect(withConsole.status).toBe(0);
    expect(withConsole.stdout).toContain("input: got 'hello'");
  });

  it('a tampered event is reported as the first divergence (exit 1), with seq, pc and symbol', () => {
    const src = tmp('smp4.trace');
    const t = tmp('smp4-tampered.trace');
    copyFileSync(src, t);
    const db = new Database(t);
    const row = db.prepare("SELECT seq, pc FROM events WHERE kind = 'csr_write' AND seq > 300 ORDER BY seq LIMIT 1").safeIntegers(true).get() as { seq: bigint; pc: bigint };
    db.prepare('UPDATE events SET c = c + 1 WHERE seq = ?').run(row.seq);
    db.close();
    const r = cli(['replay', t]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const seq = Number(row.seq);
    const pcHex = `0x${BigInt.asUintN(64, row.pc).toString(16)}`;
    // c is csr_write's `new` value: named by the kind's field (src/trace/event-kinds.ts).
    expect(r.stdout).toMatch(new RegExp(`^replay .*: DIVERGENCE: event #${seq} differs \\(new\\) at hart \\d, instret \\d+, pc ${pcHex} <[\\w.+]+> \\(csr`, 'm'));
    const j = json(cli(['replay', t, '--json']));
    expect(j.status).toBe('divergence');
    expect(j.issues[0].kind).toBe('event');
    expect(j.issues[0].event.seq).toBe(seq);
    expect(j.issues[0].event.pc).toBe(pcHex);
    expect(j.issues[0].event.differences.map((d: { field: string }) => d.field)).toEqual(['c']);
    expect(j.issues[0].event.before.expected.length).toBeGreaterThan(3);
    expect(j.events.matched).toBe(seq);
  });
});

describe('replay --to: lands on the exact instruction', () => {
  it('pc:main on hello: pc = the ELF symbol, a0 = hart id, a1 = DTB, ra in _start', () => {
    const t = tmp('hello.trace');
    const elf = parseElf(new Uint8Array(readFileSync(HELLO)));
    const main = findSymbol(elf.symbols, 'main')!;
    const j = seekJson(t, 'pc:main');
    expect(j.hart).toBe(0);
    const h = j.harts[0];
    expect(BigInt(h.pc)).toBe(main.value);
    expect(h.symbol).toBe('main');
    expect(BigInt(h.x.a0)).toBe(0n);
    const db = new Database(t, { readonly: true });
    const loaded = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'loaded_images'").get() as { value: string }).value) as { role: string; base: number }[];
    db.close();
    expect(BigInt(h.x.a1)).toBe(BigInt(loaded.find((l) => l.role === 'dtb')!.base));
    const start = findSymbol(elf.symbols, '_start')!;
    const ra = BigInt(h.x.ra);
    expect(ra > start.value && ra < main.value).toBe(true);
    const cur = h.disasm.find((l: { current: boolean }) => l.current);
    expect(cur.symbol).toBe('main');
    expect(BigInt(cur.pc)).toBe(main.value);
    expect(h.csrs.satp).toBe('0x0');
    // The same address in hex, and a symbol + offset.
    expect(seekJson(t, `pc:0x${main.value.toString(16)}`).totalInstructions).toBe(j.totalInstructions);
    const j2 = seekJson(t, 'pc:main+0x2');
    expect(BigInt(j2.harts[0].pc)).toBe(main.value + 2n);
    expect(j2.totalInstructions).toBe(j.totalInstructions + 1);
  });

  it('N = the first point where all harts together have retired N instructions (the count info prints): the state of a run stopped there by --max-insns (hello; smp-kernel on 4 harts across checkpoints)', () => {
    // --max-insns counts attempted steps (a trapping attempt is one too); --to N counts retired
    // instructions. The seek reports both: the run stopped at its attempted count is the same
    // machine, and one step earlier fewer than N had retired.
    const retired = (hs: HartState[]): number => hs.reduce((a, h) => a + h.instret, 0);
    for (const n of [1, 777, 3001]) {
      const j = seekJson(tmp('hello.trace'), String(n));
      expect(j.totalInstructions).toBe(n);
      expect(j.totalAttempted).toBeGreaterThanOrEqual(n);
      const ref = limitedRun(HELLO, 1, j.totalAttempted, false);
      expect(retired(ref)).toBe(n);
      if (j.totalAttempted > 1) expect(retired(limitedRun(HELLO, 1, j.totalAttempted - 1, false))).toBeLessThan(n);
      expectSameHart(j.harts[0], ref[0]!, `hello @${n}`);
    }
    // Checkpoints every 40k: these land after restoring one (and one exactly on it).
    for (const n of [40_000, 95_123, 150_007, 190_000]) {
      const j = seekJson(tmp('smp4.trace'), String(n));
      expect(j.totalInstructions).toBe(n);
      const ref = limitedRun(SMPK, 4, j.totalAttempted, true);
      expect(retired(ref)).toBe(n);
      if (n > 40_000) expect(j.checkpoint, `@${n}`).not.toBeNull();
      for (let h = 0; h < 4; h++) expectSameHart(j.harts[h], ref[h]!, `smp4 @${n} hart ${h}`);
    }
    // Beyond the end: the error names the trace's retired count, the one info prints.
    const info = cli(['info', tmp('hello.trace'), '--json']);
    const total = (json(info).counts.instret as number[]).reduce((a, b) => a + b, 0);
    const past = cli(['replay', tmp('hello.trace'), '--to', String(total + 1)]);
    expect(past.status).toBe(2);
    expect(past.stderr).toContain(`(${total} instructions retired)`);
    expect(seekJson(tmp('hello.trace'), String(total)).totalInstructions).toBe(total);
  });

  it('HART:COUNT = the first point where that hart has retired COUNT instructions', () => {
    // Reference: a run stopped by the limit where the last step of the hart retired (so the
    // first point with that instret is this one).
    let checked = 0;
    for (const [n, hart] of [[120_345, 2], [160_001, 1], [99_999, 0], [130_002, 3], [150_001, 2], [110_007, 1], [170_003, 3], [180_011, 0]] as const) {
      const ref = limitedRun(SMPK, 4, n, true);
      const before = limitedRun(SMPK, 4, n - 1, true);
      if (ref[hart]!.instret === before[hart]!.instret || ref[hart]!.steps === before[hart]!.steps) continue;
      const j = seekJson(tmp('smp4.trace'), `${hart}:${ref[hart]!.instret}`);
      expect(j.hart).toBe(hart);
      expect(j.totalAttempted).toBe(n);
      for (let h = 0; h < 4; h++) expectSameHart(j.harts[h], ref[h]!, `smp4 ${hart}:${ref[hart]!.instret} hart ${h}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  it('seq:N lands just before the instruction that produces event N', () => {
    const t = tmp('smp4.trace');
    const db = new Database(t, { readonly: true });
    const ecall = db.prepare("SELECT seq, hart, instret, pc FROM events WHERE kind = 'trap' AND a = 9 AND seq > 500 ORDER BY seq LIMIT 1").safeIntegers(true).get() as Record<string, bigint>;
    const csr = db.prepare("SELECT seq, hart, instret, pc FROM events WHERE kind = 'csr_write' AND hart = 2 AND seq > 400 ORDER BY seq LIMIT 1").safeIntegers(true).get() as Record<string, bigint>;
    db.close();
    for (const ev of [ecall, csr]) {
      const j = seekJson(t, `seq:${ev.seq}`);
      expect(j.hart).toBe(Number(ev.hart));
      expect(j.nextSeq).toBe(Number(ev.seq));
      expect(j.nextEvent.seq).toBe(Number(ev.seq));
      const h = j.harts[Number(ev.hart)];
      expect(BigInt(h.pc)).toBe(BigInt.asUintN(64, ev.pc!));
      expect(h.instret).toBe(Number(ev.instret));
      expect(j.divergence).toBeNull();
    }
    const e = seekJson(t, `seq:${ecall.seq}`);
    expect(e.harts[Number(ecall.hart)].disasm.find((l: { current: boolean }) => l.current).text).toBe('ecall');
  });

  it('seq:N for every kind: lands before the action that emits N; all events of that action land at the same point', () => {
    // One instruction can emit several events (an ecall handled by the built-in SBI: trap,
    // csr writes, sbi_call, mret): they all name the same instruction.
    const t = tmp('smp4.trace');
    const db = new Database(t, { readonly: true });
    const rows = db.prepare('SELECT seq, kind FROM events WHERE seq >= 20 ORDER BY seq').all() as { seq: number; kind: string }[];
    db.close();
    const sample: number[] = [];
    for (const k of ['trap', 'trap_return', 'csr_write', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input']) {
      const list = rows.filter((r) => r.kind === k);
      expect(list.length, k).toBeGreaterThan(0);
      sample.push(list[Math.floor(list.length / 2)]!.seq, list[list.length - 1]!.seq);
    }
    for (const n of sample) {
      const j = seekApi(t, `seq:${n}`);
      expect(j.nextSeq, `seq:${n}`).toBeLessThanOrEqual(n);
      expect(n - j.nextSeq, `seq:${n}: one action emits a handful of events`).toBeLessThan(8);
      expect(j.divergence).toBeNull();
      if (j.nextSeq < n) {
        const k = seekApi(t, `seq:${j.nextSeq}`);
        expect(k.totalInstructions, `seq:${n} vs seq:${j.nextSeq}`).toBe(j.totalInstructions);
        expect(k.nextSeq).toBe(j.nextSeq);
      }
    }
  });

  it('pc:SYMBOL#K and H:pc:SYMBOL count hits; the text report shows registers, CSRs, code and events', () => {
    const t = tmp('smp4.trace');
    const hits = [1, 2, 3].map((k) => seekJson(t, `pc:trap_handler#${k}`));
    for (let k = 1; k < 3; k++) expect(hits[k].totalInstructions).toBeGreaterThan(hits[k - 1].totalInstructions);
    for (const j of hits) expect(j.harts[j.hart].symbol).toBe('trap_handler');
    const h2 = seekJson(t, '2:pc:trap_handler');
    expect(h2.hart).toBe(2);
    const r = cli(['replay', t, '--to', '2:pc:trap_handler']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hart 2 \*: pc 0x80[0-9a-f]+ <trap_handler>  priv S /m);
    expect(r.stdout).toMatch(/^\s+zero 0x0000000000000000\s+ra 0x[0-9a-f]{16}/m);
    expect(r.stdout).toMatch(/\bmstatus 0x[0-9a-f]{16}/);
    expect(r.stdout).toMatch(/\bscause 0x[0-9a-f]{16}/);
    expect(r.stdout).toMatch(/^ {2}=> 0x80[0-9a-f]+ <trap_handler>:/m);
    expect(r.stdout).toMatch(/^last events:\n {2}#\d+ h\d /m);
  });

  it('positions the trace does not reach or cannot parse: one line, exit 2', () => {
    const t = tmp('hello.trace');
    for (const [pos, want] of [
      ['999999999', /beyond the end of the trace/],
      ['0:99999999', /beyond the end of the trace/],
      ['seq:99999', /no event 99999/],
      ['pc:no_such_symbol', /no symbol "no_such_symbol"/],
      ['pc:main#50', /reached 1 time before the run ended/],
      ['7:100', /the trace has 1 hart/],
      ['banana', /expected N, HART:COUNT, seq:N/],
    ] as const) {
      const r = cli(['replay', t, '--to', pos]);
      expect(r.status, `${pos}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, pos).toHaveLength(1);
      expect(lines[0], pos).toMatch(want);
    }
  });
});
