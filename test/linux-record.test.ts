/**
 * Record and replay Linux boots (issue 5): for every row of CONFIGS, `hvtrace record` boots the
 * bundled Linux 6.1 Image (guests/build/linux/Image) to its init's verdict and a clean poweroff,
 * `hvtrace replay` re-runs the trace with zero divergences (every event, every state digest, the
 * end, the console), and `hvtrace replay --to pc:SYMBOL` lands on kernel symbols taken from the
 * System.map next to the Image (found automatically: src/image/symbols.ts) and shows the
 * machine there: the pc is the symbol's address, the hart is in S-mode.
 *
 * Everything goes through the built CLI, as users run it. The symbol addresses are read from
 * System.map here, independently of the code under test. The CLI runs are queued when the file
 * starts (record, then replay and the seeks of that trace) and run up to one per core, so the rows
 * overlap; each test awaits its run and checks it.
 *
 * Linux as the guest of the built-in hypervisor (`--guest Image`, 1 and 4 vCPUs) is recorded and
 * replayed the same way; its positions land in the guest (priv VS: the pc is the guest-virtual
 * address of the symbol), and `hvtrace events` names and disassembles guest pcs with the guest
 * kernel's System.map: the ecall of every SBI call VM exit, and the guest's first trap, taken
 * before its MMU is on (a guest-physical pc).
 *
 * Adding a configuration is appending a row: its `record` machine flags, harts, the files it
 * needs, the positions to land on.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const IMAGE = 'guests/build/linux/Image';
const MAP = `${ROOT}guests/build/linux/System.map`;
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

interface Position {
  /** `replay --to` argument: `pc:SYMBOL[+OFF][#K]`, optionally `HART:pc:...`. */
  readonly to: string;
  /** The System.map symbol it names (its address + `offset` is where the hart must be). */
  readonly symbol: string;
  readonly offset?: bigint;
  /** Privilege expected there (default 1, S) and V (default false; true for a guest: VS). */
  readonly priv?: number;
  readonly virt?: boolean;
  /** The hart that must be there; 'secondary': any hart but the one that ran start_kernel. */
  readonly hart?: number | 'secondary';
  /** Also check the text view (one more seek). */
  readonly text?: boolean;
}

interface LinuxConfig {
  readonly name: string;
  /** `hvtrace record` machine flags (all but -o). */
  readonly args: readonly string[];
  /** Physical harts. */
  readonly harts: number;
  /** CPUs Linux brings up (default: harts; the vCPUs for a guest). */
  readonly cpus?: number;
  /** Event kinds the trace must have (default: all a bare boot has). */
  readonly kinds?: readonly string[];
  /** Extra `replay` arguments (e.g. `--symbols System.map` when the Linux Image is not the kernel). */
  readonly replayArgs?: readonly string[];
  /** Files the row needs; it is skipped (outside CI) when one is absent. */
  readonly needs?: readonly string[];
  /** Linux is the guest of the built-in hypervisor (VM exits and entries, guest pcs in `events`). */
  readonly guest?: boolean;
  /** Console lines the boot prints (the init's verdict is always checked). */
  readonly console?: readonly string[];
  readonly positions: readonly Position[];
}

