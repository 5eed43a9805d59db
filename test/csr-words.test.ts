/**
 * The CSR instructions' BigInt-free path (Hart.csrWords, taken for CSR rows with `readWords` /
 * `writeWords` when no observer watches) does what the BigInt path does:
 *  - row by row, readWords gives read's value and writeWords leaves the hart as write does, over
 *    varied states (FS Dirty or not, V = 0 / 1) and written values;
 *  - instruction by instruction, a guest running every CSR instruction form on such CSRs ends in
 *    the same registers and CSR values with an observer (the BigInt path) and without one.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/board/machine.js';
import { Scheduler } from '../src/sched/scheduler.js';
import { CSR_TABLE } from '../src/hart/csr.js';
import type { Hart } from '../src/hart/hart.js';
import type { HartObserver } from '../src/hart/observer.js';
import { Asm, a0, a1, a6, a7, s2, s3, s4, s5, t0, t1, t2, t3 } from './hart/harness.js';

const WORD_CSRS = CSR_TABLE.flatMap((d, num) => (d?.readWords !== undefined ? [{ num, d }] : []));

/** Deterministic 32-bit values: edges and an LCG. */
function values(n: number): number[] {
  const out = [0, -1, 1, 0x7fffffff, -0x80000000, 0x2, 0x40000, 0x80000, 0x6000, 0x122];
  let x = 0x12345678;
  while (out.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    out.push(x);
  }
  return out;
}

function machine(): Machine {
  return new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(none)', bytes: new Uint8Array(4) }, tier: 'interp' });
}

const words = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];

describe('CSR rows with number forms', () => {
  it('there is at least one (sstatus)', () => {
    expect(WORD_CSRS.map((c) => c.d.name)).toContain('sstatus');
    for (const { d } of WORD_CSRS) expect(d.writeWords === undefined).toBe(d.write === undefined);
  });

  for (const { d } of WORD_CSRS) {
    it(`${d.name}: readWords = read and writeWords = write, over varied states and values`, () => {
      const ma = machine(), mb = machine();
      const a = ma.harts[0]!, b = mb.harts[0]!;
      const out = new Int32Array(2);
      let k = 0;
      for (const st of values(64)) {
        for (const virt of [false, true]) {
          for (const h of [a, b]) {
            // A raw mstatus (any bits, FS Dirty or not) and V: the row reads what is there.
            (h as unknown as { mstatus: number }).mstatus = st;
            h.virt = virt;
          }
          d.readWords!(a, out);
          expect([out[0], out[1]], `${d.name} read, mstatus 0x${(st >>> 0).toString(16)}`).toEqual(words(d.read(a)));
          const lo = values(64)[k++ % 64]!, hi = values(64)[(k * 7) % 64]!;
          if (d.write === undefined) continue;
          d.write(a, BigInt.asUintN(32, BigInt(lo)) | (BigInt.asUintN(32, BigInt(hi)) << 32n));
          d.writeWords!(b, lo, hi);
          expect(b.mstatusArch(), `${d.name} write 0x${(hi >>> 0).toString(16)}_${(lo >>> 0).toString(16)}`).toBe(a.mstatusArch());
          expect(d.read(b)).toBe(d.read(a));
        }
      }
    });
  }
});

/** Every CSR instruction form on `csr`, with varied sources, results kept in s2..s5 and memory. */
function program(csr: number): Uint8Array {
  const asm = new Asm(0x8020_0000);
  asm.la(s4, 'out');
  const vals = values(12);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    asm.li(t0, BigInt.asIntN(64, (BigInt(v) << 16n) ^ BigInt(i)));
    asm.csrrw(t1, csr, t0).csrrs(t2, csr, t0).csrrc(t3, csr, t0);
    asm.csrrwi(s2, csr, i & 31).csrrsi(s3, csr, (i * 5) & 31).csrrci(s5, csr, (i * 3) & 31);
    asm.csrr(a0, csr).csrrs(a1, csr, 0).csrw(csr, t0).csrs(csr, t0).csrc(csr, t0);
    asm.csrrw(0, csr, t1).csrrs(t0, csr, 0);
    for (const r of [t1, t2, t3, s2, s3, s5, a0, a1, t0]) asm.sd(r, 0, s4).addi(s4, s4, 8);
  }
  asm.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
  asm.align(8).label('out');
  for (let i = 0; i < 12 * 9; i++) asm.dword(0n);
  return asm.assemble();
}

function run(csr: number, observed: boolean): { out: string; status: bigint } {
  const m = new Machine({ ramSize: 16 * 1024 * 1024, harts: 1, bios: 'builtin', kernel: { name: '(csr words)', bytes: program(csr) }, tier: 'interp' });
  const h: Hart = m.harts[0]!;
  if (observed) {
    const nop = (): void => {};
    const obs: HartObserver = { trap: nop, trapReturn: nop, csrWrite: nop, mmio: nop, irqLine: nop, sbiCall: nop, hartState: nop };
    h.obs = obs;
  }
  const halt = new Scheduler(m, { maxInsns: 1_000_000 }).runToEnd();
  expect(halt.kind).toBe('poweroff');
  const status = h.csrGet(csr);
  const out = Buffer.from(m.bus.readRam(0x8020_0000, 0x4000)).toString('hex');
  return { out, status };
}

describe('CSR instructions on rows with number forms: the same with and without an observer', () => {
  for (const { num, d } of WORD_CSRS) {
    it(`${d.name}: every form, S-mode`, () => {
      const plain = run(num, false), observed = run(num, true);
      expect(plain.out).toBe(observed.out);
      expect(plain.status).toBe(observed.status);
    });
  }
});
