/*
 * codec.h: the one hex, UTF-8, percent-decoding and random-name code the
 * request parser, validators, audit trail, CRL and file writers share.
 */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "tap.h"

#define U(s)	((const unsigned char *)(s))

static long
pct(const char *s, bool plus, char *out, size_t outsz)
{
	return codec_percent_decode(s, strlen(s), plus, out, outsz);
}

int
main(void)
{
	struct sc_error err = { SC_OK, "" };
	unsigned char bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[64], r1[17], r2[17];

	codec_hex_encode(bytes, sizeof(bytes), out);
	is_str(out, "000fa5ff", "hex encode: lowercase, two digits a byte");
	codec_hex_encode(bytes, 0, out);
	is_str(out, "", "hex encode: nothing");
	ok(codec_hex_digit(0x1a) == 'a', "hex digit: the low nibble only");
	is_int(codec_hex_value('7'), 7, "hex value 7");
	is_int(codec_hex_value('f'), 15, "hex value f");
	is_int(codec_hex_value('F'), 15, "hex value F: either case");
	is_int(codec_hex_value('g'), -1, "hex value g: none");
	is_int(codec_hex_value(0xe9), -1, "hex value: high bytes are none");

	ok(codec_utf8_valid(U("plain"), 5), "utf8: ASCII");
	ok(codec_utf8_valid(U("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 9),
	    "utf8: 2, 3 and 4 byte sequences");
	ok(!codec_utf8_valid(U("\xc0\xaf"), 2), "utf8: overlong 2 bytes");
	ok(!codec_utf8_valid(U("\xe0\x80\xaf"), 3), "utf8: overlong 3 bytes");
	ok(!codec_utf8_valid(U("\xf0\x80\x80\xaf"), 4),
	    "utf8: overlong 4 bytes");
	ok(!codec_utf8_valid(U("\xed\xa0\x80"), 3), "utf8: a surrogate");
	ok(!codec_utf8_valid(U("\xf4\x90\x80\x80"), 4),
	    "utf8: above U+10FFFF");
	ok(!codec_utf8_valid(U("\xe2\x82"), 2), "utf8: truncated at the end");
	ok(!codec_utf8_valid(U("\x80"), 1), "utf8: a lone continuation");
	is_int(codec_utf8_len(U("\xe2\x82\xac!"), 4), 3, "utf8 len: 3");
	is_int(codec_utf8_len(U("\xe2\x82\xac"), 2), 0,
	    "utf8 len: never past avail");
	is_int(codec_utf8_len(U("\xe2\x00"), 4), 0,
	    "utf8 len: a NUL ends the sequence");

	is_int(pct("a%2Fb+c", true, out, sizeof(out)), 5, "percent: length");
	is_str(out, "a/b c", "percent: form decoding turns + into space");
	pct("a%2fb+c", false, out, sizeof(out));
	is_str(out, "a/b+c", "percent: + kept when not a form");
	is_int(pct("%4", true, out, sizeof(out)), -1, "percent: short escape");
	is_int(pct("%zz", true, out, sizeof(out)), -1, "percent: not hex");
	is_int(pct("a%00", true, out, sizeof(out)), -1, "percent: NUL");
	is_int(pct("abcd", true, out, 4), -1, "percent: does not fit");
	is_int(pct("abc", true, out, 4), 3, "percent: just fits");
	is_int(pct("", true, out, 1), 0, "percent: empty");

	ok(codec_random_hex(8, r1, &err) == SC_OK &&
	    codec_random_hex(8, r2, &err) == SC_OK, "random hex");
	is_int(strlen(r1), 16, "random hex: two digits a byte");
	ok(strspn(r1, "0123456789abcdef") == 16, "random hex: lowercase hex");
	ok(strcmp(r1, r2) != 0, "random hex: two names differ");
	ok(codec_random_hex(1000, out, &err) == SC_INTERNAL,
	    "random hex: a name, not a key");
	return done_testing();
}
