/**
 * What the built-in hypervisor needs from the board and the firmware below it. The machine
 * implements it (src/board/machine.ts); calls into the firmware (starting a pCPU) are direct
 * calls, as the DESIGN allows for native components.
 */
import type { Hart } from '../hart/hart.js';
import type { MmioDevice } from '../mem/device.js';
import type { PhysMem } from './gpt.js';

/**
 * The AIA of a board with `--aia aplic-imsic` (null with the PLIC): what the hypervisor needs to
 * deliver a guest's interrupts through IMSIC guest interrupt files (see vaplic.ts).
 */
export interface HvAia {
  /** The physical APLIC's S-level domain, in MSI mode (offsets from 0x0d00_0000, 4-byte registers). */
  readonly aplic: MmioDevice;
  /** Guest interrupt files per hart (GEILEN, --aia-guests). */
  readonly guestFiles: number;
  /** An MSI `eiid` to S-level IMSIC file `file` of hart `hart` (0 = its S file, k = guest file k). */
  msi(hart: number, file: number, eiid: number): void;
}

export interface HvPlatform {
  /** The physical harts (pCPUs). */
  readonly harts: readonly Hart[];
  /** Host physical memory. */
  readonly mem: PhysMem;
  /** The real PLIC (offsets from its base, 4-byte registers). */
  readonly plic: MmioDevice & { readonly numContexts: number };
  /** With --aia aplic-imsic: the APLIC's S domain and the IMSICs; null with the PLIC. */
  readonly aia: HvAia | null;
  /** The host's riscv,isa string (the guests get it without H). */
  readonly isa: string;
  /** Current mtime of the hart that is executing. */
  now(): bigint;
  /** Guest console output (DBCN, legacy putchar). */
  consoleWrite(bytes: Uint8Array): void;
  /** One byte of console input, or -1. */
  consoleRead(): number;
  /**
   * SBI HSM hart_start of pCPU `id` into HS-mode at HV_ENTRY (a0 = id, a1 = host DTB): the
   * firmware's mret reaches the hypervisor's onEnter before this returns.
   */
  startHart(id: number): void;
  /** SBI SRST on behalf of the last VM that shut down. */
  systemReset(kind: 'poweroff' | 'reset', reason: number): void;
  /** The last VM stopped for a reason other than a shutdown: stop the machine (one line). */
  stopMachine(message: string): void;
}
