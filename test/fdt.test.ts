import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildVirtDtb,
  encodeDtb,
  fdtFindNode,
  fdtGetProp,
  fdtNumber,
  fdtStrings,
  fdtU32s,
  FdtBuilder,
  parseDtb,
  QEMU72_DEFAULT_ISA,
  type FdtNode,
} from '../src/devices/fdt.js';
import { ImageError } from '../src/image/loader.js';

function hasTool(cmd: string, arg = '--version'): boolean {
  const r = spawnSync(cmd, [arg], { stdio: 'ignore' });
  return r.status === 0;
}
const HAVE_DTC = hasTool('dtc');
const HAVE_QEMU = HAVE_DTC && hasTool('qemu-system-riscv64');

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-fdt-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dtc -I dtb -O dts; returns [dts, stderr]. */
function decompile(blob: Uint8Array): [string, string] {
  return withTmp((dir) => {
    const f = join(dir, 'x.dtb');
    writeFileSync(f, blob);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dtc failed: ${r.stderr}`);
    return [r.stdout, r.stderr];
  });
}

const str = (n: FdtNode, p: string) => fdtStrings(fdtGetProp(n, p)!);
const cells = (n: FdtNode, p: string) => fdtU32s(fdtGetProp(n, p)!);

function node(root: FdtNode, path: string): FdtNode {
  const n = fdtFindNode(root, path);
  if (!n) throw new Error(`no node ${path}`);
  return n;
}

const ISA = 'rv64imafdch_zicsr_zifencei_zihintpause_zicntr_sstc';

describe('FdtBuilder / parseDtb', () => {
  it('encodes every value kind and parses it back', () => {
    const b = new FdtBuilder(3);
    b.addReservation(0x8000_0000n, 0x1000n);
    const ph = b.allocPhandle();
    b.beginNode('');
    b.prop('u32s', [1, 0xffff_ffff]);
    b.prop('u64s', [0x1_0000_0002n]);
    b.prop('s', 'hello');
    b.prop('sl', ['a', 'bc']);
    b.prop('raw', new Uint8Array([9, 8, 7]));
    b.prop('empty', []);
    b.beginNode('child@10');
    b.prop('phandle', [ph]);
    b.endNode();
    b.beginNode('other');
    b.prop('u32s', [5]); // shared string-table entry
    b.endNode();
    b.endNode();
    const blob = b.finish();
    const dtb = parseDtb(blob);
    expect(dtb.version).toBe(17);
    expect(dtb.bootCpuidPhys).toBe(3);
    expect(dtb.reservations).toEqual([{ address: 0x8000_0000n, size: 0x1000n }]);
    const r = dtb.root;
    expect(r.name).toBe('');
    expect(cells(r, 'u32s')).toEqual([1, 0xffff_ffff]);
    expect(cells(r, 'u64s')).toEqual([1, 2]);
    expect(fdtNumber(fdtGetProp(r, 'u64s')!)).toBe(0x1_0000_0002n);
    expect(str(r, 's')).toEqual(['hello']);
    expect(str(r, 'sl')).toEqual(['a', 'bc']);
    expect(Array.from(fdtGetProp(r, 'raw')!)).toEqual([9, 8, 7]);
    expect(fdtGetProp(r, 'empty')!.length).toBe(0);
    expect(cells(node(r, '/child@10'), 'phandle')).toEqual([1]);
    expect(node(r, '/child').name).toBe('child@10');
    expect(fdtFindNode(r, '/missing')).toBeUndefined();
    // Header sizes are consistent and the blob re-encodes identically.
    const dv = new DataView(blob.buffer);
    expect(dv.getUint32(4)).toBe(blob.length);
    expect(encodeDtb(dtb)).toEqual(blob);
    // "u32s" appears once in the strings block.
    const strings = new TextDecoder().decode(blob.subarray(dv.getUint32(12)));
    expect(strings.split('\0').filter((s) => s === 'u32s').length).toBe(1);
  });

  it('rejects misuse', () => {
    expect(() => new FdtBuilder().beginNode('x')).toThrow(/root/);
    const b = new FdtBuilder();
    b.beginNode('');
    b.beginNode('a');
    b.endNode();
    expect(() => b.prop('late', [1])).toThrow(/after a child/);
    expect(() => b.finish()).toThrow(/open/);
    b.beginNode('v');
    expect(() => b.prop('bad', [1.5])).toThrow(RangeError);
    expect(() => b.prop('bad', [-1])).toThrow(RangeError);
    expect(() => b.prop('bad', [1n << 64n])).toThrow(RangeError);
    const c = new FdtBuilder();
    c.beginNode('');
    c.beginNode('a').prop('phandle', [1]).endNode();
    expect(() => c.beginNode('b').prop('phandle', [1])).toThrow(/duplicate/);
    // allocPhandle skips explicitly used values.
    const d = new FdtBuilder();
    d.beginNode('');
    d.beginNode('a').prop('phandle', [1]).endNode();
    expect(d.allocPhandle()).toBe(2);
  });

  it('parseDtb throws ImageError for malformed blobs', () => {
    const good = buildVirtDtb({ numHarts: 1, ramBase: 0x8000_0000n, ramSize: 0x800_0000n, isa: ISA, mmuType: 'riscv,sv48' });
    expect(() => parseDtb(new Uint8Array(10))).toThrow(ImageError);
    expect(() => parseDtb(new Uint8Array(64))).toThrow(/magic/);
    expect(() => parseDtb(good.slice(0, good.length - 8))).toThrow(/truncated/);
    const badTok = good.slice();
    const structOff = new DataView(badTok.buffer).getUint32(8);
    new DataView(badTok.buffer).setUint32(structOff, 0x77);
    expect(() => parseDtb(badTok)).toThrow(/bad structure token/);
    const badVer = good.slice();
    new DataView(badVer.buffer).setUint32(20, 15);
    expect(() => parseDtb(badVer)).toThrow(/version/);
    expect(() => fdtU32s(new Uint8Array(3))).toThrow(ImageError);
  });
});

describe('buildVirtDtb', () => {
  const cfg = {
    numHarts: 4,
    ramBase: 0x8000_0000n,
    ramSize: 0x1000_0000n,
    isa: ISA,
    mmuType: 'riscv,sv48',
    bootargs: 'console=ttyS0 earlycon',
    initrd: { start: 0x8800_0000n, end: 0x8810_0000n },
  };

  it('describes the board', () => {
    const { root } = parseDtb(buildVirtDtb(cfg));
    expect(cells(root, '#address-cells')).toEqual([2]);
    expect(str(root, 'compatible')).toEqual(['riscv-virtio']);
    expect(root.children.map((c) => c.name)).toEqual(['chosen', 'poweroff', 'reboot', 'memory@80000000', 'cpus', 'soc']);

    const chosen = node(root, '/chosen');
    expect(str(chosen, 'stdout-path')).toEqual(['/soc/serial@10000000']);
    expect(str(chosen, 'bootargs')).toEqual(['console=ttyS0 earlycon']);
    expect(fdtNumber(fdtGetProp(chosen, 'linux,initrd-start')!)).toBe(0x8800_0000n);
    expect(fdtNumber(fdtGetProp(chosen, 'linux,initrd-end')!)).toBe(0x8810_0000n);
    expect(fdtGetProp(chosen, 'rng-seed')).toBeUndefined();

    expect(cells(node(root, '/memory@80000000'), 'reg')).toEqual([0, 0x8000_0000, 0, 0x1000_0000]);

    const cpus = node(root, '/cpus');
    expect(cells(cpus, 'timebase-frequency')).toEqual([10_000_000]);
    const intcPh: number[] = [];
    for (let h = 0; h < 4; h++) {
      const cpu = node(root, `/cpus/cpu@${h}`);
      expect(cells(cpu, 'reg')).toEqual([h]);
      expect(str(cpu, 'riscv,isa')).toEqual([ISA]);
      expect(str(cpu, 'mmu-type')).toEqual(['riscv,sv48']);
      expect(str(cpu, 'status')).toEqual(['okay']);
      expect(str(cpu, 'compatible')).toEqual(['riscv']);
      expect(cells(cpu, 'phandle')).toEqual([2 * (3 - h) + 1]); // QEMU numbers from the last hart
      const intc = node(root, `/cpus/cpu@${h}/interrupt-controller`);
      expect(str(intc, 'compatible')).toEqual(['riscv,cpu-intc']);
      intcPh.push(cells(intc, 'phandle')[0]!);
      expect(cells(node(root, `/cpus/cpu-map/cluster0/core${h}`), 'cpu')).toEqual(cells(cpu, 'phandle'));
    }

    const plic = node(root, '/soc/plic@c000000');
    expect(cells(plic, 'phandle')).toEqual([9]);
    expect(cells(plic, 'riscv,ndev')).toEqual([0x60]);
    expect(str(plic, 'compatible')).toEqual(['sifive,plic-1.0.0', 'riscv,plic0']);
    expect(cells(plic, 'interrupts-extended')).toEqual(intcPh.flatMap((p) => [p, 11, p, 9]));
    const clint = node(root, '/soc/clint@2000000');
    expect(cells(clint, 'interrupts-extended')).toEqual(intcPh.flatMap((p) => [p, 3, p, 7]));
    expect(cells(clint, 'reg')).toEqual([0, 0x0200_0000, 0, 0x10000]);
    const uart = node(root, '/soc/serial@10000000');
    expect(cells(uart, 'interrupts')).toEqual([10]);
    expect(cells(uart, 'interrupt-parent')).toEqual([9]);
    expect(cells(uart, 'clock-frequency')).toEqual([0x384000]);
    const test = node(root, '/soc/test@100000');
    expect(str(test, 'compatible')).toEqual(['sifive,test1', 'sifive,test0', 'syscon']);
    expect(cells(node(root, '/poweroff'), 'regmap')).toEqual(cells(test, 'phandle'));
    expect(cells(node(root, '/poweroff'), 'value')).toEqual([0x5555]);
    expect(cells(node(root, '/reboot'), 'value')).toEqual([0x7777]);
    for (const absent of ['/soc/rtc', '/soc/pci', '/soc/virtio_mmio', '/fw-cfg', '/flash', '/pmu']) {
      expect(fdtFindNode(root, absent)).toBeUndefined();
    }
  });

  it('omits optional chosen properties and uses two cells above 4 GiB', () => {
    const { root } = parseDtb(buildVirtDtb({ ...cfg, bootargs: undefined, initrd: undefined, stdout: '/x' }));
    expect(node(root, '/chosen').props.map((p) => p.name)).toEqual(['stdout-path']);
    const hi = parseDtb(buildVirtDtb({ ...cfg, initrd: { start: 0x1_0000_0000n, end: 0x1_0000_1000n } })).root;
    expect(cells(node(hi, '/chosen'), 'linux,initrd-start')).toEqual([1, 0]);
  });

  it('is deterministic', () => {
    expect(buildVirtDtb(cfg)).toEqual(buildVirtDtb(cfg));
  });

  it.skipIf(!HAVE_DTC)('decompiles cleanly with dtc', () => {
    const [dts, stderr] = decompile(buildVirtDtb(cfg));
    // dtc's only complaint is one QEMU's own tree triggers too: the cpu interrupt
    // controllers carry no #address-cells (we mirror QEMU there).
    const warnings = stderr
      .split('\n')
      .filter((l) => l.trim() !== '' && !/interrupt_provider.*cpu@\d+\/interrupt-controller: Missing #address-cells/.test(l));
    expect(warnings).toEqual([]);
    expect(dts).toContain('compatible = "sifive,plic-1.0.0\\0riscv,plic0";');
    expect(dts).toContain('stdout-path = "/soc/serial@10000000";');
    expect(dts).toContain('linux,initrd-start = <0x88000000>;');
    expect(dts).toContain('riscv,isa = "rv64imafdch_zicsr_zifencei_zihintpause_zicntr_sstc";');
  });

  /**
   * Compare with QEMU 7.2's own tree: dump it, delete what hvtrace does not emulate, and
   * require the rest to be identical (node order, property order, values, phandles).
   */
  it.skipIf(!HAVE_QEMU)('equals QEMU virt\'s tree minus unemulated devices', () => {
    const kernel = fileURLToPath(new URL('./fixtures/loader-rv64.elf', import.meta.url));
    for (const [smp, mem, withBoot] of [
      [1, '128M', true],
      [4, '256M', false],
      [3, '1G', true],
    ] as const) {
      withTmp((dir) => {
        const dtbFile = join(dir, 'virt.dtb');
        const initrd = join(dir, 'initrd');
        writeFileSync(initrd, new Uint8Array(1000));
        const boot = withBoot ? ['-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 earlycon'] : [];
        execFileSync(
          'qemu-system-riscv64',
          ['-M', `virt,dumpdtb=${dtbFile}`, '-smp', String(smp), '-m', mem, '-bios', 'none', '-nographic', ...boot],
          { stdio: 'ignore', timeout: 60_000 },
        );
        const qemu = parseDtb(readFileSync(dtbFile));
        const drop = /^(pmu|fw-cfg@|flash@|platform-bus@|rtc@|pci@|virtio_mmio@)/;
        const prune = (n: FdtNode) => {
          n.children = n.children.filter((c) => !drop.test(c.name));
          n.children.forEach(prune);
        };
        prune(qemu.root);
        const qChosen = node(qemu.root, '/chosen');
        qChosen.props = qChosen.props.filter((p) => p.name !== 'rng-seed');

        const memNode = node(qemu.root, '/memory@80000000');
        const ramSize = fdtNumber(fdtGetProp(memNode, 'reg')!.subarray(8));
        const initrdStart = fdtGetProp(qChosen, 'linux,initrd-start');
        const ours = buildVirtDtb({
          numHarts: smp,
          ramBase: 0x8000_0000n,
          ramSize,
          isa: QEMU72_DEFAULT_ISA,
          mmuType: 'riscv,sv48',
          bootargs: withBoot ? 'console=ttyS0 earlycon' : undefined,
          initrd: initrdStart
            ? { start: fdtNumber(initrdStart), end: fdtNumber(fdtGetProp(qChosen, 'linux,initrd-end')!) }
            : undefined,
        });
        expect(parseDtb(ours).root).toEqual(qemu.root);
        expect(decompile(ours)[0]).toBe(decompile(encodeDtb(qemu))[0]);

        // The whole board hvtrace's CLI builds (virtio-mmio, RTC, pmu, fw-cfg, flash,
        // platform-bus): QEMU's tree but pci@30000000, which hvtrace does not have.
        const full = parseDtb(readFileSync(dtbFile));
        const noPci = (n: FdtNode) => {
          n.children = n.children.filter((c) => !c.name.startsWith('pci@'));
          n.children.forEach(noPci);
        };
        noPci(full.root);
        const fChosen = node(full.root, '/chosen');
        fChosen.props = fChosen.props.filter((p) => p.name !== 'rng-seed');
        const board = buildVirtDtb({
          numHarts: smp,
          ramBase: 0x8000_0000n,
          ramSize,
          isa: QEMU72_DEFAULT_ISA,
          mmuType: 'riscv,sv48',
          bootargs: withBoot ? 'console=ttyS0 earlycon' : undefined,
          initrd: initrdStart
            ? { start: fdtNumber(initrdStart), end: fdtNumber(fdtGetProp(qChosen, 'linux,initrd-end')!) }
            : undefined,
          virtioMmio: true,
          rtc: true,
          qemuBoard: true,
        });
        expect(parseDtb(board).root).toEqual(full.root);
      });
    }
  });
});
