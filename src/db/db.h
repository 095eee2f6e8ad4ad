/*
 * Storage: PostgreSQL through libpq.  Every statement is a named prepared
 * statement with parameters; no SQL text is built from request data.
 * One struct db per worker thread (a PGconn is not shared between threads).
 */
#ifndef SC_DB_H
#define SC_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define DB_UUID_LEN	36
#define DB_TIME_LEN	32	/* "2026-04-18T23:18:33.123456Z" */

struct db;

/*
 * Connect with `conninfo` (a libpq connection string; NULL or "" means the
 * libpq environment: PGHOST, PGDATABASE, ...).  The connection is made
 * lazily and re-made after failures: if PostgreSQL is down, db_open still
 * succeeds and later calls return SC_DB_UNAVAILABLE until it is back.
 */
enum sc_err	 db_open(const char *conninfo, struct db **, struct sc_error *);
void		 db_close(struct db *);

/* SC_OK if every embedded migration is applied, SC_SCHEMA_BEHIND if not. */
enum sc_err	 db_schema_check(struct db *, struct sc_error *);

/*
 * Apply pending embedded migrations in order, each in its own
 * transaction, recorded in schema_migrations, under an advisory lock so
 * concurrent runs are safe.  `on_applied` (may be NULL) is told the name
 * of each migration once it is committed; `applied` (may be NULL) counts
 * them.
 */
enum sc_err	 db_migrate(struct db *, void (*on_applied)(const char *),
		    int *applied, struct sc_error *);

/* A swarm_hosts row as the API shows it.  Strings are owned (malloc). */
struct db_host {
	char	 uuid[DB_UUID_LEN + 1];
	char	*name;
	char	*address;
	int	 agent_port;
	char	*status;
	char	*last_heartbeat;	/* RFC 3339 UTC "...Z", or NULL */
	char	*client_cert_fingerprint;
	char	*cert_bundle_path;
	char	 enrolled_at[DB_TIME_LEN + 1];
	char	*notes;			/* or NULL */
};
void		 db_host_clear(struct db_host *);

/*
 * Enrollment, step 1: BEGIN; take the shared bundle lock (see
 * db_bundles_lock); INSERT the row (uuid from gen_random_uuid(), empty
 * fingerprint, status 'enrolled').  A unique violation on name rolls back
 * and returns SC_CONFLICT.  On SC_OK the transaction stays open and
 * h->uuid and h->enrolled_at are filled in.  Reads name, address,
 * agent_port, cert_bundle_path, notes from *h.
 */
enum sc_err	 db_enroll_begin(struct db *, struct db_host *h,
		    struct sc_error *);
/* Step 2: set the fingerprint and COMMIT.  On failure: rolled back. */
enum sc_err	 db_enroll_commit(struct db *, const char *uuid,
		    const char *fingerprint, struct sc_error *);
/* Abandon an open transaction (safe when none is open). */
void		 db_rollback(struct db *);

/* SC_NOT_FOUND if no host has this uuid (uuid must be canonical text). */
enum sc_err	 db_host_get(struct db *, const char *uuid, struct db_host *,
		    struct sc_error *);

/*
 * Hosts ordered by name, optionally only those with `status`; rows are
 * handed to `each` one at a time (so callers can stream).  `each`
 * returning non-zero stops the walk with SC_INTERNAL.
 */
enum sc_err	 db_hosts_list(struct db *, const char *status,
		    int (*each)(const struct db_host *, void *), void *arg,
		    struct sc_error *);

/*
 * Decommission: in one transaction delete the host's decky_shards rows
 * and the host.  SC_NOT_FOUND if absent.  *name_out (malloc'd) receives
 * the host's name so the caller can remove its bundle afterwards.
 */
enum sc_err	 db_host_delete(struct db *, const char *uuid, char **name_out,
		    struct sc_error *);

/*
 * Bundle sweep support.  Enrollment transactions hold a shared
 * transaction-level advisory lock; the start-up sweep holds it exclusively
 * (session level) while it removes orphan bundle directories, so it never
 * sees an enrollment's directory before that enrollment commits.
 */
enum sc_err	 db_bundles_lock(struct db *, struct sc_error *);
void		 db_bundles_unlock(struct db *);
enum sc_err	 db_host_name_exists(struct db *, const char *name, bool *,
		    struct sc_error *);

#endif
