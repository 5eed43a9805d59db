/*
 * hvtrace-init: the /init of the hvtrace Linux test initramfs.
 *
 * A static, libc-free RV64 program (riscv64-linux-gnu-gcc -static -nostdlib): its own _start,
 * raw ecall syscalls and a few string helpers, so the binary is a few KiB and every instruction
 * it runs is its own.  It exercises what a small Linux userland needs from the machine -- mounts,
 * /proc, fork/exec, pipes, nanosleep, POSIX timers + signals, threads + futexes + atomics across
 * harts, per-CPU affinity, floating point, console input -- then powers the machine off with a
 * verdict.  Nothing it prints depends on timing, pids or the host: the same kernel on the same
 * number of harts prints the same lines on QEMU and on hvtrace.
 *
 * Modes:  /init                       the test run (pid 1)
 *         /init --exec-child ARG      what the fork/exec test execs: prints its argv, exits 42
 */
#include <asm/unistd.h>

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;

/* ---------------------------------------------------------------- startup and syscalls ---- */

__asm__(
    ".section .text._start,\"ax\",@progbits\n"
    ".globl _start\n"
    "_start:\n"
    "  .option push\n"
    "  .option norelax\n"
    "  la gp, __global_pointer$\n"
    "  .option pop\n"
    "  mv a0, sp\n"               /* a0 -> argc, argv[], NULL, envp[], NULL, auxv */
    "  andi sp, sp, -16\n"
    "  call cmain\n"
    "  li a7, 94\n"               /* exit_group(cmain's result) */
    "  ecall\n"
    "1: j 1b\n"
    ".text\n");

/*
 * raw_thread(flags, stack_top, fn, arg, tidp): clone() a thread that runs fn(arg) on stack_top
 * and then exit()s with fn's result.  tidp gets the thread id in the parent (CLONE_PARENT_SETTID)
 * and is cleared + futex-woken by the kernel when the thread exits (CLONE_CHILD_CLEARTID).
 */
long raw_thread(u64 flags, void *stack_top, long (*fn)(void *), void *arg, int *tidp);
__asm__(
    ".text\n"
    ".globl raw_thread\n"
    "raw_thread:\n"
    "  addi a1, a1, -16\n"
    "  sd a2, 0(a1)\n"            /* fn and arg go on the child's stack */
    "  sd a3, 8(a1)\n"
    "  mv a2, a4\n"               /* parent_tid */
    "  li a3, 0\n"                /* tls */
    "  li a7, 220\n"              /* clone(flags, newsp, parent_tid, tls, child_tid) */
    "  ecall\n"
    "  beqz a0, 1f\n"
    "  ret\n"
    "1:\n"
    "  ld a1, 0(sp)\n"
    "  ld a0, 8(sp)\n"
    "  jalr a1\n"
    "  li a7, 93\n"               /* exit(): this thread only */
    "  ecall\n"
    "2: j 2b\n");

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
                     : "memory");
    return a0;
}
#define SYS0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define SYS1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_RDWR 2
#define O_CLOEXEC 02000000
#define SIGCHLD 17
#define SIGALRM 14
#define CLOCK_MONOTONIC 1
#define SIGEV_SIGNAL 0
#define FUTEX_WAIT 0
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)
#define EINTR 4
#define EAGAIN 11
#define EBUSY 16

#define CLONE_VM 0x00000100UL
#define CLONE_FS 0x00000200UL
#define CLONE_FILES 0x00000400UL
#define CLONE_SIGHAND 0x00000800UL
#define CLONE_THREAD 0x00010000UL
#define CLONE_SYSVSEM 0x00040000UL
#define CLONE_PARENT_SETTID 0x00100000UL
#define CLONE_CHILD_CLEARTID 0x00200000UL

#define LINUX_REBOOT_MAGIC1 0xfee1dead
#define LINUX_REBOOT_MAGIC2 672274793
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedc

struct kts {
    i64 sec, nsec;
};
struct kitimerspec {
    struct kts interval, value;
};
struct ksigaction { /* the kernel's rt_sigaction layout on riscv (no sa_restorer: vDSO return) */
    void (*handler)(int);
    u64 flags;
    u64 mask;
};
struct ksigevent {
    u64 value;
    int signo;
    int notify;
    int pad[12];
};

