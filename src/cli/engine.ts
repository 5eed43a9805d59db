/**
 * Engine settings taken from the environment. Environment variables are read here, in src/cli/,
 * and nowhere below it (test/layering-env.test.ts): the core gets them as explicit settings.
 *
 *   HVTRACE_TIER=interp|js|wasm  the execution tier: interpreter only, `new Function` blocks
 *                    (the default), or the wasm translator (results are identical)
 *   HVTRACE_JIT=0    the same as HVTRACE_TIER=interp (when HVTRACE_TIER is not set)
 *   HVTRACE_JIT_HOT=N  executions before code is translated (default: the tier's own; tests
 *                    use a low value to translate nearly everything)
 *   HVTRACE_PRIME=0  no interpreter warm-up before the first machine (src/sched/primer.ts)
 *
 * Both are performance switches only: nothing a guest sees depends on them.
 */
import { setDefaultJitHot, setDefaultTier, TIERS, type Tier } from '../board/machine.js';
import { primeInterpreter } from '../sched/primer.js';

export interface EngineSettings {
  /** Execution tier for machines whose configuration does not say. */
  readonly tier: Tier;
  /** Translation threshold (undefined: the tier's default). */
  readonly jitHot?: number;
  /** Warm the interpreter up (once per process) before the first machine runs. */
  readonly prime: boolean;
}

export function engineSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const t = env['HVTRACE_TIER'];
  let tier: Tier = env['HVTRACE_JIT'] === '0' ? 'interp' : 'js';
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
  return { tier, prime: env['HVTRACE_PRIME'] !== '0', ...(jitHot !== undefined ? { jitHot } : {}) };
}

/**
 * The tier default, before a command builds machines (run, record, replay; their gdb forms).
 */
export function configureEngine(s: EngineSettings = engineSettingsFromEnv()): void {
  setDefaultTier(s.tier);
  setDefaultJitHot(s.jitHot);
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
