/**
 * -m SIZE (issue 16, bad input): 0, sizes below 16M, sizes that are not a whole number of MiB and
 * sizes above the 2048M hvtrace supports are one line naming the value as typed, exit 2, and
 * `record` writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRamSize } from '../src/cli/images.js';
import { ImageError } from '../src/image/loader.js';

const CLI = 'dist/cli/main.js';
const MiB = 1024 * 1024;

describe('-m', () => {
  it('takes QEMU sizes (a bare number is MiB) from 16M to 2048M', () => {
    expect(parseRamSize('16M')).toBe(16 * MiB);
    expect(parseRamSize('256')).toBe(256 * MiB);
    expect(parseRamSize('1G')).toBe(1024 * MiB);
    expect(parseRamSize('2048M')).toBe(2048 * MiB);
    expect(parseRamSize('32768K')).toBe(32 * MiB);
  });

  it('refuses 0, too little, a fraction of a MiB and too much with one line naming the value', () => {
    const cases: [string, RegExp][] = [
      ['0', /^-m 0: the RAM size must be at least 16M$/],
      ['0M', /^-m 0M: the RAM size must be at least 16M$/],
      ['15M', /^-m 15M: the RAM size must be at least 16M$/],
      ['1025K', /^-m 1025K: the RAM size must be a whole number of MiB$/],
      ['2049M', /^-m 2049M: at most 2048M: /],
      ['4G', /^-m 4G: at most 2048M: /],
      ['16G', /^-m 16G: at most 2048M: /],
      ['-1', /^-m -1: expected a size like 256M or 1G$/],
      ['lots', /^-m lots: expected a size like 256M or 1G$/],
    ];
    for (const [s, msg] of cases) {
      expect(() => parseRamSize(s), s).toThrow(ImageError);
      expect(() => parseRamSize(s), s).toThrow(msg);
    }
  });

  it('on the command line: exit 2, one line, and record writes no trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-mem-'));
    try {
      for (const m of ['0', '1025K', '4G']) {
        const out = join(dir, 'x.trace');
        for (const args of [['run'], ['record', '-o', out]]) {
          const r = spawnSync(process.execPath, [CLI, ...args, '--kernel', 'guests/build/hello.elf', '-m', m], { encoding: 'utf8', input: '' });
          expect(r.status, r.stderr).toBe(2);
          expect(r.stderr).toMatch(new RegExp(`^hvtrace: -m ${m}: [^\\n]*\\n$`));
          expect(r.stdout).toBe('');
          expect(existsSync(out)).toBe(false);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
