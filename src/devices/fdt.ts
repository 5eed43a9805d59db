/**
 * Flattened device tree (DTB, version 17) writer and reader, plus the device tree of the
 * hvtrace board as QEMU 7.2's `virt` machine describes it (hw/riscv/virt.c).
 *
 * Blob layout (Devicetree Specification v0.4, chapter 5):
 *   header (40 bytes, big-endian u32s) | memory reservation map (u64 pairs, 0/0 terminated)
 *   | structure block (FDT_BEGIN_NODE / FDT_PROP / FDT_END_NODE tokens, FDT_END) | strings
 * All multi-byte values are big-endian; every token and value is padded to 4 bytes.
 */
import { ImageError } from '../image/loader.js';
import { HPM_COUNT } from '../hart/constants.js';

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_SIZE = 40;

/**
 * A property value:
 *  - number[]   u32 cells (an empty array is an empty, "boolean" property)
 *  - bigint[]   u64 cells (two u32 cells each, high word first)
 *  - string     NUL-terminated string
 *  - string[]   string list (each NUL-terminated)
 *  - Uint8Array raw bytes
 */
export type FdtPropValue = number[] | bigint[] | string | string[] | Uint8Array;

export interface FdtProp {
  name: string;
  value: Uint8Array;
}

export interface FdtNode {
  /** Node name with unit address ("serial@10000000"); "" for the root. */
  name: string;
  props: FdtProp[];
  children: FdtNode[];
}

export interface FdtReservation {
  address: bigint;
  size: bigint;
}

export interface Dtb {
  root: FdtNode;
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  version: number;
}

const textEncoder = new TextEncoder();

/** Encode a property value into its raw bytes. */
export function encodePropValue(value: FdtPropValue): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value === 'string') return encodeStrings([value]);
  if (value.length === 0) return new Uint8Array(0);
  if (typeof value[0] === 'string') return encodeStrings(value as string[]);
  if (typeof value[0] === 'bigint') {
    const cells = value as bigint[];
    const out = new Uint8Array(cells.length * 8);
    const dv = new DataView(out.buffer);
    cells.forEach((c, i) => {
      if (typeof c !== 'bigint' || c < 0n || c >= 1n << 64n) throw new RangeError(`FDT: bad u64 cell ${String(c)}`);
      dv.setBigUint64(i * 8, c, false);
    });
    return out;
  }
  const cells = value as number[];
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0xffff_ffff) {
      throw new RangeError(`FDT: bad u32 cell ${String(c)}`);
    }
    dv.setUint32(i * 4, c, false);
  });
  return out;
}

