/**
 * Issue 15: "No file in `src/` over ~800 lines without a reason stated at its top". A module over
 * LIMIT lines must say at its top why it is one file: a line `Size: <why>` in the comment it
 * starts with (e.g. ` * Size: one cohesive ... ; splitting it would ...`). This test reads every
 * src/ module (not dist/) and fails naming each file that is over the limit without one.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const LIMIT = 800;

/**
 * Files over the limit that have no reason line yet, relative to src/. Remove an entry when its
 * file is split below the limit or states its reason (the last test says when one is stale).
 */
const KNOWN_EXCEPTIONS: ReadonlySet<string> = new Set<string>([]);

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? modules(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Lines as `wc -l` counts them (newline characters). */
function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The comment the file starts with (block or line comments, before the first code line), and
 * whether one of its lines is `Size: <reason>` (a reason of at least a few words).
 */
function statesSizeReason(text: string): boolean {
  const header: string[] = [];
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      header.push(line);
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line === '' || line.startsWith('#!')) continue;
    if (line.startsWith('//')) {
      header.push(line);
      continue;
    }
    if (line.startsWith('/*')) {
      header.push(line);
      inBlock = !line.includes('*/');
      continue;
    }
    break;
  }
  return header.some((l) => /^(?:\/\*+|\*|\/\/)?\s*Size:\s*\S+(?:\s+\S+){2,}/.test(l));
}

describe('src/ file sizes', () => {
  const files = modules(SRC).map((p) => {
    const text = readFileSync(p, 'utf8');
    return { name: relative(SRC, p), lines: lineCount(text), reason: statesSizeReason(text) };
  });

  it('the check sees src/: many modules, and a file it knows to be large', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => f.lines > LIMIT).length).toBeGreaterThan(0);
  });

  it('the reason check reads a header: a Size: line in the first comment counts, one after code does not', () => {
    expect(statesSizeReason('/**\n * The thing.\n *\n * Size: one algorithm in one file, split it loses the invariants.\n */\nexport const x = 1;\n')).toBe(true);
    expect(statesSizeReason('// Size: a table generated as one unit by a script.\nexport const x = 1;\n')).toBe(true);
    expect(statesSizeReason('/** The thing. */\nexport const x = 1;\n// Size: too late for a header line.\n')).toBe(false);
    expect(statesSizeReason('/**\n * Size:\n */\n')).toBe(false);
  });

  it(`every src/ module over ${LIMIT} lines states why at its top ("Size: ...")`, () => {
    const unexplained = files
      .filter((f) => f.lines > LIMIT && !f.reason && !KNOWN_EXCEPTIONS.has(f.name))
      .map((f) => `src/${f.name}: ${f.lines} lines, over ${LIMIT}: split it, or say why it is one file in a 'Size:' line of its header comment`);
    expect(unexplained).toEqual([]);
  });

  it('no known exception is stale (its file is gone, under the limit, or states its reason)', () => {
    const stale = [...KNOWN_EXCEPTIONS].flatMap((name) => {
      const f = files.find((x) => x.name === name);
      if (!f) return [`src/${name}: no such file any more; remove it from KNOWN_EXCEPTIONS`];
      if (f.lines <= LIMIT) return [`src/${name}: ${f.lines} lines, within the limit now; remove it from KNOWN_EXCEPTIONS`];
      if (f.reason) return [`src/${name}: states its size reason now; remove it from KNOWN_EXCEPTIONS`];
      return [];
    });
    expect(stale).toEqual([]);
  });
});
