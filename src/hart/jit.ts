/**
 * Block translation tier (DESIGN.md §5): hot straight-line code is compiled with `new Function`
 * into one JavaScript function per basic block, with register numbers and immediates as
 * constants, so fetch, decode and dispatch disappear inside a block.
 *
 * The interpreter stays the oracle: a block does exactly what the interpreter would do for the
 * same instructions, including the architectural state at a fault (pc and step count are set
 * before every instruction that can trap) and the point where interrupts are noticed (a block
 * leaves as soon as a load or store raised `attention`). A block only runs when it fits entirely
 * in the scheduler's remaining budget, so quanta and timer deadlines are cut exactly as before.
 *
 * Blocks are keyed by the buffer offset (physical address) of their first instruction and never
 * cross a page. A page holding compiled code is a "code page": stores to it are kept out of the
 * store TLBs, so they reach `Hart.resolve`, which drops the page's blocks (self-modifying code,
 * module loading). Writes that bypass the harts (loader, firmware, checkpoint restore) call
 * `invalidateAll` or `invalidatePage`.
 */
import { DecodeCache } from '../isa/decode.js';
import { INSNS, Cls, expandSem, expandBranch, expandJump, expandSlow, type SemTarget } from '../isa/insns.js';
import * as B from '../isa/bits.js';

/** The bit helpers as a plain object: blocks get it as a parameter, and property loads from a
 * module namespace object are slower than from an ordinary object with constant properties. */
const BITS = Object.freeze({ ...B });
import type { Hart } from './hart.js';
import { FP_HELPERS, hasRm } from './fpu.js';
import * as SF from '../isa/softfloat.js';

/** A translated block; `end` is the step count it must not pass (the scheduler's budget). */
export type BlockFn = (h: Hart, x: BigInt64Array, xi: Int32Array, dv: DataView, end: number) => void;

const TABLE_BITS = 16;
const TABLE_SIZE = 1 << TABLE_BITS;
/** Slot mask of the block table (Jit.slot; Hart.loop computes slots inline with it). */
export const TABLE_MASK = TABLE_SIZE - 1;
/** Executions of a block start before it is compiled (compiling costs ~25-150 µs). */
export const DEFAULT_JIT_HOT = 32768;
const MAX_BLOCK = 64;
/** Invalidations after which a page is no longer translated. */
const CHURN_LIMIT = 8;
/** A `hot` count that no number of entries brings to the threshold: the entry is not counted
 * (not translatable, churned, or its region is being compiled elsewhere). */
export const HOT_NEVER = -(1 << 30);

