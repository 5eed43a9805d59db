import { Machine, type MachineConfig } from '../board/machine.js';
import { Scheduler } from '../sched/scheduler.js';
import { ImageError } from '../image/loader.js';
import { readImage, parseMemSize, parseRamSize, MAX_RAM_MIB } from './images.js';
import type { GuestConfig } from '../hypervisor/config.js';
import { DEFAULT_GUEST_MEM, MAX_VCPUS, hostRamFor, guestFilesNeeded } from '../hypervisor/layout.js';
import { Progress } from './progress.js';
import { ConsoleBuffer } from './output.js';
import { openDrives, parseConsoleInput, parseRngSeed, resolveDrives, FileDiskBackend } from './drive.js';
import { configureEngine, warmUpEngine } from './engine.js';
import { formatProfile, parseProfileOption, tierProfile, useCompileClock, type ProfileFormat } from './profile.js';
import { parseRtcOption } from './rtc.js';
import { parseAiaOptions } from './aia.js';
import { pflashFromCli, withoutPflash } from './pflash.js';
import { InputScriptDriver, readInputScript, roundsUntil, scriptEndNote, scriptTimeoutMessage, type ScriptStep } from './input-script.js';
import { IdlePacer } from './pacing.js';
import { holdLateSignals } from './late-signals.js';

export interface MachineCliOptions {
  bios: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  /** -m; default 256M, or what the guests need. */
  memory?: string;
  smp: string;
  /** Built-in hypervisor guests (repeatable --guest) and their options. */
  guest?: string[];
  vcpus?: string;
  guestMem?: string;
  guestAppend?: string;
  guestInitrd?: string;
  maxInsns?: string;
  quantum: number;
  quiet?: boolean;
  /** --dump-dtb FILE: write the device tree and exit (src/cli/dump-dtb.ts). */
  dumpDtb?: string;
  input?: string;
  /** --gdb [HOST:]PORT (run only): start stopped and serve a gdb client. */
  gdb?: string;
  /** --rtc base=...: the goldfish RTC's date at virtual time 0 (src/cli/rtc.ts; default: now, UTC). */
  rtc?: string;
  /** --input-script FILE: input that waits for the guest's console (src/cli/input-script.ts). */
  inputScript?: string;
  /** --drive SPEC (repeatable): virtio-blk drives (src/cli/drive.ts). */
  drive?: string[];
  /** --device TYPE,... (repeatable): QEMU's virtio-blk-device,drive=ID / virtio-rng-device. */
  device?: string[];
  /** --rng [SEED]: virtio-rng. */
  rng?: string | boolean;
  /** --console-input uart|virtio: which device console input goes to. */
  consoleInput?: string;
  /** --aia / --aia-guests / -M virt,aia=...: AIA in place of the PLIC (src/cli/aia.ts). */
  aia?: string;
  aiaGuests?: string;
  machine?: string;
  /** --cpu rv64[,sscofpmf=on]: the harts' optional extensions. */
  cpu?: string;
  /** --pflash FILE: flash bank 0's image (or -drive if=pflash,file=FILE; src/cli/pflash.ts). */
  pflash?: string;
  /** --profile [text|json] (run, record): the tier's statistics at the end (src/cli/profile.ts). */
  profile?: string | boolean;
}

/**
 * --cpu MODEL as QEMU's -cpu: `rv64` and the properties hvtrace can switch, for now Sscofpmf
 * (sscofpmf=on|true|off|false). One-line errors for anything else.
 */
export function parseCpuOption(v: string | undefined): { sscofpmf?: boolean } {
  if (v === undefined) return {};
  const [model, ...props] = v.split(',');
  if (model !== 'rv64') throw new ImageError(`--cpu ${v}: the model must be rv64 (hvtrace's RV64GCH hart)`);
  let sscofpmf = false;
  for (const p of props) {
    const m = /^sscofpmf=(on|true|off|false)$/.exec(p);
    if (!m) throw new ImageError(`--cpu ${v}: unknown property '${p}' (supported: sscofpmf=on|off)`);
    sscofpmf = m[1] === 'on' || m[1] === 'true';
  }
  return sscofpmf ? { sscofpmf: true } : {};
}

