/*
 * Worker bundles on disk: CA_DIR/workers/<name>/{ca.crt,worker.crt,
 * worker.key}, without worker.key for a worker that enrolled with a CSR.  Files appear whole or not at all: written in a temporary
 * directory, fsynced, then the directory is renamed into place.
 */
#ifndef SC_BUNDLE_H
#define SC_BUNDLE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "sc_limits.h"

struct pki_issued;

/*
 * Is `name` usable as a bundle directory?  1-64 chars of
 * [A-Za-z0-9._-], first char alphanumeric.  (Rejects "", ".", "..",
 * anything with '/'.)
 */
int		 bundle_name_valid(const char *name);

/*
 * Write the bundle for `name` durably: CA_DIR/workers/.tmp-<random>/ with
 * ca.crt (0644), worker.crt (0644), worker.key (0600, O_EXCL; only if
 * the issued certificate came with a key, not for a CSR), each
 * fsynced, the directory fsynced, then renamed to CA_DIR/workers/<name>
 * and CA_DIR/workers fsynced.  The caller guarantees (by holding the name
 * in an open database transaction, and the name's lock: see
 * db_bundle_settle_begin) that no live host owns <name> and nobody else
 * is writing or removing it, so an existing directory of that name is an
 * orphan (of a crash, a decommission, a failed commit) and is replaced.
 * On failure nothing is left behind.  *path_out (malloc'd, may be NULL)
 * receives the final directory path.
 */
enum sc_err	 bundle_write(const char *ca_dir, const char *name,
		    const char *ca_pem, const struct pki_issued *,
		    char **path_out, struct sc_error *);

/*
 * bundle_write in two steps, so that the files can be written and
 * fsynced while the database is still reserving the name: a bundle
 * staged (CA_DIR/workers/.tmp-<random>, complete and durable, under no
 * host's name), then placed under <name> (the same guarantees from the
 * caller as for bundle_write), or unstaged (removed).  bundle_place
 * consumes the staging whatever its outcome; bundle_unstage may be
 * called on a staging that is empty, placed or failed.
 */
struct bundle_staged {
	char	 wdir[PATH_MAX];	/* CA_DIR/workers */
	/* The bundle's entry in wdir: .tmp-<random>, then <name>; "" none. */
	char	 entry[SC_NAME_MAX + 1];
	int	 wfd;			/* wdir, -1 when none */
};

void		 bundle_staged_init(struct bundle_staged *);
enum sc_err	 bundle_stage(const char *ca_dir, const char *ca_pem,
		    const struct pki_issued *, struct bundle_staged *,
		    struct sc_error *);
enum sc_err	 bundle_place(struct bundle_staged *, const char *name,
		    struct sc_error *);
void		 bundle_unstage(struct bundle_staged *);

/* The path CA_DIR/workers/<name> (malloc'd) or NULL if name invalid. */
char		*bundle_path(const char *ca_dir, const char *name);

/*
 * Remove CA_DIR/workers/<name> and the files in it.  Refuses (SC_INTERNAL)
 * any name that is not bundle_name_valid(), so nothing outside
 * CA_DIR/workers/ can be touched; does not follow symlinks.  A directory
 * that is already gone is success.
 */
enum sc_err	 bundle_remove(const char *ca_dir, const char *name,
		    struct sc_error *);

/*
 * bundle_remove, but only if CA_DIR/workers/<name>/worker.crt is the
 * certificate with this fingerprint (lowercase hex SHA-256 of its DER):
 * a bundle that someone else has written under the name since is left
 * alone, as is one whose certificate cannot be read (logged).  *removed
 * says whether it went.  The check and the removal are one step only if
 * nobody else writes <name> meanwhile: the caller holds the name's lock.
 */
enum sc_err	 bundle_remove_if(const char *ca_dir, const char *name,
		    const char *fingerprint, bool *removed,
		    struct sc_error *);

/*
 * CA_DIR/workers/<name>/worker.crt (malloc'd PEM) if it is the
 * certificate with this fingerprint, else NULL: what a renewal whose
 * answer was lost is given again.
 */
char		*bundle_certificate(const char *ca_dir, const char *name,
		    const char *fingerprint);

/*
 * Crash recovery: remove CA_DIR/workers/.tmp-* directories, and every
 * bundle directory for which is_live(name, arg) returns 0.  is_live
 * returning -1 aborts the sweep (e.g. the database went away).
 */
enum sc_err	 bundle_sweep(const char *ca_dir,
		    int (*is_live)(const char *name, void *arg), void *arg,
		    struct sc_error *);

#endif
