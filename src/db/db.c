#include "config.h"

/*
 * Storage: PostgreSQL through libpq, modelled on how PostgreSQL's own
 * clients (psql, pg_dump) drive it.  Every statement is a named prepared
 * statement (PQprepare once per connection, PQsendQueryPrepared after)
 * with its data passed as parameters; no SQL text is ever built from
 * data.
 *
 * The connection is made lazily and re-made after failures, so a
 * PostgreSQL restart costs at most the requests that were in flight.
 * A struct db belongs to one thread at a time.
 */

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "codec.h"
#include "err.h"
#include "log.h"
#include "db/db.h"
#include "db/internal.h"
#include "db/wire.h"
#include "db/migrations.h"

#define APPLICATION_NAME	"swarmctl"

/*
 * Seconds any one wait on PostgreSQL may take (db_set_timeout): the
 * connection (libpq's connect_timeout, unless the connection string or
 * PGCONNECT_TIMEOUT says otherwise; libpq's own default is to wait for
 * ever), each statement's answer, each row of a stream.  A server that
 * is stopped (SIGSTOP, a hung host, a lost network) never answers and
 * never closes: only our own deadline turns that into a 503.
 */
static atomic_int wait_seconds = DB_TIMEOUT_DEFAULT;

/*
 * Set when a wait ran out, cleared when PostgreSQL answers again
 * (db_ping, or any statement in flight getting its answer).  While it
 * is set, new statements fail at once instead of each waiting out the
 * deadline: a frozen server costs every request nothing, not seconds,
 * and the workers stay free for the routes that need no database.
 */
static atomic_bool unresponsive;

/* Statements prepared on one connection, at most (all files together). */
#define PREPARED_MAX		64

/*
 * The SwarmHostView columns, in enum host_col order, read in binary
 * (wire.h): the hot reads (GET of a host, lists) would otherwise spend
 * more of the server's time in uuid::text and to_char() than in finding
 * the rows.
 */
/*
 * The status a host shows: "active" while its heartbeats are recent,
 * "unreachable" once the last is older than `serve --stale-after`
 * seconds ($p), else the stored status ("enrolled": none yet).  Computed
 * in the query, so ?host_status= filters on what the list shows.
 */
#define HOST_STATUS(p)	"CASE WHEN last_heartbeat IS NULL THEN status " \
			"WHEN last_heartbeat >= now() - make_interval(secs => " \
			p "::integer) THEN 'active' ELSE 'unreachable' END"
#define HOST_COLUMNS(p)	"uuid, name, address, agent_port, " \
			HOST_STATUS(p) ", " \
			"last_heartbeat, client_cert_fingerprint, " \
			"cert_bundle_path, enrolled_at, notes, " \
			"cert_not_after, agent_version"

enum host_col {
	COL_UUID, COL_NAME, COL_ADDRESS, COL_AGENT_PORT, COL_STATUS,
	COL_LAST_HEARTBEAT, COL_FINGERPRINT, COL_BUNDLE_PATH,
	COL_ENROLLED_AT, COL_NOTES, COL_CERT_NOT_AFTER, COL_AGENT_VERSION,
	COL_COUNT
};

static const unsigned host_types[COL_COUNT] = {
	WIRE_UUIDOID, WIRE_TEXTOID, WIRE_TEXTOID, WIRE_INT4OID, WIRE_TEXTOID,
	WIRE_TIMESTAMPTZOID, WIRE_TEXTOID, WIRE_TEXTOID, WIRE_TIMESTAMPTZOID,
	WIRE_TEXTOID, WIRE_TIMESTAMPTZOID, WIRE_TEXTOID
};

/* `serve --stale-after` (db_set_stale_after), as the statements' text. */
static char stale_after[16] = "90";

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_NAME_LOCK,
	ST_HOST_NAME_TAKEN,
	ST_ENROLL_RECORD,
	ST_COMMIT_CHECK,
	ST_HOST_GET,
	ST_HOSTS_PAGE,
	ST_HOST_LOCK,
	ST_SHARDS_DELETE,
	ST_HOST_DELETE,
	ST_BUNDLES_LOCK,
	ST_BUNDLES_UNLOCK,
	ST_NAMES_RESERVE,
	ST_PING,
	ST_SETTLE_TIMEOUT,
	ST_SESSION_ALIVE,
	ST_CLAIM_ROW,
	ST_RENEW_LOCK,
	ST_RENEW_RECORD,
	ST_COUNT
};

static const struct db_statement statements[ST_COUNT] = {
	[ST_BEGIN] = { "sc_begin", "BEGIN", 0, false },
	[ST_COMMIT] = { "sc_commit", "COMMIT", 0, false },
	[ST_ROLLBACK] = { "sc_rollback", "ROLLBACK", 0, false },
	/*
	 * CA_DIR/workers/<name> changes hands only under this lock (bundle
	 * directories are by exact name; lower() errs on the side of
	 * serialising, should a file system fold case).
	 */
	[ST_NAME_LOCK] = { "sc_name_lock",
	    "SELECT pg_advisory_xact_lock(" DB_LOCK_NAMES ", "
	    "hashtext(lower($1)))", 1, false },
	/*
	 * An enrollment's first statement: the bundle lock, shared
	 * (enrollments run side by side; only the sweep excludes), then the
	 * name's lock (ST_NAME_LOCK's), then its DNS names for the uuid it
	 * chose ($3).  The MATERIALIZED CTE is the INSERT's only row source,
	 * so both locks are held before the first name reaches the index.
	 * A name another transaction has just reserved makes this one wait
	 * for it to end, then skip the name (it committed) or take it (it
	 * rolled back): the names left out of RETURNING are taken.  Their
	 * host row comes with ST_ENROLL_RECORD; the reference is checked at
	 * COMMIT (sql/010).
	 */
	[ST_NAMES_RESERVE] = { "sc_names_reserve",
	    "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared("
	    DB_LOCK_CLASS ", " DB_LOCK_BUNDLES ") AS b, "
	    "pg_advisory_xact_lock(" DB_LOCK_NAMES ", "
	    "hashtext(lower($2::text))) AS n) "
	    "INSERT INTO swarm_host_names (name, host_uuid) "
	    "SELECT t.k, $3::uuid FROM l, unnest($1::text[]) "
	    "WITH ORDINALITY AS t(k, i) ORDER BY t.i "
	    "ON CONFLICT DO NOTHING RETURNING name", 3, false },
	/*
	 * Whether a host of this name is enrolled (also db_host_name_exists's
	 * question), read in an enrollment after ST_NAMES_RESERVE took the
	 * name's lock (a statement's snapshot is
	 * taken when it starts: one that waited for the lock would not see
	 * what the holder committed), and when the transaction began: the
	 * host row's enrolled_at will be that now().
	 */
	[ST_HOST_NAME_TAKEN] = { "sc_host_name_taken",
	    "SELECT EXISTS (SELECT 1 FROM swarm_hosts WHERE name = $1::text), "
	    DB_UTC_TIME("now()"), 1, false },
	/*
	 * The rest of the enrollment in one statement: the host row,
	 * complete ($5 its uuid, $15..$20 from db_enroll_begin's host), the
	 * certificate ($1..$7, certs.c's sc_cert_insert) and the audit entry
	 * ($8..$14, audit.c's sc_audit_insert).  Every data-modifying CTE
	 * runs to completion whether read or not.  Inserted once, never
	 * updated: an update could not be HOT (cert_not_after is indexed)
	 * and would fire the statement trigger.  The COMMIT is pipelined
	 * behind this statement, so a row that was not inserted (a BEFORE
	 * trigger may drop it) must fail the statement rather than be
	 * counted afterwards: 1 / count(*) divides by zero (SQLSTATE 22012)
	 * and the server then skips the COMMIT.  (An aggregate is never
	 * folded at planning time, as a constant error would be.)
	 */
	[ST_ENROLL_RECORD] = { "sc_enroll_record",
	    "WITH h AS (INSERT INTO swarm_hosts (uuid, name, address, "
	    "agent_port, client_cert_fingerprint, cert_bundle_path, notes, "
	    "sans, cert_not_after) VALUES ($5::uuid, $15::text, $16::text, "
	    "$17::integer, $2, $18::text, $19::text, "
	    "coalesce($20::jsonb, '[]'), to_timestamp($6::bigint)) "
	    "RETURNING 1), "
	    "c AS (INSERT INTO certificates (serial, fingerprint, "
	    "subject, kind, host_uuid, not_after, ca) "
	    "VALUES ($1, $2, $3, $4, $5::uuid, to_timestamp($6::bigint), $7)), "
	    "a AS (INSERT INTO audit_log (actor, actor_fingerprint, action, "
	    "target, outcome, client_addr, detail) "
	    "VALUES ($8, $9, $10, $11, $12, $13, $14)) "
	    "SELECT 1 / count(*) FROM h", 20, false },
	/*
	 * After the connection died during COMMIT: did the row make it, and
	 * is the old session (which might still be committing) gone?
	 */
	[ST_COMMIT_CHECK] = { "sc_commit_check",
	    "SELECT EXISTS (SELECT 1 FROM swarm_hosts "
	    "WHERE uuid = $1::uuid AND client_cert_fingerprint = $2), "
	    "EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $3::integer)",
	    3, false },
	[ST_HOST_GET] = { "sc_host_get",
	    "SELECT " HOST_COLUMNS("$2") " FROM swarm_hosts "
	    "WHERE uuid = $1::uuid", 2, true },
	/*
	 * Lists and pages: keyset on the name (unique, the list's order), so
	 * a chunk costs the same however deep into the list it is.
	 */
	[ST_HOSTS_PAGE] = { "sc_hosts_page",
	    "SELECT " HOST_COLUMNS("$4") " FROM swarm_hosts "
	    "WHERE ($1::text IS NULL OR " HOST_STATUS("$4") " = $1) "
	    "AND name > $2 AND ($5::integer IS NULL OR "
	    "cert_not_after < now() + make_interval(days => $5::integer)) "
	    "ORDER BY name LIMIT $3::integer", 5, true },
	/* now(): when the transaction began, should its COMMIT be cut off. */
	[ST_HOST_LOCK] = { "sc_host_lock",
	    "SELECT name, client_cert_fingerprint, " DB_UTC_TIME("now()")
	    " FROM swarm_hosts WHERE uuid = $1::uuid FOR UPDATE", 1, false },
	[ST_SHARDS_DELETE] = { "sc_shards_delete",
	    "DELETE FROM decky_shards WHERE host_uuid = $1::uuid", 1, false },
	[ST_HOST_DELETE] = { "sc_host_delete",
	    "DELETE FROM swarm_hosts WHERE uuid = $1::uuid", 1, false },
	[ST_BUNDLES_LOCK] = { "sc_bundles_lock",
	    "SELECT pg_advisory_lock(" DB_LOCK_CLASS ", " DB_LOCK_BUNDLES ")",
	    0, false },
	[ST_BUNDLES_UNLOCK] = { "sc_bundles_unlock",
	    "SELECT pg_advisory_unlock(" DB_LOCK_CLASS ", " DB_LOCK_BUNDLES
	    ")", 0, false },
	[ST_PING] = { "sc_ping", "SELECT 1", 0, false },
	/*
	 * A settlement waits for the name's lock at most this long, then is
	 * retried later: the holder may be a slow enrollment, or a session
	 * whose client vanished idle in its transaction.
	 */
	[ST_SETTLE_TIMEOUT] = { "sc_settle_timeout",
	    "SELECT set_config('lock_timeout', '5s', true)", 0, false },
	/*
	 * Is the session whose COMMIT was cut off still there?  Not if its
	 * pid now belongs to a session that began after that transaction
	 * did; a hidden backend_start (another role's) counts as there.
	 */
	[ST_SESSION_ALIVE] = { "sc_session_alive",
	    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
	    "WHERE pid = $1::integer AND pid <> pg_backend_pid() "
	    "AND (backend_start IS NULL OR $2::timestamptz IS NULL "
	    "OR backend_start <= $2::timestamptz))", 2, false },
	[ST_CLAIM_ROW] = { "sc_claim_row",
	    "SELECT EXISTS (SELECT 1 FROM swarm_hosts "
	    "WHERE name = $1 AND client_cert_fingerprint = $2)", 2, false },
	/*
	 * A renewal: the host's row first (a second renewal of the host
	 * waits here, then finds the certificate it presented superseded),
	 * then the name's lock (ST_NAME_LOCK), under which its bundle
	 * directory changes hands.  Is the presented certificate ($2) still
	 * the host's?
	 */
	[ST_RENEW_LOCK] = { "sc_renew_lock",
	    "WITH h AS MATERIALIZED (SELECT name, address, sans::text AS sans, "
	    "client_cert_fingerprint = $2 AS current, "
	    DB_UTC_TIME("now()") " AS since "
	    "FROM swarm_hosts WHERE uuid = $1::uuid FOR UPDATE) "
	    "SELECT name, address, sans, current, since, "
	    "pg_advisory_xact_lock(" DB_LOCK_NAMES ", hashtext(lower(name))) "
	    "FROM h", 2, false },
	/*
	 * The rest of a renewal in one round trip: the new certificate
	 * ($1..$7), the audit entry ($8..$14), the old certificate ($15)
	 * revoked as superseded and pointing at its successor, and the
	 * host's fingerprint -- only if the old one is still its own.
	 */
	[ST_RENEW_RECORD] = { "sc_renew_record",
	    "WITH c AS (INSERT INTO certificates (serial, fingerprint, "
	    "subject, kind, host_uuid, not_after, ca) "
	    "VALUES ($1, $2, $3, $4, $5::uuid, to_timestamp($6::bigint), $7)), "
	    "a AS (INSERT INTO audit_log (actor, actor_fingerprint, action, "
	    "target, outcome, client_addr, detail) "
	    "VALUES ($8, $9, $10, $11, $12, $13, $14)), "
	    "o AS (UPDATE certificates SET revoked_at = now(), "
	    "reason = 'superseded', successor = $2 "
	    "WHERE fingerprint = $15 AND revoked_at IS NULL) "
	    "UPDATE swarm_hosts SET client_cert_fingerprint = $2, "
	    "cert_not_after = to_timestamp($6::bigint) "
	    "WHERE uuid = $5::uuid AND client_cert_fingerprint = $15",
	    15, false },
};

