/* SPDX-License-Identifier: MIT */
/*
 * daemon/ashapair.h in a build without G.722 (no libspandsp): an ASHA
 * pair cannot be made (-ENOTSUP, which ttwsd reports at start: "this
 * build has no G.722"), and the rest is never reached.
 */
#include <errno.h>
#include <string.h>

#include "daemon/ashapair.h"
#include "daemon/chan.h"


int ashapair_new(const struct ashapair_env *env,
		 struct chan *chans[CONF_N_EARS], struct ashapair **ret)
{
	(void)env;
	(void)ret;
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		chans[e] = chan_free(chans[e]);
	}
	return -ENOTSUP;
}

struct ashapair *ashapair_free(struct ashapair *p)
{
	(void)p;
	return NULL;
}

void ashapair_start(struct ashapair *p, uint64_t now_ns)
{
	(void)p;
	(void)now_ns;
}

void ashapair_stop(struct ashapair *p, uint64_t now_ns)
{
	(void)p;
	(void)now_ns;
}

int ashapair_set_volume(struct ashapair *p, int volume, uint64_t now_ns)
{
	(void)p;
	(void)volume;
	(void)now_ns;
	return -ENOTSUP;
}

void ashapair_get_stats(const struct ashapair *p, struct ashapair_stats *ret)
{
	(void)p;
	memset(ret, 0, sizeof(*ret));
}

void ashapair_reset_stats(struct ashapair *p)
{
	(void)p;
}

void ashapair_set_hists(struct ashapair *p,
			struct hist *tx_done[CONF_N_EARS])
{
	(void)p;
	(void)tx_done;
}

void ashapair_pull(struct ashapair *p)
{
	(void)p;
}

bool ashapair_stopped(struct ashapair *p, bool force)
{
	(void)p;
	(void)force;
	return true;
}

void ashapair_reconf(struct ashapair *p, uint64_t now_ns)
{
	(void)p;
	(void)now_ns;
}
