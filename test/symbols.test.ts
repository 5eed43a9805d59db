/**
 * Symbols beyond the trace's ELF images (src/image/symbols.ts): System.map parsing, ELF /
 * System.map detection, the lookup over several sources (nearest symbol + offset, physical
 * aliases of a raw kernel Image), `SYMBOL+OFFSET` in replay positions, the System.map found next
 * to a raw kernel Image, and `--symbols` on the CLI (replay, events, diff) with a short Linux
 * recording (to start_kernel: ~125k instructions).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSystemMap, looksLikeSystemMap, symbolFileFromBytes, readSymbolFile, riscvImageHeader, kernelAlias,
  symbolSourcesFor, SymbolTable, scanSystemMap, checkSystemMap, kernelLinkRange, symbolsToStore, storedSymbolList, storedSymbolListText,
  symbolListText,
} from '../src/image/symbols.js';
import { ImageError } from '../src/image/loader.js';
import { parsePosition, resolveAddress } from '../src/replay/replayer.js';
import { TraceError } from '../src/trace/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const IMAGE = 'guests/build/linux/Image';
const MAP = 'guests/build/linux/System.map';
const ELF_FIXTURE = `${ROOT}test/fixtures/loader-rv64.elf`;

/** The address of `name` in the bundled System.map, read independently of the code under test. */
function mapAddr(name: string): bigint {
  const line = readFileSync(`${ROOT}${MAP}`, 'latin1').split('\n').find((l) => l.endsWith(` ${name}`) && /^[0-9a-f]{16} [Tt] /.test(l));
  if (!line) throw new Error(`${name} is not in ${MAP}`);
  return BigInt(`0x${line.slice(0, 16)}`);
}

const SAMPLE = `0000000000000200 A PECOFF_FILE_ALIGNMENT
ffffffff80000000 T _start
ffffffff80000040 T relocate_enable_mmu
ffffffff800000ec t setup_trap_vector
ffffffff80001000 T _stext
ffffffff80001000 T _text
ffffffff80001412 W calibrate_delay_is_known
                 U some_undefined
ffffffff80002000 D some_data
ffffffff80002000 T same_address_func
ffffffff80002100 r .LC0
ffffffff80003000 B _end
`;