export class Jit {
  enabled: boolean;
  /** Block table, direct-mapped by (offset >> 1): tag = buffer offset, 0 = empty (RAM starts
   * past the harts' state, so no block is at offset 0; the arrays are not pre-filled: first
   * writes to fresh memory are slow). Float64Array when buffer offsets exceed int32 (Bus.bigOffsets). */
  readonly tag: Int32Array | Float64Array;
  /** Virtual pc of each block's first instruction: blocks bake pc constants in, so the same
   * physical code reached through another mapping needs its own block. */
  readonly startPc = new Float64Array(TABLE_SIZE);
  /** The pcs [spanLo, endPc) each unit's code comes from (breakpoints inside a unit skip it). */
  private readonly spanLo = new Float64Array(TABLE_SIZE);
  readonly endPc = new Float64Array(TABLE_SIZE);
  /** Per block: the Hart.breakStamp of the last breakpoint filter found to flag none of its pcs. */
  private readonly breakOk = new Float64Array(TABLE_SIZE);
  /** Instruction count of each block. */
  readonly len = new Int32Array(TABLE_SIZE);
  readonly fn: (BlockFn | null | undefined)[] = new Array<BlockFn | null>(TABLE_SIZE);
  /** Entries into each slot's block start so far (Hart.loop counts them, see `hotEntry`). */
  readonly hot = new Int32Array(TABLE_SIZE);
  /** Code pages (by buffer page index) -> slots of the blocks compiled from them. */
  private readonly codePages = new Map<number, number[]>();
  /** How often each page's code was invalidated by stores; pages that keep being written
   * (code and data sharing a page) are left to the interpreter. */
  private readonly churn = new Map<number, number>();
  /** Harts whose store TLBs must forget a page when it becomes a code page. */
  protected readonly harts: Hart[] = [];
  blocksCompiled = 0;
  /** Code pages whose translations were dropped (stores, loaders, debugger writes). */
  pagesInvalidated = 0;
  // ---- Statistics (`--profile`; performance only, nothing a guest sees depends on them) ----
  /** Instructions completed inside units, added by Hart.loop at each normal unit exit (a unit
   * left by a trap counts its instructions as interpreted). */
  translatedInsns = 0;
  /** Units dropped because their code page was written or reloaded. */
  unitsInvalidated = 0;
  /** Units dropped to keep at most `maxUnits` live (`evictions`: how often that happened). */
  unitsEvicted = 0;
  evictions = 0;
  /** Units replaced by another one hashing to the same table slot. */
  unitsReplaced = 0;
  /** Units in the table now. */
  liveUnits = 0;
  /** Compilation order (slot, serial pairs from `fifoHead` on) for eviction, and each slot's serial. */
  private readonly fifo: number[] = [];
  private fifoHead = 0;
  private readonly serial = new Float64Array(TABLE_SIZE);
  /** 1: the slot holds a further entry of another slot's unit (Translation.entries). */
  private readonly alias = new Uint8Array(TABLE_SIZE);
  /**
   * Batch compilation (the wasm tier: one module per batch, as a module's fixed cost dwarfs a
   * function's): hot entries wait in `pending` until `batchSize` are queued or one of them was
   * entered `batchWait` more times (both count what the guest did: deterministic). 1: each is
   * compiled when it turns hot.
   */
  batchSize = 1;
  batchWait = 0;
  /**
   * What an entry reached by a taken backward branch or jump (a loop's head, most likely) adds
   * to its count, against 1 for any other entry: loops turn hot `loopWeight` times sooner.
   * The wasm tier's (see params.ts DEFAULT_WASM_LOOP_WEIGHT); 1 for the block translator.
   */
  loopWeight = 1;
  setBatch(size: number, wait = this.batchWait): void {
    if (!(size >= 1 && wait >= 0 && wait <= 2 ** 30)) throw new Error(`internal: batch ${size}:${wait}`);
    this.batchSize = size;
    this.batchWait = wait;
  }
  private readonly pending: Pending[] = [];
  private nPending = 0;
  /** Host clock for compile-time statistics, set by the CLI (src/ below cli/ reads no clock). */
  clock: (() => number) | null = null;
  /** Milliseconds in `translateBatch` (code generation + compilation), total and the longest batch. */
  compileMs = 0;
  compileMaxMs = 0;
  /** Translator failures (bugs): the interpreter ran that code instead. Tests assert none. */
  readonly compileErrors: string[] = [];
  /**
   * Batches compiled elsewhere (the wasm tier's compile thread) not installed yet: Hart.run
   * calls `poll` while this is not 0.
   */
  waiting = 0;
  /** Invalidations of each code page so far, and of everything (`invalidateAll`): a translation
   * made before one of its page is stale (see the wasm tier's compile thread). */
  protected readonly pageGen = new Map<number, number>();
  protected epoch = 0;

