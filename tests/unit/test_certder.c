/*
 * The certificate builder (src/pki/certder.c writes the DER itself, and
 * pki_cert_build fills it in): for CAs of each signature family (ECDSA,
 * Ed25519, RSA), each profile (worker, operator, server) and subject
 * keys of each family, the certificate pki_cert_build signs is taken
 * apart and built again the way swarmctl built it before, with GnuTLS's
 * certificate API (gnutls_x509_crt_set_*, gnutls_x509_crt_privkey_sign)
 * from the same serial, validity, names and key; the two
 * TBSCertificates must be the same octets.  Names cover PrintableString
 * and UTF8String subjects (an underscore is not printable, nor is
 * UTF-8), subjectAltNames IPv4, IPv6 and DNS names with duplicates
 * spelled differently.  The certificate verifies against its CA, and
 * what cannot be a key, a name or an address is refused.  What the
 * caller reads back from the DER (pki_certder_facts: serial, subject,
 * validity) is what GnuTLS reads, and a malformed certificate is
 * refused.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/der.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "pkitest.h"
#include "tap.h"
#include "testutil.h"

/* What pki.c's profiles said to GnuTLS, for the reference build. */
static const struct {
	enum signwire_profile	 id;
	enum pki_ca_role	 ca;
	const char		*unit;
	long			 days;
	bool			 server, client, eku_critical, key_enc;
} profiles[] = {
	{ SIGNWIRE_WORKER, PKI_CA_WORKER, "swarm-worker", 90,
	    true, true, true, true },
	{ SIGNWIRE_OPERATOR, PKI_CA_FRONT, "swarm-operator", 365,
	    false, true, true, false },
	{ SIGNWIRE_SERVER, PKI_CA_FRONT, "swarm-server", 825,
	    true, false, false, true },
};

/* A fresh subject key's SubjectPublicKeyInfo (gnutls_free it). */
static bool
subject_spki(enum pki_key_type type, gnutls_datum_t *spki)
{
	struct sc_error err = { SC_OK, "" };
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t k = NULL;
	gnutls_pubkey_t pub = NULL;
	bool good;

	good = pki_generate_key(type, &x, &err) == SC_OK &&
	    gnutls_privkey_init(&k) >= 0 &&
	    gnutls_privkey_import_x509(k, x, 0) >= 0 &&
	    gnutls_pubkey_init(&pub) >= 0 &&
	    gnutls_pubkey_import_privkey(pub, k, 0, 0) >= 0 &&
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, spki) >= 0;
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (k != NULL)
		gnutls_privkey_deinit(k);
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);
	return good;
}

/* The TBSCertificate of a DER Certificate: its first element. */
static bool
tbs_of(const unsigned char *der, size_t len, const unsigned char **tbs,
    size_t *tbs_len)
{
	size_t header, clen, h2, l2;
	unsigned char tag;

	if (!der_element(der, len, &tag, &header, &clen) ||
	    tag != DER_SEQUENCE || header + clen != len ||
	    !der_element(der + header, clen, &tag, &h2, &l2) ||
	    tag != DER_SEQUENCE)
		return false;
	*tbs = der + header;
	*tbs_len = h2 + l2;
	return true;
}

/* The SANs as pki.c handed them to GnuTLS: parsed, first of equals kept. */
static void
reference_sans(gnutls_x509_crt_t crt, const char *const *sans, size_t n)
{
	unsigned char seen[16][253], buf[253];
	size_t seen_len[16], nseen = 0, i, j, len;
	int type;

	for (i = 0; i < n; i++) {
		if (inet_pton(AF_INET, sans[i], buf) == 1) {
			type = GNUTLS_SAN_IPADDRESS;
			len = 4;
		} else if (inet_pton(AF_INET6, sans[i], buf) == 1) {
			type = GNUTLS_SAN_IPADDRESS;
			len = 16;
		} else {
			type = GNUTLS_SAN_DNSNAME;
			len = strlen(sans[i]);
			memcpy(buf, sans[i], len);
		}
		for (j = 0; j < nseen; j++)
			if (seen_len[j] == len + (size_t)type * 1000 &&
			    (type == GNUTLS_SAN_IPADDRESS ?
			    memcmp(seen[j], buf, len) == 0 :
			    strncasecmp((char *)seen[j], (char *)buf, len) == 0))
				break;
		if (j < nseen)
			continue;
		memcpy(seen[nseen], buf, len);
		seen_len[nseen] = len + (size_t)type * 1000;
		(void)gnutls_x509_crt_set_subject_alt_name(crt,
		    (gnutls_x509_subject_alt_name_t)type, buf,
		    (unsigned int)len,
		    nseen == 0 ? GNUTLS_FSAN_SET : GNUTLS_FSAN_APPEND);
		nseen++;
	}
}

