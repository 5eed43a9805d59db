/**
 * `--input-script FILE` (src/cli/input-script.ts, issue 16): input that waits for the guest.
 * Each send is queued only after its expect matched the console, at the next round, recorded as
 * ordinary input (a replay needs no script); a syntax error is one line with line and column.
 *
 * The guests: a bare-metal "login" program (M-mode, --bios none) that boots for a configurable
 * number of loop iterations, polling the UART and *discarding* whatever arrives meanwhile (as a
 * boot loader's "press any key" countdown does), then prints `login: ` and echoes one line; so
 * bytes sent before the prompt are lost and the guest says how many. Two builds of it put the
 * prompt at very different virtual times; so do the two bundled Linux kernels (6.1 and 6.12, same
 * /init), which ask for a line with hvtrace.ask.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInputScript, InputScriptDriver } from '../src/cli/input-script.js';
import { ImageError } from '../src/image/loader.js';
import { TraceReader } from '../src/trace/store.js';
import { Asm, emitPoweroff, emitPuthex, emitPuts, A0, S0, S1, T0, T1, T2, T3, UART } from './rv-asm.js';

const CLI = 'dist/cli/main.js';
const LINUX_612 = 'guests/build/linux-6.12/Image';
const LINUX = 'guests/build/linux/Image';

/** Boots for `bootLoops` x (one UART poll + 1,000 iterations of a 2-instruction loop). */
function loginGuest(bootLoops: number): Uint8Array {
  const a = new Asm();
  a.lui(S0, UART >>> 12).li(S1, 0).li(T0, bootLoops)
    .label('boot').lbu(T1, S0, 5).andi(T1, T1, 1).beqz(T1, 'none')
    .lbu(T2, S0, 0).addi(S1, S1, 1) // a byte typed too early: lost
    .label('none').li(T3, 1000).label('spin').addi(T3, T3, -1).bnez(T3, 'spin')
    .addi(T0, T0, -1).bnez(T0, 'boot')
    .la(A0, 'prompt').call('puts')
    .label('read').lbu(T1, S0, 5).andi(T1, T1, 1).beqz(T1, 'read')
    .lbu(T2, S0, 0).li(T3, 10).beq(T2, T3, 'done').sb(T2, S0, 0).j('read')
    .label('done').la(A0, 'disc').call('puts').addi(A0, S1, 0).call('puthex').la(A0, 'nl').call('puts');
  emitPoweroff(a);
  emitPuts(a);
  emitPuthex(a);
  a.string('prompt', 'booted\nlogin: ').string('disc', '\ndiscarded=').string('nl', '\n');
  return a.assemble();
}

