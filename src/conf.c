#include "config.h"

#include <arpa/inet.h>

#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db/db.h"
#include "hostcache.h"
#include "http/request.h"

/*
 * Where the shipped nginx block (ssl_client_certificate, ssl_crl) and
 * scripts/local-stack look: the same path whatever --prefix the build
 * had, so a command run without --ca-dir finds the deployment's CA.
 */
#define DEFAULT_CA_DIR	"/var/lib/swarmctl/ca"

enum {
	OPT_LISTEN = 'l',
	OPT_WORKERS = 'w',
	OPT_CA_DIR = 'c',
	OPT_DB = 'd',
	OPT_KEY_TYPE = 256,
	OPT_CA_KEY_TYPE,
	OPT_MAX_BODY,
	OPT_ALLOW_LOOPBACK,
	OPT_CRL_DAYS,
	OPT_KEY_POOL,
	OPT_HOST_CACHE,
	OPT_WORKER_SAN_ALLOW,
	OPT_READ_TIMEOUT,
	OPT_DB_TIMEOUT,
	OPT_FCGI_ALLOW,
	OPT_FCGI_ALLOW_USER,
	OPT_LISTEN_BACKLOG,
	OPT_LOG_FILE,
	OPT_OUT,
	OPT_PASSWORD_FILE,
	OPT_DAYS,
	OPT_CN,
	OPT_SAN,
	OPT_SERVICE_ROLE,
	OPT_WORKER_DAYS,
	OPT_STALE_AFTER,
	OPT_HEARTBEAT_COMMIT,
	OPT_CA_KEY_URL,
	OPT_FRONT_CA_KEY_URL,
};

static const struct option serve_options[] = {
	{ "listen",	 required_argument, NULL, OPT_LISTEN },
	{ "workers",	 required_argument, NULL, OPT_WORKERS },
	{ "ca-dir",	 required_argument, NULL, OPT_CA_DIR },
	{ "db",		 required_argument, NULL, OPT_DB },
	{ "key-type",	 required_argument, NULL, OPT_KEY_TYPE },
	{ "max-body",	 required_argument, NULL, OPT_MAX_BODY },
	{ "allow-loopback-operator", no_argument, NULL, OPT_ALLOW_LOOPBACK },
	{ "crl-next-update-days", required_argument, NULL, OPT_CRL_DAYS },
	{ "key-pool",	 required_argument, NULL, OPT_KEY_POOL },
	{ "host-cache",	 required_argument, NULL, OPT_HOST_CACHE },
	{ "worker-san-allow", required_argument, NULL, OPT_WORKER_SAN_ALLOW },
	{ "read-timeout", required_argument, NULL, OPT_READ_TIMEOUT },
	{ "db-timeout",	 required_argument, NULL, OPT_DB_TIMEOUT },
	{ "fcgi-allow",	 required_argument, NULL, OPT_FCGI_ALLOW },
	{ "fcgi-allow-user", required_argument, NULL, OPT_FCGI_ALLOW_USER },
	{ "listen-backlog", required_argument, NULL, OPT_LISTEN_BACKLOG },
	{ "log-file",	 required_argument, NULL, OPT_LOG_FILE },
	{ "worker-days", required_argument, NULL, OPT_WORKER_DAYS },
	{ "stale-after", required_argument, NULL, OPT_STALE_AFTER },
	{ "heartbeat-commit", required_argument, NULL, OPT_HEARTBEAT_COMMIT },
	{ NULL, 0, NULL, 0 },
};

static const struct option migrate_options[] = {
	{ "db",		required_argument, NULL, OPT_DB },
	{ "service-role", required_argument, NULL, OPT_SERVICE_ROLE },
	{ NULL, 0, NULL, 0 },
};

/* The CA and database options of serve, which every trust command takes. */
#define CA_DB_OPTIONS \
	{ "ca-dir",	required_argument, NULL, OPT_CA_DIR }, \
	{ "db",		required_argument, NULL, OPT_DB }

