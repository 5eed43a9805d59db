import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { INSNS, Cls, F_XRD, F_RM } from '../src/isa/insns.js';
import { OP_BY_NAME, OP_FLAGS } from '../src/isa/decode.js';
import { OPCODES } from '../src/isa/opcodes.js';
import { Asm, CSR, encFp, DYN, RNE, RTZ, a0, a1, a2, a3, a6, a7, s2, s3, s4, s5, t0, t1, t2, t3 } from './hart/harness.js';

/**
 * The block translator must be invisible: for every bundled guest, a run with translation and
 * a run with the interpreter only give the same console bytes, the same per-hart instruction
 * counts and the same virtual time, and the translator compiled blocks without errors.
 */
function runGuest(name: string, harts: number, jit: boolean, input?: string) {
  const m = new Machine({
    ramSize: 256 * 1024 * 1024,
    harts,
    bios: 'builtin',
    kernel: { name, bytes: new Uint8Array(readFileSync(`guests/build/${name}.elf`)) },
    jit,
    jitHot: 2, // translate nearly everything, so every translated instruction form is exercised
  });
  const out: number[] = [];
  m.onConsole = (b) => out.push(...b);
  const s = new Scheduler(m);
  if (input) s.addInput(new TextEncoder().encode(input), 0);
  const halt = s.runToEnd();
  return {
    halt,
    console: Buffer.from(out).toString('latin1'),
    instret: m.harts.map((h) => h.instret),
    steps: m.harts.map((h) => h.attempted),
    time: s.time,
    pcs: m.harts.map((h) => h.getPc()),
    blocks: m.jit.blocksCompiled,
    errors: m.jit.compileErrors,
  };
}

describe('block translation is invisible to the guest', () => {
  for (const [guest, harts, input] of [
    ['hello', 1, undefined], ['isa-check', 1, undefined], ['smp-kernel', 4, 'hello\n'], ['smp-kernel', 1, undefined],
  ] as const) {
    it(`${guest} on ${harts} hart(s): same console, instruction counts and time with and without translation`, () => {
      const a = runGuest(guest, harts, false, input);
      const b = runGuest(guest, harts, true, input);
      expect(a.halt.exitCode).toBe(0);
      expect(b.errors).toEqual([]);
      expect(b.blocks).toBeGreaterThan(0);
      expect(b.console).toBe(a.console);
      expect(b.instret).toEqual(a.instret);
      expect(b.steps).toEqual(a.steps);
      expect(b.time).toBe(a.time);
      expect(b.pcs).toEqual(a.pcs);
      expect(b.halt).toEqual(a.halt);
    });
  }
});

