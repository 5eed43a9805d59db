/**
 * Guest image loading: ELF64 parsing (RISC-V only), symbol tables and a symbolizer.
 *
 * Loading follows QEMU's load_elf (include/hw/elf_ops.h) as used by the RISC-V boards:
 * every PT_LOAD segment is placed at its *physical* address p_paddr; p_filesz bytes come
 * from the file and the rest of p_memsz is zero-filled by the caller. The entry point is
 * e_entry as written in the header (see `entryPhysical` for images linked with vaddr !=
 * paddr, such as vmlinux).
 *
 * Every malformed input throws ImageError with a one-line message suitable for the CLI.
 */

/** A guest image (ELF, DTB, ...) that cannot be used; the message is one line. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface ElfSegment {
  /** Load (physical) address. */
  paddr: bigint;
  vaddr: bigint;
  /** The p_filesz bytes from the file: a view into the buffer given to parseElf (not a copy). */
  data: Uint8Array;
  /** Size in memory; bytes beyond data.length are zero (.bss). */
  memsz: bigint;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  type: 'func' | 'object' | 'other';
}

export interface ElfImage {
  entry: bigint;
  segments: ElfSegment[];
  symbols: ElfSymbol[];
  isRiscv64: true;
}

const EM_RISCV = 243;
const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const U64_MAX = (1n << 64n) - 1n;

/** Does the buffer start with the ELF magic (\x7fELF)? */
export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * Parse a little-endian ELF64 RISC-V executable (ET_EXEC or ET_DYN, e.g. OpenSBI's PIE
 * fw_*.elf). Returns the entry point, the PT_LOAD segments (by p_paddr, in program-header
 * order, empty ones skipped) and the .symtab symbols (defined, non-absolute FUNC/OBJECT/
 * NOTYPE/IFUNC symbols; mapping symbols `$x`/`$d…` and `.L` labels are left out). A
 * stripped image simply has no symbols.
 */
