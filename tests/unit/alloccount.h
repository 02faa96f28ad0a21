/* SPDX-License-Identifier: MIT */
#ifndef TTWS_TESTS_ALLOCCOUNT_H
#define TTWS_TESTS_ALLOCCOUNT_H

/*
 * Counts every call of the allocator (malloc, calloc, realloc,
 * posix_memalign, aligned_alloc) the test binary makes, for tests that
 * prove a path never allocates. Link alloccount.c with alloccount_dep
 * (tests/unit/meson.build): it wraps the allocator with ld --wrap.
 * volatile: GCC assumes malloc() leaves the program's globals alone.
 */
extern volatile unsigned long alloccount_n;

#endif
