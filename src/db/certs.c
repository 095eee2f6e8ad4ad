#include "config.h"

/*
 * The certificates table: every certificate the CA issues, and which of
 * them are revoked.  It is what the responder asks when an operator
 * certificate knocks (db_cert_status) and what the CRL is made of
 * (db_crl_begin).  Statements as in db.c: named, prepared, parameters
 * only.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "db/db.h"
#include "db/internal.h"
#include "db/migrations.h"
#include "pki/pki.h"

/* RFC 5280 5.3.1 CRLReason names, as the reason column stores them. */
#define REASON_DECOMMISSION	"cessationOfOperation"
#define REASON_OPERATOR		"unspecified"

#define CERT_COLUMNS	"serial, fingerprint, subject, kind, " \
			"host_uuid::text, " DB_UTC_TIME("not_after") ", " \
			DB_UTC_TIME("revoked_at") ", reason"

enum cert_col {
	COL_SERIAL, COL_FINGERPRINT, COL_SUBJECT, COL_KIND, COL_HOST_UUID,
	COL_NOT_AFTER, COL_REVOKED_AT, COL_REASON,
	COL_COUNT
};

static const struct db_statement st_insert = { "sc_cert_insert",
    "INSERT INTO certificates (serial, fingerprint, subject, kind, "
    "host_uuid, not_after, ca) "
    "VALUES ($1, $2, $3, $4, $5::uuid, to_timestamp($6::bigint), $7)",
    7, false };

static const struct db_statement st_revoke_host = { "sc_cert_revoke_host",
    "UPDATE certificates SET revoked_at = now(), "
    "reason = '" REASON_DECOMMISSION "' "
    "WHERE host_uuid = $1::uuid AND revoked_at IS NULL", 1, false };

static const struct db_statement st_status = { "sc_cert_status",
    "SELECT revoked_at IS NOT NULL FROM certificates "
    "WHERE fingerprint = $1", 1, false };

static const struct db_statement st_list = { "sc_certs_list",
    "SELECT " CERT_COLUMNS " FROM certificates "
    "ORDER BY issued_at, serial", 0, false };

static const struct db_statement st_list_kind = { "sc_certs_list_kind",
    "SELECT " CERT_COLUMNS " FROM certificates WHERE kind = $1 "
    "ORDER BY issued_at, serial", 1, false };

/*
 * By fingerprint, or by the CN: the subject is RFC 4514 text with the CN
 * first ("CN=alice,OU=swarm-operator,O=DECNET").  The pattern stops at a
 * backslash, so a CN with escaped characters never matches a bare name
 * (operator names are [A-Za-z0-9._-] and never need escaping).
 */
static const struct db_statement st_operator_revoke = {
    "sc_cert_operator_revoke",
    "UPDATE certificates SET revoked_at = now(), "
    "reason = '" REASON_OPERATOR "' "
    "WHERE kind = 'operator' AND revoked_at IS NULL AND "
    "(fingerprint = lower($1) OR "
    "substring(subject FROM '^CN=([^,\\\\]*)(,|$)') = $1) "
    "RETURNING fingerprint", 1, false };

/* Serialises CRL writers until their transaction ends (db_crl_done). */
/*
 * The CRL writers' lock, and room to sort a long list in memory for this
 * transaction, should the planner scan and sort rather than read
 * certificates_crl_idx in order (the default 4 MB spills 100,000 entries
 * to disk).
 */
/*
 * No parallel workers for the publisher's reads: tens of milliseconds of
 * index scan, on a machine whose other cores are serving requests.
 */
static const struct db_statement st_crl_lock = { "sc_crl_lock",
    "SELECT pg_advisory_xact_lock(" DB_LOCK_CLASS ", " DB_LOCK_CRL "), "
    "set_config('work_mem', '64MB', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)", 0, false };

/*
 * What the CRL lists: every revoked certificate of the CA except those
 * that expired more than $2 seconds ago.  RFC 5280 5.1.2.6 lets an entry
 * go once it has appeared on a regularly scheduled CRL issued after the
 * certificate expired; with $2 the CRL's validity period, and a CRL
 * republished at least every half period, it has.  In order of
 * revocation; serials (lower-case hex) compare bytewise, not by the
 * database's collation, and date_part is float8 arithmetic where
 * extract would be numeric: at 100,000 entries both show.  Epoch
 * seconds, rounded down (X.509 times have no fractions).
 */
