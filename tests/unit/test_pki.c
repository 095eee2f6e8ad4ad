/*
 * Unit tests for src/pki/pki.c: the two CAs, worker and front (files,
 * modes, profiles, two distinct roots, idempotence, interrupted creation,
 * several processes creating them at once, loading with and without the
 * key and its failures, issuing refused with the wrong role's CA or a CA
 * without its key) and worker certificates (profile, SANs, serials, keys,
 * every key type, concurrent issuing from threads).  Certificates are
 * parsed back with GnuTLS and checked field by field.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/internal.h"	/* pki_key_export_pem */
#include "pki/pki.h"
#include "tap.h"
#include "testutil.h"

#define DAY	(24L * 60 * 60)
#define SLACK	30L	/* seconds of clock tolerance in validity checks */

#define WORKER_CA_DN	"CN=DECNET SWARM Root CA,O=DECNET"
#define FRONT_CA_DN	"CN=DECNET SWARM Front-end CA,O=DECNET"

/* Each CA's files, spelled out here rather than asked of pki.c. */
static const struct {
	enum pki_ca_role	 role;
	const char		*name, *crt, *key, *crt_tmp, *key_tmp, *crl;
	const char		*dn;
} roles[PKI_NCA_ROLES] = {
	{ PKI_CA_WORKER, "worker", "ca.crt", "ca.key", ".ca.crt.tmp",
	    ".ca.key.tmp", "crl.pem", WORKER_CA_DN },
	{ PKI_CA_FRONT, "front", "front-ca.crt", "front-ca.key",
	    ".front-ca.crt.tmp", ".front-ca.key.tmp", "front-crl.pem",
	    FRONT_CA_DN },
};

/* ------------------------------------------------------------ helpers */

/* A fresh scratch directory; the CA goes in <it>/ca (not yet created). */
static char *
scratch(char *ca_dir, size_t size)
{
	static char tmpl[64];

	snprintf(tmpl, sizeof(tmpl), "/var/tmp/test_pki.XXXXXX");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(ca_dir, size, "%s/ca", tmpl);
	return strdup(tmpl);
}

static char *
slurp(const char *dir, const char *name, size_t *lenp)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tu_read_file(path, lenp);
}

static int
mode_of(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
exists(const char *dir, const char *name)
{
	return mode_of(dir, name) != -1;
}

static int
starts_with(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static gnutls_x509_crt_t
crt_from_file(const char *dir, const char *name)
{
	gnutls_x509_crt_t crt;
	char *pem;

	pem = slurp(dir, name, NULL);
	crt = tu_crt_from_pem(pem);
	free(pem);
	return crt;
}

/* The RFC 4514 string (last RDN first): "CN=x,O=DECNET". */
static char *
dn_of(gnutls_x509_crt_t crt, int issuer)
{
	static char buf[2][512];
	gnutls_datum_t d = { NULL, 0 };
	int r;

	r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) :
	    gnutls_x509_crt_get_dn3(crt, &d, 0);
	if (r < 0)
		return NULL;
	snprintf(buf[issuer], sizeof(buf[issuer]), "%.*s", (int)d.size,
	    (char *)d.data);
	gnutls_free(d.data);
	return buf[issuer];
}

/* Criticality of the extension `oid`: 0, 1, or -1 if absent. */
static int
ext_critical(gnutls_x509_crt_t crt, const char *oid)
{
	char buf[128];
	size_t len;
	unsigned int i, crit;

	for (i = 0; ; i++) {
		len = sizeof(buf);
		if (gnutls_x509_crt_get_extension_info(crt, i, buf, &len,
		    &crit) < 0)
			return -1;
		if (strcmp(buf, oid) == 0)
			return (int)crit;
	}
}

static char *
dn_oid(gnutls_x509_crt_t crt, const char *oid)
{
	static char buf[256];
	size_t len = sizeof(buf);

	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &len) < 0)
		return NULL;
	return buf;
}

/* Lowercase hex SHA-256 of the DER, computed here, not by pki.c. */
static void
der_sha256_hex(gnutls_x509_crt_t crt, char out[65])
{
	gnutls_datum_t der = { NULL, 0 };
	unsigned char md[32];
	int i;

	out[0] = '\0';
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		return;
	i = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md);
	gnutls_free(der.data);
	if (i != 0)
		return;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Public key id of a PKCS#8 PEM key (must be PKCS#8, plain). */
static int
pkcs8_key_id(const char *pem, unsigned char *id, size_t *idlen)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d;
	int r;

	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned int)strlen(pem);
	if (gnutls_x509_privkey_init(&key) < 0)
		return -1;
	r = gnutls_x509_privkey_import_pkcs8(key, &d, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN);
	if (r == 0)
		r = gnutls_x509_privkey_get_key_id(key,
		    GNUTLS_KEYID_USE_SHA256, id, idlen);
	gnutls_x509_privkey_deinit(key);
	return r < 0 ? -1 : 0;
}

static int
key_matches_crt(const char *key_pem, gnutls_x509_crt_t crt)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (pkcs8_key_id(key_pem, a, &alen) == -1)
		return 0;
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) < 0)
		return 0;
	return alen == blen && memcmp(a, b, alen) == 0;
}

static int
serial_ok(gnutls_x509_crt_t crt, const unsigned char *want)
{
	unsigned char s[64];
	size_t len = sizeof(s);

	if (gnutls_x509_crt_get_serial(crt, s, &len) < 0)
		return 0;
	if (len != PKI_SERIAL_LEN || (s[0] & 0x80) || s[0] == 0)
		return 0;
	return want == NULL || memcmp(s, want, len) == 0;
}

/* ------------------------------------------------------------- CA */

/* The CA profile of CONTRACT.md "Certificates", field by field. */
static void
check_ca_profile(gnutls_x509_crt_t ca, const char *dn, gnutls_pk_algorithm_t pk,
    unsigned int bits, gnutls_sign_algorithm_t sign, const char *what)
{
	unsigned int crit = 99, ca_flag = 99, usage = 0, got_bits = 0;
	int pathlen = 99, r;
	unsigned char ski[64], aki[64];
	size_t skilen = sizeof(ski), akilen = sizeof(aki);
	time_t now = time(NULL), start, end;

	ok(ca != NULL, "%s: certificate parses", what);
	if (ca == NULL)
		return;
	is_int(gnutls_x509_crt_get_version(ca), 3, "%s: version 3", what);
	is_str(dn_of(ca, 0), dn, "%s: subject", what);
	is_str(dn_of(ca, 1), dn, "%s: issuer = subject", what);
	r = gnutls_x509_crt_get_basic_constraints(ca, &crit, &ca_flag,
	    &pathlen);
	is_int(r, 1, "%s: basicConstraints says CA", what);
	is_int(ca_flag, 1, "%s: CA:TRUE", what);
	is_int(crit, 1, "%s: basicConstraints critical", what);
	is_int(pathlen, 0, "%s: pathlen 0", what);
	crit = 99;
	r = gnutls_x509_crt_get_key_usage(ca, &usage, &crit);
	is_int(r, 0, "%s: has keyUsage", what);
	is_int(usage, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN |
	    GNUTLS_KEY_CRL_SIGN, "%s: keyUsage digitalSignature, "
	    "keyCertSign, cRLSign", what);
	is_int(crit, 1, "%s: keyUsage critical", what);
	start = gnutls_x509_crt_get_activation_time(ca);
	end = gnutls_x509_crt_get_expiration_time(ca);
	ok(start >= now - 300 - SLACK && start <= now - 300 + SLACK,
	    "%s: notBefore is now-5min (off by %ld s)", what,
	    (long)(start - (now - 300)));
	is_int(end - start, 3650 * DAY, "%s: valid for 10 years", what);
	is_int(gnutls_x509_crt_get_pk_algorithm(ca, &got_bits), pk,
	    "%s: key algorithm", what);
	if (bits != 0)
		is_int(got_bits, bits, "%s: key size", what);
	is_int(gnutls_x509_crt_get_signature_algorithm(ca), sign,
	    "%s: signature algorithm", what);
	ok(serial_ok(ca, NULL), "%s: 16-byte positive serial", what);
	ok(gnutls_x509_crt_get_subject_key_id(ca, ski, &skilen, NULL) == 0 &&
	    gnutls_x509_crt_get_authority_key_id(ca, aki, &akilen, NULL) == 0 &&
	    skilen == 20 && skilen == akilen && memcmp(ski, aki, skilen) == 0,
	    "%s: subject key id set, authority key id = subject key id", what);
	ok(tu_crt_verifies(ca, ca), "%s: self-signature verifies", what);
}

