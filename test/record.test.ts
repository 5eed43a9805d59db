/**
 * Recording (src/trace/recorder.ts) in process: the bundled guests on 1 and 4 harts give
 * complete traces with plausible events, identical to the plain run in console, instruction
 * counts and exit; recording twice gives identical event streams (every field of every event,
 * digests, checkpoints); input is recorded; an aborted recording is readable; the RAM write
 * tracker covers every non-zero page; and a run restored from a checkpoint reproduces the rest
 * of the recorded events and digests exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, type MachineConfig, type HaltInfo } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { eventDiff, type TraceEvent } from '../src/trace/model.js';
import { TraceReader, type DigestRow } from '../src/trace/store.js';
import {
  RecordSession, Recorder, RamWriteTracker, restoreCheckpoint, stateDigest, type RecordOptions,
} from '../src/trace/recorder.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GUESTS = `${ROOT}guests/build`;
const MiB = 1024 * 1024;
const SAFETY_CAP = 50_000_000;

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-record-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function config(guest: string, harts: number): MachineConfig {
  const p = `${GUESTS}/${guest}.elf`;
  return { ramSize: 256 * MiB, harts, bios: 'builtin', kernel: { name: p, bytes: new Uint8Array(readFileSync(p)) } };
}

let traceNo = 0;
function record(guest: string, harts: number, opts: Partial<RecordOptions> & { input?: string } = {}): { path: string; session: RecordSession; halt: HaltInfo } {
  const path = join(dir, `${guest}-${harts}-${traceNo++}.trace`);
  const session = RecordSession.create({ path, config: config(guest, harts), maxInsns: SAFETY_CAP, ...opts, input: opts.input ? { source: 'file', name: 'test' } : undefined });
  if (opts.input) session.queueInput(new TextEncoder().encode(opts.input), 0);
  const halt = session.runToEnd();
  session.finish();
  return { path, session, halt };
}

function plainRun(guest: string, harts: number, input?: string): { console: string; instret: number[]; halt: HaltInfo } {
  const m = new Machine(config(guest, harts));
  const s = new Scheduler(m, { maxInsns: SAFETY_CAP });
  let out = '';
  m.onConsole = (b) => { out += Buffer.from(b).toString('latin1'); };
  if (input) s.addInput(new TextEncoder().encode(input), 0);
  const halt = s.runToEnd();
  return { console: out, instret: m.harts.map((h) => h.instret), halt };
}

function readAll(path: string): { events: TraceEvent[]; digests: DigestRow[]; console: string; r: TraceReader } {
  const r = TraceReader.open(path);
  return { events: r.readEvents(), digests: r.digests(), console: Buffer.from(r.consoleBytes()).toString('latin1'), r };
}

describe.each([
  ['hello', 1],
  ['smp-kernel', 1],
  ['smp-kernel', 4],
] as const)('record %s on %i hart(s)', (guest, harts) => {
  it('gives a complete trace that matches the plain run', () => {
    const plain = plainRun(guest, harts);
    expect(plain.halt.kind).toBe('poweroff');
    const { path, halt } = record(guest, harts);
    expect(halt).toEqual(plain.halt);
    const { events, console: con, r } = readAll(path);
    try {
      expect(r.status).toBe('complete');
      expect(r.exit).toEqual({ kind: plain.halt.kind, exitCode: plain.halt.exitCode, message: plain.halt.message });
      expect(con).toBe(plain.console);
      expect(r.counts!.instret).toEqual(plain.instret);
      expect(r.counts!.events).toBe(events.length);
      // seq 0..n-1 without gaps; per hart, virtual time and instret never go back
      events.forEach((e, i) => expect(e.seq).toBe(i));
      const last = new Map<number, TraceEvent>();
      for (const e of events) {
        const p = last.get(e.hart);
        if (p && e.kind !== 'input') {
          expect(e.vtime, `seq ${e.seq}`).toBeGreaterThanOrEqual(p.vtime);
          expect(e.instret, `seq ${e.seq}`).toBeGreaterThanOrEqual(p.instret);
        }
        if (e.kind !== 'input') last.set(e.hart, e);
      }
      const by = r.countsByKind();
      expect(by.trap).toBeGreaterThan(0);
      expect(by.trap_return).toBeGreaterThan(0);
      expect(by.sbi_call).toBeGreaterThan(0);
      expect(by.csr_write).toBeGreaterThan(0);
      expect(by.halt).toBe(1);
      const end = events[events.length - 1]!;
      expect(end.kind).toBe('halt');
      expect(end.a).toBe(BigInt(plain.halt.exitCode));
      expect(end.payload).toEqual({ kind: plain.halt.kind, message: plain.halt.message });
      // The firmware's boot of hart 0 is observed: CSR writes by the firmware, then an mret into S.
      const firstCsr = events.find((e) => e.kind === 'csr_write')!;
      expect(firstCsr).toMatchObject({ hart: 0, priv: 3, vtime: 0, payload: { who: 'firmware' } });
      const firstRet = events.find((e) => e.kind === 'trap_return')!;
      expect(firstRet.seq).toBeGreaterThan(firstCsr.seq);
      expect(firstRet.c).toBe(1n);
      // every SBI call from S-mode follows its ecall trap
      for (const e of events.filter((x) => x.kind === 'sbi_call')) {
        const t = events.slice(0, e.seq).reverse().find((x) => x.hart === e.hart && x.kind === 'trap')!;
        expect(t.a).toBe(9n);
        expect(t.pc).toBe(e.pc);
      }
      if (harts === 4) {
        expect(events.filter((e) => e.kind === 'hart_state' && e.a === 0n).map((e) => e.hart)).toEqual([1, 2, 3]);
        for (let h = 0; h < 4; h++) expect(events.some((e) => e.hart === h && e.kind === 'trap')).toBe(true);
      }
      expect(r.digests().at(-1)!.final).toBe(true);
      expect(r.consoleSha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      r.close();
    }
  });
});

describe('determinism', () => {
  it('recording smp-kernel on 4 harts twice gives identical traces', () => {
    const opts = { digestEvery: 30_000, checkpointEvery: 70_000 };
    const a = readAll(record('smp-kernel', 4, opts).path);
    const b = readAll(record('smp-kernel', 4, opts).path);
    try {
      expect(a.events.length).toBeGreaterThan(1000);
      expect(b.events.length).toBe(a.events.length);
      for (let i = 0; i < a.events.length; i++) {
        const d = eventDiff(a.events[i]!, b.events[i]!);
        if (d.length) expect.fail(`event ${i} differs in ${d.join(', ')}`);
      }
      expect(b.digests).toEqual(a.digests);
      expect(a.digests.length).toBeGreaterThan(3);
      expect(b.console).toBe(a.console);
      const ca = a.r.checkpoints(), cb = b.r.checkpoints();
      expect(ca.length).toBeGreaterThan(1);
      expect(cb).toEqual(ca);
      for (const c of ca) expect(b.r.checkpoint(c.id)).toEqual(a.r.checkpoint(c.id));
      expect(b.r.query('SELECT * FROM console').rows).toEqual(a.r.query('SELECT * FROM console').rows);
    } finally {
      a.r.close();
      b.r.close();
    }
  });
});

/** The subset of JSON Schema that schemas/*.schema.json use; bigints count as integers. */
function validate(schema: Record<string, unknown>, root: Record<string, unknown>, v: unknown, at = '$'): string[] {
  const errs: string[] = [];
  const s = schema.$ref ? resolveRef(root, schema.$ref as string) : schema;
  const typeOf = (x: unknown): string => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x)) ? 'integer' : typeof x === 'number' ? 'number' : typeof x);
  if (s.oneOf) {
    const ok = (s.oneOf as Record<string, unknown>[]).filter((o) => validate(o, root, v, at).length === 0).length;
    if (ok !== 1) errs.push(`${at}: matches ${ok} of oneOf`);
    return errs;
  }
  if (s.const !== undefined && v !== s.const) errs.push(`${at}: not ${String(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(typeof v === 'bigint' ? Number(v) : v)) errs.push(`${at}: ${String(v)} not in enum`);
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.includes(typeOf(v))) errs.push(`${at}: type ${typeOf(v)}, want ${types.join('|')}`);
  }
  if (typeof s.minimum === 'number' && (typeof v === 'number' || typeof v === 'bigint') && v < s.minimum) errs.push(`${at}: below minimum`);
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of (s.required as string[] | undefined) ?? []) if (!(k in o)) errs.push(`${at}: missing ${k}`);
    const props = (s.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) errs.push(...validate(props[k]!, root, x, `${at}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${at}: unexpected ${k}`);
    }
  }
  if (typeOf(v) === 'array' && s.items) {
    const a = v as unknown[];
    if (typeof s.minItems === 'number' && a.length < s.minItems) errs.push(`${at}: too few items`);
    if (typeof s.maxItems === 'number' && a.length > s.maxItems) errs.push(`${at}: too many items`);
    a.forEach((x, i) => errs.push(...validate(s.items as Record<string, unknown>, root, x, `${at}[${i}]`)));
  }
  return errs;
}
function resolveRef(root: Record<string, unknown>, ref: string): Record<string, unknown> {
  return ref.replace(/^#\//, '').split('/').reduce((o: Record<string, unknown>, k) => o[k] as Record<string, unknown>, root);
}

const loadSchema = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`${ROOT}schemas/${name}.schema.json`, 'utf8')) as Record<string, unknown>;

/** Checks the stored config and every event payload against the schemas; returns the kinds seen. */
function expectFollowsSchemas(events: readonly TraceEvent[], config: unknown): Set<string> {
  const cfgSchema = loadSchema('machine-config'), evSchema = loadSchema('event-payload');
  const byKind = evSchema['x-by-kind'] as Record<string, string>;
  expect(validate(cfgSchema, cfgSchema, config)).toEqual([]);
  const kinds = new Set<string>();
  for (const e of events) {
    kinds.add(e.kind);
    const errs = validate(resolveRef(evSchema, byKind[e.kind]!), evSchema, e.payload);
    if (errs.length) expect.fail(`seq ${e.seq} (${e.kind}): ${errs.join('; ')}`);
  }
  return kinds;
}

describe('JSON schemas', () => {
  it('stored configs and event payloads follow schemas/*.schema.json', () => {
    const { events, r } = readAll(record('smp-kernel', 4, { input: 'hello\n' }).path);
    try {
      const kinds = expectFollowsSchemas(events, r.config);
      expect([...kinds].sort()).toEqual(['csr_write', 'halt', 'hart_state', 'input', 'irq', 'mmio', 'sbi_call', 'trap', 'trap_return']);
      // and the validator does reject
      const cfgSchema = loadSchema('machine-config'), evSchema = loadSchema('event-payload');
      const byKind = evSchema['x-by-kind'] as Record<string, string>;
      expect(validate(resolveRef(evSchema, byKind.trap!), evSchema, { from: 1 })).not.toEqual([]);
      expect(validate(cfgSchema, cfgSchema, { ...r.config, extra: 1 })).not.toEqual([]);
    } finally {
      r.close();
    }
  });

  it('a guest run under the built-in hypervisor (V = 1 traps, vm_exit, vm_entry) follows them too', () => {
    const p = `${GUESTS}/smp-kernel.elf`;
    const path = join(dir, `guest-${traceNo++}.trace`);
    const session = RecordSession.create({
      path, maxInsns: SAFETY_CAP,
      config: {
        ramSize: 512 * MiB, harts: 2, bios: 'builtin',
        guests: [{ image: { name: p, bytes: new Uint8Array(readFileSync(p)) }, vcpus: 2, memSize: 128 * MiB }],
      },
    });
    expect(session.runToEnd().kind).toBe('poweroff');
    session.finish();
    const { events, r } = readAll(path);
    try {
      const kinds = expectFollowsSchemas(events, r.config);
      expect(kinds.has('vm_exit') && kinds.has('vm_entry')).toBe(true);
      expect(events.some((e) => e.kind === 'trap' && e.virt)).toBe(true);
    } finally {
      r.close();
    }
  });
});

describe('tiers', () => {
  it('the block translation tier records exactly the interpreter\'s trace', () => {
    const interp = readAll(record('smp-kernel', 4, { config: { ...config('smp-kernel', 4), jit: false }, digestEvery: 40_000 }).path);
    const jit = readAll(record('smp-kernel', 4, { config: { ...config('smp-kernel', 4), jit: true }, digestEvery: 40_000 }).path);
    try {
      expect(jit.events.length).toBe(interp.events.length);
      for (let i = 0; i < interp.events.length; i++) {
        const d = eventDiff(jit.events[i]!, interp.events[i]!);
        if (d.length) expect.fail(`event ${i} differs in ${d.join(', ')}`);
      }
      expect(jit.digests).toEqual(interp.digests);
    } finally {
      interp.r.close();
      jit.r.close();
    }
  });
});

describe('input', () => {
  it('UART input is queued, delivered and recorded', () => {
    const plain = plainRun('smp-kernel', 4, 'hello\n');
    expect(plain.console).toContain("input: got 'hello'");
    const { path } = record('smp-kernel', 4, { input: 'hello\n' });
    const { events, console: con, r } = readAll(path);
    try {
      expect(con).toBe(plain.console);
      expect(r.inputQueue()).toEqual([{ vtime: 0, data: new TextEncoder().encode('hello\n') }]);
      const ins = r.inputs();
      expect(ins.map((i) => i.byte)).toEqual([...'hello\n'].map((c) => c.charCodeAt(0)));
      const ev = events.filter((e) => e.kind === 'input');
      expect(ev.map((e) => Number(e.a))).toEqual(ins.map((i) => i.byte));
      expect(ev.map((e) => e.seq)).toEqual(ins.map((i) => i.seq));
      expect(ev.map((e) => e.vtime)).toEqual(ins.map((i) => i.vtime));
      expect(r.config.input).toEqual({ source: 'file', name: 'test' });
    } finally {
      r.close();
    }
  });
});

describe('aborted recording', () => {
  it('is readable, marked aborted, with the events up to the stop', () => {
    const path = join(dir, 'aborted.trace');
    const s = RecordSession.create({ path, config: config('smp-kernel', 4) });
    for (let i = 0; i < 12; i++) s.step(1);
    expect(s.machine.halted).toBe(false);
    const sum = s.finish('aborted', 'test stop');
    expect(sum.status).toBe('aborted');
    const r = TraceReader.open(path);
    try {
      expect(r.status).toBe('aborted');
      expect(r.exit).toEqual({ kind: 'aborted', exitCode: 130, message: 'test stop' });
      const ev = r.readEvents();
      expect(ev.length).toBe(sum.events);
      expect(ev.length).toBeGreaterThan(10);
      expect(ev.some((e) => e.kind === 'halt')).toBe(false);
      expect(r.counts!.totalInstret).toBe(sum.totalInstret);
    } finally {
      r.close();
    }
  });
});

describe('RAM write tracking', () => {
  it('every non-zero RAM page after a run is a tracked page', () => {
    for (const [guest, harts] of [['smp-kernel', 4], ['hello', 1]] as const) {
      const { session } = record(guest, harts);
      const tr = RamWriteTracker.existing(session.machine)!;
      expect(tr.active).toBe(true);
      const bus = session.machine.bus;
      const w = new Int32Array(bus.buffer, bus.ramOffset, bus.ramSize >>> 2);
      const untracked: number[] = [];
      let nonzero = 0;
      for (let p = 0; p < tr.touched.length; p++) {
        let or = 0;
        for (let i = p << 10, e = i + 1024; i < e; i++) or |= w[i]!;
        if (or !== 0) {
          nonzero++;
          if (!tr.touched[p]) untracked.push(p);
        }
      }
      expect(nonzero).toBeGreaterThan(3);
      expect(untracked).toEqual([]);
      expect(tr.count).toBeLessThan(tr.touched.length / 4);
    }
  });
});

describe('checkpoints', () => {
  it('a run restored from a checkpoint reproduces the rest of the trace', () => {
    const quantum = 2_000;
    const { path } = record('smp-kernel', 4, { quantum, digestEvery: 20_000, checkpointEvery: 60_000, input: 'hello\n' });
    const r = TraceReader.open(path);
    try {
      const cks = r.checkpoints();
      expect(cks.length).toBeGreaterThanOrEqual(2);
      const all = r.readEvents();
      const digests = r.digests();
      for (const ck of [cks[0]!, cks[cks.length - 1]!]) {
        const got: TraceEvent[] = [];
        const rec = new Recorder((b) => { got.push(...b.toArray()); }, { batchSize: 64 });
        const m = new Machine({ ...r.machineConfig(), observer: rec });
        const s = new Scheduler(m, { quantum, maxInsns: SAFETY_CAP });
        RamWriteTracker.of(m);
        let out = '';
        m.onConsole = (b) => { out += Buffer.from(b).toString('latin1'); };
        for (const q of r.inputQueue()) s.addInput(q.data, q.vtime);
        s.onInputDelivered = (vt, byte) => rec.input(m.harts[0]!, vt, byte);
        const want = new Map(digests.filter((d) => !d.final).map((d) => [d.totalInstret, d]));
        const seen: DigestRow[] = [];
        s.onRoundStart = (sc) => {
          const d = want.get(sc.totalInstructions());
          if (d && sc.totalInstructions() >= ck.totalInstret) seen.push(stateDigest(m, sc, rec.seq));
        };
        const data = restoreCheckpoint(r, ck.id, m, s);
        rec.reset(data.seq);
        got.length = 0; // the boot of the fresh machine is not part of the comparison
        expect(s.totalInstructions()).toBe(ck.totalInstret);
        const halt = s.runToEnd();
        rec.halt(m.current, halt);
        rec.flush();
        const rest = all.slice(ck.seq);
        expect(got.length).toBe(rest.length);
        for (let i = 0; i < rest.length; i++) {
          const d = eventDiff(got[i]!, rest[i]!);
          if (d.length) expect.fail(`checkpoint ${ck.id}: event ${rest[i]!.seq} differs in ${d.join(', ')}`);
        }
        expect(out).toBe(Buffer.from(r.consoleBytes()).toString('latin1').slice(ck.consoleBytes));
        expect(seen.length).toBeGreaterThan(0);
        // The machine state matches; the events' running hash is not known to a recorder that
        // started at a checkpoint (stateDigest leaves it out).
        const stateOnly = (d: DigestRow | undefined) => ({ ...d, eventsHash: undefined, kindCounts: undefined });
        for (const d of seen) expect(d).toEqual(stateOnly(want.get(d.totalInstret)));
        expect(stateDigest(m, s, rec.seq, { final: true })).toEqual(stateOnly(digests.at(-1)));
      }
    } finally {
      r.close();
    }
  });
});
