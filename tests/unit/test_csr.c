/*
 * CSR enrollment below the HTTP layer: pki_csr_parse accepts a PKCS#10
 * request only with a verifying self-signature (proof of possession) and
 * a key the key policy allows (RSA 2048-16384, ECDSA P-256/384/521,
 * Ed25519), and only one clean PEM block; pki_issue_worker_for_key
 * certifies exactly the CSR's key with the worker profile, ignoring the
 * CSR's subject and requested extensions (CA:TRUE, SANs, keyUsage, EKU);
 * validate_enroll turns csr_pem into enroll_req.csr or a 422 entry at
 * ["body","csr_pem"].  The CSRs are made here with GnuTLS directly.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include "pki/pki.h"
#include "validate.h"
#include "tap.h"
#include "testutil.h"

#define OID_CODE_SIGNING	"1.3.6.1.5.5.7.3.3"

/* A CSR's key: kept to compare with what gets certified. */
struct csr_case {
	gnutls_x509_privkey_t	 key;
	char			*pem;	/* malloc'd */
	unsigned char		*der;	/* malloc'd */
	size_t			 der_len;
};

static void
csr_case_free(struct csr_case *c)
{
	if (c->key != NULL)
		gnutls_x509_privkey_deinit(c->key);
	free(c->pem);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

static char *
datum_str(const gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);

	if (s != NULL) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	return s;
}

/*
 * A CSR for a fresh key of (pk, bits), subject CN=evil,O=Attacker; with
 * `forged`, it also asks for CA:TRUE, a SAN evil.example, keyUsage
 * keyCertSign and EKU codeSigning.  0 on success.
 */
static int
make_csr(gnutls_pk_algorithm_t pk, unsigned int bits, int forged,
    struct csr_case *c)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_privkey_t signer = NULL;
	gnutls_datum_t pem = { NULL, 0 }, der = { NULL, 0 };
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (gnutls_x509_privkey_init(&c->key) < 0 ||
	    gnutls_x509_privkey_generate(c->key, pk, bits, 0) < 0 ||
	    gnutls_x509_crq_init(&crq) < 0 ||
	    gnutls_x509_crq_set_dn(crq, "CN=evil,O=Attacker", NULL) < 0 ||
	    gnutls_x509_crq_set_key(crq, c->key) < 0)
		goto out;
	if (forged && (gnutls_x509_crq_set_basic_constraints(crq, 1, -1) < 0 ||
	    gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME,
	    "evil.example", 12, GNUTLS_FSAN_SET) < 0 ||
	    gnutls_x509_crq_set_key_usage(crq, GNUTLS_KEY_KEY_CERT_SIGN |
	    GNUTLS_KEY_CRL_SIGN) < 0 ||
	    gnutls_x509_crq_set_key_purpose_oid(crq, OID_CODE_SIGNING, 1) < 0))
		goto out;
	if (gnutls_privkey_init(&signer) < 0 ||
	    gnutls_privkey_import_x509(signer, c->key, 0) < 0 ||
	    gnutls_x509_crq_privkey_sign(crq, signer,
	    pk == GNUTLS_PK_EDDSA_ED25519 ? GNUTLS_DIG_SHA512 :
	    GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &pem) < 0 ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &der) < 0)
		goto out;
	if ((c->pem = datum_str(&pem)) == NULL ||
	    (c->der = malloc(der.size)) == NULL)
		goto out;
	memcpy(c->der, der.data, der.size);
	c->der_len = der.size;
	rc = 0;
out:
	if (rc != 0)
		csr_case_free(c);
	gnutls_free(pem.data);
	gnutls_free(der.data);
	if (signer != NULL)
		gnutls_privkey_deinit(signer);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	return rc;
}

/* c's DER with one signature byte flipped, as PEM (malloc'd). */
static char *
tampered_pem(const struct csr_case *c)
{
	gnutls_datum_t der, pem = { NULL, 0 };
	unsigned char *copy;
	char *out = NULL;

	if ((copy = malloc(c->der_len)) == NULL)
		return NULL;
	memcpy(copy, c->der, c->der_len);
	/* The signature BIT STRING ends the DER: its last byte is signature. */
	copy[c->der_len - 1] ^= 0x01;
	der.data = copy;
	der.size = (unsigned int)c->der_len;
	if (gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, &pem) == 0)
		out = datum_str(&pem);
	gnutls_free(pem.data);
	free(copy);
	return out;
}

