/**
 * NS16550A UART, modelled on QEMU 7.2's hw/char/serial.c as wired on the `virt` board
 * (0x1000_0000, reg-shift 0, PLIC source 10).
 *
 * Registers (DLAB = LCR bit 7):
 *   0  RBR (read) / THR (write)      DLL when DLAB=1
 *   1  IER (low 4 bits)              DLM when DLAB=1
 *   2  IIR (read) / FCR (write)
 *   3  LCR   4 MCR (low 5 bits)   5 LSR   6 MSR   7 SCR
 *
 * Behaviour mirrored from serial.c:
 *  - Reset: IER=0, IIR=0x01, LCR=0, LSR=TEMT|THRE (0x60), MSR=DCD|DSR|CTS (0xb0),
 *    MCR=OUT2 (0x08), divider=12 (verified against qemu-system-riscv64 7.2).
 *  - Transmission is instantaneous: a THR write emits the byte through `onTx`, THRE/TEMT
 *    come back at once and the THR-empty interrupt becomes pending again (serial_xmit).
 *  - THRI: `thr_ipending` is set when IER.ETBEI goes 0->1 while THRE=1 (serial.c: "Turning
 *    on the THRE interrupt on IER can trigger the interrupt"), after each transmit and on a
 *    TX FIFO reset; it is cleared by an IIR read that reports THRI and by a THR write.
 *  - IIR priority (serial_update_irq): RX line status (IER.ELSI & LSR.OE|PE|FE|BI) >
 *    character timeout > RX data available > THR empty > modem status.
 *  - RX data available: with FIFOs on, only once the FIFO holds >= the trigger level
 *    (1/4/8/14 from FCR[7:6]); without FIFOs, whenever LSR.DR.
 *  - FIFO overrun: the new byte is dropped and LSR.OE set (recv_fifo_put); without FIFOs a
 *    byte arriving while DR=1 overwrites RBR and sets OE. Reading LSR clears OE and BI.
 *  - MCR.LOOP: transmitted bytes are received back instead of leaving; MSR reads reflect
 *    MCR outputs.
 *  - The interrupt output is re-announced to the PLIC on every update, as serial.c calls
 *    qemu_irq_raise/lower each time.
 *
 * Deliberate difference (determinism): QEMU raises the character-timeout interrupt (CTI)
 * from a host-clock timer 4 character times after the last received byte when the FIFO is
 * below its trigger level. There is no wall-clock time here, so the timeout is treated as
 * having elapsed at once: CTI is pending whenever FIFOs are on and the RX FIFO holds data
 * (set on receive and re-armed after an RBR read that leaves data behind; cleared when the
 * FIFO drains or is reset), except that a FIFO holding >= trigger-level bytes reports RDI.
 * Drivers see the IIR values they would see on QEMU, without the timeout's delay.
 *
 * Accesses of any width are treated as a byte access at that offset (Linux uses byte
 * accesses with reg-shift 0); offsets 8..0xff read as 0 and ignore writes.
 */
import type { IrqController, MmioDevice } from '../mem/device.js';

export const UART_BASE = 0x1000_0000;
export const UART_SIZE = 0x100;
export const UART_FIFO_LENGTH = 16;

// IER bits
const IER_RDI = 0x01; // received data available
const IER_THRI = 0x02; // THR empty
const IER_RLSI = 0x04; // receiver line status
const IER_MSI = 0x08; // modem status
// IIR values
const IIR_NO_INT = 0x01;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_ID = 0x0e;
const IIR_FE = 0xc0;
// FCR bits
const FCR_FE = 0x01;
const FCR_RFR = 0x02;
const FCR_XFR = 0x04;
// LCR bits
const LCR_DLAB = 0x80;
// MCR bits
const MCR_LOOP = 0x10;
const MCR_OUT2 = 0x08;
// LSR bits
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_BI = 0x10;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_INT_ANY = 0x1e; // OE | PE | FE | BI
// MSR bits
const MSR_DCD = 0x80;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;
const MSR_ANY_DELTA = 0x0f;

interface UartState {
  rbr: number;
  thr: number;
  ier: number;
  iir: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  fcr: number;
  divider: number;
  rxFifo: number[];
  rxItl: number;
  thrIpending: boolean;
  timeoutIpending: boolean;
  irqLevel: boolean;
  listening?: boolean;
  fcrWritten?: boolean;
  lsrPolls?: number;
  rbrBlindReads?: number;
}

