#include "config.h"

/*
 * The CRL publisher: the revoked list and CRL number from the database
 * (db_crl_begin, under a lock), signed and written by pki_crl_write, the
 * lock released (db_crl_done) only once the file is in place.
 */

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "crl.h"
#include "db/db.h"
#include "err.h"
#include "log.h"
#include "pki/pki.h"

enum sc_err
crl_publish(struct db *db, const struct pki_ca *ca, const char *ca_dir,
    long next_update_secs, struct sc_error *err)
{
	struct pki_revoked *revoked = NULL;
	uint64_t number = 0;
	size_t n = 0;
	enum sc_err rc;

	if (next_update_secs <= 0)
		next_update_secs = CRL_DEFAULT_NEXT_UPDATE;
	if ((rc = db_crl_begin(db, pki_ca_role_name(pki_ca_role(ca)), &revoked,
	    &n, &number, err)) != SC_OK)
		goto out;
	rc = pki_crl_write(ca, ca_dir, revoked, n, number, next_update_secs,
	    err);
	db_crl_done(db);
out:
	if (rc != SC_OK)
		sc_error_prefix(err, "publish the %s CA's CRL",
		    pki_ca_role_name(pki_ca_role(ca)));
	free(revoked);
	return rc;
}

enum sc_err
crl_refresh_if_due(struct db *db, const struct pki_ca *ca,
    const char *ca_dir, long next_update_secs, struct sc_error *err)
{
	struct sc_error why;
	time_t next = 0, now;
	enum sc_err rc;

	if (next_update_secs <= 0)
		next_update_secs = CRL_DEFAULT_NEXT_UPDATE;
	sc_error_clear(&why);
	now = time(NULL);
	rc = pki_crl_next_update(ca_dir, pki_ca_role(ca), &next, &why);
	if (rc == SC_OK && next - now >= next_update_secs / 2)
		return SC_OK;
	/* Missing, unreadable or not ours any more: a fresh one fixes all. */
	if (rc != SC_OK && rc != SC_NOT_FOUND)
		log_warn("replacing the CRL: %s", why.msg);
	return crl_publish(db, ca, ca_dir, next_update_secs, err);
}
