/*
 * hvtrace hypervisor: HS-mode definitions. Names follow Hypercraft
 * (PerCpu, VCpu, Vm, GuestPageTable, vm_run) where that is natural.
 */
#ifndef HVTRACE_HYP_H
#define HVTRACE_HYP_H

#include "types.h"
#include "hyp_abi.h"

/* ------------------------------------------------------------ CSR bits */
#define HSTATUS_VSBE        (1UL << 5)
#define HSTATUS_GVA         (1UL << 6)
#define HSTATUS_SPV         (1UL << 7)
#define HSTATUS_SPVP        (1UL << 8)
#define HSTATUS_HU          (1UL << 9)
#define HSTATUS_VTVM        (1UL << 20)
#define HSTATUS_VTW         (1UL << 21)
#define HSTATUS_VTSR        (1UL << 22)

#define SSTATUS_SIE_BIT     (1UL << 1)
#define SSTATUS_SPIE_BIT    (1UL << 5)
#define SSTATUS_SPP_BIT     (1UL << 8)

#define IRQ_S_TIMER         5
#define IRQ_VS_SOFT         2
#define IRQ_VS_TIMER        6
#define IRQ_VS_EXT          10
#define SIP_STIP            (1UL << IRQ_S_TIMER)
#define HVIP_VSSIP          (1UL << IRQ_VS_SOFT)
#define HVIP_VSTIP          (1UL << IRQ_VS_TIMER)
#define HVIP_VSEIP          (1UL << IRQ_VS_EXT)

#define CAUSE_INTERRUPT             (1UL << 63)
#define EXC_INST_MISALIGNED         0
#define EXC_ILLEGAL_INST            2
#define EXC_LOAD_ACCESS_FAULT       5
#define EXC_BREAKPOINT              3
#define EXC_ECALL_U                 8
#define EXC_ECALL_VS                10
#define EXC_INST_PAGE_FAULT         12
#define EXC_LOAD_PAGE_FAULT         13
#define EXC_STORE_PAGE_FAULT        15
#define EXC_INST_GUEST_PAGE_FAULT   20
#define EXC_LOAD_GUEST_PAGE_FAULT   21
#define EXC_VIRTUAL_INST            22
#define EXC_STORE_GUEST_PAGE_FAULT  23

/* Hypercraft's setup_csrs() values. hedeleg bits 10 and 20-23 are
 * read-only zero: VS ecalls, guest-page faults and virtual-instruction
 * exceptions always reach HS-mode. */
#define HEDELEG_VALUE   ((1UL << EXC_INST_MISALIGNED) | (1UL << EXC_BREAKPOINT) | \
                         (1UL << EXC_ECALL_U) | (1UL << EXC_INST_PAGE_FAULT) | \
                         (1UL << EXC_LOAD_PAGE_FAULT) | (1UL << EXC_STORE_PAGE_FAULT))
#define HIDELEG_VALUE   (HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP)

#define HGATP_MODE_SV39X4   8UL
#define SATP_MODE_SV39      8UL

/* PTE bits (both stages) */
#define PTE_V   (1UL << 0)
#define PTE_R   (1UL << 1)
#define PTE_W   (1UL << 2)
#define PTE_X   (1UL << 3)
#define PTE_U   (1UL << 4)
#define PTE_G   (1UL << 5)
#define PTE_A   (1UL << 6)
#define PTE_D   (1UL << 7)
#define PTE_SWAPPED (1UL << 8)     /* RSW: valid mapping taken away by UNMAP_PAGE */

#define PAGE_SIZE   4096UL

/* ------------------------------------------------------------ structures */

/* Saved state of one vCPU; offsets used by vcpu.S (checked in vcpu.c). */
struct VmCpuRegisters {
    uint64_t gprs[32];      /*   0: guest x0..x31 */
    uint64_t sepc;          /* 256: guest pc */
    uint64_t sstatus;       /* 264: HS sstatus used for sret (SPP) */
    uint64_t hstatus;       /* 272: hstatus used for sret (SPV, SPVP, VTW) */
    uint64_t scause;        /* 280: trap info, written by _guest_exit */
    uint64_t stval;         /* 288 */
    uint64_t htval;         /* 296 */
    uint64_t htinst;        /* 304 */
    uint64_t hyp_regs[16];  /* 312: ra sp gp tp s0..s11 of the hypervisor */
    uint64_t hyp_stvec;     /* 440 */
    uint64_t hyp_sscratch;  /* 448 */
};
#define VCPU_REGS_SIZE 456

