/*
 * Command-line configuration of `swarmctl serve` and `swarmctl migrate`,
 * parsed and checked once at start-up into a typed struct.
 */
#ifndef SC_CONF_H
#define SC_CONF_H

#include <stddef.h>

#include "err.h"
#include "pki/pki.h"

#define CONFIG_DEFAULT_WORKERS	4
#define CONFIG_MAX_WORKERS	256

struct config {
	char			*listen;	/* NULL: serve on stdin */
	int			 workers;
	char			*ca_dir;
	char			*conninfo;	/* NULL: libpq environment */
	enum pki_key_type	 key_type;
	enum pki_key_type	 ca_key_type;
	size_t			 max_body;
};

/*
 * Parse argv (argv[0] is the subcommand name).  SC_INVALID with a message
 * for the operator on a bad option.
 */
enum sc_err	 config_parse_serve(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_migrate(struct config *, int, char *[],
		    struct sc_error *);
void		 config_free(struct config *);

/* $SWARMCTL_CA_DIR, else LOCALSTATEDIR/lib/swarmctl/ca (malloc'd). */
char		*config_default_ca_dir(void);

#endif
