#include "config.h"

/*
 * Schema migrations: the numbered sql/NNN_name.sql files, embedded in the
 * binary at build time (migrations.c), applied in order, each in its own
 * transaction together with its schema_migrations row, so a migration is
 * either wholly applied and recorded or not at all.
 *
 * The statements here run once per `swarmctl migrate` or start-up, so
 * they go through PQexecParams (one statement each, parameters for data)
 * rather than prepared statements; the migration bodies themselves are
 * trusted text from the build and run with PQexec (several statements).
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "log.h"
#include "db/db.h"
#include "db/migrations.h"

static const char sql_create[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version integer PRIMARY KEY, "
    "name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_applied[] =
    "SELECT version FROM schema_migrations ORDER BY version";
static const char sql_record[] =
    "INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2)";
/*
 * Session level: held across the per-migration transactions.  Taken
 * before CREATE TABLE IF NOT EXISTS, which is not safe against itself
 * (two at once can both try to create the table's row type).
 */
static const char sql_lock[] =
    "SELECT pg_advisory_lock(" DB_LOCK_CLASS ", " DB_LOCK_MIGRATIONS ")";
static const char sql_unlock[] =
    "SELECT pg_advisory_unlock(" DB_LOCK_CLASS ", " DB_LOCK_MIGRATIONS ")";

/* One statement, expecting `want`; the result is dropped. */
static enum sc_err
run(struct db *db, PGconn *conn, const char *sql, int nparams,
    const char *const *values, ExecStatusType want, const char *what,
    struct sc_error *err)
{
	PGresult *res;
	enum sc_err rc = SC_OK;

	res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != want)
		rc = db_result_error(db, res, what, err);
	PQclear(res);
	return rc;
}

static void
rollback(PGconn *conn)
{
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	res = PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
	PQclear(res);
}

/*
 * Mark in applied[] the embedded migrations the database has.  *newest
 * gets the highest version it has that this binary does not know (0 if
 * none); *no_table says schema_migrations does not exist at all.
 */
static enum sc_err
read_applied(struct db *db, bool *applied, int *newest,
    bool *no_table, struct sc_error *err)
{
	PGresult *res = NULL;
	const char *state;
	enum sc_err rc = SC_OK;
	size_t i;
	int row, version;
	bool known;

	*newest = 0;
	*no_table = false;
	res = db_query(db, sql_applied, 0, NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* 42P01 undefined_table: never migrated. */
		if (state != NULL && strcmp(state, "42P01") == 0)
			*no_table = true;
		/* 42501 insufficient_privilege: a service role not granted. */
		else if (state != NULL && strcmp(state, "42501") == 0)
			rc = db_result_error(db, res, "read schema_migrations "
			    "(grant this role its privileges: `swarmctl migrate "
			    "--service-role ROLE`, as the owner)", err);
		else
			rc = db_result_error(db, res, "read schema_migrations",
			    err);
		goto out;
	}
	for (row = 0; row < PQntuples(res); row++) {
		version = atoi(PQgetvalue(res, row, 0));
		known = false;
		for (i = 0; i < db_migrations_count; i++) {
			if (db_migrations[i].version == version) {
				applied[i] = true;
				known = true;
			}
		}
		if (!known && version > *newest)
			*newest = version;
	}
out:
	PQclear(res);
	return rc;
}

static void
warn_newer(int newest)
{
	if (newest != 0)
		log_warn("the database has schema migration %d, which this "
		    "swarmctl does not know: the binary is older than the "
		    "schema", newest);
}

/* Apply one migration and record it, in one transaction. */
static enum sc_err
apply(struct db *db, PGconn *conn, const struct db_migration *m,
    struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[2];
	char what[128], version[16];
	ExecStatusType status;
	enum sc_err rc;

	snprintf(what, sizeof(what), "migration %s", m->name);
	snprintf(version, sizeof(version), "%d", m->version);
	values[0] = version;
	values[1] = m->name;
	if ((rc = run(db, conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, what,
	    err)) != SC_OK)
		goto out;
	res = PQexec(conn, m->sql);
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
	    status != PGRES_EMPTY_QUERY) {
		rc = db_result_error(db, res, what, err);
		goto out;
	}
	/* A COMMIT in the file would have split it from its record. */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		rc = sc_error_set(err, SC_INTERNAL, "%s: the file ends the "
		    "transaction itself (remove its BEGIN/COMMIT)", what);
		goto out;
	}
	if ((rc = run(db, conn, sql_record, 2, values, PGRES_COMMAND_OK,
	    what, err)) != SC_OK)
		goto out;
	PQclear(res);
	res = PQexecParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = db_result_error(db, res, what, err);
		goto out;
	}
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "%s: the transaction was rolled back", what);
		goto out;
	}
