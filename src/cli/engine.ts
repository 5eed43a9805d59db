/**
 * Engine settings taken from the environment. Environment variables are read here, in src/cli/,
 * and nowhere below it (test/layering-env.test.ts): the core gets them as explicit settings.
 *
 *   HVTRACE_TIER=interp|js|wasm  the execution tier: interpreter only, `new Function` blocks, or
 *                    the wasm translator (the default; machines over 2 GiB of RAM run js, which
 *                    addresses any size). Results are identical on every tier.
 *   HVTRACE_JIT=0    the same as HVTRACE_TIER=interp (when HVTRACE_TIER is not set)
 *   HVTRACE_JIT_HOT=N  executions before code is translated (default: the tier's own; the wasm
 *                    tier counts a loop's head 4 times per entry, Jit.loopWeight; tests use a
 *                    low value to translate nearly everything)
 *   HVTRACE_WASM_MAX_UNITS=N  the wasm tier's live units at most (default: its own); past it,
 *                    it evicts (src/hart/jit.ts)
 *   HVTRACE_WASM_BATCH=K[:W]  the wasm tier compiles hot regions K to a module, or when a
 *                    queued one was entered W more times (default: its own; src/hart/jit.ts)
 *   HVTRACE_PRIME=0  no interpreter warm-up before the first machine (src/sched/primer.ts)
 *   HVTRACE_WASM_THREAD=0|1  the wasm tier compiles on the interpreter's thread (0, the default)
 *                    or on its compile thread (1; src/cli/compile-thread.ts; see configureEngine)
 *
 * All are performance switches only: nothing a guest sees depends on them.
 */
import { setDefaultJitHot, setDefaultMaxUnits, setDefaultTier, setDefaultWasmBatch, setDefaultWasmCompiler, TIERS, type Tier } from '../board/machine.js';
import { ThreadedWasmCompiler } from './compile-thread.js';
import { setFlagsFromString } from 'node:v8';
import { primeInterpreter } from '../sched/primer.js';

/**
 * V8's budget for tiering a wasm function up from Liftoff to TurboFan (its --wasm-tiering-budget,
 * "a rough approximation of bytes executed"; V8 11.3's default is 1,800,000), raised for the wasm
 * tier. At the default, V8 re-compiles most of the Linux boot's ~300 units with TurboFan on
 * background threads although each runs only thousands of times, and the process then also waits
 * for those compiles at exit. Measured on a quiet 2-core host, `run` of the bundled Linux, 5
 * interleaved pairs, wall / user CPU: default 1.95-2.12 s / 2.54-2.74 s, 100,000,000
 * 1.83-1.89 s / 2.19-2.29 s; the compute bench and the 550M loop, whose loops run millions of
 * times, tier up as before (3 interleaved rounds: compute 458-528 vs 515-544 MIPS, loop
 * 1,947-2,015 vs 1,911-2,188 MIPS). --liftoff-only was as good on Linux (1.74-1.87 s) but cost
 * the loop a quarter (1,415-1,541 MIPS). Raised again to 1,000,000,000: at 100,000,000 the Linux
 * boot still tiered up 12 units (--trace-wasm-compilation-times: ~450 ms of background TurboFan,
 * one 8 KiB-body unit alone 141 ms, for code that then ran a few thousand more times), the
 * compute bench 26; now 0 and 12 (the compute bench's and the 550M loop's hot loops still tier up
 * within their first ~10M instructions). Fresh processes, 5 alternating pairs on a host loaded
 * ~3x its 2 cores, median main-thread / all-thread CPU (/proc/self/task): Linux 2.22 / 3.52 s ->
 * 2.21 / 3.33 s, compute 0.89 / 1.56 s -> 0.83 / 1.36 s, loop 0.49 / 0.63 s -> 0.49 / 0.61 s. The
 * background CPU matters on a 2-core host: `record`'s writer thread needs the other core.
 * A V8 setting: it changes speed only.
 */
const WASM_TIERING_BUDGET = 1_000_000_000;

export interface EngineSettings {
  /** Execution tier for machines whose configuration does not say. */
  readonly tier: Tier;
  /** Translation threshold (undefined: the tier's default). */
  readonly jitHot?: number;
  /** The wasm tier's unit cap (undefined: its default). */
  readonly maxUnits?: number;
  /** The wasm tier's batch size and wait (undefined: its defaults). */
  readonly wasmBatch?: readonly [number, number | undefined];
  /** Warm the interpreter up (once per process) before the first machine runs. */
  readonly prime: boolean;
  /** The wasm tier compiles on its compile thread (compile-thread.ts) rather than in place,
   * the default (configureEngine). */
  readonly wasmThread?: boolean;
}

