/*
 * Who is on the other end of a FastCGI connection, as the kernel tells
 * it -- never as a request parameter says.
 *
 * Threat model: reaching the FastCGI socket is being nginx.  A peer can
 * send any parameter, HTTPS=on and SSL_CLIENT_VERIFY=SUCCESS with any
 * certificate included, so only the web server may connect:
 *   - unix socket: the kernel's permission check (0660) is the boundary;
 *     with --fcgi-allow-user, the peer's uid (SO_PEERCRED) must also be
 *     root, ours or listed;
 *   - TCP from an address in --fcgi-allow (or FCGI_WEB_SERVER_ADDRS):
 *     served, as libfcgi would;
 *   - TCP from 127.0.0.1/::1 otherwise: any local user can connect, so
 *     the uid that opened the other end (the kernel's socket table,
 *     NETLINK_SOCK_DIAG) must be root, ours or in --fcgi-allow-user;
 *   - anything else is closed before a byte of it is read.
 */
#ifndef SC_HTTP_PEER_H
#define SC_HTTP_PEER_H

#include <sys/types.h>

#include <stdbool.h>

#include "err.h"

struct config;

#define HTTP_PEER_NAME_MAX	96

enum http_peer_kind {
	HTTP_PEER_NONE,		/* not identified (unit tests, fuzzing) */
	HTTP_PEER_UNIX,
	HTTP_PEER_TCP,
};

struct http_peer {
	enum http_peer_kind	 kind;
	bool			 loopback;	/* TCP from 127.0.0.1 or ::1 */
	bool			 listed;	/* TCP from --fcgi-allow */
	bool			 has_uid;	/* the kernel named the user */
	uid_t			 uid;
	char			 name[HTTP_PEER_NAME_MAX];	/* for logs */
};

/* Identify the peer of the connected socket `fd` (see above). */
enum sc_err	 http_peer_identify(int fd, const struct config *,
		    struct http_peer *, struct sc_error *);

/* The rules above: may this peer send us requests? */
bool		 http_peer_admitted(const struct http_peer *,
		    const struct config *);

/*
 * Root, or the user swarmctl runs as: both can read the CA key, so
 * nothing a request grants them is more than they have.
 */
bool		 http_peer_privileged(const struct http_peer *);

/* A numeric address that is 127.0.0.1 or ::1 (also ::ffff:127.0.0.1). */
bool		 http_addr_is_loopback(const char *addr);

#endif
