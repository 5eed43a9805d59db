/**
 * `hvtrace replay FILE [--to POS] [--force] [--json]` (src/replay/replayer.ts).
 *
 * Without --to: replay the whole trace and compare; exit 0 match, 1 divergence, 2 unusable input
 * (not a trace, images / versions that do not match without --force, an import).
 * With --to POS: land on that instruction and print the machine there; exit 0 (1 when the run
 * to it did not produce the recorded events, 2 for a position the trace does not reach).
 */
import { replay, seek, parsePosition, REGISTER_NAMES, type ReplayReport, type SeekReport, type HartView } from '../replay/replayer.js';
import { formatDivergence, hex, toJsonValue, eventToJson } from '../diff/compare.js';
import { TraceError, TraceReader } from '../trace/store.js';
import { describeEvent, loadSymbolFiles, privName } from './inspect.js';
import { out } from './output.js';
import { configureEngine, warmUpEngine } from './engine.js';
import { parseDriveSpec, FileDiskBackend } from './drive.js';
import { ImageError } from '../image/loader.js';
import type { DiskBackend } from '../devices/virtio-blk.js';
import { holdLateSignals } from './late-signals.js';

export interface ReplayCliOptions {
  to?: string;
  force?: boolean;
  json?: boolean;
  digests?: boolean;
  events?: string;
  console?: boolean;
  /** --symbols files (ELF or System.map). */
  symbols?: string[];
  /** --gdb [HOST:]PORT: serve a gdb client instead of replaying to the end. */
  gdb?: string;
  /** --drive file=PATH (repeatable): the recorded drives' images, for blocks the trace lacks. */
  drive?: string[];
}

/**
 * `replay --drive file=PATH`: a recording's image, in drive order. Optional (the trace holds
 * every block the guest read); when given it must be the image recorded (sha256: checked by
 * openForReplay), and serves blocks a trace cut short lacks.
 */
function replayDrives(specs: readonly string[] | undefined): DiskBackend[] | undefined {
  if (!specs || specs.length === 0) return undefined;
  try {
    return specs.map((s) => {
      const d = parseDriveSpec(s);
      if (d.writeback || d.ifNone) throw new ImageError(`--drive ${s}: replay takes file=PATH only (the replay's writes stay in memory)`);
      return new FileDiskBackend(d.file, false);
    });
  } catch (e) {
    if (e instanceof ImageError) throw new TraceError(e.message);
    throw e;
  }
}


const h64 = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;

/** Whether a trace runs guests of the built-in hypervisor: its S with V = 0 is then named HS. */
function hypervisorTrace(file: string): boolean {
  try {
    const r = TraceReader.open(file);
    try {
      return (r.config.machine?.guests?.length ?? 0) > 0;
    } finally {
      r.close();
    }
  } catch {
    return false;
  }
}
let hsNames = false;

function eventLine(e: Parameters<typeof describeEvent>[0], sym: (e: Parameters<typeof describeEvent>[0]) => string | undefined): string {
  const s = sym(e);
  return `#${e.seq} h${e.hart} ${privName(e.priv, e.virt, hsNames)} i=${e.instret} ${hex(e.pc)}${s ? ` <${s}>` : ''} ${e.kind} ${describeEvent(e, hsNames)}`;
}

function replayText(r: ReplayReport, file: string, noDigests = false): string {
  const lines: string[] = [];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const secs = (r.wallMs / 1000).toFixed(2);
  if (r.status === 'match') {
    // Retired instructions, as `record` and `info` print them (the comparison itself uses steps,
    // which also count instructions that trapped).
    const retired = r.instructions.perHart.reduce((a, b) => a + b, 0);
    const digests = noDigests ? 'state digests not compared (--no-digests)' : `${r.digests.compared}/${r.digests.stored} state digests`;
    lines.push(`replay ${file}: match: ${r.events.compared} events, ${retired} instructions, ${digests}; ${r.prefix ?? `ended ${r.end.actual ? `${r.end.actual.kind} (exit ${r.end.actual.exitCode})` : 'where the recording was aborted'} as recorded`} [${secs} s]`);
    return lines.join('\n');
  }
  const first = r.issues[0]!;
  lines.push(`replay ${file}: DIVERGENCE: ${first.message}`);
  if (first.event) {
    lines.push(formatDivergence(first.event.divergence, r.symbolize, ['recorded', 'replayed']));
  }
  for (const i of r.issues.slice(1)) lines.push(`also: ${i.message}`);
  lines.push(`${r.events.matched} of ${r.events.expected} recorded events matched; ${r.instructions.actual} instructions replayed${r.instructions.expected !== null ? ` (recorded: ${r.instructions.expected})` : ''} [${secs} s]`);
  return lines.join('\n');
}

