#include "config.h"

/*
 * Database roles (README "Database roles").  Two of them: an owner, which
 * runs `swarmctl migrate` and so owns every table, sequence and function
 * the migrations create, and a service role, which runs `swarmctl serve`
 * and the trust commands and holds only the privileges granted below.
 *
 * Why: the append-only triggers of audit_log (sql/002_trust.sql) stop
 * everyone but an owner, who can ALTER TABLE audit_log DISABLE TRIGGER
 * USER, drop the trigger or replace its function, and then rewrite the
 * trail.  A service role that holds INSERT and SELECT on audit_log, and
 * owns nothing, cannot.
 *
 * `swarmctl migrate --service-role ROLE` applies the table below in one
 * transaction, under the migration lock (two GRANTs on one object at
 * once fail with "tuple concurrently updated").  Each object's
 * privileges are revoked from PUBLIC and ROLE before the grant, so a
 * re-run also takes back whatever was granted by hand or by an older
 * swarmctl.  `swarmctl serve` refuses to start as a role that could undo
 * any of it (db_role_check).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "db/db.h"
#include "db/migrations.h"

enum grant_kind {
	GRANT_TABLE,
	GRANT_SEQUENCE,
};

struct grant {
	const char	*object;	/* a relation in the migrations' schema */
	enum grant_kind	 kind;
	/* GRANT's privilege list; NULL: the service role gets nothing. */
	const char	*privileges;
};

/*
 * Every table, view and sequence the migrations create, with what the
 * service role needs of it, worked out from the statements of the
 * other files in src/db/.  A new relation needs a row, even one granting nothing:
 * migrate --service-role refuses a schema holding a relation this table
 * does not name, so none is forgotten.
 */
static const struct grant grants[] = {
	/* db_schema_check. */
	{ .object = "schema_migrations", .kind = GRANT_TABLE,
	  .privileges = "SELECT" },
	/*
	 * Enroll (the whole row, once), get, list, decommission,
	 * renew (fingerprint, notAfter), heartbeat (the last three).  The
	 * SELECT ... FOR UPDATE of a decommission needs UPDATE on a column
	 * too.
	 */
	{ .object = "swarm_hosts", .kind = GRANT_TABLE,
	  .privileges = "SELECT, INSERT, UPDATE (client_cert_fingerprint, "
	  "cert_not_after, last_heartbeat, agent_version, agent_status), "
	  "DELETE" },
	/* Decommission: DELETE ... WHERE host_uuid = $1 reads host_uuid. */
	{ .object = "decky_shards", .kind = GRANT_TABLE,
	  .privileges = "SELECT (host_uuid), DELETE" },
	/* Issue, revoke, operator checks, the CRL.  Never DELETE. */
	{ .object = "certificates", .kind = GRANT_TABLE,
	  .privileges = "SELECT, INSERT, UPDATE (revoked_at, reason, "
	  "successor)" },
	/* Append and read: never UPDATE, DELETE or TRUNCATE. */
	{ .object = "audit_log", .kind = GRANT_TABLE,
	  .privileges = "SELECT, INSERT" },
	/* audit_log.id's default, nextval(). */
	{ .object = "audit_log_id_seq", .kind = GRANT_SEQUENCE,
	  .privileges = "USAGE" },
	/*
	 * nextval() only: setval() needs UPDATE, and RFC 5280 5.2.3 CRL
	 * numbers must only ever increase.
	 */
	{ .object = "crl_number", .kind = GRANT_SEQUENCE,
	  .privileges = "USAGE" },
	/* Every command compares its CA with these; only init writes them. */
	{ .object = "ca_identity", .kind = GRANT_TABLE,
	  .privileges = "SELECT" },
	/* Enrollment reserves a host's DNS names; decommission cascades. */
	{ .object = "swarm_host_names", .kind = GRANT_TABLE,
	  .privileges = "SELECT, INSERT, DELETE" },
	/*
	 * Bootstrap tokens: created, listed, revoked, claimed once.  Never
	 * DELETE: a token's history (who made it, which host used it) stays.
	 */
	{ .object = "bootstrap_tokens", .kind = GRANT_TABLE,
	  .privileges = "SELECT, INSERT, UPDATE (used_at, used_by_host, "
	  "revoked_at)" },
};

#define NGRANTS	(sizeof(grants) / sizeof(grants[0]))

