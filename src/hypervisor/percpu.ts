/**
 * PerCpu: the hypervisor's state for one physical hart (Hypercraft's `PerCpu`), and everything it
 * does to that hart: the HS-mode CSR setup (`setupCsrs`, as Hypercraft's `setup_csrs`), loading
 * and saving a vCPU (the world switch), entering the guest with `sret`, parking in the idle
 * loop, and programming the host timer.
 *
 * Every CSR access goes through `Hart.csrGet` / `Hart.csrSet(..., 'hypervisor')`, so each write
 * is a traced csr_write event; unchanged values are not rewritten (fewer events, same state).
 */
import type { Hart } from '../hart/hart.js';
import * as C from '../hart/constants.js';
import { CSR_TABLE } from '../hart/csr.js';
import { HV_IDLE, HV_TRAP_VECTOR } from './layout.js';
import { VS_CSRS, U64_MAX, HSM_STARTED, HSM_SUSPENDED, type VCpu } from './vcpu.js';

/** Hypercraft's hedeleg: misaligned fetch, illegal instruction, breakpoint, U-ecall, page faults. */
export const HEDELEG = (1 << C.CAUSE_MISALIGNED_FETCH) | (1 << C.CAUSE_ILLEGAL_INSTRUCTION) | (1 << C.CAUSE_BREAKPOINT) |
  (1 << C.CAUSE_USER_ECALL) | (1 << C.CAUSE_FETCH_PAGE_FAULT) | (1 << C.CAUSE_LOAD_PAGE_FAULT) | (1 << C.CAUSE_STORE_PAGE_FAULT);
/** Hypercraft's hideleg: VS-level software, timer and external interrupts go to the guest. */
export const HIDELEG = C.MIP_VSSIP | C.MIP_VSTIP | C.MIP_VSEIP;
/** HS-mode interrupts the hypervisor takes: SSIP (IPIs between pCPUs), STIP (its timer), SEIP. */
export const HS_SIE = C.MIP_SSIP | C.MIP_STIP | C.MIP_SEIP;
/** henvcfg.STCE: guests may use Sstc (vstimecmp), priv spec §8.2.? / Sstc §2. */
export const HENVCFG_STCE = 1n << 63n;

export const hasCsr = (csr: number): boolean => CSR_TABLE[csr] !== undefined;

/** Write a CSR through the traced path, only when its value changes. */
export function setCsr(h: Hart, csr: number, v: bigint): void {
  if (h.csrGet(csr) !== BigInt.asUintN(64, v)) h.csrSet(csr, v, 'hypervisor');
}

export interface PerCpuSnapshot {
  ready: boolean;
  loaded: [number, number] | null;
  vm: number;
  sliceEnd: bigint;
}

export class PerCpu {
  readonly id: number;
  /** The vCPUs placed on this pCPU (all VMs), in a fixed order: VM index, then vCPU id. */
  readonly vcpus: VCpu[] = [];
  /** The hypervisor took over this hart (onEnter ran). */
  ready = false;
  /** The vCPU whose state is in the hart, or null. */
  loaded: VCpu | null = null;
  /** VM whose hgatp is installed (-1 = none). */
  vm = -1;
  /** End of the loaded vCPU's round-robin slice (mtime). */
  sliceEnd = U64_MAX;

  /**
   * @param aia vCPUs have guest interrupt files (--aia aplic-imsic): SGEI is taken, hstatus.VGEIN
   *   selects the loaded vCPU's file, hgeie the files of the waiting ones
   */
  constructor(id: number, readonly aia = false) {
    this.id = id;
  }

  /** More than one vCPU shares this pCPU: WFI must trap (hstatus.VTW) and slices rotate. */
  get shared(): boolean {
    return this.vcpus.length > 1;
  }

  /**
   * HS-mode setup of this hart (Hypercraft `setup_csrs`): delegations to VS, no injected
   * interrupts, all counters for VS, the HS interrupts the hypervisor takes, its trap vector,
   * Sstc for guests.
   */
  setupCsrs(h: Hart): void {
    setCsr(h, C.CSR.hedeleg, BigInt(HEDELEG));
    setCsr(h, C.CSR.hideleg, BigInt(HIDELEG));
    setCsr(h, C.CSR.hvip, 0n);
    setCsr(h, C.CSR.hcounteren, 0xffffffffn);
    setCsr(h, C.CSR.henvcfg, HENVCFG_STCE);
    setCsr(h, C.CSR.htimedelta, 0n);
    setCsr(h, C.CSR.stvec, BigInt(HV_TRAP_VECTOR));
    setCsr(h, C.CSR.sie, BigInt(HS_SIE));
    // hie.SGEIE (§8.2.3; sie has no SGEIE): MSIs to waiting vCPUs' guest files reach the hypervisor.
    if (this.aia) setCsr(h, C.CSR.hie, h.csrGet(C.CSR.hie) | BigInt(C.MIP_SGEIP));
    setCsr(h, C.CSR.stimecmp, U64_MAX);
    this.ready = true;
  }

