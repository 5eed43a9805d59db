/**
 * Every trace event kind, declared once (issue 15): per kind what its row's columns mean (pc,
 * priv, virt, and the storage columns a/b/c under the kind's own field names), its payload
 * fields, its SQL view, its one-line human rendering and, where one exists, how a QEMU log line
 * maps to it. Everything else is driven or generated from this table:
 *
 * - src/trace/model.ts: the kind list (EVENT_KINDS, KIND_CODE: the order below is the kind code,
 *   hashed into digests.events_hash: append new kinds at the end, never reorder);
 * - schemas/trace.sql: the per-kind views, stored and `@reader` (generated text between
 *   `@generated` markers: `node scripts/gen-event-schemas.mjs` after `npm run build`);
 * - schemas/event-payload.schema.json: generated whole by the same script;
 * - src/trace/describe.ts describeEvent: calls `render` below;
 * - src/diff/qemu-import.ts: calls `qemu.toEvent` below;
 * - `hvtrace query`'s hint (src/cli/inspect.ts): the numeric view columns and their named twins.
 *
 * test/event-kinds.test.ts checks that all of them agree with the table. What the recorder
 * writes (src/trace/recorder.ts, one method per kind) is described here, not generated: the
 * emitting code is the hot path.
 *
 * Adding a kind:
 * 1. an entry at the end of EVENT_KIND_TABLE below (columns, payload, view, render, qemu if any);
 * 2. how it is seen: a HartObserver method (src/hart/observer.ts) called where it happens, or a
 *    board event of RecordSession; the WatchingObserver of src/replay/replayer.ts forwards every
 *    HartObserver method;
 * 3. the Recorder method that writes its row (src/trace/recorder.ts, KIND_CODE.<kind>);
 * 4. `npm run build && node scripts/gen-event-schemas.mjs` (views, JSON schema), then
 *    test/event-kinds.test.ts and a test that records one;
 * optional: its lane in the timeline (src/view/analysis.ts), a `diff --kinds` group
 * (src/diff/compare.ts).
 *
 * Storage: events(seq, vtime, hart, instret, pc, priv, virt, kind, a, b, c, payload); a/b/c
 * keep those names in storage, every view and rendering uses the field names below. An absent
 * column is NULL. 64-bit values are unsigned in TypeScript (bigint) and stored as signed SQLite
 * INTEGERs (two's complement).
 */
import { csrName } from '../isa/disasm.js';
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../hart/constants.js';
import { VM_EXIT } from '../hypervisor/exits.js';
import { SBI_EXT, IRQ_BITS, VM_EXIT_REASONS, PRIV_NAMES } from './names.js';
import type { TraceEvent } from './model.js';

// ---------------------------------------------------------------------------------------------
// the shape of an entry
// ---------------------------------------------------------------------------------------------

/** A column of a kind's SQL view: `sql AS name` (just `name` when they are equal). */
export interface ViewColumn {
  readonly name: string;
  /** SQL expression over one `events` row. */
  readonly sql: string;
  /** What SQLite returns: query's hint treats `int` columns compared with text. */
  readonly type: 'int' | 'text' | 'blob';
  /** For a *_name / *_hex / text column: the int column of the same value it names. */
  readonly of?: string;
  /**
   * Only in the reader's TEMP views (`hvtrace query`): it calls a reader SQL function (csr_name,
   * cause_name, ...), or was added after the views stored in schema 2 traces, whose columns stay
   * as they were.
   */
  readonly readerOnly?: boolean;
}

/** The meaning of one of the row's columns (pc, priv, virt, vtime, hart, instret) for a kind. */
export interface RowColumn {
  readonly meaning: string;
  readonly view: readonly ViewColumn[];
}

export type ColumnType = 'u64' | 'int' | 'priv';

/** One of the storage columns a/b/c, under the kind's name for it. */
export interface FieldColumn<N extends string = string> {
  readonly name: N;
  readonly type: ColumnType;
  readonly meaning: string;
  /** When the column is NULL (absent: never). */
  readonly nullWhen?: string;
  readonly view: readonly ViewColumn[];
}

/** A payload field: its JSON Schema (without description) and meaning. */
export interface PayloadField {
  readonly name: string;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly required: boolean;
  readonly meaning: string;
}

/** A QEMU 7.2 `-d int` line: `riscv_cpu_do_interrupt: hart:H, async:A, cause:C, epc:E, tval:T, desc=D`. */
export interface QemuTrapLine {
  readonly hart: number;
  readonly interrupt: boolean;
  readonly cause: number;
  readonly epc: bigint;
  readonly tval: bigint;
  readonly desc: string;
}

