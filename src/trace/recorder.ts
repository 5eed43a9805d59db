/**
 * Recording: hart callbacks -> trace events, plus the state digests and checkpoints that go with
 * them.
 * Size: one Recorder method per event kind writes its row's columns directly (the hot path), next
 * to the digests and checkpoints whose positions those rows define; apart, they would drift.
 *
 * - `Recorder` is the HartObserver. It turns callbacks into events with a monotonically
 *   increasing seq, in a reused columnar `EventBatch`, and hands full batches to a sink. It owns
 *   no I/O: `record` gives it a sink that writes to a TraceWriter, replay gives it one that
 *   compares with a stored trace. Same inputs -> same events, field for field.
 * - `ramPageHashes`, `stateDigest`: the periodic digests (a cheap 64-bit hash per RAM page, and
 *   sha256 of the machine/scheduler snapshot).
 * - `CheckpointTaker` / `restoreCheckpoint`: checkpoints with content-addressed RAM pages.
 * - `RecordSession`: a machine + scheduler + recorder + writer wired together (used by
 *   `hvtrace record` and the tests).
 *
 * API:
 * ```ts
 * new Recorder(sink: (batch: EventBatch) => void, opts?: { batchSize?: number; startSeq?: number })
 *   .seq: number                        // seq of the next event
 *   .attach(harts) / .detach(harts)     // set / clear hart.obs
 *   .input(hart0: Hart, vtime: number, byte: number): number   // 'input' event, returns its seq
 *   .halt(h: Hart, info: HaltInfo): number                      // 'halt' event
 *   .flush(): void                      // hand the partial batch to the sink
 *   .reset(seq: number): void           // drop unflushed events, continue at seq (after restoreCheckpoint)
 *   .eventsDigest(): { eventsHash, kindCounts } | null   // running hash / counts of the events so far
 *                                                         // (null after a start or reset past seq 0)
 * ramPageHashes(machine: Machine, out?: Int32Array): Int32Array   // 2 int32 per page, (0,0) = zero page
 * stateDigest(machine, scheduler, seq, opts?: { final?: boolean; pageHashes?: Int32Array;
 *             events?: Recorder['eventsDigest'] result }): DigestRow   // events: stored with it (schema 2)
 * stateSnapshot(machine, scheduler): { machine: MachineSnapshot; scheduler: SchedulerState }
 * new CheckpointTaker().capture(machine, scheduler, pageHashes?) -> CapturedCheckpoint
 * restoreCheckpoint(reader: TraceReader, id: number, machine: Machine, scheduler: Scheduler): CheckpointData
 * RamWriteTracker.of(machine): RamWriteTracker   // install before the machine runs (RecordSession does);
 *                                                 // digests / restores then touch only pages that may be non-zero
 * RecordSession.create(opts: RecordOptions): RecordSession
 *   .machine, .scheduler, .recorder, .writer
 *   .queueInput(bytes: Uint8Array, vtime?: number): void    // Scheduler.addInput + input_queue row
 *   .step(rounds: number): StepResult ; .runToEnd(): HaltInfo   // a halt becomes the 'halt' event
 *   .finish(status?: 'complete' | 'aborted', reason?: string): RecordSummary
 * ```
 *
 * Digests and checkpoints are taken in Scheduler.onRoundStart (every hart at the round's start
 * time, nothing of the round run yet): the first digest at the first round, then at the first
 * round start where the total instruction count reached the next multiple of `digestEvery`;
 * checkpoints likewise at multiples of `checkpointEvery` (none at 0: a fresh machine is the
 * start). A replayer that wants to compare digests computes one at every round start whose total
 * instruction count equals a stored digest's `totalInstret`, and the final one at the end.
 */
import { createHash } from 'node:crypto';
import type { Hart } from '../hart/hart.js';
import type { HartObserver, CsrWriter, SbiCallRecord, VmExitRecord } from '../hart/observer.js';
import { Machine, type HaltInfo, type MachineConfig, type MachineSnapshot } from '../board/machine.js';
import { Scheduler, type StepResult } from '../sched/scheduler.js';
import { EventBatch, KIND_CODE, HART_STATE_CODE } from './model.js';
import {
  TraceWriter, TraceReader, HVTRACE_VERSION, SCHEMA_VERSION, encodeState, storedMachineConfig,
  type DigestRow, type PageRef, type CheckpointData, type TraceConfig, type ExitInfo,
  type TraceCounts, type LoadedImageInfo, type TraceSink, type TraceInit,
} from './store.js';
import { ThreadedTraceWriter } from './writer-thread.js';
import { EventHasher } from './event-hash.js';
import { hashPageJs, pageHasher } from './page-hash.js';

