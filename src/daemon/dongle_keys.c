/* SPDX-License-Identifier: MIT */
/*
 * The hci-uart dongle's link security (daemon/dongle.h): the bonds of
 * its ears in memory, their files (os/keystore.h) and the log of what
 * core/hcihost's security does. See dongle_private.h.
 *
 * Threads: the RT thread loads the bonds at set-up (before its steady
 * state: blocking file I/O is allowed there), looks them up and takes
 * new ones during pairing without a syscall, and hands each new bond to
 * a writer thread through a wait-free ring. The writer (SCHED_OTHER,
 * every signal blocked, "ttws-keys") writes the file and reports through
 * atomics, which the RT thread logs from its tick (dongle_keys_poll()).
 * It is created by the RT thread during set-up, so it would start on
 * the RT thread's CPU and in its cgroup: it moves itself to the main
 * thread's (keystore_writer_place()) before anything else. It sleeps
 * between looks at the ring (DONGLE_KEYS_POLL_NS) and writes only after
 * a pairing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "core/macro.h"
#include "core/smp_pdu.h"
#include "core/spsc.h"
#include "daemon/dongle_private.h"
#include "daemon/log.h"

#define DONGLE_KEYS_POLL_NS (250 * NSEC_PER_MSEC)

/* Sleep DONGLE_KEYS_POLL_NS, or until dongle_keys_free() says stop. */
static void dongle_keys_pause(struct dongle_keys *k)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)DONGLE_KEYS_POLL_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&k->lock);
	while (!atomic_load(&k->stop) &&
	       pthread_cond_timedwait(&k->wake, &k->lock, &until) == 0) {
	}
	pthread_mutex_unlock(&k->lock);
}

static void *dongle_keys_writer(void *arg)
{
	struct dongle_keys *k = arg;

	prctl(PR_SET_NAME, "ttws-keys");
	atomic_store(&k->place_err, keystore_writer_place());
	for (;;) {
		/* Read stop first: a bond queued before it is written. */
		bool stop = atomic_load(&k->stop);
		struct smp_bond b;

		while (spsc_read(&k->ring, &b, sizeof(b)) == 0) {
			int r = keystore_save(k->dir, &b);

			if (r < 0) {
				atomic_store(&k->last_save_err, r);
				atomic_fetch_add(&k->save_errors, 1);
			} else {
				atomic_fetch_add(&k->saved, 1);
			}
		}
		if (stop) {
			return NULL;
		}
		dongle_keys_pause(k);
	}
}

/* The writer must not run at the RT thread's priority, nor take the
 * daemon's signals (the main thread handles them). */
static int dongle_keys_start_writer(struct dongle_keys *k)
{
	struct sched_param sp = { .sched_priority = 0 };
	pthread_condattr_t ca;
	sigset_t all, old;
	pthread_attr_t a;
	int r;

	/* The writer's pause counts CLOCK_MONOTONIC, as everything here. */
	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&k->wake, &ca) ||
	    pthread_mutex_init(&k->lock, NULL)) {
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	r = pthread_attr_init(&a);
	if (r) {
		return -r;
	}
	r = pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	if (!r) {
		r = pthread_attr_setschedpolicy(&a, SCHED_OTHER);
	}
	if (!r) {
		r = pthread_attr_setschedparam(&a, &sp);
	}
	if (!r) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r = pthread_create(&k->writer, &a, dongle_keys_writer, k);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_attr_destroy(&a);
	if (r) {
		return -r;
	}
	k->writer_on = true;
	return 0;
}

int dongle_keys_init(struct dongle *d)
{
	struct dongle_keys *k = &d->keys;
	int r;

	if (k->ring_mem) {
		return 0;
	}
	k->ring_mem = calloc(1, DONGLE_BOND_RING);
	if (!k->ring_mem) {
		return -ENOMEM;
	}
	/* Records are whole bonds: the ring holds several. */
	if (spsc_init(&k->ring, k->ring_mem, DONGLE_BOND_RING) < 0) {
		return -EINVAL;
	}
	atomic_init(&k->stop, false);
	atomic_init(&k->saved, 0);
	atomic_init(&k->save_errors, 0);
	atomic_init(&k->last_save_err, 0);
	atomic_init(&k->place_err, 0);
	r = keystore_dir(k->dir, sizeof(k->dir));
	if (r == 0) {
		r = keystore_prepare(k->dir);
	}
	if (r < 0) {
		/* Pairing still works; the bonds last until the restart. */
		log_rt(LOG_WARNING,
		       "hci-uart %s: no state directory for bonds (%s: %s): "
		       "earbuds pair again after every restart",
		       d->cl->path, k->dir[0] ? k->dir : "$STATE_DIRECTORY",
		       strerror(-r));
		return 0;
	}
	k->dir_ok = true;
	r = dongle_keys_start_writer(k);
	if (r < 0) {
		k->dir_ok = false;
		log_rt(LOG_WARNING, "hci-uart %s: no bond writer: %s",
		       d->cl->path, strerror(-r));
	}
	return 0;
}

