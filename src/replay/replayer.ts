/**
 * Replay and seek (DESIGN.md §3-4).
 *
 * `replay(path)` rebuilds the machine from the configuration and images stored in the trace,
 * queues the recorded UART input exactly as it was queued (input_queue), attaches the same
 * Recorder the recording used with a sink that compares every event with the stored one
 * (src/diff/compare.ts), runs, and reports the first divergence: seq, hart, instret, pc with
 * symbol and disassembly, expected vs actual, the events just before. It also compares the
 * stored state digests at the same round starts (a state difference that no event shows yet),
 * and the end of the run: halt kind and exit code, per-hart instruction counts, console output.
 *
 * `seek(path, POS)` lands on an exact instruction and describes the machine there. POS:
 *   N              the global instruction count (all harts' steps, as --max-insns counts);
 *   HART:COUNT     the first point where hart HART's instret is COUNT;
 *   seq:N          just before the instruction that emits event N (of whichever hart executes it;
 *                  a trap entry counts with the instruction that faulted, an interrupt entry with
 *                  the instruction it precedes), so all events of one instruction land at the
 *                  same point; events the scheduler emits between instructions (input delivery,
 *                  timer lines) land right after the instruction before them, and events of
 *                  the machine's construction (firmware boot) at instruction 0. Found in two
 *                  passes: one that notes where event N is emitted, one that stops there;
 *   pc:ADDR[#K]    the first (K-th) time a hart is about to execute ADDR (hex, or a symbol,
 *                  optionally +offset, from the trace's ELF images, `--symbols` files or the
 *                  System.map next to a raw kernel or guest Image: src/image/symbols.ts);
 *                  `H:pc:ADDR[#K]` restricts it to hart H. A guest's symbol (built-in
 *                  hypervisor) counts only arrivals in that guest (V = 1, its vCPU loaded):
 *                  hart.pc is then the guest-virtual pc.
 * It restores the nearest checkpoint at or before the position (pc: from the start, since hit
 * counts are counted from the start) and runs with PreciseScheduler (src/replay/precise.ts),
 * which stops exactly there. The events produced on the way are compared with the trace too.
 *
 * Refusals (TraceError, exit 2): no machine configuration (an imported trace), image bytes that
 * do not match the recorded sha256, another trace schema or hvtrace version, an unfinished trace;
 * `force` turns all but the first into warnings.
 */
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import {
  TraceReader, TraceError, SCHEMA_VERSION, HVTRACE_VERSION,
  type TraceConfig, type ExitInfo, type ImageRole, type ImageRef, type CheckpointInfo, type DigestRow,
} from '../trace/store.js';
import { Recorder, RamWriteTracker, stateDigest, restoreCheckpoint } from '../trace/recorder.js';
import { EVENT_KINDS, words, type EventBatch, type TraceEvent } from '../trace/model.js';
import { payloadBytes } from '../trace/store.js';
import { StoredEventFeed, type StoredColumns } from '../trace/event-feed.js';
import { TraceDiskBackend } from '../trace/drive.js';
import type { DiskBackend, DriveConfig } from '../devices/virtio-blk.js';
import { Machine, type MachineConfig, type HaltInfo, type Image, type MachineSnapshot } from '../board/machine.js';
import { DEFAULT_QUANTUM, type Scheduler } from '../sched/scheduler.js';
import { HartState, type Hart } from '../hart/hart.js';
import { SymbolTable, symbolSourcesFor, HOST_SPACE, type GuestRef, type SymbolFile } from '../image/symbols.js';
import { eventSpaces } from '../trace/code.js';
import { disassemble, ABI_NAMES, FABI_NAMES } from '../isa/disasm.js';
import { PreciseScheduler, globalCount, globalRetired, beforeStep, hartInstret, pcHit, type StopTarget, type RunUntilResult } from './precise.js';
import type { HartObserver } from '../hart/observer.js';
import { EventComparer, fieldLabel, hex, type Divergence } from '../diff/compare.js';

// ---------------------------------------------------------------------------------------------
// opening a trace for replay
// ---------------------------------------------------------------------------------------------

export interface ReplayOpenOptions extends SymbolOptions {
  /** Replay despite image / version / status mismatches (they become warnings). */
  force?: boolean;
  /**
   * Disk images given for the trace's drives (`replay --drive file=PATH`), in drive order: each
   * must be the image recorded (sha256), and serves the blocks the trace lacks.
   */
  drives?: readonly DiskBackend[];
}

/** Symbols beyond the ELF images in the trace (src/image/symbols.ts). */
export interface SymbolOptions {
  /** `--symbols` files (ELF or System.map), looked up before the images' own symbols. */
  symbols?: readonly SymbolFile[];
  /** Use the System.map next to a raw kernel Image (default true). */
  autoSymbols?: boolean;
}

export interface OpenedTrace {
  readonly reader: TraceReader;
  readonly trace: TraceConfig;
  readonly machineConfig: MachineConfig;
  /** Problems that `force` let through. */
  readonly warnings: string[];
  readonly symbolOptions: SymbolOptions;
}

const short = (h: string): string => h.slice(0, 12);
const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Open a trace and check that it can be replayed by this hvtrace. Throws TraceError with a
 * one-line message; the reader is closed on error.
 */
export function openForReplay(path: string, opts: ReplayOpenOptions = {}): OpenedTrace {
  const reader = TraceReader.open(path);
  try {
    return checkReplayable(reader, opts);
  } catch (e) {
    reader.close();
    throw e;
  }
}

