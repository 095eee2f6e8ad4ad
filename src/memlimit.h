/*
 * Start-up under a memory limit (ulimit -v: RLIMIT_AS; ulimit -d:
 * RLIMIT_DATA).  Not every allocation failure can be answered with an
 * error: GNU MP, under GnuTLS's RSA and ECDSA, aborts the process when
 * malloc fails, and Debian 12's libtasn1 has crashed on one while GnuTLS
 * took a certificate's fingerprint.  So `swarmctl serve` checks, before
 * it loads a key or starts a thread, that its limits leave room for what
 * it will map, and refuses with a message saying how much it needs.
 */
#ifndef SC_MEMLIMIT_H
#define SC_MEMLIMIT_H

#include <stddef.h>

#include "err.h"

/*
 * Fine if no limit is set, or if each limit is at least what this
 * process has mapped now plus memlimit_need(threads); else SC_INTERNAL
 * with "address space limit (ulimit -v) of N MiB is below the M MiB
 * <what> needs".  With a limit, also keeps malloc to one arena: glibc
 * reserves 64 MiB of address space for each thread's own arena, and
 * under a limit those reservations, not the memory in use, would decide
 * when an allocation fails.
 */
enum sc_err	 memlimit_check(size_t threads, const char *what,
		    struct sc_error *);

/* Bytes that `threads` threads serving requests may add to the process. */
size_t		 memlimit_need(size_t threads);

#endif
