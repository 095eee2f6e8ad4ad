/*
 * Private to src/db/: the prepared-statement machinery of db.c, shared
 * with the files that keep their own statements (certs.c, audit.c), and
 * the pieces of those that run inside db.c's transactions.  Nothing
 * outside src/db/ includes this; the rest of the program sees db.h only.
 */
#ifndef SC_DB_INTERNAL_H
#define SC_DB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "err.h"
#include "db/db.h"
#include "db/migrations.h"

/*
 * A named prepared statement: prepared on a connection the first time it
 * is used there (db.c remembers which), run with PQexecPrepared.
 */
struct db_statement {
	const char	*name;		/* "sc_...", unique */
	const char	*sql;
	int		 nparams;
	bool		 binary;	/* rows in binary format (wire.h) */
};

/* RFC 3339 in UTC with microseconds and "Z" (CONTRACT.md "Shapes"). */
#define DB_UTC_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Run `st` once (preparing it first if needed); *resp has status want. */
enum sc_err	 db_exec(struct db *, const struct db_statement *,
		    const char *const *values, ExecStatusType want,
		    PGresult **resp, struct sc_error *);
/*
 * db_exec, sent again on a fresh connection when the old one turns out
 * to be dead.  Only outside transactions, only for statements that are
 * safe to send twice.
 */
enum sc_err	 db_exec_retry(struct db *, const struct db_statement *,
		    const char *const *values, ExecStatusType want,
		    PGresult **resp, struct sc_error *);

/*
 * Run a query and hand its rows one at a time (single-row mode) to
 * `row`; a non-SC_OK return stops the delivery (the rest is drained).
 * Retried on a fresh connection only if no row was delivered yet.
 */
enum sc_err	 db_stream(struct db *, const struct db_statement *,
		    const char *const *values,
		    enum sc_err (*row)(const PGresult *, void *), void *arg,
		    struct sc_error *);

enum sc_err	 db_tx_begin(struct db *, struct sc_error *);
/* COMMIT, checking that it really committed. */
enum sc_err	 db_tx_commit(struct db *, struct sc_error *);
/* Roll back the open transaction, if any (= db_rollback). */
void		 db_tx_abort(struct db *);
bool		 db_in_tx(const struct db *);

/* A column as a malloc'd string (NULL for SQL NULL, if nullable). */
enum sc_err	 db_copy_text(const PGresult *, int row, int col,
		    bool nullable, char **out, struct sc_error *);
/* A column into a fixed buffer (NULL or too long: an error). */
enum sc_err	 db_copy_fixed(const PGresult *, int row, int col, char *dst,
		    size_t size, struct sc_error *);

/*
 * Inside a transaction the caller opened (certs.c, audit.c): record a
 * certificate; revoke a host's certificates (cessationOfOperation);
 * append an audit entry.
 */
enum sc_err	 db_cert_insert(struct db *, const struct db_cert *,
		    struct sc_error *);
enum sc_err	 db_certs_revoke_host(struct db *, const char *uuid,
		    struct sc_error *);
enum sc_err	 db_audit_insert(struct db *, const struct db_audit *,
		    struct sc_error *);

/*
 * The parameters of those INSERTs ($1..$7, in their column order), for
 * a statement that does more in the same round trip (db.c's enrollment
 * record): what db_cert_insert and db_audit_insert send.
 */
#define DB_CERT_NPARAMS		7
#define DB_AUDIT_NPARAMS	7
#define DB_AUDIT_FIELD_MAX	1024	/* bytes kept of a string, NUL included */

struct db_cert_params {
	const char	*values[DB_CERT_NPARAMS];
	char		 not_after[32];
};

struct db_audit_params {
	const char	*values[DB_AUDIT_NPARAMS];
	char		 buf[DB_AUDIT_NPARAMS][DB_AUDIT_FIELD_MAX];
};

enum sc_err	 db_cert_params(const struct db_cert *, struct db_cert_params *,
		    struct sc_error *);
enum sc_err	 db_audit_params(const struct db_audit *,
		    struct db_audit_params *, struct sc_error *);

/*
 * A serial as the certificates table keeps it (certs.c): lower case, in
 * full.  False if it cannot be one of ours.
 */
#define DB_SERIAL_KEY_LEN	32	/* 2 * PKI_SERIAL_LEN */
bool		 db_serial_key(const char *serial,
		    char out[DB_SERIAL_KEY_LEN + 1]);

#endif
