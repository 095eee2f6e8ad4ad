#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "auth.h"
#include "conf.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "hostcache.h"
#include "http/peer.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server.h"
#include "log.h"
#include "pki/pki.h"
#include "thread.h"

/* Set once, by server_run, when a stop signal arrives. */
static atomic_bool stopping;
/* Its read end turns readable, for every worker at once, at the stop. */
static int stop_pipe[2] = { -1, -1 };

/*
 * The listening socket server_listen made, for the stop (stop_listening):
 * only a socket of our own is closed to newcomers, and only the file we
 * bound is removed.
 */
enum listener_kind { LISTENER_INHERITED, LISTENER_UNIX, LISTENER_TCP };
static struct {
	enum listener_kind	 kind;
	dev_t			 dev;
	ino_t			 ino;
	char			 path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
} listener;

struct worker {
	pthread_t		 thread;
	const struct config	*cfg;
	int			 id;
	int			 fd;
	int			 epfd;		/* fd and stop_pipe[0] */
	bool			 started;
	bool			 draining;	/* saw the stop: empty the queue */
};

/*
 * A socket file is replaced only when it is stale.  A connect(2) that
 * succeeds, or finds the listen queue full (EAGAIN), means a live process
 * serves on it: unlinking the file would leave that process running but
 * unreachable.  ECONNREFUSED: nobody listens any more.  Anything else:
 * we cannot tell, so the file is left alone.
 */
