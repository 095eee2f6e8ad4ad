#include "config.h"

/*
 * PKCS#12 (RFC 7292) for operators: certificate, key and the CA
 * certificate in one file a browser or a keychain imports.  The layout is
 * what browsers and `openssl pkcs12` write: one encrypted SafeContents
 * with the certificates, one PKCS#8 shrouded key bag, the key and its
 * certificate tied together by the same localKeyId (RFC 7292 4.2, PKCS#9
 * attribute), and a MAC over the whole.
 */

#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"

/*
 * PBES2 with AES-256 (RFC 8018 6.2) for the bags, HMAC-SHA-256 for the
 * MAC; the legacy RC2/3DES PKCS#12 schemes are what nobody should accept.
 */
#define P12_CIPHER	GNUTLS_PKCS_PBES2_AES_256
#define P12_MAC		GNUTLS_MAC_SHA256
#define CA_FRIENDLY	"DECNET SWARM Root CA"

static enum sc_err
import_issued(const struct pki_issued *iss, gnutls_x509_crt_t *crt,
    gnutls_x509_privkey_t *key, struct sc_error *err)
{
	gnutls_datum_t d;
	int r;

	d.data = (unsigned char *)iss->cert_pem;
	d.size = iss->cert_pem != NULL ? (unsigned int)strlen(iss->cert_pem) :
	    0;
	if ((r = gnutls_x509_crt_init(crt)) < 0 ||
	    (r = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: certificate",
		    r);
	d.data = (unsigned char *)iss->key_pem;
	d.size = (unsigned int)iss->key_pem_len;
	if ((r = gnutls_x509_privkey_init(key)) < 0 ||
	    (r = gnutls_x509_privkey_import(*key, &d,
	    GNUTLS_X509_FMT_PEM)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: key", r);
	return SC_OK;
}

/* Add a certificate to the bag; *index gets its place in the bag. */
static enum sc_err
bag_add_crt(gnutls_pkcs12_bag_t bag, gnutls_x509_crt_t crt,
    const char *friendly, const gnutls_datum_t *key_id, struct sc_error *err)
{
	int idx, r;

	if ((idx = gnutls_pkcs12_bag_set_crt(bag, crt)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: add "
		    "certificate", idx);
	if ((r = gnutls_pkcs12_bag_set_friendly_name(bag, (unsigned)idx,
	    friendly)) < 0 ||
	    (key_id != NULL && (r = gnutls_pkcs12_bag_set_key_id(bag,
	    (unsigned)idx, key_id)) < 0))
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: certificate "
		    "attributes", r);
	return SC_OK;
}

static enum sc_err
cert_bag(const struct pki_ca *ca, gnutls_x509_crt_t crt, const char *name,
    const gnutls_datum_t *key_id, const char *password,
    gnutls_pkcs12_bag_t *bag, struct sc_error *err)
{
	enum sc_err rc;
	int r;

	if ((r = gnutls_pkcs12_bag_init(bag)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: bag", r);
	if ((rc = bag_add_crt(*bag, crt, name, key_id, err)) != SC_OK ||
	    (rc = bag_add_crt(*bag, ca->crt, CA_FRIENDLY, NULL, err)) != SC_OK)
		return rc;
	if ((r = gnutls_pkcs12_bag_encrypt(*bag, password, P12_CIPHER)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "PKCS#12: encrypt "
		    "certificates", r);
	return SC_OK;
}

static enum sc_err
key_bag(gnutls_x509_privkey_t key, const char *name,
    const gnutls_datum_t *key_id, const char *password,
    gnutls_pkcs12_bag_t *bag, struct sc_error *err)
{
	gnutls_datum_t shrouded = { NULL, 0 };
	enum sc_err rc = SC_OK;
	int idx, r;

	if ((r = gnutls_pkcs12_bag_init(bag)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12: bag", r);
		goto out;
	}
	/* RFC 7292 4.2.2: pkcs8ShroudedKeyBag, i.e. encrypted PKCS#8. */
	if ((r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_DER,
	    password, P12_CIPHER, &shrouded)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12: encrypt key", r);
		goto out;
	}
	if ((idx = gnutls_pkcs12_bag_set_data(*bag,
	    GNUTLS_BAG_PKCS8_ENCRYPTED_KEY, &shrouded)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12: add key", idx);
		goto out;
	}
	if ((r = gnutls_pkcs12_bag_set_friendly_name(*bag, (unsigned)idx,
	    name)) < 0 ||
	    (r = gnutls_pkcs12_bag_set_key_id(*bag, (unsigned)idx,
	    key_id)) < 0)
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12: key attributes",
		    r);
out:
	if (shrouded.data != NULL) {
		gnutls_memset(shrouded.data, 0, shrouded.size);
		gnutls_free(shrouded.data);
	}
	return rc;
}

/* The DER, MAC'd, copied into a malloc'd buffer. */
static enum sc_err
assemble(gnutls_pkcs12_bag_t certs, gnutls_pkcs12_bag_t keys,
    const char *password, unsigned char **der, size_t *len,
    struct sc_error *err)
{
	gnutls_pkcs12_t p12 = NULL;
	gnutls_datum_t out = { NULL, 0 };
	enum sc_err rc = SC_OK;
	int r;

	if ((r = gnutls_pkcs12_init(&p12)) < 0 ||
	    (r = gnutls_pkcs12_set_bag(p12, certs)) < 0 ||
	    (r = gnutls_pkcs12_set_bag(p12, keys)) < 0 ||
	    (r = gnutls_pkcs12_generate_mac2(p12, P12_MAC, password)) < 0 ||
	    (r = gnutls_pkcs12_export2(p12, GNUTLS_X509_FMT_DER, &out)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12", r);
		goto out;
	}
	if ((*der = (unsigned char *)pki_datum_strdup(&out)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	*len = out.size;
out:
	if (out.data != NULL) {
		gnutls_memset(out.data, 0, out.size);
		gnutls_free(out.data);
	}
	if (p12 != NULL)
		gnutls_pkcs12_deinit(p12);
	return rc;
}

enum sc_err
pki_pkcs12_export(const struct pki_ca *ca, const struct pki_issued *iss,
    const char *name, const char *password, unsigned char **der,
    size_t *len, struct sc_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_pkcs12_bag_t certs = NULL, keys = NULL;
	unsigned char id[PKI_KEY_ID_MAX];
	size_t idlen = sizeof(id);
	gnutls_datum_t key_id;
	enum sc_err rc;
	int r;

	*der = NULL;
	*len = 0;
	if (name == NULL || password == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "PKCS#12: no name or "
		    "password");
		goto out;
	}
	/* Operators' files: the chain a browser needs is the front end's. */
	if (ca->role != PKI_CA_FRONT) {
		rc = sc_error_set(err, SC_INTERNAL, "PKCS#12: operator files "
		    "carry the front-end CA, not the %s CA",
		    pki_ca_role_name(ca->role));
		goto out;
	}
	if ((rc = import_issued(iss, &crt, &key, err)) != SC_OK)
		goto out;
	/* localKeyId: SHA-1 of the public key, as OpenSSL and NSS use. */
	if ((r = gnutls_x509_crt_get_key_id(crt, 0, id, &idlen)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "PKCS#12: key id", r);
		goto out;
	}
	key_id.data = id;
	key_id.size = (unsigned int)idlen;
	if ((rc = cert_bag(ca, crt, name, &key_id, password, &certs,
	    err)) != SC_OK ||
	    (rc = key_bag(key, name, &key_id, password, &keys, err)) != SC_OK)
		goto out;
	rc = assemble(certs, keys, password, der, len, err);
out:
	if (certs != NULL)
		gnutls_pkcs12_bag_deinit(certs);
	if (keys != NULL)
		gnutls_pkcs12_bag_deinit(keys);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}
