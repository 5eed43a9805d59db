import { readFileSync, statSync } from 'node:fs';
import { ImageError } from '../image/loader.js';
import type { Image } from '../board/machine.js';

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
