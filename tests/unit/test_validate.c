/*
 * EnrollRequest and query validation: every CONTRACT.md rule, the 422
 * detail list (one entry per bad field, FastAPI's loc/msg/type form),
 * defaults, and malformed JSON as 400.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tap.h"
#include "validate.h"

static struct json_object *last_detail;

static enum sc_err
run(const char *body, struct enroll_req *req)
{
	struct sc_error err = { SC_OK, "" };
	enum sc_err rc;

	json_object_put(last_detail);
	last_detail = NULL;
	rc = validate_enroll(body, strlen(body), req, &last_detail, &err);
	return rc;
}

/* The 422 detail has exactly one entry, for loc ["body", field]. */
static int
one_error_on(const char *field)
{
	struct json_object *e, *loc;

	if (last_detail == NULL || json_object_array_length(last_detail) != 1)
		return 0;
	e = json_object_array_get_idx(last_detail, 0);
	if (!json_object_object_get_ex(e, "loc", &loc) ||
	    !json_object_object_get_ex(e, "msg", NULL) ||
	    !json_object_object_get_ex(e, "type", NULL))
		return 0;
	return strcmp(json_object_get_string(json_object_array_get_idx(loc, 0)),
	    "body") == 0 && strcmp(json_object_get_string(
	    json_object_array_get_idx(loc, 1)), field) == 0;
}

static void
invalid(const char *body, const char *field, const char *why)
{
	struct enroll_req req;

	is_int(run(body, &req), SC_INVALID, "422: %s", why);
	ok(one_error_on(field), "  ... one detail entry, loc [body, %s]",
	    field);
	enroll_req_clear(&req);
}

static void
test_valid(void)
{
	struct enroll_req req;

	is_int(run("{\"name\":\"worker-1\",\"address\":\"10.0.0.5\"}", &req),
	    SC_OK, "minimal request valid");
	is_str(req.name, "worker-1", "name");
	is_str(req.address, "10.0.0.5", "address");
	is_int(req.agent_port, 8765, "agent_port defaults to 8765");
	is_int(req.nsans, 0, "sans default to []");
	ok(req.notes == NULL, "notes default to null");
	enroll_req_clear(&req);

	is_int(run("{\"name\":\"w.2_x\",\"address\":\"host.example.org\","
	    "\"agent_port\":65535,\"sans\":[\"::1\",\"a.example\"],"
	    "\"notes\":\"rack 4\",\"extra\":{\"ignored\":true}}", &req),
	    SC_OK, "full request with an unknown field valid");
	is_int(req.agent_port, 65535, "agent_port 65535");
	is_int(req.nsans, 2, "two sans");
	is_str(req.sans[0], "::1", "IPv6 san");
	is_str(req.sans[1], "a.example", "DNS san");
	is_str(req.notes, "rack 4", "notes");
	enroll_req_clear(&req);

	is_int(run("{\"name\":\"x\",\"address\":\"::ffff:10.0.0.1\","
	    "\"notes\":null,\"sans\":[]}", &req), SC_OK,
	    "null notes, empty sans, v4-mapped address");
	enroll_req_clear(&req);
}