/* Both CAs' files and modes. */
static void
check_ca_files(const char *ca_dir, const char *what)
{
	char *key;
	size_t i;

	is_int(mode_of(ca_dir, "."), 0700, "%s: CA_DIR is 0700", what);
	is_int(mode_of(ca_dir, "workers"), 0700, "%s: workers is 0700", what);
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		is_int(mode_of(ca_dir, roles[i].key), 0600, "%s: %s is 0600",
		    what, roles[i].key);
		is_int(mode_of(ca_dir, roles[i].crt), 0644, "%s: %s is 0644",
		    what, roles[i].crt);
		key = slurp(ca_dir, roles[i].key, NULL);
		ok(starts_with(key, "-----BEGIN PRIVATE KEY-----\n"),
		    "%s: %s is PKCS#8 PEM", what, roles[i].key);
		ok(!exists(ca_dir, roles[i].key_tmp) &&
		    !exists(ca_dir, roles[i].crt_tmp),
		    "%s: no temporary files of the %s CA left", what,
		    roles[i].name);
		if (key != NULL) {
			memset(key, 0, strlen(key));
			free(key);
		}
	}
}

/* The SHA-256 key id of a certificate's public key ("" if none). */
static void
crt_key_id_hex(gnutls_x509_crt_t crt, char out[65])
{
	unsigned char id[32];
	size_t len = sizeof(id), i;

	out[0] = '\0';
	if (crt == NULL || gnutls_x509_crt_get_key_id(crt,
	    GNUTLS_KEYID_USE_SHA256, id, &len) < 0 || len != sizeof(id))
		return;
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static void
test_key_type_names(void)
{
	static const struct {
		const char		*name;
		enum pki_key_type	 type;
	} good[] = {
		{ "rsa-2048", PKI_KEY_RSA2048 },
		{ "rsa-3072", PKI_KEY_RSA3072 },
		{ "rsa-4096", PKI_KEY_RSA4096 },
		{ "ecdsa-p256", PKI_KEY_ECDSA_P256 },
		{ "ecdsa-p384", PKI_KEY_ECDSA_P384 },
		{ "ed25519", PKI_KEY_ED25519 },
	};
	static const char *bad[] = { "", "rsa", "rsa-1024", "RSA-2048",
	    "ecdsa-p521", "ed448", "rsa-2048 ", "dsa-2048" };
	enum pki_key_type t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = PKI_KEY_ED25519 + 1;
		is_int(pki_key_type_parse(good[i].name, &t), 0,
		    "parse \"%s\"", good[i].name);
		is_int(t, good[i].type, "\"%s\" is the right type",
		    good[i].name);
		/* (Not `name` in the message: gcc -O2 -Wformat-overflow
		 * threads is_str's NULL check into a false positive.) */
		is_str(pki_key_type_name(good[i].type), good[i].name,
		    "key type name %zu round-trips", i);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(pki_key_type_parse(bad[i], &t), -1,
		    "reject \"%s\"", bad[i]);
	is_int(pki_key_type_parse(NULL, &t), -1, "reject NULL");
	is_int(PKI_DEFAULT_CA_KEY, PKI_KEY_RSA4096, "default CA key RSA-4096");
	is_int(PKI_DEFAULT_WORKER_KEY, PKI_KEY_RSA2048,
	    "default worker key RSA-2048");
}

/* Both CAs in CA_DIR; returns the scratch dir to remove. */
static char *
make_ca(char *ca_dir, size_t size, enum pki_key_type type)
{
	struct sc_error err;
	bool created[PKI_NCA_ROLES] = { false, false };
	char *top;

	top = scratch(ca_dir, size);
	sc_error_clear(&err);
	is_int(pki_ca_init(ca_dir, type, created, &err), SC_OK,
	    "create %s CAs (%s)", pki_key_type_name(type), err.msg);
	ok(created[PKI_CA_WORKER] && created[PKI_CA_FRONT],
	    "both CAs reported created");
	return top;
}

/* Load role's CA with its key, asserting success. */
static struct pki_ca *
load_role(const char *ca_dir, enum pki_ca_role role)
{
	struct pki_ca *ca = NULL;
	struct sc_error err;

	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, role, &ca, &err), SC_OK, "load %s CA (%s)",
	    pki_ca_role_name(role), err.msg);
	return ca;
}

static void
test_ca_ecdsa(void)
{
	char ca_dir[PATH_MAX], fp[65], kid[PKI_NCA_ROLES][65], *top;
	char *crt1[PKI_NCA_ROLES], *crt2[PKI_NCA_ROLES];
	char *key1[PKI_NCA_ROLES], *key2[PKI_NCA_ROLES];
	struct pki_ca *ca = NULL;
	struct sc_error err;
	gnutls_x509_crt_t crt[PKI_NCA_ROLES];
	bool created[PKI_NCA_ROLES] = { true, true };
	size_t i;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	check_ca_files(ca_dir, "P-256 CAs");
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		char what[64];

		snprintf(what, sizeof(what), "P-256 %s CA", roles[i].name);
		crt[i] = crt_from_file(ca_dir, roles[i].crt);
		check_ca_profile(crt[i], roles[i].dn, GNUTLS_PK_ECDSA, 256,
		    GNUTLS_SIGN_ECDSA_SHA256, what);
		crt_key_id_hex(crt[i], kid[i]);
	}

	/* Two roots: neither key, subject nor signature is shared. */
	ok(kid[0][0] != '\0' && strcmp(kid[0], kid[1]) != 0,
	    "the two CAs have different keys");
	/* (dn_of returns one static buffer per kind: issuer vs subject.) */
	ok(crt[0] != NULL && crt[1] != NULL &&
	    strcmp(dn_of(crt[0], 0), dn_of(crt[1], 1)) != 0,
	    "the two CAs have different subjects");
	ok(crt[0] != NULL && crt[1] != NULL &&
	    !tu_crt_verifies(crt[0], crt[1]) &&
	    !tu_crt_verifies(crt[1], crt[0]),
	    "neither CA certificate verifies against the other");

	/* A second init, even asking for another type, changes nothing. */
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		crt1[i] = slurp(ca_dir, roles[i].crt, NULL);
		key1[i] = slurp(ca_dir, roles[i].key, NULL);
	}
	sc_error_clear(&err);
	is_int(pki_ca_init(ca_dir, PKI_KEY_RSA2048, created, &err), SC_OK,
	    "second init succeeds");
	ok(!created[PKI_CA_WORKER] && !created[PKI_CA_FRONT],
	    "second init creates neither CA");
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		crt2[i] = slurp(ca_dir, roles[i].crt, NULL);
		key2[i] = slurp(ca_dir, roles[i].key, NULL);
		ok(crt1[i] && crt2[i] && strcmp(crt1[i], crt2[i]) == 0,
		    "%s unchanged", roles[i].crt);
		ok(key1[i] && key2[i] && strcmp(key1[i], key2[i]) == 0,
		    "%s unchanged", roles[i].key);
	}

	for (i = 0; i < PKI_NCA_ROLES; i++) {
		ca = load_role(ca_dir, roles[i].role);
		ok(ca != NULL, "load returns the %s CA", roles[i].name);
		if (ca == NULL)
			continue;
		is_int(pki_ca_role(ca), roles[i].role, "%s CA: its role",
		    roles[i].name);
		is_str(pki_ca_cert_pem(ca), crt1[i], "%s CA: cert PEM is %s",
		    roles[i].name, roles[i].crt);
		fp[0] = '\0';
		if (crt[i] != NULL)
			der_sha256_hex(crt[i], fp);
		is_str(pki_ca_fingerprint(ca), fp, "%s CA: fingerprint is the "
		    "SHA-256 of the DER", roles[i].name);
		is_str(pki_ca_subject(ca), roles[i].dn, "%s CA: subject",
		    roles[i].name);
		pki_ca_free(ca);

		/* The certificate alone: same identity. */
		ca = NULL;
		sc_error_clear(&err);
		is_int(pki_ca_load_cert(ca_dir, roles[i].role, &ca, &err),
		    SC_OK, "load the %s CA certificate alone (%s)",
		    roles[i].name, err.msg);
		ok(ca != NULL && pki_ca_role(ca) == roles[i].role &&
		    strcmp(pki_ca_fingerprint(ca), fp) == 0 &&
		    strcmp(pki_ca_subject(ca), roles[i].dn) == 0 &&
		    strcmp(pki_ca_cert_pem(ca), crt1[i]) == 0,
		    "%s CA certificate alone: same role, fingerprint, "
		    "subject, PEM", roles[i].name);
		pki_ca_free(ca);
		ca = NULL;

		/* (Role numbers in the messages: see test_key_type_names.) */
		is_str(pki_ca_role_name(roles[i].role), roles[i].name,
		    "pki_ca_role_name(%zu)", i);
		is_str(pki_ca_cert_file(roles[i].role), roles[i].crt,
		    "pki_ca_cert_file(%zu)", i);
		is_str(pki_ca_crl_file(roles[i].role), roles[i].crl,
		    "pki_ca_crl_file(%zu)", i);
	}
	pki_ca_free(NULL);

	for (i = 0; i < PKI_NCA_ROLES; i++) {
		free(crt1[i]);
		free(crt2[i]);
		free(key1[i]);
		free(key2[i]);
		if (crt[i] != NULL)
			gnutls_x509_crt_deinit(crt[i]);
	}
	tu_rm_rf(top);
	free(top);
}