  /**
   * @param hot executions of a block start before it is compiled. A translated block costs
   *   about 1.3-1.7 ms all told (our code generation, then V8 parsing, baseline and optimising
   *   compilation of the new function), and saves ~10 ns per instruction: only code run tens
   *   of thousands of times pays that back. Measured: a Linux boot (flat profile, 40M
   *   instructions) took 13 s at a threshold of 256 (7015 blocks), 4 s interpreted, ~3-4 s at
   *   32768 (120 blocks); the compute benchmark keeps its speed up (its loops run millions of
   *   times).
   */
  constructor(protected readonly dc: DecodeCache, enabled = true, readonly hotThreshold = DEFAULT_JIT_HOT, bigOffsets = false,
    readonly maxUnits = Infinity) {
    if (!(maxUnits >= 1)) throw new Error(`internal: maxUnits ${maxUnits}`);
    this.enabled = enabled;
    this.tag = bigOffsets ? new Float64Array(TABLE_SIZE) : new Int32Array(TABLE_SIZE);
    // A double field from the start (see Hart's constructor: a later Smi -> double change
    // deprecates the map Hart.loop was optimized for).
    this.translatedInsns = 0.5;
    this.translatedInsns = 0;
  }

  addHart(h: Hart): void {
    this.harts.push(h);
  }

  static slot(off: number): number {
    return (off >>> 1) & TABLE_MASK;
  }

  /**
   * The entry (off, pc) in slot `s` reached the threshold: its block now, or -1 (see compile).
   * Hart.loop looks blocks up itself: slot (off >>> 1) & TABLE_MASK holds the block when `tag`
   * is off and `startPc` pc; else it counts the entry in `hot` and calls this at the threshold.
   * (A lookup method called per control transfer, which V8 did not inline, was ~4 % of the
   * Linux boot's interpreter time.)
   */
  hotEntry(s: number, off: number, pc: number, dv: DataView): number {
    this.hot[s] = 0;
    return this.compile(s, off, pc, dv);
  }

  /**
   * Whether block `s` contains no pc flagged in breakpoint filter `bf` (Hart.breakFilter) whose
   * contents are identified by `stamp`; remembered per block until the stamp changes.
   */
  breakFree(s: number, bf: Uint8Array, stamp: number): boolean {
    if (stamp !== 0 && this.breakOk[s] === stamp) return true;
    const mask = bf.length - 1;
    for (let p = this.spanLo[s]!, e = this.endPc[s]!; p < e; p += 2) {
      if (bf[(p >>> 1) & mask] !== 0) return false;
    }
    this.breakOk[s] = stamp;
    return true;
  }

  isCodePage(bufferPage: number): boolean {
    return this.codePages.has(bufferPage);
  }

  /**
   * Drop every block of a code page (a store reached it). `churn` false: not a guest write (a
   * debugger restoring RAM), which does not count against translating the page again.
   */
  invalidatePage(bufferPage: number, churn = true): void {
    const slots = this.codePages.get(bufferPage);
    if (slots === undefined) return;
    // Entries queued for the next batch were decoded from this page's old bytes (or will be):
    // they are dropped and count again from 0.
    if (this.nPending !== 0) this.dropPending((p) => Math.floor(p.off / 4096) === bufferPage);
    for (const s of slots) {
      if (Math.floor(this.tag[s]! / 4096) === bufferPage && this.drop(s)) this.unitsInvalidated++;
    }
    this.codePages.delete(bufferPage);
    this.pageGen.set(bufferPage, (this.pageGen.get(bufferPage) ?? 0) + 1);
    this.pagesInvalidated++;
    if (churn) this.churn.set(bufferPage, (this.churn.get(bufferPage) ?? 0) + 1);
  }

  invalidateAll(): void {
    this.dropPending(() => true);
    this.epoch++;
    for (const [page, slots] of this.codePages) {
      for (const s of slots) {
        if (Math.floor(this.tag[s]! / 4096) === page && this.drop(s)) this.unitsInvalidated++;
      }
    }
    this.tag.fill(0);
    this.fn.fill(null);
    this.hot.fill(0);
    this.codePages.clear();
    this.churn.clear();
  }

