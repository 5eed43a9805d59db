/**
 * CodeView: symbols and instruction bytes of a replayed machine, per hart and address space
 * (src/replay/replayer.ts is the API).
 */
import { TraceReader } from '../trace/store.js';
import { type TraceEvent } from '../trace/model.js';
import { Machine } from '../board/machine.js';
import { type Hart } from '../hart/hart.js';
import { SymbolTable, symbolSourcesFor, HOST_SPACE, type GuestRef } from '../image/symbols.js';
import { eventSpaces } from '../trace/code.js';
import { disassemble } from '../isa/disasm.js';
import type { SymbolOptions } from './open.js';

// ---------------------------------------------------------------------------------------------
// code and symbols
// ---------------------------------------------------------------------------------------------

/**
 * Symbols (the `--symbols` files, the ELF images the machine loaded with the kernel's first, the
 * System.map next to a raw kernel Image, the guests' symbols) and instruction bytes from the
 * machine's memory. With guests of the built-in hypervisor, a hart with V = 1 is in its VM's
 * address space: its pc is a guest-virtual address, read through the VS-stage (vsatp) and
 * G-stage (hgatp) tables, and named with that guest's symbols (symbols.ts HOST_SPACE / vm).
 */
export class CodeView {
  readonly machine: Machine;
  readonly symbols: SymbolTable;
  /** Notes about the symbol sources (a System.map next to the kernel that does not match it). */
  readonly notes: string[];
  /** The address space of an event's pc (trace/code.ts eventSpaces). */
  readonly eventSpace: (e: TraceEvent) => number | undefined;

  constructor(machine: Machine, opts: SymbolOptions = {}, reader: TraceReader | null = null) {
    this.machine = machine;
    const k = machine.images.find((i) => i.role === 'kernel');
    const kb = machine.config.kernel?.bytes;
    const plans = machine.hypervisor?.plans ?? [];
    const guests: GuestRef[] = plans.map((p) => {
      const bytes = p.config.image.bytes;
      if (p.elf) return { vm: p.index, name: p.config.image.name, bytes, base: 0, symbols: p.elf.symbols };
      return { vm: p.index, name: p.config.image.name, bytes, base: p.regions.find((r) => r.role === `guest${p.index}`)!.gpa };
    });
    const r = symbolSourcesFor({
      elf: machine.images.filter((i) => i.elf).map((i) => ({ role: i.role, name: i.name, symbols: i.elf!.symbols })),
      kernel: k && kb ? { name: k.name, bytes: kb, base: k.base } : undefined,
      guests,
      files: opts.symbols,
      stored: reader?.storedSymbols(),
      auto: opts.autoSymbols,
    });
    this.symbols = new SymbolTable(r.sources);
    this.notes = r.notes;
    this.eventSpace = eventSpaces(reader, plans.length);
  }

  /**
   * The address space hart h's pc is in: undefined without guests, HOST_SPACE with V = 0, else
   * the VM whose vCPU is loaded in the hart.
   */
  spaceOf(h: Hart | null): number | undefined {
    const hv = this.machine.hypervisor;
    if (!hv || !h) return undefined;
    if (!h.virt) return HOST_SPACE;
    const p = hv.percpu[h.id];
    return p?.loaded?.vmIndex ?? (p && p.vm >= 0 ? p.vm : 0);
  }

  symbolize = (addr: bigint, space?: number): string | undefined => this.symbols.symbolize(addr, space);

  /** Symbol of an event's pc, in the event's address space (host or guest). */
  symbolizeEvent = (e: TraceEvent): string | undefined => this.symbols.symbolize(e.pc, this.eventSpace(e));

  /** Address of a symbol (functions preferred), or undefined. */
  lookup(name: string): bigint | undefined {
    return this.symbols.lookup(name);
  }

  /** A RAM doubleword (page-table entry) at physical address pa, or null. */
  private pte(pa: number): bigint | null {
    const bus = this.machine.bus;
    if (!bus.isRam(pa, 8)) return null;
    return bus.dv.getBigUint64(bus.ramOffset + pa - bus.ramBase, true);
  }

  /**
   * G-stage translation (hgatp: Bare, Sv39x4, Sv48x4, Sv57x4) of a guest-physical address, read-only
   * (no A/D updates, no faults, permissions not checked), or null.
   */
  private gpaToPa(h: Hart, gpa: number): number | null {
    const mode = Number(h.hgatp >> 60n);
    if (mode === 0) return gpa;
    const levels = mode >= 8 && mode <= 10 ? mode - 5 : 0;
    if (levels === 0 || gpa < 0 || gpa >= 2 ** (12 + 9 * levels + 2)) return null;
    let a = Number(h.hgatp & 0xfffffffffffn) * 4096;
    const vpnAll = Math.floor(gpa / 4096);
    for (let i = levels - 1; i >= 0; i--) {
      // The root index has 11 bits (the x4 root table is 16 KiB).
      const idx = i === levels - 1 ? Math.floor(vpnAll / 2 ** (9 * i)) : Math.floor(vpnAll / 2 ** (9 * i)) % 512;
      const pte = this.pte(a + idx * 8);
      if (pte === null || (pte & 1n) === 0n) return null;
      const ppn = Number((pte >> 10n) & 0xfffffffffffn);
      if ((pte & 0xan) !== 0n) {
        // Svnapot: a 64 KiB leaf takes ppn[3:0] from the address.
        if (pte >> 63n !== 0n) return (ppn - (ppn % 16)) * 4096 + (gpa % 65536);
        const span = 2 ** (12 + 9 * i);
        return ppn * 4096 + (gpa % span);
      }
      a = ppn * 4096;
    }
    return null;
  }