function checkReplayable(reader: TraceReader, opts: ReplayOpenOptions): OpenedTrace {
  const path = reader.path;
  const trace = reader.config;
  if (!trace.machine) {
    throw new TraceError(`${path}: cannot replay: the trace has no machine configuration (produced by ${trace.producer}; a reference import can only be diffed)`);
  }
  const problems: string[] = [];
  if (reader.schemaVersion !== SCHEMA_VERSION || trace.schemaVersion !== SCHEMA_VERSION) {
    problems.push(`trace schema version ${trace.schemaVersion ?? reader.schemaVersion} differs from this hvtrace's (${SCHEMA_VERSION})`);
  }
  if (trace.hvtraceVersion !== HVTRACE_VERSION) {
    problems.push(`recorded by hvtrace ${trace.hvtraceVersion}, this is hvtrace ${HVTRACE_VERSION} (the emulator may behave differently)`);
  }
  // A recording whose recorder died ('truncated') or is still running is replayed as the prefix
  // it is (replayOpened). Events missing, or counts that disagree with the recorder's: warned
  // about (the comparison then shows where).
  const damage = reader.damage().map((d) => `the trace is damaged: ${d}`);
  const m = trace.machine;
  const refs: [ImageRole, ImageRef | undefined][] = [
    ['firmware', typeof m.bios === 'object' ? m.bios : undefined],
    ['kernel', m.kernel], ['initrd', m.initrd], ['dtb', m.dtb],
    // Guests of the built-in hypervisor.
    ...(m.guests ?? []).flatMap((g, k): [ImageRole, ImageRef | undefined][] => [[`guest${k}`, g.image], [`guest${k}-initrd`, g.initrd]]),
  ];
  const stored = new Map(reader.images().map((i) => [i.role, i]));
  const images = new Map<ImageRole, Image>();
  for (const [role, ref] of refs) {
    if (!ref) continue;
    const s = stored.get(role);
    if (!s) throw new TraceError(`${path}: cannot replay: the ${role} image (${ref.name}) is not stored in the trace`);
    let bytes: Uint8Array;
    try {
      const r = reader.query('SELECT data FROM images WHERE role = ?', [role]);
      bytes = new Uint8Array(inflateRawSync(r.rows[0]![0] as Buffer));
    } catch (e) {
      throw new TraceError(`${path}: cannot replay: the ${role} image is corrupt (${(e as Error).message})`);
    }
    const actual = sha256hex(bytes);
    if (actual !== ref.sha256 || bytes.length !== ref.size) {
      problems.push(`the ${role} image stored in the trace (sha256 ${short(actual)}, ${bytes.length} bytes) is not the one recorded (${ref.name}: sha256 ${short(ref.sha256)}, ${ref.size} bytes)`);
    } else if (s.sha256 !== ref.sha256) {
      problems.push(`the ${role} image table entry (sha256 ${short(s.sha256)}) disagrees with the recorded configuration (sha256 ${short(ref.sha256)})`);
    }
    images.set(role, { name: ref.name, bytes });
  }
  if (problems.length > 0 && !opts.force) {
    throw new TraceError(`${path}: cannot replay: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}; use --force to replay anyway`);
  }
  const given = opts.drives ?? [];
  if (given.length > (m.drives?.length ?? 0)) {
    throw new TraceError(`${path}: cannot replay with ${given.length} --drive: the recording had ${m.drives?.length ?? 0} drive${m.drives?.length === 1 ? '' : 's'}`);
  }
  const drives = (m.drives ?? []).map((d, k): DriveConfig => {
    const g = given[k];
    if (g && g.sha256 !== d.sha256) {
      // Never forced: the blocks it would serve are not the ones the guest read.
      throw new TraceError(`${path}: cannot replay: drive ${k} (${g.name}) changed since the recording (sha256 ${short(g.sha256)}, ${g.size} bytes; recorded ${d.name}: sha256 ${short(d.sha256)}, ${d.size} bytes)`);
    }
    return { backend: new TraceDiskBackend(d.name, d.sha256, d.size, reader.diskBlocks(k, 0), g ?? null), readonly: d.readonly };
  });
  const machineConfig: MachineConfig = {
    ramSize: m.ramSize,
    harts: m.harts,
    bios: typeof m.bios === 'object' ? images.get('firmware')! : m.bios,
    kernel: images.get('kernel'),
    initrd: images.get('initrd'),
    append: m.append,
    dtb: images.get('dtb'),
    ...(m.rtc ? { rtc: { base: m.rtc.base } } : {}),
    ...(drives.length > 0 ? { drives } : {}),
    ...(m.rngSeed !== undefined ? { rngSeed: m.rngSeed } : {}),
    ...(m.virtio ? { virtio: true } : {}),
    ...(m.guests ? {
      guests: m.guests.map((g, k) => ({
        image: images.get(`guest${k}`)!, vcpus: g.vcpus, memSize: g.memSize, append: g.append, initrd: images.get(`guest${k}-initrd`),
      })),
    } : {}),
  };
  return { reader, trace, machineConfig, warnings: [...damage, ...problems], symbolOptions: { symbols: opts.symbols, autoSymbols: opts.autoSymbols } };
}

// ---------------------------------------------------------------------------------------------
// code and symbols
// ---------------------------------------------------------------------------------------------

/**
 * Symbols (the `--symbols` files, the ELF images the machine loaded with the kernel's first, the
 * System.map next to a raw kernel Image, the guests' symbols) and instruction bytes from the
 * machine's memory. With guests of the built-in hypervisor, a hart with V = 1 is in its VM's
 * address space: its pc is a guest-virtual address, read through the VS-stage (vsatp) and
 * G-stage (hgatp) tables, and named with that guest's symbols (symbols.ts HOST_SPACE / vm).
 */
export class CodeView {
  readonly machine: Machine;
  readonly symbols: SymbolTable;
  /** Notes about the symbol sources (a System.map next to the kernel that does not match it). */
  readonly notes: string[];
  /** The address space of an event's pc (trace/code.ts eventSpaces). */
  readonly eventSpace: (e: TraceEvent) => number | undefined;

  constructor(machine: Machine, opts: SymbolOptions = {}, reader: TraceReader | null = null) {
    this.machine = machine;
    const k = machine.images.find((i) => i.role === 'kernel');
    const kb = machine.config.kernel?.bytes;
    const plans = machine.hypervisor?.plans ?? [];
    const guests: GuestRef[] = plans.map((p) => {
      const bytes = p.config.image.bytes;
      if (p.elf) return { vm: p.index, name: p.config.image.name, bytes, base: 0, symbols: p.elf.symbols };
      return { vm: p.index, name: p.config.image.name, bytes, base: p.regions.find((r) => r.role === `guest${p.index}`)!.gpa };
    });
    const r = symbolSourcesFor({
      elf: machine.images.filter((i) => i.elf).map((i) => ({ role: i.role, name: i.name, symbols: i.elf!.symbols })),
      kernel: k && kb ? { name: k.name, bytes: kb, base: k.base } : undefined,
      guests,
      files: opts.symbols,
      stored: reader?.storedSymbols(),
      auto: opts.autoSymbols,
    });
    this.symbols = new SymbolTable(r.sources);
    this.notes = r.notes;
    this.eventSpace = eventSpaces(reader, plans.length);
  }

  /**
   * The address space hart h's pc is in: undefined without guests, HOST_SPACE with V = 0, else
   * the VM whose vCPU is loaded in the hart.
   */
  spaceOf(h: Hart | null): number | undefined {
    const hv = this.machine.hypervisor;
    if (!hv || !h) return undefined;
    if (!h.virt) return HOST_SPACE;
    const p = hv.percpu[h.id];
    return p?.loaded?.vmIndex ?? (p && p.vm >= 0 ? p.vm : 0);
  }

  symbolize = (addr: bigint, space?: number): string | undefined => this.symbols.symbolize(addr, space);

  /** Symbol of an event's pc, in the event's address space (host or guest). */
  symbolizeEvent = (e: TraceEvent): string | undefined => this.symbols.symbolize(e.pc, this.eventSpace(e));

  /** Address of a symbol (functions preferred), or undefined. */
  lookup(name: string): bigint | undefined {
    return this.symbols.lookup(name);
  }

  /** A RAM doubleword (page-table entry) at physical address pa, or null. */
  private pte(pa: number): bigint | null {
    const bus = this.machine.bus;
    if (!bus.isRam(pa, 8)) return null;
    return bus.dv.getBigUint64(bus.ramOffset + pa - bus.ramBase, true);
  }

  /**
   * G-stage translation (hgatp: Bare, Sv39x4, Sv48x4) of a guest-physical address, read-only
   * (no A/D updates, no faults, permissions not checked), or null.
   */
  private gpaToPa(h: Hart, gpa: number): number | null {
    const mode = Number(h.hgatp >> 60n);
    if (mode === 0) return gpa;
    const levels = mode === 8 ? 3 : mode === 9 ? 4 : 0;
    if (levels === 0 || gpa < 0 || gpa >= 2 ** (12 + 9 * levels + 2)) return null;
    let a = Number(h.hgatp & 0xfffffffffffn) * 4096;
    const vpnAll = Math.floor(gpa / 4096);
    for (let i = levels - 1; i >= 0; i--) {
      // The root index has 11 bits (the x4 root table is 16 KiB).
      const idx = i === levels - 1 ? Math.floor(vpnAll / 2 ** (9 * i)) : Math.floor(vpnAll / 2 ** (9 * i)) % 512;
      const pte = this.pte(a + idx * 8);
      if (pte === null || (pte & 1n) === 0n) return null;
      const ppn = Number((pte >> 10n) & 0xfffffffffffn);
      if ((pte & 0xan) !== 0n) {
        const span = 2 ** (12 + 9 * i);
        return ppn * 4096 + (gpa % span);
      }
      a = ppn * 4096;
    }
    return null;
  }

