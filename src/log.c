#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"

#define LOG_MESSAGE_MAX	2048	/* a message before escaping */
#define LOG_LINE_MAX	4096	/* prefix and escaped message */

/* --log-file, or "" while logging to the standard error we were given. */
static char log_path[PATH_MAX];

/* One byte as log_escape shows it: 1 to 4 characters in esc. */
static size_t
escape_byte(unsigned char c, char esc[4])
{
	if (c == '\\') {
		esc[0] = esc[1] = '\\';
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		esc[0] = (char)c;
		return 1;
	}
	esc[0] = '\\';
	if (c == '\n' || c == '\r' || c == '\t') {
		esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		return 2;
	}
	esc[1] = 'x';
	esc[2] = codec_hex_digit(c >> 4);
	esc[3] = codec_hex_digit(c);
	return 4;
}

size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char ellipsis[] = "...";
	size_t i, o = 0, total = 0, room;
	char esc[4];

	if (dstsz == 0)
		return 0;
	for (i = 0; i < len; i++)
		total += escape_byte((unsigned char)src[i], esc);
	/* Cut short only when it must be, keeping room for the "...". */
	room = total < dstsz ? dstsz - 1 :
	    dstsz > sizeof(ellipsis) ? dstsz - sizeof(ellipsis) : 0;
	for (i = 0; i < len; i++) {
		size_t n = escape_byte((unsigned char)src[i], esc);

		if (o + n > room)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	if (i < len && o + sizeof(ellipsis) <= dstsz) {
		memcpy(dst + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
	}
	dst[o] = '\0';
	return o;
}

static void __attribute__((format(printf, 2, 0)))
log_emit(const char *level, const char *fmt, va_list ap)
{
	char msg[LOG_MESSAGE_MAX], line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ swarmctl[%ld] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, (long)getpid(),
	    level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if ((m = vsnprintf(msg, sizeof(msg), fmt, ap)) < 0)
		return;
	if ((size_t)m >= sizeof(msg))
		m = (int)sizeof(msg) - 1;
	/* Escaped, the message cannot end the line early: one event, one line. */
	n += (int)log_escape(line + n, sizeof(line) - (size_t)n - 1, msg,
	    (size_t)m);
	line[n++] = '\n';
	/* One write per line keeps lines from several workers whole. */
	(void)write(STDERR_FILENO, line, (size_t)n);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("warning", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("error", fmt, ap);
	va_end(ap);
}

/*
 * dup2(2) replaces standard error in one step: a line being written by
 * another thread goes whole to the old file or whole to the new one.
 */
static enum sc_err
open_onto_stderr(const char *path, struct sc_error *err)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY |
	    O_CLOEXEC, 0640)) == -1)
		return sc_error_set(err, SC_IO, "log file %s: %s", path,
		    strerror(errno));
	if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) == -1) {
		sc_error_set(err, SC_IO, "log file %s: dup2: %s", path,
		    strerror(errno));
		close(fd);
		return err->code;
	}
	if (fd != STDERR_FILENO)
		close(fd);
	return SC_OK;
}

enum sc_err
log_open_file(const char *path, struct sc_error *err)
{
	if (strlen(path) >= sizeof(log_path))
		return sc_error_set(err, SC_INVALID, "log file path too long");
	if (open_onto_stderr(path, err) != SC_OK)
		return err->code;
	memcpy(log_path, path, strlen(path) + 1);
	return SC_OK;
}

enum sc_err
log_reopen(struct sc_error *err)
{
	if (log_path[0] == '\0')
		return SC_OK;
	return open_onto_stderr(log_path, err);
}
