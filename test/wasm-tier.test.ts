/**
 * The wasm translation tier (src/hart/wasm/tier.ts) is invisible: every bundled guest gives the
 * same console, per-hart step and instret counts, virtual time, final registers, pc and RAM
 * under the interpreter and under the wasm tier (translating nearly everything: jitHot 2), and
 * recordings made with HVTRACE_TIER=interp and HVTRACE_TIER=wasm (HVTRACE_JIT_HOT=2) have the
 * same events (`hvtrace diff`), so quanta, timer cuts and every event land on the same
 * instruction.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, type MachineConfig, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { WasmTier } from '../src/hart/wasm/tier.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const GUESTS = `${ROOT}guests/build`;
const LINUX = `${GUESTS}/linux/Image`;
const img = (p: string): { name: string; bytes: Uint8Array } => ({ name: p, bytes: new Uint8Array(readFileSync(p)) });

interface Case {
  name: string;
  config: Omit<MachineConfig, 'tier' | 'jitHot' | 'ramSize'> & { ramSize?: number };
  input?: string;
  maxInsns?: number;
  /** The guest has no translatable unit (every path starts with a trap or a CSR access). */
  nothingToTranslate?: true;
}

const CASES: Case[] = [
  { name: 'hello', config: { harts: 1, bios: 'builtin', kernel: img(`${GUESTS}/hello.elf`) } },
  { name: 'isa-check', config: { harts: 1, bios: 'builtin', kernel: img(`${GUESTS}/isa-check.elf`) } },
  { name: 'smp-kernel, 4 harts, input', config: { harts: 4, bios: 'builtin', kernel: img(`${GUESTS}/smp-kernel.elf`) }, input: 'hello\n' },
  { name: 'smp-kernel, 1 hart', config: { harts: 1, bios: 'builtin', kernel: img(`${GUESTS}/smp-kernel.elf`) } },
  { name: 'wfi-timer, 2 harts', config: { harts: 2, bios: 'builtin', kernel: img(`${GUESTS}/wfi-timer.elf`) } },
  { name: 'mtimer (no firmware)', config: { harts: 1, bios: 'none', kernel: img(`${GUESTS}/mtimer.elf`) } },
  { name: 'trap-storm (no firmware), first 2M steps', config: { harts: 1, bios: 'none', kernel: img(`${GUESTS}/trap-storm.elf`) }, maxInsns: 2_000_000, nothingToTranslate: true },
  { name: 'reset-regs (no firmware)', config: { harts: 1, bios: 'none', kernel: img(`${GUESTS}/reset-regs.elf`) } },
  { name: 'bench, first 40M steps (Sv39)', config: { harts: 1, bios: 'builtin', kernel: img(`${GUESTS}/bench.elf`) }, maxInsns: 40_000_000 },
  { name: 'hyp-guest under the built-in hypervisor (two-stage translation; it stops where it stops on the interpreter)', config: { virtio: true, ramSize: 512 * 1024 * 1024, harts: 1, bios: 'builtin', guests: [{ image: img(`${GUESTS}/hyp-guest.elf`), vcpus: 1, memSize: 128 * 1024 * 1024 }] } },
];

function run(c: Case, tier: Tier, jitHot?: number, maxUnits?: number) {
  const m = new Machine({ ramSize: 256 * 1024 * 1024, ...c.config, tier, ...(jitHot !== undefined ? { jitHot } : {}), ...(maxUnits !== undefined ? { maxUnits } : {}) });
  const out: number[] = [];
  m.onConsole = (b) => { for (const x of b) out.push(x); };
  const s = new Scheduler(m, { maxInsns: c.maxInsns ?? 3_000_000_000 });
  if (c.input !== undefined) s.addInput(new TextEncoder().encode(c.input), 0);
  const halt = s.runToEnd();
  const ram = createHash('sha256').update(m.bus.bytes(m.bus.ramOffset, m.bus.ramSize)).digest('hex');
  return {
    halt,
    console: Buffer.from(out).toString('latin1'),
    steps: m.harts.map((h) => h.attempted),
    instret: m.harts.map((h) => h.instret),
    time: s.time,
    regs: m.harts.map((h) => `${h.getPc().toString(16)} ${Array.from(h.x.subarray(0, 32), (v) => v.toString(16)).join(' ')} ${Array.from(h.fb, (v) => v.toString(16)).join(' ')}`),
    ram,
    jit: m.jit,
  };
}

