/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_CONF_H
#define TTWS_CORE_CONF_H

/*
 * ttwsd.conf: parsed (libinih) and validated into an immutable snapshot.
 *
 * struct conf holds values only (no pointers), so a validated snapshot can
 * be published by swapping one pointer and read by any thread without
 * locks. Every key, its default and range is documented in ttwsd.conf(5)
 * and conf/ttwsd.conf; unknown sections or keys and out-of-range values
 * are errors that name file:line and the reason, and a reload that fails
 * leaves the running snapshot untouched (the caller's job: conf_parse()
 * never writes *ret on failure).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define CONF_PATH_MAX 256
#define CONF_ERR_MAX 320

enum conf_transport {
	CONF_TRANSPORT_NONE = 0, /* ear not configured */
	CONF_TRANSPORT_UNIX,
	CONF_TRANSPORT_HCI_UART,
	CONF_TRANSPORT_L2CAP,
};

enum conf_codec {
	CONF_CODEC_PCM = 0,
	CONF_CODEC_LC3,
};

/* Where the audio comes from. */
enum conf_source {
	CONF_SOURCE_TONE = 0,     /* the internal test tone per ear */
	CONF_SOURCE_PIPEWIRE = 1, /* applications, through ttws.sink */
};

/*
 * What a pair speaks to its earbuds ([stream] / [pair.NAME] profile):
 * ttws-link (ttws's own protocol, each ear's clock corrected) or ASHA
 * (Audio Streaming for Hearing Aids: G.722 at 16 kHz to hearing aids that
 * already implement it; source.android.com, Bluetooth > ASHA).
 */
enum conf_profile {
	CONF_PROFILE_TTWS_LINK = 0,
	CONF_PROFILE_ASHA = 1,
};

enum conf_ear {
	CONF_EAR_LEFT = 0,
	CONF_EAR_RIGHT = 1,
	CONF_N_EARS = 2,
};

/* Whether a running ttwsd can adopt a new value of a key. */
enum conf_apply {
	CONF_LIVE = 0,    /* adopted at the next frame boundary */
	CONF_RESTART = 1, /* kept until ttwsd restarts */
};

/*
 * Link security, per link ([link.EAR] / [pair.NAME] EAR.security): the
 * kernel's BT_SECURITY levels on l2cap (BlueZ's bluetooth.h), the
 * daemon's own SMP on hci-uart. A link without encryption is open to
 * anyone in radio range who listens or injects, hence the default.
 */
enum conf_security {
	CONF_SECURITY_NONE = 0,   /* no encryption; only when written out,
				   * and warned about at every start */
	CONF_SECURITY_MEDIUM = 1, /* encrypted; an unauthenticated key
				   * (Just Works) is enough. The default. */
	CONF_SECURITY_HIGH = 2,   /* encrypted with an authenticated
				   * (MITM-protected) key */
};

/* Which of a link's keys the file (or a Set) named (conf_link.set). */
enum conf_link_set {
	CONF_LINK_SET_SECURITY = 1u << 0,
};

struct conf_link {
	enum conf_transport transport;
	char path[CONF_PATH_MAX];   /* unix socket path or tty device */
	char address[18];           /* BD_ADDR "AA:BB:CC:DD:EE:FF" */
	bool address_random;        /* LE random vs public address */
	char adapter[18];           /* l2cap: local controller, "" = any */
	uint16_t psm;
	uint16_t mtu;               /* l2cap: our receive MTU, bytes */
	uint32_t baud;
	bool flow_control;          /* RTS/CTS */
	uint32_t bitrate;           /* LC3 bits per second */
	enum conf_security security; /* l2cap, hci-uart; default MEDIUM */
	/* enum conf_link_set bits: the unix transport refuses a security
	 * written out, and only then (a default is no request). */
	uint32_t set;
};

/*
 * Pairs: [pair.NAME] sections, each one earbud pair with its two links
 * and its own stream settings. NAME is 1..CONF_PAIR_NAME_MAX - 1 of
 * [a-z0-9_-]. The older [link.left]/[link.right] form is one pair named
 * CONF_PAIR_DEFAULT (n_pairs == 0 then); a file uses one form or the
 * other.
 */
#define CONF_MAX_PAIRS 8
#define CONF_PAIR_NAME_MAX 32
#define CONF_PAIR_DEFAULT "default"

/* Which of a pair's stream keys the file set; the others follow
 * [stream]. */
