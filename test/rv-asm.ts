/**
 * A tiny RV64I assembler for bare-metal test programs that run with `--bios none` (M-mode from
 * 0x8000_0000, as QEMU's reset ROM jumps there), so tests need no cross toolchain. Only what the
 * RTC, input-script and memory-size tests use; encodings from the RISC-V unprivileged spec, chapter 2.
 */
export const RAM = 0x8000_0000;
export const UART = 0x1000_0000;
export const TESTDEV = 0x10_0000;
export const RTC = 0x10_1000;

export const ZERO = 0, RA = 1, SP = 2, T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, A0 = 10, A1 = 11, A2 = 12, T3 = 28, T4 = 29;

type Fix = { at: number; label: string; kind: 'B' | 'J' | 'LA' };

export class Asm {
  private readonly words: number[] = [];
  private readonly data: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly dataLabels = new Map<string, number>();
  private readonly fixes: Fix[] = [];

  private get pc(): number { return this.words.length * 4; }
  label(n: string): this { this.labels.set(n, this.pc); return this; }
  private emit(w: number): this { this.words.push(w >>> 0); return this; }

  private i(op: number, f3: number, rd: number, rs1: number, imm: number): this {
    return this.emit(((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
  }
  private s(f3: number, rs2: number, rs1: number, imm: number): this {
    return this.emit((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | 0x23);
  }
  private r(f7: number, f3: number, rd: number, rs1: number, rs2: number): this {
    return this.emit((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x33);
  }

  addi(rd: number, rs1: number, imm: number): this { return this.i(0x13, 0, rd, rs1, imm); }
  andi(rd: number, rs1: number, imm: number): this { return this.i(0x13, 7, rd, rs1, imm); }
  slli(rd: number, rs1: number, sh: number): this { return this.i(0x13, 1, rd, rs1, sh & 63); }
  srli(rd: number, rs1: number, sh: number): this { return this.i(0x13, 5, rd, rs1, sh & 63); }
  or(rd: number, rs1: number, rs2: number): this { return this.r(0, 6, rd, rs1, rs2); }
  srl(rd: number, rs1: number, rs2: number): this { return this.r(0, 5, rd, rs1, rs2); }
  lbu(rd: number, rs1: number, off: number): this { return this.i(0x03, 4, rd, rs1, off); }
  lwu(rd: number, rs1: number, off: number): this { return this.i(0x03, 6, rd, rs1, off); }
  sb(rs2: number, rs1: number, off: number): this { return this.s(0, rs2, rs1, off); }
  sw(rs2: number, rs1: number, off: number): this { return this.s(2, rs2, rs1, off); }
  ld(rd: number, rs1: number, off: number): this { return this.i(0x03, 3, rd, rs1, off); }
  sd(rs2: number, rs1: number, off: number): this { return this.s(3, rs2, rs1, off); }
  /** RV64A, aq = rl = 0 (unprivileged spec chapter 8). */
  lrD(rd: number, rs1: number): this { return this.emit((0b00010 << 27) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f); }
  scD(rd: number, rs2: number, rs1: number): this { return this.emit((0b00011 << 27) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f); }
  amoaddD(rd: number, rs2: number, rs1: number): this { return this.emit((rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f); }
  /** Zicsr: csrrw / csrrs / csrrc. */
  csrrw(rd: number, csr: number, rs1: number): this { return this.emit((csr << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x73); }
  csrrs(rd: number, csr: number, rs1: number): this { return this.emit((csr << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x73); }
  csrrc(rd: number, csr: number, rs1: number): this { return this.emit((csr << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x73); }
  fenceI(): this { return this.emit(0x0000100f); }
  /** An instruction word as is. */
  word(w: number): this { return this.emit(w); }
  lui(rd: number, imm20: number): this { return this.emit(((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37); }
  jalr(rd: number, rs1: number, off = 0): this { return this.i(0x67, 0, rd, rs1, off); }
  ret(): this { return this.jalr(ZERO, RA, 0); }

  /** rd = v, for 0 <= v < 2^31. */
  li(rd: number, v: number): this {
    if (!(v >= 0 && v < 2 ** 31)) throw new RangeError(`li ${v}`);
    const lo = ((v & 0xfff) << 20) >> 20;
    const hi = ((v - lo) >>> 12) & 0xfffff;
    if (hi !== 0) {
      this.lui(rd, hi);
      return lo !== 0 ? this.addi(rd, rd, lo) : this;
    }
    return this.addi(rd, ZERO, lo);
  }

  private branch(f3: number, rs1: number, rs2: number, label: string): this {
    this.fixes.push({ at: this.words.length, label, kind: 'B' });
    return this.emit((rs2 << 20) | (rs1 << 15) | (f3 << 12) | 0x63);
  }
  beq(a: number, b: number, l: string): this { return this.branch(0, a, b, l); }
  bne(a: number, b: number, l: string): this { return this.branch(1, a, b, l); }
  beqz(a: number, l: string): this { return this.beq(a, ZERO, l); }
  bnez(a: number, l: string): this { return this.bne(a, ZERO, l); }
  bltu(a: number, b: number, l: string): this { return this.branch(6, a, b, l); }
  jal(rd: number, label: string): this {
    this.fixes.push({ at: this.words.length, label, kind: 'J' });
    return this.emit((rd << 7) | 0x6f);
  }
  j(label: string): this { return this.jal(ZERO, label); }
  call(label: string): this { return this.jal(RA, label); }
  /** rd = address of a string or data label (auipc + addi). */
  la(rd: number, label: string): this {
    this.fixes.push({ at: this.words.length, label, kind: 'LA' });
    this.emit((rd << 7) | 0x17);
    return this.addi(rd, rd, 0);
  }
  /** A NUL-terminated string in the data area after the code. */
  string(label: string, text: string): this {
    this.dataLabels.set(label, this.data.length);
    for (const b of Buffer.from(text, 'latin1')) this.data.push(b);
    this.data.push(0);
    return this;
  }

  /** The raw image (load at 0x8000_0000). */
  assemble(): Uint8Array {
    const codeBytes = this.words.length * 4;
    const addr = (l: string): number => {
      const c = this.labels.get(l);
      if (c !== undefined) return c;
      const d = this.dataLabels.get(l);
      if (d === undefined) throw new Error(`no label ${l}`);
      return codeBytes + d;
    };
    for (const f of this.fixes) {
      const pc = f.at * 4;
      const off = addr(f.label) - pc;
      const w = this.words[f.at]!;
      if (f.kind === 'B') {
        this.words[f.at] = (w | (((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7)) >>> 0;
      } else if (f.kind === 'J') {
        this.words[f.at] = (w | (((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12)) >>> 0;
      } else {
        const lo = ((off & 0xfff) << 20) >> 20;
        const hi = ((off - lo) >>> 12) & 0xfffff;
        this.words[f.at] = (w | (hi << 12)) >>> 0;
        this.words[f.at + 1] = (this.words[f.at + 1]! | ((lo & 0xfff) << 20)) >>> 0;
      }
    }
    const out = new Uint8Array(codeBytes + this.data.length);
    const dv = new DataView(out.buffer);
    this.words.forEach((w, k) => dv.setUint32(k * 4, w, true));
    out.set(this.data, codeBytes);
    return out;
  }
}

/** puts(a0): write the NUL-terminated string at a0 to the UART (s0 = UART base). Clobbers t1. */
export function emitPuts(a: Asm): void {
  a.label('puts').lbu(T1, A0, 0).beqz(T1, 'puts_end').sb(T1, S0, 0).addi(A0, A0, 1).j('puts').label('puts_end').ret();
}

/** puthex(a0): write a0 as 16 hex digits (s0 = UART base). Clobbers t1-t3, a1. */
export function emitPuthex(a: Asm): void {
  a.label('puthex').li(A1, 60)
    .label('puthex_loop')
    .srl(T1, A0, A1).andi(T1, T1, 15).li(T2, 10).bltu(T1, T2, 'puthex_digit')
    .addi(T1, T1, 'a'.charCodeAt(0) - 10 - '0'.charCodeAt(0))
    .label('puthex_digit').addi(T1, T1, '0'.charCodeAt(0)).sb(T1, S0, 0)
    .beqz(A1, 'puthex_end').addi(A1, A1, -4).j('puthex_loop')
    .label('puthex_end').ret();
}

/** Power off through the SiFive test device (0x5555 at 0x100000). Clobbers t0, t1. */
export function emitPoweroff(a: Asm): void {
  a.lui(T0, TESTDEV >>> 12).li(T1, 0x5555).sw(T1, T0, 0).label('hang').j('hang');
}
