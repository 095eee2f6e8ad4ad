/*
 * Storage: PostgreSQL through libpq.  Every statement is a named prepared
 * statement with parameters; no SQL text is built from request data.
 * One struct db per worker thread (a PGconn is not shared between threads).
 */
#ifndef SC_DB_H
#define SC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "sc_limits.h"

#define DB_UUID_LEN	36
#define DB_TIME_LEN	32	/* "2026-04-18T23:18:33.123456Z" */
#define DB_FINGERPRINT_LEN SC_SHA256_HEX_LEN	/* lowercase hex SHA-256 */

struct db;

/*
 * Connect with `conninfo` (a libpq connection string; NULL or "" means the
 * libpq environment: PGHOST, PGDATABASE, ...).  The connection is made
 * lazily and re-made after failures: if PostgreSQL is down, db_open still
 * succeeds and later calls return SC_DB_UNAVAILABLE until it is back.
 */
enum sc_err	 db_open(const char *conninfo, struct db **, struct sc_error *);
void		 db_close(struct db *);

/*
 * Every wait on PostgreSQL ends after `seconds` (default
 * DB_TIMEOUT_DEFAULT): connecting, each statement's answer, each row of
 * a stream.  On expiry the connection is cut (the server rolls back
 * what it had open when it sees that) and the call returns
 * SC_DB_UNAVAILABLE.  From then on every call fails at once, without
 * waiting, until PostgreSQL answers again (db_ping, or a statement
 * already in flight): a frozen server costs a request nothing, not the
 * deadline.  Process-wide; set it before starting threads.
 */
#define DB_TIMEOUT_DEFAULT	5
void		 db_set_timeout(int seconds);
/* Whether a wait has run out and PostgreSQL has not answered since. */
bool		 db_unresponsive(void);
/*
 * One round trip (SELECT 1), waited for even while calls fail at once;
 * an answer ends that state.  SC_DB_UNAVAILABLE if none came in time.
 */
enum sc_err	 db_ping(struct db *, struct sc_error *);

/* SC_OK if every embedded migration is applied, SC_SCHEMA_BEHIND if not. */
enum sc_err	 db_schema_check(struct db *, struct sc_error *);

/*
 * Apply pending embedded migrations in order, each in its own
 * transaction, recorded in schema_migrations, under an advisory lock so
 * concurrent runs are safe.  `on_applied` (may be NULL) is told the name
 * of each migration once it is committed; `applied` (may be NULL) counts
 * them.  Then, if `service_role` is not NULL, grant that role what
 * `swarmctl serve` needs and nothing more (roles.c), revoking the rest.
 */
enum sc_err	 db_migrate(struct db *, void (*on_applied)(const char *),
		    int *applied, const char *service_role, struct sc_error *);

/*
 * SC_INVALID, saying why, if this session's role could undo the
 * service role's narrow privileges: a superuser, an owner of the
 * database, the schema or its tables, a role that may create roles or
 * objects.  `swarmctl serve` refuses to start as one.
 */
enum sc_err	 db_role_check(struct db *, struct sc_error *);

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
	/* notAfter of the current certificate; "" if unknown. */
	char	 cert_not_after[DB_TIME_LEN + 1];
	char	*agent_version;		/* from the last heartbeat, or NULL */
	/* Enrollment only (read, never filled): a JSON array, or NULL. */
	const char *sans_json;
};
void		 db_host_clear(struct db_host *);

/*
 * An audit_log entry (append-only).  Strings may be NULL where noted.
 * actor is the operator certificate's CN, or "loopback" / "cli".
 */
struct db_audit {
	const char	*actor;
	const char	*actor_fingerprint;	/* NULL for loopback / cli */
	const char	*action;	/* enroll, decommission, operator-issue,
					   operator-revoke, ... */
	const char	*target;	/* host name, uuid, operator name */
	const char	*outcome;	/* success, conflict, invalid, refused,
					   not-found, error */
	const char	*client_addr;	/* NULL for the CLI */
	const char	*detail;	/* free text or NULL */
};

/* A certificate the CA issued, for the certificates table. */
struct db_cert {
	const char	*serial_hex;
	const char	*fingerprint;
	const char	*subject;
	const char	*kind;		/* worker, operator, server */
	const char	*ca;		/* the issuer: worker or front */
	const char	*host_uuid;	/* NULL unless kind is worker */
	time_t		 not_after;
};

/*
 * Work done while the database answers: run at most once, after the
 * statements have gone out and before their results are read (not at
 * all if they could not be sent); `ran` says whether it was.
 */
