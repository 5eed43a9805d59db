/**
 * Differential testing against QEMU 7.2: parse `-d int` trap logs, run QEMU, and compare trap
 * sequences with hvtrace's (collected through HartObserver.trap).
 *
 * QEMU 7.2 (target/riscv/cpu_helper.c, riscv_cpu_do_interrupt) logs one line per trap taken,
 * after the ecall cause has been translated to the current privilege:
 *
 *   riscv_cpu_do_interrupt: hart:0, async:0, cause:0000000000000009, epc:0x0000000080200a3c, tval:0x0000000000000000, desc=supervisor_ecall
 *
 * `async:1` marks an interrupt (cause without the interrupt bit); `tval` is what is written to
 * xtval (bins for illegal instructions, badaddr for address faults, 0 otherwise). The log line
 * has no privilege level: which traps came from M-mode is decided by the comparison policy
 * below.
 *
 * ## Comparison policy
 *
 * 1. Same firmware on both sides (the primary, fair comparison). QEMU runs
 *    `-bios fw_jump.bin` (Debian OpenSBI) with a CPU model reduced to hvtrace's ISA
 *    (QEMU_CPU_MATCHING_HVTRACE) and hvtrace runs the very same fw_jump.bin. Both then execute
 *    identical M-mode and S-mode code, so:
 *    - the traps taken from S/U-mode must be identical, element by element (cause,
 *      interrupt flag, epc, tval). On hvtrace "from S/U" is `fromPriv < 3`; on QEMU, whose log
 *      has no privilege, it is "epc outside the M-mode code regions" (the MROM reset vector at
 *      0x1000 and the firmware image at 0x8000_0000..0x8020_0000). hvtrace's records carry the
 *      real privilege, so the test also checks that this address rule classifies every
 *      hvtrace trap correctly - the rule used on QEMU is thereby validated on the same code.
 *    - ALL traps (M-mode ones included: OpenSBI's CSR probing during boot) are compared as
 *      well. They agree except where QEMU 7.2 itself deviates from the privileged spec:
 *      QEMU_KNOWN_MMODE_DEVIATIONS lists those (illegal-instruction traps on CSRs QEMU 7.2 does
 *      not implement but the spec requires to exist as read-only zero). Those, and only
 *      those, are removed from the QEMU side before the all-traps comparison.
 *
 * 2. hvtrace's built-in SBI (`--bios builtin`) against QEMU's default firmware. The built-in
 *    firmware is native TypeScript: no M-mode instruction runs, so M-mode traps cannot be
 *    compared at all, and it implements SBI v2.0 (with DBCN) where QEMU 7.2's OpenSBI 1.1
 *    implements v1.0 without DBCN. The guests probe the SBI and take different paths (one
 *    DBCN ecall per string vs one legacy putchar ecall per character), so the SBI ecalls
 *    (causes 8 and 9) legitimately differ in number and place. The comparison therefore keeps
 *    traps taken from S/U-mode that are NOT environment calls: illegal instructions,
 *    breakpoints, faults and interrupts must be identical.
 *
 * In both cases QEMU runs `-icount shift=0,sleep=off`: one instruction per ns, so mtime
 * (10 MHz) ticks every 100 instructions as in hvtrace, and the run is reproducible. Timer
 * interrupts are still compared by epc only through guests that take them at a fixed
 * instruction (isa-check waits in wfi with interrupts open for exactly one boundary), since
 * absolute instruction counts differ whenever the firmware differs.
 *
 * Not a difference in traps but worth knowing: QEMU 7.2 resets the ACLINT mtimecmp to 0, so
 * MTIP is pending from reset; hvtrace's Machine builds its Clint with the all-ones default.
 * Only M-mode code that enables mie.MTIE before writing mtimecmp can tell (with --bios none it
 * takes an immediate machine timer interrupt on QEMU and none on hvtrace); OpenSBI writes
 * mtimecmp = -1 first and the built-in SBI never enables MTIE, so these comparisons do not.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QemuTrapLine } from '../trace/event-kinds.js';

/**
 * One trap taken, as QEMU logs it (QemuTrapLine: hart, interrupt, cause without the interrupt
 * bit, epc, tval, QEMU's trap name or ours) and as hvtrace's observer sees it.
 */
