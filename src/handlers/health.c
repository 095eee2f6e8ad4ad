#include "config.h"

#include "handlers/handlers.h"
#include "http/response.h"
#include "ready.h"

/*
 * Liveness only: no database or disk I/O, so a load balancer's probe never
 * adds to an outage it is trying to detect.
 */
enum sc_err
handle_health(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	static const char body[] =
	    "{\"status\":\"ok\",\"role\":\"swarm-controller\"}";

	(void)ctx;
	(void)req;
	(void)in;
	resp->status = 200;
	resp->content_type = HTTP_JSON;
	if (http_response_append(resp, body, sizeof(body) - 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

/*
 * Readiness: 200 once the routes that need the database and the CA can
 * work, else 503 saying which dependency is missing.  Like /health it
 * reads only what the readiness monitor (ready.h) last found: no
 * request ever waits on the database or the disk here.
 */
enum sc_err
handle_ready(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	static const char body[] = "{\"status\":\"ready\"}";
	struct sc_error why = { SC_OK, "" };
	const char *detail = NULL;

	(void)ctx;
	(void)req;
	(void)in;
	if (ready_status(&detail, &why) != SC_OK) {
		/* Logged with the request (a 503): the reason in full. */
		sc_error_set(err, why.code, "not ready: %s", why.msg);
		if (http_response_detail(resp, 503, detail) == -1)
			return sc_error_set(err, SC_INTERNAL, "out of memory");
		return SC_OK;
	}
	resp->status = 200;
	resp->content_type = HTTP_JSON;
	if (http_response_append(resp, body, sizeof(body) - 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}