/** Run `b` ended where run `a` did: console, step and instret counts, virtual time, registers, RAM, halt. */
function expectSameRun(b: ReturnType<typeof run>, a: ReturnType<typeof run>): void {
  expect(b.console).toBe(a.console);
  expect(b.steps).toEqual(a.steps);
  expect(b.instret).toEqual(a.instret);
  expect(b.time).toBe(a.time);
  expect(b.regs).toEqual(a.regs);
  expect(b.ram).toBe(a.ram);
  expect(b.halt).toEqual(a.halt);
}

describe('the wasm tier gives the interpreter\'s final state on every bundled guest', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const a = run(c, 'interp');
      const b = run(c, 'wasm', 2);
      expect(b.jit).toBeInstanceOf(WasmTier);
      const st = (b.jit as WasmTier).stats;
      expect(b.jit.compileErrors).toEqual([]);
      if (c.nothingToTranslate) expect(st.modules).toBe(0);
      else expect(st.modules).toBeGreaterThan(0);
      expectSameRun(b, a);
    });
  }

  const itLinux = existsSync(LINUX) ? it : it.skip;
  itLinux('the bundled Linux boot (1 hart, default threshold): same console, counts, registers and RAM, init PASS', () => {
    const c: Case = { name: 'linux', config: { harts: 1, bios: 'builtin', kernel: img(LINUX), append: 'console=ttyS0' } };
    const a = run(c, 'interp');
    const b = run(c, 'wasm');
    expect(b.jit.compileErrors).toEqual([]);
    expect((b.jit as WasmTier).stats.modules).toBeGreaterThan(10);
    expect(a.console).toContain('hvtrace-init: PASS');
    expectSameRun(b, a);
  }, 600_000);
});

describe('a cap of 4 live units (eviction, oldest first; threshold 64: thousands of evictions) changes only speed', () => {
  const capCases = CASES.filter((x) => ['isa-check', 'smp-kernel, 4 harts, input', 'bench, first 40M steps (Sv39)'].includes(x.name) || x.name.startsWith('hyp-guest'))
    .map((c) => (c.name.startsWith('bench') ? { ...c, name: 'bench, first 4M steps (Sv39)', maxInsns: 4_000_000 } : c));
  expect(capCases.length).toBe(4);
  for (const c of capCases) {
    it(c.name, () => {
      const a = run(c, 'interp');
      const b = run(c, 'wasm', 64, 4);
      const j = b.jit;
      expect(j.compileErrors).toEqual([]);
      expect(j.maxUnits).toBe(4);
      expect(j.evictions).toBeGreaterThan(0);
      expect(j.unitsEvicted).toBe(j.evictions);
      expect(j.liveUnits).toBeLessThanOrEqual(4);
      expect(j.translatedInsns).toBeGreaterThan(0);
      expectSameRun(b, a);
    });
  }
});

describe('recordings under HVTRACE_TIER=interp and =wasm have the same events', () => {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-wasm-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  const cli = (args: string[], tier?: Tier) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      input: '', encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20, timeout: 600_000, killSignal: 'SIGKILL',
      env: { ...process.env, HVTRACE_JIT_HOT: '2', ...(tier ? { HVTRACE_TIER: tier } : {}) },
    });
    if (r.error) throw r.error;
    return r;
  };
  const record = (name: string, tier: Tier, args: string[]): string => {
    const p = join(dir, `${name}-${tier}.trace`);
    const r = cli(['record', ...args, '-o', p, '-q', '--digest-every', '20000'], tier);
    expect([0, 4], r.stderr).toContain(r.status); // 4: --max-insns reached
    return p;
  };

  for (const [name, args] of [
    ['isa-check', ['--kernel', `${GUESTS}/isa-check.elf`]],
    ['smp-kernel-4', ['--kernel', `${GUESTS}/smp-kernel.elf`, '--smp', '4']],
    ['bench-30M', ['--kernel', `${GUESTS}/bench.elf`, '--max-insns', '30000000']],
  ] as const) {
    it(`${name}: hvtrace diff finds them the same`, () => {
      const a = record(name, 'interp', [...args]);
      const b = record(name, 'wasm', [...args]);
      const d = cli(['diff', a, b, '--format', 'json']);
      expect(d.status, d.stdout + d.stderr).toBe(0);
      const j = JSON.parse(d.stdout);
      expect(j.status).toBe('same');
      expect(j.summary.compared).toBeGreaterThan(10);
    });
  }
});

