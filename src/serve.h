/* The `serve` and `migrate` subcommands: start-up checks, then work. */
#ifndef SC_SERVE_H
#define SC_SERVE_H

int	cmd_serve(int, char *[]);
int	cmd_migrate(int, char *[]);

/* What `swarmctl serve --help` and `swarmctl migrate --help` print. */
extern const char serve_usage[];
extern const char migrate_usage[];

#endif
