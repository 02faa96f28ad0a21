/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the HCI event decoder, ACL reassembly and the
 * L2CAP LE codec (src/core/hci.c, acl.c, l2le.c). The first input octet
 * picks the target; the rest is its input. Beyond memory safety (the
 * buffers libFuzzer hands in are exactly sized, so ASan sees any read
 * past them), each target checks:
 *   - hci: a failure is one of the documented errors and leaves the
 *     output untouched; pointers in a decoded event point into the input;
 *     decoding is deterministic;
 *   - acl: the input is split into ACL packets; every result is one of
 *     the documented values, a PDU's payload lies in the packet or the
 *     slot buffer, its length matches its basic header and the slot
 *     bound, and every error is counted exactly once;
 *   - sig: an accepted command re-encodes to the input octet for octet
 *     (after the basic header the encoder adds);
 *   - kframe: the input is split into K-frames for an open channel;
 *     results are the documented ones, every SDU fits the MTU, every
 *     frame spends a credit, and no SDU is delivered without its octets.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/hci.h"
#include "core/l2le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t n, const uint8_t *base,
		   size_t len)
{
	return p >= base && p + n <= base + len;
}

static void fuzz_hci(const uint8_t *d, size_t n)
{
	struct hci_evt e, e2, before;
	int r;

	memset(&e, 0xa5, sizeof(e));
	before = e;
	r = hci_evt_decode(d, n, &e);
	if (r < 0) {
		if (hci_error_index(r) < 0 || memcmp(&e, &before, sizeof(e))) {
			abort();
		}
		return;
	}
	if (hci_evt_decode(d, n, &e2) != 0 || e2.kind != e.kind) {
		abort();
	}
	switch (e.kind) {
	case HCI_KIND_COMMAND_COMPLETE:
		if (e.cmd_complete.params_len + 5u != n ||
		    (e.cmd_complete.params &&
		     !inside(e.cmd_complete.params, e.cmd_complete.params_len,
			     d, n))) {
			abort();
		}
		break;
	case HCI_KIND_NUMBER_OF_COMPLETED_PACKETS:
		if (3u + 4u * e.num_completed.num_handles != n) {
			abort();
		}
		for (size_t i = 0; i < e.num_completed.num_handles; i++) {
			if (e.num_completed.entry[i].handle > 0x0fff) {
				abort();
			}
		}
		break;
	case HCI_KIND_LE_ADVERTISING_REPORT:
		if (e.le_adv_report.num_reports == 0 ||
		    e.le_adv_report.num_reports > HCI_ADV_REPORT_MAX) {
			abort();
		}
		for (size_t i = 0; i < e.le_adv_report.num_reports; i++) {
			if (e.le_adv_report.report[i].data_len >
				    HCI_ADV_DATA_MAX ||
			    (e.le_adv_report.report[i].data &&
			     !inside(e.le_adv_report.report[i].data,
				     e.le_adv_report.report[i].data_len, d,
				     n))) {
				abort();
			}
		}
		break;
	case HCI_KIND_DISCONNECTION_COMPLETE:
	case HCI_KIND_COMMAND_STATUS:
	case HCI_KIND_HARDWARE_ERROR:
	case HCI_KIND_LE_CONNECTION_COMPLETE:
	case HCI_KIND_LE_CONNECTION_UPDATE_COMPLETE:
	case HCI_KIND_LE_REMOTE_CONN_PARAM_REQUEST:
		break;
	}
}

#define SLOT_CAP 300

static uint64_t acl_errors(const struct acl_reasm_stats *s)
{
	return s->bad_header + s->unknown_handle + s->bad_flags + s->orphan +
	       s->oversize + s->overlong;
}

