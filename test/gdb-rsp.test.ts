/**
 * The gdb remote protocol side (issue 11): packet framing (src/gdb/rsp.ts), the target
 * description (src/gdb/target-xml.ts) and the stub's replies (src/gdb/stub.ts), driven packet by
 * packet against a scripted test double (test/gdb-fake-target.ts, not an emulator); then the TCP
 * server (src/gdb/server.ts) with a real `gdb-multiarch` attached to the same double, which pins
 * that gdb 13 accepts the description, the thread list and the stop replies.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  RspDecoder, checksum, encodePacket, escapeBinary, unescapeBinary, latin1, latin1String, regToHex, hexToReg, textToHex, hexToText, fromHex,
} from '../src/gdb/rsp.js';
import { buildTargetLayout } from '../src/gdb/target-xml.js';
import { GdbStub } from '../src/gdb/stub.js';
import { parseListenAddress, serveGdb, ListenError, type ServeEnd } from '../src/gdb/server.js';
import { FakeTarget, BASE, STORE_PC, WATCH_VAR } from './gdb-fake-target.js';

const GDB = '/usr/bin/gdb-multiarch';
const haveGdb = spawnSync(GDB, ['--version']).status === 0;

function pkt(s: string): string {
  return latin1String(encodePacket(s));
}

describe('rsp framing', () => {
  it('checksums and frames a packet', () => {
    expect(checksum(latin1('OK'))).toBe(0x9a);
    expect(pkt('OK')).toBe('$OK#9a');
    expect(pkt('')).toBe('$#00');
    expect(pkt('qSupported')).toBe('$qSupported#37');
  });

  it('decodes packets, acks, naks and interrupts across chunk boundaries', () => {
    const d = new RspDecoder();
    const all = [...d.feed(latin1('+$qSupp')), ...d.feed(latin1('orted#3')), ...d.feed(latin1('7-\x03$g#67'))];
    expect(all.map((e) => e.type)).toEqual(['ack', 'packet', 'nak', 'interrupt', 'packet']);
    expect(latin1String((all[1] as { payload: Uint8Array }).payload)).toBe('qSupported');
    expect(latin1String((all[4] as { payload: Uint8Array }).payload)).toBe('g');
  });

  it('reports a wrong checksum and goes on', () => {
    const d = new RspDecoder();
    const ev = d.feed(latin1('$g#00$g#67'));
    expect(ev.map((e) => e.type)).toEqual(['bad-checksum', 'packet']);
    expect(d.feed(latin1('$g#zz')).map((e) => e.type)).toEqual(['bad-checksum']);
  });

  it('a $ inside a payload restarts the packet; noise outside packets is ignored', () => {
    const d = new RspDecoder();
    expect(d.feed(latin1('xyz$qC$g#67')).map((e) => e.type)).toEqual(['packet']);
    expect(d.inPacket).toBe(false);
  });

  it('escapes and unescapes binary data', () => {
    const raw = Uint8Array.from([0x23, 0x24, 0x7d, 0x2a, 0x00, 0x41]);
    const esc = escapeBinary(raw);
    expect([...esc]).toEqual([0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a, 0x00, 0x41]);
    expect([...unescapeBinary(esc)]).toEqual([...raw]);
    // nothing escaped -> framing never contains a bare # or $ inside
    const framed = latin1String(encodePacket(esc));
    expect(framed.slice(1, -3)).not.toMatch(/[#$*]/);
  });

  it('hex helpers', () => {
    expect(regToHex(0x1122334455667788n, 8)).toBe('8877665544332211');
    expect(regToHex(-1n, 4)).toBe('ffffffff');
    expect(hexToReg('8877665544332211')).toBe(0x1122334455667788n);
    expect(hexToReg('xx')).toBeNull();
    expect(hexToText(textToHex('hart 1, priv VS'))).toBe('hart 1, priv VS');
    expect(fromHex('abc')).toBeNull();
  });
});

describe('target description', () => {
  const t = new FakeTarget('replay');
  const layout = buildTargetLayout({ hasFpu: true, csrs: t.csrs });

  it('has the four features and gdb numbering', () => {
    for (const f of ['cpu', 'fpu', 'virtual', 'csr']) expect(layout.xml).toContain(`<feature name="org.gnu.gdb.riscv.${f}">`);
    expect(layout.xml).toContain('<reg name="zero" bitsize="64" type="int" regnum="0"/>');
    expect(layout.xml).toContain('<reg name="pc" bitsize="64" type="code_ptr" regnum="32"/>');
    expect(layout.xml).toContain('<reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>');
    expect(layout.xml).toContain('<reg name="fflags" bitsize="32" type="int" regnum="66"/>');
    expect(layout.xml).toContain('<reg name="fcsr" bitsize="32" type="int" regnum="68"/>');
    expect(layout.xml).toContain('<reg name="priv" bitsize="64" type="int" regnum="4161"/>');
    expect(layout.xml).toMatch(/<reg name="satp" bitsize="64" type="int" regnum="449"/);
    expect(layout.xml).toMatch(/<reg name="hstatus" bitsize="64" type="int" regnum="1601"/);
    // fflags/frm/fcsr only once
    expect(layout.xml.match(/name="fflags"/g)).toHaveLength(1);
    expect(layout.gRegs).toHaveLength(33);
    expect(layout.regs.get(65 + 0x180)!.ref).toEqual({ kind: 'csr', csr: 0x180 });
  });

  it('without an FPU: no .fpu feature', () => {
    const l = buildTargetLayout({ hasFpu: false, csrs: [{ name: 'mstatus', num: 0x300 }, { name: '0x7c0', num: 0x7c0 }] });
    expect(l.xml).not.toContain('riscv.fpu');
    expect(l.xml).toContain('name="csr7c0"');
  });
});

/** Drive a stub directly: send packets, collect replies (in ack mode: '+' then the reply). */
class Wire {
  out = '';
  logs: string[] = [];
  readonly stub: GdbStub;
  constructor(readonly target: FakeTarget) {
    this.stub = new GdbStub(target, { write: (b) => { this.out += latin1String(b); }, log: (m) => this.logs.push(m) });
  }

