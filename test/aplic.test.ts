import { describe, expect, it } from 'vitest';
import { Aplic, APLIC_M_BASE, APLIC_S_BASE, APLIC_SIZE } from '../src/devices/aplic.js';

const DOMAINCFG = 0, SOURCECFG = (i: number) => 4 * i, TARGET = (i: number) => 0x3000 + 4 * i;
const SETIP = 0x1c00, SETIPNUM = 0x1cdc, CLRIPNUM = 0x1ddc, SETIENUM = 0x1edc, CLRIENUM = 0x1fdc, IN_CLRIP = 0x1d00;
const IDC = (h: number, r: number) => 0x4000 + 32 * h + r;
const IDELIVERY = 0, IFORCE = 4, ITHRESHOLD = 8, TOPI = 0x18, CLAIMI = 0x1c;
const SM_EDGE_RISE = 4, SM_LEVEL_HIGH = 6, SM_LEVEL_LOW = 7, D = 1 << 10;
const IE = 1 << 8;

function direct(harts = 2) {
  const lines: [string, number, boolean][] = [];
  const m = new Aplic(APLIC_M_BASE, true, false, harts, null, (i, l) => void lines.push(['M', i, l]), () => {});
  const s = new Aplic(APLIC_S_BASE, false, false, harts, m, (i, l) => void lines.push(['S', i, l]), () => {});
  m.child = s;
  const io = (d: Aplic) => ({
    w: (o: number, v: number) => d.write(o, 4, BigInt(v >>> 0)),
    r: (o: number) => Number(d.read(o, 4)),
  });
  return { m, s, lines, M: io(m), S: io(s) };
}

function msi() {
  const sent: [number, number][] = [];
  const m = new Aplic(APLIC_M_BASE, true, true, 0, null, () => {}, (a, e) => void sent.push([a, e]));
  const s = new Aplic(APLIC_S_BASE, false, true, 0, m, () => {}, (a, e) => void sent.push([a, e]));
  m.child = s;
  const io = (d: Aplic) => ({ w: (o: number, v: number) => d.write(o, 4, BigInt(v >>> 0)), r: (o: number) => Number(d.read(o, 4)) });
  return { m, s, sent, M: io(m), S: io(s) };
}

