/*
 * The worker's side of its keys (swarmctl agent): a key made on the
 * worker, the CSR that proves possession of it (RFC 2986), and the checks
 * the agent makes on what the controller sends back -- exactly one
 * certificate, its fingerprint, its expiry, and whether it is for our
 * key.  Nothing here prints; keys travel as PEM text the caller wipes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* Lowercase hex SHA-256 of a SubjectPublicKeyInfo (RFC 7093 key id). */
#define KEY_ID_FLAGS	GNUTLS_KEYID_USE_SHA256

enum sc_err
pki_key_generate_pem(enum pki_key_type type, char **pem, size_t *len,
    struct sc_error *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;

	*pem = NULL;
	*len = 0;
	if ((rc = pki_generate_key(type, &key, err)) != SC_OK ||
	    (rc = pki_key_export_pem(key, &d, err)) != SC_OK)
		goto out;
	if ((*pem = pki_datum_strdup(&d)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	*len = d.size;
out:
	pki_datum_wipe(&d);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

void
pki_secret_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	gnutls_memset(buf, 0, len);
	free(buf);
}

static enum sc_err
key_import(const char *pem, size_t len, gnutls_x509_privkey_t *key,
    struct sc_error *err)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
	    (unsigned int)len };
	int r;

	*key = NULL;
	if (len == 0 || len > PKI_KEY_PEM_MAX)
		return sc_error_set(err, SC_INVALID, "key of %zu bytes", len);
	if ((r = gnutls_x509_privkey_init(key)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "key init", r);
	if ((r = gnutls_x509_privkey_import(*key, &d,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		return pki_tls_error(err, SC_INVALID, "key", r);
	}
	return SC_OK;
}

enum sc_err
pki_key_id(const char *key_pem, size_t len,
    char out[PKI_FINGERPRINT_LEN + 1], struct sc_error *err)
{
	gnutls_x509_privkey_t key = NULL;
	unsigned char id[PKI_FINGERPRINT_LEN / 2];
	size_t idlen = sizeof(id);
	enum sc_err rc;
	int r;

	if ((rc = key_import(key_pem, len, &key, err)) != SC_OK)
		return rc;
	if ((r = gnutls_x509_privkey_get_key_id(key, KEY_ID_FLAGS, id,
	    &idlen)) < 0 || idlen != sizeof(id))
		rc = pki_tls_error(err, SC_INTERNAL, "key id", r);
	else
		pki_hex(id, idlen, out);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

/*
 * The controller takes nothing but the public key from a CSR
 * (pki_csr_parse), so the subject is only a label for humans reading
 * the request in transit; the signature is the proof of possession.
 */
enum sc_err
pki_csr_make(const char *key_pem, size_t len, const char *cn, char **csr_pem,
    struct sc_error *err)
{
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;
	int r;

	*csr_pem = NULL;
	if ((rc = key_import(key_pem, len, &xkey, err)) != SC_OK)
		goto out;
	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_x509(key, xkey, 0)) < 0 ||
	    (r = gnutls_x509_crq_init(&crq)) < 0 ||
	    (r = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (r = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME,
	    0, cn, (unsigned int)strlen(cn))) < 0 ||
	    (r = gnutls_x509_crq_set_key(crq, xkey)) < 0 ||
	    (r = gnutls_x509_crq_privkey_sign(crq, key,
	    pki_sign_digest(key), 0)) < 0 ||
	    (r = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &d)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "certificate request", r);
		goto out;
	}
	if ((*csr_pem = pki_datum_strdup(&d)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}

out:
	gnutls_free(d.data);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (key != NULL)
		gnutls_privkey_deinit(key);	/* does not own xkey */
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return rc;
}

/*
 * Exactly one certificate: a peer that sends a bundle where one anchor
 * is expected must not slip a second one into the trust store.
 */
enum sc_err
pki_cert_inspect(const char *pem, size_t len, struct pki_cert_info *info,
    char **canonical_pem, struct sc_error *err)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
	    (unsigned int)len }, out = { NULL, 0 };
	gnutls_x509_crt_t *list = NULL;
	unsigned int n = 0, i;
	unsigned char id[PKI_FINGERPRINT_LEN / 2];
	size_t idlen = sizeof(id);
	enum sc_err rc = SC_OK;
	int r;

	if (canonical_pem != NULL)
		*canonical_pem = NULL;
	if (len == 0 || len > PKI_CERT_PEM_MAX)
		return sc_error_set(err, SC_INVALID, "certificate of %zu bytes",
		    len);
	if ((r = gnutls_x509_crt_list_import2(&list, &n, &d,
	    GNUTLS_X509_FMT_PEM, 0)) < 0)
		return pki_tls_error(err, SC_INVALID, "certificate", r);
	if (n != 1) {
		rc = sc_error_set(err, SC_INVALID, "%u certificates where one "
		    "was expected", n);
		goto out;
	}
	if ((rc = pki_fingerprint_hex(list[0], info->fingerprint, err)) !=
	    SC_OK)
		goto out;
	info->not_after = gnutls_x509_crt_get_expiration_time(list[0]);
	if ((r = gnutls_x509_crt_get_key_id(list[0], KEY_ID_FLAGS, id,
	    &idlen)) < 0 || idlen != sizeof(id)) {
		rc = pki_tls_error(err, SC_INVALID, "certificate key id", r);
		goto out;
	}
	pki_hex(id, idlen, info->key_id);
	if (canonical_pem == NULL)
		goto out;
	if ((r = gnutls_x509_crt_export2(list[0], GNUTLS_X509_FMT_PEM,
	    &out)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "export certificate", r);
		goto out;
	}
	if ((*canonical_pem = pki_datum_strdup(&out)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}

out:
	gnutls_free(out.data);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return rc;
}

enum sc_err
pki_file_read(const char *dir, const char *name, bool missing_ok,
    size_t max, char **buf, size_t *len, struct sc_error *err)
{
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;

	*buf = NULL;
	*len = 0;
	if ((rc = pki_read_file_max(dir, name, missing_ok, max, &d, NULL,
	    err)) != SC_OK)
		return rc;
	*buf = (char *)d.data;	/* malloc'd and NUL-terminated */
	*len = d.size;
	return SC_OK;
}
