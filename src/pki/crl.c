#include "config.h"

/*
 * The certificate revocation lists (RFC 5280 section 5), one per CA,
 * signed by it and published as CA_DIR/crl.pem (worker CA: GET
 * /swarm/crl.pem serves it) and CA_DIR/front-crl.pem (front CA: what
 * nginx's ssl_crl reads to refuse revoked operators).  Which certificates
 * are revoked, and the CRL number, come from the database (src/crl.c puts
 * the two together).
 *
 * How a CRL is built: its TBSCertList is written here as DER -- version,
 * signature algorithm, issuer, times, the revokedCertificates list (its
 * entries encoded by pki_crl_entry_encode, and checked one by one when
 * they come from elsewhere), extensions -- and signed with the CA key
 * (pki_certder_sign: a CertificateList is shaped as a Certificate is).
 * GnuTLS's way of adding an entry (gnutls_x509_crl_set_crt_serial) walks
 * the whole list for each one: 10,000 entries took half a second and
 * 50,000 twenty, while this is linear.  Every CRL is checked (its DER
 * walked, its signature verified) before it is published.
 */

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "pki/der.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* Verifiers with a clock a little behind ours must not see a future CRL. */
#define BACKDATE_SECS		(5L * 60)
/* A CRL promising nothing for over a year is a configuration mistake. */
#define NEXT_UPDATE_MAX		(366L * 24 * 60 * 60)
/* RFC 5280 4.1.2.2: a serial is at most 20 octets. */
#define SERIAL_MAX		20
/* An entry: SEQUENCE { INTEGER (a 0 octet + 20), Time }, under 128. */
#define ENTRY_MAX		(2 + (2 + 1 + SERIAL_MAX) + DER_TIME_MAX)
_Static_assert(ENTRY_MAX == PKI_CRL_ENTRY_MAX, "PKI_CRL_ENTRY_MAX");

#define TAG_CONTEXT_0		DER_CONTEXT_CONS(0)	/* crlExtensions [0] */
#define OID_AKI			"2.5.29.35"
#define OID_CRL_NUMBER		"2.5.29.20"

/* A serial number's value: big-endian, no leading zero octets. */
struct serial {
	size_t		 len;
	unsigned char	 b[SERIAL_MAX];
};

/* Leading zero octets go: the value is what entries are compared by. */
static void
serial_trim(struct serial *s)
{
	size_t skip = 0;

	while (skip + 1 < s->len && s->b[skip] == 0)
		skip++;
	memmove(s->b, s->b + skip, s->len - skip);
	s->len -= skip;
}

/* "0a1b..." -> value; an odd number of digits gets a leading zero. */
static enum sc_err
serial_from_hex(const char *hex, struct serial *out, struct sc_error *err)
{
	size_t digits, i, j;

	digits = strlen(hex);
	if (digits == 0 || digits > 2 * SERIAL_MAX)
		return sc_error_set(err, SC_INVALID, "serial \"%s\": want 1 to "
		    "%d hex digits", hex, 2 * SERIAL_MAX);
	out->len = (digits + 1) / 2;
	for (i = 0, j = 0; j < out->len; j++) {
		int hi = (digits % 2 == 1 && j == 0) ? 0 :
		    codec_hex_value((unsigned char)hex[i++]);
		int lo = codec_hex_value((unsigned char)hex[i++]);

		if (hi < 0 || lo < 0)
			return sc_error_set(err, SC_INVALID, "serial \"%s\" is "
			    "not hexadecimal", hex);
		out->b[j] = (unsigned char)(hi << 4 | lo);
	}
	serial_trim(out);
	return SC_OK;
}

static int
serial_cmp(const void *a, const void *b)
{
	const struct serial *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

/*
 * RFC 5280 5.2.3: the CRL number is a non-negative INTEGER; big-endian
 * with a leading zero octet whenever the top bit would make it negative.
 */
static size_t
crl_number_bytes(uint64_t number, unsigned char out[9])
{
	size_t start = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < 8; i++)
		out[1 + i] = (unsigned char)(number >> (56 - 8 * i));
	while (start < 8 && out[start] == 0 && !(out[start + 1] & 0x80))
		start++;
	memmove(out, out + start, 9 - start);
	return 9 - start;
}

