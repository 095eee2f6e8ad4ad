#include "config.h"

#include <stdio.h>

#include "app.h"
#include "handlers/handlers.h"
#include "http/response.h"
#include "router.h"

static const struct route routes[] = {
	{ HTTP_GET,	"/health",		handle_health,		false },
	{ HTTP_GET,	"/swarm/health",	handle_health,		false },
	{ HTTP_POST,	"/swarm/enroll",	handle_enroll,		true },
	{ HTTP_GET,	"/swarm/hosts",		handle_hosts_list,	false },
	{ HTTP_GET,	"/swarm/hosts/{uuid}",	handle_host_get,	false },
	{ HTTP_DELETE,	"/swarm/hosts/{uuid}",	handle_host_delete,	false },
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

void
app_handle(struct handler_ctx *ctx, struct http_request *req,
    enum sc_err parse_rc, http_read_fn rd, void *rdarg,
    struct http_response *resp, struct sc_error *err)
{
	char param[ROUTE_PARAM_MAX], allow_buf[64];
	const struct route *route;
	enum sc_err rc = parse_rc;

	if (rc != SC_OK)
		goto out;
	switch (router_match(routes, sizeof(routes) / sizeof(routes[0]),
	    req->method, req->path, &route, param, allow_buf,
	    sizeof(allow_buf))) {
	case ROUTE_NOT_FOUND:
		rc = sc_error_set(err, SC_NOT_FOUND, "Not Found");
		goto out;
	case ROUTE_METHOD_NOT_ALLOWED:
		if (http_response_detail(resp, 405, "Method Not Allowed") == -1)
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		snprintf(resp->allow, sizeof(resp->allow), "%s", allow_buf);
		goto out;
	case ROUTE_FOUND:
		break;
	}
	if (route->json_body &&
	    (rc = read_json_body(req, rd, rdarg, err)) != SC_OK)
		goto out;
	rc = route->handler(ctx, req, param, resp, err);
out:
	if (rc != SC_OK && !resp->streaming)
		http_response_error(resp, err);
}
