/**
 * Symbol sources beyond the ELF images a machine loads: Linux `System.map` files (`nm -n`
 * output: `ADDRESS TYPE NAME` per line) and ELF files given with `--symbols`, plus the
 * System.map found next to a raw kernel Image, or next to a raw guest Image of the built-in
 * hypervisor (guest symbols name that VM's addresses only: SymbolSource.vm, HOST_SPACE).
 *
 * A System.map has link addresses: for a Linux Image, the kernel's virtual addresses
 * (0xffffffff80000000 + offset on riscv64), which are the pcs once the MMU is on. The code that
 * runs before (`_start`, head.S) runs at its load address; a System.map that describes the raw
 * kernel image the machine loaded (its `_end - _start` equals the Image header's image_size) also
 * names those physical pcs (`SymbolSource.alias`).
 *
 * Errors are ImageError with a one-line message.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ImageError, isElf, parseElf, symbolizer, type ElfSymbol } from './loader.js';

export interface SymbolAlias {
  /** Physical load address of the image. */
  readonly phys: bigint;
  /** The link address the image's first byte has in the symbol file (`_start`). */
  readonly link: bigint;
  readonly size: bigint;
}

export interface SymbolSource {
  /** For messages: `System.map guests/build/linux/System.map`, `ELF fw.elf`. */
  readonly name: string;
  readonly format: 'elf' | 'system.map';
  readonly symbols: readonly ElfSymbol[];
  /** Physical addresses [phys, phys + size) run the code linked at [link, link + size). */
  readonly alias?: SymbolAlias;
  /**
   * The source names the addresses of guest VM `vm` of the built-in hypervisor (its image, or a
   * System.map / vmlinux that describes it): guest-virtual and guest-physical pcs, seen with
   * V = 1. Absent: any address.
   */
  readonly vm?: number;
}

/**
 * The address space a pc is in, for lookups that know it: HOST_SPACE (V = 0: firmware,
 * hypervisor, a bare kernel) or k >= 0 (V = 1 in guest VM k). Lookups without a space use every
 * source.
 */
export const HOST_SPACE = -1;

/** A symbol file read from disk (`--symbols FILE`). */
export interface SymbolFile extends SymbolSource {
  readonly path: string;
  /** sha256 (hex) and size of the file's bytes, when read from them. */
  readonly sha256?: string;
  readonly size?: number;
  /**
   * A System.map's text (latin1) as read: parseSystemMap(text) gives `symbols` (or the symbols
   * when `symbols` is empty: symbolsToStore's System.map next to an image, checked, not parsed).
   */
  readonly text?: string;
}

/**
 * A symbol table stored in a trace (schemas/trace.sql `symbols`): the System.map found next to a
 * raw kernel / guest Image at record time, or a `record --symbols` file. Readers use it wherever
 * they run; the physical alias is recomputed from the image bytes stored in the trace.
 */
export interface StoredSymbols {
  /** The image it describes: 'kernel', 'guest<k>'; null: a `record --symbols` file (any image). */
  readonly role: string | null;
  /** The path it was read from when recording. */
  readonly name: string;
  readonly format: 'elf' | 'system.map';
  /** Of the file it was read from. */
  readonly sha256: string;
  readonly size: number;
  readonly symbols: readonly ElfSymbol[];
  /**
   * The System.map's text when the symbols come from one (parseSystemMap(mapText) gives them):
   * what ThreadedTraceWriter sends its thread in place of the list, a string being far cheaper
   * to copy there than ~15,000 symbol objects (storedSymbolList). symbolsToStore leaves `symbols`
   * empty for the System.map next to an image: the writer parses it.
   */
  readonly mapText?: string;
}

/**
 * A stored table's symbols: its list, or (an empty list: not parsed at record time, or sent to a
 * writer thread without it) the list parsed from its mapText.
 */
