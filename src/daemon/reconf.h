/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_RECONF_H
#define TTWS_DAEMON_RECONF_H

/*
 * The main thread's side of a live reconfiguration (SIGHUP, the control
 * API's Reload() and Set()). It owns the running snapshot: immutable,
 * heap-allocated, what Get() and the status read. A change builds a new
 * snapshot, validates it whole, keeps every restart-only key at its
 * running value (and says which differ), offers it to the RT thread
 * (engine_reconfigure()) and, once the RT thread has acknowledged it,
 * frees the old one and reports completion. One change at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

struct engine;
struct reconf;

/*
 * Completion of an offer, on the main thread: err 0 (adopted), -ETIMEDOUT
 * (the RT thread reached no frame boundary in RECONF_TIMEOUT_NS: withdrawn,
 * the running configuration stays) or -ECANCELED (ttwsd is stopping).
 */
typedef void (*reconf_done_fn)(void *data, int err);

#define RECONF_TIMEOUT_NS (2 * NSEC_PER_SEC)

/*
 * path is the configuration file (kept, not copied: it must outlive r);
 * initial is the validated snapshot the engine was built from (copied).
 * -ENOMEM.
 */
int reconf_new(struct engine *e, const char *path, const struct conf *initial,
	       struct reconf **ret);

/* Cancels a pending offer (its done gets -ECANCELED). Returns NULL. */
struct reconf *reconf_free(struct reconf *r);

/* The running snapshot: valid until the next completed change. */
const struct conf *reconf_running(const struct reconf *r);

/* The file, and how many changes have been adopted since start. */
const char *reconf_path(const struct reconf *r);
uint64_t reconf_generation(const struct reconf *r);

/*
 * Re-read the file. Returns 0 when the new snapshot was offered (done
 * follows; note, size note_size, lists the restart-only keys that differ
 * as "needs restart: a, b", or is ""); -EBUSY while an offer is pending;
 * -EINVAL (and the other errors of conffile_load()) with "file:line:
 * reason" in err when the file is refused: the running one stays.
 */
int reconf_reload(struct reconf *r, uint64_t now_ns, char *note,
		  size_t note_size, char *err, size_t err_size,
		  reconf_done_fn done, void *data);

/*
 * Set one key by name ("servo.estimator"). Returns 0 when offered (done
 * follows); -ENOENT unknown name, -EINVAL bad value (err: "NAME: reason"),
 * -EPERM for a restart-only key (err says so; nothing changes), -EBUSY.
 */
int reconf_set(struct reconf *r, uint64_t now_ns, const char *name,
	       const char *value, char *err, size_t err_size,
	       reconf_done_fn done, void *data);

/* Complete or time out the pending offer. Main thread, often (~10 ms). */
void reconf_poll(struct reconf *r, uint64_t now_ns);

bool reconf_pending(const struct reconf *r);

#endif
