/**
 * `hvtrace stat`'s interrupts by source (issue 16, src/view/irq-sources.ts), on recordings of
 * bundled guests that count their own interrupts:
 *  - guests/aia-test with --aia aplic-imsic: the claims per IMSIC identity equal the counts the
 *    guest prints (M-count[id] / S-count[id]); each APLIC source is found behind the EIID its
 *    target register names (guests/aia-test/main.c setup_source); MSIs by sender (CPU store to
 *    seteipnum, genmsi, APLIC) agree with the mmio writes that sent them.
 *  - the same guest with --aia aplic (direct delivery): claimi claims per source equal its counts.
 *  - the smp-kernel (PLIC) with UART input: claims per source equal the completions and the bytes.
 *  - Linux 6.12 as a guest of the built-in hypervisor with --aia aplic-imsic: the UART's source
 *    found behind its EIID in the vCPU's guest file (the physical target the hypervisor wrote),
 *    the guest's claims through vstopei (stopei with V=1, file from hstatus.VGEIN).
 *  - --until SEQ: the counts at a point of the run; bad values are one line, exit 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUESTS, ROOT, cli, recordAsync, sql } from './view-helpers.js';

let dir = '';
let imsic = '';   // aia-test, --aia aplic-imsic
let direct = '';  // aia-test, --aia aplic
let plic = '';    // smp-kernel on 4 harts, "hello\n" typed
let guest = '';   // Linux 6.12 as a 1-vCPU guest, --aia aplic-imsic
const tmp = (n: string): string => join(dir, n);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-irqsrc-'));
  [imsic, direct, plic, guest] = await Promise.all([
    recordAsync(tmp('imsic.trace'), ['--bios', 'none', '--kernel', `${GUESTS}/aia-test.elf`, '--aia', 'aplic-imsic']),
    recordAsync(tmp('direct.trace'), ['--bios', 'none', '--kernel', `${GUESTS}/aia-test.elf`, '--aia', 'aplic']),
    recordAsync(tmp('plic.trace'), ['--kernel', `${GUESTS}/smp-kernel.elf`, '--smp', '4', '--input', `${ROOT}traces/golden/smp-kernel.input`]),
    recordAsync(tmp('guest.trace'), ['-m', '400M', '--guest', `${GUESTS}/linux-6.12/Image`, '--guest-append', 'console=ttyS0', '--aia', 'aplic-imsic', '--aia-guests', '1', '--checkpoint-every', '0']),
  ]);
}, 300_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface SourceRow { controller: string; source: number; hart: number; to: string; eiid: number | null; claims: number; msis: number | null }
interface MsiRow { hart: number; file: number; fileName: string; eiid: number; count: number; aplic: number; sources: string[]; cpu: number; genmsi: number; unattributed: number; claims: number }
interface StatJson { interruptSources: { sources: SourceRow[]; msis: MsiRow[] }; traps: { byCause: { cause: number; interrupt: boolean; count: number }[] } }

function stat(trace: string, ...args: string[]): StatJson {
  const r = cli(['stat', trace, '--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatJson;
}

/** The guest's console, from the trace's console table. */
const consoleOf = (trace: string): string =>
  Buffer.concat(sql<{ data: Buffer }>(trace, 'SELECT data FROM console ORDER BY seq').map((r) => r.data)).toString('latin1');

/** aia-test's own counts: "M-count[id]=n" / "S-count[id]=n" lines. */
const guestCounts = (trace: string): Record<string, number> =>
  Object.fromEntries([...consoleOf(trace).matchAll(/^([MS])-count\[(\d+)\]=(\d+)$/gm)].map((m) => [`${m[1]}${m[2]}`, Number(m[3])]));

