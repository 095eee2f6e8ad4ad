#include "config.h"

#include <stdio.h>

#include "app.h"
#include "auth.h"
#include "handlers/handlers.h"
#include "http/response.h"
#include "ready.h"
#include "router.h"

#define OPERATOR	true
#define PUBLIC		false

static const struct route routes[] = {
	{ HTTP_GET,	"/health",		handle_health,	false, PUBLIC,
	    NULL },
	{ HTTP_GET,	"/swarm/health",	handle_health,	false, PUBLIC,
	    NULL },
	{ HTTP_GET,	"/swarm/ready",		handle_ready,	false, PUBLIC,
	    NULL },
	{ HTTP_GET,	"/swarm/ca.pem",	handle_ca_pem,	false, PUBLIC,
	    NULL },
	{ HTTP_GET,	"/swarm/crl.pem",	handle_crl_pem,	false, PUBLIC,
	    NULL },
	{ HTTP_GET,	"/swarm/front-ca.pem",	handle_front_ca_pem, false,
	    PUBLIC, NULL },
	{ HTTP_POST,	"/swarm/enroll",	handle_enroll,	true, OPERATOR,
	    "enroll" },
	{ HTTP_GET,	"/swarm/hosts",		handle_hosts_list, false,
	    OPERATOR, NULL },
	{ HTTP_GET,	"/swarm/hosts/{uuid}",	handle_host_get, false,
	    OPERATOR, NULL },
	{ HTTP_DELETE,	"/swarm/hosts/{uuid}",	handle_host_delete, false,
	    OPERATOR, "decommission" },
	{ HTTP_GET,	"/swarm/audit",		handle_audit,	false,
	    OPERATOR, NULL },
	{ HTTP_POST,	"/swarm/tokens",	handle_token_create, true,
	    OPERATOR, "token-create" },
	{ HTTP_GET,	"/swarm/tokens",	handle_tokens_list, false,
	    OPERATOR, NULL },
	{ HTTP_DELETE,	"/swarm/tokens/{uuid}",	handle_token_revoke, false,
	    OPERATOR, "token-revoke" },
	/*
	 * Public: the bearer token is the credential.  No audit_action: the
	 * handler audits what names a real token and counts the rest
	 * (handlers/tokens.c), so anonymous requests cannot flood the trail.
	 */
	{ HTTP_POST,	"/swarm/enroll/token",	handle_token_redeem, true,
	    PUBLIC, NULL },
	/*
	 * Workers, with their own certificates (worker_auth.h decides, not
	 * the operator check): public to this table.  The handlers audit
	 * renewals and count refused heartbeats.
	 */
	{ HTTP_POST,	"/swarm/renew",		handle_renew,	true, PUBLIC,
	    NULL },
	{ HTTP_POST,	"/swarm/heartbeat",	handle_heartbeat, true,
	    PUBLIC, NULL },
};

/*
 * Body rules for routes that take JSON: the size cap was enforced while
 * parsing CONTENT_LENGTH (413 before a byte is read); the media type is
 * checked before reading (415); then exactly Content-Length bytes.
 */
static enum sc_err
read_json_body(struct http_request *req, http_read_fn rd, void *rdarg,
    struct sc_error *err)
{
	if (!req->json_body)
		return sc_error_set(err, SC_UNSUPPORTED_MEDIA,
		    "Content-Type must be application/json");
	return http_request_read_body(req, rd, rdarg, err);
}

/* A refused state change: a row naming who, or a count if anonymous. */
static void
audit_refusal(struct handler_ctx *ctx, const struct route *route,
    const struct http_request *req, const char *param,
    const struct sc_error *err)
{
	if (route->audit_action == NULL)
		return;
	if (http_request_has_client_cert(req))
		handler_audit(ctx, req, route->audit_action,
		    param[0] ? param : NULL, "refused", err->msg);
	else
		handler_audit_anonymous(ctx, req, route->audit_action);
}

/*
 * Operator routes: decide before reading the body, so an anonymous
 * client cannot even make the responder buffer its upload.  A refused
 * state change is audited; refused reads are not, so probing cannot
 * flood the audit trail.  Nor can anonymous state changes: a refusal of
 * a certificate nginx verified names who tried and gets a row of its
 * own (such clients are few, and rate-limited per certificate), while
 * refusals without one are only counted (handlers.h).
 */
static enum sc_err
authorise(struct handler_ctx *ctx, const struct route *route,
    const struct http_request *req, const char *param,
    struct auth_actor *actor, struct sc_error *err)
{
	enum sc_err rc;

	if (!route->operator_only)
		return SC_OK;
	rc = auth_operator(ctx, req, actor, err);
	ctx->actor = actor;
	if (rc == SC_FORBIDDEN)
		audit_refusal(ctx, route, req, param, err);
	return rc;
}

/*
 * CSRF: a browser that says a state change comes from another site (a
 * page elsewhere posting to the console's API with the operator's
 * client certificate) is refused before the body is read, audited like
 * the other refusals.  Fetch Metadata and Origin are set by the browser,
 * not by script; curl and agents send neither and are not affected.
 * The JSON-only rule (415) already stops plain HTML forms.
 */
static enum sc_err
refuse_cross_site(struct handler_ctx *ctx, const struct route *route,
    const struct http_request *req, const char *param, struct sc_error *err)
{
	if (req->method != HTTP_POST && req->method != HTTP_DELETE)
		return SC_OK;
	if (!http_request_cross_site(req))
		return SC_OK;
	sc_error_set(err, SC_FORBIDDEN, "cross-site request refused");
	audit_refusal(ctx, route, req, param, err);
	return SC_FORBIDDEN;
}

void
app_handle(struct handler_ctx *ctx, struct http_request *req,
    enum sc_err parse_rc, http_read_fn rd, void *rdarg,
    struct http_response *resp, struct sc_error *err)
{
	char param[ROUTE_PARAM_MAX], allow[64];
	const char *detail = NULL;
	struct auth_actor actor;
	const struct route *route;
	enum sc_err rc = parse_rc;

	ctx->actor = NULL;
	resp->head = req->method == HTTP_HEAD;
	if (rc != SC_OK)
		goto out;
	switch (router_match(routes, sizeof(routes) / sizeof(routes[0]),
	    req->method, req->path, &route, param, allow, sizeof(allow))) {
	case ROUTE_NOT_FOUND:
		rc = sc_error_set(err, SC_NOT_FOUND, "Not Found");
		goto out;
	case ROUTE_METHOD_NOT_ALLOWED:
		if (http_response_detail(resp, 405, "Method Not Allowed") == -1)
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
		goto out;
	case ROUTE_FOUND:
		break;
	}
	/*
	 * Operator routes all need the database (authorisation included):
	 * until the start-up checks have passed -- the database was down
	 * at start, the schema is behind -- they answer 503 with the reason.
	 */
	if (route->operator_only && ready_gate(&detail, err) != SC_OK) {
		if (http_response_detail(resp, 503, detail) == -1)
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = authorise(ctx, route, req, param, &actor, err)) != SC_OK)
		goto out;
	if ((rc = refuse_cross_site(ctx, route, req, param, err)) != SC_OK)
		goto out;
	if (route->json_body &&
	    (rc = read_json_body(req, rd, rdarg, err)) != SC_OK) {
		if (route->audit_action != NULL)
			handler_audit(ctx, req, route->audit_action, NULL,
			    handler_outcome(rc), err->msg);
		goto out;
	}
	rc = route->handler(ctx, req, param, resp, err);
out:
	ctx->actor = NULL;
	if (rc != SC_OK && !resp->streaming)
		http_response_error(resp, err);
}
