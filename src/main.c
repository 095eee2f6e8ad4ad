/*
 * swarmctl: the private-CA enrollment service for a swarm of worker hosts.
 * One program, subcommands dispatched from a table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "cli.h"
#include "err.h"
#include "init.h"
#include "memlimit.h"
#include "operator.h"
#include "pki/pki.h"
#include "serve.h"

static const char usage[] =
    "usage: swarmctl <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--listen unix:PATH|HOST:PORT] [--workers N] [--ca-dir DIR]\n"
    "        [--db CONNINFO] [--key-type T]\n"
    "        [--max-body BYTES] [--allow-loopback-operator]\n"
    "        [--crl-next-update-days N] [--key-pool N] [--host-cache N]\n"
    "        [--read-timeout SECONDS] [--fcgi-allow ADDR[,ADDR...]]\n"
    "        [--fcgi-allow-user USER[,USER...]]\n"
    "        [--worker-san-allow SUFFIX|NETWORK]...\n"
    "        [--worker-days N] [--stale-after SECONDS]\n"
    "      Run the FastCGI responder.  Without --listen, serve on standard\n"
    "      input if it is a listening socket (spawn-fcgi, systemd).\n"
    "  migrate [--db CONNINFO] [--service-role ROLE]\n"
    "      Apply pending database migrations (safe to run concurrently);\n"
    "      grant ROLE what serve needs and revoke the rest.\n"
    "  init [--ca-dir DIR] [--db CONNINFO] [--ca-key-type T]\n"
    "      Create the worker and front-end CAs (once) and record them in\n"
    "      the database; every other command checks its CA against it.\n"
    "  operator issue NAME --out DIR [--p12-password-file F] [--days N]\n"
    "        [--key-type T] [--ca-dir DIR] [--db CONNINFO]\n"
    "  operator list [--ca-dir DIR] [--db CONNINFO]\n"
    "  operator revoke NAME|FINGERPRINT [--ca-dir DIR] [--db CONNINFO]\n"
    "      Operator client certificates (OU=swarm-operator): write\n"
    "      DIR/NAME.crt, .key and .p12; list them; revoke them and\n"
    "      publish CA_DIR/crl.pem.\n"
    "  server-cert --cn CN [--san NAME]... --out DIR [--key-type T]\n"
    "        [--ca-dir DIR] [--db CONNINFO]\n"
    "      The front end's TLS certificate: DIR/server.crt, server.key.\n"
    "  crl [--ca-dir DIR] [--db CONNINFO] [--next-update-days N]\n"
    "      Publish a fresh CA_DIR/crl.pem now (for cron).\n"
    "  agent enroll|renew|heartbeat --url URL --dir DIR ...\n"
    "      The worker's side: enroll with a one-time token, renew the\n"
    "      certificate, send heartbeats (swarmctl agent --help).\n"
    "\n"
    "  --help, --version     (swarmctl COMMAND --help: that command's usage)\n"
    "\n"
    "--db takes a libpq connection string; without it PGHOST, PGDATABASE,\n"
    "... apply.  --ca-dir defaults to $SWARMCTL_CA_DIR, else\n"
    "/var/lib/swarmctl/ca.  Key types: rsa-2048 (worker default),\n"
    "rsa-3072, rsa-4096 (CA default), ecdsa-p256, ecdsa-p384, ed25519.\n";

/* Each row's usage is printed by `swarmctl NAME --help`. */
static const struct cli_command commands[] = {
	{ .name = "serve", .run = cmd_serve, .usage = serve_usage },
	{ .name = "migrate", .run = cmd_migrate, .usage = migrate_usage },
	{ .name = "init", .run = cmd_init, .usage = init_usage },
	{ .name = "operator", .run = cmd_operator, .usage = operator_usage,
	    .has_subcommands = true },
	{ .name = "server-cert", .run = cmd_server_cert,
	    .usage = server_cert_usage },
	{ .name = "crl", .run = cmd_crl, .usage = crl_usage },
	{ .name = "agent", .run = cmd_agent, .usage = agent_usage,
	    .has_subcommands = true },
};

int
main(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };

	/* Every command: refuse a memory limit we would crash under. */
	if (memlimit_check(0, "swarmctl", &err) != SC_OK) {
		fprintf(stderr, "swarmctl: %s\n", err.msg);
		return 1;
	}
	/* Not in the table: only pki_signer_start runs it (signerd.c). */
	if (argc >= 2 && strcmp(argv[1], "signer") == 0)
		return pki_signer_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	return cli_dispatch("swarmctl", commands,
	    sizeof(commands) / sizeof(commands[0]), usage, argc, argv);
}
