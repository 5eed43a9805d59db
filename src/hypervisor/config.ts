/**
 * Guest configuration and the memory map of each VM (Hypercraft's `setup_gpm`), planned before
 * anything is written so that the machine can check it against host RAM and the other images.
 *
 * Guest memory map (guest-physical):
 *   RAM        gpaBase .. gpaBase + memSize   -> host RAM at hpaBase (VM k after VM k-1)
 *              gpaBase = 0x9000_0000 (GPA = HPA, as Hypercraft) for raw images, or
 *              0x8000_0000 for ELF images linked for the QEMU virt board (the bundled guests,
 *              at 0x8020_0000): they run unchanged at their link addresses
 *   DTB        at the start of guest RAM (Hypercraft), or at the top of it when the image
 *              starts there
 *   kernel     raw: gpaBase + 2 MiB; ELF: its physical segment addresses
 *   initrd     as QEMU: kernel + min(memSize / 2, 128 MiB)
 *   UART, SiFive test device: identity-mapped (passed through)
 *   PLIC       priority/pending/enable identity-mapped, context registers trapped (vPLIC)
 *   or, with --aia aplic-imsic (no PLIC):
 *   APLIC      the S-level domain at 0x0d00_0000, trapped (vaplic.ts)
 *   IMSIC      S-level files at 0x2800_0000, one page per vCPU, mapped onto the vCPUs' guest
 *              interrupt files
 * No CLINT: the guest's timer is SBI TIME (or Sstc), its IPIs SBI IPI.
 */
import { parseElf, isElf, ImageError, type ElfImage } from '../image/loader.js';
import { buildVirtDtb, parseDtb, encodeDtb } from '../devices/fdt.js';
import {
  GUEST_HPA_BASE, GUEST_GPA_DEFAULT, GUEST_GPA_VIRT, GUEST_KERNEL_OFFSET, MAX_VCPUS, MIN_GUEST_MEM, MAX_GUEST_MEM,
} from './layout.js';

