/*
 * Publishing the CRL: one function every revocation path calls after its
 * transaction commits (decommission, `swarmctl operator revoke`, the
 * operator API), and the periodic refresh that keeps CA_DIR/crl.pem from
 * expiring when nothing is revoked for a while.
 */
#ifndef SC_CRL_H
#define SC_CRL_H

#include "err.h"

struct db;
struct pki_ca;

/* nextUpdate one week ahead unless configured otherwise. */
#define CRL_DEFAULT_NEXT_UPDATE	(7 * 24 * 3600)

/*
 * Sign a CRL of everything the certificates table says is revoked, with
 * the next CRL number, nextUpdate now+next_update_secs (<= 0: the
 * default), and write it atomically to CA_DIR/crl.pem.  Concurrent
 * publishers (several processes included) are serialised by the
 * database, so a newer CRL is never replaced by an older one.
 */
enum sc_err	 crl_publish(struct db *, const struct pki_ca *,
		    const char *ca_dir, long next_update_secs,
		    struct sc_error *);

/*
 * crl_publish if CA_DIR/crl.pem is missing or unreadable, or its
 * nextUpdate is less than half the period away; SC_OK otherwise.  Cheap
 * enough to call every few minutes.
 */
enum sc_err	 crl_refresh_if_due(struct db *, const struct pki_ca *,
		    const char *ca_dir, long next_update_secs,
		    struct sc_error *);

#endif
