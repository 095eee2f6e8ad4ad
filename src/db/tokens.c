/*
 * Bootstrap tokens: storage.  The secret never reaches this file, only
 * its SHA-256 (handlers/tokens.c).  A token is claimed by an UPDATE
 * inside the enrollment's own transaction, so the host row, its
 * certificate and the token's use commit together or not at all: a
 * failed enrollment leaves the token usable, and of N concurrent claims
 * the row lock lets one through (READ COMMITTED re-checks the others'
 * WHERE after the first commits, and finds the token used).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "db/db.h"
#include "db/internal.h"

/* What the API calls a token's state; expiry is decided by the server. */
#define TOKEN_STATE \
	"CASE WHEN revoked_at IS NOT NULL THEN 'revoked' " \
	"WHEN used_at IS NOT NULL THEN 'used' " \
	"WHEN expires_at <= now() THEN 'expired' ELSE 'active' END"

#define TOKEN_COLUMNS \
	"id, name, address, agent_port, sans::text, notes, created_by, " \
	DB_UTC_TIME("created_at") ", " DB_UTC_TIME("expires_at") ", " \
	DB_UTC_TIME("used_at") ", used_by_host, " DB_UTC_TIME("revoked_at") \
	", " TOKEN_STATE

enum token_col {
	COL_ID, COL_NAME, COL_ADDRESS, COL_PORT, COL_SANS, COL_NOTES,
	COL_CREATED_BY, COL_CREATED_AT, COL_EXPIRES_AT, COL_USED_AT,
	COL_USED_BY, COL_REVOKED_AT, COL_STATE
};

static const struct db_statement st_create = { "sc_token_create",
    "INSERT INTO bootstrap_tokens (token_hash, name, address, agent_port, "
    "sans, notes, created_by, expires_at) VALUES ($1, $2, $3, "
    "$4::integer, $5::jsonb, $6, $7, now() + make_interval(secs => "
    "$8::integer)) RETURNING id, " DB_UTC_TIME("expires_at"), 8, false };

static const struct db_statement st_list = { "sc_token_list",
    "SELECT " TOKEN_COLUMNS " FROM bootstrap_tokens "
    "ORDER BY created_at DESC, id", 0, false };

static const struct db_statement st_lookup = { "sc_token_lookup",
    "SELECT " TOKEN_COLUMNS " FROM bootstrap_tokens WHERE token_hash = $1",
    1, false };

static const struct db_statement st_revoke = { "sc_token_revoke",
    "UPDATE bootstrap_tokens SET revoked_at = coalesce(revoked_at, "
    "now()) WHERE id = $1::uuid RETURNING id", 1, false };

static const struct db_statement st_claim = { "sc_token_claim",
    "UPDATE bootstrap_tokens SET used_at = now(), used_by_host = $2::uuid "
    "WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL "
    "AND expires_at > now() RETURNING id", 2, false };

void
db_token_clear(struct db_token *t)
{
	free(t->name);
	free(t->address);
	free(t->sans_json);
	free(t->notes);
	free(t->created_by);
	free(t->used_at);
	free(t->used_by_host);
	free(t->revoked_at);
	memset(t, 0, sizeof(*t));
}

static enum sc_err
token_row(const PGresult *res, int row, struct db_token *t,
    struct sc_error *err)
{
	enum sc_err rc;

	memset(t, 0, sizeof(*t));
	if ((rc = db_copy_fixed(res, row, COL_ID, t->id, sizeof(t->id),
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_NAME, false, &t->name,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_ADDRESS, false, &t->address,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_SANS, false, &t->sans_json,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_NOTES, true, &t->notes,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_CREATED_BY, false,
	    &t->created_by, err)) != SC_OK ||
	    (rc = db_copy_fixed(res, row, COL_CREATED_AT, t->created_at,
	    sizeof(t->created_at), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, row, COL_EXPIRES_AT, t->expires_at,
	    sizeof(t->expires_at), err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_USED_AT, true, &t->used_at,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_USED_BY, true, &t->used_by_host,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, row, COL_REVOKED_AT, true,
	    &t->revoked_at, err)) != SC_OK ||
	    (rc = db_copy_fixed(res, row, COL_STATE, t->state,
	    sizeof(t->state), err)) != SC_OK) {
		db_token_clear(t);
		return rc;
	}
	t->agent_port = atoi(PQgetvalue(res, row, COL_PORT));
	return SC_OK;
}

/*
 * A change to a token and its audit entry commit together:
 * change_begin opens the transaction and runs the change,
 * audit_and_commit ends it; on failure the caller rolls back.
 */
