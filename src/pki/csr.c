/*
 * Certificate signing requests (PKCS#10, RFC 2986) from workers that keep
 * their own keys.  A CSR is untrusted input: all we take from it is its
 * public key, and only after its self-signature verifies with that key
 * (proof of possession, RFC 2986 section 3) and the key meets the key
 * policy.  Its subject, attributes and requested extensions are never
 * read: the controller decides those (pki_issue_worker_for_key).
 *
 * Self-contained (GnuTLS and err.c only), so the fuzz harness can link
 * it without the CA code.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* RFC 7468 section 7: the label is "CERTIFICATE REQUEST"; some old
 * tools (Netscape, MSIE) wrote "NEW CERTIFICATE REQUEST". */
static const char *const pem_labels[] = {
	"CERTIFICATE REQUEST",
	"NEW CERTIFICATE REQUEST",
};

/* pki_tls_error, which lives with the CA code in pki.c. */
static enum sc_err
tls_error(struct sc_error *err, enum sc_err code, const char *what, int r)
{
	return sc_error_set(err, code, "%s: %s", what, gnutls_strerror(r));
}

/* Does s[0..len) start with `prefix`? */
static bool
starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/*
 * Exactly one PEM block of a CSR label, with nothing but white space
 * around it.  GnuTLS's PEM reader skips whatever precedes the first
 * BEGIN line and ignores what follows END: without this, any text with
 * a CSR somewhere inside would pass for one.
 */
static bool
pem_framed(const char *pem, size_t len)
{
	char begin[64], end[64];
	const char *p = pem, *last;
	size_t i, n = len;

	while (n > 0 && strchr(" \t\r\n", *p) != NULL) {
		p++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
		n--;
	for (i = 0; i < sizeof(pem_labels) / sizeof(pem_labels[0]); i++) {
		snprintf(begin, sizeof(begin), "-----BEGIN %s-----",
		    pem_labels[i]);
		snprintf(end, sizeof(end), "-----END %s-----", pem_labels[i]);
		/*
		 * Both markers whole and apart: "-----BEGIN X-----END X-----"
		 * shares its dashes, and would leave a negative length below.
		 */
		if (!starts_with(p, n, begin) ||
		    n < strlen(begin) + strlen(end))
			continue;
		last = p + n - strlen(end);
		if (memcmp(last, end, strlen(end)) != 0)
			continue;
		/* One block: no second "-----" line between the two. */
		return memmem(p + strlen(begin), (size_t)(last -
		    (p + strlen(begin))), "-----", 5) == NULL;
	}
	return false;
}

/*
 * The key policy: what a worker's own key must be for us to certify it.
 * The same families `--key-type` can generate, at their strengths or
 * above: RSA of 2048 to 16384 bits (NIST SP 800-57 part 1, table 2:
 * 2048 is the floor; the ceiling bounds the verifier's work), ECDSA on
 * P-256, P-384 or P-521, and Ed25519.  SC_INVALID naming the key if it
 * falls outside.
 */
static enum sc_err
check_key_policy(gnutls_pubkey_t key, char *desc, size_t size,
    struct sc_error *err)
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	unsigned int bits = 0;
	int pk, r;

	pk = gnutls_pubkey_get_pk_algorithm(key, &bits);
	switch (pk) {
	case GNUTLS_PK_RSA:
		if (bits < PKI_CSR_RSA_MIN_BITS || bits > PKI_CSR_RSA_MAX_BITS)
			return sc_error_set(err, SC_INVALID, "RSA key of %u "
			    "bits; the key policy wants %d to %d bits", bits,
			    PKI_CSR_RSA_MIN_BITS, PKI_CSR_RSA_MAX_BITS);
		snprintf(desc, size, "rsa-%u", bits);
		return SC_OK;
	case GNUTLS_PK_ECDSA:
		if ((r = gnutls_pubkey_export_ecc_raw2(key, &curve, NULL, NULL,
		    0)) < 0)
			return sc_error_set(err, SC_INVALID, "unreadable ECDSA "
			    "key: %s", gnutls_strerror(r));
		if (curve != GNUTLS_ECC_CURVE_SECP256R1 &&
		    curve != GNUTLS_ECC_CURVE_SECP384R1 &&
		    curve != GNUTLS_ECC_CURVE_SECP521R1)
			return sc_error_set(err, SC_INVALID, "ECDSA key on "
			    "curve %s; the key policy wants P-256, P-384 or "
			    "P-521", gnutls_ecc_curve_get_name(curve) != NULL ?
			    gnutls_ecc_curve_get_name(curve) : "(unknown)");
		snprintf(desc, size, "ecdsa-%s",
		    gnutls_ecc_curve_get_name(curve));
		return SC_OK;
	case GNUTLS_PK_EDDSA_ED25519:
		snprintf(desc, size, "ed25519");
		return SC_OK;
	default:
		return sc_error_set(err, SC_INVALID, "%s key; the key policy "
		    "wants RSA, ECDSA (P-256, P-384, P-521) or Ed25519",
		    pk > 0 && gnutls_pk_get_name((gnutls_pk_algorithm_t)pk) !=
		    NULL ? gnutls_pk_get_name((gnutls_pk_algorithm_t)pk) :
		    "unsupported");
	}
}

