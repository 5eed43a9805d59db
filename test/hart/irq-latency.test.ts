/**
 * Interrupt latency (issue 10): any change that makes an interrupt pending and enabled is
 * recognised at the next instruction boundary (priv spec §3.1.9: interrupts are taken between
 * instructions; QEMU checks them before the next translation block). Each test makes one path
 * enable an interrupt and checks that the trap is taken before another instruction retires:
 * instret is the same at the enabling event and at the trap, and the trap's epc is the
 * instruction that would have run next.
 *
 * Paths: a native CSR write by the built-in hypervisor (hvip) and by the built-in SBI (mip), each
 * followed by its native xRET; sret / mret re-enabling SIE / MIE; a device line (CLINT msip)
 * written by the hart itself, by another hart between slices, and from inside a translated
 * block; a CSR instruction (csrs sie).
 */
import { describe, expect, it } from 'vitest';
import { HartState, type Hart, type HsHandler } from '../../src/hart/hart.js';
import type { HartObserver } from '../../src/hart/observer.js';
import { Machine } from '../../src/board/machine.js';
import {
  Sim, buildImage, makeGuest, CSR, IRQ, INT, MS, PRV_S, CLINT, STRAP, VSTRAP, MTRAP,
  t0, t1, a0, s1,
} from './harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);

interface Logged { what: string; instret: number; pc: bigint; cause?: number; interrupt?: boolean; epc?: bigint }

/** Log traps, xRETs and CSR writes with the hart's instret at each (replaces the Sim's observer). */
function logEvents(h: Hart): Logged[] {
  const log: Logged[] = [];
  const obs: HartObserver = {
    trap(hh, cause, interrupt, epc) { log.push({ what: 'trap', instret: hh.instret, pc: hh.getPc(), cause, interrupt, epc }); },
    trapReturn(hh, insn) { log.push({ what: insn, instret: hh.instret, pc: hh.getPc() }); },
    csrWrite(hh, csr) { log.push({ what: `csr:${csr}`, instret: hh.instret, pc: hh.getPc() }); },
    mmio(hh, device, _pa, _size, _v, write) { if (write) log.push({ what: `mmio:${device}`, instret: hh.instret, pc: hh.getPc() }); },
    irqLine(hh, b, level) { log.push({ what: `irq:${b}:${level ? 1 : 0}`, instret: hh.instret, pc: hh.getPc() }); },
    sbiCall() {},
    hartState() {},
  };
  h.obs = obs;
  return log;
}

const traps = (log: Logged[]): Logged[] => log.filter((e) => e.what === 'trap');

