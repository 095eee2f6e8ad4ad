/*
 * Private to src/db/: values of PostgreSQL's binary result format
 * (resultFormat 1), for the statements whose rows are read often enough
 * that the server's text output functions -- uuid_out, to_char() for the
 * timestamps -- cost more than the query itself.  Each reader checks the
 * column's type OID and length, so a schema that drifted from what the
 * statement expects is an error, never a misread value.
 */
#ifndef SC_DB_WIRE_H
#define SC_DB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "err.h"

/* Type OIDs (PostgreSQL's pg_type.dat; fixed since the types exist). */
#define WIRE_INT4OID		23
#define WIRE_TEXTOID		25
#define WIRE_TIMESTAMPTZOID	1184
#define WIRE_UUIDOID		2950

/* The column types of `res`, in order; an error names the first misfit. */
enum sc_err	 wire_check_types(const PGresult *res, const unsigned *oids,
		    int n, const char *what, struct sc_error *);

/* Canonical lower-case text of a uuid column (36 characters + NUL). */
enum sc_err	 wire_uuid(const PGresult *, int row, int col, char *out,
		    size_t size, struct sc_error *);
enum sc_err	 wire_int4(const PGresult *, int row, int col, int32_t *out,
		    struct sc_error *);
/*
 * A text column, borrowed from `res` (valid until PQclear).  *out is NULL
 * for SQL NULL when nullable.
 */
enum sc_err	 wire_text(const PGresult *, int row, int col, bool nullable,
		    char **out, struct sc_error *);
/*
 * A timestamptz column in the contract's form, exactly as
 * to_char(col AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') would
 * give it.  SQL NULL and +-infinity (to_char gives NULL for those) leave
 * out[0] = '\0' when nullable and are an error otherwise.
 */
enum sc_err	 wire_timestamptz(const PGresult *, int row, int col,
		    bool nullable, char *out, size_t size, struct sc_error *);

/*
 * Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's epoch and
 * binary timestamptz) as above; -1 if it does not fit in `size`.  Years
 * before 1 AD come out as to_char's "YYYY" shows them: the BC year
 * number, without an era.
 */
int		 wire_format_timestamp(int64_t usecs, char *out, size_t size);

#endif
