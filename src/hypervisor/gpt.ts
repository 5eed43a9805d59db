/**
 * GuestPageTable: the G-stage (guest-physical -> host-physical) table of one VM, an Sv39x4 table
 * that the hypervisor builds in host RAM itself (priv spec §8.5.1), named as Hypercraft's.
 *
 * Sv39x4: a 41-bit guest-physical address; the root table has 2048 entries (16 KiB, 16 KiB
 * aligned: VPN[2] is GPA bits 40:30, two more bits than Sv39), the lower levels are ordinary
 * 512-entry Sv39 tables. Leaves are 1 GiB, 2 MiB or 4 KiB. Every G-stage access counts as a
 * U-mode access (§8.5.1), so every leaf has U = 1; A and D are preset so that no access ever
 * needs an A/D update. Superpages are used wherever GPA, HPA and the remaining size allow.
 *
 * The table lives in RAM and is written through `PhysMem.writeRam` (Bus.writeRam), so the
 * recorder and checkpoints see it like any other RAM content.
 */

export const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_G = 32, PTE_A = 64, PTE_D = 128;
export const PTE_RWX = PTE_R | PTE_W | PTE_X;
/** hgatp.MODE for Sv39x4 (priv spec Table 8.?: same encoding as satp's Sv39). */
export const HGATP_MODE_SV39X4 = 8n;

const PAGE = 4096;
const LEVEL_SPAN = [PAGE, PAGE * 512, PAGE * 512 * 512]; // 4 KiB, 2 MiB, 1 GiB
/** Guest-physical addresses are 41 bits wide under Sv39x4. */
export const SV39X4_GPA_LIMIT = 2 ** 41;
export const ROOT_SIZE = 16 * 1024;

/** Physical memory as the hypervisor sees it (the board's Bus). */
export interface PhysMem {
  readRam(pa: number, len: number): Uint8Array;
  writeRam(pa: number, data: Uint8Array): void;
}

/** Bump allocator of page-table pages in a hypervisor-owned RAM range (zeroed pages). */
export class FrameAllocator {
  next: number;
  constructor(readonly base: number, readonly limit: number) {
    this.next = base;
  }
  /** `size` bytes aligned to `align`; the memory must already be zero (fresh RAM). */
  alloc(size: number, align: number): number {
    const a = Math.ceil(this.next / align) * align;
    if (a + size > this.limit) throw new Error(`hypervisor page-table pool exhausted (0x${this.base.toString(16)}-0x${this.limit.toString(16)})`);
    this.next = a + size;
    return a;
  }
}

/** One leaf found by a software walk. */
export interface GptLeaf {
  readonly hpa: number;
  /** PTE flag bits (V R W X U G A D). */
  readonly flags: number;
  /** 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB. */
  readonly level: number;
  /** Address of the leaf PTE. */
  readonly pteAddr: number;
}

export class GuestPageTable {
  /** Host-physical address of the 16 KiB root table. */
  readonly root: number;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(private readonly mem: PhysMem, private readonly frames: FrameAllocator, root?: number) {
    this.root = root ?? frames.alloc(ROOT_SIZE, ROOT_SIZE);
    if (this.root % ROOT_SIZE !== 0) throw new Error('GuestPageTable: the Sv39x4 root must be 16 KiB aligned');
  }

  /** hgatp value for this table (§8.2.18): MODE = Sv39x4, VMID, PPN of the root. */
  hgatp(vmid: number): bigint {
    return (HGATP_MODE_SV39X4 << 60n) | (BigInt(vmid & 0x3fff) << 44n) | BigInt(this.root / PAGE);
  }

