/**
 * Flash bank 0's image: `--pflash FILE`, or QEMU's spelling `-drive if=pflash,file=FILE
 * [,format=raw][,readonly=on][,unit=0]`. The image is read here (the only host input) and goes
 * into the machine configuration, so the trace stores it with its sha256 like the other images
 * and a replay checks and uses the stored bytes (src/replay/open.ts). The bank is read-only on
 * hvtrace (src/devices/pflash.ts): readonly=off and unit=1 are refused with one line.
 */
import type { Image } from '../board/machine.js';
import { ImageError } from '../image/loader.js';
import { readImage } from './images.js';

const PFLASH_KEYS = ['if', 'file', 'format', 'readonly', 'unit'];

/** Splits the if=pflash drives off `--drive`; returns bank 0's image and the other drives. */
export function pflashFromCli(pflash: string | undefined, drives: readonly string[]): { image?: Image; drives: string[] } {
  const rest: string[] = [];
  let file = pflash;
  for (const d of drives) {
    const kv = new Map(d.split(',').map((p) => { const i = p.indexOf('='); return [i < 0 ? p : p.slice(0, i), i < 0 ? '' : p.slice(i + 1)] as [string, string]; }));
    if (kv.get('if') !== 'pflash') { rest.push(d); continue; }
    const flag = `-drive ${d}`;
    for (const k of kv.keys()) if (!PFLASH_KEYS.includes(k)) throw new ImageError(`${flag}: unknown option '${k}' for a flash drive (${PFLASH_KEYS.join(', ')})`);
    if (!kv.get('file')) throw new ImageError(`${flag}: needs file=PATH`);
    if ((kv.get('format') ?? 'raw') !== 'raw') throw new ImageError(`${flag}: format=${kv.get('format')}: only raw images`);
    if ((kv.get('unit') ?? '0') !== '0') throw new ImageError(`${flag}: unit=${kv.get('unit')}: only flash bank 0 takes an image on hvtrace`);
    const ro = kv.get('readonly') ?? 'on';
    if (!['on', 'true', 'yes'].includes(ro)) throw new ImageError(`${flag}: readonly=${ro}: the flash is read-only on hvtrace (the guest's program and erase commands are refused)`);
    if (file !== undefined) throw new ImageError(`${flag}: flash bank 0 has an image already (${file})`);
    file = kv.get('file')!;
  }
  return { ...(file !== undefined ? { image: readImage(file, '--pflash') } : {}), drives: rest };
}

/** The `--drive` specs that are not flash drives (if=pflash). */
export function withoutPflash(drives: readonly string[]): string[] {
  return drives.filter((d) => !d.split(',').includes('if=pflash'));
}
