import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeTrace, compareSummaries, type GoldenSummary } from '../src/trace/golden.js';

/**
 * Regression CI on ourselves: every golden trace in traces/ is recorded again with the same
 * flags and must diff empty against the committed one (scripts/regen-golden.sh regenerates
 * them for a deliberate change). Runs whose trace is too large for git (Linux boots) have a
 * golden summary instead (traces/golden/*.summary.json, src/trace/golden.ts): the run is recorded
 * again with the arguments stored in it and must have the same state digests at the same
 * instruction counts, the same events between them, the same counts per kind and the same end.
 */
const CLI = 'dist/cli/main.js';
const GOLDEN: { trace: string; args: string[] }[] = [
  { trace: 'traces/golden/hello-smp1.trace', args: ['--kernel', 'guests/build/hello.elf'] },
  { trace: 'traces/golden/smp-kernel-smp1.trace', args: ['--kernel', 'guests/build/smp-kernel.elf', '--smp', '1'] },
  { trace: 'traces/golden/smp-kernel-smp4.trace', args: ['--kernel', 'guests/build/smp-kernel.elf', '--smp', '4', '--input', 'traces/golden/smp-kernel.input'] },
];

describe('golden traces', () => {
  for (const g of GOLDEN) {
    it(`${g.trace}: a new recording diffs empty against the golden trace`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'hvtrace-golden-'));
      try {
        const out = join(dir, 'now.trace');
        const rec = spawnSync(process.execPath, [CLI, 'record', ...g.args, '-o', out, '-q'], { encoding: 'utf8', input: '' });
        expect(rec.status, rec.stderr).toBe(0);
        const diff = spawnSync(process.execPath, [CLI, 'diff', g.trace, out, '--format', 'json'], { encoding: 'utf8' });
        expect(diff.status, diff.stdout + diff.stderr).toBe(0);
        const report = JSON.parse(diff.stdout) as { status: string; summary: { compared: number; matched: number } };
        expect(report.status).toBe('same');
        expect(report.summary.compared).toBeGreaterThan(0);
        expect(report.summary.matched).toBe(report.summary.compared);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

const SUMMARIES = readdirSync('traces/golden').filter((f) => f.endsWith('.summary.json')).sort();

describe('golden summaries (runs too large to keep as traces)', () => {
  it('there is at least one (a Linux boot)', () => {
    expect(SUMMARIES.some((f) => f.startsWith('linux-'))).toBe(true);
  });
  it('a difference is reported at the first divergent digest, with its instruction range', () => {
    const golden = JSON.parse(readFileSync(join('traces/golden', SUMMARIES[0]!), 'utf8')) as GoldenSummary;
    const same = JSON.parse(JSON.stringify(golden)) as GoldenSummary;
    expect(compareSummaries(golden, same)).toEqual([]);
    const k = 5;
    const d = golden.digests;
    const now = JSON.parse(JSON.stringify(golden)) as { digests: { stateHash: string; eventsSha256: string }[]; counts: { byKind: Record<string, number> } };
    now.digests[k]!.stateHash = '0'.repeat(64);
    now.digests[k + 1]!.eventsSha256 = '1'.repeat(64);
    now.counts.byKind.trap = (now.counts.byKind.trap ?? 0) + 1;
    const problems = compareSummaries(golden, now as unknown as GoldenSummary);
    expect(problems[0]).toBe(`first divergent state digest: #${k} at instruction ${d[k]!.totalInstret} (the run differs somewhere in instructions ${d[k - 1]!.totalInstret}..${d[k]!.totalInstret}): hart/device state hash 000000000000 instead of ${d[k]!.stateHash.slice(0, 12)}`);
    expect(problems).toContain(`trap events: ${golden.counts.byKind.trap! + 1} instead of ${golden.counts.byKind.trap}`);
  });

  for (const f of SUMMARIES) {
    it(`traces/golden/${f}: a new recording has the same digests, events and counts`, () => {
      const golden = JSON.parse(readFileSync(join('traces/golden', f), 'utf8')) as GoldenSummary;
      expect(golden.digests.length, 'a golden summary without digests checks little').toBeGreaterThan(2);
      const dir = mkdtempSync(join(tmpdir(), 'hvtrace-golden-'));
      try {
        const out = join(dir, 'now.trace');
        const rec = spawnSync(process.execPath, [CLI, 'record', ...golden.record, '-o', out, '-q'], { encoding: 'utf8', input: '', maxBuffer: 64 << 20 });
        expect(rec.status, rec.stderr).toBe(golden.exit?.exitCode ?? 0);
        const now = summarizeTrace(out, golden.record);
        const problems = compareSummaries(golden, now);
        expect(problems, `${f}: the new recording differs from the golden summary (scripts/regen-golden.sh after a deliberate change):\n  ${problems.join('\n  ')}`).toEqual([]);
        expect(now.counts.byKind).toEqual(golden.counts.byKind);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 300_000);
  }
});
