/*
 * Test verdicts for hvtrace guests.
 *
 * pass():     prints "PASS" and shuts down with SBI SRST (QEMU exit status 0).
 * fail(code): prints "FAIL <code>", then stores the 32-bit value
 *             0x3333 | (code << 16) to the SiFive test device at 0x100000,
 *             which makes QEMU (and hvtrace) exit with status <code>.
 *             OpenSBI's SRST ignores the reset reason, which is why the
 *             test device is poked directly; SRST is the fallback.
 *             Use codes 1..255: a shell only sees the low 8 bits of the exit
 *             status, so a code whose low byte is 0 is sent as 255 instead.
 * guest_exit(ret): pass() if ret == 0 else fail(ret). start.S calls it when
 *             main() returns.
 */
#ifndef HVTRACE_VERDICT_H
#define HVTRACE_VERDICT_H

void pass(void) __attribute__((noreturn));
void fail(int code) __attribute__((noreturn));
void guest_exit(int ret) __attribute__((noreturn));

#endif