static void
write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	if (fd != -1)
		close(fd);
}

/* One CA's interrupted creation, missing key, foreign key, corruption. */
static void
test_ca_recovery_role(size_t r)
{
	const size_t o = 1 - r;		/* the other CA */
	char ca_dir[PATH_MAX], other[PATH_MAX], path[PATH_MAX + 64];
	char *top, *top2, *crt1, *crt2, *key, *ocrt1, *ocrt2, *okey1, *okey2;
	bool created[PKI_NCA_ROLES];
	struct pki_ca *ca = NULL;
	struct sc_error err;

	/* A key without its certificate: an interrupted creation, redone. */
	top = scratch(ca_dir, sizeof(ca_dir));
	is_int(mkdir(ca_dir, 0700), 0, "mkdir CA_DIR");
	write_text(ca_dir, roles[r].key, "stale half-created key\n", 0600);
	write_text(ca_dir, roles[r].key_tmp, "leftover temp\n", 0600);
	sc_error_clear(&err);
	is_int(pki_ca_init(ca_dir, PKI_KEY_ECDSA_P256, created, &err), SC_OK,
	    "%s: init after an interrupted creation (%s)", roles[r].name,
	    err.msg);
	ok(created[r], "%s: reported created", roles[r].name);
	key = slurp(ca_dir, roles[r].key, NULL);
	ok(starts_with(key, "-----BEGIN PRIVATE KEY-----"),
	    "%s: stale %s replaced by a real key", roles[r].name,
	    roles[r].key);
	free(key);
	ok(exists(ca_dir, roles[r].crt), "%s: %s created", roles[r].name,
	    roles[r].crt);
	ok(!exists(ca_dir, roles[r].key_tmp), "%s: leftover temp removed",
	    roles[r].name);
	ca = load_role(ca_dir, roles[r].role);
	pki_ca_free(ca);
	ca = NULL;

	/* Only this CA missing: it alone is created, the other kept. */
	ocrt1 = slurp(ca_dir, roles[o].crt, NULL);
	okey1 = slurp(ca_dir, roles[o].key, NULL);
	crt1 = slurp(ca_dir, roles[r].crt, NULL);
	snprintf(path, sizeof(path), "%s/%s", ca_dir, roles[r].crt);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/%s", ca_dir, roles[r].key);
	(void)unlink(path);
	sc_error_clear(&err);
	is_int(pki_ca_init(ca_dir, PKI_KEY_ECDSA_P256, created, &err), SC_OK,
	    "%s: init with only this CA missing (%s)", roles[r].name,
	    err.msg);
	ok(created[r] && !created[o], "%s: only it is reported created",
	    roles[r].name);
	crt2 = slurp(ca_dir, roles[r].crt, NULL);
	ok(crt1 && crt2 && strcmp(crt1, crt2) != 0, "%s: a new %s",
	    roles[r].name, roles[r].crt);
	ocrt2 = slurp(ca_dir, roles[o].crt, NULL);
	okey2 = slurp(ca_dir, roles[o].key, NULL);
	ok(ocrt1 && ocrt2 && strcmp(ocrt1, ocrt2) == 0 && okey1 && okey2 &&
	    strcmp(okey1, okey2) == 0, "%s: the %s CA left alone",
	    roles[r].name, roles[o].name);
	free(crt1);
	free(crt2);
	free(ocrt1);
	free(ocrt2);
	free(okey1);
	free(okey2);

	/* A certificate without its key: not ours to replace. */
	snprintf(path, sizeof(path), "%s/%s", ca_dir, roles[r].key);
	crt1 = slurp(ca_dir, roles[r].crt, NULL);
	(void)unlink(path);
	sc_error_clear(&err);
	is_int(pki_ca_init(ca_dir, PKI_KEY_ECDSA_P256, created, &err),
	    SC_CA_UNAVAILABLE, "%s: %s without %s is refused", roles[r].name,
	    roles[r].crt, roles[r].key);
	ok(strstr(err.msg, roles[r].key) != NULL, "%s: error names %s: %s",
	    roles[r].name, roles[r].key, err.msg);
	ok(!created[r], "%s: not reported created", roles[r].name);
	crt2 = slurp(ca_dir, roles[r].crt, NULL);
	ok(crt1 && crt2 && strcmp(crt1, crt2) == 0, "%s: %s left alone",
	    roles[r].name, roles[r].crt);
	ok(!exists(ca_dir, roles[r].key), "%s: no key invented",
	    roles[r].name);
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, roles[r].role, &ca, &err),
	    SC_CA_UNAVAILABLE, "%s: load without %s fails", roles[r].name,
	    roles[r].key);
	ok(ca == NULL && strstr(err.msg, ca_dir) != NULL,
	    "%s: error names the path: %s", roles[r].name, err.msg);
	sc_error_clear(&err);
	is_int(pki_ca_load_cert(ca_dir, roles[r].role, &ca, &err), SC_OK,
	    "%s: the certificate alone still loads (%s)", roles[r].name,
	    err.msg);
	pki_ca_free(ca);
	ca = NULL;
	ca = load_role(ca_dir, roles[o].role);
	pki_ca_free(ca);
	ca = NULL;

	/* The other CA's key, from the same directory. */
	key = slurp(ca_dir, roles[o].key, NULL);
	write_text(ca_dir, roles[r].key, key != NULL ? key : "", 0600);
	free(key);
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, roles[r].role, &ca, &err),
	    SC_CA_UNAVAILABLE, "%s: load with the %s CA's key fails",
	    roles[r].name, roles[o].name);
	ok(strstr(err.msg, "does not belong") != NULL, "%s: says why: %s",
	    roles[r].name, err.msg);

	/* The same role's key from another CA_DIR. */
	top2 = make_ca(other, sizeof(other), PKI_KEY_ECDSA_P256);
	key = slurp(other, roles[r].key, NULL);
	write_text(ca_dir, roles[r].key, key != NULL ? key : "", 0600);
	free(key);
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, roles[r].role, &ca, &err),
	    SC_CA_UNAVAILABLE, "%s: load with another %s CA's key fails",
	    roles[r].name, roles[r].name);
	ok(strstr(err.msg, "does not belong") != NULL, "%s: says why: %s",
	    roles[r].name, err.msg);

	/* Garbage certificate. */
	write_text(other, roles[r].crt, "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n", 0644);
	sc_error_clear(&err);
	is_int(pki_ca_load(other, roles[r].role, &ca, &err),
	    SC_CA_UNAVAILABLE, "%s: load with a corrupt %s fails",
	    roles[r].name, roles[r].crt);
	ok(strstr(err.msg, roles[r].crt) != NULL, "%s: error names %s: %s",
	    roles[r].name, roles[r].crt, err.msg);
	sc_error_clear(&err);
	is_int(pki_ca_load_cert(other, roles[r].role, &ca, &err),
	    SC_CA_UNAVAILABLE, "%s: so does loading the certificate alone",
	    roles[r].name);
	ok(ca == NULL, "%s: no CA returned", roles[r].name);

	free(crt1);
	free(crt2);
	tu_rm_rf(top);
	tu_rm_rf(top2);
	free(top);
	free(top2);
}