static void
test_invalid(void)
{
	char big[8192];
	size_t i;
	struct enroll_req req;
	struct json_object *e;

	invalid("{\"address\":\"a\"}", "name", "name missing");
	invalid("{\"name\":\"\",\"address\":\"a\"}", "name", "empty name");
	invalid("{\"name\":\"../evil\",\"address\":\"a\"}", "name", "../evil");
	invalid("{\"name\":\"..\",\"address\":\"a\"}", "name", "..");
	invalid("{\"name\":\"a/b\",\"address\":\"a\"}", "name", "a/b");
	invalid("{\"name\":\".hidden\",\"address\":\"a\"}", "name", ".hidden");
	invalid("{\"name\":\"-x\",\"address\":\"a\"}", "name", "-x");
	invalid("{\"name\":\"a b\",\"address\":\"a\"}", "name", "space");
	invalid("{\"name\":\"a\\u0000b\",\"address\":\"a\"}", "name",
	    "NUL in name");
	invalid("{\"name\":123,\"address\":\"a\"}", "name", "name a number");
	snprintf(big, sizeof(big), "{\"name\":\"%065d\",\"address\":\"a\"}", 0);
	invalid(big, "name", "65-char name");
	snprintf(big, sizeof(big), "{\"name\":\"%064d\",\"address\":\"a\"}", 0);
	is_int(run(big, &req), SC_OK, "64-char name valid");
	enroll_req_clear(&req);

	invalid("{\"name\":\"a\"}", "address", "address missing");
	invalid("{\"name\":\"a\",\"address\":\"\"}", "address", "empty address");
	invalid("{\"name\":\"a\",\"address\":\"bad address!\"}", "address",
	    "address with space and !");
	invalid("{\"name\":\"a\",\"address\":\"1.2.3.999\"}", "address",
	    "numeric non-IP address");
	invalid("{\"name\":\"a\",\"address\":\"-a.example\"}", "address",
	    "label starting with '-'");
	invalid("{\"name\":\"a\",\"address\":\"a..example\"}", "address",
	    "empty label");
	strcpy(big, "{\"name\":\"a\",\"address\":\"");
	for (i = 0; i < 4; i++)
		strcat(big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(big, "\"}");	/* 4 * 63 = 252 chars ending in '.' */
	invalid(big, "address", "trailing dot");

	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":0}",
	    "agent_port", "port 0");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":65536}",
	    "agent_port", "port 65536");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":\"8765\"}",
	    "agent_port", "port as a string");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":1.5}",
	    "agent_port", "port as a float");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":true}",
	    "agent_port", "port as a boolean");
	invalid("{\"name\":\"a\",\"address\":\"a\","
	    "\"agent_port\":99999999999999999999999}", "agent_port",
	    "port beyond int64");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"agent_port\":-1}",
	    "agent_port", "negative port");

	invalid("{\"name\":\"a\",\"address\":\"a\",\"sans\":\"a\"}", "sans",
	    "sans not a list");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"sans\":[1]}", "sans",
	    "san not a string");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"sans\":[\"bad san!\"]}",
	    "sans", "bad san");
	strcpy(big, "{\"name\":\"a\",\"address\":\"a\",\"sans\":[");
	for (i = 0; i < 65; i++)
		strcat(big, i ? ",\"a\"" : "\"a\"");
	strcat(big, "]}");
	invalid(big, "sans", "65 sans");

	invalid("{\"name\":\"a\",\"address\":\"a\",\"notes\":123}", "notes",
	    "notes a number");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"notes\":\"\xc0\xaf\"}",
	    "notes", "overlong UTF-8 in notes");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"notes\":\"\xed\xa0\x80\"}",
	    "notes", "encoded surrogate in notes");
	invalid("{\"name\":\"a\",\"address\":\"a\",\"notes\":\"\xf4\x90\x80\x80\"}",
	    "notes", "code point above U+10FFFF in notes");
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"notes\":"
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d\"}", &req), SC_OK,
	    "2-, 3- and 4-byte UTF-8 in notes accepted");
	enroll_req_clear(&req);
	{
		char notes[4098];

		memset(notes, 'n', 4097);
		notes[4097] = '\0';
		snprintf(big, sizeof(big), "{\"name\":\"a\",\"address\":"
		    "\"a\",\"notes\":\"%s\"}", notes);
		invalid(big, "notes", "notes of 4097 bytes");
		notes[4096] = '\0';
		snprintf(big, sizeof(big), "{\"name\":\"a\",\"address\":"
		    "\"a\",\"notes\":\"%s\"}", notes);
		is_int(run(big, &req), SC_OK, "notes of 4096 bytes valid");
		enroll_req_clear(&req);
	}

	is_int(run("{\"name\":\"\",\"address\":\"\"}", &req), SC_INVALID,
	    "two bad fields: 422");
	is_int(json_object_array_length(last_detail), 2,
	    "  ... two detail entries");
	enroll_req_clear(&req);

	is_int(run("42", &req), SC_INVALID, "bare number body: 422");
	enroll_req_clear(&req);
	is_int(run("null", &req), SC_INVALID, "null body: 422");
	enroll_req_clear(&req);
	is_int(run("\"x\"", &req), SC_INVALID, "string body: 422");
	enroll_req_clear(&req);
	is_int(run("4 2", &req), SC_BAD_REQUEST, "two numbers: 400");
	enroll_req_clear(&req);
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"name\":\"b\"}", &req),
	    SC_INVALID, "duplicate member name: 422");
	enroll_req_clear(&req);
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"n\\u0061me\":\"b\"}",
	    &req), SC_INVALID, "duplicate spelled with an escape: 422");
	enroll_req_clear(&req);
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"x\":{\"name\":1,"
	    "\"y\":[{\"name\":2}]},\"s\":\"\\\",\\\"name\"}", &req), SC_OK,
	    "same name nested or inside a string is no duplicate");
	enroll_req_clear(&req);
	is_int(run("[]", &req), SC_INVALID, "array body: 422");
	e = json_object_array_get_idx(last_detail, 0);
	ok(e != NULL, "  ... with a detail entry for the body");
	enroll_req_clear(&req);
}

