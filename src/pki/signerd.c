/*
 * The CA signer process (`swarmctl signer`, started by signer.c only):
 * the one process that reads the CA keys.  It loads both CAs, closes
 * every descriptor but its channels and standard error, confines itself
 * with seccomp (where built with libseccomp) and answers signwire.h
 * requests, one thread per channel, until its parent goes away.  Like
 * relayd's ca process, it never parses anything but those requests, and
 * it builds every certificate itself from a fixed profile (pki.c).
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "err.h"
#include "log.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "pki/signwire.h"

#define SIGNER_CHANNELS_MAX	8

struct signerd {
	struct pki_ca	*ca[PKI_NCA_ROLES];
	/* Why a CA is missing: the answer to every request for it. */
	char		 why[PKI_NCA_ROLES][SIGNWIRE_MSG_MAX + 1];
	int		 fd[SIGNER_CHANNELS_MAX];
	size_t		 nfd;
	struct worker	*first;		/* runs on the main thread */
	bool		 token;		/* a CA key is on a PKCS#11 token */
};

struct worker {
	struct signerd	*sd;
	int		 fd;
};

/*
 * The filter is loaded once every channel thread is running: a thread
 * still starting (signals blocked, rseq and robust-list set-up) would be
 * killed by a syscall the filter traps.
 */
static pthread_barrier_t started;

static enum sc_err
parse_fds(const char *list, struct signerd *sd, struct sc_error *err)
{
	const char *p = list;
	char *end;

	while (*p != '\0') {
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || v <= STDERR_FILENO ||
		    v > INT_MAX || sd->nfd == SIGNER_CHANNELS_MAX ||
		    (*end != ',' && *end != '\0'))
			return sc_error_set(err, SC_INVALID, "--fds %s", list);
		sd->fd[sd->nfd++] = (int)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (sd->nfd == 0)
		return sc_error_set(err, SC_INVALID, "--fds: none");
	return SC_OK;
}

/* Everything but the channels and standard error goes. */
static void
close_others(const struct signerd *sd)
{
	long max = sysconf(_SC_OPEN_MAX);
	size_t i;
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = STDERR_FILENO + 1; fd < max; fd++) {
		for (i = 0; i < sd->nfd && sd->fd[i] != fd; i++)
			;
		if (i == sd->nfd)
			(void)close(fd);
	}
}

#ifdef HAVE_SECCOMP
#ifdef __SANITIZE_ADDRESS__
/*
 * Sanitizer builds (CI) only.  The AddressSanitizer runtime gives each
 * thread an alternate signal stack, and LeakSanitizer's check at exit
 * stops the world with clone and ptrace, which the filter rightly
 * refuses.  The runtime asks this hook whether to check: not in the
 * confined signer (serve and every other command are still checked).
 */
static volatile int signer_confined;
int	__lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return signer_confined;
}
#endif

/* A syscall the filter refused: say which, then die. */
static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char msg[96];
	int n;

	(void)sig;
	(void)ctx;
	n = snprintf(msg, sizeof(msg), "swarmctl signer: syscall %d refused "
	    "by the seccomp filter\n", si->si_syscall);
	if (n > 0)
		(void)write(STDERR_FILENO, msg, (size_t)n);
	_exit(70);
}

/*
 * What answering needs, and nothing else: I/O on the channels (and
 * standard error, for a last word), memory that is never executable,
 * randomness, clocks, locks between the threads, and exit.  No open,
 * no socket, no exec, no ptrace.  TSYNC: the channel threads, started
 * already, get the filter too.
 */
