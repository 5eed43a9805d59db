/**
 * QEMU's firmware configuration device, MMIO flavour (hw/nvram/fw_cfg.c, fw_cfg_init_mem_wide),
 * at QEMU 7.2 virt's fw-cfg@10100000: a selector register picks an item, the data register
 * streams its bytes, and the DMA register lets the guest copy an item into RAM.
 *
 *   +0x00  data      (8 bytes wide) the next 1, 2, 4 or 8 bytes of the item, in memory order
 *                    (QEMU's DEVICE_BIG_ENDIAN data region: a load returns the bytes as they lie
 *                    in the item); reads past its end give zeros; writes are ignored
 *   +0x08  selector  (16-bit, big-endian) selects an item and rewinds it
 *   +0x10  DMA       (64-bit, big-endian) the guest physical address of an FWCfgDmaAccess
 *                    { be32 control; be32 length; be64 address }; written as one 64-bit store
 *                    or two 32-bit ones (the low half starts the transfer); reads give the
 *                    signature "QEMU CFG"
 *
 * The items are those QEMU 7.2's riscv virt has without -kernel-via-fw_cfg, -smbios or ACPI
 * (RISC-V ACPI and SMBIOS came after 7.2): the signature "QEMU", the interface ID (traditional +
 * DMA), a zero UUID, NOGRAPHIC = 1, NB_CPUS, BOOT_MENU = 0 and the file directory, whose files
 * are `bios-geometry` and `bootorder` (empty: no device has a boot index) and
 * `etc/boot-fail-wait` (-1: no reboot timeout), in QEMU's sorted order. All of it is a pure
 * function of the board configuration; the only state is the selection and DMA address.
 */
import type { Bus } from '../mem/bus.js';
import type { MmioDevice } from '../mem/device.js';

export const FW_CFG_BASE = 0x1010_0000;
export const FW_CFG_SIZE = 0x18;

// Item keys (include/standard-headers/linux/qemu_fw_cfg.h).
const FW_CFG_SIGNATURE = 0x00;
const FW_CFG_ID = 0x01;
const FW_CFG_UUID = 0x02;
const FW_CFG_NOGRAPHIC = 0x04;
const FW_CFG_NB_CPUS = 0x05;
const FW_CFG_BOOT_MENU = 0x0e;
const FW_CFG_FILE_DIR = 0x19;
const FW_CFG_FILE_FIRST = 0x20;
const FW_CFG_ARCH_LOCAL = 0x8000;
const FW_CFG_ENTRY_MASK = 0x3fff;
const FW_CFG_MAX_ENTRY = FW_CFG_FILE_FIRST + 0x20; // QEMU's default file slots
const FW_CFG_VERSION = 0x01;
const FW_CFG_VERSION_DMA = 0x02;
const INVALID = -1;

// FWCfgDmaAccess.control bits.
const DMA_CTL_ERROR = 0x01;
const DMA_CTL_READ = 0x02;
const DMA_CTL_SKIP = 0x04;
const DMA_CTL_SELECT = 0x08;
const DMA_CTL_WRITE = 0x10;
/** "QEMU CFG", what a read of the DMA register returns. */
const DMA_SIGNATURE = 0x51454d5520434647n;

const le16 = (v: number): Uint8Array => new Uint8Array([v & 0xff, (v >>> 8) & 0xff]);
const le32 = (v: number): Uint8Array => new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);

/** The items of QEMU 7.2 virt's fw_cfg for a board with `harts` harts (key -> bytes). */
export function fwCfgItems(harts: number): Map<number, Uint8Array> {
  const items = new Map<number, Uint8Array>();
  items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
  items.set(FW_CFG_ID, le32(FW_CFG_VERSION | FW_CFG_VERSION_DMA));
  items.set(FW_CFG_UUID, new Uint8Array(16));
  items.set(FW_CFG_NOGRAPHIC, le16(1));
  items.set(FW_CFG_NB_CPUS, le16(harts));
  items.set(FW_CFG_BOOT_MENU, le16(0));
  // Files: sorted by name (QEMU's fw_cfg_add_file without legacy order), selectors from 0x20.
  const files: [string, Uint8Array][] = [
    ['bios-geometry', new Uint8Array(0)],
    ['bootorder', new Uint8Array(0)],
    ['etc/boot-fail-wait', le32(0xffff_ffff)],
  ];
  files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // The directory: be32 count, then per file be32 size, be16 select, be16 reserved, name[56].
  const dir = new Uint8Array(4 + 64 * files.length);
  const dv = new DataView(dir.buffer);
  dv.setUint32(0, files.length, false);
  files.forEach(([name, data], i) => {
    const o = 4 + 64 * i;
    dv.setUint32(o, data.length, false);
    dv.setUint16(o + 4, FW_CFG_FILE_FIRST + i, false);
    dir.set(new TextEncoder().encode(name).subarray(0, 55), o + 8);
    items.set(FW_CFG_FILE_FIRST + i, data);
  });
  items.set(FW_CFG_FILE_DIR, dir);
  return items;
}