  /**
   * Entry (off, pc) in slot `s` turned hot: queue it for the next batch, which is compiled now
   * when it is full or when the entry was already queued (it turned hot again: see
   * `batchWait`); then the entry's unit, or -1. Its page becomes a code page at once, so a store
   * to it reaches `invalidatePage`, which drops it from the queue.
   */
  private compile(s: number, off: number, pc: number, dv: DataView): number {
    const page = Math.floor(off / 4096);
    if ((this.churn.get(page) ?? 0) >= CHURN_LIMIT) {
      this.hot[s] = HOT_NEVER;
      return -1;
    }
    const q = this.pending;
    let queued = false;
    for (let k = 0; k < this.nPending && !queued; k++) queued = q[k]!.off === off && q[k]!.pc === pc;
    if (!queued) {
      this.codePage(page);
      q[this.nPending++] = { s, off, pc };
      // It counts on from here: entered `batchWait` more times, it has waited long enough.
      this.hot[s] = this.hotThreshold - this.batchWait;
      if (this.nPending < this.batchSize) return -1;
    }
    this.flush(dv);
    return this.tag[s] === off && this.startPc[s] === pc ? s : -1;
  }

  /** Make `page` a code page: no hart may keep a fast store path to it. */
  private codePage(page: number): number[] {
    let slots = this.codePages.get(page);
    if (slots === undefined) {
      this.codePages.set(page, slots = []);
      for (const h of this.harts) h.forgetStorePage(page);
    }
    return slots;
  }

  /** Forget the queued entries `which` selects (they count again from 0). */
  private dropPending(which: (p: Pending) => boolean): void {
    const q = this.pending;
    let n = 0;
    for (let k = 0; k < this.nPending; k++) {
      const p = q[k]!;
      if (which(p)) this.hot[p.s] = 0;
      else q[n++] = p;
    }
    this.nPending = n;
  }

  /**
   * Compile the queued entries (one batch: `translateBatch`) and install their units in queue
   * order. An entry that meanwhile became an entry of a unit compiled since is left out.
   */
  private flush(dv: DataView): void {
    const reqs = this.pending.slice(0, this.nPending).filter((r) => this.tag[r.s] !== r.off || this.startPc[r.s] !== r.pc);
    this.nPending = 0;
    const clock = this.clock;
    const t0 = clock !== null ? clock() : 0;
    const ts = this.translateBatch(reqs, dv);
    if (clock !== null) {
      const ms = clock() - t0;
      this.compileMs += ms;
      if (ms > this.compileMaxMs) this.compileMaxMs = ms;
    }
    reqs.forEach((r, k) => {
      const t = ts[k];
      if (t === null) this.hot[r.s] = HOT_NEVER; // not translatable (or a translator bug, in compileErrors): stop counting
      else if (t !== undefined) this.installUnit(r.s, r.off, r.pc, t);
    });
  }

  /**
   * Translations of the queued entries, in order: null where the code is not translatable,
   * undefined where the entry is already one of an earlier translation's `entries` in the
   * same batch. The block translator translates each alone.
   */
  protected translateBatch(reqs: readonly Pending[], dv: DataView): (Translation | null | undefined)[] {
    return reqs.map((r) => this.translate(r.off, r.pc, dv));
  }

  /** Install translations compiled elsewhere that have arrived (see `waiting`). */
  poll(): void {}

  protected installUnit(s: number, off: number, pc: number, t: Translation): void {
    const slots = this.codePage(Math.floor(off / 4096));
    this.install(s, off, pc, t, t.fn, t.n, slots, false);
    // Further entry points of the same unit (all in the page), in slots no other unit holds:
    // they are not units of their own (not counted, not evicted alone: see drop).
    for (const e of t.entries ?? []) {
      const s2 = Jit.slot(e.off);
      if (s2 !== s && this.tag[s2] === 0) this.install(s2, e.off, e.pc, t, e.fn, e.n, slots, true);
    }
    this.blocksCompiled++;
  }

