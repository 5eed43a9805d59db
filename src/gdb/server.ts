/**
 * The TCP side of `--gdb [HOST:]PORT`: listen, serve one gdb client at a time with a GdbStub.
 *
 * - Listens on 127.0.0.1 unless a host is given (`0.0.0.0:1234`, `[::1]:1234`); port 0 picks a
 *   free port. Prints the line to type in gdb on stderr (`target remote 127.0.0.1:PORT`): stdout
 *   is the guest console's.
 * - A second client while one is attached is refused: closed (within a second: a client that
 *   reconnects right after dropping its connection gets that long for the old session to wind
 *   down), with a line on stderr; the first session goes on.
 * - Ctrl-C from gdb during a resume interrupts it: the socket is read while the target's resume
 *   awaits (targets yield to the event loop between chunks).
 * - A client that disconnects ends its session: a running resume is interrupted, and the server
 *   waits for the next client with the machine where it stopped (as QEMU's gdbstub does), so a
 *   dropped connection loses nothing. `detach` and `kill` from gdb end the server: `serveGdb`
 *   resolves and the command exits (a live run first runs on to its end after a detach, as QEMU).
 * - SIGINT / SIGTERM to hvtrace end the server too (exit status 130 / 143).
 */
import * as net from 'node:net';
import type { DebugTarget } from './target.js';
import { GdbStub, type SessionEnd } from './stub.js';

export class ListenError extends Error {}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `PORT`, `:PORT`, `HOST:PORT` or `[IPV6]:PORT` (throws ListenError). */
export function parseListenAddress(spec: string): ListenAddress {
  let host = '127.0.0.1';
  let portText = spec;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (spec.includes(':')) {
    const i = spec.lastIndexOf(':');
    if (i > 0) host = spec.slice(0, i);
    portText = spec.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ListenError(`--gdb ${spec}: expected [HOST:]PORT with a port in 0..65535`);
  }
  return { host, port: Number(portText) };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface ServeOptions {
  /** Lines for the user (stderr). */
  log(message: string): void;
  /** Called once listening, with the address gdb must use. */
  onListening?(addr: ListenAddress): void;
}

/** How serving ended: how the last session ended, or a signal to the process. */
export type ServeEnd = SessionEnd | { readonly kind: 'signal'; readonly signal: 'SIGINT' | 'SIGTERM' };

/**
 * Listen on `spec` and serve clients until one detaches or kills, the live machine halts, or the
 * process gets SIGINT / SIGTERM. Rejects with ListenError when the address cannot be used.
 *
 * `target` may be a function that makes it (e.g. replays to the start position): it runs once the
 * port is bound, so a port in use is reported before a long seek; a client that connects in the
 * meantime waits in the listen backlog. What it throws is rethrown (after closing the port).
 */
export async function serveGdb(targetOrMake: DebugTarget | (() => DebugTarget), spec: string, opts: ServeOptions): Promise<ServeEnd> {
  const want = parseListenAddress(spec);
  const server = net.createServer({ noDelay: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'address already in use'
        : e.code === 'EACCES' ? 'permission denied'
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? 'no such local address'
            : e.message;
      reject(new ListenError(`cannot listen on ${hostForUrl(want.host)}:${want.port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(want.port, want.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  let target: DebugTarget;
  try {
    target = typeof targetOrMake === 'function' ? targetOrMake() : targetOrMake;
  } catch (e) {
    server.close();
    throw e;
  }
  const bound = server.address() as net.AddressInfo;
  const addr: ListenAddress = { host: want.host, port: bound.port };
  opts.onListening?.(addr);
  opts.log(`hvtrace: gdb stub listening; in gdb-multiarch: target remote ${hostForUrl(addr.host)}:${addr.port}`);

  let active: { stub: GdbStub; socket: net.Socket } | null = null;
  let finished = false;
  let resolveEnd!: (e: ServeEnd) => void;
  const ended = new Promise<ServeEnd>((res) => { resolveEnd = res; });

  const finish = (e: ServeEnd): void => {
    if (finished) return;
    finished = true;
    server.close();
    resolveEnd(e);
  };

  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => (): void => {
    opts.log(`hvtrace: gdb stub stopped (${signal})`);
    if (active) {
      active.stub.close();
      active.socket.destroy();
    }
    finish({ kind: 'signal', signal });
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  /** Settles when the attached session is over and its last packet handled (active = null). */
  let gone: Promise<void> = Promise.resolve();

  const attach = (socket: net.Socket, who: string): void => {
    socket.setNoDelay(true);
    const stub = new GdbStub(target, {
      write: (b) => {
        if (!socket.destroyed) socket.write(b);
      },
      log: (m) => opts.log(m.startsWith('hvtrace:') ? m : `hvtrace: ${m}`),
    });
    const session = { stub, socket };
    active = session;
    let release!: () => void;
    gone = new Promise((r) => { release = r; });
    opts.log(`hvtrace: gdb client ${who} attached`);
    socket.on('data', (d: Buffer) => stub.receive(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    socket.on('error', () => { /* reset by the peer: 'close' follows */ });
    socket.on('close', () => stub.close());
    void stub.done.then(async (end) => {
      if (end.kind === 'disconnect') {
        // Let an interrupted resume return before the next client attaches.
        await stub.whenIdle();
        if (active === session) active = null;
        if (!finished) opts.log(`hvtrace: gdb client ${who} disconnected; waiting for the next one (target remote ${hostForUrl(addr.host)}:${addr.port})`);
        release();
        return;
      }
      opts.log(`hvtrace: gdb client ${who} ${end.kind === 'detach' ? 'detached' : end.kind === 'kill' ? 'killed the session' : `saw the machine halt (${end.message})`}`);
      // The last reply (OK / W) goes out before the connection closes.
      socket.end();
      if (active === session) active = null;
      finish(end);
      release();
    });
  };

  const refuse = (socket: net.Socket, who: string): void => {
    opts.log(`hvtrace: refused gdb client ${who}: ${finished ? 'the stub is shutting down' : 'another client is attached (one at a time)'}`);
    socket.destroy();
  };

  server.on('connection', (socket) => {
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => {});
    if (finished) {
      refuse(socket, who);
    } else if (active) {
      // A client that reconnects right after dropping the connection may be seen before its
      // old connection's end (the loop was busy in a resume): give the old session a moment to
      // wind down (its resume interrupted) before refusing.
      const grace = new Promise<void>((r) => setTimeout(r, 1000));
      void Promise.race([gone, grace]).then(() => {
        if (active || finished || socket.destroyed) refuse(socket, who);
        else attach(socket, who);
      });
    } else {
      attach(socket, who);
    }
  });

  try {
    return await ended;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
