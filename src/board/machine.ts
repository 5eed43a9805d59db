/**
 * The board: a QEMU 7.2 `virt`-compatible machine (RAM at 0x8000_0000, CLINT, PLIC,
 * NS16550A UART on IRQ 10, SiFive test device, generated DTB) with 1-8 harts.
 *
 * The machine is synchronous and does no I/O: images arrive as bytes, console output leaves
 * through `onConsole`, input enters through the scheduler's input queue.
 */
import { Bus, MAX_HARTS, MAX_RAM_BYTES } from '../mem/bus.js';
import { DecodeCache } from '../isa/decode.js';
import { Hart, HartState, type HartEnv, type HartSnapshot } from '../hart/hart.js';
import type { HartObserver } from '../hart/observer.js';
import { hpmSaveState, hpmRestoreState, type HpmSnapshot } from '../hart/csr.js';
import * as C from '../hart/constants.js';
import { Clint, CLINT_NO_DEADLINE } from '../devices/clint.js';
import { MaskRom, resetRom, RESET_VECTOR } from '../devices/mrom.js';
import { Plic } from '../devices/plic.js';
import { Uart16550 } from '../devices/uart16550.js';
import { TestDevice } from '../devices/testdev.js';
import { VirtioMmio, VIRTIO_MMIO_COUNT } from '../devices/virtio-mmio.js';
import { VirtioBlk, type DriveConfig } from '../devices/virtio-blk.js';
import { VirtioRng } from '../devices/virtio-rng.js';
import { VirtioConsole } from '../devices/virtio-console.js';
import { GoldfishRtc } from '../devices/goldfish-rtc.js';
import { Aplic, APLIC_NUM_SOURCES } from '../devices/aplic.js';
import { aiaColdInit } from '../firmware/aia-init.js';
import { IMSIC_M_BASE, IMSIC_S_BASE, guestIndexBits, type Imsic } from '../devices/imsic.js';
import { buildAia, validateAia, type AiaConfig } from './aia.js';
export type { AiaConfig } from './aia.js';
import { buildVirtDtb } from '../devices/fdt.js';
import { FwCfg } from '../devices/fw-cfg.js';
import { Pflash, FLASH_BASE, FLASH_BANK_SIZE } from '../devices/pflash.js';
import { parseElf, isElf, ImageError, findSymbol, type ElfImage } from '../image/loader.js';
import { BuiltinSbi } from '../firmware/sbi.js';
import { Jit } from '../hart/jit.js';
import { WasmTier, type WasmCompiler } from '../hart/wasm/tier.js';
import { DEFAULT_WASM_HOT_THREADED } from '../hart/wasm/params.js';
import type { HartIrqLines, IrqController } from '../mem/device.js';
import { Hypervisor, type HypervisorSnapshot } from '../hypervisor/hypervisor.js';
import type { GuestConfig } from '../hypervisor/config.js';
import { HV_ENTRY, hostRamFor } from '../hypervisor/layout.js';
import { INSNS_PER_TICK, RunningHartClock, ticksAt } from './clock.js';

export const RAM_BASE = 0x8000_0000;
export const KERNEL_BASE = 0x8020_0000;
export { INSNS_PER_TICK } from './clock.js';
/**
 * riscv,isa of the cpu nodes: what the harts implement and QEMU 7.2's virt also offers (its
 * default CPU adds zba_zbb_zbc_zbs the same way). Zicond and Zicbom/Zicboz/Zicbop are implemented
 * but not advertised: QEMU 7.2 has none of them, and the QEMU comparisons run the same ISA.
 */
export const ISA_STRING = 'rv64imafdch_zicsr_zifencei_zihintpause_zicntr_zba_zbb_zbc_zbs_sstc';
/**
 * riscv,isa for the configuration, with QEMU 7.2's extension order before _sstc: Smaia and Ssaia
 * with IMSICs (the IMSICs turn them on), Sscofpmf with `-cpu rv64,sscofpmf=true`.
 */
export function isaString(cfg: { readonly aia?: AiaConfig; readonly sscofpmf?: boolean }): string {
  const ext = [...(cfg.aia?.mode === 'aplic-imsic' ? ['smaia', 'ssaia'] : []), ...(cfg.sscofpmf === true ? ['sscofpmf'] : [])];
  return ISA_STRING.replace(/_sstc$/, `${ext.map((e) => `_${e}`).join('')}_sstc`);
}

const MiB = 1024 * 1024;

