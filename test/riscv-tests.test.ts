/**
 * riscv-tests ISA tests (https://github.com/riscv-software-src/riscv-tests), the `p` variants
 * (physical memory, one hart, the test starts in M-mode at 0x8000_0000), run in process on
 * hvtrace with no firmware (`bios: 'none'`).
 *
 * The binaries are vendored in test/fixtures/riscv-tests/ (CI cannot download); the commit they
 * were built from and how to rebuild them: scripts/build-riscv-tests.sh.
 *
 * A test reports through its `tohost` symbol (Spike's HTIF convention, polled by the board at
 * every round boundary: Machine.pollTohost): 1 = pass, (n << 1) | 1 = sub-test n (TESTNUM)
 * failed. Every test runs three times: on the interpreter alone, with the block translator and
 * with the wasm translator, each translating every block after two executions (the tiers must
 * agree: ARCHITECTURE.md §2).
 *
 * Notes on individual tests:
 * - rv64ssvnapot-p-napot passes on a hart without Svnapot too: its page-fault handler treats the
 *   fault on a PTE with N set as "Svnapot not implemented" and passes (napot.S, mtvec_handler).
 *   hvtrace implements Svnapot, so a test below also checks that it took the NAPOT path: its store
 *   through the 64 KiB mapping landed at my_data + (MY_VA & 0xffff).
 * - rv64mzicbo-p-zero checks cbo.zero (Zicboz, block size 64).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/board/machine.js';
import { findSymbol } from '../src/image/loader.js';
import { Scheduler } from '../src/sched/scheduler.js';

const DIR = fileURLToPath(new URL('./fixtures/riscv-tests/', import.meta.url));
const MiB = 1024 * 1024;
/** Every test ends within the first round (10,000 instructions, when tohost is polled): the cap only stops a runaway. */
const MAX_INSNS = 2_000_000;

/** The groups scripts/build-riscv-tests.sh builds; each must be present with at least one test. */
const GROUPS = ['rv64ui', 'rv64um', 'rv64ua', 'rv64uf', 'rv64ud', 'rv64uc', 'rv64mi', 'rv64si',
  'rv64uzba', 'rv64uzbb', 'rv64uzbc', 'rv64uzbs', 'rv64mzicbo', 'rv64ssvnapot'];

/** Tests expected to fail on hvtrace today, with the reason. They run (`it.fails`), never skipped. */
const KNOWN_FAILING: Readonly<Record<string, string>> = {};

const TESTS = readdirSync(DIR).filter((n) => /^rv64\w+-p-[\w-]+$/.test(n)).sort();

interface Outcome {
  /** 'pass', or what the run ended with instead. */
  verdict: string;
  instret: bigint;
}

function runTest(name: string, tier: 'interpreter' | 'translator' | 'wasm translator'): Outcome {
  const m = new Machine({
    ramSize: 16 * MiB, // the largest test (rv64ssvnapot-p-napot) needs 2.1 MiB; a smaller machine builds faster
    harts: 1,
    bios: 'none',
    kernel: { name, bytes: readFileSync(DIR + name) },
    ...(tier === 'interpreter' ? { jit: false } : tier === 'translator' ? { jit: true, jitHot: 2 } : { tier: 'wasm' as const, jitHot: 2 }),
  });
  if (m.tohost < 0) return { verdict: 'no tohost symbol in the ELF', instret: 0n };
  const halt = new Scheduler(m, { maxInsns: MAX_INSNS }).runToEnd();
  const instret = m.harts[0].instret;
  if (halt.kind !== 'htif') return { verdict: `${halt.kind}: ${halt.message}`, instret };
  const code = Number(/exit (\d+)/.exec(halt.message)?.[1] ?? -1);
  return { verdict: code === 0 ? 'pass' : `failed sub-test ${code}`, instret };
}

describe('rv64ssvnapot-p-napot takes the Svnapot path (not its "no Svnapot" exit)', () => {
  it.each(['interpreter', 'translator'] as const)('%s: the store through the NAPOT PTE wrote 42 at my_data + 0x1010', (tier) => {
    const name = 'rv64ssvnapot-p-napot';
    const m = new Machine({
      ramSize: 16 * MiB, harts: 1, bios: 'none', kernel: { name, bytes: readFileSync(DIR + name) },
      ...(tier === 'interpreter' ? { jit: false } : { jit: true, jitHot: 2 }),
    });
    const halt = new Scheduler(m, { maxInsns: MAX_INSNS }).runToEnd();
    expect(halt.message).toMatch(/exit 0/);
    const kernel = m.images.find((i) => i.role === 'kernel')!;
    const myData = findSymbol(kernel.elf!.symbols, 'my_data')!;
    // MY_VA = 0x40201010: VPN[0] = 1 selects the second 4 KiB page of the 64 KiB frame.
    expect(m.bus.readRam(Number(myData.value) + 0x1010, 4)).toEqual(new Uint8Array([42, 0, 0, 0]));
  });
});

describe('riscv-tests fixtures', () => {
  it.each(GROUPS)('group %s is vendored', (g) => {
    expect(TESTS.filter((t) => t.startsWith(`${g}-p-`)).length).toBeGreaterThan(0);
  });
  it('has the licence and the tests the issue names', () => {
    expect(readFileSync(DIR + 'LICENSE', 'latin1')).toMatch(/Regents of the University of California/);
    for (const t of ['rv64mi-p-breakpoint', 'rv64ssvnapot-p-napot', 'rv64mzicbo-p-zero']) expect(TESTS).toContain(t);
  });
  it('every known failure names a vendored test', () => {
    for (const t of Object.keys(KNOWN_FAILING)) expect(TESTS).toContain(t);
  });
});

for (const tier of ['interpreter', 'translator', 'wasm translator'] as const) {
  describe(`riscv-tests on the ${tier}`, () => {
    for (const name of TESTS) {
      const reason = KNOWN_FAILING[name];
      if (reason === undefined) {
        it(name, () => {
          const r = runTest(name, tier);
          expect(r.verdict).toBe('pass');
          expect(r.instret).toBeGreaterThan(0n);
        });
      } else {
        it.fails(`${name} (known failing: ${reason})`, () => {
          expect(runTest(name, tier).verdict).toBe('pass');
        });
      }
    }
  });
}
