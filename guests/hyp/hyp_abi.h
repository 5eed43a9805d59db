/*
 * Interface between the hvtrace hypervisor (guests/hyp) and its guest
 * (guests/hyp/guest): the guest-physical memory map, the emulated device
 * and the hypervisor's own SBI extension. Included by C and assembly.
 */
#ifndef HVTRACE_HYP_ABI_H
#define HVTRACE_HYP_ABI_H

/* Guest RAM: 16 MiB at GPA 0x9000_0000, backed by host RAM at
 * 0x8800_0000 (with -m 256M host RAM ends at 0x9000_0000, so the guest
 * region cannot be an identity map). Mapped with 4 KiB G-stage pages. */
#define GUEST_RAM_GPA       0x90000000
#define GUEST_RAM_HPA       0x88000000
#define GUEST_RAM_SIZE      0x01000000
#define GUEST_LOAD_GPA      0x90200000   /* guest image, entry point */

/* UART page, passed through (GPA == HPA). */
#define GUEST_UART_GPA      0x10000000

/*
 * Emulated device ("vdev"), one 4 KiB page at GPA 0x1000_1000 that is NOT
 * mapped in the G-stage table: every access is a load/store guest-page
 * fault (cause 21/23) that the hypervisor emulates. Byte-addressable
 * little-endian registers, any access width:
 *   0x0 MAGIC   read-only, 0xC0DE5EED
 *   0x4 SCRATCH read/write
 *   0x8 WRITES  read-only, number of stores to the device so far
 *   0xc READS   read-only, number of loads from the device before this one
 * Other offsets read as 0; stores to them are ignored (but counted).
 */
#define VDEV_GPA            0x10001000
#define VDEV_MAGIC          0xC0DE5EED
#define VDEV_MAGIC_OFF      0x0
#define VDEV_SCRATCH_OFF    0x4
#define VDEV_WRITES_OFF     0x8
#define VDEV_READS_OFF      0xc

/* In the guest's Sv39 phase, VA 0x1_0000_1000 is a second mapping of the
 * vdev page (GVA != GPA in the fault). */
#define GUEST_VDEV_ALIAS_VA 0x100001000

/*
 * Hypervisor SBI extension (experimental EID range), "\x08HYP".
 *   fid 0 UNMAP_PAGE(gpa): invalidates the G-stage PTE of one guest RAM
 *         page (contents kept, like a swap-out) and runs hfence.gvma. The
 *         next guest access to it is a guest-page fault after which the
 *         hypervisor maps it again and retries the instruction.
 */
#define SBI_EXT_HYP             0x08485950
#define SBI_HYP_UNMAP_PAGE      0

/* Hypervisor's SBI implementation id / version reported to the guest. */
#define HYP_SBI_IMPL_ID         0x48565452   /* "HVTR" */
#define HYP_SBI_IMPL_VERSION    1

#endif