/* LISTEN channels of sql/003_certificate_notify.sql, 004_host_notify.sql. */
#define CHANNEL_CERTIFICATES	"swarmctl_certificates"
#define CHANNEL_HOSTS		"swarmctl_hosts"

/*
 * Host rows this process deleted (decommissions), counted before the
 * deleting request is answered: a worker that sees the count move
 * forgets the hosts it kept, without waiting for the notification that
 * PostgreSQL delivers asynchronously.  So within one process a host is
 * never shown after its DELETE was answered.
 */
static atomic_uint_fast64_t host_writes;

struct db {
	char		*conninfo;
	PGconn		*conn;
	/*
	 * Which statements are prepared on this connection (ours and those
	 * of certs.c and audit.c).  Prepared on first use, not at connect
	 * time: db_migrate runs on a database whose tables do not exist yet.
	 */
	const struct db_statement *prepared[PREPARED_MAX];
	size_t		 nprepared;
	bool		 in_tx;		/* BEGIN sent, COMMIT/ROLLBACK not yet */
	/* Bumped whenever certificates may have changed: db_cert_epoch. */
	uint64_t	 cert_epoch;
	/* The same for host rows (db_host_epoch), and host_writes as seen. */
	uint64_t	 host_epoch;
	uint_fast64_t	 host_writes_seen;
	bool		 bundles_locked; /* session advisory lock held */
	bool		 timed_out;	/* this connection was cut: no answer */
	bool		 probing;	/* db_ping: waits even while unresponsive */
};

