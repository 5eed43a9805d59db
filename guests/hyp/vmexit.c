/*
 * VM exit handling (Hypercraft's vmexit_handler): SBI calls from the guest
 * (VS ecall, cause 10), the host timer interrupt (injected as VSTIP),
 * guest-page faults (emulated MMIO or a page mapped back after
 * UNMAP_PAGE) and virtual-instruction exceptions.
 */
#include "hyp.h"
#include "lib.h"
#include "sbi.h"

static const char *const cause_names[24] = {
    [0] = "inst_misaligned", [1] = "inst_access", [2] = "illegal_inst",
    [3] = "breakpoint", [4] = "load_misaligned", [5] = "load_access",
    [6] = "store_misaligned", [7] = "store_access", [8] = "ecall_u",
    [9] = "ecall_s", [10] = "ecall_vs", [11] = "ecall_m",
    [12] = "inst_page_fault", [13] = "load_page_fault", [15] = "store_page_fault",
    [20] = "inst_guest_page_fault", [21] = "load_guest_page_fault",
    [22] = "virtual_inst", [23] = "store_guest_page_fault",
};

const char *cause_name(uint64_t scause)
{
    if (scause & CAUSE_INTERRUPT) {
        switch (scause & ~CAUSE_INTERRUPT) {
        case 1: return "s_soft_irq";
        case 5: return "s_timer_irq";
        case 9: return "s_ext_irq";
        case 12: return "s_guest_ext_irq";
        default: return "irq";
        }
    }
    if (scause < 24 && cause_names[scause])
        return cause_names[scause];
    return "?";
}

/* ------------------------------------------------------------ decode */
enum { K_LB, K_LBU, K_LH, K_LHU, K_LW, K_LWU, K_LD, K_CLW, K_CLD,
       K_SB, K_SH, K_SW, K_SD, K_CSW };
static const char *const kind_names[MMIO_KINDS] = {
    "lb", "lbu", "lh", "lhu", "lw", "lwu", "ld", "c.lw", "c.ld",
    "sb", "sh", "sw", "sd", "c.sw",
};
const char *mmio_kind_name(int k) { return kind_names[k]; }

struct mmio_op {
    bool store;
    bool sign;
    unsigned width;     /* bytes */
    unsigned reg;       /* rd (load) or rs2 (store) */
    unsigned len;       /* instruction length: 2 or 4 */
    int kind;
};

/* 16-bit loads/stores expanded to the equivalent 32-bit instruction, the
 * form that transformed instructions in htinst take (with bit 1 then
 * cleared to say "compressed"). Returns 0 for anything else. */
static uint32_t expand_compressed(uint16_t c)
{
    unsigned op = c & 3, f3 = c >> 13;
    unsigned rdp = ((c >> 2) & 7) + 8, rs1p = ((c >> 7) & 7) + 8;
    uint32_t off;
    if (op == 0 && (f3 == 2 || f3 == 3)) {          /* c.lw, c.ld */
        if (f3 == 2)
            off = ((c >> 6) & 1) << 2 | ((c >> 10) & 7) << 3 | ((c >> 5) & 1) << 6;
        else
            off = ((c >> 10) & 7) << 3 | ((c >> 5) & 3) << 6;
        return off << 20 | rs1p << 15 | f3 << 12 | rdp << 7 | 0x03;
    }
    if (op == 0 && (f3 == 6 || f3 == 7)) {          /* c.sw, c.sd */
        if (f3 == 6)
            off = ((c >> 6) & 1) << 2 | ((c >> 10) & 7) << 3 | ((c >> 5) & 1) << 6;
        else
            off = ((c >> 10) & 7) << 3 | ((c >> 5) & 3) << 6;
        return (off >> 5) << 25 | rdp << 20 | rs1p << 15 | (f3 - 4) << 12 |
               (off & 0x1f) << 7 | 0x23;
    }
    if (op == 2 && (f3 == 2 || f3 == 3)) {          /* c.lwsp, c.ldsp */
        unsigned rd = (c >> 7) & 0x1f;
        if (!rd)
            return 0;
        if (f3 == 2)
            off = ((c >> 4) & 7) << 2 | ((c >> 12) & 1) << 5 | ((c >> 2) & 3) << 6;
        else
            off = ((c >> 5) & 3) << 3 | ((c >> 12) & 1) << 5 | ((c >> 2) & 7) << 6;
        return off << 20 | 2 << 15 | f3 << 12 | rd << 7 | 0x03;
    }
    if (op == 2 && (f3 == 6 || f3 == 7)) {          /* c.swsp, c.sdsp */
        unsigned rs2 = (c >> 2) & 0x1f;
        if (f3 == 6)
            off = ((c >> 9) & 0xf) << 2 | ((c >> 7) & 3) << 6;
        else
            off = ((c >> 10) & 7) << 3 | ((c >> 7) & 7) << 6;
        return (off >> 5) << 25 | rs2 << 20 | 2 << 15 | (f3 - 4) << 12 |
               (off & 0x1f) << 7 | 0x23;
    }
    return 0;
}

