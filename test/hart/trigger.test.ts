/**
 * Sdtrig trigger module (src/hart/trigger.ts; RISC-V debug spec 1.0 chapter 5, as QEMU 7.2
 * models it): the CSRs and their WARL fields, execute/load/store address matches, the mode
 * bits, the breakpoint exception (cause 3, epc, tval = the address), priority over the access's
 * own faults, the fast paths (TLBs, block translator) and checkpoints.
 *
 * The CSR values expected here were read from QEMU 7.2 (qemu-system-riscv64 -M virt -bios none)
 * with a probe program, except tval: QEMU 7.2 writes 0, hvtrace the address (see trigger.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Machine, type MachineConfig } from '../../src/board/machine.js';
import { Scheduler } from '../../src/sched/scheduler.js';
import { TraceReader } from '../../src/trace/store.js';
import { RecordSession, restoreCheckpoint, stateDigest } from '../../src/trace/recorder.js';
import {
  Asm, Sim, runProgram, runGuest, a0, a1, a2, s1, t0, t1, zero, CSR, MS, PRV_M, PRV_S, PRV_U,
  MSKIP, encI, encCsr,
} from './harness.js';

const BREAKPOINT = 3, ILLEGAL = 2;
const TINFO = 0x7a4;
const bit = (n: number): bigint => 1n << BigInt(n);
/** mcontrol (type 2) / mcontrol6 (type 6) fields. */
const T2 = 2n << 60n, T6 = 6n << 60n;
const LOAD = bit(0), STORE = bit(1), EXEC = bit(2), U = bit(3), S = bit(4), M = bit(6), VU = bit(23), VS = bit(24);
/** mcontrol size encodings (sizehi:sizelo): 1 = 1 byte, 2 = 2, 3 = 4, 5 = 8. */
const SIZE2 = (enc: number): bigint => (BigInt(enc >> 2) << 21n) | (BigInt(enc & 3) << 16n);

/** Arm trigger `idx` with tdata1 = `t1` at address `addr` (a label or an address): tdata2 first. */
function arm(a: Asm, idx: number, t1: bigint, addr: string | number): void {
  a.li(t0, idx).csrw(CSR.tselect, t0);
  if (typeof addr === 'string') a.la(t0, addr); else a.li(t0, addr);
  a.csrw(CSR.tdata2, t0);
  a.li(t0, t1).csrw(CSR.tdata1, t0);
}
/** Run `body` with mtvec = the skip handler (every trap returns past the trapping instruction). */
function skipping(body: (a: Asm) => void, regs: Record<number, bigint | number> = {}): Sim {
  return runProgram(body, { mtvec: MSKIP, regs });
}
const breakpoints = (sim: Sim) => sim.traps.filter((t) => t.cause === BREAKPOINT);

