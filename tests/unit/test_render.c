/*
 * What goes on the wire: SwarmHostView and EnrolledBundle shapes, the
 * CGI header block (Status, Content-Type, Allow, Content-Length, 204
 * without a body), streaming, and error mapping through app_handle for
 * the paths that need no database (health, 404, 405, 403 for anonymous
 * clients on operator routes).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "conf.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "http/response.h"
#include "pki/pki.h"
#include "render.h"
#include "tap.h"

struct wire {
	char	buf[65536];
	size_t	len;
};

static int
wire_write(void *arg, const char *p, size_t n)
{
	struct wire *w = arg;

	if (w->len + n >= sizeof(w->buf))
		return -1;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = '\0';
	return 0;
}

static const char *
body_of(struct wire *w)
{
	char *p = strstr(w->buf, "\r\n\r\n");

	return p ? p + 4 : "";
}

/* Render a host view into a buffered response and parse it back. */
static struct json_object *
view_of(const struct db_host *h)
{
	struct wire w = { "", 0 };
	struct http_sink sink = { wire_write, &w };
	struct http_response resp;
	struct json_object *obj = NULL;

	http_response_init(&resp, sink);
	if (render_host_view(&resp, h) == 0)
		obj = json_tokener_parse(resp.buf);
	http_response_free(&resp);
	return obj;
}

