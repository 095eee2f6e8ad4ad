/*
 * The audit trail: every operator action, including refused and failed
 * ones, goes to the append-only audit_log table; GET /swarm/audit shows
 * the newest entries to operators.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "auth.h"
#include "db/db.h"
#include "decode.h"
#include "handlers/handlers.h"
#include "http/request.h"
#include "http/response.h"
#include "log.h"
#include "validate.h"

/* A 422 response from a validator's detail list (which it consumes). */
enum sc_err
handler_respond_invalid(struct http_response *resp, struct json_object *detail,
    struct sc_error *err)
{
	struct json_object *obj;
	enum sc_err rc = SC_OK;

	if ((obj = json_object_new_object()) == NULL ||
	    json_object_object_add(obj, "detail", detail) != 0 ||
	    http_response_json(resp, 422, obj) == -1)
		rc = sc_error_set(err, SC_INTERNAL, "rendering 422 failed");
	if (obj == NULL)
		json_object_put(detail);
	json_object_put(obj);
	return rc;
}

const char *
handler_outcome(enum sc_err rc)
{
	switch (rc) {
	case SC_OK:			return "success";
	case SC_CONFLICT:		return "conflict";
	case SC_NOT_FOUND:		return "not-found";
	case SC_FORBIDDEN:		return "refused";
	case SC_BAD_REQUEST:
	case SC_INVALID:
	case SC_TOO_LARGE:
	case SC_UNSUPPORTED_MEDIA:	return "invalid";
	default:			return "error";
	}
}

void
handler_audit_entry(struct handler_ctx *ctx, const struct http_request *req,
    const char *action, const char *target, const char *outcome,
    const char *detail, struct db_audit *out)
{
	const struct auth_actor *a = ctx->actor;

	memset(out, 0, sizeof(*out));
	out->actor = a != NULL && a->name[0] != '\0' ? a->name : "anonymous";
	out->actor_fingerprint = a != NULL && a->fingerprint[0] != '\0' ?
	    a->fingerprint : NULL;
	out->action = action;
	out->target = target;
	out->outcome = outcome;
	out->client_addr = req->remote_addr[0] != '\0' ? req->remote_addr :
	    NULL;
	out->detail = detail;
}

void
handler_audit(struct handler_ctx *ctx, const struct http_request *req,
    const char *action, const char *target, const char *outcome,
    const char *detail)
{
	struct sc_error err = { SC_OK, "" };
	struct db_audit entry;

	handler_audit_entry(ctx, req, action, target, outcome, detail, &entry);
	if (db_audit_append(ctx->db, &entry, &err) != SC_OK)
		log_error("audit %s %s by %s: %s", action, outcome, entry.actor,
		    err.msg);
}

/*
 * Anonymous refusals, counted per action for the whole process (not per
 * worker: the bound on rows must not grow with --workers).  Slots are
 * claimed in order by the route table's audit actions, which are few
 * and fixed.
 */
#define ANONYMOUS_ACTIONS	8

struct anonymous_tally {
	const char	*action;	/* NULL: slot free */
	unsigned long	 count;		/* refusals not yet in a row */
	time_t		 written_at;	/* CLOCK_MONOTONIC seconds ... */
	bool		 written;	/* ... of the action's last row */
	bool		 many_addrs;	/* the ones counted came from ... */
	char		 addr[HTTP_ADDR_MAX];	/* ... more than this one */
};

/* One summary row, taken out of a tally to be written without the lock. */
struct anonymous_row {
	const char	*action;
	unsigned long	 count;
	char		 addr[HTTP_ADDR_MAX];	/* "" if several */
};

static pthread_mutex_t anonymous_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anonymous_tally anonymous[ANONYMOUS_ACTIONS];

static time_t
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The tally for `action`, claiming a free slot; NULL if none is left. */
static struct anonymous_tally *
tally_for(const char *action)
{
	size_t i;

	for (i = 0; i < ANONYMOUS_ACTIONS; i++) {
		if (anonymous[i].action == NULL)
			anonymous[i].action = action;
		if (strcmp(anonymous[i].action, action) == 0)
			return &anonymous[i];
	}
	return NULL;
}

static void
tally_add(struct anonymous_tally *t, const char *addr)
{
	if (t->count++ == 0) {
		snprintf(t->addr, sizeof(t->addr), "%s", addr);
		t->many_addrs = false;
	} else if (strcmp(t->addr, addr) != 0)
		t->many_addrs = true;
}

/*
 * Move the count into *row if a row is due: there is something to
 * write, and none was written for this action within the interval
 * (or `all`).  Called with the lock held.
 */
