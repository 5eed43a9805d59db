/**
 * The gdb targets' execution engine without gdb (src/gdb/engine.ts, replay-target.ts,
 * run-target.ts): exact forward and reverse steps on every hart of a 4-hart recording,
 * breakpoints, watchpoints (exact store), reverse-continue, the start and end of the recording,
 * side-effect-free memory reads, refused writes, the monitor commands, Ctrl-C; and the live
 * `run --gdb` target. The trace file is never written.
 *
 * The engine runs from the compiled output in process (loaded with Node's own loader, as in
 * replay.test.ts: code loaded through vitest's module runner is several times slower).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ReplayTargetModule from '../src/gdb/replay-target.js';
import type * as RunTargetModule from '../src/gdb/run-target.js';
import type * as TargetModule from '../src/gdb/target.js';
import type * as RecorderModule from '../src/trace/recorder.js';
import type * as ReplayerModule from '../src/replay/replayer.js';
import { parseElf, findSymbol } from '../src/image/loader.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const SMPK = `${ROOT}guests/build/smp-kernel.elf`;
const req = createRequire(import.meta.url);
const { openReplayTarget } = req(`${ROOT}dist/gdb/replay-target.js`) as typeof ReplayTargetModule;
const { openRunTarget } = req(`${ROOT}dist/gdb/run-target.js`) as typeof RunTargetModule;
const { DebugError } = req(`${ROOT}dist/gdb/target.js`) as typeof TargetModule;
const { stateDigest } = req(`${ROOT}dist/trace/recorder.js`) as typeof RecorderModule;
const { seek } = req(`${ROOT}dist/replay/replayer.js`) as typeof ReplayerModule;

type Target = ReturnType<typeof openReplayTarget>;
type Resume = Parameters<Target['resume']>[0];

const elf = parseElf(new Uint8Array(readFileSync(SMPK)));
const sym = (name: string): bigint => {
  const s = findSymbol(elf.symbols, name);
  if (s === undefined) throw new Error(`no symbol ${name}`);
  return BigInt(s.value);
};
const KPRINTF = sym('kprintf');
const N_PASS = sym('n_pass');

let dir = '';
let trace = '';
let traceSha = '';
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const never = (): boolean => false;
const go = (t: Target, r: Partial<Resume> & { hart?: number }) =>
  t.resume({ direction: r.direction ?? 'forward', mode: r.mode ?? 'step', hart: r.hart ?? 0 }, never);

/** Every register of every hart, as text (x, pc, f, priv, all CSRs). */
function allRegs(t: Target): string {
  const out: string[] = [];
  for (let h = 0; h < t.hartCount; h++) {
    const r: string[] = [];
    for (let i = 0; i < 32; i++) r.push(String(t.readReg(h, { kind: 'x', index: i })));
    r.push(String(t.readReg(h, { kind: 'pc' })), String(t.readReg(h, { kind: 'priv' })));
    for (let i = 0; i < 32; i++) r.push(String(t.readReg(h, { kind: 'f', index: i })));
    for (const c of t.csrs) r.push(`${c.name}=${t.readReg(h, { kind: 'csr', csr: c.num })}`);
    out.push(r.join(','));
  }
  return out.join('\n');
}
const digest = (t: Target): string => JSON.stringify(stateDigest(t.machine, t.sched, 0));
const u32 = (t: Target, addr: bigint): number | null => {
  const b = t.readMemory(t.currentHart(), addr, 4, false);
  return b === null ? null : new DataView(b.buffer, b.byteOffset).getUint32(0, true);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-gdb-engine-'));
  trace = join(dir, 'smp.trace');
  const r = spawnSync(process.execPath, [CLI, 'record', '--kernel', SMPK, '--smp', '4', '-o', trace, '-q',
    '--checkpoint-every', '60000'], { encoding: 'utf8', input: '', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  traceSha = sha(trace);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('replay target', () => {
  it('starts at the first instruction; stepi x100 then reverse-stepi x100 gives back every register of every hart', async () => {
    const t = openReplayTarget(trace);
    try {
      expect(t.position().g).toBe(0);
      expect(t.readReg(0, { kind: 'pc' })).toBe(elf.entry);
      // A point where all four harts run (their quanta interleave).
      await t.monitor('seek 120000', never);
      for (const hart of [2, 0]) {
        // Start from a stop point of the stepped hart (as gdb does: the thread that stopped).
        await go(t, { hart });
        const before = allRegs(t);
        const g0 = t.position().g;
        const seen: number[] = [];
        for (let i = 0; i < 100; i++) {
          seen.push(t.position().g);
          const e = await go(t, { hart });
          expect(e).toEqual({ hart, reason: 'step' });
        }
        const after = allRegs(t);
        for (let i = 99; i >= 0; i--) {
          const e = await go(t, { hart, direction: 'reverse' });
          expect(e).toEqual({ hart, reason: 'step' });
          // Each reverse step lands exactly where the forward step started from... for the
          // stepped hart; the global position is that hart's previous stop point.
          if (seen[i]! >= g0) expect(t.position().g).toBeLessThanOrEqual(seen[i + 1] ?? Infinity);
        }
        expect(t.position().g).toBe(g0);
        expect(allRegs(t)).toBe(before);
        // And forwards again: the same registers as the first time.
        for (let i = 0; i < 100; i++) await go(t, { hart });
        expect(allRegs(t)).toBe(after);
        for (let i = 0; i < 100; i++) await go(t, { hart, direction: 'reverse' });
      }
    } finally {
      t.close();
    }
  });

  it('a reverse step of one hart lands on its previous stop point: the single-step position before', async () => {
    const t = openReplayTarget(trace, { to: '1:3000' });
    try {
      const pos: number[] = [];
      const regs: string[] = [];
      for (let i = 0; i < 30; i++) {
        pos.push(t.position().g);
        regs.push(allRegs(t));
        await go(t, { hart: 1 });
      }
      for (let i = 29; i >= 0; i--) {
        await go(t, { hart: 1, direction: 'reverse' });
        if (t.machine.harts[1]!.attempted === 0) break;
        expect(t.machine.harts[1]!.attempted).toBe(t.machine.harts[1]!.attempted); // (steps are exact)
      }
      // Back at the start of the stepping: same position and registers.
      expect(t.position().g).toBe(pos[0]);
      expect(allRegs(t)).toBe(regs[0]);
    } finally {
      t.close();
    }
  });

  it('breakpoints: continue stops on the instruction, as replay --to pc:ADDR#K does; reverse-continue finds the previous hit', async () => {
    const t = openReplayTarget(trace);
    try {
      expect(t.insertBreak('sw', KPRINTF, 2)).toBe(true);
      const hits: number[] = [];
      for (let k = 1; k <= 4; k++) {
        const e = await go(t, { mode: 'continue' });
        expect(e.reason).toBe('breakpoint');
        expect(t.readReg(e.hart, { kind: 'pc' })).toBe(KPRINTF);
        hits.push(t.position().g);
        const s = seek(trace, `pc:kprintf#${k}`, { events: 0 });
        expect(s.totalAttempted).toBe(t.position().g);
        expect(s.hart).toBe(e.hart);
      }
      for (let k = 2; k >= 0; k--) {
        const e = await go(t, { mode: 'continue', direction: 'reverse' });
        expect(e.reason).toBe('breakpoint');
        expect(t.position().g).toBe(hits[k]);
        expect(t.readReg(e.hart, { kind: 'pc' })).toBe(KPRINTF);
      }
      // Nothing before the first hit: the start of the recording.
      const e = await go(t, { mode: 'continue', direction: 'reverse' });
      expect(e.reason).toBe('begin');
      expect(t.position().g).toBe(0);
      // A second breakpoint at an address never reached changes nothing.
      expect(t.insertBreak('hw', 0x80000000n, 2)).toBe(true);
      expect((await go(t, { mode: 'continue' })).reason).toBe('breakpoint');
      expect(t.position().g).toBe(hits[0]);
      expect(t.removeBreak('hw', 0x80000000n, 2)).toBe(true);
      expect(t.removeBreak('sw', KPRINTF, 2)).toBe(true);
      expect(t.removeBreak('sw', KPRINTF, 2)).toBe(false);
    } finally {
      t.close();
    }
  });

  it('watchpoints stop right after the exact store, on any hart; reverse-continue finds the previous write', async () => {
    // From the first check (n_pass counts passed checks from there on).
    const t = openReplayTarget(trace, { to: 'pc:check' });
    try {
      expect(t.insertBreak('write', N_PASS, 4)).toBe(true);
      const stops: { g: number; hart: number; value: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const before = u32(t, N_PASS)!;
        const e = await go(t, { mode: 'continue' });
        expect(e.reason).toBe('watchpoint');
        expect(e.watch).toEqual({ kind: 'write', addr: N_PASS });
        const value = u32(t, N_PASS)!;
        expect(value).toBe(before + 1);
        stops.push({ g: t.position().g, hart: e.hart, value });
      }
      // One step back on that hart: right before the store, the old value.
      const last = stops[2]!;
      expect(await go(t, { hart: last.hart, direction: 'reverse' })).toEqual({ hart: last.hart, reason: 'step' });
      expect(t.position().g).toBe(last.g - 1);
      const pc = t.readReg(last.hart, { kind: 'pc' })!;
      expect(t.code.disasm(t.machine.harts[last.hart]!, pc)).toMatch(/^(sw|amoadd\.w|sd)\b/);
      expect(u32(t, N_PASS)).toBe(last.value - 1);
      // A single-step search from the previous stop finds the same instruction.
      await t.monitor(`seek ${stops[1]!.g}`, never);
      t.removeBreak('write', N_PASS, 4);
      let steps = 0;
      while (u32(t, N_PASS) === stops[1]!.value) {
        await go(t, { hart: last.hart });
        steps++;
      }
      expect(t.position().g).toBe(last.g);
      expect(steps).toBeGreaterThan(0);
      t.insertBreak('write', N_PASS, 4);
      // reverse-continue: the write before.
      const e = await go(t, { mode: 'continue', direction: 'reverse' });
      expect(e.reason).toBe('watchpoint');
      expect(t.position().g).toBe(stops[1]!.g);
      expect(u32(t, N_PASS)).toBe(stops[1]!.value);
      // A read watchpoint on the same word: the check's load of n_pass.
      t.removeBreak('write', N_PASS, 4);
      expect(t.insertBreak('read', N_PASS, 4)).toBe(true);
      const r = await go(t, { mode: 'continue' });
      expect(r.reason).toBe('watchpoint');
      expect(r.watch?.kind).toBe('read');
      expect(t.position().g).toBeLessThan(stops[2]!.g);
    } finally {
      t.close();
    }
  });

  it("watchStop 'gdb': forwards right before the store, backwards right after it (gdb steps over it itself)", async () => {
    const t = openReplayTarget(trace, { to: 'pc:check', watchStop: 'gdb' });
    try {
      t.insertBreak('write', N_PASS, 4);
      const v0 = u32(t, N_PASS)!;
      const e = await go(t, { mode: 'continue' });
      expect(e.reason).toBe('watchpoint');
      const g = t.position().g;
      expect(u32(t, N_PASS)).toBe(v0); // not written yet
      expect(t.code.disasm(t.machine.harts[e.hart]!, t.readReg(e.hart, { kind: 'pc' })!)).toMatch(/^(sw|sd|amo)/);
      // Continuing from here does not report the same store again.
      const e2 = await go(t, { mode: 'continue' });
      expect(e2.reason).toBe('watchpoint');
      expect(t.position().g).toBeGreaterThan(g);
      expect(u32(t, N_PASS)).toBe(v0 + 1);
      // gdb's own step over the store (watchpoints removed): right after it.
      t.removeBreak('write', N_PASS, 4);
      await go(t, { hart: e2.hart });
      expect(u32(t, N_PASS)).toBe(v0 + 2);
      t.insertBreak('write', N_PASS, 4);
      // Backwards: the store just done is the first one undone: the stop is right after it,
      // here, and gdb's reverse step over it lands right before it.
      const p = t.position().g;
      const r = await go(t, { mode: 'continue', direction: 'reverse' });
      expect(r.reason).toBe('watchpoint');
      expect(t.position().g).toBe(p);
      t.removeBreak('write', N_PASS, 4);
      await go(t, { hart: r.hart, direction: 'reverse' });
      expect(u32(t, N_PASS)).toBe(v0 + 1);
      // The store before: right after it, then right before it (where the first stop was).
      t.insertBreak('write', N_PASS, 4);
      const r2 = await go(t, { mode: 'continue', direction: 'reverse' });
      expect(r2.reason).toBe('watchpoint');
      expect(u32(t, N_PASS)).toBe(v0 + 1);
      t.removeBreak('write', N_PASS, 4);
      await go(t, { hart: r2.hart, direction: 'reverse' });
      expect(t.position().g).toBe(g);
      expect(u32(t, N_PASS)).toBe(v0);
    } finally {
      t.close();
    }
  });

  it('reverse-continue with nothing to find stops at the start; continue at the end reports the end', async () => {
    const t = openReplayTarget(trace, { to: '150000' });
    try {
      const e = await go(t, { mode: 'continue', direction: 'reverse', hart: 3 });
      expect(e.reason).toBe('begin');
      expect(t.position().g).toBe(0);
      expect(t.readReg(0, { kind: 'pc' })).toBe(elf.entry);
      expect((await go(t, { mode: 'step', direction: 'reverse', hart: 0 })).reason).toBe('begin');
      const f = await go(t, { mode: 'continue' });
      expect(f.reason).toBe('end');
      expect(t.position().end).toBe(true);
      expect((await go(t, { mode: 'continue' })).reason).toBe('end');
      expect((await go(t, { mode: 'step', hart: 2 })).reason).toBe('end');
      // From the end, back one step of hart 0 (its last instruction: the SBI shutdown ecall).
      expect(await go(t, { direction: 'reverse', hart: 0 })).toEqual({ hart: 0, reason: 'step' });
      expect(t.position().end).toBe(false);
      expect(t.code.disasm(t.machine.harts[0]!, t.readReg(0, { kind: 'pc' })!)).toMatch(/^ecall/);
    } finally {
      t.close();
    }
  });

  it('memory reads go through the hart\'s MMU and change nothing; writes are refused', async () => {
    const t = openReplayTarget(trace, { to: 'pc:kprintf#12' });
    try {
      const h = t.currentHart();
      const d0 = digest(t);
      const regs0 = allRegs(t);
      // satp is on (Sv39): the kernel's own addresses, the same bytes physically.
      expect(t.readReg(h, { kind: 'csr', csr: 0x180 })! >> 60n).toBe(8n);
      const v = t.readMemory(h, KPRINTF, 16, false);
      const p = t.readMemory(h, KPRINTF, 16, true);
      expect(v).not.toBeNull();
      expect(Buffer.from(v!).equals(Buffer.from(p!))).toBe(true);
      expect(t.readMemory(h, 0x40000n, 8, false)).toBeNull(); // unmapped
      expect(t.readMemory(h, 0xffff_ffff_ffff_f000n, 8, false)).toBeNull();
      expect(t.readMemory(h, 0x1000_0000n, 1, true)).toBeNull(); // the UART: never read
      expect(t.readMemory(h, 0x7fff_f000n, 0x2000, true)).toBeNull(); // straddles RAM's start
      for (const c of t.csrs) t.readReg(h, { kind: 'csr', csr: c.num });
      expect(digest(t)).toBe(d0);
      expect(allRegs(t)).toBe(regs0);
      expect(() => t.writeReg(h, { kind: 'x', index: 5 }, 1n)).toThrow(DebugError);
      expect(() => t.writeReg(h, { kind: 'x', index: 5 }, 1n)).toThrow(/would make the replay differ from the recording/);
      expect(() => t.writeMemory(h, KPRINTF, new Uint8Array(4), false)).toThrow(DebugError);
      // The stop point is unchanged: the next step is the same as without the reads.
      expect(t.readReg(h, { kind: 'pc' })).toBe(KPRINTF);
      expect(t.hartStatus(h)).toEqual({ id: h, priv: 'HS', state: 'running' });
      expect(t.readReg(h, { kind: 'priv' })).toBe(1n);
      expect(t.csrs.some((c) => c.name === 'hstatus')).toBe(true);
      expect(t.csrs.some((c) => c.name === 'mstatus')).toBe(true);
    } finally {
      t.close();
    }
  });

  it('monitor: when, seek, events, checkpoint / restart, help; bad commands', async () => {
    const t = openReplayTarget(trace);
    try {
      expect(await t.monitor('seek pc:kprintf#2', never)).toMatch(/^at instruction \d+ \(step \d+\), hart 0/);
      const g = t.position().g;
      const when = await t.monitor('when', never);
      expect(when).toContain(`(step ${g}) of `);
      expect(when).toMatch(/hart 0: instret \d+, attempted \d+, priv S, pc 0x[0-9a-f]+/);
      expect(when).toMatch(/next event: seq \d+/);
      expect(await t.monitor('checkpoint', never)).toMatch(new RegExp(`^checkpoint 1 at instruction \\d+ \\(step ${g}\\)\\n$`));
      const ev = await t.monitor('events 4', never);
      expect(ev.split('\n').filter((l) => /^(=>|  ) +\d+ +h\d/.test(l)).length).toBeGreaterThanOrEqual(4);
      // N counts retired instructions of all harts (as `info` does); the timeline's g counts
      // attempted steps, so it is at least N.
      await t.monitor('seek 150000', never);
      expect(t.machine.harts.reduce((a, h) => a + h.instret, 0)).toBe(150000);
      expect(t.position().g).toBeGreaterThanOrEqual(150000);
      await t.monitor('seek 2:5000', never);
      expect(t.machine.harts[2]!.instret).toBe(5000);
      expect(await t.monitor('restart 1', never)).toMatch(new RegExp(`^at checkpoint 1, instruction \\d+ \\(step ${g}\\)\\n$`));
      expect(t.position().g).toBe(g);
      expect(await t.monitor('help', never)).toContain('monitor seek POS');
      await expect(t.monitor('seek 99999999', never)).rejects.toThrow(/beyond the end/);
      await expect(t.monitor('seek pc:nosuchsymbol', never)).rejects.toThrow(DebugError);
      await expect(t.monitor('restart 7', never)).rejects.toThrow(DebugError);
      await expect(t.monitor('frobnicate', never)).rejects.toThrow(/unknown monitor command/);
    } finally {
      t.close();
    }
  });

  it('Ctrl-C: a run stops at its next chunk, on an exact stop point, and goes on from there', async () => {
    const t = openReplayTarget(trace, { chunk: 5000 });
    const u = openReplayTarget(trace);
    try {
      let polls = 0;
      const e = await t.resume({ direction: 'forward', mode: 'continue', hart: 0 }, () => ++polls >= 3);
      expect(e.reason).toBe('interrupted');
      const g = t.position().g;
      expect(g).toBeGreaterThan(0);
      // The same point reached directly has the same registers.
      await u.monitor(`seek ${g}`, never);
      expect(allRegs(u)).toBe(allRegs(t));
      polls = 0;
      const r = await t.resume({ direction: 'reverse', mode: 'continue', hart: 0 }, () => ++polls >= 2);
      expect(['interrupted', 'begin']).toContain(r.reason);
      expect((await go(t, { mode: 'continue' })).reason).toBe('end');
    } finally {
      t.close();
      u.close();
    }
  });

  it('left the trace file untouched', () => {
    expect(sha(trace)).toBe(traceSha);
  });
});

describe('replay target on a guest of the built-in hypervisor', () => {
  it('stops at a guest address while V = 1 (priv VS), reads guest-virtual memory through both stages', async () => {
    const hyp = join(dir, 'hyp.trace');
    const r = spawnSync(process.execPath, [CLI, 'record', '--guest', SMPK, '--vcpus', '2', '--smp', '2', '-o', hyp, '-q'],
      { encoding: 'utf8', input: '', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const t = openReplayTarget(hyp, { to: 'pc:kprintf#12' });
    try {
      const h = t.currentHart();
      expect(t.hartStatus(h).priv).toBe('VS');
      expect(t.readReg(h, { kind: 'priv' })).toBe(5n); // S | V << 2, as QEMU
      expect(t.readReg(h, { kind: 'pc' })).toBe(KPRINTF);
      expect(t.readReg(h, { kind: 'csr', csr: 0x680 })! >> 60n).toBe(8n); // hgatp: Sv39x4
      // The guest's kprintf as the guest sees it (vsatp, then hgatp) is the ELF's code.
      const seg = elf.segments.find((g) => KPRINTF >= g.vaddr && KPRINTF < g.vaddr + BigInt(g.data.length))!;
      const off = Number(KPRINTF - seg.vaddr);
      const d0 = digest(t);
      expect(Array.from(t.readMemory(h, KPRINTF, 8, false)!)).toEqual(Array.from(seg.data.subarray(off, off + 8)));
      expect(digest(t)).toBe(d0);
      // A breakpoint at the guest address, forwards and backwards.
      t.insertBreak('sw', KPRINTF, 2);
      const g0 = t.position().g;
      const e = await go(t, { mode: 'continue', hart: h });
      expect(e.reason).toBe('breakpoint');
      expect(t.hartStatus(e.hart).priv).toBe('VS');
      const back = await go(t, { mode: 'continue', direction: 'reverse', hart: h });
      expect(back.reason).toBe('breakpoint');
      expect(t.position().g).toBe(g0);
    } finally {
      t.close();
    }
  });
});

describe('run target (hvtrace run --gdb)', () => {
  it("watchpoints: right after the store; with watchStop 'gdb' the step over it that gdb makes next is already done", async () => {
    const cfg = { ramSize: 64 << 20, harts: 2, bios: 'builtin' as const, kernel: { name: 'smp-kernel.elf', bytes: new Uint8Array(readFileSync(SMPK)) } };
    const a = openRunTarget(cfg);
    const b = openRunTarget(cfg, { watchStop: 'gdb' });
    try {
      for (const t of [a, b]) {
        t.insertBreak('sw', sym('check'), 2);
        expect((await t.resume({ direction: 'forward', mode: 'continue', hart: 0 }, never)).reason).toBe('breakpoint');
        t.removeBreak('sw', sym('check'), 2);
        t.insertBreak('write', N_PASS, 4);
      }
      const ea = await a.resume({ direction: 'forward', mode: 'continue', hart: 0 }, never);
      const eb = await b.resume({ direction: 'forward', mode: 'continue', hart: 0 }, never);
      expect(ea).toEqual(eb);
      expect(ea.reason).toBe('watchpoint');
      const pc = a.readReg(ea.hart, { kind: 'pc' });
      expect(b.readReg(eb.hart, { kind: 'pc' })).toBe(pc);
      // gdb removes the watchpoint and steps the thread: 'gdb' stays right after the store.
      b.removeBreak('write', N_PASS, 4);
      expect(await b.resume({ direction: 'forward', mode: 'step', hart: eb.hart }, never)).toEqual({ hart: eb.hart, reason: 'step' });
      expect(b.readReg(eb.hart, { kind: 'pc' })).toBe(pc);
      // The next step executes again.
      await b.resume({ direction: 'forward', mode: 'step', hart: eb.hart }, never);
      expect(b.readReg(eb.hart, { kind: 'pc' })).not.toBe(pc);
    } finally {
      a.close();
      b.close();
    }
  });

  it('starts stopped at the first instruction; breakpoints, register and memory writes, the halt', async () => {
    const out: number[] = [];
    const t = openRunTarget({ ramSize: 64 << 20, harts: 2, bios: 'builtin', kernel: { name: 'smp-kernel.elf', bytes: new Uint8Array(readFileSync(SMPK)) } },
      { onConsole: (b) => out.push(...b) });
    try {
      expect(t.kind).toBe('run');
      expect(t.readReg(0, { kind: 'pc' })).toBe(elf.entry);
      expect(t.insertBreak('sw', KPRINTF, 2)).toBe(true);
      const e = await t.resume({ direction: 'forward', mode: 'continue', hart: 0 }, never);
      expect(e.reason).toBe('breakpoint');
      expect(t.readReg(e.hart, { kind: 'pc' })).toBe(KPRINTF);
      t.writeReg(e.hart, { kind: 'x', index: 6 }, 0x1234n);
      expect(t.readReg(e.hart, { kind: 'x', index: 6 })).toBe(0x1234n);
      const ss = t.readReg(e.hart, { kind: 'csr', csr: 0x140 })!; // sscratch (the kernel's: put back)
      t.writeReg(e.hart, { kind: 'csr', csr: 0x140 }, 0x55n);
      expect(t.readReg(e.hart, { kind: 'csr', csr: 0x140 })).toBe(0x55n);
      t.writeReg(e.hart, { kind: 'csr', csr: 0x140 }, ss);
      expect(() => t.writeReg(e.hart, { kind: 'csr', csr: 0xf14 }, 1n)).toThrow(DebugError); // mhartid
      // A word of RAM nobody uses, through the MMU.
      const spare = sym('hart_stacks');
      expect(t.writeMemory(e.hart, spare, Uint8Array.of(1, 2, 3, 4), false)).toBe(true);
      expect(Array.from(t.readMemory(e.hart, spare, 4, false)!)).toEqual([1, 2, 3, 4]);
      expect(t.writeMemory(e.hart, 0x40000n, Uint8Array.of(1), false)).toBe(false);
      const s = await t.resume({ direction: 'forward', mode: 'step', hart: e.hart }, never);
      expect(s).toEqual({ hart: e.hart, reason: 'step' });
      t.removeBreak('sw', KPRINTF, 2);
      // The reset ROM (QEMU's, at 0x1000) reads like memory.
      expect(t.readMemory(0, 0x1000n, 4, true)).not.toBeNull();
      const end = await t.resume({ direction: 'forward', mode: 'continue', hart: 0 }, never);
      expect(end.reason).toBe('halted');
      expect(end.halt?.exitCode).toBe(0);
      expect(Buffer.from(out).toString()).toContain('PASS');
      await expect(t.resume({ direction: 'reverse', mode: 'step', hart: 0 }, never)).rejects.toThrow(/needs a recording/);
      await expect(t.monitor('seek 5', never)).rejects.toThrow(/needs a recording/);
    } finally {
      t.close();
    }
  });
});