static enum sc_err
refuse_live_socket(const struct sockaddr_un *sun, struct sc_error *err)
{
	int s, rc, saved;

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return sc_error_set(err, SC_IO, "socket: %s", strerror(errno));
	rc = connect(s, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	close(s);
	if (rc == -1 && saved == ECONNREFUSED)
		return SC_OK;
	if (rc == 0 || saved == EAGAIN)
		return sc_error_set(err, SC_CONFLICT, "%s: another process is "
		    "serving on this socket (a connection to it succeeded); "
		    "refusing to take it over: stop that process first, or "
		    "--listen on another path", sun->sun_path);
	return sc_error_set(err, SC_IO, "%s: cannot tell whether a process "
	    "still serves on this socket (connect: %s); leaving it alone",
	    sun->sun_path, strerror(saved));
}

/*
 * listen(2) silently caps the backlog at net.core.somaxconn: say how many
 * connections can really wait, and warn when that is fewer than asked.
 */
static void
report_backlog(int want)
{
	FILE *f;
	int max = 0;

	if ((f = fopen("/proc/sys/net/core/somaxconn", "re")) != NULL) {
		if (fscanf(f, "%d", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (max > 0 && max < want)
		log_warn("--listen-backlog %d: net.core.somaxconn caps the "
		    "queue at %d connections (sysctl -w net.core.somaxconn=%d "
		    "raises it)", want, max, want);
	else
		log_info("listen queue: up to %d connections wait for a worker",
		    want);
}

static enum sc_err
listen_unix(const char *path, int backlog, int *fd, struct sc_error *err)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int s = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return sc_error_set(err, SC_INVALID, "socket path too long: %s",
		    path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A socket left by a previous run; never remove anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sc_error_set(err, SC_INVALID, "%s exists and is "
			    "not a socket", path);
		if (refuse_live_socket(&sun, err) != SC_OK)
			return err->code;
		if (unlink(path) == -1)
			return sc_error_set(err, SC_IO, "unlink %s: %s", path,
			    strerror(errno));
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return sc_error_set(err, SC_IO, "socket: %s", strerror(errno));
	/* 0660: nginx's workers reach it through the group, nobody else. */
	old = umask(0117);
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		sc_error_set(err, SC_IO, "bind %s: %s", path, strerror(errno));
		close(s);
		return err->code;
	}
	umask(old);
	if (listen(s, backlog) == -1) {
		sc_error_set(err, SC_IO, "listen %s: %s", path, strerror(errno));
		close(s);
		return err->code;
	}
	/* The file we bound: at the stop, remove that one and no other. */
	if (lstat(path, &st) == 0) {
		listener.dev = st.st_dev;
		listener.ino = st.st_ino;
	}
	listener.kind = LISTENER_UNIX;
	memcpy(listener.path, sun.sun_path, sizeof(listener.path));
	*fd = s;
	return SC_OK;
}

/*
 * Whoever connects to the FastCGI socket can act as nginx (claim any
 * client certificate), so a TCP listener that other hosts can reach is
 * refused unless the web servers' addresses are named.
 */
static enum sc_err
check_tcp_listener(const struct sockaddr *sa, socklen_t len,
    const struct config *cfg, const char *what, struct sc_error *err)
{
	char host[INET6_ADDRSTRLEN];
	int gai;

	if ((gai = getnameinfo(sa, len, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST)) != 0)
		return sc_error_set(err, SC_INVALID, "%s: %s", what,
		    gai_strerror(gai));
	if (http_addr_is_loopback(host) || cfg->nfcgi_allow > 0)
		return SC_OK;
	return sc_error_set(err, SC_INVALID, "%s: %s is not a loopback "
	    "address, and whoever can connect to the FastCGI socket can act "
	    "as nginx: name the web servers with --fcgi-allow ADDR[,ADDR...], "
	    "or listen on a unix socket", what, host);
}

static enum sc_err
listen_tcp(const struct config *cfg, const char *spec, int *fd,
    struct sc_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hlen = (size_t)(colon - spec);
	int s = -1, on = 1, gai;

	/* "[::1]:9000" or "127.0.0.1:9000" */
	if (hlen >= sizeof(host))
		return sc_error_set(err, SC_INVALID, "bad --listen %s", spec);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints,
	    &res)) != 0)
		return sc_error_set(err, SC_INVALID, "--listen %s: %s", spec,
		    gai_strerror(gai));
	/* Every address first: nothing is bound if one is refused. */
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (check_tcp_listener(ai->ai_addr, ai->ai_addrlen, cfg,
		    "--listen", err) != SC_OK) {
			freeaddrinfo(res);
			return err->code;
		}
	sc_error_set(err, SC_IO, "--listen %s: no usable address", spec);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (s == -1)
			continue;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s, cfg->listen_backlog) == 0)
			break;
		sc_error_clear(err);
		sc_error_set(err, SC_IO, "--listen %s: %s", spec,
		    strerror(errno));
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s == -1)
		return err->code;
	sc_error_clear(err);
	listener.kind = LISTENER_TCP;
	*fd = s;
	return SC_OK;
}

/*
 * A TCP listener, ours or inherited: the same refusal as for --listen,
 * and a warning that says what it means.
 */
static enum sc_err
check_listener(int fd, const struct config *cfg, struct sc_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return sc_error_set(err, SC_IO, "getsockname: %s",
		    strerror(errno));
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return SC_OK;
	if (check_tcp_listener((struct sockaddr *)&ss, len, cfg,
	    cfg->listen ? "--listen" : "standard input", err) != SC_OK)
		return err->code;
	log_warn("FastCGI over TCP: any local user who can connect to the "
	    "port could act as nginx and claim any client certificate.  "
	    "Served are only %s%sroot, swarmctl's own user%s over loopback.  "
	    "Prefer a unix socket on a multi-user host",
	    cfg->nfcgi_allow > 0 ? "--fcgi-allow addresses" : "",
	    cfg->nfcgi_allow > 0 ? ", and " : "",
	    cfg->nfcgi_allow_uids > 0 ? " and --fcgi-allow-user users" : "");
	return SC_OK;
}