/* One entry (RFC 5280 5.1): SEQUENCE { userCertificate, revocationDate }. */
enum sc_err
pki_crl_entry_encode(const struct pki_revoked *r,
    unsigned char out[PKI_CRL_ENTRY_MAX], size_t *used, struct sc_error *err)
{
	unsigned char when[DER_TIME_MAX];
	struct serial s;
	size_t n, ilen, tlen;
	enum sc_err rc;

	*used = 0;
	if ((rc = serial_from_hex(r->serial_hex, &s, err)) != SC_OK)
		return rc;
	if ((tlen = der_time(r->revoked_at, when)) == 0)
		return sc_error_set(err, SC_INVALID, "serial %s: revocation "
		    "time %lld is outside 1950-9999", r->serial_hex,
		    (long long)r->revoked_at);
	/* X.690 8.3.2: a leading zero octet keeps a high top bit positive. */
	ilen = s.len + ((s.b[0] & 0x80) ? 1 : 0);
	n = der_header(out, DER_SEQUENCE, 2 + ilen + tlen);
	n += der_header(out + n, DER_INTEGER, ilen);
	if (ilen > s.len)
		out[n++] = 0;
	memcpy(out + n, s.b, s.len);
	n += s.len;
	memcpy(out + n, when, tlen);
	*used = n + tlen;
	return SC_OK;
}