struct db_meanwhile {
	void	(*fn)(void *arg);
	void	 *arg;
	bool	  ran;
};

/*
 * Enrollment, step 1, in one round trip: BEGIN; take the shared bundle
 * lock (see db_bundles_lock) and the name's lock (see
 * db_bundle_settle_begin), both held to the end of the transaction;
 * reserve the host's DNS names `keys` (policy_name_keys: lower case,
 * sorted, the host's name among them; rows go with the host, ON DELETE
 * CASCADE) for a new random uuid.  An enrolled host of this name, or a
 * DNS name that another host holds (or that a concurrent enrollment
 * holds and then commits), rolls back and returns SC_CONFLICT (*taken:
 * the DNS name, NULL for the host name).  On SC_OK the transaction
 * stays open and h->uuid and h->enrolled_at (when the transaction
 * began) are filled in; the host row itself is inserted by step 2.
 * `mw` (may be NULL) runs while the round trip is out: the
 * certificate signed and the bundle staged in the time the database
 * takes, the name's lock not yet known to be ours.
 */
enum sc_err	 db_enroll_begin(struct db *, struct db_host *h,
		    const char *const *keys, size_t nkeys, const char **taken,
		    struct db_meanwhile *mw, struct sc_error *);
/*
 * Step 2, in one round trip: insert the host row (h: uuid, name,
 * address, agent_port, cert_bundle_path, notes, sans_json; status
 * 'enrolled', the certificate's fingerprint and notAfter), record the
 * certificate (cert->host_uuid is the new host) and the audit entry,
 * COMMIT.  On failure: rolled back,
 * unless the connection died during COMMIT; then the row is looked for on
 * a fresh connection (found: SC_OK), and *doubt_pid is set to the backend
 * that ran the transaction when whether it committed cannot be known yet
 * (0 otherwise: the row certainly does not exist).
 */
enum sc_err	 db_enroll_commit(struct db *, const struct db_host *h,
		    const struct db_cert *cert, const struct db_audit *audit,
		    int *doubt_pid, struct sc_error *);
/* Abandon an open transaction (safe when none is open). */
void		 db_rollback(struct db *);

/* SC_NOT_FOUND if no host has this uuid (uuid must be canonical text). */
enum sc_err	 db_host_get(struct db *, const char *uuid, struct db_host *,
		    struct sc_error *);

/* Which hosts a list shows: NULL/0 fields mean "no restriction". */
struct db_host_filter {
	const char	*status;	/* only hosts with this status */
	const char	*after;		/* with limit: names after this one */
	int		 limit;		/* a page of at most this many */
	/* Only hosts whose certificate ends within this many days (0: all). */
	int		 expiring_days;
};

/*
 * Hosts ordered by name, as `f` says; rows are handed to `each` one at a
 * time (so callers can stream).  `each` returning non-zero stops the
 * walk with SC_INTERNAL.
 */
enum sc_err	 db_hosts_list(struct db *, const struct db_host_filter *f,
		    int (*each)(const struct db_host *, void *), void *arg,
		    struct sc_error *);

/*
 * A bundle directory whose fate hangs on a row: CA_DIR/workers/<name> is
 * the host's if the row (name, fingerprint) exists.  If it does not, and
 * no session that might still commit it is left (old_pid, whose
 * transaction began at old_since on the server's clock), the directory
 * is an orphan -- if it still holds that certificate.
 */
#define DB_HOST_NAME_MAX SC_NAME_MAX
struct db_bundle_claim {
	char	 name[DB_HOST_NAME_MAX + 1];
	char	 fingerprint[DB_FINGERPRINT_LEN + 1];
	int	 old_pid;			/* 0: none in doubt */
	char	 old_since[DB_TIME_LEN + 1];	/* "": unknown */
};
enum db_bundle_fate {
	DB_BUNDLE_KEEP,		/* the row exists */
	DB_BUNDLE_DROP,		/* it does not, and never will */
	DB_BUNDLE_UNDECIDED	/* old_pid is still running */
};
/*
 * Settle a claim: BEGIN, take the name's transaction-level advisory lock
 * (enrollments hold it from before their INSERT to their COMMIT, so no
 * enrollment of that name is writing its bundle meanwhile; after 5 s of
 * waiting for it, SC_INTERNAL: try again later), then look for old_pid
 * and, in a later snapshot, for the row.  On SC_OK the
 * transaction stays open, holding the lock, while the caller acts on
 * *fate; db_rollback() ends it.
 */
