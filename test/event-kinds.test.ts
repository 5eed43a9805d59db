/**
 * Each event kind is declared once, in src/trace/event-kinds.ts (issue 15). These tests check
 * that everything that names kinds agrees with that table: the kind list of model.ts, the views
 * of schemas/trace.sql (stored and `@reader`), schemas/event-payload.schema.json, the rendering
 * (describeEvent), the QEMU import and the recorder; that the checked-in generated texts are
 * what the table gives; and that the agreement check itself fails for a table or a source that
 * lacks a kind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_KIND_TABLE, KIND_SPEC, namedFields, viewColumns, type AnyKindSpec } from '../src/trace/event-kinds.js';
import { payloadSchemaText, traceSqlWithViews, viewSql } from '../src/trace/event-schemas.js';
import { EVENT_KINDS, KIND_CODE, type TraceEvent } from '../src/trace/model.js';
import { describeEvent } from '../src/trace/describe.js';
import { QEMU_REFERENCE_FIELDS } from '../src/diff/qemu-import.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (rel: string): string => readFileSync(`${ROOT}${rel}`, 'utf8');
const require = createRequire(import.meta.url);
type Stmt = { columns(): { name: string }[]; raw(on: boolean): Stmt; safeIntegers(on: boolean): Stmt; all(...p: unknown[]): unknown[] };
type Db = { prepare(s: string): Stmt; exec(s: string): void; close(): void };
const Database = require('better-sqlite3') as new (p: string, o?: object) => Db;

const TABLE = EVENT_KIND_TABLE as unknown as readonly AnyKindSpec[];

// ---------------------------------------------------------------------------------------------
// the agreement check
// ---------------------------------------------------------------------------------------------

/** Everywhere outside the table that kinds exist. */
interface Sources {
  /** model.ts EVENT_KINDS, in code order. */
  model: readonly string[];
  /** schemas/trace.sql. */
  traceSql: string;
  /** schemas/event-payload.schema.json, parsed. */
  payloadSchema: { $defs: Record<string, { properties?: Record<string, unknown> }>; 'x-by-kind': Record<string, string>; 'x-columns': Record<string, Record<string, { name: string }>> };
  /** The kinds describeEvent renders by their own text (not the raw a= b= c= fallback). */
  rendered: readonly string[];
  /** The kinds src/trace/recorder.ts emits (KIND_CODE.<kind>). */
  recorded: readonly string[];
}

/** The per-kind views of a schema text: kind -> view name, for the stored and the TEMP views. */
function viewsOf(sql: string): { stored: Map<string, string>; reader: Map<string, string> } {
  const out = { stored: new Map<string, string>(), reader: new Map<string, string>() };
  for (const m of sql.matchAll(/CREATE (TEMP )?VIEW (\w+) AS[\s\S]*?;/g)) {
    const k = /WHERE kind = '(\w+)'/.exec(m[0]);
    if (k) (m[1] ? out.reader : out.stored).set(k[1]!, m[2]!);
  }
  return out;
}

