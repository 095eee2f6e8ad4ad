#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "conf.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "http/request.h"

static enum sc_err
forbidden(struct sc_error *err)
{
	return sc_error_set(err, SC_FORBIDDEN, "operator certificate required");
}

bool
auth_is_loopback(const char *addr)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return false;
	if (memcmp(a, v4mapped, 12) == 0)
		return a[12] == 127 && a[13] == 0 && a[14] == 0 && a[15] == 1;
	return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
}

static enum sc_err
certificate_operator(struct handler_ctx *ctx, const struct http_request *req,
    struct auth_actor *actor, struct sc_error *err)
{
	struct sc_error perr = { SC_OK, "" };
	struct pki_peer peer;
	bool known = false, revoked = true;
	enum sc_err rc;

	if (ctx->ca == NULL &&
	    (rc = pki_ca_load(ctx->cfg->ca_dir, &ctx->ca, err)) != SC_OK)
		return rc;
	/* A certificate that does not parse is no operator's. */
	if (pki_peer_parse(ctx->ca, req->client_cert, req->client_cert_len,
	    &peer, &perr) != SC_OK)
		return forbidden(err);
	/* Named even when refused, so the audit trail says who tried. */
	snprintf(actor->name, sizeof(actor->name), "%s", peer.cn);
	memcpy(actor->fingerprint, peer.fingerprint, sizeof(actor->fingerprint));
	/* Defence in depth: nginx said SUCCESS, check the CA ourselves. */
	if (!peer.issued_by_ca || strcmp(peer.ou, AUTH_OPERATOR_OU) != 0)
		return forbidden(err);
	if ((rc = db_cert_status(ctx->db, peer.fingerprint, &known, &revoked,
	    err)) != SC_OK)
		return rc;
	if (!known || revoked)
		return forbidden(err);
	return SC_OK;
}

enum sc_err
auth_operator(struct handler_ctx *ctx, const struct http_request *req,
    struct auth_actor *actor, struct sc_error *err)
{
	memset(actor, 0, sizeof(*actor));
	if (req->client_verified && req->client_cert != NULL)
		return certificate_operator(ctx, req, actor, err);
	/*
	 * A single-host master may let local tools in without a certificate,
	 * but only when asked to, and only for requests that did not come
	 * through the TLS front end (which anyone may reach).
	 */
	if (ctx->cfg->allow_loopback_operator && !req->tls &&
	    auth_is_loopback(req->remote_addr)) {
		actor->loopback = true;
		strcpy(actor->name, "loopback");
		return SC_OK;
	}
	return forbidden(err);
}
