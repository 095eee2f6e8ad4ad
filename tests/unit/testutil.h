/*
 * Helpers several unit tests share: scratch trees, whole files, and
 * X.509 checks done with GnuTLS directly (never through the code under
 * test).  Header-only, like tap.h: each test program is a single file.
 */
#ifndef SC_TESTUTIL_H
#define SC_TESTUTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define TU_MAX_FILE	(1024 * 1024)

static int __attribute__((unused))
tu_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Remove a scratch tree (symlinks removed, never followed). */
static void __attribute__((unused))
tu_rm_rf(const char *path)
{
	(void)nftw(path, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A whole file (up to 1 MiB), malloc'd and NUL-terminated; *lenp its
 * length when lenp is not NULL.  NULL if it cannot be read.
 */
static __attribute__((unused)) char *
tu_read_file(const char *path, size_t *lenp)
{
	FILE *fp;
	char *buf;
	size_t n = 0;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(TU_MAX_FILE)) != NULL) {
		n = fread(buf, 1, TU_MAX_FILE - 1, fp);
		buf[n] = '\0';
	}
	fclose(fp);
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

/* A PEM certificate parsed by GnuTLS; NULL if pem is NULL or invalid. */
static gnutls_x509_crt_t __attribute__((unused))
tu_crt_from_pem(const char *pem)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;

	if (pem == NULL)
		return NULL;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned int)strlen(pem);
	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

/* crt carries a valid signature of ca (and ca may issue it). */
static int __attribute__((unused))
tu_crt_verifies(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca)
{
	unsigned int status = 0xffff;

	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0)
		return 0;
	return status == 0;
}

#endif
