#include "config.h"

/*
 * The CRL publisher's revoked list (crl_list.h): an array of encoded
 * entries, 64 bytes each.  Updating it keeps the entries revoked before
 * `since` (a pass that also drops the expired ones) and encodes the rows
 * read since, after them; both are in the database's order of
 * revocation, so the list stays in it.
 */

#include <stdlib.h>
#include <string.h>

#include "crl_list.h"
#include "err.h"
#include "pki/pki.h"

bool
crl_list_since(const struct crl_list *list, time_t now, time_t *since)
{
	*since = 0;
	if (list->read_whole == 0 || list->n == 0 ||
	    now - list->read_whole >= CRL_LIST_REREAD_SECS ||
	    now < list->read_whole)
		return false;
	*since = (time_t)list->e[list->n - 1].revoked_at -
	    CRL_LIST_OVERLAP_SECS;
	return true;
}

void
crl_list_clear(struct crl_list *list)
{
	list->n = 0;
	list->read_whole = 0;
}

void
crl_list_free(struct crl_list *list)
{
	free(list->e);
	memset(list, 0, sizeof(*list));
}

static enum sc_err
reserve(struct crl_list *list, size_t want, struct sc_error *err)
{
	struct crl_list_entry *e;
	size_t cap;

	if (want <= list->cap)
		return SC_OK;
	cap = list->cap > 0 ? list->cap : CRL_LIST_MIN_CAP;
	while (cap < want) {
		if (cap > SIZE_MAX / 2 / sizeof(*e))
			return sc_error_set(err, SC_INTERNAL, "a CRL of %zu "
			    "entries", want);
		cap *= 2;
	}
	if ((e = realloc(list->e, cap * sizeof(*e))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory for a "
		    "CRL of %zu entries", want);
	list->e = e;
	list->cap = cap;
	return SC_OK;
}

/*
 * After a whole read: give back what a much longer list once needed (a
 * history whose revocations have since expired), keeping room to grow
 * to twice the list.  Failing to shrink is harmless.
 */
static void
fit(struct crl_list *list)
{
	struct crl_list_entry *e;
	size_t cap = CRL_LIST_MIN_CAP;

	while (cap < list->n * 2)
		cap *= 2;
	if (cap * 2 > list->cap)
		return;
	if ((e = realloc(list->e, cap * sizeof(*e))) == NULL)
		return;
	list->e = e;
	list->cap = cap;
}

/* Rows encoded after the list's first n entries. */
static enum sc_err
append(struct crl_list *list, const struct pki_revoked *rows, size_t n,
    struct sc_error *err)
{
	size_t i, len;
	enum sc_err rc;

	if ((rc = reserve(list, list->n + n, err)) != SC_OK)
		return rc;
	for (i = 0; i < n; i++) {
		struct crl_list_entry *e = &list->e[list->n];

		if ((rc = pki_crl_entry_encode(&rows[i], e->der, &len,
		    err)) != SC_OK)
			return rc;
		e->len = (unsigned char)len;
		e->revoked_at = (int64_t)rows[i].revoked_at;
		e->not_after = (int64_t)rows[i].not_after;
		list->n++;
	}
	return SC_OK;
}

enum sc_err
crl_list_update(struct crl_list *list, time_t since,
    const struct pki_revoked *rows, size_t n, time_t cutoff,
    struct sc_error *err)
{
	size_t i, kept = 0;
	enum sc_err rc;

	for (i = 0; i < list->n; i++) {
		const struct crl_list_entry *e = &list->e[i];

		if (e->revoked_at >= (int64_t)since ||
		    e->not_after <= (int64_t)cutoff)
			continue;
		if (kept != i)
			list->e[kept] = *e;
		kept++;
	}
	list->n = kept;
	if ((rc = append(list, rows, n, err)) != SC_OK)
		crl_list_clear(list);
	return rc;
}

enum sc_err
crl_list_replace(struct crl_list *list, const struct pki_revoked *rows,
    size_t n, time_t now, struct sc_error *err)
{
	enum sc_err rc;

	list->n = 0;
	if ((rc = append(list, rows, n, err)) != SC_OK) {
		crl_list_clear(list);
		return rc;
	}
	fit(list);
	list->read_whole = now;
	return SC_OK;
}

enum sc_err
crl_list_entries(const struct crl_list *list, unsigned char **buf,
    struct pki_crl_entries *l, struct sc_error *err)
{
	unsigned char *p;
	size_t i, len = 0;

	*buf = NULL;
	l->der = NULL;
	l->len = 0;
	l->n = 0;
	for (i = 0; i < list->n; i++)
		len += list->e[i].len;
	if (len == 0)
		return SC_OK;
	if ((p = malloc(len)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory for a "
		    "CRL of %zu entries", list->n);
	*buf = p;
	for (i = 0; i < list->n; i++) {
		memcpy(p, list->e[i].der, list->e[i].len);
		p += list->e[i].len;
	}
	l->der = *buf;
	l->len = len;
	l->n = list->n;
	return SC_OK;
}
