/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CONTROL_PRIVATE_H
#define TTWS_DAEMON_CONTROL_PRIVATE_H

/*
 * Shared by control.c (sockets, connections, signals) and
 * control_vtable.c (the objects' properties and methods). Not for other
 * modules.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "core/conf.h"
#include "daemon/control.h"
#include "daemon/engine.h"
#include "daemon/reconf.h"
#include "os/unix.h"

#define CONTROL_PATH "/org/ttws/Daemon"
#define CONTROL_IFACE "org.ttws.Daemon1"
#define CONTROL_EAR_IFACE "org.ttws.Ear1"
#define CONTROL_PAIR_IFACE "org.ttws.Pair1"
/* A pair's object: this, "/", its name escaped (sd_bus_path_encode()). */
#define CONTROL_PAIR_PREFIX CONTROL_PATH "/pair"
/* Object paths of ours fit: the prefix, a name escaped at 3 bytes a
 * character, "/ear/right". */
#define CONTROL_OBJ_PATH_MAX 160
#define CONTROL_BUS_NAME "org.ttws.Daemon1"

struct control;
struct control_conn;

/* Userdata of an ear object's vtable: ear of pair (engine order). */
struct control_ear {
	struct control_conn *conn;
	unsigned pair;
	enum conf_ear ear;
};

/* Userdata of a pair object's vtable. */
struct control_pair {
	struct control_conn *conn;
	unsigned pair;
};

/* One bus connection: a client of the private socket, or the system bus. */
struct control_conn {
	struct control *ctl;
	sd_bus *bus;
	bool system;              /* creds from the bus daemon */
	struct unix_creds creds;  /* private socket: from the kernel */
	bool closed;              /* freed at the next control_tick() */
	/* Private socket: accepted, not yet through the handshake (see
	 * control_post()); when it was accepted, CLOCK_MONOTONIC ns. */
	bool starting;
	uint64_t accepted_ns;
	/* Private socket: it has sent its first message. Until then no
	 * signal goes to it: a bus client (busctl --address, GDBus) must
	 * see its Hello() reply first, and sd-bus fails its connection
	 * with EIO on anything before it (libsystemd 252, sd-bus.c
	 * process_hello()). A direct peer's first message is its first
	 * call, so it loses nothing it asked for. */
	bool spoke;
	unsigned serial;          /* its unique name is ":1.serial" */
	/* /org/ttws/Daemon/ear/EAR: the first pair's ears. */
	struct control_ear ears[CONF_N_EARS];
	/* /org/ttws/Daemon/pair/NAME and its ear/EAR, per pair. */
	struct control_pair pairs[CONF_MAX_PAIRS];
	struct control_ear pair_ears[CONF_MAX_PAIRS][CONF_N_EARS];
	struct control_conn *next;
};

/* A ResetStats caller waiting for the RT thread. */
struct control_reset_wait {
	sd_bus_message *m;
	uint64_t want;        /* engine_resets_done() to reach */
	uint64_t heartbeat;   /* snapshot heartbeat once it was reached */
	bool reached;
};

#define CONTROL_MAX_RESET_WAITS 16

/* What PropertiesChanged compares, per ear of each pair and for the
 * daemon. */
struct control_seen {
	bool valid;
	/* The State property's value: a link_state, or for an ASHA pair's
	 * aid 100 + its ashaear_state (control.c). */
	unsigned state[CONF_MAX_PAIRS][CONF_N_EARS];
	enum servo_state servo[CONF_MAX_PAIRS][CONF_N_EARS];
	uint64_t reconnects[CONF_MAX_PAIRS][CONF_N_EARS];
	char estimator[16];
};

