/**
 * Static view of the code stored in a trace: instruction bits, disassembly and symbols for an
 * address, from the firmware / kernel / guest images the trace carries (ELF segments by virtual
 * and physical address, raw images at their load address). Used by `events` and by `diff`.
 *
 * Symbols: the `--symbols` files, the ELF images (kernel first), the System.map next to a raw
 * kernel Image (src/image/symbols.ts). A System.map that describes the raw kernel also places
 * its bytes at their link (virtual) addresses, so kernel pcs after the MMU is on disassemble too.
 *
 * Guests of the built-in hypervisor (images 'guest<k>'): their code is looked up in the guest's
 * own address space (symbols.ts HOST_SPACE / VM index), since a guest pc is a guest address: an
 * ELF guest by its segments' virtual and physical (= guest-physical) addresses, a raw guest
 * Image at its guest-physical load address (src/hypervisor/config.ts planGuests) and, with the
 * System.map next to it (or one given with --symbols), at its link addresses. Events with
 * V = 1, and `vm_exit` / `vm_entry` (whose pc is the guest's), are guest pcs (`spaceOf`).
 */
import type { TraceReader, ImageRole } from './store.js';
import type { TraceEvent } from './model.js';
import { parseElf, isElf, type ElfSymbol } from '../image/loader.js';
import {
  SymbolTable, symbolSourcesFor, HOST_SPACE, type GuestRef, type KernelRef, type SymbolFile,
} from '../image/symbols.js';
import { planGuests } from '../hypervisor/config.js';
import { disassemble } from '../isa/disasm.js';

export interface TraceCodeOptions {
  symbols?: readonly SymbolFile[];
  /** Use the System.map next to a raw kernel or guest Image (default true). */
  autoSymbols?: boolean;
}

interface Region {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly bytes: Uint8Array;
  /** HOST_SPACE or the guest VM. */
  readonly space: number;
}

/**
 * Guest-physical address where the built-in hypervisor loads a raw (non-ELF) guest image of
 * `memSize` bytes of guest RAM: the same planner the hypervisor uses. Null when it does not fit.
 */
export function rawGuestLoadAddress(name: string, bytes: Uint8Array, memSize: number): number | null {
  try {
    const p = planGuests([{ image: { name, bytes }, vcpus: 1, memSize }], 'rv64imafdch')[0]!;
    return p.regions.find((r) => r.role === 'guest0')?.gpa ?? null;
  } catch {
    return null;
  }
}

/** Whether an event's pc is a guest pc: V = 1, or a VM exit / entry (pc = the guest's). */
export function isGuestPc(e: Pick<TraceEvent, 'virt' | 'kind'>): boolean {
  return e.virt || e.kind === 'vm_exit' || e.kind === 'vm_entry';
}

/**
 * The address space of each event's pc (symbols.ts HOST_SPACE or a VM index) for a trace with
 * `guests` VMs; with none, undefined (every address is the host's). With several VMs, a V = 1
 * event belongs to the VM last entered on its hart (the trace's `vm_entry` events, read here).
 */