/** An event as an importer makes it (TraceEvent of one kind; declared here without TraceEvent, whose kind type comes from this table). */
export interface ImportedEvent<K extends string> {
  readonly seq: number;
  readonly vtime: number;
  readonly hart: number;
  readonly instret: number;
  readonly pc: bigint;
  readonly priv: number;
  readonly virt: boolean;
  readonly kind: K;
  readonly a: bigint | null;
  readonly b: bigint | null;
  readonly c: bigint | null;
  readonly payload: Record<string, unknown> | null;
}

export interface QemuMapping<K extends string = string> {
  /** The log lines it comes from. */
  readonly source: string;
  /** The event fields a log line gives (the differ compares only these: meta 'reference'.fields). */
  readonly fields: readonly ('kind' | 'hart' | 'pc' | 'a' | 'b' | 'c' | 'payload')[];
  /** Where each event field comes from, for the docs. */
  readonly mapping: Readonly<Record<string, string>>;
  /** The payload an imported event carries instead of the recorded one. */
  readonly payload: readonly PayloadField[];
  /** The event for the `seq`-th line; `address` maps epc / tval (sv57ToSv48, or identity). */
  toEvent(line: QemuTrapLine, seq: number, address: (a: bigint) => bigint): ImportedEvent<K>;
}

type Values<N extends string> = { readonly [K in N]: bigint | null };

export interface KindSpec<K extends string = string, A extends string = string, B extends string = string, C extends string = string> {
  readonly kind: K;
  /** What happened, in one line. */
  readonly summary: string;
  /** Where the recorder emits it (HartObserver call or board event) and who reports it. */
  readonly emittedBy: string;
  /** Notes that do not fit a column. */
  readonly notes?: string;
  readonly pc: RowColumn;
  readonly priv: RowColumn;
  readonly virt: RowColumn;
  /** Only where it differs from the common meaning (COMMON below). */
  readonly vtime?: string;
  readonly hart?: string;
  readonly a: FieldColumn<A> | null;
  readonly b: FieldColumn<B> | null;
  readonly c: FieldColumn<C> | null;
  /** null: the payload is always NULL. */
  readonly payload: readonly PayloadField[] | null;
  /** Its view; the slots in column order (after seq, vtime, hart, instret; payload last). */
  readonly view: { readonly name: string; readonly order: readonly Slot[] };
  /**
   * The text `hvtrace events` shows after the common columns (also replay, diff reports, gdb).
   * `f`: a/b/c by field name; `p`: the payload ({} when NULL); `hs`: the trace runs guests of
   * the built-in hypervisor (S with V = 0 is then named HS).
   */
  render(f: Values<A | B | C>, p: Readonly<Record<string, unknown>>, hs: boolean): string;
  readonly qemu?: QemuMapping<K>;
}

export type Slot = 'pc' | 'priv' | 'virt' | 'a' | 'b' | 'c';

/** Meanings of the common columns (a kind's entry overrides vtime / hart where they differ). */
export const COMMON = {
  seq: 'global order of the events of the run, from 0, no gaps',
  vtime: "the hart's own virtual time, in instructions",
  hart: 'the hart the event happened on',
  instret: "the hart's retired-instruction count (Hart.instret: a trapping instruction does not retire)",
  kind: 'the event kind (this table)',
} as const;

// ---------------------------------------------------------------------------------------------
// helpers for the entries
// ---------------------------------------------------------------------------------------------

const int = (name: string, sql = name, more: Partial<ViewColumn> = {}): ViewColumn => ({ name, sql, type: 'int', ...more });
const text = (name: string, sql: string, of: string, more: Partial<ViewColumn> = {}): ViewColumn => ({ name, sql, type: 'text', of, ...more });
/** `printf('0x%x', sql) AS name_hex`: 64-bit values as unsigned hex text. */
const hexOf = (name: string, sql: string, more: Partial<ViewColumn> = {}): ViewColumn =>
  ({ name: `${name}_hex`, sql: `printf('0x%x', ${sql})`, type: 'text', of: name, ...more });
const reader = (c: ViewColumn): ViewColumn => ({ ...c, readerOnly: true });

/** A value and its hex twin. */
const withHex = (name: string, sql: string, hexReaderOnly = false): ViewColumn[] =>
  [int(name, sql), hexOf(name, sql, hexReaderOnly ? { readerOnly: true } : {})];

