/*
 * board-probe: what a guest sees of QEMU virt's fw-cfg@10100000 and flash@20000000, printed
 * so that the console can be compared between hvtrace and QEMU 7.2
 * (test/reference/board-probe.test.ts). fw_cfg: the DMA signature, the signature, ID and
 * NB_CPUS items through the data register, the file directory, a file's contents, and the same
 * through DMA (select + read, skip). Flash: read-array data, the CFI query table, the device
 * id, the status register, and a refused program and erase.
 */
#include "lib.h"
#include "sbi.h"

#define FW_CFG      0x10100000UL
#define FLASH0      0x20000000UL
#define FLASH1      0x22000000UL

static inline uint8_t  rd8(unsigned long a)  { return *(volatile uint8_t *)a; }
static inline uint16_t rd16(unsigned long a) { return *(volatile uint16_t *)a; }
static inline uint32_t rd32(unsigned long a) { return *(volatile uint32_t *)a; }
static inline uint64_t rd64(unsigned long a) { return *(volatile uint64_t *)a; }
static inline void wr16(unsigned long a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void wr32(unsigned long a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(unsigned long a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint16_t be16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }
static inline uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t be64(uint64_t v) { return __builtin_bswap64(v); }

static void fw_select(uint16_t key) { wr16(FW_CFG + 8, be16(key)); }

struct dma_access { uint32_t control, length; uint64_t address; } __attribute__((aligned(16)));
static struct dma_access dma;
static uint8_t buf[256];

static uint32_t fw_dma(uint32_t control, void *dst, uint32_t len, int split)
{
    dma.control = be32(control);
    dma.length = be32(len);
    dma.address = be64((uint64_t)(unsigned long)dst);
    asm volatile("fence rw, rw" ::: "memory");
    uint64_t a = (uint64_t)(unsigned long)&dma;
    if (split) {
        wr32(FW_CFG + 16, be32((uint32_t)(a >> 32)));
        wr32(FW_CFG + 20, be32((uint32_t)a));
    } else {
        wr64(FW_CFG + 16, be64(a));
    }
    asm volatile("fence rw, rw" ::: "memory");
    return be32(dma.control);
}

static void probe_fw_cfg(void)
{
    printf("fw_cfg dma signature %016lx\n", (unsigned long)be64(rd64(FW_CFG + 16)));
    fw_select(0x00);
    uint32_t sig = rd32(FW_CFG);
    printf("fw_cfg signature %c%c%c%c\n", sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >> 24);
    fw_select(0x01);
    printf("fw_cfg id %08x\n", rd32(FW_CFG));
    fw_select(0x05);
    printf("fw_cfg nb_cpus %u\n", rd16(FW_CFG));
    fw_select(0x04);
    printf("fw_cfg nographic %u\n", rd8(FW_CFG) | (rd8(FW_CFG) << 8));
    fw_select(0x0e);
    printf("fw_cfg boot_menu %u\n", rd16(FW_CFG));
    fw_select(0x02);
    printf("fw_cfg uuid %016lx%016lx\n", (unsigned long)rd64(FW_CFG), (unsigned long)rd64(FW_CFG));
    fw_select(0x19);
    uint32_t n = be32(rd32(FW_CFG));
    printf("fw_cfg files %u\n", n);
    uint16_t wait_sel = 0;
    for (uint32_t i = 0; i < n && i < 32; i++) {
        uint32_t size = be32(rd32(FW_CFG));
        uint16_t sel = be16(rd16(FW_CFG));
        (void)rd16(FW_CFG);
        char name[57];
        for (int k = 0; k < 56; k += 8) {
            uint64_t v = rd64(FW_CFG);
            for (int j = 0; j < 8; j++) name[k + j] = (char)(v >> (8 * j));
        }
        name[56] = 0;
        printf("  file %04x %6u %s\n", sel, size, name);
        if (strcmp(name, "etc/boot-fail-wait") == 0) wait_sel = sel;
    }
    if (wait_sel) {
        fw_select(wait_sel);
        printf("fw_cfg boot-fail-wait %08x, past the end %016lx\n", rd32(FW_CFG), (unsigned long)rd64(FW_CFG));
    }
    fw_select(0x7777);
    printf("fw_cfg invalid key reads %016lx\n", (unsigned long)rd64(FW_CFG));
    /* DMA: select the directory and read its count and first entry (one 64-bit register write). */
    memset(buf, 0xaa, sizeof buf);
    uint32_t st = fw_dma((0x19u << 16) | 0x08 | 0x02, buf, 4 + 64, 0);
    printf("fw_cfg dma read: control %08x, count %u, first %s\n", st, be32(*(uint32_t *)buf), (char *)buf + 12);
    /* Skip 4 bytes of the signature, then read 8 (past the end: zeros), with the split write. */
    memset(buf, 0xaa, sizeof buf);
    st = fw_dma((0x00u << 16) | 0x08 | 0x04, buf, 2, 1);
    uint32_t st2 = fw_dma(0x02, buf, 8, 1);
    printf("fw_cfg dma skip %08x read %08x: %02x %02x %02x %02x %02x\n", st, st2, buf[0], buf[1], buf[2], buf[3], buf[4]);
    /* A DMA write is refused: no item is writable. */
    st = fw_dma((0x05u << 16) | 0x08 | 0x10, buf, 2, 0);
    printf("fw_cfg dma write %08x\n", st);
}

static void probe_flash(void)
{
    printf("flash0 array %08x %08x flash1 %08x\n", rd32(FLASH0), rd32(FLASH0 + 0x100), rd32(FLASH1));
    wr32(FLASH0, 0x98);
    printf("flash0 cfi:");
    for (int i = 0x10; i < 0x40; i++) printf(" %02x", rd32(FLASH0 + 4 * i) & 0xff);
    printf("\n");
    printf("flash0 cfi words %08x %04x %02x %016lx\n", rd32(FLASH0 + 4 * 0x10), rd16(FLASH0 + 4 * 0x11), rd8(FLASH0 + 4 * 0x12 + 1), (unsigned long)rd64(FLASH0 + 4 * 0x27));
    wr32(FLASH0, 0xff);
    printf("flash0 back to array %08x\n", rd32(FLASH0));
    wr32(FLASH1, 0x90);
    printf("flash1 id %08x %08x %08x\n", rd32(FLASH1), rd32(FLASH1 + 4), rd32(FLASH1 + 8));
    wr32(FLASH1, 0xff);
    wr32(FLASH0, 0x70);
    printf("flash0 status %08x %04x\n", rd32(FLASH0), rd16(FLASH0));
    wr32(FLASH0, 0xff);
}

int main(unsigned long hartid, unsigned long dtb)
{
    (void)hartid; (void)dtb;
    probe_fw_cfg();
    probe_flash();
    printf("board-probe done\n");
    sbi_shutdown();
}
