/*
 * Edge validation: untrusted request input becomes a typed struct, or a
 * FastAPI-style 422 detail list naming every bad field, before any side
 * effect.  Rules: ../shared/CONTRACT.md, "Shapes".
 */
#ifndef SC_VALIDATE_H
#define SC_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "sc_limits.h"

struct json_object;
struct pki_csr;

#define ENROLL_NAME_MAX		SC_NAME_MAX
#define ENROLL_HOST_MAX		253	/* RFC 1035 2.3.4 */
#define ENROLL_SANS_MAX		SC_SANS_MAX
#define ENROLL_NOTES_MAX	4096
#define ENROLL_DEFAULT_PORT	8765
#define HOST_STATUS_MAX		32
#define JSON_MAX_DEPTH		16

struct enroll_req {
	char	 name[ENROLL_NAME_MAX + 1];
	char	 address[ENROLL_HOST_MAX + 1];
	int	 agent_port;
	char	(*sans)[ENROLL_HOST_MAX + 1];
	size_t	 nsans;
	char	*notes;		/* NULL when absent or null */
	/*
	 * csr_pem, parsed and checked (pki_csr_parse): the worker keeps its
	 * key and only this public key is certified.  NULL when absent or
	 * null: the controller makes the key.  Freed by enroll_req_clear.
	 */
	struct pki_csr *csr;
};

#define HOSTS_PAGE_MAX		10000

struct hosts_query {
	bool	 has_status;
	char	 status[HOST_STATUS_MAX + 1];
	int	 limit;				/* 0: the whole list */
	bool	 has_after;
	char	 after[ENROLL_NAME_MAX + 1];	/* with limit: page start */
	int	 expiring_within;		/* days; 0: not asked */
};
#define HOSTS_EXPIRING_MAX	3650

/*
 * Parse and validate an EnrollRequest body.  SC_BAD_REQUEST if it is not
 * JSON (err->msg says why); SC_INVALID with *detail set to the 422 list
 * (caller owns it) if fields are wrong.
 */
enum sc_err	 validate_enroll(const char *body, size_t len,
		    struct enroll_req *, struct json_object **detail,
		    struct sc_error *);
void		 enroll_req_clear(struct enroll_req *);

/*
 * The issuance policy's allow-list (policy.h) over a valid request's
 * name, address and sans: SC_INVALID with *detail naming each name it
 * does not permit.  SC_OK without an allow-list.
 */
struct name_policy;
enum sc_err	 validate_enroll_policy(const struct enroll_req *,
		    const struct name_policy *, struct json_object **detail,
		    struct sc_error *);

/*
 * GET /swarm/hosts query: ?host_status=S, and for pages ?limit=N
 * (1-10000) &after=NAME.  SC_INVALID + *detail listing each bad one.
 */
enum sc_err	 validate_hosts_query(const char *query, struct hosts_query *,
		    struct json_object **detail, struct sc_error *);

/* GET /swarm/audit query: ?limit=N, 1-1000, default 100. */
#define AUDIT_LIMIT_DEFAULT	100
#define AUDIT_LIMIT_MAX		1000
enum sc_err	 validate_audit_query(const char *query, int *limit,
		    struct json_object **detail, struct sc_error *);

/*
 * A host uuid path segment: canonical 8-4-4-4-12 hex, either case.
 * Writes the lowercase form to out; false if malformed.
 */
bool		 validate_uuid(const char *, char out[37]);

/* An IPv4/IPv6 literal or an RFC 1123 DNS name of at most 253 chars. */
bool		 validate_host(const char *);

/*
 * POST /swarm/tokens: an EnrollRequest's name, address, agent_port, sans
 * and notes (validate_enroll's rules; csr_pem is refused: the worker
 * sends it when redeeming) and ttl_seconds, 60 to 86400, default 900.
 */
#define TOKEN_TTL_DEFAULT	900
#define TOKEN_TTL_MIN		60
#define TOKEN_TTL_MAX		86400
struct token_create_req {
	struct enroll_req er;
	int		 ttl_seconds;
};
enum sc_err	 validate_token_create(const char *body, size_t len,
		    struct token_create_req *, struct json_object **detail,
		    struct sc_error *);
void		 token_create_req_clear(struct token_create_req *);

/*
 * POST /swarm/enroll/token: {"csr_pem": ...} and nothing else (the token
 * decides name, address and sans).  *csr is the parsed CSR on SC_OK
 * (pki_csr_free it).
 */
enum sc_err	 validate_token_redeem(const char *body, size_t len,
		    struct pki_csr **csr, struct json_object **detail,
		    struct sc_error *);
/* POST /swarm/renew: the same shape (the host decides the rest). */
enum sc_err	 validate_renew(const char *body, size_t len,
		    struct pki_csr **csr, struct json_object **detail,
		    struct sc_error *);

/*
 * POST /swarm/heartbeat: {"agent_version": 1-64 printable ASCII,
 * "status": "ok" | "degraded"}, each optional; an empty body is fine.
 */
#define HEARTBEAT_VERSION_MAX	64
struct heartbeat_req {
	bool	 has_agent_version, has_status;
	char	 agent_version[HEARTBEAT_VERSION_MAX + 1];
	char	 status[16];
};
enum sc_err	 validate_heartbeat(const char *body, size_t len,
		    struct heartbeat_req *, struct json_object **detail,
		    struct sc_error *);

/*
 * A bootstrap token as shown once: "swt_" and 43 base64url characters
 * (32 random bytes, unpadded).  validate_bearer_token copies it out of
 * an Authorization header value "Bearer <token>"; false if the header
 * is absent or not exactly that.
 */
#define TOKEN_PREFIX		"swt_"
#define TOKEN_SECRET_BYTES	32
#define TOKEN_TEXT_LEN		(4 + 43)
bool		 validate_bearer_token(const char *authorization,
		    char token[TOKEN_TEXT_LEN + 1]);

#endif
