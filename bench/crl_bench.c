#include "config.h"

/*
 * What publishing a CRL costs at fleet scale, in process, with the
 * project's own code (_build/libswarmctl.a): the CPU time of
 * pki_crl_sign_rows (encode every entry, build the list, sign it, parse
 * and verify the result, PEM) for CRLs of 1,000, 10,000 and 100,000
 * entries, and of pki_crl_sign from entries already encoded (what the
 * publisher's kept list costs: src/crl_list.h), each measured a few
 * times and the best kept.  The database's part (reading the revoked
 * rows) is not included.
 *
 *   crl_bench --ca-dir DIR [--ca-key-type T] [--entries N]... [--runs R]
 *       [--out FILE]
 *
 * --out writes the last CRL built there (PEM), for `openssl crl` to check.
 * Creates the CAs in DIR if they are missing (pki_ca_init, as `swarmctl
 * init` does).  Prints one machine-readable line per size on stdout:
 *   CRL ca=rsa-4096 entries=100000 cpu_secs=.. bytes=.. kept_cpu_secs=..
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "memlimit.h"
#include "pki/pki.h"

#define SIZES_MAX	8

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* n revoked certificates with serials like the CA's (16 octets). */
static struct pki_revoked *
make_revoked(size_t n)
{
	struct pki_revoked *r;
	time_t base = time(NULL) - 86400;
	size_t i;

	if ((r = calloc(n + 1, sizeof(*r))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		snprintf(r[i].serial_hex, sizeof(r[i].serial_hex),
		    "%08x%08x%016zx", (unsigned)(0x40000000u + (i * 2654435761u
		    & 0x3fffffffu)), (unsigned)rand(), i);
		r[i].revoked_at = base + (time_t)(i % 86400);
	}
	return r;
}

/*
 * One CRL to build: from rows (encoded as the publisher reads them from
 * the database) or, with kept set, from entries already encoded.
 */
struct crl_job {
	const struct pki_ca		*ca;
	const struct pki_revoked	*revoked;
	size_t				 n;
	const struct pki_crl_entries	*kept;
};

/*
 * Build and sign job's CRL `runs` times; *best: the least CPU time one
 * took.  *pem: the last CRL built (the caller frees it).
 */
static enum sc_err
best_cpu(const struct crl_job *job, int runs, double *best, char **pem,
    size_t *pem_len, struct sc_error *err)
{
	enum sc_err rc = SC_OK;
	int run;

	*best = -1;
	for (run = 0; run < runs; run++) {
		double t0, took;

		free(*pem);
		*pem = NULL;
		t0 = cpu_now();
		if (job->kept != NULL)
			rc = pki_crl_sign(job->ca, job->kept, 1 + (uint64_t)run,
			    7 * 86400, pem, pem_len, err);
		else
			rc = pki_crl_sign_rows(job->ca, job->revoked, job->n,
			    1 + (uint64_t)run, 7 * 86400, pem, pem_len, err);
		took = cpu_now() - t0;
		if (rc != SC_OK)
			break;
		if (*best < 0 || took < *best)
			*best = took;
	}
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: crl_bench --ca-dir DIR [--ca-key-type T] "
	    "[--entries N]... [--runs R] [--out FILE]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "ca-dir", required_argument, NULL, 'd' },
		{ "ca-key-type", required_argument, NULL, 'k' },
		{ "entries", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_error err = { SC_OK, "" };
	enum pki_key_type ca_type = PKI_DEFAULT_CA_KEY;
	bool created[PKI_NCA_ROLES];
	struct pki_revoked *revoked = NULL;
	struct pki_ca *ca = NULL;
	const char *ca_dir = NULL, *out_file = NULL;
	FILE *f;
	size_t sizes[SIZES_MAX] = { 1000, 10000, 100000 }, nsizes = 0, i;
	size_t pem_len = 0;
	struct pki_crl_entries kept;
	unsigned char *kept_buf = NULL;
	struct crl_job job;
	char *pem = NULL;
	double best, best_kept;
	int c, runs = 3, status = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ca_dir = optarg;
			break;
		case 'k':
			if (pki_key_type_parse(optarg, &ca_type) != 0)
				return usage();
			break;
		case 'n':
			if (nsizes == SIZES_MAX ||
			    (sizes[nsizes++] = strtoul(optarg, NULL, 10)) == 0)
				return usage();
			break;
		case 'o':
			out_file = optarg;
			break;
		case 'r':
			if ((runs = atoi(optarg)) < 1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (ca_dir == NULL || optind != argc)
		return usage();
	if (nsizes == 0)
		nsizes = 3;
	/* malloc as swarmctl has it (memlimit.h): the figures are its. */
	if (memlimit_check(0, "crl_bench", &err) != SC_OK ||
	    pki_init(&err) != SC_OK ||
	    pki_ca_init(ca_dir, ca_type, created, &err) != SC_OK ||
	    pki_ca_load(ca_dir, PKI_CA_WORKER, &ca, &err) != SC_OK)
		goto out;
	for (i = 0; i < nsizes; i++) {
		free(revoked);
		if ((revoked = make_revoked(sizes[i])) == NULL) {
			sc_error_set(&err, SC_INTERNAL, "out of memory");
			goto out;
		}
		job.ca = ca;
		job.revoked = revoked;
		job.n = sizes[i];
		job.kept = NULL;
		if (best_cpu(&job, runs, &best, &pem, &pem_len,
		    &err) != SC_OK)
			goto out;
		free(kept_buf);
		kept_buf = NULL;
		if (pki_crl_rows_encode(revoked, sizes[i], &kept_buf, &kept,
		    &err) != SC_OK)
			goto out;
		job.kept = &kept;
		if (best_cpu(&job, runs, &best_kept, &pem, &pem_len,
		    &err) != SC_OK)
			goto out;
		printf("CRL ca=%s entries=%zu cpu_secs=%.3f bytes=%zu "
		    "kept_cpu_secs=%.3f\n", pki_key_type_name(ca_type),
		    sizes[i], best, pem_len, best_kept);
		fflush(stdout);
	}
	if (out_file != NULL && pem != NULL) {
		if ((f = fopen(out_file, "w")) == NULL ||
		    fwrite(pem, 1, pem_len, f) != pem_len ||
		    fclose(f) != 0) {
			sc_error_set(&err, SC_IO, "writing %s failed", out_file);
			goto out;
		}
	}
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "crl_bench: %s\n", err.msg);
	free(pem);
	free(revoked);
	free(kept_buf);
	pki_ca_free(ca);
	pki_deinit();
	return status;
}
