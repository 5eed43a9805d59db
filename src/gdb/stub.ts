/**
 * The gdb remote protocol state machine (all-stop) over a DebugTarget (src/gdb/target.ts).
 *
 * Transport-agnostic: feed it the bytes a client sends (`receive`), it writes replies through
 * `io.write`. Packets are handled one at a time in arrival order; while a resume (`c`, `s`,
 * `vCont`, `bc`, `bs`) runs, a `\x03` byte sets the interrupt flag the target polls, and any other
 * packet waits for the stop reply (gdb sends none in all-stop mode). `close()` (the client went
 * away) interrupts a running resume and ends the session.
 *
 * Nothing a client sends raises a host exception: an unknown or malformed packet gets the empty
 * reply or an error packet, a target failure an `E` packet. Refused writes (DebugError, always in
 * replay) answer `E.<message>`, which gdb prints in its error ("Could not write register "pc";
 * remote failure reply 'E.replay is read-only: ...'"); the message also goes to `io.log`.
 *
 * Thread ids are hart id + 1 (gdb reserves 0 and -1).
 */
import { DebugError, type BreakKind, type DebugTarget, type ResumeRequest, type StopEvent } from './target.js';
import {
  RspDecoder, encodePacket, escapeBinary, fromHex, hexToReg, hexToText, latin1, latin1String, regToHex, textToHex, toHex, unescapeBinary,
} from './rsp.js';
import { buildTargetLayout, type TargetLayout } from './target-xml.js';

/** PacketSize advertised in qSupported (bytes of payload gdb may send / we may answer). */
export const PACKET_SIZE = 0x4000;
/** Largest `m` answered in one reply (hex doubles it). */
const MAX_MEM_READ = (PACKET_SIZE - 16) >> 1;

export interface StubIo {
  /** Bytes for the client. */
  write(bytes: Uint8Array): void;
  /** A line for the server's log (stderr), e.g. why a write was refused. */
  log?(message: string): void;
}

export type SessionEnd =
  | { readonly kind: 'detach' } // D: the client detached, the target stays
  | { readonly kind: 'kill' } // k / vKill
  | { readonly kind: 'disconnect' } // the connection closed
  | { readonly kind: 'halted'; readonly exitCode: number; readonly message: string }; // W sent (live run ended)

interface Action {
  readonly op: 'c' | 's';
  readonly tid: number | 'all';
}

const SIGINT = 2;
const SIGTRAP = 5;

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `E.` error text: gdb shows it verbatim; keep it to printable characters without packet syntax. */
function errText(msg: string): string {
  return `E.${msg.replace(/[^\x20-\x7e]/g, ' ').replace(/[#$}*]/g, '_')}`;
}

/** Parse a thread id: hex, `-1` (all), `0` (any); the multiprocess form `pP.T` too. */
function parseTid(s: string): number | 'all' | null {
  let t = s;
  if (t.startsWith('p')) {
    const dot = t.indexOf('.');
    t = dot < 0 ? '-1' : t.slice(dot + 1);
  }
  if (t === '-1') return 'all';
  if (!/^[0-9a-fA-F]{1,8}$/.test(t)) return null;
  return parseInt(t, 16);
}

function parseAddr(s: string): bigint | null {
  if (!/^[0-9a-fA-F]{1,16}$/.test(s)) return null;
  return BigInt(`0x${s}`);
}

function parseLen(s: string): number | null {
  if (!/^[0-9a-fA-F]{1,8}$/.test(s)) return null;
  return parseInt(s, 16);
}

export class GdbStub {
  private readonly decoder = new RspDecoder();
  private readonly layout: TargetLayout;
  private readonly queue: Uint8Array[] = [];
  private processing = false;
  private pumping: Promise<void> | null = null;
  private noAck = false;
  private lastSent: Uint8Array | null = null;
  /** Hg / Hc selections as hart ids (null: "any" / "all": follow the target's current hart). */
  private gHart: number | null = null;
  private cHart: number | null = null;
  private physical = false;
  private interruptFlag = false;
  /** A Ctrl-C that came while a packet waited in the queue: for the resume it may be. */
  private pendingInterrupt = false;
  private resuming = false;
  private ended: SessionEnd | null = null;
  private endResolve!: (e: SessionEnd) => void;
  /** Settles when the session is over (detach, kill, disconnect, halt). */
  readonly done: Promise<SessionEnd>;
  private readonly swBreaks = new Set<bigint>();
  /** Breakpoints and watchpoints this session inserted (kind:addr:length -> how many times). */
  private readonly inserted = new Map<string, { kind: BreakKind; addr: bigint; length: number; count: number }>();
  private readonly hwBreaks = new Set<bigint>();