describe('Aplic (QEMU 7.2 riscv_aplic.c)', () => {
  it('has the virt addresses and aperture', () => {
    const { m, s } = direct();
    expect([m.base, s.base, m.size]).toEqual([0x0c00_0000, 0x0d00_0000, APLIC_SIZE]);
    expect(APLIC_SIZE).toBe(0x8000);
  });

  it('domaincfg reads 0x80 in the top byte, DM by mode, only IE writable', () => {
    const d = direct();
    d.M.w(DOMAINCFG, 0xffff_ffff);
    expect(d.M.r(DOMAINCFG) >>> 0).toBe(0x8000_0100);
    const x = msi();
    expect(x.M.r(DOMAINCFG) >>> 0).toBe(0x8000_0004);
  });

  it('direct mode: a level-high source raises its hart\'s line and claimi keeps it pending while asserted', () => {
    const { m, lines, M } = direct();
    M.w(DOMAINCFG, IE);
    M.w(SOURCECFG(10), SM_LEVEL_HIGH);
    M.w(TARGET(10), (1 << 18) | 3); // hart 1, priority 3
    M.w(SETIENUM, 10);
    M.w(IDC(1, IDELIVERY), 1);
    m.setSourceLevel(10, true);
    expect(lines.at(-1)).toEqual(['M', 1, true]);
    expect(M.r(IDC(1, TOPI))).toBe((10 << 16) | 3);
    expect(M.r(IDC(1, CLAIMI))).toBe((10 << 16) | 3);
    expect(m.isPending(10)).toBe(true); // input still high
    m.setSourceLevel(10, false);
    expect(M.r(IDC(1, CLAIMI))).toBe((10 << 16) | 3); // lowering does not clear pending (QEMU 7.2)
    expect(m.isPending(10)).toBe(false);
    expect(lines.at(-1)).toEqual(['M', 1, false]);
    expect(M.r(IDC(1, CLAIMI))).toBe(0);
  });

  it('a zero target priority becomes 1 in direct mode; ithreshold masks priorities >= it', () => {
    const { m, M } = direct();
    M.w(DOMAINCFG, IE);
    M.w(SOURCECFG(5), SM_EDGE_RISE);
    M.w(TARGET(5), 0);
    expect(M.r(TARGET(5))).toBe(1);
    M.w(TARGET(5), 4);
    M.w(SETIENUM, 5);
    m.setSourceLevel(5, true);
    M.w(IDC(0, ITHRESHOLD), 4);
    expect(M.r(IDC(0, TOPI))).toBe(0);
    M.w(IDC(0, ITHRESHOLD), 5);
    expect(M.r(IDC(0, TOPI))).toBe((5 << 16) | 4);
  });

  it('edge sources are set and cleared by software; level sources ignore setip (QEMU 7.2)', () => {
    const { m, M } = direct();
    M.w(SOURCECFG(3), SM_EDGE_RISE);
    M.w(SOURCECFG(4), SM_LEVEL_HIGH);
    M.w(SETIPNUM, 3);
    M.w(SETIPNUM, 4);
    expect(M.r(SETIP)).toBe(1 << 3);
    M.w(CLRIPNUM, 3);
    expect(m.isPending(3)).toBe(false);
    m.setSourceLevel(4, true);
    expect(M.r(IN_CLRIP)).toBe(1 << 4);
  });

  it('inactive sources cannot be enabled; a sourcecfg of 0 clears pending and enabled', () => {
    const { M } = direct();
    M.w(SETIENUM, 7);
    expect(M.r(0x1e00)).toBe(0);
    M.w(SOURCECFG(7), SM_EDGE_RISE);
    M.w(SETIENUM, 7);
    M.w(SETIPNUM, 7);
    expect(M.r(0x1e00)).toBe(1 << 7);
    M.w(SOURCECFG(7), 0);
    expect([M.r(0x1e00), M.r(SETIP)]).toEqual([0, 0]);
    M.w(SOURCECFG(7), SM_EDGE_RISE);
    M.w(SETIENUM, 7);
    M.w(CLRIENUM, 7);
    expect(M.r(0x1e00)).toBe(0);
  });

  it('a delegated source reaches the S domain and drives SEIP', () => {
    const { m, lines, M, S } = direct();
    M.w(SOURCECFG(10), D);
    expect(M.r(SOURCECFG(10))).toBe(D);
    S.w(DOMAINCFG, IE);
    S.w(SOURCECFG(10), SM_LEVEL_HIGH);
    S.w(TARGET(10), 1);
    S.w(SETIENUM, 10);
    S.w(IDC(0, IDELIVERY), 1);
    m.setSourceLevel(10, true);
    expect(lines.at(-1)).toEqual(['S', 0, true]);
    // The S domain has no children: D reads back as 0 there.
    S.w(SOURCECFG(11), D);
    expect(S.r(SOURCECFG(11))).toBe(0);
  });

  it('iforce raises the line with no source; claimi returns 0 and clears iforce, the line drops at the next update (QEMU 7.2)', () => {
    const { lines, M } = direct();
    M.w(DOMAINCFG, IE);
    M.w(IDC(0, IDELIVERY), 1);
    M.w(IDC(0, IFORCE), 1);
    expect(lines.at(-1)).toEqual(['M', 0, true]);
    expect(M.r(IDC(0, CLAIMI))).toBe(0);
    expect(M.r(IDC(0, IFORCE))).toBe(0);
    expect(lines.at(-1)).toEqual(['M', 0, true]);
    M.w(IDC(0, ITHRESHOLD), 0);
    expect(lines.at(-1)).toEqual(['M', 0, false]);
  });

  it('MSI mode: a pending enabled source is sent to the address from mmsicfgaddr and unpended', () => {
    const { m, sent, M } = msi();
    M.w(0x1bc0, 0x24000); // mmsicfgaddr: PPN of 0x24000000
    M.w(0x1bc4, 1 << 12); // LHXW = 1 (hart index bits), LHXS = 0
    M.w(DOMAINCFG, IE);
    M.w(SOURCECFG(10), SM_LEVEL_HIGH);
    M.w(TARGET(10), (1 << 18) | 0x2a); // hart 1, EIID 42
    M.w(SETIENUM, 10);
    m.setSourceLevel(10, true);
    expect(sent).toEqual([[0x2400_1000, 42]]);
    expect(m.isPending(10)).toBe(false);
    // genmsi sends at once, hart index from bits 31:18.
    M.w(0x3000, (0 << 18) | 7);
    expect(sent.at(-1)).toEqual([0x2400_0000, 7]);
  });

  it('MSI mode: the S domain addresses smsicfgaddr with the guest index (LHXS = 2)', () => {
    const { m, sent, M, S } = msi();
    M.w(0x1bc8, 0x28000);
    M.w(0x1bcc, (2 << 20) | (1 << 12)); // LHXS 2: 4 pages per hart; LHXW 1
    M.w(SOURCECFG(3), D);
    S.w(DOMAINCFG, IE);
    S.w(SOURCECFG(3), SM_EDGE_RISE);
    S.w(TARGET(3), (1 << 18) | (2 << 12) | 5); // hart 1, guest 2, EIID 5
    S.w(SETIENUM, 3);
    m.setSourceLevel(3, true);
    expect(sent).toEqual([[0x2800_0000 + 1 * 0x4000 + 2 * 0x1000, 5]]);
  });

  it('hart index bits beyond LHXW go to the group field (HHXW = 0 drops them)', () => {
    const { m, sent, M } = msi();
    M.w(0x1bc0, 0x24000);
    M.w(DOMAINCFG, IE);
    M.w(SOURCECFG(10), SM_EDGE_RISE);
    M.w(TARGET(10), (1 << 18) | 1);
    M.w(SETIENUM, 10);
    m.setSourceLevel(10, true);
    expect(sent).toEqual([[0x2400_0000, 1]]);
  });

  it('MSI mode: setipnum sets a level source pending only while its input is high, clripnum clears it (AIA §4.7; QEMU 7.2 differs)', () => {
    const { m, sent, M } = msi();
    M.w(0x1bc0, 0x24000);
    M.w(SOURCECFG(30), SM_LEVEL_HIGH);
    M.w(TARGET(30), 8);
    M.w(SETIPNUM, 30); // input low: not pending (QEMU 7.2 would set it)
    expect(m.isPending(30)).toBe(false);
    M.w(DOMAINCFG, IE);
    M.w(SETIENUM, 30);
    expect(sent).toEqual([]);
    m.setSourceLevel(30, true); // low-to-high: pending, forwarded, cleared by the MSI (§4.9.2)
    expect(sent).toEqual([[0x2400_0000, 8]]);
    expect(m.isPending(30)).toBe(false);
    M.w(SETIPNUM, 30); // input still high: the EOI re-trigger Linux relies on
    expect(sent).toEqual([[0x2400_0000, 8], [0x2400_0000, 8]]);
    M.w(DOMAINCFG, 0); // hold MSIs to see the pending bit
    M.w(SETIPNUM, 30);
    expect(m.isPending(30)).toBe(true);
    M.w(CLRIPNUM, 30); // MSI mode: software can clear a level source
    expect(m.isPending(30)).toBe(false);
    m.setSourceLevel(30, false);
    M.w(SETIPNUM, 30); // input low again: ignored
    expect(m.isPending(30)).toBe(false);
  });

  it('a level-low source: setipnum counts the rectified input (input low = asserted)', () => {
    const { m, M } = msi();
    M.w(SOURCECFG(31), SM_LEVEL_LOW);
    m.setSourceLevel(31, true); // deasserted
    M.w(SETIPNUM, 31);
    expect(m.isPending(31)).toBe(false);
    m.setSourceLevel(31, false); // asserted: pending by the transition
    expect(m.isPending(31)).toBe(true);
    M.w(CLRIPNUM, 31);
    M.w(SETIPNUM, 31);
    expect(m.isPending(31)).toBe(true);
  });

  it('msicfgaddrH.L locks the MSI address registers', () => {
    const { M } = msi();
    M.w(0x1bc0, 0x1234);
    M.w(0x1bc4, 0x8000_0000);
    M.w(0x1bc0, 0x5678);
    expect(M.r(0x1bc0)).toBe(0x1234);
  });

  it('checkpoints restore the registers', () => {
    const a = direct();
    a.M.w(DOMAINCFG, IE);
    a.M.w(SOURCECFG(9), SM_LEVEL_LOW);
    a.M.w(TARGET(9), (1 << 18) | 2);
    const b = direct();
    b.m.restoreState(structuredClone(a.m.saveState()));
    expect([b.M.r(DOMAINCFG), b.M.r(SOURCECFG(9)), b.M.r(TARGET(9))]).toEqual([a.M.r(DOMAINCFG), SM_LEVEL_LOW, (1 << 18) | 2]);
    expect(() => b.m.restoreState({})).toThrow();
  });
});
