/*
 * hvtrace hypervisor (HS-mode SBI payload at 0x8020_0000).
 *
 * Boot flow (like Hypercraft): PerCpu::init, detect the H extension,
 * setup_csrs (hedeleg/hideleg/hcounteren/hvip), build the Vm (G-stage
 * GuestPageTable, guest image, one VCpu), vm_run until the guest shuts
 * down, then print the verdict. See README.md.
 */
#include "hyp.h"
#include "lib.h"
#include "sbi.h"
#include "verdict.h"

extern const char guest_image_start[], guest_image_end[];
extern const uint64_t hyp_extable[], hyp_extable_end[];

static struct PerCpu percpu;
static struct Vm the_vm;
static uint64_t hedeleg_rb, hideleg_rb, hgatp_rb;
static bool have_h;

struct PerCpu *this_cpu(void)
{
    struct PerCpu *p;
    asm volatile("mv %0, tp" : "=r"(p));
    return p;
}

static void percpu_init(unsigned long hartid)
{
    percpu.hartid = hartid;
    percpu.vm = NULL;
    asm volatile("mv tp, %0" :: "r"(&percpu));
}

/* Host (HS-mode) traps: only the probes listed in hyp_extable may fault. */
void trap_handler(struct trap_frame *tf)
{
    for (const uint64_t *e = hyp_extable; e < hyp_extable_end; e += 2) {
        if (tf->sepc == e[0]) {
            hyp_fault_cause = tf->scause;
            tf->sepc = e[1];
            /* We return to HS-mode code: make sure sret does not enter
             * the guest. A trap taken directly into HS-mode clears SPV,
             * but one that OpenSBI redirects from M-mode (QEMU 7.2 raises
             * an HLVX VS-stage fault as a load access fault, which is not
             * delegated) came back with hstatus unchanged. */
            if (have_h)
                csr_clear(hstatus, HSTATUS_SPV);
            return;
        }
    }
    printf("hyp: unexpected HS-mode trap: scause=0x%lx (%s) sepc=0x%lx stval=0x%lx\n",
           tf->scause, cause_name(tf->scause), tf->sepc, tf->stval);
    fail(3);
}

/* Hypercraft's detect_h_extension(): misa is M-mode only, so probe by
 * reading hstatus, which is an illegal instruction without H (OpenSBI
 * redirects it to S-mode, where hyp_extable catches it). */
static bool detect_h_extension(uint64_t *hstatus)
{
    hyp_fault_cause = 0;
    long v = hyp_probe_hstatus();
    *hstatus = (uint64_t)v;
    return v != -1;
}

/* Hypercraft's setup_csrs(). */
static void setup_csrs(void)
{
    csr_write(hedeleg, HEDELEG_VALUE);
    csr_write(hideleg, HIDELEG_VALUE);
    csr_write(hvip, 0);
    csr_write(hcounteren, 0xffffffffUL);
    csr_write(hie, 0);
    csr_write(htimedelta, 0);
    csr_write(henvcfg, 0);
    csr_write(vsatp, 0);
    csr_write(vsstatus, 0);
    csr_write(vsie, 0);
    csr_write(vstvec, 0);
    csr_write(vsscratch, 0);
    csr_write(vsepc, 0);
    csr_write(vscause, 0);
    csr_write(vstval, 0);
    /* host: no HS interrupts while the hypervisor runs (sstatus.SIE = 0);
     * sie.STIE is enabled while a guest timer is armed, and the interrupt
     * is then taken as a VM exit while V = 1. */
    csr_write(sie, 0);
}

