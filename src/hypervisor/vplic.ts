/**
 * The virtual PLIC of one VM (Hypercraft's `PlicState`, extended to several contexts).
 *
 * The guest sees the QEMU `virt` PLIC at 0x0c00_0000. Priority, pending and enable registers
 * are passed through to the real PLIC (G-stage mapped); the per-context threshold and
 * claim/complete registers (0x0c20_0000 + 0x1000 * ctx) are not mapped, so every access traps
 * (load/store guest-page fault) and is emulated here:
 *
 *  - The real PLIC raises SEIP of pCPU p for context 2p+1 (the guest's enables for its vCPU p
 *    landed there). The hypervisor claims the source from the real PLIC at once and queues it
 *    in the virtual context: `deliver(ctx, irq)`. hvip.VSEIP of the vCPU follows `level(ctx)`.
 *  - A guest claim (read of claim) returns the highest-priority queued source above the
 *    virtual threshold (ties: lowest id, as the real PLIC) and moves it to "in service".
 *  - A guest complete (write of claim) of a source in service completes it at the real PLIC
 *    (through the context that claimed it), which may raise it again.
 *  - Threshold writes are kept here and written through to the real context.
 *
 * State is plain data (checkpoints).
 */

/** Priority of a source as the real PLIC has it (the guest writes priorities directly). */
export type PriorityOf = (irq: number) => number;

export interface VplicSnapshot {
  queued: number[][];
  inService: number[][];
  /** Real context through which each in-service source was claimed, per context (parallel to inService). */
  claimedVia: number[][];
  threshold: number[];
}

export class VirtPlic {
  readonly numContexts: number;
  /** Sources claimed from the real PLIC for a context, not yet claimed by the guest (ascending). */
  private queued: number[][];
  /** Sources the guest claimed and has not completed. */
  private inService: number[][];
  private claimedVia: number[][];
  private threshold: number[];
  /** Real context each queued source came through (key irq). */
  private readonly via = new Map<number, number>();

  constructor(numContexts: number) {
    this.numContexts = numContexts;
    this.queued = Array.from({ length: numContexts }, () => []);
    this.inService = Array.from({ length: numContexts }, () => []);
    this.claimedVia = Array.from({ length: numContexts }, () => []);
    this.threshold = new Array<number>(numContexts).fill(0);
  }

  /** A source claimed from real context `realCtx` is now pending for virtual context `ctx`. */
  deliver(ctx: number, irq: number, realCtx: number): void {
    const q = this.queued[ctx];
    if (!q || irq <= 0) return;
    if (!q.includes(irq)) {
      q.push(irq);
      q.sort((a, b) => a - b);
    }
    this.via.set(ctx * 1024 + irq, realCtx);
  }

  /** The best queued source of ctx above its threshold, or 0. */
  private best(ctx: number, prio: PriorityOf): number {
    let best = 0;
    let bestPrio = this.threshold[ctx]!;
    for (const irq of this.queued[ctx]!) {
      const p = prio(irq);
      if (p > bestPrio) {
        best = irq;
        bestPrio = p;
      }
    }
    return best;
  }

  /** Level of the context's (virtual) interrupt line: hvip.VSEIP of its vCPU. */
  level(ctx: number, prio: PriorityOf): boolean {
    return ctx < this.numContexts && this.best(ctx, prio) !== 0;
  }

  getThreshold(ctx: number): number {
    return this.threshold[ctx] ?? 0;
  }
  /** WARL like the real PLIC (3 priority bits). */
  setThreshold(ctx: number, v: number): void {
    if (ctx < this.numContexts) this.threshold[ctx] = (v >>> 0) % 8;
  }

  /** Guest claim: the source id (0 = none). */
  claim(ctx: number, prio: PriorityOf): number {
    if (ctx >= this.numContexts) return 0;
    const irq = this.best(ctx, prio);
    if (irq === 0) return 0;
    const q = this.queued[ctx]!;
    q.splice(q.indexOf(irq), 1);
    const key = ctx * 1024 + irq;
    this.inService[ctx]!.push(irq);
    this.claimedVia[ctx]!.push(this.via.get(key) ?? -1);
    this.via.delete(key);
    return irq;
  }

  /**
   * Guest complete: returns the real context to complete `irq` at, or -1 when the source was
   * not in service for this context (ignored, as the real PLIC ignores bad ids).
   */
  complete(ctx: number, irq: number): number {
    if (ctx >= this.numContexts) return -1;
    const s = this.inService[ctx]!;
    const k = s.indexOf(irq);
    if (k < 0) return -1;
    s.splice(k, 1);
    return this.claimedVia[ctx]!.splice(k, 1)[0]!;
  }

  saveState(): VplicSnapshot {
    // Queued sources' real contexts are folded into claimedVia-like parallel arrays on restore.
    return {
      queued: this.queued.map((q, ctx) => q.map((irq) => irq * 1024 + (this.via.get(ctx * 1024 + irq) ?? 1023))),
      inService: this.inService.map((s) => s.slice()),
      claimedVia: this.claimedVia.map((s) => s.slice()),
      threshold: this.threshold.slice(),
    };
  }
  restoreState(s: VplicSnapshot): void {
    this.via.clear();
    this.queued = s.queued.map((q, ctx) => q.map((packed) => {
      const irq = Math.floor(packed / 1024), real = packed % 1024;
      if (real !== 1023) this.via.set(ctx * 1024 + irq, real);
      return irq;
    }));
    this.inService = s.inService.map((x) => x.slice());
    this.claimedVia = s.claimedVia.map((x) => x.slice());
    this.threshold = s.threshold.slice();
  }
}
