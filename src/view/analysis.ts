/**
 * What a recording looks like as a picture and as numbers (issue 14): one pass over a trace's
 * events (TraceReader, read-only) that `hvtrace stat`, `hvtrace timeline` and `hvtrace export`
 * share.
 *
 * - Lanes: one per hart and, with guests of the built-in hypervisor, one per vCPU. A lane is a
 *   list of change points (virtual time, level): the privilege level over time (M, HS/S, VS,
 *   VU, U), WFI (idle), off (not started, stopped); a vCPU lane has VS/VU while it runs and, from
 *   a VM exit to the matching vm_entry, the exit's reason.
 * - Marks: the events drawn as points (traps, trap returns, SBI calls, MMIO, interrupt lines,
 *   hart state changes, input, halt) on their hart's lane; VM exits are spans on vCPU lanes.
 * - VM exits paired with the next vm_entry of the same vCPU: duration in instructions (the
 *   hart's retired instructions between them, when both are on the same hart) and in virtual
 *   time (instructions of virtual time; 1 instruction = 1 ns, so µs = vtime / 1000).
 *
 * Privilege spans come from trap / trap_return events (the privilege each goes to) and are
 * corrected by the privilege every event carries. Idle time (WFI, or a hart not yet started)
 * is where a hart's virtual time advanced without instructions: between two events of a hart,
 * (vtime - instret) grows by the instructions it slept (plus one per exception, whose
 * instruction does not retire); the idle stretch is drawn just before the later event (a WFI
 * ends with the interrupt that wakes it).
 *
 * Everything here is deterministic: arrays in seq order, no Map iteration over unordered keys
 * leaks into the output (keys are sorted where they are listed).
 */
import { TraceReader, TraceError, decodePayload, type TraceStatus } from '../trace/store.js';
import { EVENT_KINDS, PRIV_NAMES, type EventKind, type TraceEvent } from '../trace/model.js';
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../hart/constants.js';
import { csrName } from '../isa/disasm.js';

// ---- names -----------------------------------------------------------------------------------

/** VM exit reasons (src/hypervisor/exits.ts VM_EXIT), by code. */
export const VM_EXIT_REASONS: Readonly<Record<number, string>> = {
  1: 'sbi_call', 2: 'timer_irq', 3: 'software_irq', 4: 'external_irq', 5: 'mmio_load', 6: 'mmio_store', 7: 'wfi',
  8: 'guest_page_fault', 9: 'virtual_instruction', 10: 'exception', 11: 'vm_stopped',
};

const SBI_EXT: Readonly<Record<number, string>> = {
  0x10: 'BASE', 0x54494d45: 'TIME', 0x735049: 'IPI', 0x52464e43: 'RFENCE', 0x48534d: 'HSM', 0x53525354: 'SRST',
  0x4442434e: 'DBCN', 0x504d55: 'PMU', 0x53555350: 'SUSP', 0x43505043: 'CPPC', 0x535441: 'STA',
};
const SBI_LEGACY: readonly string[] = [
  'set_timer', 'console_putchar', 'console_getchar', 'clear_ipi', 'send_ipi', 'remote_fence_i', 'remote_sfence_vma',
  'remote_sfence_vma_asid', 'shutdown',
];
const SBI_FN: Readonly<Record<string, readonly string[]>> = {
  BASE: ['get_spec_version', 'get_impl_id', 'get_impl_version', 'probe_extension', 'get_mvendorid', 'get_marchid', 'get_mimpid'],
  TIME: ['set_timer'],
  IPI: ['send_ipi'],
  RFENCE: ['remote_fence_i', 'remote_sfence_vma', 'remote_sfence_vma_asid', 'remote_hfence_gvma_vmid', 'remote_hfence_gvma',
    'remote_hfence_vvma_asid', 'remote_hfence_vvma'],
  HSM: ['hart_start', 'hart_stop', 'hart_get_status', 'hart_suspend'],
  SRST: ['system_reset'],
  DBCN: ['console_write', 'console_read', 'console_write_byte'],
  SUSP: ['system_suspend'],
};