/*
 * The certificate as GnuTLS's API built it from the same facts: the
 * serial and validity of `issued`, the profile, name, SANs and key.
 */
static bool
reference_tbs(const struct pki_ca *ca, size_t p, const char *cn,
    const char *const *sans, size_t nsans, const gnutls_datum_t *spki,
    gnutls_x509_crt_t issued, gnutls_datum_t *tbs_out)
{
	unsigned char serial[32], id[64];
	size_t slen = sizeof(serial), idlen = sizeof(id), tlen;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der = { NULL, 0 };
	const unsigned char *tbs;
	unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	bool good = false;

	if (gnutls_x509_crt_get_serial(issued, serial, &slen) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import(pub, spki, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (profiles[p].key_enc &&
	    gnutls_pubkey_get_pk_algorithm(pub, NULL) == GNUTLS_PK_RSA)
		usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, slen) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt,
	    gnutls_x509_crt_get_activation_time(issued)) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt,
	    gnutls_x509_crt_get_expiration_time(issued)) < 0 ||
	    gnutls_x509_crt_set_pubkey(crt, pub) < 0 ||
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, id,
	    &idlen) < 0 ||
	    gnutls_x509_crt_set_subject_key_id(crt, id, idlen) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "DECNET", 6) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, profiles[p].unit,
	    (unsigned int)strlen(profiles[p].unit)) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	    cn, (unsigned int)strlen(cn)) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, usage) < 0 ||
	    (profiles[p].server && gnutls_x509_crt_set_key_purpose_oid(crt,
	    GNUTLS_KP_TLS_WWW_SERVER, profiles[p].eku_critical) < 0) ||
	    (profiles[p].client && gnutls_x509_crt_set_key_purpose_oid(crt,
	    GNUTLS_KP_TLS_WWW_CLIENT, profiles[p].eku_critical) < 0))
		goto out;
	reference_sans(crt, sans, nsans);
	if (gnutls_x509_crt_set_authority_key_id(crt, ca->key_id,
	    ca->key_id_len) < 0 ||
	    gnutls_x509_crt_privkey_sign(crt, ca->crt, ca->key,
	    pki_sign_digest(ca->key), 0) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0 ||
	    !tbs_of(der.data, der.size, &tbs, &tlen))
		goto out;
	if ((tbs_out->data = malloc(tlen)) == NULL)
		goto out;
	memcpy(tbs_out->data, tbs, tlen);
	tbs_out->size = (unsigned int)tlen;
	good = true;
out:
	gnutls_free(der.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return good;
}

static void
hexdump_diff(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	size_t i;

	for (i = 0; i < alen && i < blen && a[i] == b[i]; i++)
		;
	printf("# lengths %zu and %zu, first difference at octet %zu\n", alen, blen,
	    i);
}

/* One certificate: built, verified, compared with GnuTLS's build. */
/* pki_certder_facts reads what GnuTLS reads of the same certificate. */
static void
facts_agree(gnutls_x509_crt_t crt, const unsigned char *der, size_t der_len,
    const char *what)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_certder_facts f;
	unsigned char serial[32];
	size_t slen = sizeof(serial);
	gnutls_datum_t dn = { NULL, 0 };

	if (pki_certder_facts(der, der_len, &f, &err) != SC_OK) {
		ok(0, "%s: its facts read from the DER (%s)", what, err.msg);
		return;
	}
	ok(gnutls_x509_crt_get_serial(crt, serial, &slen) == 0 &&
	    slen == f.serial_len && memcmp(serial, f.serial, slen) == 0 &&
	    gnutls_x509_crt_get_raw_dn(crt, &dn) == 0 &&
	    dn.size == f.subject_len &&
	    memcmp(dn.data, f.subject, dn.size) == 0 &&
	    f.not_before == gnutls_x509_crt_get_activation_time(crt) &&
	    f.not_after == gnutls_x509_crt_get_expiration_time(crt),
	    "%s: serial, subject and validity read from the DER are "
	    "GnuTLS's", what);
	gnutls_free(dn.data);
}

