/**
 * AIA against QEMU 7.2 (issue 16). The bundled Linux 6.1 has no APLIC or IMSIC driver (they
 * arrived in Linux 6.10); guests/build/linux-6.12 has them (the Linux 6.12 tests at the end).
 *
 *  - guests/aia-test (a bare-metal M-mode program, --bios none) programs the APLIC and the IMSICs
 *    at M and S level -- MSI mode: sourcecfg/target -> IMSIC eip/eie, claims through mtopei and
 *    stopei, genmsi, CPU-written MSIs, eithreshold; direct mode: IDCs, claimi, ithreshold,
 *    iforce; the UART's THR-empty interrupt delegated to the S domain -- and prints the order of
 *    its claims, the claims per identity and register read-backs. Its console on hvtrace must be
 *    byte-identical to QEMU's for `-M virt,aia=aplic`, `aia=aplic-imsic` and `aia-guests=3`, and
 *    its trap sequence (cause and epc of every exception and interrupt) identical to QEMU's
 *    `-icount shift=0 -d int`.
 *  - Debian's OpenSBI (which drives the APLIC and IMSIC) with the bundled Linux 6.1 and
 *    --aia aplic-imsic prints the same console as QEMU (earlycon=sbi; Linux itself finds no
 *    interrupt controller for the UART on either), except the known Memory: line (QEMU's larger
 *    device tree, as test/reference/linux-vs-qemu.test.ts documents).
 *
 * Needs qemu-system-riscv64 7.2 and opensbi.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Machine, type MachineConfig } from '../../src/board/machine.js';
import { Scheduler } from '../../src/sched/scheduler.js';
import type { HartObserver } from '../../src/hart/observer.js';

const QEMU = process.env['QEMU'] ?? 'qemu-system-riscv64';
const FW_JUMP = process.env['FW_JUMP'] ?? '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const AIA_TEST = 'guests/build/aia-test.elf';
const LINUX = 'guests/build/linux/Image';

function qemu(machine: string, smp: number, args: string[]): string {
  return execFileSync(QEMU, ['-M', machine, '-smp', String(smp), '-m', '256M', '-nographic', '-no-reboot', ...args],
    { timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
}

/** (async, cause, epc) of every trap, as QEMU's -d int prints them. */
type Trap = [number, number, string];

function hvtrace(cfg: Omit<MachineConfig, 'ramSize'>): { console: string; halt: string; traps: Trap[] } {
  const traps: Trap[] = [];
  const nop = () => {};
  const observer: HartObserver = {
    trap: (_h, cause, interrupt, epc) => { traps.push([interrupt ? 1 : 0, cause, `0x${epc.toString(16)}`]); },
    trapReturn: nop, csrWrite: nop, mmio: nop, irqLine: nop, sbiCall: nop, hartState: nop,
  };
  const m = new Machine({ ramSize: 256 * 1024 * 1024, ...cfg, observer });
  const out: number[] = [];
  m.onConsole = (b) => { for (const x of b) out.push(x); };
  const halt = new Scheduler(m, { maxInsns: 3_000_000_000 }).runToEnd();
  return { console: Buffer.from(out).toString('latin1'), halt: halt.kind, traps };
}

/**
 * QEMU's trap sequence (-d int) with -icount shift=0, which takes interrupts at hvtrace's
 * boundaries. sleep=off: with the default (sleep=on) QEMU's virtual clock follows the host's
 * while every vCPU waits, so on a loaded host the 2-hart case's S-external interrupts once all
 * landed at another pc of hart 1's wait loop (0x800009d2 instead of 0x800009bc, a fresh-clone CI
 * run of session 12); hvtrace's are fixed by instruction counts.
 */
