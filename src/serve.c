/*
 * Start-up of the responder.  All fatal errors happen here, before the
 * first request: CA, schema, crash recovery, socket.  After that, request
 * failures are answered, never fatal.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "ca_identity.h"
#include "cli.h"
#include "conf.h"
#include "crl.h"
#include "db/db.h"
#include "http/server.h"
#include "log.h"
#include "memlimit.h"
#include "orphans.h"
#include "pki/bundle.h"
#include "pki/pki.h"
#include "ready.h"
#include "serve.h"
#include "thread.h"

const char serve_usage[] =
    "usage: swarmctl serve [--listen unix:PATH|HOST:PORT] [--workers N]\n"
    "           [--ca-dir DIR] [--db CONNINFO] [--key-type T]\n"
    "           [--max-body BYTES] [--key-pool N]\n"
    "           [--host-cache N] [--crl-next-update-days N]\n"
    "           [--read-timeout SECONDS] [--db-timeout SECONDS]\n"
    "           [--fcgi-allow ADDR[,ADDR...]]\n"
    "           [--fcgi-allow-user USER[,USER...]] [--allow-loopback-operator]\n"
    "           [--worker-san-allow SUFFIX|NETWORK]...\n"
    "           [--listen-backlog N] [--log-file PATH]\n"
    "           [--worker-days N] [--stale-after SECONDS]\n"
    "           [--heartbeat-commit async|sync]\n"
    "\n"
    "Run the FastCGI responder behind nginx.  Without --listen, serve on\n"
    "standard input if it is a listening socket (spawn-fcgi, systemd).\n"
    "Whoever can connect to the socket is trusted like nginx: prefer a unix\n"
    "socket.  A TCP listener must be on a loopback address unless\n"
    "--fcgi-allow names the web servers' addresses; over loopback only root,\n"
    "swarmctl's own user and --fcgi-allow-user users are served.\n"
    "--read-timeout (default 15) drops a connection that sends nothing for\n"
    "that long.  --db-timeout (default 5) bounds every wait on PostgreSQL.\n"
    "If PostgreSQL is down at start, serve starts anyway (503 until it is\n"
    "back; GET /swarm/ready says why).  --worker-san-allow limits the names\n"
    "and addresses worker certificates may carry.  The CAs must exist\n"
    "(`swarmctl init`).  SIGTERM/SIGINT: answer what is queued, then exit 0;\n"
    "--worker-days (default 90) is the validity of every worker certificate\n"
    "issued (enroll, token enroll, renew); workers renew their own.  A host\n"
    "shows \"active\" after a heartbeat, \"unreachable\" once the last is older\n"
    "than --stale-after (default 90 s).  --heartbeat-commit sync makes each\n"
    "heartbeat wait for the disk (default async: a database crash may lose\n"
    "the last moment of heartbeats, never anything else).\n"
    "SIGHUP: re-open --log-file, re-read the CRLs.  See README, \"Threat\n"
    "model\", \"Issuance policy\", \"Faults\" and \"Configuration\".\n";

const char migrate_usage[] =
    "usage: swarmctl migrate [--db CONNINFO] [--service-role ROLE]\n"
    "\n"
    "Apply pending database migrations (safe to run concurrently), as the\n"
    "role that owns the schema; with --service-role, grant ROLE what serve\n"
    "needs and revoke the rest.\n";

static int
host_is_live(const char *name, void *arg)
{
	struct sc_error err = { SC_OK, "" };
	bool exists = false;

	if (db_host_name_exists(arg, name, &exists, &err) != SC_OK) {
		log_error("sweep: %s", err.msg);
		return -1;
	}
	return exists ? 1 : 0;
}

/*
 * Crash recovery: a bundle directory without a committed row (the
 * process died between rename and commit) and temporary directories are
 * removed.  Runs under the exclusive bundle lock, so no enrollment of
 * another process is between those two steps right now.
 */
static enum sc_err
sweep_orphans(struct db *db, const char *ca_dir, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_bundles_lock(db, err)) != SC_OK)
		return rc;
	rc = bundle_sweep(ca_dir, host_is_live, db, err);
	db_bundles_unlock(db);
	return rc;
}

/*
 * The start-up checks that need the database.  Run before listening;
 * when PostgreSQL is down then, the readiness monitor runs them once it
 * answers (ready.h), and the routes that need them answer 503 until
 * they have passed.
 */
static enum sc_err
startup_checks(const struct config *cfg, struct db *db, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_schema_check(db, err)) != SC_OK) {
		if (rc == SC_DB_UNAVAILABLE)
			sc_error_prefix(err, "database unreachable");
		return rc;
	}
	/* A role that owns the tables could erase the audit trail. */
	if ((rc = db_role_check(db, err)) != SC_OK) {
		sc_error_prefix(err, "refusing to serve");
		return rc;
	}
	/* Before anything is written with it: is this the deployment's CA? */
	if ((rc = ca_identity_check(db, cfg->ca_dir, err)) != SC_OK)
		return rc;
	if ((rc = sweep_orphans(db, cfg->ca_dir, err)) != SC_OK) {
		sc_error_prefix(err, "sweeping orphan bundles");
		return rc;
	}
	return SC_OK;
}

/*
 * At start: a failed check is fatal (the operator is there to read
 * why), but an unreachable database is not -- after a reboot during an
 * outage the public routes must answer, and the rest must follow by
 * itself once PostgreSQL is back.  *checked says whether they passed.
 */