interface FwCfgState { cur: number; off: number; dmaHi: number }

export class FwCfg implements MmioDevice {
  readonly name = 'fw-cfg';
  readonly base = FW_CFG_BASE;
  readonly size = FW_CFG_SIZE;
  private readonly items: Map<number, Uint8Array>;
  /** The selected key (INVALID: none) and the offset of the next data byte. */
  private cur = INVALID;
  private off = 0;
  /** The high half of the DMA address, written first by a pair of 32-bit stores. */
  private dmaHi = 0;

  constructor(harts: number, private readonly bus: Bus) {
    this.items = fwCfgItems(harts);
  }

  private item(): Uint8Array | undefined {
    return this.cur === INVALID ? undefined : this.items.get(this.cur);
  }

  /** fw_cfg_select: keys beyond the entry table select nothing; arch-local keys hold nothing here. */
  private select(key: number): void {
    this.off = 0;
    this.cur = (key & FW_CFG_ENTRY_MASK) >= FW_CFG_MAX_ENTRY ? INVALID : key & (FW_CFG_ENTRY_MASK | FW_CFG_ARCH_LOCAL);
  }

  read(offset: number, size: number): bigint {
    if (offset < 8) {
      if (offset !== 0) return 0n;
      // The next `size` bytes in memory order, zeros past the end.
      const it = this.item();
      let v = 0n;
      for (let i = 0; i < size; i++) {
        const b = it !== undefined && this.off < it.length ? it[this.off++]! : 0;
        v |= BigInt(b) << BigInt(8 * i);
      }
      return v;
    }
    if (offset >= 16) {
      // The signature, big-endian, as seen through an access of this size at this offset.
      const a = offset - 16;
      if (a + size > 8) return 0n;
      const be = (DMA_SIGNATURE >> BigInt(8 * (8 - a - size))) & ((1n << BigInt(8 * size)) - 1n);
      return byteSwap(be, size);
    }
    return 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    if (offset === 8 && size === 2) {
      this.select(Number(byteSwap(value, 2)));
    } else if (offset === 16 && size === 8) {
      this.dma(byteSwap(value, 8));
    } else if (offset === 16 && size === 4) {
      this.dmaHi = Number(byteSwap(value, 4));
    } else if (offset === 20 && size === 4) {
      this.dma((BigInt(this.dmaHi) << 32n) | byteSwap(value, 4));
      this.dmaHi = 0;
    }
    // Data register writes are ignored (QEMU 7.2 fw_cfg_write), as are other widths.
  }

  /** fw_cfg_dma_transfer: copy (READ), skip (SKIP) or refuse (WRITE: no item is writable). */
  private dma(addr: bigint): void {
    const pa = Number(addr);
    if (!Number.isSafeInteger(pa) || !this.bus.isRam(pa, 16)) return; // QEMU cannot even report the error
    const desc = this.bus.readRam(pa, 16);
    const dv = new DataView(desc.buffer, desc.byteOffset, 16);
    let control = dv.getUint32(0, false);
    let length = dv.getUint32(4, false);
    let address = Number(dv.getBigUint64(8, false));
    if (control & DMA_CTL_SELECT) this.select(control >>> 16);
    const read = (control & DMA_CTL_READ) !== 0;
    const write = !read && (control & DMA_CTL_WRITE) !== 0;
    if (!read && !write && (control & DMA_CTL_SKIP) === 0) length = 0;
    control = 0;
    const it = this.item();
    while (length > 0 && (control & DMA_CTL_ERROR) === 0) {
      let len: number;
      if (it === undefined || this.off >= it.length) {
        len = length;
        if (read && !this.toRam(address, new Uint8Array(len))) control |= DMA_CTL_ERROR;
        if (write) control |= DMA_CTL_ERROR;
      } else {
        len = Math.min(length, it.length - this.off);
        if (read && !this.toRam(address, it.subarray(this.off, this.off + len))) control |= DMA_CTL_ERROR;
        if (write) control |= DMA_CTL_ERROR;
        this.off += len;
      }
      address += len;
      length -= len;
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, control, false);
    this.bus.writeRam(pa, out);
  }

  private toRam(pa: number, data: Uint8Array): boolean {
    if (data.length === 0) return true;
    if (!Number.isSafeInteger(pa) || !this.bus.isRam(pa, data.length)) return false;
    this.bus.writeRam(pa, data);
    return true;
  }

  saveState(): FwCfgState {
    return { cur: this.cur, off: this.off, dmaHi: this.dmaHi };
  }

  restoreState(state: unknown): void {
    const s = state as FwCfgState;
    this.cur = s.cur; this.off = s.off; this.dmaHi = s.dmaHi;
  }
}

/** Reverse the bytes of a `size`-byte value (the big-endian registers seen from a little-endian hart). */
function byteSwap(v: bigint, size: number): bigint {
  let r = 0n;
  for (let i = 0; i < size; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
}
