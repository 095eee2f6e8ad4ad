#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "pki/internal.h"
#include "pki/pki.h"

#define ORGANIZATION	"DECNET"

#define DAY_SECS	(24L * 60 * 60)
/* Tolerate clocks a little behind ours on the verifying side. */
#define BACKDATE_SECS	(5L * 60)
#define CA_DAYS		3650L	/* ten years */
/* 825 days: the longest TLS lifetime Apple platforms accept. */
#define SERVER_DAYS	825L
/*
 * Worker certificates: `serve --worker-days` (pki_set_worker_days).
 * Workers renew their own (POST /swarm/renew), so they can be short.
 */
static long worker_days = PKI_WORKER_DAYS_DEFAULT;

void
pki_set_worker_days(int days)
{
	worker_days = days;
}

#define CA_LOCK_FILE	".lock"
#define WORKERS_DIR	"workers"

/* A CA file larger than this is not ours. */
#define PEM_FILE_MAX	(1024 * 1024)
#define CN_MAX		SC_NAME_MAX	/* RFC 5280 appendix A: ub-common-name */
#define SANS_MAX	1024

static const struct {
	enum pki_key_type	 type;
	const char		*name;
	gnutls_pk_algorithm_t	 pk;
	unsigned int		 bits;
} key_types[] = {
	{ PKI_KEY_RSA2048,	"rsa-2048",	GNUTLS_PK_RSA,	2048 },
	{ PKI_KEY_RSA3072,	"rsa-3072",	GNUTLS_PK_RSA,	3072 },
	{ PKI_KEY_RSA4096,	"rsa-4096",	GNUTLS_PK_RSA,	4096 },
	{ PKI_KEY_ECDSA_P256,	"ecdsa-p256",	GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1) },
	{ PKI_KEY_ECDSA_P384,	"ecdsa-p384",	GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1) },
	{ PKI_KEY_ED25519,	"ed25519",	GNUTLS_PK_EDDSA_ED25519,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519) },
};
#define NKEY_TYPES	(sizeof(key_types) / sizeof(key_types[0]))

/*
 * The files of each CA in CA_DIR.  The worker CA keeps the names (and
 * the subject) that CONTRACT.md gives "the CA": its certificate is every
 * bundle's ca_cert_pem.
 */
static const struct ca_files {
	const char	*name;
	const char	*crt, *key, *crt_tmp, *key_tmp, *crl;
	/* The key's PKCS#11 URL, in place of the key file (init --ca-key). */
	const char	*key_url, *key_url_tmp;
	const char	*common_name;
} ca_files[PKI_NCA_ROLES] = {
	[PKI_CA_WORKER] = {
		.name = "worker",
		.crt = "ca.crt", .key = "ca.key",
		.crt_tmp = ".ca.crt.tmp", .key_tmp = ".ca.key.tmp",
		.crl = "crl.pem",
		.key_url = "ca.key.pkcs11", .key_url_tmp = ".ca.key.pkcs11.tmp",
		.common_name = "DECNET SWARM Root CA",
	},
	[PKI_CA_FRONT] = {
		.name = "front",
		.crt = "front-ca.crt", .key = "front-ca.key",
		.crt_tmp = ".front-ca.crt.tmp", .key_tmp = ".front-ca.key.tmp",
		.crl = "front-crl.pem",
		.key_url = "front-ca.key.pkcs11",
		.key_url_tmp = ".front-ca.key.pkcs11.tmp",
		.common_name = "DECNET SWARM Front-end CA",
	},
};

const char *
pki_ca_role_name(enum pki_ca_role role)
{
	return ca_files[role].name;
}

const char *
pki_ca_cert_file(enum pki_ca_role role)
{
	return ca_files[role].crt;
}

const char *
pki_ca_crl_file(enum pki_ca_role role)
{
	return ca_files[role].crl;
}

int
pki_key_type_parse(const char *s, enum pki_key_type *out)
{
	size_t i;

	for (i = 0; s != NULL && i < NKEY_TYPES; i++) {
		if (strcmp(s, key_types[i].name) == 0) {
			*out = key_types[i].type;
			return 0;
		}
	}
	return -1;
}

const char *
pki_key_type_name(enum pki_key_type type)
{
	size_t i;

	for (i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "unknown";
}

static size_t
key_type_index(enum pki_key_type type)
{
	size_t i;

	for (i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].type == type)
			break;
	return i;
}

bool
pki_key_type_slow(enum pki_key_type type)
{
	size_t i = key_type_index(type);

	/* An unknown type is treated as slow: it waits, never guesses. */
	return i == NKEY_TYPES || key_types[i].pk == GNUTLS_PK_RSA;
}

enum sc_err
pki_init(struct sc_error *err)
{
	int rc;

	if ((rc = gnutls_global_init()) < 0)
		return sc_error_set(err, SC_INTERNAL, "gnutls_global_init: %s",
		    gnutls_strerror(rc));
	return SC_OK;
}

void
pki_deinit(void)
{
	gnutls_global_deinit();
}

enum sc_err
pki_tls_error(struct sc_error *err, enum sc_err code, const char *what,
    int rc)
{
	return sc_error_set(err, code, "%s: %s", what, gnutls_strerror(rc));
}

/* ------------------------------------------------------------ files */

static enum sc_err
join_path(char *buf, size_t size, const char *dir, const char *name,
    struct sc_error *err)
{
	int n;

	n = snprintf(buf, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size)
		return sc_error_set(err, SC_INTERNAL, "path too long: %s/%s",
		    dir, name);
	return SC_OK;
}

/* A whole PEM file as a NUL-terminated buffer: see internal.h. */
enum sc_err
pki_read_file(const char *dir, const char *name, bool missing_ok,
    gnutls_datum_t *out, mode_t *mode, struct sc_error *err)
{
	return pki_read_file_max(dir, name, missing_ok, PEM_FILE_MAX, out,
	    mode, err);
}

enum sc_err
pki_read_file_max(const char *dir, const char *name, bool missing_ok,
    size_t max, gnutls_datum_t *out, mode_t *mode, struct sc_error *err)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	enum sc_err rc;
	int fd = -1;

	out->data = NULL;
	out->size = 0;
	if ((rc = join_path(path, sizeof(path), dir, name, err)) != SC_OK)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		rc = sc_error_set(err, missing_ok && errno == ENOENT ?
		    SC_NOT_FOUND : SC_CA_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uintmax_t)st.st_size > max) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE,
		    "%s: not a regular file of 1 to %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = sc_error_set(err, SC_CA_UNAVAILABLE, "read %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;	/* shrank under us: parse what is there */
		len += (size_t)n;
	}
	buf[len] = '\0';
	out->data = (unsigned char *)buf;
	out->size = (unsigned int)len;
	if (mode != NULL)
		*mode = st.st_mode & 07777;
	buf = NULL;