enum sc_err
server_listen(const struct config *cfg, int *fd, struct sc_error *err)
{
	int acceptconn = 0;
	socklen_t len = sizeof(acceptconn);
	enum sc_err rc = SC_OK;

	if (cfg->listen == NULL) {
		if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN,
		    &acceptconn, &len) == -1 || !acceptconn)
			return sc_error_set(err, SC_INVALID, "no --listen "
			    "given and standard input is not a listening "
			    "socket");
		*fd = STDIN_FILENO;
	} else if (strncmp(cfg->listen, "unix:", 5) == 0)
		rc = listen_unix(cfg->listen + 5, cfg->listen_backlog, fd, err);
	else
		rc = listen_tcp(cfg, cfg->listen, fd, err);
	if (rc != SC_OK)
		return rc;
	/* An inherited socket's backlog is its creator's (systemd Backlog=). */
	if (cfg->listen != NULL)
		report_backlog(cfg->listen_backlog);
	if ((rc = check_listener(*fd, cfg, err)) != SC_OK &&
	    *fd > STDIN_FILENO) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

static const char *
fcgi_param(const char *name, void *arg)
{
	FCGX_Request *r = arg;

	return FCGX_GetParam(name, r->envp);
}

static int
fcgi_read(void *arg, char *buf, int n)
{
	FCGX_Request *r = arg;

	return FCGX_GetStr(buf, n, r->in);
}

static int
fcgi_write(void *arg, const char *buf, size_t n)
{
	FCGX_Request *r = arg;

	if (n > INT32_MAX)
		return -1;
	return FCGX_PutStr(buf, (int)n, r->out) == (int)n ? 0 : -1;
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* One request, start to finish, and its log line. */
static void
serve_one(struct handler_ctx *ctx, FCGX_Request *r,
    const struct http_peer *peer)
{
	struct sc_error err = { SC_OK, "" };
	struct http_request req;
	struct http_response resp;
	struct http_sink sink = { fcgi_write, r };
	struct timespec start;
	enum sc_err parse_rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	http_response_init(&resp, sink);
	parse_rc = http_request_parse(&req, fcgi_param, r, ctx->cfg->max_body,
	    &err);
	req.peer = *peer;
	app_handle(ctx, &req, parse_rc, fcgi_read, r, &resp, &err);
	if (http_response_finish(&resp) == -1)
		log_warn("%s %s: client went away while sending the response",
		    req.method_name, req.path);
	if (resp.status >= 500 || (resp.streaming && err.code != SC_OK))
		log_error("%s %s: %s", req.method_name, req.path, err.msg);
	log_info("%s %s %d %.3fms", req.method_name, req.path, resp.status,
	    elapsed_ms(&start));
	http_response_free(&resp);
	http_request_clear(&req);
}

/*
 * Close a connection whose input may not have been read to its end:
 * shutdown(2) our side, then discard what the peer still sends until it
 * closes its end, for at most LINGER_MS in all.  Closing with unread
 * input makes the kernel reset the connection, which over TCP can
 * destroy the response before the web server has read it.  libfcgi's
 * own lingering close waits 2 s after each read, so a peer that keeps
 * sending a byte now and then holds the worker for ever; this one ends.
 */
#define LINGER_MS	2000
static void
linger_close(int fd)
{
	struct timespec start;
	struct pollfd pfd = { fd, POLLIN, 0 };

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (shutdown(fd, SHUT_WR) == 0)
		for (;;) {
			double left = LINGER_MS - elapsed_ms(&start);
			char trash[1024];

			if (left <= 0 || poll(&pfd, 1, (int)left + 1) <= 0 ||
			    read(fd, trash, sizeof(trash)) <= 0)
				break;
		}
	close(fd);
}

/*
 * When the request's input has been read to its end -- nginx sends all
 * of it before reading the answer, so normally it is there already --
 * nothing can be lost and a plain close(2) is enough: no round trip to
 * nginx during which this worker serves no one.  Input left unread (a
 * body refused before it was read) gets linger_close: a duplicate of the
 * socket keeps it open past FCGX_Finish_r, which flushes the response
 * and closes only its own descriptor (FCGX_Detach: no lingering close of
 * libfcgi's).  A connection nginx keeps (FCGI_KEEP_CONN) stays open.
 */
static void
finish_request(FCGX_Request *r)
{
	char rest[512];
	int keep = -1;

	if (!r->keepConnection &&
	    !(FCGX_GetError(r->in) == 0 &&
	    FCGX_GetStr(rest, (int)sizeof(rest), r->in) == 0 &&
	    FCGX_HasSeenEOF(r->in)))
		keep = fcntl(r->ipcFd, F_DUPFD_CLOEXEC, 0);
	FCGX_Detach(r);
	FCGX_Finish_r(r);
	if (keep != -1)
		linger_close(keep);
}

/*
 * The next connection on the listening socket, which is non-blocking and
 * shared by all workers.  An idle worker waits in epoll: EPOLLEXCLUSIVE
 * wakes one idle worker per connection, not all of them.  After the stop
 * (stop_pipe) the worker no longer waits but still takes what is queued:
 * every connection that reached the socket before the stop gets its
 * answer.  Returns -1 with errno 0 once the queue is empty after the
 * stop, -1 with errno set when accept(2) fails otherwise.
 */
static int
next_connection(struct worker *w)
{
	for (;;) {
		struct epoll_event ev[2];
		int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC), n, i;

		if (fd != -1)
			return fd;
		/* EINVAL: our unix socket, shut down at the stop, is empty. */
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    !(w->draining && errno == EINVAL))
			return -1;
		if (w->draining) {
			errno = 0;
			return -1;
		}
		if ((n = epoll_wait(w->epfd, ev, 2, -1)) == -1 &&
		    errno != EINTR)
			return -1;
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == stop_pipe[0])
				w->draining = true;
	}
}