/* The CSR really asks for CA:TRUE and evil.example (the test's premise). */
static int
csr_is_forged(const struct csr_case *c)
{
	gnutls_x509_crq_t crq;
	gnutls_datum_t d = { c->der, (unsigned int)c->der_len };
	char san[64] = "";
	size_t size = sizeof(san);
	unsigned int crit;
	int ca = -1, type = -1;

	if (gnutls_x509_crq_init(&crq) < 0)
		return 0;
	if (gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER) == 0) {
		ca = gnutls_x509_crq_get_basic_constraints(crq, &crit, NULL,
		    NULL);
		type = gnutls_x509_crq_get_subject_alt_name(crq, 0, san, &size,
		    NULL, NULL);
	}
	gnutls_x509_crq_deinit(crq);
	return ca > 0 && type == GNUTLS_SAN_DNSNAME && size == 12 &&
	    memcmp(san, "evil.example", 12) == 0;
}

static enum sc_err
parse(const char *pem, struct pki_csr **csr, struct sc_error *err)
{
	sc_error_clear(err);
	return pki_csr_parse(pem, strlen(pem), csr, err);
}

/* The SHA-256 key ids of the certificate's and the CSR's key match. */
static int
same_key(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	return gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) == 0 && gnutls_x509_privkey_get_key_id(key,
	    GNUTLS_KEYID_USE_SHA256, b, &blen) == 0 && alen == blen &&
	    memcmp(a, b, alen) == 0;
}

/* Only the extensions the worker profile sets: no others. */
static int
only_profile_extensions(gnutls_x509_crt_t crt)
{
	static const char *const allowed[] = { "2.5.29.14", "2.5.29.35",
	    "2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17" };
	char oid[128];
	size_t size, j;
	unsigned int crit, i;

	for (i = 0;; i++) {
		size = sizeof(oid);
		if (gnutls_x509_crt_get_extension_info(crt, i, oid, &size,
		    &crit) < 0)
			break;
		for (j = 0; j < sizeof(allowed) / sizeof(allowed[0]); j++)
			if (strcmp(oid, allowed[j]) == 0)
				break;
		if (j == sizeof(allowed) / sizeof(allowed[0])) {
			printf("# unexpected extension %s\n", oid);
			return 0;
		}
	}
	return i == 6;
}

/* The EKU is exactly serverAuth then clientAuth. */
static int
eku_is_tls_only(gnutls_x509_crt_t crt)
{
	char oid[128];
	size_t size;
	unsigned int i;

	for (i = 0;; i++) {
		size = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size,
		    NULL) < 0)
			break;
		if (strcmp(oid, i == 0 ? GNUTLS_KP_TLS_WWW_SERVER :
		    GNUTLS_KP_TLS_WWW_CLIENT) != 0)
			return 0;
	}
	return i == 2;
}

/* SANs are exactly want[0..n), as dNSName or iPAddress text. */
static int
sans_are(gnutls_x509_crt_t crt, const char *const *want, size_t n)
{
	char buf[256], text[sizeof(buf)];
	size_t size;
	unsigned int i;

	for (i = 0;; i++) {
		int type;

		size = sizeof(buf) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size,
		    NULL);
		if (type < 0)
			break;
		buf[size] = '\0';
		if (type == GNUTLS_SAN_IPADDRESS && size == 4)
			snprintf(text, sizeof(text), "%u.%u.%u.%u",
			    (unsigned char)buf[0], (unsigned char)buf[1],
			    (unsigned char)buf[2], (unsigned char)buf[3]);
		else
			snprintf(text, sizeof(text), "%s", buf);
		if (i >= n || strcmp(text, want[i]) != 0) {
			printf("# SAN %u: %s\n", i, text);
			return 0;
		}
	}
	return i == n;
}

