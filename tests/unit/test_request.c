/*
 * Request parsing at the edge: CGI parameters into struct http_request,
 * bounded body reads (short, long, over the cap), query decoding.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "tap.h"

struct params {
	const char *method, *path, *query, *ctype, *clen;
	const char *verify, *serial, *issuer;
};

static const char *
param(const char *name, void *arg)
{
	struct params *p = arg;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return p->method;
	if (strcmp(name, "PATH_INFO") == 0)
		return p->path;
	if (strcmp(name, "QUERY_STRING") == 0)
		return p->query;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return p->ctype;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return p->clen;
	if (strcmp(name, "SSL_CLIENT_VERIFY") == 0)
		return p->verify;
	if (strcmp(name, "SSL_CLIENT_M_SERIAL") == 0)
		return p->serial;
	if (strcmp(name, "SSL_CLIENT_I_DN") == 0)
		return p->issuer;
	return NULL;
}

struct reader {
	const char	*data;
	size_t		 len, off;
};

static int
mem_read(void *arg, char *buf, int n)
{
	struct reader *r = arg;
	size_t left = r->len - r->off;
	size_t take = (size_t)n < left ? (size_t)n : left;

	memcpy(buf, r->data + r->off, take);
	r->off += take;
	return (int)take;
}

static enum sc_err
parse(struct params *p, struct http_request *req, size_t max)
{
	struct sc_error err = { SC_OK, "" };

	return http_request_parse(req, param, p, max, &err);
}

static void
test_params(void)
{
	struct params p = { "POST", "/swarm/enroll", "a=b",
	    "application/json; charset=utf-8", "12", NULL, NULL, NULL };
	struct http_request req;

	is_int(parse(&p, &req, 64), SC_OK, "well-formed parameters parse");
	is_int(req.method, HTTP_POST, "method POST");
	is_str(req.path, "/swarm/enroll", "path from PATH_INFO");
	is_str(req.query, "a=b", "raw query kept");
	ok(req.json_body, "application/json with charset is JSON");
	is_int(req.content_length, 12, "content length parsed");
	http_request_clear(&req);

	p.ctype = "Application/JSON";
	parse(&p, &req, 64);
	ok(req.json_body, "media type is case-insensitive");
	p.ctype = "application/jsonx";
	parse(&p, &req, 64);
	ok(!req.json_body, "application/jsonx is not JSON");
	p.ctype = "text/plain";
	parse(&p, &req, 64);
	ok(!req.json_body, "text/plain is not JSON");
	p.ctype = NULL;
	parse(&p, &req, 64);
	ok(!req.json_body, "missing Content-Type is not JSON");

	p.clen = "65";
	is_int(parse(&p, &req, 64), SC_TOO_LARGE, "Content-Length over cap: 413");
	p.clen = "64";
	is_int(parse(&p, &req, 64), SC_OK, "Content-Length at cap accepted");
	p.clen = "-1";
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "negative length: 400");
	p.clen = "1e3";
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "non-decimal length: 400");
	p.clen = "99999999999999999999999999";
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "overflowing length: 400");
	p.clen = "";
	is_int(parse(&p, &req, 64), SC_OK, "empty length means none");
	ok(!req.has_length, "no length recorded");

	p.method = "BREW";
	p.clen = NULL;
	parse(&p, &req, 64);
	is_int(req.method, HTTP_OTHER, "unknown method is HTTP_OTHER");
	p.method = NULL;
	parse(&p, &req, 64);
	is_int(req.method, HTTP_OTHER, "missing method is HTTP_OTHER");
}

static void
test_long_params(void)
{
	struct params p = { "GET", NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	struct http_request req;
	char *big = malloc(HTTP_QUERY_MAX + 10);

	memset(big, 'a', HTTP_QUERY_MAX + 9);
	big[HTTP_QUERY_MAX + 9] = '\0';
	p.path = big;
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "over-long path: 400");
	p.path = "/";
	p.query = big;
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "over-long query: 400");
	free(big);
}

static void
test_body(void)
{
	struct params p = { "POST", "/swarm/enroll", "", "application/json",
	    "5", NULL, NULL, NULL };
	struct sc_error err = { SC_OK, "" };
	struct http_request req;
	struct reader r = { "hello", 5, 0 };

	parse(&p, &req, 64);
	is_int(http_request_read_body(&req, mem_read, &r, &err), SC_OK,
	    "exact body read");
	is_str(req.body, "hello", "body bytes NUL-terminated");
	http_request_clear(&req);

	r = (struct reader){ "hel", 3, 0 };
	parse(&p, &req, 64);
	sc_error_clear(&err);
	is_int(http_request_read_body(&req, mem_read, &r, &err),
	    SC_BAD_REQUEST, "body shorter than Content-Length: 400");
	ok(strstr(err.msg, "shorter") != NULL, "error says shorter: %s",
	    err.msg);
	http_request_clear(&req);

	r = (struct reader){ "hello world", 11, 0 };
	parse(&p, &req, 64);
	sc_error_clear(&err);
	is_int(http_request_read_body(&req, mem_read, &r, &err),
	    SC_BAD_REQUEST, "body longer than Content-Length: 400");
	http_request_clear(&req);
}

static void
test_query(void)
{
	char v[16];

	is_int(http_query_get("host_status=enrolled", "host_status", v,
	    sizeof(v)), 1, "key found");
	is_str(v, "enrolled", "value decoded");
	is_int(http_query_get("a=1&host_status=a%2Db+c&z", "host_status", v,
	    sizeof(v)), 1, "key among others");
	is_str(v, "a-b c", "%%-escapes and + decoded");
	is_int(http_query_get("host_statusx=1", "host_status", v, sizeof(v)),
	    0, "prefix of another key is not the key");
	is_int(http_query_get("", "host_status", v, sizeof(v)), 0,
	    "empty query: absent");
	is_int(http_query_get("host_status=%zz", "host_status", v, sizeof(v)),
	    -1, "bad %%-escape: malformed");
	is_int(http_query_get("host_status=%4", "host_status", v, sizeof(v)),
	    -1, "truncated escape: malformed");
	is_int(http_query_get("host_status=%00", "host_status", v, sizeof(v)),
	    -1, "NUL byte: malformed");
	is_int(http_query_get("host_status=a&host_status=b", "host_status", v,
	    sizeof(v)), -1, "repeated key: malformed");
	is_int(http_query_get("host_status=0123456789abcdefg", "host_status",
	    v, sizeof(v)), -1, "value longer than buffer: malformed");
	is_int(http_query_get("host_status", "host_status", v, sizeof(v)), 1,
	    "bare key: present");
	is_str(v, "", "bare key: empty value");
}

/* The verified certificate named by serial and issuer (mod_ssl names). */
static void
test_client_serial(void)
{
	struct params p = { "GET", "/swarm/hosts", "", NULL, NULL, "SUCCESS",
	    "0A1b2C", "CN=DECNET SWARM Front-end CA,O=DECNET" };
	struct http_request req;
	char dn[HTTP_DN_MAX + 1];

	is_int(parse(&p, &req, 64), SC_OK, "serial and issuer parse");
	is_str(req.client_serial, "0A1b2C", "serial kept as sent");
	is_str(req.client_issuer, "CN=DECNET SWARM Front-end CA,O=DECNET",
	    "issuer kept as sent");
	ok(http_request_has_client_cert(&req), "a verified certificate");
	http_request_clear(&req);
	p.verify = "NONE";
	is_int(parse(&p, &req, 64), SC_OK, "unverified: parses");
	ok(!http_request_has_client_cert(&req), "... but is no certificate");
	http_request_clear(&req);
	p.verify = "SUCCESS";
	p.serial = "";
	is_int(parse(&p, &req, 64), SC_OK, "empty serial: parses");
	ok(!http_request_has_client_cert(&req), "... and names none");
	http_request_clear(&req);
	p.serial = "0123456789012345678901234567890123456789";
	is_int(parse(&p, &req, 64), SC_OK, "40 hex digits (20 octets) parse");
	http_request_clear(&req);
	p.serial = "01234567890123456789012345678901234567890";
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "41 digits: 400");
	http_request_clear(&req);
	p.serial = "12:34";
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "not hex: 400");
	http_request_clear(&req);
	p.serial = "1234";
	memset(dn, 'a', sizeof(dn) - 1);
	dn[sizeof(dn) - 1] = '\0';
	p.issuer = dn;
	is_int(parse(&p, &req, 64), SC_BAD_REQUEST, "over-long issuer: 400");
	http_request_clear(&req);
}

