#include "config.h"

/*
 * The certificates we issue, written as DER here and signed with the CA
 * key (RFC 5280 4.1).  GnuTLS's own way (gnutls_x509_crt_set_*, then
 * gnutls_x509_crt_privkey_sign) builds the whole Certificate as a
 * libtasn1 tree -- a node allocated per field, each extension encoded
 * through a tree of its own, the tree encoded twice -- which cost the CA
 * signer more than its ECDSA signature.  What we issue has one fixed
 * shape (pki.c's profiles), so it is written front to back; the result
 * is byte for byte what GnuTLS wrote (tests/unit/test_certder.c builds
 * both and compares), and every certificate is still read back and
 * checked by the caller (pki.c read_back).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/der.h"
#include "pki/internal.h"

#define OID_O		"2.5.4.10"
#define OID_OU		"2.5.4.11"
#define OID_CN		"2.5.4.3"
#define OID_SKI		"2.5.29.14"
#define OID_KEY_USAGE	"2.5.29.15"
#define OID_SAN		"2.5.29.17"
#define OID_BASIC	"2.5.29.19"
#define OID_AKI		"2.5.29.35"
#define OID_EKU		"2.5.29.37"

/* X.680 41.4: what a PrintableString may hold. */
static bool
printable_char(unsigned char c)
{
	/* strchr would find the terminator for c == '\0'. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr(" '()+,-./:=?", c) != NULL);
}

/* One RDN: SET { SEQUENCE { type, PrintableString or UTF8String } }. */
static void
put_rdn(struct der_buf *b, const char *oid, const char *value)
{
	size_t set, seq, i, len = strlen(value);
	unsigned char tag = DER_PRINTABLE_STRING;

	for (i = 0; i < len; i++)
		if (!printable_char((unsigned char)value[i]))
			tag = DER_UTF8_STRING;
	set = der_open(b);
	seq = der_open(b);
	der_put_oid(b, oid);
	der_put_tlv(b, tag, value, len);
	der_close(b, DER_SEQUENCE, seq);
	der_close(b, DER_SET, set);
}

static enum sc_err
put_validity(struct der_buf *b, time_t from, time_t to, struct sc_error *err)
{
	unsigned char t[2][DER_TIME_MAX];
	size_t n[2], seq;

	if ((n[0] = der_time(from, t[0])) == 0 ||
	    (n[1] = der_time(to, t[1])) == 0)
		return sc_error_set(err, SC_INVALID, "validity beyond what a "
		    "certificate can say");
	seq = der_open(b);
	der_put(b, t[0], n[0]);
	der_put(b, t[1], n[1]);
	der_close(b, DER_SEQUENCE, seq);
	return SC_OK;
}

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue };
 * extnValue's contents are what the caller writes between the two. */
static size_t
ext_open(struct der_buf *b, const char *oid, bool critical, size_t *value)
{
	static const unsigned char yes[] = { DER_BOOLEAN, 1, 0xff };
	size_t ext = der_open(b);

	der_put_oid(b, oid);
	if (critical)
		der_put(b, yes, sizeof(yes));
	*value = der_open(b);
	return ext;
}

static void
ext_close(struct der_buf *b, size_t ext, size_t value)
{
	der_close(b, DER_OCTET_STRING, value);
	der_close(b, DER_SEQUENCE, ext);
}

/* An extension whose value is one element: tag and contents. */
static void
put_ext(struct der_buf *b, const char *oid, bool critical, unsigned char tag,
    const void *data, size_t len)
{
	size_t ext, value;

	ext = ext_open(b, oid, critical, &value);
	der_put_tlv(b, tag, data, len);
	ext_close(b, ext, value);
}

/* KeyUsage, a named BIT STRING: trailing zero bits dropped (X.690 11.2.2). */
static void
put_key_usage(struct der_buf *b, unsigned int usage)
{
	unsigned char bits[3] = { 0, 0, 0 };
	size_t len;

	/* GnuTLS's GNUTLS_KEY_* are the bits as the first octet holds them. */
	bits[1] = (unsigned char)(usage & 0xff);
	bits[2] = (unsigned char)((usage >> 8) & 0xff);
	len = bits[2] != 0 ? 3 : bits[1] != 0 ? 2 : 1;
	if (len > 1) {
		unsigned char last = bits[len - 1];

		while ((last & 1) == 0) {
			bits[0]++;
			last >>= 1;
		}
	}
	put_ext(b, OID_KEY_USAGE, true, DER_BIT_STRING, bits, len);
}