/* libpq messages end in "\n" and may span lines; logs want one line. */
static void
one_line(const char *src, char *dst, size_t size)
{
	size_t n = 0;
	bool space = false;

	for (; *src != '\0' && n + 1 < size; src++) {
		if (isspace((unsigned char)*src)) {
			space = true;
			continue;
		}
		if (space && n > 0) {
			if (n + 2 >= size)
				break;
			dst[n++] = ' ';
		}
		space = false;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

/*
 * Route server NOTICEs and WARNINGs away from libpq's default (printing
 * to stderr behind log.c's back).  NOTICEs ("relation already exists,
 * skipping") are routine; warnings deserve the operator's attention.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *severity, *msg;

	(void)arg;
	severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (severity != NULL && msg != NULL && strcmp(severity, "WARNING") == 0)
		log_warn("PostgreSQL: %s", msg);
}

static bool
sqlstate_unavailable(const char *state)
{
	if (state == NULL)
		return false;
	/* Class 08: connection exception; 57P01-03: shutting down/starting. */
	return strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0;
}

enum sc_err
db_result_error(struct db *db, const PGresult *res, const char *what,
    struct sc_error *err)
{
	ExecStatusType status;
	const char *state = NULL, *text = NULL;
	char msg[400];

	if (res != NULL) {
		status = PQresultStatus(res);
		if (status != PGRES_FATAL_ERROR &&
		    status != PGRES_NONFATAL_ERROR &&
		    status != PGRES_BAD_RESPONSE)
			return sc_error_set(err, SC_INTERNAL,
			    "%s: unexpected result %s", what, PQresStatus(status));
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (text == NULL || *text == '\0')
			text = PQresultErrorMessage(res);
	}
	if (text == NULL || *text == '\0')
		text = PQerrorMessage(db->conn);
	if (text == NULL || *text == '\0')
		text = "unknown error";
	one_line(text, msg, sizeof(msg));
	/* libpq only saw the connection we cut: say why it was cut. */
	if (db->timed_out)
		snprintf(msg, sizeof(msg), "no answer within %d s",
		    atomic_load(&wait_seconds));
	if (PQstatus(db->conn) == CONNECTION_BAD || sqlstate_unavailable(state))
		return sc_error_set(err, SC_DB_UNAVAILABLE,
		    "PostgreSQL unavailable: %s: %s", what, msg);
	if (state != NULL && strcmp(state, "23505") == 0)
		return sc_error_set(err, SC_CONFLICT, "%s: %s", what, msg);
	return sc_error_set(err, SC_INTERNAL, "%s: %s", what, msg);
}

/*
 * libpq's own rule: a dbname that looks like this is a connection string
 * (or URI) to be expanded, anything else is a database name.
 */
static bool
is_connection_string(const char *s)
{
	return strchr(s, '=') != NULL ||
	    strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0;
}

static PGconn *
connect_new(const char *conninfo)
{
	const char *keys[8], *values[8];
	char timeout[16], idle[16], user_timeout[24];
	int n = 0, seconds = atomic_load(&wait_seconds);

	snprintf(timeout, sizeof(timeout), "%d", seconds);
	snprintf(idle, sizeof(idle), "%d", seconds);
	snprintf(user_timeout, sizeof(user_timeout), "%d", seconds * 1000);
	/*
	 * Our defaults come before the expanded connection string, so a
	 * setting in it overrides them; a NULL value leaves the keyword to
	 * the environment (PGCONNECT_TIMEOUT, PGAPPNAME) and libpq.
	 */
	keys[n] = "connect_timeout";
	values[n++] = getenv("PGCONNECT_TIMEOUT") != NULL ? NULL : timeout;
	keys[n] = "application_name";
	values[n++] = getenv("PGAPPNAME") != NULL ? NULL : APPLICATION_NAME;
	/*
	 * Over TCP, a peer that died or a network that went away is noticed
	 * on an idle connection too (keepalives), and unacknowledged data
	 * ends the connection after the deadline (TCP_USER_TIMEOUT, RFC
	 * 5482).  A unix socket ignores both; the deadline of each wait
	 * (await) covers every transport.
	 */
	keys[n] = "keepalives_idle";
	values[n++] = idle;
	keys[n] = "keepalives_interval";
	values[n++] = "1";
	keys[n] = "keepalives_count";
	values[n++] = "3";
	keys[n] = "tcp_user_timeout";
	values[n++] = user_timeout;
	keys[n] = "dbname";
	values[n++] = conninfo;
	keys[n] = NULL;
	values[n] = NULL;
	return PQconnectdbParams(keys, values, 1);
}

static void
deadline_in(struct timespec *t, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += seconds;
}

/* Milliseconds until *t (0 once it has passed). */
static int
ms_until(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

/*
 * End this connection without a word to the server (which may not be
 * reading): shutdown(2) makes libpq see the end at once, so whatever is
 * waiting on it returns an error instead of blocking, and the server,
 * whenever it runs again, sees the client gone and rolls back what the
 * session had open (transaction, advisory locks).
 */
static void
cut(struct db *db)
{
	int fd;

	if (db->conn == NULL || (fd = PQsocket(db->conn)) < 0)
		return;
	(void)shutdown(fd, SHUT_RDWR);
	(void)PQconsumeInput(db->conn);
}

static enum sc_err
expire(struct db *db, const char *what, struct sc_error *err)
{
	int seconds = atomic_load(&wait_seconds);

	if (!atomic_exchange(&unresponsive, true))
		log_warn("PostgreSQL did not answer within %d s (%s): "
		    "requests that need it get 503 until it answers again",
		    seconds, what);
	db->timed_out = true;
	cut(db);
	return sc_error_set(err, SC_DB_UNAVAILABLE,
	    "PostgreSQL unavailable: %s: no answer within %d s", what, seconds);
}

/*
 * Wait, for at most the deadline, until PQgetResult can return without
 * blocking.  On expiry the connection is cut, after which PQgetResult
 * returns the lost connection's error at once.  A lost connection is
 * left to PQgetResult to report.
 */
static enum sc_err
await(struct db *db, const char *what, struct sc_error *err)
{
	struct timespec deadline;
	struct pollfd pfd;

	deadline_in(&deadline, atomic_load(&wait_seconds));
	while (PQisBusy(db->conn)) {
		int n;

		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return SC_OK;
		n = poll(&pfd, 1, ms_until(&deadline));
		if (n == 0 || (n == -1 && errno != EINTR))
			return expire(db, what, err);
		if (n > 0) {
			if (PQconsumeInput(db->conn) == 0)
				return SC_OK;
			atomic_store(&unresponsive, false);
		}
	}
	return SC_OK;
}

/*
 * While a wait has run out and PostgreSQL has not answered since, fail
 * at once (db_ping still waits).
 */
static enum sc_err
check_responsive(const struct db *db, struct sc_error *err)
{
	if (!atomic_load(&unresponsive) || db->probing)
		return SC_OK;
	return sc_error_set(err, SC_DB_UNAVAILABLE, "PostgreSQL unavailable: "
	    "it did not answer within %d s and has not answered since",
	    atomic_load(&wait_seconds));
}

/*
 * The result of the statement just sent, if its status is `want`.  Every
 * result is read, an error or not, so the connection is idle afterwards.
 */
static enum sc_err
collect(struct db *db, const char *what, ExecStatusType want,
    PGresult **resp, struct sc_error *err)
{
	PGresult *r;
	enum sc_err rc = SC_OK;

	*resp = NULL;
	for (;;) {
		if (rc == SC_OK)
			rc = await(db, what, err);
		else
			(void)await(db, what, NULL);
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		/* A simple query of several statements: the first result. */
		if (rc == SC_OK && *resp == NULL && PQresultStatus(r) == want) {
			*resp = r;
			continue;
		}
		if (rc == SC_OK && PQresultStatus(r) != want)
			rc = db_result_error(db, r, what, err);
		PQclear(r);
	}
	if (rc == SC_OK && *resp == NULL)
		rc = db_result_error(db, NULL, what, err);
	if (rc != SC_OK) {
		PQclear(*resp);
		*resp = NULL;
	}
	return rc;
}

PGresult *
db_query(struct db *db, const char *sql, int nparams,
    const char *const *values)
{
	PGresult *r, *last = NULL;

	if (!PQsendQueryParams(db->conn, sql, nparams, NULL, values, NULL,
	    NULL, 0))
		return PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
	for (;;) {
		(void)await(db, "query", NULL);
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		/* As PQexec: the last result, but an error is kept. */
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
			PQclear(r);
			continue;
		}
		PQclear(last);
		last = r;
	}
	return last != NULL ? last :
	    PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
}

/*
 * Subscribe to certificate and host changes (sql/003, sql/004).  A new
 * session may have missed notifications: bump both epochs either way.  A
 * database without a channel's trigger yet (before migrate) simply never
 * notifies on it.
 */
static void
listen_channels(struct db *db)
{
	struct sc_error err;
	PGresult *res = NULL;

	db->cert_epoch++;
	db->host_epoch++;
	sc_error_clear(&err);
	/* One round trip: a simple query may hold several statements. */
	if (!PQsendQuery(db->conn, "LISTEN " CHANNEL_CERTIFICATES "; "
	    "LISTEN " CHANNEL_HOSTS))
		db_result_error(db, NULL, "LISTEN", &err);
	else
		collect(db, "LISTEN", PGRES_COMMAND_OK, &res, &err);
	if (err.code != SC_OK)
		log_warn("%s", err.msg);
	PQclear(res);
}

/*
 * Read the notifications that have arrived, without a round trip; each
 * bumps its channel's epoch.  With no live session, or a server that has
 * stopped answering (its notifications cannot arrive), nothing can be
 * vouched for: every epoch moves.
 */
static void
read_notifications(struct db *db)
{
	PGnotify *n;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    atomic_load(&unresponsive) || PQconsumeInput(db->conn) == 0) {
		db->cert_epoch++;
		db->host_epoch++;
		return;
	}
	while ((n = PQnotifies(db->conn)) != NULL) {
		if (strcmp(n->relname, CHANNEL_HOSTS) == 0)
			db->host_epoch++;
		else
			db->cert_epoch++;
		PQfreemem(n);
	}
}

uint64_t
db_cert_epoch(struct db *db)
{
	read_notifications(db);
	return db->cert_epoch;
}

uint64_t
db_host_epoch(struct db *db)
{
	uint_fast64_t writes = atomic_load(&host_writes);

	read_notifications(db);
	if (writes != db->host_writes_seen) {
		db->host_writes_seen = writes;
		db->host_epoch++;
	}
	return db->host_epoch;
}

/*
 * Make sure there is a working connection: connect on first use, anew
 * after a failure.  PQstatus only knows what the last call saw, so a
 * connection PostgreSQL dropped while idle still looks fine here; the
 * statement that finds out decides whether to retry (exec_retry).
 */
static enum sc_err
db_connect(struct db *db, struct sc_error *err)
{
	struct timespec started;
	int seconds;

	if (check_responsive(db, err) != SC_OK)
		return SC_DB_UNAVAILABLE;
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return SC_OK;
	/*
	 * The open transaction, or the bundle lock, died with the session:
	 * silently carrying on on a new one would lose them.  The caller
	 * ends the transaction (db_rollback) or the lock (db_bundles_unlock)
	 * first.
	 */
	if (db->in_tx)
		return sc_error_set(err, SC_DB_UNAVAILABLE,
		    "PostgreSQL connection lost during a transaction");
	if (db->bundles_locked)
		return sc_error_set(err, SC_DB_UNAVAILABLE,
		    "PostgreSQL connection lost while holding the bundle lock");
	db->nprepared = 0;
	PQfinish(db->conn);
	seconds = atomic_load(&wait_seconds);
	deadline_in(&started, 0);
	if ((db->conn = connect_new(db->conninfo)) == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "connect to PostgreSQL: out of memory");
	PQsetNoticeReceiver(db->conn, notice_receiver, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		char msg[400];

		/* connect_timeout ran out: a server that accepts, not answers. */
		started.tv_sec += seconds;
		if (ms_until(&started) == 0 &&
		    !atomic_exchange(&unresponsive, true))
			log_warn("PostgreSQL did not answer a connection within "
			    "%d s: requests that need it get 503 until it "
			    "answers again", seconds);
		one_line(PQerrorMessage(db->conn), msg, sizeof(msg));
		return sc_error_set(err, SC_DB_UNAVAILABLE,
		    "PostgreSQL unavailable: %s", msg);
	}
	db->timed_out = false;
	listen_channels(db);
	return SC_OK;
}

enum sc_err
db_connection(struct db *db, PGconn **connp, struct sc_error *err)
{
	enum sc_err rc;

	*connp = NULL;
	if (db->in_tx || db->bundles_locked)
		return sc_error_set(err, SC_INTERNAL,
		    "database connection busy (transaction or lock held)");
	if ((rc = db_connect(db, err)) == SC_OK)
		*connp = db->conn;
	return rc;
}