function hvtrace(args: string[], input = '') {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hvtrace-script-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Virtual times of the prompt's console chunk and of the input deliveries in a trace. */
function times(trace: string, prompt: string): { prompt: number; inputs: number[]; queued: number[] } {
  const r = TraceReader.open(trace);
  try {
    const chunk = r.console().find((c) => Buffer.from(c.data).toString('latin1').includes(prompt));
    expect(chunk, `no console chunk with ${prompt}`).toBeDefined();
    return { prompt: Number(chunk!.vtime), inputs: r.inputs().map((i) => Number(i.vtime)), queued: r.inputQueue().map((q) => Number(q.vtime)) };
  } finally {
    r.close();
  }
}

const SCRIPT = `# log in once the guest asks
expect-timeout 2s   # virtual time
expect "login: "
send "root\\n"
`;

describe('input script syntax', () => {
  it('expect, send, expect-timeout, comments and escapes', () => {
    const steps = parseInputScript('# c\n\n  expect "a: "  # trailing\nsend "x\\n\\t\\\\\\"\\x41\\e"\nexpect-timeout 250ms\nexpect "b"\nexpect-timeout off\nexpect "ü"\n', 's');
    expect(steps).toEqual([
      { kind: 'expect', text: 'a: ', line: 3, timeout: null },
      { kind: 'send', bytes: Uint8Array.from([0x78, 10, 9, 92, 34, 0x41, 27]), line: 4 },
      { kind: 'expect', text: 'b', line: 6, timeout: 250_000_000 },
      { kind: 'expect', text: Buffer.from('ü', 'utf8').toString('latin1'), line: 8, timeout: null },
    ]);
  });

  it('a syntax error is one line naming the file, line and column', () => {
    const cases: [string, string][] = [
      ['expect "login: "\nsned "x"', 's.txt:2:1: unknown command \'sned\''],
      ['send "abc', 's.txt:1:6: unterminated string'],
      ['send "a\\qb"', 's.txt:1:8: unknown escape \'\\q\''],
      ['expect login', 's.txt:1:8: expected a "quoted string" after expect'],
      ['expect "a" "b"', 's.txt:1:12: unexpected text after the expect argument'],
      ['expect-timeout 5 s', 's.txt:1:16: expected a duration'],
      ['  expect ""', 's.txt:1:10: expect "": the text to wait for is empty'],
      ['"send"', 's.txt:1:1: expected a command'],
    ];
    for (const [text, msg] of cases) {
      let err: unknown;
      try {
        parseInputScript(text, 's.txt');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ImageError);
      expect((err as Error).message, text).toContain(msg);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('the driver queues a send only once its expect has matched, at the time it is given, across output split anywhere', () => {
    const queued: [string, number][] = [];
    const d = new InputScriptDriver(parseInputScript('send "early"\nexpect "login: "\nsend "root\\n"\nexpect "# "\nsend "ls\\n"', 's'),
      (b, t) => queued.push([Buffer.from(b).toString(), t]));
    d.start();
    expect(queued).toEqual([['early', 0]]);
    for (const [i, ch] of [...'booting...\nlog'].entries()) d.onConsole(Buffer.from(ch), 100 + i);
    expect(queued).toHaveLength(1);
    d.onConsole(Buffer.from('in: '), 5000);
    expect(queued).toEqual([['early', 0], ['root\n', 5000]]);
    expect(d.waiting).toEqual({ line: 4, text: '# ', since: 5000 });
    d.onConsole(Buffer.from('root\n# '), 9000);
    expect(queued[2]).toEqual(['ls\n', 9000]);
    expect(d.waiting).toBeNull();
  });
});

describe('--input-script', () => {
  it('sends after the prompt in two guests whose prompts come at very different virtual times; the trace replays without the script', () => {
    withDir((dir) => {
      writeFileSync(join(dir, 'login.script'), SCRIPT);
      const prompts: number[] = [];
      for (const [name, loops] of [['quick', 100], ['slow', 10_000]] as const) {
        const kernel = join(dir, `${name}.bin`);
        writeFileSync(kernel, loginGuest(loops));
        const trace = join(dir, `${name}.trace`);
        const rec = hvtrace(['record', '--bios', 'none', '--kernel', kernel, '--input-script', join(dir, 'login.script'), '-o', trace, '-q']);
        expect(rec.status, rec.stderr).toBe(0);
        // Nothing was typed before the prompt: the guest lost no byte and got the whole line.
        expect(rec.stdout).toBe('booted\nlogin: root\ndiscarded=0000000000000000\n');
        const t = times(trace, 'login: ');
        expect(t.inputs).toHaveLength(5);
        expect(Math.min(...t.queued)).toBeGreaterThan(t.prompt);
        expect(Math.min(...t.inputs)).toBeGreaterThan(t.prompt);
        prompts.push(t.prompt);
        // The bytes are ordinary recorded input: replay needs no script.
        const rep = hvtrace(['replay', trace]);
        expect(rep.status, rep.stdout + rep.stderr).toBe(0);
        // run gives the same console.
        const run = hvtrace(['run', '--bios', 'none', '--kernel', kernel, '--input-script', join(dir, 'login.script'), '-q']);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toBe(rec.stdout);
      }
      expect(prompts[1]! - prompts[0]!).toBeGreaterThan(10_000_000);
    });
  });

  it('whereas --input delivers the same bytes as soon as the guest polls: they are lost in its boot loop', () => {
    withDir((dir) => {
      const kernel = join(dir, 'slow.bin');
      writeFileSync(kernel, loginGuest(1_000));
      writeFileSync(join(dir, 'keys'), 'root\n');
      const r = hvtrace(['run', '--bios', 'none', '--kernel', kernel, '--input', join(dir, 'keys'), '--max-insns', '5000000', '-q']);
      expect(r.status).toBe(4);
      expect(r.stdout).toBe('booted\nlogin: ');
    });
  });

  it('an expect that does not appear within expect-timeout (virtual time) ends the run: exit 4 with the line; record keeps an aborted trace', () => {
    withDir((dir) => {
      const kernel = join(dir, 'login.bin');
      writeFileSync(kernel, loginGuest(100));
      writeFileSync(join(dir, 's'), 'expect "login: "\nexpect-timeout 200us\nexpect "password: "\nsend "x\\n"\n');
      const run = hvtrace(['run', '--bios', 'none', '--kernel', kernel, '--input-script', join(dir, 's'), '-q']);
      expect(run.status).toBe(4);
      expect(run.stderr).toBe(`hvtrace: input script ${join(dir, 's')}:3: "password: " did not appear within 200 us of virtual time\n`);
      const trace = join(dir, 't.trace');
      const rec = hvtrace(['record', '--bios', 'none', '--kernel', kernel, '--input-script', join(dir, 's'), '-o', trace, '-q']);
      expect(rec.status).toBe(4);
      expect(rec.stderr).toContain('"password: " did not appear within 200 us');
      const r = TraceReader.open(trace);
      try {
        expect(r.status).toBe('aborted');
        expect(r.config.input).toEqual({ source: 'script', name: join(dir, 's') });
      } finally {
        r.close();
      }
    });
  });

  it('a syntax error, a missing file, or --input with it: one line, exit 2, no trace written', () => {
    withDir((dir) => {
      const kernel = join(dir, 'login.bin');
      writeFileSync(kernel, loginGuest(10));
      writeFileSync(join(dir, 'bad'), 'expect "login: "\nsend root\n');
      writeFileSync(join(dir, 'keys'), 'x');
      const cases: [string[], RegExp][] = [
        [['--input-script', join(dir, 'bad')], /^hvtrace: .*bad:2:6: expected a "quoted string" after send\n$/],
        [['--input-script', join(dir, 'missing')], /^hvtrace: --input-script .*missing: no such file\n$/],
        [['--input-script', join(dir, 'bad'), '--input', join(dir, 'keys')], /^hvtrace: --input and --input-script exclude each other/],
      ];
      for (const [extra, msg] of cases) {
        for (const cmd of ['run', 'record']) {
          const out = join(dir, 'x.trace');
          const r = hvtrace([cmd, '--bios', 'none', '--kernel', kernel, ...extra, ...(cmd === 'record' ? ['-o', out] : [])]);
          expect(r.status, `${cmd} ${extra.join(' ')}: ${r.stderr}`).toBe(2);
          expect(r.stderr).toMatch(msg);
          expect(r.stdout).toBe('');
          expect(existsSync(out)).toBe(false);
        }
      }
      expect(readdirSync(dir).sort()).toEqual(['bad', 'keys', 'login.bin']);
    });
  });

  // Two different kernels (Linux 6.1 and 6.12, the same /init): the question comes at
  // different virtual times, and in both the answer arrives after it.
  it.runIf(existsSync(LINUX) && existsSync(LINUX_612))('drives both bundled Linux kernels: their question comes at different virtual times, the answer after it in each', () => {
    withDir((dir) => {
      writeFileSync(join(dir, 'ask.script'), 'expect-timeout 60s\nexpect "type a line and press enter"\nsend "hello from the script\\n"\nexpect "got \'hello from the script\'"\n');
      const prompts: number[] = [];
      for (const [name, kernel] of [['6.1', LINUX], ['6.12', LINUX_612]] as const) {
        const trace = join(dir, `linux-${name}.trace`);
        const rec = hvtrace(['record', '--kernel', kernel, '--append', 'console=ttyS0 hvtrace.ask', '--input-script', join(dir, 'ask.script'),
          '-o', trace, '-q', '--checkpoint-every', '0']);
        expect(rec.status, rec.stderr).toBe(0);
        expect(rec.stdout).toContain(`Linux version ${name}.`);
        expect(rec.stdout).toContain("got 'hello from the script'");
        expect(rec.stderr).toBe('');
        const t = times(trace, 'type a line');
        expect(t.prompt).toBeGreaterThan(50_000_000);
        expect(Math.min(...t.queued)).toBeGreaterThan(t.prompt);
        expect(Math.min(...t.inputs)).toBeGreaterThan(t.prompt);
        prompts.push(t.prompt);
        const rep = hvtrace(['replay', trace]);
        expect(rep.status, rep.stdout + rep.stderr).toBe(0);
      }
      // The prompts are far apart in virtual time (ns): 92.4 ms into 6.1's boot, 121.3 ms into 6.12's.
      expect(Math.abs(prompts[1]! - prompts[0]!)).toBeGreaterThan(10_000_000);
    });
  }, 240_000);
});
