/*
 * The agent's commands.  Each is a sequence of steps, and each step
 * that can fail knows which exit status its failure means (agent.h):
 * the HTTP client says whether an answer arrived, the store whether the
 * disk did what it was asked, and only this file turns that into a
 * message and an exit status.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "agent/agent.h"
#include "agent/http.h"
#include "agent/proto.h"
#include "agent/store.h"
#include "cli.h"
#include "err.h"
#include "pki/pki.h"

#define TOKEN_MAX	256
#define URL_MAX		1024
#define DAYS_MAX	3650

static const char enroll_usage[] =
    "usage: swarmctl agent enroll --url URL --ca-fingerprint SHA256 --dir DIR\n"
    "        (--token TOKEN | --token-file FILE|-) [--key-type T]\n"
    "      Enroll this worker with a one-time token from the operator\n"
    "      (POST /swarm/tokens).  The controller's CA is fetched from\n"
    "      URL/swarm/front-ca.pem and accepted only if its SHA-256 is\n"
    "      SHA256 (hex; colons, case and a sha256: prefix are ignored);\n"
    "      the token is sent only after that, over TLS verified against\n"
    "      that CA alone.  The key (default ecdsa-p256; also rsa-2048,\n"
    "      ...) is made here and never leaves DIR.  Writes DIR/key.pem\n"
    "      (0600), cert.pem, ca.pem (worker CA) and controller-ca.pem.\n";
static const char renew_usage[] =
    "usage: swarmctl agent renew --url URL --dir DIR\n"
    "        [--if-expiring-within DAYS] [--key-type T]\n"
    "      Replace the certificate in DIR with one for a fresh key,\n"
    "      authenticating with the current one (POST /swarm/renew).\n"
    "      With --if-expiring-within, only if it expires within DAYS.\n"
    "      A crash leaves the old set or the new one, never a mix; a\n"
    "      retry after a lost answer picks up the same certificate.\n";
static const char heartbeat_usage[] =
    "usage: swarmctl agent heartbeat --url URL --dir DIR\n"
    "        [--status ok|degraded]\n"
    "      Tell the controller this worker is alive (POST\n"
    "      /swarm/heartbeat), with this agent's version.\n";

const char agent_usage[] =
    "usage: swarmctl agent enroll|renew|heartbeat [options]\n"
    "  enroll --url URL --ca-fingerprint SHA256 --dir DIR\n"
    "        (--token TOKEN | --token-file FILE|-) [--key-type T]\n"
    "  renew --url URL --dir DIR [--if-expiring-within DAYS]\n"
    "  heartbeat --url URL --dir DIR [--status ok|degraded]\n"
    "      The worker's side: swarmctl agent COMMAND --help for each.\n"
    "\n"
    "exit status: 0 done (renew: or not due yet; stdout says which),\n"
    "  64 usage, 65 bad local state or input (e.g. DIR not enrolled,\n"
    "  CA fingerprint mismatch), 73 cannot write DIR,\n"
    "  75 transient (network, timeout, 5xx,\n"
    "  429: try again later), 76 unexpected answer from the controller,\n"
    "  77 refused (401/403: token used or expired, certificate\n"
    "  superseded or revoked, host decommissioned: needs a new token).\n";

struct agent_opts {
	const char	*url;
	const char	*dir;
	const char	*token;
	const char	*token_file;
	const char	*fingerprint;
	const char	*status;
	enum pki_key_type key_type;
	long		 within_days;	/* -1: renew whatever the expiry */
	char		 url_buf[URL_MAX];
	char		 want_fp[PKI_FINGERPRINT_LEN + 1];
};

/* One command's context: where to report, what it was called with. */
struct run {
	const char		*name;	/* "enroll", ... */
	const char		*usage;
	struct agent_opts	 o;
	struct sc_error		 err;
};

static int
fail(struct run *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct run *r, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "swarmctl agent %s: ", r->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static int
usage_error(struct run *r, const char *msg)
{
	fprintf(stderr, "swarmctl agent %s: %s\n%s", r->name, msg, r->usage);
	return EX_USAGE;
}

/*
 * "sha256:AB:CD..." or "abcd..." -> 64 lowercase hex digits, as
 * kubeadm's --discovery-token-ca-cert-hash and openssl -fingerprint
 * write them.
 */
static bool
normalize_fingerprint(const char *in, char out[PKI_FINGERPRINT_LEN + 1])
{
	size_t n = 0;

	if (strncasecmp(in, "sha256:", 7) == 0)
		in += 7;
	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || n == PKI_FINGERPRINT_LEN)
			return false;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return n == PKI_FINGERPRINT_LEN;
}

