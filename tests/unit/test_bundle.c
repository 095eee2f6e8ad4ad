/*
 * Unit tests for src/pki/bundle.c: bundle name validation, writing a
 * bundle (contents, modes, no temporaries left, orphan replacement,
 * clean failure, concurrent writers sharing the fsync of workers/),
 * staging it first and placing or unstaging it, removal (idempotent, refuses bad names, never follows a
 * symlink out of CA_DIR/workers), conditional removal (only the bundle
 * that holds the given certificate) and the crash-recovery sweep.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "pki/bundle.h"
#include "pki/pki.h"
#include "tap.h"
#include "testutil.h"

static char top[64];		/* scratch root */
static char ca_dir[128];	/* top/ca */
static char workers[160];	/* top/ca/workers */
static char outside[128];	/* top/outside: must never be touched */

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\nCA\n"
    "-----END CERTIFICATE-----\n";
static char cert_pem[] = "-----BEGIN CERTIFICATE-----\nWORKER\n"
    "-----END CERTIFICATE-----\n";
static char key_pem[] = "-----BEGIN PRIVATE KEY-----\nSECRET\n"
    "-----END PRIVATE KEY-----\n";

/* ------------------------------------------------------------ helpers */

static int
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_symlink(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* "a/b" in one of a few rotating buffers, so calls can nest. */
static const char *
join(const char *a, const char *b)
{
	static char buf[4][PATH_MAX];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", a, b);
	return buf[n];
}

/* The file's text in a static buffer (for is_str), NULL if unreadable. */
static char *
slurp(const char *path)
{
	static char buf[4096];
	char *text;

	if ((text = tu_read_file(path, NULL)) == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", text);
	free(text);
	return buf;
}

static void
put(const char *path, const char *text)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	if (fd != -1)
		close(fd);
}

/* Entries of `dir` other than . and .., optionally only those with `prefix`. */
static int
count_entries(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (prefix == NULL ||
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
fresh_tree(void)
{
	if (top[0] != '\0')
		tu_rm_rf(top);
	snprintf(top, sizeof(top), "/var/tmp/test_bundle.XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", top);
	snprintf(workers, sizeof(workers), "%s/workers", ca_dir);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	if (mkdir(ca_dir, 0700) == -1 || mkdir(workers, 0700) == -1 ||
	    mkdir(outside, 0755) == -1) {
		perror("mkdir");
		exit(2);
	}
	put(join(outside, "precious"), "keep me\n");
}

static struct pki_issued
issued(void)
{
	struct pki_issued iss;

	memset(&iss, 0, sizeof(iss));
	iss.cert_pem = cert_pem;
	iss.key_pem = key_pem;
	iss.key_pem_len = strlen(key_pem);
	return iss;
}

/* ---------------------------------------------------------- names */

static void
test_names(void)
{
	static const char *good[] = { "a", "A", "0", "worker-1",
	    "worker_1", "w.example.com", "a..b", "a-", "a.", "9lives",
	    ("abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab") };
	static const char *bad[] = { "", ".", "..", "a/b", "../x", "/abs",
	    ".hidden", "-x", "_x", "a b", "a\\b", "a\tb", "caf\xc3\xa9",
	    "x:y", "a*", ".tmp-0123456789abcdef",
	    ("abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abc") };
	char *p;
	size_t i;

	is_int(strlen(good[sizeof(good) / sizeof(good[0]) - 1]), 64,
	    "the long good name is 64 chars");
	is_int(strlen(bad[sizeof(bad) / sizeof(bad[0]) - 1]), 65,
	    "the long bad name is 65 chars");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(bundle_name_valid(good[i]), "valid: \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!bundle_name_valid(bad[i]), "invalid: \"%s\"", bad[i]);
	ok(!bundle_name_valid(NULL), "invalid: NULL");

	p = bundle_path("/x/ca", "w1");
	is_str(p, "/x/ca/workers/w1", "bundle_path");
	free(p);
	ok(bundle_path("/x/ca", "..") == NULL, "bundle_path refuses \"..\"");
	ok(bundle_path("/x/ca", "a/b") == NULL, "bundle_path refuses \"a/b\"");
}

/* ---------------------------------------------------------- write */

static void
test_write(void)
{
	struct pki_issued iss = issued();
	struct sc_error err;
	char *path = NULL;
	char dir[PATH_MAX];

	fresh_tree();
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "worker-1", ca_pem, &iss, &path, &err),
	    SC_OK, "write a bundle (%s)", err.msg);
	snprintf(dir, sizeof(dir), "%s", join(workers, "worker-1"));
	is_str(path, dir, "path_out is CA_DIR/workers/<name>");
	free(path);
	is_int(mode_of(dir), 0700, "bundle dir 0700");
	is_int(mode_of(join(dir, "ca.crt")), 0644, "ca.crt 0644");
	is_int(mode_of(join(dir, "worker.crt")), 0644,
	    "worker.crt 0644");
	is_int(mode_of(join(dir, "worker.key")), 0600,
	    "worker.key 0600");
	is_str(slurp(join(dir, "ca.crt")), ca_pem, "ca.crt content");
	is_str(slurp(join(dir, "worker.crt")), cert_pem,
	    "worker.crt content");
	is_str(slurp(join(dir, "worker.key")), key_pem,
	    "worker.key content");
	is_int(count_entries(dir, NULL), 3, "exactly three files");
	is_int(count_entries(workers, ".tmp-"), 0, "no .tmp-* left");
	is_int(count_entries(workers, NULL), 1, "workers/ holds one bundle");

	/* path_out is optional. */
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "worker-2", ca_pem, &iss, NULL, &err),
	    SC_OK, "write without path_out");
	ok(is_dir(join(workers, "worker-2")), "second bundle there");
}

