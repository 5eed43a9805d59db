/**
 * Opening a trace for replay (src/replay/replayer.ts is the API): the stored configuration and
 * images checked (sha256, schema and hvtrace version, status) and turned into a MachineConfig.
 */
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { TraceReader, TraceError, SCHEMA_VERSION, HVTRACE_VERSION, type TraceConfig, type ImageRole, type ImageRef } from '../trace/store.js';
import { TraceDiskBackend } from '../trace/drive.js';
import type { DiskBackend, DriveConfig } from '../devices/virtio-blk.js';
import { type MachineConfig, type Image } from '../board/machine.js';
import { type SymbolFile } from '../image/symbols.js';

// ---------------------------------------------------------------------------------------------
// opening a trace for replay
// ---------------------------------------------------------------------------------------------

export interface ReplayOpenOptions extends SymbolOptions {
  /** Replay despite image / version / status mismatches (they become warnings). */
  force?: boolean;
  /**
   * Disk images given for the trace's drives (`replay --drive file=PATH`), in drive order: each
   * must be the image recorded (sha256), and serves the blocks the trace lacks.
   */
  drives?: readonly DiskBackend[];
}

/** Symbols beyond the ELF images in the trace (src/image/symbols.ts). */
export interface SymbolOptions {
  /** `--symbols` files (ELF or System.map), looked up before the images' own symbols. */
  symbols?: readonly SymbolFile[];
  /** Use the System.map next to a raw kernel Image (default true). */
  autoSymbols?: boolean;
}

export interface OpenedTrace {
  readonly reader: TraceReader;
  readonly trace: TraceConfig;
  readonly machineConfig: MachineConfig;
  /** Problems that `force` let through. */
  readonly warnings: string[];
  readonly symbolOptions: SymbolOptions;
}

export const short = (h: string): string => h.slice(0, 12);
const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Open a trace and check that it can be replayed by this hvtrace. Throws TraceError with a
 * one-line message; the reader is closed on error.
 */
export function openForReplay(path: string, opts: ReplayOpenOptions = {}): OpenedTrace {
  const reader = TraceReader.open(path);
  try {
    return checkReplayable(reader, opts);
  } catch (e) {
    reader.close();
    throw e;
  }
}