/** Build the machine configuration from CLI flags (throws ImageError with a one-line message). */
export function machineConfigFromCli(o: MachineCliOptions, opts: { writeback?: boolean } = {}): MachineConfig {
  const flash = pflashFromCli(o.pflash, o.drive ?? []);
  const { specs, rng, virtconsole } = resolveDrives(flash.drives, o.device ?? []);
  const toVirtconsole = parseConsoleInput(o.consoleInput, virtconsole);
  if (!opts.writeback) {
    const wb = specs.find((s) => s.writeback);
    if (wb) throw new ImageError(`--drive ${wb.file}: writeback=on is for run only (a recording keeps the guest's writes in the trace and never writes the image)`);
  }
  const rngSeed = parseRngSeed(o.rng, rng);
  const cpu = parseCpuOption(o.cpu);
  const harts = Number(o.smp);
  if (!Number.isInteger(harts) || harts < 1 || harts > 8) throw new ImageError(`--smp must be between 1 and 8 (got ${o.smp})`);
  const bios = o.bios === 'builtin' || o.bios === 'none' ? o.bios : readImage(o.bios, 'firmware');
  const guests = guestsFromCli(o);
  const aia = parseAiaOptions(o, guests ? guestFilesNeeded(guests.map((g) => g.vcpus), harts) : 0);
  const ramSize = o.memory !== undefined ? parseRamSize(o.memory)
    : guests ? hostRamFor(guests.map((g) => g.memSize)) : parseMemSize('256M');
  if (guests && o.memory === undefined && ramSize > MAX_RAM_MIB * 1024 * 1024) {
    throw new ImageError(`the guests need ${ramSize / (1024 * 1024)} MiB of host RAM, more than hvtrace's ${MAX_RAM_MIB} MiB: use a smaller --guest-mem`);
  }
  return {
    ramSize,
    harts,
    bios,
    kernel: o.kernel ? readImage(o.kernel, 'kernel') : undefined,
    initrd: o.initrd ? readImage(o.initrd, 'initrd') : undefined,
    append: o.append,
    dtb: o.dtb ? readImage(o.dtb, 'dtb') : undefined,
    rtc: parseRtcOption(o.rtc),
    ...(aia ? { aia } : {}),
    // Opened last: every other flag has been checked before an image is hashed.
    ...(specs.length > 0 ? { drives: openDrives(specs).drives } : {}),
    ...(rngSeed !== undefined ? { rngSeed } : {}),
    ...(virtconsole ? { virtconsole: { input: toVirtconsole } } : {}),
    virtio: true,
    qemuBoard: true,
    ...(flash.image ? { pflash: flash.image } : {}),
    ...cpu,
    ...(guests ? { guests } : {}),
  };
}

/** run --drive ...,writeback=on: write the guest's writes into the image files. */
function writeBack(o: MachineCliOptions, machine: Machine): void {
  const { specs } = resolveDrives(withoutPflash(o.drive ?? []), o.device ?? []);
  specs.forEach((s, k) => {
    const blk = machine.blks[k];
    const be = blk?.drive.backend;
    if (!s.writeback || !blk || !(be instanceof FileDiskBackend)) return;
    const n = be.writeBack(blk);
    if (!o.quiet && n > 0) process.stderr.write(`hvtrace: ${s.file}: ${n} block${n === 1 ? '' : 's'} written back\n`);
  });
}

/** The --guest flags as guest configurations (undefined without --guest); one-line errors. */
function guestsFromCli(o: MachineCliOptions): GuestConfig[] | undefined {
  const images = o.guest ?? [];
  if (images.length === 0) {
    for (const [flag, v] of [['--vcpus', o.vcpus], ['--guest-mem', o.guestMem], ['--guest-append', o.guestAppend], ['--guest-initrd', o.guestInitrd]] as const) {
      if (v !== undefined) throw new ImageError(`${flag} needs --guest IMAGE`);
    }
    return undefined;
  }
  if (o.bios !== 'builtin') throw new ImageError(`--guest needs the built-in firmware (--bios builtin), not --bios ${o.bios}: the built-in hypervisor runs on it`);
  if (o.kernel) throw new ImageError('--guest and --kernel exclude each other: the built-in hypervisor is the payload at 0x80200000');
  const vcpus = o.vcpus === undefined ? 1 : Number(o.vcpus);
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) throw new ImageError(`--vcpus must be between 1 and ${MAX_VCPUS} (got ${o.vcpus})`);
  let memSize = DEFAULT_GUEST_MEM;
  if (o.guestMem !== undefined) {
    try {
      memSize = parseMemSize(o.guestMem);
    } catch {
      throw new ImageError(`--guest-mem ${o.guestMem}: expected a size like 128M or 1G`);
    }
  }
  const initrd = o.guestInitrd ? readImage(o.guestInitrd, 'guest initrd') : undefined;
  return images.map((path) => ({
    image: readImage(path, 'guest'),
    vcpus,
    memSize,
    ...(o.guestAppend !== undefined ? { append: o.guestAppend } : {}),
    ...(initrd ? { initrd } : {}),
  }));
}

