/*
 * Readiness: whether this process can do more than its public routes
 * (/health, /swarm/ca.pem, /swarm/crl.pem).  A thread of its own finds
 * out -- PostgreSQL answers, the start-up checks that need it have
 * passed, the CA is in place and its directory writable -- so that no
 * request ever waits for it and /health never depends on it.
 *
 * Until ready_start says otherwise the process counts as ready (the unit
 * tests and the fuzzer run app.c without a monitor).
 */
#ifndef SC_READY_H
#define SC_READY_H

#include <stdbool.h>

#include "err.h"

struct config;
struct db;

/*
 * The start-up checks that need the database (serve.c: schema, role, CA
 * identity, orphan sweep, CRLs).  SC_DB_UNAVAILABLE: not now, try later.
 */
typedef enum sc_err (*ready_checks_fn)(const struct config *, struct db *,
    struct sc_error *);

/*
 * Start the monitor: every second it pings PostgreSQL (with the
 * db_set_timeout deadline), runs `checks` until they have passed once
 * (`checked`: they already have), and looks at the CA directory.  A check
 * that fails later does not stop the process: it keeps answering 503 with
 * the reason, and checks again each second, so fixing the cause (swarmctl
 * migrate, the CA directory restored) makes it ready without a restart.
 */
enum sc_err	 ready_start(const struct config *, ready_checks_fn,
		    bool checked, struct sc_error *);
void		 ready_stop(void);

/*
 * For routes that need the database: SC_OK once the start-up checks have
 * passed; else the reason (err, for the log) and *detail, what the client
 * is told with a 503.
 */
enum sc_err	 ready_gate(const char **detail, struct sc_error *);

/*
 * For GET /swarm/ready: ready_gate, then the monitor's last look at
 * PostgreSQL and the CA.  SC_OK: ready.
 */
enum sc_err	 ready_status(const char **detail, struct sc_error *);

#endif
