/*
 * The agent's generation directories (store.h).  Every step that makes
 * something visible is a rename(2) of a complete, fsynced object,
 * followed by an fsync of the directory holding it, so that what a crash
 * leaves is one of the states store.h lists.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/store.h"
#include "err.h"
#include "fileio.h"
#include "pki/pki.h"

#define CURRENT		"current"
#define PENDING_KEY	"pending-key.pem"
#define LOCK_FILE	".lock"
#define GEN_PREFIX	"gen-"

static const char *const set_files[] = {
	AGENT_KEY_FILE, AGENT_CERT_FILE, AGENT_CA_FILE,
	AGENT_CONTROLLER_CA_FILE,
};
#define NSET_FILES	(sizeof(set_files) / sizeof(set_files[0]))

static enum sc_err
sys_error(struct sc_error *err, const char *what, const char *dir,
    const char *name)
{
	return sc_error_set(err, SC_IO, "%s %s/%s: %s", what, dir, name,
	    strerror(errno));
}

enum sc_err
agent_store_open(struct agent_store *s, const char *dir, bool create,
    bool exclusive, struct sc_error *err)
{
	s->dirfd = s->lockfd = -1;
	if (strlen(dir) >= sizeof(s->dir))
		return sc_error_set(err, SC_INVALID, "directory name too long");
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	if (create && mkdir(dir, 0700) == -1 && errno != EEXIST)
		return sc_error_set(err, SC_IO, "mkdir %s: %s", dir,
		    strerror(errno));
	if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return sc_error_set(err, SC_IO, "%s: %s", dir, strerror(errno));
	if ((s->lockfd = openat(s->dirfd, LOCK_FILE, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return sys_error(err, "open", dir, LOCK_FILE);
	while (flock(s->lockfd, exclusive ? LOCK_EX : LOCK_SH) == -1)
		if (errno != EINTR)
			return sys_error(err, "lock", dir, LOCK_FILE);
	return SC_OK;
}

void
agent_store_close(struct agent_store *s)
{
	if (s->lockfd != -1)
		close(s->lockfd);	/* releases the flock */
	if (s->dirfd != -1)
		close(s->dirfd);
	s->lockfd = s->dirfd = -1;
}

