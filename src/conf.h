/*
 * Command-line configuration of `swarmctl serve`, `swarmctl migrate` and
 * the trust commands (operator, server-cert, crl), parsed and checked
 * once at start-up into a typed struct.
 */
#ifndef SC_CONF_H
#define SC_CONF_H

#include <sys/types.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "sc_limits.h"
#include "pki/pki.h"
#include "policy.h"

#define CONFIG_DEFAULT_WORKERS	4
#define CONFIG_MAX_WORKERS	256
#define CONFIG_MAX_DAYS		3650	/* the CA's own lifetime */
#define CONFIG_MAX_SANS		SC_SANS_MAX
#define CONFIG_DEFAULT_HOST_CACHE 256
#define CONFIG_MAX_ROLE_NAME	63	/* PostgreSQL's NAMEDATALEN - 1 */
#define CONFIG_DEFAULT_READ_TIMEOUT 15	/* seconds */
#define CONFIG_MAX_READ_TIMEOUT	3600
#define CONFIG_MAX_DB_TIMEOUT	300	/* seconds */
#define CONFIG_MAX_STALE_AFTER	86400	/* seconds */
#define CONFIG_MAX_FCGI_ALLOW	64	/* addresses, and users */
/* Connections that wait for a worker (net.core.somaxconn caps it). */
#define CONFIG_DEFAULT_LISTEN_BACKLOG 1024
#define CONFIG_MAX_LISTEN_BACKLOG 65535

struct config {
	char			*listen;	/* NULL: serve on stdin */
	int			 workers;
	char			*ca_dir;
	char			*conninfo;	/* NULL: libpq environment */
	enum pki_key_type	 key_type;
	enum pki_key_type	 ca_key_type;
	/* init --ca-key / --front-ca-key: the CA key on a PKCS#11 token */
	char			*ca_key_url[PKI_NCA_ROLES];
	size_t			 max_body;
	int			 allow_loopback_operator;
	long			 crl_next_update;	/* seconds */
	int			 key_pool;	/* worker keys kept ready */
	int			 host_cache;	/* hosts kept per worker */
	struct name_policy	 worker_names;	/* --worker-san-allow */
	/*
	 * Who may speak FastCGI to us (http/peer.h has the rules):
	 * --fcgi-allow and FCGI_WEB_SERVER_ADDRS (IPv4 as ::ffff:a.b.c.d),
	 * and --fcgi-allow-user.
	 */
	struct in6_addr		*fcgi_allow;
	size_t			 nfcgi_allow;
	uid_t			*fcgi_allow_uids;
	size_t			 nfcgi_allow_uids;
	int			 read_timeout;	/* seconds a read may wait */
	int			 listen_backlog;
	char			*log_file;	/* NULL: standard error */
	int			 db_timeout;	/* seconds a database wait may take */
	int			 worker_days;	/* worker certificate validity */
	int			 stale_after;	/* seconds: heartbeat "unreachable" */
	bool			 heartbeat_durable;	/* --heartbeat-commit sync */
	/* operator issue/revoke, server-cert */
	char			*operand;	/* NAME or FINGERPRINT */
	char			*out_dir;
	char			*password_file;	/* NULL: "" */
	int			 days;
	char			*cn;
	char			**sans;
	size_t			 nsans;
	/* migrate: the role to grant what serve needs; NULL: none */
	char			*service_role;
};

/*
 * Parse argv (argv[0] is the subcommand name).  SC_INVALID with a message
 * for the operator on a bad option.
 */
enum sc_err	 config_parse_serve(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_migrate(struct config *, int, char *[],
		    struct sc_error *);
/* argv[0] is "issue", "list", "revoke"; "server-cert"; "crl". */
enum sc_err	 config_parse_operator_issue(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_operator_list(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_operator_revoke(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_server_cert(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_crl(struct config *, int, char *[],
		    struct sc_error *);
enum sc_err	 config_parse_init(struct config *, int, char *[],
		    struct sc_error *);
void		 config_free(struct config *);

/* $SWARMCTL_CA_DIR, else /var/lib/swarmctl/ca (malloc'd). */
char		*config_default_ca_dir(void);

#endif
