/**
 * `--drive` (and QEMU's `-drive ... -device virtio-blk-device,drive=ID`) and `--rng`: virtio
 * devices from the command line, as MachineConfig drives / rngSeed (src/board/machine.ts).
 *
 *   --drive file=PATH[,format=raw][,readonly=on|off][,writeback=on|off][,if=virtio|none][,id=ID]
 *   --device virtio-blk-device,drive=ID       attaches an `if=none,id=ID` drive (QEMU's spelling)
 *   --device virtio-rng-device                same as --rng
 *   --rng [SEED]                              virtio-rng from a PRNG with this seed (default 0)
 *   --device virtio-serial-device --device virtconsole
 *                                             virtio-console with port 0 (hvc0); both are needed,
 *                                             as on QEMU (the bus, then the port on it). Its output
 *                                             joins the UART's on the console; --console-input
 *                                             virtio sends console input to it instead of the UART
 *
 * The image file is only read (in 4 KiB blocks, as the guest asks) and hashed (sha256, stored in
 * the trace); guest writes go to an overlay in memory, written back to the file at the end of a
 * `run` only with `writeback=on`. Every mistake is an ImageError with one line (exit 2), found
 * before anything is written.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ImageError } from '../image/loader.js';
import { DISK_BLOCK, type DiskBackend, type DriveConfig, type VirtioBlk } from '../devices/virtio-blk.js';

/** node:crypto (the image digest) is loaded when a drive is opened, not by every `run`. */
const requireBuiltin = createRequire(import.meta.url);

export interface DriveSpec {
  readonly file: string;
  readonly readonly: boolean;
  readonly writeback: boolean;
  readonly id?: string;
  readonly ifNone: boolean;
}

const DRIVE_KEYS = ['file', 'format', 'readonly', 'writeback', 'if', 'id'];

function onOff(flag: string, key: string, v: string): boolean {
  if (v === 'on' || v === 'true' || v === 'yes') return true;
  if (v === 'off' || v === 'false' || v === 'no') return false;
  throw new ImageError(`${flag}: ${key}=${v}: expected on or off`);
}

/** Parse one `--drive` value (QEMU's key=value,... syntax; a ",," is a literal comma). */
export function parseDriveSpec(text: string): DriveSpec {
  const flag = `--drive ${text}`;
  const parts = text.replace(/,,/g, '\0').split(',').map((p) => p.replace(/\0/g, ','));
  const kv = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ImageError(`${flag}: '${p}' is not KEY=VALUE (keys: ${DRIVE_KEYS.join(', ')})`);
    const k = p.slice(0, eq);
    if (!DRIVE_KEYS.includes(k)) throw new ImageError(`${flag}: unknown option '${k}' (known: ${DRIVE_KEYS.join(', ')})`);
    if (kv.has(k)) throw new ImageError(`${flag}: '${k}' given twice`);
    kv.set(k, p.slice(eq + 1));
  }
  const file = kv.get('file');
  if (!file) throw new ImageError(`${flag}: file=PATH is required`);
  const format = kv.get('format') ?? 'raw';
  if (format !== 'raw') throw new ImageError(`${flag}: format=${format}: only raw images are supported`);
  const iface = kv.get('if') ?? 'virtio';
  if (iface !== 'virtio' && iface !== 'none') throw new ImageError(`${flag}: if=${iface}: only if=virtio (attached) or if=none (with --device virtio-blk-device,drive=ID)`);
  const id = kv.get('id');
  if (iface === 'none' && !id) throw new ImageError(`${flag}: if=none needs id=ID for --device virtio-blk-device,drive=ID`);
  const readonly = kv.has('readonly') ? onOff(flag, 'readonly', kv.get('readonly')!) : false;
  const writeback = kv.has('writeback') ? onOff(flag, 'writeback', kv.get('writeback')!) : false;
  if (readonly && writeback) throw new ImageError(`${flag}: readonly=on and writeback=on exclude each other`);
  return { file, readonly, writeback, ifNone: iface === 'none', ...(id ? { id } : {}) };
}

/**
 * The drives in the order the guest sees them (vda, vdb, ...): `--drive` ones attached directly
 * (if=virtio) in the order given, then the `--device virtio-blk-device,drive=ID` ones in theirs.
 * Returns the drives, whether a `--device virtio-rng-device` asked for an rng and whether
 * `--device virtio-serial-device --device virtconsole` asked for a virtio console.
 */
