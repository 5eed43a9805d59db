/**
 * A checkpoint is a TLB flush point (checkpointFlush, src/trace/recorder.ts). The ISA lets a
 * hart use a cached translation until SFENCE.VMA, and within one translation context the
 * first-level TLBs keep an entry past a PTE change without a fence, so such a guest sees the old
 * or the new mapping depending on what the hart still caches. A replay restored from a
 * checkpoint starts with empty TLBs (restoreState), so the recording flushes when it takes the
 * checkpoint, and a replay that runs through one (ReplayRun) flushes at the same round start:
 * recording, restored replay and replay from the start cache the same.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Hart } from '../src/hart/hart.js';
import { RecordSession } from '../src/trace/recorder.js';
import { TraceReader } from '../src/trace/store.js';
import { replay } from '../src/replay/verify.js';

const dir = mkdtempSync(join(tmpdir(), 'hvtrace-ckflush-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LINUX = fileURLToPath(new URL('../guests/build/linux/Image', import.meta.url));

/** Hart 0's instruction counts at which a checkpoint flush reached its TLBs, while `f` runs. */
function flushesAtCheckpoints(f: () => void): number[] {
  const at: number[] = [];
  const flush = Hart.prototype.flushTlb;
  Hart.prototype.flushTlb = function (this: Hart) {
    if (this.id === 0 && (new Error().stack ?? '').includes('at checkpointFlush ')) at.push(this.attempted);
    flush.call(this);
  };
  try {
    f();
  } finally {
    Hart.prototype.flushTlb = flush;
  }
  return at;
}

describe('checkpoints are TLB flush points', () => {
  it('the recording flushes where it takes each checkpoint, and its replay at the same instruction counts', () => {
    const path = join(dir, 'linux.trace');
    const recorded = flushesAtCheckpoints(() => {
      const session = RecordSession.create({
        path, maxInsns: 12_000_000, digestEvery: 2_000_000, checkpointEvery: 3_000_000,
        config: { ramSize: 256 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: LINUX, bytes: new Uint8Array(readFileSync(LINUX)) }, append: 'console=ttyS0' },
      });
      session.runToEnd();
      session.finish();
    });
    const r = TraceReader.open(path);
    const cks = r.checkpoints().map((c) => c.totalInstret);
    r.close();
    expect(cks.length).toBeGreaterThanOrEqual(3);
    expect(recorded).toEqual(cks);
    let report: ReturnType<typeof replay> | null = null;
    const replayed = flushesAtCheckpoints(() => { report = replay(path); });
    expect(report!.issues).toEqual([]);
    expect(replayed).toEqual(cks);
  });
});