out:
	if (buf != NULL) {
		gnutls_memset(buf, 0, (size_t)st.st_size + 1);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* See internal.h. */
char *
pki_datum_strdup(const gnutls_datum_t *d)
{
	char *s;

	if ((s = malloc((size_t)d->size + 1)) == NULL)
		return NULL;
	memcpy(s, d->data, d->size);
	s[d->size] = '\0';
	return s;
}

/* See internal.h. */
void
pki_datum_wipe(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* ----------------------------------------------------- certificates */

enum sc_err
pki_generate_key(enum pki_key_type type, gnutls_x509_privkey_t *out,
    struct sc_error *err)
{
	gnutls_x509_privkey_t key = NULL;
	enum sc_err rc = SC_OK;
	size_t i;
	int r;

	*out = NULL;
	if ((i = key_type_index(type)) == NKEY_TYPES) {
		rc = sc_error_set(err, SC_INTERNAL, "unknown key type %d",
		    (int)type);
		goto out;
	}
	if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
	    (r = gnutls_x509_privkey_generate(key, key_types[i].pk,
	    key_types[i].bits, 0)) < 0) {
		rc = sc_error_set(err, SC_INTERNAL, "generate %s key: %s",
		    key_types[i].name, gnutls_strerror(r));
		goto out;
	}
	*out = key;
	key = NULL;
out:
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/*
 * RFC 5280 4.1.2.2: the serial is a positive integer of at most 20
 * octets, unique per CA.  128 random bits make collisions negligible and
 * keep serials unpredictable.  The top bit is cleared so the INTEGER is
 * positive, and the first octet is kept nonzero so the DER encoding is
 * exactly PKI_SERIAL_LEN octets (no leading zero stripped), i.e. the
 * serial we report is byte for byte the one in the certificate.
 */
static enum sc_err
make_serial(unsigned char serial[PKI_SERIAL_LEN], struct sc_error *err)
{
	int r;

	if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, PKI_SERIAL_LEN)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "gnutls_rnd", r);
	serial[0] &= 0x7f;
	while (serial[0] == 0) {
		if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, 1)) < 0)
			return pki_tls_error(err, SC_INTERNAL, "gnutls_rnd", r);
		serial[0] &= 0x7f;
	}
	return SC_OK;
}

