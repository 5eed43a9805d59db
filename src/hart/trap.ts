/**
 * Traps: raising an exception (a Trap record thrown and caught by the run loop), entering a trap
 * (M, HS or VS by the delegation registers), mret/sret, and choosing the interrupt to take.
 * See state.ts for how the hart's classes are chained.
 */
import * as C from './constants.js';
import { HartCore } from './state.js';
import type { Hart } from './hart.js';
import { aiaPendingInterrupt } from './aia.js';

/** xcause values by code (exceptions; interrupts with bit 63): no BigInt built per trap. */
const EXC_CAUSE_BIG = Array.from({ length: 64 }, (_, c) => BigInt(c));
const IRQ_CAUSE_BIG = Array.from({ length: 64 }, (_, c) => (1n << 63n) | BigInt(c));

/**
 * An exception on its way to enterTrap: cause, tval, tval2 (htval / mtval2: the faulting
 * guest-physical address >> 2 for guest-page faults, else 0), tinst (htinst / mtinst) and GVA
 * (tval holds a guest virtual address: hstatus.GVA / mstatus.GVA). Thrown to abandon the
 * current instruction; one per hart, reused.
 */
export class Trap {
  cause = 0;
  tval = 0n;
  tval2 = 0n;
  tinst = 0n;
  gva = false;
  set(cause: number, tval: bigint, tval2: bigint, tinst: bigint, gva: boolean): this {
    this.cause = cause;
    this.tval = tval;
    this.tval2 = tval2;
    this.tinst = tinst;
    this.gva = gva;
    return this;
  }
}

export class HartTraps extends HartCore {
  // ======================================================================
  // Traps
  // ======================================================================
  /**
   * The exception being raised, as one value (Spike's trap_t): raise() fills this hart's one
   * preallocated record and throws it, the run loop catches it by identity and enters the trap.
   * Reusing one object keeps a fault free of allocation; the throw costs what throwing the old
   * frozen sentinel did.
   */
  readonly exc = new Trap();
  /** Record an exception and abandon the current instruction. */
  raise(cause: number, tval: bigint): never {
    throw this.exc.set(cause, BigInt.asUintN(64, tval), 0n, 0n, false);
  }
  illegal(insnBits: number): never {
    return this.raise(C.CAUSE_ILLEGAL_INSTRUCTION, BigInt(insnBits >>> 0));
  }
  /** Virtual-instruction exception (cause 22, §8.6.1); tval holds the instruction like illegal. */
  virtualInsn(insnBits: number): never {
    return this.raise(C.CAUSE_VIRTUAL_INSTRUCTION, BigInt(insnBits >>> 0));
  }
  /** Take the exception in `exc` (after a caught throw, or one the interpreter set itself). */
  protected takeException(): void {
    this.enterTrap(this.exc.cause, false, this.exc.tval);
  }

