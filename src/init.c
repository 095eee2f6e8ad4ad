#include "config.h"

/*
 * `swarmctl init [--ca-dir DIR] [--db CONNINFO] [--ca-key-type T]`:
 * create the worker and front-end CAs in DIR (those that are missing) and
 * record them in the database, which must be migrated already.  Nothing
 * else creates a CA: serve and the trust commands refuse to run until
 * this has been done, and whenever their --ca-dir holds other CAs than
 * the database records.  Prints, exits 0 done, 1 failed, 2 bad usage.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ca_identity.h"
#include "cli.h"
#include "conf.h"
#include "db/db.h"
#include "init.h"
#include "pki/pki.h"

const char init_usage[] =
    "usage: swarmctl init [--ca-dir DIR] [--db CONNINFO] [--ca-key-type T]\n"
    "        [--ca-key PKCS11-URL] [--front-ca-key PKCS11-URL]\n"
    "\n"
    "Create the worker CA (DIR/ca.crt, ca.key) and the front-end CA\n"
    "(DIR/front-ca.crt, front-ca.key) unless they exist, and record their\n"
    "fingerprints in the database.  Run `swarmctl migrate` first, and run\n"
    "this as the role that owns the schema, like migrate.  Safe to run\n"
    "again.\n"
    "\n"
    "--ca-key / --front-ca-key: that CA's key lives on a PKCS#11 token\n"
    "(pkcs11:token=...;object=...;pin-source=FILE or pin-value=PIN):\n"
    "generated there if the object does not exist, used if it does; no\n"
    "key file is written, DIR/ca.key.pkcs11 (front-ca.key.pkcs11) holds\n"
    "the URL for the signer.\n";

static void
print_cas(const char *ca_dir, const bool created[PKI_NCA_ROLES])
{
	struct sc_error err = { SC_OK, "" };
	struct pki_ca *ca = NULL;
	int role;

	for (role = 0; role < PKI_NCA_ROLES; role++) {
		if (pki_ca_load_cert(ca_dir, (enum pki_ca_role)role, &ca,
		    &err) != SC_OK)
			continue;
		printf("%s %s CA %s/%s\n  subject %s\n  sha256 %s\n",
		    created[role] ? "created" : "kept",
		    pki_ca_role_name((enum pki_ca_role)role), ca_dir,
		    pki_ca_cert_file((enum pki_ca_role)role),
		    pki_ca_subject(ca), pki_ca_fingerprint(ca));
		pki_ca_free(ca);
		ca = NULL;
	}
}

int
cmd_init(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	bool created[PKI_NCA_ROLES] = { false, false };
	bool pki = false;
	struct config cfg;
	struct db *db = NULL;
	int status = 1;

	if (config_parse_init(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, init_usage);
		goto out;
	}
	if (db_open(cfg.conninfo, &db, &err) != SC_OK ||
	    db_schema_check(db, &err) != SC_OK ||
	    pki_init(&err) != SC_OK)
		goto fail;
	pki = true;
	pki_ca_key_url_set(PKI_CA_WORKER, cfg.ca_key_url[PKI_CA_WORKER]);
	pki_ca_key_url_set(PKI_CA_FRONT, cfg.ca_key_url[PKI_CA_FRONT]);
	if (ca_identity_init(db, cfg.ca_dir, cfg.ca_key_type, created,
	    &err) != SC_OK)
		goto fail;
	/* nginx's ssl_client_certificate: both CAs (pki.h). */
	if (pki_client_cas_write(cfg.ca_dir, &err) != SC_OK)
		goto fail;
	print_cas(cfg.ca_dir, created);
	status = 0;
	goto out;
fail:
	fprintf(stderr, "swarmctl: init: %s\n", err.msg);
out:
	db_close(db);
	if (pki)
		pki_deinit();
	config_free(&cfg);
	return status;
}
