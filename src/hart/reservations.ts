/**
 * LR/SC reservations shared by the harts of one memory (unprivileged spec §8.2: an SC must fail
 * if a store from another hart to the reservation set can be observed in between).
 *
 * A page that holds a reservation is kept out of every hart's store TLB, so all stores to it
 * reach `Hart.resolve`, which clears the other harts' overlapping reservations. Lock words are
 * few, so the fast path for ordinary data is untouched.
 */
export interface ReservationHolder {
  /** Physical address of the reservation, or -1. */
  resvAddr: number;
  forgetStorePage(bufferPage: number): void;
}

export class Reservations {
  private readonly holders: ReservationHolder[] = [];
  /** Buffer page -> number of reservations in it. */
  private readonly pages = new Map<number, number>();
  /** True while any reservation exists (one compare on the store slow path). */
  any = false;

  constructor(private readonly pageOf: (pa: number) => number) {}

  register(h: ReservationHolder): void {
    this.holders.push(h);
  }

  /** LR: reserve `pa` for h (dropping its previous reservation). */
  reserve(h: ReservationHolder, pa: number): void {
    // One hart: no other hart's store can break the reservation, so its page need not be kept
    // out of the store TLBs (a lock word's page would otherwise send every store to it through
    // Hart.resolve). SC still checks the address; traps and xRETs still release.
    if (this.holders.length === 1) {
      h.resvAddr = pa;
      return;
    }
    this.release(h);
    h.resvAddr = pa;
    const page = this.pageOf(pa);
    const n = this.pages.get(page) ?? 0;
    this.pages.set(page, n + 1);
    this.any = true;
    if (n === 0) for (const g of this.holders) g.forgetStorePage(page);
  }

  /** SC, xRET, trap return: h no longer holds a reservation. */
  release(h: ReservationHolder): void {
    if (h.resvAddr < 0) return;
    if (this.holders.length === 1) {
      h.resvAddr = -1;
      return;
    }
    const page = this.pageOf(h.resvAddr);
    const n = (this.pages.get(page) ?? 1) - 1;
    if (n <= 0) this.pages.delete(page);
    else this.pages.set(page, n);
    h.resvAddr = -1;
    this.any = this.pages.size > 0;
  }

  isReservedPage(bufferPage: number): boolean {
    return this.pages.has(bufferPage);
  }

  /** A store by `by` to [pa, pa+size): other harts' overlapping reservations are lost. */
  storeTo(by: ReservationHolder, pa: number, size: number): void {
    for (const g of this.holders) {
      if (g !== by && g.resvAddr >= 0 && g.resvAddr < pa + size && pa < g.resvAddr + 8) this.release(g);
    }
  }
}