describe('translated blocks run the F/D bodies of the instruction table exactly as execFp does', () => {
  /**
   * A loop over every F/D operation of the table (sources rotating over f1-f4, NaN-boxed singles
   * and doubles among them, every static rounding mode and frm), each result folded into a
   * checksum and fed back into a source, run 150 times by the interpreter only and with blocks
   * translated after 2 executions: integer and FP registers (each iteration's fflags are in the
   * checksum), fflags and mstatus at the SBI shutdown must be identical.
   */
  const DATA_VA = 0x8030_0000;
  function run(tier: Tier, keepFlags = false) {
    const a = new Asm(0x8020_0000);
    a.li(s4, DATA_VA).li(t0, 0x3ff8000000000000n).li(t1, 0xffffffff40200000n).li(s2, 0).li(s3, 150);
    // f1 = 1.5, f2 = -3.25, f3 = 2.5f (NaN-boxed), f4 = an unboxed single (reads as the canonical NaN).
    a.fmv_d_x(1, t0).li(t2, 0xc00a000000000000n).fmv_d_x(2, t2).fmv_d_x(3, t1).li(t2, 0x0000000040200000n).fmv_d_x(4, t2);
    a.label('loop');
    const fp = INSNS.filter((e) => e.cls === Cls.FP);
    fp.forEach((e, k) => {
      const d = OPCODES.find((o) => o.name === e.name)!;
      const free = (lo: number): boolean => ((d.mask >>> lo) & 31) === 0;
      const intSrc = /^(fcvt\.[sd]\.(w|wu|l|lu)|fmv\.[wd]\.x)$/.test(e.name);
      const xrd = (OP_FLAGS[OP_BY_NAME[e.name]!]! & F_XRD) !== 0;
      const f = (j: number): number => 1 + ((k + j) % 4);
      let w = d.match | ((xrd ? a0 : 5) << 7);
      if (e.sem !== undefined && ('load' in e.sem || 'store' in e.sem)) {
        // Loads and stores at DATA_VA + 8k (immediates fit 12 bits).
        const off = (8 * k) & 0x7f8;
        if ('load' in e.sem) w |= (s4 << 15) | (off << 20);
        else w = (d.match | (s4 << 15) | (f(0) << 20) | ((off & 31) << 7) | ((off >> 5) << 25)) >>> 0;
      } else {
        w |= (intSrc ? t0 : f(0)) << 15;
        if (free(20)) w |= f(1) << 20;
        if (free(27)) w |= f(2) << 27;
        if (((d.mask >>> 12) & 7) === 0 && (OP_FLAGS[OP_BY_NAME[e.name]!]! & F_RM) !== 0) w |= [0, 1, 2, 3, 4, 7][k % 6]! << 12;
      }
      a.word(w >>> 0);
      if (xrd) a.xor(s2, s2, a0);
      else if (!('store' in e.sem!)) a.fmv_x_d(a1, 5).xor(s2, s2, a1).word(encFp(0x04, 1, f(k), 5, 5, 0)); // fsgnj.d: feed back
      a.xor(t0, t0, s2).addi(t0, t0, 7);
    });
    // The iteration's fflags into the checksum, then cleared; frm for the dynamic rounding
    // mode: 0-3, changing every iteration (CSR accesses end a block: they close the loop).
    a.csrr(a3, CSR.fflags).xor(s2, s2, a3);
    if (!keepFlags) a.csrw(CSR.fflags, 0);
    a.addi(s3, s3, -1).andi(a2, s3, 3).csrw(CSR.frm, a2).bne(s3, 0, 'loop');
    a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(fp loop)', bytes: a.assemble() }, tier, jitHot: 2,
    });
    const halt = new Scheduler(m, { maxInsns: 20_000_000 }).runToEnd();
    expect(halt.kind).toBe('poweroff');
    const h = m.harts[0]!;
    return {
      x: Array.from(h.x.slice(0, 32)), f: Array.from(h.fi.slice(0, 64)), fflags: h.fflags, mstatus: h.mstatus,
      blocks: m.jit.blocksCompiled, errors: m.jit.compileErrors,
    };
  }

  // The wasm tier does rounding F/D operations inline only while fflags.NX is already set and
  // frm is RNE (tier.ts, fpGuard): keepFlags leaves the flags set from one iteration to the next.
  for (const [tier, keepFlags] of [['js', false], ['wasm', false], ['wasm', true]] as const) {
    it(`same registers, fflags and mstatus with and without translation (${tier} tier${keepFlags ? ', fflags kept' : ''})`, () => {
      const interp = run('interp', keepFlags);
      const blocks = run(tier, keepFlags);
      expect(blocks.errors).toEqual([]);
      expect(blocks.blocks).toBeGreaterThan(0);
      expect(interp.x[s2]).not.toBe(0n);
      expect(blocks.x).toEqual(interp.x);
      expect(blocks.f).toEqual(interp.f);
      expect(blocks.fflags).toBe(interp.fflags);
      expect(blocks.mstatus).toBe(interp.mstatus);
    });
  }
});

