/**
 * Issue 13: `hvtrace diff --kinds exceptions` of the bundled Linux boot recorded by hvtrace against
 * QEMU 7.2's `-d int` log of the same boot, imported with `hvtrace import qemu`, passes (exit 0)
 * over the whole boot, through the CLI only (README "Comparing with QEMU").
 *
 * The setup is linux-vs-qemu.test.ts's (read it for why each item is needed):
 * - the same firmware on both: Debian's OpenSBI fw_jump.bin (`--bios` / `-bios`);
 * - the same device tree: hvtrace's generated one, given to QEMU with `-dtb` (QEMU adds a
 *   /chosen/rng-seed, hence `-seed 1`);
 * - QEMU `-cpu` QEMU_CPU_MATCHING_HVTRACE, `-icount shift=0,sleep=off`, 256 MiB, 1 hart;
 * - `--append "console=ttyS0 norandmaps"` on both (norandmaps: no address-space randomisation);
 * - `import qemu --drop-known-deviations` (QEMU 7.2's two M-mode CSR probe traps). Since issue
 *   16 both run Linux with Sv57, so no address mapping is needed; `--sv57-to-sv48` (for
 *   traces of hvtrace before Sv57, whose user stack and mmap addresses were 2^56 - 2^47 lower)
 *   now makes the diff fail (checked below).
 * Interrupts land at other instructions on the two emulators, so only synchronous exceptions are
 * compared (`--kinds exceptions`).
 *
 * Needs qemu-system-riscv64 7.2 and Debian's opensbi (scripts/setup-reference.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineConfig } from '../../src/board/machine.js';
import { qemuVersion, runQemu, DEBIAN_FW_JUMP, QEMU_CPU_MATCHING_HVTRACE } from '../../src/diff/qemu-log.js';

const DIST = new URL('../../dist/', import.meta.url);
if (!existsSync(new URL('board/machine.js', DIST))) throw new Error('dist/ not built: run `npm run build` (npm run test:reference does)');
const { Machine } = (await import(new URL('board/machine.js', DIST).href)) as typeof import('../../src/board/machine.js');

const CLI = fileURLToPath(new URL('cli/main.js', DIST));
const IMAGE = fileURLToPath(new URL('../../guests/build/linux/Image', import.meta.url));
const APPEND = 'console=ttyS0 norandmaps';

function hvtrace(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** hvtrace's generated device tree for `record --bios fw_jump.bin --kernel Image --append ...` (1 hart, 256 MiB). */
function hvtraceDtb(): Uint8Array {
  const cfg: MachineConfig = {
    ramSize: 256 << 20, harts: 1,
    bios: { name: DEBIAN_FW_JUMP, bytes: new Uint8Array(readFileSync(DEBIAN_FW_JUMP)) },
    kernel: { name: IMAGE, bytes: new Uint8Array(readFileSync(IMAGE)) },
    append: APPEND,
  };
  const m = new Machine(cfg);
  const d = m.images.find((i) => i.role === 'dtb');
  if (!d) throw new Error('no dtb image');
  return m.bus.readRam(d.base, d.size).slice();
}

let dir: string;