function encodeStrings(list: string[]): Uint8Array {
  const parts = list.map((s) => {
    if (typeof s !== 'string' || s.includes('\0')) throw new RangeError('FDT: bad string value');
    return textEncoder.encode(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length + 1;
  }
  return out;
}

/** Growable big-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(4096);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }

  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0, false);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  pad4(): void {
    const n = (4 - (this.length & 3)) & 3;
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Streaming DTB writer. Usage:
 *   const b = new FdtBuilder();
 *   const intc = b.allocPhandle();
 *   b.beginNode('');  b.prop('#address-cells', [2]);  b.beginNode('cpus'); ... b.endNode();
 *   b.endNode();  const blob = b.finish();
 * Properties of a node must come before its children (DT spec §5.4.1). Property order is
 * kept as given; identical property names share one string-table entry.
 */
export class FdtBuilder {
  private readonly struct = new ByteSink();
  private readonly strings = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();
  private readonly reservations: FdtReservation[] = [];
  /** Per open node: has it emitted a child yet? */
  private readonly open: boolean[] = [];
  private rootDone = false;
  private nextPhandle = 1;
  private readonly usedPhandles = new Set<number>();
  private readonly emittedPhandles = new Set<number>();

  constructor(private readonly bootCpuidPhys = 0) {}

  /** Allocate the next free phandle (1, 2, ...); emit it with `prop('phandle', [h])`. */
  allocPhandle(): number {
    while (this.usedPhandles.has(this.nextPhandle)) this.nextPhandle++;
    const h = this.nextPhandle++;
    this.usedPhandles.add(h);
    return h;
  }

  /** Add a /memreserve/ entry. */
  addReservation(address: bigint, size: bigint): this {
    this.reservations.push({ address, size });
    return this;
  }

  beginNode(name: string): this {
    if (this.open.length === 0) {
      if (this.rootDone) throw new Error('FDT: only one root node');
      if (name !== '') throw new Error('FDT: the first node must be the root ("")');
    } else {
      if (name === '' || name.includes('/') || name.includes('\0')) throw new Error(`FDT: bad node name "${name}"`);
      this.open[this.open.length - 1] = true;
    }
    this.struct.u32(FDT_BEGIN_NODE);
    this.struct.bytes(textEncoder.encode(name));
    this.struct.bytes(new Uint8Array(1));
    this.struct.pad4();
    this.open.push(false);
    return this;
  }

  prop(name: string, value: FdtPropValue): this {
    if (this.open.length === 0) throw new Error(`FDT: property "${name}" outside any node`);
    if (this.open[this.open.length - 1]) throw new Error(`FDT: property "${name}" after a child node`);
    if (name === '' || name.includes('\0')) throw new Error('FDT: bad property name');
    const bytes = encodePropValue(value);
    if (name === 'phandle' || name === 'linux,phandle') {
      if (bytes.length !== 4) throw new Error('FDT: phandle must be one u32 cell');
      const h = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
      if (h === 0 || h === 0xffff_ffff) throw new Error(`FDT: invalid phandle ${h}`);
      if (name === 'phandle') {
        // Each phandle may label only one node; explicit values are also kept from allocPhandle.
        if (this.emittedPhandles.has(h)) throw new Error(`FDT: duplicate phandle ${h}`);
        this.usedPhandles.add(h);
        this.emittedPhandles.add(h);
      }
    }
    this.struct.u32(FDT_PROP);
    this.struct.u32(bytes.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.bytes(bytes);
    this.struct.pad4();
    return this;
  }

  endNode(): this {
    if (this.open.length === 0) throw new Error('FDT: endNode without beginNode');
    this.open.pop();
    this.struct.u32(FDT_END_NODE);
    if (this.open.length === 0) this.rootDone = true;
    return this;
  }

  finish(): Uint8Array {
    if (this.open.length !== 0) throw new Error(`FDT: ${this.open.length} node(s) left open`);
    if (!this.rootDone) throw new Error('FDT: no root node');
    this.struct.u32(FDT_END);
    const structBytes = this.struct.take();
    const stringBytes = this.strings.take();
    const rsvOff = HEADER_SIZE; // 8-byte aligned
    const rsvSize = (this.reservations.length + 1) * 16;
    const structOff = rsvOff + rsvSize;
    const stringsOff = structOff + structBytes.length;
    const total = stringsOff + stringBytes.length;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    const header = [
      FDT_MAGIC,
      total,
      structOff,
      stringsOff,
      rsvOff,
      FDT_VERSION,
      FDT_LAST_COMP_VERSION,
      this.bootCpuidPhys,
      stringBytes.length,
      structBytes.length,
    ];
    header.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, false));
    this.reservations.forEach((r, i) => {
      dv.setBigUint64(rsvOff + i * 16, r.address, false);
      dv.setBigUint64(rsvOff + i * 16 + 8, r.size, false);
    });
    out.set(structBytes, structOff);
    out.set(stringBytes, stringsOff);
    return out;
  }

  private stringOffset(name: string): number {
    const known = this.stringOffsets.get(name);
    if (known !== undefined) return known;
    const off = this.strings.length;
    this.strings.bytes(textEncoder.encode(name));
    this.strings.bytes(new Uint8Array(1));
    this.stringOffsets.set(name, off);
    return off;
  }
}

// ------------------------------------------------------------------------ reader

/**
 * Parse a DTB (version 16 or 17 layout) into a node tree. Throws ImageError with a
 * one-line message for anything malformed (bad magic, truncated blob, blocks outside the
 * blob, bad tokens, unbalanced nodes, property names outside the strings block).
 */
export function parseDtb(blob: Uint8Array): Dtb {
  if (blob.length < HEADER_SIZE) throw new ImageError(`DTB too short (${blob.length} bytes)`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = (i: number) => dv.getUint32(i * 4, false);
  if (h(0) !== FDT_MAGIC) throw new ImageError('not a device tree blob (bad magic)');
  const total = h(1);
  const structOff = h(2);
  const stringsOff = h(3);
  const rsvOff = h(4);
  const version = h(5);
  const lastComp = h(6);
  const bootCpuidPhys = h(7);
  const stringsSize = h(8);
  const structSize = h(9);
  if (version < 16 || lastComp > FDT_VERSION) throw new ImageError(`unsupported DTB version ${version} (compatible with ${lastComp})`);
  if (total > blob.length) throw new ImageError(`DTB truncated: header says ${total} bytes, have ${blob.length}`);
  const within = (off: number, len: number, what: string) => {
    if (off > total || len > total - off) throw new ImageError(`DTB ${what} lies outside the blob`);
  };
  within(structOff, structSize, 'structure block');
  within(stringsOff, stringsSize, 'strings block');
  if (rsvOff % 8 !== 0) throw new ImageError('DTB memory reservation map is misaligned');
  if (structOff % 4 !== 0) throw new ImageError('DTB structure block is misaligned');

  const reservations: FdtReservation[] = [];
  for (let o = rsvOff; ; o += 16) {
    within(o, 16, 'memory reservation map');
    const address = dv.getBigUint64(o, false);
    const size = dv.getBigUint64(o + 8, false);
    if (address === 0n && size === 0n) break;
    reservations.push({ address, size });
  }

  const dec = new TextDecoder('utf-8');
  const cstr = (start: number, end: number, what: string): [string, number] => {
    let e = start;
    while (e < end && blob[e] !== 0) e++;
    if (e >= end) throw new ImageError(`DTB ${what} is not NUL-terminated`);
    return [dec.decode(blob.subarray(start, e)), e];
  };

  const structEnd = structOff + structSize;
  let p = structOff;
  const word = (): number => {
    if (p + 4 > structEnd) throw new ImageError('DTB structure block ends without FDT_END');
    const v = dv.getUint32(p, false);
    p += 4;
    return v;
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    const tok = word();
    if (tok === FDT_BEGIN_NODE) {
      const [name, e] = cstr(p, structEnd, 'node name');
      p = (e + 4) & ~3;
      const node: FdtNode = { name, props: [], children: [] };
      if (stack.length === 0) {
        if (root) throw new ImageError('DTB has more than one root node');
        root = node;
      } else {
        stack[stack.length - 1]!.children.push(node);
      }
      stack.push(node);
    } else if (tok === FDT_PROP) {
      if (stack.length === 0) throw new ImageError('DTB property outside any node');
      const len = word();
      const nameOff = word();
      if (p + len > structEnd) throw new ImageError('DTB property value runs past the structure block');
      if (nameOff >= stringsSize) throw new ImageError('DTB property name lies outside the strings block');
      const [name] = cstr(stringsOff + nameOff, stringsOff + stringsSize, 'property name');
      // Copy into a plain Uint8Array (blob may be a Node Buffer, whose slice() is a view).
      stack[stack.length - 1]!.props.push({ name, value: new Uint8Array(blob.subarray(p, p + len)) });
      p = (p + len + 3) & ~3;
    } else if (tok === FDT_END_NODE) {
      if (stack.length === 0) throw new ImageError('DTB has an unbalanced FDT_END_NODE');
      stack.pop();
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      break;
    } else {
      throw new ImageError(`DTB has a bad structure token 0x${tok.toString(16)} at offset 0x${(p - 4).toString(16)}`);
    }
  }
  if (!root) throw new ImageError('DTB has no root node');
  if (stack.length !== 0) throw new ImageError('DTB ends with unclosed nodes');
  return { root, bootCpuidPhys, reservations, version };
}

/** Serialize a node tree (e.g. from parseDtb, possibly edited) back into a DTB. */
export function encodeDtb(dtb: { root: FdtNode; bootCpuidPhys?: number; reservations?: FdtReservation[] }): Uint8Array {
  const b = new FdtBuilder(dtb.bootCpuidPhys ?? 0);
  for (const r of dtb.reservations ?? []) b.addReservation(r.address, r.size);
  const walk = (n: FdtNode) => {
    b.beginNode(n.name);
    for (const pr of n.props) b.prop(pr.name, pr.value);
    for (const c of n.children) walk(c);
    b.endNode();
  };
  walk(dtb.root);
  return b.finish();
}

/**
 * Find a node by absolute path ("/soc/serial@10000000", "/chosen"). A path component
 * without '@' also matches a node whose name before '@' equals it (first such child).
 */
export function fdtFindNode(root: FdtNode, path: string): FdtNode | undefined {
  if (!path.startsWith('/')) return undefined;
  let node: FdtNode | undefined = root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    const kids: FdtNode[] = node.children;
    node =
      kids.find((c) => c.name === part) ??
      (part.includes('@') ? undefined : kids.find((c) => c.name.split('@')[0] === part));
    if (!node) return undefined;
  }
  return node;
}

export function fdtGetProp(node: FdtNode, name: string): Uint8Array | undefined {
  return node.props.find((p) => p.name === name)?.value;
}

/** A value as big-endian u32 cells (throws ImageError if its length is not a multiple of 4). */
export function fdtU32s(value: Uint8Array): number[] {
  if (value.length % 4 !== 0) throw new ImageError(`DTB property of ${value.length} bytes is not a list of u32 cells`);
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 4) out.push(dv.getUint32(i, false));
  return out;
}