enum conf_pair_set {
	CONF_PAIR_SET_CODEC = 1u << 0,
	CONF_PAIR_SET_DELAY = 1u << 1,
	CONF_PAIR_SET_DELAY_MIN = 1u << 2,
	CONF_PAIR_SET_DELAY_MAX = 1u << 3,
	CONF_PAIR_SET_DELAY_MARGIN = 1u << 4,
	CONF_PAIR_SET_PROFILE = 1u << 5,
	CONF_PAIR_SET_ASHA_VOLUME = 1u << 6,
};

struct conf_pair {
	char name[CONF_PAIR_NAME_MAX];
	struct conf_link link[CONF_N_EARS];
	uint32_t set;               /* enum conf_pair_set bits */
	enum conf_codec codec;
	enum conf_profile profile;
	int asha_volume;
	uint64_t delay_ns;
	uint64_t delay_min_ns;
	uint64_t delay_max_ns;
	uint64_t delay_margin_ns;
	int line;                   /* its [pair.NAME] header, for messages */
};

/* [rt] cpu = auto: the CPU of the RT cgroup's partition. */
#define CONF_RT_CPU_AUTO (-2)

struct conf {
	struct {
		int priority;           /* SCHED_FIFO 1..99, 0 = no RT */
		int cpu;                /* -1 = leave, CONF_RT_CPU_AUTO */
		/* "auto" (<own cgroup>/rt when it exists), "none", or an
		 * absolute cgroup path for the RT thread. */
		char cgroup[CONF_PATH_MAX];
		bool lock_memory;
		bool dma_latency;
		uint32_t prefault_heap_kib;
		uint32_t prefault_stack_kib;
	} rt;
	struct {
		char backend[16];       /* auto | io_uring | epoll */
		uint32_t spin_guard_us;
		/* After a wake-up, poll the completion queue this long
		 * before sleeping; 0 = sleep at once. */
		uint32_t busy_poll_us;
		/* os/loop.h rx_defer_ns; 0 = off (io_uring only) */
		uint32_t rx_coalesce_us;
		int socket_busy_poll_us; /* SO_BUSY_POLL, -1 = leave alone */
		int socket_priority;    /* -1 = leave alone */
	} loop;
	struct {
		enum conf_source source;
		uint64_t frame_ns;      /* 7.5 or 10 ms */
		enum conf_codec codec;
		enum conf_profile profile; /* asha: G.722, 20 ms frames */
		int asha_volume;        /* ASHA's Volume, -128 mute .. 0 */
		uint64_t delay_ns;      /* initial presentation delay */
		uint64_t delay_min_ns;
		uint64_t delay_max_ns;
		uint64_t delay_margin_ns;
		bool mono;
		uint32_t tone_hz[CONF_N_EARS];
	} stream;
	struct {
		char estimator[16];     /* naive|median-iir|ttws|lucky-pi */
		uint64_t resync_threshold_ns;
		uint64_t holdover_ns;
		uint32_t probe_every_events; /* 1..3 */
		uint32_t ci_us;         /* expected connection interval */
	} servo;
	struct {
		uint64_t backoff_min_ns;
		uint64_t backoff_max_ns;
		uint64_t hello_timeout_ns;
	} reconnect;
	struct {
		uint64_t supervision_ns; /* no reply this long: link lost */
	} sync;
	struct {
		char socket[CONF_PATH_MAX];
		int socket_mode;        /* file mode of the socket */
	} control;
	struct {
		char textfile[CONF_PATH_MAX]; /* "" = none */
		uint32_t interval_s;
	} metrics;
	/*
	 * The old form's [link.left]/[link.right] (pair "default"). In the
	 * pair form these stay unset, except in a pair's view
	 * (conf_pair_view()), where they are that pair's links.
	 */
	struct conf_link link[CONF_N_EARS];
	unsigned n_pairs;           /* [pair.NAME] sections; 0: old form */
	struct conf_pair pairs[CONF_MAX_PAIRS];
};

/* Every default of ttwsd.conf(5). */
void conf_default(struct conf *ret);

/*
 * Parse text (the contents of file_name, which is used only in messages)
 * on top of the defaults and validate the whole result. Returns 0 and fills
 * *ret; on failure returns -EINVAL, leaves *ret untouched and writes
 * "file:line: reason" into err (size err_size, may be NULL).
 */
int conf_parse(const char *text, const char *file_name, struct conf *ret,
	       char *err, size_t err_size);

/*
 * Validate a whole snapshot (the checks across keys conf_parse() makes at
 * the end of a file). Returns 0, or -EINVAL with the reason in err.
 */
int conf_check(const struct conf *c, char *err, size_t err_size);