  private install(s: number, off: number, pc: number, t: Translation, fn: BlockFn, n: number, slots: number[], alias: boolean): void {
    if (!alias) {
      const fresh = this.tag[s] === 0 || this.alias[s] === 1;
      if (!fresh) this.unitsReplaced++;
      else if (this.liveUnits >= this.maxUnits) this.evict();
      if (fresh) this.liveUnits++;
    }
    slots.push(s);
    this.tag[s] = off;
    this.startPc[s] = pc;
    this.spanLo[s] = t.lo;
    this.endPc[s] = t.hi;
    this.breakOk[s] = 0;
    this.fn[s] = fn;
    this.len[s] = n;
    this.alias[s] = alias ? 1 : 0;
    this.serial[s] = this.blocksCompiled;
    this.installed(s, t);
    if (!alias && this.maxUnits !== Infinity) {
      this.fifo.push(s, this.blocksCompiled);
      if (this.fifo.length - this.fifoHead > 8 * this.maxUnits + 8192) this.compactFifo();
    }
  }

  /** Slot `s` now holds (an entry of) translation `t` (see `unitDropped`). */
  protected installed(_s: number, _t: Translation): void {}

  /**
   * Remove unit `s` from the table (its code-page entry stays until the page is dropped), and
   * the other entries of its translation (Translation.entries). False when `s` is itself such
   * an entry (not a unit of its own).
   */
  private drop(s: number): boolean {
    const alias = this.alias[s] === 1;
    const page = Math.floor(this.tag[s]! / 4096), serial = this.serial[s];
    this.tag[s] = 0;
    this.fn[s] = null;
    this.alias[s] = 0;
    this.unitDropped(s);
    if (alias) return false;
    this.liveUnits--;
    for (const s2 of this.codePages.get(page) ?? []) {
      if (this.alias[s2] === 1 && this.serial[s2] === serial && this.tag[s2] !== 0) {
        this.tag[s2] = 0;
        this.fn[s2] = null;
        this.alias[s2] = 0;
        this.unitDropped(s2);
      }
    }
    return true;
  }

  /** A unit left the table (a subclass frees what it holds for it). */
  protected unitDropped(_s: number): void {}

  /**
   * Make room for one more unit when `maxUnits` are live: drop the oldest live one (first in,
   * first out; its code-page entry stays until the page is dropped, a harmless slow store path).
   * Deterministic by construction (it depends only on the order of compilations), and it
   * changes only speed: a dropped unit is compiled again once its code is hot again.
   * Measured on the Linux boot (wasm tier, jitHot 1000: 563 units without a cap; CPU time,
   * two runs each): cap 256: FIFO 601 compilations, hit rate 60.5 %, 3.8-4.0 s; dropping all
   * units at once (a "generation" flush, QEMU's full translation buffer) 901 compilations,
   * 55.0 %, 4.4-4.8 s. Cap 64: FIFO 1474, 46.6 %, 4.9-5.3 s; flush 1762, 42.5 %, 5.3-5.9 s.
   * A flush also drops the units that are hot right now, which then wait another `hot`
   * executions; least-recently-entered would need a store on every unit entry (the hot path).
   */
  private evict(): void {
    const q = this.fifo;
    for (;;) {
      const s = q[this.fifoHead]!, serial = q[this.fifoHead + 1]!;
      this.fifoHead += 2;
      // Entries of units since dropped (invalidated, replaced) are skipped.
      if (this.serial[s] === serial && this.tag[s] !== 0) {
        this.drop(s);
        this.unitsEvicted++;
        this.evictions++;
        break;
      }
    }
    if (this.fifoHead >= 8192) {
      q.splice(0, this.fifoHead);
      this.fifoHead = 0;
    }
  }

  /** Keep only the live units' entries (units dropped by invalidations pile up otherwise). */
  private compactFifo(): void {
    const q = this.fifo, live: number[] = [];
    for (let k = this.fifoHead; k < q.length; k += 2) {
      const s = q[k]!;
      if (this.serial[s] === q[k + 1] && this.tag[s] !== 0) live.push(s, q[k + 1]!);
    }
    q.length = 0;
    for (const v of live) q.push(v);
    this.fifoHead = 0;
  }

