/*
 * One error vocabulary for the whole service.  Every layer (storage, PKI,
 * request parsing) returns an enum sc_err and fills a struct sc_error with
 * context; only the top of a request (or main) logs it, and only
 * http/response.c maps it to a status code.
 */
#ifndef SC_ERR_H
#define SC_ERR_H

#include <stddef.h>

enum sc_err {
	SC_OK = 0,
	SC_BAD_REQUEST,		/* 400: malformed body, bad framing */
	SC_FORBIDDEN,		/* 403: no operator certificate */
	SC_NOT_FOUND,		/* 404 */
	SC_CONFLICT,		/* 409: name already enrolled */
	SC_TOO_LARGE,		/* 413: body over the cap */
	SC_UNSUPPORTED_MEDIA,	/* 415: not application/json */
	SC_INVALID,		/* 422: a field failed validation */
	SC_DB_UNAVAILABLE,	/* 503: PostgreSQL unreachable */
	SC_CA_UNAVAILABLE,	/* 503: CA files unreadable */
	SC_CA_DIR_FULL,		/* 503: CA directory out of space (ENOSPC) */
	SC_CA_DIR_READONLY,	/* 503: CA directory not writable (EROFS) */
	SC_SIGNER_UNAVAILABLE,	/* 503: the CA signer process died or is gone */
	SC_SCHEMA_BEHIND,	/* start-up: run `swarmctl migrate` */
	SC_IO,			/* 500: disk error (full, permissions) */
	SC_INTERNAL,		/* 500: anything else */
};

struct sc_error {
	enum sc_err	code;
	char		msg[512];
};

/*
 * Record an error and return its code, so callers can write
 * `return sc_error_set(err, SC_IO, "open %s: %s", path, strerror(errno));`.
 * A NULL err is allowed.  The first error set wins: context is added by
 * sc_error_prefix(), never overwritten by a later, vaguer failure.
 */
enum sc_err	 sc_error_set(struct sc_error *, enum sc_err, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 sc_error_prefix(struct sc_error *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 sc_error_clear(struct sc_error *);
const char	*sc_err_name(enum sc_err);

#endif
