/**
 * What the two debug targets (replay-target.ts, run-target.ts) share: registers, side-effect-free
 * memory reads, the CSR list, breakpoints and watchpoints, and forward runs in chunks that stop
 * exactly where asked.
 *
 * Stop points. A debugger stop is always at an instruction boundary of the deterministic run: the
 * moment right before some hart executes its next step (pending interrupts of that hart already
 * taken, so its pc is the instruction it is about to execute, an interrupt handler's first one if
 * it just took an interrupt). Every step of every hart is preceded by exactly one such moment, so
 * the global step count (Scheduler.totalInstructions(), all harts' steps) at it names it: stop
 * point G is "right before global step G + 1". Stops are made with the harts' breakpoint hook
 * (Hart.breakFilter / onBreakPc), which the interpreter checks after taking interrupts; a filter
 * full of ones stops at the very next boundary. Run and stop as often as you like: PreciseScheduler
 * continues exactly, so where a run was cut never changes what executes.
 *
 * Watchpoints are checked where memory accesses are translated (Hart.watch): watched pages stay
 * out of the TLBs, the access is compared with the watched ranges (loads, stores, AMOs, HLV/HSV,
 * any hart), and a hit stops at the next boundary, right after the accessing instruction (if that
 * instruction trapped after all, the hit is dropped).
 */
import { Hart, HartState, ACC_LOAD, BREAK_FILTER_SIZE, breakSlot, type WatchHook } from '../hart/hart.js';
import { CSR_TABLE } from '../hart/csr.js';
import * as C from '../hart/constants.js';
import type { Machine, HaltInfo } from '../board/machine.js';
import { ROM_BASE } from '../mem/bus.js';
import { PreciseScheduler, stopRun, type StopTarget } from '../replay/precise.js';
import type { CodeView } from '../replay/replayer.js';
import { DebugError, type BreakKind, type CsrInfo, type HartStatus, type RegRef, type StopEvent } from './target.js';

/** Instructions per chunk of a run (between two looks at `interrupted`). */
export const DEFAULT_CHUNK = 1_000_000;
/** Largest memory read answered (gdb reads at most a packet's worth at a time). */
const MAX_READ = 16 << 20;

interface Watch {
  readonly addr: number;
  readonly len: number;
  readonly kind: 'write' | 'read' | 'access';
}

/** A watchpoint hit, waiting for the accessing instruction to complete. */
interface PendingWatch {
  readonly hart: number;
  readonly instret: number;
  /** Stop point of the accessing instruction (the global count before it). */
  readonly g: number;
  readonly kind: 'write' | 'read' | 'access';
  readonly addr: bigint;
}

/** A breakpoint or watchpoint hit noted by a run ('record' mode) or that stopped it. */
export interface Hit {
  /** The stop point: the breakpoint's, or right after the accessing instruction for a watchpoint. */
  readonly g: number;
  readonly hart: number;
  readonly reason: 'breakpoint' | 'watchpoint';
  /** A breakpoint's pc. */
  readonly pc?: number;
  readonly watch?: { readonly kind: 'write' | 'read' | 'access'; readonly addr: bigint; readonly before: number };
}

export interface RunSpec {
  /** Stop at stop point `landG` (the machine must be at or before it). */
  readonly landG?: number;
  /** Stop when hart `hart` is about to execute its step `steps + 1`. */
  readonly step?: { readonly hart: number; readonly steps: number };
  /** Breakpoints and watchpoints: stop at the first, note them all, or ignore them. */
  readonly hits: 'stop' | 'record' | 'off';
  /**
   * 'record': keep only hits before this stop point: breakpoints before it, watchpoints whose
   * accessing instruction ran before it (the one that ends right there included).
   */
  readonly recordBefore?: number;
  /** Pause for good when the global count reaches this (between instructions; a scan's end). */
  readonly scanEndG?: number;
}

export type RunOutcome =
  | { readonly kind: 'landed' | 'step'; readonly hart: number }
  | { readonly kind: 'hit'; readonly hit: Hit }
  | { readonly kind: 'scanEnd' }
  | { readonly kind: 'end'; readonly halt: HaltInfo | null }
  | { readonly kind: 'interrupted' };

