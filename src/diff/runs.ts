/**
 * What `diff` compares before the events: images, configuration, input, console and end of run
 * (compareRuns), and what a reference import declares (src/diff/compare.ts is the API).
 */
import { createHash } from 'node:crypto';
import { type EventKind } from '../trace/model.js';
import { TraceReader, TraceError, type StoredMachineConfig, type ImageRef } from '../trace/store.js';

// ---------------------------------------------------------------------------
// Trace files
// ---------------------------------------------------------------------------

/** What a reference import (meta 'reference') declares about itself. */
export interface ReferenceInfo {
  /** e.g. "qemu 7.2 -d int". */
  source: string;
  /** Fields its events carry; the others are placeholders and are not compared. */
  fields: string[];
  /** Kinds it can express; a diff against it compares only those (unless --kinds says otherwise). */
  kinds: EventKind[];
  [k: string]: unknown;
}

export function referenceInfo(r: TraceReader): ReferenceInfo | null {
  const m = r.meta('reference');
  if (!m) return null;
  try {
    const v = JSON.parse(m) as ReferenceInfo;
    if (!Array.isArray(v.fields) || !Array.isArray(v.kinds)) throw new Error('fields/kinds missing');
    return v;
  } catch (e) {
    throw new TraceError(`${r.path}: corrupt meta 'reference' (${(e as Error).message})`);
  }
}

/**
 * What `diff` compares before the events: the images (sha256 per role), the configuration
 * (memory, harts, firmware, command line, guests, quantum, instruction limit), the input, the
 * console output and how the run ended. `--ignore AREA` leaves one out.
 */
export const RUN_AREAS = ['images', 'config', 'input', 'console', 'status'] as const;
export type RunArea = (typeof RUN_AREAS)[number];

/** A difference between the two recordings other than in their events. */
export interface RunDifference {
  area: RunArea;
  /** What differs: an image role, a configuration item (memory, harts, bios, append, ...), 'input', 'console', 'status'. */
  item: string;
  /** The value on each side, as text (null: absent). */
  a: string | null;
  b: string | null;
  /** One line saying what differs, naming both values. */
  message: string;
}

// ---------------------------------------------------------------------------------------------
// images, configuration, input, console, end of run
// ---------------------------------------------------------------------------------------------