export interface TrapRecord extends QemuTrapLine {
  /** Privilege the trap was taken from (hvtrace only: QEMU does not log it). */
  readonly fromPriv?: number;
  /** Privilege the trap went to (hvtrace only). */
  readonly toPriv?: number;
}

const LINE_RE =
  /^riscv_cpu_do_interrupt: hart:(-?\d+), async:([01]), cause:([0-9a-fA-F]+), epc:0x([0-9a-fA-F]+), tval:0x([0-9a-fA-F]+), desc=(\S*)\s*$/;

function parseTrapLine(m: RegExpExecArray): TrapRecord {
  return {
    hart: Number(m[1]),
    interrupt: m[2] === '1',
    cause: Number(BigInt('0x' + m[3]!)),
    epc: BigInt('0x' + m[4]!),
    tval: BigInt('0x' + m[5]!),
    desc: m[6]!,
  };
}

/**
 * Incremental parser for QEMU 7.2 `-d int` output: feed it the log in pieces of any size
 * (`push`), then `end()`. Lines that are not trap lines (other log categories) are ignored. A
 * line that starts like a trap line but does not match the format is an error in `strict` mode
 * unless nothing but blank lines follows it (the last line may be cut short when QEMU was
 * killed); without `strict` it is skipped.
 */
export class QemuIntLogParser {
  readonly records: TrapRecord[] = [];
  private partial = '';
  private lineNo = 0;
  /** A malformed trap line not yet known to be the last one. */
  private pendingBad: { line: string; lineNo: number } | null = null;

  constructor(private readonly strict = true) {}

  push(text: string): void {
    if (text.length === 0) return;
    const data = this.partial + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl < 0) break;
      this.line(data.slice(start, nl));
      start = nl + 1;
    }
    this.partial = data.slice(start);
  }

  end(): TrapRecord[] {
    if (this.partial !== '') {
      this.line(this.partial);
      this.partial = '';
    }
    return this.records;
  }

  private line(raw: string): void {
    this.lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.pendingBad !== null && line.trim() !== '') {
      throw new Error(`qemu log line ${this.pendingBad.lineNo}: unrecognised trap line: ${this.pendingBad.line}`);
    }
    if (!line.startsWith('riscv_cpu_do_interrupt:')) return;
    const m = LINE_RE.exec(line);
    if (m) this.records.push(parseTrapLine(m));
    else if (this.strict) this.pendingBad = { line, lineNo: this.lineNo };
  }
}

/** Parse a whole QEMU 7.2 `-d int` log held in memory (see QemuIntLogParser). */
export function parseQemuIntLog(text: string, strict = true): TrapRecord[] {
  const p = new QemuIntLogParser(strict);
  p.push(text);
  return p.end();
}

/**
 * Parse a QEMU `-d int` log file without holding it in memory (a Linux boot logs one line per
 * trap: tens of MB for long runs). `onChunk` sees the raw bytes, e.g. to hash them.
 */
export function parseQemuIntLogFile(path: string, strict = true, onChunk?: (bytes: Buffer) => void): TrapRecord[] {
  const p = new QemuIntLogParser(strict);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      onChunk?.(buf.subarray(0, n));
      p.push(buf.toString('latin1', 0, n));
    }
  } finally {
    closeSync(fd);
  }
  return p.end();
}

// ----------------------------------------------------------------------------
// Running QEMU
// ----------------------------------------------------------------------------

/**
 * The QEMU binary and Debian's OpenSBI (package opensbi). Live bindings with these defaults: the
 * environment is read only in src/cli/ and in the reference tests' setup
 * (test/reference/setup-env.ts, $QEMU and $FW_JUMP), which call `setQemuPaths`.
 */
export let QEMU_BINARY = 'qemu-system-riscv64';
export let DEBIAN_FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
export function setQemuPaths(p: { qemu?: string; fwJump?: string }): void {
  if (p.qemu) QEMU_BINARY = p.qemu;
  if (p.fwJump) DEBIAN_FW_JUMP = p.fwJump;
}

