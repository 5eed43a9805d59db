/**
 * `diff` of two recordings names the board's device configuration where it differs: the disks
 * (by content), the virtio-rng seed, and the RTC's date -- the latter only when a guest read the
 * RTC, since the date defaults to the host clock at record time and two recordings of one run
 * made a second apart must still be "the same".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Asm, emitPoweroff, S1, T0, RTC } from './rv-asm.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const dir = mkdtempSync(join(tmpdir(), 'hvtrace-diffdev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hv = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '' });
function record(name: string, args: string[]): string {
  const out = join(dir, name);
  const r = hv(['record', ...args, '-o', out, '-q']);
  expect(r.status, r.stderr).toBe(0);
  return out;
}
function diffJson(a: string, b: string) {
  const r = hv(['diff', a, b, '--format', 'json']);
  return { status: r.status, j: JSON.parse(r.stdout) as { status: string; differences?: { area: string; item: string; message: string }[] } };
}

/** M-mode, no firmware: one read of the RTC's TIME_LOW, then poweroff. */
function rtcOnce(): Uint8Array {
  const a = new Asm();
  a.lui(S1, RTC >>> 12).lwu(T0, S1, 0);
  emitPoweroff(a);
  return a.assemble();
}

describe('diff: the board devices of two recordings', () => {
  it('another RTC date: not a difference when no guest reads the RTC; a config difference when one does', () => {
    const hello = ['--kernel', 'guests/build/hello.elf'];
    const a = record('hello-2020.trace', [...hello, '--rtc', 'base=2020-01-01T00:00:00']);
    const b = record('hello-2021.trace', [...hello, '--rtc', 'base=2021-01-01T00:00:00']);
    const same = diffJson(a, b);
    expect(same.status).toBe(0);
    expect(same.j.status).toBe('same');

    const prog = join(dir, 'rtc-once.bin');
    writeFileSync(prog, rtcOnce());
    const c = record('rtc-2020.trace', ['--bios', 'none', '--kernel', prog, '--rtc', 'base=2020-01-01T00:00:00']);
    const d = record('rtc-2021.trace', ['--bios', 'none', '--kernel', prog, '--rtc', 'base=2021-01-01T00:00:00']);
    const diff = diffJson(c, d);
    expect(diff.status).toBe(1);
    const rtc = diff.j.differences!.find((x) => x.item === 'rtc');
    expect(rtc?.area).toBe('config');
    expect(rtc?.message).toContain('2020-01-01T00:00:00Z');
    expect(rtc?.message).toContain('2021-01-01T00:00:00Z');
  });

  it('another disk image and another RNG seed are named', () => {
    const img1 = join(dir, 'a.img');
    const img2 = join(dir, 'b.img');
    writeFileSync(img1, Buffer.alloc(65536, 1));
    writeFileSync(img2, Buffer.alloc(65536, 2));
    const a = record('disk-a.trace', ['--kernel', 'guests/build/hello.elf', '--drive', `file=${img1}`, '--rng', '1']);
    const b = record('disk-b.trace', ['--kernel', 'guests/build/hello.elf', '--drive', `file=${img2}`, '--rng', '2']);
    const diff = diffJson(a, b);
    expect(diff.status).toBe(1);
    const items = new Map(diff.j.differences!.map((x) => [x.item, x.message]));
    expect(items.get('drive0')).toMatch(/disk 0 \(--drive\) differs: .*a\.img \(sha256 [0-9a-f]{12}, 65536 bytes\), .*b\.img \(sha256 [0-9a-f]{12}, 65536 bytes\)/);
    expect(items.get('rng')).toMatch(/virtio-rng seed \(--rng\) differs: .* 1, .* 2/);
  });
});
