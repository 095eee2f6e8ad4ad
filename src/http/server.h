/*
 * The FastCGI side: the listening socket and the worker threads that
 * accept requests on it.  Each worker owns its database connection and
 * its copy of the CA, so a slow enrollment on one worker never holds up
 * a read on another.
 */
#ifndef SC_HTTP_SERVER_H
#define SC_HTTP_SERVER_H

#include "err.h"

struct config;

/*
 * Open the listening socket named by cfg->listen ("unix:PATH" or
 * "HOST:PORT"), or adopt standard input when it is already a listening
 * socket (spawn-fcgi, systemd socket activation) and cfg->listen is NULL.
 */
enum sc_err	 server_listen(const struct config *, int *fd,
		    struct sc_error *);

/* What SIGHUP asks of the rest of the process (serve.c: log, CRLs). */
typedef void	(*server_reload_fn)(void *arg);

/*
 * Run cfg->workers threads on `fd` until SIGTERM or SIGINT, calling
 * reload(arg) at each SIGHUP.  At a stop signal new connections are
 * refused, every connection already queued on the socket is still
 * answered, in-flight requests finish, a unix socket's file is removed,
 * and it returns.  Call with those signals blocked in every thread
 * (serve.c does, before starting any).
 */
enum sc_err	 server_run(const struct config *, int fd,
		    server_reload_fn reload, void *arg, struct sc_error *);

#endif