/** A value as a big-endian number of 1 or 2 cells (e.g. linux,initrd-start), or of N cells combined. */
export function fdtNumber(value: Uint8Array): bigint {
  let v = 0n;
  for (const c of fdtU32s(value)) v = (v << 32n) | BigInt(c);
  return v;
}

/** A value as a string list ("a\0b\0" -> ["a", "b"]). */
export function fdtStrings(value: Uint8Array): string[] {
  if (value.length === 0) return [];
  if (value[value.length - 1] !== 0) throw new ImageError('DTB string property is not NUL-terminated');
  return new TextDecoder('utf-8').decode(value.subarray(0, value.length - 1)).split('\0');
}

// ------------------------------------------------------------------------ the virt board

export interface VirtDtbConfig {
  numHarts: number;
  ramBase: bigint;
  ramSize: bigint;
  /** riscv,isa of every cpu node, e.g. "rv64imafdch_zicsr_zifencei_zihintpause_zicntr_zba_zbb_zbc_zbs_sstc". */
  isa: string;
  /** mmu-type, e.g. "riscv,sv48". */
  mmuType: string;
  bootargs?: string;
  initrd?: { start: bigint; end: bigint };
  /** chosen/stdout-path; default "/soc/serial@10000000". */
  stdout?: string;
  /** /cpus/timebase-frequency; default 10_000_000 (QEMU virt's RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ). */
  timebaseFrequency?: number;
  /**
   * plic riscv,ndev. Default 0x60 (96): what QEMU 7.2 writes (it puts
   * VIRT_IRQCHIP_NUM_SOURCES there, one more than the highest real source id 95; later
   * QEMU versions write 95). Linux and OpenSBI only probe the extra source's registers,
   * which read as zero and ignore writes.
   */
  plicNdev?: number;
  /**
   * The 8 virtio_mmio transport nodes of QEMU's virt (0x10001000 + 0x1000 * i, PLIC sources
   * 1 + i; src/devices/virtio-mmio.ts). The board always has them, with or without a device
   * behind them, as QEMU does; the built-in hypervisor's guests have none.
   */
  virtioMmio?: boolean;
  /** The goldfish RTC node rtc@101000 (PLIC source 11; src/devices/goldfish-rtc.ts). */
  rtc?: boolean;
  /**
   * QEMU virt's aia= in place of the PLIC: APLIC nodes (and IMSIC nodes for aplic-imsic, with
   * riscv,guest-index-bits when there are guest files); devices then name the S-level APLIC
   * with two interrupt cells (source, IRQ_TYPE_LEVEL_HIGH).
   */
  aia?: {
    mode: 'aplic' | 'aplic-imsic'; guests: number;
    /**
     * Mark the M-level APLIC domain and IMSIC files `status = "disabled"`: what OpenSBI's
     * fdt_domain_fixup does to devices in M-only memory regions before it hands the tree to the
     * S-mode payload. The built-in SBI owns them the same way, so the kernel must not probe them
     * (Linux 6.12 otherwise tries to set up imsics@24000000 and fails with -EBUSY).
     */
    hideMLevel?: boolean;
  };
  /**
   * The rest of QEMU 7.2 virt's tree: pmu (the SBI PMU event map for 16 counters),
   * fw-cfg@10100000 (src/devices/fw-cfg.ts), flash@20000000 (src/devices/pflash.ts) and
   * platform-bus@4000000 (empty: no dynamic sysbus devices). pci@30000000 is not emitted: there
   * is no PCI host bridge.
   */
  qemuBoard?: boolean;
}