static enum sc_err
confine(const struct signerd *sd, struct sc_error *err)
{
	static const int plain[] = {
		SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
		SCMP_SYS(clock_nanosleep), SCMP_SYS(gettimeofday),
		SCMP_SYS(time), SCMP_SYS(futex), SCMP_SYS(brk),
		SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(exit),
		SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
		SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(close),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rseq),
	};
	static const int token[] = {
		SCMP_SYS(openat), SCMP_SYS(read), SCMP_SYS(write),
		SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
		SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(getdents64),
		SCMP_SYS(mlock), SCMP_SYS(munlock), SCMP_SYS(fsync),
		SCMP_SYS(fdatasync), SCMP_SYS(access), SCMP_SYS(faccessat),
		SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(getuid),
		SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
		SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
		SCMP_SYS(renameat), SCMP_SYS(ftruncate), SCMP_SYS(umask),
	};
	struct sigaction sa;
	scmp_filter_ctx f;
	size_t i;
	int r = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		return sc_error_set(err, SC_INTERNAL, "sigaction: %s",
		    strerror(errno));
	if ((f = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		return sc_error_set(err, SC_INTERNAL, "seccomp_init failed");
	for (i = 0; r == 0 && i < sizeof(plain) / sizeof(plain[0]); i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, plain[i], 0);
	/* Memory, never executable (malloc's arenas, GMP's buffers). */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mremap), 0);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
		    SCMP_A0(SCMP_CMP_EQ, STDERR_FILENO));
	for (i = 0; r == 0 && i < sd->nfd; i++) {
		unsigned int fd = (unsigned int)sd->fd[i];

		if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
		    SCMP_A0(SCMP_CMP_EQ, fd))) == 0 &&
		    (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
		    SCMP_A0(SCMP_CMP_EQ, fd))) == 0 &&
		    (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sendto),
		    1, SCMP_A0(SCMP_CMP_EQ, fd))) == 0)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW,
			    SCMP_SYS(recvfrom), 1, SCMP_A0(SCMP_CMP_EQ, fd));
	}
	/*
	 * A PKCS#11 module is a library of its own, in this process: SoftHSM
	 * reads its token files when it signs.  With a token, files may be
	 * opened and read; still no socket, exec or ptrace.
	 */
	for (i = 0; sd->token && r == 0 && i < sizeof(token) / sizeof(token[0]);
	    i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, token[i], 0);
#ifdef __SANITIZE_ADDRESS__
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
	signer_confined = 1;
#endif
	if (r == 0)
		r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	if (r != 0)
		return sc_error_set(err, SC_INTERNAL, "seccomp: %s",
		    strerror(-r));
	return SC_OK;
}
#else
static enum sc_err
confine(const struct signerd *sd, struct sc_error *err)
{
	(void)sd;
	(void)err;
	log_warn("CA signer: built without libseccomp: no syscall filter");
	return SC_OK;
}
#endif

static void
answer_error(const struct sc_error *e, unsigned char **buf, size_t *len)
{
	struct sc_error err = { SC_OK, "" };

	if (signwire_answer_encode(e->code, NULL, 0, e->msg, buf, len,
	    &err) != SC_OK) {
		*buf = NULL;
		*len = 0;
	}
}

static const struct pki_ca *
ca_for(struct signerd *sd, enum pki_ca_role role, struct sc_error *err)
{
	if (sd->ca[role] == NULL)
		(void)sc_error_set(err, SC_CA_UNAVAILABLE, "%s", sd->why[role]);
	return sd->ca[role];
}

/* One request in, one answer out (*out malloc'd; NULL: out of memory). */
static void
handle(struct signerd *sd, const unsigned char *in, size_t in_len,
    unsigned char **out, size_t *out_len)
{
	static const enum pki_ca_role issuer[SIGNWIRE_NPROFILES] = {
		[SIGNWIRE_WORKER] = PKI_CA_WORKER,
		[SIGNWIRE_OPERATOR] = PKI_CA_FRONT,
		[SIGNWIRE_SERVER] = PKI_CA_FRONT,
	};
	struct sc_error err = { SC_OK, "" };
	struct signwire_request req;
	const struct pki_ca *ca;
	enum pki_ca_role role = PKI_CA_WORKER;
	unsigned char *der = NULL;
	size_t der_len = 0;
	enum sc_err rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = signwire_request_decode(in, in_len, &req, &err)) != SC_OK) {
		answer_error(&err, out, out_len);
		return;
	}
	if (req.op == SIGNWIRE_ISSUE) {
		role = issuer[req.issue.profile];
		if ((ca = ca_for(sd, role, &err)) != NULL)
			rc = pki_cert_build(ca, req.issue.profile,
			    req.issue.cn, (long)req.issue.days,
			    (const char *const *)req.issue.sans,
			    req.issue.nsans, req.issue.spki,
			    req.issue.spki_len, &der, &der_len, &err);
	} else {
		role = req.crl.role;
		if ((ca = ca_for(sd, role, &err)) != NULL)
			rc = pki_crl_build(ca, &req.crl.entries,
			    req.crl.number, (long)req.crl.next_update_secs,
			    &der, &der_len, &err);
	}
	if (ca == NULL || rc != SC_OK)
		answer_error(&err, out, out_len);
	else if (signwire_answer_encode(SC_OK, der, der_len, NULL, out,
	    out_len, &err) != SC_OK)
		answer_error(&err, out, out_len);
	free(der);
	signwire_request_free(&req);
}

