/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_H
#define TTWS_CORE_SMP_H

/*
 * LE Secure Connections pairing, Just Works (Core 5.4, Vol 3, Part H,
 * 2.3.5.6.1 and 2.3.5.6.2; the PDU sequence of Appendix C.2.2.1): one
 * pairing on one LE link, as initiator (the central) or responder (the
 * peripheral). Bytes in (SMP PDUs), PDUs out (ops->send), and the
 * controller does the crypto: the pairing asks for one thing at a time
 * (smp_request(): an AES block, 8 random octets, the local P-256 public
 * key, a DHKey) and the owner answers with the smp_on_*() calls.
 *
 * Just Works, because the earbuds have no input or output. It protects
 * against passive eavesdropping (the LTK comes from an ECDH exchange an
 * eavesdropper cannot reproduce) and, once bonded, against anyone without
 * the LTK (a reconnection encrypts with it). It does not authenticate
 * the first pairing: an active man in the middle present at that moment
 * can pair with both ends, and a device that answers a reconnection with
 * "key missing" gets a new Just Works pairing (smp.h's owner re-pairs
 * once). The keys are flagged unauthenticated.
 *
 * Only LE Secure Connections: a peer without the SC flag (legacy
 * pairing, breakable by an eavesdropper) is refused with
 * Authentication Requirements, one offering less than a 16-octet key
 * with Encryption Key Size. The peer's public key is checked to be on
 * the curve and not the debug key (smp_p256.h). The 30 s Security
 * Manager timer (3.4) runs from start and is restarted by every PDU
 * sent; at expiry the pairing fails and sends nothing more.
 *
 * Pure: time is passed in (ns, CLOCK_MONOTONIC), nothing is allocated,
 * the struct is embedded by the owner (hcihost). Callbacks come from
 * inside the smp_*() calls; they may not call smp_init(), smp_start()
 * or smp_reset() on this pairing (the owner defers that).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"
#include "core/smp_crypto.h"
#include "core/smp_p256.h"
#include "core/smp_pdu.h"

#define SMP_TIMEOUT_NS (30 * UINT64_C(1000000000))

enum smp_role {
	SMP_INITIATOR = 0,
	SMP_RESPONDER = 1,
};

/* What the pairing needs from the controller now. */
enum smp_need {
	SMP_NEED_NONE = 0,
	SMP_NEED_AES = 1,       /* LE Encrypt of req->aes */
	SMP_NEED_RAND = 2,      /* LE Rand: 8 random octets */
	SMP_NEED_LOCAL_KEY = 3, /* LE Read Local P-256 Public Key */
	SMP_NEED_DHKEY = 4,     /* LE Generate DHKey with req->peer_key */
};

struct smp_request {
	enum smp_need need;
	struct smp_aes aes;      /* SMP_NEED_AES, FIPS 197 order */
	const uint8_t *peer_key; /* SMP_NEED_DHKEY: 64 octets, into the smp */
};

/* What a pairing produced (keys in wire order). */
struct smp_keys {
	uint8_t ltk[16];
	uint8_t key_size;   /* octets, 16 */
	bool authenticated; /* MITM protection: never with Just Works */
	bool have_irk;      /* the responder distributed its identity */
	uint8_t irk[16];
	uint8_t id_type;    /* identity address: 0 public, 1 static random */
	struct hci_bdaddr id_addr;
};

struct smp_config {
	enum smp_role role;
	/* The two addresses of the link, as in LE Connection Complete:
	 * BD_ADDR in a[0..5] (wire order), type in a[6] (0 public, 1
	 * random): A1/A2 of f5 and f6 (2.2.7). */
	uint8_t local_addr[SMP_ADDR_LEN];
	uint8_t peer_addr[SMP_ADDR_LEN];
	/* Initiator: the keys asked for (SMP_DIST_ID_KEY from the
	 * responder; ttws distributes none). Responder: what it offers. */
	uint8_t init_key_dist;
	uint8_t resp_key_dist;
	/* Responder with SMP_DIST_ID_KEY: its IRK and identity address. */
	uint8_t irk[16];
	uint8_t id_type;
	struct hci_bdaddr id_addr;
};

struct smp_ops {
	/* One SMP PDU for the peer, in order (L2CAP CID 0x0006). */
	void (*send)(void *user_data, const uint8_t *pdu, size_t len);
	/* Initiator: the LTK is known and checked; start encryption with
	 * it, EDIV and Rand zero (2.4.4 for LE Secure Connections); report
	 * the outcome with smp_on_encrypted(). */
	void (*encrypt)(void *user_data, const uint8_t ltk[16]);
	/*
	 * The pairing ended: err 0 with keys (valid during the call), or
	 * err < 0 with keys NULL:
	 *   -EACCES     the peer sent Pairing Failed (reason: its reason)
	 *   -EPROTO     the peer broke the protocol: a malformed or
	 *               unexpected PDU (reason: what we sent)
	 *   -EBADMSG    a confirm or DHKey check value did not match
	 *   -EKEYREJECTED  the peer's public key (not on the curve, the
	 *               debug key, or our own)
	 *   -EOPNOTSUPP the peer wants what we do not do: legacy pairing,
	 *               a short key, OOB (reason: what we sent)
	 *   -ETIMEDOUT  30 s without completion; nothing sent
	 *   -EIO        the controller failed a request, or encryption
	 *               did not start
	 */
	void (*done)(void *user_data, int err, uint8_t reason,
		     const struct smp_keys *keys);
};

