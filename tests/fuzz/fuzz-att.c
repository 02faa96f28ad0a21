/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for ASHA's GATT client (src/core/ashac*.c) and so
 * for the ATT codec under it (src/core/att*.c), driven by a hostile
 * hearing aid through the public API only (ashac.h).
 *
 * The input is a script. Its first octet picks the configuration (our
 * MTU, the start timeout, whether the callbacks call back into the
 * client); then each step is one octet naming an action and the octets
 * it takes:
 *   - "auto": a well-behaved aid's answer to the request out (an ASHA
 *     service laid out as Bumble's), so that the fuzzer reaches READY
 *     and the control operations cheaply; "mutate": that answer with one
 *     octet changed; "auto all": answers until nothing is out;
 *   - raw PDUs of any length and content; AudioStatus notifications;
 *     the aid's own requests and indications;
 *   - the client's API (start, stop, status, volume), the passing of
 *     time (ticks, jumps to the next deadline) and a failing send.
 *
 * Beyond memory safety and UB, every input checks:
 *   - every PDU the client sends decodes with att_decode() and fits the
 *     ATT_MTU of the moment (never more than ours);
 *   - never two requests out (Core 5.4, Vol 3, Part F, 3.3.2): a request
 *     is sent only once the harness has fed the previous one's answer,
 *     by the client's own rule (its response opcode, or an Error
 *     Response naming it), or the client has failed on a timeout;
 *   - every request or indication fed is answered first, exactly as
 *     att_answer() says, unless the bearer is dead (a transaction timed
 *     out: then nothing at all is sent, F 3.3.3);
 *   - ready at most once per start, in READY, with an SPSM in
 *     0x0001..0x00ff and a ReadOnlyProperties of version 1; failed at
 *     most once, with a negative errno and a reason, and never followed
 *     by a callback or a request;
 *   - each Start sent settles at most once (start_done), and a second
 *     Start goes out only after the first settled;
 *   - ATT_MTU within 23..ours; stats.pdus_tx equal to the PDUs seen;
 *     after ashac_tick(now) no deadline is at or before now.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ashac.h"

#include "fuzz-check.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS UINT64_C(1000000)

/* The aid's handles (test-ashac.c's layout). */
#define H_SVC 0x10
#define H_SVC_END 0x1f
#define H_ROP 0x12
#define H_ACP 0x14
#define H_AS 0x16
#define H_CCCD 0x17
#define H_VOL 0x19
#define H_PSM 0x1b

static struct {
	struct ashac c;
	struct ashac_cfg cfg;
	uint64_t now;
	bool debug;
	bool reenter;        /* callbacks call the API */
	/* The client's side as seen on the wire. */
	uint8_t req;         /* request out, 0 none */
	uint8_t last_req[32];
	size_t last_req_len;
	bool dead;           /* failed on a transaction timeout */
	int send_fail;       /* the next send returns this */
	bool start_out;      /* a Start was sent and has not settled */
	uint64_t sent;
	/* The PDUs sent during one ashac_input(). */
	uint8_t first[32];
	size_t first_len;
	unsigned sent_in_call;
	/* Callbacks. */
	unsigned ready_n, failed_n;
} F;

/* ---- the client's callbacks ---------------------------------------- */

static int cb_send(void *user, const uint8_t *pdu, size_t len)
{
	struct att_pdu p;
	int r;

	(void)user;
	check(!F.dead);
	check(len >= 1 && len <= ashac_mtu(&F.c) && len <= F.cfg.mtu);
	check(att_decode(pdu, len, &p) == 0);
	if (F.send_fail) {
		r = F.send_fail;
		F.send_fail = 0;
		return r;
	}
	if (att_opcode_kind(pdu[0]) == ATT_KIND_REQUEST) {
		check(F.req == 0);
		check(F.failed_n == 0);
		F.req = pdu[0];
		F.last_req_len = len < sizeof(F.last_req) ? len :
							   sizeof(F.last_req);
		memcpy(F.last_req, pdu, F.last_req_len);
		if (p.opcode == ATT_WRITE_REQ && p.hv.value_len >= 1 &&
		    p.hv.value[0] == ASHA_OP_START &&
		    ashac_state(&F.c) == ASHAC_READY) {
			check(!F.start_out);
			F.start_out = true;
		}
	}
	if (F.sent_in_call++ == 0) {
		memcpy(F.first, pdu, len < sizeof(F.first) ? len :
							     sizeof(F.first));
		F.first_len = len;
	}
	F.sent++;
	if (F.debug) {
		fprintf(stderr, "  -> %02x (%zu)\n", pdu[0], len);
	}
	return 0;
}

