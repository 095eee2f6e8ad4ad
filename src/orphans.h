/*
 * Bundles whose row may be missing: a decommission's (the row is gone
 * once it commits), a failed enrollment's, and one whose enrollment or
 * decommission lost its connection during COMMIT, so that nobody knows
 * yet whether the row exists.  Each is settled by one rule, the start-up
 * sweep's made exact: under the name's lock, the bundle stays if its row
 * (name and fingerprint) exists, and goes -- if it still holds that
 * certificate -- once no session that might still commit the row is left.
 *
 * What cannot be settled at once (the database does not answer, or the
 * old session is still running) is handed to a thread that retries
 * every second, so an orphan goes as soon as the database answers again,
 * not at the next start.
 */
#ifndef SC_ORPHANS_H
#define SC_ORPHANS_H

#include <stdbool.h>

#include "err.h"

struct config;
struct db;
struct db_bundle_claim;

/*
 * Settle `claim` now on `db`.  *settled is false if it cannot be yet:
 * the database is unreachable or the name's lock stays taken (an error),
 * or the old session still runs (SC_OK).
 */
enum sc_err	 orphans_settle(struct db *, const char *ca_dir,
		    const struct db_bundle_claim *, bool *settled,
		    struct sc_error *);

/*
 * orphans_settle, and if that does not settle it, orphans_defer.  `what`
 * says whose bundle it is, for the log ("decommission w1").
 */
void		 orphans_settle_or_defer(struct db *, const char *ca_dir,
		    const struct db_bundle_claim *, const char *what);

/* Hand `claim` to the settling thread (kept until orphans_start). */
void		 orphans_defer(const struct db_bundle_claim *);

/*
 * The settling thread, with a database connection of its own while it
 * has work.  orphans_stop tries once more, then logs what is left for
 * the start-up sweep.
 */
enum sc_err	 orphans_start(const struct config *, struct sc_error *);
void		 orphans_stop(void);

#endif