const priv2 = (p: number, v: boolean, hasH: boolean): string =>
  p === 3 ? 'M' : p === 1 ? (v ? 'VS' : hasH ? 'HS' : 'S') : p === 0 ? (v ? 'VU' : 'U') : '?';

/** CSR numbers of the hypervisor extension (hypervisor level, VS CSRs, mtinst/mtval2). */
function isHCsr(n: number): boolean {
  return ((n >>> 8) & 3) === 2 || (n & 0xf00) === 0x200 || n === C.CSR.mtinst || n === C.CSR.mtval2;
}

const macrotask = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Whether a hit comes before stop point p going backwards from it: a breakpoint before p, a
 * watchpoint whose accessing instruction ran before p (its stop point, right after the access,
 * may be p itself: going back from p, that access is the first thing undone).
 */
export function before(hit: Hit, p: number | undefined): boolean {
  if (p === undefined) return true;
  return hit.reason === 'watchpoint' ? hit.watch!.before < p : hit.g < p;
}

export abstract class DebugEngine {
  readonly machine: Machine;
  readonly sched: PreciseScheduler;
  readonly code: CodeView;
  readonly hartCount: number;
  readonly hasFpu = true;
  readonly csrs: readonly CsrInfo[];
  readonly hasH: boolean;
  protected readonly chunk: number;
  /** Stop points beyond the recording / run (Infinity: none). */
  protected endG = Infinity;

  // ---- breakpoints and watchpoints ----
  /** Breakpoint pcs (signed 64-bit values as numbers) and how many inserts each has. */
  protected readonly bps = new Map<number, number>();
  protected readonly watches: Watch[] = [];
  private readonly watchLoad = new Set<number>();
  private readonly watchStore = new Set<number>();
  /** The breakpoint filter contents (bps' slots), and each hart's own filter. */
  private readonly bpBase = new Uint8Array(BREAK_FILTER_SIZE);
  private readonly filters: Uint8Array[];
  /** Harts whose filter flags every pc (a stop point target reached). */
  private readonly armed: boolean[];

  // ---- the run in progress ----
  protected spec: RunSpec | null = null;
  private pending: PendingWatch | null = null;
  private stopped: RunOutcome | null = null;
  private hits: Hit[] = [];
  /** The stop point the machine sits at (its breakpoint check comes again when it resumes). */
  protected ignoreG = -1;
  /** The hart of the last stop (reported as the current thread). */
  protected stopHart = 0;

  constructor(machine: Machine, sched: PreciseScheduler, code: CodeView, chunk = DEFAULT_CHUNK) {
    this.machine = machine;
    this.sched = sched;
    this.code = code;
    this.chunk = Math.max(1000, chunk);
    this.hartCount = machine.harts.length;
    this.hasH = (machine.harts[0]!.misa & (1n << 7n)) !== 0n;
    const csrs: CsrInfo[] = [];
    for (let n = 0; n < 4096; n++) {
      const d = CSR_TABLE[n];
      if (d === undefined || (!this.hasH && isHCsr(n))) continue;
      csrs.push({ name: d.name, num: n });
    }
    this.csrs = csrs;
    this.filters = machine.harts.map(() => new Uint8Array(BREAK_FILTER_SIZE));
    this.armed = machine.harts.map(() => false);
    const hook: WatchHook = {
      page: (_h, va, acc) => (acc === ACC_LOAD ? this.watchLoad : this.watchStore).has(Math.floor(va / 4096)),
      access: (h, va, size, acc) => this.onAccess(h, va, size, acc),
    };
    for (const h of machine.harts) {
      h.onBreakPc = this.onBreak;
      h.watch = null;
    }
    this.watchHook = hook;
  }
  private readonly watchHook: WatchHook;

  // =============================================================================================
  // registers, memory, status
  // =============================================================================================

  protected hart(n: number): Hart {
    const h = this.machine.harts[n];
    if (!h) throw new DebugError(`no hart ${n} (the machine has ${this.hartCount})`);
    return h;
  }

  hartStatus(n: number): HartStatus {
    const h = this.hart(n);
    return {
      id: h.id,
      priv: priv2(h.priv, h.virt, this.hasH),
      state: h.runState === HartState.Running ? 'running' : h.runState === HartState.Wfi ? 'wfi' : 'stopped',
    };
  }

