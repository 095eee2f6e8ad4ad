#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

enum sc_err
sc_error_set(struct sc_error *err, enum sc_err code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != SC_OK)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
sc_error_prefix(struct sc_error *err, const char *fmt, ...)
{
	char prefix[128], old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncating the tail of a long message is fine: context first. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %.*s", prefix,
	    (int)(sizeof(err->msg) - sizeof(prefix) - 3), old) < 0)
		err->msg[0] = '\0';
}

void
sc_error_clear(struct sc_error *err)
{
	if (err == NULL)
		return;
	err->code = SC_OK;
	err->msg[0] = '\0';
}

const char *
sc_err_name(enum sc_err code)
{
	switch (code) {
	case SC_OK:			return "ok";
	case SC_BAD_REQUEST:		return "bad request";
	case SC_FORBIDDEN:		return "forbidden";
	case SC_NOT_FOUND:		return "not found";
	case SC_CONFLICT:		return "conflict";
	case SC_TOO_LARGE:		return "too large";
	case SC_UNSUPPORTED_MEDIA:	return "unsupported media type";
	case SC_INVALID:		return "invalid";
	case SC_DB_UNAVAILABLE:		return "database unavailable";
	case SC_CA_UNAVAILABLE:		return "CA unavailable";
	case SC_SIGNER_UNAVAILABLE:	return "CA signer unavailable";
	case SC_CA_DIR_FULL:		return "CA directory full";
	case SC_CA_DIR_READONLY:	return "CA directory not writable";
	case SC_SCHEMA_BEHIND:		return "schema behind";
	case SC_IO:			return "I/O error";
	case SC_INTERNAL:		return "internal error";
	}
	return "unknown";
}