export function engineSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const t = env['HVTRACE_TIER'];
  let tier: Tier = env['HVTRACE_JIT'] === '0' ? 'interp' : 'wasm';
  if (t !== undefined && t !== '') {
    if (!(TIERS as readonly string[]).includes(t)) throw new Error(`HVTRACE_TIER must be one of ${TIERS.join(', ')} (got '${t}')`);
    tier = t as Tier;
  }
  const h = env['HVTRACE_JIT_HOT'];
  let jitHot: number | undefined;
  if (h !== undefined && h !== '') {
    jitHot = Number(h);
    if (!Number.isSafeInteger(jitHot) || jitHot < 1 || jitHot > 2 ** 30) throw new Error(`HVTRACE_JIT_HOT must be a positive integer (got '${h}')`);
  }
  const u = env['HVTRACE_WASM_MAX_UNITS'];
  let maxUnits: number | undefined;
  if (u !== undefined && u !== '') {
    maxUnits = Number(u);
    if (!Number.isSafeInteger(maxUnits) || maxUnits < 1 || maxUnits > 65536) throw new Error(`HVTRACE_WASM_MAX_UNITS must be an integer in 1..65536 (got '${u}')`);
  }
  const wb = env['HVTRACE_WASM_BATCH'];
  let wasmBatch: [number, number | undefined] | undefined;
  if (wb !== undefined && wb !== '') {
    const m = /^(\d+)(?::(\d+))?$/.exec(wb);
    const k = m ? Number(m[1]) : NaN, w = m?.[2] !== undefined ? Number(m[2]) : undefined;
    if (!(k >= 1 && k <= 4096 && (w === undefined || w <= 2 ** 30))) throw new Error(`HVTRACE_WASM_BATCH must be K or K:W, K in 1..4096 (got '${wb}')`);
    wasmBatch = [k, w];
  }
  return {
    tier, prime: env['HVTRACE_PRIME'] !== '0', ...(env['HVTRACE_WASM_THREAD'] === '0' ? { wasmThread: false } : env['HVTRACE_WASM_THREAD'] === '1' ? { wasmThread: true } : {}), ...(jitHot !== undefined ? { jitHot } : {}), ...(maxUnits !== undefined ? { maxUnits } : {}),
    ...(wasmBatch !== undefined ? { wasmBatch } : {}),
  };
}

/**
 * The tier default, before a command builds machines (run, record, replay; their gdb forms).
 * The wasm tier compiles on its compile thread only with HVTRACE_WASM_THREAD=1. Measured on the 2-core host (bundled command, alternating fresh
 * processes): the Linux boot's `run` gains a little (median wall 1,465 -> 1,431 ms, 6 pairs; its
 * interpreter thread 1.38 -> 1.30 s of CPU), but `record` loses (1,941 -> 2,019 ms, 5 pairs: its
 * trace writer needs the second core) and so does the compute bench (4 pairs: 769-861 ms in
 * place against 879-929 ms on the thread, with the same hit rate, ~99 %; the 550M loop 2.47 ->
 * 2.25 GIPS). A host with more cores is where it should pay; not measured here.
 */
export function configureEngine(s: EngineSettings = engineSettingsFromEnv()): void {
  if (s.tier === 'wasm') setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
  // No on-stack replacement. The primer gets Hart.loop marked for TurboFan, but the compile
  // (70-250 ms) is still running when the real machine starts; the loop activation running then
  // (a 10,000-instruction quantum) stays in baseline code when the optimized code arrives, so V8
  // compiled the loop a second time for OSR (--trace-opt: 145-340 ms more of background compile,
  // for code the next quantum's call no longer needed). Every hot function here is called again
  // and again (a quantum, a batch, a region), so a new call picks up the optimized code. Quiet
  // host, 6 alternating fresh processes, median wall: Linux run 1,463 -> 1,435 ms (all-thread
  // CPU 1.82 -> 1.75 s), record 2,043 -> 2,010 ms, compute bench 840 -> 827 ms, loop unchanged.
  setFlagsFromString('--no-use-osr');
  setDefaultTier(s.tier);
  setDefaultJitHot(s.jitHot);
  setDefaultMaxUnits(s.maxUnits);
  setDefaultWasmBatch(s.wasmBatch);
  // The compile thread starts now, beside the command's own start-up (the primer compiles in
  // place: it primes the interpreter thread's side of the tier).
  const threaded = s.tier === 'wasm' && s.wasmThread === true;
  if (threaded && compiler === null) compiler = new ThreadedWasmCompiler();
  setDefaultWasmCompiler(threaded ? compiler : null);
}
let compiler: ThreadedWasmCompiler | null = null;

/**
 * The interpreter warm-up (src/sched/primer.ts), once per process, right before the first real
 * machine runs: it gives V8 the interpreter's type feedback so that a first Linux boot in a
 * process does not deoptimize its loop again and again (~70-90 ms; measured in primer.ts). Called
 * after the command's input was checked, so a usage error does not pay for it.
 *
 * Re-measured (issue 17, loaded 2-core host, `run` of the bundled Linux, 5 interleaved runs each):
 * wall / CPU median 6.9 s / 3.0 s primed vs 9.0 s / 4.1 s with HVTRACE_PRIME=0: it still pays.
 * It costs a trivial guest (hello.elf) ~40-100 ms. Not the primer's doing, but seen at the end of
 * every short run: the process waits ~60 ms (quiet host) to 300 ms (loaded) after the guest halts
 * for V8's concurrent TurboFan compile of Hart.loop to finish (Node drains V8's worker tasks
 * before exit, process.exit too). Hello's 5,006 instructions make that loop hot with or without
 * the primer (its huge body spends V8's interrupt budget in a few iterations).
 */
export function warmUpEngine(s: EngineSettings = engineSettingsFromEnv()): void {
  if (s.prime) primeInterpreter();
}
