/**
 * `--input-script FILE` (run, record): console input that waits for the guest.
 *
 *   # comments, and blank lines
 *   expect-timeout 20s        # virtual time for each following expect (ns, us, ms, s, min; off)
 *   expect "login: "          # wait until this text has appeared on the console (UART output)
 *   send "root\n"             # then type this (escapes: \n \r \t \e \0 \\ \" \xHH)
 *
 * A `send` is queued only once every `expect` before it has matched, at the start of the next
 * scheduler round (its exact virtual time), as ordinary input: `record` stores it in the trace's
 * input queue like --input bytes, so a replay needs no script. Matching reads the console bytes
 * the guest wrote since the previous match (what was already printed counts, as in expect(1)).
 * Everything here is a function of the guest's output and virtual time, so the same script on
 * the same machine gives the same run.
 *
 * An expect that does not match within its expect-timeout of virtual time ends the run (exit 4,
 * like the instruction limit; a recording is closed as aborted); with no timeout the run goes on
 * until the guest halts or every hart waits forever. A syntax error is one line with the line
 * and column (exit 2) before anything runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { ImageError } from '../image/loader.js';
import type { HaltInfo } from '../board/machine.js';

export type ScriptStep =
  | { readonly kind: 'expect'; readonly text: string; readonly line: number; readonly timeout: number | null }
  | { readonly kind: 'send'; readonly bytes: Uint8Array; readonly line: number };

/** Virtual nanoseconds (= instructions, DESIGN.md §3) per unit of expect-timeout. */
const UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, min: 60e9 };

class SyntaxError_ extends ImageError {}

/**
 * Parse a script (the file's text). Errors: `FILE:LINE:COL: message` (ImageError: exit 2).
 * Expect texts are matched as bytes: each is kept as a latin1 string of its UTF-8 bytes.
 */
export function parseInputScript(text: string, file: string): ScriptStep[] {
  const steps: ScriptStep[] = [];
  let timeout: number | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const ln = i + 1;
    const err = (col: number, msg: string): never => {
      throw new SyntaxError_(`${file}:${ln}:${col}: ${msg}`);
    };
    let pos = 0;
    const skipSpace = (): void => {
      while (pos < raw.length && (raw[pos] === ' ' || raw[pos] === '\t')) pos++;
    };
    skipSpace();
    if (pos >= raw.length || raw[pos] === '#') return;
    const start = pos;
    while (pos < raw.length && /[a-z-]/.test(raw[pos]!)) pos++;
    const word = raw.slice(start, pos);
    if (word === '') err(start + 1, `expected a command (expect, send, expect-timeout), found '${raw[start]}'`);
    if (pos < raw.length && raw[pos] !== ' ' && raw[pos] !== '\t') err(pos + 1, `unexpected '${raw[pos]}' after '${word}'`);
    skipSpace();
    const argCol = pos + 1;
    let value: string | Uint8Array | number | null;
    if (word === 'expect' || word === 'send') {
      if (raw[pos] !== '"') err(argCol, pos >= raw.length ? `${word} needs a "quoted string"` : `expected a "quoted string" after ${word}`);
      const s = readString(raw, pos, err);
      value = s.bytes;
      pos = s.end;
    } else if (word === 'expect-timeout') {
      const m = /^(?:(\d+(?:\.\d+)?)(ns|us|ms|s|min)|off|none)(?=\s|#|$)/.exec(raw.slice(pos));
      if (!m) err(argCol, 'expected a duration of virtual time such as 500ms, 5s or 2min (or off)');
      value = m![1] === undefined ? null : Math.round(Number(m![1]) * UNITS[m![2]!]!);
      if (value === 0) value = null;
      pos += m![0].length;
    } else {
      return err(start + 1, `unknown command '${word}' (expected expect, send or expect-timeout)`);
    }
    skipSpace();
    if (pos < raw.length && raw[pos] !== '#') err(pos + 1, `unexpected text after the ${word} argument: '${raw.slice(pos)}'`);
    if (word === 'expect-timeout') timeout = value as number | null;
    else if (word === 'expect') {
      const bytes = value as Uint8Array;
      if (bytes.length === 0) err(argCol, 'expect "": the text to wait for is empty');
      steps.push({ kind: 'expect', text: Buffer.from(bytes).toString('latin1'), line: ln, timeout });
    } else {
      steps.push({ kind: 'send', bytes: value as Uint8Array, line: ln });
    }
  });
  return steps;
}

