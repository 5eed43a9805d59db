/**
 * The machine a gdb client debugs, as the remote-protocol stub (src/gdb/stub.ts) sees it.
 *
 * Two implementations: a replay of a trace (src/gdb/replay-target.ts: goes backwards as well as
 * forwards, refuses writes because they would make the run differ from the recording) and a live
 * machine (`hvtrace run --gdb`: forwards only, writes allowed).
 *
 * The stub owns the protocol (packets, register numbering in its target description, thread ids
 * = hart id + 1, `monitor phys`); the target owns the machine and the schedule. Everything here
 * is deterministic: a resume runs the same deterministic schedule the recording ran, cut at the
 * requested stop. `resume` is asynchronous only so that the stub can read a Ctrl-C (`\x03`) from
 * the socket while it runs: implementations run in chunks and poll `interrupted()` between them
 * (often enough that an interrupt is seen within 0.5 s).
 */

/** A register of one hart, independent of gdb's register numbers. */
export type RegRef =
  | { readonly kind: 'x'; readonly index: number } // x0..x31
  | { readonly kind: 'pc' }
  | { readonly kind: 'f'; readonly index: number } // f0..f31 (raw 64-bit, NaN-boxed singles as stored)
  | { readonly kind: 'csr'; readonly csr: number } // any implemented CSR, fflags/frm/fcsr included
  | { readonly kind: 'priv' }; // QEMU's virtual register: priv | V << 2 (U=0, S=1, M=3)

export interface CsrInfo {
  readonly name: string;
  readonly num: number;
}

export type HartRunState = 'running' | 'wfi' | 'stopped';

export interface HartStatus {
  readonly id: number;
  /** 'M' | 'HS' | 'S' | 'VS' | 'U' | 'VU' ('HS' when the hart has the H extension and V = 0). */
  readonly priv: string;
  readonly state: HartRunState;
}

/** gdb's Z-packet types: 0 sw, 1 hw breakpoint, 2 write, 3 read, 4 access watchpoint. */
export type BreakKind = 'sw' | 'hw' | 'write' | 'read' | 'access';

export interface ResumeRequest {
  readonly direction: 'forward' | 'reverse';
  /**
   * 'step': advance (or go back) until `hart` retires one instruction; a trap taken by that hart
   * counts as a step that lands on its handler. 'continue': run until a breakpoint or watchpoint,
   * the end (or start) of the recording, a halt, or an interrupt.
   */
  readonly mode: 'step' | 'continue';
  /** The hart being stepped (for 'continue': the selected thread, reported if nothing else stops). */
  readonly hart: number;
}

export interface StopEvent {
  /** The hart to report as the stopping thread. */
  readonly hart: number;
  readonly reason:
    | 'step' // a step completed
    | 'breakpoint' // a Z0/Z1 breakpoint: the hart is about to execute the instruction there
    | 'watchpoint' // a Z2/Z3/Z4 watchpoint: stopped after the accessing instruction
    | 'interrupted' // Ctrl-C
    | 'begin' // reverse execution reached the start of the recording (replaylog:begin)
    | 'end' // forward execution reached the end of the recording (replaylog:end)
    | 'halted'; // the machine halted (live run: poweroff, fatal): the process' exit
  readonly watch?: { readonly kind: 'write' | 'read' | 'access'; readonly addr: bigint };
  readonly halt?: { readonly exitCode: number; readonly message: string };
}

export class DebugError extends Error {}

export interface DebugTarget {
  readonly kind: 'replay' | 'run';
  readonly hartCount: number;
  /** Whether the harts have F/D (the target description's .fpu feature). */
  readonly hasFpu: boolean;
  /** Every CSR the harts implement (H CSRs included when the machine has the H extension). */
  readonly csrs: readonly CsrInfo[];
  hartStatus(hart: number): HartStatus;
  /** null: the register does not exist / cannot be read. */
  readReg(hart: number, reg: RegRef): bigint | null;
  /** Throws DebugError with a user-facing message when refused (always in replay). */
  writeReg(hart: number, reg: RegRef, value: bigint): void;
  /**
   * Memory as `hart` sees it now (its MMU, both stages while V = 1) or physical addresses.
   * null when any byte is unmapped or would fault. Never changes machine state (no A/D bits,
   * no TLB fills the guest could observe, no device side effects: MMIO reads answer null).
   */
  readMemory(hart: number, addr: bigint, length: number, physical: boolean): Uint8Array | null;
  /** Throws DebugError when refused (always in replay); false when an address faults. */
  writeMemory(hart: number, addr: bigint, data: Uint8Array, physical: boolean): boolean;
  /** false: unsupported kind/length. */
  insertBreak(kind: BreakKind, addr: bigint, length: number): boolean;
  removeBreak(kind: BreakKind, addr: bigint, length: number): boolean;
  /** Run; poll `interrupted()` at least every ~100 ms of work. */
  resume(req: ResumeRequest, interrupted: () => boolean): Promise<StopEvent>;
  /**
   * `monitor` commands other than `phys on|off` (which the stub handles): `when`, `seek POS`,
   * `events [N]`, `checkpoint`, `restart N`, `help`. Returns the text to print (newline-ended);
   * throws DebugError for a bad command. After `seek`/`restart` the stub reports the new position
   * through `currentHart()`.
   */
  monitor(command: string, interrupted: () => boolean): Promise<string>;
  /** The hart the last stop was on (the thread gdb should select after attaching / a seek). */
  currentHart(): number;
  close(): void;
}
