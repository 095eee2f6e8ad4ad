/*
 * Which CAs belong to this deployment.  `swarmctl init` creates them
 * (pki_ca_init) and records their fingerprints in the database
 * (ca_identity); every other command that uses a CA first checks that
 * the CAs in its --ca-dir are the recorded ones.  A mistyped or empty
 * --ca-dir then stops the command with a message naming both CAs,
 * instead of quietly becoming a second root.
 */
#ifndef SC_CA_IDENTITY_H
#define SC_CA_IDENTITY_H

#include <stdbool.h>

#include "err.h"
#include "pki/pki.h"

struct db;

/*
 * SC_OK when every CA in ca_dir is the one the database records;
 * SC_CA_UNAVAILABLE (saying what to do) when one is missing on either
 * side or they differ.
 */
enum sc_err	 ca_identity_check(struct db *, const char *ca_dir,
		    struct sc_error *);

/*
 * Create the CAs missing in ca_dir (keys of `type`) and record each in
 * the database.  Refuses, before creating anything, when the database
 * records a CA that ca_dir does not hold (the wrong directory, or one
 * that lost its CA: restore it, never replace it), and afterwards when
 * ca_dir holds a CA other than the recorded one.  Running it again is
 * harmless.  created[role] says which CAs were made now.
 */
enum sc_err	 ca_identity_init(struct db *, const char *ca_dir,
		    enum pki_key_type type, bool created[PKI_NCA_ROLES],
		    struct sc_error *);

#endif
