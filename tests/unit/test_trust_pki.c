/*
 * Unit tests for the trust side of src/pki/: the operator and server
 * certificate profiles (pki.c), issued by the front CA and never
 * trusted through the worker CA, the new pki_issued fields, PKCS#12
 * export (pkcs12.c), the CRLs, one per CA (crl.c: signature, issuer,
 * dates, number, entries, file mode, atomic replacement, each CA's own
 * file) and client certificate parsing (peer.c: ours, the other CA's,
 * self-signed look-alikes, foreign CAs, expired, garbage, with a CA
 * loaded with or without its key).  Everything is parsed back with GnuTLS
 * and checked field by field.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/pki.h"
#include "tap.h"
#include "testutil.h"

#define DAY	(24L * 60 * 60)
#define SLACK	30L	/* seconds of clock tolerance */

static char top[64], ca_dir[128], other_dir[128];

/* ------------------------------------------------------------ helpers */

/* dir/name as a datum (data malloc'd, NUL-terminated; NULL if unreadable). */
static gnutls_datum_t
file_datum(const char dir[128], const char *name)
{
	gnutls_datum_t d = { NULL, 0 };
	char path[PATH_MAX];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	d.data = (unsigned char *)tu_read_file(path, &len);
	d.size = (unsigned int)len;
	return d;
}

static gnutls_x509_crt_t
load_ca_crt(const char dir[128], const char *name)
{
	gnutls_datum_t d = file_datum(dir, name);
	gnutls_x509_crt_t crt;

	crt = tu_crt_from_pem((char *)d.data);
	free(d.data);
	return crt;
}

static gnutls_privkey_t
load_ca_key(const char dir[128], const char *name)
{
	gnutls_datum_t d = file_datum(dir, name);
	gnutls_privkey_t key = NULL;

	if (d.data == NULL || gnutls_privkey_init(&key) < 0 ||
	    gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_PEM, NULL,
	    0) < 0) {
		gnutls_privkey_deinit(key);
		key = NULL;
	}
	free(d.data);
	return key;
}

static const char *
subject_attr(gnutls_x509_crt_t crt, const char *oid)
{
	static char buf[256];
	size_t len = sizeof(buf);

	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &len) < 0)
		return NULL;
	return buf;
}

/* The issuer as RFC 4514 text (static buffer; NULL on error). */
static const char *
issuer_dn(gnutls_x509_crt_t crt)
{
	static char buf[512];
	gnutls_datum_t d = { NULL, 0 };

	if (gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) < 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)d.size, (char *)d.data);
	gnutls_free(d.data);
	return buf;
}

/* 1/0 critical, -1 absent. */
static int
criticality(gnutls_x509_crt_t crt, const char *oid)
{
	char name[128];
	size_t len;
	unsigned int i, crit;

	for (i = 0; ; i++) {
		len = sizeof(name);
		if (gnutls_x509_crt_get_extension_info(crt, i, name, &len,
		    &crit) < 0)
			return -1;
		if (strcmp(name, oid) == 0)
			return (int)crit;
	}
}

/* The EKU OIDs, comma-separated, in order. */
static const char *
eku_list(gnutls_x509_crt_t crt)
{
	static char out[512];
	char oid[128];
	size_t len;
	unsigned int i;

	out[0] = '\0';
	for (i = 0; ; i++) {
		len = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len,
		    NULL) < 0)
			break;
		if (i > 0)
			strncat(out, ",", sizeof(out) - strlen(out) - 1);
		strncat(out, oid, sizeof(out) - strlen(out) - 1);
	}
	return out;
}

/* The SANs as "IP:1.2.3.4,DNS:x", in order. */
static const char *
san_list(gnutls_x509_crt_t crt)
{
	static char out[1024];
	unsigned char data[256];
	char text[INET6_ADDRSTRLEN];
	size_t len;
	unsigned int i;
	int type;

	out[0] = '\0';
	for (i = 0; ; i++) {
		len = sizeof(data) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, data, &len,
		    NULL);
		if (type < 0)
			break;
		if (i > 0)
			strncat(out, ",", sizeof(out) - strlen(out) - 1);
		if (type == GNUTLS_SAN_IPADDRESS) {
			inet_ntop(len == 4 ? AF_INET : AF_INET6, data, text,
			    sizeof(text));
			strncat(out, "IP:", sizeof(out) - strlen(out) - 1);
			strncat(out, text, sizeof(out) - strlen(out) - 1);
		} else {
			data[len] = '\0';
			strncat(out, "DNS:", sizeof(out) - strlen(out) - 1);
			strncat(out, (char *)data,
			    sizeof(out) - strlen(out) - 1);
		}
	}
	return out;
}

/* SHA-256 key id of a public key: the same for a key and its cert. */
static int
same_key(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	return gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) == 0 &&
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) == 0 && alen == blen && memcmp(a, b, alen) == 0;
}

static int
key_pem_matches(const char *pem, gnutls_x509_crt_t crt)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d;
	int ok;

	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned int)strlen(pem);
	if (gnutls_x509_privkey_init(&key) < 0)
		return 0;
	ok = gnutls_x509_privkey_import_pkcs8(key, &d, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN) == 0 && same_key(key, crt);
	gnutls_x509_privkey_deinit(key);
	return ok;
}

