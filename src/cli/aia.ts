/**
 * `--aia none|aplic|aplic-imsic` and `--aia-guests N`, and QEMU's spelling
 * `-M virt,aia=...,aia-guests=N` (hw/riscv/virt.c machine properties), as MachineConfig.aia.
 */
import { ImageError } from '../image/loader.js';
import type { AiaConfig } from '../board/machine.js';

export interface AiaCliOptions {
  aia?: string;
  aiaGuests?: string;
  machine?: string;
}

const MODES = ['none', 'aplic', 'aplic-imsic'] as const;

/**
 * The AIA configuration the flags ask for; undefined for the PLIC (none). One-line errors.
 * `defaultGuests`: aia-guests when neither flag gives it, for aplic-imsic (QEMU's default is 0;
 * with --guest the built-in hypervisor needs a guest interrupt file per vCPU of a hart).
 */
export function parseAiaOptions(o: AiaCliOptions, defaultGuests = 0): AiaConfig | undefined {
  let mode = o.aia;
  let guests = o.aiaGuests;
  if (o.machine !== undefined) {
    const [type, ...props] = o.machine.split(',');
    if (type !== 'virt') throw new ImageError(`-M ${o.machine}: the only machine is virt`);
    for (const p of props) {
      const eq = p.indexOf('=');
      const key = eq < 0 ? p : p.slice(0, eq);
      const val = eq < 0 ? '' : p.slice(eq + 1);
      if (key === 'aia') {
        if (mode !== undefined && mode !== val) throw new ImageError(`-M virt,aia=${val} contradicts --aia ${mode}`);
        mode = val;
      } else if (key === 'aia-guests') {
        if (guests !== undefined && guests !== val) throw new ImageError(`-M virt,aia-guests=${val} contradicts --aia-guests ${guests}`);
        guests = val;
      } else {
        throw new ImageError(`-M virt,${p}: unknown machine property (hvtrace knows aia=none|aplic|aplic-imsic and aia-guests=N)`);
      }
    }
  }
  if (mode !== undefined && !(MODES as readonly string[]).includes(mode)) {
    throw new ImageError(`--aia ${mode}: expected none, aplic or aplic-imsic`);
  }
  let n = mode === 'aplic-imsic' ? defaultGuests : 0;
  if (guests !== undefined) {
    n = /^\d+$/.test(guests) ? Number(guests) : NaN;
    if (!Number.isInteger(n) || n > 7) throw new ImageError(`--aia-guests must be between 0 and 7 (got ${guests})`);
    if (mode !== 'aplic-imsic' && n > 0) throw new ImageError('--aia-guests needs --aia aplic-imsic: guest interrupt files are IMSIC files');
  }
  if (mode === undefined || mode === 'none') return undefined;
  return { mode: mode as AiaConfig['mode'], guests: n };
}