function hartText(h: HartView, focus: boolean): string[] {
  const lines: string[] = [];
  const state = h.state === 'running' ? '' : ` (${h.state})`;
  lines.push(`hart ${h.id}${focus ? ' *' : ''}: pc ${hex(h.pc)}${h.symbol ? ` <${h.symbol}>` : ''}  priv ${privName(h.priv, h.virt, hsNames)}  instret ${h.instret}  attempted ${h.attempted}${state}`);
  if (!focus) return lines;
  for (let i = 0; i < 32; i += 4) {
    lines.push('  ' + [0, 1, 2, 3].map((k) => `${REGISTER_NAMES.x[i + k]!.padStart(4)} ${h64(h.x[i + k]!)}`).join('  '));
  }
  if (h.f.some((v) => v !== 0n)) {
    for (let i = 0; i < 32; i += 4) {
      lines.push('  ' + [0, 1, 2, 3].map((k) => `${REGISTER_NAMES.f[i + k]!.padStart(4)} ${h64(h.f[i + k]!)}`).join('  '));
    }
  }
  const names = Object.keys(h.csrs);
  for (let i = 0; i < names.length; i += 4) {
    lines.push('  ' + names.slice(i, i + 4).map((n) => `${n.padStart(8)} ${h64(h.csrs[n]!)}`).join('  '));
  }
  lines.push('  code:');
  for (const l of h.disasm) {
    const raw = l.length === 2 ? l.raw.toString(16).padStart(4, '0').padEnd(8) : l.raw.toString(16).padStart(8, '0');
    lines.push(`  ${l.current ? '=>' : '  '} ${hex(l.pc)}${l.symbol ? ` <${l.symbol}>` : ''}:  ${raw}  ${l.text.replace(/\t/, ' ')}`);
  }
  return lines;
}

function seekText(r: SeekReport, file: string): string {
  const lines: string[] = [];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const ck = r.checkpoint ? `checkpoint ${r.checkpoint.id} at step ${r.checkpoint.totalInstret}` : 'the start';
  const t = r.timing;
  lines.push(`${file} at ${r.position}: instruction ${r.totalInstructions} (retired; ${r.totalAttempted} attempted), hart ${r.hart}, next event #${r.nextSeq}; from ${ck}: ${t.instructionsRun} steps in ${t.passes} pass${t.passes > 1 ? 'es' : ''}, ${(t.totalMs / 1000).toFixed(2)} s (restore ${(t.restoreMs / 1000).toFixed(2)} s, run ${(t.runMs / 1000).toFixed(2)} s)`);
  if (r.divergence) lines.push(`warning: the run to this position diverged from the recording: ${r.divergence.message}`);
  const focus = r.harts.find((h) => h.id === r.hart);
  if (focus) lines.push(...hartText(focus, true));
  for (const h of r.harts) if (h.id !== r.hart) lines.push(...hartText(h, false));
  const sym = r.symbolizeEvent;
  if (r.lastEvents.length) {
    lines.push('last events:');
    for (const e of r.lastEvents) lines.push(`  ${eventLine(e, sym)}`);
  }
  if (r.nextEvent) lines.push(`next event:\n  ${eventLine(r.nextEvent, sym)}`);
  return lines.join('\n');
}

function seekJson(r: SeekReport): unknown {
  return {
    trace: r.trace,
    position: r.position,
    target: r.target,
    checkpoint: r.checkpoint,
    hart: r.hart,
    totalInstructions: r.totalInstructions,
    totalAttempted: r.totalAttempted,
    roundTime: r.roundTime,
    nextSeq: r.nextSeq,
    harts: r.harts.map((h) => ({
      ...(toJsonValue({ ...h, x: undefined, f: undefined, disasm: undefined }) as object),
      x: Object.fromEntries(h.x.map((v, i) => [REGISTER_NAMES.x[i]!, hex(v)])),
      f: Object.fromEntries(h.f.map((v, i) => [REGISTER_NAMES.f[i]!, hex(v)])),
      disasm: h.disasm.map((l) => ({ pc: hex(l.pc), symbol: l.symbol ?? null, raw: hex(l.raw), text: l.text, current: l.current })),
    })),
    lastEvents: r.lastEvents.map((e) => eventToJson(e)),
    nextEvent: eventToJson(r.nextEvent),
    divergence: r.divergence ? { kind: r.divergence.kind, message: r.divergence.message } : null,
    warnings: r.warnings,
    timing: r.timing,
  };
}