export function parseMaxInsns(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new ImageError(`--max-insns ${s}: expected a positive integer`);
  return n;
}

/** `hvtrace run`: returns the process exit status. */
export async function runCommand(o: MachineCliOptions): Promise<number> {
  configureEngine();
  if (o.dumpDtb !== undefined) return (await import('./dump-dtb.js')).dumpDtbCommand(o);
  if (o.gdb !== undefined) return runGdbCommand(o);
  let machine: Machine;
  let sched: Scheduler;
  let profile: ProfileFormat | null;
  try {
    profile = parseProfileOption(o.profile);
    const cfg = machineConfigFromCli(o, { writeback: true });
    machine = new Machine(cfg);
    sched = new Scheduler(machine, { quantum: o.quantum, maxInsns: parseMaxInsns(o.maxInsns) });
    // Compile-time statistics for --profile (the host clock is read only here in cli/).
    if (profile !== null) useCompileClock(machine);
    warmUpEngine();
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`hvtrace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let steps: ScriptStep[] | null = null;
  try {
    if (o.input) sched.addInput(readImage(o.input, 'input').bytes, 0);
    if (o.inputScript) steps = readInputScript(o.inputScript, o.input);
  } catch (e) {
    process.stderr.write(`hvtrace: ${(e as Error).message}\n`);
    return 2;
  }
  const console_ = new ConsoleBuffer();
  const progress = new Progress(!o.quiet && process.stderr.isTTY === true);
  console_.statusLine = progress;
  // --input-script: each send is queued for the next round once its expects have matched.
  const script = steps ? new InputScriptDriver(steps, (bytes, vtime) => sched.addInput(bytes, vtime)) : null;
  machine.onConsole = script
    ? (b) => { console_.write(b); script.onConsole(b, sched.time + sched.quantum); }
    : console_.write;
  script?.start();
  // Without --input / --input-script, stdin is live input to the UART; while it is open, idle
  // virtual time is paced by the wall clock (src/cli/pacing.ts).
  const live = !o.input && !script;
  const stdin = process.stdin;
  let stdinEnded = false;
  const onData = (d: Buffer): void => sched.addInput(new Uint8Array(d));
  if (live) {
    stdin.on('data', onData);
    stdin.on('end', () => { stdinEnded = true; });
    stdin.on('error', () => { stdinEnded = true; });
  }
  const wall0 = process.hrtime.bigint();
  const pacer = live ? new IdlePacer(sched, () => !stdinEnded) : null;
  let halt;
  for (;;) {
    const r = sched.step(script ? roundsUntil(sched.time, script.deadline, sched.quantum, 64) : 64);
    console_.flush();
    progress.update(sched);
    if (r.kind === 'halted') { halt = r.halt; break; }
    if (script && script.waiting && sched.time >= script.deadline) {
      machine.stop({ kind: 'limit', exitCode: 4, message: scriptTimeoutMessage(o.inputScript!, script) });
      halt = machine.halt!;
      break;
    }
    if (r.kind === 'idle') {
      if (!live || stdinEnded || stdin.destroyed) {
        pacer?.stop();
        halt = sched.runToEnd();
        console_.flush();
        break;
      }
      await pacer!.wait(5);
      continue;
    }
    await new Promise((res) => setImmediate(res));
  }
  const note = script ? scriptEndNote(o.inputScript!, script, halt) : null;
  if (note) process.stderr.write(`hvtrace: ${note}\n`);
  stdin.off('data', onData);
  stdin.pause();
  stdin.unref?.();
  progress.done();
  writeBack(o, machine);
  const wallNs = Number(process.hrtime.bigint() - wall0);
  if (!o.quiet) {
    const per = machine.harts.map((h) => `hart${h.id}=${h.instret}`).join(' ');
    const total = sched.totalInstructions();
    const mips = total / (wallNs / 1e3);
    process.stderr.write(`hvtrace: ${halt.message}; instructions ${per}; vtime ${(sched.time / 1e9).toFixed(6)} s; ${mips.toFixed(1)} MIPS\n`);
  } else if (halt.exitCode !== 0 && !['poweroff', 'fail', 'htif'].includes(halt.kind)) {
    process.stderr.write(`hvtrace: ${halt.message}\n`);
  }
  if (profile !== null) process.stderr.write(formatProfile(tierProfile(machine), profile));
  return halt.exitCode;
}

/**
 * `hvtrace run ... --gdb [HOST:]PORT` (like QEMU's `-s -S`): build the machine, stop it right
 * before its first instruction and serve gdb clients (src/gdb/server.ts). Register and memory
 * writes are allowed. The guest console goes to stdout; UART input comes from `--input` only
 * (the terminal belongs to gdb). Exit status: the guest's when it halts under the debugger (gdb
 * sees the exit); after `detach` the machine runs on to its end, as QEMU's does, and its status
 * is the exit status; 0 after `kill`; 2 for bad flags or a port in use; 130 / 143 for SIGINT /
 * SIGTERM.
 */
async function runGdbCommand(o: MachineCliOptions): Promise<number> {
  const { serveGdb, parseListenAddress, ListenError } = await import('../gdb/server.js');
  const { openRunTarget } = await import('../gdb/run-target.js');
  const log = (m: string): void => { process.stderr.write(`${m}\n`); };
  let cfg: MachineConfig;
  let input: Uint8Array | undefined;
  let maxInsns: number | undefined;
  try {
    parseListenAddress(o.gdb!);
    if (o.inputScript) throw new ImageError('--input-script does not apply to run --gdb: the debugger decides when the guest runs; use --input FILE');
    cfg = machineConfigFromCli(o);
    maxInsns = parseMaxInsns(o.maxInsns);
    if (o.input) input = readImage(o.input, 'input').bytes;
  } catch (e) {
    if (e instanceof ImageError || e instanceof ListenError) {
      log(`hvtrace: ${e.message}`);
      return 2;
    }
    throw e;
  }
  warmUpEngine();
  const console_ = new ConsoleBuffer();
  const flusher = setInterval(() => console_.flush(), 50);
  flusher.unref();
  let target: Awaited<ReturnType<typeof openRunTarget>> | null = null;
  try {
    holdLateSignals(); // before the server's own SIGINT / SIGTERM listeners, which it removes at its end
    const end = await serveGdb(() => {
      target = openRunTarget(cfg, { quantum: o.quantum, maxInsns, input, onConsole: console_.write, watchStop: 'gdb' });
      return target;
    }, o.gdb!, { log });
    console_.flush();
    switch (end.kind) {
      case 'halted':
        return end.exitCode;
      case 'signal':
        return end.signal === 'SIGINT' ? 130 : 143;
      case 'kill':
        return 0;
      case 'disconnect':
      case 'detach': {
        // Detached: the machine runs on to its end (gdb removed its breakpoints first).
        const t = target!;
        let sig: 'SIGINT' | 'SIGTERM' | null = null;
        const onInt = (): void => { sig = 'SIGINT'; };
        const onTerm = (): void => { sig = 'SIGTERM'; };
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
        try {
          for (;;) {
            const ev = await t.resume({ direction: 'forward', mode: 'continue', hart: t.currentHart() }, () => sig !== null);
            console_.flush();
            if (ev.reason === 'halted') {
              if (!o.quiet || (ev.halt && ev.halt.exitCode !== 0)) log(`hvtrace: ${ev.halt?.message ?? 'halted'}`);
              return ev.halt?.exitCode ?? 0;
            }
            if (sig !== null) return sig === 'SIGINT' ? 130 : 143;
          }
        } finally {
          holdLateSignals();
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
        }
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof ImageError || e instanceof ListenError) {
      log(`hvtrace: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    clearInterval(flusher);
    console_.flush();
    (target as { close(): void } | null)?.close();
  }
}
