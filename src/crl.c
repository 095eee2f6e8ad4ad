#include "config.h"

/*
 * The CRL publisher.  A CRL is the revoked list and CRL number from the
 * database (db_crl_begin, under a lock), signed and written by
 * pki_crl_write, the lock released (db_crl_done) only once the file is in
 * place.  The publisher keeps each CA's list between publications
 * (crl_list.h), so that a publication reads and encodes what changed
 * since the last, not the whole history.
 *
 * What keeps a file in step with the database, whatever failed before:
 * the publisher remembers, for each CA, which file it last wrote or
 * checked (device, inode, mtime, size) and how many revocations the
 * database counted when that file's list was read.  A check is then
 * cheap -- a stat and a count(*) -- and runs every CHECK_INTERVAL_MS, on
 * every notification of a change to the certificates table (sql/003,
 * LISTENed on by the publisher's own connection), and when a revocation
 * in this process asks (crl_publish_soon).  A count that moved, or a file
 * that is not the one remembered, means the list may be missing
 * something: a file someone else wrote (another swarmctl on the same
 * CA_DIR, a restart) is read and kept if it lists everything, and
 * replaced otherwise.  Nothing is remembered across a restart, so
 * start-up compares the files with the database the same way.
 *
 * Publications are at least PUBLISH_GAP_MS apart, and after a long one
 * at least its own length: revocations arriving meanwhile wait for the
 * next one and share it.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crl.h"
#include "crl_list.h"
#include "db/db.h"
#include "err.h"
#include "log.h"
#include "memlimit.h"
#include "pki/pki.h"
#include "thread.h"

/* How often the files are compared with the database regardless. */
#define CHECK_INTERVAL_MS	2000
/*
 * Between the end of one publication and the start of the next: what
 * revocations in a burst share.  At least PUBLISH_GAP_MS, and at least as
 * long as the last publication took, so that however fast revocations
 * arrive the publisher (with the signer and PostgreSQL working for it)
 * is busy at most half the time: a CRL of a large history takes most of
 * a second to build, and rebuilding it back to back would take a core
 * from the requests.
 */
#define PUBLISH_GAP_MS		500
/* The same failure is logged again after this long. */
#define FAILURE_LOG_SECS	60

/* What this process knows of one CA's CRL file. */
struct crl_file {
	bool		 known;		/* the fields below describe it */
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	off_t		 size;
	/* The database's revocation count when its list was read. */
	uint64_t	 revocations;
	time_t		 next_update;
	uint64_t	 number;	/* 0: not written by us */
	size_t		 entries;
	/* The last publication: rows read (all, or those since), phases (ms). */
	size_t		 rows;
	bool		 whole;
	long long	 read_ms, sign_ms, client_ms;
	/* The last failure logged, and when (SC_OK: the last check was fine). */
	struct sc_error	 failure;
	time_t		 failure_logged;
};

struct publisher {
	pthread_t	 thread;
	atomic_bool	 stop;
	int		 wake[2];	/* crl_publish_soon writes, thread reads */
	const char	*ca_dir;
	long		 period;	/* nextUpdate - thisUpdate, seconds */
	struct db	*db;
	struct pki_ca	*ca[PKI_NCA_ROLES];
	struct crl_file	 file[PKI_NCA_ROLES];
	struct crl_list	 list[PKI_NCA_ROLES];
};

static struct publisher *running;
static atomic_int wake_fd = -1;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
effective_period(long next_update_secs)
{
	return next_update_secs > 0 ? next_update_secs :
	    CRL_DEFAULT_NEXT_UPDATE;
}

/* A CRL whose nextUpdate is under half its period away is replaced. */
static bool
due(time_t next_update, long period)
{
	return next_update - time(NULL) < period / 2;
}

static int
crl_stat(const char *ca_dir, enum pki_ca_role role, struct stat *st)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ca_dir,
	    pki_ca_crl_file(role)) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return stat(path, st);
}

