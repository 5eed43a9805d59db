/**
 * Vm: one virtual machine (Hypercraft's `VM`): its vCPUs, its G-stage GuestPageTable, its
 * virtual PLIC and VMID, and the VM-exit handler (`vmexit_handler`) that one turn of Hypercraft's
 * `vm.run` loop calls between leaving and re-entering the guest.
 */
import type { Hart } from '../hart/hart.js';
import * as C from '../hart/constants.js';
import type { VmExitRecord } from '../hart/observer.js';
import { GuestPageTable, PTE_R, PTE_W, PTE_X, type FrameAllocator, type PhysMem } from './gpt.js';
import { VirtPlic, type VplicSnapshot } from './vplic.js';
import { VirtAplic, type VaplicPort, type VaplicSnapshot } from './vaplic.js';
import { VmCpus, HSM_STOPPED, type VCpu, type VCpuSnapshot } from './vcpu.js';
import { decodeHtinst, decodeMmioInsn, extendLoad, isImplicitAccessPseudo, type MmioInsn } from './mmio.js';
import { VM_EXIT, type VmExitReason } from './exits.js';
import { handleSbiCall } from './sbi.js';
import { TestDevice, TEST_SIZE, type HaltRequest } from '../devices/testdev.js';
import type { GuestPlan } from './config.js';
import type { Hypervisor } from './hypervisor.js';
import {
  UART_BASE, TESTDEV_BASE, PLIC_BASE, PLIC_PASSTHROUGH_SIZE, PLIC_CONTEXT_BASE, PLIC_CONTEXT_END, PLIC_CONTEXT_STRIDE,
  GUEST_APLIC_BASE, GUEST_APLIC_SIZE, GUEST_IMSIC_BASE,
} from './layout.js';

const WFI_INSN = 0x10500073;

export interface VmSnapshot {
  vcpus: VCpuSnapshot[];
  vplic: VplicSnapshot;
  stopped: string | null;
  failed: boolean;
  gptRoot: number;
  /** With --aia aplic-imsic. */
  vaplic?: VaplicSnapshot;
}

export class Vm {
  readonly index: number;
  /** hgatp.VMID (VM k has VMID k + 1; 0 is left to the host, as KVM does). */
  readonly vmid: number;
  readonly plan: GuestPlan;
  readonly vcpus: VmCpus;
  readonly vplic: VirtPlic;
  /** With --aia aplic-imsic: the guest's APLIC (vaplic.ts) in place of the vPLIC. */
  readonly vaplic: VirtAplic | null;
  gpt: GuestPageTable | null = null;
  /** Why the VM stopped (one line), or null while it runs. */
  stopped: string | null = null;
  /** It stopped for an error (not a shutdown or reset). */
  failed = false;
  /**
   * With several VMs the SiFive test device is emulated per VM (trapped), so that one VM's
   * poweroff stops that VM, not the machine; a single VM reaches the real one (Hypercraft).
   */
  readonly testdev: TestDevice | null;
  /** A test-device request seen during the current exit. */
  private finisher: HaltRequest | null = null;

  constructor(plan: GuestPlan, pcpuOf: (vcpu: number) => number, shared: boolean, aia = false) {
    this.index = plan.index;
    this.vmid = plan.index + 1;
    this.plan = plan;
    this.vcpus = new VmCpus(plan.index, plan.config.vcpus, pcpuOf);
    // Two PLIC contexts per vCPU, as the guest's device tree says (M, then S).
    this.vplic = new VirtPlic(2 * plan.config.vcpus);
    this.vaplic = aia ? new VirtAplic(plan.index === 0) : null;
    this.testdev = shared ? new TestDevice((req) => { this.finisher = req; }) : null;
  }

