/*
 * The worker key pool (--key-pool): it fills up in the background,
 * enrollment takes its keys (each once), certificates issued from pooled
 * keys are sound, other key types bypass it, a worker refused for the
 * wrong CA takes no key from it, quick key types (ECDSA) are made by the
 * taker when none is ready, and stopping it frees
 * everything (the sanitizer build checks the "frees").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pki/internal.h"
#include "pki/pki.h"
#include "tap.h"

static int
wait_ready(size_t want, int seconds)
{
	int i;

	for (i = 0; i < seconds * 20; i++) {
		if (pki_keypool_ready() >= want)
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

/* How many of this process's threads run at `nice` (proc(5) stat 19). */
static int
threads_at_nice(int nice)
{
	char cmd[160], out[32];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "cat /proc/%ld/task/*/stat | "
	    "sed 's/.*) //' | awk '$17 == %d' | wc -l", (long)getpid(), nice);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(out, sizeof(out), p) != NULL)
			n = atoi(out);
		pclose(p);
	}
	return n;
}

static enum sc_err
issue(const struct pki_ca *ca, const char *name, enum pki_key_type type,
    struct pki_issued *out)
{
	struct sc_error err = { SC_OK, "" };
	const char *sans[] = { "127.0.0.1" };
	enum sc_err rc;

	rc = pki_issue_worker(ca, name, sans, 1, type, out, &err);
	if (rc != SC_OK)
		printf("# issue %s: %s\n", name, err.msg);
	return rc;
}

int
main(void)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_issued a, b, c;
	struct pki_ca *ca = NULL, *front = NULL;
	bool created[PKI_NCA_ROLES];
	char dir[] = "/var/tmp/swarmctl-keypool.XXXXXX";
	gnutls_x509_privkey_t k = NULL;
	char cmd[128];
	int i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	if (mkdtemp(dir) == NULL || pki_init(&err) != SC_OK ||
	    pki_ca_init(dir, PKI_KEY_ECDSA_P256, created, &err) != SC_OK ||
	    pki_ca_load(dir, PKI_CA_WORKER, &ca, &err) != SC_OK ||
	    pki_ca_load(dir, PKI_CA_FRONT, &front, &err) != SC_OK) {
		printf("Bail out! CA set-up: %s\n", err.msg);
		return 1;
	}
	is_int(pki_keypool_ready(), 0, "no pool: nothing ready");
	is_int(pki_keypool_start(PKI_KEY_RSA3072, 2, 1, &err), SC_OK,
	    "pool of 2 RSA-3072 keys starts");
	ok(pki_keypool_start(PKI_KEY_RSA3072, 2, 1, &err) != SC_OK,
	    "a second pool is refused");
	ok(wait_ready(2, 60), "the pool fills up in the background");

	is_int(issue(ca, "pooled-a", PKI_KEY_RSA3072, &a), SC_OK,
	    "worker issued with a pooled key");
	/* RSA-3072 takes far longer to generate than this check. */
	is_int(pki_keypool_ready(), 1, "... which took one key from the pool");
	is_int(issue(ca, "pooled-b", PKI_KEY_RSA3072, &b), SC_OK,
	    "a second worker issued");
	ok(strcmp(a.key_pem, b.key_pem) != 0, "... with a different key");
	ok(strstr(a.key_pem, "BEGIN PRIVATE KEY") != NULL,
	    "pooled key exported as PKCS#8");
	ok(strcmp(a.fingerprint, b.fingerprint) != 0, "distinct certificates");

	ok(wait_ready(1, 60), "the pool refills");
	/* The wrong CA is refused before a pooled key is taken. */
	{
		struct pki_issued x;
		size_t ready = pki_keypool_ready();

		memset(&x, 0x5a, sizeof(x));
		sc_error_clear(&err);
		is_int(pki_issue_worker(front, "wrong-ca", NULL, 0,
		    PKI_KEY_RSA3072, &x, &err), SC_INTERNAL,
		    "a worker from the front CA is refused");
		ok(x.cert_pem == NULL && x.key_pem == NULL,
		    "... handing out nothing");
		/* (It may refill meanwhile, never drop.) */
		ok(pki_keypool_ready() >= ready,
		    "... and leaving the pool's keys alone");
	}
	is_int(issue(ca, "other-type", PKI_KEY_ECDSA_P256, &c), SC_OK,
	    "another key type is issued");
	ok(pki_keypool_ready() >= 1, "... without touching the pool");

	pki_keypool_stop();
	is_int(pki_keypool_ready(), 0, "stopped pool holds no keys");
	pki_keypool_stop();
	ok(1, "stopping twice is harmless");

	/* Without a pool size, RSA keys are made on request, still below. */
	is_int(pki_keypool_start(PKI_KEY_RSA2048, 0, 1, &err), SC_OK,
	    "generators without a pool start");
	/* They lower themselves once running: give them a moment. */
	for (i = 0; i < 100 && threads_at_nice(10) < 1; i++)
		usleep(50 * 1000);
	ok(threads_at_nice(10) >= 1, "generator threads run at nice 10");
	ok(threads_at_nice(0) >= 1, "... while this thread stays at nice 0");
	pki_issued_clear(&c);
	is_int(issue(ca, "on-demand", PKI_KEY_RSA2048, &c), SC_OK,
	    "a worker is issued with an RSA key made on request");
	usleep(200 * 1000);
	is_int(pki_keypool_ready(), 0, "... and no key is kept in advance");
	pki_keypool_stop();

	/* A quick key type: the taker makes its own when none is ready. */
	is_int(pki_keypool_start(PKI_KEY_ECDSA_P256, 0, 1, &err), SC_OK,
	    "ECDSA generators without a pool start");
	ok(!pki_keypool_take(PKI_KEY_ECDSA_P256, &k),
	    "with no ECDSA key ready, the taker is sent to make its own "
	    "(no hand-off to a generator)");
	pki_issued_clear(&c);
	is_int(issue(ca, "quick", PKI_KEY_ECDSA_P256, &c), SC_OK,
	    "... and a worker is issued");
	pki_keypool_stop();
	is_int(pki_keypool_start(PKI_KEY_ECDSA_P256, 2, 1, &err), SC_OK,
	    "a pool of 2 ECDSA keys starts");
	ok(wait_ready(2, 30), "... and fills up");
	ok(pki_keypool_take(PKI_KEY_ECDSA_P256, &k) && k != NULL,
	    "a ready ECDSA key is taken from it");
	if (k != NULL)
		gnutls_x509_privkey_deinit(k);
	pki_keypool_stop();

	pki_issued_clear(&a);
	pki_issued_clear(&b);
	pki_issued_clear(&c);
	pki_ca_free(ca);
	pki_ca_free(front);
	pki_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