enum sc_err	 db_bundle_settle_begin(struct db *,
		    const struct db_bundle_claim *, enum db_bundle_fate *,
		    struct sc_error *);

/*
 * Decommission: in one transaction delete the host's decky_shards rows
 * and the host, revoke its certificates (reason cessationOfOperation) and
 * append `audit`.  SC_NOT_FOUND if absent (nothing written).  *claim
 * receives the host's name and fingerprint so the caller can settle its
 * bundle afterwards (claim->name is "" if the row was not read).  When
 * the connection died during COMMIT the deletion may or may not have
 * happened: the call fails with claim->old_pid and old_since set.
 */
enum sc_err	 db_host_delete(struct db *, const char *uuid,
		    const struct db_audit *audit, struct db_bundle_claim *claim,
		    struct sc_error *);

/* Append one audit entry in its own transaction (refusals, failures). */
enum sc_err	 db_audit_append(struct db *, const struct db_audit *,
		    struct sc_error *);

/* A row of audit_log as GET /swarm/audit shows it (owned strings). */
struct db_audit_row {
	long long	 id;
	char		 at[DB_TIME_LEN + 1];
	char		*actor, *actor_fingerprint, *action, *target, *outcome,
			*client_addr, *detail;
};
/* Newest first, at most `limit` rows, streamed to `each`. */
enum sc_err	 db_audit_list(struct db *, int limit,
		    int (*each)(const struct db_audit_row *, void *), void *,
		    struct sc_error *);

/* Record a certificate outside enrollment (operator, server) + audit. */
enum sc_err	 db_cert_record(struct db *, const struct db_cert *,
		    const struct db_audit *, struct sc_error *);

/*
 * A number that changes whenever a certificate's state may have changed
 * since it was last read (a revocation anywhere, a reconnection, a dead
 * session).  Cheap: reads pending notifications without a round trip.
 * Lets callers remember authorisation decisions safely.
 */
uint64_t	 db_cert_epoch(struct db *);
/*
 * The same for host rows: changes whenever a host may have been updated
 * or deleted since it was last read -- by a decommission in this process
 * (at once), by anyone else (on PostgreSQL's notification), on a
 * reconnection or a dead session.  Lets callers keep host rows safely.
 */
uint64_t	 db_host_epoch(struct db *);

/*
 * The state of a certificate by fingerprint, for authorisation:
 * *known false if the CA never recorded it; *revoked true if revoked.
 */
enum sc_err	 db_cert_status(struct db *, const char *fingerprint,
		    bool *known, bool *revoked, struct sc_error *);

/* A certificates row (owned strings), for `swarmctl operator list`. */
struct db_cert_row {
	char	*serial_hex, *fingerprint, *subject, *kind, *host_uuid;
	char	 not_after[DB_TIME_LEN + 1];
	char	*revoked_at, *reason;	/* NULL unless revoked */
};
enum sc_err	 db_certs_list(struct db *, const char *kind,
		    int (*each)(const struct db_cert_row *, void *), void *,
		    struct sc_error *);

/*
 * Revoke the unrevoked operator certificate(s) whose fingerprint is
 * `key` or whose subject CN is `key`; *count says how many; appends
 * `audit` in the same transaction (with audit->detail NULL, the detail
 * recorded is "revoked <fingerprint>[, ...]").  SC_NOT_FOUND if none
 * matched (nothing written).
 */
enum sc_err	 db_operator_revoke(struct db *, const char *key,
		    const struct db_audit *, int *count, struct sc_error *);

/*
 * The CA recorded for a role ("worker", "front") by `swarmctl init`:
 * found is false when there is none.  _record inserts one unless the role
 * has one already, and reads back whichever is recorded.
 */
struct db_ca_identity {
	bool	 found;
	char	 fingerprint[DB_FINGERPRINT_LEN + 1];
	char	 subject[256];
};
enum sc_err	 db_ca_identity_get(struct db *, const char *role,
		    struct db_ca_identity *, struct sc_error *);
enum sc_err	 db_ca_identity_record(struct db *, const char *role,
		    const char *fingerprint, const char *subject,
		    struct db_ca_identity *, struct sc_error *);

/*
 * The certificate `ca` ("worker", "front") issued with this serial (hex,
 * any case, leading zeros or not), as the table records it; found is
 * false if there is none.
 */
