#include "config.h"

/*
 * PostgreSQL's binary output format, as its send functions write it:
 * uuid_send (16 bytes), int4send (4 bytes, network order),
 * timestamptz_send (int64 microseconds since 2000-01-01 UTC, network
 * order; DT_NOBEGIN/DT_NOEND for -/+infinity), textsend (the bytes).
 * libpq ends every value with a NUL byte, binary or not.
 */

#include <string.h>

#include "codec.h"
#include "db/wire.h"

#define USECS_PER_DAY		INT64_C(86400000000)
/* 2000-01-01 as days since 1970-01-01. */
#define PG_EPOCH_DAYS		10957

/* timestamptz's -infinity and infinity (datatype/timestamp.h). */
#define DT_NOBEGIN		INT64_MIN
#define DT_NOEND		INT64_MAX

/* 10^n for n < 20 (the largest uint64 has 20 digits). */
static uint64_t
pow10_of(int n)
{
	uint64_t v = 1;

	while (n-- > 0)
		v *= 10;
	return v;
}

static uint64_t
be_uint(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

enum sc_err
wire_check_types(const PGresult *res, const unsigned *oids, int n,
    const char *what, struct sc_error *err)
{
	int i;

	if (PQnfields(res) != n)
		return sc_error_set(err, SC_INTERNAL, "%s: %d columns, "
		    "expected %d", what, PQnfields(res), n);
	for (i = 0; i < n; i++)
		if (PQftype(res, i) != oids[i] || PQfformat(res, i) != 1)
			return sc_error_set(err, SC_INTERNAL, "%s: column %d "
			    "(%s) is type %u in format %d, expected type %u "
			    "in binary", what, i, PQfname(res, i),
			    PQftype(res, i), PQfformat(res, i), oids[i]);
	return SC_OK;
}

/* The value of a non-NULL column of exactly `len` bytes, or NULL. */
static const unsigned char *
fixed_value(const PGresult *res, int row, int col, int len)
{
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != len)
		return NULL;
	return (const unsigned char *)PQgetvalue(res, row, col);
}

enum sc_err
wire_uuid(const PGresult *res, int row, int col, char *out, size_t size,
    struct sc_error *err)
{
	const unsigned char *v;
	size_t i, o = 0;

	if ((v = fixed_value(res, row, col, 16)) == NULL || size < 37)
		return sc_error_set(err, SC_INTERNAL,
		    "row: bad uuid in column %d", col);
	/* 8-4-4-4-12, as uuid_out writes it. */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = codec_hex_digit(v[i] >> 4);
		out[o++] = codec_hex_digit(v[i]);
	}
	out[o] = '\0';
	return SC_OK;
}

enum sc_err
wire_int4(const PGresult *res, int row, int col, int32_t *out,
    struct sc_error *err)
{
	const unsigned char *v;

	if ((v = fixed_value(res, row, col, 4)) == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "row: bad integer in column %d", col);
	*out = (int32_t)(uint32_t)be_uint(v, 4);
	return SC_OK;
}

enum sc_err
wire_text(const PGresult *res, int row, int col, bool nullable,
    char **out, struct sc_error *err)
{
	char *v;

	*out = NULL;
	if (PQgetisnull(res, row, col)) {
		if (nullable)
			return SC_OK;
		return sc_error_set(err, SC_INTERNAL,
		    "row: unexpected NULL in column %d", col);
	}
	v = PQgetvalue(res, row, col);
	/* PostgreSQL's text never holds a NUL; a short strlen would lie. */
	if (strlen(v) != (size_t)PQgetlength(res, row, col))
		return sc_error_set(err, SC_INTERNAL,
		    "row: NUL byte inside text column %d", col);
	*out = v;
	return SC_OK;
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date (the calendar
 * PostgreSQL uses for every year), after Howard Hinnant's
 * civil_from_days: exact for every int64 day count we can be given.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* v in exactly `width` digits, zero-padded; returns the end. */
static char *
put_digits(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/*
 * By hand rather than snprintf: lists format two of these per host, and
 * snprintf was the largest part of rendering one.
 */
int
wire_format_timestamp(int64_t usecs, char *out, size_t size)
{
	int64_t days, rem, year;
	int month, day, ydigits = 4;
	uint64_t y;
	char *p = out;

	days = usecs / USECS_PER_DAY;
	rem = usecs % USECS_PER_DAY;
	if (rem < 0) {
		rem += USECS_PER_DAY;
		days--;
	}
	civil_from_days(days + PG_EPOCH_DAYS, &year, &month, &day);
	/* Astronomical year 0 is 1 BC; to_char's YYYY shows 1. */
	y = (uint64_t)(year <= 0 ? 1 - year : year);
	while (ydigits < 20 && y >= pow10_of(ydigits))
		ydigits++;
	/* YYYY-MM-DDTHH:MI:SS.USZ and the NUL: the year plus 24 bytes. */
	if (size < (size_t)ydigits + 24)
		return -1;
	p = put_digits(p, y, ydigits);
	*p++ = '-';
	p = put_digits(p, (uint64_t)month, 2);
	*p++ = '-';
	p = put_digits(p, (uint64_t)day, 2);
	*p++ = 'T';
	p = put_digits(p, (uint64_t)(rem / INT64_C(3600000000)), 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)(rem / 60000000 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)(rem / 1000000 % 60), 2);
	*p++ = '.';
	p = put_digits(p, (uint64_t)(rem % 1000000), 6);
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

enum sc_err
wire_timestamptz(const PGresult *res, int row, int col, bool nullable,
    char *out, size_t size, struct sc_error *err)
{
	const unsigned char *v;
	int64_t usecs;

	if (size > 0)
		out[0] = '\0';
	if (PQgetisnull(res, row, col))
		goto null;
	if ((v = fixed_value(res, row, col, 8)) == NULL)
		return sc_error_set(err, SC_INTERNAL,
		    "row: bad timestamp in column %d", col);
	usecs = (int64_t)be_uint(v, 8);
	if (usecs == DT_NOBEGIN || usecs == DT_NOEND)
		goto null;
	if (wire_format_timestamp(usecs, out, size) == -1)
		return sc_error_set(err, SC_INTERNAL,
		    "row: timestamp in column %d does not fit", col);
	return SC_OK;
null:
	if (nullable)
		return SC_OK;
	return sc_error_set(err, SC_INTERNAL,
	    "row: no finite timestamp in column %d", col);
}