static bool
same_file(const struct crl_file *f, const struct stat *st)
{
	return f->known && f->dev == st->st_dev && f->ino == st->st_ino &&
	    f->size == st->st_size &&
	    f->mtime.tv_sec == st->st_mtim.tv_sec &&
	    f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void
remember(struct crl_file *f, const struct stat *st, uint64_t revocations,
    time_t next_update)
{
	f->known = true;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->mtime = st->st_mtim;
	f->size = st->st_size;
	f->revocations = revocations;
	f->next_update = next_update;
}

/*
 * A CRL of a large fleet's history is built in megabytes of short-lived
 * buffers, which malloc keeps for the next publication unless the
 * process runs under a memory limit (memlimit.h says why); after a
 * whole read (`whole`: every listed row at once, many times what a
 * publication from the kept list needs) they go back to the kernel
 * regardless.  Only once the list is long enough to matter.
 */
static void
release_memory(size_t entries, bool whole)
{
	if (entries >= 1024)
		memlimit_release(whole);
}

/*
 * nginx's one ssl_crl holds both CAs' CRLs (pki.h): rewritten after
 * either is, and by the publisher whenever it is older than either (a
 * concurrent publication of the other CA's may have raced with this
 * one).  A failure leaves the previous file, which nginx keeps using;
 * the responder checks revocation in the database regardless.
 */
static void
client_crls(const char *ca_dir)
{
	struct sc_error err = { SC_OK, "" };

	if (pki_client_crls_write(ca_dir, &err) != SC_OK)
		log_warn("writing %s: %s", PKI_CLIENT_CRLS_FILE, err.msg);
}

/*
 * Bring the list up to date with the database, inside db_crl_begin's
 * transaction: the rows revoked since shortly before its latest entry
 * when it has one and the count then agrees (crl_list.h says why that
 * is enough), all of them otherwise.  *revocations: the count of
 * revocations the list covers; *rows, *whole: what was read.
 */
static enum sc_err
read_list(struct db *db, const char *ca, long period, struct crl_list *list,
    uint64_t *revocations, size_t *rows, bool *whole, struct sc_error *err)
{
	struct pki_revoked *r = NULL;
	struct db_crl_counts c;
	time_t since;
	size_t n = 0;
	enum sc_err rc;

	*whole = false;
	if (crl_list_since(list, time(NULL), &since)) {
		if ((rc = db_crl_changes(db, ca, period, since, &r, &n, &c,
		    err)) != SC_OK ||
		    (rc = crl_list_update(list, since, r, n, c.cutoff,
		    err)) != SC_OK)
			goto out;
		if (list->n == c.listed)
			goto out;
		free(r);
		r = NULL;
	}
	*whole = true;
	if ((rc = db_crl_whole(db, ca, period, &r, &n, &c, err)) != SC_OK ||
	    (rc = crl_list_replace(list, r, n, time(NULL), err)) != SC_OK)
		goto out;
out:
	if (rc != SC_OK)
		crl_list_clear(list);
	*revocations = c.revocations;
	*rows = n;
	free(r);
	return rc;
}

/* Sign the list and write it, as the CA's CRL number `number`. */
static enum sc_err
write_list(const struct pki_ca *ca, const char *ca_dir,
    const struct crl_list *list, uint64_t number, long period,
    struct sc_error *err)
{
	struct pki_crl_entries l;
	unsigned char *buf = NULL;
	enum sc_err rc;

	if ((rc = crl_list_entries(list, &buf, &l, err)) == SC_OK)
		rc = pki_crl_write(ca, ca_dir, &l, number, period, err);
	free(buf);
	return rc;
}

/*
 * Publish now, from and into list; with f, remember the file written.
 * The file is looked at under the CRL lock, so it is ours and not a
 * later writer's.
 */
static enum sc_err
publish(struct db *db, const struct pki_ca *ca, const char *ca_dir,
    long period, struct crl_list *list, struct crl_file *f,
    struct sc_error *err)
{
	const enum pki_ca_role role = pki_ca_role(ca);
	uint64_t number = 0, revocations = 0;
	long long t0, t1, t2, t3;
	struct stat st;
	size_t rows = 0;
	time_t next;
	bool whole = false;
	enum sc_err rc;

	t0 = now_ms();
	if ((rc = db_crl_begin(db, &number, err)) != SC_OK)
		goto out;
	if ((rc = read_list(db, pki_ca_role_name(role), period, list,
	    &revocations, &rows, &whole, err)) != SC_OK) {
		db_crl_done(db);
		goto out;
	}
	t1 = now_ms();
	next = time(NULL) + period;
	rc = write_list(ca, ca_dir, list, number, period, err);
	t2 = now_ms();
	if (rc == SC_OK)
		client_crls(ca_dir);
	t3 = now_ms();
	if (rc == SC_OK && f != NULL) {
		f->known = false;
		if (crl_stat(ca_dir, role, &st) == 0)
			remember(f, &st, revocations, next);
		f->number = number;
		f->entries = list->n;
		f->rows = rows;
		f->whole = whole;
		f->read_ms = t1 - t0;
		f->sign_ms = t2 - t1;
		f->client_ms = t3 - t2;
	}
	db_crl_done(db);
out:
	if (rc != SC_OK)
		sc_error_prefix(err, "publish the %s CA's CRL",
		    pki_ca_role_name(role));
	release_memory(list->n, whole || rc != SC_OK);
	return rc;
}

enum sc_err
crl_publish(struct db *db, const struct pki_ca *ca, const char *ca_dir,
    long next_update_secs, struct sc_error *err)
{
	struct crl_list list;
	enum sc_err rc;

	memset(&list, 0, sizeof(list));
	rc = publish(db, ca, ca_dir, effective_period(next_update_secs),
	    &list, NULL, err);
	crl_list_free(&list);
	return rc;
}

/*
 * A file this process does not know: remember it if it lists everything
 * the database has revoked (f->known says).  An error only if the
 * database could not say; a missing, unreadable or foreign file just
 * stays unknown.
 */
static enum sc_err
examine(struct publisher *p, enum pki_ca_role role, struct sc_error *err)
{
	struct crl_file *f = &p->file[role];
	struct pki_revoked *revoked = NULL;
	struct sc_error why = { SC_OK, "" };
	struct stat before, after;
	struct db_crl_counts c;
	bool covers = false;
	time_t next = 0;
	size_t n = 0;
	enum sc_err rc;

	f->known = false;
	f->number = 0;
	if ((rc = db_crl_whole(p->db, pki_ca_role_name(role), p->period,
	    &revoked, &n, &c, err)) != SC_OK)
		goto out;
	if (crl_stat(p->ca_dir, role, &before) == -1)
		goto out;
	if ((rc = pki_crl_check(p->ca[role], p->ca_dir, revoked, n, &covers,
	    &next, &why)) != SC_OK) {
		if (rc != SC_NOT_FOUND)
			log_warn("replacing the %s CA's CRL: %s",
			    pki_ca_role_name(role), why.msg);
		rc = SC_OK;
		goto out;
	}
	/* Replaced while it was being read: look again next time. */
	if (covers && crl_stat(p->ca_dir, role, &after) == 0) {
		remember(f, &before, c.revocations, next);
		if (!same_file(f, &after))
			f->known = false;
	}
out:
	free(revoked);
	release_memory(n, true);
	return rc;
}

/*
 * One CA: nothing to do if the file is the one remembered, no revocation
 * was counted since and it is not due; otherwise publish, unless the file
 * turns out to list everything already.  *published says whether it did.
 */
static enum sc_err
converge(struct publisher *p, enum pki_ca_role role, bool *published,
    struct sc_error *err)
{
	struct crl_file *f = &p->file[role];
	uint64_t revocations = 0;
	struct stat st;
	enum sc_err rc;

	*published = false;
	if (crl_stat(p->ca_dir, role, &st) == 0 && same_file(f, &st)) {
		if ((rc = db_crl_revocations(p->db, pki_ca_role_name(role),
		    &revocations, err)) != SC_OK)
			goto out;
		if (revocations == f->revocations &&
		    !due(f->next_update, p->period))
			return SC_OK;
	} else {
		if ((rc = examine(p, role, err)) != SC_OK)
			goto out;
		if (f->known && !due(f->next_update, p->period))
			return SC_OK;
	}
	*published = true;
	return publish(p->db, p->ca[role], p->ca_dir, p->period,
	    &p->list[role], f, err);
out:
	sc_error_prefix(err, "check the %s CA's CRL", pki_ca_role_name(role));
	return rc;
}

/* Log a failure once, again only if it changes or a minute passed. */
static void
report(struct crl_file *f, enum pki_ca_role role, enum sc_err rc,
    bool published, const struct sc_error *err)
{
	time_t now = time(NULL);

	if (rc != SC_OK) {
		if (strcmp(f->failure.msg, err->msg) != 0 ||
		    now - f->failure_logged >= FAILURE_LOG_SECS) {
			log_error("CRL: %s (retrying every %d s)", err->msg,
			    CHECK_INTERVAL_MS / 1000);
			f->failure = *err;
			f->failure_logged = now;
		}
		return;
	}
	if (published)
		log_info("published the %s CA's CRL (%s): number %llu, "
		    "%zu entries in %lld ms (database %lld, %zu %s rows "
		    "read; signed and written %lld, %s %lld)%s",
		    pki_ca_role_name(role), pki_ca_crl_file(role),
		    (unsigned long long)f->number, f->entries,
		    f->read_ms + f->sign_ms + f->client_ms, f->read_ms,
		    f->rows, f->whole ? "listed" : "recent", f->sign_ms,
		    PKI_CLIENT_CRLS_FILE, f->client_ms,
		    f->failure.code != SC_OK ?
		    ", after the failures logged before" : "");
	sc_error_clear(&f->failure);
	f->failure_logged = 0;
}

/* Both CAs; true if anything was published. */
static bool
converge_all(struct publisher *p)
{
	struct sc_error err;
	bool any = false, published;
	int role;

	for (role = 0; role < PKI_NCA_ROLES; role++) {
		enum sc_err rc;

		sc_error_clear(&err);
		rc = converge(p, (enum pki_ca_role)role, &published, &err);
		report(&p->file[role], (enum pki_ca_role)role, rc, published,
		    &err);
		any = any || published;
	}
	if (pki_client_crls_stale(p->ca_dir))
		client_crls(p->ca_dir);
	return any;
}

/* Empty the wake-up pipe; true if anyone wrote to it. */
static bool
drain(int fd)
{
	char buf[64];
	bool woken = false;

	while (read(fd, buf, sizeof(buf)) > 0)
		woken = true;
	return woken;
}

/*
 * A check when asked (pending: a wake-up or a notification) once the gap
 * since the last publication allows, and every CHECK_INTERVAL_MS anyway.
 */
static void *
publisher_main(void *arg)
{
	struct publisher *p = arg;
	long long next_publish, next_check;
	uint64_t seen;
	bool pending = false;

	seen = db_cert_epoch(p->db);
	next_publish = now_ms();
	next_check = now_ms() + CHECK_INTERVAL_MS;
	while (!atomic_load(&p->stop)) {
		long long now = now_ms(), wait, took;
		uint64_t epoch;

		wait = (pending ? next_publish : next_check) - now;
		db_cert_wait(p->db, p->wake[0], (int)(wait < 0 ? 0 :
		    wait > CHECK_INTERVAL_MS ? CHECK_INTERVAL_MS : wait));
		if (drain(p->wake[0]))
			pending = true;
		if ((epoch = db_cert_epoch(p->db)) != seen) {
			seen = epoch;
			pending = true;
		}
		now = now_ms();
		if (atomic_load(&p->stop) || (pending ?
		    now < next_publish : now < next_check))
			continue;
		pending = false;
		next_check = now + CHECK_INTERVAL_MS;
		if (converge_all(p)) {
			took = now_ms() - now;
			next_publish = now + took +
			    (took > PUBLISH_GAP_MS ? took : PUBLISH_GAP_MS);
		}
	}
	return NULL;
}

static void
publisher_free(struct publisher *p)
{
	int role, i;

	if (p == NULL)
		return;
	for (role = 0; role < PKI_NCA_ROLES; role++) {
		pki_ca_free(p->ca[role]);
		crl_list_free(&p->list[role]);
	}
	for (i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	db_close(p->db);
	free(p);
}

/*
 * The first round, before serving: a failure is fatal only for a file
 * that is missing or expired, which nginx would refuse to start with.
 */
static enum sc_err
first_round(struct publisher *p, struct sc_error *err)
{
	struct sc_error why, ignored;
	time_t next = 0;
	bool published;
	int role;

	for (role = 0; role < PKI_NCA_ROLES; role++) {
		enum sc_err rc;

		sc_error_clear(&why);
		rc = converge(p, (enum pki_ca_role)role, &published, &why);
		if (rc == SC_OK) {
			report(&p->file[role], (enum pki_ca_role)role, rc,
			    published, &why);
			continue;
		}
		sc_error_clear(&ignored);
		/*
		 * Without the database (serve starts during an outage) the
		 * thread publishes once it answers; otherwise a CRL file that
		 * is still valid is kept meanwhile, and none at all is fatal:
		 * nginx cannot start without one.
		 */
		if (rc != SC_DB_UNAVAILABLE && (pki_crl_next_update(p->ca_dir,
		    (enum pki_ca_role)role, &next, &ignored) != SC_OK ||
		    next <= time(NULL)))
			return sc_error_set(err, rc, "%s", why.msg);
		report(&p->file[role], (enum pki_ca_role)role, rc, false, &why);
	}
	if (pki_client_crls_stale(p->ca_dir))
		client_crls(p->ca_dir);
	return SC_OK;
}

static enum sc_err
publisher_open(const char *conninfo, const char *ca_dir,
    long next_update_secs, struct publisher **out, struct sc_error *err)
{
	struct publisher *p;
	enum sc_err rc;
	int role;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	p->wake[0] = p->wake[1] = -1;
	p->ca_dir = ca_dir;
	p->period = effective_period(next_update_secs);
	atomic_init(&p->stop, false);
	for (role = 0; role < PKI_NCA_ROLES; role++)
		if ((rc = pki_ca_load(ca_dir, (enum pki_ca_role)role,
		    &p->ca[role], err)) != SC_OK)
			goto out;
	if ((rc = db_open(conninfo, &p->db, err)) != SC_OK)
		goto out;
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		rc = sc_error_set(err, SC_INTERNAL, "pipe: %s",
		    strerror(errno));
		goto out;
	}
	*out = p;
	p = NULL;
out:
	publisher_free(p);
	return rc;
}

enum sc_err
crl_publisher_start(const char *conninfo, const char *ca_dir,
    long next_update_secs, struct sc_error *err)
{
	struct publisher *p = NULL;
	enum sc_err rc;

	if (running != NULL)
		return sc_error_set(err, SC_INTERNAL, "the CRL publisher is "
		    "already running");
	if ((rc = publisher_open(conninfo, ca_dir, next_update_secs, &p,
	    err)) != SC_OK || p == NULL)
		goto out;
	if ((rc = first_round(p, err)) != SC_OK)
		goto out;
	if ((errno = thread_start(&p->thread, publisher_main, p)) != 0) {
		rc = sc_error_set(err, SC_INTERNAL, "starting the CRL "
		    "publisher: %s", strerror(errno));
		goto out;
	}
	running = p;
	atomic_store(&wake_fd, p->wake[1]);
	p = NULL;
out:
	if (rc != SC_OK)
		sc_error_prefix(err, "publishing the CRLs");
	publisher_free(p);
	return rc;
}

void
crl_publisher_stop(void)
{
	struct publisher *p = running;

	if (p == NULL)
		return;
	atomic_store(&wake_fd, -1);
	atomic_store(&p->stop, true);
	if (write(p->wake[1], "", 1) == -1) {
		/* Full: the thread has a wake-up waiting already. */
	}
	pthread_join(p->thread, NULL);
	running = NULL;
	publisher_free(p);
}

void
crl_publish_soon(void)
{
	int fd = atomic_load(&wake_fd);

	if (fd >= 0 && write(fd, "", 1) == -1) {
		/* Full: a wake-up is pending anyway. */
	}
}
