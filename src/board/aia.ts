/**
 * The board's AIA wiring (QEMU 7.2 virt's `aia=`, hw/riscv/virt.c virt_create_aia): the APLIC
 * domains and per-hart IMSICs that replace the PLIC, and the checks of an AIA configuration.
 */
import { Aplic, APLIC_M_BASE, APLIC_S_BASE } from '../devices/aplic.js';
import { Imsic, IMSIC_M_BASE, IMSIC_S_BASE, IMSIC_PAGE, IMSIC_MAX_GUESTS, guestIndexBits } from '../devices/imsic.js';
import { parseDtb, fdtGetProp, fdtStrings, type FdtNode } from '../devices/fdt.js';
import { AiaHart, aiaSetGuestLine } from '../hart/aia.js';
import type { Hart } from '../hart/hart.js';
import type { Bus } from '../mem/bus.js';
import { ImageError } from '../image/loader.js';
import { guestFilesNeeded } from '../hypervisor/layout.js';
import type { Image, MachineConfig } from './machine.js';

/**
 * QEMU virt's `aia=` (hw/riscv/virt.c): the PLIC is replaced by an APLIC M and S domain, with
 * direct delivery (`aplic`) or MSIs to per-hart IMSICs (`aplic-imsic`, with `guests` guest
 * interrupt files per hart: QEMU's aia-guests, default 0, at most 7).
 */
export interface AiaConfig {
  readonly mode: 'aplic' | 'aplic-imsic';
  readonly guests: number;
}

/** The AIA devices of a board. */
export interface AiaDevices {
  /** The APLIC's M domain (the wired sources' root) and its S child domain. */
  readonly aplicM: Aplic;
  readonly aplicS: Aplic;
  /** With mode aplic-imsic: per hart its M-level IMSIC then its S-level one (else empty). */
  readonly imsics: Imsic[];
}

/** What the wiring needs of the board. */
export interface AiaBoard {
  readonly harts: readonly Hart[];
  readonly bus: Bus;
  /** The hart executing now: every MSI is an event of its store or APLIC access. */
  readonly current: Hart;
  setIrqLine(hart: number, bit: number, level: boolean): void;
}

/**
 * QEMU 7.2 virt_create_aia: IMSICs (M file at 0x24000000 + 0x1000 * hart; S files at 0x28000000,
 * 2^guest-index-bits pages per hart) that drive MEIP / SEIP / hgeip, and the APLIC domains
 * (M at 0xc000000 is the root the devices are wired to, S at 0xd000000 its child) that drive
 * MEIP / SEIP directly or send MSIs. Sets each hart's `aia` with IMSICs.
 */
export function buildAia(aia: AiaConfig, board: AiaBoard): AiaDevices {
  const msi = aia.mode === 'aplic-imsic';
  const imsics: Imsic[] = [];
  if (msi) {
    const stride = IMSIC_PAGE << guestIndexBits(aia.guests);
    // Every MSI is an event of the hart running now (its store, or its APLIC access).
    const events = {
      msi: (d: Imsic, page: number, eiid: number) => { const c = board.current; c.obs?.msi?.(c, d.hart, d.mmode ? 0 : 1 + page, eiid); },
    };
    for (const h of board.harts) {
      const m = new Imsic(h.id, true, 1, IMSIC_M_BASE + h.id * IMSIC_PAGE, (_p, l) => h.setIrqLine(11, l));
      const s = new Imsic(h.id, false, 1 + aia.guests, IMSIC_S_BASE + h.id * stride,
        (p, l) => { if (p === 0) h.setIrqLine(9, l); else aiaSetGuestLine(h, p, l); });
      m.events = events;
      s.events = events;
      imsics.push(m, s);
      h.aia = new AiaHart(m, s);
    }
  }
  const msiWrite = (addr: number, eiid: number): void => {
    const d = board.bus.findDevice(addr, 4);
    if (d instanceof Imsic) d.write(addr - d.base, 4, BigInt(eiid));
  };
  const n = board.harts.length;
  const aplicM = new Aplic(APLIC_M_BASE, true, msi, n, null, (i, l) => board.setIrqLine(i, 11, l), msiWrite);
  const aplicS = new Aplic(APLIC_S_BASE, false, msi, n, aplicM, (i, l) => board.setIrqLine(i, 9, l), msiWrite);
  aplicM.child = aplicS;
  return { aplicM, aplicS, imsics };
}

/** The checks of --aia / --aia-guests against the rest of the configuration. */
export function validateAia(c: MachineConfig, aia: AiaConfig): void {
  const g = aia.guests;
  if (c.dtb) checkDtbHasAia(c.dtb, aia);
  if (!Number.isInteger(g) || g < 0 || g > IMSIC_MAX_GUESTS) throw new ImageError(`--aia-guests must be between 0 and ${IMSIC_MAX_GUESTS} (got ${g})`);
  if (g > 0 && aia.mode !== 'aplic-imsic') throw new ImageError('--aia-guests needs --aia aplic-imsic: guest interrupt files are IMSIC files');
  if (c.guests && c.guests.length > 0) {
    // The built-in hypervisor delivers guest interrupts through IMSIC guest files (vaplic.ts).
    if (aia.mode !== 'aplic-imsic') throw new ImageError('--guest with --aia needs --aia aplic-imsic: the built-in hypervisor delivers guest interrupts through IMSIC guest interrupt files');
    const need = guestFilesNeeded(c.guests.map((x) => x.vcpus), c.harts);
    if (g < need) throw new ImageError(`--guest with --aia aplic-imsic needs --aia-guests ${need} or more: each vCPU gets a guest interrupt file on its hart, and a hart runs up to ${need} vCPUs (got ${g})`);
  }
}

/**
 * --aia with a --dtb of the user's: the tree must describe the controllers the board has (a
 * node compatible with riscv,aplic, and riscv,imsics for aplic-imsic), or the guest would look
 * for a PLIC that is not there.
 */
function checkDtbHasAia(dtb: Image, aia: AiaConfig): void {
  const compat = new Set<string>();
  const walk = (n: FdtNode): void => {
    const p = fdtGetProp(n, 'compatible');
    if (p) for (const c of fdtStrings(p)) compat.add(c);
    n.children.forEach(walk);
  };
  walk(parseDtb(dtb.bytes).root);
  const need = aia.mode === 'aplic-imsic' ? ['riscv,aplic', 'riscv,imsics'] : ['riscv,aplic'];
  const missing = need.find((c) => !compat.has(c));
  if (missing) throw new ImageError(`--aia ${aia.mode}: the device tree ${dtb.name} has no ${missing} node (leave out --dtb, or give one made for -M virt,aia=${aia.mode})`);
}
