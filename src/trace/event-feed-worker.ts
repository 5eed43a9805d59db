/**
 * The event reader thread of StoredEventFeed (src/trace/event-feed.ts): answers each `read`
 * with the rows [from, from + limit) as columns, in request order.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { TraceReader } from './store.js';
import { KIND_CODE, newColumns, type EventKind } from './model.js';
import type { FeedReply, FeedRequest, StoredColumns } from './event-feed.js';

if (!parentPort) throw new Error('event-feed-worker: not started as a worker thread');

let reader: TraceReader | null = null;
let reply: MessagePort | null = null;
let ctl: Int32Array | null = null;
let failure: string | null = null;

const MAX_EXACT = 2 ** 53;

function send(m: FeedReply): void {
  reply!.postMessage(m);
  Atomics.add(ctl!, 0, 1);
  Atomics.notify(ctl!, 0);
}

function columns(rows: unknown[][]): StoredColumns {
  const n = rows.length;
  const c: StoredColumns = { ...newColumns(n), exact: new Uint8Array(n), pay: new Uint8Array(0), payOff: new Int32Array(2 * n) };

  const pays: Buffer[] = [];
  let used = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    let exact = 1;
    // Doubles from SQL CASTs: exact below 2^53; beyond, the row is compared as objects.
    const num = (k: number): number => {
      const v = r[k] as number;
      if (!(v < MAX_EXACT && v > -MAX_EXACT)) exact = 0;
      return v;
    };
    c.seq[i] = num(0);
    c.vtime[i] = num(1);
    c.instret[i] = num(3);
    c.pc[i] = num(4);
    const hart = num(2), priv = num(5), virt = num(6);
    if (hart > 255 || priv > 255 || virt > 255 || hart < 0 || priv < 0 || virt < 0) exact = 0;
    c.hart[i] = hart;
    c.priv[i] = priv;
    c.virt[i] = virt;
    const code = KIND_CODE[r[7] as EventKind];
    c.kind[i] = code === undefined ? 255 : code;
    let p = 0;
    if (r[8] !== null) { c.a[i] = BigInt.asIntN(64, r[8] as bigint); p |= 1; }
    if (r[9] !== null) { c.b[i] = BigInt.asIntN(64, r[9] as bigint); p |= 2; }
    if (r[10] !== null) { c.c[i] = BigInt.asIntN(64, r[10] as bigint); p |= 4; }
    c.present[i] = p;
    const pay = r[11] as Buffer | null;
    if (pay === null) {
      c.payOff[2 * i + 1] = -1;
    } else {
      c.payOff[2 * i] = used;
      c.payOff[2 * i + 1] = pay.length;
      pays.push(pay);
      used += pay.length;
    }
    c.exact[i] = exact;
  }
  c.pay = new Uint8Array(Buffer.concat(pays, used));
  return c;
}

parentPort.on('message', (m: FeedRequest) => {
  if (m.op === 'open') {
    reply = m.reply;
    ctl = new Int32Array(m.ctl);
    try {
      reader = TraceReader.open(m.path);
    } catch (e) {
      failure = (e as Error).message;
    }
    return;
  }
  if (failure !== null) {
    send({ error: failure });
    return;
  }
  try {
    send({ gen: m.gen, batch: columns(reader!.feedEventRows(m.from, m.limit)) });
  } catch (e) {
    failure = (e as Error).message;
    send({ error: failure });
  }
});
