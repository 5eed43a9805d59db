/**
 * The bundled Linux 6.1 boot (guests/build/linux/Image, to its init's verdict and poweroff)
 * against QEMU 7.2, trap for trap and console line for line (issue 5).
 *
 * ## The setup: as comparable as the two machines allow
 *
 * - Same firmware: Debian's OpenSBI fw_jump.bin on both (QEMU cannot run hvtrace's built-in SBI),
 *   so the M-mode code is the same code.
 * - Same CPU: QEMU `-cpu` QEMU_CPU_MATCHING_HVTRACE (hvtrace's ISA, H included; marchid/mimpid 0).
 * - Same device tree: hvtrace's generated DTB is given to QEMU (`-dtb`); QEMU 7.2 still adds a
 *   /chosen/rng-seed property (random unless `-seed`, hence `-seed 1`: the runs are
 *   reproducible). QEMU's own, larger DT (virtio, PCI, flash, fw-cfg, RTC, PMU nodes) is only used
 *   for a second console comparison.
 * - Same kernel, RAM (256 MiB), 1 hart, `-icount shift=0,sleep=off` (one instruction per ns:
 *   mtime ticks every 100 instructions, as on hvtrace), same command line. `norandmaps` turns off
 *   Linux's address-space randomisation, whose seeds depend on timing and the rng-seed: without
 *   it user stack / mmap addresses differ at random.
 *
 * ## How far they agree (what the tests below pin)
 *
 * 1. Traps: identical (hart, cause, interrupt, epc, tval), M-mode ones included, from reset up to
 *    the first interrupt: all of OpenSBI's traps, the kernel's MMU-enable fault and its SBI
 *    calls; less QEMU's two known spec deviations (illegal-instruction traps on pmpaddr16 and
 *    mhpmcounter19, QEMU_KNOWN_MMODE_DEVIATIONS; both machines have 16 mhpmcounters). The first interrupt (an S-mode timer
 *    interrupt) arrives at a different instruction, and from then on interrupts land elsewhere:
 *    the two runs do not execute the same number of instructions before it. Measured with a
 *    QEMU instruction-counting TCG plugin (see the issue-5 note), the causes are, all legitimate
 *    (Sv57 is no longer one: since issue 16 hvtrace implements it, as QEMU 7.2 does, and Linux
 *    6.1's set_satp_mode() picks it on both -- `mmu: sv57` in /proc/cpuinfo):
 *    - QEMU's two deviation traps in OpenSBI's CSR probing take 10 instructions more than the
 *      spec behaviour (read-only-zero CSRs) on hvtrace. (Both run the 6 reset-vector
 *      instructions of QEMU's MROM at 0x1000: hvtrace emulates the reset ROM since issue 12.)
 *    - QEMU's rng-seed property makes the DT QEMU hands over 53 bytes longer than hvtrace's
 *      (libfdt walks it in OpenSBI and Linux).
 * 2. Synchronous exceptions: identical, in order, for the whole boot (thousands: page faults,
 *    ecalls, illegal instructions), user addresses included: Linux puts the user stack and the
 *    mmap area (vDSO) just below TASK_SIZE = 2^56 on both (Sv57), so these addresses are beyond
 *    2^53 and must be exact 64-bit values in hvtrace's MMU and pc.
 * 3. Interrupts: the same kinds on both (S-mode timer, S-mode external from the UART through the
 *    PLIC), all delivered to S-mode; their number and places differ (above).
 * 4. Console: identical line for line (CONSOLE_DIFFERENCES is empty since both use Sv57; with
 *    QEMU's own DT the memblock line differs, CONSOLE_DIFFERENCES_OWN_DT). This
 *    kernel has no printk timestamps (PRINTK_TIME is off); they would be stripped anyway.
 * 5. `hvtrace import qemu` + the trace differ find the same first divergence as the in-memory
 *    comparison.
 *
 * Needs qemu-system-riscv64 7.2 and Debian's opensbi (scripts/setup-reference.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HaltInfo, MachineConfig } from '../../src/board/machine.js';
import {
  compareTraps, formatDiff, formatTrap, isKnownQemuDeviation, qemuVersion, runQemu, trapName,
  DEBIAN_FW_JUMP, QEMU_CPU_MATCHING_HVTRACE, type QemuRunResult, type TrapRecord,
} from '../../src/diff/qemu-log.js';

// Loaded from dist/ like the other reference tests (see traps-vs-qemu.test.ts).
const DIST = new URL('../../dist/', import.meta.url);
if (!existsSync(new URL('board/machine.js', DIST))) throw new Error('dist/ not built: run `npm run build` (npm run test:reference does)');
const { Machine } = (await import(new URL('board/machine.js', DIST).href)) as typeof import('../../src/board/machine.js');
const { RecordSession } = (await import(new URL('trace/recorder.js', DIST).href)) as typeof import('../../src/trace/recorder.js');
const { TraceReader } = (await import(new URL('trace/store.js', DIST).href)) as typeof import('../../src/trace/store.js');
const { importQemuLog } = (await import(new URL('diff/qemu-import.js', DIST).href)) as typeof import('../../src/diff/qemu-import.js');
const { diffTraces } = (await import(new URL('diff/compare.js', DIST).href)) as typeof import('../../src/diff/compare.js');

const IMAGE = fileURLToPath(new URL('../../guests/build/linux/Image', import.meta.url));
const MEM_MIB = 256;
const APPEND = 'console=ttyS0 norandmaps';
const QEMU_SEED = 1;
/** Safety net: the boot is ~46 M instructions. */
const MAX_INSNS = 1_000_000_000;

