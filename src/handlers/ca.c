/*
 * The public trust material: the CA certificate workers and clients
 * anchor on, and the CRL that says which of its certificates no longer
 * count.  Both are public by nature (RFC 5280 4.2.1.13).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "handlers/handlers.h"
#include "http/response.h"
#include "pki/pki.h"

#define PEM_TYPE	"application/x-pem-file"
#define CRL_MAX		(8 * 1024 * 1024)

enum sc_err
handler_require_ca(struct handler_ctx *ctx, enum pki_ca_role role,
    struct sc_error *err)
{
	struct pki_ca **slot = role == PKI_CA_WORKER ? &ctx->ca :
	    &ctx->front_ca;
	enum sc_err rc;

	if (*slot != NULL)
		return SC_OK;
	/* Only the worker CA signs in a worker (enrollment, renewal). */
	if ((rc = role == PKI_CA_WORKER ?
	    pki_ca_load(ctx->cfg->ca_dir, role, slot, err) :
	    pki_ca_load_cert(ctx->cfg->ca_dir, role, slot, err)) != SC_OK)
		sc_error_prefix(err, role == PKI_CA_WORKER ?
		    "loading the worker CA" : "loading the front-end CA");
	return rc;
}

static enum sc_err
ca_pem(struct handler_ctx *ctx, enum pki_ca_role role,
    struct http_response *resp, struct sc_error *err)
{
	const char *pem;
	enum sc_err rc;

	if ((rc = handler_require_ca(ctx, role, err)) != SC_OK)
		return rc;
	pem = pki_ca_cert_pem(role == PKI_CA_WORKER ? ctx->ca : ctx->front_ca);
	if (http_response_blob(resp, 200, PEM_TYPE, pem, strlen(pem)) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

enum sc_err
handle_ca_pem(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	(void)req;
	(void)in;
	return ca_pem(ctx, PKI_CA_WORKER, resp, err);
}

/*
 * The front-end CA: the trust anchor for TLS to the controller (nginx's
 * server certificate is its), so a worker can check what it downloaded
 * against the fingerprint a bootstrap token came with.
 */
enum sc_err
handle_front_ca_pem(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	(void)req;
	(void)in;
	return ca_pem(ctx, PKI_CA_FRONT, resp, err);
}

/* The CRL file is replaced by rename: one open sees one whole version. */
enum sc_err
handle_crl_pem(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	char path[4096], *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = -1;
	enum sc_err rc = SC_OK;

	(void)req;
	(void)in;
	if ((size_t)snprintf(path, sizeof(path), "%s/crl.pem",
	    ctx->cfg->ca_dir) >= sizeof(path))
		return sc_error_set(err, SC_INTERNAL, "CA path too long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CRL_MAX) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s: not a CRL file",
		    path);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)st.st_size) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "read %s: short read",
		    path);
		goto out;
	}
	if (http_response_blob(resp, 200, PEM_TYPE, buf, got) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}