/**
 * A QEMU 7.2 CPU model with hvtrace's ISA (riscv,isa rv64imafdch_zicsr_zifencei_zihintpause_zicntr_zba_zbb_zbc_zbs_sstc,
 * with Zihpm: QEMU's default 16 mhpmcounters, pmu-num = 16, as hvtrace since issue 16; Zba/Zbb/
 * Zbc/Zbs as QEMU's default `rv64`), no debug triggers, and ID CSRs (marchid = mimpid = 0;
 * QEMU's default is its version, 0x70216, which Linux shows in /proc/cpuinfo). The default
 * `rv64` adds the Sdtrig trigger CSRs; OpenSBI would probe and use those.
 */
export const QEMU_CPU_MATCHING_HVTRACE = 'rv64,h=true,zba=true,zbb=true,zbc=true,zbs=true,debug=false,sstc=true,marchid=0,mimpid=0';

export interface QemuRunOptions {
  /** Kernel / payload image (ELF or raw). */
  readonly kernel: string;
  /** 'default' (QEMU's bundled OpenSBI fw_dynamic), 'none', or a firmware path. */
  readonly bios?: string;
  readonly smp?: number;
  readonly memMiB?: number;
  /** `-cpu` model; undefined = QEMU's default. */
  readonly cpu?: string;
  /** Kernel command line (`-append`). */
  readonly append?: string;
  /** Device tree blob (`-dtb`) instead of QEMU's generated one (QEMU 7.2 still adds /chosen/rng-seed). */
  readonly dtb?: string;
  /** `-seed N`: makes QEMU's guest random numbers (the DT's rng-seed) reproducible. */
  readonly seed?: number;
  readonly extraArgs?: readonly string[];
  /** Write the raw `-d int` log here (kept) instead of a temporary file. */
  readonly logPath?: string;
  /** Kill QEMU after this long (default 120 s). */
  readonly timeoutMs?: number;
  readonly qemu?: string;
}

export interface QemuRunResult {
  readonly log: TrapRecord[];
  /** Everything the guest printed (QEMU's stdout: the serial console). */
  readonly console: string;
  /** QEMU's exit status (null if it was killed). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stderr: string;
  /** The full command line, for messages. */
  readonly argv: readonly string[];
}

/** Is a usable qemu-system-riscv64 installed? */
export function qemuAvailable(qemu = QEMU_BINARY): boolean {
  const r = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** QEMU's major.minor version, or null. */
export function qemuVersion(qemu = QEMU_BINARY): string | null {
  const r = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
  const m = r.status === 0 ? /version (\d+\.\d+)/.exec(r.stdout) : null;
  return m ? m[1]! : null;
}

/**
 * Run QEMU `virt` deterministically (-icount shift=0: one instruction per ns, so mtime ticks
 * every 100 instructions as in hvtrace; sleep=off so a WFI wait does not take wall time) with
 * trap logging, and return the parsed trap log and the console output.
 */
export function runQemu(o: QemuRunOptions): Promise<QemuRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-qemu-'));
  const logPath = o.logPath ?? join(dir, 'int.log');
  const argv = [
    '-M', 'virt',
    ...(o.cpu ? ['-cpu', o.cpu] : []),
    '-nographic',
    '-icount', 'shift=0,sleep=off',
    '-d', 'int',
    '-D', logPath,
    '-m', `${o.memMiB ?? 256}M`,
    '-smp', String(o.smp ?? 1),
    '-bios', o.bios ?? 'default',
    '-kernel', o.kernel,
    ...(o.append !== undefined ? ['-append', o.append] : []),
    ...(o.dtb !== undefined ? ['-dtb', o.dtb] : []),
    ...(o.seed !== undefined ? ['-seed', String(o.seed)] : []),
    ...(o.extraArgs ?? []),
  ];
  const qemu = o.qemu ?? QEMU_BINARY;
  // The console goes to a file, not a pipe: a pipe that is not drained (the caller busy in
  // synchronous code) would stall QEMU once its buffer fills.
  const outPath = join(dir, 'console.out');
  const outFd = openSync(outPath, 'w');
  const cleanup = (): void => {
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(qemu, argv, { stdio: ['ignore', outFd, 'pipe'] });
    } catch (e) {
      cleanup();
      reject(e);
      return;
    } finally {
      closeSync(outFd);
    }
    const err: Buffer[] = [];
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    const timer = setTimeout(() => {
      if (exited) return;
      timedOut = true;
      child.kill('SIGTERM'); // lets QEMU flush its log
      setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5000).unref();
    }, o.timeoutMs ?? 120_000);
    let settled = false;
    child.on('error', (e) => {
      // Spawning failed (e.g. no such binary); 'close' may follow and is then ignored.
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let log: TrapRecord[];
      let consoleText: string;
      try {
        consoleText = readFileSync(outPath, 'latin1');
        log = existsSync(logPath) ? parseQemuIntLogFile(logPath, !timedOut && signal === null) : [];
      } catch (e) {
        reject(e);
        return;
      } finally {
        cleanup();
      }
      resolve({
        log,
        console: consoleText,
        exitCode: code,
        signal,
        timedOut,
        stderr: Buffer.concat(err).toString('utf8'),
        argv: [qemu, ...argv],
      });
    });
  });
}

