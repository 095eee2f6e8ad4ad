#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "codec.h"
#include "http/request.h"
#include "pki/bundle.h"
#include "pki/pki.h"
#include "policy.h"
#include "validate.h"

/* Append one FastAPI-style entry: {"loc":[where, field(, index)], ...}. */
static void
add_error(struct json_object *detail, const char *where, const char *field,
    int index, const char *type, const char *msg)
{
	struct json_object *e, *loc;

	e = json_object_new_object();
	loc = json_object_new_array();
	if (e == NULL || loc == NULL) {
		json_object_put(e);
		json_object_put(loc);
		return;
	}
	json_object_array_add(loc, json_object_new_string(where));
	if (field != NULL)
		json_object_array_add(loc, json_object_new_string(field));
	if (index >= 0)
		json_object_array_add(loc, json_object_new_int(index));
	json_object_object_add(e, "loc", loc);
	json_object_object_add(e, "msg", json_object_new_string(msg));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_array_add(detail, e);
}

bool
validate_host(const char *s)
{
	unsigned char addr[16];
	size_t len = strlen(s), label = 0, i;
	bool all_digits = true;

	if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
		return true;
	if (len == 0 || len > ENROLL_HOST_MAX)
		return false;
	/* RFC 1123 2.1: letters, digits, hyphens; labels of 1-63. */
	for (i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			if (c == '\0')
				break;
			label = 0;
			all_digits = true;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!isdigit((unsigned char)c))
			all_digits = false;
		label++;
	}
	/* RFC 3696 2: a top-level label is never all-numeric, so "1.2.3.999"
	 * is a bad IP address, not a host name. */
	return !all_digits;
}

/*
 * RFC 3629 section 4, codec_utf8_valid: json-c's own check lets overlong
 * and surrogate forms through, and PostgreSQL would then refuse the row:
 * better a 422 that names the field.
 */

/*
 * Unpaired UTF-16 surrogate escapes.  RFC 8259 8.2: "\ud800" alone (or
 * a low surrogate alone, or a high one not followed by a low one) is no
 * Unicode character, and json-c quietly turns it into U+FFFD -- the same
 * bytes as a real U+FFFD, which a client may well send.  So they are
 * found in the raw body, before json-c decodes it, and each one is
 * rewritten as SURROGATE_MARK's escapes: string_field refuses a NUL in
 * any string anyway, and says which rule a NUL followed by U+0001 broke.
 */
#define SURROGATE_MARK		"\0\1"
#define SURROGATE_ESCAPE	"\\u0000\\u0001"

/*
 * The code unit of a \u escape (four hex digits) at p, with len bytes
 * left; -1 if there is none.
 */