static void cb_ready(void *user, const struct asha_props *props, uint16_t psm)
{
	(void)user;
	check(F.ready_n == 0 && F.failed_n == 0);
	check(ashac_state(&F.c) == ASHAC_READY);
	check(psm >= 0x0001 && psm <= 0x00ff);
	check(props->version == ASHA_VERSION);
	check(ashac_psm(&F.c) == psm);
	F.ready_n++;
	if (F.reenter) {
		ashac_audio_start(&F.c, ASHA_CODEC_G722_16K, ASHA_AUDIO_MEDIA,
				  -10, false, F.now);
	}
}

static void cb_failed(void *user, int err, const char *why)
{
	(void)user;
	check(F.failed_n == 0);
	check(err < 0 && why != NULL);
	check(ashac_state(&F.c) == ASHAC_FAILED);
	F.failed_n++;
	/* Only the transaction timeout fails with -ETIMEDOUT: the bearer
	 * is dead, nothing more may go out (F 3.3.3). */
	if (err == -ETIMEDOUT) {
		F.dead = true;
		F.req = 0;
	}
	F.start_out = false;
}

static void cb_status(void *user, int8_t status)
{
	(void)user;
	(void)status;
	check(F.failed_n == 0);
	if (F.reenter) {
		ashac_volume(&F.c, -20, F.now);
	}
}

static void cb_start_done(void *user, int err, const char *why)
{
	(void)user;
	check(F.failed_n == 0 && F.start_out);
	check(err == 0 || why != NULL);
	F.start_out = false;
	if (F.reenter) {
		ashac_audio_stop(&F.c, F.now);
	}
}

static const struct ashac_ops ops = {
	.send = cb_send,
	.ready = cb_ready,
	.failed = cb_failed,
	.status = cb_status,
	.start_done = cb_start_done,
};

/* ---- feeding the client --------------------------------------------- */

/* Whether the client will take pdu as the end of its request (its
 * rule, ashac.c: the response opcode, or an Error Response naming the
 * request). */
static bool ends_req(const uint8_t *pdu, size_t len)
{
	if (!F.req || !len) {
		return false;
	}
	if (pdu[0] == ATT_ERROR_RSP) {
		return len >= 2 && pdu[1] == F.req;
	}
	return pdu[0] == att_response_opcode(F.req);
}

static void feed(const uint8_t *pdu, size_t len)
{
	uint8_t want[16];
	size_t want_len = 0;
	int owed;

	owed = att_answer(pdu, len, F.cfg.mtu, want, sizeof(want), &want_len);
	check(owed == 0 || owed == 1);
	if (ends_req(pdu, len)) {
		F.req = 0;
	}
	F.sent_in_call = 0;
	if (F.debug) {
		fprintf(stderr, "<- %02x (%zu) in %s\n", len ? pdu[0] : 0, len,
			ashac_state_name(ashac_state(&F.c)));
	}
	ashac_input(&F.c, pdu, len, F.now);
	/* The answer goes first, unless the bearer is dead or the send
	 * failed (the client has then failed). */
	if (owed == 1 && !F.dead && F.sent_in_call) {
		check(F.first_len == want_len);
		check(memcmp(F.first, want, want_len) == 0);
	}
	if (owed == 1 && !F.dead && !F.sent_in_call) {
		check(F.failed_n == 1);
	}
}

/* ---- a well-behaved aid --------------------------------------------- */

static const uint8_t chr_uuid[5][16] = {
	{0xbb, 0x37, 0xad, 0x2a, 0x90, 0x7c, 0x69, 0x91, 0x3e, 0x4a, 0x81,
	 0xc4, 0x1e, 0x65, 0x33, 0x63},
	{0xc0, 0x6c, 0x99, 0xb0, 0x37, 0x19, 0x9f, 0x9d, 0x6c, 0x47, 0x88,
	 0x4a, 0x7e, 0xde, 0xd4, 0xf0},
	{0x37, 0x48, 0x40, 0x56, 0x6b, 0x32, 0x41, 0xb6, 0xac, 0x4c, 0x11,
	 0xe7, 0x1a, 0x3f, 0x66, 0x38},
	{0xdf, 0x91, 0x7e, 0x0c, 0xe7, 0xf9, 0x23, 0x88, 0xe4, 0x41, 0x14,
	 0xab, 0x9e, 0xca, 0xe4, 0x00},
	{0x1a, 0xcc, 0xf8, 0x1d, 0xe0, 0xe2, 0x4e, 0xb3, 0xaa, 0x42, 0xb6,
	 0x82, 0x39, 0x03, 0x41, 0x2d},
};
static const uint8_t chr_decl[5] = {0x11, 0x13, 0x15, 0x18, 0x1a};
/* The longest answer: all five declarations at once (MTU 185, 517). */
#define AUTO_MAX (2 + 5 * 21)
static const uint8_t chr_props[5] = {0x02, 0x0c, 0x12, 0x04, 0x02};

