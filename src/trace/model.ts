/**
 * The trace event model (DESIGN.md §4). One event per architecturally interesting thing a hart
 * or the board does. Typed columns a/b/c hold what people query; the msgpack payload holds the
 * rest. 64-bit values are bigints (unsigned), stored as SQLite INTEGER (signed 64-bit
 * two's complement, read back with safe integers).
 *
 * Column use per kind:
 * | kind         | pc              | a                         | b            | c                      | payload                                  |
 * |--------------|-----------------|---------------------------|--------------|------------------------|------------------------------------------|
 * | trap         | epc             | cause (bit 63 = interrupt)| tval         | handler pc             | { from, to } privileges (+ htval, htinst)|
 * | trap_return  | pc of xRET      | 0 = mret, 1 = sret        | new pc       | new privilege          | { from }                                 |
 * | csr_write    | pc              | csr number                | old value    | new value              | { who: insn / firmware / hypervisor }    |
 * | sbi_call     | pc of ecall     | extension id              | function id  | error (a0 on return)   | { args[6], value, handler, caller }      |
 * | mmio         | pc              | physical address          | value        | size | (write ? 0x100:0)| { device }                               |
 * | irq          | pc              | mip bit                   | level (0/1)  |                        |                                          |
 * | hart_state   | pc              | 0 start 1 stop 2 suspend 3 resume |      |                        |                                          |
 * | input        | pc of hart 0    | byte                      |              |                        |                                          |
 * | halt         | pc              | exit code                 |              |                        | { kind, message }                        |
 * | vm_exit      | guest pc        | reason code               | vcpu         | detail                 | { reason, ... }                          |
 * | vm_entry     | guest pc        | vcpu                      |              |                        |                                          |
 */
export type EventKind =
  | 'trap' | 'trap_return' | 'csr_write' | 'sbi_call' | 'mmio' | 'irq' | 'hart_state'
  | 'input' | 'halt' | 'vm_exit' | 'vm_entry';

export const EVENT_KINDS: readonly EventKind[] = [
  'trap', 'trap_return', 'csr_write', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input', 'halt', 'vm_exit', 'vm_entry',
];

export interface TraceEvent {
  /** Global order of events in the run, from 0. */
  seq: number;
  /** Virtual time in instructions (the hart's own time for hart events). */
  vtime: number;
  hart: number;
  /** The hart's retired-instruction count at the event. */
  instret: number;
  pc: bigint;
  priv: number;
  virt: boolean;
  kind: EventKind;
  a: bigint | null;
  b: bigint | null;
  c: bigint | null;
  payload: Record<string, unknown> | null;
}
