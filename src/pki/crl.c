#include "config.h"

/*
 * The certificate revocation lists (RFC 5280 section 5), one per CA,
 * signed by it and published as CA_DIR/crl.pem (worker CA: GET
 * /swarm/crl.pem serves it) and CA_DIR/front-crl.pem (front CA: what
 * nginx's ssl_crl reads to refuse revoked operators).  Which certificates are revoked, and the CRL
 * number, come from the database (src/crl.c puts the two together).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "fileio.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* Verifiers with a clock a little behind ours must not see a future CRL. */
#define BACKDATE_SECS		(5L * 60)
/* A CRL promising nothing for over a year is a configuration mistake. */
#define NEXT_UPDATE_MAX		(366L * 24 * 60 * 60)
/* RFC 5280 4.1.2.2: a serial is at most 20 octets. */
#define SERIAL_MAX		20

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0a1b..." -> bytes; an odd number of digits gets a leading zero. */
static enum sc_err
serial_from_hex(const char *hex, unsigned char out[SERIAL_MAX], size_t *len,
    struct sc_error *err)
{
	size_t digits, i, j;
	int hi, lo;

	digits = strlen(hex);
	if (digits == 0 || digits > 2 * SERIAL_MAX)
		return sc_error_set(err, SC_INVALID, "serial \"%s\": want 1 to "
		    "%d hex digits", hex, 2 * SERIAL_MAX);
	*len = (digits + 1) / 2;
	for (i = 0, j = 0; j < *len; j++) {
		hi = (digits % 2 == 1 && j == 0) ? 0 : hex_value(hex[i++]);
		lo = hex_value(hex[i++]);
		if (hi < 0 || lo < 0)
			return sc_error_set(err, SC_INVALID, "serial \"%s\" is "
			    "not hexadecimal", hex);
		out[j] = (unsigned char)(hi << 4 | lo);
	}
	return SC_OK;
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

static enum sc_err
add_entries(gnutls_x509_crl_t crl, const struct pki_revoked *revoked,
    size_t n, struct sc_error *err)
{
	unsigned char serial[SERIAL_MAX];
	size_t i, len = 0;
	enum sc_err rc;
	int r;

	for (i = 0; i < n; i++) {
		if ((rc = serial_from_hex(revoked[i].serial_hex, serial, &len,
		    err)) != SC_OK)
			return rc;
		if ((r = gnutls_x509_crl_set_crt_serial(crl, serial, len,
		    revoked[i].revoked_at)) < 0)
			return pki_tls_error(err, SC_INTERNAL,
			    "add a CRL entry", r);
	}
	return SC_OK;
}

/* Build and sign the CRL; *pem is a GnuTLS allocation. */
static enum sc_err
crl_sign(const struct pki_ca *ca, const struct pki_revoked *revoked,
    size_t n, uint64_t number, long next_update_secs, gnutls_datum_t *pem,
    struct sc_error *err)
{
	gnutls_x509_crl_t crl = NULL;
	unsigned char num[9];
	size_t numlen;
	time_t now;
	enum sc_err rc = SC_OK;
	int r;

	now = time(NULL);
	numlen = crl_number_bytes(number, num);
	if ((r = gnutls_x509_crl_init(&crl)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "gnutls_x509_crl_init", r);
		goto out;
	}
	/* Version 2: needed for the extensions (RFC 5280 5.1.2.1). */
	if ((r = gnutls_x509_crl_set_version(crl, 2)) < 0 ||
	    (r = gnutls_x509_crl_set_this_update(crl,
	    now - BACKDATE_SECS)) < 0 ||
	    (r = gnutls_x509_crl_set_next_update(crl,
	    now + next_update_secs)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "set CRL validity", r);
		goto out;
	}
	if ((rc = add_entries(crl, revoked, n, err)) != SC_OK)
		goto out;
	/* RFC 5280 5.2.1 and 5.2.3: both MUST be present (conforming CAs). */
	if ((r = gnutls_x509_crl_set_authority_key_id(crl, ca->key_id,
	    ca->key_id_len)) < 0 ||
	    (r = gnutls_x509_crl_set_number(crl, num, numlen)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "set CRL extensions", r);
		goto out;
	}
	if ((r = gnutls_x509_crl_privkey_sign(crl, ca->crt, ca->key,
	    pki_sign_digest(ca->key), 0)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "sign the CRL", r);
		goto out;
	}
	if ((r = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, pem)) < 0)
		rc = pki_tls_error(err, SC_INTERNAL, "export the CRL", r);
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	return rc;
}

enum sc_err
pki_crl_write(const struct pki_ca *ca, const char *ca_dir,
    const struct pki_revoked *revoked, size_t n, uint64_t number,
    long next_update_secs, struct sc_error *err)
{
	gnutls_datum_t pem = { NULL, 0 };
	enum sc_err rc;

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
	if ((rc = crl_sign(ca, revoked, n, number, next_update_secs, &pem,
	    err)) != SC_OK)
		goto out;
	/* Public: nginx, and whoever fetches GET /swarm/crl.pem, read it. */
	rc = fileio_write_atomic(ca_dir, pki_ca_crl_file(ca->role), pem.data,
	    pem.size, 0644, true, err);
out:
	gnutls_free(pem.data);
	return rc;
}

enum sc_err
pki_crl_next_update(const char *ca_dir, enum pki_ca_role role, time_t *next,
    struct sc_error *err)
{
	const char *file = pki_ca_crl_file(role);
	gnutls_x509_crl_t crl = NULL;
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;
	int r;

	*next = 0;
	if ((rc = pki_read_file(ca_dir, file, true, &d, NULL, err)) != SC_OK)
		goto out;
	if ((r = gnutls_x509_crl_init(&crl)) < 0 ||
	    (r = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		rc = sc_error_set(err, SC_INVALID, "%s/%s: %s", ca_dir, file,
		    gnutls_strerror(r));
		goto out;
	}
	if ((*next = gnutls_x509_crl_get_next_update(crl)) == (time_t)-1) {
		*next = 0;
		rc = sc_error_set(err, SC_INVALID, "%s/%s has no nextUpdate",
		    ca_dir, file);
	}
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	free(d.data);
	return rc;
}