struct browser_params {
	const char *host, *origin, *fetch_site;
};

static const char *
browser_param(const char *name, void *arg)
{
	struct browser_params *p = arg;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "HTTPS") == 0)
		return "on";
	if (strcmp(name, "HTTP_HOST") == 0)
		return p->host;
	if (strcmp(name, "HTTP_ORIGIN") == 0)
		return p->origin;
	if (strcmp(name, "HTTP_SEC_FETCH_SITE") == 0)
		return p->fetch_site;
	return NULL;
}

/* cross_site ORIGIN FETCH-SITE HOST — parse, then ask the question. */
static int
cross_site(const char *origin, const char *fetch_site, const char *host)
{
	struct browser_params p = { host, origin, fetch_site };
	struct sc_error err = { SC_OK, "" };
	struct http_request req;
	int v;

	if (http_request_parse(&req, browser_param, &p, 64, &err) != SC_OK)
		return -1;
	v = http_request_cross_site(&req);
	http_request_clear(&req);
	return v;
}

static void
test_cross_site(void)
{
	char big[HTTP_ORIGIN_MAX + 16];

	is_int(cross_site(NULL, NULL, "127.0.0.1:8443"), 0,
	    "no Origin, no Sec-Fetch-Site (curl): not cross-site");
	is_int(cross_site("https://127.0.0.1:8443", "same-origin",
	    "127.0.0.1:8443"), 0, "same origin");
	is_int(cross_site(NULL, "none", "127.0.0.1:8443"), 0,
	    "Sec-Fetch-Site none (user typed it)");
	is_int(cross_site("HTTPS://Controller.Example", NULL,
	    "controller.example:443"), 0,
	    "case and the default port do not matter");
	is_int(cross_site(NULL, "cross-site", "127.0.0.1:8443"), 1,
	    "Sec-Fetch-Site cross-site");
	is_int(cross_site(NULL, "same-site", "127.0.0.1:8443"), 1,
	    "Sec-Fetch-Site same-site (another origin of the site)");
	is_int(cross_site("https://evil.example", NULL, "127.0.0.1:8443"), 1,
	    "another Origin");
	is_int(cross_site("http://127.0.0.1:8443", NULL, "127.0.0.1:8443"), 1,
	    "another scheme");
	is_int(cross_site("https://127.0.0.1:8444", "same-origin",
	    "127.0.0.1:8443"), 1, "another port, whatever Sec-Fetch-Site says");
	is_int(cross_site("null", NULL, "127.0.0.1:8443"), 1,
	    "Origin null (sandboxed frame, file:)");
	is_int(cross_site("https://127.0.0.1:8443", NULL, NULL), 1,
	    "an Origin and no Host to compare it with");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://", 8);
	is_int(cross_site(big, NULL, "127.0.0.1:8443"), 1,
	    "an over-long Origin is not ours");
}

int
main(void)
{
	test_cross_site();
	test_params();
	test_client_serial();
	test_long_params();
	test_body();
	test_query();
	return done_testing();
}
