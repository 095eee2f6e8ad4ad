/*
 * Settling bundles whose row may be missing (see orphans.h).  Claims that
 * cannot be settled at once wait in one process-wide list for a thread
 * that retries them every second with a database connection of its own,
 * opened only while there is work.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "db/db.h"
#include "log.h"
#include "orphans.h"
#include "pki/bundle.h"
#include "thread.h"

/* Between rounds while claims wait (a new claim wakes the thread). */
#define RETRY_SECONDS	1

struct pending {
	struct pending		*next;
	struct db_bundle_claim	 claim;
	bool			 warned;	/* its failure was logged once */
};

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct pending		*head;		/* under lock */
	bool			 stop;		/* under lock */
	const struct config	*cfg;
	pthread_t		 thread;
	bool			 started;
} settler = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* orphans_settle; `verbose` logs the outcome (claims that waited). */
static enum sc_err
settle(struct db *db, const char *ca_dir, const struct db_bundle_claim *c,
    bool verbose, bool *settled, struct sc_error *err)
{
	enum db_bundle_fate fate;
	enum sc_err rc;
	bool removed = false;

	*settled = false;
	if ((rc = db_bundle_settle_begin(db, c, &fate, err)) != SC_OK)
		return rc;
	if (fate == DB_BUNDLE_DROP)
		rc = bundle_remove_if(ca_dir, c->name, c->fingerprint,
		    &removed, err);
	/* The name's lock is held until the files are done with. */
	db_rollback(db);
	if (rc != SC_OK || fate == DB_BUNDLE_UNDECIDED)
		return rc;
	*settled = true;
	if (verbose && fate == DB_BUNDLE_KEEP)
		log_info("bundle %s kept: its host (certificate %s) exists",
		    c->name, c->fingerprint);
	else if (verbose)
		log_info("bundle %s settled: no host has certificate %s%s",
		    c->name, c->fingerprint, removed ? "; removed" : "");
	return SC_OK;
}

enum sc_err
orphans_settle(struct db *db, const char *ca_dir,
    const struct db_bundle_claim *c, bool *settled, struct sc_error *err)
{
	return settle(db, ca_dir, c, false, settled, err);
}

void
orphans_defer(const struct db_bundle_claim *c)
{
	struct pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_error("bundle %s: out of memory; left for the start-up "
		    "sweep", c->name);
		return;
	}
	p->claim = *c;
	pthread_mutex_lock(&settler.lock);
	p->next = settler.head;
	settler.head = p;
	pthread_cond_signal(&settler.wake);
	pthread_mutex_unlock(&settler.lock);
}

void
orphans_settle_or_defer(struct db *db, const char *ca_dir,
    const struct db_bundle_claim *c, const char *what)
{
	struct sc_error e = { SC_OK, "" };
	bool settled;

	if (orphans_settle(db, ca_dir, c, &settled, &e) != SC_OK)
		log_warn("%s: bundle %s settled later: %s", what, c->name,
		    e.msg);
	else if (!settled)
		log_warn("%s: bundle %s settled later: session %d may still "
		    "commit", what, c->name, c->old_pid);
	if (!settled)
		orphans_defer(c);
}

/*
 * One round over `work`: what is settled is freed, the rest returned.
 * Once the database does not answer, the rest waits for the next round.
 */
static struct pending *
settle_round(struct db **db, struct pending *work)
{
	struct sc_error e = { SC_OK, "" };
	struct pending *p, *left = NULL;
	enum sc_err rc = SC_OK;
	bool settled = false;

	if (*db == NULL && db_open(settler.cfg->conninfo, db, &e) != SC_OK) {
		log_error("settling bundles: %s", e.msg);
		rc = SC_DB_UNAVAILABLE;
	}
	while ((p = work) != NULL) {
		work = p->next;
		if (rc != SC_DB_UNAVAILABLE) {
			sc_error_clear(&e);
			rc = settle(*db, settler.cfg->ca_dir, &p->claim, true,
			    &settled, &e);
		}
		if (rc == SC_OK && settled) {
			free(p);
			continue;
		}
		if (rc != SC_OK && rc != SC_DB_UNAVAILABLE && !p->warned)
			log_error("settling bundle %s: %s", p->claim.name,
			    e.msg);
		p->warned = p->warned || rc != SC_DB_UNAVAILABLE;
		p->next = left;
		left = p;
	}
	return left;
}

/* Put `left` back in front of whatever was deferred meanwhile. */
static void
requeue(struct pending *left)
{
	struct pending *last;

	if (left == NULL)
		return;
	for (last = left; last->next != NULL; last = last->next)
		;
	last->next = settler.head;
	settler.head = left;
}

static void *
settler_main(void *arg)
{
	struct pending *work;
	struct timespec until;
	struct db *db = NULL;

	(void)arg;
	pthread_mutex_lock(&settler.lock);
	while (!settler.stop) {
		if (settler.head == NULL) {
			/* Idle: no connection held for nothing. */
			db_close(db);
			db = NULL;
			pthread_cond_wait(&settler.wake, &settler.lock);
			continue;
		}
		work = settler.head;
		settler.head = NULL;
		pthread_mutex_unlock(&settler.lock);
		work = settle_round(&db, work);
		pthread_mutex_lock(&settler.lock);
		requeue(work);
		if (work != NULL && !settler.stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += RETRY_SECONDS;
			pthread_cond_timedwait(&settler.wake, &settler.lock,
			    &until);
		}
	}
	pthread_mutex_unlock(&settler.lock);
	db_close(db);
	return NULL;
}

enum sc_err
orphans_start(const struct config *cfg, struct sc_error *err)
{
	settler.cfg = cfg;
	settler.stop = false;
	if (thread_start(&settler.thread, settler_main, NULL) != 0)
		return sc_error_set(err, SC_INTERNAL,
		    "starting the bundle settling thread failed");
	settler.started = true;
	return SC_OK;
}

void
orphans_stop(void)
{
	struct pending *p, *left;
	struct db *db = NULL;

	if (!settler.started)
		return;
	pthread_mutex_lock(&settler.lock);
	settler.stop = true;
	pthread_cond_signal(&settler.wake);
	pthread_mutex_unlock(&settler.lock);
	pthread_join(settler.thread, NULL);
	settler.started = false;
	/* The thread is gone: the list is ours.  One last try. */
	left = settler.head;
	settler.head = NULL;
	if (left != NULL)
		left = settle_round(&db, left);
	db_close(db);
	while ((p = left) != NULL) {
		left = p->next;
		log_warn("bundle %s not settled; the next start-up sweep will",
		    p->claim.name);
		free(p);
	}
}