static long
unicode_escape(const char *p, size_t len)
{
	char hex[5];
	size_t k;

	if (len < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (k = 0; k < 4; k++)
		if (!isxdigit((unsigned char)(hex[k] = p[2 + k])))
			return -1;
	hex[4] = '\0';
	return strtol(hex, NULL, 16);
}

/*
 * Copy of body[len] with each unpaired surrogate escape inside a string
 * replaced by SURROGATE_ESCAPE; NULL when there is none (or no memory:
 * then json-c's U+FFFD stands, as before).  Outside strings a backslash
 * is a syntax error that json-c reports, so only strings are looked at.
 */
static char *
mark_lone_surrogates(const char *body, size_t len, size_t *outlen)
{
	char *out = NULL;
	size_t i = 0, o = 0, marks = 0;
	bool in_string = false;
	int pass;

	/* Pass 0 counts, pass 1 copies into a buffer sized from the count. */
	for (pass = 0; pass < 2; pass++, i = 0, in_string = false) {
		while (i < len) {
			long unit = -1;
			size_t n = 1;

			if (body[i] == '"')
				in_string = !in_string;
			else if (in_string && body[i] == '\\') {
				unit = unicode_escape(body + i, len - i);
				n = unit >= 0 ? 6 : 2;
			}
			if (unit >= 0xd800 && unit <= 0xdbff) {
				long next = unicode_escape(body + i + 6,
				    len - i - 6);

				if (next >= 0xdc00 && next <= 0xdfff)
					n = 12;		/* a proper pair */
			}
			if ((unit >= 0xd800 && unit <= 0xdbff && n == 6) ||
			    (unit >= 0xdc00 && unit <= 0xdfff)) {
				if (pass == 0)
					marks++;
				else {
					memcpy(out + o, SURROGATE_ESCAPE, 12);
					o += 12;
				}
			} else if (pass == 1) {
				n = n < len - i ? n : len - i;
				memcpy(out + o, body + i, n);
				o += n;
			}
			i += n;
		}
		if (pass == 0 && (marks == 0 ||
		    (out = malloc(len + marks * 6 + 1)) == NULL))
			return NULL;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * Fetch a string field with its length check.  Returns the string (owned
 * by `obj`) or NULL after recording why in `detail`.
 */
static const char *
string_field(struct json_object *obj, const char *field, int index,
    size_t minlen, size_t maxlen, struct json_object *detail)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(obj, json_type_string)) {
		add_error(detail, "body", field, index, "string_type",
		    "Input should be a valid string");
		return NULL;
	}
	s = json_object_get_string(obj);
	len = (size_t)json_object_get_string_len(obj);
	if (strlen(s) != len) {
		if (memmem(s, len, SURROGATE_MARK, 2) != NULL)
			add_error(detail, "body", field, index,
			    "string_unicode", "String must not contain an "
			    "unpaired UTF-16 surrogate escape");
		else
			add_error(detail, "body", field, index, "string_nul",
			    "String must not contain NUL characters");
		return NULL;
	}
	if (!codec_utf8_valid((const unsigned char *)s, len)) {
		add_error(detail, "body", field, index, "string_unicode",
		    "String must be well-formed UTF-8");
		return NULL;
	}
	if (len < minlen) {
		add_error(detail, "body", field, index, "string_too_short",
		    "String should have at least 1 character");
		return NULL;
	}
	if (len > maxlen) {
		char msg[96];

		snprintf(msg, sizeof(msg),
		    "String should have at most %zu characters", maxlen);
		add_error(detail, "body", field, index, "string_too_long", msg);
		return NULL;
	}
	return s;
}

static void
check_name(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, "name", &v)) {
		add_error(detail, "body", "name", -1, "missing",
		    "Field required");
		return;
	}
	if ((s = string_field(v, "name", -1, 1, ENROLL_NAME_MAX,
	    detail)) == NULL)
		return;
	/* The name becomes a directory under workers/ and a CN. */
	if (!bundle_name_valid(s)) {
		add_error(detail, "body", "name", -1, "string_pattern_mismatch",
		    "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]*$'");
		return;
	}
	snprintf(req->name, sizeof(req->name), "%s", s);
}

static void
check_address(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, "address", &v)) {
		add_error(detail, "body", "address", -1, "missing",
		    "Field required");
		return;
	}
	if ((s = string_field(v, "address", -1, 1, ENROLL_HOST_MAX,
	    detail)) == NULL)
		return;
	if (!validate_host(s)) {
		add_error(detail, "body", "address", -1, "value_error",
		    "Value error, must be an IPv4/IPv6 address or a DNS name");
		return;
	}
	snprintf(req->address, sizeof(req->address), "%s", s);
}

static void
check_port(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct json_object *v;
	int64_t port;

	req->agent_port = ENROLL_DEFAULT_PORT;
	if (!json_object_object_get_ex(root, "agent_port", &v))
		return;
	/* A JSON integer only: "8765", 8765.0 and true are refused. */
	if (!json_object_is_type(v, json_type_int)) {
		add_error(detail, "body", "agent_port", -1, "int_type",
		    "Input should be a valid integer");
		return;
	}
	port = json_object_get_int64(v);
	/* json-c clamps integers beyond int64 to its limits: still caught. */
	if (port < 1 || port > 65535) {
		add_error(detail, "body", "agent_port", -1, port < 1 ?
		    "greater_than_equal" : "less_than_equal",
		    port < 1 ? "Input should be greater than or equal to 1" :
		    "Input should be less than or equal to 65535");
		return;
	}
	req->agent_port = (int)port;
}

