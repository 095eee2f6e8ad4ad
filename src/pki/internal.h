/*
 * Private to src/pki/: the CA's in-memory form and the helpers that
 * pki.c shares with crl.c, pkcs12.c and peer.c.  Nothing outside
 * src/pki/ includes this; the rest of the program sees pki.h only.
 */
#ifndef SC_PKI_INTERNAL_H
#define SC_PKI_INTERNAL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/pki.h"
#include "pki/signwire.h"

#define PKI_KEY_ID_MAX	64
/* A subjectKeyIdentifier we make: SHA-1 of the SubjectPublicKeyInfo. */
#define PKI_SKI_LEN	20

struct pki_ca {
	enum pki_ca_role	 role;
	gnutls_x509_crt_t	 crt;
	gnutls_privkey_t	 key;	/* NULL when loaded for verifying only */
	/* Signs for us when the key lives in the signer process. */
	struct pki_signer	*signer;
	char			 fingerprint[PKI_FINGERPRINT_LEN + 1];
	char			 subject[256];	/* RFC 4514 */
	char			*cert_pem;
	/* Our subjectKeyIdentifier: the authorityKeyIdentifier we sign. */
	unsigned char		 key_id[PKI_KEY_ID_MAX];
	size_t			 key_id_len;
	/* Its subject as DER: the issuer of what it signs. */
	gnutls_datum_t		 subject_der;
};

/* A checked CSR (csr.c): only its public key survives the parse. */
struct pki_csr {
	gnutls_pubkey_t	 key;		/* key usage cleared */
	char		 key_desc[32];	/* "rsa-2048", "ecdsa-SECP256R1", ... */
};

/* sc_error_set with gnutls_strerror(rc). */
enum sc_err	 pki_tls_error(struct sc_error *, enum sc_err,
		    const char *what, int rc);

/* The digest to sign with the CA key (none of its own for Ed25519). */
gnutls_digest_algorithm_t pki_sign_digest(gnutls_privkey_t);
/* The same for a key of that algorithm: what verifies its signatures. */
gnutls_digest_algorithm_t pki_sign_digest_pk(gnutls_pk_algorithm_t);

/*
 * Read dir/name (a regular file of at most 1 MiB): out->data is a
 * malloc'd, NUL-terminated copy, out->size its length; *mode (if not
 * NULL) gets its permission bits.  Errors are SC_CA_UNAVAILABLE, except
 * a missing file with missing_ok: SC_NOT_FOUND.  The caller frees
 * out->data with free() (wiping it first if it held a key).
 */
enum sc_err	 pki_read_file(const char *dir, const char *name,
		    bool missing_ok, gnutls_datum_t *out, mode_t *mode,
		    struct sc_error *);
/* The same for files of up to `max` bytes (CRLs: PKI_CRL_FILE_MAX). */
enum sc_err	 pki_read_file_max(const char *dir, const char *name,
		    bool missing_ok, size_t max, gnutls_datum_t *out,
		    mode_t *mode, struct sc_error *);

/* Lowercase hex SHA-256 of the certificate's DER. */
enum sc_err	 pki_fingerprint_hex(gnutls_x509_crt_t,
		    char out[PKI_FINGERPRINT_LEN + 1], struct sc_error *);

/* A fresh key of `type` (never from the pool). */
enum sc_err	 pki_generate_key(enum pki_key_type, gnutls_x509_privkey_t *,
		    struct sc_error *);
/*
 * A key of `type` from the generators (keypool.c), waiting for one if
 * none is ready; false if they are not running for that type, or if
 * none is ready and the type is quick to make (pki_key_type_slow): the
 * caller then makes its own.
 */
bool		 pki_keypool_take(enum pki_key_type, gnutls_x509_privkey_t *);
/*
 * Whether a key of this type takes longer to make than handing the work
 * to another thread and back: RSA (milliseconds to seconds), not ECDSA
 * or Ed25519 (tens of microseconds).
 */
bool		 pki_key_type_slow(enum pki_key_type);

/*
 * Every private key we write (keyder.c): unencrypted PKCS#8 PEM ("PRIVATE
 * KEY") in its canonical encoding, an ECDSA key's privateKey exactly its
 * curve's size (RFC 5915 3).  *pem is a GnuTLS allocation: wipe it and
 * gnutls_free it.
 */
enum sc_err	 pki_key_export_pem(gnutls_x509_privkey_t, gnutls_datum_t *pem,
		    struct sc_error *);

/*
 * A malloc'd copy of a GnuTLS datum with a NUL after its bytes (text or
 * DER alike); NULL when out of memory.
 */