static enum sc_err
prepare(struct db *db, const struct db_statement *st, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc = SC_OK;
	size_t i;

	for (i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == st)
			goto out;
	if (db->nprepared == PREPARED_MAX) {
		rc = sc_error_set(err, SC_INTERNAL, "%s: more than %d prepared "
		    "statements", st->name, PREPARED_MAX);
		goto out;
	}
	/* No parameter types: the SQL casts where inference is not enough. */
	if (!PQsendPrepare(db->conn, st->name, st->sql, st->nparams, NULL)) {
		rc = db_result_error(db, NULL, st->name, err);
		goto out;
	}
	if ((rc = collect(db, st->name, PGRES_COMMAND_OK, &res, err)) !=
	    SC_OK)
		goto out;
	db->prepared[db->nprepared++] = st;
out:
	PQclear(res);
	return rc;
}

/*
 * Send `st`, prepared on this connection, without waiting for its result
 * (libpq copies the parameters now); false if it could not be sent.
 */
static bool
send_prepared(struct db *db, const struct db_statement *st,
    const char *const *values)
{
	return PQsendQueryPrepared(db->conn, st->name, st->nparams, values,
	    NULL, NULL, st->binary ? 1 : 0) == 1;
}

enum sc_err
db_exec(struct db *db, const struct db_statement *st,
    const char *const *values, ExecStatusType want, PGresult **resp,
    struct sc_error *err)
{
	enum sc_err rc;

	*resp = NULL;
	if ((rc = db_connect(db, err)) != SC_OK ||
	    (rc = prepare(db, st, err)) != SC_OK)
		return rc;
	if (!send_prepared(db, st, values))
		return db_result_error(db, NULL, st->name, err);
	return collect(db, st->name, want, resp, err);
}

/* Run statement `id` of ours once; see db_exec. */
static enum sc_err
exec_once(struct db *db, enum stmt id, const char *const *values,
    ExecStatusType want, PGresult **resp, struct sc_error *err)
{
	return db_exec(db, &statements[id], values, want, resp, err);
}

/* exec_once for a statement whose rows do not matter (lock, set_config). */
static enum sc_err
exec_discard(struct db *db, enum stmt id, const char *const *values,
    struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	rc = exec_once(db, id, values, PGRES_TUPLES_OK, &res, err);
	PQclear(res);
	return rc;
}

/*
 * Whether a statement that just failed because the connection was gone
 * may be sent again on a new one: only if the connection looked fine
 * before (PostgreSQL restarted since we last used it; if connecting had
 * just failed, trying again at once would not help), it was not we who
 * cut it (a server that did not answer in time will not answer a second
 * time either) and nothing tied to the old session (transaction, session
 * lock) is in play.
 */
static bool
may_retry(const struct db *db, bool was_up, enum sc_err rc)
{
	return rc == SC_DB_UNAVAILABLE && was_up && !db->in_tx &&
	    !db->bundles_locked && !db->timed_out &&
	    PQstatus(db->conn) == CONNECTION_BAD;
}

/*
 * Run `attempt` and, when the connection turns out to be dead, once more
 * on a fresh one -- unless part of the answer already went to the caller
 * (*delivered > 0).  The caller's error is the last attempt's.
 */
static enum sc_err
with_retry(struct db *db,
    enum sc_err (*attempt)(struct db *, void *, struct sc_error *),
    void *arg, const size_t *delivered, struct sc_error *err)
{
	struct sc_error first;
	enum sc_err rc;
	bool was_up;

	sc_error_clear(&first);
	was_up = db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
	rc = attempt(db, arg, &first);
	if ((delivered == NULL || *delivered == 0) &&
	    may_retry(db, was_up, rc)) {
		log_info("reconnecting to PostgreSQL (%s)", first.msg);
		sc_error_clear(&first);
		rc = attempt(db, arg, &first);
	}
	if (rc != SC_OK && first.code != SC_OK)
		sc_error_set(err, rc, "%s", first.msg);
	return rc;
}

struct exec_args {
	const struct db_statement	 *st;
	const char *const		 *values;
	ExecStatusType			  want;
	PGresult			**resp;
};

static enum sc_err
exec_attempt(struct db *db, void *arg, struct sc_error *err)
{
	struct exec_args *a = arg;

	return db_exec(db, a->st, a->values, a->want, a->resp, err);
}

/*
 * db_exec, retried once on a fresh connection when the old one turns
 * out to be dead.  Only for statements that are safe to send twice:
 * reads, a session lock not yet held, and the BEGIN that opens a
 * transaction (nothing has happened in it yet).  Never inside one.
 */
enum sc_err
db_exec_retry(struct db *db, const struct db_statement *st,
    const char *const *values, ExecStatusType want, PGresult **resp,
    struct sc_error *err)
{
	struct exec_args a = { st, values, want, resp };

	return with_retry(db, exec_attempt, &a, NULL, err);
}

static enum sc_err
exec_retry(struct db *db, enum stmt id, const char *const *values,
    ExecStatusType want, PGresult **resp, struct sc_error *err)
{
	return db_exec_retry(db, &statements[id], values, want, resp, err);
}

enum sc_err
db_tx_begin(struct db *db, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	if (db->in_tx)
		return sc_error_set(err, SC_INTERNAL,
		    "a transaction is already open");
	rc = exec_retry(db, ST_BEGIN, NULL, PGRES_COMMAND_OK, &res, err);
	if (rc == SC_OK)
		db->in_tx = true;
	PQclear(res);
	return rc;
}

/* End the open transaction, if any, without committing it. */
void
db_tx_abort(struct db *db)
{
	struct sc_error err;
	PGresult *res = NULL;
	PGTransactionStatusType ts;

	if (!db->in_tx)
		return;
	db->in_tx = false;
	/* A dead session took its transaction with it. */
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return;
	/* A failed COMMIT has already ended it: no "no transaction" noise. */
	ts = PQtransactionStatus(db->conn);
	if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
		return;
	sc_error_clear(&err);
	/*
	 * A ROLLBACK that could not be sent or was not answered must not
	 * leave the transaction open on a live session (the next BEGIN
	 * would carry it on): end the session instead, which rolls back.
	 */
	if (exec_once(db, ST_ROLLBACK, NULL, PGRES_COMMAND_OK, &res, &err) !=
	    SC_OK) {
		log_warn("ROLLBACK: %s", err.msg);
		cut(db);
	}
	PQclear(res);
}

/*
 * A COMMIT of a transaction that had failed "succeeds" with the tag
 * ROLLBACK: the tag is checked, not just the status.  On success the
 * session is out of its transaction.
 */
static enum sc_err
commit_tag(struct db *db, PGresult *res, struct sc_error *err)
{
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		return sc_error_set(err, SC_INTERNAL,
		    "COMMIT: the transaction was rolled back");
	db->in_tx = false;
	return SC_OK;
}

enum sc_err
db_tx_commit(struct db *db, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	rc = exec_once(db, ST_COMMIT, NULL, PGRES_COMMAND_OK, &res, err);
	if (rc == SC_OK)
		rc = commit_tag(db, res, err);
	PQclear(res);
	return rc;
}

bool
db_in_tx(const struct db *db)
{
	return db->in_tx;
}

/*
 * Several statements in one round trip (libpq's pipeline mode): all sent,
 * then one Sync, then the results read in order.  Each round trip costs
 * both processes a wakeup and a context switch, which on two shared
 * cores is a good part of what an enrollment costs the machine.
 *
 * After a statement fails, the server skips the rest up to the Sync
 * (libpq reports them as PGRES_PIPELINE_ABORTED): a COMMIT pipelined
 * behind a statement that failed never runs, and an explicit
 * transaction is left in its failed state for ROLLBACK.
 */
struct pipe_step {
	const struct db_statement	*st;
	const char *const		*values;
	ExecStatusType			 want;
	PGresult			*res;	/* out: its result, status want */
	char				 sqlstate[6];	/* out: its error's */
};

/*
 * The results of one step, up to the NULL that ends them.  rc is the
 * pipeline's so far: only its first error is reported.
 */
static enum sc_err
pipe_read_step(struct db *db, struct pipe_step *s, enum sc_err rc,
    struct sc_error *err)
{
	PGresult *r;

	for (;;) {
		if (rc == SC_OK)
			rc = await(db, s->st->name, err);
		else
			(void)await(db, s->st->name, NULL);
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		if (rc == SC_OK && s->res == NULL &&
		    PQresultStatus(r) == s->want) {
			s->res = r;
			continue;
		}
		if (rc == SC_OK && PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
			rc = sc_error_set(err, SC_INTERNAL, "%s: skipped with "
			    "no error before it", s->st->name);
		else if (rc == SC_OK) {
			rc = db_result_error(db, r, s->st->name, err);
			snprintf(s->sqlstate, sizeof(s->sqlstate), "%s",
			    PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL ?
			    PQresultErrorField(r, PG_DIAG_SQLSTATE) : "");
		}
		PQclear(r);
	}
	if (rc == SC_OK && s->res == NULL)
		rc = db_result_error(db, NULL, s->st->name, err);
	return rc;
}

/* The Sync's own result ends the pipeline; anything else: a lost one. */
static bool
pipe_read_sync(struct db *db)
{
	PGresult *r;
	bool synced;

	(void)await(db, "pipeline sync", NULL);
	r = PQgetResult(db->conn);
	synced = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
	PQclear(r);
	return synced;
}

/*
 * Run steps[0..n) in one pipeline.  Each step that succeeded has its
 * result in res, which the caller frees (pipe_clear) whatever the
 * outcome: a BEGIN that ran opened a transaction even if what followed
 * it failed.  A pipeline that cannot be seen through to its Sync ends
 * the session (cut): what the server did of it is then for the caller
 * to find out, as with any lost connection.  mw (may be NULL) runs
 * between the sending and the reading, unless it already ran.
 */
static enum sc_err
pipeline(struct db *db, struct pipe_step *steps, size_t n,
    struct db_meanwhile *mw, struct sc_error *err)
{
	enum sc_err rc;
	size_t i;