static void
put_eku(struct der_buf *b, const struct certder_spec *s)
{
	size_t ext, value, seq;

	if (!s->server_auth && !s->client_auth)
		return;
	ext = ext_open(b, OID_EKU, s->eku_critical, &value);
	seq = der_open(b);
	if (s->server_auth)
		der_put_oid(b, GNUTLS_KP_TLS_WWW_SERVER);
	if (s->client_auth)
		der_put_oid(b, GNUTLS_KP_TLS_WWW_CLIENT);
	der_close(b, DER_SEQUENCE, seq);
	ext_close(b, ext, value);
}

/* GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING. */
static void
put_sans(struct der_buf *b, const struct pki_san *sans, size_t n)
{
	size_t ext, value, seq, i;

	if (n == 0)
		return;
	ext = ext_open(b, OID_SAN, false, &value);
	seq = der_open(b);
	for (i = 0; i < n; i++)
		der_put_tlv(b, DER_CONTEXT(sans[i].type ==
		    GNUTLS_SAN_IPADDRESS ? 7 : 2), sans[i].data, sans[i].len);
	der_close(b, DER_SEQUENCE, seq);
	ext_close(b, ext, value);
}

/* The extensions, in the order GnuTLS wrote them for pki.c. */
static void
put_extensions(struct der_buf *b, const struct certder_spec *s)
{
	size_t ctx, seq, ext, value, aki;

	ctx = der_open(b);
	seq = der_open(b);
	put_ext(b, OID_SKI, false, DER_OCTET_STRING, s->key_id,
	    s->key_id_len);
	/* RFC 5280 4.2.1.9: critical; cA FALSE is the DEFAULT, so absent. */
	put_ext(b, OID_BASIC, true, DER_SEQUENCE, NULL, 0);
	put_key_usage(b, s->key_usage);
	put_eku(b, s);
	put_sans(b, s->sans, s->nsans);
	/* SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }. */
	ext = ext_open(b, OID_AKI, false, &value);
	aki = der_open(b);
	der_put_tlv(b, DER_CONTEXT(0), s->issuer_key_id,
	    s->issuer_key_id_len);
	der_close(b, DER_SEQUENCE, aki);
	ext_close(b, ext, value);
	der_close(b, DER_SEQUENCE, seq);
	der_close(b, DER_CONTEXT_CONS(3), ctx);
}

/* TBSCertificate (RFC 5280 4.1.2), version 3. */
static enum sc_err
put_tbs(struct der_buf *b, const struct certder_spec *s, struct sc_error *err)
{
	static const unsigned char v3[] = { DER_CONTEXT_CONS(0), 3,
	    DER_INTEGER, 1, 2 };
	enum sc_err rc;
	size_t tbs, name;

	tbs = der_open(b);
	der_put(b, v3, sizeof(v3));
	der_put_tlv(b, DER_INTEGER, s->serial, s->serial_len);
	if ((rc = der_put_algorithm(b, s->sign_algo, err)) != SC_OK)
		return rc;
	der_put(b, s->issuer->data, s->issuer->size);
	if ((rc = put_validity(b, s->not_before, s->not_after, err)) != SC_OK)
		return rc;
	name = der_open(b);
	put_rdn(b, OID_O, s->organization);
	put_rdn(b, OID_OU, s->unit);
	put_rdn(b, OID_CN, s->cn);
	der_close(b, DER_SEQUENCE, name);
	der_put(b, s->spki->data, s->spki->size);
	put_extensions(b, s);
	der_close(b, DER_SEQUENCE, tbs);
	return SC_OK;
}

enum sc_err
pki_certder_tbs(const struct certder_spec *s, gnutls_datum_t *tbs,
    struct sc_error *err)
{
	struct der_buf b = { NULL, 0, 0, false };
	enum sc_err rc;

	tbs->data = NULL;
	tbs->size = 0;
	/* A serial is positive and not padded (RFC 5280 4.1.2.2). */
	if (s->serial_len == 0 || s->serial_len > 20 ||
	    (s->serial[0] & 0x80) != 0 ||
	    (s->serial_len > 1 && s->serial[0] == 0 &&
	    (s->serial[1] & 0x80) == 0)) {
		rc = sc_error_set(err, SC_INTERNAL, "serial of %zu octets is "
		    "not a DER INTEGER's", s->serial_len);
		goto out;
	}
	if ((rc = put_tbs(&b, s, err)) != SC_OK)
		goto out;
	if (b.failed || b.len > UINT32_MAX / 2) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory for a "
		    "certificate");
		goto out;
	}
	tbs->data = b.p;
	tbs->size = (unsigned int)b.len;
	b.p = NULL;