export function eventSpaces(r: TraceReader | null, guests: number): (e: TraceEvent) => number | undefined {
  if (guests === 0) return () => undefined;
  // Read now: the function may outlive the reader (a seek report is printed after it closes).
  const entries = new Map<number, { seq: number[]; vm: number[] }>();
  if (guests > 1) {
    try {
      for (const row of r?.query("SELECT hart, seq, b FROM events WHERE kind = 'vm_entry' ORDER BY seq").rows ?? []) {
        const h = Number(row[0]);
        let e = entries.get(h);
        if (!e) entries.set(h, (e = { seq: [], vm: [] }));
        e.seq.push(Number(row[1]));
        e.vm.push(Number(row[2]));
      }
    } catch {
      /* not queryable: VM 0 */
    }
  }
  const vmAt = (hart: number, seq: number): number => {
    const e = entries.get(hart);
    if (!e) return 0;
    let lo = 0, hi = e.seq.length; // first entry with seq > the event's
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e.seq[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : e.vm[lo - 1]!;
  };
  return (e) => {
    if (!isGuestPc(e)) return HOST_SPACE;
    if (e.kind === 'vm_exit') {
      const vm = (e.payload as { vm?: unknown } | null)?.vm;
      if (typeof vm === 'number') return vm;
    }
    if (e.kind === 'vm_entry' && e.b !== null) return Number(e.b);
    return guests === 1 ? 0 : vmAt(e.hart, e.seq);
  };
}

export class TraceCode {
  private readonly regions: Region[] = [];
  readonly symbols: SymbolTable;
  /** Notes about the symbol sources (a System.map next to the kernel that does not match it). */
  readonly notes: string[];
  /** Guests (VMs) of the built-in hypervisor in the trace; 0 for a bare machine. */
  readonly guests: number;
  /** The address space of an event's pc (HOST_SPACE, a VM index, or undefined without guests). */
  readonly spaceOf: (e: TraceEvent) => number | undefined;

  constructor(r: TraceReader, opts: TraceCodeOptions = {}) {
    const elf: { role: string; name: string; symbols: ElfSymbol[] }[] = [];
    let storedProblem: string | null = null;
    let kernel: KernelRef | undefined;
    const guests: GuestRef[] = [];
    let loaded: { role: string; base: number }[] = [];
    try {
      loaded = r.loadedImages();
    } catch {
      loaded = [];
    }
    const bytesOf = (role: ImageRole): Uint8Array | null => {
      try {
        return r.imageBytes(role);
      } catch {
        return null;
      }
    };
    const addElf = (bytes: Uint8Array, space: number): ElfSymbol[] => {
      try {
        const parsed = parseElf(bytes);
        for (const s of parsed.segments) {
          if (s.data.length === 0) continue;
          const n = BigInt(s.data.length);
          this.regions.push({ lo: s.vaddr, hi: s.vaddr + n, bytes: s.data, space });
          if (s.paddr !== s.vaddr) this.regions.push({ lo: s.paddr, hi: s.paddr + n, bytes: s.data, space });
        }
        return parsed.symbols;
      } catch {
        return []; // not a usable ELF: no code view for it
      }
    };
    for (const img of r.images()) {
      if (img.role !== 'firmware' && img.role !== 'kernel') continue;
      const bytes = bytesOf(img.role);
      if (!bytes) continue;
      if (isElf(bytes)) {
        const symbols = addElf(bytes, HOST_SPACE);
        if (symbols.length) elf.push({ role: img.role, name: img.name, symbols });
      } else {
        const li = loaded.find((l) => l.role === img.role);
        if (li) this.regions.push({ lo: BigInt(li.base), hi: BigInt(li.base + bytes.length), bytes, space: HOST_SPACE });
        if (li && img.role === 'kernel') kernel = { name: img.name, bytes, base: li.base };
      }
    }
    let stored: readonly { image: { name: string }; memSize: number }[] = [];
    try {
      stored = r.config.machine?.guests ?? [];
    } catch {
      stored = [];
    }
    this.guests = stored.length;
    stored.forEach((g, vm) => {
      const bytes = bytesOf(`guest${vm}`);
      if (!bytes) return;
      if (isElf(bytes)) {
        guests.push({ vm, name: g.image.name, bytes, base: 0, symbols: addElf(bytes, vm) });
        return;
      }
      const gpa = rawGuestLoadAddress(g.image.name, bytes, g.memSize);
      if (gpa === null) return;
      this.regions.push({ lo: BigInt(gpa), hi: BigInt(gpa + bytes.length), bytes, space: vm });
      guests.push({ vm, name: g.image.name, bytes, base: gpa });
    });
    let storedSyms: ReturnType<TraceReader['storedSymbols']> = [];
    try {
      storedSyms = r.storedSymbols();
    } catch (e) {
      storedSyms = [];
      storedProblem = (e as Error).message;
    }
    const res = symbolSourcesFor({ elf, kernel, guests, files: opts.symbols, stored: storedSyms, auto: opts.autoSymbols });
    this.symbols = new SymbolTable(res.sources);
    this.notes = storedProblem ? [storedProblem, ...res.notes] : res.notes;
    // A System.map / vmlinux that describes a raw image places its bytes at the link addresses.
    const aliased = new Set<number>();
    for (const s of res.sources) {
      if (!s.alias) continue;
      const space = s.vm ?? HOST_SPACE;
      const img = s.vm === undefined ? kernel : guests.find((g) => g.vm === s.vm);
      if (!img || aliased.has(space)) continue;
      aliased.add(space);
      this.regions.push({ lo: s.alias.link, hi: s.alias.link + BigInt(img.bytes.length), bytes: img.bytes, space });
    }
    this.spaceOf = eventSpaces(r, this.guests);
  }

  /**
   * Instruction bits at pc (16 or 32 bits), or null when pc is not inside a stored image.
   * `space`: HOST_SPACE or a guest VM (undefined: any image).
   */
  insn(pc: bigint, space?: number): number | null {
    for (const g of this.regions) {
      if (space !== undefined && g.space !== space) continue;
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

  /** `func+0x1c` for an address inside a known symbol (in `space`, when given), or undefined. */
  symbolize = (a: bigint, space?: number): string | undefined => this.symbols.symbolize(a, space);

  /** objdump-style text of the instruction at pc (in `space`, when given), or undefined. */
  disasm(pc: bigint, space?: number): string | undefined {
    const bits = this.insn(pc, space);
    if (bits === null) return undefined;
    return disassemble(bits, pc, { symbolize: (a) => this.symbols.symbolize(a, space) }).text;
  }

  /** Symbol and disassembly at an event's pc, in the event's address space (host or guest). */
  forEvent(e: TraceEvent): { symbol?: string; insn?: string } {
    const space = this.spaceOf(e);
    const symbol = this.symbolize(e.pc, space);
    const insn = this.disasm(e.pc, space);
    return { ...(symbol !== undefined ? { symbol } : {}), ...(insn !== undefined ? { insn } : {}) };
  }
}
