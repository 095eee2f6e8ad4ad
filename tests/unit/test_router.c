/*
 * The route table matcher: exact paths, {param} segments, 404 versus 405
 * and the Allow header derived from the table.
 */
#include "config.h"

#include <string.h>

#include "router.h"
#include "tap.h"

static enum sc_err
h1(struct handler_ctx *c, const struct http_request *r,
    const struct route_input_value *p,
    struct http_response *o, struct sc_error *e)
{
	(void)c; (void)r; (void)p; (void)o; (void)e;
	return SC_OK;
}

static enum sc_err
h2(struct handler_ctx *c, const struct http_request *r,
    const struct route_input_value *p,
    struct http_response *o, struct sc_error *e)
{
	(void)c; (void)r; (void)p; (void)o; (void)e;
	return SC_INTERNAL;
}

static const struct route table[] = {
	{ .method = HTTP_GET, .pattern = "/health", .handler = h1 },
	{ .method = HTTP_POST, .pattern = "/swarm/enroll", .handler = h1 },
	{ .method = HTTP_GET, .pattern = "/swarm/hosts", .handler = h1 },
	{ .method = HTTP_GET, .pattern = "/swarm/hosts/{uuid}",
	    .handler = h1 },
	{ .method = HTTP_DELETE, .pattern = "/swarm/hosts/{uuid}",
	    .handler = h2 },
};
#define N (sizeof(table) / sizeof(table[0]))

static enum route_result
match(enum http_method m, const char *path, const struct route **r,
    char *param, char *allow)
{
	return router_match(table, N, m, path, r, param, allow, 64);
}

int
main(void)
{
	const struct route *r;
	char param[ROUTE_PARAM_MAX], allow[64], longseg[300];

	is_int(match(HTTP_GET, "/health", &r, param, allow), ROUTE_FOUND,
	    "GET /health found");
	ok(r == &table[0], "right row");
	is_int(match(HTTP_GET, "/swarm/hosts", &r, param, allow), ROUTE_FOUND,
	    "GET /swarm/hosts found");
	ok(r == &table[2], "list row, not the {uuid} row");
	is_int(match(HTTP_GET, "/swarm/hosts/abc", &r, param, allow),
	    ROUTE_FOUND, "GET /swarm/hosts/abc found");
	is_str(param, "abc", "param captured");
	ok(r == &table[3], "get row");
	is_int(match(HTTP_DELETE, "/swarm/hosts/abc", &r, param, allow),
	    ROUTE_FOUND, "DELETE found");
	ok(r == &table[4], "delete row");

	is_int(match(HTTP_GET, "/swarm/hosts/", &r, param, allow),
	    ROUTE_NOT_FOUND, "empty segment does not match {uuid}");
	is_int(match(HTTP_GET, "/swarm/hosts/a/b", &r, param, allow),
	    ROUTE_NOT_FOUND, "two segments do not match {uuid}");
	is_int(match(HTTP_GET, "/swarm/hosts/..", &r, param, allow),
	    ROUTE_FOUND, "'..' is just a segment (the handler 404s it)");
	is_int(match(HTTP_GET, "/nope", &r, param, allow), ROUTE_NOT_FOUND,
	    "unknown path: 404");
	is_int(match(HTTP_GET, "", &r, param, allow), ROUTE_NOT_FOUND,
	    "empty path: 404");
	is_int(match(HTTP_GET, "/health/", &r, param, allow), ROUTE_NOT_FOUND,
	    "trailing slash: 404");
	is_int(match(HTTP_GET, "/healthz", &r, param, allow), ROUTE_NOT_FOUND,
	    "longer path: 404");

	is_int(match(HTTP_PUT, "/swarm/enroll", &r, param, allow),
	    ROUTE_METHOD_NOT_ALLOWED, "PUT /swarm/enroll: 405");
	is_str(allow, "POST", "Allow: POST");
	is_int(match(HTTP_PATCH, "/swarm/hosts/x", &r, param, allow),
	    ROUTE_METHOD_NOT_ALLOWED, "PATCH /swarm/hosts/x: 405");
	is_str(allow, "GET, HEAD, DELETE", "Allow: GET, HEAD, DELETE");
	is_int(match(HTTP_POST, "/swarm/hosts", &r, param, allow),
	    ROUTE_METHOD_NOT_ALLOWED, "POST /swarm/hosts: 405");
	is_str(allow, "GET, HEAD", "Allow: GET, HEAD");

	/* RFC 9110 9.3.2: HEAD wherever GET, through the GET row. */
	is_int(match(HTTP_HEAD, "/health", &r, param, allow), ROUTE_FOUND,
	    "HEAD /health found");
	ok(r == &table[0], "  ... served by the GET row");
	is_int(match(HTTP_HEAD, "/swarm/hosts/abc", &r, param, allow),
	    ROUTE_FOUND, "HEAD /swarm/hosts/abc found");
	ok(r == &table[3], "  ... the GET row, not DELETE");
	is_str(param, "abc", "  ... param captured");
	is_int(match(HTTP_HEAD, "/swarm/enroll", &r, param, allow),
	    ROUTE_METHOD_NOT_ALLOWED, "HEAD /swarm/enroll (POST only): 405");
	is_str(allow, "POST", "  ... Allow: POST");
	is_int(match(HTTP_HEAD, "/nope", &r, param, allow), ROUTE_NOT_FOUND,
	    "HEAD of an unknown path: 404");
	is_int(match(HTTP_OTHER, "/health", &r, param, allow),
	    ROUTE_METHOD_NOT_ALLOWED, "unknown method on known path: 405");

	memset(longseg, 'a', sizeof(longseg));
	memcpy(longseg, "/swarm/hosts/", 13);
	longseg[sizeof(longseg) - 1] = '\0';
	is_int(match(HTTP_GET, longseg, &r, param, allow), ROUTE_NOT_FOUND,
	    "over-long segment does not match");
	return done_testing();
}