  raw(s: string): void {
    this.stub.receive(latin1(s));
  }

  /** Send one packet, wait for the stub to go idle, return the packets it sent (without acks). */
  async ask(payload: string | Uint8Array): Promise<string[]> {
    this.out = '';
    this.stub.receive(encodePacket(payload));
    await this.stub.whenIdle();
    return replies(this.out);
  }
}

function replies(wire: string): string[] {
  const d = new RspDecoder();
  return d.feed(latin1(wire)).flatMap((e) => (e.type === 'packet' ? [latin1String(e.payload)] : []));
}

describe('stub', () => {
  it('qSupported advertises the features; reverse only for a replay', async () => {
    const w = new Wire(new FakeTarget('replay'));
    const [r] = await w.ask('qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vContSupported+');
    expect(r).toContain('PacketSize=4000');
    for (const f of ['qXfer:features:read+', 'swbreak+', 'hwbreak+', 'vContSupported+', 'QStartNoAckMode+', 'ReverseStep+', 'ReverseContinue+']) expect(r).toContain(f);
    const [run] = await new Wire(new FakeTarget('run')).ask('qSupported');
    expect(run).not.toContain('Reverse');
  });

  it('acks packets, NAKs a wrong checksum and goes on; QStartNoAckMode stops acks', async () => {
    const w = new Wire(new FakeTarget('replay'));
    w.out = '';
    w.raw('$g#00');
    expect(w.out).toBe('-');
    w.out = '';
    w.raw('$qC#b4');
    await w.stub.whenIdle();
    expect(w.out).toBe('+$QC1#c5');
    // a '-' from gdb: the last reply again
    w.out = '';
    w.raw('-');
    expect(w.out).toBe('$QC1#c5');
    w.out = '';
    w.raw(pkt('QStartNoAckMode'));
    await w.stub.whenIdle();
    expect(w.out).toBe('+$OK#9a');
    w.out = '';
    w.raw(pkt('qC'));
    await w.stub.whenIdle();
    expect(w.out).toBe('$QC1#c5');
  });

  it('unknown and malformed packets get the empty reply or an error, never an exception', async () => {
    const w = new Wire(new FakeTarget('replay'));
    expect(await w.ask('qFooBar')).toEqual(['']);
    expect(await w.ask('vMustReplyEmpty')).toEqual(['']);
    expect(await w.ask('!')).toEqual(['']);
    expect(await w.ask('y')).toEqual(['']);
    expect(await w.ask('')).toEqual(['']);
    expect((await w.ask('mzz,4'))[0]).toMatch(/^E/);
    expect((await w.ask('m80000000'))[0]).toMatch(/^E/);
    expect((await w.ask('pzz'))[0]).toMatch(/^E/);
    expect((await w.ask('P1=12'))[0]).toMatch(/^E/);
    expect((await w.ask('Hgzz'))[0]).toMatch(/^E/);
    expect((await w.ask('Hg9'))[0]).toMatch(/^E/);
    expect((await w.ask('Z0,zz,4'))[0]).toMatch(/^E/);
    expect(await w.ask('Z9,0,4')).toEqual(['']);
    expect((await w.ask('vCont;x'))[0]).toMatch(/^E/);
    expect((await w.ask('vCont;s:99'))[0]).toMatch(/^E/);
    expect((await w.ask('qThreadExtraInfo,0'))[0]).toMatch(/^E/);
    expect((await w.ask('qXfer:features:read:other.xml:0,100'))[0]).toMatch(/^E/);
    expect((await w.ask('qRcmd,zz'))[0]).toMatch(/^E/);
    expect((await w.ask('c80000000'))[0]).toMatch(/^E/);
    expect((await w.ask(Uint8Array.from([0x58, 0xff, 0x00, 0x7d])))[0]).toMatch(/^E/);
    expect(w.stub.sessionEnded).toBeNull();
    expect(await w.ask('qC')).toEqual(['QC1']);
  });

  it('threads: list, current, alive, extra info, Hg selects registers', async () => {
    const w = new Wire(new FakeTarget('replay'));
    expect(await w.ask('qfThreadInfo')).toEqual(['m1,2,3,4']);
    expect(await w.ask('qsThreadInfo')).toEqual(['l']);
    expect(await w.ask('T3')).toEqual(['OK']);
    expect((await w.ask('T5'))[0]).toMatch(/^E/);
    expect(hexToText((await w.ask('qThreadExtraInfo,2'))[0]!)).toBe('hart 1, priv VS, running');
    expect(hexToText((await w.ask('qThreadExtraInfo,4'))[0]!)).toBe('hart 3, priv M, wfi');
    expect(await w.ask('Hg3')).toEqual(['OK']);
    expect(await w.ask('qC')).toEqual(['QC3']);
    const [g] = await w.ask('g');
    expect(g).toHaveLength(33 * 16);
    expect(hexToReg(g!.slice(16, 32))).toBe(201n); // x1 of hart 2
    expect(await w.ask('p1')).toEqual([regToHex(201n, 8)]);
    expect(await w.ask(`p${(65 + 0xf14).toString(16)}`)).toEqual([regToHex(2n, 8)]); // mhartid
    expect(await w.ask('p42')).toEqual([regToHex(1n, 4)]); // fflags (66): 32 bits
    expect(await w.ask(`p${(65 + 4096).toString(16)}`)).toEqual([regToHex(3n, 8)]);
    expect((await w.ask('p1000'))[0]).toMatch(/^E/); // not in the description
    expect(await w.ask('Hg0')).toEqual(['OK']);
    expect(await w.ask('Hg-1')).toEqual(['OK']);
  });

  it('replay refuses writes with the reason; a live run writes', async () => {
    const w = new Wire(new FakeTarget('replay'));
    const [r] = await w.ask('P1=0100000000000000');
    expect(r).toMatch(/^E\.the replay is read-only/);
    expect(w.logs.join('\n')).toContain('read-only');
    expect((await w.ask('M80000000,2:abcd'))[0]).toMatch(/^E\./);
    expect((await w.ask(`G${'00'.repeat(33 * 8)}`))[0]).toMatch(/^E\./);
    const run = new FakeTarget('run');
    const wr = new Wire(run);
    expect(await wr.ask('P5=2a00000000000000')).toEqual(['OK']);
    expect(run.x[0]![5]).toBe(42n);
    expect(await wr.ask('M80000010,2:abcd')).toEqual(['OK']);
    expect([...run.mem.subarray(0x10, 0x12)]).toEqual([0xab, 0xcd]);
    // X with escaped binary data: 0x23 '#' and 0x7d '}'
    const x = new Uint8Array([...latin1('X80000020,3:'), ...escapeBinary(Uint8Array.from([0x23, 0x7d, 0x01]))]);
    expect(await wr.ask(x)).toEqual(['OK']);
    expect([...run.mem.subarray(0x20, 0x23)]).toEqual([0x23, 0x7d, 0x01]);
    expect(await wr.ask('X80000020,0:')).toEqual(['OK']);
    expect((await wr.ask('M10,1:00'))[0]).toMatch(/^E/);
  });

  it('memory reads: mapped -> hex, unmapped -> E14', async () => {
    const w = new Wire(new FakeTarget('replay'));
    expect(await w.ask('m80000004,4')).toEqual(['04050607']);
    expect(await w.ask('m0,4')).toEqual(['E14']);
    expect(await w.ask('mffffffffffffffff,8')).toEqual(['E14']);
    const [big] = await w.ask('m80000000,10000');
    expect(big!.length).toBeLessThanOrEqual(0x4000);
  });

  it('target.xml through qXfer, in pieces, escaped', async () => {
    const w = new Wire(new FakeTarget('replay'));
    let doc = '';
    for (let off = 0; ; ) {
      const [r] = await w.ask(`qXfer:features:read:target.xml:${off.toString(16)},200`);
      const data = latin1String(unescapeBinary(latin1(r!.slice(1))));
      doc += data;
      off += data.length;
      if (r![0] === 'l') break;
      expect(r![0]).toBe('m');
    }
    expect(doc).toBe(w.stub.targetXml);
  });

  it('stop replies: step, breakpoint (sw/hw), watchpoint, begin/end of the log', async () => {
    const t = new FakeTarget('replay');
    const w = new Wire(t);
    expect(await w.ask('?')).toEqual(['T05thread:1;']);
    expect(await w.ask('vCont?')).toEqual(['vCont;c;C;s;S']);
    expect(await w.ask('vCont;s:3;c')).toEqual(['T05thread:3;']);
    expect(t.time).toBe(3);
    expect(await w.ask(`Z0,${(BASE + 0x20n).toString(16)},4`)).toEqual(['OK']);
    expect(await w.ask('vCont;c')).toEqual([expect.stringMatching(/^T05thread:1;swbreak:;$/)]);
    expect(t.pcOf(0)).toBe(BASE + 0x20n);
    expect(await w.ask(`z0,${(BASE + 0x20n).toString(16)},4`)).toEqual(['OK']);
    expect(await w.ask(`Z1,${(BASE + 0x30n).toString(16)},4`)).toEqual(['OK']);
    expect(await w.ask('c')).toEqual(['T05thread:1;hwbreak:;']);
    expect(await w.ask(`z1,${(BASE + 0x30n).toString(16)},4`)).toEqual(['OK']);
    expect(await w.ask(`Z2,${WATCH_VAR.toString(16)},8`)).toEqual(['OK']);
    expect(await w.ask('c')).toEqual([`T05thread:1;watch:${WATCH_VAR.toString(16)};`]);
    expect(t.pcOf(0)).toBe(STORE_PC + 4n);
    expect(await w.ask('bc')).toEqual(['T05thread:1;replaylog:begin;']);
    expect(t.time).toBe(0);
    expect(await w.ask(`z2,${WATCH_VAR.toString(16)},8`)).toEqual(['OK']);
    expect(await w.ask('bs')).toEqual(['T05thread:1;replaylog:begin;']);
    expect(await w.ask('c')).toEqual(['T05thread:1;replaylog:end;']);
    expect(await w.ask('Hc2')).toEqual(['OK']);
    expect(await w.ask('bs')).toEqual(['T05thread:2;']);
    // too-large watchpoint: unsupported -> empty reply (gdb falls back)
    expect(await w.ask(`Z2,${WATCH_VAR.toString(16)},40`)).toEqual(['']);
    // a live run has no reverse execution
    expect(await new Wire(new FakeTarget('run')).ask('bc')).toEqual(['']);
  });

  it('Ctrl-C interrupts a resume: T02', async () => {
    const t = new FakeTarget('replay');
    t.slow = true;
    const w = new Wire(t);
    w.out = '';
    w.raw(pkt('vCont;c'));
    await new Promise((r) => setTimeout(r, 100));
    expect(w.stub.isResuming).toBe(true);
    w.raw('\x03');
    await w.stub.whenIdle();
    expect(replies(w.out)).toEqual(['T02thread:1;']);
    expect(t.time).toBeLessThan(1000);
  });

  it('a Ctrl-C in the same segment as the resume packet still interrupts it; one while stopped is dropped', async () => {
    const t = new FakeTarget('replay');
    t.slow = true;
    const w = new Wire(t);
    w.raw('\x03'); // stopped: nothing to interrupt, and the next resume is not affected
    w.out = '';
    w.raw(`${pkt('vCont;s:1')}`);
    await w.stub.whenIdle();
    expect(replies(w.out)).toEqual(['T05thread:1;']);
    w.out = '';
    w.raw(`${pkt('vCont;c')}\x03`);
    await w.stub.whenIdle();
    expect(replies(w.out)).toEqual(['T02thread:1;']);
    expect(t.time).toBeLessThan(100);
  });

  it('a live run that halts answers W and ends the session', async () => {
    const w = new Wire(new FakeTarget('run'));
    const r = await w.ask('c');
    expect(r[r.length - 1]).toBe('W00');
    expect(hexToText(r[0]!.slice(1))).toContain('poweroff');
    expect(await w.stub.done).toEqual({ kind: 'halted', exitCode: 0, message: 'poweroff' });
  });

  it('closing mid-resume interrupts it and ends the session', async () => {
    const t = new FakeTarget('replay');
    t.slow = true;
    t.time = 1000;
    const w = new Wire(t);
    w.raw(pkt('bc'));
    await new Promise((r) => setTimeout(r, 60));
    w.stub.close();
    await w.stub.whenIdle();
    expect(await w.stub.done).toEqual({ kind: 'disconnect' });
    expect(t.time).toBeGreaterThan(0);
  });

  it('monitor: phys handled by the stub, the rest by the target, errors printed', async () => {
    const t = new FakeTarget('replay');
    const w = new Wire(t);
    const r = await w.ask(`qRcmd,${textToHex('phys on')}`);
    expect(r[r.length - 1]).toBe('OK');
    expect(hexToText(r[0]!.slice(1))).toContain('physical');
    const when = await w.ask(`qRcmd,${textToHex('when')}`);
    expect(hexToText(when[0]!.slice(1))).toBe('time 0\n');
    expect(when[1]).toBe('OK');
    const bad = await w.ask(`qRcmd,${textToHex('frobnicate')}`);
    expect(hexToText(bad[0]!.slice(1))).toContain('unknown monitor command');
    expect(bad[1]).toBe('OK');
    expect(t.monitorCalls).toEqual(['when', 'frobnicate']);
  });

  it('breakpoints and watchpoints a client leaves behind are removed when its session ends', async () => {
    const t = new FakeTarget('replay');
    const w = new Wire(t);
    expect(await w.ask('Z0,80000020,4')).toEqual(['OK']);
    expect(await w.ask('Z0,80000020,4')).toEqual(['OK']);
    expect(await w.ask(`Z2,${WATCH_VAR.toString(16)},8`)).toEqual(['OK']);
    expect(await w.ask('Z1,80000030,4')).toEqual(['OK']);
    expect(await w.ask('z1,80000030,4')).toEqual(['OK']);
    expect(t.breaks.size).toBe(2);
    w.stub.close();
    await w.stub.whenIdle();
    expect(t.breaks.size).toBe(0);
    // and after a detach, for the run that follows it
    const w2 = new Wire(t);
    expect(await w2.ask('Z0,80000040,4')).toEqual(['OK']);
    expect(await w2.ask('D')).toEqual(['OK']);
    expect(t.breaks.size).toBe(0);
  });

  it('D detaches, k kills', async () => {
    const w = new Wire(new FakeTarget('replay'));
    expect(await w.ask('D;1')).toEqual(['OK']);
    expect(await w.stub.done).toEqual({ kind: 'detach' });
    const k = new Wire(new FakeTarget('replay'));
    expect(await k.ask('k')).toEqual([]);
    expect(await k.stub.done).toEqual({ kind: 'kill' });
  });
});