enum sc_err
pki_csr_parse(const char *pem, size_t len, struct pki_csr **out,
    struct sc_error *err)
{
	gnutls_x509_crq_t crq = NULL;
	struct pki_csr *csr = NULL;
	gnutls_datum_t d;
	enum sc_err rc;
	int r;

	*out = NULL;
	if (len == 0 || len > PKI_CSR_PEM_MAX || memchr(pem, '\0', len) !=
	    NULL || !pem_framed(pem, len)) {
		rc = sc_error_set(err, SC_INVALID, "not a PEM certificate "
		    "request (one \"-----BEGIN CERTIFICATE REQUEST-----\" block"
		    " of at most %d bytes)", PKI_CSR_PEM_MAX);
		goto out;
	}
	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = gnutls_x509_crq_init(&crq)) < 0 ||
	    (r = gnutls_pubkey_init(&csr->key)) < 0) {
		rc = tls_error(err, SC_INTERNAL, "CSR init", r);
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned int)len;
	if ((r = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		rc = tls_error(err, SC_INVALID, "malformed certificate "
		    "request", r);
		goto out;
	}
	if ((r = gnutls_pubkey_import_x509_crq(csr->key, crq, 0)) < 0) {
		rc = tls_error(err, SC_INVALID, "unsupported public key "
		    "in the certificate request", r);
		goto out;
	}
	/*
	 * The import copies the CSR's requested keyUsage into the key, and
	 * gnutls_x509_crt_set_pubkey would write it into our certificate:
	 * the profile decides key usage, not the requester.
	 */
	if ((r = gnutls_pubkey_set_key_usage(csr->key, 0)) < 0) {
		rc = tls_error(err, SC_INTERNAL, "clear key usage", r);
		goto out;
	}
	if ((rc = check_key_policy(csr->key, csr->key_desc,
	    sizeof(csr->key_desc), err)) != SC_OK)
		goto out;
	/* Proof of possession: signed by the key it asks us to certify. */
	if ((r = gnutls_x509_crq_verify(crq, 0)) < 0) {
		rc = tls_error(err, SC_INVALID, "the certificate request's "
		    "signature does not verify with its own key (no proof of "
		    "possession)", r);
		goto out;
	}
	*out = csr;
	csr = NULL;
	rc = SC_OK;
out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	pki_csr_free(csr);
	return rc;
}

const char *
pki_csr_key_desc(const struct pki_csr *csr)
{
	return csr->key_desc;
}

void
pki_csr_free(struct pki_csr *csr)
{
	if (csr == NULL)
		return;
	if (csr->key != NULL)
		gnutls_pubkey_deinit(csr->key);
	free(csr);
}

bool
pki_csr_key_matches(const struct pki_csr *csr, const char *cert_pem)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	bool same = false;

	if (csr == NULL || csr->key == NULL || cert_pem == NULL ||
	    gnutls_x509_crt_init(&crt) < 0)
		return false;
	d.data = (unsigned char *)(uintptr_t)cert_pem;
	d.size = (unsigned)strlen(cert_pem);
	/* SHA-256 over the SubjectPublicKeyInfo: equal keys, equal ids. */
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) >= 0 &&
	    gnutls_pubkey_get_key_id(csr->key, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) >= 0)
		same = alen == blen && memcmp(a, b, alen) == 0;
	gnutls_x509_crt_deinit(crt);
	return same;
}
