/*
 * Byte-level codecs used across the tree, one home each: hexadecimal,
 * UTF-8 well-formedness, percent (%XX) decoding, random hex names and
 * UUIDs.
 * No allocation, no I/O except getrandom(2) in codec_random_hex and
 * codec_uuid_v4.
 */
#ifndef SC_CODEC_H
#define SC_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The lowercase hex digit for the low four bits of `nibble`. */
char		 codec_hex_digit(unsigned int nibble);
/* `len` bytes as 2*len lowercase hex digits and a NUL. */
void		 codec_hex_encode(const unsigned char *, size_t len, char *out);
/* A hex digit's value (either case), or -1. */
int		 codec_hex_value(int c);

/*
 * Length of the UTF-8 sequence at s (at most `avail` bytes there), or 0
 * if it is not a well-formed one: RFC 3629 section 4 -- no overlong
 * forms, no UTF-16 surrogates, nothing above U+10FFFF.
 */
size_t		 codec_utf8_len(const unsigned char *s, size_t avail);
/* All of [s, s+len) is well-formed UTF-8 (RFC 3629 section 4). */
bool		 codec_utf8_valid(const unsigned char *s, size_t len);

/*
 * Decode [s, s+n) from %XX escapes into out (NUL-terminated); with
 * `plus_space`, '+' is a space (application/x-www-form-urlencoded).
 * Returns the decoded length, or -1 if an escape is malformed, a NUL
 * would result or it does not fit in outsz.
 */
long		 codec_percent_decode(const char *s, size_t n, bool plus_space,
		    char *out, size_t outsz);

/*
 * `nbytes` random bytes from getrandom(2) as 2*nbytes hex digits and a
 * NUL, for temporary names nobody can guess or collide with.
 */
enum sc_err	 codec_random_hex(size_t nbytes, char *out,
		    struct sc_error *);

/*
 * A random (version 4, RFC 4122 4.4) UUID in PostgreSQL's text form:
 * lower-case hex digits, 8-4-4-4-12.
 */
#define CODEC_UUID_LEN	36
enum sc_err	 codec_uuid_v4(char out[CODEC_UUID_LEN + 1],
		    struct sc_error *);

#endif