export function storedSymbolList(s: StoredSymbols): readonly ElfSymbol[] {
  return s.symbols.length === 0 && s.mapText !== undefined ? parseSystemMap(s.mapText, s.name) : s.symbols;
}

const TYPE_CODE: Record<ElfSymbol['type'], string> = { func: 'f', object: 'o', other: 'x' };
const CODE_TYPE: Record<string, ElfSymbol['type']> = { f: 'func', o: 'object', x: 'other' };

/**
 * The stored text of a symbol list (before compression): one `VALUE SIZE T NAME` line per symbol,
 * VALUE and SIZE in hex, T `f` (function), `o` (object) or `x` (other).
 */
export function symbolListText(symbols: readonly ElfSymbol[]): string {
  let out = '';
  for (const s of symbols) out += `${s.value.toString(16)} ${s.size.toString(16)} ${TYPE_CODE[s.type]} ${s.name}\n`;
  return out;
}

/** The inverse of symbolListText; throws ImageError on a malformed line. */
export function parseSymbolListText(text: string, what: string): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  let i = 0;
  for (const line of text.split('\n')) {
    i++;
    if (line === '') continue;
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    const c = line.indexOf(' ', b + 1);
    const type = CODE_TYPE[line.slice(b + 1, c)];
    if (a <= 0 || b <= a || c <= b || !type) throw new ImageError(`${what}: line ${i} is corrupt`);
    out.push({ value: BigInt(`0x${line.slice(0, a)}`), size: BigInt(`0x${line.slice(a + 1, b)}`), type, name: line.slice(c + 1) });
  }
  return out;
}

/**
 * The symbol tables to store in a trace at record time: the System.map next to a raw RISC-V
 * Linux kernel / guest Image when it describes the image (as symbolSourcesFor finds it), and the
 * `files` given with `record --symbols`. The ELF images' own symbols are not repeated: they are
 * in the image bytes the trace stores. `notes`: a System.map next to an image that does not fit.
 */
export function symbolsToStore(cfg: {
  kernel?: { name: string; bytes: Uint8Array };
  guests?: readonly { image: { name: string; bytes: Uint8Array } }[];
}, files: readonly SymbolFile[] = []): { stored: StoredSymbols[]; notes: string[] } {
  const notes: string[] = [];
  const stored: StoredSymbols[] = [];
  const add = (role: string | null, f: SymbolSource & { path?: string; sha256?: string; size?: number; text?: string }, name: string): void => {
    stored.push({ role, name, format: f.format, sha256: f.sha256 ?? '', size: f.size ?? 0, symbols: f.symbols, ...(f.text !== undefined ? { mapText: f.text } : {}) });
  };
  for (const f of files) add(null, f, f.path);
  const covers = (k: { bytes: Uint8Array }): boolean => files.some((f) => kernelAlias(f.symbols, { bytes: k.bytes, base: 0 }) !== null);
  if (cfg.kernel && !covers(cfg.kernel)) {
    const m = systemMapNextTo({ name: cfg.kernel.name, bytes: cfg.kernel.bytes, base: 0 }, 'kernel', notes, true);
    if (m) add('kernel', m, m.path);
  }
  (cfg.guests ?? []).forEach((g, vm) => {
    if (covers(g.image)) return;
    const m = systemMapNextTo({ name: g.image.name, bytes: g.image.bytes, base: 0 }, 'guest', notes, true);
    if (m) add(`guest${vm}`, m, m.path);
  });
  return { stored, notes };
}

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const MAP_LINE = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?-])\s+(\S+)/;

/**
 * Parse the text of a System.map / `nm` listing. Undefined (`U`, `w`, `v`), absolute (`A`, `a`)
 * and debugging (`N`, `-`) entries are left out, like the ELF loader leaves out SHN_UNDEF / SHN_ABS;
 * so are compiler-local labels (`.L…`, `$x`). Text (`T`, `t`, `W`) becomes 'func', data / bss /
 * read-only (`D d B b R r G g S s V`) 'object'. System.map has no sizes: every symbol is a label
 * covering up to the next address. Throws ImageError naming the first malformed line.
 */
