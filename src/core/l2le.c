/* SPDX-License-Identifier: MIT */
/*
 * L2CAP LE credit-based channels. Contracts: l2le.h. Section numbers are
 * of Core 5.4, Vol 3, Part A.
 */

#include <errno.h>
#include <string.h>

#include "core/l2le.h"
#include "core/macro.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static bool cid_dynamic(uint16_t cid)
{
	return cid >= L2LE_CID_DYN_MIN && cid <= L2LE_CID_DYN_MAX;
}

/* ---- signaling ----------------------------------------------------- */

/*
 * Data octets of a command, or -1 for an unknown code; Command Reject
 * is variable (2 to 6) and checked on its own.
 */
static int sig_data_size(uint8_t code)
{
	switch ((enum l2le_code)code) {
	case L2LE_COMMAND_REJECT:
		return 2;
	case L2LE_DISCONNECTION_REQ:
	case L2LE_DISCONNECTION_RSP:
		return 4;
	case L2LE_CONN_PARAM_UPDATE_REQ:
		return 8;
	case L2LE_CONN_PARAM_UPDATE_RSP:
		return 2;
	case L2LE_LE_CREDIT_CONN_REQ:
	case L2LE_LE_CREDIT_CONN_RSP:
		return 10;
	case L2LE_FLOW_CONTROL_CREDIT_IND:
		return 4;
	}
	return -1;
}

int l2le_sig_peek(const uint8_t *buf, size_t len, uint8_t *ret_code,
		  uint8_t *ret_ident)
{
	if (len < 2) {
		return -EBADMSG;
	}
	*ret_code = buf[0];
	*ret_ident = buf[1];
	return 0;
}

int l2le_sig_decode(const uint8_t *buf, size_t len, struct l2le_sig *ret)
{
	struct l2le_sig s;
	const uint8_t *d;
	size_t n;
	int want;

	if (len < L2LE_SIG_HDR_SIZE) {
		return -EBADMSG;
	}
	n = get_le16(buf + 2);
	if (len - L2LE_SIG_HDR_SIZE < n) {
		return -EOVERFLOW;
	}
	if (len - L2LE_SIG_HDR_SIZE > n) {
		return -E2BIG;
	}
	if (buf[1] == 0x00) {
		return -EINVAL;
	}
	want = sig_data_size(buf[0]);
	if (want < 0) {
		return -ENOMSG;
	}
	if (n < (size_t)want) {
		return -ENODATA;
	}
	/* Command Reject: reason + up to 4 octets of data (4.1). */
	if (n > (size_t)want + (buf[0] == L2LE_COMMAND_REJECT ? 4 : 0)) {
		return -EMSGSIZE;
	}

	memset(&s, 0, sizeof(s));
	s.code = buf[0];
	s.ident = buf[1];
	d = buf + L2LE_SIG_HDR_SIZE;

	switch ((enum l2le_code)s.code) {
	case L2LE_COMMAND_REJECT:
		s.reject.reason = get_le16(d);
		s.reject.data_len = (uint8_t)(n - 2);
		memcpy(s.reject.data, d + 2, n - 2);
		break;
	case L2LE_DISCONNECTION_REQ:
	case L2LE_DISCONNECTION_RSP:
		s.disconn.dcid = get_le16(d);
		s.disconn.scid = get_le16(d + 2);
		break;
	case L2LE_CONN_PARAM_UPDATE_REQ:
		s.conn_param.interval_min = get_le16(d);
		s.conn_param.interval_max = get_le16(d + 2);
		s.conn_param.latency = get_le16(d + 4);
		s.conn_param.timeout = get_le16(d + 6);
		break;
	case L2LE_CONN_PARAM_UPDATE_RSP:
		s.conn_param_result = get_le16(d);
		break;
	case L2LE_LE_CREDIT_CONN_REQ:
		s.conn_req.spsm = get_le16(d);
		s.conn_req.scid = get_le16(d + 2);
		s.conn_req.mtu = get_le16(d + 4);
		s.conn_req.mps = get_le16(d + 6);
		s.conn_req.credits = get_le16(d + 8);
		break;
	case L2LE_LE_CREDIT_CONN_RSP:
		s.conn_rsp.dcid = get_le16(d);
		s.conn_rsp.mtu = get_le16(d + 2);
		s.conn_rsp.mps = get_le16(d + 4);
		s.conn_rsp.credits = get_le16(d + 6);
		s.conn_rsp.result = get_le16(d + 8);
		break;
	case L2LE_FLOW_CONTROL_CREDIT_IND:
		s.credit_ind.cid = get_le16(d);
		s.credit_ind.credits = get_le16(d + 2);
		break;
	}

	*ret = s;
	return 0;
}