const K_TRAP = KIND_CODE.trap;
const K_TRAP_RETURN = KIND_CODE.trap_return;
const K_CSR = KIND_CODE.csr_write;
const K_SBI = KIND_CODE.sbi_call;
const K_MMIO = KIND_CODE.mmio;
const K_IRQ = KIND_CODE.irq;
const K_HART_STATE = KIND_CODE.hart_state;
const K_INPUT = KIND_CODE.input;
const K_HALT = KIND_CODE.halt;
const K_VM_EXIT = KIND_CODE.vm_exit;
const K_VM_ENTRY = KIND_CODE.vm_entry;
const K_MSI = KIND_CODE.msi;

const P_A = 1, P_B = 2, P_C = 4;

// ---- shared constants, so that the common events allocate (almost) nothing ----
const SMALL: bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));
const small = (n: number): bigint => (n >= 0 && n < 4096 ? SMALL[n]! : BigInt(n));
const INT_CAUSE: bigint[] = Array.from({ length: 64 }, (_, i) => BigInt.asIntN(64, (1n << 63n) | BigInt(i)));
const TRAP_PAYLOAD: Readonly<Record<string, unknown>>[] = Array.from({ length: 16 }, (_, i) => Object.freeze({ from: i >> 2, to: i & 3 }));
/** Trap payloads when V is involved: index ((from << 2 | to) * 4 + fromVirt * 2 + toVirt). */
const TRAP_PAYLOAD_V: Readonly<Record<string, unknown>>[] = Array.from({ length: 64 }, (_, k) => {
  const i = k >> 2;
  return Object.freeze({ from: i >> 2, to: i & 3, fromVirt: (k & 2) !== 0, toVirt: (k & 1) !== 0 });
});
const RET_PAYLOAD: Readonly<Record<string, unknown>>[] = Array.from({ length: 4 }, (_, i) => Object.freeze({ from: i }));
const WHO_PAYLOAD: Record<CsrWriter, Readonly<Record<string, unknown>>> = {
  insn: Object.freeze({ who: 'insn' }),
  firmware: Object.freeze({ who: 'firmware' }),
  hypervisor: Object.freeze({ who: 'hypervisor' }),
};
const MMIO_C: bigint[] = Array.from({ length: 16 }, (_, i) => BigInt((i & 15) | 0)); // size (1..8)
const MMIO_CW: bigint[] = Array.from({ length: 16 }, (_, i) => BigInt((i & 15) | 0x100));

/** The HartObserver that produces trace events (see the module comment). */
export class Recorder implements HartObserver {
  /** seq of the next event. */
  seq: number;
  readonly batch: EventBatch;
  private readonly sink: (batch: EventBatch) => void;
  private readonly devicePayload = new Map<string, Readonly<Record<string, unknown>>>();
  /** The running hash of the events from seq 0 (null when this recorder started later). */
  private hasher: EventHasher | null;
  /** Rows of `batch` already in the hash. */
  private hashed = 0;

  constructor(sink: (batch: EventBatch) => void, opts: { batchSize?: number; startSeq?: number } = {}) {
    this.sink = sink;
    this.batch = new EventBatch(opts.batchSize ?? 4096);
    this.seq = opts.startSeq ?? 0;
    this.hasher = this.seq === 0 ? new EventHasher() : null;
  }

  /**
   * The running hash and per-kind counts of every event emitted so far (what a state digest
   * stores: src/trace/event-hash.ts); null when the events did not all pass through this
   * recorder (it started, or was reset, past seq 0).
   */
  eventsDigest(): { eventsHash: string; kindCounts: Record<string, number> } | null {
    const h = this.hasher;
    if (h === null) return null;
    this.hashPending();
    return { eventsHash: h.hex(), kindCounts: h.kindCounts() };
  }

  private hashPending(): void {
    const n = this.batch.length;
    if (this.hasher !== null && this.hashed < n) this.hasher.addColumns(this.batch, this.hashed, n);
    this.hashed = n;
  }

  attach(harts: readonly Hart[]): void {
    for (const h of harts) h.obs = this;
  }
  detach(harts: readonly Hart[]): void {
    for (const h of harts) if (h.obs === this) h.obs = null;
  }

  /** Drop the events not handed to the sink yet and continue numbering at `seq` (replay seeks). */
  reset(seq: number): void {
    this.batch.clear();
    this.hashed = 0;
    this.seq = seq;
    this.hasher = seq === 0 ? new EventHasher() : null;
  }

  /** Hand the events collected so far to the sink. */
  flush(): void {
    if (this.batch.length === 0) return;
    this.hashPending();
    this.sink(this.batch);
    this.batch.clear();
    this.hashed = 0;
  }

  /** Start a row for hart h; the caller fills a/b/c/present/payload, then calls end(). */
  private row(h: Hart, kind: number, pc: number, priv: number): number {
    const b = this.batch;
    const i = b.length;
    if (h.pcHi !== 0 && pc === h.pcNum()) b.widePc.set(i, BigInt.asIntN(64, h.getPc())); // exact (HartCore.pcHi)
    b.seq[i] = this.seq++;
    b.vtime[i] = h.vtime();
    b.instret[i] = h.instret;
    b.pc[i] = pc;
    b.hart[i] = h.id;
    b.priv[i] = priv;
    b.virt[i] = h.virt ? 1 : 0;
    b.kind[i] = kind;
    return i;
  }
  private end(i: number): void {
    const b = this.batch;
    b.length = i + 1;
    if (b.length === b.capacity) this.flush();
  }