out:
	der_buf_free(&b);
	return rc;
}

enum sc_err
pki_certder_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
    const gnutls_datum_t *tbs, unsigned char **der, size_t *der_len,
    struct sc_error *err)
{
	struct der_buf alg = { NULL, 0, 0, false };
	gnutls_datum_t sig = { NULL, 0 }, bits = { NULL, 0 }, cert;
	const unsigned char *part[3];
	size_t part_len[3];
	enum sc_err rc;
	int r;

	*der = NULL;
	*der_len = 0;
	cert.data = NULL;
	if ((rc = der_put_algorithm(&alg, algo, err)) != SC_OK)
		goto out;
	if (alg.failed) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = gnutls_privkey_sign_data2(key, algo, 0, tbs, &sig)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "sign the certificate", r);
		goto out;
	}
	if ((rc = der_signature_value(&sig, &bits, err)) != SC_OK)
		goto out;
	part[0] = tbs->data;
	part_len[0] = tbs->size;
	part[1] = alg.p;
	part_len[1] = alg.len;
	part[2] = bits.data;
	part_len[2] = bits.size;
	if ((rc = der_sequence(part, part_len, 3, &cert, err)) != SC_OK)
		goto out;
	*der = cert.data;
	*der_len = cert.size;
out:
	der_buf_free(&alg);
	gnutls_free(sig.data);
	free(bits.data);
	return rc;
}

static bool
take_time(const unsigned char **p, const unsigned char *end, time_t *t)
{
	const unsigned char *start = *p, *c;
	size_t clen;

	return der_take(p, end, DER_ANY_TIME, &c, &clen) &&
	    der_time_read(*start, c, clen, t);
}

enum sc_err
pki_certder_facts(const unsigned char *der, size_t len,
    struct pki_certder_facts *f, struct sc_error *err)
{
	const unsigned char *p = der, *end = der + len, *cert, *tbs, *tbs_end;
	const unsigned char *skip, *validity, *subject;
	size_t cert_len, tbs_len, skip_len, validity_len, subject_len;

	memset(f, 0, sizeof(*f));
	/* Certificate: exactly SEQUENCE { tbs, algorithm, signature }. */
	if (!der_take(&p, end, DER_SEQUENCE, &cert, &cert_len) || p != end)
		goto bad;
	p = cert;
	end = cert + cert_len;
	if (!der_take(&p, end, DER_SEQUENCE, &tbs, &tbs_len) ||
	    !der_take(&p, end, DER_SEQUENCE, &skip, &skip_len) ||
	    !der_take(&p, end, DER_BIT_STRING, &skip, &skip_len) || p != end)
		goto bad;
	/* TBSCertificate: [0] version, serial, signature, issuer, ... */
	p = tbs;
	tbs_end = tbs + tbs_len;
	if (!der_take(&p, tbs_end, DER_CONTEXT_CONS(0), &skip, &skip_len) ||
	    !der_take(&p, tbs_end, DER_INTEGER, &f->serial, &f->serial_len) ||
	    !der_take(&p, tbs_end, DER_SEQUENCE, &skip, &skip_len) ||
	    !der_take(&p, tbs_end, DER_SEQUENCE, &skip, &skip_len))
		goto bad;
	/* ... validity { notBefore, notAfter }, subject, ... */
	if (!der_take(&p, tbs_end, DER_SEQUENCE, &validity, &validity_len))
		goto bad;
	subject = p;
	if (!der_take(&p, tbs_end, DER_SEQUENCE, &skip, &skip_len))
		goto bad;
	subject_len = (size_t)(p - subject);
	p = validity;
	end = validity + validity_len;
	if (!take_time(&p, end, &f->not_before) ||
	    !take_time(&p, end, &f->not_after) || p != end)
		goto bad;
	f->subject = subject;
	f->subject_len = subject_len;
	return SC_OK;
bad:
	memset(f, 0, sizeof(*f));
	return sc_error_set(err, SC_INTERNAL, "the signed certificate is not "
	    "the X.509 DER it should be (RFC 5280 4.1)");
}
