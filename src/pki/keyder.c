/*
 * Private keys as we write them: unencrypted PKCS#8 (RFC 5958) in PEM,
 * in the one encoding every parser must accept.
 *
 * GnuTLS 3.7 writes an ECDSA key's private scalar the way it writes an
 * INTEGER: with a leading zero octet when the top bit is set (33 octets
 * for P-256) and without its leading zero octets when it is small (31 or
 * fewer).  RFC 5915 3 fixes ECPrivateKey's privateKey OCTET STRING at
 * ceiling(log2(n)/8) octets, the curve's size, and strict parsers
 * (pyca/cryptography 42 and later) refuse any other length.  So an
 * ECDSA key's PKCS#8 is re-encoded here with its scalar left-padded or
 * stripped to exactly the curve's size; the rest (algorithm, curve,
 * public key) is kept byte for byte.  RSA keys (minimal INTEGERs, RFC
 * 8017 A.1.2) and Ed25519 keys (a 32-octet CurvePrivateKey, RFC 8410 7)
 * come out of GnuTLS in their canonical form already.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"

/* X.690 universal tags, constructed bit included where it is set. */
#define DER_INTEGER	0x02
#define DER_OCTETS	0x04
#define DER_SEQUENCE	0x30
/* Our keys are a few KiB: 3 length octets are more than enough. */
#define DER_LEN_OCTETS_MAX	3

/* One element of a DER buffer. */
struct der_elem {
	const unsigned char	*start;	/* its tag octet */
	const unsigned char	*body;
	size_t			 len;	/* of the body */
	size_t			 total;	/* tag, length and body */
};

/*
 * The element at *p (before end) if it has tag `tag`, and *p moved past
 * it.  X.690 10.1: DER lengths are definite and minimal; anything else
 * is not what GnuTLS writes and is refused.
 */
static bool
der_next(const unsigned char **p, const unsigned char *end,
    unsigned char tag, struct der_elem *e)
{
	const unsigned char *q = *p;
	size_t len;

	if (end - q < 2 || *q != tag)
		return false;
	e->start = q++;
	if (*q < 0x80)
		len = *q++;
	else {
		size_t n = *q++ & 0x7f;

		if (n == 0 || n > DER_LEN_OCTETS_MAX ||
		    (size_t)(end - q) < n || *q == 0)
			return false;
		for (len = 0; n > 0; n--)
			len = len << 8 | *q++;
		if (len < 0x80)
			return false;
	}
	if ((size_t)(end - q) < len)
		return false;
	e->body = q;
	e->len = len;
	e->total = (size_t)(q - e->start) + len;
	*p = q + len;
	return true;
}

/* Octets of a DER tag and length for a body of `len` octets. */
static size_t
der_header_size(size_t len)
{
	size_t n = 0;

	if (len < 0x80)
		return 2;
	for (; len > 0; len >>= 8)
		n++;
	return 2 + n;
}

/* Write tag and length at p; returns the position after them. */
static unsigned char *
der_put_header(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = der_header_size(len) - 2, i;

	*p++ = tag;
	if (n == 0) {
		*p++ = (unsigned char)len;
		return p;
	}
	*p++ = (unsigned char)(0x80 | n);
	for (i = n; i > 0; i--)
		*p++ = (unsigned char)(len >> (8 * (i - 1)));
	return p;
}