  readReg(n: number, reg: RegRef): bigint | null {
    const h = this.machine.harts[n];
    if (!h) return null;
    switch (reg.kind) {
      case 'x': return reg.index >= 0 && reg.index < 32 ? h.getX(reg.index) : null;
      case 'pc': return h.getPc();
      case 'f': return reg.index >= 0 && reg.index < 32 ? BigInt.asUintN(64, h.fb[reg.index]!) : null;
      case 'priv': return BigInt(h.priv | (h.virt ? 4 : 0));
      case 'csr': {
        const d = CSR_TABLE[reg.csr];
        if (d === undefined || (!this.hasH && isHCsr(reg.csr))) return null;
        try {
          return BigInt.asUintN(64, d.read(h));
        } catch {
          return null;
        }
      }
    }
    return null;
  }

  /**
   * Memory as hart n sees it (its translation, both stages while V = 1) or physical; null when a
   * byte is unmapped or neither RAM nor the reset ROM (device registers are never read: reads can
   * have side effects).
   */
  readMemory(n: number, addr: bigint, length: number, physical: boolean): Uint8Array | null {
    const h = this.machine.harts[n] ?? null;
    if (!Number.isInteger(length) || length < 0 || length > MAX_READ) return null;
    const bus = this.machine.bus;
    const out = new Uint8Array(length);
    let done = 0;
    let va = BigInt.asUintN(64, addr);
    while (done < length) {
      const inPage = 4096 - Number(va & 4095n);
      const k = Math.min(inPage, length - done);
      const pa = physical ? (va < 2n ** 53n ? Number(va) : null) : this.code.translatePa(h, va);
      if (pa === null) return null;
      let o: number;
      if (bus.isRam(pa, k)) o = bus.ramOffset + pa - bus.ramBase;
      else if (bus.isRom(pa, k)) o = bus.romOffset + pa - ROM_BASE;
      else return null;
      out.set(bus.bytes(o, k), done);
      done += k;
      va = BigInt.asUintN(64, va + BigInt(k));
    }
    return out;
  }

  /** The hart the last stop was on. */
  currentHart(): number {
    return this.stopHart;
  }

  // =============================================================================================
  // breakpoints and watchpoints
  // =============================================================================================

  insertBreak(kind: BreakKind, addr: bigint, length: number): boolean {
    const a = Number(BigInt.asIntN(64, addr));
    if (!Number.isSafeInteger(a)) return false;
    if (kind === 'sw' || kind === 'hw') {
      this.bps.set(a, (this.bps.get(a) ?? 0) + 1);
      this.bpBase[breakSlot(a)] = 1;
      return true;
    }
    if (!(length >= 1 && length <= 1 << 20)) return false;
    this.watches.push({ addr: a, len: length, kind });
    this.watchPages();
    return true;
  }

  removeBreak(kind: BreakKind, addr: bigint, length: number): boolean {
    const a = Number(BigInt.asIntN(64, addr));
    if (kind === 'sw' || kind === 'hw') {
      const c = this.bps.get(a);
      if (c === undefined) return false;
      if (c > 1) this.bps.set(a, c - 1);
      else {
        this.bps.delete(a);
        this.bpBase.fill(0);
        for (const pc of this.bps.keys()) this.bpBase[breakSlot(pc)] = 1;
      }
      return true;
    }
    const i = this.watches.findIndex((w) => w.addr === a && w.len === length && w.kind === kind);
    if (i < 0) return false;
    this.watches.splice(i, 1);
    this.watchPages();
    return true;
  }

  private watchPages(): void {
    this.watchLoad.clear();
    this.watchStore.clear();
    for (const w of this.watches) {
      for (let p = Math.floor(w.addr / 4096), e = Math.floor((w.addr + w.len - 1) / 4096); p <= e; p++) {
        if (w.kind !== 'write') this.watchLoad.add(p);
        if (w.kind !== 'read') this.watchStore.add(p);
      }
    }
  }