static void vm_init(struct Vm *vm)
{
    struct GuestPageTable *gpt = &vm->gpt;
    gpt_init(gpt);
    /* guest RAM: 4 KiB pages so single pages can be taken away */
    for (uint64_t off = 0; off < GUEST_RAM_SIZE; off += PAGE_SIZE) {
        if (gpt_map(gpt, GUEST_RAM_GPA + off, GUEST_RAM_HPA + off,
                    PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)) {
            puts("hyp: G-stage pool exhausted");
            fail(4);
        }
    }
    /* UART: pass-through. The vdev page right after it stays unmapped. */
    gpt_map(gpt, GUEST_UART_GPA, GUEST_UART_GPA, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);

    csr_write(hgatp, gpt_token(gpt));
    hfence_gvma_all();
    hgatp_rb = csr_read(hgatp);

    /* guest image */
    size_t size = (size_t)(guest_image_end - guest_image_start);
    memcpy((void *)(GUEST_RAM_HPA + (GUEST_LOAD_GPA - GUEST_RAM_GPA)), guest_image_start, size);
    asm volatile("fence.i" ::: "memory");

    /* vdev */
    memset(&vm->vdev, 0, sizeof(vm->vdev));
    uint32_t magic = VDEV_MAGIC;
    memcpy(&vm->vdev.regs[VDEV_MAGIC_OFF], &magic, 4);

    /* VCpu 0: enters the guest in VS-mode at its load address */
    struct VCpu *vcpu = &vm->vcpu;
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->vcpu_id = 0;
    vcpu->regs.gprs[10] = 0;                /* a0: virtual hart id */
    vcpu->regs.gprs[11] = 0;                /* a1: no DTB */
    vcpu->regs.sepc = GUEST_LOAD_GPA;
    uint64_t sstatus = csr_read(sstatus);
    sstatus |= SSTATUS_SPP_BIT;             /* return to (V)S */
    sstatus &= ~(SSTATUS_SPIE_BIT | SSTATUS_SIE_BIT);
    vcpu->regs.sstatus = sstatus;
    uint64_t hstatus = csr_read(hstatus);
    hstatus |= HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW;
    hstatus &= ~(HSTATUS_HU | HSTATUS_VTSR | HSTATUS_VTVM | HSTATUS_GVA | HSTATUS_VSBE);
    vcpu->regs.hstatus = hstatus;

    printf("hyp: G-stage Sv39x4 root 0x%lx, %u tables; hgatp 0x%lx\n",
           (uint64_t)gpt->root, gpt->used, hgatp_rb);
    printf("hyp: guest RAM GPA 0x%lx-0x%lx -> HPA 0x%lx, UART 0x%lx passed through, vdev 0x%lx emulated\n",
           (uint64_t)GUEST_RAM_GPA, (uint64_t)(GUEST_RAM_GPA + GUEST_RAM_SIZE - 1),
           (uint64_t)GUEST_RAM_HPA, (uint64_t)GUEST_UART_GPA, (uint64_t)VDEV_GPA);
    printf("hyp: guest image %lu bytes at GPA 0x%lx; entering VS-mode (hstatus 0x%lx)\n",
           (uint64_t)size, (uint64_t)GUEST_LOAD_GPA, vcpu->regs.hstatus);
}

/* Hypercraft's VM::run loop: run the vCPU, handle the exit, repeat. */
static void vm_run(struct Vm *vm)
{
    struct VCpu *vcpu = &vm->vcpu;
    while (!vm->shutdown) {
        _run_guest(&vcpu->regs);
        vmexit_handler(vm, vcpu);
    }
}

/* HLVX from HS-mode after the guest stopped (vsatp = its Sv39 table,
 * hgatp still set, hstatus.SPVP = 1): a GVA without a VS-stage mapping
 * must raise a load page fault (13; QEMU 7.2 raises a load access fault,
 * 5, because it looks at the HS satp, which is Bare), a GVA whose
 * VS-stage mapping leads to a GPA without a G-stage mapping a load
 * guest-page fault (21); both are caught through hyp_extable. */
static uint64_t hlvx_cause_vs, hlvx_cause_g;
static long hlvx_ok_val;

static void hlvx_selftest(void)
{
    /* leave guest context: hstatus.SPV is still 1 from the last VM exit */
    csr_clear(hstatus, HSTATUS_SPV);
    hyp_fault_cause = 0;
    hlvx_ok_val = hyp_hlvx_hu(GUEST_LOAD_GPA);           /* mapped: c.* or 32-bit insn */
    hyp_fault_cause = 0;
    if (hyp_hlvx_hu(0x200000000UL) == -1)                /* VS root[8] invalid */
        hlvx_cause_vs = hyp_fault_cause;
    hyp_fault_cause = 0;
    if (hyp_hlvx_hu(0x80000000UL) == -1)                 /* VS RWX gigapage, no G-stage */
        hlvx_cause_g = hyp_fault_cause;
    printf("hyp: HLVX after shutdown: 0x%lx at the guest entry, VS-stage fault cause %lu, "
           "G-stage fault cause %lu\n", (uint64_t)hlvx_ok_val, hlvx_cause_vs, hlvx_cause_g);
}

/* ------------------------------------------------------------ verdict */
static int n_checks, n_failed;

