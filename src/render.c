#include "config.h"

#include <json-c/json.h>

#include "db/db.h"
#include "http/response.h"
#include "pki/pki.h"
#include "render.h"

static struct json_object *
string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

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

struct json_object *
render_host_view(const struct db_host *h)
{
	struct json_object *obj;
	int bad = 0;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	bad |= add(obj, "uuid", json_object_new_string(h->uuid), 0);
	bad |= add(obj, "name", json_object_new_string(h->name), 0);
	bad |= add(obj, "address", json_object_new_string(h->address), 0);
	bad |= add(obj, "agent_port", json_object_new_int(h->agent_port), 0);
	bad |= add(obj, "status", json_object_new_string(h->status), 0);
	bad |= add(obj, "last_heartbeat", string_or_null(h->last_heartbeat), 1);
	bad |= add(obj, "client_cert_fingerprint",
	    json_object_new_string(h->client_cert_fingerprint), 0);
	bad |= add(obj, "enrolled_at", json_object_new_string(h->enrolled_at), 0);
	bad |= add(obj, "notes", string_or_null(h->notes), 1);
	if (bad) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
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