static void
hex_of(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void
sha256_hex(gnutls_x509_crt_t crt, char out[65])
{
	unsigned char md[32];
	size_t len = sizeof(md);

	out[0] = '\0';
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md,
	    &len) == 0 && len == 32)
		hex_of(md, 32, out);
}

/*
 * A certificate made here, not by pki.c: subject CN=cn, OU=ou, O=DECNET,
 * valid [from, until], signed by (issuer, key), or self-signed when
 * issuer is NULL.  Returned as PEM (malloc'd).
 */
static char *
forge(const char *cn, const char *ou, time_t from, time_t until,
    gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key)
{
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t self = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t out = { NULL, 0 };
	unsigned char serial[8] = { 0x11, 2, 3, 4, 5, 6, 7, 8 };
	char *pem = NULL;

	if (gnutls_x509_privkey_init(&xkey) < 0 ||
	    gnutls_x509_privkey_generate(xkey, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0)
		goto out;
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(crt, from);
	gnutls_x509_crt_set_expiration_time(crt, until);
	gnutls_x509_crt_set_key(crt, xkey);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
	    0, "DECNET", 6);
	gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, ou,
	    (unsigned int)strlen(ou));
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	    (unsigned int)strlen(cn));
	gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 1);
	if (issuer == NULL) {
		if (gnutls_privkey_init(&self) < 0 ||
		    gnutls_privkey_import_x509(self, xkey, 0) < 0 ||
		    gnutls_x509_crt_privkey_sign(crt, crt, self,
		    GNUTLS_DIG_SHA256, 0) < 0)
			goto out;
	} else if (gnutls_x509_crt_privkey_sign(crt, issuer, issuer_key,
	    GNUTLS_DIG_SHA256, 0) < 0)
		goto out;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out) < 0)
		goto out;
	if ((pem = malloc(out.size + 1)) != NULL) {
		memcpy(pem, out.data, out.size);
		pem[out.size] = '\0';
	}
out:
	gnutls_free(out.data);
	if (self != NULL)
		gnutls_privkey_deinit(self);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return pem;
}

/* Both CAs in dir (created if missing); role's, loaded with its key. */
static struct pki_ca *
open_ca(const char *dir, enum pki_ca_role role)
{
	bool created[PKI_NCA_ROLES];
	struct sc_error err;
	struct pki_ca *ca = NULL;

	sc_error_clear(&err);
	if (pki_ca_init(dir, PKI_KEY_ECDSA_P256, created, &err) != SC_OK ||
	    pki_ca_load(dir, role, &ca, &err) != SC_OK) {
		printf("Bail out! %s CA in %s: %s\n", pki_ca_role_name(role),
		    dir, err.msg);
		exit(1);
	}
	return ca;
}

/* --------------------------------------------------- the new fields */

static void
check_issued_fields(const struct pki_issued *iss, gnutls_x509_crt_t crt,
    const char *what)
{
	unsigned char serial[64];
	size_t len = sizeof(serial);
	char hex[129], fp[65];

	gnutls_x509_crt_get_serial(crt, serial, &len);
	hex_of(serial, len, hex);
	is_str(iss->serial_hex, hex, "%s: serial_hex is the certificate's "
	    "serial in lowercase hex", what);
	ok(len == PKI_SERIAL_LEN && memcmp(serial, iss->serial, len) == 0,
	    "%s: serial bytes match", what);
	sha256_hex(crt, fp);
	is_str(iss->fingerprint, fp, "%s: fingerprint is SHA-256 of the DER",
	    what);
	is_int(iss->not_after, gnutls_x509_crt_get_expiration_time(crt),
	    "%s: not_after is the certificate's notAfter", what);
}

static void
test_worker_fields(const struct pki_ca *ca, gnutls_x509_crt_t worker_crt,
    gnutls_x509_crt_t front_crt)
{
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t crt;
	const char *sans[] = { "10.0.0.5" };

	sc_error_clear(&err);
	ok(pki_issue_worker(ca, "w1", sans, 1, PKI_KEY_ECDSA_P256, &iss,
	    &err) == SC_OK, "worker issued (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL, "worker certificate parses");
	if (crt == NULL)
		return;
	is_str(iss.subject, "CN=w1,OU=swarm-worker,O=DECNET",
	    "worker: subject in RFC 4514 form");
	check_issued_fields(&iss, crt, "worker");
	is_str(eku_list(crt), GNUTLS_KP_TLS_WWW_SERVER ","
	    GNUTLS_KP_TLS_WWW_CLIENT, "worker: EKU unchanged by the refactor "
	    "(serverAuth + clientAuth)");
	is_int(criticality(crt, "2.5.29.37"), 1, "worker: EKU critical");
	ok(tu_crt_verifies(crt, worker_crt),
	    "worker: verifies against the worker CA");
	ok(!tu_crt_verifies(crt, front_crt),
	    "worker: does not verify against the front CA");
	is_str(issuer_dn(crt), "CN=DECNET SWARM Root CA,O=DECNET",
	    "worker: issuer is the worker CA");
	gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);
}

