/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_MACRO_H
#define TTWS_CORE_MACRO_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The pluggable-part idiom of linuxptp's servo_private.h. */
#define container_of(ptr, type, member)                                       \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC UINT64_C(1000000000)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