describe('stub fuzz', () => {
  it('random packets and bytes: never an exception, every packet answered (or the session ended)', async () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const heads = ['m', 'M', 'X', 'p', 'P', 'g', 'G', 'H', 'T', 'Z', 'z', 'q', 'Q', 'v', 'b', 'c', 's', 'C', 'S', '?', 'D', 'k', 'qRcmd,', 'vCont;', 'qXfer:features:read:', 'qThreadExtraInfo,', 'Hg', 'Hc', 'Z2,', 'vKill', 'qSupported:'];
    const alphabet = '0123456789abcdefABCDEF,:;=-.xp}*#$ \x03\xff';
    for (let round = 0; round < 300; round++) {
      const t = new FakeTarget(rnd(2) ? 'replay' : 'run', 1 + rnd(4));
      const w = new Wire(t);
      for (let i = 0; i < 20 && !w.stub.sessionEnded; i++) {
        let body = heads[rnd(heads.length)]!;
        const n = rnd(24);
        for (let j = 0; j < n; j++) body += alphabet[rnd(alphabet.length)]!;
        // framing characters inside a payload are the framing's business (tested above)
        body = body.replace(/[#$}*\x03]/g, '');
        if (body === 'k' || body.startsWith('D') || body.startsWith('vKill')) continue;
        const r = await w.ask(body);
        if (!w.stub.sessionEnded) expect(r.length, body).toBeGreaterThanOrEqual(1);
        if (rnd(10) === 0) w.raw(String.fromCharCode(rnd(256)));
      }
      // Only the expected notes: no exception turned into an error reply.
      for (const l of w.logs) expect(l).toMatch(/bad checksum|not written/);
    }
  });
});

describe('server', () => {
  it('parses [HOST:]PORT', () => {
    expect(parseListenAddress('1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseListenAddress(':1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseListenAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListenAddress('[::1]:99')).toEqual({ host: '::1', port: 99 });
    expect(() => parseListenAddress('x')).toThrow(ListenError);
    expect(() => parseListenAddress('70000')).toThrow(ListenError);
  });

  it('a port in use: ListenError', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    await expect(serveGdb(new FakeTarget('replay'), `127.0.0.1:${port}`, { log: () => {} })).rejects.toThrow(/address already in use/);
    blocker.close();
  });

  it('one client at a time; a second one is refused and the first goes on; disconnect waits for the next', async () => {
    const logs: string[] = [];
    let port = 0;
    const served = serveGdb(new FakeTarget('replay'), '0', { log: (m) => logs.push(m), onListening: (a) => { port = a.port; } });
    await new Promise((r) => setTimeout(r, 50));
    const talk = async (s: net.Socket, payload: string): Promise<string> => {
      const got = new Promise<string>((res) => {
        let buf = '';
        const on = (d: Buffer): void => {
          buf += d.toString('latin1');
          const ps = replies(buf);
          if (ps.length) { s.off('data', on); res(ps[0]!); }
        };
        s.on('data', on);
      });
      s.write(pkt(payload));
      return got;
    };
    const connect = (): Promise<net.Socket> => new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => res(s)); });
    const a = await connect();
    expect(await talk(a, 'qC')).toBe('QC1');
    const b = await connect();
    const bClosed = new Promise<void>((r) => b.on('close', () => r()));
    await bClosed;
    expect(logs.join('\n')).toMatch(/refused gdb client .*another client is attached/);
    expect(await talk(a, 'qfThreadInfo')).toBe('m1,2,3,4');
    a.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const c = await connect();
    expect(await talk(c, 'qC')).toBe('QC1');
    expect(await talk(c, 'D')).toBe('OK');
    const end: ServeEnd = await served;
    expect(end.kind).toBe('detach');
    expect(logs.join('\n')).toMatch(/target remote 127\.0\.0\.1:\d+/);
  });
});

