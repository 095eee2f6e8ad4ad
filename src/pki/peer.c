#include "config.h"

/*
 * The TLS client certificate nginx verified and passed on (FastCGI
 * parameter SSL_CLIENT_CERT), as the responder needs it for its own
 * decision: who (CN, OU), which certificate exactly (SHA-256
 * fingerprint: nginx's $ssl_client_fingerprint is SHA-1) and whether our
 * CA really issued it.  The last is checked here again rather than
 * trusted from SSL_CLIENT_VERIFY alone: a misconfigured front end (a
 * missing ssl_verify_client) must not turn into an open control plane.
 */

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* A certificate chain in PEM is a few KiB; anything this big is not one. */
#define PEER_PEM_MAX	(64 * 1024)

/*
 * The first value of the attribute `oid` in the subject ("" if none).
 * Bytes outside printable ASCII become '?': the result goes into logs
 * and the audit trail, and the names we issue are plain ASCII anyway.
 */
static enum sc_err
dn_value(gnutls_x509_crt_t crt, const char *oid, char *buf, size_t size,
    struct sc_error *err)
{
	size_t len = size, i;
	unsigned char c;
	int r;

	buf[0] = '\0';
	r = gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &len);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		buf[0] = '\0';
		return SC_OK;
	}
	if (r == GNUTLS_E_SHORT_MEMORY_BUFFER) {
		buf[0] = '\0';
		return sc_error_set(err, SC_INVALID, "client certificate: "
		    "subject attribute %s longer than %zu bytes", oid,
		    size - 1);
	}
	if (r < 0) {
		buf[0] = '\0';
		return pki_tls_error(err, SC_INVALID, "client certificate "
		    "subject", r);
	}
	if (len >= size)
		len = size - 1;
	buf[len] = '\0';
	for (i = 0; i < len; i++) {
		c = (unsigned char)buf[i];
		if (c < 0x20 || c > 0x7e)
			buf[i] = '?';
	}
	return SC_OK;
}

/*
 * Signed by our CA, inside its validity period (gnutls checks both), and
 * not a CA certificate itself: our own root presented as a client
 * certificate verifies against itself, but is nobody's identity.
 */
static bool
issued_by(const struct pki_ca *ca, gnutls_x509_crt_t crt)
{
	unsigned int status = 0, critical = 0;
	int r;

	if (gnutls_x509_crt_get_basic_constraints(crt, &critical, NULL,
	    NULL) > 0)
		return false;
	r = gnutls_x509_crt_verify(crt, &ca->crt, 1, 0, &status);
	return r == 0 && status == 0;
}

enum sc_err
pki_peer_parse(const struct pki_ca *ca, const char *pem, size_t len,
    struct pki_peer *peer, struct sc_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	enum sc_err rc = SC_OK;
	int r;

	memset(peer, 0, sizeof(*peer));
	if (pem == NULL || len == 0 || len > PEER_PEM_MAX) {
		rc = sc_error_set(err, SC_INVALID, "client certificate of %zu "
		    "bytes (want 1 to %d)", pem == NULL ? 0 : len,
		    PEER_PEM_MAX);
		goto out;
	}
	d.data = (unsigned char *)pem;
	d.size = (unsigned int)len;
	if ((r = gnutls_x509_crt_init(&crt)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "gnutls_x509_crt_init", r);
		goto out;
	}
	if ((r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		rc = pki_tls_error(err, SC_INVALID, "client certificate", r);
		goto out;
	}
	if ((rc = pki_fingerprint_hex(crt, peer->fingerprint, err)) != SC_OK ||
	    (rc = dn_value(crt, GNUTLS_OID_X520_COMMON_NAME, peer->cn,
	    sizeof(peer->cn), err)) != SC_OK ||
	    (rc = dn_value(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
	    peer->ou, sizeof(peer->ou), err)) != SC_OK)
		goto out;
	peer->issued_by_ca = issued_by(ca, crt);
out:
	if (rc != SC_OK)
		memset(peer, 0, sizeof(*peer));
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}