static bool
valid_url(const char *url, char *out, size_t size)
{
	size_t n = strlen(url), i;

	if (strncmp(url, "https://", 8) != 0 || n <= 8 || n >= size)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return false;
	memcpy(out, url, n + 1);
	while (n > 8 && out[n - 1] == '/')
		out[--n] = '\0';
	return true;
}

enum { OPT_URL = 1, OPT_DIR, OPT_TOKEN, OPT_TOKEN_FILE, OPT_FP, OPT_KEY,
    OPT_WITHIN, OPT_STATUS };

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "ca-fingerprint", required_argument, NULL, OPT_FP },
	{ "key-type", required_argument, NULL, OPT_KEY },
	{ "if-expiring-within", required_argument, NULL, OPT_WITHIN },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ NULL, 0, NULL, 0 },
};

/* `allowed` lists the option values this command takes. */
static int
parse_opts(struct run *r, const char *allowed, int argc, char *argv[])
{
	struct agent_opts *o = &r->o;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->key_type = PKI_KEY_ECDSA_P256;
	o->within_days = -1;
	o->status = "ok";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':' || strchr(allowed, c) == NULL)
			return usage_error(r, "unknown option or missing value");
		switch (c) {
		case OPT_URL:
			if (!valid_url(optarg, o->url_buf, sizeof(o->url_buf)))
				return usage_error(r, "--url must be https://HOST[:PORT]");
			o->url = o->url_buf;
			break;
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_FP:
			if (!normalize_fingerprint(optarg, o->want_fp))
				return usage_error(r, "--ca-fingerprint must be "
				    "a SHA-256 in hex (64 digits)");
			o->fingerprint = o->want_fp;
			break;
		case OPT_KEY:
			if (pki_key_type_parse(optarg, &o->key_type) != 0)
				return usage_error(r, "unknown --key-type");
			break;
		case OPT_WITHIN:
			o->within_days = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    o->within_days < 1 || o->within_days > DAYS_MAX)
				return usage_error(r, "--if-expiring-within "
				    "takes 1 to 3650 days");
			break;
		case OPT_STATUS:
			if (strcmp(optarg, "ok") != 0 &&
			    strcmp(optarg, "degraded") != 0)
				return usage_error(r, "--status is ok or degraded");
			o->status = optarg;
			break;
		}
	}
	if (optind != argc)
		return usage_error(r, "unexpected argument");
	if (o->url == NULL || o->dir == NULL)
		return usage_error(r, "--url and --dir are required");
	return 0;
}

/* The exit status for an answer other than the one hoped for. */
static int
http_fail(struct run *r, const char *what, const struct agent_reply *rep)
{
	char detail[200];
	int status;

	agent_detail(rep->body, rep->len, detail, sizeof(detail));
	if (rep->status == 401 || rep->status == 403)
		status = EX_NOPERM;
	else if (rep->status == 408 || rep->status == 429 ||
	    rep->status >= 500)
		status = EX_TEMPFAIL;
	else
		status = EX_PROTOCOL;
	return fail(r, status, "%s: HTTP %ld%s%s%s", what, rep->status,
	    detail[0] != '\0' ? " (" : "", detail,
	    detail[0] != '\0' ? ")" : "");
}

static void
format_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* ------------------------------------------------------------ token */

/* PATH split into its directory and name for pki_file_read. */
static int
read_secret_file(struct run *r, const char *path, char **buf, size_t *len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return fail(r, EX_DATAERR, "%s: name too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (pki_file_read(dir, slash == NULL ? path : slash + 1, false,
	    TOKEN_MAX, buf, len, &r->err) != SC_OK)
		return fail(r, EX_DATAERR, "%s", r->err.msg);
	return 0;
}

