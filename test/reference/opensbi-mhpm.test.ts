/**
 * Zihpm (issue 16): OpenSBI's view of the hart's counters on hvtrace against QEMU 7.2's default
 * CPU. OpenSBI probes mhpmcounter3..31 at boot (write 1, swap the old value back: a counter
 * that holds the 1 exists) and prints the count in its banner (`Boot HART MHPM Count`; newer
 * OpenSBI releases also print `MHPM Bits`). QEMU 7.2's default CPU has pmu-num = 16
 * (mhpmcounter3..18); hvtrace implements the same 16 (src/hart/csr.ts).
 *
 * The comparison is of the banner's `Boot HART ...` lines (ID, domain, privilege version, ISA,
 * PMP and MHPM figures, MIDELEG/MEDELEG), with Debian's fw_jump.bin and guests/build/hello.elf on
 * both, QEMU with its default `-cpu` and with QEMU_CPU_MATCHING_HVTRACE (which keeps QEMU's
 * default 16 counters).
 *
 * Sscofpmf: QEMU 7.2's default CPU lacks it, and so do hvtrace's harts by default; with
 * `--cpu rv64,sscofpmf=on` (MachineConfig.sscofpmf) OpenSBI detects it on hvtrace as on QEMU's
 * `-cpu ...,sscofpmf=true` (it probes scountovf: `ISA Extensions : sscofpmf,...`, and delegates
 * LCOFI: MIDELEG bit 13).
 *
 * Needs qemu-system-riscv64 7.2 and Debian's OpenSBI (scripts/setup-reference.sh).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runWithTrapLog, type HvRun } from './hv-trap-log.js';
import { DEBIAN_FW_JUMP, QEMU_CPU_MATCHING_HVTRACE, qemuVersion, runQemu, type QemuRunResult } from '../../src/diff/qemu-log.js';

const HELLO = fileURLToPath(new URL('../../guests/build/hello.elf', import.meta.url));
const MEM_MIB = 256;

/** The banner's per-hart lines, in order, whitespace-normalised. */
function bootHartLines(console: string): string[] {
  return console.split(/\r?\n/).filter((l) => l.startsWith('Boot HART ')).map((l) => l.replace(/\s+/g, ' ').trim());
}

describe('OpenSBI banner: Boot HART lines (MHPM Count) on hvtrace and QEMU 7.2', () => {
  let qemuDefault: QemuRunResult;
  let qemuMatching: QemuRunResult;
  let hv: HvRun;
  let qemuSscofpmf: QemuRunResult;
  let hvSscofpmf: HvRun;
  beforeAll(async () => {
    const v = qemuVersion();
    if (v !== '7.2') throw new Error(`the reference is QEMU 7.2, found ${v ?? 'none'} (scripts/setup-reference.sh)`);
    if (!existsSync(DEBIAN_FW_JUMP)) throw new Error(`${DEBIAN_FW_JUMP} not found (scripts/setup-reference.sh)`);
    qemuDefault = await runQemu({ kernel: HELLO, bios: DEBIAN_FW_JUMP, memMiB: MEM_MIB, smp: 1, timeoutMs: 60_000 });
    qemuMatching = await runQemu({ kernel: HELLO, bios: DEBIAN_FW_JUMP, cpu: QEMU_CPU_MATCHING_HVTRACE, memMiB: MEM_MIB, smp: 1, timeoutMs: 60_000 });
    hv = runWithTrapLog({
      ramSize: MEM_MIB * 1024 * 1024,
      harts: 1,
      bios: { name: DEBIAN_FW_JUMP, bytes: new Uint8Array(readFileSync(DEBIAN_FW_JUMP)) },
      kernel: { name: HELLO, bytes: new Uint8Array(readFileSync(HELLO)) },
    }, 200_000_000);
    qemuSscofpmf = await runQemu({ kernel: HELLO, bios: DEBIAN_FW_JUMP, cpu: `${QEMU_CPU_MATCHING_HVTRACE},sscofpmf=true`, memMiB: MEM_MIB, smp: 1, timeoutMs: 60_000 });
    hvSscofpmf = runWithTrapLog({
      ramSize: MEM_MIB * 1024 * 1024,
      harts: 1,
      bios: { name: DEBIAN_FW_JUMP, bytes: new Uint8Array(readFileSync(DEBIAN_FW_JUMP)) },
      kernel: { name: HELLO, bytes: new Uint8Array(readFileSync(HELLO)) },
      sscofpmf: true,
    }, 200_000_000);
  });

  it('hvtrace reports 16 MHPM counters, as QEMU 7.2\'s default CPU', () => {
    const mhpm = (c: string): string[] => bootHartLines(c).filter((l) => l.includes('MHPM'));
    expect(mhpm(qemuDefault.console)).toContain('Boot HART MHPM Count : 16');
    expect(mhpm(hv.console)).toEqual(mhpm(qemuDefault.console));
  });

  it('every Boot HART line equals QEMU\'s (default CPU and QEMU_CPU_MATCHING_HVTRACE)', () => {
    const ours = bootHartLines(hv.console);
    expect(ours.length).toBeGreaterThanOrEqual(10);
    expect(ours).toEqual(bootHartLines(qemuDefault.console));
    expect(ours).toEqual(bootHartLines(qemuMatching.console));
  });

  it('with Sscofpmf, every Boot HART line equals QEMU\'s -cpu ...,sscofpmf=true (OpenSBI detects it, delegates LCOFI)', () => {
    const ours = bootHartLines(hvSscofpmf.console);
    expect(ours).toContain('Boot HART ISA Extensions : sscofpmf,time,sstc');
    expect(ours).toContain('Boot HART MIDELEG : 0x0000000000003666');
    expect(ours).toEqual(bootHartLines(qemuSscofpmf.console));
  });
});
