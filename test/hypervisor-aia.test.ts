/**
 * The built-in hypervisor with --aia aplic-imsic (issue 16): guests' external interrupts arrive
 * through IMSIC guest interrupt files, not hvip.VSEIP.
 *
 *  - Linux 6.12 (guests/build/linux-6.12, with the IMSIC and APLIC-MSI drivers) as a guest probes
 *    its IMSIC (vsiselect/vsireg/vstopei) and its APLIC in MSI mode, and its UART input and output
 *    interrupts arrive as MSIs into the vCPU's guest file: msi events to that file, VS-level
 *    external interrupts taken in the guest, no VM exit delivering them; with 4 vCPUs on 2 harts
 *    its IPIs are MSIs to the other vCPUs' guest files and a waiting vCPU is woken by SGEI.
 *  - the guest device tree, the vAPLIC's translation of targets and genmsi, the placement checks;
 *  - record + replay of the Linux guest match, and the CLI defaults --aia-guests.
 *
 * Guests run on the compiled engine loaded with Node's own loader (as hypervisor.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as MachineModule from '../src/board/machine.js';
import type * as SchedulerModule from '../src/sched/scheduler.js';
import type * as ReplayerModule from '../src/replay/replayer.js';
import type * as ConfigModule from '../src/hypervisor/config.js';
import type * as FdtModule from '../src/devices/fdt.js';
import type * as VaplicModule from '../src/hypervisor/vaplic.js';
import type { HartObserver, VmExitRecord } from '../src/hart/observer.js';
import type { MachineConfig, HaltInfo } from '../src/board/machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const LINUX612 = `${ROOT}guests/build/linux-6.12/Image`;
const MiB = 1024 * 1024;

const req = createRequire(import.meta.url);
const { Machine } = req(`${ROOT}dist/board/machine.js`) as typeof MachineModule;
const { Scheduler } = req(`${ROOT}dist/sched/scheduler.js`) as typeof SchedulerModule;
const { replay, seek } = req(`${ROOT}dist/replay/replayer.js`) as typeof ReplayerModule;
const { guestDtb, guestIsa } = req(`${ROOT}dist/hypervisor/config.js`) as typeof ConfigModule;
const { parseDtb, fdtGetProp, fdtU32s, fdtStrings } = req(`${ROOT}dist/devices/fdt.js`) as typeof FdtModule;
const { VirtAplic } = req(`${ROOT}dist/hypervisor/vaplic.js`) as typeof VaplicModule;

interface Run {
  halt: HaltInfo;
  text: string;
  exits: VmExitRecord[];
  /** [sender hart, target hart, file, eiid] per MSI. */
  msis: [number, number, number, number][];
  /** Interrupts taken: [hart, cause, toVirt]. */
  irqs: [number, number, boolean][];
  /** Traced accesses to the trapped vAPLIC and the physical APLIC S domain. */
  aplic: { device: string; pa: number; write: boolean; value: bigint }[];
}

function run(cfg: MachineConfig, input: string, maxInsns = 3_000_000_000): Run {
  const r: Run = { halt: null as unknown as HaltInfo, text: '', exits: [], msis: [], irqs: [], aplic: [] };
  const observer: HartObserver = {
    trap(h, cause, interrupt, _epc, _tval, _fp, _tp, _fv, toVirt) { if (interrupt) r.irqs.push([h.id, cause, toVirt]); },
    trapReturn() {}, irqLine() {}, hartState() {}, csrWrite() {}, sbiCall() {},
    mmio(_h, device, pa, _size, value, write) { if (device.includes('aplic')) r.aplic.push({ device, pa, write, value }); },
    vmExit(_h, e) { r.exits.push(e); },
    msi(h, target, file, eiid) { r.msis.push([h.id, target, file, eiid]); },
  };
  const m = new Machine({ ...cfg, observer });
  const out: number[] = [];
  m.onConsole = (b) => { for (const x of b) out.push(x); };
  const s = new Scheduler(m, { maxInsns });
  s.addInput(new TextEncoder().encode(input), 0);
  r.halt = s.runToEnd();
  r.text = Buffer.from(out).toString('latin1');
  return r;
}

