#include "config.h"

/*
 * Workers speaking for themselves: which host a worker certificate
 * belongs to (the pinning rule: the host's recorded fingerprint is the
 * certificate's), and heartbeats.  Statements as in db.c: named,
 * prepared, parameters only.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "db/db.h"
#include "db/internal.h"

#define WORKER_COLUMNS \
    "c.fingerprint, c.kind, c.revoked_at IS NOT NULL, " \
    "coalesce(c.reason, ''), coalesce(c.successor, ''), " \
    "coalesce(c.host_uuid::text, ''), h.uuid IS NOT NULL, " \
    "coalesce(h.client_cert_fingerprint = c.fingerprint, false), " \
    "coalesce(h.client_cert_fingerprint = c.successor, false), " \
    "coalesce(h.name, '') " \
    "FROM certificates c LEFT JOIN swarm_hosts h ON h.uuid = c.host_uuid "

static const struct db_statement st_by_serial = { "sc_worker_by_serial",
    "SELECT " WORKER_COLUMNS "WHERE c.serial = $1 AND c.ca = 'worker'",
    1, false };

static const struct db_statement st_by_fingerprint = {
    "sc_worker_by_fingerprint",
    "SELECT " WORKER_COLUMNS "WHERE c.fingerprint = $1 AND c.ca = 'worker'",
    1, false };

/*
 * One round trip, whatever the fleet's size.  The pinning rule is part
 * of the UPDATE, so a heartbeat can never land on a host whose
 * certificate changed since it was looked up.  set_config(..., true)
 * holds for this statement's own transaction only: its commit does not
 * wait for the WAL flush when $5 is 'off', and the host trigger
 * (sql/007) sends no notice for it.
 */
static const struct db_statement st_heartbeat = { "sc_heartbeat",
    "WITH s AS (SELECT set_config('synchronous_commit', $5, true), "
    "set_config('swarmctl.heartbeat', 'on', true)) "
    "UPDATE swarm_hosts SET last_heartbeat = now(), "
    "agent_version = coalesce($3, agent_version), "
    "agent_status = coalesce($4, agent_status) FROM s "
    "WHERE uuid = $1::uuid AND client_cert_fingerprint = $2 "
    "RETURNING " DB_UTC_TIME("last_heartbeat") ", "
    "coalesce(" DB_UTC_TIME("cert_not_after") ", '')", 5, false };

enum sc_err
db_worker_lookup(struct db *db, const char *serial, const char *fingerprint,
    struct db_worker_ref *ref, struct sc_error *err)
{
	char key[DB_SERIAL_KEY_LEN + 1];
	const char *values[1];
	PGresult *res = NULL;
	enum sc_err rc = SC_OK;

	memset(ref, 0, sizeof(*ref));
	if (serial != NULL) {
		if (!db_serial_key(serial, key))
			return SC_OK;	/* not one of ours */
		values[0] = key;
	} else
		values[0] = fingerprint;
	/* The first statement of a request: PostgreSQL may have restarted. */
	if ((rc = db_exec_retry(db, serial != NULL ? &st_by_serial :
	    &st_by_fingerprint, values, PGRES_TUPLES_OK, &res, err)) !=
	    SC_OK || PQntuples(res) == 0)
		goto out;
	if ((rc = db_copy_fixed(res, 0, 0, ref->fingerprint,
	    sizeof(ref->fingerprint), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 1, ref->kind, sizeof(ref->kind),
	    err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 3, ref->reason, sizeof(ref->reason),
	    err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 4, ref->successor,
	    sizeof(ref->successor), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 5, ref->host_uuid,
	    sizeof(ref->host_uuid), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 9, ref->host_name,
	    sizeof(ref->host_name), err)) != SC_OK)
		goto out;
	ref->revoked = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	ref->host_exists = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	ref->current = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	ref->successor_current = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
	ref->found = true;
out:
	PQclear(res);
	return rc;
}

enum sc_err
db_heartbeat(struct db *db, const char *uuid, const char *fingerprint,
    bool durable, struct db_heartbeat *hb, struct sc_error *err)
{
	const char *values[5] = { uuid, fingerprint, hb->agent_version,
	    hb->agent_status, durable ? "on" : "off" };
	PGresult *res = NULL;
	enum sc_err rc;

	hb->found = false;
	hb->last_heartbeat[0] = hb->cert_not_after[0] = '\0';
	/* Safe to send twice: it sets the same columns to now() again. */
	if ((rc = db_exec_retry(db, &st_heartbeat, values, PGRES_TUPLES_OK,
	    &res, err)) != SC_OK || PQntuples(res) == 0)
		goto out;
	if ((rc = db_copy_fixed(res, 0, 0, hb->last_heartbeat,
	    sizeof(hb->last_heartbeat), err)) != SC_OK ||
	    (rc = db_copy_fixed(res, 0, 1, hb->cert_not_after,
	    sizeof(hb->cert_not_after), err)) != SC_OK)
		goto out;
	hb->found = true;
out:
	PQclear(res);
	return rc;
}