/** `TIME.set_timer`, `HSM.hart_start`, `legacy.console_putchar`, or hex ids for unknown ones. */
export function sbiCallName(eid: bigint, fid: bigint | null): string {
  const e = Number(eid);
  if (eid <= 8n) return `legacy.${SBI_LEGACY[e]}`;
  const ext = SBI_EXT[e];
  const f = fid === null ? 0 : Number(fid);
  if (!ext) return `0x${eid.toString(16)}.${f}`;
  return `${ext}.${SBI_FN[ext]?.[f] ?? `fid${f}`}`;
}

export function sbiExtName(eid: bigint): string {
  if (eid <= 8n) return 'legacy';
  return SBI_EXT[Number(eid)] ?? `0x${eid.toString(16)}`;
}

const IRQ_BITS: Readonly<Record<number, string>> = {
  1: 'SSIP', 2: 'VSSIP', 3: 'MSIP', 5: 'STIP', 6: 'VSTIP', 7: 'MTIP', 9: 'SEIP', 10: 'VSEIP', 11: 'MEIP', 12: 'SGEIP',
};
export function irqName(bit: number): string {
  return IRQ_BITS[bit] ?? `bit ${bit}`;
}

export function trapCauseName(a: bigint): { interrupt: boolean; cause: number; name: string } {
  const interrupt = (a >> 63n) === 1n;
  const cause = Number(a & 0x7fffffffffffffffn);
  return { interrupt, cause, name: (interrupt ? INTERRUPT_NAMES : EXCEPTION_NAMES)[cause] ?? 'unknown' };
}

export const hex = (v: bigint | number): string => `0x${(typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16)}`;

// ---- levels ----------------------------------------------------------------------------------

/** Level codes of lane change points. */
export const LEVEL = {
  U: 0, S: 1, M: 3, VU: 4, VS: 5, WFI: 6, OFF: 7, UNKNOWN: 8,
  /** VM exit spans: EXIT + reason code (1..11; 0 = unknown reason). */
  EXIT: 16,
} as const;

export function levelOf(priv: number, virt: boolean): number {
  if (virt) return priv === 0 ? LEVEL.VU : LEVEL.VS;
  return priv === 0 ? LEVEL.U : priv === 3 ? LEVEL.M : priv === 1 ? LEVEL.S : LEVEL.UNKNOWN;
}

/** Display name of a level; `hyp`: the trace uses V (S is then HS). */
export function levelName(level: number, hyp: boolean): string {
  if (level >= LEVEL.EXIT) return `exit: ${VM_EXIT_REASONS[level - LEVEL.EXIT] ?? 'unknown'}`;
  switch (level) {
    case LEVEL.U: return 'U';
    case LEVEL.S: return hyp ? 'HS' : 'S';
    case LEVEL.M: return 'M';
    case LEVEL.VU: return 'VU';
    case LEVEL.VS: return 'VS';
    case LEVEL.WFI: return 'WFI';
    case LEVEL.OFF: return 'off';
    default: return 'unknown';
  }
}

/** Privilege name of a priv/virt pair as events show it: M, HS (S in a trace with V), S, U, VS, VU. */
export function privText(priv: number, virt: boolean, hyp: boolean): string {
  return levelName(levelOf(priv, virt), hyp);
}

// ---- the analysis ----------------------------------------------------------------------------

export interface Lane {
  /** `hart 0`, `vm0 vcpu 1`. */
  readonly name: string;
  readonly type: 'hart' | 'vcpu';
  readonly hart?: number;
  readonly vm?: number;
  readonly vcpu?: number;
  /** Change points: from t[i] (virtual time) the lane is at level lv[i], up to t[i + 1] / the end. */
  readonly t: number[];
  readonly lv: number[];
  /** For a vCPU lane's exit spans (level >= EXIT): the index in `exits` at each change point (-1 otherwise). */
  readonly exit: number[];
}