export function parseSystemMap(text: string, what = 'System.map'): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const m = MAP_LINE.exec(line);
    if (!m) {
      // `nm` prints undefined symbols without an address: "                 U name".
      if (/^[Uwv]\s+\S+$/.test(line)) continue;
      throw mapLineError(what, i + 1, line);
    }
    const t = m[2]!;
    const name = m[3]!;
    if (!mapKeeps(t, name)) continue;
    const type: ElfSymbol['type'] = 'TtWw'.includes(t) ? 'func' : 'DdBbRrGgSsVv'.includes(t) ? 'object' : 'other';
    out.push({ name, value: BigInt(`0x${m[1]}`), size: 0n, type });
  }
  return out;
}

/** Whether a System.map line of type `t` naming `name` is a symbol kept (see parseSystemMap). */
function mapKeeps(t: string, name: string): boolean {
  return !'AaUwvN-?'.includes(t) && !name.startsWith('$') && !name.startsWith('.L');
}

/** parseSystemMap's error for line `n` (1-based) of a System.map. */
function mapLineError(what: string, n: number, line: string): ImageError {
  return new ImageError(`${what}: line ${n} is not "ADDRESS TYPE NAME": ${JSON.stringify(line.slice(0, 60))}`);
}

/** mapLineError for the line that starts at offset `at` of `text`. */
function mapLineErrorAt(text: string, what: string, at: number): ImageError {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) n++;
  let le = text.indexOf('\n', at);
  if (le < 0) le = text.length;
  return mapLineError(what, n, text.slice(at, le).trim());
}

/**
 * One line of a System.map as parseSystemMap reads it (its trimmed line against MAP_LINE, else the
 * `nm` undefined-symbol line, else empty), on the untrimmed text: [^\S\n] is trim's white space
 * within a line. Sticky: matched line by line from the start of each; no match = a malformed line.
 */
const MAP_TEXT_LINE = /[^\S\n]*(?:([0-9a-fA-F]{1,16})[^\S\n]+([A-Za-z?-])[^\S\n]+(\S+)[^\n]*|[Uwv][^\S\n]+\S+[^\S\n]*|)(?:\n|$)/y;

/**
 * What parseSystemMap(text, what) would give, without building the list: how many symbols, and
 * their kernelLinkRange. Throws the same ImageError for the same line. With `listText`, also
 * symbolListText of the list (built from the text: no BigInt, no objects).
 */
export function scanSystemMap(text: string, what = 'System.map', listText = false): { count: number; range: LinkRange | null; listText?: string } {
  let count = 0;
  let start: bigint | undefined;
  let end: bigint | undefined;
  const out: string[] = [];
  const re = new RegExp(MAP_TEXT_LINE);
  const n = text.length;
  for (let pos = 0; pos < n || pos === 0;) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) throw mapLineErrorAt(text, what, pos);
    pos = re.lastIndex;
    if (m[0].length === 0) break; // the end of the text
    const hex = m[1];
    if (hex === undefined) continue; // empty, or an undefined symbol
    const t = m[2]!;
    const name = m[3]!;
    if (!mapKeeps(t, name)) continue;
    count++;
    if (listText) {
      // symbolListText's line: VALUE in lower-case hex without leading zeros, SIZE 0 (a System.map has none).
      let h = 0;
      while (h < hex.length - 1 && hex.charCodeAt(h) === 48) h++;
      const code = 'TtW'.includes(t) ? 'f' : 'DdBbRrGgSsVv'.includes(t) ? 'o' : 'x';
      out.push(`${(h === 0 ? hex : hex.slice(h)).toLowerCase()} 0 ${code} ${name}\n`);
    }
    if (start === undefined && name === '_start') start = BigInt(`0x${hex}`);
    else if (end === undefined && name === '_end') end = BigInt(`0x${hex}`);
  }
  const range = start !== undefined && end !== undefined && end > start ? { start, end } : null;
  return listText ? { count, range, listText: out.join('') } : { count, range };
}

