/**
 * AIA on the command line (issue 16): --aia / --aia-guests / -M virt,aia=..., bad input (each a
 * one-line error, exit 2, nothing written), --dump-dtb, and record + replay of a guest that
 * drives the APLIC and IMSICs (guests/aia-test): the stored machine configuration rebuilds the
 * same board, so the replay matches event for event.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDtb, fdtGetProp, fdtStrings, type FdtNode } from '../src/devices/fdt.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const AIA_TEST = `${ROOT}guests/build/aia-test.elf`;
const HELLO = `${ROOT}guests/build/hello.elf`;

let dir = '';
const hv = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: '', encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', cwd: ROOT });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

function expectOneLine(r: { status: number | null; stderr: string }, want: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^hvtrace: /);
  expect(lines[0]).toMatch(want);
}

const compatibles = (n: FdtNode): string[] => {
  const p = fdtGetProp(n, 'compatible');
  return [...(p ? fdtStrings(p) : []), ...n.children.flatMap(compatibles)];
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first`);
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-aia-cli-'));
  const r = hv(['run', '--kernel', HELLO, '--dump-dtb', join(dir, 'plic.dtb'), '-q']);
  expect(r.status, r.stderr).toBe(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--aia bad input: one line, exit 2, nothing written', () => {
  it.each([
    ['--aia aplic-imsic with a DTB that has only a PLIC', () => ['--aia', 'aplic-imsic', '--dtb', join(dir, 'plic.dtb')], /--aia aplic-imsic: the device tree .* has no riscv,aplic node/],
    ['-M virt,aia=aplic with a DTB that has only a PLIC', () => ['-M', 'virt,aia=aplic', '--dtb', join(dir, 'plic.dtb')], /no riscv,aplic node/],
    ['an unknown mode', () => ['--aia', 'imsic'], /--aia imsic: expected none, aplic or aplic-imsic/],
    ['an unknown machine property', () => ['-M', 'virt,acpi=off'], /unknown machine property/],
    ['too many guest files', () => ['--aia', 'aplic-imsic', '--aia-guests', '8'], /--aia-guests must be between 0 and 7/],
    ['guest files without IMSICs', () => ['--aia', 'aplic', '--aia-guests', '1'], /needs --aia aplic-imsic/],
    ['contradicting spellings', () => ['--aia', 'aplic', '-M', 'virt,aia=aplic-imsic'], /contradicts/],
  ])('%s', (_what, args, want) => {
    for (const cmd of ['run', 'record']) {
      const out = join(dir, `bad-${cmd}.trace`);
      const before = readdirSync(dir).sort();
      const r = hv([cmd, '--kernel', HELLO, ...args(), ...(cmd === 'record' ? ['-o', out] : []), '-q']);
      expectOneLine(r, want);
      expect(readdirSync(dir).sort()).toEqual(before);
    }
  });

  it('an AIA DTB of the user\'s is accepted', () => {
    const dtb = join(dir, 'aia.dtb');
    expect(hv(['run', '--kernel', HELLO, '--aia', 'aplic-imsic', '--dump-dtb', dtb, '-q']).status).toBe(0);
    const r = hv(['run', '--bios', 'none', '--kernel', AIA_TEST, '-M', 'virt,aia=aplic-imsic', '--dtb', dtb, '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('aia-test: done');
  });
});

describe('--dump-dtb with AIA', () => {
  it.each([
    ['aplic', ['riscv,aplic'], ['riscv,imsics', 'riscv,plic0']],
    ['aplic-imsic', ['riscv,aplic', 'riscv,imsics'], ['riscv,plic0']],
    ['none', ['riscv,plic0'], ['riscv,aplic']],
  ])('--aia %s', (mode, has, hasNot) => {
    const f = join(dir, `dump-${mode}.dtb`);
    expect(hv(['run', '--kernel', HELLO, '--aia', mode, '--dump-dtb', f, '-q']).status).toBe(0);
    const c = compatibles(parseDtb(readFileSync(f)).root);
    for (const x of has) expect(c).toContain(x);
    for (const x of hasNot) expect(c).not.toContain(x);
  });
});

describe('record and replay with AIA', () => {
  it.each(['aplic', 'aplic-imsic'])('--aia %s: the replay rebuilds the board and matches', (mode) => {
    const trace = join(dir, `aia-${mode}.trace`);
    const rec = hv(['record', '--bios', 'none', '--kernel', AIA_TEST, '--aia', mode, '--smp', '2', '-o', trace, '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stdout).toContain('aia-test: done');
    const rep = hv(['replay', trace]);
    expect(rep.status, rep.stderr + rep.stdout).toBe(0);
    // The trace holds the AIA events: MMIO to the APLIC and IMSICs, every MSI (from the APLIC
    // and from a hart's store) and the claims (mtopei/stopei writes; claimi reads).
    const ev = hv(['events', trace]);
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/mmio +write aplic-m 0xc000000 /);
    if (mode === 'aplic-imsic') {
      expect(ev.stdout).toMatch(/ msi +MSI 20 -> hart 0 M file +\| sw/); // APLIC source 20
      expect(ev.stdout).toMatch(/ msi +MSI 7 -> hart 0 M file +\| sw/); // the CPU's own store
      expect(ev.stdout).toMatch(/ msi +MSI 50 -> hart 0 S file/); // S domain source 24
      expect(ev.stdout).toMatch(/csr_write +mtopei 0x90009 -> /);
      expect(ev.stdout).toMatch(/csr_write +stopei 0xc000c -> /);
    } else {
      expect(ev.stdout).toMatch(/mmio +read  aplic-m 0xc00401c size 4 value=0x150001/); // claimi
      expect(ev.stdout).not.toMatch(/ msi /);
    }
  });

  it('diff of the two recordings names the interrupt controller as a configuration difference', () => {
    const r = hv(['diff', join(dir, 'aia-aplic-imsic.trace'), join(dir, 'aia-aplic.trace')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/config: the interrupt controller \(--aia, --aia-guests\) differs: \S+ aplic-imsic, \S+ aplic\n/);
  });
});
