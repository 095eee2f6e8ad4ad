#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "sc_limits.h"
#include "err.h"
#include "log.h"
#include "fileio.h"
#include "pki/bundle.h"
#include "pki/internal.h"
#include "pki/pki.h"

/*
 * Everything below works relative to a descriptor for CA_DIR/workers
 * opened with O_NOFOLLOW, and every entry inside it is opened with
 * O_NOFOLLOW too: a symlink planted in workers/ is removed or refused,
 * never followed out of the tree.
 */

#define WORKERS_DIR	"workers"
#define TMP_PREFIX	".tmp-"
#define TMP_RANDOM	8	/* bytes, printed as 16 hex digits */

/* ASCII by hand: isalnum() would follow the locale. */
static int
name_char_ok(char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	/* Not first: no ".", "..", ".hidden" or "-option". */
	return !first && (c == '.' || c == '_' || c == '-');
}

int
bundle_name_valid(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (i >= SC_NAME_MAX || !name_char_ok(name[i], i == 0))
			return 0;
	return i > 0;
}

static enum sc_err
workers_path(const char *ca_dir, char *buf, size_t size, struct sc_error *err)
{
	int n;

	n = snprintf(buf, size, "%s/%s", ca_dir, WORKERS_DIR);
	if (n < 0 || (size_t)n >= size)
		return sc_error_set(err, SC_INTERNAL, "path too long: %s/%s",
		    ca_dir, WORKERS_DIR);
	return SC_OK;
}

char *
bundle_path(const char *ca_dir, const char *name)
{
	char buf[PATH_MAX];
	int n;

	if (!bundle_name_valid(name))
		return NULL;
	n = snprintf(buf, sizeof(buf), "%s/%s/%s", ca_dir, WORKERS_DIR, name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

/* *fd = CA_DIR/workers, or -1 with SC_OK if it does not exist. */
static enum sc_err
open_workers(const char *wdir, int *fd, int missing_ok, struct sc_error *err)
{
	*fd = open(wdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd != -1 || (missing_ok && errno == ENOENT))
		return SC_OK;
	return sc_error_set(err, SC_IO, "open %s: %s", wdir, strerror(errno));
}

/*
 * The next entry of `dir` other than "." and "..", or NULL at the end or
 * on error (errno tells which: 0 at the end).
 */
static struct dirent *
next_entry(DIR *dir)
{
	struct dirent *de;

	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL)
			return NULL;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return de;
	}
}

/*
 * Remove wdir/name.  A directory loses its non-directory entries, then
 * itself; a subdirectory is not ours and makes the rmdir fail.  A
 * symlink or file at that name is unlinked, never followed.  Gone
 * already: success.
 */