  /**
   * Build the guest memory map (Hypercraft `setup_gpm`): load the image(s) and the generated
   * DTB into guest RAM, build the G-stage table, and make vCPU 0 ready to enter at the entry
   * point with a0 = 0, a1 = DTB. With AIA, the guest's IMSIC page of vCPU i is mapped onto
   * vCPU i's guest interrupt file (`filePage`), and the APLIC is left unmapped (trapped).
   */
  boot(mem: PhysMem, frames: FrameAllocator, filePage?: (v: VCpu) => number): void {
    const p = this.plan;
    for (const l of p.loads) mem.writeRam(p.hpaBase + (l.gpa - p.gpaBase), l.data);
    const gpt = new GuestPageTable(mem, frames);
    gpt.map(p.gpaBase, p.hpaBase, p.memSize, PTE_R | PTE_W | PTE_X);
    gpt.map(UART_BASE, UART_BASE, 0x1000, PTE_R | PTE_W);
    if (!this.testdev) gpt.map(TESTDEV_BASE, TESTDEV_BASE, 0x1000, PTE_R | PTE_W);
    if (this.vaplic) {
      for (const v of this.vcpus.list) gpt.map(GUEST_IMSIC_BASE + v.id * 0x1000, filePage!(v), 0x1000, PTE_R | PTE_W);
    } else {
      gpt.map(PLIC_BASE, PLIC_BASE, PLIC_PASSTHROUGH_SIZE, PTE_R | PTE_W);
    }
    this.gpt = gpt;
    this.vcpus.list[0]!.reset(BigInt(p.entry), BigInt(p.dtbGpa));
  }

  hgatp(): bigint {
    return this.gpt!.hgatp(this.vmid);
  }

  /** Whether [gpa, gpa+len) is guest RAM. */
  inRam(gpa: bigint, len: number): boolean {
    const b = BigInt(this.plan.gpaBase);
    return gpa >= b && gpa + BigInt(len) <= b + BigInt(this.plan.memSize);
  }
  /** Host-physical address of guest RAM at gpa (the whole range must be RAM), or null. */
  gpaToHpa(gpa: bigint, len: number): number | null {
    if (!this.inRam(gpa, len)) return null;
    return this.plan.hpaBase + Number(gpa - BigInt(this.plan.gpaBase));
  }

  // -------------------------------------------------------------------------------------------
  // VM exits
  // -------------------------------------------------------------------------------------------

  /** Report a VM exit to the hart's observer (a vm_exit event in traces). */
  private exit(h: Hart, v: VCpu | null, reason: VmExitReason, detail: bigint, cause: bigint, message?: string): void {
    if (!h.obs?.vmExit) return;
    const rec: VmExitRecord = {
      vm: this.index, vcpu: v ? v.id : -1, code: VM_EXIT[reason], reason, guestPc: v ? v.pc : 0n, detail, cause,
      ...(message !== undefined ? { message } : {}),
    };
    h.obs.vmExit(h, rec);
  }

  /**
   * Handle a trap from vCPU v (loaded on hart h, V = 0 now, v.pc = sepc): one VM exit.
   * Host interrupts are the hypervisor's (timer, IPIs between pCPUs, the real PLIC); guest
   * exceptions are SBI calls, MMIO, WFI, faults.
   */
  vmexitHandler(hv: Hypervisor, h: Hart, v: VCpu, cause: number, interrupt: boolean): void {
    const scause = h.csrGet(C.CSR.scause);
    if (interrupt) {
      const reason: VmExitReason = cause === 5 ? 'timer_irq' : cause === 1 ? 'software_irq' : 'external_irq';
      this.exit(h, v, reason, BigInt(cause), scause);
      hv.hostInterrupt(h, cause);
      return;
    }
    switch (cause) {
      case C.CAUSE_VIRTUAL_SUPERVISOR_ECALL:
        this.exit(h, v, 'sbi_call', h.getX(17) & 0xffffffffn, scause);
        handleSbiCall(hv, h, this, v);
        return;
      case C.CAUSE_LOAD_GUEST_PAGE_FAULT:
      case C.CAUSE_STORE_GUEST_PAGE_FAULT:
        this.guestPageFault(hv, h, v, cause, scause);
        return;
      case C.CAUSE_FETCH_GUEST_PAGE_FAULT: {
        const gpa = this.faultGpa(h);
        const msg = `vcpu ${v.id}: instruction fetch at guest-physical 0x${gpa.toString(16)} (pc 0x${v.pc.toString(16)}) is outside the guest's memory`;
        this.exit(h, v, 'guest_page_fault', gpa, scause, msg);
        this.stop(hv, h, msg);
        return;
      }
      case C.CAUSE_VIRTUAL_INSTRUCTION: {
        const insn = this.trappingInsn(h, v);
        if (insn === WFI_INSN) {
          this.exit(h, v, 'wfi', BigInt(insn), scause);
          v.pc += 4n;
          // WFI with hstatus.VTW: the vCPU gives its pCPU away until a virtual interrupt.
          if (!hv.virqPending(h, v)) v.waiting = true;
          return;
        }
        const what = insn === null ? 'an unreadable instruction' : `instruction 0x${insn.toString(16).padStart((insn & 3) === 3 ? 8 : 4, '0')}`;
        const msg = `vcpu ${v.id}: virtual-instruction exception: ${what} at pc 0x${v.pc.toString(16)} (a hypervisor instruction or CSR in VS/VU-mode)`;
        this.exit(h, v, 'virtual_instruction', BigInt(insn ?? 0), scause, msg);
        this.stop(hv, h, msg);
        return;
      }
      default: {
        // Not delegated to the guest by hedeleg (access faults, misaligned accesses the
        // firmware forwarded): give the guest the architectural trap in VS-mode.
        const tval = h.csrGet(C.CSR.stval);
        this.exit(h, v, 'exception', BigInt(cause), scause);
        hv.injectException(h, v, cause, tval);
      }
    }
  }

