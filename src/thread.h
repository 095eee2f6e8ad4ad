/*
 * Every thread swarmctl starts (request workers, key generators, the CRL
 * refresher) gets a stack of THREAD_STACK_SIZE rather than glibc's
 * default, RLIMIT_STACK (8 MiB on Debian): a dozen threads of 8 MiB are
 * most of a modest address-space limit (ulimit -v), and what memlimit.c
 * budgets for start-up.
 */
#ifndef SC_THREAD_H
#define SC_THREAD_H

#include <pthread.h>

/*
 * Measured: the deepest paths (an enrollment: JSON, libpq, GnuTLS
 * signing; RSA-4096 generation with GNU MP's alloca'd temporaries; long
 * lists) run in 64 KiB (api.sh, issuance.sh, key_encoding.sh and
 * list_large.sh pass with it).  512 KiB leaves a factor of eight.
 */
#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's redzones make every frame several times larger. */
#define THREAD_STACK_SIZE	(2 * 1024 * 1024)
#else
#define THREAD_STACK_SIZE	(512 * 1024)
#endif

/* pthread_create with that stack; 0 or the error number (errno values). */
int	thread_start(pthread_t *, void *(*)(void *), void *);

#endif
