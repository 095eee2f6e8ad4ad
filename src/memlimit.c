#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "memlimit.h"
#include "thread.h"

#define MIB	(1024UL * 1024)
/*
 * Measured with tests/integration/low_memory.sh's workload (concurrent
 * RSA-4096 enrollments on every worker, lists, the key pool) at the
 * smallest limit that serves, then doubled: GnuTLS's and libpq's state,
 * the CA keys each thread loads, the caches, a request in flight.
 */
#define NEED_FIXED	(8 * MIB)
#define NEED_PER_THREAD	(1 * MIB)
/*
 * Without a limit, blocks up to this size come from malloc's heaps, and
 * a heap keeps up to KEEP_TRIM free at its top (memlimit_check).  32 MiB
 * is the most M_MMAP_THRESHOLD takes on 64-bit glibc.
 */
#define KEEP_MMAP	(32 * MIB)
#define KEEP_TRIM	(64 * MIB)

/* Freed blocks are kept for reuse (no limit): see memlimit_release. */
static bool keeping;

size_t
memlimit_need(size_t threads)
{
	return NEED_FIXED + threads * (THREAD_STACK_SIZE + NEED_PER_THREAD);
}

/*
 * /proc/self/statm: the whole mapping and its private data, in bytes.
 * Read without stdio: close to the limit, even a FILE's buffer may be
 * more than malloc can give.
 */
static bool
mapped_now(size_t *size, size_t *data)
{
	char buf[256], *p, *end;
	unsigned long field[6];
	long page = sysconf(_SC_PAGESIZE);
	ssize_t n;
	int fd, i;

	if ((fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || page <= 0)
		return false;
	buf[n] = '\0';
	for (p = buf, i = 0; i < 6; i++, p = end) {
		errno = 0;
		field[i] = strtoul(p, &end, 10);
		if (end == p || errno != 0)
			return false;
	}
	*size = field[0] * (size_t)page;
	*data = field[5] * (size_t)page;
	return true;
}

static enum sc_err
check_one(int resource, const char *name, size_t used, size_t need,
    const char *what, bool *limited, struct sc_error *err)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return SC_OK;
	*limited = true;
	if (rl.rlim_cur >= used + need)
		return SC_OK;
	return sc_error_set(err, SC_INTERNAL, "%s of %lu MiB is below the "
	    "%lu MiB %s needs", name, (unsigned long)(rl.rlim_cur / MIB),
	    (unsigned long)((used + need + MIB - 1) / MIB), what);
}

enum sc_err
memlimit_check(size_t threads, const char *what, struct sc_error *err)
{
	size_t size = 0, data = 0, need = memlimit_need(threads);
	bool limited = false;
	enum sc_err rc;

	/* Without /proc, count the mapping as nothing: the limit decides. */
	(void)mapped_now(&size, &data);
	if ((rc = check_one(RLIMIT_AS, "address space limit (ulimit -v)",
	    size, need, what, &limited, err)) != SC_OK ||
	    (rc = check_one(RLIMIT_DATA, "data size limit (ulimit -d)", data,
	    need, what, &limited, err)) != SC_OK)
		return rc;
	if (limited)
		(void)mallopt(M_ARENA_MAX, 1);
	else
		keeping = mallopt(M_MMAP_THRESHOLD, (int)KEEP_MMAP) == 1 &&
		    mallopt(M_TRIM_THRESHOLD, (int)KEEP_TRIM) == 1;
	return SC_OK;
}

void
memlimit_release(bool peak)
{
#ifdef HAVE_MALLOC_TRIM
	if (peak || !keeping)
		(void)malloc_trim(0);
#else
	(void)peak;
#endif
}
