/* SPDX-License-Identifier: MIT */
/*
 * The clients of the control API's private socket: accepting them (within
 * CONTROL_MAX_CLIENTS, the oldest silent one making room when all are
 * taken), one sd-bus server connection each with the peer's credentials
 * from the kernel, what sd-bus leaves undone for them (a call sent with
 * BEGIN; a handshake that never ends; replies nobody reads), and closing
 * them without waiting on them.
 */
#include "daemon/control_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/macro.h"
#include "daemon/bounds.h"
#include "daemon/log.h"
#include "os/rt.h"

/* A client that has not finished the D-Bus handshake by then is closed
 * (sd-bus's own limit is 90 s, BUS_AUTH_TIMEOUT). Generous: under a
 * flood of busy clients a handshake waits its turn at this one thread
 * for seconds. */
#define CONTROL_AUTH_TIMEOUT_NS (30 * NSEC_PER_SEC)
/* With every slot taken, the oldest client still in its handshake for
 * longer than this makes room for a new one: clients that connect and
 * say nothing cannot lock the others out. */
#define CONTROL_EVICT_AFTER_NS (1 * NSEC_PER_SEC)
/* sd_bus_process() rounds for what a client sent with its BEGIN. */
#define CONTROL_POST_ROUNDS 16

/*
 * Every message in, before it is dispatched. sd-bus tells a connection's
 * end with a local Disconnected signal. A private client that lets its
 * replies pile up unread (each GetStats one is ~10 KiB, and sd-bus queues
 * up to 384 Ki messages) is dropped, and nothing more of it is handled.
 */
static int control_filter(sd_bus_message *m, void *userdata,
			  sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	uint64_t queued;

	if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local",
				     "Disconnected")) {
		conn->closed = true;
		return 0;
	}
	if (conn->system) {
		return 0;
	}
	conn->spoke = true;
	if (!conn->closed &&
	    sd_bus_get_n_queued_write(conn->bus, &queued) >= 0 &&
	    queued > BOUNDS_CONTROL_QUEUE_MAX) {
		log_warning("control: a client left %" PRIu64
			    " replies unread: closed",
			    queued);
		bounds_count(BOUNDS_CONTROL_QUEUE, 1);
		conn->closed = true;
	}
	/* Closed: freed at the next control_tick(); swallow the rest. */
	return conn->closed ? 1 : 0;
}

void control_conn_free(struct control_conn *conn)
{
	if (conn->starting) {
		conn->ctl->n_starting--;
	}
	if (conn->bus) {
		sd_bus_detach_event(conn->bus);
		/* sd_bus_flush() waits, without a limit, until the peer has
		 * read everything (or, still in the handshake, until it
		 * finished it: up to 90 s): a client that stops reading or
		 * never speaks would freeze the main thread, and stop
		 * ttwsd's exit. Only the bus daemon gets its flush; a
		 * private client loses the replies it did not read. */
		if (conn->system) {
			sd_bus_flush_close_unref(conn->bus);
		} else {
			sd_bus_close_unref(conn->bus);
		}
	}
	free(conn);
}

int control_conn_start(struct control_conn *conn)
{
	int r;

	r = control_add_objects(conn);
	if (r >= 0) {
		r = sd_bus_add_filter(conn->bus, NULL, control_filter, conn);
	}
	if (r >= 0) {
		r = sd_bus_attach_event(conn->bus, conn->ctl->event,
					SD_EVENT_PRIORITY_NORMAL);
	}
	return r;
}

/* One client of the private socket: an sd-bus server connection on fd. */
static int control_conn_new(struct control *c, int fd)
{
	struct control_conn *conn;
	int r;

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return -ENOMEM;
	}
	conn->ctl = c;
	conn->serial = ++c->serials;
	r = unix_peer_creds(fd, &conn->creds);
	if (r < 0) {
		close(fd);
		free(conn);
		return r;
	}
	r = sd_bus_new(&conn->bus);
	if (r < 0) {
		close(fd);
		free(conn);
		return r;
	}
	/* From here the bus owns fd. */
	r = sd_bus_set_fd(conn->bus, fd, fd);
	if (r >= 0) {
		r = sd_bus_set_server(conn->bus, 1, c->server_id);
	}
	if (r >= 0) {
		r = control_conn_start(conn);
	}
	if (r >= 0) {
		r = sd_bus_start(conn->bus);
	}
	if (r < 0) {
		control_conn_free(conn);
		return r;
	}
	conn->starting = true;
	conn->accepted_ns = rt_now_ns();
	c->n_starting++;
	conn->next = c->conns;
	c->conns = conn;
	c->n_clients++;
	return 0;
}

