#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http/request.h"

#ifndef SWARMCTL_LOCALSTATEDIR
#define SWARMCTL_LOCALSTATEDIR "/var"
#endif

enum {
	OPT_LISTEN = 'l',
	OPT_WORKERS = 'w',
	OPT_CA_DIR = 'c',
	OPT_DB = 'd',
	OPT_KEY_TYPE = 256,
	OPT_CA_KEY_TYPE,
	OPT_MAX_BODY,
};

static const struct option serve_options[] = {
	{ "listen",	 required_argument, NULL, OPT_LISTEN },
	{ "workers",	 required_argument, NULL, OPT_WORKERS },
	{ "ca-dir",	 required_argument, NULL, OPT_CA_DIR },
	{ "db",		 required_argument, NULL, OPT_DB },
	{ "key-type",	 required_argument, NULL, OPT_KEY_TYPE },
	{ "ca-key-type", required_argument, NULL, OPT_CA_KEY_TYPE },
	{ "max-body",	 required_argument, NULL, OPT_MAX_BODY },
	{ NULL, 0, NULL, 0 },
};

static const struct option migrate_options[] = {
	{ "db",		required_argument, NULL, OPT_DB },
	{ NULL, 0, NULL, 0 },
};

char *
config_default_ca_dir(void)
{
	const char *env = getenv("SWARMCTL_CA_DIR");
	char *path = NULL;

	if (env != NULL && *env != '\0')
		return strdup(env);
	if (asprintf(&path, "%s/lib/swarmctl/ca", SWARMCTL_LOCALSTATEDIR) == -1)
		return NULL;
	return path;
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
	cfg->key_type = PKI_DEFAULT_WORKER_KEY;
	cfg->ca_key_type = PKI_DEFAULT_CA_KEY;
	cfg->max_body = HTTP_DEFAULT_MAX_BODY;
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
	}
	return sc_error_set(err, SC_INVALID, "unknown option");
}

static enum sc_err
parse(struct config *cfg, int argc, char *argv[],
    const struct option *options, struct sc_error *err)
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
	if (optind != argc)
		return sc_error_set(err, SC_INVALID, "%s: unexpected argument: "
		    "%s", argv[0], argv[optind]);
	if (cfg->ca_dir == NULL &&
	    (cfg->ca_dir = config_default_ca_dir()) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	return SC_OK;
}

enum sc_err
config_parse_serve(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, serve_options, err);
}

enum sc_err
config_parse_migrate(struct config *cfg, int argc, char *argv[],
    struct sc_error *err)
{
	return parse(cfg, argc, argv, migrate_options, err);
}

void
config_free(struct config *cfg)
{
	free(cfg->listen);
	free(cfg->ca_dir);
	free(cfg->conninfo);
	memset(cfg, 0, sizeof(*cfg));
}