/* The token, from --token, a file or standard input; never printed. */
static int
read_token(struct run *r, char token[TOKEN_MAX])
{
	const struct agent_opts *o = &r->o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((o->token != NULL) == (o->token_file != NULL))
		return usage_error(r, "give one of --token and --token-file");
	if (o->token != NULL) {
		len = strlen(o->token);
		if (len >= TOKEN_MAX)
			return fail(r, EX_DATAERR, "token too long");
		memcpy(token, o->token, len + 1);
	} else if (strcmp(o->token_file, "-") == 0) {
		f = stdin;
		if (fgets(token, TOKEN_MAX, f) == NULL)
			return fail(r, EX_DATAERR, "no token on standard input");
	} else {
		if (read_secret_file(r, o->token_file, &buf, &len) != 0)
			return EX_DATAERR;
		memcpy(token, buf, len + 1);
		pki_secret_free(buf, len);
	}
	len = strlen(token);
	while (len > 0 && isspace((unsigned char)token[len - 1]))
		token[--len] = '\0';
	/* It goes into a header: visible ASCII only. */
	for (size_t i = 0; i < len; i++)
		if (token[i] <= 0x20 || token[i] >= 0x7f)
			return fail(r, EX_DATAERR, "the token has a character "
			    "no token has");
	if (len == 0)
		return fail(r, EX_DATAERR, "empty token");
	return 0;
}

/* ------------------------------------------------------------ shared */

/* A CSR for key_pem, as the JSON body {"csr_pem": ...}. */
static int
csr_body(struct run *r, const char *key_pem, size_t key_len, char **body)
{
	char host[256] = "swarm-worker", *csr = NULL;

	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if (pki_csr_make(key_pem, key_len, host, &csr, &r->err) != SC_OK)
		return fail(r, EX_SOFTWARE, "%s", r->err.msg);
	*body = agent_csr_body(csr);
	free(csr);
	if (*body == NULL)
		return fail(r, EX_OSERR, "out of memory");
	return 0;
}

/*
 * The answer to a CSR: a bundle whose certificate is for our key and
 * has the fingerprint the controller says, with exactly one worker CA.
 */
static int
check_bundle(struct run *r, const struct agent_reply *rep,
    const char *key_pem, size_t key_len, struct agent_bundle *b,
    struct pki_cert_info *info)
{
	char key_id[PKI_FINGERPRINT_LEN + 1];
	struct pki_cert_info ca;

	if (agent_bundle_parse(rep->body, rep->len, b, &r->err) != SC_OK ||
	    pki_cert_inspect(b->worker_cert_pem, strlen(b->worker_cert_pem),
	    info, NULL, &r->err) != SC_OK ||
	    pki_cert_inspect(b->ca_cert_pem, strlen(b->ca_cert_pem), &ca,
	    NULL, &r->err) != SC_OK)
		return fail(r, EX_PROTOCOL, "%s", r->err.msg);
	if (pki_key_id(key_pem, key_len, key_id, &r->err) != SC_OK)
		return fail(r, EX_DATAERR, "%s", r->err.msg);
	if (strcmp(key_id, info->key_id) != 0)
		return fail(r, EX_PROTOCOL, "the certificate received is not "
		    "for our key");
	if (strcmp(b->fingerprint, info->fingerprint) != 0)
		return fail(r, EX_PROTOCOL, "the certificate received does not "
		    "have the fingerprint the controller gives");
	return 0;
}

/*
 * Send a CSR for key_pem to `path` (token redemption or renewal) and
 * check the bundle that comes back: `expect` is the success status.
 */
static int
certify(struct run *r, const struct agent_http *h, const char *path,
    int expect, const char *key_pem, size_t key_len,
    struct agent_reply *rep, struct agent_bundle *b,
    struct pki_cert_info *info)
{
	char *body = NULL;
	int status;

	if ((status = csr_body(r, key_pem, key_len, &body)) != 0)
		goto out;
	if (agent_http_call(h, "POST", path, body, rep, &r->err) != SC_OK) {
		status = fail(r, EX_TEMPFAIL, "%s", r->err.msg);
		goto out;
	}
	if (rep->status != expect) {
		status = http_fail(r, path, rep);
		goto out;
	}
	status = check_bundle(r, rep, key_pem, key_len, b, info);
out:
	free(body);
	return status;
}

/* ------------------------------------------------------------ enroll */

/*
 * The first contact: the controller's CA, fetched without verification
 * (there is nothing to verify with yet) and accepted only if it is the
 * one the operator's fingerprint names.  Nothing secret is sent.
 */
