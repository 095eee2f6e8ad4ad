/*
 * The private CA: creating and loading it, issuing worker certificates.
 * Certificate profile: ../shared/CONTRACT.md, "Certificates".
 * Nothing here prints or exits; errors come back as enum sc_err with
 * context in struct sc_error.
 */
#ifndef SC_PKI_H
#define SC_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "sc_limits.h"

enum pki_key_type {
	PKI_KEY_RSA2048,
	PKI_KEY_RSA3072,
	PKI_KEY_RSA4096,
	PKI_KEY_ECDSA_P256,
	PKI_KEY_ECDSA_P384,
	PKI_KEY_ED25519,
};

#define PKI_DEFAULT_WORKER_KEY	PKI_KEY_RSA2048
#define PKI_DEFAULT_CA_KEY	PKI_KEY_RSA4096
#define PKI_FINGERPRINT_LEN	SC_SHA256_HEX_LEN	/* lowercase hex SHA-256 */
#define PKI_SERIAL_LEN		16	/* 128-bit, top bit clear */

/* "rsa-2048", "ecdsa-p256", ... -> enum; -1 if unknown. */
int		 pki_key_type_parse(const char *, enum pki_key_type *);
const char	*pki_key_type_name(enum pki_key_type);

/*
 * The CA signer (README, "Process layout and key custody"): start
 * `swarmctl signer` as a child process holding the CA keys; from then
 * on pki_ca_load in this process loads certificates only and every
 * certificate and CRL is signed by the signer, which is restarted if
 * it dies (requests in flight: SC_SIGNER_UNAVAILABLE).  Before any
 * thread that could read a key; stop waits for it to exit.
 * pki_signer_main is the child: `swarmctl signer --ca-dir DIR --fds
 * N,N...` (started by pki_signer_start only).
 */
enum sc_err	 pki_signer_start(const char *ca_dir, struct sc_error *);
void		 pki_signer_stop(void);
int		 pki_signer_pid(void);	/* -1 if none */
int		 pki_signer_main(int argc, char *argv[]);

/* Once per process, before threads: gnutls_global_init. */
enum sc_err	 pki_init(struct sc_error *);
void		 pki_deinit(void);

/*
 * Two CAs, each its own self-signed root, so that trusting one never
 * means trusting what the other signed (README, "Issuance policy"):
 *   worker  CA_DIR/ca.crt, ca.key, crl.pem: signs worker certificates
 *           only; its certificate is every bundle's ca_cert_pem and
 *           GET /swarm/ca.pem.
 *   front   CA_DIR/front-ca.crt, front-ca.key, front-crl.pem: signs
 *           nginx's server certificate and operator certificates; it is
 *           what operators (and agents) trust to reach the controller,
 *           and what nginx verifies operators against.
 */
enum pki_ca_role {
	PKI_CA_WORKER,
	PKI_CA_FRONT,
};
#define PKI_NCA_ROLES	2

const char	*pki_ca_role_name(enum pki_ca_role);	/* "worker", "front" */
const char	*pki_ca_cert_file(enum pki_ca_role);	/* "ca.crt", ... */
const char	*pki_ca_crl_file(enum pki_ca_role);	/* "crl.pem", ... */

/*
 * `swarmctl init`: create CA_DIR (0700), CA_DIR/workers (0700) and each
 * CA that is missing there, with keys of `type`; created[role] says which
 * were made now.  Safe against two processes at once (flock on
 * CA_DIR/.lock): each CA is created exactly once.  Never regenerates an
 * existing CA.  Nothing else creates a CA.
 */
enum sc_err	 pki_ca_init(const char *ca_dir, enum pki_key_type type,
		    bool created[PKI_NCA_ROLES], struct sc_error *);
/*
 * For the CAs pki_ca_init creates next: role's key on a PKCS#11 token
 * at `url` (NULL: a key file, the default), generated there unless the
 * object exists.  Instead of the key file, CA_DIR/<key>.pkcs11 (0600)
 * records the URL, and pki_ca_load signs through the token.
 */