/** Where the sources and the table disagree (empty: they agree). */
function disagreements(table: readonly AnyKindSpec[], s: Sources): string[] {
  const p: string[] = [];
  const kinds = table.map((k) => k.kind);
  const known = new Set<string>(kinds);
  const views = viewsOf(s.traceSql);
  const byKind = s.payloadSchema['x-by-kind'];
  const lists: [string, readonly string[]][] = [
    ['model.ts EVENT_KINDS', s.model],
    ['trace.sql stored views', [...views.stored.keys()]],
    ['trace.sql reader views', [...views.reader.keys()]],
    ['event-payload.schema.json x-by-kind', Object.keys(byKind)],
    ['event-payload.schema.json x-columns', Object.keys(s.payloadSchema['x-columns'])],
    ['describeEvent', s.rendered],
    ['recorder.ts', s.recorded],
  ];
  for (const [where, list] of lists) {
    for (const k of kinds) if (!list.includes(k)) p.push(`${k}: missing in ${where}`);
    for (const k of list) if (!known.has(k)) p.push(`${k}: in ${where}, not in the table`);
  }
  if (s.model.filter((k) => known.has(k)).join() !== kinds.filter((k) => s.model.includes(k)).join()) p.push('model.ts EVENT_KINDS: not in table order');
  for (const k of table) {
    if (views.stored.has(k.kind) && views.stored.get(k.kind) !== k.view.name) p.push(`${k.kind}: stored view ${views.stored.get(k.kind)}, the table says ${k.view.name}`);
    if (views.reader.has(k.kind) && views.reader.get(k.kind) !== k.view.name) p.push(`${k.kind}: reader view ${views.reader.get(k.kind)}, the table says ${k.view.name}`);
    const ref = byKind[k.kind];
    if (ref === undefined) continue;
    const def = s.payloadSchema.$defs[ref.replace('#/$defs/', '')];
    const props = Object.keys(def?.properties ?? {});
    const want = (k.payload ?? []).map((f) => f.name);
    if (props.join() !== want.join()) p.push(`${k.kind}: payload schema has [${props}], the table [${want}]`);
    const cols = s.payloadSchema['x-columns'][k.kind] ?? {};
    for (const slot of ['a', 'b', 'c'] as const) {
      if ((cols[slot]?.name ?? null) !== (k[slot]?.name ?? null)) p.push(`${k.kind}: column ${slot} is ${cols[slot]?.name ?? 'unused'} in the JSON schema, ${k[slot]?.name ?? 'unused'} in the table`);
    }
  }
  return p;
}

/** An event of kind k with every column the table gives it, and a payload with every field. */
function sampleEvent(k: AnyKindSpec): TraceEvent {
  const value = (schema: Readonly<Record<string, unknown>>): unknown => {
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if (schema.$ref === '#/$defs/priv') return 1;
    if (schema.$ref === '#/$defs/u64') return 0x80200000n;
    if (schema.type === 'array') return Array.from({ length: Number(schema.minItems ?? 1) }, () => 7n);
    if (schema.type === 'boolean') return true;
    if (schema.type === 'string') return 'uart';
    return 3;
  };
  return {
    seq: 1, vtime: 2, hart: 0, instret: 2, pc: 0x80200000n, priv: 1, virt: false, kind: k.kind,
    a: k.a ? 1n : null, b: k.b ? 1n : null, c: k.c ? 1n : null,
    payload: k.payload ? Object.fromEntries(k.payload.map((f) => [f.name, value(f.schema)])) : null,
  };
}

function sources(): Sources {
  const rawRender = /^a=/;
  return {
    model: EVENT_KINDS,
    traceSql: read('schemas/trace.sql'),
    payloadSchema: JSON.parse(read('schemas/event-payload.schema.json')) as Sources['payloadSchema'],
    rendered: EVENT_KINDS.filter((k) => !rawRender.test(describeEvent(sampleEvent(KIND_SPEC[k])))),
    recorded: [...new Set([...read('src/trace/recorder.ts').matchAll(/\bKIND_CODE\.(\w+)/g)].map((m) => m[1]!))],
  };
}