enum sc_err
pki_crl_rows_encode(const struct pki_revoked *revoked, size_t n,
    unsigned char **buf, struct pki_crl_entries *l, struct sc_error *err)
{
	size_t i, len = 0, used;

	*buf = NULL;
	l->der = NULL;
	l->len = 0;
	l->n = 0;
	if (n == 0)
		return SC_OK;
	if (n > SIZE_MAX / ENTRY_MAX || (*buf = malloc(n * ENTRY_MAX)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory for a CRL "
		    "of %zu entries", n);
	for (i = 0; i < n; i++) {
		enum sc_err rc;

		if ((rc = pki_crl_entry_encode(&revoked[i], *buf + len, &used,
		    err)) != SC_OK) {
			free(*buf);
			*buf = NULL;
			return rc;
		}
		len += used;
	}
	l->der = *buf;
	l->len = len;
	l->n = n;
	return SC_OK;
}

/*
 * userCertificate as pki_crl_entry_encode writes it: a positive INTEGER,
 * minimally encoded (X.690 8.3.2), of at most SERIAL_MAX octets of value.
 */
static bool
serial_valid(const unsigned char *c, size_t len)
{
	if (len == 0 || len > SERIAL_MAX + 1 || (c[0] & 0x80) != 0)
		return false;
	if (len > 1 && c[0] == 0 && (c[1] & 0x80) == 0)
		return false;
	return len <= SERIAL_MAX || c[0] == 0;
}

/*
 * Are they exactly l->n entries as pki_crl_entry_encode writes them, and
 * nothing else?  What the CA signer checks before it signs a list it was
 * given: the process asking parses the network's input.
 */
static bool
entries_valid(const struct pki_crl_entries *l)
{
	const unsigned char *p = l->der, *end = l->der + l->len, *e, *c;
	size_t len, count;

	if (l->len > 0 && l->der == NULL)
		return false;
	for (count = 0; p < end; count++) {
		const unsigned char *e_end;
		unsigned char tag;

		if (!der_take(&p, end, DER_SEQUENCE, &e, &len))
			return false;
		e_end = e + len;
		if (!der_take(&e, e_end, DER_INTEGER, &c, &len) ||
		    !serial_valid(c, len) || e >= e_end)
			return false;
		tag = *e;
		if (!der_take(&e, e_end, DER_ANY_TIME, &c, &len) ||
		    !der_time_valid(tag, c, len) || e != e_end)
			return false;
	}
	return count == l->n;
}

/* ------------------------------------------------------------ signing */

/*
 * TBSCertList (RFC 5280 5.1.2) around its list: *head from version to
 * nextUpdate, *tail the crlExtensions [0] -- authorityKeyIdentifier and
 * CRL number, both MUST (5.2.1, 5.2.3).  Written here: GnuTLS would
 * write them only into a CRL it signs, which cost the CA key a second
 * signature per CRL.
 */
static enum sc_err
crl_frame(const struct pki_ca *ca, gnutls_sign_algorithm_t algo,
    uint64_t number, long next_update_secs, struct der_buf *head,
    struct der_buf *tail, struct sc_error *err)
{
	/* Version 2: needed for the extensions (RFC 5280 5.1.2.1). */
	static const unsigned char v2[] = { DER_INTEGER, 1, 1 };
	unsigned char when[2][DER_TIME_MAX], num[9];
	size_t n[2], numlen, ctx, seq, ext, value, aki;
	time_t now = time(NULL);
	enum sc_err rc;

	if ((n[0] = der_time(now - BACKDATE_SECS, when[0])) == 0 ||
	    (n[1] = der_time(now + next_update_secs, when[1])) == 0)
		return sc_error_set(err, SC_INVALID, "a CRL valid for %ld "
		    "seconds from now cannot say so", next_update_secs);
	der_put(head, v2, sizeof(v2));
	if ((rc = der_put_algorithm(head, algo, err)) != SC_OK)
		return rc;
	der_put(head, ca->subject_der.data, ca->subject_der.size);
	der_put(head, when[0], n[0]);
	der_put(head, when[1], n[1]);
	numlen = crl_number_bytes(number, num);
	ctx = der_open(tail);
	seq = der_open(tail);
	/* Extension { extnID, extnValue OCTET STRING { ... } }, not critical */
	ext = der_open(tail);
	der_put_oid(tail, OID_AKI);
	value = der_open(tail);
	aki = der_open(tail);
	der_put_tlv(tail, DER_CONTEXT(0), ca->key_id, ca->key_id_len);
	der_close(tail, DER_SEQUENCE, aki);
	der_close(tail, DER_OCTET_STRING, value);
	der_close(tail, DER_SEQUENCE, ext);
	ext = der_open(tail);
	der_put_oid(tail, OID_CRL_NUMBER);
	value = der_open(tail);
	der_put_tlv(tail, DER_INTEGER, num, numlen);
	der_close(tail, DER_OCTET_STRING, value);
	der_close(tail, DER_SEQUENCE, ext);
	der_close(tail, DER_SEQUENCE, seq);
	der_close(tail, TAG_CONTEXT_0, ctx);
	if (head->failed || tail->failed)
		return sc_error_set(err, SC_INTERNAL, "out of memory for a "
		    "CRL");
	return SC_OK;
}

/*
 * tbsCertList within a CertificateList (RFC 5280 5.1): version,
 * signature, issuer, thisUpdate, nextUpdate, then exactly n entries of
 * userCertificate and revocationDate and nothing else (we write no entry
 * extensions), then crlExtensions [0] to its end.  False if not.
 */
static bool
tbs_shape(const unsigned char *p, const unsigned char *end, size_t n)
{
	static const unsigned char head[] = { DER_INTEGER, DER_SEQUENCE,
	    DER_SEQUENCE, DER_ANY_TIME, DER_ANY_TIME };
	static const unsigned char entry[] = { DER_INTEGER, DER_ANY_TIME };
	const unsigned char *list, *c;
	size_t len, count = 0;

	if (!der_skip(&p, end, head, sizeof(head)))
		return false;
	if (p < end && *p == DER_SEQUENCE) {
		const unsigned char *list_end, *e;

		if (!der_take(&p, end, DER_SEQUENCE, &list, &len))
			return false;
		for (list_end = list + len; list < list_end; count++) {
			const unsigned char *e_end;

			if (!der_take(&list, list_end, DER_SEQUENCE, &e, &len))
				return false;
			e_end = e + len;
			if (!der_skip(&e, e_end, entry, sizeof(entry)) ||
			    e != e_end)
				return false;
		}
	}
	return count == n && der_take(&p, end, TAG_CONTEXT_0, &c, &len) &&
	    p == end;
}

/*
 * Is der (what `what` names, for messages) a CRL of the CA listing n
 * certificates?  Without a full parse by GnuTLS, which at 100,000
 * entries cost half a publication: the DER walked once
 * (CertificateList, tbs_shape, a signatureValue with no unused bits,
 * nothing after) and its signature verified with the CA certificate's
 * public key over the tbsCertList, with the algorithm the CA signs with
 * (pki_sign_digest_pk).  test_crl parses what the builder writes with
 * GnuTLS, as nginx and verifiers will.
 */
static enum sc_err
crl_check(const struct pki_ca *ca, const unsigned char *der, size_t der_len,
    size_t n, const char *what, struct sc_error *err)
{
	const unsigned char *p, *end, *c;
	gnutls_datum_t tbs, sig;
	gnutls_pubkey_t pub = NULL;
	gnutls_pk_algorithm_t pk;
	size_t len;
	enum sc_err rc = SC_OK;
	int r;

	p = der;
	if (der_len > UINT32_MAX / 2 ||
	    !der_take(&p, der + der_len, DER_SEQUENCE, &c, &len) ||
	    p != der + der_len)
		goto bad;
	p = c;
	end = c + len;
	tbs.data = (unsigned char *)p;
	if (!der_take(&p, end, DER_SEQUENCE, &c, &len) ||
	    !tbs_shape(c, c + len, n))
		goto bad;
	tbs.size = (unsigned int)(p - tbs.data);
	if (!der_take(&p, end, DER_SEQUENCE, &c, &len) ||
	    !der_take(&p, end, DER_BIT_STRING, &c, &len) ||
	    len < 2 || c[0] != 0 || p != end)
		goto bad;
	sig.data = (unsigned char *)c + 1;
	sig.size = (unsigned int)(len - 1);
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_x509(pub, ca->crt, 0)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "the CA's public key", r);
		goto out;
	}
	pk = (gnutls_pk_algorithm_t)gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if ((r = gnutls_pubkey_verify_data2(pub, gnutls_pk_to_sign(pk,
	    pki_sign_digest_pk(pk)), 0, &tbs, &sig)) < 0)
		rc = sc_error_set(err, SC_INTERNAL, "%s does not verify: %s",
		    what, gnutls_strerror(r));
	goto out;
