/**
 * The tlb-ctx guest (guests/tlb-ctx/tlb-ctx.S; test/tlb-context.test.ts) on QEMU 7.2 -bios none:
 * the same 540 checks pass there, so what it expects of translations across privilege, SUM, MXR,
 * MPRV/MPP changes and fences is QEMU's behaviour too (QEMU keeps one TLB per mmu_idx across mode
 * switches, as hvtrace keeps one per context).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { qemuVersion, runQemu } from '../../src/diff/qemu-log.js';

let version: string | null = null;
beforeAll(() => { version = qemuVersion(); });

describe('tlb-ctx vs QEMU 7.2', () => {
  it('prints the same verdict: every check passes', async () => {
    expect(version, 'qemu-system-riscv64 is needed (apt-get install qemu-system-misc)').toBe('7.2');
    const q = await runQemu({ kernel: 'guests/build/tlb-ctx.elf', bios: 'none', timeoutMs: 60_000 });
    expect(q.timedOut).toBe(false);
    expect(q.console.replace(/\r\n/g, '\n')).toBe('tlb-ctx: 540 checks, 0 failed\nPASS\n');
  });
});