int l2le_sig_encode(const struct l2le_sig *s, uint8_t *buf, size_t cap,
		    size_t *ret_len)
{
	int want = sig_data_size(s->code);
	size_t n, total;
	uint8_t *d;

	if (want < 0 || s->ident == 0x00) {
		return -EINVAL;
	}
	n = (size_t)want;
	if (s->code == L2LE_COMMAND_REJECT) {
		if (s->reject.data_len > sizeof(s->reject.data)) {
			return -EINVAL;
		}
		n += s->reject.data_len;
	}
	total = L2LE_HDR_SIZE + L2LE_SIG_HDR_SIZE + n;
	if (cap < total) {
		return -ENOBUFS;
	}

	put_le16(buf, (uint16_t)(L2LE_SIG_HDR_SIZE + n));
	put_le16(buf + 2, L2LE_CID_SIGNALING);
	buf[4] = s->code;
	buf[5] = s->ident;
	put_le16(buf + 6, (uint16_t)n);
	d = buf + L2LE_HDR_SIZE + L2LE_SIG_HDR_SIZE;

	switch ((enum l2le_code)s->code) {
	case L2LE_COMMAND_REJECT:
		put_le16(d, s->reject.reason);
		memcpy(d + 2, s->reject.data, s->reject.data_len);
		break;
	case L2LE_DISCONNECTION_REQ:
	case L2LE_DISCONNECTION_RSP:
		put_le16(d, s->disconn.dcid);
		put_le16(d + 2, s->disconn.scid);
		break;
	case L2LE_CONN_PARAM_UPDATE_REQ:
		put_le16(d, s->conn_param.interval_min);
		put_le16(d + 2, s->conn_param.interval_max);
		put_le16(d + 4, s->conn_param.latency);
		put_le16(d + 6, s->conn_param.timeout);
		break;
	case L2LE_CONN_PARAM_UPDATE_RSP:
		put_le16(d, s->conn_param_result);
		break;
	case L2LE_LE_CREDIT_CONN_REQ:
		put_le16(d, s->conn_req.spsm);
		put_le16(d + 2, s->conn_req.scid);
		put_le16(d + 4, s->conn_req.mtu);
		put_le16(d + 6, s->conn_req.mps);
		put_le16(d + 8, s->conn_req.credits);
		break;
	case L2LE_LE_CREDIT_CONN_RSP:
		put_le16(d, s->conn_rsp.dcid);
		put_le16(d + 2, s->conn_rsp.mtu);
		put_le16(d + 4, s->conn_rsp.mps);
		put_le16(d + 6, s->conn_rsp.credits);
		put_le16(d + 8, s->conn_rsp.result);
		break;
	case L2LE_FLOW_CONTROL_CREDIT_IND:
		put_le16(d, s->credit_ind.cid);
		put_le16(d + 2, s->credit_ind.credits);
		break;
	}

	*ret_len = total;
	return 0;
}

