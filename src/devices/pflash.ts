/**
 * QEMU 7.2 virt's two CFI flash banks at flash@20000000 (hw/block/pflash_cfi01.c as
 * hw/riscv/virt.c configures it: Intel command set, 32 MiB per bank, 256 KiB sectors, bank width
 * 4 = two x16 devices side by side, manufacturer/device id 0x89/0x18, little-endian).
 *
 * Bank 0 holds the `--pflash` image (read-only: a flash image is an input of the run, recorded
 * in the trace by its sha256); without one, and in bank 1, the flash reads as zeros, as QEMU's
 * does without a drive. Reads in read-array mode return the contents; the guest's commands
 * switch to the status register (0x70), the device-id (0x90) or CFI query (0x98) modes, which
 * answer as QEMU's two-device bank does (each device's byte or word replicated for both), so
 * U-Boot's and Linux's CFI probes detect the same chips. Program and erase commands are refused
 * as on a write-protected part: the status register reports the program (0x10) or erase (0x20)
 * error, and nothing changes (QEMU's bank 1 would take the writes, into memory only).
 */
import type { MmioDevice } from '../mem/device.js';

export const FLASH_BASE = 0x2000_0000;
export const FLASH_BANK_SIZE = 0x200_0000;
const SECTOR_LEN = 256 * 1024;
const BANK_WIDTH = 4;
const DEVICE_WIDTH = 2;
const NUM_DEVICES = BANK_WIDTH / DEVICE_WIDTH;
const IDENT0 = 0x89, IDENT1 = 0x18;
const STATUS_READY = 0x80, STATUS_ERASE_ERROR = 0x20, STATUS_PROGRAM_ERROR = 0x10;

/** The CFI query table one x16 device answers (pflash_cfi01_realize), indexed by query offset. */
function cfiTable(): Uint8Array {
  const t = new Uint8Array(0x52);
  // QEMU 7.2: each device has all the bank's blocks, at half the sector length.
  const blocksPerDevice = FLASH_BANK_SIZE / SECTOR_LEN;
  const sectorPerDevice = SECTOR_LEN / NUM_DEVICES;
  const deviceLen = sectorPerDevice * blocksPerDevice;
  const set = (o: number, bytes: number[]): void => { t.set(bytes, o); };
  set(0x10, [0x51, 0x52, 0x59]); // "QRY"
  set(0x13, [0x01, 0x00, 0x31, 0x00]); // Intel command set, extended table at 0x31
  set(0x1b, [0x45, 0x55, 0x00, 0x00]); // Vcc min/max, no Vpp
  set(0x1f, [0x07, 0x07, 0x0a, 0x00, 0x04, 0x04, 0x04, 0x00]); // timeouts
  t[0x27] = Math.log2(deviceLen); // device size 2^n
  set(0x28, [0x02, 0x00]); // x8/x16 interface
  set(0x2a, [0x0b, 0x00]); // 2^11-byte write buffer
  t[0x2c] = 0x01; // one erase block region
  set(0x2d, [(blocksPerDevice - 1) & 0xff, (blocksPerDevice - 1) >> 8, (sectorPerDevice >> 8) & 0xff, sectorPerDevice >> 16]);
  set(0x31, [0x50, 0x52, 0x49, 0x31, 0x30]); // "PRI10"
  t[0x3f] = 0x01; // protection fields
  return t;
}
const CFI = cfiTable();

interface PflashState { cmd: number; wcycle: number; status: number; counter: number }

export class Pflash implements MmioDevice {
  readonly name: string;
  readonly size = FLASH_BANK_SIZE;
  private cmd = 0;
  private wcycle = 0;
  private status = STATUS_READY;
  private counter = 0;

  /** `image`: the bank's contents from its start (shorter than the bank: zeros after it). */
  constructor(readonly base: number, private readonly image: Uint8Array | null) {
    this.name = `flash@${base.toString(16)}`;
  }

  read(offset: number, size: number): bigint {
    if (size === 8) return this.read(offset, 4) | (this.read(offset + 4, 4) << 32n);
    return BigInt(this.read32(offset, size) >>> 0) & ((1n << BigInt(8 * size)) - 1n);
  }