  /**
   * Physical address of a virtual instruction address as hart h would fetch it now, by a
   * read-only page-table walk (no A/D updates, no faults), or null. With V = 1: the VS-stage
   * walk (vsatp, in the hart's satp while V = 1) over guest-physical addresses, each one
   * translated by the G-stage (hgatp).
   */
  fetchPa(h: Hart | null, va: bigint): number | null {
    const bus = this.machine.bus;
    const pa = this.translatePa(h, va);
    return pa !== null && bus.isRam(pa, 2) ? pa : null;
  }

  /**
   * Physical address of virtual address `va` as hart h sees memory now (its privilege's
   * translation: satp, or vsatp + hgatp while V = 1; M-mode and no hart: the address itself), by
   * a read-only walk: no A/D updates, no faults, no TLB fills, permissions not checked (a
   * debugger may read any mapped page). null when unmapped. RAM or not is the caller's check.
   */
  translatePa(h: Hart | null, va: bigint): number | null {
    va = BigInt.asUintN(64, va);
    if (!h || h.priv === 3) return va < 2n ** 53n ? Number(va) : null;
    const g = h.virt ? (gpa: number) => this.gpaToPa(h, gpa) : (pa: number) => pa;
    const satp = h.satp;
    const mode = Number(satp >> 60n);
    if (mode === 0) return va < 2n ** 53n ? g(Number(va)) : null;
    const levels = mode === 8 ? 3 : 4;
    // The address must be sign-extended from its top translated bit (priv spec §4.4.1).
    const top = BigInt.asIntN(64, va) >> BigInt(12 + 9 * levels - 1);
    if (top !== 0n && top !== -1n) return null;
    let a = Number(satp & 0xfffffffffffn) * 4096;
    const sva = BigInt.asIntN(64, va);
    const vpn = (BigInt.asUintN(64, sva) >> 12n) & ((1n << BigInt(9 * levels)) - 1n);
    for (let i = levels - 1; i >= 0; i--) {
      const idx = Number((vpn >> BigInt(9 * i)) & 511n);
      const ptePa = g(a + idx * 8);
      const pte = ptePa === null ? null : this.pte(ptePa);
      if (pte === null || (pte & 1n) === 0n) return null;
      const ppn = (pte >> 10n) & 0xfffffffffffn;
      if ((pte & 0xan) !== 0n) {
        const span = 1n << BigInt(12 + 9 * i);
        return g(Number(ppn * 4096n + (BigInt.asUintN(64, sva) & (span - 1n))));
      }
      a = Number(ppn) * 4096;
    }
    return null;
  }

  /** The raw instruction at va (16 or 32 bits), or null when it cannot be read. */
  insnAt(h: Hart | null, va: bigint): number | null {
    const pa = this.fetchPa(h, va);
    if (pa === null) return null;
    const bus = this.machine.bus;
    const lo = bus.dv.getUint16(bus.ramOffset + pa - bus.ramBase, true);
    if ((lo & 3) !== 3) return lo;
    const pa2 = this.fetchPa(h, va + 2n);
    if (pa2 === null) return null;
    return (lo | (bus.dv.getUint16(bus.ramOffset + pa2 - bus.ramBase, true) << 16)) >>> 0;
  }

  /** "addi a0,a0,1" for the instruction at va, or undefined. */
  disasm(h: Hart | null, va: bigint): string | undefined {
    const raw = this.insnAt(h, va);
    if (raw === null) return undefined;
    const space = this.spaceOf(h);
    return disassemble(raw, va, { symbolize: (a) => this.symbolize(a, space) }).text;
  }

  /**
   * Disassembly around `pc`: up to `before` instructions before it (found by decoding forward
   * from a few candidate start addresses until one lands exactly on pc: RVC makes going
   * backwards ambiguous) and `after` from it on.
   */
  around(h: Hart | null, pc: bigint, before = 6, after = 8): DisasmLine[] {
    const lines: DisasmLine[] = [];
    const space = this.spaceOf(h);
    const sym = (a: bigint) => this.symbolize(a, space);
    const line = (va: bigint): DisasmLine | null => {
      const raw = this.insnAt(h, va);
      if (raw === null) return null;
      const len = (raw & 3) === 3 ? 4 : 2;
      return {
        pc: va, raw: raw >>> 0, length: len, symbol: sym(va),
        text: disassemble(raw, va, { symbolize: sym }).text, current: va === pc,
      };
    };
    // Before: try starts from far to near.
    for (let back = BigInt(before * 4); back >= 2n; back -= 2n) {
      if (pc < back) continue;
      const seq: DisasmLine[] = [];
      let va = pc - back;
      let ok = true;
      while (va < pc) {
        const l = line(va);
        if (!l) { ok = false; break; }
        seq.push(l);
        va += BigInt(l.length);
      }
      if (ok && va === pc) {
        lines.push(...seq.slice(-before));
        break;
      }
    }
    let va = pc;
    for (let i = 0; i < after; i++) {
      const l = line(va);
      if (!l) break;
      lines.push(l);
      va += BigInt(l.length);
    }
    return lines;
  }
}

export interface DisasmLine {
  pc: bigint;
  raw: number;
  length: number;
  symbol: string | undefined;
  text: string;
  current: boolean;
}

// ---------------------------------------------------------------------------------------------
// a replay run: machine + scheduler + recorder comparing with the trace
// ---------------------------------------------------------------------------------------------

interface RunOptions {
  context?: number;
  digests?: boolean;
  onConsole?: (bytes: Uint8Array) => void;
  /** Note where event `watchSeq` is emitted (`ReplayRun.noted`). */
  watchSeq?: number;
  /** Compare events as columns read ahead on a thread (default true; false: as objects only,
   * the reference the fast path is tested against). */
  fastCompare?: boolean;
}

/**
 * Where an event was emitted: the global instruction count then, the hart that was executing,
 * and the context: inside an instruction ('insn'), inside trap entry after a faulting
 * instruction was counted ('exc'), inside interrupt entry before the next instruction ('irq'),
 * or in the scheduler between instructions ('sched': input delivery, timer lines).
 */
export interface EmissionPoint {
  readonly total: number;
  readonly hart: number;
  readonly context: 'insn' | 'exc' | 'irq' | 'sched';
}

/** Forwards to the recorder; notes where the event with seq `watch` is emitted. */
class WatchingObserver implements HartObserver {
  ctx: 'insn' | 'exc' | 'irq' = 'insn';
  noted: EmissionPoint | null = null;
  constructor(private readonly rec: Recorder, private readonly watch: number, private readonly run: () => { sched: PreciseScheduler | undefined; machine: Machine | undefined }) {}
  note(): void {
    if (this.noted || this.rec.seq !== this.watch) return;
    const { sched, machine } = this.run();
    // Events of the machine's construction (firmware boot) come before instruction 0.
    if (!sched || !machine) this.noted = { total: 0, hart: 0, context: 'sched' };
    else this.noted = { total: sched.totalInstructions(), hart: machine.current.id, context: sched.inHartRun ? this.ctx : 'sched' };
  }
  // Every HartObserver method: note, then forward all arguments unchanged.
  trap(...a: Parameters<HartObserver['trap']>): void {
    this.note();
    this.rec.trap(...a);
  }
  trapReturn(...a: Parameters<HartObserver['trapReturn']>): void {
    this.note();
    this.rec.trapReturn(...a);
  }
  csrWrite(...a: Parameters<HartObserver['csrWrite']>): void {
    this.note();
    this.rec.csrWrite(...a);
  }
  mmio(...a: Parameters<HartObserver['mmio']>): void {
    this.note();
    this.rec.mmio(...a);
  }
  irqLine(...a: Parameters<HartObserver['irqLine']>): void {
    this.note();
    this.rec.irqLine(...a);
  }
  sbiCall(...a: Parameters<HartObserver['sbiCall']>): void {
    this.note();
    this.rec.sbiCall(...a);
  }
  hartState(...a: Parameters<HartObserver['hartState']>): void {
    this.note();
    this.rec.hartState(...a);
  }
  vmExit(...a: Parameters<NonNullable<HartObserver['vmExit']>>): void {
    this.note();
    this.rec.vmExit(...a);
  }
  vmEntry(...a: Parameters<NonNullable<HartObserver['vmEntry']>>): void {
    this.note();
    this.rec.vmEntry(...a);
  }
}