static void
test_ca_recovery(void)
{
	char ca_dir[PATH_MAX], path[PATH_MAX + 64], *top;
	bool created[PKI_NCA_ROLES] = { true, true };
	struct pki_ca *ca = NULL;
	struct sc_error err;
	size_t i;

	test_ca_recovery_role(PKI_CA_WORKER);
	test_ca_recovery_role(PKI_CA_FRONT);

	/* No CA at all: an empty CA_DIR, then a missing one. */
	top = scratch(ca_dir, sizeof(ca_dir));
	is_int(mkdir(ca_dir, 0700), 0, "mkdir an empty CA_DIR");
	for (i = 0; i < PKI_NCA_ROLES; i++) {
		sc_error_clear(&err);
		is_int(pki_ca_load(ca_dir, roles[i].role, &ca, &err),
		    SC_CA_UNAVAILABLE, "%s: load from an empty directory "
		    "fails", roles[i].name);
		ok(ca == NULL && strstr(err.msg, "swarmctl init") != NULL,
		    "%s: no CA, and the error says to run swarmctl init: %s",
		    roles[i].name, err.msg);
		sc_error_clear(&err);
		is_int(pki_ca_load_cert(ca_dir, roles[i].role, &ca, &err),
		    SC_CA_UNAVAILABLE, "%s: certificate alone from an empty "
		    "directory fails", roles[i].name);
		ok(ca == NULL && strstr(err.msg, "swarmctl init") != NULL,
		    "%s: ... saying to run swarmctl init", roles[i].name);
	}
	ok(!exists(ca_dir, roles[0].crt) && !exists(ca_dir, roles[1].crt) &&
	    !exists(ca_dir, "workers"), "loading creates nothing");
	snprintf(path, sizeof(path), "%s/nonexistent", top);
	sc_error_clear(&err);
	is_int(pki_ca_load(path, PKI_CA_WORKER, &ca, &err), SC_CA_UNAVAILABLE,
	    "load from a missing directory fails");
	ok(ca == NULL && strstr(err.msg, "swarmctl init") != NULL,
	    "no CA returned, swarmctl init suggested");
	ok(!exists(path, "."), "loading did not create the directory");

	/* Group/other bits on an existing CA_DIR: kept (warned about). */
	snprintf(path, sizeof(path), "%s/loose", top);
	is_int(mkdir(path, 0755), 0, "mkdir a 0755 CA_DIR");
	(void)chmod(path, 0755);
	sc_error_clear(&err);
	is_int(pki_ca_init(path, PKI_KEY_ECDSA_P256, created, &err), SC_OK,
	    "init in an existing 0755 directory");
	is_int(mode_of(path, "."), 0755, "its mode is left alone");
	is_int(mode_of(path, "ca.key"), 0600, "ca.key still 0600");
	is_int(mode_of(path, "front-ca.key"), 0600, "front-ca.key still 0600");

	/* Nested, missing parents. */
	snprintf(path, sizeof(path), "%s/a/b/ca/", top);
	sc_error_clear(&err);
	is_int(pki_ca_init(path, PKI_KEY_ECDSA_P256, created, &err), SC_OK,
	    "init creates missing parents (%s)", err.msg);
	ok(created[PKI_CA_WORKER] && created[PKI_CA_FRONT],
	    "... and both CAs there");
	is_int(mode_of(path, "."), 0700, "nested CA_DIR is 0700");

	snprintf(path, sizeof(path), "%s/unknown-type", top);
	created[0] = created[1] = true;
	sc_error_clear(&err);
	is_int(pki_ca_init(path, (enum pki_key_type)99, created, &err),
	    SC_INTERNAL, "unknown key type refused");
	ok(!created[PKI_CA_WORKER] && !created[PKI_CA_FRONT] &&
	    !exists(path, roles[0].crt) && !exists(path, roles[1].crt),
	    "... and nothing created");

	tu_rm_rf(top);
	free(top);
}

/*
 * Several processes start at once on an empty directory: one CA of each
 * role.  RSA-2048 makes creation slow enough that, without the lock, each
 * would make its own.  Every child reports the SHA-256 of the ca.crt and
 * front-ca.crt it ended up with, and which CAs it says it created.
 */
struct concurrent_report {
	unsigned char	 md[PKI_NCA_ROLES][32];
	unsigned char	 created[PKI_NCA_ROLES];
};

static void
test_ca_concurrent(void)
{
	enum { NPROC = 4 };
	char ca_dir[PATH_MAX], *top;
	struct concurrent_report seen[NPROC];
	int go[2], res[2], i, status, all_ok = 1, same = 1, n = 0;
	int ncreated[PKI_NCA_ROLES] = { 0, 0 };
	size_t r;
	pid_t pids[NPROC];
	DIR *d;

	top = scratch(ca_dir, sizeof(ca_dir));
	if (pipe(go) == -1 || pipe(res) == -1) {
		perror("pipe");
		exit(2);
	}
	for (i = 0; i < NPROC; i++) {
		if ((pids[i] = fork()) == 0) {
			struct concurrent_report rep;
			struct sc_error err;
			bool created[PKI_NCA_ROLES];
			char c, *pem;
			size_t len;

			close(go[1]);
			(void)read(go[0], &c, 1);	/* EOF: everyone go */
			sc_error_clear(&err);
			if (pki_ca_init(ca_dir, PKI_KEY_RSA2048, created,
			    &err) != SC_OK)
				_exit(1);
			memset(&rep, 0, sizeof(rep));
			for (r = 0; r < PKI_NCA_ROLES; r++) {
				rep.created[r] = created[r];
				if ((pem = slurp(ca_dir, roles[r].crt,
				    &len)) == NULL ||
				    gnutls_hash_fast(GNUTLS_DIG_SHA256, pem,
				    len, rep.md[r]) != 0)
					_exit(2);
				free(pem);
			}
			/* Under PIPE_BUF: one atomic write per child. */
			if (write(res[1], &rep, sizeof(rep)) !=
			    (ssize_t)sizeof(rep))
				_exit(2);
			free(top);	/* the parent's copy: valgrind-clean */
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	close(res[1]);
	for (i = 0; i < NPROC; i++) {
		if (waitpid(pids[i], &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			all_ok = 0;
	}
	ok(all_ok, "%d concurrent inits all succeed", NPROC);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NPROC; i++)
		if (read(res[0], &seen[i], sizeof(seen[i])) !=
		    (ssize_t)sizeof(seen[i]))
			break;
	close(res[0]);
	is_int(i, NPROC, "every process reported its CA certificates");
	for (i = 0; i < NPROC; i++)
		for (r = 0; r < PKI_NCA_ROLES; r++) {
			if (memcmp(seen[0].md[r], seen[i].md[r], 32) != 0)
				same = 0;
			ncreated[r] += seen[i].created[r];
		}
	ok(same, "all processes see the same ca.crt and front-ca.crt: one CA "
	    "of each role");
	ok(memcmp(seen[0].md[0], seen[0].md[1], 32) != 0,
	    "... and the two are different certificates");
	is_int(ncreated[PKI_CA_WORKER], 1, "exactly one process created the "
	    "worker CA");
	is_int(ncreated[PKI_CA_FRONT], 1, "exactly one process created the "
	    "front CA");
	check_ca_files(ca_dir, "concurrent CAs");
	if ((d = opendir(ca_dir)) != NULL) {
		struct dirent *de;

		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				n++;
		closedir(d);
	}
	is_int(n, 6, "CA_DIR holds exactly .lock, ca.crt, ca.key, "
	    "front-ca.crt, front-ca.key, workers");
	tu_rm_rf(top);
	free(top);
}

/* ----------------------------------------------------------- roles */

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

/* A refused issue: SC_INTERNAL, a message, and nothing handed out. */
static void
check_refused(enum sc_err rc, const struct sc_error *err,
    const struct pki_issued *iss, const char *what)
{
	is_int(rc, SC_INTERNAL, "%s: refused with SC_INTERNAL", what);
	ok(err->msg[0] != '\0', "%s: says why: %s", what, err->msg);
	ok(iss->cert_pem == NULL && iss->key_pem == NULL &&
	    iss->key_pem_len == 0 && iss->fingerprint[0] == '\0',
	    "%s: nothing handed out", what);
}

/*
 * Each kind of certificate comes from its own CA only: workers from the
 * worker CA, operators and servers from the front CA; a CA loaded
 * without its key signs nothing.
 */
static void
test_ca_roles(void)
{
	static const char *sans[] = { "10.0.0.9", "r.example" };
	char ca_dir[PATH_MAX], *top;
	struct pki_ca *worker, *front, *worker_cert = NULL, *front_cert = NULL;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t wcrt, fcrt, crt;
	int before;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	worker = load_role(ca_dir, PKI_CA_WORKER);
	front = load_role(ca_dir, PKI_CA_FRONT);
	sc_error_clear(&err);
	is_int(pki_ca_load_cert(ca_dir, PKI_CA_WORKER, &worker_cert, &err),
	    SC_OK, "worker CA certificate alone loads");
	sc_error_clear(&err);
	is_int(pki_ca_load_cert(ca_dir, PKI_CA_FRONT, &front_cert, &err),
	    SC_OK, "front CA certificate alone loads");
	wcrt = crt_from_file(ca_dir, "ca.crt");
	fcrt = crt_from_file(ca_dir, "front-ca.crt");
	if (worker == NULL || front == NULL || worker_cert == NULL ||
	    front_cert == NULL || wcrt == NULL || fcrt == NULL)
		goto out;
	is_int(pki_ca_role(worker), PKI_CA_WORKER, "worker CA's role");
	is_int(pki_ca_role(front), PKI_CA_FRONT, "front CA's role");
	is_int(pki_ca_role(front_cert), PKI_CA_FRONT,
	    "front CA certificate's role");
	before = count_entries(ca_dir);

	/* The wrong role's CA. */
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_worker(front, "w", sans, 2,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "worker from the front CA");
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_operator(worker, "alice", 30,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "operator from the worker CA");
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_server(worker, "swarm.example", sans, 2,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "server from the worker CA");

	/* The right role, but no key. */
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_worker(worker_cert, "w", sans, 2,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "worker from the worker CA loaded without its key");
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_operator(front_cert, "alice", 30,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "operator from the front CA loaded without its key");
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_server(front_cert, "swarm.example", sans, 2,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "server from the front CA loaded without its key");
	/* Nor does the wrong role without a key get further. */
	memset(&iss, 0x5a, sizeof(iss));
	sc_error_clear(&err);
	check_refused(pki_issue_worker(front_cert, "w", NULL, 0,
	    PKI_KEY_ECDSA_P256, &iss, &err), &err, &iss,
	    "worker from the front CA certificate alone");
	is_int(count_entries(ca_dir), before,
	    "refused issues leave no file in CA_DIR");

	/* Controls: the right CA issues, and only it vouches. */
	sc_error_clear(&err);
	is_int(pki_issue_worker(worker, "w", sans, 2, PKI_KEY_ECDSA_P256,
	    &iss, &err), SC_OK, "worker from the worker CA (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && tu_crt_verifies(crt, wcrt) &&
	    !tu_crt_verifies(crt, fcrt),
	    "worker: verifies against the worker CA, not the front CA");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);
	sc_error_clear(&err);
	is_int(pki_issue_operator(front, "alice", 30, PKI_KEY_ECDSA_P256,
	    &iss, &err), SC_OK, "operator from the front CA (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && tu_crt_verifies(crt, fcrt) &&
	    !tu_crt_verifies(crt, wcrt),
	    "operator: verifies against the front CA, not the worker CA");
	is_str(crt != NULL ? dn_of(crt, 1) : NULL, FRONT_CA_DN,
	    "operator: issuer is the front CA");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);
	sc_error_clear(&err);
	is_int(pki_issue_server(front, "swarm.example", sans, 2,
	    PKI_KEY_ECDSA_P256, &iss, &err), SC_OK,
	    "server from the front CA (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && tu_crt_verifies(crt, fcrt) &&
	    !tu_crt_verifies(crt, wcrt),
	    "server: verifies against the front CA, not the worker CA");
	is_str(crt != NULL ? dn_of(crt, 1) : NULL, FRONT_CA_DN,
	    "server: issuer is the front CA");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);
out:
	if (wcrt != NULL)
		gnutls_x509_crt_deinit(wcrt);
	if (fcrt != NULL)
		gnutls_x509_crt_deinit(fcrt);
	pki_ca_free(worker);
	pki_ca_free(front);
	pki_ca_free(worker_cert);
	pki_ca_free(front_cert);
	tu_rm_rf(top);
	free(top);
}