	for (i = 0; i < n; i++) {
		steps[i].res = NULL;
		steps[i].sqlstate[0] = '\0';
	}
	if ((rc = db_connect(db, err)) != SC_OK)
		return rc;
	/* Prepared first, each once per connection (its own round trip). */
	for (i = 0; i < n; i++)
		if ((rc = prepare(db, steps[i].st, err)) != SC_OK)
			return rc;
	if (!PQenterPipelineMode(db->conn))
		return db_result_error(db, NULL, "pipeline mode", err);
	for (i = 0; i < n && rc == SC_OK; i++)
		if (!send_prepared(db, steps[i].st, steps[i].values))
			rc = db_result_error(db, NULL, steps[i].st->name, err);
	if (rc != SC_OK || !PQpipelineSync(db->conn)) {
		if (rc == SC_OK)
			rc = db_result_error(db, NULL, "pipeline sync", err);
		cut(db);
		return rc;
	}
	if (mw != NULL && !mw->ran) {
		mw->fn(mw->arg);
		mw->ran = true;
	}
	for (i = 0; i < n; i++)
		rc = pipe_read_step(db, &steps[i], rc, err);
	if (!pipe_read_sync(db) || !PQexitPipelineMode(db->conn)) {
		if (rc == SC_OK)
			rc = db_result_error(db, NULL, "pipeline", err);
		cut(db);
	}
	return rc;
}

static void
pipe_clear(struct pipe_step *steps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		PQclear(steps[i].res);
		steps[i].res = NULL;
	}
}

enum sc_err
db_copy_text(const PGresult *res, int row, int col, bool nullable,
    char **out, struct sc_error *err)
{
	*out = NULL;
	if (PQgetisnull(res, row, col)) {
		if (nullable)
			return SC_OK;
		return sc_error_set(err, SC_INTERNAL,
		    "row: unexpected NULL in column %d", col);
	}
	if ((*out = strdup(PQgetvalue(res, row, col))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "row: out of memory");
	return SC_OK;
}

enum sc_err
db_copy_fixed(const PGresult *res, int row, int col, char *dst,
    size_t size, struct sc_error *err)
{
	size_t len;

	if (PQgetisnull(res, row, col) ||
	    (len = (size_t)PQgetlength(res, row, col)) >= size)
		return sc_error_set(err, SC_INTERNAL,
		    "row: bad value in column %d", col);
	memcpy(dst, PQgetvalue(res, row, col), len + 1);
	return SC_OK;
}

/*
 * A row of HOST_COLUMNS (binary) as a view into `res`: strings borrowed,
 * valid until `res` is cleared, never db_host_clear.  The last heartbeat,
 * if any, is formatted into hb.  Lists render each row at once and move
 * on, so they need no copies.
 */
static enum sc_err
row_view_host(const PGresult *res, int row, struct db_host *h, char *hb,
    size_t hbsize, struct sc_error *err)
{
	char na[DB_TIME_LEN + 1];
	int32_t port = 0;
	enum sc_err rc;

	memset(h, 0, sizeof(*h));
	if ((rc = wire_uuid(res, row, COL_UUID, h->uuid, sizeof(h->uuid),
	    err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_NAME, false, &h->name, err)) !=
	    SC_OK ||
	    (rc = wire_text(res, row, COL_ADDRESS, false, &h->address, err)) !=
	    SC_OK ||
	    (rc = wire_int4(res, row, COL_AGENT_PORT, &port, err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_STATUS, false, &h->status, err)) !=
	    SC_OK ||
	    (rc = wire_timestamptz(res, row, COL_LAST_HEARTBEAT, true, hb,
	    hbsize, err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_FINGERPRINT, false,
	    &h->client_cert_fingerprint, err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_BUNDLE_PATH, false,
	    &h->cert_bundle_path, err)) != SC_OK ||
	    (rc = wire_timestamptz(res, row, COL_ENROLLED_AT, false,
	    h->enrolled_at, sizeof(h->enrolled_at), err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_NOTES, true, &h->notes, err)) !=
	    SC_OK ||
	    (rc = wire_timestamptz(res, row, COL_CERT_NOT_AFTER, true, na,
	    sizeof(na), err)) != SC_OK ||
	    (rc = wire_text(res, row, COL_AGENT_VERSION, true,
	    &h->agent_version, err)) != SC_OK)
		return rc;
	memcpy(h->cert_not_after, na, sizeof(h->cert_not_after));
	if (port < 1 || port > 65535)
		return sc_error_set(err, SC_INTERNAL,
		    "host row: bad agent_port %" PRId32, port);
	h->agent_port = port;
	if (hb[0] != '\0')
		h->last_heartbeat = hb;
	return SC_OK;
}

/* *dst = a copy of src (NULL stays NULL); -1 when out of memory. */
static int
dup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return -1;
	return 0;
}

/* Fill *h with copies from a row of HOST_COLUMNS; on failure, cleared. */
static enum sc_err
row_to_host(const PGresult *res, int row, struct db_host *h,
    struct sc_error *err)
{
	struct db_host v;
	char hb[DB_TIME_LEN + 1];
	enum sc_err rc;

	memset(h, 0, sizeof(*h));
	if ((rc = row_view_host(res, row, &v, hb, sizeof(hb), err)) != SC_OK)
		goto out;
	memcpy(h->uuid, v.uuid, sizeof(h->uuid));
	memcpy(h->enrolled_at, v.enrolled_at, sizeof(h->enrolled_at));
	memcpy(h->cert_not_after, v.cert_not_after, sizeof(h->cert_not_after));
	h->agent_port = v.agent_port;
	if (dup_or_null(&h->name, v.name) == -1 ||
	    dup_or_null(&h->address, v.address) == -1 ||
	    dup_or_null(&h->status, v.status) == -1 ||
	    dup_or_null(&h->last_heartbeat, v.last_heartbeat) == -1 ||
	    dup_or_null(&h->client_cert_fingerprint,
	    v.client_cert_fingerprint) == -1 ||
	    dup_or_null(&h->cert_bundle_path, v.cert_bundle_path) == -1 ||
	    dup_or_null(&h->notes, v.notes) == -1 ||
	    dup_or_null(&h->agent_version, v.agent_version) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "host row: out of memory");
out:
	if (rc != SC_OK)
		db_host_clear(h);
	return rc;
}

