/*
 * The CRL encoder (src/pki/crl.c builds the revokedCertificates list
 * itself and splices it into GnuTLS's signed template) and the check the
 * publisher makes of a CRL file (pki_crl_check), for CAs of each
 * signature family (RSA, ECDSA, Ed25519): GnuTLS parses and verifies what
 * is built; serials keep their value whatever their leading octets (a
 * leading zero octet where the top bit is set, none where it is not);
 * revocation dates before 2050 and from 2050 on (UTCTime,
 * GeneralizedTime) read back exactly; no entries means no list; a large
 * list is complete; a time DER cannot express is refused; a file lists a
 * set or it does not, and a file signed by another CA is not ours; the
 * check of the CA signer's answer (pki_crl_answer_check) catches a wrong
 * count, a changed octet, truncation, trailing octets and another CA;
 * entries given encoded are signed only if they are exactly n entries as
 * pki_crl_entry_encode writes them.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "pkitest.h"
#include "tap.h"
#include "testutil.h"

#define BIG	5000

/* Hex of a serial's value: leading zero octets dropped. */
static void
value_hex(const unsigned char *b, size_t len, char *out)
{
	size_t i;

	while (len > 1 && b[0] == 0) {
		b++;
		len--;
	}
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static gnutls_x509_crl_t
parse_pem(const char *pem, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
	    (unsigned int)len };
	gnutls_x509_crl_t crl = NULL;

	if (gnutls_x509_crl_init(&crl) < 0)
		return NULL;
	if (gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crl_deinit(crl);
		return NULL;
	}
	return crl;
}

static bool
verifies(gnutls_x509_crl_t crl, const char *ca_dir, const char *file)
{
	char path[256], *pem;
	gnutls_x509_crt_t ca;
	unsigned int status = 1;
	bool good;

	snprintf(path, sizeof(path), "%s/%s", ca_dir, file);
	if ((pem = tu_read_file(path, NULL)) == NULL ||
	    (ca = tu_crt_from_pem(pem)) == NULL) {
		free(pem);
		return false;
	}
	good = gnutls_x509_crl_verify(crl, &ca, 1, 0, &status) == 0 &&
	    status == 0;
	gnutls_x509_crt_deinit(ca);
	free(pem);
	return good;
}

/* Every entry in order: serial value and time as given. */
static int
entries_match(gnutls_x509_crl_t crl, const struct pki_revoked *want,
    const char *const *want_value, size_t n)
{
	gnutls_x509_crl_iter_t iter = NULL;
	unsigned char raw[64];
	char hex[129];
	size_t i, len;
	time_t t;
	int good = 1;

	for (i = 0; i < n && good; i++) {
		len = sizeof(raw);
		if (gnutls_x509_crl_iter_crt_serial(crl, &iter, raw, &len,
		    &t) < 0)
			good = 0;
		else {
			value_hex(raw, len, hex);
			good = strcmp(hex, want_value[i]) == 0 &&
			    t == want[i].revoked_at;
			if (!good)
				printf("# entry %zu: %s at %lld, want %s at %lld\n",
				    i, hex, (long long)t, want_value[i],
				    (long long)want[i].revoked_at);
		}
	}
	gnutls_x509_crl_iter_deinit(iter);
	return good;
}

