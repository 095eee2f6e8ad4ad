/*
 * The CA signer's wire format (signer.c asks, signerd.c answers): small
 * typed requests and answers, each a frame of a 4-byte big-endian
 * length and that many bytes.  Every length is checked against its cap
 * before anything is copied, and a frame with bytes left over is
 * refused, so the signer never believes a length it was sent (the
 * requests come from the process that parses the network's input).
 * No GnuTLS: the fuzzer drives the decoders alone
 * (tests/fuzz/fuzz_signwire.c).
 *
 * Request:  u8 op, then
 *   ISSUE:  u8 profile, u32 days, str8 cn, u16 nsans, nsans x str16 san,
 *           blob16 spki (DER SubjectPublicKeyInfo)
 *   CRL:    u8 role, u64 number, u32 next_update_secs, u32 n,
 *           blob32 entries (n revokedCertificates entries, DER, back to
 *           back: pki_crl_build checks each before it signs)
 * Answer:   u8 status (enum sc_err), then
 *   SC_OK:  blob32 der (the certificate or CRL)
 *   else:   str16 message
 */
#ifndef SC_PKI_SIGNWIRE_H
#define SC_PKI_SIGNWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pki/pki.h"

enum signwire_op {
	SIGNWIRE_ISSUE = 1,
	SIGNWIRE_CRL = 2,
};

/* The only certificates the signer makes (pki.c's profiles). */
enum signwire_profile {
	SIGNWIRE_WORKER = 0,
	SIGNWIRE_OPERATOR = 1,
	SIGNWIRE_SERVER = 2,
};
#define SIGNWIRE_NPROFILES	3

#define SIGNWIRE_CN_MAX		64	/* RFC 5280 ub-common-name */
#define SIGNWIRE_SAN_MAX	253	/* a DNS name; IPs are shorter */
#define SIGNWIRE_SANS_MAX	1024
#define SIGNWIRE_SPKI_MAX	4096	/* RSA-16384's is ~2.1 KB */
#define SIGNWIRE_CRL_MAX	(2u * 1024 * 1024)	/* entries */
/* A CRL of SIGNWIRE_CRL_MAX entries, either way, fits. */
#define SIGNWIRE_FRAME_MAX	(96u * 1024 * 1024)
_Static_assert(SIGNWIRE_CRL_MAX * (uint64_t)PKI_CRL_ENTRY_MAX + 65536 <
    SIGNWIRE_FRAME_MAX, "SIGNWIRE_FRAME_MAX");
#define SIGNWIRE_MSG_MAX	255

struct signwire_issue {
	enum signwire_profile	 profile;
	uint32_t		 days;
	char			 cn[SIGNWIRE_CN_MAX + 1];
	size_t			 nsans;
	char			**sans;		/* nsans NUL-terminated */
	unsigned char		 spki[SIGNWIRE_SPKI_MAX];
	size_t			 spki_len;
};

struct signwire_crl {
	enum pki_ca_role	 role;
	uint64_t		 number;
	uint32_t		 next_update_secs;
	struct pki_crl_entries	 entries;	/* der points into the frame */
};

struct signwire_request {
	enum signwire_op	 op;
	struct signwire_issue	 issue;
	struct signwire_crl	 crl;
};

struct signwire_answer {
	enum sc_err	 status;
	unsigned char	*der;		/* SC_OK */
	size_t		 der_len;
	char		 msg[SIGNWIRE_MSG_MAX + 1];	/* otherwise */
};

/*
 * Encoders: *buf is a malloc'd frame body (without the length prefix),
 * *len its size.  They refuse (SC_INVALID) what the decoder would.
 */
enum sc_err	 signwire_issue_encode(enum signwire_profile, uint32_t days,
		    const char *cn, const char *const *sans, size_t nsans,
		    const unsigned char *spki, size_t spki_len,
		    unsigned char **buf, size_t *len, struct sc_error *);
enum sc_err	 signwire_crl_encode(enum pki_ca_role, uint64_t number,
		    uint32_t next_update_secs, const struct pki_crl_entries *,
		    unsigned char **buf, size_t *len, struct sc_error *);
enum sc_err	 signwire_answer_encode(enum sc_err status,
		    const unsigned char *der, size_t der_len, const char *msg,
		    unsigned char **buf, size_t *len, struct sc_error *);

/*
 * Decoders: SC_INVALID for anything but one well-formed message.  A
 * request's CRL entries point into buf, which must outlive it.
 */
enum sc_err	 signwire_request_decode(const unsigned char *, size_t,
		    struct signwire_request *, struct sc_error *);
void		 signwire_request_free(struct signwire_request *);
enum sc_err	 signwire_answer_decode(const unsigned char *, size_t,
		    struct signwire_answer *, struct sc_error *);
void		 signwire_answer_free(struct signwire_answer *);

/*
 * One frame over a stream socket: all of it or an error.  A peer that
 * closed, or a frame over SIGNWIRE_FRAME_MAX, is SC_SIGNER_UNAVAILABLE;
 * *buf is malloc'd.
 */
enum sc_err	 signwire_send(int fd, const unsigned char *, size_t,
		    struct sc_error *);
enum sc_err	 signwire_recv(int fd, unsigned char **buf, size_t *len,
		    struct sc_error *);

#endif