/**
 * QEMU 7.2's pmu node (riscv_pmu_generate_fdt_node): SBI PMU event -> counter bitmap triples
 * for HW_CPU_CYCLES (mcycle and every mhpmcounter), HW_INSTRUCTIONS (minstret and every
 * mhpmcounter) and the three TLB-miss events (the mhpmcounters), zero-padded to 20 cells.
 * hvtrace's counters count nothing for the TLB events (src/hart/hpm.ts).
 */
function pmuEventMap(counters: number): number[] {
  const cmask = (((1 << counters) - 1) << 3) >>> 0;
  const map = [
    0x01, 0x01, cmask | 1,
    0x02, 0x02, cmask | 4,
    0x10019, 0x10019, cmask,
    0x1001b, 0x1001b, cmask,
    0x10021, 0x10021, cmask,
  ];
  while (map.length < 20) map.push(0);
  return map;
}

/** Default ISA string of QEMU 7.2's rv64 cpu (`-cpu rv64`), for reference. */
export const QEMU72_DEFAULT_ISA = 'rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc';

const u64pair = (hi32: number, lo32: number) => [hi32, lo32];

/**
 * The device tree QEMU 7.2 generates for `-M virt` (single socket, SiFive CLINT + PLIC),
 * restricted to the devices hvtrace emulates: cpus, memory, clint, plic, the ns16550a UART
 * and the SiFive test device with its syscon poweroff/reboot nodes, (`virtioMmio`) the 8
 * virtio-mmio transports, (`rtc`) the goldfish RTC and (`qemuBoard`) pmu, fw-cfg, flash and
 * platform-bus. Not emitted, because it is not emulated: pci. Never emitted: /chosen/rng-seed
 * (it would make runs differ).
 *
 * Node order, property order, names and phandle numbers mirror QEMU's blob (QEMU creates
 * cpus from the last hart down, so cpu@(N-1) gets phandle 1, its interrupt controller 2,
 * ..., cpu@0 gets 2N-1/2N, then the plic 2N+1 and the test device 2N+2), so `dtc -O dts`
 * of this blob equals QEMU's with the nodes above deleted.
 */
