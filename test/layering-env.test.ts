/**
 * Environment variables are read only in src/cli/ (issue 15): the core gets settings as explicit
 * values (src/cli/engine.ts: HVTRACE_JIT, HVTRACE_PRIME), so nothing a run does depends on an
 * environment variable that the trace does not record.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineSettingsFromEnv } from '../src/cli/engine.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? modules(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `process.env` (or `process['env']`) outside comments. */
function readsEnv(text: string): boolean {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])/.test(code);
}

describe('environment variables', () => {
  it('are read only in src/cli/', () => {
    const all = modules(SRC);
    expect(all.length).toBeGreaterThan(50);
    const offenders = all.filter((p) => !relative(SRC, p).startsWith('cli/') && readsEnv(readFileSync(p, 'utf8')))
      .map((p) => relative(SRC, p));
    expect(offenders).toEqual([]);
  });
  it('the check sees both spellings and ignores comments', () => {
    expect(readsEnv("const j = process.env.HVTRACE_JIT !== '0';")).toBe(true);
    expect(readsEnv("const q = process['env']['QEMU'];")).toBe(true);
    expect(readsEnv('// HVTRACE_JIT: process.env is read in cli/\nconst x = 1;')).toBe(false);
    expect(readsEnv('/* process.env */ const x = 1;')).toBe(false);
  });
  it('HVTRACE_JIT=0 and HVTRACE_PRIME=0 turn the JIT default and the warm-up off (src/cli/engine.ts)', () => {
    expect(engineSettingsFromEnv({})).toEqual({ jit: true, prime: true });
    expect(engineSettingsFromEnv({ HVTRACE_JIT: '0', HVTRACE_PRIME: '0' })).toEqual({ jit: false, prime: false });
    expect(engineSettingsFromEnv({ HVTRACE_JIT: '1' })).toEqual({ jit: true, prime: true });
  });
});
