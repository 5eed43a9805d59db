import { describe, expect, it } from 'vitest';
import { IRQ_SEIP, type HartIrqLines } from '../src/mem/device.js';
import { Plic } from '../src/devices/plic.js';
import { Uart16550 } from '../src/devices/uart16550.js';

const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function setup() {
  const tx: number[] = [];
  const levels: boolean[] = [];
  const irq = { setSourceLevel: (src: number, level: boolean) => { expect(src).toBe(10); levels.push(level); } };
  const uart = new Uart16550(irq, 10, (b) => void tx.push(b));
  const w = (off: number, v: number) => uart.write(off, 1, BigInt(v));
  const r = (off: number) => Number(uart.read(off, 1));
  const level = () => levels[levels.length - 1] ?? false;
  return { uart, tx, levels, w, r, level };
}

describe('Uart16550', () => {
  it('has the virt address and size', () => {
    const { uart } = setup();
    expect(uart.base).toBe(0x1000_0000);
    expect(uart.size).toBe(0x100);
  });

  it('resets like QEMU 7.2 serial.c (values checked on qemu-system-riscv64)', () => {
    const { r } = setup();
    expect(r(LSR)).toBe(0x60);
    expect(r(IIR)).toBe(0x01);
    expect(r(MSR)).toBe(0xb0);
    expect(r(MCR)).toBe(0x08);
    expect(r(LCR)).toBe(0);
    expect(r(IER)).toBe(0);
    expect(r(SCR)).toBe(0);
  });

  it('transmits instantly', () => {
    const { tx, w, r } = setup();
    for (const c of 'hi\n') w(THR, c.charCodeAt(0));
    expect(String.fromCharCode(...tx)).toBe('hi\n');
    expect(r(LSR)).toBe(0x60);
  });

  it('DLAB selects the divisor latch', () => {
    const { tx, w, r } = setup();
    w(LCR, 0x83);
    expect(r(DLL)).toBe(0x0c); // reset divider 12
    expect(r(DLM)).toBe(0);
    w(DLL, 0x01);
    w(DLM, 0x02);
    expect(r(DLL)).toBe(0x01);
    expect(r(DLM)).toBe(0x02);
    expect(tx).toEqual([]);
    w(LCR, 0x03);
    expect(r(IER)).toBe(0);
    expect(r(LCR)).toBe(0x03);
  });

  it('THRI: raised on enabling ETBEI, acknowledged by reading IIR, re-raised after transmit', () => {
    const { w, r, level, levels } = setup();
    w(IER, 0x02);
    expect(level()).toBe(true);
    expect(r(IIR)).toBe(0x02);
    expect(level()).toBe(false);
    expect(r(IIR)).toBe(0x01);
    w(THR, 0x41);
    expect(level()).toBe(true);
    expect(r(IIR)).toBe(0x02);
    // Toggling ETBEI off and on re-raises it even though IIR acknowledged it.
    w(IER, 0);
    expect(level()).toBe(false);
    w(IER, 0x02);
    expect(level()).toBe(true);
    // Writing the same IER again changes nothing (no IRQ re-evaluation).
    const n = levels.length;
    w(IER, 0x02);
    expect(levels.length).toBe(n);
  });

  it('receives without FIFO: DR, RDI, overrun', () => {
    const { uart, w, r, level } = setup();
    expect(uart.rxSpace()).toBe(1);
    w(IER, 0x01);
    expect(level()).toBe(false);
    uart.pushRx(0x61);
    expect(uart.rxSpace()).toBe(0);
    expect(level()).toBe(true);
    expect(r(IIR)).toBe(0x04);
    expect(r(LSR) & 1).toBe(1);
    expect(r(RBR)).toBe(0x61);
    expect(r(LSR)).toBe(0x60);
    expect(level()).toBe(false);
    // Overrun: the second byte replaces the first and sets OE.
    uart.pushRx(1);
    uart.pushRx(2);
    w(IER, 0x05); // + receiver line status
    expect(r(IIR)).toBe(0x06); // RLSI outranks RDI
    expect(r(LSR)).toBe(0x63); // DR | OE | THRE | TEMT, reading clears OE
    expect(r(IIR)).toBe(0x04);
    expect(r(RBR)).toBe(2);
    expect(level()).toBe(false);
  });

  it('FIFO mode: trigger levels, IIR FIFO bits, timeout interrupt, order', () => {
    const { uart, w, r, level } = setup();
    w(FCR, 0x01);
    expect(r(IIR)).toBe(0xc1);
    w(FCR, 0x81); // trigger level 8
    expect(uart.rxSpace()).toBe(8);
    w(IER, 0x01);
    for (const b of [1, 2, 3]) uart.pushRx(b);
    expect(uart.rxSpace()).toBe(5);
    // Below the trigger level: character timeout (treated as already expired).
    expect(level()).toBe(true);
    expect(r(IIR)).toBe(0xcc);
    expect(r(RBR)).toBe(1);
    expect(r(IIR)).toBe(0xcc);
    expect(r(RBR)).toBe(2);
    expect(r(RBR)).toBe(3);
    expect(r(LSR) & 1).toBe(0);
    expect(r(IIR)).toBe(0xc1);
    expect(level()).toBe(false);
    // At the trigger level: RDI; QEMU's can_receive then reports 0 until the guest reads.
    for (let i = 0; i < 8; i++) uart.pushRx(0x30 + i);
    expect(uart.rxSpace()).toBe(0);
    expect(r(IIR)).toBe(0xc4);
    expect(r(RBR)).toBe(0x30);
    expect(uart.rxSpace()).toBe(1);
    expect(r(IIR)).toBe(0xcc);
  });

  it('FIFO overrun drops the new byte and sets OE; FCR resets flush', () => {
    const { uart, w, r } = setup();
    w(FCR, 0xc1); // trigger 14
    for (let i = 0; i < 17; i++) uart.pushRx(i);
    expect(uart.rxSpace()).toBe(0);
    expect(r(LSR) & 0x03).toBe(0x03);
    expect(r(LSR) & 0x02).toBe(0); // OE cleared by the previous read
    const got: number[] = [];
    while (r(LSR) & 1) got.push(r(RBR));
    expect(got).toEqual([...Array(16).keys()]);
    uart.pushRx(0x55);
    w(FCR, 0xc3); // RX FIFO reset
    expect(r(LSR) & 1).toBe(0);
    uart.pushRx(0x66);
    w(FCR, 0x00); // disabling FIFOs flushes them too
    expect(r(LSR) & 1).toBe(0);
    expect(r(IIR)).toBe(0x01);
  });

  it('loopback returns transmitted bytes and mirrors MCR in MSR', () => {
    const { uart, tx, w, r } = setup();
    w(MCR, 0x1f);
    expect(r(MCR)).toBe(0x1f);
    expect(r(MSR)).toBe(0xf0);
    w(THR, 0x5a);
    expect(tx).toEqual([]);
    expect(r(LSR) & 1).toBe(1);
    expect(r(RBR)).toBe(0x5a);
    w(MCR, 0x08);
    w(THR, 0x5b);
    expect(tx).toEqual([0x5b]);
    expect(uart.rxSpace()).toBe(1);
  });

  it('treats any access width as a byte access; unknown offsets are inert', () => {
    const { uart, w } = setup();
    expect(uart.read(LSR, 4)).toBe(0x60n);
    uart.write(SCR, 4, 0x1234n);
    expect(uart.read(SCR, 8)).toBe(0x34n);
    expect(uart.read(0x10, 1)).toBe(0n);
    w(0x10, 0xff);
  });

  it('checkpoints round-trip', () => {
    const a = setup();
    a.w(FCR, 0x41);
    a.w(IER, 0x03);
    a.uart.pushRx(7);
    a.uart.pushRx(8);
    a.w(SCR, 0x99);
    const saved = structuredClone(a.uart.saveState());
    const b = setup();
    b.uart.restoreState(saved);
    expect(b.r(SCR)).toBe(0x99);
    expect(b.r(IER)).toBe(0x03);
    expect(b.uart.irqAsserted()).toBe(true);
    expect(b.r(RBR)).toBe(7);
    expect(b.r(RBR)).toBe(8);
    expect(() => b.uart.restoreState(null)).toThrow();
  });

  it('works with the PLIC: interrupt, claim, handler drains, complete', () => {
    const calls: [number, number, boolean][] = [];
    const lines: HartIrqLines = { setIrqLine: (h, bit, l) => void calls.push([h, bit, l]) };
    const plic = new Plic(1, lines);
    const uart = new Uart16550(plic, 10, () => {});
    plic.write(4 * 10, 4, 1n);
    plic.write(0x2080, 4, 1n << 10n); // S-mode context of hart 0
    uart.write(FCR, 1, 0x81n); // FIFOs on, trigger level 8
    uart.write(IER, 1, 1n);
    uart.pushRx(0x61);
    expect(calls).toEqual([[0, IRQ_SEIP, true]]);
    expect(plic.read(0x20_1004, 4)).toBe(10n); // claim
    expect(calls[1]).toEqual([0, IRQ_SEIP, false]);
    // More input while the handler runs: the gateway holds it back...
    uart.pushRx(0x62);
    expect(calls.length).toBe(2);
    // ...the handler reads only one byte and completes: source 10 is pending again.
    expect(uart.read(RBR, 1)).toBe(0x61n);
    plic.write(0x20_1004, 4, 10n);
    expect(calls[2]).toEqual([0, IRQ_SEIP, true]);
    expect(plic.read(0x20_1004, 4)).toBe(10n);
    expect(uart.read(RBR, 1)).toBe(0x62n);
    plic.write(0x20_1004, 4, 10n);
    expect(calls.length).toBe(4);
    expect(calls[3]).toEqual([0, IRQ_SEIP, false]);
  });
});

describe('Uart16550: when the guest counts as listening (input is held until then)', () => {
  it("one read of an empty RBR (Linux 8250 startup clearing the receiver) is not listening", () => {
    const { uart, r } = setup();
    r(LSR); r(RBR); r(IIR); r(MSR);
    expect(uart.rxListening()).toBe(false);
  });
  it('repeated reads of an empty RBR (a reader that ignores LSR) are', () => {
    const { uart, r } = setup();
    for (let i = 0; i < 3; i++) r(RBR);
    expect(uart.rxListening()).toBe(false);
    r(RBR);
    expect(uart.rxListening()).toBe(true);
  });
  it('enabling the RX interrupt (IER.ERBFI) is', () => {
    const { uart, w } = setup();
    w(IER, 1);
    expect(uart.rxListening()).toBe(true);
  });
  it('64 LSR polls without a transmit are; LSR polls between transmits are not', () => {
    const a = setup();
    for (let i = 0; i < 63; i++) { a.r(LSR); if (i % 10 === 9) a.w(THR, 0x41); }
    expect(a.uart.rxListening()).toBe(false);
    const b = setup();
    for (let i = 0; i < 64; i++) b.r(LSR);
    expect(b.uart.rxListening()).toBe(true);
  });
});
