/**
 * Static view of the code stored in a trace: instruction bits, disassembly and symbols for an
 * address, from the firmware / kernel images the trace carries (ELF segments by virtual and
 * physical address, raw images at their load address). Used by `events` and by `diff`.
 *
 * Symbols: the `--symbols` files, the ELF images (kernel first), the System.map next to a raw
 * kernel Image (src/machine/symbols.ts). A System.map that describes the raw kernel also places
 * its bytes at their link (virtual) addresses, so kernel pcs after the MMU is on disassemble too.
 */
import type { TraceReader, ImageRole } from './store.js';
import { parseElf, isElf, type ElfSymbol } from '../machine/loader.js';
import { SymbolTable, symbolSourcesFor, type KernelRef, type SymbolFile } from '../machine/symbols.js';
import { disassemble } from '../isa/disasm.js';

export interface TraceCodeOptions {
  symbols?: readonly SymbolFile[];
  /** Use the System.map next to a raw kernel Image (default true). */
  autoSymbols?: boolean;
}

export class TraceCode {
  private readonly regions: { lo: bigint; hi: bigint; bytes: Uint8Array }[] = [];
  readonly symbols: SymbolTable;
  /** Notes about the symbol sources (a System.map next to the kernel that does not match it). */
  readonly notes: string[];

  constructor(r: TraceReader, opts: TraceCodeOptions = {}) {
    const elf: { role: string; name: string; symbols: ElfSymbol[] }[] = [];
    let kernel: KernelRef | undefined;
    let loaded: { role: string; base: number }[] = [];
    try {
      loaded = r.loadedImages();
    } catch {
      loaded = [];
    }
    for (const img of r.images()) {
      if (img.role !== 'firmware' && img.role !== 'kernel') continue;
      let bytes: Uint8Array | null;
      try {
        bytes = r.imageBytes(img.role as ImageRole);
      } catch {
        continue;
      }
      if (!bytes) continue;
      if (isElf(bytes)) {
        try {
          const parsed = parseElf(bytes);
          for (const s of parsed.segments) {
            if (s.data.length === 0) continue;
            const n = BigInt(s.data.length);
            this.regions.push({ lo: s.vaddr, hi: s.vaddr + n, bytes: s.data });
            if (s.paddr !== s.vaddr) this.regions.push({ lo: s.paddr, hi: s.paddr + n, bytes: s.data });
          }
          if (parsed.symbols.length) elf.push({ role: img.role, name: img.name, symbols: parsed.symbols });
        } catch {
          /* not a usable ELF: no code view for it */
        }
      } else {
        const li = loaded.find((l) => l.role === img.role);
        if (li) this.regions.push({ lo: BigInt(li.base), hi: BigInt(li.base + bytes.length), bytes });
        if (li && img.role === 'kernel') kernel = { name: img.name, bytes, base: li.base };
      }
    }
    const res = symbolSourcesFor({ elf, kernel, files: opts.symbols, auto: opts.autoSymbols });
    this.symbols = new SymbolTable(res.sources);
    this.notes = res.notes;
    for (const s of res.sources) {
      if (!s.alias || !kernel) continue;
      const n = BigInt(kernel.bytes.length);
      this.regions.push({ lo: s.alias.link, hi: s.alias.link + n, bytes: kernel.bytes });
      break;
    }
  }

  /** Instruction bits at pc (16 or 32 bits), or null when pc is not inside a stored image. */
  insn(pc: bigint): number | null {
    for (const g of this.regions) {
      if (pc >= g.lo && pc + 2n <= g.hi) {
        const o = Number(pc - g.lo);
        const lo16 = g.bytes[o]! | (g.bytes[o + 1]! << 8);
        if ((lo16 & 3) !== 3) return lo16;
        if (pc + 4n > g.hi) return null;
        return (lo16 | (g.bytes[o + 2]! << 16) | (g.bytes[o + 3]! << 24)) >>> 0;
      }
    }
    return null;
  }

  /** `func+0x1c` for an address inside a known symbol, or undefined. */
  symbolize = (a: bigint): string | undefined => this.symbols.symbolize(a);

  /** objdump-style text of the instruction at pc, or undefined. */
  disasm(pc: bigint): string | undefined {
    const bits = this.insn(pc);
    if (bits === null) return undefined;
    return disassemble(bits, pc, { symbolize: this.symbolize }).text;
  }
}
