#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http/response.h"

/* Flush a stream once this much body is pending. */
#define STREAM_CHUNK	(16 * 1024)

void
http_response_init(struct http_response *resp, struct http_sink sink)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->sink = sink;
}

void
http_response_free(struct http_response *resp)
{
	if (resp->secret && resp->buf != NULL)
		explicit_bzero(resp->buf, resp->cap);
	free(resp->buf);
	resp->buf = NULL;
	resp->len = resp->cap = 0;
}

static int
sink_write(struct http_response *resp, const char *p, size_t n)
{
	if (resp->failed)
		return -1;
	if (n > 0 && resp->sink.write(resp->sink.arg, p, n) == -1) {
		resp->failed = true;
		return -1;
	}
	return 0;
}

static int
flush_body(struct http_response *resp)
{
	int rc;

	rc = resp->head ? 0 : sink_write(resp, resp->buf, resp->len);
	resp->len = 0;
	return rc;
}

char *
http_response_reserve(struct http_response *resp, size_t n)
{
	if (resp->len + n + 1 > resp->cap) {
		size_t ncap = resp->cap ? resp->cap : 4096;
		char *nbuf;

		while (ncap < resp->len + n + 1)
			ncap *= 2;
		/* Not realloc: a secret body must not linger in freed memory. */
		if ((nbuf = malloc(ncap)) == NULL)
			return NULL;
		if (resp->buf != NULL) {
			memcpy(nbuf, resp->buf, resp->len);
			if (resp->secret)
				explicit_bzero(resp->buf, resp->cap);
			free(resp->buf);
		}
		resp->buf = nbuf;
		resp->cap = ncap;
	}
	return resp->buf + resp->len;
}

int
http_response_commit(struct http_response *resp, size_t n)
{
	resp->len += n;
	resp->buf[resp->len] = '\0';
	if (resp->streaming && resp->len >= STREAM_CHUNK)
		return flush_body(resp);
	return 0;
}

int
http_response_append(struct http_response *resp, const char *p, size_t n)
{
	char *dst;

	if ((dst = http_response_reserve(resp, n)) == NULL)
		return -1;
	memcpy(dst, p, n);
	return http_response_commit(resp, n);
}

int
http_response_append_str(struct http_response *resp, const char *s)
{
	return http_response_append(resp, s, strlen(s));
}

int
http_response_json(struct http_response *resp, int status,
    struct json_object *obj)
{
	const char *text;
	size_t len;

	resp->status = status;
	resp->content_type = HTTP_JSON;
	resp->len = 0;
	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL)
		return -1;
	return http_response_append(resp, text, len);
}

int
http_response_detail(struct http_response *resp, int status,
    const char *detail)
{
	struct json_object *obj;
	int rc = -1;

	if ((obj = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(obj, "detail",
	    json_object_new_string(detail)) == 0)
		rc = http_response_json(resp, status, obj);
	json_object_put(obj);
	return rc;
}

const char *
http_error_detail(enum sc_err code)
{
	switch (code) {
	case SC_DB_UNAVAILABLE:
		return "database unavailable";
	case SC_SCHEMA_BEHIND:
		return "database schema behind this swarmctl: run swarmctl "
		    "migrate";
	case SC_CA_UNAVAILABLE:
		return "CA unavailable";
	case SC_SIGNER_UNAVAILABLE:
		return "CA signer unavailable";
	case SC_CA_DIR_FULL:
		return "CA directory full: no space left";
	case SC_CA_DIR_READONLY:
		return "CA directory not writable (read-only)";
	default:
		return NULL;
	}
}

void
http_response_error(struct http_response *resp, const struct sc_error *err)
{
	int status = http_status_for(err->code);
	const char *detail = http_error_detail(err->code);

	/* Client errors carry text written for the client. */
	if (detail == NULL)
		detail = status < 500 ? err->msg : "internal error";
	if (http_response_detail(resp, status, detail) == -1) {
		resp->status = 500;
		resp->len = 0;
	}
}

void
http_response_empty(struct http_response *resp, int status)
{
	resp->status = status;
	resp->content_type = NULL;
	resp->len = 0;
}

static int
send_headers(struct http_response *resp, bool with_length)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Cache-Control: no-store\r\n%s%s%s%s%s%s%s",
	    resp->status, http_reason(resp->status),
	    resp->content_type ? "Content-Type: " : "",
	    resp->content_type ? resp->content_type : "",
	    resp->content_type ? "\r\n" : "",
	    resp->allow[0] ? "Allow: " : "", resp->allow,
	    resp->allow[0] ? "\r\n" : "",
	    resp->bearer_challenge ? "WWW-Authenticate: Bearer\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (with_length && resp->status != 204) {
		int m = snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Length: %zu\r\n", resp->len);

		if (m < 0 || (size_t)m >= sizeof(head) - (size_t)n)
			return -1;
		n += m;
	}
	if ((size_t)n + 2 >= sizeof(head))
		return -1;
	memcpy(head + n, "\r\n", 2);
	return sink_write(resp, head, (size_t)n + 2);
}

int
http_response_blob(struct http_response *resp, int status,
    const char *content_type, const char *p, size_t n)
{
	resp->status = status;
	resp->content_type = content_type;
	resp->len = 0;
	return http_response_append(resp, p, n);
}

int
http_response_stream_begin(struct http_response *resp, int status)
{
	resp->status = status;
	resp->content_type = HTTP_JSON;
	resp->streaming = true;
	resp->len = 0;
	return send_headers(resp, false);
}

int
http_response_finish(struct http_response *resp)
{
	if (!resp->streaming) {
		if (resp->status == 204)
			resp->len = 0;
		if (send_headers(resp, true) == -1)
			return -1;
	}
	return flush_body(resp);
}

int
http_status_for(enum sc_err code)
{
	switch (code) {
	case SC_OK:			return 200;
	case SC_BAD_REQUEST:		return 400;
	case SC_FORBIDDEN:		return 403;
	case SC_NOT_FOUND:		return 404;
	case SC_CONFLICT:		return 409;
	case SC_TOO_LARGE:		return 413;
	case SC_UNSUPPORTED_MEDIA:	return 415;
	case SC_INVALID:		return 422;
	case SC_DB_UNAVAILABLE:		return 503;
	case SC_CA_UNAVAILABLE:		return 503;
	case SC_SIGNER_UNAVAILABLE:	return 503;
	case SC_CA_DIR_FULL:		return 503;
	case SC_CA_DIR_READONLY:	return 503;
	case SC_SCHEMA_BEHIND:		return 503;
	case SC_IO:			return 500;
	case SC_INTERNAL:		return 500;
	}
	return 500;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:	return "OK";
	case 201:	return "Created";
	case 204:	return "No Content";
	case 400:	return "Bad Request";
	case 401:	return "Unauthorized";
	case 403:	return "Forbidden";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 409:	return "Conflict";
	case 413:	return "Payload Too Large";
	case 415:	return "Unsupported Media Type";
	case 429:	return "Too Many Requests";
	case 422:	return "Unprocessable Entity";
	case 500:	return "Internal Server Error";
	case 503:	return "Service Unavailable";
	}
	return "Unknown";
}