/* ---------------------------------------------------------- workers */

struct want_san {
	int		 type;
	const char	*text;
};

static int
san_list_is(gnutls_x509_crt_t crt, const struct want_san *want, size_t n)
{
	unsigned char buf[512], bin[16];
	size_t i, len, binlen;

	for (i = 0; ; i++) {
		int type;

		len = sizeof(buf);
		type = gnutls_x509_crt_get_subject_alt_name(crt, (unsigned)i,
		    buf, &len, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type < 0 || i >= n || type != want[i].type) {
			printf("# SAN %zu: type %d\n", i, type);
			return 0;
		}
		if (type == GNUTLS_SAN_IPADDRESS) {
			binlen = strchr(want[i].text, ':') ? 16 : 4;
			if (inet_pton(binlen == 16 ? AF_INET6 : AF_INET,
			    want[i].text, bin) != 1 || len != binlen ||
			    memcmp(buf, bin, binlen) != 0) {
				printf("# SAN %zu: wrong address\n", i);
				return 0;
			}
		} else if (len != strlen(want[i].text) ||
		    memcmp(buf, want[i].text, len) != 0) {
			printf("# SAN %zu: \"%.*s\"\n", i, (int)len, buf);
			return 0;
		}
	}
	return i == n;
}

static int
eku_is_server_client(gnutls_x509_crt_t crt)
{
	char oid[128];
	size_t len;
	unsigned int crit = 99;
	int i, server = 0, client = 0;

	for (i = 0; ; i++) {
		len = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, (unsigned)i, oid,
		    &len, &crit) < 0)
			break;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0)
			server++;
		else if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			client++;
		else
			return 0;
	}
	return i == 2 && server == 1 && client == 1 && crit == 1;
}

/* The worker profile of CONTRACT.md, against `ca`. */
static void
check_worker(const struct pki_issued *iss, gnutls_x509_crt_t ca,
    const char *name, unsigned int usage_want, gnutls_sign_algorithm_t sign,
    const char *what)
{
	gnutls_x509_crt_t crt;
	unsigned int crit = 99, ca_flag = 99, usage = 0;
	unsigned char id[64], caid[64];
	size_t idlen = sizeof(id), caidlen = sizeof(caid);
	char fp[65], dn[512];
	time_t now = time(NULL), start, end;
	gnutls_datum_t pem = { NULL, 0 };
	int pathlen = 99;

	crt = tu_crt_from_pem(iss->cert_pem);
	ok(crt != NULL, "%s: cert_pem parses", what);
	if (crt == NULL)
		return;
	is_int(gnutls_x509_crt_get_version(crt), 3, "%s: version 3", what);
	is_str(dn_oid(crt, GNUTLS_OID_X520_COMMON_NAME), name, "%s: CN", what);
	is_str(dn_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME), "DECNET",
	    "%s: O", what);
	is_str(dn_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME),
	    "swarm-worker", "%s: OU", what);
	snprintf(dn, sizeof(dn), "CN=%s,OU=swarm-worker,O=DECNET", name);
	is_str(dn_of(crt, 0), dn, "%s: subject DN", what);
	is_str(iss->subject, dn, "%s: subject as reported", what);
	is_str(dn_of(crt, 1), WORKER_CA_DN, "%s: issuer is the worker CA",
	    what);
	ok(serial_ok(crt, iss->serial),
	    "%s: serial is 16 bytes, positive, as reported", what);
	start = gnutls_x509_crt_get_activation_time(crt);
	end = gnutls_x509_crt_get_expiration_time(crt);
	ok(start >= now - 300 - SLACK && start <= now - 300 + SLACK,
	    "%s: notBefore is now-5min", what);
	is_int(end - start, PKI_WORKER_DAYS_DEFAULT * DAY,
	    "%s: valid for the default --worker-days (90)", what);
	is_int(iss->not_after, end, "%s: notAfter as reported", what);
	is_int(gnutls_x509_crt_get_basic_constraints(crt, &crit, &ca_flag,
	    &pathlen), 0, "%s: basicConstraints CA:FALSE", what);
	is_int(crit, 1, "%s: basicConstraints critical", what);
	crit = 99;
	is_int(gnutls_x509_crt_get_key_usage(crt, &usage, &crit), 0,
	    "%s: has keyUsage", what);
	is_int(usage, usage_want, "%s: keyUsage bits", what);
	is_int(crit, 1, "%s: keyUsage critical", what);
	ok(eku_is_server_client(crt),
	    "%s: EKU exactly serverAuth + clientAuth, critical", what);
	is_int(gnutls_x509_crt_get_signature_algorithm(crt), sign,
	    "%s: signature algorithm", what);
	ok(tu_crt_verifies(crt, ca), "%s: verifies against the CA", what);
	der_sha256_hex(crt, fp);
	is_str(iss->fingerprint, fp, "%s: fingerprint = SHA-256 of DER", what);
	ok(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) == 0 &&
	    pem.size == strlen(iss->cert_pem) &&
	    memcmp(pem.data, iss->cert_pem, pem.size) == 0,
	    "%s: cert_pem is the PEM GnuTLS writes of it", what);
	gnutls_free(pem.data);
	ok(starts_with(iss->key_pem, "-----BEGIN PRIVATE KEY-----\n"),
	    "%s: key is PKCS#8 PEM", what);
	is_int(iss->key_pem_len, iss->key_pem ? strlen(iss->key_pem) : 0,
	    "%s: key_pem_len", what);
	ok(key_matches_crt(iss->key_pem, crt), "%s: key matches cert", what);
	ok(gnutls_x509_crt_get_authority_key_id(crt, id, &idlen, NULL) == 0 &&
	    gnutls_x509_crt_get_subject_key_id(ca, caid, &caidlen, NULL) == 0 &&
	    idlen == caidlen && memcmp(id, caid, idlen) == 0,
	    "%s: authority key id = CA subject key id", what);
	idlen = sizeof(id);
	ok(gnutls_x509_crt_get_subject_key_id(crt, id, &idlen, NULL) == 0 &&
	    idlen == 20, "%s: subject key id set", what);
	gnutls_x509_crt_deinit(crt);
}