/** An image as the machine configuration carries it. */
export interface GuestImage {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** One guest of the built-in hypervisor (`--guest IMAGE --vcpus N --guest-mem SIZE ...`). */
export interface GuestConfig {
  readonly image: GuestImage;
  /** vCPUs, 1..8. */
  readonly vcpus: number;
  /** Guest RAM in bytes (multiple of 2 MiB). */
  readonly memSize: number;
  /** chosen/bootargs of the guest's device tree. */
  readonly append?: string;
  readonly initrd?: GuestImage;
}

/** A byte range the hypervisor writes at boot (for the machine's image list). */
export interface PlannedRegion {
  /** `guest<k>`, `guest<k>-initrd`, `guest<k>-dtb` (k = VM index; the images table uses the first two). */
  readonly role: `guest${number}` | `guest${number}-initrd` | `guest${number}-dtb`;
  readonly name: string;
  /** Host-physical. */
  readonly base: number;
  readonly size: number;
  /** Guest-physical address of base. */
  readonly gpa: number;
}

export interface GuestPlan {
  readonly index: number;
  readonly config: GuestConfig;
  readonly gpaBase: number;
  readonly hpaBase: number;
  readonly memSize: number;
  /** Guest-physical entry point of vCPU 0. */
  readonly entry: number;
  readonly dtbGpa: number;
  readonly dtb: Uint8Array;
  readonly elf: ElfImage | null;
  /** What to copy where (guest-physical), in order. */
  readonly loads: readonly { gpa: number; data: Uint8Array }[];
  readonly regions: readonly PlannedRegion[];
}

const MiB = 1024 * 1024;

/** The guest's ISA string: the host's without H (no nested virtualization) and Smaia (no M-mode). */
export function guestIsa(hostIsa: string): string {
  const [base, ...rest] = hostIsa.split('_');
  const m = /^(rv64)([a-z]*)$/.exec(base ?? '');
  const letters = m ? m[2]!.replace('h', '') : 'imafdc';
  return [`rv64${letters}`, ...rest.filter((e) => e !== 'h' && e !== 'smaia')].join('_');
}

export function validateGuest(g: GuestConfig): void {
  if (!Number.isInteger(g.vcpus) || g.vcpus < 1 || g.vcpus > MAX_VCPUS) {
    throw new ImageError(`--vcpus must be between 1 and ${MAX_VCPUS} (got ${g.vcpus})`);
  }
  if (!Number.isInteger(g.memSize) || g.memSize < MIN_GUEST_MEM || g.memSize > MAX_GUEST_MEM || g.memSize % (2 * MiB) !== 0) {
    throw new ImageError(`--guest-mem must be a multiple of 2 MiB between ${MIN_GUEST_MEM / MiB} MiB and ${MAX_GUEST_MEM / MiB} MiB (got ${g.memSize} bytes)`);
  }
  if (g.image.bytes.length === 0) throw new ImageError(`guest ${g.image.name}: empty image`);
}

/** Plan the memory map of every guest; throws ImageError with a one-line message. */
export function planGuests(guests: readonly GuestConfig[], hostIsa: string, aia = false): GuestPlan[] {
  let hpa = GUEST_HPA_BASE;
  return guests.map((g, index) => {
    validateGuest(g);
    const p = planGuest(g, index, hpa, hostIsa, aia);
    hpa += g.memSize;
    return p;
  });
}

function planGuest(g: GuestConfig, index: number, hpaBase: number, hostIsa: string, aia: boolean): GuestPlan {
  const name = g.image.name;
  const size = g.memSize;
  let elf: ElfImage | null = null;
  let gpaBase = GUEST_GPA_DEFAULT;
  const loads: { gpa: number; data: Uint8Array }[] = [];
  let lo: number, hi: number, entry: number;
  if (isElf(g.image.bytes)) {
    try {
      elf = parseElf(g.image.bytes);
    } catch (e) {
      throw new ImageError(`guest ${name}: ${(e as Error).message}`);
    }
    const segs = elf.segments.filter((s) => s.memsz > 0n);
    if (segs.length === 0) throw new ImageError(`guest ${name}: ELF has no loadable segments`);
    lo = Math.min(...segs.map((s) => Number(s.paddr)));
    hi = Math.max(...segs.map((s) => Number(s.paddr + s.memsz)));
    const fits = (base: number) => lo >= base && hi <= base + size;
    if (fits(GUEST_GPA_VIRT)) gpaBase = GUEST_GPA_VIRT;
    else if (fits(GUEST_GPA_DEFAULT)) gpaBase = GUEST_GPA_DEFAULT;
    else {
      throw new ImageError(`guest ${name}: segments at 0x${lo.toString(16)}-0x${hi.toString(16)} do not fit in guest RAM at 0x${GUEST_GPA_VIRT.toString(16)} or 0x${GUEST_GPA_DEFAULT.toString(16)} (${size / MiB} MiB); try a larger --guest-mem`);
    }
    for (const s of segs) loads.push({ gpa: Number(s.paddr), data: s.data });
    entry = Number(elf.entry);
    for (const s of segs) {
      if (elf.entry >= s.vaddr && elf.entry < s.vaddr + s.memsz) entry = Number(s.paddr + (elf.entry - s.vaddr));
    }
  } else {
    lo = gpaBase + GUEST_KERNEL_OFFSET;
    hi = lo + g.image.bytes.length;
    if (hi > gpaBase + size) throw new ImageError(`guest ${name}: ${g.image.bytes.length} bytes do not fit in ${size / MiB} MiB of guest RAM; try a larger --guest-mem`);
    loads.push({ gpa: lo, data: g.image.bytes });
    entry = lo;
  }
  const regions: PlannedRegion[] = [];
  const toHpa = (gpa: number) => hpaBase + (gpa - gpaBase);
  regions.push({ role: `guest${index}`, name, base: toHpa(lo), size: hi - lo, gpa: lo });
  let initrd: { start: bigint; end: bigint } | undefined;
  if (g.initrd) {
    // QEMU 7.2 riscv_load_initrd: kernel + min(RAM / 2, 128 MiB).
    const start = lo + Math.min(size / 2, 128 * MiB);
    const end = start + g.initrd.bytes.length;
    if (end > gpaBase + size || start < hi) throw new ImageError(`guest initrd ${g.initrd.name}: ${g.initrd.bytes.length} bytes do not fit in guest RAM after the kernel; try a larger --guest-mem`);
    loads.push({ gpa: start, data: g.initrd.bytes });
    regions.push({ role: `guest${index}-initrd`, name: g.initrd.name, base: toHpa(start), size: end - start, gpa: start });
    initrd = { start: BigInt(start), end: BigInt(end) };
  }
  const dtb = guestDtb(g, gpaBase, hostIsa, initrd, aia);
  // Hypercraft puts the DTB at the start of guest RAM; when the image starts there, use the top
  // (2 MiB-aligned, as QEMU's riscv_compute_fdt_addr).
  let dtbGpa = gpaBase;
  if (lo < gpaBase + dtb.length || (initrd && Number(initrd.start) < gpaBase + dtb.length)) {
    dtbGpa = Math.floor((gpaBase + size - dtb.length) / (2 * MiB)) * (2 * MiB);
    if (dtbGpa < hi || (initrd && dtbGpa < Number(initrd.end))) throw new ImageError(`guest ${name}: no room for the guest device tree; try a larger --guest-mem`);
  }
  loads.push({ gpa: dtbGpa, data: dtb });
  regions.push({ role: `guest${index}-dtb`, name: '(generated)', base: toHpa(dtbGpa), size: dtb.length, gpa: dtbGpa });
  return { index, config: g, gpaBase, hpaBase, memSize: size, entry, dtbGpa, dtb, elf, loads, regions };
}

/**
 * The guest's device tree: the QEMU virt tree (src/devices/fdt.ts) with the guest's vCPUs,
 * memory, bootargs and initrd, and without the CLINT (the guest has no M-mode: its timer is
 * SBI TIME or Sstc, its IPIs SBI IPI). With `aia` (--aia aplic-imsic on the host) the tree QEMU
 * virt gives for aia=aplic-imsic, without the M-level APLIC domain and IMSIC files (the guest
 * has no M-mode): the S-level APLIC in MSI mode and one S-level IMSIC file per vCPU, without
 * guest files of its own.
 */
export function guestDtb(g: GuestConfig, gpaBase: number, hostIsa: string, initrd?: { start: bigint; end: bigint }, aia = false): Uint8Array {
  const blob = buildVirtDtb({
    numHarts: g.vcpus,
    ramBase: BigInt(gpaBase),
    ramSize: BigInt(g.memSize),
    isa: guestIsa(hostIsa),
    mmuType: 'riscv,sv48',
    bootargs: g.append,
    initrd,
    ...(aia ? { aia: { mode: 'aplic-imsic' as const, guests: 0 } } : {}),
  });
  const tree = parseDtb(blob);
  const soc = tree.root.children.find((n) => n.name === 'soc');
  const mLevel = ['clint@', 'aplic@c000000', 'imsics@24000000'];
  if (soc) soc.children = soc.children.filter((n) => !mLevel.some((p) => n.name.startsWith(p)));
  return encodeDtb(tree);
}
