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

/*
 * Run cfg->workers threads on `fd` until SIGTERM or SIGINT, then stop
 * accepting, let in-flight requests finish and return.  Call with those
 * signals blocked in the calling thread (serve.c does).
 */
enum sc_err	 server_run(const struct config *, int fd, struct sc_error *);

#endif