char		*pki_datum_strdup(const gnutls_datum_t *);
/* Wipe a GnuTLS-allocated datum that held a secret, free it, empty it. */
void		 pki_datum_wipe(gnutls_datum_t *);

/* Lowercase hex of `len` bytes into out (2 * len + 1 bytes). */
void		 pki_hex(const unsigned char *, size_t len, char *out);

/*
 * The signing half of issuing and of CRLs, run where the CA key is: in
 * the signer process (signerd.c), or in-process when no signer runs
 * (unit tests, benchmarks).  The profile decides everything but the
 * name, SANs, subject key and a validity within the profile's bound;
 * the serial is made here.  *der is malloc'd.
 */
enum sc_err	 pki_cert_build(const struct pki_ca *, enum signwire_profile,
		    const char *cn, long days, const char *const *sans,
		    size_t nsans, const unsigned char *spki, size_t spki_len,
		    unsigned char **der, size_t *der_len, struct sc_error *);
enum sc_err	 pki_crl_build(const struct pki_ca *,
		    const struct pki_crl_entries *, uint64_t number,
		    long next_update_secs, unsigned char **der,
		    size_t *der_len, struct sc_error *);

/* Is the CA's key on a PKCS#11 token (not a key file)? */
bool		 pki_ca_on_token(const struct pki_ca *);

/* A subjectAltName, parsed (pki.c): an iPAddress or a dNSName. */
#define PKI_DNS_NAME_MAX	253
struct pki_san {
	gnutls_x509_subject_alt_name_t	 type;	/* IPADDRESS or DNSNAME */
	unsigned char			 data[PKI_DNS_NAME_MAX];
	size_t				 len;
};

/*
 * Everything a certificate we issue says (certder.c writes it; pki.c's
 * profiles decide it).  Pointers are borrowed.
 */
struct certder_spec {
	const unsigned char	*serial;	/* DER INTEGER contents */
	size_t			 serial_len;
	gnutls_sign_algorithm_t	 sign_algo;
	const gnutls_datum_t	*issuer;	/* the CA's subject, DER */
	time_t			 not_before, not_after;
	const char		*organization, *unit, *cn;
	const gnutls_datum_t	*spki;		/* SubjectPublicKeyInfo, DER */
	const unsigned char	*key_id;	/* subjectKeyIdentifier */
	size_t			 key_id_len;
	unsigned int		 key_usage;	/* GNUTLS_KEY_* */
	bool			 server_auth, client_auth, eku_critical;
	const struct pki_san	*sans;
	size_t			 nsans;
	const unsigned char	*issuer_key_id;	/* authorityKeyIdentifier */
	size_t			 issuer_key_id_len;
};

/* The TBSCertificate of spec (tbs->data malloc'd). */
enum sc_err	 pki_certder_tbs(const struct certder_spec *,
		    gnutls_datum_t *tbs, struct sc_error *);
/*
 * Sign tbs with key: SEQUENCE { tbs, signatureAlgorithm, signatureValue },
 * a Certificate's DER or a CertificateList's (*der malloc'd).
 */
enum sc_err	 pki_certder_sign(gnutls_privkey_t, gnutls_sign_algorithm_t,
		    const gnutls_datum_t *tbs, unsigned char **der,
		    size_t *der_len, struct sc_error *);

/*
 * What a Certificate's DER (as pki_certder_sign writes it) says of
 * itself: views into it, and its validity.  The whole Certificate must
 * be well-formed DER of RFC 5280 4.1's shape, nothing after it.
 */
struct pki_certder_facts {
	const unsigned char	*serial;	/* INTEGER contents */
	size_t			 serial_len;
	const unsigned char	*subject;	/* the Name, whole element */
	size_t			 subject_len;
	time_t			 not_before, not_after;
};
enum sc_err	 pki_certder_facts(const unsigned char *der, size_t len,
		    struct pki_certder_facts *, struct sc_error *);

/* The signer's client (signer.c); pki_signer_current: NULL if none. */
struct pki_signer *pki_signer_current(void);
enum sc_err	 pki_signer_issue(struct pki_signer *, enum signwire_profile,
		    const char *cn, long days, const char *const *sans,
		    size_t nsans, const unsigned char *spki, size_t spki_len,
		    unsigned char **der, size_t *der_len, struct sc_error *);
enum sc_err	 pki_signer_crl(struct pki_signer *, enum pki_ca_role,
		    const struct pki_crl_entries *, uint64_t number,
		    long next_update_secs, unsigned char **der,
		    size_t *der_len, struct sc_error *);

#endif
