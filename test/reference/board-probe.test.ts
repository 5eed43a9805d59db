/**
 * fw-cfg@10100000 and flash@20000000 as a guest sees them, on hvtrace and on QEMU 7.2 (issue 16):
 * guests/build/board-probe.elf reads fw_cfg's signature, ID, NB_CPUS and file directory through
 * the data register and through DMA (select + read, skip, a refused write), and the flash's
 * read-array data, CFI query table, device id and status register, and prints all of it. The
 * consoles must be identical (2 harts, QEMU_CPU_MATCHING_HVTRACE, QEMU's own firmware and
 * hvtrace's built-in SBI: the probe uses only SBI console calls).
 *
 * No flash image here: with `-drive if=pflash,unit=0` QEMU 7.2's reset vector jumps into the
 * flash, which hvtrace does not do (README, "What is emulated"); test/board-devices.test.ts reads
 * a --pflash image.
 *
 * Needs qemu-system-riscv64 7.2.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWithTrapLog } from './hv-trap-log.js';
import { QEMU_CPU_MATCHING_HVTRACE, qemuVersion, runQemu } from '../../src/diff/qemu-log.js';

const PROBE = fileURLToPath(new URL('../../guests/build/board-probe.elf', import.meta.url));

/** The probe's lines (from its first), without carriage returns. */
const probeLines = (c: string): string[] => {
  const lines = c.replace(/\r/g, '').split('\n');
  return lines.slice(lines.findIndex((l) => l.startsWith('fw_cfg '))).filter((l) => l !== '');
};

describe('board-probe: fw_cfg and CFI flash on hvtrace and QEMU 7.2', () => {
  it('prints the same', async () => {
    expect(qemuVersion()).toBe('7.2');
    const q = await runQemu({ kernel: PROBE, cpu: QEMU_CPU_MATCHING_HVTRACE, smp: 2, memMiB: 256, timeoutMs: 60_000 });
    const hv = runWithTrapLog({
      ramSize: 256 * 1024 * 1024, harts: 2, bios: 'builtin', qemuBoard: true,
      kernel: { name: PROBE, bytes: new Uint8Array(readFileSync(PROBE)) },
    }, 50_000_000);
    const ours = probeLines(hv.console);
    expect(ours).toContain('fw_cfg signature QEMU');
    expect(ours).toContain('fw_cfg files 3');
    expect(ours.at(-1)).toBe('board-probe done');
    expect(ours).toEqual(probeLines(q.console));
  });
});
