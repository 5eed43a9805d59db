/**
 * How `hvtrace events` names an event: the one-line text after the common columns, and the
 * privilege names. Shared by every reader (events, replay, the divergence report, the gdb stub's
 * monitor commands), so an event reads the same wherever it is shown. The text of each kind is
 * its `render` in src/trace/event-kinds.ts.
 */
import { toJson } from './store.js';
import { PRIV_NAMES, type TraceEvent } from './model.js';
import { renderEvent } from './event-kinds.js';

const hex = (v: bigint | number): string => `0x${(typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16)}`;

/**
 * `M`, `S`, `U`; with V = 1 `VS`, `VU` (H extension). `hs`: the trace runs guests of the built-in
 * hypervisor (the H extension in use): S with V = 0 is then `HS`, as the trap arrows name it.
 */
export function privName(priv: number, virt: boolean, hs = false): string {
  if (hs && !virt && priv === 1) return 'HS';
  return `${virt ? 'V' : ''}${PRIV_NAMES[priv] ?? priv}`;
}

/**
 * One-line description of what an event says (without the common columns). `hs`: the trace runs
 * guests of the built-in hypervisor, so S with V = 0 is named `HS` in every trap arrow, as in the
 * privilege column (privName). A kind this build does not know (a newer trace) shows its raw
 * columns.
 */
export function describeEvent(e: TraceEvent, hs = false): string {
  return renderEvent(e, hs)
    ?? `a=${e.a === null ? '-' : hex(e.a)} b=${e.b === null ? '-' : hex(e.b)} c=${e.c === null ? '-' : hex(e.c)}${e.payload ? ` ${toJson(e.payload)}` : ''}`;
}
