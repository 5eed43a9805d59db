import { readFileSync, statSync } from 'node:fs';
import { ImageError } from '../image/loader.js';
import type { Image } from '../board/machine.js';
import { MAX_RAM_BYTES } from '../mem/bus.js';

/** Read an image file; a missing or unreadable file is a one-line ImageError. */
export function readImage(path: string, what: string): Image {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ImageError(`${what} ${path}: no such file`);
  }
  if (!st.isFile()) throw new ImageError(`${what} ${path}: not a regular file`);
  try {
    const b = readFileSync(path);
    // A large file's Buffer owns its memory: use it as is (a Linux Image is MBs). Small files
    // may sit in Node's shared Buffer pool: copy those, so that bytes.buffer is the image only.
    const own = b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;
    return { name: path, bytes: own ? new Uint8Array(b.buffer, 0, b.byteLength) : new Uint8Array(b) };
  } catch (e) {
    throw new ImageError(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** Parse a QEMU-style memory size: "256M", "1G", "512m", "268435456" (bytes if no suffix >= 1M, else MiB like QEMU). */
export function parseMemSize(s: string): number {
  const m = /^(\d+)([kKmMgG]?)[bB]?$/.exec(s.trim());
  if (!m) throw new ImageError(`-m ${s}: expected a size like 256M or 1G`);
  const n = Number(m[1]);
  const unit = m[2]!.toUpperCase();
  // QEMU: a bare number is MiB.
  const mult = unit === 'K' ? 1024 : unit === 'G' ? 1024 ** 3 : unit === 'M' || unit === '' ? 1024 ** 2 : 1;
  return n * mult;
}

const MiB = 1024 * 1024;
/** The largest -m, 16G (src/mem/bus.ts MAX_RAM_BYTES). */
export const MAX_RAM_MIB = MAX_RAM_BYTES / MiB;

/**
 * -m SIZE for the machine's RAM: parseMemSize, then the board's limits with the value as typed
 * (one-line ImageError, exit 2): at least 16M, a whole number of MiB, at most 16G.
 */
export function parseRamSize(s: string): number {
  const n = parseMemSize(s);
  if (n === 0) throw new ImageError(`-m ${s}: the RAM size must be at least 16M`);
  if (n % MiB !== 0) throw new ImageError(`-m ${s}: the RAM size must be a whole number of MiB`);
  if (n < 16 * MiB) throw new ImageError(`-m ${s}: the RAM size must be at least 16M`);
  if (n > MAX_RAM_MIB * MiB) {
    throw new ImageError(`-m ${s}: at most 16G (${MAX_RAM_MIB}M) of RAM`);
  }
  return n;
}