beforeAll(async () => {
  const v = qemuVersion();
  if (v === null) throw new Error('qemu-system-riscv64 not found: run scripts/setup-reference.sh');
  if (v !== '7.2') throw new Error(`the reference is QEMU 7.2, found ${v}`);
  if (!existsSync(DEBIAN_FW_JUMP)) throw new Error(`${DEBIAN_FW_JUMP} not found: run scripts/setup-reference.sh`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-linux-diff-'));
  const dtb = join(dir, 'hvtrace.dtb');
  writeFileSync(dtb, hvtraceDtb());
  const q = await runQemu({
    kernel: IMAGE, bios: DEBIAN_FW_JUMP, cpu: QEMU_CPU_MATCHING_HVTRACE, memMiB: 256, smp: 1, append: APPEND, seed: 1,
    dtb, logPath: join(dir, 'qemu-int.log'), timeoutMs: 300_000,
  });
  if (q.timedOut || q.exitCode !== 0) throw new Error(`QEMU failed (${q.argv.join(' ')}): ${q.stderr}`);
  // The README's command line: QEMU's own device tree (no -dtb).
  const own = await runQemu({
    kernel: IMAGE, bios: DEBIAN_FW_JUMP, cpu: QEMU_CPU_MATCHING_HVTRACE, memMiB: 256, smp: 1, append: APPEND, seed: 1,
    logPath: join(dir, 'qemu-own-dt.log'), timeoutMs: 300_000,
  });
  if (own.timedOut || own.exitCode !== 0) throw new Error(`QEMU failed (${own.argv.join(' ')}): ${own.stderr}`);
  const rec = hvtrace(['record', '--bios', DEBIAN_FW_JUMP, '--kernel', IMAGE, '--append', APPEND, '-o', join(dir, 'linux.trace'), '-q']);
  if (rec.status !== 0) throw new Error(`hvtrace record: exit ${rec.status}: ${rec.stderr}`);
  expect(rec.stdout).toContain('hvtrace-init: PASS');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hvtrace diff --kinds exceptions: Linux boot vs QEMU 7.2 through the CLI', () => {
  it('import qemu --drop-known-deviations, then diff --kinds exceptions: same over the whole boot (exit 0)', () => {
    const imp = hvtrace(['import', 'qemu', join(dir, 'qemu-int.log'), '-o', join(dir, 'qemu.trace'), '--drop-known-deviations']);
    expect(imp.status, imp.stderr).toBe(0);
    const d = hvtrace(['diff', join(dir, 'qemu.trace'), join(dir, 'linux.trace'), '--kinds', 'exceptions']);
    expect(d.status, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toMatch(/ are the same/);
    const n = Number(/compared (\d+) events/.exec(d.stdout)?.[1]);
    expect(n).toBeGreaterThan(1000);
    // JSON and JUnit agree.
    const j = JSON.parse(hvtrace(['diff', join(dir, 'qemu.trace'), join(dir, 'linux.trace'), '--kind', 'exceptions', '--format', 'json']).stdout) as { status: string; summary: { compared: number; presets: string[] } };
    expect(j.status).toBe('same');
    expect(j.summary.compared).toBe(n);
    expect(j.summary.presets).toEqual(['exceptions']);
    const x = hvtrace(['diff', join(dir, 'qemu.trace'), join(dir, 'linux.trace'), '--kinds', 'exceptions', '--format', 'junit']);
    expect(x.status).toBe(0);
    expect(x.stdout).toContain('failures="0"');
  });

  it("... also with QEMU's own device tree (the README's QEMU command line: no -dtb)", () => {
    const imp = hvtrace(['import', 'qemu', join(dir, 'qemu-own-dt.log'), '-o', join(dir, 'qemu-own-dt.trace'), '--drop-known-deviations']);
    expect(imp.status, imp.stderr).toBe(0);
    const d = hvtrace(['diff', join(dir, 'qemu-own-dt.trace'), join(dir, 'linux.trace'), '--kinds', 'exceptions']);
    expect(d.status, d.stdout + d.stderr).toBe(0);
    console.log(`Linux boot vs QEMU 7.2 (own DT), --kinds exceptions: ${d.stdout.split('\n')[1]}`);
  });

  it('with --sv57-to-sv48 (meant for traces of hvtrace before Sv57) the same diff fails at a user address', () => {
    const imp = hvtrace(['import', 'qemu', join(dir, 'qemu-int.log'), '-o', join(dir, 'qemu-raw.trace'), '--drop-known-deviations', '--sv57-to-sv48']);
    expect(imp.status, imp.stderr).toBe(0);
    const d = hvtrace(['diff', join(dir, 'qemu-raw.trace'), join(dir, 'linux.trace'), '--kinds', 'exceptions']);
    expect(d.status, d.stdout).toBe(1);
  });

  it('all trap kinds (interrupts included) differ: the reason for --kinds exceptions', () => {
    const d = hvtrace(['diff', join(dir, 'qemu.trace'), join(dir, 'linux.trace'), '--kinds', 'trap']);
    expect(d.status, d.stdout).toBe(1);
    expect(d.stdout).toMatch(/next:\n {2}hvtrace replay .*linux\.trace --to seq:\d+/);
  });
});
