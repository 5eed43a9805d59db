/**
 * The wasm tier's tuning parameters (tier.ts), with the measurements behind them. They change
 * speed only: every value gives the same results (test/wasm-tier.test.ts, test/wasm-batch.test.ts).
 */

/**
 * Executions of an entry point before its region is compiled (HVTRACE_JIT_HOT). Measured with
 * batch compilation (DEFAULT_WASM_BATCH; scripts/bench-ab.mjs, CPU time of the whole process,
 * in one process, loaded 2-core host), B/A CPU against A = the previous build (one module per
 * unit) at its threshold 16000; Linux boot (hit rate) / compute bench:
 *
 *   threshold  Linux            compute   units (Linux)
 *   16000      0.99 (22.4 %)    0.99      17
 *    8000      1.05 (27.9 %)    0.93 *    35
 *    4000      1.09 (35.4 %)    0.84      126
 *    2000      1.10 (48.8 %)    0.69      298
 *    1000      1.27 (60.1 %)    0.58      364      (* against this build at 16000)
 *
 * With REGION_HOT = 0.5, this build at 2000 against the previous at 16000: Linux 1.20, 1.21
 * (hit rate 47.7 %, 334 units in ~60 modules), compute 0.87-0.90 (and 0.5 against 0 at 2000:
 * Linux 0.89, compute 0.98 and 0.86). The Linux boot's main-thread CPU is the same (1.39-1.45 s
 * against 1.45-1.47 s; /proc/self/task/PID/stat): what the lower threshold adds is V8's
 * background TurboFan tier-up of the units (process CPU 2.6-2.7 s against 2.2 s; with
 * --liftoff-only, 2000 against 16000 is 1.0x on Linux), which an idle multi-core host runs
 * beside the boot, while the compute bench (297M instructions) gains from compiling its loops
 * earlier. Rebased on main (80e8c89) against it: Linux 1.11, 1.10 (main thread 1.21-1.25 s
 * against 1.27-1.29 s), compute 0.65, 0.70. Block starts of the boot entered >= N times cover 87 % of its instructions at
 * N = 1000, 84 % at 2000, 54 % at 4000, 31 % at 16000 (the rest is entered fewer times).
 */
export const DEFAULT_WASM_HOT = 8000;
/**
 * What an entry reached by a taken backward branch or jump adds to its count (Jit.loopWeight;
 * 1 for any other entry): a loop's head turns hot after DEFAULT_WASM_HOT / this entries (2000,
 * the threshold's value before), other code after 8000. Measured once the interpreter had got
 * ~10-25 % faster (issue 17, session 12: the loop's pc chain and npc boxing), when an
 * interpreter-only Linux boot had become ~8 % faster than the wasm tier at 2000: B against A =
 * 2000 / 1, each pair run at the same time on the two cores and swapped (core-balanced median of
 * 3 geometric means of pairs; the host drifted 2x during the session), Linux boot / compute bench:
 *
 *   threshold / weight   Linux    compute   Linux units, hit rate
 *    8000 / 1            0.943    1.033
 *   32000 / 1            0.966    1.169
 *    6000 / 3            0.968    1.004
 *    8000 / 4            0.964    1.001     163, 39.2 % (2000 / 1: 357, 48.3 %)
 *   16000 / 8            0.956    1.009     152, 38.3 %
 *
 * Loops are where compiling pays first (they repeat); straight-line code entered a few thousand
 * times often stops running before its unit has paid for its compilation.
 */
export const DEFAULT_WASM_LOOP_WEIGHT = 4;
/**
 * The threshold when a compile thread compiles (src/cli/compile-thread.ts): code generation and
 * WebAssembly.Module leave the interpreter's thread, which keeps forming the regions (~20-45 ms
 * of the Linux boot) and instantiating the modules (~10-20 ms). Linux boot, one run each (host
 * loaded), hit rate / interpreter-thread translation ms / compile-thread ms: 2000 45.2 % / 21+9 /
 * 259; 1000 57.5 % / 30+11 / 263; 500 63.5 % / 46+20 / 400 (in place: 48.3, 59.5, 67.2 %).
 */
