/**
 * Engine settings taken from the environment. Environment variables are read here, in src/cli/,
 * and nowhere below it (test/layering-env.test.ts): the core gets them as explicit settings.
 *
 *   HVTRACE_JIT=0    machines run without the block translation tier (results are identical)
 *   HVTRACE_PRIME=0  no interpreter warm-up before the first machine (src/sched/primer.ts)
 *
 * Both are performance switches only: nothing a guest sees depends on them.
 */
import { setDefaultJit } from '../board/machine.js';
import { primeInterpreter } from '../sched/primer.js';

export interface EngineSettings {
  /** Block translation tier for machines whose configuration does not say. */
  readonly jit: boolean;
  /** Warm the interpreter up (once per process) before the first machine runs. */
  readonly prime: boolean;
}

export function engineSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineSettings {
  return { jit: env['HVTRACE_JIT'] !== '0', prime: env['HVTRACE_PRIME'] !== '0' };
}

/**
 * The JIT default, before a command builds machines (run, record, replay; their gdb forms).
 */
export function configureEngine(s: EngineSettings = engineSettingsFromEnv()): void {
  setDefaultJit(s.jit);
}

/**
 * The interpreter warm-up (src/sched/primer.ts), once per process, right before the first real
 * machine runs: it gives V8 the interpreter's type feedback so that a first Linux boot in a
 * process does not deoptimize its loop again and again (~70-90 ms; measured in primer.ts). Called
 * after the command's input was checked, so a usage error does not pay for it.
 */
export function warmUpEngine(s: EngineSettings = engineSettingsFromEnv()): void {
  if (s.prime) primeInterpreter();
}