  /**
   * Map [gpa, gpa+size) to [hpa, hpa+size) with permissions `perm` (a subset of R|W|X). Each
   * step takes the largest page (1 GiB, 2 MiB, 4 KiB) that GPA and HPA are both aligned to
   * and that fits in what is left. Mapping over an existing mapping is an error.
   */
  map(gpa: number, hpa: number, size: number, perm: number): void {
    if (gpa % PAGE || hpa % PAGE || size % PAGE || size <= 0) throw new Error(`GuestPageTable.map: unaligned range 0x${gpa.toString(16)}+0x${size.toString(16)}`);
    if (gpa + size > SV39X4_GPA_LIMIT) throw new Error(`GuestPageTable.map: 0x${gpa.toString(16)} is beyond the 41-bit guest-physical space`);
    if ((perm & ~PTE_RWX) !== 0 || (perm & PTE_RWX) === 0 || (perm & (PTE_R | PTE_W)) === PTE_W) {
      throw new Error(`GuestPageTable.map: bad permissions ${perm}`);
    }
    let off = 0;
    while (off < size) {
      const g = gpa + off, hp = hpa + off, left = size - off;
      let level = 2;
      while (level > 0 && !(g % LEVEL_SPAN[level]! === 0 && hp % LEVEL_SPAN[level]! === 0 && left >= LEVEL_SPAN[level]!)) level--;
      this.setLeaf(g, hp, level, perm);
      off += LEVEL_SPAN[level]!;
    }
  }

  /** Index of `gpa` in the table at `level` (the root has 11 index bits). */
  private static index(gpa: number, level: number): number {
    const vpn = Math.floor(gpa / LEVEL_SPAN[level]!);
    return level === 2 ? vpn % 2048 : vpn % 512;
  }

  private setLeaf(gpa: number, hpa: number, level: number, perm: number): void {
    let table = this.root;
    for (let l = 2; l > level; l--) {
      const pteAddr = table + GuestPageTable.index(gpa, l) * 8;
      const pte = this.readPte(pteAddr);
      if ((pte & 1n) === 0n) {
        const next = this.frames.alloc(PAGE, PAGE);
        // Non-leaf: V only (A, D, U must be zero, priv spec §4.3.1 / §8.5.1).
        this.writePte(pteAddr, (BigInt(next / PAGE) << 10n) | BigInt(PTE_V));
        table = next;
      } else if ((pte & BigInt(PTE_RWX)) !== 0n) {
        throw new Error(`GuestPageTable: 0x${gpa.toString(16)} is already mapped by a ${LEVEL_SPAN[l]! / 1024} KiB page`);
      } else {
        table = Number(pte >> 10n) * PAGE;
      }
    }
    const pteAddr = table + GuestPageTable.index(gpa, level) * 8;
    if ((this.readPte(pteAddr) & 1n) !== 0n) throw new Error(`GuestPageTable: 0x${gpa.toString(16)} is already mapped`);
    const flags = PTE_V | perm | PTE_U | PTE_A | PTE_D;
    this.writePte(pteAddr, (BigInt(hpa / PAGE) << 10n) | BigInt(flags));
  }

  /** Software walk (no side effects): the leaf mapping `gpa`, or null. */
  walk(gpa: number): GptLeaf | null {
    if (gpa < 0 || gpa >= SV39X4_GPA_LIMIT) return null;
    let table = this.root;
    for (let level = 2; level >= 0; level--) {
      const pteAddr = table + GuestPageTable.index(gpa, level) * 8;
      const pte = this.readPte(pteAddr);
      if ((pte & 1n) === 0n) return null;
      const ppn = Number((pte >> 10n) & 0xfffffffffffn);
      if ((pte & BigInt(PTE_RWX)) !== 0n) {
        const span = LEVEL_SPAN[level]!;
        return { hpa: ppn * PAGE + (gpa % span), flags: Number(pte & 0xffn), level, pteAddr };
      }
      table = ppn * PAGE;
    }
    return null;
  }

  /** Host-physical address of `gpa`, or null when unmapped. */
  translate(gpa: number): number | null {
    return this.walk(gpa)?.hpa ?? null;
  }

  private readPte(pa: number): bigint {
    const b = this.mem.readRam(pa, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }
  private writePte(pa: number, v: bigint): void {
    this.scratch.setBigUint64(0, v, true);
    this.mem.writeRam(pa, new Uint8Array(this.scratch.buffer.slice(0)));
  }
}