static long sys_write(int fd, const void *p, u64 n) { return SYS3(__NR_write, fd, p, n); }
static long sys_read(int fd, void *p, u64 n) { return SYS3(__NR_read, fd, p, n); }
static long sys_open(const char *path, int flags) { return SYS4(__NR_openat, AT_FDCWD, path, flags, 0); }
static long sys_close(int fd) { return SYS1(__NR_close, fd); }
static long sys_fork(void) { return SYS5(__NR_clone, SIGCHLD, 0, 0, 0, 0); }
static long sys_wait(long pid, int *status) { return SYS4(__NR_wait4, pid, status, 0, 0); }
static __attribute__((noreturn)) void sys_exit(int code)
{
    for (;;)
        SYS1(__NR_exit_group, code);
}
static long sys_pipe(int fds[2]) { return SYS2(__NR_pipe2, fds, O_CLOEXEC); }
static long sys_nanosleep(const struct kts *t) { return SYS2(__NR_nanosleep, t, 0); }
static long sys_futex(int *uaddr, int op, int val) { return SYS4(__NR_futex, uaddr, op, val, 0); }
static long sys_setaffinity(u64 mask) { return SYS3(__NR_sched_setaffinity, 0, sizeof mask, &mask); }

static i64 now_ns(void)
{
    struct kts t;
    SYS2(__NR_clock_gettime, CLOCK_MONOTONIC, &t);
    return t.sec * 1000000000L + t.nsec;
}

/* ---------------------------------------------------------------- strings and output ---- */

void *memset(void *d, int c, u64 n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, u64 n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
static u64 slen(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    return n;
}
static int seq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}
static int has_word(const char *s, const char *w) /* w as a whole space-separated word of s */
{
    u64 n = slen(w);
    for (const char *p = s; *p;) {
        while (*p == ' ' || *p == '\n')
            p++;
        const char *q = p;
        while (*q && *q != ' ' && *q != '\n')
            q++;
        if ((u64)(q - p) == n) {
            u64 i = 0;
            while (i < n && p[i] == w[i])
                i++;
            if (i == n)
                return 1;
        }
        p = q;
    }
    return 0;
}

/* One line is assembled in a buffer and written with one write(), so lines from the kernel
 * (printk) can only land between our lines, never inside one. */
static char line[1280];
static u64 llen;
static void out(const char *s)
{
    while (*s && llen < sizeof line - 1)
        line[llen++] = *s++;
}
static void outc(char c)
{
    if (llen < sizeof line - 1)
        line[llen++] = c;
}
static void outu(u64 v)
{
    char b[24];
    int i = 0;
    do
        b[i++] = (char)('0' + v % 10);
    while (v /= 10);
    while (i)
        outc(b[--i]);
}
static void outi(i64 v)
{
    if (v < 0) {
        outc('-');
        outu((u64)-v);
    } else
        outu((u64)v);
}
static void outx(u64 v)
{
    out("0x");
    for (int i = 60; i >= 0; i -= 4)
        outc("0123456789abcdef"[(v >> i) & 15]);
}
static void flush(void)
{
    outc('\n');
    sys_write(1, line, llen);
    llen = 0;
}
static void say(const char *s) /* "hvtrace-init: <s>" */
{
    out("hvtrace-init: ");
    out(s);
    flush();
}

static int failures;
static void result(const char *what, int ok, const char *detail, i64 v)
{
    out("hvtrace-init: ");
    out(what);
    if (ok) {
        out(" ok");
    } else {
        failures++;
        out(" FAIL");
        if (detail) {
            out(" (");
            out(detail);
            out(" ");
            outi(v);
            out(")");
        }
    }
    flush();
}

/* Copy a whole file to stdout (for /proc/cpuinfo); returns bytes copied or -errno. */
static char fbuf[4096];
static long cat(const char *path)
{
    long fd = sys_open(path, O_RDONLY | O_CLOEXEC), total = 0, n;
    if (fd < 0)
        return fd;
    while ((n = sys_read((int)fd, fbuf, sizeof fbuf)) > 0) {
        sys_write(1, fbuf, (u64)n);
        total += n;
    }
    sys_close((int)fd);
    return n < 0 ? n : total;
}
/* Read a small file into buf (NUL-terminated, trailing newline dropped). */
static long slurp(const char *path, char *buf, u64 cap)
{
    long fd = sys_open(path, O_RDONLY | O_CLOEXEC), total = 0, n;
    if (fd < 0)
        return fd;
    while ((u64)total < cap - 1 && (n = sys_read((int)fd, buf + total, cap - 1 - (u64)total)) > 0)
        total += n;
    sys_close((int)fd);
    while (total > 0 && (buf[total - 1] == '\n' || buf[total - 1] == ' '))
        total--;
    buf[total] = 0;
    return total;
}