void		 pki_ca_key_url_set(enum pki_ca_role, const char *url);

/*
 * A loaded CA: certificate and private key (pki_ca_load), or the
 * certificate alone, for verifying (pki_ca_load_cert).  A missing CA is
 * SC_CA_UNAVAILABLE with a message that says to run `swarmctl init`.
 */
struct pki_ca;
enum sc_err	 pki_ca_load(const char *ca_dir, enum pki_ca_role,
		    struct pki_ca **, struct sc_error *);
enum sc_err	 pki_ca_load_cert(const char *ca_dir, enum pki_ca_role,
		    struct pki_ca **, struct sc_error *);
void		 pki_ca_free(struct pki_ca *);
enum pki_ca_role pki_ca_role(const struct pki_ca *);
const char	*pki_ca_cert_pem(const struct pki_ca *);	/* NUL-terminated */
/* Lowercase hex SHA-256 of the certificate's DER; its RFC 4514 subject. */
const char	*pki_ca_fingerprint(const struct pki_ca *);
const char	*pki_ca_subject(const struct pki_ca *);

/* A freshly issued worker certificate.  key_pem is secret: clear it. */
struct pki_issued {
	char	*cert_pem;	/* NUL-terminated PEM */
	char	*key_pem;	/* unencrypted PKCS#8 PEM, NUL-terminated;
				 * NULL when the worker keeps its key (CSR) */
	size_t	 key_pem_len;
	char	 fingerprint[PKI_FINGERPRINT_LEN + 1];
	unsigned char serial[PKI_SERIAL_LEN];
	char	 serial_hex[2 * PKI_SERIAL_LEN + 1];	/* lowercase */
	char	 subject[256];	/* RFC 4514 DN, e.g. "CN=w1,OU=swarm-worker,O=DECNET" */
	time_t	 not_after;
};

/*
 * Issue a worker certificate for `name` (CN=<name>, O=DECNET,
 * OU=swarm-worker) with a fresh key of `type`.  `sans` lists candidate
 * subjectAltNames (the request's sans, then address, then name); each
 * becomes an iPAddress if inet_pton accepts it, else a dNSName, and
 * duplicates are dropped (IPs compared by value).
 */
enum sc_err	 pki_issue_worker(const struct pki_ca *, const char *name,
		    const char *const *sans, size_t nsans,
		    enum pki_key_type type, struct pki_issued *,
		    struct sc_error *);

/*
 * A worker's own key, from its certificate signing request (PKCS#10 in
 * PEM, RFC 2986 / RFC 7468), for enrollments where the private key never
 * leaves the worker.  pki_csr_parse accepts exactly one PEM block of at
 * most PKI_CSR_PEM_MAX bytes whose signature verifies with its own key
 * (proof of possession) and whose key meets the key policy: RSA of
 * PKI_CSR_RSA_MIN_BITS to PKI_CSR_RSA_MAX_BITS bits, ECDSA on P-256,
 * P-384 or P-521, Ed25519.  Anything else is SC_INVALID, err->msg saying
 * why.  Nothing but the public key is kept: the CSR's subject and
 * requested extensions are never used.
 */
#define PKI_CSR_PEM_MAX		16384
#define PKI_CSR_RSA_MIN_BITS	2048
#define PKI_CSR_RSA_MAX_BITS	16384
struct pki_csr;
enum sc_err	 pki_csr_parse(const char *pem, size_t len, struct pki_csr **,
		    struct sc_error *);
/* "rsa-2048", "ecdsa-SECP256R1", "ed25519": for logs. */
const char	*pki_csr_key_desc(const struct pki_csr *);
void		 pki_csr_free(struct pki_csr *);

/*
 * pki_issue_worker for the key of a parsed CSR instead of a fresh one:
 * the same profile (subject, SANs, key usage, EKU, validity), decided
 * here as for server-made keys.  out->key_pem is NULL: there is no key
 * to hand out.  The key pool is not touched.
 */