const ROLE_ORDER = ['firmware', 'kernel', 'initrd', 'dtb'];
const roleRank = (r: string): number => (ROLE_ORDER.includes(r) ? ROLE_ORDER.indexOf(r) : ROLE_ORDER.length);
const short = (h: string): string => h.slice(0, 12);
const sizeText = (n: number): string => (n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`);
const quote = (s: string | undefined | null): string => (s === undefined || s === null ? '(none)' : JSON.stringify(s));

/** Whether a recording's guest accessed the goldfish RTC (its MMIO page at 0x101000). */
function readsRtc(r: TraceReader): boolean {
  const n = r.query("SELECT count(*) FROM events WHERE kind = 'mmio' AND a >= 1052672 AND a < 1056768").rows[0]![0];
  return Number(n ?? 0) > 0;
}

/** The differences between two hvtrace recordings outside their events (RUN_AREAS order). */
export function compareRuns(ra: TraceReader, rb: TraceReader, ignore: readonly RunArea[] = []): RunDifference[] {
  const out: RunDifference[] = [];
  const A = ra.path, B = rb.path;
  const on = (a: RunArea) => !ignore.includes(a);
  const add = (area: RunArea, item: string, a: string | null, b: string | null, message: string) => out.push({ area, item, a, b, message });
  // images: sha256 per role
  if (on('images')) {
    const ia = new Map(ra.images().map((i) => [i.role as string, i]));
    const ib = new Map(rb.images().map((i) => [i.role as string, i]));
    const roles = [...new Set([...ia.keys(), ...ib.keys()])].sort((x, y) => roleRank(x) - roleRank(y) || x.localeCompare(y));
    const desc = (i: ImageRef | undefined) => (i ? `${i.name} (sha256 ${short(i.sha256)}, ${i.size} bytes)` : null);
    for (const role of roles) {
      const x = ia.get(role), y = ib.get(role);
      if (x && y && x.sha256 === y.sha256) continue;
      const msg = x && y
        ? `the ${role} image differs: ${A} has ${desc(x)}, ${B} has ${desc(y)}`
        : `only ${x ? A : B} has a ${role} image: ${desc(x ?? y)}`;
      add('images', role, x ? x.sha256 : null, y ? y.sha256 : null, msg);
    }
  }
  // configuration
  const ca = ra.config, cb = rb.config;
  if (on('config')) {
    const item = (name: string, what: string, x: string | null, y: string | null) => {
      if (x !== y) add('config', name, x, y, `the ${what} differs: ${A} ${x ?? '(none)'}, ${B} ${y ?? '(none)'}`);
    };
    const ma = ca.machine!, mb = cb.machine!;
    item('memory', 'RAM size (-m)', sizeText(ma.ramSize), sizeText(mb.ramSize));
    item('harts', 'number of harts (--smp)', String(ma.harts), String(mb.harts));
    const bios = (m: StoredMachineConfig) => (typeof m.bios === 'object' ? 'an image (firmware)' : m.bios);
    item('bios', 'firmware (--bios)', bios(ma), bios(mb));
    item('append', 'kernel command line (--append)', quote(ma.append), quote(mb.append));
    const ga = ma.guests ?? [], gb = mb.guests ?? [];
    item('guests', 'number of guests (--guest)', String(ga.length), String(gb.length));
    for (let k = 0; k < Math.min(ga.length, gb.length); k++) {
      const x = ga[k]!, y = gb[k]!;
      item(`guest${k}.vcpus`, `vCPUs of guest ${k} (--vcpus)`, String(x.vcpus), String(y.vcpus));
      item(`guest${k}.memory`, `RAM of guest ${k} (--guest-mem)`, sizeText(x.memSize), sizeText(y.memSize));
      item(`guest${k}.append`, `command line of guest ${k} (--guest-append)`, quote(x.append), quote(y.append));
    }
    // The board's devices: the disks (by content), the RTC's date, the RNG seed, virtio itself.
    const da = ma.drives ?? [], db = mb.drives ?? [];
    item('drives', 'number of disks (--drive)', String(da.length), String(db.length));
    for (let k = 0; k < Math.min(da.length, db.length); k++) {
      const x = da[k]!, y = db[k]!;
      const disk = (d: typeof x) => `${d.name} (sha256 ${short(d.sha256)}, ${sizeText(d.size)}${d.readonly ? ', read-only' : ''})`;
      if (x.sha256 !== y.sha256 || x.readonly !== y.readonly) item(`drive${k}`, `disk ${k} (--drive)`, disk(x), disk(y));
    }
    // The RTC's date defaults to the host clock at record time: it is a difference only when a
    // guest looked at it (an MMIO access to the goldfish RTC), else two recordings of one run
    // made a second apart would always differ.
    const rtc = (m: typeof ma) => (m.rtc ? new Date(m.rtc.base * 1000).toISOString().replace('.000Z', 'Z') : 'none');
    if (rtc(ma) !== rtc(mb) && (readsRtc(ra) || readsRtc(rb))) item('rtc', 'RTC date at virtual time 0 (--rtc base=)', rtc(ma), rtc(mb));
    item('rng', 'virtio-rng seed (--rng)', ma.rngSeed === undefined ? 'none' : String(ma.rngSeed), mb.rngSeed === undefined ? 'none' : String(mb.rngSeed));
    const hvc = (m: typeof ma) => (m.virtconsole ? (m.virtconsole.input ? 'yes, console input to it' : 'yes') : 'none');
    item('virtconsole', 'virtio console (--device virtconsole, --console-input)', hvc(ma), hvc(mb));
    item('virtio', 'virtio-mmio transports on the board', ma.virtio ? 'yes' : 'no', mb.virtio ? 'yes' : 'no');
    const aia = (m: typeof ma) => (m.aia ? `${m.aia.mode}${m.aia.guests ? `, ${m.aia.guests} guest files` : ''}` : 'none (PLIC)');
    item('aia', 'interrupt controller (--aia, --aia-guests)', aia(ma), aia(mb));
    item('qemu-board', 'fw-cfg, flash and the pmu/platform-bus DT nodes on the board', ma.qemuBoard ? 'yes' : 'no', mb.qemuBoard ? 'yes' : 'no');
    item('pflash', 'flash bank 0 image (--pflash)', ma.pflash ? `${ma.pflash.name} (sha256 ${short(ma.pflash.sha256)})` : 'none', mb.pflash ? `${mb.pflash.name} (sha256 ${short(mb.pflash.sha256)})` : 'none');
    item('sscofpmf', 'Sscofpmf on the harts (--cpu)', ma.sscofpmf ? 'yes' : 'no', mb.sscofpmf ? 'yes' : 'no');
    item('quantum', 'scheduler quantum (--quantum)', String(ca.quantum), String(cb.quantum));
    item('max-insns', 'instruction limit (--max-insns)', ca.maxInsns === null ? 'none' : String(ca.maxInsns), cb.maxInsns === null ? 'none' : String(cb.maxInsns));
  }
  // input (the bytes and when they were queued; not where they came from)
  if (on('input')) {
    const inp = (r: TraceReader) => {
      const q = r.inputQueue();
      const h = createHash('sha256');
      let n = 0;
      for (const x of q) {
        h.update(`${x.vtime}:${x.data.length}:`).update(x.data);
        n += x.data.length;
      }
      return { n, hash: h.digest('hex'), bytes: Buffer.concat(q.map((x) => x.data)).toString('hex') };
    };
    const x = inp(ra), y = inp(rb);
    if (x.hash !== y.hash) {
      add('input', 'input', `${x.n} bytes`, `${y.n} bytes`, x.bytes === y.bytes
        ? `the input was queued at other times: the same ${x.n} bytes`
        : `the input differs: ${A} ${x.n} bytes (${ca.input.source}${ca.input.name ? ` ${ca.input.name}` : ''}), ${B} ${y.n} bytes (${cb.input.source}${cb.input.name ? ` ${cb.input.name}` : ''})`);
    }
  }
  // console output
  if (on('console')) {
    const x = ra.consoleBytes(), y = rb.consoleBytes();
    if (Buffer.compare(x, y) !== 0) {
      let i = 0;
      while (i < x.length && i < y.length && x[i] === y[i]) i++;
      let line = 1;
      for (let j = 0; j < i; j++) if (x[j] === 10) line++;
      const from = i > 0 ? x.lastIndexOf(10, i - 1) + 1 : 0;
      const excerpt = (b: Uint8Array) => {
        if (i >= b.length) return '(end of output)';
        let end = b.indexOf(10, i);
        if (end < 0) end = b.length;
        const start = Math.max(from, i - 40);
        return JSON.stringify(Buffer.from(b.subarray(start, Math.min(end, i + 40))).toString('latin1'));
      };
      const where = i === x.length || i === y.length
        ? `${i === x.length ? A : B}'s output ends at byte ${i}, where the other's goes on (line ${line})`
        : `first difference at byte ${i} (line ${line})`;
      add('console', 'console', `${x.length} bytes`, `${y.length} bytes`,
        `the console output differs (${A} ${x.length} bytes, ${B} ${y.length} bytes): ${where}: ${A} ${excerpt(x)}, ${B} ${excerpt(y)}`);
    }
  }
  // end of run
  if (on('status')) {
    const end = (r: TraceReader) => {
      const e = r.exit;
      return `${r.status}${e ? ` (${e.kind}, exit ${e.exitCode}${e.message ? `: ${e.message}` : ''})` : ''}`;
    };
    const x = end(ra), y = end(rb);
    if (x !== y) add('status', 'status', x, y, `the run ended differently: ${A} ${x}, ${B} ${y}`);
  }
  return out;
}
