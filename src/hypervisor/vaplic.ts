/**
 * The virtual APLIC of one VM with `--aia aplic-imsic`: the guest sees QEMU virt's S-level APLIC
 * domain at 0x0d00_0000 in MSI mode (its device tree names it, with the guest's IMSIC as
 * msi-parent), and the hypervisor traps every access to it (the page is not G-stage mapped), as
 * vplic.ts does for the PLIC's context registers.
 *
 * Design (the simplest that is correct, KVM's "HW acceleration" mode for the IMSIC, a trapped
 * APLIC): the physical S domain does the delivery. VM 0 owns it, as VM 0 owns the PLIC's
 * contexts; its registers are passed through (source modes, enables, pending bits, domaincfg,
 * setipnum at a level source's EOI), except:
 *
 *  - target[i]: the guest writes (hart index = vCPU id, guest index 0, EIID). The hypervisor keeps
 *    the guest's value for reads and writes the physical target (hart index = the vCPU's pCPU,
 *    guest index = the vCPU's guest interrupt file, the same EIID). A pending, enabled source
 *    then becomes an MSI from the physical APLIC straight into the vCPU's guest file: no VM exit
 *    delivers it (AIA 1.0 §4.9.1: the guest index selects the guest file of the target hart).
 *    A hart index naming no vCPU gets EIID 0 at the physical level (an MSI that sets nothing).
 *  - genmsi: the physical APLIC sends genmsi to guest index 0 only (the host's S file), so the
 *    hypervisor emulates it: it writes the EIID to the vCPU's guest file (its seteipnum_le).
 *
 * Other VMs' APLICs read zero and ignore writes: the devices are VM 0's (the UART is passed
 * through to every VM, but its interrupt reaches VM 0 only, as with the PLIC).
 *
 * The guest's own IMSIC pages are not here: the G stage maps them onto the physical guest files
 * (vm.ts boot), so the guest's MSIs and IPIs and its vsiselect/vsireg/vstopei accesses need no
 * hypervisor at all.
 */
import { APLIC_NUM_SOURCES } from '../devices/aplic.js';

/** Register offsets of the S domain the vAPLIC translates (AIA 1.0 §4.5). */
export const APLIC_GENMSI = 0x3000;
export const APLIC_TARGET_BASE = 0x3004;
const TARGET_HART_SHIFT = 18;
const TARGET_HART_MASK = 0x3fff;
const TARGET_GUEST_SHIFT = 12;
const TARGET_GUEST_MASK = 0x3f;
const TARGET_EIID_MASK = 0x7ff;

/** Where the vAPLIC's accesses go. */
export interface VaplicPort {
  /** A register of the physical S domain (the hypervisor's access, traced). */
  physRead(off: number): number;
  physWrite(off: number, v: number): void;
  /** The pCPU and guest interrupt file of vCPU `vcpu`, or null when the VM has no such vCPU. */
  route(vcpu: number): { hart: number; file: number } | null;
  /** An MSI with identity `eiid` to vCPU `vcpu`'s guest interrupt file. */
  inject(vcpu: number, eiid: number): void;
}

export interface VaplicSnapshot {
  target: number[];
  genmsi: number;
}

export class VirtAplic {
  /** target[i] as the guest wrote it (index = source number). */
  private readonly target = new Uint32Array(APLIC_NUM_SOURCES);
  private genmsi = 0;

  /** @param owner this VM drives the physical S domain (VM 0) */
  constructor(readonly owner: boolean) {}

  /** A 4-byte, 4-aligned read at offset `off` of the guest's APLIC; other accesses read 0. */
  read(port: VaplicPort, off: number, size: number): number {
    if (size !== 4 || (off & 3) !== 0) return 0;
    if (off === APLIC_GENMSI) return this.genmsi;
    const irq = this.targetIrq(off);
    if (irq > 0) return this.target[irq]!;
    return this.owner ? port.physRead(off) : 0;
  }

  write(port: VaplicPort, off: number, size: number, v: number): void {
    if (size !== 4 || (off & 3) !== 0) return;
    v >>>= 0;
    if (off === APLIC_GENMSI) {
      // Busy (bit 12) never reads set: the MSI is sent at once. No guest files below the guest.
      this.genmsi = (v & ~(TARGET_GUEST_MASK << TARGET_GUEST_SHIFT)) >>> 0;
      const vcpu = (v >>> TARGET_HART_SHIFT) & TARGET_HART_MASK;
      if (port.route(vcpu)) port.inject(vcpu, v & TARGET_EIID_MASK);
      return;
    }
    const irq = this.targetIrq(off);
    if (irq > 0) {
      this.target[irq] = (v & ~(TARGET_GUEST_MASK << TARGET_GUEST_SHIFT)) >>> 0;
      if (this.owner) port.physWrite(off, this.physTarget(port, this.target[irq]!));
      return;
    }
    if (this.owner) port.physWrite(off, v);
  }

  /** The physical target for a guest target value: its vCPU's pCPU and guest file, its EIID. */
  physTarget(port: VaplicPort, t: number): number {
    const r = port.route((t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK);
    if (r === null) return 0;
    return ((r.hart << TARGET_HART_SHIFT) | (r.file << TARGET_GUEST_SHIFT) | (t & TARGET_EIID_MASK)) >>> 0;
  }

  private targetIrq(off: number): number {
    if (off < APLIC_TARGET_BASE || off >= APLIC_TARGET_BASE + 4 * (APLIC_NUM_SOURCES - 1)) return 0;
    return ((off - APLIC_TARGET_BASE) >> 2) + 1;
  }

  saveState(): VaplicSnapshot {
    return { target: Array.from(this.target), genmsi: this.genmsi };
  }
  restoreState(s: VaplicSnapshot): void {
    this.target.set(s.target);
    this.genmsi = s.genmsi;
  }
}
