/*
 * Bootstrap tokens: an operator creates a one-time token for a host
 * (POST /swarm/tokens), lists (GET) and revokes (DELETE) them; a worker
 * with no certificate yet redeems one with its CSR (POST
 * /swarm/enroll/token, "Authorization: Bearer <token>") and is enrolled
 * exactly as POST /swarm/enroll with the token's name, address, port,
 * sans and notes and that csr_pem would enroll it (handler_enroll).
 *
 * The token is 32 random bytes shown once; only its SHA-256 is stored.
 * A bad token -- malformed, unknown, expired, used, revoked -- gets one
 * answer, 401 "invalid or expired token", so the answer tells a guesser
 * nothing about which tokens exist.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "conf.h"
#include "db/db.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "http/request.h"
#include "http/response.h"
#include "log.h"
#include "pki/pki.h"
#include "ready.h"
#include "validate.h"

#define TOKEN_REFUSED	"invalid or expired token"


enum sc_err
handle_token_create(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const struct token_create_req *tr = &in->u.token_create;
	struct json_object *obj = NULL;
	struct db_token_new nt;
	struct db_audit audit;
	char token[TOKEN_TEXT_LEN + 1], hash[PKI_TOKEN_HASH_LEN + 1];
	char id[DB_UUID_LEN + 1], expires_at[DB_TIME_LEN + 1];
	char *sans = NULL;
	enum sc_err rc;

	token[0] = '\0';
	if ((rc = handler_require_ca(ctx, PKI_CA_FRONT, err)) != SC_OK)
		goto out;
	if ((rc = pki_token_new(token, err)) != SC_OK ||
	    (rc = pki_token_hash(token, hash, err)) != SC_OK)
		goto out;
	if ((sans = handler_sans_json(&tr->er)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	nt = (struct db_token_new){ .token_hash = hash, .name = tr->er.name,
	    .address = tr->er.address, .agent_port = tr->er.agent_port,
	    .sans_json = sans, .notes = tr->er.notes,
	    .created_by = ctx->actor != NULL ? ctx->actor->name : "anonymous",
	    .ttl_seconds = tr->ttl_seconds };
	handler_audit_entry(ctx, req, "token-create", tr->er.name, "success",
	    NULL, &audit);
	if ((rc = db_token_create(ctx->db, &nt, &audit, id, expires_at,
	    err)) != SC_OK)
		goto out;
	if ((obj = json_object_new_object()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	json_object_object_add(obj, "id", json_object_new_string(id));
	json_object_object_add(obj, "token", json_object_new_string(token));
	json_object_object_add(obj, "name", json_object_new_string(tr->er.name));
	json_object_object_add(obj, "address",
	    json_object_new_string(tr->er.address));
	json_object_object_add(obj, "expires_at",
	    json_object_new_string(expires_at));
	/* What `swarmctl agent enroll --ca-fingerprint` pins TLS to. */
	json_object_object_add(obj, "controller_ca_fingerprint",
	    json_object_new_string(pki_ca_fingerprint(ctx->front_ca)));
	/* The body holds the only copy of the secret: wiped when freed. */
	resp->secret = true;
	if (http_response_json(resp, 201, obj) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "rendering token failed");
	else
		log_info("bootstrap token %s created for %s, expires %s", id,
		    tr->er.name, expires_at);
out:
	json_object_put(obj);
	explicit_bzero(token, sizeof(token));
	free(sans);
	return rc;
}

static int
list_row(const struct db_token *t, void *arg)
{
	struct json_object *list = arg, *o, *sans;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	sans = json_tokener_parse(t->sans_json);
	json_object_object_add(o, "id", json_object_new_string(t->id));
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "address",
	    json_object_new_string(t->address));
	json_object_object_add(o, "agent_port",
	    json_object_new_int(t->agent_port));
	json_object_object_add(o, "sans", sans);
	json_object_object_add(o, "notes", handler_string_or_null(t->notes));
	json_object_object_add(o, "state", json_object_new_string(t->state));
	json_object_object_add(o, "created_at",
	    json_object_new_string(t->created_at));
	json_object_object_add(o, "created_by",
	    json_object_new_string(t->created_by));
	json_object_object_add(o, "expires_at",
	    json_object_new_string(t->expires_at));
	json_object_object_add(o, "used_at", handler_string_or_null(t->used_at));
	json_object_object_add(o, "used_by_host",
	    handler_string_or_null(t->used_by_host));
	json_object_object_add(o, "revoked_at", handler_string_or_null(t->revoked_at));
	return json_object_array_add(list, o) == 0 ? 0 : -1;
}

