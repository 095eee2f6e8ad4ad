#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "http/peer.h"
#include "http/request.h"

#define AUTH_CACHE_SLOTS	8

struct auth_cache_entry {
	/*
	 * What identified the caller, exactly as sent: the certificate's
	 * PEM, or "serial\nissuer" (never confused: a PEM starts "-----").
	 */
	char			*key;
	size_t			 len;
	struct auth_actor	 actor;
	uint64_t		 epoch;
	time_t			 at;
};

struct auth_cache {
	struct auth_cache_entry	 slot[AUTH_CACHE_SLOTS];
	size_t			 next;	/* round-robin replacement */
};

struct auth_cache *
auth_cache_new(void)
{
	return calloc(1, sizeof(struct auth_cache));
}

void
auth_cache_free(struct auth_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < AUTH_CACHE_SLOTS; i++)
		free(c->slot[i].key);
	free(c);
}

static const struct auth_actor *
cache_find(struct auth_cache *c, const char *key, size_t len, uint64_t epoch,
    time_t now)
{
	size_t i;

	for (i = 0; c != NULL && i < AUTH_CACHE_SLOTS; i++) {
		struct auth_cache_entry *e = &c->slot[i];

		if (e->key != NULL && e->len == len && e->epoch == epoch &&
		    now - e->at < AUTH_CACHE_SECONDS && now >= e->at &&
		    memcmp(e->key, key, len) == 0)
			return &e->actor;
	}
	return NULL;
}