/** A double-quoted string at raw[at] with its escapes, as UTF-8 bytes. */
function readString(raw: string, at: number, err: (col: number, msg: string) => never): { bytes: Uint8Array; end: number } {
  const out: number[] = [];
  let pos = at + 1;
  for (;;) {
    if (pos >= raw.length) return err(at + 1, 'unterminated string (no closing ")');
    const c = raw[pos]!;
    if (c === '"') return { bytes: Uint8Array.from(out), end: pos + 1 };
    if (c !== '\\') {
      const cp = raw.codePointAt(pos)!;
      const ch = String.fromCodePoint(cp);
      out.push(...Buffer.from(ch, 'utf8'));
      pos += ch.length;
      continue;
    }
    const e = raw[pos + 1];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, e: 27, '0': 0, '\\': 92, '"': 34, "'": 39, a: 7, b: 8 };
    if (e !== undefined && e in simple) {
      out.push(simple[e]!);
      pos += 2;
    } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(raw.slice(pos + 2, pos + 4))) {
      out.push(parseInt(raw.slice(pos + 2, pos + 4), 16));
      pos += 4;
    } else {
      return err(pos + 1, e === undefined ? 'unterminated string (no closing ")' : `unknown escape '\\${e}' (use \\n \\r \\t \\e \\0 \\\\ \\" or \\xHH)`);
    }
  }
}

/** Where a script stopped waiting: for the messages of a timeout or of a guest that never printed it. */
export interface ScriptWait {
  readonly line: number;
  readonly text: string;
  /** Virtual time the expect started waiting. */
  readonly since: number;
}

/**
 * Runs a parsed script against a machine's console: feed it every console byte (`onConsole`)
 * with the time of the next round start; it calls `queue(bytes, vtime)` for each send whose
 * expects have matched.
 */
export class InputScriptDriver {
  private pos = 0;
  /** Console text since the last match (latin1: one char per byte), trimmed to what may still match. */
  private seen = '';
  private waitingSince = 0;

  constructor(
    private readonly steps: readonly ScriptStep[],
    private readonly queue: (bytes: Uint8Array, vtime: number) => void,
  ) {}

  /** Queue the sends before the first expect (at virtual time 0). */
  start(): void {
    this.advance(0);
  }

  /** Console output during the round that ends at `nextRound` (the next round's start time). */
  onConsole(bytes: Uint8Array, nextRound: number): void {
    if (this.pos >= this.steps.length) return;
    this.seen += Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    this.advance(nextRound);
  }

  private advance(at: number): void {
    while (this.pos < this.steps.length) {
      const s = this.steps[this.pos]!;
      if (s.kind === 'send') {
        this.queue(s.bytes, at);
        this.pos++;
        continue;
      }
      const k = this.seen.indexOf(s.text);
      if (k < 0) {
        // Keep only a tail that could still begin a match.
        if (this.seen.length >= s.text.length) this.seen = this.seen.slice(this.seen.length - s.text.length + 1);
        return;
      }
      this.seen = this.seen.slice(k + s.text.length);
      this.pos++;
      this.waitingSince = at;
    }
  }

  /** The expect being waited for, or null when the script has nothing left to wait for. */
  get waiting(): ScriptWait | null {
    const s = this.steps[this.pos];
    return s && s.kind === 'expect' ? { line: s.line, text: s.text, since: this.waitingSince } : null;
  }

  /** Virtual time at which the current expect times out (Infinity: no timeout, or none waiting). */
  get deadline(): number {
    const s = this.steps[this.pos];
    return s && s.kind === 'expect' && s.timeout !== null ? this.waitingSince + s.timeout : Infinity;
  }
}

/** How an expect shows in messages: quoted, with control characters escaped. */
export function showExpect(text: string): string {
  return JSON.stringify(text).replace(/\\u001b/g, '\\e');
}

/** Whole rounds of `quantum` from `time` to `deadline` (at least 1): how far a step may run before the next timeout check. */
export function roundsUntil(time: number, deadline: number, quantum: number, max: number): number {
  if (deadline === Infinity) return max;
  return Math.max(1, Math.min(max, Math.ceil((deadline - time) / quantum)));
}

/** Read and parse --input-script FILE (one-line ImageError: exit 2); --input excludes it. */
export function readInputScript(path: string, input?: string): ScriptStep[] {
  if (input !== undefined) throw new ImageError('--input and --input-script exclude each other: put the bytes in the script as send "..." lines');
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new ImageError(`--input-script ${path}: is a directory`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`--input-script ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseInputScript(text, path);
}

/** Virtual time as people read it: 5 s, 250 ms, 12 us, 40 ns. */
export function formatVtime(ns: number): string {
  if (ns >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

/** The one-line message of an expect that timed out. */
export function scriptTimeoutMessage(file: string, d: InputScriptDriver): string {
  const w = d.waiting!;
  return `input script ${file}:${w.line}: ${showExpect(w.text)} did not appear within ${formatVtime(d.deadline - w.since)} of virtual time`;
}

/** A note when the run ended while the script still waited for an expect (null otherwise). */
export function scriptEndNote(file: string, d: InputScriptDriver, halt: HaltInfo): string | null {
  const w = d.waiting;
  if (!w || halt.kind === 'limit' && halt.message.startsWith('input script ')) return null;
  return `input script ${file}:${w.line}: the run ended while waiting for ${showExpect(w.text)}`;
}
