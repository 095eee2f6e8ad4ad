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
#include "pki/der.h"
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

/* The tbsCertList of a CRL's DER, pointing into it. */
static bool
tbs_of(const gnutls_datum_t *der, const unsigned char **tbs, size_t *len)
{
	const unsigned char *p = der->data, *c, *start;
	size_t clen;

	if (!der_take(&p, der->data + der->size, DER_SEQUENCE, &c, &clen))
		return false;
	start = p = c;
	if (!der_take(&p, c + clen, DER_SEQUENCE, &c, &clen))
		return false;
	*tbs = start;
	*len = (size_t)(p - start);
	return true;
}

/* An empty CRL's tbsCertList: nextUpdate, then crlExtensions [0]. */
static bool
no_list(const struct pki_ca *ca)
{
	static const unsigned char head[] = { DER_INTEGER, DER_SEQUENCE,
	    DER_SEQUENCE, DER_ANY_TIME, DER_ANY_TIME };
	struct sc_error err = { SC_OK, "" };
	struct pki_crl_entries none = { NULL, 0, 0 };
	gnutls_datum_t der = { NULL, 0 };
	const unsigned char *tbs = NULL, *c, *p;
	size_t len = 0, tlen = 0;
	bool absent = false;

	if (pki_crl_build(ca, &none, 1, 60, &der.data, &len, &err) == SC_OK &&
	    (der.size = (unsigned int)len, tbs_of(&der, &tbs, &tlen))) {
		p = tbs;
		absent = der_take(&p, tbs + tlen, DER_SEQUENCE, &c, &len) &&
		    der_skip(&c, c + len, head, sizeof(head)) &&
		    *c == DER_CONTEXT_CONS(0);
	}
	free(der.data);
	return absent;
}

/*
 * The frame around the list is written here, no longer by GnuTLS: the
 * tbsCertList of a CRL of one entry must be byte for byte what GnuTLS
 * writes for the same CRL (version 2, the CA's algorithm and issuer, the
 * same times, the entry, authorityKeyIdentifier and CRL number), and the
 * CRL must parse with the fields GnuTLS reads back.  (Without entries
 * GnuTLS leaves an empty list in, which RFC 5280 5.1.2.6 says MUST be
 * absent; test_empty_and_refusals sees ours has none.)
 */
static void
test_frame_as_gnutls(const struct pki_ca *ca, const char *what)
{
	static const struct pki_revoked one = { "0a1b", 1700000000, 0 };
	static const unsigned char serial[] = { 0x0a, 0x1b };
	struct sc_error err = { SC_OK, "" };
	struct pki_crl_entries l;
	gnutls_datum_t ours = { NULL, 0 }, theirs = { NULL, 0 };
	gnutls_x509_crl_t crl = NULL, ref = NULL;
	const unsigned char *a = NULL, *b = NULL;
	unsigned char num[16], aki[64], entry[PKI_CRL_ENTRY_MAX];
	size_t der_len = 0, alen = 0, blen = 0, numlen = sizeof(num);
	size_t akilen = sizeof(aki);
	unsigned int critical = 0;

	l.der = entry;
	l.n = 1;
	if (pki_crl_entry_encode(&one, entry, &l.len, &err) != SC_OK ||
	    pki_crl_build(ca, &l, 0x8123, 3600, &ours.data, &der_len,
	    &err) != SC_OK || gnutls_x509_crl_init(&crl) < 0 ||
	    (ours.size = (unsigned int)der_len,
	    gnutls_x509_crl_import(crl, &ours, GNUTLS_X509_FMT_DER)) < 0) {
		ok(0, "%s: a CRL built and parsed (%s)", what, err.msg);
		goto out;
	}
	ok(gnutls_x509_crl_get_version(crl) == 2 &&
	    gnutls_x509_crl_get_number(crl, num, &numlen, &critical) >= 0 &&
	    numlen == 3 && num[0] == 0 && num[1] == 0x81 && num[2] == 0x23 &&
	    gnutls_x509_crl_get_authority_key_id(crl, aki, &akilen,
	    &critical) >= 0 && akilen == ca->key_id_len &&
	    memcmp(aki, ca->key_id, akilen) == 0 &&
	    gnutls_x509_crl_get_next_update(crl) -
	    gnutls_x509_crl_get_this_update(crl) == 3600 + 300,
	    "%s: GnuTLS reads version 2, the CRL number (a sign octet before "
	    "0x81), the CA's key id, thisUpdate 5 min back", what);
	/* The same CRL by GnuTLS, same times. */
	if (gnutls_x509_crl_init(&ref) < 0 ||
	    gnutls_x509_crl_set_version(ref, 2) < 0 ||
	    gnutls_x509_crl_set_this_update(ref,
	    gnutls_x509_crl_get_this_update(crl)) < 0 ||
	    gnutls_x509_crl_set_next_update(ref,
	    gnutls_x509_crl_get_next_update(crl)) < 0 ||
	    gnutls_x509_crl_set_crt_serial(ref, serial, sizeof(serial),
	    one.revoked_at) < 0 ||
	    gnutls_x509_crl_set_authority_key_id(ref, ca->key_id,
	    ca->key_id_len) < 0 ||
	    gnutls_x509_crl_set_number(ref, num, numlen) < 0 ||
	    gnutls_x509_crl_privkey_sign(ref, ca->crt, ca->key,
	    pki_sign_digest(ca->key), 0) < 0 ||
	    gnutls_x509_crl_export2(ref, GNUTLS_X509_FMT_DER, &theirs) < 0) {
		ok(0, "%s: the same CRL by GnuTLS", what);
		goto out;
	}
	if (!tbs_of(&ours, &a, &alen) || !tbs_of(&theirs, &b, &blen))
		alen = blen + 1;
	ok(alen == blen && memcmp(a, b, alen) == 0,
	    "%s: its tbsCertList is byte for byte GnuTLS's", what);
	if (alen != blen || memcmp(a, b, alen) != 0) {
		size_t i;
		printf("# ours  ");
		for (i = 0; i < alen; i++) printf("%02x", a[i]);
		printf("\n# their ");
		for (i = 0; i < blen; i++) printf("%02x", b[i]);
		printf("\n");
	}
	is_int(gnutls_x509_crl_get_signature_algorithm(crl),
	    gnutls_x509_crl_get_signature_algorithm(ref),
	    "%s: ... and so is its signature algorithm", what);
	ok(no_list(ca), "%s: without entries, the list is absent (after "
	    "nextUpdate come the extensions)", what);
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	if (ref != NULL)
		gnutls_x509_crl_deinit(ref);
	free(ours.data);
	gnutls_free(theirs.data);
}

/* The rows encoded back to back into *l; the buffer is returned. */
static unsigned char *
encode(const struct pki_revoked *r, size_t n, struct pki_crl_entries *l)
{
	struct sc_error err = { SC_OK, "" };
	unsigned char *buf = NULL;

	if (pki_crl_rows_encode(r, n, &buf, l, &err) != SC_OK)
		printf("# encode: %s\n", err.msg);
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
	test_frame_as_gnutls(worker, what);
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
