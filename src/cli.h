/*
 * Subcommand tables.  A command is a row: its name, the function that
 * runs it and its usage text.  One dispatcher serves `swarmctl CMD` and
 * `swarmctl operator SUB`, so every command answers --help (or -h) the
 * same way -- its own usage on stdout, exit 0 -- and bad usage the same
 * way -- the message and the usage on stderr, exit 2.  A new command is
 * one more row (with .usage) in main.c's table.
 */
#ifndef SC_CLI_H
#define SC_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define CLI_USAGE	2	/* exit status for bad usage */

struct cli_command {
	const char	*name;
	/* argv[0] is the command's name; returns the exit status. */
	int		(*run)(int argc, char *argv[]);
	/* "usage: swarmctl NAME ...", then what the command does. */
	const char	*usage;
	/*
	 * run dispatches to a table of its own (operator issue|list|revoke),
	 * which answers --help for each of its rows.
	 */
	bool		 has_subcommands;
};

/*
 * Run the row of `table` that argv[1] names.  `prog` names the table in
 * messages ("swarmctl", "swarmctl operator"); `usage` is the table's own.
 * A row's arguments asking for help print the row's usage instead.
 */
int	cli_dispatch(const char *prog, const struct cli_command *table,
	    size_t n, const char *usage, int argc, char *argv[]);

/* The message and the usage on stderr; returns CLI_USAGE. */
int	cli_usage_error(const struct sc_error *, const char *usage);

#endif
