#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"

#include "app.h"
#include "auth.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "http/response.h"
#include "ready.h"
#include "router.h"

/*
 * The whole request path, a row per route.  Input and audit columns are
 * what app_handle does before and after the handler (router.h).
 */
static const struct route routes[] = {
	{ .method = HTTP_GET, .pattern = "/health",
	    .handler = handle_health },
	{ .method = HTTP_GET, .pattern = "/swarm/health",
	    .handler = handle_health },
	{ .method = HTTP_GET, .pattern = "/swarm/ready",
	    .handler = handle_ready },
	{ .method = HTTP_GET, .pattern = "/swarm/ca.pem",
	    .handler = handle_ca_pem },
	{ .method = HTTP_GET, .pattern = "/swarm/crl.pem",
	    .handler = handle_crl_pem },
	{ .method = HTTP_GET, .pattern = "/swarm/front-ca.pem",
	    .handler = handle_front_ca_pem },
	{ .method = HTTP_POST, .pattern = "/swarm/enroll",
	    .handler = handle_enroll, .access = ROUTE_OPERATOR,
	    .json_body = true, .input = INPUT_ENROLL,
	    .audit_action = "enroll" },
	{ .method = HTTP_GET, .pattern = "/swarm/hosts",
	    .handler = handle_hosts_list, .access = ROUTE_OPERATOR,
	    .input = INPUT_HOSTS_QUERY },
	{ .method = HTTP_GET, .pattern = "/swarm/hosts/{uuid}",
	    .handler = handle_host_get, .access = ROUTE_OPERATOR,
	    .input = INPUT_UUID, .not_found = "host not found" },
	{ .method = HTTP_DELETE, .pattern = "/swarm/hosts/{uuid}",
	    .handler = handle_host_delete, .access = ROUTE_OPERATOR,
	    .input = INPUT_UUID, .not_found = "host not found",
	    .audit_action = "decommission" },
	{ .method = HTTP_GET, .pattern = "/swarm/audit",
	    .handler = handle_audit, .access = ROUTE_OPERATOR,
	    .input = INPUT_AUDIT_QUERY },
	{ .method = HTTP_POST, .pattern = "/swarm/tokens",
	    .handler = handle_token_create, .access = ROUTE_OPERATOR,
	    .json_body = true, .input = INPUT_TOKEN_CREATE,
	    .audit_action = "token-create" },
	{ .method = HTTP_GET, .pattern = "/swarm/tokens",
	    .handler = handle_tokens_list, .access = ROUTE_OPERATOR },
	{ .method = HTTP_DELETE, .pattern = "/swarm/tokens/{uuid}",
	    .handler = handle_token_revoke, .access = ROUTE_OPERATOR,
	    .input = INPUT_UUID, .not_found = "token not found",
	    .audit_action = "token-revoke" },
	/*
	 * The bearer token is the credential.  Requests that name no real
	 * token are counted, not audited (handlers/tokens.c), so anonymous
	 * requests cannot flood the trail; from a real one on, rows.
	 */
	{ .method = HTTP_POST, .pattern = "/swarm/enroll/token",
	    .handler = handle_token_redeem, .access = ROUTE_CREDENTIAL,
	    .admit = handler_admit_token, .json_body = true,
	    .input = INPUT_TOKEN_REDEEM, .audit_action = "token-redeem" },
	/*
	 * Workers, with their own certificates (worker_auth.h decides, not
	 * the operator check).  Renewals are audited; heartbeats never a
	 * row each, refusals counted.
	 */
	{ .method = HTTP_POST, .pattern = "/swarm/renew",
	    .handler = handle_renew, .access = ROUTE_CREDENTIAL,
	    .admit = handler_admit_renew, .json_body = true,
	    .input = INPUT_RENEW, .audit_action = "renew" },
	{ .method = HTTP_POST, .pattern = "/swarm/heartbeat",
	    .handler = handle_heartbeat, .access = ROUTE_CREDENTIAL,
	    .admit = handler_admit_heartbeat, .json_body = true,
	    .input = INPUT_HEARTBEAT, .audit_action = "heartbeat",
	    .audit = AUDIT_COUNTED },
};

const struct route *
app_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

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
	if (route->access != ROUTE_OPERATOR || route->audit_action == NULL)
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

	if (route->access != ROUTE_OPERATOR)
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

/* A refused or failed request after access, audited as the row says. */
static void
audit_failure(struct handler_ctx *ctx, const struct route *route,
    const struct http_request *req, const struct route_input_value *in,
    enum sc_err rc, const struct sc_error *err)
{
	if (route->audit_action == NULL || route->audit != AUDIT_ROWS)
		return;
	handler_audit(ctx, req, route->audit_action, route_input_target(in),
	    handler_outcome(rc), err->msg);
}

/*
 * The route's input, decoded into *in, or refused: a 422 detail list is
 * the response (and audited here, as the row says); other refusals are
 * returned as errors (400, 404) for app_handle to audit and render.
 */
static enum sc_err
decode(struct handler_ctx *ctx, const struct route *route,
    const struct http_request *req, const char *param,
    struct route_input_value *in, struct http_response *resp, bool *done,
    struct sc_error *err)
{
	struct json_object *detail = NULL;
	enum sc_err rc;

	rc = route_input_decode((enum route_input)route->input, req, param,
	    ctx->cfg != NULL ? &ctx->cfg->worker_names : NULL,
	    route->not_found, in, &detail, err);
	if (rc != SC_INVALID)
		return rc;
	audit_failure(ctx, route, req, in, rc, err);
	sc_error_clear(err);
	*done = true;
	return handler_respond_invalid(resp, detail, err);
}

void
app_handle(struct handler_ctx *ctx, struct http_request *req,
    enum sc_err parse_rc, http_read_fn rd, void *rdarg,
    struct http_response *resp, struct sc_error *err)
{
	char param[ROUTE_PARAM_MAX], allow[64];
	struct route_input_value in;
	const char *detail = NULL;
	bool done = false;
	struct auth_actor actor;
	const struct route *route;
	enum sc_err rc = parse_rc;

	ctx->actor = NULL;
	memset(&in, 0, sizeof(in));
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
	if (route->access == ROUTE_OPERATOR && ready_gate(&detail, err) != SC_OK) {
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
		if (route->access == ROUTE_OPERATOR &&
		    route->audit_action != NULL)
			handler_audit(ctx, req, route->audit_action, NULL,
			    handler_outcome(rc), err->msg);
		goto out;
	}
	if (route->admit != NULL) {
		rc = route->admit(ctx, req, &in.caller, resp, &done, err);
		if (rc != SC_OK || done)
			goto out;
	}
	rc = decode(ctx, route, req, param, &in, resp, &done, err);
	if (rc == SC_OK && !done)
		rc = route->handler(ctx, req, &in, resp, err);
	/* Success is audited by the handler, in its own transaction. */
	if (rc != SC_OK)
		audit_failure(ctx, route, req, &in, rc, err);
out:
	ctx->actor = NULL;
	route_input_clear(&in);
	if (rc != SC_OK && !resp->streaming)
		http_response_error(resp, err);
}