/* ---------------------------------------------------------------- the checks ---- */

static const char *self = "/init";
static char **envp_g;

static void t_mounts(void)
{
    static const struct {
        const char *src, *dir, *type;
    } m[] = {{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}};
    for (unsigned i = 0; i < sizeof m / sizeof m[0]; i++) {
        long r = SYS5(__NR_mount, m[i].src, m[i].dir, m[i].type, 0, 0);
        out("hvtrace-init: mount ");
        out(m[i].dir);
        out(" (");
        out(m[i].type);
        out(")");
        if (r == 0 || r == -EBUSY) /* EBUSY: the kernel mounted devtmpfs itself */
            out(" ok");
        else {
            failures++;
            out(" FAIL (errno ");
            outi(-r);
            out(")");
        }
        flush();
    }
}

/* ---------------------------------------------------------------- root=DEV: switch root ---- */

/*
 * With root=DEV on the command line this initramfs is only the way in, as a distribution's is:
 * mount DEV (ext2; read-only unless "rw") on /root, make it / (MS_MOVE + chroot, what
 * switch_root does) and exec its /sbin/init with our argv and environment.  The kernel itself
 * never looks at root= while the initramfs has an /init (init/main.c), so without this the
 * built-in initramfs would always win.  Returns 0 when there is no root=, 1 when switching failed.
 */
#define MS_RDONLY 1UL
#define MS_MOVE 8192UL
static int switch_root(char **argv)
{
    static char cl[1024];
    if (slurp("/proc/cmdline", cl, sizeof cl) < 0)
        return 0;
    char dev[128];
    u64 n = 0;
    for (const char *p = cl; *p;) {
        while (*p == ' ')
            p++;
        if (p[0] == 'r' && p[1] == 'o' && p[2] == 'o' && p[3] == 't' && p[4] == '=') {
            p += 5;
            n = 0;
            while (*p && *p != ' ' && n < sizeof dev - 1)
                dev[n++] = *p++;
        }
        while (*p && *p != ' ')
            p++;
    }
    if (n == 0)
        return 0;
    dev[n] = 0;
    u64 flags = has_word(cl, "rw") ? 0 : MS_RDONLY;
    out("hvtrace-init: root=");
    out(dev);
    out(flags ? " (ro)" : " (rw)");
    out(": mounting it on /root (ext2) and running its /sbin/init");
    flush();
    long r = SYS5(__NR_mount, dev, "/root", "ext2", flags, 0);
    if (r == 0 && (r = SYS1(__NR_chdir, "/root")) == 0 && (r = SYS5(__NR_mount, ".", "/", 0, MS_MOVE, 0)) == 0 &&
        (r = SYS1(__NR_chroot, ".")) == 0 && (r = SYS1(__NR_chdir, "/")) == 0)
        r = SYS3(__NR_execve, "/sbin/init", argv, envp_g);
    failures++;
    out("hvtrace-init: switching to ");
    out(dev);
    out(" FAIL (errno ");
    outi(-r);
    out(")");
    flush();
    return 1;
}

static char cmdline[1024];

static void t_info(void)
{
    struct {
        char f[6][65];
    } uts;
    if (SYS1(__NR_uname, &uts) == 0) {
        out("hvtrace-init: uname: ");
        out(uts.f[0]);
        out(" ");
        out(uts.f[2]);
        out(" ");
        out(uts.f[4]);
        flush();
    } else
        result("uname", 0, "errno", 0);
    long r = slurp("/proc/cmdline", cmdline, sizeof cmdline);
    out("hvtrace-init: cmdline: ");
    out(r >= 0 ? cmdline : "(unreadable)");
    flush();
    if (r < 0)
        result("read /proc/cmdline", 0, "errno", -r);

    say("--- /proc/cpuinfo ---");
    r = cat("/proc/cpuinfo");
    say("--- end of /proc/cpuinfo ---");
    result("/proc/cpuinfo", r > 0, "read returned", r);

    char online[64];
    r = slurp("/sys/devices/system/cpu/online", online, sizeof online);
    out("hvtrace-init: cpus online: ");
    out(r > 0 ? online : "(unreadable)");
    flush();
    if (r <= 0)
        result("read /sys/devices/system/cpu/online", 0, "returned", r);
}