export interface VmExitRecord {
  readonly seq: number;
  readonly hart: number;
  readonly vm: number;
  /** null: the VM stopped (vm_stopped has no vCPU). */
  readonly vcpu: number | null;
  readonly reason: string;
  readonly reasonCode: number;
  readonly detail: bigint | null;
  readonly vtime: number;
  readonly instret: number;
  readonly guestPc: bigint;
  /** The matching vm_entry (next entry of the same vCPU), or null (none: stopped, or the recording ended). */
  entrySeq: number | null;
  entryVtime: number | null;
  entryHart: number | null;
  /** Instructions the exit's hart retired until the entry (null when the entry is on another hart or missing). */
  durInsns: number | null;
  /** Virtual time from exit to entry, in instructions (= ns); null without an entry. */
  durVtime: number | null;
}

export interface HartTotals {
  readonly hart: number;
  /** Retired instructions (the recorder's final counts, else as of the hart's last event). */
  instret: number;
  /** Virtual time per level (LEVEL code -> instructions of virtual time). */
  readonly time: Record<number, number>;
  /** Virtual time the lane covers (from 0 to the end of the trace). */
  span: number;
}

export interface Analysis {
  readonly file: string;
  readonly status: TraceStatus;
  /** What the picture lacks and why (no events, aborted recording, no privilege information). */
  readonly notes: string[];
  readonly harts: number;
  /** The trace has V = 1 events or guests: S is shown as HS. */
  readonly hyp: boolean;
  readonly guests: readonly { vm: number; vcpus: number; name: string }[];
  /** Virtual time of the end of the trace (instructions). */
  readonly end: number;
  readonly lanes: Lane[];
  /** The events other than CSR writes, in seq order (VM exits / entries included). */
  readonly events: TraceEvent[];
  /** Index into `lanes` of each hart's lane. */
  readonly hartLane: number[];
  readonly exits: VmExitRecord[];
  readonly totals: HartTotals[];
  /** Events per kind, csr_write included (all of the trace's events). */
  readonly kindCounts: Record<string, number>;
  /** CSR writes per CSR and writer (SQL GROUP BY), most frequent first. */
  readonly csrWrites: { csr: number; name: string; count: number; byWho: Record<string, number> }[];
  readonly console: { vtime: number; hart: number | null; text: string }[];
  /** The exit of the run (meta 'exit'), if recorded. */
  readonly exitInfo: { kind: string; exitCode: number; message: string } | null;
}

/** Kinds read as events (everything but csr_write, which is only counted). */
export const MARK_KINDS: readonly EventKind[] = EVENT_KINDS.filter((k) => k !== 'csr_write');

export interface AnalyzeOptions {
  /** Read the console chunks (default true). */
  console?: boolean;
  /** Count the CSR writes per CSR and writer (default true; the timeline and export do without). */
  csrWrites?: boolean;
}

/**
 * The events other than CSR writes, in seq order, as TraceReader.readEvents gives them, read in
 * one statement with the small integers as doubles, and the payloads that repeat (traps, trap
 * returns, MMIO: a few distinct ones each) decoded once and shared (never mutated here).
 */
function readEvents(r: TraceReader): TraceEvent[] {
  const rows = r.query(
    'SELECT CAST(seq AS REAL), CAST(vtime AS REAL), CAST(hart AS REAL), CAST(instret AS REAL), pc, CAST(priv AS REAL), CAST(virt AS REAL), kind, a, b, c, payload ' +
    "FROM events WHERE kind <> 'csr_write' ORDER BY seq").rows;
  const shared = new Map<string, Record<string, unknown>>();
  const u = (v: unknown): bigint | null => (v === null ? null : BigInt.asUintN(64, v as bigint));
  const out: TraceEvent[] = new Array<TraceEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const buf = row[11] as Uint8Array | null;
    let payload: Record<string, unknown> | null = null;
    if (buf) {
      const key = buf.length <= 96 ? Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1') : null;
      const hit = key === null ? undefined : shared.get(key);
      if (hit) payload = hit;
      else {
        try {
          payload = decodePayload(buf);
        } catch {
          throw new TraceError(`${r.path}: event #${row[0] as number}: corrupt payload (not a msgpack map)`);
        }
        if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
          throw new TraceError(`${r.path}: event #${row[0] as number}: corrupt payload (not a msgpack map)`);
        }
        if (key !== null && (row[7] === 'trap' || row[7] === 'trap_return' || row[7] === 'mmio')) shared.set(key, payload);
      }
    }
    out[i] = {
      seq: row[0] as number, vtime: row[1] as number, hart: row[2] as number, instret: row[3] as number,
      pc: BigInt.asUintN(64, row[4] as bigint), priv: row[5] as number, virt: row[6] !== 0,
      kind: row[7] as EventKind, a: u(row[8]), b: u(row[9]), c: u(row[10]), payload,
    };
  }
  return out;
}

