/*
 * fsync_probe — the file system's floor under a durable bundle write,
 * measured apart from swarmctl: THREADS threads each repeat what an
 * enrollment's bundle needs made durable, with plain system calls and
 * nothing shared between them: mkdir a temporary directory, create,
 * write and fsync three small files, fsync the directory, rename it into
 * place, fsync the parent.  Prints one line:
 *
 *   FSYNC threads=N ops=N secs=S per_sec=R ms_per_op=M
 *
 *   fsync_probe DIR THREADS SECONDS
 *
 * DIR must exist and should be on the CA directory's file system; the
 * probe leaves what it wrote there, for the caller to remove when
 * nothing is being timed (deleting files just before a measurement can
 * slow the next file creations down: bench/run).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* About the sizes of ca.crt, worker.crt and worker.key for ECDSA. */
static const size_t sizes[3] = { 900, 800, 250 };
static const char *const files[3] = { "ca.crt", "worker.crt", "worker.key" };

static const char *dir;
static double deadline;

struct probe {
	int		 id;
	unsigned long	 ops;
	int		 failed;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
write_file(int dfd, const char *name, size_t len)
{
	char buf[1024];
	int fd, rc = 0;

	memset(buf, 'x', sizeof(buf));
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) == -1)
		rc = -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* One bundle: returns 0, or -1 with errno. */
static int
one(int pfd, const struct probe *p, unsigned long n)
{
	char tmp[64], name[64];
	int i, tfd, rc = 0;

	snprintf(tmp, sizeof(tmp), ".tmp-%d-%lu", p->id, n);
	snprintf(name, sizeof(name), "probe-%d-%lu", p->id, n);
	if (mkdirat(pfd, tmp, 0700) == -1)
		return -1;
	if ((tfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < 3 && rc == 0; i++)
		rc = write_file(tfd, files[i], sizes[i]);
	if (rc == 0)
		rc = fsync(tfd);
	close(tfd);
	if (rc == 0)
		rc = renameat(pfd, tmp, pfd, name);
	if (rc == 0)
		rc = fsync(pfd);
	return rc;
}

static void *
run(void *arg)
{
	struct probe *p = arg;
	int pfd;

	if ((pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		p->failed = errno;
		return NULL;
	}
	while (now() < deadline) {
		if (one(pfd, p, p->ops) == -1) {
			p->failed = errno;
			break;
		}
		p->ops++;
	}
	close(pfd);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct probe *probes;
	pthread_t *tids;
	unsigned long ops = 0;
	double secs, start;
	int i, threads;

	if (argc != 4 || (threads = atoi(argv[2])) < 1 || atof(argv[3]) <= 0) {
		fprintf(stderr, "usage: fsync_probe DIR THREADS SECONDS\n");
		return 2;
	}
	dir = argv[1];
	probes = calloc((size_t)threads, sizeof(*probes));
	tids = calloc((size_t)threads, sizeof(*tids));
	if (probes == NULL || tids == NULL)
		return 1;
	start = now();
	deadline = start + atof(argv[3]);
	for (i = 0; i < threads; i++) {
		probes[i].id = i;
		if (pthread_create(&tids[i], NULL, run, &probes[i]) != 0)
			return 1;
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		if (probes[i].failed != 0) {
			fprintf(stderr, "fsync_probe: %s: %s\n", dir,
			    strerror(probes[i].failed));
			return 1;
		}
		ops += probes[i].ops;
	}
	secs = deadline - start;
	printf("FSYNC threads=%d ops=%lu secs=%.3f per_sec=%.2f ms_per_op=%.3f\n",
	    threads, ops, secs, ops / secs, ops ? 1000.0 * secs * threads / ops :
	    0.0);
	free(probes);
	free(tids);
	return 0;
}