/* fork + exec ourselves with an argument; the child prints its argv and exits 42. */
static int exec_child(int argc, char **argv)
{
    out("hvtrace-init: exec child: argc=");
    outi(argc);
    for (int i = 1; i < argc; i++) {
        out(" argv[");
        outi(i);
        out("]='");
        out(argv[i]);
        out("'");
    }
    flush();
    return 42;
}

static void t_fork_exec(void)
{
    long pid = sys_fork();
    if (pid == 0) {
        char *argv[] = {(char *)self, "--exec-child", "hello from fork", 0};
        long r = SYS3(__NR_execve, self, argv, envp_g);
        out("hvtrace-init: execve failed, errno ");
        outi(-r);
        flush();
        sys_exit(99);
    }
    if (pid < 0) {
        result("fork", 0, "errno", -pid);
        return;
    }
    int st = 0;
    long w = sys_wait(pid, &st);
    int ok = w == pid && (st & 0x7f) == 0 && ((st >> 8) & 0xff) == 42;
    result("fork/exec/wait: child exited 42", ok, "wait status", st);
}

/* A child writes 256 KiB (4x the pipe buffer, so both sides block) in odd-sized chunks; the
 * parent reads it and checks every byte. */
#define PIPE_BYTES (256 * 1024)
static unsigned char pattern_byte(u64 i) { return (unsigned char)((i * 2654435761u) >> 13); }

static void t_pipe(void)
{
    int fds[2];
    long r = sys_pipe(fds);
    if (r < 0) {
        result("pipe", 0, "errno", -r);
        return;
    }
    long pid = sys_fork();
    if (pid == 0) {
        static unsigned char chunk[3001];
        u64 off = 0;
        sys_close(fds[0]);
        while (off < PIPE_BYTES) {
            u64 n = PIPE_BYTES - off < sizeof chunk ? PIPE_BYTES - off : sizeof chunk;
            for (u64 i = 0; i < n; i++)
                chunk[i] = pattern_byte(off + i);
            u64 done = 0;
            while (done < n) {
                long w = sys_write(fds[1], chunk + done, n - done);
                if (w <= 0)
                    sys_exit(2);
                done += (u64)w;
            }
            off += n;
        }
        sys_exit(0);
    }
    sys_close(fds[1]);
    static unsigned char buf[5000];
    u64 got = 0, bad = 0;
    long n;
    while ((n = sys_read(fds[0], buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++)
            bad += buf[i] != pattern_byte(got + (u64)i);
        got += (u64)n;
    }
    sys_close(fds[0]);
    int st = -1;
    sys_wait(pid, &st);
    out("hvtrace-init: pipe: ");
    outu(got);
    out(" bytes through a pipe from a child");
    flush();
    result("pipe: contents", got == PIPE_BYTES && bad == 0, "bad bytes", (i64)bad);
    result("pipe: writer exited 0", st == 0, "wait status", st);
}

static void t_nanosleep(void)
{
    i64 t0 = now_ns();
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        struct kts d = {0, 10 * 1000 * 1000};
        bad += sys_nanosleep(&d) != 0;
    }
    i64 dt = now_ns() - t0;
    result("nanosleep 3 x 10 ms", bad == 0 && dt >= 30 * 1000 * 1000, "short by ns",
           bad ? -1 : 30 * 1000 * 1000 - dt);
}

static volatile int alarms;
static void on_alarm(int sig)
{
    if (sig == SIGALRM)
        alarms++;
}