/* Anything but a whole, well-formed Certificate is refused. */
static void
facts_refusals(const struct pki_ca *ca, const char *ca_type)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_certder_facts f;
	gnutls_datum_t spki = { NULL, 0 };
	unsigned char *der = NULL, *bad = NULL;
	size_t der_len = 0, i;

	if (!subject_spki(PKI_KEY_ECDSA_P256, &spki) ||
	    pki_cert_build(ca, SIGNWIRE_WORKER, "node-3", 30, NULL, 0,
	    spki.data, spki.size, &der, &der_len, &err) != SC_OK ||
	    (bad = malloc(der_len + 1)) == NULL) {
		ok(0, "%s: a certificate to take apart (%s)", ca_type,
		    err.msg);
		goto out;
	}
	memcpy(bad, der, der_len);
	bad[der_len] = 0;
	is_int(pki_certder_facts(bad, der_len + 1, &f, &err), SC_INTERNAL,
	    "%s: a certificate with an octet after it is refused", ca_type);
	is_int(pki_certder_facts(bad, der_len - 1, &f, &err), SC_INTERNAL,
	    "%s: a certificate cut short is refused", ca_type);
	bad[0] = DER_SET;
	is_int(pki_certder_facts(bad, der_len, &f, &err), SC_INTERNAL,
	    "%s: a SET where the Certificate's SEQUENCE goes is refused",
	    ca_type);
	/* The validity's first time: a month 13 is no time. */
	memcpy(bad, der, der_len);
	for (i = 0; i + 15 < der_len; i++)
		if ((bad[i] == DER_UTC_TIME && bad[i + 1] == 13) ||
		    (bad[i] == DER_GENERALIZED_TIME && bad[i + 1] == 15))
			break;
	bad[i + 2 + (bad[i] == DER_UTC_TIME ? 2 : 4)] = '1';
	bad[i + 3 + (bad[i] == DER_UTC_TIME ? 2 : 4)] = '3';
	is_int(pki_certder_facts(bad, der_len, &f, &err), SC_INTERNAL,
	    "%s: a notBefore in month 13 is refused", ca_type);
out:
	free(bad);
	free(der);
	gnutls_free(spki.data);
}

/* der_time_read is der_time's inverse, and reads nothing else. */
static void
test_time_read(void)
{
	static const time_t times[] = { -631152000 /* 1950 */, 0,
	    1764547200, 2524607999 /* 2049-12-31 23:59:59 */,
	    2524608000 /* 2050 */, 253402300799 /* 9999-12-31 */ };
	static const struct {
		unsigned char	 tag;
		const char	*text;
	} bad[] = {
		{ DER_UTC_TIME, "491232235959Z" },	/* day 32 */
		{ DER_UTC_TIME, "491231245959Z" },	/* hour 24 */
		{ DER_UTC_TIME, "4912312359590" },	/* no Z */
		{ DER_UTC_TIME, "4912312359Z" },	/* no seconds */
		{ DER_UTC_TIME, "49123123595+Z" },
		{ DER_GENERALIZED_TIME, "491231235959Z" },	/* 2 digits */
		{ DER_OCTET_STRING, "491231235959Z" },
	};
	unsigned char out[DER_TIME_MAX];
	size_t i, n;
	time_t t;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		t = 1;
		n = der_time(times[i], out);
		ok(n > 2 && der_time_read(out[0], out + 2, n - 2, &t) &&
		    t == times[i], "time %lld: read back as written",
		    (long long)times[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!der_time_read(bad[i].tag, (const unsigned char *)bad[i].text,
		    strlen(bad[i].text), &t), "time \"%s\" (tag %u) refused",
		    bad[i].text, bad[i].tag);
}

static void
one(const struct pki_ca *ca, size_t p, enum pki_key_type subject,
    const char *cn, const char *const *sans, size_t nsans, const char *what)
{
	struct sc_error err = { SC_OK, "" };
	gnutls_datum_t spki = { NULL, 0 }, ref = { NULL, 0 }, d;
	unsigned char *der = NULL;
	const unsigned char *tbs;
	gnutls_x509_crt_t crt = NULL;
	size_t der_len = 0, tlen;
	unsigned int status = 1;

	if (!subject_spki(subject, &spki) ||
	    pki_cert_build(ca, profiles[p].id, cn, profiles[p].days, sans,
	    nsans, spki.data, spki.size, &der, &der_len, &err) != SC_OK) {
		ok(0, "%s: built (%s)", what, err.msg);
		goto out;
	}
	d.data = der;
	d.size = (unsigned int)der_len;
	ok(gnutls_x509_crt_init(&crt) >= 0 &&
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_verify(crt, &ca->crt, 1, 0, &status) >= 0 &&
	    status == 0, "%s: GnuTLS parses it and it verifies against its CA",
	    what);
	if (crt != NULL)
		facts_agree(crt, der, der_len, what);
	if (crt == NULL || !tbs_of(der, der_len, &tbs, &tlen) ||
	    !reference_tbs(ca, p, cn, sans, nsans, &spki, crt, &ref)) {
		ok(0, "%s: the reference build", what);
		goto out;
	}
	ok(ref.size == tlen && memcmp(ref.data, tbs, tlen) == 0,
	    "%s: the same TBSCertificate as GnuTLS's certificate API", what);
	if (ref.size != tlen || memcmp(ref.data, tbs, tlen) != 0)
		hexdump_diff(tbs, tlen, ref.data, ref.size);
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	free(ref.data);
	free(der);
	gnutls_free(spki.data);
}

static void
test_ca(const struct pki_ca *worker, const struct pki_ca *front,
    const char *ca_type)
{
	static const char *const sans[] = { "10.1.2.3", "node-1", "NODE-1",
	    "::1", "0:0::1", "node-1.swarm.example", "10.1.2.3" };
	static const struct {
		const char	*cn;
		size_t		 nsans;
	} names[] = {
		{ "node-1", 0 },
		{ "node-1", sizeof(sans) / sizeof(sans[0]) },
		{ "under_score", 2 },		/* not PrintableString */
		{ "Ops (night): A+B, C/D=E?", 0 },
		{ "\xc3\xa9quipe \xe2\x9c\x93", 0 },	/* UTF-8 */
	};
	static const enum pki_key_type subjects[] = {
		PKI_KEY_ECDSA_P256, PKI_KEY_RSA2048, PKI_KEY_ED25519,
	};
	char what[160];
	size_t p, n, s;

	for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++)
		for (s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++)
			for (n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
				snprintf(what, sizeof(what), "%s CA, %s, %s "
				    "key, \"%s\", %zu SANs", ca_type,
				    pki_ca_role_name(profiles[p].ca),
				    pki_key_type_name(subjects[s]),
				    names[n].cn, names[n].nsans);
				one(profiles[p].ca == PKI_CA_WORKER ? worker :
				    front, p, subjects[s], names[n].cn, sans,
				    names[n].nsans, what);
			}
}