const PC = (meaning: string, name = 'pc', hexReaderOnly = false): RowColumn => ({ meaning, view: withHex(name, 'pc', hexReaderOnly) });
const PRIV = (meaning: string, name = 'priv'): RowColumn => ({ meaning, view: [int(name, 'priv')] });
const VIRT = (meaning: string, readerOnly = false): RowColumn => ({ meaning, view: [int('virt', 'virt', readerOnly ? { readerOnly } : {})] });

const PRIV_SCHEMA = { $ref: '#/$defs/priv' };
const U64_SCHEMA = { $ref: '#/$defs/u64' };

const hex = (v: bigint | number): string => `0x${(typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16)}`;
const signed = (v: bigint): bigint => BigInt.asIntN(64, v);
const z = (v: bigint | null): bigint => v ?? 0n;

/** M, S, U; HS for S with V = 0 in a trace with guests (`hs`). */
function plainPriv(v: unknown, hs: boolean): string {
  if (typeof v !== 'number') return '?';
  if (hs && v === 1) return 'HS';
  return PRIV_NAMES[v] ?? String(v);
}

/**
 * The privileges of a trap / trap return, `[from->to]`. When V is involved (payload fromVirt /
 * toVirt), S with V = 0 is the hypervisor's: `HS`, and V = 1 gives `VS` / `VU`.
 */
function transition(p: Readonly<Record<string, unknown>>, to: unknown, hs: boolean): string {
  if (!('fromVirt' in p)) return `[${plainPriv(p.from, hs)}->${plainPriv(to, hs)}]`;
  const n = (x: unknown, virt: unknown): string => {
    if (typeof x !== 'number') return '?';
    if (virt === true) return `V${PRIV_NAMES[x] ?? x}`;
    return x === 1 ? 'HS' : PRIV_NAMES[x] ?? String(x);
  };
  return `[${n(p.from, p.fromVirt)}->${n(to, p.toVirt)}]`;
}

/** Defines one entry with its field names checked against its render function. */
function kind<const K extends string, const A extends string = never, const B extends string = never, const C extends string = never>(
  s: KindSpec<K, A, B, C>,
): KindSpec<K, A, B, C> {
  return s;
}

/** hart_state codes (column a) by number. */
export const HART_STATES = ['start', 'stop', 'suspend', 'resume'] as const;
const HALT_KINDS = ['poweroff', 'fail', 'reset', 'limit', 'fatal', 'deadlock', 'htif'] as const;
const VM_EXIT_REASON_LIST = Object.entries(VM_EXIT).sort((x, y) => x[1] - y[1]).map(([k]) => k);

// ---------------------------------------------------------------------------------------------
// the table (in kind-code order)
// ---------------------------------------------------------------------------------------------

