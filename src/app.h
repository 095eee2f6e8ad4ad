/*
 * The application: the route table and the path of one request through
 * it (route, body rules, handler, error rendering).  Transport-neutral:
 * server.c feeds it from FastCGI, the unit tests and the fuzzer from
 * memory.
 */
#ifndef SC_APP_H
#define SC_APP_H

#include "err.h"
#include "http/request.h"

struct handler_ctx;
struct http_response;

/*
 * Serve `req` (already parsed; `parse_rc` is what http_request_parse
 * returned, with `err` holding its context).  The response is filled
 * (or, for a streamed list, partly sent).  On return `err` holds the
 * failure to log, if any.
 */
void	app_handle(struct handler_ctx *, struct http_request *,
	    enum sc_err parse_rc, http_read_fn, void *rdarg,
	    struct http_response *, struct sc_error *err);

/* The route table (for the fuzzer: each row's declared input). */
struct route;
const struct route *app_routes(size_t *n);

#endif