const PRV_S = 1;

type ConsoleDifference = readonly [RegExp, RegExp, string];
/**
 * The console lines that legitimately differ: [QEMU line, hvtrace line, why]. Every other line
 * must be identical, and each of these must occur exactly once. With hvtrace's DT on both:
 * none since issue 16 (the memblock line, one more page-table level, and /proc/cpuinfo's `mmu`
 * line differed while hvtrace had no Sv57).
 */
const CONSOLE_DIFFERENCES: readonly ConsoleDifference[] = [];
/** With QEMU's own, larger DT: its unflattened copy makes Linux reserve more memory. */
const CONSOLE_DIFFERENCES_OWN_DT: readonly ConsoleDifference[] = [
  [/^Memory: \d+K\/260096K available \(.*, (\d+)K reserved, 0K cma-reserved\)$/, /^Memory: \d+K\/260096K available \(.*, (\d+)K reserved, 0K cma-reserved\)$/,
    'memblock-reserved memory: more on QEMU for its larger unflattened device tree'],
];

/** Console text as lines: CRLF -> LF, printk timestamps removed (this kernel prints none). */
function consoleLines(s: string): string[] {
  return s.replace(/\r\n/g, '\n').split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ''));
}

/** The console differences: [] when they are exactly `expected`, else messages. */
function unexplainedConsoleDifferences(qemu: string, hv: string, expected: readonly ConsoleDifference[] = CONSOLE_DIFFERENCES): string[] {
  const q = consoleLines(qemu), h = consoleLines(hv);
  const problems: string[] = [];
  if (q.length !== h.length) problems.push(`line count: qemu ${q.length}, hvtrace ${h.length}`);
  const used = new Array<number>(expected.length).fill(0);
  for (let i = 0; i < Math.min(q.length, h.length); i++) {
    if (q[i] === h[i]) continue;
    const k = expected.findIndex(([rq, rh]) => rq.test(q[i]!) && rh.test(h[i]!));
    if (k < 0) problems.push(`line ${i + 1}: qemu ${JSON.stringify(q[i])} / hvtrace ${JSON.stringify(h[i])}`);
    else used[k]!++;
  }
  expected.forEach(([, , why], k) => {
    if (used[k] !== 1) problems.push(`expected difference seen ${used[k]} times (not once): ${why}`);
  });
  return problems;
}

interface HvBoot {
  readonly traps: TrapRecord[];
  readonly console: string;
  readonly halt: HaltInfo;
  readonly instructions: number;
  readonly trace: string;
}

const fwJump = (): MachineConfig['bios'] => ({ name: DEBIAN_FW_JUMP, bytes: new Uint8Array(readFileSync(DEBIAN_FW_JUMP)) });
const machineConfig = (): MachineConfig => ({
  ramSize: MEM_MIB * 1024 * 1024,
  harts: 1,
  bios: fwJump(),
  kernel: { name: IMAGE, bytes: new Uint8Array(readFileSync(IMAGE)) },
  append: APPEND,
});

/** hvtrace's generated device tree for this configuration (as loaded into RAM). */
function hvtraceDtb(): Uint8Array {
  const m = new Machine(machineConfig());
  const d = m.images.find((i) => i.role === 'dtb');
  if (!d) throw new Error('no dtb image');
  return m.bus.readRam(d.base, d.size).slice();
}