static void t_timer(void)
{
    u64 block = 1UL << (SIGALRM - 1), old = 0;
    struct ksigaction sa = {on_alarm, 0, 0};
    SYS4(__NR_rt_sigprocmask, 0 /* SIG_BLOCK */, &block, &old, 8);
    long r = SYS4(__NR_rt_sigaction, SIGALRM, &sa, 0, 8);
    if (r < 0) {
        result("rt_sigaction", 0, "errno", -r);
        return;
    }
    struct ksigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.signo = SIGALRM;
    ev.notify = SIGEV_SIGNAL;
    int timer = -1;
    r = SYS3(__NR_timer_create, CLOCK_MONOTONIC, &ev, &timer);
    if (r < 0) {
        result("timer_create", 0, "errno", -r);
        return;
    }
    struct kitimerspec its = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
    i64 t0 = now_ns();
    r = SYS4(__NR_timer_settime, timer, 0, &its, 0);
    if (r < 0) {
        result("timer_settime", 0, "errno", -r);
        return;
    }
    u64 waitmask = old & ~block;
    int spins = 0;
    while (alarms < 3 && spins++ < 100)
        SYS2(__NR_rt_sigsuspend, &waitmask, 8);
    i64 dt = now_ns() - t0;
    struct kitimerspec off = {{0, 0}, {0, 0}};
    SYS4(__NR_timer_settime, timer, 0, &off, 0);
    SYS1(__NR_timer_delete, timer);
    SYS4(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &old, 0, 8);
    result("POSIX timer: 3 SIGALRM ticks of 5 ms", alarms >= 3 && dt >= 15 * 1000 * 1000,
           "ticks", alarms);
}

/* Deterministic per-CPU work: integer mixing plus a floating-point series, seeded by the CPU
 * number. The parent computes the same thing and compares. */
static u64 work(u64 seed)
{
    u64 x = seed * 0x9e3779b97f4a7c15ULL + 1;
    double s = 0;
    for (int i = 1; i <= 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s += 1.0 / ((double)i * (double)i);
    }
    union {
        double d;
        u64 u;
    } b = {s};
    return x ^ b.u;
}

static u64 online_mask(void)
{
    u64 mask = 0;
    long r = SYS3(__NR_sched_getaffinity, 0, sizeof mask, &mask);
    return r > 0 ? mask : 1;
}

static void t_smp(void)
{
    u64 mask = online_mask();
    long pids[64];
    int fds[64];
    int n = 0;
    /* start one child per CPU, all at once, each pinned to its CPU */
    for (int cpu = 0; cpu < 64; cpu++) {
        if (!(mask >> cpu & 1))
            continue;
        int p[2];
        if (sys_pipe(p) < 0) {
            result("smp: pipe", 0, 0, 0);
            return;
        }
        long pid = sys_fork();
        if (pid == 0) {
            u64 res[3] = {(u64)-1, (u64)-1, 0};
            if (sys_setaffinity(1UL << cpu) == 0) {
                unsigned c = 99, node = 0;
                SYS0(__NR_sched_yield);
                res[2] = work((u64)cpu);
                SYS3(__NR_getcpu, &c, &node, 0);
                res[0] = c;
                res[1] = (u64)cpu;
            }
            sys_write(p[1], res, sizeof res);
            sys_exit(0);
        }
        sys_close(p[1]);
        pids[n] = pid;
        fds[n] = p[0];
        n++;
    }
    /* collect in CPU order */
    int i = 0;
    for (int cpu = 0; cpu < 64; cpu++) {
        if (!(mask >> cpu & 1))
            continue;
        u64 res[3] = {0, 0, 0};
        long r = sys_read(fds[i], res, sizeof res);
        int st = -1;
        sys_wait(pids[i], &st);
        sys_close(fds[i]);
        i++;
        u64 want = work((u64)cpu);
        out("hvtrace-init: cpu ");
        outi(cpu);
        out(": pinned, ran on cpu ");
        outi((i64)res[0]);
        out(", work ");
        outx(res[2]);
        int ok = r == sizeof res && res[0] == (u64)cpu && res[1] == (u64)cpu && res[2] == want &&
                 st == 0;
        if (ok)
            out(" ok");
        else {
            failures++;
            out(" FAIL (want ");
            outx(want);
            out(")");
        }
        flush();
    }
    out("hvtrace-init: smp: work ran on ");
    outi(n);
    out(" cpu(s)");
    flush();
}

/* Two threads of one process (shared memory, on different CPUs when there are several) hand a
 * token back and forth through a futex; both add to an atomic and a plain counter. */
#define ROUNDS 2000
static int turn;      /* 0: main's turn, 1: the thread's */
static int tid_word;  /* set by clone, cleared + woken by the kernel when the thread exits */
static u64 atomic_ctr, plain_ctr;
static int thread_cpu;
static unsigned char tstack[64 * 1024] __attribute__((aligned(16)));

