/**
 * The folders of src/ form one-way layers (ARCHITECTURE.md, "Layers"): a module may import from
 * its own folder or from a folder below it, never from one above. This test reads every import of
 * every src/ module and fails on an upward arrow, so the layering stays what the folders say.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Bottom to top. Folders on one line are peers: they must not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['isa', 'image'],
  ['mem'],
  ['hart'],
  ['devices'],
  ['firmware'],
  ['hypervisor'],
  ['board'],
  ['sched'],
  ['trace'],
  ['diff', 'view'],
  ['replay'],
  ['gdb'],
  ['cli'],
];

function rankOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  return i;
}

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? modules(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative import specifiers of a module: static, type-only and dynamic imports and re-exports. */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (let m = re.exec(text); m; m = re.exec(text)) specs.push(m[2]!);
  return specs;
}

const folderOf = (file: string): string => relative(SRC, file).split('/')[0]!;

describe('src/ layering', () => {
  const files = modules(SRC);

  it('every folder of src/ has a layer', () => {
    const folders = [...new Set(files.map(folderOf))].filter((f) => !f.endsWith('.ts'));
    expect(folders.filter((f) => rankOf(f) < 0)).toEqual([]);
  });

  it('no module imports from a folder above its own, or from a peer folder', () => {
    const upward: string[] = [];
    for (const f of files) {
      const from = folderOf(f);
      for (const spec of importsOf(readFileSync(f, 'utf8'))) {
        const to = folderOf(resolve(dirname(f), spec));
        if (to === from) continue;
        if (rankOf(to) >= rankOf(from)) upward.push(`${relative(SRC, f)} -> ${spec} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the check sees imports: hart imports isa, cli imports trace', () => {
    const arrows = new Set<string>();
    for (const f of files) for (const s of importsOf(readFileSync(f, 'utf8'))) arrows.add(`${folderOf(f)}->${folderOf(resolve(dirname(f), s))}`);
    expect(arrows.has('hart->isa')).toBe(true);
    expect(arrows.has('cli->trace')).toBe(true);
  });
});
