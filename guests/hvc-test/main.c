/*
 * hvc-test: a bare-metal M-mode program (--bios none) that drives a virtio-console (virtio 1.1
 * §5.3, device ID 3) behind a virtio-mmio transport (§4.2), polling, without interrupts:
 * QEMU 7.2's `-device virtio-serial-device -device virtconsole` and hvtrace's same flags.
 *
 * It finds the device among virt's 8 transports, negotiates VERSION_1 (and EMERG_WRITE when
 * offered, without MULTIPORT: port 0 on queues 0/1 only), writes through the transmitq, writes
 * one line through emerg_wr, then echoes every input line it receives through the receiveq
 * ("echo: LINE") until the line "quit", and powers off through the SiFive test device.
 * Everything it prints goes to the virtio console, nothing to the UART, so its output is the
 * same on QEMU (a chardev file) and hvtrace (the console stream);
 * test/reference/virtio-console-vs-qemu.test.ts compares the two.
 */
#include <stdint.h>

#define TESTDEV    0x100000UL
#define VIRTIO0    0x10001000UL
#define VIRTIO_N   8
#define QSZ        8
#define RXBUF      32

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* virtio-mmio registers (§4.2.2) */
#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DEV_FEAT 0x010
#define DEV_FEAT_SEL 0x014
#define DRV_FEAT 0x020
#define DRV_FEAT_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define STATUS 0x070
#define Q_DESC_LO 0x080
#define Q_DESC_HI 0x084
#define Q_DRV_LO 0x090
#define Q_DRV_HI 0x094
#define Q_DEV_LO 0x0a0
#define Q_DEV_HI 0x0a4
#define CONFIG 0x100

#define F_EMERG_WRITE (1u << 2)

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSZ], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSZ]; uint16_t avail_event; };

struct queue {
    struct desc desc[QSZ] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(2)));
    struct used used __attribute__((aligned(4096)));
    uint16_t last_used;
};

static struct queue q[2] __attribute__((aligned(4096)));
static char rxbuf[QSZ][RXBUF];
static char txbuf[256];
static unsigned long base;

#define fence() __asm__ volatile("fence" ::: "memory")

static void poweroff(uint32_t code)
{
    REG32(TESTDEV) = code ? (0x3333 | (code << 16)) : 0x5555;
    for (;;) __asm__ volatile("wfi");
}

/* Transmit n bytes of txbuf as one buffer and wait until the device used it. */
static void tx(unsigned n)
{
    struct queue *t = &q[1];
    uint16_t slot = t->avail.idx % QSZ;
    t->desc[slot].addr = (uintptr_t)txbuf;
    t->desc[slot].len = n;
    t->desc[slot].flags = 0;
    t->avail.ring[slot] = slot;
    fence();
    t->avail.idx++;
    fence();
    REG32(base + QUEUE_NOTIFY) = 1;
    while (*(volatile uint16_t *)&t->used.idx == t->last_used) {}
    t->last_used++;
}

static unsigned append(unsigned n, const char *s) { while (*s && n < sizeof txbuf) txbuf[n++] = *s++; return n; }
static unsigned append_hex(unsigned n, unsigned long v)
{
    n = append(n, "0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        unsigned d = (v >> i) & 15;
        if (d || started || i == 0) { txbuf[n++] = "0123456789abcdef"[d]; started = 1; }
    }
    return n;
}
static void say(const char *s) { tx(append(0, s)); }

/* Give receive buffer k to the device. */
static void rx_post(unsigned k)
{
    struct queue *r = &q[0];
    r->desc[k].addr = (uintptr_t)rxbuf[k];
    r->desc[k].len = RXBUF;
    r->desc[k].flags = 2; /* VIRTQ_DESC_F_WRITE */
    r->avail.ring[r->avail.idx % QSZ] = k;
    fence();
    r->avail.idx++;
    fence();
    REG32(base + QUEUE_NOTIFY) = 0;
}

static void setup_queue(unsigned i)
{
    REG32(base + QUEUE_SEL) = i;
    if (REG32(base + QUEUE_NUM_MAX) < QSZ) poweroff(3);
    REG32(base + QUEUE_NUM) = QSZ;
    REG32(base + Q_DESC_LO) = (uintptr_t)q[i].desc;
    REG32(base + Q_DESC_HI) = 0;
    REG32(base + Q_DRV_LO) = (uintptr_t)&q[i].avail;
    REG32(base + Q_DRV_HI) = 0;
    REG32(base + Q_DEV_LO) = (uintptr_t)&q[i].used;
    REG32(base + Q_DEV_HI) = 0;
    REG32(base + QUEUE_READY) = 1;
}

int main(void)
{
    for (unsigned i = 0; i < VIRTIO_N && !base; i++) {
        unsigned long b = VIRTIO0 + 0x1000 * i;
        if (REG32(b + MAGIC) == 0x74726976 && REG32(b + VERSION) == 2 && REG32(b + DEVICE_ID) == 3) base = b;
    }
    if (!base) poweroff(2);
    /* §3.1.1 */
    REG32(base + STATUS) = 0;
    REG32(base + STATUS) = 1;
    REG32(base + STATUS) = 1 | 2;
    REG32(base + DEV_FEAT_SEL) = 0;
    uint32_t f0 = REG32(base + DEV_FEAT);
    REG32(base + DEV_FEAT_SEL) = 1;
    uint32_t f1 = REG32(base + DEV_FEAT);
    if (!(f1 & 1)) poweroff(4);
    REG32(base + DRV_FEAT_SEL) = 0;
    REG32(base + DRV_FEAT) = f0 & F_EMERG_WRITE;
    REG32(base + DRV_FEAT_SEL) = 1;
    REG32(base + DRV_FEAT) = 1; /* VIRTIO_F_VERSION_1 */
    REG32(base + STATUS) = 1 | 2 | 8;
    if (!(REG32(base + STATUS) & 8)) poweroff(5);
    setup_queue(0);
    setup_queue(1);
    REG32(base + STATUS) = 1 | 2 | 8 | 4;

    unsigned n = append(0, "hvc-test: virtio-console at ");
    n = append_hex(n, base);
    n = append(n, f0 & F_EMERG_WRITE ? ", EMERG_WRITE offered\n" : "\n");
    tx(n);
    say("hvc-test: hello from hvc0\n");
    if (f0 & F_EMERG_WRITE)
        for (const char *s = "hvc-test: emergency write\n"; *s; s++) REG32(base + CONFIG + 8) = (uint8_t)*s;

    for (unsigned k = 0; k < QSZ; k++) rx_post(k);
    say("hvc-test: type lines, \"quit\" ends\n");

    char line[128];
    unsigned len = 0, lines = 0;
    struct queue *r = &q[0];
    for (;;) {
        while (*(volatile uint16_t *)&r->used.idx == r->last_used) {}
        fence();
        struct used_elem e = r->used.ring[r->last_used % QSZ];
        r->last_used++;
        for (uint32_t i = 0; i < e.len && e.id < QSZ; i++) {
            char c = rxbuf[e.id][i];
            if (c == '\r') continue;
            if (c != '\n') { if (len < sizeof line - 1) line[len++] = c; continue; }
            line[len] = 0;
            lines++;
            if (len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't') {
                n = append(0, "hvc-test: bye after ");
                n = append_hex(n, lines);
                tx(append(n, " lines\n"));
                poweroff(0);
            }
            n = append(0, "echo: ");
            n = append(n, line);
            tx(append(n, "\n"));
            len = 0;
        }
        if (e.id < QSZ) rx_post(e.id);
    }
}