  /** The faulting guest-physical address of a guest-page fault: htval << 2 | stval[1:0] (§8.6.3). */
  private faultGpa(h: Hart): bigint {
    return (h.csrGet(C.CSR.htval) << 2n) | (h.csrGet(C.CSR.stval) & 3n);
  }

  /** The instruction at the guest pc, fetched as HLVX.HU would (null if it cannot be read). */
  private fetchInsn(h: Hart, pc: bigint): number | null {
    const lo = h.guestLoad(pc, 2, true);
    if (lo === null) return null;
    if ((lo & 3n) !== 3n) return Number(lo);
    const hi = h.guestLoad(pc + 2n, 2, true);
    if (hi === null) return null;
    return Number(lo | (hi << 16n)) >>> 0;
  }

  /** Instruction bits of an illegal/virtual-instruction trap: stval, or fetched. */
  private trappingInsn(h: Hart, v: VCpu): number | null {
    const tval = h.csrGet(C.CSR.stval);
    if (tval !== 0n) return Number(tval & 0xffffffffn) >>> 0;
    return this.fetchInsn(h, v.pc);
  }

  /**
   * Load/store guest-page fault: emulate the trapped vPLIC context registers; anything else
   * outside the guest's memory stops the VM with a stated reason.
   */
  private guestPageFault(hv: Hypervisor, h: Hart, v: VCpu, cause: number, scause: bigint): void {
    const store = cause === C.CAUSE_STORE_GUEST_PAGE_FAULT;
    const gpa = this.faultGpa(h);
    const htinst = h.csrGet(C.CSR.htinst);
    const kind = store ? 'store to' : 'load from';
    const stop = (why: string): void => {
      const msg = `vcpu ${v.id}: ${why} (pc 0x${v.pc.toString(16)})`;
      this.exit(h, v, 'guest_page_fault', gpa, scause, msg);
      this.stop(hv, h, msg);
    };
    if (isImplicitAccessPseudo(htinst)) {
      stop(`its page tables are outside its memory: ${store ? 'A/D update of' : 'page-table read at'} guest-physical 0x${gpa.toString(16)}`);
      return;
    }
    const testdev = this.testdev !== null && gpa >= BigInt(TESTDEV_BASE) && gpa < BigInt(TESTDEV_BASE + TEST_SIZE);
    const aplic = this.vaplic !== null && gpa >= BigInt(GUEST_APLIC_BASE) && gpa < BigInt(GUEST_APLIC_BASE + GUEST_APLIC_SIZE);
    const plic = this.vaplic === null && gpa >= BigInt(PLIC_CONTEXT_BASE) && gpa < BigInt(PLIC_CONTEXT_END);
    if (!testdev && !aplic && !plic) {
      stop(`${kind} guest-physical 0x${gpa.toString(16)}, outside the guest's memory and devices`);
      return;
    }
    let d: MmioInsn | null = decodeHtinst(htinst);
    let raw: number | null = null;
    if (d === null) {
      raw = this.fetchInsn(h, v.pc);
      d = raw === null ? null : decodeMmioInsn(raw);
    }
    if (d === null || d.store !== store) {
      stop(`${kind} the ${testdev ? 'test device' : aplic ? 'APLIC' : 'PLIC'} at 0x${gpa.toString(16)} by ${raw === null ? 'an unreadable instruction' : `instruction 0x${raw.toString(16)}`}, which hvtrace cannot emulate`);
      return;
    }
    this.exit(h, v, store ? 'mmio_store' : 'mmio_load', gpa, scause);
    const off = Number(gpa) - (testdev ? TESTDEV_BASE : aplic ? GUEST_APLIC_BASE : PLIC_CONTEXT_BASE);
    const device = testdev ? 'vtest' : aplic ? 'vaplic' : 'vplic';
    if (store) {
      const raw64 = d.fp ? BigInt.asUintN(64, h.fb[d.reg]!) : h.getX(d.reg);
      const value = BigInt.asUintN(d.size * 8, raw64);
      if (h.obs) h.obs.mmio(h, device, Number(gpa), d.size, value, true);
      if (testdev) {
        v.pc += BigInt(d.length);
        this.testdev!.write(off, d.size, value);
        this.finish(hv, h, v);
        return;
      }
      if (aplic) this.vaplic!.write(this.aplicPort(hv, h), off, d.size, Number(value & 0xffff_ffffn));
      else this.vplicWrite(hv, h, off, d.size, value);
    } else {
      const value = testdev ? this.testdev!.read(off, d.size)
        : aplic ? BigInt(this.vaplic!.read(this.aplicPort(hv, h), off, d.size) >>> 0)
        : this.vplicRead(hv, h, off, d.size);
      if (h.obs) h.obs.mmio(h, device, Number(gpa), d.size, value, false);
      const x = extendLoad(value, d);
      if (d.fp) {
        h.fb[d.reg] = BigInt.asIntN(64, x);
        h.markFsDirty();
      } else {
        h.setX(d.reg, x);
      }
    }
    v.pc += BigInt(d.length);
  }

