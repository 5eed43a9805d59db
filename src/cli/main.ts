#!/usr/bin/env node
/**
 * hvtrace command line.
 */
import { createRequire } from 'node:module';
import type * as commander from 'commander';
import { holdLateSignals } from './late-signals.js';

/**
 * commander is a CommonJS package: `require` loads it as such, where an ESM `import` went through
 * its esm.mjs wrapper and Node's CommonJS export lexer (measured on the loaded 2-core host, in
 * a fresh process: require 17-43 ms, import 34-77 ms; issue 17, start-up).
 */
const { Command, CommanderError, Option, InvalidArgumentError } = createRequire(import.meta.url)('commander') as typeof commander;
type Command = commander.Command;

// Each command's module is imported when that command runs: a process loads only what it uses
// (module loading is ~100 ms of a Linux boot's 1.6 s, and `record` needs none of replay / diff).

/** The event kinds, listed in the help of `events --kind` and `diff --kinds`: the trace model
 * (and the disassembler its names use, ~75 KB of modules) is loaded only for those commands. */
const EVENT_KINDS_LIST = ['events', 'diff', 'help'].includes(process.argv[2] ?? '')
  ? (await import('../trace/model.js')).EVENT_KINDS.join(', ')
  : 'see hvtrace events --help';

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
    .option('--dump-dtb <FILE>', 'write the device tree blob the machine would boot with to FILE and exit (QEMU -machine dumpdtb=FILE)')
    .option('-m, --memory <SIZE>', 'RAM size, 16M to 16G (e.g. 256M, 4G; default 256M, with --guest enough for the guests)')
    .option('--smp <N>', 'number of harts (1-8)', '1')
    .option('--guest <IMAGE>', 'run IMAGE (ELF or raw) as a guest of the built-in hypervisor (repeatable: one VM each)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--vcpus <N>', 'vCPUs of each guest (1-8, default 1)')
    .option('--guest-mem <SIZE>', 'RAM of each guest (default 128M)')
    .option('--guest-append <ARGS>', 'guest kernel command line (chosen/bootargs of its device tree)')
    .option('--guest-initrd <PATH>', 'guest initial ramdisk')
    .option('--max-insns <N>', 'stop after N attempted instructions of all harts (retired + trapped attempts; exit 4)')
    .option('--input <FILE>', 'UART input from a file, delivered as soon as the guest listens (deterministic; stdin is live)')
    .option('--input-script <FILE>', 'UART input that waits for the guest: lines expect "TEXT", send "TEXT\\n", expect-timeout 5s (virtual time), # comments; recorded as ordinary input')
    .option('--rtc <base=utc|localtime|DATETIME>', 'the goldfish RTC\'s date at the start, as QEMU -rtc: base=utc (default: now), base=localtime or base=2026-01-01T12:00:00 (UTC); it advances with virtual time and is recorded')
    .option('--drive <SPEC>', 'virtio-blk disk: file=PATH[,format=raw][,readonly=on][,writeback=on (run only)][,if=none,id=ID] (repeatable; the first is /dev/vda)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--device <TYPE,...>', 'QEMU-style device: virtio-blk-device,drive=ID (an if=none drive), virtio-rng-device, or virtio-serial-device then virtconsole (hvc0; its output joins the console) (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--pflash <FILE>', 'flash bank 0 (0x20000000) holds this raw image, read-only, at most 32 MiB (QEMU -drive if=pflash,file=FILE,format=raw,readonly=on works too); stored in the trace')
    .option('--cpu <MODEL>', 'CPU model as QEMU -cpu: rv64 (QEMU 7.2\'s default CPU\'s ISA) or rv64,sscofpmf=on (counter overflow interrupts, Sscofpmf)')
    .option('--console-input <uart|virtio>', 'where console input (--input, --input-script, stdin) goes: the UART (default) or the virtconsole (needs --device virtio-serial-device --device virtconsole)')
    .option('--rng [SEED]', 'virtio-rng: random bytes from a PRNG with this seed (default 0), recorded in the trace')
    .option('--aia <none|aplic|aplic-imsic>', 'interrupt controller as QEMU virt aia=: the PLIC (none, default), an APLIC with direct delivery, or an APLIC sending MSIs to per-hart IMSICs (Smaia/Ssaia)')
    .option('--aia-guests <N>', 'guest interrupt files per hart in each S-level IMSIC (0-7, default 0, or with --guest what its vCPUs need; GEILEN), as QEMU virt aia-guests=')
    .option('-M, --machine <virt,...>', 'QEMU-style machine options: virt[,aia=none|aplic|aplic-imsic][,aia-guests=N]')
    .option('--quantum <N>', 'scheduler quantum in instructions per hart', intArg('--quantum', 1, 1e9), 10000)
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--profile [text|json]', 'at the end, the execution tier\'s statistics on stderr: units compiled, compile time, translated vs interpreted instructions (hit rate), invalidations, evictions (json: one line `hvtrace-profile {...}`)');
}

