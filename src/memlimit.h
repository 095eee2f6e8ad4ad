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

#include <stdbool.h>
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
 *
 * Without a limit, has malloc keep freed blocks of up to 32 MiB for
 * reuse instead of giving them back to the kernel.  A CRL at fleet scale
 * is built in several blocks of megabytes (the entries, the
 * TBSCertList, the signed CRL, its PEM), in the publisher and in the CA
 * signer; given back after each publication, every page of the next
 * one's was a page fault again: three quarters of the CPU of signing a
 * CRL of 100,000 entries on a VM (bench/crl_bench: 0.061 s, 0.016 s
 * with them kept).  The process then stays as large as its CRL's
 * buffers (about 12 MB more at 100,000 entries) rather than growing and
 * shrinking by that much at every publication.
 */
enum sc_err	 memlimit_check(size_t threads, const char *what,
		    struct sc_error *);

/*
 * After work that used large blocks (a CRL publication): give the free
 * memory back to the kernel if memlimit_check chose not to keep it, or
 * if `peak` says the work needed far more than the next will (the
 * publisher's whole read of the revoked list: every row at once).
 */
void		 memlimit_release(bool peak);

/* Bytes that `threads` threads serving requests may add to the process. */
size_t		 memlimit_need(size_t threads);

#endif
