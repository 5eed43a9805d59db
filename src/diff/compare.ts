/**
 * Streaming event comparison (DESIGN.md §4: "Replay compares events one by one (kind and every
 * field); the first mismatch is the divergence ... A comparison that matched zero events is a
 * failure, not a pass").
 *
 * Two streams of TraceEvent, "expected" (the recorded / reference trace) and "actual" (the
 * replay / the other trace), are compared position by position after an optional kind filter:
 * kind, then every field (seq, vtime, hart, instret, pc, priv, virt, a, b, c, payload
 * deep-equal) unless ignored. The first position where they differ, or where one stream ends
 * before the other, is the divergence; the comparer keeps the N events before it on each side
 * (context) and per-kind counts of everything it saw on each side.
 *
 * Three ways to drive it:
 *  - `compareEvents(expected, actual, opts)`: two sync or async iterables (a TraceReader's
 *    event iterator, arrays, generators); resolves to the result;
 *  - `compareEventsSync(...)`: the same for sync iterables, no promise;
 *  - `EventComparer`: push events one at a time from either side (`expected(ev)`,
 *    `actual(ev)`, `endExpected()`, `endActual()`), e.g. from a recorder's sink during replay,
 *    then `result()`.
 *
 * Reference imports (traces converted from another emulator's log, e.g. QEMU `-d int`) do not
 * know every field: the caller passes which fields each side has (`fields.expected` /
 * `fields.actual`), and only fields both sides have are compared.
 *
 * This module is the differ's API; it re-exports its parts: comparer.ts (the streaming comparer),
 * format.ts (events and divergences as text and JSON), runs.ts (what differs outside the events)
 * and trace-diff.ts (diffTraces: two trace files, digests to skip their equal start).
 *
 * Sequence numbers count events of every kind, so when a kind filter is given `seq` is not
 * compared (an extra event of an unselected kind would shift every later seq); the summary
 * lists it under `ignored`.
 */
export { TraceCode } from '../trace/code.js';
export {
  EVENT_FIELDS, type EventField, CompareError, type CompareOptions, type DivergenceReason, type FieldDifference, type Divergence, type KindCounts, type CompareSummary, type CompareResult, resolveFields, parseKinds, deepEqual, EventComparer, compareEvents, compareEventsSync,
} from './comparer.js';
export {
  hex, toJsonValue, eventToJson, formatEvent, fieldLabel, formatValue, formatDivergence, formatKindCounts,
} from './format.js';
export {
  type ReferenceInfo, referenceInfo, RUN_AREAS, type RunArea, type RunDifference, compareRuns,
} from './runs.js';
export {
  type TraceDiffOptions, type TraceDiffReport, KIND_PRESETS, expandKinds, diffTraces,
} from './trace-diff.js';