const LINUX = ['--kernel', IMAGE, '--append', 'console=ttyS0'];
const GUEST = ['--guest', IMAGE, '--guest-append', 'console=ttyS0'];
const CONFIGS: readonly LinuxConfig[] = [
  {
    name: 'built-in SBI, 1 hart',
    args: [...LINUX, '--smp', '1'],
    harts: 1,
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel', text: true },
      { to: 'pc:start_kernel+0x2', symbol: 'start_kernel', offset: 2n },
      { to: 'pc:kernel_init', symbol: 'kernel_init' },
    ],
  },
  {
    name: 'built-in SBI, 4 harts',
    args: [...LINUX, '--smp', '4'],
    harts: 4,
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel', hart: 0 },
      { to: 'pc:smp_callin', symbol: 'smp_callin', hart: 'secondary', text: true },
      { to: '3:pc:smp_callin', symbol: 'smp_callin', hart: 3 },
    ],
  },
  {
    name: 'OpenSBI fw_jump.bin, 1 hart',
    args: [...LINUX, '--smp', '1', '--bios', FW_JUMP],
    harts: 1,
    needs: [FW_JUMP],
    console: ['OpenSBI v'],
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel' },
      { to: 'pc:kernel_init', symbol: 'kernel_init' },
    ],
  },
  {
    name: 'OpenSBI fw_jump.bin, 4 harts',
    args: [...LINUX, '--smp', '4', '--bios', FW_JUMP],
    harts: 4,
    needs: [FW_JUMP],
    console: ['OpenSBI v'],
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel' },
      { to: 'pc:smp_callin', symbol: 'smp_callin', hart: 'secondary' },
    ],
  },
  // Linux as the guest of the built-in hypervisor: its pcs are guest-virtual (priv VS). The
  // System.map next to the guest Image is found automatically, as for a bare kernel; the
  // 4-vCPU row gives it with --symbols instead. vCPU i runs on hart i (src/hypervisor/hypervisor.ts).
  {
    name: 'built-in SBI + built-in hypervisor, Linux as the guest, 1 vCPU',
    args: [...GUEST, '--vcpus', '1'],
    harts: 1,
    cpus: 1,
    guest: true,
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel', virt: true, text: true },
      { to: 'pc:kernel_init', symbol: 'kernel_init', virt: true },
    ],
  },
  {
    name: 'built-in SBI + built-in hypervisor, Linux as the guest, 4 vCPUs',
    args: [...GUEST, '--vcpus', '4', '--smp', '4'],
    harts: 4,
    cpus: 4,
    guest: true,
    replayArgs: ['--symbols', MAP],
    positions: [
      { to: 'pc:start_kernel', symbol: 'start_kernel', virt: true, hart: 0 },
      { to: 'pc:smp_callin', symbol: 'smp_callin', virt: true, hart: 'secondary', text: true },
      { to: '3:pc:smp_callin', symbol: 'smp_callin', virt: true, hart: 3 },
    ],
  },
];

/** Text symbols of the bundled System.map. */
const SYMBOLS = new Map<string, bigint>();
for (const l of readFileSync(MAP, 'latin1').split('\n')) {
  const m = /^([0-9a-f]{16}) [Tt] (\S+)$/.exec(l);
  if (m && !SYMBOLS.has(m[2]!)) SYMBOLS.set(m[2]!, BigInt(`0x${m[1]}`));
}

/** The address of `name` or `name+0xOFF` (System.map text symbols). */
function symbolAddress(sym: string | undefined): bigint {
  const m = /^([^+]+)(?:\+(0x[0-9a-f]+))?$/.exec(sym ?? '');
  const base = m ? SYMBOLS.get(m[1]!) : undefined;
  if (base === undefined) throw new Error(`not a System.map symbol: ${sym}`);
  return base + (m![2] ? BigInt(m![2]) : 0n);
}

interface CliResult { status: number | null; stdout: string; stderr: string; ms: number }