export function buildVirtDtb(cfg: VirtDtbConfig): Uint8Array {
  const n = cfg.numHarts;
  if (!Number.isInteger(n) || n < 1 || n > 512) throw new RangeError(`buildVirtDtb: bad hart count ${n}`);
  if (cfg.ramSize <= 0n) throw new RangeError('buildVirtDtb: RAM size must be positive');
  const u64 = (v: bigint) => {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`buildVirtDtb: value out of range ${v}`);
    return u64pair(Number(v >> 32n), Number(v & 0xffff_ffffn));
  };
  const reg = (base: bigint, size: bigint) => [...u64(base), ...u64(size)];

  const b = new FdtBuilder(0);
  const cpuPh: number[] = new Array<number>(n);
  const intcPh: number[] = new Array<number>(n);
  for (let cpu = n - 1; cpu >= 0; cpu--) {
    cpuPh[cpu] = b.allocPhandle();
    intcPh[cpu] = b.allocPhandle();
  }
  // QEMU 7.2 create_fdt_imsic then create_fdt_socket_aplic allocate these after the cpus.
  const aia = cfg.aia;
  const imsic = aia?.mode === 'aplic-imsic';
  const imsicMPh = imsic ? b.allocPhandle() : 0;
  const imsicSPh = imsic ? b.allocPhandle() : 0;
  const aplicMPh = aia ? b.allocPhandle() : 0;
  const plicPh = b.allocPhandle(); // with AIA: the S-level APLIC, the devices' interrupt parent
  const testPh = b.allocPhandle();
  /** A device's interrupts: one cell for the PLIC, (source, level-high) for the APLIC. */
  const irqCells = (irq: number): number[] => (aia ? [irq, 4] : [irq]);

  b.beginNode('');
  b.prop('#address-cells', [2]);
  b.prop('#size-cells', [2]);
  b.prop('compatible', 'riscv-virtio');
  b.prop('model', 'riscv-virtio,qemu');

  if (cfg.qemuBoard) {
    b.beginNode('pmu');
    b.prop('riscv,event-to-mhpmcounters', pmuEventMap(HPM_COUNT));
    b.prop('compatible', 'riscv,pmu');
    b.endNode();

    b.beginNode('fw-cfg@10100000');
    b.prop('dma-coherent', []);
    b.prop('reg', reg(0x1010_0000n, 0x18n));
    b.prop('compatible', 'qemu,fw-cfg-mmio');
    b.endNode();

    b.beginNode('flash@20000000');
    b.prop('bank-width', [4]);
    b.prop('reg', [...reg(0x2000_0000n, 0x200_0000n), ...reg(0x2200_0000n, 0x200_0000n)]);
    b.prop('compatible', 'cfi-flash');
    b.endNode();
  }

  // /chosen: QEMU's property order is initrd-end, initrd-start, rng-seed, bootargs, stdout-path.
  b.beginNode('chosen');
  if (cfg.initrd) {
    // QEMU 7.2 (riscv_load_initrd) writes these with qemu_fdt_setprop_cell, i.e. one u32
    // cell. Addresses above 4 GiB would be truncated there; here they get two cells,
    // which Linux also accepts (of_read_number over the property length).
    const cell = (v: bigint) => (v <= 0xffff_ffffn ? [Number(v)] : u64(v));
    b.prop('linux,initrd-end', cell(cfg.initrd.end));
    b.prop('linux,initrd-start', cell(cfg.initrd.start));
  }
  if (cfg.bootargs !== undefined) b.prop('bootargs', cfg.bootargs);
  b.prop('stdout-path', cfg.stdout ?? '/soc/serial@10000000');
  b.endNode();

  b.beginNode('poweroff');
  b.prop('value', [0x5555]);
  b.prop('offset', [0]);
  b.prop('regmap', [testPh]);
  b.prop('compatible', 'syscon-poweroff');
  b.endNode();

  b.beginNode('reboot');
  b.prop('value', [0x7777]);
  b.prop('offset', [0]);
  b.prop('regmap', [testPh]);
  b.prop('compatible', 'syscon-reboot');
  b.endNode();

  if (cfg.qemuBoard) {
    b.beginNode('platform-bus@4000000');
    b.prop('interrupt-parent', [plicPh]);
    b.prop('ranges', [0, 0, 0x400_0000, 0x200_0000]);
    b.prop('#address-cells', [1]);
    b.prop('#size-cells', [1]);
    b.prop('compatible', ['qemu,platform', 'simple-bus']);
    b.endNode();
  }

  b.beginNode(`memory@${cfg.ramBase.toString(16)}`);
  b.prop('device_type', 'memory');
  b.prop('reg', reg(cfg.ramBase, cfg.ramSize));
  b.endNode();

  b.beginNode('cpus');
  b.prop('#address-cells', [1]);
  b.prop('#size-cells', [0]);
  b.prop('timebase-frequency', [cfg.timebaseFrequency ?? 10_000_000]);
  for (let cpu = 0; cpu < n; cpu++) {
    b.beginNode(`cpu@${cpu.toString(16)}`);
    b.prop('phandle', [cpuPh[cpu]!]);
    b.prop('device_type', 'cpu');
    b.prop('reg', [cpu]);
    b.prop('status', 'okay');
    b.prop('compatible', 'riscv');
    b.prop('riscv,isa', cfg.isa);
    b.prop('mmu-type', cfg.mmuType);
    b.beginNode('interrupt-controller');
    b.prop('#interrupt-cells', [1]);
    b.prop('interrupt-controller', []);
    b.prop('compatible', 'riscv,cpu-intc');
    b.prop('phandle', [intcPh[cpu]!]);
    b.endNode();
    b.endNode();
  }
  b.beginNode('cpu-map');
  b.beginNode('cluster0');
  for (let cpu = 0; cpu < n; cpu++) {
    b.beginNode(`core${cpu}`);
    b.prop('cpu', [cpuPh[cpu]!]);
    b.endNode();
  }
  b.endNode();
  b.endNode();
  b.endNode(); // cpus

  b.beginNode('soc');
  b.prop('#address-cells', [2]);
  b.prop('#size-cells', [2]);
  b.prop('compatible', 'simple-bus');
  b.prop('ranges', []);

  if (cfg.rtc) {
    // QEMU 7.2 create_fdt_rtc runs after create_fdt_uart, and each new node goes in front.
    b.beginNode('rtc@101000');
    b.prop('interrupts', irqCells(11));
    b.prop('interrupt-parent', [plicPh]);
    b.prop('reg', reg(0x10_1000n, 0x1000n));
    b.prop('compatible', 'google,goldfish-rtc');
    b.endNode();
  }

  b.beginNode('serial@10000000');
  b.prop('interrupts', irqCells(10));
  b.prop('interrupt-parent', [plicPh]);
  b.prop('clock-frequency', [0x384000]); // 3686400 Hz, QEMU's "\08@"
  b.prop('reg', reg(0x1000_0000n, 0x100n));
  b.prop('compatible', 'ns16550a');
  b.endNode();

  b.beginNode('test@100000');
  b.prop('phandle', [testPh]);
  b.prop('reg', reg(0x10_0000n, 0x1000n));
  b.prop('compatible', ['sifive,test1', 'sifive,test0', 'syscon']);
  b.endNode();

  if (cfg.virtioMmio) {
    // QEMU 7.2 create_fdt_virtio adds them in ascending order, each node in front of the ones
    // before it (qemu_fdt_add_subnode), so the blob lists them from 0x10008000 down.
    for (let i = 7; i >= 0; i--) {
      const base = 0x1000_1000 + 0x1000 * i;
      b.beginNode(`virtio_mmio@${base.toString(16)}`);
      b.prop('interrupts', irqCells(1 + i));
      b.prop('interrupt-parent', [plicPh]);
      b.prop('reg', reg(BigInt(base), 0x1000n));
      b.prop('compatible', 'virtio,mmio');
      b.endNode();
    }
  }

  // PLIC contexts: per hart, M-mode (MEIP = 11) then S-mode (SEIP = 9).
  const plicIrqs: number[] = [];
  const clintIrqs: number[] = [];
  for (let cpu = 0; cpu < n; cpu++) {
    plicIrqs.push(intcPh[cpu]!, 11, intcPh[cpu]!, 9);
    clintIrqs.push(intcPh[cpu]!, 3, intcPh[cpu]!, 7); // MSIP, MTIP
  }
  if (aia) {
    emitAiaNodes(b, n, intcPh, { imsic, guests: aia.guests, imsicMPh, imsicSPh, aplicMPh, aplicSPh: plicPh, hideMLevel: aia.hideMLevel === true }, reg);
  } else {
    b.beginNode('plic@c000000');
    b.prop('phandle', [plicPh]);
    b.prop('riscv,ndev', [cfg.plicNdev ?? 0x60]);
    b.prop('reg', reg(0x0c00_0000n, 0x60_0000n));
    b.prop('interrupts-extended', plicIrqs);
    b.prop('interrupt-controller', []);
    b.prop('compatible', ['sifive,plic-1.0.0', 'riscv,plic0']);
    b.prop('#address-cells', [0]);
    b.prop('#interrupt-cells', [1]);
    b.endNode();
  }

  b.beginNode('clint@2000000');
  b.prop('interrupts-extended', clintIrqs);
  b.prop('reg', reg(0x0200_0000n, 0x10000n));
  b.prop('compatible', ['sifive,clint0', 'riscv,clint0']);
  b.endNode();

  b.endNode(); // soc
  b.endNode(); // root
  return b.finish();
}