function replayJson(r: ReplayReport): unknown {
  return {
    ...(toJsonValue({ ...r, issues: undefined, symbolize: undefined, symbolizeEvent: undefined }) as object),
    issues: r.issues.map((i) => ({
      kind: i.kind,
      message: i.message,
      ...(i.event ? {
        event: {
          seq: i.event.seq, hart: i.event.hart, instret: i.event.instret, pc: hex(i.event.pc), symbol: i.event.symbol ?? null, insn: i.event.insn ?? null,
          reason: i.event.divergence.reason,
          differences: toJsonValue(i.event.divergence.differences),
          expected: eventToJson(i.event.divergence.expected),
          actual: eventToJson(i.event.divergence.actual),
          before: { expected: i.event.divergence.before.expected.map((e) => eventToJson(e)), actual: i.event.divergence.before.actual.map((e) => eventToJson(e)) },
        },
      } : {}),
    })),
  };
}

export function replayCommand(file: string, o: ReplayCliOptions): number {
  configureEngine();
  try {
    const symbols = loadSymbolFiles(o.symbols);
    const drives = replayDrives(o.drive);
    if (o.to === undefined && o.events !== undefined) {
      throw new TraceError(`--events ${o.events}: it sets how many events are shown before --to POS; give --to, or leave --events out`);
    }
    if (o.to !== undefined) {
      parsePosition(o.to);
      const n = o.events === undefined ? 8 : Number(o.events);
      if (!Number.isInteger(n) || n < 0) throw new TraceError(`--events ${o.events}: expected a non-negative integer`);
      warmUpEngine();
      const r = seek(file, o.to, { force: o.force, events: n, symbols, drives });
      hsNames = hypervisorTrace(file);
      out(o.json ? `${JSON.stringify(seekJson(r))}\n` : `${seekText(r, file)}\n`);
      return r.divergence ? 1 : 0;
    }
    warmUpEngine();
    const r = replay(file, {
      force: o.force,
      symbols,
      drives,
      digests: o.digests !== false,
      onConsole: o.console ? (b) => out(Buffer.from(b).toString('latin1')) : undefined,
    });
    out(o.json ? `${JSON.stringify(replayJson(r))}\n` : `${replayText(r, file, o.digests === false)}\n`);
    return r.status === 'match' ? 0 : 1;
  } catch (e) {
    if (e instanceof TraceError) {
      if (o.json) out(`${JSON.stringify({ status: 'error', trace: file, error: e.message })}\n`);
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * `hvtrace replay FILE --gdb [HOST:]PORT [--to POS]`: replay to POS (default: the first
 * instruction) and serve gdb clients (src/gdb/server.ts) until one detaches or kills the session.
 * Exit 0 then; 2 for an unusable trace or position, a bad address or a port in use; 130 / 143 for
 * SIGINT / SIGTERM. The guest console (with --console) goes to stdout, everything else to stderr.
 */
export async function replayGdbCommand(file: string, o: ReplayCliOptions): Promise<number> {
  const { serveGdb, parseListenAddress, ListenError } = await import('../gdb/server.js');
  const { openReplayTarget } = await import('../gdb/replay-target.js');
  const log = (m: string): void => { process.stderr.write(`${m}\n`); };
  let target: { close(): void } | null = null;
  try {
    parseListenAddress(o.gdb!);
    if (o.json) throw new TraceError('--json does not apply to --gdb');
    const symbols = loadSymbolFiles(o.symbols);
    if (o.to !== undefined) parsePosition(o.to);
    configureEngine();
    warmUpEngine();
    holdLateSignals(); // before the server's own SIGINT / SIGTERM listeners, which it removes at its end
    const end = await serveGdb(() => {
      const t = openReplayTarget(file, {
        force: o.force,
        symbols,
        to: o.to,
        // gdb treats RISC-V watchpoints as firing before the access (have_nonsteppable_watchpoint)
        // and steps over the accessing instruction itself, in the direction it runs.
        watchStop: 'gdb',
        onConsole: o.console ? (b) => out(Buffer.from(b).toString('latin1')) : undefined,
      });
      target = t;
      return t;
    }, o.gdb!, { log });
    return end.kind === 'signal' ? (end.signal === 'SIGINT' ? 130 : 143) : 0;
  } catch (e) {
    if (e instanceof TraceError || e instanceof ListenError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    (target as { close(): void } | null)?.close();
  }
}