#define CRL_LISTED \
    "revoked_at IS NOT NULL AND ca = $1 AND " \
    "not_after > now() - make_interval(secs => $2::bigint)"
#define CRL_ROW \
    "serial, floor(date_part('epoch', revoked_at))::bigint, " \
    "floor(date_part('epoch', not_after))::bigint"
static const struct db_statement st_crl_revoked = { "sc_crl_revoked",
    "SELECT " CRL_ROW " FROM certificates WHERE " CRL_LISTED " "
    "ORDER BY revoked_at, serial COLLATE \"C\"", 2, false };

/*
 * How many of the CA's certificates were ever revoked (the set only
 * grows), how many of them the CRL lists, and the expiry before which it
 * does not (epoch seconds, rounded down).  Index-only
 * (certificates_revoked_idx, sql/011).
 */
#define CRL_COUNTS \
    "SELECT count(*), count(*) FILTER (WHERE not_after > now() - " \
    "make_interval(secs => $2::bigint)), floor(date_part('epoch', " \
    "now() - make_interval(secs => $2::bigint)))::bigint " \
    "FROM certificates WHERE revoked_at IS NOT NULL AND ca = $1"
static const struct db_statement st_crl_counts = { "sc_crl_counts",
    CRL_COUNTS, 2, false };

/*
 * The listed rows revoked at or after $3 (epoch seconds), each with the
 * counts beside it (one row of counts and NULLs if there is none): one
 * statement, so one snapshot, so that the counts describe exactly the
 * set these rows were read from.
 */
static const struct db_statement st_crl_changes = { "sc_crl_changes",
    "SELECT c.*, r.* FROM (" CRL_COUNTS ") c LEFT JOIN "
    "(SELECT " CRL_ROW ", revoked_at AS t, serial COLLATE \"C\" AS s "
    "FROM certificates WHERE " CRL_LISTED " AND "
    "revoked_at >= to_timestamp($3::bigint)) r ON true ORDER BY r.t, r.s",
    3, false };

/*
 * How many of the CA's certificates were ever revoked.  A revocation is
 * never undone and its row never deleted, so the revoked set only grows:
 * two equal counts mean the same set.  An index-only count
 * (certificates_revoked_idx), cheap enough to ask every few seconds.
 */
static const struct db_statement st_crl_revocations = {
    "sc_crl_revocations",
    "SELECT count(*) FROM certificates "
    "WHERE revoked_at IS NOT NULL AND ca = $1", 1, false };

static const struct db_statement st_crl_number = { "sc_crl_number",
    "SELECT nextval('crl_number')", 0, false };

static enum sc_err
cert_valid(const struct db_cert *c, struct sc_error *err)
{
	if (c == NULL || c->serial_hex == NULL || c->fingerprint == NULL ||
	    c->subject == NULL || c->kind == NULL || c->ca == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "certificate record: missing field");
	return SC_OK;
}

enum sc_err
db_cert_params(const struct db_cert *c, struct db_cert_params *p,
    struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = cert_valid(c, err)) != SC_OK)
		return rc;
	snprintf(p->not_after, sizeof(p->not_after), "%lld",
	    (long long)c->not_after);
	p->values[0] = c->serial_hex;
	p->values[1] = c->fingerprint;
	p->values[2] = c->subject;
	p->values[3] = c->kind;
	p->values[4] = c->host_uuid;
	p->values[5] = p->not_after;
	p->values[6] = c->ca;
	return SC_OK;
}

enum sc_err
db_cert_insert(struct db *db, const struct db_cert *c, struct sc_error *err)
{
	struct db_cert_params p;
	PGresult *res = NULL;
	enum sc_err rc;

	if ((rc = db_cert_params(c, &p, err)) != SC_OK)
		return rc;
	rc = db_exec(db, &st_insert, p.values, PGRES_COMMAND_OK, &res, err);
	PQclear(res);
	return rc;
}

enum sc_err
db_certs_revoke_host(struct db *db, const char *uuid, struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[1];
	enum sc_err rc;

	values[0] = uuid;
	rc = db_exec(db, &st_revoke_host, values, PGRES_COMMAND_OK, &res, err);
	PQclear(res);
	return rc;
}