/* What next_connection waits on: the listening socket and the stop. */
static int
worker_epoll(int listen_fd)
{
	struct epoll_event listen_ev, stop_ev;
	int epfd;

	memset(&listen_ev, 0, sizeof(listen_ev));
	memset(&stop_ev, 0, sizeof(stop_ev));
	listen_ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	listen_ev.data.fd = listen_fd;
	stop_ev.events = EPOLLIN;
	stop_ev.data.fd = stop_pipe[0];
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &listen_ev) == -1 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, stop_pipe[0], &stop_ev) == -1) {
		close(epfd);
		return -1;
	}
	return epfd;
}

/*
 * Accept the next connection here rather than in libfcgi, so that before
 * a byte of it is read we know who sent it -- and close it unless that is
 * the web server (http/peer.h) -- and its reads have a deadline: a peer
 * that sends nothing for cfg->read_timeout seconds, before or during its
 * request, is dropped instead of holding this worker forever.  Returns
 * the connection, or -1 as next_connection does.
 */
static int
accept_connection(struct worker *w, struct http_peer *peer)
{
	struct sc_error err = { SC_OK, "" };
	struct timeval deadline = { w->cfg->read_timeout, 0 };
	int on = 1;

	for (;;) {
		int fd = next_connection(w);

		if (fd == -1)
			return -1;
		sc_error_clear(&err);
		if (http_peer_identify(fd, w->cfg, peer, &err) != SC_OK)
			log_warn("worker %d: FastCGI connection refused: %s",
			    w->id, err.msg);
		else if (!http_peer_admitted(peer, w->cfg))
			log_warn("worker %d: FastCGI connection from %s refused: "
			    "not a web server this responder trusts (see "
			    "--fcgi-allow, --fcgi-allow-user)", w->id,
			    peer->name);
		else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline,
		    sizeof(deadline)) == -1)
			log_error("worker %d: SO_RCVTIMEO: %s", w->id,
			    strerror(errno));
		else {
			/* As libfcgi does: replies are never waited for. */
			if (peer->kind == HTTP_PEER_TCP)
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
				    &on, sizeof(on));
			return fd;
		}
		close(fd);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct sc_error err = { SC_OK, "" };
	struct handler_ctx ctx = { .cfg = w->cfg };
	struct http_peer peer;
	FCGX_Request r;
	int fd;

	if (db_open(w->cfg->conninfo, &ctx.db, &err) != SC_OK) {
		log_error("worker %d: %s", w->id, err.msg);
		return NULL;
	}
	if ((ctx.auth_cache = auth_cache_new()) == NULL)
		log_warn("worker %d: no memory for the authorisation cache",
		    w->id);
	if (w->cfg->host_cache > 0 &&
	    (ctx.host_cache = host_cache_new((size_t)w->cfg->host_cache)) ==
	    NULL)
		log_warn("worker %d: no memory for the host cache", w->id);
	/* A CA that fails to load now is retried per request (503 meanwhile). */
	if (handler_require_ca(&ctx, PKI_CA_WORKER, &err) != SC_OK)
		log_error("worker %d: %s", w->id, err.msg);
	sc_error_clear(&err);
	if (handler_require_ca(&ctx, PKI_CA_FRONT, &err) != SC_OK)
		log_error("worker %d: %s", w->id, err.msg);
	/*
	 * No listening socket for libfcgi: it reads the connections that
	 * accept_connection hands it and never accepts one by itself.
	 */
	if (FCGX_InitRequest(&r, -1, 0) != 0) {
		log_error("worker %d: FCGX_InitRequest failed", w->id);
		goto out;
	}
	if ((w->epfd = worker_epoll(w->fd)) == -1) {
		log_error("worker %d: epoll: %s", w->id, strerror(errno));
		goto out;
	}
	memset(&peer, 0, sizeof(peer));
	for (;;) {
		/*
		 * A connection nginx keeps open (FCGI_KEEP_CONN) is reused,
		 * but not waited on once stopping: its next request has not
		 * been sent, and may never be.
		 */
		if (r.ipcFd >= 0 && atomic_load(&stopping)) {
			close(r.ipcFd);
			r.ipcFd = -1;
		}
		if (r.ipcFd < 0) {
			if ((fd = accept_connection(w, &peer)) == -1) {
				struct timespec pause = { 0, 100 * 1000 * 1000 };

				if (errno == 0)
					break;	/* stopping, queue empty */
				/* EMFILE and the like: transient. */
				log_warn("worker %d: accept failed: %s", w->id,
				    strerror(errno));
				nanosleep(&pause, NULL);
				continue;
			}
			/*
			 * FCGX_Accept_r reads a connection already in ipcFd;
			 * keepConnection stops the FCGX_Finish_r it starts
			 * with from closing it first.  The request's own
			 * FCGI_KEEP_CONN flag replaces it once read.
			 */
			r.ipcFd = fd;
			r.keepConnection = 1;
			/*
			 * Should the request not arrive, plain close(2): there
			 * is no response to protect (finish_request lingers
			 * itself where one needs it).
			 */
			FCGX_Detach(&r);
		}
		if (FCGX_Accept_r(&r) < 0) {
			/* libfcgi has closed the connection (r.ipcFd < 0). */
			log_warn("worker %d: FastCGI connection from %s dropped: "
			    "no complete request within %d s, or not FastCGI",
			    w->id, peer.name, w->cfg->read_timeout);
			continue;
		}
		serve_one(&ctx, &r, &peer);
		finish_request(&r);
		/* After the answer has gone: a due count costs no one a wait. */
		handler_audit_flush(&ctx, false);
	}
	FCGX_Free(&r, 0);
	/* Counts of anonymous refusals are in memory only: write them now. */
	handler_audit_flush(&ctx, true);
