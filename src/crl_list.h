/*
 * The revoked list the CRL publisher keeps from one publication to the
 * next (src/crl.c), its entries encoded (pki_crl_entry_encode), in the
 * order the database lists them.  A publication then reads from the
 * database only the rows revoked since shortly before its latest entry
 * (db_crl_changes) and encodes only those: with a large history most of
 * the cost of a CRL was reading and encoding the same entries again.
 *
 * What keeps it right: every entry came from the database, and a
 * revocation is never undone nor its row deleted, so after an update the
 * list is a subset of what the database lists; a count of that set, read
 * in the same snapshot as the rows (db_crl_changes), equal to the list's
 * length then means the same set.  When the counts differ (a revocation
 * dated before `since` -- a transaction that began long before it
 * committed, a row written by hand) the publisher reads the list whole,
 * as it does at least every CRL_LIST_REREAD_SECS regardless.
 */
#ifndef SC_CRL_LIST_H
#define SC_CRL_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "pki/pki.h"

/*
 * A revocation is dated when its transaction began, and may commit after
 * a list was read that has later ones: rows revoked this long before the
 * latest entry are read again.
 */
#define CRL_LIST_OVERLAP_SECS	60
/* Read whole at least this often, whatever the counts say. */
#define CRL_LIST_REREAD_SECS	600

/*
 * Entries the list makes room for at first; it grows by doubling, and a
 * whole read gives back room beyond four times what it lists.
 */
#define CRL_LIST_MIN_CAP	1024

struct crl_list_entry {
	int64_t		 revoked_at;
	int64_t		 not_after;
	unsigned char	 len;
	unsigned char	 der[PKI_CRL_ENTRY_MAX];
};

struct crl_list {
	struct crl_list_entry	*e;
	size_t			 n, cap;
	/* When it was last read whole; 0: it must be (empty, or unsure). */
	time_t			 read_whole;
};

/*
 * From when rows must be read to bring the list up to date (*since);
 * false if it must be read whole: never read, emptied by a failure, or
 * read whole longer than CRL_LIST_REREAD_SECS before `now`.
 */
bool		 crl_list_since(const struct crl_list *, time_t now,
		    time_t *since);
/*
 * Entries revoked at or after `since` are replaced by rows (the listed
 * rows revoked since then, in the database's order); those before it
 * whose certificate expired at or before `cutoff` go.  On failure the
 * list is emptied, to be read whole.
 */
enum sc_err	 crl_list_update(struct crl_list *, time_t since,
		    const struct pki_revoked *rows, size_t n, time_t cutoff,
		    struct sc_error *);
/* The list is rows (all of it), read whole at `now`. */
enum sc_err	 crl_list_replace(struct crl_list *,
		    const struct pki_revoked *rows, size_t n, time_t now,
		    struct sc_error *);
/* Empty, to be read whole; the memory is kept for the next list. */
void		 crl_list_clear(struct crl_list *);
void		 crl_list_free(struct crl_list *);
/*
 * The entries back to back, as pki_crl_sign takes them: l->der points
 * into *buf (malloc'd; NULL when there are none).
 */
enum sc_err	 crl_list_entries(const struct crl_list *, unsigned char **buf,
		    struct pki_crl_entries *l, struct sc_error *);

#endif