/*
 * Serve one channel.  Its peer closing is the end of the signer: serve
 * is stopping or gone.  _exit: no atexit work runs under the filter.
 */
static void *
serve_channel(void *arg)
{
	struct worker *w = arg;
	struct sc_error err = { SC_OK, "" };
	unsigned char *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;

	if (w != w->sd->first)
		pthread_barrier_wait(&started);
	for (;;) {
		if (signwire_recv(w->fd, &in, &in_len, &err) != SC_OK)
			_exit(0);
		handle(w->sd, in, in_len, &out, &out_len);
		free(in);
		if (out == NULL ||
		    signwire_send(w->fd, out, out_len, &err) != SC_OK)
			_exit(out == NULL ? 71 : 0);
		free(out);
		out = NULL;
	}
}

static void
load_cas(struct signerd *sd, const char *ca_dir)
{
	struct sc_error err = { SC_OK, "" };
	int role;

	for (role = 0; role < PKI_NCA_ROLES; role++) {
		if (pki_ca_load(ca_dir, (enum pki_ca_role)role, &sd->ca[role],
		    &err) == SC_OK) {
			sd->token |= pki_ca_on_token(sd->ca[role]);
			continue;
		}
		snprintf(sd->why[role], sizeof(sd->why[role]), "%s (when the "
		    "CA signer started: restart serve once it is fixed)",
		    err.msg);
		log_error("CA signer: %s", err.msg);
		sc_error_clear(&err);
	}
}

int
pki_signer_main(int argc, char *argv[])
{
	static struct worker workers[SIGNER_CHANNELS_MAX];
	struct sc_error err = { SC_OK, "" };
	static struct signerd sd;
	const char *ca_dir = NULL, *fds = NULL;
	sigset_t all;
	pthread_t t;
	size_t i;
	int a;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--ca-dir") == 0)
			ca_dir = argv[a + 1];
		else if (strcmp(argv[a], "--fds") == 0)
			fds = argv[a + 1];
	}
	if (ca_dir == NULL || fds == NULL || a != argc) {
		log_error("signer: started by `swarmctl serve` and the CA "
		    "commands only");
		return 2;
	}
	/* serve blocks its signals in every thread; the mask survives exec. */
	sigemptyset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	/*
	 * Certificate and CRL times are UTC; without TZ, glibc's localtime
	 * would open /etc/localtime under the filter.
	 */
	if (setenv("TZ", "UTC", 1) == -1) {
		log_error("signer: setenv: %s", strerror(errno));
		return 2;
	}
	tzset();
	if (parse_fds(fds, &sd, &err) != SC_OK || pki_init(&err) != SC_OK) {
		log_error("signer: %s", err.msg);
		return 2;
	}
	close_others(&sd);
	load_cas(&sd, ca_dir);
	sd.first = &workers[0];
	pthread_barrier_init(&started, NULL, (unsigned int)sd.nfd);
	for (i = 0; i < sd.nfd; i++) {
		workers[i].sd = &sd;
		workers[i].fd = sd.fd[i];
		if (i > 0 && pthread_create(&t, NULL, serve_channel,
		    &workers[i]) != 0) {
			log_error("signer: thread: %s", strerror(errno));
			return 2;
		}
	}
	pthread_barrier_wait(&started);
	if (confine(&sd, &err) != SC_OK) {
		log_error("signer: %s", err.msg);
		_exit(2);
	}
	serve_channel(&workers[0]);
	return 0;
}