#define CONC_THREADS	6
#define CONC_EACH	15

struct conc {
	int		 id;
	enum sc_err	 rc;
	char		 msg[512];
};

static void *
conc_writer(void *arg)
{
	struct pki_issued iss = issued();
	struct conc *c = arg;
	struct sc_error err;
	char name[32];
	int i;

	for (i = 0; i < CONC_EACH; i++) {
		snprintf(name, sizeof(name), "c%d-%d", c->id, i);
		sc_error_clear(&err);
		if ((c->rc = bundle_write(ca_dir, name, ca_pem, &iss, NULL,
		    &err)) != SC_OK) {
			snprintf(c->msg, sizeof(c->msg), "%s", err.msg);
			break;
		}
	}
	return NULL;
}

/*
 * Writers at once share the fsync of workers/ (fileio_fsync_shared):
 * every one returns, each with its bundle complete.
 */
static void
test_write_concurrent(void)
{
	struct conc c[CONC_THREADS];
	pthread_t tid[CONC_THREADS];
	const char *key;
	char name[32], dir[256];
	int i, j, failed = 0, whole = 0, fd;

	fresh_tree();
	for (i = 0; i < CONC_THREADS; i++) {
		c[i].id = i;
		c[i].rc = SC_OK;
		c[i].msg[0] = '\0';
		if (pthread_create(&tid[i], NULL, conc_writer, &c[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (i = 0; i < CONC_THREADS; i++) {
		pthread_join(tid[i], NULL);
		if (c[i].rc != SC_OK) {
			failed++;
			printf("# writer %d: %s\n", i, c[i].msg);
		}
	}
	is_int(failed, 0, "%d concurrent writers all succeed",
	    CONC_THREADS);
	for (i = 0; i < CONC_THREADS; i++)
		for (j = 0; j < CONC_EACH; j++) {
			snprintf(name, sizeof(name), "c%d-%d", i, j);
			snprintf(dir, sizeof(dir), "%s/%s", workers, name);
			key = slurp(join(dir, "worker.key"));
			whole += key != NULL && strcmp(key, key_pem) == 0 &&
			    count_entries(dir, NULL) == 3;
		}
	is_int(whole, CONC_THREADS * CONC_EACH,
	    "every bundle there with its three files");
	is_int(count_entries(workers, ".tmp-"), 0, "no .tmp-* left");

	/* Another directory than the one it serves: fsynced alone. */
	fd = open(top, O_RDONLY | O_DIRECTORY);
	is_int(fileio_fsync_shared(fd), 0, "shared fsync of another dir");
	close(fd);
	errno = 0;
	is_int(fileio_fsync_shared(fd), -1, "... of a closed descriptor: -1");
	is_int(errno, EBADF, "... with EBADF");
}

static void
test_write_orphan(void)
{
	struct pki_issued iss = issued();
	struct sc_error err;
	char dir[PATH_MAX];

	fresh_tree();
	/* A crash between rename and commit left this behind. */
	snprintf(dir, sizeof(dir), "%s", join(workers, "w"));
	is_int(mkdir(dir, 0700), 0, "make an orphan bundle");
	put(join(dir, "ca.crt"), "old ca\n");
	put(join(dir, "worker.key"), "old key\n");
	put(join(dir, "extra"), "junk\n");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &iss, NULL, &err), SC_OK,
	    "write over an orphan (%s)", err.msg);
	is_str(slurp(join(dir, "worker.key")), key_pem,
	    "new key replaces old");
	is_str(slurp(join(dir, "ca.crt")), ca_pem,
	    "new ca.crt replaces old");
	is_int(count_entries(dir, NULL), 3, "orphan's extra file gone");
	is_int(mode_of(join(dir, "worker.key")), 0600,
	    "worker.key 0600");

	/* An orphan that is a symlink out of the tree: replaced, unfollowed. */
	snprintf(dir, sizeof(dir), "%s", join(workers, "s"));
	is_int(symlink(outside, dir), 0, "plant workers/s -> outside");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "s", ca_pem, &iss, NULL, &err), SC_OK,
	    "write over a symlink (%s)", err.msg);
	ok(is_dir(dir) && !is_symlink(dir), "workers/s is now a real dir");
	is_str(slurp(join(outside, "precious")), "keep me\n",
	    "outside file untouched");
	is_int(count_entries(outside, NULL), 1, "nothing written outside");
	is_int(count_entries(workers, ".tmp-"), 0, "no .tmp-* left");
}

