#include "config.h"

/*
 * The crypto ceiling of an enrollment, in process, with the project's own
 * PKI code (_build/libswarmctl.a): how many worker certificates (fresh key
 * + CA signature, pki_issue_worker) one core and N threads can issue per
 * second, how much of that is key generation, and how long the durable
 * bundle write (bundle_write: three files, fsyncs, rename) takes.
 *
 *   crypto_bench --ca-dir DIR [--ca-key-type T] [--key-type T]
 *       [--threads N] [--seconds S] [--disk DIR | --peer CERT]
 *
 * --peer CERT times instead what the responder does with an operator's
 * client certificate on every operator request (pki_peer_parse: parse it,
 * check its signature against the front CA, loaded without its key).
 *
 * Creates the CAs in DIR if they are missing (pki_ca_init, as `swarmctl
 * init` does; --ca-key-type applies to both).  Workers are issued by the
 * worker CA (CA_DIR/ca.crt, ca.key), as in enrollment.  Each thread
 * loads its own copy of the CA, as each swarmctl worker does.  Prints one
 * machine-readable line per measurement on stdout:
 *   CRYPTO key=rsa-2048 ca=rsa-4096 threads=2 ops=.. secs=.. per_sec=.. ms_per_op=..
 *   KEYGEN key=rsa-2048 ops=.. secs=.. ms_per_op=..
 *   SIGN ca=rsa-4096 ops=.. secs=.. ms_per_op=..
 *   DISK ops=.. secs=.. ms_per_op=..
 *   PEER ops=.. secs=.. ms_per_op=..
 */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "err.h"
#include "pki/bundle.h"
#include "pki/pki.h"

struct job {
	const char		*ca_dir;
	enum pki_key_type	 type;
	double			 seconds;
	int			 id;
	unsigned long		 ops;
	struct sc_error		 err;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One worker: its own CA copy, then issue until the time is up. */
static void *
issue_loop(void *arg)
{
	struct job *j = arg;
	struct pki_issued iss;
	struct pki_ca *ca = NULL;
	const char *sans[] = { "10.0.0.1" };
	char name[64];
	double end;

	memset(&iss, 0, sizeof(iss));
	if (pki_ca_load(j->ca_dir, PKI_CA_WORKER, &ca, &j->err) != SC_OK)
		goto out;
	end = now() + j->seconds;
	while (now() < end) {
		snprintf(name, sizeof(name), "bench-%d-%lu", j->id, j->ops);
		if (pki_issue_worker(ca, name, sans, 1, j->type, &iss,
		    &j->err) != SC_OK)
			goto out;
		pki_issued_clear(&iss);
		j->ops++;
	}
out:
	pki_issued_clear(&iss);
	pki_ca_free(ca);
	return NULL;
}

static int
run_issue(const char *ca_dir, enum pki_key_type type,
    enum pki_key_type ca_type, int threads, double seconds)
{
	struct job *jobs = NULL;
	pthread_t *tids = NULL;
	unsigned long ops = 0;
	double t0, secs;
	int i, started = 0, rc = -1;

	if ((jobs = calloc((size_t)threads, sizeof(*jobs))) == NULL ||
	    (tids = calloc((size_t)threads, sizeof(*tids))) == NULL)
		goto out;
	t0 = now();
	for (i = 0; i < threads; i++) {
		jobs[i] = (struct job){ ca_dir, type, seconds, i, 0,
		    { SC_OK, "" } };
		if (pthread_create(&tids[i], NULL, issue_loop, &jobs[i]) != 0)
			goto join;
		started++;
	}
join:
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	secs = now() - t0;
	for (i = 0; i < started; i++) {
		if (jobs[i].err.code != SC_OK) {
			fprintf(stderr, "crypto_bench: %s\n", jobs[i].err.msg);
			goto out;
		}
		ops += jobs[i].ops;
	}
	if (started != threads || ops == 0)
		goto out;
	printf("CRYPTO key=%s ca=%s threads=%d ops=%lu secs=%.3f "
	    "per_sec=%.2f ms_per_op=%.3f\n", pki_key_type_name(type),
	    pki_key_type_name(ca_type), threads, ops, secs, (double)ops / secs,
	    1000.0 * secs * threads / (double)ops);
	rc = 0;
out:
	free(jobs);
	free(tids);
	return rc;
}

/* The same parameters as pki.c's key table, for key generation alone. */
static int
keygen_params(enum pki_key_type type, gnutls_pk_algorithm_t *pk,
    unsigned int *bits)
{
	switch (type) {
	case PKI_KEY_RSA2048: *pk = GNUTLS_PK_RSA; *bits = 2048; return 0;
	case PKI_KEY_RSA3072: *pk = GNUTLS_PK_RSA; *bits = 3072; return 0;
	case PKI_KEY_RSA4096: *pk = GNUTLS_PK_RSA; *bits = 4096; return 0;
	case PKI_KEY_ECDSA_P256: *pk = GNUTLS_PK_ECDSA;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
		return 0;
	case PKI_KEY_ECDSA_P384: *pk = GNUTLS_PK_ECDSA;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1);
		return 0;
	case PKI_KEY_ED25519: *pk = GNUTLS_PK_EDDSA_ED25519;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519);
		return 0;
	}
	return -1;
}

