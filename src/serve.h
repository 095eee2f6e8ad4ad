/* The `serve` and `migrate` subcommands: start-up checks, then work. */
#ifndef SC_SERVE_H
#define SC_SERVE_H

int	cmd_serve(int, char *[]);
int	cmd_migrate(int, char *[]);

#endif