struct db_cert_ref {
	bool	 found;
	char	 fingerprint[DB_FINGERPRINT_LEN + 1];
	char	 subject[256];		/* RFC 4514, CN first */
	char	 kind[16];		/* worker, operator, server */
	bool	 revoked;
};
enum sc_err	 db_cert_by_serial(struct db *, const char *ca,
		    const char *serial, struct db_cert_ref *,
		    struct sc_error *);

/*
 * The CRL of CA `ca` ("worker", "front") lists the CA's revoked
 * certificates except those expired more than grace_secs ago; rows come
 * in order of revocation, then serial.  The counts say how many of the
 * CA's certificates were ever revoked (`revocations`: revocations are
 * never undone, so the count changes whenever the list may have), how
 * many of them the CRL lists, and `cutoff`: the listed ones expire after
 * it.
 *
 * db_crl_whole reads the counts, then every listed row (so the rows hold
 * at least what was counted).  db_crl_changes reads, in one snapshot,
 * the listed rows revoked at or after `since` and the counts of that
 * same set: a publisher that kept the rows revoked before `since` can
 * tell from the count whether that, with these, is the whole list.
 * Both: *revoked malloc'd, n of them.
 *
 * db_crl_begin takes a transaction-level advisory lock, so that
 * concurrent CRL writers serialise, and the next CRL number (a
 * sequence, so CRL numbers only ever increase: RFC 5280 5.2.3); read the
 * list after it, in its transaction, and call db_crl_done() once the CRL
 * file is written.
 */
struct pki_revoked;
struct db_crl_counts {
	uint64_t	 revocations;
	uint64_t	 listed;
	time_t		 cutoff;
};
enum sc_err	 db_crl_begin(struct db *, uint64_t *number,
		    struct sc_error *);
void		 db_crl_done(struct db *);
enum sc_err	 db_crl_whole(struct db *, const char *ca, long grace_secs,
		    struct pki_revoked **, size_t *n, struct db_crl_counts *,
		    struct sc_error *);
enum sc_err	 db_crl_changes(struct db *, const char *ca, long grace_secs,
		    time_t since, struct pki_revoked **, size_t *n,
		    struct db_crl_counts *, struct sc_error *);
/* The count alone: one cheap query. */
enum sc_err	 db_crl_revocations(struct db *, const char *ca,
		    uint64_t *revocations, struct sc_error *);
/*
 * Sleep until a notification may have come on this connection's LISTEN
 * channels (db_cert_epoch then tells), wake_fd (if >= 0) is readable, or
 * timeout_ms has passed.  Connects first if need be; without a
 * connection it sleeps for the timeout (or until wake_fd).
 */
void		 db_cert_wait(struct db *, int wake_fd, int timeout_ms);

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

/*
 * Bootstrap tokens (src/db/tokens.c).  Only the SHA-256 of a token is
 * stored (token_hash, lowercase hex); the secret never reaches here.
 */
#define DB_TOKEN_HASH_LEN	SC_SHA256_HEX_LEN
struct db_token_new {
	const char	*token_hash;
	const char	*name, *address;
	int		 agent_port;
	const char	*sans_json;	/* a JSON array of strings */
	const char	*notes;		/* or NULL */
	const char	*created_by;
	int		 ttl_seconds;
};
/*
 * Insert a token and append `audit` (its detail, when NULL, becomes
 * "token <id>") in one transaction; id and expires_at are filled in.
 */
enum sc_err	 db_token_create(struct db *, const struct db_token_new *,
		    const struct db_audit *, char id[DB_UUID_LEN + 1],
		    char expires_at[DB_TIME_LEN + 1], struct sc_error *);

/* A bootstrap_tokens row (owned strings), without its hash. */
struct db_token {
	char	 id[DB_UUID_LEN + 1];
	char	*name, *address, *sans_json, *notes, *created_by;
	int	 agent_port;
	char	 created_at[DB_TIME_LEN + 1], expires_at[DB_TIME_LEN + 1];
	char	*used_at, *used_by_host, *revoked_at;	/* or NULL */
	char	 state[16];	/* active, used, expired, revoked */
};
void		 db_token_clear(struct db_token *);
/* Every token, newest first; `each` returning non-zero stops: SC_INTERNAL. */
enum sc_err	 db_tokens_list(struct db *,
		    int (*each)(const struct db_token *, void *), void *,
		    struct sc_error *);
/* The token with this hash, in whatever state: *found false if none. */
enum sc_err	 db_token_lookup(struct db *, const char *token_hash,
		    struct db_token *, bool *found, struct sc_error *);
/*
 * Revoke token `id` (canonical uuid) and append `audit`, in one
 * transaction.  Revoking an already revoked or used token changes
 * nothing but is not an error; SC_NOT_FOUND if there is no such token.
 */
