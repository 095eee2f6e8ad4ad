/*
 * An HTTP request as the responder sees it, parsed from FastCGI (CGI/1.1)
 * parameters into a typed struct before anything else looks at it.
 * Nothing here knows about libfcgi: parameters and the body arrive
 * through callbacks, so the parser is unit-testable and fuzzable.
 */
#ifndef SC_HTTP_REQUEST_H
#define SC_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "http/peer.h"

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_PATCH,
	HTTP_OPTIONS,
	HTTP_OTHER,
};

#define HTTP_PATH_MAX		1024
#define HTTP_QUERY_MAX		2048
#define HTTP_ADDR_MAX		64
#define HTTP_DEFAULT_MAX_BODY	(64 * 1024)
#define HTTP_CLIENT_CERT_MAX	(16 * 1024)	/* PEM, after URL-decoding */
#define HTTP_SERIAL_MAX		40	/* hex digits: RFC 5280 4.1.2.2 */
#define HTTP_DN_MAX		512
#define HTTP_AUTHORIZATION_MAX	256	/* a bootstrap token's header */
#define HTTP_ORIGIN_MAX		320	/* scheme://host:port, RFC 6454 */

/* Sec-Fetch-Site (Fetch Metadata): what the browser says of the request. */
enum http_fetch_site {
	HTTP_FETCH_SITE_ABSENT,		/* not a browser, or an old one */
	HTTP_FETCH_SITE_SAME_ORIGIN,
	HTTP_FETCH_SITE_NONE,		/* typed by the user, a bookmark */
	HTTP_FETCH_SITE_OTHER,		/* same-site, cross-site, unknown */
};

struct http_request {
	enum http_method method;
	char		 method_name[16];	/* for the log line */
	char		 path[HTTP_PATH_MAX];	/* PATH_INFO */
	char		 query[HTTP_QUERY_MAX];	/* raw QUERY_STRING */
	bool		 json_body;	/* Content-Type is application/json */
	bool		 has_length;	/* CONTENT_LENGTH was present */
	size_t		 content_length;
	char		 remote_addr[HTTP_ADDR_MAX];
	bool		 tls;		/* HTTPS=on: the front end spoke TLS */
	/*
	 * The TLS client certificate as the front end verified it: the
	 * mod_ssl names SSL_CLIENT_VERIFY ("SUCCESS", "NONE", "FAILED:...")
	 * and SSL_CLIENT_CERT (PEM; nginx's $ssl_client_escaped_cert is
	 * URL-encoded, Apache's is plain: both decode the same way).
	 */
	bool		 client_verified;	/* SSL_CLIENT_VERIFY=SUCCESS */
	char		*client_cert;		/* owned, NUL-terminated, or NULL */
	size_t		 client_cert_len;
	/*
	 * Or only the verified certificate's serial number and issuer:
	 * mod_ssl's SSL_CLIENT_M_SERIAL (hex digits, as nginx's
	 * $ssl_client_serial gives them) and SSL_CLIENT_I_DN (RFC 2253).
	 * That is all the shipped nginx block passes: the certificates table
	 * knows the rest, and nginx need not escape a PEM for every request.
	 * Empty when absent.
	 */
	char		 client_serial[HTTP_SERIAL_MAX + 1];
	char		 client_issuer[HTTP_DN_MAX];
	/*
	 * The Authorization header (HTTP_AUTHORIZATION: nginx passes request
	 * headers as HTTP_* parameters).  Empty when absent or longer than
	 * any credential this service accepts.
	 */
	char		 authorization[HTTP_AUTHORIZATION_MAX];
	/*
	 * Where a browser says the request comes from, for the cross-site
	 * check on state changes (app.c): the Origin header (has_origin, and
	 * origin empty when it was too long to be one of ours), the origin
	 * the request was sent to -- scheme from HTTPS, authority from the
	 * Host header, default port dropped -- and Sec-Fetch-Site.
	 */
	bool		 has_origin;
	char		 origin[HTTP_ORIGIN_MAX];
	char		 self_origin[HTTP_ORIGIN_MAX];	/* "" without Host */
	enum http_fetch_site fetch_site;
	char		*body;		/* NUL-terminated, owned; NULL if none */
	size_t		 body_len;
	/*
	 * Who sent the request: the FastCGI connection's peer as the kernel
	 * tells it.  Not a parameter: http_request_parse leaves it empty and
	 * the server fills it in.
	 */
	struct http_peer peer;
};

/* Returns a parameter's value or NULL; the string lives until the next call. */
typedef const char *(*http_param_fn)(const char *name, void *arg);
/* Reads up to n bytes; returns the count, 0 at end of input, -1 on error. */
typedef int (*http_read_fn)(void *arg, char *buf, int n);

/*
 * Fill `req` from CGI parameters.  Over-long PATH_INFO or QUERY_STRING, a
 * malformed CONTENT_LENGTH, or one over `max_body` fail here (400/413),
 * before a byte of the body is read.
 */
/*
 * The front end verified a client certificate and passed it (PEM) or its
 * serial and issuer.
 */
bool		 http_request_has_client_cert(const struct http_request *);
/*
 * A browser says the request is cross-site: Sec-Fetch-Site is present
 * and neither same-origin nor none, or Origin is present and is not the
 * request's own origin.  Clients that send neither (curl, agents) are
 * never cross-site.
 */
bool		 http_request_cross_site(const struct http_request *);

enum sc_err	 http_request_parse(struct http_request *, http_param_fn,
		    void *, size_t max_body, struct sc_error *);
/*
 * Read exactly content_length bytes of body.  A body shorter than its
 * Content-Length (the peer went away) or longer is a 400.
 */
enum sc_err	 http_request_read_body(struct http_request *, http_read_fn,
		    void *, struct sc_error *);
void		 http_request_clear(struct http_request *);

enum http_method http_method_parse(const char *);
const char	*http_method_name(enum http_method);

/*
 * Find `key` in an application/x-www-form-urlencoded query and decode its
 * value into out (NUL-terminated).  Returns 1 found, 0 absent, -1 if the
 * value is malformed (bad %-escape, NUL, too long) or the key repeats.
 */
int		 http_query_get(const char *query, const char *key, char *out,
		    size_t outsz);

#endif