/* -------------------------------------------------------- operator */

static void
test_operator_profile(const struct pki_ca *ca, gnutls_x509_crt_t ca_crt,
    gnutls_x509_crt_t worker_crt)
{
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t crt;
	unsigned int usage = 0, crit = 0, ca_flag = 1;
	unsigned char aki[64], ski[64];
	size_t akilen = sizeof(aki), skilen = sizeof(ski);
	time_t now = time(NULL), start, end;

	sc_error_clear(&err);
	ok(pki_issue_operator(ca, "alice", 30, PKI_KEY_RSA2048, &iss,
	    &err) == SC_OK, "operator issued (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL, "operator certificate parses");
	if (crt == NULL)
		return;
	is_str(subject_attr(crt, GNUTLS_OID_X520_COMMON_NAME), "alice",
	    "operator: CN=alice");
	is_str(subject_attr(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME),
	    "swarm-operator", "operator: OU=swarm-operator");
	is_str(subject_attr(crt, GNUTLS_OID_X520_ORGANIZATION_NAME), "DECNET",
	    "operator: O=DECNET");
	is_str(iss.subject, "CN=alice,OU=swarm-operator,O=DECNET",
	    "operator: subject field in RFC 4514 form");
	check_issued_fields(&iss, crt, "operator");
	is_str(eku_list(crt), GNUTLS_KP_TLS_WWW_CLIENT,
	    "operator: EKU is clientAuth only");
	is_int(criticality(crt, "2.5.29.37"), 1, "operator: EKU is critical");
	ok(gnutls_x509_crt_get_key_usage(crt, &usage, &crit) >= 0 &&
	    usage == GNUTLS_KEY_DIGITAL_SIGNATURE && crit == 1,
	    "operator: keyUsage digitalSignature only, critical (RSA key "
	    "too)");
	ok(gnutls_x509_crt_get_basic_constraints(crt, &crit, &ca_flag,
	    NULL) == 0 && ca_flag == 0 && crit == 1,
	    "operator: basicConstraints CA:FALSE, critical");
	start = gnutls_x509_crt_get_activation_time(crt);
	end = gnutls_x509_crt_get_expiration_time(crt);
	ok(start <= now && start >= now - 5 * 60 - SLACK,
	    "operator: valid from about now - 5 min");
	is_int(end - start, 30 * DAY, "operator: valid for --days 30");
	ok(tu_crt_verifies(crt, ca_crt),
	    "operator: verifies against the front CA");
	ok(!tu_crt_verifies(crt, worker_crt),
	    "operator: does not verify against the worker CA");
	is_str(issuer_dn(crt), "CN=DECNET SWARM Front-end CA,O=DECNET",
	    "operator: issuer is the front CA");
	ok(gnutls_x509_crt_get_authority_key_id(crt, aki, &akilen, NULL) >= 0 &&
	    gnutls_x509_crt_get_subject_key_id(ca_crt, ski, &skilen,
	    NULL) >= 0 && akilen == skilen && memcmp(aki, ski, akilen) == 0,
	    "operator: authorityKeyIdentifier is the CA's key id");
	ok(strncmp(iss.key_pem, "-----BEGIN PRIVATE KEY-----", 27) == 0 &&
	    key_pem_matches(iss.key_pem, crt),
	    "operator: key is plain PKCS#8 PEM and belongs to the cert");
	gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);

	ok(pki_issue_operator(ca, "bob", PKI_OPERATOR_DAYS,
	    PKI_KEY_ECDSA_P256, &iss, &err) == SC_OK &&
	    (crt = tu_crt_from_pem(iss.cert_pem)) != NULL,
	    "operator with the default validity issued");
	if (crt != NULL) {
		is_int(gnutls_x509_crt_get_expiration_time(crt) -
		    gnutls_x509_crt_get_activation_time(crt), 365 * DAY,
		    "operator: default validity is one year");
		gnutls_x509_crt_deinit(crt);
	}
	pki_issued_clear(&iss);

	sc_error_clear(&err);
	is_int(pki_issue_operator(ca, "carol", 0, PKI_KEY_ECDSA_P256, &iss,
	    &err), SC_INVALID, "operator: 0 days refused");
	ok(iss.cert_pem == NULL && iss.key_pem == NULL,
	    "... and nothing handed out");
	sc_error_clear(&err);
	is_int(pki_issue_operator(ca, "carol", 3651, PKI_KEY_ECDSA_P256, &iss,
	    &err), SC_INVALID, "operator: more days than the CA has refused");
	sc_error_clear(&err);
	is_int(pki_issue_operator(ca, "", 30, PKI_KEY_ECDSA_P256, &iss, &err),
	    SC_INVALID, "operator: empty name refused");
}

/* ----------------------------------------------------------- server */