/* The type of the only 422 entry, or "". */
static const char *
only_type(void)
{
	struct json_object *t;

	if (last_detail == NULL || json_object_array_length(last_detail) != 1 ||
	    !json_object_object_get_ex(json_object_array_get_idx(last_detail,
	    0), "type", &t))
		return "";
	return json_object_get_string(t);
}

/*
 * RFC 8259 8.2: escapes of unpaired UTF-16 surrogates are no characters;
 * json-c would store U+FFFD for them.  A real U+FFFD (escaped or sent
 * as UTF-8) and proper surrogate pairs stay valid.
 */
static void
test_surrogate_escapes(void)
{
	static const char *const lone[] = { "\\ud800", "\\udc00",
	    "a\\ud800b", "\\uDBFF", "\\ud800\\u0041", "\\ud800\\ud800",
	    "\\udc00\\ud800", "\\ud83d\\ude00\\ude00", "x\\\\\\ud800" };
	struct enroll_req req;
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(lone) / sizeof(lone[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"a\",\"address\":"
		    "\"a\",\"notes\":\"%s\"}", lone[i]);
		invalid(body, "notes", lone[i]);
		is_str(only_type(), "string_unicode",
		    "  ... type string_unicode (unpaired surrogate)");
	}
	invalid("{\"name\":\"\\udfff\",\"address\":\"a\"}", "name",
	    "lone low surrogate as the name");
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"sans\":[\"b\","
	    "\"\\ud800\"]}", &req), SC_INVALID, "422: lone surrogate in sans[1]");
	is_str(json_object_to_json_string(json_object_object_get(
	    json_object_array_get_idx(last_detail, 0), "loc")),
	    "[ \"body\", \"sans\", 1 ]", "  ... loc [body, sans, 1]");
	enroll_req_clear(&req);
	invalid("{\"name\":\"a\",\"address\":\"a\",\"notes\":\"a\\u0000b\"}",
	    "notes", "\\u0000 escape still refused");
	is_str(only_type(), "string_nul", "  ... as a NUL");

	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"notes\":"
	    "\"\xef\xbf\xbd \\ufffd \\ud83d\\ude00 \\\\ud800 \\\"\\ud800\\udc00\"}",
	    &req), SC_OK, "U+FFFD (UTF-8 and escaped), surrogate pairs and an "
	    "escaped backslash before 'ud800' accepted");
	is_str(req.notes, "\xef\xbf\xbd \xef\xbf\xbd \xf0\x9f\x98\x80 \\ud800 "
	    "\"\xf0\x90\x80\x80", "  ... and decoded as sent");
	enroll_req_clear(&req);
	/* Unpaired surrogates in a member name the rules ignore: no harm. */
	is_int(run("{\"name\":\"a\",\"address\":\"a\",\"x\\ud800\":1}",
	    &req), SC_OK, "unknown member with a lone surrogate ignored");
	enroll_req_clear(&req);
}