describe('System.map parsing', () => {
  it('reads ADDRESS TYPE NAME lines; leaves out absolute, undefined and local-label entries', () => {
    const syms = parseSystemMap(SAMPLE);
    expect(syms.map((s) => s.name)).toEqual([
      '_start', 'relocate_enable_mmu', 'setup_trap_vector', '_stext', '_text', 'calibrate_delay_is_known', 'some_data', 'same_address_func', '_end',
    ]);
    const by = new Map(syms.map((s) => [s.name, s]));
    expect(by.get('_start')).toEqual({ name: '_start', value: 0xffffffff80000000n, size: 0n, type: 'func' });
    expect(by.get('setup_trap_vector')!.type).toBe('func');
    expect(by.get('calibrate_delay_is_known')!.type).toBe('func');
    expect(by.get('some_data')!.type).toBe('object');
    expect(by.get('_end')!.type).toBe('object');
  });

  it('a malformed line is a one-line ImageError naming the line', () => {
    expect(() => parseSystemMap('ffffffff80000000 T _start\nthis is not a map line\n', 'x.map')).toThrow(ImageError);
    expect(() => parseSystemMap('ffffffff80000000 T _start\nthis is not a map line\n', 'x.map')).toThrow(/^x\.map: line 2 is not "ADDRESS TYPE NAME"/);
  });

  it('scanSystemMap / checkSystemMap give parseSystemMap\'s count (usable) and _start.._end without the list, and its errors', () => {
    const cases = [
      readFileSync(`${ROOT}${MAP}`, 'latin1'), SAMPLE, '', '\n\n', '  U foo\n', 'w x', 'U  foo bar\n', '12345678901234567 T x\n',
      '1234 Tx y\n', '1234 T\n', '1234  T  $x\n1234 t .Lfoo\n1 A _start\n2 T _start\n9 T _end\n', '\xa0abc T name extra\r\n',
      'abc\tT\tname', 'zz T a', 'v  x  y', '0 ? a\n0 - b\n0 N c\n0 r d\n', 'ABCDEF T _end\n0 T _start\n1 T _start\nFFFFFF T _end',
      '1 T _startx\n2 T _end\n1 T _start\n', '0 T _start\nnot a line\n', '\n\n  junk here\n', '1 A _start\n2 T x\n3 T _end\n',
      '5 T _end\n1 T _start\n', '1 a _start\n', '2 T _start\r\n3 T _end\r\n', '1 T _start_x\n2 T _end\tmore\n',
    ];
    const outcome = (f: () => { count: number; range: unknown }) => {
      try {
        return f();
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
        return (e as Error).message;
      }
    };
    for (const c of cases) {
      const want = outcome(() => { const l = parseSystemMap(c, 'x.map'); return { count: l.length, range: kernelLinkRange(l) }; });
      expect(outcome(() => scanSystemMap(c, 'x.map')), JSON.stringify(c.slice(0, 40))).toEqual(want);
      const check = typeof want === 'string' ? want : { usable: want.count > 0, range: want.range };
      expect(outcome(() => { const r = checkSystemMap(c, 'x.map'); return { count: -1, ...r }; }), JSON.stringify(c.slice(0, 40)))
        .toEqual(typeof check === 'string' ? check : { count: -1, ...check });
    }
  });

  it('symbolsToStore keeps the System.map next to the kernel Image as its text; its stored list is the parsed one', () => {
    const r = symbolsToStore({ kernel: { name: `${ROOT}${IMAGE}`, bytes: new Uint8Array(readFileSync(`${ROOT}${IMAGE}`)) } });
    expect(r.notes).toEqual([]);
    expect(r.stored).toHaveLength(1);
    const text = readFileSync(`${ROOT}${MAP}`, 'latin1');
    expect(r.stored[0]).toMatchObject({ role: 'kernel', format: 'system.map', symbols: [], mapText: text, size: text.length });
    expect(storedSymbolList(r.stored[0]!)).toEqual(parseSystemMap(text, 'x'));
  });

  it('storedSymbolListText of an unparsed System.map is symbolListText of its parsed list', () => {
    const odd = '0000000000000000 T zero\n00000ABCdef01234 D Upper\n  ffff w weak\n1 C common\n2 W Weak\n3 V v\n4 t caf\xe9\n';
    for (const text of [readFileSync(`${ROOT}${MAP}`, 'latin1'), SAMPLE, odd]) {
      const stored = { role: 'kernel', name: 'x.map', format: 'system.map' as const, sha256: '', size: 0, symbols: [], mapText: text };
      const list = parseSystemMap(text, 'x.map');
      expect(storedSymbolListText(stored)).toEqual({ count: list.length, text: symbolListText(list) });
      expect(storedSymbolListText({ ...stored, symbols: list, mapText: undefined })).toEqual({ count: list.length, text: symbolListText(list) });
    }
  });

  it('parses the bundled Linux System.map', () => {
    const syms = parseSystemMap(readFileSync(`${ROOT}${MAP}`, 'latin1'));
    expect(syms.length).toBeGreaterThan(14000);
    for (const n of ['start_kernel', 'do_idle', 'kernel_init', 'smp_callin']) {
      expect(syms.find((s) => s.name === n)?.value, n).toBe(mapAddr(n));
    }
  });
});

describe('symbol files: ELF or System.map by content', () => {
  it('detects each kind', () => {
    expect(looksLikeSystemMap(new TextEncoder().encode(SAMPLE))).toBe(true);
    expect(looksLikeSystemMap(new TextEncoder().encode('# hvtrace\n\nsome text\n'))).toBe(false);
    const map = symbolFileFromBytes('a.map', new TextEncoder().encode(SAMPLE));
    expect(map.format).toBe('system.map');
    expect(map.symbols.length).toBe(9);
    const elf = readSymbolFile(ELF_FIXTURE);
    expect(elf.format).toBe('elf');
    expect(elf.symbols.some((s) => s.name === '_start')).toBe(true);
    expect(readSymbolFile(`${ROOT}${MAP}`).format).toBe('system.map');
  });

  it('anything else is a one-line ImageError', () => {
    expect(() => readSymbolFile(`${ROOT}README.md`)).toThrow(/^--symbols .*README\.md: neither an ELF file nor a System\.map/);
    expect(() => readSymbolFile(`${ROOT}no-such.map`)).toThrow(/^--symbols .*no-such\.map: no such file$/);
    expect(() => readSymbolFile(`${ROOT}guests`)).toThrow(/not a regular file/);
    expect(() => symbolFileFromBytes('x', Uint8Array.from({ length: 64 }, (_, i) => [0x7f, 0x45, 0x4c, 0x46, 1, 1][i] ?? 0))).toThrow(/^--symbols x: 32-bit ELF/);
  });
});

