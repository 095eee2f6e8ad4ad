/*
 * libFuzzer harness over the parsers of attacker-supplied certificates:
 * a client certificate as nginx passes it (pki_peer_parse against a CA,
 * made once in a temporary directory) and a certificate signing request
 * (pki_csr_parse: PEM framing, PKCS#10 DER, proof of possession, key
 * policy).  The first byte picks the parser; the rest is the PEM.
 * Seeds: tests/fuzz/corpus/cert/.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki.h"

static struct pki_ca *
fuzz_ca(void)
{
	static struct pki_ca *ca;
	struct sc_error err = { SC_OK, "" };
	char dir[] = "/var/tmp/swarmctl-fuzz-ca.XXXXXX";
	bool created[PKI_NCA_ROLES];

	if (ca != NULL)
		return ca;
	if (pki_init(&err) != SC_OK || mkdtemp(dir) == NULL ||
	    pki_ca_init(dir, PKI_KEY_ECDSA_P256, created, &err) != SC_OK ||
	    pki_ca_load_cert(dir, PKI_CA_WORKER, &ca, &err) != SC_OK) {
		fprintf(stderr, "fuzz_cert: no CA: %s\n", err.msg);
		abort();
	}
	return ca;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_error err = { SC_OK, "" };
	struct pki_csr *csr = NULL;
	struct pki_peer peer;
	char *pem;

	if (size < 1 || (pem = malloc(size)) == NULL)
		return 0;
	memcpy(pem, data + 1, size - 1);
	pem[size - 1] = '\0';
	if (data[0] & 1)
		(void)pki_peer_parse(fuzz_ca(), pem, size - 1, &peer, &err);
	else if (pki_csr_parse(pem, size - 1, &csr, &err) == SC_OK) {
		(void)pki_csr_key_desc(csr);
		pki_csr_free(csr);
	}
	free(pem);
	return 0;
}