/* The subject key and its subjectKeyIdentifier. */
static enum sc_err
set_subject_key(gnutls_x509_crt_t crt, gnutls_pubkey_t pub,
    unsigned char *id, size_t *idlen, struct sc_error *err)
{
	int r;

	if ((r = gnutls_x509_crt_set_pubkey(crt, pub)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set key", r);
	if ((r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, id,
	    idlen)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "subject key id", r);
	return SC_OK;
}

/*
 * What every certificate we issue has in common: version 3, serial,
 * validity from now-5min for `days` days, the subject public key and its
 * subjectKeyIdentifier (RFC 5280 4.2.1.2, method 1: SHA-1 of the key).
 */
static enum sc_err
set_common(gnutls_x509_crt_t crt, const unsigned char *serial, long days,
    gnutls_pubkey_t key, struct sc_error *err)
{
	unsigned char id[PKI_KEY_ID_MAX];
	size_t idlen = sizeof(id);
	time_t start;
	enum sc_err rc;
	int r;

	start = time(NULL) - BACKDATE_SECS;
	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set version", r);
	if ((r = gnutls_x509_crt_set_serial(crt, serial, PKI_SERIAL_LEN)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set serial", r);
	if ((r = gnutls_x509_crt_set_activation_time(crt, start)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt,
	    start + days * DAY_SECS)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set validity", r);
	if ((rc = set_subject_key(crt, key, id, &idlen, err)) != SC_OK)
		return rc;
	if ((r = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set subject key id", r);
	return SC_OK;
}

/* Each call appends one RDN, in DER order (most significant first). */
static enum sc_err
add_rdn(gnutls_x509_crt_t crt, const char *oid, const char *value,
    struct sc_error *err)
{
	int r;

	if ((r = gnutls_x509_crt_set_dn_by_oid(crt, oid, 0, value,
	    (unsigned int)strlen(value))) < 0)
		return pki_tls_error(err, SC_INTERNAL, "set subject", r);
	return SC_OK;
}

/*
 * Ed25519 signs the message itself (RFC 8410 section 6): there is no
 * separate digest to choose.  Everything else signs with SHA-256.
 */
gnutls_digest_algorithm_t
pki_sign_digest(gnutls_privkey_t key)
{
	return pki_sign_digest_pk((gnutls_pk_algorithm_t)
	    gnutls_privkey_get_pk_algorithm(key, NULL));
}

gnutls_digest_algorithm_t
pki_sign_digest_pk(gnutls_pk_algorithm_t pk)
{
	return pk == GNUTLS_PK_EDDSA_ED25519 ? GNUTLS_DIG_SHA512 :
	    GNUTLS_DIG_SHA256;
}

/* gnutls PEM export as a malloc'd NUL-terminated string. */
static enum sc_err
export_crt_pem(gnutls_x509_crt_t crt, char **out, struct sc_error *err)
{
	gnutls_datum_t d = { NULL, 0 };
	int r;

	*out = NULL;
	if ((r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "export certificate", r);
	*out = pki_datum_strdup(&d);
	gnutls_free(d.data);
	if (*out == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

/* init --ca-key / --front-ca-key, for the CAs created next. */
static const char *key_urls[PKI_NCA_ROLES];

void
pki_ca_key_url_set(enum pki_ca_role role, const char *url)
{
	key_urls[role] = url;
}

/*
 * The CA key on a PKCS#11 token: the object `url` names, generated there
 * first (private, sensitive: it never leaves the token) if there is none.
 */
static enum sc_err
token_key(const char *url, enum pki_key_type type, gnutls_privkey_t *key,
    struct sc_error *err)
{
	gnutls_datum_t pub = { NULL, 0 };
	char label[128];
	const char *p;
	size_t i = key_type_index(type), n;
	int r;

	if ((r = gnutls_privkey_init(key)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "gnutls_privkey_init", r);
	if (gnutls_privkey_import_url(*key, url, 0) >= 0)
		return SC_OK;
	gnutls_privkey_deinit(*key);
	*key = NULL;
	if ((p = strstr(url, "object=")) == NULL)
		return sc_error_set(err, SC_INVALID, "%s: no object= to name "
		    "the new key", url);
	p += strlen("object=");
	if ((n = strcspn(p, ";?%")) == 0 || n >= sizeof(label))
		return sc_error_set(err, SC_INVALID, "%s: object= must be a "
		    "plain label of 1 to %zu characters", url,
		    sizeof(label) - 1);
	memcpy(label, p, n);
	label[n] = '\0';
	if ((r = gnutls_pkcs11_privkey_generate3(url, key_types[i].pk,
	    key_types[i].bits, label, NULL, GNUTLS_X509_FMT_DER, &pub, 0,
	    GNUTLS_PKCS11_OBJ_FLAG_LOGIN | GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE |
	    GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE)) < 0)
		return pki_tls_error(err, SC_CA_UNAVAILABLE,
		    "generate the CA key on the token", r);
	gnutls_free(pub.data);
	if ((r = gnutls_privkey_init(key)) < 0 ||
	    (r = gnutls_privkey_import_url(*key, url, 0)) < 0)
		return pki_tls_error(err, SC_CA_UNAVAILABLE,
		    "the CA key just generated on the token", r);
	return SC_OK;
}

/*
 * A new self-signed CA.  *key_pem (PKCS#8 PEM, to be wiped) and *crt_pem
 * are GnuTLS allocations.
 */
static enum sc_err
ca_generate(enum pki_key_type type, const char *common_name, const char *url,
    gnutls_datum_t *key_pem, gnutls_datum_t *crt_pem, struct sc_error *err)
{
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[PKI_SERIAL_LEN], id[PKI_KEY_ID_MAX];
	size_t idlen = sizeof(id);
	enum sc_err rc;
	int r;

	if ((url != NULL ? (rc = token_key(url, type, &key, err)) :
	    (rc = pki_generate_key(type, &xkey, err))) != SC_OK ||
	    (rc = make_serial(serial, err)) != SC_OK)
		goto out;
	if ((r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (key == NULL && ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_x509(key, xkey, 0)) < 0)) ||
	    (r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "new CA key", r);
		goto out;
	}
	if ((rc = set_common(crt, serial, CA_DAYS, pub, err)) != SC_OK ||
	    (rc = add_rdn(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
	    ORGANIZATION, err)) != SC_OK ||
	    (rc = add_rdn(crt, GNUTLS_OID_X520_COMMON_NAME, common_name,
	    err)) != SC_OK)
		goto out;
	/* RFC 5280 4.2.1.9: critical; pathlen 0 = issues only end entities. */
	if ((r = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "set basicConstraints", r);
		goto out;
	}
	/* gnutls always marks keyUsage critical (RFC 5280 4.2.1.3: SHOULD). */
	if ((r = gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN |
	    GNUTLS_KEY_CRL_SIGN)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "set keyUsage", r);
		goto out;
	}
	/* Self-signed: the authority key id is our own subject key id. */
	if ((r = gnutls_x509_crt_get_subject_key_id(crt, id, &idlen,
	    NULL)) < 0 ||
	    (r = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "set authority key id", r);
		goto out;
	}
	if ((r = gnutls_x509_crt_privkey_sign(crt, crt, key,
	    pki_sign_digest(key), 0)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "sign CA certificate", r);
		goto out;
	}
	if (xkey != NULL &&
	    (rc = pki_key_export_pem(xkey, key_pem, err)) != SC_OK) {
		sc_error_prefix(err, "CA key");
		goto out;
	}
	if ((r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM,
	    crt_pem)) < 0) {
		pki_datum_wipe(key_pem);
		rc = pki_tls_error(err, SC_INTERNAL, "export CA certificate", r);
		goto out;
	}
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (key != NULL)
		gnutls_privkey_deinit(key);	/* does not own xkey */
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* ------------------------------------------------------------- CA */

/* mkdir -p: parents 0755 (subject to umask), CA_DIR itself 0700. */
static enum sc_err
make_ca_dir(const char *ca_dir, struct sc_error *err)
{
	char path[PATH_MAX];
	size_t len;
	char *p;

	len = strlen(ca_dir);
	if (len == 0 || len >= sizeof(path))
		return sc_error_set(err, SC_INTERNAL, "bad CA directory \"%s\"",
		    ca_dir);
	memcpy(path, ca_dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return sc_error_set(err, SC_IO, "mkdir %s: %s", path,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return sc_error_set(err, SC_IO, "mkdir %s: %s", path,
		    strerror(errno));
	return SC_OK;
}

/* workers/ holds keys too: 0700, and a real directory, not a symlink. */
static enum sc_err
make_workers_dir(int dirfd, const char *ca_dir, struct sc_error *err)
{
	struct stat st;

	if (mkdirat(dirfd, WORKERS_DIR, 0700) == -1 && errno != EEXIST)
		return sc_error_set(err, SC_IO, "mkdir %s/%s: %s", ca_dir,
		    WORKERS_DIR, strerror(errno));
	if (fstatat(dirfd, WORKERS_DIR, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return sc_error_set(err, SC_IO, "stat %s/%s: %s", ca_dir,
		    WORKERS_DIR, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sc_error_set(err, SC_IO, "%s/%s is not a directory",
		    ca_dir, WORKERS_DIR);
	if (st.st_mode & 077)
		log_warn("%s/%s is accessible to group or others (mode %04o)",
		    ca_dir, WORKERS_DIR, (unsigned int)(st.st_mode & 07777));
	return SC_OK;
}

static enum sc_err
rename_durably(int dirfd, const char *ca_dir, const char *from,
    const char *to, struct sc_error *err)
{
	if (renameat(dirfd, from, dirfd, to) == -1)
		return sc_error_set(err, SC_IO, "rename %s/%s: %s", ca_dir,
		    from, strerror(errno));
	if (fsync(dirfd) == -1)
		return sc_error_set(err, SC_IO, "fsync %s: %s", ca_dir,
		    strerror(errno));
	return SC_OK;
}

/*
 * Write a new CA.  Called with CA_DIR/.lock held.  Both files go to
 * temporary names first; the key is renamed into place before the
 * certificate, and the directory is fsynced after each rename, so the
 * certificate exists only once its key is durably there: "certificate
 * present" means "CA complete".  The lock makes fixed temporary names
 * safe; leftovers of a crash are unlinked first.
 */
static enum sc_err
ca_create(int dirfd, const char *ca_dir, enum pki_ca_role role,
    enum pki_key_type type, struct sc_error *err)
{
	const struct ca_files *f = &ca_files[role];
	gnutls_datum_t key = { NULL, 0 }, crt = { NULL, 0 };
	enum sc_err rc;

	const char *url = key_urls[role];
	/* On a token, the URL takes the key file's place. */
	const char *kfile = url != NULL ? f->key_url : f->key;
	const char *ktmp = url != NULL ? f->key_url_tmp : f->key_tmp;

	(void)unlinkat(dirfd, ktmp, 0);
	(void)unlinkat(dirfd, f->crt_tmp, 0);
	log_info("creating a new %s %s CA in %s%s", pki_key_type_name(type),
	    f->name, ca_dir, url != NULL ? ", its key on a PKCS#11 token" : "");
	if ((rc = ca_generate(type, f->common_name, url, &key, &crt,
	    err)) != SC_OK)
		goto out;
	if (url != NULL) {
		key.data = (unsigned char *)gnutls_strdup(url);
		key.size = (unsigned int)strlen(url);
		if (key.data == NULL) {
			rc = sc_error_set(err, SC_INTERNAL, "out of memory");
			goto out;
		}
	}
	if ((rc = fileio_write_new(dirfd, ca_dir, ktmp, key.data,
	    key.size, 0600, err)) != SC_OK ||
	    (rc = fileio_write_new(dirfd, ca_dir, f->crt_tmp, crt.data,
	    crt.size, 0644, err)) != SC_OK ||
	    (rc = rename_durably(dirfd, ca_dir, ktmp, kfile,
	    err)) != SC_OK ||
	    (rc = rename_durably(dirfd, ca_dir, f->crt_tmp, f->crt,
	    err)) != SC_OK)
		goto out;
out:
	if (rc != SC_OK) {
		(void)unlinkat(dirfd, ktmp, 0);
		(void)unlinkat(dirfd, f->crt_tmp, 0);
	}
	pki_datum_wipe(&key);
	gnutls_free(crt.data);
	return rc;
}

static int
lock_exclusive(int fd)
{
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * Create role's CA unless its certificate is there.  With CA_DIR/.lock
 * held.  A certificate without its key is never replaced: that CA may
 * have issued certificates that are still in use.
 */
static enum sc_err
ca_create_missing(int dirfd, const char *ca_dir, enum pki_ca_role role,
    enum pki_key_type type, bool *created, struct sc_error *err)
{
	const struct ca_files *f = &ca_files[role];
	struct stat st;

	*created = false;
	if (fstatat(dirfd, f->crt, &st, 0) == 0) {
		if (fstatat(dirfd, f->key, &st, 0) == -1 &&
		    fstatat(dirfd, f->key_url, &st, 0) == -1)
			return sc_error_set(err, SC_CA_UNAVAILABLE,
			    "%s/%s exists but %s/%s does not (%s); refusing "
			    "to replace an existing CA", ca_dir, f->crt,
			    ca_dir, f->key, strerror(errno));
		return SC_OK;
	}
	if (errno != ENOENT)
		return sc_error_set(err, SC_CA_UNAVAILABLE, "stat %s/%s: %s",
		    ca_dir, f->crt, strerror(errno));
	if (fstatat(dirfd, f->key, &st, AT_SYMLINK_NOFOLLOW) == 0)
		log_warn("%s/%s without %s: an interrupted CA creation; "
		    "creating the CA again", ca_dir, f->key, f->crt);
	*created = true;
	return ca_create(dirfd, ca_dir, role, type, err);
}

enum sc_err
pki_ca_init(const char *ca_dir, enum pki_key_type type,
    bool created[PKI_NCA_ROLES], struct sc_error *err)
{
	struct stat st;
	enum sc_err rc = SC_OK;
	int dirfd = -1, lockfd = -1, role;

	for (role = 0; role < PKI_NCA_ROLES; role++)
		created[role] = false;
	if (key_type_index(type) == NKEY_TYPES) {
		rc = sc_error_set(err, SC_INTERNAL, "unknown key type %d",
		    (int)type);
		goto out;
	}
	if ((rc = make_ca_dir(ca_dir, err)) != SC_OK)
		goto out;
	if ((dirfd = open(ca_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dirfd, &st) == -1) {
		rc = sc_error_set(err, SC_IO, "open %s: %s", ca_dir,
		    strerror(errno));
		goto out;
	}
	/* An operator's directory is left as it is, but not silently. */
	if (st.st_mode & 077)
		log_warn("CA directory %s is accessible to group or others "
		    "(mode %04o)", ca_dir, (unsigned int)(st.st_mode & 07777));

	/* Serialise check-and-create between processes starting at once. */
	lockfd = openat(dirfd, CA_LOCK_FILE,
	    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lockfd == -1 || lock_exclusive(lockfd) == -1) {
		rc = sc_error_set(err, SC_IO, "lock %s/%s: %s", ca_dir,
		    CA_LOCK_FILE, strerror(errno));
		goto out;
	}
	if ((rc = make_workers_dir(dirfd, ca_dir, err)) != SC_OK)
		goto out;
	for (role = 0; role < PKI_NCA_ROLES && rc == SC_OK; role++)
		rc = ca_create_missing(dirfd, ca_dir, (enum pki_ca_role)role,
		    type, &created[role], err);
out:
	if (lockfd != -1)
		close(lockfd);		/* releases the lock */
	if (dirfd != -1)
		close(dirfd);
	return rc;
}

/* Does the private key belong to the certificate? */
static enum sc_err
check_key_matches(gnutls_x509_crt_t crt, gnutls_privkey_t key,
    const char *ca_dir, const struct ca_files *f, struct sc_error *err)
{
	gnutls_pubkey_t pub = NULL;
	unsigned char a[PKI_KEY_ID_MAX], b[PKI_KEY_ID_MAX];
	size_t alen = sizeof(a), blen = sizeof(b);
	enum sc_err rc = SC_OK;
	int r;

	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a,
	    &alen)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen)) < 0) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s: compare CA key "
		    "and certificate: %s", ca_dir, gnutls_strerror(r));
		goto out;
	}
	if (alen != blen || memcmp(a, b, alen) != 0)
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s: %s does not "
		    "belong to %s", ca_dir, f->key, f->crt);
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* The certificate, its key identifier, fingerprint and subject. */
static enum sc_err
ca_load_cert(struct pki_ca *ca, const char *ca_dir, struct sc_error *err)
{
	const struct ca_files *f = &ca_files[ca->role];
	gnutls_datum_t d = { NULL, 0 }, dn = { NULL, 0 };
	enum sc_err rc;
	int r;

	rc = pki_read_file(ca_dir, f->crt, true, &d, NULL, err);
	if (rc == SC_NOT_FOUND) {
		sc_error_clear(err);
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "no %s CA in %s "
		    "(%s is missing): create the CAs with `swarmctl init "
		    "--ca-dir %s`", f->name, ca_dir, f->crt, ca_dir);
	}
	if (rc != SC_OK)
		goto out;
	if ((r = gnutls_x509_crt_init(&ca->crt)) < 0 ||
	    (r = gnutls_x509_crt_import(ca->crt, &d,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s/%s: %s", ca_dir,
		    f->crt, gnutls_strerror(r));
		goto out;
	}
	/* Prefer the CA's own subjectKeyIdentifier (RFC 5280 4.2.1.1). */
	ca->key_id_len = sizeof(ca->key_id);
	if (gnutls_x509_crt_get_subject_key_id(ca->crt, ca->key_id,
	    &ca->key_id_len, NULL) < 0) {
		ca->key_id_len = sizeof(ca->key_id);
		if ((r = gnutls_x509_crt_get_key_id(ca->crt,
		    GNUTLS_KEYID_USE_SHA1, ca->key_id, &ca->key_id_len)) < 0) {
			rc = sc_error_set(err, SC_CA_UNAVAILABLE,
			    "%s/%s: key id: %s", ca_dir, f->crt,
			    gnutls_strerror(r));
			goto out;
		}
	}
	/* The issuer of what it signs, as it is in its certificate. */
	if ((r = gnutls_x509_crt_get_raw_dn(ca->crt, &dn)) < 0 ||
	    (ca->subject_der.data = (unsigned char *)pki_datum_strdup(&dn)) ==
	    NULL) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s/%s: subject: %s",
		    ca_dir, f->crt, r < 0 ? gnutls_strerror(r) : "no memory");
		goto out;
	}
	ca->subject_der.size = dn.size;
	gnutls_free(dn.data);
	dn.data = NULL;
	if ((r = gnutls_x509_crt_get_dn3(ca->crt, &dn, 0)) < 0 ||
	    dn.size >= sizeof(ca->subject)) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s/%s: subject: %s",
		    ca_dir, f->crt, r < 0 ? gnutls_strerror(r) : "too long");
		goto out;
	}
	memcpy(ca->subject, dn.data, dn.size);
	ca->subject[dn.size] = '\0';
	if ((rc = pki_fingerprint_hex(ca->crt, ca->fingerprint, err)) != SC_OK)
		goto out;
	rc = export_crt_pem(ca->crt, &ca->cert_pem, err);
out:
	gnutls_free(dn.data);
	free(d.data);
	return rc;
}

static enum sc_err
ca_load_key(struct pki_ca *ca, const char *ca_dir, struct sc_error *err)
{
	const struct ca_files *f = &ca_files[ca->role];
	gnutls_datum_t d = { NULL, 0 };
	mode_t mode = 0;
	enum sc_err rc;
	int r;

	const char *name = f->key;
	bool token = false;

	rc = pki_read_file(ca_dir, f->key, true, &d, &mode, err);
	if (rc == SC_NOT_FOUND) {
		/* No key file: is the key on a token (init --ca-key)? */
		sc_error_clear(err);
		name = f->key_url;
		token = true;
		rc = pki_read_file(ca_dir, f->key_url, true, &d, &mode, err);
		if (rc == SC_NOT_FOUND) {
			sc_error_clear(err);
			rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s: neither "
			    "%s nor %s (a PKCS#11 URL) exists", ca_dir, f->key,
			    f->key_url);
		}
	}
	if (rc != SC_OK)
		goto out;
	if (mode & 077)
		log_warn("%s/%s is accessible to group or others (mode %04o)",
		    ca_dir, name, (unsigned int)mode);
	/* A URL file: one line, the URL (its PIN may be in it). */
	if (token)
		d.data[strcspn((char *)d.data, "\r\n")] = '\0';
	if ((r = gnutls_privkey_init(&ca->key)) < 0 ||
	    (r = token ? gnutls_privkey_import_url(ca->key, (char *)d.data, 0) :
	    gnutls_privkey_import_x509_raw(ca->key, &d, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0) {
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "%s/%s: %s", ca_dir,
		    name, gnutls_strerror(r));
		goto out;
	}
	rc = check_key_matches(ca->crt, ca->key, ca_dir, f, err);
out:
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		free(d.data);
	}
	return rc;
}

static enum sc_err
ca_load(const char *ca_dir, enum pki_ca_role role, bool with_key,
    struct pki_ca **out, struct sc_error *err)
{
	struct pki_ca *ca = NULL;
	enum sc_err rc;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	ca->role = role;
	if ((rc = ca_load_cert(ca, ca_dir, err)) != SC_OK)
		goto out;
	/* With a signer running, the key stays in the signer. */
	if (with_key && (ca->signer = pki_signer_current()) == NULL &&
	    (rc = ca_load_key(ca, ca_dir, err)) != SC_OK)
		goto out;
	*out = ca;
	ca = NULL;
out:
	pki_ca_free(ca);
	return rc;
}

enum sc_err
pki_ca_load(const char *ca_dir, enum pki_ca_role role, struct pki_ca **out,
    struct sc_error *err)
{
	return ca_load(ca_dir, role, true, out, err);
}

enum sc_err
pki_ca_load_cert(const char *ca_dir, enum pki_ca_role role,
    struct pki_ca **out, struct sc_error *err)
{
	return ca_load(ca_dir, role, false, out, err);
}

enum pki_ca_role
pki_ca_role(const struct pki_ca *ca)
{
	return ca->role;
}

const char *
pki_ca_fingerprint(const struct pki_ca *ca)
{
	return ca->fingerprint;
}

const char *
pki_ca_subject(const struct pki_ca *ca)
{
	return ca->subject;
}

void
pki_ca_free(struct pki_ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->key != NULL)
		gnutls_privkey_deinit(ca->key);
	if (ca->crt != NULL)
		gnutls_x509_crt_deinit(ca->crt);
	free(ca->subject_der.data);
	free(ca->cert_pem);
	free(ca);
}

bool
pki_ca_on_token(const struct pki_ca *ca)
{
	return ca->key != NULL &&
	    gnutls_privkey_get_type(ca->key) == GNUTLS_PRIVKEY_PKCS11;
}

const char *
pki_ca_cert_pem(const struct pki_ca *ca)
{
	return ca->cert_pem;
}

/* ---------------------------------------------------------- issuing */

static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII only: DNS names compare case-insensitively (RFC 4343). */
static int
ascii_caseeq(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return 0;
	return 1;
}

static int
san_equal(const struct pki_san *a, const struct pki_san *b)
{
	if (a->type != b->type || a->len != b->len)
		return 0;
	if (a->type == GNUTLS_SAN_IPADDRESS)
		return memcmp(a->data, b->data, a->len) == 0;
	return ascii_caseeq(a->data, b->data, a->len);
}

/*
 * An IP literal becomes an iPAddress (RFC 5280 4.2.1.6: 4 or 16 octets
 * in network order, so "::1" and "0:0::1" are one address); anything
 * else a dNSName, which is an IA5String: printable ASCII only.
 */
static enum sc_err
san_parse(const char *s, struct pki_san *san, struct sc_error *err)
{
	size_t i, len;

	if (inet_pton(AF_INET, s, san->data) == 1) {
		san->type = GNUTLS_SAN_IPADDRESS;
		san->len = 4;
		return SC_OK;
	}
	if (inet_pton(AF_INET6, s, san->data) == 1) {
		san->type = GNUTLS_SAN_IPADDRESS;
		san->len = 16;
		return SC_OK;
	}
	len = strlen(s);
	if (len == 0 || len > PKI_DNS_NAME_MAX)
		return sc_error_set(err, SC_INVALID, "subjectAltName of %zu "
		    "bytes (want 1 to %d)", len, PKI_DNS_NAME_MAX);
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return sc_error_set(err, SC_INVALID, "subjectAltName "
			    "\"%s\" is neither an IP address nor a DNS name",
			    s);
	san->type = GNUTLS_SAN_DNSNAME;
	san->len = len;
	memcpy(san->data, s, len);
	return SC_OK;
}

/*
 * The subjectAltNames, parsed, duplicates (the same address, or the same
 * DNS name in another case) dropped: the first one stays.  *out is
 * malloc'd (NULL when there are none).
 */
static enum sc_err
parse_sans(const char *const *sans, size_t nsans, struct pki_san **out,
    size_t *nout, struct sc_error *err)
{
	struct pki_san *seen = NULL;
	size_t i, j, nseen = 0;
	enum sc_err rc = SC_OK;

	*out = NULL;
	*nout = 0;
	if (nsans == 0)
		goto out;
	if (nsans > SANS_MAX) {
		rc = sc_error_set(err, SC_INVALID, "%zu subjectAltNames "
		    "(at most %d)", nsans, SANS_MAX);
		goto out;
	}
	if ((seen = calloc(nsans, sizeof(*seen))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < nsans; i++) {
		if (sans[i] == NULL) {
			rc = sc_error_set(err, SC_INTERNAL, "NULL SAN");
			goto out;
		}
		if ((rc = san_parse(sans[i], &seen[nseen], err)) != SC_OK)
			goto out;
		for (j = 0; j < nseen; j++)
			if (san_equal(&seen[j], &seen[nseen]))
				break;
		if (j == nseen)
			nseen++;
	}
	*out = seen;
	*nout = nseen;
	seen = NULL;
out:
	free(seen);
	return rc;
}

/*
 * What distinguishes the kinds of certificate we issue.  Everything else
 * (serial, validity start, key identifiers, CA:FALSE, signature) is
 * common, so one function issues all three from a profile.
 */
struct profile {
	const char	*kind;		/* for messages */
	/*
	 * The only CA that may sign it: workers under their own root, so
	 * that a client trusting the front end's chain (operators, agents
	 * talking to the controller) never accepts a worker as a server.
	 */
	enum pki_ca_role ca_role;
	const char	*unit;		/* OU */
	long		 days;		/* default validity */
	/*
	 * The longest the signer signs, whatever it is asked: a request
	 * thread that is taken over cannot get a longer-lived certificate.
	 */
	long		 max_days;
	bool		 server_auth;	/* EKU id-kp-serverAuth */
	bool		 client_auth;	/* EKU id-kp-clientAuth */
	bool		 eku_critical;
	/* RSA keys may also do TLS 1.2 RSA key exchange (keyEncipherment). */
	bool		 key_encipherment;
};

/* Workers are TLS servers (agent) and clients (mTLS to the master). */
static const struct profile worker_profile = {
	.kind = "worker", .ca_role = PKI_CA_WORKER, .unit = "swarm-worker",
	.days = PKI_WORKER_DAYS_DEFAULT, .max_days = PKI_WORKER_DAYS_MAX,
	.server_auth = true, .client_auth = true,
	.eku_critical = true, .key_encipherment = true,
};
/*
 * An operator certificate only ever authenticates a person to the
 * control plane: clientAuth alone, critical, so no relying party may use
 * it for anything else (RFC 5280 4.2.1.12); it never decrypts a key
 * exchange either, so digitalSignature only.
 */
static const struct profile operator_profile = {
	.kind = "operator", .ca_role = PKI_CA_FRONT, .unit = "swarm-operator",
	.days = PKI_OPERATOR_DAYS, .max_days = CA_DAYS, .server_auth = false, .client_auth = true,
	.eku_critical = true, .key_encipherment = false,
};
/* The front end's certificate: serverAuth alone, non-critical as on the web. */
static const struct profile server_profile = {
	.kind = "server", .ca_role = PKI_CA_FRONT, .unit = "swarm-server",
	.days = SERVER_DAYS, .max_days = SERVER_DAYS, .server_auth = true, .client_auth = false,
	.eku_critical = false, .key_encipherment = true,
};

/* The signer's requests name a profile by number (signwire.h). */
static const struct profile *const profiles[SIGNWIRE_NPROFILES] = {
	[SIGNWIRE_WORKER] = &worker_profile,
	[SIGNWIRE_OPERATOR] = &operator_profile,
	[SIGNWIRE_SERVER] = &server_profile,
};

/*
 * keyUsage (critical).  keyEncipherment only makes sense for RSA, whose
 * key can carry a TLS 1.2 RSA key exchange; for ECDSA (RFC 5480 section
 * 3) and Ed25519 (RFC 8410 section 5) it is not an allowed usage, so
 * those keys get digitalSignature alone.
 */
static unsigned int
key_usage(const struct profile *prof, gnutls_pk_algorithm_t pk)
{
	unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;

	if (prof->key_encipherment && pk == GNUTLS_PK_RSA)
		usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	return usage;
}

void
pki_hex(const unsigned char *bytes, size_t len, char *out)
{
	codec_hex_encode(bytes, len, out);
}

enum sc_err
pki_fingerprint_hex(gnutls_x509_crt_t crt, char out[PKI_FINGERPRINT_LEN + 1],
    struct sc_error *err)
{
	unsigned char md[PKI_FINGERPRINT_LEN / 2];
	size_t len = sizeof(md);
	int r;

	if ((r = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md,
	    &len)) < 0)
		return pki_tls_error(err, SC_INTERNAL, "fingerprint", r);
	if (len != sizeof(md))
		return sc_error_set(err, SC_INTERNAL, "fingerprint of %zu "
		    "bytes", len);
	pki_hex(md, len, out);
	return SC_OK;
}

static enum sc_err
export_key_pem(gnutls_x509_privkey_t key, struct pki_issued *iss,
    struct sc_error *err)
{
	gnutls_datum_t d = { NULL, 0 };
	enum sc_err rc;

	if ((rc = pki_key_export_pem(key, &d, err)) != SC_OK)
		goto out;
	if ((iss->key_pem = pki_datum_strdup(&d)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	iss->key_pem_len = d.size;
out:
	pki_datum_wipe(&d);
	return rc;
}

/*
 * Checks both halves make: the signer because its caller may be taken
 * over, the caller to refuse early with the caller's words.
 */
static enum sc_err
check_request(const struct pki_ca *ca, const struct profile *prof,
    const char *cn, long days, struct sc_error *err)
{
	size_t cnlen;

	if (ca->role != prof->ca_role)
		return sc_error_set(err, SC_INTERNAL, "%s certificates are "
		    "signed by the %s CA, not by the %s CA", prof->kind,
		    ca_files[prof->ca_role].name, ca_files[ca->role].name);
	cnlen = cn != NULL ? strlen(cn) : 0;
	if (cnlen == 0 || cnlen > CN_MAX)
		return sc_error_set(err, SC_INVALID, "%s name of %zu bytes "
		    "(want 1 to %d)", prof->kind, cnlen, CN_MAX);
	if (days < 1 || days > prof->max_days)
		return sc_error_set(err, SC_INVALID, "%s certificate validity "
		    "of %ld days (want 1 to %ld)", prof->kind, days,
		    prof->max_days);
	return SC_OK;
}

/*
 * The subject's key as the certificate carries it: parsed (what GnuTLS
 * does not take as a public key is refused), written again in GnuTLS's
 * canonical DER, its algorithm, and its subjectKeyIdentifier as
 * gnutls_pubkey_get_key_id makes it: SHA-1 of that DER (RFC 5280
 * 4.2.1.2 leaves the method open; it only has to tell keys apart).
 */
static enum sc_err
subject_key(const unsigned char *spki, size_t spki_len, gnutls_datum_t *canon,
    gnutls_pk_algorithm_t *pk, unsigned char id[PKI_SKI_LEN],
    struct sc_error *err)
{
	gnutls_datum_t in = { (unsigned char *)spki, (unsigned int)spki_len };
	gnutls_pubkey_t pub = NULL;
	enum sc_err rc = SC_OK;
	int r;

	canon->data = NULL;
	canon->size = 0;
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import(pub, &in, GNUTLS_X509_FMT_DER)) < 0 ||
	    (r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, canon)) < 0) {
		rc = pki_tls_error(err, SC_INVALID, "subject public key", r);
		goto out;
	}
	*pk = (gnutls_pk_algorithm_t)gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if ((r = gnutls_hash_fast(GNUTLS_DIG_SHA1, canon->data, canon->size,
	    id)) < 0)
		rc = pki_tls_error(err, SC_INTERNAL, "subject key id", r);
out:
	if (rc != SC_OK) {
		gnutls_free(canon->data);
		canon->data = NULL;
	}
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

enum sc_err
pki_cert_build(const struct pki_ca *ca, enum signwire_profile pid,
    const char *cn, long days, const char *const *sans, size_t nsans,
    const unsigned char *spki, size_t spki_len, unsigned char **der,
    size_t *der_len, struct sc_error *err)
{
	const struct profile *prof;
	gnutls_datum_t key = { NULL, 0 }, tbs = { NULL, 0 };
	unsigned char serial[PKI_SERIAL_LEN], key_id[PKI_SKI_LEN];
	struct pki_san *parsed = NULL;
	struct certder_spec spec;
	gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
	size_t nparsed = 0;
	time_t start;
	enum sc_err rc;

	*der = NULL;
	*der_len = 0;
	if ((unsigned int)pid >= SIGNWIRE_NPROFILES)
		return sc_error_set(err, SC_INVALID, "no profile %d", (int)pid);
	prof = profiles[pid];
	if (ca->key == NULL)
		return sc_error_set(err, SC_INTERNAL, "the %s CA was loaded "
		    "without its key", ca_files[ca->role].name);
	if ((rc = check_request(ca, prof, cn, days, err)) != SC_OK ||
	    (rc = subject_key(spki, spki_len, &key, &pk, key_id, err)) !=
	    SC_OK ||
	    (rc = parse_sans(sans, nsans, &parsed, &nparsed, err)) != SC_OK ||
	    (rc = make_serial(serial, err)) != SC_OK)
		goto out;
	start = time(NULL) - BACKDATE_SECS;
	spec = (struct certder_spec){
		.serial = serial, .serial_len = sizeof(serial),
		.sign_algo = gnutls_pk_to_sign((gnutls_pk_algorithm_t)
		    gnutls_privkey_get_pk_algorithm(ca->key, NULL),
		    pki_sign_digest(ca->key)),
		.issuer = &ca->subject_der,
		.not_before = start, .not_after = start + days * DAY_SECS,
		.organization = ORGANIZATION, .unit = prof->unit, .cn = cn,
		.spki = &key, .key_id = key_id, .key_id_len = sizeof(key_id),
		.key_usage = key_usage(prof, pk),
		.server_auth = prof->server_auth,
		.client_auth = prof->client_auth,
		.eku_critical = prof->eku_critical,
		.sans = parsed, .nsans = nparsed,
		.issuer_key_id = ca->key_id,
		.issuer_key_id_len = ca->key_id_len,
	};
	if ((rc = pki_certder_tbs(&spec, &tbs, err)) == SC_OK)
		rc = pki_certder_sign(ca->key, spec.sign_algo, &tbs, der,
		    der_len, err);
out:
	gnutls_free(key.data);
	free(tbs.data);
	free(parsed);
	return rc;
}

/* DER SubjectPublicKeyInfo of a key we generated. */
static enum sc_err
spki_of_key(gnutls_x509_privkey_t priv, gnutls_datum_t *spki,
    struct sc_error *err)
{
	gnutls_privkey_t pk = NULL;
	gnutls_pubkey_t pub = NULL;
	int r;

	if ((r = gnutls_privkey_init(&pk)) < 0 ||
	    (r = gnutls_privkey_import_x509(pk, priv, 0)) < 0 ||
	    (r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, pk, 0, 0)) < 0 ||
	    (r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, spki)) < 0)
		(void)pki_tls_error(err, SC_INTERNAL, "subject public key", r);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	return r < 0 ? err->code : SC_OK;
}

/*
 * The signed certificate, read back for the certificates table and the
 * bundle: its PEM, serial, SHA-256 fingerprint, subject as RFC 4514 text
 * and notAfter.  Read from its DER (pki_certder_facts): a full GnuTLS
 * parse builds a libtasn1 tree of the whole certificate, which cost an
 * enrollment more than the CA's signature.  Only the subject goes
 * through GnuTLS (gnutls_x509_rdn_get2, the text gnutls_x509_crt_get_dn3
 * gives), as its own small Name.
 */
static enum sc_err
read_back(const unsigned char *der, size_t der_len, struct pki_issued *iss,
    struct sc_error *err)
{
	gnutls_datum_t d = { (unsigned char *)der, (unsigned int)der_len };
	gnutls_datum_t pem = { NULL, 0 }, dn = { NULL, 0 }, name;
	unsigned char md[PKI_FINGERPRINT_LEN / 2];
	struct pki_certder_facts f;
	enum sc_err rc;
	int r;

	if ((rc = pki_certder_facts(der, der_len, &f, err)) != SC_OK)
		goto out;
	if (f.serial_len != PKI_SERIAL_LEN) {
		rc = sc_error_set(err, SC_INTERNAL, "signed serial of %zu "
		    "bytes", f.serial_len);
		goto out;
	}
	memcpy(iss->serial, f.serial, PKI_SERIAL_LEN);
	pki_hex(iss->serial, sizeof(iss->serial), iss->serial_hex);
	iss->not_after = f.not_after;
	name.data = (unsigned char *)f.subject;
	name.size = (unsigned int)f.subject_len;
	/* Flags 0: RFC 4514 order, most specific first ("CN=...,O=..."). */
	if ((r = gnutls_x509_rdn_get2(&name, &dn, 0)) < 0 ||
	    (r = gnutls_hash_fast(GNUTLS_DIG_SHA256, der, der_len, md)) < 0 ||
	    (r = gnutls_pem_base64_encode2("CERTIFICATE", &d, &pem)) < 0) {
		rc = pki_tls_error(err, SC_INTERNAL, "the signed certificate",
		    r);
		goto out;
	}
	if (dn.size >= sizeof(iss->subject)) {
		rc = sc_error_set(err, SC_INVALID, "subject of %u bytes (at "
		    "most %zu)", dn.size, sizeof(iss->subject) - 1);
		goto out;
	}
	memcpy(iss->subject, dn.data, dn.size);
	iss->subject[dn.size] = '\0';
	pki_hex(md, sizeof(md), iss->fingerprint);
	if ((iss->cert_pem = pki_datum_strdup(&pem)) == NULL)
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
out:
	gnutls_free(pem.data);
	gnutls_free(dn.data);
	return rc;
}

/*
 * Issue a certificate of profile `pid` for `cn`: for `csr`'s key if
 * given, else for a fresh key of `type`, which goes into out->key_pem.
 * The key is made here (it is the worker's, not the CA's); the
 * certificate is signed by the signer if one runs, else in-process.
 */
static enum sc_err
issue(const struct pki_ca *ca, enum signwire_profile pid, const char *cn,
    long days, const char *const *sans, size_t nsans, enum pki_key_type type,
    const struct pki_csr *csr, struct pki_issued *out, struct sc_error *err)
{
	const struct profile *prof = profiles[pid];
	gnutls_x509_privkey_t priv = NULL;
	gnutls_datum_t spki = { NULL, 0 };
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct pki_issued iss;
	enum sc_err rc;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&iss, 0, sizeof(iss));
	if (ca->key == NULL && ca->signer == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "%s certificates need the "
		    "%s CA's key (loaded without it)", prof->kind,
		    ca_files[prof->ca_role].name);
		goto out;
	}
	if ((rc = check_request(ca, prof, cn, days, err)) != SC_OK)
		goto out;
	if (csr != NULL) {
		if ((r = gnutls_pubkey_export2(csr->key, GNUTLS_X509_FMT_DER,
		    &spki)) < 0) {
			rc = pki_tls_error(err, SC_INTERNAL, "CSR key", r);
			goto out;
		}
	} else if (((pid == SIGNWIRE_WORKER && pki_keypool_take(type,
	    &priv)) || (rc = pki_generate_key(type, &priv, err)) == SC_OK) &&
	    (rc = spki_of_key(priv, &spki, err)) != SC_OK)
		goto out;	/* worker keys: from keypool.c's generators */
	if (rc != SC_OK)
		goto out;
	if (ca->key != NULL)
		rc = pki_cert_build(ca, pid, cn, days, sans, nsans, spki.data,
		    spki.size, &der, &der_len, err);
	else
		rc = pki_signer_issue(ca->signer, pid, cn, days, sans, nsans,
		    spki.data, spki.size, &der, &der_len, err);
	if (rc != SC_OK || (rc = read_back(der, der_len, &iss, err)) != SC_OK ||
	    (priv != NULL && (rc = export_key_pem(priv, &iss, err)) != SC_OK))
		goto out;
	*out = iss;
	memset(&iss, 0, sizeof(iss));
out:
	pki_issued_clear(&iss);
	free(der);
	gnutls_free(spki.data);
	if (priv != NULL)
		gnutls_x509_privkey_deinit(priv);
	return rc;
}