/* Transformed instruction (priv spec, "Transformed Instruction or
 * Pseudoinstruction for mtinst or htinst") of a load/store: the immediate
 * and rs1 fields zeroed (rs1 holds the address offset, 0 here), bit 1
 * cleared for a compressed original. `insn` is the 32-bit form. */
static uint32_t transform(uint32_t insn, unsigned len)
{
    uint32_t t;
    if ((insn & 0x7f) == 0x23)
        t = insn & ~((0x7fu << 25) | (0x1fu << 15) | (0x1fu << 7));
    else
        t = insn & ~((0xfffu << 20) | (0x1fu << 15));
    return len == 2 ? t & ~2u : t;
}

/* Decodes a 32-bit-form load/store (bits 1:0 ignored). */
static bool decode_ls(uint32_t insn, unsigned len, struct mmio_op *op)
{
    unsigned opc = (insn >> 2) & 0x1f, f3 = (insn >> 12) & 7;
    op->len = len;
    if (opc == 0x00) {                       /* LOAD */
        op->store = false;
        op->reg = (insn >> 7) & 0x1f;
        switch (f3) {
        case 0: op->width = 1; op->sign = true;  op->kind = K_LB;  break;
        case 1: op->width = 2; op->sign = true;  op->kind = K_LH;  break;
        case 2: op->width = 4; op->sign = true;  op->kind = len == 2 ? K_CLW : K_LW; break;
        case 3: op->width = 8; op->sign = false; op->kind = len == 2 ? K_CLD : K_LD; break;
        case 4: op->width = 1; op->sign = false; op->kind = K_LBU; break;
        case 5: op->width = 2; op->sign = false; op->kind = K_LHU; break;
        case 6: op->width = 4; op->sign = false; op->kind = K_LWU; break;
        default: return false;
        }
        return true;
    }
    if (opc == 0x08) {                       /* STORE */
        op->store = true;
        op->sign = false;
        op->reg = (insn >> 20) & 0x1f;
        switch (f3) {
        case 0: op->width = 1; op->kind = K_SB; break;
        case 1: op->width = 2; op->kind = K_SH; break;
        case 2: op->width = 4; op->kind = len == 2 ? K_CSW : K_SW; break;
        case 3: op->width = 8; op->kind = K_SD; break;
        default: return false;
        }
        return true;
    }
    return false;
}

/* Fetches the instruction at guest virtual address `pc` with HLVX.HU.
 * Returns its 32-bit form (compressed ones expanded when they are
 * loads/stores) and its length, or 0 on a fault. */