/*
 * The relations a grant row is needed for: tables, views, materialised
 * views, foreign tables, sequences; not those of an extension (e.g.
 * pg_stat_statements' views), which manage their own privileges.
 */
#define SCHEMA_RELATIONS(alias, nsp) \
	alias ".relnamespace = " nsp " AND " \
	alias ".relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " \
	"NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = " \
	"'pg_class'::regclass AND e.objid = " alias ".oid AND " \
	"e.deptype = 'e')"

/*
 * Before granting: the schema (NULL with an empty search_path), the
 * relations no row names, those the migrating role cannot grant on
 * (GRANT and REVOKE by a non-owner only warn), and whether the service
 * role lacks USAGE on, or may CREATE in, the schema.
 */
static const char sql_survey[] =
    "SELECT current_schema(), "
    "(SELECT string_agg(c.relname, ', ' ORDER BY c.relname) "
    "FROM pg_class c WHERE " SCHEMA_RELATIONS("c", "n.oid") " AND "
    "c.relname <> ALL ($1::text[])), "
    "(SELECT string_agg(c.relname, ', ' ORDER BY c.relname) "
    "FROM pg_class c WHERE " SCHEMA_RELATIONS("c", "n.oid") " AND "
    "NOT pg_has_role(c.relowner, 'USAGE')), "
    "NOT has_schema_privilege($2::name, n.oid, 'USAGE'), "
    "has_schema_privilege($2::name, n.oid, 'CREATE') "
    "FROM (SELECT 1) one "
    "LEFT JOIN pg_namespace n ON n.nspname = current_schema()";

/*
 * What a role could use to undo the grants: superuser; CREATEROLE (in
 * PostgreSQL 15 it can grant itself any non-superuser role); being, or
 * being able to SET ROLE to, the owner of the database (and so of schema
 * public, owned by pg_database_owner), of the schema, or of a relation
 * or function in it; CREATE in the schema or the database.  $1 names
 * the role; NULL: this session's current and session user.  Owned
 * objects are named by the first (audit_log, when it is one) and a count:
 * the message must leave room for what to do about it.
 */
static const char sql_role_check[] =
    "SELECT r.rolname, r.rolsuper, r.rolcreaterole, "
    "pg_has_role(r.oid, d.datdba, 'MEMBER'), "
    "pg_has_role(r.oid, n.nspowner, 'MEMBER'), "
    "(SELECT (array_agg(o.name ORDER BY o.name))[1] || CASE count(*) "
    "WHEN 1 THEN '' ELSE ' and ' || count(*) - 1 || ' more' END FROM ("
    "SELECT c.relname::text AS name, c.relowner AS owner FROM pg_class c "
    "WHERE " SCHEMA_RELATIONS("c", "n.oid") " UNION ALL "
    "SELECT p.proname || '()', p.proowner FROM pg_proc p "
    "WHERE p.pronamespace = n.oid) o "
    "WHERE pg_has_role(r.oid, o.owner, 'MEMBER')), "
    "has_schema_privilege(r.oid, n.oid, 'CREATE'), "
    "has_database_privilege(r.oid, d.oid, 'CREATE') "
    "FROM pg_roles r, pg_database d, pg_namespace n "
    "WHERE d.datname = current_database() "
    "AND n.nspname = current_schema() "
    "AND r.rolname IN (coalesce($1::name, current_user), "
    "coalesce($1::name, session_user)) "
    "ORDER BY r.rolname";

enum role_col {
	RC_NAME, RC_SUPER, RC_CREATEROLE, RC_DATABASE, RC_SCHEMA, RC_OWNED,
	RC_CREATE_SCHEMA, RC_CREATE_DATABASE,
};

static bool
is_true(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* Append "; what" (or "what", first) to buf. */
static void
add_problem(char *buf, size_t size, const char *what)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len > 0 ? "; " : "", what);
}