/* Read By Type 0x2803 from start: as many 21-octet declarations as fit
 * the ATT_MTU, or Attribute Not Found. */
static size_t auto_chars(uint16_t start, uint8_t *b)
{
	size_t n = 2, room = ashac_mtu(&F.c);
	unsigned i;

	b[0] = ATT_READ_BY_TYPE_RSP;
	b[1] = 21;
	for (i = 0; i < 5; i++) {
		if (chr_decl[i] < start || n + 21 > room) {
			continue;
		}
		b[n] = chr_decl[i];
		b[n + 1] = 0;
		b[n + 2] = chr_props[i];
		b[n + 3] = (uint8_t)(chr_decl[i] + 1);
		b[n + 4] = 0;
		memcpy(b + n + 5, chr_uuid[i], 16);
		n += 21;
	}
	if (n > 2) {
		return n;
	}
	memcpy(b, (uint8_t[]){ATT_ERROR_RSP, ATT_READ_BY_TYPE_REQ,
			      (uint8_t)start, (uint8_t)(start >> 8),
			      ATT_E_ATTRIBUTE_NOT_FOUND},
	       5);
	return 5;
}

static size_t auto_read(uint16_t h, uint8_t *b)
{
	static const uint8_t rop[17] = {0x01, 0x02, 0x0a, 0x01, 1, 2, 3, 4,
					5,    6,    0x01, 0x2c, 0x01, 0, 0,
					0x02, 0x00};

	b[0] = ATT_READ_RSP;
	if (h == H_ROP) {
		memcpy(b + 1, rop, sizeof(rop));
		return 1 + sizeof(rop);
	}
	b[1] = 0x81;
	b[2] = 0x00;
	return 3;
}

/* The answer to the request out, in b (AUTO_MAX octets); 0 if none. */
static size_t auto_answer(uint8_t *b)
{
	struct att_pdu q;

	if (!F.req || att_decode(F.last_req, F.last_req_len, &q) < 0) {
		return 0;
	}
	switch (q.opcode) {
	case ATT_MTU_REQ:
		memcpy(b, (uint8_t[]){ATT_MTU_RSP, 64, 0}, 3);
		return 3;
	case ATT_FIND_BY_TYPE_REQ:
		memcpy(b, (uint8_t[]){ATT_FIND_BY_TYPE_RSP, H_SVC, 0, H_SVC_END,
				      0},
		       5);
		return 5;
	case ATT_READ_BY_TYPE_REQ:
		return auto_chars(q.type_req.range.start, b);
	case ATT_FIND_INFO_REQ:
		memcpy(b, (uint8_t[]){ATT_FIND_INFO_RSP, 1, H_CCCD, 0, 0x02,
				      0x29},
		       6);
		return 6;
	case ATT_READ_REQ:
		return auto_read(q.hv.handle, b);
	default:
		b[0] = ATT_WRITE_RSP;
		return 1;
	}
}

/* The request out was a Start: the aid notifies AudioStatus. */
static bool last_was_start(void)
{
	return F.last_req_len >= 4 && F.last_req[0] == ATT_WRITE_REQ &&
	       F.last_req[1] == H_ACP && F.last_req[3] == ASHA_OP_START;
}

static void do_auto(struct input *in, bool mutate)
{
	uint8_t b[AUTO_MAX];
	bool start = last_was_start();
	size_t n = auto_answer(b);

	if (!n) {
		return;
	}
	if (mutate) {
		uint8_t at = take8(in), x = take8(in);

		b[at % n] ^= x ? x : 1;
		if (at & 0x80 && n > 1) {
			n--;
		}
	}
	feed(b, n);
	if (start) {
		feed((uint8_t[]){ATT_NOTIFY, H_AS, 0, 0}, 4);
	}
}

/* ---- the script ----------------------------------------------------- */