/** `--symbols FILE` (repeatable) for the commands that show code locations (src/image/symbols.ts). */
const SYMBOLS_OPTION = ['--symbols <FILE>', 'symbols from an ELF file or a System.map (repeatable; added before the symbols stored in the trace, and the System.map next to a raw kernel Image, which are used without it)',
  (v: string, prev: string[] = []) => [...prev, v]] as const;

/**
 * The exit-code contract of every command (README "Exit codes"): 0 ok / same / match; 1 a
 * divergence or difference (replay and diff only); 2 bad input or usage, commander's parse errors
 * included; 3, 4, 5 as `run` documents; 130 / 143 for SIGINT / SIGTERM. Every error is one line
 * on stderr, prefixed `hvtrace:`, without a stack trace.
 */
export const EXIT_USAGE = 2;

// `hvtrace events big.trace | head`: a closed pipe ends the output quietly, not with a stack
// trace; any other stdout failure (ENOSPC on a full device, EIO) is one line and exit 2.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`hvtrace: stdout: ${e.code === 'ENOSPC' ? 'no space left on the device' : e.message}\n`);
  process.exit(EXIT_USAGE);
});

const program = new Command();
// Set before the commands are defined: commander copies both settings into each subcommand.
// A usage error (unknown option, missing argument, bad value) then throws a CommanderError
// instead of exiting 1, which for `diff` and `replay` would read as "a difference" in a CI job.
program
  .exitOverride()
  .configureOutput({
    // Commander's messages may span lines ("error: unknown option '--formt'\n(Did you mean
    // --format?)"): one line, prefixed like every other hvtrace error.
    outputError: (str, write) => write(`hvtrace: ${str.replace(/^error: /, '').trim().split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`),
  })
  .name('hvtrace')
  .description('Deterministic record / replay / diff for RISC-V firmware, hypervisors and kernels')
  .version('0.1.0');

/**
 * The commands, in the order of the help, each defined by a function. A process defines only the
 * command it runs (argv[2]) when that names one: defining all of them (~110 options, `run` and
 * `record` 30-odd each) took 8-20 ms of every start-up on the loaded 2-core host, 2-7 ms for
 * one command (issue 17).
 * Anything else (no command, --help, --version, `help`, a mistyped command) defines all, so the
 * program's help, its suggestions and its errors are unchanged; so are each command's.
 */