enum sc_err
db_cert_record(struct db *db, const struct db_cert *c,
    const struct db_audit *audit, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = cert_valid(c, err)) != SC_OK)
		return rc;
	if (audit == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "certificate record: no audit entry");
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		return rc;
	if ((rc = db_cert_insert(db, c, err)) != SC_OK ||
	    (rc = db_audit_insert(db, audit, err)) != SC_OK ||
	    (rc = db_tx_commit(db, err)) != SC_OK)
		db_tx_abort(db);
	return rc;
}

enum sc_err
db_cert_status(struct db *db, const char *fingerprint, bool *known,
    bool *revoked, struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[1];
	enum sc_err rc;

	*known = false;
	*revoked = false;
	values[0] = fingerprint;
	if ((rc = db_exec_retry(db, &st_status, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	if (PQntuples(res) > 0) {
		*known = true;
		*revoked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	}
out:
	PQclear(res);
	return rc;
}

static void
cert_row_clear(struct db_cert_row *r)
{
	free(r->serial_hex);
	free(r->fingerprint);
	free(r->subject);
	free(r->kind);
	free(r->host_uuid);
	free(r->revoked_at);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

static enum sc_err
row_to_cert(const PGresult *res, struct db_cert_row *r, struct sc_error *err)
{
	enum sc_err rc;

	memset(r, 0, sizeof(*r));
	if (PQnfields(res) != COL_COUNT)
		return sc_error_set(err, SC_INTERNAL, "certificate row: %d "
		    "columns, expected %d", PQnfields(res), COL_COUNT);
	if ((rc = db_copy_text(res, 0, COL_SERIAL, false, &r->serial_hex,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_FINGERPRINT, false,
	    &r->fingerprint, err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_SUBJECT, false, &r->subject,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_KIND, false, &r->kind,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_HOST_UUID, true, &r->host_uuid,
	    err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, COL_NOT_AFTER, r->not_after,
	    sizeof(r->not_after), err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_REVOKED_AT, true, &r->revoked_at,
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, COL_REASON, true, &r->reason,
	    err)) != SC_OK)
		cert_row_clear(r);
	return rc;
}

struct cert_walk {
	int		(*each)(const struct db_cert_row *, void *);
	void		*arg;
	struct sc_error	*err;
};

static enum sc_err
cert_row(const PGresult *res, void *arg)
{
	struct cert_walk *walk = arg;
	struct db_cert_row r;
	enum sc_err rc;

	if ((rc = row_to_cert(res, &r, walk->err)) != SC_OK)
		return rc;
	if (walk->each(&r, walk->arg) != 0)
		rc = sc_error_set(walk->err, SC_INTERNAL,
		    "certificate list: stopped by the caller");
	cert_row_clear(&r);
	return rc;
}

enum sc_err
db_certs_list(struct db *db, const char *kind,
    int (*each)(const struct db_cert_row *, void *), void *arg,
    struct sc_error *err)
{
	struct cert_walk walk = { each, arg, err };
	const char *values[1];

	values[0] = kind;
	return db_stream(db, kind != NULL ? &st_list_kind : &st_list, values,
	    cert_row, &walk, err);
}

/* "revoked <fingerprint>, <fingerprint>": which certificates it hit. */
static char *
revoked_detail(const PGresult *res)
{
	size_t len = sizeof("revoked "), i;
	char *detail;
	int rows = PQntuples(res), r;

	for (r = 0; r < rows; r++)
		len += strlen(PQgetvalue(res, r, 0)) + 2;
	if ((detail = malloc(len)) == NULL)
		return NULL;
	i = (size_t)snprintf(detail, len, "revoked ");
	for (r = 0; r < rows; r++)
		i += (size_t)snprintf(detail + i, len - i, "%s%s",
		    r > 0 ? ", " : "", PQgetvalue(res, r, 0));
	return detail;
}

enum sc_err
db_operator_revoke(struct db *db, const char *key,
    const struct db_audit *audit, int *count, struct sc_error *err)
{
	struct db_audit entry;
	PGresult *res = NULL;
	const char *values[1];
	char *detail = NULL;
	enum sc_err rc;

	*count = 0;
	values[0] = key;
	if (key == NULL || audit == NULL) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "operator revoke: no key or audit entry");
		goto out;
	}
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		goto out;
	if ((rc = db_exec(db, &st_operator_revoke, values, PGRES_TUPLES_OK,
	    &res, err)) != SC_OK)
		goto out;
	if (PQntuples(res) == 0) {
		rc = sc_error_set(err, SC_NOT_FOUND, "no unrevoked operator "
		    "certificate has the name or fingerprint \"%s\"", key);
		goto out;
	}
	*count = PQntuples(res);
	entry = *audit;
	if (entry.detail == NULL) {
		if ((detail = revoked_detail(res)) == NULL) {
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
			goto out;
		}
		entry.detail = detail;
	}
	if ((rc = db_audit_insert(db, &entry, err)) != SC_OK ||
	    (rc = db_tx_commit(db, err)) != SC_OK)
		goto out;
out:
	if (rc != SC_OK) {
		*count = 0;
		db_tx_abort(db);
	}
	free(detail);
	PQclear(res);
	return rc;
}

/* A bigint column of row i. */
static bool
int_column(const PGresult *res, int i, int col, long long *v)
{
	char *end;

	if (PQgetisnull(res, i, col))
		return false;
	errno = 0;
	*v = strtoll(PQgetvalue(res, i, col), &end, 10);
	return errno == 0 && *end == '\0' && end != PQgetvalue(res, i, col);
}

/* Columns col (serial), col+1 (revoked), col+2 (expires) of row i. */
static enum sc_err
revoked_entry(const PGresult *res, int i, int col, struct pki_revoked *out,
    struct sc_error *err)
{
	const char *serial = PQgetvalue(res, i, col);
	long long revoked, expires;

	if (PQgetisnull(res, i, col) ||
	    strlen(serial) >= sizeof(out->serial_hex))
		return sc_error_set(err, SC_INTERNAL,
		    "revoked certificate row %d: bad serial", i);
	if (!int_column(res, i, col + 1, &revoked) ||
	    !int_column(res, i, col + 2, &expires))
		return sc_error_set(err, SC_INTERNAL,
		    "revoked certificate row %d: bad time", i);
	memcpy(out->serial_hex, serial, strlen(serial) + 1);
	out->revoked_at = (time_t)revoked;
	out->not_after = (time_t)expires;
	return SC_OK;
}

/*
 * Every row of res, each from column col on, into *out (malloc'd, n of
 * them); a lone row whose serial is NULL (st_crl_changes when nothing
 * matched) is none.
 */
static enum sc_err
revoked_rows(const PGresult *res, int col, struct pki_revoked **out,
    size_t *n, struct sc_error *err)
{
	struct pki_revoked *list = NULL;
	enum sc_err rc = SC_OK;
	int i, rows;

	*out = NULL;
	*n = 0;
	rows = PQntuples(res);
	if (rows == 1 && PQgetisnull(res, 0, col))
		rows = 0;
	/* One spare: calloc(0) may return NULL, which is not an error here. */
	if ((list = calloc((size_t)rows + 1, sizeof(*list))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	for (i = 0; i < rows; i++)
		if ((rc = revoked_entry(res, i, col, &list[i], err)) != SC_OK)
			goto out;
	*out = list;
	*n = (size_t)rows;
	list = NULL;
out:
	free(list);
	return rc;
}

/* One bigint of a one-row result. */
static enum sc_err
single_count(const PGresult *res, const char *what, uint64_t *value,
    struct sc_error *err)
{
	if (PQntuples(res) != 1 ||
	    sscanf(PQgetvalue(res, 0, 0), "%" SCNu64, value) != 1)
		return sc_error_set(err, SC_INTERNAL, "%s: bad value", what);
	return SC_OK;
}

/* Columns 0-2 of row 0: st_crl_counts, and st_crl_changes's first. */
static enum sc_err
crl_counts_of(const PGresult *res, struct db_crl_counts *c,
    struct sc_error *err)
{
	long long revoked, listed, cutoff;

	if (PQntuples(res) < 1 || !int_column(res, 0, 0, &revoked) ||
	    !int_column(res, 0, 1, &listed) ||
	    !int_column(res, 0, 2, &cutoff) || revoked < 0 || listed < 0)
		return sc_error_set(err, SC_INTERNAL, "CRL counts: bad "
		    "value");
	c->revocations = (uint64_t)revoked;
	c->listed = (uint64_t)listed;
	c->cutoff = (time_t)cutoff;
	return SC_OK;
}

static enum sc_err
crl_number(struct db *db, uint64_t *number, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	if ((rc = db_exec(db, &st_crl_number, NULL, PGRES_TUPLES_OK, &res,
	    err)) == SC_OK)
		rc = single_count(res, "crl_number", number, err);
	PQclear(res);
	return rc;
}

enum sc_err
db_crl_revocations(struct db *db, const char *ca, uint64_t *count,
    struct sc_error *err)
{
	const char *values[1] = { ca };
	PGresult *res = NULL;
	enum sc_err rc;

	*count = 0;
	/* Inside db_crl_begin's transaction a new connection would not do. */
	if (db_in_tx(db))
		rc = db_exec(db, &st_crl_revocations, values, PGRES_TUPLES_OK,
		    &res, err);
	else
		rc = db_exec_retry(db, &st_crl_revocations, values,
		    PGRES_TUPLES_OK, &res, err);
	if (rc == SC_OK)
		rc = single_count(res, "revocation count", count, err);
	PQclear(res);
	return rc;
}

/*
 * The counts first, the rows after (two statements, two snapshots): the
 * rows then hold at least what was counted, as the set only grows.
 */
enum sc_err
db_crl_whole(struct db *db, const char *ca, long grace_secs,
    struct pki_revoked **revoked, size_t *n, struct db_crl_counts *c,
    struct sc_error *err)
{
	char grace[32];
	const char *values[2] = { ca, grace };
	PGresult *res = NULL;
	enum sc_err rc;

	*revoked = NULL;
	*n = 0;
	memset(c, 0, sizeof(*c));
	snprintf(grace, sizeof(grace), "%ld", grace_secs);
	if ((rc = db_exec(db, &st_crl_counts, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK || (rc = crl_counts_of(res, c, err)) != SC_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((rc = db_exec(db, &st_crl_revoked, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	rc = revoked_rows(res, 0, revoked, n, err);
out:
	PQclear(res);
	return rc;
}

enum sc_err
db_crl_changes(struct db *db, const char *ca, long grace_secs, time_t since,
    struct pki_revoked **revoked, size_t *n, struct db_crl_counts *c,
    struct sc_error *err)
{
	char grace[32], from[32];
	const char *values[3] = { ca, grace, from };
	PGresult *res = NULL;
	enum sc_err rc;

	*revoked = NULL;
	*n = 0;
	memset(c, 0, sizeof(*c));
	snprintf(grace, sizeof(grace), "%ld", grace_secs);
	snprintf(from, sizeof(from), "%lld", (long long)since);
	if ((rc = db_exec(db, &st_crl_changes, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK || (rc = crl_counts_of(res, c, err)) != SC_OK)
		goto out;
	rc = revoked_rows(res, 3, revoked, n, err);
out:
	PQclear(res);
	return rc;
}

enum sc_err
db_crl_begin(struct db *db, uint64_t *number, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	*number = 0;
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		goto out;
	/*
	 * Lock first, read after: a writer that read the list before an
	 * earlier writer finished could publish an older list under a
	 * newer number, undoing a revocation until the next CRL.
	 */
	if ((rc = db_exec(db, &st_crl_lock, NULL, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK ||
	    (rc = crl_number(db, number, err)) != SC_OK)
		goto out;
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	PQclear(res);
	return rc;
}

void
db_crl_done(struct db *db)
{
	/* Nothing was written (nextval is not transactional): end it. */
	db_tx_abort(db);
}

void
db_cert_wait(struct db *db, int wake_fd, int timeout_ms)
{
	struct sc_error err = { SC_OK, "" };
	struct pollfd fds[2];
	PGconn *conn = NULL;
	nfds_t n = 0;

	if (wake_fd >= 0) {
		fds[n].fd = wake_fd;
		fds[n++].events = POLLIN;
	}
	/* No connection now: the timeout (or wake_fd) it is. */
	if (db_connection(db, &conn, &err) == SC_OK && PQsocket(conn) >= 0) {
		fds[n].fd = PQsocket(conn);
		fds[n++].events = POLLIN;
	}
	(void)poll(fds, n, timeout_ms < 0 ? 0 : timeout_ms);
}

/* ------------------------------------------------------ CA identity */

/*
 * The one row of a certificate lookup: its fingerprint (column 0, of the
 * right length) and subject (column 1); false if the shape is wrong.
 */
static bool
row_identity(const PGresult *res, int nfields,
    char fingerprint[DB_FINGERPRINT_LEN + 1], char *subject, size_t size)
{
	if (PQntuples(res) != 1 || PQnfields(res) != nfields ||
	    PQgetlength(res, 0, 0) != DB_FINGERPRINT_LEN)
		return false;
	memcpy(fingerprint, PQgetvalue(res, 0, 0), DB_FINGERPRINT_LEN + 1);
	snprintf(subject, size, "%s", PQgetvalue(res, 0, 1));
	return true;
}

static const struct db_statement st_ca_identity_get = { "sc_ca_identity_get",
    "SELECT fingerprint, subject FROM ca_identity WHERE role = $1",
    1, false };

/* Never replaces a recorded CA: a second init on the same database only
 * reads back what the first one recorded. */
static const struct db_statement st_ca_identity_record = {
    "sc_ca_identity_record",
    "INSERT INTO ca_identity (role, fingerprint, subject) "
    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3, false };

enum sc_err
db_ca_identity_get(struct db *db, const char *role, struct db_ca_identity *id,
    struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[1] = { role };
	enum sc_err rc;

	memset(id, 0, sizeof(*id));
	if ((rc = db_exec(db, &st_ca_identity_get, values, PGRES_TUPLES_OK,
	    &res, err)) != SC_OK)
		goto out;
	if (PQntuples(res) == 0)
		goto out;
	if (!row_identity(res, 2, id->fingerprint, id->subject,
	    sizeof(id->subject))) {
		rc = sc_error_set(err, SC_INTERNAL, "ca_identity: unexpected "
		    "row for %s", role);
		goto out;
	}
	id->found = true;
out:
	PQclear(res);
	return rc;
}

enum sc_err
db_ca_identity_record(struct db *db, const char *role,
    const char *fingerprint, const char *subject, struct db_ca_identity *id,
    struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[3] = { role, fingerprint, subject };
	enum sc_err rc;

	if ((rc = db_exec(db, &st_ca_identity_record, values, PGRES_COMMAND_OK,
	    &res, err)) != SC_OK)
		goto out;
	rc = db_ca_identity_get(db, role, id, err);
out:
	PQclear(res);
	return rc;
}

/* ------------------------------------------- a certificate by serial */

static const struct db_statement st_by_serial = { "sc_cert_by_serial",
    "SELECT fingerprint, subject, kind, revoked_at IS NOT NULL "
    "FROM certificates WHERE serial = $1 AND ca = $2", 2, false };

/*
 * The serial as the table keeps it: lower case, PKI_SERIAL_LEN octets in
 * full.  A front end prints the INTEGER's minimal form (no leading zero
 * octets, any case), so "0A1B..." and "a1b..." name one certificate.
 * False if it cannot be one of ours.
 */
bool
db_serial_key(const char *serial, char out[2 * PKI_SERIAL_LEN + 1])
{
	size_t len, pad, i;

	while (*serial == '0' && serial[1] != '\0')
		serial++;
	len = strlen(serial);
	if (len == 0 || len > 2 * PKI_SERIAL_LEN)
		return false;
	pad = 2 * PKI_SERIAL_LEN - len;
	memset(out, '0', pad);
	for (i = 0; i < len; i++) {
		char c = serial[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[pad + i] = c;
	}
	out[2 * PKI_SERIAL_LEN] = '\0';
	return true;
}

enum sc_err
db_cert_by_serial(struct db *db, const char *ca, const char *serial,
    struct db_cert_ref *ref, struct sc_error *err)
{
	char key[2 * PKI_SERIAL_LEN + 1];
	const char *values[2] = { key, ca };
	PGresult *res = NULL;
	enum sc_err rc = SC_OK;

	memset(ref, 0, sizeof(*ref));
	if (!db_serial_key(serial, key))
		goto out;
	/* The first statement of a request: PostgreSQL may have restarted. */
	if ((rc = db_exec_retry(db, &st_by_serial, values, PGRES_TUPLES_OK,
	    &res, err)) != SC_OK || PQntuples(res) == 0)
		goto out;
	if (!row_identity(res, 4, ref->fingerprint, ref->subject,
	    sizeof(ref->subject))) {
		rc = sc_error_set(err, SC_INTERNAL, "certificate %s: "
		    "unexpected row", key);
		goto out;
	}
	ref->found = true;
	snprintf(ref->kind, sizeof(ref->kind), "%s", PQgetvalue(res, 0, 2));
	ref->revoked = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
out:
	PQclear(res);
	return rc;
}