export const DEFAULT_WASM_HOT_THREADED = 4000; // measured as 1000 before the loop weight (loops: 1000 entries, as then); not re-measured
/**
 * Live units at most (Jit.maxUnits; HVTRACE_WASM_MAX_UNITS); past it the oldest is evicted
 * (Jit.evict, where the policy's measurements are). v86 keeps about 900 modules. The Linux
 * boot compiles ~300 units at the default threshold (17 at 16000), so this cap only bounds the
 * memory of long runs with large code footprints. A module stays alive while any of its
 * units is in the table: at most DEFAULT_WASM_BATCH times this many units' code.
 */
export const DEFAULT_WASM_MAX_UNITS = 1024;
/**
 * Batch compilation (Jit.batchSize, batchWait; HVTRACE_WASM_BATCH=K:W): hot regions are
 * compiled K to a module, or when a queued one was entered another W times (default: this
 * fraction of the threshold). `new WebAssembly.Module` costs ~200 us however small the module,
 * a function ~8 us. Linux boot at threshold 1000, CPU in translation (code generation +
 * WebAssembly.Module + instantiation): one module per unit 1236 ms (365 modules), 16 per module
 * (wait 2000 lookups) 1014 ms (149), 64 per module 580 ms (64); at 2000, 16 per module with a
 * wait of a quarter of the threshold: 298 units in 50 modules. 64 per module at 2000: Linux
 * 1.125 against 1.102 for 16 (hit rate 48.5 against 48.8 %).
 */
export const DEFAULT_WASM_BATCH = 16;
export const DEFAULT_WASM_BATCH_WAIT = 0.25;
/** Blocks per region, instructions per block. */
export const MAX_BLOCKS = 48;
export const MAX_BLOCK_INSNS = 128;
/**
 * A block joins a region when it was entered at least this fraction of the threshold (the
 * entry itself always). Linux boot at 2000: every block entered once (the rule before) 926 KiB
 * of wasm for 8463 instructions, 48.8 % hit rate, process CPU 3.77 s; 0.125: 683 KiB, 48.3 %,
 * 3.39 s; 0.5: 653 KiB, 47.7 %, 3.26 s (main thread 1.69-1.74 s all three); bench-ab of 0 against
 * 0.5: Linux 1.12, compute 1.02 and 1.16.
 */
export const REGION_HOT = 0.5;
/*
 * Tried and not adopted (issue 17, measured on the Linux boot, which interprets 21.7M of its
 * 42.1M instructions at this policy): three changes that translate more of it, together (a) the
 * interpreter looks for a unit after SYSTEM / AMO instructions too (the code after a CSR access
 * or an AMO otherwise runs interpreted to the next branch: 1.19M instructions), (b) a region
 * takes the continuation of a block cut at MAX_BLOCK_INSNS whatever its count (the interpreter
 * never counts entries there: blake2s_compress_generic's ~2,000 straight-line instructions were
 * translated 128 at a time), (c) an interpreted stretch of n instructions adds n / 8 - 1 to its
 * entry's count (that one entry ran 4.9M instructions in ~2,500 entries). Hit rate 48.3 -> 58.5 %,
 * 6,022 -> 7,157 instructions translated. Quiet host, 6 alternating fresh processes: main-thread
 * CPU 1.35 -> 1.29 s, but all-thread CPU 1.79 -> 1.98 s and wall 1,446 -> 1,460 ms: the extra
 * translation makes V8 optimize the code generator (emitRegion, its closures inlined) with
 * TurboFan, ~190 ms of background compile (~570 ms on a loaded host), on the core `record`'s
 * writer needs. Worth trying again once emitRegion is cheap for TurboFan (smaller functions).
 */
