/*
 * Publishing the CRLs (CA_DIR/crl.pem for the worker CA, front-crl.pem
 * for the front-end CA) so that they follow the database's revoked set
 * by themselves.  `swarmctl serve` runs a publisher thread: revocations
 * commit without waiting for it, and it publishes them, several at once,
 * within about a second (README "Faults"); it compares the files with the
 * database at start-up and every few seconds, so a publication that
 * failed (disk, database, a crash right after the commit) is made up as
 * soon as it can be.  The one-off commands (`swarmctl crl`, `operator
 * revoke`) publish themselves, synchronously.
 */
#ifndef SC_CRL_H
#define SC_CRL_H

#include "err.h"

struct db;
struct pki_ca;

/* nextUpdate one week ahead unless configured otherwise. */
#define CRL_DEFAULT_NEXT_UPDATE	(7 * 24 * 3600)

/*
 * Sign a CRL of everything the certificates table says is revoked (but
 * for certificates expired for longer than the CRL's validity), with the
 * next CRL number, nextUpdate now+next_update_secs (<= 0: the default),
 * and write it atomically to the CA's file in CA_DIR.  Concurrent
 * publishers (several processes included) are serialised by the
 * database, so a newer CRL is never replaced by an older one.
 */
enum sc_err	 crl_publish(struct db *, const struct pki_ca *,
		    const char *ca_dir, long next_update_secs,
		    struct sc_error *);

/*
 * Start the publisher: load both CAs, open its own database connection,
 * bring both files up to date now (an error only if a file is missing or
 * expired and cannot be published: nginx's ssl_crl needs it), then keep
 * them so from a thread of its own.
 */
enum sc_err	 crl_publisher_start(const char *conninfo, const char *ca_dir,
		    long next_update_secs, struct sc_error *);
/* Stop it (waiting for a publication under way); safe if not started. */
void		 crl_publisher_stop(void);
/*
 * A revocation just committed: publish soon.  Never blocks; does nothing
 * without a publisher (which would also learn of it from PostgreSQL's
 * notification, and from its periodic check).
 */
void		 crl_publish_soon(void);

#endif