/*
 * After each round of the main loop: connections that just finished the
 * handshake are processed until idle. A client may send BEGIN and its
 * first call in one write (libdbus's dbus-send, GDBus, Python clients
 * do; sd-bus's own clients wait): sd-bus reads both into its buffer
 * while authenticating, and once running it asks for more input only
 * from the socket, never looking at what it holds, so the call would
 * wait for the client's next bytes, forever (libsystemd 252:
 * bus_socket_read_auth() reads past BEGIN; sd_bus_get_events() and
 * sd_bus_get_timeout() then consider only rqueue, not rbuffer).
 */
int control_post(sd_event_source *s, void *userdata)
{
	struct control *c = userdata;
	struct control_conn *conn;
	unsigned i;
	int r = 0;

	if (!c->n_starting) {
		return 0;
	}
	for (conn = c->conns; conn; conn = conn->next) {
		if (!conn->starting || conn->closed) {
			continue;
		}
		if (sd_bus_is_ready(conn->bus) <= 0) {
			continue; /* still authenticating */
		}
		conn->starting = false;
		c->n_starting--;
		/* What came with BEGIN: a few calls at most. A bound, so
		 * that a client writing without pause cannot hold this
		 * thread here; its socket's own events carry the rest. */
		for (i = 0; i < CONTROL_POST_ROUNDS; i++) {
			r = sd_bus_process(conn->bus, NULL);
			if (r <= 0) {
				break;
			}
		}
		if (r < 0) {
			conn->closed = true;
		}
	}
	return 0;
}

/* Every slot taken: free the one of the oldest client still in its
 * handshake past CONTROL_EVICT_AFTER_NS. true when one was freed. */
static bool control_evict(struct control *c)
{
	struct control_conn **pp, **oldest = NULL, *conn;
	uint64_t now = rt_now_ns();

	for (pp = &c->conns; *pp; pp = &(*pp)->next) {
		conn = *pp;
		if (conn->starting && !conn->closed &&
		    now - conn->accepted_ns > CONTROL_EVICT_AFTER_NS &&
		    (!oldest || conn->accepted_ns < (*oldest)->accepted_ns)) {
			oldest = pp;
		}
	}
	if (!oldest) {
		return false;
	}
	conn = *oldest;
	*oldest = conn->next;
	c->n_clients--;
	control_conn_free(conn);
	return true;
}

int control_on_accept(sd_event_source *s, int fd, uint32_t revents,
		      void *userdata)
{
	struct control *c = userdata;
	int cfd, r;

	while (unix_accept(fd, &cfd) == 0) {
		if (c->n_clients >= CONTROL_MAX_CLIENTS) {
			/* Every slot taken: the bound was hit, whether a
			 * squatter makes room or the newcomer is refused. */
			bounds_count(BOUNDS_CONTROL_CLIENTS, 1);
		}
		if (c->n_clients >= CONTROL_MAX_CLIENTS && !control_evict(c)) {
			/* Refused at once rather than queued: a flood of
			 * clients must not grow without bound. */
			close(cfd);
			continue;
		}
		r = control_conn_new(c, cfd);
		if (r < 0) {
			log_warning("control: a client could not be set up: %s",
				    strerror(-r));
		}
	}
	return 0;
}

void control_conns_sweep(struct control *c, uint64_t now_ns)
{
	struct control_conn **pp = &c->conns, *conn;

	while ((conn = *pp)) {
		if (conn->starting && !conn->closed &&
		    now_ns - conn->accepted_ns > CONTROL_AUTH_TIMEOUT_NS) {
			conn->closed = true;
		}
		if (conn->closed) {
			*pp = conn->next;
			c->n_clients--;
			control_conn_free(conn);
			continue;
		}
		pp = &conn->next;
	}
}