/** The first malformed line of a System.map (MAP_TEXT_LINE's three forms, negated), after the \n before it. */
const MAP_BAD_LINE = /(?:^|\n)(?![^\S\n]*(?:[0-9a-fA-F]{1,16}[^\S\n]+[A-Za-z?-][^\S\n]+\S|[Uwv][^\S\n]+\S+[^\S\n]*(?:\n|$)|(?:\n|$)))/;
/** The lines of `_start` and `_end` (kernelLinkRange's names). */
const MAP_START_END = /(?:^|\n)[^\S\n]*([0-9a-fA-F]{1,16})[^\S\n]+([A-Za-z?-])[^\S\n]+(_start|_end)(?=\s|$)/g;

/**
 * The check of a System.map that storing it needs, as two regular-expression searches (~3 ms for
 * Linux's, against ~40 ms or more for a parse on a cold thread): parseSystemMap's error for the
 * same line if there is one; `usable`: whether it has symbols; `range`: their kernelLinkRange.
 */
export function checkSystemMap(text: string, what = 'System.map'): { usable: boolean; range: LinkRange | null } {
  const bad = MAP_BAD_LINE.exec(text);
  if (bad !== null) throw mapLineErrorAt(text, what, bad.index + bad[0].length);
  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const m of text.matchAll(MAP_START_END)) {
    if (!mapKeeps(m[2]!, m[3]!)) continue;
    if (m[3] === '_start') start ??= BigInt(`0x${m[1]}`);
    else end ??= BigInt(`0x${m[1]}`);
  }
  const range = start !== undefined && end !== undefined && end > start ? { start, end } : null;
  // A usable _start is a symbol; without the range, count them.
  return { usable: start !== undefined || scanSystemMap(text, what).count > 0, range };
}

/**
 * A stored table's symbol count and symbolListText, from its mapText when its list was not
 * parsed (the same text as symbolListText(storedSymbolList(s)), without the ~15,000 objects).
 */
export function storedSymbolListText(s: StoredSymbols): { count: number; text: string } {
  if (s.symbols.length === 0 && s.mapText !== undefined) {
    const r = scanSystemMap(s.mapText, s.name, true);
    return { count: r.count, text: r.listText! };
  }
  return { count: s.symbols.length, text: symbolListText(s.symbols) };
}

/** Does the text look like a System.map (its first non-empty line is `ADDRESS TYPE NAME`)? */
export function looksLikeSystemMap(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  for (const l of head.split('\n')) {
    if (l.trim() === '') continue;
    return MAP_LINE.test(l.trim()) && /^[0-9a-fA-F]{8,16}\s/.test(l.trim());
  }
  return false;
}

/**
 * The bytes as a latin1 string, read in place: Buffer.from(a Uint8Array) would copy them first.
 * With the file's bytes read as a view (readSymbolBytes), a `record` of the bundled Linux reads its
 * 0.5 MB System.map without two of the three copies it made (issue 17, start-up).
 */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A symbol source from the bytes of an ELF file or a System.map; `path` names it in messages. */
export function symbolFileFromBytes(path: string, bytes: Uint8Array): SymbolFile {
  if (isElf(bytes)) {
    let symbols: ElfSymbol[];
    try {
      symbols = parseElf(bytes).symbols;
    } catch (e) {
      throw new ImageError(`--symbols ${path}: ${(e as Error).message}`);
    }
    if (symbols.length === 0) throw new ImageError(`--symbols ${path}: the ELF file has no symbols (stripped?)`);
    return { path, name: `ELF ${path}`, format: 'elf', symbols, sha256: sha256hex(bytes), size: bytes.length };
  }
  if (looksLikeSystemMap(bytes)) {
    const text = latin1(bytes);
    const symbols = parseSystemMap(text, `--symbols ${path}`);
    if (symbols.length === 0) throw new ImageError(`--symbols ${path}: the System.map has no usable symbols`);
    return { path, name: `System.map ${path}`, format: 'system.map', symbols, sha256: sha256hex(bytes), size: bytes.length, text };
  }
  throw new ImageError(`--symbols ${path}: neither an ELF file nor a System.map ("ADDRESS TYPE NAME" lines)`);
}