  constructor(private readonly target: DebugTarget, private readonly io: StubIo) {
    this.layout = buildTargetLayout({ hasFpu: target.hasFpu, csrs: target.csrs });
    this.done = new Promise((res) => { this.endResolve = res; });
  }

  /** The target description (for tests and tools). */
  get targetXml(): string {
    return this.layout.xml;
  }

  /** Whether a resume is running (the server's disconnect handling reads this). */
  get isResuming(): boolean {
    return this.resuming;
  }

  get sessionEnded(): SessionEnd | null {
    return this.ended;
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    if (this.ended) return;
    for (const ev of this.decoder.feed(chunk)) {
      switch (ev.type) {
        case 'interrupt':
          // In all-stop mode Ctrl-C only means something while the target runs, or is about to
          // (a resume packet still queued, e.g. in the same segment); when the machine is stopped
          // it is dropped (the next resume must not stop at once).
          if (this.resuming) this.interruptFlag = true;
          else if (this.queue.length > 0) this.pendingInterrupt = true;
          break;
        case 'nak':
          if (!this.noAck && this.lastSent) this.io.write(this.lastSent);
          break;
        case 'ack':
          break;
        case 'bad-checksum':
          if (!this.noAck) this.io.write(latin1('-'));
          this.io.log?.('gdb: packet with a bad checksum (asked again)');
          break;
        case 'packet':
          if (!this.noAck) this.io.write(latin1('+'));
          this.queue.push(ev.payload);
          break;
      }
    }
    void this.pump();
  }

  /** The connection closed: interrupt a running resume, end the session. */
  close(): void {
    this.interruptFlag = true;
    this.queue.length = 0;
    this.finish({ kind: 'disconnect' });
  }

  private finish(e: SessionEnd): void {
    if (this.ended) return;
    this.ended = e;
    // The target outlives the session: what this client inserted and did not remove (a client
    // that went away) must not stop the next one, or the run after a detach.
    if (!this.resuming) this.dropBreaks();
    else void this.whenIdle().then(() => this.dropBreaks());
    this.endResolve(e);
  }

  private dropBreaks(): void {
    for (const b of this.inserted.values()) {
      for (let i = 0; i < b.count; i++) {
        try {
          this.target.removeBreak(b.kind, b.addr, b.length);
        } catch {
          /* already gone */
        }
      }
    }
    this.inserted.clear();
    this.swBreaks.clear();
    this.hwBreaks.clear();
  }

  private send(payload: string | Uint8Array): void {
    if (this.ended && this.ended.kind === 'disconnect') return;
    const pkt = encodePacket(payload);
    this.lastSent = pkt;
    this.io.write(pkt);
  }

  /** Settles once no packet is being handled (after close(): once a running resume returned). */
  whenIdle(): Promise<void> {
    return this.pumping ?? Promise.resolve();
  }

  private pump(): Promise<void> {
    if (this.processing) return this.pumping!;
    this.processing = true;
    const run: Promise<void> = this.pumpLoop().finally(() => {
      if (this.pumping === run) this.pumping = null;
    });
    this.pumping = run;
    return run;
  }

