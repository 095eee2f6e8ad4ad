#include "config.h"

/*
 * Atomic file replacement, the way careful tools do it (git's lockfiles,
 * rsync): a temporary file in the same directory (so rename(2) cannot
 * cross file systems), fsync of the data, rename, fsync of the directory
 * (so the new name survives a crash, not just the data).
 */

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"

#define TMP_RANDOM	6	/* bytes, printed as 12 hex digits */
#define TMP_TRIES	8

int
fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ".<name>.<12 hex digits>": hidden, and never a name we commit to. */
static enum sc_err
tmp_name(char *buf, size_t size, const char *name, struct sc_error *err)
{
	char suffix[2 * TMP_RANDOM + 1];
	enum sc_err rc;
	int len;

	if ((rc = codec_random_hex(TMP_RANDOM, suffix, err)) != SC_OK)
		return rc;
	len = snprintf(buf, size, ".%s.%s", name, suffix);
	if (len < 0 || (size_t)len >= size)
		return sc_error_set(err, SC_INTERNAL, "file name too long: %s",
		    name);
	return SC_OK;
}

enum sc_err
fileio_errno_code(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
		return SC_CA_DIR_FULL;
	case EROFS:
	case EACCES:
	case EPERM:
		return SC_CA_DIR_READONLY;
	default:
		return SC_IO;
	}
}

enum sc_err
fileio_create(int dirfd, const char *dir, const char *name,
    const void *buf, size_t len, mode_t mode, int *fdp, struct sc_error *err)
{
	int fd;

	*fdp = -1;
	fd = openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return sc_error_set(err, errno == EEXIST ? SC_CONFLICT :
		    fileio_errno_code(errno),
		    "create %s/%s: %s", dir, name, strerror(errno));
	if (fchmod(fd, mode) == -1 || fileio_write_all(fd, buf, len) == -1) {
		enum sc_err rc = sc_error_set(err, fileio_errno_code(errno),
		    "write %s/%s: %s", dir, name, strerror(errno));
		close(fd);
		(void)unlinkat(dirfd, name, 0);
		return rc;
	}
	/*
	 * Start the write-back now: files created one after the other then
	 * get their blocks in one journal transaction, which the first
	 * fsync commits for all of them.  Only a hint (fsync is what makes
	 * them durable), so a file system without it is no error.
	 */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	*fdp = fd;
	return SC_OK;
}

enum sc_err
fileio_sync_close(int dirfd, const char *dir, const char *name, int fd,
    struct sc_error *err)
{
	enum sc_err rc = SC_OK;

	if (fsync(fd) == -1)
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "write %s/%s: %s", dir, name, strerror(errno));
	/* close(2) can report a delayed write error (NFS): check it. */
	if (close(fd) == -1 && rc == SC_OK)
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "close %s/%s: %s", dir, name, strerror(errno));
	if (rc != SC_OK)
		(void)unlinkat(dirfd, name, 0);
	return rc;
}

enum sc_err
fileio_write_new(int dirfd, const char *dir, const char *name,
    const void *buf, size_t len, mode_t mode, struct sc_error *err)
{
	enum sc_err rc;
	int fd;

	if ((rc = fileio_create(dirfd, dir, name, buf, len, mode, &fd,
	    err)) != SC_OK)
		return rc;
	return fileio_sync_close(dirfd, dir, name, fd, err);
}

/*
 * One directory's shared fsync (fileio_fsync_shared): rounds numbered
 * from 1, one at a time.  The first directory it is asked for is the
 * only one it serves (the service writes into one workers/); any other
 * is fsynced by its caller alone.
 */
static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 done_cv;
	bool		 keyed;
	dev_t		 dev;
	ino_t		 ino;
	bool		 busy;		/* a round's fsync is running */
	uint64_t	 started;	/* the last round begun */
	uint64_t	 done;		/* the last round finished */
	uint64_t	 failed;	/* the last round that failed, 0: none */
	int		 failed_errno;
} shared = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
    false, 0, 0, false, 0, 0, 0, 0 };

