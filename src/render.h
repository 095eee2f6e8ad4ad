/*
 * JSON shapes of the API (CONTRACT.md "Shapes"): SwarmHostView and
 * EnrolledBundle.  Field names and types never change; new fields may be
 * added at the end.
 */
#ifndef SC_RENDER_H
#define SC_RENDER_H

struct json_object;
struct db_host;
struct pki_issued;
struct http_response;

/* Append a SwarmHostView object to the response body; -1 if out of memory. */
int		 render_host_view(struct http_response *, const struct db_host *);
/* Fill resp with the 201 EnrolledBundle; marks the response secret. */
int		 render_enrolled_bundle(struct http_response *,
		    const struct db_host *, const char *ca_pem,
		    const struct pki_issued *);

#endif
