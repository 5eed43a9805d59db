/**
 * virtio on the command line (issue 16): `--drive` / `-drive ... -device virtio-blk-device`,
 * `--rng`, and the bundled kernel booting its root filesystem from a virtio-blk disk
 * (guests/build/linux/rootfs.img, scripts/build-rootfs.sh): recorded, replayed with the image
 * deleted, the guest's write kept in the trace's overlay and written back only by
 * `run --drive ...,writeback=on`. Bad input: one line, exit 2, nothing written.
 *
 * Needs the build (dist/cli/main.js).
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/store.js';
import { cliSandbox, ROOT, type CliResult } from './cli-sandbox.js';

const HELLO = `${ROOT}guests/build/hello.elf`;
const IMAGE = `${ROOT}guests/build/linux/Image`;
const ROOTFS = `${ROOT}guests/build/linux/rootfs.img`;
/** Per Linux test: one to two boots and a replay, minutes on a loaded 2-core host. */
const LINUX_TIMEOUT = 600_000;
const DISK_BOOT = ['--kernel', IMAGE, '--append', 'console=ttyS0 root=/dev/vda rw'];

const box = cliSandbox('hvtrace-virtio-');
const { tmp, expectUsageError } = box;
const hv = (args: string[], timeoutMs = 240_000): CliResult => box.hv(args, timeoutMs);

