#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "codec.h"

#define RANDOM_MAX	32	/* bytes: a name, not a key */

char
codec_hex_digit(unsigned int nibble)
{
	static const char hex[] = "0123456789abcdef";

	return hex[nibble & 0x0f];
}

void
codec_hex_encode(const unsigned char *bytes, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = codec_hex_digit(bytes[i] >> 4);
		out[2 * i + 1] = codec_hex_digit(bytes[i]);
	}
	out[2 * len] = '\0';
}

int
codec_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
codec_utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;

	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, overlong C0/C1, > F4 */
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) ||	/* overlong */
	    (s[0] == 0xed && s[1] > 0x9f) ||	/* surrogates */
	    (s[0] == 0xf0 && s[1] < 0x90) ||	/* overlong */
	    (s[0] == 0xf4 && s[1] > 0x8f))	/* above U+10FFFF */
		return 0;
	return n;
}

bool
codec_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n;

		if ((n = codec_utf8_len(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

long
codec_percent_decode(const char *s, size_t n, bool plus_space, char *out,
    size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+' && plus_space)
			c = ' ';
		else if (c == '%') {
			int hi, lo;

			/* two hex digits must follow */
			if (i + 2 >= n)
				return -1;
			hi = codec_hex_value((unsigned char)s[i + 1]);
			lo = codec_hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return (long)o;
}

static enum sc_err
random_bytes(unsigned char *out, size_t nbytes, struct sc_error *err)
{
	ssize_t n;

	while ((n = getrandom(out, nbytes, 0)) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)nbytes)
		return sc_error_set(err, SC_INTERNAL, "getrandom: %s",
		    n == -1 ? strerror(errno) : "short read");
	return SC_OK;
}

enum sc_err
codec_random_hex(size_t nbytes, char *out, struct sc_error *err)
{
	unsigned char rnd[RANDOM_MAX];
	enum sc_err rc;

	if (nbytes > sizeof(rnd))
		return sc_error_set(err, SC_INTERNAL, "random name too long");
	if ((rc = random_bytes(rnd, nbytes, err)) != SC_OK)
		return rc;
	codec_hex_encode(rnd, nbytes, out);
	return SC_OK;
}

enum sc_err
codec_uuid_v4(char out[CODEC_UUID_LEN + 1], struct sc_error *err)
{
	unsigned char b[16];
	size_t i, o = 0;
	enum sc_err rc;

	if ((rc = random_bytes(b, sizeof(b), err)) != SC_OK)
		return rc;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (i = 0; i < sizeof(b); i++) {
		/* Groups of 8-4-4-4-12 digits: 4, 2, 2, 2, 6 bytes. */
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		codec_hex_encode(&b[i], 1, out + o);	/* writes a NUL */
		o += 2;
	}
	return SC_OK;
}
