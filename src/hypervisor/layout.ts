/**
 * Fixed addresses of the built-in hypervisor (host physical) and of the guest memory map it
 * builds (guest physical), after Hypercraft's (DESIGN.md §1): the hypervisor is the SBI payload
 * at 0x8020_0000, guest RAM lives at 0x9000_0000 and up, guests see the QEMU `virt` devices.
 */

const MiB = 1024 * 1024;

/** Where the built-in SBI enters the hypervisor (a0 = hartid, a1 = host DTB), as any payload. */
export const HV_ENTRY = 0x8020_0000;
/**
 * The idle loop of a pCPU without a runnable vCPU: `wfi; j HV_IDLE`, in HS-mode with
 * sstatus.SIE = 1, so the next host interrupt traps back into the hypervisor.
 */
export const HV_IDLE = HV_ENTRY;
/** stvec of every pCPU. Never executed: traps into HS-mode reach the native handler. */
export const HV_TRAP_VECTOR = HV_ENTRY + 0x100;
/** Pool of G-stage page-table pages (16 KiB-aligned roots, 4 KiB tables). */
export const HV_POOL_BASE = 0x8040_0000;
export const HV_POOL_SIZE = 4 * MiB;
/** First host-physical byte of guest RAM; VM k's RAM follows VM k-1's. */
export const GUEST_HPA_BASE = 0x9000_0000;
/** Guest RAM's guest-physical base for raw images (GPA = HPA, as Hypercraft). */
export const GUEST_GPA_DEFAULT = 0x9000_0000;
/**
 * Guest RAM's guest-physical base for ELF images linked for the QEMU `virt` board (the
 * bundled guests, at 0x8020_0000): they run unchanged at their link address, backed by host
 * RAM at GUEST_HPA_BASE and up.
 */
export const GUEST_GPA_VIRT = 0x8000_0000;
/** The kernel (raw image) goes 2 MiB into guest RAM, like an SBI payload. */
export const GUEST_KERNEL_OFFSET = 2 * MiB;
export const DEFAULT_GUEST_MEM = 128 * MiB;
export const MIN_GUEST_MEM = 16 * MiB;
export const MAX_GUEST_MEM = 1024 * MiB;
/** At most 8 vCPUs per VM (Hypercraft's VmCpus). */
export const MAX_VCPUS = 8;
/** Host RAM needed above the guests: the host DTB (placed at the top of host RAM). */
export const HOST_RAM_SLACK = 16 * MiB;

/** Round-robin slice of a vCPU that shares its pCPU, in mtime ticks (1 ms at 10 MHz). */
export const SLICE_TICKS = 10_000n;

/** Devices the guest reaches directly (G-stage identity mappings). */
export const UART_BASE = 0x1000_0000;
export const TESTDEV_BASE = 0x0010_0000;
export const PLIC_BASE = 0x0c00_0000;
/** Priority, pending and enable registers: passed through (Hypercraft maps them). */
export const PLIC_PASSTHROUGH_SIZE = 0x20_0000;
/** Context registers (threshold, claim/complete): trapped and emulated by the vPLIC. */
export const PLIC_CONTEXT_BASE = 0x0c20_0000;
export const PLIC_CONTEXT_STRIDE = 0x1000;
export const PLIC_CONTEXT_END = 0x0c60_0000;

/** The host RAM a machine needs for these guests when -m is not given. */
export function hostRamFor(guestMem: readonly number[]): number {
  return GUEST_HPA_BASE - 0x8000_0000 + guestMem.reduce((a, b) => a + b, 0) + HOST_RAM_SLACK;
}

/**
 * With --aia aplic-imsic the guest has no PLIC: its S-level APLIC domain (trapped, vaplic.ts)
 * and its IMSIC S-level files, one page per vCPU, G-stage mapped onto the vCPUs' physical guest
 * interrupt files (QEMU virt addresses, a guest without guest files of its own).
 */
export const GUEST_APLIC_BASE = 0x0d00_0000;
export const GUEST_APLIC_SIZE = 0x8000;
export const GUEST_IMSIC_BASE = 0x2800_0000;

/**
 * Guest interrupt files each pCPU needs: vCPUs are placed in order over the pCPUs (VM 0's vCPU
 * i on pCPU i mod harts, the next VM's after), and each vCPU on a pCPU gets its own file.
 */
export function guestFilesNeeded(vcpus: readonly number[], harts: number): number {
  const per = new Array<number>(harts).fill(0);
  let k = 0;
  for (const n of vcpus) for (let i = 0; i < n; i++) per[(k++) % harts]!++;
  return Math.max(0, ...per);
}
