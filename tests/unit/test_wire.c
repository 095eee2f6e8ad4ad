/*
 * PostgreSQL binary values (src/db/wire.c), on results built with libpq's
 * own PQmakeEmptyPGresult/PQsetvalue, so no server is needed.  The
 * timestamp cases were taken from PostgreSQL 15 itself:
 *   SELECT ((extract(epoch FROM v) - 946684800) * 1000000)::int8,
 *          to_char(v AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
 * so the formatter is held to to_char's output, which clients saw before.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db.h"
#include "db/wire.h"
#include "tap.h"

static const struct {
	int64_t		 usecs;
	const char	*text;
} stamps[] = {
	{ 0, "2000-01-01T00:00:00.000000Z" },
	{ -1, "1999-12-31T23:59:59.999999Z" },
	{ INT64_C(5097600000001), "2000-02-29T00:00:00.000001Z" },
	{ INT64_C(-946684800000000), "1970-01-01T00:00:00.000000Z" },
	{ INT64_C(-3150572276960000), "1900-03-01T01:02:03.040000Z" },
	{ INT64_C(3160857599000000), "2100-02-28T23:59:59.000000Z" },
	{ INT64_C(829869513123456), "2026-04-18T23:18:33.123456Z" },
	{ INT64_C(-63082281600000000), "0001-01-01T00:00:00.000000Z" },
	/* 1 BC and 44 BC: to_char's YYYY shows the BC year, no era. */
	{ INT64_C(-63082281600000001), "0001-12-31T23:59:59.999999Z" },
	{ INT64_C(-64464465600000000), "0044-03-15T12:00:00.000000Z" },
	{ INT64_C(-211781865600000000), "4713-11-24T00:00:00.000000Z" },
	{ INT64_C(326470291750500000), "12345-06-07T08:09:10.500000Z" },
	/* The last timestamp PostgreSQL accepts. */
	{ INT64_C(9223371331199999999), "294276-12-31T23:59:59.999999Z" },
};

static void
test_format(void)
{
	char buf[DB_TIME_LEN + 1], tiny[27];
	size_t i;

	for (i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		ok(wire_format_timestamp(stamps[i].usecs, buf, sizeof(buf)) ==
		    0, "%lld formats", (long long)stamps[i].usecs);
		is_str(buf, stamps[i].text, "%lld as to_char gives it",
		    (long long)stamps[i].usecs);
	}
	/* 27 characters need 28 bytes. */
	ok(wire_format_timestamp(0, tiny, sizeof(tiny)) == -1,
	    "a buffer one byte short is refused");
}

/* A one-row result with the given column types, all in binary. */
static PGresult *
result_of(const Oid *types, int n)
{
	PGresAttDesc att[8];
	PGresult *res;
	int i;

	memset(att, 0, sizeof(att));
	for (i = 0; i < n; i++) {
		att[i].name = (char *)"c";
		att[i].format = 1;
		att[i].typid = types[i];
		att[i].typlen = -1;
		att[i].atttypmod = -1;
	}
	res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (res != NULL && !PQsetResultAttrs(res, n, att)) {
		PQclear(res);
		res = NULL;
	}
	return res;
}

