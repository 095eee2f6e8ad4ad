/*
 * Responses: handlers fill a struct http_response; only this module turns
 * it into bytes (CGI-style "Status:" header block + body) and only
 * http_status_for() maps an enum sc_err to a status code.
 *
 * A response is buffered unless the handler starts a stream: then the
 * header block goes out at once and the body is flushed in chunks, so a
 * list of 100,000 hosts never sits in memory whole.
 *
 * Every response says "Cache-Control: no-store": an enrollment bundle
 * carries a private key, and nothing this API answers is meant to be
 * kept by a cache (RFC 9111 5.2.2.5).  A response to HEAD (`head`) is
 * built exactly as for GET, with the same headers and Content-Length,
 * and its body is never written (RFC 9110 9.3.2).
 */
#ifndef SC_HTTP_RESPONSE_H
#define SC_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct json_object;

#define HTTP_JSON	"application/json"

/* Where bytes go: the FastCGI stream in production, memory in tests. */
struct http_sink {
	int	(*write)(void *arg, const char *, size_t);	/* -1 on error */
	void	*arg;
};

struct http_response {
	int		 status;
	char		 allow[64];	/* 405: the Allow header value */
	/* 401: "WWW-Authenticate: Bearer" (RFC 6750 3) */
	bool		 bearer_challenge;
	const char	*content_type;	/* NULL: no body type (204) */
	bool		 streaming;	/* headers already sent */
	bool		 failed;	/* the sink failed: client gone */
	bool		 secret;	/* holds a private key: wipe on free */
	bool		 head;		/* HEAD: headers as for GET, no body */
	char		*buf;
	size_t		 len, cap;
	struct http_sink sink;
};

void		 http_response_init(struct http_response *, struct http_sink);
void		 http_response_free(struct http_response *);

int		 http_response_append(struct http_response *, const char *,
		    size_t);
int		 http_response_append_str(struct http_response *, const char *);
/*
 * Room for n more body bytes: where to write them (NULL when out of
 * memory).  http_response_commit then makes the first `used` (<= n) of
 * them part of the body.  For renderers that write many small pieces.
 */
char		*http_response_reserve(struct http_response *, size_t n);
int		 http_response_commit(struct http_response *, size_t used);
/* Serialise a json-c object as the whole body with this status. */
int		 http_response_json(struct http_response *, int status,
		    struct json_object *);
/* {"detail": "<text>"} */
int		 http_response_detail(struct http_response *, int status,
		    const char *detail);
/*
 * What a client is told about an unavailable dependency (the 503 codes:
 * which dependency, never a path or a server message); NULL for others.
 */
const char	*http_error_detail(enum sc_err);
/* An error from any layer: status from the code; 5xx details are generic. */
void		 http_response_error(struct http_response *,
		    const struct sc_error *);
void		 http_response_empty(struct http_response *, int status);
/* A whole non-JSON body (e.g. a PEM file) with its media type. */
int		 http_response_blob(struct http_response *, int status,
		    const char *content_type, const char *, size_t);

/* Send headers now; later appends are flushed in chunks. */
int		 http_response_stream_begin(struct http_response *, int status);
/* Write whatever is pending (headers first if not yet sent). */
int		 http_response_finish(struct http_response *);

int		 http_status_for(enum sc_err);
const char	*http_reason(int status);

#endif