static void
test_issue(const struct pki_ca *ca, const struct pki_ca *front,
    gnutls_x509_crt_t ca_crt)
{
	static const struct {
		const char		*what;
		gnutls_pk_algorithm_t	 pk;
		unsigned int		 bits;
		unsigned int		 usage;
	} keys[] = {
		{ "RSA-2048", GNUTLS_PK_RSA, 2048,
		    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT },
		{ "ECDSA P-256", GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
		    GNUTLS_ECC_CURVE_SECP256R1), GNUTLS_KEY_DIGITAL_SIGNATURE },
		{ "Ed25519", GNUTLS_PK_EDDSA_ED25519, 256,
		    GNUTLS_KEY_DIGITAL_SIGNATURE },
	};
	const char *sans[] = { "a.swarm.test", "10.0.0.7", "w1" };
	struct sc_error err;
	struct pki_issued iss;
	struct pki_csr *csr = NULL;
	struct csr_case c;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned int usage, crit;
	char *prev_cert = NULL;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (make_csr(keys[i].pk, keys[i].bits, 1, &c) != 0) {
			ok(0, "%s: forged CSR made", keys[i].what);
			continue;
		}
		ok(csr_is_forged(&c), "%s: the CSR asks for CA:TRUE and "
		    "evil.example", keys[i].what);
		is_int(parse(c.pem, &csr, &err), SC_OK, "%s CSR with forged "
		    "extensions parses (they are ignored, not refused)",
		    keys[i].what);
		memset(&iss, 0, sizeof(iss));
		sc_error_clear(&err);
		is_int(pki_issue_worker_for_key(ca, "w1", sans, 3, csr, &iss,
		    &err), SC_OK, "%s: certificate issued for the CSR's key",
		    keys[i].what);
		ok(iss.key_pem == NULL && iss.key_pem_len == 0,
		    "%s: no private key comes back", keys[i].what);
		crt = tu_crt_from_pem(iss.cert_pem);
		ok(crt != NULL && tu_crt_verifies(crt, ca_crt),
		    "%s: signed by the worker CA", keys[i].what);
		ok(crt != NULL && same_key(crt, c.key),
		    "%s: certifies exactly the CSR's public key", keys[i].what);
		ok(crt != NULL && gnutls_x509_crt_get_basic_constraints(crt,
		    &crit, NULL, NULL) == 0,
		    "%s: CA:FALSE although the CSR asked for CA:TRUE",
		    keys[i].what);
		ok(crt != NULL && gnutls_x509_crt_get_key_usage(crt, &usage,
		    NULL) >= 0 && usage == keys[i].usage,
		    "%s: keyUsage of the profile, not keyCertSign",
		    keys[i].what);
		ok(crt != NULL && eku_is_tls_only(crt), "%s: EKU serverAuth "
		    "and clientAuth only, no codeSigning", keys[i].what);
		ok(crt != NULL && sans_are(crt, sans, 3), "%s: SANs from the "
		    "request only, no evil.example", keys[i].what);
		ok(crt != NULL && only_profile_extensions(crt),
		    "%s: no extension beyond the profile's", keys[i].what);
		dn.data = NULL;
		ok(crt != NULL && gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0 &&
		    strcmp((char *)dn.data, "CN=w1,OU=swarm-worker,O=DECNET") ==
		    0, "%s: subject from the request, not the CSR's",
		    keys[i].what);
		ok(strcmp(iss.subject, "CN=w1,OU=swarm-worker,O=DECNET") == 0,
		    "%s: recorded subject likewise", keys[i].what);
		ok(pki_csr_key_matches(csr, iss.cert_pem),
		    "%s: pki_csr_key_matches knows the certificate is for the "
		    "CSR's key", keys[i].what);
		if (i > 0)
			ok(!pki_csr_key_matches(csr, prev_cert),
			    "%s: ... and that another key's is not",
			    keys[i].what);
		free(prev_cert);
		prev_cert = strdup(iss.cert_pem);
		gnutls_free(dn.data);
		if (crt != NULL)
			gnutls_x509_crt_deinit(crt);
		pki_issued_clear(&iss);
		if (i == 0) {
			sc_error_clear(&err);
			ok(pki_issue_worker_for_key(front, "w1", sans, 3, csr,
			    &iss, &err) != SC_OK && iss.cert_pem == NULL,
			    "the front CA does not sign worker CSRs");
			pki_issued_clear(&iss);
		}
		pki_csr_free(csr);
		csr = NULL;
		csr_case_free(&c);
	}
	free(prev_cert);
}

