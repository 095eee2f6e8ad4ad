/*
 * The "FastCGI ceiling": the least a FastCGI responder can do.  N threads
 * (as `swarmctl serve --workers N`) accept on one unix socket (the same
 * kind, backlog and mode as swarmctl's) and answer every request with 200
 * and the /health body.  Nothing is read or parsed beyond what libfcgi
 * does itself.  Usage: fcgi_trivial SOCKET_PATH NTHREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

static int sock;

static void *
worker(void *arg)
{
	static const char reply[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "{\"status\":\"ok\",\"role\":\"swarm-controller\"}";
	FCGX_Request r;

	(void)arg;
	FCGX_InitRequest(&r, sock, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t *t;
	int i, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: fcgi_trivial SOCKET NTHREADS\n");
		return 2;
	}
	unlink(argv[1]);
	umask(0117);		/* 0660, as swarmctl */
	if (FCGX_Init() != 0 || (sock = FCGX_OpenSocket(argv[1], 128)) < 0 ||
	    (t = calloc((size_t)n, sizeof(*t))) == NULL) {
		fprintf(stderr, "fcgi_trivial: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* libfcgi catches SIGTERM (to finish the request); just end. */
	signal(SIGTERM, SIG_DFL);
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
