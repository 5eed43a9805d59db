#!/usr/bin/env node
/**
 * hvtrace command line.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { runCommand } from './run.js';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

export function machineOptions(cmd: Command): Command {
  return cmd
    .option('--bios <builtin|none|PATH>', 'firmware: built-in SBI, none (kernel starts in M-mode), or an image', 'builtin')
    .option('--kernel <PATH>', 'kernel / payload image (ELF or raw), loaded at 0x80200000')
    .option('--initrd <PATH>', 'initial ramdisk')
    .addOption(new Option('--append <ARGS>', 'kernel command line (chosen/bootargs)'))
    .option('--dtb <PATH>', 'use this device tree blob instead of the generated one')
    .option('-m, --memory <SIZE>', 'RAM size (e.g. 256M, 1G)', '256M')
    .option('--smp <N>', 'number of harts (1-8)', '1')
    .option('--max-insns <N>', 'stop after N instructions (all harts)')
    .option('--input <FILE>', 'UART input from a file, delivered as soon as the guest listens (deterministic; stdin is live)')
    .option('--quantum <N>', 'scheduler quantum in instructions per hart', intArg('--quantum', 1, 1e9), 10000)
    .option('-q, --quiet', 'no progress or summary on stderr');
}

const program = new Command();
program
  .name('hvtrace')
  .description('Deterministic record / replay / diff for RISC-V firmware, hypervisors and kernels')
  .version('0.1.0');

machineOptions(program.command('run').description('run a machine; the guest console goes to stdout'))
  .action(async (opts) => {
    process.exitCode = await runCommand(opts);
  });

// QEMU users type -append / -kernel with one dash: accept those spellings too.
const argv = process.argv.map((a) => (/^-(kernel|append|initrd|bios|dtb|smp)$/.test(a) ? `-${a}` : a));
program.parseAsync(argv).catch((e: unknown) => {
  process.stderr.write(`hvtrace: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