export interface Image {
  /** Where it came from (path), for messages and the trace. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface MachineConfig {
  readonly ramSize: number;
  readonly harts: number;
  /** 'builtin' = native SBI; 'none' = the kernel starts in M-mode; otherwise a firmware image. */
  readonly bios: 'builtin' | 'none' | Image;
  readonly kernel?: Image;
  readonly initrd?: Image;
  readonly append?: string;
  readonly dtb?: Image;
  /** virtio-blk drives (--drive), in the order given: the first is /dev/vda. */
  readonly drives?: readonly DriveConfig[];
  /** virtio-rng with this PRNG seed (--rng); none when undefined. */
  readonly rngSeed?: number;
  /** virtio-console port 0 (--device virtconsole); `input`: console input goes to it, not the UART. */
  readonly virtconsole?: { readonly input: boolean };
  /**
   * QEMU virt's 8 virtio-mmio transports and their DT nodes (the CLI always sets it; drives or
   * an rng imply it). Absent: none, the board traces recorded before them were recorded on.
   */
  readonly virtio?: boolean;
  /**
   * Guests of the built-in hypervisor (src/hypervisor): the built-in SBI boots the hypervisor
   * at 0x8020_0000 instead of a kernel, and it runs these as VMs.
   */
  readonly guests?: readonly GuestConfig[];
  /**
   * Block translation on (the js tier) or off (the interpreter); `tier` overrides it. Default:
   * `setDefaultTier`. Results are identical either way. Not part of the stored configuration.
   */
  readonly jit?: boolean;
  /**
   * Execution tier, overriding `jit`: the interpreter only, the `new Function` block translator
   * (js), or the wasm translator (src/hart/wasm/tier.ts). Default: `setDefaultTier`. Results
   * are identical on every tier. Not part of the stored configuration.
   */
  readonly tier?: Tier;
  /**
   * The goldfish RTC (rtc@101000): its date at virtual time 0, in whole seconds since
   * 1970-01-01 UTC (QEMU's -rtc base has a resolution of 1 s too). The CLI sets it from the host
   * clock or --rtc base=...; the trace stores it, so a replay reads the same dates. Absent: no
   * RTC (traces recorded before it existed replay as they were recorded).
   */
  readonly rtc?: { readonly base: number };
  /** AIA in place of the PLIC (--aia); absent: the PLIC (`--aia none`). */
  readonly aia?: AiaConfig;
  /**
   * The harts have Sscofpmf (counter overflow and LCOFI, mode filtering, scountovf: src/hart/hpm.ts)
   * and the DT's riscv,isa says so: QEMU 7.2's `-cpu rv64,sscofpmf=true`. Off by default, as
   * QEMU 7.2's default CPU (OpenSBI's banner and the reference comparisons depend on it).
   */
  readonly sscofpmf?: boolean;
  /**
   * The rest of QEMU 7.2's virt (the CLI always sets it): fw-cfg@10100000 (src/devices/fw-cfg.ts),
   * the two CFI flash banks at flash@20000000 (src/devices/pflash.ts), and the pmu and
   * platform-bus@4000000 DT nodes. Absent: the board traces recorded before them ran on.
   */
  readonly qemuBoard?: boolean;
  /** Flash bank 0's image (--pflash; read-only, at most 32 MiB). Implies qemuBoard. */
  readonly pflash?: Image;
  /** Executions before a block is translated (tests use a low value to translate everything). */
  readonly jitHot?: number;
  /** The wasm tier's live units at most (default: its own, DEFAULT_WASM_MAX_UNITS); past it, it evicts. */
  readonly maxUnits?: number;
  /**
   * Observer attached to every hart before the machine boots, so that the firmware's setup of
   * the boot hart (CSR writes, mret) is observed too (trace recording / replay). Not part of
   * the stored configuration.
   */
  readonly observer?: HartObserver;
}

export type HaltKind = 'poweroff' | 'fail' | 'reset' | 'limit' | 'fatal' | 'deadlock' | 'htif';

export interface HaltInfo {
  readonly kind: HaltKind;
  /** Process exit status this halt maps to. */
  readonly exitCode: number;
  readonly message: string;
}

/**
 * What a loaded range is: the machine's images, or (with guests) what the built-in hypervisor
 * writes at boot: its own code and tables, each guest's image, initrd and device tree.
 */
export type LoadedRole = 'firmware' | 'kernel' | 'initrd' | 'dtb' | 'hypervisor' |
  `guest${number}` | `guest${number}-initrd` | `guest${number}-dtb`;

/** A loaded program: its symbols (for symbolizing) and entry. */
export interface LoadedImage {
  readonly name: string;
  readonly role: LoadedRole;
  readonly base: number;
  readonly size: number;
  readonly entry: number;
  readonly elf?: ElfImage;
}

export type Tier = 'interp' | 'js' | 'wasm';
export const TIERS: readonly Tier[] = ['interp', 'js', 'wasm'];
let defaultTier: Tier = 'wasm';
/**
 * The tier of machines built without `config.tier` or `config.jit`. The CLI sets it once from
 * HVTRACE_TIER / HVTRACE_JIT (src/cli/engine.ts): environment variables are read only in
 * src/cli/, and a replayed trace's configuration does not carry it.
 */
export function setDefaultTier(t: Tier): void {
  defaultTier = t;
}
let defaultJitHot: number | undefined;
/** The translation threshold of machines built without `config.jitHot` (undefined: the tier's own). */
export function setDefaultJitHot(n: number | undefined): void {
  defaultJitHot = n;
}
let defaultMaxUnits: number | undefined;
/** The wasm tier's unit cap of machines built without `config.maxUnits` (undefined: its own). */
export function setDefaultMaxUnits(n: number | undefined): void {
  defaultMaxUnits = n;
}

