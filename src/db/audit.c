#include "config.h"

/*
 * The audit trail: audit_log, append-only (the table refuses UPDATE,
 * DELETE and TRUNCATE itself: sql/002_trust.sql).  Entries describe
 * refused and failed requests too, so their strings can be anything a
 * client sent: each is cleaned up here (valid UTF-8, no control
 * characters, bounded length) so that recording a hostile request can
 * never be what fails.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "codec.h"
#include "err.h"
#include "db/db.h"
#include "db/internal.h"

#define FIELD_MAX	DB_AUDIT_FIELD_MAX

enum audit_col {
	COL_ID, COL_AT, COL_ACTOR, COL_ACTOR_FINGERPRINT, COL_ACTION,
	COL_TARGET, COL_OUTCOME, COL_CLIENT_ADDR, COL_DETAIL,
	COL_COUNT
};

static const struct db_statement st_insert = { "sc_audit_insert",
    "INSERT INTO audit_log (actor, actor_fingerprint, action, target, "
    "outcome, client_addr, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    7, false };

/* Insertion order, newest first: the id is the order entries were made. */
static const struct db_statement st_list = { "sc_audit_list",
    "SELECT id, " DB_UTC_TIME("at") ", actor, actor_fingerprint, action, "
    "target, outcome, client_addr, detail FROM audit_log "
    "ORDER BY id DESC LIMIT $1::integer", 1, false };


/*
 * Copy `in` to out[FIELD_MAX]: control characters and bytes that are not
 * UTF-8 become '?', and the copy stops at a character boundary before
 * the buffer ends.  NULL stays NULL.
 */
static const char *
clean(const char *in, char out[FIELD_MAX])
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n, o = 0;

	if (in == NULL)
		return NULL;
	while (*s != '\0') {
		/* NUL-terminated: a NUL ends any sequence early. */
		n = codec_utf8_len(s, 4);
		if (o + (n == 0 ? 1 : n) >= FIELD_MAX)
			break;
		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			out[o++] = '?';
			s++;
			continue;
		}
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
	return out;
}

enum sc_err
db_audit_params(const struct db_audit *a, struct db_audit_params *p,
    struct sc_error *err)
{
	const char *in[DB_AUDIT_NPARAMS];
	size_t i;

	if (a == NULL || a->actor == NULL || a->action == NULL ||
	    a->outcome == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "audit entry without actor, action or outcome");
	in[0] = a->actor;
	in[1] = a->actor_fingerprint;
	in[2] = a->action;
	in[3] = a->target;
	in[4] = a->outcome;
	in[5] = a->client_addr;
	in[6] = a->detail;
	for (i = 0; i < DB_AUDIT_NPARAMS; i++)
		p->values[i] = clean(in[i], p->buf[i]);
	return SC_OK;
}

static enum sc_err
audit_exec(struct db *db, const struct db_audit *a, bool retry,
    struct sc_error *err)
{
	struct db_audit_params p = { .values = { NULL } };
	PGresult *res = NULL;
	enum sc_err rc;

	if ((rc = db_audit_params(a, &p, err)) != SC_OK)
		return rc;
	rc = retry ?
	    db_exec_retry(db, &st_insert, p.values, PGRES_COMMAND_OK, &res,
	    err) :
	    db_exec(db, &st_insert, p.values, PGRES_COMMAND_OK, &res, err);
	PQclear(res);
	return rc;
}

enum sc_err
db_audit_insert(struct db *db, const struct db_audit *a,
    struct sc_error *err)
{
	if (!db_in_tx(db))
		return sc_error_set(err, SC_INTERNAL,
		    "audit insert outside a transaction");
	return audit_exec(db, a, false, err);
}

/*
 * A single INSERT commits by itself.  It is sent again on a fresh
 * connection if the old one was found dead: at worst (the server died
 * after committing it) an entry appears twice, which is better for an
 * audit trail than an entry missing.
 */
enum sc_err
db_audit_append(struct db *db, const struct db_audit *a,
    struct sc_error *err)
{
	if (db_in_tx(db))
		return sc_error_set(err, SC_INTERNAL,
		    "audit append inside a transaction");
	return audit_exec(db, a, true, err);
}

static void
audit_row_clear(struct db_audit_row *r)
{
	free(r->actor);
	free(r->actor_fingerprint);
	free(r->action);
	free(r->target);
	free(r->outcome);
	free(r->client_addr);
	free(r->detail);
	memset(r, 0, sizeof(*r));
}

static enum sc_err
row_to_audit(const PGresult *res, struct db_audit_row *r,
    struct sc_error *err)
{
	char *end;
	enum sc_err rc;

	memset(r, 0, sizeof(*r));
	if (PQnfields(res) != COL_COUNT)
		return sc_error_set(err, SC_INTERNAL, "audit row: %d columns, "
		    "expected %d", PQnfields(res), COL_COUNT);
	r->id = strtoll(PQgetvalue(res, 0, COL_ID), &end, 10);
	if (*end != '\0' || r->id <= 0)
		return sc_error_set(err, SC_INTERNAL, "audit row: bad id");
	if ((rc = db_copy_fixed(res, 0, COL_AT, r->at, sizeof(r->at),
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_ACTOR, false, &r->actor,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_ACTOR_FINGERPRINT, true,
	    &r->actor_fingerprint, err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_ACTION, false, &r->action,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_TARGET, true, &r->target,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_OUTCOME, false, &r->outcome,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_CLIENT_ADDR, true, &r->client_addr,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_DETAIL, true, &r->detail,
	    err)) != SC_OK)
		audit_row_clear(r);
	return rc;
}

struct audit_walk {
	int		(*each)(const struct db_audit_row *, void *);
	void		*arg;
	struct sc_error	*err;
};

static enum sc_err
audit_row(const PGresult *res, void *arg)
{
	struct audit_walk *walk = arg;
	struct db_audit_row r;
	enum sc_err rc;

	if ((rc = row_to_audit(res, &r, walk->err)) != SC_OK)
		return rc;
	if (walk->each(&r, walk->arg) != 0)
		rc = sc_error_set(walk->err, SC_INTERNAL,
		    "audit list: stopped by the caller");
	audit_row_clear(&r);
	return rc;
}

enum sc_err
db_audit_list(struct db *db, int limit,
    int (*each)(const struct db_audit_row *, void *), void *arg,
    struct sc_error *err)
{
	struct audit_walk walk = { each, arg, err };
	const char *values[1];
	char lim[16];

	if (limit < 0)
		return sc_error_set(err, SC_INVALID, "audit limit %d", limit);
	snprintf(lim, sizeof(lim), "%d", limit);
	values[0] = lim;
	return db_stream(db, &st_list, values, audit_row, &walk, err);
}
