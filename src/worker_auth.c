#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "http/request.h"
#include "pki/pki.h"
#include "worker_auth.h"

#define WORKER_OU	"swarm-worker"

static void
refuse(struct worker_identity *id, const char *why)
{
	id->result = WORKER_REFUSED;
	snprintf(id->why, sizeof(id->why), "%s", why);
}

/*
 * The front end sent the PEM: check it against the worker CA ourselves
 * (defence in depth) and look it up by fingerprint.
 */
static enum sc_err
by_certificate(struct handler_ctx *ctx, const struct http_request *req,
    struct worker_identity *id, struct sc_error *err)
{
	struct sc_error perr = { SC_OK, "" };
	struct pki_peer peer;

	if (pki_peer_parse(ctx->ca, req->client_cert, req->client_cert_len,
	    &peer, &perr) != SC_OK || !peer.issued_by_ca ||
	    strcmp(peer.ou, WORKER_OU) != 0) {
		refuse(id, "not a worker CA certificate");
		return SC_OK;
	}
	return db_worker_lookup(ctx->db, NULL, peer.fingerprint, &id->ref,
	    err);
}

/*
 * The front end passed only the serial and issuer (the shipped nginx
 * block): the issuer must be the worker CA, and (issuer, serial) names
 * one certificate it issued (serials are random, never reused).
 */
static enum sc_err
by_serial(struct handler_ctx *ctx, const struct http_request *req,
    struct worker_identity *id, struct sc_error *err)
{
	if (strcmp(req->client_issuer, pki_ca_subject(ctx->ca)) != 0) {
		refuse(id, "not a worker CA certificate");
		return SC_OK;
	}
	return db_worker_lookup(ctx->db, req->client_serial, NULL, &id->ref,
	    err);
}

enum sc_err
worker_auth(struct handler_ctx *ctx, const struct http_request *req,
    struct worker_identity *id, struct sc_error *err)
{
	const struct db_worker_ref *r = &id->ref;
	enum sc_err rc;

	memset(id, 0, sizeof(*id));
	id->result = WORKER_ANONYMOUS;
	if (!http_request_has_client_cert(req))
		return SC_OK;
	if ((rc = handler_require_ca(ctx, PKI_CA_WORKER, err)) != SC_OK)
		return rc;
	rc = req->client_cert != NULL ? by_certificate(ctx, req, id, err) :
	    by_serial(ctx, req, id, err);
	if (rc != SC_OK || id->result == WORKER_REFUSED)
		return rc;
	if (!r->found || strcmp(r->kind, "worker") != 0)
		refuse(id, "not a worker certificate");
	else if (!r->host_exists)
		refuse(id, "host decommissioned");
	else if (r->current && !r->revoked)
		id->result = WORKER_CURRENT;
	else if (r->revoked && strcmp(r->reason, "superseded") == 0 &&
	    r->successor_current)
		id->result = WORKER_SUPERSEDED;
	else
		refuse(id, r->revoked ? "certificate revoked" :
		    "not the host's current certificate");
	return SC_OK;
}
