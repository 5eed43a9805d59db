/**
 * The AIA device-tree nodes (--aia aplic / aplic-imsic, --aia-guests) against QEMU 7.2 virt's
 * own tree: dump QEMU's (-M virt,aia=...,dumpdtb), delete what hvtrace does not emulate, and
 * require the rest -- the APLIC and IMSIC nodes, their phandles, and every device's two-cell
 * `interrupts` naming the S-level APLIC -- to be identical to buildVirtDtb's with `aia`.
 *
 * Needs qemu-system-riscv64 7.2.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVirtDtb, parseDtb, fdtNumber, fdtGetProp, QEMU72_DEFAULT_ISA, type FdtNode } from '../../src/devices/fdt.js';

function qemuTree(machine: string, smp: number): FdtNode {
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-aia-dtb-'));
  try {
    const dtbFile = join(dir, 'virt.dtb');
    execFileSync('qemu-system-riscv64', ['-M', `${machine},dumpdtb=${dtbFile}`, '-smp', String(smp), '-m', '256M', '-bios', 'none', '-nographic'], { stdio: 'ignore', timeout: 60_000 });
    const root = parseDtb(readFileSync(dtbFile)).root;
    const drop = /^pci@/; // no PCI host bridge on hvtrace
    const prune = (n: FdtNode): void => {
      n.children = n.children.filter((c) => !drop.test(c.name));
      n.children.forEach(prune);
    };
    prune(root);
    const chosen = root.children.find((c) => c.name === 'chosen')!;
    chosen.props = chosen.props.filter((p) => p.name !== 'rng-seed');
    return root;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES = [
  { mode: 'aplic', guests: 0, smp: 2 },
  { mode: 'aplic-imsic', guests: 0, smp: 2 },
  { mode: 'aplic-imsic', guests: 2, smp: 3 },
  { mode: 'aplic-imsic', guests: 7, smp: 1 },
] as const;

describe('AIA device-tree nodes', () => {
  for (const c of CASES) {
    it(`equal QEMU 7.2 virt's with aia=${c.mode}, aia-guests=${c.guests}, ${c.smp} harts`, () => {
      const qemu = qemuTree(`virt,aia=${c.mode}${c.guests ? `,aia-guests=${c.guests}` : ''}`, c.smp);
      const soc = qemu.children.find((n) => n.name === 'soc')!;
      const names = soc.children.map((n) => n.name);
      expect(names).toContain('aplic@c000000');
      expect(names.includes('imsics@24000000')).toBe(c.mode === 'aplic-imsic');
      const mem = qemu.children.find((n) => n.name.startsWith('memory@'))!;
      const ours = buildVirtDtb({
        numHarts: c.smp,
        ramBase: 0x8000_0000n,
        ramSize: fdtNumber(fdtGetProp(mem, 'reg')!.subarray(8)),
        isa: c.mode === 'aplic-imsic' ? QEMU72_DEFAULT_ISA.replace(/_sstc$/, '_smaia_ssaia_sstc') : QEMU72_DEFAULT_ISA,
        mmuType: 'riscv,sv48',
        virtioMmio: true,
        rtc: true,
        qemuBoard: true,
        aia: { mode: c.mode, guests: c.guests },
      });
      expect(parseDtb(ours).root).toEqual(qemu);
    });
  }
});