function qemuTraps(machine: string, smp: number, args: string[]): Trap[] {
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-aia-int-'));
  try {
    const log = join(dir, 'int.log');
    qemu(machine, smp, ['-icount', 'shift=0,sleep=off', '-d', 'int', '-D', log, ...args]);
    return [...readFileSync(log, 'latin1').matchAll(/async:([01]), cause:([0-9a-f]+), epc:(0x[0-9a-f]+)/g)]
      .map((m) => [Number(m[1]), Number(BigInt(`0x${m[2]}`) & 0xffn), `0x${BigInt(m[3]!).toString(16)}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows of a read-only SQL query on a trace (better-sqlite3 directly). */
function sql(trace: string, q: string, ...params: unknown[]): unknown[] {
  const db = new Database(trace, { readonly: true });
  try {
    return db.prepare(q).all(...params);
  } finally {
    db.close();
  }
}

const image = (path: string) => ({ name: path, bytes: new Uint8Array(readFileSync(path)) });

const CASES = [
  { mode: 'aplic', guests: 0, smp: 1 },
  { mode: 'aplic-imsic', guests: 0, smp: 1 },
  { mode: 'aplic-imsic', guests: 3, smp: 2 },
] as const;

describe('aia-test: bare-metal APLIC/IMSIC programming, console identical to QEMU 7.2', () => {
  for (const c of CASES) {
    it(`-M virt,aia=${c.mode}${c.guests ? `,aia-guests=${c.guests}` : ''}, ${c.smp} hart(s)`, () => {
      const q = qemu(`virt,aia=${c.mode}${c.guests ? `,aia-guests=${c.guests}` : ''}`, c.smp, ['-bios', 'none', '-kernel', AIA_TEST]);
      const h = hvtrace({ harts: c.smp, bios: 'none', kernel: image(AIA_TEST), aia: { mode: c.mode, guests: c.guests } });
      expect(h.halt).toBe('poweroff');
      expect(q).toContain('aia-test: done');
      expect(h.console).toBe(q);
      // The whole trap sequence -- illegal-instruction exceptions, every interrupt and where it
      // hit -- is QEMU's with -icount shift=0.
      const qt = qemuTraps(`virt,aia=${c.mode}${c.guests ? `,aia-guests=${c.guests}` : ''}`, c.smp, ['-bios', 'none', '-kernel', AIA_TEST]);
      expect(qt.length).toBeGreaterThan(25);
      expect(h.traps).toEqual(qt);
      // The interrupts it counted, per source / identity (the same on both, by the line above).
      const counts = Object.fromEntries([...h.console.matchAll(/^([MS])-count\[(\d+)\]=(\d+)$/gm)].map((m) => [`${m[1]}${m[2]}`, Number(m[3])]));
      if (c.mode === 'aplic') {
        expect(counts).toEqual({ M0: 1, M20: 2, M21: 2, M22: 1, S10: 18, S24: 1, S25: 1 });
      } else {
        // (No M30: the guest no longer probes setipnum on a level source with its input low, where
        // QEMU 7.2 departs from AIA §4.7 and hvtrace follows the spec; test/aplic.test.ts pins it.)
        expect(counts).toEqual({ M7: 1, M9: 1, M20: 1, M25: 1, M33: 1, M40: 1, S10: 17, S12: 1, S50: 1 });
        expect(h.console).toContain(`hgeie=0x${((2 ** (c.guests + 1) - 2) >>> 0).toString(16)}\n`);
        // With guest files: an MSI to guest file 1 -> hgeip, VSEIP, vstopi (plain, IPRIOM, VTI), vstopei.
        if (c.guests) expect(h.console).toContain('g.hgeip=0x2\ng.mip=0x400\ng.vstopi=0x90001\ng.vstopi(ipriom)=0x90006\ng.vstopei=0x60006\n');
      }
    });
  }
});

describe('Linux 6.1 with OpenSBI and --aia aplic-imsic', () => {
  const it2 = existsSync(FW_JUMP) && existsSync(LINUX) ? it : it.skip;
  it2('prints the console QEMU 7.2 prints (OpenSBI sets the AIA up; Linux 6.1 has no driver for it)', () => {
    const append = 'earlycon=sbi console=ttyS0';
    const q = qemu('virt,aia=aplic-imsic', 1, ['-bios', FW_JUMP, '-kernel', LINUX, '-append', append]);
    const h = hvtrace({ harts: 1, bios: image(FW_JUMP), kernel: image(LINUX), append, aia: { mode: 'aplic-imsic', guests: 0 } });
    expect(h.halt).toBe('poweroff');
    const norm = (s: string) => s.replace(/\r/g, '').split('\n').map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''))
      .map((l) => l.replace(/^Memory: .*$/, 'Memory: (differs: device-tree size)'));
    expect(norm(q)).toContain('Boot HART ISA Extensions  : time,aia,sstc');
    expect(norm(q)).toContain('Platform IPI Device       : aia-imsic');
    expect(norm(h.console)).toEqual(norm(q));
  });
});

/**
 * Linux 6.12 (guests/build/linux-6.12, built with the APLIC/IMSIC drivers) with OpenSBI and
 * --aia aplic-imsic, /init run with hvtrace.irqs (it prints /proc/interrupts before its verdict):
 * the riscv-imsic and riscv-aplic (MSI mode) drivers probe and the UART gets its interrupt through
 * APLIC -> IMSIC.
 *
 * One known QEMU 7.2 deviation from AIA 1.0 §4.7 shows here: its APLIC sets a level source
 * pending on the setipnum_le write Linux makes at every EOI even when the source no longer
 * asserts it, so on QEMU the UART interrupt fires with nothing to do until Linux disables it
 * ("irq 11: nobody cared" ... "Disabling IRQ #11", after 100,000 of them); from then on Linux
 * polls it every 100 ms (the spurious-IRQ poll). hvtrace follows the spec (src/devices/aplic.ts
 * setPending): no storm.
 *
 * The whole console is compared, line for line. Left out, and nothing else:
 *  - QEMU's storm report: the lines from "irq 11: nobody cared" to "Disabling IRQ #11";
 *  - in /proc/interrupts, the counts (only the counts: the rest of the line is compared) of
 *    IRQ 11, the storming UART (QEMU counts its 100,000 spurious interrupts), and of IRQ 10, the
 *    timer: QEMU's virtual time is the host's and, after the storm, its console advances only at
 *    the 100 ms polls, so more timer ticks pass before /init reads the counts;
 *  - what differs outside AIA: QEMU's rng-seed ("random: crng init done"), the measured
 *    unaligned-access ratio, and /proc/cpuinfo's marchid/mimpid (QEMU 7.2 reports 0x70216).
 *
 * And hvtrace's own count of each source, from `hvtrace stat` on the recording, equals the
 * kernel's /proc/interrupts count of it. Linux's IRQ of the APLIC-MSI domain has the APLIC source
 * as its hwirq (the column after the count); stat counts the claims (stopei) of the IMSIC identity
 * that source's target register names. The kernel counts a claim when its flow handler runs the
 * IRQ's handler: handle_fasteoi_irq does not count one that finds no handler yet or the IRQ
 * disabled, it marks it pending and masks it -- for an APLIC-MSI IRQ a clrienum write of the
 * source before the hart claims again. That happens once: the 8250's THRE test at port start-up
 * runs before its request_irq. The test finds those claims in the trace and takes them off. The timer's IRQ (RISC-V INTC hwirq 5) is the S-timer
 * interrupts taken; the IPIs (IMSIC identity 1, none on one hart) the claims of identities no
 * APLIC source names. The kernel reads its counts while /init reads the file: after its tcdrain
 * returned and before it writes the lines (the 8250's start of transmission, an IER write with
 * THRI). stat counts up to that IER write (--until), and the test checks that no interrupt is
 * taken between /init's next system call after the marker line (tcdrain) and it.
 */
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const UART_THR = 0x1000_0000, UART_IER = 0x1000_0001, IER_THRI = 2;
const STOPEI = 0x15c, APLIC_S_CLRIENUM = 0x0d00_0000 + 0x1fdc;

/** S-file claims of `eiid` up to `until` that were masked before the next claim (clrienum of `source`): not handled. */
function maskedClaims(trace: string, eiid: number, source: number, until: number): number[] {
  const claims = sql(trace, `SELECT seq, b FROM events WHERE kind = 'csr_write' AND a = ${STOPEI} AND seq <= ? ORDER BY seq`, until) as { seq: number; b: number }[];
  const clr = (sql(trace, `SELECT seq FROM events WHERE kind = 'mmio' AND a = ${APLIC_S_CLRIENUM} AND (c & 256) <> 0 AND b = ?`, source) as { seq: number }[]).map((r) => r.seq);
  return claims.filter((c, i) => c.b >> 16 === eiid && clr.some((x) => x > c.seq && x < (claims[i + 1]?.seq ?? until + 1))).map((c) => c.seq);
}

interface IrqLine { irq: string; count: number; rest: string }
/** The /proc/interrupts lines /init printed: "IRQ: COUNT REST" (one CPU). */
function procInterrupts(lines: string[]): IrqLine[] {
  const a = lines.indexOf('hvtrace-init: --- /proc/interrupts ---'), b = lines.indexOf('hvtrace-init: --- end of /proc/interrupts ---');
  expect(a).toBeGreaterThan(0);
  expect(b).toBeGreaterThan(a + 2);
  return lines.slice(a + 2, b).map((l) => {
    const m = /^\s*(\w+):\s+(\d+)\s+(.*)$/.exec(l);
    expect(m, l).not.toBeNull();
    return { irq: m![1]!, count: Number(m![2]), rest: m![3]! };
  });
}

describe('Linux 6.12 with the APLIC-MSI and IMSIC drivers, --aia aplic-imsic', () => {
  const LINUX612 = 'guests/build/linux-6.12/Image';
  const it3 = existsSync(FW_JUMP) && existsSync(LINUX612) ? it : it.skip;
  it3('probes riscv-imsic and riscv-aplic; console = QEMU 7.2\'s but for its interrupt storm; per-source counts = the kernel\'s', () => {
    const append = 'console=ttyS0 hvtrace.irqs';
    const q = qemu('virt,aia=aplic-imsic', 1, ['-bios', FW_JUMP, '-kernel', LINUX612, '-append', append]);
    const dir = mkdtempSync(join(tmpdir(), 'hvtrace-aia-linux-'));
    try {
      const trace = join(dir, 'linux612.trace');
      const hConsole = execFileSync(process.execPath, [CLI, 'record', '-q', '-o', trace, '--checkpoint-every', '0', '-m', '256M',
        '--bios', FW_JUMP, '--kernel', LINUX612, '--append', append, '--aia', 'aplic-imsic'],
      { timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] }).toString('latin1');
      const lines = (s: string): string[] => s.replace(/\r/g, '').split('\n').map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''));
      const norm = (s: string): string[] => {
        const out: string[] = [];
        let inStorm = false, inIrqs = false;
        for (const l of lines(s)) {
          if (l.startsWith('irq 11: nobody cared')) { inStorm = true; continue; }
          if (inStorm) { if (l === 'Disabling IRQ #11') inStorm = false; continue; }
          if (l === 'random: crng init done') continue;
          if (l === 'hvtrace-init: --- /proc/interrupts ---') inIrqs = true;
          if (l === 'hvtrace-init: --- end of /proc/interrupts ---') inIrqs = false;
          out.push((inIrqs ? l.replace(/^( *1[01]:) +\d+ /, '$1 (count) ') : l)
            .replace(/Ratio of byte access time to unaligned word access is [\d.]+/, 'Ratio (measured)')
            .replace(/^(marchid|mimpid)\t\t: 0x[0-9a-f]+$/, '$1: (QEMU 7.2 reports 0x70216)'));
        }
        return out;
      };
      // QEMU 7.2's deviation is still there (if a QEMU update fixes it, the exclusions can go).
      expect(q).toContain('irq 11: nobody cared');
      expect(hConsole).not.toContain('nobody cared');
      const nq = norm(q), nh = norm(hConsole);
      expect(nq).toContain('riscv-aplic d000000.aplic: 96 interrupts forwarded to MSI base 0x0000000028000000');
      expect(nq).toContain('riscv-imsic: imsics@28000000: total 254 interrupts available');
      expect(nq).toContain('hvtrace-init: PASS');
      expect(nq.filter((l) => l.includes('(count)'))).toHaveLength(2);
      expect(nh).toEqual(nq);
      expect(hConsole).toContain('reboot: Power down');

      // The kernel's counts, and hvtrace's per source at the moment the kernel read them.
      const kernel = procInterrupts(lines(hConsole));
      const qemuCounts = procInterrupts(lines(q));
      const thr = sql(trace, `SELECT seq, b FROM events WHERE kind = 'mmio' AND a = ${UART_THR} AND (c & 256) <> 0 ORDER BY seq`) as { seq: number; b: number }[];
      const sent = Buffer.from(thr.map((r) => r.b)).toString('latin1');
      const marker = sent.indexOf('hvtrace-init: --- /proc/interrupts ---\r\n') + 'hvtrace-init: --- /proc/interrupts ---\r\n'.length;
      expect(marker).toBeGreaterThan(100);
      const markerSent = thr[marker - 1]!.seq;
      const startTx = (sql(trace, `SELECT min(seq) AS seq FROM events WHERE kind = 'mmio' AND a = ${UART_IER} AND (c & 256) <> 0 AND (b & ${IER_THRI}) <> 0 AND seq > ?`, markerSent)[0] as { seq: number }).seq;
      const tcdrain = (sql(trace, "SELECT min(seq) AS seq FROM events WHERE kind = 'trap' AND a = 8 AND seq > ?", markerSent)[0] as { seq: number }).seq;
      expect(tcdrain).toBeLessThan(startTx);
      expect(sql(trace, "SELECT count(*) AS n FROM events WHERE kind = 'trap' AND a < 0 AND seq > ? AND seq < ?", tcdrain, startTx)).toEqual([{ n: 0 }]);
      const st = JSON.parse(execFileSync(process.execPath, [CLI, 'stat', trace, '--json', '--until', String(startTx)]).toString()) as {
        interruptSources: { sources: { controller: string; source: number; hart: number; to: string; eiid: number | null; claims: number; msis: number | null }[];
          msis: { eiid: number; file: number; claims: number; sources: string[] }[] };
        traps: { byCause: { cause: number; interrupt: boolean; count: number }[] };
      };
      const table: string[] = [`Linux 6.12, aplic-imsic, /proc/interrupts vs hvtrace stat --until ${startTx}:\n    IRQ  kernel  hvtrace  ${'(what stat counts)'.padEnd(71)} QEMU 7.2`];
      for (const k of kernel) {
        const qc = qemuCounts.find((x) => x.irq === k.irq)!.count;
        let ours: number, what: string;
        const aplic = /^APLIC-MSI-d000000\.aplic\s+(\d+)\s/.exec(k.rest);
        if (aplic) {
          const src = st.interruptSources.sources.find((x) => x.controller === 'aplic-s' && x.source === Number(aplic[1]))!;
          expect(src, `APLIC source ${aplic[1]}`).toBeDefined();
          const masked = maskedClaims(trace, src.eiid!, src.source, startTx);
          expect(masked).toHaveLength(1);
          ours = src.claims - masked.length;
          what = `aplic-s source ${src.source} -> hart ${src.hart} ${src.to} EIID ${src.eiid}: ${src.claims} claims - ${masked.length} masked (${src.msis} MSIs)`;
        } else if (/^RISC-V INTC\s+5\s/.test(k.rest)) {
          ours = st.traps.byCause.find((c) => c.interrupt && c.cause === 5)?.count ?? 0;
          what = 'interrupt 5 (S timer) taken';
        } else if (k.irq.startsWith('IPI')) {
          ours = k.irq === 'IPI0' ? st.interruptSources.msis.filter((x) => x.sources.length === 0).reduce((n, x) => n + x.claims, 0) : 0;
          what = k.irq === 'IPI0' ? 'claims of identities no APLIC source names (all IPIs)' : '(in IPI0\'s row)';
          if (k.irq === 'IPI0') expect(kernel.filter((x) => x.irq.startsWith('IPI')).reduce((n, x) => n + x.count, 0)).toBe(ours);
          table.push(`  ${k.irq.padStart(5)}  ${String(k.count).padStart(6)}  ${String(ours).padStart(6)} ${what.padEnd(72)} ${qc}`);
          continue;
        } else {
          throw new Error(`an IRQ the test does not know: ${k.irq}: ${k.rest}`);
        }
        table.push(`  ${k.irq.padStart(5)}  ${String(k.count).padStart(6)}  ${String(ours).padStart(6)} ${what.padEnd(72)} ${qc}`);
        expect(ours, `IRQ ${k.irq} (${k.rest})`).toBe(k.count);
      }
      console.log(table.join('\n'));
      // The UART's interrupts came through the APLIC and its IMSIC identity, and there are some.
      expect(kernel.find((k) => k.irq === '11')!.count).toBeGreaterThan(100);
      expect(qemuCounts.find((k) => k.irq === '11')!.count).toBeGreaterThanOrEqual(100_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Linux 6.12 with --aia aplic (direct delivery: the riscv-aplic driver with IDCs): boots to /init's
 * PASS on both, the whole console identical once the differences known outside AIA are taken out
 * (QEMU's rng-seed, the device-tree size, the measured unaligned-access ratio, and in
 * /proc/cpuinfo QEMU 7.2's Sv57 and its marchid/mimpid).
 */
describe('Linux 6.12 with the APLIC driver, --aia aplic', () => {
  const LINUX612 = 'guests/build/linux-6.12/Image';
  const it4 = existsSync(FW_JUMP) && existsSync(LINUX612) ? it : it.skip;
  it4('boots to init PASS with the console QEMU 7.2 prints', () => {
    const q = qemu('virt,aia=aplic', 1, ['-bios', FW_JUMP, '-kernel', LINUX612, '-append', 'console=ttyS0']);
    const h = hvtrace({ harts: 1, bios: image(FW_JUMP), kernel: image(LINUX612), append: 'console=ttyS0', aia: { mode: 'aplic', guests: 0 } });
    expect(h.halt).toBe('poweroff');
    // The kernel's last message goes straight to the UART while /init's last lines may still be
    // queued in the tty (this /init drains the console only with hvtrace.irqs): on QEMU, whose
    // UART timing follows the host's, it lands anywhere in them ('hvtrace-init: freboot: Power
    // down' was seen). It is taken out of the stream on both sides, and asserted once below.
    const powerDown = /(\[ *\d+\.\d+\] )?reboot: Power down\n/;
    const norm = (s: string): string[] => s.replace(/\r/g, '').replace(powerDown, '').split('\n').map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''))
      .filter((l) => l !== 'random: crng init done')
      .map((l) => l.replace(/^Memory: .*$/, 'Memory: (device-tree size)')
        .replace(/Ratio of byte access time to unaligned word access is [\d.]+/, 'Ratio (measured)')
        .replace(/^mmu\t\t: sv\d+$/, 'mmu: (Sv57 elsewhere in issue 16)')
        .replace(/^(marchid|mimpid)\t\t: 0x[0-9a-f]+$/, '$1: (QEMU 7.2 reports 0x70216)'));
    const nq = norm(q);
    expect(nq).toContain('riscv-aplic d000000.aplic: 96 interrupts directly connected to 1 CPUs');
    expect(nq).toContain('hvtrace-init: PASS');
    expect(norm(h.console)).toEqual(nq);
    for (const c of [q, h.console]) expect(c.replace(/\r/g, '')).toMatch(powerDown);
  });
});

/**
 * The same kernel on hvtrace's built-in SBI (no OpenSBI): the firmware's part of the AIA set-up
 * (src/firmware/aia-init.ts: sources delegated to the S domain, smsicfgaddr written, M-level
 * nodes disabled in the kernel's tree) is what makes the kernel's drivers work. Without it Linux
 * probed imsics@24000000 (-EBUSY) and the UART's MSIs went nowhere: nothing after /init.
 */
describe('Linux 6.12 on the built-in SBI with --aia', () => {
  const LINUX612 = 'guests/build/linux-6.12/Image';
  const it5 = existsSync(LINUX612) ? it : it.skip;
  const aiaLines = (s: string): string[] => s.replace(/\r/g, '').split('\n').map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''))
    .filter((l) => /^riscv-(imsic|aplic)|imsics@|aplic@/.test(l));
  it5('aplic-imsic: the IMSIC and APLIC-MSI drivers probe as under QEMU + OpenSBI, /init passes, power-off', () => {
    const h = hvtrace({ harts: 1, bios: 'builtin', kernel: image(LINUX612), append: 'console=ttyS0', aia: { mode: 'aplic-imsic', guests: 0 } });
    expect(h.halt).toBe('poweroff');
    const q = qemu('virt,aia=aplic-imsic', 1, ['-bios', FW_JUMP, '-kernel', LINUX612, '-append', 'console=ttyS0']);
    expect(aiaLines(h.console)).toEqual(aiaLines(q));
    expect(h.console).not.toContain('imsics@24000000');
    expect(h.console).toContain('hvtrace-init: PASS');
  });
  it5('aplic: the direct-mode driver probes and /init passes', () => {
    const h = hvtrace({ harts: 1, bios: 'builtin', kernel: image(LINUX612), append: 'console=ttyS0', aia: { mode: 'aplic', guests: 0 } });
    expect(h.halt).toBe('poweroff');
    expect(h.console).toContain('riscv-aplic d000000.aplic: 96 interrupts directly connected to 1 CPUs');
    expect(h.console).toContain('hvtrace-init: PASS');
  });
});
