/**
 * Interrupts by source, for `hvtrace stat` (issue 16), from what a recording holds -- no device
 * state is replayed. The count that matters is the claim: one claim is one interrupt a handler
 * took (what Linux counts in /proc/interrupts). MSIs are counted too, but an MSI for an identity
 * already pending in its file is absorbed (AIA §3.1), so a source can send more MSIs than are
 * claimed.
 *
 *  - PLIC (and the built-in hypervisor's vPLIC, which the mmio events show at guest-physical
 *    addresses): every read of a context's claim register (base + 0x200004 + 0x1000 * ctx) that
 *    returned a source ID is a claim of that source by that context (QEMU `virt`: context 2h is
 *    hart h's M-mode, 2h + 1 its S-mode; for the vPLIC, h is the vCPU).
 *  - APLIC in direct mode (--aia aplic): every read of an IDC's claimi (domain base + 0x4000 +
 *    32 * idc + 0x1c) that returned a source (bits 25:16, AIA §4.8.1.6) is a claim by hart idc.
 *  - IMSIC (--aia aplic-imsic): every write of mtopei / stopei / vstopei (a csr_write event; its
 *    old value is what the read half returned, AIA §3.9) whose identity (bits 26:16) is not 0 is
 *    a claim of that identity in the M file, the S file, or guest file hstatus.VGEIN (stopei with
 *    V=1 is vstopei). Every `msi` event is an MSI by (hart, interrupt file, EIID). An mmio write
 *    is recorded before the device sees it, so the event before an msi on the same hart tells
 *    what sent it: a write to an IMSIC (imsic-*) is a CPU store to seteipnum (IPIs, a
 *    hypervisor's or guest's own MSIs); a write to an APLIC's genmsi is genmsi; anything else is
 *    an APLIC forwarding a source (its input rose, setip/setipnum, an enable).
 *    Which APLIC source an MSI or a claim of an identity belongs to is read off the domain's
 *    target registers as the recorded mmio writes left them (AIA §4.5.16: target[i] = hart << 18
 *    | guest << 12 | EIID; the M domain sends to M files, the S domain to S and guest files):
 *    the one source not delegated onwards whose target names this file and EIID; none when zero
 *    or several do (then the identity has no source row: IPIs, for instance).
 */
import type { TraceEvent } from '../trace/model.js';
import { CONTEXT_BASE as PLIC_CONTEXT_OFF, CONTEXT_STRIDE as PLIC_CONTEXT_STRIDE, PLIC_BASE, PLIC_SIZE } from '../devices/plic.js';
import {
  APLIC_M_BASE, APLIC_S_BASE, APLIC_SIZE, APLIC_NUM_SOURCES, SOURCECFG_BASE, SOURCECFG_D, GENMSI, TARGET_BASE,
  TARGET_HART_SHIFT, TARGET_HART_MASK, TARGET_GUEST_SHIFT, TARGET_GUEST_MASK, TARGET_EIID_MASK,
  IDC_BASE, IDC_SIZE, IDC_CLAIMI,
} from '../devices/aplic.js';

/** Interrupts of one source at one place. */
export interface SourceRow {
  /** plic, vplic, aplic-m, aplic-s. */
  controller: string;
  source: number;
  /** The hart (for the vPLIC: the vCPU) it went to. */
  hart: number;
  /** 'M' / 'S' (a PLIC context, an APLIC IDC's domain); with MSIs: 'M file', 'S file', 'guest file G'. */
  to: string;
  /** The EIID of its MSIs (MSI mode), else null. */
  eiid: number | null;
  /** Claims: PLIC claim reads, APLIC claimi reads, IMSIC *topei claims of its EIID. */
  claims: number;
  /** MSIs the APLIC sent for it (MSI mode), else null. */
  msis: number | null;
}

/** One identity (EIID) of one IMSIC interrupt file: MSIs by sender, and claims. */
export interface MsiRow {
  hart: number;
  /** 0 the M-level file, 1 the S-level file, 1 + g guest file g. */
  file: number;
  fileName: string;
  eiid: number;
  /** MSIs that reached it. */
  count: number;
  /** From an APLIC forwarding a source, with the sources ('aplic-s:10'). */
  aplic: number;
  sources: string[];
  /** CPU stores to seteipnum. */
  cpu: number;
  genmsi: number;
  /** From an APLIC, but no single source's target register names this file and EIID. */
  unattributed: number;
  /** Claims through mtopei / stopei / vstopei. */
  claims: number;
}