  // ---- HartObserver ----
  trap(h: Hart, cause: number, interrupt: boolean, epc: bigint, tval: bigint, fromPriv: number, toPriv: number,
    fromVirt = false, toVirt = false): void {
    const b = this.batch, epcS = BigInt.asIntN(64, epc), i = this.row(h, K_TRAP, Number(epcS), fromPriv);
    if (!Number.isSafeInteger(b.pc[i])) b.widePc.set(i, epcS); // beyond ±2^53: the exact epc
    b.virt[i] = fromVirt ? 1 : 0;
    b.a[i] = interrupt ? (cause < 64 ? INT_CAUSE[cause]! : (1n << 63n) | BigInt(cause)) : small(cause);
    b.b[i] = tval;
    b.c[i] = BigInt.asIntN(64, h.getPc());
    b.present[i] = P_A | P_B | P_C;
    b.payload[i] = fromVirt || toVirt
      ? TRAP_PAYLOAD_V[(((fromPriv & 3) << 2) | (toPriv & 3)) * 4 + (fromVirt ? 2 : 0) + (toVirt ? 1 : 0)]!
      : TRAP_PAYLOAD[((fromPriv & 3) << 2) | (toPriv & 3)]!;
    this.end(i);
  }
  trapReturn(h: Hart, insn: 'mret' | 'sret', fromPriv: number, toPriv: number, xretPc: number,
    fromVirt = false, toVirt = false): void {
    // Called after the jump: h.pc is the return address (b); the row's pc is the xRET's own.
    const b = this.batch;
    const i = this.row(h, K_TRAP_RETURN, xretPc, fromPriv);
    b.virt[i] = fromVirt ? 1 : 0;
    b.a[i] = insn === 'mret' ? SMALL[0]! : SMALL[1]!;
    b.b[i] = BigInt.asIntN(64, h.getPc());
    b.c[i] = small(toPriv);
    b.present[i] = P_A | P_B | P_C;
    b.payload[i] = fromVirt || toVirt ? Object.freeze({ from: fromPriv, fromVirt, toVirt }) : RET_PAYLOAD[fromPriv & 3]!;
    this.end(i);
  }
  csrWrite(h: Hart, csr: number, oldValue: bigint, newValue: bigint, who: CsrWriter): void {
    const b = this.batch;
    const i = this.row(h, K_CSR, h.pcNum(), h.priv);
    b.a[i] = small(csr);
    b.b[i] = oldValue;
    b.c[i] = newValue;
    b.present[i] = P_A | P_B | P_C;
    b.payload[i] = WHO_PAYLOAD[who];
    this.end(i);
  }
  mmio(h: Hart, device: string, pa: number, size: number, value: bigint, write: boolean): void {
    const b = this.batch;
    const i = this.row(h, K_MMIO, h.pcNum(), h.priv);
    b.a[i] = BigInt(pa);
    b.b[i] = value;
    b.c[i] = write ? MMIO_CW[size & 15]! : MMIO_C[size & 15]!;
    b.present[i] = P_A | P_B | P_C;
    let p = this.devicePayload.get(device);
    if (p === undefined) {
      p = Object.freeze({ device });
      this.devicePayload.set(device, p);
    }
    b.payload[i] = p;
    this.end(i);
  }
  irqLine(h: Hart, bit: number, level: boolean): void {
    const b = this.batch;
    const i = this.row(h, K_IRQ, h.pcNum(), h.priv);
    b.a[i] = small(bit);
    b.b[i] = level ? SMALL[1]! : SMALL[0]!;
    b.present[i] = P_A | P_B;
    b.payload[i] = null;
    this.end(i);
  }
  sbiCall(h: Hart, call: SbiCallRecord): void {
    const b = this.batch;
    // The ecall's pc: the firmware reports the call while in M-mode, mepc holds the ecall; the
    // hypervisor reports a guest's call in HS-mode, sepc holds it (and the caller had V = 1).
    const guest = call.handler === 'hypervisor';
    const i = this.row(h, K_SBI, Number(BigInt.asIntN(64, guest ? h.sepc : h.mepc)), call.callerPriv);
    if (guest) b.virt[i] = 1;
    b.a[i] = BigInt(call.eid);
    b.b[i] = BigInt(call.fid);
    b.c[i] = call.error;
    b.present[i] = P_A | P_B | P_C;
    b.payload[i] = { args: call.args.slice(), value: call.value, handler: call.handler, caller: call.callerPriv };
    this.end(i);
  }
  hartState(h: Hart, state: 'start' | 'stop' | 'suspend' | 'resume'): void {
    const b = this.batch;
    const i = this.row(h, K_HART_STATE, h.pcNum(), h.priv);
    b.a[i] = SMALL[HART_STATE_CODE[state]]!;
    b.present[i] = P_A;
    b.payload[i] = null;
    this.end(i);
  }
  vmExit(h: Hart, e: VmExitRecord): void {
    const b = this.batch;
    const i = this.row(h, K_VM_EXIT, Number(BigInt.asIntN(64, e.guestPc)), h.priv);
    b.a[i] = small(e.code);
    b.c[i] = BigInt.asIntN(64, e.detail);
    let p = P_A | P_C;
    if (e.vcpu >= 0) { b.b[i] = small(e.vcpu); p |= P_B; }
    b.present[i] = p;
    b.payload[i] = {
      reason: e.reason, vm: e.vm, cause: e.cause,
      ...(e.message !== undefined ? { message: e.message } : {}),
    };
    this.end(i);
  }
  vmEntry(h: Hart, vm: number, vcpu: number, guestPc: bigint): void {
    const b = this.batch;
    const i = this.row(h, K_VM_ENTRY, Number(BigInt.asIntN(64, guestPc)), h.priv);
    b.a[i] = small(vcpu);
    b.b[i] = small(vm);
    b.present[i] = P_A | P_B;
    b.payload[i] = null;
    this.end(i);
  }

