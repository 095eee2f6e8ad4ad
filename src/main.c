/*
 * swarmctl: the private-CA enrollment service for a swarm of worker hosts.
 * One program, subcommands dispatched from a table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "serve.h"

static const char usage[] =
    "usage: swarmctl <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--listen unix:PATH|HOST:PORT] [--workers N] [--ca-dir DIR]\n"
    "        [--db CONNINFO] [--key-type T] [--ca-key-type T]\n"
    "        [--max-body BYTES]\n"
    "      Run the FastCGI responder.  Without --listen, serve on standard\n"
    "      input if it is a listening socket (spawn-fcgi, systemd).\n"
    "  migrate [--db CONNINFO]\n"
    "      Apply pending database migrations (safe to run concurrently).\n"
    "\n"
    "  --help, --version\n"
    "\n"
    "--db takes a libpq connection string; without it PGHOST, PGDATABASE,\n"
    "... apply.  --ca-dir defaults to $SWARMCTL_CA_DIR, else\n"
    "LOCALSTATEDIR/lib/swarmctl/ca.  Key types: rsa-2048 (worker default),\n"
    "rsa-3072, rsa-4096 (CA default), ecdsa-p256, ecdsa-p384, ed25519.\n";

static const struct {
	const char	*name;
	int		(*run)(int, char *[]);
} commands[] = {
	{ "serve",	cmd_serve },
	{ "migrate",	cmd_migrate },
};

int
main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "swarmctl: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