static uint32_t fetch_guest_insn(uint64_t pc, uint32_t *raw, unsigned *len)
{
    long lo = hyp_hlvx_hu(pc);
    if (lo < 0)
        return 0;
    if ((lo & 3) != 3) {
        *raw = (uint32_t)lo;
        *len = 2;
        return expand_compressed((uint16_t)lo);
    }
    long hi = hyp_hlvx_hu(pc + 2);
    if (hi < 0)
        return 0;
    *raw = (uint32_t)lo | (uint32_t)hi << 16;
    *len = 4;
    return *raw;
}

/* ------------------------------------------------------------ vdev */
static uint64_t vdev_read(struct VDev *d, uint64_t off, unsigned width)
{
    uint64_t v = 0;
    /* READS counts the loads before this one */
    memcpy(&d->regs[VDEV_WRITES_OFF], &d->writes, 4);
    memcpy(&d->regs[VDEV_READS_OFF], &d->reads, 4);
    for (unsigned i = 0; i < width; i++) {
        uint64_t o = off + i;
        uint64_t b = o < sizeof(d->regs) ? d->regs[o] : 0;
        v |= b << (8 * i);
    }
    d->reads++;
    return v;
}

static void vdev_write(struct VDev *d, uint64_t off, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++) {
        uint64_t o = off + i;
        if (o >= VDEV_SCRATCH_OFF && o < VDEV_SCRATCH_OFF + 4)
            d->regs[o] = (uint8_t)(v >> (8 * i));
    }
    d->writes++;
}

/* ------------------------------------------------------------ faults */
static void unexpected(struct Vm *vm, struct VCpu *vcpu, const char *why)
{
    struct VmCpuRegisters *r = &vcpu->regs;
    printf("hyp: unexpected VM exit (%s): scause 0x%lx (%s) sepc 0x%lx stval 0x%lx "
           "htval 0x%lx htinst 0x%lx\n", why, r->scause, cause_name(r->scause),
           r->sepc, r->stval, r->htval, r->htinst);
    vm->stats.unexpected++;
    vm->shutdown = true;
    vm->shutdown_reason = ~0UL;
}

