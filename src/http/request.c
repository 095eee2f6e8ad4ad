#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "http/request.h"

static const struct {
	const char		*name;
	enum http_method	 method;
} methods[] = {
	{ "GET",	HTTP_GET },
	{ "HEAD",	HTTP_HEAD },
	{ "POST",	HTTP_POST },
	{ "PUT",	HTTP_PUT },
	{ "DELETE",	HTTP_DELETE },
	{ "PATCH",	HTTP_PATCH },
	{ "OPTIONS",	HTTP_OPTIONS },
};

enum http_method
http_method_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].method;
	return HTTP_OTHER;
}

const char *
http_method_name(enum http_method m)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == m)
			return methods[i].name;
	return "OTHER";
}

/*
 * CONTENT_LENGTH is decimal digits only (RFC 9110 8.6): no sign, no
 * spaces, no hex.  Overflow is caught before it happens.
 */
static int
parse_length(const char *s, size_t *out)
{
	size_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* "application/json", any case, optionally followed by ";params". */
static bool
is_json_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (ct == NULL || strncasecmp(ct, json, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Copy a parameter that must fit; an over-long one is the client's fault. */
static int
copy_param(char *dst, size_t dstsz, const char *src)
{
	size_t n;

	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	n = strlen(src);
	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/*
 * %XX-decode the client certificate.  '+' stays '+': it is a base64
 * character, and nginx escapes spaces as %20, never as '+'.
 */
static int
decode_client_cert(struct http_request *req, const char *s)
{
	size_t n = strlen(s);
	char *out;
	long o;

	if (n > 3 * HTTP_CLIENT_CERT_MAX)
		return -1;
	if ((out = malloc(n + 1)) == NULL)
		return -1;
	if ((o = codec_percent_decode(s, n, false, out, n + 1)) < 0 ||
	    (size_t)o > HTTP_CLIENT_CERT_MAX) {
		free(out);
		return -1;
	}
	req->client_cert = out;
	req->client_cert_len = (size_t)o;
	return 0;
}

bool
http_request_has_client_cert(const struct http_request *req)
{
	return req->client_verified && (req->client_cert != NULL ||
	    req->client_serial[0] != '\0');
}

/* A serial number: 1 to HTTP_SERIAL_MAX hex digits, or absent. */
static int
copy_serial(char out[HTTP_SERIAL_MAX + 1], const char *s)
{
	size_t i;

	out[0] = '\0';
	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i == HTTP_SERIAL_MAX || codec_hex_value((unsigned char)s[i]) < 0)
			return -1;
	memcpy(out, s, i + 1);
	return 0;
}

/*
 * An origin as RFC 6454 6.1 serialises it, lowercased, with the scheme's
 * default port dropped (browsers omit it; a Host header may carry it).
 * -1 if it does not fit.
 */
static int
origin_normalise(char *out, size_t outsz, const char *scheme,
    const char *authority)
{
	size_t n = strlen(authority), i;
	const char *dflt = strcmp(scheme, "https") == 0 ? ":443" : ":80";
	size_t dlen = strlen(dflt);
	int w;

	if (n > dlen && strcmp(authority + n - dlen, dflt) == 0)
		n -= dlen;
	w = snprintf(out, outsz, "%s://%.*s", scheme, (int)n, authority);
	if (w < 0 || (size_t)w >= outsz)
		return -1;
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 0;
}

/* Origin: "scheme://authority" (or "null"), normalised like ours. */
static void
parse_origin(struct http_request *req, const char *v)
{
	const char *sep;
	char scheme[8];
	size_t n;

	req->origin[0] = '\0';
	if (v == NULL)
		return;
	req->has_origin = true;
	if ((sep = strstr(v, "://")) == NULL ||
	    (n = (size_t)(sep - v)) >= sizeof(scheme))
		return;		/* "null", or nothing we could be */
	memcpy(scheme, v, n);
	scheme[n] = '\0';
	if (strcasecmp(scheme, "https") == 0)
		strcpy(scheme, "https");
	else if (strcasecmp(scheme, "http") == 0)
		strcpy(scheme, "http");
	else
		return;
	if (origin_normalise(req->origin, sizeof(req->origin), scheme,
	    sep + 3) == -1)
		req->origin[0] = '\0';
}

static enum http_fetch_site
parse_fetch_site(const char *v)
{
	if (v == NULL)
		return HTTP_FETCH_SITE_ABSENT;
	if (strcmp(v, "same-origin") == 0)
		return HTTP_FETCH_SITE_SAME_ORIGIN;
	if (strcmp(v, "none") == 0)
		return HTTP_FETCH_SITE_NONE;
	return HTTP_FETCH_SITE_OTHER;
}

bool
http_request_cross_site(const struct http_request *req)
{
	if (req->fetch_site == HTTP_FETCH_SITE_OTHER)
		return true;
	return req->has_origin && (req->origin[0] == '\0' ||
	    req->self_origin[0] == '\0' ||
	    strcmp(req->origin, req->self_origin) != 0);
}

enum sc_err
http_request_parse(struct http_request *req, http_param_fn param, void *arg,
    size_t max_body, struct sc_error *err)
{
	const char *v;

	memset(req, 0, sizeof(*req));
	v = param("REQUEST_METHOD", arg);
	req->method = http_method_parse(v);
	if (copy_param(req->method_name, sizeof(req->method_name), v) == -1)
		strcpy(req->method_name, "OTHER");

	if (copy_param(req->remote_addr, sizeof(req->remote_addr),
	    param("REMOTE_ADDR", arg)) == -1)
		req->remote_addr[0] = '\0';
	if (copy_param(req->path, sizeof(req->path),
	    param("PATH_INFO", arg)) == -1) {
		strcpy(req->path, "(too long)");
		return sc_error_set(err, SC_BAD_REQUEST, "request path too long");
	}
	if (copy_param(req->query, sizeof(req->query),
	    param("QUERY_STRING", arg)) == -1)
		return sc_error_set(err, SC_BAD_REQUEST, "query string too long");

	req->tls = (v = param("HTTPS", arg)) != NULL &&
	    strcasecmp(v, "on") == 0;
	req->client_verified = (v = param("SSL_CLIENT_VERIFY", arg)) != NULL &&
	    strcmp(v, "SUCCESS") == 0;
	if ((v = param("SSL_CLIENT_CERT", arg)) != NULL && *v != '\0' &&
	    decode_client_cert(req, v) == -1)
		return sc_error_set(err, SC_BAD_REQUEST,
		    "malformed client certificate parameter");
	if (copy_serial(req->client_serial, param("SSL_CLIENT_M_SERIAL",
	    arg)) == -1 || copy_param(req->client_issuer,
	    sizeof(req->client_issuer), param("SSL_CLIENT_I_DN", arg)) == -1)
		return sc_error_set(err, SC_BAD_REQUEST,
		    "malformed client certificate serial or issuer parameter");

	if (copy_param(req->authorization, sizeof(req->authorization),
	    param("HTTP_AUTHORIZATION", arg)) == -1)
		req->authorization[0] = '\0';
	parse_origin(req, param("HTTP_ORIGIN", arg));
	req->fetch_site = parse_fetch_site(param("HTTP_SEC_FETCH_SITE", arg));
	if ((v = param("HTTP_HOST", arg)) == NULL ||
	    origin_normalise(req->self_origin, sizeof(req->self_origin),
	    req->tls ? "https" : "http", v) == -1)
		req->self_origin[0] = '\0';
	req->json_body = is_json_type(param("CONTENT_TYPE", arg));
	v = param("CONTENT_LENGTH", arg);
	if (v != NULL && *v != '\0') {
		if (parse_length(v, &req->content_length) == -1)
			return sc_error_set(err, SC_BAD_REQUEST,
			    "malformed Content-Length");
		req->has_length = true;
		if (req->content_length > max_body)
			return sc_error_set(err, SC_TOO_LARGE,
			    "request body too large (limit %zu bytes)",
			    max_body);
	}
	return SC_OK;
}

enum sc_err
http_request_read_body(struct http_request *req, http_read_fn rd, void *arg,
    struct sc_error *err)
{
	size_t got = 0;
	char extra;
	int n;

	free(req->body);
	req->body = malloc(req->content_length + 1);
	if (req->body == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory for body");
	while (got < req->content_length) {
		size_t want = req->content_length - got;

		n = rd(arg, req->body + got, want > 65536 ? 65536 : (int)want);
		if (n <= 0)
			return sc_error_set(err, SC_BAD_REQUEST,
			    "request body shorter than Content-Length "
			    "(%zu of %zu bytes)", got, req->content_length);
		got += (size_t)n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	if (rd(arg, &extra, 1) > 0)
		return sc_error_set(err, SC_BAD_REQUEST,
		    "request body longer than Content-Length");
	return SC_OK;
}

void
http_request_clear(struct http_request *req)
{
	free(req->client_cert);
	free(req->body);
	memset(req, 0, sizeof(*req));
}

int
http_query_get(const char *query, const char *key, char *out, size_t outsz)
{
	size_t keylen = strlen(key);
	const char *p = query;
	int found = 0;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > keylen && strncmp(p, key, keylen) == 0 &&
		    p[keylen] == '=') {
			if (found)
				return -1;	/* repeated key: ambiguous */
			if (codec_percent_decode(p + keylen + 1,
			    len - keylen - 1, true, out, outsz) == -1)
				return -1;
			found = 1;
		} else if (len == keylen && strncmp(p, key, keylen) == 0) {
			if (found)
				return -1;
			out[0] = '\0';	/* "?key" alone: present, empty */
			found = 1;
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}