int l2le_encode_reject(uint8_t ident, enum l2le_reject_reason reason,
		       uint16_t a, uint16_t b, uint8_t *buf, size_t cap,
		       size_t *ret_len)
{
	struct l2le_sig s = {
		.code = L2LE_COMMAND_REJECT,
		.ident = ident,
		.reject = { .reason = (uint16_t)reason },
	};

	switch (reason) {
	case L2LE_REJECT_NOT_UNDERSTOOD:
		break;
	case L2LE_REJECT_SIG_MTU_EXCEEDED:
		/* 4.1: Actual MTU, the signaling MTU of the rejecter. */
		put_le16(s.reject.data, a);
		s.reject.data_len = 2;
		break;
	case L2LE_REJECT_INVALID_CID:
		/* 4.1: the local (rejecter's) and remote endpoints, as
		 * the request named them from the requester's side. */
		put_le16(s.reject.data, a);
		put_le16(s.reject.data + 2, b);
		s.reject.data_len = 4;
		break;
	}
	return l2le_sig_encode(&s, buf, cap, ret_len);
}

/* ---- channels ------------------------------------------------------ */

const char *l2le_state_name(enum l2le_state s)
{
	switch (s) {
	case L2LE_CLOSED:
		return "CLOSED";
	case L2LE_LISTEN:
		return "LISTEN";
	case L2LE_WAIT_CONNECT_RSP:
		return "WAIT_CONNECT_RSP";
	case L2LE_OPEN:
		return "OPEN";
	case L2LE_WAIT_DISCONNECT_RSP:
		return "WAIT_DISCONNECT_RSP";
	}
	return NULL;
}

static bool mtu_mps_ok(uint16_t mtu, uint16_t mps)
{
	return mtu >= L2LE_MTU_MIN && mps >= L2LE_MPS_MIN &&
	       mps <= L2LE_MPS_MAX;
}

/* Back to closed with no SDU in either direction; stats stay. */
static void chan_reset(struct l2le_chan *ch)
{
	ch->state = L2LE_CLOSED;
	ch->remote_cid = 0;
	ch->remote_mtu = 0;
	ch->remote_mps = 0;
	ch->tx_credits = 0;
	ch->rx_credits = 0;
	ch->stalled = false;
	ch->rx_busy = false;
	ch->rx_len = 0;
	ch->rx_sdu_len = 0;
	ch->tx_busy = false;
	ch->tx_sdu = NULL;
	ch->tx_len = 0;
	ch->tx_off = 0;
}

int l2le_chan_init(struct l2le_chan *ch, const struct l2le_local *local,
		   uint8_t *rx_buf, size_t rx_cap)
{
	if (!ch || !local || !rx_buf || !mtu_mps_ok(local->mtu, local->mps) ||
	    rx_cap < local->mtu) {
		return -EINVAL;
	}
	memset(ch, 0, sizeof(*ch));
	ch->local = *local;
	ch->rx_buf = rx_buf;
	ch->rx_cap = rx_cap;
	chan_reset(ch);
	return 0;
}

int l2le_connect(struct l2le_chan *ch, uint16_t spsm, uint16_t local_cid,
		 uint8_t ident, uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct l2le_sig s = {
		.code = L2LE_LE_CREDIT_CONN_REQ,
		.ident = ident,
		.conn_req = {
			.spsm = spsm,
			.scid = local_cid,
			.mtu = ch->local.mtu,
			.mps = ch->local.mps,
			.credits = ch->local.credits,
		},
	};
	int r;

	if (ch->state != L2LE_CLOSED) {
		return -EISCONN;
	}
	if (spsm == 0 || spsm > L2LE_SPSM_MAX || !cid_dynamic(local_cid)) {
		return -EINVAL;
	}
	r = l2le_sig_encode(&s, buf, cap, ret_len);
	if (r < 0) {
		return r;
	}
	chan_reset(ch);
	ch->state = L2LE_WAIT_CONNECT_RSP;
	ch->spsm = spsm;
	ch->local_cid = local_cid;
	ch->ident = ident;
	return 0;
}

