#include "config.h"

/*
 * The trust commands.  `swarmctl operator issue|list|revoke` manage the
 * client certificates that let a person drive the control plane;
 * `swarmctl server-cert` issues the front end's TLS certificate;
 * `swarmctl crl` publishes a fresh CRL (for cron).  Every certificate
 * issued here is recorded in the certificates table and every change is
 * in the audit trail (actor "cli"), like the API's.
 *
 * This is command-line code: it prints, and returns an exit status (0
 * done, 1 failed, 2 bad usage).  The work is done by pki/, db/, crl.c and
 * fileio.c.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ca_identity.h"
#include "cli.h"
#include "conf.h"
#include "crl.h"
#include "db/db.h"
#include "err.h"
#include "fileio.h"
#include "operator.h"
#include "pki/bundle.h"
#include "pki/pki.h"

#define CLI_ACTOR	"cli"
#define PASSWORD_MAX	1024	/* bytes: the password file's first line */
#define TIME_LEN	32

#define ISSUE_SYNOPSIS \
    "swarmctl operator issue NAME --out DIR [--p12-password-file F]\n" \
    "           [--days N] [--key-type T] [--ca-dir DIR] [--db CONNINFO]\n"
#define LIST_SYNOPSIS \
    "swarmctl operator list [--ca-dir DIR] [--db CONNINFO]\n"
#define REVOKE_SYNOPSIS \
    "swarmctl operator revoke NAME|FINGERPRINT [--ca-dir DIR]\n" \
    "           [--db CONNINFO]\n"

const char operator_usage[] =
    "usage: " ISSUE_SYNOPSIS
    "       " LIST_SYNOPSIS
    "       " REVOKE_SYNOPSIS
    "\n"
    "Operator client certificates (OU=swarm-operator).  `swarmctl operator\n"
    "issue|list|revoke --help` for each.\n";
static const char operator_issue_usage[] =
    "usage: " ISSUE_SYNOPSIS
    "\n"
    "Issue an operator certificate: DIR/NAME.crt, NAME.key (0600) and\n"
    "NAME.p12 (password from the first line of F, else empty).\n";
static const char operator_list_usage[] =
    "usage: " LIST_SYNOPSIS
    "\n"
    "List the operator certificates with their expiry and revocation.\n";
static const char operator_revoke_usage[] =
    "usage: " REVOKE_SYNOPSIS
    "\n"
    "Revoke the operator certificates NAME or FINGERPRINT names and\n"
    "publish CA_DIR/crl.pem.\n";
const char server_cert_usage[] =
    "usage: swarmctl server-cert --cn CN [--san NAME]... --out DIR\n"
    "           [--key-type T] [--ca-dir DIR] [--db CONNINFO]\n"
    "\n"
    "Issue the front end's TLS certificate: DIR/server.crt, server.key.\n";
const char crl_usage[] =
    "usage: swarmctl crl [--ca-dir DIR] [--db CONNINFO] "
    "[--next-update-days N]\n"
    "\n"
    "Publish a fresh CA_DIR/crl.pem now (for cron).\n";

/* What every command here works with; zero-initialised, then opened. */
struct trust {
	struct db	*db;
	struct pki_ca	*ca;
	bool		 pki;		/* pki_init done */
};

/* One file handed to the operator: staged, then renamed into place. */
struct outfile {
	char			 name[NAME_MAX + 1];
	const void		*data;
	size_t			 len;
	mode_t			 mode;
	struct fileio_staged	 st;
	bool			 committed;
};

static void
report(const char *cmd, const struct sc_error *err)
{
	fprintf(stderr, "swarmctl: %s: %s\n", cmd, err->msg);
}

static void
format_time(time_t t, char buf[TIME_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, TIME_LEN, "%lld", (long long)t);
}

/* ------------------------------------------------- database and CA */

/* The database, with its schema current (else: run `swarmctl migrate`). */
static enum sc_err
open_db(const struct config *cfg, struct trust *t, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = db_open(cfg->conninfo, &t->db, err)) != SC_OK)
		return rc;
	if ((rc = db_schema_check(t->db, err)) == SC_DB_UNAVAILABLE)
		sc_error_prefix(err, "database unreachable");
	return rc;
}

/*
 * ... and the front-end CA (operators, the server certificate), once the
 * CAs in --ca-dir are known to be the database's (`swarmctl init` made
 * them; nothing here ever creates one).
 */
