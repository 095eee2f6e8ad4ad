/*
 * libFuzzer harness over the database row decoders (src/db/wire.c):
 * what a compromised or confused server could send in binary format.
 * The input is one row of four binary columns (uuid, int4, text,
 * timestamptz), each as a 1-byte length (0xff: SQL NULL) and its bytes,
 * built into a PGresult with libpq's own constructors and decoded as the
 * db_ layer decodes rows.  Seeds: tests/fuzz/corpus/wire/.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/wire.h"

#define NCOLS	4

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned oids[NCOLS] = { WIRE_UUIDOID, WIRE_INT4OID,
	    WIRE_TEXTOID, WIRE_TIMESTAMPTZOID };
	/* PGresAttDesc.name is not const. */
	/* cppcheck-suppress constVariable */
	static char *names[NCOLS] = { "u", "i", "t", "ts" };
	struct sc_error err = { SC_OK, "" };
	PGresAttDesc attrs[NCOLS];
	PGresult *res;
	char uuid[37], ts[64], *text;
	size_t off = 0;
	int32_t i4;
	int c;

	if ((res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL)
		return 0;
	memset(attrs, 0, sizeof(attrs));
	for (c = 0; c < NCOLS; c++) {
		attrs[c].name = names[c];
		attrs[c].typid = oids[c];
		attrs[c].format = 1;
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	if (!PQsetResultAttrs(res, NCOLS, attrs))
		goto out;
	for (c = 0; c < NCOLS; c++) {
		size_t len;

		if (off >= size)
			goto out;
		len = data[off++];
		if (len == 0xff) {
			if (!PQsetvalue(res, 0, c, NULL, -1))
				goto out;
			continue;
		}
		if (len > size - off)
			len = size - off;
		if (!PQsetvalue(res, 0, c, (char *)(uintptr_t)(data + off),
		    (int)len))
			goto out;
		off += len;
	}
	(void)wire_check_types(res, oids, NCOLS, "fuzz", &err);
	(void)wire_uuid(res, 0, 0, uuid, sizeof(uuid), &err);
	(void)wire_int4(res, 0, 1, &i4, &err);
	(void)wire_text(res, 0, 2, true, &text, &err);
	(void)wire_text(res, 0, 2, false, &text, &err);
	(void)wire_timestamptz(res, 0, 3, true, ts, sizeof(ts), &err);
	(void)wire_timestamptz(res, 0, 3, false, ts, 8, &err);
out:
	PQclear(res);
	return 0;
}
