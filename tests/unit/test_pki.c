/*
 * Unit tests for src/pki/pki.c: the CA (files, modes, profile, idempotence,
 * interrupted creation, several processes creating it at once, loading and
 * its failures) and worker certificates (profile, SANs, serials, keys,
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
#include "pki/pki.h"
#include "tap.h"
#include "testutil.h"

#define DAY	(24L * 60 * 60)
#define SLACK	30L	/* seconds of clock tolerance in validity checks */

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
check_ca_profile(gnutls_x509_crt_t ca, gnutls_pk_algorithm_t pk,
    unsigned int bits, gnutls_sign_algorithm_t sign, const char *what)
{
	unsigned int crit = 99, ca_flag = 99, usage = 0, got_bits = 0;
	int pathlen = 99, r;
	unsigned char ski[64], aki[64];
	size_t skilen = sizeof(ski), akilen = sizeof(aki);
	time_t now = time(NULL), start, end;

	ok(ca != NULL, "%s: ca.crt parses", what);
	if (ca == NULL)
		return;
	is_int(gnutls_x509_crt_get_version(ca), 3, "%s: version 3", what);
	is_str(dn_of(ca, 0), "CN=DECNET SWARM Root CA,O=DECNET",
	    "%s: subject", what);
	is_str(dn_of(ca, 1), "CN=DECNET SWARM Root CA,O=DECNET",
	    "%s: issuer = subject", what);
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

static void
check_ca_files(const char *ca_dir, const char *what)
{
	char *key;

	is_int(mode_of(ca_dir, "."), 0700, "%s: CA_DIR is 0700", what);
	is_int(mode_of(ca_dir, "ca.key"), 0600, "%s: ca.key is 0600", what);
	is_int(mode_of(ca_dir, "ca.crt"), 0644, "%s: ca.crt is 0644", what);
	is_int(mode_of(ca_dir, "workers"), 0700, "%s: workers is 0700", what);
	key = slurp(ca_dir, "ca.key", NULL);
	ok(starts_with(key, "-----BEGIN PRIVATE KEY-----\n"),
	    "%s: ca.key is PKCS#8 PEM", what);
	ok(!exists(ca_dir, ".ca.key.tmp") && !exists(ca_dir, ".ca.crt.tmp"),
	    "%s: no temporary files left", what);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
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

/* A CA in CA_DIR; returns the scratch dir to remove. */
static char *
make_ca(char *ca_dir, size_t size, enum pki_key_type type)
{
	struct sc_error err;
	char *top;

	top = scratch(ca_dir, size);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(ca_dir, type, &err), SC_OK, "create %s CA (%s)",
	    pki_key_type_name(type), err.msg);
	return top;
}

static void
test_ca_ecdsa(void)
{
	char ca_dir[PATH_MAX], *top, *crt1, *crt2, *key1, *key2;
	struct pki_ca *ca = NULL;
	struct sc_error err;
	gnutls_x509_crt_t crt;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	check_ca_files(ca_dir, "P-256 CA");
	crt = crt_from_file(ca_dir, "ca.crt");
	check_ca_profile(crt, GNUTLS_PK_ECDSA, 256, GNUTLS_SIGN_ECDSA_SHA256,
	    "P-256 CA");

	/* A second ensure, even asking for another type, changes nothing. */
	crt1 = slurp(ca_dir, "ca.crt", NULL);
	key1 = slurp(ca_dir, "ca.key", NULL);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(ca_dir, PKI_KEY_RSA2048, &err), SC_OK,
	    "second ensure succeeds");
	crt2 = slurp(ca_dir, "ca.crt", NULL);
	key2 = slurp(ca_dir, "ca.key", NULL);
	ok(crt1 && crt2 && strcmp(crt1, crt2) == 0, "ca.crt unchanged");
	ok(key1 && key2 && strcmp(key1, key2) == 0, "ca.key unchanged");

	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_OK, "load CA (%s)", err.msg);
	ok(ca != NULL, "load returns a CA");
	if (ca != NULL)
		is_str(pki_ca_cert_pem(ca), crt1, "cert PEM is ca.crt");
	pki_ca_free(ca);
	pki_ca_free(NULL);

	free(crt1);
	free(crt2);
	free(key1);
	free(key2);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
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