  private async pumpLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.ended) {
        const payload = this.queue.shift()!;
        let reply: string | Uint8Array | null;
        try {
          reply = await this.handle(payload);
        } catch (e) {
          // A target failure that is not a refusal: report it, keep the session.
          this.io.log?.(`gdb: ${errorMessage(e)}`);
          reply = e instanceof DebugError ? errText(e.message) : 'E01';
        }
        if (reply !== null) this.send(reply);
      }
      this.pendingInterrupt = false;
    } finally {
      this.processing = false;
    }
  }

  // ---- helpers ----

  private validHart(tid: number): boolean {
    return tid >= 1 && tid <= this.target.hartCount;
  }

  private hartG(): number {
    return this.gHart ?? this.safeCurrentHart();
  }

  private hartC(): number {
    return this.cHart ?? this.gHart ?? this.safeCurrentHart();
  }

  private safeCurrentHart(): number {
    const h = this.target.currentHart();
    return h >= 0 && h < this.target.hartCount ? h : 0;
  }

  private stopReply(ev: StopEvent): string {
    if (ev.reason === 'halted') {
      const code = (ev.halt?.exitCode ?? 0) & 0xff;
      return `W${code.toString(16).padStart(2, '0')}`;
    }
    const hart = ev.hart >= 0 && ev.hart < this.target.hartCount ? ev.hart : this.safeCurrentHart();
    const sig = ev.reason === 'interrupted' ? SIGINT : SIGTRAP;
    let s = `T${sig.toString(16).padStart(2, '0')}thread:${(hart + 1).toString(16)};`;
    switch (ev.reason) {
      case 'breakpoint': {
        const pc = this.target.readReg(hart, { kind: 'pc' });
        if (pc !== null && this.hwBreaks.has(pc) && !this.swBreaks.has(pc)) s += 'hwbreak:;';
        else s += 'swbreak:;';
        break;
      }
      case 'watchpoint':
        if (ev.watch) {
          const k = ev.watch.kind === 'write' ? 'watch' : ev.watch.kind === 'read' ? 'rwatch' : 'awatch';
          s += `${k}:${BigInt.asUintN(64, ev.watch.addr).toString(16)};`;
        }
        break;
      case 'begin':
        s += 'replaylog:begin;';
        break;
      case 'end':
        s += 'replaylog:end;';
        break;
      default:
        break;
    }
    return s;
  }

  /** A fingerprint of where the machine stands (every hart's pc, the current hart). */
  private position(): string {
    let s = `${this.safeCurrentHart()}`;
    for (let h = 0; h < this.target.hartCount; h++) s += `:${this.target.readReg(h, { kind: 'pc' }) ?? ''}`;
    return s;
  }

  /** The reply to `?`: where the machine stands now. */
  private currentStop(): string {
    const hart = this.safeCurrentHart();
    this.gHart = hart;
    return `T${SIGTRAP.toString(16).padStart(2, '0')}thread:${(hart + 1).toString(16)};`;
  }

  private async resume(req: ResumeRequest): Promise<string | null> {
    if (req.direction === 'reverse' && this.target.kind !== 'replay') return '';
    this.interruptFlag = this.pendingInterrupt;
    this.pendingInterrupt = false;
    this.resuming = true;
    let ev: StopEvent;
    try {
      ev = await this.target.resume(req, () => this.interruptFlag);
    } catch (e) {
      this.resuming = false;
      this.interruptFlag = false;
      // The stop reply must still come: report the failure on the console and stop where we are.
      const msg = errorMessage(e);
      this.io.log?.(`gdb: resume failed: ${msg}`);
      this.send(`O${textToHex(`hvtrace: ${msg}\n`)}`);
      return this.currentStop();
    }
    this.resuming = false;
    this.interruptFlag = false;
    if (ev.reason === 'halted') {
      if (ev.halt?.message) this.send(`O${textToHex(`hvtrace: ${ev.halt.message}\n`)}`);
      const reply = this.stopReply(ev);
      this.send(reply);
      this.finish({ kind: 'halted', exitCode: ev.halt?.exitCode ?? 0, message: ev.halt?.message ?? '' });
      return null;
    }
    // gdb takes the stopping thread as its general thread (remote.c record_currthread) and sends
    // Hg only when it wants another one: follow it.
    if (ev.hart >= 0 && ev.hart < this.target.hartCount) this.gHart = ev.hart;
    return this.stopReply(ev);
  }

  private readRegHex(hart: number, regnum: number): string | null {
    const d = this.layout.regs.get(regnum);
    if (!d) return null;
    const v = this.target.readReg(hart, d.ref);
    return v === null ? 'x'.repeat(d.bytes * 2) : regToHex(v, d.bytes);
  }

  private writeReg(hart: number, regnum: number, hex: string): string {
    const d = this.layout.regs.get(regnum);
    if (!d) return 'E45';
    if (hex.length !== d.bytes * 2) return 'E16';
    if (/^x+$/i.test(hex)) return 'OK'; // "unavailable": nothing to write
    const v = hexToReg(hex);
    if (v === null) return 'E16';
    try {
      this.target.writeReg(hart, d.ref, v);
      return 'OK';
    } catch (e) {
      if (e instanceof DebugError) {
        this.io.log?.(`gdb: register ${d.name} not written: ${e.message}`);
        return errText(e.message);
      }
      throw e;
    }
  }

  private writeMem(addr: bigint, data: Uint8Array): string {
    if (data.length === 0) return 'OK';
    try {
      return this.target.writeMemory(this.hartG(), addr, data, this.physical) ? 'OK' : 'E14';
    } catch (e) {
      if (e instanceof DebugError) {
        this.io.log?.(`gdb: memory at 0x${addr.toString(16)} not written: ${e.message}`);
        return errText(e.message);
      }
      throw e;
    }
  }

  private breakKind(t: string): BreakKind | null {
    return t === '0' ? 'sw' : t === '1' ? 'hw' : t === '2' ? 'write' : t === '3' ? 'read' : t === '4' ? 'access' : null;
  }

  private zPacket(p: string): string {
    const insert = p[0] === 'Z';
    const body = p.slice(1).split(';')[0]!; // conditions / commands after ';' are not supported
    const [t, a, k] = body.split(',');
    const kind = this.breakKind(t ?? '');
    const addr = parseAddr(a ?? '');
    const len = parseLen(k ?? '');
    if (kind === null) return '';
    if (addr === null || len === null) return 'E22';
    const ok = insert ? this.target.insertBreak(kind, addr, len) : this.target.removeBreak(kind, addr, len);
    if (ok) {
      const key = `${kind}:${addr}:${len}`;
      const b = this.inserted.get(key) ?? { kind, addr, length: len, count: 0 };
      b.count += insert ? 1 : -1;
      if (b.count > 0) this.inserted.set(key, b);
      else this.inserted.delete(key);
    }
    if (ok && (kind === 'sw' || kind === 'hw')) {
      const set = kind === 'sw' ? this.swBreaks : this.hwBreaks;
      if (insert) set.add(addr);
      else set.delete(addr);
    }
    if (!ok && insert && (kind === 'write' || kind === 'read' || kind === 'access')) return '';
    return ok ? 'OK' : 'E22';
  }

  private vCont(p: string): Promise<string | null> | string {
    const actions: Action[] = [];
    for (const part of p.slice('vCont;'.length).split(';')) {
      if (part === '') return 'E22';
      const [a, t] = part.split(':');
      const op = a![0];
      if ((op !== 'c' && op !== 'C' && op !== 's' && op !== 'S') || (op === a && a!.length !== 1) || (a!.length !== 1 && !/^[CS][0-9a-fA-F]{2}$/.test(a!))) return 'E22';
      let tid: number | 'all' = 'all';
      if (t !== undefined) {
        const parsed = parseTid(t);
        if (parsed === null || (parsed !== 'all' && parsed !== 0 && !this.validHart(parsed))) return 'E22';
        tid = parsed === 0 ? 'all' : parsed;
      }
      actions.push({ op: op === 'c' || op === 'C' ? 'c' : 's', tid });
    }
    const step = actions.find((x) => x.op === 's');
    if (step) {
      const hart = step.tid === 'all' ? this.hartC() : step.tid - 1;
      return this.resume({ direction: 'forward', mode: 'step', hart });
    }
    const cont = actions.find((x) => x.tid !== 'all');
    const hart = cont && cont.tid !== 'all' ? cont.tid - 1 : this.hartC();
    return this.resume({ direction: 'forward', mode: 'continue', hart });
  }

  private qXferFeatures(annex: string, range: string): string | Uint8Array {
    if (annex !== 'target.xml') return 'E00';
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(range);
    if (!m) return 'E00';
    const off = parseInt(m[1]!, 16);
    const len = Math.min(parseInt(m[2]!, 16), PACKET_SIZE - 16);
    const doc = latin1(this.layout.xml);
    if (off > doc.length) return 'E00';
    const chunk = doc.subarray(off, off + len);
    const more = off + chunk.length < doc.length;
    const esc = escapeBinary(chunk);
    const out = new Uint8Array(esc.length + 1);
    out[0] = more ? 0x6d : 0x6c; // 'm' more follows / 'l' last
    out.set(esc, 1);
    return out;
  }

  private async qRcmd(hexCmd: string): Promise<string> {
    const cmd = hexToText(hexCmd);
    if (cmd === null) return 'E01';
    const words = cmd.trim().split(/\s+/);
    const output = (text: string): void => {
      // O packets, each a console line or part of one, then OK.
      for (let i = 0; i < text.length; i += 1024) this.send(`O${textToHex(text.slice(i, i + 1024))}`);
    };
    if (words[0] === 'phys') {
      if (words[1] === 'on' || words[1] === 'off') {
        this.physical = words[1] === 'on';
        output(`memory accesses now use ${this.physical ? 'physical' : 'virtual (the selected hart\'s MMU)'} addresses\n`);
      } else if (words.length === 1) {
        output(`phys is ${this.physical ? 'on' : 'off'}\n`);
      } else {
        output('usage: monitor phys on|off\n');
      }
      return 'OK';
    }
    this.interruptFlag = false;
    this.resuming = true;
    try {
      const before = this.position();
      let text = await this.target.monitor(cmd.trim(), () => this.interruptFlag);
      if (words[0] === 'help' && !/\bphys\b/.test(text)) text += 'monitor phys on|off     m/M/x use physical addresses (on) or the hart\'s MMU (off)\n';
      if (text !== '' && !text.endsWith('\n')) text += '\n';
      if (this.position() !== before) {
        // gdb keeps its register and frame caches across a monitor command (and its selected
        // thread: Hg stays as gdb last set it).
        text += `(gdb still shows the old position: \`maintenance flush register-cache\` reloads it; the stop is on thread ${this.safeCurrentHart() + 1})\n`;
      }
      output(text);
    } catch (e) {
      if (!(e instanceof DebugError)) this.io.log?.(`gdb: monitor ${cmd}: ${errorMessage(e)}`);
      output(`${errorMessage(e)}\n`);
    } finally {
      this.resuming = false;
      this.interruptFlag = false;
    }
    return 'OK';
  }

  private qSupported(): string {
    const f = [
      `PacketSize=${PACKET_SIZE.toString(16)}`,
      'qXfer:features:read+',
      'swbreak+',
      'hwbreak+',
      'vContSupported+',
      'QStartNoAckMode+',
    ];
    if (this.target.kind === 'replay') f.push('ReverseStep+', 'ReverseContinue+');
    return f.join(';');
  }

  /** One packet -> its reply (null: no reply, or already sent). */
  private async handle(raw: Uint8Array): Promise<string | Uint8Array | null> {
    // Binary data only follows the ':' of X; every other packet is text.
    const p = latin1String(raw);
    if (p.length === 0) return '';
    const c = p[0]!;
    switch (c) {
      case '?':
        return this.currentStop();
      case 'g': {
        if (p !== 'g') return '';
        const hart = this.hartG();
        let s = '';
        for (const d of this.layout.gRegs) s += this.readRegHex(hart, d.regnum)!;
        return s;
      }
      case 'G': {
        const hex = p.slice(1);
        const hart = this.hartG();
        let off = 0;
        for (const d of this.layout.gRegs) {
          if (off + d.bytes * 2 > hex.length) break;
          const r = this.writeReg(hart, d.regnum, hex.slice(off, off + d.bytes * 2));
          if (r !== 'OK') return r;
          off += d.bytes * 2;
        }
        return 'OK';
      }
      case 'p': {
        const n = parseLen(p.slice(1));
        if (n === null) return 'E22';
        return this.readRegHex(this.hartG(), n) ?? 'E45';
      }
      case 'P': {
        const m = /^P([0-9a-fA-F]{1,8})=(.*)$/.exec(p);
        if (!m) return 'E22';
        return this.writeReg(this.hartG(), parseInt(m[1]!, 16), m[2]!);
      }
      case 'm': {
        const m = /^m([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(p);
        if (!m) return 'E22';
        const addr = BigInt(`0x${m[1]}`);
        const len = Math.min(parseInt(m[2]!, 16), MAX_MEM_READ);
        if (len === 0) return '';
        const data = this.target.readMemory(this.hartG(), addr, len, this.physical);
        return data === null ? 'E14' : toHex(data);
      }
      case 'M': {
        const m = /^M([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8}):([0-9a-fA-F]*)$/.exec(p);
        if (!m) return 'E22';
        const data = fromHex(m[3]!);
        if (data === null || data.length !== parseInt(m[2]!, 16)) return 'E22';
        return this.writeMem(BigInt(`0x${m[1]}`), data);
      }
      case 'X': {
        const colon = raw.indexOf(0x3a);
        if (colon < 0) return 'E22';
        const m = /^X([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(latin1String(raw.subarray(0, colon)));
        if (!m) return 'E22';
        const data = unescapeBinary(raw.subarray(colon + 1));
        if (data.length !== parseInt(m[2]!, 16)) return 'E22';
        return this.writeMem(BigInt(`0x${m[1]}`), data);
      }
      case 'c':
      case 's':
      case 'C':
      case 'S': {
        // An address argument (resume there) is not supported: it would be a register write.
        if ((c === 'c' || c === 's') && p.length > 1) return 'E22';
        if ((c === 'C' || c === 'S') && !/^[CS][0-9a-fA-F]{2}$/.test(p)) return 'E22';
        const mode = c === 's' || c === 'S' ? 'step' : 'continue';
        return this.resume({ direction: 'forward', mode, hart: this.hartC() });
      }
      case 'b':
        if (p === 'bc' || p === 'bs') {
          if (this.target.kind !== 'replay') return '';
          return this.resume({ direction: 'reverse', mode: p === 'bs' ? 'step' : 'continue', hart: this.hartC() });
        }
        return '';
      case 'H': {
        const op = p[1];
        const tid = parseTid(p.slice(2));
        if ((op !== 'g' && op !== 'c') || tid === null) return 'E22';
        if (tid !== 'all' && tid !== 0 && !this.validHart(tid)) return 'E22';
        const hart = tid === 'all' || tid === 0 ? null : tid - 1;
        if (op === 'g') this.gHart = hart;
        else this.cHart = hart;
        return 'OK';
      }
      case 'T': {
        const tid = parseTid(p.slice(1));
        return tid !== null && tid !== 'all' && this.validHart(tid) ? 'OK' : 'E22';
      }
      case 'Z':
      case 'z':
        return this.zPacket(p);
      case 'D':
        this.send('OK');
        this.finish({ kind: 'detach' });
        return null;
      case 'k':
        this.finish({ kind: 'kill' });
        return null;
      case 'q':
      case 'Q':
        return this.query(p);
      case 'v':
        return this.vPacket(p);
      default:
        return '';
    }
  }

  private async query(p: string): Promise<string | Uint8Array | null> {
    if (p.startsWith('qSupported')) return this.qSupported();
    if (p === 'QStartNoAckMode') {
      this.send('OK');
      this.noAck = true;
      return null;
    }
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '1';
    if (p === 'qC') return `QC${(this.hartG() + 1).toString(16)}`;
    if (p === 'qfThreadInfo') {
      return `m${Array.from({ length: this.target.hartCount }, (_, i) => (i + 1).toString(16)).join(',')}`;
    }
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo,')) {
      const tid = parseTid(p.slice('qThreadExtraInfo,'.length));
      if (tid === null || tid === 'all' || !this.validHart(tid)) return 'E22';
      const st = this.target.hartStatus(tid - 1);
      return textToHex(`hart ${st.id}, priv ${st.priv}, ${st.state}`);
    }
    if (p === 'qOffsets') return 'Text=0;Data=0;Bss=0';
    if (p === 'qSymbol::') return 'OK';
    if (p.startsWith('qXfer:features:read:')) {
      const rest = p.slice('qXfer:features:read:'.length);
      const colon = rest.lastIndexOf(':');
      if (colon < 0) return 'E00';
      return this.qXferFeatures(rest.slice(0, colon), rest.slice(colon + 1));
    }
    if (p.startsWith('qRcmd,')) return this.qRcmd(p.slice('qRcmd,'.length));
    return '';
  }

  private vPacket(p: string): Promise<string | null> | string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) return this.vCont(p);
    if (p === 'vKill' || p.startsWith('vKill;')) {
      this.send('OK');
      this.finish({ kind: 'kill' });
      return null;
    }
    if (p === 'vMustReplyEmpty') return '';
    return '';
  }
}