static void
test_policy(void)
{
	struct sc_error err;
	struct pki_csr *csr = NULL;
	struct csr_case c;

	if (make_csr(GNUTLS_PK_RSA, 1024, 0, &c) == 0) {
		is_int(parse(c.pem, &csr, &err), SC_INVALID,
		    "RSA-1024 is below the key policy");
		ok(csr == NULL && strstr(err.msg, "1024") != NULL &&
		    strstr(err.msg, "2048") != NULL, "... message says so: %s",
		    err.msg);
		csr_case_free(&c);
	} else
		ok(0, "RSA-1024 CSR made");
	if (make_csr(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
	    GNUTLS_ECC_CURVE_SECP384R1), 0, &c) == 0) {
		char *bad;

		is_int(parse(c.pem, &csr, &err), SC_OK, "ECDSA P-384 allowed");
		ok(csr != NULL && strcmp(pki_csr_key_desc(csr),
		    "ecdsa-SECP384R1") == 0, "... described as such");
		pki_csr_free(csr);
		csr = NULL;
		bad = tampered_pem(&c);
		is_int(bad != NULL ? parse(bad, &csr, &err) : SC_OK,
		    SC_INVALID, "a flipped signature byte: refused");
		ok(csr == NULL && strstr(err.msg, "proof of possession") !=
		    NULL, "... as no proof of possession: %s", err.msg);
		free(bad);
		csr_case_free(&c);
	} else
		ok(0, "P-384 CSR made");
}

static void
test_framing(void)
{
	static const char *const garbage[] = {
		"",
		"hello",
		"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
		    "-----END CERTIFICATE REQUEST-----\n",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		/* Markers sharing their dashes (found by fuzz_cert). */
		"-----BEGIN CERTIFICATE REQUEST-----END CERTIFICATE "
		    "REQUEST-----",
	};
	struct sc_error err;
	struct pki_csr *csr = NULL;
	struct csr_case c;
	char *two, *wrapped;
	size_t i, n;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		is_int(parse(garbage[i], &csr, &err), SC_INVALID,
		    "garbage %zu refused", i);
		ok(csr == NULL, "... and nothing returned");
	}
	if (make_csr(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
	    GNUTLS_ECC_CURVE_SECP256R1), 0, &c) != 0) {
		ok(0, "P-256 CSR made");
		return;
	}
	n = strlen(c.pem);
	two = malloc(2 * n + 1);
	wrapped = malloc(n + 64);
	if (two != NULL && wrapped != NULL) {
		snprintf(two, 2 * n + 1, "%s%s", c.pem, c.pem);
		is_int(parse(two, &csr, &err), SC_INVALID,
		    "two PEM blocks refused");
		snprintf(wrapped, n + 64, "junk before\n%s", c.pem);
		is_int(parse(wrapped, &csr, &err), SC_INVALID,
		    "text before the block refused");
		snprintf(wrapped, n + 64, "%sjunk after\n", c.pem);
		is_int(parse(wrapped, &csr, &err), SC_INVALID,
		    "text after the block refused");
		snprintf(wrapped, n + 64, "\n  %s\n\n", c.pem);
		is_int(parse(wrapped, &csr, &err), SC_OK,
		    "white space around the block is fine");
		pki_csr_free(csr);
		csr = NULL;
	}
	sc_error_clear(&err);
	is_int(pki_csr_parse(c.pem, n - 2, &csr, &err), SC_INVALID,
	    "a truncated END line refused");
	sc_error_clear(&err);
	is_int(pki_csr_parse((const char *)c.der, c.der_len, &csr, &err),
	    SC_INVALID, "DER instead of PEM refused");
	free(two);
	free(wrapped);
	csr_case_free(&c);
}