struct control {
	sd_event *event;
	struct control_host host;
	char path[CONF_PATH_MAX];
	int listen_fd;
	sd_event_source *listen_src;
	sd_event_source *post_src;       /* control_post() */
	unsigned n_starting;             /* connections with starting set */
	sd_id128_t server_id;
	int ttws_gid;                    /* -1 when there is no group ttws */
	struct control_conn *conns;      /* private socket clients */
	unsigned n_clients;
	unsigned serials;                /* clients accepted so far */
	struct control_conn *system;     /* or NULL */
	struct control_seen seen;
	struct control_reset_wait resets[CONTROL_MAX_RESET_WAITS];
	unsigned n_resets;
	/* The latest snapshot, refreshed when older than a few ms. */
	struct engine_snapshot snap;
	uint64_t snap_at_ns;
	uint64_t now_ns;                 /* of the last control_tick() */
};

/* control_vtable.c: register the objects on a connection's bus. */
int control_add_objects(struct control_conn *conn);

/* control_conn.c: the private socket's clients. Main thread. */

/* Objects, the message filter and the event loop for conn's bus. 0 or a
 * negative errno of sd-bus. */
int control_conn_start(struct control_conn *conn);
/* Close conn's bus (the system bus flushed first, a client never: no
 * wait on a peer) and free conn; the caller has unlinked it. */
void control_conn_free(struct control_conn *conn);
/* The listening socket's sd-event callback (userdata: the control). */
int control_on_accept(sd_event_source *s, int fd, uint32_t revents,
		      void *userdata);
/* The sd-event post callback (userdata: the control): clients just past
 * their handshake are processed, for a call sent with BEGIN. */
int control_post(sd_event_source *s, void *userdata);
/* Free the closed clients and close those whose handshake outlasted its
 * limit (CLOCK_MONOTONIC now_ns). */
void control_conns_sweep(struct control *c, uint64_t now_ns);

/* control.c */

/* The snapshot, refreshed when older than CONTROL_SNAP_MAX_AGE_NS. */
const struct engine_snapshot *control_snapshot(struct control *c);

/*
 * Whether the sender of m may change things (uid 0 or group ttws). 1 yes,
 * 0 no (error set to AccessDenied), or -errno.
 */
int control_authorize(struct control_conn *conn, sd_bus_message *m,
		      sd_bus_error *error);

/* Queue a ResetStats reply (takes a reference on m). 0 or -EBUSY. */
int control_wait_reset(struct control *c, sd_bus_message *m);

/* The ear's reconnect count, link state, servo state: what clients see. */
uint64_t control_reconnects(const struct link_stats *l);

/* How many pairs the engine runs (1..CONF_MAX_PAIRS). */
unsigned control_n_pairs(const struct control *c);

/*
 * The object path of pair i ("/org/ttws/Daemon/pair/NAME", the name
 * escaped with sd_bus_path_encode(): '-' and '_' are not plain path
 * characters), with "/ear/EAR" when ear >= 0, into buf (size bytes).
 * 0, -ERANGE (no such pair), -ENAMETOOLONG or -ENOMEM.
 */
int control_pair_path(const struct control *c, unsigned i, int ear, char *buf,
		      size_t size);

/* Pair i's part of the snapshot (pair 0 without pairs). */
const struct engine_pair_snapshot *control_pair_snap(struct control *c,
						     unsigned i);


/* control_props.c and control_methods.c: sd-bus vtable callbacks. */
static inline struct control *ctl_of(void *userdata)
{
	return ((struct control_conn *)userdata)->ctl;
}

int control_prop_backend(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_battery(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_conf_str(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_delay(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_ear_str(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_ear_t(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_ear_x(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_pairs(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_pair_str(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_pair_t(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_rt(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_uptime(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_prop_version(sd_bus *bus, const char *path, const char *iface,
		const char *prop, sd_bus_message *reply, void *userdata,
		sd_bus_error *error);
int control_method_capture(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_get(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_get_metrics(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_get_stats(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_list_pairs(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_list_keys(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_reload(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_reset_stats(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
int control_method_set(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
#if HAVE_TEST_HOOKS
int control_method_debug_stall_rt(sd_bus_message *m, void *userdata,
		sd_bus_error *error);
#endif

#endif