  msi(h: Hart, target: number, file: number, eiid: number): void {
    const b = this.batch, i = this.row(h, K_MSI, h.pc, h.priv);
    b.a[i] = small(target); b.b[i] = small(file); b.c[i] = BigInt(eiid >>> 0);
    b.present[i] = P_A | P_B | P_C; b.payload[i] = null;
    this.end(i);
  }

  // ---- board events ----
  /** A UART input byte was delivered at scheduler time `vtime` (hart 0 supplies pc/instret). */
  input(h0: Hart, vtime: number, byte: number): number {
    const b = this.batch;
    const seq = this.seq;
    const i = this.row(h0, K_INPUT, h0.pcNum(), h0.priv);
    b.vtime[i] = vtime;
    b.a[i] = small(byte);
    b.present[i] = P_A;
    b.payload[i] = null;
    this.end(i);
    return seq;
  }
  /** The machine halted (last event of a complete trace). */
  halt(h: Hart, info: HaltInfo): number {
    const b = this.batch;
    const seq = this.seq;
    const i = this.row(h, K_HALT, h.pcNum(), h.priv);
    b.a[i] = small(info.exitCode & 0xff);
    b.present[i] = P_A;
    b.payload[i] = { kind: info.kind, message: info.message };
    this.end(i);
    return seq;
  }
}

// ---------------------------------------------------------------------------------------------
// digests
// ---------------------------------------------------------------------------------------------

/**
 * Which RAM pages may be non-zero, without reading all of RAM. Reading never-touched guest RAM
 * is expensive here: the first access to each host page of the board's WebAssembly.Memory costs
 * a page fault (about 3 s and +256 MiB RSS for a 256 MiB machine on the Firecracker VMs this
 * runs on), which a plain `run` never pays. So digests and checkpoints only look at pages that
 * can have been written:
 *  - pages of the images the machine loaded (images, the DTB and the fw_dynamic info below it),
 *  - every page a hart resolved for a store (Hart.resolve(..., ACC_STORE): the TLB fill of
 *    ordinary stores, page-crossing stores, SC and AMOs - the only way a hart writes RAM; page
 *    table A/D updates only rewrite PTEs, which sit in pages a store or the loader wrote),
 *  - every range written through Bus.writeRam (firmware, loader),
 *  - pages restored from a checkpoint.
 * The set only grows. Hart.resolve is wrapped per hart instance (the hart has no write-tracking
 * hook of its own); if the hart's shape is not what this expects, tracking is off and digests
 * scan all of RAM (correct, just slower). test/record.test.ts checks that every non-zero page of
 * recorded runs is in the set.
 */
export class RamWriteTracker {
  /** 1 = the page may be non-zero. */
  readonly touched: Uint8Array;
  /** Touched page indices in order of first touch. */
  private readonly list: number[] = [];
  readonly active: boolean;
  private readonly ramOffset: number;

  private constructor(machine: Machine) {
    const bus = machine.bus;
    this.ramOffset = bus.ramOffset;
    this.touched = new Uint8Array(bus.ramSize / 4096);
    this.active = true;
    const prevStore = bus.onStore;
    bus.onStore = (o: number, size: number): void => {
      this.markOffset(o, size);
      if (prevStore) prevStore(o, size);
    };
    const prevHook = bus.onRamWrite;
    bus.onRamWrite = (pa: number, len: number): void => {
      this.markRange(pa - bus.ramBase, len);
      if (prevHook) prevHook(pa, len);
    };
    for (const i of machine.images) {
      this.markRange(i.base - bus.ramBase, i.size);
      // fw_dynamic_info sits just below the DTB.
      if (i.role === 'dtb') this.markRange(i.base - bus.ramBase - 4096, 4096);
    }
  }

