/**
 * Guest code in the trace views: with the built-in hypervisor, a pc with V = 1 (and the pc of a
 * `vm_exit` / `vm_entry`) is a guest address, named and disassembled from the guest's image in
 * the guest's address space (src/trace/code.ts, src/replay/replayer.ts CodeView,
 * src/image/symbols.ts SymbolSource.vm):
 *  - `hvtrace events` on a recorded `--guest guests/build/hello.elf` run: the guest's ecalls (VS
 *    traps, VM exits, SBI calls) with the guest function and `ecall`; the hypervisor's own
 *    (HS-mode) events at the same addresses are not named with the guest's symbols;
 *  - `hvtrace replay --to pc:main` lands in the guest (VS) and shows the guest's code, read
 *    through the G-stage (guest RAM at GPA 0x8000_0000 is host RAM at 0x9000_0000);
 *  - `hvtrace info` lists the guests;
 *  - two VMs (`--guest A --guest B`): each VM's pcs are named with its own image's symbols;
 *  - the System.map next to a raw guest Image names that guest's addresses, guest-physical ones
 *    included, and only those.
 *
 * The expected symbols and instruction bytes are read from the ELF files with the loader, not
 * with the code under test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseElf, type ElfImage } from '../src/image/loader.js';
import { HOST_SPACE, SymbolTable, symbolSourcesFor } from '../src/image/symbols.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const HELLO = 'guests/build/hello.elf';
const SMP = 'guests/build/smp-kernel.elf';
const IMAGE = 'guests/build/linux/Image';
const MAP = 'guests/build/linux/System.map';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-guest-code-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function ok(args: string[]): string {
  const r = cli(args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const jsonLines = (s: string): any[] => s.trim().split('\n').map((l) => JSON.parse(l));
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** An ELF's function symbols, and `func+0x..` / the instruction bits at an address. */
class Elf {
  readonly elf: ElfImage;
  constructor(path: string) {
    this.elf = parseElf(new Uint8Array(readFileSync(`${ROOT}${path}`)));
  }
  addr(name: string): bigint {
    const s = this.elf.symbols.find((x) => x.name === name && x.type === 'func');
    if (!s) throw new Error(`no function ${name}`);
    return s.value;
  }
  /** The function containing a (by its size), as `name` or `name+0x..`. */
  funcAt(a: bigint): string | undefined {
    const s = this.elf.symbols.find((x) => x.type === 'func' && a >= x.value && a < x.value + (x.size || 1n));
    return s ? (a === s.value ? s.name : `${s.name}+${hex(a - s.value)}`) : undefined;
  }
  word(a: bigint): number {
    for (const g of this.elf.segments) {
      if (a >= g.vaddr && a + 4n <= g.vaddr + BigInt(g.data.length)) {
        const o = Number(a - g.vaddr);
        return (g.data[o]! | (g.data[o + 1]! << 8) | (g.data[o + 2]! << 16) | (g.data[o + 3]! << 24)) >>> 0;
      }
    }
    throw new Error(`${hex(a)} is not in the image`);
  }
}