/* "gen-N" -> N; 0 if the name is not one. */
static unsigned long
gen_number(const char *name)
{
	const char *p = name + strlen(GEN_PREFIX);
	unsigned long n = 0;

	if (strncmp(name, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 || *p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > 100000000UL)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	return n;
}

static void
set_paths(const struct agent_store *s, unsigned long gen,
    struct agent_set *set)
{
	set->gen = gen;
	snprintf(set->path, sizeof(set->path), "%s/" GEN_PREFIX "%lu",
	    s->dir, gen);
	snprintf(set->key_file, sizeof(set->key_file), "%s/%s", set->path,
	    AGENT_KEY_FILE);
	snprintf(set->cert_file, sizeof(set->cert_file), "%s/%s", set->path,
	    AGENT_CERT_FILE);
	snprintf(set->controller_ca_file, sizeof(set->controller_ca_file),
	    "%s/%s", set->path, AGENT_CONTROLLER_CA_FILE);
}

enum sc_err
agent_store_current(struct agent_store *s, struct agent_set *set,
    struct sc_error *err)
{
	char target[NAME_MAX + 1];
	unsigned long gen;
	ssize_t n;

	if ((n = readlinkat(s->dirfd, CURRENT, target,
	    sizeof(target) - 1)) == -1)
		return errno == ENOENT ? sc_error_set(err, SC_NOT_FOUND,
		    "%s holds no certificate (run `swarmctl agent enroll`)",
		    s->dir) : sys_error(err, "readlink", s->dir, CURRENT);
	target[n] = '\0';
	if ((gen = gen_number(target)) == 0)
		return sc_error_set(err, SC_INVALID, "%s/%s points at '%s', "
		    "not a generation", s->dir, CURRENT, target);
	set_paths(s, gen, set);
	return SC_OK;
}

/* Remove DIR/name (a generation directory) and what it holds. */
static void
remove_gen(struct agent_store *s, const char *name)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if ((fd = openat(s->dirfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			(void)unlinkat(fd, e->d_name, 0);
	closedir(d);
	(void)unlinkat(s->dirfd, name, AT_REMOVEDIR);
}

/* Every generation but `keep`, and leftovers of interrupted renames. */
static void
sweep(struct agent_store *s, unsigned long keep)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if ((fd = dup(s->dirfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		unsigned long gen = gen_number(e->d_name);

		if (gen != 0 && gen != keep)
			remove_gen(s, e->d_name);
		else if (e->d_name[0] == '.' && strstr(e->d_name, ".new") != NULL)
			(void)unlinkat(s->dirfd, e->d_name, 0);
	}
	closedir(d);
	(void)fsync(s->dirfd);
}

/* Make DIR/name a symlink to target by renaming a new one over it. */
static enum sc_err
link_replace(struct agent_store *s, const char *name, const char *target,
    struct sc_error *err)
{
	char tmp[NAME_MAX + 1], have[PATH_MAX];
	ssize_t n;

	n = readlinkat(s->dirfd, name, have, sizeof(have) - 1);
	if (n >= 0 && (have[n] = '\0', strcmp(have, target) == 0))
		return SC_OK;
	snprintf(tmp, sizeof(tmp), ".%s.new", name);
	(void)unlinkat(s->dirfd, tmp, 0);
	if (symlinkat(target, s->dirfd, tmp) == -1)
		return sys_error(err, "symlink", s->dir, tmp);
	if (renameat(s->dirfd, tmp, s->dirfd, name) == -1)
		return sys_error(err, "rename", s->dir, name);
	return SC_OK;
}

static enum sc_err
sync_dir(int fd, const char *dir, struct sc_error *err)
{
	if (fsync(fd) == -1)
		return sc_error_set(err, SC_IO, "fsync %s: %s", dir,
		    strerror(errno));
	return SC_OK;
}

static enum sc_err
write_gen(struct agent_store *s, const struct agent_set *set,
    const struct agent_files *f, struct sc_error *err)
{
	const char *name = strrchr(set->path, '/') + 1;
	enum sc_err rc;
	int fd;

	/* A generation left by an interrupted commit is never current. */
	remove_gen(s, name);
	if (mkdirat(s->dirfd, name, 0700) == -1)
		return sys_error(err, "mkdir", s->dir, name);
	if ((fd = open(set->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return sys_error(err, "open", s->dir, name);
	if ((rc = fileio_write_new(fd, set->path, AGENT_KEY_FILE, f->key_pem,
	    f->key_len, 0600, err)) != SC_OK ||
	    (rc = fileio_write_new(fd, set->path, AGENT_CERT_FILE, f->cert_pem,
	    strlen(f->cert_pem), 0644, err)) != SC_OK ||
	    (rc = fileio_write_new(fd, set->path, AGENT_CA_FILE, f->ca_pem,
	    strlen(f->ca_pem), 0644, err)) != SC_OK ||
	    (rc = fileio_write_new(fd, set->path, AGENT_CONTROLLER_CA_FILE,
	    f->controller_ca_pem, strlen(f->controller_ca_pem), 0644,
	    err)) != SC_OK ||
	    (rc = sync_dir(fd, set->path, err)) != SC_OK)
		goto out;
	rc = sync_dir(s->dirfd, s->dir, err);
out:
	close(fd);
	return rc;
}

enum sc_err
agent_store_commit(struct agent_store *s, unsigned long prev,
    const struct agent_files *f, struct agent_set *set, struct sc_error *err)
{
	char target[NAME_MAX + 1], link[PATH_MAX];
	enum sc_err rc;
	size_t i;

	set_paths(s, prev + 1, set);
	if ((rc = write_gen(s, set, f, err)) != SC_OK)
		return rc;
	/* The switch: before this rename the old set is current, after it
	 * the new one, each complete on disk. */
	snprintf(target, sizeof(target), GEN_PREFIX "%lu", set->gen);
	if ((rc = link_replace(s, CURRENT, target, err)) != SC_OK ||
	    (rc = sync_dir(s->dirfd, s->dir, err)) != SC_OK)
		return rc;
	for (i = 0; i < NSET_FILES; i++) {
		snprintf(link, sizeof(link), CURRENT "/%s", set_files[i]);
		if ((rc = link_replace(s, set_files[i], link, err)) != SC_OK)
			return rc;
	}
	if ((rc = agent_store_pending_drop(s, err)) != SC_OK)
		return rc;
	sweep(s, set->gen);
	return SC_OK;
}

#define ANCHOR_NEW	".controller-ca.new"

enum sc_err
agent_store_stage_anchor(struct agent_store *s, const char *pem,
    char path[PATH_MAX], struct sc_error *err)
{
	snprintf(path, PATH_MAX, "%s/%s", s->dir, ANCHOR_NEW);
	return fileio_write_atomic(s->dir, ANCHOR_NEW, pem, strlen(pem),
	    0644, true, err);
}

enum sc_err
agent_store_pending_load(struct agent_store *s, char **key, size_t *len,
    struct sc_error *err)
{
	return pki_file_read(s->dir, PENDING_KEY, true, PKI_KEY_PEM_MAX, key,
	    len, err);
}

enum sc_err
agent_store_pending_save(struct agent_store *s, const char *key, size_t len,
    struct sc_error *err)
{
	return fileio_write_atomic(s->dir, PENDING_KEY, key, len, 0600, true,
	    err);
}

enum sc_err
agent_store_pending_drop(struct agent_store *s, struct sc_error *err)
{
	if (unlinkat(s->dirfd, PENDING_KEY, 0) == -1 && errno != ENOENT)
		return sys_error(err, "unlink", s->dir, PENDING_KEY);
	return sync_dir(s->dirfd, s->dir, err);
}
