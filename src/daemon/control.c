/* SPDX-License-Identifier: MIT */
/*
 * The control API's set-up and shared state: the private socket (its
 * clients' connections are control_conn.c's), the system bus when there
 * is one, who may change things, PropertiesChanged for the state a
 * client watches, and the ResetStats callers waiting for the RT thread.
 */
#include "daemon/control.h"
#include "daemon/control_private.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/macro.h"
#include "daemon/log.h"
#include "os/rt.h"

/* Snapshots are published every 100 ms; a client's burst of property
 * reads shares one copy. */
#define CONTROL_SNAP_MAX_AGE_NS (5 * NSEC_PER_MSEC)

const struct engine_snapshot *control_snapshot(struct control *c)
{
	uint64_t now = rt_now_ns();

	if (now - c->snap_at_ns > CONTROL_SNAP_MAX_AGE_NS) {
		engine_snapshot(c->host.engine, &c->snap);
		c->snap_at_ns = now;
	}
	return &c->snap;
}

uint64_t control_reconnects(const struct link_stats *l)
{
	return l->connects ? l->connects - 1 : 0;
}

unsigned control_n_pairs(const struct control *c)
{
	return MIN(engine_n_pairs(c->host.engine), (unsigned)CONF_MAX_PAIRS);
}

int control_pair_path(const struct control *c, unsigned i, int ear, char *buf,
		      size_t size)
{
	const char *name = i < control_n_pairs(c) ?
				   engine_pair_name(c->host.engine, i) :
				   NULL;
	char *p = NULL;
	int n, r;

	if (!name) {
		return -ERANGE;
	}
	r = sd_bus_path_encode(CONTROL_PAIR_PREFIX, name, &p);
	if (r < 0) {
		return r;
	}
	if (ear >= 0) {
		n = snprintf(buf, size, "%s/ear/%s", p,
			     conf_ear_name((enum conf_ear)ear));
	} else {
		n = snprintf(buf, size, "%s", p);
	}
	free(p);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const struct engine_pair_snapshot *control_pair_snap(struct control *c,
						     unsigned i)
{
	const struct engine_snapshot *s = control_snapshot(c);

	return &s->pairs[i < s->n_pairs ? i : 0];
}

static bool control_in_group(const struct control *c, unsigned gid,
			     const unsigned *groups, unsigned n)
{
	unsigned i;

	if (c->ttws_gid < 0) {
		return false;
	}
	if (gid == (unsigned)c->ttws_gid) {
		return true;
	}
	for (i = 0; i < n; i++) {
		if (groups[i] == (unsigned)c->ttws_gid) {
			return true;
		}
	}
	return false;
}

/*
 * Creds of a system bus sender, as the bus daemon vouches for them:
 * GetConnectionCredentials' UnixUserID and UnixGroupIDs (D-Bus
 * specification, "Method: org.freedesktop.DBus.GetConnectionCredentials";
 * dbus-daemon >= 1.12 reports the groups). Not sd-bus's creds
 * augmentation: that reads the caller's /proc/PID/status, which
 * ttwsd.service cannot see (ProtectProc=invisible), and /proc is racy.
 * Main thread; the call waits for the bus daemon only.
 */
static int control_bus_creds(sd_bus_message *m, struct unix_creds *ret)
{
	sd_bus_message *reply = NULL;
	const char *key;
	bool have_uid = false;
	uint32_t u;
	int r;

	r = sd_bus_call_method(sd_bus_message_get_bus(m),
			       "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus",
			       "GetConnectionCredentials", NULL, &reply, "s",
			       sd_bus_message_get_sender(m));
	if (r < 0) {
		return r;
	}
	ret->gid = (gid_t)-1;
	ret->n_groups = 0;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0) {
			break;
		}
		if (strcmp(key, "UnixUserID") == 0) {
			r = sd_bus_message_read(reply, "v", "u", &u);
			ret->uid = u;
			have_uid = r >= 0;
		} else if (strcmp(key, "UnixGroupIDs") == 0) {
			r = sd_bus_message_enter_container(reply, 'v', "au");
			if (r >= 0) {
				r = sd_bus_message_enter_container(reply, 'a',
								   "u");
			}
			while (r >= 0 &&
			       (r = sd_bus_message_read(reply, "u", &u)) > 0) {
				/* The list is complete or absent (the
				 * specification): a longer one than we
				 * keep is refused, not cut. */
				if (ret->n_groups >= UNIX_CREDS_MAX_GROUPS) {
					r = -E2BIG;
					break;
				}
				ret->groups[ret->n_groups++] = u;
			}
			if (r >= 0) {
				r = sd_bus_message_exit_container(reply);
			}
			if (r >= 0) {
				r = sd_bus_message_exit_container(reply);
			}
		} else {
			r = sd_bus_message_skip(reply, "v");
		}
		if (r >= 0) {
			r = sd_bus_message_exit_container(reply);
		}
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		return r;
	}
	return have_uid ? 0 : -ENODATA;
}

