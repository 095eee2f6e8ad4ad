/*
 * libFuzzer harness over the CA signer's wire format (src/pki/signwire.c):
 * what the signer decodes comes from the request process, which parses
 * the network's input, so it is attacker-supplied once that process is
 * taken over.  The first byte picks the decoder (even: request, odd:
 * answer); a request that decodes is encoded again and must decode to
 * the same thing.  Seeds: tests/fuzz/corpus-signwire/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/signwire.h"

static void
roundtrip(const struct signwire_request *req)
{
	struct sc_error err = { SC_OK, "" };
	struct signwire_request again;
	unsigned char *buf = NULL;
	size_t len = 0;
	enum sc_err rc;

	if (req->op == SIGNWIRE_ISSUE)
		rc = signwire_issue_encode(req->issue.profile, req->issue.days,
		    req->issue.cn, (const char *const *)req->issue.sans,
		    req->issue.nsans, req->issue.spki, req->issue.spki_len,
		    &buf, &len, &err);
	else
		rc = signwire_crl_encode(req->crl.role, req->crl.number,
		    req->crl.next_update_secs, &req->crl.entries, &buf, &len,
		    &err);
	if (rc != SC_OK)
		abort();	/* what decodes must encode */
	if (signwire_request_decode(buf, len, &again, &err) != SC_OK ||
	    again.op != req->op || again.issue.nsans != req->issue.nsans ||
	    again.crl.entries.n != req->crl.entries.n ||
	    again.crl.entries.len != req->crl.entries.len ||
	    (again.crl.entries.len > 0 && memcmp(again.crl.entries.der,
	    req->crl.entries.der, again.crl.entries.len) != 0) ||
	    strcmp(again.issue.cn, req->issue.cn) != 0)
		abort();
	signwire_request_free(&again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_error err = { SC_OK, "" };
	struct signwire_request req;
	struct signwire_answer ans;

	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		if (signwire_request_decode(data + 1, size - 1, &req,
		    &err) == SC_OK) {
			roundtrip(&req);
			signwire_request_free(&req);
		}
	} else if (signwire_answer_decode(data + 1, size - 1, &ans,
	    &err) == SC_OK)
		signwire_answer_free(&ans);
	return 0;
}