static void
test_write_failures(void)
{
	struct pki_issued iss = issued(), empty;
	struct sc_error err;
	char *path = (char *)"junk";
	char dir[PATH_MAX];

	fresh_tree();
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "../escape", ca_pem, &iss, &path, &err),
	    SC_INTERNAL, "invalid name refused");
	ok(path == NULL, "path_out NULL on failure");
	is_int(count_entries(workers, NULL), 0, "nothing created");
	ok(mode_of(join(top, "escape")) == -1, "nothing escaped");

	memset(&empty, 0, sizeof(empty));
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &empty, NULL, &err),
	    SC_INTERNAL, "bundle without a certificate refused");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", NULL, &iss, NULL, &err),
	    SC_INTERNAL, "bundle without a CA certificate refused");
	is_int(count_entries(workers, NULL), 0, "nothing created");

	/*
	 * Fails after the temporary directory is full: the orphan holds a
	 * subdirectory, which is not ours to delete, so it cannot be
	 * replaced.  The temporary directory must go; the orphan stays.
	 */
	snprintf(dir, sizeof(dir), "%s", join(workers, "w"));
	is_int(mkdir(dir, 0700), 0, "orphan with a subdirectory");
	is_int(mkdir(join(dir, "sub"), 0700), 0, "the subdirectory");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &iss, NULL, &err), SC_IO,
	    "write fails when the orphan cannot be removed");
	ok(strstr(err.msg, "w") != NULL, "error says where: %s", err.msg);
	is_int(count_entries(workers, ".tmp-"), 0, "temporary dir removed");
	is_int(count_entries(workers, NULL), 1, "only the orphan remains");
	ok(is_dir(join(dir, "sub")), "its subdirectory untouched");

	/* workers/ is not a directory. */
	tu_rm_rf(workers);
	put(workers, "not a dir\n");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &iss, NULL, &err), SC_IO,
	    "write fails when workers/ is a file");
	is_str(slurp(workers), "not a dir\n", "the file is untouched");
	is_int(count_entries(ca_dir, NULL), 1, "nothing else created");

	/* workers/ is a symlink: refused, not followed. */
	unlink(workers);
	is_int(symlink(outside, workers), 0, "workers -> outside");
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &iss, NULL, &err), SC_IO,
	    "write refuses a symlinked workers/");
	is_int(count_entries(outside, NULL), 1, "nothing written outside");
}

/*
 * Staged, then placed or unstaged: a staged bundle is complete under a
 * temporary name and under no host's, so the enrollment can write it
 * before its name is known to be free.
 */
