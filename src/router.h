/*
 * Route table matching: {method, pattern} rows, where a pattern segment
 * "{name}" matches exactly one non-empty path segment.  405 and the Allow
 * header fall out of the table: a path that matches some row but not the
 * method is "method not allowed", listing the methods that would match.
 * A GET row also serves HEAD (and Allow then lists HEAD after GET).
 */
#ifndef SC_ROUTER_H
#define SC_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "http/request.h"

struct handler_ctx;
struct http_response;

#define ROUTE_PARAM_MAX	128

typedef enum sc_err (*route_handler)(struct handler_ctx *,
    const struct http_request *, const char *param, struct http_response *,
    struct sc_error *);

struct route {
	enum http_method method;
	const char	*pattern;
	route_handler	 handler;
	bool		 json_body;	/* POST body: 413/415/400 checks apply */
	bool		 operator_only;	/* needs an operator (auth.h) */
	const char	*audit_action;	/* changes state: refusals are audited */
};

enum route_result {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,
	ROUTE_METHOD_NOT_ALLOWED,
};

/*
 * Match `path`.  On ROUTE_FOUND, *out is the row and `param` holds the
 * "{...}" segment if the pattern has one (a segment longer than
 * ROUTE_PARAM_MAX - 1 does not match).  On ROUTE_METHOD_NOT_ALLOWED,
 * `allow` holds e.g. "GET, HEAD, DELETE".
 */
enum route_result router_match(const struct route *, size_t,
		    enum http_method, const char *path, const struct route **out,
		    char param[ROUTE_PARAM_MAX], char *allow, size_t allowsz);

#endif
