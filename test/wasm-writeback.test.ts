/**
 * The wasm tier keeps the registers a unit writes in wasm locals and stores them back only at
 * the exit (also when a helper threw a Trap: the unit leaves, then its entry throws it on) and,
 * before a call, the ones that helper reads (src/hart/wasm/tier.ts). One hot loop exercises every helper with
 * operands the loop itself has just written (so they are in locals only): execAlu (mulhu), the
 * store slow path (a new page every 512 iterations), execFp writing x[rd] while f[rd] was written
 * inline and writing f[rd] while x[rd] was, execFp reading a third source written inline (fmadd.d),
 * a device store that raises `attention` (an earlier mtimecmp: the unit leaves right after it),
 * and the load slow path, which at last faults past the end of RAM inside the unit (its rd written
 * inline just before: a load that traps leaves rd as it was). The final
 * state (every x and f register, pc, counts, mepc / mcause seen by the handler, RAM) must be the
 * interpreter's.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Asm, CSR, encFp, encR4, CLINT, RAM_BASE, TEST_DEV, a1, a2, a3, a4, a5, a6, s3, s5, s6, s7, s8, s9, s10, s11, t0, t1, t2, t6 } from './hart/harness.js';
import { Machine, type Tier } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';

const RAM = 16 * 1024 * 1024;
const ITERS = 20_000;

function program(): Uint8Array {
  const a = new Asm(RAM_BASE);
  a.la(t6, 'trap').csrw(CSR.mtvec, t6);
  a.li(t6, 3 << 13).csrs(CSR.mstatus, t6); // mstatus.FS = Dirty
  a.li(t1, -1).li(s7, 1).li(s8, 0x3fc00000).fmv_w_x(1, s8).fmv_w_x(2, s8);
  a.word(encFp(0x1a, 1, 3, s7, 0, 0)); // fcvt.d.w f3, s7 (1.0)
  a.li(s6, RAM_BASE + 0x10_0000); // stores: a new page every 512 iterations
  a.li(s5, RAM_BASE + RAM - 8 * (ITERS - 10)); // loads: past the end of RAM before the loop ends
  a.li(a1, CLINT + 0x4000).li(s10, 1n << 40n); // mtimecmp (hart 0), far ahead
  a.li(s3, ITERS);
  a.label('loop');
  a.addi(t0, t0, 1).xor(t1, t1, t0);
  a.mulhu(t2, t1, t0); // execAlu: reads t1, t0 (written above)
  a.addi(a3, a3, 7); // x13 written inline ...
  a.fadd_s(13, 1, 2); // ... then execFp writes f13 (and x13 is reloaded)
  a.word(encFp(0x00, 1, 15, 15, 3, 0)); // fadd.d f15, f15, f3 (inline, exact): f15 written inline ...
  a.fcvt_w_s(a5, 13); // ... then execFp writes x15 (and f15 is reloaded)
  a.word(encFp(0x00, 1, 16, 16, 3, 0)); // fadd.d f16, f16, f3 (inline) ...
  a.word(encR4(0x43, 1, 18, 3, 3, 16, 0)); // ... fmadd.d f18, f3, f3, f16: execFp reads it as rs3
  a.slli(a6, t0, 3).sd(a6, 0, s6).addi(s6, s6, 8); // the store slow path reads a6
  a.addi(a2, a2, 3); // rd of the load below, written inline: kept when the load faults
  a.ld(a2, 0, s5).addi(s5, s5, 8); // the load slow path; faults at the end of RAM
  a.add(a4, a4, a2);
  a.addi(s10, s10, -1).sd(s10, 0, a1); // an earlier timer deadline: attention, the unit leaves after the store
  a.addi(s3, s3, -1).bne(s3, 0, 'loop');
  a.li(s9, 0xbad).label('hang').jal(0, 'hang'); // not reached
  a.label('trap');
  a.csrr(s9, CSR.mcause).csrr(s11, CSR.mepc);
  a.li(t6, TEST_DEV).li(s8, 0x5555).sw(s8, 0, t6);
  a.label('end').jal(0, 'end');
  return a.assemble();
}

function run(tier: Tier) {
  const m = new Machine({ ramSize: RAM, harts: 1, bios: 'none', kernel: { name: '(writeback loop)', bytes: program() }, tier, jitHot: 2 });
  const halt = new Scheduler(m, { maxInsns: 2_000_000 }).runToEnd();
  const h = m.harts[0]!;
  return {
    halt: halt.kind,
    pc: h.getPc(),
    steps: h.attempted,
    instret: h.instret,
    x: Array.from(h.x.subarray(0, 32)),
    f: Array.from(h.fb),
    ram: createHash('sha256').update(m.bus.bytes(m.bus.ramOffset, m.bus.ramSize)).digest('hex'),
    translated: m.jit.translatedInsns,
    errors: m.jit.compileErrors,
  };
}

describe('registers written in a wasm unit reach every helper and the trap handler as the interpreter has them', () => {
  it('a loop calling execAlu, execFp and both slow paths, ending in a load access fault inside the unit', () => {
    const a = run('interp');
    const b = run('wasm');
    expect(a.halt).toBe('poweroff');
    expect(a.x[s9]).toBe(5n); // load access fault
    expect(a.x[s3]).toBe(10n); // taken 10 iterations before the loop's end
    expect(b.errors).toEqual([]);
    // Nearly all of the loop ran translated, the faulting load too (the trap came out of a unit).
    expect(b.translated).toBeGreaterThan(0.9 * b.steps);
    expect(b).toEqual({ ...a, translated: b.translated });
  });
});