static void
test_malformed(void)
{
	struct enroll_req req;
	char deep[200];
	size_t i;

	is_int(run("", &req), SC_BAD_REQUEST, "empty body: 400");
	is_int(run("{", &req), SC_BAD_REQUEST, "truncated JSON: 400");
	is_int(run("{'name':'a'}", &req), SC_BAD_REQUEST,
	    "single quotes: 400");
	is_int(run("{\"name\":\"a\"} x", &req), SC_BAD_REQUEST,
	    "trailing garbage: 400");
	is_int(run("{\"name\":\"\xff\xfe\",\"address\":\"a\"}", &req),
	    SC_BAD_REQUEST, "invalid UTF-8: 400");
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	deep[100] = '\0';
	is_int(run(deep, &req), SC_BAD_REQUEST, "nesting of 100: 400");
	is_int(run("{\"name\":\"a\",\"address\":\"a\"}\n", &req), SC_OK,
	    "trailing newline is fine");
	enroll_req_clear(&req);
}

static void
test_query(void)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct hosts_query q;

	is_int(validate_hosts_query("", &q, &detail, &err), SC_OK,
	    "no query");
	ok(!q.has_status, "no status filter");
	is_int(validate_hosts_query("host_status=enrolled", &q, &detail, &err),
	    SC_OK, "host_status=enrolled");
	is_str(q.status, "enrolled", "filter value");
	is_int(validate_hosts_query("host_status=", &q, &detail, &err),
	    SC_INVALID, "empty host_status: 422");
	ok(detail != NULL && json_object_array_length(detail) == 1,
	    "  ... one detail entry");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("host_status=%zz", &q, &detail, &err),
	    SC_INVALID, "bad escape: 422");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("host_status=a'b", &q, &detail, &err),
	    SC_INVALID, "quote in status: 422");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("limit=50&after=w-1.x", &q, &detail, &err),
	    SC_OK, "a page: limit and after");
	is_int(q.limit, 50, "limit parsed");
	is_str(q.after, "w-1.x", "after parsed");
	is_int(validate_hosts_query("limit=10000", &q, &detail, &err), SC_OK,
	    "limit 10000 accepted");
	ok(!q.has_after, "first page has no after");
	is_int(validate_hosts_query("limit=0", &q, &detail, &err), SC_INVALID,
	    "limit 0: 422");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("limit=10001&after=..", &q, &detail, &err),
	    SC_INVALID, "limit too big and bad after: 422");
	is_int(json_object_array_length(detail), 2, "  ... two detail entries");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("after=a", &q, &detail, &err), SC_INVALID,
	    "after without limit: 422");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("expiring_within=30", &q, &detail, &err),
	    SC_OK, "expiring_within=30");
	is_int(q.expiring_within, 30, "  ... parsed");
	is_int(validate_hosts_query("", &q, &detail, &err), SC_OK, "none");
	is_int(q.expiring_within, 0, "  ... 0: not asked");
	is_int(validate_hosts_query("expiring_within=3651", &q, &detail, &err),
	    SC_INVALID, "expiring_within over 3650: 422");
	json_object_put(detail);
	detail = NULL;
	is_int(validate_hosts_query("expiring_within=-1", &q, &detail, &err),
	    SC_INVALID, "negative expiring_within: 422");
	json_object_put(detail);
}

static void
test_heartbeat(void)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct heartbeat_req hb;
	const char *b;

	is_int(validate_heartbeat("", 0, &hb, &detail, &err), SC_OK,
	    "heartbeat: empty body");
	ok(!hb.has_agent_version && !hb.has_status, "  ... no fields");
	b = "{\"agent_version\":\"1.2.3\",\"status\":\"degraded\"}";
	is_int(validate_heartbeat(b, strlen(b), &hb, &detail, &err), SC_OK,
	    "heartbeat: both fields");
	is_str(hb.agent_version, "1.2.3", "  ... agent_version");
	is_str(hb.status, "degraded", "  ... status");
	b = "{\"status\":\"sleepy\",\"agent_version\":\"a\\u0001\",\"x\":1}";
	is_int(validate_heartbeat(b, strlen(b), &hb, &detail, &err),
	    SC_INVALID, "heartbeat: bad status, control character, extra field");
	is_int(detail != NULL ? (int)json_object_array_length(detail) : 0, 3,
	    "  ... three detail entries");
	json_object_put(detail);
	detail = NULL;
	b = "[]";
	is_int(validate_heartbeat(b, strlen(b), &hb, &detail, &err),
	    SC_INVALID, "heartbeat: not an object");
	json_object_put(detail);
}

