/*
 * Route handlers: functions of (typed request, worker context) to a
 * response.  They never touch the FastCGI stream or SQL text: storage is
 * db/, certificates pki/, bytes http/response.  A handler returns SC_OK
 * with the response filled in, or an error code with context that the
 * caller (app.c) logs and renders.
 */
#ifndef SC_HANDLERS_H
#define SC_HANDLERS_H

#include <stdbool.h>

#include "err.h"
#include "pki/pki.h"

struct config;
struct db;
struct http_request;
struct http_response;
struct auth_actor;
struct auth_cache;
struct host_cache;

/* Everything one worker owns; never shared between workers. */
struct handler_ctx {
	const struct config	*cfg;
	struct db		*db;
	struct pki_ca		*ca;	/* worker CA; NULL until loadable: 503 */
	/* The front-end CA's certificate (no key): operators' issuer. */
	struct pki_ca		*front_ca;
	struct auth_cache	*auth_cache;	/* may be NULL: no caching */
	struct host_cache	*host_cache;	/* may be NULL: no caching */
	/* Per request: who is asking (NULL on public routes). */
	const struct auth_actor	*actor;
};

/*
 * A handler gets the request's decoded input (decode.h), as its route
 * row in app.c declares it; refusals of that input, and any failure the
 * handler returns, are audited by app.c.  A handler audits success (in
 * its transaction) and the refusals it answers itself.
 */
struct route_input_value;
struct route_caller;
#define HANDLER_ARGS struct handler_ctx *, const struct http_request *, \
	const struct route_input_value *, struct http_response *, \
	struct sc_error *
#define ADMIT_ARGS struct handler_ctx *, const struct http_request *, \
	struct route_caller *, struct http_response *, bool *done, \
	struct sc_error *

enum sc_err	handle_health(HANDLER_ARGS);
enum sc_err	handle_ready(HANDLER_ARGS);
enum sc_err	handle_enroll(HANDLER_ARGS);
enum sc_err	handle_hosts_list(HANDLER_ARGS);
enum sc_err	handle_host_get(HANDLER_ARGS);
enum sc_err	handle_host_delete(HANDLER_ARGS);
enum sc_err	handle_ca_pem(HANDLER_ARGS);
enum sc_err	handle_crl_pem(HANDLER_ARGS);
enum sc_err	handle_audit(HANDLER_ARGS);
enum sc_err	handle_token_create(HANDLER_ARGS);
enum sc_err	handle_tokens_list(HANDLER_ARGS);
enum sc_err	handle_token_revoke(HANDLER_ARGS);
enum sc_err	handle_token_redeem(HANDLER_ARGS);
enum sc_err	handle_front_ca_pem(HANDLER_ARGS);
enum sc_err	handle_renew(HANDLER_ARGS);
enum sc_err	handle_heartbeat(HANDLER_ARGS);
/* Admission of the credential routes (router.h, route_admit). */
enum sc_err	handler_admit_token(ADMIT_ARGS);
enum sc_err	handler_admit_renew(ADMIT_ARGS);
enum sc_err	handler_admit_heartbeat(ADMIT_ARGS);

/*
 * After a failed COMMIT of an enrollment or renewal (`what`) that wrote
 * CA_DIR/workers/<name> holding `fingerprint`: remove that bundle once
 * the database says the row will never name it (orphans.h), at once
 * unless the COMMIT's outcome is in doubt (doubt_pid, the transaction
 * begun at `since`).
 */
void		handler_settle_bundle(struct handler_ctx *, const char *name,
		    const char *fingerprint, const char *since, int doubt_pid,
		    const char *what);
/*
 * The worker CA (ctx->ca, signing through the CA signer) or the
 * front-end CA (ctx->front_ca, its certificate only), loaded on first
 * use: a CA that could not be loaded when the worker started is retried
 * by each request that needs it, which gets 503 meanwhile (ca.c).
 */
enum sc_err	handler_require_ca(struct handler_ctx *, enum pki_ca_role,
		    struct sc_error *);
/* The sans of an enrollment as the JSON array the tables keep. */
struct enroll_req;
char		*handler_sans_json(const struct enroll_req *);

/*
 * Enroll the host `er` describes (hosts.c): exactly what POST
 * /swarm/enroll does once the request is valid.  With `claim`, a
 * bootstrap token (its hash, and its id for the audit) is claimed in the
 * same transaction; a token that is no longer active fails the
 * enrollment with SC_FORBIDDEN, nothing written.
 */
struct enroll_req;
struct token_claim {
	const char	*hash;
	const char	*id;
};
enum sc_err	handler_enroll(struct handler_ctx *,
		    const struct http_request *, const struct enroll_req *,
		    const struct token_claim *, struct http_response *,
		    struct sc_error *);

/*
 * Append an audit entry for the current request's actor; failures to
 * write it are logged, not returned (the action's own outcome stands).
 */
void		handler_audit(struct handler_ctx *, const struct http_request *,
		    const char *action, const char *target, const char *outcome,
		    const char *detail);
/*
 * A refused state change from a client that presented no verified
 * certificate.  Anyone can send those, as fast as the network allows, so
 * they are counted rather than recorded one row each: the first refusal
 * of an action is written at once, later ones are added up and written
 * as one row ("N refused requests without a client certificate") at
 * most every AUDIT_ANONYMOUS_SECONDS per action and process.  The
 * request's target (an attacker's choice) is never stored.
 */
#define AUDIT_ANONYMOUS_SECONDS	60
/*
 * Heartbeats are never audited one row each, refusals included: a
 * decommissioned worker keeps knocking every 30 s.  Those without a
 * certificate are counted under "heartbeat", those with one that is not
 * a host's current certificate under this action.
 */
#define HANDLER_HEARTBEAT_PRESENTED	"heartbeat-refused"
void		handler_audit_anonymous(struct handler_ctx *,
		    const struct http_request *, const char *action);
/*
 * Write the counts handler_audit_anonymous keeps once their interval is
 * over -- or all of them when `all` (a worker stopping).  Cheap when
 * nothing is due: call it after every request.
 */
void		handler_audit_flush(struct handler_ctx *, bool all);
/* Fill *out for the current request (strings borrowed from ctx/req). */
struct db_audit;
void		handler_audit_entry(struct handler_ctx *,
		    const struct http_request *, const char *action,
		    const char *target, const char *outcome, const char *detail,
		    struct db_audit *out);
/* The 422 response for a validator's detail list (which it consumes). */
struct json_object;
/* A JSON string, or NULL (JSON null) for NULL. */
struct json_object *handler_string_or_null(const char *);
enum sc_err	handler_respond_invalid(struct http_response *,
		    struct json_object *detail, struct sc_error *);
/* The audit outcome word for an error code: conflict, invalid, ... */
const char	*handler_outcome(enum sc_err);

#endif
