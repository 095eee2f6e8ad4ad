#include "config.h"

#include "handlers/handlers.h"
#include "http/response.h"

/*
 * Liveness only: no database or disk I/O, so a load balancer's probe never
 * adds to an outage it is trying to detect.
 */
enum sc_err
handle_health(struct handler_ctx *ctx, const struct http_request *req,
    const char *param, struct http_response *resp, struct sc_error *err)
{
	static const char body[] =
	    "{\"status\":\"ok\",\"role\":\"swarm-controller\"}";

	(void)ctx;
	(void)req;
	(void)param;
	resp->status = 200;
	resp->content_type = HTTP_JSON;
	if (http_response_append(resp, body, sizeof(body) - 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}