static int
fetch_anchor(struct run *r, char **anchor)
{
	struct agent_http h = { .url = r->o.url };
	struct agent_reply rep = { 0, NULL, 0 };
	struct pki_cert_info info;
	int status = 0;

	*anchor = NULL;
	if (agent_http_call(&h, "GET", "/swarm/front-ca.pem", NULL, &rep,
	    &r->err) != SC_OK)
		return fail(r, EX_TEMPFAIL, "%s", r->err.msg);
	if (rep.status != 200) {
		status = http_fail(r, "GET /swarm/front-ca.pem", &rep);
		goto out;
	}
	if (pki_cert_inspect(rep.body, rep.len, &info, anchor,
	    &r->err) != SC_OK) {
		status = fail(r, EX_PROTOCOL, "GET /swarm/front-ca.pem: %s",
		    r->err.msg);
		goto out;
	}
	if (strcmp(info.fingerprint, r->o.fingerprint) != 0) {
		status = fail(r, EX_DATAERR, "%s/swarm/front-ca.pem has "
		    "fingerprint %s, not %s: not the controller expected "
		    "(nothing was sent)", r->o.url, info.fingerprint,
		    r->o.fingerprint);
		free(*anchor);
		*anchor = NULL;
	}
out:
	agent_reply_free(&rep);
	return status;
}

static int
enroll(struct run *r, struct agent_store *st, const char *token)
{
	struct agent_http h = { .url = r->o.url, .bearer = token };
	struct agent_reply rep = { 0, NULL, 0 };
	struct agent_bundle b = { .ca_cert_pem = NULL };
	struct agent_set set;
	struct pki_cert_info info;
	char anchor_file[PATH_MAX], when[32], *anchor = NULL, *key = NULL;
	size_t key_len = 0;
	int status;

	if ((status = fetch_anchor(r, &anchor)) != 0)
		goto out;
	if (agent_store_stage_anchor(st, anchor, anchor_file,
	    &r->err) != SC_OK) {
		status = fail(r, EX_CANTCREAT, "%s", r->err.msg);
		goto out;
	}
	h.ca_file = anchor_file;
	if (pki_key_generate_pem(r->o.key_type, &key, &key_len,
	    &r->err) != SC_OK) {
		status = fail(r, EX_SOFTWARE, "%s", r->err.msg);
		goto out;
	}
	if ((status = certify(r, &h, "/swarm/enroll/token", 201, key, key_len,
	    &rep, &b, &info)) != 0)
		goto out;
	if (agent_store_commit(st, 0, &(struct agent_files){ .key_pem = key,
	    .key_len = key_len, .cert_pem = b.worker_cert_pem,
	    .ca_pem = b.ca_cert_pem, .controller_ca_pem = anchor }, &set,
	    &r->err) != SC_OK) {
		status = fail(r, EX_CANTCREAT, "%s", r->err.msg);
		goto out;
	}
	format_time(info.not_after, when);
	printf("enrolled %s (host %s): certificate %s valid until %s, in %s\n",
	    b.name, b.host_uuid, info.fingerprint, when, st->dir);
out:
	agent_bundle_free(&b);
	agent_reply_free(&rep);
	pki_secret_free(key, key_len);
	free(anchor);
	return status;
}

static int
cmd_enroll(int argc, char *argv[])
{
	struct run r = { .name = "enroll", .usage = enroll_usage };
	struct agent_store st = { .dirfd = -1, .lockfd = -1 };
	struct agent_set set;
	char token[TOKEN_MAX] = "";
	int status;

	if ((status = parse_opts(&r, (char[]){ OPT_URL, OPT_DIR, OPT_TOKEN,
	    OPT_TOKEN_FILE, OPT_FP, OPT_KEY, 0 }, argc, argv)) != 0)
		return status;
	if (r.o.fingerprint == NULL)
		return usage_error(&r, "--ca-fingerprint is required");
	if ((status = read_token(&r, token)) != 0)
		goto out;
	if (agent_store_open(&st, r.o.dir, true, true, &r.err) != SC_OK) {
		status = fail(&r, EX_CANTCREAT, "%s", r.err.msg);
		goto out;
	}
	if (agent_store_current(&st, &set, &r.err) != SC_NOT_FOUND) {
		status = fail(&r, EX_DATAERR, "%s is enrolled already (%s): "
		    "use renew, or a new directory", st.dir, set.path);
		goto out;
	}
	status = enroll(&r, &st, token);
out:
	gnutls_memset(token, 0, sizeof(token));
	agent_store_close(&st);
	return status;
}

/* ------------------------------------------------------------ renew */

