/**
 * The `hvtrace timeline` page in a real browser (issue 14): Debian's chromium driven by
 * playwright-core, the page loaded from a file:// URL with the network disabled (an offline
 * context, and every non-file request aborted and counted).
 *
 * On a recording of the smp-kernel as a 4-vCPU guest on 4 harts: the lanes are the trace's harts
 * and vCPUs; the mark counts (legend, and per lane and kind in the page's data) equal the trace's
 * events; the wheel and the keyboard zoom; a click on a VM exit pins its details (kind, fields,
 * code) and the `hvtrace replay ... --to seq:N` command; hover shows a summary; the console pane
 * follows the cursor; a screenshot is kept in test-artifacts/. Bad input (no events, aborted, a
 * QEMU import) shows a page with a note.
 *
 * Without chromium the suite is skipped, except in CI (CI=true), where every test fails: .ci/run
 * installs Debian's `chromium` (CHROMIUM=PATH for another binary).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { GUESTS, ROOT, cli, record, sql, emptyTrace, abortedTrace, qemuImport } from './view-helpers.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const ARTIFACTS = join(ROOT, 'test-artifacts');

let dir = '';
let trace = '';
let browser: Browser | null = null;
let context: BrowserContext | null = null;
const external: string[] = [];
const tmp = (n: string): string => join(dir, n);

interface PageState {
  ready: boolean; detailsReady?: boolean; error: string | null; lanes: { name: string; type: string }[]; markCounts: Record<string, number>;
  view: { t0: number; t1: number; width: number }; frameTimes: number[];
}

function needChromium(): void {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing: CI must have Debian's chromium (.ci/run installs it)`);
}

async function open(html: string): Promise<Page> {
  needChromium();
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${html}`);
  await page.waitForFunction(() => {
    const h = (window as unknown as { hvtrace?: PageState }).hvtrace;
    return h && ((h.ready && h.detailsReady) || h.error !== null);
  }, null, { timeout: 60_000 });
  expect(await page.evaluate(() => (window as unknown as { hvtrace: PageState }).hvtrace.error)).toBeNull();
  expect(errors).toEqual([]);
  return page;
}
const state = (page: Page): Promise<PageState> => page.evaluate(() => {
  const h = (window as unknown as { hvtrace: PageState }).hvtrace;
  return { ready: h.ready, error: h.error, lanes: h.lanes, markCounts: h.markCounts, view: h.view, frameTimes: h.frameTimes };
});

beforeAll(async () => {
  // Without chromium in CI every test below fails (needChromium), rather than being skipped.
  if (!haveChromium) return;
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-page-'));
  trace = record(tmp('guest4.trace'), ['--guest', `${GUESTS}/smp-kernel.elf`, '--vcpus', '4', '--smp', '4']);
  const r = cli(['timeline', trace, '-o', tmp('guest4.html')]);
  if (r.status !== 0) throw new Error(r.stderr);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1400, height: 820 }, offline: true });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    external.push(url);
    return route.abort();
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveChromium && !inCi)('hvtrace timeline in headless Chromium', () => {
  it('lanes and mark counts equal the trace', async () => {
    const page = await open(tmp('guest4.html'));
    const s = await state(page);
    const labels = await page.$$eval('.lane-label', (els) => els.map((e) => e.firstChild!.textContent));
    const want = ['hart 0', 'hart 1', 'hart 2', 'hart 3', 'vm0 vcpu 0', 'vm0 vcpu 1', 'vm0 vcpu 2', 'vm0 vcpu 3'];
    expect(labels).toEqual(want);
    expect(s.lanes.map((l) => l.name)).toEqual(want);
    // Legend counts = the trace's events per kind (console: chunks; vm_exit: every exit).
    const legend = Object.fromEntries(await page.$$eval('#legend .count', (els) => els.map((e) => [e.getAttribute('data-kind'), Number(e.textContent)])));
    const kinds = sql<{ kind: string; n: number }>(trace, 'SELECT kind, count(*) AS n FROM events GROUP BY kind');
    const n = (k: string): number => kinds.find((x) => x.kind === k)?.n ?? 0;
    for (const k of ['trap', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input', 'halt', 'vm_exit']) expect(legend[k], k).toBe(n(k));
    expect(legend.console).toBe(sql<{ n: number }>(trace, 'SELECT count(*) AS n FROM console')[0]!.n);
    // Per lane and kind, as the page holds them to draw.
    const perLane = await page.evaluate(() => {
      const D = (window as unknown as { hvtrace: { data: { marks: { lane: number[]; kind: number[] }; kinds: string[] } } }).hvtrace.data;
      const out: Record<string, number> = {};
      D.marks.lane.forEach((l, i) => { const k = `${l}:${D.kinds[D.marks.kind[i]!]}`; out[k] = (out[k] ?? 0) + 1; });
      return out;
    });
    const rows = sql<{ hart: number; kind: string; n: number }>(trace,
      "SELECT hart, kind, count(*) AS n FROM events WHERE kind NOT IN ('csr_write', 'trap_return', 'vm_exit', 'vm_entry') GROUP BY hart, kind");
    expect(perLane).toEqual(Object.fromEntries(rows.map((r) => [`${r.hart}:${r.kind}`, r.n])));
    expect(s.frameTimes.length).toBeGreaterThan(0);
    await page.close();
  });

  it('zoom (wheel, keys), click a VM exit: its details and --to command; hover; console; screenshot', async () => {
    const page = await open(tmp('guest4.html'));
    const canvas = (await page.$('#cv'))!.boundingBox ? await (await page.$('#cv'))!.boundingBox() : null;
    expect(canvas).not.toBeNull();
    const cx = canvas!.x + canvas!.width / 2, cy = canvas!.y + 60;
    const before = (await state(page)).view;
    await page.mouse.move(cx, cy);
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -400);
    await page.waitForFunction((span) => {
      const v = (window as unknown as { hvtrace: PageState }).hvtrace.view;
      return v.t1 - v.t0 < span / 4;
    }, before.t1 - before.t0);
    const zoomed = (await state(page)).view;
    expect(zoomed.t1 - zoomed.t0).toBeLessThan((before.t1 - before.t0) / 4);
    await page.keyboard.down('s');
    await page.waitForTimeout(300);
    await page.keyboard.up('s');
    const out = (await state(page)).view;
    expect(out.t1 - out.t0).toBeGreaterThan(zoomed.t1 - zoomed.t0);

    // A VM exit of vCPU 1: a host timer interrupt (each vCPU has a hart of its own here, so its
    // WFIs do not exit).
    const x = sql<{ seq: number; vcpu: number; reason: number; vtime: number; guest_pc: number }>(trace,
      'SELECT x.seq, x.vcpu, x.reason, x.vtime, x.guest_pc FROM vm_exits x WHERE x.vcpu = 1 AND x.reason = 2 ORDER BY seq LIMIT 1')[0]!;
    expect(x).toBeDefined();
    // Go there with the search box (it pins it), then zoom in on it with the wheel.
    await page.fill('#search', `seq:${x.seq}`);
    await page.press('#search', 'Enter');
    expect(await page.textContent('#searchInfo')).toBe(`VM exit #${x.seq}`);
    let at = await page.evaluate((seq) => (window as unknown as { hvtrace: { locate(s: number): { x: number; y: number } } }).hvtrace.locate(seq), x.seq);
    await page.mouse.move(at.x, at.y);
    for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -200);
    await page.waitForTimeout(100);
    // Unpin (a click on the lanes' empty area), then click the exit itself.
    await page.mouse.click(canvas!.x + 5, canvas!.y + canvas!.height - 5);
    expect(await page.textContent('#details')).not.toContain(`#${x.seq}`);
    at = await page.evaluate((seq) => (window as unknown as { hvtrace: { locate(s: number): { x: number; y: number } } }).hvtrace.locate(seq), x.seq);
    await page.mouse.move(at.x, at.y);
    expect(await page.isVisible('#tip')).toBe(true);
    expect(await page.textContent('#tip')).toContain(`#${x.seq} VM exit: timer_irq on vm0 vcpu 1`);
    await page.mouse.click(at.x, at.y);
    expect(await page.textContent('#details .kind')).toBe(`vm_exit #${x.seq}`);
    const fields = Object.fromEntries(await page.$$eval('#details tr', (trs) => trs.map((tr) => [tr.getAttribute('data-field'), tr.querySelector('td')!.textContent])));
    const entry = sql<{ seq: number; vtime: number }>(trace, "SELECT seq, vtime FROM events WHERE kind = 'vm_entry' AND a = 1 AND seq > ? ORDER BY seq LIMIT 1", x.seq)[0]!;
    expect(fields).toMatchObject({
      seq: String(x.seq), reason: 'timer_irq', reason_code: '2', vm: '0', vcpu: '1', vtime: String(x.vtime),
      guest_pc: `0x${BigInt.asUintN(64, BigInt(x.guest_pc)).toString(16)}`, entry_seq: String(entry.seq), virtual_us: String((entry.vtime - x.vtime) / 1000),
    });
    // The guest pc's symbol and instruction, from the guest ELF.
    expect(await page.textContent('#details .symbol')).toMatch(/^<\w+(\+0x[0-9a-f]+)?>$/);
    expect((await page.textContent('#details .insn'))!.length).toBeGreaterThan(2);
    expect(await page.textContent('#details .cmd')).toBe(`hvtrace replay ${trace} --to seq:${x.seq}`);

    // The console pane shows the output up to the cursor: all of it at the end.
    // An instruction count in the search box moves the cursor there: at the last chunk, all of it.
    const last = sql<{ t: number }>(trace, 'SELECT max(vtime) AS t FROM console')[0]!.t;
    await page.mouse.move(5, 5); // off the lanes: the mouse would move the cursor
    await page.fill('#search', String(last));
    await page.press('#search', 'Enter');
    expect(await page.textContent('#console')).toMatch(/PASS\s*$/);
    await page.click('#title'); // the keys go to the page, not to the search box
    await page.keyboard.press('0');
    await page.mouse.move(canvas!.x + 1, canvas!.y + 40);
    expect(await page.textContent('#console')).not.toContain('PASS');

    // Search by symbol: the marks whose pc is in kmain, one after the other.
    await page.fill('#search', 'kmain');
    await page.press('#search', 'Enter');
    expect(await page.textContent('#searchInfo')).toMatch(/^1 of \d+ at kmain$/);
    expect(await page.textContent('#details .symbol')).toMatch(/^<kmain\+0x[0-9a-f]+>$/);
    await page.press('#search', 'Enter');
    expect(await page.textContent('#searchInfo')).toMatch(/^2 of \d+ at kmain$/);

    // Filters: a kind switched off is neither drawn nor picked.
    const trap = sql<{ seq: number }>(trace, "SELECT seq FROM events WHERE kind = 'trap' AND hart = 2 ORDER BY seq LIMIT 1")[0]!;
    await page.fill('#search', `seq:${trap.seq}`);
    await page.press('#search', 'Enter');
    await page.mouse.move(5, 5);
    const tpos = await page.evaluate((seq) => (window as unknown as { hvtrace: { locate(s: number): { x: number; y: number } } }).hvtrace.locate(seq), trap.seq);
    await page.mouse.move(tpos.x, tpos.y);
    expect(await page.textContent('#tip')).toContain(`#${trap.seq} trap`);
    await page.uncheck('#legend label[data-kind="trap"] input');
    await page.mouse.move(5, 5);
    await page.mouse.move(tpos.x, tpos.y);
    expect(await page.textContent('#tip')).not.toContain(`#${trap.seq} trap`);
    await page.check('#legend label[data-kind="trap"] input');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.mouse.move(at.x, at.y);
    await page.screenshot({ path: join(ARTIFACTS, 'timeline.png') });
    expect(existsSync(join(ARTIFACTS, 'timeline.png'))).toBe(true);
    expect(external).toEqual([]);
    await page.close();
  });

  it('bad input: no events, aborted, a QEMU import show a page with a note', async () => {
    needChromium();
    const cases: [string, RegExp][] = [
      [emptyTrace(trace, tmp('empty.trace')), /no events/],
      [abortedTrace(trace, tmp('aborted.trace'), 1500), /aborted/],
      [qemuImport(trace, dir, 'qemu'), /no trap returns/],
    ];
    for (const [t, note] of cases) {
      const r = cli(['timeline', t, '-o', `${t}.html`]);
      expect(r.status, r.stderr).toBe(0);
      const page = await open(`${t}.html`);
      expect(await page.textContent('#notes')).toMatch(note);
      const s = await state(page);
      expect(s.ready).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, `timeline-${t.split('/').pop()!.replace('.trace', '')}.png`) });
      await page.close();
    }
    expect(external).toEqual([]);
  });
});