static unsigned char *
put_bytes(unsigned char *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

/*
 * The parts of an ECDSA PKCS#8 that re-encoding touches:
 *   PrivateKeyInfo ::= SEQUENCE { version, algorithm,
 *       privateKey OCTET STRING (ECPrivateKey), [attributes] }
 *   ECPrivateKey ::= SEQUENCE { version INTEGER 1,
 *       privateKey OCTET STRING, [0] parameters, [1] publicKey }
 */
struct ec_pkcs8 {
	struct der_elem		 version, algorithm, ec_version, scalar;
	const unsigned char	*ec_rest, *ec_end;	/* [0], [1] */
	const unsigned char	*rest, *end;		/* attributes */
};

static bool
ec_pkcs8_parse(const gnutls_datum_t *der, struct ec_pkcs8 *k)
{
	const unsigned char *p = der->data, *end = p + der->size, *q, *qend;
	struct der_elem info, octets, ec;

	if (!der_next(&p, end, DER_SEQUENCE, &info) || p != end)
		return false;
	p = info.body;
	k->end = p + info.len;
	if (!der_next(&p, k->end, DER_INTEGER, &k->version) ||
	    !der_next(&p, k->end, DER_SEQUENCE, &k->algorithm) ||
	    !der_next(&p, k->end, DER_OCTETS, &octets))
		return false;
	k->rest = p;
	q = octets.body;
	qend = q + octets.len;
	if (!der_next(&q, qend, DER_SEQUENCE, &ec) || q != qend)
		return false;
	q = ec.body;
	k->ec_end = q + ec.len;
	if (!der_next(&q, k->ec_end, DER_INTEGER, &k->ec_version) ||
	    !der_next(&q, k->ec_end, DER_OCTETS, &k->scalar))
		return false;
	k->ec_rest = q;
	return true;
}

/*
 * der (GnuTLS's PKCS#8 of an ECDSA key on a curve of `size` octets) with
 * its scalar in exactly `size` octets, into *out (a GnuTLS allocation).
 */
static enum sc_err
ec_pkcs8_canonical(const gnutls_datum_t *der, size_t size,
    gnutls_datum_t *out, struct sc_error *err)
{
	struct ec_pkcs8 k;
	const unsigned char *scalar;
	size_t slen, ec_body, ec_len, octets_len, info_body, total;
	unsigned char *buf, *p;

	out->data = NULL;
	out->size = 0;
	if (!ec_pkcs8_parse(der, &k))
		return sc_error_set(err, SC_INTERNAL, "re-encoding an ECDSA "
		    "key: GnuTLS's PKCS#8 is not the DER expected");
	scalar = k.scalar.body;
	slen = k.scalar.len;
	while (slen > 0 && *scalar == 0) {
		scalar++;
		slen--;
	}
	if (slen > size)
		return sc_error_set(err, SC_INTERNAL, "re-encoding an ECDSA "
		    "key: scalar of %zu octets on a %zu-octet curve", slen,
		    size);
	ec_body = k.ec_version.total + der_header_size(size) + size +
	    (size_t)(k.ec_end - k.ec_rest);
	ec_len = der_header_size(ec_body) + ec_body;
	octets_len = der_header_size(ec_len) + ec_len;
	info_body = k.version.total + k.algorithm.total + octets_len +
	    (size_t)(k.end - k.rest);
	total = der_header_size(info_body) + info_body;
	if ((buf = gnutls_malloc(total)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	p = der_put_header(buf, DER_SEQUENCE, info_body);
	p = put_bytes(p, k.version.start, k.version.total);
	p = put_bytes(p, k.algorithm.start, k.algorithm.total);
	p = der_put_header(p, DER_OCTETS, ec_len);
	p = der_put_header(p, DER_SEQUENCE, ec_body);
	p = put_bytes(p, k.ec_version.start, k.ec_version.total);
	p = der_put_header(p, DER_OCTETS, size);
	memset(p, 0, size - slen);	/* RFC 5915 3: leading zeros kept */
	p = put_bytes(p + (size - slen), scalar, slen);
	p = put_bytes(p, k.ec_rest, (size_t)(k.ec_end - k.ec_rest));
	put_bytes(p, k.rest, (size_t)(k.end - k.rest));
	out->data = buf;
	out->size = (unsigned int)total;
	return SC_OK;
}

/* See internal.h. */
enum sc_err
pki_key_export_pem(gnutls_x509_privkey_t key, gnutls_datum_t *pem,
    struct sc_error *err)
{
	gnutls_datum_t der = { NULL, 0 }, canonical = { NULL, 0 };
	unsigned int bits = 0;
	enum sc_err rc = SC_OK;
	int r;

	pem->data = NULL;
	pem->size = 0;
	if ((r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_DER,
	    NULL, GNUTLS_PKCS_PLAIN, &der)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "export key", r);
		goto out;
	}
	/* For ECDSA, bits is the curve's: 256, 384 (521 -> 66 octets). */
	if (gnutls_x509_privkey_get_pk_algorithm2(key, &bits) ==
	    GNUTLS_PK_ECDSA) {
		if ((rc = ec_pkcs8_canonical(&der, (bits + 7) / 8,
		    &canonical, err)) != SC_OK)
			goto out;
		pki_datum_wipe(&der);
		der = canonical;
		canonical.data = NULL;
	}
	/* RFC 7468 10: unencrypted PKCS#8 is "PRIVATE KEY". */
	if ((r = gnutls_pem_base64_encode2("PRIVATE KEY", &der, pem)) < 0)
		rc = pki_tls_error(err, SC_INTERNAL, "export key as PEM", r);
out:
	pki_datum_wipe(&der);
	return rc;
}
