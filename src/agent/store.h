/*
 * The agent's directory: every certificate set it has is a generation
 * directory, DIR/gen-N/{key.pem,cert.pem,ca.pem,controller-ca.pem},
 * written and fsynced whole before DIR/current (a symlink) is renamed to
 * point at it.  DIR/key.pem, cert.pem, ca.pem and controller-ca.pem are
 * stable symlinks through current, for whatever else on the worker uses
 * the certificate.  A crash at any point leaves current naming either
 * the old complete set or the new complete set, never a mix.
 *
 * DIR/pending-key.pem (0600) is the key of a renewal in flight: kept
 * until its certificate is committed, so that a retry after a lost
 * answer sends a CSR for the same key and picks up the same certificate.
 * DIR/.lock serialises enroll and renew (exclusive) against heartbeat
 * (shared).
 */
#ifndef SC_AGENT_STORE_H
#define SC_AGENT_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AGENT_KEY_FILE		"key.pem"
#define AGENT_CERT_FILE		"cert.pem"
#define AGENT_CA_FILE		"ca.pem"		/* worker CA */
#define AGENT_CONTROLLER_CA_FILE "controller-ca.pem"	/* front-end CA */

/* Sizes leave room for "/gen-N/controller-ca.pem" under PATH_MAX. */
struct agent_store {
	char	 dir[PATH_MAX - 128];
	int	 dirfd;
	int	 lockfd;
};

/* One generation's paths. */
struct agent_set {
	unsigned long	 gen;
	char		 path[PATH_MAX - 64];	/* DIR/gen-N */
	char		 key_file[PATH_MAX];
	char		 cert_file[PATH_MAX];
	char		 controller_ca_file[PATH_MAX];
};

/* What a new generation holds. */
struct agent_files {
	const char	*key_pem;
	size_t		 key_len;
	const char	*cert_pem;
	const char	*ca_pem;
	const char	*controller_ca_pem;
};

/*
 * Open DIR (with create: make it 0700 if missing) and take its lock,
 * exclusive or shared.  Errors are SC_IO with the path.
 */
enum sc_err	 agent_store_open(struct agent_store *, const char *dir,
		    bool create, bool exclusive, struct sc_error *);
void		 agent_store_close(struct agent_store *);

/* The generation current names; SC_NOT_FOUND if there is none. */
enum sc_err	 agent_store_current(struct agent_store *, struct agent_set *,
		    struct sc_error *);

/*
 * Write `files` as generation prev+1, point current at it, make the
 * stable links, drop the pending key and remove every other generation.
 */
enum sc_err	 agent_store_commit(struct agent_store *, unsigned long prev,
		    const struct agent_files *, struct agent_set *,
		    struct sc_error *);

/*
 * The controller's CA as fetched and checked at the first contact, in a
 * file of its own (path in `path`) for TLS to verify against until the
 * first generation is committed (which sweeps it away).
 */
enum sc_err	 agent_store_stage_anchor(struct agent_store *,
		    const char *pem, char path[PATH_MAX], struct sc_error *);

/* The pending key: SC_NOT_FOUND if there is none. */
enum sc_err	 agent_store_pending_load(struct agent_store *, char **key,
		    size_t *len, struct sc_error *);
enum sc_err	 agent_store_pending_save(struct agent_store *,
		    const char *key, size_t len, struct sc_error *);
enum sc_err	 agent_store_pending_drop(struct agent_store *,
		    struct sc_error *);

#endif