describe('trigger CSRs (QEMU 7.2 values)', () => {
  it('tinfo reads 0x44 (types 2 and 6); reset state: tdata1 = type 2, tdata2 = tdata3 = 0, for both triggers', () => {
    const sim = runProgram((a) => {
      a.csrr(a0, TINFO).csrr(a1, CSR.tdata1).csrr(a2, CSR.tdata2);
      a.li(t0, 1).csrw(CSR.tselect, t0).csrr(s1, CSR.tdata1).csrr(t1, CSR.tdata3);
    });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(0x44n);
    expect(sim.x(a1)).toBe(T2);
    expect(sim.x(a2)).toBe(0n);
    expect(sim.x(s1)).toBe(T2);
    expect(sim.x(t1)).toBe(0n);
  });

  it('tselect is WARL 0..1: writing 2 or more keeps the selected trigger', () => {
    const sim = runProgram((a) => {
      a.li(t0, 1).csrw(CSR.tselect, t0).li(t0, 2).csrw(CSR.tselect, t0).csrr(a0, CSR.tselect);
      a.li(t0, 0).csrw(CSR.tselect, t0).li(t0, 5).csrw(CSR.tselect, t0).csrr(a1, CSR.tselect);
    });
    expect(sim.x(a0)).toBe(1n);
    expect(sim.x(a1)).toBe(0n);
  });

  it.each([
    ['type 2, every bit set: only size-less mode and access bits stay', T2 | (bit(60) - 1n), 0x200000000000005fn],
    ['type 6, every bit set: VU and VS stay too', T6 | (bit(60) - 1n), 0x600000000180005fn],
    ['type 2 with an 8-byte size (sizehi 1, sizelo 1) and M + load', T2 | SIZE2(5) | M | LOAD, 0x2000000000210041n],
    ['type 2 with the unsupported 6-byte size: size reads 0 (any)', T2 | SIZE2(4) | M | LOAD, 0x2000000000000041n],
    ['action, chain, match, timing, select, hit and dmode read 0', T2 | bit(59) | (0xfn << 12n) | bit(11) | (0xfn << 7n) | bit(19) | bit(20) | M | EXEC, T2 | M | EXEC],
  ])('tdata1 WARL: %s', (_n, written, read) => {
    const sim = runProgram((a) => { a.li(t0, written).csrw(CSR.tdata1, t0).csrr(a0, CSR.tdata1); });
    expect(sim.x(a0)).toBe(read);
  });

  it.each([[0n], [3n], [15n]])('a tdata1 write of type %i is ignored', (type) => {
    const sim = runProgram((a) => {
      a.li(t0, T6 | M | STORE).csrw(CSR.tdata1, t0);
      a.li(t0, (type << 60n) | M | LOAD).csrw(CSR.tdata1, t0).csrr(a0, CSR.tdata1);
    });
    expect(sim.x(a0)).toBe(T6 | M | STORE);
  });

  it('tdata2 keeps all 64 bits; tdata3 reads 0 whatever is written; tinfo ignores writes', () => {
    const sim = runProgram((a) => {
      a.li(t0, -1).csrw(CSR.tdata2, t0).csrr(a0, CSR.tdata2);
      a.csrw(CSR.tdata3, t0).csrr(a1, CSR.tdata3);
      a.csrw(TINFO, t0).csrr(a2, TINFO);
    });
    expect(sim.x(a0)).toBe((1n << 64n) - 1n);
    expect(sim.x(a1)).toBe(0n);
    expect(sim.x(a2)).toBe(0x44n);
  });

  it.each([
    ['tcontrol', 0x7a5], ['mcontext', 0x7a8], ['mscontext', 0x7aa], ['hcontext', 0x6a8], ['scontext', 0x5a8],
  ])('%s is not implemented (illegal instruction, as QEMU 7.2)', (_n, csr) => {
    const sim = runProgram((a) => { a.csrr(a0, csr); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
  });

  it.each([
    ['S-mode', false], ['VS-mode', true],
  ])('the trigger CSRs are M-mode only: tselect from %s is an illegal instruction (not virtual)', (_n, virt) => {
    const code = (a: Asm): void => { a.label('bad').csrr(a0, CSR.tselect); };
    const sim = virt ? runGuest(code, { vs: 'bare', g: 'bare' }).sim
      : runProgram((a) => { a.enter(PRV_S, 'low'); a.label('low'); code(a); });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(ILLEGAL));
    expect(sim.csr(CSR.mtval)).toBe(BigInt(encCsr(2, a0, CSR.tselect, zero)));
  });
});

describe('execute triggers', () => {
  it('an M-mode execute trigger: breakpoint before the instruction runs, mepc = mtval = its address', () => {
    const sim = runProgram((a) => {
      arm(a, 0, T2 | M | EXEC, 'bp');
      a.li(a0, 0);
      a.label('bp').li(a0, 7);
    });
    expect(sim.stop).toBe('mtrap');
    expect(sim.csr(CSR.mcause)).toBe(BigInt(BREAKPOINT));
    expect(sim.csr(CSR.mepc)).toBe(BigInt(sim.addr('bp')));
    expect(sim.csr(CSR.mtval)).toBe(BigInt(sim.addr('bp')));
    expect(sim.x(a0)).toBe(0n);
  });

  it('matches the exact pc: a compressed instruction at +2, not the one before it', () => {
    const sim = skipping((a) => {
      a.la(t1, 'c2').addi(t1, t1, 2);
      a.li(t0, 0).csrw(CSR.tselect, t0).csrw(CSR.tdata2, t1).li(t0, T6 | M | EXEC).csrw(CSR.tdata1, t0);
      a.align(4).label('c2').c_nop().c_nop().nop();
    });
    expect(sim.stop).toBe('done');
    expect(breakpoints(sim).map((t) => t.epc)).toEqual([BigInt(sim.addr('c2') + 2)]);
    expect(sim.traps[0]!.tval).toBe(BigInt(sim.addr('c2') + 2));
  });

  it('fires again each time the instruction is reached (a loop), and the skipped instruction never runs', () => {
    const sim = skipping((a) => {
      arm(a, 0, T2 | M | EXEC, 'inc');
      a.li(a0, 0).li(a1, 3);
      a.label('loop').label('inc').addi(a0, a0, 1);
      a.addi(a1, a1, -1).bne(a1, zero, 'loop');
    });
    expect(sim.stop).toBe('done');
    expect(breakpoints(sim)).toHaveLength(3);
    expect(sim.x(a0)).toBe(0n);
  });

  it('has priority over the fetch fault of its instruction (Sdtrig "Priority")', () => {
    // A jump to an address with nothing behind it: without the trigger a fetch access fault.
    const target = 0x800; // no device, no RAM
    for (const armed of [false, true]) {
      const sim = runProgram((a) => {
        if (armed) arm(a, 0, T2 | M | EXEC, target);
        a.li(t1, target).jalr(zero, t1, 0);
      });
      expect(sim.stop).toBe('mtrap');
      expect(sim.csr(CSR.mcause)).toBe(armed ? BigInt(BREAKPOINT) : 1n);
      expect(sim.csr(CSR.mtval)).toBe(BigInt(target));
    }
  });

  it('does not match when the mode bit of the current privilege is clear (mcontrol6 U-only, run in M)', () => {
    const sim = runProgram((a) => { arm(a, 0, T6 | U | EXEC, 'bp'); a.label('bp').li(a0, 7); });
    expect(sim.stop).toBe('done');
    expect(sim.x(a0)).toBe(7n);
  });

  it('an execute trigger does not match a load of its address, nor a load trigger the execution', () => {
    const sim = skipping((a) => {
      arm(a, 0, T2 | M | EXEC, 'data');
      arm(a, 1, T2 | M | LOAD, 'code');
      a.la(a1, 'data').ld(a0, 0, a1);
      a.label('code').li(a2, 5);
      a.j('done');
      a.align(8).label('data').dword(0x1234n);
    });
    expect(sim.stop).toBe('done');
    expect(sim.traps).toEqual([]);
    expect(sim.x(a0)).toBe(0x1234n);
    expect(sim.x(a2)).toBe(5n);
  });

  it('without a mode bit or without execute/load/store the trigger is off', () => {
    const sim = runProgram((a) => {
      arm(a, 0, T2 | EXEC, 'bp');
      arm(a, 1, T2 | M, 'bp');
      a.label('bp').li(a0, 7);
    });
    expect(sim.stop).toBe('done');
    expect(sim.h.trigArmed).toBe(0);
  });
});

describe('load and store triggers', () => {
  const data = (a: Asm): void => { a.j('done'); a.align(16).label('data').dword(0x1111111111111111n).dword(0x2222222222222222n); };

  it('a load trigger of size "any" covers 8 bytes from tdata2 (as QEMU 7.2): overlapping loads hit, tval = their address', () => {
    const sim = skipping((a) => {
      a.la(s1, 'data');
      a.addi(t1, s1, 4);
      a.li(t0, 0).csrw(CSR.tselect, t0).csrw(CSR.tdata2, t1).li(t0, T2 | M | LOAD).csrw(CSR.tdata1, t0);
      a.label('l0').lw(a0, 0, s1); // bytes 0-3: no
      a.label('l1').ld(a0, 0, s1); // 0-7: yes
      a.label('l2').lb(a0, 11, s1); // 11: yes
      a.label('l3').lb(a0, 12, s1); // 12: no
      a.label('s0').sw(a0, 4, s1); // a store: no
      data(a);
    });
    expect(sim.stop).toBe('done');
    const base = sim.addr('data');
    expect(breakpoints(sim).map((t) => [t.epc, t.tval])).toEqual([
      [BigInt(sim.addr('l1')), BigInt(base)],
      [BigInt(sim.addr('l2')), BigInt(base + 11)],
    ]);
  });

  it.each([
    [1, [4], [5, 3]],
    [2, [4, 5], [6, 3]],
    [3, [4, 7], [8, 3]],
    [5, [4, 11], [12, 3]],
  ])('size encoding %i: byte loads at %j hit, at %j do not', (enc, hit, miss) => {
    const sim = skipping((a) => {
      a.la(s1, 'data').addi(t1, s1, 4);
      a.li(t0, 0).csrw(CSR.tselect, t0).csrw(CSR.tdata2, t1).li(t0, T2 | SIZE2(enc) | M | LOAD).csrw(CSR.tdata1, t0);
      for (const o of [...hit, ...miss]) a.lbu(a0, o, s1);
      data(a);
    });
    expect(sim.stop).toBe('done');
    const base = sim.addr('data');
    expect(breakpoints(sim).map((t) => Number(t.tval) - base)).toEqual(hit);
  });

  it('a store trigger: the store does not happen; a load of the same address does not hit', () => {
    const sim = skipping((a) => {
      arm(a, 0, T6 | M | STORE, 'data');
      a.la(s1, 'data').li(a0, 0x55);
      a.label('st').sd(a0, 0, s1);
      a.ld(a1, 0, s1);
      data(a);
    });
    expect(sim.stop).toBe('done');
    expect(breakpoints(sim).map((t) => t.epc)).toEqual([BigInt(sim.addr('st'))]);
    expect(sim.lastTrap!.tval).toBe(BigInt(sim.addr('data')));
    expect(sim.x(a1)).toBe(0x1111111111111111n);
  });

  it('floating-point loads and stores match like integer ones', () => {
    const sim = skipping((a) => {
      a.li(t0, MS.FS_INITIAL).csrs(CSR.mstatus, t0);
      arm(a, 0, T2 | M | LOAD | STORE, 'data');
      a.la(s1, 'data');
      a.label('fl').fld(1, 0, s1);
      a.label('fs').fsw(1, 4, s1);
      data(a);
    });
    expect(breakpoints(sim).map((t) => t.epc)).toEqual([BigInt(sim.addr('fl')), BigInt(sim.addr('fs'))]);
  });

  it('LR is a load, SC a store, an AMO both (Sdtrig "A Extension")', () => {
    const run = (t1v: bigint): Sim => skipping((a) => {
      arm(a, 0, t1v, 'data');
      a.la(s1, 'data');
      a.label('lr').lr_w(a0, s1);
      a.label('sc').sc_w(a1, a0, s1);
      a.label('amo').amo('add', 'd', a2, a0, s1);
      data(a);
    });
    const epcs = (sim: Sim): string[] => breakpoints(sim).map((t) => ['lr', 'sc', 'amo'].find((l) => BigInt(sim.addr(l)) === t.epc)!);
    expect(epcs(run(T2 | M | LOAD))).toEqual(['lr', 'amo']);
    expect(epcs(run(T2 | M | STORE))).toEqual(['sc', 'amo']);
  });

  it('has priority over the access fault and the misaligned exception of the access (Sdtrig "Priority")', () => {
    const hole = 0x800; // no device, no RAM
    const sim = skipping((a) => {
      arm(a, 0, T2 | M | LOAD | STORE, hole);
      a.li(s1, hole);
      a.label('ld').ld(a0, 0, s1); // no device there: an access fault without the trigger
      a.addi(s1, s1, 2);
      a.label('amo').amo('add', 'w', a0, a0, s1); // misaligned AMO: cause 6 without the trigger
      a.li(t0, 0).csrw(CSR.tdata1, t0); // ignored (type 0): still armed
      a.li(t0, T2).csrw(CSR.tdata1, t0); // disarmed
      a.label('ld2').ld(a0, -2, s1);
    });
    expect(sim.traps.map((t) => [t.cause, t.epc])).toEqual([
      [BREAKPOINT, BigInt(sim.addr('ld'))],
      [BREAKPOINT, BigInt(sim.addr('amo'))],
      [5, BigInt(sim.addr('ld2'))],
    ]);
  });

  it('cbo.zero matches a size-"any" store trigger whose address lies in its 64-byte block', () => {
    const cboZero = (rs1: number): number => encI(0x0f, 0, 2, rs1, 4);
    const sim = skipping((a) => {
      arm(a, 0, T2 | M | STORE, 'data');
      a.la(s1, 'data').addi(s1, s1, 40);
      a.label('cbo').word(cboZero(s1));
      a.addi(s1, s1, 64).word(cboZero(s1)); // the next block: no
      data(a);
      a.align(64);
    });
    expect(breakpoints(sim).map((t) => t.epc)).toEqual([BigInt(sim.addr('cbo'))]);
    expect(sim.lastTrap!.tval).toBe(BigInt(sim.addr('data') - (sim.addr('data') % 64)));
  });

  it('a trigger armed after its page is in the TLB still fires; disarmed, the page is fast again and nothing fires', () => {
    const sim = skipping((a) => {
      a.la(s1, 'data').ld(a0, 0, s1).ld(a0, 0, s1); // the page is now in the load TLB
      arm(a, 0, T2 | M | LOAD, 'data');
      a.label('hit').ld(a0, 0, s1);
      a.li(t0, T2).csrw(CSR.tdata1, t0);
      a.ld(a0, 0, s1);
      data(a);
    });
    expect(breakpoints(sim).map((t) => t.epc)).toEqual([BigInt(sim.addr('hit'))]);
    expect(sim.x(a0)).toBe(0x1111111111111111n);
  });
});

describe('mode bits', () => {
  /** Arm in M, then run `code` at `priv` (V = `virt`); count the breakpoints taken in M. */
  function modeRun(t1v: bigint, priv: number, virt: boolean): number {
    const code = (a: Asm): void => { a.la(s1, 'data').ld(a0, 0, s1).j('done').align(8).label('data').dword(1n); };
    const setup = (a: Asm): void => { arm(a, 0, t1v, 'data'); };
    const sim = virt
      ? runGuest(code, { vs: 'bare', g: 'bare', priv, setup }).sim
      : runProgram((a) => { setup(a); a.enter(priv, 'low'); a.label('low'); code(a); });
    return sim.traps.filter((t) => t.cause === BREAKPOINT).length;
  }
  it.each(([
    ['type 2 M', T2 | M, PRV_M, false, 1], ['type 2 M', T2 | M, PRV_S, false, 0],
    ['type 2 S', T2 | S, PRV_S, false, 1], ['type 2 S', T2 | S, PRV_U, false, 0],
    ['type 2 U', T2 | U, PRV_U, false, 1], ['type 2 U', T2 | U, PRV_M, false, 0],
    ['type 2 S+U (never with V = 1)', T2 | S | U | M, PRV_S, true, 0],
    ['type 6 S', T6 | S, PRV_S, false, 1], ['type 6 S', T6 | S, PRV_S, true, 0],
    ['type 6 VS', T6 | VS, PRV_S, true, 1], ['type 6 VS', T6 | VS, PRV_S, false, 0], ['type 6 VS', T6 | VS, PRV_U, true, 0],
    ['type 6 VU', T6 | VU, PRV_U, true, 1], ['type 6 VU', T6 | VU, PRV_U, false, 0],
  ] as const).map(([n, t1v, priv, virt, hits]) => [n, priv, virt, hits, t1v] as const))('%s load trigger, load in priv %i with V = %s: %i breakpoints', (_n, priv, virt, n, t1v) => {
    expect(modeRun(t1v | LOAD, priv, virt)).toBe(n);
  });

  it('the current privilege counts, not the effective one of an MPRV load (as QEMU 7.2)', () => {
    const sim = skipping((a) => {
      arm(a, 0, T2 | S | LOAD, 'data');
      a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
      a.la(s1, 'data').ld(a0, 0, s1);
      a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
      a.j('done').align(8).label('data').dword(9n);
    });
    expect(sim.stop).toBe('done');
    expect(breakpoints(sim)).toEqual([]);
    expect(sim.x(a0)).toBe(9n);
  });

  it('a breakpoint delegated by medeleg[3] is taken in S with stval = the address; from VS with hedeleg[3] in VS with GVA', () => {
    const s = runProgram((a) => {
      arm(a, 0, T2 | S | LOAD, 'data');
      a.li(t0, bit(BREAKPOINT)).csrw(CSR.medeleg, t0);
      a.enter(PRV_S, 'low');
      a.label('low').la(s1, 'data').label('ld').ld(a0, 0, s1);
      a.j('done').align(8).label('data').dword(1n);
    });
    expect(s.stop).toBe('strap');
    expect(s.csr(CSR.scause)).toBe(BigInt(BREAKPOINT));
    expect(s.csr(CSR.sepc)).toBe(BigInt(s.addr('ld')));
    expect(s.csr(CSR.stval)).toBe(BigInt(s.addr('data')));

    const vs = runGuest((a) => {
      a.la(s1, 'data').label('ld').ld(a0, 0, s1);
      a.j('done').align(8).label('data').dword(1n);
    }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        arm(a, 0, T6 | VS | LOAD, 'data');
        a.li(t0, bit(BREAKPOINT)).csrw(CSR.medeleg, t0).csrw(CSR.hedeleg, t0);
      },
    }).sim;
    expect(vs.stop).toBe('vstrap');
    expect(vs.lastTrap).toMatchObject({ cause: BREAKPOINT, epc: BigInt(vs.addr('ld')), tval: BigInt(vs.addr('data')) });
  });
});

