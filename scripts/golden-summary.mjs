#!/usr/bin/env node
// Record a run and write its golden summary (src/trace/golden.ts): the state digests, event
// counts and hashes that test/golden.test.ts compares a new recording with, for runs whose
// trace is too large for git (a Linux boot).
//
//   node scripts/golden-summary.mjs OUT.summary.json -- RECORD-ARGS...
//
// RECORD-ARGS are `hvtrace record` arguments without -o (stored in the summary, so the test
// records the same run). Needs a build (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [out, sep, ...args] = process.argv.slice(2);
if (!out || sep !== '--' || args.length === 0) {
  process.stderr.write('usage: node scripts/golden-summary.mjs OUT.summary.json -- RECORD-ARGS...\n');
  process.exit(2);
}
const { summarizeTrace } = await import(join(root, 'dist/trace/golden.js'));
const dir = mkdtempSync(join(tmpdir(), 'hvtrace-golden-'));
try {
  const trace = join(dir, 'run.trace');
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'record', ...args, '-o', trace, '-q'], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) {
    process.stderr.write(`golden-summary: hvtrace record ${args.join(' ')} exited ${r.status}\n`);
    process.exit(1);
  }
  const s = summarizeTrace(trace, args);
  // One line per digest: readable, and a regeneration diffs line by line.
  const { digests, ...rest } = s;
  const text = JSON.stringify({ ...rest, digests: '@DIGESTS@' }, null, 1)
    .replace('"@DIGESTS@"', `[\n${digests.map((d) => `  ${JSON.stringify(d)}`).join(',\n')}\n ]`);
  writeFileSync(out, `${text}\n`);
  process.stderr.write(`golden-summary: ${out}: ${s.counts.events} events, ${s.counts.totalInstret} instructions, ${s.digests.length} digests\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
