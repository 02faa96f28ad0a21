/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's commands (hcihost_private.h): the queue that waits for
 * the controller's command credit, the start-up sequence, the answers to
 * commands, and the controller's failure. "E" is Core 5.4, Vol 4, Part E.
 */

#include <errno.h>
#include <string.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/macro.h"

/*
 * The errno a channel reports for an HCI error code (Vol 1, Part F):
 * the link ended by the peer or lost, or never made.
 */
int hh_status_err(uint8_t status)
{
	switch (status) {
	case HCI_CONNECTION_TIMEOUT:
	case 0x22: /* LL Response Timeout */
		return -ETIMEDOUT;
	case HCI_UNKNOWN_CONNECTION_ID: /* answers our Create Cancel */
		return -ETIMEDOUT;
	case HCI_LOCAL_HOST_TERMINATED:
		return -ECONNABORTED;
	case HCI_CONNECTION_FAILED_TO_ESTABLISH:
		return -EHOSTUNREACH;
	case HCI_AUTHENTICATION_FAILURE:
	case HCI_PAIRING_UNIT_KEY_UNSUPPORTED:
		return -EACCES;
	case HCI_UNSUPPORTED_REMOTE_FEATURE:
		return -EOPNOTSUPP;
	case HCI_UNACCEPTABLE_CONN_PARAMS:
	case HCI_INVALID_PARAMETERS:
		return -EINVAL;
	case HCI_COMMAND_DISALLOWED:
		return -EBUSY;
	default:
		return -ECONNRESET;
	}
}

/*
 * Queue the command an encoder wrote into pkt (r: the encoder's result,
 * n its length). Returns the entry, for the caller to annotate, or NULL
 * (encoder refused or queue full: logged through ops->debug).
 */
struct hh_cmd *hh_cmd_queue(struct hcihost *h, int ch, int r,
			    const uint8_t *pkt, size_t n)
{
	struct hh_cmd *c;
	size_t len;

	if (r >= 0 && h->cmd_count == HH_CMD_QUEUE) {
		h->stats.cmd_queue_full++;
		r = -ENOBUFS;
	}
	if (r < 0) {
		hh_debug(h, "cannot queue command: %d", r);
		return NULL;
	}
	c = &h->cmdq[(h->cmd_head + h->cmd_count) % HH_CMD_QUEUE];
	if (h4_encode(H4_CMD, pkt, n, c->frame, sizeof(c->frame), &len) < 0) {
		return NULL;
	}
	c->len = (uint16_t)len;
	c->opcode = (uint16_t)(pkt[0] | pkt[1] << 8);
	c->ch = ch;
	c->handle = ACL_HANDLE_NONE;
	c->arg = 0;
	c->dead = false;
	h->cmd_count++;
	return c;
}

void hh_send_cmds(struct hcihost *h)
{
	/* E 4.4: at most Num_HCI_Command_Packets commands, and we keep one
	 * in flight so that every answer is unambiguous. */
	while (!h->cmd_out && h->ncmd > 0 && h->cmd_count > 0 &&
	       h->state != HCIHOST_DOWN) {
		struct hh_cmd *c = &h->cmdq[h->cmd_head];
		unsigned gen = h->gen;

		h->cmd_head = (h->cmd_head + 1) % HH_CMD_QUEUE;
		h->cmd_count--;
		if (c->dead) {
			continue;
		}
		h->out = *c;
		h->cmd_out = true;
		h->ncmd--;
		h->cmd_deadline_ns = h->now_ns + h->cfg.cmd_timeout_ns;
		h->stats.cmds++;
		if (hh_write(h, h->out.frame, h->out.len) < 0 ||
		    gen != h->gen) {
			return;
		}
	}
	/* Nothing in flight but the controller gave no credit: an answer
	 * that raises it must come within the command timeout too. */
	if (!h->cmd_out && h->cmd_count > 0 && h->ncmd == 0) {
		if (h->cmd_deadline_ns == 0) {
			h->cmd_deadline_ns =
				h->now_ns + h->cfg.cmd_timeout_ns;
		}
	} else if (!h->cmd_out) {
		h->cmd_deadline_ns = 0;
	}
}

/* Withdraw queued, unsent commands of one opcode for a channel. */
void hh_cmd_withdraw(struct hcihost *h, uint16_t opcode, int ch)
{
	for (unsigned k = 0; k < h->cmd_count; k++) {
		struct hh_cmd *c = &h->cmdq[(h->cmd_head + k) % HH_CMD_QUEUE];

		if (c->opcode == opcode && c->ch == ch) {
			c->dead = true;
		}
	}
}