/** Consecutive LSR reads without a transmit after which the guest counts as polling for input. */
const LSR_POLLS_LISTENING = 64;
/** Reads of an empty RBR that make a reader that ignores LSR count as listening. */
const RBR_BLIND_READS_LISTENING = 4;

export class Uart16550 implements MmioDevice {
  readonly name = 'uart';
  readonly base = UART_BASE;
  readonly size = UART_SIZE;

  private rbr = 0;
  private thr = 0;
  private ier = 0;
  private iir = IIR_NO_INT;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private lsr = LSR_TEMT | LSR_THRE;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private scr = 0;
  private fcr = 0;
  private divider = 0x0c;
  /** RX FIFO contents, oldest first (at most UART_FIFO_LENGTH bytes). */
  private rxFifo: number[] = [];
  /** RX FIFO interrupt trigger level (FCR[7:6] -> 1, 4, 8, 14). */
  private rxItl = 1;
  private thrIpending = false;
  private timeoutIpending = false;
  private irqLevel = false;

  constructor(
    private readonly irq: IrqController,
    private readonly irqNumber: number,
    private readonly onTx: (byte: number) => void,
  ) {}

  /** Back to power-on state (serial_reset) and lower the interrupt. */
  reset(): void {
    this.rbr = 0;
    this.thr = 0;
    this.ier = 0;
    this.iir = IIR_NO_INT;
    this.lcr = 0;
    this.lsr = LSR_TEMT | LSR_THRE;
    this.msr = MSR_DCD | MSR_DSR | MSR_CTS;
    this.divider = 0x0c;
    this.mcr = MCR_OUT2;
    this.scr = 0;
    this.fcr = 0;
    this.rxFifo = [];
    this.rxItl = 1;
    this.thrIpending = false;
    this.timeoutIpending = false;
    this.irqLevel = false;
    this.irq.setSourceLevel(this.irqNumber, false);
  }

  // ---------------------------------------------------------------- input side

  /**
   * Whether the guest is listening to the receiver yet. Input that arrives before is held by
   * the scheduler: a guest's UART initialisation (FCR with FIFO reset) would otherwise drop
   * it, and *when* that happens relative to host input would make runs depend on host timing.
   * Listening = RX interrupt enabled (IER.ERBFI), or RBR read while LSR.DR is set or several
   * times in a row with no data (a reader that does not look at LSR; a single read of an empty
   * RBR is how Linux's 8250 startup clears the receiver, long before it enables the RX
   * interrupt and resets the FIFO again), or LSR polled many times in a
   * row without a transmit in between (a polling reader, e.g. OpenSBI's getchar), or console
   * input asked through the firmware. Polling LSR to transmit does not count: Linux's console
   * does that long before anyone reads, and the 8250 driver resets the FIFO when the console
   * is opened, which would drop input delivered that early.
   */
  listening = false;
  private fcrWritten = false;
  /** LSR reads since the last THR write (see `listening`). */
  private lsrPolls = 0;
  /** RBR reads with no data (LSR.DR clear), since the last one with data (see `listening`). */
  private rbrBlindReads = 0;
  rxListening(): boolean {
    return this.listening;
  }
  markListening(): void {
    this.listening = true;
  }

  /**
   * How many bytes the UART will take now (QEMU serial_can_receive): with FIFOs on,
   * `itl - count` while count < itl (0 once the trigger level is reached, so input waits for
   * the guest to drain the FIFO), 1 while count > itl and the FIFO is not full, 0 when
   * full; without FIFOs, 1 if RBR is empty, else 0. The scheduler should deliver at most
   * this many bytes before the guest reads some.
   */
  rxSpace(): number {
    if (this.fcr & FCR_FE) {
      const n = this.rxFifo.length;
      if (n >= UART_FIFO_LENGTH) return 0;
      return n <= this.rxItl ? this.rxItl - n : 1;
    }
    return this.lsr & LSR_DR ? 0 : 1;
  }

  /** One received byte from the outside world (serial_receive1). Overruns set LSR.OE. */
  pushRx(byte: number): void {
    this.receive(byte & 0xff);
  }

  /** Is the interrupt output currently asserted? */
  irqAsserted(): boolean {
    return this.irqLevel;
  }