out:
	if (w->epfd != -1)
		close(w->epfd);
	auth_cache_free(ctx.auth_cache);
	host_cache_free(ctx.host_cache);
	pki_ca_free(ctx.ca);
	pki_ca_free(ctx.front_ca);
	db_close(ctx.db);
	return NULL;
}

/*
 * The next of SIGTERM, SIGINT or SIGHUP (blocked in every thread), or -1.
 * SIGHUP is handled here, not by its default action, which would end
 * the process: nginx would then answer every request 503 until someone
 * restarted it.
 */
static int
wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) != 0)
		return -1;
	return sig;
}

/*
 * At the stop, no new connection may join the queue and none already in
 * it may be lost (next_connection empties it).
 *   - Our unix socket: shutdown(SHUT_RD) makes connect(2) fail with
 *     ECONNREFUSED (nginx answers 503 at once) while accept(2) still
 *     returns every queued connection.  The file is removed, so that a
 *     new instance can start on the path while this one drains.
 *   - Our TCP socket: shutdown(2) would reset every queued connection;
 *     a socket filter that drops everything keeps new SYNs out instead
 *     (the client's retry meets the closed port: connection refused).
 *   - An inherited socket (systemd) is left as it is: what queues after
 *     the last accept(2) waits there for the next instance.
 */
