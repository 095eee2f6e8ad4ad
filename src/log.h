/*
 * Logging to stderr (or --log-file), one line per event, safe from several threads (each
 * line is formatted first and written with a single write(2)).  Never pass
 * key material to these functions.
 *
 * Every message is escaped (log_escape) before it is written, whatever
 * its fields: a request path, a method, a libpq message or a file name
 * can never start a second line or send a terminal escape sequence.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stddef.h>

#include "err.h"

/*
 * Log to the file at `path` from now on instead of standard error (which
 * becomes that file: what a library prints lands there too), opened for
 * appending, created 0640.  log_reopen opens the same path again, after
 * logrotate has moved the old file away (SIGHUP); a no-op when logging
 * to the standard error swarmctl was given.  On failure the log stays
 * where it was.
 */
enum sc_err	log_open_file(const char *path, struct sc_error *);
enum sc_err	log_reopen(struct sc_error *);

void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copy `len` bytes of `src` into `dst` (always NUL-terminated), as
 * OpenBSD's stravis(3) with VIS_CSTYLE | VIS_OCTAL would: printable
 * ASCII stays, a backslash doubles, \n \r \t become "\n" "\r" "\t" and
 * every other control or non-ASCII byte "\xHH".  An escape is never cut
 * in half: what does not fit is dropped and the result ends in "...".
 * Returns the length written.
 */
size_t	log_escape(char *dst, size_t dstsz, const char *src, size_t len);

#endif