export interface IrqSources { sources: SourceRow[]; msis: MsiRow[] }

export const msiFileName = (file: number): string => (file === 0 ? 'M file' : file === 1 ? 'S file' : `guest file ${file - 1}`);

/** A domain's registers as the recorded MMIO writes set them. */
interface DomainShadow { target: Uint32Array; delegated: Uint8Array }

/** The *topei CSRs (AIA §3.9, §6.3.3) and hstatus (VGEIN, bits 17:12). */
export const TOPEI_CSRS = { mtopei: 0x35c, stopei: 0x15c, vstopei: 0x25c } as const;
export const HSTATUS = 0x600;

/** A csr_write event of a *topei or hstatus: seq, hart, csr, V, old, new. */
export interface TopeiWrite { seq: number; hart: number; csr: number; virt: boolean; old: bigint; value: bigint }

/**
 * Counts per source over `events` (all of the trace's events but csr_write, in seq order) and
 * `csrs` (its csr_write events of the *topei CSRs and hstatus, in seq order); senders, target
 * registers and VGEIN are followed over all of them, `keep` selects what is counted.
 */
export function irqSources(events: readonly TraceEvent[], csrs: readonly TopeiWrite[], keep: (e: { hart: number; seq: number }) => boolean): IrqSources {
  const sources = new Map<string, SourceRow>();
  const msis = new Map<string, MsiRow & { src: Set<string> }>();
  const domains: Record<string, DomainShadow> = {
    'aplic-m': { target: new Uint32Array(APLIC_NUM_SOURCES), delegated: new Uint8Array(APLIC_NUM_SOURCES) },
    'aplic-s': { target: new Uint32Array(APLIC_NUM_SOURCES), delegated: new Uint8Array(APLIC_NUM_SOURCES) },
  };
  /** The last event of each hart (an msi's sender), hstatus.VGEIN of each hart. */
  const last: (TraceEvent | undefined)[] = [];
  const vgein: number[] = [];

  const row = (r: Omit<SourceRow, 'claims' | 'msis'>): SourceRow => {
    const k = `${r.controller}\0${String(r.source).padStart(4, '0')}\0${String(r.hart).padStart(5, '0')}\0${r.to}\0${r.eiid ?? ''}`;
    let x = sources.get(k);
    if (!x) sources.set(k, (x = { ...r, claims: 0, msis: r.eiid === null ? null : 0 }));
    return x;
  };
  const msiRow = (hart: number, file: number, eiid: number): MsiRow & { src: Set<string> } => {
    const k = `${String(hart).padStart(5, '0')}\0${String(file).padStart(3, '0')}\0${String(eiid).padStart(5, '0')}`;
    let x = msis.get(k);
    if (!x) msis.set(k, (x = { hart, file, fileName: msiFileName(file), eiid, count: 0, aplic: 0, sources: [], cpu: 0, genmsi: 0, unattributed: 0, claims: 0, src: new Set() }));
    return x;
  };
  /** The APLIC source whose target names (hart, file, eiid) now, or 0. */
  const sourceOf = (hart: number, file: number, eiid: number): { controller: string; source: number } => {
    const controller = file === 0 ? 'aplic-m' : 'aplic-s';
    const d = domains[controller]!;
    const guest = file === 0 ? 0 : file - 1;
    let found = 0;
    for (let i = 1; i < APLIC_NUM_SOURCES; i++) {
      const t = d.target[i]!;
      if (d.delegated[i] || (t & TARGET_EIID_MASK) !== eiid || ((t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK) !== hart
        || ((t >>> TARGET_GUEST_SHIFT) & TARGET_GUEST_MASK) !== guest) continue;
      found = found === 0 ? i : -1;
    }
    return { controller, source: Math.max(found, 0) };
  };

  const csrWrite = (w: TopeiWrite): void => {
    if (w.csr === HSTATUS) { vgein[w.hart] = Number((w.value >> 12n) & 0x3fn); return; }
    const eiid = Number((w.old >> 16n) & 0x7ffn);
    if (eiid === 0 || !keep(w)) return;
    const file = w.csr === TOPEI_CSRS.mtopei ? 0 : w.csr === TOPEI_CSRS.vstopei || w.virt ? 1 + (vgein[w.hart] ?? 0) : 1;
    msiRow(w.hart, file, eiid).claims++;
    const s = sourceOf(w.hart, file, eiid);
    if (s.source) row({ controller: s.controller, source: s.source, hart: w.hart, to: msiFileName(file), eiid }).claims++;
  };

  let ci = 0;
  for (const e of events) {
    while (ci < csrs.length && csrs[ci]!.seq < e.seq) csrWrite(csrs[ci++]!);
    if (e.kind === 'mmio') {
      const device = String(e.payload?.device ?? '');
      const pa = Number(e.a ?? 0n);
      const write = ((e.c ?? 0n) & 0x100n) !== 0n;
      const v = Number((e.b ?? 0n) & 0xffff_ffffn);
      if (device === 'plic' || device === 'vplic') {
        const off = pa - PLIC_BASE - PLIC_CONTEXT_OFF;
        if (!write && off >= 0 && pa - PLIC_BASE < PLIC_SIZE && off % PLIC_CONTEXT_STRIDE === 4 && v !== 0 && keep(e)) {
          const ctx = (off - 4) / PLIC_CONTEXT_STRIDE;
          row({ controller: device, source: v, hart: ctx >> 1, to: ctx & 1 ? 'S' : 'M', eiid: null }).claims++;
        }
      } else if (device === 'aplic-m' || device === 'aplic-s') {
        const off = pa - (device === 'aplic-m' ? APLIC_M_BASE : APLIC_S_BASE);
        const d = domains[device]!;
        if (off >= 0 && off < APLIC_SIZE) {
          if (write && off >= TARGET_BASE && off < TARGET_BASE + 4 * (APLIC_NUM_SOURCES - 1) && off % 4 === 0) {
            d.target[(off - TARGET_BASE) / 4 + 1] = v;
          } else if (write && off >= SOURCECFG_BASE && off < SOURCECFG_BASE + 4 * (APLIC_NUM_SOURCES - 1) && off % 4 === 0) {
            d.delegated[(off - SOURCECFG_BASE) / 4 + 1] = v & SOURCECFG_D ? 1 : 0;
          } else if (!write && off >= IDC_BASE && (off - IDC_BASE) % IDC_SIZE === IDC_CLAIMI && (v >>> 16) !== 0 && keep(e)) {
            row({ controller: device, source: (v >>> 16) & 0x3ff, hart: Math.floor((off - IDC_BASE) / IDC_SIZE), to: device === 'aplic-m' ? 'M' : 'S', eiid: null }).claims++;
          }
        }
      }
    } else if (e.kind === 'msi' && keep(e)) {
      const hart = Number(e.a ?? 0n), file = Number(e.b ?? 0n), eiid = Number(e.c ?? 0n);
      const prev = last[e.hart];
      const prevDevice = prev?.kind === 'mmio' && ((prev.c ?? 0n) & 0x100n) !== 0n ? String(prev.payload?.device ?? '') : '';
      const x = msiRow(hart, file, eiid);
      x.count++;
      if (prevDevice.startsWith('imsic')) x.cpu++;
      else if ((prevDevice === 'aplic-m' || prevDevice === 'aplic-s') && Number(prev!.a ?? 0n) - (prevDevice === 'aplic-m' ? APLIC_M_BASE : APLIC_S_BASE) === GENMSI) x.genmsi++;
      else {
        x.aplic++;
        const s = sourceOf(hart, file, eiid);
        if (s.source) {
          x.src.add(`${s.controller}:${s.source}`);
          row({ controller: s.controller, source: s.source, hart, to: msiFileName(file), eiid }).msis!++;
        } else x.unattributed++;
      }
    }
    last[e.hart] = e;
  }
  while (ci < csrs.length) csrWrite(csrs[ci++]!);
  const byKey = <T>(m: Map<string, T>): T[] => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, x]) => x);
  return {
    sources: byKey(sources),
    msis: byKey(msis).map(({ src, ...x }) => ({ ...x, sources: [...src].sort() })),
  };
}