  private receive(byte: number): void {
    if (this.fcr & FCR_FE) {
      // recv_fifo_put: receive overruns do not overwrite FIFO contents.
      if (this.rxFifo.length < UART_FIFO_LENGTH) this.rxFifo.push(byte);
      else this.lsr |= LSR_OE;
      this.lsr |= LSR_DR;
      // QEMU arms the 4-character timeout here; it "expires" immediately (see header).
      this.timeoutIpending = true;
    } else {
      if (this.lsr & LSR_DR) this.lsr |= LSR_OE;
      this.rbr = byte;
      this.lsr |= LSR_DR;
    }
    this.updateIrq();
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, _size: number): bigint {
    return BigInt(this.readByte(offset));
  }

  write(offset: number, _size: number, value: bigint): void {
    this.writeByte(offset, Number(value & 0xffn));
  }

  private readByte(offset: number): number {
    switch (offset) {
      case 0:
        if (this.lcr & LCR_DLAB) return this.divider & 0xff;
        return this.readRbr();
      case 1:
        if (this.lcr & LCR_DLAB) return (this.divider >> 8) & 0xff;
        return this.ier;
      case 2: {
        const ret = this.iir;
        if ((ret & IIR_ID) === IIR_THRI) {
          // Reading IIR while it reports THRI acknowledges that interrupt.
          this.thrIpending = false;
          this.updateIrq();
        }
        return ret;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const ret = this.lsr;
        if (++this.lsrPolls >= LSR_POLLS_LISTENING) this.listening = true;
        // Reading LSR clears break and overrun indications.
        if (this.lsr & (LSR_BI | LSR_OE)) {
          this.lsr &= ~(LSR_BI | LSR_OE);
          this.updateIrq();
        }
        return ret;
      }
      case 6:
        if (this.mcr & MCR_LOOP) {
          // Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
          return (((this.mcr & 0x0c) << 4) | ((this.mcr & 0x02) << 3) | ((this.mcr & 0x01) << 5)) & 0xff;
        } else {
          const ret = this.msr;
          if (this.msr & MSR_ANY_DELTA) {
            this.msr &= 0xf0;
            this.updateIrq();
          }
          return ret;
        }
      case 7:
        return this.scr;
      default:
        return 0;
    }
  }

  private readRbr(): number {
    if ((this.lsr & LSR_DR) !== 0 || ++this.rbrBlindReads >= RBR_BLIND_READS_LISTENING) this.listening = true;
    let ret: number;
    if (this.fcr & FCR_FE) {
      ret = this.rxFifo.length === 0 ? 0 : this.rxFifo.shift()!;
      if (this.rxFifo.length === 0) {
        this.lsr &= ~(LSR_DR | LSR_BI);
        this.timeoutIpending = false;
      } else {
        // QEMU clears timeout_ipending and re-arms the timer; the timer expires at once here.
        this.timeoutIpending = true;
      }
    } else {
      ret = this.rbr;
      this.lsr &= ~(LSR_DR | LSR_BI);
    }
    this.updateIrq();
    return ret;
  }

