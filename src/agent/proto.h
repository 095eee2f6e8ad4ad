/*
 * The agent's side of the HTTP contract: request bodies out, answers
 * parsed with json-c into typed structs (README, "API"), every field
 * checked for type and size before use.
 */
#ifndef SC_AGENT_PROTO_H
#define SC_AGENT_PROTO_H

#include <stddef.h>

#include "err.h"
#include "pki/pki.h"

/* POST /swarm/enroll/token (201) and POST /swarm/renew (200). */
struct agent_bundle {
	char	 host_uuid[40];
	char	 name[72];
	char	 fingerprint[PKI_FINGERPRINT_LEN + 1];
	char	*ca_cert_pem;
	char	*worker_cert_pem;
};

/* POST /swarm/heartbeat (200). */
struct agent_beat {
	char	 host_uuid[40];
	char	 status[32];
	char	 last_heartbeat[48];
	char	 cert_not_after[48];
};

/* SC_INVALID, naming the field, if the answer is not of that shape. */
enum sc_err	 agent_bundle_parse(const char *body, size_t len,
		    struct agent_bundle *, struct sc_error *);
void		 agent_bundle_free(struct agent_bundle *);
enum sc_err	 agent_beat_parse(const char *body, size_t len,
		    struct agent_beat *, struct sc_error *);

/* {"csr_pem": ...}; {"agent_version": ..., "status": ...}.  malloc'd. */
char		*agent_csr_body(const char *csr_pem);
char		*agent_beat_body(const char *version, const char *status);

/*
 * The "detail" of an error answer as one printable line (at most size-1
 * bytes, control characters replaced), or "" if there is none.
 */
void		 agent_detail(const char *body, size_t len, char *out,
		    size_t size);

#endif