  /**
   * Enter a trap (priv spec §3.1.6.1, §3.1.7-8, §4.1.1, §8.6.4): choose M, HS or VS by
   * medeleg/mideleg and hedeleg/hideleg, save epc/cause/tval (and htval/htinst/mtval2/mtinst),
   * stack the interrupt-enable and previous-privilege bits (with MPV/SPV/SPVP for the H
   * extension), jump to the vector.
   */
  enterTrap(cause: number, interrupt: boolean, tval: bigint): void {
    const from = this.priv;
    const fromVirt = this.virt;
    const epc = this.getPc();
    // Guest-address details apply to exceptions only; consume them so nothing leaks.
    const exc = this.exc;
    const tval2 = interrupt ? 0n : exc.tval2;
    const tinst = interrupt ? 0n : exc.tinst;
    const gva = !interrupt && exc.gva;
    exc.tval2 = 0n; exc.tinst = 0n; exc.gva = false;
    let target: number; // 0 = M, 1 = HS, 2 = VS
    if (interrupt) {
      target = ((this.mideleg >>> cause) & 1) === 0 ? 0 : ((this.hideleg >>> cause) & 1) !== 0 && fromVirt ? 2 : 1;
    } else if (from <= C.PRV_S && ((this.medeleg >>> cause) & 1) !== 0) {
      target = fromVirt && ((this.hedeleg >>> cause) & 1) !== 0 ? 2 : 1;
    } else {
      target = 0;
    }
    // VS-level interrupts reach a VS handler with the supervisor codes (§8.6.4: VSSI 2 -> 1, ...).
    const reported = target === 2 && interrupt && (cause === 2 || cause === 6 || cause === 10) ? cause - 1 : cause;
    const causeV = (interrupt ? IRQ_CAUSE_BIG : EXC_CAUSE_BIG)[reported]!;
    let vec: bigint;
    if (target === 0) {
      this.setVirt(false);
      this.mepc = epc;
      this.mcause = causeV;
      this.mtval = tval;
      this.mtval2 = tval2;
      this.mtinst = tinst;
      let ms = this.mstatus;
      ms = (ms & ~C.MSTATUS_MPIE) | ((ms & C.MSTATUS_MIE) ? C.MSTATUS_MPIE : 0);
      ms &= ~C.MSTATUS_MIE;
      ms = (ms & ~C.MSTATUS_MPP) | (from << C.MSTATUS_MPP_SHIFT);
      if ((ms ^ this.mstatus) & C.MSTATUS_MPP) this.flushTlb();
      this.mstatus = ms;
      this.setMstatusH((fromVirt ? C.MSTATUSH_MPV : 0) | (gva ? C.MSTATUSH_GVA : 0));
      vec = this.mtvec;
    } else {
      if (target === 1) {
        this.setVirt(false);
        this.htval = tval2;
        this.htinst = tinst;
        let hs = this.hstatus & ~(C.HSTATUS_SPV | C.HSTATUS_GVA);
        if (fromVirt) hs = (hs & ~C.HSTATUS_SPVP) | C.HSTATUS_SPV | (from === C.PRV_S ? C.HSTATUS_SPVP : 0);
        if (gva) hs |= C.HSTATUS_GVA;
        this.hstatus = hs;
      }
      // The live supervisor CSRs are HS's (target 1) or the VS CSRs (target 2, V stays 1).
      this.sepc = epc;
      this.scause = causeV;
      this.stval = tval;
      let ms = this.mstatus;
      ms = (ms & ~C.MSTATUS_SPIE) | ((ms & C.MSTATUS_SIE) ? C.MSTATUS_SPIE : 0);
      ms &= ~C.MSTATUS_SIE;
      ms = (ms & ~C.MSTATUS_SPP) | (from === C.PRV_S ? C.MSTATUS_SPP : 0);
      this.mstatus = ms;
      vec = this.stvec;
    }
    this.setPriv(target === 0 ? C.PRV_M : C.PRV_S);
    if (this.hpmModeHook !== null) this.hpmModeHook(this as unknown as Hart, false);
    // Vectored mode: interrupts go to BASE + 4*cause (§3.1.7). Computed on the pc's number
    // form where it is exact (BigInt masking cost a third of a trap).
    const vpc = Number(BigInt.asIntN(64, vec));
    if (vpc < 2 ** 52 && vpc > -(2 ** 52)) {
      const mode = vpc & 3; // the low bits survive ToInt32
      if (this.pcHi !== 0) this.pcFromBig(0n); // back to pcHi = 0 (HartCore.pc)
      this.pc = vpc - mode + (interrupt && mode === 1 ? 4 * reported : 0);
    } else {
      let t = vec & ~3n;
      if (interrupt && (vec & 3n) === 1n) t += 4n * BigInt(reported);
      this.pc = this.pcFromBig(t);
    }
    const native = (target === 0 && this.mTrapHandler !== null) || (target === 1 && this.hsHandler !== null);
    // A fetch fault at the handler address itself would loop forever: report a double fault.
    if (!interrupt && isFetchFault(cause) && !native && this.getPc() === epc) {
      const lvl = target === 0 ? 'M' : target === 1 ? 'S' : 'VS';
      this.fatal = `double fault: hart ${this.id} cannot fetch its ${lvl}-mode trap handler at 0x${epc.toString(16)} (${C.EXCEPTION_NAMES[cause]})`;
      this.attention = true;
    }
    if (this.obs) this.obs.trap(this as unknown as Hart, cause, interrupt, epc, tval, from, this.priv, fromVirt, this.virt);
    if (target === 0 && this.mTrapHandler) this.mTrapHandler(this as unknown as Hart, cause, interrupt);
    else if (target === 1 && this.hsHandler) this.hsHandler.onTrap(this as unknown as Hart, cause, interrupt);
  }