  private onAccess(h: Hart, va: number, size: number, acc: number): void {
    const spec = this.spec;
    if (spec === null || spec.hits === 'off' || this.pending !== null) return;
    for (const w of this.watches) {
      const kindOk = acc === ACC_LOAD ? w.kind !== 'write' : w.kind !== 'read' || h.amoAccess;
      if (!kindOk || !(va < w.addr + w.len && w.addr < va + size)) continue;
      this.pending = {
        hart: h.id, instret: h.instret, g: this.sched.totalInstructions(), kind: w.kind,
        addr: BigInt.asUintN(64, BigInt(Math.max(va, w.addr))),
      };
      // Stop at the next boundary (whichever hart it is), after this instruction completes.
      for (const x of this.machine.harts) this.refill(x);
      h.attention = true; // a translated block leaves after this access
      return;
    }
  }

  /** Set hart h's filter contents from the run's needs (between runs or in place). */
  private refill(h: Hart): void {
    const f = this.filters[h.id]!;
    if (this.armed[h.id] || this.pending !== null) f.fill(1);
    else if (this.spec !== null && this.spec.hits !== 'off' && this.bps.size > 0) f.set(this.bpBase);
    else f.fill(0);
    h.breakStamp = Hart.nextBreakStamp();
  }

  private arm(h: Hart): void {
    if (this.armed[h.id]) return;
    this.armed[h.id] = true;
    h.breakFilter = this.filters[h.id]!;
    this.refill(h);
  }

  /** A pending watchpoint hit whose instruction is over: a hit, or nothing if it trapped. */
  private settleWatch(): Hit | null {
    const w = this.pending!;
    this.pending = null;
    for (const h of this.machine.harts) if (h.breakFilter !== null) this.refill(h);
    const h = this.machine.harts[w.hart]!;
    if (h.instret !== w.instret + 1) return null;
    return { g: w.g + 1, hart: w.hart, reason: 'watchpoint', watch: { kind: w.kind, addr: w.addr, before: w.g } };
  }

  private noteHit(hit: Hit): void {
    const spec = this.spec!;
    if (spec.hits === 'stop') {
      this.stopped = { kind: 'hit', hit };
      stopRun();
    }
    if (before(hit, spec.recordBefore)) this.hits.push(hit);
  }

  /** The harts' breakpoint hook: every stop of a run is decided here. */
  private readonly onBreak = (h: Hart): void => {
    const spec = this.spec;
    if (spec === null) return;
    const g = this.sched.totalInstructions();
    if (g === this.ignoreG) return;
    if (this.pending !== null) {
      const hit = this.settleWatch();
      if (hit !== null) this.noteHit(hit);
    }
    if (spec.landG !== undefined && g >= spec.landG) {
      this.stopped = { kind: 'landed', hart: h.id };
      stopRun();
    }
    if (spec.step !== undefined && h.id === spec.step.hart && h.attempted >= spec.step.steps) {
      this.stopped = { kind: 'step', hart: h.id };
      stopRun();
    }
    if (spec.hits !== 'off' && this.bps.has(h.pcNum())) this.noteHit({ g, hart: h.id, reason: 'breakpoint', pc: h.pcNum() });
  };

  // =============================================================================================
  // runs
  // =============================================================================================

  /** Hooks for subclasses: after every chunk (events), and whether the machine has halted. */
  protected afterChunk(): void {}

  /** Where the machine is: the global step count. */
  protected total(): number {
    return this.sched.totalInstructions();
  }

  /**
   * Run forward per `spec`, in chunks, polling `interrupted` between them and yielding to the
   * event loop there (so a Ctrl-C or a disconnect is seen). Breakpoints, watchpoints and
   * stop-point targets are exact; wherever it stops, the machine is at a point of the
   * deterministic run.
   */
  protected async execute(spec: RunSpec, interrupted: () => boolean): Promise<{ outcome: RunOutcome; hits: Hit[] }> {
    this.beginRun(spec);
    try {
      for (;;) {
        const o = this.runChunk();
        if (o !== null) return { outcome: o, hits: this.hits };
        await macrotask();
        if (this.closed || interrupted()) return { outcome: { kind: 'interrupted' }, hits: this.hits };
      }
    } finally {
      this.endRun();
    }
  }

  /** execute without yielding (short runs, the initial seek). */
  protected executeSync(spec: RunSpec): { outcome: RunOutcome; hits: Hit[] } {
    this.beginRun(spec);
    try {
      for (;;) {
        const o = this.runChunk();
        if (o !== null) return { outcome: o, hits: this.hits };
      }
    } finally {
      this.endRun();
    }
  }