  private static readonly byMachine = new WeakMap<Machine, RamWriteTracker>();

  /** The tracker of `machine`, installed on first use (before the machine runs). */
  static of(machine: Machine): RamWriteTracker {
    let t = RamWriteTracker.byMachine.get(machine);
    if (!t) {
      t = new RamWriteTracker(machine);
      RamWriteTracker.byMachine.set(machine, t);
    }
    return t;
  }
  static existing(machine: Machine): RamWriteTracker | undefined {
    return RamWriteTracker.byMachine.get(machine);
  }

  private markOffset(o: number, size: number): void {
    // Offsets may exceed 2^32 (RAM above 4 GiB): divide, do not shift.
    const first = Math.floor((o - this.ramOffset) / 4096);
    const last = Math.floor((o + size - 1 - this.ramOffset) / 4096);
    for (let p = first; p <= last; p++) {
      if (this.touched[p] === 0) {
        this.touched[p] = 1;
        this.list.push(p);
      }
    }
  }
  /** Mark [off, off+len) (offsets from the start of RAM, clipped to RAM). */
  markRange(off: number, len: number): void {
    const n = this.touched.length;
    const first = Math.max(0, Math.floor(off / 4096));
    const last = Math.min(n - 1, Math.floor((off + Math.max(len, 1) - 1) / 4096));
    for (let p = first; p <= last; p++) {
      if (this.touched[p] === 0) {
        this.touched[p] = 1;
        this.list.push(p);
      }
    }
  }
  /** Number of pages that may be non-zero. */
  get count(): number {
    return this.list.length;
  }
  /** Touched pages in ascending order. */
  pages(): number[] {
    return this.list.slice().sort((a, b) => a - b);
  }
}

/**
 * A cheap 64-bit hash of every 4 KiB RAM page (two int32 per page, four multiply-xor lanes over
 * the page's words); an all-zero page hashes to (0, 0) and no other page does. Only pages the
 * machine's RamWriteTracker marks are read (the others are zero); without a tracker, all of
 * RAM is read.
 */
export function ramPageHashes(machine: Machine, out?: Int32Array): Int32Array {
  const bus = machine.bus;
  // RAM as word views of at most 1 GiB each (2^18 pages): one typed array cannot span 16 GiB.
  const chunks = bus.ramWordChunks();
  const np = bus.ramSize / 4096;
  const o = out && out.length === np * 2 ? out : new Int32Array(np * 2);
  const tr = RamWriteTracker.existing(machine);
  const t = tr && tr.active ? tr.touched : null;
  // The same hash in wasm where RAM is a WebAssembly.Memory (src/trace/page-hash.ts).
  const wasm = pageHasher(bus.memory);
  const base = bus.ramOffset;
  for (let p = 0; p < np; p++) {
    if (t !== null && t[p] === 0) {
      o[2 * p] = 0;
      o[2 * p + 1] = 0;
    } else if (wasm !== null) {
      wasm.hash(base + p * 4096, o, p);
    } else {
      hashPageJs(chunks[p >> 18]!, (p & 0x3ffff) << 10, o, p);
    }
  }
  return o;
}

export interface SchedulerState {
  time: number;
  inputPos: number;
  inputOff: number;
}

/**
 * Every hart's first-level TLBs emptied, at a checkpoint. Translations cached before a point a replay can start
 * from must not outlive it: the ISA lets a hart use a cached translation until SFENCE.VMA, so a
 * guest that edits a PTE without a fence may see the old one or the new one depending on what
 * the hart still caches. The recorder flushes when it takes a checkpoint, restoreState flushes,
 * and a replay flushes where the recording took one (ReplayRun), so all three see the same.
 */
export function checkpointFlush(machine: Machine): void {
  for (const h of machine.harts) h.flushTlb();
}

/** The snapshot that checkpoints store and state digests hash. */
export function stateSnapshot(machine: Machine, scheduler: Scheduler): { machine: MachineSnapshot; scheduler: SchedulerState } {
  return { machine: machine.saveState(), scheduler: scheduler.saveState() };
}