/* The controller failed: report it and stop until hcihost_start(). */
void hh_fail(struct hcihost *h, int err)
{
	if (h->state == HCIHOST_DOWN) {
		return;
	}
	h->state = HCIHOST_DOWN;
	h->gen++;
	h->cmd_count = 0;
	h->cmd_out = false;
	h->cmd_deadline_ns = 0;
	h->flow_ready = false;
	hh_sec_host_reset(h);
	hh_forget_links(h, err);
	/* Unless a chan_closed callback already restarted the host. */
	if (h->state == HCIHOST_DOWN) {
		h->ops->down(h->user_data, err);
	}
}

static void hh_setup_done(struct hcihost *h)
{
	/*
	 * An LE controller's ACL data packets hold at least 27 octets (Core
	 * Vol 4 Part E 7.8.2, LE Read Buffer Size): less would split an
	 * L2CAP header across fragments. A controller that says less is
	 * broken or hostile (found by tests/fuzz/fuzz-hcihost).
	 */
	if (h->acl_len < 27 || h->acl_num == 0 ||
	    acl_flow_init(&h->flow, h->acl_num) < 0) {
		hh_debug(h, "controller has no usable ACL buffers (%u x %u)",
			 h->acl_len, h->acl_num);
		hh_fail(h, -EIO);
		return;
	}
	h->flow_ready = true;
	h->state = HCIHOST_READY;
	hh_debug(h, "ready: LE ACL %u x %u", h->acl_len, h->acl_num);
	h->ops->ready(h->user_data, &h->local);
}

/* The start-up command that follows opcode's success (E 4.4 leaves the
 * order to the host; masks first, so no event is missed). Security adds
 * the events of encryption (E 7.7.8, 7.7.39) and of the LE security
 * commands (E 7.7.65.5, .8, .9). */
static int hh_setup_next(const struct hcihost *h, uint16_t opcode,
			 uint8_t *b, size_t cap, size_t *ret_len)
{
	uint64_t mask = HCI_EVENT_MASK_DISCONNECTION_COMPLETE |
			HCI_EVENT_MASK_HARDWARE_ERROR | HCI_EVENT_MASK_LE_META;
	uint64_t le = HCI_LE_EVENT_MASK_CONNECTION_COMPLETE |
		      HCI_LE_EVENT_MASK_CONNECTION_UPDATE_COMPLETE |
		      HCI_LE_EVENT_MASK_REMOTE_CONN_PARAM_REQUEST;

	if (hh_sec_any(h)) {
		mask |= HCI_EVENT_MASK_ENCRYPTION_CHANGE |
			HCI_EVENT_MASK_ENCRYPTION_KEY_REFRESH;
		le |= SMP_HCI_LE_MASK_LTK_REQUEST |
		      SMP_HCI_LE_MASK_READ_LOCAL_P256_COMPLETE |
		      SMP_HCI_LE_MASK_GENERATE_DHKEY_COMPLETE;
	}
	switch (opcode) {
	case HCI_OP_RESET:
		return hci_cmd_set_event_mask(mask, b, cap, ret_len);
	case HCI_OP_SET_EVENT_MASK:
		return hci_cmd_le_set_event_mask(le, b, cap, ret_len);
	case HCI_OP_LE_SET_EVENT_MASK:
		return hci_cmd_read_bd_addr(b, cap, ret_len);
	case HCI_OP_READ_BD_ADDR:
		return hci_cmd_le_read_buffer_size_v2(b, cap, ret_len);
	default:
		return -EINVAL;
	}
}

/* The answer to a start-up command: cc is NULL for a Command Status,
 * which for these commands only ever carries a refusal. */
