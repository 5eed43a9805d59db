/**
 * The Sdtrig trigger module (RISC-V Debug Specification 1.0, chapter 5), as QEMU 7.2 models it
 * (target/riscv/debug.c): two triggers, each an address match trigger of type 2 (mcontrol) or
 * type 6 (mcontrol6) on instruction execute, load and store, whose only action is 0: raise a
 * breakpoint exception. No chaining, no data match, no hit bits, no Debug Mode, no tcontrol or
 * mcontext/scontext (QEMU 7.2 has none of them: those CSR numbers are illegal).
 *
 * What the guest sees, checked against QEMU 7.2 with a probe program:
 *  - tselect is WARL 0..1 (a write of 2 or more leaves it unchanged); tinfo reads 0x44 (types 2
 *    and 6 supported); each trigger resets to tdata1 = type 2 with every other field zero.
 *  - tdata1 writes with type 2 or 6 change the selected trigger to that type, keeping only the
 *    fields QEMU implements: the size (sizelo/sizehi, or size for type 6; an encoding QEMU does
 *    not support, 6 bytes or above 8, is dropped and reads 0 = any size), the mode bits (M, S, U;
 *    VS, VU for type 6) and execute/store/load. dmode, action, chain, match, timing, select,
 *    hit and maskmax read zero. A write with any other type is ignored.
 *  - tdata2 holds all 64 bits; tdata3 reads zero and ignores writes.
 *
 * Matching (QEMU 7.2's riscv_cpu_debug_check_breakpoint / _watchpoint):
 *  - The mode bits are compared with the hart's current privilege and V (not the effective
 *    privilege of an MPRV access); a type 2 trigger never matches with V = 1.
 *  - Execute: the instruction's pc equals tdata2.
 *  - Load/store: the access's bytes overlap [tdata2, tdata2 + size), size 1/2/4/8 bytes (any =
 *    8 on RV64). QEMU 7.2 passes the size *encoding* as the watchpoint length (a 4-byte trigger
 *    watches 3 bytes, an 8-byte one 5); hvtrace uses the byte counts the encodings stand for.
 *  - A trigger is checked before the access is translated (Sdtrig "Priority": address
 *    breakpoints come before the access's page and access faults and its misaligned-address
 *    exception). LR is a load, SC a store, an AMO both (Sdtrig "Memory Access Triggers", "A
 *    Extension"); HLV/HSV are loads/stores; cbo.clean/flush/inval/zero match as stores the
 *    triggers of size "any" whose tdata2 lies in the cache block ("Cache Operations", option 1).
 *    Accesses made for native firmware or hypervisor code (Hart.guestLoad) are not instructions
 *    and match nothing.
 *  - The exception: cause 3 (breakpoint), epc = the instruction's pc, and xtval = the address
 *    that matched: the pc for execute, the access's effective address for loads and stores (the
 *    priv spec's "faulting virtual address" for breakpoints, §3.1.16). QEMU 7.2 writes 0.
 *  - QEMU 7.2 does not implement the reentrancy rule (no M-mode triggers with action 0 while
 *    mstatus.MIE = 0, Sdtrig "Native Triggers"): neither does hvtrace.
 *
 * Cost: none while no trigger is armed (enabled: a mode bit and one of execute/load/store set).
 * The hart keeps `trigArmed`, the kinds armed triggers watch (TRIG_EXEC | TRIG_LOAD | TRIG_STORE),
 * and the TLBs hold no page an armed trigger of that access kind can match in (Hart.resolve and
 * reinstate consult `onPage`), so every access to such a page takes the slow path, where the
 * match is checked. Pages of armed execute triggers are thereby never the fetch page, and the
 * block translator (which only runs from the fetch page) never runs them either.
 */

/** Access kinds, as bits of Triggers.kinds and Hart.trigArmed (mcontrol's X/W/R bits, reordered). */
export const TRIG_EXEC = 1;
export const TRIG_LOAD = 2;
export const TRIG_STORE = 4;

