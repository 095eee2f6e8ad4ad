/*
 * The front end's client trust: nginx has one ssl_client_certificate and
 * one ssl_crl per server, and the API's routes take certificates of two
 * CAs (operators: the front-end CA; workers, on /swarm/renew and
 * /swarm/heartbeat: the worker CA).  So swarmctl keeps a concatenation
 * of each kind in CA_DIR for nginx to read; the responder still decides
 * which CA a route takes (auth.c, worker_auth.c).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>

#include "fileio.h"
#include "pki/internal.h"
#include "pki/pki.h"

/* The front-end CA first: its certificates are the common case. */
static const enum pki_ca_role order[PKI_NCA_ROLES] = {
	PKI_CA_FRONT, PKI_CA_WORKER
};

/*
 * Concatenate the files names[] (each ending in a newline once joined)
 * into CA_DIR/out.  A missing file is skipped when missing_ok; the
 * result must not be empty.
 */
static enum sc_err
concatenate(const char *ca_dir, const char *const names[PKI_NCA_ROLES],
    bool missing_ok, size_t max, const char *out, struct sc_error *err)
{
	gnutls_datum_t part[PKI_NCA_ROLES];
	char *buf = NULL;
	size_t len = 0, i;
	enum sc_err rc;

	memset(part, 0, sizeof(part));
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		rc = pki_read_file_max(ca_dir, names[i], missing_ok, max,
		    &part[i], NULL, err);
		if (rc == SC_NOT_FOUND) {
			sc_error_clear(err);
			continue;
		}
		if (rc != SC_OK)
			goto out;
		len += part[i].size + 1;
	}
	if (len == 0) {
		rc = sc_error_set(err, SC_NOT_FOUND, "%s: nothing to write yet",
		    out);
		goto out;
	}
	if ((buf = malloc(len)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	len = 0;
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		if (part[i].data == NULL)
			continue;
		memcpy(buf + len, part[i].data, part[i].size);
		len += part[i].size;
		/* PEM blocks must start on a line of their own. */
		if (part[i].data[part[i].size - 1] != '\n')
			buf[len++] = '\n';
	}
	rc = fileio_write_atomic(ca_dir, out, buf, len, 0644, true, err);
out:
	for (i = 0; i < PKI_NCA_ROLES; i++)
		free(part[i].data);
	free(buf);
	return rc;
}

enum sc_err
pki_client_cas_write(const char *ca_dir, struct sc_error *err)
{
	const char *names[PKI_NCA_ROLES];
	size_t i;

	for (i = 0; i < PKI_NCA_ROLES; i++)
		names[i] = pki_ca_cert_file(order[i]);
	return concatenate(ca_dir, names, false, PKI_CRL_FILE_MAX,
	    PKI_CLIENT_CAS_FILE, err);
}

enum sc_err
pki_client_crls_write(const char *ca_dir, struct sc_error *err)
{
	const char *names[PKI_NCA_ROLES];
	size_t i;

	for (i = 0; i < PKI_NCA_ROLES; i++)
		names[i] = pki_ca_crl_file(order[i]);
	return concatenate(ca_dir, names, true, PKI_CRL_FILE_MAX,
	    PKI_CLIENT_CRLS_FILE, err);
}

/* stat CA_DIR/name; -1 if it is not there. */
static int
stat_in(const char *ca_dir, const char *name, struct stat *st)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ca_dir, name) >=
	    sizeof(path))
		return -1;
	return stat(path, st);
}

/* Is a newer than b (modification times, nanoseconds)? */
static bool
newer(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec != b->st_mtim.tv_sec ?
	    a->st_mtim.tv_sec > b->st_mtim.tv_sec :
	    a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

bool
pki_client_cas_missing(const char *ca_dir)
{
	struct stat st;

	return stat_in(ca_dir, PKI_CLIENT_CAS_FILE, &st) == -1;
}

/*
 * A CRL is renamed into place after it is written: a combined file
 * written before that rename has an older time, and is written again.
 */
bool
pki_client_crls_stale(const char *ca_dir)
{
	struct stat combined, crl;
	size_t i;

	if (stat_in(ca_dir, PKI_CLIENT_CRLS_FILE, &combined) == -1)
		return true;
	for (i = 0; i < PKI_NCA_ROLES; i++)
		if (stat_in(ca_dir, pki_ca_crl_file(order[i]), &crl) == 0 &&
		    !newer(&combined, &crl))
			return true;
	return false;
}
