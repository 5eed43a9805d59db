/*
 * /sbin/init of the hvtrace test root filesystem (scripts/build-rootfs.sh puts it on an ext2
 * image with linux/rootfs/): what the bundled kernel runs from a virtio-blk disk with
 * root=/dev/vda (linux/init/init.c switches to it).  Static and libc-free like linux/init/init.c.
 * It prints where it runs, the disk's /etc/motd, 16 bytes of /dev/hwrng (virtio-rng, when the
 * machine has one), counts its boots in /var/boot-count (a guest write: the copy-on-write
 * overlay of hvtrace, written back with --drive ...,writeback=on), syncs and powers off.
 * Nothing it prints depends on timing or the host.
 */
#include <asm/unistd.h>

typedef unsigned long u64;

__asm__(".section .text._start,\"ax\",@progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  .option push\n"
        "  .option norelax\n"
        "  la gp, __global_pointer$\n"
        "  .option pop\n"
        "  andi sp, sp, -16\n"
        "  call cmain\n"
        "1: j 1b\n"
        ".text\n");

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7) : "memory");
    return a0;
}
#define SYS(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_RDWR 2

static u64 slen(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    return n;
}
static char line[256];
static u64 llen;
static void out(const char *s)
{
    while (*s && llen < sizeof line - 1)
        line[llen++] = *s++;
}
static void outu(u64 v)
{
    char b[24];
    int i = 0;
    do
        b[i++] = (char)('0' + v % 10);
    while (v /= 10);
    while (i && llen < sizeof line - 1)
        line[llen++] = b[--i];
}
static void flush(void)
{
    line[llen++] = '\n';
    SYS(__NR_write, 1, line, llen, 0, 0);
    llen = 0;
}
static long slurp(const char *path, char *buf, u64 cap)
{
    long fd = SYS(__NR_openat, AT_FDCWD, path, O_RDONLY, 0, 0);
    if (fd < 0)
        return fd;
    long n = SYS(__NR_read, fd, buf, cap - 1, 0, 0);
    SYS(__NR_close, fd, 0, 0, 0, 0);
    if (n < 0)
        return n;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = 0;
    return n;
}

int cmain(void)
{
    char buf[128];
    out("hvtrace-rootfs: /sbin/init from the root filesystem");
    flush();
    if (slurp("/etc/motd", buf, sizeof buf) >= 0) {
        out("hvtrace-rootfs: motd: ");
        out(buf);
    } else
        out("hvtrace-rootfs: motd: (unreadable)");
    flush();

    /* virtio-rng: /dev/hwrng on a devtmpfs of our own (the initramfs' /dev stayed behind) */
    SYS(__NR_mount, "devtmpfs", "/dev", "devtmpfs", 0, 0);
    long fd = SYS(__NR_openat, AT_FDCWD, "/dev/hwrng", O_RDONLY, 0, 0);
    out("hvtrace-rootfs: hwrng: ");
    unsigned char r[16];
    if (fd >= 0 && SYS(__NR_read, fd, r, sizeof r, 0, 0) == (long)sizeof r) {
        for (u64 i = 0; i < sizeof r; i++) {
            char h[3] = {"0123456789abcdef"[r[i] >> 4], "0123456789abcdef"[r[i] & 15], 0};
            out(h);
        }
    } else
        out("none");
    if (fd >= 0)
        SYS(__NR_close, fd, 0, 0, 0, 0);
    flush();

    /* a guest write: count this boot */
    u64 count = 0;
    fd = SYS(__NR_openat, AT_FDCWD, "/var/boot-count", O_RDWR, 0, 0);
    long n = fd >= 0 ? SYS(__NR_read, fd, buf, sizeof buf - 1, 0, 0) : -1;
    for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        count = count * 10 + (u64)(buf[i] - '0');
    count++;
    out("hvtrace-rootfs: boot count: ");
    outu(count);
    char num[24];
    u64 k = 0, c = count;
    do
        num[k++] = (char)('0' + c % 10);
    while (c /= 10);
    for (u64 i = 0; i < k / 2; i++) {
        char t = num[i];
        num[i] = num[k - 1 - i];
        num[k - 1 - i] = t;
    }
    num[k++] = '\n';
    if (fd < 0 || SYS(__NR_lseek, fd, 0, 0, 0, 0) != 0 || SYS(__NR_write, fd, num, k, 0, 0) != (long)k ||
        SYS(__NR_fsync, fd, 0, 0, 0, 0) != 0)
        out(" (not saved: read-only?)");
    else
        out(" (saved)");
    flush();
    if (fd >= 0)
        SYS(__NR_close, fd, 0, 0, 0, 0);
    (void)slen;

    SYS(__NR_sync, 0, 0, 0, 0, 0);
    out("hvtrace-rootfs: powering off");
    flush();
    SYS(__NR_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0);
    for (;;)
        SYS(__NR_ppoll, 0, 0, 0, 0, 0);
}