static void
test_stage(void)
{
	struct pki_issued iss = issued();
	struct bundle_staged st;
	struct sc_error err;
	char dir[PATH_MAX];

	fresh_tree();
	snprintf(dir, sizeof(dir), "%s", join(workers, "w"));
	/* The name's bundle of an enrolled host: a loser must not touch it. */
	is_int(mkdir(dir, 0700), 0, "a bundle under the name");
	put(join(dir, "worker.crt"), "the enrolled host's\n");
	sc_error_clear(&err);
	is_int(bundle_stage(ca_dir, ca_pem, &iss, &st, &err), SC_OK,
	    "stage (%s)", err.msg);
	is_int(count_entries(workers, ".tmp-"), 1, "staged under .tmp-*");
	is_str(slurp(join(join(workers, st.entry), "worker.key")), key_pem,
	    "  complete: worker.key");
	is_int(mode_of(join(join(workers, st.entry), "worker.key")), 0600,
	    "  0600");
	is_str(slurp(join(dir, "worker.crt")), "the enrolled host's\n",
	    "  and the name's bundle untouched");
	bundle_unstage(&st);
	is_int(count_entries(workers, ".tmp-"), 0, "unstaged: gone");
	is_str(slurp(join(dir, "worker.crt")), "the enrolled host's\n",
	    "  the name's bundle still untouched");
	bundle_unstage(&st);
	ok(st.wfd == -1 && count_entries(workers, NULL) == 1,
	    "unstaging twice is harmless");

	tu_rm_rf(dir);
	sc_error_clear(&err);
	is_int(bundle_stage(ca_dir, ca_pem, &iss, &st, &err), SC_OK,
	    "stage again (%s)", err.msg);
	is_int(bundle_place(&st, "w", &err), SC_OK, "place (%s)", err.msg);
	is_str(slurp(join(dir, "worker.crt")), cert_pem,
	    "placed under the name");
	is_int(count_entries(workers, ".tmp-"), 0, "  no .tmp-* left");
	bundle_unstage(&st);
	ok(is_dir(dir), "unstaging after placing leaves the bundle");

	sc_error_clear(&err);
	is_int(bundle_stage(ca_dir, ca_pem, &iss, &st, &err), SC_OK,
	    "stage once more (%s)", err.msg);
	is_int(bundle_place(&st, "../escape", &err), SC_INTERNAL,
	    "placing under an invalid name is refused");
	is_int(count_entries(workers, ".tmp-"), 0, "  and the staging removed");
	ok(mode_of(join(top, "escape")) == -1, "  nothing escaped");
	sc_error_clear(&err);
	is_int(bundle_place(&st, "w2", &err), SC_INTERNAL,
	    "a staging placed (or refused) once cannot be placed again");
	ok(mode_of(join(workers, "w2")) == -1, "  nothing under w2");
}

/* --------------------------------------------------------- remove */

static void
test_remove(void)
{
	struct pki_issued iss = issued();
	struct sc_error err;
	char dir[PATH_MAX];

	fresh_tree();
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "gone", ca_pem, &iss, NULL, &err), SC_OK,
	    "write a bundle to remove");
	snprintf(dir, sizeof(dir), "%s", join(workers, "gone"));
	put(join(dir, "notes.txt"), "operator's file\n");
	is_int(symlink(join(outside, "precious"),
	    join(dir, "link")), 0, "a symlink inside the bundle");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "gone", &err), SC_OK, "remove (%s)",
	    err.msg);
	ok(mode_of(dir) == -1, "bundle directory gone");
	is_str(slurp(join(outside, "precious")), "keep me\n",
	    "symlink target untouched");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "gone", &err), SC_OK,
	    "removing again is success");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "never-existed", &err), SC_OK,
	    "removing a missing bundle is success");

	/* Bad names: refused, nothing touched. */
	put(join(ca_dir, "ca.crt"), "the CA\n");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "..", &err), SC_INTERNAL,
	    "refuses \"..\"");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "../ca.crt", &err), SC_INTERNAL,
	    "refuses \"../ca.crt\"");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "", &err), SC_INTERNAL, "refuses \"\"");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, ".", &err), SC_INTERNAL, "refuses \".\"");
	ok(is_dir(workers), "workers/ still there");
	is_str(slurp(join(ca_dir, "ca.crt")), "the CA\n",
	    "CA_DIR untouched");

	/* workers/evil -> outside: the link goes, the target stays. */
	snprintf(dir, sizeof(dir), "%s", join(workers, "evil"));
	is_int(symlink(outside, dir), 0, "plant workers/evil -> outside");
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "evil", &err), SC_OK,
	    "remove a symlinked bundle (%s)", err.msg);
	ok(!is_symlink(dir) && mode_of(dir) == -1, "the symlink is gone");
	ok(is_dir(outside), "outside dir still exists");
	is_str(slurp(join(outside, "precious")), "keep me\n",
	    "outside file still exists");

	/* No workers/ at all: nothing to remove. */
	tu_rm_rf(workers);
	sc_error_clear(&err);
	is_int(bundle_remove(ca_dir, "w", &err), SC_OK,
	    "remove with no workers/ is success");
}