/** A digest of the whole state: sha256 of the snapshot and of the RAM page hashes. */
export function stateDigest(machine: Machine, scheduler: Scheduler, seq: number,
  opts: { final?: boolean; pageHashes?: Int32Array; events?: { eventsHash: string; kindCounts: Record<string, number> } | null } = {}): DigestRow {
  const ph = opts.pageHashes ?? ramPageHashes(machine);
  const ramHash = createHash('sha256').update(new Uint8Array(ph.buffer, ph.byteOffset, ph.byteLength)).digest('hex');
  const stateHash = createHash('sha256').update(encodeState(stateSnapshot(machine, scheduler))).digest('hex');
  return {
    vtime: scheduler.time,
    totalInstret: scheduler.totalInstructions(),
    seq,
    hartInstret: machine.harts.map((h) => h.instret),
    stateHash,
    ramHash,
    final: opts.final ?? false,
    ...(opts.events ? { eventsHash: opts.events.eventsHash, kindCounts: opts.events.kindCounts } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// checkpoints
// ---------------------------------------------------------------------------------------------

export interface CapturedCheckpoint {
  readonly vtime: number;
  readonly totalInstret: number;
  /** encodeState(stateSnapshot(...)). */
  readonly state: Uint8Array;
  /** Non-zero pages with their sha256. */
  readonly pages: PageRef[];
  /** Bytes of RAM page `index` (valid until the machine runs again). */
  readonly pageBytes: (index: number) => Uint8Array;
}

/**
 * Takes checkpoints; remembers each page's fast hash and sha256 from the previous checkpoint, so
 * only pages whose fast hash changed are hashed with sha256 again.
 */
export class CheckpointTaker {
  private prevFast: Int32Array | null = null;
  private prevSha: (Uint8Array | undefined)[] = [];

  capture(machine: Machine, scheduler: Scheduler, pageHashes?: Int32Array): CapturedCheckpoint {
    const ph = pageHashes ?? ramPageHashes(machine);
    const bus = machine.bus;
    const np = ph.length >>> 1;
    const prev = this.prevFast;
    const pages: PageRef[] = [];
    for (let p = 0; p < np; p++) {
      const x = ph[2 * p]!, y = ph[2 * p + 1]!;
      if ((x | y) === 0) {
        this.prevSha[p] = undefined;
        continue;
      }
      let sha = this.prevSha[p];
      if (sha === undefined || prev === null || prev[2 * p] !== x || prev[2 * p + 1] !== y) {
        sha = createHash('sha256').update(bus.ramPage(p)).digest();
        this.prevSha[p] = sha;
      }
      pages.push({ index: p, hash: sha });
    }
    this.prevFast = Int32Array.from(ph);
    return {
      vtime: scheduler.time,
      totalInstret: scheduler.totalInstructions(),
      state: encodeState(stateSnapshot(machine, scheduler)),
      pages,
      pageBytes: (i) => bus.ramPage(i),
    };
  }
}

/**
 * Restore checkpoint `id` of `reader` into a machine built from the same configuration (RAM
 * first, then hart/device state, then the scheduler). The scheduler must already hold the
 * trace's input queue (reader.inputQueue(), queued with addInput in order): restoreState only
 * sets the position in it. Returns the checkpoint (its `seq` is where event comparison resumes).
 */
export function restoreCheckpoint(reader: TraceReader, id: number, machine: Machine, scheduler: Scheduler): CheckpointData {
  const ck = reader.checkpoint(id);
  const bus = machine.bus;
  const tr = RamWriteTracker.existing(machine);
  if (tr && tr.active) {
    // Only pages that may be non-zero need clearing (touching the others costs page faults).
    const t = tr.touched;
    for (let p = 0; p < t.length; p++) if (t[p]) bus.ramPage(p).fill(0);
    for (const p of ck.pages) tr.markRange(p.index * 4096, 4096);
  } else {
    bus.zeroRam();
  }
  for (const p of ck.pages) bus.ramPage(p.index).set(reader.page(p.hash));
  machine.restoreState(ck.state.machine as MachineSnapshot);
  scheduler.restoreState(ck.state.scheduler as SchedulerState);
  return ck;
}

// ---------------------------------------------------------------------------------------------
// a recording session
// ---------------------------------------------------------------------------------------------

export const DEFAULT_DIGEST_EVERY = 10_000_000;
export const DEFAULT_CHECKPOINT_EVERY = 50_000_000;

export interface RecordOptions {
  readonly path: string;
  readonly overwrite?: boolean;
  readonly config: MachineConfig;
  readonly quantum?: number;
  readonly maxInsns?: number;
  /** Instructions between digests (0 = none). Default DEFAULT_DIGEST_EVERY. */
  readonly digestEvery?: number;
  /** Instructions between checkpoints (0 = none). Default DEFAULT_CHECKPOINT_EVERY. */
  readonly checkpointEvery?: number;
  readonly input?: TraceConfig['input'];
  /** Guest console output (besides the trace). */
  readonly onConsole?: (bytes: Uint8Array) => void;
  readonly batchSize?: number;
  readonly producer?: string;
  /**
   * Write the trace on a worker thread (ThreadedTraceWriter, the default): SQLite's work overlaps
   * the emulation. false: in this thread (TraceWriter), e.g. to profile the writer.
   */
  readonly writerThread?: boolean;
  /** Symbol tables to store in the trace (src/image/symbols.ts symbolsToStore). */
  readonly symbols?: TraceInit['symbols'];
}

export interface RecordSummary {
  readonly path: string;
  readonly status: 'complete' | 'aborted';
  readonly exit: ExitInfo | null;
  readonly events: number;
  readonly totalInstret: number;
}

export class RecordSession {
  readonly machine: Machine;
  readonly scheduler: Scheduler;
  readonly recorder: Recorder;
  readonly writer: TraceSink;
  readonly digestEvery: number;
  readonly checkpointEvery: number;
  private nextDigest = 0;
  private nextCheckpoint: number;
  private readonly taker = new CheckpointTaker();
  private pageHashBuf: Int32Array | undefined;
  private haltRecorded = false;
  private finished = false;
  // console chunk being collected: chunk[0 .. chunkLen)
  private chunk = new Uint8Array(8192);
  private chunkLen = 0;
  private chunkHart: number | null = null;
  private chunkVtime = 0;
  private chunkSeq = 0;
  /** Wall time spent in digests + checkpoints (ns), for the benchmark. */
  snapshotNs = 0;

  private constructor(opts: RecordOptions) {
    const { machine: stored, images } = storedMachineConfig(opts.config);
    const digestEvery = opts.digestEvery ?? DEFAULT_DIGEST_EVERY;
    const checkpointEvery = opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    const quantum = opts.quantum ?? 10_000;
    const config: TraceConfig = {
      producer: opts.producer ?? 'hvtrace record',
      hvtraceVersion: HVTRACE_VERSION,
      schemaVersion: SCHEMA_VERSION,
      machine: stored,
      quantum,
      maxInsns: opts.maxInsns ?? null,
      digestEvery: digestEvery > 0 ? digestEvery : null,
      checkpointEvery: checkpointEvery > 0 ? checkpointEvery : null,
      input: opts.input ?? { source: 'none' },
    };
    this.digestEvery = digestEvery;
    this.checkpointEvery = checkpointEvery;
    this.nextCheckpoint = checkpointEvery > 0 ? checkpointEvery : Infinity;
    if (digestEvery <= 0) this.nextDigest = Infinity;
    this.writer = opts.writerThread === false
      ? TraceWriter.create(opts.path, { config, images, symbols: opts.symbols }, { overwrite: opts.overwrite })
      : ThreadedTraceWriter.create(opts.path, { config, images, symbols: opts.symbols }, { overwrite: opts.overwrite, indexesFirst: true });
    this.recorder = new Recorder((b) => {
      this.cutConsole();
      this.writer.writeEvents(b);
    }, { batchSize: opts.batchSize });
    try {
      this.machine = new Machine({ ...opts.config, observer: this.recorder });
      this.scheduler = new Scheduler(this.machine, { quantum, maxInsns: opts.maxInsns });
    } catch (e) {
      this.writer.discard();
      throw e;
    }
    RamWriteTracker.of(this.machine);
    // Every image block the guest reads goes into the trace when first read (a replay needs no
    // image file); the overlay of its writes at the end (finish).
    this.machine.blks.forEach((b, k) => {
      b.disk.onBaseRead = (block, data) => this.writer.addDiskBlocks([{ drive: k, layer: 0, block, data }]);
    });
    const loaded: LoadedImageInfo[] = this.machine.images.map((i) => ({ name: i.name, role: i.role, base: i.base, size: i.size, entry: i.entry }));
    this.writer.setMeta('loaded_images', JSON.stringify(loaded));
    const userConsole = opts.onConsole;
    this.machine.onConsole = (bytes) => {
      if (userConsole) userConsole(bytes);
      this.consoleBytes(bytes);
    };
    this.scheduler.onInputDelivered = (vtime, byte) => {
      const seq = this.recorder.input(this.machine.harts[0]!, vtime, byte);
      this.writer.addInput(vtime, byte, seq);
    };
    this.scheduler.onRoundStart = (s) => this.roundStart(s);
  }

  static create(opts: RecordOptions): RecordSession {
    return new RecordSession(opts);
  }

  /** Queue UART input (Scheduler.addInput) and record it in input_queue. */
  queueInput(bytes: Uint8Array, vtime = this.scheduler.time): void {
    if (bytes.length === 0) return;
    const t = Math.max(vtime, this.scheduler.time);
    this.scheduler.addInput(bytes, t);
    this.writer.addQueuedInput(t, bytes);
  }

  private consoleBytes(bytes: Uint8Array): void {
    const h = this.machine.current;
    if (this.chunkLen > 0 && (this.chunkHart !== h.id || this.chunkLen >= 4096)) this.cutConsole();
    if (this.chunkLen === 0) {
      this.chunkHart = h.id;
      this.chunkVtime = h.vtime();
      this.chunkSeq = this.recorder.seq;
    }
    const n = this.chunkLen + bytes.length;
    if (n > this.chunk.length) {
      const bigger = new Uint8Array(Math.max(n, this.chunk.length * 2));
      bigger.set(this.chunk.subarray(0, this.chunkLen));
      this.chunk = bigger;
    }
    const c = this.chunk, at = this.chunkLen;
    if (bytes.length <= 16) for (let i = 0; i < bytes.length; i++) c[at + i] = bytes[i]!; // the UART's: one byte
    else c.set(bytes, at);
    this.chunkLen = n;
  }
  private cutConsole(): void {
    if (this.chunkLen === 0) return;
    this.writer.addConsole(this.chunkVtime, this.chunkHart, this.chunkSeq, this.chunk.slice(0, this.chunkLen));
    this.chunkLen = 0;
  }

  private roundStart(s: Scheduler): void {
    const total = s.totalInstructions();
    const wantDigest = total >= this.nextDigest;
    const wantCheckpoint = total >= this.nextCheckpoint;
    if (!wantDigest && !wantCheckpoint) return;
    const t0 = process.hrtime.bigint();
    this.pageHashBuf = ramPageHashes(this.machine, this.pageHashBuf);
    if (wantDigest) {
      this.writer.addDigest(stateDigest(this.machine, s, this.recorder.seq, { pageHashes: this.pageHashBuf, events: this.recorder.eventsDigest() }));
      this.nextDigest = (Math.floor(total / this.digestEvery) + 1) * this.digestEvery;
    }
    if (wantCheckpoint) {
      // Events before the checkpoint go out first, so `seq` splits the stream exactly.
      this.recorder.flush();
      this.cutConsole();
      const c = this.taker.capture(this.machine, s, this.pageHashBuf);
      // A checkpoint is a TLB flush point (checkpointFlush): a replay restored from it starts
      // with empty TLBs, and one that runs through it flushes here too.
      checkpointFlush(this.machine);
      const pos = this.writer.consolePosition;
      this.writer.addCheckpoint(
        { vtime: c.vtime, totalInstret: c.totalInstret, seq: this.recorder.seq, consoleSeq: pos.seq, consoleBytes: pos.bytes },
        c.state, c.pages, c.pageBytes,
      );
      this.nextCheckpoint = (Math.floor(total / this.checkpointEvery) + 1) * this.checkpointEvery;
    }
    this.snapshotNs += Number(process.hrtime.bigint() - t0);
  }

  get eventsRecorded(): number {
    return this.recorder.seq;
  }
  get eventsWritten(): number {
    return this.writer.eventsWritten;
  }

  /** Run up to `rounds` rounds; a halt is recorded as the 'halt' event. */
  step(rounds: number): StepResult {
    const r = this.scheduler.step(rounds);
    if (r.kind === 'halted') this.recordHalt(r.halt);
    return r;
  }

  /** Run to the end with no further input (idle = deadlock), as Scheduler.runToEnd. */
  runToEnd(): HaltInfo {
    for (;;) {
      const r = this.step(1000);
      if (r.kind === 'halted') return r.halt;
      if (r.kind === 'idle') {
        const h = this.scheduler.runToEnd();
        this.recordHalt(h);
        return h;
      }
    }
  }

  private recordHalt(h: HaltInfo): void {
    if (this.haltRecorded) return;
    this.haltRecorded = true;
    this.recorder.halt(this.machine.current, h);
  }

  /**
   * Write what is pending and close the trace: 'complete' after a halt (with the exit and a final
   * digest), 'aborted' otherwise (e.g. SIGINT; `reason` goes into the exit message).
   */
  finish(status?: 'complete' | 'aborted', reason = 'recording interrupted'): RecordSummary {
    if (this.finished) throw new Error('internal: recording already finished');
    this.finished = true;
    const halt = this.machine.halt;
    const st = status ?? (halt && this.haltRecorded ? 'complete' : 'aborted');
    if (st === 'complete' && halt && !this.haltRecorded) this.recordHalt(halt);
    this.recorder.flush();
    this.cutConsole();
    this.recorder.detach(this.machine.harts);
    if (st === 'complete' && this.digestEvery > 0) {
      this.writer.addDigest(stateDigest(this.machine, this.scheduler, this.recorder.seq, { final: true, events: this.recorder.eventsDigest() }));
    }
    const exit: ExitInfo | null = st === 'complete' && halt
      ? { kind: halt.kind, exitCode: halt.exitCode, message: halt.message }
      : { kind: 'aborted', exitCode: 130, message: reason };
    const counts: Partial<TraceCounts> = {
      instret: this.machine.harts.map((h) => h.instret),
      steps: this.machine.harts.map((h) => h.attempted),
      totalInstret: this.machine.harts.reduce((s, h) => s + h.instret, 0),
      vtime: this.scheduler.time,
    };
    this.machine.blks.forEach((b, k) => {
      this.writer.addDiskBlocks(b.disk.overlayBlocks().map(([block, data]) => ({ drive: k, layer: 1 as const, block, data })));
    });
    this.writer.finish(st, { exit, counts });
    return { path: this.writer.path, status: st, exit, events: this.recorder.seq, totalInstret: counts.totalInstret! };
  }
}