/**
 * A replay in progress: the machine rebuilt from the trace, a PreciseScheduler, and a Recorder
 * whose events are compared with the recorded ones. Used by replay, seek and the gdb target
 * (src/gdb/replay-target.ts), which moves it backwards with `rewind`.
 */
export class ReplayRun {
  readonly opened: OpenedTrace;
  readonly reader: TraceReader;
  readonly machine: Machine;
  readonly sched: PreciseScheduler;
  readonly recorder: Recorder;
  comparer: EventComparer;
  readonly code: CodeView;
  private expectedIt: Iterator<TraceEvent>;
  private expectedLeft = true;
  // ---- fast comparison (see onBatch) ----
  /** The recorded events as columns, read ahead on a thread; null: compare events as objects. */
  private feed: StoredEventFeed | null = null;
  private fb: StoredColumns | null = null;
  /** Int32 words of fb's a/b/c. */
  private fw: [Int32Array, Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0), new Int32Array(0)];
  private fi = 0;
  /** seq of the next recorded event in fast mode; where the current stretch started. */
  private expSeq = 0;
  private segStart = 0;
  private fastMatched = 0;
  private readonly fastKinds = new Float64Array(EVENT_KINDS.length);
  /** The last replayed events compared in fast mode (context for a divergence report). */
  private fastCtxA: TraceEvent[] = [];
  private readonly contextSize: number;
  private readonly fastAllowed: boolean;
  private readonly console = createHash('sha256');
  consoleBytes = 0;
  /** Set when RunOptions.watchSeq was emitted. */
  private readonly watcher: WatchingObserver | null = null;
  /** Digest comparison state. */
  private readonly digests: DigestRow[];
  private di = 0;
  digestsCompared = 0;
  digestMismatch: { stored: DigestRow; actual: DigestRow | null; what: string } | null = null;

  constructor(opened: OpenedTrace, opts: RunOptions = {}) {
    this.opened = opened;
    this.reader = opened.reader;
    const trace = opened.trace;
    this.contextSize = opts.context ?? 8;
    this.fastAllowed = opts.fastCompare !== false;
    this.comparer = new EventComparer({ context: this.contextSize, drain: false });
    this.expectedIt = this.reader.events();
    this.recorder = new Recorder((b) => this.onBatch(b));
    let observer: HartObserver = this.recorder;
    if (opts.watchSeq !== undefined) {
      this.watcher = new WatchingObserver(this.recorder, opts.watchSeq, () => this);
      observer = this.watcher;
    }
    try {
      this.machine = new Machine({ ...opened.machineConfig, observer });
    } catch (e) {
      throw new TraceError(`${this.reader.path}: cannot rebuild the machine: ${(e as Error).message}`);
    }
    // Track written pages: digests and checkpoint restores then touch only those (reading all
    // of a fresh 256 MiB RAM costs seconds of page faults).
    RamWriteTracker.of(this.machine);
    this.sched = new PreciseScheduler(this.machine, {
      quantum: trace.quantum ?? DEFAULT_QUANTUM,
      maxInsns: trace.maxInsns ?? undefined,
    });
    for (const q of this.reader.inputQueue()) this.sched.addInput(q.data, q.vtime);
    this.sched.onInputDelivered = (vtime, byte) => {
      this.watcher?.note();
      this.recorder.input(this.machine.harts[0]!, vtime, byte);
    };
    if (this.watcher) {
      // Trap entry: events inside it belong to the faulting instruction (already counted) or to
      // an interrupt taken before the next one.
      const w = this.watcher;
      for (const h of this.machine.harts) {
        const orig = h.enterTrap;
        h.enterTrap = function (this: Hart, ...args: Parameters<Hart['enterTrap']>): void {
          const prev = w.ctx;
          w.ctx = args[1] ? 'irq' : 'exc';
          try {
            orig.apply(this, args);
          } finally {
            w.ctx = prev;
          }
        };
      }
    }
    this.machine.onConsole = (b) => {
      this.console.update(b);
      this.consoleBytes += b.length;
      opts.onConsole?.(b);
    };
    this.code = new CodeView(this.machine, opened.symbolOptions, this.reader);
    this.digests = opts.digests === false ? [] : this.reader.digests().filter((d) => !d.final);
    if (this.digests.length > 0) this.sched.onRoundStart = (s) => this.roundStart(s);
    this.startFast(0);
  }

  /**
   * The replay's events against the recording's. Fast mode (while `feed` is set): the recorded
   * events arrive as columns from the feed's thread and each replayed event is compared column
   * by column (payloads as their msgpack bytes), building no objects. The first row that differs
   * or cannot be compared exactly hands everything from there to the EventComparer, which has
   * the last word (an equal-valued payload with other bytes simply stays in the slow mode); the
   * rows matched so far are handed over as counts and context.
   */
  private onBatch(b: EventBatch): void {
    if (this.compareOff) return;
    let i = 0;
    if (this.feed !== null) {
      i = this.fastCompare(b);
      if (this.feed !== null) return;
    }
    const c = this.comparer;
    for (; i < b.length; i++) {
      if (c.divergence) return;
      c.actual(b.get(i));
      this.pullExpected();
    }
  }

  /** Compare b from its start in fast mode; returns where it left fast mode (b.length: did not). */
  private fastCompare(b: EventBatch): number {
    const n = b.length;
    for (let i = 0; i < n; i++) {
      let f = this.fb;
      if (f === null || this.fi >= f.length) {
        f = this.fb = this.feed!.next();
        this.fi = 0;
        if (f === null) { this.toSlow(b, i); return i; } // the recording ends here
        this.fw = [words(f.a), words(f.b), words(f.c)];
      }
      if (!rowEqual(b, i, f, this.fw, this.fi)) { this.toSlow(b, i); return i; }
      this.fastKinds[b.kind[i]!]!++;
      this.fastMatched++;
      this.fi++;
      this.expSeq++;
    }
    // Keep the last events as context (b is reused after this call).
    const k = this.contextSize;
    for (let j = Math.max(0, n - k); j < n; j++) this.fastCtxA.push(b.get(j));
    if (this.fastCtxA.length > k) this.fastCtxA.splice(0, this.fastCtxA.length - k);
    return n;
  }

  /** Hand the fast mode's matched rows to the comparer and continue with events as objects
   * from the next recorded seq (`b`, `i`: the replayed events before i are the context). */
  private toSlow(b: EventBatch | null, i: number): void {
    const k = this.contextSize;
    const ctxA = this.fastCtxA.slice();
    if (b !== null) for (let j = Math.max(0, i - k); j < i; j++) ctxA.push(b.get(j));
    const from = Math.max(this.segStart, this.expSeq - k);
    const ctxE = this.fastMatched > 0 && k > 0 && this.expSeq > from ? this.reader.readEvents({ from, to: this.expSeq }) : [];
    const perKind: Partial<Record<(typeof EVENT_KINDS)[number], number>> = {};
    this.fastKinds.forEach((v, code) => { if (v > 0) perKind[EVENT_KINDS[code]!] = v; });
    this.comparer.preload(this.fastMatched, perKind, ctxE, ctxA.slice(-k));
    this.expectedIt = this.reader.events({ from: this.expSeq });
    this.expectedLeft = true;
    this.feed!.close();
    this.feed = null;
    this.fb = null;
  }

  /** Start the fast mode at recorded seq `seq` (a fresh run, or after a checkpoint restore). */
  private startFast(seq: number): void {
    if (!this.fastAllowed || !this.comparer.comparesEverything || this.comparer.divergence) return;
    this.fastMatched = 0;
    this.fastKinds.fill(0);
    this.fastCtxA = [];
    this.expSeq = this.segStart = seq;
    this.fb = null;
    this.fi = 0;
    if (this.feed === null) this.feed = StoredEventFeed.open(this.reader.path, seq);
    else this.feed.start(seq);
  }

  private pullExpected(): void {
    if (!this.expectedLeft) return;
    const r = this.expectedIt.next();
    if (r.done) {
      this.expectedLeft = false;
      this.comparer.endExpected();
    } else {
      this.comparer.expected(r.value);
    }
  }

  /** After the run: no more actual events; read what is left of the expected ones (one is enough to diverge). */
  endActual(): void {
    this.recorder.flush();
    if (this.feed !== null) this.toSlow(null, 0);
    this.comparer.endActual();
    while (this.expectedLeft && !this.comparer.divergence) this.pullExpected();
  }

  /** Restore checkpoint `ck` and position the event comparison at its seq. */
  restore(ck: CheckpointInfo): void {
    restoreCheckpoint(this.reader, ck.id, this.machine, this.sched);
    this.recorder.batch.clear();
    this.recorder.seq = ck.seq;
    if (this.feed !== null) {
      this.toSlow(null, 0); // what was matched before counts as before
      this.startFast(ck.seq);
    }
    this.expectedIt = this.reader.events({ from: ck.seq });
    this.expectedLeft = true;
    while (this.digests[this.di] && this.digests[this.di]!.totalInstret <= ck.totalInstret) this.di++;
  }

  /**
   * The machine state was set back (or forward) to a round start where recorded event `seq` is
   * the next one (the gdb target's in-memory snapshots): number events from there and compare
   * them with the recording from there, with a fresh comparer (an earlier divergence is the
   * caller's to keep). Digests are not compared after a rewind.
   */
  rewind(seq: number, opts: { compare?: boolean } = {}): void {
    this.recorder.reset(seq);
    this.comparer = new EventComparer({ context: this.contextSize, drain: false });
    this.di = this.digests.length;
    this.fb = null;
    this.compareOff = opts.compare === false;
    if (this.compareOff) return;
    this.expectedIt = this.reader.events({ from: seq });
    this.expectedLeft = true;
    this.startFast(seq);
  }
  /**
   * Events are numbered but not compared (rewind with compare: false: the gdb target re-running
   * a stretch it has compared before).
   */
  private compareOff = false;

  private roundStart(s: Scheduler): void {
    if (this.digestMismatch || this.di >= this.digests.length) return;
    const d = this.digests[this.di]!;
    const total = s.totalInstructions();
    if (total < d.totalInstret) return;
    this.di++;
    this.digestsCompared++;
    const mine = stateDigest(this.machine, s, this.recorder.seq);
    const what = digestDifference(d, mine);
    if (what) this.digestMismatch = { stored: d, actual: mine, what };
  }

  finalDigest(): void {
    if (this.digestMismatch) return;
    const fin = this.reader.digests().find((d) => d.final);
    if (!fin) return;
    this.digestsCompared++;
    const mine = stateDigest(this.machine, this.sched, this.recorder.seq, { final: true });
    const what = digestDifference(fin, mine);
    if (what) this.digestMismatch = { stored: fin, actual: mine, what };
  }

  /** Where the watched event was emitted (RunOptions.watchSeq), once it was. */
  get noted(): EmissionPoint | null {
    return this.watcher?.noted ?? null;
  }

  consoleSha256(): string {
    return this.console.copy().digest('hex');
  }

  close(): void {
    this.recorder.detach(this.machine.harts);
    this.feed?.close();
    this.feed = null;
  }
}