const TRAP = kind({
  kind: 'trap',
  summary: 'a trap was taken: an exception or an interrupt, after the CSRs were updated',
  emittedBy: 'Recorder.trap, from HartObserver.trap (Hart.enterTrap)',
  pc: PC("the trap's epc, as written to mepc / sepc / vsepc: the trapping instruction, or for an interrupt the next one", 'epc'),
  priv: PRIV('the privilege the trap was taken from (payload from)', 'from_priv'),
  virt: VIRT('V before the trap (payload fromVirt when V is involved)'),
  a: {
    name: 'cause', type: 'u64', meaning: 'the cause as written to xcause: exception code, bit 63 set for an interrupt',
    view: [int('cause', '(a & 0x7fffffffffffffff)'), reader(text('cause_name', 'cause_name(a)', 'cause')), int('interrupt', '(a < 0)')],
  },
  b: { name: 'tval', type: 'u64', meaning: 'the value written to xtval (0 when the trap has none)', view: withHex('tval', 'b') },
  c: {
    name: 'handler', type: 'u64', meaning: "the trap handler's address: the hart's pc after the trap (0 for a trap the built-in firmware handles: its mtvec is 0, it runs no code)",
    nullWhen: 'imported from a QEMU log (QEMU does not log it)', view: withHex('handler', 'c'),
  },
  payload: [
    { name: 'from', schema: PRIV_SCHEMA, required: true, meaning: 'privilege the trap was taken from' },
    { name: 'to', schema: PRIV_SCHEMA, required: true, meaning: 'privilege the trap went to' },
    { name: 'fromVirt', schema: { type: 'boolean' }, required: false, meaning: 'V before the trap (fromVirt and toVirt are present only when V was or became 1)' },
    { name: 'toVirt', schema: { type: 'boolean' }, required: false, meaning: 'V after the trap (true: a VS-mode handler)' },
  ],
  notes: 'htval / htinst (H extension) are not recorded: the CSR writes of the trap show them when a guest reads them back.',
  view: { name: 'traps', order: ['priv', 'virt', 'pc', 'a', 'b', 'c'] },
  render(f, p, hs) {
    const a = z(f.cause);
    const intr = (a >> 63n) === 1n;
    const cause = Number(a & 0x7fffffffffffffffn);
    const name = (intr ? INTERRUPT_NAMES : EXCEPTION_NAMES)[cause] ?? 'unknown';
    return `${intr ? 'interrupt' : 'exception'} ${cause} (${name}) tval=${hex(z(f.tval))} -> ${hex(z(f.handler))} ${transition(p, 'fromVirt' in p ? Number(p.to) : p.to, hs)}`;
  },
  qemu: {
    source: 'riscv_cpu_do_interrupt lines of QEMU 7.2 `-d int` (src/diff/qemu-log.ts parses them)',
    fields: ['kind', 'hart', 'pc', 'a', 'b'],
    mapping: {
      hart: 'hart:H', pc: 'epc:E', a: 'cause:C, bit 63 set when async:1', b: 'tval:T', payload: '{ desc: D }',
      rest: 'vtime, instret, priv 0; virt false; c (handler) NULL: not in the log',
    },
    payload: [{ name: 'desc', schema: { type: 'string' }, required: true, meaning: "QEMU's name of the trap (desc=...)" }],
    toEvent: (t, seq, address) => ({
      seq, vtime: 0, hart: t.hart, instret: 0, pc: address(t.epc), priv: 0, virt: false, kind: 'trap',
      a: BigInt(t.cause) | (t.interrupt ? 1n << 63n : 0n), b: address(t.tval), c: null, payload: { desc: t.desc },
    }),
  },
});

