/*
 * DER (X.690) as the CRL and certificate builders write it: definite
 * lengths, one-octet tags.  Private to src/pki/.
 */
#ifndef SC_PKI_DER_H
#define SC_PKI_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "err.h"

/* X.690 8.1: a one-octet tag and a length of at most 1 + 8 octets. */
#define DER_HEADER_MAX		10
/* Time: UTCTime (13 characters) or GeneralizedTime (15), RFC 5280 4.1.2.5. */
#define DER_TIME_MAX		(2 + 15)

#define DER_BOOLEAN		0x01
#define DER_INTEGER		0x02
#define DER_BIT_STRING		0x03
#define DER_OCTET_STRING	0x04
#define DER_NULL		0x05
#define DER_OID			0x06
#define DER_UTF8_STRING		0x0c
#define DER_PRINTABLE_STRING	0x13
#define DER_UTC_TIME		0x17
#define DER_GENERALIZED_TIME	0x18
#define DER_SEQUENCE		0x30
#define DER_SET			0x31
#define DER_CONTEXT(n)		(0x80 | (n))	/* [n] IMPLICIT, primitive */
#define DER_CONTEXT_CONS(n)	(0xa0 | (n))	/* [n], constructed */

/* Tag and definite length into out; returns the octets used. */
size_t		der_header(unsigned char out[DER_HEADER_MAX], unsigned char tag,
		    size_t len);
/*
 * The element at p, within `avail` octets: its tag, the length of its
 * header and of its contents.  False when it does not fit or is not DER
 * we write or GnuTLS writes (multi-octet tags, indefinite lengths).
 */
bool		der_element(const unsigned char *p, size_t avail,
		    unsigned char *tag, size_t *header, size_t *len);
/* der_take's `want` for either Time; tag 0 (end-of-contents) is no element. */
#define DER_ANY_TIME		0x00
/*
 * The element at *p within [*p, end), which must have tag `want`: its
 * contents in [*c, *c + *clen), and *p moves past it.  False, *p
 * unmoved, when there is none or it is something else.
 */
bool		der_take(const unsigned char **p, const unsigned char *end,
		    unsigned char want, const unsigned char **c, size_t *clen);
/* der_take of n elements with the given tags, their contents unwanted. */
bool		der_skip(const unsigned char **p, const unsigned char *end,
		    const unsigned char *tags, size_t n);
/*
 * RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, in
 * UTC with seconds and "Z".  Returns the octets used, 0 if the time
 * cannot be expressed.
 */
size_t		der_time(time_t, unsigned char out[DER_TIME_MAX]);
/*
 * The time in a UTCTime or GeneralizedTime element's contents (s, len),
 * in the forms der_time writes; false for anything else.
 */
bool		der_time_read(unsigned char tag, const unsigned char *s,
		    size_t len, time_t *);
/* Would der_time_read take it?  Without computing the time. */
bool		der_time_valid(unsigned char tag, const unsigned char *s,
		    size_t len);
/* out: a malloc'd SEQUENCE of the parts, in order. */
enum sc_err	der_sequence(const unsigned char *const *part,
		    const size_t *part_len, size_t nparts, gnutls_datum_t *out,
		    struct sc_error *);
/* out: a malloc'd signatureValue BIT STRING (no unused bits) around sig. */
enum sc_err	der_signature_value(const gnutls_datum_t *sig,
		    gnutls_datum_t *out, struct sc_error *);

/*
 * A DER document written front to back.  An element is opened where its
 * contents begin (der_open) and closed once they are written
 * (der_close), which puts its header in front of them.  Running out of
 * memory sets `failed`; every later call then does nothing, so a
 * builder checks once at the end.
 */
struct der_buf {
	unsigned char	*p;
	size_t		 len, cap;
	bool		 failed;
};

void		der_put(struct der_buf *, const void *, size_t);
/* A whole element: tag, length, contents. */
void		der_put_tlv(struct der_buf *, unsigned char tag, const void *,
		    size_t);
/* An OBJECT IDENTIFIER from its dotted form ("2.5.29.14"). */
void		der_put_oid(struct der_buf *, const char *dotted);
size_t		der_open(const struct der_buf *);
void		der_close(struct der_buf *, unsigned char tag, size_t start);
/*
 * AlgorithmIdentifier of a signature algorithm the CAs sign with: RSA
 * PKCS#1 v1.5 with NULL parameters, ECDSA and EdDSA with none.
 * SC_INTERNAL for any other.
 */
enum sc_err	der_put_algorithm(struct der_buf *, gnutls_sign_algorithm_t,
		    struct sc_error *);
void		der_buf_free(struct der_buf *);

#endif