static int
run_keygen(enum pki_key_type type, double seconds)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_pk_algorithm_t pk;
	unsigned long ops = 0;
	unsigned int bits;
	double t0, secs;
	int r;

	if (keygen_params(type, &pk, &bits) == -1)
		return -1;
	t0 = now();
	do {
		if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
		    (r = gnutls_x509_privkey_generate(key, pk, bits, 0)) < 0) {
			fprintf(stderr, "crypto_bench: keygen: %s\n",
			    gnutls_strerror(r));
			if (key != NULL)
				gnutls_x509_privkey_deinit(key);
			return -1;
		}
		gnutls_x509_privkey_deinit(key);
		key = NULL;
		ops++;
	} while ((secs = now() - t0) < seconds);
	printf("KEYGEN key=%s ops=%lu secs=%.3f ms_per_op=%.3f\n",
	    pki_key_type_name(type), ops, secs, 1000.0 * secs / (double)ops);
	return 0;
}

/*
 * The worker CA's private-key operation alone: a SHA-256 signature with
 * CA_DIR/ca.key, as signing a worker certificate makes one.
 */
static int
run_sign(const char *ca_dir, enum pki_key_type ca_type, double seconds)
{
	gnutls_datum_t pem = { NULL, 0 }, sig = { NULL, 0 };
	gnutls_datum_t tbs = { (unsigned char *)"to be signed", 12 };
	gnutls_privkey_t key = NULL;
	unsigned long ops = 0;
	char path[4096];
	double t0, secs;
	int r, rc = -1;

	snprintf(path, sizeof(path), "%s/ca.key", ca_dir);
	if ((r = gnutls_load_file(path, &pem)) < 0 ||
	    (r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(key, &pem,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		goto out;
	t0 = now();
	do {
		if ((r = gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0,
		    &tbs, &sig)) < 0)
			goto out;
		gnutls_free(sig.data);
		sig.data = NULL;
		ops++;
	} while ((secs = now() - t0) < seconds);
	printf("SIGN ca=%s ops=%lu secs=%.3f ms_per_op=%.3f\n",
	    pki_key_type_name(ca_type), ops, secs,
	    1000.0 * secs / (double)ops);
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "crypto_bench: sign with %s: %s\n", path,
		    gnutls_strerror(r));
	if (pem.data != NULL) {
		gnutls_memset(pem.data, 0, pem.size);
		gnutls_free(pem.data);
	}
	if (key != NULL)
		gnutls_privkey_deinit(key);
	return rc;
}

/*
 * Durable bundle writes into DISK_DIR/workers/ (a scratch CA directory on
 * the same file system as the service's), one thread.  The bundles stay
 * for the caller to remove when nothing is being timed (bench/run).
 */
static int
run_disk(const char *ca_dir, const char *disk_dir, enum pki_key_type type,
    double seconds)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_issued iss;
	struct pki_ca *ca = NULL;
	const char *sans[] = { "10.0.0.1" };
	bool created[PKI_NCA_ROLES];
	unsigned long ops = 0;
	char name[64];
	double t0, secs = 0;
	int rc = -1;

	memset(&iss, 0, sizeof(iss));
	/* pki_ca_init makes DISK_DIR/workers (and CAs nobody uses). */
	if (pki_ca_init(disk_dir, type, created, &err) != SC_OK ||
	    pki_ca_load(ca_dir, PKI_CA_WORKER, &ca, &err) != SC_OK ||
	    pki_issue_worker(ca, "bench-disk", sans, 1, type, &iss,
	    &err) != SC_OK)
		goto out;
	t0 = now();
	do {
		snprintf(name, sizeof(name), "bench-disk-%lu", ops);
		if (bundle_write(disk_dir, name, pki_ca_cert_pem(ca), &iss,
		    NULL, &err) != SC_OK)
			goto out;
		ops++;
	} while ((secs = now() - t0) < seconds);
	printf("DISK ops=%lu secs=%.3f ms_per_op=%.3f\n", ops, secs,
	    1000.0 * secs / (double)ops);
	rc = 0;
out:
	if (err.code != SC_OK)
		fprintf(stderr, "crypto_bench: disk: %s\n", err.msg);
	pki_issued_clear(&iss);
	pki_ca_free(ca);
	return rc;
}