static void handle_guest_page_fault(struct Vm *vm, struct VCpu *vcpu)
{
    struct VmCpuRegisters *r = &vcpu->regs;
    struct ExitStats *s = &vm->stats;
    uint64_t cause = r->scause;
    uint64_t gpa = (r->htval << 2) | (r->stval & 3);

    /* A guest RAM page taken away by UNMAP_PAGE: map it back and retry.
     * With the fault inside a page the guest uses as a VS-stage table the
     * fault came from the implicit access of the VS-stage walk. */
    uint64_t *pte = gpt_pte(&vm->gpt, gpa);
    if (pte && (*pte & PTE_SWAPPED)) {
        *pte = (*pte & ~PTE_SWAPPED) | PTE_V;
        hfence_gvma_all();
        s->remaps[cause]++;
        s->remap_htinst[cause] = r->htinst;
        /* implicit: htinst holds a pseudoinstruction (bits 1:0 = 00), or
         * the GPA is not the GVA's page (this guest maps its RAM 1:1) */
        bool pseudo = r->htinst && (r->htinst & 3) == 0;
        bool implicit = pseudo ||
                        (gpa & ~(PAGE_SIZE - 1)) != (r->stval & ~(PAGE_SIZE - 1));
        if (implicit)
            s->remap_implicit++;
        printf("hyp: %s at GVA 0x%lx, GPA 0x%lx%s: page mapped back (htinst 0x%lx)\n",
               cause_name(cause), r->stval, gpa,
               implicit ? " (VS-stage page-table walk)" : "", r->htinst);
        return;
    }

    if (cause == EXC_INST_GUEST_PAGE_FAULT ||
        (gpa & ~(PAGE_SIZE - 1)) != VDEV_GPA) {
        unexpected(vm, vcpu, "guest-page fault outside the vdev page");
        return;
    }

    /* MMIO emulation: decode from htinst when the hardware provides it,
     * else from the instruction fetched with HLVX. Always fetch as well,
     * to check htinst against it. */
    uint32_t raw = 0;
    unsigned flen = 0;
    uint32_t fetched = fetch_guest_insn(r->sepc, &raw, &flen);
    struct mmio_op op;
    bool ok;
    if (r->htinst) {
        s->mmio_htinst_nonzero++;
        unsigned len = (r->htinst & 2) ? 4 : 2;
        ok = decode_ls((uint32_t)r->htinst, len, &op);
        if (!fetched || transform(fetched, flen) != (uint32_t)r->htinst) {
            s->mmio_htinst_mismatch++;
            printf("hyp: htinst 0x%lx but fetched 0x%x (transformed 0x%x)\n",
                   r->htinst, raw, fetched ? transform(fetched, flen) : 0);
        }
    } else {
        s->mmio_htinst_zero++;
        ok = fetched && decode_ls(fetched, flen, &op);
    }
    if (!ok || op.store != (cause == EXC_STORE_GUEST_PAGE_FAULT)) {
        unexpected(vm, vcpu, "undecodable MMIO instruction");
        return;
    }
    if (r->stval != gpa)
        s->mmio_gva_ne_gpa++;
    if (r->hstatus & HSTATUS_GVA)
        s->mmio_gva_flag++;

    uint64_t off = gpa - VDEV_GPA;
    if (op.store) {
        uint64_t v = r->gprs[op.reg];
        vdev_write(&vm->vdev, off, op.width, v);
        s->mmio_stores++;
    } else {
        uint64_t v = vdev_read(&vm->vdev, off, op.width);
        if (op.sign && op.width < 8) {
            unsigned sh = 64 - 8 * op.width;
            v = (uint64_t)((int64_t)(v << sh) >> sh);
        }
        if (op.reg)
            r->gprs[op.reg] = v;
        s->mmio_loads++;
    }
    s->mmio_kind[op.kind]++;
    r->sepc += op.len;
}

/* ------------------------------------------------------------ SBI */
static void sbi_ret(struct VmCpuRegisters *r, long error, long value)
{
    r->gprs[10] = (uint64_t)error;
    r->gprs[11] = (uint64_t)value;
}

static long probe(unsigned long eid)
{
    switch (eid) {
    case SBI_EXT_BASE: case SBI_EXT_TIME: case SBI_EXT_SRST: case SBI_EXT_DBCN:
    case SBI_EXT_HYP:
    case SBI_EXT_LEGACY_SET_TIMER: case SBI_EXT_LEGACY_CONSOLE_PUTCHAR:
    case SBI_EXT_LEGACY_SHUTDOWN:
        return 1;
    default:
        return 0;
    }
}

static void guest_set_timer(struct Vm *vm, struct VCpu *vcpu, uint64_t t)
{
    /* Like Hypercraft: drop a pending VSTIP, arm the host timer and
     * re-enable the host timer interrupt (taken as a VM exit while the
     * guest runs; the hypervisor itself runs with sstatus.SIE = 0). */
    if (csr_read(hvip) & HVIP_VSTIP)
        vm->stats.vstip_cleared++;
    csr_clear(hvip, HVIP_VSTIP);
    sbi_set_timer(t);
    csr_set(sie, SIP_STIP);
    vcpu->timer_armed = t != ~0UL;
}

/* Host timer fired: forward it as the guest's timer interrupt and mask
 * the host one until the guest sets a new timer. */
static void inject_guest_timer(struct Vm *vm, struct VCpu *vcpu)
{
    csr_set(hvip, HVIP_VSTIP);
    csr_clear(sie, SIP_STIP);
    vcpu->timer_armed = false;
    vm->stats.vstip_injected++;
}