/**
 * QEMU 7.2's AIA nodes (create_fdt_socket_aplic, create_fdt_imsic; one socket), in blob order:
 * aplic@d000000 (S), aplic@c000000 (M, delegating sources 1..0x60 to S), then for aplic-imsic
 * imsics@28000000 (S files) and imsics@24000000 (M files). Direct mode names each hart's
 * SEIP (9) / MEIP (11) in interrupts-extended; MSI mode names the IMSIC as msi-parent.
 */
function emitAiaNodes(
  b: FdtBuilder, n: number, intcPh: number[],
  p: { imsic: boolean; guests: number; imsicMPh: number; imsicSPh: number; aplicMPh: number; aplicSPh: number; hideMLevel: boolean },
  reg: (base: bigint, size: bigint) => number[],
): void {
  const lines = (irq: number): number[] => intcPh.slice(0, n).flatMap((ph) => [ph, irq]);
  const aplic = (mmode: boolean): void => {
    b.beginNode(mmode ? 'aplic@c000000' : 'aplic@d000000');
    b.prop('phandle', [mmode ? p.aplicMPh : p.aplicSPh]);
    if (mmode) {
      b.prop('riscv,delegate', [p.aplicSPh, 1, 0x60]);
      b.prop('riscv,children', [p.aplicSPh]);
    }
    b.prop('riscv,num-sources', [0x60]);
    b.prop('reg', reg(mmode ? 0x0c00_0000n : 0x0d00_0000n, 0x8000n));
    if (p.imsic) b.prop('msi-parent', [mmode ? p.imsicMPh : p.imsicSPh]);
    else b.prop('interrupts-extended', lines(mmode ? 11 : 9));
    b.prop('interrupt-controller', []);
    b.prop('#interrupt-cells', [2]);
    b.prop('compatible', 'riscv,aplic');
    if (mmode && p.hideMLevel) b.prop('status', 'disabled');
    b.endNode();
  };
  aplic(false);
  aplic(true);
  if (!p.imsic) return;
  let gbits = 0;
  while ((1 << gbits) < p.guests + 1) gbits++;
  const imsic = (mmode: boolean): void => {
    b.beginNode(mmode ? 'imsics@24000000' : 'imsics@28000000');
    b.prop('phandle', [mmode ? p.imsicMPh : p.imsicSPh]);
    if (!mmode && gbits > 0) b.prop('riscv,guest-index-bits', [gbits]);
    b.prop('riscv,ipi-id', [1]);
    b.prop('riscv,num-ids', [0xff]);
    const stride = BigInt(0x1000 << (mmode ? 0 : gbits));
    b.prop('reg', reg(mmode ? 0x2400_0000n : 0x2800_0000n, stride * BigInt(n)));
    b.prop('interrupts-extended', lines(mmode ? 11 : 9));
    b.prop('msi-controller', []);
    b.prop('interrupt-controller', []);
    b.prop('#interrupt-cells', [0]);
    b.prop('compatible', 'riscv,imsics');
    if (mmode && p.hideMLevel) b.prop('status', 'disabled');
    b.endNode();
  };
  imsic(false);
  imsic(true);
}