static void
test_refusals(const struct pki_ca *worker, const char *ca_type)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const char *const bad_san[] = { "two words" };
	struct sc_error err = { SC_OK, "" };
	gnutls_datum_t spki = { NULL, 0 };
	unsigned char *der = NULL;
	size_t der_len = 0;

	is_int(pki_cert_build(worker, SIGNWIRE_WORKER, "node-2", 30, NULL, 0,
	    junk, sizeof(junk), &der, &der_len, &err), SC_INVALID,
	    "%s: what is not a public key is refused", ca_type);
	ok(der == NULL, "%s: ... and nothing is signed", ca_type);
	if (!subject_spki(PKI_KEY_ECDSA_P256, &spki)) {
		ok(0, "%s: a subject key", ca_type);
		return;
	}
	err.code = SC_OK;
	is_int(pki_cert_build(worker, SIGNWIRE_WORKER, "node-2", 30, bad_san,
	    1, spki.data, spki.size, &der, &der_len, &err), SC_INVALID,
	    "%s: a subjectAltName that is neither address nor DNS name is "
	    "refused", ca_type);
	err.code = SC_OK;
	is_int(pki_cert_build(worker, SIGNWIRE_OPERATOR, "node-2", 30, NULL, 0,
	    spki.data, spki.size, &der, &der_len, &err), SC_INTERNAL,
	    "%s: an operator certificate from the worker CA is refused",
	    ca_type);
	ok(der == NULL, "%s: ... and nothing is signed", ca_type);
	gnutls_free(spki.data);
}

static void
each_ca(struct pki_ca *worker, struct pki_ca *front, const char *ca_dir,
    const char *what)
{
	static bool times_done;

	(void)ca_dir;
	test_ca(worker, front, what);
	test_refusals(worker, what);
	facts_refusals(worker, what);
	if (!times_done) {
		test_time_read();
		times_done = true;
	}
}

int
main(void)
{
	static const enum pki_key_type types[] = {
		PKI_KEY_ECDSA_P384, PKI_KEY_ED25519, PKI_KEY_RSA2048,
	};

	return pt_each_ca("test_certder", types,
	    sizeof(types) / sizeof(types[0]), each_ca);
}
