/*
 * log_escape: what reaches the service log from a request can never start
 * a new line or carry a terminal escape sequence, and truncation never
 * leaves half an escape.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "tap.h"

static const char *
esc(const char *s, size_t len, size_t outsz)
{
	static char out[256];

	log_escape(out, outsz, s, len);
	return out;
}

int
main(void)
{
	static const char forged[] =
	    "/health\n2026-11-30T00:00:00.000Z swarmctl[1] info: DELETE /x 204";
	char small[8];
	size_t n;

	is_str(esc("/swarm/hosts?x=1", 16, 256), "/swarm/hosts?x=1",
	    "printable ASCII is kept");
	is_str(esc(forged, strlen(forged), 256),
	    "/health\\n2026-11-30T00:00:00.000Z swarmctl[1] info: DELETE /x 204",
	    "a newline becomes \\n: no second line");
	ok(strchr(esc(forged, strlen(forged), 256), '\n') == NULL,
	    "... and no newline byte is left");
	is_str(esc("a\rb\tc", 5, 256), "a\\rb\\tc", "CR and TAB are escaped");
	is_str(esc("\x1b[31mred\x1b[0m", 12, 256), "\\x1b[31mred\\x1b[0m",
	    "ESC (a terminal escape sequence) becomes \\x1b");
	is_str(esc("\x7f\x01", 2, 256), "\\x7f\\x01", "DEL and C0 controls");
	is_str(esc("caf\xc3\xa9", 5, 256), "caf\\xc3\\xa9",
	    "non-ASCII bytes are escaped byte by byte");
	is_str(esc("a\\nb", 4, 256), "a\\\\nb",
	    "a backslash doubles, so a literal \"\\n\" cannot pass for one");
	is_str(esc("a\0b", 3, 256), "a\\x00b", "a NUL inside the field is shown");

	n = log_escape(small, sizeof(small), "abcdefghij", 10);
	is_str(small, "abcd...", "too long: cut, marked with ...");
	is_int(n, 7, "... and the length is returned");
	log_escape(small, sizeof(small), "ab\n\n\n", 5);
	is_str(small, "ab\\n...", "an escape is never cut in half");
	log_escape(small, sizeof(small), "abcdefg", 7);
	is_str(small, "abcdefg", "exactly fitting: no ...");
	return done_testing();
}
