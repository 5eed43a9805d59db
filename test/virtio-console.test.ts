/**
 * virtio-console (virtio 1.1 §5.3, issue 16 "hvc"): port 0 behind a virtio-mmio transport,
 * driven as a driver drives it (§3.1.1 initialisation, receiveq 0 and transmitq 1), on a bare
 * Bus with guest RAM; and on a Machine, where the scheduler delivers console input into the
 * receive buffers at round boundaries when `virtconsole.input` is set.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../src/mem/bus.js';
import { VirtioMmio, VIRTIO_F_VERSION_1, STATUS_FEATURES_OK, STATUS_DEVICE_NEEDS_RESET } from '../src/devices/virtio-mmio.js';
import { VirtioConsole, VIRTIO_CONSOLE_F_EMERG_WRITE } from '../src/devices/virtio-console.js';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

const RAM = 0x8000_0000;
const QSIZE = 8;
/** Rings of queue q at RAM + 0x1000 + 0x4000 * q: desc, then avail at +0x1000, used at +0x2000. */
const ring = (q: number): { desc: number; avail: number; used: number } => {
  const b = RAM + 0x1000 + 0x4000 * q;
  return { desc: b, avail: b + 0x1000, used: b + 0x2000 };
};
const BUF = RAM + 0x20000;

class Lines {
  level = new Map<number, boolean>();
  setSourceLevel(s: number, l: boolean): void { this.level.set(s, l); }
}

/** A minimal virtio-console driver: queues 0 and 1 of QSIZE entries. */
class ConsoleDriver {
  readonly bus: Bus;
  readonly t: VirtioMmio;
  readonly lines = new Lines();
  private avail = [0, 0];
  constructor(dev: VirtioConsole, bus = new Bus(RAM, 1 << 20), t?: VirtioMmio) {
    this.bus = bus;
    this.t = t ?? new VirtioMmio(7, this.bus, this.lines, dev);
  }
  r(off: number): number { return Number(this.t.read(off, 4)); }
  w(off: number, v: number): void { this.t.write(off, 4, BigInt(v)); }
  /** §3.1.1: reset, ACKNOWLEDGE, DRIVER, features (high word VERSION_1, low word `low`), queues. */
  init(low = 0): number {
    this.w(0x70, 0);
    this.w(0x70, 1);
    this.w(0x70, 3);
    this.w(0x24, 0);
    this.w(0x20, low);
    this.w(0x24, 1);
    this.w(0x20, Number(VIRTIO_F_VERSION_1 >> 32n));
    this.w(0x70, 3 | STATUS_FEATURES_OK);
    const st = this.r(0x70);
    for (const q of [0, 1]) {
      const g = ring(q);
      this.w(0x30, q);
      this.w(0x38, QSIZE);
      this.w(0x80, g.desc); this.w(0x84, 0);
      this.w(0x90, g.avail); this.w(0x94, 0);
      this.w(0xa0, g.used); this.w(0xa4, 0);
      this.w(0x44, 1);
    }
    this.w(0x70, st | 4);
    return st;
  }
  private o(pa: number): number { return this.bus.ramOffset + pa - RAM; }
  desc(q: number, i: number, addr: number, len: number, flags: number, next = 0): void {
    const o = this.o(ring(q).desc + 16 * i);
    this.bus.dv.setBigUint64(o, BigInt(addr), true);
    this.bus.dv.setUint32(o + 8, len, true);
    this.bus.dv.setUint16(o + 12, flags, true);
    this.bus.dv.setUint16(o + 14, next, true);
  }
  submit(q: number, head: number): void {
    const o = this.o(ring(q).avail);
    this.bus.dv.setUint16(o + 4 + 2 * (this.avail[q]! % QSIZE), head, true);
    this.avail[q]!++;
    this.bus.dv.setUint16(o + 2, this.avail[q]!, true);
    this.w(0x50, q);
  }
  usedIdx(q: number): number { return this.bus.dv.getUint16(this.o(ring(q).used + 2), true); }
  usedElem(q: number, k: number): [number, number] {
    const o = this.o(ring(q).used + 4 + 8 * k);
    return [this.bus.dv.getUint32(o, true), this.bus.dv.getUint32(o + 4, true)];
  }
  /** Transmit `text` as one buffer at `at`. */
  send(text: string, at = BUF): void {
    const b = new TextEncoder().encode(text);
    this.bus.writeRam(at, b);
    this.desc(1, 0, at, b.length, 0);
    this.submit(1, 0);
  }
  /** Offer receive buffers of `lens` bytes (one chain each, descriptors 0..). */
  offerRx(lens: number[]): void {
    let at = BUF + 0x1000;
    lens.forEach((len, i) => {
      this.desc(0, i, at, len, 2);
      this.submit(0, i);
      at += 0x100;
    });
  }
  rxText(i: number, n: number): string {
    return new TextDecoder().decode(this.bus.readRam(BUF + 0x1000 + 0x100 * i, n));
  }
}