int l2le_on_connect_rsp(struct l2le_chan *ch, uint8_t ident,
			const struct l2le_conn_rsp *rsp)
{
	if (ch->state != L2LE_WAIT_CONNECT_RSP || ident != ch->ident) {
		return -ESRCH;
	}
	if (rsp->result != L2LE_RESULT_SUCCESS) {
		chan_reset(ch);
		ch->result = rsp->result;
		return -ECONNREFUSED;
	}
	if (!cid_dynamic(rsp->dcid) || !mtu_mps_ok(rsp->mtu, rsp->mps)) {
		chan_reset(ch);
		return -EPROTO;
	}
	ch->state = L2LE_OPEN;
	ch->result = L2LE_RESULT_SUCCESS;
	ch->remote_cid = rsp->dcid;
	ch->remote_mtu = rsp->mtu;
	ch->remote_mps = rsp->mps;
	ch->tx_credits = rsp->credits;
	ch->rx_credits = ch->local.credits;
	return 0;
}

int l2le_listen(struct l2le_chan *ch, uint16_t spsm)
{
	if (ch->state != L2LE_CLOSED) {
		return -EISCONN;
	}
	if (spsm == 0 || spsm > L2LE_SPSM_MAX) {
		return -EINVAL;
	}
	chan_reset(ch);
	ch->state = L2LE_LISTEN;
	ch->spsm = spsm;
	return 0;
}

int l2le_on_connect_req(struct l2le_chan *ch, uint8_t ident,
			const struct l2le_conn_req *req, uint16_t local_cid,
			uint8_t *buf, size_t cap, size_t *ret_len,
			uint16_t *ret_result)
{
	struct l2le_sig s = {
		.code = L2LE_LE_CREDIT_CONN_RSP,
		.ident = ident,
	};
	uint16_t result;
	int r;

	if (!cid_dynamic(local_cid)) {
		return -EINVAL;
	}
	if (ch->state == L2LE_CLOSED || req->spsm != ch->spsm) {
		result = L2LE_RESULT_SPSM_NOT_SUPPORTED;
	} else if (ch->state != L2LE_LISTEN) {
		/* Our one channel for this SPSM is taken. */
		result = L2LE_RESULT_NO_RESOURCES;
	} else if (!cid_dynamic(req->scid)) {
		result = L2LE_RESULT_INVALID_SOURCE_CID;
	} else if (!mtu_mps_ok(req->mtu, req->mps)) {
		result = L2LE_RESULT_UNACCEPTABLE_PARAMETERS;
	} else {
		result = L2LE_RESULT_SUCCESS;
	}

	/* 4.23: on a refusal DCID, MTU, MPS and credits are 0. */
	s.conn_rsp.result = result;
	if (result == L2LE_RESULT_SUCCESS) {
		s.conn_rsp.dcid = local_cid;
		s.conn_rsp.mtu = ch->local.mtu;
		s.conn_rsp.mps = ch->local.mps;
		s.conn_rsp.credits = ch->local.credits;
	}
	r = l2le_sig_encode(&s, buf, cap, ret_len);
	if (r < 0) {
		return r;
	}
	if (result == L2LE_RESULT_SUCCESS) {
		chan_reset(ch);
		ch->state = L2LE_OPEN;
		ch->local_cid = local_cid;
		ch->remote_cid = req->scid;
		ch->remote_mtu = req->mtu;
		ch->remote_mps = req->mps;
		ch->tx_credits = req->credits;
		ch->rx_credits = ch->local.credits;
	}
	ch->result = result;
	*ret_result = result;
	return 0;
}

/* ---- data ---------------------------------------------------------- */

int l2le_send(struct l2le_chan *ch, const uint8_t *sdu, size_t len)
{
	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	if (ch->tx_busy) {
		return -EBUSY;
	}
	if (len > ch->remote_mtu || (len > 0 && !sdu)) {
		return -EMSGSIZE;
	}
	ch->tx_sdu = sdu;
	ch->tx_len = (uint16_t)len;
	ch->tx_off = 0;
	ch->tx_busy = true;
	return 0;
}

