/**
 * QEMU virt's mask ROM at 0x1000 (hw/riscv/boot.c riscv_setup_rom_reset_vec and
 * riscv_rom_copy_firmware_info, QEMU 7.2): every hart starts there, runs six instructions and
 * jumps to the firmware (or, with `-bios none`, the kernel) with
 *   a0 = mhartid, a1 = the DTB's address, a2 = 0x1028 (fw_dynamic_info, for OpenSBI fw_dynamic),
 *   t0 = the start address.
 *
 *   0x1000  auipc t0, 0          0x1018  .dword start address
 *   0x1004  addi  a2, t0, 40     0x1020  .dword DTB address
 *   0x1008  csrr  a0, mhartid    0x1028  fw_dynamic_info: magic "OSBI", version 2, next_addr
 *   0x100c  ld    a1, 32(t0)             (the kernel), next_mode 1 (S), options 0, boot_hart 0
 *   0x1010  ld    t0, 24(t0)
 *   0x1014  jr    t0
 *
 * The bytes live in the bus's ROM area; harts fetch and load from it like RAM (uncached).
 * Stores are ignored, as QEMU ignores writes to ROM: this device takes them.
 */
import { ROM_BASE, ROM_SIZE, type Bus } from '../mem/bus.js';
import type { MmioDevice } from '../mem/device.js';

export const RESET_VECTOR = ROM_BASE;
/** Address of fw_dynamic_info in the ROM (a2 at the jump). */
export const FW_DYNAMIC_INFO = ROM_BASE + 0x28;

/** The ROM image: reset vector, start and DTB addresses, fw_dynamic_info. */
export function resetRom(startAddr: number, dtbAddr: number, kernelEntry: number): Uint8Array {
  const rom = new Uint8Array(0x28 + 48);
  const dv = new DataView(rom.buffer);
  const insns = [0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283, 0x00028067];
  insns.forEach((w, i) => dv.setUint32(4 * i, w, true));
  dv.setBigUint64(0x18, BigInt(startAddr), true);
  dv.setBigUint64(0x20, BigInt(dtbAddr), true);
  const info = 0x28;
  dv.setBigUint64(info, 0x4942534fn, true); // FW_DYNAMIC_INFO_MAGIC_VALUE
  dv.setBigUint64(info + 8, 2n, true); // version
  dv.setBigUint64(info + 16, BigInt(kernelEntry), true); // next_addr
  dv.setBigUint64(info + 24, 1n, true); // next_mode: S
  dv.setBigUint64(info + 32, 0n, true); // options
  dv.setBigUint64(info + 40, 0n, true); // boot_hart
  return rom;
}

export class MaskRom implements MmioDevice {
  readonly name = 'mrom';
  readonly base = ROM_BASE;
  readonly size = ROM_SIZE;
  constructor(private readonly bus: Bus) {}
  read(offset: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bus.dv.getUint8(this.bus.romOffset + offset + i));
    return v;
  }
  write(): void {
    // ROM: writes are ignored.
  }
  saveState(): unknown {
    return null; // constant: rebuilt from the configuration
  }
  restoreState(): void {}
}
