/**
 * Golden tests of `hvtrace diff`'s divergence report (issue 13), in text and JSON, for four pairs:
 *
 *  - cmdline:   the bundled Linux kernel with `--append "console=ttyS0"` vs `"console=ttyS0 loglevel=4"`, 26M instructions (the console starts at about 25M since the board has the pmu, fw-cfg, flash and platform-bus nodes);
 *  - immediate: hello.elf vs a copy with one instruction's immediate changed (main+0x8);
 *  - harts:     smp-kernel on 2 harts vs 4 harts;
 *  - aborted:   a complete hello recording vs a copy made to look aborted at event #40 (its events
 *               from #40 on deleted, status 'aborted', exit 130: what an interrupted recording leaves).
 *
 * The report must lead with what differs in the configuration and explain it (why:), then name
 * the first divergent event as `hvtrace events` does on both sides, the events before, the
 * consoles, and the next command.
 *
 * Golden files: test/fixtures/diff-report/<pair>.txt and <pair>.json (the exact stdout of
 * `hvtrace diff A B --context 3 [--format json]`, run from the repository root with relative
 * paths so that they do not depend on where the tree is). After an intended change of the report,
 * regenerate them with
 *
 *     npm run build && UPDATE_GOLDEN=1 npx vitest run test/diff-report.test.ts
 *
 * and review the diff of test/fixtures/diff-report/ before committing.
 * The traces are recorded into test-artifacts/diff-report/ (gitignored). Needs dist/.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseElf, findSymbol } from '../src/image/loader.js';
import { csrFieldChanges } from '../src/diff/report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const WORK = 'test-artifacts/diff-report'; // relative to ROOT
const GOLDEN = join(ROOT, 'test/fixtures/diff-report');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: '', encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20, timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function record(name: string, args: string[]): string {
  const out = `${WORK}/${name}`;
  const r = cli(['record', ...args, '-o', out, '--overwrite', '-q']);
  // 4: the instruction limit (--max-insns) ended the run (README "Exit codes").
  expect([0, 4], r.stderr).toContain(r.status);
  return out;
}

/** hello.elf with the immediate of `addi a0,a0,-1388` at main+0x8 (the first printf's format string) changed to -1380. */
function patchedHello(): string {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'guests/build/hello.elf')));
  const elf = parseElf(bytes);
  const main = findSymbol(elf.symbols, 'main')!;
  const seg = elf.segments.find((s) => main.value >= s.vaddr && main.value < s.vaddr + s.memsz)!;
  const off = seg.data.byteOffset + Number(main.value - seg.vaddr) + 8;
  const dv = new DataView(bytes.buffer);
  const insn = dv.getUint32(off, true);
  expect(insn, 'main+0x8 is addi a0,a0,-1388').toBe(0xa9450513);
  dv.setUint32(off, ((insn & 0xfffff) | ((-1380 & 0xfff) << 20)) >>> 0, true);
  const p = `${WORK}/hello-patched.elf`;
  writeFileSync(join(ROOT, p), bytes);
  return p;
}