enum sc_err	 pki_issue_worker_for_key(const struct pki_ca *,
		    const char *name, const char *const *sans, size_t nsans,
		    const struct pki_csr *, struct pki_issued *,
		    struct sc_error *);
/* Wipe the key and free everything; safe on a zeroed struct. */
void		 pki_issued_clear(struct pki_issued *);

/*
 * Validity of every worker certificate issued from now on (enroll,
 * token enroll, renew), in days: `serve --worker-days`.  Process-wide;
 * set it before starting threads.
 */
#define PKI_WORKER_DAYS_DEFAULT	90
#define PKI_WORKER_DAYS_MAX	825
void		 pki_set_worker_days(int days);

/*
 * Is `cert_pem` (one PEM certificate) a certificate for the CSR's public
 * key?  A renewal whose answer was lost is asked again with a CSR for
 * the same key: that, and only that, gets the same certificate again.
 */
bool		 pki_csr_key_matches(const struct pki_csr *,
		    const char *cert_pem);

/*
 * The front end's trust files in CA_DIR, for nginx's one
 * ssl_client_certificate and one ssl_crl per server: client-cas.pem
 * (front-ca.crt then ca.crt: operators and workers) and client-crls.pem
 * (front-crl.pem then crl.pem; OpenSSL, once given CRLs, wants one for
 * every CA it verifies against).  Each is written atomically (temp,
 * fsync, rename), 0644.  The CRL file is written from whichever CRLs
 * exist; pki_client_crls_stale says whether it is older than either.
 */
#define PKI_CLIENT_CAS_FILE	"client-cas.pem"
#define PKI_CLIENT_CRLS_FILE	"client-crls.pem"
enum sc_err	 pki_client_cas_write(const char *ca_dir, struct sc_error *);
enum sc_err	 pki_client_crls_write(const char *ca_dir, struct sc_error *);
bool		 pki_client_cas_missing(const char *ca_dir);
bool		 pki_client_crls_stale(const char *ca_dir);

/*
 * Generate worker keys of `type` in background threads below the request
 * threads' priority (one per CPU), keeping up to `n` ready in advance
 * (0: generate on request only) and held only in memory.  While it runs,
 * pki_issue_worker for that type takes its key from here, waiting for
 * one if none is ready -- unless the type is quick to make (ECDSA,
 * Ed25519), which the request then makes itself.  `max_takers` bounds the requests that can wait
 * at once (the worker count).  One per process; stop destroys the keys
 * left.
 */
enum sc_err	 pki_keypool_start(enum pki_key_type type, size_t n,
		    size_t max_takers, struct sc_error *);
void		 pki_keypool_stop(void);
size_t		 pki_keypool_ready(void);
/* The generator threads pki_keypool_start starts: one per CPU, up to 8. */
size_t		 pki_keypool_threads(void);

/*
 * Issuing refuses a CA of the wrong role (workers: the worker CA;
 * operators and servers: the front CA) or one loaded without its key.
 *
 * Operator client certificate: CN=<name>, O=DECNET, OU=swarm-operator,
 * EKU clientAuth only (critical), keyUsage digitalSignature (critical),
 * CA:FALSE, `days` of validity (365 by default), fresh key of `type`.
 */
#define PKI_OPERATOR_DAYS	365
enum sc_err	 pki_issue_operator(const struct pki_ca *, const char *name,
		    int days, enum pki_key_type type, struct pki_issued *,
		    struct sc_error *);

/*
 * TLS server certificate for the front end (nginx): CN=<cn>, O=DECNET,
 * OU=swarm-server, EKU serverAuth only, SANs as for workers, 825 days.
 */
enum sc_err	 pki_issue_server(const struct pki_ca *, const char *cn,
		    const char *const *sans, size_t nsans,
		    enum pki_key_type type, struct pki_issued *,
		    struct sc_error *);

/*
 * PKCS#12 (DER) holding the certificate, its key and the CA certificate,
 * friendly name `name`, protected with `password` ("" allowed: browsers
 * import it).  PBES2 AES-256 + HMAC-SHA256.  *der is malloc'd; the caller
 * wipes and frees it.
 */