/* Sv39x4 G-stage table: a 16 KiB root (2048 entries, GPA bits 40:30),
 * 4 KiB tables below, all from a static pool. */
#define GPT_POOL_PAGES 16
struct GuestPageTable {
    uint64_t *root;
    unsigned used;          /* pool pages used after the root */
};

/* The emulated device's state. */
struct VDev {
    uint8_t regs[16];
    uint32_t writes;
    uint32_t reads;
};

/* Counters that the verdict checks (see README). */
#define MMIO_KINDS 14
struct ExitStats {
    uint64_t exits;
    uint64_t by_cause[24];
    uint64_t host_timer_irqs;
    uint64_t other_irqs;
    uint64_t sbi_legacy_putchar, sbi_legacy_set_timer, sbi_legacy_shutdown;
    uint64_t sbi_base, sbi_probe, sbi_dbcn_write, sbi_dbcn_bytes;
    uint64_t sbi_set_timer, sbi_srst, sbi_hyp_unmap, sbi_unsupported;
    uint64_t vstip_injected, vstip_cleared, wfi_timer_waits;
    uint64_t mmio_loads, mmio_stores;
    uint64_t mmio_kind[MMIO_KINDS];
    uint64_t mmio_htinst_nonzero, mmio_htinst_zero, mmio_htinst_mismatch;
    uint64_t mmio_bad_gpa, mmio_gva_ne_gpa, mmio_gva_flag;
    uint64_t remaps[24];               /* per cause: swapped page mapped back */
    uint64_t remap_htinst[24];         /* last htinst seen on such a fault */
    uint64_t remap_implicit;           /* fault GPA inside a guest PT page */
    uint64_t virt_inst, virt_inst_wfi, virt_inst_csr;
    uint64_t virt_inst_stval_ok;
    uint64_t unexpected;
    uint64_t first_exit_hstatus, first_exit_seen;
    uint64_t vsatp_at_shutdown;
};

struct VCpu {
    unsigned long vcpu_id;
    bool timer_armed;       /* guest set_timer pending, VSTIP not injected yet */
    struct VmCpuRegisters regs;
};

struct Vm {
    struct GuestPageTable gpt;
    struct VCpu vcpu;
    struct VDev vdev;
    struct ExitStats stats;
    bool shutdown;
    unsigned long shutdown_reason;
};

struct PerCpu {
    unsigned long hartid;
    struct Vm *vm;
};

/* ------------------------------------------------------------ functions */
/* hyp.S */
void _run_guest(struct VmCpuRegisters *regs);
void _guest_exit(void);
long hyp_probe_hstatus(void);          /* hstatus, or -1 if the read trapped */
long hyp_hlvx_hu(unsigned long gva);   /* zero-extended halfword, -1 on fault */
extern unsigned long hyp_fault_cause;  /* scause of the last fixed-up fault */

/* gpt.c */
void gpt_init(struct GuestPageTable *gpt);
int  gpt_map(struct GuestPageTable *gpt, uint64_t gpa, uint64_t hpa, uint64_t flags);
uint64_t *gpt_pte(struct GuestPageTable *gpt, uint64_t gpa);  /* leaf slot or NULL */
int  gpt_translate(struct GuestPageTable *gpt, uint64_t gpa, uint64_t *hpa);
uint64_t gpt_token(struct GuestPageTable *gpt);                /* hgatp value */
void hfence_gvma_all(void);

/* vmexit.c */
void vmexit_handler(struct Vm *vm, struct VCpu *vcpu);
const char *cause_name(uint64_t scause);
const char *mmio_kind_name(int k);

/* main.c */
struct PerCpu *this_cpu(void);

/* CSR access by number, for names an assembler may not know */
#define csr_read_n(num) ({ unsigned long __v; \
    asm volatile("csrr %0, " #num : "=r"(__v) :: "memory"); __v; })
#define csr_write_n(num, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrw " #num ", %0" :: "r"(__v) : "memory"); })

#endif