/** A copy of a complete trace as an interrupted recording leaves it: events from #seq on gone, status aborted. */
function abortedCopy(from: string, name: string, seq: number): string {
  const out = `${WORK}/${name}`;
  copyFileSync(join(ROOT, from), join(ROOT, out));
  const db = new Database(join(ROOT, out));
  try {
    db.prepare('DELETE FROM events WHERE seq >= ?').run(seq);
    db.prepare('DELETE FROM console WHERE event_seq >= ?').run(seq);
    db.prepare("UPDATE meta SET value = 'aborted' WHERE key = 'status'").run();
    db.prepare(`UPDATE meta SET value = '{"kind":"aborted","exitCode":130,"message":"recording interrupted"}' WHERE key = 'exit'`).run();
    db.prepare("DELETE FROM meta WHERE key IN ('counts', 'console_sha256')").run();
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  return out;
}

const pairs: Record<string, [string, string]> = {};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: npm run build first`);
  rmSync(join(ROOT, WORK), { recursive: true, force: true });
  mkdirSync(join(ROOT, WORK), { recursive: true });
  const linux = 'guests/build/linux/Image';
  pairs.cmdline = [
    record('cmdline-a.trace', ['--kernel', linux, '--append', 'console=ttyS0', '--max-insns', '26000000']),
    record('cmdline-b.trace', ['--kernel', linux, '--append', 'console=ttyS0 loglevel=4', '--max-insns', '26000000']),
  ];
  pairs.immediate = [
    record('hello.trace', ['--kernel', 'guests/build/hello.elf']),
    record('hello-patched.trace', ['--kernel', patchedHello()]),
  ];
  pairs.harts = [
    record('smp2.trace', ['--kernel', 'guests/build/smp-kernel.elf', '--smp', '2', '--max-insns', '200000']),
    record('smp4.trace', ['--kernel', 'guests/build/smp-kernel.elf', '--smp', '4', '--max-insns', '200000']),
  ];
  pairs.aborted = [pairs.immediate[0], abortedCopy(pairs.immediate[0], 'hello-aborted.trace', 40)];
}, 600_000);

function golden(name: string, actual: string): void {
  const p = join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(p, actual);
    return;
  }
  expect(existsSync(p), `${p} missing: regenerate with UPDATE_GOLDEN=1 (see the top of this file)`).toBe(true);
  expect(actual).toBe(readFileSync(p, 'utf8'));
}

describe('the divergence report (golden text and JSON)', () => {
  for (const name of ['cmdline', 'immediate', 'harts', 'aborted']) {
    it(name, () => {
      const [a, b] = pairs[name]!;
      const t = cli(['diff', a, b, '--context', '3']);
      expect(t.status, t.stderr).toBe(1);
      golden(`${name}.txt`, t.stdout);
      const j = cli(['diff', a, b, '--context', '3', '--format', 'json']);
      expect(j.status, j.stderr).toBe(1);
      golden(`${name}.json`, `${JSON.stringify(JSON.parse(j.stdout), null, 1)}\n`);
      // JUnit: the headline (configuration first) in the failure message, the report in its body.
      const x = cli(['diff', a, b, '--context', '3', '--format', 'junit']);
      expect(x.status).toBe(1);
      const msg = /<failure message="([^"]*)"/.exec(x.stdout)?.[1];
      const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
      const headline = t.stdout.split('\n')[0]!.replace(/^hvtrace diff: .* differ: /, '');
      const firstEvent = t.stdout.split('\n').find((l) => l.startsWith('first event difference: '));
      expect(msg).toBe(esc(firstEvent ? `${headline}; ${firstEvent}` : headline));
      expect(x.stdout).toContain(esc('first divergent event:'));
    });
  }

  it('what each report says first and why', () => {
    const first = (n: string) => cli(['diff', ...pairs[n]!]).stdout;
    const c = first('cmdline');
    expect(c.split('\n')[0]).toMatch(/the kernel command line \(--append\) differs: .* "console=ttyS0", .* "console=ttyS0 loglevel=4"/);
    expect(c).toMatch(/why:\n {2}the kernel command line differs/);
    expect(c).toMatch(/csr_write sstatus /);
    const h = first('harts');
    expect(h.split('\n')[0]).toMatch(/the number of harts \(--smp\) differs: .* 2, .* 4/);
    expect(h).toMatch(/different numbers of harts/);
    const i = first('immediate');
    expect(i.split('\n')[0]).toMatch(/the kernel image differs: .*hello\.elf .*, .*hello-patched\.elf/);
    expect(i).toMatch(/next:\n {2}hvtrace replay test-artifacts\/diff-report\/hello-patched\.trace --to seq:\d+\n {2}hvtrace replay .* --gdb 127\.0\.0\.1:1234/);
    const ab = first('aborted');
    expect(ab.split('\n')[0]).toMatch(/the run ended differently: .* complete .*, .* aborted \(aborted, exit 130/);
    expect(ab).toMatch(/ends before event #40/);
  });

  it('a guest of the built-in hypervisor changed by one immediate: the guest events name their VM and image, the change is located in the guest image', () => {
    const a = record('guest.trace', ['--guest', 'guests/build/hello.elf']);
    const b = record('guest-patched.trace', ['--guest', `${WORK}/hello-patched.elf`]);
    const t = cli(['diff', a, b, '--context', '2']);
    expect(t.status, t.stderr).toBe(1);
    expect(t.stdout.split('\n')[0]).toMatch(/the guest0 image differs/);
    expect(t.stdout).toMatch(/the guest0 images differ at offset 0x1172 \(1 byte\), 0x80200170 <main\+0x8>: A \S+\s+a0,a0,-1388 \| B \S+\s+a0,a0,-1380/);
    expect(t.stdout).toMatch(/\n {2}A #\d+ h0 VS .* vm 0 \(guests\/build\/hello\.elf\) .* trap exception 10 \(ecall from VS\)/);
    expect(t.stdout).toMatch(/\n {2}B #\d+ h0 VS .* vm 0 \(test-artifacts\/diff-report\/hello-patched\.elf\) /);
    expect(t.stdout).toMatch(/\n {2}= #\d+ h0 VS .* vm 0 {2}/);
  });

  it('CSR writes are decoded into their fields', () => {
    expect(csrFieldChanges(0x100, 0x2n, 0x0n)).toEqual(['sstatus.SIE 1 -> 0']);
    expect(csrFieldChanges(0x100, 0x200000100n, 0x200000122n)).toEqual(['sstatus.SIE 0 -> 1', 'sstatus.SPIE 0 -> 1']);
    expect(csrFieldChanges(0x300, 0xa00000000n, 0x8000000a00006000n)).toEqual(['mstatus.FS 0 -> 3', 'mstatus.SD 0 -> 1']);
    expect(csrFieldChanges(0x180, 0n, (9n << 60n) | 0x80200n)).toEqual(['satp.PPN 0x0 -> 0x80200', 'satp.MODE 0 -> 9']);
    expect(csrFieldChanges(0x104, 0n, 0x222n)).toEqual(['sie.SSIE 0 -> 1', 'sie.STIE 0 -> 1', 'sie.SEIE 0 -> 1']);
    expect(csrFieldChanges(0x7a1, 2n << 60n, (6n << 60n) | (1n << 24n) | (3n << 16n) | 2n)).toEqual(
      ['tdata1.STORE 0 -> 1', 'tdata1.SIZE 0 -> 3', 'tdata1.VS 0 -> 1', 'tdata1.TYPE 2 -> 6']);
    expect(csrFieldChanges(0x325, 2n, (1n << 63n) | (1n << 60n) | 2n)).toEqual(['mhpmevent5.UINH 0 -> 1', 'mhpmevent5.OF 0 -> 1']);
    expect(csrFieldChanges(0x304, 0n, 1n << 13n)).toEqual(['mie.LCOFIE 0 -> 1']);
    expect(csrFieldChanges(0x140, 0n, 1n)).toEqual([]); // sscratch: no fields
  });

  it('--kind is an alias of --kinds; presets', () => {
    const [a, b] = pairs.immediate!;
    const x = cli(['diff', a, b, '--kind', 'sbi', '--ignore', 'images,console', '--format', 'json']);
    const y = cli(['diff', a, b, '--kinds', 'sbi_call', '--ignore', 'images,console', '--format', 'json']);
    expect(x.status).toBe(y.status);
    const jx = JSON.parse(x.stdout), jy = JSON.parse(y.stdout);
    expect(jx.summary.kinds).toEqual(['sbi_call']);
    expect(jx.summary.presets).toEqual(['sbi']);
    expect(jx.divergence).toEqual(jy.divergence);
    const e = cli(['diff', a, a, '--kinds', 'exceptions']);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/compared \d+ events, --kinds exceptions \(/);
    expect(cli(['diff', a, a, '--kinds', 'nonsense']).stderr).toMatch(/presets: exceptions, interrupts, traps/);
    const help = cli(['diff', '--help']).stdout;
    expect(help).toMatch(/exceptions/);
    expect(help).toMatch(/images\|config\|input\|console\|status/);
  });
});
