#include "config.h"

#include <sys/statvfs.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db/db.h"
#include "http/response.h"
#include "log.h"
#include "ready.h"
#include "thread.h"

/* How often the monitor looks (a frozen database: once per deadline). */
#define PROBE_SECONDS		1
/*
 * Less free space than this and an enrollment's bundle (three small
 * files, a page each on most file systems) may not fit.
 */
#define CA_DIR_MIN_FREE		(64 * 1024)

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	pthread_t		 thread;
	bool			 started, stop;
	const struct config	*cfg;
	ready_checks_fn		 checks;
	/* The start-up checks: passed, or why not (gate). */
	bool			 checked;
	struct sc_error		 check_err;
	/* The last look at PostgreSQL and the CA (status). */
	struct sc_error		 probe_err;
} ready = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.checked = true,
};

/* A 503 detail for a reason; failed checks of other kinds say little. */
static const char *
detail_for(enum sc_err code)
{
	const char *detail = http_error_detail(code);

	return detail != NULL ? detail :
	    "start-up checks failed (see the service's log)";
}

/* A directory bundles or CRLs are written to: writable, with room. */
static enum sc_err
look_at_dir(const char *dir, struct sc_error *err)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) == -1)
		return errno == ENOENT ? SC_OK : sc_error_set(err,
		    SC_CA_UNAVAILABLE, "CA directory %s: %s", dir,
		    strerror(errno));
	if ((vfs.f_flag & ST_RDONLY) != 0)
		return sc_error_set(err, SC_CA_DIR_READONLY,
		    "CA directory %s: read-only file system", dir);
	if (access(dir, W_OK) == -1)
		return sc_error_set(err, SC_CA_DIR_READONLY,
		    "CA directory %s: not writable: %s", dir, strerror(errno));
	if ((unsigned long long)vfs.f_bavail * vfs.f_frsize < CA_DIR_MIN_FREE ||
	    (vfs.f_files > 0 && vfs.f_favail == 0))
		return sc_error_set(err, SC_CA_DIR_FULL, "CA directory %s: "
		    "file system full (%llu bytes, %llu inodes free)", dir,
		    (unsigned long long)vfs.f_bavail * vfs.f_frsize,
		    (unsigned long long)vfs.f_favail);
	return SC_OK;
}

/* The worker CA's files are readable, and its directories writable. */
static enum sc_err
look_at_ca(const char *ca_dir, struct sc_error *err)
{
	static const char *const files[] = { "ca.crt", "ca.key" };
	char path[4096];
	size_t i;
	enum sc_err rc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", ca_dir, files[i]);
		/* Or the key is on a token: its URL file (init --ca-key). */
		if (i == 1 && access(path, F_OK) == -1 && errno == ENOENT)
			snprintf(path, sizeof(path), "%s/%s.pkcs11", ca_dir,
			    files[i]);
		if (access(path, R_OK) == -1)
			return sc_error_set(err, SC_CA_UNAVAILABLE, "%s: %s",
			    path, strerror(errno));
	}
	if ((rc = look_at_dir(ca_dir, err)) != SC_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/workers", ca_dir);
	return look_at_dir(path, err);
}

/* Log a change of state once, not every second. */
static void
note_change(const struct sc_error *was, const struct sc_error *now)
{
	if (was->code == now->code && strcmp(was->msg, now->msg) == 0)
		return;
	if (now->code == SC_OK)
		log_info("ready: the database answers and the CA is in place");
	else
		log_warn("not ready: %s", now->msg);
}

