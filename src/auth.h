/*
 * Who is asking.  nginx verifies the TLS client certificate against the
 * CA and its CRL; the responder then decides what the certificate may
 * do: only a verified, recorded, unrevoked certificate with
 * OU=swarm-operator drives the control plane.  Revocation is checked
 * against the database on every request, so a stale CRL in nginx cannot
 * let a revoked operator in.
 */
#ifndef SC_AUTH_H
#define SC_AUTH_H

#include <stdbool.h>

#include "err.h"
#include "pki/pki.h"

struct handler_ctx;
struct http_request;

#define AUTH_OPERATOR_OU	"swarm-operator"

struct auth_actor {
	bool	 loopback;	/* the --allow-loopback-operator exception */
	char	 name[128];	/* the certificate's CN, or "loopback" */
	char	 fingerprint[PKI_FINGERPRINT_LEN + 1];	/* "" for loopback */
};

/*
 * A worker's memory of recent positive decisions, so an operator's
 * requests do not each pay for parsing and verifying the certificate and
 * a database lookup.  Safe against revocation: an entry counts only while
 * db_cert_epoch() is unchanged (PostgreSQL notifies every worker of any
 * change to a certificate's state) and for at most AUTH_CACHE_SECONDS.
 */
#define AUTH_CACHE_SECONDS	30
struct auth_cache;
struct auth_cache *auth_cache_new(void);
void		 auth_cache_free(struct auth_cache *);

/*
 * Fill *actor if `req` comes from an operator; SC_FORBIDDEN ("operator
 * certificate required") if not (*actor then names the certificate
 * presented, if any, for the audit trail); SC_DB_UNAVAILABLE / SC_CA_UNAVAILABLE
 * if that cannot be decided now.
 */
enum sc_err	 auth_operator(struct handler_ctx *, const struct http_request *,
		    struct auth_actor *, struct sc_error *);

#endif