static void
check_sans(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct json_object *v;
	size_t i, n;

	if (!json_object_object_get_ex(root, "sans", &v) ||
	    json_object_is_type(v, json_type_null))
		return;
	if (!json_object_is_type(v, json_type_array)) {
		add_error(detail, "body", "sans", -1, "list_type",
		    "Input should be a valid list");
		return;
	}
	n = json_object_array_length(v);
	if (n > ENROLL_SANS_MAX) {
		add_error(detail, "body", "sans", -1, "too_long",
		    "List should have at most 64 items");
		return;
	}
	if (n > 0 && (req->sans = calloc(n, sizeof(*req->sans))) == NULL) {
		add_error(detail, "body", "sans", -1, "internal",
		    "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		const char *s = string_field(json_object_array_get_idx(v, i),
		    "sans", (int)i, 1, ENROLL_HOST_MAX, detail);

		if (s == NULL)
			continue;
		if (!validate_host(s)) {
			add_error(detail, "body", "sans", (int)i, "value_error",
			    "Value error, must be an IPv4/IPv6 address or a "
			    "DNS name");
			continue;
		}
		snprintf(req->sans[req->nsans], sizeof(req->sans[req->nsans]),
		    "%s", s);
		req->nsans++;
	}
}

static void
check_notes(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, "notes", &v) ||
	    json_object_is_type(v, json_type_null))
		return;
	if ((s = string_field(v, "notes", -1, 0, ENROLL_NOTES_MAX,
	    detail)) == NULL)
		return;
	if ((req->notes = strdup(s)) == NULL)
		add_error(detail, "body", "notes", -1, "internal",
		    "out of memory");
}

/*
 * csr_pem: a PKCS#10 request in PEM whose signature verifies with its own
 * key, a key the key policy accepts (pki_csr_parse).  A malformed one is
 * a 422 like any bad field: the body itself is valid JSON.
 */
static void
check_csr(struct json_object *root, struct enroll_req *req,
    struct json_object *detail)
{
	struct sc_error e = { SC_OK, "" };
	struct json_object *v;
	const char *s;
	char msg[sizeof(e.msg) + 32];

	if (!json_object_object_get_ex(root, "csr_pem", &v) ||
	    json_object_is_type(v, json_type_null))
		return;
	if ((s = string_field(v, "csr_pem", -1, 1, PKI_CSR_PEM_MAX,
	    detail)) == NULL)
		return;
	if (pki_csr_parse(s, strlen(s), &req->csr, &e) == SC_OK)
		return;
	if (e.code != SC_INVALID) {
		add_error(detail, "body", "csr_pem", -1, "internal", e.msg);
		return;
	}
	snprintf(msg, sizeof(msg), "Value error, %s", e.msg);
	add_error(detail, "body", "csr_pem", -1, "value_error", msg);
}

/*
 * Strict JSON: valid UTF-8, bounded depth, nothing after the value.
 * SC_OK with *rootp set -- NULL for a JSON null, which json-c represents
 * as a NULL object -- or SC_BAD_REQUEST saying why.
 */
static enum sc_err
parse_json(const char *body, size_t len, struct json_object **rootp,
    struct sc_error *err)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	enum sc_err rc = SC_BAD_REQUEST;
	size_t end;

	*rootp = NULL;
	if (len == 0) {
		sc_error_set(err, SC_BAD_REQUEST, "malformed JSON body: empty");
		goto out;
	}
	if (memchr(body, '\0', len) != NULL) {
		sc_error_set(err, SC_BAD_REQUEST,
		    "malformed JSON body: contains a NUL byte");
		goto out;
	}
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "json_tokener_new_ex failed");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	/*
	 * A bare top-level number or literal ("42", "null") is only known to
	 * be complete at the end of input: tell the tokener the input ended.
	 */
	end = json_tokener_get_parse_end(tok);
	if (root == NULL &&
	    json_tokener_get_error(tok) == json_tokener_continue)
		root = json_tokener_parse_ex(tok, "", 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		sc_error_set(err, SC_BAD_REQUEST, "malformed JSON body: %s",
		    jerr == json_tokener_continue ? "unexpected end of input" :
		    json_tokener_error_desc(jerr));
		goto out;
	}
	for (; end < len; end++) {
		if (!isspace((unsigned char)body[end])) {
			sc_error_set(err, SC_BAD_REQUEST,
			    "malformed JSON body: trailing data after the value");
			goto out;
		}
	}
	*rootp = root;
	root = NULL;
	rc = SC_OK;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/*
 * How many member names the top-level object of `body` (already parsed
 * and known valid) spells out.  json-c keeps only the last of repeated
 * names, so fewer distinct members than names means a duplicate
 * (RFC 8259 4: behaviour with duplicate names is unpredictable; we
 * refuse rather than guess which "name" the client meant).
 */
