/*
 * Logging to stderr, one line per event, safe from several threads (each
 * line is formatted first and written with a single write(2)).  Never pass
 * key material to these functions.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
