/**
 * Static view of the code stored in a trace: instruction bits, disassembly and symbols for an
 * address, from the firmware / kernel images the trace carries (ELF segments by virtual and
 * physical address, raw images at their load address). Used by `events` and by `diff`.
 */
import type { TraceReader, ImageRole } from './store.js';
import { parseElf, isElf, symbolizer } from '../machine/loader.js';
import { disassemble } from '../isa/disasm.js';

export class TraceCode {
  private readonly regions: { lo: bigint; hi: bigint; bytes: Uint8Array }[] = [];
  /** Kernel symbols first: they name guest code; firmware symbols after. */
  private readonly syms: ((a: bigint) => string | undefined)[] = [];

  constructor(r: TraceReader) {
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
          const elf = parseElf(bytes);
          for (const s of elf.segments) {
            if (s.data.length === 0) continue;
            const n = BigInt(s.data.length);
            this.regions.push({ lo: s.vaddr, hi: s.vaddr + n, bytes: s.data });
            if (s.paddr !== s.vaddr) this.regions.push({ lo: s.paddr, hi: s.paddr + n, bytes: s.data });
          }
          if (elf.symbols.length) {
            if (img.role === 'kernel') this.syms.unshift(symbolizer(elf.symbols));
            else this.syms.push(symbolizer(elf.symbols));
          }
        } catch {
          /* not a usable ELF: no code view for it */
        }
      } else {
        const li = loaded.find((l) => l.role === img.role);
        if (li) this.regions.push({ lo: BigInt(li.base), hi: BigInt(li.base + bytes.length), bytes });
      }
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
  symbolize = (a: bigint): string | undefined => {
    for (const s of this.syms) {
      const n = s(a);
      if (n !== undefined) return n;
    }
    return undefined;
  };

  /** objdump-style text of the instruction at pc, or undefined. */
  disasm(pc: bigint): string | undefined {
    const bits = this.insn(pc);
    if (bits === null) return undefined;
    return disassemble(bits, pc, { symbolize: this.symbolize }).text;
  }
}