static void
test_host_view(void)
{
	struct db_host h;
	struct json_object *obj, *v;

	memset(&h, 0, sizeof(h));
	strcpy(h.uuid, "0b6f2d6e-6c39-4c5e-9d0e-1f2a3b4c5d6e");
	h.name = "w1";
	h.address = "10.0.0.5";
	h.agent_port = 8765;
	h.status = "enrolled";
	h.client_cert_fingerprint = "ab";
	strcpy(h.enrolled_at, "2026-04-18T23:18:33.123456Z");
	obj = view_of(&h);
	ok(obj != NULL, "host view renders as valid JSON");
	is_int(json_object_object_length(obj), 11,
	    "eleven fields (issue 11 added two)");
	ok(json_object_object_get_ex(obj, "cert_not_after", &v) && v == NULL,
	    "cert_not_after null when unknown");
	ok(json_object_object_get_ex(obj, "agent_version", &v) && v == NULL,
	    "agent_version null before a heartbeat");
	ok(json_object_object_get_ex(obj, "agent_port", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int(v) == 8765, "agent_port is the number 8765");
	ok(json_object_object_get_ex(obj, "last_heartbeat", &v) && v == NULL,
	    "last_heartbeat null");
	ok(json_object_object_get_ex(obj, "notes", &v) && v == NULL,
	    "notes null");
	ok(json_object_object_get_ex(obj, "enrolled_at", &v) &&
	    strcmp(json_object_get_string(v), h.enrolled_at) == 0,
	    "enrolled_at as given");
	ok(json_object_object_get_ex(obj, "uuid", &v) &&
	    strcmp(json_object_get_string(v), h.uuid) == 0, "uuid");
	ok(!json_object_object_get_ex(obj, "cert_bundle_path", NULL),
	    "bundle path is not exposed");
	json_object_put(obj);
	/* Every character a note may hold survives the round trip. */
	h.notes = "rack \"4\" \\ tab\there\nnew line \x01 \x1f caf\xc3\xa9 /";
	h.last_heartbeat = "2026-04-18T23:20:00.000000Z";
	strcpy(h.cert_not_after, "2026-07-17T23:18:33.000000Z");
	h.agent_version = "agent \"1.0\"";
	obj = view_of(&h);
	ok(obj != NULL && json_object_object_get_ex(obj, "notes", &v) &&
	    strcmp(json_object_get_string(v), h.notes) == 0,
	    "quotes, backslash, control characters and UTF-8 round-trip");
	ok(obj != NULL && json_object_object_get_ex(obj, "last_heartbeat", &v) &&
	    strcmp(json_object_get_string(v), h.last_heartbeat) == 0,
	    "last_heartbeat string");
	ok(obj != NULL && json_object_object_get_ex(obj, "cert_not_after", &v) &&
	    strcmp(json_object_get_string(v), h.cert_not_after) == 0,
	    "cert_not_after string");
	ok(obj != NULL && json_object_object_get_ex(obj, "agent_version", &v) &&
	    strcmp(json_object_get_string(v), h.agent_version) == 0,
	    "agent_version string, escaped");
	json_object_put(obj);
	/* The worst case for the space reserved: every byte escaped. */
	{
		static char worst[4097];
		size_t i;

		for (i = 0; i < sizeof(worst) - 1; i++)
			worst[i] = (char)(1 + i % 31);
		h.notes = worst;
		h.name = "\"\\\"\\";
		obj = view_of(&h);
		ok(obj != NULL && json_object_object_get_ex(obj, "notes", &v) &&
		    strcmp(json_object_get_string(v), worst) == 0 &&
		    json_object_object_get_ex(obj, "name", &v) &&
		    strcmp(json_object_get_string(v), h.name) == 0,
		    "4096 control characters (6 bytes each in JSON) round-trip");
		json_object_put(obj);
	}
}

static void
test_bundle(void)
{
	struct wire w = { "", 0 };
	struct http_sink sink = { wire_write, &w };
	struct http_response resp;
	struct pki_issued issued;
	struct db_host h;
	struct json_object *obj, *v;
	char key[] = "-----BEGIN PRIVATE KEY-----\nABC+/=\n"
	    "-----END PRIVATE KEY-----\n";

	memset(&h, 0, sizeof(h));
	memset(&issued, 0, sizeof(issued));
	strcpy(h.uuid, "0b6f2d6e-6c39-4c5e-9d0e-1f2a3b4c5d6e");
	h.name = "w1";
	h.address = "10.0.0.5";
	h.agent_port = 9000;
	issued.cert_pem = "-----BEGIN CERTIFICATE-----\nQ\n"
	    "-----END CERTIFICATE-----\n";
	issued.key_pem = key;
	issued.key_pem_len = strlen(key);
	strcpy(issued.fingerprint, "00ff");
	http_response_init(&resp, sink);
	is_int(render_enrolled_bundle(&resp, &h, "CA PEM\n", &issued), 0,
	    "bundle renders");
	ok(resp.secret, "response marked secret");
	is_int(resp.status, 201, "201 Created");
	http_response_finish(&resp);
	http_response_free(&resp);
	obj = json_tokener_parse(body_of(&w));
	ok(obj != NULL, "bundle body is valid JSON");
	is_int(json_object_object_length(obj), 8, "eight fields");
	ok(json_object_object_get_ex(obj, "worker_key_pem", &v) &&
	    strcmp(json_object_get_string(v), key) == 0,
	    "key round-trips exactly");
	ok(json_object_object_get_ex(obj, "host_uuid", &v) &&
	    strcmp(json_object_get_string(v), h.uuid) == 0, "host_uuid");
	ok(json_object_object_get_ex(obj, "agent_port", &v) &&
	    json_object_get_int(v) == 9000, "agent_port number");
	ok(json_object_object_get_ex(obj, "ca_cert_pem", &v) &&
	    strcmp(json_object_get_string(v), "CA PEM\n") == 0, "ca_cert_pem");
	json_object_put(obj);
}

static void
test_headers(void)
{
	struct wire w = { "", 0 };
	struct http_sink sink = { wire_write, &w };
	struct http_response resp;
	char big[40000];

	http_response_init(&resp, sink);
	http_response_detail(&resp, 404, "Not Found");
	http_response_finish(&resp);
	ok(strncmp(w.buf, "Status: 404 Not Found\r\n", 23) == 0,
	    "status line");
	ok(strstr(w.buf, "Content-Type: application/json\r\n") != NULL,
	    "JSON content type");
	ok(strstr(w.buf, "Content-Length: 22\r\n") != NULL, "content length");
	ok(strstr(w.buf, "Cache-Control: no-store\r\n") != NULL,
	    "Cache-Control: no-store");
	is_str(body_of(&w), "{\"detail\":\"Not Found\"}", "detail body");
	http_response_free(&resp);

	/* HEAD: the same header block, Content-Length included; no body. */
	w.len = 0;
	http_response_init(&resp, sink);
	resp.head = true;
	http_response_detail(&resp, 404, "Not Found");
	http_response_finish(&resp);
	ok(strstr(w.buf, "Content-Length: 22\r\n") != NULL,
	    "HEAD: the GET's Content-Length");
	is_str(body_of(&w), "", "HEAD: no body");
	http_response_free(&resp);
	w.len = 0;
	http_response_init(&resp, sink);
	resp.head = true;
	http_response_stream_begin(&resp, 200);
	memset(big, 'x', sizeof(big));
	http_response_append(&resp, big, sizeof(big));
	http_response_finish(&resp);
	ok(strncmp(w.buf, "Status: 200 OK\r\n", 16) == 0 &&
	    strstr(w.buf, "Cache-Control: no-store\r\n") != NULL,
	    "HEAD of a stream: its headers");
	is_str(body_of(&w), "", "HEAD of a stream: no body");
	http_response_free(&resp);

	w.len = 0;
	http_response_init(&resp, sink);
	http_response_empty(&resp, 204);
	http_response_finish(&resp);
	is_str(w.buf, "Status: 204 No Content\r\nCache-Control: no-store\r\n"
	    "\r\n", "204: no body, no type");
	http_response_free(&resp);

	w.len = 0;
	http_response_init(&resp, sink);
	http_response_stream_begin(&resp, 200);
	ok(w.len > 0, "stream sends headers at once");
	ok(strstr(w.buf, "Content-Length") == NULL, "stream has no length");
	memset(big, 'x', sizeof(big));
	http_response_append(&resp, big, sizeof(big));
	ok(resp.len == 0, "large append flushed");
	http_response_append(&resp, "]", 1);
	http_response_finish(&resp);
	is_int(strlen(body_of(&w)), sizeof(big) + 1, "all bytes streamed");
	http_response_free(&resp);
}

/* Drive app_handle as a worker would, without database or CA. */
struct fake {
	const char	*method, *path, *ctype, *clen, *body;
	size_t		 off;
};

static const char *
fake_param(const char *name, void *arg)
{
	struct fake *f = arg;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return f->method;
	if (strcmp(name, "PATH_INFO") == 0)
		return f->path;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return f->ctype;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->clen;
	return NULL;
}

static int
fake_read(void *arg, char *buf, int n)
{
	struct fake *f = arg;
	size_t left = strlen(f->body) - f->off;
	size_t take = (size_t)n < left ? (size_t)n : left;

	memcpy(buf, f->body + f->off, take);
	f->off += take;
	return (int)take;
}

static int
request(struct fake *f, struct wire *w)
{
	struct config cfg;
	struct handler_ctx ctx;
	struct sc_error err = { SC_OK, "" };
	struct http_request req;
	struct http_response resp;
	struct http_sink sink = { wire_write, w };
	enum sc_err rc;
	int status;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_body = 1024;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	w->len = 0;
	w->buf[0] = '\0';
	http_response_init(&resp, sink);
	rc = http_request_parse(&req, fake_param, f, cfg.max_body, &err);
	app_handle(&ctx, &req, rc, fake_read, f, &resp, &err);
	http_response_finish(&resp);
	status = resp.status;
	http_response_free(&resp);
	http_request_clear(&req);
	return status;
}

static void
test_app(void)
{
	struct wire w;
	struct fake f = { "GET", "/health", NULL, NULL, "", 0 };

	is_int(request(&f, &w), 200, "GET /health: 200");
	is_str(body_of(&w), "{\"status\":\"ok\",\"role\":\"swarm-controller\"}",
	    "health body");
	f.path = "/swarm/health";
	is_int(request(&f, &w), 200, "GET /swarm/health: 200");
	f.path = "/nowhere";
	is_int(request(&f, &w), 404, "unknown path: 404");
	is_str(body_of(&w), "{\"detail\":\"Not Found\"}", "404 detail");
	f.method = "PUT";
	f.path = "/swarm/enroll";
	is_int(request(&f, &w), 405, "PUT /swarm/enroll: 405");
	ok(strstr(w.buf, "Allow: POST\r\n") != NULL, "Allow: POST header");
	is_str(body_of(&w), "{\"detail\":\"Method Not Allowed\"}",
	    "405 detail");
	f.method = "HEAD";
	f.path = "/health";
	is_int(request(&f, &w), 200, "HEAD /health: 200");
	ok(strstr(w.buf, "Content-Length: 41\r\n") != NULL &&
	    strstr(w.buf, "Content-Type: application/json\r\n") != NULL,
	    "  ... GET's Content-Type and Content-Length");
	is_str(body_of(&w), "", "  ... and no body");
	f.path = "/nowhere";
	is_int(request(&f, &w), 404, "HEAD of an unknown path: 404");
	is_str(body_of(&w), "", "  ... without a body");
	f.path = "/swarm/enroll";
	is_int(request(&f, &w), 405, "HEAD /swarm/enroll: 405");
	ok(strstr(w.buf, "Allow: POST\r\n") != NULL, "  ... Allow: POST");
	f.method = "PUT";
	f.path = "/health";
	is_int(request(&f, &w), 405, "PUT /health: 405");
	ok(strstr(w.buf, "Allow: GET, HEAD\r\n") != NULL,
	    "  ... Allow: GET, HEAD");

	/*
	 * Operator routes refuse anonymous clients before anything else.
	 * (Refused state changes are audited, which needs the database: the
	 * integration tests cover those.)
	 */
	f.method = "GET";
	f.path = "/swarm/hosts/not-a-uuid";
	is_int(request(&f, &w), 403, "anonymous get: 403, not 404");
	is_str(body_of(&w), "{\"detail\":\"operator certificate required\"}",
	    "403 detail");
	f.path = "/swarm/hosts";
	is_int(request(&f, &w), 403, "anonymous list: 403");
	f.path = "/swarm/audit";
	is_int(request(&f, &w), 403, "anonymous audit: 403");
	f.method = "PATCH";
	f.path = "/swarm/hosts/x";
	is_int(request(&f, &w), 405, "405 needs no credentials");
	ok(strstr(w.buf, "Allow: GET, HEAD, DELETE\r\n") != NULL,
	    "Allow: GET, HEAD, DELETE");
}

int
main(void)
{
	test_host_view();
	test_bundle();
	test_headers();
	test_app();
	return done_testing();
}
