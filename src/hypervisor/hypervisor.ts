/**
 * The built-in hypervisor: native HS-mode software in the manner of Hypercraft (DESIGN.md §1).
 *
 * It is every hart's `HsHandler`: the built-in SBI boots it like any payload at 0x8020_0000
 * (`onEnter`, a0 = hartid, a1 = DTB), and every trap into HS-mode reaches `onTrap` after the hart
 * has entered it architecturally. It leaves HS-mode with a real `sret`: into a guest
 * (hstatus.SPV = 1) or into its idle loop. So the trace shows the same trap / csr_write / sret
 * sequence a hypervisor binary would produce, plus vm_exit / vm_entry events.
 *
 * Structure (Hypercraft names): `PerCpu` per physical hart, `VCpu`s gathered in `VmCpus` (at
 * most 8), `Vm` with its `GuestPageTable` (Sv39x4, built in RAM) and virtual PLIC. One turn of
 * Hypercraft's `vm.run` loop is: a VM exit reaches `onTrap`, `Vm.vmexitHandler` handles it,
 * `schedule` re-enters a vCPU.
 *
 * Scheduling: vCPU i of a VM runs on pCPU i mod (number of harts), fixed. vCPUs that share a
 * pCPU take turns, round-robin, on the host timer (a slice of SLICE_TICKS); their WFI traps
 * (hstatus.VTW) so an idle vCPU gives the pCPU away. A pCPU without a runnable vCPU waits in
 * its idle loop. Everything is driven by traps at exact instruction boundaries, so a run is as
 * deterministic as the hart itself.
 *
 * Guest interrupts: with the PLIC, claimed from the real PLIC and injected with hvip.VSEIP
 * (vplic.ts); with --aia aplic-imsic, delivered by the hardware into each vCPU's IMSIC guest
 * interrupt file (hstatus.VGEIN while it runs, hgeie/SGEI to wake it when it waits), the guest's
 * APLIC trapped and translated (vaplic.ts; ARCHITECTURE.md §7).
 *
 * Nothing a guest does raises a host exception: faults outside its memory and
 * virtual-instruction exceptions stop the VM with a stated reason; an internal error stops the
 * machine with a one-line message.
 */
import { HartState, type Hart, type HsHandler } from '../hart/hart.js';
import * as C from '../hart/constants.js';
import { FrameAllocator } from './gpt.js';
import { PerCpu, setCsr, type PerCpuSnapshot } from './percpu.js';
import { Vm, type VmSnapshot } from './vm.js';
import { HSM_SUSPENDED, HSM_STARTED, U64_MAX, VS_CSRS, type VCpu } from './vcpu.js';
import { planGuests, type GuestConfig, type GuestPlan, type PlannedRegion } from './config.js';
import type { HvPlatform } from './platform.js';
import { IMSIC_PAGE, IMSIC_S_BASE, guestIndexBits } from '../devices/imsic.js';
import { APLIC_S_BASE } from '../devices/aplic.js';
import { HV_ENTRY, HV_IDLE, HV_POOL_BASE, HV_POOL_SIZE, HV_TRAP_VECTOR, SLICE_TICKS } from './layout.js';

/** `wfi; j HV_IDLE`: the idle loop, and the (never executed) trap vector. */
const IDLE_CODE = Uint8Array.of(0x73, 0x00, 0x50, 0x10, 0x6f, 0xf0, 0xdf, 0xff);

export interface HypervisorSnapshot {
  booted: boolean;
  poolNext: number;
  percpu: PerCpuSnapshot[];
  vms: VmSnapshot[];
}

/** RAM the hypervisor wrote at boot (for the machine's image list / write tracking). */
export interface HvRegion {
  readonly role: 'hypervisor' | PlannedRegion['role'];
  readonly name: string;
  readonly base: number;
  readonly size: number;
}

export class Hypervisor implements HsHandler {
  readonly plat: HvPlatform;
  readonly plans: readonly GuestPlan[];
  readonly vms: Vm[];
  readonly percpu: PerCpu[];
  private readonly frames = new FrameAllocator(HV_POOL_BASE, HV_POOL_BASE + HV_POOL_SIZE);
  private booted = false;
  /** The hart executing the hypervisor right now. */
  private cur: Hart | null = null;