describe('one guest: hello.elf under the built-in hypervisor', () => {
  const hello = new Elf(HELLO);
  let trace = '';
  beforeAll(() => {
    trace = join(dir, 'hello-guest.trace');
    const out = ok(['record', '--guest', HELLO, '-o', trace, '-q']);
    expect(out).toContain('Hello');
  });

  it('info lists the guest: image, vCPUs, memory', () => {
    const text = ok(['info', trace]);
    expect(text).toContain('bios builtin, built-in hypervisor with 1 guest');
    expect(text).toContain(`guest0:       ${HELLO}, 1 vCPU, 128 MiB RAM\n`);
    const j = JSON.parse(ok(['info', trace, '--json']));
    expect(j.config.machine.guests).toEqual([expect.objectContaining({ vcpus: 1, memSize: 128 << 20, image: expect.objectContaining({ name: HELLO }) })]);
  });

  it('events: a VS-mode ecall trap has the guest function and `ecall`; its VM exit and SBI call too', () => {
    const evs = jsonLines(ok(['events', trace, '--json']));
    const traps = evs.filter((e) => e.kind === 'trap' && e.virt && e.a === '0xa');
    expect(traps.length).toBeGreaterThan(3);
    for (const e of traps) {
      const pc = BigInt(e.pc);
      expect(pc >= 0x80200000n && pc < 0x80300000n, e.pc).toBe(true);
      expect(hello.word(pc)).toBe(0x00000073); // ecall
      expect(e.insn).toBe('ecall');
      expect(e.symbol).toBe(hello.funcAt(pc));
      expect(e.symbol).toMatch(/^sbi_/);
      // The VM exit and the SBI call of this ecall: same guest pc, same symbol and instruction.
      const exit = evs.find((x) => x.seq > e.seq && x.kind === 'vm_exit');
      expect(exit).toMatchObject({ pc: e.pc, virt: false, symbol: e.symbol, insn: 'ecall' });
      expect(exit.text).toMatch(/^vm 0 vcpu 0: sbi_call (BASE|DBCN|SRST)$/);
      const call = evs.find((x) => x.seq > e.seq && x.kind === 'sbi_call');
      expect(call).toMatchObject({ pc: e.pc, virt: true, symbol: e.symbol, insn: 'ecall' });
    }
    // The text view: priv VS, <symbol>, the trap from VS into the hypervisor (HS), the code.
    const e = traps[0]!;
    const line = ok(['events', trace, '--from', String(e.seq), '--to', String(e.seq)]).trim();
    expect(line).toMatch(new RegExp(`^\\s*${e.seq}  h0 VS vt=\\d+ i=\\d+  ${e.pc} <${e.symbol.replace('+', '\\+')}>  trap +exception 10 \\(ecall from VS\\) .*\\[VS->HS\\]  \\| ecall$`));
  });

  it('events: the hypervisor\'s own events (V = 0) are not named with the guest\'s symbols', () => {
    const evs = jsonLines(ok(['events', trace, '--json']));
    // Its boot writes and sret run at 0x8020_0000 (host), where the guest's _start is (guest).
    const host = evs.filter((e) => !e.virt && e.kind !== 'vm_exit' && e.kind !== 'vm_entry' && BigInt(e.pc) >= 0x80200000n && BigInt(e.pc) < 0x80300000n);
    expect(host.length).toBeGreaterThan(5);
    for (const e of host) {
      expect(e.symbol, `#${e.seq} ${e.kind} ${e.pc}`).toBeUndefined();
      expect(e.insn, `#${e.seq} ${e.kind} ${e.pc}`).toBeUndefined();
    }
    // The first vm_entry enters the guest at its entry point, the guest's first instruction.
    const entry = evs.find((e) => e.kind === 'vm_entry');
    expect(BigInt(entry.pc)).toBe(hello.elf.entry);
    expect(entry.symbol).toBeDefined();
    expect(entry.insn).toBeDefined();
    expect(entry.text).toBe('vm 0 vcpu 0');
  });

  it('replay --to pc:main lands in the guest (VS) and shows its code through the G-stage', () => {
    const main = hello.addr('main');
    const s = JSON.parse(ok(['replay', trace, '--to', 'pc:main', '--json', '--events', '2']));
    expect(s.divergence).toBeNull();
    const h = s.harts[0];
    expect(BigInt(h.pc)).toBe(main);
    expect(h).toMatchObject({ symbol: 'main', priv: 1, virt: true, state: 'running' });
    expect(BigInt(h.csrs.hgatp) >> 60n).toBe(8n); // Sv39x4: GPA 0x8020_0000 is not host 0x8020_0000
    const cur = h.disasm.find((l: { current: boolean }) => l.current);
    expect(cur).toMatchObject({ pc: hex(main), symbol: 'main' });
    const bits = hello.word(main);
    expect(BigInt(cur.raw)).toBe(BigInt((bits & 3) === 3 ? bits : bits & 0xffff));
    for (const l of h.disasm) expect(l.symbol, l.pc).toBe(hello.funcAt(BigInt(l.pc)) ?? l.symbol);
    const text = ok(['replay', trace, '--to', 'pc:main', '--events', '2']);
    expect(text).toContain(`hart 0 *: pc ${hex(main)} <main>  priv VS`);
    expect(text).toMatch(/hgatp 0x8/);
    expect(text).toMatch(new RegExp(`=> ${hex(main)} <main>:`));
  });
});

