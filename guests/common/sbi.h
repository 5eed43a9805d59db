/* Minimal SBI client for hvtrace guests. */
#ifndef HVTRACE_SBI_H
#define HVTRACE_SBI_H

#include "types.h"

#define SBI_EXT_LEGACY_SET_TIMER       0x00
#define SBI_EXT_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_LEGACY_CONSOLE_GETCHAR 0x02
#define SBI_EXT_LEGACY_SHUTDOWN        0x08
#define SBI_EXT_BASE   0x10
#define SBI_EXT_TIME   0x54494D45   /* "TIME" */
#define SBI_EXT_IPI    0x735049     /* "sPI"  */
#define SBI_EXT_RFENCE 0x52464E43   /* "RFNC" */
#define SBI_EXT_HSM    0x48534D     /* "HSM"  */
#define SBI_EXT_SRST   0x53525354   /* "SRST" */
#define SBI_EXT_DBCN   0x4442434E   /* "DBCN" */

/* BASE function ids */
#define SBI_BASE_GET_SPEC_VERSION  0
#define SBI_BASE_GET_IMPL_ID       1
#define SBI_BASE_GET_IMPL_VERSION  2
#define SBI_BASE_PROBE_EXTENSION   3
#define SBI_BASE_GET_MVENDORID     4
#define SBI_BASE_GET_MARCHID       5
#define SBI_BASE_GET_MIMPID        6

/* SRST */
#define SBI_SRST_TYPE_SHUTDOWN     0
#define SBI_SRST_TYPE_COLD_REBOOT  1
#define SBI_SRST_TYPE_WARM_REBOOT  2
#define SBI_SRST_REASON_NONE       0
#define SBI_SRST_REASON_FAILURE    1

/* SBI error codes */
#define SBI_SUCCESS                0
#define SBI_ERR_FAILED            -1
#define SBI_ERR_NOT_SUPPORTED     -2
#define SBI_ERR_INVALID_PARAM     -3

struct sbiret {
    long error;
    long value;
};

struct sbiret sbi_ecall(unsigned long eid, unsigned long fid,
                        unsigned long arg0, unsigned long arg1,
                        unsigned long arg2, unsigned long arg3,
                        unsigned long arg4, unsigned long arg5);

/* BASE */
long sbi_get_spec_version(void);
long sbi_get_impl_id(void);
long sbi_get_impl_version(void);
long sbi_probe_extension(unsigned long eid);   /* 0 = absent */

/* Console: DBCN if present (probed once, lazily), else legacy putchar. */
void sbi_console_init(void);
int  sbi_console_has_dbcn(void);
void sbi_console_write(const char *buf, unsigned long len);
void sbi_console_putchar(int ch);

/* TIME (falls back to legacy set_timer if TIME is absent) */
void sbi_set_timer(uint64_t stime_value);

/* SRST shutdown (falls back to legacy shutdown). Returns only on failure. */
void sbi_system_reset(uint32_t type, uint32_t reason);
void sbi_shutdown(void) __attribute__((noreturn));

/* HSM */
struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr,
                             unsigned long opaque);
struct sbiret sbi_hart_get_status(unsigned long hartid);

#endif