static bool
tally_take(struct anonymous_tally *t, time_t now, bool all,
    struct anonymous_row *row)
{
	if (t->action == NULL || t->count == 0)
		return false;
	if (!all && t->written && now - t->written_at < AUDIT_ANONYMOUS_SECONDS)
		return false;
	row->action = t->action;
	row->count = t->count;
	snprintf(row->addr, sizeof(row->addr), "%s",
	    t->many_addrs ? "" : t->addr);
	t->count = 0;
	t->written = true;
	t->written_at = now;
	return true;
}

static void
write_anonymous(struct handler_ctx *ctx, const struct anonymous_row *row)
{
	struct sc_error err = { SC_OK, "" };
	struct db_audit entry;
	char detail[96];

	snprintf(detail, sizeof(detail), "%lu refused request%s %s",
	    row->count, row->count == 1 ? "" : "s",
	    strcmp(row->action, HANDLER_HEARTBEAT_PRESENTED) == 0 ?
	    "with a certificate that is not a host's current one" :
	    "without a client certificate");
	memset(&entry, 0, sizeof(entry));
	entry.actor = "anonymous";
	entry.action = row->action;
	entry.outcome = "refused";
	entry.client_addr = row->addr[0] != '\0' ? row->addr : NULL;
	entry.detail = detail;
	/* The count is not kept for a retry: the log line keeps it. */
	if (db_audit_append(ctx->db, &entry, &err) != SC_OK)
		log_error("audit %s refused (%s): %s", row->action, detail,
		    err.msg);
}

void
handler_audit_anonymous(struct handler_ctx *ctx,
    const struct http_request *req, const char *action)
{
	struct anonymous_tally *t;
	struct anonymous_row row;
	bool due = false;

	pthread_mutex_lock(&anonymous_lock);
	if ((t = tally_for(action)) != NULL) {
		tally_add(t, req->remote_addr);
		due = tally_take(t, monotonic_seconds(), false, &row);
	}
	pthread_mutex_unlock(&anonymous_lock);
	if (t == NULL)
		log_error("audit %s refused: no room to count it", action);
	if (due)
		write_anonymous(ctx, &row);
}

void
handler_audit_flush(struct handler_ctx *ctx, bool all)
{
	struct anonymous_row row;
	time_t now = monotonic_seconds();
	size_t i;

	for (i = 0; i < ANONYMOUS_ACTIONS; i++) {
		bool due;

		pthread_mutex_lock(&anonymous_lock);
		due = tally_take(&anonymous[i], now, all, &row);
		pthread_mutex_unlock(&anonymous_lock);
		if (due)
			write_anonymous(ctx, &row);
	}
}

struct json_object *
handler_string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct audit_state {
	struct http_response	*resp;
	size_t			 rows;
};

static int
audit_row(const struct db_audit_row *r, void *arg)
{
	struct audit_state *st = arg;
	struct json_object *obj;
	const char *text;
	size_t len;
	int rc = -1;

	if ((obj = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(obj, "id", json_object_new_int64(r->id));
	json_object_object_add(obj, "at", json_object_new_string(r->at));
	json_object_object_add(obj, "actor", handler_string_or_null(r->actor));
	json_object_object_add(obj, "actor_fingerprint",
	    handler_string_or_null(r->actor_fingerprint));
	json_object_object_add(obj, "action", handler_string_or_null(r->action));
	json_object_object_add(obj, "target", handler_string_or_null(r->target));
	json_object_object_add(obj, "outcome", handler_string_or_null(r->outcome));
	json_object_object_add(obj, "client_addr",
	    handler_string_or_null(r->client_addr));
	json_object_object_add(obj, "detail", handler_string_or_null(r->detail));
	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text != NULL && http_response_append(st->resp, ",",
	    st->rows > 0 ? 1 : 0) == 0 &&
	    http_response_append(st->resp, text, len) == 0) {
		st->rows++;
		rc = 0;
	}
	json_object_put(obj);
	return rc;
}

enum sc_err
handle_audit(struct handler_ctx *ctx, const struct http_request *req,
    const struct route_input_value *in, struct http_response *resp,
    struct sc_error *err)
{
	struct audit_state st = { resp, 0 };
	enum sc_err rc;

	(void)req;
	/* At most 1000 rows: buffered, so a database error is still a 503. */
	resp->status = 200;
	resp->content_type = HTTP_JSON;
	if (http_response_append(resp, "[", 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	if ((rc = db_audit_list(ctx->db, in->u.audit_limit, audit_row, &st, err)) !=
	    SC_OK)
		return rc;
	if (http_response_append(resp, "]", 1) == -1)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}