let defaultWasmBatch: readonly [number, number | undefined] | undefined;
/** The wasm tier's batch size and wait (Jit.setBatch) of machines built from now on (undefined: its own). */
export function setDefaultWasmBatch(b: readonly [number, number | undefined] | undefined): void { defaultWasmBatch = b; }
let defaultWasmCompiler: WasmCompiler | null = null;
/** Where the wasm tier of machines built from now on compiles (null: in place; the CLI's compile thread). */
export function setDefaultWasmCompiler(c: WasmCompiler | null): void { defaultWasmCompiler = c; }

/** A console input device as the scheduler feeds it (Uart16550, VirtioConsole). */
export interface ConsoleInput {
  rxListening(): boolean;
  rxSpace(): number; // bytes it takes now
  pushRx(byte: number): void;
  endRx?(): void; // the round's bytes are all pushed (the virtconsole fills its buffers then)
}

export class Machine implements HartEnv, HartIrqLines {
  readonly config: MachineConfig;
  readonly bus: Bus;
  readonly dc = new DecodeCache();
  readonly jit: Jit;
  readonly harts: Hart[] = [];
  readonly clint: Clint;
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly testdev: TestDevice;
  /** The 8 virtio-mmio transports, slot 0 (0x10001000) first (none without `virtio`). */
  readonly virtio: VirtioMmio[] = [];
  /** The virtio-blk devices, in --drive order. */
  readonly blks: VirtioBlk[] = [];
  /** The virtio console (`virtconsole`); its output goes to onConsole with the UART's. */
  readonly virtconsole: VirtioConsole | null = null;
  /** Where the scheduler delivers console input: the UART, or the virtconsole (`input`). */
  readonly consoleIn: ConsoleInput;
  /** With `aia`: the APLIC's M domain (the wired sources' root) and its S child domain. */
  readonly aplicM: Aplic | null = null;
  readonly aplicS: Aplic | null = null;
  /** With `aia.mode` aplic-imsic: per hart its M-level IMSIC then its S-level one. */
  readonly imsics: readonly Imsic[] = [];
  /** Where device interrupt lines go: the PLIC, or the APLIC's M domain. */
  readonly irqchip: IrqController;
  /** The goldfish RTC when the configuration has one (`rtc`). */
  readonly rtc: GoldfishRtc | null = null;
  /** fw_cfg and the two flash banks (`qemuBoard`). */
  readonly fwCfg: FwCfg | null = null;
  readonly flash: Pflash[] = [];
  readonly sbi: BuiltinSbi | null = null;
  /** The built-in hypervisor when the configuration has guests. */
  readonly hypervisor: Hypervisor | null = null;
  readonly images: LoadedImage[] = [];
  dtbAddr = 0;
  /** HTIF `tohost` address when the kernel ELF defines one (Spike convention). */
  tohost = -1;

  halt: HaltInfo | null = null;
  /** The devices' clock: the time of the hart running now (src/board/clock.ts). */
  readonly clock: RunningHartClock;
  /** Console output sink. */
  onConsole: (bytes: Uint8Array) => void = () => {};