  /**
   * Translate the code at buffer offset `off` (virtual pc `pc`), within its page. Null when the
   * first instruction is not translatable. A subclass (the wasm tier) translates differently.
   */
  protected translate(off: number, pc: number, dv: DataView): Translation | null {
    const dc = this.dc;
    const body: string[] = [];
    let n = 0;
    let o = off;
    let p = pc;
    let ended = false;
    while (n < MAX_BLOCK && !ended) {
      const po = o & 4095;
      if (po > 4094) break;
      let raw = dv.getUint16(o, true);
      if ((raw & 3) === 3) {
        if (po > 4092) break; // 32-bit instruction crossing the page: leave it to the interpreter
        raw = dv.getInt32(o, true);
      }
      const d = dc.get(DecodeCache.slotAt(o), raw);
      const op = d.op, len = d.len;
      const code = emit(op, d.rd, d.rs1, d.rs2, d.imm, d.imm64, d.ins, raw, p, p + len, n, pc);
      if (code === null) break;
      body.push(code.text);
      n++;
      o += len;
      p += len;
      ended = code.ends;
    }
    if (n === 0) return null;
    if (!ended) body.push(`h.attempted = S0 + ${n}; h.pc = ${p}; return;`);
    // A branch back to the block's own start loops inside the function (see selfLoop).
    const text = body.join('\n').replace(/__N__/g, String(n));
    const src = `"use strict";\nlet S0 = h.attempted; let lo = 0, hi = 0, o = 0;\nfor (;;) {\n${text}\n}\n`;
    let fn: BlockFn;
    try {
      // The outer function binds the helpers of instruction bodies (softfloat, the F/D register
      // helpers, the bit helpers) once; the block itself takes (h, x, xi, dv, end).
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      fn = new Function('SF', 'FP', 'B', `return function block(h, x, xi, dv, end) {\nconst f = h.f, fi = h.fi, fx = h.fpx;\n${src}}`)(SF, FP_HELPERS, BITS) as BlockFn;
    } catch (e) {
      // A translator bug must not stop the guest: the interpreter runs this code instead.
      this.compileErrors.push(`${(e as Error).message} in block at pc 0x${pc.toString(16)}:\n${src}`);
      return null;
    }
    return { fn, n, lo: pc, hi: p };
  }
}

/**
 * A translated unit: its function, the instruction count of its first block (it only runs when
 * that fits in the budget), and the pcs [lo, hi) its code may come from (breakpoints).
 */
export interface Translation {
  fn: BlockFn; n: number; lo: number; hi: number;
  /** Other entry points of the same unit: buffer offset, pc, function, first block's length. */
  entries?: { off: number; pc: number; fn: BlockFn; n: number }[];
}

/** An entry queued for compilation: its table slot, buffer offset and pc. */
export interface Pending { s: number; off: number; pc: number }

interface Emitted { text: string; ends: boolean }

/**
 * JavaScript for one instruction: its body in the instruction table, expanded with register
 * numbers, immediate and pc as constants, in the wrapper that mirrors what Hart.loop (or execFp)
 * does around it. `i` is its index in the block. Null for instructions the translator leaves to
 * the interpreter (no body: system, CSR, atomics; a reserved rounding mode).
 */
