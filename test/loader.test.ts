/**
 * Fixtures (test/fixtures/):
 *   loader-rv64.elf    riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -nostdlib
 *                        -Wl,--build-id=none -Wl,-N -Wl,-Ttext=0x80000000 loader-fixture.S
 *   loader-rv32.elf    same source with -march=rv32i -mabi=ilp32
 *   loader-x86_64.elf  gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=16
 *                        of `_start: hlt`
 * Other malformed inputs are built programmatically below.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  entryPhysical,
  findSymbol,
  ImageError,
  isElf,
  parseElf,
  symbolizer,
  type ElfSymbol,
} from '../src/image/loader.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

interface SegSpec {
  paddr: bigint;
  vaddr?: bigint;
  data: number[];
  memsz?: bigint;
  type?: number;
}
interface SymSpec {
  name: string;
  value: bigint;
  size?: bigint;
  stt?: number;
  shndx?: number;
}

/** A minimal little-endian ELF64 with PT_LOAD segments and an optional .symtab/.strtab. */
function makeElf(o: {
  cls?: number;
  data?: number;
  machine?: number;
  type?: number;
  entry?: bigint;
  segs?: SegSpec[];
  syms?: SymSpec[];
  phentsize?: number;
}): Uint8Array {
  const segs = o.segs ?? [{ paddr: 0x8000_0000n, data: [0x13, 0, 0, 0] }];
  const syms = o.syms;
  const phoff = 64;
  let off = phoff + 56 * segs.length;
  const segOffs = segs.map((s) => {
    const at = off;
    off += s.data.length;
    return at;
  });
  // strtab
  const strBytes: number[] = [0];
  const nameOffs = (syms ?? []).map((s) => {
    const at = strBytes.length;
    for (const c of new TextEncoder().encode(s.name)) strBytes.push(c);
    strBytes.push(0);
    return at;
  });
  const symtabOff = off;
  const symCount = syms ? syms.length + 1 : 0;
  off += 24 * symCount;
  const strtabOff = off;
  off += syms ? strBytes.length : 0;
  off = (off + 7) & ~7;
  const shoff = syms ? off : 0;
  const shnum = syms ? 3 : 0; // null, .symtab, .strtab
  const total = off + 64 * shnum;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, o.cls ?? 2, o.data ?? 1, 1]);
  dv.setUint16(16, o.type ?? 2, true);
  dv.setUint16(18, o.machine ?? 243, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, o.entry ?? 0x8000_0000n, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, o.phentsize ?? 56, true);
  dv.setUint16(56, segs.length, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, shnum, true);
  dv.setUint16(62, 0, true);
  segs.forEach((s, i) => {
    const p = phoff + 56 * i;
    dv.setUint32(p, s.type ?? 1, true);
    dv.setUint32(p + 4, 7, true);
    dv.setBigUint64(p + 8, BigInt(segOffs[i]!), true);
    dv.setBigUint64(p + 16, s.vaddr ?? s.paddr, true);
    dv.setBigUint64(p + 24, s.paddr, true);
    dv.setBigUint64(p + 32, BigInt(s.data.length), true);
    dv.setBigUint64(p + 40, s.memsz ?? BigInt(s.data.length), true);
    buf.set(s.data, segOffs[i]!);
  });
  if (syms) {
    syms.forEach((s, i) => {
      const e = symtabOff + 24 * (i + 1);
      dv.setUint32(e, nameOffs[i]!, true);
      buf[e + 4] = (1 << 4) | (s.stt ?? 2); // GLOBAL
      dv.setUint16(e + 6, s.shndx ?? 1, true);
      dv.setBigUint64(e + 8, s.value, true);
      dv.setBigUint64(e + 16, s.size ?? 0n, true);
    });
    buf.set(strBytes, strtabOff);
    const sh = (i: number, type: number, offset: number, size: number, link: number, entsize: number) => {
      const h = shoff + 64 * i;
      dv.setUint32(h + 4, type, true);
      dv.setBigUint64(h + 24, BigInt(offset), true);
      dv.setBigUint64(h + 32, BigInt(size), true);
      dv.setUint32(h + 40, link, true);
      dv.setBigUint64(h + 56, BigInt(entsize), true);
    };
    sh(1, 2, symtabOff, 24 * symCount, 2, 24);
    sh(2, 3, strtabOff, strBytes.length, 0, 0);
  }
  return buf;
}