  constructor(config: MachineConfig) {
    validateConfig(config);
    this.config = config;
    this.bus = new Bus(RAM_BASE, config.ramSize);
    const tier = config.tier ?? (config.jit === undefined ? defaultTier : config.jit ? 'js' : 'interp');
    const hot = config.jitHot ?? defaultJitHot;
    // The wasm tier addresses the shared memory with i32 offsets and reads i32 TLB words: only
    // machines whose buffer is a wasm memory with int32 offsets (up to 2047M of RAM) run it; the
    // others run the JavaScript block translator instead (ARCHITECTURE.md §4).
    const memory = this.bus.bigOffsets ? null : this.bus.memory;
    this.jit = tier === 'wasm' && memory !== null
      ? new WasmTier(this.dc, memory, hot ?? (defaultWasmCompiler !== null ? DEFAULT_WASM_HOT_THREADED : undefined), config.maxUnits ?? defaultMaxUnits)
      : new Jit(this.dc, tier === 'js' || tier === 'wasm', hot, this.bus.bigOffsets);
    if (this.jit instanceof WasmTier) {
      if (defaultWasmBatch !== undefined) this.jit.setBatch(...defaultWasmBatch);
      this.jit.compiler = defaultWasmCompiler;
    }
    for (let i = 0; i < config.harts; i++) {
      const h = new Hart(i, this.bus, this.dc, this);
      h.jit = this.jit;
      this.jit.addHart(h);
      h.obs = config.observer ?? null;
      h.sscofpmf = config.sscofpmf === true;
      this.harts.push(h);
    }
    this.bus.onRamWrite = (pa, len) => {
      const first = Math.floor((this.bus.ramOffset + pa - RAM_BASE) / 4096);
      const last = Math.floor((this.bus.ramOffset + pa + Math.max(len, 1) - 1 - RAM_BASE) / 4096);
      for (let p = first; p <= last; p++) this.jit.invalidatePage(p);
    };
    this.clock = new RunningHartClock(this.harts[0]!);
    // mtimecmp resets to 0 as on QEMU 7.2 (the spec leaves it unspecified): MTIP is pending
    // from reset, so an M-mode program that enables MTIE without programming the timer traps
    // at once on both.
    this.clint = new Clint(config.harts, this, this.clock, { resetMtimecmp: 0n });
    this.plic = new Plic(config.harts, this);
    if (config.aia) {
      const d = buildAia(config.aia, this);
      this.aplicM = d.aplicM;
      this.aplicS = d.aplicS;
      this.imsics = d.imsics;
    }
    this.irqchip = this.aplicM ?? this.plic;
    this.uart = new Uart16550(this.irqchip, 10, (b) => this.onConsole(Uint8Array.of(b)));
    this.testdev = new TestDevice((h) => {
      if (h.kind === 'poweroff') this.stop({ kind: 'poweroff', exitCode: 0, message: 'test device: poweroff (pass)' });
      else if (h.kind === 'fail') this.stop({ kind: 'fail', exitCode: h.code === 0 ? 1 : h.code & 0xff || 1, message: `test device: fail, code ${h.code}` });
      else this.stop({ kind: 'reset', exitCode: 0, message: 'test device: reset requested' });
    });
    this.bus.addDevice(new MaskRom(this.bus));
    this.bus.addDevice(this.testdev);
    this.bus.addDevice(this.clint);
    if (config.aia) {
      this.bus.addDevice(this.aplicM!);
      this.bus.addDevice(this.aplicS!);
      for (const d of this.imsics) this.bus.addDevice(d);
    } else {
      this.bus.addDevice(this.plic);
    }
    this.bus.addDevice(this.uart);
    // virtio devices fill the transports from the highest one down, as QEMU 7.2 virt hands its
    // transports to -device options (its buses are found last-created first): one drive is at
    // 0x10008000 on source 8, Linux's first virtio_mmio node, so it is /dev/vda on both.
    const backends = [
      ...(config.drives ?? []).map((d, k) => { const b = new VirtioBlk(d, k); this.blks.push(b); return b; }),
      ...(config.rngSeed !== undefined ? [new VirtioRng(config.rngSeed)] : []),
      ...(config.virtconsole ? [this.virtconsole = new VirtioConsole((b) => this.onConsole(b))] : []),
    ];
    this.consoleIn = config.virtconsole?.input ? this.virtconsole! : this.uart;
    const virtio = config.virtio === true || backends.length > 0;
    for (let i = 0; i < (virtio ? VIRTIO_MMIO_COUNT : 0); i++) {
      const dev = backends[VIRTIO_MMIO_COUNT - 1 - i] ?? null;
      const t = new VirtioMmio(i, this.bus, this.irqchip, dev);
      this.virtio.push(t);
      this.bus.addDevice(t);
    }
    if (config.qemuBoard || config.pflash) {
      this.fwCfg = new FwCfg(config.harts, this.bus);
      this.bus.addDevice(this.fwCfg);
      this.flash.push(new Pflash(FLASH_BASE, config.pflash?.bytes ?? null), new Pflash(FLASH_BASE + FLASH_BANK_SIZE, null));
      for (const f of this.flash) this.bus.addDevice(f);
    }
    if (config.rtc) {
      this.rtc = new GoldfishRtc(BigInt(config.rtc.base) * 1_000_000_000n, this.clock, this.irqchip);
      this.bus.addDevice(this.rtc);
    }
    if (config.bios === 'builtin') {
      this.sbi = new BuiltinSbi({
        harts: this.harts,
        consoleWrite: (b) => this.onConsole(b),
        consoleRead: () => this.uartReadByte(),
        systemReset: (kind, reason) => this.systemReset(kind, reason),
        fatal: (m) => this.stop({ kind: 'fatal', exitCode: 3, message: m }),
      });
      if (config.aia) {
        aiaColdInit(this.aplicM!, {
          sources: APLIC_NUM_SOURCES,
          harts: config.harts,
          msi: config.aia.mode === 'aplic-imsic' ? { mBase: IMSIC_M_BASE, sBase: IMSIC_S_BASE, guestBits: guestIndexBits(config.aia.guests) } : null,
        });
      }
    }
    if (config.guests && config.guests.length > 0) {
      const sbi = this.sbi!;
      const hv = new Hypervisor({
        harts: this.harts,
        mem: this.bus,
        plic: this.plic,
        aia: config.aia?.mode === 'aplic-imsic' ? {
          aplic: this.aplicS!,
          guestFiles: config.aia.guests,
          msi: (hart, file, eiid) => this.imsics[2 * hart + 1]!.msi(file, eiid),
        } : null,
        // With IMSICs the guests get Ssaia (config.ts guestIsa drops H and Smaia).
        isa: config.aia?.mode === 'aplic-imsic' ? isaString({ aia: config.aia }) : ISA_STRING,
        now: () => this.mtime(this.current),
        consoleWrite: (b) => this.onConsole(b),
        consoleRead: () => this.uartReadByte(),
        startHart: (id) => {
          // SBI HSM hart_start of a pCPU, by the hypervisor: the firmware enters it at HV_ENTRY.
          const err = sbi.hartStart(id, BigInt(HV_ENTRY), BigInt(this.dtbAddr), this.current);
          if (err !== 0n) this.stop({ kind: 'fatal', exitCode: 3, message: `hypervisor: SBI hart_start(${id}) failed: ${err}` });
        },
        systemReset: (kind, reason) => this.systemReset(kind, reason),
        stopMachine: (m) => this.stop({ kind: 'fatal', exitCode: 3, message: m }),
      }, config.guests);
      this.hypervisor = hv;
      for (const h of this.harts) h.hsHandler = hv;
    }
    this.load();
  }

