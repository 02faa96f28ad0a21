/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LATHIST_H
#define TTWS_DAEMON_LATHIST_H

/*
 * A set of n latency histograms (core/hist, values in ns) that one thread
 * records into and any thread reads, without the recorder ever waiting
 * for a reader (DESIGN.md, "Threads and the hot path").
 *
 * The recorder (the RT thread) owns the live histograms and records into
 * them directly (lathist_live()). Every call of lathist_publish() copies
 * the next k of them, round-robin, into published slots, each behind its
 * own seqlock (odd while the recorder writes it); lathist_get() copies a
 * slot out and retries while the recorder was writing that slot. A copy
 * is ~30 KiB, so publishing all of them at once would hold the RT thread
 * for the whole set's worth of memcpy: a few per call bound that cost,
 * and lathist_per_call() picks k so that no published copy is older than
 * a maximum age.
 *
 * Memory: lathist_new() allocates the live histograms and the slots and
 * writes every byte of them (hist_init), so the recorder takes no page
 * fault later; nothing else allocates.
 */

#include <stdint.h>

#include "core/hist.h"

struct lathist;

/*
 * n histograms, empty, published empty. Returns 0 and *ret, -EINVAL for
 * n == 0 or NULL ret, -ENOMEM. Any thread, before the recorder starts.
 */
int lathist_new(unsigned n, struct lathist **ret);

/* NULL is fine. Returns NULL. No thread may use s any more. */
struct lathist *lathist_free(struct lathist *s);

/* n as given to lathist_new(). */
unsigned lathist_size(const struct lathist *s);

/*
 * Histogram i to record into (hist_record()), or NULL for i out of
 * range. The pointer stays valid until lathist_free(). Recorder only.
 */
struct hist *lathist_live(struct lathist *s, unsigned i);

/*
 * Copy the next k live histograms (round-robin over all n; k > n is n)
 * into their published slots. Recorder only; never waits: a reader
 * copying a slot meanwhile retries (lathist_get()).
 */
void lathist_publish(struct lathist *s, unsigned k);

/*
 * Zero every live histogram, and make every published copy read as empty
 * from now on (a generation count, so no slot has to be copied now); the
 * next publications carry what is recorded after this. Recorder only.
 * Costs a memset of each live histogram (~30 KiB each).
 */
void lathist_reset(struct lathist *s);

/*
 * Copy the published histogram i into *ret (caller-owned, ~30 KiB).
 * Any thread; lock-free: retries while the recorder rewrites that slot,
 * never makes it wait. Returns 0, or -EINVAL for i out of range (ret
 * untouched).
 */
int lathist_get(struct lathist *s, unsigned i, struct hist *ret);

/*
 * How many histograms each lathist_publish() must copy, called every
 * period_ns, so that a published copy of each of n is at most max_age_ns
 * old: with k per call a histogram is copied again ceil(n / k) calls after
 * its last copy, and one period is kept spare for the caller's timer
 * running late (a soft timer's slack, a busy tick). At least 1, at most
 * n; n when max_age_ns leaves less than two periods. Pure.
 */
unsigned lathist_per_call(unsigned n, uint64_t period_ns, uint64_t max_age_ns);

#endif