/* Serial shapes and both time encodings. */
static void
test_shapes(const struct pki_ca *ca, const char *ca_dir, const char *what)
{
	static const struct pki_revoked rev[] = {
		{ "01", 946684800, 0 },				/* 2000 */
		{ "ff00000000000000000000000000000a", 2524607999, 0 },	/* 2049 */
		{ "00ab", 2524608000, 0 },				/* 2050 */
		{ "7fffffffffffffffffffffffffffffff", 4102444800, 0 },
		{ "abc", 1700000000, 0 },
	};
	static const char *const value[] = {
		"01", "ff00000000000000000000000000000a", "ab",
		"7fffffffffffffffffffffffffffffff", "0abc",
	};
	const size_t n = sizeof(rev) / sizeof(rev[0]);
	struct sc_error err = { SC_OK, "" };
	gnutls_x509_crl_t crl = NULL;
	char *pem = NULL;
	size_t len = 0;

	ok(pki_crl_sign_rows(ca, rev, n, 7, 3600, &pem, &len, &err) == SC_OK,
	    "%s: CRL with odd serials signed (%s)", what, err.msg);
	ok(pem != NULL && strncmp(pem, "-----BEGIN X509 CRL-----\n", 25) == 0
	    && strlen(pem) == len, "%s: as PEM, NUL-terminated", what);
	ok(pem != NULL && (crl = parse_pem(pem, len)) != NULL,
	    "%s: GnuTLS parses it", what);
	if (crl == NULL)
		goto out;
	ok(verifies(crl, ca_dir, pki_ca_cert_file(PKI_CA_WORKER)),
	    "%s: its signature verifies with the CA certificate", what);
	is_int(gnutls_x509_crl_get_crt_count(crl), n, "%s: %zu entries",
	    what, n);
	ok(entries_match(crl, rev, value, n), "%s: serial values (top bit "
	    "set, leading zeros, odd digits, 16 octets) and dates (UTCTime "
	    "to 2049, GeneralizedTime from 2050) read back", what);
	ok(gnutls_x509_crl_get_next_update(crl) -
	    gnutls_x509_crl_get_this_update(crl) == 3600 + 300,
	    "%s: nextUpdate an hour ahead, thisUpdate backdated 5 min", what);
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	free(pem);
}

static void
test_empty_and_refusals(const struct pki_ca *ca, const char *what)
{
	struct pki_revoked bad[1] = { { "0102", -2208988800LL, 0 } };
	struct sc_error err = { SC_OK, "" };
	gnutls_x509_crl_t crl = NULL;
	char *pem = NULL;
	size_t len = 0;

	ok(pki_crl_sign_rows(ca, NULL, 0, 1, 60, &pem, &len, &err) == SC_OK &&
	    (crl = parse_pem(pem, len)) != NULL &&
	    gnutls_x509_crl_get_crt_count(crl) == 0,
	    "%s: no entries: a valid CRL listing nothing", what);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	free(pem);
	pem = NULL;
	sc_error_clear(&err);
	is_int(pki_crl_sign_rows(ca, bad, 1, 2, 60, &pem, &len, &err), SC_INVALID,
	    "%s: a revocation in 1900 (no UTCTime for it) is refused", what);
	ok(pem == NULL, "%s: ... and nothing is returned", what);
}

static struct pki_revoked *
many(size_t n)
{
	struct pki_revoked *r = calloc(n, sizeof(*r));
	size_t i;

	for (i = 0; r != NULL && i < n; i++) {
		snprintf(r[i].serial_hex, sizeof(r[i].serial_hex),
		    "%02zx%030zx", 0x10 + i % 0xe0, i * 7919);
		r[i].revoked_at = 1700000000 + (time_t)i;
	}
	return r;
}

/* The rows encoded back to back into *l; the buffer is returned. */
static unsigned char *
encode(const struct pki_revoked *r, size_t n, struct pki_crl_entries *l)
{
	struct sc_error err = { SC_OK, "" };
	unsigned char *buf = malloc(n * PKI_CRL_ENTRY_MAX + 1);
	size_t i, used;

	l->der = buf;
	l->len = 0;
	l->n = n;
	for (i = 0; buf != NULL && i < n; i++) {
		if (pki_crl_entry_encode(&r[i], buf + l->len, &used, &err) !=
		    SC_OK) {
			printf("# encode %s: %s\n", r[i].serial_hex, err.msg);
			free(buf);
			return NULL;
		}
		l->len += used;
	}
	return buf;
}

/*
 * The entries a CRL is built from come from the process that parses the
 * network's input (to the CA signer): pki_crl_build signs only n entries
 * shaped as pki_crl_entry_encode writes them, and refuses the rest.
 */