  /**
   * The hart executing now, set by the scheduler before it runs a hart (and read by the trace
   * for the hart of console output and of the halt). Its time is what the devices' clock says.
   */
  get current(): Hart {
    return this.clock.hart;
  }
  set current(h: Hart) {
    this.clock.hart = h;
  }

  get halted(): boolean {
    return this.halt !== null;
  }

  /** SBI SRST (the firmware's, or the hypervisor's when the last VM shuts down). */
  private systemReset(kind: 'poweroff' | 'reset', reason: number): void {
    if (kind === 'poweroff') {
      this.stop({ kind: 'poweroff', exitCode: reason === 1 ? 1 : 0, message: reason === 1 ? 'SBI shutdown (reason: system failure)' : 'SBI shutdown' });
    } else {
      this.stop({ kind: 'reset', exitCode: 0, message: 'SBI system reset requested' });
    }
  }

  stop(h: HaltInfo): void {
    if (this.halt === null) this.halt = h;
    for (const hart of this.harts) hart.attention = true;
  }

  // ---- HartEnv ----
  /** mtime as seen by hart `h`: its virtual time in ticks plus the guest's mtime offset. */
  mtime(h: Hart): bigint {
    return BigInt.asUintN(64, ticksAt(h.vtime()) + this.clint.mtimeOffset());
  }

  // ---- HartIrqLines ----
  setIrqLine(hart: number, bit: number, level: boolean): void {
    this.harts[hart]!.setIrqLine(bit, level);
  }
  timerChanged(hart: number): void {
    this.harts[hart]?.timerChanged();
  }

  /** Recompute the time-driven lines of hart h at its own virtual time (MTIP, Sstc STIP). */
  updateTimers(h: Hart): void {
    const now = this.mtime(h);
    this.clint.updateTimer(h.id, now);
    if (h.sstcEnabled() || h.vsstcEnabled() || (h.mipHw & (C.MIP_STIP | C.MIP_VSTIP)) !== 0) h.updateSstc(now);
    if (this.rtc !== null) this.rtc.poll(ticksAt(h.vtime()));
  }

  /**
   * Virtual time (instructions) at which a time-driven line of h next rises, or Infinity.
   */
  nextDeadline(h: Hart): number {
    const t = this.timerDeadline(h);
    // An armed RTC alarm: every hart's slice ends there, so it fires at that virtual time.
    const rtc = this.rtc !== null ? this.rtc.deadlineTicks() : -1n;
    if (rtc < 0n) return t;
    return Math.min(t, Number(rtc) * INSNS_PER_TICK);
  }

  /** nextDeadline of the hart's own timers (CLINT mtimecmp, Sstc). */
  private timerDeadline(h: Hart): number {
    const now = this.mtime(h);
    let best = CLINT_NO_DEADLINE;
    const cmp = this.clint.mtimecmpOf(h.id);
    if (cmp > now && cmp < best) best = cmp;
    const sstc = h.sstcDeadline(now);
    if (sstc !== null && sstc < best) best = sstc;
    if (best === CLINT_NO_DEADLINE) return Infinity;
    const ticks = best - this.clint.mtimeOffset();
    if (ticks > BigInt(Math.floor(Number.MAX_SAFE_INTEGER / INSNS_PER_TICK))) return Infinity;
    return Number(ticks) * INSNS_PER_TICK;
  }

  private uartReadByte(): number {
    // Console input for SBI getchar / DBCN read comes from the UART receive buffer.
    this.uart.markListening();
    const lsr = Number(this.uart.read(5, 1));
    if ((lsr & 1) === 0) return -1;
    return Number(this.uart.read(0, 1));
  }

