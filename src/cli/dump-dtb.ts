/**
 * `--dump-dtb FILE` on run and record (QEMU's `-machine dumpdtb=FILE`): write the device tree
 * blob the machine would boot with -- the generated one, or `--dtb`'s -- and exit without
 * running anything. Decompile it with `dtc -I dtb -O dts FILE`.
 */
import { writeFileSync } from 'node:fs';
import { Machine } from '../board/machine.js';
import { ImageError } from '../image/loader.js';
import { machineConfigFromCli, type MachineCliOptions } from './run.js';

export function dumpDtbCommand(o: MachineCliOptions & { dumpDtb?: string }): number {
  const path = o.dumpDtb!;
  try {
    const m = new Machine(machineConfigFromCli(o));
    const dtb = m.images.find((i) => i.role === 'dtb');
    if (!dtb) throw new ImageError('the machine has no device tree to dump');
    writeFileSync(path, m.bus.readRam(dtb.base, dtb.size));
    if (!o.quiet) process.stderr.write(`hvtrace: device tree (${dtb.size} bytes) written to ${path}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === 'string') {
      process.stderr.write(`hvtrace: --dump-dtb ${path}: ${err.message}\n`);
      return 2;
    }
    throw e;
  }
}