/** At most SLOTS long CLI runs at a time (HVTRACE_TEST_JOBS overrides), started in queue order. */
const SLOTS = Math.max(1, Number(process.env.HVTRACE_TEST_JOBS) || Math.min(4, availableParallelism()));
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= SLOTS) await new Promise<void>((res) => waiting.push(res));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Run the CLI; `quick` runs (info) do not wait for a slot. */
function cli(args: readonly string[], quick = false, timeoutMs = 600_000): Promise<CliResult> {
  const run = () => new Promise<CliResult>((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - t0 });
    });
  });
  return quick ? run() : slot(run);
}
function json(r: CliResult): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\n${r.stdout.slice(0, 2000)}\n${r.stderr}`);
  }
}
const hex = (v: bigint): string => `0x${v.toString(16)}`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const dir = mkdtempSync(join(tmpdir(), 'hvtrace-linux-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The runs of one row, queued at once: record (+ info), then the replay and the seeks. */
interface RowRuns {
  record: Promise<{ rec: CliResult; info: CliResult | null; text: CliResult | null }>;
  /** Guest rows: `events --kind vm_exit` and the first traps, as JSON. */
  events: Promise<{ exits: CliResult; traps: CliResult } | null>;
  replay: Promise<CliResult | null>;
  seeks: Promise<{ json: CliResult; text: CliResult | null } | null>[];
}
function queueRow(c: LinuxConfig, trace: string): RowRuns {
  const record = cli(['record', ...c.args, '-o', trace, '-q']).then(async (rec) => ({
    rec,
    info: rec.status === 0 ? await cli(['info', trace, '--json'], true) : null,
    text: rec.status === 0 ? await cli(['info', trace], true) : null,
  }));
  const ok = record.then((r) => r.rec.status === 0);
  const extra = c.replayArgs ?? [];
  const events = ok.then(async (y) => (y && c.guest ? {
    exits: await cli(['events', trace, '--kind', 'vm_exit', '--json', ...extra], true),
    traps: await cli(['events', trace, '--kind', 'trap', '--limit', '50', '--json', ...extra], true),
  } : null));
  const replay = ok.then((y) => (y ? cli(['replay', trace, '--json', ...extra]) : null));
  const seeks = c.positions.map((p) => ok.then(async (y) => (y ? {
    json: await cli(['replay', trace, '--to', p.to, '--json', '--events', '4', ...extra]),
    text: p.text ? await cli(['replay', trace, '--to', p.to, '--events', '2', ...extra]) : null,
  } : null)));
  return { record, events, replay, seeks };
}

const TIMEOUT = 900_000;

it('the positions name symbols that exist in System.map', () => {
  for (const c of CONFIGS) for (const p of c.positions) expect(SYMBOLS.has(p.symbol), `${c.name}: ${p.symbol}`).toBe(true);
});

// HVTRACE_LINUX_ROWS=REGEX runs only the rows whose name matches (the runs are queued when the
// file loads, so `vitest -t` alone would still record every row).
const ONLY = process.env.HVTRACE_LINUX_ROWS ? new RegExp(process.env.HVTRACE_LINUX_ROWS, 'i') : null;

for (const [i, c] of CONFIGS.entries()) {
  const missing = (c.needs ?? []).filter((f) => !existsSync(f));
  const unselected = ONLY !== null && !ONLY.test(c.name);
  // In CI a missing firmware is a failure (.ci/run installs it), elsewhere a skip that says why.
  const skip = unselected || (missing.length > 0 && !process.env.CI);
  const runs = skip || missing.length > 0 ? null : queueRow(c, join(dir, `linux-${i}.trace`));
  const d = skip ? describe.skip : describe;
  const why = unselected ? ' (skipped: not in HVTRACE_LINUX_ROWS)' : skip ? ` (skipped: ${missing.join(', ')} absent; apt-get install opensbi)` : '';
  d(`Linux, ${c.name}${why}`, () => {
    let recorded: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any

    it('records the boot to the init verdict and a clean poweroff', async () => {
      for (const f of c.needs ?? []) expect(existsSync(f), `${f} is needed (apt-get install opensbi)`).toBe(true);
      const { rec: r, info: infoRun, text: infoText } = await runs!.record;
      expect(r.status, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
      expect(r.stdout).toContain('hvtrace-init: PASS');
      expect(r.stdout).not.toContain('hvtrace-init: FAIL');
      expect(r.stdout).toContain(`smp: Brought up 1 node, ${c.cpus ?? c.harts} CPU`);
      for (const s of c.console ?? []) expect(r.stdout).toContain(s);
      const info = json(infoRun!);
      expect(info.status).toBe('complete');
      expect(info.exit).toMatchObject({ kind: 'poweroff', exitCode: 0 });
      expect(info.counts.instret).toHaveLength(c.harts);
      for (const n of info.counts.instret) expect(n).toBeGreaterThan(0);
      expect(info.counts.totalInstret).toBeGreaterThan(30_000_000);
      expect(info.counts.digests).toBeGreaterThan(2);
      // SBI calls are events with the built-in SBI; under OpenSBI they are ecall traps into M-mode.
      const kinds = c.kinds ?? ['trap', 'trap_return', 'csr_write', 'mmio', 'irq', 'halt', ...(c.args.includes('--bios') ? [] : ['sbi_call']),
        ...(c.guest ? ['vm_exit', 'vm_entry'] : [])];
      for (const k of kinds) expect(info.counts.byKind[k], k).toBeGreaterThan(0);
      if (c.guest) {
        const cpus = c.cpus ?? c.harts;
        expect(info.config.machine.guests).toHaveLength(1);
        expect(info.config.machine.guests[0]).toMatchObject({ vcpus: cpus, append: 'console=ttyS0', image: { name: IMAGE } });
        expect(infoText!.stdout).toContain('built-in hypervisor with 1 guest');
        expect(infoText!.stdout).toContain(`guest0:       ${IMAGE}, ${cpus} vCPU${cpus > 1 ? 's' : ''}, 128 MiB RAM, append "console=ttyS0"`);
      }
      recorded = info;
      console.log(`[linux-record] ${c.name}: recorded ${info.counts.totalInstret} instructions, ${info.counts.events} events in ${secs(r.ms)}`);
    }, TIMEOUT);

    it('replays with zero divergences (events, digests, end, console)', async () => {
      const r = await runs!.replay;
      expect(r && recorded, 'the recording failed').toBeTruthy();
      const rep = json(r!);
      expect(rep.issues, JSON.stringify(rep.issues?.[0]?.message)).toEqual([]);
      expect(r!.status).toBe(0);
      expect(rep.status).toBe('match');
      expect(rep.events.compared).toBe(recorded.counts.events);
      expect(rep.events.matched).toBe(rep.events.compared);
      expect(rep.digests.compared).toBe(rep.digests.stored);
      expect(rep.digests.stored).toBe(recorded.counts.digests);
      expect(rep.instructions.perHart).toEqual(recorded.counts.instret);
      expect(rep.end.actual).toMatchObject({ kind: 'poweroff', exitCode: 0 });
      console.log(`[linux-record] ${c.name}: replayed ${rep.events.compared} events in ${secs(r!.ms)}`);
    }, TIMEOUT);

    if (c.guest) {
      it('events names and disassembles guest pcs with the guest kernel\'s System.map', async () => {
        const ev = await runs!.events;
        expect(ev && recorded, 'the recording failed').toBeTruthy();
        const lines = (r: CliResult): any[] => { // eslint-disable-line @typescript-eslint/no-explicit-any
          expect(r.status, r.stderr).toBe(0);
          expect(r.stderr).toBe('');
          return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
        };
        // Every SBI call is a VM exit at the guest's ecall: a guest-virtual pc inside the kernel.
        const sbi = lines(ev!.exits).filter((e) => e.payload.reason === 'sbi_call');
        expect(sbi.length).toBeGreaterThan(0);
        for (const e of sbi) {
          expect(e.insn, `#${e.seq}`).toBe('ecall');
          expect(symbolAddress(e.symbol), `#${e.seq} ${e.symbol}`).toBe(BigInt(e.pc));
          expect(e.text).toMatch(/^vm 0 vcpu \d: sbi_call /);
        }
        // The guest's first trap, before its MMU is on: a guest-physical pc in the Image, which
        // the hypervisor loads at 0x90200000; named through the link address _start has there.
        const first = lines(ev!.traps).find((e) => e.virt);
        expect(first).toBeDefined();
        const pc = BigInt(first.pc);
        expect(pc >= 0x90200000n && pc < 0x90200000n + 0x400000n, first.pc).toBe(true);
        expect(first.insn).toBeDefined();
        expect(symbolAddress(first.symbol) - SYMBOLS.get('_start')! + 0x90200000n).toBe(pc);
        console.log(`[linux-record] ${c.name}: events: ${sbi.length} SBI-call VM exits at ecall; first guest trap at ${first.pc} <${first.symbol}>`);
      }, TIMEOUT);
    }

    let bootHart = -1;
    for (const [k, p] of c.positions.entries()) {
      it(`replay --to ${p.to} lands at ${p.symbol}${p.offset ? `+${hex(p.offset)}` : ''} and shows the machine`, async () => {
        const run = await runs!.seeks[k]!;
        expect(run && recorded, 'the recording failed').toBeTruthy();
        const want = SYMBOLS.get(p.symbol)! + (p.offset ?? 0n);
        const wantSym = p.offset ? `${p.symbol}+${hex(p.offset)}` : p.symbol;
        expect(run!.json.status, run!.json.stderr).toBe(0);
        const s = json(run!.json);
        expect(s.divergence).toBeNull();
        const h = s.harts.find((x: { id: number }) => x.id === s.hart);
        expect(BigInt(h.pc)).toBe(want);
        expect(h.symbol).toBe(wantSym);
        expect(h.priv).toBe(p.priv ?? 1);
        expect(h.virt).toBe(p.virt ?? false);
        expect(h.state).toBe('running');
        expect(h.disasm.find((l: { current: boolean }) => l.current)).toMatchObject({ pc: hex(want), symbol: wantSym });
        if (typeof p.hart === 'number') expect(s.hart).toBe(p.hart);
        if (p.symbol === 'start_kernel' && !p.offset) bootHart = s.hart;
        if (p.hart === 'secondary') {
          expect(bootHart, 'needs the start_kernel position first').toBeGreaterThanOrEqual(0);
          expect(s.hart).not.toBe(bootHart);
        }
        // The text view: the position, the hart's pc with its symbol and privilege, the code.
        if (run!.text) {
          const t = run!.text;
          expect(t.status, t.stderr).toBe(0);
          expect(t.stdout).toContain(`hart ${s.hart} *: pc ${hex(want)} <${wantSym}>  priv ${p.virt ? 'V' : ''}${['U', 'S', '?', 'M'][p.priv ?? 1]}`);
          expect(t.stdout).toMatch(new RegExp(`=> ${hex(want)} <${wantSym.replace('+', '\\+')}>:`));
        }
        console.log(`[linux-record] ${c.name}: --to ${p.to} in ${secs(run!.json.ms)} (instruction ${s.totalInstructions}, hart ${s.hart})`);
      }, TIMEOUT);
    }
  });
}
