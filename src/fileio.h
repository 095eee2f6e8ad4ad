/*
 * Files that appear whole or not at all: written under a temporary name
 * in the target directory, fsynced, then renamed into place and the
 * directory fsynced.  Used for the CRL and for the files the CLI hands to
 * operators (certificates, keys, PKCS#12).
 */
#ifndef SC_FILEIO_H
#define SC_FILEIO_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * The error code for a failed write to disk: a full file system
 * (ENOSPC, EDQUOT) and one that refuses writes (EROFS, EACCES, EPERM)
 * are an unavailable dependency (503 naming the CA directory, the only
 * place the service writes), not an internal error; anything else
 * (EIO, ...) is SC_IO.
 */
enum sc_err	 fileio_errno_code(int errnum);

/* write(2) all of buf, retrying on EINTR and short writes; -1 + errno. */
int		 fileio_write_all(int fd, const void *buf, size_t len);

/*
 * Create dir/name (dirfd is dir, opened; O_EXCL, no symlink followed)
 * with exactly `mode` (set on the descriptor before the first byte,
 * whatever the umask: a key is never readable by others, not even for a
 * moment, and a certificate is 0644 even under umask 077), write buf and
 * fsync it.  SC_CONFLICT if it exists; on other failures it is removed.
 */
enum sc_err	 fileio_write_new(int dirfd, const char *dir,
		    const char *name, const void *buf, size_t len, mode_t mode,
		    struct sc_error *);

/*
 * fileio_write_new in two steps, so that several files can be written
 * before any is fsynced: fileio_create leaves dir/name written (its
 * write-back started) and open in *fd; fileio_sync_close fsyncs and
 * closes it, and removes it if either fails.  Until then the file is
 * not durable.
 */
enum sc_err	 fileio_create(int dirfd, const char *dir, const char *name,
		    const void *buf, size_t len, mode_t mode, int *fd,
		    struct sc_error *);
enum sc_err	 fileio_sync_close(int dirfd, const char *dir,
		    const char *name, int fd, struct sc_error *);

/*
 * fsync(2) of a directory, shared by concurrent callers: it returns once
 * an fsync of the directory that began after the call has succeeded,
 * and the callers that arrive while one runs share the next.  0, or -1
 * with errno.
 */
int		 fileio_fsync_shared(int fd);

/*
 * A file written under a temporary name in `dir`, waiting to be renamed
 * to `name`.  Stage several, then commit them one by one: nothing is
 * visible under a final name before it is complete and durable.
 */
struct fileio_staged {
	int	 dirfd;			/* -1: nothing staged */
	char	 dir[PATH_MAX];
	char	 tmp[NAME_MAX + 1];
	char	 name[NAME_MAX + 1];
};

/*
 * fileio_write_new to dir/.<name>.<random hex>.  `name` is a plain file
 * name (no '/').  On failure nothing is left.
 */
enum sc_err	 fileio_stage(struct fileio_staged *, const char *dir,
		    const char *name, const void *buf, size_t len, mode_t mode,
		    struct sc_error *);
/*
 * Rename the staged file to its name and fsync the directory.  With
 * `replace` false an existing file of that name is never overwritten
 * (RENAME_NOREPLACE, or link(2) where the file system lacks it):
 * SC_CONFLICT.  The staged file is gone afterwards either way.
 */
enum sc_err	 fileio_commit(struct fileio_staged *, bool replace,
		    struct sc_error *);
/* Remove a staged file that was not committed; safe to call twice. */
void		 fileio_discard(struct fileio_staged *);

/* Stage and commit in one go. */
enum sc_err	 fileio_write_atomic(const char *dir, const char *name,
		    const void *buf, size_t len, mode_t mode, bool replace,
		    struct sc_error *);

#endif
