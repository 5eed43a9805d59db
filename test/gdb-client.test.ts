/**
 * `hvtrace replay TRACE --gdb` and `hvtrace run --gdb` driven by the real gdb-multiarch (issue 11),
 * as a user runs them: the built CLI serves on an ephemeral port (127.0.0.1:0; the port is read
 * from the `target remote` line it prints on stderr) and `gdb-multiarch -nx -batch` runs a command
 * file against it. Each test is one session (one server, one gdb), on traces recorded once per
 * file in beforeAll:
 * - the bundled smp-kernel on 4 harts, with its ELF's symbols (`file smp-kernel.elf`);
 * - the bundled Linux boot on 4 harts, with addresses from its System.map;
 * - Linux as the guest of the built-in hypervisor (V = 1, guest-virtual memory);
 * - bad input from a raw TCP client (wrong checksum, unknown / malformed packets, a second client,
 *   a disconnect in the middle of a reverse-continue), with the trace's sha256 unchanged;
 * - `hvtrace run --gdb`: break, continue, a register write, Ctrl-C, detach.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const GDB = '/usr/bin/gdb-multiarch';
const SMP_ELF = `${ROOT}guests/build/smp-kernel.elf`;
const LINUX_IMAGE = `${ROOT}guests/build/linux/Image`;
const LINUX_MAP = `${ROOT}guests/build/linux/System.map`;
const haveGdb = spawnSync(GDB, ['--version']).status === 0;
const TMP = mkdtempSync(join(tmpdir(), 'hvtrace-gdb-'));

/** Servers still running when the file ends (a failed test) are stopped. */
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const p of servers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(TMP, { recursive: true, force: true });
});

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Run the CLI to completion. */
function cli(args: readonly string[], timeoutMs = 300_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A `--gdb` server started by the CLI. */
interface Server {
  readonly proc: ChildProcess;
  readonly host: string;
  readonly port: number;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Start `hvtrace ARGS --gdb 127.0.0.1:0` and wait for its `target remote` line. */
async function startServer(args: readonly string[]): Promise<Server> {
  const proc = spawn(process.execPath, [CLI, ...args, '--gdb', '127.0.0.1:0'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin!.end(); // no console input
  servers.push(proc);
  let stderr = '';
  let stdout = '';
  proc.stdout!.on('data', (d) => { stdout += d; });
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  const addr = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no target remote line: ${stderr}`)), 120_000);
    proc.stderr!.on('data', (d) => {
      stderr += d;
      const m = /target remote (\S+):(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve({ host: m[1]!, port: Number(m[2]) }); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  return {
    proc, ...addr, exited,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * gdb-multiarch in batch mode against `srv`, each command an `-ex` (an error in one does not
 * stop the next, unlike in a command file).
 */
async function gdb(srv: Server, commands: readonly string[], opts: {
  elf?: string; timeoutMs?: number; prelude?: readonly string[];
  /** Ctrl-C: SIGINT to gdb once `when()` holds (gdb then sends \x03). */
  interrupt?: { when: () => boolean };
} = {}): Promise<string> {
  const all = [
    'set pagination off',
    'set confirm off',
    'set architecture riscv:rv64',
    ...(opts.elf ? [`file ${opts.elf}`] : []),
    ...(opts.prelude ?? []),
    `target remote ${srv.host}:${srv.port}`,
    ...commands,
  ];
  // stderr into the same pipe as stdout: error messages stay in order with the output.
  const p = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', GDB, '-nx', '-batch', ...all.flatMap((c) => ['-ex', c])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const poll = opts.interrupt && setInterval(() => {
    if (opts.interrupt!.when()) {
      clearInterval(poll);
      p.kill('SIGINT');
    }
  }, 20);
  const timer = setTimeout(() => { out += '\n[gdb killed: timeout]\n'; p.kill('SIGKILL'); }, opts.timeoutMs ?? 100_000);
  await new Promise((r) => p.on('close', r));
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  return out;
}

/** Echo a marker so that outputs can be cut into the parts of each command. */
const mark = (name: string): string => `echo @@${name}@@\\n`;

function section(out: string, name: string): string {
  const start = out.indexOf(`@@${name}@@`);
  if (start < 0) return '';
  const rest = out.slice(start + name.length + 5);
  const end = rest.indexOf('@@');
  return end < 0 ? rest : rest.slice(0, end);
}

/** `info registers` lines -> name -> hex value. */
function regTable(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const r = /^(\w+)\s+(0x[0-9a-f]+)/.exec(l);
    if (r) m.set(r[1]!, r[2]!);
  }
  return m;
}

function symbolAddr(map: string, name: string): bigint {
  for (const l of readFileSync(map, 'latin1').split('\n')) {
    const [a, , n] = l.split(' ');
    if (n === name) return BigInt(`0x${a}`);
  }
  throw new Error(`${name} not in ${map}`);
}

/** A raw client: send packets, read replies (ack mode). */
class RawClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  constructor(readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((r) => sock.on('close', () => r()));
    sock.on('error', () => {});
  }

  static connect(srv: Server): Promise<RawClient> {
    return new Promise((res, rej) => {
      const s = net.connect(srv.port, srv.host, () => res(new RawClient(s)));
      s.on('error', rej);
    });
  }

  static packet(payload: string, cs?: number): string {
    let sum = 0;
    for (const ch of payload) sum = (sum + ch.charCodeAt(0)) & 0xff;
    return `$${payload}#${(cs ?? sum).toString(16).padStart(2, '0')}`;
  }

  send(raw: string): void {
    this.sock.write(raw, 'latin1');
  }

  /** Wait until the buffer matches `re`; return and consume through the match. */
  async expect(re: RegExp, ms = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m.index + m[0].length);
        return m;
      }
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; have ${JSON.stringify(this.buf.slice(0, 200))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  /** Send a packet and return its reply payload (acks skipped). */
  async ask(payload: string): Promise<string> {
    this.send(RawClient.packet(payload));
    const m = await this.expect(/\$([^#]*)#[0-9a-f]{2}/);
    this.send('+');
    return m[1]!;
  }
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!haveGdb)('gdb-multiarch on a recording of the smp-kernel (4 harts)', () => {
  const trace = join(TMP, 'smp.trace');
  let digest = '';

  beforeAll(async () => {
    const r = await cli(['record', '-q', '--kernel', SMP_ELF, '--smp', '4', '-o', trace]);
    expect(r.code, r.stderr).toBe(0);
    digest = sha256(trace);
  });

  afterAll(() => {
    if (digest) expect(sha256(trace)).toBe(digest);
  });

  it('break on a function, continue stops there; info threads lists 4 harts; thread 3 switches to hart 3; x/8i $pc', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      'break kmain', 'continue',
      mark('threads'), 'info threads',
      mark('thread3'), 'thread 3', 'p $_thread',
      mark('x8i'), 'thread 1', 'x/8i $pc',
      'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    expect(out).toMatch(/Thread 1 hit Breakpoint 1, kmain \(hartid=0/);
    const threads = section(out, 'threads');
    for (let h = 0; h < 4; h++) expect(threads).toMatch(new RegExp(`${h + 1}\\s+Thread ${h + 1} \\(hart ${h}, priv \\w+, (running|wfi|stopped)\\)`));
    expect(threads).toMatch(/\* 1\s+Thread 1 \(hart 0, priv HS, running\)/);
    expect(section(out, 'thread3')).toMatch(/\[Switching to thread 3 \(Thread 3\)\][\s\S]*\$1 = 3/);
    const x8 = section(out, 'x8i').split('\n').filter((l) => /^(=>)?\s+0x[0-9a-f]+ <kmain(\+\d+)?>:\t\S/.test(l));
    expect(x8).toHaveLength(8);
    expect(x8[0]).toMatch(/^=> 0x8020112e <kmain>:/);
    expect(out).not.toMatch(/Remote connection closed|Protocol error|\[gdb killed/);
  });

  it('info registers and p $mstatus match replay --to at the same point', async () => {
    const seek = await cli(['replay', trace, '--to', 'pc:kmain', '--json']);
    expect(seek.code, seek.stderr).toBe(0);
    const j = JSON.parse(seek.stdout) as { hart: number; harts: { id: number; pc: string; x: Record<string, string>; csrs: Record<string, string> }[] };
    const h = j.harts.find((x) => x.id === j.hart)!;
    const srv = await startServer(['replay', trace, '--to', 'pc:kmain']);
    const out = await gdb(srv, [
      mark('regs'), 'info registers', mark('mstatus'), 'p/x $mstatus', 'p/x $satp', 'p/x $mepc', 'p/x $hstatus',
      mark('csr'), 'info registers csr', mark('end'), 'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    const regs = regTable(section(out, 'regs'));
    expect(regs.get('pc')).toBe(h.pc);
    for (const [name, v] of Object.entries(h.x)) {
      if (name === 'zero') continue; // info registers leaves out x0
      const g = name === 's0' ? 'fp' : name;
      expect(regs.get(g), name).toBe(v);
    }
    const ms = section(out, 'mstatus');
    expect(ms).toContain(`$1 = ${h.csrs.mstatus}`);
    expect(ms).toContain(`$2 = ${h.csrs.satp}`);
    expect(ms).toContain(`$3 = ${h.csrs.mepc}`);
    expect(ms).toMatch(/\$4 = 0x[0-9a-f]+/);
    // info registers csr: every CSR replay --to shows, with the same value; the H ones too
    const csr = regTable(section(out, 'csr'));
    for (const [name, v] of Object.entries(h.csrs)) expect(csr.get(name), name).toBe(v);
    for (const name of ['hstatus', 'hedeleg', 'hideleg', 'hgatp', 'vsstatus', 'vsatp', 'vstvec', 'mtinst', 'mtval2', 'mhartid', 'stimecmp']) {
      expect(csr.has(name), name).toBe(true);
    }
    expect(csr.size).toBeGreaterThan(150);
  });

  it('stepi x100 then reverse-stepi x100 comes back to the same pc and registers (info all-registers)', async () => {
    const srv = await startServer(['replay', trace, '--to', 'pc:kmain']);
    const out = await gdb(srv, [
      mark('before'), 'info all-registers',
      mark('fwd'), 'stepi 100', 'p/x $pc',
      mark('back'), 'reverse-stepi 100',
      mark('after'), 'info all-registers',
      mark('end'), 'detach',
    ], { elf: SMP_ELF, timeoutMs: 110_000 });
    expect(await srv.exited).toBe(0);
    const before = regTable(section(out, 'before'));
    const after = regTable(section(out, 'after'));
    expect(before.size).toBeGreaterThan(100); // x, pc, f, CSRs, priv
    expect(before.get('pc')).toBe('0x8020112e');
    expect(section(out, 'fwd')).not.toContain('0x8020112e');
    expect([...after]).toEqual([...before]);
    expect(section(out, 'after')).toBe(section(out, 'before'));
  });

  it('watch a kernel variable: continue stops on the exact store; reverse-continue finds the previous write', async () => {
    const srv = await startServer(['replay', trace, '--to', 'pc:kmain']);
    const out = await gdb(srv, [
      'watch ping_counter',
      mark('w1'), 'continue', 'p $_thread', 'x/i $pc - 4',
      mark('w2'), 'continue', 'p $_thread', 'x/i $pc - 4',
      mark('rc'), 'reverse-continue', 'p ping_counter',
      mark('end'), 'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    const w1 = section(out, 'w1');
    expect(w1).toMatch(/hit Hardware watchpoint 1: ping_counter\s+Old value = 0\s+New value = 1/);
    // stopped right after the store: the instruction before the pc is the sc.w that wrote it
    expect(w1).toMatch(/<lrsc_inc\+6>:\tsc\.w/);
    expect(section(out, 'w2')).toMatch(/Old value = 1\s+New value = 2/);
    expect(section(out, 'w2')).toMatch(/<lrsc_inc\+6>:\tsc\.w/);
    // back across the last write (1 -> 2): gdb shows the values in the order it met them
    expect(section(out, 'rc')).toMatch(/hit Hardware watchpoint 1: ping_counter\s+Old value = 2\s+New value = 1/);
  });

  it('next, reverse-next, step, finish (gdb\'s own logic over s / bs / breakpoints); hbreak, rwatch', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      'hbreak kmain', 'continue',
      mark('n'), 'next', 'next', 'next', 'p $_thread',
      mark('rn'), 'reverse-next',
      mark('step'), 'step', 'finish',
      'delete',
      mark('rw'), 'rwatch nharts', 'continue',
      'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    expect(out).toMatch(/Thread 1 hit Breakpoint 1, kmain/);
    expect(section(out, 'n')).toMatch(/^757\s+have_dbcn = /m);
    expect(section(out, 'rn')).toMatch(/^756\s+struct sbiret ver = sbi_call/m);
    expect(section(out, 'step')).toMatch(/in sbi_call \([\s\S]*\nkmain \(hartid=0[^\n]*\n757\s/);
    expect(section(out, 'rw')).toMatch(/Hardware read watchpoint 2: nharts\s+Thread 1 hit Hardware read watchpoint 2: nharts\s+Value = 4/);
  });

  it('monitor commands: when, events, seek (with the register-cache reminder), checkpoint / restart, phys, an unknown one', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      mark('when'), 'monitor when',
      mark('events'), 'monitor events 2',
      mark('seek'), 'monitor seek pc:kmain', 'maintenance flush register-cache', 'p $pc',
      mark('ck'), 'monitor checkpoint', 'stepi 5', 'monitor restart 1', 'maintenance flush register-cache', 'p $pc',
      mark('phys'), 'monitor phys on', 'x/xw 0x80200000', 'monitor phys off',
      mark('bad'), 'monitor frobnicate',
      mark('end'), 'p 1', 'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    expect(section(out, 'when')).toMatch(/instruction 0 \(step 0\) of \d+ steps/);
    expect(section(out, 'events')).toMatch(/=>\s+\d+\s+h0/);
    expect(section(out, 'seek')).toMatch(/maintenance flush register-cache[\s\S]*<kmain>/);
    expect(section(out, 'ck')).toMatch(/checkpoint 1[\s\S]*\$2 = .*<kmain>/);
    expect(section(out, 'phys')).toMatch(/physical addresses\s+0x80200000 <_start>:\s+0x[0-9a-f]{8}\s+memory accesses now use virtual/);
    expect(section(out, 'bad')).toMatch(/unknown monitor command/);
    expect(section(out, 'end')).toContain('$3 = 1');
  });

  it('reverse-continue with no breakpoint stops at the start: "No more reverse-execution history"', async () => {
    const srv = await startServer(['replay', trace, '--to', 'pc:kmain']);
    const out = await gdb(srv, ['reverse-continue', 'p/x $pc', 'monitor when', 'detach'], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    expect(out).toMatch(/No more reverse-execution history\.\s+_start \(\)/);
    expect(out).toContain('$1 = 0x80200000');
  });

  it('unmapped memory, a breakpoint never reached, refused writes: errors, and the session goes on', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      mark('unmapped'), 'x/4xw 0x10',
      mark('mapped'), 'x/2xw 0x80200000',
      mark('write'), 'set var $a0 = 1',
      mark('memwrite'), 'set {int}0x80234018 = 5',
      mark('never'), 'break *0x1000', 'continue', 'p/x $pc',
      mark('end'), 'info threads', 'detach',
    ], { elf: SMP_ELF });
    expect(await srv.exited).toBe(0);
    expect(section(out, 'unmapped')).toMatch(/Cannot access memory at address 0x10/);
    expect(section(out, 'mapped')).toMatch(/0x80200000 <_start>:\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}/);
    expect(section(out, 'write')).toMatch(/Could not write register "a0"; remote failure reply 'E\.[^']*recording/);
    expect(section(out, 'memwrite')).toMatch(/Cannot access memory at address 0x80234018/);
    expect(section(out, 'never')).toMatch(/No more reverse-execution history/);
    expect(section(out, 'end')).toMatch(/Thread 1 \(hart 0/);
    expect(srv.stderr()).toMatch(/not written: .*recording/);
  });

  it('bad input on the wire: wrong checksum, unknown and malformed packets, a second client; the session goes on', async () => {
    const srv = await startServer(['replay', trace]);
    const c = await RawClient.connect(srv);
    c.send(RawClient.packet('qC', 0x00));
    await c.expect(/^-/);
    expect(await c.ask('qC')).toBe('QC1');
    expect(await c.ask('qNoSuchThing')).toBe('');
    expect(await c.ask('vNoSuchThing;1')).toBe('');
    expect(await c.ask('j')).toBe('');
    expect(await c.ask('mzzzz,4')).toMatch(/^E/);
    expect(await c.ask('Z0,80200000')).toMatch(/^E/);
    expect(await c.ask('vCont;q:1')).toMatch(/^E/);
    expect(await c.ask('Hg77')).toMatch(/^E/);
    expect(await c.ask('p99999')).toMatch(/^E/);
    expect(await c.ask('m0,4')).toMatch(/^E/);
    // noise between packets and a packet cut by a new '$'
    c.send('garbage$qC');
    expect(await c.ask('qfThreadInfo')).toBe('m1,2,3,4');
    // a second client is refused; the first goes on
    const second = await RawClient.connect(srv);
    await second.closed;
    expect(srv.stderr()).toMatch(/refused gdb client .*another client is attached/);
    expect(await c.ask('qC')).toBe('QC1');
    expect(await c.ask('D')).toBe('OK');
    expect(await srv.exited).toBe(0);
  });

  it('a port in use: one-line error, exit 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await cli(['replay', trace, '--gdb', `127.0.0.1:${port}`]);
    blocker.close();
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`hvtrace: cannot listen on 127.0.0.1:${port}: address already in use`]);
    const bad = await cli(['replay', trace, '--gdb', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

const haveLinux = existsSync(LINUX_IMAGE) && existsSync(LINUX_MAP);

describe.skipIf(!haveGdb || !haveLinux)('gdb-multiarch on a recording of the Linux boot (4 harts)', () => {
  const trace = join(TMP, 'linux.trace');
  let digest = '';
  const startKernel = symbolAddr(LINUX_MAP, 'start_kernel');
  const kernelInit = symbolAddr(LINUX_MAP, 'kernel_init');

  beforeAll(async () => {
    const r = await cli(['record', '-q', '--kernel', LINUX_IMAGE, '--append', 'console=ttyS0', '--smp', '4', '-o', trace]);
    expect(r.code, r.stderr).toBe(0);
    digest = sha256(trace);
  });

  afterAll(() => {
    if (digest) expect(sha256(trace)).toBe(digest);
  });

  it('breakpoints on start_kernel and kernel_init; reverse-continue from kernel_init back to start_kernel; $satp before and after the MMU', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      mark('satp0'), 'p/x $satp', 'p/x $pc',
      `break *0x${startKernel.toString(16)}`,
      `break *0x${kernelInit.toString(16)}`,
      mark('sk'), 'continue', 'p/x $pc', 'p/x $satp', 'p $priv',
      mark('ki'), 'continue', 'p/x $pc',
      mark('back'), 'reverse-continue', 'p/x $pc',
      mark('end'), 'detach',
    ], { timeoutMs: 110_000 });
    expect(await srv.exited).toBe(0);
    expect(section(out, 'satp0')).toMatch(/\$1 = 0x0\s+\$2 = 0x80200000/);
    const sk = section(out, 'sk');
    expect(sk).toMatch(new RegExp(`hit Breakpoint 1, 0x${startKernel.toString(16).padStart(16, '0')} in`));
    const satp = /\$4 = (0x[0-9a-f]+)/.exec(sk)![1]!;
    expect(BigInt(satp) >> 60n).toBeGreaterThanOrEqual(8n); // Sv39 or wider: the MMU is on
    expect(sk).toMatch(/\$5 = 1/); // S-mode (priv register, QEMU encoding)
    expect(section(out, 'ki')).toMatch(new RegExp(`hit Breakpoint 2, 0x${kernelInit.toString(16).padStart(16, '0')} in`));
    const back = section(out, 'back');
    expect(back).toMatch(new RegExp(`hit Breakpoint 1, 0x${startKernel.toString(16).padStart(16, '0')} in`));
    expect(back).toContain(`= 0x${startKernel.toString(16)}`);
  });

  it('System.map symbols through scripts/sysmap-to-elf.mjs and add-symbol-file: break start_kernel, <func+off>, data symbols', async () => {
    const elf = join(TMP, 'linux-syms.elf');
    const conv = spawnSync(process.execPath, [`${ROOT}scripts/sysmap-to-elf.mjs`, LINUX_MAP, '-o', elf], { encoding: 'utf8' });
    expect(conv.status, conv.stderr).toBe(0);
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      'break start_kernel',
      mark('bk'), 'continue', 'x/2i $pc', 'info symbol $pc + 2',
      mark('data'), 'x/gx &jiffies', 'p (long)jiffies == *(long *)&jiffies', 'x/s (char *)&linux_banner',
      'detach',
    ], { prelude: [`add-symbol-file ${elf}`], timeoutMs: 110_000 });
    expect(await srv.exited).toBe(0);
    const bk = section(out, 'bk');
    expect(bk).toMatch(new RegExp(`hit Breakpoint 1, 0x${startKernel.toString(16).padStart(16, '0')} in start_kernel \\(\\)`));
    expect(bk).toMatch(new RegExp(`=> 0x${startKernel.toString(16)} <start_kernel>:\\t\\S+`));
    expect(bk).toMatch(/<start_kernel\+2>:/);
    expect(bk).toMatch(/start_kernel \+ 2 in section \.text/);
    const data = section(out, 'data');
    expect(data).toMatch(new RegExp(`0x${symbolAddr(LINUX_MAP, 'jiffies').toString(16)} <jiffies(_64)?>:\\s+0x[0-9a-f]{16}`));
    expect(data).toContain('$1 = 1');
    expect(data).toMatch(/<linux_banner>:\s+"Linux version 6\.1/);
  });

  it('a client that disconnects in the middle of a reverse-continue: the resume is interrupted, the next client attaches', async () => {
    const srv = await startServer(['replay', trace, '--to', `pc:0x${kernelInit.toString(16)}`]);
    const a = await RawClient.connect(srv);
    expect(await a.ask('QStartNoAckMode')).toBe('OK');
    a.send(RawClient.packet('bc'));
    await new Promise((r) => setTimeout(r, 300));
    a.sock.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const b = await RawClient.connect(srv);
    const t0 = Date.now();
    expect(await b.ask('qC')).toMatch(/^QC[1-4]$/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await b.ask('D')).toBe('OK');
    expect(await srv.exited).toBe(0);
    expect(srv.stderr()).toMatch(/disconnected; waiting for the next one/);
  });

  it('Ctrl-C interrupts a reverse-continue promptly', async () => {
    const srv = await startServer(['replay', trace, '--to', `pc:0x${kernelInit.toString(16)}`]);
    const c = await RawClient.connect(srv);
    expect(await c.ask('QStartNoAckMode')).toBe('OK');
    c.send(RawClient.packet('bc'));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    c.send('\x03');
    const m = await c.expect(/\$(T[0-9a-f]{2}[^#]*)#/);
    // The goal is 0.5 s (issue 11); the bound leaves room for a machine loaded by parallel tests.
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(m[1]).toMatch(/^T02thread:[1-4];$|replaylog:begin/);
    expect(await c.ask('D')).toBe('OK');
    expect(await srv.exited).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(!haveGdb || !haveLinux)('gdb-multiarch on Linux as a guest of the built-in hypervisor', () => {
  const trace = join(TMP, 'guest.trace');
  const startKernel = symbolAddr(LINUX_MAP, 'start_kernel');

  beforeAll(async () => {
    const r = await cli(['record', '-q', '--guest', LINUX_IMAGE, '--guest-append', 'console=ttyS0', '--vcpus', '1', '-o', trace]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('stops at a guest address with V=1; $priv shows VS; x reads guest-virtual memory', async () => {
    const srv = await startServer(['replay', trace]);
    const out = await gdb(srv, [
      `break *0x${startKernel.toString(16)}`,
      mark('stop'), 'continue', 'p $priv', 'p/x $hstatus', 'p/x $vsatp',
      mark('threads'), 'info threads',
      mark('mem'), 'x/2i $pc', 'x/2xw $pc',
      mark('phys'), 'monitor phys on', 'x/2xw $pc', 'monitor phys off',
      'detach',
    ], { timeoutMs: 110_000 });
    expect(await srv.exited).toBe(0);
    const stop = section(out, 'stop');
    expect(stop).toMatch(new RegExp(`Breakpoint 1, 0x${startKernel.toString(16).padStart(16, '0')} in`));
    expect(stop).toMatch(/\$1 = 5/); // priv | V << 2: S with V = 1
    expect(section(out, 'threads')).toMatch(/\* 1\s+Thread 1 \(hart 0, priv VS, running\)/);
    const mem = section(out, 'mem');
    expect(mem).toMatch(new RegExp(`=> 0x${startKernel.toString(16)}:\\t\\S+`));
    expect(mem).not.toContain('Cannot access memory');
    // the guest-virtual kernel address is not a host-physical one
    expect(section(out, 'phys')).toMatch(/physical[\s\S]*Cannot access memory/);
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(!haveGdb)('hvtrace run --gdb', () => {
  it('starts stopped at the first instruction; break, continue, a register write, detach: the machine runs on to its end', async () => {
    const srv = await startServer(['run', '--kernel', SMP_ELF, '--smp', '4', '-q']);
    const out = await gdb(srv, [
      mark('start'), 'p/x $pc', 'info threads',
      'break kmain',
      mark('bk'), 'continue',
      mark('write'), 'p/x $t6', 'set var $t6 = 0x1234', 'p/x $t6', 'set var $a0 = 0', 'p $a0',
      mark('mem'), 'set var n_fail = 0', 'set {unsigned}&first_fail = 0x5a5a', 'p/x first_fail', 'p/x $mscratch', 'set var $mscratch = 0x77', 'p/x $mscratch',
      'delete',
      mark('detach'), 'detach',
    ], { elf: SMP_ELF });
    expect(section(out, 'start')).toMatch(/\$1 = 0x80200000[\s\S]*\* 1\s+Thread 1 \(hart 0, priv HS, running\)/);
    expect(section(out, 'bk')).toMatch(/hit Breakpoint 1, kmain \(hartid=0/);
    expect(section(out, 'write')).toMatch(/\$3 = 0x1234\s+\$4 = 0/);
    expect(section(out, 'mem')).toMatch(/\$5 = 0x5a5a\s+\$6 = 0x[0-9a-f]+\s+\$7 = 0x77/);
    expect(section(out, 'detach')).toMatch(/Inferior 1 \(Remote target\) detached/);
    // after the detach the machine runs to its end: the smp-kernel's verdict, its exit status
    expect(await srv.exited).toBe(0);
    expect(srv.stdout()).toContain('PASS');
  });

  it.skipIf(!haveLinux)('Ctrl-C in gdb interrupts a running machine (Linux booting); kill ends it', async () => {
    const srv = await startServer(['run', '--kernel', LINUX_IMAGE, '--append', 'console=ttyS0', '--smp', '2', '-q']);
    const out = await gdb(srv, [
      mark('run'), 'continue',
      mark('stopped'), 'p $_siginfo', 'info threads',
      'kill',
    ], { interrupt: { when: () => srv.stdout().includes('Linux version') } });
    expect(section(out, 'run')).toMatch(/received signal SIGINT/);
    expect(section(out, 'stopped')).toMatch(/Thread 1 \(hart 0, priv \w+, \w+\)/);
    expect(await srv.exited).toBe(0);
  });
});