describe('the wasm tier sets up its modules when the first unit is compiled', () => {
  /** WebAssembly.Instance constructions while `f` runs. */
  function instancesDuring(f: () => void): number {
    const Orig = WebAssembly.Instance;
    let n = 0;
    WebAssembly.Instance = new Proxy(Orig, { construct(t, args) { n++; return Reflect.construct(t, args) as object; } });
    try {
      f();
    } finally {
      WebAssembly.Instance = Orig;
    }
    return n;
  }
  const hello = CASES[0]!;

  it('a machine whose code never gets hot instantiates no wasm module', () => {
    let r: ReturnType<typeof run> | undefined;
    expect(instancesDuring(() => { r = run(hello, 'wasm', 1_000_000); })).toBe(0);
    expect((r!.jit as WasmTier).stats.modules).toBe(0);
  });

  it('once code gets hot: the helper and trampoline modules once, then one per unit', () => {
    let r: ReturnType<typeof run> | undefined;
    const n = instancesDuring(() => { r = run(hello, 'wasm', 2); });
    const units = (r!.jit as WasmTier).stats.modules;
    expect(units).toBeGreaterThan(0);
    expect(n).toBe(2 + units);
    expectSameRun(r!, run(hello, 'interp'));
  });
});

describe('units stop at the exact budget (stepping copies) and start again inside a block', () => {
  // Quanta of 7 and 13 steps cut the integer loop's 11-instruction block (and the bench's
  // blocks) at every offset: after each round, pc, counts and registers are the interpreter's,
  // and the units still run most instructions (before stepping copies, a block that did not fit
  // in a 7-step quantum never ran translated: a hit rate of 0).
  const loopCfg = { harts: 1, bios: 'none' as const, kernel: img(`${GUESTS}/intloop.elf`) };
  const benchCfg = { harts: 1, bios: 'builtin' as const, kernel: img(`${GUESTS}/bench.elf`) };
  for (const [name, cfg, quantum, rounds, minHit] of [
    ['intloop, quantum 7', loopCfg, 7, 40_000, 0.9], ['intloop, quantum 13', loopCfg, 13, 20_000, 0.9],
    ['bench (Sv39), quantum 13', benchCfg, 13, 40_000, 0.3],
  ] as const) {
    it(name, () => {
      const mk = (tier: Tier) => {
        const m = new Machine({ ramSize: 256 * 1024 * 1024, ...cfg, tier, jitHot: 2 });
        return { m, s: new Scheduler(m, { quantum }) };
      };
      const a = mk('interp'), b = mk('wasm');
      const state = (x: ReturnType<typeof mk>) => {
        const h = x.m.harts[0]!;
        return `${h.getPc().toString(16)} ${h.attempted} ${h.instret} ${x.s.time} ${Array.from(h.x.subarray(0, 32), (v) => v.toString(16)).join(' ')}`;
      };
      for (let r = 0; r < rounds; r++) {
        a.s.step(1);
        b.s.step(1);
        if (r % 97 === 0 || r === rounds - 1) expect(state(b)).toBe(state(a));
      }
      const h = b.m.harts[0]!;
      expect(b.m.jit.compileErrors).toEqual([]);
      expect(b.m.jit.translatedInsns / h.attempted).toBeGreaterThan(minHit);
      expect(createHash('sha256').update(b.m.bus.bytes(b.m.bus.ramOffset, b.m.bus.ramSize)).digest('hex'))
        .toBe(createHash('sha256').update(a.m.bus.bytes(a.m.bus.ramOffset, a.m.bus.ramSize)).digest('hex'));
    }, 300_000);
  }
});