bool l2le_tx_busy(const struct l2le_chan *ch)
{
	return ch->tx_busy;
}

int l2le_next_kframe(struct l2le_chan *ch, uint8_t *buf, size_t cap,
		     size_t *ret_len)
{
	bool first;
	size_t room, n, hdr;

	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	if (!ch->tx_busy) {
		return -ENODATA;
	}
	if (ch->tx_credits == 0) {
		if (!ch->stalled) {
			ch->stalled = true;
			ch->stats.stalls++;
		}
		return -EAGAIN;
	}

	/* 3.4.3: the SDU Length field counts against the peer's MPS. */
	first = ch->tx_off == 0;
	room = ch->remote_mps - (first ? L2LE_SDU_LEN_SIZE : 0);
	n = MIN(room, (size_t)(ch->tx_len - ch->tx_off));
	hdr = L2LE_HDR_SIZE + (first ? L2LE_SDU_LEN_SIZE : 0);
	if (cap < hdr + n) {
		return -ENOBUFS;
	}

	put_le16(buf, (uint16_t)(hdr - L2LE_HDR_SIZE + n));
	put_le16(buf + 2, ch->remote_cid);
	if (first) {
		put_le16(buf + L2LE_HDR_SIZE, ch->tx_len);
	}
	if (n > 0) {
		memmove(buf + hdr, ch->tx_sdu + ch->tx_off, n);
	}

	ch->tx_off = (uint16_t)(ch->tx_off + n);
	ch->tx_credits--;
	ch->stalled = false;
	ch->stats.kframes_tx++;
	if (ch->tx_off == ch->tx_len) {
		ch->tx_busy = false;
		ch->tx_sdu = NULL;
		ch->stats.sdus_tx++;
	}
	*ret_len = hdr + n;
	return 0;
}

static void rx_drop(struct l2le_chan *ch)
{
	ch->rx_busy = false;
	ch->rx_len = 0;
	ch->rx_sdu_len = 0;
}

int l2le_recv(struct l2le_chan *ch, const uint8_t *payload, size_t len,
	      struct l2le_sdu *ret_sdu)
{
	const uint8_t *d = payload;
	size_t n = len;

	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	/* 10.1: a K-frame sent without a credit is a protocol error. */
	if (ch->rx_credits == 0) {
		ch->stats.err_no_credit++;
		rx_drop(ch);
		return -ENOBUFS;
	}
	ch->rx_credits--;
	ch->stats.kframes_rx++;

	if (len > ch->local.mps) {
		ch->stats.err_mps++;
		rx_drop(ch);
		return -EMSGSIZE;
	}

	if (!ch->rx_busy) {
		uint16_t sdu_len;

		if (len < L2LE_SDU_LEN_SIZE) {
			ch->stats.err_short++;
			return -EBADMSG;
		}
		sdu_len = get_le16(payload);
		if (sdu_len > ch->local.mtu) {
			ch->stats.err_mtu++;
			return -E2BIG;
		}
		d += L2LE_SDU_LEN_SIZE;
		n -= L2LE_SDU_LEN_SIZE;
		if (n > sdu_len) {
			ch->stats.err_overrun++;
			return -EOVERFLOW;
		}
		if (n == sdu_len) {
			/* The whole SDU in one K-frame: no copy. */
			ch->stats.sdus_rx++;
			ret_sdu->data = d;
			ret_sdu->len = sdu_len;
			return 1;
		}
		ch->rx_sdu_len = sdu_len;
		ch->rx_len = 0;
		ch->rx_busy = true;
	} else if (n > (size_t)(ch->rx_sdu_len - ch->rx_len)) {
		ch->stats.err_overrun++;
		rx_drop(ch);
		return -EOVERFLOW;
	}