static enum sc_err
change_begin(struct db *db, const struct db_statement *st,
    const char *const *values, PGresult **res, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_tx_begin(db, err)) != SC_OK)
		return rc;
	return db_exec(db, st, values, PGRES_TUPLES_OK, res, err);
}

static enum sc_err
audit_and_commit(struct db *db, const struct db_audit *audit,
    struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_audit_insert(db, audit, err)) == SC_OK)
		rc = db_tx_commit(db, err);
	return rc;
}

enum sc_err
db_token_create(struct db *db, const struct db_token_new *t,
    const struct db_audit *audit, char id[DB_UUID_LEN + 1],
    char expires_at[DB_TIME_LEN + 1], struct sc_error *err)
{
	struct db_audit entry = *audit;
	char port[16], ttl[16], detail[64];
	const char *values[8];
	PGresult *res = NULL;
	enum sc_err rc;

	snprintf(port, sizeof(port), "%d", t->agent_port);
	snprintf(ttl, sizeof(ttl), "%d", t->ttl_seconds);
	values[0] = t->token_hash;
	values[1] = t->name;
	values[2] = t->address;
	values[3] = port;
	values[4] = t->sans_json;
	values[5] = t->notes;
	values[6] = t->created_by;
	values[7] = ttl;
	if ((rc = change_begin(db, &st_create, values, &res, err)) != SC_OK)
		goto out;
	if (PQntuples(res) != 1) {
		rc = sc_error_set(err, SC_INTERNAL, "token insert: no row");
		goto out;
	}
	if ((rc = db_copy_fixed(res, 0, 0, id, DB_UUID_LEN + 1, err)) !=
	    SC_OK || (rc = db_copy_fixed(res, 0, 1, expires_at,
	    DB_TIME_LEN + 1, err)) != SC_OK)
		goto out;
	if (entry.detail == NULL) {
		snprintf(detail, sizeof(detail), "token %s", id);
		entry.detail = detail;
	}
	rc = audit_and_commit(db, &entry, err);
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	PQclear(res);
	return rc;
}

enum sc_err
db_tokens_list(struct db *db, int (*each)(const struct db_token *, void *),
    void *arg, struct sc_error *err)
{
	struct db_token t;
	PGresult *res = NULL;
	enum sc_err rc;
	int i;

	if ((rc = db_exec_retry(db, &st_list, NULL, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		if ((rc = token_row(res, i, &t, err)) != SC_OK)
			break;
		if (each(&t, arg) != 0)
			rc = sc_error_set(err, SC_INTERNAL, "token list: "
			    "rendering failed");
		db_token_clear(&t);
		if (rc != SC_OK)
			break;
	}
	PQclear(res);
	return rc;
}

enum sc_err
db_token_lookup(struct db *db, const char *token_hash, struct db_token *t,
    bool *found, struct sc_error *err)
{
	const char *values[1] = { token_hash };
	PGresult *res = NULL;
	enum sc_err rc;

	*found = false;
	memset(t, 0, sizeof(*t));
	if ((rc = db_exec_retry(db, &st_lookup, values, PGRES_TUPLES_OK,
	    &res, err)) != SC_OK)
		return rc;
	if (PQntuples(res) == 1 && (rc = token_row(res, 0, t, err)) == SC_OK)
		*found = true;
	PQclear(res);
	return rc;
}

enum sc_err
db_token_revoke(struct db *db, const char *id, const struct db_audit *audit,
    struct sc_error *err)
{
	const char *values[1] = { id };
	PGresult *res = NULL;
	enum sc_err rc;

	if ((rc = change_begin(db, &st_revoke, values, &res, err)) != SC_OK)
		goto out;
	if (PQntuples(res) != 1) {
		rc = sc_error_set(err, SC_NOT_FOUND, "token not found");
		goto out;
	}
	rc = audit_and_commit(db, audit, err);
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	PQclear(res);
	return rc;
}

enum sc_err
db_token_claim(struct db *db, const char *token_hash, const char *host_uuid,
    const struct db_audit *audit, char id[DB_UUID_LEN + 1],
    struct sc_error *err)
{
	const char *values[2] = { token_hash, host_uuid };
	PGresult *res = NULL;
	enum sc_err rc;

	if (!db_in_tx(db))
		return sc_error_set(err, SC_INTERNAL,
		    "token claim outside a transaction");
	if ((rc = db_exec(db, &st_claim, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	if (PQntuples(res) != 1) {
		rc = sc_error_set(err, SC_FORBIDDEN, "token no longer valid");
		goto out;
	}
	if ((rc = db_copy_fixed(res, 0, 0, id, DB_UUID_LEN + 1, err)) ==
	    SC_OK)
		rc = db_audit_insert(db, audit, err);
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	PQclear(res);
	return rc;
}