static void
probe(struct db *db)
{
	struct sc_error check, seen;
	bool checked;

	sc_error_clear(&check);
	sc_error_clear(&seen);
	pthread_mutex_lock(&ready.lock);
	checked = ready.checked;
	pthread_mutex_unlock(&ready.lock);
	if (db_ping(db, &seen) == SC_OK && !checked &&
	    ready.checks(ready.cfg, db, &check) != SC_OK)
		sc_error_set(&seen, check.code, "%s", check.msg);
	else if (seen.code == SC_OK && !checked)
		checked = true;
	if (seen.code == SC_OK)
		look_at_ca(ready.cfg->ca_dir, &seen);
	pthread_mutex_lock(&ready.lock);
	note_change(&ready.probe_err, &seen);
	ready.probe_err = seen;
	if (!ready.checked) {
		ready.checked = checked;
		ready.check_err = checked ? check : seen;
	}
	pthread_mutex_unlock(&ready.lock);
}

static void *
monitor_main(void *arg)
{
	struct sc_error err = { SC_OK, "" };
	struct timespec until;
	struct db *db = NULL;

	(void)arg;
	if (db_open(ready.cfg->conninfo, &db, &err) != SC_OK) {
		log_error("readiness monitor: %s", err.msg);
		return NULL;
	}
	pthread_mutex_lock(&ready.lock);
	while (!ready.stop) {
		pthread_mutex_unlock(&ready.lock);
		probe(db);
		pthread_mutex_lock(&ready.lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PROBE_SECONDS;
		while (!ready.stop && pthread_cond_timedwait(&ready.wake,
		    &ready.lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&ready.lock);
	db_close(db);
	return NULL;
}

enum sc_err
ready_start(const struct config *cfg, ready_checks_fn checks, bool checked,
    struct sc_error *err)
{
	pthread_mutex_lock(&ready.lock);
	ready.cfg = cfg;
	ready.checks = checks;
	ready.checked = checked;
	ready.stop = false;
	sc_error_clear(&ready.check_err);
	sc_error_clear(&ready.probe_err);
	if (!checked)
		sc_error_set(&ready.check_err, SC_DB_UNAVAILABLE,
		    "start-up checks pending: the database has not answered");
	ready.probe_err = ready.check_err;
	pthread_mutex_unlock(&ready.lock);
	if (thread_start(&ready.thread, monitor_main, NULL) != 0)
		return sc_error_set(err, SC_INTERNAL,
		    "starting the readiness monitor failed");
	ready.started = true;
	return SC_OK;
}

void
ready_stop(void)
{
	if (!ready.started)
		return;
	pthread_mutex_lock(&ready.lock);
	ready.stop = true;
	pthread_cond_signal(&ready.wake);
	pthread_mutex_unlock(&ready.lock);
	pthread_join(ready.thread, NULL);
	ready.started = false;
}

/* *detail and err from a state (under the lock). */
static enum sc_err
report(const struct sc_error *state, const char **detail,
    struct sc_error *err)
{
	if (state->code == SC_OK)
		return SC_OK;
	*detail = detail_for(state->code);
	return sc_error_set(err, state->code, "%s", state->msg);
}

enum sc_err
ready_gate(const char **detail, struct sc_error *err)
{
	enum sc_err rc = SC_OK;

	pthread_mutex_lock(&ready.lock);
	if (!ready.checked)
		rc = report(&ready.check_err, detail, err);
	pthread_mutex_unlock(&ready.lock);
	return rc;
}

enum sc_err
ready_status(const char **detail, struct sc_error *err)
{
	enum sc_err rc;

	pthread_mutex_lock(&ready.lock);
	if (!ready.checked)
		rc = report(&ready.check_err, detail, err);
	else
		rc = report(&ready.probe_err, detail, err);
	pthread_mutex_unlock(&ready.lock);
	/*
	 * A wait that ran out since the monitor last looked (it may be
	 * waiting on the same silence right now).
	 */
	if (rc == SC_OK && db_unresponsive()) {
		*detail = detail_for(SC_DB_UNAVAILABLE);
		rc = sc_error_set(err, SC_DB_UNAVAILABLE, "PostgreSQL did not "
		    "answer in time and has not answered since");
	}
	return rc;
}