  constructor(plat: HvPlatform, guests: readonly GuestConfig[]) {
    this.plat = plat;
    this.plans = planGuests(guests, plat.isa, plat.aia !== null);
    const n = plat.harts.length;
    this.percpu = plat.harts.map((h) => new PerCpu(h.id, plat.aia !== null));
    // vCPUs are spread over the pCPUs in order: VM 0's vCPU i on pCPU i, the next VM's after.
    let first = 0;
    this.vms = this.plans.map((p) => {
      const base = first;
      first += p.config.vcpus;
      return new Vm(p, (i) => (base + i) % n, this.plans.length > 1, plat.aia !== null);
    });
    for (const vm of this.vms) for (const v of vm.vcpus.list) this.percpu[v.pcpu]!.vcpus.push(v);
    if (plat.aia) {
      // Each vCPU gets a guest interrupt file on its pCPU: the k-th vCPU placed there file k + 1.
      for (const p of this.percpu) {
        p.vcpus.forEach((v, k) => { v.file = k + 1; });
        if (p.vcpus.length > plat.aia.guestFiles) throw new Error(`hart ${p.id} runs ${p.vcpus.length} vCPUs but has ${plat.aia.guestFiles} guest interrupt files`);
      }
    }
  }

  /** Regions the guests occupy in host RAM (known before boot). */
  guestRegions(): PlannedRegion[] {
    return this.plans.flatMap((p) => p.regions);
  }
  /** Hypervisor-owned RAM written at boot: the idle loop and the G-stage tables. */
  hypervisorRegions(): HvRegion[] {
    return [
      { role: 'hypervisor', name: '(idle loop)', base: HV_ENTRY, size: 0x200 },
      { role: 'hypervisor', name: '(G-stage tables)', base: HV_POOL_BASE, size: this.frames.next - HV_POOL_BASE },
    ];
  }

  now(): bigint {
    return this.plat.now();
  }

  private vmStoppedIdx = (vm: number): boolean => this.vms[vm]!.stopped !== null;

  // -------------------------------------------------------------------------------------------
  // HsHandler
  // -------------------------------------------------------------------------------------------

  onEnter(h: Hart): void {
    this.guard(h, () => {
      const p = this.percpu[h.id]!;
      const first = !this.booted;
      if (first) this.boot();
      p.setupCsrs(h);
      // The other VMs' boot vCPUs may sit on other pCPUs: start those (HSM, through the firmware).
      if (first) for (const vm of this.vms) this.kick(vm.vcpus.list[0]!.pcpu);
      this.schedule(h, p);
    });
  }

  onTrap(h: Hart, cause: number, interrupt: boolean): void {
    this.guard(h, () => this.trap(h, cause, interrupt));
  }

  /** Run `f` as the hypervisor on h; an internal error stops the machine, never the host. */
  private guard(h: Hart, f: () => void): void {
    const prev = this.cur;
    this.cur = h;
    try {
      f();
    } catch (e) {
      this.plat.stopMachine(`internal hypervisor error on hart ${h.id}: ${(e as Error).message}`);
      h.runState = HartState.Stopped;
    } finally {
      this.cur = prev;
    }
  }

  /** Hypercraft's hv main: the guest memory maps, the VMs, vCPU 0 of each VM ready to run. */
  private boot(): void {
    this.booted = true;
    this.plat.mem.writeRam(HV_IDLE, IDLE_CODE);
    this.plat.mem.writeRam(HV_TRAP_VECTOR, IDLE_CODE);
    for (const vm of this.vms) vm.boot(this.plat.mem, this.frames, (v) => this.guestFilePage(v));
  }

  private trap(h: Hart, cause: number, interrupt: boolean): void {
    const p = this.percpu[h.id]!;
    if (h.virt || h.priv !== C.PRV_S) throw new Error(`onTrap (cause ${cause}) outside HS-mode`);
    if (!p.ready) throw new Error(`trap (cause ${cause}) on a hart the hypervisor does not run`);
    const fromGuest = (h.csrGet(C.CSR.hstatus) & BigInt(C.HSTATUS_SPV)) !== 0n;
    const v = p.loaded;
    if (fromGuest && v) {
      v.pc = h.csrGet(C.CSR.sepc);
      v.priv = (h.csrGet(C.CSR.sstatus) & BigInt(C.MSTATUS_SPP)) !== 0n ? C.PRV_S : C.PRV_U;
      this.vms[v.vmIndex]!.vmexitHandler(this, h, v, cause, interrupt);
    } else if (interrupt) {
      this.hostInterrupt(h, cause);
    } else {
      throw new Error(`exception ${cause} (${C.EXCEPTION_NAMES[cause] ?? '?'}) in HS-mode at 0x${h.csrGet(C.CSR.sepc).toString(16)}`);
    }
    if (h.env.halted) return;
    this.schedule(h, p);
  }