enum sc_err	 db_token_revoke(struct db *, const char *id,
		    const struct db_audit *, struct sc_error *);
/*
 * Inside the enrollment transaction (after db_enroll_begin): mark the
 * token used by host_uuid, if it is still active, and append `audit`.
 * The row lock makes concurrent claims of one token wait for each
 * other: after the first commits, the others find it used.  A token
 * that is not active rolls the transaction back and returns
 * SC_FORBIDDEN; so does every other failure, rolled back too, with its
 * own code.  *id is the token's id on SC_OK.
 */
enum sc_err	 db_token_claim(struct db *, const char *token_hash,
		    const char *host_uuid, const struct db_audit *,
		    char id[DB_UUID_LEN + 1], struct sc_error *);

/*
 * Worker hosts (GET /swarm/hosts shows "active" after a heartbeat, then
 * "unreachable" once it is older than this): `serve --stale-after`.
 * Process-wide; set it before starting threads.
 */
#define DB_STALE_AFTER_DEFAULT	90
void		 db_set_stale_after(int seconds);
const char	*db_stale_after(void);		/* as text, for statements */

/*
 * Renewal, step 1: BEGIN; lock the host's row and then its name's lock
 * (db_bundle_settle_begin); read what its certificate names.  *out->found
 * is false if the host is gone; out->current false if `fingerprint` is no
 * longer its certificate (a concurrent renewal won).  Unless current, the
 * transaction is rolled back before returning.
 */
struct db_renew_host {
	bool	 found, current;
	char	 name[DB_HOST_NAME_MAX + 1];
	char	 address[256];
	char	*sans_json;		/* owned */
	char	 since[DB_TIME_LEN + 1];	/* when the transaction began */
};
enum sc_err	 db_renew_begin(struct db *, const char *uuid,
		    const char *fingerprint, struct db_renew_host *,
		    struct sc_error *);
void		 db_renew_host_clear(struct db_renew_host *);
/*
 * Step 2: record `cert` (cert->host_uuid is the host), revoke the old
 * certificate (reason superseded, successor cert->fingerprint), point
 * the host at the new one, append `audit`, COMMIT.  On failure as
 * db_enroll_commit (*doubt_pid when the COMMIT's outcome is unknown).
 */
enum sc_err	 db_renew_commit(struct db *, const char *old_fingerprint,
		    const struct db_cert *cert, const struct db_audit *audit,
		    int *doubt_pid, struct sc_error *);

/*
 * Which host a verified worker certificate belongs to
 * (src/db/workers.c): the worker CA's certificate with this serial (hex,
 * as a front end prints it) or, when serial is NULL, this fingerprint.
 */
struct db_worker_ref {
	bool	 found;			/* the worker CA issued it */
	char	 fingerprint[DB_FINGERPRINT_LEN + 1];
	char	 kind[16];		/* worker, server */
	bool	 revoked;
	char	 reason[32];		/* "" unless revoked */
	char	 successor[DB_FINGERPRINT_LEN + 1];	/* "" if none */
	char	 host_uuid[DB_UUID_LEN + 1];	/* "" if none */
	bool	 host_exists;
	/* The host's certificate is this one (the pinning rule). */
	bool	 current;
	/* The host's current certificate is `successor`. */
	bool	 successor_current;
	char	 host_name[DB_HOST_NAME_MAX + 1];
};
enum sc_err	 db_worker_lookup(struct db *, const char *serial,
		    const char *fingerprint, struct db_worker_ref *,
		    struct sc_error *);

/*
 * A heartbeat: last_heartbeat = now(), agent_version and agent_status if
 * given (NULL: unchanged), for the host whose current certificate is
 * `fingerprint`.  *found false if it is not (nothing written).  With
 * `durable` false the commit does not wait for the WAL flush
 * (synchronous_commit off for this transaction only): a crash of
 * PostgreSQL may lose the last fraction of a second of heartbeats, never
 * anything else.  last_heartbeat and cert_not_after are RFC 3339.
 */
struct db_heartbeat {
	const char	*agent_version, *agent_status;	/* or NULL */
	bool		 found;
	char		 last_heartbeat[DB_TIME_LEN + 1];
	char		 cert_not_after[DB_TIME_LEN + 1];	/* or "" */
};
enum sc_err	 db_heartbeat(struct db *, const char *uuid,
		    const char *fingerprint, bool durable,
		    struct db_heartbeat *, struct sc_error *);

#endif