const TRAP_RETURN = kind({
  kind: 'trap_return',
  summary: 'an mret or sret completed',
  emittedBy: 'Recorder.trapReturn, from HartObserver.trapReturn (Hart.doMret / doSret, after the jump)',
  pc: PC("the xRET's own pc; the built-in firmware and hypervisor run no instructions: for them the pc they trapped to (their trap vector, 0 for the firmware)"),
  priv: PRIV('the privilege that executed the xRET (payload from)', 'from_priv'),
  virt: VIRT('V of the xRET (payload fromVirt when V is involved)'),
  a: {
    name: 'insn', type: 'int', meaning: '0 = mret, 1 = sret',
    view: [{ name: 'insn', sql: "CASE a WHEN 0 THEN 'mret' WHEN 1 THEN 'sret' ELSE a END", type: 'text' }],
  },
  b: { name: 'return_pc', type: 'u64', meaning: 'the address returned to (mepc / sepc): the new pc', view: withHex('return_pc', 'b') },
  c: { name: 'to_priv', type: 'priv', meaning: 'the privilege after the xRET', view: [int('to_priv', 'c')] },
  payload: [
    { name: 'from', schema: PRIV_SCHEMA, required: true, meaning: 'privilege that executed the xRET' },
    { name: 'fromVirt', schema: { type: 'boolean' }, required: false, meaning: 'V of the xRET (fromVirt and toVirt are present only when V was or becomes 1)' },
    { name: 'toVirt', schema: { type: 'boolean' }, required: false, meaning: 'V after the xRET (mret with MPV, sret with SPV)' },
  ],
  view: { name: 'trap_returns', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render: (f, p, hs) => `${f.insn === 0n ? 'mret' : 'sret'} -> ${hex(z(f.return_pc))} ${transition(p, Number(z(f.to_priv)), hs)}`,
});

const CSR_WRITE = kind({
  kind: 'csr_write',
  summary: 'a CSR was written: by an instruction, the built-in firmware or the hypervisor',
  emittedBy: 'Recorder.csrWrite, from HartObserver.csrWrite (Hart CSR writes, firmware and hypervisor csrSet)',
  pc: PC("the hart's pc at the write: the CSR instruction's for who = insn; for the firmware and the hypervisor the pc they trapped to (their trap vector, 0 for the firmware)"),
  priv: PRIV('the privilege at the write'),
  virt: VIRT('V at the write'),
  a: { name: 'csr', type: 'int', meaning: 'the CSR number (12 bits)', view: [int('csr', 'a'), reader(text('csr_name', 'csr_name(a)', 'csr'))] },
  b: { name: 'old', type: 'u64', meaning: 'the value before the write', view: withHex('old', 'b') },
  c: { name: 'new', type: 'u64', meaning: 'the value after the write (WARL-legalised: what a read returns)', view: withHex('new', 'c') },
  payload: [
    { name: 'who', schema: { enum: ['insn', 'firmware', 'hypervisor'] }, required: true, meaning: 'a CSR instruction, the built-in SBI firmware, or the hypervisor' },
  ],
  view: { name: 'csr_writes', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render: (f, p) => `${csrName(Number(z(f.csr)))} ${hex(z(f.old))} -> ${hex(z(f.new))}${p.who && p.who !== 'insn' ? ` (${String(p.who)})` : ''}`,
});

const SBI_CALL = kind({
  kind: 'sbi_call',
  summary: 'an SBI call handled by the built-in firmware or by the hypervisor (for a guest)',
  emittedBy: 'Recorder.sbiCall, from HartObserver.sbiCall (src/firmware/sbi.ts, src/hypervisor/sbi.ts)',
  pc: PC("the ecall's pc (mepc for the firmware, the guest's sepc for the hypervisor)"),
  priv: PRIV("the caller's privilege (payload caller)"),
  virt: VIRT("1 for a guest's call handled by the hypervisor, else V at the call (0)"),
  a: {
    name: 'eid', type: 'u64', meaning: 'the SBI extension id (a7)',
    view: [...withHex('eid', 'a'), reader(text('sbi_ext_name', 'sbi_ext_name(a)', 'eid'))],
  },
  b: { name: 'fid', type: 'u64', meaning: 'the SBI function id (a6)', view: [int('fid', 'b')] },
  c: { name: 'error', type: 'u64', meaning: 'a0 on return: the SBI error code (0 for calls that do not return: hart_stop, system reset, non-retentive suspend)', view: [int('error', 'c')] },
  payload: [
    { name: 'args', schema: { type: 'array', items: U64_SCHEMA, minItems: 6, maxItems: 6 }, required: true, meaning: 'a0..a5 at the ecall' },
    { name: 'value', schema: U64_SCHEMA, required: true, meaning: 'a1 on return (0 for calls that do not return)' },
    { name: 'handler', schema: { enum: ['firmware', 'hypervisor'] }, required: true, meaning: 'who handled it' },
    { name: 'caller', schema: PRIV_SCHEMA, required: true, meaning: "the caller's privilege" },
  ],
  view: { name: 'sbi_calls', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render(f, p) {
    const args = Array.isArray(p.args) ? (p.args as bigint[]).map((x) => hex(x)).join(', ') : '';
    const eid = z(f.eid);
    return `${SBI_EXT[Number(eid)] ?? hex(eid)} fid=${z(f.fid)} (${args}) -> error=${signed(z(f.error))} value=${typeof p.value === 'bigint' ? hex(p.value) : '-'}`;
  },
});

const MMIO = kind({
  kind: 'mmio',
  summary: 'a load or store reached a device (or a device the hypervisor emulates for a guest)',
  emittedBy: 'Recorder.mmio, from HartObserver.mmio (Hart loads/stores to devices, hypervisor vPLIC / vAPLIC / test device emulation, its own real PLIC / APLIC accesses)',
  pc: PC("the hart's pc at the access (for vplic / vtest, which the hypervisor emulates in HS-mode: its trap vector)"),
  priv: PRIV('the privilege at the access (HS for vplic / vtest)'),
  virt: VIRT('V at the access (0 for vplic / vtest)'),
  a: { name: 'address', type: 'u64', meaning: 'the physical address (for vplic / vtest: the guest physical address)', view: withHex('address', 'a') },
  b: { name: 'value', type: 'u64', meaning: 'the value read or written', view: withHex('value', 'b') },
  c: {
    name: 'access', type: 'int', meaning: 'the size in bytes (bits 0-7), | 0x100 for a write',
    view: [int('size', '(c & 255)'), int('write', '((c >> 8) & 1)')],
  },
  payload: [
    { name: 'device', schema: { type: 'string' }, required: true, meaning: 'device name (MmioDevice.name), e.g. uart, clint, plic, aplic-s, test; vplic, vaplic, vtest for the registers the hypervisor emulates' },
  ],
  view: { name: 'mmio', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render: (f, p) => {
    const c = z(f.access);
    return `${(c & 0x100n) ? 'write' : 'read '} ${String(p.device ?? '?')} ${hex(z(f.address))} size ${c & 0xffn} value=${hex(z(f.value))}`;
  },
});

const IRQ = kind({
  kind: 'irq',
  summary: "an interrupt-pending line of the hart changed level (a device's line into mip)",
  emittedBy: 'Recorder.irqLine, from HartObserver.irqLine (Hart.setIrqLine)',
  pc: PC("the hart's pc when the line changed"),
  priv: PRIV('the privilege then'),
  virt: VIRT('V then'),
  a: { name: 'bit', type: 'int', meaning: 'the mip bit (1 SSIP, 3 MSIP, 5 STIP, 7 MTIP, 9 SEIP, 11 MEIP)', view: [int('bit', 'a'), reader(text('irq_name', 'irq_name(a)', 'bit'))] },
  b: { name: 'level', type: 'int', meaning: '1 raised, 0 lowered', view: [int('level', 'b')] },
  c: null,
  payload: null,
  view: { name: 'interrupts', order: ['pc', 'priv', 'virt', 'a', 'b'] },
  render: (f) => `${IRQ_BITS[Number(z(f.bit))] ?? `bit ${z(f.bit)}`} ${f.level === 1n ? 'raised' : 'lowered'}`,
});

const HART_STATE = kind({
  kind: 'hart_state',
  summary: 'a hart changed HSM state through the built-in firmware',
  emittedBy: 'Recorder.hartState, from HartObserver.hartState (src/firmware/sbi.ts HSM)',
  pc: PC("the hart's pc at the change (a started hart: before it enters start_addr)"),
  priv: PRIV('the privilege then'),
  virt: VIRT('V then'),
  a: {
    name: 'state', type: 'int', meaning: '0 start (hart_start, on the started hart), 1 stop (hart_stop), 2 suspend (hart_suspend); 3 resume is reserved (not written: a resumed hart shows by running again)',
    view: [int('state_code', 'a'), { name: 'state', sql: `CASE a ${HART_STATES.map((s, i) => `WHEN ${i} THEN '${s}'`).join(' ')} END`, type: 'text', of: 'state_code' }],
  },
  b: null,
  c: null,
  payload: null,
  view: { name: 'hart_states', order: ['pc', 'priv', 'virt', 'a'] },
  render: (f) => HART_STATES[Number(z(f.state))] ?? `state ${z(f.state)}`,
});

const INPUT = kind({
  kind: 'input',
  summary: 'a console input byte was delivered to the guest (the UART, or the virtconsole with --console-input virtio)',
  emittedBy: 'Recorder.input, from Scheduler.onInputDelivered (RecordSession), at the round boundary where the byte reaches the UART or the virtconsole',
  vtime: 'the scheduler time of the delivery (the round start)',
  hart: 'always 0: hart 0 supplies pc / instret / priv / virt',
  pc: PC("hart 0's pc", 'pc', true),
  priv: { meaning: "hart 0's privilege", view: [reader(int('priv'))] },
  virt: VIRT("hart 0's V", true),
  a: { name: 'byte', type: 'int', meaning: 'the byte (also in the inputs table)', view: [int('byte', 'a')] },
  b: null,
  c: null,
  payload: null,
  view: { name: 'input_events', order: ['pc', 'priv', 'virt', 'a'] },
  render: (f) => {
    const ch = Number(z(f.byte));
    return `byte ${hex(z(f.byte))}${ch >= 0x20 && ch < 0x7f ? ` '${String.fromCharCode(ch)}'` : ''}`;
  },
});

const HALT = kind({
  kind: 'halt',
  summary: 'the machine halted: the last event of a complete trace',
  emittedBy: 'Recorder.halt, from RecordSession (a halt of the scheduler)',
  hart: 'the hart that was running (Machine.current)',
  pc: PC("that hart's pc"),
  priv: PRIV("that hart's privilege"),
  virt: VIRT("that hart's V", true),
  a: { name: 'exit_code', type: 'int', meaning: 'the process exit status (exit code & 0xff)', view: [int('exit_code', 'a')] },
  b: null,
  c: null,
  payload: [
    { name: 'kind', schema: { enum: [...HALT_KINDS] }, required: true, meaning: 'why the machine halted (HaltKind in src/board/machine.ts)' },
    { name: 'message', schema: { type: 'string' }, required: true, meaning: 'the one-line reason' },
  ],
  view: { name: 'halts', order: ['pc', 'priv', 'virt', 'a'] },
  render: (f, p) => `${String(p.kind ?? '?')} exit ${z(f.exit_code)}: ${String(p.message ?? '')}`,
});

/** What column c of a vm_exit holds, by reason. */
function vmExitDetail(reason: string, d: bigint): string {
  switch (reason) {
    case 'sbi_call': return ` ${SBI_EXT[Number(d)] ?? hex(d)}`;
    case 'mmio_load': case 'mmio_store': case 'guest_page_fault': return ` gpa=${hex(d)}`;
    case 'wfi': case 'virtual_instruction': return ` insn=${hex(d)}`;
    case 'exception': return ` cause ${d} (${EXCEPTION_NAMES[Number(d)] ?? 'unknown'})`;
    default: return '';
  }
}

const VM_EXIT_KIND = kind({
  kind: 'vm_exit',
  summary: 'the built-in hypervisor handled a VM exit (a trap from a guest into HS-mode), or a VM stopped',
  emittedBy: 'Recorder.vmExit, from HartObserver.vmExit (src/hypervisor/vm.ts)',
  pc: PC("the guest's pc at the exit (the vCPU's sepc; 0 for a VM stop without a vCPU)", 'guest_pc'),
  priv: PRIV("the hart's privilege (HS: 1)"),
  virt: VIRT('0: the hypervisor reports it with V = 0'),
  a: {
    name: 'reason', type: 'int', meaning: `the reason code (VM_EXIT in src/hypervisor/exits.ts: ${VM_EXIT_REASON_LIST.map((r) => `${VM_EXIT[r as keyof typeof VM_EXIT]} ${r}`).join(', ')})`,
    view: [int('reason', 'a'), reader(text('reason_name', 'reason_name(a)', 'reason'))],
  },
  b: { name: 'vcpu', type: 'int', meaning: 'the vCPU', nullWhen: 'a VM stop without a vCPU', view: [int('vcpu', 'b')] },
  c: {
    name: 'detail', type: 'u64', meaning: 'by reason: the SBI extension id, the faulting GPA, the instruction bits or the cause; 0 for a VM stop',
    view: withHex('detail', 'c', true),
  },
  payload: [
    { name: 'reason', schema: { enum: VM_EXIT_REASON_LIST }, required: true, meaning: 'name of the reason code in column a (src/hypervisor/exits.ts)' },
    { name: 'vm', schema: { type: 'integer', minimum: 0 }, required: true, meaning: 'the VM' },
    { name: 'cause', schema: { type: 'integer' }, required: true, meaning: 'scause of the trap (bit 63 = interrupt); 0 for a VM stop' },
    { name: 'message', schema: { type: 'string' }, required: false, meaning: 'why the VM stopped' },
  ],
  view: { name: 'vm_exits', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render(f, p) {
    const a = z(f.reason);
    const reason = typeof p.reason === 'string' ? p.reason : VM_EXIT_REASONS[Number(a)] ?? `reason ${a}`;
    const who = `vm ${typeof p.vm === 'number' ? p.vm : '?'}${f.vcpu === null ? '' : ` vcpu ${f.vcpu}`}`;
    return `${who}: ${reason}${vmExitDetail(reason, z(f.detail))}${typeof p.message === 'string' ? `: ${p.message}` : ''}`;
  },
});

const VM_ENTRY = kind({
  kind: 'vm_entry',
  summary: 'the built-in hypervisor is about to enter a vCPU (sret into the guest)',
  emittedBy: 'Recorder.vmEntry, from HartObserver.vmEntry (src/hypervisor/percpu.ts)',
  pc: PC('where the vCPU resumes', 'guest_pc'),
  priv: PRIV("the hart's privilege (HS: 1)"),
  virt: VIRT('0 (the entry is reported before the sret)'),
  a: { name: 'vcpu', type: 'int', meaning: 'the vCPU', view: [int('vcpu', 'a')] },
  b: { name: 'vm', type: 'int', meaning: 'the VM', view: [reader(int('vm', 'b'))] },
  c: null,
  payload: null,
  view: { name: 'vm_entries', order: ['pc', 'priv', 'virt', 'a', 'b'] },
  render: (f) => `vm ${z(f.vm)} vcpu ${z(f.vcpu)}`,
});

/** The interrupt file an msi event reached (column b). */
const msiFile = (b: bigint): string => (b === 0n ? 'M file' : b === 1n ? 'S file' : `guest file ${b - 1n}`);

const MSI = kind({
  kind: 'msi',
  summary: 'an MSI reached an IMSIC interrupt file (--aia aplic-imsic): a store by a hart to seteipnum_le, or an APLIC in MSI mode forwarding a source or a genmsi write',
  emittedBy: 'Recorder.msi, from HartObserver.msi (src/board/machine.ts, the IMSICs\' event sink)',
  pc: PC("the pc of the hart whose store or APLIC access sent it"),
  priv: PRIV('that hart\'s privilege'),
  virt: VIRT('V then'),
  a: { name: 'target', type: 'int', meaning: 'the hart whose IMSIC received it', view: [int('target', 'a')] },
  b: { name: 'file', type: 'int', meaning: 'the interrupt file: 0 the M-level file, 1 the S-level file, 1 + g guest file g', view: [int('file', 'b')] },
  c: { name: 'eiid', type: 'int', meaning: 'the identity written (0 and identities above 255 are ignored by the file)', view: [int('eiid', 'c')] },
  payload: null,
  view: { name: 'msis', order: ['pc', 'priv', 'virt', 'a', 'b', 'c'] },
  render: (f) => `MSI ${z(f.eiid)} -> hart ${z(f.target)} ${msiFile(z(f.file))}`,
});

/**
 * The event kinds, in kind-code order (KIND_CODE = index; hashed into digests: append only).
 * Each entry's generic parameters pin its field names for its render function; the list's
 * element type forgets them.
 */
export const EVENT_KIND_TABLE = [
  TRAP, TRAP_RETURN, CSR_WRITE, SBI_CALL, MMIO, IRQ, HART_STATE, INPUT, HALT, VM_EXIT_KIND, VM_ENTRY, MSI,
] as const;

export type EventKind = (typeof EVENT_KIND_TABLE)[number]['kind'];

/** Any entry, with its field names forgotten. */
export type AnyKindSpec = KindSpec<EventKind, string, string, string>;

/** The entry of each kind. */
export const KIND_SPEC: Readonly<Record<EventKind, AnyKindSpec>> = Object.freeze(
  Object.fromEntries(EVENT_KIND_TABLE.map((s) => [s.kind, s as unknown as AnyKindSpec])) as Record<EventKind, AnyKindSpec>,
);

// ---------------------------------------------------------------------------------------------
// what the entries drive
// ---------------------------------------------------------------------------------------------

const SLOTS = ['a', 'b', 'c'] as const;

/** The kind's field name of storage column a, b or c (null: the kind does not use it). */
export function fieldName(kind: EventKind, slot: 'a' | 'b' | 'c'): string | null {
  return KIND_SPEC[kind][slot]?.name ?? null;
}

/** An event's a/b/c under its kind's field names (columns it does not use left out). */
export function namedFields(e: TraceEvent): Record<string, bigint | null> {
  const s = KIND_SPEC[e.kind];
  const out: Record<string, bigint | null> = {};
  if (!s) return out;
  for (const k of SLOTS) {
    const f = s[k];
    if (f) out[f.name] = e[k];
  }
  return out;
}

/** The one-line text of an event of a known kind (describe.ts describeEvent); null for another kind. */
export function renderEvent(e: TraceEvent, hs: boolean): string | null {
  const s = KIND_SPEC[e.kind];
  if (!s) return null;
  return s.render(namedFields(e), (e.payload ?? {}) as Record<string, unknown>, hs);
}

/**
 * A kind's view columns in groups (seq..instret, then a group per slot in `view.order`, then the
 * payload), all of them (`reader`: the TEMP views `hvtrace query` creates) or the stored ones.
 */
export function viewGroups(s: AnyKindSpec, which: 'stored' | 'reader'): ViewColumn[][] {
  const keep = (c: ViewColumn): boolean => which === 'reader' || !c.readerOnly;
  const groups: ViewColumn[][] = [['seq', 'vtime', 'hart', 'instret'].map((n) => int(n))];
  for (const slot of s.view.order) {
    const g = (s[slot]?.view ?? []).filter(keep);
    if (g.length) groups.push(g);
  }
  if (s.payload) groups.push([{ name: 'payload', sql: 'payload', type: 'blob' } as ViewColumn, reader({ name: 'payload_json', sql: 'payload_json(payload)', type: 'text', of: 'payload' })].filter(keep));
  return groups;
}

/** A kind's view columns, in order. */
export function viewColumns(s: AnyKindSpec, which: 'stored' | 'reader'): ViewColumn[] {
  return viewGroups(s, which).flat();
}