static void
test_worker_profile(void)
{
	static const char *sans[] = { "10.0.0.5", "worker-1.example",
	    "10.0.0.5", "::1", "0:0::1", "WORKER-1.example",
	    /* address, then name, as the enroll handler passes them */
	    "10.0.0.5", "worker-1" };
	static const struct want_san want[] = {
		{ GNUTLS_SAN_IPADDRESS, "10.0.0.5" },
		{ GNUTLS_SAN_DNSNAME, "worker-1.example" },
		{ GNUTLS_SAN_IPADDRESS, "::1" },
		{ GNUTLS_SAN_DNSNAME, "worker-1" },
	};
	char ca_dir[PATH_MAX], other_dir[PATH_MAX], *top, *top2;
	struct pki_issued iss, iss2;
	struct pki_ca *ca = NULL;
	struct sc_error err;
	gnutls_x509_crt_t cacrt, othercrt, frontcrt, crt;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	ca = load_role(ca_dir, PKI_CA_WORKER);
	cacrt = crt_from_file(ca_dir, "ca.crt");
	if (ca == NULL || cacrt == NULL)
		return;

	sc_error_clear(&err);
	is_int(pki_issue_worker(ca, "worker-1", sans,
	    sizeof(sans) / sizeof(sans[0]), PKI_KEY_RSA2048, &iss, &err),
	    SC_OK, "issue RSA-2048 worker (%s)", err.msg);
	check_worker(&iss, cacrt, "worker-1", GNUTLS_KEY_DIGITAL_SIGNATURE |
	    GNUTLS_KEY_KEY_ENCIPHERMENT, GNUTLS_SIGN_ECDSA_SHA256, "worker-1");
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && san_list_is(crt, want, sizeof(want) /
	    sizeof(want[0])), "SANs deduplicated, IPs as iPAddress, in order");
	/* RFC 5280 4.2.1.6: critical only when the subject is empty. */
	is_int(crt != NULL ? ext_critical(crt, "2.5.29.17") : -2, 0,
	    "subjectAltName present and not critical");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);

	/* Another CA must not vouch for it: verification can fail. */
	top2 = make_ca(other_dir, sizeof(other_dir), PKI_KEY_ECDSA_P256);
	othercrt = crt_from_file(other_dir, "ca.crt");
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && othercrt != NULL && !tu_crt_verifies(crt, othercrt),
	    "does not verify against another CA");
	/* Nor the front CA beside it: trusting the front end's root must
	 * never mean trusting a worker. */
	frontcrt = crt_from_file(ca_dir, "front-ca.crt");
	ok(crt != NULL && frontcrt != NULL && !tu_crt_verifies(crt, frontcrt),
	    "a worker certificate does not verify against the front CA");
	if (frontcrt != NULL)
		gnutls_x509_crt_deinit(frontcrt);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);

	/* Two issues: different serials, keys, fingerprints. */
	sc_error_clear(&err);
	is_int(pki_issue_worker(ca, "worker-1", sans, 1, PKI_KEY_RSA2048,
	    &iss2, &err), SC_OK, "issue again");
	ok(memcmp(iss.serial, iss2.serial, PKI_SERIAL_LEN) != 0,
	    "different serials");
	ok(strcmp(iss.fingerprint, iss2.fingerprint) != 0,
	    "different fingerprints");
	ok(iss2.key_pem != NULL && strcmp(iss.key_pem, iss2.key_pem) != 0,
	    "different keys");
	pki_issued_clear(&iss2);

	pki_issued_clear(&iss);
	ok(iss.cert_pem == NULL && iss.key_pem == NULL &&
	    iss.key_pem_len == 0 && iss.fingerprint[0] == '\0',
	    "pki_issued_clear empties the struct");
	pki_issued_clear(&iss);
	ok(1, "pki_issued_clear twice is safe");

	/* No SANs at all: no extension, still a valid cert. */
	sc_error_clear(&err);
	is_int(pki_issue_worker(ca, "bare", NULL, 0, PKI_KEY_ECDSA_P256, &iss,
	    &err), SC_OK, "issue without SANs");
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL && san_list_is(crt, want, 0) &&
	    ext_critical(crt, "2.5.29.17") == -1, "no SANs, no extension");
	ok(crt != NULL && tu_crt_verifies(crt, cacrt), "verifies");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);

	/* '_' is outside PrintableString: the CN must still read back. */
	sc_error_clear(&err);
	is_int(pki_issue_worker(ca, "node_7.a-b", NULL, 0, PKI_KEY_ECDSA_P256,
	    &iss, &err), SC_OK, "issue for a name with '_'");
	crt = tu_crt_from_pem(iss.cert_pem);
	is_str(crt != NULL ? dn_oid(crt, GNUTLS_OID_X520_COMMON_NAME) : NULL,
	    "node_7.a-b", "CN with '_' intact");
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (getenv("PKI_TEST_KEEP") != NULL)
		write_text(getenv("PKI_TEST_KEEP"), "underscore.crt",
		    iss.cert_pem, 0644);
	pki_issued_clear(&iss);

	/* Bad input: an error, and a zeroed result. */
	{
		static const char *empty[] = { "" };
		static const char *spaced[] = { "has space" };
		static const char *const bad_names[] = { "",
		    ("x123456789012345678901234567890"
		    "1234567890123456789012345678901234") };
		size_t i;

		for (i = 0; i < 2; i++) {
			memset(&iss, 0x5a, sizeof(iss));
			sc_error_clear(&err);
			is_int(pki_issue_worker(ca, bad_names[i], NULL, 0,
			    PKI_KEY_ECDSA_P256, &iss, &err), SC_INVALID,
			    "name of %zu chars refused", strlen(bad_names[i]));
			ok(iss.cert_pem == NULL && iss.key_pem == NULL,
			    "result zeroed");
		}
		sc_error_clear(&err);
		is_int(pki_issue_worker(ca, "w", empty, 1, PKI_KEY_ECDSA_P256,
		    &iss, &err), SC_INVALID, "empty SAN refused");
		sc_error_clear(&err);
		is_int(pki_issue_worker(ca, "w", spaced, 1, PKI_KEY_ECDSA_P256,
		    &iss, &err), SC_INVALID, "SAN with a space refused");
		sc_error_clear(&err);
		is_int(pki_issue_worker(ca, "w", NULL, 0,
		    (enum pki_key_type)99, &iss, &err), SC_INTERNAL,
		    "unknown key type refused");
		ok(iss.cert_pem == NULL && iss.key_pem == NULL,
		    "result zeroed");
	}

	gnutls_x509_crt_deinit(cacrt);
	if (othercrt != NULL)
		gnutls_x509_crt_deinit(othercrt);
	pki_ca_free(ca);
	tu_rm_rf(top);
	tu_rm_rf(top2);
	free(top);
	free(top2);
}

/* Every worker key type, under an ECDSA CA and an Ed25519 CA. */
static void
test_key_types(enum pki_key_type ca_type, gnutls_sign_algorithm_t sign)
{
	static const struct {
		enum pki_key_type	 type;
		gnutls_pk_algorithm_t	 pk;
		unsigned int		 bits;
	} types[] = {
		{ PKI_KEY_RSA2048, GNUTLS_PK_RSA, 2048 },
		{ PKI_KEY_RSA3072, GNUTLS_PK_RSA, 3072 },
		{ PKI_KEY_RSA4096, GNUTLS_PK_RSA, 4096 },
		{ PKI_KEY_ECDSA_P256, GNUTLS_PK_ECDSA, 256 },
		{ PKI_KEY_ECDSA_P384, GNUTLS_PK_ECDSA, 384 },
		{ PKI_KEY_ED25519, GNUTLS_PK_EDDSA_ED25519, 256 },
	};
	static const char *sans[] = { "192.0.2.7", "w.example" };
	char ca_dir[PATH_MAX], what[128], *top;
	struct pki_ca *ca = NULL;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t cacrt, crt;
	unsigned int bits;
	size_t i;

	top = make_ca(ca_dir, sizeof(ca_dir), ca_type);
	ca = load_role(ca_dir, PKI_CA_WORKER);
	cacrt = crt_from_file(ca_dir, "ca.crt");
	if (ca == NULL || cacrt == NULL)
		return;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		/* RSA-4096 keys take seconds: once, under the first CA. */
		if (types[i].type == PKI_KEY_RSA4096 &&
		    ca_type != PKI_KEY_ECDSA_P384)
			continue;
		snprintf(what, sizeof(what), "%s worker under %s CA",
		    pki_key_type_name(types[i].type),
		    pki_key_type_name(ca_type));
		sc_error_clear(&err);
		is_int(pki_issue_worker(ca, "kt", sans, 2, types[i].type, &iss,
		    &err), SC_OK, "%s: issued (%s)", what, err.msg);
		check_worker(&iss, cacrt, "kt", types[i].pk == GNUTLS_PK_RSA ?
		    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT :
		    GNUTLS_KEY_DIGITAL_SIGNATURE, sign, what);
		crt = tu_crt_from_pem(iss.cert_pem);
		bits = 0;
		ok(crt != NULL && gnutls_x509_crt_get_pk_algorithm(crt,
		    &bits) == (int)types[i].pk && bits == types[i].bits,
		    "%s: key is %u bits of the right algorithm", what, bits);
		if (crt != NULL)
			gnutls_x509_crt_deinit(crt);
		pki_issued_clear(&iss);
	}
	gnutls_x509_crt_deinit(cacrt);
	pki_ca_free(ca);
	tu_rm_rf(top);
	free(top);
}

