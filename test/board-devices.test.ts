/**
 * The rest of QEMU 7.2's virt board (issue 16): fw_cfg (src/devices/fw-cfg.ts), the two CFI
 * flash banks (src/devices/pflash.ts) and `--pflash FILE` / `-drive if=pflash,...`: the image
 * is read by the guest, stored in the trace (sha256 checked), and a replay needs no file.
 * test/reference/board-probe.test.ts compares what a guest sees of both with QEMU 7.2.
 *
 * Needs the build (dist/cli/main.js) and guests/build/board-probe.elf.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliSandbox, ROOT } from './cli-sandbox.js';
import { Bus } from '../src/mem/bus.js';
import { FwCfg, fwCfgItems } from '../src/devices/fw-cfg.js';
import { Pflash } from '../src/devices/pflash.js';
import { Machine } from '../src/board/machine.js';
import { TraceReader } from '../src/trace/store.js';

const PROBE = `${ROOT}guests/build/board-probe.elf`;
const HELLO = `${ROOT}guests/build/hello.elf`;
const box = cliSandbox('hvtrace-board-');
const { hv, tmp } = box;

const swap16 = (v: number): bigint => BigInt(((v & 0xff) << 8) | (v >>> 8));

describe('fw_cfg', () => {
  it('selector (big-endian), data in memory order, zeros past the end and for unknown keys', () => {
    const f = new FwCfg(3, new Bus(0x8000_0000, 16 * 1024 * 1024));
    f.write(8, 2, swap16(0x00));
    expect(f.read(0, 4)).toBe(0x554d4551n); // "QEMU" as a little-endian load
    expect(f.read(0, 1)).toBe(0n);
    f.write(8, 2, swap16(0x05));
    expect(f.read(0, 8)).toBe(3n);
    f.write(8, 2, swap16(0x19));
    expect(f.read(0, 4)).toBe(0x03000000n); // be32 count 3
    f.write(8, 2, swap16(0x1234));
    expect(f.read(0, 8)).toBe(0n);
    expect(f.read(16, 8)).toBe(0x47464320554d4551n); // "QEMU CFG" in memory order
  });

  it('DMA select + read copies the item into RAM and clears control; a write is refused', () => {
    const bus = new Bus(0x8000_0000, 16 * 1024 * 1024);
    const f = new FwCfg(1, bus);
    const desc = new Uint8Array(16);
    const dv = new DataView(desc.buffer);
    dv.setUint32(0, (0x00 << 16) | 0x08 | 0x02, false);
    dv.setUint32(4, 6, false);
    dv.setBigUint64(8, 0x8000_1000n, false);
    bus.writeRam(0x8000_0000, desc);
    const be64 = (v: bigint): bigint => BigInt(`0x${v.toString(16).padStart(16, '0').match(/../g)!.reverse().join('')}`);
    f.write(16, 8, be64(0x8000_0000n));
    expect(new TextDecoder().decode(bus.readRam(0x8000_1000, 6))).toBe('QEMU\0\0');
    expect(bus.readRam(0x8000_0000, 4)).toEqual(new Uint8Array(4));
    dv.setUint32(0, (0x05 << 16) | 0x08 | 0x10, false);
    bus.writeRam(0x8000_0000, desc);
    f.write(16, 4, 0n);
    f.write(20, 4, be64(0x8000_0000n) >> 32n);
    expect(bus.readRam(0x8000_0000, 4)).toEqual(new Uint8Array([0, 0, 0, 1])); // ERROR
  });

  it('its files are QEMU 7.2\'s, sorted: bios-geometry, bootorder, etc/boot-fail-wait', () => {
    const dir = fwCfgItems(1).get(0x19)!;
    const names = [0, 1, 2].map((i) => new TextDecoder().decode(dir.subarray(4 + 64 * i + 8, 4 + 64 * i + 64)).replace(/\0+$/, ''));
    expect(names).toEqual(['bios-geometry', 'bootorder', 'etc/boot-fail-wait']);
  });
});

describe('CFI flash', () => {
  const image = new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
  it('reads the image in read-array mode and answers the CFI query for both x16 devices', () => {
    const f = new Pflash(0x2000_0000, image);
    expect(f.read(0, 4)).toBe(0x44332211n);
    expect(f.read(2, 2)).toBe(0x4433n);
    expect(f.read(0, 8)).toBe(0x8877665544332211n);
    expect(f.read(0x100, 4)).toBe(0n); // past the image
    f.write(0, 4, 0x98n);
    expect([0x10, 0x11, 0x12].map((i) => f.read(4 * i, 4))).toEqual([0x510051n, 0x520052n, 0x590059n]);
    f.write(0, 4, 0xffn);
    expect(f.read(0, 4)).toBe(0x44332211n);
  });

  it('refuses program and erase with the status error bits, changes nothing, and 0x50 clears', () => {
    const f = new Pflash(0x2000_0000, image);
    f.write(0, 4, 0x40n);
    f.write(0, 4, 0n);
    expect(f.read(0, 4)).toBe(0x900090n); // ready + program error, both devices
    f.write(0, 4, 0x20n);
    f.write(0, 4, 0xd0n);
    expect(f.read(0, 4)).toBe(0xb000b0n);
    f.write(0, 4, 0xe8n);
    f.write(0, 4, 1n); // two words
    f.write(0, 4, 0n); f.write(4, 4, 0n);
    f.write(0, 4, 0xd0n);
    f.write(0, 4, 0x50n);
    expect(f.read(0, 4)).toBe(0x44332211n);
    f.write(0, 4, 0x70n);
    expect(f.read(0, 4)).toBe(0n);
  });
});

describe('--pflash', () => {
  it('bank 0 holds the image; the trace stores it, and a replay needs no file', () => {
    const bytes = new Uint8Array(70_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    bytes.set([0x48, 0x56, 0x46, 0x4c], 0); // "HVFL"
    writeFileSync(tmp('flash.img'), bytes);
    const run = hv(['run', '--kernel', PROBE, '--pflash', tmp('flash.img'), '-q']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('flash0 array 4c465648 150e0700 flash1 00000000');
    // QEMU's spelling, and a recording
    const rec = hv(['record', '--kernel', PROBE, '-drive', `if=pflash,file=${tmp('flash.img')},format=raw,readonly=on`, '-o', tmp('f.trace'), '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    const r = TraceReader.open(tmp('f.trace'));
    try {
      expect(r.config.machine!.pflash?.size).toBe(70_000);
      expect(r.config.machine!.pflash?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.config.machine!.qemuBoard).toBe(true);
    } finally {
      r.close();
    }
    rmSync(tmp('flash.img'));
    const rep = hv(['replay', tmp('f.trace'), '--console']);
    expect(rep.status, rep.stderr).toBe(0);
    expect(rep.stdout).toContain('flash0 array 4c465648 150e0700');
    rmSync(tmp('f.trace'));
  });

  it('bad input: one line, exit 2, nothing written', () => {
    writeFileSync(tmp('big.img'), new Uint8Array(32 * 1024 * 1024 + 1));
    writeFileSync(tmp('ok.img'), new Uint8Array(16));
    const cases: [string[], RegExp][] = [
      [['--pflash', tmp('big.img')], /do not fit the 32 MiB flash bank/],
      [['--pflash', tmp('none.img')], /no such file/],
      [['--pflash', box.dir], /not a regular file/],
      [['-drive', `if=pflash,file=${tmp('ok.img')},readonly=off`], /read-only on hvtrace/],
      [['-drive', `if=pflash,file=${tmp('ok.img')},unit=1`], /only flash bank 0/],
      [['--pflash', tmp('ok.img'), '-drive', `if=pflash,file=${tmp('ok.img')}`], /has an image already/],
    ];
    for (const [args, want] of cases) {
      const r = hv(['record', '--kernel', HELLO, ...args, '-o', tmp('x.trace')]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(readdirSync(box.dir).sort()).toEqual(['big.img', 'ok.img']);
    }
    rmSync(tmp('big.img')); rmSync(tmp('ok.img'));
  });
});

describe('machine snapshots', () => {
  it('carry the fw_cfg selection and the flash command state', () => {
    const cfg = { ramSize: 16 * 1024 * 1024, harts: 1, bios: 'none' as const, qemuBoard: true, kernel: { name: 'k', bytes: new Uint8Array(16) } };
    const a = new Machine(cfg);
    a.fwCfg!.write(8, 2, swap16(0x00));
    a.fwCfg!.read(0, 2);
    a.flash[0]!.write(0, 4, 0x98n);
    const b = new Machine(cfg);
    b.restoreState(a.saveState());
    expect(b.fwCfg!.read(0, 2)).toBe(0x554dn); // "MU"
    expect(b.flash[0]!.read(4 * 0x10, 4)).toBe(0x510051n);
    expect(new Machine({ ...cfg, qemuBoard: undefined }).saveState().fwCfg).toBeUndefined();
  });
});
