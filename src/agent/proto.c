#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/http.h"
#include "agent/proto.h"
#include "err.h"

static json_object *
parse_object(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (len > AGENT_HTTP_BODY_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The string field `key`, 1 to max-1 bytes, or NULL. */
static const char *
field(json_object *o, const char *key, size_t max)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n >= max)
		return NULL;
	return json_object_get_string(v);
}

static enum sc_err
copy_field(json_object *o, const char *key, char *out, size_t size,
    struct sc_error *err)
{
	const char *v;

	if ((v = field(o, key, size)) == NULL)
		return sc_error_set(err, SC_INVALID, "answer: \"%s\" missing "
		    "or not a string of under %zu bytes", key, size);
	memcpy(out, v, strlen(v) + 1);
	return SC_OK;
}

static enum sc_err
dup_field(json_object *o, const char *key, char **out, struct sc_error *err)
{
	const char *v;

	if ((v = field(o, key, PKI_CERT_PEM_MAX)) == NULL)
		return sc_error_set(err, SC_INVALID, "answer: \"%s\" missing "
		    "or not a PEM string", key);
	if ((*out = strdup(v)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

enum sc_err
agent_bundle_parse(const char *body, size_t len, struct agent_bundle *b,
    struct sc_error *err)
{
	json_object *o;
	enum sc_err rc;

	memset(b, 0, sizeof(*b));
	if ((o = parse_object(body, len)) == NULL)
		return sc_error_set(err, SC_INVALID, "answer is not a JSON "
		    "object");
	if ((rc = copy_field(o, "host_uuid", b->host_uuid,
	    sizeof(b->host_uuid), err)) == SC_OK &&
	    (rc = copy_field(o, "name", b->name, sizeof(b->name),
	    err)) == SC_OK &&
	    (rc = copy_field(o, "fingerprint", b->fingerprint,
	    sizeof(b->fingerprint), err)) == SC_OK &&
	    (rc = dup_field(o, "ca_cert_pem", &b->ca_cert_pem, err)) == SC_OK)
		rc = dup_field(o, "worker_cert_pem", &b->worker_cert_pem, err);
	json_object_put(o);
	if (rc != SC_OK)
		agent_bundle_free(b);
	return rc;
}

void
agent_bundle_free(struct agent_bundle *b)
{
	free(b->ca_cert_pem);
	free(b->worker_cert_pem);
	b->ca_cert_pem = b->worker_cert_pem = NULL;
}

enum sc_err
agent_beat_parse(const char *body, size_t len, struct agent_beat *b,
    struct sc_error *err)
{
	json_object *o;
	enum sc_err rc;

	memset(b, 0, sizeof(*b));
	if ((o = parse_object(body, len)) == NULL)
		return sc_error_set(err, SC_INVALID, "answer is not a JSON "
		    "object");
	if ((rc = copy_field(o, "host_uuid", b->host_uuid,
	    sizeof(b->host_uuid), err)) == SC_OK &&
	    (rc = copy_field(o, "status", b->status, sizeof(b->status),
	    err)) == SC_OK &&
	    (rc = copy_field(o, "last_heartbeat", b->last_heartbeat,
	    sizeof(b->last_heartbeat), err)) == SC_OK)
		rc = copy_field(o, "cert_not_after", b->cert_not_after,
		    sizeof(b->cert_not_after), err);
	json_object_put(o);
	return rc;
}

static char *
render(json_object *o)
{
	const char *s;
	char *out = NULL;

	if (o != NULL && (s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)) != NULL)
		out = strdup(s);
	json_object_put(o);
	return out;
}

char *
agent_csr_body(const char *csr_pem)
{
	json_object *o = json_object_new_object();

	if (o == NULL || json_object_object_add(o, "csr_pem",
	    json_object_new_string(csr_pem)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return render(o);
}

char *
agent_beat_body(const char *version, const char *status)
{
	json_object *o = json_object_new_object();

	if (o == NULL || json_object_object_add(o, "agent_version",
	    json_object_new_string(version)) != 0 ||
	    json_object_object_add(o, "status",
	    json_object_new_string(status)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return render(o);
}

void
agent_detail(const char *body, size_t len, char *out, size_t size)
{
	json_object *o, *v = NULL;
	const char *s = "";
	size_t i;

	out[0] = '\0';
	if ((o = parse_object(body, len)) == NULL)
		return;
	if (json_object_object_get_ex(o, "detail", &v))
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		out[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
	json_object_put(o);
}