/* How many pairs c describes: n_pairs, or 1 (the old form's "default"). */
unsigned conf_n_pairs(const struct conf *c);

/* Pair i's name ("default" in the old form); NULL when i is out of
 * range. Points into c. */
const char *conf_pair_name(const struct conf *c, unsigned i);

/* The index of the pair named name, or -ENOENT. */
int conf_pair_find(const struct conf *c, const char *name);

/* Pair i's link for ear (the old form's [link.EAR] for pair 0); NULL
 * when i or ear is out of range. Points into c. */
const struct conf_link *conf_pair_link(const struct conf *c, unsigned i,
				       enum conf_ear ear);

/*
 * Pair i's view: a copy of c whose link[] are pair i's links and whose
 * [stream] codec and delays are pair i's (its own where set, else
 * [stream]'s). What one pair's RT code (daemon/pair) reads. i out of
 * range: -ERANGE, *ret untouched. ~8 KiB: not for small stacks.
 */
int conf_pair_view(const struct conf *c, unsigned i, struct conf *ret);

/*
 * Keys by name, for the control API: "section.key" ("servo.estimator",
 * "link.left.path" in the old form, "pair.NAME.left.path" and
 * "pair.NAME.delay_ms" in the pair form). Every key of ttwsd.conf(5) has
 * one name per pair.
 */
#define CONF_NAME_MAX 64
#define CONF_VALUE_MAX CONF_PATH_MAX
#define CONF_RANGE_MAX 64

struct conf_key_info {
	char name[CONF_NAME_MAX];
	char value[CONF_VALUE_MAX]; /* as the file would spell it */
	char range[CONF_RANGE_MAX]; /* "[0, 99]", "ttws|naive|..." */
	enum conf_apply apply;
};

/* How many names c has (link keys once per ear and pair, a pair's
 * stream keys once per pair). */
unsigned conf_n_names(const struct conf *c);

/*
 * Name i (0 .. conf_n_names(c) - 1) with its value in c. Returns 0, or
 * -ERANGE for i out of range (*ret untouched).
 */
int conf_key_info(const struct conf *c, unsigned i,
		  struct conf_key_info *ret);

/* The same by name: 0, or -ENOENT for an unknown name. */
int conf_get(const struct conf *c, const char *name,
	     struct conf_key_info *ret);

/*
 * A copy of c with name set to value, validated as a whole. Returns 0 and
 * *ret (may alias c only if the caller accepts a half-written c on
 * failure: pass a separate struct); -ENOENT for an unknown name, -EINVAL
 * for a value that does not parse, is out of range or makes the whole
 * inconsistent; err (size err_size, may be NULL) then says
 * "NAME: reason", e.g. "stream.delay_max_ms: 5000 out of range [1, 2000]".
 * Does not look at whether the key is live: see conf_restart_diff().
 */
int conf_set(const struct conf *c, const char *name, const char *value,
	     struct conf *ret, char *err, size_t err_size);

/*
 * The restart-only keys whose values differ between running and next,
 * as "a, b" in buf ("pairs" when the set of pairs, their names or the
 * form differ) (size bytes, "" when none; truncated with "..." when
 * it does not fit). Returns how many differ.
 */
unsigned conf_restart_diff(const struct conf *running, const struct conf *next,
			   char *buf, size_t size);

/*
 * Copy every restart-only value of running into next, so that next can
 * be adopted live without half-applying keys that need a restart.
 */
void conf_keep_restart(const struct conf *running, struct conf *next);

/*
 * Whether two links reach their earbuds through one controller, whose
 * clock then paces both links' connection events (servo_pair()): the
 * simulator's model (unix), one tty (hci-uart), or one adapter (l2cap;
 * the same address, or both unset: the kernel then routes both through
 * its first adapter that is up, hci_get_route()). Different transports
 * never.
 */
bool conf_same_controller(const struct conf_link *a, const struct conf_link *b);

/*
 * Whether l runs unencrypted on a transport that could encrypt
 * (security = none on l2cap or hci-uart), which ttwsd warns about at
 * every start, per link: NULL when not, else the warning, one sentence
 * (static) to log as it is after the link's name.
 */
const char *conf_security_warning(const struct conf_link *l);

const char *conf_transport_name(enum conf_transport t);
/* "none", "medium", "high"; "?" outside the enum. */
const char *conf_security_name(enum conf_security s);
const char *conf_codec_name(enum conf_codec c);
const char *conf_profile_name(enum conf_profile p);
const char *conf_source_name(enum conf_source s);
const char *conf_ear_name(enum conf_ear e);

#endif
