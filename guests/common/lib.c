#include "lib.h"
#include "sbi.h"

/* Built with -fno-tree-loop-distribute-patterns so gcc does not turn these
 * loops back into calls to themselves. */

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t pat = (unsigned char)c;
    pat |= pat << 8;
    pat |= pat << 16;
    pat |= pat << 32;
    while (n && ((uintptr_t)d & 7)) {
        *d++ = (unsigned char)c;
        n--;
    }
    while (n >= 8) {
        *(uint64_t *)d = pat;
        d += 8;
        n -= 8;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        while (n && ((uintptr_t)d & 7)) {
            *d++ = *s++;
            n--;
        }
        while (n >= 8) {
            *(uint64_t *)d = *(const uint64_t *)s;
            d += 8;
            s += 8;
            n -= 8;
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

/* ---------------------------------------------------------------- printf */

struct out {
    char *buf;        /* NULL: console */
    size_t size;
    size_t pos;       /* characters produced so far */
    char tmp[256];    /* console staging buffer */
    size_t tmp_len;
};

static void out_flush(struct out *o)
{
    if (!o->buf && o->tmp_len) {
        sbi_console_write(o->tmp, o->tmp_len);
        o->tmp_len = 0;
    }
}

static void out_char(struct out *o, char c)
{
    if (o->buf) {
        if (o->size && o->pos < o->size - 1)
            o->buf[o->pos] = c;
    } else {
        if (o->tmp_len == sizeof(o->tmp))
            out_flush(o);
        o->tmp[o->tmp_len++] = c;
    }
    o->pos++;
}

static void out_pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        out_char(o, c);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(o, *fmt);
            continue;
        }
        fmt++;
        int left = 0, zero = 0, width = 0, lng = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                zero = 1;
            else
                break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = 1;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        char numbuf[24];
        const char *s = numbuf;
        int len = 0;
        const char *prefix = "";
        switch (*fmt) {
        case 'c':
            numbuf[0] = (char)va_arg(ap, int);
            len = 1;
            zero = 0;
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            len = (int)strlen(s);
            zero = 0;
            break;
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'o':
        case 'p': {
            uint64_t v;
            int neg = 0;
            unsigned base = 10;
            const char *digits = "0123456789abcdef";
            if (*fmt == 'p') {
                v = (uintptr_t)va_arg(ap, void *);
                base = 16;
                prefix = "0x";
            } else if (*fmt == 'd' || *fmt == 'i') {
                int64_t sv = lng ? va_arg(ap, long) : va_arg(ap, int);
                if (sv < 0) {
                    neg = 1;
                    v = -(uint64_t)sv;
                } else {
                    v = (uint64_t)sv;
                }
            } else {
                v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
                if (*fmt == 'x')
                    base = 16;
                else if (*fmt == 'X') {
                    base = 16;
                    digits = "0123456789ABCDEF";
                } else if (*fmt == 'o')
                    base = 8;
            }
            char *p = numbuf + sizeof(numbuf);
            do {
                *--p = digits[v % base];
                v /= base;
            } while (v);
            if (neg)
                prefix = "-";
            s = p;
            len = (int)(numbuf + sizeof(numbuf) - p);
            break;
        }
        case '%':
            out_char(o, '%');
            continue;
        case '\0':
            fmt--;
            continue;
        default:
            out_char(o, '%');
            out_char(o, *fmt);
            continue;
        }
        int plen = (int)strlen(prefix);
        int pad = width - len - plen;
        if (!left && !zero)
            out_pad(o, ' ', pad);
        for (int i = 0; i < plen; i++)
            out_char(o, prefix[i]);
        if (!left && zero)
            out_pad(o, '0', pad);
        for (int i = 0; i < len; i++)
            out_char(o, s[i]);
        if (left)
            out_pad(o, ' ', pad);
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o;
    o.buf = buf;
    o.size = size;
    o.pos = 0;
    o.tmp_len = 0;
    format(&o, fmt, ap);
    if (size)
        buf[o.pos < size ? o.pos : size - 1] = '\0';
    return (int)o.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    struct out o;
    o.buf = NULL;
    o.size = 0;
    o.pos = 0;
    o.tmp_len = 0;
    format(&o, fmt, ap);
    out_flush(&o);
    return (int)o.pos;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}

int putchar(int c)
{
    char ch = (char)c;
    sbi_console_write(&ch, 1);
    return (unsigned char)c;
}
