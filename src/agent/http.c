/*
 * libcurl, configured once per request (no connection reuse: the agent
 * makes one or two requests per run).  Only https:// is allowed, so a
 * URL typo cannot send a token or a CSR in clear text, and redirects are
 * not followed.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "agent/http.h"
#include "err.h"

#define CONNECT_TIMEOUT_S	10L
#define TOTAL_TIMEOUT_S		60L

struct sink {
	char	*buf;
	size_t	 len;
	bool	 overflow;
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;
	char *p;

	if (add > AGENT_HTTP_BODY_MAX - s->len) {
		s->overflow = true;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	if ((p = realloc(s->buf, s->len + add + 1)) == NULL)
		return 0;
	s->buf = p;
	memcpy(s->buf + s->len, data, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

enum sc_err
agent_http_init(struct sc_error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sc_error_set(err, SC_INTERNAL, "curl_global_init failed");
	return SC_OK;
}

void
agent_http_deinit(void)
{
	curl_global_cleanup();
}

static struct curl_slist *
headers_for(const struct agent_http *h, const char *json)
{
	struct curl_slist *list = NULL, *next;
	char auth[512];
	int n;

	/* No "Expect: 100-continue" round trip for our small bodies. */
	if ((list = curl_slist_append(list, "Expect:")) == NULL)
		return NULL;
	if (json != NULL && (next = curl_slist_append(list,
	    "Content-Type: application/json")) == NULL)
		goto fail;
	else if (json != NULL)
		list = next;
	if (h->bearer != NULL) {
		n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    h->bearer);
		next = n > 0 && (size_t)n < sizeof(auth) ?
		    curl_slist_append(list, auth) : NULL;
		gnutls_memset(auth, 0, sizeof(auth));
		if (next == NULL)
			goto fail;
		list = next;
	}
	return list;
fail:
	curl_slist_free_all(list);
	return NULL;
}

static enum sc_err
configure(CURL *c, const struct agent_http *h, const char *method,
    const char *url, const char *json, struct curl_slist *hdrs,
    struct sink *sink, char *errbuf, struct sc_error *err)
{
	bool verify = h->ca_file != NULL;
	CURLcode r = CURLE_OK;

	/* Each setopt can only fail on memory or an unknown option. */
	if ((r = curl_easy_setopt(c, CURLOPT_URL, url)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https")) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_WRITEDATA, sink)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "-agent/"
	    PACKAGE_VERSION)) != CURLE_OK ||
	    /* Our anchor alone: no system store (Debian's default CA path). */
	    (r = curl_easy_setopt(c, CURLOPT_CAPATH, NULL)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L)) != CURLE_OK)
		goto fail;
	if (json != NULL &&
	    ((r = curl_easy_setopt(c, CURLOPT_POSTFIELDS, json)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(json))) != CURLE_OK))
		goto fail;
	if (h->cert_file != NULL &&
	    ((r = curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file)) != CURLE_OK ||
	    (r = curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file)) != CURLE_OK))
		goto fail;
	return SC_OK;
fail:
	return sc_error_set(err, SC_INTERNAL, "curl: %s", curl_easy_strerror(r));
}

enum sc_err
agent_http_call(const struct agent_http *h, const char *method,
    const char *path, const char *json, struct agent_reply *reply,
    struct sc_error *err)
{
	char url[2048], errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = { NULL, 0, false };
	struct curl_slist *hdrs = NULL;
	enum sc_err rc = SC_OK;
	CURL *c = NULL;
	CURLcode r;
	int n;

	reply->status = 0;
	reply->body = NULL;
	reply->len = 0;
	n = snprintf(url, sizeof(url), "%s%s", h->url, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		rc = sc_error_set(err, SC_INVALID, "URL too long");
		goto out;
	}
	if ((c = curl_easy_init()) == NULL ||
	    (hdrs = headers_for(h, json)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = configure(c, h, method, url, json, hdrs, &sink, errbuf,
	    err)) != SC_OK)
		goto out;
	if ((r = curl_easy_perform(c)) != CURLE_OK) {
		rc = sc_error_set(err, SC_IO, "%s %s: %s", method, url,
		    sink.overflow ? "answer larger than the limit" :
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(r));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	if (sink.buf == NULL && (sink.buf = calloc(1, 1)) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	reply->body = sink.buf;
	reply->len = sink.len;
	sink.buf = NULL;
out:
	free(sink.buf);
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}

void
agent_reply_free(struct agent_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}