  /**
   * Physical address of a virtual instruction address as hart h would fetch it now, by a
   * read-only page-table walk (no A/D updates, no faults), or null. With V = 1: the VS-stage
   * walk (vsatp, in the hart's satp while V = 1) over guest-physical addresses, each one
   * translated by the G-stage (hgatp).
   */
  fetchPa(h: Hart | null, va: bigint): number | null {
    const bus = this.machine.bus;
    const pa = this.translatePa(h, va);
    return pa !== null && bus.isRam(pa, 2) ? pa : null;
  }

  /**
   * Physical address of virtual address `va` as hart h sees memory now (its privilege's
   * translation: satp, or vsatp + hgatp while V = 1; M-mode and no hart: the address itself), by
   * a read-only walk: no A/D updates, no faults, no TLB fills, permissions not checked (a
   * debugger may read any mapped page). null when unmapped. RAM or not is the caller's check.
   */
  translatePa(h: Hart | null, va: bigint): number | null {
    va = BigInt.asUintN(64, va);
    if (!h || h.priv === 3) return va < 2n ** 53n ? Number(va) : null;
    const g = h.virt ? (gpa: number) => this.gpaToPa(h, gpa) : (pa: number) => pa;
    const satp = h.satp;
    const mode = Number(satp >> 60n);
    if (mode === 0) return va < 2n ** 53n ? g(Number(va)) : null;
    const levels = mode - 5; // Sv39 (8) 3, Sv48 4, Sv57 5
    // The address must be sign-extended from its top translated bit (priv spec §4.4.1).
    const top = BigInt.asIntN(64, va) >> BigInt(12 + 9 * levels - 1);
    if (top !== 0n && top !== -1n) return null;
    let a = Number(satp & 0xfffffffffffn) * 4096;
    const sva = BigInt.asIntN(64, va);
    const vpn = (BigInt.asUintN(64, sva) >> 12n) & ((1n << BigInt(9 * levels)) - 1n);
    for (let i = levels - 1; i >= 0; i--) {
      const idx = Number((vpn >> BigInt(9 * i)) & 511n);
      const ptePa = g(a + idx * 8);
      const pte = ptePa === null ? null : this.pte(ptePa);
      if (pte === null || (pte & 1n) === 0n) return null;
      const ppn = (pte >> 10n) & 0xfffffffffffn;
      if ((pte & 0xan) !== 0n) {
        // Svnapot: a 64 KiB leaf takes ppn[3:0] from the address.
        const span = pte >> 63n !== 0n ? 1n << 16n : 1n << BigInt(12 + 9 * i);
        const base = pte >> 63n !== 0n ? ppn & ~15n : ppn;
        return g(Number(base * 4096n + (BigInt.asUintN(64, sva) & (span - 1n))));
      }
      a = Number(ppn) * 4096;
    }
    return null;
  }

  /** The raw instruction at va (16 or 32 bits), or null when it cannot be read. */
  insnAt(h: Hart | null, va: bigint): number | null {
    const pa = this.fetchPa(h, va);
    if (pa === null) return null;
    const bus = this.machine.bus;
    const lo = bus.dv.getUint16(bus.ramOffset + pa - bus.ramBase, true);
    if ((lo & 3) !== 3) return lo;
    const pa2 = this.fetchPa(h, va + 2n);
    if (pa2 === null) return null;
    return (lo | (bus.dv.getUint16(bus.ramOffset + pa2 - bus.ramBase, true) << 16)) >>> 0;
  }

  /** "addi a0,a0,1" for the instruction at va, or undefined. */
  disasm(h: Hart | null, va: bigint): string | undefined {
    const raw = this.insnAt(h, va);
    if (raw === null) return undefined;
    const space = this.spaceOf(h);
    return disassemble(raw, va, { symbolize: (a) => this.symbolize(a, space) }).text;
  }

  /**
   * Disassembly around `pc`: up to `before` instructions before it (found by decoding forward
   * from a few candidate start addresses until one lands exactly on pc: RVC makes going
   * backwards ambiguous) and `after` from it on.
   */
  around(h: Hart | null, pc: bigint, before = 6, after = 8): DisasmLine[] {
    const lines: DisasmLine[] = [];
    const space = this.spaceOf(h);
    const sym = (a: bigint) => this.symbolize(a, space);
    const line = (va: bigint): DisasmLine | null => {
      const raw = this.insnAt(h, va);
      if (raw === null) return null;
      const len = (raw & 3) === 3 ? 4 : 2;
      return {
        pc: va, raw: raw >>> 0, length: len, symbol: sym(va),
        text: disassemble(raw, va, { symbolize: sym }).text, current: va === pc,
      };
    };
    // Before: try starts from far to near.
    for (let back = BigInt(before * 4); back >= 2n; back -= 2n) {
      if (pc < back) continue;
      const seq: DisasmLine[] = [];
      let va = pc - back;
      let ok = true;
      while (va < pc) {
        const l = line(va);
        if (!l) { ok = false; break; }
        seq.push(l);
        va += BigInt(l.length);
      }
      if (ok && va === pc) {
        lines.push(...seq.slice(-before));
        break;
      }
    }
    let va = pc;
    for (let i = 0; i < after; i++) {
      const l = line(va);
      if (!l) break;
      lines.push(l);
      va += BigInt(l.length);
    }
    return lines;
  }
}

export interface DisasmLine {
  pc: bigint;
  raw: number;
  length: number;
  symbol: string | undefined;
  text: string;
  current: boolean;
}
