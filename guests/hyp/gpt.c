/*
 * GuestPageTable: Sv39x4 G-stage translation (guest physical -> host
 * physical). The root table is 16 KiB (2048 entries, indexed by GPA bits
 * 40:30) and 16 KiB aligned; the lower levels are ordinary 4 KiB Sv39
 * tables. Tables come from a static pool; nothing is ever freed.
 *
 * G-stage leaves must have U = 1 (all guest accesses are checked as
 * U-mode accesses by the G-stage) and we preset A and D so the hardware
 * never has to update them.
 */
#include "hyp.h"
#include "lib.h"

static uint64_t gpt_root[2048] __attribute__((aligned(16384)));
static uint64_t gpt_pool[GPT_POOL_PAGES][512] __attribute__((aligned(4096)));

void hfence_gvma_all(void)
{
    asm volatile(".option push\n.option arch, +h\n"
                 "hfence.gvma zero, zero\n.option pop" ::: "memory");
}

void gpt_init(struct GuestPageTable *gpt)
{
    memset(gpt_root, 0, sizeof(gpt_root));
    memset(gpt_pool, 0, sizeof(gpt_pool));
    gpt->root = gpt_root;
    gpt->used = 0;
}

static uint64_t *alloc_table(struct GuestPageTable *gpt)
{
    if (gpt->used >= GPT_POOL_PAGES)
        return NULL;
    return gpt_pool[gpt->used++];
}

static uint64_t *next_level(struct GuestPageTable *gpt, uint64_t *pte, bool create)
{
    if (*pte & PTE_V) {
        if (*pte & (PTE_R | PTE_W | PTE_X))
            return NULL;                    /* a superpage leaf */
        return (uint64_t *)((*pte >> 10) << 12);
    }
    if (!create)
        return NULL;
    uint64_t *t = alloc_table(gpt);
    if (!t)
        return NULL;
    *pte = (((uint64_t)t >> 12) << 10) | PTE_V;
    return t;
}

static uint64_t *walk(struct GuestPageTable *gpt, uint64_t gpa, bool create)
{
    if (gpa >> 41)
        return NULL;
    uint64_t *l1 = next_level(gpt, &gpt->root[(gpa >> 30) & 0x7ff], create);
    if (!l1)
        return NULL;
    uint64_t *l0 = next_level(gpt, &l1[(gpa >> 21) & 0x1ff], create);
    if (!l0)
        return NULL;
    return &l0[(gpa >> 12) & 0x1ff];
}

int gpt_map(struct GuestPageTable *gpt, uint64_t gpa, uint64_t hpa, uint64_t flags)
{
    uint64_t *pte = walk(gpt, gpa, true);
    if (!pte)
        return -1;
    *pte = ((hpa >> 12) << 10) | flags | PTE_V;
    return 0;
}

uint64_t *gpt_pte(struct GuestPageTable *gpt, uint64_t gpa)
{
    return walk(gpt, gpa, false);
}

/* Software walk, as the DBCN handler needs host addresses for a guest
 * buffer. Treats pages taken away by UNMAP_PAGE as present. */
int gpt_translate(struct GuestPageTable *gpt, uint64_t gpa, uint64_t *hpa)
{
    uint64_t *pte = walk(gpt, gpa, false);
    if (!pte || !(*pte & (PTE_V | PTE_SWAPPED)) || !(*pte & PTE_R))
        return -1;
    *hpa = ((*pte >> 10) << 12) | (gpa & (PAGE_SIZE - 1));
    return 0;
}

uint64_t gpt_token(struct GuestPageTable *gpt)
{
    return (HGATP_MODE_SV39X4 << 60) | ((uint64_t)gpt->root >> 12);   /* VMID 0 */
}