static enum sc_err
remove_at(int wfd, const char *wdir, const char *name, struct sc_error *err)
{
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	enum sc_err rc = SC_OK;
	int fd;

	fd = openat(wfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			goto out;
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    (unlinkat(wfd, name, 0) == 0 || errno == ENOENT))
			goto out;
		rc = sc_error_set(err, SC_IO, "remove %s/%s: %s", wdir, name,
		    strerror(errno));
		goto out;
	}
	if ((dir = fdopendir(fd)) == NULL) {
		rc = sc_error_set(err, SC_IO, "opendir %s/%s: %s", wdir, name,
		    strerror(errno));
		close(fd);
		goto out;
	}
	while ((de = next_entry(dir)) != NULL) {
		if (fstatat(dirfd(dir), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			break;
		}
		if (S_ISDIR(st.st_mode))
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == -1 &&
		    errno != ENOENT)
			break;
	}
	if (errno != 0) {
		rc = sc_error_set(err, SC_IO, "empty %s/%s: %s", wdir, name,
		    strerror(errno));
		goto out;
	}
	if (unlinkat(wfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		rc = sc_error_set(err, SC_IO, "rmdir %s/%s: %s", wdir, name,
		    strerror(errno));
out:
	if (dir != NULL)
		closedir(dir);
	return rc;
}

static enum sc_err
make_tmp_name(char *buf, size_t size, struct sc_error *err)
{
	if (size < sizeof(TMP_PREFIX) + 2 * TMP_RANDOM)
		return sc_error_set(err, SC_INTERNAL, "tmp name buffer");
	memcpy(buf, TMP_PREFIX, sizeof(TMP_PREFIX) - 1);
	return codec_random_hex(TMP_RANDOM, buf + sizeof(TMP_PREFIX) - 1, err);
}

/*
 * Fill the temporary directory wdir/tmp and make it durable: all the
 * files (worker.key only with a key made here) written first, then fsynced, so that the first fsync commits
 * the journal for all of them and the others find little left to do.
 */
static enum sc_err
fill_tmp(int wfd, const char *wdir, const char *tmp, const char *ca_pem,
    const struct pki_issued *iss, struct sc_error *err)
{
	const struct {
		const char	*name;
		const char	*data;
		size_t		 len;
		mode_t		 mode;
	} files[] = {
		{ "ca.crt", ca_pem, strlen(ca_pem), 0644 },
		{ "worker.crt", iss->cert_pem, strlen(iss->cert_pem), 0644 },
		{ "worker.key", iss->key_pem, iss->key_pem_len, 0600 },
	};
	char tpath[PATH_MAX];
	enum sc_err rc = SC_OK;
	int fds[3] = { -1, -1, -1 };
	size_t i, nfiles;
	int n, tfd;

	n = snprintf(tpath, sizeof(tpath), "%s/%s", wdir, tmp);
	if (n < 0 || (size_t)n >= sizeof(tpath))
		return sc_error_set(err, SC_INTERNAL, "path too long: %s/%s",
		    wdir, tmp);
	tfd = openat(wfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd == -1)
		return sc_error_set(err, fileio_errno_code(errno),
		    "open %s: %s", tpath, strerror(errno));
	/* No key when the worker enrolled with a CSR and keeps its own. */
	nfiles = iss->key_pem != NULL ? 3 : 2;
	for (i = 0; i < nfiles && rc == SC_OK; i++)
		rc = fileio_create(tfd, tpath, files[i].name, files[i].data,
		    files[i].len, files[i].mode, &fds[i], err);
	/* Every descriptor is closed, whatever fails. */
	for (i = 0; i < nfiles; i++) {
		if (fds[i] == -1)
			continue;
		if (rc == SC_OK)
			rc = fileio_sync_close(tfd, tpath, files[i].name,
			    fds[i], err);
		else
			close(fds[i]);
	}
	if (rc == SC_OK && fsync(tfd) == -1)
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "fsync %s: %s", tpath, strerror(errno));
	close(tfd);
	return rc;
}

/* Cleanup after a failure: log, since the first error is what we report. */
static void
discard(int wfd, const char *wdir, const char *name)
{
	struct sc_error e;

	sc_error_clear(&e);
	if (remove_at(wfd, wdir, name, &e) != SC_OK)
		log_warn("cleaning up after a failed bundle write: %s", e.msg);
}

void
bundle_staged_init(struct bundle_staged *st)
{
	st->wdir[0] = '\0';
	st->entry[0] = '\0';
	st->wfd = -1;
}

enum sc_err
bundle_stage(const char *ca_dir, const char *ca_pem,
    const struct pki_issued *iss, struct bundle_staged *st,
    struct sc_error *err)
{
	enum sc_err rc;

	bundle_staged_init(st);
	if (ca_pem == NULL || iss == NULL || iss->cert_pem == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "incomplete bundle");
		goto out;
	}
	if ((rc = workers_path(ca_dir, st->wdir, sizeof(st->wdir),
	    err)) != SC_OK ||
	    (rc = open_workers(st->wdir, &st->wfd, 0, err)) != SC_OK ||
	    (rc = make_tmp_name(st->entry, sizeof(st->entry), err)) != SC_OK)
		goto out;
	if (mkdirat(st->wfd, st->entry, 0700) == -1) {
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "mkdir %s/%s: %s", st->wdir, st->entry, strerror(errno));
		st->entry[0] = '\0';
		goto out;
	}
	rc = fill_tmp(st->wfd, st->wdir, st->entry, ca_pem, iss, err);
out:
	if (rc != SC_OK)
		bundle_unstage(st);
	return rc;
}

enum sc_err
bundle_place(struct bundle_staged *st, const char *name,
    struct sc_error *err)
{
	struct stat st_name;
	enum sc_err rc = SC_OK;