int control_authorize(struct control_conn *conn, sd_bus_message *m,
		      sd_bus_error *error)
{
	struct unix_creds cr;
	int r;

	if (conn->system) {
		r = control_bus_creds(m, &cr);
		if (r < 0) {
			return sd_bus_error_set_errnof(
				error, -r, "cannot read the caller's "
					   "credentials: %s",
				strerror(-r));
		}
	} else {
		cr = conn->creds;
	}
	if (cr.uid == 0 ||
	    control_in_group(conn->ctl, cr.gid, cr.groups, cr.n_groups)) {
		return 1;
	}
	return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				 "%s needs uid 0 or membership of group ttws "
				 "(caller uid %u)",
				 sd_bus_message_get_member(m), cr.uid);
}

/*
 * The system bus, when there is one: its absence or a policy that keeps
 * the name from us is logged and the API stays on the private socket.
 * Returns 0, or -ENOMEM: short of memory, "no system bus" would be a
 * lie, and start-up fails instead (control_new()).
 */
static int control_system_bus(struct control *c)
{
	struct control_conn *conn;
	int r;

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		return -ENOMEM;
	}
	conn->ctl = c;
	conn->system = true;
	r = sd_bus_open_system(&conn->bus);
	if (r < 0) {
		if (r != -ENOMEM) {
			log_info("control: no system bus (%s); the API is on "
				 "%s only",
				 strerror(-r), c->path);
		}
		control_conn_free(conn);
		return r == -ENOMEM ? r : 0;
	}
	r = sd_bus_request_name(conn->bus, CONTROL_BUS_NAME, 0);
	if (r < 0) {
		if (r != -ENOMEM) {
			log_warning("control: cannot own %s on the system "
				    "bus: %s (is its D-Bus policy, "
				    "org.ttws.Daemon1.conf, installed?); the "
				    "API is on %s only",
				    CONTROL_BUS_NAME, strerror(-r), c->path);
		}
		control_conn_free(conn);
		return r == -ENOMEM ? r : 0;
	}
	r = control_conn_start(conn);
	if (r < 0) {
		if (r != -ENOMEM) {
			log_warning("control: system bus: %s", strerror(-r));
		}
		control_conn_free(conn);
		return r == -ENOMEM ? r : 0;
	}
	log_info("control: %s on the system bus", CONTROL_BUS_NAME);
	c->system = conn;
	return 0;
}

/* /run/ttws is tmpfiles.d's job; without systemd, make it here. */
static void control_make_dir(const char *path)
{
	char copy[CONF_PATH_MAX];
	char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_debug("control: mkdir %s: %s", dir, strerror(errno));
	}
}