  // -------------------------------------------------------------------------------------------
  // host interrupts
  // -------------------------------------------------------------------------------------------

  /** An HS-level interrupt: an IPI from another pCPU, the host timer, the real PLIC. */
  hostInterrupt(h: Hart, cause: number): void {
    const p = this.percpu[h.id]!;
    switch (cause) {
      case 1: // SSI: another pCPU changed something of ours; schedule() picks it up.
        setCsr(h, C.CSR.sip, h.csrGet(C.CSR.sip) & ~BigInt(C.MIP_SSIP));
        return;
      case 5: { // STI: SBI timers due, Sstc deadlines of waiting vCPUs, end of a slice.
        const now = this.now();
        const k = VS_CSRS.indexOf('vstimecmp');
        for (const v of p.vcpus) {
          if (v.timer <= now) {
            v.timer = U64_MAX;
            this.raiseVirq(v, C.MIP_VSTIP);
          }
          if (!v.loaded && v.waiting && v.csr[k]! <= now) this.wake(v);
        }
        // schedule() reprograms stimecmp to a future deadline (or never), which lowers STIP.
        return;
      }
      case 12: { // SGEI: an MSI reached the guest file of a waiting vCPU (AIA §5.3): wake it.
        const hit = Number(h.csrGet(C.CSR.hgeip) & h.csrGet(C.CSR.hgeie));
        for (const v of p.vcpus) if (v.file > 0 && ((hit >>> v.file) & 1) !== 0) this.wake(v);
        // schedule() takes the woken files out of hgeie (programHgeie), which lowers SGEIP.
        return;
      }
      case 9: // SEI: claim everything the real context of this pCPU has, queue it in the vPLIC.
        this.claimExternal(h, p);
        return;
      default:
        // Nothing else is enabled in sie; mask it so that it cannot loop.
        setCsr(h, C.CSR.sie, h.csrGet(C.CSR.sie) & ~(1n << BigInt(cause)));
    }
  }

  /**
   * The real PLIC raised SEIP of pCPU p: its S-mode context 2p+1 is where vCPU p of the guest
   * enabled sources (the enable registers are passed through). Claim each source and queue it
   * for virtual context 2p+1 (Hypercraft: claim, then hvip.VSEIP).
   */
  private claimExternal(h: Hart, p: PerCpu): void {
    const ctx = 2 * p.id + 1;
    for (let guard = 0; guard < 96; guard++) {
      const irq = Number(this.realPlicRead(h, 0x20_0004 + ctx * 0x1000));
      if (irq === 0) return;
      // Only VM 0's vCPU p reaches real context 2p+1 through its enables (one set of contexts).
      const vm = this.vms[0]!.stopped === null && p.id < this.vms[0]!.vcpus.length ? this.vms[0]! : undefined;
      if (!vm) {
        this.realPlicWrite(h, 0x20_0004 + ctx * 0x1000, BigInt(irq));
        continue;
      }
      vm.vplic.deliver(ctx, irq, ctx);
      this.updateVseip(vm, ctx);
    }
  }

  /** Host-physical address of vCPU v's guest interrupt file (its IMSIC S-file page v.file). */
  guestFilePage(v: VCpu): number {
    const stride = IMSIC_PAGE << guestIndexBits(this.plat.aia!.guestFiles);
    return IMSIC_S_BASE + v.pcpu * stride + v.file * IMSIC_PAGE;
  }

  /** The physical APLIC S domain's registers, as the vAPLIC reaches them (traced as mmio). */
  realAplicRead(h: Hart, off: number): number {
    const v = this.plat.aia!.aplic.read(off, 4);
    if (h.obs) h.obs.mmio(h, 'aplic-s', APLIC_S_BASE + off, 4, v, false);
    return Number(v & 0xffff_ffffn);
  }
  realAplicWrite(h: Hart, off: number, v: number): void {
    if (h.obs) h.obs.mmio(h, 'aplic-s', APLIC_S_BASE + off, 4, BigInt(v >>> 0), true);
    this.plat.aia!.aplic.write(off, 4, BigInt(v >>> 0));
  }

  /** Priority of a source at the real PLIC (the guest programs priorities directly). */
  readonly plicPriority = (irq: number): number => Number(this.plat.plic.read(4 * irq, 4));