	memcpy(ch->rx_buf + ch->rx_len, d, n);
	ch->rx_len = (uint16_t)(ch->rx_len + n);
	if (ch->rx_len < ch->rx_sdu_len) {
		return 0;
	}
	ch->rx_busy = false;
	ch->stats.sdus_rx++;
	ret_sdu->data = ch->rx_buf;
	ret_sdu->len = ch->rx_len;
	return 1;
}

int l2le_on_credits(struct l2le_chan *ch, uint16_t credits)
{
	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	/* 4.24: credits past 65535 are an error that closes the channel. */
	if ((uint32_t)ch->tx_credits + credits > L2LE_CREDITS_MAX) {
		ch->stats.err_credit_overflow++;
		return -EOVERFLOW;
	}
	ch->tx_credits = (uint16_t)(ch->tx_credits + credits);
	return 0;
}

uint16_t l2le_credits_due(const struct l2le_chan *ch, uint16_t window)
{
	if (ch->state != L2LE_OPEN || ch->rx_credits >= window ||
	    ch->rx_credits > window / 2) {
		return 0;
	}
	return (uint16_t)(window - ch->rx_credits);
}

int l2le_grant(struct l2le_chan *ch, uint16_t credits, uint8_t ident,
	       uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct l2le_sig s = {
		.code = L2LE_FLOW_CONTROL_CREDIT_IND,
		.ident = ident,
		.credit_ind = { .cid = ch->local_cid, .credits = credits },
	};
	int r;

	if (credits == 0) {
		return -EINVAL;
	}
	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	if ((uint32_t)ch->rx_credits + credits > L2LE_CREDITS_MAX) {
		return -EOVERFLOW;
	}
	r = l2le_sig_encode(&s, buf, cap, ret_len);
	if (r < 0) {
		return r;
	}
	ch->rx_credits = (uint16_t)(ch->rx_credits + credits);
	ch->stats.credits_granted += credits;
	return 0;
}

int l2le_disconnect(struct l2le_chan *ch, uint8_t ident, uint8_t *buf,
		    size_t cap, size_t *ret_len)
{
	struct l2le_sig s = {
		.code = L2LE_DISCONNECTION_REQ,
		.ident = ident,
		.disconn = { .dcid = ch->remote_cid, .scid = ch->local_cid },
	};
	int r;

	if (ch->state != L2LE_OPEN) {
		return -ENOTCONN;
	}
	r = l2le_sig_encode(&s, buf, cap, ret_len);
	if (r < 0) {
		return r;
	}
	/* 4.6: no more data once the request is out. */
	ch->state = L2LE_WAIT_DISCONNECT_RSP;
	ch->ident = ident;
	ch->tx_busy = false;
	ch->tx_sdu = NULL;
	rx_drop(ch);
	return 0;
}

int l2le_on_disconnect_req(struct l2le_chan *ch, uint8_t ident,
			   const struct l2le_disconn *d, uint8_t *buf,
			   size_t cap, size_t *ret_len)
{
	struct l2le_sig s = {
		.code = L2LE_DISCONNECTION_RSP,
		.ident = ident,
		.disconn = *d,
	};
	int r;

	/* A request crossing ours is answered too (both ends close). */
	if ((ch->state != L2LE_OPEN &&
	     ch->state != L2LE_WAIT_DISCONNECT_RSP) ||
	    d->dcid != ch->local_cid || d->scid != ch->remote_cid) {
		return -ENOENT;
	}
	r = l2le_sig_encode(&s, buf, cap, ret_len);
	if (r < 0) {
		return r;
	}
	chan_reset(ch);
	return 0;
}

int l2le_on_disconnect_rsp(struct l2le_chan *ch,
			   const struct l2le_disconn *d)
{
	if (ch->state != L2LE_WAIT_DISCONNECT_RSP ||
	    d->dcid != ch->remote_cid || d->scid != ch->local_cid) {
		return -ENOENT;
	}
	chan_reset(ch);
	return 0;
}