static void
test_server_profile(const struct pki_ca *ca, gnutls_x509_crt_t ca_crt,
    gnutls_x509_crt_t worker_crt)
{
	const char *sans[] = { "127.0.0.1", "localhost", "swarm.example",
	    "::1", "LOCALHOST" };
	struct pki_issued iss;
	struct sc_error err;
	gnutls_x509_crt_t crt;
	unsigned int usage = 0, crit = 0;

	sc_error_clear(&err);
	ok(pki_issue_server(ca, "swarm.example", sans, 5, PKI_KEY_RSA2048,
	    &iss, &err) == SC_OK, "server certificate issued (%s)", err.msg);
	crt = tu_crt_from_pem(iss.cert_pem);
	ok(crt != NULL, "server certificate parses");
	if (crt == NULL)
		return;
	is_str(iss.subject, "CN=swarm.example,OU=swarm-server,O=DECNET",
	    "server: subject");
	check_issued_fields(&iss, crt, "server");
	is_str(eku_list(crt), GNUTLS_KP_TLS_WWW_SERVER,
	    "server: EKU is serverAuth only");
	is_int(criticality(crt, "2.5.29.37"), 0,
	    "server: EKU not critical (as on the web)");
	is_str(san_list(crt), "IP:127.0.0.1,DNS:localhost,DNS:swarm.example,"
	    "IP:::1", "server: SANs as given, duplicates dropped");
	ok(gnutls_x509_crt_get_key_usage(crt, &usage, &crit) >= 0 &&
	    usage == (GNUTLS_KEY_DIGITAL_SIGNATURE |
	    GNUTLS_KEY_KEY_ENCIPHERMENT) && crit == 1,
	    "server: RSA key gets digitalSignature + keyEncipherment");
	is_int(gnutls_x509_crt_get_expiration_time(crt) -
	    gnutls_x509_crt_get_activation_time(crt), 825 * DAY,
	    "server: valid for 825 days");
	ok(tu_crt_verifies(crt, ca_crt),
	    "server: verifies against the front CA");
	ok(!tu_crt_verifies(crt, worker_crt),
	    "server: does not verify against the worker CA");
	is_str(issuer_dn(crt), "CN=DECNET SWARM Front-end CA,O=DECNET",
	    "server: issuer is the front CA");
	ok(key_pem_matches(iss.key_pem, crt), "server: key matches");
	gnutls_x509_crt_deinit(crt);
	pki_issued_clear(&iss);

	sc_error_clear(&err);
	sans[0] = "bad name with spaces";
	is_int(pki_issue_server(ca, "x", sans, 1, PKI_KEY_ECDSA_P256, &iss,
	    &err), SC_INVALID, "server: a SAN that is neither IP nor DNS "
	    "refused");
}

/* ---------------------------------------------------------- PKCS#12 */

static void
check_p12(const struct pki_ca *ca, const struct pki_issued *iss,
    gnutls_x509_crt_t ca_crt, const char *password, const char *what)
{
	gnutls_pkcs12_t p12 = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *chain = NULL, *extra = NULL, crt;
	unsigned int nchain = 0, nextra = 0, i;
	unsigned char *der = NULL;
	size_t len = 0;
	gnutls_datum_t d;
	struct sc_error err;
	char fp[65], cafp[65], got[65];
	int found_ca = 0, r;

	sc_error_clear(&err);
	ok(pki_pkcs12_export(ca, iss, "alice", password, &der, &len, &err) ==
	    SC_OK && der != NULL && len > 0, "%s: exported (%s)", what,
	    err.msg);
	if (der == NULL)
		return;
	d.data = der;
	d.size = (unsigned int)len;
	ok(gnutls_pkcs12_init(&p12) == 0 &&
	    gnutls_pkcs12_import(p12, &d, GNUTLS_X509_FMT_DER, 0) == 0,
	    "%s: DER parses as PKCS#12", what);
	is_int(gnutls_pkcs12_verify_mac(p12, password), 0,
	    "%s: MAC verifies with the password", what);
	ok(gnutls_pkcs12_verify_mac(p12, "wrong") < 0,
	    "%s: MAC does not verify with another password", what);
	r = gnutls_pkcs12_simple_parse(p12, password, &key, &chain, &nchain,
	    &extra, &nextra, NULL, GNUTLS_PKCS12_SP_INCLUDE_SELF_SIGNED);
	is_int(r, 0, "%s: simple_parse finds key and chain (%s)", what,
	    gnutls_strerror(r));
	crt = tu_crt_from_pem(iss->cert_pem);
	sha256_hex(crt, fp);
	sha256_hex(ca_crt, cafp);
	got[0] = '\0';
	if (nchain > 0)
		sha256_hex(chain[0], got);
	is_str(got, fp, "%s: the chain starts with the issued certificate",
	    what);
	ok(key != NULL && nchain > 0 && same_key(key, chain[0]),
	    "%s: the key belongs to that certificate", what);
	for (i = 0; i < nchain + nextra; i++) {
		sha256_hex(i < nchain ? chain[i] : extra[i - nchain], got);
		found_ca |= strcmp(got, cafp) == 0;
	}
	ok(found_ca, "%s: the CA certificate is in the file too", what);
	for (i = 0; i < nchain; i++)
		gnutls_x509_crt_deinit(chain[i]);
	for (i = 0; i < nextra; i++)
		gnutls_x509_crt_deinit(extra[i]);
	gnutls_free(chain);
	gnutls_free(extra);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_pkcs12_deinit(p12);
	memset(der, 0, len);
	free(der);
}

