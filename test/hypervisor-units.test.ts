/**
 * Unit tests of the built-in hypervisor's parts: the Sv39x4 GuestPageTable it builds in RAM,
 * the MMIO instruction decoder (every load/store width, RVC forms, transformed htinst), the
 * virtual PLIC, and the guest memory map / device tree.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Bus } from '../src/mem/bus.js';
import { parseDtb, fdtFindNode, fdtGetProp, fdtStrings, fdtU32s } from '../src/devices/fdt.js';
import {
  GuestPageTable, FrameAllocator, PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D, ROOT_SIZE,
} from '../src/hypervisor/gpt.js';
import { decodeMmioInsn, decodeHtinst, isImplicitAccessPseudo, extendLoad } from '../src/hypervisor/mmio.js';
import { VirtPlic } from '../src/hypervisor/vplic.js';
import { planGuests, guestIsa } from '../src/hypervisor/config.js';
import { encI, encS, encAmo, a0, a1 } from './hart/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function table(): { bus: Bus; gpt: GuestPageTable; frames: FrameAllocator } {
  const bus = new Bus(0x8000_0000, 16 * MiB);
  const frames = new FrameAllocator(0x8040_0000, 0x8080_0000);
  return { bus, gpt: new GuestPageTable(bus, frames), frames };
}
const pte = (bus: Bus, pa: number): bigint => bus.dv.getBigUint64(bus.ramOffset + pa - bus.ramBase, true);

describe('GuestPageTable (Sv39x4, built in RAM)', () => {
  it('has a 16 KiB-aligned 16 KiB root and encodes hgatp as MODE 8 | VMID | PPN', () => {
    const { gpt, frames } = table();
    expect(gpt.root % ROOT_SIZE).toBe(0);
    expect(frames.next - gpt.root).toBe(16 * 1024);
    expect(gpt.hgatp(5)).toBe((8n << 60n) | (5n << 44n) | BigInt(gpt.root / 4096));
  });

  it('uses 1 GiB, 2 MiB and 4 KiB leaves where GPA and HPA are aligned', () => {
    const { gpt } = table();
    gpt.map(0x4000_0000, 0x8000_0000, GiB, PTE_R | PTE_W | PTE_X); // both 1 GiB aligned
    gpt.map(0x8000_0000, 0x9000_0000, 4 * MiB + 8192, PTE_R | PTE_W | PTE_X); // 2 MiB + 4 KiB
    gpt.map(0x0c00_0000, 0x0c00_1000, 2 * MiB, PTE_R | PTE_W); // HPA not 2 MiB aligned: 4 KiB pages
    expect(gpt.walk(0x4000_0000)!.level).toBe(2);
    expect(gpt.translate(0x4123_4567)).toBe(0x8123_4567);
    expect(gpt.walk(0x8000_0000)!.level).toBe(1);
    expect(gpt.walk(0x8020_0000)!.level).toBe(1);
    expect(gpt.translate(0x8030_0010)).toBe(0x9030_0010);
    expect(gpt.walk(0x8040_0000)!.level).toBe(0);
    expect(gpt.walk(0x8040_1000)!.level).toBe(0);
    expect(gpt.walk(0x8040_2000)).toBeNull();
    expect(gpt.walk(0x0c00_0000)!.level).toBe(0);
    expect(gpt.translate(0x0c1f_fffc)).toBe(0x0c20_0ffc);
    expect(gpt.walk(0x0c20_0000)).toBeNull();
  });

  it('leaves have U = 1, A and D preset and the requested permissions; non-leaves only V', () => {
    const { bus, gpt } = table();
    gpt.map(0x9000_0000, 0x9000_0000, 2 * MiB, PTE_R | PTE_W | PTE_X);
    gpt.map(0x1000_0000, 0x1000_0000, 4096, PTE_R | PTE_W);
    const ram = gpt.walk(0x9000_0000)!;
    expect(ram.flags).toBe(PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
    const dev = gpt.walk(0x1000_0000)!;
    expect(dev.flags).toBe(PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    // The root entry for GPA 0x9000_0000 (index 2) points to a level-1 table with V only.
    const rootPte = pte(bus, gpt.root + 2 * 8);
    expect(rootPte & 0xffn).toBe(BigInt(PTE_V));
    // The PTE's PPN field holds the HPA.
    expect(pte(bus, ram.pteAddr) >> 10n).toBe(BigInt(0x9000_0000 / 4096));
  });

  it('the root has 2048 entries: GPAs up to 2^41 (two more bits than Sv39)', () => {
    const { gpt } = table();
    gpt.map(2 ** 40 + 0x4000_0000, 0x8000_0000, GiB, PTE_R);
    expect(gpt.walk(2 ** 40 + 0x4000_0000)!.level).toBe(2);
    expect(gpt.translate(2 ** 40 + 0x4000_0010)).toBe(0x8000_0010);
    expect(gpt.translate(0x4000_0010)).toBeNull(); // root index 1024 + 1, not 1
    expect(() => gpt.map(2 ** 41, 0x8000_0000, 4096, PTE_R)).toThrow(/41-bit/);
  });

  it('rejects overlapping, unaligned and W-without-R mappings', () => {
    const { gpt } = table();
    gpt.map(0x8000_0000, 0x8000_0000, 2 * MiB, PTE_R | PTE_W);
    expect(() => gpt.map(0x8010_0000, 0x8010_0000, 4096, PTE_R)).toThrow(/already mapped/);
    expect(() => gpt.map(0x8000_0000, 0x8000_0000, 2 * MiB, PTE_R)).toThrow(/already mapped/);
    expect(() => gpt.map(0x1234, 0x8000_0000, 4096, PTE_R)).toThrow(/unaligned/);
    expect(() => gpt.map(0x9000_0000, 0x9000_0000, 4096, PTE_W)).toThrow(/permissions/);
  });
});

describe('MMIO instruction decoder', () => {
  const LOAD = 0x03, STORE = 0x23, LOAD_FP = 0x07, STORE_FP = 0x27;
  it('decodes every 32-bit integer load and store width', () => {
    const loads: [number, number, boolean][] = [[0, 1, true], [1, 2, true], [2, 4, true], [3, 8, false], [4, 1, false], [5, 2, false], [6, 4, false]];
    for (const [f3, size, signed] of loads) {
      expect(decodeMmioInsn(encI(LOAD, a0, f3, a1, 16))).toEqual({ store: false, size, signed, fp: false, reg: a0, length: 4 });
    }
    for (const [f3, size] of [[0, 1], [1, 2], [2, 4], [3, 8]] as const) {
      expect(decodeMmioInsn(encS(STORE, f3, a1, a0, -8))).toEqual({ store: true, size, signed: false, fp: false, reg: a0, length: 4 });
    }
    expect(decodeMmioInsn(encI(LOAD, a0, 7, a1, 0))).toBeNull(); // no such load
    expect(decodeMmioInsn(encS(STORE, 4, a1, a0, 0))).toBeNull();
  });

  it('decodes FP loads and stores (f registers)', () => {
    expect(decodeMmioInsn(encI(LOAD_FP, 3, 2, a1, 0))).toEqual({ store: false, size: 4, signed: false, fp: true, reg: 3, length: 4 });
    expect(decodeMmioInsn(encI(LOAD_FP, 3, 3, a1, 0))).toEqual({ store: false, size: 8, signed: false, fp: true, reg: 3, length: 4 });
    expect(decodeMmioInsn(encS(STORE_FP, 2, a1, 4, 0))).toEqual({ store: true, size: 4, signed: false, fp: true, reg: 4, length: 4 });
    expect(decodeMmioInsn(encS(STORE_FP, 3, a1, 4, 0))).toEqual({ store: true, size: 8, signed: false, fp: true, reg: 4, length: 4 });
  });

  it('decodes the compressed loads and stores (RV64C)', () => {
    const c = (h: number) => decodeMmioInsn(h);
    // Register-based forms: rd'/rs2' = a0 (x10), rs1' = s0 (x8).
    expect(c(0x4008)).toEqual({ store: false, size: 4, signed: true, fp: false, reg: a0, length: 2 }); // c.lw
    expect(c(0x6008)).toEqual({ store: false, size: 8, signed: false, fp: false, reg: a0, length: 2 }); // c.ld
    expect(c(0xc008)).toEqual({ store: true, size: 4, signed: false, fp: false, reg: a0, length: 2 }); // c.sw
    expect(c(0xe008)).toEqual({ store: true, size: 8, signed: false, fp: false, reg: a0, length: 2 }); // c.sd
    expect(c(0x2008)).toEqual({ store: false, size: 8, signed: false, fp: true, reg: 10, length: 2 }); // c.fld fa0
    expect(c(0xa008)).toEqual({ store: true, size: 8, signed: false, fp: true, reg: 10, length: 2 }); // c.fsd fa0
    // SP-based forms.
    expect(c(0x4502)).toEqual({ store: false, size: 4, signed: true, fp: false, reg: a0, length: 2 }); // c.lwsp a0
    expect(c(0x6502)).toEqual({ store: false, size: 8, signed: false, fp: false, reg: a0, length: 2 }); // c.ldsp a0
    expect(c(0x2502)).toEqual({ store: false, size: 8, signed: false, fp: true, reg: 10, length: 2 }); // c.fldsp fa0
    expect(c(0xc02a)).toEqual({ store: true, size: 4, signed: false, fp: false, reg: a0, length: 2 }); // c.swsp a0
    expect(c(0xe02a)).toEqual({ store: true, size: 8, signed: false, fp: false, reg: a0, length: 2 }); // c.sdsp a0
    expect(c(0xa02a)).toEqual({ store: true, size: 8, signed: false, fp: true, reg: 10, length: 2 }); // c.fsdsp fa0
    expect(c(0x4002)).toBeNull(); // c.lwsp x0: reserved
    expect(c(0x0001)).toBeNull(); // c.nop
  });

  it('does not emulate atomics or other instructions', () => {
    expect(decodeMmioInsn(encAmo(0x01, 2, a0, a1, a0))).toBeNull(); // amoswap.w
    expect(decodeMmioInsn(encAmo(0x02, 3, a0, a1, 0))).toBeNull(); // lr.d
    expect(decodeMmioInsn(0x00000073)).toBeNull(); // ecall
  });

  it('decodes transformed htinst values (priv spec §8.6.3), and tells pseudoinstructions apart', () => {
    // lw a0, 0(a1) transformed: offset fields zero, bit 1 = 1 for a 32-bit instruction.
    expect(decodeHtinst(BigInt(encI(LOAD, a0, 2, 0, 0)))).toEqual({ store: false, size: 4, signed: true, fp: false, reg: a0, length: 4 });
    // c.sd a0, ...: expanded to sd, bit 1 cleared.
    expect(decodeHtinst(BigInt(encS(STORE, 3, 0, a0, 0) & ~2))).toEqual({ store: true, size: 8, signed: false, fp: false, reg: a0, length: 2 });
    expect(decodeHtinst(0n)).toBeNull();
    for (const p of [0x2000n, 0x3000n, 0x2020n, 0x3020n]) {
      expect(decodeHtinst(p)).toBeNull();
      expect(isImplicitAccessPseudo(p)).toBe(true);
    }
    expect(isImplicitAccessPseudo(0n)).toBe(false);
  });

  it('extends loaded values as the instruction does', () => {
    const lb = decodeMmioInsn(encI(LOAD, a0, 0, a1, 0))!;
    const lbu = decodeMmioInsn(encI(LOAD, a0, 4, a1, 0))!;
    const lw = decodeMmioInsn(encI(LOAD, a0, 2, a1, 0))!;
    const flw = decodeMmioInsn(encI(LOAD_FP, 1, 2, a1, 0))!;
    expect(extendLoad(0x80n, lb)).toBe(0xffffffffffffff80n);
    expect(extendLoad(0x80n, lbu)).toBe(0x80n);
    expect(extendLoad(0x1_8000_0000n, lw)).toBe(0xffffffff80000000n);
    expect(extendLoad(0x3f800000n, flw)).toBe(0xffffffff3f800000n); // NaN-boxed
  });
});

describe('virtual PLIC', () => {
  const prio = (irq: number): number => (irq === 10 ? 1 : irq === 11 ? 3 : 2);
  it('claims the highest-priority queued source above the threshold, completes through the claiming context', () => {
    const p = new VirtPlic(4);
    expect(p.level(1, prio)).toBe(false);
    p.deliver(1, 10, 1);
    p.deliver(1, 11, 1);
    p.deliver(1, 12, 3);
    expect(p.level(1, prio)).toBe(true);
    expect(p.claim(1, prio)).toBe(11); // priority 3
    p.setThreshold(1, 2);
    expect(p.claim(1, prio)).toBe(0); // 12 has priority 2: not above the threshold
    p.setThreshold(1, 9); // WARL: 3 bits
    expect(p.getThreshold(1)).toBe(1);
    expect(p.claim(1, prio)).toBe(12);
    expect(p.claim(1, prio)).toBe(0); // 10 has priority 1
    expect(p.complete(1, 12)).toBe(3);
    expect(p.complete(1, 12)).toBe(-1); // not in service any more
    expect(p.complete(1, 11)).toBe(1);
    expect(p.complete(3, 10)).toBe(-1); // another context
  });

  it('saves and restores its state exactly', () => {
    const p = new VirtPlic(2);
    p.deliver(1, 10, 1);
    p.deliver(1, 5, 1);
    p.claim(1, () => 1);
    p.setThreshold(0, 4);
    const q = new VirtPlic(2);
    q.restoreState(structuredClone(p.saveState()));
    expect(q.saveState()).toEqual(p.saveState());
    expect(q.complete(1, 5)).toBe(1);
    expect(q.claim(1, () => 1)).toBe(10);
  });
});

describe('guest memory map and device tree', () => {
  const elfOf = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(`${ROOT}guests/build/${name}`)) });
  it('ELF guests linked for the virt board run at their addresses; raw images at 0x9020_0000 (GPA = HPA)', () => {
    const [elf, raw] = planGuests([
      { image: elfOf('hello.elf'), vcpus: 2, memSize: 128 * MiB },
      { image: { name: 'raw', bytes: new Uint8Array(4096) }, vcpus: 1, memSize: 64 * MiB, append: 'console=hvc0' },
    ], 'rv64imafdch_zicsr_sstc');
    expect(elf!.gpaBase).toBe(0x8000_0000);
    expect(elf!.hpaBase).toBe(0x9000_0000);
    expect(elf!.entry).toBe(0x8020_0000);
    expect(elf!.dtbGpa).toBe(0x8000_0000);
    expect(raw!.gpaBase).toBe(0x9000_0000);
    expect(raw!.hpaBase).toBe(0x9000_0000 + 128 * MiB); // VM 1 after VM 0
    expect(raw!.entry).toBe(0x9020_0000);
    expect(raw!.dtbGpa).toBe(0x9000_0000);

    const dt = parseDtb(elf!.dtb);
    expect(fdtFindNode(dt.root, '/soc/clint')).toBeUndefined(); // no CLINT for guests
    expect(fdtFindNode(dt.root, '/soc/plic')).toBeDefined();
    expect(fdtFindNode(dt.root, '/cpus/cpu@1')).toBeDefined();
    expect(fdtFindNode(dt.root, '/cpus/cpu@2')).toBeUndefined();
    expect(fdtStrings(fdtGetProp(fdtFindNode(dt.root, '/cpus/cpu@0')!, 'riscv,isa')!)).toEqual(['rv64imafdc_zicsr_sstc']);
    expect(fdtU32s(fdtGetProp(fdtFindNode(dt.root, '/memory@80000000')!, 'reg')!)).toEqual([0, 0x8000_0000, 0, 128 * MiB]);
    const dt2 = parseDtb(raw!.dtb);
    expect(fdtStrings(fdtGetProp(fdtFindNode(dt2.root, '/chosen')!, 'bootargs')!)).toEqual(['console=hvc0']);
  });

  it('places a guest initrd as QEMU does (kernel + min(RAM / 2, 128 MiB)) and names it in the guest DTB', () => {
    const [p] = planGuests([{
      image: { name: 'raw', bytes: new Uint8Array(8192) }, vcpus: 1, memSize: 64 * MiB,
      initrd: { name: 'rd', bytes: new Uint8Array(4096) },
    }], 'rv64imafdch');
    const chosen = fdtFindNode(parseDtb(p!.dtb).root, '/chosen')!;
    expect(fdtU32s(fdtGetProp(chosen, 'linux,initrd-start')!)).toEqual([0x9220_0000]);
    expect(fdtU32s(fdtGetProp(chosen, 'linux,initrd-end')!)).toEqual([0x9220_1000]);
    expect(p!.regions.map((r) => [r.role, r.base, r.size])).toEqual([
      ['guest0', 0x9020_0000, 8192], ['guest0-initrd', 0x9220_0000, 4096], ['guest0-dtb', 0x9000_0000, p!.dtb.length],
    ]);
  });

  it('guest ISA strings drop H', () => {
    expect(guestIsa('rv64imafdch_zicsr_zifencei_zihintpause_zicntr_sstc')).toBe('rv64imafdc_zicsr_zifencei_zihintpause_zicntr_sstc');
  });

  it('rejects images that do not fit and bad vCPU counts with one line', () => {
    expect(() => planGuests([{ image: { name: 'big', bytes: new Uint8Array(20 * MiB) }, vcpus: 1, memSize: 16 * MiB }], 'rv64imafdch'))
      .toThrow(/do not fit in 16 MiB of guest RAM/);
    expect(() => planGuests([{ image: elfOf('hello.elf'), vcpus: 9, memSize: 16 * MiB }], 'rv64imafdch')).toThrow(/--vcpus must be between 1 and 8/);
  });
});