/* The problems of one row of sql_role_check, "" when there are none. */
static void
role_problems(const PGresult *res, int row, char *buf, size_t size)
{
	buf[0] = '\0';
	if (is_true(res, row, RC_SUPER)) {
		add_problem(buf, size, "it is a superuser");
		return;
	}
	if (is_true(res, row, RC_CREATEROLE))
		add_problem(buf, size,
		    "it has CREATEROLE (it can make itself any other role)");
	if (is_true(res, row, RC_DATABASE))
		add_problem(buf, size, "it owns the database");
	if (is_true(res, row, RC_SCHEMA))
		add_problem(buf, size, "it owns the schema");
	if (!PQgetisnull(res, row, RC_OWNED)) {
		char owned[128];

		snprintf(owned, sizeof(owned), "it owns %s",
		    PQgetvalue(res, row, RC_OWNED));
		add_problem(buf, size, owned);
	}
	if (is_true(res, row, RC_CREATE_SCHEMA))
		add_problem(buf, size, "it may CREATE in the schema");
	if (is_true(res, row, RC_CREATE_DATABASE))
		add_problem(buf, size, "it may CREATE schemas in the database");
}

/*
 * SC_INVALID naming what `role` (NULL: this session's roles) could use to
 * undo the grants; `hint` says what to do about it.
 */
static enum sc_err
role_check(struct db *db, const char *role, const char *hint,
    struct sc_error *err)
{
	PGresult *res;
	const char *values[1] = { role };
	char problems[400];
	enum sc_err rc = SC_OK;
	int row;

	res = db_query(db, sql_role_check, 1, values);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = db_result_error(db, res, "check the database role", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = sc_error_set(err, SC_INVALID, "database role %s: not "
		    "found, or no schema on the search_path",
		    role != NULL ? role : "of this session");
		goto out;
	}
	for (row = 0; row < PQntuples(res); row++) {
		role_problems(res, row, problems, sizeof(problems));
		if (problems[0] != '\0') {
			rc = sc_error_set(err, SC_INVALID, "database role "
			    "\"%s\" could erase the audit trail: %s. %s",
			    PQgetvalue(res, row, RC_NAME), problems, hint);
			goto out;
		}
	}
out:
	PQclear(res);
	return rc;
}

enum sc_err
db_role_check(struct db *db, struct sc_error *err)
{
	PGconn *conn;
	enum sc_err rc;

	if ((rc = db_connection(db, &conn, err)) != SC_OK)
		return rc;
	return role_check(db, NULL, "Serve as a role that owns nothing "
	    "and holds only what `swarmctl migrate --service-role ROLE` "
	    "grants (README \"Database roles\")", err);
}

/* "{a,b,...}": the objects of grants[], as a text[] literal. */
static char *
object_array(void)
{
	size_t i, len = 3, used = 0;
	char *s;

	for (i = 0; i < NGRANTS; i++)
		len += strlen(grants[i].object) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < NGRANTS; i++)
		used += (size_t)snprintf(s + used, len - used, "%c%s",
		    i == 0 ? '{' : ',', grants[i].object);
	snprintf(s + used, len - used, "}");
	return s;
}

/* Run one statement of ours (names already quoted), as PQexec text. */
static enum sc_err
exec_text(struct db *db, PGconn *conn, const char *sql, const char *what,
    struct sc_error *err)
{
	PGresult *res;
	enum sc_err rc = SC_OK;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = db_result_error(db, res, what, err);
	PQclear(res);
	return rc;
}