describe('lookup: nearest symbol + offset, names, physical aliases', () => {
  const syms = parseSystemMap(SAMPLE);

  it('names an address by the nearest symbol at or below it, with the offset', () => {
    const t = new SymbolTable([{ name: 'map', format: 'system.map', symbols: syms }]);
    expect(t.symbolize(0xffffffff80000000n)).toBe('_start');
    expect(t.symbolize(0xffffffff80000010n)).toBe('_start+0x10');
    expect(t.symbolize(0xffffffff80000040n)).toBe('relocate_enable_mmu');
    expect(t.symbolize(0xffffffff800000ebn)).toBe('relocate_enable_mmu+0xab');
    // Two names at one address: the function, then the first in the file.
    expect(t.symbolize(0xffffffff80001004n)).toBe('_stext+0x4');
    expect(t.symbolize(0xffffffff80002008n)).toBe('same_address_func+0x8');
    // Below the first symbol, or past the last one: nothing.
    expect(t.symbolize(0xffffffff7ffffffen)).toBeUndefined();
    expect(t.symbolize(0xffffffff80003008n)).toBeUndefined();
  });

  it('finds a name (functions before data), sources in order', () => {
    const other = parseSystemMap('0000000080000000 T relocate_enable_mmu\n0000000080000100 T only_here\n');
    const t = new SymbolTable([
      { name: 'map', format: 'system.map', symbols: syms },
      { name: 'other', format: 'system.map', symbols: other },
    ]);
    expect(t.lookup('relocate_enable_mmu')).toBe(0xffffffff80000040n);
    expect(t.lookup('only_here')).toBe(0x80000100n);
    expect(t.lookup('some_data')).toBe(0xffffffff80002000n);
    expect(t.lookup('nope')).toBeUndefined();
  });

  it('a System.map that describes the raw kernel Image also names its physical addresses', () => {
    const image = new Uint8Array(readFileSync(`${ROOT}${IMAGE}`));
    const hdr = riscvImageHeader(image)!;
    const map = parseSystemMap(readFileSync(`${ROOT}${MAP}`, 'latin1'));
    const end = BigInt(`0x${/^([0-9a-f]{16}) B _end$/m.exec(readFileSync(`${ROOT}${MAP}`, 'latin1'))![1]}`);
    expect(hdr.imageSize).toBe(end - mapAddr('_start'));
    const alias = kernelAlias(map, { bytes: image, base: 0x80200000 })!;
    expect(alias).toEqual({ phys: 0x80200000n, link: 0xffffffff80000000n, size: hdr.imageSize });
    const t = new SymbolTable([{ name: 'System.map', format: 'system.map', symbols: map, alias }]);
    expect(t.symbolize(0x80200000n)).toBe('_start');
    expect(t.symbolize(0x80200044n)).toBe('relocate_enable_mmu+0x4');
    expect(t.symbolize(mapAddr('start_kernel') + 0x28n)).toBe('start_kernel+0x28');
    expect(t.physicalOf(mapAddr('start_kernel'))).toBe(mapAddr('start_kernel') - 0xffffffff80000000n + 0x80200000n);
    // Not for another image (the sizes disagree), nor for an ELF kernel or a non-Linux raw image.
    expect(kernelAlias(parseSystemMap(SAMPLE), { bytes: image, base: 0x80200000 })).toBeNull();
    expect(kernelAlias(map, { bytes: new Uint8Array(readFileSync(ELF_FIXTURE)), base: 0x80200000 })).toBeNull();
    expect(kernelAlias(map, { bytes: new Uint8Array(4096), base: 0x80200000 })).toBeNull();
  });
});