static void
cache_add(struct auth_cache *c, const char *key, size_t len,
    const struct auth_actor *actor, uint64_t epoch, time_t now)
{
	struct auth_cache_entry *e;
	char *copy;

	if (c == NULL || (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, key, len);
	e = &c->slot[c->next];
	c->next = (c->next + 1) % AUTH_CACHE_SLOTS;
	free(e->key);
	e->key = copy;
	e->len = len;
	e->actor = *actor;
	e->epoch = epoch;
	e->at = now;
}

static enum sc_err
forbidden(struct sc_error *err)
{
	return sc_error_set(err, SC_FORBIDDEN, "operator certificate required");
}

static enum sc_err
certificate_operator(struct handler_ctx *ctx, const struct http_request *req,
    struct auth_actor *actor, struct sc_error *err)
{
	struct sc_error perr = { SC_OK, "" };
	const struct auth_actor *cached;
	struct pki_peer peer;
	bool known = false, revoked = true;
	time_t now = time(NULL);
	uint64_t epoch;
	enum sc_err rc;

	/* Read before deciding: a change during the check voids the entry. */
	epoch = db_cert_epoch(ctx->db);
	if ((cached = cache_find(ctx->auth_cache, req->client_cert,
	    req->client_cert_len, epoch, now)) != NULL) {
		*actor = *cached;
		return SC_OK;
	}

	/* Operators are issued by the front-end CA, never the worker CA. */
	if ((rc = handler_require_ca(ctx, PKI_CA_FRONT, err)) != SC_OK)
		return rc;
	/* A certificate that does not parse is no operator's. */
	if (pki_peer_parse(ctx->front_ca, req->client_cert,
	    req->client_cert_len, &peer, &perr) != SC_OK)
		return forbidden(err);
	/* Named even when refused, so the audit trail says who tried. */
	snprintf(actor->name, sizeof(actor->name), "%s", peer.cn);
	memcpy(actor->fingerprint, peer.fingerprint, sizeof(actor->fingerprint));
	/* Defence in depth: nginx said SUCCESS, check the CA ourselves. */
	if (!peer.issued_by_ca || strcmp(peer.ou, AUTH_OPERATOR_OU) != 0)
		return forbidden(err);
	if ((rc = db_cert_status(ctx->db, peer.fingerprint, &known, &revoked,
	    err)) != SC_OK)
		return rc;
	if (!known || revoked)
		return forbidden(err);
	cache_add(ctx->auth_cache, req->client_cert, req->client_cert_len,
	    actor, epoch, now);
	return SC_OK;
}

/* The CN of an RFC 4514 subject that starts with it ("CN=alice,OU=..."). */
static void
subject_cn(const char *subject, char *out, size_t size)
{
	size_t n = 0;

	if (strncmp(subject, "CN=", 3) == 0)
		for (subject += 3; subject[n] != '\0' && subject[n] != ',';
		    n++)
			;
	snprintf(out, size, "%.*s", (int)n, subject);
}

/*
 * The front end verified the certificate against the front-end CA and
 * its CRL, and passes only its serial and issuer: the certificates
 * table says whose it is.  Our serials are random and never reused, so
 * (issuer, serial) names one certificate we issued.
 */
static enum sc_err
serial_operator(struct handler_ctx *ctx, const struct http_request *req,
    struct auth_actor *actor, struct sc_error *err)
{
	const struct auth_actor *cached;
	struct db_cert_ref ref;
	char key[HTTP_SERIAL_MAX + HTTP_DN_MAX + 2];
	time_t now = time(NULL);
	uint64_t epoch;
	enum sc_err rc;
	int keylen;

	epoch = db_cert_epoch(ctx->db);
	keylen = snprintf(key, sizeof(key), "%s\n%s", req->client_serial,
	    req->client_issuer);
	if (keylen < 0 || (size_t)keylen >= sizeof(key))
		return forbidden(err);
	if ((cached = cache_find(ctx->auth_cache, key, (size_t)keylen, epoch,
	    now)) != NULL) {
		*actor = *cached;
		return SC_OK;
	}
	if ((rc = handler_require_ca(ctx, PKI_CA_FRONT, err)) != SC_OK)
		return rc;
	/* Operators are issued by the front-end CA, never the worker CA. */
	if (strcmp(req->client_issuer, pki_ca_subject(ctx->front_ca)) != 0)
		return forbidden(err);
	if ((rc = db_cert_by_serial(ctx->db, pki_ca_role_name(PKI_CA_FRONT),
	    req->client_serial, &ref, err)) != SC_OK)
		return rc;
	if (!ref.found)
		return forbidden(err);
	/* Named even when refused, so the audit trail says who tried. */
	subject_cn(ref.subject, actor->name, sizeof(actor->name));
	memcpy(actor->fingerprint, ref.fingerprint, sizeof(actor->fingerprint));
	if (strcmp(ref.kind, "operator") != 0 || ref.revoked)
		return forbidden(err);
	cache_add(ctx->auth_cache, key, (size_t)keylen, actor, epoch, now);
	return SC_OK;
}

enum sc_err
auth_operator(struct handler_ctx *ctx, const struct http_request *req,
    struct auth_actor *actor, struct sc_error *err)
{
	memset(actor, 0, sizeof(*actor));
	if (http_request_has_client_cert(req))
		return req->client_cert != NULL ?
		    certificate_operator(ctx, req, actor, err) :
		    serial_operator(ctx, req, actor, err);
	/*
	 * A single-host master may let local tools in without a certificate,
	 * but only when asked to, and only a tool the kernel says runs as
	 * root or as swarmctl's own user (SO_PEERCRED, or the owner of the
	 * other end of a loopback TCP connection): they can read the CA key
	 * anyway.  Parameters are only the peer's word, so they can withhold
	 * the exception, never grant it: a request that the front end says
	 * came through TLS (which anyone may reach) or from a remote client
	 * does not qualify even from such a peer.
	 */
	if (ctx->cfg->allow_loopback_operator &&
	    http_peer_privileged(&req->peer) && !req->tls &&
	    (req->remote_addr[0] == '\0' ||
	    http_addr_is_loopback(req->remote_addr))) {
		actor->loopback = true;
		strcpy(actor->name, "loopback");
		return SC_OK;
	}
	return forbidden(err);
}