export function parseElf(buf: Uint8Array): ElfImage {
  if (!isElf(buf)) throw new ImageError('not an ELF file (bad magic)');
  if (buf.length < 16) throw new ImageError('truncated ELF header');
  const cls = buf[4];
  if (cls === 1) throw new ImageError('32-bit ELF: hvtrace runs RV64 images only');
  if (cls !== 2) throw new ImageError(`bad ELF class ${cls}`);
  const data = buf[5];
  if (data === 2) throw new ImageError('big-endian ELF: hvtrace runs little-endian RISC-V images only');
  if (data !== 1) throw new ImageError(`bad ELF data encoding ${data}`);
  if (buf.length < EHDR_SIZE) throw new ImageError(`truncated ELF header (${buf.length} bytes)`);

  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);

  const machine = u16(18);
  if (machine !== EM_RISCV) throw new ImageError(`not a RISC-V ELF (e_machine ${machine})`);
  const type = u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ImageError(`ELF type ${type} is not loadable (need an executable, ET_EXEC or ET_DYN)`);
  }
  const entry = u64(24);
  const phoff = u64(32);
  const shoff = u64(40);
  const phentsize = u16(54);
  let phnum = u16(56);
  const shentsize = u16(58);
  let shnum = u16(60);
  let shstrndx = u16(62);
  const fileLen = BigInt(buf.length);

  /** Checks [off, off+len) lies in the file and returns off as a number. */
  const inFile = (off: bigint, len: bigint, what: string): number => {
    if (off > fileLen || len > fileLen - off) throw new ImageError(`ELF ${what} extends beyond the end of the file`);
    return Number(off);
  };

  // Section header 0 carries the real counts when they overflow the 16-bit fields.
  let sh0: number | undefined;
  if (shoff !== 0n) {
    if (shentsize !== SHDR_SIZE) throw new ImageError(`bad ELF section header size ${shentsize}`);
    sh0 = inFile(shoff, BigInt(SHDR_SIZE), 'section header table');
    if (shnum === 0) {
      const n = u64(sh0 + 32);
      if (n > 0xffff_ffffn) throw new ImageError('bad ELF section count');
      shnum = Number(n);
    }
    if (shstrndx === SHN_XINDEX) shstrndx = u32(sh0 + 40);
    if (phnum === PN_XNUM) phnum = u32(sh0 + 44);
  }

  // ---- program headers
  if (phnum === 0) throw new ImageError('ELF has no program headers (nothing to load)');
  if (phentsize !== PHDR_SIZE) throw new ImageError(`bad ELF program header size ${phentsize}`);
  const ph = inFile(phoff, BigInt(phnum) * BigInt(PHDR_SIZE), 'program header table');
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = ph + i * PHDR_SIZE;
    if (u32(p) !== PT_LOAD) continue;
    const offset = u64(p + 8);
    const vaddr = u64(p + 16);
    const paddr = u64(p + 24);
    const filesz = u64(p + 32);
    const memsz = u64(p + 40);
    if (filesz > memsz) throw new ImageError(`ELF segment ${i}: file size 0x${filesz.toString(16)} exceeds memory size 0x${memsz.toString(16)}`);
    if (memsz === 0n) continue;
    if (paddr + memsz - 1n > U64_MAX) throw new ImageError(`ELF segment ${i} wraps around the address space`);
    // (A pure .bss segment's p_offset is not checked: no bytes are read from the file.)
    const off = filesz === 0n ? 0 : inFile(offset, filesz, `segment ${i}`);
    segments.push({ paddr, vaddr, data: buf.subarray(off, off + Number(filesz)), memsz });
  }
  if (segments.length === 0) throw new ImageError('ELF has no loadable (PT_LOAD) segments');

  // ---- symbols
  const symbols: ElfSymbol[] = [];
  if (sh0 !== undefined && shnum > 0) {
    const sh = inFile(shoff, BigInt(shnum) * BigInt(SHDR_SIZE), 'section header table');
    const dec = new TextDecoder('utf-8');
    for (let s = 0; s < shnum; s++) {
      const h = sh + s * SHDR_SIZE;
      if (u32(h + 4) !== SHT_SYMTAB) continue;
      const symOff = u64(h + 24);
      const symSize = u64(h + 32);
      const link = u32(h + 40);
      const entsize = u64(h + 56);
      if (entsize !== BigInt(SYM_SIZE)) throw new ImageError(`bad ELF symbol entry size ${entsize}`);
      if (link >= shnum) throw new ImageError(`ELF symbol table links to missing section ${link}`);
      const symStart = inFile(symOff, symSize, 'symbol table');
      const l = sh + link * SHDR_SIZE;
      const strStart = inFile(u64(l + 24), u64(l + 32), 'string table');
      const strEnd = strStart + Number(u64(l + 32));
      const count = Number(symSize / BigInt(SYM_SIZE));
      for (let k = 1; k < count; k++) {
        const e = symStart + k * SYM_SIZE;
        const info = buf[e + 4]!;
        const shndx = u16(e + 6);
        const stt = info & 0xf;
        if (shndx === SHN_UNDEF || shndx === SHN_ABS || (shndx >= SHN_LORESERVE && shndx !== SHN_XINDEX)) continue;
        let kind: ElfSymbol['type'];
        if (stt === STT_FUNC || stt === STT_GNU_IFUNC) kind = 'func';
        else if (stt === STT_OBJECT) kind = 'object';
        else if (stt === STT_NOTYPE) kind = 'other';
        else continue; // SECTION, FILE, TLS (offsets, not addresses), COMMON
        const nameOff = u32(e);
        if (nameOff >= strEnd - strStart) throw new ImageError(`ELF symbol ${k} has a name outside the string table`);
        let end = strStart + nameOff;
        while (end < strEnd && buf[end] !== 0) end++;
        if (end === strEnd) throw new ImageError(`ELF symbol ${k} has an unterminated name`);
        const name = dec.decode(buf.subarray(strStart + nameOff, end));
        if (name === '' || name.startsWith('$') || name.startsWith('.L')) continue;
        symbols.push({ name, value: u64(e + 8), size: u64(e + 16), type: kind });
      }
    }
  }

  return { entry, segments, symbols, isRiscv64: true };
}