describe('the wasm tier\'s inline F/D operations give execFp\'s results and flags', () => {
  /**
   * With fflags.NX set and frm = RNE (what the wasm tier's FP guard asks for), a loop over pairs
   * of doubles (normal, tiny, huge, zeros, infinities, quiet and signalling NaNs, a subnormal)
   * does fld/fsd, fadd/fsub/fmul/fdiv/fsqrt.d (dynamic and static RNE, and a static RTZ that
   * always goes to execFp), feq/flt/fle.d, fsgnj*.d, fmv.x.d/fmv.d.x and fcvt.d.l/w, folding
   * every result into a checksum: the inline paths and their fallbacks (results that overflow,
   * underflow or are NaN) must give the interpreter's registers, memory, fflags and mstatus.
   * In the middle, fflags is cleared once (the guard must drop to execFp until NX is set again).
   */
  const DATA_VA = 0x8030_0000;
  const VALUES = [1.5, -3.25, 1e-300, 1e300, 0, -0, Infinity, -Infinity, NaN, 5e-324, 2.2250738585072014e-308, 0.1, 7, -1e-10, 123456.789, 1.7976931348623157e308];
  const SNAN = 0x7ff4000000000000n;
  function run(tier: Tier, clearEach: boolean) {
    const a = new Asm(0x8020_0000);
    const bits = new DataView(new ArrayBuffer(8));
    a.li(s4, DATA_VA);
    VALUES.forEach((v, i) => {
      bits.setFloat64(0, v, true);
      a.li(t0, i === 8 ? SNAN : bits.getBigUint64(0, true)).sd(t0, i * 8, s4);
    });
    a.li(t0, 1).word(encFp(0x1a, 1, 1, t0, 2, DYN)).li(t0, 3).word(encFp(0x1a, 1, 2, t0, 2, DYN)).fdiv_d(3, 1, 2); // 1/3: NX set
    a.li(s2, 0).li(s3, 60);
    a.label('loop');
    let n = 0;
    /** clearEach: fold fflags into the checksum and clear them after each rounding operation
     * (then a jump: translated code is entered after control transfers). */
    const flags = (): void => {
      if (clearEach) a.csrr(a3, CSR.fflags).xor(s2, s2, a3).csrw(CSR.fflags, 0).j(`f${n}`).label(`f${n++}`);
    };
    for (let i = 0; i < VALUES.length; i++) {
      const j = (i * 5 + 3) % VALUES.length;
      flags();
      a.fld(4, i * 8, s4).fld(5, j * 8, s4);
      a.fadd_d(6, 4, 5, DYN); flags();
      a.fmul_d(7, 4, 5, RNE); flags();
      a.fdiv_d(8, 4, 5); flags();
      a.word(encFp(0x01, 1, 9, 4, 5, i % 3 === 0 ? RTZ : DYN)); flags(); // fsub.d
      a.word(encFp(0x0b, 1, 10, 4, 0, DYN)); flags(); // fsqrt.d
      a.word(encFp(0x04, 1, 11, 4, 5, i % 3)); // fsgnj/fsgnjn/fsgnjx.d
      a.fmul_d(14, 4, 4); flags(); // squares and doublings: exact for some values
      a.fadd_d(15, 4, 4); flags();
      for (const f of [6, 7, 8, 9, 10, 11, 14, 15]) a.fmv_x_d(a1, f).xor(s2, s2, a1).addi(s2, s2, f);
      a.word(encFp(0x14, 1, a0, 4, 5, 2 - (i % 3))).xor(s2, s2, a0); // feq/flt/fle.d
      a.word(encFp(0x1a, 1, 16, a0, 2, DYN)).fmv_x_d(a1, 16).xor(s2, s2, a1); flags(); // fcvt.d.l of 0 or 1: exact
      a.word(encFp(0x1a, 1, 12, s2, i % 2 === 0 ? 2 : 0, DYN)).fmv_x_d(a1, 12).xor(s2, s2, a1); flags(); // fcvt.d.l / fcvt.d.w
      a.fmv_d_x(13, s2).fsd(13, 128 + i * 8, s4).fsd(6, 256 + i * 8, s4);
      a.ld(a2, 128 + i * 8, s4).add(s2, s2, a2);
    }
    a.csrr(a3, CSR.fflags).xor(s2, s2, a3);
    a.li(t1, 30).bne(s3, t1, 'keep').csrw(CSR.fflags, 0).label('keep');
    a.addi(s3, s3, -1).beq(s3, 0, 'done').j('loop').label('done');
    a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(fp fast loop)', bytes: a.assemble() }, tier, jitHot: 2,
    });
    const halt = new Scheduler(m, { maxInsns: 20_000_000 }).runToEnd();
    expect(halt.kind).toBe('poweroff');
    const h = m.harts[0]!;
    return {
      x: Array.from(h.x.slice(0, 32)), f: Array.from(h.fi.slice(0, 64)), fflags: h.fflags, mstatus: h.mstatus,
      ram: Array.from(m.bus.bytes(m.bus.ramOffset + (DATA_VA - 0x8000_0000), 512)),
      modules: m.jit.blocksCompiled, errors: m.jit.compileErrors,
    };
  }

  it.each([false, true])('same registers, memory, fflags and mstatus as the interpreter (fflags cleared before each pair: %s)', (clearEach) => {
    const interp = run('interp', clearEach);
    const wasm = run('wasm', clearEach); 
    expect(wasm.errors).toEqual([]);
    expect(wasm.modules).toBeGreaterThan(0);
    if (!clearEach) expect(interp.fflags & 1).toBe(1); // NX stays set (and the inline paths run)
    expect(interp.x[s2]).not.toBe(0n);
    expect(wasm.x).toEqual(interp.x);
    expect(wasm.f).toEqual(interp.f);
    expect(wasm.ram).toEqual(interp.ram);
    expect(wasm.fflags).toBe(interp.fflags);
    expect(wasm.mstatus).toBe(interp.mstatus);
  });
});

