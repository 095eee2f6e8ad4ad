#include "config.h"

/*
 * Bootstrap token secrets: made from the key-grade generator, shown to
 * the operator once, and stored only as their SHA-256 (README, "Enrolling
 * with a bootstrap token").  The token's text format (prefix, length) is
 * validate.h's, which checks what a client presents.
 */

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "validate.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* RFC 4648 5, unpadded: 32 bytes are 43 characters. */
static void
base64url(const unsigned char *in, size_t n, char *out)
{
	unsigned long v = 0;
	size_t i;
	int bits = 0;

	for (i = 0; i < n; i++) {
		v = (v << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = b64url[(v >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		*out++ = b64url[(v << (6 - bits)) & 0x3f];
	*out = '\0';
}

enum sc_err
pki_token_new(char *token, struct sc_error *err)
{
	unsigned char raw[TOKEN_SECRET_BYTES];
	int r;

	if ((r = gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof(raw))) < 0)
		return pki_tls_error(err, SC_INTERNAL, "gnutls_rnd", r);
	memcpy(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	base64url(raw, sizeof(raw), token + strlen(TOKEN_PREFIX));
	gnutls_memset(raw, 0, sizeof(raw));
	return SC_OK;
}

/*
 * The secret has 256 bits of entropy, so a plain hash suffices (no salt
 * or stretching: there is nothing to guess).
 */
enum sc_err
pki_token_hash(const char *token, char hex[PKI_TOKEN_HASH_LEN + 1],
    struct sc_error *err)
{
	unsigned char d[PKI_TOKEN_HASH_LEN / 2];
	int r;

	if ((r = gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token),
	    d)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "hash the token", r);
	pki_hex(d, sizeof(d), hex);
	return SC_OK;
}