/** Triggers implemented (QEMU 7.2's RV_MAX_TRIGGERS). */
export const TRIGGER_COUNT = 2;
/** tinfo: bit t set for each supported type t (2: mcontrol, 6: mcontrol6), version 0 as QEMU 7.2. */
export const TINFO = (1n << 2n) | (1n << 6n);

const TYPE_MCONTROL = 2n;
const TYPE_MCONTROL6 = 6n;
/** mcontrol / mcontrol6 fields (Sdtrig "Match Control", "Match Control Type 6"). */
const LOAD = 1n << 0n, STORE = 1n << 1n, EXECUTE = 1n << 2n;
const U = 1n << 3n, S = 1n << 4n, M = 1n << 6n;
/** mcontrol6 only. */
const VU = 1n << 23n, VS = 1n << 24n;
/** Access length in bytes of a size encoding; 0 = not supported (QEMU: "using SIZE_ANY"). Encoding 0 = any. */
const SIZE_BYTES = [8, 1, 2, 4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Trigger state as plain data (HartSnapshot.trig). */
export interface TriggerSnapshot {
  select: number;
  tdata1: bigint[];
  tdata2: bigint[];
}

const RESET_TDATA1 = TYPE_MCONTROL << 60n;

/** The mode bits of a trigger as a mask over `modeBit(priv, virt)`. */
function modeMask(t1: bigint): number {
  const type = t1 >> 60n;
  let m = 0;
  if ((t1 & U) !== 0n) m |= 1 << 0;
  if ((t1 & S) !== 0n) m |= 1 << 1;
  if ((t1 & M) !== 0n) m |= 1 << 3;
  if (type === TYPE_MCONTROL6) {
    if ((t1 & VU) !== 0n) m |= 1 << 4;
    if ((t1 & VS) !== 0n) m |= 1 << 5;
  }
  return m;
}

/** The bit of a mode mask for privilege `priv` with V = `virt`. */
export function modeBit(priv: number, virt: boolean): number {
  return 1 << (virt ? 4 + priv : priv);
}

/** The size encoding of a type 2 (sizehi:sizelo, bits 22:21 and 17:16) or type 6 (bits 19:16) tdata1. */
function sizeEncoding(t1: bigint): number {
  if ((t1 >> 60n) === TYPE_MCONTROL6) return Number((t1 >> 16n) & 0xfn);
  return (Number((t1 >> 21n) & 3n) << 2) | Number((t1 >> 16n) & 3n);
}

/** tdata1 as QEMU 7.2 keeps a written value (WARL), or null when the write is ignored. */
export function legalTdata1(v: bigint): bigint | null {
  const type = v >> 60n;
  if (type !== TYPE_MCONTROL && type !== TYPE_MCONTROL6) return null;
  let keep = M | S | U | EXECUTE | STORE | LOAD;
  if (type === TYPE_MCONTROL6) keep |= VU | VS;
  let n = (type << 60n) | (v & keep);
  if (SIZE_BYTES[sizeEncoding(v)] !== 0) n |= v & (type === TYPE_MCONTROL6 ? 0xfn << 16n : (3n << 21n) | (3n << 16n));
  return n;
}

export class Triggers {
  /** tselect. */
  select = 0;
  readonly tdata1: bigint[] = new Array<bigint>(TRIGGER_COUNT).fill(RESET_TDATA1);
  readonly tdata2: bigint[] = new Array<bigint>(TRIGGER_COUNT).fill(0n);
  // Derived per trigger (refresh): what the match paths read, as numbers.
  /** Kinds watched (TRIG_*); 0 when not armed. */
  readonly kinds = new Int32Array(TRIGGER_COUNT);
  /** Modes it matches in (modeBit). */
  readonly modes = new Int32Array(TRIGGER_COUNT);
  /** tdata2 as a signed number (a VA as the hart holds it); NaN beyond ±2^53 (matches nothing). */
  readonly addr = new Float64Array(TRIGGER_COUNT);
  /** Bytes a load/store match covers from addr. */
  readonly len = new Int32Array(TRIGGER_COUNT);
  /** Size "any" (cache-block operations match only these). */
  readonly any = new Uint8Array(TRIGGER_COUNT);
  /** OR of kinds: what Hart.trigArmed mirrors. */
  armed = 0;

  /** Recompute the derived match state from tdata1/tdata2. */
  refresh(): void {
    let armed = 0;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const t1 = this.tdata1[i]!;
      const modes = modeMask(t1);
      const kinds = ((t1 & EXECUTE) !== 0n ? TRIG_EXEC : 0) | ((t1 & LOAD) !== 0n ? TRIG_LOAD : 0) | ((t1 & STORE) !== 0n ? TRIG_STORE : 0);
      const on = modes !== 0 && kinds !== 0;
      this.kinds[i] = on ? kinds : 0;
      this.modes[i] = modes;
      const a = BigInt.asIntN(64, this.tdata2[i]!);
      this.addr[i] = a <= BigInt(Number.MAX_SAFE_INTEGER) && a >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : NaN;
      const enc = sizeEncoding(t1);
      this.len[i] = SIZE_BYTES[enc]!;
      this.any[i] = enc === 0 ? 1 : 0;
      if (on) armed |= kinds;
    }
    this.armed = armed;
  }

  /** Write tdata1 of the selected trigger (WARL, as legalTdata1). */
  writeTdata1(v: bigint): void {
    const n = legalTdata1(v);
    if (n === null) return;
    this.tdata1[this.select] = n;
    this.refresh();
  }
  writeTdata2(v: bigint): void {
    this.tdata2[this.select] = BigInt.asUintN(64, v);
    this.refresh();
  }
  writeSelect(v: bigint): void {
    if (v < BigInt(TRIGGER_COUNT)) this.select = Number(v);
  }

  /** Whether an armed trigger watching `kind` may match an access within the 4 KiB page at `pageVa`. */
  onPage(pageVa: number, kind: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.kinds[i]! & kind) === 0) continue;
      const a = this.addr[i]!;
      const end = kind === TRIG_EXEC ? a + 1 : a + this.len[i]!;
      if (a < pageVa + 4096 && end > pageVa) return true;
    }
    return false;
  }

  /** Whether an armed execute trigger matches the instruction at `pc` in mode `mode` (modeBit). */
  matchExec(pc: number, mode: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.kinds[i]! & TRIG_EXEC) !== 0 && (this.modes[i]! & mode) !== 0 && this.addr[i] === pc) return true;
    }
    return false;
  }

  /** Whether an armed trigger watching one of `kinds` matches an access of `size` bytes at `va`. */
  matchAccess(va: number, size: number, kinds: number, mode: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.kinds[i]! & kinds) === 0 || (this.modes[i]! & mode) === 0) continue;
      const a = this.addr[i]!;
      if (a < va + size && a + this.len[i]! > va) return true;
    }
    return false;
  }

  /** Whether an armed store trigger of size "any" has its address in the block [base, base + size). */
  matchBlock(base: number, size: number, mode: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.kinds[i]! & TRIG_STORE) === 0 || (this.modes[i]! & mode) === 0 || this.any[i] === 0) continue;
      const a = this.addr[i]!;
      if (a >= base && a < base + size) return true;
    }
    return false;
  }

  /** The state as plain data; undefined while it is the reset state (snapshots stay as before). */
  saveState(): TriggerSnapshot | undefined {
    const reset = this.select === 0 && this.tdata1.every((v) => v === RESET_TDATA1) && this.tdata2.every((v) => v === 0n);
    return reset ? undefined : { select: this.select, tdata1: [...this.tdata1], tdata2: [...this.tdata2] };
  }
  /** Restore saveState's result; undefined is the reset state. */
  restoreState(s: TriggerSnapshot | undefined): void {
    this.select = s?.select ?? 0;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      this.tdata1[i] = s?.tdata1[i] ?? RESET_TDATA1;
      this.tdata2[i] = s?.tdata2[i] ?? 0n;
    }
    this.refresh();
  }
}