/**
 * The physical address of the entry point: e_entry mapped through the PT_LOAD segment whose
 * virtual range contains it (e_entry itself when no segment does, or vaddr == paddr).
 */
export function entryPhysical(image: Pick<ElfImage, 'entry' | 'segments'>): bigint {
  for (const s of image.segments) {
    if (image.entry >= s.vaddr && image.entry - s.vaddr < s.memsz) return s.paddr + (image.entry - s.vaddr);
  }
  return image.entry;
}

/** The first symbol named `name` (symbol-table order), or undefined. */
export function findSymbol(symbols: readonly ElfSymbol[], name: string): ElfSymbol | undefined {
  for (const s of symbols) if (s.name === name) return s;
  return undefined;
}

const TYPE_RANK: Record<ElfSymbol['type'], number> = { func: 0, object: 1, other: 2 };

interface SymRange {
  start: bigint;
  end: bigint;
  name: string;
}

/**
 * Build an address -> "name" / "name+0x1c" lookup.
 *
 * 1. Sized symbols (st_size > 0) cover [value, value + size). When several contain the
 *    address, the one that starts last (the innermost) wins.
 * 2. Otherwise a zero-sized label (typical of hand-written assembly: `_start`,
 *    `trap_vector`, linker-script symbols) covers from its address up to the next symbol
 *    address of any kind; the last label in the image covers only its own address.
 * Among symbols at the same address: func before object before other, then the earliest in
 * the symbol table (deterministic). Returns undefined for addresses covered by nothing.
 */
export function symbolizer(symbols: readonly ElfSymbol[]): (addr: bigint) => string | undefined {
  // Stable order: by address, then preference, then original index.
  const indexed = symbols.map((s, i) => ({ s, i }));
  indexed.sort((a, b) => {
    if (a.s.value !== b.s.value) return a.s.value < b.s.value ? -1 : 1;
    const r = TYPE_RANK[a.s.type] - TYPE_RANK[b.s.type];
    if (r !== 0) return r;
    return a.i - b.i;
  });

  const sized: SymRange[] = [];
  const labels: SymRange[] = [];
  const starts: bigint[] = []; // distinct symbol addresses, ascending
  for (const { s } of indexed) {
    if (starts.length === 0 || starts[starts.length - 1] !== s.value) starts.push(s.value);
    if (s.size > 0n) {
      // Same start as the previous sized symbol: keep the preferred (first) one.
      const prev = sized[sized.length - 1];
      if (prev && prev.start === s.value) continue;
      sized.push({ start: s.value, end: s.value + s.size, name: s.name });
    } else {
      const prev = labels[labels.length - 1];
      if (prev && prev.start === s.value) continue;
      labels.push({ start: s.value, end: s.value, name: s.name });
    }
  }
  // Label extents: up to the next symbol address.
  for (const l of labels) {
    const j = upperBound(starts, l.start);
    l.end = j < starts.length ? starts[j]! : l.start + 1n;
  }
  // Running maximum of sized ends, to bound the backwards scan for containers.
  const maxEnd: bigint[] = [];
  let m = 0n;
  for (const r of sized) {
    if (r.end > m) m = r.end;
    maxEnd.push(m);
  }
  const sizedStarts = sized.map((r) => r.start);
  const labelStarts = labels.map((r) => r.start);

  const fmt = (r: SymRange, addr: bigint) => (addr === r.start ? r.name : `${r.name}+0x${(addr - r.start).toString(16)}`);

  return (addr: bigint): string | undefined => {
    // 1. innermost sized symbol containing addr
    for (let i = upperBound(sizedStarts, addr) - 1; i >= 0 && maxEnd[i]! > addr; i--) {
      const r = sized[i]!;
      if (addr < r.end) return fmt(r, addr);
    }
    // 2. label
    const j = upperBound(labelStarts, addr) - 1;
    if (j >= 0) {
      const r = labels[j]!;
      if (addr < r.end) return fmt(r, addr);
    }
    return undefined;
  };
}

/** Index of the first element > x in an ascending array. */
function upperBound(a: readonly bigint[], x: bigint): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