int
fileio_fsync_shared(int fd)
{
	struct stat st;
	uint64_t mine, round;
	int rc, e;

	if (fstat(fd, &st) == -1)
		return -1;
	pthread_mutex_lock(&shared.lock);
	if (!shared.keyed) {
		shared.keyed = true;
		shared.dev = st.st_dev;
		shared.ino = st.st_ino;
	}
	if (shared.dev != st.st_dev || shared.ino != st.st_ino) {
		pthread_mutex_unlock(&shared.lock);
		return fsync(fd);
	}
	/*
	 * A round that begins after this point covers the caller's changes,
	 * made before the call; one already running may not.
	 */
	mine = shared.started + 1;
	while (shared.done < mine) {
		if (shared.busy) {
			pthread_cond_wait(&shared.done_cv, &shared.lock);
			continue;
		}
		shared.busy = true;
		round = ++shared.started;
		pthread_mutex_unlock(&shared.lock);
		e = fsync(fd) == -1 ? errno : 0;
		pthread_mutex_lock(&shared.lock);
		shared.busy = false;
		shared.done = round;
		if (e != 0) {
			shared.failed = round;
			shared.failed_errno = e;
		}
		pthread_cond_broadcast(&shared.done_cv);
	}
	/*
	 * A failure of the round that covered us, or of a later one (the
	 * same disk going bad): failed, to be safe.
	 */
	rc = 0;
	if (shared.failed >= mine) {
		errno = shared.failed_errno;
		rc = -1;
	}
	pthread_mutex_unlock(&shared.lock);
	return rc;
}

enum sc_err
fileio_stage(struct fileio_staged *st, const char *dir, const char *name,
    const void *buf, size_t len, mode_t mode, struct sc_error *err)
{
	struct sc_error attempt;
	enum sc_err rc;
	int i;

	memset(st, 0, sizeof(*st));
	st->dirfd = -1;
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strlen(name) + 2 + 2 * TMP_RANDOM >= sizeof(st->tmp) ||
	    strlen(dir) >= sizeof(st->dir)) {
		rc = sc_error_set(err, SC_INTERNAL, "bad file name %s/%s", dir,
		    name);
		goto out;
	}
	memcpy(st->dir, dir, strlen(dir) + 1);
	memcpy(st->name, name, strlen(name) + 1);
	if ((st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "open %s: %s", dir, strerror(errno));
		goto out;
	}
	/* A random name taken already (a leftover?): draw another. */
	for (i = 0, rc = SC_CONFLICT; i < TMP_TRIES && rc == SC_CONFLICT;
	    i++) {
		sc_error_clear(&attempt);
		if ((rc = tmp_name(st->tmp, sizeof(st->tmp), name,
		    &attempt)) == SC_OK)
			rc = fileio_write_new(st->dirfd, dir, st->tmp, buf, len,
			    mode, &attempt);
	}
	if (rc != SC_OK) {
		st->tmp[0] = '\0';	/* not ours to remove */
		sc_error_set(err, rc, "%s", attempt.msg);
	}
out:
	if (rc != SC_OK)
		fileio_discard(st);
	return rc;
}

/*
 * Never overwrite: renameat2(RENAME_NOREPLACE) is atomic; a file system
 * without it (EINVAL) gets link(2), which fails with EEXIST just as
 * atomically, and the temporary name is unlinked after.
 */
static int
rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dirfd, from, dirfd, to, 0) == -1)
		return -1;
	(void)unlinkat(dirfd, from, 0);
	return 0;
}

enum sc_err
fileio_commit(struct fileio_staged *st, bool replace, struct sc_error *err)
{
	enum sc_err rc = SC_OK;
	int r;

	if (st->dirfd == -1 || st->tmp[0] == '\0') {
		rc = sc_error_set(err, SC_INTERNAL, "nothing staged");
		goto out;
	}
	r = replace ? renameat(st->dirfd, st->tmp, st->dirfd, st->name) :
	    rename_noreplace(st->dirfd, st->tmp, st->name);
	if (r == -1 && errno == EEXIST) {
		rc = sc_error_set(err, SC_CONFLICT, "%s/%s already exists; "
		    "refusing to overwrite it", st->dir, st->name);
		goto out;
	}
	if (r == -1) {
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "rename %s/%s: %s", st->dir,
		    st->name, strerror(errno));
		goto out;
	}
	st->tmp[0] = '\0';	/* renamed: nothing left to discard */
	if (fsync(st->dirfd) == -1)
		rc = sc_error_set(err, fileio_errno_code(errno),
		    "fsync %s: %s", st->dir, strerror(errno));
out:
	fileio_discard(st);
	return rc;
}

void
fileio_discard(struct fileio_staged *st)
{
	if (st->dirfd == -1)
		return;
	if (st->tmp[0] != '\0')
		(void)unlinkat(st->dirfd, st->tmp, 0);
	st->tmp[0] = '\0';
	close(st->dirfd);
	st->dirfd = -1;
}

enum sc_err
fileio_write_atomic(const char *dir, const char *name, const void *buf,
    size_t len, mode_t mode, bool replace, struct sc_error *err)
{
	struct fileio_staged st;
	enum sc_err rc;

	if ((rc = fileio_stage(&st, dir, name, buf, len, mode, err)) != SC_OK)
		return rc;
	return fileio_commit(&st, replace, err);
}