/* printf into a new string and run it; fmt's %s are quoted names. */
static enum sc_err
exec_format(struct db *db, PGconn *conn, const char *what,
    struct sc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum sc_err
exec_format(struct db *db, PGconn *conn, const char *what,
    struct sc_error *err, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	enum sc_err rc;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&sql, fmt, ap);
	va_end(ap);
	if (n == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	rc = exec_text(db, conn, sql, what, err);
	free(sql);
	return rc;
}

/* REVOKE ALL from PUBLIC and the role, then GRANT the row's privileges. */
static enum sc_err
grant_one(struct db *db, PGconn *conn, const struct grant *g,
    const char *role_q, struct sc_error *err)
{
	const char *kind = g->kind == GRANT_SEQUENCE ? "SEQUENCE" : "TABLE";
	char *object_q, what[128];
	enum sc_err rc;

	snprintf(what, sizeof(what), "grant on %s", g->object);
	if ((object_q = PQescapeIdentifier(conn, g->object,
	    strlen(g->object))) == NULL)
		return db_result_error(db, NULL, what, err);
	if ((rc = exec_format(db, conn, what, err,
	    "REVOKE ALL ON %s %s FROM PUBLIC, %s", kind, object_q,
	    role_q)) == SC_OK && g->privileges != NULL)
		rc = exec_format(db, conn, what, err, "GRANT %s ON %s %s TO %s",
		    g->privileges, kind, object_q, role_q);
	PQfreemem(object_q);
	return rc;
}

enum survey_col {
	SV_SCHEMA, SV_UNLISTED, SV_NOT_OWNED, SV_NEEDS_USAGE, SV_MAY_CREATE,
};

/*
 * The schema: USAGE for the role if it lacks it; CREATE taken from PUBLIC
 * and the role if either has it (PostgreSQL 15 no longer grants it to
 * PUBLIC in new databases, but a database upgraded from an older one
 * keeps it).
 */
static enum sc_err
grant_schema(struct db *db, PGconn *conn, const PGresult *survey,
    const char *role_q, struct sc_error *err)
{
	const char *schema = PQgetvalue(survey, 0, SV_SCHEMA);
	char *schema_q;
	enum sc_err rc = SC_OK;

	if ((schema_q = PQescapeIdentifier(conn, schema, strlen(schema))) ==
	    NULL)
		return db_result_error(db, NULL, "grant on the schema", err);
	if (is_true(survey, 0, SV_NEEDS_USAGE))
		rc = exec_format(db, conn, "grant on the schema", err,
		    "GRANT USAGE ON SCHEMA %s TO %s", schema_q, role_q);
	if (rc == SC_OK && is_true(survey, 0, SV_MAY_CREATE))
		rc = exec_format(db, conn, "revoke CREATE on the schema", err,
		    "REVOKE CREATE ON SCHEMA %s FROM PUBLIC, %s", schema_q,
		    role_q);
	PQfreemem(schema_q);
	return rc;
}

/* Refuse to grant on a schema the table does not cover, or as a non-owner. */
static enum sc_err
survey_check(const PGresult *res, struct sc_error *err)
{
	if (PQgetisnull(res, 0, SV_SCHEMA))
		return sc_error_set(err, SC_INVALID, "no schema on the "
		    "search_path");
	if (!PQgetisnull(res, 0, SV_UNLISTED))
		return sc_error_set(err, SC_INTERNAL, "%s: not in the service "
		    "role's privilege table (src/db/roles.c): add a row saying "
		    "what `swarmctl serve` may do with it",
		    PQgetvalue(res, 0, SV_UNLISTED));
	if (!PQgetisnull(res, 0, SV_NOT_OWNED))
		return sc_error_set(err, SC_INVALID, "run `swarmctl migrate "
		    "--service-role` as the owner of the schema's tables: "
		    "this role does not own %s",
		    PQgetvalue(res, 0, SV_NOT_OWNED));
	return SC_OK;
}

enum sc_err
db_grant_service_role(struct db *db, PGconn *conn, const char *role,
    struct sc_error *err)
{
	PGresult *survey = NULL;
	const char *values[2];
	char *objects = NULL, *role_q = NULL;
	enum sc_err rc;
	size_t i;

	if ((objects = object_array()) == NULL ||
	    (role_q = PQescapeIdentifier(conn, role, strlen(role))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = exec_text(db, conn, "BEGIN", "grant", err)) != SC_OK)
		goto out;
	values[0] = objects;
	values[1] = role;
	survey = PQexecParams(conn, sql_survey, 2, NULL, values, NULL, NULL,
	    0);
	if (PQresultStatus(survey) != PGRES_TUPLES_OK) {
		rc = db_result_error(db, survey, "survey the schema", err);
		goto out;
	}
	if ((rc = survey_check(survey, err)) != SC_OK ||
	    (rc = grant_schema(db, conn, survey, role_q, err)) != SC_OK)
		goto out;
	for (i = 0; i < NGRANTS; i++)
		if ((rc = grant_one(db, conn, &grants[i], role_q, err)) != SC_OK)
			goto out;
	/* Granted to an owner, the narrow privileges would mean nothing. */
	if ((rc = role_check(db, role, "Name a role that owns nothing, "
	    "and run migrate as the owner", err)) != SC_OK)
		goto out;
	rc = exec_text(db, conn, "COMMIT", "grant", err);
out:
	if (rc != SC_OK && PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	if (rc != SC_OK)
		sc_error_prefix(err, "--service-role %s", role);
	PQclear(survey);
	PQfreemem(role_q);
	free(objects);
	return rc;
}