describe('triggers with the block translator and checkpoints', () => {
  /**
   * A loop adding a value loaded from `data` 40 times (hot: translated after 2 executions), a
   * trigger (`t1v` on label `on`) armed by the 20th iteration; mtvec = the skip handler. Returns
   * the traps (cause, offset of epc from the loop, step count) of a run to `done`, and the sum.
   */
  function hotLoop(jit: boolean, t1v: bigint, on: string): { traps: string[]; a0: bigint } {
    const { image, asm } = (() => {
      const a = new Asm(0x8000_0000);
      a.j('start');
      a.align(64).label('skip');
      a.csrr(t1, CSR.mepc).addi(t1, t1, 4).csrw(CSR.mepc, t1).mret();
      a.label('start');
      a.la(t0, 'skip').csrw(CSR.mtvec, t0);
      a.la(s1, 'data').li(a1, 40).li(a0, 0);
      a.label('loop').li(a2, 0).ld(a2, 0, s1).label('add').add(a0, a0, a2).addi(a1, a1, -1);
      a.li(t1, 20).bne(a1, t1, 'next');
      a.la(t0, on).csrw(CSR.tdata2, t0).li(t0, t1v).csrw(CSR.tdata1, t0);
      a.label('next').bne(a1, zero, 'loop');
      a.label('done').j('done');
      a.align(8).label('data').dword(1n);
      return { image: a.assemble(), asm: a };
    })();
    const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'none', jit, jitHot: 2, kernel: { name: 't', bytes: image } });
    const h = m.harts[0]!;
    const traps: string[] = [];
    h.obs = {
      trap: (_h, cause, _i, epc) => { traps.push(`${cause}@${Number(epc) - asm.addr('loop')}/${h.attempted}`); },
      trapReturn() {}, csrWrite() {}, mmio() {}, irqLine() {}, sbiCall() {}, hartState() {},
    };
    for (let i = 0; i < 1000 && h.pc !== asm.addr('done'); i++) h.run(7);
    expect(h.pc).toBe(asm.addr('done'));
    if (jit) expect(m.jit.blocksCompiled).toBeGreaterThan(0);
    return { traps, a0: h.getX(a0) };
  }

  it.each([
    ['load', T2 | M | LOAD, 'data'], ['execute', T6 | M | EXEC, 'add'],
  ])('a %s trigger armed while the loop runs translated fires at the same steps as on the interpreter', (_n, t1v, on) => {
    const interp = hotLoop(false, t1v, on);
    const jit = hotLoop(true, t1v, on);
    expect(interp.traps).toHaveLength(20);
    expect(interp.a0).toBe(20n); // the 20 loads or adds that hit were skipped
    expect(jit).toEqual(interp);
  });

  it('the hart snapshot carries the triggers only once they left the reset state, and restores them', () => {
    const sim = new Sim((a) => {
      a.label('pre').nop();
      arm(a, 1, T6 | M | EXEC, 'bp');
      a.label('armed').nop();
      a.label('bp').li(a0, 7);
    });
    sim.run({ extraStops: [sim.addr('armed')] });
    expect(sim.stop).toBe('stop');
    const snap = sim.h.saveState();
    expect(snap.trig).toEqual({ select: 1, tdata1: [T2, T6 | M | EXEC], tdata2: [0n, BigInt(sim.addr('bp'))] });
    const fresh = new Sim(() => {});
    expect(fresh.h.saveState().trig).toBeUndefined();
    // Restore into the fresh machine: same image layout needed for the code, so reuse the same program.
    const other = new Sim((a) => {
      a.label('pre').nop();
      arm(a, 1, T6 | M | EXEC, 'bp');
      a.label('armed').nop();
      a.label('bp').li(a0, 7);
    });
    other.h.restoreState(snap);
    expect(other.h.trigArmed).not.toBe(0);
    expect(other.csr(CSR.tselect)).toBe(1n);
    other.run();
    expect(other.stop).toBe('mtrap');
    expect(other.csr(CSR.mcause)).toBe(BigInt(BREAKPOINT));
    expect(other.csr(CSR.mepc)).toBe(BigInt(other.addr('bp')));
  });
});