static void
test_ca_recovery(void)
{
	char ca_dir[PATH_MAX], other[PATH_MAX], path[PATH_MAX + 64], *top;
	char *top2;
	char *crt1, *crt2, *key;
	struct pki_ca *ca = NULL;
	struct sc_error err;

	/* ca.key without ca.crt: an interrupted creation, redone. */
	top = scratch(ca_dir, sizeof(ca_dir));
	is_int(mkdir(ca_dir, 0700), 0, "mkdir CA_DIR");
	write_text(ca_dir, "ca.key", "stale half-created key\n", 0600);
	write_text(ca_dir, ".ca.key.tmp", "leftover temp\n", 0600);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(ca_dir, PKI_KEY_ECDSA_P256, &err), SC_OK,
	    "ensure after an interrupted creation (%s)", err.msg);
	key = slurp(ca_dir, "ca.key", NULL);
	ok(starts_with(key, "-----BEGIN PRIVATE KEY-----"),
	    "stale ca.key replaced by a real key");
	free(key);
	ok(exists(ca_dir, "ca.crt"), "ca.crt created");
	ok(!exists(ca_dir, ".ca.key.tmp"), "leftover temp removed");
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_OK,
	    "recreated CA loads (%s)", err.msg);
	pki_ca_free(ca);
	ca = NULL;

	/* ca.crt without ca.key: not ours to replace. */
	snprintf(path, sizeof(path), "%s/ca.key", ca_dir);
	crt1 = slurp(ca_dir, "ca.crt", NULL);
	(void)unlink(path);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(ca_dir, PKI_KEY_ECDSA_P256, &err),
	    SC_CA_UNAVAILABLE, "ca.crt without ca.key is refused");
	ok(strstr(err.msg, "ca.key") != NULL, "error names ca.key: %s",
	    err.msg);
	crt2 = slurp(ca_dir, "ca.crt", NULL);
	ok(crt1 && crt2 && strcmp(crt1, crt2) == 0, "ca.crt left alone");
	ok(!exists(ca_dir, "ca.key"), "no key invented");
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_CA_UNAVAILABLE,
	    "load without ca.key fails");
	ok(ca == NULL && strstr(err.msg, ca_dir) != NULL,
	    "error names the path: %s", err.msg);

	/* A key from another CA. */
	top2 = make_ca(other, sizeof(other), PKI_KEY_ECDSA_P256);
	key = slurp(other, "ca.key", NULL);
	write_text(ca_dir, "ca.key", key != NULL ? key : "", 0600);
	free(key);
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_CA_UNAVAILABLE,
	    "load with another CA's key fails");
	ok(strstr(err.msg, "does not belong") != NULL, "says why: %s",
	    err.msg);

	/* Garbage certificate. */
	write_text(other, "ca.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n", 0644);
	sc_error_clear(&err);
	is_int(pki_ca_load(other, &ca, &err), SC_CA_UNAVAILABLE,
	    "load with a corrupt ca.crt fails");
	ok(strstr(err.msg, "ca.crt") != NULL, "error names ca.crt: %s",
	    err.msg);

	/* No CA at all. */
	snprintf(path, sizeof(path), "%s/nonexistent", top);
	sc_error_clear(&err);
	is_int(pki_ca_load(path, &ca, &err), SC_CA_UNAVAILABLE,
	    "load from a missing directory fails");
	ok(ca == NULL, "no CA returned");

	/* Group/other bits on an existing CA_DIR: kept (warned about). */
	snprintf(path, sizeof(path), "%s/loose", top);
	is_int(mkdir(path, 0755), 0, "mkdir a 0755 CA_DIR");
	(void)chmod(path, 0755);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(path, PKI_KEY_ECDSA_P256, &err), SC_OK,
	    "ensure in an existing 0755 directory");
	is_int(mode_of(path, "."), 0755, "its mode is left alone");
	is_int(mode_of(path, "ca.key"), 0600, "ca.key still 0600");

	/* Nested, missing parents. */
	snprintf(path, sizeof(path), "%s/a/b/ca/", top);
	sc_error_clear(&err);
	is_int(pki_ca_ensure(path, PKI_KEY_ECDSA_P256, &err), SC_OK,
	    "ensure creates missing parents (%s)", err.msg);
	is_int(mode_of(path, "."), 0700, "nested CA_DIR is 0700");

	sc_error_clear(&err);
	is_int(pki_ca_ensure(path, (enum pki_key_type)99, &err), SC_INTERNAL,
	    "unknown key type refused");

	free(crt1);
	free(crt2);
	tu_rm_rf(top);
	tu_rm_rf(top2);
	free(top);
	free(top2);
}