/** Read a `--symbols FILE` (ELF or System.map, told apart by content). */
export function readSymbolFile(path: string): SymbolFile {
  return symbolFileFromBytes(path, readSymbolBytes(path));
}

function readSymbolBytes(path: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new ImageError(`--symbols ${path}: not a regular file`);
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); // a view, not a copy
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`--symbols ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/**
 * readSymbolFile for storing only: a System.map is checked (checkSystemMap: the same errors as
 * parseSystemMap) but not parsed: `symbols` is empty, `text` holds it (a StoredSymbols's mapText,
 * parsed where the trace is written). `range`: kernelLinkRange of its symbols. Saves the
 * recording thread parsing ~15,000 lines (~35 ms) it would only send away as text.
 */
function readSymbolFileUnparsed(path: string): { file: SymbolFile; range: LinkRange | null } {
  const bytes = readSymbolBytes(path);
  if (isElf(bytes) || !looksLikeSystemMap(bytes)) {
    const file = symbolFileFromBytes(path, bytes);
    return { file, range: kernelLinkRange(file.symbols) };
  }
  const text = latin1(bytes);
  const scan = checkSystemMap(text, `--symbols ${path}`);
  if (!scan.usable) throw new ImageError(`--symbols ${path}: the System.map has no usable symbols`);
  const file: SymbolFile = { path, name: `System.map ${path}`, format: 'system.map', symbols: [], sha256: sha256hex(bytes), size: bytes.length, text };
  return { file, range: scan.range };
}

// ---------------------------------------------------------------------------------------------
// Linux Image <-> System.map
// ---------------------------------------------------------------------------------------------

/**
 * The RISC-V Linux Image header (Documentation/riscv/boot-image-header.rst): `image_size` at
 * offset 16 and the magic "RISCV\0\0\0" at 48 (or "RSC\x05" at 56). Null for anything else.
 */
export function riscvImageHeader(bytes: Uint8Array): { imageSize: bigint; textOffset: bigint } | null {
  if (bytes.length < 64) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Buffer.from(bytes.subarray(48, 56)).toString('latin1');
  const magic2 = dv.getUint32(56, true);
  if (magic !== 'RISCV\0\0\0' && magic2 !== 0x05435352) return null;
  return { textOffset: dv.getBigUint64(8, true), imageSize: dv.getBigUint64(16, true) };
}

/** A kernel's link addresses: `_start` .. `_end`. */
export interface LinkRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** `_start` .. `_end` of a kernel symbol list, or null. */
export function kernelLinkRange(symbols: readonly ElfSymbol[]): LinkRange | null {
  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const s of symbols) {
    if (start === undefined && s.name === '_start') start = s.value;
    if (end === undefined && s.name === '_end') end = s.value;
  }
  return start !== undefined && end !== undefined && end > start ? { start, end } : null;
}

/**
 * If the symbols (a System.map or a vmlinux's) describe this raw kernel image (a RISC-V Linux Image whose header
 * image_size equals `_end - _start`), the physical alias of its code; else null.
 */
export function kernelAlias(symbols: readonly ElfSymbol[], kernel: { bytes: Uint8Array; base: number }): SymbolAlias | null {
  return aliasOf(kernelLinkRange(symbols), kernel);
}

/** kernelAlias for symbols whose kernelLinkRange is `r`. */
function aliasOf(r: LinkRange | null, kernel: { bytes: Uint8Array; base: number }): SymbolAlias | null {
  if (isElf(kernel.bytes)) return null;
  const hdr = riscvImageHeader(kernel.bytes);
  if (!hdr || !r || r.end - r.start !== hdr.imageSize) return null;
  return { phys: BigInt(kernel.base), link: r.start, size: hdr.imageSize };
}

/** The kernel image of a machine or trace, as the symbol lookup needs it. */
export interface KernelRef {
  /** The path it was loaded from (as recorded). */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Physical load address. */
  readonly base: number;
}

/** A guest image of the built-in hypervisor (VM `vm`), as the symbol lookup needs it. */
export interface GuestRef extends KernelRef {
  readonly vm: number;
  /** Guest-physical load address (`base` is that too: guest pcs are guest addresses). */
  readonly base: number;
  /** Its symbols when the image is an ELF file. */
  readonly symbols?: readonly ElfSymbol[];
}

export interface ResolvedSymbols {
  readonly sources: SymbolSource[];
  /** Things the user should know (a System.map next to the image that does not match it). */
  readonly notes: string[];
}

/** An ELF image the machine loaded, with its symbols. */
export interface ElfImageSymbols {
  readonly role: string;
  readonly name: string;
  readonly symbols: readonly ElfSymbol[];
}

/**
 * The System.map next to a raw RISC-V Linux kernel Image (`what`: "kernel" or "guest"), when it
 * describes the image (its `_end - _start` equals the Image header's image_size): a source with
 * the physical alias; else null, with a note when there is a map that does not fit. One stat and
 * nothing else when there is no such file.
 */
function systemMapNextTo(k: KernelRef, what: string, notes: string[], unparsed = false): SymbolFile | null {
  if (isElf(k.bytes) || !riscvImageHeader(k.bytes)) return null;
  const path = join(dirname(k.name), 'System.map');
  if (!existsSync(path)) return null;
  try {
    // `unparsed` (storing it): a System.map's symbols stay its text (readSymbolFileUnparsed).
    let f: SymbolFile, alias: SymbolAlias | null;
    if (unparsed) {
      const u = readSymbolFileUnparsed(path);
      f = u.file;
      alias = aliasOf(u.range, k);
    } else {
      f = readSymbolFile(path);
      alias = kernelAlias(f.symbols, k);
    }
    if (alias) return { ...f, name: `System.map ${path} (next to the ${what} image)`, alias };
    notes.push(`${path} does not describe the ${what} image ${k.name} (its _end - _start is not the image size): not used; pass --symbols to use it anyway`);
  } catch (e) {
    notes.push(`${path} next to the ${what} image is not usable: ${(e as Error).message}`);
  }
  return null;
}

/**
 * The symbol sources for a machine / trace, in lookup order:
 *  1. the `--symbols` files (one that describes the raw kernel image, a System.map or the
 *     vmlinux of the build, also names its physical addresses; one that describes a raw guest
 *     image names that guest's addresses, guest-physical included);
 *  2. the kernel, if an ELF file with symbols;
 *  3. unless a `--symbols` file already describes the kernel: `System.map` in the directory of a
 *     raw RISC-V Linux kernel Image (the path recorded in the trace, relative to the current
 *     directory), when its `_end - _start` equals the Image header's image_size. One stat and
 *     nothing else when there is no such file; a System.map that does not match is left out
 *     with a note;
 *  4. the guests of the built-in hypervisor, in VM order: an ELF guest's symbols, or for a raw
 *     Linux Image the System.map next to it as in 3 (its physical alias at the guest-physical
 *     load address); these name that VM's addresses only (SymbolSource.vm);
 *  5. the other ELF images (firmware).
 * `stored`: the symbol tables stored in the trace (StoredSymbols). Those of `record --symbols`
 * come right after the `--symbols` files (1); the System.map stored for the kernel or a guest
 * takes the place of the one next to the image (3, 4), which is then not looked for: a trace
 * names its code the same wherever it is read. A `--symbols` file that describes the image still
 * overrides it. With `stored` given (a trace is read) and no symbols at all for a raw Linux kernel
 * Image, a note says so (a trace recorded before they were stored, read elsewhere).
 */
export function symbolSourcesFor(opts: {
  elf?: readonly ElfImageSymbols[];
  kernel?: KernelRef;
  guests?: readonly GuestRef[];
  files?: readonly SymbolFile[];
  stored?: readonly StoredSymbols[];
  auto?: boolean;
}): ResolvedSymbols {
  const notes: string[] = [];
  const sources: SymbolSource[] = [];
  const k = opts.kernel;
  const guests = opts.guests ?? [];
  let kernelCovered = false;
  const guestCovered = new Set<number>();
  const storedName = (s: StoredSymbols): string => `${s.format === 'elf' ? 'ELF' : 'System.map'} ${s.name} (stored in the trace)`;
  const storedFiles: SymbolFile[] = (opts.stored ?? []).filter((s) => s.role === null)
    .map((s) => ({ path: s.name, name: storedName(s), format: s.format, symbols: s.symbols }));
  const storedFor = (role: string): StoredSymbols | undefined => (opts.stored ?? []).find((s) => s.role === role);
  for (const f of [...(opts.files ?? []), ...storedFiles]) {
    const alias = k ? kernelAlias(f.symbols, k) : null;
    if (alias) {
      kernelCovered = true;
      sources.push({ ...f, alias });
      continue;
    }
    const mine = guests.map((g) => ({ g, alias: kernelAlias(f.symbols, g) })).filter((x) => x.alias !== null);
    for (const { g, alias } of mine) {
      guestCovered.add(g.vm);
      sources.push({ ...f, alias: alias!, vm: g.vm });
    }
    if (mine.length === 0) sources.push(f);
  }
  const elf = (opts.elf ?? []).filter((e) => e.symbols.length > 0);
  const fromElf = (e: ElfImageSymbols): SymbolSource => ({ name: `${e.role} ${e.name}`, format: 'elf', symbols: e.symbols });
  for (const e of elf) if (e.role === 'kernel') sources.push(fromElf(e));
  const sk = storedFor('kernel');
  if (k && !kernelCovered && sk) {
    const alias = kernelAlias(sk.symbols, k);
    sources.push({ name: storedName(sk), format: sk.format, symbols: sk.symbols, ...(alias ? { alias } : {}) });
  } else if (opts.auto !== false && k && !kernelCovered) {
    const before = notes.length;
    const m = systemMapNextTo(k, 'kernel', notes);
    if (m) sources.push(m);
    else if (opts.stored !== undefined && notes.length === before && !isElf(k.bytes) && riscvImageHeader(k.bytes)) {
      notes.push(`no symbols for the kernel image ${k.name}: none stored with the trace (recorded before hvtrace stored them) and no System.map at ${join(dirname(k.name), 'System.map')} (from this directory); pass --symbols System.map`);
    }
  }
  for (const g of guests) {
    const sg = storedFor(`guest${g.vm}`);
    if (g.symbols && g.symbols.length > 0) {
      sources.push({ name: `guest${g.vm} ${g.name}`, format: 'elf', symbols: g.symbols, vm: g.vm });
    } else if (!guestCovered.has(g.vm) && sg) {
      const alias = kernelAlias(sg.symbols, g);
      sources.push({ name: storedName(sg), format: sg.format, symbols: sg.symbols, vm: g.vm, ...(alias ? { alias } : {}) });
    } else if (opts.auto !== false && !guestCovered.has(g.vm)) {
      const m = systemMapNextTo(g, 'guest', notes);
      if (m) sources.push({ ...m, vm: g.vm });
    }
  }
  for (const e of elf) if (e.role !== 'kernel') sources.push(fromElf(e));
  return { sources, notes };
}

// ---------------------------------------------------------------------------------------------
// lookup over several sources
// ---------------------------------------------------------------------------------------------

/**
 * Address -> `name+0x1c` and name -> address over several symbol sources, in order (the first
 * source that names an address wins). A source with an alias also names the physical addresses
 * of its image. With an address space (HOST_SPACE or a guest VM), only the sources for that
 * space and those for any address are used.
 */
export class SymbolTable {
  private readonly syms: { sym: (a: bigint) => string | undefined; alias?: SymbolAlias; vm?: number }[];

  constructor(readonly sources: readonly SymbolSource[]) {
    this.syms = sources.map((s) => ({
      sym: symbolizer(s.symbols), ...(s.alias ? { alias: s.alias } : {}), ...(s.vm !== undefined ? { vm: s.vm } : {}),
    }));
  }

  get empty(): boolean {
    return this.sources.every((s) => s.symbols.length === 0);
  }

  /** Whether some source names guest addresses (a trace with guests that have symbols). */
  get hasGuests(): boolean {
    return this.sources.some((s) => s.vm !== undefined);
  }

  /** `func` / `func+0x1c` for addr (in `space`, when known), or undefined. */
  symbolize = (addr: bigint, space?: number): string | undefined => {
    const use = (vm: number | undefined) => space === undefined || vm === undefined || vm === space;
    for (const s of this.syms) {
      if (!use(s.vm)) continue;
      const n = s.sym(addr);
      if (n !== undefined) return n;
    }
    for (const s of this.syms) {
      const a = s.alias;
      if (a && use(s.vm) && addr >= a.phys && addr - a.phys < a.size) {
        const n = s.sym(addr - a.phys + a.link);
        if (n !== undefined) return n;
      }
    }
    return undefined;
  };

  /** The address of `name` (a function preferred over data; then source order, then file order). */
  lookup(name: string): bigint | undefined {
    return this.find(name)?.value;
  }

  /**
   * `name`'s address and, for a guest's symbol, its VM (SymbolSource.vm): a function preferred
   * over data; then source order, then file order.
   */
  find(name: string): { value: bigint; vm?: number } | undefined {
    let best: ElfSymbol | undefined;
    let vm: number | undefined;
    for (const src of this.sources) {
      for (const s of src.symbols) {
        if (s.name !== name) continue;
        if (!best || (best.type !== 'func' && s.type === 'func')) {
          best = s;
          vm = src.vm;
        }
        if (best.type === 'func') return { value: best.value, ...(vm !== undefined ? { vm } : {}) };
      }
    }
    return best ? { value: best.value, ...(vm !== undefined ? { vm } : {}) } : undefined;
  }

  /**
   * The extent of `name` (as find chooses it): [lo, hi) from its ELF size, or for a label without
   * size (System.map) up to the next higher symbol of its source; with its VM for a guest symbol.
   */
  extent(name: string): { lo: bigint; hi: bigint; vm?: number } | undefined {
    for (const pass of ['func', 'any'] as const) {
      for (const src of this.sources) {
        const s = src.symbols.find((x) => x.name === name && (pass === 'any' || x.type === 'func'));
        if (!s) continue;
        let hi = s.value + s.size;
        if (s.size === 0n) {
          hi = s.value + 1n;
          let next: bigint | undefined;
          for (const o of src.symbols) if (o.value > s.value && (next === undefined || o.value < next)) next = o.value;
          if (next !== undefined) hi = next;
        }
        return { lo: s.value, hi, ...(src.vm !== undefined ? { vm: src.vm } : {}) };
      }
    }
    return undefined;
  }

  /** The physical address the code at link address `addr` is loaded at, or null. */
  physicalOf(addr: bigint): bigint | null {
    for (const s of this.sources) {
      const a = s.alias;
      if (a && addr >= a.link && addr - a.link < a.size) return addr - a.link + a.phys;
    }
    return null;
  }
}
