/**
 * SiFive "test" finisher as on QEMU 7.2's `virt` board (hw/misc/sifive_test.c) at
 * 0x0010_0000. Firmware (OpenSBI's syscon-poweroff / syscon-reboot via the DT nodes
 * `poweroff` and `reboot`) and bare-metal tests write a 32-bit value at offset 0:
 *
 *   low 16 bits  status: 0x3333 FAIL, 0x5555 PASS, 0x7777 RESET
 *   high 16 bits exit code (FAIL only; QEMU 7.2 exits with it)
 *
 * As in QEMU: `status = val & 0xffff`, `code = (val >> 16) & 0xffff`; a PASS with a
 * non-zero high half still exits 0; other values and offsets are ignored; reads return 0.
 * QEMU accepts 2- and 4-byte accesses (a 2-byte write of 0x3333 fails with code 0); other
 * widths would fault there and are ignored here.
 */
import type { MmioDevice } from '../mem/device.js';

export const TEST_BASE = 0x0010_0000;
export const TEST_SIZE = 0x1000;

export const FINISHER_FAIL = 0x3333;
export const FINISHER_PASS = 0x5555;
export const FINISHER_RESET = 0x7777;

export interface HaltRequest {
  kind: 'poweroff' | 'fail' | 'reset';
  code: number;
}

export class TestDevice implements MmioDevice {
  readonly name = 'test';
  readonly base = TEST_BASE;
  readonly size = TEST_SIZE;

  constructor(private readonly onHalt: (h: HaltRequest) => void) {}

  read(_offset: number, _size: number): bigint {
    return 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    if (offset !== 0 || (size !== 2 && size !== 4)) return;
    const v = Number(value & 0xffff_ffffn);
    const status = v & 0xffff;
    const code = (v >>> 16) & 0xffff;
    switch (status) {
      case FINISHER_FAIL:
        this.onHalt({ kind: 'fail', code });
        return;
      case FINISHER_PASS:
        this.onHalt({ kind: 'poweroff', code: 0 });
        return;
      case FINISHER_RESET:
        this.onHalt({ kind: 'reset', code: 0 });
        return;
      default:
        return;
    }
  }

  /** Stateless. */
  saveState(): Record<string, never> {
    return {};
  }

  restoreState(_state: unknown): void {}
}
