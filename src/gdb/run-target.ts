/**
 * The gdb target over a live machine (`hvtrace run ... --gdb`, like QEMU's `-s -S`): it starts
 * stopped right before its first instruction and runs forwards only, under the same exact stop
 * points as a replay (engine.ts). Registers and memory may be written (through the hart's
 * setters and the bus, translated code of written pages dropped); reverse execution needs a
 * recording.
 */
import { Machine, type MachineConfig } from '../board/machine.js';
import { PreciseScheduler } from '../replay/precise.js';
import { CodeView } from '../replay/replayer.js';
import { CSR_TABLE } from '../hart/csr.js';
import { hex } from '../diff/compare.js';
import { DebugEngine, DEFAULT_CHUNK } from './engine.js';
import { DebugError, type DebugTarget, type RegRef, type ResumeRequest, type StopEvent } from './target.js';

export interface RunTargetOptions {
  /** Scheduler quantum (instructions per hart per round). */
  quantum?: number;
  /** Stop after this many instructions in total (the run then halts with exit 4). */
  maxInsns?: number;
  /** UART input, delivered from the start as `run --input` does. */
  input?: Uint8Array;
  /** Guest console output. */
  onConsole?: (bytes: Uint8Array) => void;
  /** Instructions per run chunk, between looks at Ctrl-C (default 1M). */
  chunk?: number;
  /**
   * 'after' (default): a watchpoint stop is right after the accessing instruction. 'gdb': the
   * same stop, but the step gdb makes next over the access (it treats RISC-V watchpoints as
   * firing before the access and single-steps the thread over it, watchpoints removed) is
   * answered without executing anything, so gdb ends up right after the access, not one
   * instruction later. (A live machine cannot stop before an access it has not run yet.)
   */
  watchStop?: 'after' | 'gdb';
}

export class RunTarget extends DebugEngine implements DebugTarget {
  readonly kind = 'run' as const;

  private readonly watchStop: 'after' | 'gdb';
  /** The hart of the last watchpoint stop, while its step over the access is still to come. */
  private stepOver = -1;

  constructor(machine: Machine, sched: PreciseScheduler, chunk = DEFAULT_CHUNK, watchStop: 'after' | 'gdb' = 'after') {
    super(machine, sched, new CodeView(machine, {}, null), chunk);
    this.watchStop = watchStop;
  }

  writeReg(n: number, reg: RegRef, value: bigint): void {
    const h = this.hart(n);
    const v = BigInt.asUintN(64, value);
    switch (reg.kind) {
      case 'x':
        if (!(reg.index >= 0 && reg.index < 32)) throw new DebugError(`no register x${reg.index}`);
        h.setX(reg.index, v);
        break;
      case 'pc':
        h.setPc(v);
        break;
      case 'f':
        if (!(reg.index >= 0 && reg.index < 32)) throw new DebugError(`no register f${reg.index}`);
        h.fb[reg.index] = BigInt.asIntN(64, v);
        break;
      case 'priv': {
        const p = Number(v & 3n);
        if (p === 2) throw new DebugError('priv 2 is reserved (0 U, 1 S, 3 M; bit 2 is V)');
        const virt = (v & 4n) !== 0n;
        if (virt && p === 3) throw new DebugError('V = 1 needs priv S or U');
        h.setVirt(virt);
        h.setPriv(p);
        break;
      }
      case 'csr': {
        const d = CSR_TABLE[reg.csr];
        if (d === undefined || !this.csrs.some((c) => c.num === reg.csr)) throw new DebugError(`no CSR ${hex(reg.csr)}`);
        if (d.write === undefined) throw new DebugError(`CSR ${d.name} is read-only`);
        h.csrSet(reg.csr, v, 'firmware');
        break;
      }
    }
    // Interrupts, translation and counters may have changed: look again before the next instruction.
    h.flushAllTlb();
    h.attention = true;
  }