/* Where a pairing stands (the owner's view: smp_phase()). */
enum smp_phase {
	SMP_IDLE = 0,   /* nothing started (a responder waits for a request) */
	SMP_ACTIVE = 1, /* pairing */
	SMP_ENCRYPTING = 2, /* keys agreed; waiting for Encryption Change */
	SMP_KEY_DIST = 3,   /* encrypted; keys being distributed */
	SMP_DONE = 4,
	SMP_FAILED = 5,     /* no more SMP on this link (3.4) */
};

/* Internal steps; smp.c. */
enum smp_step {
	SMP_S_IDLE = 0,
	SMP_S_WAIT_RSP,       /* I: Pairing Request sent */
	SMP_S_SEND_PK,        /* both: our public key to send when known */
	SMP_S_WAIT_PK,        /* I: waiting for the responder's key;
			       * R: waiting for the initiator's */
	SMP_S_WAIT_CONFIRM,   /* I */
	SMP_S_SEND_RANDOM,    /* I: Na to send when known */
	SMP_S_WAIT_RANDOM,    /* I: Nb; R: Na */
	SMP_S_MAKE_CONFIRM,   /* R: Cb to compute (needs Nb) */
	SMP_S_KEYS,           /* both: f5 (needs the DHKey), then checks */
	SMP_S_WAIT_CHECK,     /* I: waiting for Eb */
	SMP_S_ENCRYPT,        /* both: waiting for encryption */
	SMP_S_KEY_DIST,       /* both: keys to receive */
	SMP_S_DONE,
	SMP_S_FAILED,
};

/* The computation in progress. */
enum smp_calc {
	SMP_C_NONE = 0,
	SMP_C_CONFIRM,  /* f4: R makes Cb, I checks it */
	SMP_C_F5,       /* MacKey and LTK */
	SMP_C_EA,       /* f6 for the initiator's check */
	SMP_C_EB,       /* f6 for the responder's check */
};

struct smp {
	struct smp_config cfg;
	const struct smp_ops *ops;
	void *user_data;
	enum smp_step step;
	uint64_t deadline_ns;
	enum smp_need asked; /* the request smp_request() returned, out */

	uint8_t preq[7], prsp[7]; /* the two feature PDUs (for IOcap) */
	uint8_t local_key[SMP_P256_KEY_LEN];
	uint8_t peer_key[SMP_P256_KEY_LEN];
	uint8_t dhkey[32];
	uint8_t nonce[16], peer_nonce[16];
	uint8_t peer_confirm[16];
	uint8_t peer_check[16], want_check[16];
	uint8_t mackey[16];
	struct smp_keys keys;
	uint8_t nonce_len; /* random octets of nonce so far */
	bool have_local_key, have_peer_key, have_dhkey, have_mackey;
	bool have_peer_check, have_want_check;
	uint8_t keys_due;  /* SMP_DIST_* still to receive */
	bool got_irk;      /* Identity Information came; the address next */

	enum smp_calc calc;
	struct smp_fn fn;
};

/* Set up for a new link (idle). ops and user_data outlive s. */
void smp_init(struct smp *s, const struct smp_config *cfg,
	      const struct smp_ops *ops, void *user_data);

/* Forget everything (the link is gone); no callback. */
void smp_reset(struct smp *s);

/* Initiator: send the Pairing Request. -EALREADY unless idle, -EINVAL
 * for a responder. */
int smp_start(struct smp *s, uint64_t now_ns);

/*
 * An SMP PDU from the peer (payload of a CID 0x0006 frame). Returns 0
 * (taken, or a hint ignored), or why it was not: a decode error of
 * smp_pdu.h, -EPROTO (not expected now), -EALREADY (the pairing is over:
 * after a failure nothing more, 3.4; after success ttws never re-pairs
 * on the same link). During a pairing, or at a responder, a PDU refused
 * fails the pairing (Pairing Failed sent, ops->done).
 */
int smp_input(struct smp *s, const uint8_t *pdu, size_t len, uint64_t now_ns);

/*
 * What to ask the controller for, if anything. At most one request is
 * out at a time: once the owner has sent it (smp_request_sent()), false
 * until its answer came.
 */
bool smp_request(const struct smp *s, struct smp_request *ret);
/* The request smp_request() returned is with the controller now. */
void smp_request_sent(struct smp *s, enum smp_need need);

/* Answers; status is the HCI status (0 success: then the data is
 * valid). out in FIPS 197 order; rand 8 octets; key 64 and dhkey 32
 * octets as HCI gives them (least significant first). */
void smp_on_aes(struct smp *s, uint8_t status, const uint8_t out[16],
		uint64_t now_ns);
void smp_on_rand(struct smp *s, uint8_t status, const uint8_t rand[8],
		 uint64_t now_ns);
void smp_on_local_key(struct smp *s, uint8_t status,
		      const uint8_t key[SMP_P256_KEY_LEN], uint64_t now_ns);
void smp_on_dhkey(struct smp *s, uint8_t status, const uint8_t dhkey[32],
		  uint64_t now_ns);

/* Encryption Change for this link during the pairing: enabled with
 * status 0, or not. */
void smp_on_encrypted(struct smp *s, bool ok, uint64_t now_ns);

/* Responder: the LTK to answer the controller's LTK request with, while
 * the pairing waits for encryption. -ENOENT otherwise. */
int smp_ltk(const struct smp *s, uint8_t ltk[16]);

/* The Security Manager timer (UINT64_MAX: not running); smp_tick()
 * fails the pairing at or after it. */
uint64_t smp_deadline(const struct smp *s);
void smp_tick(struct smp *s, uint64_t now_ns);

enum smp_phase smp_phase(const struct smp *s);

#endif