/* The default profile: an RSA-4096 CA issuing a default RSA-2048 worker. */
static void
test_default_rsa_ca(void)
{
	char ca_dir[PATH_MAX], *top;
	struct pki_ca *ca = NULL;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t cacrt, frontcrt;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_DEFAULT_CA_KEY);
	check_ca_files(ca_dir, "RSA-4096 CAs");
	cacrt = crt_from_file(ca_dir, "ca.crt");
	check_ca_profile(cacrt, WORKER_CA_DN, GNUTLS_PK_RSA, 4096,
	    GNUTLS_SIGN_RSA_SHA256, "RSA-4096 worker CA");
	frontcrt = crt_from_file(ca_dir, "front-ca.crt");
	check_ca_profile(frontcrt, FRONT_CA_DN, GNUTLS_PK_RSA, 4096,
	    GNUTLS_SIGN_RSA_SHA256, "RSA-4096 front CA");
	if (frontcrt != NULL)
		gnutls_x509_crt_deinit(frontcrt);
	ca = load_role(ca_dir, PKI_CA_WORKER);
	if (ca != NULL && cacrt != NULL) {
		static const char *sans[] = { "2001:db8::5", "w.example",
		    "w" };

		sc_error_clear(&err);
		is_int(pki_issue_worker(ca, "w", sans, 3,
		    PKI_DEFAULT_WORKER_KEY, &iss, &err), SC_OK,
		    "issue default worker (%s)", err.msg);
		check_worker(&iss, cacrt, "w", GNUTLS_KEY_DIGITAL_SIGNATURE |
		    GNUTLS_KEY_KEY_ENCIPHERMENT, GNUTLS_SIGN_RSA_SHA256,
		    "default worker");
		/* Leave a bundle for external checks if asked to. */
		if (getenv("PKI_TEST_KEEP") != NULL) {
			write_text(getenv("PKI_TEST_KEEP"), "worker.crt",
			    iss.cert_pem, 0644);
			write_text(getenv("PKI_TEST_KEEP"), "ca.crt",
			    pki_ca_cert_pem(ca), 0644);
			write_text(getenv("PKI_TEST_KEEP"), "worker.key",
			    iss.key_pem, 0600);
		}
		pki_issued_clear(&iss);
		/* serve --worker-days: every worker issued afterwards. */
		pki_set_worker_days(30);
		sc_error_clear(&err);
		if (pki_issue_worker(ca, "w", sans, 3, PKI_KEY_ECDSA_P256,
		    &iss, &err) == SC_OK) {
			gnutls_x509_crt_t c = tu_crt_from_pem(iss.cert_pem);

			ok(c != NULL && gnutls_x509_crt_get_expiration_time(c) -
			    gnutls_x509_crt_get_activation_time(c) == 30 * DAY,
			    "--worker-days 30: valid for 30 days");
			if (c != NULL)
				gnutls_x509_crt_deinit(c);
		} else
			ok(0, "--worker-days 30: issued (%s)", err.msg);
		pki_issued_clear(&iss);
		pki_set_worker_days(PKI_WORKER_DAYS_DEFAULT);
	}
	if (cacrt != NULL)
		gnutls_x509_crt_deinit(cacrt);
	pki_ca_free(ca);
	tu_rm_rf(top);
	free(top);
}

/*
 * The service issues from several threads, each with its own loaded CA.
 */
struct thread_job {
	const char	*ca_dir;
	int		 issued;	/* certificates that verified */
};

static void *
issue_thread(void *arg)
{
	struct thread_job *job = arg;
	static const char *sans[] = { "10.1.2.3", "t.example" };
	struct pki_ca *ca = NULL;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t cacrt = NULL, crt;
	int i;

	sc_error_clear(&err);
	if (pki_ca_load(job->ca_dir, PKI_CA_WORKER, &ca, &err) != SC_OK ||
	    (cacrt = tu_crt_from_pem(pki_ca_cert_pem(ca))) == NULL)
		goto out;
	for (i = 0; i < 5; i++) {
		if (pki_issue_worker(ca, "t", sans, 2, PKI_KEY_ECDSA_P256, &iss,
		    &err) != SC_OK)
			break;
		if ((crt = tu_crt_from_pem(iss.cert_pem)) != NULL) {
			if (tu_crt_verifies(crt, cacrt) &&
			    key_matches_crt(iss.key_pem, crt))
				job->issued++;
			gnutls_x509_crt_deinit(crt);
		}
		pki_issued_clear(&iss);
	}
out:
	if (cacrt != NULL)
		gnutls_x509_crt_deinit(cacrt);
	pki_ca_free(ca);
	return NULL;
}

static void
test_threads(void)
{
	enum { NTHREADS = 4 };
	struct thread_job jobs[NTHREADS];
	pthread_t tids[NTHREADS];
	char ca_dir[PATH_MAX], *top;
	int i, total = 0;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	for (i = 0; i < NTHREADS; i++) {
		jobs[i].ca_dir = ca_dir;
		jobs[i].issued = 0;
		if (pthread_create(&tids[i], NULL, issue_thread, &jobs[i]) != 0)
			exit(2);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(tids[i], NULL);
		total += jobs[i].issued;
	}
	is_int(total, NTHREADS * 5, "%d threads issued %d good certificates",
	    NTHREADS, NTHREADS * 5);
	tu_rm_rf(top);
	free(top);
}

/* ------------------------------------------------------ key encoding */

/*
 * RFC 5915 3: an ECDSA key's privateKey OCTET STRING is exactly the
 * curve's size.  GnuTLS 3.7 alone writes 33 octets for a P-256 scalar
 * with the top bit set and drops a small one's leading zeros.  Crafted
 * scalars make both cases certain: 1 (public point G) and n - 1
 * (public point -G, i.e. (Gx, p - Gy)).
 */
