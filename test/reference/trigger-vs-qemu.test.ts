/**
 * Differential test against QEMU 7.2 for the Sdtrig trigger module (src/hart/trigger.ts): one
 * bare-metal M-mode program reads the trigger CSRs after WARL writes, touches the CSR numbers
 * QEMU 7.2 does not implement, and arms execute, load and store triggers (type 2 and 6) in front
 * of instructions that do or do not match; its trap handler prints mcause, mtval and mepc. QEMU
 * and hvtrace must print the same lines, except one documented deviation: for a breakpoint
 * raised by a trigger QEMU 7.2 writes 0 to mtval, hvtrace the matched address (the pc for
 * execute, the access's effective address for loads and stores; priv spec §3.1.16).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Asm, a0, a1, ra, s0, s1, s2, t0, t1, t2, t3, t6, zero, CSR, MS, RAM_BASE, DATA } from '../hart/harness.js';
import { Machine } from '../../src/board/machine.js';
import { Scheduler } from '../../src/sched/scheduler.js';
import { qemuVersion, runQemu } from '../../src/diff/qemu-log.js';

const UART = 0x1000_0000, TEST_DEV = 0x10_0000;
const TINFO = 0x7a4;
const T2 = 2n << 60n, T6 = 6n << 60n;
const LOAD = 1n, STORE = 2n, EXEC = 4n, U = 8n, S = 16n, M = 64n;

/** A minimal ELF64 executable: one PT_LOAD of `code` at `base`, entry at base. */
function elf(code: Uint8Array, base: number): Uint8Array {
  const out = new Uint8Array(0x1000 + code.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  dv.setUint16(16, 2, true); dv.setUint16(18, 243, true); dv.setUint32(20, 1, true);
  dv.setBigUint64(24, BigInt(base), true); dv.setBigUint64(32, 64n, true);
  dv.setUint16(52, 64, true); dv.setUint16(54, 56, true); dv.setUint16(56, 1, true); dv.setUint16(58, 64, true);
  dv.setUint32(64, 1, true); dv.setUint32(68, 7, true);
  dv.setBigUint64(72, 0x1000n, true); dv.setBigUint64(80, BigInt(base), true); dv.setBigUint64(88, BigInt(base), true);
  dv.setBigUint64(96, BigInt(code.length), true); dv.setBigUint64(104, BigInt(code.length), true); dv.setBigUint64(112, 0x1000n, true);
  out.set(code, 0x1000);
  return out;
}

/** What each printed line is (for messages), and for trigger breakpoints the mtval hvtrace gives. */
const lines: string[] = [];
const tvals: (number | string)[] = [];

function program(): Asm {
  const a = new Asm(RAM_BASE);
  lines.length = 0;
  tvals.length = 0;
  const print = (what: string): void => { a.jal(ra, 'puthex'); lines.push(what); };
  const csr = (num: number, what: string): void => { a.csrr(a0, num); print(what); };
  /** The next instruction traps: the handler prints three lines. */
  const traps = (what: string, tval?: number | string): void => {
    lines.push(`${what}: mcause`, `${what}: mtval`, `${what}: mepc`);
    if (tval !== undefined) tvals.push(tval);
  };
  const arm = (t1v: bigint, addr: string | number): void => {
    if (typeof addr === 'string') a.la(t0, addr); else a.li(t0, addr);
    a.csrw(CSR.tdata2, t0).li(t0, t1v).csrw(CSR.tdata1, t0);
  };
  a.la(t0, 'handler').csrw(CSR.mtvec, t0).li(s0, UART).li(s2, DATA);
  a.li(t0, 0x1111111111111111n).sd(t0, 0, s2).li(t0, 0x2222222222222222n).sd(t0, 8, s2);
  for (const v of [0, 1, 2, 3]) { a.li(t0, v).csrw(CSR.tselect, t0); csr(CSR.tselect, `tselect after writing ${v}`); }
  for (const v of [0, 1]) {
    a.li(t0, v).csrw(CSR.tselect, t0);
    csr(TINFO, `tinfo of trigger ${v}`); csr(CSR.tdata1, `reset tdata1 of trigger ${v}`);
    csr(CSR.tdata2, `reset tdata2 of trigger ${v}`); csr(CSR.tdata3, `reset tdata3 of trigger ${v}`);
  }
  a.csrw(CSR.tselect, zero);
  const warl: [string, bigint][] = [
    ['type 2, all bits', T2 | ((1n << 60n) - 1n)], ['type 6, all bits', T6 | ((1n << 60n) - 1n)],
    ['type 2 size 8 bytes', T2 | (1n << 21n) | (1n << 16n) | M | LOAD], ['type 2 size 6 bytes', T2 | (1n << 21n) | M | LOAD],
    ['type 6 size 2 bytes', T6 | (2n << 16n) | S | STORE], ['type 0', 0n], ['type 3', (3n << 60n) | M], ['type 15', 15n << 60n],
    ['type 2 action 1, chain, dmode', T2 | (1n << 59n) | (1n << 12n) | (1n << 11n) | M | EXEC],
  ];
  for (const [what, v] of warl) { a.li(t0, v).csrw(CSR.tdata1, t0); csr(CSR.tdata1, `tdata1 after writing ${what}`); }
  a.li(t0, -1).csrw(CSR.tdata2, t0); csr(CSR.tdata2, 'tdata2 after writing all ones');
  a.csrw(CSR.tdata3, t0); csr(CSR.tdata3, 'tdata3 after writing all ones');
  a.csrw(TINFO, t0); csr(TINFO, 'tinfo after writing all ones');
  for (const [name, num] of [['tcontrol', 0x7a5], ['mcontext', 0x7a8], ['mscontext', 0x7aa], ['hcontext', 0x6a8], ['scontext', 0x5a8]] as const) {
    traps(`reading ${name}`);
    a.csrr(a0, num);
  }
  // Execute triggers.
  arm(T2 | M | EXEC, 'x1');
  traps('type 2 M execute', 'x1');
  a.label('x1').addi(a0, zero, 1);
  arm(T6 | M | EXEC, 'x2');
  traps('type 6 M execute', 'x2');
  a.label('x2').addi(a0, zero, 2);
  arm(T6 | U | S | EXEC, 'x3');
  a.label('x3').addi(a0, zero, 3); // U and S only: no breakpoint in M
  print('after a U/S execute trigger in M');
  // Load triggers (size any: QEMU 7.2 watches 8 bytes), at DATA + 4.
  arm(T2 | M | LOAD, DATA + 4);
  a.lw(a0, 0, s2); // bytes 0-3
  traps('ld overlapping', DATA); a.ld(a0, 0, s2);
  traps('lb at +7', DATA + 7); a.lb(a0, 7, s2);
  traps('lb at +11', DATA + 11); a.lb(a0, 11, s2);
  a.lb(a0, 12, s2);
  a.sw(zero, 4, s2); // a store: no
  arm(T2 | (1n << 16n) | M | LOAD, DATA + 4); // 1 byte
  a.lb(a0, 5, s2);
  traps('lw over a 1-byte trigger', DATA + 4); a.lw(a0, 4, s2);
  // Store triggers (mcontrol6, 8 bytes) at DATA + 8.
  arm(T6 | (5n << 16n) | M | STORE, DATA + 8);
  a.sd(t0, 0, s2);
  a.li(t0, 0x77);
  traps('sd at +8', DATA + 8); a.sd(t0, 8, s2);
  a.ld(a0, 8, s2); print('the store that hit did not happen');
  a.addi(s1, s2, 8);
  traps('amoadd.w on a store trigger', DATA + 8); a.amo('add', 'w', a0, t0, s1);
  arm(T6 | (5n << 16n) | M | LOAD, DATA + 8);
  traps('amoadd.d on a load trigger', DATA + 8); a.amo('add', 'd', a0, t0, s1);
  // A load trigger with only S set does not match an M-mode load with MPRV = 1, MPP = S: the
  // load is an S-mode access that PMP (no entries) refuses.
  arm(T6 | S | LOAD, DATA + 8);
  a.li(t0, MS.MPRV | MS.MPP_S).csrs(CSR.mstatus, t0);
  traps('MPRV load as S, trigger with S only');
  a.ld(a0, 8, s2);
  a.li(t0, MS.MPRV).csrc(CSR.mstatus, t0);
  // Both triggers at once: trigger 1 on execute, trigger 0 (from above) on S loads only.
  a.li(t0, 1).csrw(CSR.tselect, t0);
  arm(T2 | M | EXEC, 'x4');
  traps('trigger 1 execute', 'x4');
  a.label('x4').addi(a0, zero, 4);
  a.li(t0, T2).csrw(CSR.tdata1, t0);
  a.label('x5').addi(a0, zero, 5);
  print('after disarming');
  a.li(t0, TEST_DEV).li(t1, 0x5555).sw(t1, 0, t0).label('hang').j('hang');
  // Trap handler: print mcause, mtval, mepc; return past the instruction (uses a0, t1-t3, t6).
  a.align(4).label('handler').csrw(CSR.mscratch, ra);
  a.csrr(a0, CSR.mcause).jal(ra, 'puthex').csrr(a0, CSR.mtval).jal(ra, 'puthex').csrr(a0, CSR.mepc).jal(ra, 'puthex');
  a.csrr(t6, CSR.mepc).addi(t6, t6, 4).csrw(CSR.mepc, t6).csrr(ra, CSR.mscratch).mret();
  // a0 as 16 hex digits and a newline.
  a.label('puthex').li(t2, 60);
  a.label('digit').srl(t3, a0, t2).andi(t3, t3, 15).addi(t3, t3, 48).li(t1, 58).blt(t3, t1, 'put').addi(t3, t3, 39);
  a.label('put').sb(t3, 0, s0).addi(t2, t2, -4).bge(t2, zero, 'digit');
  a.li(t3, 10).sb(t3, 0, s0).ret();
  return a;
}

let version: string | null = null;
beforeAll(() => { version = qemuVersion(); });

describe('Sdtrig vs QEMU 7.2', () => {
  it('the trigger CSRs and the breakpoints they raise print the same, except mtval (QEMU 7.2: 0)', async () => {
    expect(version, 'qemu-system-riscv64 is needed (apt-get install qemu-system-misc)').toBe('7.2');
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-trig-'));
    try {
      const asm = program();
      const path = join(dir, 'trig.elf');
      writeFileSync(path, elf(asm.assemble(), RAM_BASE));
      const q = await runQemu({ kernel: path, bios: 'none', timeoutMs: 60_000 });
      expect(q.timedOut).toBe(false);
      const m = new Machine({ ramSize: 256 * 1024 * 1024, harts: 1, bios: 'none', kernel: { name: 'trig.elf', bytes: new Uint8Array(readFileSync(path)) } });
      const chunks: Buffer[] = [];
      m.onConsole = (b) => void chunks.push(Buffer.from(b));
      expect(new Scheduler(m, { maxInsns: 1_000_000 }).runToEnd().kind).toBe('poweroff');
      const ql = q.console.replace(/\r\n/g, '\n').split('\n');
      const hl = Buffer.concat(chunks).toString('latin1').split('\n');
      expect(hl.length).toBe(lines.length + 1);
      const bad: string[] = [];
      let k = 0;
      for (let i = 0; i < lines.length; i++) {
        if (lines[i]!.endsWith(': mtval') && hl[i - 1] === '0000000000000003') {
          const t = tvals[k++]!;
          const want = (typeof t === 'string' ? asm.addr(t) : t).toString(16).padStart(16, '0');
          if (ql[i] !== '0000000000000000') bad.push(`${lines[i]}: QEMU 7.2 ${ql[i]} (expected 0)`);
          if (hl[i] !== want) bad.push(`${lines[i]}: hvtrace ${hl[i]}, the matched address is ${want}`);
          continue;
        }
        if (ql[i] !== hl[i]) bad.push(`${lines[i]}: qemu ${ql[i]} hvtrace ${hl[i]}`);
      }
      expect(bad).toEqual([]);
      expect(k).toBe(tvals.length);
      expect(k).toBeGreaterThanOrEqual(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
