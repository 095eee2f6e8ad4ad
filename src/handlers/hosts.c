/*
 * The host lifecycle: enroll, list, get, decommission.
 *
 * Enrollment is all-or-nothing (CONTRACT.md, "Lifecycle guarantees"):
 * the name is reserved by an INSERT in an open transaction (a concurrent
 * enrollment of the same name waits on the unique index and then gets
 * 409), the certificate is issued, the bundle written durably under a
 * temporary name and renamed into place, and only then is the
 * fingerprint recorded and the transaction committed.  Any failure rolls
 * back and removes the bundle.
 *
 * An enrollment and a decommission of the same name can overlap: the
 * enrollment's INSERT goes ahead as soon as the decommission commits,
 * and its bundle replaces the old one before the decommission gets to
 * remove that.  So bundles change hands only under the name's lock
 * (db_bundle_settle_begin), and a bundle is removed only if it still
 * holds the certificate of the row that is gone (orphans.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "crl.h"
#include "db/db.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "hostcache.h"
#include "http/request.h"
#include "http/response.h"
#include "log.h"
#include "orphans.h"
#include "policy.h"
#include "pki/bundle.h"
#include "pki/pki.h"
#include "render.h"
#include "validate.h"

/*
 * The commit failed.  Unless its outcome is in doubt, the row (or the
 * renewal) is gone and so must the bundle holding its certificate be --
 * unless another enrollment of the name has written its own since our
 * rollback released the name.  In doubt, the bundle is kept (a row
 * without its bundle would lose a worker's credentials) until the
 * database can say whether the row exists.
 */
void
handler_settle_bundle(struct handler_ctx *ctx, const char *name,
    const char *fingerprint, const char *since, int doubt_pid,
    const char *what)
{
	struct db_bundle_claim claim;

	memset(&claim, 0, sizeof(claim));
	snprintf(claim.name, sizeof(claim.name), "%s", name);
	snprintf(claim.fingerprint, sizeof(claim.fingerprint), "%s",
	    fingerprint);
	claim.old_pid = doubt_pid;
	/* The transaction began no later than `since` (the server's now()). */
	snprintf(claim.old_since, sizeof(claim.old_since), "%s", since);
	if (doubt_pid != 0) {
		log_warn("%s %s: commit outcome unknown; bundle kept until "
		    "the database can tell", what, name);
		orphans_defer(&claim);
		return;
	}
	orphans_settle_or_defer(ctx->db, ctx->cfg->ca_dir, &claim, what);
}