out:
	if (rc != SC_OK)
		rollback(conn);
	PQclear(res);
	return rc;
}

enum sc_err
db_migrate(struct db *db, void (*on_applied)(const char *), int *appliedp,
    const char *service_role, struct sc_error *err)
{
	struct sc_error unlock_err;
	PGconn *conn = NULL;
	PGresult *res;
	bool *applied = NULL, locked = false, no_table;
	enum sc_err rc;
	size_t i;
	int count = 0, newest;

	if ((rc = db_connection(db, &conn, err)) != SC_OK)
		goto out;
	if ((applied = calloc(db_migrations_count + 1, sizeof(*applied))) ==
	    NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = run(db, conn, sql_lock, 0, NULL, PGRES_TUPLES_OK,
	    "take the migration lock", err)) != SC_OK)
		goto out;
	locked = true;
	if ((rc = run(db, conn, sql_create, 0, NULL, PGRES_COMMAND_OK,
	    "create schema_migrations", err)) != SC_OK ||
	    (rc = read_applied(db, applied, &newest, &no_table, err)) !=
	    SC_OK)
		goto out;
	warn_newer(newest);
	for (i = 0; i < db_migrations_count; i++) {
		if (applied[i])
			continue;
		if ((rc = apply(db, conn, &db_migrations[i], err)) != SC_OK)
			goto out;
		if (on_applied != NULL)
			on_applied(db_migrations[i].name);
		count++;
	}
	/* Still under the lock: concurrent GRANTs on one object fail. */
	if (service_role != NULL)
		rc = db_grant_service_role(db, conn, service_role, err);
out:
	/* A lost session released the lock when it died. */
	if (locked && PQstatus(conn) == CONNECTION_OK) {
		res = PQexecParams(conn, sql_unlock, 0, NULL, NULL, NULL, NULL,
		    0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			sc_error_clear(&unlock_err);
			db_result_error(db, res, "release the migration lock",
			    &unlock_err);
			log_warn("%s", unlock_err.msg);
		}
		PQclear(res);
	}
	free(applied);
	if (appliedp != NULL)
		*appliedp = count;
	return rc;
}

static enum sc_err
schema_check_once(struct db *db, bool *retry, struct sc_error *err)
{
	PGconn *conn = NULL;
	bool *applied = NULL, no_table;
	enum sc_err rc;
	size_t i;
	int newest;

	*retry = false;
	if ((applied = calloc(db_migrations_count + 1, sizeof(*applied))) ==
	    NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = db_connection(db, &conn, err)) != SC_OK)
		goto out;
	if ((rc = read_applied(db, applied, &newest, &no_table, err)) !=
	    SC_OK) {
		/* The connection may have died since it was last used. */
		*retry = PQstatus(conn) == CONNECTION_BAD;
		goto out;
	}
	for (i = 0; i < db_migrations_count; i++) {
		if (no_table || !applied[i]) {
			rc = sc_error_set(err, SC_SCHEMA_BEHIND,
			    "database schema is behind this swarmctl "
			    "(missing migration %s): run `swarmctl migrate`",
			    db_migrations[i].name);
			goto out;
		}
	}
	warn_newer(newest);
out:
	free(applied);
	return rc;
}

enum sc_err
db_schema_check(struct db *db, struct sc_error *err)
{
	struct sc_error first;
	enum sc_err rc;
	bool retry;

	sc_error_clear(&first);
	rc = schema_check_once(db, &retry, &first);
	if (rc == SC_DB_UNAVAILABLE && retry) {
		log_info("reconnecting to PostgreSQL (%s)", first.msg);
		sc_error_clear(&first);
		rc = schema_check_once(db, &retry, &first);
	}
	if (rc != SC_OK)
		sc_error_set(err, rc, "%s", first.msg);
	return rc;
}