describe('--drive: bad input is one line, exit 2, nothing written', () => {
  it('a drive path that is a directory', () => {
    mkdtempSync(join(box.dir, 'adir-'));
    const sub = readdirSync(box.dir).find((n) => n.startsWith('adir-'))!;
    expectUsageError(hv(['run', '--kernel', HELLO, '--drive', `file=${tmp(sub)}`]), /is a directory/, [sub]);
    expectUsageError(hv(['record', '--kernel', HELLO, '--drive', `file=${tmp(sub)}`, '-o', tmp('t.trace')]), /is a directory/, [sub]);
    rmSync(tmp(sub), { recursive: true });
  });

  it('unknown drive options, formats and devices', () => {
    writeFileSync(tmp('d.img'), new Uint8Array(4096));
    expectUsageError(hv(['run', '--kernel', HELLO, '--drive', `file=${tmp('d.img')},cache=none`]), /unknown option 'cache'/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '--drive', `file=${tmp('d.img')},format=qcow2`]), /only raw/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '--drive', `file=${tmp('d.img')},readonly=maybe`]), /expected on or off/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '-drive', `file=${tmp('d.img')},if=none,id=d0`]), /not used by any --device/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '-drive', `file=${tmp('d.img')},if=none,id=d0`, '-device', 'virtio-blk-device,drive=d1']), /no --drive with id=d1/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '-device', 'virtio-net-device']), /unknown device/, ['d.img']);
    expectUsageError(hv(['record', '--kernel', HELLO, '--drive', `file=${tmp('d.img')},writeback=on`, '-o', tmp('t.trace')]), /writeback=on is for run only/, ['d.img']);
    expectUsageError(hv(['run', '--kernel', HELLO, '--rng', 'x']), /--rng x/, ['d.img']);
    rmSync(tmp('d.img'));
  });

  it('a disk image that changed since the recording, given to replay', () => {
    writeFileSync(tmp('c.img'), new Uint8Array(8192).fill(3));
    const rec = hv(['record', '--kernel', HELLO, '--drive', `file=${tmp('c.img')}`, '--rng', '9', '-o', tmp('c.trace'), '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    const r = TraceReader.open(tmp('c.trace'));
    try {
      const m = r.config.machine!;
      expect(m.drives).toHaveLength(1);
      expect(m.drives![0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.rngSeed).toBe(9);
    } finally {
      r.close();
    }
    expect(hv(['replay', tmp('c.trace'), '--drive', `file=${tmp('c.img')}`]).status).toBe(0);
    writeFileSync(tmp('c.img'), new Uint8Array(8192).fill(4));
    expectUsageError(hv(['replay', tmp('c.trace'), '--drive', `file=${tmp('c.img')}`]), /drive 0 .* changed since the recording/, ['c.img', 'c.trace']);
    rmSync(tmp('c.img'));
    rmSync(tmp('c.trace'));
  });
});

describe('Linux with its root filesystem on virtio-blk', () => {
  it('boots /sbin/init from /dev/vda, is recorded, replays with the image deleted, keeps its write in the overlay', () => {
    copyFileSync(ROOTFS, tmp('rootfs.img'));
    const before = readFileSync(tmp('rootfs.img'));
    const rec = hv(['record', ...DISK_BOOT, '--drive', `file=${tmp('rootfs.img')}`, '--rng', '1', '-o', tmp('disk.trace'), '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stdout).toContain('virtio_blk virtio');
    expect(rec.stdout).toMatch(/hvtrace-init: root=\/dev\/vda \(rw\)/);
    expect(rec.stdout).toContain('hvtrace-rootfs: /sbin/init from the root filesystem');
    expect(rec.stdout).toContain('hvtrace-rootfs: motd: hello from the ext2 root filesystem on /dev/vda');
    expect(rec.stdout).toMatch(/hvtrace-rootfs: hwrng: [0-9a-f]{32}\r?\n/);
    expect(rec.stdout).toContain('hvtrace-rootfs: boot count: 1 (saved)');
    // record never writes the image
    expect(readFileSync(tmp('rootfs.img')).equals(before)).toBe(true);
    const r = TraceReader.open(tmp('disk.trace'));
    try {
      expect(r.diskBlocks(0, 0).size).toBeGreaterThan(0);
      const overlay = r.diskBlocks(0, 1);
      expect(overlay.size).toBeGreaterThan(0);
      // the overlay holds /var/boot-count's new contents
      expect([...overlay.values()].some((b) => Buffer.from(b).includes('1\n\0'))).toBe(true);
    } finally {
      r.close();
    }
    const info = hv(['info', tmp('disk.trace')]);
    expect(info.stdout).toMatch(/^ {2}vda +\S*rootfs\.img {2}1048576 bytes {2}sha256 [0-9a-f]{64} {2}\([1-9]\d* blocks of 4 KiB read, [1-9]\d* written: overlay in the trace\)$/m);
    expect(info.stdout).toMatch(/^ {2}rng +virtio-rng, PRNG seed 1$/m);
    rmSync(tmp('rootfs.img'));
    const rep = hv(['replay', tmp('disk.trace'), '--console']);
    expect(rep.status, rep.stdout + rep.stderr).toBe(0);
    expect(rep.stdout).toContain('hvtrace-rootfs: boot count: 1 (saved)');
    expect(rep.stdout).toContain(rec.stdout.match(/hvtrace-rootfs: hwrng: [0-9a-f]{32}/)![0]);
    rmSync(tmp('disk.trace'));
  }, LINUX_TIMEOUT);

  it('run --drive ...,writeback=on writes the guest\'s write into the image; the next boot sees it', () => {
    copyFileSync(ROOTFS, tmp('wb.img'));
    const a = hv(['run', ...DISK_BOOT, '--drive', `file=${tmp('wb.img')},writeback=on`, '-q']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toContain('hvtrace-rootfs: boot count: 1 (saved)');
    const b = hv(['record', ...DISK_BOOT, '-drive', `file=${tmp('wb.img')},if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0', '-o', tmp('wb.trace'), '-q']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toContain('hvtrace-rootfs: boot count: 2 (saved)');
    expect(b.stdout).toContain('hvtrace-rootfs: hwrng: none');
    rmSync(tmp('wb.img'));
    rmSync(tmp('wb.trace'));
  }, LINUX_TIMEOUT);

  it('readonly=on: the guest cannot write (the ext2 mount is read-only)', () => {
    const r = hv(['run', '--kernel', IMAGE, '--append', 'console=ttyS0 root=/dev/vda', '--drive', `file=${ROOTFS},readonly=on`, '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('hvtrace-rootfs: boot count: 1 (not saved: read-only?)');
    expect(existsSync(ROOTFS)).toBe(true);
  }, LINUX_TIMEOUT);
});