/** Replayed event i of `b` equals recorded row j of `f`, every field (see Replayer.onBatch). */
function rowEqual(b: EventBatch, i: number, f: StoredColumns, fw: readonly Int32Array[], j: number): boolean {
  if (f.exact[j] === 0) return false;
  if (b.seq[i] !== f.seq[j] || b.kind[i] !== f.kind[j] || b.instret[i] !== f.instret[j] || b.pc[i] !== f.pc[j] ||
    b.vtime[i] !== f.vtime[j] || b.hart[i] !== f.hart[j] || b.priv[i] !== f.priv[j] || b.virt[i] !== f.virt[j]) return false;
  const p = b.present[i]!;
  if (p !== f.present[j]) return false;
  // 64-bit values compared as two int32 words (no BigInt).
  if ((p & 1) !== 0 && !sameWords(b.a32, i, fw[0]!, j)) return false;
  if ((p & 2) !== 0 && !sameWords(b.b32, i, fw[1]!, j)) return false;
  if ((p & 4) !== 0 && !sameWords(b.c32, i, fw[2]!, j)) return false;
  const pb = payloadBytes(b.payload[i] ?? null);
  const len = f.payOff[2 * j + 1]!;
  if (pb === null) return len < 0;
  if (pb.length !== len) return false;
  const o = f.payOff[2 * j]!, pay = f.pay;
  for (let k = 0; k < len; k++) if (pb[k] !== pay[o + k]) return false;
  return true;
}
function sameWords(w: Int32Array, i: number, v: Int32Array, j: number): boolean {
  return w[2 * i] === v[2 * j] && w[2 * i + 1] === v[2 * j + 1];
}

function digestDifference(stored: DigestRow, mine: DigestRow): string | null {
  if (stored.totalInstret !== mine.totalInstret) return `no round started at step ${stored.totalInstret} (the replay's round started at step ${mine.totalInstret})`;
  const w: string[] = [];
  if (stored.vtime !== mine.vtime) w.push(`virtual time ${stored.vtime} vs ${mine.vtime}`);
  if (stored.seq !== mine.seq) w.push(`event count ${stored.seq} vs ${mine.seq}`);
  if (stored.hartInstret.join(',') !== mine.hartInstret.join(',')) w.push(`per-hart instret ${stored.hartInstret.join('/')} vs ${mine.hartInstret.join('/')}`);
  if (stored.stateHash !== mine.stateHash) w.push('hart/device state differs');
  if (stored.ramHash !== mine.ramHash) w.push('RAM differs');
  return w.length ? w.join('; ') : null;
}

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

export interface ReplayOptions extends ReplayOpenOptions, RunOptions {}

export interface EventDivergenceInfo {
  readonly divergence: Divergence;
  readonly seq: number;
  readonly hart: number;
  readonly instret: number;
  readonly pc: bigint;
  readonly symbol?: string;
  readonly insn?: string;
}

export interface ReplayIssue {
  readonly kind: 'event' | 'digest' | 'end' | 'instructions' | 'console';
  /** One line. */
  readonly message: string;
  readonly event?: EventDivergenceInfo;
}

export interface ReplayReport {
  readonly trace: string;
  readonly status: 'match' | 'divergence';
  readonly warnings: string[];
  readonly events: { readonly expected: number; readonly compared: number; readonly matched: number };
  readonly digests: { readonly stored: number; readonly compared: number };
  readonly instructions: { readonly expected: number | null; readonly actual: number; readonly perHart: number[] };
  readonly end: { readonly expected: ExitInfo | null; readonly actual: ExitInfo | null };
  /** Everything that differs; the first is the primary divergence. */
  readonly issues: ReplayIssue[];
  /**
   * A recording that was not finished (truncated: its recorder died; or aborted without final
   * counts; or still running) is replayed as a prefix: every recorded event is compared, and the
   * replay stops where the recording ends. Then why it ended; else null.
   */
  readonly prefix: string | null;
  readonly wallMs: number;
  /** Symbols of the trace's images (for formatting). */
  readonly symbolize: (addr: bigint) => string | undefined;
  /** The symbol of an event's pc, in its address space (a guest's pcs with the guest's symbols). */
  readonly symbolizeEvent: (e: TraceEvent) => string | undefined;
}

