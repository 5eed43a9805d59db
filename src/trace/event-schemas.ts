/**
 * The texts generated from the event-kind table (src/trace/event-kinds.ts): the per-kind views of
 * schemas/trace.sql (stored and `@reader`, between `@generated` markers) and the whole of
 * schemas/event-payload.schema.json. `node scripts/gen-event-schemas.mjs` (after `npm run build`)
 * writes them; test/event-kinds.test.ts checks that the checked-in files equal what this gives.
 */
import { EVENT_KIND_TABLE, viewGroups, type AnyKindSpec, type PayloadField, type ViewColumn } from './event-kinds.js';

const VIEW_WIDTH = 110;

/** `CREATE [TEMP ]VIEW` of one kind: the columns filled into lines of at most ~110 characters, a slot's columns kept together. */
export function viewSql(s: AnyKindSpec, which: 'stored' | 'reader'): string {
  const item = (c: ViewColumn): string => (c.sql === c.name ? c.name : `${c.sql} AS ${c.name}`);
  const groups = viewGroups(s, which).map((g) => g.map(item));
  const lines: string[] = [];
  let line = '';
  for (const g of groups) {
    const t = g.join(', ');
    if (line === '') line = t;
    else if (11 + line.length + 2 + t.length <= VIEW_WIDTH) line += `, ${t}`;
    else { lines.push(`${line},`); line = t; }
  }
  lines.push(line);
  const body = lines.map((l, i) => (i === 0 ? `  SELECT ${l}` : `         ${l}`)).join('\n');
  return `CREATE ${which === 'reader' ? 'TEMP ' : ''}VIEW ${s.view.name} AS\n${body}\n  FROM events WHERE kind = '${s.kind}';\n`;
}

/** The views of every kind, as they stand between the `@generated` markers of schemas/trace.sql. */
export function viewsSql(which: 'stored' | 'reader'): string {
  return EVENT_KIND_TABLE.map((s) => viewSql(s as unknown as AnyKindSpec, which)).join('\n');
}

/** JSON Schema of one payload. */
function payloadSchema(fields: readonly PayloadField[], description?: string): Record<string, unknown> {
  return {
    type: 'object',
    required: fields.filter((f) => f.required).map((f) => f.name),
    properties: Object.fromEntries(fields.map((f) => [f.name, { ...f.schema, description: f.meaning }])),
    additionalProperties: false,
    ...(description ? { description } : {}),
  };
}

/** schemas/event-payload.schema.json, as an object (generated whole from the table). */
export function payloadJsonSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {
    u64: { type: 'integer', minimum: 0, maximum: 2n ** 64n - 1n },
    priv: { type: 'integer', enum: [0, 1, 3], description: '0 U, 1 S, 3 M (V is the row\'s virt column)' },
  };
  const byKind: Record<string, string> = {};
  const imported: Record<string, string> = {};
  const oneOf: { $ref: string }[] = [];
  for (const s of EVENT_KIND_TABLE as readonly AnyKindSpec[]) {
    if (s.payload) {
      defs[s.kind] = payloadSchema(s.payload, s.summary);
      oneOf.push({ $ref: `#/$defs/${s.kind}` });
      byKind[s.kind] = `#/$defs/${s.kind}`;
    } else {
      byKind[s.kind] = '#/$defs/none';
    }
  }
  for (const s of EVENT_KIND_TABLE as readonly AnyKindSpec[]) {
    if (!s.qemu) continue;
    const name = `${s.kind}_qemu`;
    defs[name] = payloadSchema(s.qemu.payload, `a ${s.kind} imported from QEMU's log (hvtrace import qemu)`);
    oneOf.push({ $ref: `#/$defs/${name}` });
    imported[s.kind] = `#/$defs/${name}`;
  }
  defs.none = { type: 'null' };
  oneOf.push({ $ref: '#/$defs/none' });
  const SLOTS = ['a', 'b', 'c'] as const;
  const columns = Object.fromEntries((EVENT_KIND_TABLE as readonly AnyKindSpec[]).map((s) => [s.kind, Object.fromEntries(
    SLOTS.filter((k) => s[k]).map((k) => {
      const f = s[k]!;
      return [k, { name: f.name, type: f.type, description: f.meaning, ...(f.nullWhen ? { nullWhen: f.nullWhen } : {}) }];
    }),
  )]));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'hvtrace/event-payload.schema.json',
    title: 'hvtrace event payload (events.payload, trace schema versions 1 and 2)',
    description: "The msgpack map in events.payload, by event kind. Generated from src/trace/event-kinds.ts (node scripts/gen-event-schemas.mjs): do not edit. msgpack types map to JSON Schema types as follows: maps = object, arrays = array, strings = string, small integers = integer; 64-bit values (register contents, addresses) are msgpack int64/uint64 and decode as bigint: they are described here as 'u64' (an integer in 0..2^64-1; `hvtrace events --json` prints them as hex strings, payload_json() in SQL as decimal numbers). Kinds without a payload store NULL. x-by-kind: the payload of each kind as recorded; x-imported: as imported from another emulator's log; x-columns: the kind's names and meanings of the storage columns a, b, c.",
    $defs: defs,
    oneOf,
    'x-by-kind': byKind,
    'x-imported': imported,
    'x-columns': columns,
  };
}