enum sc_err	 pki_pkcs12_export(const struct pki_ca *,
		    const struct pki_issued *, const char *name,
		    const char *password, unsigned char **der, size_t *len,
		    struct sc_error *);

/* One revoked certificate, as the CRL lists it. */
struct pki_revoked {
	char	 serial_hex[2 * PKI_SERIAL_LEN + 1];
	time_t	 revoked_at;
	/* When the certificate expires (0: not known); not in the CRL. */
	time_t	 not_after;
};

/* The largest CRL file read back: over a million entries. */
#define PKI_CRL_FILE_MAX	(64 * 1024 * 1024)

/*
 * One entry of a CRL's revokedCertificates (RFC 5280 5.1), DER:
 * SEQUENCE { userCertificate INTEGER (at most 20 octets and a sign
 * octet), revocationDate Time }, at most PKI_CRL_ENTRY_MAX octets.
 * SC_INVALID for a serial that is not 1 to 40 hex digits, or a time
 * outside 1950-9999.
 */
#define PKI_CRL_ENTRY_MAX	42
enum sc_err	 pki_crl_entry_encode(const struct pki_revoked *,
		    unsigned char out[PKI_CRL_ENTRY_MAX], size_t *len,
		    struct sc_error *);


/*
 * What a CRL lists: n entries as pki_crl_entry_encode writes them, back
 * to back.  The publisher keeps them encoded from one CRL to the next
 * (src/crl_list.c) and the CA signer is given them so, checked entry by
 * entry before it signs anything.
 */
struct pki_crl_entries {
	const unsigned char	*der;
	size_t			 len;
	size_t			 n;
};

/*
 * Rows encoded back to back into *buf (malloc'd; NULL for none), as l
 * describes them (l->der points into *buf).
 */
enum sc_err	 pki_crl_rows_encode(const struct pki_revoked *, size_t n,
		    unsigned char **buf, struct pki_crl_entries *l,
		    struct sc_error *);

/*
 * Sign a CRL (RFC 5280 5: version 2, thisUpdate now, nextUpdate
 * now+next_update_secs, CRL number `number`, authority key identifier)
 * listing the entries in that order, as PEM (*pem malloc'd,
 * NUL-terminated).  Linear in n: 100,000 entries take a fraction of a
 * second.  The CRL is parsed and verified against the CA before it is
 * returned.  SC_INVALID if the entries are not n well-formed ones.
 */
enum sc_err	 pki_crl_sign(const struct pki_ca *,
		    const struct pki_crl_entries *, uint64_t number,
		    long next_update_secs, char **pem, size_t *pem_len,
		    struct sc_error *);
/*
 * pki_crl_sign, written atomically (temp, fsync, rename) to the CA's CRL
 * file in CA_DIR (crl.pem, front-crl.pem), 0644.
 */
enum sc_err	 pki_crl_write(const struct pki_ca *, const char *ca_dir,
		    const struct pki_crl_entries *, uint64_t number,
		    long next_update_secs, struct sc_error *);
/*
 * The same from rows (tests, the benchmark): each row encoded, in the
 * order given.
 */
enum sc_err	 pki_crl_sign_rows(const struct pki_ca *,
		    const struct pki_revoked *, size_t n, uint64_t number,
		    long next_update_secs, char **pem, size_t *pem_len,
		    struct sc_error *);
enum sc_err	 pki_crl_write_rows(const struct pki_ca *, const char *ca_dir,
		    const struct pki_revoked *, size_t n, uint64_t number,
		    long next_update_secs, struct sc_error *);
/*
 * The CA signer's answer to a CRL request (DER), checked before it is
 * published: a CRL of exactly n entries as RFC 5280 5.1 shapes it,
 * signed by this CA; SC_INTERNAL with the reason if not.
 */
enum sc_err	 pki_crl_answer_check(const struct pki_ca *,
		    const unsigned char *der, size_t der_len, size_t n,
		    struct sc_error *);
