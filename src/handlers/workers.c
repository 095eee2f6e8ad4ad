/*
 * Workers speaking for themselves, with their own certificates (mutual
 * TLS; worker_auth.h decides whose certificate it is):
 *
 * POST /swarm/renew: a new certificate for the key of the CSR sent,
 * with the profile the controller decides from the host's row (name,
 * address, the sans it was enrolled with) -- never from the CSR.  In one
 * transaction, under the host's row lock: the new certificate recorded,
 * the host pointed at it, the old one revoked (superseded) naming its
 * successor.  The bundle directory is rewritten under the name's lock
 * before COMMIT, as an enrollment writes it, and loses any old
 * worker.key (the worker holds its key now).  A worker whose answer was
 * lost asks again with the superseded certificate and a CSR for the same
 * key, and gets the same certificate; nothing else is allowed with a
 * superseded certificate.
 *
 * POST /swarm/heartbeat: last_heartbeat, agent_version, agent status.
 * Not audited per request (a fleet heartbeats all the time); refusals
 * are counted (handlers.h).  The commit does not wait for the disk
 * (db_heartbeat): a crash of PostgreSQL may lose the last moment of
 * heartbeats, which the next ones, 30 s later, restore.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "auth.h"
#include "conf.h"
#include "crl.h"
#include "db/db.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "http/request.h"
#include "http/response.h"
#include "log.h"
#include "orphans.h"
#include "pki/bundle.h"
#include "pki/pki.h"
#include "ready.h"
#include "validate.h"
#include "worker_auth.h"

#define WORKER_REQUIRED		"worker certificate required"
#define WORKER_REFUSED_DETAIL	"certificate is not the host's current " \
				"worker certificate"

/* 401 or 403 with a detail, or 503 when the database is not ready. */
static enum sc_err
respond(struct http_response *resp, int status, const char *detail,
    struct sc_error *err)
{
	if (http_response_detail(resp, status, detail) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

/* Public routes (nginx and worker_auth decide), so gated here. */
static bool
not_ready(struct http_response *resp, enum sc_err *rc, struct sc_error *err)
{
	const char *gate = NULL;

	if (ready_gate(&gate, err) == SC_OK)
		return false;
	sc_error_clear(err);
	*rc = respond(resp, 503, gate, err);
	return true;
}

/*
 * Who is asking, unless the answer is already given (*done): 503 while
 * the database is not ready (these routes are public to app.c's gate),
 * 401 without a verified certificate (counted under `action`).
 */
static enum sc_err
identify(struct handler_ctx *ctx, const struct http_request *req,
    const char *action, struct http_response *resp,
    struct worker_identity *id, bool *done, struct sc_error *err)
{
	enum sc_err rc;

	*done = true;
	if (not_ready(resp, &rc, err))
		return rc;
	if ((rc = worker_auth(ctx, req, id, err)) != SC_OK)
		return rc;
	if (id->result == WORKER_ANONYMOUS) {
		handler_audit_anonymous(ctx, req, action);
		return respond(resp, 401, WORKER_REQUIRED, err);
	}
	*done = false;
	return SC_OK;
}

/* The worker, named for the audit trail: "worker <host name>". */
static void
actor_for(const struct worker_identity *id, struct auth_actor *actor)
{
	memset(actor, 0, sizeof(*actor));
	snprintf(actor->name, sizeof(actor->name), "worker %s",
	    id->ref.host_name[0] != '\0' ? id->ref.host_name : "(unknown)");
	snprintf(actor->fingerprint, sizeof(actor->fingerprint), "%s",
	    id->ref.fingerprint);
}

/* RFC 3339 UTC, in the shape the database gives times. */
static void
format_time(time_t t, char out[DB_TIME_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, DB_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S.000000Z",
	    &tm) == 0)
		out[0] = '\0';
}

/* The 200 answer to a renewal (no key: the worker has it). */
static enum sc_err
render_renewed(struct http_response *resp, const char *uuid,
    const char *name, const char *fingerprint, const char *ca_pem,
    const char *cert_pem, const char *not_after, struct sc_error *err)
{
	struct json_object *o;
	int bad;

	if ((o = json_object_new_object()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	bad = json_object_object_add(o, "host_uuid",
	    json_object_new_string(uuid));
	bad |= json_object_object_add(o, "name", json_object_new_string(name));
	bad |= json_object_object_add(o, "fingerprint",
	    json_object_new_string(fingerprint));
	bad |= json_object_object_add(o, "ca_cert_pem",
	    json_object_new_string(ca_pem));
	bad |= json_object_object_add(o, "worker_cert_pem",
	    json_object_new_string(cert_pem));
	bad |= json_object_object_add(o, "cert_not_after",
	    handler_string_or_null(not_after[0] != '\0' ? not_after : NULL));
	if (bad || http_response_json(resp, 200, o) == -1) {
		json_object_put(o);
		return sc_error_set(err, SC_INTERNAL, "rendering renewal failed");
	}
	json_object_put(o);
	return SC_OK;
}

/*
 * The superseded certificate came back: its answer was lost.  The
 * successor is given again if it is still the host's and certifies the
 * key of this CSR -- read back from the host's bundle, which holds it.
 */
static enum sc_err
renew_again(struct handler_ctx *ctx, const struct worker_identity *id,
    const struct pki_csr *csr, struct http_response *resp, bool *given,
    struct sc_error *err)
{
	struct db_host h;
	char *pem;
	enum sc_err rc;

	*given = false;
	memset(&h, 0, sizeof(h));
	if ((pem = bundle_certificate(ctx->cfg->ca_dir, id->ref.host_name,
	    id->ref.successor)) == NULL || !pki_csr_key_matches(csr, pem)) {
		free(pem);
		return SC_OK;
	}
	if ((rc = db_host_get(ctx->db, id->ref.host_uuid, &h, err)) ==
	    SC_OK && h.client_cert_fingerprint != NULL &&
	    strcmp(h.client_cert_fingerprint, id->ref.successor) == 0) {
		rc = render_renewed(resp, h.uuid, h.name, id->ref.successor,
		    pki_ca_cert_pem(ctx->ca), pem, h.cert_not_after, err);
		*given = rc == SC_OK;
	} else if (rc == SC_NOT_FOUND) {
		sc_error_clear(err);
		rc = SC_OK;
	}
	db_host_clear(&h);
	free(pem);
	return rc;
}

/* The host's recorded sans, then its address, then its name. */
static const char **
renew_sans(const struct db_renew_host *h, struct json_object **arr,
    size_t *n)
{
	const char **sans;
	size_t i, k;

	*arr = json_tokener_parse(h->sans_json);
	k = *arr != NULL && json_object_is_type(*arr, json_type_array) ?
	    json_object_array_length(*arr) : 0;
	if (k > ENROLL_SANS_MAX || (sans = calloc(k + 2,
	    sizeof(*sans))) == NULL)
		return NULL;
	for (i = 0; i < k; i++)
		sans[i] = json_object_get_string(
		    json_object_array_get_idx(*arr, i));
	sans[i++] = h->address;
	sans[i++] = h->name;
	*n = i;
	return sans;
}

/*
 * Issue and record.  *lost is set when another renewal of the host got
 * there first (the certificate presented is no longer current).
 */
static enum sc_err
renew_issue(struct handler_ctx *ctx, const struct http_request *req,
    const struct worker_identity *id, const struct pki_csr *csr,
    struct http_response *resp, bool *lost, struct sc_error *err)
{
	struct json_object *arr = NULL;
	struct db_renew_host h;
	struct pki_issued issued;
	struct db_audit audit;
	struct db_cert cert;
	const char **sans = NULL;
	char not_after[DB_TIME_LEN + 1], detail[128];
	size_t nsans = 0;
	bool in_txn = false;
	int doubt_pid;
	enum sc_err rc;

	*lost = false;
	memset(&issued, 0, sizeof(issued));
	if ((rc = db_renew_begin(ctx->db, id->ref.host_uuid,
	    id->ref.fingerprint, &h, err)) != SC_OK)
		goto out;
	if (!h.found || !h.current) {
		*lost = true;
		goto out;
	}
	in_txn = true;
	if ((sans = renew_sans(&h, &arr, &nsans)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "host %s: bad sans",
		    id->ref.host_uuid);
		goto out;
	}
	if ((rc = pki_issue_worker_for_key(ctx->ca, h.name, sans, nsans, csr,
	    &issued, err)) != SC_OK ||
	    (rc = bundle_write(ctx->cfg->ca_dir, h.name,
	    pki_ca_cert_pem(ctx->ca), &issued, NULL, err)) != SC_OK)
		goto out;
	in_txn = false;		/* the commit decides, and rolls back itself */
	cert = (struct db_cert){ .serial_hex = issued.serial_hex,
	    .fingerprint = issued.fingerprint, .subject = issued.subject,
	    .kind = "worker", .ca = pki_ca_role_name(PKI_CA_WORKER),
	    .host_uuid = id->ref.host_uuid, .not_after = issued.not_after };
	snprintf(detail, sizeof(detail), "renewed %s, superseding %.16s...",
	    issued.fingerprint, id->ref.fingerprint);
	handler_audit_entry(ctx, req, "renew", id->ref.host_uuid, "success",
	    detail, &audit);
	if ((rc = db_renew_commit(ctx->db, id->ref.fingerprint, &cert, &audit,
	    &doubt_pid, err)) != SC_OK) {
		/* The worker still has its old, valid certificate: it retries. */
		handler_settle_bundle(ctx, h.name, issued.fingerprint, h.since,
		    doubt_pid, "renew");
		goto out;
	}
	/* The old certificate is revoked: the publisher puts it in the CRL. */
	crl_publish_soon();
	format_time(issued.not_after, not_after);
	rc = render_renewed(resp, id->ref.host_uuid, h.name,
	    issued.fingerprint, pki_ca_cert_pem(ctx->ca), issued.cert_pem,
	    not_after, err);
	log_info("renewed %s (%s): fingerprint %s, %s", h.name,
	    id->ref.host_uuid, issued.fingerprint, pki_csr_key_desc(csr));
out:
	if (in_txn)
		db_rollback(ctx->db);
	json_object_put(arr);
	free(sans);
	pki_issued_clear(&issued);
	db_renew_host_clear(&h);
	return rc;
}

/*
 * Renewal's admission: a worker certificate, the host's current one or
 * (a lost answer's retry) the one it just superseded; a refusal names
 * who tried.
 */
enum sc_err
handler_admit_renew(struct handler_ctx *ctx, const struct http_request *req,
    struct route_caller *caller, struct http_response *resp, bool *done,
    struct sc_error *err)
{
	struct worker_identity *id = &caller->worker;
	enum sc_err rc;

	if ((rc = identify(ctx, req, "renew", resp, id, done, err)) !=
	    SC_OK || *done)
		return rc;
	actor_for(id, &caller->actor);
	ctx->actor = &caller->actor;	/* reset by app_handle */
	if (id->result == WORKER_REFUSED) {
		*done = true;
		handler_audit(ctx, req, "renew", id->ref.host_uuid[0] != '\0' ?
		    id->ref.host_uuid : NULL, "refused", id->why);
		return respond(resp, 403, WORKER_REFUSED_DETAIL, err);
	}
	return SC_OK;
}

enum sc_err
handle_renew(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	struct worker_identity id = in->caller.worker;
	struct pki_csr *csr = in->u.csr;
	bool given = false, lost = false;
	const char *target;
	enum sc_err rc = SC_OK;
	int attempt;

	target = route_input_target(in);
	/* A renewal lost to a concurrent one may be that one's retry. */
	for (attempt = 0; rc == SC_OK && attempt < 2; attempt++) {
		if (id.result == WORKER_SUPERSEDED) {
			if ((rc = renew_again(ctx, &id, csr, resp, &given,
			    err)) == SC_OK && given)
				handler_audit(ctx, req, "renew", target,
				    "success", "answer repeated for the "
				    "superseded certificate");
			break;
		}
		if ((rc = renew_issue(ctx, req, &id, csr, resp, &lost, err)) !=
		    SC_OK || !lost)
			break;
		/* Superseded by the winner: perhaps this request's retry. */
		if ((rc = worker_auth(ctx, req, &id, err)) != SC_OK ||
		    id.result != WORKER_SUPERSEDED)
			break;
		lost = false;
	}
	if (rc == SC_OK && (lost || id.result == WORKER_SUPERSEDED) &&
	    !given) {
		handler_audit(ctx, req, "renew", target, "refused",
		    id.result == WORKER_SUPERSEDED ? "certificate superseded" :
		    "certificate no longer current");
		rc = respond(resp, 403, WORKER_REFUSED_DETAIL, err);
	} else if (rc == SC_FORBIDDEN) {
		handler_audit(ctx, req, "renew", target, "refused", err->msg);
		sc_error_clear(err);
		rc = respond(resp, 403, WORKER_REFUSED_DETAIL, err);
	}
	/* Other failures: audited by app.c. */
	return rc;
}

/* Heartbeats: the host's current certificate only. */
enum sc_err
handler_admit_heartbeat(struct handler_ctx *ctx,
    const struct http_request *req, struct route_caller *caller,
    struct http_response *resp, bool *done, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = identify(ctx, req, "heartbeat", resp, &caller->worker,
	    done, err)) != SC_OK || *done)
		return rc;
	if (caller->worker.result != WORKER_CURRENT) {
		*done = true;
		handler_audit_anonymous(ctx, req, HANDLER_HEARTBEAT_PRESENTED);
		return respond(resp, 403, WORKER_REFUSED_DETAIL, err);
	}
	return SC_OK;
}

enum sc_err
handle_heartbeat(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const struct worker_identity *id = &in->caller.worker;
	const struct heartbeat_req *hr = &in->u.heartbeat;
	struct json_object *o = NULL;
	struct db_heartbeat hb;
	enum sc_err rc = SC_OK;

	hb = (struct db_heartbeat){
	    .agent_version = hr->has_agent_version ? hr->agent_version : NULL,
	    .agent_status = hr->has_status ? hr->status : NULL };
	if ((rc = db_heartbeat(ctx->db, id->ref.host_uuid, id->ref.fingerprint,
	    ctx->cfg->heartbeat_durable, &hb, err)) != SC_OK)
		return rc;
	/* Renewed or decommissioned since the lookup. */
	if (!hb.found) {
		handler_audit_anonymous(ctx, req, HANDLER_HEARTBEAT_PRESENTED);
		return respond(resp, 403, WORKER_REFUSED_DETAIL, err);
	}
	if ((o = json_object_new_object()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	json_object_object_add(o, "host_uuid",
	    json_object_new_string(id->ref.host_uuid));
	json_object_object_add(o, "status", json_object_new_string("active"));
	json_object_object_add(o, "last_heartbeat",
	    json_object_new_string(hb.last_heartbeat));
	json_object_object_add(o, "cert_not_after", handler_string_or_null(
	    hb.cert_not_after[0] != '\0' ? hb.cert_not_after : NULL));
	if (http_response_json(resp, 200, o) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
	json_object_put(o);
	return rc;
}