static size_t
top_level_names(const char *body, size_t len)
{
	size_t i, names = 0;
	int depth = 0;
	bool in_string = false, escaped = false, expect_name = false;

	for (i = 0; i < len; i++) {
		char c = body[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			if (depth == 1 && expect_name) {
				names++;
				expect_name = false;
			}
			break;
		case '{':
		case '[':
			depth++;
			expect_name = depth == 1 && c == '{';
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			expect_name = depth == 1;
			break;
		default:
			break;
		}
	}
	return names;
}

/*
 * A body's top level must be an object without repeated member names:
 * false, with the reason added to detail, if it is not.
 */
static bool
body_is_object(struct json_object *root, const char *body, size_t len,
    struct json_object *detail)
{
	if (!json_object_is_type(root, json_type_object)) {
		add_error(detail, "body", NULL, -1, "dict_type",
		    "Input should be a valid dictionary or object");
		return false;
	}
	if (top_level_names(body, len) !=
	    (size_t)json_object_object_length(root)) {
		add_error(detail, "body", NULL, -1, "duplicate_key",
		    "JSON object has a repeated member name");
		return false;
	}
	return true;
}

enum sc_err
validate_enroll(const char *body, size_t len, struct enroll_req *req,
    struct json_object **detail_out, struct sc_error *err)
{
	struct json_object *root = NULL, *detail = NULL;
	char *marked = NULL;
	enum sc_err rc;