  /**
   * The vCPU to run next, round-robin among the runnable ones: the loaded vCPU keeps the pCPU
   * until its slice ends; then the next runnable one after it in `vcpus` order.
   */
  pick(now: bigint, vmStopped: (vm: number) => boolean): VCpu | null {
    const ok = (v: VCpu) => v.runnable && !vmStopped(v.vmIndex);
    const cur = this.loaded;
    if (cur && ok(cur) && now < this.sliceEnd) return cur;
    const n = this.vcpus.length;
    const start = cur ? this.vcpus.indexOf(cur) + 1 : 0;
    for (let k = 0; k < n; k++) {
      const v = this.vcpus[(start + k) % n]!;
      if (ok(v)) return v;
    }
    return null;
  }

  runnableCount(vmStopped: (vm: number) => boolean): number {
    let n = 0;
    for (const v of this.vcpus) if (v.runnable && !vmStopped(v.vmIndex)) n++;
    return n;
  }

  /** Save the loaded vCPU's state from the hart (the world switch, guest side out). */
  save(h: Hart): void {
    const v = this.loaded;
    if (!v) return;
    for (let i = 1; i < 32; i++) v.x[i] = h.getX(i);
    for (let i = 0; i < 32; i++) v.f[i] = BigInt.asUintN(64, h.fb[i]!);
    v.fcsr = h.csrGet(C.CSR.fcsr);
    VS_CSRS.forEach((name, k) => {
      const csr = C.CSR[name];
      if (hasCsr(csr)) v.csr[k] = h.csrGet(csr);
    });
    // Fold in what other pCPUs queued for it meanwhile.
    v.hvip = (Number(h.csrGet(C.CSR.hvip)) & ~v.virqClear) | v.virqSet;
    v.virqSet = 0;
    v.virqClear = 0;
    v.loaded = false;
    this.loaded = null;
  }

  /** Load vCPU v into the hart (the world switch, guest side in). */
  load(h: Hart, v: VCpu, hgatp: bigint): void {
    if (this.vm !== v.vmIndex) {
      // Install the VM's G-stage table, then the equivalent of hfence.gvma (§8.2.18).
      h.csrSet(C.CSR.hgatp, hgatp, 'hypervisor');
      h.flushTlb();
      this.vm = v.vmIndex;
    }
    for (let i = 1; i < 32; i++) h.setX(i, v.x[i]!);
    for (let i = 0; i < 32; i++) h.fb[i] = BigInt.asIntN(64, v.f[i]!);
    setCsr(h, C.CSR.fcsr, v.fcsr);
    VS_CSRS.forEach((name, k) => {
      const csr = C.CSR[name];
      if (hasCsr(csr)) setCsr(h, csr, v.csr[k]!);
    });
    setCsr(h, C.CSR.hvip, BigInt(v.hvip));
    // Another vCPU's VS-stage translations may be cached: hfence.vvma.
    h.flushTlb();
    v.loaded = true;
    v.fresh = false;
    this.loaded = v;
  }

  /** Apply hvip changes other pCPUs queued for the loaded vCPU. */
  applyVirq(h: Hart): void {
    const v = this.loaded;
    if (!v || (v.virqSet | v.virqClear) === 0) return;
    const cur = Number(h.csrGet(C.CSR.hvip));
    setCsr(h, C.CSR.hvip, BigInt((cur & ~v.virqClear) | v.virqSet));
    v.virqSet = 0;
    v.virqClear = 0;
  }

  /**
   * hgeie with guest interrupt files (AIA §5.3, KVM's kvm_riscv_aia_wakeon_hgei): the files of
   * this pCPU's vCPUs that wait (WFI trapped, HSM suspend), so that an MSI to one of them raises
   * SGEI and the hypervisor wakes it. The loaded vCPU's file drives VSEIP through hstatus.VGEIN
   * instead, and a runnable vCPU's file waits for its next turn.
   */
  programHgeie(h: Hart): void {
    if (!this.aia) return;
    let bits = 0;
    for (const v of this.vcpus) if (v.waiting && !v.loaded && v.file > 0) bits |= 1 << v.file;
    setCsr(h, C.CSR.hgeie, BigInt(bits));
  }

