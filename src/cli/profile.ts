/**
 * `run --profile` / `record --profile`: the execution tier's statistics at the end of a run, on
 * stderr. Every count comes from counters the core keeps (src/hart/jit.ts, src/hart/wasm/tier.ts)
 * and is the same on every run of the same inputs; only the compile times use the host clock,
 * which the CLI hands to the translator (`useCompileClock`), as nothing below src/cli/ reads one.
 *
 *   --profile        text lines (`hvtrace: profile: ...`)
 *   --profile json   one JSON object on one line (`hvtrace-profile {...}`)
 */
import type { Machine } from '../board/machine.js';
import { WasmTier } from '../hart/wasm/tier.js';
import { ImageError } from '../image/loader.js';

export type ProfileFormat = 'text' | 'json';

/** The --profile value: true (no argument) -> text; one-line error for anything else. */
export function parseProfileOption(v: string | boolean | undefined): ProfileFormat | null {
  if (v === undefined || v === false) return null;
  if (v === true || v === 'text') return 'text';
  if (v === 'json') return 'json';
  throw new ImageError(`--profile ${v}: expected text or json`);
}

/** Give the translator the host clock for compile times (call only when profiling or reporting). */
export function useCompileClock(m: Machine): void {
  m.jit.clock = () => performance.now();
}

export interface TierProfile {
  tier: 'interp' | 'js' | 'wasm';
  /** Units compiled (a wasm module or a JS function each), and the ones live at the end. */
  unitsCompiled: number;
  liveUnits: number;
  /** The live-unit cap (null: none) and the translation table's slots. */
  maxUnits: number | null;
  tableSlots: number;
  /** liveUnits / tableSlots. */
  occupancy: number;
  /** Host milliseconds in code generation + compilation: total, mean per unit, the longest batch
   * (the js tier compiles each unit alone; the wasm tier several to a module). */
  compileMs: number;
  compileMeanMs: number;
  compileMaxMs: number;
  /** Instructions of all harts (attempted steps), those completed inside units, the rest. */
  instructions: number;
  translatedInstructions: number;
  interpretedInstructions: number;
  /** translated / instructions (0 without instructions). */
  hitRate: number;
  unitsInvalidated: number;
  pagesInvalidated: number;
  unitsEvicted: number;
  evictions: number;
  unitsReplaced: number;
  /** wasm only: modules (a batch of units each), blocks and instructions compiled, module bytes,
   * ms in WebAssembly.Module + instantiation. */
  wasm?: { modules: number; blocks: number; insns: number; bytes: number; instantiateMs: number;
    /** ms of the compile thread (code generation + WebAssembly.Module; 0: compiled in place,
     * then compileMs and instantiateMs include them). */
    threadMs: number };
}

const TABLE_SLOTS = 1 << 16;

export function tierProfile(m: Machine): TierProfile {
  const j = m.jit;
  const tier = j instanceof WasmTier ? 'wasm' : j.enabled ? 'js' : 'interp';
  let instructions = 0;
  for (const h of m.harts) instructions += h.attempted;
  const translated = j.translatedInsns;
  const p: TierProfile = {
    tier,
    unitsCompiled: j.blocksCompiled,
    liveUnits: j.liveUnits,
    maxUnits: Number.isFinite(j.maxUnits) ? j.maxUnits : null,
    tableSlots: TABLE_SLOTS,
    occupancy: j.liveUnits / TABLE_SLOTS,
    compileMs: j.compileMs,
    compileMeanMs: j.blocksCompiled > 0 ? j.compileMs / j.blocksCompiled : 0,
    compileMaxMs: j.compileMaxMs,
    instructions,
    translatedInstructions: translated,
    interpretedInstructions: instructions - translated,
    hitRate: instructions > 0 ? translated / instructions : 0,
    unitsInvalidated: j.unitsInvalidated,
    pagesInvalidated: j.pagesInvalidated,
    unitsEvicted: j.unitsEvicted,
    evictions: j.evictions,
    unitsReplaced: j.unitsReplaced,
  };
  if (j instanceof WasmTier) {
    const s = j.stats;
    p.wasm = { modules: s.modules, blocks: s.blocks, insns: s.insns, bytes: s.bytes, instantiateMs: s.compileMs, threadMs: s.threadMs };
  }
  return p;
}

const n = (v: number): string => v.toLocaleString('en-US');

export function formatProfile(p: TierProfile, format: ProfileFormat): string {
  if (format === 'json') return `hvtrace-profile ${JSON.stringify(p)}\n`;
  const L: string[] = [];
  if (p.tier === 'interp') {
    L.push(`tier interp: the interpreter only (no translation); ${n(p.instructions)} instructions interpreted`);
  } else {
    L.push(`tier ${p.tier}: ${n(p.unitsCompiled)} units compiled, ${n(p.liveUnits)} live` +
      ` (cap ${p.maxUnits === null ? 'none' : n(p.maxUnits)}; table occupancy ${(100 * p.occupancy).toFixed(2)}% of ${n(p.tableSlots)} slots)`);
    L.push(`compile ${p.compileMs.toFixed(1)} ms total, ${(p.compileMeanMs * 1000).toFixed(0)} us mean per unit, ${(p.compileMaxMs * 1000).toFixed(0)} us max per batch` +
      (p.wasm ? ` (${n(p.wasm.modules)} modules; ${p.wasm.threadMs > 0 ? `compile thread ${p.wasm.threadMs.toFixed(1)} ms (code generation + WebAssembly.Module), this thread instantiate`
        : 'WebAssembly.Module + instantiate'} ${p.wasm.instantiateMs.toFixed(1)} ms; ${n(p.wasm.blocks)} blocks, ${n(p.wasm.insns)} instructions, ${(p.wasm.bytes / 1024).toFixed(0)} KiB)` : ''));
    L.push(`instructions ${n(p.instructions)}: translated ${n(p.translatedInstructions)}, interpreted ${n(p.interpretedInstructions)}; hit rate ${(100 * p.hitRate).toFixed(2)}%`);
    L.push(`invalidated ${n(p.unitsInvalidated)} units (${n(p.pagesInvalidated)} code pages); evicted ${n(p.unitsEvicted)} units in ${n(p.evictions)} evictions; ${n(p.unitsReplaced)} replaced by a slot collision`);
  }
  return L.map((l) => `hvtrace: profile: ${l}\n`).join('');
}