/* The current set's certificate, inspected. */
static int
load_current(struct run *r, struct agent_store *st, struct agent_set *set,
    struct pki_cert_info *info)
{
	char *pem = NULL;
	size_t len = 0;

	if (agent_store_current(st, set, &r->err) != SC_OK ||
	    pki_file_read(set->path, AGENT_CERT_FILE, false,
	    PKI_CERT_PEM_MAX, &pem, &len, &r->err) != SC_OK ||
	    pki_cert_inspect(pem, len, info, NULL, &r->err) != SC_OK) {
		free(pem);
		return fail(r, EX_DATAERR, "%s", r->err.msg);
	}
	free(pem);
	return 0;
}

/*
 * The key to renew with: the pending one if a renewal was cut short
 * (unless it already is the current key: the crash came after the
 * switch), else a fresh one, saved before anything is sent.
 */
static int
renewal_key(struct run *r, struct agent_store *st,
    const struct pki_cert_info *cur, char **key, size_t *len)
{
	char id[PKI_FINGERPRINT_LEN + 1];
	enum sc_err rc;

	rc = agent_store_pending_load(st, key, len, &r->err);
	if (rc == SC_OK && pki_key_id(*key, *len, id, &r->err) == SC_OK &&
	    strcmp(id, cur->key_id) != 0)
		return 0;
	if (rc != SC_OK && rc != SC_NOT_FOUND)
		return fail(r, EX_DATAERR, "%s", r->err.msg);
	pki_secret_free(*key, *len);
	*key = NULL;
	sc_error_clear(&r->err);
	if (pki_key_generate_pem(r->o.key_type, key, len, &r->err) != SC_OK)
		return fail(r, EX_SOFTWARE, "%s", r->err.msg);
	if (agent_store_pending_save(st, *key, *len, &r->err) != SC_OK)
		return fail(r, EX_CANTCREAT, "%s", r->err.msg);
	return 0;
}

static int
renew(struct run *r, struct agent_store *st, const struct agent_set *cur,
    const struct pki_cert_info *cur_info)
{
	struct agent_http h = { .url = r->o.url, .ca_file =
	    cur->controller_ca_file, .cert_file = cur->cert_file,
	    .key_file = cur->key_file };
	struct agent_reply rep = { 0, NULL, 0 };
	struct agent_bundle b = { .ca_cert_pem = NULL };
	struct agent_set set;
	struct pki_cert_info info;
	char when[32], *key = NULL, *anchor = NULL;
	size_t key_len = 0, anchor_len = 0;
	int status;

	if ((status = renewal_key(r, st, cur_info, &key, &key_len)) != 0 ||
	    (status = certify(r, &h, "/swarm/renew", 200, key, key_len, &rep,
	    &b, &info)) != 0)
		goto out;
	if (pki_file_read(cur->path, AGENT_CONTROLLER_CA_FILE, false,
	    PKI_CERT_PEM_MAX, &anchor, &anchor_len, &r->err) != SC_OK) {
		status = fail(r, EX_DATAERR, "%s", r->err.msg);
		goto out;
	}
	if (agent_store_commit(st, cur->gen, &(struct agent_files){
	    .key_pem = key, .key_len = key_len, .cert_pem = b.worker_cert_pem,
	    .ca_pem = b.ca_cert_pem, .controller_ca_pem = anchor }, &set,
	    &r->err) != SC_OK) {
		status = fail(r, EX_CANTCREAT, "%s", r->err.msg);
		goto out;
	}
	format_time(info.not_after, when);
	printf("renewed: certificate %s valid until %s (was %s)\n",
	    info.fingerprint, when, cur_info->fingerprint);
out:
	agent_bundle_free(&b);
	agent_reply_free(&rep);
	pki_secret_free(key, key_len);
	free(anchor);
	return status;
}

