/* SPDX-License-Identifier: MIT */
#include "daemon/reconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "daemon/bounds.h"
#include "daemon/conffile.h"
#include "daemon/engine.h"
#include "daemon/log.h"

struct reconf {
	struct engine *engine;
	const char *path;
	struct conf *running;
	uint64_t generation;   /* changes adopted */
	/* The offer in flight, or NULL. */
	struct conf *pending;
	uint64_t pending_gen;  /* engine's number for it */
	uint64_t deadline_ns;
	reconf_done_fn done;
	void *done_data;
};

int reconf_new(struct engine *e, const char *path, const struct conf *initial,
	       struct reconf **ret)
{
	struct reconf *r = calloc(1, sizeof(*r));

	if (!r) {
		return -ENOMEM;
	}
	r->running = malloc(sizeof(*r->running));
	if (!r->running) {
		free(r);
		return -ENOMEM;
	}
	*r->running = *initial;
	r->engine = e;
	r->path = path;
	*ret = r;
	return 0;
}

static void reconf_finish(struct reconf *r, int err)
{
	reconf_done_fn done = r->done;
	void *data = r->done_data;

	if (err == 0) {
		free(r->running);
		r->running = r->pending;
		r->generation++;
	} else {
		free(r->pending);
	}
	r->pending = NULL;
	r->done = NULL;
	r->done_data = NULL;
	if (done) {
		done(data, err);
	}
}

struct reconf *reconf_free(struct reconf *r)
{
	if (!r) {
		return NULL;
	}
	if (r->pending) {
		/* Only after the RT thread stopped: it holds no pointer to
		 * the offer once engine_stop() returned. */
		reconf_finish(r, -ECANCELED);
	}
	free(r->running);
	free(r);
	return NULL;
}

const struct conf *reconf_running(const struct reconf *r)
{
	return r->running;
}

const char *reconf_path(const struct reconf *r)
{
	return r->path;
}

uint64_t reconf_generation(const struct reconf *r)
{
	return r->generation;
}

bool reconf_pending(const struct reconf *r)
{
	return r->pending != NULL;
}

/* Offer next (owned from here) to the RT thread. */
static int reconf_offer(struct reconf *r, struct conf *next, uint64_t now_ns,
			reconf_done_fn done, void *data)
{
	int err;

	err = engine_reconfigure(r->engine, next, &r->pending_gen);
	if (err < 0) {
		free(next);
		return err;
	}
	r->pending = next;
	r->deadline_ns = now_ns + RECONF_TIMEOUT_NS;
	r->done = done;
	r->done_data = data;
	return 0;
}

int reconf_reload(struct reconf *r, uint64_t now_ns, char *note,
		  size_t note_size, char *err, size_t err_size,
		  reconf_done_fn done, void *data)
{
	char list[256], why[CONF_ERR_MAX];
	struct conf *next;
	unsigned n;
	int e;

	if (r->pending) {
		/* One offer at a time (engine_reconfigure()): refused. */
		bounds_count(BOUNDS_RELOAD, 1);
		snprintf(err, err_size, "a reconfiguration is still being "
					"adopted; try again");
		return -EBUSY;
	}
	next = malloc(sizeof(*next));
	if (!next) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	e = conffile_load(r->path, next, err, err_size);
	if (e < 0) {
		free(next);
		return e;
	}
	n = conf_restart_diff(r->running, next, list, sizeof(list));
	conf_keep_restart(r->running, next);
	/* What the file says is valid, but so must be its mix with the
	 * restart-only values that stay. */
	if (conf_check(next, why, sizeof(why)) < 0) {
		snprintf(err, err_size,
			 "%s: %s (with the running values of the keys that "
			 "need a restart: %s)",
			 r->path, why, n ? list : "none differ");
		free(next);
		return -EINVAL;
	}
	snprintf(note, note_size, n ? "needs restart: %s" : "%s",
		 n ? list : "");
	return reconf_offer(r, next, now_ns, done, data);
}

int reconf_set(struct reconf *r, uint64_t now_ns, const char *name,
	       const char *value, char *err, size_t err_size,
	       reconf_done_fn done, void *data)
{
	struct conf_key_info ki;
	struct conf *next;
	int e;

	if (conf_get(r->running, name, &ki) < 0) {
		snprintf(err, err_size, "%s: unknown key", name);
		return -ENOENT;
	}
	if (r->pending) {
		/* One offer at a time (engine_reconfigure()): refused. */
		bounds_count(BOUNDS_RELOAD, 1);
		snprintf(err, err_size, "a reconfiguration is still being "
					"adopted; try again");
		return -EBUSY;
	}
	next = malloc(sizeof(*next));
	if (!next) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	e = conf_set(r->running, name, value, next, err, err_size);
	if (e < 0) {
		free(next);
		return e;
	}
	if (ki.apply == CONF_RESTART) {
		snprintf(err, err_size,
			 "%s needs a restart: change it in %s and restart "
			 "ttwsd",
			 name, r->path);
		free(next);
		return -EPERM;
	}
	return reconf_offer(r, next, now_ns, done, data);
}

void reconf_poll(struct reconf *r, uint64_t now_ns)
{
	if (!r->pending) {
		return;
	}
	if (engine_conf_adopted(r->engine, r->pending_gen)) {
		reconf_finish(r, 0);
		return;
	}
	if (now_ns < r->deadline_ns) {
		return;
	}
	if (engine_conf_withdraw(r->engine, r->pending) == 0) {
		log_warning("the RT thread reached no frame boundary in %u ms: "
			    "configuration change withdrawn",
			    (unsigned)(RECONF_TIMEOUT_NS / NSEC_PER_MSEC));
		reconf_finish(r, -ETIMEDOUT);
		return;
	}
	/* Taken just now: the acknowledgement follows at once. */
}
