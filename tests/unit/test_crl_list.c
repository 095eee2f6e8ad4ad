/*
 * The CRL publisher's kept list (src/crl_list.c): read whole, it holds
 * the rows in order; an update replaces the entries from `since` on with
 * the rows read since and drops those before it whose certificate
 * expired at or before the cutoff; it asks to be read whole when never
 * read, after a failure, and CRL_LIST_REREAD_SECS after the last whole
 * read; its entries are the rows' encodings back to back; a row that
 * cannot be encoded empties it; a whole read gives back room a much
 * longer list needed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_list.h"
#include "pki/pki.h"
#include "tap.h"

/* Row k: serial k (hex), revoked at 1000 + 10k; row 2 expires first. */
static struct pki_revoked
row(int k)
{
	struct pki_revoked r;

	memset(&r, 0, sizeof(r));
	snprintf(r.serial_hex, sizeof(r.serial_hex), "%02x", k);
	r.revoked_at = 1000 + 10 * (time_t)k;
	r.not_after = k == 2 ? 4000 : 5000 + (time_t)k;
	return r;
}

/* The list holds exactly rows want[0..n), in that order. */
static int
holds(const struct crl_list *list, const int *want, size_t n)
{
	struct sc_error err = { SC_OK, "" };
	unsigned char enc[PKI_CRL_ENTRY_MAX];
	size_t i, len;

	if (list->n != n)
		return 0;
	for (i = 0; i < n; i++) {
		struct pki_revoked r = row(want[i]);

		if (pki_crl_entry_encode(&r, enc, &len, &err) != SC_OK ||
		    list->e[i].len != len ||
		    memcmp(list->e[i].der, enc, len) != 0 ||
		    list->e[i].revoked_at != r.revoked_at)
			return 0;
	}
	return 1;
}

/*
 * A list read whole at 100,000 entries, then (their certificates expired)
 * at 10: its room goes back to CRL_LIST_MIN_CAP, and a list of 600 read
 * whole after that fits in it, entries right.
 */
static int
shrinks(void)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_revoked *many;
	struct crl_list list;
	size_t i, n = 100000, big;
	int good = 0;

	memset(&list, 0, sizeof(list));
	if ((many = calloc(n, sizeof(*many))) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		many[i] = row((int)(i % 200));
	if (crl_list_replace(&list, many, n, 100, &err) != SC_OK)
		goto out;
	big = list.cap;
	if (crl_list_replace(&list, many, 10, 200, &err) != SC_OK ||
	    list.n != 10 || list.cap != CRL_LIST_MIN_CAP || big < n)
		goto out;
	if (crl_list_replace(&list, many, 600, 300, &err) != SC_OK ||
	    list.cap != CRL_LIST_MIN_CAP || list.n != 600 ||
	    memcmp(list.e[599].der, list.e[199].der, list.e[199].len) != 0)
		goto out;
	good = 1;
out:
	crl_list_free(&list);
	free(many);
	return good;
}

int
main(void)
{
	static const int first[] = { 1, 2, 3, 4, 5 };
	static const int after[] = { 1, 3, 4, 6, 7 };
	struct sc_error err = { SC_OK, "" };
	struct pki_revoked rows[5], bad;
	struct pki_crl_entries l;
	struct crl_list list;
	unsigned char *buf = NULL;
	time_t since = 0;
	size_t i, total = 0;

	memset(&list, 0, sizeof(list));
	ok(!crl_list_since(&list, 100, &since), "never read: read it whole");
	for (i = 0; i < 5; i++)
		rows[i] = row(first[i]);
	ok(crl_list_replace(&list, rows, 5, 100, &err) == SC_OK &&
	    holds(&list, first, 5), "read whole: the rows, in order");
	ok(crl_list_since(&list, 100 + CRL_LIST_REREAD_SECS - 1, &since) &&
	    since == 1050 - CRL_LIST_OVERLAP_SECS,
	    "then: read from the latest revocation less the overlap");
	ok(!crl_list_since(&list, 100 + CRL_LIST_REREAD_SECS, &since),
	    "... and whole again %d s after the whole read",
	    CRL_LIST_REREAD_SECS);

	/* Since 1040 (row 4 on): rows 4, 6, 7 read; row 2 expired. */
	rows[0] = row(4);
	rows[1] = row(6);
	rows[2] = row(7);
	ok(crl_list_update(&list, 1040, rows, 3, 4000, &err) == SC_OK &&
	    holds(&list, after, 5), "an update: entries before `since` kept "
	    "unless expired by the cutoff, those after replaced by the rows");
	ok(crl_list_since(&list, 100, &since) &&
	    since == 1070 - CRL_LIST_OVERLAP_SECS,
	    "... the latest is now row 7's revocation");

	for (i = 0; i < 5; i++)
		total += list.e[i].len;
	ok(crl_list_entries(&list, &buf, &l, &err) == SC_OK && l.n == 5 &&
	    l.len == total && memcmp(l.der, list.e[0].der, list.e[0].len) == 0 &&
	    memcmp(l.der + total - list.e[4].len, list.e[4].der,
	    list.e[4].len) == 0, "its entries: the encodings back to back");
	free(buf);

	bad = row(8);
	snprintf(bad.serial_hex, sizeof(bad.serial_hex), "not hex");
	is_int(crl_list_update(&list, 2000, &bad, 1, 0, &err), SC_INVALID,
	    "a row that cannot be encoded fails the update");
	ok(list.n == 0 && !crl_list_since(&list, 100, &since),
	    "... and empties the list, to be read whole");
	ok(crl_list_entries(&list, &buf, &l, &err) == SC_OK && buf == NULL &&
	    l.n == 0 && l.len == 0, "an empty list has no entries");
	crl_list_free(&list);

	ok(shrinks(), "a whole read of a much shorter list gives back the "
	    "room a longer one needed, and keeps room to grow");
	return done_testing();
}