/** Record the boot with hvtrace and read its traps back from the trace. */
function recordHvtrace(trace: string): HvBoot {
  const chunks: Buffer[] = [];
  const s = RecordSession.create({ path: trace, config: machineConfig(), maxInsns: MAX_INSNS, onConsole: (b) => void chunks.push(Buffer.from(b)) });
  const halt = s.runToEnd();
  const sum = s.finish();
  const r = TraceReader.open(trace);
  const traps: TrapRecord[] = [];
  try {
    for (const e of r.events({ kinds: ['trap'] })) {
      const a = BigInt.asUintN(64, e.a ?? 0n);
      const interrupt = a >> 63n === 1n;
      const cause = Number(a & ((1n << 63n) - 1n));
      const p = e.payload as { to?: number } | null;
      traps.push({ hart: e.hart, interrupt, cause, epc: BigInt.asUintN(64, e.pc), tval: BigInt.asUintN(64, e.b ?? 0n), desc: trapName(cause, interrupt), fromPriv: e.priv, toPriv: p?.to });
    }
  } finally {
    r.close();
  }
  return { traps, console: Buffer.concat(chunks).toString('latin1'), halt, instructions: sum.totalInstret, trace };
}

const summary: string[] = [];
let dir: string;
let qemu: QemuRunResult; // hvtrace's DT
let qemuOwnDt: QemuRunResult; // QEMU's own DT (console comparison only)
let hv: HvBoot;
let qTraps: TrapRecord[]; // QEMU's traps less its known spec deviations
let dropped: TrapRecord[];

