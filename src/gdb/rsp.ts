/**
 * GDB remote serial protocol framing ("Remote Protocol" / "Overview" in the gdb manual).
 *
 * A packet is `$` payload `#` two hex digits of the payload's byte sum mod 256. The receiver
 * answers `+` (good) or `-` (bad checksum: send it again) until QStartNoAckMode is agreed. A
 * `\x03` byte outside a packet is an interrupt request (Ctrl-C). Inside a payload, `}` escapes
 * the next byte (XOR 0x20): gdb escapes `$`, `#`, `}` and `*` in the binary data of `X`, and a
 * stub must escape its binary replies (qXfer) the same way. gdb reads `*` in a reply as
 * run-length encoding; this stub never produces it (its text replies are hex or plain words, its
 * binary replies escape `*`).
 *
 * Pure: no I/O here; src/gdb/stub.ts and src/gdb/server.ts do the rest.
 */

/** One thing read from the byte stream. */
export type RspInput =
  | { readonly type: 'packet'; readonly payload: Uint8Array } // checksum correct, payload still escaped
  | { readonly type: 'bad-checksum'; readonly payload: Uint8Array } // answer `-` (in ack mode)
  | { readonly type: 'interrupt' } // `\x03` outside a packet
  | { readonly type: 'ack' }
  | { readonly type: 'nak' };

/** Longest payload accepted; a longer one is dropped (its end resynchronises the stream). */
export const MAX_INCOMING_PAYLOAD = 1 << 20;

const HEX = '0123456789abcdef';

export function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

/** Bytes that must be escaped in a binary payload: `#` `$` `}` `*`. */
function needsEscape(b: number): boolean {
  return b === 0x23 || b === 0x24 || b === 0x7d || b === 0x2a;
}

/** Escape binary data for a packet payload (`}` then the byte XOR 0x20). */
export function escapeBinary(data: Uint8Array): Uint8Array {
  let n = data.length;
  for (const b of data) if (needsEscape(b)) n++;
  const out = new Uint8Array(n);
  let j = 0;
  for (const b of data) {
    if (needsEscape(b)) {
      out[j++] = 0x7d;
      out[j++] = b ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

/** Undo `}` escapes (a trailing lone `}` is dropped). */
export function unescapeBinary(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let j = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0x7d) {
      if (i + 1 < data.length) out[j++] = data[++i]! ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out.subarray(0, j);
}

/** A whole packet `$payload#cs` for the wire. A string payload is taken as latin1 bytes. */
export function encodePacket(payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === 'string' ? latin1(payload) : payload;
  const out = new Uint8Array(body.length + 4);
  out[0] = 0x24;
  out.set(body, 1);
  const cs = checksum(body);
  out[body.length + 1] = 0x23;
  out[body.length + 2] = HEX.charCodeAt(cs >> 4);
  out[body.length + 3] = HEX.charCodeAt(cs & 15);
  return out;
}

export function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function latin1String(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Hex text -> bytes; null for an odd length or a non-hex digit. */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A string as hex of its UTF-8 bytes (O packets, qRcmd output, qThreadExtraInfo). */
export function textToHex(s: string): string {
  return toHex(new TextEncoder().encode(s));
}

/** Hex of UTF-8 bytes -> string; null when not hex. */
export function hexToText(s: string): string | null {
  const b = fromHex(s);
  return b === null ? null : new TextDecoder().decode(b);
}

/**
 * A little-endian register value as gdb's `g`/`p` hex (`bytes` wide).
 */
export function regToHex(value: bigint, bytes: number): string {
  let v = BigInt.asUintN(bytes * 8, value);
  let s = '';
  for (let i = 0; i < bytes; i++) {
    const b = Number(v & 0xffn);
    s += HEX[b >> 4]! + HEX[b & 15]!;
    v >>= 8n;
  }
  return s;
}

/** gdb's little-endian register hex -> value; null when malformed (or `x` = unavailable). */
export function hexToReg(s: string): bigint | null {
  const b = fromHex(s);
  if (b === null || b.length === 0) return null;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/**
 * Incremental decoder of the byte stream a gdb client sends: feed it chunks as they arrive, it
 * returns what they completed. Bytes outside a packet other than `+`, `-`, `\x03` are ignored
 * (gdb sends none; noise on the line must not desynchronise the next packet).
 */
export class RspDecoder {
  private state: 'idle' | 'payload' | 'cs1' | 'cs2' = 'idle';
  private buf: number[] = [];
  private overflow = false;
  private cs = '';

  feed(chunk: Uint8Array): RspInput[] {
    const out: RspInput[] = [];
    for (const b of chunk) {
      switch (this.state) {
        case 'idle':
          if (b === 0x24) {
            this.state = 'payload';
            this.buf = [];
            this.overflow = false;
          } else if (b === 0x03) {
            out.push({ type: 'interrupt' });
          } else if (b === 0x2b) {
            out.push({ type: 'ack' });
          } else if (b === 0x2d) {
            out.push({ type: 'nak' });
          }
          break;
        case 'payload':
          if (b === 0x23) {
            this.state = 'cs1';
            this.cs = '';
          } else if (b === 0x24) {
            // A `$` inside a payload: the previous packet was cut; start again from here.
            this.buf = [];
            this.overflow = false;
          } else if (this.buf.length < MAX_INCOMING_PAYLOAD) {
            this.buf.push(b);
          } else {
            this.overflow = true;
          }
          break;
        case 'cs1':
          this.cs = String.fromCharCode(b);
          this.state = 'cs2';
          break;
        case 'cs2': {
          this.cs += String.fromCharCode(b);
          this.state = 'idle';
          const payload = Uint8Array.from(this.buf);
          this.buf = [];
          const ok = /^[0-9a-fA-F]{2}$/.test(this.cs) && parseInt(this.cs, 16) === checksum(payload);
          out.push(ok && !this.overflow ? { type: 'packet', payload } : { type: 'bad-checksum', payload });
          break;
        }
      }
    }
    return out;
  }

  /** Whether a packet has started and not ended (the stream is mid-packet). */
  get inPacket(): boolean {
    return this.state !== 'idle';
  }
}