describe('the System.map next to a raw kernel Image', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hvtrace-symbols-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const image = () => new Uint8Array(readFileSync(`${ROOT}${IMAGE}`));

  it('is used when it describes the image (same _end - _start as the header image_size)', () => {
    const r = symbolSourcesFor({ kernel: { name: `${ROOT}${IMAGE}`, bytes: image(), base: 0x80200000 } });
    expect(r.notes).toEqual([]);
    expect(r.sources.length).toBe(1);
    expect(r.sources[0]!.name).toMatch(/System\.map .*guests\/build\/linux\/System\.map \(next to the kernel image\)/);
    expect(new SymbolTable(r.sources).lookup('start_kernel')).toBe(mapAddr('start_kernel'));
    expect(symbolSourcesFor({ kernel: { name: `${ROOT}${IMAGE}`, bytes: image(), base: 0x80200000 }, auto: false }).sources).toEqual([]);
  });

  it('is left out, with a note, when it describes another kernel; no file, no note', () => {
    copyFileSync(`${ROOT}${IMAGE}`, join(dir, 'Image'));
    expect(symbolSourcesFor({ kernel: { name: join(dir, 'Image'), bytes: image(), base: 0x80200000 } })).toEqual({ sources: [], notes: [] });
    writeFileSync(join(dir, 'System.map'), SAMPLE);
    const r = symbolSourcesFor({ kernel: { name: join(dir, 'Image'), bytes: image(), base: 0x80200000 } });
    expect(r.sources).toEqual([]);
    expect(r.notes.length).toBe(1);
    expect(r.notes[0]).toMatch(/System\.map does not describe the kernel image .*Image .*pass --symbols to use it anyway/);
    rmSync(join(dir, 'System.map'));
  });

  it('an explicit System.map of the kernel comes first and replaces the automatic one; ELF kernel symbols before it', () => {
    const file = readSymbolFile(`${ROOT}${MAP}`);
    const r = symbolSourcesFor({
      kernel: { name: `${ROOT}${IMAGE}`, bytes: image(), base: 0x80200000 },
      files: [file],
      elf: [{ role: 'firmware', name: 'fw.elf', symbols: [{ name: 'fw_entry', value: 0x80000000n, size: 4n, type: 'func' }] }],
    });
    expect(r.sources.map((s) => s.name)).toEqual([`System.map ${ROOT}${MAP}`, 'firmware fw.elf']);
    expect(r.sources[0]!.alias?.phys).toBe(0x80200000n);
  });
});

describe('positions: pc:SYMBOL+OFFSET', () => {
  const t = new SymbolTable([{ name: 'System.map x', format: 'system.map', symbols: parseSystemMap(SAMPLE) }]);

  it('parsePosition keeps the symbol text, hit count and hart', () => {
    expect(parsePosition('pc:start_kernel+0x10')).toEqual({ kind: 'pc', addr: 'start_kernel+0x10', hit: 1 });
    expect(parsePosition('pc:do_idle#3')).toEqual({ kind: 'pc', addr: 'do_idle', hit: 3 });
    expect(parsePosition('2:pc:smp_callin+4#2')).toEqual({ kind: 'pc', addr: 'smp_callin+4', hit: 2, hart: 2 });
    expect(() => parsePosition('pc:x#0')).toThrow(TraceError);
    expect(() => parsePosition('bogus')).toThrow(/SYMBOL\+OFFSET/);
  });

  it('resolveAddress: hex, symbol, symbol+hex, symbol+decimal; unknown names list the sources', () => {
    expect(resolveAddress(t, '0xffffffff80000040')).toBe(0xffffffff80000040n);
    expect(resolveAddress(t, 'relocate_enable_mmu')).toBe(0xffffffff80000040n);
    expect(resolveAddress(t, 'relocate_enable_mmu+0x10')).toBe(0xffffffff80000050n);
    expect(resolveAddress(t, 'relocate_enable_mmu+16')).toBe(0xffffffff80000050n);
    expect(resolveAddress(t, '80200000')).toBe(0x80200000n);
    expect(() => resolveAddress(t, 'start_kernel')).toThrow(TraceError);
    expect(() => resolveAddress(t, 'start_kernel')).toThrow(/^--to pc:start_kernel: no symbol "start_kernel" in System\.map x; give a hex address/);
    expect(() => resolveAddress(new SymbolTable([]), 'start_kernel')).toThrow(/a raw kernel needs --symbols System\.map/);
  });
});