/* Packets are length-prefixed by one octet in the input. */
static void fuzz_acl(const uint8_t *d, size_t n)
{
	static uint8_t slot[2][SLOT_CAP];
	uint8_t *bufs[2] = { slot[0], slot[1] };
	struct acl_rx rx[2];
	struct acl_reasm r;
	size_t off = 0;

	if (acl_reasm_init(&r, rx, 2, bufs, SLOT_CAP) != 0 ||
	    acl_reasm_add(&r, 0x001) != 0 || acl_reasm_add(&r, 0x002) != 0) {
		abort();
	}
	while (off < n) {
		size_t len = d[off++];
		const uint8_t *pkt;
		uint64_t errs = acl_errors(&r.stats);
		uint64_t pdus = r.stats.pdus;
		struct acl_pdu pdu;
		int ret;

		if (len > n - off) {
			len = n - off;
		}
		/* An exactly sized copy, so ASan sees a read past it. */
		pkt = len ? malloc(len) : NULL;
		if (len) {
			memcpy((void *)pkt, d + off, len);
		}
		off += len;
		ret = acl_reasm_feed(&r, pkt, len, &pdu);
		switch (ret) {
		case 1: {
			const uint8_t *hdr = pdu.payload - 4;

			if (r.stats.pdus != pdus + 1 ||
			    acl_errors(&r.stats) != errs ||
			    (pdu.handle != 1 && pdu.handle != 2) ||
			    (size_t)pdu.len + 4 > SLOT_CAP ||
			    (!inside(hdr, pdu.len + 4u, pkt, len) &&
			     !inside(hdr, pdu.len + 4u, slot[0], SLOT_CAP) &&
			     !inside(hdr, pdu.len + 4u, slot[1], SLOT_CAP)) ||
			    (hdr[0] | hdr[1] << 8) != pdu.len ||
			    (hdr[2] | hdr[3] << 8) != pdu.cid) {
				abort();
			}
			break;
		}
		case 0:
			if (acl_errors(&r.stats) != errs ||
			    r.stats.pdus != pdus) {
				abort();
			}
			break;
		case -EBADMSG:
		case -ENXIO:
		case -EPROTO:
		case -EILSEQ:
		case -EMSGSIZE:
		case -EOVERFLOW:
			if (acl_errors(&r.stats) != errs + 1) {
				abort();
			}
			break;
		default:
			abort();
		}
		free((void *)pkt);
	}
}

static void fuzz_sig(const uint8_t *d, size_t n)
{
	uint8_t out[L2LE_SIG_MAX + 8];
	struct l2le_sig s;
	size_t len;
	int r;

	r = l2le_sig_decode(d, n, &s);
	switch (r) {
	case 0:
		break;
	case -EBADMSG:
	case -EOVERFLOW:
	case -E2BIG:
	case -EINVAL:
	case -ENOMSG:
	case -ENODATA:
	case -EMSGSIZE:
		return;
	default:
		abort();
	}
	if (l2le_sig_encode(&s, out, sizeof(out), &len) != 0 || len != n + 4 ||
	    memcmp(out + 4, d, n) != 0 || out[2] != 0x05 || out[3] != 0x00 ||
	    (size_t)(out[0] | out[1] << 8) != n) {
		abort();
	}
}

static void fuzz_kframe(const uint8_t *d, size_t n)
{
	static uint8_t rx_buf[512];
	struct l2le_local local = { 512, 64, 0 };
	struct l2le_conn_req req = { 0x0080, 0x0040, 100, 100, 5 };
	struct l2le_chan ch;
	uint8_t rsp[64];
	uint16_t result;
	size_t off = 0, len;

	if (n < 2) {
		return;
	}
	/* Credits the peer starts with: from the input. */
	local.credits = (uint16_t)(d[0] | d[1] << 8);
	d += 2;
	n -= 2;
	if (l2le_chan_init(&ch, &local, rx_buf, sizeof(rx_buf)) != 0 ||
	    l2le_listen(&ch, 0x0080) != 0 ||
	    l2le_on_connect_req(&ch, 1, &req, 0x0041, rsp, sizeof(rsp), &len,
				&result) != 0 ||
	    result != L2LE_RESULT_SUCCESS) {
		abort();
	}
	while (off < n) {
		size_t flen = d[off++];
		uint16_t credits = ch.rx_credits;
		struct l2le_sdu sdu;
		uint8_t *frame;
		int r;

		if (flen > n - off) {
			flen = n - off;
		}
		frame = malloc(flen ? flen : 1);
		memcpy(frame, d + off, flen);
		off += flen;
		r = l2le_recv(&ch, frame, flen, &sdu);
		if (r != -ENOBUFS && ch.rx_credits != credits - 1) {
			abort();
		}
		switch (r) {
		case 1:
			if (sdu.len > local.mtu ||
			    (sdu.len && !inside(sdu.data, sdu.len, frame,
						flen) &&
			     !inside(sdu.data, sdu.len, rx_buf,
				     sizeof(rx_buf)))) {
				abort();
			}
			break;
		case 0:
			if (ch.rx_len >= ch.rx_sdu_len) {
				abort();
			}
			break;
		case -ENOBUFS:
			if (credits != 0) {
				abort();
			}
			break;
		case -EMSGSIZE:
		case -EBADMSG:
		case -E2BIG:
		case -EOVERFLOW:
			if (ch.rx_busy) {
				abort();
			}
			break;
		default:
			abort();
		}
		free(frame);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1) {
		return 0;
	}
	/* An exactly sized copy of the target's input. */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	switch (data[0] & 3) {
	case 0:
		fuzz_hci(copy, size - 1);
		break;
	case 1:
		fuzz_acl(copy, size - 1);
		break;
	case 2:
		fuzz_sig(copy, size - 1);
		break;
	case 3:
		fuzz_kframe(copy, size - 1);
		break;
	}
	free(copy);
	return 0;
}
