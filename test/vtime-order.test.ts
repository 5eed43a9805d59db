/**
 * Virtual time in event order (issue 13): every hart's events carry non-decreasing virtual time,
 * and a hart started late (SBI HSM hart_start, by a kernel or by the built-in hypervisor starting
 * its pCPUs) carries the time it was started at, not the 0 its clock stood at while stopped.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const ROOT = join(__dirname, '..');

interface Row { seq: number; hart: number; vtime: number; kind: string; a: number | null }

function events(trace: string): Row[] {
  const db = new Database(trace, { readonly: true });
  try {
    return db.prepare('SELECT seq, hart, vtime, kind, a FROM events ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}

/** Per hart, vtime never decreases; each `hart_state start` is at or after the event before it. */
function checkOrder(rows: Row[]): { starts: number } {
  const last = new Map<number, number>();
  let starts = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const prev = last.get(r.hart);
    if (prev !== undefined) expect(r.vtime, `event #${r.seq} (hart ${r.hart}, ${r.kind})`).toBeGreaterThanOrEqual(prev);
    last.set(r.hart, r.vtime);
    if (r.kind === 'hart_state' && r.a === 0 && i > 0) {
      starts++;
      // The starter's event (the ecall that asked, or the hypervisor's) comes right before.
      expect(r.vtime, `start of hart ${r.hart} at #${r.seq}`).toBeGreaterThanOrEqual(rows[i - 1]!.vtime);
      expect(r.vtime).toBeGreaterThan(0);
    }
  }
  return { starts };
}

describe('virtual time in event order', () => {
  it('smp-kernel on 4 harts: harts 1-3 start at the time hart 0 started them', () => {
    const { starts } = checkOrder(events(join(ROOT, 'traces/golden/smp-kernel-smp4.trace')));
    expect(starts).toBe(3);
  });

  it('the built-in hypervisor starting its pCPUs for 4 vCPUs: the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-vtime-'));
    const out = join(dir, 'guest.trace');
    const r = spawnSync(process.execPath, [CLI, 'record', '--guest', 'guests/build/smp-kernel.elf', '--vcpus', '4', '--smp', '4', '-o', out, '-q'],
      { cwd: ROOT, encoding: 'utf8', input: '', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { starts } = checkOrder(events(out));
    expect(starts).toBeGreaterThanOrEqual(3);
  });
});