  private writeByte(offset: number, val: number): void {
    switch (offset) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.divider = (this.divider & 0xff00) | val;
        } else {
          this.lsrPolls = 0;
          this.writeThr(val);
        }
        return;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.divider = (this.divider & 0x00ff) | (val << 8);
        } else {
          const changed = (this.ier ^ val) & 0x0f;
          this.ier = val & 0x0f;
          if (val & 1) this.listening = true;
          if (changed & IER_THRI) {
            // Enabling ETBEI while THR is empty raises THRI even if an earlier IIR read
            // acknowledged it; disabling it forgets the pending THRI (serial.c).
            this.thrIpending = !!(this.ier & IER_THRI) && !!(this.lsr & LSR_THRE);
          }
          if (changed) this.updateIrq();
        }
        return;
      case 2: {
        // Changing the FIFO enable flushes both FIFOs.
        if ((val ^ this.fcr) & FCR_FE) val |= FCR_XFR | FCR_RFR;
        if (val & FCR_RFR) {
          this.lsr &= ~(LSR_DR | LSR_BI);
          this.timeoutIpending = false;
          this.rxFifo = [];
        }
        if (val & FCR_XFR) {
          // TX FIFO is always empty here (instant transmission).
          this.lsr |= LSR_THRE;
          this.thrIpending = true;
        }
        // Only FE and the trigger level (plus DMA mode bit 3) stick (serial_write_fcr).
        this.fcr = val & 0xc9;
        this.fcrWritten = true;
        if (this.fcr & FCR_FE) {
          this.iir |= IIR_FE;
          this.rxItl = [1, 4, 8, 14][(this.fcr >> 6) & 3]!;
        } else {
          this.iir &= ~IIR_FE;
        }
        this.updateIrq();
        return;
      }
      case 3:
        this.lcr = val;
        return;
      case 4:
        this.mcr = val & 0x1f;
        return;
      case 5:
      case 6:
        return; // LSR / MSR writes are ignored
      case 7:
        this.scr = val;
        return;
      default:
        return;
    }
  }

  private writeThr(val: number): void {
    this.thr = val;
    this.thrIpending = false;
    this.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.updateIrq();
    // serial_xmit: the shift register takes the byte at once, THR is empty again.
    const byte = this.thr;
    this.lsr |= LSR_THRE;
    if (!this.thrIpending) {
      this.thrIpending = true;
      this.updateIrq();
    }
    if (this.mcr & MCR_LOOP) {
      this.receive(byte); // loopback: the byte comes straight back in
    } else {
      this.onTx(byte);
    }
    this.lsr |= LSR_TEMT;
  }

  /** serial_update_irq: compute IIR and drive the interrupt output. */
  private updateIrq(): void {
    let id = IIR_NO_INT;
    if (this.ier & IER_RLSI && this.lsr & LSR_INT_ANY) {
      id = IIR_RLSI;
    } else if (this.ier & IER_RDI && this.timeoutIpending && this.rxFifo.length < this.rxItl) {
      // (The "< trigger level" term: on QEMU a FIFO filled to the trigger level reports
      // RDI until the 4-character timer expires; with the timer expiring at once, this
      // keeps RDI visible in that case.)
      id = IIR_CTI;
    } else if (
      this.ier & IER_RDI &&
      this.lsr & LSR_DR &&
      (!(this.fcr & FCR_FE) || this.rxFifo.length >= this.rxItl)
    ) {
      id = IIR_RDI;
    } else if (this.ier & IER_THRI && this.thrIpending) {
      id = IIR_THRI;
    } else if (this.ier & IER_MSI && this.msr & MSR_ANY_DELTA) {
      id = IIR_MSI;
    }
    this.iir = id | (this.iir & 0xf0);
    this.irqLevel = id !== IIR_NO_INT;
    this.irq.setSourceLevel(this.irqNumber, this.irqLevel);
  }

  // ---------------------------------------------------------------- checkpoints

  saveState(): UartState {
    return {
      rbr: this.rbr,
      thr: this.thr,
      ier: this.ier,
      iir: this.iir,
      lcr: this.lcr,
      mcr: this.mcr,
      lsr: this.lsr,
      msr: this.msr,
      scr: this.scr,
      fcr: this.fcr,
      divider: this.divider,
      rxFifo: this.rxFifo.slice(),
      rxItl: this.rxItl,
      thrIpending: this.thrIpending,
      timeoutIpending: this.timeoutIpending,
      irqLevel: this.irqLevel,
      listening: this.listening,
      fcrWritten: this.fcrWritten,
      lsrPolls: this.lsrPolls,
      rbrBlindReads: this.rbrBlindReads,
    };
  }

  /** Restores registers; the PLIC restores its own view of the source level. */
  restoreState(state: unknown): void {
    const s = state as UartState;
    if (!s || !Array.isArray(s.rxFifo) || typeof s.lsr !== 'number' || s.rxFifo.length > UART_FIFO_LENGTH) {
      throw new Error('Uart16550: bad checkpoint state');
    }
    this.rbr = s.rbr & 0xff;
    this.thr = s.thr & 0xff;
    this.ier = s.ier & 0x0f;
    this.iir = s.iir & 0xff;
    this.lcr = s.lcr & 0xff;
    this.mcr = s.mcr & 0x1f;
    this.lsr = s.lsr & 0xff;
    this.msr = s.msr & 0xff;
    this.scr = s.scr & 0xff;
    this.fcr = s.fcr & 0xff;
    this.divider = s.divider & 0xffff;
    this.rxFifo = s.rxFifo.map((b) => b & 0xff);
    this.rxItl = s.rxItl;
    this.thrIpending = !!s.thrIpending;
    this.timeoutIpending = !!s.timeoutIpending;
    this.irqLevel = !!s.irqLevel;
    this.listening = !!s.listening;
    this.fcrWritten = !!s.fcrWritten;
    this.lsrPolls = s.lsrPolls ?? 0;
    this.rbrBlindReads = s.rbrBlindReads ?? 0;
  }
}