void dongle_keys_free(struct dongle *d)
{
	struct dongle_keys *k = &d->keys;

	if (k->writer_on) {
		pthread_mutex_lock(&k->lock);
		atomic_store(&k->stop, true);
		pthread_cond_signal(&k->wake);
		pthread_mutex_unlock(&k->lock);
		pthread_join(k->writer, NULL);
		k->writer_on = false;
		pthread_cond_destroy(&k->wake);
		pthread_mutex_destroy(&k->lock);
	}
	free(k->ring_mem);
	k->ring_mem = NULL;
	/* The keys go with the memory. */
	memset(k->bond, 0, sizeof(k->bond));
}

void dongle_keys_load(struct dongle *d, const struct conf_link *cl,
		      const struct hci_bdaddr *peer,
		      enum hci_addr_type peer_type)
{
	struct dongle_keys *k = &d->keys;
	char bad[SMP_BOND_NAME_MAX] = "";
	unsigned n = 0, corrupt = 0;
	int r;

	if (!k->dir_ok || k->n_bonds >= DONGLE_BONDS_MAX) {
		return;
	}
	r = keystore_scan(k->dir, peer, (uint8_t)peer_type & 0x01,
			  k->bond + k->n_bonds, DONGLE_BONDS_MAX - k->n_bonds,
			  &n, &corrupt, bad, sizeof(bad));
	if (r < 0) {
		log_rt(LOG_WARNING, "hci-uart %s: cannot read bonds in %s: %s",
		       d->cl->path, k->dir, strerror(-r));
		return;
	}
	k->n_bonds += n;
	k->loaded += n;
	k->corrupt += corrupt;
	if (corrupt) {
		/* Hostile or damaged: ignored; pairing replaces it. */
		log_rt(LOG_WARNING,
		       "hci-uart %s: %u invalid bond file(s) for %s in %s "
		       "(first: %s): ignored, the earbud pairs again",
		       d->cl->path, corrupt, cl->address, k->dir, bad);
	}
	log_rt(LOG_INFO, "hci-uart %s: %u bond(s) with %s in %s", d->cl->path,
	       n, cl->address, k->dir);
}

static bool dongle_bond_is(const struct smp_bond *b,
			   const struct hci_bdaddr *local,
			   const struct hci_bdaddr *peer, uint8_t peer_type)
{
	return memcmp(b->local.b, local->b, 6) == 0 &&
	       memcmp(b->peer.b, peer->b, 6) == 0 && b->peer_type == peer_type;
}

int dongle_bond_find(void *user_data, unsigned ch,
		     const struct hci_bdaddr *local,
		     const struct hci_bdaddr *peer, uint8_t peer_type,
		     struct smp_bond *ret)
{
	struct dongle *d = user_data;
	struct dongle_keys *k = &d->keys;

	for (unsigned i = 0; i < k->n_bonds; i++) {
		if (dongle_bond_is(&k->bond[i], local, peer, peer_type)) {
			*ret = k->bond[i];
			return 0;
		}
	}
	return -ENOENT;
}

