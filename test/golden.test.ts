import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Regression CI on ourselves: every golden trace in traces/ is recorded again with the same
 * flags and must diff empty against the committed one (scripts/regen-golden.sh regenerates
 * them for a deliberate change).
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