describe('event kinds: one table, and everything agrees with it', () => {
  it('model, views, JSON schema, rendering and recorder name exactly the kinds of the table', () => {
    expect(disagreements(TABLE, sources())).toEqual([]);
  });

  it('the check fails for a table that lacks a kind, and for each source that lacks one', () => {
    const s = sources();
    const incomplete = TABLE.filter((k) => k.kind !== 'irq');
    const p = disagreements(incomplete, s);
    for (const where of ['model.ts EVENT_KINDS', 'trace.sql stored views', 'trace.sql reader views', 'event-payload.schema.json x-by-kind', 'describeEvent', 'recorder.ts']) {
      expect(p).toContain(`irq: in ${where}, not in the table`);
    }
    const noView = s.traceSql.replace(/CREATE VIEW vm_entries AS[\s\S]*?;\n/, '');
    expect(disagreements(TABLE, { ...s, traceSql: noView })).toEqual(['vm_entry: missing in trace.sql stored views']);
    const schema = structuredClone(s.payloadSchema);
    delete schema['x-by-kind'].halt;
    expect(disagreements(TABLE, { ...s, payloadSchema: schema })).toEqual(['halt: missing in event-payload.schema.json x-by-kind']);
    expect(disagreements(TABLE, { ...s, rendered: s.rendered.filter((k) => k !== 'mmio') })).toEqual(['mmio: missing in describeEvent']);
    expect(disagreements(TABLE, { ...s, model: [...s.model, 'dma'] })).toEqual(['dma: in model.ts EVENT_KINDS, not in the table']);
    const renamed = TABLE.map((k) => (k.kind === 'csr_write' ? { ...k, c: { ...k.c!, name: 'value' } } : k));
    expect(disagreements(renamed, s)).toEqual(['csr_write: column c is new in the JSON schema, value in the table']);
  });

  it('the kind codes keep their order (they are hashed into digests.events_hash)', () => {
    expect(EVENT_KINDS.slice(0, 11)).toEqual(['trap', 'trap_return', 'csr_write', 'sbi_call', 'mmio', 'irq', 'hart_state', 'input', 'halt', 'vm_exit', 'vm_entry']);
    for (const [i, k] of EVENT_KINDS.entries()) expect(KIND_CODE[k]).toBe(i);
  });

  it('every kind has a view name, a field name per used column, and a rendering without holes', () => {
    const views = new Set<string>();
    for (const k of TABLE) {
      expect(views.has(k.view.name), k.view.name).toBe(false);
      views.add(k.view.name);
      const e = sampleEvent(k);
      expect(Object.keys(namedFields(e))).toEqual((['a', 'b', 'c'] as const).flatMap((s) => (k[s] ? [k[s]!.name] : [])));
      const text = describeEvent(e);
      expect(text, k.kind).not.toMatch(/undefined|NaN|\?/);
      // Every used column has at least one view column.
      for (const slot of ['a', 'b', 'c'] as const) if (k[slot]) expect(k[slot]!.view.length, `${k.kind}.${slot}`).toBeGreaterThan(0);
    }
  });
});

describe('generated texts', () => {
  it('schemas/trace.sql holds the views the table gives (node scripts/gen-event-schemas.mjs)', () => {
    const text = read('schemas/trace.sql');
    expect(traceSqlWithViews(text)).toBe(text);
  });

  it('schemas/event-payload.schema.json is the one the table gives', () => {
    expect(read('schemas/event-payload.schema.json')).toBe(payloadSchemaText());
  });

  it('the stored views give a trace recorded before the table the same columns and rows as its own views', () => {
    const db = new Database(`${ROOT}traces/golden/smp-kernel-smp4.trace`, { readonly: true, fileMustExist: true });
    try {
      let rows = 0;
      for (const k of TABLE) {
        const select = viewSql(k, 'stored').replace(/^CREATE VIEW \w+ AS\n/, '').replace(/;\n$/, '');
        const now = db.prepare(`SELECT * FROM (${select}) ORDER BY seq`);
        // A kind added after the trace was recorded has no stored view there, and no rows.
        const stored = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?").get(k.view.name);
        if (stored === undefined) {
          expect(now.all(), k.view.name).toEqual([]);
          continue;
        }
        const then = db.prepare(`SELECT * FROM ${k.view.name} ORDER BY seq`);
        expect(now.columns().map((c) => c.name), k.view.name).toEqual(then.columns().map((c) => c.name));
        const a = now.safeIntegers(true).raw(true).all(), b = then.safeIntegers(true).raw(true).all();
        expect(a, k.view.name).toEqual(b);
        rows += a.length;
      }
      expect(rows).toBeGreaterThan(1000);
    } finally {
      db.close();
    }
  });

  it('the reader views have every stored column, and each *_name / *_hex twin names a column of its view', () => {
    const db = new Database(':memory:');
    try {
      // The stored views of the checked-in schema, as SQLite sees them (not as the table says).
      const sql = read('schemas/trace.sql');
      db.exec(sql.slice(0, sql.indexOf('\n-- @deferred')));
      for (const k of TABLE) {
        const stored = db.prepare(`SELECT * FROM ${k.view.name}`).columns().map((c) => c.name);
        const all = viewColumns(k, 'reader').map((c) => c.name);
        expect(all.filter((n) => stored.includes(n)), k.view.name).toEqual(stored);
        for (const c of viewColumns(k, 'reader')) if (c.of) expect(all, `${k.view.name}.${c.name}`).toContain(c.of);
      }
    } finally {
      db.close();
    }
  });
});