/* The request's sans as the JSON array the table keeps. */
char *
handler_sans_json(const struct enroll_req *er)
{
	struct json_object *a;
	char *out = NULL;
	size_t i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < er->nsans; i++)
		json_object_array_add(a, json_object_new_string(er->sans[i]));
	if (json_object_array_length(a) == er->nsans)
		out = strdup(json_object_to_json_string_ext(a,
		    JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return out;
}

/* subjectAltName candidates: sans, then address, then name. */
static const char **
san_list(const struct enroll_req *er, size_t *n)
{
	const char **sans;
	size_t i;

	if ((sans = calloc(er->nsans + 2, sizeof(*sans))) == NULL)
		return NULL;
	for (i = 0; i < er->nsans; i++)
		sans[i] = er->sans[i];
	sans[i++] = er->address;
	sans[i++] = er->name;
	*n = i;
	return sans;
}

/*
 * The host's DNS names as the enrollment reserves them: a name
 * (compared without regard to case, RFC 4343) that another host's
 * certificate carries would let either host pass for the other.
 */
static enum sc_err
name_keys(const char *const *sans, size_t nsans, const char **keys,
    size_t nkeys_max, char *buf, size_t size, size_t *n,
    struct sc_error *err)
{
	*n = policy_name_keys(sans, nsans, buf, size, keys, nkeys_max);
	if (*n == SIZE_MAX)
		return sc_error_set(err, SC_INTERNAL, "too many names");
	return SC_OK;
}

/*
 * A redeemed bootstrap token is claimed in the enrollment's transaction,
 * after the name is reserved: the host, its certificate and the token's
 * use commit together, and a failed enrollment leaves the token unused.
 */
static enum sc_err
claim_token(struct handler_ctx *ctx, const struct http_request *req,
    const struct token_claim *claim, const struct db_host *h,
    struct sc_error *err)
{
	struct db_audit audit;
	char detail[DB_HOST_NAME_MAX + DB_UUID_LEN + 16];
	char id[DB_UUID_LEN + 1];

	snprintf(detail, sizeof(detail), "enrolled %s (%s)", h->name, h->uuid);
	handler_audit_entry(ctx, req, "token-redeem", claim->id, "success",
	    detail, &audit);
	return db_token_claim(ctx->db, claim->hash, h->uuid, &audit, id, err);
}

/*
 * What an enrollment makes before its host row -- the certificate and
 * the bundle, staged under no host's name -- while the database
 * reserves the name (db_meanwhile).  Nothing of it is anyone's until
 * the bundle is placed under the name, which only the name's lock
 * holder does; a conflict costs a signature and a staged bundle.
 */
struct enroll_make {
	struct handler_ctx	*ctx;
	const struct enroll_req	*er;
	const char *const	*sans;
	size_t			 nsans;
	struct pki_issued	 issued;
	struct bundle_staged	 staged;
	enum sc_err		 rc;
	struct sc_error		 err;
};

static void
enroll_make(void *arg)
{
	struct enroll_make *m = arg;
	const struct enroll_req *er = m->er;

	/* With a CSR the worker keeps its key: none made, sent or written. */
	if (er->csr != NULL)
		m->rc = pki_issue_worker_for_key(m->ctx->ca, er->name, m->sans,
		    m->nsans, er->csr, &m->issued, &m->err);
	else
		m->rc = pki_issue_worker(m->ctx->ca, er->name, m->sans,
		    m->nsans, m->ctx->cfg->key_type, &m->issued, &m->err);
	if (m->rc == SC_OK)
		m->rc = bundle_stage(m->ctx->cfg->ca_dir,
		    pki_ca_cert_pem(m->ctx->ca), &m->issued, &m->staged,
		    &m->err);
}

enum sc_err
handler_enroll(struct handler_ctx *ctx, const struct http_request *req,
    const struct enroll_req *er, const struct token_claim *claim,
    struct http_response *resp, struct sc_error *err)
{
	struct enroll_make make;
	struct db_meanwhile mw;
	struct db_audit audit;
	struct db_cert cert;
	struct db_host h;
	const char **sans = NULL, *keys[ENROLL_SANS_MAX + 2], *taken;
	char *path = NULL, *sans_json = NULL;
	char keybuf[(ENROLL_SANS_MAX + 2) * (ENROLL_HOST_MAX + 1)];
	size_t nsans = 0, nkeys = 0;
	bool in_txn = false;
	int doubt_pid;
	enum sc_err rc;

	make = (struct enroll_make){ .ctx = ctx, .er = er };
	bundle_staged_init(&make.staged);
	memset(&h, 0, sizeof(h));
	if ((rc = handler_require_ca(ctx, PKI_CA_WORKER, err)) != SC_OK)
		goto out;
	if ((path = bundle_path(ctx->cfg->ca_dir, er->name)) == NULL ||
	    (sans = san_list(er, &nsans)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	h.name = (char *)er->name;
	h.address = (char *)er->address;
	h.agent_port = er->agent_port;
	h.cert_bundle_path = path;
	h.notes = er->notes;
	/* Kept for renewals, which certify the same names again. */
	if ((sans_json = handler_sans_json(er)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	h.sans_json = sans_json;
	if ((rc = name_keys(sans, nsans, keys, sizeof(keys) / sizeof(keys[0]),
	    keybuf, sizeof(keybuf), &nkeys, err)) != SC_OK)
		goto out;
	make.sans = sans;
	make.nsans = nsans;
	mw = (struct db_meanwhile){ .fn = enroll_make, .arg = &make };
	/*
	 * A bootstrap token's holder is not yet known to be anyone: nothing
	 * is signed for it before its token is claimed.
	 */
	if ((rc = db_enroll_begin(ctx->db, &h, keys, nkeys, &taken,
	    claim == NULL ? &mw : NULL, err)) != SC_OK) {
		if (rc == SC_CONFLICT && taken == NULL) {
			sc_error_clear(err);
			rc = sc_error_set(err, SC_CONFLICT,
			    "Worker '%s' is already enrolled", er->name);
		}
		goto out;
	}
	in_txn = true;
	if (claim != NULL &&
	    (rc = claim_token(ctx, req, claim, &h, err)) != SC_OK) {
		in_txn = false;		/* rolled back */
		goto out;
	}
	if (!mw.ran)
		enroll_make(&make);
	if (make.rc != SC_OK) {
		rc = sc_error_set(err, make.rc, "%s", make.err.msg);
		goto out;
	}
	if ((rc = bundle_place(&make.staged, er->name, err)) != SC_OK)
		goto out;
	/* From here the commit decides the bundle's fate (db_enroll_commit
	 * rolls back itself; drop_uncommitted_bundle removes the bundle). */
	in_txn = false;
	cert = (struct db_cert){ .serial_hex = make.issued.serial_hex,
	    .fingerprint = make.issued.fingerprint,
	    .subject = make.issued.subject, .kind = "worker",
	    .ca = pki_ca_role_name(PKI_CA_WORKER), .host_uuid = h.uuid,
	    .not_after = make.issued.not_after };
	handler_audit_entry(ctx, req, "enroll", er->name, "success", NULL,
	    &audit);
	if ((rc = db_enroll_commit(ctx->db, &h, &cert, &audit, &doubt_pid,
	    err)) != SC_OK) {
		handler_settle_bundle(ctx, h.name, make.issued.fingerprint,
		    h.enrolled_at, doubt_pid, "enroll");
		goto out;
	}
	if (render_enrolled_bundle(resp, &h, pki_ca_cert_pem(ctx->ca),
	    &make.issued) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "rendering bundle failed");
	else
		log_info("enrolled %s (%s) fingerprint %s, %s", er->name,
		    h.uuid, make.issued.fingerprint, er->csr != NULL ?
		    pki_csr_key_desc(er->csr) : "key made here");
out:
	/* A bundle staged but not placed (a conflict, a failure) goes. */
	bundle_unstage(&make.staged);
	if (in_txn)
		db_rollback(ctx->db);
	pki_issued_clear(&make.issued);
	free(sans);
	free(sans_json);
	free(path);
	return rc;
}

enum sc_err
handle_enroll(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	/* Success is audited inside the enrollment transaction. */
	return handler_enroll(ctx, req, &in->u.enroll, NULL, resp, err);
}

/* Streams the list: headers go out with the first row. */
struct list_state {
	struct http_response	*resp;
	size_t			 rows;
};

static int
list_row(const struct db_host *h, void *arg)
{
	struct list_state *st = arg;

	if (st->rows == 0 && http_response_stream_begin(st->resp, 200) == -1)
		return -1;
	if (http_response_append(st->resp, st->rows == 0 ? "[" : ",", 1) ||
	    render_host_view(st->resp, h))
		return -1;
	st->rows++;
	return 0;
}

enum sc_err
handle_hosts_list(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const struct hosts_query *q = &in->u.hosts;
	struct list_state st = { resp, 0 };
	struct db_host_filter filter;
	enum sc_err rc;

	(void)req;
	filter.status = q->has_status ? q->status : NULL;
	filter.after = q->has_after ? q->after : NULL;
	filter.limit = q->limit;
	filter.expiring_days = q->expiring_within;
	rc = db_hosts_list(ctx->db, &filter, list_row, &st, err);
	if (rc != SC_OK)
		return rc;
	if (st.rows == 0) {
		resp->status = 200;
		resp->content_type = HTTP_JSON;
		if (http_response_append(resp, "[]", 2) == -1)
			return sc_error_set(err, SC_INTERNAL, "out of memory");
		return SC_OK;
	}
	if (http_response_append(resp, "]", 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

enum sc_err
handle_host_get(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	const char *uuid = in->u.uuid;
	struct db_host h;
	const char *kept;
	uint64_t epoch, now;
	size_t len;
	enum sc_err rc;

	(void)req;
	memset(&h, 0, sizeof(h));
	/* The epoch before the read: a change during it spoils the entry. */
	epoch = db_host_epoch(ctx->db);
	now = host_cache_now_ms();
	resp->content_type = HTTP_JSON;
	if ((kept = host_cache_get(ctx->host_cache, uuid, epoch, now,
	    &len)) != NULL) {
		resp->status = 200;
		rc = http_response_append(resp, kept, len) == -1 ?
		    sc_error_set(err, SC_INTERNAL, "out of memory") : SC_OK;
		goto out;
	}
	if ((rc = db_host_get(ctx->db, uuid, &h, err)) != SC_OK) {
		if (rc == SC_NOT_FOUND) {
			sc_error_clear(err);
			sc_error_set(err, SC_NOT_FOUND, "host not found");
		}
		goto out;
	}
	resp->status = 200;
	if (render_host_view(resp, &h) == -1) {
		rc = sc_error_set(err, SC_INTERNAL, "rendering host failed");
		goto out;
	}
	host_cache_put(ctx->host_cache, uuid, epoch, now, resp->buf,
	    resp->len);
out:
	db_host_clear(&h);
	return rc;
}

enum sc_err
handle_host_delete(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	struct db_bundle_claim claim = { .old_pid = 0 };
	const char *uuid = in->u.uuid;
	struct db_audit audit;
	const char *name = claim.name;
	enum sc_err rc;

	handler_audit_entry(ctx, req, "decommission", uuid, "success", NULL,
	    &audit);
	if ((rc = db_host_delete(ctx->db, uuid, &audit, &claim, err)) !=
	    SC_OK) {
		/* Cut off during COMMIT: settled once the database can tell. */
		if (claim.old_pid != 0)
			orphans_defer(&claim);
		if (rc == SC_NOT_FOUND) {
			sc_error_clear(err);
			sc_error_set(err, SC_NOT_FOUND, "host not found");
		}
		goto out;
	}
	/*
	 * The revocation is committed: the CRL publisher (src/crl.c) puts
	 * it in crl.pem shortly, with whatever else is revoked meanwhile,
	 * and keeps trying should that fail.  Not waiting for it keeps a
	 * decommission's time independent of the CRL's size.
	 */
	crl_publish_soon();
	/*
	 * The rows are gone.  The bundle goes too, unless an enrollment of
	 * the name has replaced it meanwhile; one that cannot be removed now
	 * is settled later, not a reason to fail a decommission that has
	 * already happened.
	 */
	orphans_settle_or_defer(ctx->db, ctx->cfg->ca_dir, &claim,
	    "decommission");
	log_info("decommissioned %s (%s)", name, uuid);
	http_response_empty(resp, 204);
out:
	return rc;
}