/* validate_enroll: {"name":"w1","address":"10.0.0.7","csr_pem":<v>}. */
static enum sc_err
enroll_body(struct json_object *csr_value, struct enroll_req *er,
    struct json_object **detail)
{
	struct json_object *o = json_object_new_object();
	struct sc_error err = { SC_OK, "" };
	const char *text;
	enum sc_err rc;

	json_object_object_add(o, "name", json_object_new_string("w1"));
	json_object_object_add(o, "address",
	    json_object_new_string("10.0.0.7"));
	json_object_object_add(o, "csr_pem", csr_value);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = validate_enroll(text, strlen(text), er, detail, &err);
	json_object_put(o);
	return rc;
}

/* The one 422 entry is at ["body","csr_pem"] with this type. */
static int
detail_at_csr(struct json_object *detail, const char *type)
{
	struct json_object *e, *loc, *t;

	if (detail == NULL || json_object_array_length(detail) != 1)
		return 0;
	e = json_object_array_get_idx(detail, 0);
	return json_object_object_get_ex(e, "loc", &loc) &&
	    json_object_array_length(loc) == 2 &&
	    strcmp(json_object_get_string(json_object_array_get_idx(loc, 1)),
	    "csr_pem") == 0 && json_object_object_get_ex(e, "type", &t) &&
	    strcmp(json_object_get_string(t), type) == 0;
}

static void
test_validate(void)
{
	struct json_object *detail = NULL;
	struct enroll_req er;
	struct csr_case c;

	if (make_csr(GNUTLS_PK_EDDSA_ED25519, 256, 0, &c) != 0) {
		ok(0, "Ed25519 CSR made");
		return;
	}
	is_int(enroll_body(json_object_new_string(c.pem), &er, &detail),
	    SC_OK, "enroll request with csr_pem valid");
	ok(er.csr != NULL && strcmp(pki_csr_key_desc(er.csr), "ed25519") ==
	    0, "... carries the parsed key");
	enroll_req_clear(&er);
	ok(er.csr == NULL, "enroll_req_clear frees it");

	is_int(enroll_body(NULL, &er, &detail), SC_OK,
	    "csr_pem null: a server-made key");
	ok(er.csr == NULL, "... no CSR");
	enroll_req_clear(&er);

	is_int(enroll_body(json_object_new_string("not a csr"), &er, &detail),
	    SC_INVALID, "garbage csr_pem: 422");
	ok(detail_at_csr(detail, "value_error"), "... at [body, csr_pem]");
	json_object_put(detail);
	detail = NULL;

	is_int(enroll_body(json_object_new_int(5), &er, &detail), SC_INVALID,
	    "csr_pem not a string: 422");
	ok(detail_at_csr(detail, "string_type"), "... string_type");
	json_object_put(detail);
	detail = NULL;
	csr_case_free(&c);
}

int
main(void)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_ca *ca = NULL, *front = NULL;
	gnutls_x509_crt_t ca_crt;
	bool created[PKI_NCA_ROLES];
	char dir[] = "/var/tmp/swarmctl-csr.XXXXXX";

	if (mkdtemp(dir) == NULL || pki_init(&err) != SC_OK ||
	    pki_ca_init(dir, PKI_KEY_ECDSA_P256, created, &err) != SC_OK ||
	    pki_ca_load(dir, PKI_CA_WORKER, &ca, &err) != SC_OK ||
	    pki_ca_load(dir, PKI_CA_FRONT, &front, &err) != SC_OK ||
	    (ca_crt = tu_crt_from_pem(pki_ca_cert_pem(ca))) == NULL) {
		printf("Bail out! CA set-up: %s\n", err.msg);
		return 1;
	}
	test_issue(ca, front, ca_crt);
	test_policy();
	test_framing();
	test_validate();
	gnutls_x509_crt_deinit(ca_crt);
	pki_ca_free(ca);
	pki_ca_free(front);
	pki_deinit();
	tu_rm_rf(dir);
	return done_testing();
}
