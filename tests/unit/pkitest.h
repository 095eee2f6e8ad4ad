/*
 * For unit tests of the CA code: run a test body once per CA key type,
 * each time with a fresh worker CA and front CA (pki_ca_init, loaded
 * with their keys) in a directory of their own under a scratch tree.
 * Header-only, like tap.h.
 */
#ifndef SC_PKITEST_H
#define SC_PKITEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "tap.h"
#include "testutil.h"

typedef void (*pt_body)(struct pki_ca *worker, struct pki_ca *front,
    const char *ca_dir, const char *what);

/*
 * body(worker, front, ca_dir, key type name) for each of types[0..n),
 * under /var/tmp/<name>.XXXXXX (removed after); the exit status of a TAP
 * test program.
 */
static int __attribute__((unused))
pt_each_ca(const char *name, const enum pki_key_type *types, size_t n,
    pt_body body)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_ca *worker = NULL, *front = NULL;
	bool created[PKI_NCA_ROLES];
	char top[128], ca_dir[192];
	size_t i;

	snprintf(top, sizeof(top), "/var/tmp/%s.XXXXXX", name);
	if (mkdtemp(top) == NULL || pki_init(&err) != SC_OK) {
		printf("Bail out! set up: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *what = pki_key_type_name(types[i]);

		snprintf(ca_dir, sizeof(ca_dir), "%s/%s", top, what);
		if (pki_ca_init(ca_dir, types[i], created, &err) != SC_OK ||
		    pki_ca_load(ca_dir, PKI_CA_WORKER, &worker, &err) !=
		    SC_OK ||
		    pki_ca_load(ca_dir, PKI_CA_FRONT, &front, &err) != SC_OK) {
			printf("Bail out! %s CAs: %s\n", what, err.msg);
			return 1;
		}
		body(worker, front, ca_dir, what);
		pki_ca_free(worker);
		pki_ca_free(front);
		worker = front = NULL;
	}
	pki_deinit();
	tu_rm_rf(top);
	return done_testing();
}

#endif