static void wait_turn(int me)
{
    int v;
    while ((v = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != me)
        sys_futex(&turn, FUTEX_WAIT_PRIVATE, v);
}
static void give_turn(int to)
{
    __atomic_store_n(&turn, to, __ATOMIC_RELEASE);
    sys_futex(&turn, FUTEX_WAKE_PRIVATE, 1);
}
static long thread_fn(void *arg)
{
    u64 cpu = (u64)arg;
    sys_setaffinity(1UL << cpu);
    for (int i = 0; i < ROUNDS; i++) {
        wait_turn(1);
        __atomic_fetch_add(&atomic_ctr, 3, __ATOMIC_RELAXED);
        plain_ctr += 1;
        give_turn(0);
    }
    unsigned c = 99, node = 0;
    SYS3(__NR_getcpu, &c, &node, 0);
    thread_cpu = (int)c;
    return 0;
}

static void t_threads(void)
{
    u64 mask = online_mask();
    int last = 63;
    while (last > 0 && !(mask >> last & 1))
        last--;
    sys_setaffinity(1UL); /* main on cpu 0, the thread on the last cpu */
    u64 flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    long tid = raw_thread(flags, tstack + sizeof tstack, thread_fn, (void *)(u64)last, &tid_word);
    if (tid < 0) {
        result("clone thread", 0, "errno", -tid);
        sys_setaffinity(mask);
        return;
    }
    for (int i = 0; i < ROUNDS; i++) {
        wait_turn(0);
        __atomic_fetch_add(&atomic_ctr, 5, __ATOMIC_RELAXED);
        plain_ctr += 1;
        give_turn(1);
    }
    wait_turn(0);
    int v;
    while ((v = __atomic_load_n(&tid_word, __ATOMIC_ACQUIRE)) != 0)
        sys_futex(&tid_word, FUTEX_WAIT, v); /* shared: the kernel's exit wake is not private */
    sys_setaffinity(mask);
    out("hvtrace-init: threads: ");
    outi(ROUNDS);
    out(" futex hand-offs between cpu 0 and cpu ");
    outi(thread_cpu);
    out(", counters ");
    outu(atomic_ctr);
    out("/");
    outu(plain_ctr);
    flush();
    result("threads: futex + atomics", atomic_ctr == 8UL * ROUNDS && plain_ctr == 2UL * ROUNDS &&
                                            thread_cpu == last,
           "atomic counter", (i64)atomic_ctr);
}

/* Floating point: operations with exactly known IEEE-754 results. `volatile` keeps the compiler
 * from folding them at build time, so the FPU really computes them. */
static u64 dbits(double d)
{
    union {
        double d;
        u64 u;
    } b = {d};
    return b.u;
}
static u32 fbits(float f)
{
    union {
        float f;
        u32 u;
    } b = {f};
    return b.u;
}
static void fp_check(const char *what, u64 got, u64 want)
{
    out("hvtrace-init: fp: ");
    out(what);
    out(" = ");
    outx(got);
    if (got == want)
        out(" ok");
    else {
        failures++;
        out(" FAIL (want ");
        outx(want);
        out(")");
    }
    flush();
}
static void t_fp(void)
{
    volatile double a = 0.1, b = 0.2, one = 1.0, three = 3.0, two = 2.0, x = 1.5, y = 2.25;
    volatile double big = 1e308, neg = -7.0, h = 2.5;
    volatile float f1 = 1.0f, f3 = 3.0f;
    fp_check("0.1 + 0.2", dbits(a + b), 0x3fd3333333333334ULL);
    fp_check("1.0 / 3.0", dbits(one / three), 0x3fd5555555555555ULL);
    fp_check("sqrt(2.0)", dbits(__builtin_sqrt(two)), 0x3ff6a09e667f3bcdULL);
    fp_check("1.5 * 2.25", dbits(x * y), 0x400b000000000000ULL); /* 3.375 */
    fp_check("fma(0.1, 3.0, -0.3)", dbits(__builtin_fma(a, three, -0.3)), 0x3c80000000000000ULL); /* 2^-55; unfused: 2^-54 */
    fp_check("1e308 * 10", dbits(big * 10.0), 0x7ff0000000000000ULL); /* +inf */
    fp_check("(long)-7.0 / 2", (u64)((long)neg / 2), (u64)-3);
    fp_check("(long)2.5", (u64)(long)h, 2);
    fp_check("1.0f / 3.0f", fbits(f1 / f3), 0x3eaaaaabULL);
    volatile double third = one / three;
    long milli = (long)(third * 3000000.0 + 0.5);
    out("hvtrace-init: fp: 1/3 * 3e6 rounds to ");
    outi(milli);
    flush();
    result("fp: rounding", milli == 1000000, "got", milli);
}

static void t_ask(void)
{
    if (!has_word(cmdline, "hvtrace.ask"))
        return;
    say("ask: type a line and press enter");
    static char in[256];
    u64 n = 0;
    for (;;) {
        char c;
        long r = sys_read(0, &c, 1);
        if (r <= 0 || c == '\n' || c == '\r')
            break;
        if (n < sizeof in - 1)
            in[n++] = c;
    }
    in[n] = 0;
    out("hvtrace-init: got '");
    out(in);
    out("'");
    flush();
}

/*
 * hvtrace.irqs on the command line: the kernel's own interrupt counts, /proc/interrupts, between
 * two marker lines (the AIA reference test compares them with the interrupts hvtrace recorded
 * per source).  First the console is drained (tcdrain), so no UART interrupt is in flight while
 * the kernel formats the counts; the whole file is read before any of it is written, so the
 * counts are one snapshot.
 */
#define TCSBRK 0x5409
static void tcdrain(void) /* TCSBRK with arg 1: wait until the UART has sent everything written */
{
    SYS3(__NR_ioctl, 1, TCSBRK, 1);
}
static char ibuf[16384];
static int irqs_opt;
static void t_irqs(void)
{
    irqs_opt = has_word(cmdline, "hvtrace.irqs");
    if (!irqs_opt)
        return;
    say("--- /proc/interrupts ---");
    tcdrain();
    long fd = sys_open("/proc/interrupts", O_RDONLY | O_CLOEXEC), total = 0, n = 0;
    if (fd >= 0) {
        while ((u64)total < sizeof ibuf && (n = sys_read((int)fd, ibuf + total, sizeof ibuf - (u64)total)) > 0)
            total += n;
        sys_close((int)fd);
        sys_write(1, ibuf, (u64)total);
    }
    say("--- end of /proc/interrupts ---");
    result("/proc/interrupts", fd >= 0 && n >= 0 && total > 0 && (u64)total < sizeof ibuf, "read returned", fd < 0 ? fd : n < 0 ? n : total);
}

static __attribute__((noreturn)) void power_off(void)
{
    if (failures == 0)
        say("PASS");
    else {
        out("hvtrace-init: FAIL ");
        outi(failures);
        flush();
    }
    /* With hvtrace.irqs, the console is drained before the power-off too: QEMU 7.2 with
     * aia=aplic-imsic has disabled the UART's interrupt by then (its APLIC's storm, see the AIA
     * reference test) and sends queued output only every 100 ms (the kernel's spurious-IRQ
     * poll), so without this the last lines would be lost there. */
    if (irqs_opt)
        tcdrain();
    SYS4(__NR_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0);
    say("reboot(RB_POWER_OFF) returned");
    for (;;)
        SYS4(__NR_ppoll, 0, 0, 0, 0);
}

int cmain(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    envp_g = argv + argc + 1;
    if (argc >= 2 && seq(argv[1], "--exec-child"))
        return exec_child(argc, argv);

    if (SYS0(__NR_getpid) == 1) {
        /* make sure fds 0-2 are the console even if the kernel could not open it for us */
        if (sys_write(1, "", 0) < 0) {
            long fd = sys_open("/dev/console", O_RDWR);
            if (fd >= 0) {
                SYS3(__NR_dup3, fd, 0, 0);
                SYS3(__NR_dup3, fd, 1, 0);
                SYS3(__NR_dup3, fd, 2, 0);
            }
        }
    }
    say("start");
    if (SYS0(__NR_getpid) == 1) {
        t_mounts(); /* only as the machine's init: never over a host's /proc, /sys, /dev */
        if (switch_root(argv))
            power_off();
    } else
        self = argv[0];
    t_info();
    t_fork_exec();
    t_pipe();
    t_nanosleep();
    t_timer();
    t_smp();
    t_threads();
    t_fp();
    t_ask();
    t_irqs();
    if (SYS0(__NR_getpid) != 1) { /* run by hand, not as pid 1: just report */
        say(failures ? "FAIL" : "PASS");
        return failures ? 1 : 0;
    }
    power_off();
}