function checkReplayable(reader: TraceReader, opts: ReplayOpenOptions): OpenedTrace {
  const path = reader.path;
  const trace = reader.config;
  if (!trace.machine) {
    throw new TraceError(`${path}: cannot replay: the trace has no machine configuration (produced by ${trace.producer}; a reference import can only be diffed)`);
  }
  const problems: string[] = [];
  if (reader.schemaVersion !== SCHEMA_VERSION || trace.schemaVersion !== SCHEMA_VERSION) {
    problems.push(`trace schema version ${trace.schemaVersion ?? reader.schemaVersion} differs from this hvtrace's (${SCHEMA_VERSION})`);
  }
  if (trace.hvtraceVersion !== HVTRACE_VERSION) {
    problems.push(`recorded by hvtrace ${trace.hvtraceVersion}, this is hvtrace ${HVTRACE_VERSION} (the emulator may behave differently)`);
  }
  // A recording whose recorder died ('truncated') or is still running is replayed as the prefix
  // it is (replayOpened). Events missing, or counts that disagree with the recorder's: warned
  // about (the comparison then shows where).
  const damage = reader.damage().map((d) => `the trace is damaged: ${d}`);
  const m = trace.machine;
  const refs: [ImageRole, ImageRef | undefined][] = [
    ['firmware', typeof m.bios === 'object' ? m.bios : undefined],
    ['kernel', m.kernel], ['initrd', m.initrd], ['dtb', m.dtb], ['pflash', m.pflash],
    // Guests of the built-in hypervisor.
    ...(m.guests ?? []).flatMap((g, k): [ImageRole, ImageRef | undefined][] => [[`guest${k}`, g.image], [`guest${k}-initrd`, g.initrd]]),
  ];
  const stored = new Map(reader.images().map((i) => [i.role, i]));
  const images = new Map<ImageRole, Image>();
  for (const [role, ref] of refs) {
    if (!ref) continue;
    const s = stored.get(role);
    if (!s) throw new TraceError(`${path}: cannot replay: the ${role} image (${ref.name}) is not stored in the trace`);
    let bytes: Uint8Array;
    try {
      const r = reader.query('SELECT data FROM images WHERE role = ?', [role]);
      bytes = new Uint8Array(inflateRawSync(r.rows[0]![0] as Buffer));
    } catch (e) {
      throw new TraceError(`${path}: cannot replay: the ${role} image is corrupt (${(e as Error).message})`);
    }
    const actual = sha256hex(bytes);
    if (actual !== ref.sha256 || bytes.length !== ref.size) {
      problems.push(`the ${role} image stored in the trace (sha256 ${short(actual)}, ${bytes.length} bytes) is not the one recorded (${ref.name}: sha256 ${short(ref.sha256)}, ${ref.size} bytes)`);
    } else if (s.sha256 !== ref.sha256) {
      problems.push(`the ${role} image table entry (sha256 ${short(s.sha256)}) disagrees with the recorded configuration (sha256 ${short(ref.sha256)})`);
    }
    images.set(role, { name: ref.name, bytes });
  }
  if (problems.length > 0 && !opts.force) {
    throw new TraceError(`${path}: cannot replay: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}; use --force to replay anyway`);
  }
  const given = opts.drives ?? [];
  if (given.length > (m.drives?.length ?? 0)) {
    throw new TraceError(`${path}: cannot replay with ${given.length} --drive: the recording had ${m.drives?.length ?? 0} drive${m.drives?.length === 1 ? '' : 's'}`);
  }
  const drives = (m.drives ?? []).map((d, k): DriveConfig => {
    const g = given[k];
    if (g && g.sha256 !== d.sha256) {
      // Never forced: the blocks it would serve are not the ones the guest read.
      throw new TraceError(`${path}: cannot replay: drive ${k} (${g.name}) changed since the recording (sha256 ${short(g.sha256)}, ${g.size} bytes; recorded ${d.name}: sha256 ${short(d.sha256)}, ${d.size} bytes)`);
    }
    return { backend: new TraceDiskBackend(d.name, d.sha256, d.size, reader.diskBlocks(k, 0), g ?? null), readonly: d.readonly };
  });
  const machineConfig: MachineConfig = {
    ramSize: m.ramSize,
    harts: m.harts,
    bios: typeof m.bios === 'object' ? images.get('firmware')! : m.bios,
    kernel: images.get('kernel'),
    initrd: images.get('initrd'),
    append: m.append,
    dtb: images.get('dtb'),
    ...(m.rtc ? { rtc: { base: m.rtc.base } } : {}),
    ...(drives.length > 0 ? { drives } : {}),
    ...(m.rngSeed !== undefined ? { rngSeed: m.rngSeed } : {}),
    ...(m.virtconsole ? { virtconsole: { input: m.virtconsole.input } } : {}),
    ...(m.virtio ? { virtio: true } : {}),
    ...(m.aia ? { aia: { mode: m.aia.mode, guests: m.aia.guests } } : {}),
    ...(m.sscofpmf ? { sscofpmf: true } : {}),
    ...(m.qemuBoard ? { qemuBoard: true } : {}),
    ...(images.get('pflash') ? { pflash: images.get('pflash')! } : {}),
    ...(m.guests ? {
      guests: m.guests.map((g, k) => ({
        image: images.get(`guest${k}`)!, vcpus: g.vcpus, memSize: g.memSize, append: g.append, initrd: images.get(`guest${k}-initrd`),
      })),
    } : {}),
  };
  return { reader, trace, machineConfig, warnings: [...damage, ...problems], symbolOptions: { symbols: opts.symbols, autoSymbols: opts.autoSymbols } };
}