export function resolveDrives(drives: readonly string[], devices: readonly string[]): { specs: DriveSpec[]; rng: boolean; virtconsole: boolean } {
  const specs = drives.map(parseDriveSpec);
  const byId = new Map<string, DriveSpec>();
  for (const s of specs) {
    if (s.id === undefined) continue;
    if (byId.has(s.id)) throw new ImageError(`--drive: id=${s.id} given twice`);
    byId.set(s.id, s);
  }
  const out = specs.filter((s) => !s.ifNone);
  const attached = new Set<string>();
  let rng = false;
  let serial = false;
  let virtconsole = false;
  for (const d of devices) {
    const [type, ...opts] = d.split(',');
    if (type === 'virtio-rng-device' || type === 'virtio-serial-device' || type === 'virtconsole') {
      if (opts.length > 0) throw new ImageError(`--device ${d}: ${type} takes no options here${type === 'virtio-rng-device' ? ' (the seed: --rng SEED)' : ' (its output is the console, its input --console-input virtio)'}`);
      const seen = type === 'virtio-rng-device' ? rng : type === 'virtconsole' ? virtconsole : serial;
      if (seen && type !== 'virtio-rng-device') throw new ImageError(`--device ${d}: given twice (one virtio console, port 0 only)`);
      if (type === 'virtio-rng-device') rng = true;
      else if (type === 'virtio-serial-device') serial = true;
      else if (!serial) throw new ImageError(`--device ${d}: virtconsole needs --device virtio-serial-device before it (its bus)`);
      else virtconsole = true;
      continue;
    }
    if (type !== 'virtio-blk-device') throw new ImageError(`--device ${d}: unknown device '${type}' (virtio-blk-device,drive=ID, virtio-rng-device, virtio-serial-device, virtconsole)`);
    const kv = new Map(opts.map((o) => [o.slice(0, Math.max(0, o.indexOf('='))), o.slice(o.indexOf('=') + 1)] as const));
    for (const k of kv.keys()) if (k !== 'drive') throw new ImageError(`--device ${d}: unknown option '${k || opts[0]}' (drive=ID)`);
    const id = kv.get('drive');
    if (!id) throw new ImageError(`--device ${d}: drive=ID is required`);
    const s = byId.get(id);
    if (!s) throw new ImageError(`--device ${d}: no --drive with id=${id}`);
    if (!s.ifNone) throw new ImageError(`--device ${d}: drive ${id} is attached already (give it if=none)`);
    if (attached.has(id)) throw new ImageError(`--device ${d}: drive ${id} is attached twice`);
    attached.add(id);
    out.push(s);
  }
  for (const s of specs) if (s.ifNone && !attached.has(s.id!)) throw new ImageError(`--drive ${s.file}: if=none,id=${s.id} is not used by any --device virtio-blk-device,drive=${s.id}`);
  if (serial && !virtconsole) throw new ImageError('--device virtio-serial-device: add --device virtconsole (the only port hvtrace\'s virtio-serial bus has)');
  return { specs: out, rng, virtconsole };
}

/** `--console-input uart|virtio`: where console input goes (virtio needs the virtconsole). */
export function parseConsoleInput(v: string | undefined, virtconsole: boolean): boolean {
  if (v === undefined || v === 'uart') return false;
  if (v !== 'virtio') throw new ImageError(`--console-input ${v}: expected uart or virtio`);
  if (!virtconsole) throw new ImageError('--console-input virtio needs --device virtio-serial-device --device virtconsole');
  return true;
}

/** `--rng [SEED]`: undefined (no rng), true (seed 0) or the seed as given. */
export function parseRngSeed(v: string | boolean | undefined, fromDevice: boolean): number | undefined {
  if (v === undefined || v === false) return fromDevice ? 0 : undefined;
  if (v === true) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new ImageError(`--rng ${v}: the seed must be an integer in 0..4294967295`);
  return n;
}

/** A drive's image file: read block by block, hashed once when opened. */
export class FileDiskBackend implements DiskBackend {
  readonly size: number;
  readonly sha256: string;
  private fd: number;

  constructor(readonly name: string, writable: boolean) {
    let st;
    try {
      st = statSync(name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ImageError(`--drive ${name}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (st.isDirectory()) throw new ImageError(`--drive ${name}: is a directory, not a disk image`);
    if (!st.isFile()) throw new ImageError(`--drive ${name}: not a regular file`);
    try {
      this.fd = openSync(name, writable ? 'r+' : 'r');
    } catch (e) {
      throw new ImageError(`--drive ${name}: cannot open${writable ? ' for writeback=on' : ''}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.size = fstatSync(this.fd).size;
    if (this.size < 512) {
      closeSync(this.fd);
      throw new ImageError(`--drive ${name}: ${this.size} bytes: a disk image has at least one 512-byte sector`);
    }
    const { createHash } = requireBuiltin('node:crypto') as typeof import('node:crypto');
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (let at = 0; at < this.size;) {
      const n = readSync(this.fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      at += n;
    }
    this.sha256 = h.digest('hex');
  }

  readBase(index: number): Uint8Array {
    const out = new Uint8Array(DISK_BLOCK);
    const at = index * DISK_BLOCK;
    if (at < this.size) readSync(this.fd, out, 0, Math.min(DISK_BLOCK, this.size - at), at);
    return out;
  }

  /** writeback=on: the overlay's blocks into the file (never beyond its size). */
  writeBack(blk: VirtioBlk): number {
    let n = 0;
    for (const [i, b] of blk.disk.overlayBlocks()) {
      const at = i * DISK_BLOCK;
      if (at >= this.size) continue;
      writeSync(this.fd, b, 0, Math.min(DISK_BLOCK, this.size - at), at);
      n++;
    }
    return n;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Open the drives' files (a directory, a missing file, ... : ImageError). */
export function openDrives(specs: readonly DriveSpec[]): { drives: DriveConfig[]; files: FileDiskBackend[] } {
  const files: FileDiskBackend[] = [];
  try {
    for (const s of specs) files.push(new FileDiskBackend(s.file, s.writeback));
  } catch (e) {
    for (const f of files) f.close();
    throw e;
  }
  return { drives: specs.map((s, k) => ({ backend: files[k]!, readonly: s.readonly })), files };
}