describe('an F/D instruction in a translated block with FS off traps as in the interpreter', () => {
  /**
   * sstatus.FS = Off: each fadd.d/fld in the loop raises illegal instruction (stval = the
   * instruction bits); the S-mode handler counts it, adds stval and sepc into a checksum and
   * skips the instruction. Translated blocks must raise it at the same pc and step.
   */
  function run(tier: Tier) {
    const a = new Asm(0x8020_0000);
    a.la(t0, 'handler').csrw(CSR.stvec, t0);
    a.li(t0, 3 << 13).csrc(CSR.sstatus, t0); // FS = Off
    a.li(s2, 0).li(s3, 300).li(s5, 0).li(s4, 0x8030_0000);
    a.label('loop');
    a.addi(t1, s3, 5).fadd_d(1, 2, 3, 7).xor(s2, s2, t1).fld(4, 8, s4).addi(s3, s3, -1).bne(s3, 0, 'loop');
    a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
    a.label('handler');
    a.csrr(t3, CSR.stval).add(s2, s2, t3).csrr(t3, CSR.sepc).xor(s2, s2, t3).addi(t3, t3, 4).csrw(CSR.sepc, t3);
    a.addi(s5, s5, 1).sret();
    const m = new Machine({
      ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin',
      kernel: { name: '(fs off loop)', bytes: a.assemble() }, tier, jitHot: 2,
    });
    const s = new Scheduler(m, { maxInsns: 5_000_000 });
    const halt = s.runToEnd();
    expect(halt.kind).toBe('poweroff');
    const h = m.harts[0]!;
    return { x: Array.from(h.x.slice(0, 32)), steps: h.attempted, instret: h.instret, blocks: m.jit.blocksCompiled, errors: m.jit.compileErrors };
  }

  for (const tier of ['js', 'wasm'] as const) {
    it(`same trap count, checksum, registers and counts with and without translation (${tier} tier)`, () => {
      const interp = run('interp');
      const blocks = run(tier);
      expect(interp.x[s5]).toBe(600n); // two traps per iteration
      expect(blocks.errors).toEqual([]);
      expect(blocks.blocks).toBeGreaterThan(0);
      expect(blocks.x).toEqual(interp.x);
      expect([blocks.steps, blocks.instret]).toEqual([interp.steps, interp.instret]);
    });
  }
});