static void
test_entries_checked(const struct pki_ca *ca, const char *what)
{
	/* SEQUENCE { INTEGER 01, UTCTime 231114221320Z } */
	static const unsigned char good[] = { 0x30, 0x12, 0x02, 0x01, 0x01,
	    0x17, 0x0d, '2', '3', '1', '1', '1', '4', '2', '2', '1', '3',
	    '2', '0', 'Z' };
	static const struct {
		const char	*why;
		size_t		 at;	/* octet of `good` replaced */
		unsigned char	 octet;
	} bad[] = {
		{ "a negative serial", 4, 0x81 },
		{ "a time with a letter for a digit", 9, 'x' },
		{ "month 13", 9, '3' },
		{ "a time without its Z", 19, '0' },
		{ "an entry that is not a SEQUENCE", 0, 0x31 },
		{ "a serial that is not an INTEGER", 2, 0x04 },
		{ "a date that is no Time", 5, 0x04 },
	};
	/* INTEGER 00 01: not the minimal encoding of 1. */
	static const unsigned char padded[] = { 0x30, 0x13, 0x02, 0x02, 0x00,
	    0x01, 0x17, 0x0d, '2', '3', '1', '1', '1', '4', '2', '2', '1',
	    '3', '2', '0', 'Z' };
	/* An entry extension (crlEntryExtensions): none are written. */
	static const unsigned char extended[] = { 0x30, 0x14, 0x02, 0x01, 0x01,
	    0x17, 0x0d, '2', '3', '1', '1', '1', '4', '2', '2', '1', '3',
	    '2', '0', 'Z', 0x30, 0x00 };
	struct sc_error err = { SC_OK, "" };
	struct pki_crl_entries l;
	unsigned char buf[2 * sizeof(good) + 1], *der = NULL;
	size_t len = 0, i;

	l.der = good;
	l.len = sizeof(good);
	l.n = 1;
	ok(pki_crl_build(ca, &l, 1, 60, &der, &len, &err) == SC_OK,
	    "%s: one well-formed entry is signed (%s)", what, err.msg);
	free(der);
	der = NULL;
	l.n = 2;
	is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err), SC_INVALID,
	    "%s: ... said to be two, it is refused", what);
	l.n = 0;
	is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err), SC_INVALID,
	    "%s: ... said to be none, it is refused", what);
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0x30;
	l.der = buf;
	l.len = sizeof(good) + 1;
	l.n = 1;
	is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err), SC_INVALID,
	    "%s: an octet after the last entry is refused", what);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf, good, sizeof(good));
		buf[bad[i].at] = bad[i].octet;
		l.len = sizeof(good);
		is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err),
		    SC_INVALID, "%s: %s is refused", what, bad[i].why);
	}
	l.der = padded;
	l.len = sizeof(padded);
	is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err), SC_INVALID,
	    "%s: a serial with a needless leading zero octet is refused",
	    what);
	l.der = extended;
	l.len = sizeof(extended);
	is_int(pki_crl_build(ca, &l, 1, 60, &der, &len, &err), SC_INVALID,
	    "%s: an entry with a third element is refused", what);
	ok(der == NULL, "%s: ... and nothing was signed", what);
	free(der);
}

/* A large list, written, then checked the way the publisher checks. */
static void
test_big_and_check(const struct pki_ca *ca, const struct pki_ca *other,
    const char *ca_dir, const char *what)
{
	struct pki_revoked *r = many(BIG + 1);
	struct sc_error err = { SC_OK, "" };
	bool covers = false;
	time_t next = 0, now = time(NULL);
	char from[256], to[256], *pem;
	FILE *f;

	if (r == NULL) {
		ok(0, "%s: memory for %d entries", what, BIG);
		return;
	}
	is_int(pki_crl_check(ca, ca_dir, r, 1, &covers, &next, &err),
	    SC_NOT_FOUND, "%s: no file yet: SC_NOT_FOUND", what);
	sc_error_clear(&err);
	ok(pki_crl_write_rows(ca, ca_dir, r, BIG, 9, 3600, &err) == SC_OK,
	    "%s: CRL of %d entries written (%s)", what, BIG, err.msg);
	sc_error_clear(&err);
	ok(pki_crl_check(ca, ca_dir, r, BIG, &covers, &next, &err) == SC_OK &&
	    covers, "%s: it lists all %d (%s)", what, BIG, err.msg);
	ok(next >= now + 3600 - 5 && next <= time(NULL) + 3600,
	    "%s: ... and says when it expires", what);
	ok(pki_crl_check(ca, ca_dir, r + BIG / 2, 3, &covers, &next,
	    &err) == SC_OK && covers, "%s: it lists a few of them", what);
	ok(pki_crl_check(ca, ca_dir, r, BIG + 1, &covers, &next,
	    &err) == SC_OK && !covers, "%s: it does not list one more", what);
	ok(pki_crl_check(ca, ca_dir, NULL, 0, &covers, &next, &err) ==
	    SC_OK && covers, "%s: it lists the empty set", what);
	/* The other CA's file under this CA's name. */
	snprintf(from, sizeof(from), "%s/%s", ca_dir,
	    pki_ca_crl_file(pki_ca_role(ca)));
	snprintf(to, sizeof(to), "%s/%s", ca_dir,
	    pki_ca_crl_file(pki_ca_role(other)));
	pem = tu_read_file(from, NULL);
	ok(pem != NULL && (f = fopen(to, "w")) != NULL &&
	    fputs(pem, f) >= 0 && fclose(f) == 0, "%s: copied to %s", what,
	    to);
	free(pem);
	sc_error_clear(&err);
	is_int(pki_crl_check(other, ca_dir, r, 1, &covers, &next, &err),
	    SC_INVALID, "%s: checked as the other CA's, it is not ours", what);
	ok(!covers, "%s: ... and covers nothing", what);
	unlink(to);
	unlink(from);
	free(r);
}