const COMMANDS: readonly (readonly [string, () => void])[] = [
  ['run', () => {
    machineOptions(program.command('run').description('run a machine; the guest console goes to stdout'))
      .option('--gdb <[HOST:]PORT>', 'start stopped at the first instruction and serve a gdb client (gdb-multiarch: target remote HOST:PORT; 127.0.0.1 unless HOST; port 0: any free port)')
      .action(async (opts) => {
        process.exitCode = await (await import('./run.js')).runCommand(opts);
      });
  }],

  ['record', () => {
    machineOptions(program.command('record').description('run a machine like `run` and record a trace (default: the bundled smp-kernel on 4 harts)'))
      .option('-o, --output <FILE>', 'trace file (default: traces/<kernel>-<n>.trace, the next free n)')
      .option('--overwrite', 'replace an existing trace file')
      .option('--checkpoint-every <N>', 'instructions between checkpoints, e.g. 50M (0 = none)', '50000000')
      .option('--digest-every <N>', 'instructions between state digests, e.g. 10M (0 = none)', '10000000')
      .option('--symbols <FILE>', 'store this ELF file\'s or System.map\'s symbols in the trace too (repeatable; the System.map next to a raw kernel Image is stored without it)', (v: string, prev: string[] = []) => [...prev, v])
      .action(async (opts, cmd: Command) => {
        process.exitCode = await (await import('./record.js')).recordCommand({ ...opts, smpGiven: cmd.getOptionValueSource('smp') !== 'default' });
      });
  }],

  ['info', () => {
    program.command('info').description('describe a trace: configuration, images, status, counts, the end of the console output')
      .argument('<FILE>', 'trace file')
      .option('--console', `all of the console output (default: its last 20 lines)`)
      .option('--json', 'one JSON object (with the whole console)')
      .action(async (file: string, opts) => {
        process.exitCode = (await import('./inspect.js')).infoCommand(file, opts);
      });
  }],

  ['events', () => {
    program.command('events').description('list the events of a trace, one per line, with the instruction at pc')
      .argument('<FILE>', 'trace file')
      .option('--kind <K>', `event kind (repeatable or comma-separated): ${EVENT_KINDS_LIST}`, (v: string, prev: string[] = []) => [...prev, v])
      .option('--hart <H>', 'only events of this hart')
      .option('--pc <ADDR|SYMBOL|LO-HI>', 'only events at these pcs: an address (0x...), a symbol (its whole extent), SYMBOL+OFF, or a half-open range LO-HI of addresses or symbols (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--priv <P>', 'only events in this privilege: M, HS (= S), S, VS, VU, U (repeatable or comma-separated)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--csr <NAME>', 'only writes of this CSR (csr_write events): a name such as satp or a number')
      .option('--sbi <EXT>', 'only SBI calls of this extension (sbi_call events): TIME, IPI, RFENCE, HSM, SRST, DBCN, BASE, or a number')
      .option('--vm <N>', 'only guest VM N of the built-in hypervisor (its V=1 events, its VM exits and entries)')
      .option('--from <POS>', 'first event: a seq number (N or seq:N), i:INSTRET (the hart\'s retired instructions) or t:VTIME (its virtual time); inclusive')
      .option('--until <POS>', 'last event, as --from (inclusive)')
      .option('--to <POS>', 'alias of --until')
      .option('--limit <N>', 'at most N events')
      .option('--json', 'JSON Lines (64-bit values as hex strings)')
      .option(...SYMBOLS_OPTION)
      .action(async (file: string, opts) => {
        process.exitCode = await (await import('./inspect.js')).eventsCommand(file, opts);
      });
  }],

  ['query', () => {
    program.command('query').description('run a read-only SQL query on a trace (tables and views: see schemas/trace.sql)')
      // SQL may begin with a comment ("-- count the traps"): not an option.
      .allowUnknownOption()
      .argument('<FILE>', 'trace file')
      .argument('<SQL>', 'one SELECT statement; views with names beside the numbers (event_list, traps, csr_writes, sbi_calls, vm_exits, ...: csr_name, cause_name, sbi_ext_name, reason_name, *_hex, payload_json)')
      .option('--format <table|csv|json>', 'output: an aligned table (default), CSV (RFC 4180), or a JSON array of objects')
      .option('--json', 'alias of --format json')
      .action(async (file: string, sql: string, opts) => {
        process.exitCode = (await import('./inspect.js')).queryCommand(file, sql, opts);
      });
  }],

// ---- replay / diff / import (src/cli/replay.ts, src/cli/diff.ts) ----
  ['replay', () => {
    program.command('replay').description('replay a trace and report the first divergence (exit 0 match, 1 divergence, 2 unusable); --to: land on an instruction and show the machine')
      .argument('<FILE>', 'trace file')
      .option('--to <POS>', 'stop at POS: N (global instruction count), HART:COUNT (instret), seq:N (the step that emits event N), pc:ADDR or pc:ADDR#K (hex, SYMBOL or SYMBOL+OFFSET; H:pc:... for one hart)')
      .option('--force', 'replay even when images, schema or hvtrace version differ from the recording')
      .option('--json', 'one JSON object')
      .option('--events <N>', 'with --to: events to show before the position (default 8)')
      .option('--no-digests', 'do not compare the stored state digests')
      .option('--console', 'print the guest console output while replaying')
      .option('--drive <SPEC>', 'file=PATH: the image of a recorded drive (repeatable, in drive order; optional: the trace holds every block the guest read; must be the image recorded)', (v: string, prev: string[] = []) => [...prev, v])
      .option(...SYMBOLS_OPTION)
      .option('--gdb <[HOST:]PORT>', 'serve a gdb client (gdb-multiarch: target remote HOST:PORT) at the start, or at --to POS; forwards and backwards (127.0.0.1 unless HOST; port 0: any free port)')
      .action(async (file: string, opts) => {
        const mod = await import('./replay.js');
        process.exitCode = opts.gdb !== undefined ? await mod.replayGdbCommand(file, opts) : mod.replayCommand(file, opts);
      });
  }],

  ['diff', () => {
    program.command('diff').description('compare two traces event by event (exit 0 same, 1 different, 2 unusable)')
      .argument('<A>', 'expected trace (e.g. the golden one, or a reference import)')
      .argument('<B>', 'actual trace')
      .option('--kinds <K,K>', `compare only these event kinds (${EVENT_KINDS_LIST}) or presets: exceptions (synchronous traps only), interrupts, traps (traps and trap returns), sbi, csr, vm, io`)
      .option('--kind <K,K>', 'alias of --kinds (as events --kind)')
      .option('--ignore <NAME,...>', 'event fields not compared (seq, vtime, hart, instret, pc, priv, virt, a, b, c, payload) and run areas not compared (images|config|input|console|status)')
      .option('--format <text|json|junit>', 'report format', 'text')
      .option('--context <N>', 'events shown before the divergence', '5')
      .option('--no-digests', 'do not use state digests to skip the common start')
      .option(...SYMBOLS_OPTION)
      .action(async (a: string, b: string, opts) => {
        process.exitCode = (await import('./diff.js')).diffCommand(a, b, opts);
      });
  }],

  ['import', () => {
    program.command('import').description('convert another emulator\'s log into a reference trace for `hvtrace diff`')
      .command('qemu').description('a QEMU 7.2 `-d int` log (trap lines) -> trace of trap events')
      .argument('<LOG>', 'QEMU log file (-D FILE -d int)')
      .option('-o, --output <FILE>', 'trace file to write')
      .option('--overwrite', 'replace an existing file')
      .option('--drop-known-deviations', 'leave out traps where QEMU 7.2 deviates from the spec (CSRs it lacks; src/diff/qemu-log.ts)')
      .option('--sv57-to-sv48', 'map user addresses (epc, tval) from Linux\'s Sv57 layout (QEMU 7.2) to its Sv48 one: for diffing against a Linux boot recorded by hvtrace before it had Sv57')
      .option('-q, --quiet', 'no summary on stderr')
      .action(async (log: string, opts) => {
        process.exitCode = (await import('./diff.js')).importQemuCommand(log, opts);
      });
  }],

// ---- stat / timeline / export (issue 14: src/cli/stat.ts, timeline.ts, export.ts) ----
  ['stat', () => {
    program.command('stat').description('statistics of a trace: VM exits (count, durations), traps, SBI calls, MMIO, interrupts, interrupts by source (PLIC/APLIC claims, MSIs per source and IMSIC file), CSR writes, per-hart time per privilege level')
      .argument('<FILE>', 'trace file')
      .option('--vm <N>', 'only VM N (its exits, and the events on its vCPUs\' harts while they run)')
      .option('--vcpu <N>', 'only vCPU N (of every VM, or of --vm N)')
      .option('--hart <N>', 'only the events of hart N')
      .option('--until <SEQ>', 'only the events up to this seq (N or seq:N, inclusive): the counts at that point of the run')
      .option('--per-vcpu', 'VM exits per vCPU too')
      .option('--json', 'one JSON object')
      .action(async (file: string, opts) => {
        process.exitCode = (await import('./stat.js')).statCommand(file, opts);
      });
  }],

  ['timeline', () => {
    program.command('timeline').description('write a self-contained HTML page of a trace: lanes per hart and vCPU, privilege levels, VM exits, marks; zoom, search, details')
      .argument('<FILE>', 'trace file')
      .requiredOption('-o, --output <FILE.html>', 'HTML file to write')
      .option('--symbols <FILE>', 'symbols from an ELF file or a System.map (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .action(async (file: string, opts) => {
        process.exitCode = (await import('./timeline.js')).timelineCommand(file, opts);
      });
  }],

  ['export', () => {
    program.command('export').description('export a trace to a trace viewer\'s format: perfetto (protobuf, ui.perfetto.dev) or chrome-json (chrome://tracing)')
      .argument('<FILE>', 'trace file')
      .requiredOption('--format <perfetto|chrome-json>', 'output format')
      .requiredOption('-o, --output <FILE>', 'file to write')
      .action(async (file: string, opts) => {
        process.exitCode = (await import('./export.js')).exportCommand(file, opts);
      });
  }],
];
const only = COMMANDS.find(([name]) => name === process.argv[2]);
for (const [, define] of only ? [only] : COMMANDS) define();

// QEMU users type -append / -kernel with one dash: accept those spellings too.
const argv = process.argv.map((a) => (/^-(kernel|append|initrd|bios|dtb|smp|drive|device|rtc|pflash|cpu)$/.test(a) ? `-${a}` : a));
program.parseAsync(argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // --help and --version end with exit code 0; the message was written by outputError.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  const err = e as NodeJS.ErrnoException;
  const what = err.code === 'ENOSPC' ? 'no space left on the device' : err.message;
  process.stderr.write(`hvtrace: ${what.split('\n')[0]}\n`);
  process.exitCode = EXIT_USAGE;
}).finally(() => {
  // Once the event loop has run dry (pending stdout writes and their errors included), exit with
  // process.exit() rather than Node's natural exit: that one closes the signal listeners before
  // it waits for V8's compile threads, and a Ctrl-C there would kill a finished command by the
  // signal (src/cli/late-signals.ts).
  holdLateSignals();
  process.once('beforeExit', () => process.exit(process.exitCode ?? 0));
});