describe('hvtrace stat: interrupts by source', () => {
  it('aia-test with --aia aplic-imsic: IMSIC claims per identity = the guest\'s counts; each APLIC source behind its EIID; MSIs by sender', () => {
    const s = stat(imsic).interruptSources;
    const counts = guestCounts(imsic);
    expect(counts).toEqual({ M7: 1, M9: 1, M20: 1, M25: 1, M33: 1, M40: 1, S10: 17, S12: 1, S50: 1 });
    // Claims (mtopei / stopei) per identity: exactly what the guest counted.
    const claimed = Object.fromEntries(s.msis.filter((x) => x.claims).map((x) => [`${x.file === 0 ? 'M' : 'S'}${x.eiid}`, x.claims]));
    expect(claimed).toEqual(counts);
    // MSIs per (hart, file, EIID) = the msi events.
    const ev = sql<{ target: number; file: number; eiid: number; n: number }>(imsic, "SELECT a AS target, b AS file, c AS eiid, count(*) AS n FROM events WHERE kind = 'msi' GROUP BY a, b, c ORDER BY a, b, c");
    expect(s.msis.map((x) => [x.hart, x.file, x.eiid, x.count])).toEqual(ev.map((x) => [x.target, x.file, x.eiid, x.n]));
    // Senders: every CPU store to an IMSIC and every genmsi write sent one MSI; the rest came from APLIC sources.
    const byDevice = JSON.parse(cli(['query', imsic, "SELECT json_extract(payload_json(payload), '$.device') AS device, address, count(*) AS n FROM mmio WHERE write = 1 GROUP BY 1, 2", '--json']).stdout) as { device: string; address: number; n: number }[];
    const imsicStores = byDevice.filter((d) => d.device.startsWith('imsic')).reduce((n, d) => n + d.n, 0);
    const genmsiWrites = byDevice.filter((d) => d.device.startsWith('aplic') && (d.address & 0xffff) === 0x3000).reduce((n, d) => n + d.n, 0);
    expect(imsicStores).toBe(3); // identities 7, 25 and 300 (ignored by the file: sent, never claimed)
    expect(s.msis.reduce((n, x) => n + x.cpu, 0)).toBe(imsicStores);
    expect(genmsiWrites).toBe(1);
    expect(s.msis.reduce((n, x) => n + x.genmsi, 0)).toBe(genmsiWrites);
    expect(s.msis.find((x) => x.file === 0 && x.eiid === 300)).toMatchObject({ count: 1, cpu: 1, claims: 0 });
    expect(s.msis.reduce((n, x) => n + x.unattributed, 0)).toBe(0);
    // Each source as the guest routed it (main.c: setup_source(APLIC_M, 20, .., 20), (21 -> 9), (22 -> 40);
    // setup_source(APLIC_S, 10, .., 10), (24 -> 50), (25 -> 12)), with its claims and MSIs.
    expect(s.sources.map((x) => [x.controller, x.source, x.to, x.eiid, x.claims, x.msis])).toEqual([
      ['aplic-m', 20, 'M file', 20, 1, 1], ['aplic-m', 21, 'M file', 9, 1, 1], ['aplic-m', 22, 'M file', 40, 1, 1],
      ['aplic-s', 10, 'S file', 10, 17, 17], ['aplic-s', 24, 'S file', 50, 1, 1], ['aplic-s', 25, 'S file', 12, 1, 1],
    ]);
    for (const x of s.msis.filter((m) => m.aplic)) expect(x.sources).toHaveLength(1);
    // The text shows both tables.
    const t = cli(['stat', imsic]).stdout;
    expect(t).toMatch(/^Interrupts by source: 22 claims/m);
    expect(t).toMatch(/^ {2}aplic-s +10 +hart 0 S file +10 +17 +17$/m);
    expect(t).toMatch(/^IMSIC identities: 26 MSIs, 25 claims/m);
    expect(t).toMatch(/^ {2}0 +M file +33 +1 +1 +genmsi: 1$/m);
  });

  it('aia-test with --aia aplic (direct delivery): claimi claims per source = the guest\'s counts', () => {
    const s = stat(direct).interruptSources;
    const counts = guestCounts(direct);
    // (M-count[0]: a claimi that returned no source, after iforce: not a source's interrupt.)
    expect(counts).toEqual({ M0: 1, M20: 2, M21: 2, M22: 1, S10: 18, S24: 1, S25: 1 });
    delete counts.M0;
    expect(Object.fromEntries(s.sources.map((x) => [`${x.controller === 'aplic-m' ? 'M' : 'S'}${x.source}`, x.claims]))).toEqual(counts);
    expect(s.sources.every((x) => x.eiid === null && x.msis === null && x.hart === 0)).toBe(true);
    expect(s.msis).toEqual([]);
  });

  it('the smp-kernel (PLIC) with "hello\\n" typed: claims per source and context = the completions = the bytes', () => {
    const s = stat(plic);
    expect(consoleOf(plic)).toContain("input: got 'hello'");
    expect(s.interruptSources.sources).toEqual([{ controller: 'plic', source: 10, hart: 0, to: 'S', eiid: null, claims: 6, msis: null }]);
    // Each claim read (value 10 at context 1's claim register) has its completion write of 10.
    const rows = JSON.parse(cli(['query', plic, "SELECT write, value, count(*) AS n FROM mmio WHERE address = 0x0c201004 AND value <> 0 GROUP BY 1, 2", '--json']).stdout) as { write: number; value: number; n: number }[];
    expect(rows).toEqual([{ write: 0, value: 10, n: 6 }, { write: 1, value: 10, n: 6 }]);
    // Every claim came with an S external interrupt taken.
    expect(s.traps.byCause.find((c) => c.interrupt && c.cause === 9)!.count).toBeGreaterThanOrEqual(1);
  });

  it('Linux 6.12 as a guest with --aia aplic-imsic: the UART\'s source behind its EIID in guest file 1, claimed through vstopei', () => {
    expect(consoleOf(guest)).toContain('hvtrace-init: PASS');
    const s = stat(guest).interruptSources;
    // All MSIs went from the physical S domain's source 10 (the UART) into hart 0's guest file 1.
    const msis = sql<{ file: number; eiid: number; n: number }>(guest, "SELECT b AS file, c AS eiid, count(*) AS n FROM events WHERE kind = 'msi' GROUP BY b, c");
    expect(msis).toHaveLength(1);
    const { file, eiid, n } = msis[0]!;
    expect(file).toBe(2);
    // The guest's claims: stopei accessed with V=1 (the hart's vstopei), identity in bits 26:16.
    const claims = sql<{ n: number }>(guest, "SELECT count(*) AS n FROM events WHERE kind = 'csr_write' AND a = 0x15c AND virt = 1 AND (b >> 16) = ?", eiid)[0]!.n;
    expect(claims).toBeGreaterThan(100);
    expect(s.sources).toEqual([{ controller: 'aplic-s', source: 10, hart: 0, to: 'guest file 1', eiid, claims, msis: n }]);
    expect(s.msis).toEqual([{ hart: 0, file: 2, fileName: 'guest file 1', eiid, count: n, aplic: n, sources: ['aplic-s:10'], cpu: 0, genmsi: 0, unattributed: 0, claims }]);
  });

  it('--until SEQ: the counts up to that event; bad values are one line, exit 2', () => {
    // The seq of the 9th msi: the counts then are those of the first 9 MSIs.
    const ninth = sql<{ seq: number }>(imsic, "SELECT seq FROM events WHERE kind = 'msi' ORDER BY seq LIMIT 1 OFFSET 8")[0]!.seq;
    const s = stat(imsic, '--until', String(ninth));
    expect(s.interruptSources.msis.reduce((n, x) => n + x.count, 0)).toBe(9);
    const claimsUpTo = sql<{ n: number }>(imsic, "SELECT count(*) AS n FROM events WHERE kind = 'csr_write' AND a IN (0x35c, 0x15c) AND (b >> 16) <> 0 AND seq <= ?", ninth)[0]!.n;
    expect(s.interruptSources.msis.reduce((n, x) => n + x.claims, 0)).toBe(claimsUpTo);
    expect(stat(imsic, '--until', `seq:${ninth}`)).toEqual(s);
    // The header counts the events up to it, CSR writes included.
    const upTo = sql<{ n: number }>(imsic, 'SELECT count(*) AS n FROM events WHERE seq <= ?', ninth)[0]!.n;
    expect(cli(['stat', imsic, '--until', String(ninth)]).stdout).toContain(`, ${upTo.toLocaleString('en-US')} events (up to seq ${ninth}),`);
    for (const bad of ['-1', 'x', 't:5']) {
      const r = cli(['stat', imsic, '--until', bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`hvtrace: --until ${bad}: expected a non-negative integer\n`);
      expect(r.stdout).toBe('');
    }
  });
});