/*
 * The check of a signer's answer (pki_crl_answer_check) on a CRL built
 * here: it passes whole, and fails for the wrong count, a changed entry
 * or signature, a truncated CRL, trailing bytes and another CA.
 */
static void
test_answer_check(const struct pki_ca *ca, const struct pki_ca *other,
    const char *what)
{
	struct pki_revoked *r = many(BIG);
	struct sc_error err = { SC_OK, "" };
	struct pki_crl_entries l;
	unsigned char *der = NULL, *copy = NULL, *entries = NULL;
	size_t len = 0;

	if (r == NULL || (entries = encode(r, BIG, &l)) == NULL ||
	    pki_crl_build(ca, &l, 3, 3600, &der, &len, &err) != SC_OK ||
	    (copy = malloc(len + 1)) == NULL) {
		ok(0, "%s: a CRL of %d entries to check (%s)", what, BIG,
		    err.msg);
		goto out;
	}
	ok(pki_crl_answer_check(ca, der, len, BIG, &err) == SC_OK,
	    "%s: answer check: a whole CRL of %d entries passes (%s)", what,
	    BIG, err.msg);
	is_int(pki_crl_answer_check(ca, der, len, BIG - 1, &err), SC_INTERNAL,
	    "%s: ... one entry fewer than asked for fails", what);
	memcpy(copy, der, len);
	copy[len / 2] ^= 0x01;
	is_int(pki_crl_answer_check(ca, copy, len, BIG, &err), SC_INTERNAL,
	    "%s: ... a changed octet in the entries fails", what);
	memcpy(copy, der, len);
	copy[len - 1] ^= 0x01;
	is_int(pki_crl_answer_check(ca, copy, len, BIG, &err), SC_INTERNAL,
	    "%s: ... a changed signature fails", what);
	is_int(pki_crl_answer_check(ca, der, len - 1, BIG, &err), SC_INTERNAL,
	    "%s: ... a truncated CRL fails", what);
	memcpy(copy, der, len);
	copy[len] = 0;
	is_int(pki_crl_answer_check(ca, copy, len + 1, BIG, &err),
	    SC_INTERNAL, "%s: ... a trailing octet fails", what);
	is_int(pki_crl_answer_check(other, der, len, BIG, &err), SC_INTERNAL,
	    "%s: ... checked as another CA's, it fails", what);
out:
	free(der);
	free(copy);
	free(entries);
	free(r);
}

static void
each_ca(struct pki_ca *worker, struct pki_ca *front, const char *ca_dir,
    const char *what)
{
	test_shapes(worker, ca_dir, what);
	test_empty_and_refusals(worker, what);
	test_big_and_check(worker, front, ca_dir, what);
	test_answer_check(worker, front, what);
	test_entries_checked(worker, what);
}

int
main(void)
{
	static const enum pki_key_type types[] = {
		PKI_KEY_ECDSA_P256, PKI_KEY_ED25519, PKI_KEY_RSA2048,
	};

	return pt_each_ca("test_crl", types, sizeof(types) / sizeof(types[0]),
	    each_ca);
}