/** JSON on one line, with a space after `,` and `:` and inside braces: `{ "type": "integer", "minimum": 0 }`. */
function inlineJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inlineJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const e = Object.entries(v as Record<string, unknown>);
    return e.length ? `{ ${e.map(([k, x]) => `${JSON.stringify(k)}: ${inlineJson(x)}`).join(', ')} }` : '{}';
  }
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

const JSON_WIDTH = 130;

/**
 * JSON text: an object or array on one line when that line fits in ~130 characters (an array of
 * strings or numbers always), else one member per line indented by two spaces (the layout of the
 * checked-in schemas). bigints are written as integers (2^64 - 1 is not a double).
 */
export function jsonText(v: unknown, depth = 0, lead = 0): string {
  const one = inlineJson(v);
  const flat = Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');
  if (v === null || typeof v !== 'object' || flat || depth * 2 + lead + one.length <= JSON_WIDTH) return one;
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (Array.isArray(v)) return `[\n${v.map((x) => pad + jsonText(x, depth + 1)).join(',\n')}\n${end}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{\n${entries.map(([k, x]) => `${pad}${JSON.stringify(k)}: ${jsonText(x, depth + 1, JSON.stringify(k).length + 2)}`).join(',\n')}\n${end}}`;
}

/** schemas/event-payload.schema.json as it must read. */
export function payloadSchemaText(): string {
  return `${jsonText(payloadJsonSchema())}\n`;
}

/** The markers of the generated regions of schemas/trace.sql: from the line starting with `begin` to the `end` line. */
export const SQL_REGIONS = {
  stored: '-- @generated stored views',
  reader: '-- @generated reader views',
} as const;
export const SQL_REGION_END = '-- @end generated';

/**
 * schemas/trace.sql with its generated regions replaced by what the table gives (the rest kept).
 * Throws when a marker is missing.
 */
export function traceSqlWithViews(text: string): string {
  let out = text;
  for (const which of ['stored', 'reader'] as const) {
    const b = out.indexOf(`\n${SQL_REGIONS[which]}`);
    if (b < 0) throw new Error(`schemas/trace.sql: no "${SQL_REGIONS[which]}" line`);
    const bodyStart = out.indexOf('\n', b + 1) + 1;
    const e = out.indexOf(`\n${SQL_REGION_END}`, bodyStart - 1);
    if (bodyStart <= 0 || e < 0) throw new Error(`schemas/trace.sql: "${SQL_REGIONS[which]}" has no "${SQL_REGION_END}" line`);
    out = `${out.slice(0, bodyStart)}${viewsSql(which)}${out.slice(e + 1)}`;
  }
  return out;
}
