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

struct route_caller;
struct route_input_value;

/* A handler sees the request's decoded input, never its raw fields. */
typedef enum sc_err (*route_handler)(struct handler_ctx *,
    const struct http_request *, const struct route_input_value *,
    struct http_response *, struct sc_error *);
/*
 * A credential route's admission: who the bearer token or worker
 * certificate names (into *caller), or the answer already given
 * (*done: 503, 401, 403), before any of the body is decoded.
 */
typedef enum sc_err (*route_admit)(struct handler_ctx *,
    const struct http_request *, struct route_caller *,
    struct http_response *, bool *done, struct sc_error *);

enum route_access {
	ROUTE_PUBLIC,		/* anyone */
	ROUTE_OPERATOR,		/* an operator (auth.h), database ready */
	ROUTE_CREDENTIAL,	/* what the route's `admit` accepts */
};

enum route_audit {
	/* A row per refused or failed request, naming who and what. */
	AUDIT_ROWS,
	/* Never a row per request: refusals counted (handlers.h). */
	AUDIT_COUNTED,
};

/*
 * One row per route, written with designated initializers.  app.c does
 * what a row declares, in order: access (operator check or admission),
 * the cross-site check, the JSON body, `input` decoded (enum
 * route_input, decode.h) or refused, then the handler; a refusal or
 * failure after access is audited once, under `audit_action`, there.
 */
struct route {
	enum http_method method;
	const char	*pattern;
	route_handler	 handler;
	enum route_access access;
	route_admit	 admit;		/* ROUTE_CREDENTIAL */
	bool		 json_body;	/* POST body: 413/415/400 checks apply */
	int		 input;		/* enum route_input */
	const char	*audit_action;	/* changes state: failures audited */
	enum route_audit audit;
	const char	*not_found;	/* INPUT_UUID: malformed id's 404 */
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
