/*
 * Request decoding: what a route declares it takes (enum route_input),
 * decoded from the raw request -- path parameter, query string or JSON
 * body -- into a typed struct, or refused with the error the contract
 * gives (422 detail list, 400, 404 for a malformed id), before the
 * handler runs.  As kcgi runs a field's declared validator before the
 * application sees it: handlers read only `struct route_input_value`.
 */
#ifndef SC_DECODE_H
#define SC_DECODE_H

#include <stdbool.h>

#include "auth.h"
#include "db/db.h"
#include "err.h"
#include "pki/pki.h"
#include "validate.h"
#include "worker_auth.h"

struct http_request;
struct json_object;
struct name_policy;

enum route_input {
	INPUT_NONE,		/* nothing to decode */
	INPUT_UUID,		/* "{uuid}" path segment: else 404 */
	INPUT_ENROLL,		/* EnrollRequest body, issuance policy */
	INPUT_HOSTS_QUERY,	/* ?host_status&limit&after&expiring_within */
	INPUT_AUDIT_QUERY,	/* ?limit */
	INPUT_TOKEN_CREATE,	/* TokenCreate body, issuance policy */
	INPUT_TOKEN_REDEEM,	/* {"csr_pem"} + the token's enrollment */
	INPUT_RENEW,		/* {"csr_pem"} */
	INPUT_HEARTBEAT,	/* {"agent_version", "status"}, optional */
};

/*
 * Who a token or worker route's caller is, as its admission stage
 * (handlers.h) found: the decoders and handlers after it read this.
 */
struct route_caller {
	struct auth_actor	 actor;		/* ctx->actor, when set */
	/* INPUT_TOKEN_REDEEM: the token named, and its hash. */
	struct db_token		 token;
	char			 token_hash[PKI_TOKEN_HASH_LEN + 1];
	/* INPUT_RENEW, INPUT_HEARTBEAT: the certificate's holder. */
	struct worker_identity	 worker;
};

/* One request's decoded input: `kind` says which member is set. */
struct route_input_value {
	enum route_input	 kind;
	const char		*param;		/* the raw "{...}" segment */
	struct route_caller	 caller;
	union {
		char			 uuid[DB_UUID_LEN + 1];
		struct enroll_req	 enroll;	/* also TOKEN_REDEEM */
		struct hosts_query	 hosts;
		int			 audit_limit;
		struct token_create_req	 token_create;
		struct pki_csr		*csr;		/* RENEW */
		struct heartbeat_req	 heartbeat;
	} u;
};

/*
 * Decode `req` (body already read) as `kind` into *in.  SC_INVALID with
 * *detail set (the 422 list, caller owns it); SC_NOT_FOUND for a
 * malformed uuid, with `not_found` as the message; other codes with
 * context.  *in is always fit for route_input_clear.
 */
enum sc_err	 route_input_decode(enum route_input kind,
		    const struct http_request *req, const char *param,
		    const struct name_policy *, const char *not_found,
		    struct route_input_value *in, struct json_object **detail,
		    struct sc_error *);
/* What a refused or failed request is audited against, or NULL. */
const char	*route_input_target(const struct route_input_value *);
void		 route_input_clear(struct route_input_value *);

/*
 * The enrollment a bootstrap token stands for, with the worker's CSR
 * (which *er owns from then on, also on failure).
 */
enum sc_err	 route_token_enroll_req(const struct db_token *,
		    struct pki_csr *, struct enroll_req *, struct sc_error *);

#endif