static const struct option ca_db_options[] = {
	CA_DB_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option operator_issue_options[] = {
	CA_DB_OPTIONS,
	{ "out",	required_argument, NULL, OPT_OUT },
	{ "p12-password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "days",	required_argument, NULL, OPT_DAYS },
	{ "key-type",	required_argument, NULL, OPT_KEY_TYPE },
	{ NULL, 0, NULL, 0 },
};

static const struct option server_cert_options[] = {
	CA_DB_OPTIONS,
	{ "cn",		required_argument, NULL, OPT_CN },
	{ "san",	required_argument, NULL, OPT_SAN },
	{ "out",	required_argument, NULL, OPT_OUT },
	{ "key-type",	required_argument, NULL, OPT_KEY_TYPE },
	{ NULL, 0, NULL, 0 },
};

static const struct option init_options[] = {
	CA_DB_OPTIONS,
	{ "ca-key-type", required_argument, NULL, OPT_CA_KEY_TYPE },
	{ "ca-key",	 required_argument, NULL, OPT_CA_KEY_URL },
	{ "front-ca-key", required_argument, NULL, OPT_FRONT_CA_KEY_URL },
	{ NULL, 0, NULL, 0 },
};

/* serve's --crl-next-update-days, under the name that reads right here. */
static const struct option crl_options[] = {
	CA_DB_OPTIONS,
	{ "next-update-days", required_argument, NULL, OPT_CRL_DAYS },
	{ NULL, 0, NULL, 0 },
};

char *
config_default_ca_dir(void)
{
	const char *env = getenv("SWARMCTL_CA_DIR");

	return strdup(env != NULL && *env != '\0' ? env : DEFAULT_CA_DIR);
}

static int
parse_number(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static enum sc_err
set_string(char **dst, const char *src, struct sc_error *err)
{
	free(*dst);
	if ((*dst = strdup(src)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = CONFIG_DEFAULT_WORKERS;
	cfg->host_cache = CONFIG_DEFAULT_HOST_CACHE;
	cfg->key_type = PKI_DEFAULT_WORKER_KEY;
	cfg->ca_key_type = PKI_DEFAULT_CA_KEY;
	cfg->max_body = HTTP_DEFAULT_MAX_BODY;
	cfg->crl_next_update = 7L * 24 * 3600;	/* RFC 5280 5.1.2.5 nextUpdate */
	cfg->read_timeout = CONFIG_DEFAULT_READ_TIMEOUT;
	cfg->listen_backlog = CONFIG_DEFAULT_LISTEN_BACKLOG;
	cfg->db_timeout = DB_TIMEOUT_DEFAULT;
	cfg->worker_days = PKI_WORKER_DAYS_DEFAULT;
	cfg->stale_after = DB_STALE_AFTER_DEFAULT;
}

static enum sc_err
add_san(struct config *cfg, const char *arg, struct sc_error *err)
{
	char **sans;

	if (cfg->nsans == CONFIG_MAX_SANS)
		return sc_error_set(err, SC_INVALID, "--san: at most %d",
		    CONFIG_MAX_SANS);
	if ((sans = reallocarray(cfg->sans, cfg->nsans + 1,
	    sizeof(*sans))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	cfg->sans = sans;
	if ((sans[cfg->nsans] = strdup(arg)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	cfg->nsans++;
	return SC_OK;
}

/* One IP address literal (no names: nothing to resolve, nothing to spoof). */
static enum sc_err
add_fcgi_allow(struct config *cfg, const char *item, const char *what,
    struct sc_error *err)
{
	struct in6_addr a, *list;
	unsigned char v4[4];

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, item, v4) == 1) {
		a.s6_addr[10] = a.s6_addr[11] = 0xff;	/* ::ffff:a.b.c.d */
		memcpy(&a.s6_addr[12], v4, sizeof(v4));
	} else if (inet_pton(AF_INET6, item, &a) != 1)
		return sc_error_set(err, SC_INVALID, "%s %s: expected IPv4 or "
		    "IPv6 addresses, comma-separated", what, item);
	if (cfg->nfcgi_allow == CONFIG_MAX_FCGI_ALLOW)
		return sc_error_set(err, SC_INVALID, "%s: at most %d addresses",
		    what, CONFIG_MAX_FCGI_ALLOW);
	if ((list = reallocarray(cfg->fcgi_allow, cfg->nfcgi_allow + 1,
	    sizeof(*list))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	cfg->fcgi_allow = list;
	list[cfg->nfcgi_allow++] = a;
	return SC_OK;
}

/* A user name, or a numeric uid (a user without a passwd entry). */
static enum sc_err
add_fcgi_allow_user(struct config *cfg, const char *item, const char *what,
    struct sc_error *err)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	long long n;
	uid_t *list, uid;

	if (parse_number(item, 0, (long long)UINT32_MAX - 1, &n) == 0)
		uid = (uid_t)n;
	else if (getpwnam_r(item, &pw, buf, sizeof(buf), &found) == 0 &&
	    found != NULL)
		uid = found->pw_uid;
	else
		return sc_error_set(err, SC_INVALID, "%s %s: no such user", what,
		    item);
	if (cfg->nfcgi_allow_uids == CONFIG_MAX_FCGI_ALLOW)
		return sc_error_set(err, SC_INVALID, "%s: at most %d users",
		    what, CONFIG_MAX_FCGI_ALLOW);
	if ((list = reallocarray(cfg->fcgi_allow_uids,
	    cfg->nfcgi_allow_uids + 1, sizeof(*list))) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	cfg->fcgi_allow_uids = list;
	list[cfg->nfcgi_allow_uids++] = uid;
	return SC_OK;
}

typedef enum sc_err (*list_item_fn)(struct config *, const char *item,
    const char *what, struct sc_error *);

/* Each item of a comma-separated list, as libfcgi's FCGI_WEB_SERVER_ADDRS. */
static enum sc_err
add_each(struct config *cfg, const char *list, const char *what,
    list_item_fn add, struct sc_error *err)
{
	char *copy, *item, *save = NULL;
	enum sc_err rc = SC_OK;

	if ((copy = strdup(list)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == SC_OK;
	    item = strtok_r(NULL, ",", &save))
		rc = add(cfg, item, what, err);
	free(copy);
	return rc;
}

/* The options of operator, server-cert and crl that serve does not have. */
static enum sc_err
trust_option(struct config *cfg, int opt, const char *arg,
    struct sc_error *err)
{
	long long n;

	switch (opt) {
	case OPT_OUT:
		return set_string(&cfg->out_dir, arg, err);
	case OPT_PASSWORD_FILE:
		return set_string(&cfg->password_file, arg, err);
	case OPT_DAYS:
		if (parse_number(arg, 1, CONFIG_MAX_DAYS, &n) == -1)
			return sc_error_set(err, SC_INVALID, "--days %s: "
			    "expected 1-%d", arg, CONFIG_MAX_DAYS);
		cfg->days = (int)n;
		return SC_OK;
	case OPT_CN:
		return set_string(&cfg->cn, arg, err);
	case OPT_SAN:
		return add_san(cfg, arg, err);
	case OPT_SERVICE_ROLE:
		/*
		 * PostgreSQL cuts longer names to NAMEDATALEN - 1 bytes: the
		 * grant could then go to another role than the one named.
		 */
		if (*arg == '\0' || strlen(arg) > CONFIG_MAX_ROLE_NAME)
			return sc_error_set(err, SC_INVALID, "--service-role: "
			    "expected a role name of 1-%d bytes",
			    CONFIG_MAX_ROLE_NAME);
		return set_string(&cfg->service_role, arg, err);
	}
	return sc_error_set(err, SC_INVALID, "unknown option");
}

static enum sc_err
serve_option(struct config *cfg, int opt, const char *arg,
    struct sc_error *err)
{
	long long n;

	switch (opt) {
	case OPT_LISTEN:
		if (strncmp(arg, "unix:", 5) != 0 && strrchr(arg, ':') == NULL)
			return sc_error_set(err, SC_INVALID, "--listen %s: "
			    "expected unix:PATH or HOST:PORT", arg);
		return set_string(&cfg->listen, arg, err);
	case OPT_WORKERS:
		if (parse_number(arg, 1, CONFIG_MAX_WORKERS, &n) == -1)
			return sc_error_set(err, SC_INVALID, "--workers %s: "
			    "expected 1-%d", arg, CONFIG_MAX_WORKERS);
		cfg->workers = (int)n;
		return SC_OK;
	case OPT_CA_DIR:
		return set_string(&cfg->ca_dir, arg, err);
	case OPT_CA_KEY_URL:
	case OPT_FRONT_CA_KEY_URL:
		/* Only tokens: a key file is what init makes by default. */
		if (strncmp(arg, "pkcs11:", 7) != 0)
			return sc_error_set(err, SC_INVALID, "%s %s: expected "
			    "a PKCS#11 URL (pkcs11:token=...;object=...)",
			    opt == OPT_CA_KEY_URL ? "--ca-key" :
			    "--front-ca-key", arg);
		return set_string(&cfg->ca_key_url[opt == OPT_CA_KEY_URL ?
		    PKI_CA_WORKER : PKI_CA_FRONT], arg, err);
	case OPT_DB:
		return set_string(&cfg->conninfo, arg, err);
	case OPT_KEY_TYPE:
	case OPT_CA_KEY_TYPE:
		if (pki_key_type_parse(arg, opt == OPT_KEY_TYPE ?
		    &cfg->key_type : &cfg->ca_key_type) == -1)
			return sc_error_set(err, SC_INVALID, "%s %s: expected "
			    "rsa-2048, rsa-3072, rsa-4096, ecdsa-p256, "
			    "ecdsa-p384 or ed25519", opt == OPT_KEY_TYPE ?
			    "--key-type" : "--ca-key-type", arg);
		return SC_OK;
	case OPT_MAX_BODY:
		if (parse_number(arg, 1024, 16 * 1024 * 1024, &n) == -1)
			return sc_error_set(err, SC_INVALID, "--max-body %s: "
			    "expected 1024-16777216 bytes", arg);
		cfg->max_body = (size_t)n;
		return SC_OK;
	case OPT_KEY_POOL:
		if (parse_number(arg, 0, 4096, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--key-pool %s: expected 0-4096 keys", arg);
		cfg->key_pool = (int)n;
		return SC_OK;
	case OPT_HOST_CACHE:
		if (parse_number(arg, 0, HOST_CACHE_MAX_SLOTS, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--host-cache %s: expected 0-%d hosts", arg,
			    HOST_CACHE_MAX_SLOTS);
		cfg->host_cache = (int)n;
		return SC_OK;
	case OPT_ALLOW_LOOPBACK:
		cfg->allow_loopback_operator = 1;
		return SC_OK;
	case OPT_WORKER_SAN_ALLOW:
		return policy_allow(&cfg->worker_names, arg, err);
	case OPT_READ_TIMEOUT:
		if (parse_number(arg, 1, CONFIG_MAX_READ_TIMEOUT, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--read-timeout %s: expected 1-%d seconds", arg,
			    CONFIG_MAX_READ_TIMEOUT);
		cfg->read_timeout = (int)n;
		return SC_OK;
	case OPT_LISTEN_BACKLOG:
		if (parse_number(arg, 1, CONFIG_MAX_LISTEN_BACKLOG, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--listen-backlog %s: expected 1-%d connections",
			    arg, CONFIG_MAX_LISTEN_BACKLOG);
		cfg->listen_backlog = (int)n;
		return SC_OK;
	case OPT_LOG_FILE:
		return set_string(&cfg->log_file, arg, err);
	case OPT_WORKER_DAYS:
		if (parse_number(arg, 1, PKI_WORKER_DAYS_MAX, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--worker-days %s: expected 1-%d days", arg,
			    PKI_WORKER_DAYS_MAX);
		cfg->worker_days = (int)n;
		return SC_OK;
	case OPT_STALE_AFTER:
		if (parse_number(arg, 1, CONFIG_MAX_STALE_AFTER, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--stale-after %s: expected 1-%d seconds", arg,
			    CONFIG_MAX_STALE_AFTER);
		cfg->stale_after = (int)n;
		return SC_OK;
	case OPT_HEARTBEAT_COMMIT:
		if (strcmp(arg, "sync") != 0 && strcmp(arg, "async") != 0)
			return sc_error_set(err, SC_INVALID,
			    "--heartbeat-commit %s: expected sync or async",
			    arg);
		cfg->heartbeat_durable = strcmp(arg, "sync") == 0;
		return SC_OK;
	case OPT_DB_TIMEOUT:
		if (parse_number(arg, 1, CONFIG_MAX_DB_TIMEOUT, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--db-timeout %s: expected 1-%d seconds", arg,
			    CONFIG_MAX_DB_TIMEOUT);
		cfg->db_timeout = (int)n;
		return SC_OK;
	case OPT_FCGI_ALLOW:
		return add_each(cfg, arg, "--fcgi-allow", add_fcgi_allow, err);
	case OPT_FCGI_ALLOW_USER:
		return add_each(cfg, arg, "--fcgi-allow-user",
		    add_fcgi_allow_user, err);
	case OPT_CRL_DAYS:
		if (parse_number(arg, 1, 365, &n) == -1)
			return sc_error_set(err, SC_INVALID,
			    "--crl-next-update-days %s: expected 1-365", arg);
		cfg->crl_next_update = (long)n * 24 * 3600;
		return SC_OK;
	}
	return trust_option(cfg, opt, arg, err);
}

/* `operands`: how many arguments besides the options (0 or 1). */
static enum sc_err
parse(struct config *cfg, int argc, char *argv[],
    const struct option *options, int operands, struct sc_error *err)
{
	enum sc_err rc;
	int opt;

	config_defaults(cfg);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return sc_error_set(err, SC_INVALID,
			    "%s: unknown option or missing argument: %s",
			    argv[0], argv[optind - 1]);
		if ((rc = serve_option(cfg, opt, optarg, err)) != SC_OK)
			return rc;
	}
	if (argc - optind > operands)
		return sc_error_set(err, SC_INVALID, "%s: unexpected argument: "
		    "%s", argv[0], argv[optind + operands]);
	if (argc - optind < operands)
		return sc_error_set(err, SC_INVALID, "%s: missing argument",
		    argv[0]);
	if (operands == 1 && set_string(&cfg->operand, argv[optind],
	    err) != SC_OK)
		return SC_INTERNAL;
	if (cfg->ca_dir == NULL &&
	    (cfg->ca_dir = config_default_ca_dir()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

enum sc_err
config_parse_serve(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	const char *env = getenv("FCGI_WEB_SERVER_ADDRS");

	if (parse(cfg, argc, argv, serve_options, 0, err) != SC_OK)
		return err->code;
	/*
	 * libfcgi's variable for the same list.  libfcgi never sees our
	 * connections (server.c accepts them), so we honour it ourselves.
	 */
	if (env != NULL && *env != '\0')
		return add_each(cfg, env, "FCGI_WEB_SERVER_ADDRS",
		    add_fcgi_allow, err);
	return SC_OK;
}

enum sc_err
config_parse_migrate(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, migrate_options, 0, err);
}

static enum sc_err
require(const char *value, const char *cmd, const char *option,
    struct sc_error *err)
{
	if (value == NULL)
		return sc_error_set(err, SC_INVALID, "%s: %s is required", cmd,
		    option);
	return SC_OK;
}

enum sc_err
config_parse_operator_issue(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = parse(cfg, argc, argv, operator_issue_options, 1,
	    err)) != SC_OK)
		return rc;
	if (cfg->days == 0)
		cfg->days = PKI_OPERATOR_DAYS;
	return require(cfg->out_dir, argv[0], "--out DIR", err);
}

enum sc_err
config_parse_operator_list(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, ca_db_options, 0, err);
}

enum sc_err
config_parse_operator_revoke(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, ca_db_options, 1, err);
}

enum sc_err
config_parse_server_cert(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = parse(cfg, argc, argv, server_cert_options, 0,
	    err)) != SC_OK ||
	    (rc = require(cfg->cn, argv[0], "--cn CN", err)) != SC_OK)
		return rc;
	return require(cfg->out_dir, argv[0], "--out DIR", err);
}

enum sc_err
config_parse_init(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, init_options, 0, err);
}

enum sc_err
config_parse_crl(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, crl_options, 0, err);
}

void
config_free(struct config *cfg)
{
	size_t i;

	free(cfg->listen);
	free(cfg->ca_dir);
	free(cfg->conninfo);
	free(cfg->operand);
	free(cfg->out_dir);
	free(cfg->password_file);
	free(cfg->cn);
	free(cfg->service_role);
	free(cfg->log_file);
	free(cfg->ca_key_url[PKI_CA_WORKER]);
	free(cfg->ca_key_url[PKI_CA_FRONT]);
	for (i = 0; i < cfg->nsans; i++)
		free(cfg->sans[i]);
	free(cfg->sans);
	free(cfg->fcgi_allow);
	free(cfg->fcgi_allow_uids);
	memset(cfg, 0, sizeof(*cfg));
}
