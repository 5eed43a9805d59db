import { describe, expect, it } from 'vitest';
import { Imsic, guestIndexBits, IMSIC_S_BASE } from '../src/devices/imsic.js';
import { ISELECT_IMSIC_TOPEI } from '../src/hart/aia.js';

const EIDELIVERY = 0x70, EITHRESHOLD = 0x72, EIP0 = 0x80, EIE0 = 0xc0;

function file(pages = 1) {
  const lines: [number, boolean][] = [];
  const d = new Imsic(0, pages === 1, pages, IMSIC_S_BASE, (p, l) => void lines.push([p, l]));
  return { d, lines };
}

describe('Imsic (QEMU 7.2 riscv_imsic.c)', () => {
  it('an MSI to seteipnum_le sets pending; the line needs eidelivery and an enabled identity', () => {
    const { d, lines } = file();
    d.write(0, 4, 33n);
    expect(d.isPending(0, 33)).toBe(true);
    expect(lines).toEqual([]);
    d.rmw(0, EIE0, 1n << 33n, 1n << 33n);
    expect(lines).toEqual([]);
    d.rmw(0, EIDELIVERY, 1n, 1n);
    expect(lines).toEqual([[0, true]]);
    expect(d.rmw(0, ISELECT_IMSIC_TOPEI, 0n, 0n)).toBe(BigInt((33 << 16) | 33));
  });

  it('topei is the lowest pending+enabled identity; a write claims it', () => {
    const { d, lines } = file();
    d.rmw(0, EIDELIVERY, 1n, 1n);
    d.rmw(0, EIE0 + 2, 0xffn, 0xffn); // identities 64..71
    d.rmw(0, EIE0, 1n << 9n, ~0n);
    d.write(0, 4, 70n);
    d.write(0, 4, 9n);
    expect(d.rmw(0, ISELECT_IMSIC_TOPEI, 0n, ~0n)).toBe(BigInt((9 << 16) | 9));
    expect(d.topei(0)).toBe((70 << 16) | 70);
    d.rmw(0, ISELECT_IMSIC_TOPEI, 0n, ~0n);
    expect(d.topei(0)).toBe(0);
    expect(lines).toEqual([[0, true], [0, false]]);
  });

  it('eithreshold hides identities >= it', () => {
    const { d } = file();
    d.rmw(0, EIE0, 1n << 20n, 1n << 20n);
    d.write(0, 4, 20n);
    d.rmw(0, EITHRESHOLD, 20n, ~0n);
    expect(d.topei(0)).toBe(0);
    d.rmw(0, EITHRESHOLD, 21n, ~0n);
    expect(d.topei(0)).toBe((20 << 16) | 20);
  });

  it('identity 0 and identities past 255 are ignored; bit 0 of eip0 is read-only zero', () => {
    const { d } = file();
    d.write(0, 4, 0n);
    d.write(0, 4, 256n);
    d.rmw(0, EIP0, 1n, 1n);
    expect(d.rmw(0, EIP0, 0n, 0n)).toBe(0n);
    d.rmw(0, EIP0 + 6, 1n << 63n, 1n << 63n);
    expect(d.isPending(0, 255)).toBe(true);
  });

  it('RV64: odd eipN/eieN and those past 255 identities do not exist', () => {
    const { d } = file();
    expect(d.valid(0, EIP0 + 1)).toBe(false);
    expect(d.valid(0, EIP0 + 8)).toBe(false);
    expect(d.valid(0, EIE0 + 6)).toBe(true);
    expect(d.valid(0, 0x71)).toBe(false);
    expect(d.rmw(0, EIP0 + 1, 0n, 0n)).toBeNull();
  });

  it('guest files are further pages, each with its own line', () => {
    const { d, lines } = file(3);
    expect(d.size).toBe(3 * 0x1000);
    d.rmw(2, EIDELIVERY, 1n, 1n);
    d.rmw(2, EIE0, 1n << 5n, ~0n);
    d.write(2 * 0x1000, 4, 5n);
    expect(lines).toEqual([[2, true]]);
    expect(d.isPending(0, 5)).toBe(false);
    expect(d.valid(3, EIDELIVERY)).toBe(false);
    expect(guestIndexBits(0)).toBe(0);
    expect(guestIndexBits(2)).toBe(2);
    expect(guestIndexBits(7)).toBe(3);
  });

  it('only aligned 32-bit writes at offset 0 of a page are MSIs; reads are 0', () => {
    const { d } = file();
    d.write(0, 8, 5n);
    d.write(4, 4, 5n); // seteipnum_be: ignored
    d.write(0, 2, 5n);
    expect(d.isPending(0, 5)).toBe(false);
    expect(d.read()).toBe(0n);
  });

  it('checkpoints restore the files', () => {
    const a = file(2);
    a.d.rmw(1, EIE0, 1n << 7n, ~0n);
    a.d.write(0x1000, 4, 7n);
    const b = file(2);
    b.d.restoreState(structuredClone(a.d.saveState()));
    expect(b.d.topei(1)).toBe((7 << 16) | 7);
    expect(() => b.d.restoreState({ eidelivery: [] })).toThrow();
  });
});