function emit(op: number, rd: number, rs1: number, rs2: number, imm: number, imm64: bigint, ins: number,
  raw: number, pc: number, npc: number, i: number, start: number): Emitted | null {
  const e = INSNS[op]!;
  const sem = e.sem;
  if (sem === undefined) return null;
  /** Before an instruction that can trap or touch a device: make pc and step count exact. */
  const sync = `h.pc = ${pc}; h.attempted = S0 + ${i};`;
  /** After a memory access: leave if it raised attention (interrupt line, code write). */
  const leave = `if (h.attention) { h.attempted = S0 + ${i + 1}; h.pc = ${npc}; return; }`;
  const ea = `lo = (xi[${rs1 * 2}] + ${imm}) | 0; hi = (xi[${rs1 * 2 + 1}] + ${imm >> 31} + ((lo >>> 0) < (xi[${rs1 * 2}] >>> 0) ? 1 : 0)) | 0;`;
  const fin = (target: string): string => `h.attempted = S0 + ${i + 1}; h.pc = ${target}; return;`;
  /**
   * Taken branch to `target`. A branch back to the block start stays in the function while the
   * next iteration fits in the budget and nothing needs attention: exactly the points where the
   * interpreter loop would also go on (the block is __N__ instructions long, this is the last).
   */
  const taken = (target: number): string => target !== start ? fin(String(target))
    : `S0 += __N__; if (S0 + __N__ <= end && !h.attention) continue; h.attempted = S0; h.pc = ${start}; return;`;
  const t = (text: string): Emitted => ({ text, ends: false });
  const end = (text: string): Emitted => ({ text, ends: true });

  // F/D: execFp's checks first. FS off (mstatus.FS, and vsstatus.FS with V = 1) or a reserved
  // rounding mode -> illegal instruction. A static rm is a constant; rm = 7 reads frm.
  let fpPre = '', rm = '0';
  const fp = e.cls === Cls.FP;
  if (fp) {
    fpPre = `if (!h.fpOn()) { ${sync} h.illegal(${raw}); }`;
    if (hasRm(op)) {
      const r = (ins >>> 12) & 7;
      if (r === 5 || r === 6) return null; // reserved: the interpreter raises illegal
      rm = String(r);
      if (r === 7) {
        fpPre += ` const rm_ = h.frm; if (rm_ > 4) { ${sync} h.illegal(${raw}); }`;
        rm = 'rm_';
      }
    }
  }
  const to: SemTarget = { kind: 'jit', rd, rs1, rs2, rs3: (ins >>> 27) & 31, imm, imm64, pc, npc, rm };
  if ('br' in sem) {
    const { pre, cond } = expandBranch(sem, to);
    return end(`{ ${pre} if (${cond}) { ${taken(pc + imm)} } } ${fin(String(npc))}`);
  }
  if ('to' in sem) {
    const { pre, target } = expandJump(sem, to);
    // A target that is a constant (a direct jump) may be the block's own start (a loop).
    const k = /^[-\d\s+()]+$/.test(target) ? (new Function(`return ${target};`) as () => number)() : null;
    return end(`{ ${pre} ${k !== null ? taken(k) : fin(target)} }`);
  }
  // Loads and stores: Hart.loadOffset returns where the value is (RAM, or the hart's load scratch
  // for a device or a page-crossing access); Hart.storeX does device and page-crossing stores
  // itself (-1); an FP store's value is not in an x register, so storeOffset + storeSlow.
  if ('load' in sem) return t(`{ ${fpPre} ${sync} ${ea} o = h.loadOffset(lo, hi, ${sem.load}); { ${expandSem(sem, to)} } ${leave} }`);
  if ('store' in sem) {
    if (fp) {
      return t(`{ ${fpPre} ${sync} ${ea} o = h.storeOffset(lo, hi, ${sem.store}); if (o >= 0) { ${expandSem(sem, to)} } ` +
        `else h.storeSlow(lo, hi, ${sem.store}, ${expandSlow(sem, to)}); ${leave} }`);
    }
    return t(`${sync} ${ea} o = h.storeX(lo, hi, ${sem.store}, ${rs2}); if (o >= 0) { ${expandSem(sem, to)} } ${leave}`);
  }
  const code = expandSem(sem, to);
  // softfloat's flags accumulate into fflags (and make FS dirty), as at the end of execFp.
  if (fp) return t(`{ ${fpPre} { ${code} } const fl_ = fx.flags; if (fl_ !== 0) { fx.flags = 0; h.fflags |= fl_; h.markFsDirty(); } }`);
  return t(code === '' ? '' : `{ ${code} }`);
}