describe('an interrupt made pending and enabled is taken before the next instruction retires', () => {
  it('native hvip write + sret by the hypervisor (HS handler): the VS timer interrupt lands on the instruction after the sret', () => {
    // The guest in VS-mode spins with vsstatus.SIE = 1 and vsie.STIE = 1. The host timer (STIP,
    // delegated to HS) exits to a native HS handler that injects hvip.VSTIP and returns with sret:
    // the exact sequence of issue 10.
    const { sim } = makeGuest((a) => {
      a.csrsi(CSR.sstatus, 2); // vsstatus.SIE
      a.li(t0, 0x20).csrs(CSR.sie, t0); // vsie.STIE (= hie.VSTIE)
      a.label('spin').addi(a0, a0, 1).addi(a0, a0, 1).j('spin');
    }, {
      vs: 'bare', g: 'bare',
      setup: (a) => {
        a.li(t0, bit(IRQ.STI) | bit(6)).csrw(CSR.mideleg, t0); // STIP to HS, VSTIP (6) to HS/VS
        a.li(t0, bit(6)).csrw(CSR.hideleg, t0);
        a.li(t0, bit(IRQ.STI) | bit(6)).csrw(CSR.mie, t0);
      },
    });
    const h = sim.h;
    const log = logEvents(h);
    let hvipAt = -1;
    const handler: HsHandler = {
      onTrap(hh, cause, interrupt) {
        expect([cause, interrupt]).toEqual([IRQ.STI, true]);
        hh.csrSet(CSR.mip, 0n, 'hypervisor'); // the host timer is consumed
        hh.csrSet(CSR.hvip, bit(6), 'hypervisor');
        hvipAt = hh.instret;
        hh.doSret();
      },
    } as HsHandler;
    h.hsHandler = handler;
    expect(sim.run({ extraStops: [sim.addr('spin')] })).toBe('stop');
    for (let i = 0; i < 7; i++) h.run(1); // somewhere inside the loop
    const at = h.getPc();
    h.csrSet(CSR.mip, bit(IRQ.STI), 'firmware'); // host timer fires
    expect(sim.run()).toBe('vstrap');
    const [hs, vs] = traps(log);
    expect(hs).toMatchObject({ cause: IRQ.STI, interrupt: true, epc: at });
    // VSTI reaches the VS handler as the supervisor timer interrupt (priv §8.6.4).
    expect(vs).toMatchObject({ cause: 6, interrupt: true, epc: at, pc: BigInt(VSTRAP) });
    expect(h.csrGet(CSR.scause)).toBe(INT | 5n); // vscause while V = 1
    expect(vs!.instret).toBe(hvipAt);
    expect(hs!.instret).toBe(hvipAt);
  });

  it('native mip write + mret by the firmware (M handler): the S timer interrupt lands on the instruction after the mret', () => {
    // An M-level interrupt (MSI) goes to a native M handler that, as OpenSBI's timer handler
    // does, hands an interrupt to S-mode through mip.STIP and returns with mret.
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.STI)).csrw(CSR.mideleg, t0);
      a.li(t0, bit(IRQ.STI) | bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.enter(PRV_S, 's');
      a.label('s').csrsi(CSR.sstatus, 2); // SIE
      a.label('spin').addi(a0, a0, 1).addi(a0, a0, 1).j('spin');
    });
    const h = sim.h;
    const log = logEvents(h);
    let mipAt = -1;
    h.mTrapHandler = (hh, cause, interrupt) => {
      expect([cause, interrupt]).toEqual([IRQ.MSI, true]);
      hh.setIrqLine(IRQ.MSI, false);
      hh.csrSet(CSR.mip, bit(IRQ.STI), 'firmware');
      mipAt = hh.instret;
      hh.doMret();
    };
    expect(sim.run({ extraStops: [sim.addr('spin')] })).toBe('stop');
    for (let i = 0; i < 5; i++) h.run(1);
    const at = h.getPc();
    h.setIrqLine(IRQ.MSI, true);
    expect(sim.run()).toBe('strap');
    const [m, s] = traps(log);
    expect(m).toMatchObject({ cause: IRQ.MSI, interrupt: true, epc: at });
    expect(s).toMatchObject({ cause: IRQ.STI, interrupt: true, epc: at, pc: BigInt(STRAP) });
    expect(s!.instret).toBe(mipAt);
  });

  it('sret that sets SIE from SPIE with an S interrupt pending: taken at sepc, nothing there executed', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.STI)).csrw(CSR.mideleg, t0).csrw(CSR.mie, t0);
      a.enter(PRV_S, 's');
      a.label('s').li(t0, 0x120).csrs(CSR.sstatus, t0); // SPIE | SPP = S
      a.la(t0, 'after').csrw(CSR.sepc, t0);
      a.label('ret').sret();
      a.label('after').li(a0, 1);
    });
    const h = sim.h;
    const log = logEvents(h);
    expect(sim.run({ extraStops: [sim.addr('ret')] })).toBe('stop');
    h.csrSet(CSR.mip, bit(IRQ.STI), 'firmware'); // pending, not yet enabled (SIE = 0)
    const before = h.instret;
    expect(sim.run()).toBe('strap');
    const t = traps(log).at(-1)!;
    expect(t).toMatchObject({ cause: IRQ.STI, interrupt: true, epc: BigInt(sim.addr('after')) });
    const sret = log.find((e) => e.what === 'sret')!;
    expect(sret.instret).toBe(before); // the sret is reported before it retires
    expect(t.instret).toBe(before + 1); // ... and nothing after it retired
    expect(sim.x(a0)).not.toBe(1n);
  });

  it('mret that sets MIE from MPIE with an M interrupt pending: taken at mepc, nothing there executed', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.li(t0, MS.MPIE | (3n << 11n)).csrs(CSR.mstatus, t0); // MPIE, MPP = M
      a.la(t0, 'after').csrw(CSR.mepc, t0);
      a.label('ret').mret();
      a.label('after').li(a0, 1);
    });
    const h = sim.h;
    const log = logEvents(h);
    expect(sim.run({ extraStops: [sim.addr('ret')] })).toBe('stop');
    h.setIrqLine(IRQ.MSI, true);
    const before = h.instret;
    expect(sim.run()).toBe('mtrap');
    const t = traps(log).at(-1)!;
    expect(t).toMatchObject({ cause: IRQ.MSI, interrupt: true, epc: BigInt(sim.addr('after')) });
    expect(t.instret).toBe(before + 1);
    expect(sim.x(a0)).not.toBe(1n);
  });

  it('a device line: the hart\'s own store to CLINT msip traps before the next instruction', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8); // MIE
      a.li(t1, CLINT).li(t0, 1);
      a.label('store').sw(t0, 0, t1); // msip[0] = 1
      a.label('after').li(a0, 1);
    });
    const log = logEvents(sim.h);
    expect(sim.run()).toBe('mtrap');
    const line = log.find((e) => e.what === `irq:${IRQ.MSI}:1`)!;
    const t = traps(log).at(-1)!;
    expect(t).toMatchObject({ cause: IRQ.MSI, interrupt: true, epc: BigInt(sim.addr('after')) });
    expect(line.instret + 1).toBe(t.instret); // the store retired, nothing after it
    expect(sim.x(a0)).not.toBe(1n);
  });

  it('a device line raised by another hart between slices: taken before the first instruction of the next slice', () => {
    // Hart 1 writes hart 0's msip; hart 0, which spins with MSIE and MIE set, traps at its
    // next step without executing the instruction it was about to run.
    const sim = new Sim((a) => {
      a.bne(a0, 0, 'other'); // a0 = hart id
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8);
      a.label('spin').addi(s1, s1, 1).j('spin');
      a.label('other').li(t1, CLINT).li(t0, 1).sw(t0, 0, t1); // msip[0] = 1
      a.label('park').j('park');
    }, { harts: 2 });
    const h0 = sim.h;
    const log = logEvents(h0);
    expect(sim.run({ extraStops: [sim.addr('spin')] })).toBe('stop');
    h0.run(5);
    const at = h0.getPc();
    const count = h0.instret;
    for (let i = 0; i < 20 && (h0.csrGet(CSR.mip) & bit(IRQ.MSI)) === 0n; i++) sim.step(1);
    expect(h0.csrGet(CSR.mip) & bit(IRQ.MSI)).not.toBe(0n);
    h0.run(1);
    const t = traps(log).at(-1)!;
    expect(t).toMatchObject({ cause: IRQ.MSI, interrupt: true, epc: at, pc: BigInt(MTRAP) });
    expect(t.instret).toBe(count);
  });

  it('a CSR instruction (csrs sie in S-mode) that enables a pending S interrupt: taken before the next instruction', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.SSI)).csrw(CSR.mideleg, t0);
      a.enter(PRV_S, 's');
      a.label('s').csrsi(CSR.sstatus, 2);
      a.li(t0, bit(IRQ.SSI));
      a.label('enable').csrs(CSR.sie, t0);
      a.label('after').li(a0, 1);
    });
    const log = logEvents(sim.h);
    sim.h.csrSet(CSR.mip, bit(IRQ.SSI), 'firmware');
    expect(sim.run()).toBe('strap');
    const w = log.filter((e) => e.what === `csr:${CSR.sie}`).at(-1)!;
    const t = traps(log).at(-1)!;
    expect(t).toMatchObject({ cause: IRQ.SSI, interrupt: true, epc: BigInt(sim.addr('after')) });
    expect(t.instret).toBe(w.instret + 1); // the csrs retired, nothing after it
    expect(sim.x(a0)).not.toBe(1n);
  });

  it('a device line raised inside a translated block: the block leaves and the trap lands on the next instruction', () => {
    // A hot loop (translated after 2 runs) whose store to msip raises MSIP on its 10th pass.
    const { image, asm } = buildImage((a) => {
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.csrsi(CSR.mstatus, 8);
      a.li(t1, CLINT).li(s1, 0).li(a0, 10);
      a.label('loop').addi(s1, s1, 1);
      a.sltu(t0, s1, a0).xori(t0, t0, 1); // t0 = (s1 >= 10)
      a.sw(t0, 0, t1); // msip[0] = t0
      a.label('after').addi(s1, s1, 0).j('loop');
    });
    const m = new Machine({ ramSize: 16 << 20, harts: 1, bios: 'none', kernel: { name: 't', bytes: image }, jit: true, jitHot: 2 });
    const h = m.harts[0]!;
    h.csrSet(CSR.mtvec, BigInt(MTRAP), 'firmware');
    const log = logEvents(h);
    for (let i = 0; i < 400 && traps(log).length === 0; i++) h.run(50);
    expect(m.jit.blocksCompiled).toBeGreaterThan(0);
    const line = log.find((e) => e.what === `irq:${IRQ.MSI}:1`)!;
    const t = traps(log)[0]!;
    expect(t).toMatchObject({ cause: IRQ.MSI, interrupt: true, epc: BigInt(asm.addr('after')) });
    expect(h.getX(s1)).toBe(10n);
    expect(t.instret).toBe(line.instret + 1);
    expect(h.runState).toBe(HartState.Running);
  });
});

describe('serviceAttention stays bounded', () => {
  it('a native handler that returns with its interrupt still pending and enabled does not hang the host: the guest still progresses', () => {
    const sim = new Sim((a) => {
      a.li(t0, bit(IRQ.MSI)).csrw(CSR.mie, t0);
      a.enter(PRV_S, 's');
      a.label('s').addi(s1, s1, 1).j('s');
    });
    const h = sim.h;
    let calls = 0;
    h.mTrapHandler = (hh) => { calls++; hh.doMret(); }; // never clears MSIP
    h.setIrqLine(IRQ.MSI, true);
    for (let i = 0; i < 20; i++) h.run(1);
    expect(calls).toBeGreaterThan(0);
    expect(h.getX(s1)).toBeGreaterThan(0n);
  });
});