describe('parseElf', () => {
  it('loads the rv64 fixture', () => {
    const buf = fixture('loader-rv64.elf');
    expect(buf.length).toBeLessThan(20_000);
    expect(isElf(buf)).toBe(true);
    const elf = parseElf(buf);
    expect(elf.isRiscv64).toBe(true);
    expect(elf.entry).toBe(0x8000_0000n);
    expect(elf.segments.length).toBe(1);
    const seg = elf.segments[0]!;
    expect(seg.paddr).toBe(0x8000_0000n);
    expect(seg.vaddr).toBe(0x8000_0000n);
    expect(seg.data.length).toBe(0x20);
    expect(seg.memsz).toBe(0x60n);
    // First instruction: auipc t0, 0 (la t0, counter).
    expect(new DataView(seg.data.buffer, seg.data.byteOffset).getUint32(0, true)).toBe(0x00000297);

    const byName = (n: string) => findSymbol(elf.symbols, n);
    expect(byName('_start')).toEqual({ name: '_start', value: 0x8000_0000n, size: 0n, type: 'other' });
    expect(byName('bump')).toEqual({ name: 'bump', value: 0x8000_000en, size: 12n, type: 'func' });
    expect(byName('counter')).toEqual({ name: 'counter', value: 0x8000_001cn, size: 4n, type: 'object' });
    expect(byName('buffer')).toEqual({ name: 'buffer', value: 0x8000_0020n, size: 64n, type: 'object' });
    expect(byName('after_bump')?.value).toBe(0x8000_001an);
    // Absolute symbols, mapping symbols, section and file symbols are left out.
    expect(byName('__global_pointer$')).toBeUndefined();
    expect(elf.symbols.some((s) => s.name.startsWith('$') || s.name.endsWith('.o') || s.name.startsWith('.'))).toBe(false);
    expect(byName('nope')).toBeUndefined();
  });

  it('rejects a 32-bit RISC-V ELF', () => {
    const buf = fixture('loader-rv32.elf');
    expect(isElf(buf)).toBe(true);
    expect(() => parseElf(buf)).toThrow(ImageError);
    expect(() => parseElf(buf)).toThrow(/^32-bit ELF: hvtrace runs RV64 images only$/);
  });

  it('rejects an x86-64 ELF', () => {
    expect(() => parseElf(fixture('loader-x86_64.elf'))).toThrow(/^not a RISC-V ELF \(e_machine 62\)$/);
  });

  it('rejects non-ELF and malformed headers with one-line ImageErrors', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([1, 2, 3, 4, 5]), /bad magic/],
      [new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), /truncated/],
      [makeElf({}).slice(0, 40), /truncated ELF header/],
      [makeElf({ data: 2 }), /big-endian/],
      [makeElf({ cls: 3 }), /bad ELF class/],
      [makeElf({ machine: 40 }), /not a RISC-V ELF \(e_machine 40\)/],
      [makeElf({ type: 1 }), /ELF type 1 is not loadable/],
      [makeElf({ phentsize: 32 }), /program header size/],
      [makeElf({ segs: [{ paddr: 0x8000_0000n, data: [1, 2, 3, 4], type: 4 }] }), /no loadable/],
      [makeElf({ segs: [{ paddr: 0x8000_0000n, data: [1, 2, 3, 4], memsz: 2n }] }), /exceeds memory size/],
      [makeElf({ segs: [{ paddr: 0xffff_ffff_ffff_fff0n, data: [], memsz: 0x20n }] }), /wraps around/],
    ];
    for (const [buf, re] of cases) {
      let err: unknown;
      try {
        parseElf(buf);
      } catch (e) {
        err = e;
      }
      expect(err, String(re)).toBeInstanceOf(ImageError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    expect(isElf(new Uint8Array([0x7f, 0x45]))).toBe(false);
  });

  it('rejects a segment beyond the end of the file', () => {
    const buf = makeElf({ segs: [{ paddr: 0x8000_0000n, data: [1, 2, 3, 4, 5, 6, 7, 8] }] });
    expect(() => parseElf(buf.slice(0, buf.length - 3))).toThrow(/segment 0 extends beyond the end of the file/);
  });

  it('accepts ET_DYN, skips empty segments, maps the entry through vaddr', () => {
    const elf = parseElf(
      makeElf({
        type: 3,
        entry: 0xffff_ffff_8000_0010n,
        segs: [
          { paddr: 0x8020_0000n, vaddr: 0xffff_ffff_8000_0000n, data: [1, 2, 3, 4], memsz: 0x100n },
          { paddr: 0x9000_0000n, data: [], memsz: 0n },
        ],
      }),
    );
    expect(elf.segments.length).toBe(1);
    expect(elf.symbols).toEqual([]); // stripped: no section headers
    expect(entryPhysical(elf)).toBe(0x8020_0010n);
    expect(entryPhysical({ entry: 0x1234n, segments: elf.segments })).toBe(0x1234n);
  });

  it('reads programmatic symbol tables and rejects broken ones', () => {
    const syms: SymSpec[] = [
      { name: 'f', value: 0x100n, size: 8n, stt: 2 },
      { name: 'undef', value: 0n, shndx: 0 },
      { name: 'abs', value: 5n, shndx: 0xfff1 },
      { name: 'sec', value: 0x100n, stt: 3 },
      { name: 'tls', value: 0x8n, stt: 6 },
      { name: 'ifunc', value: 0x200n, size: 4n, stt: 10 },
      { name: '.Ltmp', value: 0x104n, stt: 0 },
    ];
    const elf = parseElf(makeElf({ syms }));
    expect(elf.symbols.map((s) => [s.name, s.type])).toEqual([
      ['f', 'func'],
      ['ifunc', 'func'],
    ]);
    const bad = makeElf({ syms: [{ name: 'x', value: 1n }] });
    // Point the symbol name past the string table.
    const dv = new DataView(bad.buffer);
    const shoff = Number(dv.getBigUint64(40, true));
    const symtabOff = Number(dv.getBigUint64(shoff + 64 + 24, true));
    dv.setUint32(symtabOff + 24, 0x1000, true);
    expect(() => parseElf(bad)).toThrow(/outside the string table/);
  });

  it('never throws anything but ImageError on truncated or corrupted input', () => {
    const buf = fixture('loader-rv64.elf');
    for (let n = 0; n < buf.length; n++) {
      try {
        parseElf(buf.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
      }
    }
    // Deterministic pseudo-random byte corruption of the headers and tables.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let i = 0; i < 2000; i++) {
      const b = buf.slice();
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        parseElf(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
      }
    }
  });
});