static void
stop_listening(int fd)
{
	static struct sock_filter drop_all[] = {
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { 1, drop_all };
	struct stat st;

	switch (listener.kind) {
	case LISTENER_UNIX:
		if (shutdown(fd, SHUT_RD) == -1)
			log_error("shutdown of the listening socket: %s",
			    strerror(errno));
		/* Only our own file, never one another instance made since. */
		if (lstat(listener.path, &st) == 0 &&
		    st.st_dev == listener.dev && st.st_ino == listener.ino &&
		    unlink(listener.path) == -1)
			log_warn("unlink %s: %s", listener.path,
			    strerror(errno));
		break;
	case LISTENER_TCP:
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		    sizeof(prog)) == -1)
			log_error("closing the listening socket to new "
			    "connections: %s", strerror(errno));
		break;
	case LISTENER_INHERITED:
		break;
	}
}

static enum sc_err
start_workers(const struct config *cfg, int fd, struct worker *workers,
    struct sc_error *err)
{
	int i, rc, started = 0;

	for (i = 0; i < cfg->workers; i++) {
		workers[i].id = i;
		workers[i].fd = fd;
		workers[i].epfd = -1;
		workers[i].cfg = cfg;
		if ((rc = thread_start(&workers[i].thread, worker_main,
		    &workers[i])) != 0) {
			log_error("starting worker %d: %s", i, strerror(rc));
			break;
		}
		workers[i].started = true;
		started++;
	}
	if (started == 0)
		return sc_error_set(err, SC_INTERNAL, "no worker started");
	log_info("serving with %d workers", started);
	return SC_OK;
}

enum sc_err
server_run(const struct config *cfg, int fd, server_reload_fn reload,
    void *arg, struct sc_error *err)
{
	struct worker *workers = NULL;
	enum sc_err rc;
	int i, sig, flags;

	/* Workers wait in epoll, then accept(2) without blocking. */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return sc_error_set(err, SC_IO, "listening socket: %s",
		    strerror(errno));
	if (pipe2(stop_pipe, O_CLOEXEC) == -1)
		return sc_error_set(err, SC_INTERNAL, "pipe: %s",
		    strerror(errno));
	if ((workers = calloc((size_t)cfg->workers, sizeof(*workers))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = start_workers(cfg, fd, workers, err)) != SC_OK)
		goto out;
	while ((sig = wait_for_signal()) == SIGHUP) {
		log_info("received SIGHUP: re-opening the log, re-reading the "
		    "CRLs");
		reload(arg);
	}
	log_info("received %s: answering the connections already queued, "
	    "then stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	stop_listening(fd);
	atomic_store(&stopping, true);
	if (write(stop_pipe[1], "x", 1) == -1)
		log_error("waking the workers: %s", strerror(errno));
	for (i = 0; i < cfg->workers; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	log_info("stopped");
out:
	free(workers);
	for (i = 0; i < 2; i++) {
		close(stop_pipe[i]);
		stop_pipe[i] = -1;
	}
	return rc;
}