static void
test_uuid(void)
{
	char out[37];

	ok(validate_uuid("0b6f2d6e-6c39-4c5e-9d0e-1f2a3b4c5d6e", out),
	    "canonical uuid");
	ok(validate_uuid("0B6F2D6E-6C39-4C5E-9D0E-1F2A3B4C5D6E", out),
	    "uppercase uuid");
	is_str(out, "0b6f2d6e-6c39-4c5e-9d0e-1f2a3b4c5d6e", "lowercased");
	ok(!validate_uuid("not-a-uuid", out), "garbage rejected");
	ok(!validate_uuid("0b6f2d6e6c394c5e9d0e1f2a3b4c5d6e", out),
	    "no dashes rejected");
	ok(!validate_uuid("0b6f2d6e-6c39-4c5e-9d0e-1f2a3b4c5d6g", out),
	    "non-hex rejected");
	ok(!validate_uuid("..", out), "'..' rejected");
}

/* The loc of 422 entry i, as "body.field" (or "" if absent). */
static const char *
loc_of(struct json_object *detail, size_t i, char *buf, size_t size)
{
	struct json_object *e, *loc;

	buf[0] = '\0';
	if (detail == NULL || i >= json_object_array_length(detail))
		return buf;
	e = json_object_array_get_idx(detail, i);
	if (json_object_object_get_ex(e, "loc", &loc) &&
	    json_object_array_length(loc) >= 2)
		snprintf(buf, size, "%s.%s",
		    json_object_get_string(json_object_array_get_idx(loc, 0)),
		    json_object_get_string(json_object_array_get_idx(loc, 1)));
	return buf;
}

static void
test_token_create(void)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct token_create_req tr;
	const char *b;
	char loc[64];

	b = "{\"name\":\"w1\",\"address\":\"192.0.2.1\",\"sans\":[\"a.test\"]}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err), SC_OK,
	    "token request: name, address, sans");
	is_int(tr.ttl_seconds, TOKEN_TTL_DEFAULT, "ttl defaults to 900 s");
	is_int(tr.er.agent_port, ENROLL_DEFAULT_PORT, "agent_port defaults");
	is_int((int)tr.er.nsans, 1, "sans kept");
	token_create_req_clear(&tr);

	b = "{\"name\":\"w1\",\"address\":\"192.0.2.1\",\"ttl_seconds\":86400}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err), SC_OK,
	    "ttl 24 h accepted");
	is_int(tr.ttl_seconds, 86400, "... and kept");
	token_create_req_clear(&tr);

	b = "{\"name\":\"w1\",\"address\":\"192.0.2.1\",\"ttl_seconds\":59}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err),
	    SC_INVALID, "ttl 59: 422");
	is_str(loc_of(detail, 0, loc, sizeof(loc)), "body.ttl_seconds",
	    "... at ttl_seconds");
	json_object_put(detail);
	detail = NULL;

	b = "{\"name\":\"w1\",\"address\":\"192.0.2.1\",\"ttl_seconds\":true}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err),
	    SC_INVALID, "ttl true: 422");
	json_object_put(detail);
	detail = NULL;

	b = "{\"name\":\"w1\",\"ttl_seconds\":1e9}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err),
	    SC_INVALID, "no address and a float ttl: 422");
	is_int((int)json_object_array_length(detail), 2, "... both listed");
	json_object_put(detail);
	detail = NULL;

	b = "{\"name\":\"w1\",\"address\":\"192.0.2.1\",\"csr_pem\":\"x\"}";
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err),
	    SC_INVALID, "a csr_pem at creation: 422");
	json_object_put(detail);
	detail = NULL;

	b = "{\"name\":";
	sc_error_clear(&err);
	is_int(validate_token_create(b, strlen(b), &tr, &detail, &err),
	    SC_BAD_REQUEST, "malformed JSON: 400");
	ok(detail == NULL, "... without a detail list");
}

