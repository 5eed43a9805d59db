#!/usr/bin/env node
// Regenerate what the event-kind table (src/trace/event-kinds.ts) declares: the per-kind views
// in schemas/trace.sql (between the @generated markers) and schemas/event-payload.schema.json.
// Run after `npm run build` (it reads dist/); test/event-kinds.test.ts fails until the
// checked-in files equal what it writes. `--check`: write nothing, exit 1 when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { traceSqlWithViews, payloadSchemaText } = await import(new URL('dist/trace/event-schemas.js', `file://${root}`).href);
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, make] of [
  ['schemas/trace.sql', (old) => traceSqlWithViews(old)],
  ['schemas/event-payload.schema.json', () => payloadSchemaText()],
]) {
  const path = `${root}${rel}`;
  const old = readFileSync(path, 'utf8');
  const now = make(old);
  if (now === old) continue;
  stale++;
  if (check) console.error(`${rel}: differs from src/trace/event-kinds.ts`);
  else { writeFileSync(path, now); console.error(`${rel}: regenerated`); }
}
process.exit(check && stale ? 1 : 0);