describe('the QEMU mapping', () => {
  it('a -d int line becomes a trap with the fields the import declares', () => {
    const q = KIND_SPEC.trap.qemu!;
    expect(QEMU_REFERENCE_FIELDS).toEqual(q.fields);
    expect(TABLE.filter((k) => k.qemu).map((k) => k.kind)).toEqual(['trap']);
    const e = q.toEvent({ hart: 2, interrupt: true, cause: 5, epc: 0x80200010n, tval: 0n, desc: 'supervisor_timer' }, 7, (a) => a);
    expect(e).toMatchObject({ seq: 7, hart: 2, kind: 'trap', pc: 0x80200010n, a: (1n << 63n) | 5n, b: 0n, c: null, payload: { desc: 'supervisor_timer' } });
    expect(describeEvent(e as TraceEvent)).toBe('interrupt 5 (S timer) tval=0x0 -> 0x0 [?->?]');
  });
});

describe('the field names in `events --json` and `query`', () => {
  const hv = (...args: string[]) => spawnSync(process.execPath, [`${ROOT}dist/cli/main.js`, ...args], { cwd: ROOT, encoding: 'utf8' });
  const golden = 'traces/golden/smp-kernel-smp4.trace';

  it('events --json: `fields` holds a/b/c under the kind\'s names', () => {
    const first = (kind: string) => {
      const r = hv('events', golden, '--kind', kind, '--limit', '1', '--json');
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { a: string; b: string | null; c: string | null; fields: Record<string, string | null> };
    };
    const trap = first('trap');
    expect(trap.fields).toEqual({ cause: trap.a, tval: trap.b, handler: trap.c });
    const mmio = first('mmio');
    expect(mmio.fields).toEqual({ address: mmio.a, value: mmio.b, access: mmio.c });
    const state = first('hart_state');
    expect(state.fields).toEqual({ state: state.a });
  });

  it('query: every kind has a view with its field names, on a trace recorded before them', () => {
    const r = hv('query', golden, "SELECT (SELECT count(*) FROM hart_states WHERE state = 'start') AS starts, (SELECT pc_hex FROM input_events LIMIT 1) AS input_pc, (SELECT count(vm) FROM vm_entries) AS entries", '--format', 'json');
    expect(r.status, r.stderr).toBe(0);
    const [row] = JSON.parse(r.stdout) as { starts: number; input_pc: string; entries: number }[];
    expect(row!.starts).toBe(3);
    expect(row!.input_pc).toMatch(/^0x[0-9a-f]+$/);
    expect(row!.entries).toBe(0);
    const hint = hv('query', golden, "SELECT * FROM hart_states WHERE state_code = 'start'");
    expect(hint.stderr).toBe("hvtrace: hint: 0 rows: state_code is a number, and 'start' is text: compare state = 'start'\n");
  });
});