/* ------------------------------------------------ conditional remove */

/* Two real worker certificates of a throwaway CA: a and b. */
static int
two_certificates(struct pki_issued *a, struct pki_issued *b,
    struct pki_ca **ca, struct sc_error *err)
{
	const char *sans[] = { "w" };
	bool created[PKI_NCA_ROLES];
	char pki_dir[PATH_MAX];

	snprintf(pki_dir, sizeof(pki_dir), "%s", join(top, "pki"));
	return pki_init(err) == SC_OK &&
	    pki_ca_init(pki_dir, PKI_KEY_ECDSA_P256, created, err) == SC_OK &&
	    pki_ca_load(pki_dir, PKI_CA_WORKER, ca, err) == SC_OK &&
	    pki_issue_worker(*ca, "w", sans, 1, PKI_KEY_ECDSA_P256, a,
	    err) == SC_OK &&
	    pki_issue_worker(*ca, "w", sans, 1, PKI_KEY_ECDSA_P256, b,
	    err) == SC_OK;
}

static void
test_remove_if(void)
{
	struct pki_issued a, b, fake = issued();
	struct pki_ca *ca = NULL;
	struct sc_error err;
	char dir[PATH_MAX];
	bool removed;

	fresh_tree();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sc_error_clear(&err);
	if (!ok(two_certificates(&a, &b, &ca, &err),
	    "issue two certificates (%s)", err.msg))
		goto out;
	snprintf(dir, sizeof(dir), "%s", join(workers, "w"));
	is_int(bundle_write(ca_dir, "w", pki_ca_cert_pem(ca), &a, NULL, &err),
	    SC_OK, "write a bundle with certificate a");

	/* An enrollment wrote a's bundle after b's host was decommissioned. */
	sc_error_clear(&err);
	is_int(bundle_remove_if(ca_dir, "w", b.fingerprint, &removed, &err),
	    SC_OK, "remove if it holds b (%s)", err.msg);
	ok(!removed, "... says it did not");
	is_str(slurp(join(dir, "worker.crt")), a.cert_pem,
	    "... and a's bundle is intact");
	sc_error_clear(&err);
	is_int(bundle_remove_if(ca_dir, "w", a.fingerprint, &removed, &err),
	    SC_OK, "remove if it holds a (%s)", err.msg);
	ok(removed && mode_of(dir) == -1, "... removes it");
	sc_error_clear(&err);
	is_int(bundle_remove_if(ca_dir, "w", a.fingerprint, &removed, &err),
	    SC_OK, "again: success");
	ok(!removed, "... with nothing removed");

	/* Not provably that certificate: kept. */
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "w", ca_pem, &fake, NULL, &err), SC_OK,
	    "a bundle whose worker.crt does not parse");
	is_int(bundle_remove_if(ca_dir, "w", a.fingerprint, &removed, &err),
	    SC_OK, "remove if it holds a");
	ok(!removed && is_dir(dir), "... keeps it");
	tu_rm_rf(dir);
	is_int(mkdir(dir, 0700), 0, "a bundle directory without worker.crt");
	is_int(bundle_remove_if(ca_dir, "w", a.fingerprint, &removed, &err),
	    SC_OK, "remove if it holds a");
	ok(!removed && is_dir(dir), "... keeps it");
	rmdir(dir);
	put(join(outside, "worker.crt"), a.cert_pem);
	is_int(symlink(outside, dir), 0, "workers/w -> outside/ holding a");
	is_int(bundle_remove_if(ca_dir, "w", a.fingerprint, &removed, &err),
	    SC_OK, "remove if it holds a");
	ok(!removed && is_symlink(dir), "... leaves the symlink");
	is_str(slurp(join(outside, "precious")), "keep me\n",
	    "... and what it points to");

	/* Bad names and no fingerprint: refused. */
	sc_error_clear(&err);
	is_int(bundle_remove_if(ca_dir, "..", a.fingerprint, &removed, &err),
	    SC_INTERNAL, "refuses \"..\"");
	sc_error_clear(&err);
	is_int(bundle_remove_if(ca_dir, "w", NULL, &removed, &err),
	    SC_INTERNAL, "refuses no fingerprint");
	ok(is_symlink(dir), "nothing touched");