// ----------------------------------------------------------------------------
// Comparison policy
// ----------------------------------------------------------------------------

export const PRV_M = 3;

/** Physical ranges [start, end) where M-mode code runs on QEMU virt with firmware at RAM start. */
export const M_MODE_CODE_REGIONS: readonly (readonly [bigint, bigint])[] = [
  [0x1000n, 0x2000n], // MROM reset vector
  [0x8000_0000n, 0x8020_0000n], // OpenSBI (the payload starts at 0x8020_0000)
];

/** QEMU side: was this trap taken from S/U-mode (by the epc rule above)? */
export function isFromSUByAddress(r: TrapRecord): boolean {
  return !M_MODE_CODE_REGIONS.some(([s, e]) => r.epc >= s && r.epc < e);
}

/** hvtrace side: was this trap taken from S/U-mode (exact)? */
export function isFromSU(r: TrapRecord): boolean {
  if (r.fromPriv === undefined) throw new Error('isFromSU needs hvtrace records (fromPriv)');
  return r.fromPriv < PRV_M;
}

/** SBI calls: environment calls from U or S (their sequence depends on the SBI implementation). */
export function isEcallFromSU(r: TrapRecord): boolean {
  return !r.interrupt && (r.cause === 8 || r.cause === 9);
}

/** A decoded SYSTEM/CSR instruction: the CSR number, or -1 if `insn` is not a CSR access. */
export function csrOf(insn: bigint): number {
  const v = Number(insn & 0xffffffffn);
  if ((v & 0x7f) !== 0x73) return -1;
  const f3 = (v >>> 12) & 7;
  if (f3 === 0 || f3 === 4) return -1;
  return v >>> 20;
}

/**
 * M-mode traps that QEMU 7.2 takes and the RISC-V privileged spec (v1.12) does not allow,
 * as predicates on QEMU trap records. Each one is an illegal-instruction trap on a CSR that
 * QEMU 7.2 leaves unimplemented but the spec requires to exist (possibly read-only zero):
 */
export const QEMU_KNOWN_MMODE_DEVIATIONS: readonly { readonly what: string; readonly match: (r: TrapRecord) => boolean }[] = [
  {
    // §3.7.1: "Up to 64 PMP entries are supported... All PMP CSR fields are WARL and may be
    // read-only zero." QEMU 7.2 only defines pmpaddr0-15 (and pmpcfg0/2) and raises
    // illegal-instruction on pmpaddr16-63 / pmpcfg4-14; OpenSBI's PMP probe reads pmpaddr16.
    what: 'QEMU 7.2 traps on pmpaddr16-63 / pmpcfg4-15 (spec: read-only zero entries)',
    match: (r) => !r.interrupt && r.cause === 2 && ((c) => (c >= 0x3c0 && c <= 0x3ef) || (c >= 0x3a4 && c <= 0x3af))(csrOf(r.tval)),
  },
  {
    // §3.1.10: "All counters should be implemented, but a legal implementation is to make both
    // the counter and its corresponding event selector be read-only 0." QEMU 7.2 raises
    // illegal-instruction on mhpmcounterN/hpmcounterN beyond pmu-num (checked: mhpmevent19 reads
    // 0 without a trap; hvtrace reads all three as 0); OpenSBI's MHPM probe reads mhpmcounter3
    // (pmu-num=0) or mhpmcounter19 (default pmu-num=16, as QEMU_CPU_MATCHING_HVTRACE).
    what: 'QEMU 7.2 traps on mhpmcounter/mhpmevent beyond pmu-num (spec: read-only zero)',
    match: (r) => !r.interrupt && r.cause === 2 && ((c) => (c >= 0xb03 && c <= 0xb1f) || (c >= 0x323 && c <= 0x33f))(csrOf(r.tval)),
  },
];