/** Read a trace and build its lanes, marks, VM exit pairs and totals. */
export function analyze(r: TraceReader, opts: AnalyzeOptions = {}): Analysis {
  const notes: string[] = [];
  const cfg = r.config;
  const status = r.status;
  const kindCounts = r.countsByKind();
  const total = Object.values(kindCounts).reduce((s, x) => s + x, 0);
  let events = readEvents(r);
  // A trace without virtual time (an import of another emulator's log): events are laid out
  // one unit apart in their order.
  let bySeq = false;
  if (events.length > 1 && events.every((e) => e.vtime === 0)) {
    bySeq = true;
    events = events.map((e) => ({ ...e, vtime: e.seq, instret: e.seq }));
  }
  const counts = r.counts;
  let harts = cfg.machine?.harts ?? 0;
  for (const e of events) if (e.hart + 1 > harts) harts = e.hart + 1;
  if (harts === 0 && counts) harts = counts.instret.length;
  const guestCfg = cfg.machine?.guests ?? [];
  const guests = guestCfg.map((g, vm) => ({ vm, vcpus: g.vcpus, name: g.image.name }));
  let hyp = guests.length > 0;
  if (!hyp) for (const e of events) if (e.virt) { hyp = true; break; }
  let maxV = 0;
  for (const e of events) if (e.vtime > maxV) maxV = e.vtime;
  // CSR writes are only counted (by CSR and writer): grouped by the payload's bytes, which the
  // recorder shares between writes of the same writer, and decoded once per group.
  const csrRows: [unknown, string, unknown][] = [];
  if (kindCounts.csr_write && opts.csrWrites !== false) {
    const who = new Map<string, string>();
    for (const row of r.query("SELECT a, payload, count(*) FROM events WHERE kind = 'csr_write' GROUP BY 1, 2").rows) {
      const buf = row[1] as Uint8Array | null;
      let w = 'insn';
      if (buf) {
        const k = Buffer.from(buf).toString('hex');
        let v = who.get(k);
        if (v === undefined) {
          try {
            const p = decodePayload(buf);
            v = typeof p.who === 'string' ? p.who : 'insn';
          } catch {
            v = 'insn';
          }
          who.set(k, v);
        }
        w = v;
      }
      csrRows.push([row[0], w, row[2]]);
    }
  }
  let maxCsrV = 0;
  if (kindCounts.csr_write && !counts) maxCsrV = Number(r.query("SELECT max(vtime) FROM events WHERE kind = 'csr_write'").rows[0]![0] ?? 0);
  const end = Math.max(counts?.vtime ?? 0, maxV, maxCsrV);

  // Notes about what is missing.
  if (total === 0) notes.push('the trace has no events: nothing to draw but its configuration');
  if (status === 'aborted') notes.push('the recording was aborted: the timeline ends at its last event');
  if (status === 'truncated') notes.push('the recording was not finished (its recorder is gone): the timeline ends at its last event');
  if (status === 'recording') notes.push('the recording is still in progress: this shows what was written so far');
  const producer = cfg.producer;
  if (bySeq) notes.push('the trace has no virtual time: events are placed by their order (1 ns per event)');
  if (total > 0 && !kindCounts.trap_return) {
    notes.push(`no privilege spans: the trace has no trap returns${/qemu/i.test(producer) ? ` (${producer}: an import of a QEMU log holds only traps)` : ''}; the lanes show only where each hart has events`);
  }
  const exitInfo = r.exit;

  // ---- lanes ----
  const lanes: Lane[] = [];
  const hartLane: number[] = [];
  for (let h = 0; h < harts; h++) {
    hartLane.push(lanes.length);
    lanes.push({ name: `hart ${h}`, type: 'hart', hart: h, t: [], lv: [], exit: [] });
  }
  const vcpuLane = new Map<string, number>();
  for (const g of guests) {
    for (let v = 0; v < g.vcpus; v++) {
      vcpuLane.set(`${g.vm}:${v}`, lanes.length);
      lanes.push({ name: `vm${g.vm} vcpu ${v}`, type: 'vcpu', vm: g.vm, vcpu: v, t: [], lv: [], exit: [] });
    }
  }
  const laneFor = (vm: number, vcpu: number): number => {
    const k = `${vm}:${vcpu}`;
    let i = vcpuLane.get(k);
    if (i === undefined) {
      // A vCPU the configuration does not list (another producer): a lane of its own.
      i = lanes.length;
      vcpuLane.set(k, i);
      lanes.push({ name: `vm${vm} vcpu ${vcpu}`, type: 'vcpu', vm, vcpu, t: [], lv: [], exit: [] });
    }
    return i;
  };
  const setLevel = (li: number, t: number, lv: number, exit = -1): void => {
    const L = lanes[li]!;
    const n = L.t.length;
    if (n > 0 && L.lv[n - 1] === lv && L.exit[n - 1] === exit) return;
    if (n > 0 && L.t[n - 1]! >= t) {
      // Same time (or a per-hart clock that did not advance): the later level wins.
      L.lv[n - 1] = lv;
      L.exit[n - 1] = exit;
      if (n > 1 && L.lv[n - 2] === lv && L.exit[n - 2] === exit) { L.t.pop(); L.lv.pop(); L.exit.pop(); }
      return;
    }
    L.t.push(t);
    L.lv.push(lv);
    L.exit.push(exit);
  };

  // Per-hart state.
  const cur: number[] = new Array<number>(harts).fill(-1);
  const off: boolean[] = new Array<boolean>(harts).fill(false);
  const justStarted: boolean[] = new Array<boolean>(harts).fill(false);
  const lastV: number[] = new Array<number>(harts).fill(0);
  const lastI: number[] = new Array<number>(harts).fill(0);
  const seen: boolean[] = new Array<boolean>(harts).fill(false);
  /** The vCPU lane running on each hart (-1: none). */
  const running: number[] = new Array<number>(harts).fill(-1);
  const lastInstret: number[] = new Array<number>(harts).fill(0);

  // Harts whose first hart_state event is a start were off until then.
  const firstState = new Map<number, number>();
  for (const e of events) if (e.kind === 'hart_state' && !firstState.has(e.hart)) firstState.set(e.hart, Number(e.a));
  for (let h = 0; h < harts; h++) {
    if (firstState.get(h) === 0) {
      off[h] = true;
      setLevel(hartLane[h]!, 0, LEVEL.OFF);
    }
  }
  const hasReturns = (kindCounts.trap_return ?? 0) > 0;

  const exits: VmExitRecord[] = [];
  const pending = new Map<string, number>(); // vm:vcpu -> index in exits
  const closeExit = (k: string, e: TraceEvent | null): void => {
    const i = pending.get(k);
    if (i === undefined) return;
    pending.delete(k);
    const x = exits[i]!;
    if (e) {
      x.entrySeq = e.seq;
      x.entryVtime = e.vtime;
      x.entryHart = e.hart;
      x.durVtime = e.vtime - x.vtime;
      x.durInsns = e.hart === x.hart ? e.instret - x.instret : null;
    }
  };

  const hartLevel = (h: number, t: number, lv: number): void => {
    cur[h] = lv;
    setLevel(hartLane[h]!, t, lv);
    const vl = running[h]!;
    if (vl >= 0 && (lv === LEVEL.VS || lv === LEVEL.VU)) setLevel(vl, t, lv);
  };

  for (const e of events) {
    const h = e.hart;
    if (h >= harts) continue;
    const p = (e.payload ?? {}) as Record<string, unknown>;
    if (!hasReturns && e.kind !== 'vm_entry' && e.kind !== 'vm_exit') {
      // No trap returns (an import of traps only): privilege and idle time are unknown; the lane
      // shows where the hart has events.
      if (!seen[h]) setLevel(hartLane[h]!, e.vtime, LEVEL.UNKNOWN);
      seen[h] = true;
      lastV[h] = e.vtime;
      lastInstret[h] = e.instret;
      continue;
    }
    // Idle before this event: virtual time without instructions.
    if (seen[h]) {
      const exc = e.kind === 'trap' && e.a !== null && (e.a >> 63n) === 0n ? 1 : 0;
      const d = (e.vtime - e.instret) - (lastV[h]! - lastI[h]!) - exc;
      if (d > 0 && e.vtime - d >= lastV[h]!) {
        const idle = off[h] || justStarted[h] ? LEVEL.OFF : LEVEL.WFI;
        setLevel(hartLane[h]!, e.vtime - d, idle);
        if (cur[h]! >= 0 && !off[h]) setLevel(hartLane[h]!, e.vtime, cur[h]!);
        const vl = running[h]!;
        if (vl >= 0 && idle === LEVEL.WFI && cur[h]! >= LEVEL.VU && cur[h]! <= LEVEL.VS) {
          // The vCPU's own WFI (it has the hart to itself: no exit).
          setLevel(vl, e.vtime - d, LEVEL.WFI);
          setLevel(vl, e.vtime, cur[h]!);
        }
      }
      justStarted[h] = false;
    }
    seen[h] = true;
    lastV[h] = e.vtime;
    lastI[h] = e.instret;
    lastInstret[h] = e.instret;

    const evLevel = levelOf(e.priv, e.virt);
    switch (e.kind) {
      case 'hart_state': {
        const s = Number(e.a);
        if (s === 0) { off[h] = false; justStarted[h] = true; }
        else if (s === 1) { off[h] = true; setLevel(hartLane[h]!, e.vtime, LEVEL.OFF); }
        else if (s === 2) setLevel(hartLane[h]!, e.vtime, LEVEL.WFI);
        else if (s === 3 && cur[h]! >= 0) setLevel(hartLane[h]!, e.vtime, cur[h]!);
        continue;
      }
      case 'trap': {
        if (off[h]) break;
        if (cur[h]! < 0 || (!hasReturns)) hartLevel(h, e.vtime, evLevel);
        if (typeof p.to === 'number') {
          const lv = levelOf(p.to, p.toVirt === true);
          if (hasReturns) hartLevel(h, e.vtime, lv);
          else cur[h] = lv;
        }
        continue;
      }
      case 'trap_return': {
        if (off[h]) break;
        if (cur[h]! < 0) hartLevel(h, e.vtime, evLevel);
        if (e.c !== null) hartLevel(h, e.vtime, levelOf(Number(e.c), p.toVirt === true));
        continue;
      }
      case 'vm_entry': {
        const vcpu = Number(e.a ?? 0n), vm = Number(e.b ?? 0n);
        const li = laneFor(vm, vcpu);
        closeExit(`${vm}:${vcpu}`, e);
        running[h] = li;
        setLevel(li, e.vtime, LEVEL.VS);
        break;
      }
      case 'vm_exit': {
        const code = Number(e.a ?? 0n);
        const vm = typeof p.vm === 'number' ? p.vm : 0;
        const vcpu = e.b === null ? null : Number(e.b);
        const reason = typeof p.reason === 'string' ? p.reason : VM_EXIT_REASONS[code] ?? `reason ${code}`;
        const idx = exits.length;
        exits.push({
          seq: e.seq, hart: h, vm, vcpu, reason, reasonCode: code, detail: e.c, vtime: e.vtime, instret: e.instret, guestPc: e.pc,
          entrySeq: null, entryVtime: null, entryHart: null, durInsns: null, durVtime: null,
        });
        if (vcpu === null) {
          // The VM stopped: every vCPU of it is off.
          for (const [k, li] of [...vcpuLane.entries()].sort((x, y) => x[1] - y[1])) {
            if (!k.startsWith(`${vm}:`)) continue;
            pending.delete(k);
            if (lanes[li]!.t.length) setLevel(li, e.vtime, LEVEL.OFF);
          }
          for (let hh = 0; hh < harts; hh++) if (running[hh]! >= 0 && lanes[running[hh]!]!.vm === vm) running[hh] = -1;
        } else {
          const li = laneFor(vm, vcpu);
          pending.set(`${vm}:${vcpu}`, idx);
          setLevel(li, e.vtime, LEVEL.EXIT + (VM_EXIT_REASONS[code] ? code : 0), idx);
          if (running[h] === li) running[h] = -1;
        }
        break;
      }
      case 'halt':
        break;
      default:
        break;
    }
    // Any other event: its own privilege corrects the lane where the trace missed a transition.
    if (!off[h] && cur[h] !== evLevel && e.kind !== 'vm_exit' && e.kind !== 'vm_entry' && e.kind !== 'halt' && e.kind !== 'input') {
      hartLevel(h, e.vtime, evLevel);
    }
  }

  // ---- totals ----
  const totals: HartTotals[] = [];
  for (let h = 0; h < harts; h++) {
    const L = lanes[hartLane[h]!]!;
    const instret = counts?.instret[h] ?? lastInstret[h]!;
    // Idle after the last event: time that the hart's remaining instructions do not explain.
    if (seen[h] && !off[h] && counts && L.t.length && hasReturns) {
      const tail = (end - lastV[h]!) - (instret - lastI[h]!);
      if (tail > 0) setLevel(hartLane[h]!, end - tail, LEVEL.WFI);
    }
    const time: Record<number, number> = {};
    for (let i = 0; i < L.t.length; i++) {
      const t1 = i + 1 < L.t.length ? L.t[i + 1]! : Math.max(end, L.t[i]!);
      time[L.lv[i]!] = (time[L.lv[i]!] ?? 0) + (t1 - L.t[i]!);
    }
    totals.push({ hart: h, instret, time, span: end });
  }
  for (const L of lanes) {
    if (L.type === 'vcpu' && L.t.length && L.t[0]! > 0) {
      // Not started before its first entry.
      L.t.unshift(0); L.lv.unshift(LEVEL.OFF); L.exit.unshift(-1);
    }
  }

  const byCsr = new Map<number, { csr: number; name: string; count: number; byWho: Record<string, number> }>();
  for (const row of csrRows) {
    const csr = Number(row[0]);
    const who = String(row[1]);
    const n = Number(row[2]);
    let c = byCsr.get(csr);
    if (!c) byCsr.set(csr, (c = { csr, name: csrName(csr), count: 0, byWho: {} }));
    c.count += n;
    c.byWho[who] = (c.byWho[who] ?? 0) + n;
  }
  const csrWrites = [...byCsr.values()].sort((x, y) => y.count - x.count || x.csr - y.csr);

  const consoleChunks = opts.console === false ? [] : r.console().map((c) => ({ vtime: c.vtime, hart: c.hart, text: Buffer.from(c.data).toString('utf8') }));

  return {
    file: r.path, status, notes, harts, hyp, guests, end, lanes, events, hartLane, exits, totals, kindCounts, csrWrites,
    console: consoleChunks, exitInfo,
  };
}

