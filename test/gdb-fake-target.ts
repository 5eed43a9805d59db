/**
 * TEST DOUBLE: a tiny scripted DebugTarget for the protocol tests (test/gdb-rsp.test.ts). It is not
 * an emulator: each hart's pc advances by 4 per step, the harts take turns one instruction each,
 * "time" is a global step counter that reverse execution decrements, and a store to WATCH_VAR
 * happens whenever hart 0 is at STORE_PC. Enough to drive every packet of the stub.
 */
import { DebugError, type BreakKind, type CsrInfo, type DebugTarget, type HartStatus, type RegRef, type ResumeRequest, type StopEvent } from '../src/gdb/target.js';

export const BASE = 0x8000_0000n;
export const MEM_SIZE = 0x1_0000;
export const STORE_PC = BASE + 0x40n;
export const WATCH_VAR = BASE + 0x8000n;
export const END_TIME = 1000;

export class FakeTarget implements DebugTarget {
  readonly hasFpu = true;
  readonly csrs: CsrInfo[] = [
    { name: 'fflags', num: 1 }, { name: 'frm', num: 2 }, { name: 'fcsr', num: 3 },
    { name: 'sstatus', num: 0x100 }, { name: 'satp', num: 0x180 }, { name: 'hstatus', num: 0x600 },
    { name: 'mstatus', num: 0x300 }, { name: 'misa', num: 0x301 }, { name: 'mhartid', num: 0xf14 },
  ];
  time = 0;
  readonly mem = new Uint8Array(MEM_SIZE);
  readonly breaks = new Map<string, number>();
  readonly x: bigint[][];
  writes: { reg: RegRef; value: bigint }[] = [];
  monitorCalls: string[] = [];
  /** Steps per resume chunk before yielding; a continue with no stop runs until END_TIME. */
  slow = false;
  current = 0;

  constructor(readonly kind: 'replay' | 'run', readonly hartCount = 4) {
    this.x = Array.from({ length: hartCount }, (_, h) => Array.from({ length: 32 }, (_, i) => (i === 0 ? 0n : BigInt(h * 100 + i))));
    for (let i = 0; i < MEM_SIZE; i++) this.mem[i] = i & 0xff;
  }

  /** pc of hart h at the current time: harts take turns, one instruction each. */
  pcOf(h: number, t = this.time): bigint {
    const mine = Math.floor(t / this.hartCount) + (t % this.hartCount > h ? 1 : 0);
    return BASE + BigInt(mine % 64) * 4n;
  }

  hartStatus(hart: number): HartStatus {
    return { id: hart, priv: hart === 1 ? 'VS' : 'M', state: hart === 3 ? 'wfi' : 'running' };
  }

  readReg(hart: number, reg: RegRef): bigint | null {
    switch (reg.kind) {
      case 'x': return this.x[hart]![reg.index]!;
      case 'pc': return this.pcOf(hart);
      case 'f': return 0x3ff0_0000_0000_0000n; // 1.0
      case 'priv': return hart === 1 ? 5n : 3n;
      case 'csr':
        if (reg.csr === 0xf14) return BigInt(hart);
        if (reg.csr === 0x300) return 0xa_0000_1800n;
        if (reg.csr === 0x180) return this.time > 100 ? 0x8000_0000_0008_0000n : 0n;
        return this.csrs.some((c) => c.num === reg.csr) ? BigInt(reg.csr) : null;
    }
  }

  writeReg(hart: number, reg: RegRef, value: bigint): void {
    if (this.kind === 'replay') throw new DebugError('the replay is read-only: writing a register would make it differ from the recording');
    if (reg.kind === 'x' && reg.index > 0) this.x[hart]![reg.index] = value;
    this.writes.push({ reg, value });
  }

  readMemory(_hart: number, addr: bigint, length: number, physical: boolean): Uint8Array | null {
    const base = physical ? BASE : BASE; // the fake maps virtual = physical
    if (addr < base || addr + BigInt(length) > base + BigInt(MEM_SIZE)) return null;
    const off = Number(addr - base);
    return this.mem.slice(off, off + length);
  }

  writeMemory(_hart: number, addr: bigint, data: Uint8Array): boolean {
    if (this.kind === 'replay') throw new DebugError('the replay is read-only: writing memory would make it differ from the recording');
    if (addr < BASE || addr + BigInt(data.length) > BASE + BigInt(MEM_SIZE)) return false;
    this.mem.set(data, Number(addr - BASE));
    return true;
  }

  insertBreak(kind: BreakKind, addr: bigint, length: number): boolean {
    if ((kind === 'write' || kind === 'read' || kind === 'access') && length > 8) return false;
    const k = `${kind}:${addr}`;
    this.breaks.set(k, (this.breaks.get(k) ?? 0) + 1);
    return true;
  }

  removeBreak(kind: BreakKind, addr: bigint): boolean {
    const k = `${kind}:${addr}`;
    const n = this.breaks.get(k);
    if (!n) return false;
    if (n === 1) this.breaks.delete(k);
    else this.breaks.set(k, n - 1);
    return true;
  }

  private stopHere(): StopEvent | null {
    for (let h = 0; h < this.hartCount; h++) {
      const pc = this.pcOf(h);
      if (this.breaks.has(`sw:${pc}`) || this.breaks.has(`hw:${pc}`)) return { hart: h, reason: 'breakpoint' };
    }
    return null;
  }

  /** hart whose instruction runs at time t -> t+1 */
  private mover(t: number): number {
    return t % this.hartCount;
  }

  async resume(req: ResumeRequest, interrupted: () => boolean): Promise<StopEvent> {
    const dir = req.direction === 'forward' ? 1 : -1;
    const start = this.time;
    let n = 0;
    for (;;) {
      if (dir > 0 && this.time >= END_TIME) return { hart: req.hart, reason: 'end' };
      if (dir < 0 && this.time <= 0) return { hart: req.hart, reason: 'begin' };
      const t = dir > 0 ? this.time : this.time - 1;
      const h = this.mover(t);
      const storing = h === 0 && this.pcOf(0, t) === STORE_PC;
      this.time += dir;
      this.current = h;
      if (req.mode === 'step' && h === req.hart) return { hart: h, reason: 'step' };
      // reverse: land after the store, as a forward stop would (not where we started)
      if (storing && (dir > 0 || t + 1 !== start) && (this.breaks.has(`write:${WATCH_VAR}`) || this.breaks.has(`access:${WATCH_VAR}`))) {
        if (dir < 0) this.time += 1;
        return { hart: 0, reason: 'watchpoint', watch: { kind: 'write', addr: WATCH_VAR } };
      }
      if (req.mode === 'continue') {
        const s = this.stopHere();
        if (s) return s;
      }
      if (++n % 16 === 0) {
        await new Promise((r) => setTimeout(r, this.slow ? 20 : 0));
        if (interrupted()) return { hart: req.hart, reason: 'interrupted' };
      }
      if (this.kind === 'run' && this.time >= END_TIME) return { hart: 0, reason: 'halted', halt: { exitCode: 0, message: 'poweroff' } };
    }
  }

  async monitor(command: string): Promise<string> {
    this.monitorCalls.push(command);
    const [w, arg] = command.split(/\s+/);
    if (w === 'when') return `time ${this.time}\n`;
    if (w === 'seek' && arg !== undefined && /^\d+$/.test(arg)) {
      this.time = Number(arg);
      return `at ${this.time}\n`;
    }
    if (w === 'help') return 'when\nseek N\n';
    throw new DebugError(`unknown monitor command: ${command}`);
  }

  currentHart(): number {
    return this.current;
  }

  close(): void {}
}