bad:
	rc = sc_error_set(err, SC_INTERNAL, "%s is not a CRL of %zu entries "
	    "as RFC 5280 5.1 shapes it", what, n);
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

enum sc_err
pki_crl_answer_check(const struct pki_ca *ca, const unsigned char *der,
    size_t der_len, size_t n, struct sc_error *err)
{
	return crl_check(ca, der, der_len, n, "the signer's CRL", err);
}

enum sc_err
pki_crl_sign(const struct pki_ca *ca, const struct pki_crl_entries *l,
    uint64_t number, long next_update_secs, char **pem, size_t *pem_len,
    struct sc_error *err)
{
	gnutls_datum_t der = { NULL, 0 }, text = { NULL, 0 };
	size_t der_len = 0;
	enum sc_err rc;
	int r;

	*pem = NULL;
	*pem_len = 0;
	if (ca->key == NULL && ca->signer == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "the %s CA was loaded "
		    "without its key: it cannot sign a CRL",
		    pki_ca_role_name(ca->role));
		goto out;
	}
	if (ca->key != NULL)
		rc = pki_crl_build(ca, l, number, next_update_secs, &der.data,
		    &der_len, err);
	/* Checked here too: the signer's answer is only bytes to us. */
	else if ((rc = pki_signer_crl(ca->signer, ca->role, l, number,
	    next_update_secs, &der.data, &der_len, err)) == SC_OK) {
		der.size = (unsigned int)der_len;
		rc = pki_crl_answer_check(ca, der.data, der_len, l->n, err);
	}
	if (rc != SC_OK)
		goto out;
	der.size = (unsigned int)der_len;
	if ((r = gnutls_pem_base64_encode2("X509 CRL", &der, &text)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PEM-encode the CRL", r);
		goto out;
	}
	if ((*pem = pki_datum_strdup(&text)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	*pem_len = text.size;
out:
	free(der.data);
	gnutls_free(text.data);
	return rc;
}

enum sc_err
pki_crl_build(const struct pki_ca *ca, const struct pki_crl_entries *l,
    uint64_t number, long next_update_secs, unsigned char **der,
    size_t *der_len, struct sc_error *err)
{
	struct der_buf head = { NULL, 0, 0, false }, tail = head;
	gnutls_datum_t tbs = { NULL, 0 };
	gnutls_sign_algorithm_t algo;
	unsigned char list[DER_HEADER_MAX];
	const unsigned char *part[4];
	size_t part_len[4];
	enum sc_err rc;

	*der = NULL;
	*der_len = 0;
	if (ca->key == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "the %s CA was loaded "
		    "without its key: it cannot sign a CRL",
		    pki_ca_role_name(ca->role));
		goto out;
	}
	if (next_update_secs < 1 || next_update_secs > NEXT_UPDATE_MAX) {
		rc = sc_error_set(err, SC_INVALID, "CRL next update in %ld "
		    "seconds (want 1 to %ld)", next_update_secs,
		    NEXT_UPDATE_MAX);
		goto out;
	}
	if (!entries_valid(l)) {
		rc = sc_error_set(err, SC_INVALID, "the CRL's entries are "
		    "not %zu revokedCertificates entries as RFC 5280 5.1 "
		    "shapes them", l->n);
		goto out;
	}
	/* What the CA signs certificates with (pki.c). */
	algo = gnutls_pk_to_sign((gnutls_pk_algorithm_t)
	    gnutls_privkey_get_pk_algorithm(ca->key, NULL),
	    pki_sign_digest(ca->key));
	if ((rc = crl_frame(ca, algo, number, next_update_secs, &head, &tail,
	    err)) != SC_OK)
		goto out;
	part[0] = head.p;
	part_len[0] = head.len;
	/* None: the list is absent (RFC 5280 5.1.2.6), not empty. */
	part[1] = list;
	part_len[1] = l->n > 0 ? der_header(list, DER_SEQUENCE, l->len) : 0;
	part[2] = l->der;
	part_len[2] = l->len;
	part[3] = tail.p;
	part_len[3] = tail.len;
	if ((rc = der_sequence(part, part_len, 4, &tbs, err)) != SC_OK ||
	    (rc = pki_certder_sign(ca->key, algo, &tbs, der, der_len,
	    err)) != SC_OK)
		goto out;
	if ((rc = crl_check(ca, *der, *der_len, l->n, "the CRL just built",
	    err)) != SC_OK) {
		free(*der);
		*der = NULL;
		*der_len = 0;
	}
out:
	der_buf_free(&head);
	der_buf_free(&tail);
	free(tbs.data);
	return rc;
}

enum sc_err
pki_crl_write(const struct pki_ca *ca, const char *ca_dir,
    const struct pki_crl_entries *l, uint64_t number, long next_update_secs,
    struct sc_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	enum sc_err rc;

	if ((rc = pki_crl_sign(ca, l, number, next_update_secs, &pem, &len,
	    err)) != SC_OK)
		goto out;
	/* Public: nginx, and whoever fetches GET /swarm/crl.pem, read it. */
	rc = fileio_write_atomic(ca_dir, pki_ca_crl_file(ca->role), pem, len,
	    0644, true, err);
out:
	free(pem);
	return rc;
}

enum sc_err
pki_crl_sign_rows(const struct pki_ca *ca, const struct pki_revoked *revoked,
    size_t n, uint64_t number, long next_update_secs, char **pem,
    size_t *pem_len, struct sc_error *err)
{
	struct pki_crl_entries l;
	unsigned char *buf = NULL;
	enum sc_err rc;

	*pem = NULL;
	*pem_len = 0;
	if ((rc = pki_crl_rows_encode(revoked, n, &buf, &l, err)) == SC_OK)
		rc = pki_crl_sign(ca, &l, number, next_update_secs, pem,
		    pem_len, err);
	free(buf);
	return rc;
}

enum sc_err
pki_crl_write_rows(const struct pki_ca *ca, const char *ca_dir,
    const struct pki_revoked *revoked, size_t n, uint64_t number,
    long next_update_secs, struct sc_error *err)
{
	struct pki_crl_entries l;
	unsigned char *buf = NULL;
	enum sc_err rc;

	if ((rc = pki_crl_rows_encode(revoked, n, &buf, &l, err)) == SC_OK)
		rc = pki_crl_write(ca, ca_dir, &l, number, next_update_secs,
		    err);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------ reading */

/* role's CRL file, parsed; SC_NOT_FOUND if there is none. */
static enum sc_err
crl_read(const char *ca_dir, enum pki_ca_role role, gnutls_x509_crl_t *out,
    struct sc_error *err)
{
	const char *file = pki_ca_crl_file(role);
	gnutls_x509_crl_t crl = NULL;
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;
	int r;

	*out = NULL;
	if ((rc = pki_read_file_max(ca_dir, file, true, PKI_CRL_FILE_MAX, &d,
	    NULL, err)) != SC_OK)
		goto out;
	if ((r = gnutls_x509_crl_init(&crl)) < 0 ||
	    (r = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		rc = sc_error_set(err, SC_INVALID, "%s/%s: %s", ca_dir, file,
		    gnutls_strerror(r));
		goto out;
	}
	*out = crl;
	crl = NULL;
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	free(d.data);
	return rc;
}

static enum sc_err
crl_next_update(gnutls_x509_crl_t crl, const char *ca_dir,
    enum pki_ca_role role, time_t *next, struct sc_error *err)
{
	if ((*next = gnutls_x509_crl_get_next_update(crl)) == (time_t)-1) {
		*next = 0;
		return sc_error_set(err, SC_INVALID, "%s/%s has no nextUpdate",
		    ca_dir, pki_ca_crl_file(role));
	}
	return SC_OK;
}

enum sc_err
pki_crl_next_update(const char *ca_dir, enum pki_ca_role role, time_t *next,
    struct sc_error *err)
{
	gnutls_x509_crl_t crl = NULL;
	enum sc_err rc;

	*next = 0;
	if ((rc = crl_read(ca_dir, role, &crl, err)) == SC_OK)
		rc = crl_next_update(crl, ca_dir, role, next, err);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	return rc;
}

/* Every serial the CRL lists, sorted; *listed is malloc'd. */
static enum sc_err
crl_serials(gnutls_x509_crl_t crl, struct serial **listed, size_t *n,
    struct sc_error *err)
{
	gnutls_x509_crl_iter_t iter = NULL;
	unsigned char raw[64];
	struct serial *list = NULL;
	size_t len, count = 0, max;
	time_t when;
	enum sc_err rc = SC_OK;
	int r;

	*listed = NULL;
	*n = 0;
	if ((r = gnutls_x509_crl_get_crt_count(crl)) < 0)
		return pki_tls_error(err, SC_INVALID, "count CRL entries", r);
	max = (size_t)r;
	/* One spare: calloc(0) may return NULL, which is no error here. */
	if ((list = calloc(max + 1, sizeof(*list))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	/* The iterator, not get_crt_serial(i): that walks from the start. */
	while (count < max) {
		len = sizeof(raw);
		if ((r = gnutls_x509_crl_iter_crt_serial(crl, &iter, raw, &len,
		    &when)) == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0) {
			rc = pki_tls_error(err, SC_INVALID, "read a CRL entry",
			    r);
			goto out;
		}
		/* Longer than RFC 5280 allows: it cannot be one of ours. */
		if (len == 0 || len > SERIAL_MAX + 1 ||
		    (len == SERIAL_MAX + 1 && raw[0] != 0))
			continue;
		list[count].len = len > SERIAL_MAX ? SERIAL_MAX : len;
		memcpy(list[count].b, raw + len - list[count].len,
		    list[count].len);
		serial_trim(&list[count]);
		count++;
	}
	qsort(list, count, sizeof(*list), serial_cmp);
	*listed = list;
	*n = count;
	list = NULL;
out:
	gnutls_x509_crl_iter_deinit(iter);
	free(list);
	return rc;
}

enum sc_err
pki_crl_check(const struct pki_ca *ca, const char *ca_dir,
    const struct pki_revoked *want, size_t n, bool *covers, time_t *next,
    struct sc_error *err)
{
	const char *file = pki_ca_crl_file(ca->role);
	gnutls_x509_crl_t crl = NULL;
	struct serial *listed = NULL, s;
	unsigned int status = 0;
	size_t i, nlisted = 0;
	enum sc_err rc;

	*covers = false;
	*next = 0;
	if ((rc = crl_read(ca_dir, ca->role, &crl, err)) != SC_OK ||
	    (rc = crl_next_update(crl, ca_dir, ca->role, next, err)) != SC_OK)
		goto out;
	if (gnutls_x509_crl_verify(crl, &ca->crt, 1, 0, &status) < 0 ||
	    status != 0) {
		rc = sc_error_set(err, SC_INVALID, "%s/%s is not signed by the "
		    "%s CA", ca_dir, file, pki_ca_role_name(ca->role));
		goto out;
	}
	if ((rc = crl_serials(crl, &listed, &nlisted, err)) != SC_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = serial_from_hex(want[i].serial_hex, &s, err)) !=
		    SC_OK)
			goto out;
		if (nlisted == 0 || bsearch(&s, listed, nlisted,
		    sizeof(*listed), serial_cmp) == NULL)
			goto out;
	}
	*covers = true;
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	free(listed);
	return rc;
}
