#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "codec.h"
#include "db/db.h"
#include "http/response.h"
#include "pki/pki.h"
#include "render.h"

/*
 * json_object_object_add() takes ownership even on failure, so a NULL
 * from a json_object_new_*() above is the only failure left to catch:
 * count them instead of checking each call.
 */
static int
add(struct json_object *obj, const char *key, struct json_object *val,
    int nullable)
{
	if (val == NULL && !nullable)
		return -1;
	return json_object_object_add(obj, key, val) == 0 ? 0 : -1;
}

/*
 * Host views are written into space reserved for the worst case, with no
 * per-piece bookkeeping: a 100-host list is some 3,000 pieces, and
 * appending them one at a time was a third of the list's cost here.
 */

/* The most bytes put_json_string can write for s (every byte \u00XX). */
static size_t
json_string_max(const char *s)
{
	return s == NULL ? 4 : 6 * strlen(s) + 2;
}

#define PUT_LITERAL(p, lit)	(memcpy((p), (lit), sizeof(lit) - 1), \
				    (p) + sizeof(lit) - 1)

/*
 * `s` as a JSON string (RFC 8259 7), or null: quote, backslash and
 * control characters escaped, everything else -- valid UTF-8, as
 * PostgreSQL only stores valid UTF-8 -- copied as is.  Returns the end.
 */
static char *
put_json_string(char *p, const char *s)
{
	if (s == NULL)
		return PUT_LITERAL(p, "null");
	*p++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\') {
			*p++ = (char)c;
			continue;
		}
		*p++ = '\\';
		switch (c) {
		case '"':	*p++ = '"'; break;
		case '\\':	*p++ = '\\'; break;
		case '\n':	*p++ = 'n'; break;
		case '\r':	*p++ = 'r'; break;
		case '\t':	*p++ = 't'; break;
		default:
			p = PUT_LITERAL(p, "u00");
			*p++ = codec_hex_digit(c >> 4);
			*p++ = codec_hex_digit(c);
			break;
		}
	}
	*p++ = '"';
	return p;
}

/* v in decimal (snprintf cost more than the rest of the row). */
static char *
put_uint(char *p, unsigned v)
{
	char digits[16], *d = digits + sizeof(digits);
	size_t n;

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	n = (size_t)(digits + sizeof(digits) - d);
	memcpy(p, d, n);
	return p + n;
}

/* The keys, braces and a port: less than this; the strings come on top. */
#define HOST_VIEW_FIXED	256

/*
 * SwarmHostView, written straight into the response: lists of thousands
 * of hosts are rendered without a json-c object per host.
 */
int
render_host_view(struct http_response *resp, const struct db_host *h)
{
	char *start, *p;
	size_t max;

	max = HOST_VIEW_FIXED + json_string_max(h->uuid) +
	    json_string_max(h->name) + json_string_max(h->address) +
	    json_string_max(h->status) + json_string_max(h->last_heartbeat) +
	    json_string_max(h->client_cert_fingerprint) +
	    json_string_max(h->enrolled_at) + json_string_max(h->notes) +
	    json_string_max(h->cert_not_after) +
	    json_string_max(h->agent_version);
	if ((start = p = http_response_reserve(resp, max)) == NULL)
		return -1;
	p = put_json_string(PUT_LITERAL(p, "{\"uuid\":"), h->uuid);
	p = put_json_string(PUT_LITERAL(p, ",\"name\":"), h->name);
	p = put_json_string(PUT_LITERAL(p, ",\"address\":"), h->address);
	p = put_uint(PUT_LITERAL(p, ",\"agent_port\":"),
	    h->agent_port > 0 ? (unsigned)h->agent_port : 0);
	p = put_json_string(PUT_LITERAL(p, ",\"status\":"), h->status);
	p = put_json_string(PUT_LITERAL(p, ",\"last_heartbeat\":"),
	    h->last_heartbeat);
	p = put_json_string(PUT_LITERAL(p, ",\"client_cert_fingerprint\":"),
	    h->client_cert_fingerprint);
	p = put_json_string(PUT_LITERAL(p, ",\"enrolled_at\":"),
	    h->enrolled_at);
	p = put_json_string(PUT_LITERAL(p, ",\"notes\":"), h->notes);
	/* Added by issue 11, at the end (CONTRACT.md: new fields go last). */
	p = put_json_string(PUT_LITERAL(p, ",\"cert_not_after\":"),
	    h->cert_not_after[0] != '\0' ? h->cert_not_after : NULL);
	p = put_json_string(PUT_LITERAL(p, ",\"agent_version\":"),
	    h->agent_version);
	*p++ = '}';
	return http_response_commit(resp, (size_t)(p - start));
}

/*
 * Append a PEM block as a JSON string body.  PEM is base64, dashes,
 * spaces and newlines (RFC 7468), so only '\n' needs escaping; anything
 * else unexpected is refused rather than mis-encoded.
 */
static int
append_pem_string(struct http_response *resp, const char *pem, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pem[i];

		if (c == '\n') {
			if (http_response_append(resp, pem + start, i - start) ||
			    http_response_append(resp, "\\n", 2))
				return -1;
			start = i + 1;
		} else if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
			return -1;
	}
	return http_response_append(resp, pem + start, len - start);
}

/*
 * The EnrolledBundle body.  The worker key is spliced into the response
 * buffer directly instead of going through a json-c object: json-c frees
 * its strings without wiping them, while the response buffer is marked
 * secret and wiped when it is freed.
 */
int
render_enrolled_bundle(struct http_response *resp, const struct db_host *h,
    const char *ca_pem, const struct pki_issued *issued)
{
	struct json_object *obj;
	const char *text;
	size_t len;
	int bad = 0, rc = -1;

	if ((obj = json_object_new_object()) == NULL)
		return -1;
	bad |= add(obj, "host_uuid", json_object_new_string(h->uuid), 0);
	bad |= add(obj, "name", json_object_new_string(h->name), 0);
	bad |= add(obj, "address", json_object_new_string(h->address), 0);
	bad |= add(obj, "agent_port", json_object_new_int(h->agent_port), 0);
	bad |= add(obj, "fingerprint",
	    json_object_new_string(issued->fingerprint), 0);
	bad |= add(obj, "ca_cert_pem", json_object_new_string(ca_pem), 0);
	bad |= add(obj, "worker_cert_pem",
	    json_object_new_string(issued->cert_pem), 0);
	if (bad)
		goto out;
	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL || len < 2 || text[len - 1] != '}')
		goto out;
	resp->secret = true;
	resp->status = 201;
	resp->content_type = HTTP_JSON;
	resp->len = 0;
	/* A worker that enrolled with a CSR keeps its key: no member. */
	if (issued->key_pem == NULL) {
		if (http_response_append(resp, text, len))
			goto out;
	} else if (http_response_append(resp, text, len - 1) ||
	    http_response_append_str(resp, ",\"worker_key_pem\":\"") ||
	    append_pem_string(resp, issued->key_pem, issued->key_pem_len) ||
	    http_response_append_str(resp, "\"}"))
		goto out;
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}
