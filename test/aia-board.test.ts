/**
 * The AIA board (src/board/machine.ts buildAia): what replaces the PLIC, how device lines, APLIC
 * MSIs and IMSIC files reach each hart, and that the machine snapshot carries the AIA devices.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/board/machine.js';
import { Aplic } from '../src/devices/aplic.js';
import { Imsic } from '../src/devices/imsic.js';
import { parseDtb } from '../src/devices/fdt.js';

const MEIP = 1 << 11, SEIP = 1 << 9;
// jal x0, 0: a kernel that spins (the tests drive the devices directly)
const SPIN = Uint8Array.of(0x6f, 0x00, 0x00, 0x00);

function board(mode: 'aplic' | 'aplic-imsic', harts = 2, guests = 0) {
  const m = new Machine({ ramSize: 64 << 20, harts, bios: 'none', kernel: { name: 'spin', bytes: SPIN }, aia: { mode, guests } });
  const w = (pa: number, v: number) => { const d = m.bus.findDevice(pa, 4)!; d.write(pa - d.base, 4, BigInt(v)); };
  const r = (pa: number) => { const d = m.bus.findDevice(pa, 4)!; return Number(d.read(pa - d.base, 4)); };
  return { m, w, r };
}

describe('AIA board', () => {
  it('the APLIC domains and IMSIC files replace the PLIC on the bus; devices are wired to the M domain', () => {
    const { m } = board('aplic-imsic', 2, 3);
    expect(m.irqchip).toBe(m.aplicM);
    expect(m.bus.findDevice(0x0c00_0000, 4)).toBeInstanceOf(Aplic);
    expect(m.bus.findDevice(0x0d00_7ffc, 4)?.name).toBe('aplic-s');
    expect(m.bus.findDevice(0x0c20_0000, 4)).toBeUndefined(); // the PLIC's context registers are gone
    expect(m.bus.findDevice(0x2400_1000, 4)?.name).toBe('imsic-m1');
    // 3 guests: 4 pages per hart (guest-index-bits 2), 4 implemented
    expect(m.bus.findDevice(0x2800_4000 + 3 * 0x1000, 4)?.name).toBe('imsic-s1');
    expect(m.harts.every((h) => h.aia !== null && h.aia.geilen === 3)).toBe(true);
    expect(board('aplic').m.harts.every((h) => h.aia === null)).toBe(true);
  });

  it('direct mode: the UART (source 10) reaches hart 1\'s MEIP through the M domain, SEIP once delegated', () => {
    const { m, w } = board('aplic');
    w(0x0c00_0000, 0x100); // domaincfg.IE
    w(0x0c00_0000 + 4 * 10, 6); // sourcecfg[10] = level high
    w(0x0c00_3000 + 4 * 10, (1 << 18) | 1); // target: hart 1
    w(0x0c00_1edc, 10); // setienum
    w(0x0c00_4000 + 32 + 0, 1); // IDC 1 idelivery
    m.uart.write(1, 1, 2n); // IER.ETBEI: THR empty raises the UART's line
    expect(m.harts[1]!.mip & MEIP).toBe(MEIP);
    expect(m.harts[0]!.mip & MEIP).toBe(0);
    m.uart.write(1, 1, 0n);
    expect(m.harts[1]!.mip & MEIP).toBe(MEIP); // pending until claimed (QEMU 7.2)
    // delegate to the S domain
    w(0x0c00_0000 + 4 * 10, 1 << 10);
    w(0x0d00_0000, 0x100);
    w(0x0d00_0000 + 4 * 10, 6);
    w(0x0d00_3000 + 4 * 10, (0 << 18) | 1);
    w(0x0d00_1edc, 10);
    w(0x0d00_4000, 1);
    m.uart.write(1, 1, 2n);
    expect(m.harts[0]!.mip & SEIP).toBe(SEIP);
  });

  it('MSI mode: the APLIC writes the EIID to the IMSIC of the target hart (LHXW = 1)', () => {
    const { m, w } = board('aplic-imsic');
    w(0x0c00_1bc0, 0x24000); // mmsicfgaddr
    w(0x0c00_1bc4, 1 << 12); // LHXW = 1
    w(0x0c00_0000, 0x100);
    w(0x0c00_0000 + 4 * 10, 6);
    w(0x0c00_3000 + 4 * 10, (1 << 18) | 77);
    w(0x0c00_1edc, 10);
    const h1 = m.harts[1]!;
    h1.csrSet(0x350, 0xc2n, 'firmware'); // miselect = eie2 (identities 64..127)
    h1.csrSet(0x351, 1n << 13n, 'firmware'); // enable 77
    h1.csrSet(0x350, 0x70n, 'firmware');
    h1.csrSet(0x351, 1n, 'firmware'); // eidelivery
    m.uart.write(1, 1, 2n);
    const imsic = m.bus.findDevice(0x2400_1000, 4) as Imsic;
    expect(imsic.isPending(0, 77)).toBe(true);
    expect(h1.mip & MEIP).toBe(MEIP);
    expect(h1.csrGet(0x35c)).toBe(BigInt((77 << 16) | 77)); // mtopei
    expect(m.harts[0]!.mip & MEIP).toBe(0);
  });

  it('the machine snapshot restores the APLIC and the IMSICs', () => {
    const a = board('aplic-imsic', 1, 1);
    a.w(0x0c00_0000 + 4 * 20, 4);
    a.w(0x2800_1000, 9); // guest file 1 of hart 0: identity 9 pending
    const snap = structuredClone(a.m.saveState());
    const b = board('aplic-imsic', 1, 1);
    b.m.restoreState(snap);
    expect(b.r(0x0c00_0000 + 4 * 20)).toBe(4);
    expect((b.m.bus.findDevice(0x2800_0000, 4) as Imsic).isPending(1, 9)).toBe(true);
    // A PLIC board's snapshot has no aia part (its snapshots and digests are unchanged).
    expect('aia' in board('aplic-imsic').m.saveState()).toBe(true);
    const plic = new Machine({ ramSize: 64 << 20, harts: 1, bios: 'none', kernel: { name: 'spin', bytes: SPIN } });
    expect('aia' in plic.saveState()).toBe(false);
  });
});

describe('the built-in SBI prepares the AIA for an S-mode kernel as OpenSBI does', () => {
  const builtin = (mode: 'aplic' | 'aplic-imsic', harts: number, guests: number) => {
    const m = new Machine({ ramSize: 64 << 20, harts, bios: 'builtin', kernel: { name: 'spin', bytes: SPIN }, aia: { mode, guests } });
    const r = (pa: number) => { const d = m.bus.findDevice(pa, 4)!; return Number(d.read(pa - d.base, 4)) >>> 0; };
    const dtb = m.images.find((i) => i.role === 'dtb')!;
    const root = parseDtb(m.bus.readRam(dtb.base, dtb.size)).root;
    const soc = root.children.find((n) => n.name === 'soc')!;
    const status = (name: string): string | undefined => {
      const p = soc.children.find((n) => n.name === name)?.props.find((q) => q.name === 'status');
      return p ? Buffer.from(p.value).toString('latin1').replace(/\0$/, '') : undefined;
    };
    return { r, status };
  };

  it('every wired source of the M domain is delegated to the S domain (sourcecfg.D, child 0)', () => {
    const { r } = builtin('aplic', 2, 0);
    for (const irq of [1, 10, 11, 95]) expect(r(0x0c00_0000 + 4 * irq)).toBe(1 << 10);
  });

  it('MSI mode: smsicfgaddr/mmsicfgaddr hold the IMSIC layout (S files: LHXS = guest bits, LHXW = hart bits)', () => {
    const { r } = builtin('aplic-imsic', 3, 2);
    expect(r(0x0c00_1bc8)).toBe(0x28000); // smsicfgaddr: S files' base PPN
    expect(r(0x0c00_1bcc)).toBe((2 << 20) | (2 << 12)); // LHXS 2 (2 guests + S file: 4 pages), LHXW 2 (3 harts)
    expect(r(0x0c00_1bc0)).toBe(0x24000);
    expect(r(0x0c00_1bc4)).toBe(2 << 12);
  });

  it('the M-level APLIC domain and IMSIC files are status "disabled" in the tree the kernel gets; the S-level ones are not', () => {
    const { status } = builtin('aplic-imsic', 2, 0);
    expect(status('aplic@c000000')).toBe('disabled');
    expect(status('imsics@24000000')).toBe('disabled');
    expect(status('aplic@d000000')).toBeUndefined();
    expect(status('imsics@28000000')).toBeUndefined();
  });

  it('with --bios none (M-mode kernel) nothing is delegated or hidden: the kernel owns the M level', () => {
    const m = new Machine({ ramSize: 64 << 20, harts: 1, bios: 'none', kernel: { name: 'spin', bytes: SPIN }, aia: { mode: 'aplic-imsic', guests: 0 } });
    const d = m.bus.findDevice(0x0c00_0000, 4)!;
    expect(Number(d.read(4 * 10, 4))).toBe(0);
    expect(Number(d.read(0x1bc8, 4))).toBe(0);
  });
});