enum sc_err
handle_tokens_list(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	struct json_object *list;
	enum sc_err rc;

	(void)req;
	(void)in;
	if ((list = json_object_new_array()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	if ((rc = db_tokens_list(ctx->db, list_row, list, err)) == SC_OK &&
	    http_response_json(resp, 200, list) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "rendering tokens failed");
	json_object_put(list);
	return rc;
}

enum sc_err
handle_token_revoke(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const char *id = in->u.uuid;
	struct db_audit audit;
	enum sc_err rc;

	handler_audit_entry(ctx, req, "token-revoke", id, "success", NULL,
	    &audit);
	if ((rc = db_token_revoke(ctx->db, id, &audit, err)) != SC_OK)
		return rc;
	log_info("bootstrap token %s revoked", id);
	http_response_empty(resp, 204);
	return SC_OK;
}

/* The one answer to every bad token (RFC 6750 3: a Bearer challenge). */
static enum sc_err
refuse(struct http_response *resp, struct sc_error *err)
{
	resp->bearer_challenge = true;
	if (http_response_detail(resp, 401, TOKEN_REFUSED) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

static enum sc_err
refuse_anonymous(struct handler_ctx *ctx, const struct http_request *req,
    struct http_response *resp, struct sc_error *err)
{
	handler_audit_anonymous(ctx, req, "token-redeem");
	return refuse(resp, err);
}

/* Is the token still there to be used?  (After a lost race, it is not.) */
static bool
token_still_active(struct handler_ctx *ctx, const char *hash)
{
	struct sc_error e = { SC_OK, "" };
	struct db_token t;
	bool found, active;

	if (db_token_lookup(ctx->db, hash, &t, &found, &e) != SC_OK)
		return true;	/* unknown: keep the enrollment's own answer */
	active = found && strcmp(t.state, "active") == 0;
	db_token_clear(&t);
	return active;
}

/*
 * Admission: the token must name a real, active token.  Anyone can send
 * guesses: those that name no token are counted, not recorded one row
 * each (handler_audit_anonymous); from a real token on, the request is
 * audited under its id, its actor "bootstrap-token <id>".
 */
enum sc_err
handler_admit_token(struct handler_ctx *ctx, const struct http_request *req,
    struct route_caller *caller, struct http_response *resp, bool *done,
    struct sc_error *err)
{
	struct db_token *t = &caller->token;
	char token[TOKEN_TEXT_LEN + 1], why[64];
	const char *gate = NULL;
	bool found = false;
	enum sc_err rc;

	*done = true;
	token[0] = '\0';
	/* Public, so not gated by app.c: the database must be usable. */
	if (ready_gate(&gate, err) != SC_OK) {
		rc = http_response_detail(resp, 503, gate) == -1 ?
		    sc_error_set(err, SC_INTERNAL, "out of memory") : SC_OK;
		goto out;
	}
	if (!validate_bearer_token(req->authorization, token)) {
		rc = refuse_anonymous(ctx, req, resp, err);
		goto out;
	}
	if ((rc = pki_token_hash(token, caller->token_hash, err)) != SC_OK ||
	    (rc = db_token_lookup(ctx->db, caller->token_hash, t, &found,
	    err)) != SC_OK)
		goto out;
	if (!found) {
		rc = refuse_anonymous(ctx, req, resp, err);
		goto out;
	}
	snprintf(caller->actor.name, sizeof(caller->actor.name),
	    "bootstrap-token %s", t->id);
	caller->actor.fingerprint[0] = '\0';
	caller->actor.loopback = false;
	ctx->actor = &caller->actor;	/* reset by app_handle */
	if (strcmp(t->state, "active") != 0) {
		snprintf(why, sizeof(why), "token %s", t->state);
		handler_audit(ctx, req, "token-redeem", t->id, "refused", why);
		rc = refuse(resp, err);
		goto out;
	}
	*done = false;
out:
	explicit_bzero(token, sizeof(token));
	return rc;
}

enum sc_err
handle_token_redeem(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const struct db_token *t = &in->caller.token;
	struct token_claim claim;
	enum sc_err rc;

	claim.hash = in->caller.token_hash;
	claim.id = t->id;
	rc = handler_enroll(ctx, req, &in->u.enroll, &claim, resp, err);
	/* Lost to a concurrent redemption (or expired meanwhile). */
	if (rc == SC_FORBIDDEN ||
	    (rc == SC_CONFLICT && !token_still_active(ctx, claim.hash))) {
		handler_audit(ctx, req, "token-redeem", t->id, "refused",
		    "token no longer valid");
		sc_error_clear(err);
		return refuse(resp, err);
	}
	/*
	 * Success is audited inside the enrollment transaction; a failure
	 * under "token-redeem" by app.c, and here as the enrollment's.
	 */
	if (rc != SC_OK)
		handler_audit(ctx, req, "enroll", in->u.enroll.name,
		    handler_outcome(rc), err->msg);
	return rc;
}