function describeEventDivergence(run: ReplayRun, d: Divergence): EventDivergenceInfo {
  const at = d.expected ?? d.actual!;
  const h = run.machine.harts[at.hart] ?? null;
  const symbol = run.code.symbolizeEvent(at);
  const insn = run.code.disasm(h, at.pc);
  return { divergence: d, seq: at.seq, hart: at.hart, instret: at.instret, pc: at.pc, ...(symbol ? { symbol } : {}), ...(insn ? { insn } : {}) };
}

function eventIssue(run: ReplayRun, d: Divergence): ReplayIssue {
  const info = describeEventDivergence(run, d);
  const where = `hart ${info.hart}, instret ${info.instret}, pc ${hex(info.pc)}${info.symbol ? ` <${info.symbol}>` : ''}${info.insn ? ` (${info.insn})` : ''}`;
  let message: string;
  if (d.reason === 'mismatch') {
    message = `event #${info.seq} differs (${d.differences.map((x) => fieldLabel(d, x.field)).join(', ')}) at ${where}`;
  } else if (d.reason === 'missing') {
    message = `the replay ended before event #${info.seq} (${d.expected!.kind}) at ${where}`;
  } else {
    message = `the replay produced an event the recording does not have: #${info.seq} (${d.actual!.kind}) at ${where}`;
  }
  return { kind: 'event', message, event: info };
}

/** Replay a trace and compare it with the recording. Throws TraceError when it cannot be replayed. */
export function replay(path: string, opts: ReplayOptions = {}): ReplayReport {
  const opened = openForReplay(path, opts);
  try {
    return replayOpened(opened, opts);
  } finally {
    opened.reader.close();
  }
}

export function replayOpened(opened: OpenedTrace, opts: RunOptions = {}): ReplayReport {
  const wall0 = process.hrtime.bigint();
  const reader = opened.reader;
  const expectedEvents = reader.eventCount();
  const counts = reader.counts;
  const run = new ReplayRun(opened, opts);
  const { sched, machine, comparer, recorder } = run;
  let halt: HaltInfo | null = null;
  const status = reader.status;
  // Prefix replay: the recording has no end to compare with; the first event beyond its last one
  // ends the replay (comparer: 'extra'), not as a divergence.
  const prefix = status === 'truncated' || status === 'recording' || (status === 'aborted' && counts === null);
  const aborted = status === 'aborted' && !prefix;
  // The whole file's integrity (a damaged index page is never read by a replay), on a thread.
  const check = reader.startIntegrityCheck();
  try {
    return replayChecked();
  } finally {
    check.cancel();
  }
  function replayChecked(): ReplayReport {
  const stopAt = aborted && counts ? (counts.steps ?? []).reduce((a, b) => a + b, 0) : Infinity;
  const stopTime = aborted && counts ? counts.vtime : Infinity;
  try {
    for (;;) {
      if (aborted && sched.totalInstructions() >= stopAt && sched.time >= stopTime) break;
      const r = sched.step(aborted ? 1 : 64);
      recorder.flush();
      if (r.kind === 'halted') { halt = r.halt; break; }
      if (r.kind === 'idle') {
        if (aborted && sched.totalInstructions() >= stopAt) break;
        halt = sched.runToEnd();
        break;
      }
      if (comparer.divergence) break;
    }
    if (halt && !comparer.divergence) recorder.halt(machine.current, halt);
    run.endActual();
    if (halt && !comparer.divergence && opts.digests !== false) run.finalDigest(); // --no-digests: none compared
  } finally {
    run.close();
  }
  const res = comparer.result();
  const endOfRecording = prefix && res.divergence?.reason === 'extra';
  const issues: ReplayIssue[] = [];
  if (res.divergence && !endOfRecording) issues.push(eventIssue(run, res.divergence));
  if (run.digestMismatch) {
    const d = run.digestMismatch;
    issues.push({ kind: 'digest', message: `state digest at step ${d.stored.totalInstret}${d.stored.final ? ' (end of run)' : ''} differs: ${d.what}` });
  }
  const exp = reader.exit;
  const actual: ExitInfo | null = halt && !endOfRecording ? { kind: halt.kind, exitCode: halt.exitCode, message: halt.message } : null;
  if (!res.divergence || endOfRecording) {
    if (!aborted && !prefix && exp && (!actual || actual.kind !== exp.kind || actual.exitCode !== exp.exitCode)) {
      issues.push({ kind: 'end', message: `the run ended differently: recorded ${exp.kind} (exit ${exp.exitCode}), replay ${actual ? `${actual.kind} (exit ${actual.exitCode})` : 'did not halt'}` });
    }
    if (aborted && actual) issues.push({ kind: 'end', message: `the recording was aborted, but the replay halted: ${actual.kind} (exit ${actual.exitCode})` });
    const perHart = machine.harts.map((h) => h.instret);
    if (counts?.instret && counts.instret.join(',') !== perHart.join(',')) {
      issues.push({ kind: 'instructions', message: `instructions per hart differ: recorded ${counts.instret.join('/')}, replay ${perHart.join('/')}` });
    }
    const cs = reader.consoleSha256;
    if (cs && !aborted && cs !== run.consoleSha256()) {
      issues.push({ kind: 'console', message: `console output differs (sha256 ${short(cs)} recorded, ${short(run.consoleSha256())} replayed, ${run.consoleBytes} bytes)` });
    }
  }
  if (res.summary.compared === 0) {
    throw new TraceError(`${reader.path}: nothing to compare: the trace has no events and the replay produced none`);
  }
  const damaged = check.result();
  if (damaged) throw new TraceError(`${reader.path}: ${damaged}`);
  const why = status === 'truncated' ? 'truncated: its recorder died before it finished'
    : status === 'recording' ? 'still being recorded' : 'aborted before it could be finished';
  return {
    trace: reader.path,
    status: issues.length ? 'divergence' : 'match',
    warnings: [...opened.warnings, ...run.code.notes],
    prefix: prefix ? `the recording is ${why}; its ${res.summary.matched} events were verified and the replay stopped at the end of what was recorded` : null,
    events: { expected: expectedEvents, compared: endOfRecording ? res.summary.matched : res.summary.compared, matched: res.summary.matched },
    digests: { stored: reader.digests().length, compared: run.digestsCompared },
    instructions: {
      expected: counts ? (counts.steps ?? []).reduce((a, b) => a + b, 0) : null,
      actual: sched.totalInstructions(),
      perHart: machine.harts.map((h) => h.instret),
    },
    end: { expected: exp, actual },
    issues,
    wallMs: Number(process.hrtime.bigint() - wall0) / 1e6,
    symbolize: run.code.symbolize,
    symbolizeEvent: run.code.symbolizeEvent,
  };
  }
}

// ---------------------------------------------------------------------------------------------
// seek
// ---------------------------------------------------------------------------------------------

export type SeekPosition =
  | { readonly kind: 'count'; readonly n: number }
  | { readonly kind: 'hart'; readonly hart: number; readonly instret: number }
  | { readonly kind: 'seq'; readonly seq: number }
  | { readonly kind: 'pc'; readonly addr: string; readonly hit: number; readonly hart?: number };