static void check(bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *name, const char *fmt, ...)
{
    n_checks++;
    if (ok) {
        printf("hyp: ok   %s\n", name);
        return;
    }
    n_failed++;
    printf("hyp: FAIL %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static bool all_kinds(const struct ExitStats *s, const int *kinds, int n)
{
    for (int i = 0; i < n; i++)
        if (!s->mmio_kind[kinds[i]])
            return false;
    return true;
}

static void report(struct Vm *vm)
{
    struct ExitStats *s = &vm->stats;
    printf("hyp: %lu VM exits:", s->exits);
    for (int c = 0; c < 24; c++)
        if (s->by_cause[c])
            printf(" %s=%lu", cause_name(c), s->by_cause[c]);
    printf(" s_timer_irq=%lu; guest timer injected at %lu irq exit(s), %lu wfi wait(s)\n",
           s->host_timer_irqs, s->host_timer_irqs, s->wfi_timer_waits);
    printf("hyp: SBI: legacy_putchar=%lu dbcn_write=%lu (%lu bytes) base=%lu set_timer=%lu srst=%lu hyp_unmap=%lu unsupported=%lu\n",
           s->sbi_legacy_putchar, s->sbi_dbcn_write, s->sbi_dbcn_bytes, s->sbi_base,
           s->sbi_set_timer + s->sbi_legacy_set_timer, s->sbi_srst, s->sbi_hyp_unmap,
           s->sbi_unsupported);
    printf("hyp: MMIO: %lu loads, %lu stores;", s->mmio_loads, s->mmio_stores);
    for (int k = 0; k < MMIO_KINDS; k++)
        if (s->mmio_kind[k])
            printf(" %s=%lu", mmio_kind_name(k), s->mmio_kind[k]);
    printf("\nhyp: MMIO htinst: %lu non-zero, %lu zero (decoded from HLVX)\n",
           s->mmio_htinst_nonzero, s->mmio_htinst_zero);

    static const int loads[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
    static const int stores[] = { 9, 10, 11, 12, 13 };
    uint32_t scratch;
    memcpy(&scratch, &vm->vdev.regs[VDEV_SCRATCH_OFF], 4);

    check(hedeleg_rb == HEDELEG_VALUE && hideleg_rb == HIDELEG_VALUE,
          "hedeleg = 0xb109, hideleg = 0x444 (Hypercraft's setup_csrs)",
          "hedeleg 0x%lx hideleg 0x%lx", hedeleg_rb, hideleg_rb);
    check(hgatp_rb == gpt_token(&vm->gpt), "hgatp = Sv39x4 | root PPN (mode accepted)",
          "hgatp 0x%lx", hgatp_rb);
    check(s->first_exit_seen && (s->first_exit_hstatus & HSTATUS_SPV) &&
          (s->first_exit_hstatus & HSTATUS_SPVP),
          "guest ran in VS-mode (hstatus.SPV=1, SPVP=1 at the first exit)",
          "hstatus 0x%lx", s->first_exit_hstatus);
    check(s->sbi_legacy_putchar > 0 && s->sbi_dbcn_write > 0 && s->sbi_base > 0,
          "SBI console (legacy putchar, DBCN) and BASE calls handled",
          "putchar %lu dbcn %lu base %lu", s->sbi_legacy_putchar, s->sbi_dbcn_write, s->sbi_base);
    check(all_kinds(s, loads, ARRAY_SIZE(loads)) && all_kinds(s, stores, ARRAY_SIZE(stores)),
          "MMIO loads/stores emulated (lb lbu lh lhu lw lwu ld c.lw c.ld sb sh sw sd c.sw)",
          "missing kinds");
    check(s->mmio_bad_gpa == 0 && s->mmio_loads + s->mmio_stores > 0,
          "fault GPA = (htval << 2) | (stval & 3) inside the vdev page",
          "%lu bad", s->mmio_bad_gpa);
    check(s->mmio_htinst_mismatch == 0,
          "htinst (when non-zero) = transformed instruction fetched with HLVX",
          "%lu mismatches", s->mmio_htinst_mismatch);
    check(s->mmio_gva_ne_gpa > 0 && s->mmio_gva_flag == s->mmio_loads + s->mmio_stores,
          "Sv39 alias: stval = GVA != GPA, hstatus.GVA = 1",
          "gva!=gpa %lu, GVA flag %lu", s->mmio_gva_ne_gpa, s->mmio_gva_flag);
    check(scratch == 0x5a6b7c8d && vm->vdev.writes == s->mmio_stores,
          "vdev final state (SCRATCH 0x5a6b7c8d, WRITES = stores)",
          "scratch 0x%x writes %u", scratch, vm->vdev.writes);
    /* Timer A is always injected at a host-interrupt exit; timer B
     * normally while emulating the guest's wfi, unless the host was too
     * slow to reach that wfi within 100 ms (possible without -icount). */
    check(s->host_timer_irqs + s->wfi_timer_waits == 2 && s->host_timer_irqs >= 1 &&
          s->vstip_injected == 2 && s->vstip_cleared == 2,
          "VS timer interrupts injected via hvip.VSTIP (host irq exit, wfi wait), cleared by set_timer",
          "host irq exits %lu, wfi waits %lu, injected %lu, cleared %lu", s->host_timer_irqs,
          s->wfi_timer_waits, s->vstip_injected, s->vstip_cleared);
    check(s->virt_inst == 3 && s->virt_inst_wfi == 2 && s->virt_inst_csr == 1,
          "virtual-instruction exits (2 x wfi with VTW=1, csrr hstatus) reported and skipped",
          "%lu exits (wfi %lu, csr %lu)", s->virt_inst, s->virt_inst_wfi, s->virt_inst_csr);
    check((s->vsatp_at_shutdown >> 60) == SATP_MODE_SV39,
          "guest switched vsatp from Bare to Sv39", "vsatp 0x%lx", s->vsatp_at_shutdown);
    /* The store's VS-stage walk fault should be a store guest-page fault
     * (priv spec: reported for the original access type); QEMU 7.2
     * reports a load guest-page fault. Accept both. */
    check(s->sbi_hyp_unmap == 4 &&
          s->remaps[EXC_LOAD_GUEST_PAGE_FAULT] + s->remaps[EXC_STORE_GUEST_PAGE_FAULT] == 2 &&
          s->remaps[EXC_LOAD_GUEST_PAGE_FAULT] >= 1 &&
          s->remaps[EXC_INST_GUEST_PAGE_FAULT] == 1 && s->remap_implicit == 2,
          "G-stage unmap + remap on guest-page faults (VS walk load/store, fetch)",
          "unmap %lu, remaps load %lu store %lu fetch %lu, implicit %lu", s->sbi_hyp_unmap,
          s->remaps[EXC_LOAD_GUEST_PAGE_FAULT], s->remaps[EXC_STORE_GUEST_PAGE_FAULT],
          s->remaps[EXC_INST_GUEST_PAGE_FAULT], s->remap_implicit);
    check(hlvx_ok_val >= 0 &&
          (hlvx_cause_vs == EXC_LOAD_PAGE_FAULT || hlvx_cause_vs == EXC_LOAD_ACCESS_FAULT) &&
          hlvx_cause_g == EXC_LOAD_GUEST_PAGE_FAULT,
          "HLVX faults caught in HS-mode (VS-stage: 13, or 5 on QEMU 7.2; G-stage: 21)",
          "read 0x%lx, causes %lu / %lu", (uint64_t)hlvx_ok_val, hlvx_cause_vs, hlvx_cause_g);
    check(s->unexpected == 0, "no unexpected VM exits", "%lu", s->unexpected);
    check(vm->shutdown && vm->shutdown_reason == 0,
          "guest shut down with SRST, reason none (its own checks passed)",
          "reason %lu", vm->shutdown_reason);
    printf("hyp: %d/%d checks passed\n", n_checks - n_failed, n_checks);
}

int main(unsigned long hartid, unsigned long dtb)
{
    percpu_init(hartid);
    printf("hyp: hvtrace hypervisor on hart %lu\n", this_cpu()->hartid);
    uint64_t hstatus;
    if (!detect_h_extension(&hstatus)) {
        printf("hyp: no H extension (reading hstatus trapped: scause %lu)\n", hyp_fault_cause);
        fail(2);
    }
    have_h = true;
    printf("hyp: H extension present, hstatus 0x%lx\n", hstatus);
    setup_csrs();
    hedeleg_rb = csr_read(hedeleg);
    hideleg_rb = csr_read(hideleg);
    printf("hyp: hedeleg 0x%lx hideleg 0x%lx hcounteren 0x%lx\n",
           hedeleg_rb, hideleg_rb, csr_read(hcounteren));

    struct Vm *vm = &the_vm;
    this_cpu()->vm = vm;
    vm_init(vm);
    vm_run(vm);
    hlvx_selftest();
    report(vm);
    return n_failed ? 10 + (n_failed > 200 ? 200 : n_failed) : 0;
}