function consoleWithOutput(): { dev: VirtioConsole; out: () => string } {
  const chunks: Uint8Array[] = [];
  const dev = new VirtioConsole((b) => chunks.push(b.slice()));
  return { dev, out: () => chunks.map((c) => new TextDecoder().decode(c)).join('') };
}

describe('virtio-console device', () => {
  it('is device ID 3 with two queues, offers VERSION_1 and EMERG_WRITE only (no MULTIPORT, no SIZE)', () => {
    const { dev } = consoleWithOutput();
    const d = new ConsoleDriver(dev);
    expect(d.r(0x008)).toBe(3);
    d.w(0x14, 0);
    expect(d.r(0x10)).toBe(Number(VIRTIO_CONSOLE_F_EMERG_WRITE));
    d.w(0x14, 1);
    expect(d.r(0x10)).toBe(1);
    expect(d.init(2) & STATUS_FEATURES_OK).toBe(0); // MULTIPORT is not offered
    expect(d.init(1) & STATUS_FEATURES_OK).toBe(0); // nor SIZE
    expect(d.init(4) & STATUS_FEATURES_OK).toBe(STATUS_FEATURES_OK);
    for (const q of [0, 1]) {
      d.w(0x30, q);
      expect(d.r(0x34)).toBe(128);
    }
    d.w(0x30, 2);
    expect(d.r(0x34)).toBe(0); // no control queues
  });

  it('config space: cols 0, rows 0, max_nr_ports 1; with EMERG_WRITE accepted a write to emerg_wr outputs the byte', () => {
    const { dev, out } = consoleWithOutput();
    const d = new ConsoleDriver(dev);
    expect(Number(d.t.read(0x100, 2))).toBe(0);
    expect(Number(d.t.read(0x102, 2))).toBe(0);
    expect(Number(d.t.read(0x104, 4))).toBe(1);
    d.init();
    d.t.write(0x108, 4, 0x3fn); // not accepted: ignored
    expect(out()).toBe('');
    d.init(Number(VIRTIO_CONSOLE_F_EMERG_WRITE));
    d.t.write(0x108, 4, 0x21n);
    d.t.write(0x108, 1, 0x0an);
    expect(out()).toBe('!\n');
  });

  it('transmitq buffers are output in the QueueNotify store and used with length 0', () => {
    const { dev, out } = consoleWithOutput();
    const d = new ConsoleDriver(dev);
    d.init();
    d.send('hello, hvc0\n');
    expect(out()).toBe('hello, hvc0\n');
    expect(d.usedIdx(1)).toBe(1);
    expect(d.usedElem(1, 0)).toEqual([0, 0]);
    expect(d.lines.level.get(8)).toBe(true);
    // A chain of two readable buffers is output in chain order.
    d.bus.writeRam(BUF + 0x200, new TextEncoder().encode('ab'));
    d.bus.writeRam(BUF + 0x300, new TextEncoder().encode('cd'));
    d.desc(1, 0, BUF + 0x200, 2, 1, 1);
    d.desc(1, 1, BUF + 0x300, 2, 0);
    d.submit(1, 0);
    expect(out()).toBe('hello, hvc0\nabcd');
  });

  it('receive buffers are held at notify and filled with input in order, as far as they go', () => {
    const { dev } = consoleWithOutput();
    const d = new ConsoleDriver(dev);
    expect(dev.rxListening()).toBe(false);
    expect(dev.rxSpace()).toBe(0);
    d.init();
    expect(dev.rxListening()).toBe(true);
    d.offerRx([4, 4]);
    expect(d.usedIdx(0)).toBe(0); // held, not used
    expect(dev.rxSpace()).toBe(8);
    for (const c of 'hello') dev.pushRx(c.charCodeAt(0));
    expect(dev.rxSpace()).toBe(3);
    expect(d.lines.level.get(8)).toBe(false);
    dev.endRx();
    expect(d.usedIdx(0)).toBe(2);
    expect(d.usedElem(0, 0)).toEqual([0, 4]);
    expect(d.usedElem(0, 1)).toEqual([1, 1]);
    expect(d.rxText(0, 4)).toBe('hell');
    expect(d.rxText(1, 1)).toBe('o');
    expect(d.lines.level.get(8)).toBe(true);
    expect(dev.rxSpace()).toBe(0); // both buffers used
  });

  it('a bad receive chain is a device error (DEVICE_NEEDS_RESET), not an exception', () => {
    const { dev } = consoleWithOutput();
    const d = new ConsoleDriver(dev);
    d.init();
    d.desc(0, 0, 0x1000, 16, 2); // not RAM
    d.submit(0, 0);
    expect(dev.rxSpace()).toBe(0);
    dev.pushRx(0x41);
    expect(() => dev.endRx()).not.toThrow();
    expect(d.r(0x70) & STATUS_DEVICE_NEEDS_RESET).toBe(STATUS_DEVICE_NEEDS_RESET);
  });

  it('input not yet delivered is kept across a checkpoint', () => {
    const { dev } = consoleWithOutput();
    dev.pushRx(0x61);
    const { dev: dev2 } = consoleWithOutput();
    dev2.restoreState(dev.saveState());
    const d = new ConsoleDriver(dev2);
    d.init();
    d.offerRx([4]);
    dev2.endRx();
    expect(d.rxText(0, 1)).toBe('a');
  });
});