  /** mret (priv spec §3.3.2, §8.6.4): to MPP, and to V = MPV when MPP is not M. */
  doMret(): void {
    const from = this.priv;
    const xretPc = this.pcNum();
    let ms = this.mstatus;
    const mpp = (ms & C.MSTATUS_MPP) >>> C.MSTATUS_MPP_SHIFT;
    const mpv = mpp !== C.PRV_M && (this.mstatusH & C.MSTATUSH_MPV) !== 0;
    ms = (ms & ~C.MSTATUS_MIE) | ((ms & C.MSTATUS_MPIE) ? C.MSTATUS_MIE : 0);
    ms |= C.MSTATUS_MPIE;
    ms &= ~C.MSTATUS_MPP; // MPP = U (least-privileged supported mode)
    if (mpp !== C.PRV_M) ms &= ~C.MSTATUS_MPRV;
    this.mstatus = ms;
    this.setMstatusH(this.mstatusH & ~C.MSTATUSH_MPV);
    this.flushTlb();
    this.setVirt(mpv);
    this.setPriv(mpp);
    // The mret itself still counts, in M-mode (Sscofpmf mode filtering).
    if (this.hpmModeHook !== null) this.hpmModeHook(this as unknown as Hart, true);
    this.bus.resv.release(this);
    this.setPc(this.mepc);
    if (this.obs) this.obs.trapReturn(this as unknown as Hart, 'mret', from, mpp, xretPc, false, mpv);
  }

  /**
   * sret (priv spec §3.3.2, §4.1.1, §8.6.4): in HS-mode it returns to V = hstatus.SPV and
   * clears SPV; in VS-mode it works on vsstatus and stays in V = 1.
   */
  doSret(): void {
    const from = this.priv;
    const fromVirt = this.virt;
    const xretPc = this.pcNum();
    let ms = this.mstatus;
    const spp = (ms & C.MSTATUS_SPP) ? C.PRV_S : C.PRV_U;
    ms = (ms & ~C.MSTATUS_SIE) | ((ms & C.MSTATUS_SPIE) ? C.MSTATUS_SIE : 0);
    ms |= C.MSTATUS_SPIE;
    ms &= ~C.MSTATUS_SPP;
    // The new privilege is below M (MPRV = 0, §3.1.6.3); in VS-mode mstatus.MPRV is not touched.
    if (!fromVirt) ms &= ~C.MSTATUS_MPRV;
    this.mstatus = ms;
    let toVirt = fromVirt;
    if (!fromVirt) { // in M- or HS-mode (§8.6.4)
      toVirt = (this.hstatus & C.HSTATUS_SPV) !== 0;
      this.hstatus &= ~C.HSTATUS_SPV;
    }
    const ret = this.sepc; // HS's sepc: read before V changes banks
    this.flushTlb();
    this.setVirt(toVirt);
    this.setPriv(spp);
    if (this.hpmModeHook !== null) this.hpmModeHook(this as unknown as Hart, true);
    this.bus.resv.release(this);
    this.setPc(ret);
    if (this.obs) this.obs.trapReturn(this as unknown as Hart, 'sret', from, spp, xretPc, fromVirt, toVirt);
  }

  /**
   * Highest-priority pending and enabled interrupt, or -1 (priv spec §3.1.9, §8.4.?). An
   * interrupt goes to M unless delegated by mideleg, then to HS unless delegated by hideleg,
   * then to VS. M-level ones are enabled when priv < M or MIE; HS-level ones whenever V = 1, or
   * in U, or in HS with SIE; VS-level ones only with V = 1, in VU, or in VS with vsstatus.SIE.
   * A higher target level wins over a lower one.
   */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return -1;
    // With Smaia the order comes from the iprio arrays (QEMU riscv_cpu_pending_to_irq).
    if (this.aia !== null) return aiaPendingInterrupt(this as unknown as Hart, this.aia);
    const ms = this.mstatus;
    const m = pending & ~this.mideleg;
    if (m !== 0 && (this.priv < C.PRV_M || (ms & C.MSTATUS_MIE) !== 0)) return highestIrq(m);
    if (this.priv === C.PRV_M) return -1;
    const hs = pending & this.mideleg & ~this.hideleg;
    const sie = (ms & C.MSTATUS_SIE) !== 0; // HS's SIE when V = 0, vsstatus.SIE when V = 1
    if (hs !== 0 && (this.virt || this.priv === C.PRV_U || sie)) return highestIrq(hs);
    if (!this.virt) return -1;
    const vs = pending & this.mideleg & this.hideleg;
    if (vs !== 0 && (this.priv === C.PRV_U || sie)) return highestIrq(vs);
    return -1;
  }
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------
function isFetchFault(cause: number): boolean {
  return cause === C.CAUSE_FETCH_ACCESS || cause === C.CAUSE_FETCH_PAGE_FAULT || cause === C.CAUSE_FETCH_GUEST_PAGE_FAULT;
}

function highestIrq(bits: number): number {
  for (let k = 0; k < C.IRQ_PRIORITY.length; k++) {
    const c = C.IRQ_PRIORITY[k]!;
    if (bits & (1 << c)) return c;
  }
  return -1;
}