static enum sc_err
open_trust(const struct config *cfg, struct trust *t, struct sc_error *err)
{
	enum sc_err rc;

	if ((rc = open_db(cfg, t, err)) != SC_OK ||
	    (rc = pki_init(err)) != SC_OK)
		return rc;
	t->pki = true;
	/* The same path as serve: the CA key only in a signer process. */
	if ((rc = pki_signer_start(cfg->ca_dir, err)) != SC_OK)
		return rc;
	if ((rc = ca_identity_check(t->db, cfg->ca_dir, err)) != SC_OK)
		return rc;
	if ((rc = pki_ca_load(cfg->ca_dir, PKI_CA_FRONT, &t->ca,
	    err)) != SC_OK)
		sc_error_prefix(err, "CA in %s", cfg->ca_dir);
	return rc;
}

static void
close_trust(struct trust *t)
{
	pki_ca_free(t->ca);
	db_close(t->db);
	pki_signer_stop();	/* none started: nothing to do */
	if (t->pki)
		pki_deinit();
	memset(t, 0, sizeof(*t));
}

static const char *
outcome_of(enum sc_err code)
{
	switch (code) {
	case SC_NOT_FOUND:	return "not-found";
	case SC_CONFLICT:	return "conflict";
	case SC_INVALID:	return "invalid";
	default:		return "error";
	}
}

/* Failures are audited too (best effort: the database may be the cause). */
static void
audit_failure(struct db *db, const char *action, const char *target,
    const struct sc_error *why)
{
	struct db_audit a = { CLI_ACTOR, NULL, action, target,
	    outcome_of(why->code), NULL, why->msg };
	struct sc_error err = { SC_OK, "" };

	if (db != NULL && db_audit_append(db, &a, &err) != SC_OK)
		fprintf(stderr, "swarmctl: %s: could not record the failure in "
		    "the audit log: %s\n", action, err.msg);
}

/* ------------------------------------------------------------ files */

/*
 * The first line of `path`, without its line end; "" without a file.
 * Read with read(2) into our own buffer, so nothing but that buffer ever
 * held it, and it can be wiped.
 */
