#include "config.h"

#include <string.h>

#include "ca_identity.h"
#include "db/db.h"
#include "pki/pki.h"

static enum sc_err
mismatch(const char *ca_dir, const struct pki_ca *ca,
    const struct db_ca_identity *id, struct sc_error *err)
{
	const char *role = pki_ca_role_name(pki_ca_role(ca));

	return sc_error_set(err, SC_CA_UNAVAILABLE, "the %s CA in %s "
	    "(fingerprint %s, %s) is not this database's %s CA (fingerprint "
	    "%s, %s, recorded by swarmctl init): check --ca-dir and --db",
	    role, ca_dir, pki_ca_fingerprint(ca), pki_ca_subject(ca), role,
	    id->fingerprint, id->subject);
}

/*
 * Compare role's CA in ca_dir with the one the database records -- after
 * recording it first, when `record` (init) and none is recorded yet.
 */
static enum sc_err
match_role(struct db *db, const char *ca_dir, enum pki_ca_role role,
    bool record, struct sc_error *err)
{
	const char *name = pki_ca_role_name(role);
	struct db_ca_identity id;
	struct pki_ca *ca = NULL;
	enum sc_err rc;

	if ((rc = pki_ca_load_cert(ca_dir, role, &ca, err)) != SC_OK)
		goto out;
	rc = record ? db_ca_identity_record(db, name, pki_ca_fingerprint(ca),
	    pki_ca_subject(ca), &id, err) :
	    db_ca_identity_get(db, name, &id, err);
	if (rc != SC_OK)
		goto out;
	if (!id.found)
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "the database "
		    "records no %s CA yet: run `swarmctl init --ca-dir %s` "
		    "against this database first", name, ca_dir);
	else if (strcmp(id.fingerprint, pki_ca_fingerprint(ca)) != 0)
		rc = mismatch(ca_dir, ca, &id, err);
out:
	pki_ca_free(ca);
	return rc;
}

enum sc_err
ca_identity_check(struct db *db, const char *ca_dir, struct sc_error *err)
{
	enum sc_err rc = SC_OK;
	int role;

	for (role = 0; role < PKI_NCA_ROLES && rc == SC_OK; role++)
		rc = match_role(db, ca_dir, (enum pki_ca_role)role, false,
		    err);
	return rc;
}

/* Before creating anything: a recorded CA must be in ca_dir already. */
static enum sc_err
refuse_lost_ca(struct db *db, const char *ca_dir, enum pki_ca_role role,
    struct sc_error *err)
{
	struct sc_error load_err = { SC_OK, "" };
	struct db_ca_identity id;
	struct pki_ca *ca = NULL;
	enum sc_err rc;

	if ((rc = db_ca_identity_get(db, pki_ca_role_name(role), &id,
	    err)) != SC_OK || !id.found)
		goto out;
	if (pki_ca_load_cert(ca_dir, role, &ca, &load_err) != SC_OK)
		rc = sc_error_set(err, SC_CA_UNAVAILABLE, "this database "
		    "already has a %s CA (fingerprint %s, %s), but %s does "
		    "not hold it (%s): wrong --ca-dir?  Restore the CA "
		    "directory from its backup; a new CA would not be the "
		    "one the database and the fleet trust",
		    pki_ca_role_name(role), id.fingerprint, id.subject, ca_dir,
		    load_err.msg);
out:
	pki_ca_free(ca);
	return rc;
}

enum sc_err
ca_identity_init(struct db *db, const char *ca_dir, enum pki_key_type type,
    bool created[PKI_NCA_ROLES], struct sc_error *err)
{
	enum sc_err rc = SC_OK;
	int role;

	for (role = 0; role < PKI_NCA_ROLES; role++)
		created[role] = false;
	for (role = 0; role < PKI_NCA_ROLES && rc == SC_OK; role++)
		rc = refuse_lost_ca(db, ca_dir, (enum pki_ca_role)role, err);
	if (rc == SC_OK)
		rc = pki_ca_init(ca_dir, type, created, err);
	for (role = 0; role < PKI_NCA_ROLES && rc == SC_OK; role++)
		rc = match_role(db, ca_dir, (enum pki_ca_role)role, true,
		    err);
	return rc;
}