describe('symbolizer', () => {
  it('names addresses in the rv64 fixture', () => {
    const sym = symbolizer(parseElf(fixture('loader-rv64.elf')).symbols);
    expect(sym(0x8000_0000n)).toBe('_start');
    expect(sym(0x8000_000cn)).toBe('_start+0xc');
    expect(sym(0x8000_000en)).toBe('bump');
    expect(sym(0x8000_0018n)).toBe('bump+0xa');
    expect(sym(0x8000_001an)).toBe('after_bump');
    expect(sym(0x8000_001bn)).toBe('after_bump+0x1');
    expect(sym(0x8000_001cn)).toBe('counter');
    expect(sym(0x8000_001fn)).toBe('counter+0x3');
    expect(sym(0x8000_0020n)).toBe('buffer');
    expect(sym(0x8000_005fn)).toBe('buffer+0x3f');
    expect(sym(0x8000_0060n)).toBe('__BSS_END__'); // first of the labels there
    expect(sym(0x8000_0061n)).toBeUndefined(); // past the last label
    expect(sym(0x7fff_ffffn)).toBeUndefined();
  });

  it('prefers sized, innermost, func symbols; labels end at the next symbol', () => {
    const s = (name: string, value: number, size: number, type: ElfSymbol['type']): ElfSymbol => ({
      name,
      value: BigInt(value),
      size: BigInt(size),
      type,
    });
    const sym = symbolizer([
      s('outer', 0x1000, 0x100, 'func'),
      s('inner', 0x1010, 0x10, 'func'),
      s('alias_obj', 0x2000, 0x10, 'object'),
      s('alias_fn', 0x2000, 0x10, 'func'),
      s('label', 0x1008, 0, 'other'),
      s('tail', 0x3000, 0, 'other'),
      s('next', 0x3040, 0x4, 'object'),
    ]);
    expect(sym(0x1008n)).toBe('outer+0x8'); // sized symbol beats the label inside it
    expect(sym(0x1010n)).toBe('inner');
    expect(sym(0x101fn)).toBe('inner+0xf');
    expect(sym(0x1020n)).toBe('outer+0x20');
    expect(sym(0x10ffn)).toBe('outer+0xff');
    expect(sym(0x1100n)).toBeUndefined(); // label's range ended at inner (0x1010)
    expect(sym(0x2004n)).toBe('alias_fn+0x4');
    expect(sym(0x303fn)).toBe('tail+0x3f');
    expect(sym(0x3043n)).toBe('next+0x3');
    expect(sym(0x3044n)).toBeUndefined();
    expect(symbolizer([])(0n)).toBeUndefined();
  });
});