/* The per-request check of an operator's client certificate. */
static int
run_peer(const char *ca_dir, const char *cert, double seconds)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_peer peer;
	struct pki_ca *ca = NULL;
	unsigned long ops = 0;
	char *pem = NULL;
	size_t len = 0;
	double t0, secs;
	FILE *f = NULL;
	int rc = -1;

	if ((f = fopen(cert, "r")) == NULL ||
	    (pem = malloc(65536)) == NULL ||
	    (len = fread(pem, 1, 65535, f)) == 0) {
		fprintf(stderr, "crypto_bench: reading %s failed\n", cert);
		goto out;
	}
	pem[len] = '\0';
	/* Operators are the front CA's; the responder holds no CA key. */
	if (pki_ca_load_cert(ca_dir, PKI_CA_FRONT, &ca, &err) != SC_OK)
		goto out;
	t0 = now();
	do {
		if (pki_peer_parse(ca, pem, len, &peer, &err) != SC_OK)
			goto out;
		if (!peer.issued_by_ca) {
			fprintf(stderr, "crypto_bench: %s is not issued by the "
			    "front CA in %s\n", cert, ca_dir);
			goto out;
		}
		ops++;
	} while ((secs = now() - t0) < seconds);
	printf("PEER ops=%lu secs=%.3f ms_per_op=%.3f\n", ops, secs,
	    1000.0 * secs / (double)ops);
	rc = 0;
out:
	if (err.code != SC_OK)
		fprintf(stderr, "crypto_bench: peer: %s\n", err.msg);
	if (f != NULL)
		fclose(f);
	free(pem);
	pki_ca_free(ca);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: crypto_bench --ca-dir DIR [--ca-key-type T] "
	    "[--key-type T] [--threads N] [--seconds S] "
	    "[--disk DIR | --peer CERT]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "ca-dir",	 required_argument, NULL, 'c' },
		{ "ca-key-type", required_argument, NULL, 'C' },
		{ "key-type",	 required_argument, NULL, 'k' },
		{ "threads",	 required_argument, NULL, 't' },
		{ "seconds",	 required_argument, NULL, 's' },
		{ "disk",	 required_argument, NULL, 'd' },
		{ "peer",	 required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct sc_error err = { SC_OK, "" };
	bool created[PKI_NCA_ROLES];
	enum pki_key_type type = PKI_DEFAULT_WORKER_KEY;
	enum pki_key_type ca_type = PKI_DEFAULT_CA_KEY;
	const char *ca_dir = NULL, *disk_dir = NULL, *peer = NULL;
	double seconds = 3;
	int ch, threads = 1, rc = 1;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': ca_dir = optarg; break;
		case 'C': if (pki_key_type_parse(optarg, &ca_type) == -1)
				usage();
			break;
		case 'k': if (pki_key_type_parse(optarg, &type) == -1)
				usage();
			break;
		case 't': threads = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'd': disk_dir = optarg; break;
		case 'p': peer = optarg; break;
		default: usage();
		}
	}
	if (ca_dir == NULL || optind != argc || threads < 1 || seconds <= 0)
		usage();
	if (pki_init(&err) != SC_OK ||
	    pki_ca_init(ca_dir, ca_type, created, &err) != SC_OK) {
		fprintf(stderr, "crypto_bench: %s\n", err.msg);
		goto out;
	}
	if (disk_dir != NULL) {
		if (run_disk(ca_dir, disk_dir, type, seconds) == -1)
			goto out;
	} else if (peer != NULL) {
		if (run_peer(ca_dir, peer, seconds) == -1)
			goto out;
	} else if (run_issue(ca_dir, type, ca_type, threads, seconds) == -1 ||
	    (threads == 1 && (run_keygen(type, seconds) == -1 ||
	    run_sign(ca_dir, ca_type, seconds / 4) == -1)))
		goto out;
	rc = 0;
out:
	pki_deinit();
	return rc;
}