  /**
   * Program the HS timer (Sstc stimecmp): the earliest SBI timer of this pCPU's vCPUs, the
   * Sstc deadline (vstimecmp) of those not loaded (the loaded one's VSTIP is the hart's own),
   * and the end of the slice when several vCPUs are runnable. Deadlines in the past were
   * consumed by the timer interrupt, so the value is in the future or "never".
   */
  programTimer(h: Hart, now: bigint, vmStopped: (vm: number) => boolean): void {
    let t = U64_MAX;
    const k = VS_CSRS.indexOf('vstimecmp');
    for (const v of this.vcpus) {
      if (vmStopped(v.vmIndex) || (v.hsm !== HSM_STARTED && v.hsm !== HSM_SUSPENDED)) continue;
      if (v.timer < t) t = v.timer;
      if (!v.loaded && v.waiting) {
        const c = v.csr[k]!;
        if (c > now && c < t) t = c;
      }
    }
    if (this.runnableCount(vmStopped) >= 2 && this.sliceEnd < t) t = this.sliceEnd;
    setCsr(h, C.CSR.stimecmp, t);
  }

  /**
   * Enter vCPU v with sret (hstatus.SPV = 1: V becomes 1, the privilege sstatus.SPP, pc sepc),
   * as Hypercraft's `_run_guest`: hstatus.SPVP = the guest's privilege, VTW when the pCPU is
   * shared, sstatus.SPIE = 1.
   */
  enter(h: Hart, v: VCpu): void {
    // With AIA, hstatus.VGEIN = the vCPU's guest interrupt file: its line is VSEIP (AIA §5.3).
    const vgein = this.aia ? 0x3f << C.HSTATUS_VGEIN_SHIFT : 0;
    const mask = BigInt(C.HSTATUS_SPV | C.HSTATUS_SPVP | C.HSTATUS_VTW | vgein);
    const bits = C.HSTATUS_SPV | (v.priv === C.PRV_S ? C.HSTATUS_SPVP : 0) | (this.shared ? C.HSTATUS_VTW : 0) |
      (this.aia ? v.file << C.HSTATUS_VGEIN_SHIFT : 0);
    setCsr(h, C.CSR.hstatus, (h.csrGet(C.CSR.hstatus) & ~mask) | BigInt(bits));
    const ss = h.csrGet(C.CSR.sstatus);
    let s = (ss & ~BigInt(C.MSTATUS_SPP)) | BigInt(C.MSTATUS_SPIE);
    if (v.priv === C.PRV_S) s |= BigInt(C.MSTATUS_SPP);
    setCsr(h, C.CSR.sstatus, s);
    setCsr(h, C.CSR.sepc, v.pc);
    if (h.obs?.vmEntry) h.obs.vmEntry(h, v.vmIndex, v.id, v.pc);
    h.doSret();
  }

  /**
   * Park the hart in the idle loop (HS-mode, SIE = 1, WFI): no VS-level interrupt may wake it
   * (vsie, hvip and vstimecmp of the saved vCPU are cleared), only the hypervisor's own.
   */
  idle(h: Hart): void {
    setCsr(h, C.CSR.hvip, 0n);
    setCsr(h, C.CSR.vsie, 0n);
    if (hasCsr(C.CSR.vstimecmp)) setCsr(h, C.CSR.vstimecmp, U64_MAX);
    const hs = h.csrGet(C.CSR.hstatus) & ~BigInt(C.HSTATUS_SPV | (this.aia ? 0x3f << C.HSTATUS_VGEIN_SHIFT : 0));
    setCsr(h, C.CSR.hstatus, hs);
    setCsr(h, C.CSR.sstatus, h.csrGet(C.CSR.sstatus) | BigInt(C.MSTATUS_SPP | C.MSTATUS_SPIE));
    setCsr(h, C.CSR.sepc, BigInt(HV_IDLE));
    // The hart now executes `wfi` at HV_IDLE (and parks) in HS-mode.
    h.doSret();
  }

  saveState(): PerCpuSnapshot {
    return {
      ready: this.ready,
      loaded: this.loaded ? [this.loaded.vmIndex, this.loaded.id] : null,
      vm: this.vm,
      sliceEnd: this.sliceEnd,
    };
  }
  restoreState(s: PerCpuSnapshot, vcpuOf: (vm: number, id: number) => VCpu): void {
    this.ready = s.ready;
    this.loaded = s.loaded ? vcpuOf(s.loaded[0], s.loaded[1]) : null;
    this.vm = s.vm;
    this.sliceEnd = s.sliceEnd;
  }
}