static void
test_pkcs12(const struct pki_ca *ca, gnutls_x509_crt_t ca_crt)
{
	struct pki_issued iss;
	struct sc_error err;

	sc_error_clear(&err);
	if (!ok(pki_issue_operator(ca, "alice", 30, PKI_KEY_ECDSA_P256, &iss,
	    &err) == SC_OK, "operator for PKCS#12 issued (%s)", err.msg))
		return;
	check_p12(ca, &iss, ca_crt, "correct horse", "PKCS#12 with password");
	check_p12(ca, &iss, ca_crt, "", "PKCS#12 with empty password");
	pki_issued_clear(&iss);
}

/* -------------------------------------------------------------- CRL */

/* Each CA's CRL file, spelled out here rather than asked of pki.c. */
static const char *
crl_name(enum pki_ca_role role)
{
	return role == PKI_CA_WORKER ? "crl.pem" : "front-crl.pem";
}

static gnutls_x509_crl_t
parse_crl_file(const char dir[128], const char *name)
{
	gnutls_datum_t d = file_datum(dir, name);
	gnutls_x509_crl_t crl = NULL;

	if (d.data == NULL || gnutls_x509_crl_init(&crl) < 0 ||
	    gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crl_deinit(crl);
		crl = NULL;
	}
	free(d.data);
	return crl;
}

static uint64_t
crl_number_of(gnutls_x509_crl_t crl)
{
	unsigned char num[32];
	size_t len = sizeof(num), i;
	uint64_t v = 0;

	if (gnutls_x509_crl_get_number(crl, num, &len, NULL) < 0)
		return UINT64_MAX;
	for (i = 0; i < len; i++)
		v = v << 8 | num[i];
	return v;
}

/* Temporary files of either CRL (".crl.pem.*", ".front-crl.pem.*"). */
static int
leftovers(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".crl.pem", 8) == 0 ||
		    strncmp(e->d_name, ".front-crl.pem", 14) == 0)
			n++;
	closedir(d);
	return n;
}

/* Both absent, or the same text. */
static int
same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_crl_entries(gnutls_x509_crl_t crl, const struct pki_revoked *want,
    int n)
{
	unsigned char serial[64];
	size_t len;
	time_t t;
	char hex[129];
	int i, good = 0;

	is_int(gnutls_x509_crl_get_crt_count(crl), n, "CRL lists %d "
	    "certificates", n);
	for (i = 0; i < n; i++) {
		len = sizeof(serial);
		if (gnutls_x509_crl_get_crt_serial(crl, i, serial, &len,
		    &t) < 0)
			break;
		hex_of(serial, len, hex);
		good += strcmp(hex, want[i].serial_hex) == 0 &&
		    t == want[i].revoked_at;
	}
	is_int(good, n, "every listed serial and revocation time is right");
}

/*
 * One CA's CRL, in its own file: `other_crt` is the other CA's
 * certificate, whose CRL file must not change and which must not verify
 * this one.
 */
