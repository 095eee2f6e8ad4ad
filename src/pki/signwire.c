/*
 * The CA signer's wire format: signwire.h.  A reader (struct rd) walks a
 * frame and fails once, sticky, on the first length that does not fit;
 * a writer (struct wr) grows a buffer.  Decoders copy into fixed-size
 * fields only after the length has been checked against the field.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "pki/signwire.h"

/* ------------------------------------------------------------ writer */

struct wr {
	unsigned char	*buf;
	size_t		 len, cap;
	bool		 failed;
};

static void
wr_bytes(struct wr *w, const void *p, size_t n)
{
	unsigned char *nb;

	if (w->failed)
		return;
	if (n > SIGNWIRE_FRAME_MAX - w->len) {
		w->failed = true;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;

		while (cap < w->len + n)
			cap *= 2;
		if ((nb = realloc(w->buf, cap)) == NULL) {
			w->failed = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Big-endian, `width` bytes. */
static void
wr_uint(struct wr *w, uint64_t v, size_t width)
{
	unsigned char b[8];
	size_t i;

	for (i = 0; i < width; i++)
		b[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
	wr_bytes(w, b, width);
}

static void
wr_blob(struct wr *w, const void *p, size_t n, size_t width)
{
	wr_uint(w, n, width);
	wr_bytes(w, p, n);
}

static enum sc_err
wr_finish(struct wr *w, unsigned char **buf, size_t *len,
    struct sc_error *err)
{
	if (w->failed) {
		free(w->buf);
		*buf = NULL;
		*len = 0;
		return sc_error_set(err, SC_INTERNAL, "signer message: out of "
		    "memory or over %u bytes", SIGNWIRE_FRAME_MAX);
	}
	*buf = w->buf;
	*len = w->len;
	return SC_OK;
}

/* ------------------------------------------------------------ reader */

struct rd {
	const unsigned char	*p;
	size_t			 left;
	bool			 failed;
};

static uint64_t
rd_uint(struct rd *r, size_t width)
{
	uint64_t v = 0;
	size_t i;

	if (r->failed || r->left < width) {
		r->failed = true;
		return 0;
	}
	for (i = 0; i < width; i++)
		v = v << 8 | r->p[i];
	r->p += width;
	r->left -= width;
	return v;
}

/*
 * A length-prefixed string into out[max + 1]: printable ASCII only (our
 * names are host names; pki.c checks SANs further).
 */
static void
rd_str(struct rd *r, size_t width, char *out, size_t max)
{
	size_t n = (size_t)rd_uint(r, width), i;

	if (r->failed || n == 0 || n > max || n > r->left) {
		r->failed = true;
		return;
	}
	for (i = 0; i < n; i++)
		if (r->p[i] < ' ' || r->p[i] > '~') {
			r->failed = true;
			return;
		}
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	r->left -= n;
}

/* A length-prefixed blob: *p points into the frame. */
static const unsigned char *
rd_blob(struct rd *r, size_t width, size_t max, size_t *n)
{
	const unsigned char *p;

	*n = (size_t)rd_uint(r, width);
	if (r->failed || *n > max || *n > r->left) {
		r->failed = true;
		*n = 0;
		return NULL;
	}
	p = r->p;
	r->p += *n;
	r->left -= *n;
	return p;
}

/*
 * Room for n elements of `size` bytes, each of which takes at least
 * min_bytes of what is left of the frame: NULL when n is 0, and NULL with
 * r->failed when n is over max or the frame cannot hold them (so a frame
 * never makes us allocate more than it carries) or memory is short.
 */
static void *
rd_array(struct rd *r, size_t n, size_t max, size_t min_bytes, size_t size)
{
	void *p = NULL;

	if (r->failed || n > max || n > r->left / min_bytes)
		r->failed = true;
	else if (n > 0 && (p = calloc(n, size)) == NULL)
		r->failed = true;
	return p;
}

/* ---------------------------------------------------------- requests */

enum sc_err
signwire_issue_encode(enum signwire_profile profile, uint32_t days,
    const char *cn, const char *const *sans, size_t nsans,
    const unsigned char *spki, size_t spki_len, unsigned char **buf,
    size_t *len, struct sc_error *err)
{
	struct wr w = { NULL, 0, 0, false };
	size_t i, cnlen = strlen(cn);

	*buf = NULL;
	*len = 0;
	if (cnlen == 0 || cnlen > SIGNWIRE_CN_MAX)
		return sc_error_set(err, SC_INVALID, "name of %zu bytes (want "
		    "1 to %d)", cnlen, SIGNWIRE_CN_MAX);
	if (nsans > SIGNWIRE_SANS_MAX)
		return sc_error_set(err, SC_INVALID, "%zu subjectAltNames (at "
		    "most %d)", nsans, SIGNWIRE_SANS_MAX);
	if (spki_len == 0 || spki_len > SIGNWIRE_SPKI_MAX)
		return sc_error_set(err, SC_INVALID, "public key of %zu bytes "
		    "(at most %d)", spki_len, SIGNWIRE_SPKI_MAX);
	wr_uint(&w, SIGNWIRE_ISSUE, 1);
	wr_uint(&w, (uint64_t)profile, 1);
	wr_uint(&w, days, 4);
	wr_blob(&w, cn, cnlen, 1);
	wr_uint(&w, nsans, 2);
	for (i = 0; i < nsans; i++) {
		size_t n = strlen(sans[i]);

		if (n == 0 || n > SIGNWIRE_SAN_MAX) {
			free(w.buf);
			return sc_error_set(err, SC_INVALID, "subjectAltName "
			    "of %zu bytes (want 1 to %d)", n,
			    SIGNWIRE_SAN_MAX);
		}
		wr_blob(&w, sans[i], n, 2);
	}
	wr_blob(&w, spki, spki_len, 2);
	return wr_finish(&w, buf, len, err);
}

enum sc_err
signwire_crl_encode(enum pki_ca_role role, uint64_t number,
    uint32_t next_update_secs, const struct pki_crl_entries *l,
    unsigned char **buf, size_t *len, struct sc_error *err)
{
	struct wr w = { NULL, 0, 0, false };

	*buf = NULL;
	*len = 0;
	if (l->n > SIGNWIRE_CRL_MAX || l->len > l->n * PKI_CRL_ENTRY_MAX)
		return sc_error_set(err, SC_INVALID, "a CRL of %zu entries in "
		    "%zu bytes (at most %u entries of %d)", l->n, l->len,
		    SIGNWIRE_CRL_MAX, PKI_CRL_ENTRY_MAX);
	wr_uint(&w, SIGNWIRE_CRL, 1);
	wr_uint(&w, (uint64_t)role, 1);
	wr_uint(&w, number, 8);
	wr_uint(&w, next_update_secs, 4);
	wr_uint(&w, l->n, 4);
	wr_blob(&w, l->der, l->len, 4);
	return wr_finish(&w, buf, len, err);
}

static void
decode_issue(struct rd *r, struct signwire_issue *is)
{
	const unsigned char *spki;
	uint64_t profile;
	size_t i;

	profile = rd_uint(r, 1);
	if (profile >= SIGNWIRE_NPROFILES)
		r->failed = true;
	is->profile = (enum signwire_profile)profile;
	is->days = (uint32_t)rd_uint(r, 4);
	rd_str(r, 1, is->cn, SIGNWIRE_CN_MAX);
	is->nsans = (size_t)rd_uint(r, 2);
	/* Each SAN takes at least 3 bytes. */
	is->sans = rd_array(r, is->nsans, SIGNWIRE_SANS_MAX, 3,
	    sizeof(*is->sans));
	if (r->failed) {
		is->nsans = 0;
		return;
	}
	for (i = 0; i < is->nsans && !r->failed; i++) {
		if ((is->sans[i] = malloc(SIGNWIRE_SAN_MAX + 1)) == NULL) {
			r->failed = true;
			break;
		}
		rd_str(r, 2, is->sans[i], SIGNWIRE_SAN_MAX);
	}
	spki = rd_blob(r, 2, SIGNWIRE_SPKI_MAX, &is->spki_len);
	if (!r->failed && is->spki_len > 0)
		memcpy(is->spki, spki, is->spki_len);
	else
		r->failed = true;
}

static void
decode_crl(struct rd *r, struct signwire_crl *c)
{
	uint64_t role, n;

	role = rd_uint(r, 1);
	if (role >= PKI_NCA_ROLES)
		r->failed = true;
	c->role = (enum pki_ca_role)role;
	c->number = rd_uint(r, 8);
	c->next_update_secs = (uint32_t)rd_uint(r, 4);
	n = rd_uint(r, 4);
	if (n > SIGNWIRE_CRL_MAX)
		r->failed = true;
	c->entries.n = r->failed ? 0 : (size_t)n;
	/* Their shape is pki_crl_build's to check; here only their size. */
	c->entries.der = rd_blob(r, 4, c->entries.n * PKI_CRL_ENTRY_MAX,
	    &c->entries.len);
	if (r->failed)
		c->entries.n = 0;
}

enum sc_err
signwire_request_decode(const unsigned char *buf, size_t len,
    struct signwire_request *req, struct sc_error *err)
{
	struct rd r = { buf, len, false };

	memset(req, 0, sizeof(*req));
	req->op = (enum signwire_op)rd_uint(&r, 1);
	if (req->op == SIGNWIRE_ISSUE)
		decode_issue(&r, &req->issue);
	else if (req->op == SIGNWIRE_CRL)
		decode_crl(&r, &req->crl);
	else
		r.failed = true;
	if (r.failed || r.left != 0) {
		signwire_request_free(req);
		return sc_error_set(err, SC_INVALID, "malformed signer request "
		    "of %zu bytes", len);
	}
	return SC_OK;
}

void
signwire_request_free(struct signwire_request *req)
{
	size_t i;

	for (i = 0; i < req->issue.nsans; i++)
		free(req->issue.sans[i]);
	free(req->issue.sans);
	memset(req, 0, sizeof(*req));
}

/* ----------------------------------------------------------- answers */

enum sc_err
signwire_answer_encode(enum sc_err status, const unsigned char *der,
    size_t der_len, const char *msg, unsigned char **buf, size_t *len,
    struct sc_error *err)
{
	struct wr w = { NULL, 0, 0, false };

	wr_uint(&w, (uint64_t)status, 1);
	if (status == SC_OK)
		wr_blob(&w, der, der_len, 4);
	else {
		size_t n = strlen(msg);

		wr_blob(&w, msg, n < SIGNWIRE_MSG_MAX ? n : SIGNWIRE_MSG_MAX,
		    2);
	}
	return wr_finish(&w, buf, len, err);
}

enum sc_err
signwire_answer_decode(const unsigned char *buf, size_t len,
    struct signwire_answer *ans, struct sc_error *err)
{
	struct rd r = { buf, len, false };
	const unsigned char *p;
	uint64_t status;
	size_t n;

	memset(ans, 0, sizeof(*ans));
	status = rd_uint(&r, 1);
	if (status > SC_INTERNAL)
		r.failed = true;
	ans->status = (enum sc_err)status;
	if (ans->status == SC_OK) {
		p = rd_blob(&r, 4, SIGNWIRE_FRAME_MAX, &n);
		if (!r.failed && n > 0 && (ans->der = malloc(n)) != NULL) {
			memcpy(ans->der, p, n);
			ans->der_len = n;
		} else
			r.failed = true;
	} else {
		p = rd_blob(&r, 2, SIGNWIRE_MSG_MAX, &n);
		if (!r.failed) {
			memcpy(ans->msg, p, n);
			ans->msg[n] = '\0';
		}
	}
	if (r.failed || r.left != 0) {
		signwire_answer_free(ans);
		return sc_error_set(err, SC_SIGNER_UNAVAILABLE, "malformed "
		    "answer from the CA signer (%zu bytes)", len);
	}
	return SC_OK;
}

void
signwire_answer_free(struct signwire_answer *ans)
{
	free(ans->der);
	memset(ans, 0, sizeof(*ans));
}

/* ------------------------------------------------------------ frames */

static enum sc_err
io_error(struct sc_error *err, const char *what)
{
	return sc_error_set(err, SC_SIGNER_UNAVAILABLE, "CA signer: %s: %s",
	    what, errno != 0 ? strerror(errno) : "connection closed");
}

static enum sc_err
write_all(int fd, const unsigned char *p, size_t n, struct sc_error *err)
{
	while (n > 0) {
		ssize_t w;

		/* MSG_NOSIGNAL: a dead signer is an error, not a SIGPIPE. */
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return io_error(err, "send");
		}
		p += w;
		n -= (size_t)w;
	}
	return SC_OK;
}

static enum sc_err
read_all(int fd, unsigned char *p, size_t n, struct sc_error *err)
{
	while (n > 0) {
		ssize_t r;

		errno = 0;
		if ((r = read(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return io_error(err, "read");
		p += r;
		n -= (size_t)r;
	}
	return SC_OK;
}

enum sc_err
signwire_send(int fd, const unsigned char *buf, size_t len,
    struct sc_error *err)
{
	unsigned char hdr[4];
	enum sc_err rc;

	if (len > SIGNWIRE_FRAME_MAX)
		return sc_error_set(err, SC_INTERNAL, "signer frame of %zu "
		    "bytes", len);
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	if ((rc = write_all(fd, hdr, sizeof(hdr), err)) != SC_OK)
		return rc;
	return write_all(fd, buf, len, err);
}

enum sc_err
signwire_recv(int fd, unsigned char **buf, size_t *len, struct sc_error *err)
{
	unsigned char hdr[4];
	enum sc_err rc;
	size_t n;

	*buf = NULL;
	*len = 0;
	if ((rc = read_all(fd, hdr, sizeof(hdr), err)) != SC_OK)
		return rc;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > SIGNWIRE_FRAME_MAX)
		return sc_error_set(err, SC_SIGNER_UNAVAILABLE, "CA signer "
		    "frame of %zu bytes (1 to %u)", n, SIGNWIRE_FRAME_MAX);
	if ((*buf = malloc(n)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	if ((rc = read_all(fd, *buf, n, err)) != SC_OK) {
		free(*buf);
		*buf = NULL;
		return rc;
	}
	*len = n;
	return SC_OK;
}