void dongle_bond_new(void *user_data, unsigned ch, const struct smp_bond *b)
{
	struct dongle *d = user_data;
	struct dongle_keys *k = &d->keys;
	unsigned i;

	for (i = 0; i < k->n_bonds; i++) {
		if (dongle_bond_is(&k->bond[i], &b->local, &b->peer,
				   b->peer_type)) {
			break;
		}
	}
	if (i == DONGLE_BONDS_MAX) {
		/* Full: the oldest goes (from memory; its file stays). */
		memmove(k->bond, k->bond + 1,
			(DONGLE_BONDS_MAX - 1) * sizeof(k->bond[0]));
		i = DONGLE_BONDS_MAX - 1;
	} else if (i == k->n_bonds) {
		k->n_bonds++;
	}
	k->bond[i] = *b;
	if (!k->dir_ok) {
		return;
	}
	if (spsc_write(&k->ring, b, sizeof(*b)) < 0) {
		k->save_drops++;
		log_rt_event(LOG_WARNING, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart: bond not saved (writer "
			     "behind): the earbud pairs again after a restart",
			     conf_ear_name(ch));
	}
}

/* The writer's progress, for the log (RT thread, from the tick). */
void dongle_keys_poll(struct dongle *d)
{
	struct dongle_keys *k = &d->keys;
	uint64_t saved, errors;
	int place;

	if (!k->writer_on) {
		return;
	}
	saved = atomic_load(&k->saved);
	errors = atomic_load(&k->save_errors);
	place = atomic_exchange(&k->place_err, 0);
	if (place < 0) {
		log_rt(LOG_NOTICE,
		       "hci-uart %s: the bond writer thread could not leave "
		       "the RT thread's cgroup or CPU (%s); it runs there at "
		       "SCHED_OTHER",
		       d->cl->path, strerror(-place));
	}
	if (saved != k->logged_saved) {
		k->logged_saved = saved;
		log_rt(LOG_INFO,
		       "hci-uart %s: bond written to %s (%llu so far)",
		       d->cl->path, k->dir, (unsigned long long)saved);
	}
	if (errors != k->logged_errors) {
		k->logged_errors = errors;
		log_rt(LOG_ERR,
		       "hci-uart %s: cannot write a bond in %s: %s; the earbud "
		       "pairs again after a restart",
		       d->cl->path, k->dir,
		       strerror(-atomic_load(&k->last_save_err)));
	}
}

static const char *dongle_sec_err(int err)
{
	switch (err) {
	case -EACCES:
		return "refused by the earbud";
	case -EBADMSG:
		return "a confirm or check value did not match (someone in "
		       "the middle?)";
	case -EKEYREJECTED:
		return "the earbud's public key is invalid (off the curve, "
		       "the debug key, or ours)";
	case -EOPNOTSUPP:
		return "the earbud wants legacy pairing, a short key or OOB";
	case -ETIMEDOUT:
		return "timed out";
	case -EPROTO:
		return "the earbud broke the pairing protocol";
	case -EIO:
		return "the controller or the encryption failed";
	default:
		return strerror(-err);
	}
}

void dongle_security(void *user_data, unsigned ch,
		     const struct hcihost_sec_info *info)
{
	struct dongle *d = user_data;
	const char *ear = conf_ear_name(ch);

	switch (info->event) {
	case HCIHOST_SEC_PAIRING:
		log_rt_event(LOG_NOTICE, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart %s: pairing (LE Secure "
			     "Connections, Just Works)",
			     ear, d->cl->path);
		return;
	case HCIHOST_SEC_PAIRED:
		log_rt_event(LOG_NOTICE, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart %s: paired, link encrypted "
			     "(unauthenticated key)",
			     ear, d->cl->path);
		return;
	case HCIHOST_SEC_ENCRYPTED:
		log_rt_event(LOG_INFO, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart %s: link encrypted%s", ear,
			     d->cl->path,
			     info->bonded ? " with the stored bond" : "");
		return;
	case HCIHOST_SEC_KEY_MISSING:
		log_rt_event(LOG_WARNING, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart %s: the earbud has no key for "
			     "this gateway (reset, or paired elsewhere): "
			     "pairing again",
			     ear, d->cl->path);
		return;
	case HCIHOST_SEC_FAILED:
		log_rt_event(LOG_WARNING, LOG_EV_NONE, (int)ch, NULL, 0,
			     "%s ear: hci-uart %s: link security failed: %s "
			     "(SMP reason 0x%02x %s, HCI status 0x%02x); "
			     "dropping the link, retrying with back-off",
			     ear, d->cl->path, dongle_sec_err(info->err),
			     info->smp_reason,
			     info->smp_reason ?
				     smp_reason_name(info->smp_reason) :
				     "-",
			     info->hci_status);
		return;
	}
}