enum sc_err
db_open(const char *conninfo, struct db **dbp, struct sc_error *err)
{
	struct db *db = NULL;
	PQconninfoOption *opts = NULL;
	char *perr = NULL, msg[400];
	enum sc_err rc = SC_OK;

	*dbp = NULL;
	if (conninfo == NULL)
		conninfo = "";
	/*
	 * Catch a malformed connection string now, as a configuration
	 * error, rather than as "database unavailable" on every request.
	 */
	if (is_connection_string(conninfo) &&
	    (opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		if (perr == NULL) {
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
			goto out;
		}
		one_line(perr, msg, sizeof(msg));
		rc = sc_error_set(err, SC_INVALID,
		    "PostgreSQL connection string: %s", msg);
		goto out;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->conninfo = strdup(conninfo)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	*dbp = db;
	db = NULL;
out:
	if (db != NULL)
		free(db->conninfo);
	free(db);
	PQconninfoFree(opts);
	PQfreemem(perr);
	return rc;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	/* Ending the session rolls back its transaction, drops its locks. */
	PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

void
db_host_clear(struct db_host *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->address);
	free(h->status);
	free(h->last_heartbeat);
	free(h->client_cert_fingerprint);
	free(h->cert_bundle_path);
	free(h->notes);
	free(h->agent_version);
	memset(h, 0, sizeof(*h));
}

/*
 * ST_HOST_NAME_TAKEN's row: whether the name is enrolled, and when the
 * transaction began (the enrolled_at its host row will have).
 */
static enum sc_err
name_taken_row(const PGresult *res, struct db_host *h, bool *taken,
    struct sc_error *err)
{
	if (PQntuples(res) != 1 || PQnfields(res) != 2 ||
	    PQgetlength(res, 0, 1) > DB_TIME_LEN)
		return sc_error_set(err, SC_INTERNAL,
		    "enrollment: unexpected row for the host name's check");
	*taken = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	memcpy(h->enrolled_at, PQgetvalue(res, 0, 1),
	    (size_t)PQgetlength(res, 0, 1) + 1);
	return SC_OK;
}

/*
 * keys as a PostgreSQL array literal: {"a","b"}.  DNS names need no
 * escaping, but nothing here relies on that.
 */
static char *
text_array(const char *const *keys, size_t n)
{
	size_t i, len = 3;
	const char *c;
	char *buf, *p;

	for (i = 0; i < n; i++)
		len += 2 * strlen(keys[i]) + 3;
	if ((buf = malloc(len)) == NULL)
		return NULL;
	p = buf;
	*p++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (c = keys[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return buf;
}

/* The first of keys that res (the names inserted) does not list. */
static const char *
first_taken(const PGresult *res, const char *const *keys, size_t n)
{
	size_t i;
	int row;

	for (i = 0; i < n; i++) {
		for (row = 0; row < PQntuples(res); row++)
			if (strcmp(PQgetvalue(res, row, 0), keys[i]) == 0)
				break;
		if (row == PQntuples(res))
			return keys[i];
	}
	return NULL;
}

struct enroll_begin {
	struct db_host		*h;
	const char		*names_values[3];
	const char *const	*keys;
	size_t			 nkeys;
	const char		**taken;
	struct db_meanwhile	 *mw;
};

/*
 * BEGIN, the host's DNS names and whether its name is taken, in one
 * round trip.
 *
 * ST_NAMES_RESERVE takes the bundle lock (shared) and the name's lock
 * first, held to the COMMIT: a decommission's bundle removal
 * (db_bundle_settle_begin) never runs while this enrollment writes its
 * bundle under the same name, and a concurrent enrollment of the same
 * name waits here until this one ends, then finds the name enrolled (it
 * committed) or free (it rolled back): exactly one enrollment wins.
 * The host's own name is one of its keys, so the check after the names
 * only decides which conflict to report: the host name (taken stays
 * NULL), else the first DNS name held by another host.
 */
static enum sc_err
enroll_begin_attempt(struct db *db, void *arg, struct sc_error *err)
{
	struct enroll_begin *e = arg;
	const char *name_values[1] = { e->h->name };
	struct pipe_step steps[3] = {
		{ &statements[ST_BEGIN], NULL, PGRES_COMMAND_OK, NULL, "" },
		{ &statements[ST_NAMES_RESERVE], e->names_values,
		    PGRES_TUPLES_OK, NULL, "" },
		{ &statements[ST_HOST_NAME_TAKEN], name_values,
		    PGRES_TUPLES_OK, NULL, "" },
	};
	const char *taken;
	bool enrolled = false;
	enum sc_err rc;

	rc = pipeline(db, steps, 3, e->mw, err);
	/* Whatever failed after it, a BEGIN that ran opened a transaction. */
	if (steps[0].res != NULL)
		db->in_tx = true;
	if (rc == SC_OK)
		rc = name_taken_row(steps[2].res, e->h, &enrolled, err);
	if (rc == SC_OK && enrolled)
		rc = sc_error_set(err, SC_CONFLICT,
		    "host name '%s' is already enrolled", e->h->name);
	else if (rc == SC_OK && (taken = first_taken(steps[1].res, e->keys,
	    e->nkeys)) != NULL) {
		*e->taken = taken;
		rc = sc_error_set(err, SC_CONFLICT, "DNS name '%s' already "
		    "belongs to another enrolled host", taken);
	}
	pipe_clear(steps, 3);
	return rc;
}

_Static_assert(DB_UUID_LEN == CODEC_UUID_LEN, "a host's uuid is a UUID's text");

enum sc_err
db_enroll_begin(struct db *db, struct db_host *h, const char *const *keys,
    size_t nkeys, const char **taken, struct db_meanwhile *mw,
    struct sc_error *err)
{
	struct enroll_begin e;
	char *array = NULL;
	enum sc_err rc;

	*taken = NULL;
	if (db->in_tx) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "a transaction is already open");
		goto out;
	}
	if ((array = text_array(keys, nkeys)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	/* The row's uuid is chosen here: its names go in before it does. */
	if ((rc = codec_uuid_v4(h->uuid, err)) != SC_OK)
		goto out;
	e = (struct enroll_begin){ .h = h, .keys = keys, .nkeys = nkeys,
	    .taken = taken, .mw = mw,
	    .names_values = { array, h->name, h->uuid } };
	/* Nothing has happened yet if the session turns out to be dead. */
	rc = with_retry(db, enroll_begin_attempt, &e, NULL, err);
	if (rc != SC_OK)
		db_tx_abort(db);
out:
	free(array);
	return rc;
}

/*
 * The connection died during COMMIT, so the transaction may or may not
 * have committed.  Ask a new connection: if the row with this fingerprint
 * is there, the enrollment stands; if it is not and the old session is
 * gone, it never will be.  Anything else is reported, loudly, as unknown.
 */
static enum sc_err
commit_in_doubt(struct db *db, const char *uuid, const char *fingerprint,
    int old_pid, const struct sc_error *why, int *doubt_pid,
    struct sc_error *err)
{
	struct sc_error check;
	PGresult *res = NULL;
	const char *values[3];
	char pid[16];
	enum sc_err rc;
	bool committed, old_alive;

	sc_error_clear(&check);
	snprintf(pid, sizeof(pid), "%d", old_pid);
	values[0] = uuid;
	values[1] = fingerprint;
	values[2] = pid;
	if (exec_once(db, ST_COMMIT_CHECK, values, PGRES_TUPLES_OK, &res,
	    &check) != SC_OK || PQntuples(res) != 1) {
		log_error("enrollment %s: COMMIT outcome unknown (%s; %s): "
		    "settled once the database answers", uuid, why->msg,
		    check.msg);
		*doubt_pid = old_pid;
		rc = sc_error_set(err, SC_DB_UNAVAILABLE,
		    "COMMIT outcome unknown: %s", why->msg);
		goto out;
	}
	committed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	old_alive = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (committed) {
		log_warn("enrollment %s: committed although the connection "
		    "was lost during COMMIT", uuid);
		rc = SC_OK;
		goto out;
	}
	if (old_alive) {
		log_error("enrollment %s: COMMIT outcome unknown (the old "
		    "session %d is still running): settled once it is gone",
		    uuid, old_pid);
		*doubt_pid = old_pid;
	}
	rc = sc_error_set(err, SC_DB_UNAVAILABLE, "%s", why->msg);
out:
	PQclear(res);
	return rc;
}

/*
 * The parameters of ST_ENROLL_RECORD and ST_RENEW_RECORD: the
 * certificate ($1..$7, certs.c's sc_cert_insert), the audit entry
 * ($8..$14, audit.c's sc_audit_insert), then the statement's own: for
 * an enrollment the host row's ($15..$20), for a renewal the
 * fingerprint it supersedes ($15).
 */
#define RECORD_OWN_MAX	6
struct record_args {
	struct db_cert		 cert;
	struct db_cert_params	 cp;
	struct db_audit_params	*ap;	/* 7 KiB: off the 512 KiB stack */
	const char		*values[DB_CERT_NPARAMS + DB_AUDIT_NPARAMS +
				    RECORD_OWN_MAX];
};

static enum sc_err
record_args(struct record_args *ra, const char *uuid,
    const struct db_cert *cert, const struct db_audit *audit,
    const char *const *own, size_t nown, struct sc_error *err)
{
	enum sc_err rc;

	ra->ap = NULL;
	if (cert == NULL || audit == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "host %s: no certificate or audit entry", uuid);
	/* The certificate belongs to the host of this transaction. */
	ra->cert = *cert;
	ra->cert.host_uuid = uuid;
	if ((ra->ap = malloc(sizeof(*ra->ap))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	if ((rc = db_cert_params(&ra->cert, &ra->cp, err)) != SC_OK ||
	    (rc = db_audit_params(audit, ra->ap, err)) != SC_OK)
		return rc;
	memcpy(ra->values, ra->cp.values, sizeof(ra->cp.values));
	memcpy(ra->values + DB_CERT_NPARAMS, ra->ap->values,
	    sizeof(ra->ap->values));
	if (nown > RECORD_OWN_MAX)
		return sc_error_set(err, SC_INTERNAL, "host %s: %zu "
		    "parameters of a record statement's own", uuid, nown);
	memcpy(ra->values + DB_CERT_NPARAMS + DB_AUDIT_NPARAMS, own,
	    nown * sizeof(*own));
	return SC_OK;
}

/*
 * A COMMIT that failed: if the session died during it, whether the
 * transaction committed is looked into (commit_in_doubt); otherwise it
 * was rolled back (or is, by db_tx_abort).
 */
static enum sc_err
commit_failed(struct db *db, enum sc_err rc, const char *uuid,
    const char *fingerprint, int pid, const struct sc_error *why,
    int *doubt_pid, struct sc_error *err)
{
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		db->in_tx = false;
		return commit_in_doubt(db, uuid, fingerprint, pid, why,
		    doubt_pid, err);
	}
	return sc_error_set(err, rc, "%s", why->msg);
}

/*
 * A renewal, inside its transaction: the certificate, the audit entry,
 * the old certificate superseded and the host's fingerprint
 * (ST_RENEW_RECORD, which changes nothing if the host no longer names
 * old_fingerprint), then COMMIT.
 */
static enum sc_err
renew_commit(struct db *db, const char *uuid, const struct db_cert *cert,
    const struct db_audit *audit, const char *old_fingerprint,
    int *doubt_pid, struct sc_error *err)
{
	struct sc_error commit_err;
	struct record_args ra;
	PGresult *res = NULL;
	enum sc_err rc;
	int pid;

	sc_error_clear(&commit_err);
	*doubt_pid = 0;
	ra.ap = NULL;
	if (!db->in_tx) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "host %s: no transaction is open", uuid);
		goto out;
	}
	if ((rc = record_args(&ra, uuid, cert, audit, &old_fingerprint, 1,
	    err)) != SC_OK ||
	    (rc = exec_once(db, ST_RENEW_RECORD, ra.values, PGRES_COMMAND_OK,
	    &res, err)) != SC_OK)
		goto out;
	/* The row lock is held: a miss is checked all the same. */
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		rc = sc_error_set(err, SC_FORBIDDEN, "host %s: certificate "
		    "superseded meanwhile", uuid);
		goto out;
	}
	pid = PQbackendPID(db->conn);
	if ((rc = db_tx_commit(db, &commit_err)) != SC_OK)
		rc = commit_failed(db, rc, uuid, cert->fingerprint, pid,
		    &commit_err, doubt_pid, err);
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	PQclear(res);
	free(ra.ap);
	return rc;
}

/*
 * The rest of an enrollment and its COMMIT in one round trip
 * (ST_ENROLL_RECORD fails rather than not insert its row, so the
 * COMMIT behind it never runs for a half-recorded enrollment).
 */
enum sc_err
db_enroll_commit(struct db *db, const struct db_host *h,
    const struct db_cert *cert, const struct db_audit *audit,
    int *doubt_pid, struct sc_error *err)
{
	struct pipe_step steps[2];
	struct sc_error commit_err;
	struct record_args ra;
	const char *own[RECORD_OWN_MAX];
	char port[16];
	enum sc_err rc;
	int pid;

	sc_error_clear(&commit_err);
	*doubt_pid = 0;
	ra.ap = NULL;
	memset(steps, 0, sizeof(steps));
	if (!db->in_tx) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "enrollment %s: no transaction is open", h->uuid);
		goto out;
	}
	snprintf(port, sizeof(port), "%d", h->agent_port);
	own[0] = h->name;
	own[1] = h->address;
	own[2] = port;
	own[3] = h->cert_bundle_path;
	own[4] = h->notes;
	own[5] = h->sans_json;
	if ((rc = record_args(&ra, h->uuid, cert, audit, own, RECORD_OWN_MAX,
	    err)) != SC_OK)
		goto out;
	steps[0] = (struct pipe_step){ &statements[ST_ENROLL_RECORD],
	    ra.values, PGRES_TUPLES_OK, NULL, "" };
	steps[1] = (struct pipe_step){ &statements[ST_COMMIT], NULL,
	    PGRES_COMMAND_OK, NULL, "" };
	pid = PQbackendPID(db->conn);
	rc = pipeline(db, steps, 2, NULL, &commit_err);
	if (rc == SC_OK)
		rc = commit_tag(db, steps[1].res, &commit_err);
	if (rc == SC_OK)
		goto out;
	if (strcmp(steps[0].sqlstate, "22012") == 0)
		rc = sc_error_set(err, SC_INTERNAL, "enrollment %s: host row "
		    "not inserted", h->uuid);
	else
		rc = commit_failed(db, rc, h->uuid, cert->fingerprint, pid,
		    &commit_err, doubt_pid, err);
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	pipe_clear(steps, 2);
	free(ra.ap);
	return rc;
}

