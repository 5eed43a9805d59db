/**
 * Replay and seek (DESIGN.md §3-4). This module is the API; it re-exports its parts: open.ts
 * (opening a trace for replay), code-view.ts (symbols and code of the machine), run.ts (ReplayRun:
 * the run that compares events), verify.ts (`replay` and its report), seek.ts (`seek`) and
 * hart-view.ts (a hart's state as seek shows it).
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
export {
  type ReplayOpenOptions, type SymbolOptions, type OpenedTrace, openForReplay,
} from './open.js';
export {
  CodeView, type DisasmLine,
} from './code-view.js';
export {
  type EmissionPoint, ReplayRun,
} from './run.js';
export {
  type ReplayOptions, type EventDivergenceInfo, type ReplayIssue, type ReplayReport, replay, replayOpened,
} from './verify.js';
export {
  type HartView, REGISTER_NAMES,
} from './hart-view.js';
export {
  type SeekPosition, parsePosition, resolveAddress, resolvePc, type SeekReport, type SeekOptions, seek, seekOpened,
} from './seek.js';