describe('two VMs: --guest hello.elf --guest smp-kernel.elf', () => {
  const hello = new Elf(HELLO);
  const smp = new Elf(SMP);
  let trace = '';
  beforeAll(() => {
    trace = join(dir, 'two-guests.trace');
    ok(['record', '--guest', HELLO, '--guest', SMP, '--smp', '2', '-o', trace, '-q']);
  });

  it('info lists both guests', () => {
    const text = ok(['info', trace]);
    expect(text).toContain('built-in hypervisor with 2 guests');
    expect(text).toContain(`guest0:       ${HELLO}, 1 vCPU, 128 MiB RAM\n`);
    expect(text).toContain(`guest1:       ${SMP}, 1 vCPU, 128 MiB RAM\n`);
  });

  it('events: each VM\'s pcs are named from its own image (both are linked at 0x80200000)', () => {
    const evs = jsonLines(ok(['events', trace, '--kind', 'trap,vm_exit', '--json']));
    // VM k's vCPU 0 runs on hart k.
    const named = evs.filter((e) => e.virt || e.kind === 'vm_exit');
    const seen = new Set<number>();
    for (const e of named) {
      const elf = e.hart === 0 ? hello : smp;
      const pc = BigInt(e.pc);
      if (elf.funcAt(pc) === undefined) continue;
      expect(e.symbol, `#${e.seq} hart ${e.hart} ${e.pc}`).toBe(elf.funcAt(pc));
      seen.add(e.hart);
    }
    expect([...seen].sort()).toEqual([0, 1]);
    expect(evs.some((e) => e.kind === 'vm_exit' && e.text.startsWith('vm 1 vcpu 0: '))).toBe(true);
  });

  it('replay --to pc:SYMBOL lands in the VM whose symbol it is', () => {
    const k = JSON.parse(ok(['replay', trace, '--to', 'pc:kmain', '--json', '--events', '0']));
    expect(k.hart).toBe(1);
    expect(k.harts[1]).toMatchObject({ pc: hex(smp.addr('kmain')), symbol: 'kmain', priv: 1, virt: true });
    const m = JSON.parse(ok(['replay', trace, '--to', 'pc:main', '--json', '--events', '0']));
    expect(m.hart).toBe(0);
    expect(m.harts[0]).toMatchObject({ pc: hex(hello.addr('main')), symbol: 'main', priv: 1, virt: true });
  });
});

describe('the System.map next to a raw guest Image', () => {
  it('names that guest\'s addresses (guest-virtual and guest-physical), not the host\'s', () => {
    const bytes = new Uint8Array(readFileSync(`${ROOT}${IMAGE}`));
    const r = symbolSourcesFor({ guests: [{ vm: 0, name: `${ROOT}${IMAGE}`, bytes, base: 0x90200000 }] });
    expect(r.notes).toEqual([]);
    expect(r.sources).toHaveLength(1);
    expect(r.sources[0]).toMatchObject({ vm: 0, format: 'system.map', alias: { phys: 0x90200000n, link: 0xffffffff80000000n } });
    expect(r.sources[0]!.name).toContain('next to the guest image');
    const t = new SymbolTable(r.sources);
    const map = readFileSync(`${ROOT}${MAP}`, 'latin1');
    const sk = BigInt(`0x${/^([0-9a-f]{16}) T start_kernel$/m.exec(map)![1]}`);
    expect(t.symbolize(sk, 0)).toBe('start_kernel');
    expect(t.symbolize(sk - 0xffffffff80000000n + 0x90200000n, 0)).toBe('start_kernel');
    expect(t.symbolize(sk, HOST_SPACE)).toBeUndefined();
    expect(t.symbolize(0x90200000n, HOST_SPACE)).toBeUndefined();
    expect(t.symbolize(sk)).toBe('start_kernel'); // no space known: every source
    expect(t.find('start_kernel')).toEqual({ value: sk, vm: 0 });
    // Given with --symbols, the same map is recognised as the guest's.
    const f = { ...r.sources[0]!, alias: undefined, vm: undefined, path: MAP, name: `System.map ${MAP}` };
    const g = symbolSourcesFor({ guests: [{ vm: 0, name: 'elsewhere/Image', bytes, base: 0x90200000 }], files: [f] });
    expect(g.sources).toHaveLength(1);
    expect(g.sources[0]).toMatchObject({ vm: 0, alias: { phys: 0x90200000n } });
  });
});
