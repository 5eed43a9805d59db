/* Tiny freestanding libc subset for hvtrace guests. */
#ifndef HVTRACE_LIB_H
#define HVTRACE_LIB_H

#include <stdarg.h>
#include "types.h"

void  *memset(void *dst, int c, size_t n);
void  *memcpy(void *dst, const void *src, size_t n);
void  *memmove(void *dst, const void *src, size_t n);
int    memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int    strcmp(const char *a, const char *b);

/*
 * printf subset: %d %i %u %x %X %o %c %s %p %%, length modifiers l / ll / z,
 * flags '-' and '0', a field width (number or '*'). Output goes to the SBI
 * console, one console call per printf (DBCN) when the output fits in 256
 * bytes.
 */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int puts(const char *s);      /* appends '\n' */
int putchar(int c);

/* CSR helpers */
#define csr_read(csr) ({ unsigned long __v; \
    asm volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrw " #csr ", %0" :: "rK"(__v) : "memory"); })
#define csr_set(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrs " #csr ", %0" :: "rK"(__v) : "memory"); })
#define csr_clear(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrc " #csr ", %0" :: "rK"(__v) : "memory"); })

static inline uint64_t rdcycle(void)   { uint64_t v; asm volatile("rdcycle %0"   : "=r"(v)); return v; }
static inline uint64_t rdtime(void)    { uint64_t v; asm volatile("rdtime %0"    : "=r"(v)); return v; }
static inline uint64_t rdinstret(void) { uint64_t v; asm volatile("rdinstret %0" : "=r"(v)); return v; }

/* struct trap_frame as laid out by common/start.S */
struct trap_frame {
    uint64_t x[32];      /* x[0] is 0, x[2] is the interrupted sp */
    uint64_t sepc;
    uint64_t sstatus;
    uint64_t scause;
    uint64_t stval;
};

/*
 * Called by trap_vector with the saved frame. The default (weak) handler
 * reports an unexpected trap and calls fail(TRAP_FAIL_CODE). Guests may
 * override it; changes to the frame (x[], sepc, sstatus) are restored.
 */
void trap_handler(struct trap_frame *tf);
#define TRAP_FAIL_CODE 254

extern char __image_start[], __image_end[], __bss_start[], __bss_end[], __end[];
extern char _secondary_start[];

#endif
