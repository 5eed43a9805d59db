/**
 * LR/SC reservations shared by the harts of one memory (unprivileged spec §8.2: an SC must fail
 * if a store from another hart to the reservation set can be observed in between).
 *
 * A page that holds a hart's reservation is kept out of the *other* harts' store TLBs, so their
 * stores to it reach `Hart.resolve`, which clears the overlapping reservations. The reserving
 * hart's own stores cannot break its reservation and keep their fast path (a lock word's page is
 * written by its holder all the time; with one hart nothing is ever slowed down). Lock words are
 * few, so the fast path for ordinary data is untouched.
 */
export interface ReservationHolder {
  /** Physical address of the reservation, or -1. */
  resvAddr: number;
  forgetStorePage(bufferPage: number): void;
}

export class Reservations {
  private readonly holders: ReservationHolder[] = [];
  /** Reservations held now. */
  private held = 0;
  /** True while any reservation exists (one compare on the store slow path). */
  any = false;

  constructor(private readonly pageOf: (pa: number) => number) {}

  register(h: ReservationHolder): void {
    this.holders.push(h);
  }

  /** LR: reserve `pa` for h (dropping its previous reservation). */
  reserve(h: ReservationHolder, pa: number): void {
    this.release(h);
    h.resvAddr = pa;
    this.held++;
    this.any = true;
    const page = this.pageOf(pa);
    for (const g of this.holders) if (g !== h) g.forgetStorePage(page);
  }

  /** SC, xRET, trap return: h no longer holds a reservation. */
  release(h: ReservationHolder): void {
    if (h.resvAddr < 0) return;
    h.resvAddr = -1;
    this.held--;
    this.any = this.held > 0;
  }

  /** Whether a hart other than `by` holds a reservation in this page (its stores must then
   * take the slow path). */
  reservedByOthers(by: ReservationHolder, bufferPage: number): boolean {
    for (const g of this.holders) {
      if (g !== by && g.resvAddr >= 0 && this.pageOf(g.resvAddr) === bufferPage) return true;
    }
    return false;
  }

  /** A store by `by` to [pa, pa+size): other harts' overlapping reservations are lost
   * (by = null: a device's DMA, which breaks every hart's overlapping reservation). */
  storeTo(by: ReservationHolder | null, pa: number, size: number): void {
    for (const g of this.holders) {
      if (g !== by && g.resvAddr >= 0 && g.resvAddr < pa + size && pa < g.resvAddr + 8) this.release(g);
    }
  }
}