static void
test_token_redeem(void)
{
	struct sc_error err = { SC_OK, "" };
	struct json_object *detail = NULL;
	struct pki_csr *csr = NULL;
	const char *b;
	char loc[64];

	b = "{}";
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_INVALID, "redeem without csr_pem: 422");
	is_str(loc_of(detail, 0, loc, sizeof(loc)), "body.csr_pem",
	    "... at csr_pem");
	json_object_put(detail);
	detail = NULL;

	b = "{\"name\":\"other\",\"csr_pem\":null}";
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_INVALID, "redeem naming a host: 422");
	is_str(loc_of(detail, 0, loc, sizeof(loc)), "body.name",
	    "... at name: the token decides");
	json_object_put(detail);
	detail = NULL;

	b = "{\"csr_pem\":\"garbage\"}";
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_INVALID, "redeem with a bad CSR: 422");
	ok(csr == NULL, "... no CSR handed back");
	json_object_put(detail);
	detail = NULL;

	b = "{\"csr_pem\":1,\"csr_pem\":2}";
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_INVALID, "repeated member: 422");
	json_object_put(detail);
	detail = NULL;

	b = "[]";
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_INVALID, "not an object: 422");
	json_object_put(detail);
	detail = NULL;

	b = "nope";
	sc_error_clear(&err);
	is_int(validate_token_redeem(b, strlen(b), &csr, &detail, &err),
	    SC_BAD_REQUEST, "not JSON: 400");
}

static void
test_bearer(void)
{
	char tok[TOKEN_TEXT_LEN + 1];
	const char *good =
	    "swt_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ-_";

	/* 4 + 45: two characters too many; trim to 43. */
	char t43[TOKEN_TEXT_LEN + 1], hdr[128];

	memcpy(t43, good, TOKEN_TEXT_LEN);
	t43[TOKEN_TEXT_LEN] = '\0';
	snprintf(hdr, sizeof(hdr), "Bearer %s", t43);
	ok(validate_bearer_token(hdr, tok), "Bearer <token> accepted");
	is_str(tok, t43, "... the token copied out");
	snprintf(hdr, sizeof(hdr), "bearer   %s", t43);
	ok(validate_bearer_token(hdr, tok), "scheme in any case, spaces");
	snprintf(hdr, sizeof(hdr), "Bearer %s", good);
	ok(!validate_bearer_token(hdr, tok), "too long: refused");
	snprintf(hdr, sizeof(hdr), "Bearer %.*s", TOKEN_TEXT_LEN - 1, t43);
	ok(!validate_bearer_token(hdr, tok), "too short: refused");
	snprintf(hdr, sizeof(hdr), "Bearer %s ", t43);
	ok(!validate_bearer_token(hdr, tok), "trailing space: refused");
	snprintf(hdr, sizeof(hdr), "Bearer xyz_%s", t43 + 4);
	ok(!validate_bearer_token(hdr, tok), "wrong prefix: refused");
	snprintf(hdr, sizeof(hdr), "Bearer %.*s+", TOKEN_TEXT_LEN - 1, t43);
	ok(!validate_bearer_token(hdr, tok), "non-base64url char: refused");
	snprintf(hdr, sizeof(hdr), "Basic %s", t43);
	ok(!validate_bearer_token(hdr, tok), "Basic: refused");
	ok(!validate_bearer_token("", tok), "empty header: refused");
	ok(!validate_bearer_token(NULL, tok), "no header: refused");
	is_str(tok, "", "... nothing copied out");
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_surrogate_escapes();
	test_malformed();
	test_query();
	test_heartbeat();
	test_uuid();
	test_token_create();
	test_token_redeem();
	test_bearer();
	json_object_put(last_detail);
	return done_testing();
}