  /** pflash_read for an access of 1, 2 or 4 bytes (the low `size` bytes count). */
  private read32(offset: number, size: number): number {
    switch (this.cmd) {
      case 0x00: {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.byteAt(offset + i);
        return v;
      }
      case 0x10: case 0x20: case 0x28: case 0x40: case 0x50: case 0x60: case 0x70: case 0xe8: {
        // The status of each device in the bank.
        let v = this.status;
        for (let shift = DEVICE_WIDTH * 8; shift + DEVICE_WIDTH * 8 <= size * 8; shift += DEVICE_WIDTH * 8) v |= this.status << shift;
        return v;
      }
      case 0x90: return replicate(this.devidQuery(offset));
      case 0x98: return replicate(this.cfiQuery(offset));
      default: return 0;
    }
  }

  private byteAt(o: number): number {
    const img = this.image;
    return img !== null && o < img.length ? img[o]! : 0;
  }
  /** One device's CFI answer: query addresses count in bank-width units. */
  private cfiQuery(offset: number): number {
    const boff = offset >>> 2;
    return boff < CFI.length ? CFI[boff]! : 0;
  }
  private devidQuery(offset: number): number {
    const boff = (offset >>> 2) & 0xff;
    return boff === 0 ? IDENT0 : boff === 1 ? IDENT1 : 0;
  }

  /** pflash_write: the command state machine, with every program and erase refused. */
  write(offset: number, size: number, value: bigint): void {
    if (size === 8) { this.write(offset, 4, value & 0xffff_ffffn); this.write(offset + 4, 4, value >> 32n); return; }
    const v = Number(value & 0xffff_ffffn);
    const cmd = v & 0xff;
    switch (this.wcycle) {
      case 0:
        switch (cmd) {
          case 0x00: case 0xf0: case 0xff: this.readArray(); return;
          case 0x10: case 0x40: case 0x20: case 0x28: case 0x60: case 0x98: break;
          case 0xe8: this.status |= STATUS_READY; break;
          case 0x50: this.status = 0; this.readArray(); return;
          case 0x70: case 0x90: this.cmd = cmd; return;
          default: this.readArray(); return;
        }
        this.wcycle = 1;
        this.cmd = cmd;
        return;
      case 1:
        switch (this.cmd) {
          case 0x10: case 0x40:
            this.status |= STATUS_PROGRAM_ERROR | STATUS_READY;
            this.wcycle = 0;
            return;
          case 0x20: case 0x28:
            if (cmd === 0xd0) { this.status |= STATUS_ERASE_ERROR | STATUS_READY; this.wcycle = 0; return; }
            this.readArray();
            return;
          case 0xe8:
            this.counter = v & 0xffff; // words to come, minus one
            this.wcycle = 2;
            return;
          case 0x60:
            if (cmd === 0xd0 || cmd === 0x01) { this.status |= STATUS_READY; this.wcycle = 0; return; }
            this.readArray();
            return;
          case 0x98:
            if (cmd === 0xff) this.readArray();
            return;
          default:
            this.readArray();
            return;
        }
      case 2:
        // Buffer data: refused; the confirm cycle follows the last word.
        this.status |= STATUS_PROGRAM_ERROR | STATUS_READY;
        if (this.counter === 0) this.wcycle = 3;
        else this.counter--;
        return;
      default:
        // Confirm (0xd0) or anything else: done, back to reading.
        if (cmd === 0xd0) { this.wcycle = 0; this.status |= STATUS_READY; return; }
        this.readArray();
    }
  }

  private readArray(): void {
    this.cmd = 0;
    this.wcycle = 0;
  }

  saveState(): PflashState {
    return { cmd: this.cmd, wcycle: this.wcycle, status: this.status, counter: this.counter };
  }

  restoreState(state: unknown): void {
    const s = state as PflashState;
    this.cmd = s.cmd; this.wcycle = s.wcycle; this.status = s.status; this.counter = s.counter;
  }
}

/** A device's 16-bit answer for both devices of the bank. */
const replicate = (v: number): number => (v & 0xffff) | ((v & 0xffff) << 16);