// ---------------------------------------------------------------------------------------------
// the CLI, on a short Linux recording of a kernel Image with no System.map next to it
// ---------------------------------------------------------------------------------------------

describe('--symbols on the CLI (replay, events, diff)', () => {
  let dir = '';
  let trace = '';
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '', maxBuffer: 64 << 20 });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hvtrace-symbols-cli-'));
    copyFileSync(`${ROOT}${IMAGE}`, join(dir, 'Image'));
    trace = join(dir, 'start.trace');
    // Past start_kernel (instruction ~125k on the built-in SBI): the instruction limit ends it.
    const r = cli(['record', '--kernel', join(dir, 'Image'), '--append', 'console=ttyS0', '--max-insns', '300000', '-o', trace, '-q']);
    expect(r.status, r.stderr).toBe(4);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replay --to pc:start_kernel needs the System.map: without it a one-line error naming the remedy', () => {
    const r = cli(['replay', trace, '--to', 'pc:start_kernel']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no symbol "start_kernel" in the trace \(.*--symbols System\.map\)/);
  });

  it('replay --to pc:start_kernel --symbols System.map lands there (text and JSON)', () => {
    const addr = mapAddr('start_kernel');
    const r = cli(['replay', trace, '--to', 'pc:start_kernel', '--symbols', MAP, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const h = j.harts.find((x: { id: number }) => x.id === j.hart);
    expect(BigInt(h.pc)).toBe(addr);
    expect(h.symbol).toBe('start_kernel');
    expect(h.priv).toBe(1);
    expect(h.disasm.find((l: { current: boolean }) => l.current).symbol).toBe('start_kernel');

    const t = cli(['replay', trace, '--to', 'pc:start_kernel+0x2', '--symbols', MAP]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain(`pc 0x${(addr + 2n).toString(16)} <start_kernel+0x2>  priv S`);
    expect(t.stdout).toMatch(/=> 0xffffffff[0-9a-f]+ <start_kernel\+0x2>:/);
  });

  it('events --symbols names kernel pcs and disassembles them; before the MMU is on, physical pcs too', () => {
    const r = cli(['events', trace, '--kind', 'csr_write', '--symbols', MAP, '--limit', '60']);
    expect(r.status, r.stderr).toBe(0);
    // satp is written in relocate_enable_mmu, at its physical address (MMU still off).
    expect(r.stdout).toMatch(/0x802000[0-9a-f]{2} <relocate_enable_mmu\+0x[0-9a-f]+>\s+csr_write\s+satp .*\| csrw\tsatp,/);
    expect(r.stdout).toMatch(/0xffffffff[0-9a-f]+ <start_kernel\+0x[0-9a-f]+>\s+csr_write\s+sstatus .*\| csr/);
    const plain = cli(['events', trace, '--kind', 'csr_write', '--limit', '60']);
    expect(plain.stdout).not.toContain('start_kernel');
  });

  it('a file that is neither ELF nor System.map: one line, exit 2, for each command', () => {
    for (const args of [['replay', trace, '--to', 'pc:start_kernel'], ['events', trace], ['diff', trace, trace]]) {
      const r = cli([...args, '--symbols', 'README.md']);
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr.trim()).toBe('hvtrace: --symbols README.md: neither an ELF file nor a System.map ("ADDRESS TYPE NAME" lines)');
    }
  });

  it('diff and whole-trace replay accept --symbols (ELF files too, repeatable)', () => {
    const d = cli(['diff', trace, trace, '--symbols', MAP, '--symbols', 'test/fixtures/loader-rv64.elf']);
    expect(d.status, d.stdout + d.stderr).toBe(0);
    const r = cli(['replay', trace, '--symbols', MAP]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('match');
  });

  it('a System.map put next to the image is picked up without --symbols', () => {
    copyFileSync(`${ROOT}${MAP}`, join(dir, 'System.map'));
    try {
      const r = cli(['replay', trace, '--to', 'pc:start_kernel', '--events', '0']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`pc 0x${mapAddr('start_kernel').toString(16)} <start_kernel>  priv S`);
    } finally {
      rmSync(join(dir, 'System.map'));
    }
  });
});