/*
 * Several processes start at once on an empty directory: one CA.  RSA-2048
 * makes creation slow enough that, without the lock, each would make its
 * own.  Every child reports the SHA-256 of the ca.crt it ended up with.
 */
static void
test_ca_concurrent(void)
{
	enum { NPROC = 4 };
	char ca_dir[PATH_MAX], *top;
	unsigned char seen[NPROC][32];
	int go[2], res[2], i, status, all_ok = 1, same = 1, n = 0;
	pid_t pids[NPROC];
	DIR *d;

	top = scratch(ca_dir, sizeof(ca_dir));
	if (pipe(go) == -1 || pipe(res) == -1) {
		perror("pipe");
		exit(2);
	}
	for (i = 0; i < NPROC; i++) {
		if ((pids[i] = fork()) == 0) {
			struct sc_error err;
			unsigned char md[32];
			char c, *pem;
			size_t len;

			close(go[1]);
			(void)read(go[0], &c, 1);	/* EOF: everyone go */
			sc_error_clear(&err);
			if (pki_ca_ensure(ca_dir, PKI_KEY_RSA2048, &err) !=
			    SC_OK)
				_exit(1);
			if ((pem = slurp(ca_dir, "ca.crt", &len)) == NULL ||
			    gnutls_hash_fast(GNUTLS_DIG_SHA256, pem, len,
			    md) != 0 || write(res[1], md, 32) != 32)
				_exit(2);
			free(pem);
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
	ok(all_ok, "%d concurrent ensures all succeed", NPROC);
	for (i = 0; i < NPROC; i++)
		if (read(res[0], seen[i], 32) != 32)
			break;
	close(res[0]);
	is_int(i, NPROC, "every process reported its ca.crt");
	for (i = 1; i < NPROC; i++)
		if (memcmp(seen[0], seen[i], 32) != 0)
			same = 0;
	ok(same, "all processes see the same ca.crt: one CA");
	check_ca_files(ca_dir, "concurrent CA");
	if ((d = opendir(ca_dir)) != NULL) {
		struct dirent *de;

		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				n++;
		closedir(d);
	}
	is_int(n, 4, "CA_DIR holds exactly .lock, ca.crt, ca.key, workers");
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
	is_str(dn_of(crt, 1), "CN=DECNET SWARM Root CA,O=DECNET",
	    "%s: issuer is the CA", what);
	ok(serial_ok(crt, iss->serial),
	    "%s: serial is 16 bytes, positive, as reported", what);
	start = gnutls_x509_crt_get_activation_time(crt);
	end = gnutls_x509_crt_get_expiration_time(crt);
	ok(start >= now - 300 - SLACK && start <= now - 300 + SLACK,
	    "%s: notBefore is now-5min", what);
	is_int(end - start, 825 * DAY, "%s: valid for 825 days", what);
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
	gnutls_x509_crt_t cacrt, othercrt, crt;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_KEY_ECDSA_P256);
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_OK, "load CA (%s)", err.msg);
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
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_OK, "load %s CA",
	    pki_key_type_name(ca_type));
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
	gnutls_x509_crt_t cacrt;

	top = make_ca(ca_dir, sizeof(ca_dir), PKI_DEFAULT_CA_KEY);
	check_ca_files(ca_dir, "RSA-4096 CA");
	cacrt = crt_from_file(ca_dir, "ca.crt");
	check_ca_profile(cacrt, GNUTLS_PK_RSA, 4096, GNUTLS_SIGN_RSA_SHA256,
	    "RSA-4096 CA");
	sc_error_clear(&err);
	is_int(pki_ca_load(ca_dir, &ca, &err), SC_OK, "load RSA CA (%s)",
	    err.msg);
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
	if (pki_ca_load(job->ca_dir, &ca, &err) != SC_OK ||
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
	test_worker_profile();
	test_key_types(PKI_KEY_ECDSA_P384, GNUTLS_SIGN_ECDSA_SHA256);
	test_key_types(PKI_KEY_ED25519, GNUTLS_SIGN_EDDSA_ED25519);
	test_default_rsa_ca();
	test_threads();
	pki_deinit();
	return done_testing();
}
