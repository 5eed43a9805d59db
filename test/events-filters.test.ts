/**
 * `events` filters (issue 13): --pc ADDR|SYMBOL|RANGE, --priv, --csr, --sbi, --vm, --from /
 * --until (seq, i:INSTRET, t:VTIME; --to an alias of --until), --hart beyond the trace's harts,
 * and stopping at once when stdout closes (`events X | head -1`). Each filter is checked against
 * the same selection made with SQL on the trace (`query`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;

let dir: string;
let linux: string;
let guests: string;

function hv(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '', maxBuffer: 256 << 20 });
}
function lines(r: { stdout: string }): string[] {
  return r.stdout.split('\n').filter(Boolean);
}
function count(trace: string, where: string): number {
  const r = hv('query', trace, `SELECT count(*) AS n FROM events WHERE ${where}`, '--json');
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { n: number }[])[0]!.n;
}
function seqs(r: { stdout: string }): number[] {
  return lines(r).map((l) => Number(/^\s*(\d+)/.exec(l)![1]));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-evfilter-'));
  linux = join(dir, 'linux.trace');
  guests = join(dir, 'guests.trace');
  // The whole bundled Linux boot (~145k events: `events` over all of it takes seconds).
  const a = hv('record', '--kernel', 'guests/build/linux/Image', '--append', 'console=ttyS0', '-o', linux, '-q');
  expect(a.status, a.stderr).toBe(0);
  const b = hv('record', '--guest', 'guests/build/hyp-guest.elf', '--guest', 'guests/build/hyp-guest.elf', '-o', guests, '-q');
  expect(b.stderr).toMatch(/^(hvtrace: vm \d stopped.*\n)?$/);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('events --pc', () => {
  it('SYMBOL: the events inside the symbol\'s extent', () => {
    const r = hv('events', linux, '--pc', 'start_kernel');
    expect(r.status, r.stderr).toBe(0);
    const l = lines(r);
    expect(l.length).toBeGreaterThan(0);
    for (const x of l) expect(x).toMatch(/<start_kernel(\+0x[0-9a-f]+)?>/);
    // The same as naming the symbol by its events' symbols in the whole listing.
    const all = lines(hv('events', linux, '--limit', '5000'));
    expect(l.filter((x) => seqs({ stdout: x })[0]! < 5000)).toEqual(all.filter((x) => /<start_kernel(\+0x[0-9a-f]+)?>/.test(x)));
  });

  it('LO-HI (half-open) and a single address, as SQL selects them', () => {
    const r = hv('events', linux, '--pc', '0x80200000-0x80201000');
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r).length).toBe(count(linux, 'pc >= 0x80200000 AND pc < 0x80201000'));
    expect(lines(r).length).toBeGreaterThan(3);
    const one = hv('events', linux, '--pc', '0x80200088');
    expect(lines(one).length).toBe(count(linux, 'pc = 0x80200088'));
    expect(lines(one)[0]).toMatch(/0x80200088 <relocate_enable_mmu\+0x48>/);
    // Kernel virtual addresses (stored as negative integers) and SYMBOL-SYMBOL.
    const v = hv('events', linux, '--pc', 'start_kernel-0xffffffffffffffff');
    expect(lines(v).length).toBeGreaterThan(lines(r).length);
    for (const x of lines(v).slice(0, 200)) expect(x).toMatch(/ 0xffffffff8/);
  });

  it('a symbol the trace does not know is one line, exit 2', () => {
    const r = hv('events', linux, '--pc', 'no_such_symbol');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hvtrace: --pc no_such_symbol: /);
  });
});

describe('events --priv / --csr / --sbi / --vm', () => {
  it('--priv U, and S = HS', () => {
    const u = hv('events', linux, '--priv', 'U');
    expect(lines(u).length).toBe(count(linux, 'priv = 0 AND virt = 0'));
    for (const x of lines(u)) expect(x).toMatch(/^\s*\d+ {2}h\d U /);
    expect(hv('events', linux, '--priv', 'S', '--limit', '300').stdout).toBe(hv('events', linux, '--priv', 'HS', '--limit', '300').stdout);
    const m = hv('events', linux, '--priv', 'M,U');
    expect(lines(m).length).toBe(count(linux, '(priv = 3 OR priv = 0) AND virt = 0'));
    const bad = hv('events', linux, '--priv', 'X');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^hvtrace: --priv X: unknown privilege \(one of M, HS, S, VS, VU, U\)\n$/);
  });

  it('--csr NAME (or number): its csr_write events', () => {
    const r = hv('events', linux, '--csr', 'satp');
    expect(lines(r).length).toBe(count(linux, "kind = 'csr_write' AND a = 0x180"));
    expect(lines(r).length).toBeGreaterThan(1);
    for (const x of lines(r)) expect(x).toMatch(/csr_write +satp /);
    expect(hv('events', linux, '--csr', '0x180').stdout).toBe(r.stdout);
    expect(hv('events', linux, '--csr', 'nosuchcsr').status).toBe(2);
  });

  it('--sbi EXT (name or number): its sbi_call events', () => {
    const r = hv('events', linux, '--sbi', 'BASE');
    expect(lines(r).length).toBe(count(linux, "kind = 'sbi_call' AND a = 16"));
    expect(lines(r).length).toBeGreaterThan(0);
    for (const x of lines(r)) expect(x).toMatch(/sbi_call +BASE fid=/);
    expect(hv('events', linux, '--sbi', '0x10').stdout).toBe(r.stdout);
    expect(lines(hv('events', linux, '--sbi', 'SRST')).length).toBe(count(linux, "kind = 'sbi_call' AND a = 0x53525354"));
  });

  it('--vm N: that VM\'s guest events, exits and entries', () => {
    const v0 = hv('events', guests, '--vm', '0');
    const v1 = hv('events', guests, '--vm', '1');
    expect(v0.status, v0.stderr).toBe(0);
    expect(lines(v0).length).toBeGreaterThan(0);
    expect(lines(v1).length).toBeGreaterThan(0);
    expect(lines(v0).length + lines(v1).length).toBe(count(guests, "virt = 1 OR kind IN ('vm_exit', 'vm_entry')"));
    for (const x of lines(v1)) if (/vm_(exit|entry)/.test(x)) expect(x).toMatch(/vm 1/);
    expect(lines(hv('events', guests, '--vm', '1', '--limit', '5'))).toEqual(lines(v1).slice(0, 5));
    const none = hv('events', linux, '--vm', '0');
    expect(none.status).toBe(2);
    expect(none.stderr).toBe('hvtrace: --vm 0: the trace has no guests of the built-in hypervisor\n');
  });
});

describe('events --from / --until / --hart', () => {
  it('seq (N, seq:N), i:INSTRET and t:VTIME; --to is --until', () => {
    expect(seqs(hv('events', linux, '--from', '10', '--until', '14'))).toEqual([10, 11, 12, 13, 14]);
    expect(hv('events', linux, '--from', 'seq:10', '--to', '14').stdout).toBe(hv('events', linux, '--from', '10', '--until', 'seq:14').stdout);
    const i = hv('events', linux, '--from', 'i:5000000', '--until', 'i:6000000', '--json');
    const ie = lines(i).map((l) => JSON.parse(l) as { instret: number; vtime: number });
    expect(ie.length).toBe(count(linux, 'instret BETWEEN 5000000 AND 6000000'));
    for (const e of ie) expect(e.instret >= 5000000 && e.instret <= 6000000).toBe(true);
    const t = hv('events', linux, '--from', 't:5000000', '--until', 't:6000000', '--json');
    expect(lines(t).length).toBe(count(linux, 'vtime BETWEEN 5000000 AND 6000000'));
    expect(hv('events', linux, '--from', 'x:5').status).toBe(2);
    expect(hv('events', linux, '--to', '5', '--until', '6').status).toBe(2);
  });

  it('--hart 7 on a 1-hart trace: one line, exit 2', () => {
    const r = hv('events', linux, '--hart', '7');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('hvtrace: --hart 7: the trace has 1 hart (0)\n');
  });
});

describe('events stops when stdout closes', () => {
  it('`events X | head -1` ends well before a full run', () => {
    const t0 = Date.now();
    const full = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" events "${linux}" > /dev/null`], { encoding: 'utf8' });
    const fullMs = Date.now() - t0;
    expect(full.status, full.stderr).toBe(0);
    const t1 = Date.now();
    const head = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" events "${linux}" | head -1; echo "rc=\${?}"`], { encoding: 'utf8' });
    const headMs = Date.now() - t1;
    expect(head.stdout).toMatch(/^ +0 {2}h0 M .*\nrc=0\n$/);
    expect(head.stderr).toBe('');
    expect(headMs, `head -1 took ${headMs} ms, a full run ${fullMs} ms`).toBeLessThan(fullMs / 2);
  });
});

describe('privilege names with the hypervisor', () => {
  it('S with V = 0 is HS in a trace with guests, in events and replay views, as the trap arrows say', () => {
    const r = hv('events', guests, '--kind', 'trap_return', '--limit', '3');
    const l = lines(r).find((x) => /sret .*\[HS->VS\]/.test(x));
    expect(l, r.stdout).toMatch(/^\s*\d+ {2}h0 HS /);
    expect(r.stdout).not.toMatch(/^\s*\d+ {2}h\d S /m);
    // (The built-in hypervisor runs as native code: a hart is never seen in HS between steps.)
    const s = hv('replay', guests, '--to', 'seq:40', '--events', '2');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^ {2}#40 h0 HS .*\[HS->VS\]$/m);
    // Without guests, S stays S.
    expect(hv('events', linux, '--priv', 'S', '--limit', '1').stdout).toMatch(/^\s*\d+ {2}h0 S /);
  });
});