static void
test_crl(const struct pki_ca *ca, gnutls_x509_crt_t ca_crt,
    gnutls_x509_crt_t other_crt)
{
	struct pki_revoked rev[2] = {
		{ "0a1b2c3d4e5f60718293a4b5c6d7e8f9", 1700000000, 0 },
		{ "7fffffffffffffffffffffffffffff01", 1700000100, 0 },
	};
	const enum pki_ca_role role = pki_ca_role(ca);
	const char *name = crl_name(role), *other_name = crl_name(1 - role);
	const char *what = pki_ca_role_name(role);
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_x509_crl_t crl;
	struct sc_error err;
	unsigned int status = 1;
	struct stat st;
	char path[PATH_MAX], other_path[PATH_MAX], before[4096], *now_pem;
	char *other_before, *other_after;
	time_t now, next = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", ca_dir, name);
	snprintf(other_path, sizeof(other_path), "%s/%s", ca_dir, other_name);
	other_before = tu_read_file(other_path, NULL);
	sc_error_clear(&err);
	is_int(pki_crl_next_update(ca_dir, role, &next, &err), SC_NOT_FOUND,
	    "%s: no %s yet: pki_crl_next_update says SC_NOT_FOUND", what,
	    name);
	umask(077);	/* the CRL must be 0644 whatever the umask */
	now = time(NULL);
	sc_error_clear(&err);
	ok(pki_crl_write_rows(ca, ca_dir, rev, 2, 42, 3600, &err) == SC_OK,
	    "%s: CRL with 2 revoked serials written (%s)", what, err.msg);
	umask(022);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "%s: %s is 0644 (umask 077 at the time)", what, name);
	is_int(leftovers(ca_dir), 0, "%s: no temporary file left behind",
	    what);
	other_after = tu_read_file(other_path, NULL);
	ok(same_text(other_before, other_after), "%s: %s (the other CA's) "
	    "left as it was", what, other_name);
	free(other_after);
	crl = parse_crl_file(ca_dir, name);
	ok(crl != NULL, "%s: %s parses as a PEM CRL", what, name);
	if (crl == NULL)
		goto out;
	ok(gnutls_x509_crl_get_raw_issuer_dn(crl, &a) == 0 &&
	    gnutls_x509_crt_get_raw_dn(ca_crt, &b) == 0 && a.size == b.size &&
	    memcmp(a.data, b.data, a.size) == 0,
	    "%s: issuer is the CA's subject", what);
	gnutls_free(a.data);
	gnutls_free(b.data);
	ok(gnutls_x509_crl_verify(crl, &ca_crt, 1, 0, &status) == 0 &&
	    status == 0, "%s: signature verifies with the CA certificate",
	    what);
	status = 0;
	ok(gnutls_x509_crl_verify(crl, &other_crt, 1, 0, &status) < 0 ||
	    status != 0, "%s: and not with the other CA's certificate", what);
	is_int(gnutls_x509_crl_get_version(crl), 2, "%s: version 2", what);
	ok(labs((long)(gnutls_x509_crl_get_next_update(crl) - now - 3600)) <=
	    SLACK, "%s: nextUpdate is about now + 1 hour", what);
	ok(gnutls_x509_crl_get_this_update(crl) <= now,
	    "%s: thisUpdate is not in the future", what);
	is_int(crl_number_of(crl), 42, "%s: CRL number 42", what);
	check_crl_entries(crl, rev, 2);
	sc_error_clear(&err);
	ok(pki_crl_next_update(ca_dir, role, &next, &err) == SC_OK &&
	    next == gnutls_x509_crl_get_next_update(crl),
	    "%s: pki_crl_next_update reads the same nextUpdate", what);
	gnutls_x509_crl_deinit(crl);

	/* Atomic replacement: a reader holding the old file keeps it whole. */
	fd = open(path, O_RDONLY);
	sc_error_clear(&err);
	ok(pki_crl_write_rows(ca, ca_dir, rev + 1, 1, (UINT64_C(1) << 63) + 5,
	    7 * DAY, &err) == SC_OK, "%s: second CRL written (%s)", what,
	    err.msg);
	n = fd != -1 ? read(fd, before, sizeof(before) - 1) : -1;
	before[n > 0 ? n : 0] = '\0';
	if (fd != -1)
		close(fd);
	now_pem = tu_read_file(path, NULL);
	ok(n > 0 && strstr(before, "-----END X509 CRL-----") != NULL &&
	    now_pem != NULL && strcmp(before, now_pem) != 0,
	    "%s: the old file stays whole for its reader, the name gets the "
	    "new one", what);
	free(now_pem);
	is_int(leftovers(ca_dir), 0, "%s: still no temporary file", what);
	crl = parse_crl_file(ca_dir, name);
	ok(crl != NULL && crl_number_of(crl) == (UINT64_C(1) << 63) + 5,
	    "%s: CRL number with the top bit set round-trips (positive "
	    "INTEGER)", what);
	if (crl != NULL) {
		check_crl_entries(crl, rev + 1, 1);
		gnutls_x509_crl_deinit(crl);
	}

	sc_error_clear(&err);
	ok(pki_crl_write_rows(ca, ca_dir, NULL, 0, 44, 60, &err) == SC_OK &&
	    (crl = parse_crl_file(ca_dir, name)) != NULL &&
	    gnutls_x509_crl_get_crt_count(crl) == 0,
	    "%s: an empty CRL is valid too", what);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	sc_error_clear(&err);
	is_int(pki_crl_write_rows(ca, ca_dir, rev, 2, 45, 0, &err), SC_INVALID,
	    "%s: a nextUpdate of 0 seconds is refused", what);
	strcpy(rev[0].serial_hex, "xyz");
	sc_error_clear(&err);
	is_int(pki_crl_write_rows(ca, ca_dir, rev, 2, 45, 60, &err), SC_INVALID,
	    "%s: a serial that is not hex is refused", what);
	crl = parse_crl_file(ca_dir, name);
	ok(crl != NULL && crl_number_of(crl) == 44,
	    "%s: refused writes leave the published CRL alone", what);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	is_int(leftovers(ca_dir), 0, "%s: and leave nothing behind", what);
	ok(pki_crl_write_rows(ca, "/nonexistent/dir", NULL, 0, 46, 60, &err) ==
	    SC_IO, "%s: an unwritable CA directory is SC_IO", what);
	other_after = tu_read_file(other_path, NULL);
	ok(same_text(other_before, other_after), "%s: %s still as it was",
	    what, other_name);
	free(other_after);
out:
	free(other_before);
}