  realPlicRead(h: Hart, off: number): bigint {
    const v = this.plat.plic.read(off, 4);
    if (h.obs) h.obs.mmio(h, 'plic', 0x0c00_0000 + off, 4, v, false);
    return v;
  }
  realPlicWrite(h: Hart, off: number, v: bigint): void {
    if (h.obs) h.obs.mmio(h, 'plic', 0x0c00_0000 + off, 4, v, true);
    this.plat.plic.write(off, 4, v);
  }

  /** hvip.VSEIP of the vCPU behind virtual context ctx follows the vPLIC (odd contexts: S-mode). */
  updateVseip(vm: Vm, ctx: number): void {
    if ((ctx & 1) === 0) return;
    const v = vm.vcpus.get(ctx >> 1);
    if (!v) return;
    if (vm.vplic.level(ctx, this.plicPriority)) this.raiseVirq(v, C.MIP_VSEIP);
    else this.lowerVirq(v, C.MIP_VSEIP);
  }

  // -------------------------------------------------------------------------------------------
  // virtual interrupts, wake-ups, kicks
  // -------------------------------------------------------------------------------------------

  /** Set hvip bits of vCPU v: directly when it is loaded here, else at its next entry. */
  raiseVirq(v: VCpu, bits: number): void {
    this.changeVirq(v, bits, 0);
    this.wake(v);
  }
  lowerVirq(v: VCpu, bits: number): void {
    this.changeVirq(v, 0, bits);
  }
  private changeVirq(v: VCpu, set: number, clear: number): void {
    const h = this.cur!;
    if (v.loaded && v.pcpu === h.id) {
      const cur = Number(h.csrGet(C.CSR.hvip));
      setCsr(h, C.CSR.hvip, BigInt((cur & ~clear) | set));
    } else if (!v.loaded) {
      v.hvip = (v.hvip & ~clear) | set;
    } else {
      v.virqSet = (v.virqSet & ~clear) | set;
      v.virqClear = (v.virqClear & ~set) | clear;
      this.kick(v.pcpu);
    }
  }

  /** A virtual interrupt for v: it stops waiting (WFI, retentive suspend) and gets its pCPU back. */
  wake(v: VCpu): void {
    if (!v.waiting) return;
    v.waiting = false;
    if (v.hsm === HSM_SUSPENDED) {
      v.hsm = HSM_STARTED;
      if (v.resume) {
        // Non-retentive suspend (SBI spec §9.4): resume at resume_addr in S-mode with
        // a0 = hartid, a1 = opaque, the MMU off and interrupts disabled.
        const sieOff = (x: bigint): bigint => x & ~BigInt(C.MSTATUS_SIE);
        if (v.loaded) {
          // Still in the hart (woken before its pCPU switched away): it is this hart.
          const h = this.cur!;
          h.setX(10, BigInt(v.id));
          h.setX(11, v.resume.a1);
          setCsr(h, C.CSR.vsatp, 0n);
          setCsr(h, C.CSR.vsstatus, sieOff(h.csrGet(C.CSR.vsstatus)));
        } else {
          v.x[10] = BigInt(v.id);
          v.x[11] = v.resume.a1;
          v.csr[VS_CSRS.indexOf('vsatp')] = 0n;
          v.csr[VS_CSRS.indexOf('vsstatus')] = sieOff(v.csr[VS_CSRS.indexOf('vsstatus')]!);
        }
        v.pc = v.resume.pc;
        v.priv = C.PRV_S;
        v.resume = null;
      }
    }
    this.kick(v.pcpu);
  }

  /** Whether v has a VS-level interrupt pending and enabled (the WFI wake-up condition). */
  virqPending(h: Hart, v: VCpu): boolean {
    if (v.loaded) return (h.mip & h.mie & C.MIP_VS_MASK) !== 0;
    const vsie = Number(v.csr[VS_CSRS.indexOf('vsie')]!);
    // Its guest interrupt file's line (hgeip of its pCPU) is its VSEIP while it runs.
    const fileLine = v.file > 0 && ((this.plat.harts[v.pcpu]!.aia?.hgeip ?? 0) >>> v.file) & 1 ? C.MIP_VSEIP : 0;
    return ((((v.hvip | fileLine) >> 1)) & vsie & (C.MIP_SSIP | C.MIP_STIP | C.MIP_SEIP)) !== 0;
  }