  /** What the vAPLIC reaches: the physical S domain, the vCPUs' guest files. */
  private aplicPort(hv: Hypervisor, h: Hart): VaplicPort {
    const files = (i: number): VCpu | null => {
      const t = this.vcpus.get(i);
      return t && t.file > 0 ? t : null;
    };
    return {
      physRead: (off) => hv.realAplicRead(h, off),
      physWrite: (off, val) => hv.realAplicWrite(h, off, val),
      route: (i) => {
        const t = files(i);
        return t ? { hart: t.pcpu, file: t.file } : null;
      },
      inject: (i, eiid) => {
        const t = files(i);
        if (t) hv.plat.aia!.msi(t.pcpu, t.file, eiid);
      },
    };
  }

  // ---- the virtual PLIC's context registers (threshold at +0, claim/complete at +4) ----
  private vplicRead(hv: Hypervisor, h: Hart, off: number, size: number): bigint {
    if (size === 8 && (off & 7) === 0) return this.vplicRead32(hv, h, off) | (this.vplicRead32(hv, h, off + 4) << 32n);
    if (size !== 4 || (off & 3) !== 0) return 0n; // like the real PLIC: other widths read 0
    return this.vplicRead32(hv, h, off);
  }
  private vplicRead32(hv: Hypervisor, h: Hart, off: number): bigint {
    const ctx = Math.floor(off / PLIC_CONTEXT_STRIDE);
    const reg = off % PLIC_CONTEXT_STRIDE;
    if (reg === 0) return BigInt(this.vplic.getThreshold(ctx));
    if (reg === 4) {
      const irq = this.vplic.claim(ctx, hv.plicPriority);
      hv.updateVseip(this, ctx);
      return BigInt(irq);
    }
    return 0n;
  }
  private vplicWrite(hv: Hypervisor, h: Hart, off: number, size: number, value: bigint): void {
    if (size === 8 && (off & 7) === 0) {
      this.vplicWrite32(hv, h, off, Number(value & 0xffffffffn));
      this.vplicWrite32(hv, h, off + 4, Number(value >> 32n));
      return;
    }
    if (size === 4 && (off & 3) === 0) this.vplicWrite32(hv, h, off, Number(value));
  }
  private vplicWrite32(hv: Hypervisor, h: Hart, off: number, value: number): void {
    const ctx = Math.floor(off / PLIC_CONTEXT_STRIDE);
    const reg = off % PLIC_CONTEXT_STRIDE;
    if (reg === 0) {
      this.vplic.setThreshold(ctx, value);
      // Write through, so that the real context masks what the guest masks (VM 0 owns the
      // real contexts: the enable registers it writes are passed through).
      if (this.index === 0 && ctx < hv.plat.plic.numContexts) hv.realPlicWrite(h, 0x20_0000 + ctx * PLIC_CONTEXT_STRIDE, BigInt(this.vplic.getThreshold(ctx)));
      hv.updateVseip(this, ctx);
    } else if (reg === 4) {
      const real = this.vplic.complete(ctx, value >>> 0);
      if (real >= 0) hv.realPlicWrite(h, 0x20_0004 + real * PLIC_CONTEXT_STRIDE, BigInt(value >>> 0));
      hv.updateVseip(this, ctx);
    }
  }