out:
	pki_issued_clear(&a);
	pki_issued_clear(&b);
	pki_ca_free(ca);
}

/* ---------------------------------------------------------- sweep */

struct live_set {
	int	calls;
	int	fail;
};

static int
is_live(const char *name, void *arg)
{
	struct live_set *ls = arg;

	ls->calls++;
	if (ls->fail)
		return -1;
	return strcmp(name, "live1") == 0 || strcmp(name, "live2") == 0;
}

static void
test_sweep(void)
{
	struct pki_issued iss = issued();
	struct live_set ls = { 0, 0 };
	struct sc_error err;
	char tmp[PATH_MAX];

	fresh_tree();
	sc_error_clear(&err);
	is_int(bundle_write(ca_dir, "live1", ca_pem, &iss, NULL, &err) |
	    bundle_write(ca_dir, "live2", ca_pem, &iss, NULL, &err) |
	    bundle_write(ca_dir, "dead1", ca_pem, &iss, NULL, &err), SC_OK,
	    "three bundles written");
	snprintf(tmp, sizeof(tmp), "%s",
	    join(workers, ".tmp-00112233aabbccdd"));
	is_int(mkdir(tmp, 0700), 0, "an unfinished .tmp- dir");
	put(join(tmp, "worker.key"), "half\n");
	is_int(mkdir(join(workers, "_bad"), 0700), 0,
	    "a dir with an invalid name");
	put(join(workers, "stray-file"), "x\n");
	is_int(symlink(outside, join(workers, "link1")), 0,
	    "a symlink to a dir outside");

	sc_error_clear(&err);
	is_int(bundle_sweep(ca_dir, is_live, &ls, &err), SC_OK, "sweep (%s)",
	    err.msg);
	is_int(ls.calls, 3, "is_live asked about the three bundles only");
	ok(is_dir(join(workers, "live1")) &&
	    is_dir(join(workers, "live2")), "live bundles kept");
	is_str(slurp(join(join(workers, "live1"), "worker.key")), key_pem,
	    "live bundle intact");
	ok(mode_of(join(workers, "dead1")) == -1,
	    "dead bundle removed");
	ok(mode_of(tmp) == -1, ".tmp- dir removed");
	ok(is_dir(join(workers, "_bad")), "invalid name left alone");
	ok(mode_of(join(workers, "stray-file")) != -1,
	    "non-directory left alone");
	ok(is_symlink(join(workers, "link1")), "symlink left alone");
	is_str(slurp(join(outside, "precious")), "keep me\n",
	    "outside untouched");

	/* is_live failing aborts, and removes nothing. */
	ls.fail = 1;
	ls.calls = 0;
	sc_error_clear(&err);
	ok(bundle_sweep(ca_dir, is_live, &ls, &err) != SC_OK,
	    "sweep aborts when is_live fails");
	ok(ls.calls == 1, "after the first failure");
	ok(is_dir(join(workers, "live1")) &&
	    is_dir(join(workers, "live2")), "nothing removed");

	tu_rm_rf(workers);
	ls.fail = 0;
	sc_error_clear(&err);
	is_int(bundle_sweep(ca_dir, is_live, &ls, &err), SC_OK,
	    "sweep with no workers/ is success");
}

int
main(void)
{
	umask(022);
	test_names();
	test_write();
	test_write_concurrent();
	test_write_orphan();
	test_write_failures();
	test_stage();
	test_remove();
	test_remove_if();
	test_sweep();
	if (top[0] != '\0')
		tu_rm_rf(top);
	return done_testing();
}