static enum sc_err
startup(const struct config *cfg, bool *checked, struct sc_error *err)
{
	struct db *db = NULL;
	enum sc_err rc;

	*checked = false;
	/*
	 * nginx's ssl_client_certificate (pki.h), for a CA directory made
	 * before `swarmctl init` wrote it.  Not fatal here: a missing CA is
	 * reported, with what to do, by the checks that follow.
	 */
	if (pki_client_cas_missing(cfg->ca_dir) &&
	    pki_client_cas_write(cfg->ca_dir, err) != SC_OK) {
		log_warn("writing %s: %s", PKI_CLIENT_CAS_FILE, err->msg);
		sc_error_clear(err);
	}
	if ((rc = db_open(cfg->conninfo, &db, err)) != SC_OK)
		goto out;
	rc = startup_checks(cfg, db, err);
	if (rc == SC_DB_UNAVAILABLE) {
		log_warn("%s: serving anyway; routes that need the database "
		    "answer 503 until it answers and the start-up checks "
		    "pass", err->msg);
		sc_error_clear(err);
		rc = SC_OK;
	} else
		*checked = rc == SC_OK;
out:
	db_close(db);
	return rc;
}

/*
 * Before any key is loaded or thread started: under a memory limit too
 * small to serve in, a clear refusal now rather than an abort in GNU MP
 * later (memlimit.h).  Workers, key generators, and the CRL publisher,
 * readiness and orphan-settling threads.
 */
static enum sc_err
check_memory_limit(const struct config *cfg, struct sc_error *err)
{
	char what[64];

	snprintf(what, sizeof(what), "swarmctl serve with %d workers",
	    cfg->workers);
	if (memlimit_check((size_t)cfg->workers + pki_keypool_threads() + 3,
	    what, err) != SC_OK) {
		sc_error_prefix(err, "refusing to start");
		return err->code;
	}
	return SC_OK;
}

/*
 * Stop signals and SIGHUP are taken by sigwait in server_run; blocked
 * here, before any thread starts, so that no thread takes them by
 * their default action (SIGHUP's would end the process).
 */
static void
block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* SIGHUP: what can change without a restart (server_reload_fn). */
static void
reload(void *arg)
{
	struct sc_error err = { SC_OK, "" };

	(void)arg;
	if (log_reopen(&err) != SC_OK)
		log_error("%s (still logging to the old file)", err.msg);
	crl_publish_soon();
}

int
cmd_serve(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct config cfg;
	enum sc_err rc;
	int fd = -1, status = 1;
	bool checked;

	if (config_parse_serve(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, serve_usage);
		goto out;
	}
	if (check_memory_limit(&cfg, &err) != SC_OK) {
		log_error("%s (raise the limit or lower --workers)", err.msg);
		goto out;
	}
	if (cfg.log_file != NULL && log_open_file(cfg.log_file, &err) != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	db_set_timeout(cfg.db_timeout);
	db_set_stale_after(cfg.stale_after);
	pki_set_worker_days(cfg.worker_days);
	/*
	 * Before any thread and before anything reads a CA key: from here
	 * on only the signer process has the keys (README, "Process layout
	 * and key custody").
	 */
	if (pki_signer_start(cfg.ca_dir, &err) != SC_OK) {
		log_error("starting the CA signer: %s", err.msg);
		goto out;
	}
	block_signals();
	if (pki_init(&err) != SC_OK || FCGX_Init() != 0) {
		log_error("initialising libraries: %s", err.msg);
		goto out;
	}
	if (startup(&cfg, &checked, &err) != SC_OK ||
	    crl_publisher_start(cfg.conninfo, cfg.ca_dir, cfg.crl_next_update,
	    &err) != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	if (server_listen(&cfg, &fd, &err) != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	log_info("listening on %s (CA %s, worker keys %s)",
	    cfg.listen ? cfg.listen : "standard input", cfg.ca_dir,
	    pki_key_type_name(cfg.key_type));
	if (cfg.allow_loopback_operator)
		log_warn("--allow-loopback-operator: requests without TLS from "
		    "127.0.0.1/::1 act as an operator");
	if (pki_keypool_start(cfg.key_type, (size_t)cfg.key_pool,
	    (size_t)cfg.workers, &err) != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	if (ready_start(&cfg, startup_checks, checked, &err) != SC_OK) {
		log_error("%s", err.msg);
		pki_keypool_stop();
		goto out;
	}
	if (orphans_start(&cfg, &err) != SC_OK)
		log_error("%s; orphan bundles wait for the next start-up sweep",
		    err.msg);
	rc = server_run(&cfg, fd, reload, NULL, &err);
	orphans_stop();
	ready_stop();
	pki_keypool_stop();
	if (rc != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	status = 0;
out:
	/* After server_run: no request is left to ask for a publication. */
	crl_publisher_stop();
	pki_signer_stop();
	if (fd > STDIN_FILENO)
		close(fd);
	pki_deinit();
	config_free(&cfg);
	return status;
}

static void
print_applied(const char *name)
{
	printf("applied %s\n", name);
}

int
cmd_migrate(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct config cfg;
	struct db *db = NULL;
	int applied = 0, status = 1;

	if (config_parse_migrate(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, migrate_usage);
		goto out;
	}
	if (db_open(cfg.conninfo, &db, &err) != SC_OK ||
	    db_migrate(db, print_applied, &applied, cfg.service_role,
	    &err) != SC_OK) {
		fprintf(stderr, "swarmctl: migrate: %s\n", err.msg);
		goto out;
	}
	if (applied == 0)
		printf("schema is up to date\n");
	if (cfg.service_role != NULL)
		printf("granted %s what swarmctl serve needs, and revoked the "
		    "rest\n", cfg.service_role);
	status = 0;
out:
	db_close(db);
	config_free(&cfg);
	return status;
}
