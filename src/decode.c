#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "decode.h"
#include "http/request.h"

enum sc_err
route_token_enroll_req(const struct db_token *t, struct pki_csr *csr,
    struct enroll_req *er, struct sc_error *err)
{
	struct json_object *sans = NULL;
	enum sc_err rc = SC_OK;
	size_t i, n;

	memset(er, 0, sizeof(*er));
	er->csr = csr;
	snprintf(er->name, sizeof(er->name), "%s", t->name);
	snprintf(er->address, sizeof(er->address), "%s", t->address);
	er->agent_port = t->agent_port;
	if (t->notes != NULL && (er->notes = strdup(t->notes)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	if ((sans = json_tokener_parse(t->sans_json)) == NULL ||
	    !json_object_is_type(sans, json_type_array) ||
	    (n = json_object_array_length(sans)) > ENROLL_SANS_MAX) {
		rc = sc_error_set(err, SC_INTERNAL, "token %s: bad sans", t->id);
		goto out;
	}
	if (n > 0 && (er->sans = calloc(n, sizeof(*er->sans))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		snprintf(er->sans[i], sizeof(er->sans[i]), "%s",
		    json_object_get_string(json_object_array_get_idx(sans, i)));
	er->nsans = n;
out:
	json_object_put(sans);
	return rc;
}

/* The request a token stands for, with the CSR the worker sent. */
static enum sc_err
decode_redeem(const struct http_request *req, struct route_input_value *in,
    struct json_object **detail, struct sc_error *err)
{
	struct pki_csr *csr = NULL;
	enum sc_err rc;

	rc = validate_token_redeem(req->body, req->body_len, &csr, detail,
	    err);
	if (rc != SC_OK)
		return rc;
	/* u.enroll owns csr from here, also on failure. */
	return route_token_enroll_req(&in->caller.token, csr, &in->u.enroll,
	    err);
}

enum sc_err
route_input_decode(enum route_input kind, const struct http_request *req,
    const char *param, const struct name_policy *policy,
    const char *not_found, struct route_input_value *in,
    struct json_object **detail, struct sc_error *err)
{
	enum sc_err rc = SC_OK;

	in->kind = kind;
	in->param = param;
	memset(&in->u, 0, sizeof(in->u));
	switch (kind) {
	case INPUT_NONE:
		break;
	case INPUT_UUID:
		/* A malformed id names nothing: 404, as the contract says. */
		if (!validate_uuid(param, in->u.uuid)) {
			in->u.uuid[0] = '\0';
			rc = sc_error_set(err, SC_NOT_FOUND, "%s", not_found);
		}
		break;
	case INPUT_ENROLL:
		rc = validate_enroll(req->body, req->body_len, &in->u.enroll,
		    detail, err);
		if (rc == SC_OK)
			rc = validate_enroll_policy(&in->u.enroll, policy,
			    detail, err);
		break;
	case INPUT_HOSTS_QUERY:
		rc = validate_hosts_query(req->query, &in->u.hosts, detail,
		    err);
		break;
	case INPUT_AUDIT_QUERY:
		rc = validate_audit_query(req->query, &in->u.audit_limit,
		    detail, err);
		break;
	case INPUT_TOKEN_CREATE:
		rc = validate_token_create(req->body, req->body_len,
		    &in->u.token_create, detail, err);
		if (rc == SC_OK)
			rc = validate_enroll_policy(&in->u.token_create.er,
			    policy, detail, err);
		break;
	case INPUT_TOKEN_REDEEM:
		if ((rc = decode_redeem(req, in, detail, err)) == SC_OK)
			rc = validate_enroll_policy(&in->u.enroll, policy,
			    detail, err);
		break;
	case INPUT_RENEW:
		rc = validate_renew(req->body, req->body_len, &in->u.csr,
		    detail, err);
		break;
	case INPUT_HEARTBEAT:
		rc = validate_heartbeat(req->body, req->body_len,
		    &in->u.heartbeat, detail, err);
		break;
	}
	return rc;
}

const char *
route_input_target(const struct route_input_value *in)
{
	const char *name = NULL;

	switch (in->kind) {
	case INPUT_UUID:
		/* A well-formed uuid is recorded as looked up: lower case. */
		return in->u.uuid[0] != '\0' ? in->u.uuid : in->param;
	case INPUT_ENROLL:
		name = in->u.enroll.name;
		break;
	case INPUT_TOKEN_CREATE:
		name = in->u.token_create.er.name;
		break;
	case INPUT_TOKEN_REDEEM:
		return in->caller.token.id;
	case INPUT_RENEW:
	case INPUT_HEARTBEAT:
		name = in->caller.worker.ref.host_uuid;
		break;
	case INPUT_NONE:
	case INPUT_HOSTS_QUERY:
	case INPUT_AUDIT_QUERY:
		break;
	}
	return name != NULL && name[0] != '\0' ? name : NULL;
}

void
route_input_clear(struct route_input_value *in)
{
	switch (in->kind) {
	case INPUT_ENROLL:
	case INPUT_TOKEN_REDEEM:
		enroll_req_clear(&in->u.enroll);
		break;
	case INPUT_TOKEN_CREATE:
		token_create_req_clear(&in->u.token_create);
		break;
	case INPUT_RENEW:
		pki_csr_free(in->u.csr);
		in->u.csr = NULL;
		break;
	default:
		break;
	}
	db_token_clear(&in->caller.token);
	in->kind = INPUT_NONE;
}