  /**
   * Make pCPU `id` look at its vCPUs: nothing when it is the one running the hypervisor now
   * (schedule() follows), an IPI (SSIP, as the firmware's send_ipi) when it runs, HSM
   * hart_start through the firmware when it was never started.
   */
  kick(id: number): void {
    const cur = this.cur!;
    if (id === cur.id) return;
    const t = this.plat.harts[id]!;
    const p = this.percpu[id]!;
    if (!p.ready || t.runState === HartState.Stopped) {
      if (p.vcpus.some((v) => v.runnable && !this.vmStoppedIdx(v.vmIndex))) this.plat.startHart(id);
      return;
    }
    t.setMipSw(t.mipSw | C.MIP_SSIP);
  }

  /** SBI remote sfence.vma for vCPU t: hfence.vvma where it is loaded (a reload flushes anyway). */
  remoteSfence(t: VCpu): void {
    if (t.loaded) this.plat.harts[t.pcpu]!.flushTlb();
  }

  /**
   * Give the guest an exception that hedeleg did not delegate (as OpenSBI's sbi_trap_redirect
   * into VS-mode): vsepc/vscause/vstval, vsstatus.SPP/SPIE/SIE, pc = vstvec.
   */
  injectException(h: Hart, v: VCpu, cause: number, tval: bigint): void {
    h.csrSet(C.CSR.vsepc, v.pc, 'hypervisor');
    h.csrSet(C.CSR.vscause, BigInt(cause), 'hypervisor');
    h.csrSet(C.CSR.vstval, tval, 'hypervisor');
    let vs = h.csrGet(C.CSR.vsstatus);
    const sie = (vs & BigInt(C.MSTATUS_SIE)) !== 0n;
    vs &= ~BigInt(C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE);
    if (sie) vs |= BigInt(C.MSTATUS_SPIE);
    if (v.priv === C.PRV_S) vs |= BigInt(C.MSTATUS_SPP);
    h.csrSet(C.CSR.vsstatus, vs, 'hypervisor');
    v.pc = h.csrGet(C.CSR.vstvec) & ~3n;
    v.priv = C.PRV_S;
  }

  // -------------------------------------------------------------------------------------------
  // scheduling: the other half of a `vm.run` turn
  // -------------------------------------------------------------------------------------------

  /** Pick the vCPU this pCPU runs next and enter it, or park the pCPU in its idle loop. */
  private schedule(h: Hart, p: PerCpu): void {
    const now = this.now();
    const next = p.pick(now, this.vmStoppedIdx);
    if (next !== p.loaded) {
      p.save(h);
      if (next) {
        const vm = this.vms[next.vmIndex]!;
        p.load(h, next, vm.hgatp());
      }
      p.sliceEnd = now + SLICE_TICKS;
    } else if (next && now >= p.sliceEnd) {
      p.sliceEnd = now + SLICE_TICKS;
    }
    p.programHgeie(h);
    if (!next) {
      p.sliceEnd = U64_MAX;
      p.programTimer(h, now, this.vmStoppedIdx);
      p.idle(h);
      return;
    }
    p.applyVirq(h);
    p.programTimer(h, now, this.vmStoppedIdx);
    p.enter(h, next);
  }

  /**
   * A VM stopped: when it was the last one, the machine stops: with the first VM error if there
   * was one, else as the last VM's shutdown / reset (SRST, like the firmware).
   */
  vmStopped(vm: Vm, shutdown?: { kind: 'poweroff' | 'reset'; reason: number }): void {
    if (this.vms.some((m) => m.stopped === null)) return;
    const failed = this.vms.find((m) => m.failed);
    if (failed) this.plat.stopMachine(`vm ${failed.index} stopped: ${failed.stopped}`);
    else if (shutdown) this.plat.systemReset(shutdown.kind, shutdown.reason);
    else this.plat.stopMachine(`vm ${vm.index} stopped: ${vm.stopped}`);
  }

  // -------------------------------------------------------------------------------------------
  // checkpoints
  // -------------------------------------------------------------------------------------------

  saveState(): HypervisorSnapshot {
    return {
      booted: this.booted,
      poolNext: this.frames.next,
      percpu: this.percpu.map((p) => p.saveState()),
      vms: this.vms.map((m) => m.saveState()),
    };
  }
  restoreState(s: HypervisorSnapshot): void {
    this.booted = s.booted;
    this.frames.next = s.poolNext;
    this.vms.forEach((m, i) => m.restoreState(s.vms[i]!, this.plat.mem, this.frames));
    this.percpu.forEach((p, i) => p.restoreState(s.percpu[i]!, (vm, id) => this.vms[vm]!.vcpus.list[id]!));
  }
}