beforeAll(async () => {
  const v = qemuVersion();
  if (v === null) throw new Error('qemu-system-riscv64 not found: run scripts/setup-reference.sh');
  if (v !== '7.2') throw new Error(`the reference is QEMU 7.2, found ${v}`);
  if (!existsSync(DEBIAN_FW_JUMP)) throw new Error(`${DEBIAN_FW_JUMP} not found: run scripts/setup-reference.sh`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-linux-ref-'));
  const dtb = join(dir, 'hvtrace.dtb');
  writeFileSync(dtb, hvtraceDtb());
  // QEMU first: hvtrace runs synchronously and would starve QEMU's timeout timer.
  const common = { kernel: IMAGE, bios: DEBIAN_FW_JUMP, cpu: QEMU_CPU_MATCHING_HVTRACE, memMiB: MEM_MIB, smp: 1, append: APPEND, seed: QEMU_SEED, timeoutMs: 300_000 };
  qemu = await runQemu({ ...common, dtb, logPath: join(dir, 'qemu-int.log') });
  qemuOwnDt = await runQemu(common);
  hv = recordHvtrace(join(dir, 'hvtrace.trace'));
  dropped = qemu.log.filter((r) => isKnownQemuDeviation(r) !== null);
  qTraps = qemu.log.filter((r) => isKnownQemuDeviation(r) === null);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (summary.length) console.log(`Linux boot vs QEMU 7.2:\n${summary.map((s) => `  ${s}`).join('\n')}`);
});

describe('Linux 6.1 boot, 1 hart, OpenSBI fw_jump on both, vs QEMU 7.2', () => {
  it('both boot to init\'s PASS verdict and power off cleanly', () => {
    for (const q of [qemu, qemuOwnDt]) {
      expect(q.timedOut, `QEMU timed out: ${q.argv.join(' ')}`).toBe(false);
      expect(q.exitCode, `QEMU exit status (stderr: ${q.stderr.trim()})`).toBe(0);
      expect(q.console).toContain('hvtrace-init: PASS');
    }
    expect(hv.halt.kind, hv.halt.message).toBe('poweroff');
    expect(hv.halt.exitCode, hv.halt.message).toBe(0);
    expect(hv.console).toContain('hvtrace-init: PASS');
    summary.push(`hvtrace: ${hv.instructions} instructions, ${hv.traps.length} traps; QEMU: ${qemu.log.length} traps`);
  });

  it('the console output is identical line for line, except the explained lines', () => {
    expect(unexplainedConsoleDifferences(qemu.console, hv.console)).toEqual([]);
    expect(consoleLines(hv.console).length).toBeGreaterThan(150); // OpenSBI banner + kernel log + init
  });

  it("... also against QEMU's own device tree", () => {
    expect(unexplainedConsoleDifferences(qemuOwnDt.console, hv.console, CONSOLE_DIFFERENCES_OWN_DT)).toEqual([]);
  });

  it('QEMU takes exactly its two known spec deviations (M-mode CSR probes), which are left out', () => {
    expect(dropped.map((r) => isKnownQemuDeviation(r))).toEqual([
      'QEMU 7.2 traps on pmpaddr16-63 / pmpcfg4-15 (spec: read-only zero entries)',
      'QEMU 7.2 traps on mhpmcounter/mhpmevent beyond pmu-num (spec: read-only zero)',
    ]);
  });

  it('traps are identical from reset up to the first interrupt, where the two runs part', () => {
    const d = compareTraps(qTraps, hv.traps);
    const firstIrq = hv.traps.findIndex((r) => r.interrupt);
    summary.push(`all traps: identical for the first ${d.compared} (through OpenSBI and early boot); first difference: qemu ${formatTrap(d.expected)} / hvtrace ${formatTrap(d.actual)}`);
    expect(d.identical).toBe(false);
    // The pinned divergence: the first interrupt, an S-mode timer interrupt on both sides,
    // taken at a different instruction (the instruction streams differ in length: see the top).
    expect(d.index, formatDiff(d, qTraps, hv.traps)).toBe(firstIrq);
    expect(qTraps.findIndex((r) => r.interrupt), formatDiff(d, qTraps, hv.traps)).toBe(firstIrq);
    for (const r of [d.expected!, d.actual!]) {
      expect(r.interrupt && r.cause === 5, formatTrap(r)).toBe(true);
    }
    expect(d.expected!.epc).not.toBe(d.actual!.epc);
    // What the agreeing prefix covers: OpenSBI's own traps (M-mode), the kernel's MMU-enable
    // instruction page fault and its first SBI calls.
    const prefix = hv.traps.slice(0, d.index);
    expect(prefix.filter((r) => r.fromPriv === 3).length).toBeGreaterThanOrEqual(3);
    expect(prefix.some((r) => !r.interrupt && r.cause === 12 && r.fromPriv === PRV_S)).toBe(true);
    expect(prefix.filter((r) => !r.interrupt && r.cause === 9).length).toBeGreaterThanOrEqual(5);
  });

  it('synchronous exceptions are identical for the whole boot, user addresses beyond 2^53 included (Sv57 on both)', () => {
    const q = qTraps.filter((r) => !r.interrupt);
    const h = hv.traps.filter((r) => !r.interrupt);
    const d = compareTraps(q, h);
    const kinds = new Map<string, number>();
    for (const r of h) kinds.set(r.desc, (kinds.get(r.desc) ?? 0) + 1);
    summary.push(`exceptions: ${d.identical ? `all ${d.compared} identical` : `DIFFER at #${d.index}`} (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})`);
    expect(d.identical, formatDiff(d, q, h)).toBe(true);
    expect(h.length).toBeGreaterThan(1000);
    // The user stack is just below 2^56 (Sv57's TASK_SIZE): its faults' tvals are beyond 2^53.
    expect(h.some((r) => r.tval >= 1n << 53n && r.tval < 1n << 56n)).toBe(true);
  });

  it('interrupts: the same kinds on both, all taken into S-mode', () => {
    const kinds = (l: readonly TrapRecord[]) => [...new Set(l.filter((r) => r.interrupt).map((r) => r.desc))].sort();
    const count = (l: readonly TrapRecord[], c: number) => l.filter((r) => r.interrupt && r.cause === c).length;
    summary.push(`interrupts: S timer qemu ${count(qTraps, 5)} / hvtrace ${count(hv.traps, 5)}, S external qemu ${count(qTraps, 9)} / hvtrace ${count(hv.traps, 9)}`);
    expect(kinds(qTraps).map((k) => k.replace(/^s_/, 'supervisor_'))).toEqual(['supervisor_external', 'supervisor_timer']);
    expect(kinds(hv.traps)).toEqual(['supervisor_external', 'supervisor_timer']);
    expect(hv.traps.filter((r) => r.interrupt && r.toPriv !== PRV_S).map(formatTrap)).toEqual([]);
  });

  it('hvtrace import qemu + diff report the same first divergence', () => {
    const ref = join(dir, 'qemu.trace');
    const imp = importQemuLog(join(dir, 'qemu-int.log'), ref, { dropKnownDeviations: true });
    expect(imp.events).toBe(qTraps.length);
    expect(imp.dropped).toBe(dropped.length);
    const rep = diffTraces(ref, hv.trace, { kinds: ['trap'] });
    const d = compareTraps(qTraps, hv.traps);
    expect(rep.status).toBe('different');
    expect(rep.divergence?.index).toBe(d.index);
    expect(rep.divergence?.differences.map((x) => x.field)).toEqual(['pc']);
    expect(BigInt.asUintN(64, rep.divergence!.expected!.pc)).toBe(d.expected!.epc);
  });
});
