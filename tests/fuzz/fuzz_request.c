/*
 * libFuzzer harness over the untrusted request path: CGI parameter
 * parsing, query decoding, routing, uuid and enroll-body validation
 * (csr_pem included: PEM framing, PKCS#10 DER, the proof-of-possession
 * signature check and the key policy, src/pki/csr.c), the issuance
 * policy's allow-list check and name reservation keys.
 *
 * Input layout: six fields separated by '\n' -- method, path, query,
 * content type, content length, client certificate (URL-escaped PEM, as
 * nginx passes it) -- then the body (the rest).  Seeds in
 * tests/fuzz/corpus/ follow it.  `make fuzz` builds and runs it (clang).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http/request.h"
#include "policy.h"
#include "router.h"
#include "validate.h"

#define FIELDS 6

struct input {
	char		*field[FIELDS];
	const char	*body;
	size_t		 body_len, off;
};

static const char *
param(const char *name, void *arg)
{
	static const char *names[FIELDS] = { "REQUEST_METHOD", "PATH_INFO",
	    "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
	    "SSL_CLIENT_CERT" };
	struct input *in = arg;
	size_t i;

	for (i = 0; i < FIELDS; i++)
		if (strcmp(name, names[i]) == 0)
			return in->field[i];
	return NULL;
}

static int
body_read(void *arg, char *buf, int n)
{
	struct input *in = arg;
	size_t left = in->body_len - in->off;
	size_t take = (size_t)n < left ? (size_t)n : left;

	memcpy(buf, in->body + in->off, take);
	in->off += take;
	return (int)take;
}

/* Handlers are never called: the table only needs distinct rows. */
static const struct route routes[] = {
	{ HTTP_GET,	"/health",		NULL, false, false, NULL },
	{ HTTP_POST,	"/swarm/enroll",	NULL, true, false, NULL },
	{ HTTP_GET,	"/swarm/hosts",		NULL, false, false, NULL },
	{ HTTP_GET,	"/swarm/hosts/{uuid}",	NULL, false, false, NULL },
	{ HTTP_DELETE,	"/swarm/hosts/{uuid}",	NULL, false, false, NULL },
	{ HTTP_GET,	"/swarm/audit",		NULL, false, false, NULL },
};

/* An allow-list as an operator might configure it (built once). */
static const struct name_policy *
fuzz_policy(void)
{
	static struct name_policy p;
	static int ready;
	struct sc_error err = { SC_OK, "" };

	if (!ready) {
		(void)policy_allow(&p, "swarm.test", &err);
		(void)policy_allow(&p, "10.0.0.0/8", &err);
		(void)policy_allow(&p, "2001:db8::/32", &err);
		ready = 1;
	}
	return &p;
}

/* What enrollment does with a valid request before any side effect. */
static void
exercise_names(const struct enroll_req *er)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	const char *names[ENROLL_SANS_MAX + 2], *keys[ENROLL_SANS_MAX + 2];
	char buf[(ENROLL_SANS_MAX + 2) * (ENROLL_HOST_MAX + 1)];
	size_t i, n = 0;

	if (validate_enroll_policy(er, fuzz_policy(), &detail, &err) ==
	    SC_INVALID)
		json_object_put(detail);
	for (i = 0; i < er->nsans; i++)
		names[n++] = er->sans[i];
	names[n++] = er->address;
	names[n++] = er->name;
	(void)policy_name_keys(names, n, buf, sizeof(buf), keys, n);
}

static void
exercise(struct input *in)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct http_request req;
	struct enroll_req er;
	struct hosts_query q;
	const struct route *route;
	char param_buf[ROUTE_PARAM_MAX], allow[64], uuid[37];

	if (http_request_parse(&req, param, in, 65536, &err) != SC_OK)
		goto out;
	if (router_match(routes, sizeof(routes) / sizeof(routes[0]),
	    req.method, req.path, &route, param_buf, allow,
	    sizeof(allow)) != ROUTE_FOUND)
		goto out;
	if (route->json_body) {
		if (http_request_read_body(&req, body_read, in, &err) != SC_OK)
			goto out;
		if (validate_enroll(req.body, req.body_len, &er, &detail,
		    &err) == SC_OK) {
			exercise_names(&er);
			enroll_req_clear(&er);
		}
		json_object_put(detail);
	} else if (param_buf[0] != '\0') {
		(void)validate_uuid(param_buf, uuid);
	} else if (strcmp(route->pattern, "/swarm/audit") == 0) {
		int limit;

		if (validate_audit_query(req.query, &limit, &detail, &err) ==
		    SC_INVALID)
			json_object_put(detail);
	} else {
		if (validate_hosts_query(req.query, &q, &detail, &err) ==
		    SC_INVALID)
			json_object_put(detail);
	}
out:
	http_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	char *copy;
	size_t i, start = 0, f = 0;

	memset(&in, 0, sizeof(in));
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i < size && f < FIELDS; i++) {
		if (copy[i] != '\n')
			continue;
		copy[i] = '\0';
		in.field[f++] = copy + start;
		start = i + 1;
	}
	if (f == FIELDS) {
		in.body = copy + start;
		in.body_len = size - start;
		exercise(&in);
	}
	free(copy);
	return 0;
}
