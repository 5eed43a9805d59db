#ifndef HVTRACE_TYPES_H
#define HVTRACE_TYPES_H

typedef unsigned char      uint8_t;
typedef signed char        int8_t;
typedef unsigned short     uint16_t;
typedef short              int16_t;
typedef unsigned int       uint32_t;
typedef int                int32_t;
typedef unsigned long      uint64_t;
typedef long               int64_t;
typedef unsigned long      uintptr_t;
typedef long               intptr_t;
typedef unsigned long      size_t;
typedef long               ssize_t;
typedef _Bool              bool;
#define true  1
#define false 0
#define NULL  ((void *)0)

#define INT32_MIN  (-2147483647 - 1)
#define INT32_MAX  2147483647
#define UINT32_MAX 4294967295U
#define INT64_MIN  (-9223372036854775807L - 1)
#define INT64_MAX  9223372036854775807L
#define UINT64_MAX 18446744073709551615UL

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
