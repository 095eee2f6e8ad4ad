/*
 * libFuzzer harness over the real entry point: CGI parameters parsed
 * (http_request_parse) and the request served by app_handle -- routing,
 * 405s, the ready gate, access, the cross-site check, body rules --
 * with a test context that has no database, so the routes that need one
 * answer 503 from the ready gate or their admission.  Then, since the
 * gate keeps fuzzed input from the decoders, the matched route's
 * declared input decoder (decode.h) runs on the same request: uuid,
 * queries, enroll and token bodies (csr_pem included: PEM framing,
 * PKCS#10 DER, the signature check, the key policy) and the issuance
 * policy's allow-list.
 *
 * Input layout: six fields separated by '\n' -- method, path, query,
 * content type, content length, client certificate (URL-escaped PEM, as
 * nginx passes it) -- then the body (the rest).  Seeds in
 * tests/fuzz/corpus/request/ follow it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "conf.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "http/request.h"
#include "http/response.h"
#include "log.h"
#include "policy.h"
#include "ready.h"
#include "router.h"
#include "validate.h"

#define FIELDS 6

struct input {
	char		*field[FIELDS];
	const char	*body;
	size_t		 body_len, off;
};

static const char *
param(const char *name, void *arg)
{
	static const char *names[FIELDS] = { "REQUEST_METHOD", "PATH_INFO",
	    "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
	    "SSL_CLIENT_CERT" };
	struct input *in = arg;
	size_t i;

	if (strcmp(name, "SSL_CLIENT_VERIFY") == 0)
		return in->field[5][0] != '\0' ? "SUCCESS" : NULL;
	for (i = 0; i < FIELDS; i++)
		if (strcmp(name, names[i]) == 0)
			return in->field[i];
	return NULL;
}

static int
body_read(void *arg, char *buf, int n)
{
	struct input *in = arg;
	size_t left = in->body_len - in->off;
	size_t take = (size_t)n < left ? (size_t)n : left;

	memcpy(buf, in->body + in->off, take);
	in->off += take;
	return (int)take;
}

static int
sink_write(void *arg, const char *s, size_t n)
{
	(void)arg;
	(void)s;
	(void)n;
	return 0;
}

/* The start-up checks never pass: there is no database. */
static enum sc_err
never_ready(const struct config *cfg, struct db *db, struct sc_error *err)
{
	(void)cfg;
	(void)db;
	return sc_error_set(err, SC_DB_UNAVAILABLE, "fuzzing: no database");
}

/*
 * The test context: a configuration with an allow-list and no database
 * (the ready gate stays closed: its monitor finds no server to ping).
 */
static struct handler_ctx *
fuzz_ctx(void)
{
	static struct config cfg;
	static struct handler_ctx ctx;
	static int ready;
	struct sc_error err = { SC_OK, "" };

	if (!ready) {
		cfg.ca_dir = (char *)"/nonexistent/swarmctl-fuzz";
		cfg.max_body = HTTP_DEFAULT_MAX_BODY;
		cfg.conninfo = (char *)"host=/nonexistent/swarmctl-fuzz "
		    "connect_timeout=1";
		if (ready_start(&cfg, never_ready, false, &err) != SC_OK)
			abort();
		(void)policy_allow(&cfg.worker_names, "swarm.test", &err);
		(void)policy_allow(&cfg.worker_names, "10.0.0.0/8", &err);
		(void)policy_allow(&cfg.worker_names, "2001:db8::/32", &err);
		ctx.cfg = &cfg;
		ready = 1;
	}
	return &ctx;
}

/* A token as a redemption would find it (what the decoder reads). */
static void
fake_token(struct route_caller *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->token.id, sizeof(c->token.id),
	    "00000000-0000-4000-8000-000000000000");
	c->token.name = strdup("web-1");
	c->token.address = strdup("10.0.0.1");
	c->token.sans_json = strdup("[\"web-1.swarm.test\"]");
	c->token.agent_port = 8765;
	snprintf(c->token.state, sizeof(c->token.state), "active");
}

/* The route's declared decoder, past the gate a database would open. */
static void
decode_direct(struct handler_ctx *ctx, const struct http_request *req)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct route_input_value in;
	const struct route *routes, *route;
	char p[ROUTE_PARAM_MAX], allow[64];
	size_t n;

	routes = app_routes(&n);
	if (router_match(routes, n, req->method, req->path, &route, p, allow,
	    sizeof(allow)) != ROUTE_FOUND)
		return;
	memset(&in, 0, sizeof(in));
	if (route->input == INPUT_TOKEN_REDEEM)
		fake_token(&in.caller);
	if (route_input_decode((enum route_input)route->input, req, p,
	    &ctx->cfg->worker_names, "not found", &in, &detail, &err) ==
	    SC_INVALID)
		json_object_put(detail);
	(void)route_input_target(&in);
	route_input_clear(&in);
}

static void
exercise(struct input *in)
{
	struct sc_error err = { SC_OK, "" };
	struct handler_ctx *ctx = fuzz_ctx();
	struct http_sink sink = { sink_write, NULL };
	struct http_response resp;
	struct http_request req;
	enum sc_err parse_rc;

	http_response_init(&resp, sink);
	parse_rc = http_request_parse(&req, param, in, ctx->cfg->max_body,
	    &err);
	app_handle(ctx, &req, parse_rc, body_read, in, &resp, &err);
	(void)http_response_finish(&resp);
	if (parse_rc == SC_OK && req.body != NULL)
		decode_direct(ctx, &req);
	else if (parse_rc == SC_OK && req.method != HTTP_POST)
		decode_direct(ctx, &req);
	http_response_free(&resp);
	http_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	char *copy;
	size_t i, start = 0, f = 0;

	memset(&in, 0, sizeof(in));
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i < size && f < FIELDS; i++) {
		if (copy[i] != '\n')
			continue;
		copy[i] = '\0';
		in.field[f++] = copy + start;
		start = i + 1;
	}
	if (f == FIELDS) {
		in.body = copy + start;
		in.body_len = size - start;
		exercise(&in);
	}
	free(copy);
	return 0;
}