	memset(req, 0, sizeof(*req));
	*detail_out = NULL;
	if (len > INT32_MAX / 2) {
		rc = sc_error_set(err, SC_TOO_LARGE, "request body too large");
		goto out;
	}
	if ((marked = mark_lone_surrogates(body, len, &len)) != NULL)
		body = marked;
	if ((rc = parse_json(body, len, &root, err)) != SC_OK)
		goto out;
	if ((detail = json_object_new_array()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if (body_is_object(root, body, len, detail)) {
		check_name(root, req, detail);
		check_address(root, req, detail);
		check_port(root, req, detail);
		check_sans(root, req, detail);
		check_notes(root, req, detail);
		check_csr(root, req, detail);
	}
	if (json_object_array_length(detail) > 0) {
		rc = sc_error_set(err, SC_INVALID, "invalid enroll request");
		*detail_out = detail;
		detail = NULL;
		enroll_req_clear(req);
		goto out;
	}
	rc = SC_OK;
out:
	free(marked);
	json_object_put(detail);
	json_object_put(root);
	return rc;
}

static void
check_permitted(const struct name_policy *policy, const char *value,
    const char *field, int index, struct json_object *detail)
{
	char msg[ENROLL_HOST_MAX + 128];

	if (policy_permits(policy, value))
		return;
	snprintf(msg, sizeof(msg), "'%s' is outside the names this "
	    "controller may certify for workers (--worker-san-allow)", value);
	add_error(detail, "body", field, index, "value_error.san_policy", msg);
}

enum sc_err
validate_enroll_policy(const struct enroll_req *req,
    const struct name_policy *policy, struct json_object **detail_out,
    struct sc_error *err)
{
	struct json_object *detail = NULL;
	enum sc_err rc = SC_OK;
	size_t i;

	*detail_out = NULL;
	if (!policy_restricts(policy))
		goto out;
	if ((detail = json_object_new_array()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	check_permitted(policy, req->name, "name", -1, detail);
	check_permitted(policy, req->address, "address", -1, detail);
	for (i = 0; i < req->nsans; i++)
		check_permitted(policy, req->sans[i], "sans", (int)i, detail);
	if (json_object_array_length(detail) > 0) {
		rc = sc_error_set(err, SC_INVALID, "names outside the "
		    "issuance policy");
		*detail_out = detail;
		detail = NULL;
	}
out:
	json_object_put(detail);
	return rc;
}

void
enroll_req_clear(struct enroll_req *req)
{
	free(req->sans);
	free(req->notes);
	pki_csr_free(req->csr);
	memset(req, 0, sizeof(*req));
}

/* A status filter: short machine words like enrolled, active. */
static bool
status_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* ?key=N with N in [min, max]; 1 found, 0 absent, -1 malformed. */
static int
query_int(const char *query, const char *key, long min, long max, int *out)
{
	char value[12], *end;
	long n;
	int found;

	if ((found = http_query_get(query, key, value, sizeof(value))) <= 0)
		return found;
	if (value[0] < '0' || value[0] > '9')
		return -1;
	n = strtol(value, &end, 10);
	if (*end != '\0' || n < min || n > max)
		return -1;
	*out = (int)n;
	return 1;
}

enum sc_err
validate_hosts_query(const char *query, struct hosts_query *q,
    struct json_object **detail_out, struct sc_error *err)
{
	struct json_object *detail;
	int found;

	memset(q, 0, sizeof(*q));
	*detail_out = NULL;
	if ((detail = json_object_new_array()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	found = http_query_get(query, "host_status", q->status,
	    sizeof(q->status));
	if (found < 0 || (found == 1 && !status_valid(q->status)))
		add_error(detail, "query", "host_status", -1,
		    "string_pattern_mismatch", "host_status must be given "
		    "once, 1-32 characters of [A-Za-z0-9_-]");
	q->has_status = found == 1;
	if (query_int(query, "limit", 1, HOSTS_PAGE_MAX, &q->limit) < 0)
		add_error(detail, "query", "limit", -1, "int_parsing",
		    "limit must be an integer from 1 to 10000, given once");
	found = http_query_get(query, "after", q->after, sizeof(q->after));
	if (found < 0 || (found == 1 && !bundle_name_valid(q->after)))
		add_error(detail, "query", "after", -1,
		    "string_pattern_mismatch", "after must be a host name");
	else if (found == 1 && q->limit == 0)
		add_error(detail, "query", "after", -1, "missing",
		    "after needs limit");
	q->has_after = found == 1;
	if (query_int(query, "expiring_within", 1, HOSTS_EXPIRING_MAX,
	    &q->expiring_within) < 0)
		add_error(detail, "query", "expiring_within", -1,
		    "int_parsing", "expiring_within must be an integer from 1 "
		    "to 3650 (days), given once");
	if (json_object_array_length(detail) == 0) {
		json_object_put(detail);
		return SC_OK;
	}
	*detail_out = detail;
	return sc_error_set(err, SC_INVALID, "invalid query");
}

enum sc_err
validate_audit_query(const char *query, int *limit,
    struct json_object **detail_out, struct sc_error *err)
{
	struct json_object *detail;

	*limit = AUDIT_LIMIT_DEFAULT;
	*detail_out = NULL;
	if (query_int(query, "limit", 1, AUDIT_LIMIT_MAX, limit) >= 0)
		return SC_OK;
	if ((detail = json_object_new_array()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	add_error(detail, "query", "limit", -1, "int_parsing",
	    "limit must be an integer from 1 to 1000, given once");
	*detail_out = detail;
	return sc_error_set(err, SC_INVALID, "invalid query");
}

bool
validate_uuid(const char *s, char out[37])
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[36] = '\0';
	return true;
}

/* ttl_seconds: an integer from TOKEN_TTL_MIN to TOKEN_TTL_MAX, or absent. */
static void
check_ttl(struct json_object *root, int *ttl, struct json_object *detail)
{
	struct json_object *v;
	int64_t n;

	*ttl = TOKEN_TTL_DEFAULT;
	if (!json_object_object_get_ex(root, "ttl_seconds", &v) ||
	    json_object_is_type(v, json_type_null))
		return;
	if (!json_object_is_type(v, json_type_int)) {
		add_error(detail, "body", "ttl_seconds", -1, "int_type",
		    "Input should be a valid integer");
		return;
	}
	n = json_object_get_int64(v);
	if (n < TOKEN_TTL_MIN || n > TOKEN_TTL_MAX) {
		add_error(detail, "body", "ttl_seconds", -1, "value_error",
		    "Value error, ttl_seconds must be from 60 to 86400 "
		    "(24 hours)");
		return;
	}
	*ttl = (int)n;
}

/* The body as a JSON object (lone surrogates marked as validate_enroll
 * does); NULL with err set (400) if it is not JSON at all. */
static enum sc_err
parse_body(const char *body, size_t len, struct json_object **rootp,
    struct sc_error *err)
{
	char *marked;
	enum sc_err rc;

	*rootp = NULL;
	if (len > INT32_MAX / 2)
		return sc_error_set(err, SC_TOO_LARGE, "request body too large");
	if ((marked = mark_lone_surrogates(body, len, &len)) != NULL)
		body = marked;
	rc = parse_json(body, len, rootp, err);
	free(marked);
	return rc;
}

enum sc_err
validate_token_create(const char *body, size_t len,
    struct token_create_req *req, struct json_object **detail_out,
    struct sc_error *err)
{
	struct json_object *root = NULL, *detail = NULL, *v;
	bool held;
	enum sc_err rc;

	memset(req, 0, sizeof(*req));
	*detail_out = NULL;
	/*
	 * name, address, agent_port, sans, notes: exactly as for enroll.
	 * validate_enroll holds nothing in req->er unless it succeeds.
	 */
	rc = validate_enroll(body, len, &req->er, &detail, err);
	/* Invalid: validate_enroll has already let go of everything. */
	held = rc == SC_OK && detail == NULL;
	if (rc != SC_OK && rc != SC_INVALID)
		goto out;
	sc_error_clear(err);
	if (detail == NULL && (detail = json_object_new_array()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = parse_body(body, len, &root, err)) != SC_OK)
		goto out;
	if (json_object_is_type(root, json_type_object)) {
		check_ttl(root, &req->ttl_seconds, detail);
		/* The worker brings its CSR when it redeems the token. */
		if (json_object_object_get_ex(root, "csr_pem", &v) &&
		    !json_object_is_type(v, json_type_null))
			add_error(detail, "body", "csr_pem", -1,
			    "extra_forbidden", "Extra inputs are not "
			    "permitted: the worker sends its CSR when it "
			    "redeems the token");
	}
	if (json_object_array_length(detail) > 0) {
		rc = sc_error_set(err, SC_INVALID, "invalid token request");
		*detail_out = detail;
		detail = NULL;
	}
out:
	if (rc != SC_OK && held)
		token_create_req_clear(req);
	json_object_put(detail);
	json_object_put(root);
	return rc;
}

void
token_create_req_clear(struct token_create_req *req)
{
	enroll_req_clear(&req->er);
	req->ttl_seconds = 0;
}

/* A body of {"csr_pem": ...} alone; `why` refuses any other member. */
static enum sc_err
csr_only_body(const char *body, size_t len, struct pki_csr **csr,
    const char *why, struct json_object **detail_out, struct sc_error *err)
{
	struct json_object *root = NULL, *detail = NULL;
	struct enroll_req tmp;
	enum sc_err rc;

	memset(&tmp, 0, sizeof(tmp));
	*csr = NULL;
	*detail_out = NULL;
	if ((rc = parse_body(body, len, &root, err)) != SC_OK)
		goto out;
	if ((detail = json_object_new_array()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if (body_is_object(root, body, len, detail)) {
		/* The token alone decides what is certified. */
		json_object_object_foreach(root, key, val) {
			(void)val;
			if (strcmp(key, "csr_pem") != 0)
				add_error(detail, "body", key, -1,
				    "extra_forbidden", why);
		}
		check_csr(root, &tmp, detail);
		if (tmp.csr == NULL && json_object_array_length(detail) == 0)
			add_error(detail, "body", "csr_pem", -1, "missing",
			    "Field required");
	}
	if (json_object_array_length(detail) > 0) {
		rc = sc_error_set(err, SC_INVALID, "invalid CSR request");
		*detail_out = detail;
		detail = NULL;
		goto out;
	}
	*csr = tmp.csr;
	tmp.csr = NULL;
	rc = SC_OK;
out:
	enroll_req_clear(&tmp);
	json_object_put(detail);
	json_object_put(root);
	return rc;
}

enum sc_err
validate_token_redeem(const char *body, size_t len, struct pki_csr **csr,
    struct json_object **detail_out, struct sc_error *err)
{
	return csr_only_body(body, len, csr, "Extra inputs are not "
	    "permitted: the token names the host", detail_out, err);
}

enum sc_err
validate_renew(const char *body, size_t len, struct pki_csr **csr,
    struct json_object **detail_out, struct sc_error *err)
{
	return csr_only_body(body, len, csr, "Extra inputs are not "
	    "permitted: the controller decides what is certified",
	    detail_out, err);
}

/* 1-64 printable ASCII characters. */
static bool
agent_version_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > HEARTBEAT_VERSION_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

enum sc_err
validate_heartbeat(const char *body, size_t len, struct heartbeat_req *hb,
    struct json_object **detail_out, struct sc_error *err)
{
	struct json_object *root = NULL, *detail = NULL, *v;
	const char *str;
	enum sc_err rc;

	memset(hb, 0, sizeof(*hb));
	*detail_out = NULL;
	/* Every field is optional, and so is the body. */
	if (len == 0)
		return SC_OK;
	if ((rc = parse_body(body, len, &root, err)) != SC_OK)
		goto out;
	if ((detail = json_object_new_array()) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if (!body_is_object(root, body, len, detail))
		goto check;
	json_object_object_foreach(root, key, val) {
		(void)val;
		if (strcmp(key, "agent_version") != 0 &&
		    strcmp(key, "status") != 0)
			add_error(detail, "body", key, -1, "extra_forbidden",
			    "Extra inputs are not permitted");
	}
	if (json_object_object_get_ex(root, "agent_version", &v)) {
		str = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    !agent_version_valid(str, (size_t)json_object_get_string_len(v)))
			add_error(detail, "body", "agent_version", -1,
			    "string_pattern_mismatch", "agent_version must be "
			    "1-64 printable ASCII characters");
		else {
			memcpy(hb->agent_version, str,
			    (size_t)json_object_get_string_len(v) + 1);
			hb->has_agent_version = true;
		}
	}
	if (json_object_object_get_ex(root, "status", &v)) {
		str = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(str, "ok") != 0 && strcmp(str, "degraded") != 0))
			add_error(detail, "body", "status", -1, "enum",
			    "status must be 'ok' or 'degraded'");
		else {
			snprintf(hb->status, sizeof(hb->status), "%s", str);
			hb->has_status = true;
		}
	}
check:
	if (json_object_array_length(detail) > 0) {
		rc = sc_error_set(err, SC_INVALID, "invalid heartbeat");
		*detail_out = detail;
		detail = NULL;
		goto out;
	}
	rc = SC_OK;
out:
	json_object_put(detail);
	json_object_put(root);
	return rc;
}

static bool
base64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
validate_bearer_token(const char *authorization, char token[TOKEN_TEXT_LEN + 1])
{
	const char *p = authorization;
	size_t i;

	token[0] = '\0';
	/* RFC 9110 11.1: the auth-scheme is case-insensitive. */
	if (p == NULL || strncasecmp(p, "Bearer ", 7) != 0)
		return false;
	for (p += 7; *p == ' '; p++)
		;
	if (strncmp(p, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return false;
	for (i = strlen(TOKEN_PREFIX); i < TOKEN_TEXT_LEN; i++)
		if (!base64url_char(p[i]))
			return false;
	if (p[TOKEN_TEXT_LEN] != '\0')
		return false;
	memcpy(token, p, TOKEN_TEXT_LEN + 1);
	return true;
}
