#include "config.h"

/*
 * DER (X.690) writing, shared by the CRL builder (crl.c) and the
 * certificate builder (certder.c): definite lengths and one-octet tags,
 * which is all RFC 5280's structures need.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "pki/der.h"

/* X.690 8.1.2-8.1.3: tag and definite length; returns the octets used. */
size_t
der_header(unsigned char out[DER_HEADER_MAX], unsigned char tag, size_t len)
{
	size_t n = 0, octets = 0, v;

	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (unsigned char)len;
		return n;
	}
	for (v = len; v > 0; v >>= 8)
		octets++;
	out[n++] = (unsigned char)(0x80 | octets);
	while (octets > 0) {
		octets--;
		out[n++] = (unsigned char)(len >> (8 * octets));
	}
	return n;
}

/*
 * The element at p, within `avail` octets: its tag, the length of its
 * header and of its contents.  False when it does not fit or is not DER
 * we wrote or GnuTLS writes (multi-octet tags, indefinite lengths).
 */
bool
der_element(const unsigned char *p, size_t avail, unsigned char *tag,
    size_t *header, size_t *len)
{
	size_t v = 0;

	if (avail < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	*tag = p[0];
	if (p[1] < 0x80) {
		*header = 2;
		v = p[1];
	} else {
		size_t i, octets = p[1] & 0x7f;

		if (octets == 0 || octets > sizeof(size_t) - 1 ||
		    avail < 2 + octets)
			return false;
		for (i = 0; i < octets; i++)
			v = v << 8 | p[2 + i];
		*header = 2 + octets;
	}
	if (v > avail - *header)
		return false;
	*len = v;
	return true;
}

bool
der_take(const unsigned char **p, const unsigned char *end,
    unsigned char want, const unsigned char **c, size_t *clen)
{
	unsigned char tag;
	size_t header, len;

	if (*p >= end || !der_element(*p, (size_t)(end - *p), &tag, &header,
	    &len))
		return false;
	if (want == DER_ANY_TIME ? tag != DER_UTC_TIME &&
	    tag != DER_GENERALIZED_TIME : tag != want)
		return false;
	*c = *p + header;
	*clen = len;
	*p += header + len;
	return true;
}

bool
der_skip(const unsigned char **p, const unsigned char *end,
    const unsigned char *tags, size_t n)
{
	const unsigned char *start = *p, *c;
	size_t i, clen;

	for (i = 0; i < n; i++)
		if (!der_take(p, end, tags[i], &c, &clen)) {
			*p = start;
			return false;
		}
	return true;
}

/*
 * RFC 5280 4.1.2.5 (and 5.1.2.6 for CRLs): UTCTime through 2049,
 * GeneralizedTime from 2050.
 */
size_t
der_time(time_t t, unsigned char out[DER_TIME_MAX])
{
	struct tm tm;
	unsigned char *d;
	int year, field[6], i;
	size_t ylen;

	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	year = tm.tm_year + 1900;
	if (year < 1950 || year > 9999)
		return 0;
	/* By hand, not snprintf: a CRL has one per entry. */
	ylen = year < 2050 ? 2 : 4;
	out[0] = year < 2050 ? DER_UTC_TIME : DER_GENERALIZED_TIME;
	out[1] = (unsigned char)(ylen + 11);
	d = out + 2;
	if (ylen == 4) {
		*d++ = (unsigned char)('0' + year / 1000);
		*d++ = (unsigned char)('0' + year / 100 % 10);
	}
	field[0] = year % 100;
	field[1] = tm.tm_mon + 1;
	field[2] = tm.tm_mday;
	field[3] = tm.tm_hour;
	field[4] = tm.tm_min;
	field[5] = tm.tm_sec;
	for (i = 0; i < 6; i++) {
		*d++ = (unsigned char)('0' + field[i] / 10);
		*d++ = (unsigned char)('0' + field[i] % 10);
	}
	*d = 'Z';
	return 2 + ylen + 11;
}

/* n decimal digits at s, or -1. */
static int
digits(const unsigned char *s, size_t n)
{
	int v = 0;

	while (n-- > 0) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

/*
 * The fields of a UTCTime or GeneralizedTime element's contents in the
 * only forms RFC 5280 4.1.2.5 allows (UTC, seconds, "Z"; UTCTime's
 * two-digit years 50-99 are 19xx), each within its range.
 */
static bool
time_fields(unsigned char tag, const unsigned char *s, size_t len,
    struct tm *tm)
{
	size_t ylen = tag == DER_UTC_TIME ? 2 : 4;
	int year;

	if ((tag != DER_UTC_TIME && tag != DER_GENERALIZED_TIME) ||
	    len != ylen + 11 || s[len - 1] != 'Z' ||
	    (year = digits(s, ylen)) < 0)
		return false;
	if (tag == DER_UTC_TIME)
		year += year < 50 ? 2000 : 1900;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = year - 1900;
	tm->tm_mon = digits(s + ylen, 2) - 1;
	tm->tm_mday = digits(s + ylen + 2, 2);
	tm->tm_hour = digits(s + ylen + 4, 2);
	tm->tm_min = digits(s + ylen + 6, 2);
	tm->tm_sec = digits(s + ylen + 8, 2);
	return tm->tm_mon >= 0 && tm->tm_mon <= 11 && tm->tm_mday >= 1 &&
	    tm->tm_mday <= 31 && tm->tm_hour >= 0 && tm->tm_hour <= 23 &&
	    tm->tm_min >= 0 && tm->tm_min <= 59 && tm->tm_sec >= 0 &&
	    tm->tm_sec <= 59;
}

bool
der_time_valid(unsigned char tag, const unsigned char *s, size_t len)
{
	struct tm tm;

	return time_fields(tag, s, len, &tm);
}

bool
der_time_read(unsigned char tag, const unsigned char *s, size_t len,
    time_t *t)
{
	struct tm tm;

	if (!time_fields(tag, s, len, &tm))
		return false;
	*t = timegm(&tm);
	return true;
}

/* SEQUENCE { parts... } into a fresh datum (malloc'd). */
enum sc_err
der_sequence(const unsigned char *const *part, const size_t *part_len,
    size_t nparts, gnutls_datum_t *out, struct sc_error *err)
{
	size_t i, body = 0, at;

	out->data = NULL;
	out->size = 0;
	for (i = 0; i < nparts; i++)
		body += part_len[i];
	if (body > UINT32_MAX / 2 ||
	    (out->data = malloc(DER_HEADER_MAX + body)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory for %zu "
		    "bytes of DER", body);
	at = der_header(out->data, DER_SEQUENCE, body);
	for (i = 0; i < nparts; i++) {
		if (part_len[i] > 0)
			memcpy(out->data + at, part[i], part_len[i]);
		at += part_len[i];
	}
	out->size = (unsigned int)at;
	return SC_OK;
}

/* The signatureValue BIT STRING (no unused bits) around `sig`. */
enum sc_err
der_signature_value(const gnutls_datum_t *sig, gnutls_datum_t *out,
    struct sc_error *err)
{
	size_t at;

	if ((out->data = malloc(DER_HEADER_MAX + 1 + sig->size)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	at = der_header(out->data, DER_BIT_STRING, 1 + (size_t)sig->size);
	out->data[at++] = 0;
	memcpy(out->data + at, sig->data, sig->size);
	out->size = (unsigned int)(at + sig->size);
	return SC_OK;
}

/* Room for n more octets; false (and failed) when there is none. */
static bool
reserve(struct der_buf *b, size_t n)
{
	unsigned char *p;
	size_t cap;

	if (b->failed)
		return false;
	if (n <= b->cap - b->len)
		return true;
	cap = b->cap > 0 ? b->cap : 512;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
der_put(struct der_buf *b, const void *data, size_t n)
{
	if (n == 0 || !reserve(b, n))
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void
der_put_tlv(struct der_buf *b, unsigned char tag, const void *data, size_t n)
{
	unsigned char h[DER_HEADER_MAX];
	size_t hlen;

	hlen = der_header(h, tag, n);
	der_put(b, h, hlen);
	der_put(b, data, n);
}

/*
 * X.690 8.19: the first two arcs in one subidentifier (40 * a + b), each
 * subidentifier in base 128, high bit set on all but its last octet.
 * Only ever given the constant OIDs of certder.c; one that is not
 * dotted decimal with two arcs or more fails the buffer.
 */
void
der_put_oid(struct der_buf *b, const char *dotted)
{
	unsigned char out[64];
	unsigned long arc[2] = { 0, 0 };
	size_t n = 0, i, narcs = 0;
	const char *p = dotted;
	char *end;

	while (*p != '\0' && !b->failed) {
		unsigned long v;

		if (*p < '0' || *p > '9')
			break;
		v = strtoul(p, &end, 10);
		p = *end == '.' ? end + 1 : end;
		if (narcs < 2) {
			arc[narcs++] = v;
			if (narcs < 2)
				continue;
			v = 40 * arc[0] + arc[1];
		} else
			narcs++;
		for (i = 1; (v >> (7 * i)) != 0; i++)
			;
		if (n + i > sizeof(out)) {
			/* p is past this arc already: fail here, not below. */
			b->failed = true;
			return;
		}
		while (i-- > 0)
			out[n++] = (unsigned char)(((v >> (7 * i)) & 0x7f) |
			    (i > 0 ? 0x80 : 0));
	}
	if (*p != '\0' || narcs < 2) {
		b->failed = true;
		return;
	}
	der_put_tlv(b, DER_OID, out, n);
}

size_t
der_open(const struct der_buf *b)
{
	return b->len;
}

void
der_close(struct der_buf *b, unsigned char tag, size_t start)
{
	unsigned char h[DER_HEADER_MAX];
	size_t hlen, clen;

	if (b->failed || start > b->len)
		return;
	clen = b->len - start;
	hlen = der_header(h, tag, clen);
	if (!reserve(b, hlen))
		return;
	memmove(b->p + start + hlen, b->p + start, clen);
	memcpy(b->p + start, h, hlen);
	b->len += hlen;
}

void
der_buf_free(struct der_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* AlgorithmIdentifier: RSA PKCS#1 v1.5 with NULL parameters, ECDSA and
 * EdDSA with none (RFC 4055 5, RFC 5758 3.2, RFC 8410 3). */
enum sc_err
der_put_algorithm(struct der_buf *b, gnutls_sign_algorithm_t algo,
    struct sc_error *err)
{
	const char *oid = gnutls_sign_get_oid(algo);
	gnutls_pk_algorithm_t pk = gnutls_sign_get_pk_algorithm(algo);
	size_t seq;

	if (oid == NULL || (pk != GNUTLS_PK_RSA && pk != GNUTLS_PK_ECDSA &&
	    pk != GNUTLS_PK_EDDSA_ED25519))
		return sc_error_set(err, SC_INTERNAL, "signature algorithm %s "
		    "is not one we issue with", gnutls_sign_get_name(algo));
	seq = der_open(b);
	der_put_oid(b, oid);
	if (pk == GNUTLS_PK_RSA)
		der_put_tlv(b, DER_NULL, NULL, 0);
	der_close(b, DER_SEQUENCE, seq);
	return SC_OK;
}
