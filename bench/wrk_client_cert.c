/*
 * LD_PRELOAD shim that makes wrk present a TLS client certificate: wrk
 * has no option for one, and swarmctl's operator routes need an operator
 * certificate (nginx verifies it, the responder authorises it).  Wraps
 * SSL_CTX_new (wrk makes one context, at start) and loads
 * $BENCH_CLIENT_CERT and $BENCH_CLIENT_KEY (PEM) into the new context.
 * Without those variables the context is left as wrk made it.
 *
 *   cc -shared -fPIC -o wrk_client_cert.so wrk_client_cert.c -lssl -ldl
 *   LD_PRELOAD=./wrk_client_cert.so BENCH_CLIENT_CERT=op.crt \
 *       BENCH_CLIENT_KEY=op.key wrk https://...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

SSL_CTX *
SSL_CTX_new(const SSL_METHOD *method)
{
	static SSL_CTX *(*real)(const SSL_METHOD *);
	const char *crt = getenv("BENCH_CLIENT_CERT");
	const char *key = getenv("BENCH_CLIENT_KEY");
	SSL_CTX *ctx;

	if (real == NULL &&
	    (real = (SSL_CTX *(*)(const SSL_METHOD *))dlsym(RTLD_NEXT,
	    "SSL_CTX_new")) == NULL) {
		fprintf(stderr, "wrk_client_cert: no SSL_CTX_new: %s\n",
		    dlerror());
		abort();
	}
	if ((ctx = real(method)) == NULL || crt == NULL || *crt == '\0' ||
	    key == NULL || *key == '\0')
		return ctx;
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "wrk_client_cert: cannot use %s / %s\n", crt,
		    key);
		exit(1);
	}
	return ctx;
}