int control_new(sd_event *ev, const struct control_host *host,
		const char *socket_path, int socket_mode,
		struct control **ret)
{
	struct control *c;
	int gid = -1, r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	c->event = ev;
	c->host = *host;
	c->listen_fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", socket_path);
	/* No group ttws is a set-up without it; no memory to look it up
	 * is not (the socket would silently lose the group's access). */
	r = unix_group_gid("ttws", &gid);
	if (r == -ENOMEM) {
		free(c);
		return r;
	}
	if (r < 0) {
		gid = -1;
	}
	c->ttws_gid = gid;
	sd_id128_randomize(&c->server_id);
	control_make_dir(c->path);
	/* A backlog for a burst of as many clients as are served at once:
	 * past it, connect(2) fails with EAGAIN before we could see them. */
	r = unix_stream_listen(c->path, CONTROL_MAX_CLIENTS, socket_mode, gid,
			       &c->listen_fd);
	if (r == -EPERM && gid >= 0) {
		/* Not root and not in group ttws: the mode alone, then. */
		log_warning("control: cannot give %s to group ttws; it keeps "
			    "this process's group",
			    c->path);
		r = unix_stream_listen(c->path, CONTROL_MAX_CLIENTS,
				       socket_mode, -1, &c->listen_fd);
	}
	if (r >= 0) {
		r = sd_event_add_io(ev, &c->listen_src, c->listen_fd, EPOLLIN,
				    control_on_accept, c);
	}
	if (r >= 0) {
		r = sd_event_add_post(ev, &c->post_src, control_post, c);
	}
	if (r >= 0) {
		r = control_system_bus(c);
	}
	if (r < 0) {
		control_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

static void control_reply_resets(struct control *c, bool all)
{
	unsigned i = 0;

	while (i < c->n_resets) {
		struct control_reset_wait *w = &c->resets[i];

		if (!all) {
			const struct engine_snapshot *s = control_snapshot(c);

			/* Carried out, and a snapshot taken since. */
			if (!w->reached &&
			    engine_resets_done(c->host.engine) >= w->want) {
				w->reached = true;
				w->heartbeat = s->heartbeat;
			}
			if (!w->reached || s->heartbeat == w->heartbeat) {
				i++;
				continue;
			}
			sd_bus_reply_method_return(w->m, NULL);
		}
		sd_bus_message_unref(w->m);
		c->resets[i] = c->resets[--c->n_resets];
	}
}

struct control *control_free(struct control *c)
{
	struct control_conn *conn;

	if (!c) {
		return NULL;
	}
	control_reply_resets(c, true);
	while ((conn = c->conns)) {
		c->conns = conn->next;
		control_conn_free(conn);
	}
	if (c->system) {
		control_conn_free(c->system);
	}
	sd_event_source_unref(c->post_src);
	sd_event_source_unref(c->listen_src);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	free(c);
	return NULL;
}

int control_wait_reset(struct control *c, sd_bus_message *m)
{
	struct control_reset_wait *w;

	if (c->n_resets == CONTROL_MAX_RESET_WAITS) {
		return -EBUSY;
	}
	w = &c->resets[c->n_resets++];
	w->m = sd_bus_message_ref(m);
	w->want = engine_resets_done(c->host.engine) + 1;
	w->reached = false;
	engine_reset_stats(c->host.engine);
	return 0;
}

/* Emit on every connection that has spoken (struct control_conn.spoke):
 * names NULL-terminated. */
static void control_emit(struct control *c, const char *path,
			 const char *iface, char **names)
{
	struct control_conn *conn;

	for (conn = c->conns; conn; conn = conn->next) {
		if (!conn->closed && conn->spoke) {
			sd_bus_emit_properties_changed_strv(conn->bus, path,
							    iface, names);
		}
	}
	if (c->system) {
		sd_bus_emit_properties_changed_strv(c->system->bus, path,
						    iface, names);
	}
}

/* PropertiesChanged of names on ear e of pair p: its own object, and for
 * the first pair also /org/ttws/Daemon/ear/EAR. */
static void control_emit_ear(struct control *c, unsigned p, unsigned e,
			     char **names)
{
	char path[CONTROL_OBJ_PATH_MAX];

	if (p == 0) {
		snprintf(path, sizeof(path), CONTROL_PATH "/ear/%s",
			 conf_ear_name(e));
		control_emit(c, path, CONTROL_EAR_IFACE, names);
	}
	if (control_pair_path(c, p, (int)e, path, sizeof(path)) == 0) {
		control_emit(c, path, CONTROL_EAR_IFACE, names);
	}
}

static void control_emit_changes(struct control *c)
{
	const struct conf *cf = reconf_running(c->host.reconf);
	struct control_seen *seen = &c->seen;
	unsigned e, p, np = control_n_pairs(c);

	for (p = 0; p < np; p++) {
		const struct engine_pair_snapshot *ps = control_pair_snap(c, p);

		for (e = 0; e < CONF_N_EARS; e++) {
			const struct engine_ear *x = &ps->ear[e];
			uint64_t rc = control_reconnects(&x->link);
			/* An aid's states apart from a link's (100 up). */
			unsigned st = ps->is_asha ?
					      100u + ps->asha.ear[e].state :
					      (unsigned)x->link.state;
			char *names[4];
			unsigned n = 0;

			if (ps->is_asha) {
				rc = ps->asha.ear[e].connects > 0 ?
					     ps->asha.ear[e].connects - 1 :
					     0;
			}
			if (seen->valid && seen->state[p][e] != st) {
				names[n++] = (char *)"State";
			}
			if (seen->valid && seen->servo[p][e] != x->servo.state) {
				names[n++] = (char *)"ServoState";
			}
			if (seen->valid && seen->reconnects[p][e] != rc) {
				names[n++] = (char *)"Reconnects";
			}
			names[n] = NULL;
			seen->state[p][e] = st;
			seen->servo[p][e] = x->servo.state;
			seen->reconnects[p][e] = rc;
			if (n) {
				control_emit_ear(c, p, e, names);
			}
		}
	}
	if (seen->valid && strcmp(seen->estimator, cf->servo.estimator) != 0) {
		char *names[] = { (char *)"Estimator", NULL };

		control_emit(c, CONTROL_PATH, CONTROL_IFACE, names);
	}
	snprintf(seen->estimator, sizeof(seen->estimator), "%s",
		 cf->servo.estimator);
	seen->valid = true;
}

void control_tick(struct control *c, uint64_t now_ns)
{
	c->now_ns = now_ns;
	control_conns_sweep(c, rt_now_ns());
	control_emit_changes(c);
	control_reply_resets(c, false);
}

bool control_busy(const struct control *c)
{
	return c->n_resets > 0;
}

unsigned control_n_clients(const struct control *c)
{
	return c->n_clients;
}