static const struct {
	const char		*name;
	enum pki_key_type	 type;
	gnutls_ecc_curve_t	 curve;
	size_t			 size;
	const char		*gx, *gy, *neg_gy, *n_minus_1;
} curves[] = {
	{ "P-256", PKI_KEY_ECDSA_P256, GNUTLS_ECC_CURVE_SECP256R1, 32,
	    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
	    "b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a",
	    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550" },
	{ "P-384", PKI_KEY_ECDSA_P384, GNUTLS_ECC_CURVE_SECP384R1, 48,
	    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98"
	    "59f741e082542a385502f25dbf55296c3a545e3872760ab7",
	    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c"
	    "e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
	    "c9e821b569d9d390a26167406d6d23d6070be242d765eb83"
	    "1625ceec4a0f473ef59f4e30e2817e6285bce2846f15f1a0",
	    "ffffffffffffffffffffffffffffffffffffffffffffffff"
	    "c7634d81f4372ddf581a0db248b0a77aecec196accc52972" },
};
#define EC_SIZE_MAX	66	/* P-521 */

static gnutls_datum_t
hex_datum(const char *hex)
{
	gnutls_datum_t h = { (unsigned char *)(uintptr_t)hex,
	    (unsigned int)strlen(hex) }, d = { NULL, 0 };

	if (gnutls_hex_decode2(&h, &d) < 0) {
		d.data = NULL;
		d.size = 0;
	}
	return d;
}

/* The DER inside a "PRIVATE KEY" PEM; false (and *der empty) if none. */
static bool
pem_to_der(const char *pem, size_t len, gnutls_datum_t *der)
{
	gnutls_datum_t p = { (unsigned char *)(uintptr_t)pem,
	    (unsigned int)len };

	der->data = NULL;
	der->size = 0;
	return gnutls_pem_base64_decode2("PRIVATE KEY", &p, der) >= 0;
}

/*
 * der holds an ECPrivateKey starting INTEGER 1, OCTET STRING of exactly
 * `size` octets; with `scalar` (size octets) that OCTET STRING is it.
 */
static bool
has_ec_private(const gnutls_datum_t *der, size_t size,
    const unsigned char *scalar)
{
	unsigned char want[5 + EC_SIZE_MAX];
	const unsigned char *at;

	want[0] = 0x02;		/* INTEGER */
	want[1] = 0x01;
	want[2] = 0x01;		/* ecPrivkeyVer1 */
	want[3] = 0x04;		/* OCTET STRING */
	want[4] = (unsigned char)size;
	if (scalar == NULL)
		return memmem(der->data, der->size, want, 5) != NULL;
	memcpy(want + 5, scalar, size);
	if ((at = memmem(der->data, der->size, want, 5 + size)) == NULL)
		return false;
	/* Followed by [0] parameters or [1] publicKey: nothing longer. */
	return at + 5 + size < der->data + der->size &&
	    (at[5 + size] == 0xa0 || at[5 + size] == 0xa1);
}

/* Two unsigned big-endian numbers are equal, leading zeros aside. */
static bool
same_value(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
	size_t i = 0, j = 0;

	while (i < a->size && a->data[i] == 0)
		i++;
	while (j < b->size && b->data[j] == 0)
		j++;
	return a->size - i == b->size - j &&
	    memcmp(a->data + i, b->data + j, a->size - i) == 0;
}

static void
check_crafted(size_t c, const char *k_hex, const char *y_hex,
    const char *label)
{
	gnutls_datum_t x = hex_datum(curves[c].gx), y = hex_datum(y_hex),
	    k, pem = { NULL, 0 }, der = { NULL, 0 }, kx = { NULL, 0 },
	    ky = { NULL, 0 }, back = { NULL, 0 };
	gnutls_x509_privkey_t key = NULL, again = NULL;
	gnutls_ecc_curve_t curve;
	struct sc_error err;
	char what[96], padded[2 * EC_SIZE_MAX + 1];
	size_t hexlen = strlen(k_hex);

	/* The scalar in the curve's size, leading zeros and all. */
	memset(padded, '0', 2 * curves[c].size - hexlen);
	memcpy(padded + 2 * curves[c].size - hexlen, k_hex, hexlen + 1);
	k = hex_datum(padded);
	snprintf(what, sizeof(what), "%s key with scalar %s", curves[c].name,
	    label);
	if (x.data == NULL || y.data == NULL || k.data == NULL ||
	    gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_import_ecc_raw(key, curves[c].curve, &x, &y,
	    &k) < 0) {
		ok(0, "%s: crafted", what);
		goto out;
	}
	sc_error_clear(&err);
	is_int(pki_key_export_pem(key, &pem, &err), SC_OK, "%s: exported (%s)",
	    what, err.msg);
	if (!pem_to_der((const char *)pem.data, pem.size, &der)) {
		ok(0, "%s: PEM \"PRIVATE KEY\"", what);
		goto out;
	}
	ok(has_ec_private(&der, curves[c].size, k.data), "%s: privateKey "
	    "OCTET STRING is exactly %zu octets, the scalar with its leading "
	    "zeros", what, curves[c].size);
	/* GnuTLS reads it back as the same key. */
	ok(gnutls_x509_privkey_init(&again) >= 0 &&
	    gnutls_x509_privkey_import(again, &pem, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_privkey_verify_params(again) >= 0 &&
	    gnutls_x509_privkey_export_ecc_raw(again, &curve, &kx, &ky,
	    &back) >= 0 && curve == curves[c].curve &&
	    same_value(&back, &k),
	    "%s: GnuTLS reads back the same scalar", what);
out:
	if (again != NULL)
		gnutls_x509_privkey_deinit(again);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_free(k.data);
	gnutls_free(pem.data);
	gnutls_free(der.data);
	gnutls_free(kx.data);
	gnutls_free(ky.data);
	gnutls_free(back.data);
}

/* A PEM private key file of ca_dir, as DER. */
static bool
key_file_der(const char *ca_dir, const char *name, gnutls_datum_t *der)
{
	size_t len = 0;
	char *pem;
	bool good;

	der->data = NULL;
	if ((pem = slurp(ca_dir, name, &len)) == NULL)
		return false;
	good = pem_to_der(pem, len, der);
	free(pem);
	return good;
}

/*
 * Random keys through every path that writes one: workers, operators,
 * servers (issue) and CAs (pki_ca_init).  A random P-256 scalar has its
 * top bit set half the time, so a few dozen keys catch a wrong length
 * all but certainly.
 */
#define RANDOM_KEYS	24
static void
check_random_ec(size_t c)
{
	char ca_dir[PATH_MAX], *top = NULL;
	struct pki_ca *ca = NULL;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_datum_t der;
	size_t i, good = 0, role, cas = 0, good_cas = 0;

	for (i = 0; i < RANDOM_KEYS / 2; i++) {
		top = make_ca(ca_dir, sizeof(ca_dir), curves[c].type);
		for (role = 0; role < PKI_NCA_ROLES; role++) {
			cas++;
			if (key_file_der(ca_dir, roles[role].key, &der) &&
			    has_ec_private(&der, curves[c].size, NULL))
				good_cas++;
			gnutls_free(der.data);
		}
		if (i + 1 < RANDOM_KEYS / 2) {
			tu_rm_rf(top);
			free(top);
		}
	}
	is_int((int)good_cas, (int)cas, "%s CA keys (ca.key, front-ca.key): "
	    "privateKey of exactly %zu octets", curves[c].name, curves[c].size);
	if ((ca = load_role(ca_dir, PKI_CA_WORKER)) == NULL)
		goto out;
	for (i = 0; i < RANDOM_KEYS; i++) {
		sc_error_clear(&err);
		if (pki_issue_worker(ca, "enc", NULL, 0, curves[c].type, &iss,
		    &err) != SC_OK) {
			ok(0, "%s worker issued (%s)", curves[c].name,
			    err.msg);
			continue;
		}
		if (pem_to_der(iss.key_pem, iss.key_pem_len, &der) &&
		    has_ec_private(&der, curves[c].size, NULL))
			good++;
		gnutls_free(der.data);
		pki_issued_clear(&iss);
	}
	is_int((int)good, RANDOM_KEYS, "%s worker keys: privateKey of exactly "
	    "%zu octets", curves[c].name, curves[c].size);
out:
	pki_ca_free(ca);
	tu_rm_rf(top);
	free(top);
}

/* RFC 8410 7: PrivateKeyInfo's privateKey is OCTET STRING { 32 octets }. */
static void
check_ed25519(void)
{
	static const unsigned char want[] = { 0x04, 0x22, 0x04, 0x20 };
	char ca_dir[PATH_MAX], *top;
	struct pki_ca *ca;
	struct pki_issued iss;
	struct sc_error err;
	gnutls_datum_t der = { NULL, 0 };

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ED25519);
	if ((ca = load_role(ca_dir, PKI_CA_WORKER)) == NULL)
		goto out;
	sc_error_clear(&err);
	is_int(pki_issue_worker(ca, "ed", NULL, 0, PKI_KEY_ED25519, &iss,
	    &err), SC_OK, "Ed25519 worker issued (%s)", err.msg);
	ok(pem_to_der(iss.key_pem, iss.key_pem_len, &der) && der.size == 48 &&
	    memcmp(der.data + 12, want, sizeof(want)) == 0,
	    "Ed25519 worker key: a 32-octet CurvePrivateKey, 48 octets in all");
	gnutls_free(der.data);
	pki_issued_clear(&iss);
	pki_ca_free(ca);
out:
	tu_rm_rf(top);
	free(top);
}

static void
test_key_encoding(void)
{
	size_t c;

	for (c = 0; c < sizeof(curves) / sizeof(curves[0]); c++) {
		check_crafted(c, "01", curves[c].gy, "1");
		check_crafted(c, curves[c].n_minus_1, curves[c].neg_gy, "n - 1");
		check_random_ec(c);
	}
	check_ed25519();
}

int
main(void)
{
	struct sc_error err;

	umask(022);
	sc_error_clear(&err);
	if (pki_init(&err) != SC_OK) {
		printf("Bail out! pki_init: %s\n", err.msg);
		return 1;
	}
	test_key_type_names();
	test_ca_ecdsa();
	test_ca_recovery();
	test_ca_concurrent();
	test_ca_roles();
	test_worker_profile();
	test_key_types(PKI_KEY_ECDSA_P384, GNUTLS_SIGN_ECDSA_SHA256);
	test_key_types(PKI_KEY_ED25519, GNUTLS_SIGN_EDDSA_ED25519);
	test_default_rsa_ca();
	test_threads();
	test_key_encoding();
	pki_deinit();
	return done_testing();
}