static void
be64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static void
test_values(void)
{
	static const Oid types[] = { WIRE_UUIDOID, WIRE_INT4OID,
	    WIRE_TIMESTAMPTZOID, WIRE_TEXTOID };
	static const unsigned want[] = { WIRE_UUIDOID, WIRE_INT4OID,
	    WIRE_TIMESTAMPTZOID, WIRE_TEXTOID };
	static const unsigned wrong[] = { WIRE_UUIDOID, WIRE_TEXTOID,
	    WIRE_TIMESTAMPTZOID, WIRE_TEXTOID };
	static const unsigned char uuid[16] = { 0x12, 0x3e, 0x45, 0x67,
	    0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40,
	    0x00 };
	unsigned char port[4] = { 0, 0, 0x22, 0x3d }, ts[8];
	struct sc_error err = { SC_OK, "" };
	char u[DB_UUID_LEN + 1], t[DB_TIME_LEN + 1], *s = NULL;
	int32_t p = 0;
	PGresult *res;

	if ((res = result_of(types, 4)) == NULL) {
		ok(0, "building a PGresult");
		return;
	}
	be64(ts, INT64_C(829869513123456));
	PQsetvalue(res, 0, 0, (char *)uuid, 16);
	PQsetvalue(res, 0, 1, (char *)port, 4);
	PQsetvalue(res, 0, 2, (char *)ts, 8);
	PQsetvalue(res, 0, 3, (char *)"swarm-01", 8);

	ok(wire_check_types(res, want, 4, "t", &err) == SC_OK,
	    "the expected column types pass");
	ok(wire_check_types(res, wrong, 4, "t", &err) == SC_INTERNAL &&
	    strstr(err.msg, "column 1") != NULL,
	    "a column of another type is an error naming it");
	sc_error_clear(&err);
	ok(wire_check_types(res, want, 3, "t", &err) == SC_INTERNAL,
	    "a different column count is an error");
	sc_error_clear(&err);

	ok(wire_uuid(res, 0, 0, u, sizeof(u), &err) == SC_OK, "uuid reads");
	is_str(u, "123e4567-e89b-12d3-a456-426614174000",
	    "uuid in canonical lower-case text");
	ok(wire_int4(res, 0, 1, &p, &err) == SC_OK && p == 8765,
	    "int4 in network order");
	ok(wire_timestamptz(res, 0, 2, false, t, sizeof(t), &err) == SC_OK,
	    "timestamptz reads");
	is_str(t, "2026-04-18T23:18:33.123456Z", "timestamptz as to_char");
	ok(wire_text(res, 0, 3, false, &s, &err) == SC_OK, "text reads");
	is_str(s, "swarm-01", "text borrowed as it is");

	/* Wrong lengths are errors, never a misread. */
	ok(wire_uuid(res, 0, 1, u, sizeof(u), &err) == SC_INTERNAL,
	    "a 4-byte value is no uuid");
	sc_error_clear(&err);
	ok(wire_int4(res, 0, 2, &p, &err) == SC_INTERNAL,
	    "an 8-byte value is no int4");
	sc_error_clear(&err);
	ok(wire_timestamptz(res, 0, 1, true, t, sizeof(t), &err) ==
	    SC_INTERNAL, "a 4-byte value is no timestamptz");
	sc_error_clear(&err);
	ok(wire_uuid(res, 0, 0, u, 36, &err) == SC_INTERNAL,
	    "a uuid buffer without room for the NUL is refused");
	sc_error_clear(&err);

	/* NULL, infinity, embedded NUL. */
	PQsetvalue(res, 0, 2, NULL, -1);
	PQsetvalue(res, 0, 3, NULL, -1);
	ok(wire_timestamptz(res, 0, 2, true, t, sizeof(t), &err) == SC_OK &&
	    t[0] == '\0', "NULL timestamptz, nullable: empty");
	ok(wire_timestamptz(res, 0, 2, false, t, sizeof(t), &err) ==
	    SC_INTERNAL, "NULL timestamptz, not nullable: an error");
	sc_error_clear(&err);
	ok(wire_text(res, 0, 3, true, &s, &err) == SC_OK && s == NULL,
	    "NULL text, nullable: NULL");
	ok(wire_text(res, 0, 3, false, &s, &err) == SC_INTERNAL,
	    "NULL text, not nullable: an error");
	sc_error_clear(&err);
	be64(ts, INT64_MAX);
	PQsetvalue(res, 0, 2, (char *)ts, 8);
	ok(wire_timestamptz(res, 0, 2, true, t, sizeof(t), &err) == SC_OK &&
	    t[0] == '\0', "infinity is no time (to_char gives NULL)");
	be64(ts, INT64_MIN);
	PQsetvalue(res, 0, 2, (char *)ts, 8);
	ok(wire_timestamptz(res, 0, 2, false, t, sizeof(t), &err) ==
	    SC_INTERNAL, "-infinity where a time is required: an error");
	sc_error_clear(&err);
	PQsetvalue(res, 0, 3, (char *)"ab\0cd", 5);
	ok(wire_text(res, 0, 3, false, &s, &err) == SC_INTERNAL,
	    "text with a NUL byte inside is refused");
	PQclear(res);
}

int
main(void)
{
	test_format();
	test_values();
	return done_testing();
}