enum sc_err
pki_issue_worker(const struct pki_ca *ca, const char *name,
    const char *const *sans, size_t nsans, enum pki_key_type type,
    struct pki_issued *out, struct sc_error *err)
{
	return issue(ca, SIGNWIRE_WORKER, name, worker_days, sans, nsans,
	    type, NULL, out, err);
}

enum sc_err
pki_issue_worker_for_key(const struct pki_ca *ca, const char *name,
    const char *const *sans, size_t nsans, const struct pki_csr *csr,
    struct pki_issued *out, struct sc_error *err)
{
	if (csr == NULL || csr->key == NULL) {
		memset(out, 0, sizeof(*out));
		return sc_error_set(err, SC_INTERNAL, "no CSR key to certify");
	}
	return issue(ca, SIGNWIRE_WORKER, name, worker_days, sans, nsans,
	    PKI_DEFAULT_WORKER_KEY, csr, out, err);
}

enum sc_err
pki_issue_operator(const struct pki_ca *ca, const char *name, int days,
    enum pki_key_type type, struct pki_issued *out, struct sc_error *err)
{
	return issue(ca, SIGNWIRE_OPERATOR, name, days, NULL, 0, type, NULL,
	    out, err);
}

enum sc_err
pki_issue_server(const struct pki_ca *ca, const char *cn,
    const char *const *sans, size_t nsans, enum pki_key_type type,
    struct pki_issued *out, struct sc_error *err)
{
	return issue(ca, SIGNWIRE_SERVER, cn, server_profile.days, sans, nsans,
	    type, NULL, out, err);
}

void
pki_issued_clear(struct pki_issued *iss)
{
	if (iss->key_pem != NULL) {
		gnutls_memset(iss->key_pem, 0, iss->key_pem_len);
		free(iss->key_pem);
	}
	free(iss->cert_pem);
	gnutls_memset(iss, 0, sizeof(*iss));
}