  // ---- boot ----
  private load(): void {
    const cfg = this.config;
    const ramEnd = RAM_BASE + cfg.ramSize;
    let kernelEntry = KERNEL_BASE;
    let fwEntry = RAM_BASE;
    const fw = cfg.bios;
    if (typeof fw === 'object') {
      const li = this.loadImage(fw, 'firmware', RAM_BASE);
      fwEntry = li.entry;
    }
    const hv = this.hypervisor;
    if (hv) {
      // The built-in hypervisor is the payload at 0x8020_0000 (no image: it is native code);
      // the guests' images, initrds and DTBs are placed in host RAM by it at boot.
      kernelEntry = HV_ENTRY;
      for (const r of hv.guestRegions()) {
        this.checkRange(r.name, r.base, r.size);
        this.images.push({ name: r.name, role: r.role, base: r.base, size: r.size, entry: /^guest\d+$/.test(r.role) ? r.base : 0 });
      }
    } else if (cfg.kernel) {
      // Without firmware the kernel goes to the start of RAM (QEMU -bios none).
      const base = cfg.bios === 'none' ? RAM_BASE : KERNEL_BASE;
      const li = this.loadImage(cfg.kernel, 'kernel', base);
      kernelEntry = li.entry;
      const th = li.elf ? findSymbol(li.elf.symbols, 'tohost') : undefined;
      if (th) this.tohost = Number(th.value);
    } else if (cfg.bios !== 'none' && typeof cfg.bios !== 'object') {
      throw new ImageError('no kernel given: use --kernel PATH');
    } else if (cfg.bios === 'none') {
      throw new ImageError('--bios none needs --kernel PATH');
    }
    // initrd: QEMU 7.2 riscv_load_initrd puts it at kernel + min(RAM/2, 128 MiB).
    let initrd: { start: bigint; end: bigint } | undefined;
    if (cfg.initrd) {
      const start = kernelEntry + Math.min(cfg.ramSize / 2, 128 * MiB);
      const li = this.loadRaw(cfg.initrd, 'initrd', start);
      initrd = { start: BigInt(li.base), end: BigInt(li.base + li.size) };
    }
    const dtb = cfg.dtb ? cfg.dtb.bytes : buildVirtDtb({
      numHarts: cfg.harts,
      ramBase: BigInt(RAM_BASE),
      ramSize: BigInt(cfg.ramSize),
      isa: isaString(cfg),
      mmuType: 'riscv,sv48',
      bootargs: cfg.append,
      initrd,
      virtioMmio: this.virtio.length > 0,
      rtc: this.rtc !== null,
      // The built-in SBI keeps the M-level AIA devices to itself, as OpenSBI does (fdt.ts hideMLevel).
      ...(cfg.aia ? { aia: { ...cfg.aia, hideMLevel: this.sbi !== null } } : {}),
      qemuBoard: this.fwCfg !== null,
    });
    // QEMU 7.2 riscv_compute_fdt_addr: below min(RAM end, 3 GiB), aligned down to 2 MiB.
    const top = Math.min(ramEnd, 3072 * MiB);
    this.dtbAddr = Math.floor((top - dtb.length) / (2 * MiB)) * (2 * MiB);
    if (this.dtbAddr < RAM_BASE || this.overlapsImage(this.dtbAddr, dtb.length)) {
      throw new ImageError(`RAM (${cfg.ramSize / MiB} MiB) too small to place the device tree above the loaded images`);
    }
    this.bus.writeRam(this.dtbAddr, dtb);
    this.images.push({ name: cfg.dtb?.name ?? '(generated)', role: 'dtb', base: this.dtbAddr, size: dtb.length, entry: 0 });
    // Reset state of every hart: M-mode (priv spec §3.4).
    for (const h of this.harts) {
      h.priv = C.PRV_M;
      h.runState = HartState.Stopped;
    }
    if (this.sbi) {
      // The built-in SBI is native code: no reset ROM runs. What it hands the kernel is set by
      // sbi.boot; a0-a2 of the others as the ROM would leave them (a2: a copy of the
      // fw_dynamic_info just below the DTB).
      const info = new DataView(new ArrayBuffer(48));
      info.setBigUint64(0, 0x4942534fn, true);
      info.setBigUint64(8, 2n, true);
      info.setBigUint64(16, BigInt(kernelEntry), true);
      info.setBigUint64(24, 1n, true);
      info.setBigUint64(32, 0n, true);
      info.setBigUint64(40, 0xffffffffffffffffn, true);
      const infoAddr = this.dtbAddr - 64;
      this.bus.writeRam(infoAddr, new Uint8Array(info.buffer));
      for (const h of this.harts) {
        h.setX(10, BigInt(h.id));
        h.setX(11, BigInt(this.dtbAddr));
        h.setX(12, BigInt(infoAddr));
      }
      // Boot hart 0 into the kernel; the others wait in HSM STOPPED.
      this.sbi.boot(this.harts[0]!, BigInt(kernelEntry), BigInt(this.dtbAddr));
      // What the hypervisor wrote at boot (its idle loop, the G-stage tables).
      if (hv) for (const r of hv.hypervisorRegions()) this.images.push({ name: r.name, role: 'hypervisor', base: r.base, size: r.size, entry: 0 });
    } else {
      // As QEMU: every hart starts in the reset ROM at 0x1000 with its registers at zero; the
      // ROM jumps to the firmware (or, with --bios none, to the kernel's entry: QEMU jumps to the
      // start of RAM, which is the same for a kernel linked there) with a0 = hart id, a1 = DTB,
      // a2 = fw_dynamic_info.
      const start = cfg.bios === 'none' ? kernelEntry : fwEntry;
      this.bus.writeRom(resetRom(start, this.dtbAddr, kernelEntry));
      for (const h of this.harts) {
        h.pc = RESET_VECTOR;
        h.runState = HartState.Running;
      }
    }
  }