  /** Set once the target is closed: runs in progress end at their next chunk. */
  protected closed = false;

  private beginRun(spec: RunSpec): void {
    this.spec = spec;
    this.stopped = null;
    this.pending = null;
    this.hits = [];
    const needFilter = spec.hits !== 'off' && (this.bps.size > 0 || this.watches.length > 0);
    const watching = spec.hits !== 'off' && this.watches.length > 0;
    for (const h of this.machine.harts) {
      this.armed[h.id] = false;
      h.breakFilter = needFilter ? this.filters[h.id]! : null;
      if (needFilter) this.refill(h);
      h.watch = watching ? this.watchHook : null;
      // Watched pages must not stay in the TLBs.
      if (watching) h.flushTlb();
    }
  }

  private endRun(): void {
    this.spec = null;
    for (const h of this.machine.harts) {
      h.breakFilter = null;
      h.watch = null;
      this.armed[h.id] = false;
    }
  }

  /** One chunk of the run in progress: its outcome, or null to go on. */
  private runChunk(): RunOutcome | null {
    const spec = this.spec!;
    const g0 = this.total();
    const chunkEnd = Math.min(g0 + this.chunk, spec.scanEndG ?? Infinity, this.endG);
    const target: StopTarget = {
      label: 'debugger',
      cap: (h, s) => {
        const g = s.totalInstructions();
        let c = chunkEnd - g;
        if (spec.landG !== undefined) {
          if (g >= spec.landG) for (const x of this.machine.harts) this.arm(x);
          else c = Math.min(c, spec.landG - g);
        }
        if (spec.step !== undefined && h.id === spec.step.hart) {
          if (h.attempted >= spec.step.steps) this.arm(h);
          else c = Math.min(c, spec.step.steps - h.attempted);
        }
        return c;
      },
      reached: (s) => s.totalInstructions() >= chunkEnd,
    };
    const r = g0 >= chunkEnd || this.machine.halt ? null : this.sched.runUntil(target);
    this.afterChunk();
    if (this.stopped !== null) {
      const o: RunOutcome = this.stopped;
      this.ignoreG = this.total();
      this.stopHart = o.kind === 'hit' ? o.hit.hart : (o as { hart: number }).hart;
      return o;
    }
    const g = this.total();
    const halted = this.machine.halt !== null || r?.kind === 'halted';
    const keep = (hit: Hit | null): Hit | null => {
      if (hit !== null && before(hit, spec.recordBefore)) this.hits.push(hit);
      return hit;
    };
    if (spec.scanEndG !== undefined && (g >= spec.scanEndG || halted)) {
      if (this.pending !== null && spec.hits === 'record') keep(this.settleWatch());
      return { kind: 'scanEnd' };
    }
    if (halted || g >= this.endG) {
      if (this.pending !== null) {
        const hit = this.settleWatch();
        if (hit !== null && spec.hits === 'stop') return this.finish({ kind: 'hit', hit }, hit.hart);
        if (spec.hits === 'record') keep(hit);
      }
      return this.finish({ kind: 'end', halt: this.machine.halt }, this.machine.current.id);
    }
    return null;
  }

  private finish(o: RunOutcome, hart: number): RunOutcome {
    this.ignoreG = this.total();
    this.stopHart = hart;
    return o;
  }

  /** From a pause between instructions to the next stop point (whichever hart executes next). */
  protected settle(): RunOutcome {
    this.ignoreG = -1;
    return this.executeSync({ landG: this.total(), hits: 'off' }).outcome;
  }

  /** A StopEvent for a run's outcome. */
  protected stopEvent(o: RunOutcome, hart: number): StopEvent {
    switch (o.kind) {
      case 'landed': case 'step': return { hart: o.hart, reason: 'step' };
      case 'hit': return o.hit.reason === 'breakpoint'
        ? { hart: o.hit.hart, reason: 'breakpoint' }
        : { hart: o.hit.hart, reason: 'watchpoint', watch: { kind: o.hit.watch!.kind, addr: o.hit.watch!.addr } };
      case 'interrupted': return { hart, reason: 'interrupted' };
      default: return { hart, reason: 'end' };
    }
  }
}