	if (st->wfd == -1 || st->entry[0] == '\0') {
		rc = sc_error_set(err, SC_INTERNAL, "no bundle staged for %s",
		    name);
		goto out;
	}
	if (!bundle_name_valid(name)) {
		rc = sc_error_set(err, SC_INTERNAL, "bad bundle name");
		goto out;
	}
	/*
	 * The caller holds `name` in an open transaction and its lock, so no
	 * live host owns it and nobody else writes it: whatever is there was
	 * left by a crash, a failed commit or a decommission that has not
	 * got to its removal yet (which then leaves ours alone).  rename(2)
	 * cannot replace a non-empty directory.
	 */
	if (fstatat(st->wfd, name, &st_name, AT_SYMLINK_NOFOLLOW) == 0) {
		log_info("replacing orphaned bundle %s/%s", st->wdir, name);
		if ((rc = remove_at(st->wfd, st->wdir, name, err)) != SC_OK)
			goto out;
	}
	if (renameat(st->wfd, st->entry, st->wfd, name) == -1) {
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "rename %s/%s to %s: %s", st->wdir, st->entry, name,
		    strerror(errno));
		goto out;
	}
	/*
	 * From here a failure removes the bundle under its name, which
	 * fits: bundle_name_valid allows at most SC_NAME_MAX characters.
	 */
	memcpy(st->entry, name, strlen(name) + 1);
	/* Concurrent enrollments share this one. */
	if (fileio_fsync_shared(st->wfd) == -1) {
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "fsync %s: %s", st->wdir, strerror(errno));
		goto out;
	}
	/* Placed: nothing left for bundle_unstage to remove. */
	st->entry[0] = '\0';
out:
	bundle_unstage(st);
	return rc;
}

void
bundle_unstage(struct bundle_staged *st)
{
	if (st->wfd != -1 && st->entry[0] != '\0')
		discard(st->wfd, st->wdir, st->entry);
	if (st->wfd != -1)
		close(st->wfd);
	bundle_staged_init(st);
}