const linux = (): { name: string; bytes: Uint8Array } => ({ name: 'guests/build/linux-6.12/Image', bytes: new Uint8Array(readFileSync(LINUX612)) });
const itLinux = existsSync(LINUX612) ? it : it.skip;

/** The S-level IMSIC file number of guest file g in msi events (0 M, 1 S, 1 + g guest g). */
const GUEST_FILE = (g: number): number => 1 + g;

describe('Linux 6.12 as a guest with --aia aplic-imsic', () => {
  itLinux('1 vCPU: IMSIC and APLIC-MSI drivers probe, UART interrupts arrive as MSIs into guest file 1, no VM exit delivers them, init PASS', () => {
    const r = run({
      ramSize: 400 * MiB, harts: 1, bios: 'builtin', aia: { mode: 'aplic-imsic', guests: 1 },
      guests: [{ image: linux(), vcpus: 1, memSize: 128 * MiB, append: 'console=ttyS0 hvtrace.ask' }],
    }, 'hello hvtrace\n');
    expect(r.text).toContain('riscv-intc: 64 local interrupts mapped using AIA');
    expect(r.text).toContain('riscv-imsic: imsics@28000000:  hart-index-bits: 0,  guest-index-bits: 0');
    expect(r.text).toContain('riscv-aplic d000000.aplic: 96 interrupts forwarded to MSI base 0x0000000028000000');
    expect(r.text).toContain("hvtrace-init: got 'hello hvtrace'");
    expect(r.text).toContain('hvtrace-init: PASS');
    expect(r.halt.kind, r.text.slice(-2000)).toBe('poweroff');

    // The UART's MSIs: from the physical APLIC S domain into hart 0's guest file 1, one EIID.
    const toGuest = r.msis.filter(([, t, f]) => t === 0 && f === GUEST_FILE(1));
    expect(toGuest.length).toBeGreaterThan(100);
    expect(r.msis.every(([, t, f]) => t === 0 && f === GUEST_FILE(1))).toBe(true); // nothing to the host's own files
    expect(new Set(toGuest.map((m) => m[3])).size).toBe(1);
    // ... taken by the guest as VS-level external interrupts (cause 10 at the hart, V = 1)...
    const vsei = r.irqs.filter(([, c, v]) => c === 10 && v);
    expect(vsei.length).toBeGreaterThan(100);
    // ... with no VM exit for an interrupt: no host external interrupt, no SGEI while it runs.
    expect(r.irqs.some(([, c]) => c === 9 || c === 12)).toBe(false);
    expect(r.exits.filter((e) => e.reason === 'external_irq')).toEqual([]);
    // The only device exits are the guest's APLIC register accesses (driver setup, level EOIs).
    const mmioExits = r.exits.filter((e) => e.reason === 'mmio_load' || e.reason === 'mmio_store');
    expect(mmioExits.every((e) => e.detail >= 0x0d00_0000n && e.detail < 0x0d00_8000n)).toBe(true);
    expect(mmioExits.length).toBeLessThan(toGuest.length);
    // The vAPLIC wrote the UART's (source 10) physical target: hart 0, guest index 1, the EIID.
    const eiid = toGuest[0]![3];
    const t10 = r.aplic.filter((a) => a.device === 'aplic-s' && a.write && a.pa === 0x0d00_3004 + 9 * 4);
    expect(t10.at(-1)?.value).toBe(BigInt((0 << 18) | (1 << 12) | eiid));
  }, 300_000);

  itLinux('4 vCPUs on 2 harts: IPIs are MSIs between guest files, SGEI wakes waiting vCPUs, init PASS', () => {
    const r = run({
      ramSize: 400 * MiB, harts: 2, bios: 'builtin', aia: { mode: 'aplic-imsic', guests: 2 },
      guests: [{ image: linux(), vcpus: 4, memSize: 128 * MiB, append: 'console=ttyS0 hvtrace.ask' }],
    }, 'hello hvtrace\n');
    expect(r.text).toContain('smp: Brought up 1 node, 4 CPUs');
    expect(r.text).toContain('hvtrace-init: smp: work ran on 4 cpu(s)');
    expect(r.text).toContain("hvtrace-init: got 'hello hvtrace'");
    expect(r.text).toContain('hvtrace-init: PASS');
    expect(r.halt.kind, r.text.slice(-2000)).toBe('poweroff');
    // vCPU i on hart i mod 2, file 1 + floor(i / 2): every one of the four files gets MSIs.
    for (const [hart, g] of [[0, 1], [1, 1], [0, 2], [1, 2]] as const) {
      expect(r.msis.some(([, t, f]) => t === hart && f === GUEST_FILE(g)), `hart ${hart} guest file ${g}`).toBe(true);
    }
    // MSIs a hart sends to another hart's guest file: guest IPIs (stores to the guest's IMSIC page).
    expect(r.msis.some(([s, t]) => s !== t)).toBe(true);
    // SGEI (cause 12) reached the hypervisor in HS-mode: an MSI for a waiting vCPU.
    expect(r.irqs.filter(([, c, v]) => c === 12 && !v).length).toBeGreaterThan(10);
    expect(r.irqs.some(([, c]) => c === 9)).toBe(false);
  }, 300_000);
});