/** Run gdb-multiarch in batch mode; killed after `ms` (the output so far is returned). */
async function runGdb(cmds: string[], ms = 30_000): Promise<string> {
  const r = spawn(GDB, ['-nx', '-batch', ...cmds.flatMap((c) => ['-ex', c])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  r.stdout.on('data', (d) => { out += d; });
  r.stderr.on('data', (d) => { out += d; });
  const timer = setTimeout(() => { out += '\n[gdb killed: timeout]\n'; r.kill('SIGKILL'); }, ms);
  await new Promise((res) => r.on('close', res));
  clearTimeout(timer);
  if (process.env.GDB_TEST_VERBOSE) console.log(out);
  return out;
}

describe.skipIf(!haveGdb)('real gdb-multiarch against the test double', () => {
  it('attaches, reads the description, threads, registers, memory; breaks, steps, reverses; detaches', async () => {
    const t = new FakeTarget('replay');
    const logs: string[] = [];
    let port = 0;
    const served = serveGdb(t, '0', { log: (m) => logs.push(m), onListening: (a) => { port = a.port; } });
    await new Promise((r) => setTimeout(r, 50));
    const cmds = [
      'set architecture riscv:rv64',
      ...(process.env.GDB_TEST_VERBOSE ? ['set debug remote 1'] : []),
      `target remote 127.0.0.1:${port}`,
      'info threads',
      'thread 2',
      'p $priv',
      'p/x $mhartid',
      'p/x $satp',
      'p/x $hstatus',
      'info registers csr',
      'x/4xw 0x80000000',
      'x/4xw 0x10',
      'set $a0 = 5',
      `break *0x${(BASE + 0x20n).toString(16)}`,
      'continue',
      'p $pc',
      'stepi',
      'reverse-stepi',
      `watch *(long *)0x${WATCH_VAR.toString(16)}`,
      'continue',
      'delete',
      'reverse-continue',
      'monitor when',
      'detach',
    ];
    const out = await runGdb(cmds);
    const end = await Promise.race([served, new Promise<ServeEnd>((r) => setTimeout(() => r({ kind: 'disconnect' }), 5000))]);
    expect(end.kind).toBe('detach');
    expect(out).toMatch(/\* 1\s+Thread 1 \(hart 0, priv M, running\)/);
    expect(out).toMatch(/Thread 4 \(hart 3, priv M, wfi\)/);
    expect(out).toMatch(/Switching to thread 2/);
    expect(out).toContain('$1 = 5'); // priv of hart 1: VS = 1 | V << 2
    expect(out).toContain('$2 = 0x1');
    expect(out).toMatch(/\$4 = 0x600/);
    expect(out).toMatch(/mstatus\s+0xa00001800/);
    expect(out).toMatch(/0x80000000:\s+0x03020100\s+0x07060504/);
    expect(out).toMatch(/Cannot access memory at address 0x10/);
    expect(out).toMatch(/Could not write register "a0"; remote failure reply 'E\.the replay is read-only/);
    expect(out).toMatch(/Breakpoint 1, 0x0*80000020 in \?\? \(\)/);
    expect(out).toMatch(/Hardware watchpoint 2: \*\(long \*\)0x80008000/);
    expect(out).toMatch(/No more reverse-execution history/);
    expect(out).toContain('time 0');
    expect(out).not.toMatch(/Remote connection closed|protocol error/i);
  });
});