// ---- fields by name (details, debug annotations, JSON args) -----------------------------------

export type FieldValue = string | number | boolean;

/** The fields of an event by name, as the timeline's details, Perfetto's debug annotations and chrome-json args show them. */
export function eventFields(e: TraceEvent, hyp: boolean): [string, FieldValue][] {
  const f: [string, FieldValue][] = [
    ['seq', e.seq], ['hart', e.hart], ['vtime', e.vtime], ['instret', e.instret], ['pc', hex(e.pc)], ['priv', privText(e.priv, e.virt, hyp)],
  ];
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const pr = (x: unknown, v: unknown): string => (typeof x === 'number' ? privText(x, v === true, hyp) : '?');
  switch (e.kind) {
    case 'trap': {
      const c = trapCauseName(e.a ?? 0n);
      f.push(['cause', c.cause], ['cause_name', c.name], ['interrupt', c.interrupt], ['tval', hex(e.b ?? 0n)], ['handler', hex(e.c ?? 0n)]);
      if ('from' in p) f.push(['from', pr(p.from, p.fromVirt)]);
      if ('to' in p) f.push(['to', pr(p.to, p.toVirt)]);
      if (typeof p.htval === 'bigint' || typeof p.htval === 'number') f.push(['htval', hex(p.htval)]);
      if (typeof p.htinst === 'bigint' || typeof p.htinst === 'number') f.push(['htinst', hex(p.htinst)]);
      break;
    }
    case 'trap_return':
      f.push(['insn', e.a === 0n ? 'mret' : 'sret'], ['return_pc', hex(e.b ?? 0n)], ['from', pr(p.from, p.fromVirt)], ['to', pr(Number(e.c ?? 0n), p.toVirt)]);
      break;
    case 'sbi_call': {
      f.push(['call', sbiCallName(e.a ?? 0n, e.b)], ['eid', hex(e.a ?? 0n)], ['fid', Number(e.b ?? 0n)], ['error', Number(BigInt.asIntN(64, e.c ?? 0n))]);
      if (typeof p.value === 'bigint') f.push(['value', hex(p.value)]);
      if (Array.isArray(p.args)) (p.args as unknown[]).forEach((a, i) => f.push([`a${i}`, typeof a === 'bigint' || typeof a === 'number' ? hex(a) : String(a)]));
      if (typeof p.handler === 'string') f.push(['handler', p.handler]);
      break;
    }
    case 'mmio': {
      const c = e.c ?? 0n;
      f.push(['device', String(p.device ?? '?')], ['direction', c & 0x100n ? 'write' : 'read'], ['address', hex(e.a ?? 0n)], ['size', Number(c & 0xffn)], ['value', hex(e.b ?? 0n)]);
      break;
    }
    case 'irq':
      f.push(['line', irqName(Number(e.a ?? 0n))], ['level', Number(e.b ?? 0n)]);
      break;
    case 'hart_state':
      f.push(['state', ['start', 'stop', 'suspend', 'resume'][Number(e.a ?? 0n)] ?? String(e.a)]);
      break;
    case 'input': {
      const ch = Number(e.a ?? 0n);
      f.push(['byte', hex(ch)]);
      if (ch >= 0x20 && ch < 0x7f) f.push(['char', String.fromCharCode(ch)]);
      break;
    }
    case 'halt':
      f.push(['exit_code', Number(e.a ?? 0n)], ['kind', String(p.kind ?? '?')], ['message', String(p.message ?? '')]);
      break;
    case 'vm_exit': {
      const code = Number(e.a ?? 0n);
      f.push(['reason', typeof p.reason === 'string' ? p.reason : VM_EXIT_REASONS[code] ?? String(code)], ['reason_code', code], ['vm', typeof p.vm === 'number' ? p.vm : 0]);
      if (e.b !== null) f.push(['vcpu', Number(e.b)]);
      f.push(['detail', hex(e.c ?? 0n)], ['guest_pc', hex(e.pc)]);
      if (typeof p.message === 'string') f.push(['message', p.message]);
      break;
    }
    case 'vm_entry':
      f.push(['vm', Number(e.b ?? 0n)], ['vcpu', Number(e.a ?? 0n)], ['guest_pc', hex(e.pc)]);
      break;
    default:
      break;
  }
  return f;
}

/** PRIV_NAMES re-exported for the modules here. */
export { PRIV_NAMES };
