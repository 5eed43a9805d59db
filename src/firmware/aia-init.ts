/**
 * What M-mode firmware does to the AIA before it starts an S-mode kernel, done by the built-in
 * SBI the way OpenSBI's APLIC cold init does it (lib/utils/irqchip/aplic.c) on QEMU's `virt`:
 *
 *  - every wired source of the M-level domain is delegated to its child, the S-level domain
 *    (sourcecfg[i] = D | child 0: the DT's `riscv,delegate = <S 1 0x60>`), so the kernel's APLIC
 *    driver owns them all;
 *  - with MSI delivery (aia=aplic-imsic), the M domain's mmsicfgaddr/smsicfgaddr registers are
 *    written with the IMSIC layout (AIA 1.0 §4.5.3-4.5.5): only the root domain has these
 *    registers, so an S-mode kernel cannot program them and its MSIs would go nowhere otherwise.
 *    The S-level files of hart h start at 0x2800_0000 + h * (0x1000 << guest bits): LHXS is the
 *    guest index bits, LHXW the hart index bits; the M-level files (0x2400_0000 + h * 0x1000)
 *    have LHXS 0.
 *
 * The writes go through the device's register interface, as firmware's stores would, before
 * the first instruction, so every run starts from the same APLIC state.
 */
import type { MmioDevice } from '../mem/device.js';
import {
  SOURCECFG_BASE, SOURCECFG_D, MMSICFGADDR, MMSICFGADDRH, SMSICFGADDR, SMSICFGADDRH,
  MSICFGADDRH_LHXS_SHIFT as LHXS_SHIFT, MSICFGADDRH_LHXW_SHIFT as LHXW_SHIFT,
} from '../devices/aplic.js';

export interface AiaFirmwareLayout {
  /** Number of wired source numbers (QEMU virt: 96, sources 1..95). */
  readonly sources: number;
  readonly harts: number;
  /** MSI delivery: the IMSIC bases and the guest index bits of the S-level files. */
  readonly msi: { readonly mBase: number; readonly sBase: number; readonly guestBits: number } | null;
}

function bitsFor(n: number): number {
  let b = 0;
  while ((1 << b) < n) b++;
  return b;
}

/** Program the root (M-level) APLIC domain as OpenSBI leaves it for an S-mode kernel. */
export function aiaColdInit(mDomain: MmioDevice, l: AiaFirmwareLayout): void {
  const w = (off: number, v: number): void => mDomain.write(off, 4, BigInt(v >>> 0));
  for (let i = 1; i < l.sources; i++) w(SOURCECFG_BASE + (i - 1) * 4, SOURCECFG_D | 0);
  if (l.msi === null) return;
  const lhxw = bitsFor(l.harts);
  const cfg = (base: number, lhxs: number): [number, number] => {
    const ppn = Math.floor(base / 4096);
    return [ppn >>> 0, ((lhxs << LHXS_SHIFT) | (lhxw << LHXW_SHIFT) | Math.floor(ppn / 2 ** 32)) >>> 0];
  };
  const [sLo, sHi] = cfg(l.msi.sBase, l.msi.guestBits);
  // smsicfgaddr first: writing mmsicfgaddrH with L set would lock both (§4.5.4).
  w(SMSICFGADDR, sLo);
  w(SMSICFGADDRH, sHi);
  const [mLo, mHi] = cfg(l.msi.mBase, 0);
  w(MMSICFGADDR, mLo);
  w(MMSICFGADDRH, mHi);
}