/* After both: two files, each its own CA's, each read back by role. */
static void
test_crl_files(const struct pki_ca *worker, gnutls_x509_crt_t worker_crt,
    const struct pki_ca *front, gnutls_x509_crt_t front_crt)
{
	gnutls_x509_crl_t wcrl = NULL, fcrl = NULL;
	struct sc_error err;
	unsigned int status = 1;
	time_t wnext = 0, fnext = 0;

	/* Different lifetimes, so each read-back shows which file it read. */
	sc_error_clear(&err);
	ok(pki_crl_write_rows(worker, ca_dir, NULL, 0, 50, 3600, &err) == SC_OK &&
	    pki_crl_write_rows(front, ca_dir, NULL, 0, 50, 7 * DAY, &err) == SC_OK,
	    "both CRLs rewritten (%s)", err.msg);
	wcrl = parse_crl_file(ca_dir, "crl.pem");
	fcrl = parse_crl_file(ca_dir, "front-crl.pem");
	ok(wcrl != NULL && fcrl != NULL, "crl.pem and front-crl.pem both "
	    "there");
	if (wcrl == NULL || fcrl == NULL)
		goto out;
	ok(gnutls_x509_crl_verify(wcrl, &worker_crt, 1, 0, &status) == 0 &&
	    status == 0, "crl.pem is the worker CA's");
	status = 1;
	ok(gnutls_x509_crl_verify(fcrl, &front_crt, 1, 0, &status) == 0 &&
	    status == 0, "front-crl.pem is the front CA's");
	ok(gnutls_x509_crl_get_next_update(fcrl) -
	    gnutls_x509_crl_get_next_update(wcrl) > DAY,
	    "the two files differ (1 hour vs 7 days)");
	sc_error_clear(&err);
	ok(pki_crl_next_update(ca_dir, PKI_CA_WORKER, &wnext, &err) == SC_OK &&
	    wnext == gnutls_x509_crl_get_next_update(wcrl),
	    "pki_crl_next_update(worker) reads crl.pem");
	sc_error_clear(&err);
	ok(pki_crl_next_update(ca_dir, PKI_CA_FRONT, &fnext, &err) == SC_OK &&
	    fnext == gnutls_x509_crl_get_next_update(fcrl),
	    "pki_crl_next_update(front) reads front-crl.pem");
out:
	if (wcrl != NULL)
		gnutls_x509_crl_deinit(wcrl);
	if (fcrl != NULL)
		gnutls_x509_crl_deinit(fcrl);
}

/* ------------------------------------------------------------- peer */

