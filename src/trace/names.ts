/**
 * Names for the numbers stored in a trace's events (CSR numbers, trap causes, SBI extensions, VM
 * exit reasons, interrupt bits), shared by `events` and by the SQL functions of a reader's
 * connection (TraceReader: csr_name(), cause_name(), sbi_ext_name(), reason_name(), irq_name(),
 * priv_name()) that the human views of `hvtrace query` use (schemas/trace.sql, "@reader").
 */
import { csrName } from '../isa/disasm.js';
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../hart/constants.js';
import { VM_EXIT_NAMES } from '../hypervisor/exits.js';

/**
 * Privilege levels by number (mstatus.MPP encoding; 2 is reserved). Defined here rather than in
 * model.ts (which re-exports it) so that the event-kind table (event-kinds.ts), which model.ts
 * reads, depends on no module that depends on it.
 */
export const PRIV_NAMES: readonly string[] = ['U', 'S', 'H', 'M'];

/** SBI extension IDs (and the legacy extensions' EIDs 0..8). */
export const SBI_EXT: Record<number, string> = {
  0x10: 'BASE', 0x54494d45: 'TIME', 0x735049: 'IPI', 0x52464e43: 'RFENCE', 0x48534d: 'HSM', 0x53525354: 'SRST',
  0x4442434e: 'DBCN', 0: 'legacy set_timer', 1: 'legacy putchar', 2: 'legacy getchar', 3: 'legacy clear_ipi',
  4: 'legacy send_ipi', 5: 'legacy fence_i', 6: 'legacy sfence_vma', 7: 'legacy sfence_vma_asid', 8: 'legacy shutdown',
};

/** Interrupt bits of mip / irq events. */
export const IRQ_BITS: Record<number, string> = { 1: 'SSIP', 3: 'MSIP', 5: 'STIP', 7: 'MTIP', 9: 'SEIP', 11: 'MEIP' };

/** VM exit reasons by code: the hypervisor's own table (src/hypervisor/exits.ts VM_EXIT). */
export const VM_EXIT_REASONS: Readonly<Record<number, string>> = VM_EXIT_NAMES;

/** A trap's cause name from its mcause/scause value (interrupt bit 63 included), e.g. 'fetch page fault'. */
export function causeName(cause: bigint): string {
  const u = BigInt.asUintN(64, cause);
  const intr = (u >> 63n) === 1n;
  const n = Number(u & 0x7fffffffffffffffn);
  return (intr ? INTERRUPT_NAMES : EXCEPTION_NAMES)[n] ?? `${intr ? 'interrupt' : 'exception'} ${n}`;
}

export { csrName };

type Fn = (...a: unknown[]) => unknown;
const asBig = (v: unknown): bigint | null => (typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null);

/** The SQL functions of a reader's connection: name -> implementation (NULL in, NULL out). */
export const SQL_NAME_FUNCTIONS: Record<string, Fn> = {
  csr_name: (v) => { const b = asBig(v); return b === null ? null : csrName(Number(BigInt.asUintN(12, b))); },
  cause_name: (v) => { const b = asBig(v); return b === null ? null : causeName(b); },
  sbi_ext_name: (v) => { const b = asBig(v); return b === null ? null : SBI_EXT[Number(BigInt.asUintN(64, b))] ?? null; },
  reason_name: (v) => { const b = asBig(v); return b === null ? null : VM_EXIT_REASONS[Number(b)] ?? null; },
  irq_name: (v) => { const b = asBig(v); return b === null ? null : IRQ_BITS[Number(b)] ?? `bit ${b}`; },
  priv_name: (p, v) => {
    const b = asBig(p);
    if (b === null) return null;
    return `${asBig(v) ? 'V' : ''}${PRIV_NAMES[Number(b)] ?? String(b)}`;
  },
};