static void handle_sbi(struct Vm *vm, struct VCpu *vcpu)
{
    struct VmCpuRegisters *r = &vcpu->regs;
    struct ExitStats *s = &vm->stats;
    unsigned long eid = r->gprs[17], fid = r->gprs[16];
    unsigned long a0 = r->gprs[10], a1 = r->gprs[11], a2 = r->gprs[12];
    r->sepc += 4;

    switch (eid) {
    case SBI_EXT_LEGACY_SET_TIMER:
        s->sbi_legacy_set_timer++;
        guest_set_timer(vm, vcpu, a0);
        r->gprs[10] = 0;
        return;
    case SBI_EXT_LEGACY_CONSOLE_PUTCHAR: {
        s->sbi_legacy_putchar++;
        char c = (char)a0;
        sbi_console_write(&c, 1);
        r->gprs[10] = 0;
        return;
    }
    case SBI_EXT_LEGACY_SHUTDOWN:
        s->sbi_legacy_shutdown++;
        vm->shutdown = true;
        vm->shutdown_reason = 0;
        return;
    case SBI_EXT_BASE:
        s->sbi_base++;
        switch (fid) {
        case SBI_BASE_GET_SPEC_VERSION: sbi_ret(r, 0, 2L << 24); return;   /* 2.0 */
        case SBI_BASE_GET_IMPL_ID:      sbi_ret(r, 0, HYP_SBI_IMPL_ID); return;
        case SBI_BASE_GET_IMPL_VERSION: sbi_ret(r, 0, HYP_SBI_IMPL_VERSION); return;
        case SBI_BASE_PROBE_EXTENSION:  s->sbi_probe++; sbi_ret(r, 0, probe(a0)); return;
        case SBI_BASE_GET_MVENDORID: case SBI_BASE_GET_MARCHID:
        case SBI_BASE_GET_MIMPID:       sbi_ret(r, 0, 0); return;
        }
        break;
    case SBI_EXT_TIME:
        if (fid == 0) {
            s->sbi_set_timer++;
            guest_set_timer(vm, vcpu, a0);
            sbi_ret(r, 0, 0);
            return;
        }
        break;
    case SBI_EXT_DBCN:
        if (fid == 0) {          /* write(num_bytes, base_lo, base_hi) */
            s->sbi_dbcn_write++;
            uint64_t gpa = a1, n = a0;
            if (a2) {
                sbi_ret(r, SBI_ERR_INVALID_PARAM, 0);
                return;
            }
            while (n) {
                uint64_t hpa;
                uint64_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));
                if (chunk > n)
                    chunk = n;
                if (gpt_translate(&vm->gpt, gpa, &hpa)) {
                    sbi_ret(r, SBI_ERR_INVALID_PARAM, 0);
                    return;
                }
                sbi_console_write((const char *)hpa, chunk);
                gpa += chunk;
                n -= chunk;
            }
            s->sbi_dbcn_bytes += a0;
            sbi_ret(r, 0, (long)a0);
            return;
        }
        if (fid == 2) {          /* write_byte */
            s->sbi_dbcn_write++;
            char c = (char)a0;
            sbi_console_write(&c, 1);
            sbi_ret(r, 0, 0);
            return;
        }
        break;
    case SBI_EXT_SRST:
        if (fid == 0) {
            s->sbi_srst++;
            printf("hyp: guest SRST type %lu reason %lu\n", a0, a1);
            s->vsatp_at_shutdown = csr_read(vsatp);
            vm->shutdown = true;
            vm->shutdown_reason = a1;
            return;
        }
        break;
    case SBI_EXT_HYP:
        if (fid == SBI_HYP_UNMAP_PAGE) {
            s->sbi_hyp_unmap++;
            uint64_t *pte = gpt_pte(&vm->gpt, a0);
            if (a0 < GUEST_RAM_GPA || a0 >= GUEST_RAM_GPA + GUEST_RAM_SIZE ||
                !pte || !(*pte & PTE_V)) {
                sbi_ret(r, SBI_ERR_INVALID_PARAM, 0);
                return;
            }
            *pte = (*pte & ~PTE_V) | PTE_SWAPPED;
            hfence_gvma_all();
            printf("hyp: G-stage page GPA 0x%lx unmapped\n", a0 & ~(PAGE_SIZE - 1));
            sbi_ret(r, 0, 0);
            return;
        }
        break;
    }
    s->sbi_unsupported++;
    sbi_ret(r, SBI_ERR_NOT_SUPPORTED, 0);
}