static void hh_setup_step(struct hcihost *h, uint16_t opcode, uint8_t status,
			  const struct hci_evt_cmd_complete *cc)
{
	bool ok = status == HCI_SUCCESS && cc;
	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	switch (opcode) {
	case HCI_OP_RESET:
	case HCI_OP_SET_EVENT_MASK:
	case HCI_OP_LE_SET_EVENT_MASK:
	case HCI_OP_READ_BD_ADDR:
		if (!ok) {
			break;
		}
		if (opcode == HCI_OP_READ_BD_ADDR) {
			h->local = cc->read_bd_addr;
		}
		r = hh_setup_next(h, opcode, b, sizeof(b), &n);
		if (!hh_cmd_queue(h, -1, r, b, n)) {
			hh_fail(h, -ENOBUFS);
		}
		return;
	case HCI_OP_LE_READ_BUFFER_SIZE_V2:
	case HCI_OP_LE_READ_BUFFER_SIZE:
		if (!ok && opcode == HCI_OP_LE_READ_BUFFER_SIZE_V2) {
			/* E 7.8.2: v2 is Core 5.2; older controllers answer
			 * Unknown HCI Command, by Status or Complete. */
			r = hci_cmd_le_read_buffer_size(b, sizeof(b), &n);
			if (!hh_cmd_queue(h, -1, r, b, n)) {
				hh_fail(h, -ENOBUFS);
			}
			return;
		}
		if (!ok) {
			break;
		}
		h->acl_len = cc->le_read_buffer_size.acl_len;
		h->acl_num = cc->le_read_buffer_size.acl_num;
		if (h->acl_len == 0) {
			/* E 7.8.2: LE shares the BR/EDR buffers, which
			 * Read Buffer Size sizes (E 7.4.5). */
			r = hci_cmd_read_buffer_size(b, sizeof(b), &n);
			if (!hh_cmd_queue(h, -1, r, b, n)) {
				hh_fail(h, -ENOBUFS);
			}
			return;
		}
		hh_setup_done(h);
		return;
	case HCI_OP_READ_BUFFER_SIZE:
		if (!ok) {
			break;
		}
		h->acl_len = cc->read_buffer_size.acl_len;
		h->acl_num = cc->read_buffer_size.acl_num;
		hh_setup_done(h);
		return;
	default:
		return;
	}
	hh_debug(h, "set-up command 0x%04x failed: 0x%02x", opcode, status);
	hh_fail(h, -EIO);
}

void hh_cmd_answer(struct hcihost *h, uint16_t opcode, uint8_t status,
		   const struct hci_evt_cmd_complete *cc)
{
	struct hh_cmd c;

	if (!h->cmd_out || opcode != h->out.opcode) {
		/* A NOP credit update (opcode 0) or a stray answer. */
		return;
	}
	c = h->out;
	h->cmd_out = false;
	h->cmd_deadline_ns = 0;

	if (h->state == HCIHOST_INIT) {
		hh_setup_step(h, opcode, status, cc);
		return;
	}

	switch (opcode) {
	case HCI_OP_LE_CREATE_CONNECTION:
		/* E 7.8.12: the Status tells whether it started; LE
		 * Connection Complete ends it. */
		if (status != HCI_SUCCESS && h->connecting == c.ch) {
			hh_connect_failed(h, hh_status_err(status));
		}
		break;
	case HCI_OP_LE_CREATE_CONNECTION_CANCEL:
		/* E 7.8.13: on success LE Connection Complete follows with
		 * Unknown Connection Identifier; a failure means nothing was
		 * pending (it completed or failed meanwhile). */
		if (status != HCI_SUCCESS && h->cancel_sent &&
		    h->connecting == c.ch) {
			hh_connect_failed(h, -ETIMEDOUT);
		}
		break;
	case HCI_OP_DISCONNECT:
		/* The link is gone or never was: finish without waiting
		 * for a Disconnection Complete that will not come. */
		if (status != HCI_SUCCESS) {
			int i = hh_chan_by_handle(h, c.handle);

			/*
			 * Only the channel the Disconnect was for: a stray
			 * link's (ch -1) handle may have been handed out again
			 * to a live channel meanwhile (tests/fuzz/fuzz-hcihost
			 * found it; regress/hcihost/stray-disconnect).
			 */
			if (i >= 0 && i == c.ch) {
				struct hh_chan *ch = &h->ch[i];

				hh_chan_finish(h, (unsigned)i,
					       ch->close_err ? ch->close_err :
							       -ECONNRESET);
			}
		}
		break;
	case HCI_OP_LE_SET_ADVERTISING_ENABLE:
		h->adv_busy = false;
		if (status == HCI_SUCCESS) {
			h->adv_on = c.arg != 0;
		} else if (c.arg && status == HCI_COMMAND_DISALLOWED) {
			/* Already advertising (E 7.8.9). */
			h->adv_on = true;
		} else {
			hh_debug(h, "advertising enable %u: 0x%02x", c.arg,
				 status);
			hh_fail(h, -EIO);
		}
		break;
	default:
		if (hh_sec_cmd_answer(h, &c, status, cc)) {
			break;
		}
		if (status != HCI_SUCCESS) {
			hh_debug(h, "command 0x%04x: status 0x%02x", opcode,
				 status);
		}
		break;
	}
}