describe('the guest machine with --aia aplic-imsic', () => {
  it('device tree: S-level APLIC in MSI mode and one IMSIC page per vCPU, no PLIC, CLINT or M-level AIA; ISA with Ssaia', () => {
    const img = { name: 'x', bytes: new Uint8Array(64) };
    const hostIsa = 'rv64imafdch_zicsr_zifencei_zihintpause_zicntr_zba_zbb_zbc_zbs_smaia_ssaia_sstc';
    const tree = parseDtb(guestDtb({ image: img, vcpus: 3, memSize: 64 * MiB }, 0x9000_0000, hostIsa, undefined, true));
    const soc = tree.root.children.find((n) => n.name === 'soc')!;
    const names = soc.children.map((n) => n.name);
    expect(names).toContain('aplic@d000000');
    expect(names).toContain('imsics@28000000');
    expect(names.filter((n) => /^(plic|clint)@|^aplic@c000000|^imsics@24000000/.test(n))).toEqual([]);
    const imsic = soc.children.find((n) => n.name === 'imsics@28000000')!;
    expect(fdtU32s(fdtGetProp(imsic, 'reg')!)).toEqual([0, 0x2800_0000, 0, 3 * 0x1000]);
    expect(fdtGetProp(imsic, 'riscv,guest-index-bits')).toBeUndefined();
    const aplic = soc.children.find((n) => n.name === 'aplic@d000000')!;
    expect(fdtU32s(fdtGetProp(aplic, 'msi-parent')!)).toEqual(fdtU32s(fdtGetProp(imsic, 'phandle')!));
    const cpu0 = tree.root.children.find((n) => n.name === 'cpus')!.children.find((n) => n.name === 'cpu@0')!;
    expect(fdtStrings(fdtGetProp(cpu0, 'riscv,isa')!)[0]).toBe(guestIsa(hostIsa));
    expect(guestIsa(hostIsa)).toBe('rv64imafdc_zicsr_zifencei_zihintpause_zicntr_zba_zbb_zbc_zbs_ssaia_sstc');
  });

  it('the vAPLIC: targets name the vCPU\'s pCPU and guest file, reads give the guest its own value; genmsi writes the guest file', () => {
    const phys: [number, number][] = [];
    const injected: [number, number][] = [];
    const port = {
      physRead: (off: number) => (off === 0 ? 0x8000_0104 : 0),
      physWrite: (off: number, v: number) => { phys.push([off, v]); },
      route: (i: number) => (i < 3 ? { hart: i % 2, file: 1 + (i >> 1) } : null),
      inject: (i: number, eiid: number) => { injected.push([i, eiid]); },
    };
    const v = new VirtAplic(true);
    v.write(port, 0x3004 + 9 * 4, 4, (2 << 18) | 0x23); // source 10 -> vCPU 2, EIID 0x23
    expect(phys).toEqual([[0x3004 + 9 * 4, (0 << 18) | (2 << 12) | 0x23]]);
    expect(v.read(port, 0x3004 + 9 * 4, 4)).toBe((2 << 18) | 0x23);
    v.write(port, 0x3004, 4, (5 << 18) | 7); // no vCPU 5: EIID 0 at the physical level
    expect(phys.at(-1)).toEqual([0x3004, 0]);
    v.write(port, 0x1edc, 4, 10); // setienum: passed through
    expect(phys.at(-1)).toEqual([0x1edc, 10]);
    expect(v.read(port, 0, 4)).toBe(0x8000_0104);
    v.write(port, 0x3000, 4, (1 << 18) | 9); // genmsi to vCPU 1
    expect(injected).toEqual([[1, 9]]);
    expect(v.read(port, 0x3000, 4)).toBe((1 << 18) | 9);
    expect(v.read(port, 0x3004 + 9 * 4, 2)).toBe(0); // only aligned words
    const other = new VirtAplic(false); // another VM: no physical access
    other.write(port, 0x1edc, 4, 10);
    expect(other.read(port, 0, 4)).toBe(0);
    expect(phys).toHaveLength(3);
  });

  const hello = { name: 'hello.elf', bytes: new Uint8Array(readFileSync(`${ROOT}guests/build/hello.elf`)) };
  for (const [what, cfg, msg] of [
    ['--aia aplic (direct delivery)', { harts: 1, aia: { mode: 'aplic' as const, guests: 0 }, vcpus: 1 }, /needs --aia aplic-imsic/],
    ['too few guest files for the placement', { harts: 1, aia: { mode: 'aplic-imsic' as const, guests: 1 }, vcpus: 2 }, /needs --aia-guests 2 or more/],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(() => new Machine({ ramSize: 400 * MiB, harts: cfg.harts, bios: 'builtin', aia: cfg.aia, guests: [{ image: hello, vcpus: cfg.vcpus, memSize: 64 * MiB }] }))
        .toThrow(msg);
    });
  }
});

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hvtrace-hyp-aia-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 600_000, killSignal: 'SIGKILL', cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('record / replay of a guest with --aia aplic-imsic', () => {
  itLinux('Linux 6.12 guest: --aia-guests defaults to 1, msi events into the guest file are in the trace, replay matches', () => {
    const path = join(dir, 'linux-aia.trace');
    writeFileSync(join(dir, 'input.txt'), 'hello hvtrace\n');
    const r = cli(['record', '--guest', LINUX612, '--guest-append', 'console=ttyS0 hvtrace.ask', '--aia', 'aplic-imsic',
      '--input', join(dir, 'input.txt'), '-o', path, '-q', '--checkpoint-every', '20M', '--digest-every', '5M']);
    expect(r.stderr).toBe('');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('hvtrace-init: PASS');
    const db = new Database(path, { readonly: true });
    const cfg = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'config'").pluck().get() as string);
    const guestMsis = Number(db.prepare('SELECT count(*) FROM msis WHERE target = 0 AND file = 2').pluck().get());
    const allMsis = Number(db.prepare('SELECT count(*) FROM msis').pluck().get());
    const irqExits = Number(db.prepare("SELECT count(*) FROM vm_exits WHERE reason = 4").pluck().get());
    db.close();
    expect(cfg.machine.aia).toEqual({ mode: 'aplic-imsic', guests: 1 });
    expect(guestMsis).toBeGreaterThan(100);
    expect(allMsis).toBe(guestMsis);
    expect(irqExits).toBe(0);

    const rep = replay(path);
    expect(rep.issues).toEqual([]);
    expect(rep.status).toBe('match');
    expect(rep.events.matched).toBe(rep.events.expected);
    expect(rep.events.matched).toBeGreaterThan(10_000);
    expect(rep.digests.compared).toBe(rep.digests.stored);
    expect(rep.digests.compared).toBeGreaterThan(5);

    // From a checkpoint: the vAPLIC, the guest files and hgeie/VGEIN come back with it.
    const sk = seek(path, '50000000', { events: 0 });
    expect(sk.divergence).toBeNull();
    expect(sk.checkpoint).not.toBeNull();
    expect(sk.totalInstructions).toBe(50_000_000);
  }, 900_000);

  it('rejects --guest with --aia aplic in one line', () => {
    const r = cli(['run', '--guest', 'guests/build/hello.elf', '--aia', 'aplic']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hvtrace: --guest with --aia needs --aia aplic-imsic/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