static void
test_peer(const struct pki_ca *worker, const struct pki_ca *front,
    const struct pki_ca *other, gnutls_x509_crt_t worker_crt,
    gnutls_x509_crt_t front_crt)
{
	struct pki_issued w, op;
	struct pki_peer peer;
	struct sc_error err;
	struct pki_ca *front_cert = NULL, *worker_cert = NULL;
	gnutls_privkey_t ca_key;
	char *pem;
	time_t now = time(NULL);

	sc_error_clear(&err);
	if (pki_issue_worker(worker, "w2", NULL, 0, PKI_KEY_ECDSA_P256, &w,
	    &err) != SC_OK || pki_issue_operator(front, "alice", 30,
	    PKI_KEY_ECDSA_P256, &op, &err) != SC_OK) {
		ok(0, "certificates for the peer tests (%s)", err.msg);
		return;
	}
	ok(pki_peer_parse(worker, w.cert_pem, strlen(w.cert_pem), &peer,
	    &err) == SC_OK, "worker certificate parses as a peer");
	is_str(peer.fingerprint, w.fingerprint, "peer: SHA-256 fingerprint");
	is_str(peer.cn, "w2", "peer: CN");
	is_str(peer.ou, "swarm-worker", "peer: OU");
	ok(peer.issued_by_ca, "peer: a worker certificate is the worker CA's");
	ok(pki_peer_parse(front, w.cert_pem, strlen(w.cert_pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca &&
	    strcmp(peer.ou, "swarm-worker") == 0,
	    "a worker certificate is not issued by the front CA");

	ok(pki_peer_parse(front, op.cert_pem, strlen(op.cert_pem), &peer,
	    &err) == SC_OK && peer.issued_by_ca &&
	    strcmp(peer.ou, "swarm-operator") == 0 &&
	    strcmp(peer.cn, "alice") == 0 &&
	    strcmp(peer.fingerprint, op.fingerprint) == 0,
	    "operator certificate: the front CA's, OU=swarm-operator, "
	    "CN=alice");
	ok(pki_peer_parse(worker, op.cert_pem, strlen(op.cert_pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca,
	    "an operator certificate is not issued by the worker CA");

	/* Verifying needs the certificate alone. */
	sc_error_clear(&err);
	ok(pki_ca_load_cert(ca_dir, PKI_CA_FRONT, &front_cert, &err) == SC_OK &&
	    pki_peer_parse(front_cert, op.cert_pem, strlen(op.cert_pem),
	    &peer, &err) == SC_OK && peer.issued_by_ca,
	    "front CA loaded without its key: the operator is still its own "
	    "(%s)", err.msg);
	ok(front_cert != NULL && pki_peer_parse(front_cert, w.cert_pem,
	    strlen(w.cert_pem), &peer, &err) == SC_OK && !peer.issued_by_ca,
	    "... and the worker is still not");
	sc_error_clear(&err);
	ok(pki_ca_load_cert(ca_dir, PKI_CA_WORKER, &worker_cert,
	    &err) == SC_OK && pki_peer_parse(worker_cert, w.cert_pem,
	    strlen(w.cert_pem), &peer, &err) == SC_OK && peer.issued_by_ca,
	    "worker CA loaded without its key: the worker is its own (%s)",
	    err.msg);
	pki_ca_free(front_cert);
	pki_ca_free(worker_cert);

	pem = forge("alice", "swarm-operator", now - 60, now + DAY, NULL,
	    NULL);
	ok(pem != NULL && pki_peer_parse(front, pem, strlen(pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca &&
	    strcmp(peer.ou, "swarm-operator") == 0,
	    "self-signed OU=swarm-operator look-alike: parsed, not ours");
	free(pem);

	ok(pki_peer_parse(other, op.cert_pem, strlen(op.cert_pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca,
	    "our operator certificate is not issued by another front CA");

	ca_key = load_ca_key(ca_dir, "front-ca.key");
	pem = ca_key != NULL ? forge("alice", "swarm-operator", now - 2 * DAY,
	    now - DAY, front_crt, ca_key) : NULL;
	ok(pem != NULL && pki_peer_parse(front, pem, strlen(pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca,
	    "signed by our front CA but expired: not accepted");
	free(pem);
	pem = ca_key != NULL ? forge("alice", "swarm-operator", now - 60,
	    now + DAY, front_crt, ca_key) : NULL;
	ok(pem != NULL && pki_peer_parse(front, pem, strlen(pem), &peer,
	    &err) == SC_OK && peer.issued_by_ca,
	    "control: the same certificate, in validity, is accepted");
	free(pem);
	if (ca_key != NULL)
		gnutls_privkey_deinit(ca_key);

	/* The worker CA's key cannot mint an operator the front accepts. */
	ca_key = load_ca_key(ca_dir, "ca.key");
	pem = ca_key != NULL ? forge("alice", "swarm-operator", now - 60,
	    now + DAY, worker_crt, ca_key) : NULL;
	ok(pem != NULL && pki_peer_parse(front, pem, strlen(pem), &peer,
	    &err) == SC_OK && !peer.issued_by_ca &&
	    strcmp(peer.ou, "swarm-operator") == 0,
	    "OU=swarm-operator signed by the worker CA: not the front CA's");
	free(pem);
	if (ca_key != NULL)
		gnutls_privkey_deinit(ca_key);

	ok(pki_peer_parse(front, pki_ca_cert_pem(front),
	    strlen(pki_ca_cert_pem(front)), &peer, &err) == SC_OK &&
	    !peer.issued_by_ca, "the CA certificate itself is no client");

	sc_error_clear(&err);
	is_int(pki_peer_parse(front, "garbage", 7, &peer, &err), SC_INVALID,
	    "garbage is SC_INVALID");
	ok(peer.fingerprint[0] == '\0' && !peer.issued_by_ca,
	    "... and the peer is left empty");
	sc_error_clear(&err);
	is_int(pki_peer_parse(front, w.cert_pem, 0, &peer, &err), SC_INVALID,
	    "an empty certificate is SC_INVALID");
	sc_error_clear(&err);
	is_int(pki_peer_parse(front, w.cert_pem, 100, &peer, &err),
	    SC_INVALID, "a truncated certificate is SC_INVALID");
	pki_issued_clear(&w);
	pki_issued_clear(&op);
}

int
main(void)
{
	struct pki_ca *worker, *front, *other;
	gnutls_x509_crt_t worker_crt, front_crt;
	struct sc_error err;

	umask(022);
	sc_error_clear(&err);
	snprintf(top, sizeof(top), "/var/tmp/test_trust_pki.XXXXXX");
	if (mkdtemp(top) == NULL || pki_init(&err) != SC_OK) {
		printf("Bail out! set up: %s\n", err.msg);
		return 1;
	}
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", top);
	snprintf(other_dir, sizeof(other_dir), "%s/other", top);
	worker = open_ca(ca_dir, PKI_CA_WORKER);
	front = open_ca(ca_dir, PKI_CA_FRONT);
	other = open_ca(other_dir, PKI_CA_FRONT);
	if ((worker_crt = load_ca_crt(ca_dir, "ca.crt")) == NULL ||
	    (front_crt = load_ca_crt(ca_dir, "front-ca.crt")) == NULL) {
		printf("Bail out! cannot read back ca.crt, front-ca.crt\n");
		return 1;
	}
	test_worker_fields(worker, worker_crt, front_crt);
	test_operator_profile(front, front_crt, worker_crt);
	test_server_profile(front, front_crt, worker_crt);
	test_pkcs12(front, front_crt);
	test_crl(worker, worker_crt, front_crt);
	test_crl(front, front_crt, worker_crt);
	test_crl_files(worker, worker_crt, front, front_crt);
	test_peer(worker, front, other, worker_crt, front_crt);
	gnutls_x509_crt_deinit(worker_crt);
	gnutls_x509_crt_deinit(front_crt);
	pki_ca_free(worker);
	pki_ca_free(front);
	pki_ca_free(other);
	pki_deinit();
	tu_rm_rf(top);
	return done_testing();
}
