/*
 * The agent's HTTPS client: one request to the controller through
 * libcurl (GnuTLS backend).  Bounded: connect 10 s, whole exchange 60 s,
 * answer body at most AGENT_HTTP_BODY_MAX bytes.  Nothing is logged; the
 * bearer token and the key are never printed.
 */
#ifndef SC_AGENT_HTTP_H
#define SC_AGENT_HTTP_H

#include <stddef.h>

#include "err.h"

#define AGENT_HTTP_BODY_MAX	(256 * 1024)

struct agent_http {
	const char	*url;		/* https://host[:port], no trailing / */
	/*
	 * The sole trust anchor for the controller's certificate (the
	 * front-end CA), hostname checked; NULL only for the first contact,
	 * which fetches that CA unverified and checks its fingerprint.
	 */
	const char	*ca_file;
	const char	*cert_file;	/* client certificate, or NULL */
	const char	*key_file;
	const char	*bearer;	/* Authorization: Bearer, or NULL */
};

struct agent_reply {
	long	 status;	/* HTTP status */
	char	*body;		/* NUL-terminated, malloc'd */
	size_t	 len;
};

/*
 * METHOD url+path, with `json` as an application/json body if not NULL.
 * SC_OK when an answer arrived (whatever its status); SC_IO when none
 * did (connection, TLS, timeout, oversized answer), err saying why.
 */
enum sc_err	 agent_http_call(const struct agent_http *, const char *method,
		    const char *path, const char *json, struct agent_reply *,
		    struct sc_error *);
void		 agent_reply_free(struct agent_reply *);

/* Once per process, before any call. */
enum sc_err	 agent_http_init(struct sc_error *);
void		 agent_http_deinit(void);

#endif