/* nextUpdate of role's CRL file; SC_NOT_FOUND if there is none. */
enum sc_err	 pki_crl_next_update(const char *ca_dir, enum pki_ca_role,
		    time_t *, struct sc_error *);
/*
 * Does the CA's CRL file in CA_DIR list every serial of `want`?  *covers
 * says; *next is its nextUpdate.  SC_NOT_FOUND if there is no file,
 * SC_INVALID if it does not parse or is not signed by this CA.
 */
enum sc_err	 pki_crl_check(const struct pki_ca *, const char *ca_dir,
		    const struct pki_revoked *want, size_t n, bool *covers,
		    time_t *next, struct sc_error *);

/* A TLS client's certificate, as the responder sees it. */
struct pki_peer {
	char	 fingerprint[PKI_FINGERPRINT_LEN + 1];	/* SHA-256 of DER */
	char	 cn[128];
	char	 ou[128];
	bool	 issued_by_ca;	/* signature verifies against our CA, in validity */
};

/*
 * Parse a PEM certificate (as nginx passes it, already URL-decoded) and
 * check it against the CA (the certificate alone is enough).  SC_INVALID
 * if it does not parse.
 */
enum sc_err	 pki_peer_parse(const struct pki_ca *, const char *pem,
		    size_t len, struct pki_peer *, struct sc_error *);

/*
 * A new bootstrap token (validate.h's format: TOKEN_PREFIX and base64url
 * of TOKEN_SECRET_BYTES random bytes), and the lowercase hex SHA-256 of
 * a token's text: all that is stored of it.  The caller wipes token.
 */
#define PKI_TOKEN_HASH_LEN	SC_SHA256_HEX_LEN
enum sc_err	 pki_token_new(char *token, struct sc_error *);
enum sc_err	 pki_token_hash(const char *token,
		    char hex[PKI_TOKEN_HASH_LEN + 1], struct sc_error *);

/*
 * The worker's side (swarmctl agent).  A fresh key of `type` as PKCS#8
 * PEM (*pem malloc'd, NUL-terminated: free it with pki_secret_free).
 */
#define PKI_KEY_PEM_MAX		16384
#define PKI_CERT_PEM_MAX	65536
enum sc_err	 pki_key_generate_pem(enum pki_key_type, char **pem,
		    size_t *len, struct sc_error *);
/* Wipe and free a secret buffer of len bytes; NULL is fine. */
void		 pki_secret_free(char *, size_t len);
/* Lowercase hex SHA-256 of the key's public half (SubjectPublicKeyInfo). */
enum sc_err	 pki_key_id(const char *key_pem, size_t len,
		    char out[PKI_FINGERPRINT_LEN + 1], struct sc_error *);
/* A PKCS#10 request signed by the key, subject CN=cn (*csr_pem malloc'd). */
enum sc_err	 pki_csr_make(const char *key_pem, size_t len, const char *cn,
		    char **csr_pem, struct sc_error *);

/* What the agent checks of a certificate it is given. */
struct pki_cert_info {
	char	 fingerprint[PKI_FINGERPRINT_LEN + 1];	/* SHA-256 of DER */
	char	 key_id[PKI_FINGERPRINT_LEN + 1];	/* as pki_key_id */
	time_t	 not_after;
};
/*
 * Exactly one PEM certificate (SC_INVALID otherwise); *canonical_pem,
 * if asked for, is it re-encoded with nothing else around it (malloc'd).
 */
enum sc_err	 pki_cert_inspect(const char *pem, size_t len,
		    struct pki_cert_info *, char **canonical_pem,
		    struct sc_error *);

/*
 * Read dir/name, a regular file of 1 to max bytes, into *buf (malloc'd,
 * NUL-terminated; pki_secret_free it if it is a key).  SC_NOT_FOUND for
 * a missing file with missing_ok, else SC_CA_UNAVAILABLE with the path.
 */
enum sc_err	 pki_file_read(const char *dir, const char *name,
		    bool missing_ok, size_t max, char **buf, size_t *len,
		    struct sc_error *);

#endif