static enum sc_err
read_password(const char *path, char **out, struct sc_error *err)
{
	char *buf = NULL, *nl;
	size_t len = 0;
	ssize_t n;
	enum sc_err rc = SC_OK;
	int fd = -1;

	*out = NULL;
	if ((buf = calloc(1, PASSWORD_MAX + 2)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if (path == NULL)
		goto done;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = sc_error_set(err, SC_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (len < PASSWORD_MAX + 1 &&
	    (n = read(fd, buf + len, PASSWORD_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = sc_error_set(err, SC_IO, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	if ((nl = memchr(buf, '\n', len)) != NULL)
		len = (size_t)(nl - buf);
	if (len > PASSWORD_MAX) {
		rc = sc_error_set(err, SC_INVALID, "%s: the password is longer "
		    "than %d bytes", path, PASSWORD_MAX);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len) != NULL) {
		rc = sc_error_set(err, SC_INVALID, "%s: the password contains "
		    "a NUL byte", path);
		goto out;
	}
	memset(buf + len, 0, PASSWORD_MAX + 2 - len);
done:
	*out = buf;
	buf = NULL;
out:
	if (buf != NULL) {
		explicit_bzero(buf, PASSWORD_MAX + 2);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* DIR itself may be new (0700: keys go there); its parent must exist. */
static enum sc_err
ensure_dir(const char *dir, struct sc_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return sc_error_set(err, SC_IO, "mkdir %s: %s", dir,
		    strerror(errno));
	if (stat(dir, &st) == -1)
		return sc_error_set(err, SC_IO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sc_error_set(err, SC_IO, "%s is not a directory", dir);
	return SC_OK;
}

static enum sc_err
join(char path[PATH_MAX], const char *dir, const char *name,
    struct sc_error *err)
{
	int n;

	n = snprintf(path, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		return sc_error_set(err, SC_INVALID, "path too long: %s/%s",
		    dir, name);
	return SC_OK;
}

static void
outfile_set(struct outfile *f, const char *name, const char *ext,
    const void *data, size_t len, mode_t mode)
{
	memset(f, 0, sizeof(*f));
	f->st.dirfd = -1;
	snprintf(f->name, sizeof(f->name), "%s%s", name, ext);
	f->data = data;
	f->len = len;
	f->mode = mode;
}

/* Refuse early, before anything is issued or recorded. */
static enum sc_err
refuse_existing(const char *dir, const struct outfile *f, size_t n,
    struct sc_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	enum sc_err rc;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((rc = join(path, dir, f[i].name, err)) != SC_OK)
			return rc;
		if (lstat(path, &st) == 0)
			return sc_error_set(err, SC_CONFLICT, "%s already "
			    "exists; refusing to overwrite it", path);
	}
	return SC_OK;
}

static enum sc_err
stage_all(const char *dir, struct outfile *f, size_t n, struct sc_error *err)
{
	enum sc_err rc;
	size_t i;

	for (i = 0; i < n; i++)
		if ((rc = fileio_stage(&f[i].st, dir, f[i].name, f[i].data,
		    f[i].len, f[i].mode, err)) != SC_OK)
			return rc;
	return SC_OK;
}

/*
 * Rename every staged file into place.  Without `replace`, a set is
 * handed out whole or not at all: if one name turns out to be taken
 * (created since refuse_existing looked), the ones already renamed are
 * removed again.
 */
static enum sc_err
commit_all(const char *dir, struct outfile *f, size_t n, bool replace,
    struct sc_error *err)
{
	char path[PATH_MAX];
	enum sc_err rc = SC_OK;
	size_t i;

	for (i = 0; i < n && rc == SC_OK; i++)
		if ((rc = fileio_commit(&f[i].st, replace, err)) == SC_OK)
			f[i].committed = true;
	for (i = 0; i < n && rc != SC_OK && !replace; i++) {
		if (!f[i].committed)
			continue;
		if (join(path, dir, f[i].name, NULL) == SC_OK)
			(void)unlink(path);
		f[i].committed = false;
	}
	return rc;
}

static void
discard_all(struct outfile *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fileio_discard(&f[i].st);
}

/* ------------------------------------------------- operator issue */

static void
print_issued(const char *what, const struct pki_issued *iss,
    const char *dir, const struct outfile *f, size_t n)
{
	static const char *const labels[] = { "certificate:", "key:",
	    "PKCS#12:" };
	char expires[TIME_LEN];
	size_t i;

	format_time(iss->not_after, expires);
	printf("issued %s certificate %s\n", what, iss->subject);
	printf("  fingerprint: %s\n", iss->fingerprint);
	printf("  serial:      %s\n", iss->serial_hex);
	printf("  expires:     %s\n", expires);
	for (i = 0; i < n && i < 3; i++)
		printf("  %-12s %s/%s\n", labels[i], dir, f[i].name);
}

/* Record it (certificates + audit), with the details an auditor wants. */
static enum sc_err
record_issued(struct db *db, const struct pki_issued *iss, const char *kind,
    const char *action, const char *target, struct sc_error *err)
{
	char detail[256], expires[TIME_LEN];
	struct db_cert cert = { .serial_hex = iss->serial_hex,
	    .fingerprint = iss->fingerprint, .subject = iss->subject,
	    .kind = kind, .ca = pki_ca_role_name(PKI_CA_FRONT),
	    .not_after = iss->not_after };
	struct db_audit audit = { CLI_ACTOR, NULL, action, target, "success",
	    NULL, detail };

	format_time(iss->not_after, expires);
	snprintf(detail, sizeof(detail), "fingerprint %s serial %s expires %s",
	    iss->fingerprint, iss->serial_hex, expires);
	return db_cert_record(db, &cert, &audit, err);
}

/*
 * Issue, stage the three files, record, then rename the files into
 * place: the certificate is in the database before anyone holds its key,
 * so it can always be revoked by name.
 */
static enum sc_err
issue_operator(const struct config *cfg, struct trust *t,
    const char *password, struct sc_error *err)
{
	struct pki_issued iss;
	struct outfile f[3];
	unsigned char *p12 = NULL;
	size_t p12len = 0;
	enum sc_err rc;

	memset(&iss, 0, sizeof(iss));
	memset(f, 0, sizeof(f));
	if ((rc = pki_issue_operator(t->ca, cfg->operand, cfg->days,
	    cfg->key_type, &iss, err)) != SC_OK ||
	    (rc = pki_pkcs12_export(t->ca, &iss, cfg->operand, password, &p12,
	    &p12len, err)) != SC_OK)
		goto out;
	outfile_set(&f[0], cfg->operand, ".crt", iss.cert_pem,
	    strlen(iss.cert_pem), 0644);
	outfile_set(&f[1], cfg->operand, ".key", iss.key_pem, iss.key_pem_len,
	    0600);
	outfile_set(&f[2], cfg->operand, ".p12", p12, p12len, 0600);
	if ((rc = stage_all(cfg->out_dir, f, 3, err)) != SC_OK ||
	    (rc = record_issued(t->db, &iss, "operator", "operator-issue",
	    cfg->operand, err)) != SC_OK)
		goto out;
	if ((rc = commit_all(cfg->out_dir, f, 3, false, err)) != SC_OK) {
		sc_error_prefix(err, "certificate %s recorded but not handed "
		    "out (revoke it)", iss.fingerprint);
		goto out;
	}
	print_issued("operator", &iss, cfg->out_dir, f, 3);
	if (cfg->password_file != NULL)
		printf("  (PKCS#12 password: the first line of %s)\n",
		    cfg->password_file);
	else
		printf("  (PKCS#12 password: empty)\n");
out:
	discard_all(f, 3);
	if (p12 != NULL) {
		explicit_bzero(p12, p12len);
		free(p12);
	}
	pki_issued_clear(&iss);
	return rc;
}

static int
operator_issue(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct trust t = { NULL, NULL, false };
	struct outfile f[3];
	struct config cfg;
	char *password = NULL;
	int status = 1;

	if (config_parse_operator_issue(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, operator_issue_usage);
		goto out;
	}
	if (!bundle_name_valid(cfg.operand)) {
		fprintf(stderr, "swarmctl: operator issue: invalid name '%s': "
		    "1-64 of [A-Za-z0-9._-], starting with a letter or digit\n",
		    cfg.operand);
		goto out;
	}
	outfile_set(&f[0], cfg.operand, ".crt", NULL, 0, 0);
	outfile_set(&f[1], cfg.operand, ".key", NULL, 0, 0);
	outfile_set(&f[2], cfg.operand, ".p12", NULL, 0, 0);
	/* The CA and database first: a refusal leaves no directory. */
	if (read_password(cfg.password_file, &password, &err) != SC_OK ||
	    open_trust(&cfg, &t, &err) != SC_OK ||
	    ensure_dir(cfg.out_dir, &err) != SC_OK ||
	    refuse_existing(cfg.out_dir, f, 3, &err) != SC_OK) {
		report("operator issue", &err);
		goto out;
	}
	if (issue_operator(&cfg, &t, password, &err) != SC_OK) {
		report("operator issue", &err);
		audit_failure(t.db, "operator-issue", cfg.operand, &err);
		goto out;
	}
	status = 0;
out:
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	close_trust(&t);
	config_free(&cfg);
	return status;
}

/* -------------------------------------------------- operator list */

/* The CN of an RFC 4514 subject that starts with it, else the subject. */
static void
subject_cn(const char *subject, char *out, size_t size)
{
	size_t len;

	if (strncmp(subject, "CN=", 3) != 0) {
		snprintf(out, size, "%s", subject);
		return;
	}
	subject += 3;
	for (len = 0; subject[len] != '\0' && subject[len] != ','; len++)
		if (subject[len] == '\\' && subject[len + 1] != '\0')
			len++;
	snprintf(out, size, "%.*s", (int)len, subject);
}

struct listing {
	char	 now[DB_TIME_LEN + 1];
	int	 rows;
};

static int
print_operator(const struct db_cert_row *r, void *arg)
{
	struct listing *l = arg;
	char cn[128], state[DB_TIME_LEN + 64];

	subject_cn(r->subject, cn, sizeof(cn));
	if (r->revoked_at != NULL)
		snprintf(state, sizeof(state), "revoked %s", r->revoked_at);
	else if (strcmp(r->not_after, l->now) < 0)
		snprintf(state, sizeof(state), "expired");
	else
		snprintf(state, sizeof(state), "valid");
	if (l->rows++ == 0)
		printf("%-20s %-64s %-27s %s\n", "NAME", "FINGERPRINT",
		    "NOT AFTER", "STATUS");
	printf("%-20s %-64s %-27s %s\n", cn, r->fingerprint, r->not_after,
	    state);
	return 0;
}

static int
operator_list(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct trust t = { NULL, NULL, false };
	struct listing l;
	struct config cfg;
	struct tm tm;
	time_t now;
	int status = 1;

	if (config_parse_operator_list(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, operator_list_usage);
		goto out;
	}
	memset(&l, 0, sizeof(l));
	/* The database's time format, so the strings compare as times. */
	now = time(NULL);
	if (gmtime_r(&now, &tm) != NULL)
		strftime(l.now, sizeof(l.now), "%Y-%m-%dT%H:%M:%S.000000Z",
		    &tm);
	if (open_db(&cfg, &t, &err) != SC_OK ||
	    db_certs_list(t.db, "operator", print_operator, &l, &err) !=
	    SC_OK) {
		report("operator list", &err);
		goto out;
	}
	if (l.rows == 0)
		printf("no operator certificates\n");
	status = 0;
out:
	close_trust(&t);
	config_free(&cfg);
	return status;
}

/* ------------------------------------------------ operator revoke */

/* 64 hex digits, either case (the database compares in lowercase). */
static bool
is_fingerprint(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return i == PKI_FINGERPRINT_LEN;
}

struct matches {
	const char	*key;
	char		 lines[16][256];
	int		 n, more;
};

/* The unrevoked operator certificates `key` names, to show them. */
static int
collect_match(const struct db_cert_row *r, void *arg)
{
	struct matches *m = arg;
	char cn[128];

	subject_cn(r->subject, cn, sizeof(cn));
	if (r->revoked_at != NULL || (strcmp(cn, m->key) != 0 &&
	    strcasecmp(r->fingerprint, m->key) != 0))
		return 0;
	if (m->n == (int)(sizeof(m->lines) / sizeof(m->lines[0]))) {
		m->more++;
		return 0;
	}
	snprintf(m->lines[m->n++], sizeof(m->lines[0]),
	    "  %s  %s  (serial %s)", cn, r->fingerprint, r->serial_hex);
	return 0;
}

static void
print_revoked(const struct config *cfg, const struct matches *m, int count)
{
	time_t next = 0;
	char when[TIME_LEN];
	struct sc_error err = { SC_OK, "" };
	int i;

	printf("revoked %d operator certificate%s matching \"%s\":\n", count,
	    count == 1 ? "" : "s", cfg->operand);
	for (i = 0; i < m->n; i++)
		printf("%s\n", m->lines[i]);
	if (m->more > 0)
		printf("  ... and %d more\n", m->more);
	if (pki_crl_next_update(cfg->ca_dir, PKI_CA_FRONT, &next,
	    &err) == SC_OK) {
		format_time(next, when);
		printf("published %s/%s (next update %s)\n", cfg->ca_dir,
		    pki_ca_crl_file(PKI_CA_FRONT), when);
	}
	printf("reload nginx (nginx -s reload) so that its ssl_crl picks up "
	    "%s/%s;\nthe responder refuses revoked operators at once "
	    "anyway.\n", cfg->ca_dir, pki_ca_crl_file(PKI_CA_FRONT));
}

static int
operator_revoke(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct trust t = { NULL, NULL, false };
	struct db_audit audit = { CLI_ACTOR, NULL, "operator-revoke", NULL,
	    "success", NULL, NULL };
	struct matches m;
	struct config cfg;
	int count = 0, status = 1;

	if (config_parse_operator_revoke(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, operator_revoke_usage);
		goto out;
	}
	if (!bundle_name_valid(cfg.operand) && !is_fingerprint(cfg.operand)) {
		fprintf(stderr, "swarmctl: operator revoke: '%s' is neither an "
		    "operator name nor a SHA-256 fingerprint\n", cfg.operand);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.key = cfg.operand;
	audit.target = cfg.operand;
	if (open_trust(&cfg, &t, &err) != SC_OK ||
	    db_certs_list(t.db, "operator", collect_match, &m, &err) != SC_OK) {
		report("operator revoke", &err);
		goto out;
	}
	if (db_operator_revoke(t.db, cfg.operand, &audit, &count, &err) !=
	    SC_OK) {
		report("operator revoke", &err);
		audit_failure(t.db, "operator-revoke", cfg.operand, &err);
		goto out;
	}
	if (crl_publish(t.db, t.ca, cfg.ca_dir, cfg.crl_next_update, &err) !=
	    SC_OK) {
		fprintf(stderr, "swarmctl: operator revoke: revoked %d "
		    "certificate%s, but %s; a running `swarmctl serve` "
		    "publishes it within seconds once that is fixed, or run "
		    "`swarmctl crl`\n", count, count == 1 ? "" : "s",
		    err.msg);
		goto out;
	}
	print_revoked(&cfg, &m, count);
	status = 0;
out:
	close_trust(&t);
	config_free(&cfg);
	return status;
}

int
cmd_operator(int argc, char *argv[])
{
	static const struct cli_command subcommands[] = {
		{ .name = "issue", .run = operator_issue,
		    .usage = operator_issue_usage },
		{ .name = "list", .run = operator_list,
		    .usage = operator_list_usage },
		{ .name = "revoke", .run = operator_revoke,
		    .usage = operator_revoke_usage },
	};

	return cli_dispatch("swarmctl operator", subcommands,
	    sizeof(subcommands) / sizeof(subcommands[0]), operator_usage, argc,
	    argv);
}

/* ------------------------------------------------------ server-cert */

static enum sc_err
issue_server(const struct config *cfg, struct trust *t,
    struct sc_error *err)
{
	const char **sans = NULL;
	struct pki_issued iss;
	struct outfile f[2];
	enum sc_err rc;
	size_t i;

	memset(&iss, 0, sizeof(iss));
	memset(f, 0, sizeof(f));
	/* The CN is a name clients use too: always among the SANs. */
	if ((sans = calloc(cfg->nsans + 1, sizeof(*sans))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < cfg->nsans; i++)
		sans[i] = cfg->sans[i];
	sans[cfg->nsans] = cfg->cn;
	if ((rc = pki_issue_server(t->ca, cfg->cn, sans, cfg->nsans + 1,
	    cfg->key_type, &iss, err)) != SC_OK)
		goto out;
	outfile_set(&f[0], "server", ".crt", iss.cert_pem,
	    strlen(iss.cert_pem), 0644);
	outfile_set(&f[1], "server", ".key", iss.key_pem, iss.key_pem_len,
	    0600);
	/* A renewal replaces the old pair: rename over it. */
	if ((rc = stage_all(cfg->out_dir, f, 2, err)) != SC_OK ||
	    (rc = record_issued(t->db, &iss, "server", "server-cert-issue",
	    cfg->cn, err)) != SC_OK ||
	    (rc = commit_all(cfg->out_dir, f, 2, true, err)) != SC_OK)
		goto out;
	print_issued("server", &iss, cfg->out_dir, f, 2);
	printf("point nginx's ssl_certificate and ssl_certificate_key at them "
	    "and reload nginx (nginx -s reload)\n");
out:
	discard_all(f, 2);
	pki_issued_clear(&iss);
	free(sans);
	return rc;
}

int
cmd_server_cert(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct trust t = { NULL, NULL, false };
	struct config cfg;
	int status = 1;

	if (config_parse_server_cert(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, server_cert_usage);
		goto out;
	}
	if (open_trust(&cfg, &t, &err) != SC_OK ||
	    ensure_dir(cfg.out_dir, &err) != SC_OK) {
		report("server-cert", &err);
		goto out;
	}
	if (issue_server(&cfg, &t, &err) != SC_OK) {
		report("server-cert", &err);
		audit_failure(t.db, "server-cert-issue", cfg.cn, &err);
		goto out;
	}
	status = 0;
out:
	close_trust(&t);
	config_free(&cfg);
	return status;
}

/* -------------------------------------------------------------- crl */

int
cmd_crl(int argc, char *argv[])
{
	struct sc_error err = { SC_OK, "" };
	struct trust t = { NULL, NULL, false };
	struct config cfg;
	char when[TIME_LEN];
	struct pki_ca *ca = NULL;
	time_t next = 0;
	int status = 1, role;

	if (config_parse_crl(&cfg, argc, argv, &err) != SC_OK) {
		status = cli_usage_error(&err, crl_usage);
		goto out;
	}
	if (open_trust(&cfg, &t, &err) != SC_OK) {
		report("crl", &err);
		goto out;
	}
	for (role = 0; role < PKI_NCA_ROLES; role++) {
		if (pki_ca_load(cfg.ca_dir, (enum pki_ca_role)role, &ca,
		    &err) != SC_OK ||
		    crl_publish(t.db, ca, cfg.ca_dir, cfg.crl_next_update,
		    &err) != SC_OK ||
		    pki_crl_next_update(cfg.ca_dir, (enum pki_ca_role)role,
		    &next, &err) != SC_OK) {
			report("crl", &err);
			goto out;
		}
		pki_ca_free(ca);
		ca = NULL;
		format_time(next, when);
		printf("published %s/%s (next update %s)\n", cfg.ca_dir,
		    pki_ca_crl_file((enum pki_ca_role)role), when);
	}
	status = 0;
out:
	pki_ca_free(ca);
	close_trust(&t);
	config_free(&cfg);
	return status;
}