  // -------------------------------------------------------------------------------------------
  // stopping
  // -------------------------------------------------------------------------------------------

  /** A write to the emulated test device: PASS / RESET stop the VM like SRST, FAIL like an error. */
  private finish(hv: Hypervisor, h: Hart, v: VCpu): void {
    const f = this.finisher;
    this.finisher = null;
    if (!f) return;
    if (f.kind === 'fail') this.stop(hv, h, `vcpu ${v.id}: test device: fail, code ${f.code}`);
    else this.stop(hv, h, `vcpu ${v.id}: test device: ${f.kind === 'poweroff' ? 'poweroff (pass)' : 'reset'}`, { kind: f.kind, reason: 0 });
  }

  /** Stop the VM for good: every vCPU stops; the machine stops when it was the last VM. */
  stop(hv: Hypervisor, h: Hart, message: string, shutdown?: { kind: 'poweroff' | 'reset'; reason: number }): void {
    if (this.stopped !== null) return;
    this.stopped = message;
    this.failed = shutdown === undefined;
    for (const v of this.vcpus.list) {
      v.hsm = HSM_STOPPED;
      v.waiting = false;
      if (v.loaded) hv.kick(v.pcpu);
    }
    this.exit(h, null, 'vm_stopped', 0n, 0n, message);
    hv.vmStopped(this, shutdown);
  }

  /** SBI SRST / legacy shutdown from vCPU v. */
  shutdown(hv: Hypervisor, h: Hart, v: VCpu, kind: 'poweroff' | 'reset', reason: number): void {
    const what = kind === 'poweroff' ? (reason === 1 ? 'shutdown (reason: system failure)' : 'shutdown') : 'reset';
    this.stop(hv, h, `vcpu ${v.id} requested ${what}`, { kind, reason });
  }

  saveState(): VmSnapshot {
    return {
      vcpus: this.vcpus.list.map((v) => v.saveState()),
      vplic: this.vplic.saveState(),
      stopped: this.stopped,
      failed: this.failed,
      gptRoot: this.gpt ? this.gpt.root : -1,
      ...(this.vaplic ? { vaplic: this.vaplic.saveState() } : {}),
    };
  }
  restoreState(s: VmSnapshot, mem: PhysMem, frames: FrameAllocator): void {
    this.vcpus.list.forEach((v, i) => v.restoreState(s.vcpus[i]!));
    this.vplic.restoreState(s.vplic);
    if (this.vaplic && s.vaplic) this.vaplic.restoreState(s.vaplic);
    this.stopped = s.stopped;
    this.failed = s.failed;
    this.gpt = s.gptRoot >= 0 ? new GuestPageTable(mem, frames, s.gptRoot) : null;
  }
}