  private overlapsImage(base: number, size: number): boolean {
    return this.images.some((i) => base < i.base + i.size && i.base < base + size);
  }

  private checkRange(name: string, base: number, size: number): void {
    if (base < RAM_BASE || base + size > RAM_BASE + this.config.ramSize) {
      const dev = this.bus.findDevice(base, 1);
      if (dev) throw new ImageError(`${name}: segment at 0x${base.toString(16)} overlaps device ${dev.name}`);
      throw new ImageError(`${name}: 0x${base.toString(16)}-0x${(base + size).toString(16)} does not fit in RAM (0x${RAM_BASE.toString(16)}-0x${(RAM_BASE + this.config.ramSize).toString(16)}); try a larger -m`);
    }
    if (this.overlapsImage(base, size)) {
      const o = this.images.find((i) => base < i.base + i.size && i.base < base + size)!;
      throw new ImageError(`${name}: 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${o.role} ${o.name}`);
    }
  }

  private loadImage(img: Image, role: 'firmware' | 'kernel', rawBase: number): LoadedImage {
    if (!isElf(img.bytes)) return this.loadRaw(img, role, rawBase);
    let elf: ElfImage;
    try {
      elf = parseElf(img.bytes);
    } catch (e) {
      throw new ImageError(`${img.name}: ${(e as Error).message}`);
    }
    let lo = Infinity, hi = 0;
    for (const s of elf.segments) {
      const base = Number(s.paddr);
      const size = Number(s.memsz);
      if (size === 0) continue;
      if (base < RAM_BASE || base + size > RAM_BASE + this.config.ramSize) this.checkRange(img.name, base, size);
      lo = Math.min(lo, base);
      hi = Math.max(hi, base + size);
    }
    if (lo === Infinity) throw new ImageError(`${img.name}: ELF has no loadable segments`);
    this.checkRange(img.name, lo, hi - lo);
    for (const s of elf.segments) {
      const base = Number(s.paddr);
      this.bus.writeRam(base, s.data);
      // .bss beyond filesz is zero already (fresh RAM).
    }
    // Entry: translate a virtual entry into the segment that holds it (physical load).
    let entry = Number(elf.entry);
    for (const s of elf.segments) {
      if (elf.entry >= s.vaddr && elf.entry < s.vaddr + s.memsz) entry = Number(s.paddr + (elf.entry - s.vaddr));
    }
    const li: LoadedImage = { name: img.name, role, base: lo, size: hi - lo, entry, elf };
    this.images.push(li);
    return li;
  }

  private loadRaw(img: Image, role: 'firmware' | 'kernel' | 'initrd', base: number): LoadedImage {
    if (img.bytes.length === 0) throw new ImageError(`${img.name}: empty image`);
    this.checkRange(img.name, base, img.bytes.length);
    this.bus.writeRam(base, img.bytes);
    const li: LoadedImage = { name: img.name, role, base, size: img.bytes.length, entry: base };
    this.images.push(li);
    return li;
  }

  /**
   * Machine state except RAM (harts, devices, firmware), as plain data. RAM is saved by the
   * caller page by page (content-addressed in traces).
   */
  saveState(): MachineSnapshot {
    return {
      harts: this.harts.map((h) => h.saveState()),
      clint: this.clint.saveState(),
      plic: this.plic.saveState(),
      ...(this.aplicM ? { aia: { aplic: [this.aplicM.saveState(), this.aplicS!.saveState()], imsic: this.imsics.map((d) => d.saveState()) } } : {}),
      uart: this.uart.saveState(),
      testdev: this.testdev.saveState(),
      ...(this.virtio.length > 0 ? { virtio: this.virtio.map((t) => t.saveState()) } : {}),
      ...(this.rtc ? { rtc: this.rtc.saveState() } : {}),
      ...(this.fwCfg ? { fwCfg: this.fwCfg.saveState(), flash: this.flash.map((f) => f.saveState()) } : {}),
      hsm: this.sbi ? this.sbi.hsm.slice() : null,
      ...(this.hypervisor ? { hyp: this.hypervisor.saveState() } : {}),
      ...this.hpmState(),
    };
  }
  /** The harts' HPM counter state (src/hart/csr.ts), present once a hart has written an HPM CSR. */
  private hpmState(): { hpm?: (HpmSnapshot | null)[] } {
    const hpm = this.harts.map((h) => hpmSaveState(h) ?? null);
    return hpm.some((x) => x !== null) ? { hpm } : {};
  }
  /**
   * `keepCode`: the caller restored RAM itself and invalidated the translated code of every page
   * it changed (Jit.invalidatePage), so the other translations stay (the gdb target's snapshots).
   */
  restoreState(s: MachineSnapshot, opts: { keepCode?: boolean } = {}): void {
    this.halt = null;
    // RAM is restored by the caller around this call: translated code may be stale.
    if (!opts.keepCode) this.jit.invalidateAll();
    this.harts.forEach((h, i) => h.restoreState(s.harts[i]!));
    this.harts.forEach((h, i) => hpmRestoreState(h, s.hpm?.[i] ?? undefined));
    this.clint.restoreState(s.clint);
    this.plic.restoreState(s.plic);
    if (this.aplicM && s.aia) {
      this.aplicM.restoreState(s.aia.aplic[0]);
      this.aplicS!.restoreState(s.aia.aplic[1]);
      this.imsics.forEach((d, i) => d.restoreState(s.aia!.imsic[i]));
    }
    this.uart.restoreState(s.uart);
    this.testdev.restoreState(s.testdev);
    if (s.virtio) this.virtio.forEach((t, i) => t.restoreState(s.virtio![i]));
    if (this.rtc && s.rtc) this.rtc.restoreState(s.rtc);
    if (this.fwCfg && s.fwCfg) this.fwCfg.restoreState(s.fwCfg);
    if (s.flash) this.flash.forEach((f, i) => f.restoreState(s.flash![i]));
    if (this.sbi && s.hsm) s.hsm.forEach((v, i) => { this.sbi!.hsm[i] = v; });
    if (this.hypervisor && s.hyp) this.hypervisor.restoreState(s.hyp);
  }

