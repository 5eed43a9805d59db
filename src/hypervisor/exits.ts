/**
 * VM exit reasons, as recorded in `vm_exit` events (column a = code, payload.reason = name,
 * column c = detail; see src/trace/model.ts).
 */
export const VM_EXIT = {
  /** VS-mode ecall: an SBI call (detail = extension id). */
  sbi_call: 1,
  /** Host timer interrupt: SBI timer injection, round-robin slice (detail = cause 5). */
  timer_irq: 2,
  /** Host software interrupt: another pCPU asked this one to look at its vCPUs (detail = 1). */
  software_irq: 3,
  /**
   * Host external interrupt from the real PLIC, claimed for the vPLIC (detail = 9); with AIA,
   * SGEI: an MSI into the guest file of a waiting vCPU that shares the pCPU (detail = 12).
   */
  external_irq: 4,
  /** Emulated load from a trapped device register: vPLIC contexts, vAPLIC, test device (detail = GPA). */
  mmio_load: 5,
  /** Emulated store to a trapped device register (detail = GPA). */
  mmio_store: 6,
  /** WFI trapped by hstatus.VTW (vCPUs sharing a pCPU; detail = instruction bits). */
  wfi: 7,
  /** Guest-page fault outside the guest's memory and devices: the VM stops (detail = GPA). */
  guest_page_fault: 8,
  /** Virtual-instruction exception other than WFI: the VM stops (detail = instruction bits). */
  virtual_instruction: 9,
  /** Any other exception from the guest (detail = cause). */
  exception: 10,
  /** The VM stopped: shutdown or reset by SBI SRST, or an error above (detail = 0). */
  vm_stopped: 11,
} as const;

export type VmExitReason = keyof typeof VM_EXIT;

export const VM_EXIT_NAMES: Readonly<Record<number, VmExitReason>> = Object.freeze(
  Object.fromEntries(Object.entries(VM_EXIT).map(([k, v]) => [v, k as VmExitReason])),
);
