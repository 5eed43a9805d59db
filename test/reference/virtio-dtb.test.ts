/**
 * The board nodes of hvtrace's device tree (issue 16) against QEMU 7.2 virt's own tree:
 * dump QEMU's (-M virt,dumpdtb), delete pci@30000000 (not emulated) and /chosen/rng-seed, and
 * require the rest, the eight virtio_mmio@1000x000 nodes, rtc@101000, pmu (its event map for 16
 * counters), fw-cfg@10100000, flash@20000000 and platform-bus@4000000 included (their order,
 * properties, PLIC sources and phandle references), to be identical to buildVirtDtb's with
 * `virtioMmio`, `rtc` and `qemuBoard`: what the CLI's board generates.
 *
 * Needs qemu-system-riscv64 7.2.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVirtDtb, parseDtb, fdtNumber, fdtGetProp, QEMU72_DEFAULT_ISA, type FdtNode } from '../../src/devices/fdt.js';

describe('virtio_mmio device-tree nodes', () => {
  it('equal QEMU 7.2 virt\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-virtio-dtb-'));
    try {
      const dtbFile = join(dir, 'virt.dtb');
      execFileSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${dtbFile}`, '-smp', '2', '-m', '256M', '-bios', 'none', '-nographic'], { stdio: 'ignore', timeout: 60_000 });
      const qemu = parseDtb(readFileSync(dtbFile));
      // pci@30000000: no PCI host bridge on hvtrace (README, "What is emulated").
      const drop = /^pci@/;
      const prune = (n: FdtNode): void => {
        n.children = n.children.filter((c) => !drop.test(c.name));
        n.children.forEach(prune);
      };
      prune(qemu.root);
      const chosen = qemu.root.children.find((c) => c.name === 'chosen')!;
      chosen.props = chosen.props.filter((p) => p.name !== 'rng-seed');
      const soc = qemu.root.children.find((c) => c.name === 'soc')!;
      expect(soc.children.filter((c) => c.name.startsWith('virtio_mmio@')).map((c) => c.name))
        .toEqual([8, 7, 6, 5, 4, 3, 2, 1].map((i) => `virtio_mmio@1000${i}000`));
      const mem = qemu.root.children.find((c) => c.name.startsWith('memory@'))!;
      const ours = buildVirtDtb({
        numHarts: 2,
        ramBase: 0x8000_0000n,
        ramSize: fdtNumber(fdtGetProp(mem, 'reg')!.subarray(8)),
        isa: QEMU72_DEFAULT_ISA,
        mmuType: 'riscv,sv48',
        virtioMmio: true,
        rtc: true,
        qemuBoard: true,
      });
      expect(parseDtb(ours).root).toEqual(qemu.root);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