/* ------------------------------------------------------------ other */
static void handle_virtual_inst(struct Vm *vm, struct VCpu *vcpu)
{
    struct VmCpuRegisters *r = &vcpu->regs;
    struct ExitStats *s = &vm->stats;
    uint32_t raw = 0;
    unsigned len = 0;
    fetch_guest_insn(r->sepc, &raw, &len);
    if (len == 0) {
        unexpected(vm, vcpu, "cannot fetch the virtual instruction");
        return;
    }
    s->virt_inst++;
    if (r->stval == raw)
        s->virt_inst_stval_ok++;
    const char *what = "?";
    if (raw == 0x10500073) {
        what = "wfi (hstatus.VTW=1)";
        s->virt_inst_wfi++;
    } else if ((raw & 0x7f) == 0x73 && ((raw >> 12) & 7) != 0 && ((raw >> 12) & 7) != 4) {
        unsigned csr = raw >> 20;
        what = (csr >> 8) == 0x6 ? "hypervisor CSR access" : "CSR access";
        s->virt_inst_csr++;
    }
    r->sepc += len;

    /* wfi with a guest timer armed: wait for the host timer here (HS wfi
     * wakes on the pending, sie-enabled STIP although sstatus.SIE = 0),
     * then inject it. */
    const char *note = "";
    if (raw == 0x10500073 && vcpu->timer_armed && !(csr_read(hvip) & HVIP_VSTIP)) {
        while (!(csr_read(sip) & SIP_STIP))
            asm volatile("wfi");
        s->wfi_timer_waits++;
        inject_guest_timer(vm, vcpu);
        note = " after waiting for the guest timer (VSTIP injected)";
    }
    printf("hyp: virtual instruction at 0x%lx: 0x%08x %s, stval 0x%lx; skipped%s\n",
           r->sepc - len, raw, what, r->stval, note);
}

static void handle_interrupt(struct Vm *vm, struct VCpu *vcpu)
{
    struct ExitStats *s = &vm->stats;
    uint64_t irq = vcpu->regs.scause & ~CAUSE_INTERRUPT;
    if (irq == IRQ_S_TIMER) {
        s->host_timer_irqs++;
        inject_guest_timer(vm, vcpu);
        return;
    }
    s->other_irqs++;
    unexpected(vm, vcpu, "interrupt");
}

void vmexit_handler(struct Vm *vm, struct VCpu *vcpu)
{
    struct VmCpuRegisters *r = &vcpu->regs;
    struct ExitStats *s = &vm->stats;
    s->exits++;
    if (!s->first_exit_seen) {
        s->first_exit_seen = 1;
        s->first_exit_hstatus = r->hstatus;
    }
    if (r->scause & CAUSE_INTERRUPT) {
        handle_interrupt(vm, vcpu);
        return;
    }
    if (r->scause < 24)
        s->by_cause[r->scause]++;
    switch (r->scause) {
    case EXC_ECALL_VS:
        handle_sbi(vm, vcpu);
        break;
    case EXC_INST_GUEST_PAGE_FAULT:
    case EXC_LOAD_GUEST_PAGE_FAULT:
    case EXC_STORE_GUEST_PAGE_FAULT:
        handle_guest_page_fault(vm, vcpu);
        break;
    case EXC_VIRTUAL_INST:
        handle_virtual_inst(vm, vcpu);
        break;
    default:
        unexpected(vm, vcpu, "cause not handled");
        break;
    }
}