static int
cmd_renew(int argc, char *argv[])
{
	struct run r = { .name = "renew", .usage = renew_usage };
	struct agent_store st = { .dirfd = -1, .lockfd = -1 };
	struct pki_cert_info info;
	struct agent_set cur;
	char when[32];
	int status;

	if ((status = parse_opts(&r, (char[]){ OPT_URL, OPT_DIR, OPT_KEY,
	    OPT_WITHIN, 0 }, argc, argv)) != 0)
		return status;
	if (agent_store_open(&st, r.o.dir, false, true, &r.err) != SC_OK) {
		status = fail(&r, EX_DATAERR, "%s", r.err.msg);
		goto out;
	}
	if ((status = load_current(&r, &st, &cur, &info)) != 0)
		goto out;
	format_time(info.not_after, when);
	if (r.o.within_days > 0 &&
	    info.not_after - time(NULL) > r.o.within_days * 86400L) {
		printf("not due: certificate %s valid until %s, more than %ld "
		    "days\n", info.fingerprint, when, r.o.within_days);
		goto out;
	}
	status = renew(&r, &st, &cur, &info);
out:
	agent_store_close(&st);
	return status;
}

/* ------------------------------------------------------------ heartbeat */

static int
cmd_heartbeat(int argc, char *argv[])
{
	struct run r = { .name = "heartbeat", .usage = heartbeat_usage };
	struct agent_store st = { .dirfd = -1, .lockfd = -1 };
	struct agent_reply rep = { 0, NULL, 0 };
	struct agent_http h = { .url = NULL };
	struct pki_cert_info info;
	struct agent_beat beat;
	struct agent_set cur;
	char *body = NULL;
	int status;

	if ((status = parse_opts(&r, (char[]){ OPT_URL, OPT_DIR, OPT_STATUS,
	    0 }, argc, argv)) != 0)
		return status;
	/* Shared: a renewal does not swap the set out from under us. */
	if (agent_store_open(&st, r.o.dir, false, false, &r.err) != SC_OK) {
		status = fail(&r, EX_DATAERR, "%s", r.err.msg);
		goto out;
	}
	if ((status = load_current(&r, &st, &cur, &info)) != 0)
		goto out;
	h = (struct agent_http){ .url = r.o.url, .ca_file =
	    cur.controller_ca_file, .cert_file = cur.cert_file,
	    .key_file = cur.key_file };
	if ((body = agent_beat_body(PACKAGE_VERSION, r.o.status)) == NULL) {
		status = fail(&r, EX_OSERR, "out of memory");
		goto out;
	}
	if (agent_http_call(&h, "POST", "/swarm/heartbeat", body, &rep,
	    &r.err) != SC_OK) {
		status = fail(&r, EX_TEMPFAIL, "%s", r.err.msg);
		goto out;
	}
	if (rep.status != 200) {
		status = http_fail(&r, "POST /swarm/heartbeat", &rep);
		goto out;
	}
	if (agent_beat_parse(rep.body, rep.len, &beat, &r.err) != SC_OK) {
		status = fail(&r, EX_PROTOCOL, "%s", r.err.msg);
		goto out;
	}
	printf("heartbeat: host %s %s at %s, certificate valid until %s\n",
	    beat.host_uuid, beat.status, beat.last_heartbeat,
	    beat.cert_not_after);
out:
	agent_reply_free(&rep);
	free(body);
	agent_store_close(&st);
	return status;
}

/* ------------------------------------------------------------ dispatch */

static const struct cli_command agent_commands[] = {
	{ .name = "enroll", .run = cmd_enroll, .usage = enroll_usage },
	{ .name = "renew", .run = cmd_renew, .usage = renew_usage },
	{ .name = "heartbeat", .run = cmd_heartbeat,
	    .usage = heartbeat_usage },
};
#define NAGENT_COMMANDS	(sizeof(agent_commands) / sizeof(agent_commands[0]))

int
cmd_agent(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	size_t i;
	int status;

	/* Usage errors are 64 here (sysexits), as a timer expects. */
	for (i = 0; argc >= 2 && i < NAGENT_COMMANDS; i++)
		if (strcmp(argv[1], agent_commands[i].name) == 0)
			break;
	if (argc < 2 || (i == NAGENT_COMMANDS && strcmp(argv[1], "--help") != 0 &&
	    strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "help") != 0)) {
		fprintf(stderr, "swarmctl agent: %s\n%s", argc < 2 ?
		    "which command?" : "unknown command", agent_usage);
		return EX_USAGE;
	}
	if (pki_init(&err) != SC_OK || agent_http_init(&err) != SC_OK) {
		fprintf(stderr, "swarmctl agent: %s\n", err.msg);
		return EX_SOFTWARE;
	}
	status = cli_dispatch("swarmctl agent", agent_commands,
	    NAGENT_COMMANDS, agent_usage, argc, argv);
	agent_http_deinit();
	pki_deinit();
	return status;
}