export function isKnownQemuDeviation(r: TrapRecord): string | null {
  if (isFromSUByAddress(r)) return null;
  for (const d of QEMU_KNOWN_MMODE_DEVIATIONS) if (d.match(r)) return d.what;
  return null;
}

// ----------------------------------------------------------------------------
// Comparing
// ----------------------------------------------------------------------------

export interface TrapDiff {
  readonly identical: boolean;
  /** Number of records compared (the length of the shorter sequence if they differ in length). */
  readonly compared: number;
  /** Index of the first difference, or -1. */
  readonly index: number;
  readonly expected?: TrapRecord;
  readonly actual?: TrapRecord;
}

/** The fields that must agree: hart, interrupt, cause, epc, tval. */
export function sameTrap(a: TrapRecord, b: TrapRecord): boolean {
  return a.hart === b.hart && a.interrupt === b.interrupt && a.cause === b.cause && a.epc === b.epc && a.tval === b.tval;
}

/** Compare `actual` (hvtrace) with `expected` (QEMU) element by element. */
export function compareTraps(expected: readonly TrapRecord[], actual: readonly TrapRecord[]): TrapDiff {
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (!sameTrap(expected[i]!, actual[i]!)) return { identical: false, compared: i, index: i, expected: expected[i], actual: actual[i] };
  }
  if (expected.length !== actual.length) {
    return { identical: false, compared: n, index: n, expected: expected[n], actual: actual[n] };
  }
  return { identical: true, compared: n, index: -1 };
}

const hex = (v: bigint): string => '0x' + v.toString(16);

export function formatTrap(r: TrapRecord | undefined): string {
  if (r === undefined) return '(end of sequence)';
  const priv = r.fromPriv === undefined ? '' : ` from ${'USHM'[r.fromPriv]}->${'USHM'[r.toPriv ?? 3]}`;
  return `hart ${r.hart} ${r.interrupt ? 'irq' : 'exc'} ${r.cause} (${r.desc}) epc=${hex(r.epc)} tval=${hex(r.tval)}${priv}`;
}

/** A human-readable report of the first difference, with `context` records either side. */
export function formatDiff(d: TrapDiff, expected: readonly TrapRecord[], actual: readonly TrapRecord[], context = 3, labels = ['qemu', 'hvtrace']): string {
  if (d.identical) return `identical (${d.compared} traps)`;
  const lines = [`first difference at trap #${d.index} (of ${labels[0]} ${expected.length}, ${labels[1]} ${actual.length}):`];
  const from = Math.max(0, d.index - context);
  const to = d.index + context;
  for (let i = from; i <= to && (i < expected.length || i < actual.length); i++) {
    const mark = i === d.index ? '>>' : '  ';
    lines.push(`${mark} #${i}`);
    lines.push(`     ${labels[0]!.padEnd(8)} ${formatTrap(expected[i])}`);
    lines.push(`     ${labels[1]!.padEnd(8)} ${formatTrap(actual[i])}`);
  }
  return lines.join('\n');
}

/** Standard names (priv spec tables 3.6) for hvtrace records. */
export function trapName(cause: number, interrupt: boolean): string {
  const irq = ['user_software', 'supervisor_software', 'vs_software', 'machine_software', 'user_timer', 'supervisor_timer',
    'vs_timer', 'machine_timer', 'user_external', 'supervisor_external', 'vs_external', 'machine_external'];
  const exc = ['misaligned_fetch', 'fault_fetch', 'illegal_instruction', 'breakpoint', 'misaligned_load', 'fault_load',
    'misaligned_store', 'fault_store', 'user_ecall', 'supervisor_ecall', 'hypervisor_ecall', 'machine_ecall',
    'exec_page_fault', 'load_page_fault', 'reserved', 'store_page_fault'];
  return (interrupt ? irq[cause] : exc[cause]) ?? `cause_${cause}`;
}
