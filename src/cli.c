#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static bool
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* --help or -h anywhere among the options (up to a "--"). */
static bool
help_requested(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help(argv[i]))
			return true;
	return false;
}

int
cli_dispatch(const char *prog, const struct cli_command *table, size_t n,
    const char *usage, int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], table[i].name) != 0)
			continue;
		if (!table[i].has_subcommands &&
		    help_requested(argc - 1, argv + 1)) {
			fputs(table[i].usage, stdout);
			return 0;
		}
		return table[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s'\n%s", prog, argv[1], usage);
	return CLI_USAGE;
}

int
cli_usage_error(const struct sc_error *err, const char *usage)
{
	fprintf(stderr, "swarmctl: %s\n%s", err->msg, usage);
	return CLI_USAGE;
}