  writeMemory(n: number, addr: bigint, data: Uint8Array, physical: boolean): boolean {
    const h = this.machine.harts[n] ?? null;
    const bus = this.machine.bus;
    // Translate everything first: nothing is written when any page is unmapped.
    const parts: [number, number, number][] = [];
    let va = BigInt.asUintN(64, addr);
    for (let done = 0; done < data.length;) {
      const k = Math.min(4096 - Number(va & 4095n), data.length - done);
      const pa = physical ? (va < 2n ** 53n ? Number(va) : null) : this.code.translatePa(h, va);
      if (pa === null || !bus.isRam(pa, k)) return false;
      parts.push([pa, done, k]);
      done += k;
      va = BigInt.asUintN(64, va + BigInt(k));
    }
    // Bus.writeRam drops translated code of the pages it writes (Machine's onRamWrite).
    for (const [pa, off, k] of parts) bus.writeRam(pa, data.subarray(off, off + k));
    // Page tables may have changed.
    for (const x of this.machine.harts) x.flushAllTlb();
    return true;
  }

  async resume(req: ResumeRequest, interrupted: () => boolean): Promise<StopEvent> {
    const hart = this.hart(req.hart).id;
    if (req.direction === 'reverse') {
      throw new DebugError('reverse execution needs a recording: `hvtrace record` it, then `hvtrace replay TRACE --gdb`');
    }
    const m = this.machine;
    const over = this.stepOver;
    this.stepOver = -1;
    // gdb's step over the access a watchpoint stop reported: already done.
    if (over === hart && req.mode === 'step') return { hart, reason: 'step' };
    if (m.halt) return { hart, reason: 'halted', halt: { exitCode: m.halt.exitCode, message: m.halt.message } };
    const spec = req.mode === 'step'
      ? { step: { hart, steps: m.harts[hart]!.attempted + 1 }, hits: 'stop' as const }
      : { hits: 'stop' as const };
    const { outcome } = await this.execute(spec, interrupted);
    if (outcome.kind === 'interrupted') {
      const s = this.settle();
      if (s.kind === 'landed') this.stopHart = s.hart;
    }
    if (this.watchStop === 'gdb' && outcome.kind === 'hit' && outcome.hit.reason === 'watchpoint') this.stepOver = outcome.hit.hart;
    const halt = this.halted();
    if (halt) {
      if (outcome.kind === 'hit') return this.stopEvent(outcome, hart);
      return { hart: this.stopHart, reason: 'halted', halt: { exitCode: halt.exitCode, message: halt.message } };
    }
    return this.stopEvent(outcome, outcome.kind === 'interrupted' ? this.stopHart : hart);
  }

  async monitor(command: string, _interrupted: () => boolean): Promise<string> {
    const cmd = command.trim().split(/\s+/)[0] ?? 'help';
    switch (cmd) {
      case 'when': {
        const h = this.machine.harts[this.stopHart]!;
        return `instruction ${this.sched.totalRetired()} (step ${this.total()})\nhart ${h.id}: instret ${h.instret}, attempted ${h.attempted}, pc ${hex(h.getPc())}\n`;
      }
      case 'help':
      case '':
        return [
          'monitor when            global instruction count and the hart\'s instret',
          'monitor phys on|off     read and write memory by physical address',
          '(seek, events, checkpoint and restart need a recording: hvtrace replay TRACE --gdb)',
          '',
        ].join('\n');
      case 'seek': case 'events': case 'checkpoint': case 'restart':
        throw new DebugError(`monitor ${cmd} needs a recording: \`hvtrace record\` the run, then \`hvtrace replay TRACE --gdb\``);
      default:
        throw new DebugError(`unknown monitor command "${cmd}" (monitor help lists them)`);
    }
  }

  private halted(): { exitCode: number; message: string } | null {
    return this.machine.halt;
  }

  /** Go to the first instruction (stop point 0). */
  start(): void {
    const { outcome } = this.executeSync({ landG: 0, hits: 'off' });
    if (outcome.kind === 'landed') this.stopHart = outcome.hart;
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * Build the machine (`machineConfigFromCli` in src/cli/run.ts gives the configuration) and stop
 * it right before its first instruction. Throws ImageError for a bad configuration.
 */
export function openRunTarget(config: MachineConfig, opts: RunTargetOptions = {}): RunTarget {
  const machine = new Machine(config);
  if (opts.onConsole) machine.onConsole = opts.onConsole;
  const sched = new PreciseScheduler(machine, { quantum: opts.quantum, maxInsns: opts.maxInsns });
  if (opts.input && opts.input.length > 0) sched.addInput(opts.input, 0);
  const t = new RunTarget(machine, sched, opts.chunk ?? DEFAULT_CHUNK, opts.watchStop ?? 'after');
  t.start();
  return t;
}