void
db_rollback(struct db *db)
{
	if (db != NULL)
		db_tx_abort(db);
}

enum sc_err
db_host_get(struct db *db, const char *uuid, struct db_host *h,
    struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[2];
	enum sc_err rc;

	/* *h is written only after the query: uuid may be h->uuid. */
	values[0] = uuid;
	values[1] = stale_after;
	if ((rc = exec_retry(db, ST_HOST_GET, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK ||
	    (rc = wire_check_types(res, host_types, COL_COUNT, "host row",
	    err)) != SC_OK)
		goto out;
	if (PQntuples(res) == 0) {
		rc = sc_error_set(err, SC_NOT_FOUND, "host %s not found",
		    uuid);
		goto out;
	}
	rc = row_to_host(res, 0, h, err);
out:
	if (rc != SC_OK)
		memset(h, 0, sizeof(*h));
	PQclear(res);
	return rc;
}

struct stream_args {
	const struct db_statement	 *st;
	const char *const		 *values;
	enum sc_err			(*row)(const PGresult *, void *);
	void				 *arg;
	size_t				  delivered;
};

/*
 * One pass of db_stream.  Single-row mode hands us one PGresult per row,
 * so memory stays flat however many rows there are.  Whatever happens,
 * every result is read before returning (a connection with a query in
 * flight is unusable); cancelling instead would race with the next query
 * on this connection, and our lists are not long enough for draining to
 * matter.
 */
static enum sc_err
stream_attempt(struct db *db, void *arg, struct sc_error *err)
{
	struct stream_args *a = arg;
	const struct db_statement *st = a->st;
	PGresult *res = NULL;
	enum sc_err rc;

	if ((rc = db_connect(db, err)) != SC_OK ||
	    (rc = prepare(db, st, err)) != SC_OK)
		goto out;
	if (!send_prepared(db, st, a->values)) {
		rc = db_result_error(db, NULL, st->name, err);
		goto out;
	}
	if (!PQsetSingleRowMode(db->conn))
		rc = sc_error_set(err, SC_INTERNAL,
		    "%s: cannot enter single-row mode", st->name);
	/* The deadline is per row: a long answer is fine, a silent one not. */
	for (;;) {
		if (rc == SC_OK)
			rc = await(db, st->name, err);
		else
			(void)await(db, st->name, NULL);
		if ((res = PQgetResult(db->conn)) == NULL)
			break;
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			if (rc != SC_OK)
				break;
			a->delivered++;
			rc = a->row(res, a->arg);
			break;
		case PGRES_TUPLES_OK:	/* the end (or all rows at once) */
			if (rc == SC_OK && PQntuples(res) != 0)
				rc = sc_error_set(err, SC_INTERNAL,
				    "%s: rows outside single-row mode",
				    st->name);
			break;
		default:
			if (rc == SC_OK)
				rc = db_result_error(db, res, st->name, err);
			break;
		}
		PQclear(res);
	}
out:
	return rc;
}

/*
 * `row` must not use this struct db: its connection is busy until the
 * last row has been read.  `row` reports its own errors into the
 * sc_error it was given through `arg`.  Once a row went out, the caller
 * has started its answer: no retry.
 */
enum sc_err
db_stream(struct db *db, const struct db_statement *st,
    const char *const *values, enum sc_err (*row)(const PGresult *, void *),
    void *arg, struct sc_error *err)
{
	struct stream_args a = { st, values, row, arg, 0 };

	return with_retry(db, stream_attempt, &a, &a.delivered, err);
}

/*
 * Lists are read in chunks of this many rows, each chunk one query that
 * continues after the last name of the one before (keyset on the unique,
 * ordered name).  A list of 100 hosts is one round trip; a list of
 * 100,000 never holds more than one chunk in memory.  Chunks are separate
 * statements, so a host enrolled or removed during a long listing may or
 * may not appear -- never twice, never out of order.
 */
#define LIST_CHUNK	500

/* Hand each row of a chunk to `each`. */
static enum sc_err
deliver_rows(const PGresult *res, int (*each)(const struct db_host *, void *),
    void *arg, struct sc_error *err)
{
	struct db_host h;
	char hb[DB_TIME_LEN + 1];
	int i, n = PQntuples(res);

	for (i = 0; i < n; i++) {
		enum sc_err rc = row_view_host(res, i, &h, hb, sizeof(hb),
		    err);

		if (rc != SC_OK)
			return rc;
		if (each(&h, arg) != 0)
			return sc_error_set(err, SC_INTERNAL,
			    "host list: stopped by the caller");
	}
	return SC_OK;
}

/*
 * A list is a walk over chunks (LIST_CHUNK rows, keyset on the name).
 * The query for the next chunk is sent as soon as the current one has
 * arrived -- its last name is all it needs -- so PostgreSQL finds the
 * next rows while these are rendered and written: a long list costs
 * about the larger of the two, not their sum.  A chunk that cannot be
 * sent that way (the connection died) is asked for again with
 * exec_retry, which reconnects: chunks are separate statements anyway.
 */
enum sc_err
db_hosts_list(struct db *db, const struct db_host_filter *f,
    int (*each)(const struct db_host *, void *), void *arg,
    struct sc_error *err)
{
	/* Names are at most 64 bytes (validate.h); room to spare. */
	char after[256] = "", limit[16], expiring[16];
	const char *values[5] = { f->status, after, limit, stale_after,
	    f->expiring_days > 0 ? expiring : NULL };
	PGresult *res = NULL;
	int left = f->limit > 0 ? f->limit : -1, want, n;
	bool more, in_flight = false;
	enum sc_err rc;

	snprintf(expiring, sizeof(expiring), "%d", f->expiring_days);
	if (f->after != NULL &&
	    snprintf(after, sizeof(after), "%s", f->after) >= (int)sizeof(after))
		return sc_error_set(err, SC_INTERNAL, "host list: long name");
	want = left < 0 || left > LIST_CHUNK ? LIST_CHUNK : left;
	snprintf(limit, sizeof(limit), "%d", want);
	if ((rc = exec_retry(db, ST_HOSTS_PAGE, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	for (;;) {
		if ((rc = wire_check_types(res, host_types, COL_COUNT,
		    "host list", err)) != SC_OK)
			goto out;
		n = PQntuples(res);
		if (left > 0)
			left -= n;
		more = n == want && left != 0;
		if (more) {
			if ((rc = db_copy_fixed(res, n - 1, COL_NAME, after,
			    sizeof(after), err)) != SC_OK)
				goto out;
			want = left < 0 || left > LIST_CHUNK ? LIST_CHUNK : left;
			snprintf(limit, sizeof(limit), "%d", want);
			/* Only on a live connection; else exec_retry below. */
			in_flight = PQstatus(db->conn) == CONNECTION_OK &&
			    send_prepared(db, &statements[ST_HOSTS_PAGE],
			    values);
		}
		if ((rc = deliver_rows(res, each, arg, err)) != SC_OK)
			goto out;
		PQclear(res);
		res = NULL;
		if (!more)
			break;
		if (in_flight) {
			in_flight = false;
			rc = collect(db, statements[ST_HOSTS_PAGE].name,
			    PGRES_TUPLES_OK, &res, err);
		} else
			rc = exec_retry(db, ST_HOSTS_PAGE, values,
			    PGRES_TUPLES_OK, &res, err);
		if (rc != SC_OK)
			goto out;
	}
out:
	PQclear(res);
	res = NULL;
	/* Stopped with a chunk in flight: read it; the connection idles. */
	if (in_flight) {
		struct sc_error ignored;

		sc_error_clear(&ignored);
		if (collect(db, statements[ST_HOSTS_PAGE].name,
		    PGRES_TUPLES_OK, &res, &ignored) == SC_OK)
			PQclear(res);
	}
	return rc;
}

/* The claim on the bundle of the row ST_HOST_LOCK returned. */
static enum sc_err
claim_from_row(const PGresult *res, struct db_bundle_claim *claim,
    struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_copy_fixed(res, 0, 0, claim->name, sizeof(claim->name),
	    err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 1, claim->fingerprint,
	    sizeof(claim->fingerprint), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 2, claim->old_since,
	    sizeof(claim->old_since), err)) != SC_OK)
		claim->name[0] = '\0';
	return rc;
}

enum sc_err
db_host_delete(struct db *db, const char *uuid, const struct db_audit *audit,
    struct db_bundle_claim *claim, struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[1];
	enum sc_err rc;
	int pid;

	memset(claim, 0, sizeof(*claim));
	values[0] = uuid;
	if (audit == NULL) {
		rc = sc_error_set(err, SC_INTERNAL,
		    "decommission %s: no audit entry", uuid);
		goto out;
	}
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		goto out;
	/* Lock the row: a concurrent delete of the same host waits here. */
	if ((rc = exec_once(db, ST_HOST_LOCK, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	if (PQntuples(res) == 0) {
		rc = sc_error_set(err, SC_NOT_FOUND, "host %s not found",
		    uuid);
		goto out;
	}
	if ((rc = claim_from_row(res, claim, err)) != SC_OK)
		goto out;
	PQclear(res);
	res = NULL;
	/* Shards first: they reference the host (no ON DELETE CASCADE). */
	if ((rc = exec_once(db, ST_SHARDS_DELETE, values, PGRES_COMMAND_OK,
	    &res, err)) != SC_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((rc = exec_once(db, ST_HOST_DELETE, values, PGRES_COMMAND_OK,
	    &res, err)) != SC_OK)
		goto out;
	/*
	 * The certificate dies with the host, in the same transaction: no
	 * moment exists in which the host is gone and its certificate is
	 * still good in the database (the CRL file follows after COMMIT).
	 */
	if ((rc = db_certs_revoke_host(db, uuid, err)) != SC_OK ||
	    (rc = db_audit_insert(db, audit, err)) != SC_OK)
		goto out;
	pid = PQbackendPID(db->conn);
	/* Cut off: the claim's settlement finds out whether it happened. */
	if ((rc = db_tx_commit(db, err)) != SC_OK &&
	    PQstatus(db->conn) == CONNECTION_BAD)
		claim->old_pid = pid;
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	/* Whatever the outcome (a lost COMMIT may still land): forget. */
	atomic_fetch_add(&host_writes, 1);
	PQclear(res);
	return rc;
}

/* The single boolean a SELECT EXISTS (...) statement returns. */
static enum sc_err
exists_once(struct db *db, enum stmt id, const char *const *values,
    bool *exists, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	*exists = false;
	if ((rc = exec_once(db, id, values, PGRES_TUPLES_OK, &res, err)) ==
	    SC_OK) {
		if (PQntuples(res) == 1 && PQnfields(res) == 1)
			*exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		else
			rc = sc_error_set(err, SC_INTERNAL,
			    "%s: unexpected result", statements[id].name);
	}
	PQclear(res);
	return rc;
}

enum sc_err
db_bundle_settle_begin(struct db *db, const struct db_bundle_claim *claim,
    enum db_bundle_fate *fate, struct sc_error *err)
{
	const char *values[2];
	char pid[16];
	enum sc_err rc;
	bool alive = false, row;

	*fate = DB_BUNDLE_UNDECIDED;
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		return rc;
	values[0] = claim->name;
	if ((rc = exec_discard(db, ST_SETTLE_TIMEOUT, NULL, err)) != SC_OK ||
	    (rc = exec_discard(db, ST_NAME_LOCK, values, err)) != SC_OK)
		goto out;
	/*
	 * The old session first, the row in a later statement (a later
	 * snapshot): a session seen gone has committed or aborted for good
	 * before the row is looked for.
	 */
	if (claim->old_pid != 0) {
		snprintf(pid, sizeof(pid), "%d", claim->old_pid);
		values[0] = pid;
		values[1] = claim->old_since[0] != '\0' ? claim->old_since :
		    NULL;
		if ((rc = exists_once(db, ST_SESSION_ALIVE, values, &alive,
		    err)) != SC_OK)
			goto out;
	}
	values[0] = claim->name;
	values[1] = claim->fingerprint;
	if ((rc = exists_once(db, ST_CLAIM_ROW, values, &row, err)) != SC_OK)
		goto out;
	if (row)
		*fate = DB_BUNDLE_KEEP;
	else if (!alive)
		*fate = DB_BUNDLE_DROP;
out:
	if (rc != SC_OK)
		db_tx_abort(db);
	return rc;
}

enum sc_err
db_bundles_lock(struct db *db, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	if (db->bundles_locked)
		return sc_error_set(err, SC_INTERNAL,
		    "the bundle lock is already held");
	rc = exec_retry(db, ST_BUNDLES_LOCK, NULL, PGRES_TUPLES_OK, &res,
	    err);
	if (rc == SC_OK)
		db->bundles_locked = true;
	PQclear(res);
	return rc;
}

void
db_bundles_unlock(struct db *db)
{
	struct sc_error err;
	PGresult *res = NULL;

	if (db == NULL || !db->bundles_locked)
		return;
	db->bundles_locked = false;
	/* A dead session released its locks when it died. */
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return;
	sc_error_clear(&err);
	if (exec_once(db, ST_BUNDLES_UNLOCK, NULL, PGRES_TUPLES_OK, &res,
	    &err) != SC_OK) {
		/* Ending the session releases it (see db_tx_abort). */
		log_warn("release the bundle lock: %s", err.msg);
		cut(db);
	} else if (PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		log_warn("release the bundle lock: it was not held");
	PQclear(res);
}

enum sc_err
db_host_name_exists(struct db *db, const char *name, bool *exists,
    struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[1];
	enum sc_err rc;

	*exists = false;
	values[0] = name;
	if ((rc = exec_retry(db, ST_HOST_NAME_TAKEN, values, PGRES_TUPLES_OK,
	    &res, err)) == SC_OK)
		*exists = PQntuples(res) == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

bool
db_unresponsive(void)
{
	return atomic_load(&unresponsive);
}

void
db_set_timeout(int seconds)
{
	atomic_store(&wait_seconds, seconds > 0 ? seconds : 1);
}

enum sc_err
db_ping(struct db *db, struct sc_error *err)
{
	PGresult *res = NULL;
	enum sc_err rc;

	db->probing = true;
	rc = exec_retry(db, ST_PING, NULL, PGRES_TUPLES_OK, &res, err);
	db->probing = false;
	if (rc == SC_OK)
		atomic_store(&unresponsive, false);
	PQclear(res);
	return rc;
}

void
db_set_stale_after(int seconds)
{
	snprintf(stale_after, sizeof(stale_after), "%d", seconds);
}

const char *
db_stale_after(void)
{
	return stale_after;
}

enum sc_err
db_renew_begin(struct db *db, const char *uuid, const char *fingerprint,
    struct db_renew_host *out, struct sc_error *err)
{
	PGresult *res = NULL;
	const char *values[2] = { uuid, fingerprint };
	enum sc_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_tx_begin(db, err)) != SC_OK)
		return rc;
	if ((rc = exec_once(db, ST_RENEW_LOCK, values, PGRES_TUPLES_OK, &res,
	    err)) != SC_OK)
		goto out;
	if (PQntuples(res) == 0)
		goto out;		/* decommissioned meanwhile */
	if ((rc = db_copy_fixed(res, 0, 0, out->name, sizeof(out->name),
	    err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 1, out->address, sizeof(out->address),
	    err)) != SC_OK ||
	    (rc = db_copy_text(res, 0, 2, false, &out->sans_json, err)) !=
	    SC_OK ||
	    (rc = db_copy_fixed(res, 0, 4, out->since, sizeof(out->since),
	    err)) != SC_OK)
		goto out;
	out->found = true;
	out->current = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
out:
	PQclear(res);
	/* Only a current host stays locked: the caller renews it. */
	if (rc != SC_OK || !out->current)
		db_tx_abort(db);
	return rc;
}

void
db_renew_host_clear(struct db_renew_host *h)
{
	free(h->sans_json);
	memset(h, 0, sizeof(*h));
}

enum sc_err
db_renew_commit(struct db *db, const char *old_fingerprint,
    const struct db_cert *cert, const struct db_audit *audit,
    int *doubt_pid, struct sc_error *err)
{
	enum sc_err rc;

	rc = renew_commit(db, cert->host_uuid, cert, audit,
	    old_fingerprint, doubt_pid, err);
	/* The host's row changed (or may have): forget what was kept. */
	atomic_fetch_add(&host_writes, 1);
	return rc;
}