enum sc_err
bundle_write(const char *ca_dir, const char *name, const char *ca_pem,
    const struct pki_issued *iss, char **path_out, struct sc_error *err)
{
	struct bundle_staged st;
	char *final = NULL;
	enum sc_err rc;

	if (path_out != NULL)
		*path_out = NULL;
	if ((final = bundle_path(ca_dir, name)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "bad bundle name");
	if ((rc = bundle_stage(ca_dir, ca_pem, iss, &st, err)) == SC_OK &&
	    (rc = bundle_place(&st, name, err)) == SC_OK &&
	    path_out != NULL) {
		*path_out = final;
		final = NULL;
	}
	free(final);
	return rc;
}

/*
 * Is wdir/name/worker.crt the certificate with `fingerprint`?  Anything
 * that is not provably that certificate (no such file, not PEM, another
 * certificate) is "no".
 */
static bool
holds_certificate_pem(const char *wdir, const char *name,
    const char *fingerprint, char **pem_out)
{
	char dir[PATH_MAX], fp[PKI_FINGERPRINT_LEN + 1];
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;
	struct sc_error e;
	bool same = false;
	int n;

	sc_error_clear(&e);
	n = snprintf(dir, sizeof(dir), "%s/%s", wdir, name);
	if (n < 0 || (size_t)n >= sizeof(dir))
		goto out;
	if (pki_read_file(dir, "worker.crt", true, &pem, NULL, &e) != SC_OK) {
		log_warn("keeping bundle %s: %s", dir, e.msg);
		goto out;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0 ||
	    pki_fingerprint_hex(crt, fp, &e) != SC_OK) {
		log_warn("keeping bundle %s: worker.crt is not a certificate",
		    dir);
		goto out;
	}
	same = strcmp(fp, fingerprint) == 0;
	if (same && pem_out != NULL) {
		*pem_out = (char *)pem.data;	/* NUL-terminated */
		pem.data = NULL;
	}
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	free(pem.data);
	return same;
}

static bool
holds_certificate(const char *wdir, const char *name,
    const char *fingerprint)
{
	return holds_certificate_pem(wdir, name, fingerprint, NULL);
}

char *
bundle_certificate(const char *ca_dir, const char *name,
    const char *fingerprint)
{
	char wdir[PATH_MAX], *pem = NULL;
	struct sc_error e;

	sc_error_clear(&e);
	if (!bundle_name_valid(name) ||
	    workers_path(ca_dir, wdir, sizeof(wdir), &e) != SC_OK ||
	    !holds_certificate_pem(wdir, name, fingerprint, &pem))
		return NULL;
	return pem;
}

/* Remove CA_DIR/workers/<name>: always, or if it holds `fingerprint`. */
static enum sc_err
remove_bundle(const char *ca_dir, const char *name, const char *fingerprint,
    bool *removed, struct sc_error *err)
{
	char wdir[PATH_MAX];
	struct stat st;
	enum sc_err rc;
	int wfd = -1;

	*removed = false;
	if (!bundle_name_valid(name)) {
		rc = sc_error_set(err, SC_INTERNAL, "refusing to remove bundle "
		    "with bad name");
		goto out;
	}
	if ((rc = workers_path(ca_dir, wdir, sizeof(wdir), err)) != SC_OK ||
	    (rc = open_workers(wdir, &wfd, 1, err)) != SC_OK || wfd == -1)
		goto out;
	if (fingerprint != NULL) {
		/* Nothing there, or not a directory: not that bundle. */
		if (fstatat(wfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode) ||
		    !holds_certificate(wdir, name, fingerprint))
			goto out;
	}
	if ((rc = remove_at(wfd, wdir, name, err)) != SC_OK)
		goto out;
	*removed = true;
	if (fsync(wfd) == -1)
		rc = sc_error_set(err, SC_IO, "fsync %s: %s", wdir,
		    strerror(errno));
out:
	if (wfd != -1)
		close(wfd);
	return rc;
}

enum sc_err
bundle_remove(const char *ca_dir, const char *name, struct sc_error *err)
{
	bool removed;

	return remove_bundle(ca_dir, name, NULL, &removed, err);
}

enum sc_err
bundle_remove_if(const char *ca_dir, const char *name, const char *fingerprint,
    bool *removed, struct sc_error *err)
{
	if (fingerprint == NULL) {
		*removed = false;
		return sc_error_set(err, SC_INTERNAL,
		    "bundle_remove_if: no fingerprint");
	}
	return remove_bundle(ca_dir, name, fingerprint, removed, err);
}

/* One entry of workers/: remove it if it is debris.  *removed counts. */
static enum sc_err
sweep_entry(int wfd, const char *wdir, const char *name,
    int (*is_live)(const char *, void *), void *arg, int *removed,
    struct sc_error *err)
{
	struct stat st;
	int live;

	if (fstatat(wfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return SC_OK;
		return sc_error_set(err, SC_IO, "stat %s/%s: %s", wdir, name,
		    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return SC_OK;
	if (strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) == 0) {
		log_info("removing unfinished bundle %s/%s", wdir, name);
		(*removed)++;
		return remove_at(wfd, wdir, name, err);
	}
	if (!bundle_name_valid(name)) {
		log_warn("leaving %s/%s alone: not a bundle name", wdir, name);
		return SC_OK;
	}
	if ((live = is_live(name, arg)) == -1)
		return sc_error_set(err, SC_INTERNAL, "cannot tell whether "
		    "bundle %s is live; sweep aborted", name);
	if (live)
		return SC_OK;
	log_info("removing orphaned bundle %s/%s", wdir, name);
	(*removed)++;
	return remove_at(wfd, wdir, name, err);
}

enum sc_err
bundle_sweep(const char *ca_dir, int (*is_live)(const char *, void *),
    void *arg, struct sc_error *err)
{
	char wdir[PATH_MAX];
	struct dirent *de;
	DIR *dir = NULL;
	enum sc_err rc;
	int wfd = -1, fd, removed = 0;

	if (is_live == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "bundle_sweep: no is_live");
		goto out;
	}
	if ((rc = workers_path(ca_dir, wdir, sizeof(wdir), err)) != SC_OK ||
	    (rc = open_workers(wdir, &wfd, 1, err)) != SC_OK || wfd == -1)
		goto out;
	if ((fd = dup(wfd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		rc = sc_error_set(err, SC_IO, "opendir %s: %s", wdir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	while ((de = next_entry(dir)) != NULL) {
		if ((rc = sweep_entry(wfd, wdir, de->d_name, is_live, arg,
		    &removed, err)) != SC_OK)
			goto out;
	}
	if (errno != 0) {
		rc = sc_error_set(err, SC_IO, "readdir %s: %s", wdir,
		    strerror(errno));
		goto out;
	}
out:
	if (removed > 0 && wfd != -1 && fsync(wfd) == -1 && rc == SC_OK)
		rc = sc_error_set(err, SC_IO, "fsync %s: %s", wdir,
		    strerror(errno));
	if (dir != NULL)
		closedir(dir);
	if (wfd != -1)
		close(wfd);
	return rc;
}
