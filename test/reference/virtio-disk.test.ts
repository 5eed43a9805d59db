/**
 * The bundled kernel booting its root filesystem from a virtio-blk disk (issue 16) on hvtrace and
 * on QEMU 7.2, with the same firmware (Debian's OpenSBI fw_jump.bin), kernel, command line, disk
 * image and `-icount shift=0,sleep=off`; QEMU with QEMU's own device tree and
 * `-drive file=...,if=none,id=d0 -device virtio-blk-device,drive=d0`, its virtio-mmio in modern
 * mode (force-legacy=false: Version 2, as hvtrace's). The consoles agree on the lines that
 * matter: the virtio-blk probe, the switch to /dev/vda and everything /sbin/init prints from the
 * disk (QEMU gets a copy of the image: its writes go to the file); and the whole kernel console
 * agrees but for the memblock line (QEMU's own, larger device tree).
 *
 * Needs qemu-system-riscv64 7.2 and Debian's opensbi (scripts/setup-reference.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runQemu, DEBIAN_FW_JUMP, QEMU_CPU_MATCHING_HVTRACE } from '../../src/diff/qemu-log.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const IMAGE = join(ROOT, 'guests/build/linux/Image');
const ROOTFS = join(ROOT, 'guests/build/linux/rootfs.img');
const APPEND = 'console=ttyS0 root=/dev/vda rw norandmaps';

/** The lines compared: the disk's driver, the root switch and the disk's /sbin/init. */
function linesThatMatter(console: string): string[] {
  return console.replace(/\r\n/g, '\n').split('\n')
    .map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ''))
    .filter((l) => /^virtio_blk virtio\d+: \[vda\]|^hvtrace-init: root=|^hvtrace-rootfs: /.test(l))
    // hwrng: hvtrace's comes from its PRNG, QEMU has no virtio-rng here
    .filter((l) => !l.startsWith('hvtrace-rootfs: hwrng:'));
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvtrace-virtio-ref-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Linux root filesystem on virtio-blk: hvtrace vs QEMU 7.2', () => {
  it('prints the same disk, root switch and init lines', async () => {
    copyFileSync(ROOTFS, join(dir, 'q.img'));
    const q = await runQemu({
      kernel: IMAGE,
      bios: DEBIAN_FW_JUMP,
      cpu: QEMU_CPU_MATCHING_HVTRACE,
      append: APPEND,
      seed: 1,
      extraArgs: ['-global', 'virtio-mmio.force-legacy=false', '-drive', `file=${join(dir, 'q.img')},format=raw,if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0'],
    });
    expect(q.timedOut, q.stderr).toBe(false);
    const h = spawnSync(process.execPath, [CLI, 'run', '--bios', DEBIAN_FW_JUMP, '--kernel', IMAGE, '--append', APPEND,
      '-drive', `file=${ROOTFS},if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0', '-q'], { input: '', encoding: 'utf8', timeout: 300_000 });
    expect(h.status, h.stderr).toBe(0);
    const ql = linesThatMatter(q.console);
    const hl = linesThatMatter(h.stdout);
    expect(hl).toContain('hvtrace-rootfs: boot count: 1 (saved)');
    expect(hl.some((l) => l.startsWith('virtio_blk virtio'))).toBe(true);
    expect(hl).toEqual(ql);
    // In fact the whole kernel console agrees, from its banner to the poweroff, but for the
    // memblock line: QEMU 7.2 gives Linux Sv57 (one more page-table level reserved), hvtrace Sv48.
    const kernelConsole = (c: string): string[] => {
      const l = c.replace(/\r\n/g, '\n').split('\n');
      return l.slice(l.findIndex((x) => x.startsWith('Linux version')));
    };
    const qk = kernelConsole(q.console), hk = kernelConsole(h.stdout);
    expect(hk.length).toBeGreaterThan(50);
    const differing = hk.map((l, i) => [qk[i], l] as const).filter(([a, b]) => a !== b);
    expect(qk.length).toBe(hk.length);
    expect(differing.map(([a]) => a?.replace(/\d+K/g, 'nK'))).toEqual(['Memory: nK/nK available (nK kernel code, nK rwdata, nK rodata, nK init, nK bss, nK reserved, nK cma-reserved)']);
  });
});
