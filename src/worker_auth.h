/*
 * Which host is asking: a worker presents its own certificate (mutual
 * TLS to the front end, which verifies it against the worker CA and its
 * CRL) on the worker routes (POST /swarm/renew, /swarm/heartbeat).  The
 * responder then applies the pinning rule: the certificate must be one
 * the worker CA issued as a worker certificate, recorded, unrevoked, and
 * the very one its host's row names (swarm_hosts.client_cert_fingerprint).
 * The database is asked on every request, so neither a stale CRL in
 * nginx nor a certificate superseded a moment ago gets through.
 *
 * Operator certificates (the front-end CA's) are no worker's, and worker
 * certificates are no operator's (auth.c checks the issuer).
 */
#ifndef SC_WORKER_AUTH_H
#define SC_WORKER_AUTH_H

#include <stdbool.h>

#include "db/db.h"
#include "err.h"

struct handler_ctx;
struct http_request;

enum worker_auth_result {
	WORKER_ANONYMOUS,	/* no verified client certificate: 401 */
	WORKER_REFUSED,		/* not a current worker certificate: 403 */
	/*
	 * Revoked as superseded by a renewal, and its successor is still
	 * the host's certificate: a renewal may be answered again (a lost
	 * response), nothing else is allowed.
	 */
	WORKER_SUPERSEDED,
	WORKER_CURRENT,		/* the host's certificate */
};

struct worker_identity {
	enum worker_auth_result	 result;
	/* What the certificates table says (ref.found false: not ours). */
	struct db_worker_ref	 ref;
	char			 why[96];	/* for the audit, if refused */
};

/*
 * Fill *id for `req`.  SC_OK whatever the answer (id->result says);
 * SC_DB_UNAVAILABLE / SC_CA_UNAVAILABLE if it cannot be decided now.
 */
enum sc_err	 worker_auth(struct handler_ctx *, const struct http_request *,
		    struct worker_identity *, struct sc_error *);

#endif