function parseCount(s: string): number | null {
  const m = /^(\d[\d_]*)([kKmMgG]?)$/.exec(s);
  if (!m) return null;
  const n = Number(m[1]!.replace(/_/g, '')) * ({ '': 1, k: 1e3, m: 1e6, g: 1e9 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : null;
}

/** Parse a --to position (throws TraceError). */
export function parsePosition(text: string): SeekPosition {
  const s = text.trim();
  const bad = (why = 'expected N, HART:COUNT, seq:N, pc:ADDR or pc:ADDR#K (ADDR hex, SYMBOL or SYMBOL+OFFSET)') =>
    new TraceError(`--to ${text}: ${why}`);
  let m: RegExpExecArray | null;
  if ((m = /^seq:(.+)$/.exec(s))) {
    const n = parseCount(m[1]!);
    if (n === null) throw bad('seq:N needs an event number');
    return { kind: 'seq', seq: n };
  }
  if ((m = /^(?:(\d+):)?pc:([^#]+)(?:#(\d+))?$/.exec(s))) {
    const hit = m[3] === undefined ? 1 : Number(m[3]);
    if (!(hit >= 1)) throw bad('pc:ADDR#K needs K >= 1');
    return { kind: 'pc', addr: m[2]!, hit, ...(m[1] !== undefined ? { hart: Number(m[1]) } : {}) };
  }
  if ((m = /^(\d+):(.+)$/.exec(s))) {
    const n = parseCount(m[2]!);
    if (n === null) throw bad('HART:COUNT needs an instruction count');
    return { kind: 'hart', hart: Number(m[1]), instret: n };
  }
  const n = parseCount(s);
  if (n !== null) return { kind: 'count', n };
  throw bad();
}

/**
 * Resolve a pc position's address: 0x-hex, a symbol optionally with an offset (`name+0x10`,
 * `name+16`), or bare hex digits (a symbol of that name wins). The result is a 64-bit address.
 */
export function resolveAddress(symbols: SymbolTable, text: string): bigint {
  return resolvePc(symbols, text).addr;
}

/**
 * resolveAddress, plus the guest VM when the address is a guest's symbol (a System.map or ELF
 * of a guest of the built-in hypervisor): the pc is then that guest's, reached with V = 1.
 */
export function resolvePc(symbols: SymbolTable, text: string): { addr: bigint; vm?: number } {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return { addr: BigInt.asUintN(64, BigInt(t)) };
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(t);
  if (m) {
    const f = symbols.find(m[1]!);
    if (f !== undefined) return { addr: BigInt.asUintN(64, f.value + (m[2] ? BigInt(m[2]) : 0n)), ...(f.vm !== undefined ? { vm: f.vm } : {}) };
  }
  if (/^[0-9a-f]+$/i.test(t)) return { addr: BigInt('0x' + t) };
  const names = symbols.sources.filter((s) => s.symbols.length > 0).map((s) => s.name);
  const what = m ? `no symbol "${m[1]}" in ${names.length ? names.join(', ') : 'the trace (its images have no symbols; a raw kernel needs --symbols System.map)'}` : 'expected a hex address, SYMBOL or SYMBOL+OFFSET';
  throw new TraceError(`--to pc:${text}: ${what}; give a hex address like 0x80200000`);
}

export interface HartView {
  readonly id: number;
  readonly state: 'running' | 'wfi' | 'stopped';
  readonly pc: bigint;
  readonly symbol?: string;
  readonly priv: number;
  /** V (virtualization mode, H extension): priv 1 / 0 are then VS / VU. */
  readonly virt: boolean;
  readonly instret: number;
  readonly steps: number;
  /** x0..x31 (unsigned). */
  readonly x: bigint[];
  /** f0..f31 raw bits. */
  readonly f: bigint[];
  readonly csrs: Record<string, bigint>;
  readonly disasm: DisasmLine[];
}

export interface SeekReport {
  readonly trace: string;
  readonly position: string;
  readonly target: SeekPosition;
  /** The checkpoint the run started from (null: the start of the run). */
  readonly checkpoint: CheckpointInfo | null;
  /** The hart whose instruction is next (the one the position is about). */
  readonly hart: number;
  /** Instructions retired by all harts so far (what `--to N` counts, as `info` does). */
  readonly totalInstructions: number;
  /** Instructions attempted by all harts (retired + trapped attempts): the run's exact position. */
  readonly totalAttempted: number;
  /** Scheduler time of the current round. */
  readonly roundTime: number;
  /** seq of the next event (events before it have happened). */
  readonly nextSeq: number;
  readonly harts: HartView[];
  /** The events just before the position, from the trace. */
  readonly lastEvents: TraceEvent[];
  /** For seq:N, event N (the next event); else the trace's next event. */
  readonly nextEvent: TraceEvent | null;
  /** When the run to the position did not produce the recorded events. */
  readonly divergence: ReplayIssue | null;
  readonly warnings: string[];
  /** Symbols of the trace's images (for formatting). */
  readonly symbolize: (addr: bigint) => string | undefined;
  /** The symbol of an event's pc, in its address space (a guest's pcs with the guest's symbols). */
  readonly symbolizeEvent: (e: TraceEvent) => string | undefined;
  readonly timing: { readonly restoreMs: number; readonly runMs: number; readonly totalMs: number; readonly passes: number; readonly instructionsRun: number };
}

export interface SeekOptions extends ReplayOpenOptions {
  /** Events to show before the position (default 8). */
  events?: number;
  /** Instructions of disassembly before / after pc (default 6 / 8). */
  disasmBefore?: number;
  disasmAfter?: number;
}

const CSRS: [string, number][] = [
  ['mstatus', 0x300], ['misa', 0x301], ['medeleg', 0x302], ['mideleg', 0x303], ['mie', 0x304], ['mtvec', 0x305],
  ['mscratch', 0x340], ['mepc', 0x341], ['mcause', 0x342], ['mtval', 0x343], ['mip', 0x344],
  ['sstatus', 0x100], ['sie', 0x104], ['stvec', 0x105], ['sscratch', 0x140], ['sepc', 0x141], ['scause', 0x142],
  ['stval', 0x143], ['sip', 0x144], ['satp', 0x180],
];
/**
 * With guests of the built-in hypervisor, the H-extension CSRs too. While V = 1 the supervisor
 * CSRs above are the guest's (the VS CSRs stand in for them); hs* are the hypervisor's own.
 */
const H_CSRS: [string, number][] = [
  ['hstatus', 0x600], ['hedeleg', 0x602], ['hideleg', 0x603], ['hie', 0x604], ['hip', 0x644], ['hvip', 0x645],
  ['htval', 0x643], ['htinst', 0x64a], ['hgatp', 0x680], ['vsstatus', 0x200], ['vstvec', 0x205], ['vsepc', 0x241],
  ['vscause', 0x242], ['vstval', 0x243], ['vsatp', 0x280], ['mtval2', 0x34b],
];

function hartView(code: CodeView, h: Hart, opts: SeekOptions): HartView {
  const csrs: Record<string, bigint> = {};
  for (const [name, num] of code.machine.hypervisor ? [...CSRS, ...H_CSRS] : CSRS) {
    try {
      csrs[name] = h.csrGet(num);
    } catch {
      /* not implemented */
    }
  }
  const pc = h.getPc();
  const symbol = code.symbolize(pc, code.spaceOf(h));
  return {
    id: h.id,
    state: h.state === HartState.Running ? 'running' : h.state === HartState.Wfi ? 'wfi' : 'stopped',
    pc,
    ...(symbol ? { symbol } : {}),
    priv: h.priv,
    virt: h.virt,
    instret: h.instret,
    steps: h.steps,
    x: Array.from({ length: 32 }, (_, i) => h.getX(i)),
    f: Array.from(h.fb, (v) => BigInt.asUintN(64, v)),
    csrs,
    disasm: code.around(h, pc, opts.disasmBefore ?? 6, opts.disasmAfter ?? 8),
  };
}

export const REGISTER_NAMES = { x: ABI_NAMES, f: FABI_NAMES };

/** Hart instret at a checkpoint, from its decoded state. */
function checkpointInstret(reader: TraceReader, ck: CheckpointInfo, hart: number): number {
  const st = reader.checkpoint(ck.id).state.machine as MachineSnapshot;
  const h = st.harts[hart];
  return h ? h.steps - h.notRetired : 0;
}

/** Seek to a position in a trace and describe the machine there. */
export function seek(path: string, position: string, opts: SeekOptions = {}): SeekReport {
  const target = parsePosition(position);
  const opened = openForReplay(path, opts);
  try {
    return seekOpened(opened, position, target, opts);
  } finally {
    opened.reader.close();
  }
}

export function seekOpened(opened: OpenedTrace, position: string, target: SeekPosition, opts: SeekOptions = {}): SeekReport {
  const t0 = process.hrtime.bigint();
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const reader = opened.reader;
  const counts = reader.counts;
  const nHarts = opened.machineConfig.harts;
  // N counts retired instructions, as `info` and `record` do (not attempted steps).
  const total = counts ? (counts.instret ?? []).reduce((a, b) => a + b, 0) : null;
  let restoreMs = 0;
  let runMs = 0;
  let passes = 0;
  let instructionsRun = 0;

  const beyond = (label: string, r: RunUntilResult, run: ReplayRun): TraceError =>
    new TraceError(`${reader.path}: position ${position} (${label}) is beyond the end of the trace: the run ended (${(r as { halt: HaltInfo }).halt.message}) after ${run.sched.totalRetired()} instructions`);

  /** A fresh run from checkpoint `ck` (or the start). */
  const start = (ck: CheckpointInfo | null, watchSeq?: number): ReplayRun => {
    const a = process.hrtime.bigint();
    const run = new ReplayRun(opened, { digests: false, context: 8, watchSeq });
    if (ck) run.restore(ck);
    restoreMs += ms(a, process.hrtime.bigint());
    passes++;
    return run;
  };
  const go = (run: ReplayRun, t: StopTarget): RunUntilResult => {
    const a = process.hrtime.bigint();
    const before = run.sched.totalInstructions();
    const r = run.sched.runUntil(t);
    run.recorder.flush();
    instructionsRun += run.sched.totalInstructions() - before;
    runMs += ms(a, process.hrtime.bigint());
    return r;
  };

  let run: ReplayRun;
  let ck: CheckpointInfo | null = null;
  let focus = -1;
  let nextEvent: TraceEvent | null = null;
  switch (target.kind) {
    case 'count': {
      if (total !== null && target.n > total) {
        throw new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (${total} instructions retired)`);
      }
      // Checkpoints are placed by attempted steps; retired <= attempted, so one at or before
      // step N is at or before the N-th retired instruction.
      ck = reader.checkpointAtOrBefore({ totalInstret: target.n });
      run = start(ck);
      const t = globalRetired(target.n);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = r.hart;
      break;
    }
    case 'hart': {
      if (target.hart >= nHarts) throw new TraceError(`--to ${position}: the trace has ${nHarts} hart${nHarts > 1 ? 's' : ''} (0..${nHarts - 1})`);
      const end = counts?.instret?.[target.hart];
      if (end !== undefined && target.instret > end) {
        throw new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (hart ${target.hart} retired ${end} instructions)`);
      }
      const cks = reader.checkpoints();
      for (let i = cks.length - 1; i >= 0; i--) {
        if (checkpointInstret(reader, cks[i]!, target.hart) <= target.instret) { ck = cks[i]!; break; }
      }
      run = start(ck);
      const t = hartInstret(target.hart, target.instret);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = target.hart;
      break;
    }
    case 'pc': {
      run = start(null);
      const { addr, vm } = resolvePc(run.code.symbols, target.addr);
      if (target.hart !== undefined && target.hart >= nHarts) throw new TraceError(`--to ${position}: the trace has ${nHarts} hart${nHarts > 1 ? 's' : ''}`);
      // A guest's symbol: only arrivals in that guest (V = 1, its vCPU loaded) count; the host
      // may run the same address (an ELF guest at 0x80200000 and the hypervisor's idle loop).
      const code = run.code;
      const t = vm === undefined
        ? pcHit(addr, target.hit, target.hart)
        : pcHit(addr, target.hit, target.hart, (h) => code.spaceOf(h) === vm, `in guest ${vm}`);
      const r = go(run, t);
      if (r.kind !== 'reached') {
        throw new TraceError(`${reader.path}: position ${position}: pc ${hex(addr)}${vm === undefined ? '' : ` in guest ${vm}`} was reached ${t.hits} time${t.hits === 1 ? '' : 's'} before the run ended (${(r as { halt: HaltInfo }).halt.message})`);
      }
      focus = r.hart;
      break;
    }
    case 'seq': {
      const ev = reader.event(target.seq);
      if (!ev) throw new TraceError(`${reader.path}: position ${position}: no event ${target.seq} (the trace has events 0..${reader.maxSeq()})`);
      nextEvent = ev;
      ck = reader.checkpointAtOrBefore({ seq: target.seq });
      focus = ev.hart;
      if (ev.kind === 'halt') {
        // The halt is recorded when the run has ended: land at the end.
        run = start(ck);
        go(run, { label: 'end', cap: () => Infinity, reached: () => false });
        break;
      }
      // Pass 1: run until event N is emitted, noting where (instruction count and context).
      const p1 = start(ck, target.seq);
      go(p1, { label: `event ${target.seq}`, cap: () => Infinity, reached: () => p1.noted !== null });
      const at = p1.noted;
      p1.close();
      if (!at) throw new TraceError(`${reader.path}: position ${position}: the replay did not produce event ${target.seq}`);
      // Pass 2: land right before the step that emits it (or, for an event the scheduler emits
      // between instructions, at the first point after the instruction before it).
      run = start(ck);
      const t = at.context === 'sched' ? globalCount(at.total) : beforeStep(at.context === 'exc' ? at.total - 1 : at.total);
      const r = go(run, t);
      if (r.kind !== 'reached') throw beyond(t.label, r, run);
      focus = at.context === 'sched' ? ev.hart : at.hart;
      break;
    }
  }
  run = run!;
  try {
    const seqNow = run.recorder.seq;
    const n = opts.events ?? 8;
    const lastEvents = n > 0 ? reader.readEvents({ from: Math.max(0, seqNow - n), to: seqNow }) : [];
    if (!nextEvent) nextEvent = reader.event(seqNow);
    const d = run.comparer.divergence;
    // An unfinished recording (truncated, or aborted without final counts) ends where its events
    // do: a position past its last event is beyond the trace, not a divergence.
    if (d?.reason === 'extra' && reader.counts === null && reader.status !== 'complete') {
      throw new TraceError(`${reader.path}: position ${position} is beyond the end of the trace (the recording is ${reader.status}: it ends after event #${reader.maxSeq()})`);
    }
    const harts = run.machine.harts.map((h) => hartView(run.code, h, opts));
    return {
      trace: reader.path,
      position,
      target,
      checkpoint: ck,
      hart: focus,
      totalInstructions: run.sched.totalRetired(),
      totalAttempted: run.sched.totalInstructions(),
      roundTime: run.sched.time,
      nextSeq: seqNow,
      harts,
      lastEvents,
      nextEvent,
      divergence: d ? eventIssue(run, d) : null,
      warnings: [...opened.warnings, ...run.code.notes],
      symbolize: run.code.symbolize,
      symbolizeEvent: run.code.symbolizeEvent,
      timing: { restoreMs, runMs, totalMs: ms(t0, process.hrtime.bigint()), passes, instructionsRun },
    };
  } finally {
    run.close();
  }
}