describe('virtconsole on the board', () => {
  const cfg = (input: boolean) => ({ ramSize: 64 << 20, harts: 1, bios: 'none' as const, kernel: { name: 'k', bytes: Uint8Array.of(0x73, 0x00, 0x50, 0x10) }, virtconsole: { input } });

  it('sits on the highest transport (0x10008000, source 8) and writes to onConsole', () => {
    const m = new Machine(cfg(false));
    expect(m.virtio[7]!.device).toBe(m.virtconsole);
    expect(m.virtio[6]!.device).toBe(null);
    expect(m.consoleIn).toBe(m.uart);
    const seen: string[] = [];
    m.onConsole = (b) => seen.push(new TextDecoder().decode(b));
    const d = new ConsoleDriver(m.virtconsole!, m.bus, m.virtio[7]);
    d.init();
    d.send('from hvc\n', 0x8100_0000);
    expect(seen.join('')).toBe('from hvc\n');
  });

  it('with input: the scheduler delivers queued input into the receive buffers at a round boundary', () => {
    const m = new Machine(cfg(true));
    expect(m.consoleIn).toBe(m.virtconsole);
    const sched = new Scheduler(m, { quantum: 100 });
    const delivered: number[] = [];
    sched.onInputDelivered = (_t, b) => delivered.push(b);
    sched.addInput(new TextEncoder().encode('ls\n'), 0);
    const d = new ConsoleDriver(m.virtconsole!, m.bus, m.virtio[7]);
    d.init();
    d.offerRx([2, 2]);
    for (let i = 0; i < 4 && delivered.length < 3; i++) sched.step(1);
    expect(String.fromCharCode(...delivered)).toBe('ls\n');
    expect(d.usedIdx(0)).toBe(2);
    expect(d.rxText(0, 2)).toBe('ls');
    expect(d.rxText(1, 1)).toBe('\n');
  });
});