describe('triggers in a recording', () => {
  it('rv64mi-p-breakpoint recorded with a checkpoint every 100 instructions: every checkpoint restores the trigger state, and the run from it ends in the recorded final state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-trig-'));
    try {
      const elf = fileURLToPath(new URL('../fixtures/riscv-tests/rv64mi-p-breakpoint', import.meta.url));
      const config: MachineConfig = { ramSize: 16 * 1024 * 1024, harts: 1, bios: 'none', kernel: { name: elf, bytes: new Uint8Array(readFileSync(elf)) } };
      const path = join(dir, 'bp.trace');
      const session = RecordSession.create({ path, config, maxInsns: 1_000_000, quantum: 50, checkpointEvery: 100 });
      const halt = session.runToEnd();
      session.finish();
      expect(halt).toMatchObject({ kind: 'htif', exitCode: 0 });
      const r = TraceReader.open(path);
      try {
        const final = r.digests().at(-1)!;
        const cks = r.checkpoints();
        let armed = 0;
        for (const ck of cks) {
          const m = new Machine(config);
          const s = new Scheduler(m, { maxInsns: 1_000_000, quantum: 50 });
          restoreCheckpoint(r, ck.id, m, s);
          if (m.harts[0]!.trigArmed !== 0) armed++;
          expect(s.runToEnd()).toMatchObject({ kind: 'htif', exitCode: 0 });
          expect(stateDigest(m, s, 0, { final: true }).stateHash).toBe(final.stateHash);
        }
        expect(armed).toBeGreaterThan(0); // some checkpoints were taken while a trigger was armed
      } finally {
        r.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
