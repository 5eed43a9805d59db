/**
 * How `hvtrace events` names an event: the one-line text after the common columns, and the
 * privilege names. Shared by every reader (events, replay, the divergence report, the gdb stub's
 * monitor commands), so an event reads the same wherever it is shown.
 */
import { toJson } from './store.js';
import { PRIV_NAMES, type TraceEvent } from './model.js';
import { csrName } from '../isa/disasm.js';
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../hart/constants.js';
import { SBI_EXT, IRQ_BITS, VM_EXIT_REASONS } from './names.js';

const hex = (v: bigint | number): string => `0x${(typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16)}`;

const STATES = ['start', 'stop', 'suspend', 'resume'];
const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * `M`, `S`, `U`; with V = 1 `VS`, `VU` (H extension). `hs`: the trace runs guests of the built-in
 * hypervisor (the H extension in use): S with V = 0 is then `HS`, as the trap arrows name it.
 */
export function privName(priv: number, virt: boolean, hs = false): string {
  if (hs && !virt && priv === 1) return 'HS';
  return `${virt ? 'V' : ''}${PRIV_NAMES[priv] ?? priv}`;
}

/**
 * The privileges of a trap / trap return. When V is involved (payload fromVirt / toVirt), S with
 * V = 0 is the hypervisor's: `HS`, and V = 1 gives `VS` / `VU`.
 */
function transition(p: Record<string, unknown>, to: number): string {
  const v = 'fromVirt' in p || 'toVirt' in p;
  const n = (x: unknown, virt: unknown): string => {
    if (typeof x !== 'number') return '?';
    if (virt === true) return privName(x, true);
    return v && x === 1 ? 'HS' : PRIV_NAMES[x] ?? String(x);
  };
  return `[${n(p.from, p.fromVirt)}->${n(to, p.toVirt)}]`;
}

function vmExitText(a: bigint, b: bigint | null, c: bigint | null, p: Record<string, unknown>): string {
  const reason = typeof p.reason === 'string' ? p.reason : VM_EXIT_REASONS[Number(a)] ?? `reason ${a}`;
  const who = `vm ${typeof p.vm === 'number' ? p.vm : '?'}${b === null ? '' : ` vcpu ${b}`}`;
  const d = c ?? 0n;
  let detail = '';
  switch (reason) {
    case 'sbi_call': detail = ` ${SBI_EXT[Number(d)] ?? hex(d)}`; break;
    case 'mmio_load': case 'mmio_store': case 'guest_page_fault': detail = ` gpa=${hex(d)}`; break;
    case 'wfi': case 'virtual_instruction': detail = ` insn=${hex(d)}`; break;
    case 'exception': detail = ` cause ${d} (${EXCEPTION_NAMES[Number(d)] ?? 'unknown'})`; break;
    default: break;
  }
  return `${who}: ${reason}${detail}${typeof p.message === 'string' ? `: ${p.message}` : ''}`;
}

/**
 * One-line description of what an event says (without the common columns). `hs`: the trace runs
 * guests of the built-in hypervisor, so S with V = 0 is named `HS` in every trap arrow, as in the
 * privilege column (privName).
 */
export function describeEvent(e: TraceEvent, hs = false): string {
  const a = e.a ?? 0n, b = e.b ?? 0n, c = e.c ?? 0n;
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const pn = (v: unknown): string => (typeof v === 'number' ? privName(v, false, hs) : '?');
  switch (e.kind) {
    case 'trap': {
      const intr = (a >> 63n) === 1n;
      const cause = Number(a & 0x7fffffffffffffffn);
      const name = (intr ? INTERRUPT_NAMES : EXCEPTION_NAMES)[cause] ?? 'unknown';
      return `${intr ? 'interrupt' : 'exception'} ${cause} (${name}) tval=${hex(b)} -> ${hex(c)} ${'fromVirt' in p ? transition(p, Number(p.to)) : `[${pn(p.from)}->${pn(p.to)}]`}`;
    }
    case 'trap_return':
      return `${a === 0n ? 'mret' : 'sret'} -> ${hex(b)} ${'fromVirt' in p ? transition(p, Number(c)) : `[${pn(p.from)}->${pn(Number(c))}]`}`;
    case 'csr_write':
      return `${csrName(Number(a))} ${hex(b)} -> ${hex(c)}${p.who && p.who !== 'insn' ? ` (${String(p.who)})` : ''}`;
    case 'sbi_call': {
      const args = Array.isArray(p.args) ? (p.args as bigint[]).map((x) => hex(x)).join(', ') : '';
      const ext = SBI_EXT[Number(a)] ?? hex(a);
      return `${ext} fid=${b} (${args}) -> error=${signed(c)} value=${typeof p.value === 'bigint' ? hex(p.value) : '-'}`;
    }
    case 'mmio':
      return `${(c & 0x100n) ? 'write' : 'read '} ${String(p.device ?? '?')} ${hex(a)} size ${c & 0xffn} value=${hex(b)}`;
    case 'irq':
      return `${IRQ_BITS[Number(a)] ?? `bit ${a}`} ${b === 1n ? 'raised' : 'lowered'}`;
    case 'hart_state':
      return STATES[Number(a)] ?? `state ${a}`;
    case 'input': {
      const ch = Number(a);
      return `byte ${hex(a)}${ch >= 0x20 && ch < 0x7f ? ` '${String.fromCharCode(ch)}'` : ''}`;
    }
    case 'halt':
      return `${String(p.kind ?? '?')} exit ${a}: ${String(p.message ?? '')}`;
    case 'vm_exit':
      return vmExitText(a, e.b, e.c, p);
    case 'vm_entry':
      return `vm ${b} vcpu ${a}`;
    default:
      return `a=${e.a === null ? '-' : hex(e.a)} b=${e.b === null ? '-' : hex(e.b)} c=${e.c === null ? '-' : hex(e.c)}${e.payload ? ` ${toJson(e.payload)}` : ''}`;
  }
}