static void do_server_request(struct input *in)
{
	static const uint8_t ops_[] = {ATT_MTU_REQ,       ATT_READ_REQ,
				       ATT_READ_BY_GROUP_REQ,
				       ATT_FIND_INFO_REQ, ATT_WRITE_REQ,
				       ATT_INDICATE,      ATT_WRITE_CMD,
				       0x3f,              ATT_READ_BLOB_REQ,
				       ATT_FIND_BY_TYPE_REQ,
				       ATT_READ_BY_TYPE_REQ, ATT_CONFIRM};
	uint8_t b[24];
	size_t n = 1 + take8(in) % 22, i;

	b[0] = ops_[take8(in) % sizeof(ops_)];
	for (i = 1; i < n; i++) {
		b[i] = take8(in);
	}
	feed(b, n);
}

static void do_tick(uint64_t now)
{
	F.now = now;
	ashac_tick(&F.c, F.now);
	check(ashac_next_deadline(&F.c) > F.now);
}

static void step(struct input *in)
{
	uint8_t op = take8(in), b[64];
	uint64_t t;
	size_t n, i;

	switch (op % 14) {
	case 0:
		do_auto(in, false);
		break;
	case 1:
		n = take8(in) % 48;
		for (i = 0; i < n; i++) {
			b[i] = take8(in);
		}
		feed(b, n);
		break;
	case 2:
		do_auto(in, true);
		break;
	case 3:
		do_tick(F.now + (uint64_t)take16(in) * MS);
		break;
	case 4:
		t = ashac_next_deadline(&F.c);
		do_tick(t == UINT64_MAX ? F.now + 1 : t);
		break;
	case 5:
		n = take8(in);
		ashac_audio_start(&F.c, n & 0x80 ? (uint8_t)n : 1,
				  (enum asha_audio_type)(n % 5),
				  (int8_t)take8(in), n & 1, F.now);
		break;
	case 6:
		ashac_audio_stop(&F.c, F.now);
		break;
	case 7:
		ashac_status_update(&F.c, (enum asha_update)(take8(in) % 5),
				    F.now);
		break;
	case 8:
		ashac_volume(&F.c, (int8_t)take8(in), F.now);
		break;
	case 9:
		n = take8(in);
		i = take8(in); /* bit 0: one octet too many */
		feed((uint8_t[]){ATT_NOTIFY, H_AS, 0, (uint8_t)n, 0},
		     4 + (i & 1));
		break;
	case 10:
		do_server_request(in);
		break;
	case 11:
		F.send_fail = take8(in) & 1 ? -ENOBUFS : -ENOTCONN;
		break;
	case 12:
		for (i = 0; i < 16 && F.req; i++) {
			do_auto(in, false);
		}
		break;
	case 13:
		if (ashac_state(&F.c) == ASHAC_IDLE) {
			check(ashac_start(&F.c, F.now) == 0);
		}
		break;
	}
	check(ashac_mtu(&F.c) >= ATT_MTU_DEFAULT &&
	      ashac_mtu(&F.c) <= F.cfg.mtu);
	check(F.c.stats.pdus_tx == F.sent);
	check(F.ready_n <= 1 && F.failed_n <= 1);
	if (F.failed_n) {
		check(ashac_state(&F.c) == ASHAC_FAILED);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t mtus[4] = {23, 64, 185, 517};
	struct input in = {data, size};
	uint8_t sel = take8(&in);

	memset(&F, 0, sizeof(F));
	F.debug = getenv("TTWS_FUZZ_DEBUG") != NULL;
	F.now = 1000 * MS;
	F.cfg.mtu = mtus[sel & 3];
	F.cfg.att_timeout_ns = ASHAC_ATT_TIMEOUT_NS;
	F.cfg.start_timeout_ns = (uint64_t)(1 + (sel >> 2 & 7)) * 500 * MS;
	F.reenter = sel & 0x20;
	check(ashac_init(&F.c, &F.cfg, &ops, NULL) == 0);
	/* Bit 6: an aid that speaks before we start (its MTU Request). */
	if (!(sel & 0x40)) {
		check(ashac_start(&F.c, F.now) == 0);
	}
	while (in.n > 0) {
		step(&in);
	}
	if (F.debug) {
		fprintf(stderr,
			"att: state %s, ready %u, failed %u, %llu pdus out, "
			"%llu in, %llu malformed\n",
			ashac_state_name(ashac_state(&F.c)), F.ready_n,
			F.failed_n, (unsigned long long)F.c.stats.pdus_tx,
			(unsigned long long)F.c.stats.pdus_rx,
			(unsigned long long)F.c.stats.malformed);
	}
	return 0;
}
