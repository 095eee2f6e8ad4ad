#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

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
 * Append `s` as a JSON string (RFC 8259 7): quote, backslash and control
 * characters escaped, everything else -- valid UTF-8, as PostgreSQL only
 * stores valid UTF-8 -- copied as is.  Runs of plain bytes go out in one
 * append.
 */
static int
append_json_string(struct http_response *resp, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char esc[7];

	if (http_response_append(resp, "\"", 1) == -1)
		return -1;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (http_response_append(resp, run, (size_t)(s - run)) == -1)
			return -1;
		esc[0] = '\\';
		switch (c) {
		case '"':	esc[1] = '"'; break;
		case '\\':	esc[1] = '\\'; break;
		case '\n':	esc[1] = 'n'; break;
		case '\r':	esc[1] = 'r'; break;
		case '\t':	esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
			break;
		}
		if (http_response_append(resp, esc, n) == -1)
			return -1;
		run = s + 1;
	}
	if (http_response_append(resp, run, (size_t)(s - run)) == -1)
		return -1;
	return http_response_append(resp, "\"", 1);
}

static int
append_field(struct http_response *resp, const char *key, const char *value)
{
	if (http_response_append_str(resp, key) == -1)
		return -1;
	if (value == NULL)
		return http_response_append(resp, "null", 4);
	return append_json_string(resp, value);
}

/*
 * SwarmHostView, written straight into the response: lists of thousands
 * of hosts are rendered without a json-c object per host.
 */
int
render_host_view(struct http_response *resp, const struct db_host *h)
{
	char port[16], *p = port + sizeof(port);
	unsigned v = h->agent_port > 0 ? (unsigned)h->agent_port : 0;

	/* By hand: snprintf cost more than the rest of the row. */
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (append_field(resp, "{\"uuid\":", h->uuid) ||
	    append_field(resp, ",\"name\":", h->name) ||
	    append_field(resp, ",\"address\":", h->address) ||
	    http_response_append_str(resp, ",\"agent_port\":") ||
	    http_response_append(resp, p, (size_t)(port + sizeof(port) - p)) ||
	    append_field(resp, ",\"status\":", h->status) ||
	    append_field(resp, ",\"last_heartbeat\":", h->last_heartbeat) ||
	    append_field(resp, ",\"client_cert_fingerprint\":",
	    h->client_cert_fingerprint) ||
	    append_field(resp, ",\"enrolled_at\":", h->enrolled_at) ||
	    append_field(resp, ",\"notes\":", h->notes) ||
	    http_response_append(resp, "}", 1))
		return -1;
	return 0;
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
	if (http_response_append(resp, text, len - 1) ||
	    http_response_append_str(resp, ",\"worker_key_pem\":\"") ||
	    append_pem_string(resp, issued->key_pem, issued->key_pem_len) ||
	    http_response_append_str(resp, "\"}"))
		goto out;
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}
