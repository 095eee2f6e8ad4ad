#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "http/peer.h"

bool
http_addr_is_loopback(const char *addr)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return false;
	if (memcmp(a, v4mapped, 12) == 0)
		return a[12] == 127 && a[13] == 0 && a[14] == 0 && a[15] == 1;
	return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
}

/* An address as the allow-list holds it: IPv4 as ::ffff:a.b.c.d. */
static void
addr_as_v6(const struct sockaddr_storage *ss, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return;
	}
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12],
	    &((const struct sockaddr_in *)ss)->sin_addr, 4);
}

static bool
listed(const struct sockaddr_storage *ss, const struct config *cfg)
{
	struct in6_addr a;
	size_t i;

	addr_as_v6(ss, &a);
	for (i = 0; i < cfg->nfcgi_allow; i++)
		if (memcmp(&a, &cfg->fcgi_allow[i], sizeof(a)) == 0)
			return true;
	return false;
}

/*
 * One end of a TCP connection, as inet_diag names it: the family the
 * socket at that end has (a v4 client of a v6 listener has an AF_INET
 * socket), its port and its address.
 */
static void
diag_end(const struct sockaddr_storage *ss, bool v4, __be16 *port,
    __be32 addr[4])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		*port = sin->sin_port;
		memcpy(addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)ss;

		*port = sin6->sin6_port;
		/* ::ffff:a.b.c.d: the last four bytes are the IPv4 address. */
		memcpy(addr, v4 ? &sin6->sin6_addr.s6_addr[12] :
		    sin6->sin6_addr.s6_addr, v4 ? 4 : 16);
	}
}

/*
 * The uid that opened the other end of a loopback TCP connection.  Both
 * ends are sockets of this host, so the kernel's socket table has it (as
 * `ss -e` shows): ask NETLINK_SOCK_DIAG for the socket whose local end
 * is our peer and whose remote end is us.  Any user may ask.
 */
static int
loopback_peer_uid(int fd, const struct sockaddr_storage *peer, uid_t *uid)
{
	struct sockaddr_storage local;
	struct sockaddr_nl kernel;
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} msg;
	_Alignas(struct nlmsghdr) char answer[1024];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)answer;
	const struct inet_diag_msg *diag;
	socklen_t len = sizeof(local);
	bool v4 = peer->ss_family == AF_INET ||
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)peer)->sin6_addr);
	int nl = -1, rc = -1;
	ssize_t n;

	memset(&local, 0, sizeof(local));
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		return -1;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;	/* one socket, not a dump */
	msg.req.sdiag_family = v4 ? AF_INET : AF_INET6;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	diag_end(peer, v4, &msg.req.id.idiag_sport, msg.req.id.idiag_src);
	diag_end(&local, v4, &msg.req.id.idiag_dport, msg.req.id.idiag_dst);

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1 ||
	    sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) != (ssize_t)sizeof(msg))
		goto out;
	do
		n = recv(nl, answer, sizeof(answer), 0);
	while (n == -1 && errno == EINTR);
	if (n < 0 || !NLMSG_OK(nlh, (size_t)n) ||
	    nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*diag)))
		goto out;
	diag = NLMSG_DATA(nlh);
	/* Exactly that connection, not a listener that happens to match. */
	if (diag->idiag_state == TCP_LISTEN ||
	    diag->id.idiag_sport != msg.req.id.idiag_sport ||
	    diag->id.idiag_dport != msg.req.id.idiag_dport)
		goto out;
	*uid = diag->idiag_uid;
	rc = 0;
out:
	if (nl != -1)
		close(nl);
	return rc;
}

static enum sc_err
identify_unix(int fd, struct http_peer *p, struct sc_error *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	p->kind = HTTP_PEER_UNIX;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return sc_error_set(err, SC_IO, "SO_PEERCRED: %s",
		    strerror(errno));
	p->has_uid = true;
	p->uid = cred.uid;
	snprintf(p->name, sizeof(p->name), "unix socket, uid %lu pid %ld",
	    (unsigned long)cred.uid, (long)cred.pid);
	return SC_OK;
}

enum sc_err
http_peer_identify(int fd, const struct config *cfg, struct http_peer *p,
    struct sc_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN], port[8];
	int gai;

	memset(p, 0, sizeof(*p));
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return sc_error_set(err, SC_IO, "getpeername: %s",
		    strerror(errno));
	if (ss.ss_family == AF_UNIX)
		return identify_unix(fd, p, err);
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return sc_error_set(err, SC_INVALID, "peer of address family "
		    "%d", ss.ss_family);
	p->kind = HTTP_PEER_TCP;
	if ((gai = getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV)) != 0)
		return sc_error_set(err, SC_IO, "getnameinfo: %s",
		    gai_strerror(gai));
	p->loopback = http_addr_is_loopback(host);
	p->listed = listed(&ss, cfg);
	if (p->loopback && loopback_peer_uid(fd, &ss, &p->uid) == 0)
		p->has_uid = true;
	if (p->has_uid)
		snprintf(p->name, sizeof(p->name), "%s port %s, uid %lu", host,
		    port, (unsigned long)p->uid);
	else
		snprintf(p->name, sizeof(p->name), "%s port %s%s", host, port,
		    p->loopback ? ", uid unknown" : "");
	return SC_OK;
}

bool
http_peer_privileged(const struct http_peer *p)
{
	return p->has_uid && (p->uid == 0 || p->uid == geteuid());
}

static bool
uid_allowed(const struct http_peer *p, const struct config *cfg)
{
	size_t i;

	if (http_peer_privileged(p))
		return true;
	for (i = 0; p->has_uid && i < cfg->nfcgi_allow_uids; i++)
		if (cfg->fcgi_allow_uids[i] == p->uid)
			return true;
	return false;
}

bool
http_peer_admitted(const struct http_peer *p, const struct config *cfg)
{
	switch (p->kind) {
	case HTTP_PEER_UNIX:
		return cfg->nfcgi_allow_uids == 0 || uid_allowed(p, cfg);
	case HTTP_PEER_TCP:
		return p->listed || (p->loopback && uid_allowed(p, cfg));
	case HTTP_PEER_NONE:
		break;
	}
	return false;
}