  /** Spike HTIF: a non-zero write to tohost ends the run; (code << 1) | 1 is an exit code. */
  pollTohost(): void {
    if (this.tohost < 0 || this.halted || !this.bus.isRam(this.tohost, 8)) return;
    const v = this.bus.dv.getBigUint64(this.bus.ramOffset + this.tohost - RAM_BASE, true);
    if (v === 0n) return;
    if ((v & 1n) === 1n) {
      const code = Number((v >> 1n) & 0xffffffffn);
      this.stop({ kind: 'htif', exitCode: code === 0 ? 0 : Math.min(code, 255), message: `HTIF tohost exit ${code}` });
    }
  }
}

export interface MachineSnapshot {
  harts: HartSnapshot[];
  clint: unknown;
  plic: unknown;
  uart: unknown;
  testdev: unknown;
  /** The virtio-mmio transports and their devices (absent in checkpoints from before them). */
  virtio?: unknown[];
  /** The goldfish RTC (present only when the configuration has one). */
  rtc?: unknown;
  /** The APLIC domains (M, S) and the IMSICs (per hart M, S): only with `aia`. */
  aia?: { aplic: unknown[]; imsic: unknown[] };
  /** fw_cfg and the flash banks (present only with `qemuBoard`). */
  fwCfg?: unknown;
  flash?: unknown[];
  hsm: number[] | null;
  /** The built-in hypervisor's state (present only with guests). */
  hyp?: HypervisorSnapshot;
  /**
   * Per hart, the HPM counters' event selectors and bases and mcycle/minstret while inhibited
   * (src/hart/csr.ts; null for a hart that never wrote an HPM CSR). Absent when no hart has any,
   * so snapshots and digests of runs that never touch the counters are unchanged.
   */
  hpm?: (HpmSnapshot | null)[];
}

export function validateConfig(c: MachineConfig): void {
  if (!Number.isInteger(c.harts) || c.harts < 1 || c.harts > MAX_HARTS) {
    throw new ImageError(`--smp must be between 1 and ${MAX_HARTS} (got ${c.harts})`);
  }
  if (!Number.isInteger(c.ramSize) || c.ramSize < 16 * MiB) {
    throw new ImageError(`-m must be at least 16 MiB (got ${c.ramSize} bytes)`);
  }
  if (c.ramSize > MAX_RAM_BYTES) throw new ImageError(`-m must be at most ${MAX_RAM_BYTES / MiB} MiB (16 GiB)`);
  if (c.ramSize % MiB !== 0) throw new ImageError('-m must be a whole number of MiB');
  if ((c.drives?.length ?? 0) + (c.rngSeed !== undefined ? 1 : 0) + (c.virtconsole ? 1 : 0) > VIRTIO_MMIO_COUNT) {
    throw new ImageError(`at most ${VIRTIO_MMIO_COUNT} virtio devices (--drive, --rng, virtconsole): the board has ${VIRTIO_MMIO_COUNT} virtio-mmio slots`);
  }
  if (c.pflash && c.pflash.bytes.length > FLASH_BANK_SIZE) {
    throw new ImageError(`--pflash ${c.pflash.name}: ${c.pflash.bytes.length} bytes do not fit the ${FLASH_BANK_SIZE / MiB} MiB flash bank`);
  }
  if (c.aia) validateAia(c, c.aia);
  if (c.guests && c.guests.length > 0) {
    if (c.bios !== 'builtin') throw new ImageError('--guest needs the built-in firmware (--bios builtin): the built-in hypervisor runs on it');
    if (c.kernel) throw new ImageError('--guest and --kernel exclude each other: the built-in hypervisor is the payload at 0x80200000');
    if (c.initrd || c.append !== undefined) throw new ImageError('--initrd and --append are for --kernel; use --guest-initrd and --guest-append for a guest');
    const need = hostRamFor(c.guests.map((g) => g.memSize));
    if (c.ramSize < need) {
      throw new ImageError(`-m ${c.ramSize / MiB}M is too small for the guests: guest RAM starts at 0x90000000 and needs ${need / MiB}M of host RAM (or leave -m out)`);
    }
  }
}

