/**
 * Physical memory protection (priv spec v1.12 §3.7): 16 entries, TOR / NA4 / NAPOT,
 * lock bits, granularity 4 bytes (G = 0, as QEMU's virt CPUs).
 *
 * Entries are decoded into [lo, hi) ranges whenever pmpcfg/pmpaddr change, so a check is a
 * short scan. Addresses are JS numbers: physical addresses on this board are < 2^34, and a
 * range end that cannot be represented exactly lies far above anything that can be accessed.
 */
export const PMP_R = 1;
export const PMP_W = 2;
export const PMP_X = 4;
const PMP_A_SHIFT = 3;
const PMP_L = 0x80;
// A field encodings; everything that is not OFF/TOR/NA4 is NAPOT (3).
const A_OFF = 0, A_TOR = 1, A_NA4 = 2;
export const PMP_COUNT = 16;

export class Pmp {
  /** Raw pmpNcfg bytes. */
  readonly cfg = new Uint8Array(PMP_COUNT);
  /** Raw pmpaddrN values (bits 55:2 of the address, 54 bits). */
  readonly addr: bigint[] = new Array<bigint>(PMP_COUNT).fill(0n);
  private lo = new Float64Array(PMP_COUNT);
  private hi = new Float64Array(PMP_COUNT);
  private active: number[] = [];
  /** True when at least one entry has A != OFF. */
  anyActive = false;
  /** True when some active entry is locked (then M-mode accesses are checked too). */
  anyLocked = false;

  private isLocked(i: number): boolean { return (this.cfg[i]! & PMP_L) !== 0; }

  /** Write one pmpNcfg byte; ignored when the entry is locked (§3.7.1). */
  writeCfg(i: number, v: number): void {
    if (this.isLocked(i)) return;
    // R=0,W=1 is reserved: WARL, keep W clear in that combination (QEMU does the same).
    if ((v & (PMP_R | PMP_W)) === PMP_W) v &= ~PMP_W;
    v &= 0x9f; // bits 6:5 are reserved (read as zero)
    this.cfg[i] = v;
    this.recompute();
  }

  /** Write pmpaddrN; ignored when entry N is locked, or when N+1 is locked TOR. */
  writeAddr(i: number, v: bigint): void {
    if (this.isLocked(i)) return;
    if (i + 1 < PMP_COUNT && this.isLocked(i + 1) && ((this.cfg[i + 1]! >> PMP_A_SHIFT) & 3) === A_TOR) return;
    this.addr[i] = v & ((1n << 54n) - 1n);
    this.recompute();
  }

  readAddr(i: number): bigint { return this.addr[i]!; }

  /** Incremented whenever the decoded entries change (translations cached under PMP depend on it). */
  version = 0;

  private recompute(): void {
    this.version++;
    this.active = [];
    this.anyLocked = false;
    for (let i = 0; i < PMP_COUNT; i++) {
      const c = this.cfg[i]!;
      const a = (c >> PMP_A_SHIFT) & 3;
      if (a === A_OFF) continue;
      const addr = this.addr[i]!;
      let lo: bigint, hi: bigint;
      if (a === A_TOR) {
        lo = i === 0 ? 0n : this.addr[i - 1]! << 2n;
        hi = addr << 2n;
      } else if (a === A_NA4) {
        lo = addr << 2n;
        hi = lo + 4n;
      } else {
        // NAPOT: trailing ones of pmpaddr give the size: 2^(t+3) bytes.
        let t = 0n;
        while (t < 54n && ((addr >> t) & 1n) === 1n) t++;
        const size = 1n << (t + 3n);
        lo = (addr << 2n) & ~(size - 1n);
        hi = lo + size;
      }
      if (hi <= lo) continue; // empty TOR range matches nothing
      this.lo[i] = Number(lo);
      this.hi[i] = Number(hi);
      this.active.push(i);
      if (c & PMP_L) this.anyLocked = true;
    }
    this.anyActive = this.active.length > 0;
  }

  /**
   * Permissions (PMP_R|W|X bits) that hold for every byte of [pa, pa+len) at privilege `priv`
   * (0 U, 1 S, 3 M), or -1 when the range is only partly covered by the first matching entry
   * (then the access fails: §3.7.1 "if … only some bytes … match, the access fails").
   * Used both for single accesses and to decide whether a whole page can be cached in a TLB.
   */
  perms(pa: number, len: number, priv: number): number {
    const act = this.active;
    const end = pa + len;
    for (let k = 0; k < act.length; k++) {
      const i = act[k]!;
      const lo = this.lo[i]!, hi = this.hi[i]!;
      if (end <= lo || pa >= hi) continue;
      if (pa < lo || end > hi) return -1;
      const c = this.cfg[i]!;
      if (priv === 3 && (c & PMP_L) === 0) return PMP_R | PMP_W | PMP_X;
      return c & 7;
    }
    // No entry matched: M-mode succeeds; S/U fail since entries are implemented (§3.7.1).
    return priv === 3 ? PMP_R | PMP_W | PMP_X : 0;
  }

  saveState(): { cfg: number[]; addr: bigint[] } {
    return { cfg: Array.from(this.cfg), addr: this.addr.slice() };
  }
  restoreState(s: { cfg: number[]; addr: bigint[] }): void {
    this.cfg.set(s.cfg);
    for (let i = 0; i < PMP_COUNT; i++) this.addr[i] = s.addr[i]!;
    this.recompute();
  }
}
