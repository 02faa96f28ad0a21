/* SPDX-License-Identifier: MIT */
#ifndef TTWS_FUZZ_CHECK_H
#define TTWS_FUZZ_CHECK_H

/*
 * An invariant of a harness: when it does not hold, say which and abort()
 * (libFuzzer then keeps the input as a crash).
 */

#include <stdio.h>
#include <stdlib.h>

#define check(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

#endif
