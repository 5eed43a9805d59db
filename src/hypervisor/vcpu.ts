/**
 * VCpu: one virtual hart of a VM, and VmCpus: the (at most 8) vCPUs of a VM (Hypercraft names).
 *
 * While a vCPU runs, the physical hart holds its state (GPRs, FP registers, the VS CSRs, hvip):
 * `loaded` is true. When its pCPU switches to another vCPU or goes idle, the hypervisor saves
 * that state here and restores it when the vCPU runs again (`save` / `load` in percpu.ts).
 * Everything is plain data so that checkpoints can store it.
 */
import { MAX_VCPUS } from './layout.js';

/** SBI HSM states (SBI spec §9.1). */
export const HSM_STARTED = 0, HSM_STOPPED = 1, HSM_SUSPENDED = 4;

/** The VS-level CSRs saved on a vCPU switch (priv spec §8.2). */
export const VS_CSRS = ['vsstatus', 'vsie', 'vstvec', 'vsscratch', 'vsepc', 'vscause', 'vstval', 'vsatp', 'vstimecmp'] as const;
export type VsCsr = (typeof VS_CSRS)[number];

export const U64_MAX = 0xffffffffffffffffn;

/** vsstatus of a vCPU at reset: FS = Dirty, as the built-in SBI leaves sstatus for its payload. */
export const VSSTATUS_RESET = 3n << 13n;

export interface VCpuSnapshot {
  id: number;
  hsm: number;
  waiting: boolean;
  loaded: boolean;
  fresh: boolean;
  pc: bigint;
  priv: number;
  x: bigint[];
  f: bigint[];
  fcsr: bigint;
  csr: bigint[];
  hvip: number;
  timer: bigint;
  virqSet: number;
  virqClear: number;
  resume: { pc: bigint; a1: bigint } | null;
}

export class VCpu {
  /** Guest hart id (a0 at entry, the index in the guest's DTB). */
  readonly id: number;
  /** Index of the VM in the hypervisor. */
  readonly vmIndex: number;
  /** The pCPU this vCPU runs on (fixed: deterministic placement). */
  readonly pcpu: number;
  /**
   * Its guest interrupt file on its pCPU (hstatus.VGEIN while it runs) with --aia aplic-imsic,
   * fixed by placement; 0 = none (the PLIC: interrupts are injected through hvip.VSEIP).
   */
  file = 0;
  /** SBI HSM state as the guest sees it. */
  hsm = HSM_STOPPED;
  /** Waiting for a virtual interrupt (WFI trapped with hstatus.VTW, or retentive HSM suspend). */
  waiting = false;
  /** Its state is in the physical hart (not in the fields below). */
  loaded = false;
  /** Started by HSM and never run: the registers are reset when it is loaded. */
  fresh = false;
  /** Guest pc and privilege (PRV_S / PRV_U) when not running. */
  pc = 0n;
  priv = 1;
  x: bigint[] = new Array<bigint>(32).fill(0n);
  f: bigint[] = new Array<bigint>(32).fill(0n);
  fcsr = 0n;
  /** VS CSRs in VS_CSRS order. */
  csr: bigint[] = [VSSTATUS_RESET, 0n, 0n, 0n, 0n, 0n, 0n, 0n, U64_MAX];
  /** hvip when not loaded (VSSIP | VSTIP | VSEIP). */
  hvip = 0;
  /** SBI set_timer deadline (mtime), U64_MAX = none: the hypervisor injects hvip.VSTIP then. */
  timer = U64_MAX;
  /** hvip bits to set / clear the next time the vCPU is entered (raised by other pCPUs). */
  virqSet = 0;
  virqClear = 0;
  /** Non-retentive HSM suspend: where to resume (a0 = hartid, a1 = opaque). */
  resume: { pc: bigint; a1: bigint } | null = null;

  constructor(id: number, vmIndex: number, pcpu: number) {
    this.id = id;
    this.vmIndex = vmIndex;
    this.pcpu = pcpu;
  }

  /** HSM start: reset the architectural state; a0 = hartid, a1 = opaque, pc = start address. */
  reset(pc: bigint, a1: bigint): void {
    this.pc = pc;
    this.priv = 1;
    this.x.fill(0n);
    this.x[10] = BigInt(this.id);
    this.x[11] = a1;
    this.f.fill(0n);
    this.fcsr = 0n;
    this.csr = [VSSTATUS_RESET, 0n, 0n, 0n, 0n, 0n, 0n, 0n, U64_MAX];
    this.hvip = 0;
    this.timer = U64_MAX;
    this.virqSet = 0;
    this.virqClear = 0;
    this.waiting = false;
    this.resume = null;
    this.hsm = HSM_STARTED;
    this.fresh = true;
  }

  get runnable(): boolean {
    return this.hsm === HSM_STARTED && !this.waiting;
  }

  saveState(): VCpuSnapshot {
    return {
      id: this.id, hsm: this.hsm, waiting: this.waiting, loaded: this.loaded, fresh: this.fresh,
      pc: this.pc, priv: this.priv, x: this.x.slice(), f: this.f.slice(), fcsr: this.fcsr, csr: this.csr.slice(),
      hvip: this.hvip, timer: this.timer, virqSet: this.virqSet, virqClear: this.virqClear,
      resume: this.resume ? { ...this.resume } : null,
    };
  }
  restoreState(s: VCpuSnapshot): void {
    this.hsm = s.hsm; this.waiting = s.waiting; this.loaded = s.loaded; this.fresh = s.fresh;
    this.pc = s.pc; this.priv = s.priv; this.x = s.x.slice(); this.f = s.f.slice(); this.fcsr = s.fcsr;
    this.csr = s.csr.slice(); this.hvip = s.hvip; this.timer = s.timer;
    this.virqSet = s.virqSet; this.virqClear = s.virqClear;
    this.resume = s.resume ? { ...s.resume } : null;
  }
}

/** The vCPUs of one VM (Hypercraft's VmCpus: at most 8). */
export class VmCpus {
  readonly list: readonly VCpu[];
  constructor(vmIndex: number, n: number, pcpuOf: (vcpu: number) => number) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_VCPUS) throw new RangeError(`VmCpus: ${n} vCPUs (1..${MAX_VCPUS})`);
    this.list = Array.from({ length: n }, (_, i) => new VCpu(i, vmIndex, pcpuOf(i)));
  }
  get length(): number {
    return this.list.length;
  }
  get(i: number): VCpu | undefined {
    return this.list[i];
  }
}
