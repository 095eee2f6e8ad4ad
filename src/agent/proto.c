#include "config.h"

#include <stddef.h>
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

/*
 * One string field of an answer, named as its struct member: copied into
 * the char array of `size` bytes at `offset`, or (size 0) a PEM string
 * strdup'd into the char * there.
 */
struct answer_field {
	const char	*key;
	size_t		 offset;
	size_t		 size;
};
#define COPIED(type, m)	{ #m, offsetof(type, m), sizeof(((type *)NULL)->m) }
#define DUPED(type, m)	{ #m, offsetof(type, m), 0 }

static const struct answer_field bundle_fields[] = {
	COPIED(struct agent_bundle, host_uuid),
	COPIED(struct agent_bundle, name),
	COPIED(struct agent_bundle, fingerprint),
	DUPED(struct agent_bundle, ca_cert_pem),
	DUPED(struct agent_bundle, worker_cert_pem),
};

static const struct answer_field beat_fields[] = {
	COPIED(struct agent_beat, host_uuid),
	COPIED(struct agent_beat, status),
	COPIED(struct agent_beat, last_heartbeat),
	COPIED(struct agent_beat, cert_not_after),
};

/* The fields into *out, in order; the first missing one is the error. */
static enum sc_err
parse_fields(const char *body, size_t len, void *out,
    const struct answer_field *f, size_t n, struct sc_error *err)
{
	json_object *o;
	enum sc_err rc = SC_OK;
	size_t i;

	if ((o = parse_object(body, len)) == NULL)
		return sc_error_set(err, SC_INVALID, "answer is not a JSON "
		    "object");
	for (i = 0; i < n && rc == SC_OK; i++) {
		char *at = (char *)out + f[i].offset;

		rc = f[i].size > 0 ?
		    copy_field(o, f[i].key, at, f[i].size, err) :
		    dup_field(o, f[i].key, (char **)(void *)at, err);
	}
	json_object_put(o);
	return rc;
}

enum sc_err
agent_bundle_parse(const char *body, size_t len, struct agent_bundle *b,
    struct sc_error *err)
{
	enum sc_err rc;

	memset(b, 0, sizeof(*b));
	rc = parse_fields(body, len, b, bundle_fields,
	    sizeof(bundle_fields) / sizeof(bundle_fields[0]), err);
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
	memset(b, 0, sizeof(*b));
	return parse_fields(body, len, b, beat_fields,
	    sizeof(beat_fields) / sizeof(beat_fields[0]), err);
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
